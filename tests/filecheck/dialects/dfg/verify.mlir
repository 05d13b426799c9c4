// RUN: ramiel-opt %s --split-input-file --verify-diagnostics | filecheck %s

/// dfg.node: the op type must exist in the ONNX schema registry at the opset
/// (Gelu appears at opset 20).

// CHECK: 'Gelu' is not an ONNX operator of domain 'ai.onnx' at opset 17
dfg.graph @unknown_at_opset(%x: tensor<2xf32>) -> tensor<2xf32> {
  %y = dfg.node "Gelu"(%x) opset 17 : (tensor<2xf32>) -> tensor<2xf32>
  dfg.output %y : tensor<2xf32>
}

// -----

// CHECK: 'Relu' is not an ONNX operator of domain 'com.example' at opset 1
dfg.graph @unknown_domain(%x: tensor<2xf32>) -> tensor<2xf32> {
  %y = dfg.node "Relu"(%x) opset 1 {domain = "com.example"} : (tensor<2xf32>) -> tensor<2xf32>
  dfg.output %y : tensor<2xf32>
}

// -----

/// dfg.node: input and output counts within the schema's range.

// CHECK: 'Relu' takes 1 inputs, got 2
dfg.graph @too_many_inputs(%x: tensor<2xf32>) -> tensor<2xf32> {
  %y = dfg.node "Relu"(%x, %x) opset 17 : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  dfg.output %y : tensor<2xf32>
}

// -----

