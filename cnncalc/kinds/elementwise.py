"""Layers that act on each value alone and keep the shape: activations and dropout."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from cnncalc.enums import LayerKind
from cnncalc.kinds import options as o
from cnncalc.kinds.base import (
    IN_PLACE,
    NEW,
    VIEW,
    Arg,
    AxisContext,
    Extra,
    Geometry,
    Kind,
    LayerMath,
    Memory,
    MemoryContext,
    Passed,
    Source,
    layer_error,
    unchanged,
    working_output,
)
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
# `inplace` (see INPLACE): no count changes, but memory does (SAVES below says how).
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
# What each activation's backward keeps in torch 2.13 (its input or its output), and what it keeps when run
# in place: its result (the input's own storage, rewritten) or a copy of its input made before it is
# overwritten (autograd keeps the original for a backward formula written on the input); None where the
# torch class takes no `inplace`. tests/test_memory.py measures every line against torch.
SAVES: dict[str, tuple[str | None, str | None]] = {
    "relu": ("output", "result"),
    "relu6": ("input", "copy"),
    "leaky_relu": ("input", "result"),
    "tanh": ("output", None),
    "sigmoid": ("output", None),
    "softmax": ("output", None),
    "gelu": ("input", None),
    "silu": ("input", "copy"),
    "hardswish": ("input", "copy"),
    "hardsigmoid": ("input", "copy"),
    "mish": ("input", "copy"),
    "elu": ("input", "result"),
    "selu": ("input", "result"),
    "softplus": ("input", None),
    "identity": (None, None),
}
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

    def memory(self, layer: Activation, use: LayerUse, context: MemoryContext) -> Memory:
        keeps, in_place = SAVES[layer.kind]
        if keeps is None:
            return Memory(output=VIEW)  # nn.Identity returns its input
        if dict(layer.options).get("inplace") and in_place is not None:
            if in_place == "result":
                return Memory(output=IN_PLACE, saves_output=True)
            return Memory(output=IN_PLACE, saved=(Extra(use.input.elements),))  # only under autograd
        # softmax over the channels makes a contiguous tensor; the elementwise ones keep the input's layout
        layout = "first" if layer.kind == "softmax" else "keep"
        return Memory(saves_input=keeps == "input", saves_output=keeps == "output", working=working_output(use.output), layout=layout)

    def torch(self, layer: Activation, shape: Shape, device: str = "meta") -> Any:
        from torch import nn

        cls = getattr(nn, ACTIVATIONS[layer.kind][0])
        return cls(**_torch_kwargs(cls, layer.options), **_TORCH_ARGUMENTS.get(layer.kind, {}))

    def pytorch(self, layer: Activation, shape: Shape) -> Source:
        cls, opts = ACTIVATIONS[layer.kind]
        values = dict(layer.options)
        args = [Arg(name, values[name], default) for name, (_, default) in opts.items()]
        args += [Arg(name, value) for name, value in _TORCH_ARGUMENTS.get(layer.kind, {}).items()]
        if SAVES[layer.kind][1] is not None:  # the torch class takes `inplace`
            args.append(Arg("inplace", values.get("inplace", False), False))
        return Source(f"nn.{cls}", tuple(args))


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

    def weight_shape(self, layer: Activation, shape: Shape) -> tuple[int, ...]:
        return (dict(layer.options)["num_parameters"],)  # nn.PReLU.weight: the slopes

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

    def memory(self, layer: Activation, use: LayerUse, context: MemoryContext) -> Memory:
        return Memory(saves_input=True, working=working_output(use.output))  # nn.PReLU takes no `inplace`

    def torch(self, layer: Activation, shape: Shape, device: str = "meta") -> Any:
        from torch import nn

        return nn.PReLU(**_torch_kwargs(nn.PReLU, layer.options), device=device)

    def pytorch(self, layer: Activation, shape: Shape) -> Source:
        values = dict(layer.options)
        return Source("nn.PReLU", (Arg("num_parameters", values["num_parameters"], 1), Arg("init", values["init"], 0.25)))


class DropoutKind(Kind):
    names = (LayerKind.DROPOUT,)
    options = {LayerKind.DROPOUT: {"p": (o.number(0, 1), 0.5), **INPLACE}}
    examples = {LayerKind.DROPOUT: "p: 0.5"}

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> Dropout:
        return Dropout(p=values["p"], inplace=values["inplace"], **base)

    def forward(self, layer: Dropout, shape: Shape) -> LayerMath:
        return LayerMath(shape)

    def field(self, layer: Dropout, axis: AxisContext) -> Geometry:
        return Passed()

    def derive(self, use: LayerUse) -> Derivation:
        return unchanged(use, "shape-preserving")

    def memory(self, layer: Dropout, use: LayerUse, context: MemoryContext) -> Memory:
        # At inference dropout returns its input. Training: torch's CPU dropout multiplies by a scaled random
        # mask of the input's size and dtype and keeps the mask (CUDA's fused kernel keeps a 1-byte mask);
        # p = 0 returns the input, p = 1 multiplies by a zero scalar, which it keeps.
        if not context.training or layer.p == 0:
            return Memory(output=VIEW)
        mask = Extra(0, 1) if layer.p == 1 else Extra(use.input.elements)
        output = IN_PLACE if layer.inplace else NEW
        return Memory(output=output, saved=(mask,), working=(mask, *(() if layer.inplace else (Extra(use.output.elements),))))

    def torch(self, layer: Dropout, shape: Shape, device: str = "meta") -> Any:
        from torch import nn

        return nn.Dropout(layer.p, inplace=layer.inplace)

    def pytorch(self, layer: Dropout, shape: Shape) -> Source:
        return Source("nn.Dropout", (Arg("p", layer.p, 0.5), Arg("inplace", layer.inplace, False)))
