"""`release_dead_values` on hand-made `py` functions: where each `del` goes, and where none does."""

from __future__ import annotations

from io import StringIO

from xdsl.ir import SSAValue

from ramiel_mlir.backend.builder import PyBuilder
from ramiel_mlir.backend.print_python import PythonPrinter
from ramiel_mlir.backend.release import release_dead_values
from ramiel_mlir.dialects import py


def _function(*params: str) -> tuple[py.FuncOp, PyBuilder]:
    func = py.FuncOp("f", list(params))
    return func, PyBuilder(func.body.block)


def _body(func: py.FuncOp) -> list[str]:
    """The function's source, one stripped line per statement, after releasing."""
    release_dead_values(func.body.block)
    func.verify()
    stream = StringIO()
    PythonPrinter(stream).print_module(_module(func))
    return [line.strip() for line in stream.getvalue().splitlines()[1:]]


def _named(value: SSAValue, name: str) -> SSAValue:
    value.name_hint = name
    return value


def _module(func: py.FuncOp) -> py.ModuleOp:
    module = py.ModuleOp()
    module.body.block.add_op(func)
    return module


def test_deleted_after_the_last_reader_even_through_an_expression() -> None:
    func, b = _function("x")
    a = _named(b.call("g", func.body.block.args[0]), "a")
    c = _named(b.call("h", b.binary("*", a, 2)), "c")  # reads `a` through the product
    d = _named(b.call("k", c), "d")
    b.call("sink", d)
    b.add(py.ReturnOp([b.call("done", inline=True)]))
    assert _body(func) == [
        "a = g(x)",
        "c = h(a * 2)",
        "del a",
        "d = k(c)",
        "del c",
        "sink(d)",
        "return done()",
    ]


def test_a_value_read_in_a_loop_lives_until_the_loop_ends() -> None:
    func, b = _function("x")
    a = _named(b.call("g", func.body.block.args[0]), "a")
    loop = b.add(py.ForOp(b.call("range", 3, inline=True)))
    PyBuilder(loop.body.block).call("h", a, loop.body.block.args[0])
    b.call("after", func.body.block.args[0])
    b.call("end", func.body.block.args[0])
    lines = _body(func)
    assert lines.index("del a") == lines.index("after(x)") - 1
    assert "del" not in " ".join(lines[: lines.index("del a")])


def test_an_unread_result_of_an_unpacked_call_goes_at_once() -> None:
    func, b = _function("x")
    first, second = b.call_n("torch.split", 2, func.body.block.args[0], 1)
    _named(first, "a")
    _named(second, "b")
    b.call("use", first)
    b.call("end", func.body.block.args[0])
    assert _body(func)[:4] == ["a, b = torch.split(x, 1)", "del b", "use(a)", "del a"]


def test_in_place_results_parameters_and_the_end_are_left_alone() -> None:
    func, b = _function("x")
    c = _named(b.call("conv", func.body.block.args[0]), "c")
    a = _named(b.method(c, "add_", func.body.block.args[0]), "a")  # `c` lives on as `a`
    r = _named(b.call("torch.relu", a), "r")
    b.call("sink", r)  # the last statement: no `del r` after it
    lines = _body(func)
    assert lines == ["c = conv(x)", "a = c.add_(x)", "r = torch.relu(a)", "del a", "sink(r)"]
