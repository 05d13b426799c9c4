// RUN: env RAMIEL_CACHE_DIR=%t ramiel-opt %s --split-input-file -p 'prepack-weights{machine=default}' | filecheck %s
// RUN: env RAMIEL_CACHE_DIR=%t ramiel-opt %s --split-input-file -p 'prepack-weights{machine=default}' -t python | filecheck %s --check-prefix=PY
// RUN: env RAMIEL_CACHE_DIR=%t ramiel-opt %s --split-input-file -p 'prepack-weights{machine=default}' --remarks 2>&1 >/dev/null | filecheck %s --check-prefix=REMARK
// RUN: not ramiel-opt %s --prepack-weights=machine=%t/missing.json 2>&1 | filecheck %s --check-prefix=BAD

/// A convolution PyTorch would run on oneDNN anyway (a 7x7 kernel) gets packed weights;
/// a tiny 1x1 convolution, where oneDNN's call overhead costs more than it saves, does not.
/// A FusedConv's ReLU becomes oneDNN's post-op.

// CHECK-LABEL: dfg.graph @convs
// CHECK:         dfg.node "FusedConv"{{.*}}{domain = "com.microsoft", dfg.kernel = "onednn"}
// CHECK:         dfg.node "Conv"
// CHECK-NOT:     dfg.kernel
// CHECK:         dfg.output
// PY:            def _onednn_conv(
// PY:                return torch.ops.mkldnn._convolution_pointwise.default(
// PY-NEXT:               x, weight, bias, padding, stride, dilation, groups, post_op, scalars, None
// PY-NEXT:           )
// PY:            self.register_buffer("w7", torch.empty((8, 3, 7, 7), dtype=torch.float32))
// PY:            self._pack_weights()
// PY-NEXT:       self.register_load_state_dict_post_hook(_pack_after_load)
// PY:            # big (FusedConv)
// PY-NEXT:       y = _onednn_conv(
// PY-NEXT:           x,
// PY-NEXT:           self.w7_packed,
// PY-NEXT:           self.b7,
// PY-NEXT:           padding=(3, 3),
// PY-NEXT:           stride=(2, 2),
// PY-NEXT:           dilation=(1, 1),
// PY-NEXT:           groups=1,
// PY-NEXT:           post_op="relu",
// PY-NEXT:       )
// PY:            # small (Conv)
// PY-NEXT:       z = F.conv2d(y, self.w1)
// PY:            def _pack_weights(self) -> None:
// PY:                self.w7_packed = torch.ops.mkldnn._reorder_convolution_weight(
// PY-NEXT:               self.w7,
// PY-NEXT:               padding=[3, 3],
// PY-NEXT:               stride=[2, 2],
// PY-NEXT:               dilation=[1, 1],
// PY-NEXT:               groups=1,
// PY-NEXT:               input_size=[1, 3, 32, 32],
// PY-NEXT:           )
dfg.graph @convs(%x: tensor<1x3x32x32xf32>) -> tensor<1x2x16x16xf32> {
  %w7 = dfg.weight "w7" dense<0.01> : tensor<8x3x7x7xf32> : tensor<8x3x7x7xf32>
  %b7 = dfg.weight "b7" dense<0.5> : tensor<8xf32> : tensor<8xf32>
  %w1 = dfg.weight "w1" dense<0.5> : tensor<2x8x1x1xf32> : tensor<2x8x1x1xf32>
  %y = dfg.node "FusedConv"(%x, %w7, %b7) {kernel_shape = array<i64: 7, 7>, pads = array<i64: 3, 3, 3, 3>, strides = array<i64: 2, 2>, activation = "Relu"} opset 1 {domain = "com.microsoft"} : (tensor<1x3x32x32xf32>, tensor<8x3x7x7xf32>, tensor<8xf32>) -> tensor<1x8x16x16xf32> loc("big")
  %z = dfg.node "Conv"(%y, %w1) opset 17 : (tensor<1x8x16x16xf32>, tensor<2x8x1x1xf32>) -> tensor<1x2x16x16xf32> loc("small")
  dfg.output %z : tensor<1x2x16x16xf32>
}

// -----

