// RUN: ramiel-opt %s --split-input-file -p estimate-cost | filecheck %s
// RUN: ramiel-opt %s --split-input-file -p 'estimate-cost{model=profile}' | filecheck %s --check-prefix=PROFILE
// RUN: not ramiel-opt %s -p 'estimate-cost{model=guess}' 2>&1 | filecheck %s --check-prefix=BAD
// RUN: ramiel-opt %s --split-input-file --estimate-cost=machine=default | filecheck %s --check-prefix=DEFAULT
// RUN: not ramiel-opt %s --estimate-cost=machine=%t/missing.json 2>&1 | filecheck %s --check-prefix=NOFILE

/// Every node gets a positive cost in microseconds (times vary by machine, so
/// only their form is checked) and the graph the measured hand-off cost.

// CHECK-LABEL: dfg.graph @small_cnn
// CHECK-SAME:    dfg.edge_cost = {{[0-9.]+e[+-][0-9]+}} : f64
// CHECK:         dfg.node "Conv"{{.*}} opset 13 {dfg.cost = {{[0-9.e+-]+}} : f64, dfg.threaded_cost = {{[0-9.e+-]+}} : f64}
// CHECK-NEXT:    dfg.node "Relu"{{.*}} opset 13 {dfg.cost = {{[0-9.e+-]+}} : f64, dfg.threaded_cost = {{[0-9.e+-]+}} : f64}
// CHECK-NEXT:    dfg.node "MaxPool"{{.*}} opset 13 {dfg.cost = {{[0-9.e+-]+}} : f64, dfg.threaded_cost = {{[0-9.e+-]+}} : f64}
// CHECK-NEXT:    dfg.node "Reshape"{{.*}} opset 13 {dfg.cost = {{[0-9.e+-]+}} : f64, dfg.threaded_cost = {{[0-9.e+-]+}} : f64}
// CHECK-NEXT:    dfg.output

// PROFILE-LABEL: dfg.graph @small_cnn
// PROFILE-SAME:    dfg.edge_cost = {{[0-9.]+e[+-][0-9]+}} : f64
// PROFILE-COUNT-4: {dfg.cost = {{[0-9.e+-]+}} : f64, dfg.threaded_cost = {{[0-9.e+-]+}} : f64}
// PROFILE-NEXT:    dfg.output

// BAD: ramiel-opt: error: invalid pass pipeline: estimate-cost: model must be one of flops, profile, got 'guess'

/// The graph names the machine model its costs came from: the built-in one here,
/// whose costs are fixed numbers (a 1x1 Conv of 2 channels on 4x4 costs its overhead,
/// 2.574 us, and 0.01 us of work: its 2 output channels padded to a 16-float vector).

// DEFAULT-LABEL: dfg.graph @small_cnn
// DEFAULT-SAME:    dfg.machine = "default"
// DEFAULT:         dfg.node "Conv"{{.*}} {dfg.cost = 2.584000e+00 : f64
// DEFAULT-LABEL: dfg.graph @clustered
// DEFAULT-SAME:    dfg.machine = "default"

// NOFILE: ramiel-opt: error: cannot read machine model {{.*}}missing.json: No such file or directory
dfg.graph @small_cnn(%x: tensor<1x2x4x4xf32>) -> tensor<1x8xf32> {
  %w = dfg.weight "w" dense<[[[[1.0]], [[2.0]]], [[[-1.0]], [[0.5]]]]> : tensor<2x2x1x1xf32> : tensor<2x2x1x1xf32>
  %shape = dfg.weight "shape" dense<[1, 8]> : tensor<2xi64> : tensor<2xi64>
  %c = dfg.node "Conv"(%x, %w) {kernel_shape = array<i64: 1, 1>} opset 13 : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %r = dfg.node "Relu"(%c) opset 13 : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %p = dfg.node "MaxPool"(%r) {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} opset 13 : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32>
  %y = dfg.node "Reshape"(%p, %shape) opset 13 : (tensor<1x2x2x2xf32>, tensor<2xi64>) -> tensor<1x8xf32>
  dfg.output %y : tensor<1x8xf32>
}

// -----

/// Nodes inside clusters are annotated too (an existing cost is replaced); the
/// profiler follows send/recv channels to feed each node its real inputs.

// CHECK-LABEL: dfg.graph @clustered
// CHECK:         dfg.cluster 0
// CHECK:           dfg.node "Relu"{{.*}} {dfg.cost = {{[0-9.e+-]+}} : f64, dfg.threaded_cost = {{[0-9.e+-]+}} : f64}
// CHECK-NOT:       dfg.cost = 9.000000e+02
// CHECK:           dfg.node "Add"{{.*}} {dfg.cost = {{[0-9.e+-]+}} : f64, dfg.threaded_cost = {{[0-9.e+-]+}} : f64}
// CHECK:         dfg.cluster 1
// CHECK:           dfg.node "Sigmoid"{{.*}} {dfg.cost = {{[0-9.e+-]+}} : f64, dfg.threaded_cost = {{[0-9.e+-]+}} : f64}

// PROFILE-LABEL: dfg.graph @clustered
// PROFILE-NOT:     dfg.cost = 9.000000e+02
// PROFILE-COUNT-3: dfg.node {{.*}} {dfg.cost = {{[0-9.e+-]+}} : f64, dfg.threaded_cost = {{[0-9.e+-]+}} : f64}
// PROFILE-NOT:     dfg.cost = 9.000000e+02
dfg.graph @clustered(%x: tensor<4xf32>) -> tensor<4xf32> {
  %d = dfg.cluster 0 threads 1 -> tensor<4xf32> {
    %a = dfg.node "Relu"(%x) opset 13 {dfg.cost = 900.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
    dfg.send %a to "a" : tensor<4xf32>
    %b = dfg.recv "b" : tensor<4xf32>
    %s = dfg.node "Add"(%a, %b) opset 13 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    dfg.yield %s : tensor<4xf32>
  }
  dfg.cluster 1 threads 1 {
    %a_1 = dfg.recv "a" : tensor<4xf32>
    %b_1 = dfg.node "Sigmoid"(%a_1) opset 13 : (tensor<4xf32>) -> tensor<4xf32>
    dfg.send %b_1 to "b" : tensor<4xf32>
    dfg.yield
  }
  dfg.output %d : tensor<4xf32>
}
