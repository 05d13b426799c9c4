// RUN: ramiel-opt %s --split-input-file -p 'linear-cluster{edge-cost=2.0}' | filecheck %s

/// A fork-join diamond: the critical path (a, b, d) is cluster 0, the other
/// branch (c) is cluster 1; a crosses to cluster 1 and c comes back.

// CHECK-LABEL: dfg.graph @diamond
// CHECK-SAME:    dfg.serial_estimate = 2.200000e+01 : f64, dfg.parallel_estimate = 1.600000e+01 : f64
// CHECK:         %[[D:.*]] = dfg.cluster 0 threads 1 -> tensor<4xf32> {
// CHECK-NEXT:      %[[A:.*]] = dfg.node "Relu"(%{{.*}})
// CHECK-NEXT:      dfg.send %[[A]] to "a" : tensor<4xf32>
// CHECK-NEXT:      %[[B:.*]] = dfg.node "Sigmoid"(%[[A]])
// CHECK-NEXT:      %[[C:.*]] = dfg.recv "c" : tensor<4xf32>
// CHECK-NEXT:      %[[SUM:.*]] = dfg.node "Add"(%[[B]], %[[C]])
// CHECK-NEXT:      dfg.yield %[[SUM]] : tensor<4xf32>
// CHECK:         dfg.cluster 1 threads 1 {
// CHECK-NEXT:      %[[A1:.*]] = dfg.recv "a" : tensor<4xf32>
// CHECK-NEXT:      %[[T:.*]] = dfg.node "Tanh"(%[[A1]])
// CHECK-NEXT:      dfg.send %[[T]] to "c" : tensor<4xf32>
// CHECK-NEXT:      dfg.yield
// CHECK:         dfg.output %[[D]] : tensor<4xf32>
dfg.graph @diamond(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = dfg.node "Relu"(%x) opset 17 {dfg.cost = 1.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %b = dfg.node "Sigmoid"(%a) opset 17 {dfg.cost = 10.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %c = dfg.node "Tanh"(%a) opset 17 {dfg.cost = 10.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %d = dfg.node "Add"(%b, %c) opset 17 {dfg.cost = 1.0 : f64} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  dfg.output %d : tensor<4xf32>
}

// -----

/// Two independent chains: each is a cluster; the longer one (cost 30) comes
/// first. Its output is handed to cluster 0, which yields both graph outputs.

// CHECK-LABEL: dfg.graph @two_chains
// CHECK:         %{{.*}}, %{{.*}} = dfg.cluster 0 threads 1 -> tensor<4xf32>, tensor<4xf32> {
// CHECK-NEXT:      dfg.node "Exp"
// CHECK-NEXT:      dfg.node "Exp"
// CHECK-NEXT:      %[[Q:.*]] = dfg.recv "q" : tensor<4xf32>
// CHECK-NEXT:      dfg.yield %{{.*}}, %[[Q]]
// CHECK:         dfg.cluster 1 threads 1 {
// CHECK-NEXT:      dfg.node "Neg"
// CHECK-NEXT:      %[[Q1:.*]] = dfg.node "Neg"
// CHECK-NEXT:      dfg.send %[[Q1]] to "q"
// CHECK-NEXT:      dfg.yield
dfg.graph @two_chains(%x: tensor<4xf32>, %y: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %p0 = dfg.node "Neg"(%y) opset 17 {dfg.cost = 5.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %q = dfg.node "Neg"(%p0) opset 17 {dfg.cost = 5.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %e0 = dfg.node "Exp"(%x) opset 17 {dfg.cost = 15.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %e = dfg.node "Exp"(%e0) opset 17 {dfg.cost = 15.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  dfg.output %e, %q : tensor<4xf32>, tensor<4xf32>
}

// -----

/// A chain has no parallelism: one cluster, no channels, and the estimate
/// equals the serial time.

// CHECK-LABEL: dfg.graph @chain
// CHECK-SAME:    dfg.serial_estimate = 3.000000e+00 : f64, dfg.parallel_estimate = 3.000000e+00 : f64
// CHECK:         dfg.cluster 0 threads 1
// CHECK-NOT:     dfg.cluster 1
// CHECK-NOT:     dfg.send
dfg.graph @chain(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = dfg.node "Relu"(%x) opset 17 {dfg.cost = 1.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %b = dfg.node "Neg"(%a) opset 17 {dfg.cost = 1.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %c = dfg.node "Exp"(%b) opset 17 {dfg.cost = 1.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  dfg.output %c : tensor<4xf32>
}

// -----

/// A graph without nodes (everything folded away) still gets lane 0, which
/// yields the outputs.

// CHECK-LABEL: dfg.graph @no_nodes
// CHECK:         %[[R:.*]] = dfg.cluster 0 threads 1 -> tensor<4xf32> {
// CHECK-NEXT:      dfg.yield %x : tensor<4xf32>
// CHECK:         dfg.output %[[R]] : tensor<4xf32>
dfg.graph @no_nodes(%x: tensor<4xf32>) -> tensor<4xf32> {
  dfg.output %x : tensor<4xf32>
}
