"""
Small PyTorch models written here and exported with `torch.onnx.export`.

They give the compiler the graphs that real exporters produce: parallel
convolution branches (Inception, SqueezeNet fire), BatchNormalization in eval
mode (which both exporters fold into the convolutions), and a transformer block
whose per-head attention paths are independent and whose shape handling
(`x.shape`, `view`, masks, slicing) makes the exporters emit Shape, Gather,
Slice, Split, Where, Expand and Cast. `inception_v3` is the large one, meant for
parallel benchmarks: tens of milliseconds on one core. `FULL_SIZE_MODELS` are
torchvision's GoogLeNet, Inception-v3, ResNet-18 and MobileNetV2 at full size, for the
benchmarks only.

    path = export("transformer_block", directory / "t.onnx", dynamo=True)

Weights come from fixed seeds; every input is static with batch 1.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


@torch.no_grad()
def _randomize_norms(module: nn.Module, generator: torch.Generator) -> None:
    """Give every norm layer non-trivial scales, shifts and statistics (defaults are 1 and 0)."""
    for norm in module.modules():
        if isinstance(norm, nn.BatchNorm2d):
            assert norm.running_mean is not None
            assert norm.running_var is not None
            norm.running_mean.normal_(0.0, 0.1, generator=generator)
            norm.running_var.uniform_(0.5, 1.5, generator=generator)
        if isinstance(norm, nn.BatchNorm2d | nn.LayerNorm):
            norm.weight.uniform_(0.5, 1.5, generator=generator)
            norm.bias.normal_(0.0, 0.1, generator=generator)


class ConvBnRelu(nn.Sequential):
    """Conv (no bias) + BatchNorm + ReLU, Inception-v3's `BasicConv2d`."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: int | tuple[int, int],
        stride: int = 1,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(cout, eps=0.001),
            nn.ReLU(inplace=True),
        )


