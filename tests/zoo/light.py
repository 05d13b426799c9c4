"""
The full-size graphs shipped in the onnx wheel (`onnx/backend/test/data/light/`).

Their weights are made by `ConstantOfShape` with one value (a few small ones are
stored), so every output would be the same. `light_model` replaces every float
parameter by a seeded random tensor and calibrates the network on a random input
the way data-driven initialisations (LSUV) do: each Conv/Gemm weight is scaled so
that its product has unit standard deviation, each BatchNormalization takes the
mean and variance of the activations it sees as its running statistics, and the
last layer is scaled so that the final scores are spread but not saturated (see
`SCORE_STD`, `TOP_PROBABILITY`). Every layer then does visible work and the
output is far from one-hot, so a wrong operator anywhere changes it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

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

SCORE_STD = 3.0
"""The largest standard deviation of the final scores (before any Softmax)."""

TOP_PROBABILITY = 0.25
"""The largest class probability, for models that end in a Softmax."""

SHIFT_STD = 0.1
"""Standard deviation of biases and shifts, against activations of about 1."""

_ROLES: dict[tuple[str, int | None], str] = {
    ("Conv", 1): "weight",
    ("Conv", 2): "shift",
    ("Gemm", 1): "weight",
    ("Gemm", 2): "shift",
    ("BatchNormalization", 1): "scale",
    ("BatchNormalization", 2): "shift",
    ("BatchNormalization", 3): "mean",
    ("BatchNormalization", 4): "var",
    ("Mul", None): "scale",
    ("Add", None): "shift",
}
"""What a parameter is, from the operator input it feeds (None: any input)."""

_PASS_THROUGH = {"Unsqueeze", "Reshape", "Identity"}
"""Ops through which a parameter reaches its consumer unchanged in value."""


def light_dir() -> Path:
    """Where the onnx wheel keeps the light models."""
    return Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"


# Drawing


def _roles(graph: onnx.GraphProto) -> dict[str, str]:
    """The role of each value that feeds a parameter slot (through pass-through ops)."""
    roles: dict[str, str] = {}
    for node in reversed(graph.node):
        if node.op_type in _PASS_THROUGH and node.output[0] in roles:
            roles[node.input[0]] = roles[node.output[0]]
            continue
        for index, name in enumerate(node.input):
            role = _ROLES.get((node.op_type, index)) or _ROLES.get((node.op_type, None))
            if role is not None:
                roles.setdefault(name, role)
    return roles


def _draw(role: str | None, shape: list[int], rng: np.random.Generator) -> np.ndarray:
    """A random parameter; weights, means and variances are calibrated later."""
    if role == "weight":
        # Uniform, zero-mean: the calibration fixes the scale, and it is fast to
        # draw for the 140 million weights of vgg19.
        weight = rng.random(shape, dtype=np.float32)
        weight -= np.float32(0.5)
        return weight
    if role == "shift":
        return rng.normal(0.0, SHIFT_STD, shape).astype(np.float32)
    if role == "mean":
        return np.zeros(shape, np.float32)
    if role == "var":
        return np.ones(shape, np.float32)
    return rng.uniform(0.5, 1.5, shape).astype(np.float32)


def _draw_parameters(graph: onnx.GraphProto, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random values for every float parameter; drops the `ConstantOfShape` nodes."""
    stored = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    shapes = {
        name: list(value.shape)
        for name, value in stored.items()
        if np.issubdtype(value.dtype, np.floating)
    }
    kept = []
    for node in graph.node:
        if node.op_type == "ConstantOfShape" and node.input[0] in stored:
            shapes[node.output[0]] = [int(d) for d in stored[node.input[0]]]
        else:
            kept.append(node)
    del graph.node[:]
    graph.node.extend(kept)
    roles = _roles(graph)
    return {name: _draw(roles.get(name), shape, rng) for name, shape in shapes.items()}


# Calibration


