"""
`ramiel-opt`: the compiler driver, an `xDSLOptMain` with the project's dialects,
passes, the ONNX frontend and the python target.

Passes are given as in mlir-opt (`--dce --merge-clusters=lanes=2`) or as an xDSL
pipeline (`-p 'dce,merge-clusters{lanes=2}'`). Errors in the input are printed as
one line, `ramiel-opt: error: ...`, with exit code 1; no output file is left
behind.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from io import StringIO
from pathlib import Path
from typing import IO, NoReturn

from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.exceptions import ArgSpecParseError, DiagnosticException, ParseError
from xdsl.xdsl_opt_main import xDSLOptMain

from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.registry import get_all_dialects, get_all_passes, get_all_targets

PROG = "ramiel-opt"


def split_pass_flags(argv: Sequence[str], passes: Sequence[str]) -> list[str]:
    """
    Turn mlir-opt style pass flags into one `-p` pipeline, in command-line order.

    `--merge-clusters=lanes=2` becomes `merge-clusters{lanes=2}`; several options
    are separated by spaces or commas (`--pass="a=1 b=2"`). `-p SPEC` parts keep
    their place in the order.
    """
    rest: list[str] = []
    pipeline: list[str] = []
    args = iter(argv)
    for arg in args:
        name, _, options = arg.removeprefix("--").partition("=")
        if arg.startswith("--") and name in passes:
            options = " ".join(options.replace(",", " ").split())
            pipeline.append(f"{name}{{{options}}}" if options else name)
        elif arg in ("-p", "--passes"):
            pipeline.append(next(args, ""))
        elif arg.startswith(("-p=", "--passes=")):
            pipeline.append(arg.partition("=")[2])
        else:
            rest.append(arg)
    spec = ",".join(p for p in pipeline if p)
    return [*rest, "-p", spec] if spec else rest


_UPSTREAM_SUMMARIES = {
    "canonicalize": "Apply every canonicalization pattern and fold (xDSL's canonicalize).",
    "cse": "Merge identical nodes and weights (xDSL's common subexpression elimination).",
    "dce": "Remove nodes and weights whose results nobody reads (xDSL's dead code elimination).",
}
"""One-line summaries of the xDSL passes that ramiel-opt registers."""


def _summary(name: str, doc: str | None) -> str:
    if name in _UPSTREAM_SUMMARIES:
        return _UPSTREAM_SUMMARIES[name]
    paragraph = " ".join((doc or "").strip().split("\n\n")[0].split())
    return paragraph.split(". ")[0].rstrip(".") + "."


def _pass_summaries() -> str:
    lines = ["passes (as --NAME[=OPTIONS] or in -p 'NAME{OPTIONS},...'):"]
    for name, factory in sorted(get_all_passes().items()):
        lines.append(f"  --{name:<20} {_summary(name, factory().__doc__)}")
    return "\n".join(lines)


class RamielOptMain(xDSLOptMain):
    """The `ramiel-opt` driver."""

    def __init__(self, args: Sequence[str] | None = None):
        argv = list(sys.argv[1:] if args is None else args)
        if "-h" in argv or "--help" in argv:
            self._help_epilog = _pass_summaries()
        else:
            self._help_epilog = ""
        super().__init__(
            description="Ramiel-MLIR: parallelize ONNX models into threaded PyTorch code.",
            args=split_pass_flags(argv, list(get_all_passes())),
        )

    def register_all_dialects(self) -> None:
        for name, factory in get_all_dialects().items():
            self.ctx.register_dialect(name, factory)

    def register_all_passes(self) -> None:
        for name, factory in get_all_passes().items():
            self.register_pass(name, factory)

    def register_all_targets(self) -> None:
        self.available_targets.update(get_all_targets())

    def register_all_frontends(self) -> None:
        super().register_all_frontends()
        self.available_frontends = {
            "mlir": self.available_frontends["mlir"],
            "onnx": self._onnx_frontend,
        }

    @staticmethod
    def _onnx_frontend() -> type:  # replaced in parse_chunk; listed for -f and --help
        from ramiel_mlir.frontend.onnx import OnnxFrontend

        return OnnxFrontend

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        super().register_all_arguments(arg_parser)
        arg_parser.prog = PROG
        arg_parser.error = _usage_error  # type: ignore[method-assign]
        arg_parser.formatter_class = argparse.RawDescriptionHelpFormatter
        arg_parser.epilog = self._help_epilog
        arg_parser.add_argument(
            "--input-shape",
            action="append",
            default=[],
            metavar="NAME=D0,D1,...",
            help=(
                "fix the symbolic dimensions of an ONNX input (repeatable); "
                "a stated 0 compiles for empty tensors"
            ),
        )

    def parse_chunk(
        self, chunk: IO[bytes], file_extension: str, start_offset: int = 0
    ) -> ModuleOp | None:
        if (self.args.frontend or file_extension) == "onnx":
            from ramiel_mlir.frontend.onnx import import_onnx, parse_input_shapes

            chunk.close()
            if self.args.input_file is None:
                raise RamielError("ONNX input must be a file path, not standard input")
            return import_onnx(self.args.input_file, parse_input_shapes(self.args.input_shape))
        return super().parse_chunk(chunk, file_extension, start_offset)

    def apply_passes(self, prog: ModuleOp) -> None:
        if not self.args.disable_verify:
            prog.verify()
        super().apply_passes(prog)

    def prepare_output(self) -> IO[str]:
        # Written to the file only when everything succeeded (see `main`).
        return _Buffer()

    def output_resulting_program(self, prog: ModuleOp) -> str:
        if self.args.target.split("{")[0] == "python" and self.args.output_file:
            weights = Path(self.args.output_file).with_suffix(".weights.pt")
            if "{" not in self.args.target:
                self.args.target = f"python{{weights={_quote(str(weights))}}}"
        return super().output_resulting_program(prog)


class _Buffer(StringIO):
    """The output, kept in memory: xDSL closes the stream it writes to."""

    def close(self) -> None:
        pass


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _usage_error(message: str) -> NoReturn:
    """argparse's error, as one line without the usage block."""
    sys.stderr.write(f"{PROG}: error: {message} (see {PROG} --help)\n")
    sys.exit(2)


