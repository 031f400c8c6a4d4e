"""Pools of any rank: maxpool, avgpool, minpool (nn.MaxPool1d/2d/3d, nn.AvgPool1d/2d/3d, −maxpool(−x)),
and global_avgpool / adaptive_avgpool (nn.AdaptiveAvgPool1d/2d/3d)."""

from __future__ import annotations

from typing import Any

from cnncalc.kinds import formulas
from cnncalc.enums import LayerKind, PaddingMode
from cnncalc.kinds import options as o
from cnncalc.kinds.base import (
    GRAD,
    INDEX,
    Arg,
    AxisContext,
    Extra,
    Geometry,
    Irregular,
    Kind,
    LayerMath,
    Memory,
    MemoryContext,
    Source,
    Through,
    Window,
    feature_map,
    layer_error,
    torch_size,
    working_output,
)
from cnncalc.kinds.sliding import (
    padded_copy,
    border_warning,
    output_size_section,
    resolve_padding,
    sliding_lengths,
    torch_padding,
    window_field,
    window_headline,
    window_json,
    window_summary,
)
from cnncalc.kinds.worked import Derivation, LayerUse, Section, Step, axes_label
from cnncalc.model.layers import AdaptivePool, Padding, Pool
from cnncalc.model.shapes import Shape, Spatial

_POOL_OPTIONS = {
    "kernel": (o.positive_axes, o.REQUIRED),
    "stride": (o.positive_axes, None),
    "padding": (o.padding, 0),
    "ceil_mode": (o.boolean, False),
}
_POOLS = (LayerKind.MAXPOOL, LayerKind.AVGPOOL, LayerKind.MINPOOL)


