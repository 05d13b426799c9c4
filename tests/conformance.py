"""
The ONNX node conformance suite, run against the generated code.

ONNX ships about 1,900 node test cases (`onnx.backend.test.case.node`): a model
of one operator (or its function body, `*_expanded`) with inputs and expected
outputs. `run_case` compiles a case with one of the backends of
`ramiel_mlir.onnx_backend` and gives one of four outcomes:

- passed: every output matches within the case's tolerance (ONNX's own check,
  `Runner.assert_similar_outputs`);
- unsupported: compiling raised `RamielError`, whose message names the node and
  the operator, opset or attribute;
- undefined by the spec: the case's expected data depends on a result the ONNX
  spec leaves undefined (a float cast to an integer type out of its range, NaN or
  infinity: see `undefined.py`). Onnx computed it with the collecting machine's
  conversions, so it differs between processors. Only the defined elements are
  compared; the case is counted apart, with the reason, never as passed;
- failed: anything else (a wrong answer, a crash, an error at run time).

The cases expected to be unsupported are listed in a checked-in file
(`EXPECTED_PATH`, written by `tools/conformance.py`); the tests hold every case
to it.
"""

from __future__ import annotations

import os
import pickle
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import onnx
from undefined import UndefinedCast, undefined_casts

from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.onnx_backend import ParallelBackend, RamielBackend
from ramiel_mlir.weights import private_cache_root

if TYPE_CHECKING:
    from onnx.backend.test.case.test_case import TestCase

EXPECTED_PATH = Path(__file__).resolve().parent.parent / "tests" / "onnx_backend_unsupported.txt"
"""The checked-in list of cases expected to be unsupported, with their messages."""

BACKENDS: dict[str, type[RamielBackend]] = {"serial": RamielBackend, "parallel": ParallelBackend}
"""The modes the suite runs in: serial code, and the parallelize pipeline on two lanes."""

Status = Literal["passed", "unsupported", "undefined", "failed"]


@dataclass(frozen=True)
class Outcome:
    """How one case ended, and why if it did not pass."""

    status: Status
    message: str = ""


def _collect() -> list[TestCase]:
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        # Some cases compute their expected outputs with overflowing casts on purpose.
        warnings.simplefilter("ignore")
        return collect_testcases(None)


def node_cases(cache: bool = True) -> list[TestCase]:
    """
    The node test cases of the installed onnx, in the suite's order.

    Building them runs every reference implementation (about 8 s), so they are
    cached beside the compiler's blob store, per onnx and numpy version.
    """
    if not cache:
        return _collect()
    path = private_cache_root() / f"onnx-node-cases-{onnx.__version__}-np{np.__version__}.pickle"
    if path.exists():
        try:
            return pickle.loads(path.read_bytes())  # our own cache file
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            pass
    cases = _collect()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")  # concurrent test workers
    partial.write_bytes(pickle.dumps(cases))
    partial.replace(path)
    return cases


def as_array(value: object) -> object:
    """A data set's value as onnx's runner holds it (TensorProtos as numpy arrays)."""
    if isinstance(value, onnx.TensorProto):
        return onnx.numpy_helper.to_array(value)
    return value


def _one_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {' '.join(str(error).split())}"[:2000]


def _defined_part(
    outputs: list[object], names: list[str], undefined: list[UndefinedCast]
) -> list[object]:
    """Each output without the elements an undefined cast computed (flattened where cut)."""
    masks = {cast.output: cast.mask for cast in undefined}
    return [
        np.asarray(value)[~masks[name]] if name in masks else value
        for value, name in zip(outputs, names, strict=True)
    ]


def _undefined_reason(undefined: list[UndefinedCast], names: list[str]) -> str:
    compared = [u for u in undefined if u.output in names]
    note = (
        "; the defined elements match"
        if len(compared) == len(undefined)
        else ("; the defined elements of the outputs match, the rest is not compared")
    )
    return "; ".join(u.describe() for u in undefined) + note


