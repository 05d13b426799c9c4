"""
`ramiel-opt model.onnx [passes] --verify`: check the compiled code against ONNX Runtime.

The model is compiled with the given passes (a serial pipeline or a parallel plan
alike), and the generated code and ONNX Runtime run on the same seeded random
inputs of the compiled shapes and types. Each output's largest absolute and
relative error is reported. If an output differs beyond the tolerance, the
first diverging node is located: a probe copy of the model lists every node's
results as graph outputs, is compiled with the same passes and run on both
sides, and the first node in ONNX order whose result differs (while the values
it reads agree, since they come earlier) is named with its op type and error.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from xdsl.passes import ModulePass

from ramiel_mlir.diagnostics import RamielError, quiet

if TYPE_CHECKING:
    import onnx

RTOL = 1e-4
"""Relative tolerance of a float comparison (as `numpy.isclose`)."""

ATOL = 1e-5
"""Absolute tolerance of a float comparison; integers and booleans must be equal."""

SEED = 0
"""The seed of the random inputs."""


@dataclass(frozen=True)
class Difference:
    """How one value of the generated code differs from ONNX Runtime's."""

    name: str
    max_abs: float
    max_rel: float
    close: bool
    note: str = ""

    def line(self) -> str:
        status = "ok" if self.close else "DIFFERS"
        note = f" ({self.note})" if self.note else ""
        return (
            f"{self.name}: max abs error {self.max_abs:.3g}, max rel error {self.max_rel:.3g}"
            f" {status}{note}"
        )


@dataclass(frozen=True)
class Divergence:
    """The first ONNX node whose result differs."""

    node: str
    op_type: str
    difference: Difference

    def line(self) -> str:
        d = self.difference
        return (
            f"first diverging node: '{self.node}' ({self.op_type}), output '{d.name}': "
            f"max abs error {d.max_abs:.3g}, max rel error {d.max_rel:.3g}"
        )


@dataclass
class VerifyReport:
    """What --verify found."""

    model: str
    outputs: list[Difference] = field(default_factory=list[Difference])
    divergence: Divergence | None = None

    @property
    def ok(self) -> bool:
        """Whether every output agrees within the tolerance."""
        return all(d.close for d in self.outputs)

    def text(self) -> str:
        lines = [
            f"verify {self.model} against ONNX Runtime (seed {SEED}, rtol {RTOL:g}, atol {ATOL:g}):"
        ]
        lines += [f"  {d.line()}" for d in self.outputs]
        if self.divergence is not None:
            lines.append(f"  {self.divergence.line()}")
        return "\n".join(lines) + "\n"

    def summary(self) -> str:
        """The one-line error for a divergence."""
        wrong = [d.name for d in self.outputs if not d.close]
        where = f"; {self.divergence.line()}" if self.divergence is not None else ""
        return f"{self.model}: output {', '.join(wrong)} differs from ONNX Runtime{where}"


def compare(name: str, actual: Any, expected: Any) -> Difference:
    """The largest errors of `actual` against `expected` and whether they are close."""
    got, want = np.asarray(actual), np.asarray(expected)
    if got.shape != want.shape:
        note = f"shape {list(got.shape)}, ONNX Runtime {list(want.shape)}"
        return Difference(name, float("inf"), float("inf"), False, note)
    if got.size == 0:
        return Difference(name, 0.0, 0.0, True)
    if want.dtype.kind in "biu" or want.dtype == np.bool_:
        wrong = got != want
        error = np.abs(got.astype(np.float64) - want.astype(np.float64))
        relative = error / np.maximum(np.abs(want.astype(np.float64)), 1.0)
        return Difference(name, float(error.max()), float(relative.max()), not wrong.any())
    got64, want64 = got.astype(np.float64), want.astype(np.float64)
    same_nan = np.isnan(got64) & np.isnan(want64)
    error = np.where(same_nan, 0.0, np.abs(got64 - want64))
    error = np.where(got64 == want64, 0.0, error)  # equal infinities
    relative = error / np.maximum(np.abs(want64), np.finfo(np.float64).tiny)
    close = np.isclose(got64, want64, rtol=RTOL, atol=ATOL, equal_nan=True)
    return Difference(
        name,
        float(np.nan_to_num(error.max(), nan=np.inf)),
        float(np.nan_to_num(relative.max(), nan=np.inf)),
        bool(close.all()),
    )


def random_inputs(
    path: str, input_shapes: Mapping[str, Sequence[int]], seed: int = SEED
) -> dict[str, np.ndarray]:
    """Seeded random values for the model's inputs, of the shapes and types it compiles for."""
    from xdsl.dialects.builtin import TensorType

    from ramiel_mlir.dialects import dfg
    from ramiel_mlir.frontend.onnx import import_onnx
    from ramiel_mlir.tensors import numpy_dtype

    module = import_onnx(path, input_shapes)
    graph = next(op for op in module.ops if isinstance(op, dfg.GraphOp))
    names = [name.data for name in graph.input_names.data] if graph.input_names else []
    rng = np.random.default_rng(seed)
    inputs: dict[str, np.ndarray] = {}
    for name, arg in zip(names, graph.block.args, strict=True):
        if not isinstance(arg.type, TensorType):
            raise RamielError(f"--verify: input '{name}' is not a tensor ({arg.type})")
        shape = tuple(arg.type.get_shape())
        try:
            dtype = numpy_dtype(arg.type.get_element_type())
        except KeyError:
            raise RamielError(
                f"--verify: input '{name}' has type {arg.type}, which it cannot draw"
            ) from None
        if dtype == np.bool_:
            inputs[name] = rng.random(shape) < 0.5
        elif dtype.kind in "iu":
            inputs[name] = rng.integers(0, 3, shape).astype(dtype)
        else:
            inputs[name] = rng.standard_normal(shape).astype(dtype)
    return inputs


