"""
`ramiel-opt`: the compiler driver, an `xDSLOptMain` with the project's dialects,
frontends (`.mlir`, and `.onnx` by file extension), passes and targets.

Passes are given as in mlir-opt (`--dce --merge-clusters=lanes=2`) or as an xDSL
pipeline (`-p 'dce,merge-clusters{lanes=2}'`), in any mix and order. Errors in the
input are printed as one line, `ramiel-opt: error: ...`, with exit code 1; no
output file is left behind.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from contextlib import redirect_stderr
from io import StringIO
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.arg_spec import ArgSpec, parse_pipeline, parse_spec
from xdsl.utils.exceptions import ArgSpecParseError, DiagnosticException, ParseError
from xdsl.utils.target import Target
from xdsl.xdsl_opt_main import xDSLOptMain

from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.registry import (
    get_all_dialects,
    get_all_frontends,
    get_all_passes,
    get_all_targets,
)

if TYPE_CHECKING:
    from ramiel_mlir.frontend.onnx import OnnxFrontend

PROG = "ramiel-opt"

_BARE_VALUE = re.compile(r'[A-Za-z0-9_-]+|[-+]?[0-9]+(\.[0-9]*([eE][-+]?[0-9]+)?)?|".*"')
"""An option value xDSL's pipeline syntax reads unquoted (a name, a number) or quoted."""


def flag_spec(name: str, options: str) -> ArgSpec:
    """
    The pass spec of an mlir-opt style flag `--NAME=OPTIONS`.

    Options are separated by spaces or commas (`--pass="a=1 b=2"`, `--pass=a=1,b=2`);
    a value the pipeline syntax would misread (a path: `machine=/tmp/m.json`) is
    taken as a string.
    """
    parts = []
    for option in options.replace(",", " ").split():
        key, equals, value = option.partition("=")
        if equals and not _BARE_VALUE.fullmatch(value):
            value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        parts.append(f"{key}{equals}{value}")
    return parse_spec(f"{name}{{{' '.join(parts)}}}" if parts else name)