class InceptionBlock(nn.Module):
    """GoogLeNet's inception module: 1x1, 1x1->3x3, 1x1->5x5, maxpool->1x1, concatenated."""

    def __init__(self, cin: int = 64) -> None:
        super().__init__()
        self.branch1 = nn.Conv2d(cin, 32, 1)
        self.branch3_reduce = nn.Conv2d(cin, 24, 1)
        self.branch3 = nn.Conv2d(24, 32, 3, padding=1)
        self.branch5_reduce = nn.Conv2d(cin, 8, 1)
        self.branch5 = nn.Conv2d(8, 16, 5, padding=2)
        self.pool_proj = nn.Conv2d(cin, 16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = F.relu(self.branch1(x))
        b3 = F.relu(self.branch3(F.relu(self.branch3_reduce(x))))
        b5 = F.relu(self.branch5(F.relu(self.branch5_reduce(x))))
        bp = F.relu(self.pool_proj(F.max_pool2d(x, 3, stride=1, padding=1)))
        return torch.cat([b1, b3, b5, bp], dim=1)


class FireModule(nn.Module):
    """SqueezeNet's fire module: a 1x1 squeeze, then parallel 1x1 and 3x3 expands."""

    def __init__(self, cin: int = 96, squeeze: int = 16, expand: int = 64) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.expand1x1 = nn.Conv2d(squeeze, expand, 1)
        self.expand3x3 = nn.Conv2d(squeeze, expand, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.relu(self.squeeze(x))
        return torch.cat([F.relu(self.expand1x1(s)), F.relu(self.expand3x3(s))], dim=1)


class ResidualBlock(nn.Module):
    """ResNet's basic block with a strided projection shortcut, BatchNorm in eval mode."""

    def __init__(self, cin: int = 32, cout: int = 64) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Conv2d(cin, cout, 1, stride=2, bias=False)
        self.shortcut_bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut_bn(self.shortcut(x)))


class PerHeadAttention(nn.Module):
    """
    Multi-head self-attention with one Q/K/V projection per head.

    Each head is its own chain of Linear -> MatMul -> Softmax -> MatMul, so the
    graph has `heads` independent paths between the input and the concatenation.
    """

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.head_dim = width // heads
        self.q = nn.ModuleList(nn.Linear(width, self.head_dim) for _ in range(heads))
        self.k = nn.ModuleList(nn.Linear(width, self.head_dim) for _ in range(heads))
        self.v = nn.ModuleList(nn.Linear(width, self.head_dim) for _ in range(heads))
        self.out = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scale = math.sqrt(self.head_dim)
        heads = []
        for q, k, v in zip(self.q, self.k, self.v, strict=True):
            scores = q(x) @ k(x).transpose(-2, -1) / scale
            scores = torch.where(mask, scores, torch.finfo(scores.dtype).min)
            heads.append(scores.softmax(dim=-1) @ v(x))
        return self.out(torch.cat(heads, dim=-1))


class TransformerBlock(nn.Module):
    """
    A pre-norm transformer encoder block over learned token embeddings.

    The index and shape code is written the way models usually are: all-zero
    tokens are padding; position ids come from `arange`, expanded over the
    batch; the attention mask is a band from comparisons combined with the
    padding; `view` takes sizes read from `x.shape`; a fused up-projection is
    split into value and gate (GEGLU with exact GELU); an RMS norm is spelled
    with Pow, Sqrt and Div; the head takes the first token plus the average of
    every second non-padding token of the rest.
    """

    def __init__(
        self, width: int = 96, heads: int = 4, hidden: int = 192, max_len: int = 32
    ) -> None:
        super().__init__()
        self.window = 6
        self.position = nn.Embedding(max_len, width)
        self.norm1 = nn.LayerNorm(width)
        self.attention = PerHeadAttention(width, heads)
        self.norm2 = nn.LayerNorm(width)
        self.up = nn.Linear(width, 2 * hidden)
        self.down = nn.Linear(hidden, width)
        self.final_scale = nn.Parameter(torch.linspace(0.5, 1.5, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        padding = x.abs().sum(dim=-1) == 0
        positions = torch.arange(length, device=x.device)
        x = x + self.position(positions.unsqueeze(0).expand_as(padding))
        distance = (positions.unsqueeze(0) - positions.unsqueeze(1)).abs()
        mask = (distance <= self.window).unsqueeze(0) & ~padding.unsqueeze(1)
        x = x + self.attention(self.norm1(x), mask)
        hidden = self.down.in_features
        value, gate = self.up(self.norm2(x)).view(batch * length, -1).split(hidden, dim=-1)
        x = x + self.down(value * F.gelu(gate)).view(batch, length, width)
        rms = x.pow(2).mean(dim=-1, keepdim=True).add(1e-6).sqrt()
        x = x / rms * self.final_scale
        weight = (~padding).to(x.dtype)[:, 1::2]
        rest = (x[:, 1::2] * weight.unsqueeze(-1)).sum(dim=1)
        rest = rest / weight.sum(dim=1, keepdim=True).clamp(min=1.0)
        scale = torch.arange(width, device=x.device).to(x.dtype) / width
        return x[:, 0] + rest * scale


class InceptionA(nn.Module):
    """Inception-v3's 35x35 block: 1x1, 5x5, double 3x3 and avg-pool branches."""

    def __init__(self, cin: int, pool_features: int, w: Callable[[int], int]) -> None:
        super().__init__()
        self.branch1x1 = ConvBnRelu(cin, w(64), 1)
        self.branch5x5 = nn.Sequential(
            ConvBnRelu(cin, w(48), 1), ConvBnRelu(w(48), w(64), 5, padding=2)
        )
        self.branch3x3dbl = nn.Sequential(
            ConvBnRelu(cin, w(64), 1),
            ConvBnRelu(w(64), w(96), 3, padding=1),
            ConvBnRelu(w(96), w(96), 3, padding=1),
        )
        self.branch_pool = ConvBnRelu(cin, w(pool_features), 1)
        self.cout = w(64) + w(64) + w(96) + w(pool_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pool = self.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1))
        return torch.cat([self.branch1x1(x), self.branch5x5(x), self.branch3x3dbl(x), pool], 1)


class InceptionB(nn.Module):
    """Inception-v3's grid reduction 35 -> 17: strided 3x3, double 3x3, max-pool."""

    def __init__(self, cin: int, w: Callable[[int], int]) -> None:
        super().__init__()
        self.branch3x3 = ConvBnRelu(cin, w(384), 3, stride=2)
        self.branch3x3dbl = nn.Sequential(
            ConvBnRelu(cin, w(64), 1),
            ConvBnRelu(w(64), w(96), 3, padding=1),
            ConvBnRelu(w(96), w(96), 3, stride=2),
        )
        self.cout = w(384) + w(96) + cin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pool = F.max_pool2d(x, 3, stride=2)
        return torch.cat([self.branch3x3(x), self.branch3x3dbl(x), pool], 1)


class InceptionC(nn.Module):
    """Inception-v3's 17x17 block: 7x7 convolutions factorised into 1x7 and 7x1."""

    def __init__(self, cin: int, c7: int, w: Callable[[int], int]) -> None:
        super().__init__()
        c7 = w(c7)
        self.branch1x1 = ConvBnRelu(cin, w(192), 1)
        self.branch7x7 = nn.Sequential(
            ConvBnRelu(cin, c7, 1),
            ConvBnRelu(c7, c7, (1, 7), padding=(0, 3)),
            ConvBnRelu(c7, w(192), (7, 1), padding=(3, 0)),
        )
        self.branch7x7dbl = nn.Sequential(
            ConvBnRelu(cin, c7, 1),
            ConvBnRelu(c7, c7, (7, 1), padding=(3, 0)),
            ConvBnRelu(c7, c7, (1, 7), padding=(0, 3)),
            ConvBnRelu(c7, c7, (7, 1), padding=(3, 0)),
            ConvBnRelu(c7, w(192), (1, 7), padding=(0, 3)),
        )
        self.branch_pool = ConvBnRelu(cin, w(192), 1)
        self.cout = 4 * w(192)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pool = self.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1))
        return torch.cat([self.branch1x1(x), self.branch7x7(x), self.branch7x7dbl(x), pool], 1)


