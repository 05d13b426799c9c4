"""
The runtime of the generated code (`ramiel_mlir/runtime/`), called directly.

Each function is what a generated file carries; here it runs on small tensors
whose answers are known (by hand, or by numpy doing the same ONNX definition).
The end-to-end behaviour of the same functions inside generated files is
checked by the node conformance suite (`test_onnx_backend.py`) and the model
tests; these tests pin the functions down one at a time, and check that what
the printer copies (definitions and derived imports) runs on its own.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import math
import pkgutil
import platform
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ramiel_mlir import runtime
from ramiel_mlir.backend.runtime_source import (
    Definition,
    Import,
    requirements,
    runtime_module,
    source,
)
from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.runtime import (
    attention,
    cast,
    checks,
    lanes,
    nn,
    onednn,
    program,
    recurrent,
    resize,
    signal,
    tensor,
)

MODULES: list[ModuleType] = [
    importlib.import_module(f"{runtime.__name__}.{info.name}")
    for info in pkgutil.iter_modules(runtime.__path__)
]
"""Every module of the runtime package, found by walking it (so none is left out)."""


def short(module: ModuleType) -> str:
    return module.__name__.rsplit(".", 1)[1]


def definitions(module: ModuleType) -> list[Any]:
    """The functions and classes a runtime module defines."""
    return [
        value
        for value in vars(module).values()
        if (inspect.isfunction(value) or inspect.isclass(value))
        and value.__module__ == module.__name__
    ]


def handle(definition: Any) -> Definition:
    """The compiler's handle of a runtime function or class."""
    module = definition.__module__.rsplit(".", 1)[1]
    return getattr(runtime_module(module), definition.__name__)


# What the printer copies ----------------------------------------------------------


@pytest.mark.parametrize("module", MODULES, ids=short)
def test_the_compilers_handles_agree_with_the_modules(module: ModuleType) -> None:
    """The source the printer copies is what Python defines, for every definition."""
    for definition in definitions(module):
        assert source(handle(definition)) == inspect.getsource(definition)
    with pytest.raises(AttributeError, match="defines no '_nothing'"):
        _ = runtime_module(short(module))._nothing


def test_runtime_definitions_have_distinct_names() -> None:
    """A file may carry definitions of several modules: no two share a name."""
    names = [d.__name__ for module in MODULES for d in definitions(module)]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_runtime_module_handles_are_checked() -> None:
    with pytest.raises(RamielError, match="has no module 'nothing'"):
        runtime_module("nothing")


@pytest.mark.parametrize("module", MODULES, ids=short)
def test_runtime_modules_import_only_torch_numpy_and_the_standard_library(
    module: ModuleType,
) -> None:
    """Generated files are self-contained: nothing of ramiel_mlir, onnx or xdsl."""
    tree = ast.parse(inspect.getsource(module))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    allowed = {"torch", "numpy"} | set(sys.stdlib_module_names)
    assert imported <= allowed, imported - allowed


@pytest.mark.parametrize("module", MODULES, ids=short)
def test_copied_definitions_run_on_their_own(module: ModuleType) -> None:
    """Each definition, with what `requirements` derives, executes in an empty namespace."""
    for definition in definitions(module):
        needed, imports = requirements(handle(definition))
        lines = []
        for each in imports:
            if each.name is not None:
                lines.append(f"from {each.module} import {each.name}")
            elif each.alias is not None:
                lines.append(f"import {each.module} as {each.alias}")
            else:
                lines.append(f"import {each.module}")
        text = "\n".join(lines) + "\n\n" + "\n\n".join(source(d) for d in needed)
        namespace: dict[str, Any] = {}
        exec(
            compile(text, f"<copy of {definition.__name__}>", "exec", dont_inherit=True), namespace
        )
        copied = namespace[definition.__name__]
        assert callable(copied)
        assert str(inspect.signature(copied)) == str(inspect.signature(definition))


def test_requirements_follow_uses_and_derive_imports() -> None:
    """`_Lanes` brings the runtime it calls, in source order, and the stdlib imports."""
    needed, imports = requirements(handle(lanes._Lanes))
    assert [d.name for d in needed] == [
        "_with_threads",
        "_keep_freed_memory",
        "_Channels",
        "_name_failing_node",
        "_Lanes",
    ]
    assert Import("concurrent.futures", name="Future") in imports
    assert Import("ctypes") in imports
    assert Import("threading") in imports
    assert Import("torch") in imports
    _, imports = requirements(handle(tensor._dropout))
    assert Import("numpy", alias="np") in imports


