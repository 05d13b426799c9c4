// RUN: ramiel-opt %s --split-input-file --verify-diagnostics | filecheck %s

/// py.func: one name and one annotation per parameter (block argument).

// CHECK: py.func 'f' has 1 parameters but 2 names and 2 annotations
py.module {
  py.func "f"(["a", "b"] : ["", ""]) {
  ^bb0(%a: !py.object):
  }
}

// -----

/// py.func: defaults are for the last parameters, so at most one per parameter.

// CHECK: py.func 'f' has more defaults than parameters
py.module {
  py.func "f"(["a"] : [""]) attributes {defaults = [1 : i64, 2 : i64]} {
  ^bb0(%a: !py.object):
  }
}

// -----

/// py.call and py.method_call: keywords name the last arguments.

// CHECK: py.call has 2 keywords for 1 arguments
py.module {
  py.func "f"(["x"] : [""]) {
  ^bb0(%x: !py.object):
    %y = py.call "g"(%x) keywords ["a", "b"] : (!py.object) -> !py.object
  }
}

// -----

// CHECK: py.method_call has 1 keywords for 0 arguments
py.module {
  py.func "f"(["x"] : [""]) {
  ^bb0(%x: !py.object):
    %y = py.method_call "g" of %x () keywords ["a"] : () -> !py.object
  }
}

// -----

/// An inline call is printed at its only use.

// CHECK: an inline py.call must have exactly one use
py.module {
  py.func "f"(["x"] : [""]) {
  ^bb0(%x: !py.object):
    %y = py.call "g"(%x) {inline} : (!py.object) -> !py.object
    py.return %y, %y : !py.object, !py.object
  }
}

// -----

// CHECK: an inline py.method_call must have exactly one use
py.module {
  py.func "f"(["x"] : [""]) {
  ^bb0(%x: !py.object):
    %y = py.method_call "g" of %x () {inline} : () -> !py.object
  }
}

// -----

/// py.buffer: its data comes from exactly one of a file or an inline value.

// CHECK: py.buffer needs exactly one of `from "file"` or an inline value
py.module {
  py.func "f"(["self"] : [""]) {
  ^bb0(%self: !py.object):
    py.buffer "w" of %self : tensor<2xf32> = "w"
  }
}

// -----

// CHECK: py.buffer needs exactly one of `from "file"` or an inline value
py.module {
  py.func "f"(["self"] : [""]) {
  ^bb0(%self: !py.object):
    py.buffer "w" of %self : tensor<2xf32> = "w" from "m.onnx" dense<1.0> : tensor<2xf32>
  }
}

// -----

/// py.binary: a Python binary operator.

// CHECK: '<<' is not a Python binary operator
py.module {
  py.func "f"(["x"] : [""]) {
  ^bb0(%x: !py.object):
    %y = py.binary %x "<<" %x
  }
}

// -----

/// py.slice: only as an index of a py.subscript.

// CHECK: py.slice may only index a py.subscript
py.module {
  py.func "f"(["x"] : [""]) {
  ^bb0(%x: !py.object):
    %s = py.slice %x : %x : %x
    %y = py.subscript %s[%x]
  }
}

// -----

/// py.class is a top-level statement of a py.module.

// CHECK: 'py.class' expects parent op 'py.module'
py.module {
  py.func "f"([] : []) {
    py.class "C"([]) {
      py.verbatim "pass"
    }
  }
}

// -----

/// Python values have type !py.object.

// CHECK: i32 should be of base attribute py.object
py.module {
  py.func "f"(["x"] : [""]) {
  ^bb0(%x: i32):
    py.return %x : i32
  }
}

// -----

/// A py.if with results binds them at the end of each branch with py.if_yield.

// CHECK: py.if with 1 results: its else_body must end with py.if_yield of 1 values
py.module {
  py.func "f"(["c", "x"] : ["", ""]) {
  ^bb0(%c: !py.object, %x: !py.object):
    %y = py.if %c -> !py.object {
      py.if_yield %x
    } else {
    }
    py.return %y : !py.object
  }
}

// -----

/// py.del unbinds names: no statement after it may read a deleted value.

// CHECK: py.del: a value is read after it is deleted (by py.return)
py.module {
  py.func "f"(["x"] : [""]) {
  ^bb0(%x: !py.object):
    %y = py.call "g"(%x) : (!py.object) -> !py.object
    py.del %y
    py.return %y : !py.object
  }
}

// -----

/// A read inside a later loop counts too.

// CHECK: py.del: a value is read after it is deleted (by py.for)
py.module {
  py.func "f"(["x"] : [""]) {
  ^bb0(%x: !py.object):
    %y = py.call "g"(%x) : (!py.object) -> !py.object
    py.del %y
    py.for %x {
    ^bb0(%i: !py.object):
      py.call "h"(%y) : (!py.object) -> ()
    }
  }
}

// -----

/// Only named values can be deleted: an expression has no name.

// CHECK: py.del of the result of py.constant, an expression with no name
py.module {
  py.func "f"(["x"] : [""]) {
  ^bb0(%x: !py.object):
    %one = py.constant 1 : i64
    py.del %one
  }
}

// -----

// CHECK: py.del needs at least one value
py.module {
  py.func "f"(["x"] : [""]) {
  ^bb0(%x: !py.object):
    py.del
  }
}
