"""
The machine model as an explicit input: `machine=default|auto|FILE`, `ramiel-calibrate`,
and output that does not depend on the home directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ramiel_mlir import calibrate as calibrate_tool
from ramiel_mlir.analysis import machine as machine_module
from ramiel_mlir.analysis.machine import (
    Machine,
    default_machine,
    machine_digest,
    read_machine,
    resolve_machine,
    save_machine,
    spread_minimum,
)
from ramiel_mlir.diagnostics import RamielError

RAMIEL_OPT = Path(sys.executable).with_name("ramiel-opt")

MACHINE = Machine(
    rates={"conv": 100.0, "matmul": 100.0, "memory": 10.0},
    overheads={"conv": 4.0, "matmul": 2.0, "memory": 1.0, "view": 1.0},
    edge_cost_us=12.0,
)


def folding_model() -> onnx.ModelProto:
    """Conv -> Relu -> pool -> Gemm whose weight is a Transpose of an initializer (a blob)."""
    rng = np.random.default_rng(0)

    def init(name: str, *shape: int) -> TensorProto:
        return numpy_helper.from_array(rng.normal(size=shape).astype(np.float32), name)

    node = helper.make_node
    graph = helper.make_graph(
        [
            node("Conv", ["x", "conv.w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
            node("Relu", ["c"], ["r"], name="relu"),
            node("GlobalAveragePool", ["r"], ["p"], name="pool"),
            node("Flatten", ["p"], ["f"], name="flatten"),
            node("Transpose", ["fc.w"], ["fc.wt"], name="transpose"),
            node("Gemm", ["f", "fc.wt"], ["y"], name="fc"),
        ],
        "folding",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6])],
        [init("conv.w", 4, 3, 3, 3), init("fc.w", 6, 4)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.fixture(scope="module")
def model_path(model_cache: Path) -> Path:
    path = model_cache / "folding.onnx"
    onnx.save(folding_model(), path)
    return path


# The machine model, in-process ---------------------------------------------------


def test_spread_minimum_keeps_each_keys_least_over_the_rounds() -> None:
    """A round taken while another tenant held a core does not set the number."""
    rounds = iter([{"conv": 90.0, "pool": 5.0}, {"conv": 50.0, "pool": 9.0}, {"conv": 70.0}])
    assert spread_minimum(lambda: next(rounds), rounds=3, pause=0.0) == {
        "conv": 50.0,
        "pool": 5.0,
    }


def test_default_model_is_built_in_and_complete() -> None:
    """/// The built-in model has a rate or overhead for every kind, and is labelled `default`."""
    machine, label = resolve_machine("default")
    assert label == "default"
    assert machine == default_machine()
    assert set(machine.overheads) == set(machine_module.UNITS)
    assert set(machine.rates) == set(machine_module.UNITS) - {"view"}
    assert machine.edge_cost_us > 0


def test_a_machine_file_is_read_and_labelled_by_name_and_content(tmp_path: Path) -> None:
    """/// A file's label is its name and a hash of its numbers, not where it lives."""
    for directory in (tmp_path / "a", tmp_path / "b"):
        directory.mkdir()
        save_machine(directory / "m.json", MACHINE)
        machine, label = resolve_machine(str(directory / "m.json"))
        assert machine == MACHINE
        assert label == f"m.json:{machine_digest(MACHINE)}"
    assert machine_digest(MACHINE) != machine_digest(default_machine())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read machine model"),
        ("{not json", "m.json: "),
        (json.dumps({"key": {}}), "not a ramiel-mlir machine model"),
        (json.dumps({"machine": {"rates": {}}}), "not a ramiel-mlir machine model"),
    ],
    ids=["missing", "not-json", "no-machine", "missing-fields"],
)
def test_a_bad_machine_file_is_one_error(tmp_path: Path, content: str | None, message: str) -> None:
    """/// A missing or malformed file is a RamielError naming it."""
    path = tmp_path / "m.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(RamielError, match=message):
        read_machine(path)


