"""
The end of a generated file that makes it a program (`runtime/program.py`).

`python model_par.py --bench` and `--trace out.json` run `_main`, which the
file carries after `load_model` with the definitions it uses, under
`if __name__ == "__main__":`; importing the file runs none of it. `_main` is
given the plan (the header's), the node line table (`_NODES`) and the kind,
shape and dtype of every graph input, from which it makes random inputs.
"""

from __future__ import annotations

from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute

from ramiel_mlir.backend.builder import Arg, PyBuilder, add_import
from ramiel_mlir.backend.runtime_source import dotted, requirements, runtime_module
from ramiel_mlir.backend.values import is_string_tensor
from ramiel_mlir.dialects import dfg, py
from ramiel_mlir.tensors import torch_dtype_name

program = runtime_module("program")
"""The program runtime: `--bench` and `--trace`."""


def _input_spec(b: PyBuilder, t: Attribute) -> list[Arg]:
    """
    A graph input as `runtime/program.py:_random_inputs` reads it: `("tensor",
    shape, dtype)`, or `("value", v, None)` with an empty string tensor (a numpy
    array of `str`), an empty list (a sequence) or None (an optional).
    """
    if isinstance(t, dfg.SequenceType):
        return ["value", b.list([]), None]
    if isinstance(t, dfg.OptionalType):
        return ["value", None, None]
    assert isinstance(t, TensorType)
    shape = b.list(list(t.get_shape()), as_tuple=True)
    if is_string_tensor(t):
        return ["value", b.call("np.full", shape, "", dtype=b.name("object"), inline=True), None]
    return ["tensor", shape, b.name(f"torch.{torch_dtype_name(t.get_element_type())}")]


def add_main(top: PyBuilder, graph: dfg.GraphOp, plan: str, node_lines: str) -> None:
    """
    Append `_main`'s definitions and `if __name__ == "__main__": _main(...)` to the
    file `top` builds; `node_lines` names its table of node lines.
    """
    definitions, imports = requirements(program._main)
    for needed in imports:
        add_import(top.block, needed)
    for definition in definitions:
        top.add(py.RuntimeOp(definition.name, dotted(definition)))
    condition = top.binary("==", top.name("__name__"), "__main__")
    body = PyBuilder(top.add(py.IfOp(condition)).body.block)
    specs = [body.list(_input_spec(body, t), as_tuple=True) for t in graph.function_type.inputs]
    body.call_n(
        program._main.name,
        0,
        body.name("load_model"),
        plan,
        body.name(node_lines),
        body.list(specs),
    )
