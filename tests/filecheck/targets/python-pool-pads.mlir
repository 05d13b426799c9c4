// RUN: ramiel-opt %s --split-input-file -t python | filecheck %s

/// Caffe2's exports pad a 3x3/2 max pool by one at the end only. PyTorch takes that as
/// ceil mode's overhang: the windows start at the same places and the extra cells are
/// ones no maximum picks, so no padded copy of the input is made. Where ceil mode would
/// give another number of windows (end pad 1 with stride 3 on 7 cells) or the begin pad
/// exceeds the end pad, the input is padded (here: cropped) explicitly. An average,
/// whose divisor counts pads, never takes the overhang; this one's windows all lie
/// inside the image.

// CHECK-LABEL: def forward
// CHECK:         # caffe2 (MaxPool)
// CHECK-NEXT:    m = F.max_pool2d(x, 3, stride=2, ceil_mode=True)
// CHECK-NEXT:    # both_sides (MaxPool)
// CHECK-NEXT:    b = F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True)
// CHECK-NEXT:    # other_count (MaxPool)
// CHECK-NEXT:    padded = F.pad(x, [0, -1, 0, -1], value=-float("inf"))
// CHECK-NEXT:    o = F.max_pool2d(padded, 3, stride=3)
// CHECK:         # begin_larger (MaxPool)
// CHECK-NEXT:    padded_1 = F.pad(x, [1, -1, 1, -1], value=-float("inf"))
// CHECK:         # average (AveragePool)
// CHECK-NEXT:    a = F.avg_pool2d(x, 3, stride=2)
dfg.graph @pools(%x: tensor<1x2x7x7xf32>) -> (tensor<1x2x3x3xf32>, tensor<1x2x4x4xf32>, tensor<1x2x2x2xf32>, tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) {
  %m = dfg.node "MaxPool"(%x) {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 1, 1>} opset 12 : (tensor<1x2x7x7xf32>) -> tensor<1x2x3x3xf32> loc("caffe2")
  %b = dfg.node "MaxPool"(%x) {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 2, 2>} opset 12 : (tensor<1x2x7x7xf32>) -> tensor<1x2x4x4xf32> loc("both_sides")
  %o = dfg.node "MaxPool"(%x) {kernel_shape = array<i64: 3, 3>, strides = array<i64: 3, 3>, pads = array<i64: 0, 0, 1, 1>} opset 12 : (tensor<1x2x7x7xf32>) -> tensor<1x2x2x2xf32> loc("other_count")
  %g = dfg.node "MaxPool"(%x) {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 0, 0>} opset 12 : (tensor<1x2x7x7xf32>) -> tensor<1x2x3x3xf32> loc("begin_larger")
  %a = dfg.node "AveragePool"(%x) {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 1, 1>} opset 12 : (tensor<1x2x7x7xf32>) -> tensor<1x2x3x3xf32> loc("average")
  dfg.output %m, %b, %o, %g, %a : tensor<1x2x3x3xf32>, tensor<1x2x4x4xf32>, tensor<1x2x2x2xf32>, tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>
}
