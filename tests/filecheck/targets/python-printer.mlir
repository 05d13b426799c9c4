// RUN: ramiel-opt %s -t python | filecheck %s

/// The python target spells each py op as Python, with indentation from the
/// nesting: expressions used once are printed at their use (names, attribute
/// reads, constants, binary operators, slices, inline calls), a tuple-typed
/// py.list is parenthesised, keywords name the last arguments, defaults and
/// annotations go to the parameters, and docs become docstrings.

// CHECK:      # Generated.
// CHECK-NEXT: import torch
// CHECK-NEXT: import torch.nn.functional as F
// CHECK-NEXT: from pathlib import Path
// CHECK:      class Model(torch.nn.Module):
// CHECK-NEXT:     """The model."""
// CHECK:          def __init__(self):
// CHECK-NEXT:         super().__init__()
// CHECK-NEXT:         self.register_buffer("w", torch.empty((2, 3), dtype=torch.float32))
// CHECK-NEXT:         self.cache = None
// CHECK:          def forward(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
// CHECK-NEXT:         """Runs the model."""
// CHECK-NEXT:         y = F.linear(x, self.w)
// CHECK-NEXT:         s = torch.sum(y * scale, dim=1)
// CHECK-NEXT:         a = s
// CHECK-NEXT:         del y, s
// CHECK-NEXT:         sub = a[:1, 1]
// CHECK-NEXT:         p, q = sub.split(1)
// CHECK:              assert x is not None
// CHECK:              return (sub, F.linear), p
py.module {
  py.comment "Generated."
  py.import "torch"
  py.import "torch.nn.functional" as "F"
  py.from_import "pathlib" ["Path"]
  py.class "Model" (["torch.nn.Module"]) attributes {doc = "The model."} {
    py.func "__init__" (["self"] : [""]) {
    ^bb0(%self: !py.object):
      %super = py.call "super"() {inline} : () -> !py.object
      py.method_call "__init__" of %super () : () -> ()
      py.buffer "w" of %self : tensor<2x3xf32> = "conv/w" from "/models/m.onnx"
      %none = py.constant unit
      py.setattr "cache" of %self = %none
    }
    py.func "forward" (["self", "x", "scale"] : ["", "torch.Tensor", "float"]) -> "torch.Tensor" attributes {defaults = [1.0 : f64], doc = "Runs the model."} {
    ^bb0(%self: !py.object, %x: !py.object, %scale: !py.object):
      %w = py.getattr "w" of %self
      %f = py.name "F.linear"
      %y = py.call "F.linear"(%x, %w) : (!py.object, !py.object) -> !py.object
      %z = py.binary %y "*" %scale
      %one = py.constant 1 : i64
      %s = py.call "torch.sum"(%z, %one) keywords ["dim"] : (!py.object, !py.object) -> !py.object
      %a = py.assign %s
      py.del %y, %s
      %none = py.constant unit
      %slice = py.slice %none : %one : %none
      %sub = py.subscript %a[%slice, %one]
      %l = py.list [%sub, %f] {tuple}
      %p, %q = py.method_call "split" of %sub (%one) : (!py.object) -> (!py.object, !py.object)
      py.verbatim "assert x is not None"
      py.return %l, %p : !py.object, !py.object
    }
  }
}
