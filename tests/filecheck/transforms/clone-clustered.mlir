// RUN: ramiel-opt %s --split-input-file -p clone | filecheck %s

/// clone on a graph already in clusters: with the graph's measured edge cost
/// (5 us) as threshold, the 1 us Neg is recomputed on lane 1 and the send nobody
/// receives any more is erased; the 50 us Exp is still sent.

// CHECK-LABEL: dfg.graph @clustered
// CHECK:         dfg.cluster 0
// CHECK-NOT:       dfg.send %{{.*}} to "t"
// CHECK:           dfg.send %{{.*}} to "e"
// CHECK:         dfg.cluster 1
// CHECK-NEXT:      %[[T:.*]] = dfg.node "Neg"(%x)
// CHECK-NEXT:      %[[E:.*]] = dfg.recv "e"
// CHECK-NEXT:      dfg.node "Add"(%[[T]], %[[E]])
dfg.graph @clustered(%x: tensor<4xf32>) -> tensor<4xf32> attributes {dfg.edge_cost = 5.0 : f64} {
  %r = dfg.cluster 0 -> tensor<4xf32> {
    %t = dfg.node "Neg"(%x) opset 17 {dfg.cost = 1.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
    dfg.send %t to "t" : tensor<4xf32>
    %e = dfg.node "Exp"(%x) opset 17 {dfg.cost = 50.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
    dfg.send %e to "e" : tensor<4xf32>
    %s = dfg.recv "s" : tensor<4xf32>
    dfg.yield %s : tensor<4xf32>
  }
  dfg.cluster 1 {
    %t = dfg.recv "t" : tensor<4xf32>
    %e = dfg.recv "e" : tensor<4xf32>
    %s = dfg.node "Add"(%t, %e) opset 17 {dfg.cost = 1.0 : f64} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    dfg.send %s to "s" : tensor<4xf32>
    dfg.yield
  }
  dfg.output %r : tensor<4xf32>
}

// -----

/// A cheap chain (Neg, then Abs of it) is recomputed whole on the lane that
/// receives both values; the 50 us Exp is still sent.

// CHECK-LABEL: dfg.graph @cheap_chain
// CHECK:         dfg.cluster 0
// CHECK-NOT:       dfg.send
// CHECK:         dfg.cluster 1
// CHECK-NEXT:      %[[T:.*]] = dfg.node "Neg"(%x)
// CHECK-NEXT:      %[[U:.*]] = dfg.node "Abs"(%[[T]])
// CHECK-NEXT:      dfg.node "Add"(%[[T]], %[[U]])
dfg.graph @cheap_chain(%x: tensor<4xf32>) -> tensor<4xf32> attributes {dfg.edge_cost = 5.0 : f64} {
  %r = dfg.cluster 0 -> tensor<4xf32> {
    %t = dfg.node "Neg"(%x) opset 17 {dfg.cost = 1.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
    dfg.send %t to "t" : tensor<4xf32>
    %u = dfg.node "Abs"(%t) opset 17 {dfg.cost = 1.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
    dfg.send %u to "u" : tensor<4xf32>
    %s = dfg.recv "s" : tensor<4xf32>
    dfg.yield %s : tensor<4xf32>
  }
  dfg.cluster 1 {
    %t = dfg.recv "t" : tensor<4xf32>
    %u = dfg.recv "u" : tensor<4xf32>
    %s = dfg.node "Add"(%t, %u) opset 17 {dfg.cost = 1.0 : f64} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    dfg.send %s to "s" : tensor<4xf32>
    dfg.yield
  }
  dfg.output %r : tensor<4xf32>
}