/// A 1x1 convolution of channels-last images runs as oneDNN's matrix product over the
/// pixels: the NHWC view of the input is a (pixels, channels) matrix, the weight is
/// packed for that many rows, and permuting the product back gives channels-last.
/// A contiguous one of the same size stays on F.conv2d: oneDNN's convolution would
/// write its result channels-last, and converting that back to the contiguous graph
/// output costs more than the packed kernel saves.

// CHECK-LABEL: dfg.graph @pixels
// CHECK:         dfg.node "FusedConv"{{.*}}{domain = "com.microsoft", dfg.layout = "channels_last", dfg.kernel = "onednn_linear"}
// CHECK:         dfg.node "Conv"(%x, %w) opset 17 : {{.*}} loc("plain")
// PY:            # pixels (FusedConv)
// PY-NEXT:       x_cl = x.contiguous(memory_format=torch.channels_last)
// PY-NEXT:       nhwc = _onednn_linear(x_cl.permute(0, 2, 3, 1), self.w_packed, self.b, post_op="relu")
// PY-NEXT:       del x_cl
// PY-NEXT:       y = nhwc.permute(0, 3, 1, 2)
// PY:            # plain (Conv)
// PY-NEXT:       z = F.conv2d(x, self.w)
// PY:                self.w_packed = torch.ops.mkldnn._reorder_linear_weight(self.w.flatten(1), batch_size=3136)
// PY-NOT:            _reorder_convolution_weight
dfg.graph @pixels(%x: tensor<1x32x56x56xf32>) -> (tensor<1x64x56x56xf32>, tensor<1x64x56x56xf32>) {
  %w = dfg.weight "w" dense<0.01> : tensor<64x32x1x1xf32> : tensor<64x32x1x1xf32>
  %b = dfg.weight "b" dense<0.5> : tensor<64xf32> : tensor<64xf32>
  %y = dfg.node "FusedConv"(%x, %w, %b) {kernel_shape = array<i64: 1, 1>, activation = "Relu"} opset 1 {domain = "com.microsoft", dfg.layout = "channels_last"} : (tensor<1x32x56x56xf32>, tensor<64x32x1x1xf32>, tensor<64xf32>) -> tensor<1x64x56x56xf32> loc("pixels")
  %z = dfg.node "Conv"(%x, %w) opset 17 : (tensor<1x32x56x56xf32>, tensor<64x32x1x1xf32>) -> tensor<1x64x56x56xf32> loc("plain")
  dfg.output %y, %z : tensor<1x64x56x56xf32>, tensor<1x64x56x56xf32>
}

// -----

/// Not candidates: a computed weight, and asymmetric pads.

// CHECK-LABEL: dfg.graph @not_packed
// CHECK-NOT:     dfg.kernel
dfg.graph @not_packed(%x: tensor<1x3x32x32xf32>, %w: tensor<8x3x7x7xf32>) -> (tensor<1x8x26x26xf32>, tensor<1x8x27x27xf32>) {
  %v = dfg.weight "v" dense<0.01> : tensor<8x3x7x7xf32> : tensor<8x3x7x7xf32>
  %a = dfg.node "Conv"(%x, %w) opset 17 : (tensor<1x3x32x32xf32>, tensor<8x3x7x7xf32>) -> tensor<1x8x26x26xf32>
  %b = dfg.node "Conv"(%x, %v) {pads = array<i64: 1, 1, 0, 0>} opset 17 : (tensor<1x3x32x32xf32>, tensor<8x3x7x7xf32>) -> tensor<1x8x27x27xf32>
  dfg.output %a, %b : tensor<1x8x26x26xf32>, tensor<1x8x27x27xf32>
}

// REMARK: remark: loc("big"): prepack-weights: oneDNN convolution with packed weights (F.conv2d would run oneDNN and reorder the weight on every call; estimated {{.*}} us against {{.*}} us for F.conv2d)
// REMARK: remark: loc("small"): prepack-weights: F.conv2d (estimated {{.*}} us against {{.*}} us for the next kernel)
// REMARK: remark: loc("pixels"): prepack-weights: oneDNN matrix product with packed weights (faster; estimated {{.*}} us against {{.*}} us for F.conv2d)

// BAD: cannot read machine model {{.*}}missing.json

// -----

/// PyTorch's pick depends on the thread count: a 1x1 convolution of a 64x28x28 image
/// runs on F.conv2d's matrix-product path on one thread, but on two `F.conv2d` runs
/// oneDNN and reorders the weight on every call. Planned on two threads (its lane's),
/// it gets packed weights; planned on one (its own `dfg.threads`), it keeps F.conv2d.

