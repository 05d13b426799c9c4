// RUN: ramiel-opt %s --split-input-file --verify-diagnostics | filecheck %s

/// A fork into one slice splits nothing.

// CHECK: dfg.fork needs at least 2 slices, got 1
dfg.graph @one_slice(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = dfg.fork %x : tensor<4xf32> -> tensor<4xf32>
  dfg.output %x : tensor<4xf32>
}

// -----

/// The slices must cover the batch exactly.

// CHECK: dfg.fork: the slices hold 3 entries along axis 0, the whole tensor<4x3xf32> holds 4
dfg.graph @short(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %a, %b = dfg.fork %x : tensor<4x3xf32> -> tensor<2x3xf32>, tensor<1x3xf32>
  dfg.output %x : tensor<4x3xf32>
}

// -----

/// Only axis 0 is split.

// CHECK: dfg.fork: slice #1 (tensor<2x2xf32>) must have the shape of tensor<4x3xf32> in every axis but 0
dfg.graph @other_axis(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %a, %b = dfg.fork %x : tensor<4x3xf32> -> tensor<2x3xf32>, tensor<2x2xf32>
  dfg.output %x : tensor<4x3xf32>
}

// -----

/// Slicing keeps the element type.

// CHECK: dfg.fork: slice #0 has element type f16, the whole has f32
dfg.graph @element(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a, %b = dfg.fork %x : tensor<4xf32> -> tensor<2xf16>, tensor<2xf32>
  dfg.output %x : tensor<4xf32>
}

// -----

/// A scalar has no batch axis.

// CHECK: dfg.fork splits a ranked tensor of rank >= 1 along axis 0, got tensor<f32>
dfg.graph @scalar(%x: tensor<f32>) -> tensor<f32> {
  %a, %b = dfg.fork %x : tensor<f32> -> tensor<f32>, tensor<f32>
  dfg.output %x : tensor<f32>
}

// -----

/// The batch must be known to be split.

// CHECK: dfg.fork needs a static axis 0 (the batch) to split, got tensor<?x3xf32>
dfg.graph @dynamic(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
  %a, %b = dfg.fork %x : tensor<?x3xf32> -> tensor<1x3xf32>, tensor<1x3xf32>
  dfg.output %x : tensor<?x3xf32>
}

// -----

/// An empty slice is not a part of the batch.

// CHECK: dfg.fork: slice #1 (tensor<0x3xf32>) must hold at least one entry along axis 0
dfg.graph @empty(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %a, %b = dfg.fork %x : tensor<2x3xf32> -> tensor<2x3xf32>, tensor<0x3xf32>
  dfg.output %x : tensor<2x3xf32>
}

// -----

/// The joined parts must add up to the result.

// CHECK: dfg.join: the parts hold 4 entries along axis 0, the whole tensor<5x3xf32> holds 5
dfg.graph @join_sum(%a: tensor<2x3xf32>) -> tensor<5x3xf32> {
  %y = dfg.join %a, %a : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<5x3xf32>
  dfg.output %y : tensor<5x3xf32>
}

// -----

// CHECK: dfg.join: part #1 (tensor<2x4xf32>) must have the shape of tensor<4x3xf32> in every axis but 0
dfg.graph @join_shape(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>) -> tensor<4x3xf32> {
  %y = dfg.join %a, %b : tensor<2x3xf32>, tensor<2x4xf32> -> tensor<4x3xf32>
  dfg.output %y : tensor<4x3xf32>
}

// -----

// CHECK: dfg.join needs at least 2 parts, got 1
dfg.graph @join_one(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %y = dfg.join %a : tensor<2x3xf32> -> tensor<2x3xf32>
  dfg.output %y : tensor<2x3xf32>
}
