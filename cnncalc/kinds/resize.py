"""Layers that change the spatial size without weights: zeropad (nn.ZeroPad1d/2d/3d) and upsample (nn.Upsample)."""

from __future__ import annotations

from typing import Any

from cnncalc.kinds import formulas
from cnncalc.enums import LayerKind, PaddingMode, UpsampleMode
from cnncalc.errors import SpecProblem
from cnncalc.kinds import options as o
from cnncalc.kinds.base import (
    Arg,
    AxisContext,
    Geometry,
    Irregular,
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
    torch_pad,
    torch_size,
    working_output,
)
from cnncalc.model.layers import Crop, Upsample, ZeroPad, describe_pads
from cnncalc.kinds.worked import Derivation, LayerUse, Section, Step, axes_label, num
from cnncalc.model.shapes import Shape, Spatial


class ZeroPadKind(Kind):
    names = (LayerKind.ZEROPAD,)
    options = {LayerKind.ZEROPAD: {"padding": (o.padding, o.REQUIRED)}}
    examples = {LayerKind.ZEROPAD: "padding: 1"}

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> ZeroPad:
        pad = values["padding"]
        if pad.mode is not PaddingMode.EXPLICIT:
            raise SpecProblem(
                f"zeropad needs numbers of pixels, not `{pad.mode}`",
                hint="e.g. `padding: 1` or `padding: [0, 1, 0, 1]` (top, bottom, left, right)",
                layer=base["path"],
                pos=base["pos"],
            )
        return ZeroPad(padding=pad, **base)

    def forward(self, layer: ZeroPad, shape: Shape) -> LayerMath:
        x = feature_map(layer, shape)
        pads = layer.padding.explicit
        sizes = [n + pads[2 * i] + pads[2 * i + 1] for i, n in enumerate(x.sizes)]
        return LayerMath(Spatial(*sizes, x.channels), padding=pads)

    def summary(self, layer: ZeroPad, padding: tuple[int, ...] | None) -> str:
        return f"p{describe_pads(padding)}" if padding is not None else ""

    def field(self, layer: ZeroPad, axis: AxisContext) -> Geometry:
        before = layer.padding.explicit[2 * axis.axis]
        return Through(Window(1, 1, 1, before), rule="zero padding: a window of kernel 1, stride 1")

    def derive(self, use: LayerUse) -> Derivation:
        x, out, pads = use.input, use.output, use.layer.padding.explicit
        assert isinstance(x, Spatial) and isinstance(out, Spatial)
        steps = tuple(
            Step(axis, f"{n} + {pads[2 * i]} + {pads[2 * i + 1]}", num(out.sizes[i])) for i, (axis, n) in enumerate(zip(x.axes, x.sizes))
        )
        return Derivation((Section("Output size", "", steps),))

    def memory(self, layer: Any, use: LayerUse, context: MemoryContext) -> Memory:
        return Memory(working=working_output(use.output))  # a new tensor; the backward needs only sizes

    def torch(self, layer: ZeroPad, shape: Shape, device: str = "meta") -> Any:
        from torch import nn

        rank = shape.rank if isinstance(shape, Spatial) else 1
        # torch pads the last axis first: (left, right, top, bottom, front, back)
        pairs = layer.padding.per_axis()
        flat = tuple(v for before, after in reversed(pairs) for v in (before, after))
        return getattr(nn, f"ZeroPad{rank}d")(flat)

    def pytorch(self, layer: ZeroPad, shape: Shape) -> Source:
        rank = shape.rank if isinstance(shape, Spatial) else 1
        return Source(f"nn.ZeroPad{rank}d", (Arg("padding", torch_pad(layer.padding.per_axis())),), positional=1)


