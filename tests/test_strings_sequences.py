"""
String tensors, sequences and optionals: the dfg types, their import, and the generated code.

ONNX STRING tensors are `tensor<...x!dfg.string>` in the IR and numpy arrays of
`str` in the generated code; sequences (`!dfg.sequence`) are lists of tensors
and optionals (`!dfg.optional`) None or their value. Equal compares strings,
Identity passes every kind through, any other op on them is a compile-time error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from xdsl.dialects.builtin import DYNAMIC_INDEX, TensorType, UnrankedTensorType, f32, i64
from xdsl.parser import Parser
from xdsl.utils.exceptions import VerifyException

from ramiel_mlir.api import make_context
from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.dialects.dfg import OptionalType, SequenceType, StringType
from ramiel_mlir.frontend.onnx import import_onnx
from ramiel_mlir.onnx_backend import RamielRep, prepare

LANES = [None, 2]
"""Serial code and the parallelize pipeline on two lanes."""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tensor<2x3x!dfg.string>", TensorType(StringType(), [2, 3])),
        ("!dfg.sequence<tensor<*xf32>>", SequenceType(UnrankedTensorType(f32))),
        ("!dfg.sequence<tensor<?x3xi64>>", SequenceType(TensorType(i64, [DYNAMIC_INDEX, 3]))),
        ("!dfg.optional<tensor<4xi64>>", OptionalType(TensorType(i64, [4]))),
        (
            "!dfg.optional<!dfg.sequence<tensor<5xf32>>>",
            OptionalType(SequenceType(TensorType(f32, [5]))),
        ),
    ],
)
def test_types_print_and_parse(text: str, expected: object) -> None:
    """Each type parses to the attribute it names and prints back to the same text."""
    parsed = Parser(make_context(), text).parse_type()
    assert parsed == expected
    assert str(parsed) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("!dfg.sequence<f32>", "!dfg.sequence holds tensors, not f32"),
        (
            "!dfg.sequence<tensor<2x!dfg.optional<tensor<2xf32>>>>",
            "!dfg.sequence holds tensors of scalars, not of !dfg.optional<tensor<2xf32>>",
        ),
        (
            "!dfg.optional<tensor<*xf32>>",
            "!dfg.optional holds a ranked tensor or a !dfg.sequence, not tensor<*xf32>",
        ),
        (
            "!dfg.optional<!dfg.optional<tensor<2xf32>>>",
            "!dfg.optional holds a ranked tensor or a !dfg.sequence, not "
            "!dfg.optional<tensor<2xf32>>",
        ),
    ],
)
def test_type_verifier_errors(text: str, message: str) -> None:
    with pytest.raises(VerifyException, match=message.replace("*", r"\*")):
        Parser(make_context(), text).parse_type()


def _save(model: onnx.ModelProto, directory: Path, name: str) -> onnx.ModelProto:
    onnx.checker.check_model(model)
    onnx.save(model, directory / f"{name}.onnx")
    return model


def _sequence(element: int, shape: list[int | str] | None) -> onnx.TypeProto:
    return helper.make_sequence_type_proto(helper.make_tensor_type_proto(element, shape))


@pytest.fixture(scope="session")
def string_model(model_cache: Path) -> onnx.ModelProto:
    """Equal of a string input with another (broadcast) and with a string initializer."""
    words = numpy_helper.from_array(np.array([["cat"], ["dög"]], dtype=object), "words")
    graph = helper.make_graph(
        [
            helper.make_node("Equal", ["x", "y"], ["same"], name="same"),
            helper.make_node("Equal", ["x", "words"], ["known"], name="known"),
            helper.make_node("Identity", ["x"], ["x_out"], name="copy"),
        ],
        "strings",
        [
            helper.make_tensor_value_info("x", TensorProto.STRING, [3]),
            helper.make_tensor_value_info("y", TensorProto.STRING, [1]),
        ],
        [
            helper.make_tensor_value_info("same", TensorProto.BOOL, [3]),
            helper.make_tensor_value_info("known", TensorProto.BOOL, [2, 3]),
            helper.make_tensor_value_info("x_out", TensorProto.STRING, [3]),
        ],
        [words],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    return _save(model, model_cache, "strings")


@pytest.fixture(scope="session")
def container_model(model_cache: Path) -> onnx.ModelProto:
    """Identity of a sequence of `?x2` tensors and of an optional tensor."""
    seq = _sequence(TensorProto.FLOAT, ["n", 2])
    opt = helper.make_optional_type_proto(helper.make_tensor_type_proto(TensorProto.INT64, [4]))
    graph = helper.make_graph(
        [
            helper.make_node("Identity", ["s"], ["s_out"], name="seq_copy"),
            helper.make_node("Identity", ["o"], ["o_out"], name="opt_copy"),
        ],
        "containers",
        [helper.make_value_info("s", seq), helper.make_value_info("o", opt)],
        [helper.make_value_info("s_out", seq), helper.make_value_info("o_out", opt)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 16)])
    return _save(model, model_cache, "containers")


@pytest.fixture(scope="session")
def string_reps(string_model: onnx.ModelProto) -> dict[int | None, RamielRep]:
    return {lanes: prepare(string_model, lanes=lanes) for lanes in LANES}


@pytest.fixture(scope="session")
def container_reps(container_model: onnx.ModelProto) -> dict[int | None, RamielRep]:
    return {lanes: prepare(container_model, lanes=lanes) for lanes in LANES}


def test_import_types(model_cache: Path, string_model: onnx.ModelProto) -> None:
    """Graph inputs and the initializer get string types; strings stay in the model file."""
    module = import_onnx(str(model_cache / "strings.onnx"))
    text = str(module)
    assert "(%x: tensor<3x!dfg.string>, %y: tensor<1x!dfg.string>)" in text
    assert f'dfg.weight "words" from "{model_cache / "strings.onnx"}"' in text


def test_import_container_types(model_cache: Path, container_model: onnx.ModelProto) -> None:
    module = import_onnx(str(model_cache / "containers.onnx"))
    assert "(%s: !dfg.sequence<tensor<?x2xf32>>, %o: !dfg.optional<tensor<4xi64>>)" in str(module)


@pytest.mark.parametrize("lanes", LANES)
def test_string_equal_matches_reference(
    string_model: onnx.ModelProto, string_reps: dict[int | None, RamielRep], lanes: int | None
) -> None:
    """Equal with broadcasting and with a constant, as ONNX's reference computes it."""
    x = np.array(["cat", "dog", "dög"], dtype=object)
    y = np.array(["dog"], dtype=object)
    outputs = string_reps[lanes].run([x, y])
    expected = ReferenceEvaluator(string_model).run(None, {"x": x, "y": y})
    for got, want in zip(outputs, expected, strict=True):
        assert np.asarray(got).dtype == np.asarray(want).dtype
        np.testing.assert_array_equal(got, want)
    same = np.asarray(outputs[0])
    assert same.any()
    assert not same.all()


