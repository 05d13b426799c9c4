// RUN: ramiel-opt %s --split-input-file -p dce | filecheck %s

/// A dead node goes, and so do the nodes and weights that only fed it.

// CHECK-LABEL: dfg.graph @dead_chain
// CHECK-NEXT:    %[[Y:.*]] = dfg.node "Relu"(%x)
// CHECK-NEXT:    dfg.output %[[Y]]
dfg.graph @dead_chain(%x: tensor<2xf32>) -> tensor<2xf32> {
  %w = dfg.weight "w" dense<[1.0, 2.0]> : tensor<2xf32> : tensor<2xf32>
  %y = dfg.node "Relu"(%x) opset 17 : (tensor<2xf32>) -> tensor<2xf32>
  %a = dfg.node "Add"(%x, %w) opset 17 : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %b = dfg.node "Mul"(%a, %a) opset 17 : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  dfg.output %y : tensor<2xf32>
}

// -----

/// Unused weights (inline or from file) and an unused dfg.none are removed; used ones stay.

// CHECK-LABEL: dfg.graph @unused_weights
// CHECK-NOT:     "unused
// CHECK-NOT:     dfg.none
// CHECK:         %[[W:.*]] = dfg.weight "used"
// CHECK-NOT:     "unused
// CHECK:         dfg.node "Add"(%x, %[[W]])
dfg.graph @unused_weights(%x: tensor<2xf32>) -> tensor<2xf32> {
  %n = dfg.none : none
  %u1 = dfg.weight "unused_inline" dense<[1.0, 2.0]> : tensor<2xf32> : tensor<2xf32>
  %u2 = dfg.weight "unused_file" from "/nonexistent/model.onnx" : tensor<64xf32>
  %w = dfg.weight "used" dense<[3.0, 4.0]> : tensor<2xf32> : tensor<2xf32>
  %y = dfg.node "Add"(%x, %w) opset 17 : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  dfg.output %y : tensor<2xf32>
}

// -----

/// A node with one used result stays whole, even if its other results are dead.

// CHECK-LABEL: dfg.graph @partly_used
// CHECK:         %[[A:.*]], %{{.*}} = dfg.node "Split"(%x)
// CHECK-NEXT:    dfg.output %[[A]]
dfg.graph @partly_used(%x: tensor<4xf32>) -> tensor<2xf32> {
  %a, %b = dfg.node "Split"(%x) {axis = 0 : i64, num_outputs = 2 : i64} opset 18 : (tensor<4xf32>) -> (tensor<2xf32>, tensor<2xf32>)
  dfg.output %a : tensor<2xf32>
}

// -----

/// A dead random node has no effect beyond its fresh result, so it goes too.

// CHECK-LABEL: dfg.graph @dead_random
// CHECK-NOT:     RandomNormal
// CHECK:         dfg.output %x
dfg.graph @dead_random(%x: tensor<2xf32>) -> tensor<2xf32> {
  %r = dfg.node "RandomNormal"() {shape = array<i64: 2>} opset 17 : () -> tensor<2xf32>
  dfg.output %x : tensor<2xf32>
}

// -----

/// A live graph is left as it is.

// CHECK-LABEL: dfg.graph @all_live
// CHECK-NEXT:    %[[W:.*]] = dfg.weight "w"
// CHECK-NEXT:    %[[A:.*]] = dfg.node "Add"(%x, %[[W]])
// CHECK-NEXT:    %[[R:.*]] = dfg.node "RandomNormalLike"(%[[A]])
// CHECK-NEXT:    dfg.output %[[A]], %[[R]]
dfg.graph @all_live(%x: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
  %w = dfg.weight "w" dense<[1.0, 2.0]> : tensor<2xf32> : tensor<2xf32>
  %a = dfg.node "Add"(%x, %w) opset 17 : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %r = dfg.node "RandomNormalLike"(%a) opset 17 : (tensor<2xf32>) -> tensor<2xf32>
  dfg.output %a, %r : tensor<2xf32>, tensor<2xf32>
}
