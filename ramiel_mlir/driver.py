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
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import redirect_stderr
from importlib.metadata import version
from io import StringIO
from pathlib import Path
from typing import IO, TYPE_CHECKING, ClassVar, cast

from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.utils.arg_spec import ArgSpec, parse_pipeline, parse_spec
from xdsl.utils.exceptions import ArgSpecParseError, DiagnosticException, ParseError
from xdsl.utils.target import Target
from xdsl.xdsl_opt_main import xDSLOptMain

from ramiel_mlir.diagnostics import RamielError, disable_remarks, enable_remarks
from ramiel_mlir.pass_options import kebab, list_passes, options_line, pass_options, summary
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


def _pass_summaries() -> str:
    lines = ["passes (as --NAME[=OPTIONS] or in -p 'NAME{OPTIONS},...'; --list-passes says more):"]
    for name, factory in sorted(get_all_passes().items()):
        cls = factory()
        lines.append(f"  --{name:<20} {summary(name, cls)}")
        if options := options_line(cls):
            lines.append(f"  {'':<22} options: {options}")
    return "\n".join(lines)


def _pipeline_error(error: ArgSpecParseError) -> str:
    """
    One line for xDSL's pipeline syntax error, pointing at the spot: its message,
    the column, and the pipeline with `<here>` marking the column.
    """
    lines = str(error).splitlines()
    found = re.fullmatch(r".*:(\d+):(\d+)", lines[1]) if len(lines) > 3 else None
    if found is None:
        return f"invalid pass pipeline: {_one_line(error)}"
    column = int(found.group(2))
    text = lines[2]
    message = lines[-1].strip()
    marked = f"{text[: column - 1]}<here>{text[column - 1 :]}"
    return f"invalid pass pipeline: column {column}: {message}: '{marked}'"