def _run_onnxruntime(model: onnx.ModelProto, inputs: Mapping[str, np.ndarray]) -> list[Any]:
    try:
        import onnxruntime
    except ImportError:
        raise RamielError("--verify needs onnxruntime (pip install onnxruntime)") from None
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    try:
        session = onnxruntime.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        return list(session.run(None, dict(inputs)))
    except Exception as error:  # onnxruntime's errors have no common base class
        message = " ".join(str(error).split())
        raise RamielError(f"--verify: ONNX Runtime cannot run the model: {message}") from None


def _run_compiled(
    path: str,
    passes: Sequence[ModulePass],
    input_shapes: Mapping[str, Sequence[int]],
    inputs: Mapping[str, np.ndarray],
) -> list[Any]:
    import torch

    from ramiel_mlir.api import make_context, run_pipeline
    from ramiel_mlir.backend.python_target import PythonTarget
    from ramiel_mlir.frontend.onnx import import_onnx

    with tempfile.TemporaryDirectory() as directory:
        source = Path(directory) / "model.py"
        weights = source.with_suffix(".weights.pt")
        ctx = make_context()
        module = import_onnx(path, input_shapes)
        run_pipeline(ctx, module, passes)
        with source.open("w") as out:
            PythonTarget(weights=str(weights)).emit(ctx, module, out)
        from ramiel_mlir.api import import_generated

        model = import_generated(source).load_model(weights)
        with torch.no_grad():
            result = model(*(torch.from_numpy(np.array(a)) for a in inputs.values()))
    results = result if isinstance(result, tuple) else (result,)
    return [r.numpy() if isinstance(r, torch.Tensor) else r for r in results]


def verify_onnx(
    path: str,
    passes: Sequence[ModulePass],
    input_shapes: Mapping[str, Sequence[int]] | None = None,
) -> VerifyReport:
    """Compile `path` with `passes`, compare it with ONNX Runtime, and locate a divergence."""
    import onnx

    shapes = dict(input_shapes or {})
    inputs = random_inputs(path, shapes)
    model = onnx.load(path)
    expected = _run_onnxruntime(model, inputs)
    actual = _run_compiled(path, passes, shapes, inputs)
    names = [output.name for output in model.graph.output]
    report = VerifyReport(Path(path).name)
    for name, got, want in zip(names, actual, expected, strict=True):
        report.outputs.append(_compare_value(name, got, want))
    if not report.ok:
        report.divergence = first_divergence(path, model, passes, shapes, inputs)
    return report


def _compare_value(name: str, got: Any, want: Any) -> Difference:
    if isinstance(want, list) or isinstance(got, list | tuple):
        return Difference(name, 0.0, 0.0, True, "a sequence: not compared")
    return compare(name, got, want)


def probe_model(model: onnx.ModelProto) -> tuple[onnx.ModelProto, list[tuple[str, str, str, int]]]:
    """
    A copy of `model` whose graph outputs are, after the model's own, every tensor a
    node computes; and, in node order, each node's (name, op type, value, index of
    the value among the copy's outputs).
    """
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model)
    types = {v.name: v for v in [*inferred.graph.value_info, *inferred.graph.output]}
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    index = {output.name: i for i, output in enumerate(probe.graph.output)}
    values: list[tuple[str, str, str, int]] = []
    for node in probe.graph.node:
        for value in node.output:
            info = types.get(value)
            if value and value not in index and info is not None:
                if not info.type.HasField("tensor_type"):
                    continue
                probe.graph.output.append(info)
                index[value] = len(probe.graph.output) - 1
            if value in index:
                values.append((node.name or node.output[0], node.op_type, value, index[value]))
    return probe, values


def first_divergence(
    path: str,
    model: onnx.ModelProto,
    passes: Sequence[ModulePass],
    input_shapes: Mapping[str, Sequence[int]],
    inputs: Mapping[str, np.ndarray],
) -> Divergence | None:
    """The first node, in ONNX order, whose result differs between the two runs."""
    import onnx

    probe, values = probe_model(model)
    with tempfile.TemporaryDirectory() as directory:
        probe_path = str(Path(directory) / Path(path).name)
        onnx.save(probe, probe_path)
        expected = _run_onnxruntime(probe, inputs)
        with quiet():  # the probe's plan was explained for the model itself
            actual = _run_compiled(probe_path, passes, input_shapes, inputs)
    for node, op_type, value, index in values:
        difference = _compare_value(value, actual[index], expected[index])
        if not difference.close:
            return Divergence(node, op_type, difference)
    return None
