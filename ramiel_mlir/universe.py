"""
Ramiel-MLIR as an xDSL plugin: the `xdsl.universe` entry point (pyproject.toml).

With the project installed, plain `xdsl-opt` sees the `dfg` dialect, the
project's passes (`linear-cluster`, `parallelize`, ...), the `onnx` frontend and
the `python` and `dot` targets, as `ramiel-opt` does. What xDSL itself provides
is not registered twice (xDSL rejects a name two universes define): the builtin
dialect, `canonicalize`, `cse`, `dce` and the `mlir` target and frontend are
xDSL's own, and so is the `py` dialect name, which xDSL 0.75 gives to a dialect
of its own. Passes that build `py` ops (`convert-dfg-to-py`, `-t python`) work in
xdsl-opt; parsing this project's `py` IR back needs `ramiel-opt`.
"""

from xdsl.universe import Universe

from ramiel_mlir.registry import (
    get_all_dialects,
    get_all_frontends,
    get_all_passes,
    get_all_targets,
)

_XDSL_OWN_DIALECTS = frozenset({"builtin", "py"})
_XDSL_OWN_PASSES = frozenset({"canonicalize", "cse", "dce"})
_XDSL_OWN = frozenset({"mlir"})
"""The names xDSL's own universe already defines (a target and a frontend)."""

RAMIEL_UNIVERSE = Universe(
    all_dialects={
        name: factory
        for name, factory in get_all_dialects().items()
        if name not in _XDSL_OWN_DIALECTS
    },
    all_passes={
        name: factory for name, factory in get_all_passes().items() if name not in _XDSL_OWN_PASSES
    },
    all_targets={
        name: factory for name, factory in get_all_targets().items() if name not in _XDSL_OWN
    },
    all_frontends={
        name: factory for name, factory in get_all_frontends().items() if name not in _XDSL_OWN
    },
)
"""Everything of the project that xDSL's universe lacks."""