def run_case(case: TestCase, mode: str = "serial") -> Outcome:
    """
    Compile `case` in `mode` (a key of BACKENDS), run every data set, compare.

    Where the expected data depends on results the spec leaves undefined, only the
    defined elements are compared and the outcome is "undefined", with the reason.
    """
    from onnx.backend.test.runner import Runner

    assert case.model is not None
    assert case.data_sets is not None
    backend = BACKENDS[mode]
    try:
        rep = backend.prepare(case.model)
    except RamielError as error:
        return Outcome("unsupported", " ".join(str(error).split()))
    except Exception as error:  # a crash of the compiler is a failure, whatever it is
        return Outcome("failed", f"compiling raised {_one_line(error)}")
    names = [o.name for o in case.model.graph.output]
    reasons: list[str] = []
    for index, (inputs, expected) in enumerate(case.data_sets):
        feeds = [as_array(v) for v in inputs]
        try:
            outputs = rep.run(feeds)
        except Exception as error:  # the generated code raised
            return Outcome("failed", f"data set {index}: running raised {_one_line(error)}")
        undefined = undefined_casts(case.model, feeds)
        wanted = [as_array(v) for v in expected]
        if undefined:
            reasons.append(_undefined_reason(undefined, names))
            outputs = _defined_part(list(outputs), names, undefined)
            wanted = _defined_part(wanted, names, undefined)
        try:
            with np.errstate(all="ignore"):
                Runner.assert_similar_outputs(wanted, outputs, rtol=case.rtol, atol=case.atol)
        except (AssertionError, TypeError, ValueError) as error:
            return Outcome("failed", f"data set {index}: wrong result: {_one_line(error)}")
    if reasons:
        return Outcome("undefined", reasons[0])
    return Outcome("passed")


HEADER = """\
# ONNX node test cases that ramiel-mlir reports as unsupported, with the message of
# the RamielError raised while compiling them. Generated by tools/conformance.py from
# onnx {version}; regenerate it when the compiler changes and review the difference.
# tests/test_onnx_backend.py holds every case to it, in serial and parallel mode.
"""

_LINE = re.compile(r"^(?P<name>test_\w+): (?P<message>.*)$")


def read_expected(path: Path = EXPECTED_PATH) -> dict[str, str]:
    """Case name -> expected unsupported message."""
    expected: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise ValueError(f"{path}:{number}: expected 'test_name: message'")
        expected[match["name"]] = match["message"]
    return expected


def write_expected(unsupported: Mapping[str, str], path: Path = EXPECTED_PATH) -> None:
    """Write the list, sorted by case name."""
    lines = [HEADER.format(version=onnx.__version__)]
    lines += [f"{name}: {unsupported[name]}\n" for name in sorted(unsupported)]
    path.write_text("".join(lines))


def _qualified(node: onnx.NodeProto) -> str:
    if node.domain in ("", "ai.onnx"):
        return node.op_type
    return f"{node.domain}::{node.op_type}"


def op_under_test(case: TestCase, cases: Mapping[str, TestCase]) -> str:
    """
    The operator a case tests: an `_expanded` case (the operator's function body)
    tests the operator of the case it expands, any other the node that computes
    the first graph output.
    """
    assert case.model is not None
    base = case.name.partition("_expanded")[0]
    if base != case.name and base in cases:
        return op_under_test(cases[base], cases)
    graph = case.model.graph
    producers = {output: node for node in graph.node for output in node.output}
    node = producers.get(graph.output[0].name) if graph.output else None
    return _qualified(node if node is not None else graph.node[-1])


def opset_of(case: TestCase, op: str) -> int:
    """The opset version a case imports for the domain of `op`."""
    assert case.model is not None
    domain = op.rpartition("::")[0]
    for entry in case.model.opset_import:
        if entry.domain in ((domain,) if domain else ("", "ai.onnx")):
            return entry.version
    return 0


def attributes_of(case: TestCase) -> set[str]:
    """The attribute names set on the case's nodes (one node unless expanded)."""
    assert case.model is not None
    return {a.name for n in case.model.graph.node[:1] for a in n.attribute}


def names(cases: Iterable[TestCase]) -> list[str]:
    """The case names."""
    return [c.name for c in cases]


# Older opsets. The node suite tests each operator at its latest opset (a few
# at one or two earlier ones); models exported years ago use older versions,
# whose semantics sometimes differ. These single nodes at old opsets (7 and
# later: ONNX Runtime's support) are compared with ONNX Runtime.

OldCase = tuple[onnx.ModelProto, dict[str, np.ndarray]]


