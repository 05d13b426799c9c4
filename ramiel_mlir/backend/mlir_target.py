"""The `mlir` target: xDSL's, printing the locations that are known (the ONNX node names)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from io import StringIO
from typing import IO

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.targets.mlir import MLIRTarget

_UNKNOWN_LOC = re.compile(r" loc\(unknown\)(?=[,)]|\s*$)", re.MULTILINE)
"""An unknown location as the printer writes it: after a block argument or at the end of a line."""


@dataclass(frozen=True)
class MlirTarget(MLIRTarget):
    """
    Print the IR; by default with each op's location where one is known.

    The frontend locates every node at its ONNX node name (`loc("conv1")`) and the
    passes keep it, so a saved and reloaded `.mlir` file still names the nodes in
    its errors and remarks. `locations=false` prints none; `--print-debuginfo`
    prints all of them, `loc(unknown)` included.
    """

    locations: bool = True

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        if self.print_debuginfo or not self.locations:
            super().emit(ctx, module, output)
            return
        text = StringIO()
        MLIRTarget.emit(replace(self, print_debuginfo=True), ctx, module, text)
        output.write(_UNKNOWN_LOC.sub("", text.getvalue()))
