// RUN: ramiel-opt %s | ramiel-opt | filecheck %s
// RUN: ramiel-opt %s -t python | filecheck %s --check-prefix=PY

/// The dfg types round-trip: string tensors, sequences of tensors (unranked or
/// with dynamic dimensions) and optionals of a tensor or a sequence.

// CHECK-LABEL: dfg.graph @types
// CHECK-SAME: %{{.*}}: tensor<2x!dfg.string>, %{{.*}}: tensor<1x!dfg.string>
// CHECK-SAME: %{{.*}}: !dfg.sequence<tensor<*xf32>>, %{{.*}}: !dfg.sequence<tensor<?x3xi64>>
// CHECK-SAME: %{{.*}}: !dfg.optional<!dfg.sequence<tensor<5xf32>>>, %{{.*}}: !dfg.optional<tensor<4xi64>>
// CHECK: dfg.node "Equal"(%{{.*}}, %{{.*}}) opset 19 : (tensor<2x!dfg.string>, tensor<1x!dfg.string>) -> tensor<2xi1>
// CHECK: dfg.node "Identity"(%{{.*}}) opset 16 : (!dfg.optional<!dfg.sequence<tensor<5xf32>>>) -> !dfg.optional<!dfg.sequence<tensor<5xf32>>>

/// In Python: numpy arrays of str, lists of tensors, None or the value.

// PY: import numpy as np
// PY: def forward(self, x: np.ndarray, y: np.ndarray, s: list[torch.Tensor], q: list[torch.Tensor], o: list[torch.Tensor] | None, t: torch.Tensor | None)
// PY-NEXT: _check_strings("x", x, (2,))
// PY-NEXT: _check_strings("y", y, (1,))
// PY-NEXT: _check_sequence("s", s, None, torch.float32)
// PY-NEXT: _check_sequence("q", q, (None, 3), torch.int64)
// PY-NEXT: _check_optional("o", o, _check_sequence, (5,), torch.float32)
// PY-NEXT: _check_optional("t", t, _check_input, (4,), torch.int64)
// PY: torch.as_tensor(np.equal(x, y))
dfg.graph @types(%x: tensor<2x!dfg.string>, %y: tensor<1x!dfg.string>,
                 %s: !dfg.sequence<tensor<*xf32>>, %q: !dfg.sequence<tensor<?x3xi64>>,
                 %o: !dfg.optional<!dfg.sequence<tensor<5xf32>>>, %t: !dfg.optional<tensor<4xi64>>)
    -> (tensor<2xi1>, !dfg.optional<!dfg.sequence<tensor<5xf32>>>, !dfg.sequence<tensor<*xf32>>)
    attributes {input_names = ["x", "y", "s", "q", "o", "t"]} {
  %e = dfg.node "Equal"(%x, %y) opset 19 : (tensor<2x!dfg.string>, tensor<1x!dfg.string>) -> tensor<2xi1>
  %i = dfg.node "Identity"(%o) opset 16 : (!dfg.optional<!dfg.sequence<tensor<5xf32>>>) -> !dfg.optional<!dfg.sequence<tensor<5xf32>>>
  %j = dfg.node "Identity"(%s) opset 16 : (!dfg.sequence<tensor<*xf32>>) -> !dfg.sequence<tensor<*xf32>>
  dfg.output %e, %i, %j : tensor<2xi1>, !dfg.optional<!dfg.sequence<tensor<5xf32>>>, !dfg.sequence<tensor<*xf32>>
}
