// RUN: ramiel-opt %s --split-input-file -p 'hypercluster{parts=2}' | filecheck %s
// RUN: ramiel-opt %s --split-input-file -p 'hypercluster{parts=3}' | filecheck %s --check-prefix=THREE
// RUN: ramiel-opt %s --split-input-file -p 'hypercluster{parts=1}' | filecheck %s --check-prefix=ONE
// RUN: ramiel-opt %s --split-input-file -p 'hypercluster{parts=2},estimate-cost,linear-cluster{edge-cost=0.0},merge-clusters{lanes=2 edge-cost=0.0 min-gain=0.0 runtime-costs=false}' | filecheck %s --check-prefix=LANES

/// The batch input is forked, the batch-dependent nodes are copied per slice,
/// the weight and the weights-only node are shared, the output is joined.

// CHECK-LABEL: dfg.graph @mlp
// CHECK:         %[[X0:.*]], %[[X1:.*]] = dfg.fork %{{.*}} : tensor<4x3xf32> -> tensor<2x3xf32>, tensor<2x3xf32>
// CHECK:         %[[W:.*]] = dfg.weight "w"
// CHECK-NEXT:    %[[NW:.*]] = dfg.node "Neg"(%[[W]])
// CHECK-NEXT:    %[[M0:.*]] = dfg.node "MatMul"(%[[X0]], %[[NW]]) opset 17 : (tensor<2x3xf32>, tensor<3x5xf32>) -> tensor<2x5xf32>
// CHECK-NEXT:    %[[R0:.*]] = dfg.node "Relu"(%[[M0]])
// CHECK-NEXT:    %[[M1:.*]] = dfg.node "MatMul"(%[[X1]], %[[NW]])
// CHECK-NEXT:    %[[R1:.*]] = dfg.node "Relu"(%[[M1]])
// CHECK-NEXT:    %[[Y:.*]] = dfg.join %[[R0]], %[[R1]] : tensor<2x5xf32>, tensor<2x5xf32> -> tensor<4x5xf32>
// CHECK-NEXT:    dfg.output %[[Y]], %[[NW]] : tensor<4x5xf32>, tensor<3x5xf32>

/// Three parts of a batch of 4: slices of 2, 1 and 1 (as torch.tensor_split).

// THREE-LABEL: dfg.graph @mlp
// THREE:         dfg.fork %{{.*}} : tensor<4x3xf32> -> tensor<2x3xf32>, tensor<1x3xf32>, tensor<1x3xf32>
// THREE:         dfg.join {{.*}} : tensor<2x5xf32>, tensor<1x5xf32>, tensor<1x5xf32> -> tensor<4x5xf32>

/// parts=1 leaves the graph as it is.

// ONE-LABEL:   dfg.graph @mlp
// ONE-NOT:       dfg.fork
// ONE-NOT:       dfg.join

/// With lanes: the fork stays above the clusters (its slices are graph values),
/// lane 0 yields the parts and the join follows the clusters.

// LANES-LABEL: dfg.graph @mlp
// LANES:         dfg.fork
// LANES:         %[[P0:[^,]*]], %[[P1:[^,]*]], %{{.*}} = dfg.cluster 0
// LANES:         dfg.cluster 1
// LANES:         dfg.join %[[P0]], %[[P1]]
// LANES-NEXT:    dfg.output
dfg.graph @mlp(%x: tensor<4x3xf32>) -> (tensor<4x5xf32>, tensor<3x5xf32>) {
  %w = dfg.weight "w" dense<0.5> : tensor<3x5xf32> : tensor<3x5xf32>
  %nw = dfg.node "Neg"(%w) opset 17 : (tensor<3x5xf32>) -> tensor<3x5xf32>
  %m = dfg.node "MatMul"(%x, %nw) opset 17 : (tensor<4x3xf32>, tensor<3x5xf32>) -> tensor<4x5xf32>
  %y = dfg.node "Relu"(%m) opset 17 : (tensor<4x5xf32>) -> tensor<4x5xf32>
  dfg.output %y, %nw : tensor<4x5xf32>, tensor<3x5xf32>
}

// -----

/// A Reshape whose target shape names the batch gets the slice's size instead;
/// one that copies axis 0 (a 0) keeps its shape.

