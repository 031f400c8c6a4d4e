"""Tensor shapes of one sample (batch excluded), in the course notes' channels-last order.

A feature map has one to three spatial axes and a channel count: `496x32` is a 1-D signal
(length × channels), `224x224x3` an image (height × width × channels), `16x112x112x3` a clip or
volume (depth × height × width × channels). torch holds the same tensors channels-first
(C × L, C × H × W, C × D × H × W). A vector (after `flatten` or `fc`) is a number of features.
"""

from __future__ import annotations

import re

from cnncalc.errors import InputShapeProblem

# The names of the spatial axes by rank, as torch's Conv1d/2d/3d documentation calls them.
AXIS_NAMES: dict[int, tuple[str, ...]] = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
MAX_RANK = 3


class Spatial:
    """A feature map: spatial sizes (1 to 3 axes) and channels. `Spatial(h, w, c)` as before, `Spatial(l, c)` for 1-D,
    `Spatial(d, h, w, c)` for 3-D: the last number is always the channels. Immutable and hashable."""

    __slots__ = ("sizes", "channels", "positions", "elements")
    sizes: tuple[int, ...]
    channels: int
    positions: int  # spatial positions: the product of the sizes
    elements: int  # positions × channels (computed once: the analysis asks for it many times a layer)

    def __init__(self, *values: int) -> None:
        if not 2 <= len(values) <= MAX_RANK + 1:
            raise ValueError(f"a feature map has 1 to {MAX_RANK} spatial sizes and channels; got {values!r}")
        positions = 1
        for n in values[:-1]:
            positions *= n
        set_ = object.__setattr__
        set_(self, "sizes", tuple(values[:-1]))
        set_(self, "channels", values[-1])
        set_(self, "positions", positions)
        set_(self, "elements", positions * values[-1])

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Spatial is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Spatial) and self.sizes == other.sizes and self.channels == other.channels

    def __hash__(self) -> int:
        return hash((self.sizes, self.channels))

    def __repr__(self) -> str:
        return f"Spatial({', '.join(map(str, (*self.sizes, self.channels)))})"

    def __reduce__(self):  # pickling (hypothesis and multiprocessing copy shapes)
        return (Spatial, (*self.sizes, self.channels))

    @classmethod
    def of(cls, sizes: tuple[int, ...] | list[int], channels: int) -> Spatial:
        return cls(*sizes, channels)

    @property
    def rank(self) -> int:
        """Number of spatial axes: 1, 2 or 3."""
        return len(self.sizes)

    @property
    def axes(self) -> tuple[str, ...]:
        return AXIS_NAMES[len(self.sizes)]

    def size(self, axis: str) -> int:
        return self.sizes[self.axes.index(axis)]

    @property
    def height(self) -> int:
        if len(self.sizes) == 1:
            raise AttributeError("a 1-D feature map has a length, not a height")
        return self.sizes[-2]

    @property
    def width(self) -> int:
        if len(self.sizes) == 1:
            raise AttributeError("a 1-D feature map has a length, not a width")
        return self.sizes[-1]

    @property
    def depth(self) -> int:
        if len(self.sizes) != 3:
            raise AttributeError("only a 3-D feature map has a depth")
        return self.sizes[0]

    @property
    def length(self) -> int:
        if len(self.sizes) != 1:
            raise AttributeError("only a 1-D feature map has a length")
        return self.sizes[0]

    def with_sizes(self, sizes: tuple[int, ...] | list[int], channels: int | None = None) -> Spatial:
        return Spatial(*sizes, self.channels if channels is None else channels)

    def hwc(self) -> str:
        return "x".join(map(str, (*self.sizes, self.channels)))

    def chw(self) -> str:
        return "x".join(map(str, (self.channels, *self.sizes)))

    def torch_size(self) -> tuple[int, ...]:
        """One sample as torch holds it: (C, L), (C, H, W) or (C, D, H, W)."""
        return (self.channels, *self.sizes)

    def as_json(self) -> dict[str, int]:
        sizes = self.sizes
        if len(sizes) == 2:  # the common case, written out: JSON of a 10,000-layer network calls this 20,000 times
            return {"height": sizes[0], "width": sizes[1], "channels": self.channels}
        out = dict(zip(AXIS_NAMES[len(sizes)], sizes))
        out["channels"] = self.channels
        return out