@pytest.mark.parametrize("lanes", LANES)
def test_string_forward_takes_and_returns_arrays(
    string_reps: dict[int | None, RamielRep], lanes: int | None
) -> None:
    """`forward` takes numpy arrays of str; Equal gives a bool tensor, Identity the array."""
    module = string_reps[lanes].module
    x = np.array(["a", "b", "c"], dtype=object)
    same, known, x_out = module(x, np.array(["b"], dtype=object))
    assert isinstance(same, torch.Tensor)
    assert same.dtype == torch.bool
    assert same.tolist() == [False, True, False]
    assert known.shape == (2, 3)
    assert x_out is x


@pytest.mark.parametrize(
    ("x", "error", "message"),
    [
        (["a", "b", "c"], TypeError, "input 'x' must be a numpy array of str .*got list"),
        (np.array(["a", "b"], dtype=object), ValueError, r"shape \[3\], got shape \[2\]"),
        (np.array(["a", "b", "c"]), TypeError, "got <U1"),
        (np.array(["a", 2, "c"], dtype=object), TypeError, "must hold str elements, got int"),
    ],
)
def test_string_input_check(
    string_reps: dict[int | None, RamielRep], x: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        string_reps[None].module(x, np.array(["b"], dtype=object))


@pytest.mark.parametrize("lanes", LANES)
def test_sequence_and_optional_identity(
    container_reps: dict[int | None, RamielRep], lanes: int | None
) -> None:
    """Lists of tensors of any length and first dimension pass through; None too."""
    rep = container_reps[lanes]
    seq = [np.ones((3, 2), np.float32), np.arange(2, dtype=np.float32).reshape(1, 2)]
    s_out, o_out = rep.run([seq, np.arange(4)])
    assert isinstance(s_out, list)
    assert len(s_out) == 2
    for got, want in zip(s_out, seq, strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(o_out, np.arange(4))
    s_out, o_out = rep.run([[], None])
    assert s_out == []
    assert o_out is None


@pytest.mark.parametrize(
    ("s", "o", "message"),
    [
        (torch.ones(2, 2), None, "input 's' must be a list of tensors, got Tensor"),
        ([torch.ones(2, 3)], None, r"input 's'\[0\] must be a torch.float32 tensor of shape"),
        ([torch.ones(2, 2, dtype=torch.int64)], None, r"input 's'\[0\] must be a torch.float32"),
        ([], torch.ones(4), "input 'o' must be a torch.int64 tensor of shape"),
    ],
)
def test_container_input_check(
    container_reps: dict[int | None, RamielRep], s: object, o: object, message: str
) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        container_reps[None].module(s, o)


def _model(node: onnx.NodeProto, inputs: list, outputs: list) -> onnx.ModelProto:
    graph = helper.make_graph([node], "g", inputs, outputs)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])