def split_pass_flags(argv: Sequence[str], passes: Sequence[str]) -> tuple[list[str], list[ArgSpec]]:
    """
    Separate the pipeline from the other arguments: the arguments without it, and
    the pass specs of `--NAME[=OPTIONS]` flags and `-p SPEC`s in command-line order.

    argparse cannot read mlir-opt's pass flags: an option that may take a value
    (`nargs="?"`) also takes the next argument (`--dce model.onnx`), while LLVM's
    flags only take a value after `=`. So they are read here, before argparse.
    """
    rest: list[str] = []
    specs: list[ArgSpec] = []
    args = iter(argv)
    for arg in args:
        name, _, options = arg.removeprefix("--").partition("=")
        if arg.startswith("--") and name in passes:
            specs.append(flag_spec(name, options))
        elif arg in ("-p", "--passes"):
            specs.extend(parse_pipeline(next(args, "")))
        elif arg.startswith(("-p=", "--passes=")):
            specs.extend(parse_pipeline(arg.partition("=")[2]))
        else:
            rest.append(arg)
    return rest, specs


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

    output: StringIO
    """The output, kept in memory and written by `run` only when everything succeeded."""

    def __init__(self, args: Sequence[str] | None = None):
        argv = list(sys.argv[1:] if args is None else args)
        # Listing the passes imports every pass module: only for --help.
        self._help_epilog = _pass_summaries() if {"-h", "--help"} & set(argv) else ""
        argv, self._pass_specs = split_pass_flags(argv, list(get_all_passes()))
        self.output = _Buffer()
        super().__init__(
            description="Ramiel-MLIR: parallelize ONNX models into threaded PyTorch code.",
            args=argv,
        )

    def register_all_dialects(self) -> None:
        for name, factory in get_all_dialects().items():
            self.ctx.register_dialect(name, factory)

    def register_all_frontends(self) -> None:
        self.available_frontends.update(get_all_frontends())

    def register_all_passes(self) -> None:
        for name, factory in get_all_passes().items():
            self.register_pass(name, factory)

    def register_all_targets(self) -> None:
        self.available_targets.update(get_all_targets())

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        super().register_all_arguments(arg_parser)
        arg_parser.prog = PROG
        arg_parser.formatter_class = argparse.RawDescriptionHelpFormatter
        arg_parser.epilog = self._help_epilog
        arg_parser.add_argument(
            "--input-shape",
            action="append",
            default=[],
            metavar="NAME=D0,D1,...",
            help=(
                "fix the symbolic dimensions of an ONNX input (repeatable; the onnx "
                "frontend's input-shape option); a stated 0 compiles for empty tensors"
            ),
        )

    def setup_pipeline(self) -> None:
        # xDSL builds the pipeline from the one `-p` string; ramiel-opt's comes from
        # flags and `-p`s in order (`split_pass_flags`). Its callback (verification
        # before and after every pass, --print-between-passes, --time-passes) is kept.
        super().setup_pipeline()
        unknown = [spec.name for spec in self._pass_specs if spec.name not in self.available_passes]
        if unknown:
            raise ValueError(f"Unrecognized passes: {unknown}")
        passes = tuple(self.available_passes[s.name]().from_spec(s) for s in self._pass_specs)
        self.pipeline = dataclasses.replace(self.pipeline, passes=passes)

    def parse_chunk(
        self, chunk: IO[bytes], file_extension: str, start_offset: int = 0
    ) -> ModuleOp | None:
        spec = parse_spec(self.args.frontend or file_extension)
        if spec.name != "onnx" or not self.args.input_shape:
            return super().parse_chunk(chunk, file_extension, start_offset)
        # `--input-shape` is the onnx frontend's option given as a flag; xDSL's
        # parse_chunk hands a frontend only its spec, so the flag is added here, as
        # xDSL itself adds --no-implicit-module to the mlir frontend.
        factory = cast(Callable[[], type["OnnxFrontend"]], self.available_frontends["onnx"])
        frontend = factory().from_spec(spec)
        shapes = (*frontend.input_shape, *self.args.input_shape)
        frontend = dataclasses.replace(frontend, input_shape=shapes)
        return frontend.parse(self.ctx, chunk, self.get_input_name())

    def prepare_output(self) -> IO[str]:
        return self.output

    def output_resulting_program(self, prog: ModuleOp) -> str:
        spec = parse_spec(self.args.target)
        if spec.name != "python" or self.args.output_file is None or "weights" in spec.parameters:
            return super().output_resulting_program(prog)
        # `-o FILE` puts the weights beside FILE: a flag of the python target, applied
        # here as xDSL applies its printing flags to the mlir target.
        factory = cast(Callable[[], type[Target]], self.available_targets["python"])
        weights = str(Path(self.args.output_file).with_suffix(".weights.pt"))
        target = dataclasses.replace(factory().from_spec(spec), weights=weights)
        output = StringIO()
        target.emit(self.ctx, prog, output)
        return output.getvalue()

    def run(self) -> None:
        """Compile; write the output (to `-o FILE` at once) only if everything succeeded."""
        output_file = self.args.output_file
        if output_file is not None and (problem := _output_problem(output_file)) is not None:
            raise RamielError(problem)
        super().run()
        if output_file is None:
            sys.stdout.write(self.output.getvalue())
        else:
            _write_output(output_file, self.output.getvalue())


class _Buffer(StringIO):
    """The output, kept in memory: xDSL closes the stream it writes to."""

    def close(self) -> None:
        pass


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
    logging.basicConfig(format=f"{PROG}: %(message)s")  # notes, e.g. on the machine model
    # argparse reports a usage error as the usage block and an error line, then
    # exits: only the error line is shown, so that every error is one line.
    usage = StringIO()
    try:
        with redirect_stderr(usage):
            opt = RamielOptMain(argv)
    except SystemExit as exit_:
        if exit_.code in (0, None):  # --help, --version
            return 0
        lines = usage.getvalue().strip().splitlines() or [f"{PROG}: error: bad arguments"]
        return _error(f"{lines[-1].removeprefix(f'{PROG}: error: ')} (see {PROG} --help)")
    except (ArgSpecParseError, ValueError, TypeError) as error:
        return _error(f"invalid pass pipeline: {_one_line(error)}")
    if (message := _run(opt)) is not None:
        return _error(message)
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
