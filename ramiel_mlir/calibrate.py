"""
`ramiel-calibrate`: measure this machine and write its machine model as JSON.

    ramiel-calibrate -o machine.json    # then: ramiel-opt m.onnx --parallelize=machine=machine.json
    ramiel-calibrate                    # refresh the cache that machine=auto reads

The file is an input of `estimate-cost{machine=FILE}` (and `parallelize{machine=FILE}`),
like an autotuning result: compiling with it gives the same output on any machine and
under any home directory. `python -m ramiel_mlir.calibrate` is the same command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ramiel_mlir.analysis.machine import cache_path, calibrate, machine_digest, save_machine
from ramiel_mlir.diagnostics import RamielError

PROG = "ramiel-calibrate"


def main(argv: Sequence[str] | None = None) -> int:
    """Calibrate and write the machine model; return the exit code."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Measure this machine (about 7 s) and write the machine model that "
            "estimate-cost{machine=FILE} reads."
        ),
    )
    parser.add_argument(
        "-o",
        "--output-file",
        metavar="FILE",
        help="where to write the model (default: the cache that machine=auto reads, "
        "$RAMIEL_CACHE_DIR/machine.json or ~/.cache/ramiel-mlir/machine.json)",
    )
    args = parser.parse_args(argv)
    try:
        path = Path(args.output_file) if args.output_file else cache_path()
    except RamielError as error:
        print(f"{PROG}: error: {error}: give -o FILE", file=sys.stderr)
        return 1
    if (problem := _output_problem(path, create=args.output_file is None)) is not None:
        print(f"{PROG}: error: cannot write {path}: {problem}", file=sys.stderr)
        return 1
    machine = calibrate()
    try:
        save_machine(path, machine)
    except OSError as error:
        print(f"{PROG}: error: cannot write {path}: {error.strerror}", file=sys.stderr)
        return 1
    print(f"{path}: machine model {machine_digest(machine)}")
    return 0


def _output_problem(path: Path, *, create: bool) -> str | None:
    """Why `path` cannot be written (checked before the measurement); `create` its directory."""
    if create:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            return error.strerror or "cannot create its directory"
    if not path.parent.is_dir():
        return f"no such directory {path.parent}"
    if path.is_dir():
        return "is a directory"
    return None


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
