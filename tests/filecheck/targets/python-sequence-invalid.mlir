// RUN: not ramiel-opt %s -t python 2>&1 | filecheck %s

/// Only Identity takes sequences and optionals (SequenceLength is not lowered).

// CHECK: ramiel-opt: error: node 'Relu' (Relu): a value of type !dfg.sequence<tensor<*xf32>> in Relu is not supported
dfg.graph @relu_of_sequence(%s: !dfg.sequence<tensor<*xf32>>) -> !dfg.sequence<tensor<*xf32>> {
  %y = dfg.node "Relu"(%s) opset 14 : (!dfg.sequence<tensor<*xf32>>) -> !dfg.sequence<tensor<*xf32>>
  dfg.output %y : !dfg.sequence<tensor<*xf32>>
}