class PoolKind(Kind):
    names = _POOLS
    aliases = {f"{kind}{d}d": (kind, d) for kind in _POOLS for d in (1, 2, 3)}
    options = {
        LayerKind.MAXPOOL: {**_POOL_OPTIONS, "dilation": (o.positive_axes, 1)},
        LayerKind.MINPOOL: {**_POOL_OPTIONS, "dilation": (o.positive_axes, 1)},
        LayerKind.AVGPOOL: _POOL_OPTIONS,
    }
    examples = {kind: "kernel: 2, stride: 2" for kind in _POOLS}

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> Pool:
        values = dict(values)
        if isinstance(values.get("dilation", 1), int):
            values["dilation"] = (values.get("dilation", 1),) * rank
        values["padding"] = Padding.of(values["padding"], rank)
        return Pool(kind=LayerKind(kind), **base, **values)

    def summary(self, layer: Any, padding: tuple[int, ...] | None) -> str:
        return window_summary(layer, padding)

    def summary_json(self, layer: Any, padding: tuple[int, ...] | None) -> dict[str, Any]:
        return window_json(layer, padding)

    def forward(self, layer: Pool, shape: Shape) -> LayerMath:
        x = feature_map(layer, shape, ("kernel", "stride", "dilation"))
        pads = resolve_padding(layer, x.sizes)
        if layer.padding.mode is PaddingMode.EXPLICIT:
            for i in range(x.rank):
                before, after = pads[2 * i], pads[2 * i + 1]
                # ATen's pool2d_shape_check compares the padding with kW / 2 of the kernel as given,
                # not of the dilated span: MaxPool2d(3, padding=2, dilation=2) is refused.
                span = layer.kernel[i]
                if max(before, after) * 2 > span:
                    raise layer_error(
                        layer,
                        f"pooling padding must be at most half the kernel (torch's rule); got padding "
                        f"{max(before, after)} with a {span}-pixel kernel",
                        hint=f"use padding ≤ {span // 2}, or add a `zeropad` layer before the pool",
                    )
        if layer.kind is LayerKind.AVGPOOL and x.rank == 3:
            _check_avgpool3d_input(layer, x, pads)
        outs = sliding_lengths(layer, x, pads, pool=True, ceil_mode=layer.ceil_mode)
        return LayerMath(Spatial(*outs, x.channels), padding=pads)

    def warnings(self, layer: Pool, shape: Spatial, math_: LayerMath) -> list:
        if layer.ceil_mode:
            return []
        warning = border_warning(layer, shape, math_.padding or (), pool=True)
        return [warning] if warning is not None else []

    def field(self, layer: Pool, axis: AxisContext) -> Geometry:
        return window_field(layer, axis)

    def memory(self, layer: Pool, use: LayerUse, context: MemoryContext) -> Memory:
        out = use.output.elements
        padded = padded_copy(layer, use, pool=True)
        pad = (Extra(padded),) if padded else ()
        if layer.kind is LayerKind.AVGPOOL:
            return Memory(saves_input=True, padded=padded, working=(*pad, Extra(out)))
        # max_pool keeps its input and the int64 index of each maximum (made at inference too, then dropped)
        indices = Extra(out, type=INDEX)
        if layer.kind is LayerKind.MAXPOOL:
            return Memory(saves_input=True, padded=padded, saved=(indices,), working=(*pad, Extra(out), indices))
        # minpool is −maxpool(−x): the negated copy is what the max pool keeps; the result is negated again
        negated = Extra(padded or use.input.elements)
        return Memory(saved=(negated, indices), when=GRAD, working=(*pad, negated, Extra(out), indices))

    def torch(self, layer: Pool, shape: Shape, device: str = "meta") -> Any:
        from cnncalc.kinds import torch_ops

        return torch_ops.pool(layer, shape, device)

    def pytorch(self, layer: Pool, shape: Shape) -> Source:
        rank = len(layer.kernel)
        padding, pad = torch_padding(layer, pool=True)
        base = "AvgPool" if layer.kind is LayerKind.AVGPOOL else "MaxPool"
        args = [Arg("kernel_size", torch_size(layer.kernel)), Arg("stride", torch_size(layer.stride)), Arg("padding", padding, 0)]
        if base == "MaxPool":
            args.append(Arg("dilation", torch_size(layer.dilation), 1))
        args.append(Arg("ceil_mode", layer.ceil_mode, False))
        if layer.kind is LayerKind.MINPOOL:  # torch has no min pool: −maxpool(−x), any pad filled with +inf first
            return Source(f"MinPool{rank}d", (*args, Arg("pad", pad, None)), positional=1, helpers=(f"MinPool{rank}d",))
        if pad is not None:  # a pad filled with −inf (max) or 0 (average, counted as torch counts its own padding)
            return Source(f"Padded{base}{rank}d", (*args, Arg("pad", pad)), positional=1, helpers=(f"Padded{base}{rank}d",))
        return Source(f"nn.{base}{rank}d", tuple(args), positional=1)

    def headline(self, layer: Pool) -> list[str]:
        return [str(layer.kind), "×".join(map(str, layer.kernel)), *window_headline(layer, layer.padding.describe())]

    def derive(self, use: LayerUse) -> Derivation:
        size = output_size_section(use, Step("channels", "", f"unchanged = {use.output.channels}"))
        return Derivation(
            (
                size,
                Section("Parameters", "", (Step("total", "", "0 (a pool has no weights)"),)),
                Section("Multiply-accumulates", "", (Step("MACs", "", "0 (comparisons and sums are not counted as MACs)"),)),
            )
        )


def _check_avgpool3d_input(layer: Pool, x: Spatial, pads: tuple[int, ...]) -> None:
    """ATen's avg_pool3d (pool3d_shape_check with check_input_size) refuses an input smaller than the kernel
    along any axis, before its own padding is counted: AvgPool3d(3, padding=1) on 2×2×2 is an error even
    though the padded input would fit. (2-D average pools and max pools have no such check.) A pad torch
    does not take itself (one side more than the other, `same`) is applied before the pool, so it counts."""
    torch_pads = layer.padding.mode is PaddingMode.EXPLICIT and layer.padding.is_symmetric
    sizes = x.sizes if torch_pads else tuple(n + pads[2 * i] + pads[2 * i + 1] for i, n in enumerate(x.sizes))
    if any(n < k for n, k in zip(sizes, layer.kernel)):
        seen = "×".join(map(str, sizes))
        raise layer_error(
            layer,
            f"a 3-D average pool needs an input at least as large as its kernel along every axis (torch: \"input image smaller "
            f"than kernel size\"), before its padding; the input is {seen} and the kernel {'×'.join(map(str, layer.kernel))}",
            hint="use a smaller kernel, pool earlier where the map is larger, or use adaptive_avgpool / global_avgpool",
        )


_GLOBAL = (LayerKind.GLOBAL_AVGPOOL, LayerKind.GLOBAL_MAXPOOL)
_ADAPTIVE = (LayerKind.ADAPTIVE_AVGPOOL, LayerKind.ADAPTIVE_MAXPOOL)


