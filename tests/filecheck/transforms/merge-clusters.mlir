// RUN: ramiel-opt %s --split-input-file -p 'linear-cluster{edge-cost=2.0},merge-clusters{lanes=2 edge-cost=2.0}' | filecheck %s
// RUN: ramiel-opt %s --split-input-file -p 'linear-cluster{edge-cost=2.0},merge-clusters{lanes=1}' | filecheck %s --check-prefix=ONE
// RUN: ramiel-opt %s --split-input-file -p 'merge-clusters{lanes=2 edge-cost=50.0}' | filecheck %s --check-prefix=COSTLY

/// Three branches of 10, 8 and 6 after a fork, onto two lanes: the critical
/// branch (Exp) stays on lane 0 with the join; Neg starts first on lane 1; Tanh
/// can start as early on lane 0 (ties go to lane 0). Estimate: 1 + 10 + 6 + 1.

// CHECK-LABEL: dfg.graph @three_branches
// CHECK-SAME:    dfg.serial_estimate = 2.600000e+01 : f64, dfg.parallel_estimate = 1.800000e+01 : f64
// CHECK:         dfg.cluster 0 threads 1
// CHECK-NEXT:      %[[A:.*]] = dfg.node "Relu"
// CHECK-NEXT:      dfg.send %[[A]] to "a"
// CHECK-NEXT:      dfg.node "Exp"
// CHECK-NEXT:      dfg.node "Tanh"
// CHECK-NEXT:      dfg.recv "c"
// CHECK-NEXT:      dfg.node "Sum"
// CHECK:         dfg.cluster 1 threads 1
// CHECK-NEXT:      dfg.recv "a"
// CHECK-NEXT:      %[[C:.*]] = dfg.node "Neg"
// CHECK-NEXT:      dfg.send %[[C]] to "c"
// CHECK-NOT:     dfg.cluster 2

// ONE-LABEL:   dfg.graph @three_branches
// ONE:           dfg.cluster 0 threads 1
// ONE-NOT:       dfg.cluster 1
// ONE-NOT:       dfg.send

/// Without linear-cluster first, merge-clusters clusters the graph itself; an
/// edge cost that eats the gain makes it fall back to one lane, which gets the
/// intra-op threads of both.

