"""
Imports point down (docs/architecture.md, "Layers"): every import of every module
of the package, at module level or inside a function, is checked with `ast`.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import ramiel_mlir

PACKAGE = Path(next(iter(ramiel_mlir.__path__)))

TARGETS = frozenset({"ramiel_mlir.backend.dot_target", "ramiel_mlir.backend.python_target"})
"""Targets live beside the backend but sit above the passes: `-t python` lowers."""

HARNESSES = (
    "tests",
    "zoo",
    "conformance",
    "undefined",
    "ramiel_mlir.zoo",
    "ramiel_mlir.conformance",
)
"""Test harnesses: the compiler never imports them."""

ALLOWED: dict[str, frozenset[str]] = {
    "runtime": frozenset({"runtime"}),
    "onnx": frozenset({"runtime", "onnx"}),
    "dialects": frozenset({"runtime", "onnx", "dialects"}),
    "frontend": frozenset({"runtime", "onnx", "dialects", "frontend"}),
    "analysis": frozenset({"runtime", "onnx", "dialects", "analysis"}),
    "backend": frozenset({"runtime", "onnx", "dialects", "analysis", "backend"}),
    "passes": frozenset({"runtime", "onnx", "dialects", "analysis", "backend", "passes"}),
    "targets": frozenset(
        {"runtime", "onnx", "dialects", "analysis", "backend", "passes", "targets"}
    ),
    "top": frozenset(
        {
            "runtime",
            "onnx",
            "dialects",
            "frontend",
            "analysis",
            "backend",
            "passes",
            "targets",
            "top",
        }
    ),
}
"""Layer -> the layers its modules may import."""

EVALUATOR = "ramiel_mlir.onnx.evaluate"
EVALUATOR_USERS = frozenset(
    {"ramiel_mlir.transforms.fold_constants", "ramiel_mlir.frontend.shapes"}
)
"""The one compile-time evaluator and its two callers: fold-constants and shape inference."""

CANONICALIZATION_PATTERNS = "ramiel_mlir.transforms.canonicalization_patterns"
"""The one upward import: a dialect's trait imports its patterns lazily, as xDSL's do."""


def layer(module: str) -> str:
    """The layer of a module of the package."""
    parts = module.split(".")
    head = parts[1] if len(parts) > 1 else ""
    if module in TARGETS:
        return "targets"
    if head in ("onnx", "tensors", "diagnostics", "names"):
        return "onnx"
    if head in ("dialects", "weights"):
        return "dialects"
    if head in ("runtime", "frontend", "analysis", "backend"):
        return head
    if head == "transforms":
        return "passes"
    return "top"


@dataclass(frozen=True)
class Import:
    """One imported module (or `from` module + name) and where the import statement is."""

    importer: str
    imported: str
    line: int
    function: str | None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> Iterator[tuple[str, Path]]:
    """Every module of the package."""
    for path in sorted(PACKAGE.rglob("*.py")):
        yield module_name(path), path


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports(importer: str, path: Path) -> Iterator[Import]:
    """Every import in the module, with the function it is in (None at module level)."""
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"

    def visit(node: ast.AST, function: str | None) -> Iterator[Import]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(importer, alias.name, node.lineno, function)
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(importer, is_package, node)
            yield Import(importer, module, node.lineno, function)
            for alias in node.names:  # `from ramiel_mlir import weights` imports a module
                yield Import(importer, f"{module}.{alias.name}", node.lineno, function)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        for child in ast.iter_child_nodes(node):
            yield from visit(child, function)

    yield from visit(tree, None)


def all_imports() -> list[Import]:
    return [found for name, path in package_modules() for found in imports(name, path)]


def _is_canonicalization_trait(found: Import) -> bool:
    return (
        layer(found.importer) == "dialects"
        and found.imported.startswith(CANONICALIZATION_PATTERNS)
        and found.function == "get_canonicalization_patterns"
    )


def _where(found: Import) -> str:
    inside = f" (in {found.function})" if found.function else ""
    return f"{found.importer}:{found.line}{inside} imports {found.imported}"


def test_every_layer_is_known() -> None:
    modules = [name for name, _ in package_modules()]
    assert "ramiel_mlir.onnx.evaluate" in modules
    assert layer("ramiel_mlir.onnx.schema") == "onnx"
    assert layer("ramiel_mlir.tensors") == "onnx"
    assert layer("ramiel_mlir.dialects.dfg") == "dialects"
    assert layer("ramiel_mlir.transforms.fold_constants") == "passes"
    assert layer("ramiel_mlir.backend.python_target") == "targets"
    assert layer("ramiel_mlir.driver") == "top"


def test_imports_point_down() -> None:
    wrong = [
        _where(found)
        for found in all_imports()
        if found.imported.split(".")[0] == "ramiel_mlir"
        and layer(found.imported) not in ALLOWED[layer(found.importer)]
        and not _is_canonicalization_trait(found)
    ]
    assert wrong == []


def test_only_fold_constants_and_shape_inference_evaluate() -> None:
    wrong = [
        _where(found)
        for found in all_imports()
        if found.imported.startswith(EVALUATOR) and found.importer not in EVALUATOR_USERS
    ]
    assert wrong == []


def test_nothing_imports_a_test_harness() -> None:
    wrong = [
        _where(found)
        for found in all_imports()
        if any(found.imported == h or found.imported.startswith(f"{h}.") for h in HARNESSES)
    ]
    assert wrong == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from ramiel_mlir.backend.ops import LOWERINGS", "ramiel_mlir.onnx.x -> backend"),
        ("def f():\n    import ramiel_mlir.transforms.dce", "ramiel_mlir.onnx.x -> passes"),
        ("from ..dialects import dfg", "ramiel_mlir.onnx.x -> dialects"),
    ],
)
def test_the_check_sees_every_kind_of_import(tmp_path: Path, source: str, expected: str) -> None:
    """Module-level, function-level and relative imports are all found (and rejected here)."""
    path = tmp_path / "x.py"
    path.write_text(source)
    found = [
        f"{i.importer} -> {layer(i.imported)}"
        for i in imports("ramiel_mlir.onnx.x", path)
        if layer(i.imported) not in ALLOWED["onnx"]
    ]
    assert expected in found


def test_the_supported_op_table_is_the_lowering_table() -> None:
    from ramiel_mlir.backend.ops import LOWERINGS
    from ramiel_mlir.onnx.support import SUPPORTED_OPS

    assert set(LOWERINGS) == SUPPORTED_OPS


def test_the_frontend_loads_no_backend_and_no_pass() -> None:
    code = (
        "import sys, ramiel_mlir.frontend.onnx\n"
        "print(sorted(m for m in sys.modules"
        " if m.startswith(('ramiel_mlir.backend', 'ramiel_mlir.transforms'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
