// RUN: ramiel-opt %s --split-input-file -p 'linear-cluster{edge-cost=5.0},merge-clusters{lanes=2 edge-cost=5.0},clone{threshold=5.0},dce' | filecheck %s

/// A cheap producer (Neg, cost 1) shared by two expensive branches on two lanes
/// is recomputed on lane 1 instead of being sent: no channel carries it.

// CHECK-LABEL: dfg.graph @shared_cheap_producer
// CHECK:         dfg.cluster 0 threads 1
// CHECK-NEXT:      %[[T0:.*]] = dfg.node "Neg"(%{{.*}})
// CHECK-NEXT:      dfg.node "Sigmoid"(%[[T0]])
// CHECK-NEXT:      dfg.recv "c"
// CHECK:         dfg.cluster 1 threads 1
// CHECK-NEXT:      %[[T1:.*]] = dfg.node "Neg"(%{{.*}})
// CHECK-NEXT:      %[[C:.*]] = dfg.node "Tanh"(%[[T1]])
// CHECK-NEXT:      dfg.send %[[C]] to "c"
// CHECK-NOT:     dfg.send
dfg.graph @shared_cheap_producer(%x: tensor<4xf32>) -> tensor<4xf32> {
  %t = dfg.node "Neg"(%x) opset 17 {dfg.cost = 1.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %b = dfg.node "Sigmoid"(%t) opset 17 {dfg.cost = 100.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %c = dfg.node "Tanh"(%t) opset 17 {dfg.cost = 100.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %d = dfg.node "Add"(%b, %c) opset 17 {dfg.cost = 1.0 : f64} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  dfg.output %d : tensor<4xf32>
}

// -----

/// An expensive shared producer (cost 50 > threshold) is sent, not cloned.

// CHECK-LABEL: dfg.graph @shared_costly_producer
// CHECK:         dfg.cluster 0
// CHECK:           %[[T:.*]] = dfg.node "Neg"
// CHECK-NEXT:      dfg.send %[[T]] to "t"
// CHECK:         dfg.cluster 1
// CHECK-NEXT:      dfg.recv "t"
// CHECK-NOT:       dfg.node "Neg"
dfg.graph @shared_costly_producer(%x: tensor<4xf32>) -> tensor<4xf32> {
  %t = dfg.node "Neg"(%x) opset 17 {dfg.cost = 50.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %b = dfg.node "Sigmoid"(%t) opset 17 {dfg.cost = 100.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %c = dfg.node "Tanh"(%t) opset 17 {dfg.cost = 100.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %d = dfg.node "Add"(%b, %c) opset 17 {dfg.cost = 1.0 : f64} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  dfg.output %d : tensor<4xf32>
}

// -----

/// A cheap node whose input lives only on the other lane cannot be cloned.

// CHECK-LABEL: dfg.graph @input_not_available
// CHECK:         dfg.cluster 1
// CHECK-NEXT:      %[[R:.*]] = dfg.recv "t"
// CHECK-NEXT:      dfg.node "Tanh"(%[[R]])
dfg.graph @input_not_available(%x: tensor<4xf32>) -> tensor<4xf32> {
  %s = dfg.node "Exp"(%x) opset 17 {dfg.cost = 50.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %t = dfg.node "Neg"(%s) opset 17 {dfg.cost = 1.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %b = dfg.node "Sigmoid"(%t) opset 17 {dfg.cost = 100.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %c = dfg.node "Tanh"(%t) opset 17 {dfg.cost = 100.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %d = dfg.node "Add"(%b, %c) opset 17 {dfg.cost = 1.0 : f64} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  dfg.output %d : tensor<4xf32>
}
