"""The torch modules the layer kinds stand for (imported only by the tests and by export; never at run time).

Nothing here uses cnncalc's arithmetic: every size is torch's own, read from the tensor at run time
(TensorFlow's `same` padding at stride > 1 included), so a network built from these modules is an
independent reference for the engine's numbers.

- conv → nn.Conv1d/2d/3d; `same` at stride 1 → torch's padding="same"; explicit asymmetric padding →
  nn.ZeroPad{n}d / F.pad then a padding-0 conv; `same` at stride > 1 → `TfSamePad` then a padding-0 conv.
- pools → nn.MaxPool/AvgPool{n}d with torch's padding and ceil_mode; minpool → −maxpool(−x); asymmetric
  or `same` padding of a pool is an explicit constant pad (−inf for max, 0 for average) before it.
- fc on a map of one position → nn.Flatten then nn.Linear (cnncalc reads a 1×1×C map as C features).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from cnncalc.enums import LayerKind, PaddingMode
from cnncalc.model.shapes import Shape, Spatial


def _rank(shape: Shape) -> int:
    return shape.rank if isinstance(shape, Spatial) else 1


def _torch_pad(pairs: tuple[tuple[int, int], ...]) -> tuple[int, ...]:
    """(before, after) per axis in the shape's order → F.pad's order, last axis first."""
    return tuple(v for before, after in reversed(pairs) for v in (before, after))


class TfSamePad(nn.Module):
    """TensorFlow/Keras `padding="same"`, computed from the input size at every call (any rank).

    From tf.nn.convolution's documentation: out = ceil(n / s);
    total = max((out − 1)·s + (k − 1)·d + 1 − n, 0); before = total // 2, the rest after.
    """

    def __init__(self, kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...], value: float = 0.0):
        super().__init__()
        self.kernel, self.stride, self.dilation, self.value = kernel, stride, dilation, value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pairs = []
        for i, n in enumerate(x.shape[2:]):
            out = math.ceil(n / self.stride[i])
            total = max((out - 1) * self.stride[i] + (self.kernel[i] - 1) * self.dilation[i] + 1 - n, 0)
            pairs.append((total // 2, total - total // 2))
        return nn.functional.pad(x, _torch_pad(tuple(pairs)), value=self.value)


class ConstantPad(nn.Module):
    """An explicit pad of every side (any rank), with a fill value."""

    def __init__(self, pairs: tuple[tuple[int, int], ...], value: float = 0.0):
        super().__init__()
        self.pad, self.value = _torch_pad(pairs), value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.pad(x, self.pad, value=self.value)


class Negated(nn.Module):
    """minpool as −maxpool(−x): torch has no min pool."""

    def __init__(self, pool: nn.Module):
        super().__init__()
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -self.pool(-x)


def freeze(module: nn.Module, trainable: bool) -> nn.Module:
    if not trainable:
        for p in module.parameters():
            p.requires_grad_(False)
    return module


def _with_pad(pad: nn.Module | None, op: nn.Module) -> nn.Module:
    return op if pad is None else nn.Sequential(pad, op)


def conv(layer: Any, shape: Spatial, device: str) -> nn.Module:
    rank = _rank(shape)
    cls = getattr(nn, f"Conv{rank}d")
    mode = layer.padding.mode
    pad: nn.Module | None = None
    padding: Any = 0
    if mode is PaddingMode.SAME:
        if all(s == 1 for s in layer.stride):
            padding = "same"  # torch's own rule
        else:
            pad = TfSamePad(layer.kernel, layer.stride, layer.dilation)
    elif mode is PaddingMode.EXPLICIT:
        pairs = layer.padding.per_axis()
        if all(b == a for b, a in pairs):
            padding = tuple(b for b, _ in pairs)
        else:
            pad = ConstantPad(pairs)
    op = cls(
        shape.channels, layer.filters, layer.kernel, stride=layer.stride, padding=padding,
        dilation=layer.dilation, groups=layer.groups, bias=layer.bias, device=device,
    )
    return _with_pad(pad, freeze(op, layer.trainable))


def conv_transpose(layer: Any, shape: Spatial, device: str) -> nn.Module:
    cls = getattr(nn, f"ConvTranspose{_rank(shape)}d")
    op = cls(
        shape.channels, layer.filters, layer.kernel, stride=layer.stride, padding=layer.padding,
        output_padding=layer.output_padding, groups=layer.groups, bias=layer.bias, dilation=layer.dilation, device=device,
    )
    return freeze(op, layer.trainable)


def pool(layer: Any, shape: Spatial, device: str) -> nn.Module:
    rank = _rank(shape)
    fill = 0.0 if layer.kind is LayerKind.AVGPOOL else -math.inf
    if layer.kind is LayerKind.MINPOOL:
        fill = math.inf  # the pad sits before the negation inside −maxpool(−x)
    mode = layer.padding.mode
    pad: nn.Module | None = None
    padding: Any = 0
    if mode is PaddingMode.SAME:
        pad = TfSamePad(layer.kernel, layer.stride, layer.dilation, value=fill)
    elif mode is PaddingMode.EXPLICIT:
        pairs = layer.padding.per_axis()
        if all(b == a for b, a in pairs):
            padding = tuple(b for b, _ in pairs)
        else:
            pad = ConstantPad(pairs, fill)
    if layer.kind is LayerKind.AVGPOOL:
        op: nn.Module = getattr(nn, f"AvgPool{rank}d")(layer.kernel, stride=layer.stride, padding=padding, ceil_mode=layer.ceil_mode)
    else:
        op = getattr(nn, f"MaxPool{rank}d")(
            layer.kernel, stride=layer.stride, padding=padding, dilation=layer.dilation, ceil_mode=layer.ceil_mode
        )
        if layer.kind is LayerKind.MINPOOL:
            op = Negated(op)
    return _with_pad(pad, op)


def adaptive_pool(layer: Any, shape: Spatial, device: str) -> nn.Module:
    rank = _rank(shape)
    output = 1 if layer.output is None else layer.output
    kind = "Max" if layer.kind in (LayerKind.GLOBAL_MAXPOOL, LayerKind.ADAPTIVE_MAXPOOL) else "Avg"
    return getattr(nn, f"Adaptive{kind}Pool{rank}d")(output)


class ChannelsLast(nn.Module):
    """A module that acts on the last axis (nn.Linear, nn.LayerNorm) applied to the channels of a
    channels-first map: moved last, applied, moved back (ConvNeXt's Permute + Linear + Permute)."""

    def __init__(self, op: nn.Module):
        super().__init__()
        self.op = op

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x.movedim(1, -1)).movedim(-1, 1)


