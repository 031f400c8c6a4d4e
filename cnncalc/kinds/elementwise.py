"""Layers that act on each value alone and keep the shape: activations and dropout."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from cnncalc.enums import LayerKind
from cnncalc.kinds import options as o
from cnncalc.kinds.base import AxisContext, Geometry, Kind, LayerMath, Passed, unchanged
from cnncalc.kinds.worked import Derivation, LayerUse
from cnncalc.model.layers import Activation, Dropout
from cnncalc.model.shapes import Shape

class GeluApproximation(StrEnum):
    """torch.nn.GELU's `approximate`: the exact erf form, or the tanh approximation."""

    NONE = "none"
    TANH = "tanh"


# The activations: spec word -> (torch class, its options: name -> (converter, default)). Each option is
# passed to the torch class under the same name. One line here (plus its README row and its row in the
# test table) is all a new activation takes.
ACTIVATIONS: dict[str, tuple[str, dict[str, tuple[Any, Any]]]] = {
    "relu": ("ReLU", {}),
    "relu6": ("ReLU6", {}),
    "leaky_relu": ("LeakyReLU", {"negative_slope": (o.number(0), 0.01)}),
    "tanh": ("Tanh", {}),
    "sigmoid": ("Sigmoid", {}),
    "softmax": ("Softmax", {}),
    "gelu": ("GELU", {"approximate": (o.choice(GeluApproximation), GeluApproximation.NONE)}),
}
_TORCH_ARGUMENTS = {"softmax": {"dim": 1}}  # over the channels (features), as a classifier's last layer


class ActivationKind(Kind):
    names = tuple(ACTIVATIONS)
    options = {word: opts for word, (_, opts) in ACTIVATIONS.items()}
    torch_names = {word: f"nn.{cls}" for word, (cls, _) in ACTIVATIONS.items()}

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> Activation:
        return Activation(kind=kind, options=tuple(sorted(values.items())), **base)

    def forward(self, layer: Activation, shape: Shape) -> LayerMath:
        return LayerMath(shape)

    def field(self, layer: Activation, axis: AxisContext) -> Geometry:
        return Passed()  # one value at a time: the field passes on

    def derive(self, use: LayerUse) -> Derivation:
        return unchanged(use, "elementwise")

    def torch(self, layer: Activation, shape: Shape, device: str = "meta") -> Any:
        from torch import nn

        cls, _ = ACTIVATIONS[layer.kind]
        return getattr(nn, cls)(**dict(layer.options), **_TORCH_ARGUMENTS.get(layer.kind, {}))


class DropoutKind(Kind):
    names = (LayerKind.DROPOUT,)
    options = {LayerKind.DROPOUT: {"p": (o.number(0, 1), 0.5)}}
    examples = {LayerKind.DROPOUT: "p: 0.5"}
    torch_names = {LayerKind.DROPOUT: "nn.Dropout"}

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> Dropout:
        return Dropout(p=values["p"], **base)

    def forward(self, layer: Dropout, shape: Shape) -> LayerMath:
        return LayerMath(shape)

    def field(self, layer: Dropout, axis: AxisContext) -> Geometry:
        return Passed()

    def derive(self, use: LayerUse) -> Derivation:
        return unchanged(use, "shape-preserving")

    def torch(self, layer: Dropout, shape: Shape, device: str = "meta") -> Any:
        from torch import nn

        return nn.Dropout(layer.p)