// CHECK-LABEL: dfg.graph @planned_threads
// CHECK:         dfg.cluster 0 threads 2
// CHECK-NEXT:      %y = dfg.node "Conv"(%x, %w) opset 17 {dfg.kernel = "onednn"} : (
// CHECK-NEXT:      %z = dfg.node "Conv"(%x, %w) opset 17 {dfg.threads = 1 : i64} : (
// PY:            # lane (Conv)
// PY-NEXT:       y = _onednn_conv(
// PY:            # own (Conv)
// PY-NEXT:       torch.set_num_threads(1)
// PY-NEXT:       z = F.conv2d(x, self.w)
// REMARK:        prepack-weights: oneDNN convolution with packed weights (F.conv2d would run oneDNN and reorder the weight on every call;
dfg.graph @planned_threads(%x: tensor<1x64x28x28xf32>) -> (tensor<1x16x28x28xf32>, tensor<1x16x28x28xf32>) {
  %w = dfg.weight "w" dense<0.1> : tensor<16x64x1x1xf32> : tensor<16x64x1x1xf32>
  %a, %b = dfg.cluster 0 threads 2 -> tensor<1x16x28x28xf32>, tensor<1x16x28x28xf32> {
    %y = dfg.node "Conv"(%x, %w) opset 17 : (tensor<1x64x28x28xf32>, tensor<16x64x1x1xf32>) -> tensor<1x16x28x28xf32> loc("lane")
    %z = dfg.node "Conv"(%x, %w) opset 17 {dfg.threads = 1 : i64} : (tensor<1x64x28x28xf32>, tensor<16x64x1x1xf32>) -> tensor<1x16x28x28xf32> loc("own")
    dfg.yield %y, %z : tensor<1x16x28x28xf32>, tensor<1x16x28x28xf32>
  }
  dfg.output %a, %b : tensor<1x16x28x28xf32>, tensor<1x16x28x28xf32>
}

// -----

/// oneDNN picks a packed weight's blocked format by the intra-op thread count (a weight
/// packed for another count ran 1.5x to 30x slower), so `_pack_weights` packs each
/// weight on the count its node is planned on, twice when nodes on two counts read it,
/// and gives the caller back its own count at the end.

// CHECK-LABEL: dfg.graph @pack_threads
// PY:            # one (Conv)
// PY-NEXT:       y = _onednn_conv(
// PY-NEXT:           x,
// PY-NEXT:           self.w_packed,
// PY:            # two (Conv)
// PY-NEXT:       torch.set_num_threads(2)
// PY-NEXT:       z = _onednn_conv(
// PY-NEXT:           x,
// PY-NEXT:           self.w_packed_1,
// PY:          def _pack_weights(self) -> None:
// PY:              caller_threads = torch.get_num_threads()
// PY-NEXT:         # oneDNN picks a weight's blocked format by the intra-op thread count: each is packed for its node's
// PY-NEXT:         torch.set_num_threads(1)
// PY-NEXT:         self.w_packed = torch.ops.mkldnn._reorder_convolution_weight(
// PY:              torch.set_num_threads(2)
// PY-NEXT:         self.w_packed_1 = torch.ops.mkldnn._reorder_convolution_weight(
// PY:              torch.set_num_threads(caller_threads)
dfg.graph @pack_threads(%x: tensor<1x3x32x32xf32>) -> (tensor<1x8x32x32xf32>, tensor<1x8x32x32xf32>) {
  %w = dfg.weight "w" dense<0.1> : tensor<8x3x7x7xf32> : tensor<8x3x7x7xf32>
  %a, %b = dfg.cluster 0 threads 1 -> tensor<1x8x32x32xf32>, tensor<1x8x32x32xf32> {
    %y = dfg.node "Conv"(%x, %w) {pads = array<i64: 3, 3, 3, 3>} opset 17 : (tensor<1x3x32x32xf32>, tensor<8x3x7x7xf32>) -> tensor<1x8x32x32xf32> loc("one")
    %z = dfg.node "Conv"(%x, %w) {pads = array<i64: 3, 3, 3, 3>} opset 17 {dfg.threads = 2 : i64} : (tensor<1x3x32x32xf32>, tensor<8x3x7x7xf32>) -> tensor<1x8x32x32xf32> loc("two")
    dfg.yield %y, %z : tensor<1x8x32x32xf32>, tensor<1x8x32x32xf32>
  }
  dfg.output %a, %b : tensor<1x8x32x32xf32>, tensor<1x8x32x32xf32>
}

