// RUN: ramiel-opt %s --parallelize=lanes=1,machine=default | filecheck %s
// RUN: ramiel-opt %s --parallelize=lanes=1,machine=default,onednn-graph=false | filecheck %s --check-prefix=OFF

/// parallelize ends with fuse-onednn-graph: a one-lane plan of a convolution, here on
/// one thread, runs as TorchScript from load. `onednn-graph=false` leaves it eager.

// CHECK-LABEL: dfg.graph @conv
// CHECK-SAME:    dfg.runtime = "torchscript"
// CHECK:         dfg.cluster 0 threads 1
// OFF-LABEL:   dfg.graph @conv
// OFF-NOT:       dfg.runtime
dfg.graph @conv(%x: tensor<1x8x16x16xf32>) -> tensor<1x8x16x16xf32> {
  %w = dfg.weight "w" dense<0.5> : tensor<8x8x3x3xf32> : tensor<8x8x3x3xf32>
  %y = dfg.node "Conv"(%x, %w) {pads = array<i64: 1, 1, 1, 1>} opset 17 : (tensor<1x8x16x16xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x16x16xf32>
  %z = dfg.node "Relu"(%y) opset 17 : (tensor<1x8x16x16xf32>) -> tensor<1x8x16x16xf32>
  dfg.output %z : tensor<1x8x16x16xf32>
}
