"""
The runtime of the generated code: ordinary modules whose definitions the printer copies.

A generated file is self-contained (torch, the standard library and numpy), so
the functions and classes it calls beyond torch are copied into it from these
modules (`py.runtime` ops; see `backend/runtime_source.py`): each once, with
the imports they need. These modules import nothing of `ramiel_mlir`, hold only
definitions (no module-level state), and are linted, type-checked and tested
(`tests/test_runtime.py`) like the rest of the compiler.
"""