def _old_model(
    op_type: str,
    opset: int,
    inputs: dict[str, np.ndarray],
    weights: Mapping[str, np.ndarray | np.generic] | None = None,
    outputs: int = 1,
    **attrs: object,
) -> OldCase:
    """A one-node model at `opset` and its feeds; output types from shape inference."""
    from onnx import helper, numpy_helper

    node = helper.make_node(
        op_type,
        [*inputs, *(weights or {})],
        [f"y{i}" for i in range(outputs)],
        **attrs,  # type: ignore[arg-type]
    )
    graph = helper.make_graph(
        [node],
        f"{op_type.lower()}_{opset}",
        [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
            for n, v in inputs.items()
        ],
        [helper.make_value_info(f"y{i}", onnx.TypeProto()) for i in range(outputs)],
        [numpy_helper.from_array(np.asarray(v), n) for n, v in (weights or {}).items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    del model.graph.output[:]
    model.graph.output.extend(inferred.graph.output)
    return model, inputs


def older_opset_cases() -> dict[str, OldCase]:
    """Single nodes at opsets older than the suite's, where the operator's definition changed."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 6)).astype(np.float32)
    ints = rng.integers(-5, 6, (2, 3, 4)).astype(np.int64)
    stats = {n: rng.random(3).astype(np.float32) + 0.5 for n in ("s", "b", "m", "v")}
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    return {
        "Softmax-7-coerced": _old_model("Softmax", 7, {"x": x}),
        "Softmax-11-coerced": _old_model("Softmax", 11, {"x": x}, axis=1),
        "LogSoftmax-11-coerced": _old_model("LogSoftmax", 11, {"x": x}, axis=2),
        "Hardmax-11-coerced": _old_model("Hardmax", 11, {"x": x}, axis=1),
        "Clip-7-attributes": _old_model("Clip", 7, {"x": x}, min=-0.5, max=0.7),
        "Clip-11-inputs": _old_model(
            "Clip", 11, {"x": x}, {"lo": np.float32(-0.2), "hi": np.float32(0.3)}
        ),
        "Pad-7-reflect": _old_model(
            "Pad", 7, {"x": x}, pads=[0, 0, 1, 2, 0, 0, 2, 1], mode="reflect"
        ),
        "Pad-11-edge": _old_model(
            "Pad", 11, {"x": x}, {"pads": np.array([0, 1, 0, 2, 0, 0, 1, 0])}, mode="edge"
        ),
        "Slice-7-attributes": _old_model(
            "Slice", 7, {"x": x}, starts=[1, -3], ends=[3, 100], axes=[1, 3]
        ),
        "Split-7-attribute": _old_model("Split", 7, {"x": x}, outputs=2, axis=3, split=[2, 4]),
        "Split-11-equal": _old_model("Split", 11, {"x": x}, outputs=3, axis=1),
        "Squeeze-7-axes": _old_model("Squeeze", 7, {"x": x[:1]}, axes=[0]),
        "Unsqueeze-11-axes": _old_model("Unsqueeze", 11, {"x": x}, axes=[0, 5]),
        "ReduceSum-11-axes": _old_model("ReduceSum", 11, {"x": x}, axes=[1, 3], keepdims=0),
        "ReduceMean-11-axes": _old_model("ReduceMean", 11, {"x": x}, axes=[-2]),
        "ReduceMax-13-axes": _old_model("ReduceMax", 13, {"x": x}, axes=[-1]),
        "ReduceProd-11-all": _old_model("ReduceProd", 11, {"x": x[:1, :1]}),
        "BatchNormalization-7": _old_model("BatchNormalization", 7, {"x": x}, stats),
        "BatchNormalization-9": _old_model("BatchNormalization", 9, {"x": x}, stats, epsilon=0.01),
        "Dropout-7-ratio": _old_model("Dropout", 7, {"x": x}, ratio=0.3),
        "TopK-7-attribute": _old_model("TopK", 7, {"x": x}, outputs=2, k=3),
        "TopK-10-input": _old_model("TopK", 10, {"x": x}, {"k": np.array([2])}, outputs=2, axis=1),
        "ArgMax-11": _old_model("ArgMax", 11, {"x": x}, axis=2, keepdims=0),
        "Upsample-7-attribute": _old_model("Upsample", 7, {"x": x}, scales=[1.0, 1.0, 2.0, 3.0]),
        "Upsample-9-linear": _old_model(
            "Upsample", 9, {"x": x}, {"s": np.array([1, 1, 2, 1.5], np.float32)}, mode="linear"
        ),
        "Resize-10-nearest-down": _old_model(
            "Resize", 10, {"x": x}, {"s": np.array([1, 1, 0.5, 0.7], np.float32)}
        ),
        "Resize-11-cubic": _old_model(
            "Resize",
            11,
            {"x": x},
            {"roi": np.array([], np.float32), "s": np.array([1, 1, 1.5, 0.5], np.float32)},
            mode="cubic",
        ),
        "Gemm-7-broadcast": _old_model(
            "Gemm",
            7,
            {"a": x[0, 0]},
            {"b": x[0, 1].T.copy(), "c": x[1, 1, 0, :4]},
            alpha=0.5,
            beta=2.0,
        ),
        "Conv-7-pads": _old_model("Conv", 7, {"x": x}, {"w": w[:, :, :2]}, pads=[1, 0, 1, 2]),
        "ConvTranspose-7-strides": _old_model(
            "ConvTranspose",
            7,
            {"x": x},
            {"w": w.transpose(1, 0, 2, 3).copy()},
            strides=[2, 1],
            pads=[1, 1, 0, 1],
        ),
        "MaxPool-8-ceil": _old_model("MaxPool", 8, {"x": x}, kernel_shape=[3, 3], strides=[2, 2]),
        "AveragePool-10-ceil": _old_model(
            "AveragePool", 10, {"x": x}, kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1
        ),
        "AveragePool-7-include-pad": _old_model(
            "AveragePool", 7, {"x": x}, kernel_shape=[2, 3], pads=[1, 1, 0, 1], count_include_pad=1
        ),
        "LeakyRelu-7": _old_model("LeakyRelu", 7, {"x": x}, alpha=0.2),
        "Selu-7": _old_model("Selu", 7, {"x": x}, alpha=1.5, gamma=1.1),
        "Elu-7": _old_model("Elu", 7, {"x": x}, alpha=0.5),
        "HardSigmoid-7": _old_model("HardSigmoid", 7, {"x": x}, alpha=0.3, beta=0.4),
        "PRelu-9": _old_model("PRelu", 9, {"x": x}, {"slope": stats["s"].reshape(3, 1, 1)}),
        "Gather-11-negative": _old_model("Gather", 11, {"x": x}, {"i": np.array([-1, 0])}, axis=2),
        "Flatten-9": _old_model("Flatten", 9, {"x": x}, axis=2),
        "Expand-8": _old_model("Expand", 8, {"x": x[:, :1]}, {"shape": np.array([2, 3, 1, 1])}),
        "Tile-7": _old_model("Tile", 7, {"x": x}, {"r": np.array([1, 2, 1, 2])}),
        "Where-9": _old_model("Where", 9, {"c": x > 0, "x": x}, {"y": np.float32(1.5)}),
        "Mod-10-integers": _old_model("Mod", 10, {"a": ints}, {"b": np.array([3, -2, 4, 5])}),
        "Div-7-integers": _old_model("Div", 7, {"a": ints}, {"b": np.array([3, -2, 4, 5])}),
        "Max-8-broadcast": _old_model("Max", 8, {"a": x}, {"b": x[0, 0, 0]}),
        "Mean-8": _old_model("Mean", 8, {"a": x, "b": x * 2}),
        "CumSum-11-reverse": _old_model(
            "CumSum", 11, {"x": x}, {"axis": np.array(2)}, reverse=1, exclusive=1
        ),
        "Cast-9-float-to-int": _old_model("Cast", 9, {"x": x * 4}, to=onnx.TensorProto.INT32),
        "Range-11": _old_model(
            "Range", 11, {}, {"a": np.array(2), "b": np.array(11), "d": np.array(3)}
        ),
        "ConstantOfShape-9": _old_model("ConstantOfShape", 9, {}, {"s": np.array([2, 3])}),
        "Einsum-12": _old_model("Einsum", 12, {"a": x[0], "b": x[1]}, equation="cij,ckj->cik"),
        "InstanceNormalization-7": _old_model(
            "InstanceNormalization", 7, {"x": x}, {"s": stats["s"], "b": stats["b"]}
        ),
        "LRN-7": _old_model("LRN", 7, {"x": x}, size=3, alpha=0.001),
    }


def check_against_onnxruntime(case: OldCase, mode: str = "serial") -> Outcome:
    """Compile `case` in `mode`, run it, and compare with ONNX Runtime (rtol 1e-5)."""
    import onnxruntime as ort

    model, feeds = case
    try:
        rep = BACKENDS[mode].prepare(model)
    except RamielError as error:
        return Outcome("unsupported", " ".join(str(error).split()))
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    expected = session.run(None, feeds)
    try:
        actual = rep.run(list(feeds.values()))
        for a, e in zip(actual, expected, strict=True):
            e = np.asarray(e)
            assert a.dtype == e.dtype, f"dtype {a.dtype}, expected {e.dtype}"
            np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6)
    except Exception as error:  # a wrong result or a crash at run time
        return Outcome("failed", _one_line(error))
    return Outcome("passed")
