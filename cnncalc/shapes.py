"""Tensor shapes of one sample (batch excluded), in the course notes' H x W x C order."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cnncalc.errors import CnnCalcError


@dataclass(frozen=True)
class Spatial:
    """A feature map: height x width x channels (torch holds it as C x H x W)."""

    height: int
    width: int
    channels: int

    @property
    def elements(self) -> int:
        return self.height * self.width * self.channels

    def hwc(self) -> str:
        return f"{self.height}x{self.width}x{self.channels}"

    def chw(self) -> str:
        return f"{self.channels}x{self.height}x{self.width}"

    def as_json(self) -> dict[str, int]:
        return {"height": self.height, "width": self.width, "channels": self.channels}


@dataclass(frozen=True)
class Vector:
    """A flat feature vector, as after `flatten` or an `fc` layer."""

    features: int

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

    def as_json(self) -> dict[str, int]:
        return {"features": self.features}


Shape = Spatial | Vector

_MAX_INT = 2**63 - 1  # torch's sizes and element counts are int64
_SEPARATORS = re.compile(r"\s*[x×X*,]\s*|\s+")


def parse_shape(text: str) -> Shape:
    """`32x32x3` (H x W x C, as in the notes), `32×32×3`, `32 32 3`, or a single `784` for a vector."""
    parts = [p for p in _SEPARATORS.split(str(text).strip()) if p]
    if not parts or not all(p.isdigit() for p in parts) or len(parts) not in (1, 3):
        raise CnnCalcError(
            f"an input shape is height x width x channels, like 32x32x3; got {text!r}",
            hint="write it as HxWxC (e.g. 224x224x3), or a single number of features for a vector",
        )
    if any(len(p.lstrip("0")) > 19 for p in parts):  # before int(): Python refuses over 4,300 digits
        raise CnnCalcError(
            f"an input size must fit torch's int64 (at most {_MAX_INT:,}); got a {max(len(p.lstrip('0')) for p in parts)}-digit number",
            hint="write the input's height x width x channels in pixels and channels, e.g. 224x224x3",
        )
    numbers = [int(p) for p in parts]
    elements = 1
    for n in numbers:
        elements *= n
    if max(numbers) > _MAX_INT or elements > _MAX_INT:
        raise CnnCalcError(
            f"an input must fit torch's int64 (at most {_MAX_INT:,} values); {'x'.join(map(str, numbers))} holds {elements:,}",
            hint="write the input's height x width x channels in pixels and channels, e.g. 224x224x3",
        )
    if any(n <= 0 for n in numbers):
        raise CnnCalcError(
            f"every dimension of an input shape must be at least 1; got {text!r}",
            hint="sizes count pixels and channels, so they are positive whole numbers",
        )
    if len(numbers) == 1:
        return Vector(numbers[0])
    return Spatial(*numbers)
