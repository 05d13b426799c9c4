"""
What `--help` and `--list-passes` say about a pass: its summary and its options,
in the pipeline's kebab-case spelling, with their types, defaults and docstrings.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import itertools
import textwrap
from dataclasses import dataclass
from typing import Any, get_type_hints

from xdsl.passes import ModulePass

UPSTREAM_SUMMARIES = {
    "canonicalize": "Apply every canonicalization pattern and fold (xDSL's canonicalize).",
    "cse": "Merge identical nodes and weights (xDSL's common subexpression elimination).",
    "dce": "Remove nodes and weights whose results nobody reads (xDSL's dead code elimination).",
}
"""One-line summaries of the xDSL passes that ramiel-opt registers."""


@dataclass(frozen=True)
class PassOption:
    """One option of a pass, as the pipeline spells it."""

    name: str
    """Kebab-case: `min-gain`."""

    type: str
    default: str
    doc: str


def kebab(name: str) -> str:
    """The pipeline spelling of a field name: `min_gain` -> `min-gain`."""
    return name.replace("_", "-")


def summary(name: str, cls: type[ModulePass]) -> str:
    """The first sentence of the pass's docstring."""
    if name in UPSTREAM_SUMMARIES:
        return UPSTREAM_SUMMARIES[name]
    paragraph = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())
    return paragraph.split(". ")[0].rstrip(".") + "."


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, str):
        return f'"{value}"' if not value or not value.replace("-", "").isalnum() else value
    if isinstance(value, tuple):
        return ",".join(_format_value(v) for v in value)  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    return str(value)


def _type_name(hint: Any) -> str:
    text = hint.__name__ if isinstance(hint, type) else str(hint)
    return text.replace("typing.", "").replace("NoneType", "None")


def _field_docs(cls: type) -> dict[str, str]:
    """The docstring below each field of a dataclass (from its source), by field name."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        body = ast.parse(source).body[0]
        if not isinstance(body, ast.ClassDef):
            continue
        statements = body.body
        for field, doc in itertools.pairwise(statements):
            if (
                isinstance(field, ast.AnnAssign)
                and isinstance(field.target, ast.Name)
                and isinstance(doc, ast.Expr)
                and isinstance(doc.value, ast.Constant)
                and isinstance(doc.value.value, str)
            ):
                docs[field.target.id] = " ".join(doc.value.value.split())
    return docs


def pass_options(cls: type[ModulePass]) -> list[PassOption]:
    """The options of a pass class, in declaration order."""
    hints = get_type_hints(cls)
    docs = _field_docs(cls)
    options: list[PassOption] = []
    for field in dataclasses.fields(cls):
        if field.name == "name" or not field.init:
            continue
        if field.default is not dataclasses.MISSING:
            default = _format_value(field.default)
        elif field.default_factory is not dataclasses.MISSING:
            default = _format_value(field.default_factory())
        else:
            default = "(required)"
        options.append(
            PassOption(
                kebab(field.name), _type_name(hints[field.name]), default, docs.get(field.name, "")
            )
        )
    return options


def options_line(cls: type[ModulePass]) -> str:
    """`lanes=0 min-gain=0.1 ...`: every option with its default."""
    return " ".join(f"{option.name}={option.default}" for option in pass_options(cls))


def list_passes(passes: dict[str, type[ModulePass]]) -> str:
    """The text of `--list-passes`: each pass, its summary, and each option with its default."""
    lines: list[str] = []
    for name, cls in sorted(passes.items()):
        lines.append(f"{name}")
        lines.append(f"  {summary(name, cls)}")
        for option in pass_options(cls):
            doc = f"  {option.doc}" if option.doc else ""
            lines.append(f"    {option.name}: {option.type} = {option.default}{doc}")
    return "\n".join(lines) + "\n"
