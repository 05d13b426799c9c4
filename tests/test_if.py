"""
ONNX `If` end to end: hand-made models compiled serially and on two lanes, checked
against onnxruntime; nested control flow; constant conditions folded away; clear errors.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from ramiel_mlir.api import compile_onnx
from ramiel_mlir.diagnostics import RamielError

F32, I64, BOOL = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL
RNG = np.random.default_rng(0)


def _model(
    nodes: list[onnx.NodeProto],
    inputs: list[onnx.ValueInfoProto],
    outputs: list[onnx.ValueInfoProto],
    initializers: list[onnx.TensorProto] = (),  # type: ignore[assignment]
) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "if_test", inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    onnx.checker.check_model(model, full_check=True)
    return model


def _branch(name: str, nodes: list[onnx.NodeProto], output: str) -> onnx.GraphProto:
    return helper.make_graph(nodes, name, [], [helper.make_tensor_value_info(output, F32, None)])


def sample_rate_model() -> onnx.ModelProto:
    """
    silero-vad's structure: a decoder that branches on the scalar sample-rate input
    (`sr == 16000`), each branch reading outer weights, beside a path that does not
    depend on the branch (so that two lanes have work).
    """
    then_branch = _branch(
        "rate_16k",
        [
            helper.make_node("MatMul", ["features", "w16k"], ["proj16k"]),
            helper.make_node("Relu", ["proj16k"], ["decoded16k"]),
        ],
        "decoded16k",
    )
    else_branch = _branch(
        "rate_8k",
        [
            helper.make_node("Mul", ["features", "scale8k"], ["halved"]),
            helper.make_node("MatMul", ["halved", "w8k"], ["proj8k"]),
            helper.make_node("Sigmoid", ["proj8k"], ["decoded8k"]),
        ],
        "decoded8k",
    )
    nodes = [
        helper.make_node("MatMul", ["x", "w_in"], ["hidden"], name="encoder"),
        helper.make_node("Tanh", ["hidden"], ["features"], name="activation"),
        helper.make_node("Equal", ["sr", "rate16k"], ["is16k"], name="rate_check"),
        helper.make_node(
            "If",
            ["is16k"],
            ["decoded"],
            then_branch=then_branch,
            else_branch=else_branch,
            name="/model/decoder/If",
        ),
        helper.make_node("MatMul", ["x", "w_side"], ["side"], name="side_path"),
        helper.make_node("Exp", ["side"], ["side_exp"], name="side_exp"),
        helper.make_node("Add", ["decoded", "side_exp"], ["out"], name="combine"),
    ]
    weights = {
        "w_in": RNG.standard_normal((16, 8)),
        "w16k": RNG.standard_normal((8, 4)),
        "w8k": RNG.standard_normal((8, 4)),
        "w_side": RNG.standard_normal((16, 4)) * 0.1,
    }
    initializers = [numpy_helper.from_array(v.astype(np.float32), k) for k, v in weights.items()]
    initializers += [
        numpy_helper.from_array(np.array(16000, np.int64), "rate16k"),
        numpy_helper.from_array(np.array(0.5, np.float32), "scale8k"),
    ]
    return _model(
        nodes,
        [
            helper.make_tensor_value_info("x", F32, [2, 16]),
            helper.make_tensor_value_info("sr", I64, []),
        ],
        [helper.make_tensor_value_info("out", F32, [2, 4])],
        initializers,
    )


def loop_with_if_model() -> onnx.ModelProto:
    """A Loop whose body adds `step` on even iterations and subtracts it on odd ones,
    with a nested If in the else branch that doubles `step` when the sum is positive."""
    inner = helper.make_node(
        "If",
        ["positive"],
        ["odd_step"],
        then_branch=_branch(
            "double", [helper.make_node("Add", ["step", "step"], ["doubled"])], "doubled"
        ),
        else_branch=_branch("keep", [helper.make_node("Identity", ["step"], ["kept"])], "kept"),
        name="inner_if",
    )
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Mod", ["i", "two"], ["parity"]),
            helper.make_node("Equal", ["parity", "zero"], ["even"]),
            helper.make_node(
                "If",
                ["even"],
                ["next"],
                then_branch=_branch(
                    "add", [helper.make_node("Add", ["acc", "step"], ["added"])], "added"
                ),
                else_branch=helper.make_graph(
                    [
                        helper.make_node("ReduceSum", ["acc"], ["total"], keepdims=0),
                        helper.make_node("Greater", ["total", "zero_f"], ["positive"]),
                        inner,
                        helper.make_node("Sub", ["acc", "odd_step"], ["subtracted"]),
                    ],
                    "subtract",
                    [],
                    [helper.make_tensor_value_info("subtracted", F32, None)],
                ),
                name="parity_if",
            ),
            helper.make_node("Identity", ["next"], ["scan_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", I64, []),
            helper.make_tensor_value_info("cond_in", BOOL, []),
            helper.make_tensor_value_info("acc", F32, None),
        ],
        [
            helper.make_tensor_value_info("cond_out", BOOL, None),
            helper.make_tensor_value_info("next", F32, None),
            helper.make_tensor_value_info("scan_out", F32, None),
        ],
        [
            numpy_helper.from_array(np.array(2, np.int64), "two"),
            numpy_helper.from_array(np.array(0, np.int64), "zero"),
            numpy_helper.from_array(np.array(0.0, np.float32), "zero_f"),
        ],
    )
    return _model(
        [helper.make_node("Loop", ["M", "", "x"], ["final", "history"], body=body, name="loop")],
        [
            helper.make_tensor_value_info("x", F32, [3]),
            helper.make_tensor_value_info("step", F32, [3]),
        ],
        [
            helper.make_tensor_value_info("final", F32, [3]),
            helper.make_tensor_value_info("history", F32, [5, 3]),
        ],
        [numpy_helper.from_array(np.array(5, np.int64), "M")],
    )


def constant_condition_model() -> onnx.ModelProto:
    """An If on a condition computed from shapes only: known at compile time."""
    return _model(
        [
            helper.make_node("Size", ["x"], ["size"]),
            helper.make_node("Equal", ["size", "six"], ["is_six"]),
            helper.make_node(
                "If",
                ["is_six"],
                ["y"],
                then_branch=_branch(
                    "neg", [helper.make_node("Neg", ["x"], ["negated"])], "negated"
                ),
                else_branch=_branch(
                    "abs", [helper.make_node("Abs", ["x"], ["absolute"])], "absolute"
                ),
                name="shape_if",
            ),
        ],
        [helper.make_tensor_value_info("x", F32, [2, 3])],
        [helper.make_tensor_value_info("y", F32, [2, 3])],
        [numpy_helper.from_array(np.array(6, np.int64), "six")],
    )


def _forward(source: str) -> str:
    """The source of the generated `Model.forward`."""
    body = source.split("    def forward", 1)[1]
    return re.split(r"\n(?:    )?def ", body, maxsplit=1)[0]


def _reference(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return [np.asarray(output) for output in session.run(None, feeds)]


def _run(module: torch.nn.Module, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    result = module(*(torch.from_numpy(v) for v in feeds.values()))
    tensors = result if isinstance(result, tuple) else (result,)
    return [t.numpy() for t in tensors]


X = RNG.standard_normal((2, 16)).astype(np.float32)


@pytest.mark.parametrize("lanes", [None, 2])
def test_if_on_scalar_input(model_cache: Path, lanes: int | None) -> None:
    """Both branches of a sample-rate switch, on the same compiled model."""
    model = sample_rate_model()
    compiled = compile_onnx(model, "", model_cache / f"if_rate_{lanes}", lanes=lanes)
    module = compiled.load()
    for rate in (16000, 8000):
        feeds = {"x": X, "sr": np.array(rate, np.int64)}
        (got,) = _run(module, feeds)
        (want,) = _reference(model, feeds)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_if_reads_as_python(model_cache: Path) -> None:
    """The If is an `if`/`else` whose branches bind the result to one name."""
    compiled = compile_onnx(sample_rate_model(), "", model_cache / "if_source")
    source = compiled.source
    assert "# _model_decoder_If (If)" in source or "(If)" in source
    assert "if is16k:" in _forward(source)
    assert "else:" in source
    assert source.count("decoded = ") == 2


@pytest.mark.parametrize("lanes", [None, 2])
def test_if_nested_in_loop(model_cache: Path, lanes: int | None) -> None:
    """An If in a Loop body, and an If in that If's branch, read outer values."""
    model = loop_with_if_model()
    compiled = compile_onnx(model, "", model_cache / f"if_loop_{lanes}", lanes=lanes)
    module = compiled.load()
    for x in (RNG.standard_normal(3), -np.abs(RNG.standard_normal(3)) - 5):
        feeds = {"x": x.astype(np.float32), "step": RNG.standard_normal(3).astype(np.float32)}
        got = _run(module, feeds)
        for g, w in zip(got, _reference(model, feeds), strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-6)


