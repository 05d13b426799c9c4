// RUN: ramiel-opt %s --split-input-file -p canonicalize | filecheck %s

/// canonicalize erases dead dfg nodes and weights.

// CHECK-LABEL: dfg.graph @dead
// CHECK-NEXT:    %[[Y:.*]] = dfg.node "Relu"(%x)
// CHECK-NEXT:    dfg.output %[[Y]]
dfg.graph @dead(%x: tensor<2xf32>) -> tensor<2xf32> {
  %w = dfg.weight "w" dense<[1.0, 2.0]> : tensor<2xf32> : tensor<2xf32>
  %y = dfg.node "Relu"(%x) opset 17 : (tensor<2xf32>) -> tensor<2xf32>
  %a = dfg.node "Add"(%y, %w) opset 17 : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  dfg.output %y : tensor<2xf32>
}

// -----

/// Live nodes, a random one included, are kept in order; nothing is folded.

// CHECK-LABEL: dfg.graph @live
// CHECK-NEXT:    %[[S:.*]] = dfg.node "Shape"(%x)
// CHECK-NEXT:    %[[R:.*]] = dfg.node "RandomNormalLike"(%x)
// CHECK-NEXT:    dfg.output %[[S]], %[[R]]
dfg.graph @live(%x: tensor<2xf32>) -> (tensor<1xi64>, tensor<2xf32>) {
  %s = dfg.node "Shape"(%x) opset 17 : (tensor<2xf32>) -> tensor<1xi64>
  %r = dfg.node "RandomNormalLike"(%x) opset 17 : (tensor<2xf32>) -> tensor<2xf32>
  dfg.output %s, %r : tensor<1xi64>, tensor<2xf32>
}

// -----

/// A send no lane receives is erased; a received one stays.

// CHECK-LABEL: dfg.graph @unread_send
// CHECK:         dfg.cluster 0
// CHECK-NOT:       dfg.send %{{.*}} to "unread"
// CHECK:           dfg.send %{{.*}} to "read"
dfg.graph @unread_send(%x: tensor<4xf32>) -> tensor<4xf32> {
  %r = dfg.cluster 0 -> tensor<4xf32> {
    %t = dfg.node "Neg"(%x) opset 17 : (tensor<4xf32>) -> tensor<4xf32>
    dfg.send %t to "unread" : tensor<4xf32>
    dfg.send %t to "read" : tensor<4xf32>
    dfg.yield %t : tensor<4xf32>
  }
  dfg.cluster 1 {
    %t = dfg.recv "read" : tensor<4xf32>
    dfg.yield
  }
  dfg.output %r : tensor<4xf32>
}

// -----

/// canonicalize needs no costs: on a clustered graph without them it keeps the
/// channels (recomputing a cheap value instead of receiving it is `clone`'s job).

// CHECK-LABEL: dfg.graph @clustered_without_costs
// CHECK:         dfg.cluster 0
// CHECK:           dfg.send %{{.*}} to "t"
// CHECK:         dfg.cluster 1
// CHECK-NEXT:      %[[T:.*]] = dfg.recv "t"
// CHECK-NEXT:      dfg.node "Exp"(%[[T]])
dfg.graph @clustered_without_costs(%x: tensor<4xf32>) -> tensor<4xf32> {
  %r = dfg.cluster 0 -> tensor<4xf32> {
    %t = dfg.node "Neg"(%x) opset 17 : (tensor<4xf32>) -> tensor<4xf32>
    dfg.send %t to "t" : tensor<4xf32>
    %s = dfg.recv "s" : tensor<4xf32>
    dfg.yield %s : tensor<4xf32>
  }
  dfg.cluster 1 {
    %t = dfg.recv "t" : tensor<4xf32>
    %s = dfg.node "Exp"(%t) opset 17 : (tensor<4xf32>) -> tensor<4xf32>
    dfg.send %s to "s" : tensor<4xf32>
    dfg.yield
  }
  dfg.output %r : tensor<4xf32>
}
