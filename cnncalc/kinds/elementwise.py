"""Layers that act on each value alone and keep the shape: activations and dropout."""

from __future__ import annotations

from typing import Any

from cnncalc.enums import LayerKind
from cnncalc.kinds import options as o
from cnncalc.kinds.base import AxisContext, Geometry, Kind, LayerMath, Passed, unchanged
from cnncalc.kinds.worked import Derivation, LayerUse
from cnncalc.model.layers import Activation, Dropout
from cnncalc.model.shapes import Shape

# spec word -> (torch class, the constructor's arguments as cnncalc builds it)
_TORCH = {
    LayerKind.RELU: ("ReLU", {}),
    LayerKind.RELU6: ("ReLU6", {}),
    LayerKind.LEAKY_RELU: ("LeakyReLU", {}),
    LayerKind.TANH: ("Tanh", {}),
    LayerKind.SIGMOID: ("Sigmoid", {}),
    LayerKind.SOFTMAX: ("Softmax", {"dim": 1}),  # over the channels (features), as a classifier's last layer
}


class ActivationKind(Kind):
    names = tuple(_TORCH)
    options = {kind: {} for kind in _TORCH} | {LayerKind.LEAKY_RELU: {"negative_slope": (o.number(0), 0.01)}}
    torch_names = {kind: f"nn.{cls}" for kind, (cls, _) in _TORCH.items()}

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> Activation:
        return Activation(kind=LayerKind(kind), **base)

    def forward(self, layer: Activation, shape: Shape) -> LayerMath:
        return LayerMath(shape)

    def field(self, layer: Activation, axis: AxisContext) -> Geometry:
        return Passed()  # one value at a time: the field passes on

    def derive(self, use: LayerUse) -> Derivation:
        return unchanged(use, "elementwise")

    def torch(self, layer: Activation, shape: Shape, device: str = "meta") -> Any:
        from torch import nn

        cls, kwargs = _TORCH[layer.kind]
        return getattr(nn, cls)(**kwargs)


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
