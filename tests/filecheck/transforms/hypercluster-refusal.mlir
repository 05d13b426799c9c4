// RUN: ramiel-opt %s --split-input-file --remarks -p 'hypercluster{parts=2}' 2>&1 >/dev/null | filecheck %s --check-prefix=REMARK
// RUN: ramiel-opt %s --split-input-file -p 'hypercluster{parts=2},dce' 2>/dev/null | filecheck %s
// RUN: ramiel-opt %s --split-input-file --remarks -p 'parallelize{lanes=2 machine=default}' 2>&1 >/dev/null | filecheck %s --check-prefix=PARALLELIZE

/// A graph that mixes batch entries is left unchanged, with a remark (--remarks)
/// on standard error located at and naming the node; the pipeline goes on (dce still runs).

// REMARK: ramiel-opt: remark: loc("total"): hypercluster: graph @sum_over_batch left unsplit at node 'total' (ReduceSum): it reduces over axis 0, the batch
// REMARK: ramiel-opt: remark: @unknown_batch: hypercluster: graph @unknown_batch left unsplit: the batch size is not known (fix it with --input-shape)
// REMARK: ramiel-opt: remark: @single: hypercluster: graph @single left unsplit: the batch size is 1
// REMARK: ramiel-opt: remark: loc("dot"): hypercluster: graph @vector_matmul left unsplit at node 'dot' (MatMul): the batch axis of an input is contracted or broadcast

/// parallelize says why it does not split the batch, at the node that prevents it.

// PARALLELIZE: ramiel-opt: remark: loc("total"): parallelize: batch 4 not split, node 'total' (ReduceSum): it reduces over axis 0, the batch

// CHECK-LABEL: dfg.graph @sum_over_batch
// CHECK-NOT:     dfg.fork
// CHECK:         dfg.node "ReduceSum"
// CHECK-NOT:     dfg.join
dfg.graph @sum_over_batch(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %axes = dfg.weight "axes" dense<0> : tensor<1xi64> : tensor<1xi64>
  %r = dfg.node "Relu"(%x) opset 17 : (tensor<4x3xf32>) -> tensor<4x3xf32>
  %s = dfg.node "ReduceSum"(%r, %axes) opset 17 : (tensor<4x3xf32>, tensor<1xi64>) -> tensor<1x3xf32> loc("total")
  %y = dfg.node "Div"(%r, %s) opset 17 : (tensor<4x3xf32>, tensor<1x3xf32>) -> tensor<4x3xf32>
  dfg.output %y : tensor<4x3xf32>
}

// -----

// CHECK-LABEL: dfg.graph @unknown_batch
// CHECK-NOT:     dfg.fork
dfg.graph @unknown_batch(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
  %r = dfg.node "Relu"(%x) opset 17 : (tensor<?x3xf32>) -> tensor<?x3xf32>
  dfg.output %r : tensor<?x3xf32>
}

// -----

// CHECK-LABEL: dfg.graph @single
// CHECK-NOT:     dfg.fork
dfg.graph @single(%x: tensor<1x3xf32>) -> tensor<1x3xf32> {
  %r = dfg.node "Relu"(%x) opset 17 : (tensor<1x3xf32>) -> tensor<1x3xf32>
  dfg.output %r : tensor<1x3xf32>
}

// -----

/// A vector times a matrix: the vector's one axis is the one MatMul contracts, not a
/// batch (found by tools/fuzz.py, seed 6262: the split made two 1-element MatMuls).

// CHECK-LABEL: dfg.graph @vector_matmul
// CHECK-NOT:     dfg.fork
dfg.graph @vector_matmul(%x: tensor<5xf32>) -> tensor<5xf32> {
  %w = dfg.weight "w" dense<0.5> : tensor<5x5xf32> : tensor<5x5xf32>
  %y = dfg.node "MatMul"(%x, %w) opset 17 : (tensor<5xf32>, tensor<5x5xf32>) -> tensor<5xf32> loc("dot")
  dfg.output %y : tensor<5xf32>
}
