// RUN: env RAMIEL_CACHE_DIR=%t ramiel-opt %s --split-input-file -p fold-constants | filecheck %s
// RUN: env RAMIEL_CACHE_DIR=%t ramiel-opt %s --split-input-file --fold-constants=max-elements=4 | filecheck %s --check-prefix=CAP
// RUN: env RAMIEL_CACHE_DIR=%t ramiel-opt %s --split-input-file -p fold-constants,dce | filecheck %s --check-prefix=DCE
// RUN: ramiel-opt %s --split-input-file --fold-constants=blob-dir=%t/store | filecheck %s --check-prefix=STORE
// RUN: env RAMIEL_CACHE_DIR=%t ramiel-opt %s --split-input-file -p 'fold-constants{exact=true keep-constants=true}' | filecheck %s --check-prefix=EXACT

/// Shape arithmetic on a computed tensor folds to a constant shape for Reshape.

// CHECK-LABEL: dfg.graph @shape_chain
// CHECK-NOT:     dfg.node "Shape"
// CHECK-DAG:     %[[SHAPE:.*]] = dfg.weight "ci" dense<[6, -1]> : tensor<2xi64>
// CHECK:         dfg.node "Reshape"(%x, %[[SHAPE]])
// DCE-LABEL:   dfg.graph @shape_chain
// DCE-NEXT:      %[[SHAPE:.*]] = dfg.weight "ci" dense<[6, -1]>
// DCE-NEXT:      %{{.*}} = dfg.node "Reshape"(%x, %[[SHAPE]])
// DCE-NEXT:      dfg.output
dfg.graph @shape_chain(%x: tensor<2x3x4xf32>) -> tensor<6x4xf32> {
  %s = dfg.node "Shape"(%x) opset 17 : (tensor<2x3x4xf32>) -> tensor<3xi64>
  %i0 = dfg.weight "i0" dense<0> : tensor<i64> : tensor<i64>
  %d0 = dfg.node "Gather"(%s, %i0) {axis = 0 : i64} opset 17 : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %ax = dfg.weight "ax" dense<[0]> : tensor<1xi64> : tensor<1xi64>
  %u = dfg.node "Unsqueeze"(%d0, %ax) opset 17 : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %k = dfg.weight "k" dense<[3]> : tensor<1xi64> : tensor<1xi64>
  %m = dfg.node "Mul"(%u, %k) opset 17 : (tensor<1xi64>, tensor<1xi64>) -> tensor<1xi64>
  %m1 = dfg.weight "m1" dense<[-1]> : tensor<1xi64> : tensor<1xi64>
  %c = dfg.node "Concat"(%m, %m1) {axis = 0 : i64} opset 17 : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  %cf = dfg.node "Cast"(%c) {to = 1 : i64} opset 17 : (tensor<2xi64>) -> tensor<2xf32>
  %ci = dfg.node "Cast"(%cf) {to = 7 : i64} opset 17 : (tensor<2xf32>) -> tensor<2xi64>
  %r = dfg.node "Reshape"(%x, %ci) opset 17 : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<6x4xf32>
  dfg.output %r : tensor<6x4xf32>
}

// -----

/// Shape honours start/end; Size counts the elements of the static type.

// CHECK-LABEL: dfg.graph @shape_size
// CHECK-DAG:     %[[S:.*]] = dfg.weight "s" dense<[3, 4]> : tensor<2xi64>
// CHECK-DAG:     %[[N:.*]] = dfg.weight "n" dense<24> : tensor<i64>
// CHECK:         dfg.output %[[S]], %[[N]]
dfg.graph @shape_size(%x: tensor<2x3x4xf32>) -> (tensor<2xi64>, tensor<i64>) {
  %s = dfg.node "Shape"(%x) {start = 1 : i64, end = 3 : i64} opset 17 : (tensor<2x3x4xf32>) -> tensor<2xi64>
  %n = dfg.node "Size"(%x) opset 17 : (tensor<2x3x4xf32>) -> tensor<i64>
  dfg.output %s, %n : tensor<2xi64>, tensor<i64>
}

// -----

/// Every value_* attribute of Constant becomes a weight named after its output.