// COSTLY-LABEL: dfg.graph @three_branches
// COSTLY-SAME:    dfg.serial_estimate = 2.600000e+01 : f64, dfg.parallel_estimate = 2.600000e+01 : f64
// COSTLY:         dfg.cluster 0 threads 2
// COSTLY-NOT:     dfg.cluster 1
dfg.graph @three_branches(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = dfg.node "Relu"(%x) opset 17 {dfg.cost = 1.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %b = dfg.node "Exp"(%a) opset 17 {dfg.cost = 10.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %c = dfg.node "Neg"(%a) opset 17 {dfg.cost = 8.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %d = dfg.node "Tanh"(%a) opset 17 {dfg.cost = 6.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %s = dfg.node "Sum"(%b, %c, %d) opset 17 {dfg.cost = 1.0 : f64} : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  dfg.output %s : tensor<4xf32>
}

// -----

/// When most of every node's time holds the GIL (dispatch_cost, from
/// estimate-cost), lanes cannot overlap it: the estimate is the GIL-bound 26
/// and the graph stays on one lane.

// CHECK-LABEL: dfg.graph @gil_bound
// CHECK-SAME:    dfg.parallel_estimate = 2.600000e+01 : f64
// CHECK:         dfg.cluster 0 threads 2
// CHECK-NOT:     dfg.cluster 1
dfg.graph @gil_bound(%x: tensor<4xf32>) -> tensor<4xf32> attributes {dfg.dispatch_cost = 10.0 : f64} {
  %a = dfg.node "Relu"(%x) opset 17 {dfg.cost = 1.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %b = dfg.node "Exp"(%a) opset 17 {dfg.cost = 10.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %c = dfg.node "Neg"(%a) opset 17 {dfg.cost = 8.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %d = dfg.node "Tanh"(%a) opset 17 {dfg.cost = 6.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %s = dfg.node "Sum"(%b, %c, %d) opset 17 {dfg.cost = 1.0 : f64} : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  dfg.output %s : tensor<4xf32>
}

// -----

/// The same graph, where estimate-cost found that no node gains min-gain from
/// every core as intra-op threads (small ops: waking the team costs what
/// splitting them saves): the single lane is planned with one thread.

// CHECK-LABEL: dfg.graph @threads_do_not_pay
// CHECK-SAME:    dfg.parallel_estimate = 2.600000e+01 : f64
// CHECK:         dfg.cluster 0 threads 1
// CHECK-NOT:     dfg.threads =
// CHECK-NOT:     dfg.cluster 1
dfg.graph @threads_do_not_pay(%x: tensor<4xf32>) -> tensor<4xf32> attributes {dfg.dispatch_cost = 10.0 : f64} {
  %a = dfg.node "Relu"(%x) opset 17 {dfg.cost = 1.0 : f64, dfg.threaded_cost = 2.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %b = dfg.node "Exp"(%a) opset 17 {dfg.cost = 10.0 : f64, dfg.threaded_cost = 9.5 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %c = dfg.node "Neg"(%a) opset 17 {dfg.cost = 8.0 : f64, dfg.threaded_cost = 9.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %d = dfg.node "Tanh"(%a) opset 17 {dfg.cost = 6.0 : f64, dfg.threaded_cost = 6.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %s = dfg.node "Sum"(%b, %c, %d) opset 17 {dfg.cost = 1.0 : f64, dfg.threaded_cost = 2.0 : f64} : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  dfg.output %s : tensor<4xf32>
}

// -----

/// When every node gains from the threads, the single lane gets both cores.

// CHECK-LABEL: dfg.graph @threads_pay
// CHECK-SAME:    dfg.parallel_estimate = 1.400000e+01 : f64
// CHECK:         dfg.cluster 0 threads 2
// CHECK-NOT:     dfg.threads =
// CHECK-NOT:     dfg.cluster 1
dfg.graph @threads_pay(%x: tensor<4xf32>) -> tensor<4xf32> attributes {dfg.dispatch_cost = 10.0 : f64} {
  %a = dfg.node "Relu"(%x) opset 17 {dfg.cost = 1.0 : f64, dfg.threaded_cost = 0.5 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %b = dfg.node "Exp"(%a) opset 17 {dfg.cost = 10.0 : f64, dfg.threaded_cost = 5.5 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %c = dfg.node "Neg"(%a) opset 17 {dfg.cost = 8.0 : f64, dfg.threaded_cost = 4.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %d = dfg.node "Tanh"(%a) opset 17 {dfg.cost = 6.0 : f64, dfg.threaded_cost = 3.5 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %s = dfg.node "Sum"(%b, %c, %d) opset 17 {dfg.cost = 1.0 : f64, dfg.threaded_cost = 0.5 : f64} : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  dfg.output %s : tensor<4xf32>
}

// -----

/// When only some nodes gain, and by more than min-gain over the best uniform
/// plan (here one thread: both cores would take 31 us), the lane runs on one
/// thread and those nodes get both cores (`dfg.threads = 2` on the node): the Exp
/// saves 7 us; the others would lose. Estimate 19 us against 26 us.

// CHECK-LABEL: dfg.graph @threads_for_some_nodes
// CHECK-SAME:    dfg.parallel_estimate = 1.900000e+01 : f64
// CHECK:         dfg.cluster 0 threads 1
// CHECK:           dfg.node "Relu"{{.*}} {dfg.cost = 1.000000e+00 : f64, dfg.threaded_cost = 6.000000e+00 : f64}
// CHECK-NEXT:      dfg.node "Exp"{{.*}} {dfg.cost = 1.000000e+01 : f64, dfg.threaded_cost = 3.000000e+00 : f64, dfg.threads = 2 : i64}
// CHECK-NOT:       dfg.threads =
// CHECK:           dfg.yield
dfg.graph @threads_for_some_nodes(%x: tensor<4xf32>) -> tensor<4xf32> attributes {dfg.dispatch_cost = 10.0 : f64} {
  %a = dfg.node "Relu"(%x) opset 17 {dfg.cost = 1.0 : f64, dfg.threaded_cost = 6.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %b = dfg.node "Exp"(%a) opset 17 {dfg.cost = 10.0 : f64, dfg.threaded_cost = 3.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %c = dfg.node "Neg"(%a) opset 17 {dfg.cost = 8.0 : f64, dfg.threaded_cost = 9.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %d = dfg.node "Tanh"(%a) opset 17 {dfg.cost = 6.0 : f64, dfg.threaded_cost = 7.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %s = dfg.node "Sum"(%b, %c, %d) opset 17 {dfg.cost = 1.0 : f64, dfg.threaded_cost = 6.0 : f64} : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  dfg.output %s : tensor<4xf32>
}

// -----

/// A mixed plan that saves less than min-gain over the uniform one is not
/// worth its switches: every node gains here, the Exp the most, and the lane
/// keeps both cores for all of them (21.5 us; mixed: 20 us).

// CHECK-LABEL: dfg.graph @mixed_threads_do_not_pay
// CHECK-SAME:    dfg.parallel_estimate = 2.150000e+01 : f64
// CHECK:         dfg.cluster 0 threads 2
// CHECK-NOT:     dfg.threads =
dfg.graph @mixed_threads_do_not_pay(%x: tensor<4xf32>) -> tensor<4xf32> attributes {dfg.dispatch_cost = 10.0 : f64} {
  %a = dfg.node "Relu"(%x) opset 17 {dfg.cost = 1.0 : f64, dfg.threaded_cost = 2.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %b = dfg.node "Exp"(%a) opset 17 {dfg.cost = 10.0 : f64, dfg.threaded_cost = 4.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %c = dfg.node "Neg"(%a) opset 17 {dfg.cost = 8.0 : f64, dfg.threaded_cost = 7.5 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %d = dfg.node "Tanh"(%a) opset 17 {dfg.cost = 6.0 : f64, dfg.threaded_cost = 6.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %s = dfg.node "Sum"(%b, %c, %d) opset 17 {dfg.cost = 1.0 : f64, dfg.threaded_cost = 2.0 : f64} : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  dfg.output %s : tensor<4xf32>
}
