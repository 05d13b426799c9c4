// RUN: ramiel-opt %s -t python | filecheck %s

/// A BatchNormalization that fold-batchnorm cannot fold (after a pooling here) runs
/// as the per-channel affine `torch.addcmul(shift, x, scale)` where its image is
/// channels-last: about twice as fast as F.batch_norm there. The scale and shift are
/// derived from the four statistics in `_pack_weights`, once per load (and again after
/// `load_state_dict`). On a contiguous image, where addcmul is about three times
/// slower, F.batch_norm stays.

// CHECK:          self._pack_weights()
// CHECK-NEXT:     self.register_load_state_dict_post_hook(_pack_after_load)
// CHECK:      def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
// CHECK:          p = F.max_pool2d(x_cl, 2, stride=2)
// CHECK:          # norm (BatchNormalization)
// CHECK-NEXT:     n = torch.addcmul(self.beta_shift, p, self.gamma_scale)
// CHECK:          # plain (BatchNormalization)
// CHECK-NEXT:     c = F.batch_norm(x, self.mean, self.var, self.gamma, self.beta, eps=0.001)
// CHECK:      def _pack_weights(self) -> None:
// CHECK:          std = torch.sqrt(self.var + 1e-05)
// CHECK-NEXT:     scale = self.gamma / std
// CHECK-NEXT:     shift = self.beta - (self.mean * scale)
// CHECK-NEXT:     self.gamma_scale = scale.reshape(-1, 1, 1)
// CHECK-NEXT:     self.beta_shift = shift.reshape(-1, 1, 1)
dfg.graph @norms(%x: tensor<1x4x8x8xf32>) -> (tensor<1x4x4x4xf32>, tensor<1x4x8x8xf32>) {
  %gamma = dfg.weight "gamma" dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32> : tensor<4xf32>
  %beta = dfg.weight "beta" dense<0.5> : tensor<4xf32> : tensor<4xf32>
  %mean = dfg.weight "mean" dense<0.25> : tensor<4xf32> : tensor<4xf32>
  %var = dfg.weight "var" dense<2.0> : tensor<4xf32> : tensor<4xf32>
  %p = dfg.node "MaxPool"(%x) {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} opset 17 {dfg.layout = "channels_last"} : (tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32> loc("pool")
  %n = dfg.node "BatchNormalization"(%p, %gamma, %beta, %mean, %var) opset 15 {dfg.layout = "channels_last"} : (tensor<1x4x4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32> loc("norm")
  %c = dfg.node "BatchNormalization"(%x, %gamma, %beta, %mean, %var) {epsilon = 1.0e-3 : f32} opset 15 : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32> loc("plain")
  dfg.output %n, %c : tensor<1x4x4x4xf32>, tensor<1x4x8x8xf32>
}