// CHECK-LABEL: dfg.graph @constants
// CHECK-DAG:     %[[T:.*]] = dfg.weight "t" dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-DAG:     %[[F:.*]] = dfg.weight "f" dense<5.000000e-01> : tensor<f32>
// CHECK-DAG:     %[[FS:.*]] = dfg.weight "fs" dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-DAG:     %[[I:.*]] = dfg.weight "i" dense<7> : tensor<i64>
// CHECK-DAG:     %[[IS:.*]] = dfg.weight "is" dense<[7, 8]> : tensor<2xi64>
// CHECK:         dfg.output %[[T]], %[[F]], %[[FS]], %[[I]], %[[IS]]
dfg.graph @constants() -> (tensor<2xf32>, tensor<f32>, tensor<2xf32>, tensor<i64>, tensor<2xi64>) {
  %t = dfg.node "Constant"() {value = dense<[1.0, 2.0]> : tensor<2xf32>} opset 17 : () -> tensor<2xf32>
  %f = dfg.node "Constant"() {value_float = 0.5 : f32} opset 17 : () -> tensor<f32>
  %fs = dfg.node "Constant"() {value_floats = array<f32: 1.0, 2.0>} opset 17 : () -> tensor<2xf32>
  %i = dfg.node "Constant"() {value_int = 7 : i64} opset 17 : () -> tensor<i64>
  %is = dfg.node "Constant"() {value_ints = array<i64: 7, 8>} opset 17 : () -> tensor<2xi64>
  dfg.output %t, %f, %fs, %i, %is : tensor<2xf32>, tensor<f32>, tensor<2xf32>, tensor<i64>, tensor<2xi64>
}

// -----

/// Identity forwards its operand, computed or not.

// CHECK-LABEL: dfg.graph @identity
// CHECK-NOT:     "Identity"
// CHECK:         %[[R:.*]] = dfg.node "Relu"(%x)
// CHECK-NEXT:    dfg.output %[[R]], %x
dfg.graph @identity(%x: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>) {
  %a = dfg.node "Identity"(%x) opset 17 : (tensor<3xf32>) -> tensor<3xf32>
  %r = dfg.node "Relu"(%a) opset 17 : (tensor<3xf32>) -> tensor<3xf32>
  %b = dfg.node "Identity"(%a) opset 17 : (tensor<3xf32>) -> tensor<3xf32>
  dfg.output %r, %b : tensor<3xf32>, tensor<3xf32>
}

// -----

/// Arithmetic on weights is evaluated with ONNX semantics (integer Div truncates).

// CHECK-LABEL: dfg.graph @arithmetic
// CHECK:         %[[Q:.*]] = dfg.weight "q" dense<[3, -3]> : tensor<2xi64>
// CHECK:         dfg.output %[[Q]]
dfg.graph @arithmetic() -> tensor<2xi64> {
  %a = dfg.weight "a" dense<[7, -7]> : tensor<2xi64> : tensor<2xi64>
  %b = dfg.weight "b" dense<2> : tensor<i64> : tensor<i64>
  %q = dfg.node "Div"(%a, %b) opset 17 : (tensor<2xi64>, tensor<i64>) -> tensor<2xi64>
  dfg.output %q : tensor<2xi64>
}

// -----

/// Attributes of every kind reach ONNX: ints, an empty ints list, a string, a float.
/// (The empty `axes` squeezes no dimension of size 1 here: on one, ONNX's shape
/// inference keeps it while its reference implementation removes it.)

// CHECK-LABEL: dfg.graph @attributes
// CHECK-DAG:     dfg.weight "t" dense<{{\[\[}}-1.000000e+00, 4.000000e+00], [2.000000e+00, -5.000000e+00], [-3.000000e+00, 6.000000e+00]]>
// CHECK-DAG:     dfg.weight "s" dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-DAG:     dfg.weight "p" dense<[1.000000e+00, 2.000000e+00, 1.000000e+00, 2.000000e+00, 1.000000e+00, 2.000000e+00]>
// CHECK-DAG:     dfg.weight "l" dense<{{\[\[}}-5.000000e-01, 2.000000e+00, -1.500000e+00], [4.000000e+00, -2.500000e+00, 6.000000e+00]]>
// CHECK-NOT:     dfg.node
dfg.graph @attributes() -> (tensor<3x2xf32>, tensor<6xf32>, tensor<2x3xf32>) {
  %w = dfg.weight "w" dense<[[-1.0, 2.0, -3.0], [4.0, -5.0, 6.0]]> : tensor<2x3xf32> : tensor<2x3xf32>
  %t = dfg.node "Transpose"(%w) {perm = array<i64: 1, 0>} opset 17 : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %row = dfg.weight "row" dense<[1.0, 2.0]> : tensor<2xf32> : tensor<2xf32>
  %s = dfg.node "Squeeze"(%row) {axes = array<i64>} opset 11 : (tensor<2xf32>) -> tensor<2xf32>
  %pads = dfg.weight "pads" dense<[2, 2]> : tensor<2xi64> : tensor<2xi64>
  %p = dfg.node "Pad"(%s, %pads) {mode = "reflect"} opset 17 : (tensor<2xf32>, tensor<2xi64>) -> tensor<6xf32>
  %l = dfg.node "LeakyRelu"(%w) {alpha = 0.5 : f32} opset 16 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  dfg.output %t, %p, %l : tensor<3x2xf32>, tensor<6xf32>, tensor<2x3xf32>
}

