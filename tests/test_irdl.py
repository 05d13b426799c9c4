"""
The IRDL specs in `dialects/` against upstream MLIR and against the Python dialects.

Upstream `mlir-opt --irdl-file=...` loads a spec and checks ramiel-opt's generic
output with it. Two things MLIR 22's IRDL cannot express shape these tests (see
the header of dialects/dfg.irdl.mlir):

- An op defined in IRDL has no traits, so it is never a terminator and MLIR
  rejects every block of a region held by one ("block with no terminator").
  `end_blocks` ends each block with an op of an unregistered dialect, which MLIR
  accepts as a possible terminator (`--allow-unregistered-dialect`); `dfg.` and
  `py.` ops stay registered, so a misspelled or undeclared one is still an error.
- A constraint variable binds once per op, across the elements of a variadic
  too: a `dfg.node` is accepted only when its inputs share one type and its
  outputs share one type. Real graphs mix shapes, so the dfg form of the models
  is checked for syntax (mlir-opt parses it and ramiel-opt reads mlir-opt's
  print back to the same IR) and graphs whose nodes are uniform are checked
  against the spec. Every py value is `!py.object`, so the py form of every
  model is checked against the spec in full.

The agreement test parses the IRDL files with xDSL and compares them with the
definitions xDSL derives from the Python classes, so adding an op, operand,
result, region or attribute on one side only fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.context import Context
from xdsl.dialects import irdl
from xdsl.dialects.builtin import (
    ArrayAttr,
    Builtin,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    FloatAttr,
    FunctionType,
    IntegerAttr,
    NoneType,
    StringAttr,
    TensorType,
    UnitAttr,
)
from xdsl.ir import Attribute, Dialect, SSAValue, TypeAttribute
from xdsl.irdl import (
    AttrConstraint,
    IRDLOperation,
    OptionalDef,
    OptOperandDef,
    OptResultDef,
    RangeConstraint,
    RangeLengthConstraint,
    RangeOf,
    SingleBlockRegionDef,
    VarOperandDef,
    VarResultDef,
)
from xdsl.parser import Parser
from zoo.light import light_model

from ramiel_mlir.api import make_context
from ramiel_mlir.dialects.dfg import DFG
from ramiel_mlir.dialects.py import PY

ROOT = Path(__file__).resolve().parents[1]
IRDL_FILES = {"dfg": ROOT / "dialects" / "dfg.irdl.mlir", "py": ROOT / "dialects" / "py.irdl.mlir"}
PYTHON_DIALECTS = {"dfg": DFG, "py": PY}

MLIR_OPT = shutil.which("mlir-opt") or "/usr/lib/llvm-22/bin/mlir-opt"
needs_mlir_opt = pytest.mark.skipif(
    not os.access(MLIR_OPT, os.X_OK),
    reason="upstream mlir-opt not found (Debian: apt-get install mlir-22-tools)",
)

BLOCK_END = '"irdl_interop.block_end"() : () -> ()'
"""An op of an unregistered dialect: MLIR accepts it as the terminator of a block."""


# Models -------------------------------------------------------------------------


def _light(name: str) -> Callable[[Path], Path]:
    return lambda directory: light_model(name, directory)


def _transformer(directory: Path) -> Path:
    """One encoder block: 2-head self-attention and a GELU feed-forward, with residuals."""
    path = directory / "transformer.onnx"
    if path.exists():
        return path
    rng = np.random.default_rng(0)
    seq, dim, heads, hidden = 8, 16, 2, 32

    def weight(name: str, *shape: int) -> TensorProto:
        values = rng.normal(0.0, 1.0 / np.sqrt(shape[0]), size=shape).astype(np.float32)
        return numpy_helper.from_array(values, name)

    initializers = [
        weight("wq", dim, dim),
        weight("wk", dim, dim),
        weight("wv", dim, dim),
        weight("wo", dim, dim),
        weight("w1", dim, hidden),
        weight("w2", hidden, dim),
        numpy_helper.from_array(np.array([1, seq, heads, dim // heads], np.int64), "heads"),
        numpy_helper.from_array(np.array([1, seq, dim], np.int64), "merged"),
        numpy_helper.from_array(np.array(np.sqrt(dim // heads), np.float32), "scale"),
        numpy_helper.from_array(np.array(np.sqrt(2.0), np.float32), "sqrt2"),
        numpy_helper.from_array(np.array(0.5, np.float32), "half"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
    ]
    node = helper.make_node
    nodes = []
    for name in ("q", "k", "v"):
        nodes += [
            node("MatMul", ["x", f"w{name}"], [f"{name}_proj"], name=f"{name}_proj"),
            node("Reshape", [f"{name}_proj", "heads"], [f"{name}_split"], name=f"{name}_split"),
        ]
    nodes += [
        node("Transpose", ["q_split"], ["q_t"], name="q_t", perm=[0, 2, 1, 3]),
        node("Transpose", ["k_split"], ["k_t"], name="k_t", perm=[0, 2, 3, 1]),
        node("Transpose", ["v_split"], ["v_t"], name="v_t", perm=[0, 2, 1, 3]),
        node("MatMul", ["q_t", "k_t"], ["scores"], name="scores"),
        node("Div", ["scores", "scale"], ["scaled"], name="scaled"),
        node("Softmax", ["scaled"], ["probs"], name="probs", axis=-1),
        node("MatMul", ["probs", "v_t"], ["context"], name="context"),
        node("Transpose", ["context"], ["context_t"], name="context_t", perm=[0, 2, 1, 3]),
        node("Reshape", ["context_t", "merged"], ["attended"], name="attended"),
        node("MatMul", ["attended", "wo"], ["attn_out"], name="attn_out"),
        node("Add", ["x", "attn_out"], ["residual1"], name="residual1"),
        node("MatMul", ["residual1", "w1"], ["ff1"], name="ff1"),
        node("Div", ["ff1", "sqrt2"], ["ff1_scaled"], name="gelu_div"),
        node("Erf", ["ff1_scaled"], ["ff1_erf"], name="gelu_erf"),
        node("Add", ["ff1_erf", "one"], ["ff1_erf1"], name="gelu_add"),
        node("Mul", ["ff1", "ff1_erf1"], ["ff1_gate"], name="gelu_mul"),
        node("Mul", ["ff1_gate", "half"], ["gelu"], name="gelu"),
        node("MatMul", ["gelu", "w2"], ["ff2"], name="ff2"),
        node("Add", ["residual1", "ff2"], ["y"], name="residual2"),
    ]
    graph = helper.make_graph(
        nodes,
        "transformer",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, seq, dim])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, seq, dim])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


MODELS: dict[str, Callable[[Path], Path]] = {
    "inception_v1": _light("inception_v1"),
    "squeezenet": _light("squeezenet"),
    "resnet50": _light("resnet50"),
    "transformer": _transformer,
}
"""Models whose ramiel-opt output upstream MLIR must accept: name -> builder(directory)."""


def _uniform_model(directory: Path, size: int) -> Path:
    """
    y = Relu(x + w) * x on size x size tensors: every node's inputs share one type.

    With size 4 the weight (16 elements) is inline; with 5 it is read from file.
    """
    path = directory / f"uniform{size}.onnx"
    if path.exists():
        return path
    w = np.arange(size * size, dtype=np.float32).reshape(size, size) / 10
    graph = helper.make_graph(
        [
            helper.make_node("Add", ["x", "w"], ["sum"], name="add"),
            helper.make_node("Relu", ["sum"], ["act"], name="relu"),
            helper.make_node("Mul", ["act", "x"], ["y"], name="mul"),
        ],
        "uniform",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [size, size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [size, size])],
        [numpy_helper.from_array(w, "w")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


# Tools --------------------------------------------------------------------------


def ramiel_opt(*args: str | os.PathLike[str]) -> str:
    """Run ramiel-opt (this interpreter's) and return its output; fail on error."""
    command = [sys.executable, "-m", "ramiel_mlir.driver", *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def mlir_opt(text: str, *args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
    """Run upstream mlir-opt on `text`."""
    return subprocess.run(
        [MLIR_OPT, *map(str, args), "-"], input=text, capture_output=True, text=True, check=False
    )


def end_blocks(generic: str) -> str:
    """
    End every block of generic-form IR with `BLOCK_END`.

    In the generic form a region closes on a line starting with `}` (`})` or
    `}, {`) and a block that is not the first of its region starts with a
    `^label` line; nothing else starts a line that way.
    """
    lines: list[str] = []
    for line in generic.splitlines():
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        opens_region = bool(lines) and lines[-1].rstrip().endswith("{")
        if stripped.startswith("}") or (stripped.startswith("^") and not opens_region):
            lines.append(f"{indent}  {BLOCK_END}")
        lines.append(line)
    return "\n".join(lines) + "\n"


def module_of(*ops: str) -> str:
    """A generic-form module holding `ops`."""
    body = "".join(f"  {op}\n" for op in ops)
    return f'"builtin.module"() ({{\n{body}}}) : () -> ()\n'


def verify_with_irdl(generic: str, irdl_file: Path) -> subprocess.CompletedProcess[str]:
    """mlir-opt with `irdl_file` loaded, on `generic` with every block ended."""
    return mlir_opt(end_blocks(generic), "--allow-unregistered-dialect", f"--irdl-file={irdl_file}")


@pytest.fixture(scope="session")
def model_paths(model_cache: Path) -> Callable[[str], Path]:
    """Build (once per session) and return the path of a model of MODELS."""
    return lambda name: MODELS[name](model_cache)


# Upstream MLIR ------------------------------------------------------------------


@needs_mlir_opt
@pytest.mark.parametrize("dialect", sorted(IRDL_FILES))
def test_irdl_spec_is_valid_irdl(dialect: str) -> None:
    """mlir-opt verifies the spec as an IRDL program and registers the dialect."""
    spec = IRDL_FILES[dialect].read_text()
    assert mlir_opt(spec).returncode == 0, mlir_opt(spec).stderr
    loaded = mlir_opt("", f"--irdl-file={IRDL_FILES[dialect]}")
    assert loaded.returncode == 0, loaded.stderr


@needs_mlir_opt
def test_both_specs_load_together(tmp_path: Path) -> None:
    """
    Both dialects load from the concatenation of the specs.

    mlir-opt keeps only the last of several `--irdl-file` flags.
    """
    both = tmp_path / "ramiel.irdl.mlir"
    both.write_text("".join(IRDL_FILES[d].read_text() for d in sorted(IRDL_FILES)))
    ir = module_of('%0 = "dfg.none"() : () -> none', '"py.comment"() {text = "x"} : () -> ()')
    result = mlir_opt(ir, f"--irdl-file={both}")
    assert result.returncode == 0, result.stderr


@needs_mlir_opt
@pytest.mark.parametrize("model", sorted(MODELS))
def test_py_form_verifies_against_irdl(model: str, model_paths: Callable[[str], Path]) -> None:
    """The py dialect output for a model satisfies dialects/py.irdl.mlir."""
    generic = ramiel_opt(model_paths(model), "-p", "convert-dfg-to-py", "--print-op-generic")
    result = verify_with_irdl(generic, IRDL_FILES["py"])
    assert result.returncode == 0, result.stderr


@needs_mlir_opt
@pytest.mark.parametrize("model", sorted(MODELS))
def test_dfg_form_round_trips_through_mlir_opt(
    model: str, model_paths: Callable[[str], Path]
) -> None:
    """mlir-opt parses the dfg output, and ramiel-opt reads mlir-opt's print back unchanged."""
    generic = ramiel_opt(model_paths(model), "--print-op-generic", "--print-debuginfo")
    result = mlir_opt(
        generic,
        "--allow-unregistered-dialect",
        "--mlir-print-op-generic",
        "--mlir-print-debuginfo",
        "--mlir-print-local-scope",
    )
    assert result.returncode == 0, result.stderr
    ctx = make_context()
    ours = Parser(ctx, generic).parse_module()
    theirs = Parser(ctx, result.stdout).parse_module()
    theirs.verify()
    assert theirs.is_structurally_equivalent(ours)


@needs_mlir_opt
@pytest.mark.parametrize("size", [4, 5], ids=["inline-weight", "file-weight"])
def test_uniform_dfg_graph_verifies_against_irdl(size: int, model_cache: Path) -> None:
    """A dfg graph whose nodes take operands of one type satisfies dialects/dfg.irdl.mlir."""
    generic = ramiel_opt(_uniform_model(model_cache, size), "--print-op-generic")
    assert ("value = dense<" in generic) == (size == 4)
    result = verify_with_irdl(generic, IRDL_FILES["dfg"])
    assert result.returncode == 0, result.stderr


@needs_mlir_opt
@pytest.mark.parametrize(
    ("dialect", "ir", "message"),
    [
        (
            "dfg",
            '%0 = "dfg.weight"() {file = "m.onnx"} : () -> tensor<2xf32>',
            'attribute "weight_name" is expected but not provided',
        ),
        ("dfg", '%0 = "dfg.none"() : () -> tensor<2xf32>', "expected 'none'"),
        ("dfg", '"dfg.frobnicate"() : () -> ()', "unregistered operation 'dfg.frobnicate'"),
        ("py", '%0 = "py.name"() {id = "torch"} : () -> i64', "expected base type 'py.object'"),
        ("py", '"py.module"() ({}, {}) : () -> ()', "unexpected number of regions"),
    ],
)
def test_irdl_rejects_invalid_ir(dialect: str, ir: str, message: str) -> None:
    """The spec is not vacuous: mlir-opt rejects ops that break it."""
    result = verify_with_irdl(module_of(ir), IRDL_FILES[dialect])
    assert result.returncode != 0
    assert message in result.stderr


# Agreement with the Python definitions ------------------------------------------

BUILTIN_BASES: dict[type[Attribute], str] = {
    ArrayAttr: "#builtin.array",
    DenseArrayBase: "#builtin.dense_array",
    DenseIntOrFPElementsAttr: "#builtin.dense_int_or_fp_elements",
    DictionaryAttr: "#builtin.dictionary",
    FloatAttr: "#builtin.float",
    IntegerAttr: "#builtin.integer",
    StringAttr: "#builtin.string",
    UnitAttr: "#builtin.unit",
    FunctionType: "!builtin.function",
    NoneType: "!builtin.none",
    TensorType: "!builtin.tensor",
}
"""MLIR's names for the builtin attributes and types the dialects use."""

OptBases = frozenset[str] | None
"""The base names a constraint admits; None for any attribute."""


def _base_name(cls: type[Attribute]) -> str:
    if cls in BUILTIN_BASES:
        return BUILTIN_BASES[cls]
    return ("!" if issubclass(cls, TypeAttribute) else "#") + cls.name


def python_bases(constraint: AttrConstraint | RangeConstraint) -> OptBases:
    """The bases of an xDSL constraint (a range constraint's element constraint)."""
    while isinstance(constraint, RangeLengthConstraint | RangeOf):
        constraint = (
            constraint.constraint
            if isinstance(constraint, RangeLengthConstraint)
            else constraint.constr
        )
    assert isinstance(constraint, AttrConstraint), constraint
    bases = constraint.get_bases()
    return None if bases is None else frozenset(_base_name(b) for b in bases)


def irdl_bases(value: SSAValue) -> OptBases:
    """The bases an IRDL constraint value admits."""
    op = value.owner
    if isinstance(op, irdl.BaseOp):
        assert op.base_name is not None, "bases are named, not referenced"
        return frozenset({op.base_name.data})
    if isinstance(op, irdl.IsOp):
        return frozenset({_base_name(type(op.expected))})
    if isinstance(op, irdl.ParametricOp):
        root, *nested = (op.base_type.root_reference, *op.base_type.nested_references)
        return frozenset({f"!{root.data}.{nested[-1].data}"})
    if isinstance(op, irdl.AnyOfOp):
        parts = [irdl_bases(arg) for arg in op.args]
        return None if None in parts else frozenset().union(*parts)  # type: ignore[arg-type]
    assert isinstance(op, irdl.AnyOp), f"unexpected IRDL constraint {op}"
    return None


def _variadicity(definition: object) -> str:
    if isinstance(definition, VarOperandDef | VarResultDef):
        return "variadic"
    if isinstance(definition, OptOperandDef | OptResultDef):
        return "optional"
    return "single"


Field = tuple[str, str, OptBases]
"""An operand or result: name, variadicity (single/optional/variadic), bases."""


@dataclass
class Signature:
    """What the agreement test compares between an IRDL op and a Python op."""

    operands: list[Field] = field(default_factory=list[Field])
    results: list[Field] = field(default_factory=list[Field])
    regions: list[tuple[str, bool]] = field(default_factory=list[tuple[str, bool]])
    """Name and whether the region has exactly one block."""
    attributes: dict[str, OptBases] = field(default_factory=dict[str, OptBases])
    optional_attributes: dict[str, OptBases] = field(default_factory=dict[str, OptBases])


def python_signature(op: type[IRDLOperation]) -> Signature:
    """The signature of an xDSL op class, from the definition xDSL derives from it."""
    op_def = op.get_irdl_definition()
    assert not op_def.properties, f"{op_def.name} uses properties; the dialects use attributes"
    attrs = op_def.attributes.items()
    return Signature(
        operands=[(n, _variadicity(d), python_bases(d.constr)) for n, d in op_def.operands],
        results=[(n, _variadicity(d), python_bases(d.constr)) for n, d in op_def.results],
        regions=[(n, isinstance(d, SingleBlockRegionDef)) for n, d in op_def.regions],
        attributes={n: python_bases(d.constr) for n, d in attrs if not isinstance(d, OptionalDef)},
        optional_attributes={
            n: python_bases(d.constr) for n, d in attrs if isinstance(d, OptionalDef)
        },
    )


def irdl_signature(op: irdl.OperationOp) -> Signature:
    """The signature of an `irdl.operation`."""
    signature = Signature()
    for child in op.body.ops:
        match child:
            case irdl.OperandsOp() | irdl.ResultsOp():
                fields = [
                    (name.data, variadicity.data.value, irdl_bases(arg))
                    for name, variadicity, arg in zip(
                        child.names, child.variadicity.value, child.args, strict=True
                    )
                ]
                if isinstance(child, irdl.OperandsOp):
                    signature.operands = fields
                else:
                    signature.results = fields
            case irdl.RegionsOp():
                signature.regions = [
                    (name.data, _single_block(arg))
                    for name, arg in zip(child.names, child.args, strict=True)
                ]
            case irdl.AttributesOp():
                signature.attributes = {
                    name.data: irdl_bases(value)
                    for name, value in zip(
                        child.attribute_value_names, child.attribute_values, strict=True
                    )
                }
            case irdl.BaseOp(attributes={"optional_attribute": StringAttr(data=name)}):
                signature.optional_attributes[name] = irdl_bases(child.output)
            case _:
                pass
    return signature


def _single_block(region: SSAValue) -> bool:
    assert isinstance(region.owner, irdl.RegionOp)
    count = region.owner.number_of_blocks
    return count is not None and count.value.data == 1


def assert_agree(python: Signature, spec: Signature, where: str) -> None:
    """
    Same names, variadicity, regions and attribute optionality; same bases.

    A Python constraint with bases fixes the spec's; a Python `any` lets the
    spec state what the op's `verify_` checks instead.
    """

    def check_bases(name: str, want: OptBases, got: OptBases) -> None:
        assert want is None or want == got, f"{where} {name}: spec admits {got}, Python {want}"

    assert python.regions == spec.regions, f"{where} regions"
    for kind, ours, theirs in (
        ("operands", python.operands, spec.operands),
        ("results", python.results, spec.results),
    ):
        assert [f[:2] for f in ours] == [f[:2] for f in theirs], f"{where} {kind}"
        for (name, _, want), (_, _, got) in zip(ours, theirs, strict=True):
            check_bases(name, want, got)
    for kind, ours_attrs, theirs_attrs in (
        ("attributes", python.attributes, spec.attributes),
        ("optional attributes", python.optional_attributes, spec.optional_attributes),
    ):
        assert sorted(ours_attrs) == sorted(theirs_attrs), f"{where} {kind}"
        for name, want in ours_attrs.items():
            check_bases(name, want, theirs_attrs[name])


def _parse_spec(dialect: str) -> irdl.DialectOp:
    ctx = Context()
    ctx.load_dialect(Builtin)
    ctx.load_dialect(irdl.IRDL)
    path = IRDL_FILES[dialect]
    module = Parser(ctx, path.read_text(), str(path)).parse_module()
    module.verify()
    (spec,) = module.ops
    assert isinstance(spec, irdl.DialectOp)
    assert spec.sym_name.data == dialect
    return spec


@pytest.mark.parametrize("dialect", sorted(IRDL_FILES))
def test_irdl_matches_python_definitions(dialect: str) -> None:
    """Every op and type is in both places, with the same fields and constraint bases."""
    spec = _parse_spec(dialect)
    python = PYTHON_DIALECTS[dialect]
    spec_ops = {op.sym_name.data: op for op in spec.body.ops if isinstance(op, irdl.OperationOp)}
    python_ops = {Dialect.split_name(op.name)[1]: op for op in python.operations}
    assert sorted(spec_ops) == sorted(python_ops), f"{dialect} ops differ"
    spec_types = sorted(op.sym_name.data for op in spec.body.ops if isinstance(op, irdl.TypeOp))
    python_types = sorted(Dialect.split_name(a.name)[1] for a in python.attributes)
    assert spec_types == python_types, f"{dialect} types differ"
    for name, op in python_ops.items():
        assert issubclass(op, IRDLOperation)
        assert_agree(python_signature(op), irdl_signature(spec_ops[name]), f"{dialect}.{name}")