class RamielOptMain(xDSLOptMain):
    """The `ramiel-opt` driver."""

    output: StringIO
    """The output, kept in memory and written by `run` only when everything succeeded."""

    version_format: ClassVar[str] = (
        f"{PROG} (ramiel-mlir) {version('ramiel-mlir')}, built on xDSL {{xdsl_version}}"
    )

    def __init__(self, args: Sequence[str] | None = None):
        argv = list(sys.argv[1:] if args is None else args)
        # Listing the passes imports every pass module: only for --help.
        self._help_epilog = _pass_summaries() if {"-h", "--help"} & set(argv) else ""
        argv, self._pass_specs = split_pass_flags(argv, list(get_all_passes()))
        self.output = _Buffer()
        self._observer = _Observer(self)
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
        arg_parser.add_argument(
            "--remarks",
            "--pass-remarks",
            "-pass-remarks",
            action="store_true",
            help="explain the plan: one line on stderr per decision of a pass, at its ONNX node",
        )
        arg_parser.add_argument(
            "--list-passes",
            action="store_true",
            help="list every pass with its options and their defaults, then exit",
        )
        arg_parser.add_argument(
            "--op-stats",
            action="store_true",
            help="print the ONNX model's op histogram, with what is supported, then exit",
        )
        arg_parser.add_argument(
            "--verify",
            action="store_true",
            help=(
                "compile, run the generated code and ONNX Runtime on the same seeded inputs, "
                "report each output's error, and name the first diverging node (exit 1 if any)"
            ),
        )
        arg_parser.add_argument(
            "--print-ir-after",
            action="append",
            default=[],
            metavar="PASS[,PASS...]",
            help="print the IR on stderr after each run of these passes (repeatable)",
        )
        arg_parser.add_argument(
            "--print-ir-after-all",
            action="store_true",
            help="print the IR on stderr after every pass, inside pipeline aliases too",
        )
        arg_parser.add_argument(
            "--dump-dir",
            metavar="DIR",
            help=(
                "write the IR after every pass to DIR/NN-PASS.mlir, each headed by the "
                "command that reproduces it"
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
        passes: list[ModulePass] = []
        for spec in self._pass_specs:
            cls = self.available_passes[spec.name]()
            _check_options(spec, cls)
            passes.append(cls.from_spec(spec))
        self.pipeline = dataclasses.replace(self.pipeline, passes=tuple(passes))

    def apply_passes(self, prog: ModuleOp) -> None:
        """
        Apply the passes in order, verifying after each; a pipeline alias
        (`parallelize`) reports its own passes to --time-passes, --print-ir-after,
        --print-between-passes and --dump-dir.
        """
        if not self.args.disable_verify:
            prog.verify()
        self._observer.start(prog)
        for index, pass_ in enumerate(self.pipeline.passes):
            row = self._observer.begin(pass_)
            start = time.perf_counter()
            apply_observed = getattr(pass_, "apply_observed", None)
            if apply_observed is not None:
                apply_observed(self.ctx, prog, self._observer.nested)
            else:
                pass_.apply(self.ctx, prog)
            elapsed = time.perf_counter() - start
            if not self.args.disable_verify:
                prog.verify()
            last = index == len(self.pipeline.passes) - 1
            self._observer.after(row, pass_, prog, elapsed, leaf=apply_observed is None, last=last)

    def parse_chunk(
        self, chunk: IO[bytes], file_extension: str, start_offset: int = 0
    ) -> ModuleOp | None:
        start = time.perf_counter()
        module = self._parse(chunk, file_extension, start_offset)
        self._observer.timings.append(("parse", time.perf_counter() - start, 0))
        return module

    def _parse(self, chunk: IO[bytes], file_extension: str, start_offset: int) -> ModuleOp | None:
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
        start = time.perf_counter()
        text = self._output(prog)
        self._observer.timings.append(("output", time.perf_counter() - start, 0))
        return text

    def _output(self, prog: ModuleOp) -> str:
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
        if self.args.list_passes:
            passes = {name: factory() for name, factory in self.available_passes.items()}
            sys.stdout.write(list_passes(passes))
            return
        if self.args.op_stats:
            sys.stdout.write(_op_stats(self.args.input_file))
            return
        if self.args.verify:
            self._verify()
            return
        output_file = self.args.output_file
        if output_file is not None and (problem := _output_problem(output_file)) is not None:
            raise RamielError(problem)
        wanted = {name for names in self.args.print_ir_after for name in names.split(",")}
        if unknown := sorted(wanted - set(self.available_passes)):
            raise RamielError(
                f"--print-ir-after names no pass: {', '.join(unknown)} (--list-passes lists them)"
            )
        if self.args.dump_dir is not None:
            self._observer.open_dump_dir(self.args.dump_dir)
        handler = enable_remarks(PROG) if self.args.remarks else None
        try:
            super().run()
        finally:
            if handler is not None:
                disable_remarks(handler)
        if self.args.time_passes:
            sys.stderr.write(self._observer.time_report())
        if output_file is None:
            sys.stdout.write(self.output.getvalue())
        else:
            _write_output(output_file, self.output.getvalue())

    def _verify(self) -> None:
        """--verify: compile, compare with ONNX Runtime, bisect; a divergence is an error."""
        from ramiel_mlir.frontend.onnx import parse_input_shapes
        from ramiel_mlir.verify import verify_onnx

        path = self.args.input_file
        if path is None or not path.endswith(".onnx"):
            raise RamielError("--verify needs an ONNX model (a .onnx file)")
        handler = enable_remarks(PROG) if self.args.remarks else None
        try:
            report = verify_onnx(
                path, self.pipeline.passes, parse_input_shapes(self.args.input_shape)
            )
        finally:
            if handler is not None:
                disable_remarks(handler)
        sys.stdout.write(report.text())
        if not report.ok:
            raise RamielError(report.summary())

    def command(self, specs: Sequence[str]) -> str:
        """The ramiel-opt command that applies `specs` to this input."""
        words = [PROG, self.get_input_name()]
        words += [f"--input-shape={shape}" for shape in self.args.input_shape]
        if specs:
            words += ["-p", ",".join(specs)]
        return shlex.join(words)


class _Observer:
    """What the driver shows about each pass: timings, IR after it, dump files."""

    def __init__(self, opt: RamielOptMain) -> None:
        self.opt = opt
        self.timings: list[tuple[str, float, int]] = []
        self.specs: list[str] = []
        self.dump_dir: Path | None = None
        self.dumps = 0

    def open_dump_dir(self, directory: str) -> None:
        path = Path(directory)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise RamielError(f"--dump-dir {directory}: {error.strerror}") from None
        self.dump_dir = path

    def start(self, module: ModuleOp) -> None:
        """Before the first pass: the input's IR is dump number 0."""
        self.specs = []
        self._dump("input", module)

    def nested(self, pass_: ModulePass, module: ModuleOp, seconds: float) -> None:
        """After a pass that a pipeline alias ran."""
        self.timings.append((pass_.name, seconds, 1))
        self._show(pass_, module, leaf=True, last=False)

    def begin(self, pass_: ModulePass) -> int:
        """Before a pass of the pipeline: its row of the time report (an alias's come after)."""
        self.timings.append((pass_.name, 0.0, 0))
        return len(self.timings) - 1

    def after(
        self,
        row: int,
        pass_: ModulePass,
        module: ModuleOp,
        seconds: float,
        *,
        leaf: bool,
        last: bool,
    ) -> None:
        """After a pass of the pipeline (an alias's own passes came before, `nested`)."""
        self.timings[row] = (pass_.name, seconds, 0)
        self._show(pass_, module, leaf=leaf, last=last)

    def _show(self, pass_: ModulePass, module: ModuleOp, *, leaf: bool, last: bool) -> None:
        args = self.opt.args
        if leaf:
            self.specs.append(str(pass_.pipeline_pass_spec()))
            self._dump(pass_.name, module)
        wanted = {name for names in args.print_ir_after for name in names.split(",")}
        if args.print_ir_after_all or pass_.name in wanted:
            sys.stderr.write(f"// -----// IR Dump After {pass_.name} //----- //\n")
            sys.stderr.write(self._ir(module))
        if args.print_between_passes and not last:
            print(f"IR after {pass_.name}:")
            print(self._ir(module), end="\n\n\n")

    def _ir(self, module: ModuleOp) -> str:
        from ramiel_mlir.backend.mlir_target import MlirTarget

        text = StringIO()
        MlirTarget().emit(self.opt.ctx, module, text)
        return text.getvalue()

    def _dump(self, name: str, module: ModuleOp) -> None:
        if self.dump_dir is None:
            return
        path = self.dump_dir / f"{self.dumps:02d}-{name}.mlir"
        self.dumps += 1
        header = f"// {self.opt.command(self.specs)}\n"
        try:
            path.write_text(header + self._ir(module))
        except OSError as error:
            raise RamielError(f"cannot write {path}: {error.strerror}") from None

    def time_report(self) -> str:
        """MLIR's execution time report: every pass, an alias's passes indented, and a total."""
        total = sum(seconds for _, seconds, depth in self.timings if depth == 0)
        rule = "===" + "-" * 73 + "==="
        lines = [
            rule,
            f"{'... Execution time report ...':^79}".rstrip(),
            rule,
            f"  Total Execution Time: {total:.4f} seconds",
            "",
            "  ----Wall Time----  ----Name----",
        ]
        for name, seconds, depth in [*self.timings, ("Total", total, 0)]:
            share = 100.0 * seconds / total if total > 0 else 0.0
            lines.append(f"  {seconds:8.4f} ({share:5.1f}%)  {'  ' * depth}{name}")
        return "\n".join(lines) + "\n"


def _check_options(spec: ArgSpec, cls: type[ModulePass]) -> None:
    """Reject an option the pass does not have, naming its options as the pipeline spells them."""
    known = [option.name for option in pass_options(cls)]
    unknown = [name for name in spec.parameters if kebab(name) not in known]
    if unknown:
        listed = ", ".join(known) or "none"
        raise ValueError(
            f"{spec.name} has no option {', '.join(repr(n) for n in unknown)} (options: {listed})"
        )


def _op_stats(path: str | None) -> str:
    """The text of --op-stats: the model's op histogram, with what is supported."""
    from ramiel_mlir.frontend.onnx import load_model
    from ramiel_mlir.onnx.support import op_histogram

    if path is None or not path.endswith(".onnx"):
        raise RamielError("--op-stats reads an ONNX model (a .onnx file)")
    rows = op_histogram(load_model(os.path.abspath(path)))
    width = max((len(row.qualified) for row in rows), default=7)
    lines = [f"{'op':<{width}}  opset  count  supported"]
    for row in rows:
        lines.append(
            f"{row.qualified:<{width}}  {row.opset:>5}  {row.count:>5}  "
            f"{'yes' if row.supported else 'no'}"
        )
    unsupported = [row for row in rows if not row.supported]
    nodes = sum(row.count for row in rows)
    lines.append(
        f"{nodes} nodes, {len(rows)} op types, "
        f"{len(unsupported)} unsupported ({sum(r.count for r in unsupported)} nodes)"
    )
    return "\n".join(lines) + "\n"


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
    """
    Write `text` to `output_file` at once (through a temporary file beside it); a
    device or pipe (`-o /dev/null`) is written to as it is, never replaced.
    """
    if os.path.exists(output_file) and not os.path.isfile(output_file):
        try:
            with open(output_file, "w") as out:
                out.write(text)
        except OSError as error:
            raise RamielError(f"cannot write {output_file}: {error.strerror}") from None
        return
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
        where = error.span.get_location()
        return f"{opt.args.input_file or 'stdin'}:{where.line}:{where.col}: {error.msg}"
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
    except ArgSpecParseError as error:
        return _error(_pipeline_error(error))
    except (ValueError, TypeError) as error:
        return _error(f"invalid pass pipeline: {_one_line(error)}")
    if (message := _run(opt)) is not None:
        return _error(message)
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
