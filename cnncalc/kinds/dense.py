"""fc (nn.Linear) and flatten (nn.Flatten): the layers that turn feature maps into vectors."""

from __future__ import annotations

from typing import Any

from cnncalc.kinds import formulas
from cnncalc.enums import LayerKind
from cnncalc.kinds import options as o
from cnncalc.kinds.base import AxisContext, Geometry, Kind, LayerMath, Passed, Through, Window, layer_error
from cnncalc.kinds.worked import Derivation, LayerUse, Section, Step, flatten_factors, num, product
from cnncalc.model.layers import Fc, Flatten
from cnncalc.model.shapes import Shape, Spatial, Vector


class FcKind(Kind):
    names = (LayerKind.FC,)
    options = {LayerKind.FC: {"units": (o.positive, o.REQUIRED), "bias": (o.boolean, True), "trainable": (o.boolean, True)}}
    examples = {LayerKind.FC: "units: 10"}
    torch_names = {LayerKind.FC: "nn.Linear"}
    sees_whole_map = True  # every output reads every unit of the map before it: the receptive walk's grid ends here
    flattens_maps = True

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> Fc:
        return Fc(**base, **values)

    def forward(self, layer: Fc, shape: Shape) -> LayerMath:
        if isinstance(shape, Spatial) and shape.positions == 1:
            # After global pooling a 1x1xC map can only mean C features: taken as flattened
            # (torch needs the nn.Flatten written out; the count is the same).
            shape = Vector(shape.channels)
        if isinstance(shape, Spatial):
            last = shape.axes[-1]
            raise layer_error(
                layer,
                f"fc needs a vector, but its input is a {shape.hwc()} feature map "
                f"(torch's Linear would act on the {last} axis alone)",
                hint=f"add `- flatten` before this layer to make {shape.elements} features",
            )
        params = formulas.fc_params(shape.features, layer.units, layer.bias)
        return LayerMath(
            Vector(layer.units),
            params=params,
            trainable_params=params if layer.trainable else 0,
            macs=formulas.fc_macs(shape.features, layer.units),
        )

    def field(self, layer: Fc, axis: AxisContext) -> Geometry:
        n = axis.n_in
        if n == 1:
            return Passed(rule="fully connected on features that each see the whole field already: unchanged")
        rule = f"fully connected: every output sees all {n} units of the last feature map, a window of kernel = stride = {n}"
        return Through(Window(n, n, 1, 0), rule=rule)

    def torch(self, layer: Fc, shape: Shape, device: str = "meta") -> Any:
        from cnncalc.kinds import torch_ops

        return torch_ops.fc(layer, shape, device)

    def headline(self, layer: Fc) -> list[str]:
        return [str(layer.kind), f"{layer.units} units"]

    def derive(self, use: LayerUse) -> Derivation:
        layer, x = use.layer, use.input
        # after global pooling the 1x1xC map is read as C features (see forward)
        n_in, units = (x.features if isinstance(x, Vector) else x.elements), layer.units
        weights = formulas.fc_params(n_in, units, bias=False)
        biases = use.params - weights
        total = f"({num(n_in)} + 1)·{num(units)}" if layer.bias else product(num(n_in), num(units))
        sections = (
            Section("Output size", "n_out = units", (Step("features", "", num(units)),)),
            Section(
                "Parameters",
                "(n_in + 1)·n_out",
                (
                    Step("weights", product(num(n_in), num(units)), num(weights)),
                    Step("biases", "", num(biases) if layer.bias else "0 (bias: false)"),
                    Step("total", total, num(use.params)),
                ),
            ),
            Section("Multiply-accumulates", "n_in·n_out (biases not counted)", (Step("MACs", product(num(n_in), num(units)), num(use.macs)),)),
        )
        return Derivation(sections, weights, biases)


class FlattenKind(Kind):
    names = (LayerKind.FLATTEN,)
    options = {LayerKind.FLATTEN: {}}
    torch_names = {LayerKind.FLATTEN: "nn.Flatten"}

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> Flatten:
        return Flatten(**base)

    def forward(self, layer: Flatten, shape: Shape) -> LayerMath:
        return LayerMath(Vector(shape.elements))

    def field(self, layer: Flatten, axis: AxisContext) -> Geometry:
        return Passed(rule="each feature is one unit of the feature map, with that unit's field")

    def derive(self, use: LayerUse) -> Derivation:
        factors = flatten_factors(use.input)
        step = Step("features", product(*factors) if len(factors) > 1 else "", num(use.output.elements))
        return Derivation((Section("Output size", "", (step,)),))

    def torch(self, layer: Flatten, shape: Shape, device: str = "meta") -> Any:
        from torch import nn

        return nn.Flatten()
