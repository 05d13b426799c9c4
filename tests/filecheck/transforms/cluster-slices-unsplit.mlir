// RUN: ramiel-opt %s -p cluster-slices --remarks 2>%t.err | filecheck %s
// RUN: filecheck %s --check-prefix=REMARK < %t.err

/// A graph that hypercluster did not split keeps its clusters: there are no batch
/// slices to cluster by, and the remark says so.

// CHECK-LABEL: dfg.graph @clustered
// CHECK:         dfg.cluster 0 threads 1
// CHECK-NEXT:      dfg.node "Relu"
// REMARK:      remark: @clustered: cluster-slices: no batch slices (dfg.fork) to cluster by
dfg.graph @clustered(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %r = dfg.cluster 0 threads 1 -> tensor<4x3xf32> {
    %y = dfg.node "Relu"(%x) opset 17 : (tensor<4x3xf32>) -> tensor<4x3xf32>
    dfg.yield %y : tensor<4x3xf32>
  }
  dfg.output %r : tensor<4x3xf32>
}
