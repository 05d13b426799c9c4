// RUN: ramiel-opt %s --split-input-file | ramiel-opt --split-input-file | filecheck %s
// RUN: ramiel-opt %s --split-input-file --print-op-generic | ramiel-opt --split-input-file | filecheck %s

/// A graph with its ONNX names, source file and edge cost, its inputs as block
/// arguments and one node.

// CHECK-LABEL: dfg.graph @names(%x: tensor<1x3xf32>) -> tensor<1x3xf32>
// CHECK-SAME:    attributes {input_names = ["input:0"], output_names = ["output:0"], source = "m.onnx", dfg.edge_cost = 2.500000e+00 : f64}
// CHECK-NEXT:    %[[Y:.*]] = dfg.node "Relu"(%x) opset 13 : (tensor<1x3xf32>) -> tensor<1x3xf32>
// CHECK-NEXT:    dfg.output %[[Y]] : tensor<1x3xf32>
dfg.graph @names(%x: tensor<1x3xf32>) -> tensor<1x3xf32> attributes {input_names = ["input:0"], output_names = ["output:0"], source = "m.onnx", dfg.edge_cost = 2.5 : f64} {
  %y = dfg.node "Relu"(%x) opset 13 : (tensor<1x3xf32>) -> tensor<1x3xf32>
  dfg.output %y : tensor<1x3xf32>
}

// -----

/// Weights: one read from the model file, one inline; an omitted optional
/// input is a dfg.none value.

// CHECK-LABEL: dfg.graph @weights
// CHECK-NEXT:    %[[N:.*]] = dfg.none : none
// CHECK-NEXT:    %[[W:.*]] = dfg.weight "conv/w" from "/models/m.onnx" : tensor<4x3x3x3xf32>
// CHECK-NEXT:    %[[B:.*]] = dfg.weight "bias" dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32> : tensor<2xf32>
// CHECK-NEXT:    %{{.*}} = dfg.node "Clip"(%x, %[[N]], %[[B]]) opset 13 : (tensor<2xf32>, none, tensor<2xf32>) -> tensor<2xf32>
dfg.graph @weights(%x: tensor<2xf32>) -> tensor<2xf32> {
  %none = dfg.none : none
  %w = dfg.weight "conv/w" from "/models/m.onnx" : tensor<4x3x3x3xf32>
  %b = dfg.weight "bias" dense<[1.0, 2.0]> : tensor<2xf32> : tensor<2xf32>
  %y = dfg.node "Clip"(%x, %none, %b) opset 13 : (tensor<2xf32>, none, tensor<2xf32>) -> tensor<2xf32>
  dfg.output %y : tensor<2xf32>
}

// -----

/// ONNX attributes of every kind, a non-default domain and a cost.

// CHECK-LABEL: dfg.graph @attributes
// CHECK-NEXT:    %{{.*}} = dfg.node "Scaler"(%x)
// CHECK-SAME:      {i = 3 : i64, f = 5.000000e-01 : f32, s = "abc", t = dense<[1, 2]> : tensor<2xi64>,
// CHECK-SAME:      is = array<i64: 1, 2>, fs = array<f32: 1.000000e+00, 2.000000e+00>, ss = ["a", "b"]}
// CHECK-SAME:      opset 1 {domain = "ai.onnx.ml", dfg.cost = 1.250000e+01 : f64}
// CHECK-SAME:      : (tensor<2xf32>) -> tensor<2xf32>
dfg.graph @attributes(%x: tensor<2xf32>) -> tensor<2xf32> {
  %y = dfg.node "Scaler"(%x) {i = 3 : i64, f = 0.5 : f32, s = "abc", t = dense<[1, 2]> : tensor<2xi64>, is = array<i64: 1, 2>, fs = array<f32: 1.0, 2.0>, ss = ["a", "b"]} opset 1 {domain = "ai.onnx.ml", dfg.cost = 12.5 : f64} : (tensor<2xf32>) -> tensor<2xf32>
  dfg.output %y : tensor<2xf32>
}

// -----

/// A node with several results.

// CHECK-LABEL: dfg.graph @results
// CHECK:         %[[V:.*]], %[[I:.*]] = dfg.node "TopK"(%x, %k) {axis = 0 : i64} opset 11 : (tensor<4xf32>, tensor<1xi64>) -> (tensor<2xf32>, tensor<2xi64>)
// CHECK-NEXT:    dfg.output %[[V]], %[[I]] : tensor<2xf32>, tensor<2xi64>
dfg.graph @results(%x: tensor<4xf32>) -> (tensor<2xf32>, tensor<2xi64>) {
  %k = dfg.weight "k" dense<2> : tensor<1xi64> : tensor<1xi64>
  %v, %i = dfg.node "TopK"(%x, %k) {axis = 0 : i64} opset 11 : (tensor<4xf32>, tensor<1xi64>) -> (tensor<2xf32>, tensor<2xi64>)
  dfg.output %v, %i : tensor<2xf32>, tensor<2xi64>
}

// -----

/// A graph without inputs or outputs.

// CHECK-LABEL: dfg.graph @empty() {
// CHECK-NEXT:    dfg.output
// CHECK-NEXT:  }
dfg.graph @empty() {
  dfg.output
}