class ChannelScale(nn.Module):
    """ConvNeXt's layer scale: a (C, 1, …) parameter times the map."""

    def __init__(self, shape: Shape, init: float, device: str):
        super().__init__()
        rank = _rank(shape) if isinstance(shape, Spatial) else 0
        self.layer_scale = nn.Parameter(torch.full((shape.channels, *(1,) * rank), init, device=device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.layer_scale


# `cnncalc export` copies this class's text into the files it writes (render/pytorch.py reads it from this
# file without importing torch): keep it self-contained, using only torch and nn.
class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth: in training, the input times a Bernoulli(1 − p) draw scaled by
    1/(1 − p), one per sample ("row") or one for the whole batch ("batch"); the identity otherwise."""

    def __init__(self, p: float, mode: str):
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        size = [1] * x.dim()
        if self.mode == "row":
            size[0] = x.shape[0]
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
        if survival > 0.0:
            noise.div_(survival)
        return x * noise


class Chunk(nn.Module):
    def __init__(self, chunks: int, index: int):
        super().__init__()
        self.chunks, self.index = chunks, index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.chunk(self.chunks, dim=1)[self.index]


class Crop(nn.Module):
    """Cut (before, after) per spatial axis, in the shapes' order (a negative amount pads, as CenterCrop does)."""

    def __init__(self, cuts: tuple[tuple[int, int], ...]):
        super().__init__()
        self.cuts = cuts

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = _torch_pad(tuple((-b, -a) for b, a in self.cuts))
        return nn.functional.pad(x, pad)  # negative padding crops


def normalization(layer: Any, shape: Shape, device: str) -> nn.Module:
    c = shape.channels
    if layer.kind == LayerKind.LAYERNORM:
        op = nn.LayerNorm(c, elementwise_affine=layer.affine, bias=layer.bias, device=device)
        return freeze(ChannelsLast(op) if isinstance(shape, Spatial) else op, layer.trainable)
    if layer.kind == LayerKind.GROUPNORM:
        return freeze(nn.GroupNorm(layer.groups, c, affine=layer.affine, device=device), layer.trainable)
    cls = getattr(nn, f"InstanceNorm{_rank(shape)}d")
    return freeze(cls(c, affine=layer.affine, track_running_stats=layer.track_running_stats, device=device), layer.trainable)


def fc(layer: Any, shape: Shape, device: str) -> nn.Module:
    if getattr(layer, "per_position", False) and isinstance(shape, Spatial):
        return freeze(ChannelsLast(nn.Linear(shape.channels, layer.units, bias=layer.bias, device=device)), layer.trainable)
    features = shape.elements
    op = freeze(nn.Linear(features, layer.units, bias=layer.bias, device=device), layer.trainable)
    # cnncalc takes fc on a map of one position (after global pooling) as fc on its channels.
    return nn.Sequential(nn.Flatten(), op) if isinstance(shape, Spatial) else op


def batchnorm(layer: Any, shape: Shape, device: str) -> nn.Module:
    cls = getattr(nn, f"BatchNorm{_rank(shape)}d")
    op = cls(shape.channels, affine=layer.affine, track_running_stats=layer.track_running_stats, device=device)
    return freeze(op, layer.trainable)