// -----

/// A Gemm planned on two threads with a weight of 1.25 MiB or more runs as oneDNN's
/// matrix product with the weight packed once (transposed first when B is stored
/// (in, out)); a smaller weight, a one-thread plan or an alpha other than 1 keep the
/// plain code.

// CHECK-LABEL: dfg.graph @gemms
// CHECK:         %big = dfg.node "Gemm"(%x, %w, %b) {transB = 1 : i64} opset 13 {dfg.kernel = "onednn_linear"}
// CHECK-NEXT:    %stored_in_out = dfg.node "Gemm"(%x, %wt) opset 13 {dfg.kernel = "onednn_linear"}
// CHECK-NEXT:    %small = dfg.node "Gemm"(%x, %ws) {transB = 1 : i64} opset 13 :
// CHECK-NEXT:    %one = dfg.node "Gemm"(%x, %w, %b) {transB = 1 : i64} opset 13 {dfg.threads = 1 : i64} :
// CHECK-NEXT:    %scaled = dfg.node "Gemm"(%x, %w, %b) {transB = 1 : i64, alpha = 2.000000e+00 : f32} opset 13 :
// PY:            big = _onednn_linear(x, self.w_packed, self.b)
// PY-NEXT:       # stored_in_out (Gemm)
// PY-NEXT:       stored_in_out = _onednn_linear(x, self.wt_packed, None)
// PY-NEXT:       # small (Gemm)
// PY:            small = torch.matmul(x, v)
// PY:            one = F.linear(x, self.w, self.b)
// PY:            self.w_packed = torch.ops.mkldnn._reorder_linear_weight(self.w.flatten(1), batch_size=1)
// PY-NEXT:       self.wt_packed = torch.ops.mkldnn._reorder_linear_weight(self.wt.t(), batch_size=1)
// REMARK:        loc("big"): prepack-weights: oneDNN matrix product with packed weights (a 4.88 MiB weight, planned on 2 threads)
// REMARK-NEXT:   loc("stored_in_out"): prepack-weights: oneDNN matrix product with packed weights (a 4.88 MiB weight, planned on 2 threads)
// REMARK-NOT:    Gemm
dfg.graph @gemms(%x: tensor<1x1280xf32>) -> (tensor<1x1000xf32>, tensor<1x1000xf32>, tensor<1x100xf32>, tensor<1x1000xf32>, tensor<1x1000xf32>) {
  %w = dfg.weight "w" dense<0.01> : tensor<1000x1280xf32> : tensor<1000x1280xf32>
  %wt = dfg.weight "wt" dense<0.01> : tensor<1280x1000xf32> : tensor<1280x1000xf32>
  %ws = dfg.weight "ws" dense<0.01> : tensor<100x1280xf32> : tensor<100x1280xf32>
  %b = dfg.weight "b" dense<0.5> : tensor<1000xf32> : tensor<1000xf32>
  %r:5 = dfg.cluster 0 threads 2 -> tensor<1x1000xf32>, tensor<1x1000xf32>, tensor<1x100xf32>, tensor<1x1000xf32>, tensor<1x1000xf32> {
    %big = dfg.node "Gemm"(%x, %w, %b) {transB = 1 : i64} opset 13 : (tensor<1x1280xf32>, tensor<1000x1280xf32>, tensor<1000xf32>) -> tensor<1x1000xf32> loc("big")
    %stored_in_out = dfg.node "Gemm"(%x, %wt) opset 13 : (tensor<1x1280xf32>, tensor<1280x1000xf32>) -> tensor<1x1000xf32> loc("stored_in_out")
    %small = dfg.node "Gemm"(%x, %ws) {transB = 1 : i64} opset 13 : (tensor<1x1280xf32>, tensor<100x1280xf32>) -> tensor<1x100xf32> loc("small")
    %one = dfg.node "Gemm"(%x, %w, %b) {transB = 1 : i64} opset 13 {dfg.threads = 1 : i64} : (tensor<1x1280xf32>, tensor<1000x1280xf32>, tensor<1000xf32>) -> tensor<1x1000xf32> loc("one")
    %scaled = dfg.node "Gemm"(%x, %w, %b) {transB = 1 : i64, alpha = 2.0 : f32} opset 13 : (tensor<1x1280xf32>, tensor<1000x1280xf32>, tensor<1000xf32>) -> tensor<1x1000xf32> loc("scaled")
    dfg.yield %big, %stored_in_out, %small, %one, %scaled : tensor<1x1000xf32>, tensor<1x1000xf32>, tensor<1x100xf32>, tensor<1x1000xf32>, tensor<1x1000xf32>
  }
  dfg.output %r#0, %r#1, %r#2, %r#3, %r#4 : tensor<1x1000xf32>, tensor<1x1000xf32>, tensor<1x100xf32>, tensor<1x1000xf32>, tensor<1x1000xf32>
}

