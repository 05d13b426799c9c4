// RUN: ramiel-opt %s --parallelize=lanes=2,machine=%inputs/machine-epyc-2core.json | filecheck %s
// RUN: ramiel-opt %s --parallelize=lanes=2,machine=%inputs/machine-epyc-2core.json,onednn-graph=false | filecheck %s --check-prefix=OFF

/// A batch of 4 on two lanes: parallelize plans the batch slices as one lane each,
/// whose nodes need nothing from the other lane, and picks them if their estimate
/// saves 5% of the unsplit one; fuse-onednn-graph then compiles each lane's nodes.
/// `onednn-graph=false` does not plan compiled slices. The machine model is the
/// calibration of the 2-core AMD EPYC of the benchmarks (2026-12-06), on which two
/// intra-op threads run these convolutions 1.8x faster than one, the rest less so.

// CHECK-LABEL: dfg.graph @batch
// CHECK-SAME:    dfg.runtime = "onednn_graph"
// CHECK-SAME:    dfg.batch_plan = "batch 4 split into 2 hyperclusters, one compiled lane each (estimates by parts 1: {{.*}}; 2 compiled slices: {{.*}})"
// CHECK:         dfg.fork
// CHECK:         dfg.cluster 0 threads 1
// CHECK:         dfg.cluster 1 threads 1
// CHECK:         dfg.join
// OFF-LABEL:   dfg.graph @batch
// OFF-NOT:       compiled
// OFF-NOT:       dfg.runtime
dfg.graph @batch(%x: tensor<4x96x28x28xf32>) -> tensor<4x96x28x28xf32> {
  %w = dfg.weight "w" dense<0.5> : tensor<96x96x3x3xf32> : tensor<96x96x3x3xf32>
  %y = dfg.node "Conv"(%x, %w) {pads = array<i64: 1, 1, 1, 1>} opset 17 : (tensor<4x96x28x28xf32>, tensor<96x96x3x3xf32>) -> tensor<4x96x28x28xf32>
  %z = dfg.node "Relu"(%y) opset 17 : (tensor<4x96x28x28xf32>) -> tensor<4x96x28x28xf32>
  %v = dfg.node "Conv"(%z, %w) {pads = array<i64: 1, 1, 1, 1>} opset 17 : (tensor<4x96x28x28xf32>, tensor<96x96x3x3xf32>) -> tensor<4x96x28x28xf32>
  %u = dfg.node "Relu"(%v) opset 17 : (tensor<4x96x28x28xf32>) -> tensor<4x96x28x28xf32>
  dfg.output %u : tensor<4x96x28x28xf32>
}
