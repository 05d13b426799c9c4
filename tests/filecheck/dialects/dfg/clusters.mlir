// RUN: ramiel-opt %s | ramiel-opt | filecheck %s
// RUN: ramiel-opt %s --print-op-generic | ramiel-opt | filecheck %s

/// Clusters, channels and yields round-trip through the custom and generic forms.

// CHECK-LABEL: dfg.graph @lanes
// CHECK:         %[[R:.*]] = dfg.cluster 0 threads 1 -> tensor<2xf32> {
// CHECK-NEXT:      %[[A:.*]] = dfg.node "Relu"
// CHECK-NEXT:      dfg.send %[[A]] to "a" : tensor<2xf32>
// CHECK-NEXT:      %[[B:.*]] = dfg.recv "b" : tensor<2xf32>
// CHECK-NEXT:      dfg.yield %[[B]] : tensor<2xf32>
// CHECK:         dfg.cluster 1 {
// CHECK:           dfg.yield
// CHECK:         dfg.output %[[R]] : tensor<2xf32>
dfg.graph @lanes(%x: tensor<2xf32>) -> tensor<2xf32> {
  %r = dfg.cluster 0 threads 1 -> tensor<2xf32> {
    %a = dfg.node "Relu"(%x) opset 17 : (tensor<2xf32>) -> tensor<2xf32>
    dfg.send %a to "a" : tensor<2xf32>
    %c = dfg.recv "b" : tensor<2xf32>
    dfg.yield %c : tensor<2xf32>
  }
  dfg.cluster 1 {
    %a = dfg.recv "a" : tensor<2xf32>
    %b = dfg.node "Neg"(%a) opset 17 : (tensor<2xf32>) -> tensor<2xf32>
    dfg.send %b to "b" : tensor<2xf32>
    dfg.yield
  }
  dfg.output %r : tensor<2xf32>
}
