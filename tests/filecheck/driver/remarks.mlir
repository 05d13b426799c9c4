// RUN: ramiel-opt %s --split-input-file --remarks -p 'linear-cluster{edge-cost=5.0},merge-clusters{lanes=2 edge-cost=5.0},clone{threshold=5.0},dce' 2>&1 >/dev/null | filecheck %s --check-prefix=LANES
// RUN: ramiel-opt %s --split-input-file -pass-remarks -p 'merge-clusters{lanes=2 min-gain=0.9}' 2>&1 >/dev/null | filecheck %s --check-prefix=ONE
// RUN: ramiel-opt %s --split-input-file --remarks -p 'assign-layout{mode=channels-last}' 2>&1 >/dev/null | filecheck %s --check-prefix=LAYOUT
// RUN: ramiel-opt %s --split-input-file -p 'linear-cluster{edge-cost=5.0},merge-clusters{lanes=2 edge-cost=5.0},clone{threshold=5.0},dce' 2>&1 >/dev/null | filecheck %s --check-prefix=QUIET --allow-empty

/// --remarks (or -pass-remarks) prints one line per decision on stderr, located at
/// the ONNX node (`loc("name")`) or the graph (`@name`) it is about. Without it,
/// passes say nothing.

// QUIET-NOT: remark

/// merge-clusters says why it chose lanes, with both estimates; clone says why it
/// recomputed a node in a lane.

// LANES: ramiel-opt: remark: @shared: merge-clusters: 2 lanes, estimated 0.{{[0-9]+}} ms (serial 0.{{[0-9]+}} ms): one lane on 2 intra-op threads would take 0.{{[0-9]+}} ms, and lanes save more than min-gain 0.1 of it
// LANES: ramiel-opt: remark: loc("stem/neg"): clone: node 'stem/neg' (Neg) recomputed in lane 1 instead of received: it costs 1 us, at most the threshold 5 us (a hand-over between lanes)

/// A min-gain the lanes cannot reach keeps one lane; the remark has both estimates.

// ONE: ramiel-opt: remark: @shared: merge-clusters: one lane on 2 intra-op threads, estimated 0.{{[0-9]+}} ms (serial 0.{{[0-9]+}} ms): 2 lanes would take 0.{{[0-9]+}} ms, which does not save min-gain 0.9 of the one-lane estimate

// LAYOUT: ramiel-opt: remark: loc("left/sigmoid"): assign-layout: region of 3 nodes from left/sigmoid runs channels-last: mode=channels-last

dfg.graph @shared(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %t = dfg.node "Neg"(%x) opset 17 {dfg.cost = 1.0 : f64} : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> loc("stem/neg")
  %b = dfg.node "Sigmoid"(%t) opset 17 {dfg.cost = 100.0 : f64} : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> loc("left/sigmoid")
  %c = dfg.node "Tanh"(%t) opset 17 {dfg.cost = 100.0 : f64} : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> loc("right/tanh")
  %d = dfg.node "Add"(%b, %c) opset 17 {dfg.cost = 1.0 : f64} : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> loc("join")
  dfg.output %d : tensor<1x2x4x4xf32>
}
