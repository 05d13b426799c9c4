// RUN: not ramiel-opt %s -t python 2>&1 | filecheck %s

/// Only Identity takes sequences and optionals (SequenceLength is not lowered); the
/// verifier already rejects a Relu of a sequence, as ONNX's shape inference does.

// CHECK: ramiel-opt: error: node 'Relu' (Relu): ONNX shape inference rejects its inputs: X typestr: T, has unsupported type: seq(tensor(float))
dfg.graph @relu_of_sequence(%s: !dfg.sequence<tensor<*xf32>>) -> !dfg.sequence<tensor<*xf32>> {
  %y = dfg.node "Relu"(%s) opset 14 : (!dfg.sequence<tensor<*xf32>>) -> !dfg.sequence<tensor<*xf32>>
  dfg.output %y : !dfg.sequence<tensor<*xf32>>
}
