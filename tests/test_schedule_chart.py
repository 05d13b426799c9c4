"""`tools/schedule_chart.py`: a planned schedule beside a measured trace (two-lane diamond)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import onnx
from test_parallel_code import TWO_LANES, _diamond

ROOT = Path(__file__).resolve().parents[1]
RAMIEL_OPT = str(Path(sys.executable).with_name("ramiel-opt"))


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    run = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=300, check=False, cwd=cwd
    )
    assert run.returncode == 0, run.stderr
    return run


def test_chart_of_a_plan_and_its_trace(tmp_path: Path) -> None:
    """The documented path: plan IR with locations, its generated file's trace, the chart."""
    onnx.save(_diamond(4), tmp_path / "diamond.onnx")
    plan = tmp_path / "plan.mlir"
    _run(RAMIEL_OPT, "diamond.onnx", "-p", TWO_LANES, "--print-debuginfo", "-o", plan, cwd=tmp_path)
    _run(RAMIEL_OPT, plan, "-t", "python", "-o", "diamond_par.py", cwd=tmp_path)
    _run(sys.executable, "diamond_par.py", "--trace", "trace.json", "--calls", "3", cwd=tmp_path)
    chart = tmp_path / "chart.png"
    tool = ROOT / "tools" / "schedule_chart.py"
    run = _run(
        sys.executable, tool, "--plan", plan, "--trace", "trace.json", "-o", chart, cwd=tmp_path
    )
    lines = run.stdout.splitlines()
    assert lines[0].startswith("plan: 2 lanes, estimated")
    assert lines[1].startswith("lane 0: planned ")
    assert lines[2].startswith("lane 1: planned ")
    assert "us waiting for other lanes" in lines[2]
    # Every node of the plan is matched with its traced slice (10 nodes, at most 10 shown).
    assert lines[3] == "the 10 nodes whose estimates were furthest off:"
    assert chart.read_bytes().startswith(b"\x89PNG")