// CHECK-LABEL: dfg.graph @reshape
// CHECK:         %[[S2:.*]] = dfg.weight "s_part2" dense<[2, 6]> : tensor<2xi64>
// CHECK:         dfg.node "Reshape"(%{{.*}}, %[[S2]]) {{.*}} -> tensor<2x6xf32>
// CHECK:         dfg.node "Reshape"(%{{.*}}, %[[Z:.*]]) {{.*}} -> tensor<2x3x2xf32>
// CHECK:         dfg.node "Reshape"(%{{.*}}, %[[S2]]) {{.*}} -> tensor<2x6xf32>
// CHECK:         dfg.node "Reshape"(%{{.*}}, %[[Z]]) {{.*}} -> tensor<2x3x2xf32>
// CHECK:         dfg.join
dfg.graph @reshape(%x: tensor<4x3x2xf32>) -> tensor<4x3x2xf32> {
  %s = dfg.weight "s" dense<[4, 6]> : tensor<2xi64> : tensor<2xi64>
  %z = dfg.weight "z" dense<[0, 3, 2]> : tensor<3xi64> : tensor<3xi64>
  %a = dfg.node "Reshape"(%x, %s) opset 17 : (tensor<4x3x2xf32>, tensor<2xi64>) -> tensor<4x6xf32>
  %b = dfg.node "Reshape"(%a, %z) opset 17 : (tensor<4x6xf32>, tensor<3xi64>) -> tensor<4x3x2xf32>
  dfg.output %b : tensor<4x3x2xf32>
}

// -----

/// Rows folded batch-major ([4, 3, 2] -> [12, 2]: entry b is rows 3b..3b+2) are
/// split in blocks of whole entries: 6 rows a slice, the shape constant says so.

// CHECK-LABEL: dfg.graph @folded_rows
// CHECK:         dfg.weight "s_part6" dense<[6, 2]> : tensor<2xi64>
// CHECK:         dfg.node "Reshape"{{.*}} -> tensor<6x2xf32>
// CHECK:         dfg.node "Relu"{{.*}} : (tensor<6x2xf32>) -> tensor<6x2xf32>
// CHECK:         dfg.join %{{.*}}, %{{.*}} : tensor<6x2xf32>, tensor<6x2xf32> -> tensor<12x2xf32>
dfg.graph @folded_rows(%x: tensor<4x3x2xf32>) -> tensor<12x2xf32> {
  %s = dfg.weight "s" dense<[12, 2]> : tensor<2xi64> : tensor<2xi64>
  %rows = dfg.node "Reshape"(%x, %s) opset 17 : (tensor<4x3x2xf32>, tensor<2xi64>) -> tensor<12x2xf32>
  %y = dfg.node "Relu"(%rows) opset 17 : (tensor<12x2xf32>) -> tensor<12x2xf32>
  dfg.output %y : tensor<12x2xf32>
}

// -----

/// A constant with one row per batch entry (a position embedding expanded over
/// the batch, then folded) is forked like an input: each slice adds its rows.

// CHECK-LABEL: dfg.graph @per_entry_constant
// CHECK:         %[[POS:.*]] = dfg.weight "pos"
// CHECK-NEXT:    %[[P0:.*]], %[[P1:.*]] = dfg.fork %[[POS]] : tensor<4x3xf32> -> tensor<2x3xf32>, tensor<2x3xf32>
// CHECK:         dfg.node "Add"(%{{.*}}, %[[P0]])
// CHECK:         dfg.node "Add"(%{{.*}}, %[[P1]])
dfg.graph @per_entry_constant(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %pos = dfg.weight "pos" dense<[[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]> : tensor<4x3xf32> : tensor<4x3xf32>
  %y = dfg.node "Add"(%x, %pos) opset 17 : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  dfg.output %y : tensor<4x3xf32>
}

// -----

/// A node's memory format and kernel (assign-layout, prepack-weights) hold for each of its
/// slices; its cost does not (estimate-cost runs again on the split graph).

// CHECK-LABEL: dfg.graph @annotated
// CHECK:         dfg.node "FusedConv"{{.*}}{domain = "com.microsoft", dfg.layout = "channels_last", dfg.kernel = "onednn"} : (tensor<1x3x8x8xf32>
// CHECK:         dfg.node "FusedConv"{{.*}}{domain = "com.microsoft", dfg.layout = "channels_last", dfg.kernel = "onednn"} : (tensor<1x3x8x8xf32>
// CHECK-NOT:     dfg.cost
// CHECK:         dfg.join
dfg.graph @annotated(%x: tensor<2x3x8x8xf32>) -> tensor<2x4x8x8xf32> {
  %w = dfg.weight "w" dense<0.5> : tensor<4x3x3x3xf32> : tensor<4x3x3x3xf32>
  %y = dfg.node "FusedConv"(%x, %w) {pads = array<i64: 1, 1, 1, 1>, activation = "Relu"} opset 1 {domain = "com.microsoft", dfg.layout = "channels_last", dfg.kernel = "onednn", dfg.cost = 5.0 : f64} : (tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x8x8xf32>
  dfg.output %y : tensor<2x4x8x8xf32>
}