class Vector:
    """A flat feature vector, as after `flatten` or an `fc` layer."""

    __slots__ = ("features",)
    features: int
    rank = 0
    sizes: tuple[int, ...] = ()

    def __init__(self, features: int) -> None:
        object.__setattr__(self, "features", features)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Vector is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vector) and self.features == other.features

    def __hash__(self) -> int:
        return hash(self.features)

    def __repr__(self) -> str:
        return f"Vector({self.features})"

    def __reduce__(self):
        return (Vector, (self.features,))

    @property
    def elements(self) -> int:
        return self.features

    @property
    def channels(self) -> int:
        return self.features

    def hwc(self) -> str:
        return str(self.features)

    def chw(self) -> str:
        return str(self.features)

    def torch_size(self) -> tuple[int, ...]:
        return (self.features,)

    def as_json(self) -> dict[str, int]:
        return {"features": self.features}


Shape = Spatial | Vector

_AXIS_LETTERS = {"length": "L", "height": "H", "width": "W", "depth": "D"}


def order_text(shape: Shape, chw: bool = False, batch: bool = False) -> str:
    """`H×W×C` (`C×H×W` with --chw), `L×C` for a signal, `D×H×W×C` for a volume: how a shape is read
    (`N×H×W×C` with the batch first)."""
    letters = [_AXIS_LETTERS[a] for a in shape.axes] if isinstance(shape, Spatial) else ["H", "W"]
    return "×".join([*(["N"] if batch else []), *(["C", *letters] if chw else [*letters, "C"])])

_MAX_INT = 2**63 - 1  # torch's sizes and element counts are int64
_SEPARATORS = re.compile(r"\s*[x×X*,]\s*|\s+")
_ASCII_DIGITS = re.compile(r"[0-9]+")
SHAPE_FORMS = "LxC (1-D), HxWxC (2-D), DxHxWxC (3-D), or a number of features"


def parse_shape(text: str, channels_first: bool = False) -> Shape:
    """`32x32x3` (H x W x C, as in the notes), `32×32×3`, `32 32 3`, `8000x1` (a 1-D signal, L x C),
    `16x112x112x3` (D x H x W x C), or a single `784` for a vector. With `channels_first`, the channels
    come first, as PyTorch writes them: `3x32x32`, `1x8000`, `3x16x112x112`."""
    parts = [p for p in _SEPARATORS.split(str(text).strip()) if p]
    if channels_first and len(parts) > 1:
        parts = [*parts[1:], parts[0]]
    if not parts or not all(_ASCII_DIGITS.fullmatch(p) for p in parts) or len(parts) > MAX_RANK + 1:
        raise InputShapeProblem(
            f"an input shape is height x width x channels, like 32x32x3; got {text!r}",
            hint="write it as HxWxC (e.g. 224x224x3), LxC for a 1-D signal (e.g. 8000x1), "
            "DxHxWxC for a volume (e.g. 16x112x112x3), or a single number of features for a vector",
        )
    if any(len(p.lstrip("0")) > 19 for p in parts):  # before int(): Python refuses over 4,300 digits
        raise InputShapeProblem(
            f"an input size must fit torch's int64 (at most {_MAX_INT:,}); got a {max(len(p.lstrip('0')) for p in parts)}-digit number",
            hint="write the input's height x width x channels in pixels and channels, e.g. 224x224x3",
        )
    numbers = [int(p) for p in parts]
    elements = 1
    for n in numbers:
        elements *= n
    if max(numbers) > _MAX_INT or elements > _MAX_INT:
        raise InputShapeProblem(
            f"an input must fit torch's int64 (at most {_MAX_INT:,} values); {'x'.join(map(str, numbers))} holds {elements:,}",
            hint="write the input's height x width x channels in pixels and channels, e.g. 224x224x3",
        )
    if any(n <= 0 for n in numbers):
        raise InputShapeProblem(
            f"every dimension of an input shape must be at least 1; got {text!r}",
            hint="sizes count pixels and channels, so they are positive whole numbers",
        )
    if len(numbers) == 1:
        return Vector(numbers[0])
    return Spatial(*numbers)


def channels_first_suspect(shape: Shape) -> bool:
    """A shape that reads, as H×W×C, like a C×H×W one written the other way round: a first size of 4 or
    less, the others equal and larger (`3x224x224` is 3 pixels high with 224 channels), or for a signal
    a length of 4 or less with many channels (`1x8000`)."""
    if not isinstance(shape, Spatial):
        return False
    first, rest = shape.sizes[0], (*shape.sizes[1:], shape.channels)
    if shape.rank == 1:
        return first <= 4 and shape.channels >= 16
    return first <= 4 and len(set(rest[-2:])) == 1 and rest[-1] > 4


def channels_first_reading(shape: Spatial) -> Spatial:
    """The shape the same numbers give when the first is the channels (C×H×W → H×W×C)."""
    numbers = (*shape.sizes, shape.channels)
    return Spatial(*numbers[1:], numbers[0])