// -----

/// Each result of a multi-result node becomes its own weight; an unused `none`
/// result (Dropout's mask) needs none.

// CHECK-LABEL: dfg.graph @multi_result
// CHECK-DAG:     %[[A:.*]] = dfg.weight "a" dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-DAG:     %[[B:.*]] = dfg.weight "b" dense<[3.000000e+00, 4.000000e+00]> : tensor<2xf32>
// CHECK-DAG:     %[[D:.*]] = dfg.weight "d" dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]>
// CHECK:         dfg.output %[[A]], %[[B]], %[[D]]
dfg.graph @multi_result() -> (tensor<2xf32>, tensor<2xf32>, tensor<4xf32>) {
  %w = dfg.weight "w" dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32> : tensor<4xf32>
  %a, %b = dfg.node "Split"(%w) {axis = 0 : i64, num_outputs = 2 : i64} opset 18 : (tensor<4xf32>) -> (tensor<2xf32>, tensor<2xf32>)
  %d, %mask = dfg.node "Dropout"(%w) opset 17 : (tensor<4xf32>) -> (tensor<4xf32>, none)
  dfg.output %a, %b, %d : tensor<2xf32>, tensor<2xf32>, tensor<4xf32>
}

// -----

/// A result above the inline limit goes to the blob store, never into the IR;
/// with max-elements=4 it is not computed at all.

// CHECK-LABEL: dfg.graph @large_result
// CHECK:         dfg.weight "big" from "{{.*}}.npy" : tensor<5x5xf32>
// STORE-LABEL: dfg.graph @large_result
// STORE:         dfg.weight "big" from "{{.*}}/store/{{[0-9a-f]+}}.npy" : tensor<5x5xf32>
// CAP-LABEL:   dfg.graph @large_result
// CAP:           dfg.node "ConstantOfShape"
dfg.graph @large_result() -> tensor<5x5xf32> {
  %sh = dfg.weight "sh" dense<[5, 5]> : tensor<2xi64> : tensor<2xi64>
  %big = dfg.node "ConstantOfShape"(%sh) {value = dense<1.5> : tensor<1xf32>} opset 17 : (tensor<2xi64>) -> tensor<5x5xf32>
  dfg.output %big : tensor<5x5xf32>
}

// -----

/// Random nodes and Dropout in training mode must not fold, even on constants.

