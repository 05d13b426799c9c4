// RUN: ramiel-opt %s --split-input-file -p 'assign-layout{mode=channels-last}' | filecheck %s
// RUN: ramiel-opt %s --split-input-file -p 'assign-layout{mode=contiguous}' | filecheck %s --check-prefix=NCHW
// RUN: ramiel-opt %s --split-input-file -p 'assign-layout{mode=channels-last}' -t python | filecheck %s --check-prefix=PY
// RUN: ramiel-opt %s --split-input-file -p 'assign-layout{mode=channels-last}' -t dot | filecheck %s --check-prefix=DOT
// RUN: not ramiel-opt %s -p 'assign-layout{mode=nhwc}' 2>&1 | filecheck %s --check-prefix=BAD
// RUN: ramiel-opt %s --split-input-file -p 'assign-layout{machine=default}' --remarks 2>&1 | filecheck %s --check-prefix=AUTO

// BAD: ramiel-opt: error: assign-layout: mode must be one of auto, contiguous, channels-last, got 'nhwc'

/// A Conv -> Add -> Relu -> MaxPool region runs channels-last; the Flatten after it
/// (not an image op) stays contiguous. The input is converted once on entry although
/// two nodes of the region read it, the region's result once on exit; the Conv weight
/// is declared channels-last.

// CHECK-LABEL: dfg.graph @region
// CHECK:         dfg.node "Conv"({{.*}}) {{.*}}opset 17 {dfg.layout = "channels_last"}
// CHECK:         dfg.node "Add"({{.*}}) opset 17 {dfg.layout = "channels_last"}
// CHECK:         dfg.node "Relu"({{.*}}) opset 17 {dfg.layout = "channels_last"}
// CHECK:         dfg.node "MaxPool"({{.*}}) {{.*}}opset 17 {dfg.layout = "channels_last"}
// CHECK:         dfg.node "Flatten"({{.*}}) opset 17 :
// NCHW-LABEL:  dfg.graph @region
// NCHW-NOT:      dfg.layout
// PY:            self.register_buffer("w", torch.empty((2, 2, 1, 1), dtype=torch.float32, memory_format=torch.channels_last))
// PY:            [[X:[a-z_0-9]+]] = x.contiguous(memory_format=torch.channels_last)
// PY-NEXT:       [[C:[a-z_0-9]+]] = F.conv2d([[X]], self.w)
// PY-NOT:        contiguous
// PY:            [[C]].add_([[X]])
// PY-NOT:        contiguous
// PY:            [[P:[a-z_0-9]+]] = F.max_pool2d(
// PY:            [[Y:[a-z_0-9]+]] = [[P]].contiguous()
// PY-NEXT:       del [[P]]
// PY-NEXT:       [[Y]].reshape([1, 8])
// DOT:           Conv\nchannels_last
dfg.graph @region(%x: tensor<1x2x4x4xf32>) -> tensor<1x8xf32> {
  %w = dfg.weight "w" dense<1.0> : tensor<2x2x1x1xf32> : tensor<2x2x1x1xf32>
  %c = dfg.node "Conv"(%x, %w) {kernel_shape = array<i64: 1, 1>} opset 17 : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %a = dfg.node "Add"(%x, %c) opset 17 : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %r = dfg.node "Relu"(%a) opset 17 : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %p = dfg.node "MaxPool"(%r) {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} opset 17 : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32>
  %f = dfg.node "Flatten"(%p) opset 17 : (tensor<1x2x2x2xf32>) -> tensor<1x8xf32>
  dfg.output %f : tensor<1x8xf32>
}

// -----

/// Two regions, split by an Exp (not a candidate: no channels-last figure): each
/// converts on entry and on exit; the graph output leaves contiguous. The Exp runs in
/// place on the converted copy of a value nothing else reads.

// CHECK-LABEL: dfg.graph @two_regions
// CHECK:         dfg.node "Relu"({{.*}}) opset 17 {dfg.layout = "channels_last"}
// CHECK:         dfg.node "Exp"({{.*}}) opset 17 :
// CHECK:         dfg.node "Relu"({{.*}}) opset 17 {dfg.layout = "channels_last"}
// PY:            x.contiguous(memory_format=torch.channels_last)
// PY:            r_nchw = r.contiguous()
// PY-NEXT:       del r
// PY-NEXT:       l = r_nchw.exp_()
// PY:            .contiguous(memory_format=torch.channels_last)
// PY:            [[R:[a-z_0-9]+]] = torch.relu(
// PY:            [[O:[a-z_0-9]+]] = [[R]].contiguous()
// PY:            return [[O]]
dfg.graph @two_regions(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %r = dfg.node "Relu"(%x) opset 17 : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %l = dfg.node "Exp"(%r) opset 17 : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %s = dfg.node "Relu"(%l) opset 17 : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  dfg.output %s : tensor<1x2x4x4xf32>
}

// -----

/// Concat along the channel axis is in a region; along another axis it is not.