class InceptionD(nn.Module):
    """Inception-v3's grid reduction 17 -> 8 with a factorised 7x7 branch."""

    def __init__(self, cin: int, w: Callable[[int], int]) -> None:
        super().__init__()
        self.branch3x3 = nn.Sequential(
            ConvBnRelu(cin, w(192), 1), ConvBnRelu(w(192), w(320), 3, stride=2)
        )
        self.branch7x7x3 = nn.Sequential(
            ConvBnRelu(cin, w(192), 1),
            ConvBnRelu(w(192), w(192), (1, 7), padding=(0, 3)),
            ConvBnRelu(w(192), w(192), (7, 1), padding=(3, 0)),
            ConvBnRelu(w(192), w(192), 3, stride=2),
        )
        self.cout = w(320) + w(192) + cin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pool = F.max_pool2d(x, 3, stride=2)
        return torch.cat([self.branch3x3(x), self.branch7x7x3(x), pool], 1)


class InceptionE(nn.Module):
    """Inception-v3's 8x8 block: 3x3 convolutions split into parallel 1x3 and 3x1."""

    def __init__(self, cin: int, w: Callable[[int], int]) -> None:
        super().__init__()
        self.branch1x1 = ConvBnRelu(cin, w(320), 1)
        self.branch3x3_1 = ConvBnRelu(cin, w(384), 1)
        self.branch3x3_2a = ConvBnRelu(w(384), w(384), (1, 3), padding=(0, 1))
        self.branch3x3_2b = ConvBnRelu(w(384), w(384), (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = ConvBnRelu(cin, w(448), 1)
        self.branch3x3dbl_2 = ConvBnRelu(w(448), w(384), 3, padding=1)
        self.branch3x3dbl_3a = ConvBnRelu(w(384), w(384), (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = ConvBnRelu(w(384), w(384), (3, 1), padding=(1, 0))
        self.branch_pool = ConvBnRelu(cin, w(192), 1)
        self.cout = w(320) + 4 * w(384) + w(192)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.branch3x3_1(x)
        b = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pool = self.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1))
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch3x3_2a(a),
                self.branch3x3_2b(a),
                self.branch3x3dbl_3a(b),
                self.branch3x3dbl_3b(b),
                pool,
            ],
            1,
        )


InceptionBlockV3 = InceptionA | InceptionB | InceptionC | InceptionD | InceptionE
"""Any block of `InceptionV3` (each says its output channels, `cout`)."""