// CHECK-LABEL: dfg.graph @random
// CHECK:         dfg.node "RandomNormal"
// CHECK:         dfg.node "RandomUniformLike"
// CHECK:         dfg.node "Dropout"
// CHECK-SAME:      (tensor<4xf32>, tensor<f32>, tensor<i1>)
dfg.graph @random() -> (tensor<2xf32>, tensor<4xf32>, tensor<4xf32>) {
  %r = dfg.node "RandomNormal"() {shape = array<i64: 2>} opset 17 : () -> tensor<2xf32>
  %w = dfg.weight "w" dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32> : tensor<4xf32>
  %u = dfg.node "RandomUniformLike"(%w) opset 17 : (tensor<4xf32>) -> tensor<4xf32>
  %ratio = dfg.weight "ratio" dense<0.5> : tensor<f32> : tensor<f32>
  %train = dfg.weight "train" dense<true> : tensor<i1> : tensor<i1>
  %d = dfg.node "Dropout"(%w, %ratio, %train) opset 17 : (tensor<4xf32>, tensor<f32>, tensor<i1>) -> tensor<4xf32>
  dfg.output %r, %u, %d : tensor<2xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

/// A node with a computed (non-shape) input is left alone.

// CHECK-LABEL: dfg.graph @computed
// CHECK:         dfg.node "Add"(%x, %{{.*}})
dfg.graph @computed(%x: tensor<2xf32>) -> tensor<2xf32> {
  %w = dfg.weight "w" dense<[1.0, 2.0]> : tensor<2xf32> : tensor<2xf32>
  %y = dfg.node "Add"(%x, %w) opset 17 : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  dfg.output %y : tensor<2xf32>
}

// -----

/// exact folds integer arithmetic but leaves float math to the generated code;
/// keep-constants leaves the Constant node in place and still reads its value.
/// Without them, everything folds.

// EXACT-LABEL: dfg.graph @exact
// EXACT-DAG:     dfg.node "Constant"() {value = dense<[2, 3]> : tensor<2xi64>}
// EXACT-DAG:     %[[SUM:.*]] = dfg.weight "sum" dense<[3, 4]> : tensor<2xi64>
// EXACT-DAG:     %[[P:.*]] = dfg.node "Mul"
// EXACT:         dfg.output %[[SUM]], %[[P]]
// CHECK-LABEL: dfg.graph @exact
// CHECK-NOT:     dfg.node
// CHECK:         dfg.output
dfg.graph @exact() -> (tensor<2xi64>, tensor<f32>) {
  %c = dfg.node "Constant"() {value = dense<[2, 3]> : tensor<2xi64>} opset 17 : () -> tensor<2xi64>
  %one = dfg.weight "one" dense<1> : tensor<i64> : tensor<i64>
  %sum = dfg.node "Add"(%c, %one) opset 17 : (tensor<2xi64>, tensor<i64>) -> tensor<2xi64>
  %h = dfg.weight "h" dense<0.5> : tensor<f32> : tensor<f32>
  %two = dfg.weight "two" dense<2.0> : tensor<f32> : tensor<f32>
  %p = dfg.node "Mul"(%h, %two) opset 17 : (tensor<f32>, tensor<f32>) -> tensor<f32>
  dfg.output %sum, %p : tensor<2xi64>, tensor<f32>
}

// -----

/// An If whose condition folds to a constant (here from a static shape) is the
/// branch it takes: its ops move before the If, reading the captured values.

// CHECK-LABEL: dfg.graph @constant_if
// CHECK-NOT:     dfg.if
// CHECK:         %[[NEG:.*]] = dfg.node "Neg"(%x)
// CHECK-NOT:     dfg.if
// CHECK:         dfg.output %[[NEG]]
// EXACT-LABEL: dfg.graph @constant_if
// EXACT-NOT:     dfg.if
// EXACT:         dfg.output
dfg.graph @constant_if(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %size = dfg.node "Size"(%x) opset 21 : (tensor<2x3xf32>) -> tensor<i64>
  %six = dfg.weight "six" dense<6> : tensor<i64> : tensor<i64>
  %c = dfg.node "Equal"(%size, %six) opset 21 : (tensor<i64>, tensor<i64>) -> tensor<i1>
  %y = dfg.if %c captures(%x : tensor<2x3xf32>) opset 21 : tensor<i1> -> (tensor<2x3xf32>) {
  ^bb0(%a: tensor<2x3xf32>):
    %n = dfg.node "Neg"(%a) opset 21 : (tensor<2x3xf32>) -> tensor<2x3xf32>
    dfg.if_yield %n : tensor<2x3xf32>
  } else {
  ^bb0(%b: tensor<2x3xf32>):
    %m = dfg.node "Abs"(%b) opset 21 : (tensor<2x3xf32>) -> tensor<2x3xf32>
    dfg.if_yield %m : tensor<2x3xf32>
  }
  dfg.output %y : tensor<2x3xf32>
}

// -----

/// A false constant takes the else branch; a condition computed from data stays an If.

// CHECK-LABEL: dfg.graph @false_and_computed_if
// CHECK:         %[[ABS:.*]] = dfg.node "Abs"(%x)
// CHECK:         dfg.if %d captures(%[[ABS]] : tensor<2xf32>)
dfg.graph @false_and_computed_if(%x: tensor<2xf32>, %d: tensor<i1>) -> tensor<2xf32> {
  %c = dfg.weight "no" dense<false> : tensor<i1> : tensor<i1>
  %y = dfg.if %c captures(%x : tensor<2xf32>) opset 21 : tensor<i1> -> (tensor<2xf32>) {
  ^bb0(%a: tensor<2xf32>):
    dfg.if_yield %a : tensor<2xf32>
  } else {
  ^bb0(%b: tensor<2xf32>):
    %m = dfg.node "Abs"(%b) opset 21 : (tensor<2xf32>) -> tensor<2xf32>
    dfg.if_yield %m : tensor<2xf32>
  }
  %z = dfg.if %d captures(%y : tensor<2xf32>) opset 21 : tensor<i1> -> (tensor<2xf32>) {
  ^bb0(%a: tensor<2xf32>):
    dfg.if_yield %a : tensor<2xf32>
  } else {
  ^bb0(%b: tensor<2xf32>):
    %m = dfg.node "Neg"(%b) opset 21 : (tensor<2xf32>) -> tensor<2xf32>
    dfg.if_yield %m : tensor<2xf32>
  }
  dfg.output %z : tensor<2xf32>
}
