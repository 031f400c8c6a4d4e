"""The spec as frozen dataclasses: what each layer is, normalised once at construction.

`kernel: 3` becomes `(3, 3)` here and nowhere else; every pair is (height, width).
Each object keeps the YAML position it came from in `pos`, which takes no part in
equality, so two specs that mean the same network compare equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from cnncalc.enums import LayerKind, MergeKind, PaddingMode, UpsampleMode
from cnncalc.errors import SourcePos
from cnncalc.shapes import Shape

Pair = tuple[int, int]


def pair(value: int | tuple[int, int] | list[int]) -> Pair:
    """An int or an [h, w] list, as (h, w). The parser has checked the types already."""
    if isinstance(value, int):
        return (value, value)
    h, w = value
    return (h, w)


def pair_text(value: tuple[int, int], times: str = "×") -> str:
    """One number when height and width agree (`3`), else `3×1`: how messages and derivations write a pair."""
    return str(value[0]) if value[0] == value[1] else f"{value[0]}{times}{value[1]}"


@dataclass(frozen=True)
class Padding:
    """Explicit zero padding per side, or a rule (`same`, `valid`) resolved against the input size.

    `explicit` is (top, bottom, left, right). A spec's `padding: 1` is (1, 1, 1, 1) and
    `padding: [1, 2]` is (1, 1, 2, 2), as torch's `padding=(1, 2)`.
    """

    mode: PaddingMode = PaddingMode.EXPLICIT
    explicit: tuple[int, int, int, int] = (0, 0, 0, 0)

    @classmethod
    def of(cls, value: int | str | list[int] | tuple[int, ...] | Padding) -> Padding:
        if isinstance(value, Padding):
            return value
        if isinstance(value, str):
            return cls(mode=PaddingMode(value))
        if isinstance(value, int):
            return cls(explicit=(value, value, value, value))
        if len(value) == 2:
            h, w = value
            return cls(explicit=(h, h, w, w))
        top, bottom, left, right = value
        return cls(explicit=(top, bottom, left, right))

    @property
    def is_symmetric(self) -> bool:
        top, bottom, left, right = self.explicit
        return self.mode is PaddingMode.EXPLICIT and top == bottom and left == right

    def describe(self) -> str:
        if self.mode is not PaddingMode.EXPLICIT:
            return str(self.mode)
        top, bottom, left, right = self.explicit
        if top == bottom == left == right:
            return str(top)
        if top == bottom and left == right:
            return f"{top},{left}"
        return f"{top},{bottom},{left},{right}"


ZERO_PADDING = Padding()


@dataclass(frozen=True, kw_only=True)
class LayerBase:
    path: str = ""
    name: str | None = None
    pos: SourcePos | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class Conv(LayerBase):
    filters: int
    kernel: Pair
    stride: Pair = (1, 1)
    padding: Padding = ZERO_PADDING
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = True
    trainable: bool = True
    kind: LayerKind = field(default=LayerKind.CONV, init=False)

    def __post_init__(self) -> None:
        _normalise(self, "kernel", "stride", "dilation")
        object.__setattr__(self, "padding", Padding.of(self.padding))


@dataclass(frozen=True, kw_only=True)
class ConvTranspose(LayerBase):
    """torch.nn.ConvTranspose2d: padding is symmetric per axis, so it is kept as (h, w)."""

    filters: int
    kernel: Pair
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    output_padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = True
    trainable: bool = True
    kind: LayerKind = field(default=LayerKind.CONV_TRANSPOSE, init=False)

    def __post_init__(self) -> None:
        _normalise(self, "kernel", "stride", "padding", "output_padding", "dilation")


@dataclass(frozen=True, kw_only=True)
class Pool(LayerBase):
    """maxpool, avgpool and minpool: a window with no weights. `stride` defaults to the kernel, as in torch."""

    kind: LayerKind
    kernel: Pair
    stride: Pair | None = None
    padding: Padding = ZERO_PADDING
    dilation: Pair = (1, 1)
    ceil_mode: bool = False

    def __post_init__(self) -> None:
        _normalise(self, "kernel", "dilation")
        object.__setattr__(self, "stride", self.kernel if self.stride is None else pair(self.stride))
        object.__setattr__(self, "padding", Padding.of(self.padding))


@dataclass(frozen=True, kw_only=True)
class AdaptivePool(LayerBase):
    """adaptive_avgpool (any output size) and global_avgpool (output 1x1), kept 4-D as torch does."""

    kind: LayerKind
    output: Pair = (1, 1)

    def __post_init__(self) -> None:
        _normalise(self, "output")


@dataclass(frozen=True, kw_only=True)
class Fc(LayerBase):
    units: int
    bias: bool = True
    trainable: bool = True
    kind: LayerKind = field(default=LayerKind.FC, init=False)


@dataclass(frozen=True, kw_only=True)
class Flatten(LayerBase):
    kind: LayerKind = field(default=LayerKind.FLATTEN, init=False)


@dataclass(frozen=True, kw_only=True)
class BatchNorm(LayerBase):
    """BatchNorm2d on feature maps, BatchNorm1d on vectors: 2 learned values per channel
    (affine), and 2 running statistics per channel kept as torch buffers."""

    affine: bool = True
    track_running_stats: bool = True
    trainable: bool = True
    kind: LayerKind = field(default=LayerKind.BATCHNORM, init=False)


@dataclass(frozen=True, kw_only=True)
class Lrn(LayerBase):
    size: int = 5
    kind: LayerKind = field(default=LayerKind.LRN, init=False)


@dataclass(frozen=True, kw_only=True)
class Dropout(LayerBase):
    p: float = 0.5
    kind: LayerKind = field(default=LayerKind.DROPOUT, init=False)


@dataclass(frozen=True, kw_only=True)
class ZeroPad(LayerBase):
    padding: Padding = ZERO_PADDING
    kind: LayerKind = field(default=LayerKind.ZEROPAD, init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "padding", Padding.of(self.padding))


@dataclass(frozen=True, kw_only=True)
class Upsample(LayerBase):
    """torch.nn.Upsample: exactly one of `scale` (output = floor(n * scale)) or `size`."""

    scale: tuple[float, float] | None = None
    size: Pair | None = None
    mode: UpsampleMode = UpsampleMode.NEAREST
    kind: LayerKind = field(default=LayerKind.UPSAMPLE, init=False)

    def __post_init__(self) -> None:
        if self.scale is not None and not isinstance(self.scale, tuple):
            scale = self.scale if isinstance(self.scale, list) else [self.scale, self.scale]
            object.__setattr__(self, "scale", (scale[0], scale[1]))
        if self.size is not None:
            object.__setattr__(self, "size", pair(self.size))


@dataclass(frozen=True, kw_only=True)
class Activation(LayerBase):
    kind: LayerKind


Layer = Union[
    Conv, ConvTranspose, Pool, AdaptivePool, Fc, Flatten, BatchNorm, Lrn, Dropout, ZeroPad, Upsample, Activation
]


@dataclass(frozen=True, kw_only=True)
class Sequential(LayerBase):
    """A container: a `sequential`, a use of a block (label = the block's name), a named repeat or branch."""

    label: str = "sequential"
    children: tuple[Node, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Merge(LayerBase):
    """Parallel branches on the same input, merged by elementwise add or channel concat.

    An empty branch is the identity (a residual shortcut, or DenseNet's carried-over features).
    """

    merge: MergeKind
    branches: tuple[tuple[Node, ...], ...] = ()

    @property
    def kind(self) -> str:
        return str(self.merge)


Node = Union[Layer, Sequential, Merge]


@dataclass(frozen=True, kw_only=True)
class Network:
    name: str
    input: Shape
    layers: tuple[Node, ...]
    description: str = ""
    reference: str = ""
    file: str | None = field(default=None, compare=False)


def _normalise(obj: object, *names: str) -> None:
    for name in names:
        object.__setattr__(obj, name, pair(getattr(obj, name)))
