"""
Every command in a `sh` block of README.md and docs/*.md works as written.

`ramiel-opt`, `ramiel-calibrate` and `xdsl-opt` commands run in a fresh directory
holding a small model under each name the docs use (`model.onnx`, `m.onnx`); each
must exit 0. The other commands (the whole suite, the benchmarks, the fuzzers: minutes
to hours each) are listed in `NOT_RUN`, so that a new command in the docs is either
run here or named there.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from zoo.branches import branches

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent

RUN = ("ramiel-opt ", "ramiel-calibrate", "xdsl-opt ")
"""The commands that run here: the compiler's own."""

NOT_RUN = frozenset(
    {
        "make demo",
        "make test",
        "python tools/benchmark.py",
        "python tools/compile_time.py --nodes 3000",
        "python tools/benchmark.py --no-torch-compile",
        "python tools/layout_costs.py --threads 1",
        "python tools/benchmark_batch.py",
        "python tools/benchmark_batch.py --models googlenet --batches 4",
        "python tools/schedule_chart.py googlenet --lanes 2 -o docs/schedule-googlenet.png",
        "python tools/schedule_chart.py model.onnx -p 'parallelize{lanes=2}' -o chart.png",
        "python tools/schedule_chart.py --plan plan.mlir --trace out.json -o chart.png",
        ".venv/bin/pytest tests/test_properties.py tests/test_reliability.py",
        "RAMIEL_PROPERTY_EXAMPLES=1000 .venv/bin/pytest tests/test_properties.py",
        ".venv/bin/python tools/fuzz.py graphs --examples 2000 [--seed N]",
        ".venv/bin/python tools/fuzz.py bytes --inputs 20000 [--seed N]",
    }
)
"""Commands of the docs that take minutes or hours (or are the test suite itself)."""


def doc_commands() -> list[tuple[str, str]]:
    """(file name, command) for every command line in a `sh` block, comments removed."""
    found: list[tuple[str, str]] = []
    for path in DOCS:
        blocks = re.findall(r"^```sh\n(.*?)^```", path.read_text(), re.MULTILINE | re.DOTALL)
        for block in blocks:
            for line in block.replace("\\\n", " ").splitlines():
                command = re.sub(r"\s+#\s.*$", "", line).strip()
                if command:
                    found.append((path.name, " ".join(command.split())))
    return found


COMMANDS = doc_commands()


def test_every_command_is_run_or_listed() -> None:
    unknown = [c for _, c in COMMANDS if not c.startswith(RUN) and c not in NOT_RUN]
    assert unknown == []
    stale = NOT_RUN - {c for _, c in COMMANDS}
    assert stale == set()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("docs")
    for name in ("model.onnx", "m.onnx", "inception_block.onnx"):
        branches(directory / name)
    (directory / "docs").mkdir()  # where commands that draw pictures write them
    return directory


@pytest.mark.parametrize(
    "command",
    [c for _, c in COMMANDS if c.startswith(RUN)],
    ids=[f"{f}:{c[:60]}" for f, c in COMMANDS if c.startswith(RUN)],
)
def test_doc_command(command: str, workdir: Path) -> None:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env["RAMIEL_CACHE_DIR"] = str(workdir / "cache")
    if " | dot " in command and shutil.which("dot") is None:
        # Without Graphviz, the part before the pipe must print a Graphviz graph.
        command = command.split(" | dot ")[0]
        result = subprocess.run(
            ["bash", "-c", command], cwd=workdir, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("digraph"), result.stdout[:200]
        return
    if command.startswith("xdsl-opt "):
        subprocess.run(
            ["bash", "-c", "ramiel-opt model.onnx > model.mlir"], cwd=workdir, env=env, check=True
        )
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