class InceptionV3(nn.Module):
    """
    Inception-v3 at reduced width (`width` times torchvision's channels).

    The stem, two A blocks, a B reduction, two C blocks, a D reduction and one
    E block, then global average pooling and a linear classifier. On a
    147x147 input (grids 16, 7 and 3) it takes about 40 ms on one core.
    """

    def __init__(self, width: float = 0.75, classes: int = 100, full: bool = False) -> None:
        """`full`: torchvision's eleven blocks (three A, a B, four C, a D, two E)."""
        super().__init__()

        def w(channels: int) -> int:
            return max(8, int(channels * width))

        self.stem = nn.Sequential(
            ConvBnRelu(3, w(32), 3, stride=2),
            ConvBnRelu(w(32), w(32), 3),
            ConvBnRelu(w(32), w(64), 3, padding=1),
            nn.MaxPool2d(3, stride=2),
            ConvBnRelu(w(64), w(80), 1),
            ConvBnRelu(w(80), w(192), 3),
            nn.MaxPool2d(3, stride=2),
        )
        blocks: list[nn.Module] = []
        cin = w(192)
        makers: list[Callable[[int], InceptionBlockV3]] = [
            lambda c: InceptionA(c, 32, w),
            lambda c: InceptionA(c, 64, w),
            *([lambda c: InceptionA(c, 64, w)] if full else []),
            lambda c: InceptionB(c, w),
            lambda c: InceptionC(c, 128, w),
            lambda c: InceptionC(c, 160, w),
            *([lambda c: InceptionC(c, 160, w), lambda c: InceptionC(c, 192, w)] if full else []),
            lambda c: InceptionD(c, w),
            lambda c: InceptionE(c, w),
            *([lambda c: InceptionE(c, w)] if full else []),
        ]
        for make in makers:
            block = make(cin)
            blocks.append(block)
            cin = block.cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class GoogLeNet(nn.Module):
    """
    GoogLeNet (Inception-v1) at reduced width with BatchNorm: a 7x7 stem, max pools
    with ceil_mode between stages, nine inception modules (1x1, 1x1->3x3,
    1x1->3x3->3x3, maxpool->1x1 branches, concatenated), global average pooling.
    """

    def __init__(self, width: float = 0.5, classes: int = 100) -> None:
        super().__init__()

        def w(channels: int) -> int:
            return max(8, int(channels * width))

        self.stem = nn.Sequential(
            ConvBnRelu(3, w(64), 7, stride=2, padding=3),
            nn.MaxPool2d(3, stride=2, ceil_mode=True),
            ConvBnRelu(w(64), w(64), 1),
            ConvBnRelu(w(64), w(192), 3, padding=1),
            nn.MaxPool2d(3, stride=2, ceil_mode=True),
        )
        # (1x1, 3x3 reduce, 3x3, double 3x3 reduce, double 3x3, pool proj), None: a max pool.
        config: list[tuple[int, int, int, int, int, int] | None] = [
            (64, 96, 128, 16, 32, 32),
            (128, 128, 192, 32, 96, 64),
            None,
            (192, 96, 208, 16, 48, 64),
            (160, 112, 224, 24, 64, 64),
            (128, 128, 256, 24, 64, 64),
            (112, 144, 288, 32, 64, 64),
            (256, 160, 320, 32, 128, 128),
            None,
            (256, 160, 320, 32, 128, 128),
            (384, 192, 384, 48, 128, 128),
        ]
        blocks: list[nn.Module] = []
        cin = w(192)
        for entry in config:
            if entry is None:
                blocks.append(nn.MaxPool2d(3, stride=2, ceil_mode=True))
                continue
            block = GoogLeNetBlock(cin, *(w(c) for c in entry))
            blocks.append(block)
            cin = block.cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class GoogLeNetBlock(nn.Module):
    """torchvision's GoogLeNet `Inception` module, ConvBnRelu throughout."""

    def __init__(self, cin: int, c1: int, r3: int, c3: int, r5: int, c5: int, cp: int) -> None:
        super().__init__()
        self.branch1 = ConvBnRelu(cin, c1, 1)
        self.branch2 = nn.Sequential(ConvBnRelu(cin, r3, 1), ConvBnRelu(r3, c3, 3, padding=1))
        self.branch3 = nn.Sequential(ConvBnRelu(cin, r5, 1), ConvBnRelu(r5, c5, 3, padding=1))
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True), ConvBnRelu(cin, cp, 1)
        )
        self.cout = c1 + c3 + c5 + cp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.branch1, self.branch2, self.branch3, self.branch4)
        return torch.cat([branch(x) for branch in branches], 1)


