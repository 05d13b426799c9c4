// RUN: not ramiel-opt %s -p fold-constants 2>&1 | filecheck %s

/// Evaluating a node that ONNX rejects is an error naming the node, not a silent skip.

// CHECK: ramiel-opt: error: node 'bad_reshape' (Reshape): constant folding failed: cannot reshape array of size 4 into shape (3,2)
dfg.graph @bad_reshape() -> tensor<3x2xf32> {
  %w = dfg.weight "w" dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32> : tensor<4xf32>
  %s = dfg.weight "s" dense<[3, 2]> : tensor<2xi64> : tensor<2xi64>
  %r = dfg.node "Reshape"(%w, %s) opset 17 : (tensor<4xf32>, tensor<2xi64>) -> tensor<3x2xf32> loc("bad_reshape")
  dfg.output %r : tensor<3x2xf32>
}
