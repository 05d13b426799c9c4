// RUN: ramiel-opt %s -t python | filecheck %s

/// py.if prints `if`, and `else:` only when the else body has statements; with
/// results, each branch's py.if_yield assigns the results' names.

// CHECK:      def f(c, x):
// CHECK-NEXT:     if c:
// CHECK-NEXT:         y = torch.neg(x)
// CHECK-NEXT:         r = y
// CHECK-NEXT:     else:
// CHECK-NEXT:         r = x
// CHECK-NEXT:     if c:
// CHECK-NEXT:         return x
// CHECK-NEXT:     return r

py.module {
  py.func "f"(["c", "x"] : ["", ""]) {
  ^bb0(%c: !py.object, %x: !py.object):
    %r = py.if %c -> !py.object {
      %y = py.call "torch.neg"(%x) : (!py.object) -> !py.object
      py.if_yield %y
    } else {
      py.if_yield %x
    }
    py.if %c {
      py.return %x : !py.object
    } else {
    }
    py.return %r : !py.object
  }
}
