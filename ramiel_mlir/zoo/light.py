"""
The full-size graphs shipped in the onnx wheel (`onnx/backend/test/data/light/`).

Their weights are made by `ConstantOfShape` with one value, so every output would
be the same: `light_model` replaces each such node by a seeded random initializer
(scaled so activations stay in a sensible range) and saves the model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

LIGHT_MODELS = (
    "bvlc_alexnet",
    "densenet121",
    "inception_v1",
    "inception_v2",
    "resnet50",
    "shufflenet",
    "squeezenet",
    "vgg19",
    "zfnet512",
)


def light_dir() -> Path:
    """Where the onnx wheel keeps the light models."""
    return Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"


def randomize_weights(model: onnx.ModelProto, seed: int = 0) -> onnx.ModelProto:
    """Replace every `ConstantOfShape` of a constant shape by a random initializer."""
    rng = np.random.default_rng(seed)
    graph = model.graph
    shapes = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    kept = []
    for node in graph.node:
        if node.op_type != "ConstantOfShape" or node.input[0] not in shapes:
            kept.append(node)
            continue
        shape = [int(d) for d in shapes[node.input[0]]]
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        if len(shape) == 1:
            # Biases, BatchNorm scale/bias/mean/var: positive values near 1 keep
            # variances valid and activations bounded.
            values = rng.uniform(0.5, 1.5, size=shape)
        else:
            values = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
        graph.initializer.append(
            numpy_helper.from_array(values.astype(np.float32), node.output[0])
        )
    del graph.node[:]
    graph.node.extend(kept)
    used = {name for node in graph.node for name in node.input}
    used |= {o.name for o in graph.output}
    initializers = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    # Keep only the real inputs; IR version 4 lets initializers stand alone.
    names = {t.name for t in initializers}
    inputs = [i for i in graph.input if i.name in used and i.name not in names]
    del graph.input[:]
    graph.input.extend(inputs)
    model.ir_version = max(model.ir_version, 4)
    return model


def light_model(name: str, directory: Path, seed: int = 0) -> Path:
    """Write the light model `name` with random weights into `directory`."""
    path = directory / f"{name}.onnx"
    if not path.exists():
        model = onnx.load(light_dir() / f"light_{name}.onnx")
        onnx.save(randomize_weights(model, seed), path)
    return path
