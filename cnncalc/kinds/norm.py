"""Normalisation: batchnorm (nn.BatchNorm1d/2d/3d) and lrn (nn.LocalResponseNorm)."""

from __future__ import annotations

from typing import Any

from cnncalc.kinds import formulas
from cnncalc.enums import LayerKind
from cnncalc.kinds import options as o
from cnncalc.kinds.base import (
    RANK_WORDS,
    STATISTIC,
    VALUE,
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
    feature_map,
    layer_error,
    unchanged,
    working_output,
)
from cnncalc.kinds.worked import Derivation, LayerUse, Section, Step, num
from cnncalc.model.layers import BatchNorm, Lrn, Normalization
from cnncalc.model.shapes import Shape, Spatial


class BatchNormKind(Kind):
    names = (LayerKind.BATCHNORM,)
    aliases = {f"batchnorm{d}d": (LayerKind.BATCHNORM, d) for d in (1, 2, 3)}
    options = {
        LayerKind.BATCHNORM: {
            "affine": (o.boolean, True),
            "track_running_stats": (o.boolean, True),
            "trainable": (o.boolean, True),
            "eps": (o.number(0, open_min=True), 1e-5),
            "momentum": (o.number(0, 1), 0.1),
        }
    }

    def weight_shape(self, layer: BatchNorm, shape: Shape) -> tuple[int, ...] | None:
        return (shape.channels,) if layer.affine else None  # γ, one per channel

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> BatchNorm:
        return BatchNorm(
            affine=values["affine"], track_running_stats=values["track_running_stats"], trainable=values["trainable"], **base
        )

    def forward(self, layer: BatchNorm, shape: Shape) -> LayerMath:
        # torch's BatchNorm1d takes (N, C) and (N, C, L); BatchNorm2d (N, C, H, W); BatchNorm3d (N, C, D, H, W).
        rank = shape.rank if isinstance(shape, Spatial) else 1
        if layer.rank is not None and layer.rank != rank:
            what = RANK_WORDS[shape.rank] if isinstance(shape, Spatial) else "a vector"
            raise layer_error(
                layer,
                f"{layer.alias} needs a {RANK_WORDS[layer.rank]} input{' or a vector' if layer.rank == 1 else ''}, "
                f"but its input {shape.hwc()} is {what.split(' (')[0]}",
                hint="write `batchnorm`, which follows the rank of its input",
            )
        params = formulas.batchnorm_params(shape.channels, layer.affine)
        return LayerMath(
            shape,
            params=params,
            trainable_params=params if layer.trainable else 0,
            running_stats=formulas.batchnorm_running_stats(shape.channels, layer.track_running_stats),
        )

    def derive(self, use: LayerUse) -> Derivation:
        layer, c = use.layer, use.input.channels
        weights = c if layer.affine else 0
        biases = use.params - weights
        stats = formulas.batchnorm_running_stats(c, layer.track_running_stats)
        size = Section("Output size", "", (Step("shape", "", f"unchanged = {use.output.hwc()}"),))
        params = Section(
            "Parameters",
            "2·c: a scale γ (weight) and a shift β (bias) per channel",
            (
                Step("weights γ", "", num(weights)),
                Step("biases β", "", num(biases)),
                Step("total", f"2·{c}" if layer.affine else "", num(use.params)),
                Step("running statistics", f"2·{c}" if stats else "", f"{num(stats)} (mean and variance: buffers, not trained)"),
            ),
        )
        return Derivation((size, params), weights, biases)

    def field(self, layer: BatchNorm, axis: AxisContext) -> Geometry:
        return Passed()  # per channel and position: the field passes on

    def memory(self, layer: BatchNorm, use: LayerUse, context: MemoryContext) -> Memory:
        # native_batch_norm keeps its input and the batch's mean and inverse deviation per channel (not per
        # sample; in float32 for 16-bit activations, as the CUDA and meta kernels make them), and makes them at
        # inference too. The running statistics are the module's buffers, not activations.
        stats = Extra(0, 2 * use.input.channels, STATISTIC)
        return Memory(saves_input=True, saved=(stats,), working=working_output(use.output, stats))

    def torch(self, layer: BatchNorm, shape: Shape, device: str = "meta") -> Any:
        from cnncalc.kinds import torch_ops

        return torch_ops.batchnorm(layer, shape, device)

    def pytorch(self, layer: BatchNorm, shape: Shape) -> Source:
        rank = shape.rank if isinstance(shape, Spatial) else 1
        args = (Arg("num_features", shape.channels), Arg("affine", layer.affine, True), Arg("track_running_stats", layer.track_running_stats, True))
        return Source(f"nn.BatchNorm{rank}d", args, positional=1, frozen=not layer.trainable)


