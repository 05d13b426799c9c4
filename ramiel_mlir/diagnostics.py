"""The compiler's user-facing error: one line that says what is wrong and where."""

from __future__ import annotations


class RamielError(Exception):
    """
    An error in the user's input (model, IR or options).

    The driver prints it as one line, `ramiel-opt: error: <message>`, and exits
    with code 1; its message names the file, ONNX node or IR location at fault.
    """
