"""The compiler's user-facing error: one line that says what is wrong and where."""

from __future__ import annotations


class RamielError(Exception):
    """
    An error in the user's input (model, IR or options).

    The driver prints it as one line, `ramiel-opt: error: <message>`, and exits
    with code 1; its message names the file, ONNX node or IR location at fault.
    """


def remark(message: str) -> None:
    """
    Tell the user about a choice a pass made that leaves its output as it was.

    A remark is not an error: the pipeline goes on. It is one line on standard
    error, `ramiel-opt: remark: <message>`, so it never mixes with the IR or code
    printed on standard output.
    """
    import sys

    print(f"ramiel-opt: remark: {message}", file=sys.stderr)