MAPPED_BYTES = """
import ctypes, sys, torch
from ramiel_mlir.runtime.lanes import _keep_freed_memory
class MallInfo2(ctypes.Structure):
    names = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
    _fields_ = [(name, ctypes.c_size_t) for name in names.split()]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "keep":
    _keep_freed_memory()
before = libc.mallinfo2().hblkhd
tensor = torch.empty(2**20)  # 4 MiB
print(libc.mallinfo2().hblkhd - before)
"""
"""Prints the bytes glibc maps for a fresh 4 MiB tensor, after `_keep_freed_memory` or not."""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_keep_freed_memory_serves_tensors_from_the_heap() -> None:
    """In a fresh process a 4 MiB tensor is mapped on its own; after the call, it is not."""

    def mapped(mode: str) -> int:
        command = [sys.executable, "-c", MAPPED_BYTES, mode]
        return int(subprocess.run(command, capture_output=True, text=True, check=True).stdout)

    assert mapped("default") >= 4 * 2**20
    assert mapped("keep") == 0


def test_channel_attributes_are_reserved_for_channel_names() -> None:
    """No channel may take the name of an attribute `_Channels` has besides its channels."""
    from ramiel_mlir.backend.lowering import CHANNEL_ATTRIBUTES

    attributes = set(vars(lanes._Channels(()))) | {
        name for name in vars(lanes._Channels) if not name.startswith("_")
    }
    assert attributes == CHANNEL_ATTRIBUTES


# Input checks -----------------------------------------------------------------------


def test_check_input() -> None:
    checks._check_input("x", torch.zeros(2, 3), (2, 3), torch.float32)
    with pytest.raises(ValueError, match=r"input 'x' must be a torch.float32 tensor of shape"):
        checks._check_input("x", torch.zeros(3, 2), (2, 3), torch.float32)
    with pytest.raises(TypeError, match=r"must be a torch\.Tensor, got list"):
        checks._check_input("x", [1.0], (1,), torch.float32)  # type: ignore[arg-type]


def test_check_strings() -> None:
    checks._check_strings("s", np.array(["a", "b"], dtype=object), (2,))
    with pytest.raises(TypeError, match="must hold str elements"):
        checks._check_strings("s", np.array(["a", 1], dtype=object), (2,))
    with pytest.raises(ValueError, match="of shape"):
        checks._check_strings("s", np.array(["a"], dtype=object), (2,))


def test_check_sequence_and_optional() -> None:
    items = [torch.zeros(1, 2), torch.zeros(3, 2)]
    checks._check_sequence("q", items, (None, 2), torch.float32)
    checks._check_sequence("q", items, None, torch.float32)
    with pytest.raises(ValueError, match=r"\[1\] must be a torch.float32 tensor of shape"):
        checks._check_sequence("q", items, (1, 2), torch.float32)
    checks._check_optional("o", None, checks._check_input, (1,), torch.float32)
    with pytest.raises(ValueError, match=r"must be a torch\.float32 tensor of shape"):
        checks._check_optional("o", torch.zeros(2), checks._check_input, (1,), torch.float32)


# Lanes ------------------------------------------------------------------------------


def test_with_threads_restores_the_callers_count() -> None:
    before = torch.get_num_threads()
    seen = lanes._with_threads(1, torch.get_num_threads)
    assert seen == 1
    assert torch.get_num_threads() == before


class _TwoLanes:
    """Two lanes as a generated Model has them; lane 1 fails on request."""

    def __init__(self, fail: bool) -> None:
        self.fail = fail

    def _lane0(self, ch: Any, x: torch.Tensor) -> torch.Tensor:
        y = x + 1
        ch.a.set_result(y)
        return ch.b.result() * 2

    def _lane1(self, ch: Any, x: torch.Tensor) -> None:
        a = ch.a.result()
        if self.fail:
            raise RuntimeError("lane 1 failed")
        ch.b.set_result(a + x)


def _line_of(function: Callable[..., Any], text: str) -> int:
    """The line number of the first line of `function` that contains `text`."""
    lines, first = inspect.getsourcelines(function)
    return first + next(i for i, line in enumerate(lines) if text in line)


def test_lanes_run_and_return_lane0s_result() -> None:
    runner = lanes._Lanes(workers=1, threads=1, nodes={})
    model = _TwoLanes(fail=False)
    result = runner.run(("a", "b"), [model._lane0, model._lane1], torch.ones(2))
    assert torch.equal(result, torch.full((2,), 6.0))