def test_constant_condition_is_folded(model_cache: Path) -> None:
    """A condition known at compile time leaves only the branch taken."""
    model = constant_condition_model()
    compiled = compile_onnx(model, "", model_cache / "if_constant")
    assert "if " not in _forward(compiled.source)
    assert "torch.neg" in compiled.source or "-x" in compiled.source
    feeds = {"x": RNG.standard_normal((2, 3)).astype(np.float32)}
    (got,) = _run(compiled.load(), feeds)
    np.testing.assert_array_equal(got, _reference(model, feeds)[0])


def test_branches_of_different_shapes_are_an_error(tmp_path: Path) -> None:
    """An output whose shape depends on the branch taken has no static type: one line."""
    model = _model(
        [
            helper.make_node(
                "If",
                ["c"],
                ["y"],
                then_branch=_branch(
                    "same", [helper.make_node("Identity", ["x"], ["same"])], "same"
                ),
                else_branch=_branch(
                    "both",
                    [helper.make_node("Concat", ["x", "x"], ["both"], axis=0)],
                    "both",
                ),
                name="switch",
            )
        ],
        [
            helper.make_tensor_value_info("c", BOOL, []),
            helper.make_tensor_value_info("x", F32, [2]),
        ],
        [helper.make_tensor_value_info("y", F32, ["n"])],
    )
    with pytest.raises(
        RamielError,
        match=r"node 'switch' \(If\): output 'y' is tensor<2xf32> in the then branch "
        r"and tensor<4xf32> in the else branch",
    ):
        compile_onnx(model, "", tmp_path)


