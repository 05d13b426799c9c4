"""fold-constants: numerics against ONNX Runtime, the blob store rule and the size cap."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser
from xdsl.printer import Printer

from ramiel_mlir.api import compile_onnx, make_context, run_pipeline
from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.dialects.dfg import NodeOp, WeightOp
from ramiel_mlir.frontend.onnx import import_onnx
from ramiel_mlir.weights import INLINE_LIMIT, weight_value


def shape_chain_model() -> onnx.ModelProto:
    """
    x[2,3,8] -> Reshape to [batch, -1] via Shape/Gather/Unsqueeze/Concat/Cast,
    times a transposed weight, divided by Size(x), through Identity and Relu.
    """
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(16, 24)).astype(np.float32)
    nodes = [
        helper.make_node("Shape", ["x"], ["x_shape"]),
        helper.make_node("Gather", ["x_shape", "zero"], ["batch"], axis=0),
        helper.make_node("Unsqueeze", ["batch", "axes"], ["batch_1d"]),
        helper.make_node("Constant", [], ["rest"], value_ints=[-1]),
        helper.make_node("Concat", ["batch_1d", "rest"], ["target"], axis=0),
        helper.make_node("Cast", ["target"], ["target_f"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["target_f"], ["target_i"], to=TensorProto.INT64),
        helper.make_node("Reshape", ["x", "target_i"], ["flat"]),
        helper.make_node("Transpose", ["w"], ["w_t"], perm=[1, 0]),
        helper.make_node("MatMul", ["flat", "w_t"], ["h"]),
        helper.make_node("Size", ["x"], ["n"]),
        helper.make_node("Cast", ["n"], ["n_f"], to=TensorProto.FLOAT),
        helper.make_node("Div", ["h", "n_f"], ["scaled"]),
        helper.make_node("Identity", ["scaled"], ["same"]),
        helper.make_node("Relu", ["same"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "shape_chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 16])],
        [
            numpy_helper.from_array(np.array(0, np.int64), "zero"),
            numpy_helper.from_array(np.array([0], np.int64), "axes"),
            numpy_helper.from_array(weight, "w"),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.fixture(scope="session")
def chain_path(model_cache: Path) -> Path:
    path = model_cache / "fold_shape_chain.onnx"
    onnx.save(shape_chain_model(), path)
    return path


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private blob store for one test."""
    monkeypatch.setenv("RAMIEL_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "blobs"


def parse(text: str) -> ModuleOp:
    return Parser(make_context(), text).parse_module()


def fold(text: str, passes: str = "fold-constants") -> ModuleOp:
    module = parse(text)
    run_pipeline(make_context(), module, passes)
    return module


def printed(module: ModuleOp) -> str:
    stream = StringIO()
    Printer(stream=stream).print_op(module)
    return stream.getvalue()


def node_types(module: ModuleOp) -> list[str]:
    return [op.op_type.data for op in module.walk() if isinstance(op, NodeOp)]


def weights(module: ModuleOp) -> dict[str, WeightOp]:
    return {op.weight_name.data: op for op in module.walk() if isinstance(op, WeightOp)}


def test_folded_chain_matches_onnxruntime(chain_path: Path, cache_dir: Path) -> None:
    import onnxruntime
    import torch

    x = np.random.default_rng(1).normal(size=(2, 3, 8)).astype(np.float32)
    session = onnxruntime.InferenceSession(str(chain_path), providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, {"x": x})
    compiled = compile_onnx(chain_path, "fold-constants,dce", cache_dir.parent / "out")
    with torch.no_grad():
        actual = compiled.load()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(actual, np.asarray(expected), rtol=1e-5, atol=1e-6)


def test_chain_folds_to_four_nodes(chain_path: Path, cache_dir: Path) -> None:
    module = import_onnx(str(chain_path))
    assert "Shape" in node_types(module)
    run_pipeline(make_context(), module, "fold-constants,dce")
    assert node_types(module) == ["Reshape", "MatMul", "Div", "Relu"]
    folded = weights(module)
    assert weight_value(folded["target_i"]).tolist() == [2, -1]
    assert weight_value(folded["n_f"]).tolist() == 48.0
    # The transposed weight (384 elements) was computed from the model file
    # and stored as a blob.
    w_t = folded["w_t"]
    assert w_t.file is not None
    assert Path(w_t.file.data).parent == cache_dir
    w = numpy_helper.to_array(shape_chain_model().graph.initializer[2])
    np.testing.assert_array_equal(weight_value(w_t), w.T)


LARGE = """
dfg.graph @large() -> (tensor<4x8xf32>, tensor<2xf32>) {
  %shape = dfg.weight "shape" dense<[4, 8]> : tensor<2xi64> : tensor<2xi64>
  %big = dfg.node "ConstantOfShape"(%shape) {value = dense<2.5> : tensor<1xf32>} opset 17
      : (tensor<2xi64>) -> tensor<4x8xf32>
  %a = dfg.weight "a" dense<[1.0, 2.0]> : tensor<2xf32> : tensor<2xf32>
  %small = dfg.node "Neg"(%a) opset 17 : (tensor<2xf32>) -> tensor<2xf32>
  dfg.output %big, %small : tensor<4x8xf32>, tensor<2xf32>
}
"""


def test_large_result_goes_to_blob_store(cache_dir: Path) -> None:
    module = fold(LARGE)
    assert node_types(module) == []
    big, small = weights(module)["big"], weights(module)["small"]
    assert 4 * 8 > INLINE_LIMIT
    assert big.value is None
    assert big.file is not None
    blob = Path(big.file.data)
    assert blob.parent == cache_dir
    assert blob.suffix == ".npy"
    np.testing.assert_array_equal(np.load(blob), np.full((4, 8), 2.5, np.float32))
    assert big.result.name_hint == "big"
    assert "2.5" not in printed(module)
    assert small.file is None
    assert small.value is not None
    assert weight_value(small).tolist() == [-1.0, -2.0]


def test_blob_store_is_content_addressed(cache_dir: Path) -> None:
    first = weights(fold(LARGE))["big"].file
    second = weights(fold(LARGE))["big"].file
    assert first == second
    assert len(list(cache_dir.iterdir())) == 1


def test_blob_dir_option_names_the_store(cache_dir: Path, tmp_path: Path) -> None:
    """/// fold-constants{blob-dir=DIR} writes to DIR (made absolute), not to the default store."""
    store = tmp_path / "store"
    module = fold(LARGE, f'fold-constants{{blob-dir="{store}"}}')
    big = weights(module)["big"].file
    assert big is not None
    assert Path(big.data).parent == store
    assert not cache_dir.exists()


CAPPED = f"""
dfg.graph @capped() -> (tensor<10x10xf32>, tensor<30xf32>) {{
  %shape = dfg.weight "shape" dense<[10, 10]> : tensor<2xi64> : tensor<2xi64>
  %fill = dfg.node "ConstantOfShape"(%shape) opset 17 : (tensor<2xi64>) -> tensor<10x10xf32>
  %c = dfg.node "Constant"() {{value_floats = array<f32: {", ".join(["1.0"] * 30)}>}} opset 17
      : () -> tensor<30xf32>
  dfg.output %fill, %c : tensor<10x10xf32>, tensor<30xf32>
}}
"""


@pytest.mark.parametrize(("cap", "folded"), [(99, False), (100, True)])
def test_size_cap(cap: int, folded: bool, cache_dir: Path) -> None:
    module = fold(CAPPED, f"fold-constants{{max-elements={cap}}}")
    assert ("ConstantOfShape" not in node_types(module)) == folded
    # A Constant's data is already in the model: the cap does not apply to it.
    assert "Constant" not in node_types(module)


def test_default_cap_is_a_million(cache_dir: Path) -> None:
    text = """
    dfg.graph @huge() -> tensor<1001x1000xi8> {
      %shape = dfg.weight "shape" dense<[1001, 1000]> : tensor<2xi64> : tensor<2xi64>
      %fill = dfg.node "ConstantOfShape"(%shape) {value = dense<1> : tensor<1xi8>} opset 17
          : (tensor<2xi64>) -> tensor<1001x1000xi8>
      dfg.output %fill : tensor<1001x1000xi8>
    }
    """
    assert node_types(fold(text)) == ["ConstantOfShape"]
    assert not cache_dir.exists()


def test_negative_cap_is_an_error() -> None:
    with pytest.raises(RamielError, match="max-elements must be >= 0"):
        fold(LARGE, "fold-constants{max-elements=-1}")


def test_wrong_result_type_is_an_error() -> None:
    # The verifier accepts it (shape inference cannot count NonZero's results);
    # evaluation finds 2, not 5.
    text = """
    dfg.graph @lying() -> tensor<1x5xi64> {
      %x = dfg.weight "x" dense<[1.0, 0.0, 2.0]> : tensor<3xf32> : tensor<3xf32>
      %s = dfg.node "NonZero"(%x) opset 17 : (tensor<3xf32>) -> tensor<1x5xi64>
      dfg.output %s : tensor<1x5xi64>
    }
    """
    with pytest.raises(
        RamielError,
        match=r"node 'NonZero' \(NonZero\): output #0 evaluates to int64\[1, 2\], "
        r"but its type is tensor<1x5xi64>",
    ):
        fold(text)


def test_evaluation_failure_names_the_node() -> None:
    text = """
    dfg.graph @bad() -> tensor<i64> {
      %d = dfg.weight "d" dense<[1, 2]> : tensor<2xi64> : tensor<2xi64>
      %i = dfg.weight "i" dense<5> : tensor<i64> : tensor<i64>
      %g = dfg.node "Gather"(%d, %i) opset 17 : (tensor<2xi64>, tensor<i64>) -> tensor<i64>
      dfg.output %g : tensor<i64>
    }
    """
    with pytest.raises(RamielError, match=r"node 'Gather' \(Gather\): constant folding failed"):
        fold(text)


def test_second_run_changes_nothing(cache_dir: Path) -> None:
    module = fold(LARGE)
    before = printed(module)
    run_pipeline(make_context(), module, "fold-constants")
    assert printed(module) == before


def test_non_finite_results_are_not_inline(cache_dir: Path) -> None:
    """xDSL cannot parse back the hex form it prints for inf/nan, so they go to a blob."""
    text = """
    dfg.graph @inf() -> (tensor<2xf32>, tensor<2xf32>) {
      %a = dfg.weight "a" dense<[1.0, 0.0]> : tensor<2xf32> : tensor<2xf32>
      %zero = dfg.weight "zero" dense<0.0> : tensor<f32> : tensor<f32>
      %q = dfg.node "Div"(%a, %zero) opset 17 : (tensor<2xf32>, tensor<f32>) -> tensor<2xf32>
      %two = dfg.weight "two" dense<2.0> : tensor<f32> : tensor<f32>
      %h = dfg.node "Div"(%a, %two) opset 17 : (tensor<2xf32>, tensor<f32>) -> tensor<2xf32>
      dfg.output %q, %h : tensor<2xf32>, tensor<2xf32>
    }
    """
    folded = weights(fold(text))
    assert folded["q"].file is not None
    values = weight_value(folded["q"])
    assert np.isposinf(values[0])
    assert np.isnan(values[1])
    assert folded["h"].value is not None