def test_auto_without_a_home_uses_the_default_with_a_note(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """/// machine=auto with nowhere to cache: the built-in model, a note, no calibration."""
    for name in ("RAMIEL_CACHE_DIR", "XDG_CACHE_HOME", "HOME"):
        monkeypatch.delenv(name, raising=False)

    def fail() -> Machine:
        raise AssertionError("calibrated although the result cannot be cached")

    monkeypatch.setattr(machine_module, "calibrate", fail)
    assert resolve_machine("auto") == (default_machine(), "default")
    assert "note: no home directory" in caplog.text
    assert "machine=default" in caplog.text


def test_auto_calibrates_once_into_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """/// machine=auto calibrates into $RAMIEL_CACHE_DIR, says so, and reads it afterwards."""
    monkeypatch.setenv("RAMIEL_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(machine_module, "calibrate", lambda: MACHINE)
    assert resolve_machine("auto") == (MACHINE, f"auto:{machine_digest(MACHINE)}")
    assert "calibrating this machine" in caplog.text
    caplog.clear()
    monkeypatch.setattr(machine_module, "calibrate", lambda: default_machine())
    assert resolve_machine("auto")[0] == MACHINE
    assert caplog.text == ""


def test_calibrate_command_writes_a_machine_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """/// `ramiel-calibrate -o FILE` writes what `machine=FILE` reads."""
    monkeypatch.setattr(calibrate_tool, "calibrate", lambda: MACHINE)
    path = tmp_path / "m.json"
    assert calibrate_tool.main(["-o", str(path)]) == 0
    assert read_machine(path) == MACHINE
    assert machine_digest(MACHINE) in capsys.readouterr().out
    assert calibrate_tool.main(["-o", str(tmp_path / "no" / "m.json")]) == 1
    assert "no such directory" in capsys.readouterr().err


# ramiel-opt, whatever the home directory holds ----------------------------------


def _environment(kind: str, tmp_path: Path) -> dict[str, str]:
    """The environment of a ramiel-opt run with a fresh, read-only or no home directory."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("HOME", "RAMIEL_CACHE_DIR", "XDG_CACHE_HOME")
    }
    if kind == "unset":
        return env
    home = tmp_path / f"home-{kind}"
    home.mkdir()
    if kind == "read-only":
        # root writes into read-only directories: a `.cache` that is a file stops it too.
        (home / ".cache").write_text("")
        home.chmod(0o555)
    env["HOME"] = str(home)
    return env


HOMES = ("fresh", "read-only", "unset")


def _compile(
    model: Path, env: dict[str, str], work: Path, passes: str, targets: tuple[str, ...]
) -> dict[str, bytes]:
    """The outputs of `-t mlir` and `-t python -o` (source and weights) in `work`."""
    work.mkdir()
    outputs: dict[str, bytes] = {}
    for target in targets:
        out = work / f"m_par.{'py' if target == 'python' else 'mlir'}"
        command = [str(RAMIEL_OPT), str(model), passes, "-t", target, "-o", str(out)]
        result = subprocess.run(command, capture_output=True, env=env, cwd=work, check=False)
        assert result.returncode == 0, result.stderr.decode()
        outputs[f"{target}-stderr"] = result.stderr
        outputs[target] = out.read_bytes()
        if target == "python":
            outputs["weights"] = (work / "m_par.weights.pt").read_bytes()
    return outputs


def test_machine_default_output_does_not_depend_on_home(model_path: Path, tmp_path: Path) -> None:
    """/// --parallelize=machine=default: byte-identical outputs, no note, any home."""
    runs = {
        home: _compile(
            model_path,
            _environment(home, tmp_path),
            tmp_path / home,
            "--parallelize=lanes=2,machine=default",
            ("mlir", "python"),
        )
        for home in HOMES
    }
    first = runs[HOMES[0]]
    assert b'dfg.machine = "default"' in first["mlir"]
    assert b".npy" in first["mlir"]  # the folded Transpose is a blob the IR names
    for home in HOMES[1:]:
        assert runs[home] == first, home
    assert first["mlir-stderr"] == first["python-stderr"] == b""


@pytest.mark.parametrize("home", ["read-only", "unset"])
def test_auto_without_a_writable_home_is_the_default_with_a_note(
    home: str, model_path: Path, tmp_path: Path
) -> None:
    """/// machine=auto where nothing can be cached: a one-line note, the default model's output."""
    env = _environment(home, tmp_path)
    auto = _compile(model_path, env, tmp_path / "auto", "--parallelize=lanes=2", ("mlir",))
    default = _compile(
        model_path, env, tmp_path / "default", "--parallelize=lanes=2,machine=default", ("mlir",)
    )
    assert auto["mlir"] == default["mlir"]
    note = auto["mlir-stderr"].decode().splitlines()
    assert len(note) == 1, note
    assert note[0].startswith("ramiel-opt: note: ")
    assert "machine=default" in note[0]
