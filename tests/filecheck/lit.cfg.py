# lit configuration: every *.mlir / *.test file under tests/filecheck is a test.
# RUN lines use `ramiel-opt`, `filecheck` and `%python` (the interpreter running lit).
import os
import sys

import lit.formats

config.name = "ramiel-mlir"  # noqa: F821
config.test_format = lit.formats.ShTest(execute_external=False)  # noqa: F821
config.suffixes = [".mlir", ".test"]  # noqa: F821
config.test_source_root = os.path.dirname(__file__)  # noqa: F821
config.excludes = ["lit.cfg.py", "Inputs"]  # noqa: F821
config.substitutions.append(("%python", sys.executable))  # noqa: F821
config.substitutions.append(("%inputs", os.path.join(os.path.dirname(__file__), "Inputs")))  # noqa: F821
for name in ("PATH", "HOME", "RAMIEL_CACHE_DIR"):
    if name in os.environ:
        config.environment[name] = os.environ[name]  # noqa: F821