// CHECK: 'Clip' takes 1 to 3 inputs, got 4
dfg.graph @clip_inputs(%x: tensor<2xf32>) -> tensor<2xf32> {
  %y = dfg.node "Clip"(%x, %x, %x, %x) opset 17 : (tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  dfg.output %y : tensor<2xf32>
}

// -----

// CHECK: 'Concat' takes at least 1 inputs, got 0
dfg.graph @concat_inputs() -> tensor<2xf32> {
  %y = dfg.node "Concat"() {axis = 0 : i64} opset 17 : () -> tensor<2xf32>
  dfg.output %y : tensor<2xf32>
}

// -----

// CHECK: 'Relu' takes 1 outputs, got 2
dfg.graph @too_many_outputs(%x: tensor<2xf32>) -> tensor<2xf32> {
  %y, %z = dfg.node "Relu"(%x) opset 17 : (tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>)
  dfg.output %y : tensor<2xf32>
}

// -----

/// dfg.node: operands and results are ranked tensors, sequences, optionals or `none`.

// CHECK: input #0 of 'Relu' must be a ranked tensor, a !dfg.sequence or a !dfg.optional (or none for an omitted optional input), got i32
dfg.graph @scalar_input(%x: i32) -> tensor<2xf32> {
  %y = dfg.node "Relu"(%x) opset 17 : (i32) -> tensor<2xf32>
  dfg.output %y : tensor<2xf32>
}

// -----

// CHECK: output #0 of 'Relu' must be a ranked tensor, a !dfg.sequence or a !dfg.optional, got f32
dfg.graph @scalar_output(%x: tensor<2xf32>) -> f32 {
  %y = dfg.node "Relu"(%x) opset 17 : (tensor<2xf32>) -> f32
  dfg.output %y : f32
}

// -----

/// dfg.output: the returned types are the graph's result types.

// CHECK: dfg.output types [tensor<2xf32>] do not match the graph result types [tensor<3xf32>]
dfg.graph @output_mismatch(%x: tensor<2xf32>) -> tensor<3xf32> {
  dfg.output %x : tensor<2xf32>
}

// -----

/// dfg.graph: the block arguments are the inputs of the function type.

// CHECK: dfg.graph block argument types must match the function type inputs
"dfg.graph"() ({
^bb0(%x: tensor<3xf32>):
  "dfg.output"(%x) : (tensor<3xf32>) -> ()
}) {sym_name = "arguments", function_type = (tensor<2xf32>) -> tensor<3xf32>} : () -> ()

// -----

/// dfg.graph: one ONNX name per input and per output.

// CHECK: dfg.graph has 2 input names for 1 inputs
dfg.graph @input_names(%x: tensor<2xf32>) -> tensor<2xf32> attributes {input_names = ["a", "b"]} {
  dfg.output %x : tensor<2xf32>
}

// -----

// CHECK: dfg.graph has 0 output names for 1 outputs
dfg.graph @output_names(%x: tensor<2xf32>) -> tensor<2xf32> attributes {output_names = []} {
  dfg.output %x : tensor<2xf32>
}

// -----

/// dfg.weight: exactly one of a file or an inline value, of the result type.

// CHECK: dfg.weight needs exactly one of `from "file"` or an inline value
dfg.graph @weight_without_data() -> tensor<2xf32> {
  %w = dfg.weight "w" : tensor<2xf32>
  dfg.output %w : tensor<2xf32>
}

// -----

// CHECK: dfg.weight needs exactly one of `from "file"` or an inline value
dfg.graph @weight_with_both() -> tensor<2xf32> {
  %w = dfg.weight "w" from "m.onnx" dense<1.0> : tensor<2xf32> : tensor<2xf32>
  dfg.output %w : tensor<2xf32>
}

// -----

// CHECK: dfg.weight value type tensor<3xf32> does not match result type tensor<2xf32>
dfg.graph @weight_type() -> tensor<2xf32> {
  %w = dfg.weight "w" dense<1.0> : tensor<3xf32> : tensor<2xf32>
  dfg.output %w : tensor<2xf32>
}

// -----

/// dfg.none has type `none`.

// CHECK: tensor<2xf32> should be of base attribute none_type
dfg.graph @none_type(%x: tensor<2xf32>) -> tensor<2xf32> {
  %n = "dfg.none"() : () -> tensor<2xf32>
  dfg.output %x : tensor<2xf32>
}

// -----

/// dfg.output ends a dfg.graph and nothing else.

// CHECK: 'dfg.output' expects parent op 'dfg.graph'
"dfg.output"() : () -> ()

// -----

/// Pass annotations are discardable attributes with declared types: dfg.cost is an f64.

// CHECK: 'dfg.node' has dfg.cost = 3 : i64; it must be an f64
dfg.graph @cost_type(%x: tensor<2xf32>) -> tensor<2xf32> {
  %y = dfg.node "Relu"(%x) opset 17 {dfg.cost = 3 : i64} : (tensor<2xf32>) -> tensor<2xf32>
  dfg.output %y : tensor<2xf32>
}

// -----

/// A dfg.-prefixed attribute must be one of the dialect's annotations for that op.

// CHECK: 'dfg.node' has the unknown annotation dfg.edge_cost (expected: dfg.cost, dfg.kernel, dfg.layout, dfg.threaded_cost, dfg.threads)
dfg.graph @node_edge_cost(%x: tensor<2xf32>) -> tensor<2xf32> {
  %y = dfg.node "Relu"(%x) opset 17 {dfg.edge_cost = 3.0 : f64} : (tensor<2xf32>) -> tensor<2xf32>
  dfg.output %y : tensor<2xf32>
}

// -----

/// A graph's annotations are checked too.

// CHECK: 'dfg.graph' has dfg.edge_cost = "fast"; it must be an f64
dfg.graph @edge_cost_type(%x: tensor<2xf32>) -> tensor<2xf32> attributes {dfg.edge_cost = "fast"} {
  dfg.output %x : tensor<2xf32>
}

// -----

/// dfg.runtime names how the generated code runs the lane; only oneDNN Graph is known.

// CHECK: 'dfg.graph' has dfg.runtime = "jit"; it must be one of "onednn_graph"
dfg.graph @runtime_value(%x: tensor<2xf32>) -> tensor<2xf32> attributes {dfg.runtime = "jit"} {
  dfg.output %x : tensor<2xf32>
}

// -----

/// An annotation written without its dialect prefix is a mistake, not an unknown attribute.

// CHECK: 'dfg.node' has the attribute cost: pass annotations are dialect-prefixed, write dfg.cost
dfg.graph @unprefixed_cost(%x: tensor<2xf32>) -> tensor<2xf32> {
  %y = dfg.node "Relu"(%x) opset 17 {cost = 3.0 : f64} : (tensor<2xf32>) -> tensor<2xf32>
  dfg.output %y : tensor<2xf32>
}