// CHECK-LABEL: dfg.graph @concat_axes
// CHECK:         dfg.node "Concat"({{.*}}) {axis = 1 : i64} opset 17 {dfg.layout = "channels_last"}
// CHECK:         dfg.node "Concat"({{.*}}) {axis = 2 : i64} opset 17 :
dfg.graph @concat_axes(%x: tensor<1x2x4x4xf32>) -> (tensor<1x4x4x4xf32>, tensor<1x2x8x4xf32>) {
  %c = dfg.node "Concat"(%x, %x) {axis = 1 : i64} opset 17 : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x4x4x4xf32>
  %d = dfg.node "Concat"(%x, %x) {axis = 2 : i64} opset 17 : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x8x4xf32>
  dfg.output %c, %d : tensor<1x4x4x4xf32>, tensor<1x2x8x4xf32>
}

// -----

/// A Split along the channels hands out views in the region's format: it is a member of
/// the region, and its parts need no conversion before the next channels-last node.

// CHECK-LABEL: dfg.graph @channel_split
// CHECK:         dfg.node "Split"({{.*}}) {axis = 1 : i64, split = array<i64: 1, 1>} opset 11 {dfg.layout = "channels_last"}
// PY:            torch.split(
// PY-NOT:        contiguous(memory_format
// PY:            torch.relu(
dfg.graph @channel_split(%x: tensor<1x2x4x4xf32>) -> tensor<1x1x4x4xf32> {
  %r = dfg.node "Relu"(%x) opset 17 : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %a, %b = dfg.node "Split"(%r) {axis = 1 : i64, split = array<i64: 1, 1>} opset 11 : (tensor<1x2x4x4xf32>) -> (tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>)
  %s = dfg.node "Relu"(%a) opset 17 : (tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  %t = dfg.node "Add"(%s, %b) opset 14 : (tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  dfg.output %t : tensor<1x1x4x4xf32>
}

// -----

/// A channel shuffle (ShuffleNet): the Reshape that splits the channels and the one
/// that merges them back are in the regions on either side, so the channels-last
/// images are not converted. The split is a view; the merge writes the shuffled image
/// channels-last in its one copy. A Reshape that splits a spatial axis is not a member.

// CHECK-LABEL: dfg.graph @channel_shuffle
// CHECK:         dfg.node "Reshape"({{.*}}) opset 17 {dfg.layout = "channels_last"} : (tensor<1x4x2x2xf32>, tensor<5xi64>) -> tensor<1x2x2x2x2xf32>
// CHECK:         dfg.node "Transpose"({{.*}}) {perm = array<i64: 0, 2, 1, 3, 4>} opset 17 :
// CHECK:         dfg.node "Reshape"({{.*}}) opset 17 {dfg.layout = "channels_last"} : (tensor<1x2x2x2x2xf32>, tensor<4xi64>) -> tensor<1x4x2x2xf32>
// CHECK:         dfg.node "Reshape"({{.*}}) opset 17 : (tensor<1x4x2x2xf32>, tensor<5xi64>) -> tensor<1x4x2x1x2xf32>
// NCHW-LABEL:  dfg.graph @channel_shuffle
// NCHW-NOT:      dfg.layout
// PY:            _check_input("x", x, (1, 4, 2, 2), torch.float32)
// PY:            [[R:[a-z_0-9]+]] = torch.relu(
// PY-NOT:        contiguous
// PY:            [[G:[a-z_0-9]+]] = [[R]].reshape([1, 2, 2, 2, 2])
// PY:            [[T:[a-z_0-9]+]] = [[G]].permute([0, 2, 1, 3, 4])
// PY:            [[M:[a-z_0-9]+]] = [[T]].permute(0, 3, 4, 1, 2).reshape(1, 2, 2, 4).permute(0, 3, 1, 2)
// PY-NOT:        contiguous(memory_format
// PY:            torch.relu([[M]])
// PY:            [[R]].contiguous()
// PY:            .reshape([1, 4, 2, 1, 2])
dfg.graph @channel_shuffle(%x: tensor<1x4x2x2xf32>) -> (tensor<1x4x2x2xf32>, tensor<1x4x2x1x2xf32>) {
  %groups = dfg.weight "groups" dense<[1, 2, 2, 2, 2]> : tensor<5xi64> : tensor<5xi64>
  %image = dfg.weight "image" dense<[1, 4, 2, 2]> : tensor<4xi64> : tensor<4xi64>
  %rows = dfg.weight "rows" dense<[1, 4, 2, 1, 2]> : tensor<5xi64> : tensor<5xi64>
  %r = dfg.node "Relu"(%x) opset 17 : (tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32>
  %g = dfg.node "Reshape"(%r, %groups) opset 17 : (tensor<1x4x2x2xf32>, tensor<5xi64>) -> tensor<1x2x2x2x2xf32>
  %t = dfg.node "Transpose"(%g) {perm = array<i64: 0, 2, 1, 3, 4>} opset 17 : (tensor<1x2x2x2x2xf32>) -> tensor<1x2x2x2x2xf32>
  %m = dfg.node "Reshape"(%t, %image) opset 17 : (tensor<1x2x2x2x2xf32>, tensor<4xi64>) -> tensor<1x4x2x2xf32>
  %s = dfg.node "Relu"(%m) opset 17 : (tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32>
  %h = dfg.node "Reshape"(%r, %rows) opset 17 : (tensor<1x4x2x2xf32>, tensor<5xi64>) -> tensor<1x4x2x1x2xf32>
  dfg.output %s, %h : tensor<1x4x2x2xf32>, tensor<1x4x2x1x2xf32>
}

// -----

/// A ReduceMean (or ReduceMax) of an image's two spatial axes that keeps them is a
/// global pool: it joins the region, so the image is not converted before it, and its
/// 1x1 result, stored alike in both formats, is not converted after it. Reducing the
/// channels, or not keeping the axes, stays out (the image leaves the region first).

// CHECK-LABEL: dfg.graph @global_reductions
// CHECK:         dfg.node "ReduceMean"(%r) {axes = array<i64: 2, 3>} opset 17 {dfg.layout = "channels_last"}
// CHECK:         dfg.node "ReduceMax"(%r, %spatial) opset 18 {dfg.layout = "channels_last"}
// CHECK:         dfg.node "ReduceMean"(%r) {axes = array<i64: 1>} opset 17 :
// CHECK:         dfg.node "ReduceMean"(%r) {axes = array<i64: -2, -1>, keepdims = 0 : i64} opset 17 :
// NCHW-LABEL:  dfg.graph @global_reductions
// NCHW-NOT:      dfg.layout
// PY:            [[R:[a-z_0-9]+]] = torch.relu(x_cl)
// PY-NOT:        contiguous
// PY:            [[MEAN:[a-z_0-9]+]] = [[R]].mean([2, 3], keepdim=True)
// PY-NOT:        contiguous
// PY:            max_ = [[R]].amax([2, 3], keepdim=True)
// PY:            [[CONT:[a-z_0-9]+]] = [[R]].contiguous()
// PY-NEXT:       del [[R]]
// PY-NEXT:       {{[a-z_0-9]+}} = [[CONT]].mean(1, keepdim=True)
// PY:            {{[a-z_0-9]+}} = [[CONT]].mean([2, 3])
// PY-NOT:        contiguous
// PY:            {{[a-z_0-9]+}} = [[MEAN]].reshape([1, 4])
// PY-NEXT:       return {{.*}}, max_,
dfg.graph @global_reductions(%x: tensor<1x4x3x3xf32>) -> (tensor<1x4xf32>, tensor<1x4x1x1xf32>, tensor<1x1x3x3xf32>, tensor<1x4xf32>) {
  %spatial = dfg.weight "spatial" dense<[2, 3]> : tensor<2xi64> : tensor<2xi64>
  %flat = dfg.weight "flat" dense<[1, 4]> : tensor<2xi64> : tensor<2xi64>
  %r = dfg.node "Relu"(%x) opset 17 : (tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32>
  %mean = dfg.node "ReduceMean"(%r) {axes = array<i64: 2, 3>} opset 17 : (tensor<1x4x3x3xf32>) -> tensor<1x4x1x1xf32>
  %max = dfg.node "ReduceMax"(%r, %spatial) opset 18 : (tensor<1x4x3x3xf32>, tensor<2xi64>) -> tensor<1x4x1x1xf32>
  %channels = dfg.node "ReduceMean"(%r) {axes = array<i64: 1>} opset 17 : (tensor<1x4x3x3xf32>) -> tensor<1x1x3x3xf32>
  %dropped = dfg.node "ReduceMean"(%r) {axes = array<i64: -2, -1>, keepdims = 0 : i64} opset 17 : (tensor<1x4x3x3xf32>) -> tensor<1x4xf32>
  %view = dfg.node "Reshape"(%mean, %flat) opset 17 : (tensor<1x4x1x1xf32>, tensor<2xi64>) -> tensor<1x4xf32>
  dfg.output %view, %max, %channels, %dropped : tensor<1x4xf32>, tensor<1x4x1x1xf32>, tensor<1x1x3x3xf32>, tensor<1x4xf32>
}

// -----

/// `auto`: a convolution that prepack-weights would put on oneDNN writes channels-last
/// even kept contiguous, so keeping the region contiguous saves no conversion of its
/// result. With that conversion counted the region gains 15.8 us channels-last (-5.93
/// us without it: contiguous).

// AUTO: remark: loc("packed"): assign-layout: region of 1 nodes from packed runs channels-last: its estimated saving is 15.8 us after converting at its edge
// AUTO: dfg.node "Conv"{{.*}}{dfg.layout = "channels_last"}{{.*}}loc("packed")
dfg.graph @stray(%x: tensor<1x32x28x28xf32>) -> tensor<1x64x28x28xf32> {
  %w = dfg.weight "w" dense<0.01> : tensor<64x32x3x3xf32> : tensor<64x32x3x3xf32>
  %y = dfg.node "Conv"(%x, %w) {pads = array<i64: 1, 1, 1, 1>} opset 17 : (tensor<1x32x28x28xf32>, tensor<64x32x3x3xf32>) -> tensor<1x64x28x28xf32> loc("packed")
  dfg.output %y : tensor<1x64x28x28xf32>
}
