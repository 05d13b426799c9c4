// RUN: ramiel-opt %s --split-input-file -p fuse-conv-activation | filecheck %s
// RUN: ramiel-opt %s --split-input-file -p fuse-conv-activation -t python | filecheck %s --check-prefix=PY

/// Conv -> Relu becomes one FusedConv (ONNX Runtime's com.microsoft contrib op): the Conv's
/// inputs, attributes and name, the Relu's result. Without oneDNN, the code runs the ReLU
/// in place on the convolution's fresh result.

// CHECK-LABEL: dfg.graph @conv_relu
// CHECK:         %[[Y:.*]] = dfg.node "FusedConv"(%x, %w, %b) {kernel_shape = array<i64: 1, 1>, activation = "Relu"} opset 1 {domain = "com.microsoft"} : (tensor<1x2x3x3xf32>, tensor<4x2x1x1xf32>, tensor<4xf32>) -> tensor<1x4x3x3xf32>
// CHECK-NOT:     "Relu"
// CHECK:         dfg.output %[[Y]]
// PY:            # conv (FusedConv)
// PY-NEXT:       y = F.conv2d(x, self.w, self.b)
// PY-NEXT:       y.relu_()
// PY-NEXT:       return y
dfg.graph @conv_relu(%x: tensor<1x2x3x3xf32>) -> tensor<1x4x3x3xf32> {
  %w = dfg.weight "w" dense<0.5> : tensor<4x2x1x1xf32> : tensor<4x2x1x1xf32>
  %b = dfg.weight "b" dense<-1.0> : tensor<4xf32> : tensor<4xf32>
  %c = dfg.node "Conv"(%x, %w, %b) {kernel_shape = array<i64: 1, 1>} opset 17 : (tensor<1x2x3x3xf32>, tensor<4x2x1x1xf32>, tensor<4xf32>) -> tensor<1x4x3x3xf32> loc("conv")
  %y = dfg.node "Relu"(%c) opset 14 : (tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32> loc("relu")
  dfg.output %y : tensor<1x4x3x3xf32>
}

// -----

/// Clip with constant bounds (ReLU6) keeps them as activation_params; LeakyRelu its alpha.

// CHECK-LABEL: dfg.graph @clip_and_leaky
// CHECK:         dfg.node "FusedConv"(%x, %w) {{.*}}activation = "Clip", activation_params = array<f32: 0.000000e+00, 6.000000e+00>}
// CHECK:         dfg.node "FusedConv"(%x, %w) {{.*}}activation = "LeakyRelu", activation_params = array<f32: 1.000000e-01>}
// PY:            clamp_(0.0, 6.0)
// PY:            F.leaky_relu_({{.*}}, 0.1)
dfg.graph @clip_and_leaky(%x: tensor<1x2x3x3xf32>) -> (tensor<1x4x3x3xf32>, tensor<1x4x3x3xf32>) {
  %w = dfg.weight "w" dense<0.5> : tensor<4x2x1x1xf32> : tensor<4x2x1x1xf32>
  %lo = dfg.weight "lo" dense<0.0> : tensor<f32> : tensor<f32>
  %hi = dfg.weight "hi" dense<6.0> : tensor<f32> : tensor<f32>
  %c = dfg.node "Conv"(%x, %w) opset 17 : (tensor<1x2x3x3xf32>, tensor<4x2x1x1xf32>) -> tensor<1x4x3x3xf32>
  %y = dfg.node "Clip"(%c, %lo, %hi) opset 13 : (tensor<1x4x3x3xf32>, tensor<f32>, tensor<f32>) -> tensor<1x4x3x3xf32>
  %d = dfg.node "Conv"(%x, %w) opset 17 : (tensor<1x2x3x3xf32>, tensor<4x2x1x1xf32>) -> tensor<1x4x3x3xf32>
  %z = dfg.node "LeakyRelu"(%d) {alpha = 0.1 : f32} opset 16 : (tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32>
  dfg.output %y, %z : tensor<1x4x3x3xf32>, tensor<1x4x3x3xf32>
}

// -----

/// Not fused: a Conv read by another node too, a Clip with a computed bound, and an
/// activation that is not an exact map (Sigmoid).

// CHECK-LABEL: dfg.graph @not_fused
// CHECK-NOT:     FusedConv
// CHECK:         "Conv"
// CHECK:         "Relu"
// CHECK:         "Conv"
// CHECK:         "Clip"
// CHECK:         "Conv"
// CHECK:         "Sigmoid"
// CHECK-NOT:     FusedConv
dfg.graph @not_fused(%x: tensor<1x2x3x3xf32>, %hi: tensor<f32>) -> (tensor<1x4x3x3xf32>, tensor<1x4x3x3xf32>, tensor<1x4x3x3xf32>, tensor<1x4x3x3xf32>) {
  %w = dfg.weight "w" dense<0.5> : tensor<4x2x1x1xf32> : tensor<4x2x1x1xf32>
  %lo = dfg.weight "lo" dense<0.0> : tensor<f32> : tensor<f32>
  %c = dfg.node "Conv"(%x, %w) opset 17 : (tensor<1x2x3x3xf32>, tensor<4x2x1x1xf32>) -> tensor<1x4x3x3xf32>
  %r = dfg.node "Relu"(%c) opset 14 : (tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32>
  %d = dfg.node "Conv"(%x, %w) opset 17 : (tensor<1x2x3x3xf32>, tensor<4x2x1x1xf32>) -> tensor<1x4x3x3xf32>
  %k = dfg.node "Clip"(%d, %lo, %hi) opset 13 : (tensor<1x4x3x3xf32>, tensor<f32>, tensor<f32>) -> tensor<1x4x3x3xf32>
  %e = dfg.node "Conv"(%x, %w) opset 17 : (tensor<1x2x3x3xf32>, tensor<4x2x1x1xf32>) -> tensor<1x4x3x3xf32>
  %s = dfg.node "Sigmoid"(%e) opset 13 : (tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32>
  dfg.output %r, %c, %k, %s : tensor<1x4x3x3xf32>, tensor<1x4x3x3xf32>, tensor<1x4x3x3xf32>, tensor<1x4x3x3xf32>
}
