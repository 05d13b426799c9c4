"""
The driver's tools (issue 15): --verify, --dump-dir, locations through every pass,
and remarks.
"""

from __future__ import annotations

import logging
import re
import shlex
from pathlib import Path

import pytest
from zoo.branches import branches

from ramiel_mlir.backend.context import NodeContext
from ramiel_mlir.backend.ops import LOWERINGS
from ramiel_mlir.diagnostics import REMARKS
from ramiel_mlir.driver import main
from ramiel_mlir.transforms.parallelize import ParallelizePass

PARALLEL = (
    "-p",
    "estimate-cost{machine=default},linear-cluster{edge-cost=0.0},"
    "merge-clusters{lanes=2 runtime-costs=false min-gain=0.0 edge-cost=0.0},clone,dce",
)
"""A plan of two lanes of one thread each, whatever the estimates prefer."""


def _wrong_neg(ctx: NodeContext) -> list:  # type: ignore[type-arg]
    """A deliberately wrong lowering of Neg: the absolute value."""
    return [ctx.b.call("torch.abs", ctx.arg(0))]


def test_parallel_plan_has_two_lanes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = branches(tmp_path / "m.onnx")
    assert main([str(model), *PARALLEL, "-t", "python", "-o", str(tmp_path / "m.py")]) == 0
    assert "def _lane1(" in (tmp_path / "m.py").read_text()


@pytest.mark.parametrize("plan", [(), PARALLEL], ids=["serial", "parallel"])
def test_verify_agrees(
    plan: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(branches(tmp_path / "m.onnx")), *plan, "--verify"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^  y: max abs error \S+, max rel error \S+ ok$", out, re.MULTILINE)
    assert "diverging" not in out


@pytest.mark.parametrize("plan", [(), PARALLEL], ids=["serial", "parallel"])
def test_verify_names_the_first_diverging_node(
    plan: tuple[str, ...],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(LOWERINGS, "Neg", _wrong_neg)
    assert main([str(branches(tmp_path / "m.onnx")), *plan, "--verify"]) == 1
    captured = capsys.readouterr()
    assert re.search(r"^  y: max abs error \S+, max rel error \S+ DIFFERS$", captured.out, re.M)
    first = re.compile(r"first diverging node: 'left/neg' \(Neg\), output 'b': max abs error ")
    assert first.search(captured.out)
    assert captured.err.startswith("ramiel-opt: error: m.onnx: output y differs")
    assert first.search(captured.err)
    assert len(captured.err.splitlines()) == 1


def test_verify_needs_an_onnx_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "m.mlir"
    source.write_text("")
    assert main([str(source), "--verify"]) == 1
    assert "--verify needs an ONNX model" in capsys.readouterr().err


def test_dump_files_reproduce_and_keep_locations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = branches(tmp_path / "m.onnx")
    dump = tmp_path / "dump"
    args = [str(model), "--dce", "--parallelize=lanes=2,machine=default", f"--dump-dir={dump}"]
    assert main(args) == 0
    capsys.readouterr()
    files = sorted(dump.iterdir())
    assert [f.name for f in files][:2] == ["00-input.mlir", "01-dce.mlir"]
    # --dce, then parallelize's passes (its cleanup, planning, clone, dce, fuse-onednn-graph
    # and prepack-weights), numbered from 01.
    passes = 1 + len(ParallelizePass(lanes=2, machine="default").passes())
    assert files[-1].name == f"{passes:02d}-prepack-weights.mlir"
    names = {"left/relu", "left/neg", "right/exp", "join"}
    for file in files:
        header, _, ir = file.read_text().partition("\n")
        assert header.startswith("// ramiel-opt ")
        # Every node of every dump keeps its ONNX node name.
        nodes = [line for line in ir.splitlines() if "dfg.node " in line]
        located = {m for line in nodes for m in re.findall(r'loc\("([^"]*)"\)$', line)}
        assert len(nodes) == 4, file.name
        assert located == names, file.name
        # The header is the command that gives this IR.
        command = shlex.split(header.removeprefix("// "))
        assert command[0] == "ramiel-opt"
        assert main(command[1:]) == 0
        assert capsys.readouterr().out == ir, file.name


def test_remarks_are_opt_in(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    model = branches(tmp_path / "m.onnx")
    with caplog.at_level(logging.INFO, logger=REMARKS.name):
        assert main([str(model), *PARALLEL]) == 0
    assert "merge-clusters: 2 lanes, estimated" in caplog.text


def test_remarks_flag_prints_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = branches(tmp_path / "m.onnx")
    assert main([str(model), *PARALLEL]) == 0
    assert "remark" not in capsys.readouterr().err
    assert main([str(model), *PARALLEL, "--remarks"]) == 0
    err = capsys.readouterr().err
    assert re.search(r"^ramiel-opt: remark: @main: merge-clusters: 2 lanes, estimated ", err, re.M)
