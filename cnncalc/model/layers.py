"""The spec as frozen dataclasses: what each layer is, normalised once at construction.

`kernel: 3` becomes `(3, 3)` for an image (`(3,)` for a signal, `(3, 3, 3)` for a volume) when the
spec is read; tuples hold one value per spatial axis in the shape's order.
Each object keeps the YAML position it came from in `pos`, which takes no part in
equality, so two specs that mean the same network compare equal.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any, Union

from cnncalc.enums import LayerKind, MergeKind, PaddingMode, UpsampleMode
from cnncalc.errors import SourcePos
from cnncalc.model.shapes import Shape
from cnncalc.values import value

Pair = tuple[int, int]
Axes = tuple[int, ...]  # one value per spatial axis: (length,), (height, width) or (depth, height, width)
DEFAULT_RANK = 2  # layers built directly in code (compare, quiz) are 2-D unless given tuples


def axes(value: int | tuple[int, ...] | list[int], rank: int = DEFAULT_RANK) -> Axes:
    """An int, or a list with one value per axis, as a tuple of `rank` values. The parser has checked the types."""
    if isinstance(value, int):
        return (value,) * rank
    return tuple(value)


def pair(value: int | tuple[int, int] | list[int]) -> Pair:
    """An int or an [h, w] list, as (h, w). The parser has checked the types already."""
    return axes(value, 2)  # type: ignore[return-value]


def pair_text(value: tuple[int, ...], times: str = "×") -> str:
    """One number when every axis agrees (`3`), else `3×1` (`3×3×1` in 3-D): how messages and derivations write sizes."""
    if all(v == value[0] for v in value):
        return str(value[0])
    return times.join(map(str, value))


@value
class Padding:
    """Explicit zero padding per side, or a rule (`same`, `valid`) resolved against the input size.

    `explicit` is (before, after) for each spatial axis in turn: (top, bottom, left, right) in 2-D,
    (left, right) in 1-D, (front, back, top, bottom, left, right) in 3-D. A spec's `padding: 1` is
    (1, 1, 1, 1) and `padding: [1, 2]` is (1, 1, 2, 2), as torch's `padding=(1, 2)`.
    """

    mode: PaddingMode = PaddingMode.EXPLICIT
    explicit: tuple[int, ...] = (0, 0, 0, 0)

    @classmethod
    def of(cls, value: int | str | list[int] | tuple[int, ...] | Padding, rank: int = DEFAULT_RANK) -> Padding:
        """`1`, one value per axis (symmetric), or (before, after) for every axis."""
        if isinstance(value, Padding):
            return value
        if isinstance(value, str):
            return cls(mode=PaddingMode(value))
        if isinstance(value, int):
            return cls(explicit=(value,) * (2 * rank))
        value = tuple(value)
        if len(value) == 2 * rank:
            return cls(explicit=value)
        return cls(explicit=tuple(v for p in value for v in (p, p)))

    @property
    def rank(self) -> int:
        return len(self.explicit) // 2

    def per_axis(self) -> tuple[tuple[int, int], ...]:
        """((before, after), …) for each axis."""
        e = self.explicit
        return tuple((e[2 * i], e[2 * i + 1]) for i in range(len(e) // 2))

    @property
    def is_symmetric(self) -> bool:
        return self.mode is PaddingMode.EXPLICIT and all(b == a for b, a in self.per_axis())

    def describe(self) -> str:
        if self.mode is not PaddingMode.EXPLICIT:
            return str(self.mode)
        return describe_pads(self.explicit)


def describe_pads(explicit: tuple[int, ...]) -> str:
    """`1` when every side agrees, `1,2` (one per axis) when each axis is symmetric, else every side."""
    if all(v == explicit[0] for v in explicit):
        return str(explicit[0])
    befores, afters = explicit[0::2], explicit[1::2]
    if befores == afters:
        return ",".join(map(str, befores))
    return ",".join(map(str, explicit))


ZERO_PADDING = Padding()


@value(kw_only=True)
class LayerBase:
    path: str = ""
    name: str | None = None
    pos: SourcePos | None = field(default=None, compare=False, repr=False)


@value(kw_only=True)
class LeafBase(LayerBase):
    """A layer that computes. `rank` is the number of spatial axes an alias such as `conv1d` demands
    (None: whatever the input has); it is how the layer was written, not what it computes."""

    rank: int | None = field(default=None, compare=False, repr=False)
    alias: str | None = field(default=None, compare=False, repr=False)


@value(kw_only=True)
class Conv(LeafBase):
    filters: int
    kernel: Axes
    stride: Axes = (1, 1)
    padding: Padding = ZERO_PADDING
    dilation: Axes = (1, 1)
    groups: int = 1
    bias: bool = True
    trainable: bool = True
    kind: LayerKind = field(default=LayerKind.CONV, init=False)

    def __post_init__(self) -> None:
        rank = _rank_of(self.kernel, self.stride, self.dilation)
        _normalise(self, rank, "kernel", "stride", "dilation")
        object.__setattr__(self, "padding", Padding.of(self.padding, rank))


@value(kw_only=True)
class ConvTranspose(LeafBase):
    """torch.nn.ConvTranspose1d/2d/3d: padding is symmetric per axis, so it is kept as one value per axis."""

    filters: int
    kernel: Axes
    stride: Axes = (1, 1)
    padding: Axes = (0, 0)
    output_padding: Axes = (0, 0)
    dilation: Axes = (1, 1)
    groups: int = 1
    bias: bool = True
    trainable: bool = True
    kind: LayerKind = field(default=LayerKind.CONV_TRANSPOSE, init=False)

    def __post_init__(self) -> None:
        rank = _rank_of(self.kernel, self.stride, self.padding, self.output_padding, self.dilation)
        _normalise(self, rank, "kernel", "stride", "padding", "output_padding", "dilation")


@value(kw_only=True)
class Pool(LeafBase):
    """maxpool, avgpool and minpool: a window with no weights. `stride` defaults to the kernel, as in torch."""

    kind: LayerKind
    kernel: Axes
    stride: Axes | None = None
    padding: Padding = ZERO_PADDING
    dilation: Axes = (1, 1)
    ceil_mode: bool = False

    def __post_init__(self) -> None:
        rank = _rank_of(self.kernel, self.stride, self.dilation)
        _normalise(self, rank, "kernel", "dilation")
        object.__setattr__(self, "stride", self.kernel if self.stride is None else axes(self.stride, rank))
        object.__setattr__(self, "padding", Padding.of(self.padding, rank))


@value(kw_only=True)
class AdaptivePool(LeafBase):
    """adaptive_avgpool (any output size) and global_avgpool (output 1 per axis), kept as a map as torch does.

    A global pool's `output` is None: one unit along every axis of whatever input it gets."""

    kind: LayerKind
    output: Axes | None = None

    def __post_init__(self) -> None:
        if self.output is not None:
            object.__setattr__(self, "output", axes(self.output, _rank_of(self.output)))

    def output_sizes(self, rank: int) -> Axes:
        return (1,) * rank if self.output is None else self.output  # type: ignore[return-value]


