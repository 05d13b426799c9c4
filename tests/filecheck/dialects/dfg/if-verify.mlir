// RUN: ramiel-opt %s --split-input-file --verify-diagnostics | filecheck %s

/// The condition is one boolean.

// CHECK: dfg.if 'f': the condition must be a one-element tensor of i1, got tensor<2xi1>
dfg.graph @condition(%c: tensor<2xi1>, %x: tensor<f32>) -> tensor<f32> {
  %y = dfg.if %c captures(%x : tensor<f32>) opset 21 : tensor<2xi1> -> (tensor<f32>) {
  ^bb0(%a: tensor<f32>):
    dfg.if_yield %a : tensor<f32>
  } else {
  ^bb0(%b: tensor<f32>):
    dfg.if_yield %b : tensor<f32>
  } loc("f")
  dfg.output %y : tensor<f32>
}

// -----

/// Each branch takes one argument per capture, of the capture's type.

// CHECK: dfg.if 'g': the else branch takes [], but the captures are [tensor<f32>]
dfg.graph @arity(%c: tensor<i1>, %x: tensor<f32>) -> tensor<f32> {
  %y = dfg.if %c captures(%x : tensor<f32>) opset 21 : tensor<i1> -> (tensor<f32>) {
  ^bb0(%a: tensor<f32>):
    dfg.if_yield %a : tensor<f32>
  } else {
    %z = dfg.weight "z" dense<0.0> : tensor<f32> : tensor<f32>
    dfg.if_yield %z : tensor<f32>
  } loc("g")
  dfg.output %y : tensor<f32>
}

// -----

/// Both branches yield values of the If's result types.

// CHECK: dfg.if 'h': the then branch yields [tensor<2xf32>], but the results are [tensor<f32>]
dfg.graph @yield_type(%c: tensor<i1>, %x: tensor<f32>, %v: tensor<2xf32>) -> tensor<f32> {
  %y = dfg.if %c captures(%x, %v : tensor<f32>, tensor<2xf32>) opset 21 : tensor<i1> -> (tensor<f32>) {
  ^bb0(%a: tensor<f32>, %av: tensor<2xf32>):
    dfg.if_yield %av : tensor<2xf32>
  } else {
  ^bb0(%b: tensor<f32>, %bv: tensor<2xf32>):
    dfg.if_yield %b : tensor<f32>
  } loc("h")
  dfg.output %y : tensor<f32>
}

// -----

/// A branch ends with dfg.if_yield, not another terminator.

// CHECK: 'dfg.loop_yield' expects parent op 'dfg.loop'
dfg.graph @terminator(%c: tensor<i1>, %x: tensor<f32>) -> tensor<f32> {
  %y = dfg.if %c captures(%x : tensor<f32>) opset 21 : tensor<i1> -> (tensor<f32>) {
  ^bb0(%a: tensor<f32>):
    dfg.loop_yield %c, %a : tensor<i1>, tensor<f32>
  } else {
  ^bb0(%b: tensor<f32>):
    dfg.if_yield %b : tensor<f32>
  } loc("t")
  dfg.output %y : tensor<f32>
}
