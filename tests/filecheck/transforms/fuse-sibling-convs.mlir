// RUN: ramiel-opt %s --split-input-file -p fuse-sibling-convs | filecheck %s
// RUN: ramiel-opt %s --split-input-file -p fuse-sibling-convs,dce -t python | filecheck %s --check-prefix=PY

/// Three 1x1 convolutions of one input (an Inception block's reductions) become one whose
/// weight stacks theirs along the output channels, and a Split hands each reader its part.
/// A missing bias counts as zeros; the readers keep their values' names.

// CHECK-LABEL: dfg.graph @inception_reductions
// CHECK:         %[[W:.*]] = dfg.weight "a_siblings_weight" dense<{{.*}}> : tensor<6x2x1x1xf32>
// CHECK-NEXT:    %[[B:.*]] = dfg.weight "a_siblings_bias" dense<[1.000000e+00, 1.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 3.000000e+00]> : tensor<6xf32>
// CHECK-NEXT:    %[[F:.*]] = dfg.node "FusedConv"(%x, %[[W]], %[[B]]) {kernel_shape = array<i64: 1, 1>, activation = "Relu"} opset 1 {domain = "com.microsoft"} : (tensor<1x2x3x3xf32>, tensor<6x2x1x1xf32>, tensor<6xf32>) -> tensor<1x6x3x3xf32> loc("a+b+c")
// CHECK-NEXT:    %a, %b, %c = dfg.node "Split"(%[[F]]) {axis = 1 : i64, split = array<i64: 2, 3, 1>} opset 11 : (tensor<1x6x3x3xf32>) -> (tensor<1x2x3x3xf32>, tensor<1x3x3x3xf32>, tensor<1x1x3x3xf32>) loc("a+b+c/split")
// CHECK-NOT:     "FusedConv"
// CHECK:         dfg.output %a, %b, %c
// PY:            torch.split({{.*}}, [2, 3, 1], dim=1)
dfg.graph @inception_reductions(%x: tensor<1x2x3x3xf32>) -> (tensor<1x2x3x3xf32>, tensor<1x3x3x3xf32>, tensor<1x1x3x3xf32>) {
  %wa = dfg.weight "wa" dense<0.5> : tensor<2x2x1x1xf32> : tensor<2x2x1x1xf32>
  %ba = dfg.weight "ba" dense<1.0> : tensor<2xf32> : tensor<2xf32>
  %wb = dfg.weight "wb" dense<0.25> : tensor<3x2x1x1xf32> : tensor<3x2x1x1xf32>
  %wc = dfg.weight "wc" dense<-0.5> : tensor<1x2x1x1xf32> : tensor<1x2x1x1xf32>
  %bc = dfg.weight "bc" dense<3.0> : tensor<1xf32> : tensor<1xf32>
  %a = dfg.node "FusedConv"(%x, %wa, %ba) {kernel_shape = array<i64: 1, 1>, activation = "Relu"} opset 1 {domain = "com.microsoft"} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32> loc("a")
  %b = dfg.node "FusedConv"(%x, %wb) {kernel_shape = array<i64: 1, 1>, activation = "Relu"} opset 1 {domain = "com.microsoft"} : (tensor<1x2x3x3xf32>, tensor<3x2x1x1xf32>) -> tensor<1x3x3x3xf32> loc("b")
  %c = dfg.node "FusedConv"(%x, %wc, %bc) {kernel_shape = array<i64: 1, 1>, activation = "Relu"} opset 1 {domain = "com.microsoft"} : (tensor<1x2x3x3xf32>, tensor<1x2x1x1xf32>, tensor<1xf32>) -> tensor<1x1x3x3xf32> loc("c")
  dfg.output %a, %b, %c : tensor<1x2x3x3xf32>, tensor<1x3x3x3xf32>, tensor<1x1x3x3xf32>
}

// -----

/// Nothing fuses across different windows, activations, groups or computed weights; two
/// 3x3 convolutions with the same pads do, apart from the 1x1 one beside them.

// CHECK-LABEL: dfg.graph @mixed
// CHECK:         dfg.node "Conv"(%x, %{{.*}}, %{{.*}}) {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>} opset 17 : (tensor<1x2x3x3xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x3x3xf32> loc("p+q")
// CHECK-NEXT:    %p, %q = dfg.node "Split"
// CHECK:         %one = dfg.node "Conv"(%x, %w1)
// CHECK:         %relu = dfg.node "FusedConv"(%x, %w1)
// CHECK:         %grouped = dfg.node "Conv"(%x, %wg)
// CHECK:         %computed = dfg.node "Conv"(%x, %neg)
dfg.graph @mixed(%x: tensor<1x2x3x3xf32>) -> (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) {
  %w3 = dfg.weight "w3" dense<0.5> : tensor<2x2x3x3xf32> : tensor<2x2x3x3xf32>
  %w1 = dfg.weight "w1" dense<0.5> : tensor<2x2x1x1xf32> : tensor<2x2x1x1xf32>
  %wg = dfg.weight "wg" dense<0.5> : tensor<2x1x1x1xf32> : tensor<2x1x1x1xf32>
  %p = dfg.node "Conv"(%x, %w3) {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>} opset 17 : (tensor<1x2x3x3xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x3x3xf32> loc("p")
  %one = dfg.node "Conv"(%x, %w1) {kernel_shape = array<i64: 1, 1>} opset 17 : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32> loc("one")
  %q = dfg.node "Conv"(%x, %w3) {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>} opset 17 : (tensor<1x2x3x3xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x3x3xf32> loc("q")
  %relu = dfg.node "FusedConv"(%x, %w1) {kernel_shape = array<i64: 1, 1>, activation = "Relu"} opset 1 {domain = "com.microsoft"} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32> loc("relu")
  %grouped = dfg.node "Conv"(%x, %wg) {group = 2 : i64, kernel_shape = array<i64: 1, 1>} opset 17 : (tensor<1x2x3x3xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x3x3xf32> loc("grouped")
  %neg = dfg.node "Neg"(%w1) opset 13 : (tensor<2x2x1x1xf32>) -> tensor<2x2x1x1xf32>
  %computed = dfg.node "Conv"(%x, %neg) {kernel_shape = array<i64: 1, 1>} opset 17 : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32> loc("computed")
  dfg.output %p, %q, %one, %relu, %grouped, %computed : tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>
}

// -----

/// Siblings inside a cluster stay apart: new weights belong at the graph's top level.

// CHECK-LABEL: dfg.graph @clustered
// CHECK:         dfg.cluster 0
// CHECK-NEXT:      dfg.node "Conv"(%x, %w)
// CHECK-NEXT:      dfg.node "Conv"(%x, %w)
// CHECK-NOT:     "Split"
dfg.graph @clustered(%x: tensor<1x2x3x3xf32>) -> (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) {
  %w = dfg.weight "w" dense<0.5> : tensor<2x2x1x1xf32> : tensor<2x2x1x1xf32>
  %a, %b = dfg.cluster 0 threads 1 -> tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32> {
    %c = dfg.node "Conv"(%x, %w) {kernel_shape = array<i64: 1, 1>} opset 17 : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
    %d = dfg.node "Conv"(%x, %w) {kernel_shape = array<i64: 1, 1>} opset 17 : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
    dfg.yield %c, %d : tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>
  }
  dfg.output %a, %b : tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>
}
