// RUN: ramiel-opt %s --split-input-file | filecheck %s
// RUN: ramiel-opt %s --split-input-file | ramiel-opt --split-input-file | filecheck %s
// RUN: ramiel-opt %s --split-input-file -p 'parallelize{lanes=2 machine=default}' | filecheck %s --check-prefix=PAR
// RUN: ramiel-opt %s --split-input-file -t python | filecheck %s --check-prefix=PY

/// An If on a scalar input: both branches read the captured outer values as block
/// arguments, and each yields the If's results.

// CHECK-LABEL: dfg.graph @switch
// CHECK:         %[[R:.*]] = dfg.if %c captures(%x, %w : tensor<2xf32>, tensor<2xf32>) opset 21 : tensor<i1> -> (tensor<2xf32>) {
// CHECK-NEXT:    ^{{.*}}(%a: tensor<2xf32>, %wa: tensor<2xf32>):
// CHECK-NEXT:      %[[M:.*]] = dfg.node "Mul"(%a, %wa)
// CHECK-NEXT:      dfg.if_yield %[[M]] : tensor<2xf32>
// CHECK-NEXT:    } else {
// CHECK-NEXT:    ^{{.*}}(%b: tensor<2xf32>, %wb: tensor<2xf32>):
// CHECK-NEXT:      dfg.if_yield %b : tensor<2xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    dfg.node "Neg"(%[[R]])

/// Passes see the If as one node: it gets a cost (its dearer branch) and lands in
/// a cluster whole, its branches untouched.

// PAR:       dfg.cluster 0
// PAR:         dfg.if %c {{.*}} attributes {dfg.cost = {{.*}}}
// PAR-NEXT:    ^{{.*}}(%a: tensor<2xf32>, %wa: tensor<2xf32>):
// PAR-NEXT:      dfg.node "Mul"(%a, %wa)
// PAR-NOT:       dfg.cost
// PAR:           dfg.if_yield
// PAR:         } else {

/// The python target prints an if/else that binds the result in both branches.

// PY:      # choose (If)
// PY-NEXT: if c:
// PY-NEXT:     # scaled (Mul)
// PY-NEXT:     scaled = torch.mul(x, self.w)
// PY-NEXT:     y = scaled
// PY-NEXT: else:
// PY-NEXT:     y = x
// PY-NEXT: # out (Neg)
// PY-NEXT: out = torch.neg(y)

dfg.graph @switch(%c: tensor<i1>, %x: tensor<2xf32>) -> tensor<2xf32> {
  %w = dfg.weight "w" dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %y = dfg.if %c captures(%x, %w : tensor<2xf32>, tensor<2xf32>) opset 21 : tensor<i1> -> (tensor<2xf32>) {
  ^bb0(%a: tensor<2xf32>, %wa: tensor<2xf32>):
    %scaled = dfg.node "Mul"(%a, %wa) opset 21 : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32> loc("scaled")
    dfg.if_yield %scaled : tensor<2xf32>
  } else {
  ^bb0(%b: tensor<2xf32>, %wb: tensor<2xf32>):
    dfg.if_yield %b : tensor<2xf32>
  } loc("choose")
  %out = dfg.node "Neg"(%y) opset 21 : (tensor<2xf32>) -> tensor<2xf32> loc("out")
  dfg.output %out : tensor<2xf32>
}

// -----

/// An If nested in a Loop body, without captures: its branches take no arguments.

// CHECK-LABEL: dfg.graph @nested
// CHECK:         dfg.loop
// CHECK:           %{{.*}} = dfg.if %{{.*}} captures(%prev : tensor<f32>) opset 21 : tensor<i1> -> (tensor<f32>) {
// CHECK:             dfg.if_yield
// CHECK:           } else {
// CHECK:             dfg.if_yield
// CHECK:           }
// CHECK:           dfg.loop_yield

// PY:      for i in range(3):
// PY:          # pick (If)
// PY-NEXT:     if c:
// PY-NEXT:         # doubled (Add)
// PY-NEXT:         doubled = torch.add(prev, prev)
// PY-NEXT:         next_ = doubled
// PY-NEXT:     else:
// PY-NEXT:         next_ = prev

dfg.graph @nested(%start: tensor<f32>, %c0: tensor<i1>) -> tensor<f32> {
  %n = dfg.weight "n" dense<3> : tensor<i64> : tensor<i64>
  %f = dfg.loop(%n, %c0) carried(%start : tensor<f32>) opset 21 : tensor<i64>, tensor<i1> -> (tensor<f32>) {
  ^bb0(%i: tensor<i64>, %c: tensor<i1>, %prev: tensor<f32>):
    %next = dfg.if %c captures(%prev : tensor<f32>) opset 21 : tensor<i1> -> (tensor<f32>) {
    ^bb1(%p: tensor<f32>):
      %doubled = dfg.node "Add"(%p, %p) opset 21 : (tensor<f32>, tensor<f32>) -> tensor<f32> loc("doubled")
      dfg.if_yield %doubled : tensor<f32>
    } else {
    ^bb2(%p: tensor<f32>):
      dfg.if_yield %p : tensor<f32>
    } loc("pick")
    dfg.loop_yield %c, %next : tensor<i1>, tensor<f32>
  } loc("loop")
  dfg.output %f : tensor<f32>
}
