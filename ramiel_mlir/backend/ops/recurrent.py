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

RECURRENT = '''\
def _rnn_activation(name: str, alpha, beta):
    """An ONNX recurrent activation function by name, with its alpha and beta."""
    if name == "Sigmoid":
        return torch.sigmoid
    if name == "Tanh":
        return torch.tanh
    if name == "Relu":
        return torch.relu
    if name == "Affine":
        return lambda x: alpha * x + beta
    if name == "LeakyRelu":
        return lambda x: F.leaky_relu(x, alpha)
    if name == "ThresholdedRelu":
        return lambda x: F.threshold(x, alpha, 0.0)
    if name == "ScaledTanh":
        return lambda x: alpha * torch.tanh(beta * x)
    if name == "HardSigmoid":
        return lambda x: torch.clamp(alpha * x + beta, 0.0, 1.0)
    if name == "Elu":
        return lambda x: F.elu(x, alpha)
    if name == "Softsign":
        return F.softsign
    return F.softplus  # Softplus


def _recurrent(
    kind: str, x, w, r, b, lengths, h0, c0, p, *, hidden: int, direction: str, layout: int,
    activations: list, clip, linear_before_reset: int, input_forget: int,
):
    """ONNX RNN, GRU or LSTM: returns Y, Y_h and (for LSTM) Y_c."""
    if layout:
        x = x.transpose(0, 1)
        h0 = None if h0 is None else h0.transpose(0, 1)
        c0 = None if c0 is None else c0.transpose(0, 1)
    steps, batch = x.shape[0], x.shape[1]
    gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[kind]
    directions = 2 if direction == "bidirectional" else 1
    functions = len(activations) // directions
    outputs, last_h, last_c = [], [], []
    for d in range(directions):
        wd, rd = w[d], r[d]
        bias = b[d] if b is not None else torch.zeros(2 * gates * hidden, dtype=x.dtype)
        wb, rb = bias[: gates * hidden], bias[gates * hidden :]
        f, g, h = (
            [_rnn_activation(*a) for a in activations[d * functions : (d + 1) * functions]]
            + [None, None]
        )[:3]
        state = h0[d] if h0 is not None else torch.zeros(batch, hidden, dtype=x.dtype)
        cell = c0[d] if c0 is not None else torch.zeros(batch, hidden, dtype=x.dtype)
        reverse = direction == "reverse" or d == 1
        ys = [None] * steps
        for t in reversed(range(steps)) if reverse else range(steps):
            xw = x[t] @ wd.T + wb
            hr = state @ rd.T + rb
            if kind == "RNN":
                pre = xw + hr
                new_state = f(pre.clamp(-clip, clip) if clip is not None else pre)
            elif kind == "GRU":
                xz, xr, xh = xw.chunk(3, -1)
                hz, hr_, hh = hr.chunk(3, -1)
                pre_z, pre_r = xz + hz, xr + hr_
                if clip is not None:
                    pre_z, pre_r = pre_z.clamp(-clip, clip), pre_r.clamp(-clip, clip)
                z, reset = f(pre_z), f(pre_r)
                if linear_before_reset:
                    pre_h = xh + reset * hh
                else:
                    rh = rd[2 * hidden :]
                    pre_h = xh + (reset * state) @ rh.T + rb[2 * hidden :]
                if clip is not None:
                    pre_h = pre_h.clamp(-clip, clip)
                new_state = (1 - z) * g(pre_h) + z * state
            else:
                pre_i, pre_o, pre_f, pre_c = (xw + hr).chunk(4, -1)
                if p is not None:
                    pi, po, pf = p[d].chunk(3)
                    pre_i, pre_f = pre_i + pi * cell, pre_f + pf * cell
                if clip is not None:
                    pre_i, pre_f = pre_i.clamp(-clip, clip), pre_f.clamp(-clip, clip)
                    pre_c = pre_c.clamp(-clip, clip)
                i = f(pre_i)
                forget = 1 - i if input_forget else f(pre_f)
                new_cell = forget * cell + i * g(pre_c)
                if p is not None:
                    pre_o = pre_o + po * new_cell
                if clip is not None:
                    pre_o = pre_o.clamp(-clip, clip)
                new_state = f(pre_o) * h(new_cell)
            if lengths is not None:
                valid = (t < lengths).reshape(-1, 1)
                new_state = torch.where(valid, new_state, state)
                if kind == "LSTM":
                    new_cell = torch.where(valid, new_cell, cell)
                ys[t] = torch.where(valid, new_state, torch.zeros_like(new_state))
            else:
                ys[t] = new_state
            state = new_state
            if kind == "LSTM":
                cell = new_cell
        outputs.append(torch.stack(ys))
        last_h.append(state)
        last_c.append(cell)
    y = torch.stack(outputs, 1)
    y_h, y_c = torch.stack(last_h), torch.stack(last_c)
    if layout:
        y, y_h, y_c = y.permute(2, 0, 1, 3), y_h.transpose(0, 1), y_c.transpose(0, 1)
    return y, y_h, y_c
'''

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
DEFAULT_ALPHA = {"LeakyRelu": 0.01, "ThresholdedRelu": 1.0, "HardSigmoid": 0.2, "Elu": 1.0}
DEFAULT_BETA = {"HardSigmoid": 0.5}


def _activations(ctx: NodeContext, kind: str, directions: int) -> list[list[Any]]:
    """[name, alpha, beta] per activation function, for every direction."""
    names = [str(n) for n in ctx.attr("activations", [])]  # type: ignore[union-attr]
    if not names:
        names = DEFAULT_ACTIVATIONS[kind] * directions
    if len(names) != len(DEFAULT_ACTIVATIONS[kind]) * directions:
        ctx.error(f"{len(names)} activations for {directions} direction(s)")
    alphas = list(ctx.attr("activation_alpha", []))  # type: ignore[arg-type]
    betas = list(ctx.attr("activation_beta", []))  # type: ignore[arg-type]
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
    hidden = ctx.attr("hidden_size", None)
    if hidden is None:
        hidden = ctx.in_shape(2)[2]
    clip = ctx.attr("clip", None)
    inputs = [ctx.arg(i) if ctx.has(i) else None for i in range(8 if kind == "LSTM" else 6)]
    inputs += [None] * (8 - len(inputs))
    if kind == "GRU":  # X, W, R, B, sequence_lens, initial_h: no initial_c, no P
        inputs = [*inputs[:6], None, None]
    ctx.helper(RECURRENT)
    results = ctx.b.call_n(
        "_recurrent",
        3,
        kind,
        *inputs,
        hidden=int(hidden),  # type: ignore[arg-type]
        direction=direction,
        layout=int(ctx.attr("layout", 0)),  # type: ignore[arg-type]
        activations=_activations(ctx, kind, directions),
        clip=None if clip is None else float(clip),  # type: ignore[arg-type]
        linear_before_reset=int(ctx.attr("linear_before_reset", 0)),  # type: ignore[arg-type]
        input_forget=int(ctx.attr("input_forget", 0)),  # type: ignore[arg-type]
    )
    return list(results[: len(ctx.node.outputs)])
