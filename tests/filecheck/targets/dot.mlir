// RUN: ramiel-opt %s --split-input-file -p 'linear-cluster{edge-cost=2.0}' -t dot | filecheck %s
// RUN: ramiel-opt %s --split-input-file -t dot | filecheck %s --check-prefix=FLAT

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
  %a = dfg.node "Relu"(%x) opset 17 {dfg.cost = 1.0 : f64} : (tensor<4xf32>) -> tensor<4xf32> loc("relu")
  %b = dfg.node "Sigmoid"(%a) opset 17 {dfg.cost = 10.0 : f64} : (tensor<4xf32>) -> tensor<4xf32> loc("sigmoid")
  %c = dfg.node "Tanh"(%a) opset 17 {dfg.cost = 10.0 : f64} : (tensor<4xf32>) -> tensor<4xf32> loc("tanh")
  %d = dfg.node "Add"(%b, %c) opset 17 {dfg.cost = 1.0 : f64} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32> loc("add")
  dfg.output %d : tensor<4xf32>
}

// -----

/// A dfg.loop is one node: it is drawn (not its body's nodes) with the edges
/// into and out of it, its captures included.

// CHECK-LABEL: digraph "loop"
// CHECK:         subgraph cluster_0 {
// CHECK-NEXT:      label="lane 0";
// CHECK-NEXT:      [[N:n[0-9]+]] [label="neg\nNeg\n1 us"];
// CHECK-NEXT:      [[L:n[0-9]+]] [label="range_loop\nLoop\n20 us"];
// CHECK-NEXT:      [[E:n[0-9]+]] [label="exp\nExp\n1 us"];
// CHECK-NOT:       cur
// CHECK:         [[N]] -> [[L]];
// CHECK-NEXT:    [[L]] -> [[E]];

// FLAT-LABEL: digraph "loop"
// FLAT:         [[N:n[0-9]+]] [label="neg\nNeg\n1 us"];
// FLAT-NEXT:    [[L:n[0-9]+]] [label="range_loop\nLoop\n20 us"];
// FLAT-NEXT:    [[E:n[0-9]+]] [label="exp\nExp\n1 us"];
// FLAT-NEXT:    [[N]] -> [[L]];
// FLAT-NEXT:    [[L]] -> [[E]];
// FLAT-NEXT:  }
dfg.graph @loop(%start: tensor<f32>, %delta: tensor<f32>, %n: tensor<i64>) -> tensor<2xf32> {
  %none = dfg.none : none
  %d = dfg.node "Neg"(%delta) opset 21 {dfg.cost = 1.0 : f64} : (tensor<f32>) -> tensor<f32> loc("neg")
  %f, %output = dfg.loop(%n, %none) carried(%start : tensor<f32>) captures(%d : tensor<f32>) opset 21 attributes {dfg.cost = 20.0 : f64} : tensor<i64>, none -> (tensor<f32>, tensor<2xf32>) {
  ^bb0(%i: tensor<i64>, %c: tensor<i1>, %prev: tensor<f32>, %dd: tensor<f32>):
    %cur = dfg.node "Add"(%prev, %dd) opset 21 : (tensor<f32>, tensor<f32>) -> tensor<f32> loc("cur")
    dfg.loop_yield %c, %cur, %prev : tensor<i1>, tensor<f32>, tensor<f32>
  } loc("range_loop")
  %e = dfg.node "Exp"(%output) opset 21 {dfg.cost = 1.0 : f64} : (tensor<2xf32>) -> tensor<2xf32> loc("exp")
  dfg.output %e : tensor<2xf32>
}

// -----

/// A dfg.if is one node too: drawn with its captures' edges, its branches' nodes not.

// FLAT-LABEL: digraph "if"
// FLAT:         [[N:n[0-9]+]] [label="neg\nNeg\n1 us"];
// FLAT-NEXT:    [[I:n[0-9]+]] [label="choose\nIf\n3 us"];
// FLAT-NEXT:    [[N]] -> [[I]];
// FLAT-NEXT:  }
dfg.graph @if(%c: tensor<i1>, %x: tensor<f32>) -> tensor<f32> {
  %d = dfg.node "Neg"(%x) opset 21 {dfg.cost = 1.0 : f64} : (tensor<f32>) -> tensor<f32> loc("neg")
  %y = dfg.if %c captures(%d : tensor<f32>) opset 21 attributes {dfg.cost = 3.0 : f64} : tensor<i1> -> (tensor<f32>) {
  ^bb0(%a: tensor<f32>):
    %e = dfg.node "Exp"(%a) opset 21 : (tensor<f32>) -> tensor<f32> loc("inner_exp")
    dfg.if_yield %e : tensor<f32>
  } else {
  ^bb0(%b: tensor<f32>):
    dfg.if_yield %b : tensor<f32>
  } loc("choose")
  dfg.output %y : tensor<f32>
}
