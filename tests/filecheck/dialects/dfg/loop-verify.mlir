// RUN: ramiel-opt %s --split-input-file --verify-diagnostics | filecheck %s

/// The body must take the iteration number, the condition, the carried values
/// and the captures.

// CHECK: dfg.loop 'l': the body takes 3 arguments, expected 4 (iteration number, condition, 1 carried, 1 captured)
dfg.graph @arity(%x: tensor<f32>, %n: tensor<i64>) -> tensor<f32> {
  %none = dfg.none : none
  %f = dfg.loop(%n, %none) carried(%x : tensor<f32>) captures(%x : tensor<f32>) opset 21 : tensor<i64>, none -> (tensor<f32>) {
  ^bb0(%i: tensor<i64>, %c: tensor<i1>, %v: tensor<f32>):
    dfg.loop_yield %c, %v : tensor<i1>, tensor<f32>
  } loc("l")
  dfg.output %f : tensor<f32>
}

// -----

/// A carried value keeps its type and shape from one iteration to the next.

// CHECK: dfg.loop 'grow': carried value #0 enters the body as tensor<2xf32> but is yielded as tensor<4xf32>: a carried value must keep its type and shape
dfg.graph @grow(%x: tensor<2xf32>, %n: tensor<i64>) -> tensor<2xf32> {
  %none = dfg.none : none
  %f = dfg.loop(%n, %none) carried(%x : tensor<2xf32>) opset 21 : tensor<i64>, none -> (tensor<2xf32>) {
  ^bb0(%i: tensor<i64>, %c: tensor<i1>, %v: tensor<2xf32>):
    %w = dfg.node "Concat"(%v, %v) {axis = 0 : i64} opset 21 : (tensor<2xf32>, tensor<2xf32>) -> tensor<4xf32>
    dfg.loop_yield %c, %w : tensor<i1>, tensor<4xf32>
  } loc("grow")
  dfg.output %f : tensor<2xf32>
}

// -----

/// The body yields the condition, the carried values and one value per scan output.

// CHECK: dfg.loop 'short': the body yields 1 values, expected 2 (condition, 0 carried, 1 scanned)
dfg.graph @short(%x: tensor<f32>, %n: tensor<i64>) -> tensor<3xf32> {
  %none = dfg.none : none
  %s = dfg.loop(%n, %none) opset 21 : tensor<i64>, none -> (tensor<3xf32>) {
  ^bb0(%i: tensor<i64>, %c: tensor<i1>):
    dfg.loop_yield %c : tensor<i1>
  } loc("short")
  dfg.output %s : tensor<3xf32>
}

// -----

/// A scan output stacks the yielded values along a new axis 0.

// CHECK: dfg.loop 'scan': scan output #0 has type tensor<3x2xf32>, which does not stack the yielded tensor<f32> along a new axis 0
dfg.graph @scan(%x: tensor<f32>, %n: tensor<i64>) -> tensor<3x2xf32> {
  %none = dfg.none : none
  %s = dfg.loop(%n, %none) captures(%x : tensor<f32>) opset 21 : tensor<i64>, none -> (tensor<3x2xf32>) {
  ^bb0(%i: tensor<i64>, %c: tensor<i1>, %v: tensor<f32>):
    dfg.loop_yield %c, %v : tensor<i1>, tensor<f32>
  } loc("scan")
  dfg.output %s : tensor<3x2xf32>
}

// -----

/// The trip count is an i64 scalar.

// CHECK: dfg.loop 'count': the trip count must be a one-element tensor of i64 (or none), got tensor<f32>
dfg.graph @count(%x: tensor<f32>) -> tensor<f32> {
  %none = dfg.none : none
  %f = dfg.loop(%x, %none) carried(%x : tensor<f32>) opset 21 : tensor<f32>, none -> (tensor<f32>) {
  ^bb0(%i: tensor<i64>, %c: tensor<i1>, %v: tensor<f32>):
    dfg.loop_yield %c, %v : tensor<i1>, tensor<f32>
  } loc("count")
  dfg.output %f : tensor<f32>
}
