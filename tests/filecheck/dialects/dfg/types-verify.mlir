// RUN: ramiel-opt %s --split-input-file --verify-diagnostics | filecheck %s

/// !dfg.sequence holds tensors, ranked or not.

// CHECK: !dfg.sequence holds tensors, not f32
dfg.graph @sequence_of_scalars(%s: !dfg.sequence<f32>) -> !dfg.sequence<f32> {
  dfg.output %s : !dfg.sequence<f32>
}

// -----

// CHECK: !dfg.sequence holds tensors of scalars, not of !dfg.sequence<tensor<2xf32>>
dfg.graph @tensor_of_sequences(%s: !dfg.sequence<tensor<2x!dfg.sequence<tensor<2xf32>>>>) {
  dfg.output
}

// -----

/// !dfg.optional holds a ranked tensor or a sequence, not another optional.

// CHECK: !dfg.optional holds a ranked tensor or a !dfg.sequence, not !dfg.optional<tensor<2xf32>>
dfg.graph @optional_of_optional(%o: !dfg.optional<!dfg.optional<tensor<2xf32>>>) {
  dfg.output
}
