"""
What a generated file carries of the runtime (`ramiel_mlir/runtime/`): definitions and imports.

A lowering names the runtime function or class that the generated code calls,
as an attribute of its module's handle (`resize._resize`, with `resize =
runtime_module("resize")`): a `Definition`. `requirements` gives what the file
must then hold: that definition and every runtime definition it uses,
transitively, in a stable order (by module, then by line), and the imports they
need. Both are derived from the runtime module's source, parsed with `ast`: each
global name that a definition reads (in its body, its annotations, its defaults,
its bases) is another definition of the same module or a name that one of the
module's `import` statements binds. Anything else at module level (state,
constants) is refused: a copied definition must not depend on what is not copied.

The compiler reads the runtime modules' source and never imports them: they
import torch, and compiling a model does not (it costs a second of start-up;
`tests/test_compile_time_imports.py`). Tests import them as ordinary modules
(`tests/test_runtime.py`), and check that these handles and the modules agree.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ramiel_mlir.diagnostics import RamielError

PACKAGE = "ramiel_mlir.runtime"
"""The package whose modules hold the runtime definitions."""


@dataclass(frozen=True)
class Import:
    """`import module [as alias]` (`name` None) or `from module import name`."""

    module: str
    name: str | None = None
    alias: str | None = None

    @property
    def binds(self) -> str:
        """The name this import binds in the importing module."""
        return self.name or self.alias or self.module.split(".")[0]


@dataclass(frozen=True)
class Definition:
    """A function or class of a runtime module, by module and name."""

    module: str
    name: str

    @property
    def order(self) -> tuple[str, int]:
        """Where it stands in a generated file: by module, then by line."""
        return self.module, _parsed(self.module).nodes[self.name].lineno


@dataclass(frozen=True)
class _Module:
    """A runtime module as its source says: definitions, imports, source lines."""

    nodes: dict[str, ast.FunctionDef | ast.ClassDef]
    imports: dict[str, Import]
    lines: list[str]


def _path(module: str) -> Path:
    return Path(__file__).parent.parent / "runtime" / f"{module}.py"


@cache
def _parsed(module: str) -> _Module:
    """The runtime module `module` (`"resize"`), parsed: an error if it has state."""
    path = _path(module)
    if not module.isidentifier() or not path.is_file():
        raise RamielError(f"{PACKAGE} has no module '{module}'")
    text = path.read_text(encoding="utf-8")
    nodes: dict[str, ast.FunctionDef | ast.ClassDef] = {}
    imports: dict[str, Import] = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            nodes[node.name] = node
        elif isinstance(node, ast.Import):
            for alias in node.names:
                needed = Import(alias.name, alias=alias.asname)
                imports[needed.binds] = needed
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                imports[alias.asname or alias.name] = Import(node.module, name=alias.name)
        elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            raise RamielError(
                f"{PACKAGE}.{module}, line {node.lineno}: a runtime module holds only "
                "imports and definitions (generated files cannot carry module state)"
            )
    return _Module(nodes, imports, text.splitlines())


@dataclass(frozen=True)
class RuntimeModule:
    """A runtime module's handle: its attributes are its definitions."""

    module: str

    def __getattr__(self, name: str) -> Definition:
        if name.startswith("__") or name not in _parsed(self.module).nodes:
            raise AttributeError(f"{PACKAGE}.{self.module} defines no '{name}'")
        return Definition(self.module, name)


def runtime_module(module: str) -> RuntimeModule:
    """The handle of `ramiel_mlir.runtime.<module>` (checked to exist)."""
    _parsed(module)
    return RuntimeModule(module)


def resolve(module: str, name: str) -> Definition:
    """The definition that a `py.runtime` op names by its module's dotted path."""
    short = module.removeprefix(PACKAGE + ".")
    if short == module or name not in _parsed(short).nodes:
        raise RamielError(f"py.runtime: no definition '{name}' in {PACKAGE} module '{module}'")
    return Definition(short, name)


def dotted(definition: Definition) -> str:
    """The module path of a definition, as a `py.runtime` op names it."""
    return f"{PACKAGE}.{definition.module}"


@cache
def source(definition: Definition) -> str:
    """The source text of a definition, as it is written in its module."""
    parsed = _parsed(definition.module)
    node = parsed.nodes[definition.name]
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    assert node.end_lineno is not None
    return "\n".join(parsed.lines[first - 1 : node.end_lineno]) + "\n"


@cache
def _direct(definition: Definition) -> tuple[tuple[Definition, ...], tuple[Import, ...]]:
    """The definitions and imports that `definition` itself reads."""
    parsed = _parsed(definition.module)
    read = dict.fromkeys(
        node.id
        for node in ast.walk(parsed.nodes[definition.name])
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    )
    uses = tuple(
        Definition(definition.module, name)
        for name in read
        if name in parsed.nodes and name != definition.name
    )
    return uses, tuple(parsed.imports[name] for name in read if name in parsed.imports)


def requirements(definition: Definition) -> tuple[list[Definition], list[Import]]:
    """`definition` and the definitions it uses (in `Definition.order`), and their imports."""
    seen: dict[Definition, None] = {}
    pending = [definition]
    imports: set[Import] = set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen[current] = None
        uses, needed = _direct(current)
        pending.extend(uses)
        imports.update(needed)
    by_text = sorted(imports, key=lambda i: (i.module, i.name or "", i.alias or ""))
    return sorted(seen, key=lambda d: d.order), by_text
