// RUN: ramiel-opt %s --split-input-file -p canonicalize | filecheck %s

/// canonicalize erases dead dfg nodes and weights (dfg has no patterns of its own yet).

// CHECK-LABEL: dfg.graph @dead
// CHECK-NEXT:    %[[Y:.*]] = dfg.node "Relu"(%x)
// CHECK-NEXT:    dfg.output %[[Y]]
dfg.graph @dead(%x: tensor<2xf32>) -> tensor<2xf32> {
  %w = dfg.weight "w" dense<[1.0, 2.0]> : tensor<2xf32> : tensor<2xf32>
  %y = dfg.node "Relu"(%x) opset 17 : (tensor<2xf32>) -> tensor<2xf32>
  %a = dfg.node "Add"(%y, %w) opset 17 : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  dfg.output %y : tensor<2xf32>
}

// -----

/// Live nodes, a random one included, are kept in order; nothing is folded.

// CHECK-LABEL: dfg.graph @live
// CHECK-NEXT:    %[[S:.*]] = dfg.node "Shape"(%x)
// CHECK-NEXT:    %[[R:.*]] = dfg.node "RandomNormalLike"(%x)
// CHECK-NEXT:    dfg.output %[[S]], %[[R]]
dfg.graph @live(%x: tensor<2xf32>) -> (tensor<1xi64>, tensor<2xf32>) {
  %s = dfg.node "Shape"(%x) opset 17 : (tensor<2xf32>) -> tensor<1xi64>
  %r = dfg.node "RandomNormalLike"(%x) opset 17 : (tensor<2xf32>) -> tensor<2xf32>
  dfg.output %s, %r : tensor<1xi64>, tensor<2xf32>
}