def test_other_op_on_strings_is_an_error() -> None:
    model = _model(
        helper.make_node("Concat", ["x", "x"], ["y"], name="cat", axis=0),
        [helper.make_tensor_value_info("x", TensorProto.STRING, [2])],
        [helper.make_tensor_value_info("y", TensorProto.STRING, [4])],
    )
    with pytest.raises(RamielError, match=r"node 'cat' \(Concat\): element type STRING"):
        prepare(model)


def test_sequence_of_strings_is_an_error() -> None:
    seq = _sequence(TensorProto.STRING, [2])
    model = _model(
        helper.make_node("Identity", ["s"], ["t"], name="copy"),
        [helper.make_value_info("s", seq)],
        [helper.make_value_info("t", seq)],
    )
    with pytest.raises(RamielError, match="value 's' is a sequence of STRING tensors"):
        prepare(model)


def test_input_shape_keeps_sequence_outputs(model_cache: Path) -> None:
    """`--input-shape` re-infers tensor outputs; a sequence output keeps its type."""
    seq = _sequence(TensorProto.FLOAT, [2])
    graph = helper.make_graph(
        [
            helper.make_node("Identity", ["x"], ["y"], name="copy"),
            helper.make_node("Identity", ["s"], ["t"], name="seq_copy"),
        ],
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n"]),
            helper.make_value_info("s", seq),
        ],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n"]),
            helper.make_value_info("t", seq),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    path = model_cache / "input_shape_sequence.onnx"
    _save(model, model_cache, path.stem)
    text = str(import_onnx(str(path), {"x": [3]}))
    assert "-> (tensor<3xf32>, !dfg.sequence<tensor<2xf32>>)" in text


def test_input_named_np_does_not_shadow_numpy() -> None:
    """The generated code imports numpy as `np`: a graph input of that name is renamed."""
    model = _model(
        helper.make_node("Equal", ["np", "y"], ["z"], name="eq"),
        [
            helper.make_tensor_value_info("np", TensorProto.STRING, [2]),
            helper.make_tensor_value_info("y", TensorProto.STRING, [2]),
        ],
        [helper.make_tensor_value_info("z", TensorProto.BOOL, [2])],
    )
    (z,) = prepare(model).run(
        [np.array(["a", "b"], dtype=object), np.array(["a", "c"], dtype=object)]
    )
    np.testing.assert_array_equal(z, [True, False])
