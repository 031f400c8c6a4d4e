"""Layers that work on the channels or the layout without a sliding window: layer_scale, stochastic_depth,
channel_shuffle, chunk, permute, pixel_shuffle / pixel_unshuffle, unflatten."""

from __future__ import annotations

from typing import Any

from cnncalc.enums import LayerKind, StochasticDepthMode
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
    feature_map,
    layer_error,
    unchanged,
    working_output,
)
from cnncalc.kinds.worked import Derivation, LayerUse, Section, Step, num
from cnncalc.model.layers import Channelwise
from cnncalc.model.shapes import Shape, Spatial, Vector, parse_shape


def _build(kind: str, values: dict[str, Any], base: dict[str, Any]) -> Channelwise:
    return Channelwise(kind=LayerKind(kind), **values, **base)


class LayerScaleKind(Kind):
    """ConvNeXt's γ: a learned factor per channel (torchvision's CNBlock.layer_scale, a (C, 1, 1) parameter)."""

    names = (LayerKind.LAYER_SCALE,)
    options = {LayerKind.LAYER_SCALE: {"init": (o.number(0), 1e-6), "trainable": (o.boolean, True)}}

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> Channelwise:
        return _build(kind, values, base)

    def forward(self, layer: Channelwise, shape: Shape) -> LayerMath:
        c = shape.channels
        return LayerMath(shape, params=c, trainable_params=c if layer.trainable else 0)

    def field(self, layer: Channelwise, axis: AxisContext) -> Geometry:
        return Passed()

    def derive(self, use: LayerUse) -> Derivation:
        c = use.input.channels
        return Derivation(
            (
                Section("Output size", "", (Step("shape", "", f"unchanged = {use.output.hwc()} (each channel times its γ)"),)),
                Section("Parameters", "c: one learned factor γ per channel", (Step("total", "", num(c)),)),
            ),
            weights=c,
        )

    def memory(self, layer: Channelwise, use: LayerUse, context: MemoryContext) -> Memory:
        # x · γ keeps x for γ's gradient (only when γ trains); γ itself is a parameter
        return Memory(saves_input=True, when=WEIGHTS, working=working_output(use.output))

    def torch(self, layer: Channelwise, shape: Shape, device: str = "meta") -> Any:
        from cnncalc.kinds import torch_ops

        return torch_ops.freeze(torch_ops.ChannelScale(shape, layer.init, device), layer.trainable)

    def pytorch(self, layer: Channelwise, shape: Shape) -> Source:
        # a bare parameter under the layer's name, as torchvision's CNBlock keeps `layer_scale` (C, 1, …)
        rank = shape.rank if isinstance(shape, Spatial) else 0
        value = Source("torch.full", (Arg("size", (shape.channels, *(1,) * rank)), Arg("fill_value", layer.init)), positional=2)
        return Source("nn.Parameter", (Arg("data", value), Arg("requires_grad", layer.trainable, True)), positional=1, call="{x} * {m}", parameter=True)


class StochasticDepthKind(Kind):
    """torchvision.ops.StochasticDepth: drops the residual branch at random while training, the identity at inference."""

    names = (LayerKind.STOCHASTIC_DEPTH,)
    options = {LayerKind.STOCHASTIC_DEPTH: {"p": (o.number(0, 1), 0.0), "mode": (o.choice(StochasticDepthMode), StochasticDepthMode.ROW)}}

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> Channelwise:
        return _build(kind, {"p": values["p"], "mode": str(values["mode"])}, base)

    def forward(self, layer: Channelwise, shape: Shape) -> LayerMath:
        return LayerMath(shape)

    def field(self, layer: Channelwise, axis: AxisContext) -> Geometry:
        return Passed()

    def derive(self, use: LayerUse) -> Derivation:
        return unchanged(use, "the identity at inference")

    def memory(self, layer: Channelwise, use: LayerUse, context: MemoryContext) -> Memory:
        # training: x · noise, a scaled Bernoulli draw per sample (row) or one for the batch, which it keeps
        if not context.training or layer.p == 0:
            return Memory(output=VIEW)
        noise = Extra(1) if layer.mode == "row" else Extra(0, 1)
        return Memory(saved=(noise,), working=(noise, Extra(use.output.elements)))

    def torch(self, layer: Channelwise, shape: Shape, device: str = "meta") -> Any:
        from cnncalc.kinds import torch_ops

        return torch_ops.StochasticDepth(layer.p, layer.mode)  # torchvision.ops.StochasticDepth's rule

    def pytorch(self, layer: Channelwise, shape: Shape) -> Source:
        return Source("StochasticDepth", (Arg("p", layer.p), Arg("mode", layer.mode)), positional=2, helpers=("StochasticDepth",))


