"""fc (nn.Linear) and flatten (nn.Flatten): the layers that turn feature maps into vectors."""

from __future__ import annotations

from typing import Any

from cnncalc.kinds import formulas
from cnncalc.enums import LayerKind
from cnncalc.kinds import options as o
from cnncalc.kinds.base import (
    VIEW,
    WEIGHTS,
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
    Through,
    Window,
    layer_error,
    working_output,
)
from cnncalc.kinds.worked import Derivation, LayerUse, Section, Step, flatten_factors, num, product
from cnncalc.model.layers import Fc, Flatten
from cnncalc.model.shapes import Shape, Spatial, Vector


class FcKind(Kind):
    names = (LayerKind.FC,)
    options = {
        LayerKind.FC: {
            "units": (o.positive, o.REQUIRED),
            "bias": (o.boolean, True),
            "trainable": (o.boolean, True),
            "per_position": (o.boolean, False),
        }
    }
    examples = {LayerKind.FC: "units: 10"}

    def flattens_maps(self, layer: Fc) -> bool:
        return not layer.per_position

    def whole_map(self, layer: Fc) -> bool:
        return not layer.per_position  # every output reads every unit of the map: the receptive walk's grid ends here

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> Fc:
        return Fc(**base, **values)

    weight_layer = True

    def weight_shape(self, layer: Fc, shape: Shape) -> tuple[int, ...]:
        return (layer.units, shape.channels)  # nn.Linear.weight: out × in (a vector's channels are its features)

    def forward(self, layer: Fc, shape: Shape) -> LayerMath:
        if layer.per_position and isinstance(shape, Spatial):
            # nn.Linear on a channels-last map: the same weights at every position (ConvNeXt's MLP)
            params = formulas.fc_params(shape.channels, layer.units, layer.bias)
            return LayerMath(
                shape.with_sizes(shape.sizes, layer.units),
                params=params,
                trainable_params=params if layer.trainable else 0,
                macs=shape.positions * formulas.fc_macs(shape.channels, layer.units),
            )
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
        if layer.per_position:
            return Passed(rule="fully connected at each position on its channels: the field passes on")
        n = axis.n_in
        if n == 1:
            return Passed(rule="fully connected on features that each see the whole field already: unchanged")
        rule = f"fully connected: every output sees all {n} units of the last feature map, a window of kernel = stride = {n}"
        return Through(Window(n, n, 1, 0), rule=rule)

    def memory(self, layer: Fc, use: LayerUse, context: MemoryContext) -> Memory:
        # nn.Linear keeps its input only to compute its weights' gradient. It reads a map's channels (or a
        # flattened map) as rows of a matrix: a map not laid out that way in memory is copied first (a
        # reshape), and the copy is what it keeps.
        x = use.input
        # (a map of one position or one channel reads the same either way). A slice of the channels of a
        # channels-first map flattens in place (only the batch stride differs) and keeps its whole storage,
        # but per position its samples' positions cannot merge into rows: copied, even with one channel.
        # A slice of a channels-last map reads per position in place.
        copied = isinstance(x, Spatial) and x.positions > 1 and (
            (x.channels > 1 and context.channels_last != layer.per_position)
            or (layer.per_position and not context.contiguous and not context.channels_last)
        )
        out = Extra(use.output.elements)
        layout = "last" if layer.per_position and isinstance(x, Spatial) else "first"
        # torch's matmul folds the positions into rows (the reshape that copies) only for a weight that needs a
        # gradient, even under no_grad; a frozen one is multiplied batch by batch, which views the batch axes
        # (the sample, and every spatial axis but the last) as one without a copy when they merge: always for a
        # 1-D map, for one sample otherwise. Then the bias is added as a second output.
        if copied and layer.per_position and not layer.trainable and (x.rank == 1 or context.batch == 1):  # type: ignore[union-attr]
            return Memory(working=(out, out) if layer.bias else (out,), layout=layout)
        if copied:
            copy = Extra(x.elements)
            # on a copied map torch multiplies (mm) and then adds the bias (a second output); on rows it
            # reads in place the two are one addmm
            most = (copy, out) if not layer.bias or not layer.per_position or x.elements >= out.elements else (out, out)
            return Memory(saved=(copy,), when=WEIGHTS, working=most, layout=layout)
        return Memory(saves_input=True, when=WEIGHTS, working=(out,), layout=layout)

    def torch(self, layer: Fc, shape: Shape, device: str = "meta") -> Any:
        from cnncalc.kinds import torch_ops

        return torch_ops.fc(layer, shape, device)

    def pytorch(self, layer: Fc, shape: Shape) -> Source:
        frozen = not layer.trainable
        if layer.per_position and isinstance(shape, Spatial):
            args = (Arg("in_features", shape.channels), Arg("out_features", layer.units), Arg("bias", layer.bias, True))
            return Source("PositionLinear", args, positional=2, helpers=("PositionLinear",), frozen=frozen)
        args = (Arg("in_features", shape.elements), Arg("out_features", layer.units), Arg("bias", layer.bias, True))
        # cnncalc reads a map of one position (after global pooling) as its channels: flattened first
        call = "{m}({x}.flatten(1))" if isinstance(shape, Spatial) else "{m}({x})"
        return Source("nn.Linear", args, positional=2, call=call, frozen=frozen)

    def headline(self, layer: Fc) -> list[str]:
        return [str(layer.kind), f"{layer.units} units", *(["per position"] if layer.per_position else [])]

    def derive(self, use: LayerUse) -> Derivation:
        layer, x = use.layer, use.input
        if layer.per_position and isinstance(x, Spatial):
            c, units, positions = x.channels, layer.units, x.positions
            weights = formulas.fc_params(c, units, bias=False)
            return Derivation(
                (
                    Section("Output size", "the channels of every position go through the same nn.Linear",
                            (Step("channels", "", f"units = {num(units)}"), Step("output", "", use.output.hwc()))),
                    Section("Parameters", "(c + 1)·units, shared by every position",
                            (Step("total", f"({num(c)} + 1)·{num(units)}" if layer.bias else product(num(c), num(units)), num(use.params)),)),
                    Section("Multiply-accumulates", "positions·c·units",
                            (Step("MACs", product(num(positions), num(c), num(units)), num(use.macs)),)),
                ),
                weights,
                use.params - weights,
            )
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

    def memory(self, layer: Flatten, use: LayerUse, context: MemoryContext) -> Memory:
        # a view of a map laid out channels-first, a slice of its channels included (each sample's values still
        # lie together: only the batch stride differs); a channels-last map with more than one position is copied
        x = use.input
        if isinstance(x, Spatial) and context.channels_last and x.positions > 1 and x.channels > 1:
            return Memory(working=working_output(use.output), layout="first")
        return Memory(output=VIEW, layout="first")

    def torch(self, layer: Flatten, shape: Shape, device: str = "meta") -> Any:
        from torch import nn

        return nn.Flatten()

    def pytorch(self, layer: Flatten, shape: Shape) -> Source:
        return Source("nn.Flatten")
