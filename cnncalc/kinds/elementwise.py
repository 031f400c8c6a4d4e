"""Layers that act on each value alone and keep the shape: activations and dropout."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from cnncalc.enums import LayerKind
from cnncalc.kinds import options as o
from cnncalc.kinds.base import AxisContext, Geometry, Kind, LayerMath, Passed, layer_error, unchanged
from cnncalc.kinds.worked import Derivation, LayerUse, Section, Step
from cnncalc.model.layers import Activation, Dropout
from cnncalc.model.shapes import Shape

class GeluApproximation(StrEnum):
    """torch.nn.GELU's `approximate`: the exact erf form, or the tanh approximation."""

    NONE = "none"
    TANH = "tanh"


# The activations: spec word -> (torch class, its options: name -> (converter, default)). Each option is
# passed to the torch class under the same name where its constructor takes it. One line here (plus its
# README row and its row in the test table) is all a new activation takes. Every activation also takes
# `inplace` (see INPLACE): no count changes, but an in-place activation keeps no tensor of its own.
ACTIVATIONS: dict[str, tuple[str, dict[str, tuple[Any, Any]]]] = {
    "relu": ("ReLU", {}),
    "relu6": ("ReLU6", {}),
    "leaky_relu": ("LeakyReLU", {"negative_slope": (o.number(0), 0.01)}),
    "tanh": ("Tanh", {}),
    "sigmoid": ("Sigmoid", {}),
    "softmax": ("Softmax", {}),
    "gelu": ("GELU", {"approximate": (o.choice(GeluApproximation), GeluApproximation.NONE)}),
    "silu": ("SiLU", {}),
    "hardswish": ("Hardswish", {}),
    "hardsigmoid": ("Hardsigmoid", {}),
    "mish": ("Mish", {}),
    "elu": ("ELU", {"alpha": (o.number(0), 1.0)}),
    "selu": ("SELU", {}),
    "softplus": ("Softplus", {"beta": (o.number(0, open_min=True), 1.0), "threshold": (o.number(0), 20.0)}),
    "identity": ("Identity", {}),
}
INPLACE = {"inplace": (o.boolean, False)}
_TORCH_ARGUMENTS = {"softmax": {"dim": 1}}  # over the channels (features), as a classifier's last layer


def _torch_kwargs(cls: Any, options: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """The options the torch class's constructor takes (nn.GELU has no `inplace`, nn.ReLU has)."""
    import inspect

    accepted = inspect.signature(cls).parameters
    return {name: value for name, value in options if name in accepted}


class ActivationKind(Kind):
    names = tuple(ACTIVATIONS)
    aliases = {"swish": ("silu", None)}  # Ramachandran et al.'s name for SiLU (EfficientNet's papers use it)
    options = {word: {**opts, **INPLACE} for word, (_, opts) in ACTIVATIONS.items()}

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

        cls = getattr(nn, ACTIVATIONS[layer.kind][0])
        return cls(**_torch_kwargs(cls, layer.options), **_TORCH_ARGUMENTS.get(layer.kind, {}))


class PReluKind(Kind):
    """nn.PReLU: a learned negative slope, one for all channels or one per channel."""

    names = ("prelu",)
    options = {"prelu": {"num_parameters": (o.positive, 1), "init": (o.number(0), 0.25), **INPLACE}}

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> Activation:
        return Activation(kind=kind, options=tuple(sorted(values.items())), **base)

    def forward(self, layer: Activation, shape: Shape) -> LayerMath:
        n = dict(layer.options)["num_parameters"]
        if n not in (1, shape.channels):
            raise layer_error(
                layer,
                f"prelu has one slope for all channels or one per channel; num_parameters {n} is neither 1 nor "
                f"the {shape.channels} channels of its input",
                hint=f"use num_parameters: 1 or num_parameters: {shape.channels}",
            )
        return LayerMath(shape, params=n, trainable_params=n)

    def field(self, layer: Activation, axis: AxisContext) -> Geometry:
        return Passed()

    def derive(self, use: LayerUse) -> Derivation:
        n = use.params
        where = "one slope for every channel" if n == 1 else f"one slope per channel: {n}"
        return Derivation(
            (
                Section("Output size", "", (Step("shape", "", f"unchanged = {use.output.hwc()} (elementwise)"),)),
                Section("Parameters", "num_parameters: 1 or c", (Step("total", "", f"{n} ({where})"),)),
            ),
            weights=n,
        )

    def torch(self, layer: Activation, shape: Shape, device: str = "meta") -> Any:
        from torch import nn

        return nn.PReLU(**_torch_kwargs(nn.PReLU, layer.options), device=device)


class DropoutKind(Kind):
    names = (LayerKind.DROPOUT,)
    options = {LayerKind.DROPOUT: {"p": (o.number(0, 1), 0.5), **INPLACE}}
    examples = {LayerKind.DROPOUT: "p: 0.5"}

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
