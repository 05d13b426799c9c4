// RUN: env RAMIEL_CACHE_DIR=%t ramiel-opt %s --split-input-file -p fold-batchnorm,dce | filecheck %s

/// BatchNormalization after a bias-less Conv: the Conv gains a bias, the weight is scaled.
/// s = scale / sqrt(var + eps) = [2, 0.5]; t = bias - mean * s = [1 - 2, 0 - 0.5].

// CHECK-LABEL: dfg.graph @conv_bn
// CHECK-DAG:     %[[W:.*]] = dfg.weight "conv_folded_weight" dense<[{{\[}}[2.000000e+00]], {{\[}}[1.500000e+00]]]> : tensor<2x1x1xf32>
// CHECK-DAG:     %[[B:.*]] = dfg.weight "conv_folded_bias" dense<[-1.000000e+00, -5.000000e-01]> : tensor<2xf32>
// CHECK:         %[[Y:.*]] = dfg.node "Conv"(%x, %[[W]], %[[B]]) {kernel_shape = array<i64: 1>} opset 17
// CHECK-NOT:     BatchNormalization
// CHECK:         dfg.output %[[Y]]
dfg.graph @conv_bn(%x: tensor<1x1x4xf32>) -> tensor<1x2x4xf32> {
  %w = dfg.weight "w" dense<[[[1.0]], [[3.0]]]> : tensor<2x1x1xf32> : tensor<2x1x1xf32>
  %scale = dfg.weight "scale" dense<[2.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %bias = dfg.weight "bias" dense<[1.0, 0.0]> : tensor<2xf32> : tensor<2xf32>
  %mean = dfg.weight "mean" dense<[1.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %var = dfg.weight "var" dense<[1.0, 4.0]> : tensor<2xf32> : tensor<2xf32>
  %c = dfg.node "Conv"(%x, %w) {kernel_shape = array<i64: 1>} opset 17 : (tensor<1x1x4xf32>, tensor<2x1x1xf32>) -> tensor<1x2x4xf32> loc("conv")
  %y = dfg.node "BatchNormalization"(%c, %scale, %bias, %mean, %var) {epsilon = 0.0 : f32} opset 15 : (tensor<1x2x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4xf32>
  dfg.output %y : tensor<1x2x4xf32>
}

// -----

/// Conv -> BatchNormalization -> Mul -> Add (inception_v2's pattern) folds into one Conv;
/// the Conv's own bias is scaled too: ((b * 1 + 0) * [2, 3]) + [10, 20] with b = [1, 1].

// CHECK-LABEL: dfg.graph @conv_bn_mul_add
// CHECK-DAG:     %[[W:.*]] = dfg.weight "conv_folded_weight" dense<[{{\[}}[{{\[}}2.000000e+00]]], {{\[}}[{{\[}}3.000000e+00]]]]>
// CHECK-DAG:     %[[B:.*]] = dfg.weight "conv_folded_bias" dense<[1.200000e+01, 2.300000e+01]>
// CHECK:         %[[Y:.*]] = dfg.node "Conv"(%x, %[[W]], %[[B]])
// CHECK-NOT:     dfg.node
// CHECK:         dfg.output %[[Y]]
dfg.graph @conv_bn_mul_add(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = dfg.weight "w" dense<1.0> : tensor<2x1x1x1xf32> : tensor<2x1x1x1xf32>
  %b = dfg.weight "b" dense<1.0> : tensor<2xf32> : tensor<2xf32>
  %one = dfg.weight "one" dense<1.0> : tensor<2xf32> : tensor<2xf32>
  %zero = dfg.weight "zero" dense<0.0> : tensor<2xf32> : tensor<2xf32>
  %m = dfg.weight "m" dense<[[[2.0]], [[3.0]]]> : tensor<2x1x1xf32> : tensor<2x1x1xf32>
  %a = dfg.weight "a" dense<[[[10.0]], [[20.0]]]> : tensor<2x1x1xf32> : tensor<2x1x1xf32>
  %c = dfg.node "Conv"(%x, %w, %b) opset 9 : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> loc("conv")
  %n = dfg.node "BatchNormalization"(%c, %one, %zero, %zero, %one) {epsilon = 0.0 : f32} opset 9 : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %p = dfg.node "Mul"(%m, %n) opset 9 : (tensor<2x1x1xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %q = dfg.node "Add"(%p, %a) opset 9 : (tensor<1x2x4x4xf32>, tensor<2x1x1xf32>) -> tensor<1x2x4x4xf32>
  dfg.output %q : tensor<1x2x4x4xf32>
}

// -----

/// Gemm with transB and C: B's rows (output columns) are scaled; C becomes beta * C * s + t, beta 1.

// CHECK-LABEL: dfg.graph @gemm_bn
// CHECK-DAG:     %[[W:.*]] = dfg.weight "gemm_folded_weight" dense<{{\[}}[2.000000e+00, 4.000000e+00], [3.000000e+00, 3.000000e+00]]>
// CHECK-DAG:     %[[C:.*]] = dfg.weight "gemm_folded_bias" dense<[3.000000e+00, 1.200000e+01]>
// CHECK:         dfg.node "Gemm"(%x, %[[W]], %[[C]]) {beta = 1.000000e+00 : f32, transB = 1 : i64}
dfg.graph @gemm_bn(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = dfg.weight "w" dense<[[1.0, 2.0], [1.0, 1.0]]> : tensor<2x2xf32> : tensor<2x2xf32>
  %c0 = dfg.weight "c0" dense<[1.0, 2.0]> : tensor<2xf32> : tensor<2xf32>
  %s = dfg.weight "s" dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %t = dfg.weight "t" dense<[-1.0, 0.0]> : tensor<2xf32> : tensor<2xf32>
  %zero = dfg.weight "zero" dense<0.0> : tensor<2xf32> : tensor<2xf32>
  %one = dfg.weight "one" dense<1.0> : tensor<2xf32> : tensor<2xf32>
  %g = dfg.node "Gemm"(%x, %w, %c0) {beta = 2.0 : f32, transB = 1 : i64} opset 13 : (tensor<3x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<3x2xf32> loc("gemm")
  %y = dfg.node "BatchNormalization"(%g, %s, %t, %zero, %one) {epsilon = 0.0 : f32} opset 15 : (tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  dfg.output %y : tensor<3x2xf32>
}

// -----

/// ConvTranspose with 2 groups: output channel o of group g is column o - 2g of W's group rows.

// CHECK-LABEL: dfg.graph @conv_transpose_mul
// CHECK-DAG:     %[[W:.*]] = dfg.weight "deconv_folded_weight" dense<[{{\[}}[1.000000e+00], [2.000000e+00]], {{\[}}[3.000000e+00], [4.000000e+00]]]>
// CHECK:         dfg.node "ConvTranspose"(%x, %[[W]], %{{.*}}) {group = 2 : i64}
// CHECK-NOT:     "Mul"
dfg.graph @conv_transpose_mul(%x: tensor<1x2x3xf32>) -> tensor<1x4x3xf32> {
  %w = dfg.weight "w" dense<1.0> : tensor<2x2x1xf32> : tensor<2x2x1xf32>
  %m = dfg.weight "m" dense<[[1.0], [2.0], [3.0], [4.0]]> : tensor<4x1xf32> : tensor<4x1xf32>
  %c = dfg.node "ConvTranspose"(%x, %w) {group = 2 : i64} opset 17 : (tensor<1x2x3xf32>, tensor<2x2x1xf32>) -> tensor<1x4x3xf32> loc("deconv")
  %y = dfg.node "Mul"(%c, %m) opset 17 : (tensor<1x4x3xf32>, tensor<4x1xf32>) -> tensor<1x4x3xf32>
  dfg.output %y : tensor<1x4x3xf32>
}

// -----

/// The Conv result has another reader (a graph output): nothing folds.

// CHECK-LABEL: dfg.graph @second_reader
// CHECK:         %[[C:.*]] = dfg.node "Conv"(%x, %w)
// CHECK:         %[[Y:.*]] = dfg.node "BatchNormalization"(%[[C]],
// CHECK:         dfg.output %[[Y]], %[[C]]
dfg.graph @second_reader(%x: tensor<1x1x4xf32>) -> (tensor<1x2x4xf32>, tensor<1x2x4xf32>) {
  %w = dfg.weight "w" dense<1.0> : tensor<2x1x1xf32> : tensor<2x1x1xf32>
  %one = dfg.weight "one" dense<1.0> : tensor<2xf32> : tensor<2xf32>
  %c = dfg.node "Conv"(%x, %w) opset 17 : (tensor<1x1x4xf32>, tensor<2x1x1xf32>) -> tensor<1x2x4xf32>
  %y = dfg.node "BatchNormalization"(%c, %one, %one, %one, %one) opset 15 : (tensor<1x2x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4xf32>
  dfg.output %y, %c : tensor<1x2x4xf32>, tensor<1x2x4xf32>
}

// -----

/// Statistics computed at run time (a graph input): nothing folds.

// CHECK-LABEL: dfg.graph @computed_statistics
// CHECK:         dfg.node "Conv"
// CHECK:         dfg.node "BatchNormalization"
dfg.graph @computed_statistics(%x: tensor<1x1x4xf32>, %var: tensor<2xf32>) -> tensor<1x2x4xf32> {
  %w = dfg.weight "w" dense<1.0> : tensor<2x1x1xf32> : tensor<2x1x1xf32>
  %one = dfg.weight "one" dense<1.0> : tensor<2xf32> : tensor<2xf32>
  %c = dfg.node "Conv"(%x, %w) opset 17 : (tensor<1x1x4xf32>, tensor<2x1x1xf32>) -> tensor<1x2x4xf32>
  %y = dfg.node "BatchNormalization"(%c, %one, %one, %one, %var) opset 15 : (tensor<1x2x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4xf32>
  dfg.output %y : tensor<1x2x4xf32>
}

// -----

/// Training mode normalizes with the batch's statistics (and has the running
/// statistics as results, as ONNX requires): nothing folds.

// CHECK-LABEL: dfg.graph @training_mode
// CHECK:         dfg.node "Conv"
// CHECK:         dfg.node "BatchNormalization"
dfg.graph @training_mode(%x: tensor<1x1x4xf32>) -> tensor<1x2x4xf32> {
  %w = dfg.weight "w" dense<1.0> : tensor<2x1x1xf32> : tensor<2x1x1xf32>
  %one = dfg.weight "one" dense<1.0> : tensor<2xf32> : tensor<2xf32>
  %c = dfg.node "Conv"(%x, %w) opset 17 : (tensor<1x1x4xf32>, tensor<2x1x1xf32>) -> tensor<1x2x4xf32>
  %y, %mean, %var = dfg.node "BatchNormalization"(%c, %one, %one, %one, %one) {training_mode = 1 : i64} opset 15 : (tensor<1x2x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> (tensor<1x2x4xf32>, tensor<2xf32>, tensor<2xf32>)
  dfg.output %y : tensor<1x2x4xf32>
}

// -----

/// Before opset 7, is_test=0 (the default) is training mode: nothing folds.

// CHECK-LABEL: dfg.graph @not_is_test
// CHECK:         dfg.node "BatchNormalization"
dfg.graph @not_is_test(%x: tensor<1x1x4xf32>) -> tensor<1x2x4xf32> {
  %w = dfg.weight "w" dense<1.0> : tensor<2x1x1xf32> : tensor<2x1x1xf32>
  %one = dfg.weight "one" dense<1.0> : tensor<2xf32> : tensor<2xf32>
  %c = dfg.node "Conv"(%x, %w) opset 6 : (tensor<1x1x4xf32>, tensor<2x1x1xf32>) -> tensor<1x2x4xf32>
  %y = dfg.node "BatchNormalization"(%c, %one, %one, %one, %one) opset 6 : (tensor<1x2x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4xf32>
  dfg.output %y : tensor<1x2x4xf32>
}

// -----

/// A Mul whose constant varies along the last axis, not the channel axis: nothing folds.

// CHECK-LABEL: dfg.graph @wrong_axis
// CHECK:         dfg.node "Conv"
// CHECK:         dfg.node "Mul"
dfg.graph @wrong_axis(%x: tensor<1x1x2xf32>) -> tensor<1x2x2xf32> {
  %w = dfg.weight "w" dense<1.0> : tensor<2x1x1xf32> : tensor<2x1x1xf32>
  %m = dfg.weight "m" dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %c = dfg.node "Conv"(%x, %w) opset 17 : (tensor<1x1x2xf32>, tensor<2x1x1xf32>) -> tensor<1x2x2xf32>
  %y = dfg.node "Mul"(%c, %m) opset 17 : (tensor<1x2x2xf32>, tensor<2xf32>) -> tensor<1x2x2xf32>
  dfg.output %y : tensor<1x2x2xf32>
}

// -----

/// An Add that broadcasts the Conv result to a larger shape: nothing folds.

// CHECK-LABEL: dfg.graph @broadcast_grows
// CHECK:         dfg.node "Conv"
// CHECK:         dfg.node "Add"
dfg.graph @broadcast_grows(%x: tensor<1x1x2xf32>) -> tensor<3x2x2xf32> {
  %w = dfg.weight "w" dense<1.0> : tensor<2x1x1xf32> : tensor<2x1x1xf32>
  %a = dfg.weight "a" dense<1.0> : tensor<3x1x1xf32> : tensor<3x1x1xf32>
  %c = dfg.node "Conv"(%x, %w) opset 17 : (tensor<1x1x2xf32>, tensor<2x1x1xf32>) -> tensor<1x2x2xf32>
  %y = dfg.node "Add"(%c, %a) opset 17 : (tensor<1x2x2xf32>, tensor<3x1x1xf32>) -> tensor<3x2x2xf32>
  dfg.output %y : tensor<3x2x2xf32>
}

// -----

/// A BatchNormalization after a Relu (not a Conv, ConvTranspose or Gemm): nothing folds.

// CHECK-LABEL: dfg.graph @other_producer
// CHECK:         dfg.node "Relu"
// CHECK:         dfg.node "BatchNormalization"
dfg.graph @other_producer(%x: tensor<1x2x4xf32>) -> tensor<1x2x4xf32> {
  %one = dfg.weight "one" dense<1.0> : tensor<2xf32> : tensor<2xf32>
  %r = dfg.node "Relu"(%x) opset 17 : (tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
  %y = dfg.node "BatchNormalization"(%r, %one, %one, %one, %one) opset 15 : (tensor<1x2x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4xf32>
  dfg.output %y : tensor<1x2x4xf32>
}

// -----

/// A BatchNormalization that cannot fold (after a Concat, as in DenseNet) takes the
/// per-channel Mul and Add after it into its own scale and bias: [2, 1] * [2, 3] and
/// [1, 0] * [2, 3] + [10, 20]. The mean, variance and epsilon stay.

// CHECK-LABEL: dfg.graph @concat_bn_mul_add
// CHECK:         %[[C:.*]] = dfg.node "Concat"
// CHECK-DAG:     %[[S:.*]] = dfg.weight "bn_folded_scale" dense<[4.000000e+00, 3.000000e+00]> : tensor<2xf32>
// CHECK-DAG:     %[[B:.*]] = dfg.weight "bn_folded_bias" dense<[1.200000e+01, 2.000000e+01]> : tensor<2xf32>
// CHECK:         %[[Y:.*]] = dfg.node "BatchNormalization"(%[[C]], %[[S]], %[[B]], %mean, %var) {epsilon = 1.000000e-03 : f32} opset 15
// CHECK-NOT:     dfg.node
// CHECK:         dfg.output %[[Y]]
dfg.graph @concat_bn_mul_add(%x: tensor<1x1x4xf32>, %z: tensor<1x1x4xf32>) -> tensor<1x2x4xf32> {
  %scale = dfg.weight "scale" dense<[2.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %bias = dfg.weight "bias" dense<[1.0, 0.0]> : tensor<2xf32> : tensor<2xf32>
  %mean = dfg.weight "mean" dense<[1.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %var = dfg.weight "var" dense<[1.0, 4.0]> : tensor<2xf32> : tensor<2xf32>
  %m = dfg.weight "m" dense<[[2.0], [3.0]]> : tensor<2x1xf32> : tensor<2x1xf32>
  %a = dfg.weight "a" dense<[[10.0], [20.0]]> : tensor<2x1xf32> : tensor<2x1xf32>
  %c = dfg.node "Concat"(%x, %z) {axis = 1 : i64} opset 13 : (tensor<1x1x4xf32>, tensor<1x1x4xf32>) -> tensor<1x2x4xf32>
  %n = dfg.node "BatchNormalization"(%c, %scale, %bias, %mean, %var) {epsilon = 1.0e-03 : f32} opset 15 : (tensor<1x2x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4xf32> loc("bn")
  %p = dfg.node "Mul"(%n, %m) opset 14 : (tensor<1x2x4xf32>, tensor<2x1xf32>) -> tensor<1x2x4xf32>
  %q = dfg.node "Add"(%a, %p) opset 14 : (tensor<2x1xf32>, tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
  dfg.output %q : tensor<1x2x4xf32>
}

// -----

/// Not into a BatchNormalization: a Mul by a constant that varies along the width, and
/// an Add after a BatchNormalization whose result is also a graph output.

// CHECK-LABEL: dfg.graph @bn_not_affine
// CHECK:         dfg.node "BatchNormalization"(%x, %one, %one, %one, %one)
// CHECK:         dfg.node "Mul"
// CHECK:         dfg.node "BatchNormalization"(%x, %one, %one, %one, %one)
// CHECK:         dfg.node "Add"
dfg.graph @bn_not_affine(%x: tensor<1x2x4xf32>) -> (tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) {
  %one = dfg.weight "one" dense<1.0> : tensor<2xf32> : tensor<2xf32>
  %w = dfg.weight "w" dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32> : tensor<4xf32>
  %n = dfg.node "BatchNormalization"(%x, %one, %one, %one, %one) opset 15 : (tensor<1x2x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4xf32>
  %p = dfg.node "Mul"(%n, %w) opset 14 : (tensor<1x2x4xf32>, tensor<4xf32>) -> tensor<1x2x4xf32>
  %o = dfg.node "BatchNormalization"(%x, %one, %one, %one, %one) opset 15 : (tensor<1x2x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4xf32>
  %one2 = dfg.weight "one2" dense<[[1.0], [2.0]]> : tensor<2x1xf32> : tensor<2x1xf32>
  %q = dfg.node "Add"(%o, %one2) opset 14 : (tensor<1x2x4xf32>, tensor<2x1xf32>) -> tensor<1x2x4xf32>
  dfg.output %p, %o, %q : tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>
}