class ResNet(nn.Module):
    """ResNet-18 at reduced width: a 7x7 stem and max pool, four stages of two basic blocks."""

    def __init__(self, width: float = 0.5, classes: int = 100) -> None:
        super().__init__()
        widths = [max(8, int(c * width)) for c in (64, 128, 256, 512)]
        self.stem = nn.Sequential(
            ConvBnRelu(3, widths[0], 7, stride=2, padding=3), nn.MaxPool2d(3, 2, padding=1)
        )
        blocks: list[nn.Module] = []
        cin = widths[0]
        for index, cout in enumerate(widths):
            blocks.append(BasicBlock(cin, cout, stride=1 if index == 0 else 2))
            blocks.append(BasicBlock(cout, cout))
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class BasicBlock(nn.Module):
    """ResNet's basic block; a strided 1x1 projection where the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = ConvBnRelu(cin, cout, 3, stride=stride, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn2(self.conv2(self.conv1(x))) + self.shortcut(x))


class DenseNet(nn.Module):
    """
    DenseNet at reduced depth: pre-activation dense layers (BatchNorm, ReLU, 1x1, BatchNorm,
    ReLU, 3x3) whose outputs are concatenated, transitions with average pooling. The
    BatchNorms after a concatenation cannot be folded into a convolution.
    """

    def __init__(self, growth: int = 16, layers: tuple[int, ...] = (4, 6, 8), classes: int = 100):
        super().__init__()
        channels = 2 * growth
        self.stem = nn.Sequential(
            nn.Conv2d(3, channels, 7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            nn.MaxPool2d(3, 2, padding=1),
        )
        blocks: list[nn.Module] = []
        for index, count in enumerate(layers):
            for _ in range(count):
                blocks.append(DenseLayer(channels, growth))
                channels += growth
            if index < len(layers) - 1:
                blocks.append(
                    nn.Sequential(
                        nn.BatchNorm2d(channels),
                        nn.ReLU(),
                        nn.Conv2d(channels, channels // 2, 1, bias=False),
                        nn.AvgPool2d(2, 2),
                    )
                )
                channels //= 2
        self.blocks = nn.Sequential(*blocks)
        self.norm = nn.BatchNorm2d(channels)
        self.fc = nn.Linear(channels, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.norm(self.blocks(self.stem(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class DenseLayer(nn.Module):
    """BN-ReLU-1x1 (4 x growth) - BN-ReLU-3x3 (growth), concatenated to the input."""

    def __init__(self, cin: int, growth: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(cin),
            nn.ReLU(),
            nn.Conv2d(cin, 4 * growth, 1, bias=False),
            nn.BatchNorm2d(4 * growth),
            nn.ReLU(),
            nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.body(x)], 1)


class MobileNet(nn.Module):
    """
    MobileNetV2 at reduced width: inverted residuals (1x1 expand, 3x3 depthwise, 1x1
    project, ReLU6), residual adds where the shape allows, global average pooling.
    """

    def __init__(self, width: float = 0.5, classes: int = 100, full: bool = False) -> None:
        """`full`: torchvision's MobileNetV2 stages and its last 1x1 convolution to 1280."""
        super().__init__()

        def w(channels: int) -> int:
            return max(8, int(channels * width))

        # (expansion, output channels, repeats, first stride)
        config = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 3, 2), (6, 96, 2, 1)]
        if full:
            config = [*config[:3], (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
        layers: list[nn.Module] = [
            nn.Conv2d(3, w(32), 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(w(32)),
            nn.ReLU6(),
        ]
        cin = w(32)
        for expansion, cout, repeats, stride in config:
            for index in range(repeats):
                layers.append(
                    InvertedResidual(cin, w(cout), stride if index == 0 else 1, expansion)
                )
                cin = w(cout)
        if full:
            last = w(1280)
            layers += [nn.Conv2d(cin, last, 1, bias=False), nn.BatchNorm2d(last), nn.ReLU6()]
            cin = last
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expand, 3x3 depthwise, 1x1 linear projection."""

    def __init__(self, cin: int, cout: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = cin * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()]
        layers += [
            nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


@dataclass(frozen=True)
class TorchModel:
    """A model of this zoo: how to build it and the shape of its one input."""

    build: Callable[[], nn.Module]
    input_shape: tuple[int, ...]


TORCH_MODELS: dict[str, TorchModel] = {
    "inception_block": TorchModel(InceptionBlock, (1, 64, 28, 28)),
    "fire_module": TorchModel(FireModule, (1, 96, 28, 28)),
    "residual_block": TorchModel(ResidualBlock, (1, 32, 32, 32)),
    "transformer_block": TorchModel(TransformerBlock, (1, 24, 96)),
    "inception_v3": TorchModel(InceptionV3, (1, 3, 147, 147)),
    "googlenet": TorchModel(GoogLeNet, (1, 3, 160, 160)),
    "resnet": TorchModel(ResNet, (1, 3, 160, 160)),
    "densenet": TorchModel(DenseNet, (1, 3, 128, 128)),
    "mobilenet": TorchModel(MobileNet, (1, 3, 160, 160)),
}

FULL_SIZE_MODELS: dict[str, TorchModel] = {
    "googlenet_full": TorchModel(lambda: GoogLeNet(1.0, 1000), (1, 3, 224, 224)),
    "inception_v3_full": TorchModel(lambda: InceptionV3(1.0, 1000, full=True), (1, 3, 299, 299)),
    "resnet18_full": TorchModel(lambda: ResNet(1.0, 1000), (1, 3, 224, 224)),
    "mobilenet_v2_full": TorchModel(lambda: MobileNet(1.0, 1000, full=True), (1, 3, 224, 224)),
}
"""
torchvision's GoogLeNet (no auxiliary heads), Inception-v3 (no auxiliary head),
ResNet-18 and MobileNetV2 at full width and input size, with their parameter counts
(`tests/test_zoo.py`): what a user runs, for the benchmarks only (seconds to export and
tens of milliseconds a call, too slow for the test suite's compile-and-compare runs).
"""

ALL_MODELS = {**TORCH_MODELS, **FULL_SIZE_MODELS}


def build(name: str, seed: int = 0) -> nn.Module:
    """The model `name` in eval mode, with weights (and BatchNorm statistics) from `seed`."""
    if name not in ALL_MODELS:
        raise KeyError(f"unknown model '{name}' (models: {', '.join(ALL_MODELS)})")
    torch.manual_seed(seed)
    model = ALL_MODELS[name].build()
    _randomize_norms(model, torch.Generator().manual_seed(seed + 1))
    return model.eval()


def example_input(name: str, seed: int = 0) -> torch.Tensor:
    """A random input of the model's static shape."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(ALL_MODELS[name].input_shape, generator=generator)


def export(
    module_name: str, path: str | Path, dynamo: bool = True, opset: int | None = None
) -> Path:
    """
    Export the model `module_name` to `path` with `torch.onnx.export`.

    `dynamo=True` is torch's default exporter (torch.export + onnxscript),
    `dynamo=False` the TorchScript one; both with their default settings unless
    `opset` asks for an older opset (whose graphs spell some ops differently).
    The exporters' progress messages and warnings are silenced.
    """
    path = Path(path)
    model = build(module_name)
    args = (example_input(module_name),)
    with _quiet_export():
        torch.onnx.export(model, args, path, dynamo=dynamo, opset_version=opset)
    return path


@contextlib.contextmanager
def _quiet_export() -> Iterator[None]:
    """Silence the exporters' progress messages and warnings; no autograd."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), torch.no_grad():
        warnings.simplefilter("ignore")
        yield


def export_batched(
    model: nn.Module, shape: tuple[int, ...], path: str | Path, dynamo: bool = False
) -> Path:
    """
    Export `model`, whose input is a batch of `shape`, to `path` with a symbolic batch
    dimension (`dim_param`): `dynamic_shapes` for the dynamo exporter, `dynamic_axes`
    for the TorchScript one. The example batch is 2 random rows.
    """
    path = Path(path)
    example = (torch.randn(2, *shape),)
    with _quiet_export():
        if dynamo:
            batch = torch.export.Dim("batch", min=2, max=64)
            torch.onnx.export(model, example, path, dynamo=True, dynamic_shapes={"x": {0: batch}})
        else:
            torch.onnx.export(
                model,
                example,
                path,
                dynamo=False,
                input_names=["x"],
                dynamic_axes={"x": {0: "batch"}},
            )
    return path