// -----

/// A small 1x1 convolution of channels-last images planned on two threads (where
/// F.conv2d would run oneDNN) runs as F.linear over the pixels: MKL's call costs a few
/// microseconds where oneDNN's costs 13 to 40, and nothing is packed. The activation
/// runs in place on the product. With one SIMD vector of output channels (16 on the
/// default machine's AVX-512) MKL's product is slow, and oneDNN's runs it.

// CHECK-LABEL: dfg.graph @mkl_linear
// CHECK:         dfg.node "FusedConv"{{.*}}dfg.kernel = "linear"
// CHECK:         dfg.node "Conv"{{.*}}dfg.kernel = "onednn_linear"
// PY:            # wide (FusedConv)
// PY-NEXT:       x_cl = x.contiguous(memory_format=torch.channels_last)
// PY-NEXT:       nhwc = F.linear(x_cl.permute(0, 2, 3, 1), self.w.flatten(1), self.b)
// PY-NEXT:       nhwc.relu_()
// PY-NEXT:       y = nhwc.permute(0, 3, 1, 2)
// PY:            # narrow (Conv)
// PY-NEXT:       nhwc_1 = _onednn_linear(x_cl.permute(0, 2, 3, 1), self.v_packed, None)
// PY:            def _pack_weights(self) -> None:
// PY-NOT:            self.w_packed
// PY:                self.v_packed = torch.ops.mkldnn._reorder_linear_weight(self.v.flatten(1), batch_size=784)
// PY-NEXT:           torch.set_num_threads(caller_threads)
// REMARK:        loc("wide"): prepack-weights: F.linear over the pixels (F.conv2d would run oneDNN and reorder the weight on every call;
// REMARK:        loc("narrow"): prepack-weights: oneDNN matrix product with packed weights (F.conv2d would run oneDNN
dfg.graph @mkl_linear(%x: tensor<1x32x28x28xf32>) -> (tensor<1x32x28x28xf32>, tensor<1x16x28x28xf32>) {
  %w = dfg.weight "w" dense<0.1> : tensor<32x32x1x1xf32> : tensor<32x32x1x1xf32>
  %b = dfg.weight "b" dense<0.5> : tensor<32xf32> : tensor<32xf32>
  %v = dfg.weight "v" dense<0.1> : tensor<16x32x1x1xf32> : tensor<16x32x1x1xf32>
  %a, %c = dfg.cluster 0 threads 2 -> tensor<1x32x28x28xf32>, tensor<1x16x28x28xf32> {
    %y = dfg.node "FusedConv"(%x, %w, %b) {kernel_shape = array<i64: 1, 1>, activation = "Relu"} opset 1 {domain = "com.microsoft", dfg.layout = "channels_last"} : (tensor<1x32x28x28xf32>, tensor<32x32x1x1xf32>, tensor<32xf32>) -> tensor<1x32x28x28xf32> loc("wide")
    %z = dfg.node "Conv"(%x, %v) opset 17 {dfg.layout = "channels_last"} : (tensor<1x32x28x28xf32>, tensor<16x32x1x1xf32>) -> tensor<1x16x28x28xf32> loc("narrow")
    dfg.yield %y, %z : tensor<1x32x28x28xf32>, tensor<1x16x28x28xf32>
  }
  dfg.output %a, %c : tensor<1x32x28x28xf32>, tensor<1x16x28x28xf32>
}
