// IRDL specification of the `dfg` (dataflow graph) dialect.
//
// ramiel_mlir/dialects/dfg.py implements the dialect; this file is its
// declarative spec, which upstream MLIR loads:
//
//   mlir-opt --irdl-file=dialects/dfg.irdl.mlir graph.mlir
//
// tests/test_irdl.py keeps the two in agreement (op names, operand, result and
// region names with their variadicity, attribute names with their optionality,
// and the base of every constraint).
//
// What upstream IRDL (MLIR 22) cannot say, and the Python classes enforce:
// - Optional attributes: every name in `irdl.attributes` is required. An
//   optional attribute is written as an `irdl.base` constraint tagged
//   `optional_attribute = "<name>"`; mlir-opt ignores it (an IRDL op accepts
//   attributes it does not name) and the agreement test reads it.
// - Traits (IsTerminator, NoTerminator, IsolatedFromAbove, HasParent, Pure): an
//   op defined in IRDL is never a terminator, so MLIR rejects the block of a
//   region that ends in one (`dfg.output`, `dfg.yield`).
// - Heterogeneous variadics: a constraint variable binds once per op, also
//   across the elements of a variadic, so `inputs: variadic %input` means
//   "inputs of one type" to MLIR, while a `dfg.node` takes tensors of any
//   shapes. The spec states the per-element constraint.
// - The verifiers: ONNX schema lookup and input/output counts, fork/join slice
//   shapes (they split the whole along axis 0), graph and
//   cluster signatures, names counts, channel pairing and deadlock freedom.
//
// The passes' annotations (`dfg.cost`, `dfg.threaded_cost`, `dfg.threads` on
// nodes and loops, `dfg.edge_cost`, `dfg.serial_estimate`, ... on graphs) are
// discardable attributes, not part of any op's definition: they are not named
// here (an IRDL op accepts attributes it does not name), and
// ramiel_mlir/dialects/annotations.py declares them.