def test_a_failing_lane_is_named_from_the_node_table_and_releases_the_others() -> None:
    """The note names the node whose code starts last at or above the failing line."""
    model = _TwoLanes(fail=True)
    start = _line_of(_TwoLanes._lane1, "a = ch.a.result()")
    failing = _line_of(_TwoLanes._lane1, "raise RuntimeError")
    nodes = {start: ("node_a", "Relu"), failing + 1: ("node_b", "Add")}
    runner = lanes._Lanes(workers=1, threads=1, nodes=nodes)
    with pytest.raises(RuntimeError, match="lane 1 failed") as raised:
        runner.run(("a", "b"), [model._lane0, model._lane1], torch.ones(2))
    assert raised.value.__notes__ == [f"in ONNX node 'node_a' (Relu), lane 1, line {failing}"]
    # The worker is free again: the next call works.
    model.fail = False
    result = runner.run(("a", "b"), [model._lane0, model._lane1], torch.ones(2))
    assert torch.equal(result, torch.full((2,), 6.0))


def test_a_failure_before_any_node_names_the_lane_only() -> None:
    model = _TwoLanes(fail=True)
    runner = lanes._Lanes(workers=1, threads=1, nodes={})
    with pytest.raises(RuntimeError) as raised:
        runner.run(("a", "b"), [model._lane0, model._lane1], torch.ones(2))
    failing = _line_of(_TwoLanes._lane1, "raise RuntimeError")
    assert raised.value.__notes__ == [f"in lane 1, line {failing}"]