class ChannelShuffleKind(Kind):
    names = (LayerKind.CHANNEL_SHUFFLE,)
    options = {LayerKind.CHANNEL_SHUFFLE: {"groups": (o.positive, o.REQUIRED)}}
    examples = {LayerKind.CHANNEL_SHUFFLE: "groups: 2"}

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> Channelwise:
        return _build(kind, values, base)

    def forward(self, layer: Channelwise, shape: Shape) -> LayerMath:
        x = feature_map(layer, shape)
        if x.channels % layer.groups:
            raise layer_error(
                layer,
                f"channel_shuffle splits the channels into equal groups; {x.channels} channels do not divide into {layer.groups} groups",
                hint="use groups that divide the channels",
            )
        return LayerMath(x)

    def field(self, layer: Channelwise, axis: AxisContext) -> Geometry:
        return Passed()

    def derive(self, use: LayerUse) -> Derivation:
        return unchanged(use, f"the channels reordered across {use.layer.groups} groups")

    def memory(self, layer: Channelwise, use: LayerUse, context: MemoryContext) -> Memory:
        if layer.groups in (1, use.input.channels):
            # nothing moves: torch's math_channel_shuffle (meta and CUDA) reshapes, permutes a dimension of size 1
            # and calls .contiguous() on what is already contiguous, so the output is a view of the input
            return Memory(output=VIEW)
        return Memory(working=working_output(use.output), layout="first")  # a new contiguous tensor; the backward needs only sizes

    def torch(self, layer: Channelwise, shape: Shape, device: str = "meta") -> Any:
        from torch import nn

        return nn.ChannelShuffle(layer.groups)

    def pytorch(self, layer: Channelwise, shape: Shape) -> Source:
        return Source("nn.ChannelShuffle", (Arg("groups", layer.groups),), positional=1)