class LrnKind(Kind):
    names = (LayerKind.LRN,)
    options = {
        LayerKind.LRN: {
            "size": (o.positive, 5),
            "alpha": (o.number(0), 1e-4),
            "beta": (o.number(0), 0.75),
            "k": (o.number(0), 1.0),
        }
    }

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> Lrn:
        return Lrn(size=values["size"], **base)

    def forward(self, layer: Lrn, shape: Shape) -> LayerMath:
        feature_map(layer, shape)
        return LayerMath(shape)

    def field(self, layer: Lrn, axis: AxisContext) -> Geometry:
        return Passed()  # across channels at one position: the field passes on

    def derive(self, use: LayerUse) -> Derivation:
        return unchanged(use, "shape-preserving")

    def memory(self, layer: Lrn, use: LayerUse, context: MemoryContext) -> Memory:
        # torch.nn.functional.local_response_norm is composite: x², padded along the channels and averaged
        # (avg_pool3d keeps the padded squares), ·alpha + k, ^beta (pow keeps its base and its result), x / that.
        x = use.input.elements
        squares = x // use.input.channels * (use.input.channels + layer.size - 1)
        most = (Extra(x), Extra(squares)) if squares >= 2 * x else (Extra(x), Extra(x), Extra(x))
        return Memory(saves_input=True, saved=(Extra(squares), Extra(x), Extra(x)), working=most)

    def torch(self, layer: Lrn, shape: Shape, device: str = "meta") -> Any:
        from torch import nn

        return nn.LocalResponseNorm(layer.size)

    def pytorch(self, layer: Lrn, shape: Shape) -> Source:
        return Source("nn.LocalResponseNorm", (Arg("size", layer.size),), positional=1)


