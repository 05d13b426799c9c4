// RUN: ramiel-opt %s -p 'linear-cluster{edge-cost=2.0}' -t dot | filecheck %s

/// Clusters print as Graphviz subgraphs; edges that cross lanes are dashed.

// CHECK:       digraph "diamond" {
// CHECK:         subgraph cluster_0 {
// CHECK-NEXT:      label="lane 0";
// CHECK-NEXT:      [[A:n[0-9]+]] [label="relu\nRelu\n1 us"];
// CHECK:         subgraph cluster_1 {
// CHECK-NEXT:      label="lane 1";
// CHECK-NEXT:      [[T:n[0-9]+]] [label="tanh\nTanh\n10 us"];
// CHECK-DAG:     [[A]] -> [[T]] [style=dashed];
dfg.graph @diamond(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = dfg.node "Relu"(%x) opset 17 {cost = 1.0 : f64} : (tensor<4xf32>) -> tensor<4xf32> loc("relu")
  %b = dfg.node "Sigmoid"(%a) opset 17 {cost = 10.0 : f64} : (tensor<4xf32>) -> tensor<4xf32> loc("sigmoid")
  %c = dfg.node "Tanh"(%a) opset 17 {cost = 10.0 : f64} : (tensor<4xf32>) -> tensor<4xf32> loc("tanh")
  %d = dfg.node "Add"(%b, %c) opset 17 {cost = 1.0 : f64} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32> loc("add")
  dfg.output %d : tensor<4xf32>
}