def shape_switch_model() -> onnx.ModelProto:
    """
    silero_vad_16k_op15's decoder output: `Squeeze(x, 1)` if `x.shape[1] == 1`, else `x`.
    The branches give different shapes; the condition is known from the static shapes.
    """
    return _model(
        [
            helper.make_node("Sigmoid", ["x"], ["probability"], name="sigmoid"),
            helper.make_node("Shape", ["probability"], ["shape"], name="shape"),
            helper.make_node("Gather", ["shape", "one"], ["channels"], axis=0, name="gather"),
            helper.make_node("Equal", ["channels", "one"], ["single"], name="equal"),
            helper.make_node(
                "If",
                ["single"],
                ["squeezed"],
                then_branch=_branch(
                    "squeeze",
                    [helper.make_node("Squeeze", ["probability", "axes"], ["dropped"])],
                    "dropped",
                ),
                else_branch=_branch(
                    "keep", [helper.make_node("Identity", ["probability"], ["kept"])], "kept"
                ),
                name="/model/If",
            ),
            helper.make_node("ReduceMean", ["squeezed"], ["mean"], keepdims=0, name="mean"),
        ],
        [helper.make_tensor_value_info("x", F32, [1, 1, 3])],
        [helper.make_tensor_value_info("mean", F32, [])],
        [
            numpy_helper.from_array(np.array(1, np.int64), "one"),
            numpy_helper.from_array(np.array([1], np.int64), "axes"),
        ],
    )


def test_branches_of_different_shapes_on_a_known_condition(model_cache: Path) -> None:
    """The branch a shape-computed condition takes is imported alone (no `if` is left)."""
    model = shape_switch_model()
    compiled = compile_onnx(model, "", model_cache / "if_shape_switch")
    assert "if " not in _forward(compiled.source)
    feeds = {"x": RNG.standard_normal((1, 1, 3)).astype(np.float32)}
    (got,) = _run(compiled.load(), feeds)
    np.testing.assert_allclose(got, _reference(model, feeds)[0], rtol=1e-6)


