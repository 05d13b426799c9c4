"""
What a generated file carries of the runtime (`backend/runtime/`): definitions and imports.

A lowering names the runtime function or class that the generated code calls
(`ctx.helper(resize._resize)`). `requirements` gives what the file must then
hold: that definition and every runtime definition it uses, transitively, in a
stable order (by module, then by line), and the imports they need. Both are
derived from the definitions themselves: each global name that a definition
reads (in its body, its annotations, its defaults, its bases) is a runtime
definition of the same package, a module (`import numpy as np`), or a class or
function that a module exports (`from concurrent.futures import Future`).
Anything else at module level (state, constants) is refused: a copied
definition must not depend on what is not copied.

The py dialect names a definition by module and name (`py.runtime`); the
printer copies its source (`source`, with `inspect.getsource`).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any, TypeAlias

from ramiel_mlir.diagnostics import RamielError

PACKAGE = "ramiel_mlir.backend.runtime"
"""The package whose modules hold the runtime definitions."""

Definition: TypeAlias = Callable[..., Any] | type
"""A runtime function or class."""


@dataclass(frozen=True, order=True)
class Import:
    """`import module [as alias]` (`name` None) or `from module import name`."""

    module: str
    name: str | None = None
    alias: str | None = None


def reference(definition: Definition) -> tuple[str, str]:
    """The module and name of a runtime definition; an error for anything else."""
    module, name = definition.__module__, definition.__name__
    if (
        not module.startswith(PACKAGE + ".")
        or getattr(sys.modules.get(module), name, None) is not definition
    ):
        raise RamielError(f"{module}.{name} is not a definition of {PACKAGE}")
    return module, name


def resolve(module: str, name: str) -> Definition:
    """The runtime definition `name` of `module` (as a `py.runtime` op names it)."""
    if not module.startswith(PACKAGE + "."):
        raise RamielError(f"py.runtime: '{module}' is not a module of {PACKAGE}")
    try:
        definition = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise RamielError(f"py.runtime: no definition '{name}' in {module}") from error
    if not (inspect.isfunction(definition) or inspect.isclass(definition)):
        raise RamielError(f"py.runtime: {module}.{name} is not a function or class")
    return definition


@cache
def source(definition: Definition) -> str:
    """The source text of a runtime definition, as it is written in its module."""
    return textwrap.dedent(inspect.getsource(definition))


def _read_globals(definition: Definition) -> list[str]:
    """The names of its module's globals that `definition` reads, in order of first use."""
    namespace = vars(sys.modules[definition.__module__])
    tree = ast.parse(source(definition))
    names = [
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    ]
    return [name for name in dict.fromkeys(names) if name in namespace]


def _exporter(value: Any, name: str) -> str:
    """The shortest module path that exports `value` as `name` (`concurrent.futures`)."""
    parts = value.__module__.split(".")
    for end in range(1, len(parts) + 1):
        module = sys.modules.get(".".join(parts[:end]))
        if module is not None and getattr(module, name, None) is value:
            return module.__name__
    return value.__module__


def _import_of(module: ModuleType, name: str) -> Import | None:
    """The import that binds `name` as `module` binds it; None for a runtime definition."""
    value = vars(module)[name]
    if isinstance(value, ModuleType):
        return Import(value.__name__, alias=None if value.__name__ == name else name)
    if getattr(value, "__module__", "").startswith(PACKAGE + "."):
        return None
    if not (inspect.isclass(value) or inspect.isroutine(value) or _is_typing_form(value)):
        raise RamielError(
            f"{module.__name__}: the runtime global '{name}' is neither a definition nor "
            "an import; generated files cannot carry module state"
        )
    exporter = _exporter(value, name)
    return Import(exporter, name=name)


def _is_typing_form(value: Any) -> bool:
    """`typing.Any` and its kind: special forms that are neither classes nor routines."""
    return getattr(value, "__module__", None) == "typing"


@cache
def _direct(definition: Definition) -> tuple[tuple[Definition, ...], tuple[Import, ...]]:
    """The runtime definitions and imports that `definition` itself reads."""
    module = sys.modules[definition.__module__]
    definitions: list[Definition] = []
    imports: list[Import] = []
    for name in _read_globals(definition):
        needed = _import_of(module, name)
        if needed is not None:
            imports.append(needed)
        elif vars(module)[name] is not definition:
            definitions.append(vars(module)[name])
    return tuple(definitions), tuple(imports)


def order(definition: Definition) -> tuple[str, int]:
    """Where a definition stands in a generated file: by module, then by line."""
    lines = inspect.getsourcelines(definition)
    return definition.__module__, lines[1]


def requirements(definition: Definition) -> tuple[list[Definition], list[Import]]:
    """`definition` and the runtime definitions it uses (in `order`), and their imports."""
    reference(definition)
    seen: dict[Definition, None] = {}
    pending = [definition]
    imports: set[Import] = set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        reference(current)
        seen[current] = None
        uses, needed = _direct(current)
        pending.extend(uses)
        imports.update(needed)
    return sorted(seen, key=order), sorted(imports)