class UpsampleKind(Kind):
    names = (LayerKind.UPSAMPLE,)
    options = {
        LayerKind.UPSAMPLE: {
            "scale": (o.scale, None),
            "size": (o.positive_axes, None),
            "size_of": (o.text, None),
            "mode": (o.choice(UpsampleMode), UpsampleMode.NEAREST),
        }
    }
    examples = {LayerKind.UPSAMPLE: "scale: 2"}
    exactly_one = {LayerKind.UPSAMPLE: ("scale", "size", "size_of")}

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> Upsample:
        # with `size_of`, the spec reader has filled in `size` from that layer
        given = [key for key in ("scale", "size_of") if values[key] is not None]
        given += ["size"] if values["size"] is not None and values["size_of"] is None else []
        if len(given) != 1:
            raise SpecProblem(
                "upsample needs exactly one of `scale`, `size` and `size_of`",
                hint="e.g. `- upsample: {scale: 2}`, `- upsample: {size: [56, 56]}` or `- upsample: {size_of: layer1}`",
                layer=base["path"],
                pos=base["pos"],
            )
        # `size_of: PATH` is resolved to that layer's size by the spec reader, which knows the earlier outputs.
        return Upsample(scale=values["scale"], size=values["size"], size_of=values["size_of"], mode=values["mode"], **base)

    def forward(self, layer: Upsample, shape: Shape) -> LayerMath:
        x = feature_map(layer, shape, ("size", "scale"))
        if layer.mode is UpsampleMode.BICUBIC and x.rank != 2:
            raise layer_error(layer, f"bicubic resizing is for images (torch has no {x.rank}-D bicubic); the input is {x.hwc()}",
                              hint="use mode: nearest or bilinear (linear in 1-D, trilinear in 3-D)")
        if layer.size is not None:
            return LayerMath(Spatial(*layer.size, x.channels))
        assert layer.scale is not None
        for axis, n, scale in zip(x.axes, x.sizes, layer.scale):
            if not n * scale < 2**63:  # also catches overflow to infinity before floor() would fail on it
                raise layer_error(
                    layer,
                    f"an output size must fit torch's int64; upsampling the {axis} {n:,} by {scale:g} gives more",
                    hint="use a smaller scale",
                )
        sizes = [formulas.upsample_length(n, scale) for n, scale in zip(x.sizes, layer.scale)]
        for axis, n, scale, out in zip(x.axes, x.sizes, layer.scale, sizes):
            if out < 1:
                raise layer_error(
                    layer,
                    f"upsampling must leave at least 1 pixel, but the {axis} {n} × {scale:g} = {n * scale:g} floors to {out}",
                    hint=f"use a scale of at least {1 / n:g}, or `size:`",
                )
        return LayerMath(Spatial(*sizes, x.channels))

    def field(self, layer: Upsample, axis: AxisContext) -> Geometry:
        n_in, n_out, i = axis.n_in, axis.n_out, axis.axis
        if n_out == n_in:
            return Passed(rule="resizing to the same size is the identity")
        if layer.mode is UpsampleMode.NEAREST:
            # torch's nearest_idx: source = floor(o·c), c = 1/scale_factor if given, else n_in/n_out
            c = 1 / layer.scale[i] if layer.scale is not None else n_in / n_out
            if c > 1 and float(c).is_integer():
                c = int(c)
                return Through(Window(1, c, 1, 0), rule=f"nearest resizing by 1/{c} keeps every {c}th unit: a window of kernel 1, stride {c}")
            reason = (
                f"nearest resizing {n_in} → {n_out} repeats units unevenly (source ⌊o·{c:g}⌋), "
                "so the fields no longer step by a whole stride"
            )
            return Irregular(reason + " (each output unit copies one input unit)", f"nearest resizing {n_in} → {n_out}", spread=(0, 0))
        reason = f"{layer.mode} resizing {n_in} → {n_out} blends neighbouring units unevenly: no single r, S, P"
        return Irregular(reason, f"{layer.mode} resizing {n_in} → {n_out}", None)

    def derive(self, use: LayerUse) -> Derivation:
        layer, x, out = use.layer, use.input, use.output
        assert isinstance(x, Spatial) and isinstance(out, Spatial)
        if layer.size is not None:
            steps: tuple[Step, ...] = (Step(axes_label(out), "", f"{'×'.join(map(str, out.sizes))}, the `size` asked for"),)
        else:
            steps = tuple(
                Step(axis, f"⌊{n}·{scale}⌋", num(out.sizes[i]))
                for i, (axis, n, scale) in enumerate(zip(x.axes, x.sizes, layer.scale))
            )
        return Derivation((Section("Output size", "", steps),))

    def memory(self, layer: Any, use: LayerUse, context: MemoryContext) -> Memory:
        return Memory(working=working_output(use.output))  # a new tensor; the backward needs only sizes

    def torch(self, layer: Upsample, shape: Shape, device: str = "meta") -> Any:
        from torch import nn

        rank = shape.rank if isinstance(shape, Spatial) else 2
        mode = str(layer.mode)
        if mode == "bilinear" and rank == 1:
            mode = "linear"
        elif mode == "bilinear" and rank == 3:
            mode = "trilinear"
        if layer.size is not None:
            return nn.Upsample(size=layer.size, mode=mode)
        return nn.Upsample(scale_factor=layer.scale, mode=mode)

    def pytorch(self, layer: Upsample, shape: Shape) -> Source:
        rank = shape.rank if isinstance(shape, Spatial) else 2
        mode = str(layer.mode)
        if mode == "bilinear" and rank != 2:
            mode = {1: "linear", 3: "trilinear"}[rank]
        if layer.size is not None:  # `size_of` is resolved to the size for the spec's input when it is read
            what = Arg("size", torch_size(layer.size))
        else:
            scale = layer.scale or ()
            what = Arg("scale_factor", scale[0] if all(v == scale[0] for v in scale) else tuple(scale))
        return Source("nn.Upsample", (what, Arg("mode", mode, "nearest")))