class AdaptivePoolKind(Kind):
    names = (*_GLOBAL, *_ADAPTIVE)
    aliases = {f"{kind}{d}d": (kind, d) for kind in _ADAPTIVE for d in (1, 2, 3)}
    options = {**{kind: {} for kind in _GLOBAL}, **{kind: {"output_size": (o.positive_axes, o.REQUIRED)} for kind in _ADAPTIVE}}
    # `output` is accepted as the short form of torch's `output_size`.
    option_aliases = {kind: {"output": "output_size"} for kind in _ADAPTIVE}
    examples = {kind: "output_size: 7" for kind in _ADAPTIVE}

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> AdaptivePool:
        if kind in _GLOBAL:
            return AdaptivePool(kind=LayerKind(kind), **base)
        return AdaptivePool(kind=LayerKind(kind), output=values["output_size"], **base)

    def forward(self, layer: AdaptivePool, shape: Shape) -> LayerMath:
        x = feature_map(layer, shape, ("output",))
        return LayerMath(Spatial(*layer.output_sizes(x.rank), x.channels))

    def field(self, layer: AdaptivePool, axis: AxisContext) -> Geometry:
        # torch's bins: floor(i·n/o) … ceil((i + 1)·n/o). Equal sizes and equal steps make a window.
        # Closed form, not an enumeration of the bins: an output of 10^8 units must not cost 10^8 steps.
        n_in, n_out = axis.n_in, axis.n_out
        sizes, steps = formulas.adaptive_pool_bin_sizes_and_steps(n_in, n_out)
        what = ("global average pooling" if layer.kind in (LayerKind.GLOBAL_AVGPOOL, LayerKind.ADAPTIVE_AVGPOOL) else "global max pooling") if n_out == 1 else f"adaptive pooling {n_in} → {n_out}"
        if len(sizes) == 1 and (not steps or (len(steps) == 1 and steps[0] >= 1)):
            k = sizes[0]
            s = steps[0] if steps else k  # one bin: no step to speak of; read as kernel = stride = n
            rule = f"{what}: every bin has {k} units" + (f" and the next starts {s} later" if steps else "")
            return Through(Window(k, s, 1, 0), rule=f"{rule}: a window of kernel {k}, stride {s}")
        # r of a unit grows with its bin's size, so the extreme bins give the extreme r.
        reason = (
            f"{what}: torch's bins have sizes {'/'.join(map(str, sizes))} and steps "
            f"{'/'.join(map(str, steps))}, so no single stride and padding describe its units"
        )
        return Irregular(reason, f"{what} has uneven bins", spread=(sizes[0] - 1, sizes[-1] - 1))

    def memory(self, layer: AdaptivePool, use: LayerUse, context: MemoryContext) -> Memory:
        out = use.output.elements
        if layer.kind in (LayerKind.GLOBAL_MAXPOOL, LayerKind.ADAPTIVE_MAXPOOL):
            indices = Extra(out, type=INDEX)
            return Memory(saves_input=True, saved=(indices,), working=(Extra(out), indices))
        if all(n == 1 for n in use.output.sizes):
            return Memory(working=working_output(use.output))  # a mean over the map: its backward needs only sizes
        return Memory(saves_input=True, working=working_output(use.output))

    def torch(self, layer: AdaptivePool, shape: Shape, device: str = "meta") -> Any:
        from cnncalc.kinds import torch_ops

        return torch_ops.adaptive_pool(layer, shape, device)

    def pytorch(self, layer: AdaptivePool, shape: Shape) -> Source:
        assert isinstance(shape, Spatial)
        kind = "Max" if layer.kind in (LayerKind.GLOBAL_MAXPOOL, LayerKind.ADAPTIVE_MAXPOOL) else "Avg"
        return Source(f"nn.Adaptive{kind}Pool{shape.rank}d", (Arg("output_size", torch_size(layer.output_sizes(shape.rank))),), positional=1)

    def derive(self, use: LayerUse) -> Derivation:
        out = use.output
        assert isinstance(out, Spatial)
        steps = (
            Step(axes_label(out), "", f"{'×'.join(map(str, out.sizes))}, fixed by the layer whatever the input"),
            Step("channels", "", f"unchanged = {out.channels}"),
        )
        return Derivation((Section("Output size", "", steps),))
