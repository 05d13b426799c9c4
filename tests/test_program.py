"""The generated file as a program: `python model_par.py --bench` and `--trace out.json`."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from test_loop import constant_trip_count_model
from test_parallel_code import TWO_LANES, _diamond

from ramiel_mlir.api import CompiledModel, compile_onnx

NODES = {"relu", "left_matmul", "right_matmul", "right_reshape", "right_sigmoid", "join"}
NODES |= {f"left_tanh{i}" for i in range(4)}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[CompiledModel, CompiledModel]:
    """The diamond on two lanes (the Sigmoid branch on lane 1), and serially."""
    directory: Path = tmp_path_factory.mktemp("program")
    parallel = compile_onnx(_diamond(4), TWO_LANES, directory, name="parallel")
    serial = compile_onnx(_diamond(4), "", directory, name="serial")
    return parallel, serial


def _run(model: CompiledModel, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(model.source_path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=model.source_path.parent,
    )


def _lane_of_nodes(source: str) -> dict[str, int]:
    """Which lane method holds each node's comment (`# name (Op)`), from the source."""
    lane, found = 0, {}
    for line in source.splitlines():
        header = re.match(r"    def _lane(\d+)\(", line)
        if header:
            lane = int(header.group(1))
        comment = re.match(r"\s+# (\S+) \(\w+\)$", line)
        if comment:
            found[comment.group(1)] = lane
    return found


def test_bench_prints_latency_and_plan(compiled: tuple[CompiledModel, CompiledModel]) -> None:
    parallel, _ = compiled
    run = _run(parallel, "--bench", "--calls", "7", "--warmup", "1")
    assert run.returncode == 0, run.stderr
    assert "plan: 2 lanes, estimated" in run.stdout
    assert re.search(
        r"latency: median [\d.]+ [um]s over 7 calls \(1 warm-up\); quartiles", run.stdout
    )


def test_trace_has_a_track_per_lane_a_slice_per_node_and_the_waits(
    compiled: tuple[CompiledModel, CompiledModel], tmp_path: Path
) -> None:
    parallel, _ = compiled
    out = tmp_path / "trace.json"
    run = _run(parallel, "--trace", str(out), "--calls", "2", "--warmup", "1")
    assert run.returncode == 0, run.stderr
    events: list[dict[str, Any]] = json.loads(out.read_text())["traceEvents"]
    tracks = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert tracks == {0: "lane 0 (calling thread)", 1: "lane 1 (worker thread)"}
    lanes = _lane_of_nodes(parallel.source)
    assert set(lanes) == NODES
    assert set(lanes.values()) == {0, 1}
    for call in range(2):
        slices = [e for e in events if e.get("cat") == "node" and e["args"]["call"] == call]
        assert sorted(e["name"] for e in slices) == sorted(NODES)  # one slice per node
        assert all(e["ph"] == "X" and e["dur"] >= 0 for e in slices)
        assert {e["name"]: e["tid"] for e in slices} == lanes
        forward = next(e for e in events if e.get("cat") == "call" and e["args"]["call"] == call)
        for e in slices:
            assert forward["ts"] <= e["ts"]
            assert e["ts"] + e["dur"] <= forward["ts"] + forward["dur"]
    channels = re.search(r"CHANNELS = \((.*)\)", parallel.source)
    assert channels is not None
    names = set(re.findall(r'"(\w+)"', channels.group(1)))
    waits = [e for e in events if e.get("cat") == "wait"]
    sends = [e for e in events if e.get("cat") == "send"]
    assert {e["args"]["channel"] for e in waits} == names == {e["args"]["channel"] for e in sends}
    assert len(waits) == 2 * len(names)
    # A flow arrow from each send to the wait for its value, on the other lane.
    starts = {e["id"]: e for e in events if e["ph"] == "s"}
    finishes = {e["id"]: e for e in events if e["ph"] == "f"}
    assert starts.keys() == finishes.keys()
    assert len(starts) == len(waits)
    assert all(starts[i]["tid"] != finishes[i]["tid"] for i in starts)
    assert f"{len(NODES) * 2} node slices, {len(waits)} waits" in run.stdout