def _centre_offset(n: int, size: int) -> int:
    """Units cut before a centre crop of `n` to `size`: torchvision's F.center_crop, int(round((n − size) / 2.0))
    (Python rounds halves to even); a crop larger than the input pads first, (size − n) // 2 before."""
    if size > n:
        return -((size - n) // 2)
    return int(round((n - size) / 2.0))


class CropKind(Kind):
    """A centre crop to `size` (torchvision's CenterCrop: the U-Net skip before its concat), or `amounts`
    cut off each side: (before, after) per axis, [top, bottom, left, right] in 2-D."""

    names = (LayerKind.CROP,)
    options = {LayerKind.CROP: {"size": (o.positive_axes, None), "amounts": (o.padding, None)}}
    option_aliases = {LayerKind.CROP: {"cropping": "amounts"}}  # Keras's Cropping2D name
    examples = {LayerKind.CROP: "size: 392"}
    exactly_one = {LayerKind.CROP: ("size", "amounts", "cropping")}

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> Crop:
        size, amounts = values["size"], values["amounts"]
        if (size is None) == (amounts is None):
            raise SpecProblem(
                "crop needs exactly one of `size` (a centre crop) and `amounts` (what to cut off each side)",
                hint="e.g. `- crop: {size: 392}` or `- crop: {amounts: [4, 4, 4, 4]}`",
                layer=base["path"],
                pos=base["pos"],
            )
        if amounts is not None and amounts.mode is not PaddingMode.EXPLICIT:
            raise SpecProblem(
                f"crop's `amounts` are numbers of pixels, not `{amounts.mode}`",
                hint="e.g. `amounts: [4, 4, 4, 4]` (top, bottom, left, right)",
                layer=base["path"],
                pos=base["pos"],
            )
        return Crop(size=size, amounts=None if amounts is None else amounts.explicit, **base)

    def _cuts(self, layer: Crop, x: Spatial) -> tuple[tuple[int, int], ...]:
        if layer.size is not None:
            return tuple((_centre_offset(n, s), n - s - _centre_offset(n, s)) for n, s in zip(x.sizes, layer.size))
        a = layer.amounts
        return tuple((a[2 * i], a[2 * i + 1]) for i in range(len(a) // 2))

    def forward(self, layer: Crop, shape: Shape) -> LayerMath:
        x = feature_map(layer, shape, ("size",))
        if layer.amounts is not None and len(layer.amounts) != 2 * x.rank:
            raise layer_error(layer, f"crop's `amounts` are given for {len(layer.amounts) // 2} axes but its input {x.hwc()} has {x.rank}",
                              hint="give (before, after) for each axis")
        cuts = self._cuts(layer, x)
        sizes = [n - b - a for n, (b, a) in zip(x.sizes, cuts)]
        for axis, n, out, (b, a) in zip(x.axes, x.sizes, sizes, cuts):
            if out < 1:
                raise layer_error(layer, f"a crop must leave at least 1 pixel, but cutting {b} + {a} from the {axis} {n} leaves {out}",
                                  hint="cut less, or crop a larger input")
        return LayerMath(Spatial(*sizes, x.channels), padding=tuple(-v for cut in cuts for v in cut))

    def field(self, layer: Crop, axis: AxisContext) -> Geometry:
        # unit i of the crop is unit i + before of its input: a window of kernel 1 with a negative padding
        return Through(Window(1, 1, 1, axis.pad_before or 0), rule="a crop keeps units and shifts them: a window of kernel 1, stride 1")

    def summary(self, layer: Crop, padding: tuple[int, ...] | None) -> str:
        return f"cut {describe_pads(tuple(-v for v in padding))}" if padding is not None else ""

    def summary_json(self, layer: Crop, padding: tuple[int, ...] | None) -> dict[str, Any]:
        from cnncalc.kinds.base import padding_json

        return {} if padding is None else {"cut": padding_json(tuple(-v for v in padding))}

    def derive(self, use: LayerUse) -> Derivation:
        x, out, pads = use.input, use.output, use.padding or ()
        steps = tuple(
            Step(axis, f"{n} − {-pads[2 * i]} − {-pads[2 * i + 1]}", num(out.sizes[i])) for i, (axis, n) in enumerate(zip(x.axes, x.sizes))
        )
        rule = "a centre crop: int(round((n − size)/2)) cut before, the rest after (torchvision's CenterCrop)" if use.layer.size else ""
        return Derivation((Section("Output size", rule, steps),))

    def memory(self, layer: Any, use: LayerUse, context: MemoryContext) -> Memory:
        return Memory(working=working_output(use.output))  # a new tensor; the backward needs only sizes

    def torch(self, layer: Crop, shape: Shape, device: str = "meta") -> Any:
        from cnncalc.kinds import torch_ops

        return torch_ops.Crop(self._cuts(layer, shape))

    def pytorch(self, layer: Crop, shape: Shape) -> Source:
        assert isinstance(shape, Spatial)
        return Source("Crop", (Arg("pad", torch_pad(tuple((-b, -a) for b, a in self._cuts(layer, shape)))),), positional=1, helpers=("Crop",))
