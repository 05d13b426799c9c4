// RUN: ramiel-opt %s -t python | filecheck %s

/// Each intermediate is deleted right after the statement that reads it last, so its
/// memory is free while the rest of forward runs: `a` after its second reader, `b`
/// and `c` after their sum. Parameters are left alone, and so is a value overwritten
/// in place (`d`, which lives on as `e`). Nothing is deleted just before the return
/// (`f`): the function's exit frees it a moment later.

// CHECK:      a = torch.sigmoid(x)
// CHECK-NEXT: # tanh (Tanh)
// CHECK-NEXT: b = torch.tanh(a)
// CHECK-NEXT: # exp (Exp)
// CHECK-NEXT: c = torch.exp(a)
// CHECK-NEXT: del a
// CHECK-NEXT: # sum (Add)
// CHECK-NEXT: d = torch.add(b, c)
// CHECK-NEXT: del b, c
// CHECK-NEXT: # neg (Neg)
// CHECK-NEXT: e = d.neg_()
// CHECK-NEXT: # scale (Mul)
// CHECK-NEXT: f = torch.mul(e, x)
// CHECK-NEXT: del e
// CHECK-NEXT: # out (Add)
// CHECK-NEXT: g = f.add_(x)
// CHECK-NEXT: return g
dfg.graph @release(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %a = dfg.node "Sigmoid"(%x) opset 17 : (tensor<2x3xf32>) -> tensor<2x3xf32> loc("sigmoid")
  %b = dfg.node "Tanh"(%a) opset 17 : (tensor<2x3xf32>) -> tensor<2x3xf32> loc("tanh")
  %c = dfg.node "Exp"(%a) opset 17 : (tensor<2x3xf32>) -> tensor<2x3xf32> loc("exp")
  %d = dfg.node "Add"(%b, %c) opset 17 : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32> loc("sum")
  %e = dfg.node "Neg"(%d) opset 17 : (tensor<2x3xf32>) -> tensor<2x3xf32> loc("neg")
  %f = dfg.node "Mul"(%e, %x) opset 17 : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32> loc("scale")
  %g = dfg.node "Add"(%f, %x) opset 17 : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32> loc("out")
  dfg.output %g : tensor<2x3xf32>
}
