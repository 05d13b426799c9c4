"""
Concat chains (`analysis/concat_chains.py`): which Concats share one buffer, and the
code that writes into it computing what ONNX Runtime computes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from xdsl.parser import Parser

from ramiel_mlir.analysis.concat_chains import MIN_PREFIX_BYTES, ChainLink, concat_chains
from ramiel_mlir.api import compile_onnx, make_context
from ramiel_mlir.dialects import dfg


def chain_graph(size: int, second_reader: bool = False, axis: int = 1) -> str:
    """
    Four Concats, each of the one before and a new 8-channel part of `size` x `size`
    pixels; with `second_reader`, the second Concat's result grows in two Concats.
    """

    def image(channels: int) -> str:
        return f"tensor<1x{channels}x{size}x{size}xf32>"

    lines = [f"dfg.graph @chain(%x: {image(8)}) -> {image(40)} {{"]
    previous, channels = "%x", 8
    for k in range(1, 5):
        lines.append(f'  %p{k} = dfg.node "Relu"(%x) opset 14 : ({image(8)}) -> {image(8)}')
        lines.append(
            f'  %c{k} = dfg.node "Concat"({previous}, %p{k}) {{axis = {axis} : i64}} opset 13'
            f" : ({image(channels)}, {image(8)}) -> {image(channels + 8)}"
        )
        previous, channels = f"%c{k}", channels + 8
    if second_reader:
        lines.append(
            f'  %other = dfg.node "Concat"(%c2, %p3) {{axis = 1 : i64}} opset 13'
            f" : ({image(24)}, {image(8)}) -> {image(32)}"
        )
    lines += [f"  dfg.output %c4 : {image(40)}", "}"]
    return "\n".join(lines)


def links_of(text: str) -> dict[str, ChainLink]:
    module = Parser(make_context(), text).parse_module()
    nodes = [op for op in module.walk() if isinstance(op, dfg.NodeOp)]
    return {node.outputs[0].name_hint or "": link for node, link in concat_chains(nodes).items()}


def named(node: dfg.NodeOp) -> str:
    return node.outputs[0].name_hint or ""


def test_a_growing_chain_writes_into_one_buffer() -> None:
    """
    64x64 images: the second Concat saves copying the first one's 16 channels (256
    KiB), the later ones more, so the chain is whole.
    """
    assert 16 * 64 * 64 * 4 >= MIN_PREFIX_BYTES
    links = links_of(chain_graph(64))
    assert set(links) == {"c1", "c2", "c3", "c4"}
    first, last = links["c1"].first, links["c4"].last
    assert all(link.first is first and link.last is last for link in links.values())
    assert [links[f"c{k}"].offset for k in range(1, 5)] == [0, 16, 24, 32]
    assert {link.axis for link in links.values()} == {1}


def test_a_chain_starts_where_the_saving_pays() -> None:
    """
    32x32 images: a link saves copying its prefix, 16 channels (64 KiB) for the second
    Concat, 24 for the third, 32 (128 KiB) for the fourth: the chain starts at the third.
    """
    assert 32 * 32 * 32 * 4 == MIN_PREFIX_BYTES
    links = links_of(chain_graph(32))
    assert set(links) == {"c3", "c4"}
    assert links["c3"].offset == 0
    assert links["c4"].offset == 32
    assert links_of(chain_graph(8)) == {}  # every prefix is small


def test_two_readers_of_a_prefix_end_the_chain_before_them() -> None:
    """
    Two Concats grow the second one's result: the chain ends there, and the third
    starts another one (its own 32 channels are a large enough prefix).
    """
    links = links_of(chain_graph(64, second_reader=True))
    assert set(links) == {"c1", "c2", "c3", "c4"}
    chains = {name: (named(link.first), named(link.last)) for name, link in links.items()}
    assert chains == {
        "c1": ("c1", "c2"),
        "c2": ("c1", "c2"),
        "c3": ("c3", "c4"),
        "c4": ("c3", "c4"),
    }
    assert links["c4"].offset == 32


def test_a_chain_keeps_one_memory_format() -> None:
    """The buffer has one memory format: a Concat in another region starts its own chain."""
    text = chain_graph(64).replace(
        "opset 13 : (tensor<1x24x64x64xf32>",
        'opset 13 {dfg.layout = "channels_last"} : (tensor<1x24x64x64xf32>',
    )
    links = links_of(text)
    assert "c3" not in links  # c2 and c4 are contiguous, c3 is channels-last
    assert named(links["c2"].last) == "c2"


def test_concats_along_another_axis_are_chains_of_that_axis() -> None:
    links = links_of(chain_graph(64, axis=-3))
    assert {link.axis for link in links.values()} == {1}


def listed_graph(size: int, twin: bool = False) -> str:
    """
    torchvision's form: each Concat of the block's input and every part so far; with
    `twin`, the first Concat comes twice, so the second has two Concats to extend.
    """

    def image(channels: int) -> str:
        return f"tensor<1x{channels}x{size}x{size}xf32>"

    lines = [f"dfg.graph @listed(%x: {image(8)}) -> {image(32)} {{"]
    parts = ["%x"]
    for k in range(4):
        operands = ", ".join(parts)
        types = ", ".join(image(8) for _ in parts)
        lines.append(
            f'  %c{k} = dfg.node "Concat"({operands}) {{axis = 1 : i64}} opset 13'
            f" : ({types}) -> {image(8 * len(parts))}"
        )
        if k == 0 and twin:
            lines.append(
                f'  %twin = dfg.node "Concat"(%x) {{axis = 1 : i64}} opset 13'
                f" : ({image(8)}) -> {image(8)}"
            )
        lines.append(f'  %p{k} = dfg.node "Relu"(%x) opset 14 : ({image(8)}) -> {image(8)}')
        parts.append(f"%p{k}")
    lines += [f"  dfg.output %c3 : {image(32)}", "}"]
    return "\n".join(lines)


def test_concats_of_the_growing_list_are_a_chain() -> None:
    """
    Each Concat repeats the one before's inputs and adds one: it writes only that one,
    behind the prefix (64x64 images: every prefix is 128 KiB or more).
    """
    links = links_of(listed_graph(64))
    assert set(links) == {"c0", "c1", "c2", "c3"}
    assert [links[f"c{k}"].offset for k in range(4)] == [0, 8, 16, 24]
    assert [links[f"c{k}"].new_inputs for k in range(4)] == [0, 1, 2, 3]
    assert {named(link.first) for link in links.values()} == {"c0"}


def test_a_concat_that_extends_two_joins_neither() -> None:
    """Two Concats of the same input: the next one extends both, and no chain forms."""
    assert links_of(listed_graph(64, twin=True)).keys() == {"c1", "c2", "c3"}


def dense_block(seed: int, size: int, listed: bool = False) -> onnx.ModelProto:
    """
    With `listed`, each Concat is of the block's input and every layer's features so
    far (torchvision's form) instead of the Concat before and the new features.
    A DenseNet-style block, three layers of BatchNormalization, Relu and a 3x3 Conv
    adding 16 channels, whose Concats form a chain; an Add reads the last Concat, and
    after it a Relu reads the first (a skip to the output): an Add written into the
    buffer would change what the Relu reads.
    """
    rng = np.random.default_rng(seed)
    initializers, nodes = [], []
    previous, channels = "x", 32
    for k in range(3):
        names = [f"g{k}", f"b{k}", f"m{k}", f"v{k}", f"w{k}"]
        values = [
            rng.uniform(0.5, 1.5, channels),
            rng.normal(size=channels),
            rng.normal(size=channels) * 0.1,
            rng.uniform(0.5, 2.0, channels),
            rng.normal(size=(16, channels, 3, 3)) * 0.1,
        ]
        initializers += [
            numpy_helper.from_array(v.astype(np.float32), n)
            for n, v in zip(names, values, strict=True)
        ]
        nodes += [
            helper.make_node("BatchNormalization", [previous, *names[:4]], [f"n{k}"]),
            helper.make_node("Relu", [f"n{k}"], [f"r{k}"]),
            helper.make_node("Conv", [f"r{k}", names[4]], [f"f{k}"], pads=[1, 1, 1, 1]),
            helper.make_node(
                "Concat",
                ["x", *(f"f{j}" for j in range(k + 1))] if listed else [previous, f"f{k}"],
                [f"c{k}"],
                axis=1,
            ),
        ]
        previous, channels = f"c{k}", channels + 16
    initializers.append(numpy_helper.from_array(np.ones(1, np.float32), "one"))
    nodes += [
        helper.make_node("Add", ["c2", "one"], ["out"]),
        helper.make_node("Relu", ["c0"], ["skip"]),
    ]
    image = [1, 32, size, size]
    graph = helper.make_graph(
        nodes,
        "dense_block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, image)],
        [
            helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 80, size, size]),
            helper.make_tensor_value_info("skip", TensorProto.FLOAT, [1, 48, size, size]),
        ],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


@pytest.mark.parametrize("listed", [False, True])
@pytest.mark.parametrize(
    "passes",
    [
        "fold-constants,dce",
        "fold-constants,assign-layout{mode=channels-last},dce",
        "fold-constants,assign-layout{mode=channels-last},prepack-weights{machine=default},dce",
    ],
)
def test_dense_block_in_one_buffer_matches_onnxruntime(
    tmp_path: Path, passes: str, listed: bool
) -> None:
    """
    The chain's code (in both memory formats) gives ONNX Runtime's outputs, also for the
    first Concat read after the buffer has grown and the Add after the last one.
    """
    model = dense_block(seed=3, size=32, listed=listed)
    compiled = compile_onnx(model, passes, tmp_path)
    source = compiled.source
    assert "block = torch.empty(" in source
    assert source.count("out=block.narrow(1, ") == 3
    assert "block.add_(" not in source  # no in-place write into the buffer
    x = np.random.default_rng(4).normal(size=(1, 32, 32, 32)).astype(np.float32)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = session.run(None, {"x": x})
    with torch.no_grad():
        got = compiled.load()(torch.from_numpy(x))
    for produced, wanted in zip(got, expected, strict=True):
        np.testing.assert_allclose(produced.numpy(), np.asarray(wanted), rtol=1e-4, atol=1e-4)
