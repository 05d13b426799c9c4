// RUN: ramiel-opt %s --split-input-file -t python | filecheck %s

/// A chain of Concats, each growing the one before (DenseNet's dense block), writes
/// into one buffer of the last one's shape: the first Concat makes it and writes its
/// inputs into its leading part, each later one only its new input, behind the prefix;
/// each result is a view of the buffer's leading part, the last one's the whole
/// buffer. The Relu after the last Concat, its only reader, does not run in place as
/// it would after a Concat of its own: its input is a view others share. The first
/// Concat's 40 channels of 32x32 (160 KiB) are the prefix the second saves copying:
/// enough for a chain (`MIN_PREFIX_BYTES`, 128 KiB).

// CHECK:       def forward(self, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
// CHECK:         # first (Concat)
// CHECK-NEXT:    block = torch.empty([1, 48, 32, 32], dtype=torch.float32)
// CHECK-NEXT:    torch.cat([x, y], dim=1, out=block.narrow(1, 0, 40))
// CHECK-NEXT:    a = block.narrow(1, 0, 40)
// CHECK:         # second (Concat)
// CHECK-NEXT:    torch.cat([z], dim=1, out=block.narrow(1, 40, 8))
// CHECK-NOT:     narrow
// CHECK:         # relu (Relu)
// CHECK-NEXT:    r = torch.relu(block)
// CHECK:         return r, a

dfg.graph @dense(%x: tensor<1x32x32x32xf32>, %y: tensor<1x8x32x32xf32>, %z: tensor<1x8x32x32xf32>) -> (tensor<1x48x32x32xf32>, tensor<1x40x32x32xf32>) {
  %a = dfg.node "Concat"(%x, %y) {axis = 1 : i64} opset 13 : (tensor<1x32x32x32xf32>, tensor<1x8x32x32xf32>) -> tensor<1x40x32x32xf32> loc("first")
  %b = dfg.node "Concat"(%a, %z) {axis = 1 : i64} opset 13 : (tensor<1x40x32x32xf32>, tensor<1x8x32x32xf32>) -> tensor<1x48x32x32xf32> loc("second")
  %r = dfg.node "Relu"(%b) opset 14 : (tensor<1x48x32x32xf32>) -> tensor<1x48x32x32xf32> loc("relu")
  dfg.output %r, %a : tensor<1x48x32x32xf32>, tensor<1x40x32x32xf32>
}

// -----

/// A lone Concat, and one whose prefix is small (8 channels of 32x32, 32 KiB), stay
/// `torch.cat`.

// CHECK:       def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
// CHECK-NOT:     narrow
// CHECK:         a = torch.cat([x, y], dim=1)
// CHECK:         b = torch.cat([a, y], dim=1)
// CHECK-NOT:     narrow
dfg.graph @small(%x: tensor<1x8x32x32xf32>, %y: tensor<1x8x32x32xf32>) -> tensor<1x24x32x32xf32> {
  %a = dfg.node "Concat"(%x, %y) {axis = 1 : i64} opset 13 : (tensor<1x8x32x32xf32>, tensor<1x8x32x32xf32>) -> tensor<1x16x32x32xf32>
  %b = dfg.node "Concat"(%a, %y) {axis = 1 : i64} opset 13 : (tensor<1x16x32x32xf32>, tensor<1x8x32x32xf32>) -> tensor<1x24x32x32xf32>
  dfg.output %b : tensor<1x24x32x32xf32>
}

// -----

/// torchvision's form: each Concat takes the block's input and every part so far. A
/// later one writes only the parts the one before did not have.

// CHECK:       def forward(self, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
// CHECK:         block = torch.empty([1, 48, 32, 32], dtype=torch.float32)
// CHECK-NEXT:    torch.cat([x, y], dim=1, out=block.narrow(1, 0, 40))
// CHECK:         torch.cat([z], dim=1, out=block.narrow(1, 40, 8))
// CHECK-NEXT:    return block, r
dfg.graph @listed(%x: tensor<1x32x32x32xf32>, %y: tensor<1x8x32x32xf32>, %z: tensor<1x8x32x32xf32>) -> (tensor<1x48x32x32xf32>, tensor<1x40x32x32xf32>) {
  %a = dfg.node "Concat"(%x, %y) {axis = 1 : i64} opset 13 : (tensor<1x32x32x32xf32>, tensor<1x8x32x32xf32>) -> tensor<1x40x32x32xf32>
  %r = dfg.node "Relu"(%a) opset 14 : (tensor<1x40x32x32xf32>) -> tensor<1x40x32x32xf32>
  %b = dfg.node "Concat"(%x, %y, %z) {axis = 1 : i64} opset 13 : (tensor<1x32x32x32xf32>, tensor<1x8x32x32xf32>, tensor<1x8x32x32xf32>) -> tensor<1x48x32x32xf32>
  dfg.output %b, %r : tensor<1x48x32x32xf32>, tensor<1x40x32x32xf32>
}
