// RUN: ramiel-opt %s --parallelize=lanes=2 > %t.default.mlir
// RUN: ramiel-opt %s -p 'parallelize{lanes=2 model=flops}' > %t.flops.mlir
// RUN: diff %t.default.mlir %t.flops.mlir
// RUN: filecheck %s < %t.default.mlir
// RUN: ramiel-opt %s -p 'parallelize{lanes=2 model=profile}' | filecheck %s
// RUN: not ramiel-opt %s -p 'parallelize{model=guess}' 2>&1 | filecheck %s --check-prefix=BAD
// RUN: ramiel-opt %s --parallelize=lanes=2,machine=default | filecheck %s --check-prefix=DEFAULT

/// The default cost model is the analytic one: the output equals model=flops's
/// (deterministic for a cached machine calibration). model=profile is the
/// opt-in; either way every node ends up costed inside a cluster.

// CHECK-LABEL: dfg.graph @two_branches
// CHECK-SAME:    dfg.edge_cost = {{[0-9.]+e[+-][0-9]+}} : f64
// CHECK:         dfg.cluster 0
// CHECK-COUNT-3:   dfg.node {{.*}} {dfg.cost = {{[0-9.e+-]+}} : f64, dfg.threaded_cost = {{[0-9.e+-]+}} : f64{{(, dfg.threads = 2 : i64)?}}}
// CHECK:         dfg.output

/// machine=default plans with the built-in machine model and says so.

// DEFAULT-LABEL: dfg.graph @two_branches
// DEFAULT-SAME:    dfg.machine = "default"

// BAD: ramiel-opt: error: {{.*}}model must be one of flops, profile, got 'guess'
dfg.graph @two_branches(%x: tensor<1x8x16x16xf32>) -> tensor<1x16x16x16xf32> {
  %a = dfg.node "Relu"(%x) opset 13 : (tensor<1x8x16x16xf32>) -> tensor<1x8x16x16xf32>
  %b = dfg.node "Sigmoid"(%x) opset 13 : (tensor<1x8x16x16xf32>) -> tensor<1x8x16x16xf32>
  %y = dfg.node "Concat"(%a, %b) {axis = 1 : i64} opset 13 : (tensor<1x8x16x16xf32>, tensor<1x8x16x16xf32>) -> tensor<1x16x16x16xf32>
  dfg.output %y : tensor<1x16x16x16xf32>
}
