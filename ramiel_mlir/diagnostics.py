"""
The compiler's user-facing diagnostics: errors (one line that says what is wrong
and where), warnings and opt-in remarks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from xdsl.dialects.builtin import NameLoc, StringAttr
from xdsl.ir import Operation

REMARKS = logging.getLogger("ramiel_mlir.remarks")
"""
The remarks' logger. It says nothing unless enabled: `ramiel-opt --remarks`
(`enable_remarks`) sends its records to standard error.
"""

WARNINGS = logging.getLogger("ramiel_mlir.warnings")
"""The warnings' logger: always shown on standard error by ramiel-opt."""


class RamielError(Exception):
    """
    An error in the user's input (model, IR or options).

    The driver prints it as one line, `ramiel-opt: error: <message>`, and exits
    with code 1; its message names the file, ONNX node or IR location at fault.
    """


def location(op: Operation) -> str:
    """
    Where a diagnostic about `op` points: its `loc("name")` (the ONNX node name
    the frontend gives it), else `@symbol` for a symbol such as a `dfg.graph`, else ''.
    """
    if isinstance(op.location, NameLoc):
        return f'loc("{op.location.desc.data}")'
    symbol = op.attributes.get("sym_name") or op.properties.get("sym_name")
    if isinstance(symbol, StringAttr):
        return f"@{symbol.data}"
    return ""


def _located(message: str, at: Operation | None) -> str:
    where = location(at) if at is not None else ""
    return f"{where}: {message}" if where else message


def remark(message: str, at: Operation | None = None) -> None:
    """
    Explain a decision a pass made (opt-in: `ramiel-opt --remarks`).

    A remark is not an error: the pipeline goes on. It is one line on standard
    error, `ramiel-opt: remark: loc("NODE"): <pass>: <message>`, located at the
    ONNX node (or the graph) the decision is about, so it never mixes with the
    IR or code printed on standard output.
    """
    REMARKS.info("%s", _located(message, at))


def warning(message: str, at: Operation | None = None) -> None:
    """Warn about a likely mistake that does not stop compiling (always shown)."""
    WARNINGS.warning("warning: %s", _located(message, at))


def enable_remarks(prog: str = "ramiel-opt") -> logging.Handler:
    """Print remarks on standard error as `PROG: remark: ...`; returns the handler to remove."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(f"{prog}: remark: %(message)s"))
    REMARKS.addHandler(handler)
    REMARKS.setLevel(logging.INFO)
    REMARKS.propagate = False
    return handler


def disable_remarks(handler: logging.Handler) -> None:
    """Undo `enable_remarks`."""
    REMARKS.removeHandler(handler)
    if not REMARKS.handlers:
        REMARKS.setLevel(logging.NOTSET)
        REMARKS.propagate = True


@contextmanager
def quiet() -> Iterator[None]:
    """Drop remarks and warnings inside the block (a pass's trial runs on a copy)."""
    saved = REMARKS.disabled, WARNINGS.disabled
    REMARKS.disabled = WARNINGS.disabled = True
    try:
        yield
    finally:
        REMARKS.disabled, WARNINGS.disabled = saved