def _output_problem(output_file: str) -> str | None:
    """Why `output_file` cannot be written, checked before any work is done."""
    parent = os.path.dirname(os.path.abspath(output_file))
    if not os.path.isdir(parent):
        return f"cannot write {output_file}: no such directory {parent}"
    if os.path.isdir(output_file):
        return f"cannot write {output_file}: is a directory"
    return None


def _write_output(output_file: str, text: str) -> None:
    """Write `text` to `output_file` at once (through a temporary file beside it)."""
    partial = f"{output_file}.{os.getpid()}.tmp"
    try:
        with open(partial, "w") as out:
            out.write(text)
        os.replace(partial, output_file)
    except OSError as error:
        Path(partial).unlink(missing_ok=True)
        raise RamielError(f"cannot write {output_file}: {error.strerror}") from None


def _error(message: str) -> int:
    # One line even when the message quotes a name holding a line break.
    printable = "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode() for c in message
    )
    print(f"{PROG}: error: {printable}", file=sys.stderr)
    return 1


def _one_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def _run(opt: RamielOptMain) -> str | None:
    """Run `opt`; the one-line message of the input error that stopped it, if any."""
    try:
        opt.run()
    except RamielError as error:
        return str(error)
    except FileNotFoundError as error:
        return f"{error.filename}: no such file"
    except IsADirectoryError as error:
        return f"{error.filename}: is a directory"
    except OSError as error:  # writing the weights file beside -o
        return f"{error.filename}: {error.strerror}"
    except ParseError as error:
        return f"{opt.args.input_file or 'stdin'}: {_one_line(error)}"
    except (DiagnosticException, ValueError) as error:
        return _one_line(error)
    except MemoryError:  # e.g. ONNX shape inference on inputs of billions of elements
        return f"{opt.args.input_file or 'stdin'}: out of memory while compiling"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run ramiel-opt; return the exit code."""
    try:
        opt = RamielOptMain(argv)
    except SystemExit as exit_:  # argparse: usage error already printed
        return 0 if exit_.code in (0, None) else 1
    except (ArgSpecParseError, ValueError, TypeError) as error:
        return _error(f"invalid pass pipeline: {_one_line(error)}")
    output_file = opt.args.output_file
    if output_file is not None and (problem := _output_problem(output_file)) is not None:
        return _error(problem)
    stream = opt.prepare_output()
    opt.prepare_output = lambda: stream  # type: ignore[method-assign]
    if (message := _run(opt)) is not None:
        return _error(message)
    assert isinstance(stream, _Buffer)
    text = stream.getvalue()
    if output_file is None:
        sys.stdout.write(text)
        return 0
    try:
        _write_output(output_file, text)
    except RamielError as error:
        return _error(str(error))
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