@value(kw_only=True)
class Fc(LeafBase):
    """nn.Linear; `per_position`: on the channels of every position of a map (a channels-last nn.Linear)."""

    units: int
    bias: bool = True
    trainable: bool = True
    per_position: bool = False
    kind: LayerKind = field(default=LayerKind.FC, init=False)


@value(kw_only=True)
class Flatten(LeafBase):
    kind: LayerKind = field(default=LayerKind.FLATTEN, init=False)


@value(kw_only=True)
class BatchNorm(LeafBase):
    """BatchNorm1d/2d/3d: 2 learned values per channel (affine), and 2 running statistics per
    channel kept as torch buffers. On a vector it is BatchNorm1d over the features."""

    affine: bool = True
    track_running_stats: bool = True
    trainable: bool = True
    kind: LayerKind = field(default=LayerKind.BATCHNORM, init=False)


@value(kw_only=True)
class Lrn(LeafBase):
    size: int = 5
    kind: LayerKind = field(default=LayerKind.LRN, init=False)


@value(kw_only=True)
class Dropout(LeafBase):
    p: float = 0.5
    inplace: bool = False
    kind: LayerKind = field(default=LayerKind.DROPOUT, init=False)


@value(kw_only=True)
class ZeroPad(LeafBase):
    padding: Padding = ZERO_PADDING
    kind: LayerKind = field(default=LayerKind.ZEROPAD, init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "padding", Padding.of(self.padding))


@value(kw_only=True)
class Upsample(LeafBase):
    """torch.nn.Upsample: exactly one of `scale` (output = floor(n * scale)) or `size`, one value per axis."""

    scale: tuple[float, ...] | None = None
    size: Axes | None = None
    size_of: str | None = None  # the path of a layer whose output size to take (`size_of: PATH`)
    mode: UpsampleMode = UpsampleMode.NEAREST
    kind: LayerKind = field(default=LayerKind.UPSAMPLE, init=False)

    def __post_init__(self) -> None:
        if self.scale is not None and not isinstance(self.scale, tuple):
            scale = self.scale if isinstance(self.scale, list) else [self.scale, self.scale]
            object.__setattr__(self, "scale", tuple(scale))
        if self.size is not None:
            object.__setattr__(self, "size", axes(self.size, _rank_of(self.size)))


@value(kw_only=True)
class Normalization(LeafBase):
    """layernorm (over the channels at each position), groupnorm (over groups of channels), instancenorm
    (each channel of each sample): `affine` learned scale (and `bias` shift) per channel."""

    kind: LayerKind
    groups: int = 1
    affine: bool = True
    bias: bool = True
    track_running_stats: bool = False
    trainable: bool = True


