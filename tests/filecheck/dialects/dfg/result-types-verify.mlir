// RUN: ramiel-opt %s --split-input-file --verify-diagnostics | filecheck %s

/// dfg.node: each result type agrees with ONNX shape inference on the node's
/// input types; the message names the node, the given and the inferred type.

// CHECK: node 'relu' (Relu): result #0 has type tensor<8xf32>, but ONNX shape inference gives tensor<4xf32>
dfg.graph @wrong_shape(%x: tensor<4xf32>) -> tensor<8xf32> {
  %y = dfg.node "Relu"(%x) opset 17 : (tensor<4xf32>) -> tensor<8xf32> loc("relu")
  dfg.output %y : tensor<8xf32>
}

// -----

/// The element type counts too (Shape gives int64).

// CHECK: node 'shape' (Shape): result #0 has type tensor<2xi32>, but ONNX shape inference gives tensor<2xi64>
dfg.graph @wrong_element_type(%x: tensor<4x3xf32>) -> tensor<2xi32> {
  %y = dfg.node "Shape"(%x) opset 17 : (tensor<4x3xf32>) -> tensor<2xi32> loc("shape")
  dfg.output %y : tensor<2xi32>
}

// -----

/// And the rank: MatMul of 2x3 and 3x5 is 2x5.

// CHECK: node 'mm' (MatMul): result #0 has type tensor<10xf32>, but ONNX shape inference gives tensor<2x5xf32>
dfg.graph @wrong_rank(%a: tensor<2x3xf32>, %b: tensor<3x5xf32>) -> tensor<10xf32> {
  %y = dfg.node "MatMul"(%a, %b) opset 17 : (tensor<2x3xf32>, tensor<3x5xf32>) -> tensor<10xf32> loc("mm")
  dfg.output %y : tensor<10xf32>
}

// -----

/// Inline constant inputs are used: a Reshape's shape fixes its result.

// CHECK: node 'reshape' (Reshape): result #0 has type tensor<3x4xf32>, but ONNX shape inference gives tensor<2x6xf32>
dfg.graph @reshape_by_constant(%x: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %s = dfg.weight "s" dense<[2, -1]> : tensor<2xi64> : tensor<2xi64>
  %y = dfg.node "Reshape"(%x, %s) opset 17 : (tensor<3x4xf32>, tensor<2xi64>) -> tensor<3x4xf32> loc("reshape")
  dfg.output %y : tensor<3x4xf32>
}

// -----

/// Inputs that inference rejects are an error too.

// CHECK: node 'add' (Add): ONNX shape inference rejects its inputs: [ShapeInferenceError] Incompatible dimensions
dfg.graph @incompatible_inputs(%a: tensor<2xf32>, %b: tensor<3xf32>) -> tensor<3xf32> {
  %y = dfg.node "Add"(%a, %b) opset 17 : (tensor<2xf32>, tensor<3xf32>) -> tensor<3xf32> loc("add")
  dfg.output %y : tensor<3xf32>
}

// -----

/// What inference cannot say is accepted: a Reshape whose shape is computed
/// (only the rank is known), a dynamic dimension on either side and an omitted
/// optional result.

// CHECK-LABEL: dfg.graph @unknown_parts_are_accepted
// CHECK-NOT:   error
dfg.graph @unknown_parts_are_accepted(%x: tensor<3x4xf32>, %s: tensor<2xi64>, %d: tensor<?x4xf32>) -> (tensor<6x2xf32>, tensor<5x4xf32>, tensor<?x4xf32>, tensor<3x4xf32>) {
  %r = dfg.node "Reshape"(%x, %s) opset 17 : (tensor<3x4xf32>, tensor<2xi64>) -> tensor<6x2xf32>
  %e = dfg.node "Relu"(%d) opset 17 : (tensor<?x4xf32>) -> tensor<5x4xf32>
  %f = dfg.node "Relu"(%x) opset 17 : (tensor<3x4xf32>) -> tensor<?x4xf32>
  %o, %mask = dfg.node "Dropout"(%x) opset 17 : (tensor<3x4xf32>) -> (tensor<3x4xf32>, none)
  dfg.output %r, %e, %f, %o : tensor<6x2xf32>, tensor<5x4xf32>, tensor<?x4xf32>, tensor<3x4xf32>
}
