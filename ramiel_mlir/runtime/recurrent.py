"""
ONNX recurrent layers (RNN, GRU, LSTM).

The recurrence of the ONNX definition, step by step: gates in ONNX's order (GRU:
z, r, h; LSTM: i, o, f, c), per-direction weights, the activation functions and
their alpha/beta, `clip`, GRU's `linear_before_reset`, LSTM's peepholes and
`input_forget`, both layouts, and `sequence_lens` (a padded step neither updates
the state nor outputs anything but zeros).
"""

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F


def _rnn_activation(
    name: str, alpha: float | None, beta: float | None
) -> Callable[[torch.Tensor], torch.Tensor]:
    """An ONNX recurrent activation function by name, with its alpha and beta."""
    plain = {
        "Sigmoid": torch.sigmoid,
        "Tanh": torch.tanh,
        "Relu": torch.relu,
        "Softsign": F.softsign,
        "Softplus": F.softplus,
    }
    if name in plain:
        return plain[name]
    if alpha is None:
        raise ValueError(f"the recurrent activation {name} needs an alpha")
    a = alpha
    if name == "LeakyRelu":
        return lambda x: F.leaky_relu(x, a)
    if name == "ThresholdedRelu":
        return lambda x: F.threshold(x, a, 0.0)
    if name == "Elu":
        return lambda x: F.elu(x, a)
    if beta is None:
        raise ValueError(f"the recurrent activation {name} needs a beta")
    b = beta
    if name == "Affine":
        return lambda x: a * x + b
    if name == "ScaledTanh":
        return lambda x: a * torch.tanh(b * x)
    return lambda x: torch.clamp(a * x + b, 0.0, 1.0)  # HardSigmoid


def _clip(x: torch.Tensor, clip: float | None) -> torch.Tensor:
    """`x` clamped to [-clip, clip], or `x` if there is no clip."""
    return x if clip is None else x.clamp(-clip, clip)


def _gru_step(
    xw: torch.Tensor,
    hr: torch.Tensor,
    state: torch.Tensor,
    recurrence: torch.Tensor,
    recurrence_bias: torch.Tensor,
    functions: list[Callable[[torch.Tensor], torch.Tensor]],
    clip: float | None,
    linear_before_reset: int,
) -> torch.Tensor:
    """One GRU step: the new hidden state."""
    f, g = functions[0], functions[1]
    hidden = state.shape[-1]
    xz, xr, xh = xw.chunk(3, -1)
    hz, hr_, hh = hr.chunk(3, -1)
    z, reset = f(_clip(xz + hz, clip)), f(_clip(xr + hr_, clip))
    if linear_before_reset:
        pre_h = xh + reset * hh
    else:
        rh = recurrence[2 * hidden :]
        pre_h = xh + (reset * state) @ rh.T + recurrence_bias[2 * hidden :]
    return (1 - z) * g(_clip(pre_h, clip)) + z * state


def _lstm_step(
    gates: torch.Tensor,
    cell: torch.Tensor,
    peephole: torch.Tensor | None,
    functions: list[Callable[[torch.Tensor], torch.Tensor]],
    clip: float | None,
    input_forget: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One LSTM step from the summed gate inputs: the new hidden state and cell."""
    f, g, h = functions[0], functions[1], functions[2]
    pre_i, pre_o, pre_f, pre_c = gates.chunk(4, -1)
    if peephole is not None:
        pi, po, pf = peephole.chunk(3)
        pre_i, pre_f = pre_i + pi * cell, pre_f + pf * cell
        i = f(_clip(pre_i, clip))
        forget = 1 - i if input_forget else f(_clip(pre_f, clip))
        new_cell = forget * cell + i * g(_clip(pre_c, clip))
        pre_o = pre_o + po * new_cell
    else:
        i = f(_clip(pre_i, clip))
        forget = 1 - i if input_forget else f(_clip(pre_f, clip))
        new_cell = forget * cell + i * g(_clip(pre_c, clip))
    return f(_clip(pre_o, clip)) * h(new_cell), new_cell


def _recurrent(
    kind: str,
    x: torch.Tensor,
    w: torch.Tensor,
    r: torch.Tensor,
    b: torch.Tensor | None,
    lengths: torch.Tensor | None,
    h0: torch.Tensor | None,
    c0: torch.Tensor | None,
    p: torch.Tensor | None,
    *,
    hidden: int,
    direction: str,
    layout: int,
    activations: list[list[Any]],
    clip: float | None,
    linear_before_reset: int,
    input_forget: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """ONNX RNN, GRU or LSTM: returns Y, Y_h and (for LSTM) Y_c."""
    if layout:
        x = x.transpose(0, 1)
        h0 = None if h0 is None else h0.transpose(0, 1)
        c0 = None if c0 is None else c0.transpose(0, 1)
    steps, batch = x.shape[0], x.shape[1]
    gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[kind]
    directions = 2 if direction == "bidirectional" else 1
    count = len(activations) // directions
    outputs: list[torch.Tensor] = []
    last_h: list[torch.Tensor] = []
    last_c: list[torch.Tensor] = []
    for d in range(directions):
        bias = b[d] if b is not None else torch.zeros(2 * gates * hidden, dtype=x.dtype)
        wb, rb = bias[: gates * hidden], bias[gates * hidden :]
        functions = [_rnn_activation(*a) for a in activations[d * count : (d + 1) * count]]
        state = h0[d] if h0 is not None else torch.zeros(batch, hidden, dtype=x.dtype)
        cell = c0[d] if c0 is not None else torch.zeros(batch, hidden, dtype=x.dtype)
        reverse = direction == "reverse" or d == 1
        ys: list[torch.Tensor] = [x] * steps  # every step is set below
        for t in reversed(range(steps)) if reverse else range(steps):
            xw = x[t] @ w[d].T + wb
            hr = state @ r[d].T + rb
            new_cell = cell
            if kind == "RNN":
                new_state = functions[0](_clip(xw + hr, clip))
            elif kind == "GRU":
                new_state = _gru_step(xw, hr, state, r[d], rb, functions, clip, linear_before_reset)
            else:
                peephole = p[d] if p is not None else None
                new_state, new_cell = _lstm_step(
                    xw + hr, cell, peephole, functions, clip, input_forget
                )
            if lengths is not None:
                valid = (t < lengths).reshape(-1, 1)
                new_state = torch.where(valid, new_state, state)
                new_cell = torch.where(valid, new_cell, cell)
                ys[t] = torch.where(valid, new_state, torch.zeros_like(new_state))
            else:
                ys[t] = new_state
            state, cell = new_state, new_cell
        outputs.append(torch.stack(ys))
        last_h.append(state)
        last_c.append(cell)
    y = torch.stack(outputs, 1)
    y_h, y_c = torch.stack(last_h), torch.stack(last_c)
    if layout:
        y, y_h, y_c = y.permute(2, 0, 1, 3), y_h.transpose(0, 1), y_c.transpose(0, 1)
    return y, y_h, y_c
