// RUN: ramiel-opt %s --split-input-file -p 'hypercluster{parts=2},estimate-cost{machine=default},cluster-slices' | filecheck %s
// RUN: ramiel-opt %s --split-input-file -p 'hypercluster{parts=2},estimate-cost{machine=default},cluster-slices,merge-clusters{lanes=2 min-gain=0.0 edge-cost=0.0 runtime-costs=false},clone,dce' | filecheck %s --check-prefix=LANES
// RUN: ramiel-opt %s --split-input-file -p 'estimate-cost{machine=default},cluster-slices' --remarks 2>&1 >/dev/null | filecheck %s --check-prefix=REMARK

/// One cluster per batch slice, in program order: the weights-only Neg goes with its
/// first reader's slice (0) and is sent to slice 1's cluster; the join follows.

// CHECK-LABEL: dfg.graph @mlp
// CHECK:         dfg.fork
// CHECK:         dfg.cluster 0 threads 1
// CHECK-NEXT:      %[[NW:.*]] = dfg.node "Neg"
// CHECK-NEXT:      dfg.send %[[NW]] to
// CHECK-NEXT:      dfg.node "MatMul"{{.*}}loc("MatMul/part0")
// CHECK-NEXT:      dfg.node "Relu"{{.*}}loc("Relu/part0")
// CHECK:         dfg.cluster 1 threads 1
// CHECK-NEXT:      dfg.recv
// CHECK-NEXT:      dfg.node "MatMul"{{.*}}loc("MatMul/part1")
// CHECK-NEXT:      dfg.node "Relu"{{.*}}loc("Relu/part1")
// CHECK:         dfg.join

/// merge-clusters keeps a lane per slice, and clone gives each lane its own Neg: the
/// lanes then need nothing from each other until lane 0 receives slice 1's result
/// for the join.

// LANES-LABEL: dfg.graph @mlp
// LANES:         dfg.cluster 0 threads 1
// LANES-NEXT:      dfg.node "Neg"
// LANES-NEXT:      dfg.node "MatMul"
// LANES-NEXT:      dfg.node "Relu"
// LANES-NEXT:      dfg.recv "y_part1"
// LANES:         dfg.cluster 1 threads 1
// LANES-NEXT:      dfg.node "Neg"
// LANES-NEXT:      dfg.node "MatMul"
// LANES-NEXT:      dfg.node "Relu"
// LANES-NEXT:      dfg.send
// LANES:         dfg.join
dfg.graph @mlp(%x: tensor<4x3xf32>) -> tensor<4x5xf32> {
  %w = dfg.weight "w" dense<0.5> : tensor<3x5xf32> : tensor<3x5xf32>
  %nw = dfg.node "Neg"(%w) opset 17 : (tensor<3x5xf32>) -> tensor<3x5xf32>
  %m = dfg.node "MatMul"(%x, %nw) opset 17 : (tensor<4x3xf32>, tensor<3x5xf32>) -> tensor<4x5xf32> loc("MatMul")
  %y = dfg.node "Relu"(%m) opset 17 : (tensor<4x5xf32>) -> tensor<4x5xf32> loc("Relu")
  dfg.output %y : tensor<4x5xf32>
}

// -----

/// A graph that hypercluster did not split has no slices: it is left as it is.

// REMARK: remark: @flat: cluster-slices: no batch slices (dfg.fork) to cluster by
dfg.graph @flat(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %y = dfg.node "Relu"(%x) opset 17 : (tensor<4x3xf32>) -> tensor<4x3xf32>
  dfg.output %y : tensor<4x3xf32>
}
