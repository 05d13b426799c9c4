// RUN: ramiel-opt %s | ramiel-opt | filecheck %s
// RUN: ramiel-opt %s --print-op-generic | ramiel-opt | filecheck %s

/// Every py statement and expression in its custom form.

// CHECK-LABEL: py.module {
// CHECK-NEXT:    py.comment "Generated."
// CHECK-NEXT:    py.import "torch"
// CHECK-NEXT:    py.import "torch.nn.functional" as "F"
// CHECK-NEXT:    py.from_import "pathlib" ["Path"]
// CHECK-NEXT:    py.class "Model"(["torch.nn.Module"]) attributes {doc = "The model."} {
// CHECK-NEXT:      py.func "__init__"(["self"] : [""]) {
// CHECK-NEXT:      ^bb0(%[[SELF:.*]]: !py.object):
// CHECK-NEXT:        %[[SUPER:.*]] = py.call "super"() {inline} : () -> !py.object
// CHECK-NEXT:        py.method_call "__init__" of %[[SUPER]]() : () -> ()
// CHECK-NEXT:        py.buffer "w" of %[[SELF]] : tensor<2x3xf32> = "conv/w" from "/models/m.onnx"
// CHECK-NEXT:        py.buffer "b" of %[[SELF]] : tensor<2xf32> = "b" dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-NEXT:        %[[NONE:.*]] = py.constant unit
// CHECK-NEXT:        py.setattr "cache" of %[[SELF]] = %[[NONE]]
// CHECK:           py.func "forward"(["self", "x", "scale"] : ["", "torch.Tensor", "float"]) -> "torch.Tensor" attributes {defaults = [1.000000e+00 : f64], doc = "Runs the model."} {
// CHECK-NEXT:      ^bb0(%[[SELF2:.*]]: !py.object, %[[X:.*]]: !py.object, %[[SCALE:.*]]: !py.object):
// CHECK-NEXT:        %[[W:.*]] = py.getattr "w" of %[[SELF2]]
// CHECK-NEXT:        %[[F:.*]] = py.name "F.linear"
// CHECK-NEXT:        %[[Y:.*]] = py.call "F.linear"(%[[X]], %[[W]]) : (!py.object, !py.object) -> !py.object
// CHECK-NEXT:        %[[Z:.*]] = py.binary %[[Y]] "*" %[[SCALE]]
// CHECK-NEXT:        %[[ONE:.*]] = py.constant 1 : i64
// CHECK-NEXT:        %[[S:.*]] = py.call "torch.sum"(%[[Z]], %[[ONE]]) keywords ["dim"] : (!py.object, !py.object) -> !py.object
// CHECK-NEXT:        %[[A:.*]] = py.assign %[[S]]
// CHECK-NEXT:        py.del %[[Y]], %[[S]]
// CHECK-NEXT:        %[[NONE2:.*]] = py.constant unit
// CHECK-NEXT:        %[[SL:.*]] = py.slice %[[NONE2]] : %[[ONE]] : %[[NONE2]]
// CHECK-NEXT:        %[[SUB:.*]] = py.subscript %[[A]][%[[SL]], %[[ONE]]]
// CHECK-NEXT:        %[[L:.*]] = py.list[%[[SUB]], %[[F]]] {tuple}
// CHECK-NEXT:        %[[P:.*]], %{{.*}} = py.method_call "split" of %[[SUB]](%[[ONE]]) : (!py.object) -> (!py.object, !py.object)
// CHECK-NEXT:        py.verbatim "assert x is not None"
// CHECK-NEXT:        py.return %[[L]], %[[P]] : !py.object, !py.object
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
      py.buffer "b" of %self : tensor<2xf32> = "b" dense<[1.0, 2.0]> : tensor<2xf32>
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
