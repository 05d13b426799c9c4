// RUN: not ramiel-opt %s -t python 2>&1 | filecheck %s

/// Only Equal and Identity take string tensors: any other op is an error
/// naming the node, the op and the type.

// CHECK: ramiel-opt: error: node 'Concat' (Concat): element type STRING in Concat is not supported
dfg.graph @concat_strings(%x: tensor<2x!dfg.string>) -> tensor<4x!dfg.string> {
  %y = dfg.node "Concat"(%x, %x) {axis = 0 : i64} opset 13 : (tensor<2x!dfg.string>, tensor<2x!dfg.string>) -> tensor<4x!dfg.string>
  dfg.output %y : tensor<4x!dfg.string>
}
