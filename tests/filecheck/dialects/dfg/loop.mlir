// RUN: ramiel-opt %s --split-input-file | filecheck %s
// RUN: ramiel-opt %s --split-input-file | ramiel-opt --split-input-file | filecheck %s
// RUN: ramiel-opt %s --split-input-file -p parallelize{lanes=2} | filecheck %s --check-prefix=PAR
// RUN: ramiel-opt %s --split-input-file -t python | filecheck %s --check-prefix=PY

/// A Range-like loop: a run-time trip count, a carried value, a captured outer
/// value and a scan output whose static length (2) the model declares.

// CHECK-LABEL: dfg.graph @range
// CHECK:         %{{.*}}, %[[S:.*]] = dfg.loop(%n, %{{.*}}) carried(%start : tensor<f32>) captures(%delta : tensor<f32>) opset 21 : tensor<i64>, none -> (tensor<f32>, tensor<2xf32>) {
// CHECK-NEXT:    ^{{.*}}(%i: tensor<i64>, %c: tensor<i1>, %prev: tensor<f32>, %d: tensor<f32>):
// CHECK-NEXT:      %[[CUR:.*]] = dfg.node "Add"(%prev, %d)
// CHECK-NEXT:      dfg.loop_yield %c, %[[CUR]], %prev : tensor<i1>, tensor<f32>, tensor<f32>
// CHECK:         dfg.output %[[S]]

/// Passes see the loop as one node: it gets a cost and lands in a cluster whole.

// PAR:       dfg.cluster 0
// PAR:         dfg.loop({{.*}}) {{.*}} attributes {dfg.cost = {{.*}}}
// PAR-NEXT:    ^{{.*}}(%i: tensor<i64>, %c: tensor<i1>, %prev: tensor<f32>, %d: tensor<f32>):
// PAR-NEXT:      dfg.node "Add"(%prev, %d)
// PAR-NEXT:      dfg.loop_yield

/// The python target prints a for loop and stacks the scan values after it.

// PY:      prev = start
// PY-NEXT: output_items = []
// PY-NEXT: for i in range(int(n)):
// PY-NEXT:     # cur (Add)
// PY-NEXT:     cur = torch.add(prev, delta)
// PY-NEXT:     output_items.append(prev)
// PY-NEXT:     prev = cur
// PY-NEXT: del prev
// PY-NEXT: output = _scan_output(output_items, (2,), torch.float32, "range_loop")

dfg.graph @range(%start: tensor<f32>, %delta: tensor<f32>, %n: tensor<i64>) -> tensor<2xf32> {
  %none = dfg.none : none
  %f, %output = dfg.loop(%n, %none) carried(%start : tensor<f32>) captures(%delta : tensor<f32>) opset 21 : tensor<i64>, none -> (tensor<f32>, tensor<2xf32>) {
  ^bb0(%i: tensor<i64>, %c: tensor<i1>, %prev: tensor<f32>, %d: tensor<f32>):
    %cur = dfg.node "Add"(%prev, %d) opset 21 : (tensor<f32>, tensor<f32>) -> tensor<f32> loc("cur")
    dfg.loop_yield %c, %cur, %prev : tensor<i1>, tensor<f32>, tensor<f32>
  } loc("range_loop")
  dfg.output %output : tensor<2xf32>
}
