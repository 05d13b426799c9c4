// RUN: ramiel-opt %s --split-input-file -p fuse-channel-shuffle | filecheck %s
// RUN: ramiel-opt %s --split-input-file -p fuse-channel-shuffle,dce -t python | filecheck %s --check-prefix=PY

/// A channel shuffle of 3 groups written as Reshape, Transpose, Reshape (ShuffleNet's
/// export) becomes one Gather of the channels by the constant permutation (output channel
/// i * 3 + j reads input channel j * 2 + i), which runs as torch.channel_shuffle. The
/// Gather takes the last Reshape's name and value name.

// CHECK-LABEL: dfg.graph @shuffle
// CHECK:         %[[P:.*]] = dfg.weight "merge_shuffle" dense<[0, 2, 4, 1, 3, 5]> : tensor<6xi64>
// CHECK-NEXT:    %shuffled = dfg.node "Gather"(%x, %[[P]]) {axis = 1 : i64} opset 13 : (tensor<1x6x4x4xf32>, tensor<6xi64>) -> tensor<1x6x4x4xf32> loc("merge")
// CHECK-NOT:     "Reshape"
// CHECK-NOT:     "Transpose"
// CHECK:         dfg.output %shuffled
// PY:            shuffled = torch.channel_shuffle(x, 3)
dfg.graph @shuffle(%x: tensor<1x6x4x4xf32>) -> tensor<1x6x4x4xf32> {
  %parts = dfg.weight "parts" dense<[1, 3, 2, 4, 4]> : tensor<5xi64> : tensor<5xi64>
  %image = dfg.weight "image" dense<[1, 6, 4, 4]> : tensor<4xi64> : tensor<4xi64>
  %split = dfg.node "Reshape"(%x, %parts) opset 13 : (tensor<1x6x4x4xf32>, tensor<5xi64>) -> tensor<1x3x2x4x4xf32> loc("split")
  %swapped = dfg.node "Transpose"(%split) {perm = array<i64: 0, 2, 1, 3, 4>} opset 13 : (tensor<1x3x2x4x4xf32>) -> tensor<1x2x3x4x4xf32> loc("swap")
  %shuffled = dfg.node "Reshape"(%swapped, %image) opset 13 : (tensor<1x2x3x4x4xf32>, tensor<4xi64>) -> tensor<1x6x4x4xf32> loc("merge")
  dfg.output %shuffled : tensor<1x6x4x4xf32>
}

// -----

/// Nothing fuses where the split view has another reader, where the Transpose swaps other
/// axes, or where the last Reshape does not give back an image of the input's shape.

// CHECK-LABEL: dfg.graph @not_shuffles
// CHECK-NOT:     "Gather"
// CHECK-COUNT-3: "Transpose"
// CHECK-NOT:     "Gather"
dfg.graph @not_shuffles(%x: tensor<1x6x4x4xf32>) -> (tensor<1x6x4x4xf32>, tensor<1x3x2x4x4xf32>, tensor<1x6x4x4xf32>, tensor<1x12x2x4xf32>) {
  %parts = dfg.weight "parts" dense<[1, 3, 2, 4, 4]> : tensor<5xi64> : tensor<5xi64>
  %image = dfg.weight "image" dense<[1, 6, 4, 4]> : tensor<4xi64> : tensor<4xi64>
  %other = dfg.weight "other" dense<[1, 12, 2, 4]> : tensor<4xi64> : tensor<4xi64>
  %split = dfg.node "Reshape"(%x, %parts) opset 13 : (tensor<1x6x4x4xf32>, tensor<5xi64>) -> tensor<1x3x2x4x4xf32> loc("split")
  %swapped = dfg.node "Transpose"(%split) {perm = array<i64: 0, 2, 1, 3, 4>} opset 13 : (tensor<1x3x2x4x4xf32>) -> tensor<1x2x3x4x4xf32> loc("swap")
  %read_twice = dfg.node "Reshape"(%swapped, %image) opset 13 : (tensor<1x2x3x4x4xf32>, tensor<4xi64>) -> tensor<1x6x4x4xf32> loc("read_twice")
  %split2 = dfg.node "Reshape"(%x, %parts) opset 13 : (tensor<1x6x4x4xf32>, tensor<5xi64>) -> tensor<1x3x2x4x4xf32> loc("split2")
  %spatial = dfg.node "Transpose"(%split2) {perm = array<i64: 0, 1, 2, 4, 3>} opset 13 : (tensor<1x3x2x4x4xf32>) -> tensor<1x3x2x4x4xf32> loc("spatial")
  %not_channels = dfg.node "Reshape"(%spatial, %image) opset 13 : (tensor<1x3x2x4x4xf32>, tensor<4xi64>) -> tensor<1x6x4x4xf32> loc("not_channels")
  %split3 = dfg.node "Reshape"(%x, %parts) opset 13 : (tensor<1x6x4x4xf32>, tensor<5xi64>) -> tensor<1x3x2x4x4xf32> loc("split3")
  %swapped3 = dfg.node "Transpose"(%split3) {perm = array<i64: 0, 2, 1, 3, 4>} opset 13 : (tensor<1x3x2x4x4xf32>) -> tensor<1x2x3x4x4xf32> loc("swap3")
  %elsewhere = dfg.node "Reshape"(%swapped3, %other) opset 13 : (tensor<1x2x3x4x4xf32>, tensor<4xi64>) -> tensor<1x12x2x4xf32> loc("elsewhere")
  dfg.output %read_twice, %split, %not_channels, %elsewhere : tensor<1x6x4x4xf32>, tensor<1x3x2x4x4xf32>, tensor<1x6x4x4xf32>, tensor<1x12x2x4xf32>
}