def if_with_loop_model() -> onnx.ModelProto:
    """An If whose then branch holds a Loop (x doubled three times) reading the outer x."""
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Add", ["acc", "acc"], ["acc_out"]),
        ],
        "double",
        [
            helper.make_tensor_value_info("i", I64, []),
            helper.make_tensor_value_info("cond_in", BOOL, []),
            helper.make_tensor_value_info("acc", F32, None),
        ],
        [
            helper.make_tensor_value_info("cond_out", BOOL, None),
            helper.make_tensor_value_info("acc_out", F32, None),
        ],
    )
    then_branch = helper.make_graph(
        [helper.make_node("Loop", ["three", "", "x"], ["tripled"], body=body, name="loop")],
        "looping",
        [],
        [helper.make_tensor_value_info("tripled", F32, None)],
        [numpy_helper.from_array(np.array(3, np.int64), "three")],
    )
    return _model(
        [
            helper.make_node(
                "If",
                ["c"],
                ["y"],
                then_branch=then_branch,
                else_branch=_branch("neg", [helper.make_node("Neg", ["x"], ["n"])], "n"),
                name="outer_if",
            )
        ],
        [
            helper.make_tensor_value_info("c", BOOL, []),
            helper.make_tensor_value_info("x", F32, [2, 2]),
        ],
        [helper.make_tensor_value_info("y", F32, [2, 2])],
    )


@pytest.mark.parametrize("lanes", [None, 2])
def test_loop_nested_in_if(model_cache: Path, lanes: int | None) -> None:
    """A Loop in an If branch is a dfg.loop in the dfg.if's region."""
    model = if_with_loop_model()
    compiled = compile_onnx(model, "", model_cache / f"if_with_loop_{lanes}", lanes=lanes)
    assert "for i in range(3):" in compiled.source
    module = compiled.load()
    for flag in (True, False):
        feeds = {"c": np.array(flag), "x": RNG.standard_normal((2, 2)).astype(np.float32)}
        (got,) = _run(module, feeds)
        np.testing.assert_allclose(got, _reference(model, feeds)[0], rtol=1e-6)


def rank_switch_model() -> onnx.ModelProto:
    """
    AffineGrid's expanded function in small: an If on the length of the run-time
    `size`, known at compile time, whose untaken branch has no static shapes (a
    Squeeze of an Expand to `size`), and a ConstantOfShape after it whose rank only
    the branch taken gives (ONNX merges both branches' `size` pieces to `?` length).
    """

    def branch(name: str, nodes: list[onnx.NodeProto], output: str) -> onnx.GraphProto:
        return helper.make_graph(
            nodes, name, [], [helper.make_tensor_value_info(output, I64, None)]
        )

    return _model(
        [
            helper.make_node("Size", ["size"], ["length"]),
            helper.make_node("Equal", ["length", "four"], ["is_four"]),
            helper.make_node(
                "If",
                ["is_four"],
                ["head"],
                then_branch=branch(
                    "halves",
                    [helper.make_node("Split", ["size"], ["first", "second"], num_outputs=2)],
                    "first",
                ),
                else_branch=branch(
                    "unknown",
                    [
                        helper.make_node("Expand", ["x", "size"], ["expanded"]),
                        helper.make_node("Squeeze", ["expanded"], ["squeezed"]),
                        helper.make_node("Shape", ["squeezed"], ["kept"]),
                    ],
                    "kept",
                ),
                name="rank_if",
            ),
            helper.make_node("ConstantOfShape", ["head"], ["zeros"]),
            helper.make_node("Add", ["zeros", "one"], ["z"]),
        ],
        [
            helper.make_tensor_value_info("x", F32, [2, 3]),
            helper.make_tensor_value_info("size", I64, [4]),
        ],
        [helper.make_tensor_value_info("z", F32, [2, 1])],
        [
            numpy_helper.from_array(np.array(4, np.int64), "four"),
            numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        ],
    )


def test_known_condition_imports_the_branch_taken_alone(model_cache: Path) -> None:
    """The untaken branch is never imported; the values after the If take its types."""
    model = rank_switch_model()
    compiled = compile_onnx(model, "", model_cache / "if_rank_switch")
    assert "if " not in _forward(compiled.source)
    feeds = {
        "x": RNG.standard_normal((2, 3)).astype(np.float32),
        "size": np.array([2, 1, 3, 4], np.int64),
    }
    (got,) = _run(compiled.load(), feeds)
    np.testing.assert_array_equal(got, _reference(model, feeds)[0])
