"""
The `ramiel-opt` command line, run as a user runs it (a subprocess).

Every bad input is one stderr line `ramiel-opt: error: ...` with exit code 1,
no traceback and no output file left behind; `-t python -o FILE` writes a
self-contained Python file and its weights, whose outputs match ONNX Runtime.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from ramiel_mlir.registry import get_all_passes

RAMIEL_OPT = Path(sys.executable).with_name("ramiel-opt")


def ramiel_opt(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ramiel-opt console script."""
    command = [str(RAMIEL_OPT), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, check=False)


# Models -------------------------------------------------------------------------


def _value(name: str, shape: list[int | str], elem: int = TensorProto.FLOAT) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def _save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def small_cnn() -> onnx.ModelProto:
    """Conv -> Relu -> GlobalAveragePool -> Flatten -> Gemm, random weights."""
    rng = np.random.default_rng(0)

    def init(name: str, *shape: int) -> TensorProto:
        return numpy_helper.from_array(rng.normal(size=shape).astype(np.float32), name)

    node = helper.make_node
    graph = helper.make_graph(
        [
            node("Conv", ["x", "conv.w", "conv.b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
            node("Relu", ["c"], ["r"], name="relu"),
            node("GlobalAveragePool", ["r"], ["p"], name="pool"),
            node("Flatten", ["p"], ["f"], name="flatten"),
            node("Gemm", ["f", "fc.w", "fc.b"], ["y"], name="fc", transB=1),
        ],
        "small_cnn",
        [_value("x", [1, 3, 8, 8])],
        [_value("y", [1, 5])],
        [init("conv.w", 4, 3, 3, 3), init("conv.b", 4), init("fc.w", 5, 4), init("fc.b", 5)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _single_node(op_type: str, shape: list[int | str]) -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node(op_type, ["x"], ["y"], name="n")],
        "single",
        [_value("x", shape)],
        [_value("y", shape)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.fixture(scope="session")
def cnn_path(model_cache: Path) -> Path:
    """small_cnn saved once per session."""
    return _save(small_cnn(), model_cache / "small_cnn.onnx")


# --help -------------------------------------------------------------------------


def test_help_lists_every_pass_with_a_summary() -> None:
    """Each registered pass has one `--NAME  summary.` line in --help."""
    result = ramiel_opt("--help")
    assert result.returncode == 0, result.stderr
    listed = dict(re.findall(r"^  --([a-z][a-z-]*) +(\S.*)$", result.stdout, re.MULTILINE))
    passes = sorted(get_all_passes())
    assert sorted(name for name in listed if name in passes) == passes
    for name in passes:
        summary = listed[name]
        assert summary.endswith("."), f"--{name}: {summary!r}"
        assert len(summary.split()) >= 3, f"--{name}: {summary!r}"


# Errors -------------------------------------------------------------------------

BadInput = Callable[[Path, Path], list[str | Path]]
"""Writes what a case needs into a directory and returns ramiel-opt's arguments."""


def _write(path: Path, data: bytes | str) -> Path:
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    return path


BAD_INPUTS: dict[str, tuple[BadInput, str]] = {
    "missing-file": (
        lambda d, _: [d / "missing.onnx"],
        "missing.onnx: no such file",
    ),
    "truncated-onnx": (
        lambda d, cnn: [_write(d / "cut.onnx", cnn.read_bytes()[: cnn.stat().st_size // 2])],
        "cut.onnx: not a valid ONNX model",
    ),
    "random-bytes": (
        lambda d, _: [_write(d / "noise.onnx", np.random.default_rng(1).bytes(4096))],
        "noise.onnx: not a valid ONNX model",
    ),
    "text-as-onnx": (
        lambda d, _: [_write(d / "notes.onnx", "graph main(x) { relu }\n")],
        "notes.onnx: not a valid ONNX model",
    ),
    "unsupported-op": (
        lambda d, _: [_save(_single_node("MeanVarianceNormalization", [2, 3]), d / "mvn.onnx")],
        "node 'n' (MeanVarianceNormalization): operator 'MeanVarianceNormalization' is not "
        "supported",
    ),
    "symbolic-dimension": (
        lambda d, _: [_save(_single_node("Relu", ["batch", 3]), d / "symbolic.onnx")],
        "input 'x' has unknown dimensions (batch); fix them with --input-shape x=D0,D1,...",
    ),
    "bad-input-shape": (
        lambda d, _: [
            _save(_single_node("Relu", ["batch", 3]), d / "symbolic.onnx"),
            "--input-shape",
            "x=-1,3",
        ],
        "invalid --input-shape 'x=-1,3'",
    ),
    "unknown-pass-flag": (
        lambda _, cnn: [cnn, "--no-such-pass"],
        "unrecognized arguments: --no-such-pass",
    ),
    "unknown-pass-in-pipeline": (
        lambda _, cnn: [cnn, "-p", "dce,no-such-pass"],
        "invalid pass pipeline: Unrecognized passes: ['no-such-pass']",
    ),
    "unknown-pass-option": (
        lambda _, cnn: [cnn, "--merge-clusters=lanes=two"],
        "invalid pass pipeline",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_error_line_and_no_output(
    case: str, tmp_path: Path, cnn_path: Path
) -> None:
    """One `ramiel-opt: error:` line, exit code 1, nothing on stdout or on disk."""
    make_args, message = BAD_INPUTS[case]
    args = make_args(tmp_path, cnn_path)
    before = set(tmp_path.iterdir())
    result = ramiel_opt(*args, "-t", "python", "-o", tmp_path / "out.py", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ramiel-opt: error: ")
    assert message in lines[0]
    assert set(tmp_path.iterdir()) == before


def test_output_into_a_missing_directory_is_an_error(tmp_path: Path, cnn_path: Path) -> None:
    """The output location is checked before the model is compiled."""
    out = tmp_path / "no" / "such" / "out.py"
    result = ramiel_opt(cnn_path, "-t", "python", "-o", out)
    assert result.returncode == 1
    assert (
        result.stderr == f"ramiel-opt: error: cannot write {out}: no such directory {out.parent}\n"
    )
    assert not (tmp_path / "no").exists()


# The python target --------------------------------------------------------------


def _imported_modules(source: str) -> set[str]:
    """The top-level packages a Python source imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0
            assert node.module is not None
            names.add(node.module.split(".")[0])
    return names


RUN_GENERATED = """
import runpy, sys, torch
for name in ("xdsl", "onnx", "onnxruntime", "ramiel_mlir", "numpy"):
    sys.modules[name] = None  # importing any of them now fails
generated, inputs, outputs = sys.argv[1:]
model = runpy.run_path(generated)["load_model"]()
with torch.no_grad():
    torch.save(model(*torch.load(inputs)), outputs)
"""
"""Runs a generated file in a fresh interpreter where the compiler's packages cannot load."""


def run_generated(source: Path, inputs: list[np.ndarray], work: Path) -> np.ndarray:
    """The output of the generated model on `inputs`, computed by a separate process."""
    torch.save([torch.from_numpy(a) for a in inputs], work / "inputs.pt")
    command = [sys.executable, "-c", RUN_GENERATED, source, work / "inputs.pt", work / "out.pt"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return torch.load(work / "out.pt").numpy()


def onnxruntime_output(model: Path, inputs: list[np.ndarray]) -> np.ndarray:
    """The reference output of an ONNX model."""
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    feeds = {i.name: a for i, a in zip(session.get_inputs(), inputs, strict=True)}
    return np.asarray(session.run(None, feeds)[0])


def test_python_target_writes_a_self_contained_model(tmp_path: Path, cnn_path: Path) -> None:
    """`-t python -o` writes FILE and FILE.weights.pt; FILE needs only torch and the stdlib."""
    out = tmp_path / "model_par.py"
    result = ramiel_opt(cnn_path, "-t", "python", "-o", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model_par.py", "model_par.weights.pt"]
    imported = _imported_modules(out.read_text())
    assert "torch" in imported
    assert imported <= {"torch"} | set(sys.stdlib_module_names)
    x = np.random.default_rng(2).normal(size=(1, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(
        run_generated(out, [x], tmp_path), onnxruntime_output(cnn_path, [x]), rtol=1e-5, atol=1e-5
    )


def test_model_with_external_data(tmp_path: Path) -> None:
    """Weights in a `.onnx.data` file beside the model are read from there."""
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    path = model_dir / "cnn.onnx"
    onnx.save_model(
        small_cnn(),
        path,
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="cnn.onnx.data",
        size_threshold=0,
    )
    assert (model_dir / "cnn.onnx.data").stat().st_size > 0
    out = tmp_path / "cnn.py"
    result = ramiel_opt(path, "-t", "python", "-o", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    x = np.random.default_rng(3).normal(size=(1, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(
        run_generated(out, [x], tmp_path), onnxruntime_output(path, [x]), rtol=1e-5, atol=1e-5
    )


# Pass flags ---------------------------------------------------------------------


def test_pass_flags_and_pipelines_keep_their_order() -> None:
    """/// `--NAME=OPTIONS` flags and `-p` specs form one pipeline, in command-line order."""
    from ramiel_mlir.driver import split_pass_flags

    rest, specs = split_pass_flags(
        ["m.onnx", "--dce", "-p", "cse,clone", "--merge-clusters=lanes=2,min-gain=0.5", "-t", "py"],
        list(get_all_passes()),
    )
    assert rest == ["m.onnx", "-t", "py"]
    assert [str(spec) for spec in specs] == [
        "dce",
        "cse",
        "clone",
        "merge-clusters{lanes=2 min-gain=0.5}",
    ]


def test_pass_flag_values_that_are_paths_are_strings() -> None:
    """/// A value the pipeline syntax cannot read bare (a path) is taken as a string."""
    from ramiel_mlir.driver import flag_spec

    spec = flag_spec("estimate-cost", "machine=/tmp/m-1.json model=flops")
    assert spec.parameters == {"machine": ("/tmp/m-1.json",), "model": ("flops",)}
