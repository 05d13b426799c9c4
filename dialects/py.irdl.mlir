// IRDL specification of the `py` printer dialect (Python source as IR).
//
// The Python definitions in ramiel_mlir/dialects/py.py are the implementation;
// this file is the declarative spec that upstream MLIR loads:
//
//   ramiel-opt model.onnx -p convert-dfg-to-py --print-op-generic \
//     | mlir-opt --irdl-file=dialects/py.irdl.mlir
//
// tests/test_irdl.py keeps it in agreement with the Python classes. The
// conventions are those of dialects/dfg.irdl.mlir: an optional attribute is an
// `irdl.base` constraint tagged `optional_attribute = "<name>"`, which mlir-opt
// does not check (upstream IRDL has only required attributes); traits and the
// ops' `verify_` rules live in Python only.
//
// Every Python value has type !py.object, so the variadic operand and result
// lists below are exactly what IRDL checks: a constraint variable used for a
// variadic binds every element to one type, and here that type is !py.object.

irdl.dialect @py {
  // !py.object: the type of every Python value.
  irdl.type @object

  // Statements.

  // py.module: a Python source file, its statements in order.
  irdl.operation @module {
    %body = irdl.region with size 1
    irdl.regions(body: %body)
  }

  // py.comment: `# text`.
  irdl.operation @comment {
    %string = irdl.base "#builtin.string"
    irdl.attributes {"text" = %string}
  }

  // py.node: where the code of one ONNX node starts, the comment `# node (op_type)`.
  irdl.operation @node {
    %node = irdl.base "#builtin.string"
    %op_type = irdl.base "#builtin.string"
    irdl.attributes {"node" = %node, "op_type" = %op_type}
  }

  // py.node_lines: `target = {line: (node, op_type), ...}` for the py.node ops before it.
  irdl.operation @node_lines {
    %string = irdl.base "#builtin.string"
    irdl.attributes {"target" = %string}
  }

  // py.runtime: a runtime definition copied from its module (ramiel_mlir/runtime/).
  irdl.operation @runtime {
    %sym_name = irdl.base "#builtin.string"
    %module = irdl.base "#builtin.string"
    irdl.attributes {"sym_name" = %sym_name, "module" = %module}
  }

  // py.import: `import module [as alias]`.
  irdl.operation @import {
    %string = irdl.base "#builtin.string"
    irdl.attributes {"module" = %string}
    %alias = irdl.base "#builtin.string" {optional_attribute = "alias"}
  }

  // py.from_import: `from module import name, ...`.
  irdl.operation @from_import {
    %string = irdl.base "#builtin.string"
    %array = irdl.base "#builtin.array"
    irdl.attributes {"module" = %string, "names" = %array}
  }

  // py.class: `class Name(bases...):` and its body.
  irdl.operation @class {
    %string = irdl.base "#builtin.string"
    %array = irdl.base "#builtin.array"
    %body = irdl.region with size 1
    irdl.attributes {"sym_name" = %string, "bases" = %array}
    irdl.regions(body: %body)
    %doc = irdl.base "#builtin.string" {optional_attribute = "doc"}
  }

  // py.func: `def name(params...) -> returns:`; block arguments are the parameters.
  irdl.operation @func {
    %string = irdl.base "#builtin.string"
    %names = irdl.base "#builtin.array"
    %types = irdl.base "#builtin.array"
    %body = irdl.region with size 1
    irdl.attributes {"sym_name" = %string, "arg_names" = %names, "arg_types" = %types}
    irdl.regions(body: %body)
    %return_type = irdl.base "#builtin.string" {optional_attribute = "return_type"}
    %defaults = irdl.base "#builtin.array" {optional_attribute = "defaults"}
    %doc = irdl.base "#builtin.string" {optional_attribute = "doc"}
  }

  // py.return: `return a, b, ...`.
  irdl.operation @return {
    %object = irdl.parametric @py::@object<>
    irdl.operands(values: variadic %object)
  }

  // py.call: `callee(args..., kw=args...)`; the last len(keywords) arguments are keywords.
  irdl.operation @call {
    %string = irdl.base "#builtin.string"
    %array = irdl.base "#builtin.array"
    %object = irdl.parametric @py::@object<>
    irdl.attributes {"callee" = %string, "keywords" = %array}
    irdl.operands(args: variadic %object)
    irdl.results(res: variadic %object)
    %inline = irdl.base "#builtin.unit" {optional_attribute = "inline"}
  }

  // py.method_call: `receiver.method(args..., kw=args...)`.
  irdl.operation @method_call {
    %string = irdl.base "#builtin.string"
    %array = irdl.base "#builtin.array"
    %object = irdl.parametric @py::@object<>
    irdl.attributes {"method" = %string, "keywords" = %array}
    irdl.operands(receiver: %object, args: variadic %object)
    irdl.results(res: variadic %object)
    %inline = irdl.base "#builtin.unit" {optional_attribute = "inline"}
  }

  // py.assign: `name = value`.
  irdl.operation @assign {
    %object = irdl.parametric @py::@object<>
    irdl.operands(value: %object)
    irdl.results(res: %object)
  }

  // py.setattr: `target.attr = value`.
  irdl.operation @setattr {
    %string = irdl.base "#builtin.string"
    %object = irdl.parametric @py::@object<>
    irdl.attributes {"attr" = %string}
    irdl.operands(target: %object, value: %object)
  }

  // py.buffer: `self.register_buffer(...)` for one weight, data from `file` or `value`;
  // `memory_format` (channels_last) declares it NHWC.
  irdl.operation @buffer {
    %buffer_name = irdl.base "#builtin.string"
    %tensor_type = irdl.base "!builtin.tensor"
    %key = irdl.base "#builtin.string"
    %object = irdl.parametric @py::@object<>
    irdl.attributes {"buffer_name" = %buffer_name, "tensor_type" = %tensor_type, "key" = %key}
    irdl.operands(module: %object)
    %file = irdl.base "#builtin.string" {optional_attribute = "file"}
    %value = irdl.base "#builtin.dense_int_or_fp_elements" {optional_attribute = "value"}
    %memory_format = irdl.base "#builtin.string" {optional_attribute = "memory_format"}
  }

  // py.verbatim: Python source copied as it is.
  irdl.operation @verbatim {
    %string = irdl.base "#builtin.string"
    irdl.attributes {"text" = %string}
  }

  // Expressions.

  // py.constant: a literal (integer, float, bool, string, None, list/tuple of those).
  irdl.operation @constant {
    %any = irdl.any
    %object = irdl.parametric @py::@object<>
    irdl.attributes {"value" = %any}
    irdl.results(res: %object)
  }

  // py.name: a (dotted) global name.
  irdl.operation @name {
    %string = irdl.base "#builtin.string"
    %object = irdl.parametric @py::@object<>
    irdl.attributes {"id" = %string}
    irdl.results(res: %object)
  }

  // py.getattr: `value.attr`.
  irdl.operation @getattr {
    %string = irdl.base "#builtin.string"
    %object = irdl.parametric @py::@object<>
    irdl.attributes {"attr" = %string}
    irdl.operands(value: %object)
    irdl.results(res: %object)
  }

  // py.binary: `lhs op rhs`.
  irdl.operation @binary {
    %string = irdl.base "#builtin.string"
    %object = irdl.parametric @py::@object<>
    irdl.attributes {"op" = %string}
    irdl.operands(lhs: %object, rhs: %object)
    irdl.results(res: %object)
  }

  // py.slice: `start:stop:step` inside a subscript.
  irdl.operation @slice {
    %object = irdl.parametric @py::@object<>
    irdl.operands(start: %object, stop: %object, step: %object)
    irdl.results(res: %object)
  }

  // py.list: `[a, b, ...]`, or a tuple with `tuple`.
  irdl.operation @list {
    %object = irdl.parametric @py::@object<>
    irdl.operands(elements: variadic %object)
    irdl.results(res: %object)
    %tuple = irdl.base "#builtin.unit" {optional_attribute = "tuple"}
  }

  // py.subscript: `value[index, ...]`.
  irdl.operation @subscript {
    %object = irdl.parametric @py::@object<>
    irdl.operands(value: %object, indices: variadic %object)
    irdl.results(res: %object)
  }

  // py.for: `for target in iterable:`; the body's one argument is the target.
  irdl.operation @for {
    %object = irdl.parametric @py::@object<>
    %body = irdl.region with size 1
    irdl.operands(iterable: %object)
    irdl.regions(body: %body)
  }

  // py.if: `if condition:`, then `else:` when the else body has ops; results are
  // bound by the py.if_yield that ends each branch.
  irdl.operation @if {
    %object = irdl.parametric @py::@object<>
    %body = irdl.region with size 1
    %else_body = irdl.region
    irdl.operands(condition: %object)
    irdl.results(outputs: variadic %object)
    irdl.regions(body: %body, else_body: %else_body)
  }

  // py.if_yield: `r0, r1 = v0, v1`, the results of the enclosing py.if.
  irdl.operation @if_yield {
    %object = irdl.parametric @py::@object<>
    irdl.operands(values: variadic %object)
  }

  // py.break: leaves the innermost py.for.
  irdl.operation @break {
    irdl.operands()
  }

  // py.rebind: `a, b = x, y` for existing names.
  irdl.operation @rebind {
    %object = irdl.parametric @py::@object<>
    %segments = irdl.base "#builtin.dense_array"
    irdl.attributes {"operandSegmentSizes" = %segments}
    irdl.operands(targets: variadic %object, values: variadic %object)
  }

  // py.del: `del a, b`, names no later statement reads.
  irdl.operation @del {
    %object = irdl.parametric @py::@object<>
    irdl.operands(values: variadic %object)
  }

  // py.unary: `not x`, `-x`.
  irdl.operation @unary {
    %string = irdl.base "#builtin.string"
    %object = irdl.parametric @py::@object<>
    irdl.attributes {"op" = %string}
    irdl.operands(operand: %object)
    irdl.results(res: %object)
  }
}
