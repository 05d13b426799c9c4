// RUN: ramiel-opt %s --split-input-file -p cse | filecheck %s

/// Nodes with the same op, attributes, opset and operands compute the same value.

// CHECK-LABEL: dfg.graph @duplicates
// CHECK:         %[[W:.*]] = dfg.weight "w"
// CHECK-NEXT:    %[[A:.*]] = dfg.node "Gather"(%x, %[[W]]) {axis = 1 : i64}
// CHECK-NEXT:    %[[B:.*]] = dfg.node "Relu"(%[[A]])
// CHECK-NEXT:    dfg.output %[[B]], %[[B]]
dfg.graph @duplicates(%x: tensor<2x3xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
  %w = dfg.weight "w" dense<1> : tensor<i64> : tensor<i64>
  %a1 = dfg.node "Gather"(%x, %w) {axis = 1 : i64} opset 17 : (tensor<2x3xf32>, tensor<i64>) -> tensor<2xf32>
  %a2 = dfg.node "Gather"(%x, %w) {axis = 1 : i64} opset 17 : (tensor<2x3xf32>, tensor<i64>) -> tensor<2xf32>
  %b1 = dfg.node "Relu"(%a1) opset 17 : (tensor<2xf32>) -> tensor<2xf32>
  %b2 = dfg.node "Relu"(%a2) opset 17 : (tensor<2xf32>) -> tensor<2xf32>
  dfg.output %b1, %b2 : tensor<2xf32>, tensor<2xf32>
}

// -----

/// Identical weights (same name and value) are one weight.

// CHECK-LABEL: dfg.graph @same_weight
// CHECK-NEXT:    %[[W:.*]] = dfg.weight "w"
// CHECK-NEXT:    dfg.output %[[W]], %[[W]]
dfg.graph @same_weight() -> (tensor<2xf32>, tensor<2xf32>) {
  %w1 = dfg.weight "w" dense<[1.0, 2.0]> : tensor<2xf32> : tensor<2xf32>
  %w2 = dfg.weight "w" dense<[1.0, 2.0]> : tensor<2xf32> : tensor<2xf32>
  dfg.output %w1, %w2 : tensor<2xf32>, tensor<2xf32>
}

// -----

/// Different attributes, opsets or operands mean different values: nothing merges.

// CHECK-LABEL: dfg.graph @different
// CHECK-COUNT-5: dfg.node "Softmax"
dfg.graph @different(%x: tensor<2x3xf32>, %y: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %a = dfg.node "Softmax"(%x) {axis = 0 : i64} opset 13 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %b = dfg.node "Softmax"(%x) {axis = 1 : i64} opset 13 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %c = dfg.node "Softmax"(%x) opset 13 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %d = dfg.node "Softmax"(%x) opset 11 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %e = dfg.node "Softmax"(%y) opset 13 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  dfg.output %a, %b, %c, %d, %e : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

/// Random nodes draw fresh values each time: two identical ones stay two.
/// Dropout merges in inference mode, but not in training mode.

// CHECK-LABEL: dfg.graph @random
// CHECK-COUNT-2: dfg.node "RandomNormal"
// CHECK-COUNT-2: dfg.node "Dropout"(%x, %{{.*}}, %{{.*}})
// CHECK:         %[[D:.*]] = dfg.node "Dropout"(%x)
// CHECK-NOT:     dfg.node "Dropout"(%x)
// CHECK:         dfg.output {{.*}}, %[[D]], %[[D]]
dfg.graph @random(%x: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) {
  %r1 = dfg.node "RandomNormal"() {shape = array<i64: 2>} opset 17 : () -> tensor<2xf32>
  %r2 = dfg.node "RandomNormal"() {shape = array<i64: 2>} opset 17 : () -> tensor<2xf32>
  %ratio = dfg.weight "ratio" dense<0.5> : tensor<f32> : tensor<f32>
  %train = dfg.weight "train" dense<true> : tensor<i1> : tensor<i1>
  %t1 = dfg.node "Dropout"(%x, %ratio, %train) opset 17 : (tensor<2xf32>, tensor<f32>, tensor<i1>) -> tensor<2xf32>
  %t2 = dfg.node "Dropout"(%x, %ratio, %train) opset 17 : (tensor<2xf32>, tensor<f32>, tensor<i1>) -> tensor<2xf32>
  %i1 = dfg.node "Dropout"(%x) opset 17 : (tensor<2xf32>) -> tensor<2xf32>
  %i2 = dfg.node "Dropout"(%x) opset 17 : (tensor<2xf32>) -> tensor<2xf32>
  dfg.output %r1, %r2, %t1, %t2, %i1, %i2 : tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>
}
