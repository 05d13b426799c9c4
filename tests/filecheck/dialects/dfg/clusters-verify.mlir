// RUN: ramiel-opt %s --split-input-file --verify-diagnostics | filecheck %s

/// Two lanes that each wait for the other before sending can deadlock.

// CHECK: the clusters can deadlock: a cycle of waits through channels 'a', 'b': recv 'b' (cluster 0) -> send 'a' (cluster 0) -> recv 'a' (cluster 1) -> send 'b' (cluster 1) -> recv 'b' (cluster 0) (each waits for the one before it)
dfg.graph @deadlock(%x: tensor<2xf32>) -> tensor<2xf32> {
  %r = dfg.cluster 0 -> tensor<2xf32> {
    %b = dfg.recv "b" : tensor<2xf32>
    dfg.send %b to "a" : tensor<2xf32>
    dfg.yield %b : tensor<2xf32>
  }
  dfg.cluster 1 {
    %a = dfg.recv "a" : tensor<2xf32>
    dfg.send %a to "b" : tensor<2xf32>
    dfg.yield
  }
  dfg.output %r : tensor<2xf32>
}

// -----

// CHECK: channel 'a' is received but never sent
dfg.graph @never_sent(%x: tensor<2xf32>) -> tensor<2xf32> {
  %r = dfg.cluster 0 -> tensor<2xf32> {
    %a = dfg.recv "a" : tensor<2xf32>
    dfg.yield %a : tensor<2xf32>
  }
  dfg.output %r : tensor<2xf32>
}

// -----

// CHECK: channel 'a' is sent twice
dfg.graph @sent_twice(%x: tensor<2xf32>) -> tensor<2xf32> {
  %r = dfg.cluster 0 -> tensor<2xf32> {
    dfg.send %x to "a" : tensor<2xf32>
    dfg.yield %x : tensor<2xf32>
  }
  dfg.cluster 1 {
    dfg.send %x to "a" : tensor<2xf32>
    dfg.yield
  }
  dfg.output %r : tensor<2xf32>
}

// -----

// CHECK: channel 'a' sends tensor<2xf32> but is received as tensor<3xf32>
dfg.graph @type_mismatch(%x: tensor<2xf32>) -> tensor<2xf32> {
  %r = dfg.cluster 0 -> tensor<2xf32> {
    dfg.send %x to "a" : tensor<2xf32>
    dfg.yield %x : tensor<2xf32>
  }
  dfg.cluster 1 {
    %a = dfg.recv "a" : tensor<3xf32>
    dfg.yield
  }
  dfg.output %r : tensor<2xf32>
}

// -----

// CHECK: channel 'a' is sent and received in the same cluster
dfg.graph @same_cluster(%x: tensor<2xf32>) -> tensor<2xf32> {
  %r = dfg.cluster 0 -> tensor<2xf32> {
    dfg.send %x to "a" : tensor<2xf32>
    %a = dfg.recv "a" : tensor<2xf32>
    dfg.yield %a : tensor<2xf32>
  }
  dfg.output %r : tensor<2xf32>
}

// -----

// CHECK: dfg.yield types [] do not match the cluster result types
dfg.graph @yield_mismatch(%x: tensor<2xf32>) -> tensor<2xf32> {
  %r = dfg.cluster 0 -> tensor<2xf32> {
    dfg.yield
  }
  dfg.output %r : tensor<2xf32>
}

// -----

/// A node's own thread count overrides its lane's, so the lane must have one.

// CHECK: 'Relu' has its own thread count, so it must be in a dfg.cluster planned with `threads`
dfg.graph @node_threads_in_unplanned_lane(%x: tensor<2xf32>) -> tensor<2xf32> {
  %r = dfg.cluster 0 -> tensor<2xf32> {
    %y = dfg.node "Relu"(%x) opset 17 {dfg.threads = 2 : i64} : (tensor<2xf32>) -> tensor<2xf32>
    dfg.yield %y : tensor<2xf32>
  }
  dfg.output %r : tensor<2xf32>
}

// -----

// CHECK: 'Relu' has dfg.threads 0; it must be at least 1
dfg.graph @zero_node_threads(%x: tensor<2xf32>) -> tensor<2xf32> {
  %r = dfg.cluster 0 threads 1 -> tensor<2xf32> {
    %y = dfg.node "Relu"(%x) opset 17 {dfg.threads = 0 : i64} : (tensor<2xf32>) -> tensor<2xf32>
    dfg.yield %y : tensor<2xf32>
  }
  dfg.output %r : tensor<2xf32>
}
