"""conv and conv_transpose, of any rank: torch.nn.Conv1d/2d/3d and ConvTranspose1d/2d/3d."""

from __future__ import annotations

import math
from typing import Any

from cnncalc.kinds import formulas
from cnncalc.enums import LayerKind
from cnncalc.kinds import options as o
from cnncalc.kinds.base import (
    AxisContext,
    Extra,
    Geometry,
    Irregular,
    Arg,
    Kind,
    LayerMath,
    Memory,
    MemoryContext,
    Through,
    Source,
    Window,
    feature_map,
    torch_size,
    layer_error,
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
from cnncalc.kinds.worked import Derivation, LayerUse, Section, Step, kernel_symbols, num, per_group, product, size_symbols
from cnncalc.model.layers import Conv, ConvTranspose, Padding, pair_text
from cnncalc.model.shapes import Shape, Spatial

_CONV_OPTIONS = {
    "filters": (o.positive, o.REQUIRED),
    "kernel": (o.positive_axes, o.REQUIRED),
    "stride": (o.positive_axes, 1),
    "padding": (o.padding, 0),
    "dilation": (o.positive_axes, 1),
    "groups": (o.positive, 1),
    "bias": (o.boolean, True),
    "trainable": (o.boolean, True),
}


def check_groups(layer: Any, channels: int) -> None:
    g = layer.groups
    if channels % g or layer.filters % g:
        culprits = []
        if channels % g:
            culprits.append(f"the {channels} input channels")
        if layer.filters % g:
            culprits.append(f"the {layer.filters} filters")
        common = math.gcd(channels, layer.filters)
        divisors = [d for d in range(1, min(common, 4096) + 1) if common % d == 0] if common <= 4096 else []
        shown = ", ".join(str(d) for d in divisors[:8]) + (", …" if len(divisors) > 8 else "")
        raise layer_error(
            layer,
            f"groups must divide both the input channels and the filters; groups {g} does not divide "
            + " nor ".join(culprits),
            hint=f"use one of the common divisors of {channels} and {layer.filters}: {shown}"
            if shown
            else f"use a common divisor of {channels} and {layer.filters}",
        )


def conv_param_formula(use: LayerUse) -> str:
    """`(7·7·16 + 1)·32` for a conv or transposed conv (its value is `use.params`)."""
    layer = use.layer
    per_filter = product(*layer.kernel, per_group(use.input.channels, layer.groups))
    return f"({per_filter} + 1)·{layer.filters}" if layer.bias else f"{per_filter}·{layer.filters}"


def conv_mac_formula(use: LayerUse) -> str:
    """`29·29·7·7·16·32` for a conv (its value is `use.macs`)."""
    layer = use.layer
    assert isinstance(use.output, Spatial)
    return product(*use.output.sizes, *layer.kernel, per_group(use.input.channels, layer.groups), layer.filters)


def parameter_section(use: LayerUse) -> tuple[Section, int, int]:
    layer = use.layer
    c, k, g = use.input.channels, layer.filters, layer.groups
    weights = formulas.conv_weights(layer.kernel, c, k, g)
    biases = use.params - weights
    symbols = kernel_symbols(len(layer.kernel))
    rule = f"({symbols}·c + 1)·k" if g == 1 else f"({symbols}·(c/g) + 1)·k"
    steps = (
        Step("weights", product(*layer.kernel, per_group(c, g), k), num(weights)),
        Step("biases", "", num(biases) if layer.bias else "0 (bias: false)"),
        Step("total", conv_param_formula(use), num(use.params)),
    )
    notes = []
    if isinstance(layer, ConvTranspose):
        stored = " × ".join(["c_in", "k/g", *symbols.split("·")])
        notes.append(
            f"torch stores the weight as {stored} = {'×'.join(map(str, (c, k // g, *layer.kernel)))}: the same count as a conv."
        )
    if g != 1:
        notes.append(f"groups {g}: each filter sees only c/g = {c // g} of the {c} input channels.")
    return Section("Parameters", rule, steps, tuple(notes)), weights, biases


def transpose_expression(n: int, f: int, s: int, p: int, op: int, d: int) -> str:
    span = f"({f} − 1)" if d == 1 else f"{d}·({f} − 1)"
    return f"({n} − 1)·{s} − 2·{p} + {span} + {op} + 1"


def conv_inputs_for(out: int, f: int, s: int, p: int, d: int, target: int) -> list[int]:
    """The first and last input sizes that a conv (f, s, p, d) maps to `target`, from `out`, the smallest of them.

    They run from `out` (the transposed conv's size without output padding) to out + s − 1, as the
    floor drops up to s − 1 pixels; the ends are confirmed with the conv formula, and sizes that
    do not map to `target` (a torch padding larger than the input allows) are left out.
    """
    ends = [n for n in (max(1, out), out + s - 1) if formulas.conv_output_length(n, f, s, p, p, d) == target]
    return sorted(set(ends))


def _rank_values(values: dict[str, Any], rank: int, *names: str) -> dict[str, Any]:
    """Defaults given as one number (stride 1) become one value per axis."""
    out = dict(values)
    for name in names:
        if isinstance(out.get(name), int):
            out[name] = (out[name],) * rank
    return out


class ConvKind(Kind):
    names = (LayerKind.CONV,)
    aliases = {"conv1d": (LayerKind.CONV, 1), "conv2d": (LayerKind.CONV, 2), "conv3d": (LayerKind.CONV, 3)}
    options = {LayerKind.CONV: _CONV_OPTIONS}
    examples = {LayerKind.CONV: "filters: 6, kernel: 5"}
    weight_layer = True

    def weight_shape(self, layer: Conv, shape: Shape) -> tuple[int, ...]:
        return (layer.filters, shape.channels // layer.groups, *layer.kernel)  # nn.Conv2d.weight

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> Conv:
        values = _rank_values(values, rank, "stride", "dilation")
        values["padding"] = Padding.of(values["padding"], rank)
        return Conv(**base, **values)

    def summary(self, layer: Any, padding: tuple[int, ...] | None) -> str:
        return window_summary(layer, padding)

    def summary_json(self, layer: Any, padding: tuple[int, ...] | None) -> dict[str, Any]:
        return window_json(layer, padding)

    def forward(self, layer: Conv, shape: Shape) -> LayerMath:
        x = feature_map(layer, shape, ("kernel", "stride", "dilation"))
        check_groups(layer, x.channels)
        pads = resolve_padding(layer, x.sizes)
        outs = sliding_lengths(layer, x, pads, pool=False)
        params = formulas.conv_params(layer.kernel, x.channels, layer.filters, layer.groups, layer.bias)
        return LayerMath(
            Spatial(*outs, layer.filters),
            params=params,
            trainable_params=params if layer.trainable else 0,
            macs=formulas.conv_macs(outs, layer.kernel, x.channels, layer.filters, layer.groups),
            padding=pads,
        )

    def warnings(self, layer: Conv, shape: Spatial, math_: LayerMath) -> list:
        warning = border_warning(layer, shape, math_.padding or (), pool=False)
        return [warning] if warning is not None else []

    def field(self, layer: Conv, axis: AxisContext) -> Geometry:
        return window_field(layer, axis)

    def memory(self, layer: Conv, use: LayerUse, context: MemoryContext) -> Memory:
        # ConvolutionBackward keeps its input (the padded copy, if one is made) whenever a gradient flows
        # the output is channels-first even from a channels-last input (after a layer norm on the channels):
        # torch's convolution shape function (meta) makes it contiguous
        padded = padded_copy(layer, use, pool=False)
        return Memory(saves_input=True, padded=padded, working=(*((Extra(padded),) if padded else ()), Extra(use.output.elements)), layout="first")

    def torch(self, layer: Conv, shape: Shape, device: str = "meta") -> Any:
        from cnncalc.kinds import torch_ops

        return torch_ops.conv(layer, shape, device)

    def pytorch(self, layer: Conv, shape: Shape) -> Source:
        rank = len(layer.kernel)
        padding, pad = torch_padding(layer, pool=False)
        cls = f"Conv{rank}d" if pad is None else f"PaddedConv{rank}d"
        args = (
            Arg("in_channels", shape.channels),
            Arg("out_channels", layer.filters),
            Arg("kernel_size", torch_size(layer.kernel)),
            Arg("stride", torch_size(layer.stride), 1),
            Arg("padding", padding, 0),
            Arg("dilation", torch_size(layer.dilation), 1),
            Arg("groups", layer.groups, 1),
            Arg("bias", layer.bias, True),
            *((Arg("pad", pad),) if pad is not None else ()),
        )
        return Source(f"nn.{cls}" if pad is None else cls, args, positional=3, helpers=(cls,) if pad is not None else (), frozen=not layer.trainable)

    def headline(self, layer: Conv) -> list[str]:
        return [str(layer.kind), f"{layer.filters} filters {'×'.join(map(str, layer.kernel))}", *window_headline(layer, layer.padding.describe())]

    def derive(self, use: LayerUse) -> Derivation:
        layer = use.layer
        size = output_size_section(use, Step("channels", "", f"filters = {layer.filters}"))
        params, weights, biases = parameter_section(use)
        rank = len(layer.kernel)
        macs = Section(
            "Multiply-accumulates",
            f"{size_symbols(rank, 'n_out')}·{kernel_symbols(rank)}·c·k: one per weight per output position (biases not counted)",
            (Step("MACs", conv_mac_formula(use), num(use.macs)),),
        )
        return Derivation((size, params, macs), weights, biases)


class ConvTransposeKind(Kind):
    names = (LayerKind.CONV_TRANSPOSE,)
    aliases = {
        "conv_transpose1d": (LayerKind.CONV_TRANSPOSE, 1),
        "conv_transpose2d": (LayerKind.CONV_TRANSPOSE, 2),
        "conv_transpose3d": (LayerKind.CONV_TRANSPOSE, 3),
    }
    options = {
        LayerKind.CONV_TRANSPOSE: {
            **_CONV_OPTIONS,
            "padding": (o.non_negative_axes, 0),
            "output_padding": (o.non_negative_axes, 0),
        }
    }
    examples = {LayerKind.CONV_TRANSPOSE: "filters: 6, kernel: 2, stride: 2"}
    weight_layer = True

    def weight_shape(self, layer: ConvTranspose, shape: Shape) -> tuple[int, ...]:
        return (shape.channels, layer.filters // layer.groups, *layer.kernel)  # nn.ConvTranspose2d.weight: in first

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> ConvTranspose:
        return ConvTranspose(**base, **_rank_values(values, rank, "stride", "dilation", "padding", "output_padding"))

    def summary(self, layer: Any, padding: tuple[int, ...] | None) -> str:
        return window_summary(layer, padding)

    def summary_json(self, layer: Any, padding: tuple[int, ...] | None) -> dict[str, Any]:
        return window_json(layer, padding)

    def forward(self, layer: ConvTranspose, shape: Shape) -> LayerMath:
        x = feature_map(layer, shape, ("kernel", "stride", "dilation", "padding", "output_padding"))
        check_groups(layer, x.channels)
        lengths = []
        for i, (axis, n) in enumerate(zip(x.axes, x.sizes)):
            s, d, op = layer.stride[i], layer.dilation[i], layer.output_padding[i]
            if op >= max(s, d):
                raise layer_error(
                    layer,
                    f"output_padding must be smaller than the stride or the dilation; got output_padding {op} "
                    f"with stride {s} and dilation {d} along the {axis}",
                    hint="output_padding only picks among the sizes a stride > 1 makes ambiguous: use 0 .. stride−1",
                )
            out = formulas.conv_transpose_output_length(n, layer.kernel[i], s, layer.padding[i], op, d)
            if out < 1:
                p = layer.padding[i]
                raise layer_error(
                    layer,
                    f"a transposed convolution's output must be at least 1 pixel, but "
                    f"({n} − 1)·{s} − 2·{p} + {d}·({layer.kernel[i]} − 1) + {op} + 1 = {out} along the {axis}: "
                    f"padding {p} removes 2·{p} = {2 * p} of the {out + 2 * p} pixels it would produce",
                    hint=f"use padding ≤ {(out + 2 * p - 1) // 2} along the {axis}",
                )
            lengths.append(out)
        params = formulas.conv_params(layer.kernel, x.channels, layer.filters, layer.groups, layer.bias)
        return LayerMath(
            Spatial(*lengths, layer.filters),
            params=params,
            trainable_params=params if layer.trainable else 0,
            macs=formulas.conv_transpose_macs(x.sizes, layer.kernel, x.channels, layer.filters, layer.groups),
            padding=tuple(v for p in layer.padding for v in (p, p)),
        )

    def field(self, layer: ConvTranspose, axis: AxisContext) -> Geometry:
        i = axis.axis
        k, s, d, p = layer.kernel[i], layer.stride[i], layer.dilation[i], layer.padding[i]
        if s == 1:
            pad = d * (k - 1) - p
            rule = f"a transposed convolution at stride 1 is a convolution with padding d(k − 1) − p = {d}·({k} − 1) − {p} = {pad}"
            return Through(Window(k, 1, d, pad), rule=rule)
        reason = (
            f"a transposed convolution with stride {s} spreads each input unit over {s} output units "
            f"unevenly (an effective stride of S/{s}), so no single r, S, P describes its units"
        )
        return Irregular(reason, f"transposed convolution with stride {s}", needs_spread=True)

    def spread_cost(self, layer: ConvTranspose, axis: AxisContext) -> int:
        i = axis.axis
        return transposed_spread_units(axis.n_in, axis.n_out, layer.kernel[i], layer.stride[i], layer.dilation[i], layer.padding[i])

    def spread_of(self, layer: ConvTranspose, axis: AxisContext) -> tuple[int, int] | None | tuple[()]:
        i = axis.axis
        return transposed_spreads(axis.n_in, axis.n_out, layer.kernel[i], layer.stride[i], layer.dilation[i], layer.padding[i])

    def memory(self, layer: ConvTranspose, use: LayerUse, context: MemoryContext) -> Memory:
        return Memory(saves_input=True, working=working_output(use.output), layout="first")  # channels-first, as conv's

    def torch(self, layer: ConvTranspose, shape: Shape, device: str = "meta") -> Any:
        from cnncalc.kinds import torch_ops

        return torch_ops.conv_transpose(layer, shape, device)

    def pytorch(self, layer: ConvTranspose, shape: Shape) -> Source:
        args = (
            Arg("in_channels", shape.channels),
            Arg("out_channels", layer.filters),
            Arg("kernel_size", torch_size(layer.kernel)),
            Arg("stride", torch_size(layer.stride), 1),
            Arg("padding", torch_size(layer.padding), 0),
            Arg("output_padding", torch_size(layer.output_padding), 0),
            Arg("groups", layer.groups, 1),
            Arg("bias", layer.bias, True),
            Arg("dilation", torch_size(layer.dilation), 1),
        )
        return Source(f"nn.ConvTranspose{len(layer.kernel)}d", args, positional=3, frozen=not layer.trainable)

    def headline(self, layer: ConvTranspose) -> list[str]:
        return [str(layer.kind), f"{layer.filters} filters {'×'.join(map(str, layer.kernel))}", *window_headline(layer, pair_text(layer.padding))]

    def derive(self, use: LayerUse) -> Derivation:
        layer, x, out = use.layer, use.input, use.output
        assert isinstance(x, Spatial) and isinstance(out, Spatial)
        per = [(x.axes[i], n, i, out.sizes[i]) for i, n in enumerate(x.sizes)]

        def key(a: tuple) -> tuple:
            i = a[2]
            return (a[1], layer.kernel[i], layer.stride[i], layer.padding[i], layer.output_padding[i], layer.dilation[i])

        if len(per) > 1 and all(key(a) == key(per[0]) for a in per):
            per = [(", ".join(x.axes), *per[0][1:])]
        steps = []
        notes = []
        for label, n, i, value in per:
            f, s, p, op, d = layer.kernel[i], layer.stride[i], layer.padding[i], layer.output_padding[i], layer.dilation[i]
            steps.append(Step(label, transpose_expression(n, f, s, p, op, d), num(value)))
            if s > 1:
                sources = conv_inputs_for(value - op, f, s, p, d, n)
                if len(sources) > 1:
                    notes.append(
                        f"{label}: a conv with the same f, s, p maps every size in {sources[0]}..{sources[-1]} to {n}, "
                        f"so the transposed conv cannot know which to restore; output_padding (0..{max(s, d) - 1}) picks one: "
                        f"{value - op} + {op} = {value}. See `cnncalc solve output-padding`."
                    )
        steps.append(Step("channels", "", f"filters = {layer.filters}"))
        size = Section(
            "Output size",
            "n_out = (n − 1)·s − 2p + d(f − 1) + output_padding + 1 (Dumoulin & Visin, relation 14)",
            tuple(steps),
            tuple(notes),
        )
        params, weights, biases = parameter_section(use)
        c, k, g = x.channels, layer.filters, layer.groups
        rank = x.rank
        macs = Section(
            "Multiply-accumulates",
            f"{size_symbols(rank, 'n')}·{kernel_symbols(rank)}·c·k/g: every input position is scattered through every weight once",
            (Step("MACs", product(*x.sizes, *layer.kernel, per_group(c, g), k), num(use.macs)),),
        )
        return Derivation((size, params, macs), weights, biases)


# At most this many output units are examined for one transposed convolution's range of r;
# past it the range is reported as not computed (see _transposed_spreads).
TRANSPOSED_CANDIDATE_CAP = 200_000


def _transposed_pieces(n_in: int, n_out: int, k: int, s: int, d: int, p: int) -> list[tuple[int, int]]:
    """The stretches of u = o + p that `transposed_spreads` examines (see there)."""
    x, y = (n_in - 1) * s, (k - 1) * d
    low, high = min(x, y), max(x, y)
    period = d if x <= y else s
    first, last = p, p + n_out - 1  # the u of output units 0 … n_out − 1
    return [
        (first, min(last, low - 1)),
        (max(first, low), min(last, high, max(first, low) + period - 1)),
        (max(first, high + 1), min(last, x + y)),
    ]


def transposed_spread_units(n_in: int, n_out: int, k: int, s: int, d: int, p: int) -> int:
    """How many output units `transposed_spreads` examines: what the receptive-field walk budgets."""
    return sum(max(0, b - a + 1) for a, b in _transposed_pieces(n_in, n_out, k, s, d, p))


def transposed_spreads(n_in: int, n_out: int, k: int, s: int, d: int, p: int) -> tuple[int, int] | tuple[()] | None:
    """Smallest and largest (last − first) input unit feeding one output unit of a transposed convolution.

    torch.nn.ConvTranspose2d: input unit j feeds output o through tap t when o + p = j·s + t·d,
    0 ≤ j < n_in, 0 ≤ t < k. For u = o + p the solutions j step by d' = d / gcd(s, d), so a unit
    fed by N input units spans (N − 1)·d' of them; N(u) is counted in O(1). With X = (n_in − 1)·s
    and Y = (k − 1)·d, on u in [min(X, Y), max(X, Y)] one of the two bounds never binds and N(u)
    depends only on u mod d (X ≤ Y) or u mod s (X > Y): one period of that stretch, plus the two
    ends (min(X, Y) values each), covers every value N takes, exactly. Returns () when no output
    unit is fed (cannot happen for a valid layer) and None past TRANSPOSED_CANDIDATE_CAP units.
    """
    g = math.gcd(s, d)
    s1, d1 = s // g, d // g
    inverse = pow(s1, -1, d1) if d1 > 1 else 0
    y = (k - 1) * d
    pieces = _transposed_pieces(n_in, n_out, k, s, d, p)
    if sum(max(0, b - a + 1) for a, b in pieces) > TRANSPOSED_CANDIDATE_CAP:
        return None
    counts = []
    for a, b in pieces:
        for u in range(a, b + 1):
            if u % g:
                continue
            j0 = (u // g) * inverse % d1 if d1 > 1 else 0  # j·s ≡ u (mod d) ⇔ j ≡ j0 (mod d')
            lo = max(0, -(-(u - y) // s))  # t ≤ k − 1
            hi = min(n_in - 1, u // s)  # t ≥ 0
            if hi >= lo:
                n = (hi - j0) // d1 - (lo - 1 - j0) // d1
                if n:
                    counts.append(n)
    if not counts:
        return ()
    return ((min(counts) - 1) * d1, (max(counts) - 1) * d1)


__all__ = [
    "ConvKind",
    "ConvTransposeKind",
    "TRANSPOSED_CANDIDATE_CAP",
    "check_groups",
    "conv_inputs_for",
    "conv_mac_formula",
    "conv_param_formula",
    "transpose_expression",
    "transposed_spreads",
]
