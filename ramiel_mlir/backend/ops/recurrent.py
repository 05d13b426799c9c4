"""
ONNX recurrent layers (RNN, GRU, LSTM) as one helper of the generated file.

The helper runs the recurrence of the ONNX definition step by step: gates in
ONNX's order (GRU: z, r, h; LSTM: i, o, f, c), per-direction weights, the
activation functions and their alpha/beta, `clip`, GRU's `linear_before_reset`,
LSTM's peepholes and `input_forget`, both layouts, and `sequence_lens` (a
padded step neither updates the state nor outputs anything but zeros).
"""

from __future__ import annotations

from typing import Any

from xdsl.ir import SSAValue

from ramiel_mlir.backend.context import NodeContext
from ramiel_mlir.backend.ops import lowering
from ramiel_mlir.backend.runtime_source import runtime_module

DEFAULT_ACTIVATIONS = {
    "RNN": ["Tanh"],
    "GRU": ["Sigmoid", "Tanh"],
    "LSTM": ["Sigmoid", "Tanh", "Tanh"],
}
ACTIVATIONS = frozenset(
    {
        "Relu",
        "Tanh",
        "Sigmoid",
        "Affine",
        "LeakyRelu",
        "ThresholdedRelu",
        "ScaledTanh",
        "HardSigmoid",
        "Elu",
        "Softsign",
        "Softplus",
    }
)

runtime = runtime_module("recurrent")
"""The runtime functions this file's lowerings call."""
DEFAULT_ALPHA = {"LeakyRelu": 0.01, "ThresholdedRelu": 1.0, "HardSigmoid": 0.2, "Elu": 1.0}
DEFAULT_BETA = {"HardSigmoid": 0.5}


def _activations(ctx: NodeContext, kind: str, directions: int) -> list[list[Any]]:
    """[name, alpha, beta] per activation function, for every direction."""
    names = ctx.attr_strs("activations")
    if not names:
        names = DEFAULT_ACTIVATIONS[kind] * directions
    if len(names) != len(DEFAULT_ACTIVATIONS[kind]) * directions:
        ctx.error(f"{len(names)} activations for {directions} direction(s)")
    alphas = ctx.attr_floats("activation_alpha")
    betas = ctx.attr_floats("activation_beta")
    functions: list[list[Any]] = []
    for index, name in enumerate(names):
        if name not in ACTIVATIONS:
            ctx.unsupported(f"activation '{name}'")
        alpha = alphas[index] if index < len(alphas) else DEFAULT_ALPHA.get(name)
        beta = betas[index] if index < len(betas) else DEFAULT_BETA.get(name)
        functions.append([name, alpha, beta])
    return functions


@lowering("RNN", "GRU", "LSTM")
def _recurrent(ctx: NodeContext) -> list[SSAValue | None]:
    kind = ctx.node.op_type.data
    direction = str(ctx.attr("direction", "forward"))
    if direction not in ("forward", "reverse", "bidirectional"):
        ctx.unsupported(f"direction '{direction}'")
    directions = 2 if direction == "bidirectional" else 1
    hidden = ctx.attr_int("hidden_size", ctx.in_shape(2)[2])
    inputs = [ctx.arg(i) if ctx.has(i) else None for i in range(8 if kind == "LSTM" else 6)]
    inputs += [None] * (8 - len(inputs))
    if kind == "GRU":  # X, W, R, B, sequence_lens, initial_h: no initial_c, no P
        inputs = [*inputs[:6], None, None]
    results = ctx.b.call_n(
        ctx.helper(runtime._recurrent),
        3,
        kind,
        *inputs,
        hidden=hidden,
        direction=direction,
        layout=ctx.attr_int("layout", 0),
        activations=_activations(ctx, kind, directions),
        clip=ctx.attr_float("clip"),
        linear_before_reset=ctx.attr_int("linear_before_reset", 0),
        input_forget=ctx.attr_int("input_forget", 0),
    )
    return list(results[: len(ctx.node.outputs)])