def test_channels_fail_every_pending_future_with_the_first_error() -> None:
    ch: Any = lanes._Channels(("a", "b"))
    ch.a.set_result(1)
    first, second = RuntimeError("first"), RuntimeError("second")
    threads = [threading.Thread(target=ch.fail, args=(e,)) for e in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ch.error in (first, second)
    assert ch.a.result() == 1
    with pytest.raises(RuntimeError) as raised:
        ch.b.result()
    assert raised.value is ch.error


# Casts ------------------------------------------------------------------------------


def test_to_float8e8m0_rounds_the_exponent() -> None:
    x = torch.tensor([1.0, 1.5, 3.0, 4.0])
    up = cast._to_float8e8m0(x, saturate=True, round_mode="up").float()
    down = cast._to_float8e8m0(x, saturate=True, round_mode="down").float()
    nearest = cast._to_float8e8m0(x, saturate=True, round_mode="nearest").float()
    assert up.tolist() == [1.0, 2.0, 4.0, 4.0]
    assert down.tolist() == [1.0, 1.0, 2.0, 4.0]
    assert nearest.tolist() == [1.0, 2.0, 4.0, 4.0]


def test_to_float4e2m1_rounds_to_its_grid_and_saturates() -> None:
    x = torch.tensor([0.2, 0.3, 1.25, 2.5, 3.5, 5.0, 7.0, -9.0])
    assert cast._to_float4e2m1(x).tolist() == [0.0, 0.5, 1.0, 2.0, 4.0, 4.0, 6.0, -6.0]


def test_udiv64_divides_the_whole_unsigned_range() -> None:
    values = [0, 1, 7, 2**63 - 1, 2**63, 2**64 - 1]
    divisors = [1, 3, 2**32, 2**63, 2**64 - 1]
    a = [v for v in values for _ in divisors]
    b = [d for _ in values for d in divisors]
    # uint64 through its int64 bit pattern (torch.tensor takes no uint64 above 2**63).
    signed = [v - 2**64 if v >= 2**63 else v for v in a + b]
    bits = torch.tensor(signed, dtype=torch.int64).view(torch.uint64)
    quotient = cast._udiv64(bits[: len(a)], bits[len(a) :])
    got = [v % 2**64 for v in quotient.view(torch.int64).tolist()]
    assert got == [x // y for x, y in zip(a, b, strict=True)]


# Tensor ops -------------------------------------------------------------------------


def test_dropout_is_the_identity_out_of_training_and_numpys_draws_in_it() -> None:
    x = torch.arange(6.0).reshape(2, 3)
    y, mask = tensor._dropout(x, 0.5, torch.tensor(False), 0)
    assert torch.equal(y, x)
    assert mask.all()
    y, mask = tensor._dropout(x, 0.5, torch.tensor(True), 3)
    keep = np.random.RandomState(3).uniform(0, 1.0, (2, 3)) >= 0.5
    assert mask.numpy().tolist() == keep.tolist()
    assert torch.equal(y, x * torch.from_numpy(keep) * 2.0)


def test_slice_clamps_and_steps_backwards() -> None:
    x = torch.arange(10)
    assert tensor._slice(x, [2], [100], None, None).tolist() == list(range(2, 10))
    assert tensor._slice(x, [-1], [-100], [0], [-3]).tolist() == [9, 6, 3, 0]
    with pytest.raises(ValueError, match="step 0"):
        tensor._slice(x, [0], [1], None, [0])


def test_pad_modes() -> None:
    x = torch.tensor([1, 2, 3])
    assert tensor._pad(x, [2, 1], 0, "constant", [0]).tolist() == [0, 0, 1, 2, 3, 0]
    assert tensor._pad(x, [2, 1], 0, "edge", [0]).tolist() == [1, 1, 1, 2, 3, 3]
    assert tensor._pad(x, [2, 1], 0, "wrap", [0]).tolist() == [2, 3, 1, 2, 3, 1]
    assert tensor._pad(x, [2, 1], 0, "reflect", [0]).tolist() == [3, 2, 1, 2, 3, 2]
    assert tensor._pad(x, [-1, 0], 0, "constant", [0]).tolist() == [2, 3]


def test_gather_nd_and_scatter_nd() -> None:
    data = torch.arange(8).reshape(2, 2, 2)
    indices = torch.tensor([[0, 1], [1, 0]])
    assert tensor._gather_nd(data, indices, 0).tolist() == [[2, 3], [4, 5]]
    batched = tensor._gather_nd(data, torch.tensor([[1], [0]]), 1)
    assert batched.tolist() == [[2, 3], [4, 5]]
    updates = torch.tensor([[10, 11], [12, 13]])
    scattered = tensor._scatter_nd(data, indices, updates, None)
    assert scattered[0, 1].tolist() == [10, 11]
    assert scattered[1, 0].tolist() == [12, 13]
    added = tensor._scatter_nd(data, torch.tensor([[0, 0], [0, 0]]), updates, "sum")
    assert added[0, 0].tolist() == [0 + 10 + 12, 1 + 11 + 13]


def test_pool_indices_count_in_the_whole_input() -> None:
    # One plane of 2x3 (padded to 2x4, one column of padding in front): torch's
    # per-plane indices into the padded plane become ONNX's into the input.
    plane = torch.tensor([[[[1, 7]]]])
    flat = tensor._pool_indices(plane, [2, 4], [0, 1], [2, 3], column_major=False)
    assert flat.tolist() == [[[[0, 5]]]]
    column = tensor._pool_indices(plane, [2, 4], [0, 1], [2, 3], column_major=True)
    assert column.tolist() == [[[[0, 5]]]]


def test_scan_output_checks_the_iteration_count() -> None:
    items = [torch.zeros(2), torch.ones(2)]
    assert tensor._scan_output(items, (2, 2), torch.float32, "loop").shape == (2, 2)
    assert tensor._scan_output([], (0, 2), torch.float32, "loop").shape == (0, 2)
    with pytest.raises(RuntimeError, match="Loop node 'loop' ran 2 iterations"):
        tensor._scan_output(items, (3, 2), torch.float32, "loop")


# Resize, DFT, recurrences, attention ------------------------------------------------

RESIZE_OPTIONS: dict[str, Any] = {
    "mode": "nearest",
    "coordinate": "asymmetric",
    "nearest": "floor",
    "a": -0.75,
    "exclude_outside": False,
    "extrapolation": 0.0,
    "antialias": False,
}


def test_resize_nearest_repeats_and_linear_interpolates() -> None:
    x = torch.tensor([[1.0, 2.0]])
    repeated = resize._resize(x, None, [1.0, 2.0], None, None, "stretch", **RESIZE_OPTIONS)
    assert repeated.tolist() == [[1.0, 1.0, 2.0, 2.0]]
    linear = RESIZE_OPTIONS | {"mode": "linear", "coordinate": "align_corners"}
    y = resize._resize(x, None, None, [1, 3], None, "stretch", **linear)
    assert y.tolist() == [[1.0, 1.5, 2.0]]


def test_dft_matches_numpy() -> None:
    signal_ = torch.tensor([[1.0], [2.0], [0.0], [-1.0]]).reshape(1, 4, 1)
    spectrum = signal._dft(signal_, None, 1, inverse=False, onesided=False)
    expected = np.fft.fft(np.array([1.0, 2.0, 0.0, -1.0]))
    np.testing.assert_allclose(spectrum[0, :, 0].numpy(), expected.real, atol=1e-6)
    np.testing.assert_allclose(spectrum[0, :, 1].numpy(), expected.imag, atol=1e-6)


def test_rnn_step_by_step() -> None:
    """A one-unit RNN with weights 1: h_t = tanh(x_t + h_{t-1})."""
    x = torch.tensor([[[0.5]], [[1.0]]])  # [steps, batch, input]
    w = r = torch.ones(1, 1, 1)
    options: dict[str, Any] = {
        "hidden": 1,
        "direction": "forward",
        "layout": 0,
        "activations": [["Tanh", None, None]],
        "clip": None,
        "linear_before_reset": 0,
        "input_forget": 0,
    }
    y, y_h, _ = recurrent._recurrent("RNN", x, w, r, None, None, None, None, None, **options)
    h1 = torch.tanh(torch.tensor(0.5))
    h2 = torch.tanh(1.0 + h1)
    assert torch.allclose(y.reshape(-1), torch.stack([h1, h2]))
    assert torch.allclose(y_h.reshape(-1), h2.reshape(1))


def test_rnn_activation_needs_its_parameters() -> None:
    assert recurrent._rnn_activation("Tanh", None, None) is torch.tanh
    affine = recurrent._rnn_activation("Affine", 2.0, 1.0)
    assert affine(torch.tensor(3.0)).item() == 7.0
    with pytest.raises(ValueError, match="needs an alpha"):
        recurrent._rnn_activation("Affine", None, None)


def test_attention_is_softmax_of_scaled_scores() -> None:
    torch.manual_seed(0)
    q, k, v = (torch.randn(1, 1, 3, 4, dtype=torch.float64) for _ in range(3))
    scale = 0.5**0.5  # sqrt of 1/sqrt(4): applied to Q and to K
    y, present_k, _, _ = attention._attention(
        q, k, v, None, None, None, None, scale, False, None, None, None, None, 0, -1, -1
    )
    expected = torch.softmax(q @ k.transpose(2, 3) / 2, -1) @ v
    assert torch.allclose(y, expected)
    assert present_k is k


def test_fully_masked_attention_rows_are_zero() -> None:
    q = k = v = torch.ones(1, 1, 2, 2)
    mask = torch.tensor([[False, False], [True, True]])
    y, *_ = attention._attention(
        q, k, v, mask, None, None, None, 1.0, False, None, None, None, None, 0, -1, -1
    )
    assert y[0, 0, 0].tolist() == [0.0, 0.0]
    assert y[0, 0, 1].tolist() == [1.0, 1.0]


def test_rotary_embedding_rotates_halves() -> None:
    x = torch.tensor([[[[1.0, 0.0]]]])  # batch, heads, sequence, head size
    cos = torch.tensor([[0.0]])
    sin = torch.tensor([[1.0]])
    y = attention._rotary_embedding(x, cos, sin, None, False, 0, 1)
    assert y.tolist() == [[[[0.0, 1.0]]]]


# The program: --trace's instrumented lanes ------------------------------------------

LANE_SOURCE = """
from concurrent.futures import Future
from types import SimpleNamespace


class Lanes:
    def _lane1(self, ch, x):
        a = ch.a.result()
        # first (Add)
        b = a + x
        c = b * 2
        ch.b.set_result(c)
        # second (Neg)
        d = -c
        return d
"""


def test_traced_lane_times_each_node_wait_and_send(tmp_path: Path) -> None:
    """A copy of the lane logs its wait, its two nodes (statements grouped) and its send."""
    path = tmp_path / "lane_source.py"
    path.write_text(LANE_SOURCE)
    spec = importlib.util.spec_from_file_location("lane_source", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lines = LANE_SOURCE.splitlines()
    nodes = {
        lines.index(line) + 1: (line.split()[1], line.split()[2][1:-1])
        for line in lines
        if "# " in line
    }
    labels: list[tuple[str, str, str]] = []
    log: list[tuple[int, int, int]] = []
    traced = program._traced_method(module.Lanes._lane1, nodes, labels, log)
    ch = module.SimpleNamespace(a=module.Future(), b=module.Future())
    ch.a.set_result(3)
    assert traced(None, ch, 4) == -14
    assert ch.b.result() == 14
    assert [labels[label] for label, _, _ in log] == [
        ("wait", "a", ""),
        ("node", "first", "Add"),
        ("send", "b", ""),
        ("node", "second", "Neg"),
    ]
    assert all(start <= end for _, start, end in log)
    assert "_trace" not in inspect.getsource(module.Lanes._lane1)


def lrn_spec(x: np.ndarray, size: int, alpha: float, beta: float, bias: float) -> np.ndarray:
    """LRN as the ONNX spec words it, channel by channel, in float64."""
    squares = x.astype(np.float64) ** 2
    total = np.zeros_like(squares)
    channels = x.shape[1]
    for c in range(channels):
        low = max(0, c - (size - 1) // 2)
        high = min(channels - 1, c + math.ceil((size - 1) / 2))
        total[:, c] = squares[:, low : high + 1].sum(axis=1)
    return x / (bias + alpha / size * total) ** beta


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7])
@pytest.mark.parametrize("shape", [(2, 6, 5), (1, 6, 4, 3), (1, 5, 3, 2, 2)])
def test_local_response_norm_matches_the_spec(size: int, shape: tuple[int, ...]) -> None:
    """
    ONNX's window (even sizes included), any rank, contiguous or channels-last; and
    ONNX Runtime, where it runs LRN (odd sizes of rank-4 inputs).
    """
    x = np.random.default_rng(size).standard_normal(shape).astype(np.float32) * 3
    expected = lrn_spec(x, size, 0.2, 0.6, 1.5)
    if len(shape) == 4 and size % 2:
        import onnxruntime
        from onnx import TensorProto, helper

        node = helper.make_node("LRN", ["x"], ["y"], size=size, alpha=0.2, beta=0.6, bias=1.5)
        info = [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n in "xy"]
        graph = helper.make_graph([node], "lrn", info[:1], info[1:])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        session = onnxruntime.InferenceSession(model.SerializeToString())
        (produced,) = session.run(None, {"x": x})
        np.testing.assert_allclose(np.asarray(produced), expected, rtol=1e-5)
    formats = [torch.contiguous_format] + ([torch.channels_last] if len(shape) == 4 else [])
    for memory_format in formats:
        xt = torch.from_numpy(x).contiguous(memory_format=memory_format)
        got = nn._local_response_norm(xt, size, 0.2, 0.6, 1.5)
        assert got.is_contiguous(memory_format=memory_format)
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("post_op", "scalars", "activation"),
    [
        ("none", (), lambda y: y),
        ("relu", (), torch.relu),
        ("hardtanh", (0.0, 6.0), lambda y: y.clamp(0.0, 6.0)),
    ],
)
def test_onednn_helpers_compute_the_convolution_and_its_post_op(
    post_op: str, scalars: tuple[float, ...], activation: Callable[[torch.Tensor], torch.Tensor]
) -> None:
    """
    `_onednn_conv` (a strided, padded, grouped convolution) and `_onednn_linear` (a 1x1
    convolution over the pixels of a channels-last image) with packed weights give
    F.conv2d's result, the post-op applied; also without a bias.
    """
    generator = torch.Generator().manual_seed(7)
    x = torch.randn(1, 8, 9, 9, generator=generator).contiguous(memory_format=torch.channels_last)
    weight = torch.randn(12, 4, 3, 3, generator=generator)
    bias = torch.randn(12, generator=generator)
    packed = torch.ops.mkldnn._reorder_convolution_weight(
        weight, padding=[1, 1], stride=[2, 2], dilation=[1, 1], groups=2, input_size=[1, 8, 9, 9]
    )
    for b in (bias, None):
        got = onednn._onednn_conv(
            x,
            packed,
            b,
            padding=(1, 1),
            stride=(2, 2),
            dilation=(1, 1),
            groups=2,
            post_op=post_op,
            scalars=scalars,
        )
        expected = activation(F.conv2d(x, weight, b, stride=2, padding=1, groups=2))
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    pointwise = torch.randn(6, 8, generator=generator)
    rows = torch.ops.mkldnn._reorder_linear_weight(pointwise, batch_size=81)
    for b in (bias[:6], None):
        got = onednn._onednn_linear(
            x.permute(0, 2, 3, 1), rows, b, post_op=post_op, scalars=scalars
        ).permute(0, 3, 1, 2)
        expected = activation(F.conv2d(x, pointwise[:, :, None, None], b))
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