irdl.dialect @dfg {
  // !dfg.string: the element type of ONNX STRING tensors (tensor<2x!dfg.string>).
  irdl.type @string

  // !dfg.sequence: an ONNX sequence of tensors; their shapes may differ.
  irdl.type @sequence {
    %ranked = irdl.base "!builtin.tensor"
    %unranked = irdl.base "!builtin.unranked_tensor"
    %element = irdl.any_of(%ranked, %unranked)
    irdl.parameters(element_type: %element)
  }

  // !dfg.optional: an ONNX optional of a tensor or a sequence.
  irdl.type @optional {
    %tensor = irdl.base "!builtin.tensor"
    %tensors = irdl.any
    %sequence = irdl.parametric @dfg::@sequence<%tensors>
    %element = irdl.any_of(%tensor, %sequence)
    irdl.parameters(element_type: %element)
  }

  // dfg.graph: a whole ONNX model; the entry block's arguments are its inputs.
  irdl.operation @graph {
    %sym_name = irdl.base "#builtin.string"
    %function_type = irdl.base "!builtin.function"
    %body = irdl.region with size 1
    irdl.attributes {"sym_name" = %sym_name, "function_type" = %function_type}
    irdl.regions(body: %body)
    %input_names = irdl.base "#builtin.array" {optional_attribute = "input_names"}
    %output_names = irdl.base "#builtin.array" {optional_attribute = "output_names"}
    %source = irdl.base "#builtin.string" {optional_attribute = "source"}
  }

  // dfg.output: returns the graph outputs; the terminator of dfg.graph.
  irdl.operation @output {
    %output = irdl.any
    irdl.operands(outputs: variadic %output)
  }

  // dfg.weight: a named constant tensor, read from `file` or given inline.
  irdl.operation @weight {
    %weight_name = irdl.base "#builtin.string"
    %tensor = irdl.base "!builtin.tensor"
    irdl.attributes {"weight_name" = %weight_name}
    irdl.results(result: %tensor)
    %file = irdl.base "#builtin.string" {optional_attribute = "file"}
    %value = irdl.base "#builtin.dense_int_or_fp_elements" {optional_attribute = "value"}
  }

  // dfg.none: the absent value of an omitted optional ONNX input.
  irdl.operation @none {
    %none = irdl.is none
    irdl.results(result: %none)
  }

  // dfg.node: one ONNX operator; `attrs` holds its typed ONNX attributes.
  irdl.operation @node {
    %op_type = irdl.base "#builtin.string"
    %opset = irdl.base "#builtin.integer"
    %input_tensor = irdl.base "!builtin.tensor"
    %input_sequence_element = irdl.any
    %input_sequence = irdl.parametric @dfg::@sequence<%input_sequence_element>
    %input_optional_element = irdl.any
    %input_optional = irdl.parametric @dfg::@optional<%input_optional_element>
    %input_none = irdl.is none
    %input = irdl.any_of(%input_tensor, %input_sequence, %input_optional, %input_none)
    %output_tensor = irdl.base "!builtin.tensor"
    %output_sequence_element = irdl.any
    %output_sequence = irdl.parametric @dfg::@sequence<%output_sequence_element>
    %output_optional_element = irdl.any
    %output_optional = irdl.parametric @dfg::@optional<%output_optional_element>
    %output_none = irdl.is none
    %output = irdl.any_of(%output_tensor, %output_sequence, %output_optional, %output_none)
    irdl.attributes {"op_type" = %op_type, "opset" = %opset}
    irdl.operands(inputs: variadic %input)
    irdl.results(outputs: variadic %output)
    %domain = irdl.base "#builtin.string" {optional_attribute = "domain"}
    %attrs = irdl.base "#builtin.dictionary" {optional_attribute = "attrs"}
  }

  // dfg.cluster: a chain of nodes that one lane runs in order.
  irdl.operation @cluster {
    %id = irdl.base "#builtin.integer"
    %output = irdl.any
    %body = irdl.region with size 1
    irdl.attributes {"id" = %id}
    irdl.results(outputs: variadic %output)
    irdl.regions(body: %body)
    %threads = irdl.base "#builtin.integer" {optional_attribute = "threads"}
  }

  // dfg.yield: ends a dfg.cluster with the values that leave it.
  irdl.operation @yield {
    %value = irdl.any
    irdl.operands(values: variadic %value)
  }

  // dfg.send: hands a value to the clusters that receive the same channel.
  irdl.operation @send {
    %channel = irdl.base "#builtin.string"
    %tensor = irdl.base "!builtin.tensor"
    %sequence_element = irdl.any
    %sequence = irdl.parametric @dfg::@sequence<%sequence_element>
    %optional_element = irdl.any
    %optional = irdl.parametric @dfg::@optional<%optional_element>
    %value = irdl.any_of(%tensor, %sequence, %optional)
    irdl.attributes {"channel" = %channel}
    irdl.operands(value: %value)
  }

  // dfg.recv: waits for the value another cluster sends on `channel`.
  irdl.operation @recv {
    %channel = irdl.base "#builtin.string"
    %tensor = irdl.base "!builtin.tensor"
    %sequence_element = irdl.any
    %sequence = irdl.parametric @dfg::@sequence<%sequence_element>
    %optional_element = irdl.any
    %optional = irdl.parametric @dfg::@optional<%optional_element>
    %value = irdl.any_of(%tensor, %sequence, %optional)
    irdl.attributes {"channel" = %channel}
    irdl.results(result: %value)
  }

  // dfg.loop: an ONNX Loop; its body region takes (iteration number, condition,
  // carried..., captured...) and yields (condition, carried..., scanned...).
  irdl.operation @loop {
    %opset = irdl.base "#builtin.integer"
    %trip_tensor = irdl.base "!builtin.tensor"
    %trip_none = irdl.is none
    %trip = irdl.any_of(%trip_tensor, %trip_none)
    %cond_tensor = irdl.base "!builtin.tensor"
    %cond_none = irdl.is none
    %cond = irdl.any_of(%cond_tensor, %cond_none)
    %init = irdl.base "!builtin.tensor"
    %capture = irdl.base "!builtin.tensor"
    %output = irdl.base "!builtin.tensor"
    %segments = irdl.base "#builtin.dense_array"
    %body = irdl.region with size 1
    irdl.attributes {"opset" = %opset, "operandSegmentSizes" = %segments}
    irdl.operands(max_trip_count: %trip, condition: %cond, inits: variadic %init, captures: variadic %capture)
    irdl.results(outputs: variadic %output)
    irdl.regions(body: %body)
  }

  // dfg.loop_yield: ends a dfg.loop body.
  irdl.operation @loop_yield {
    %value = irdl.base "!builtin.tensor"
    irdl.operands(values: variadic %value)
  }

  // dfg.if: an ONNX If; both regions take (captured...) and yield the results.
  irdl.operation @if {
    %opset = irdl.base "#builtin.integer"
    %condition = irdl.base "!builtin.tensor"
    %capture_tensor = irdl.base "!builtin.tensor"
    %capture_sequence_element = irdl.any
    %capture_sequence = irdl.parametric @dfg::@sequence<%capture_sequence_element>
    %capture_optional_element = irdl.any
    %capture_optional = irdl.parametric @dfg::@optional<%capture_optional_element>
    %capture = irdl.any_of(%capture_tensor, %capture_sequence, %capture_optional)
    %output_tensor = irdl.base "!builtin.tensor"
    %output_sequence_element = irdl.any
    %output_sequence = irdl.parametric @dfg::@sequence<%output_sequence_element>
    %output_optional_element = irdl.any
    %output_optional = irdl.parametric @dfg::@optional<%output_optional_element>
    %output = irdl.any_of(%output_tensor, %output_sequence, %output_optional)
    %then_region = irdl.region with size 1
    %else_region = irdl.region with size 1
    irdl.attributes {"opset" = %opset}
    irdl.operands(condition: %condition, captures: variadic %capture)
    irdl.results(outputs: variadic %output)
    irdl.regions(then_region: %then_region, else_region: %else_region)
  }

  // dfg.if_yield: ends a branch of dfg.if.
  irdl.operation @if_yield {
    %value_tensor = irdl.base "!builtin.tensor"
    %value_sequence_element = irdl.any
    %value_sequence = irdl.parametric @dfg::@sequence<%value_sequence_element>
    %value_optional_element = irdl.any
    %value_optional = irdl.parametric @dfg::@optional<%value_optional_element>
    %value = irdl.any_of(%value_tensor, %value_sequence, %value_optional)
    irdl.operands(values: variadic %value)
  }

  // dfg.fork: splits a batched tensor into K >= 2 slices along axis 0.
  irdl.operation @fork {
    %input = irdl.base "!builtin.tensor"
    %slice = irdl.base "!builtin.tensor"
    irdl.operands(input: %input)
    irdl.results(slices: variadic %slice)
  }

  // dfg.join: concatenates K >= 2 batch slices along axis 0.
  irdl.operation @join {
    %part = irdl.base "!builtin.tensor"
    %result = irdl.base "!builtin.tensor"
    irdl.operands(parts: variadic %part)
    irdl.results(result: %result)
  }
}