@value(kw_only=True)
class Channelwise(LeafBase):
    """Layers that act on the channels without weights of a window: layer_scale (a learned per-channel
    factor), stochastic_depth, channel_shuffle, chunk (one of `chunks` slices), pixel_shuffle/unshuffle,
    permute (a layout change), unflatten (a vector back to a map). Unused fields keep their defaults."""

    kind: LayerKind
    groups: int = 1  # channel_shuffle
    chunks: int = 1  # chunk
    index: int = 0  # chunk
    factor: int = 1  # pixel_shuffle / pixel_unshuffle
    order: tuple[int, ...] = ()  # permute: torch's dimension order
    shape: Any = None  # unflatten: the map's Shape
    p: float = 0.0  # stochastic_depth
    mode: str = "row"  # stochastic_depth
    init: float = 1e-6  # layer_scale
    trainable: bool = True


@value(kw_only=True)
class Crop(LeafBase):
    """A centre crop to `size` (torchvision's CenterCrop) or explicit `amounts` cut off: (before, after) per axis."""

    size: Axes | None = None
    amounts: tuple[int, ...] | None = None
    kind: LayerKind = field(default=LayerKind.CROP, init=False)


@value(kw_only=True)
class Activation(LeafBase):
    """An elementwise activation; `kind` is its spec word (kinds/elementwise.py lists them), `options` its
    option values as (name, value) pairs, as torch's constructor takes them (LeakyReLU's negative_slope)."""

    kind: str
    options: tuple[tuple[str, Any], ...] = ()


Layer = Union[
    Conv, ConvTranspose, Pool, AdaptivePool, Fc, Flatten, BatchNorm, Lrn, Dropout, ZeroPad, Upsample, Activation,
    Normalization, Channelwise, Crop,
]


@value(kw_only=True)
class Sequential(LayerBase):
    """A container: a `sequential`, a use of a block (label = the block's name), a named repeat or branch."""

    label: str = "sequential"
    children: tuple[Node, ...] = ()


@value(kw_only=True)
class Merge(LayerBase):
    """Parallel branches merged by elementwise add or channel concat.

    Each branch reads the merge's input, or, where `sources[i]` names one, the output of that earlier
    layer or group (`from: PATH`): the graph edges of U-Net skips and FPN taps. An empty branch is
    the identity of what it reads (a residual shortcut, DenseNet's carried-over features, a skip).
    """

    merge: MergeKind
    branches: tuple[tuple[Node, ...], ...] = ()
    sources: tuple[str | None, ...] = ()

    def __post_init__(self) -> None:
        if len(self.sources) != len(self.branches):
            object.__setattr__(self, "sources", tuple(self.sources) + (None,) * (len(self.branches) - len(self.sources)))

    @property
    def kind(self) -> str:
        return str(self.merge)


@value(kw_only=True)
class Side(LayerBase):
    """A side output (`- side: {name: aux1, layers: [...]}`): a head computed from the current tensor that
    leaves the main path unchanged; its output is an extra network output (GoogLeNet's auxiliary heads)."""

    children: tuple[Node, ...] = ()
    label: str = "side"
    source: str | None = None  # `from: PATH`: computed from that earlier output instead of the current tensor

    @property
    def kind(self) -> str:
        return "side"


Node = Union[Layer, Sequential, Merge, Side]


@value(kw_only=True)
class Network:
    name: str
    input: Shape
    layers: tuple[Node, ...]
    description: str = ""
    reference: str = ""
    task: str = "classification"
    file: str | None = field(default=None, compare=False)
    warnings: tuple = field(default=(), compare=False)  # SpecWarnings about the document itself (its input)


# Layers written alike. A spec repeats the same layer many times (a written-out chain, a block used 16
# times, a `repeat`): the expander builds each distinct written layer once and places copies of it at the
# other paths. The copies share a token, so the stages can compute a layer's numbers once per token and
# input (`alike`) instead of once per path. The token is kept outside the dataclass fields: it takes no
# part in equality or repr, and `dataclasses.replace`, which may change an option, drops it.
_ALIKE = "_alike"


def placed(template: Layer, *, path: str, name: str | None, pos: SourcePos | None, share: bool = True) -> Layer:
    """`template` under another path, name and position: what building it again from the same options gives
    (every field value is immutable, so the fields are shared as they are), sharing its `alike` token.

    `share=False` for a copy that is the only use of its layer in its network (the quiz's small networks):
    the stages' per-network caches would only cost there, and the copy is still made without running
    `__init__` again, as `dataclasses.replace` would."""
    state = template.__dict__
    if share and _ALIKE not in state:
        object.__setattr__(template, _ALIKE, object())
    layer = object.__new__(type(template))
    copy = layer.__dict__
    copy.update(state)
    copy.update(path=path, name=name, pos=pos)
    if not share:
        copy.pop(_ALIKE, None)
    return layer


def alike(layer: Node) -> object | None:
    """The token `placed` copies share (None for a layer built on its own): equal tokens, equal options."""
    return layer.__dict__.get(_ALIKE)


def _rank_of(*values: object) -> int:
    """The rank the tuple-valued options were given with, DEFAULT_RANK if every one is a plain number."""
    for value in values:
        if isinstance(value, (tuple, list)):
            return len(value)
    return DEFAULT_RANK


def _normalise(obj: object, rank: int, *names: str) -> None:
    for name in names:
        object.__setattr__(obj, name, axes(getattr(obj, name), rank))
