"""
Memory formats in the generated code, as `assign-layout` chose them (`dfg.layout`).

A channels-last node's image results are channels-last (PyTorch's kernels keep the
format of their inputs); a 4-D weight whose readers are all channels-last nodes is
declared channels-last, so `load_state_dict` copies it in that format once. A value
read by a node of the other format is converted once per lane function
(`Tensor.contiguous(memory_format=...)`) and the converted value is reused; graph
outputs leave contiguous.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xdsl.dialects.builtin import TensorType
from xdsl.ir import Block, SSAValue

from ramiel_mlir.analysis.kernels import writes_stray_channels_last
from ramiel_mlir.analysis.layout import CHANNELS_LAST, is_image, node_layout
from ramiel_mlir.backend.builder import PyBuilder
from ramiel_mlir.dialects import dfg

MEMORY_FORMATS = {CHANNELS_LAST: "torch.channels_last"}
"""`dfg.layout` value -> the torch memory format it names."""


def weight_layout(weight: dfg.WeightOp) -> str | None:
    """Channels-last for an image weight read only by channels-last nodes."""
    result = weight.result
    if not is_image(result) or not result.uses:
        return None
    formats = {node_layout(use.operation) for use in result.uses}
    return CHANNELS_LAST if formats == {CHANNELS_LAST} else None


@dataclass
class Layouts:
    """The memory format of each dfg value, and the conversions made so far per lane."""

    sent: dict[str, SSAValue]
    """Channel name -> the value sent on it (a received value has the sent one's format)."""
    converted: dict[tuple[SSAValue, str | None, Block], SSAValue] = field(
        default_factory=dict[tuple[SSAValue, str | None, Block], SSAValue]
    )
    """(Python value, wanted format, block of the code) -> the converted Python value."""
    stray_channels_last: bool = False
    """
    Whether a contiguous node writes channels-last images: oneDNN's packed convolution
    does, whatever its node's format (PyTorch picks the format from the packed weight's
    strides). The images flow on in that format, which PyTorch's kernels take, but one
    may reach a graph output.
    """

    @staticmethod
    def of(graph: dfg.GraphOp) -> Layouts:
        """The layouts of `graph`'s values."""
        sent = {op.channel.data: op.value for op in graph.walk() if isinstance(op, dfg.SendOp)}
        stray = any(writes_stray_channels_last(op) for op in graph.walk())
        return Layouts(sent, stray_channels_last=stray)

    def layout(self, value: SSAValue) -> str | None:
        """The memory format `value` has in the generated code (None: contiguous)."""
        owner = value.owner
        if isinstance(owner, dfg.RecvOp):
            return self.layout(self.sent[owner.channel.data])
        if isinstance(owner, dfg.WeightOp):
            return weight_layout(owner)
        if isinstance(owner, dfg.NodeOp) and is_image(value):
            return node_layout(owner)
        return None

    def convert(
        self,
        b: PyBuilder,
        value: SSAValue,
        python: SSAValue,
        wanted: str | None,
        *,
        make_sure: bool = False,
    ) -> SSAValue:
        """
        `python` (the code's value of `value`) in the `wanted` format, converted once;
        with `make_sure`, also where its format is already the wanted one (a stray
        channels-last image may have reached it). An image of 1x1 pixels (a global
        pool's result) is stored alike in both formats.
        """
        if not is_image(value) or (self.layout(value) == wanted and not make_sure):
            return python
        value_type = value.type
        assert isinstance(value_type, TensorType)
        if value_type.get_shape()[2:] == (1, 1):
            return python
        key = (python, wanted, b.block)
        if key not in self.converted:
            if wanted is None:
                converted = b.method(python, "contiguous")
            else:
                memory_format = b.name(MEMORY_FORMATS[wanted])
                converted = b.method(python, "contiguous", memory_format=memory_format)
            converted.name_hint = f"{python.name_hint or 'x'}_{'cl' if wanted else 'nchw'}"
            self.converted[key] = converted
        return self.converted[key]

    def output(self, b: PyBuilder, value: SSAValue, python: SSAValue) -> SSAValue:
        """
        `python` as a graph output, contiguous: converted from channels-last, and made
        sure of in a graph where a stray channels-last image may have reached it
        (`contiguous()` returns a contiguous tensor itself, without a copy). A lane's
        output that `forward` returns was made sure of in the lane.
        """
        make_sure = self.stray_channels_last and python not in self.converted.values()
        return self.convert(b, value, python, None, make_sure=make_sure)
