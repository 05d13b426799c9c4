// RUN: ramiel-opt %s -t python | filecheck %s

/// Element-wise nodes write in place into an input that no other op reads and that a
/// node allocated (a Conv, or an Add, Sub, Mul or Relu): the residual Add into the
/// convolution's result, the ReLU into the Add's, the scale into the second operand of
/// a Mul (multiplication commutes exactly). A value with two readers (the ReLU's
/// result), a graph input and a weight are never overwritten. A value overwritten in
/// place lives on under its new name; the ReLU's result is deleted after its last reader.

// CHECK:      c = F.conv2d(x, self.w, self.b, padding=1)
// CHECK-NEXT: # add (Add)
// CHECK-NEXT: a = c.add_(x)
// CHECK-NEXT: # relu (Relu)
// CHECK-NEXT: r = a.relu_()
// CHECK-NEXT: # conv2 (Conv)
// CHECK-NEXT: d = F.conv2d(r, self.w, padding=1)
// CHECK-NEXT: # scale (Mul)
// CHECK-NEXT: s = d.mul_(self.k)
// CHECK-NEXT: # diff (Sub)
// CHECK-NEXT: m = torch.sub(x, r)
// CHECK-NEXT: del r
// CHECK-NEXT: # gate (Sigmoid)
// CHECK-NEXT: t = torch.sigmoid(x)
// CHECK-NEXT: return s, m, t
dfg.graph @residual(%x: tensor<1x4x8x8xf32>) -> (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) {
  %w = dfg.weight "w" dense<0.1> : tensor<4x4x3x3xf32> : tensor<4x4x3x3xf32>
  %b = dfg.weight "b" dense<0.5> : tensor<4xf32> : tensor<4xf32>
  %k = dfg.weight "k" dense<2.0> : tensor<4x1x1xf32> : tensor<4x1x1xf32>
  %c = dfg.node "Conv"(%x, %w, %b) {pads = array<i64: 1, 1, 1, 1>} opset 17 : (tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32> loc("conv")
  %a = dfg.node "Add"(%c, %x) opset 17 : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32> loc("add")
  %r = dfg.node "Relu"(%a) opset 17 : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32> loc("relu")
  %d = dfg.node "Conv"(%r, %w) {pads = array<i64: 1, 1, 1, 1>} opset 17 : (tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x8x8xf32> loc("conv2")
  %s = dfg.node "Mul"(%k, %d) opset 17 : (tensor<4x1x1xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32> loc("scale")
  %m = dfg.node "Sub"(%x, %r) opset 17 : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32> loc("diff")
  %t = dfg.node "Sigmoid"(%x) opset 17 : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32> loc("gate")
  dfg.output %s, %m, %t : tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>
}