class NormalizationKind(Kind):
    """layernorm (nn.LayerNorm over the channels of each position: ConvNeXt's LayerNorm2d, or a channels-last
    nn.LayerNorm), groupnorm (nn.GroupNorm) and instancenorm (nn.InstanceNorm1d/2d/3d)."""

    names = (LayerKind.LAYERNORM, LayerKind.GROUPNORM, LayerKind.INSTANCENORM)
    aliases = {f"instancenorm{d}d": (LayerKind.INSTANCENORM, d) for d in (1, 2, 3)}
    options = {
        LayerKind.LAYERNORM: {
            "eps": (o.number(0, open_min=True), 1e-5),
            "elementwise_affine": (o.boolean, True),
            "bias": (o.boolean, True),
            "trainable": (o.boolean, True),
        },
        LayerKind.GROUPNORM: {
            "groups": (o.positive, o.REQUIRED),
            "eps": (o.number(0, open_min=True), 1e-5),
            "affine": (o.boolean, True),
            "trainable": (o.boolean, True),
        },
        LayerKind.INSTANCENORM: {
            "eps": (o.number(0, open_min=True), 1e-5),
            "momentum": (o.number(0, 1), 0.1),
            "affine": (o.boolean, False),
            "track_running_stats": (o.boolean, False),
            "trainable": (o.boolean, True),
        },
    }
    examples = {LayerKind.GROUPNORM: "groups: 32"}

    def weight_shape(self, layer: Normalization, shape: Shape) -> tuple[int, ...] | None:
        return (shape.channels,) if layer.affine else None  # γ, one per channel

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> Normalization:
        if kind == LayerKind.LAYERNORM:
            fields = {"affine": values["elementwise_affine"], "bias": values["bias"]}
        elif kind == LayerKind.GROUPNORM:
            fields = {"groups": values["groups"], "affine": values["affine"]}
        else:
            fields = {"affine": values["affine"], "track_running_stats": values["track_running_stats"]}
        return Normalization(kind=LayerKind(kind), trainable=values["trainable"], **fields, **base)

    def forward(self, layer: Normalization, shape: Shape) -> LayerMath:
        c = shape.channels
        if layer.kind == LayerKind.INSTANCENORM:
            x = feature_map(layer, shape)  # per channel of each sample: a map, never a vector
            c = x.channels
            if x.positions == 1 and not layer.track_running_stats:
                raise layer_error(
                    layer,
                    f"instancenorm normalises each channel over its positions, but its input {x.hwc()} has one position: "
                    "torch refuses (\"Expected more than 1 spatial element\")",
                    hint="normalise before the map shrinks to one position, or use batchnorm or layernorm there",
                )
        if layer.kind == LayerKind.GROUPNORM and c % layer.groups:
            raise layer_error(
                layer,
                f"groupnorm splits the channels into equal groups; {c} channels do not divide into {layer.groups} groups",
                hint="use groups that divide the channels (32 is usual for 64, 128, 256, … channels)",
            )
        per_channel = (2 if layer.bias else 1) if layer.affine else 0
        params = per_channel * c
        stats = 2 * c if layer.track_running_stats else 0
        return LayerMath(shape, params=params, trainable_params=params if layer.trainable else 0, running_stats=stats)

    def field(self, layer: Normalization, axis: AxisContext) -> Geometry:
        return Passed()  # statistics over channels or a whole map change no unit's field of view

    def derive(self, use: LayerUse) -> Derivation:
        layer, c = use.layer, use.input.channels
        over = {
            LayerKind.LAYERNORM: "the channels of each position",
            LayerKind.GROUPNORM: f"each of {layer.groups} groups of {c // max(layer.groups, 1)} channels",
            LayerKind.INSTANCENORM: "each channel of each sample",
        }[layer.kind]
        weights = c if layer.affine else 0
        size = Section("Output size", f"normalised over {over}", (Step("shape", "", f"unchanged = {use.output.hwc()}"),))
        rule = ("2·c: a scale γ and a shift β per channel" if layer.bias else "c: a scale γ per channel") if layer.affine else "no affine: 0"
        params = Section("Parameters", rule, (Step("total", "", num(use.params)),))
        return Derivation((size, params), weights, use.params - weights)

    def memory(self, layer: Normalization, use: LayerUse, context: MemoryContext) -> Memory:
        # each keeps its input and a mean and inverse deviation per normalised group, per sample: per position
        # (layernorm, over the channels), per group (groupnorm) or per channel (instancenorm)
        x = use.input
        per = {
            LayerKind.LAYERNORM: x.positions if isinstance(x, Spatial) else 1,
            LayerKind.GROUPNORM: layer.groups or 1,
            LayerKind.INSTANCENORM: x.channels,
        }[layer.kind]
        # float32 for 16-bit activations (layer norm, and instance norm through batch norm), as the CUDA and meta
        # kernels make them; group norm's in the activations' dtype
        stats = Extra(2 * per, 0, VALUE if layer.kind == LayerKind.GROUPNORM else STATISTIC)
        at_inference = (stats,)  # made at inference too (instance norm's even with running statistics)
        # layer norm on a map works channels-last (permuted to the channels and back); group and instance norm
        # give a contiguous, channels-first output whatever the input's layout
        layout = ("last" if layer.kind == LayerKind.LAYERNORM else "first") if isinstance(x, Spatial) else "keep"
        channels_first = context.contiguous and not (context.channels_last and isinstance(x, Spatial) and x.positions > 1 and x.channels > 1)
        kept: tuple[Extra, ...] = ()
        made: tuple[Extra, ...] = ()
        if layer.kind == LayerKind.INSTANCENORM:
            # F.instance_norm repeats γ and β, and the running mean and variance, once per sample (new tensors,
            # not parameters or buffers), whatever the input's layout: batch norm keeps the repeated γ and
            # running statistics
            repeated = Extra(x.channels)
            kept = (repeated,) * (int(layer.affine) + 2 * int(layer.track_running_stats))
            made = (repeated,) * (2 * int(layer.affine) + 2 * int(layer.track_running_stats))
        if layer.kind != LayerKind.LAYERNORM and not channels_first:
            # group and instance norm make a channels-first contiguous copy of a channel slice or a channels-last
            # map first, and keep the copy
            copy = Extra(x.elements)
            return Memory(saved=(copy, stats, *kept), working=(copy, *working_output(use.output, *at_inference, *made)), layout=layout)
        return Memory(saves_input=True, saved=(stats, *kept), working=working_output(use.output, *at_inference, *made), layout=layout)

    def torch(self, layer: Normalization, shape: Shape, device: str = "meta") -> Any:
        from cnncalc.kinds import torch_ops

        return torch_ops.normalization(layer, shape, device)

    def pytorch(self, layer: Normalization, shape: Shape) -> Source:
        c, frozen = shape.channels, not layer.trainable
        if layer.kind == LayerKind.LAYERNORM:
            args = (Arg("normalized_shape", c), Arg("elementwise_affine", layer.affine, True), Arg("bias", layer.bias, True))
            if isinstance(shape, Spatial):  # over the channels of each position of a channels-first map
                return Source("LayerNorm2d", args, positional=1, helpers=("LayerNorm2d",), frozen=frozen)
            return Source("nn.LayerNorm", args, positional=1, frozen=frozen)
        if layer.kind == LayerKind.GROUPNORM:
            return Source("nn.GroupNorm", (Arg("num_groups", layer.groups), Arg("num_channels", c), Arg("affine", layer.affine, True)), positional=2, frozen=frozen)
        assert isinstance(shape, Spatial)
        args = (Arg("num_features", c), Arg("affine", layer.affine, False), Arg("track_running_stats", layer.track_running_stats, False))
        return Source(f"nn.InstanceNorm{shape.rank}d", args, positional=1, frozen=frozen)