def test_trace_of_a_serial_file_has_one_track(
    compiled: tuple[CompiledModel, CompiledModel], tmp_path: Path
) -> None:
    _, serial = compiled
    out = tmp_path / "serial.json"
    run = _run(serial, "--trace", str(out))
    assert run.returncode == 0, run.stderr
    assert "plan: serial" in run.stdout
    events: list[dict[str, Any]] = json.loads(out.read_text())["traceEvents"]
    assert sorted(e["name"] for e in events if e.get("cat") == "node") == sorted(NODES)
    assert {e["tid"] for e in events if e["ph"] == "X"} == {0}
    assert not [e for e in events if e.get("cat") == "wait"]


def test_untraced_code_has_no_tracing(compiled: tuple[CompiledModel, CompiledModel]) -> None:
    """Imported as a module, forward and the lanes are the printed code: no clock, no branch."""
    for model in compiled:
        module = model.import_module()
        methods = [module.Model.forward]
        methods += [f for name, f in vars(module.Model).items() if name.startswith("_lane")]
        for method in methods:
            code = inspect.getsource(method)
            assert "_trace" not in code
            assert "perf_counter" not in code
            assert "if " not in code
            names = method.__code__.co_names
            assert not {"_trace_clock", "_trace_log", "_main", "perf_counter_ns"} & set(names)


def test_a_program_run_without_weights_is_a_one_line_error(
    compiled: tuple[CompiledModel, CompiledModel], tmp_path: Path
) -> None:
    parallel, _ = compiled
    run = _run(parallel, "--bench", "--weights", str(tmp_path / "missing.pt"))
    assert run.returncode == 1
    assert run.stderr.startswith("parallel.py: error: cannot load the weights:")
    assert len(run.stderr.splitlines()) == 1


def test_a_program_needs_bench_or_trace(compiled: tuple[CompiledModel, CompiledModel]) -> None:
    run = _run(compiled[0])
    assert run.returncode == 2
    assert "give --bench, --trace FILE, or both" in run.stderr


def test_bench_makes_inputs_of_every_kind(tmp_path: Path) -> None:
    """Strings, sequences, optionals, bools and integers: each input gets a valid value."""
    seq = helper.make_tensor_sequence_value_info("s", TensorProto.FLOAT, [None, 2])
    opt = helper.make_value_info(
        "o", helper.make_optional_type_proto(helper.make_tensor_type_proto(TensorProto.INT64, [4]))
    )
    tensors = [
        helper.make_tensor_value_info("words", TensorProto.STRING, [2]),
        helper.make_tensor_value_info("flags", TensorProto.BOOL, [3]),
        helper.make_tensor_value_info("ids", TensorProto.INT64, [3]),
    ]
    words = numpy_helper.from_array(np.array(["", "a"], dtype=object), "known")
    nodes = [
        helper.make_node("Equal", ["words", "known"], ["same"], name="eq"),
        helper.make_node("Identity", ["s"], ["s_out"], name="seq"),
        helper.make_node("Identity", ["o"], ["o_out"], name="opt"),
        helper.make_node("Not", ["flags"], ["not_flags"], name="not"),
        helper.make_node("Neg", ["ids"], ["neg_ids"], name="neg"),
    ]
    outputs = [
        helper.make_tensor_value_info("same", TensorProto.BOOL, [2]),
        helper.make_tensor_sequence_value_info("s_out", TensorProto.FLOAT, [None, 2]),
        helper.make_value_info("o_out", opt.type),
        helper.make_tensor_value_info("not_flags", TensorProto.BOOL, [3]),
        helper.make_tensor_value_info("neg_ids", TensorProto.INT64, [3]),
    ]
    graph = helper.make_graph(nodes, "kinds", [*tensors, seq, opt], outputs, [words])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    compiled = compile_onnx(model, "", tmp_path, name="kinds")
    run = _run(compiled, "--bench", "--calls", "2", "--warmup", "0")
    assert run.returncode == 0, run.stderr
    assert "latency: median" in run.stdout


def test_a_loop_is_one_slice(tmp_path: Path) -> None:
    """The nodes of a Loop's body run inside its slice: one slice, the Loop's, per call."""
    compiled = compile_onnx(constant_trip_count_model(), "", tmp_path, name="loop")
    out = tmp_path / "loop.json"
    run = _run(compiled, "--trace", str(out), "--calls", "2", "--warmup", "0")
    assert run.returncode == 0, run.stderr
    events: list[dict[str, Any]] = json.loads(out.read_text())["traceEvents"]
    nodes = [(e["name"], e["args"]["op_type"]) for e in events if e.get("cat") == "node"]
    assert nodes == [("acc_loop", "Loop")] * 2