def _run_node(
    model: onnx.ModelProto, node: onnx.NodeProto, values: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Run one node of `model` with ONNX Runtime on the given input values."""
    names = list(dict.fromkeys(n for n in node.input if n))
    inputs = [
        helper.make_tensor_value_info(
            n, helper.np_dtype_to_tensor_dtype(values[n].dtype), values[n].shape
        )
        for n in names
    ]
    outputs = [onnx.ValueInfoProto(name=n) for n in node.output if n]
    single = helper.make_model(
        helper.make_graph([node], "node", inputs, outputs), opset_imports=model.opset_import
    )
    single.ir_version = model.ir_version
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(
        single.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    results = session.run(None, {n: values[n] for n in names})
    return {n: np.asarray(r) for n, r in zip((n for n in node.output if n), results, strict=True)}


class _Weights:
    """The parameters, and the computed values that are reshaped copies of them."""

    def __init__(self, params: dict[str, np.ndarray], values: dict[str, np.ndarray]) -> None:
        self.params = params
        self.values = values
        self.origin: dict[str, str] = {}

    def __contains__(self, name: str) -> bool:
        return name in self.params or name in self.origin

    def track(self, node: onnx.NodeProto) -> None:
        """Remember that a pass-through node's output is a parameter's copy."""
        if node.op_type in _PASS_THROUGH and node.input[0] in self:
            self.origin[node.output[0]] = self.origin.get(node.input[0], node.input[0])

    def scale(self, name: str, gain: float) -> None:
        """Multiply a parameter (named by itself or a copy) and that copy by `gain`."""
        source = self.params[self.origin.get(name, name)]
        source *= np.float32(gain)
        copy = self.values.get(name)
        if copy is not None and copy is not source:
            copy *= np.float32(gain)


def _run_linear(
    model: onnx.ModelProto, node: onnx.NodeProto, values: dict[str, np.ndarray], weights: _Weights
) -> dict[str, np.ndarray]:
    """Run a Conv/Gemm after scaling its weight for a product of unit deviation."""
    bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
    probe = dict(values)
    if bias is not None:
        probe[bias] = np.zeros_like(values[bias])
    product = _run_node(model, node, probe)[node.output[0]]
    gain = 1.0 / max(float(product.std()), 1e-12)
    weights.scale(node.input[1], gain)
    result = product * np.float32(gain)
    if bias is not None:
        if node.op_type == "Conv":
            result += values[bias].reshape(-1, *[1] * (result.ndim - 2))
        else:
            beta = next((a.f for a in node.attribute if a.name == "beta"), 1.0)
            result += np.float32(beta) * values[bias]
    return {node.output[0]: result}


def _score_gain(scores: np.ndarray, softmax: bool) -> float:
    """
    The factor for the final scores: the largest that keeps their deviation at
    most `SCORE_STD` and, before a Softmax, the top probability at most
    `TOP_PROBABILITY` (skewed scores, as after Relu and pooling, need the second).
    """
    gain = SCORE_STD / float(scores.std())
    if not softmax:
        return gain
    scores = scores.reshape(-1).astype(np.float64)
    low, high = -20.0, float(np.log2(gain))  # log2 of the gain
    for _ in range(60):
        middle = (low + high) / 2
        shifted = scores * 2.0**middle
        probabilities = np.exp(shifted - shifted.max())
        if probabilities.max() / probabilities.sum() > TOP_PROBABILITY:
            high = middle
        else:
            low = middle
    return 2.0**high


def _scores(graph: onnx.GraphProto) -> tuple[str, bool]:
    """The final scores: the first graph output, or the input of its Softmax."""
    output = graph.output[0].name
    for node in graph.node:
        if output in node.output and node.op_type == "Softmax":
            return node.input[0], True
    return output, False


def _calibrate(
    model: onnx.ModelProto, params: dict[str, np.ndarray], rng: np.random.Generator
) -> None:
    """Scale weights and set BatchNorm statistics by running `model` on a random input."""
    graph = model.graph
    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer} | params
    for value in graph.input:
        if value.name not in values:
            shape = [d.dim_value for d in value.type.tensor_type.shape.dim]
            values[value.name] = rng.standard_normal(shape, dtype=np.float32)
    weights = _Weights(params, values)
    scores, softmax = _scores(graph)
    uses = Counter(n for node in graph.node for n in node.input)
    last: onnx.NodeProto | None = None
    for node in graph.node:
        if node.op_type == "BatchNormalization" and node.input[3] in params:
            x = values[node.input[0]]
            axes = (0, *range(2, x.ndim))
            params[node.input[3]][...] = x.mean(axes)
            params[node.input[4]][...] = np.maximum(x.var(axes), 1e-2)
        if node.op_type in ("Conv", "Gemm") and node.input[1] in weights:
            values.update(_run_linear(model, node, values, weights))
            last = node
        else:
            values.update(_run_node(model, node, values))
        weights.track(node)
        for name in node.input:
            uses[name] -= 1
            if uses[name] == 0 and name not in weights and name != scores:
                values.pop(name, None)
    if last is None:
        return
    # Everything after the last layer (Relu, pooling, reshapes) is positively
    # homogeneous: scaling its weight and bias scales the scores alike.
    gain = _score_gain(values[scores], softmax)
    for name in last.input[1:3]:
        if name in weights:
            weights.scale(name, gain)


# Writing


def _install(
    graph: onnx.GraphProto, params: dict[str, np.ndarray], data: Path | None = None
) -> None:
    """
    Make the parameters initializers, stored inline or in the external data file
    `data`; drop unused initializers and the inputs that initializers now give.
    """
    used = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
    initializers = [t for t in graph.initializer if t.name in used and t.name not in params]
    if data is None:
        initializers += [numpy_helper.from_array(v, n) for n, v in params.items() if n in used]
    else:
        with data.open("wb") as stream:
            for name, value in params.items():
                if name not in used:
                    continue
                tensor = onnx.TensorProto(
                    name=name,
                    data_type=onnx.TensorProto.FLOAT,
                    dims=value.shape,
                    data_location=onnx.TensorProto.EXTERNAL,
                )
                where = {"location": data.name, "offset": stream.tell(), "length": value.nbytes}
                for key, entry in where.items():
                    tensor.external_data.add(key=key, value=str(entry))
                stream.write(np.ascontiguousarray(value, "<f4").data)
                initializers.append(tensor)
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    # Keep only the real inputs; IR version 4 lets initializers stand alone.
    names = {t.name for t in initializers}
    inputs = [i for i in graph.input if i.name in used and i.name not in names]
    del graph.input[:]
    graph.input.extend(inputs)


def _randomize(model: onnx.ModelProto, seed: int, data: Path | None) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    params = _draw_parameters(model.graph, rng)
    _calibrate(model, params, rng)
    _install(model.graph, params, data)
    model.ir_version = max(model.ir_version, 4)
    return model


def randomize_weights(model: onnx.ModelProto, seed: int = 0) -> onnx.ModelProto:
    """Replace every float parameter by a seeded random one, calibrated (module doc)."""
    return _randomize(model, seed, None)


def light_model(name: str, directory: Path, seed: int = 0) -> Path:
    """
    Write the light model `name` with random weights into `directory`.

    The weights go to `name.onnx.data` beside it (ONNX external data), so tools
    that read only the graph (shape inference, the checker) skip hundreds of MB.
    """
    path = directory / f"{name}.onnx"
    data = directory / f"{name}.onnx.data"
    if not (path.exists() and data.exists()):
        model = onnx.load(light_dir() / f"light_{name}.onnx")
        onnx.save(_randomize(model, seed, data), path)
    return path
