// RUN: xdsl-opt %s -p linear-cluster | filecheck %s

/// The xdsl.universe entry point makes the dfg dialect and the passes visible to
/// plain xdsl-opt.

// CHECK-LABEL: dfg.graph @chain
// CHECK:         dfg.cluster 0 threads 1
// CHECK-NEXT:      dfg.node "Relu"
// CHECK-NEXT:      dfg.node "Neg"
dfg.graph @chain(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = dfg.node "Relu"(%x) opset 17 {dfg.cost = 1.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %b = dfg.node "Neg"(%a) opset 17 {dfg.cost = 1.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  dfg.output %b : tensor<4xf32>
}
