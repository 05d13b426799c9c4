// RUN: ramiel-opt %s --split-input-file | ramiel-opt --split-input-file | filecheck %s
// RUN: ramiel-opt %s --split-input-file --print-op-generic | ramiel-opt --split-input-file | filecheck %s

/// A batch forked into two slices, each slice computed, the parts joined:
/// the custom and generic forms round-trip.

// CHECK-LABEL: dfg.graph @halves
// CHECK:         %[[A:.*]], %[[B:.*]] = dfg.fork %{{.*}} : tensor<4x3xf32> -> tensor<2x3xf32>, tensor<2x3xf32>
// CHECK:         %[[RA:.*]] = dfg.node "Relu"(%[[A]])
// CHECK:         %[[RB:.*]] = dfg.node "Relu"(%[[B]])
// CHECK:         %[[J:.*]] = dfg.join %[[RA]], %[[RB]] : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<4x3xf32>
// CHECK:         dfg.output %[[J]] : tensor<4x3xf32>
dfg.graph @halves(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %a, %b = dfg.fork %x : tensor<4x3xf32> -> tensor<2x3xf32>, tensor<2x3xf32>
  %ra = dfg.node "Relu"(%a) opset 17 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %rb = dfg.node "Relu"(%b) opset 17 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %y = dfg.join %ra, %rb : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<4x3xf32>
  dfg.output %y : tensor<4x3xf32>
}

// -----

/// Uneven slices: a batch of 5 in three parts.

// CHECK-LABEL: dfg.graph @uneven
// CHECK:         dfg.fork %{{.*}} : tensor<5xi64> -> tensor<2xi64>, tensor<2xi64>, tensor<1xi64>
// CHECK:         dfg.join %{{.*}}, %{{.*}}, %{{.*}} : tensor<2xi64>, tensor<2xi64>, tensor<1xi64> -> tensor<5xi64>
dfg.graph @uneven(%x: tensor<5xi64>) -> tensor<5xi64> {
  %a, %b, %c = dfg.fork %x : tensor<5xi64> -> tensor<2xi64>, tensor<2xi64>, tensor<1xi64>
  %y = dfg.join %a, %b, %c : tensor<2xi64>, tensor<2xi64>, tensor<1xi64> -> tensor<5xi64>
  dfg.output %y : tensor<5xi64>
}