class ChunkKind(Kind):
    """`x.chunk(chunks, dim=1)[index]`: one slice of the channels (ShuffleNetV2's split). torch's chunks hold
    ⌈C/chunks⌉ channels each, the last one what is left, and there may be fewer than `chunks` of them."""

    names = (LayerKind.CHUNK,)
    options = {LayerKind.CHUNK: {"chunks": (o.positive, o.REQUIRED), "index": (o.non_negative, o.REQUIRED)}}
    examples = {LayerKind.CHUNK: "chunks: 2, index: 0"}

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> Channelwise:
        return _build(kind, values, base)

    def forward(self, layer: Channelwise, shape: Shape) -> LayerMath:
        c = shape.channels
        size = -(-c // layer.chunks)
        count = -(-c // size)
        if layer.index >= count:
            raise layer_error(
                layer,
                f"chunk takes slice {layer.index} of {c} channels cut into chunks of ⌈{c}/{layer.chunks}⌉ = {size}, "
                f"but there are only {count} (numbered from 0)",
                hint=f"use an index from 0 to {count - 1}",
            )
        channels = min(size, c - layer.index * size)
        out = Vector(channels) if isinstance(shape, Vector) else shape.with_sizes(shape.sizes, channels)
        return LayerMath(out)

    def field(self, layer: Channelwise, axis: AxisContext) -> Geometry:
        return Passed()

    def derive(self, use: LayerUse) -> Derivation:
        layer, c = use.layer, use.input.channels
        step = Step("channels", f"slice {layer.index} of ⌈{c}/{layer.chunks}⌉ = {-(-c // layer.chunks)} each", num(use.output.channels))
        return Derivation((Section("Output size", "x.chunk(chunks, dim=1)[index]", (step,)),))

    def memory(self, layer: Channelwise, use: LayerUse, context: MemoryContext) -> Memory:
        # a view of its input's storage; a slice of the channels unless it takes them all
        return Memory(output=VIEW, sliced=use.output.channels != use.input.channels)

    def torch(self, layer: Channelwise, shape: Shape, device: str = "meta") -> Any:
        from cnncalc.kinds import torch_ops

        return torch_ops.Chunk(layer.chunks, layer.index)

    def pytorch(self, layer: Channelwise, shape: Shape) -> Source:
        return Source(None, call=f"{{x}}.chunk({layer.chunks}, dim=1)[{layer.index}]")


class PermuteKind(Kind):
    """torchvision's Permute (ConvNeXt: [0, 2, 3, 1] before its LayerNorm and Linear, [0, 3, 1, 2] after).
    cnncalc's shapes name their axes, so a permute changes no size and no count: it keeps torch's rows and paths."""

    names = (LayerKind.PERMUTE,)
    options = {LayerKind.PERMUTE: {"order": (o.non_negative_list, o.REQUIRED)}}
    examples = {LayerKind.PERMUTE: "order: [0, 2, 3, 1]"}

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> Channelwise:
        return _build(kind, {"order": tuple(values["order"])}, base)

    def forward(self, layer: Channelwise, shape: Shape) -> LayerMath:
        dims = 2 + (shape.rank if isinstance(shape, Spatial) else 0)
        if sorted(layer.order) != list(range(dims)):
            raise layer_error(
                layer,
                f"permute's order lists every dimension of the batched tensor once; its input {shape.hwc()} has {dims} "
                f"(batch, channels and {dims - 2} spatial), got {list(layer.order)}",
                hint=f"e.g. order: {[0, *range(2, dims), 1]} (channels last)",
            )
        return LayerMath(shape)

    def field(self, layer: Channelwise, axis: AxisContext) -> Geometry:
        return Passed()

    def derive(self, use: LayerUse) -> Derivation:
        return unchanged(use, f"the axes reordered to {list(use.layer.order)}")

    def memory(self, layer: Channelwise, use: LayerUse, context: MemoryContext) -> Memory:
        return Memory(output=VIEW)  # a view of its input's storage

    def torch(self, layer: Channelwise, shape: Shape, device: str = "meta") -> Any:
        from torch import nn

        return nn.Identity()  # the reference builder keeps torch's channels-first layout throughout

    def pytorch(self, layer: Channelwise, shape: Shape) -> Source:
        # The exported code keeps maps channels-first throughout (LayerNorm2d and PositionLinear move the
        # channels themselves), so the permute is the identity; a module of its own keeps its path and order.
        return Source("Permute", (Arg("order", list(layer.order)),), positional=1, helpers=("Permute",))


class PixelShuffleKind(Kind):
    """nn.PixelShuffle (C·r² × H × W → C × H·r × W·r) and nn.PixelUnshuffle (the inverse)."""

    names = (LayerKind.PIXEL_SHUFFLE, LayerKind.PIXEL_UNSHUFFLE)
    options = {kind: {"factor": (o.positive, o.REQUIRED)} for kind in names}
    examples = {kind: "factor: 2" for kind in names}

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> Channelwise:
        return _build(kind, values, base)

    def forward(self, layer: Channelwise, shape: Shape) -> LayerMath:
        x = feature_map(layer, shape)
        r = layer.factor
        if x.rank != 2:
            raise layer_error(layer, f"{layer.kind} works on images (height x width x channels); its input {x.hwc()} is {x.rank}-D",
                              hint="use it on a 2-D feature map")
        if layer.kind == LayerKind.PIXEL_SHUFFLE:
            if x.channels % (r * r):
                raise layer_error(layer, f"pixel_shuffle needs channels divisible by factor² = {r * r}; got {x.channels}",
                                  hint=f"give the layer before it a multiple of {r * r} filters")
            return LayerMath(Spatial(*(n * r for n in x.sizes), x.channels // (r * r)))
        if any(n % r for n in x.sizes):
            raise layer_error(layer, f"pixel_unshuffle needs height and width divisible by the factor {r}; got {x.hwc()}",
                              hint="use a factor that divides the height and the width")
        return LayerMath(Spatial(*(n // r for n in x.sizes), x.channels * r * r))

    def field(self, layer: Channelwise, axis: AxisContext) -> Geometry:
        r = layer.factor
        if layer.kind == LayerKind.PIXEL_UNSHUFFLE:
            return Through(Window(r, r, 1, 0), rule=f"pixel_unshuffle gathers each {r}×{r} patch into channels: a window of kernel {r}, stride {r}")
        from cnncalc.kinds.base import Irregular

        return Irregular(f"pixel_shuffle spreads each unit over {r}×{r} output units: an effective stride of S/{r}", f"pixel_shuffle by {r}", (0, 0))

    def derive(self, use: LayerUse) -> Derivation:
        layer, x, out = use.layer, use.input, use.output
        r = layer.factor
        up = layer.kind == LayerKind.PIXEL_SHUFFLE
        steps = tuple(
            Step(axis, f"{n}·{r}" if up else f"{n}/{r}", num(m)) for axis, n, m in zip(x.axes, x.sizes, out.sizes)
        ) + (Step("channels", f"{x.channels}/{r}²" if up else f"{x.channels}·{r}²", num(out.channels)),)
        return Derivation((Section("Output size", "", steps),))

    def memory(self, layer: Any, use: LayerUse, context: MemoryContext) -> Memory:
        # a new tensor (the backward needs only sizes): pixel_shuffle's is contiguous, pixel_unshuffle's keeps a
        # channels-last input's layout (torch's meta kernels)
        layout = "first" if layer.kind == LayerKind.PIXEL_SHUFFLE else "keep"
        return Memory(working=working_output(use.output), layout=layout)

    def torch(self, layer: Channelwise, shape: Shape, device: str = "meta") -> Any:
        from torch import nn

        return (nn.PixelShuffle if layer.kind == LayerKind.PIXEL_SHUFFLE else nn.PixelUnshuffle)(layer.factor)

    def pytorch(self, layer: Channelwise, shape: Shape) -> Source:
        cls = "nn.PixelShuffle" if layer.kind == LayerKind.PIXEL_SHUFFLE else "nn.PixelUnshuffle"
        name = "upscale_factor" if layer.kind == LayerKind.PIXEL_SHUFFLE else "downscale_factor"
        return Source(cls, (Arg(name, layer.factor),), positional=1)


@o.with_schema(
    {
        "anyOf": [
            {"type": "string", "pattern": r"^\s*[0-9]+(\s*[x×X* ]\s*[0-9]+){1,4}\s*$"},
            {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 2, "maxItems": 5},
        ]
    }
)
def _map_shape(value: Any, rank: int) -> Spatial:
    """`7x7x64` or [7, 7, 64]: the map a vector is unflattened into (channels last, as every shape here)."""
    text = "x".join(str(v) for v in value) if isinstance(value, list) else str(value)
    try:
        shape = parse_shape(text)
    except Exception as exc:
        raise o.Bad("a map shape such as 7x7x64 (sizes, then channels)") from exc
    if not isinstance(shape, Spatial):
        raise o.Bad("a map shape such as 7x7x64 (sizes, then channels)", "a single number is a vector already")
    return shape


class UnflattenKind(Kind):
    """nn.Unflatten(1, (C, H, W)): a vector back to a map, as an autoencoder's decoder starts."""

    names = (LayerKind.UNFLATTEN,)
    options = {LayerKind.UNFLATTEN: {"shape": (_map_shape, o.REQUIRED)}}
    examples = {LayerKind.UNFLATTEN: "shape: 7x7x64"}

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> Channelwise:
        return _build(kind, values, base)

    def forward(self, layer: Channelwise, shape: Shape) -> LayerMath:
        target = layer.shape
        if not isinstance(shape, Vector) or shape.features != target.elements:
            have = f"{shape.features} features" if isinstance(shape, Vector) else f"a {shape.hwc()} map"
            raise layer_error(
                layer,
                f"unflatten turns a vector into a {target.hwc()} map of {target.elements:,} values; its input is {have}",
                hint=f"give the layer before it {target.elements:,} units, or change `shape`",
            )
        return LayerMath(target)

    def field(self, layer: Channelwise, axis: AxisContext) -> Geometry:
        return Passed()

    def derive(self, use: LayerUse) -> Derivation:
        out = use.output
        step = Step("shape", "·".join(map(str, (*out.sizes, out.channels))), f"{num(out.elements)} = {use.input.elements:,} features → {out.hwc()}")
        return Derivation((Section("Output size", "", (step,)),))

    def memory(self, layer: Channelwise, use: LayerUse, context: MemoryContext) -> Memory:
        return Memory(output=VIEW)  # a view of its input's storage

    def torch(self, layer: Channelwise, shape: Shape, device: str = "meta") -> Any:
        from torch import nn

        return nn.Unflatten(1, layer.shape.torch_size())

    def pytorch(self, layer: Channelwise, shape: Shape) -> Source:
        return Source("nn.Unflatten", (Arg("dim", 1), Arg("unflattened_size", tuple(layer.shape.torch_size()))), positional=2)
