"""Shapes, parameters, MACs and memory of every layer: a pure walk over the parsed spec.

`layer_math` is the one place a single layer's output is computed; `analyse` walks a
network through it, checks merges, and sums blocks and totals. Nothing here reads
files or prints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cnncalc import formulas
from cnncalc.enums import ACTIVATIONS, Dtype, LayerKind, MergeKind, PaddingMode
from cnncalc.errors import CnnCalcError, SpecWarning
from cnncalc.layers import (
    Activation,
    AdaptivePool,
    BatchNorm,
    Conv,
    ConvTranspose,
    Dropout,
    Fc,
    Flatten,
    Layer,
    Lrn,
    Merge,
    Network,
    Node,
    Pool,
    Sequential,
    Upsample,
    ZeroPad,
    pair_text,
)
from cnncalc.shapes import Shape, Spatial, Vector

if TYPE_CHECKING:
    from fractions import Fraction


@dataclass(frozen=True)
class LayerMath:
    """What one layer does to one input shape."""

    output: Shape
    params: int = 0
    trainable_params: int = 0
    running_stats: int = 0
    macs: int = 0
    padding: tuple[int, int, int, int] | None = None  # resolved (top, bottom, left, right), where padding applies

    @property
    def non_trainable_params(self) -> int:
        return self.params - self.trainable_params + self.running_stats


@dataclass(frozen=True)
class Row:
    """One line of the report: a leaf layer, a merge, or a block holding the rows after it."""

    path: str
    kind: str
    depth: int
    input: Shape
    output: Shape
    params: int
    trainable_params: int
    non_trainable_params: int
    macs: int
    activations: int  # elements of this row's output, one sample; for a block, the sum over its rows
    is_block: bool = False
    padding: tuple[int, int, int, int] | None = None
    node: Node | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Totals:
    params: int
    trainable_params: int
    non_trainable_params: int
    macs: int
    activations: int  # every leaf's output, one sample
    peak_activations: int  # largest set of tensors alive at once during inference, one sample
    input_elements: int
    running_stats: int

    @property
    def flops(self) -> int:
        """Counted as 2 x MACs (one multiply and one add each)."""
        return 2 * self.macs

    def parameter_bytes(self, dtype: Dtype) -> int:
        """Learned parameters and batch-norm running statistics, as a checkpoint stores them."""
        return (self.params + self.running_stats) * dtype.bytes

    def inference_activation_bytes(self, batch: int, dtype: Dtype) -> int:
        return self.peak_activations * batch * dtype.bytes

    def training_activation_bytes(self, batch: int, dtype: Dtype) -> int:
        """Input and every layer's output kept for the backward pass (no gradients, no optimizer state)."""
        return (self.activations + self.input_elements) * batch * dtype.bytes


@dataclass(frozen=True)
class Analysis:
    network: Network
    input: Shape
    rows: tuple[Row, ...]
    totals: Totals
    warnings: tuple[SpecWarning, ...] = ()

    def leaves(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if not r.is_block)

    def rows_to_depth(self, depth: int | None) -> tuple[Row, ...]:
        """Rows down to `depth` nesting levels (1 = top level); a block at the limit stands for its contents."""
        if depth is None:
            return self.leaves()
        return tuple(r for r in self.rows if r.depth <= depth and (not r.is_block or r.depth == depth))


def _error(layer: Node, message: str, hint: str | None = None) -> CnnCalcError:
    return CnnCalcError(message, hint=hint, layer=layer.path or None, pos=layer.pos)


def _spatial(layer: Node, shape: Shape) -> Spatial:
    if isinstance(shape, Spatial):
        return shape
    raise _error(
        layer,
        f"{layer.kind} needs a feature map (height x width x channels), but its input is a vector of {shape.features} features",
        hint="move this layer before `flatten`/`fc`, or remove it",
    )


def _resolve_padding(layer: Conv | Pool, n_h: int, n_w: int) -> tuple[int, int, int, int]:
    padding = layer.padding
    if padding.mode is PaddingMode.VALID:
        return (0, 0, 0, 0)
    if padding.mode is PaddingMode.SAME:
        dilation = layer.dilation
        top, bottom = formulas.same_padding(n_h, layer.kernel[0], layer.stride[0], dilation[0])
        left, right = formulas.same_padding(n_w, layer.kernel[1], layer.stride[1], dilation[1])
        return (top, bottom, left, right)
    return padding.explicit


def _sliding_lengths(layer: Conv | Pool, shape: Spatial, pads: tuple[int, int, int, int], ceil_mode: bool = False) -> tuple[int, int]:
    top, bottom, left, right = pads
    lengths = []
    too_small = []  # (axis, arithmetic, span, padded length) of each axis with no output
    for axis, n, before, after in (("height", shape.height, top, bottom), ("width", shape.width, left, right)):
        i = 0 if axis == "height" else 1
        k, s, d = layer.kernel[i], layer.stride[i], layer.dilation[i]
        if isinstance(layer, Pool):
            out = formulas.pool_output_length(n, k, s, before, after, d, ceil_mode)
        else:
            out = formulas.conv_output_length(n, k, s, before, after, d)
        if out < 1:
            arithmetic = f"{formulas.conv_length_expression(n, k, s, before, after, d)} = {out}"
            too_small.append((axis, arithmetic, formulas.effective_kernel(k, d), n + before + after))
        lengths.append(out)
    if too_small:
        raise _error(layer, _kernel_too_large(layer, shape, pads, too_small), hint=_KERNEL_HINT)
    return lengths[0], lengths[1]


_KERNEL_HINT = "use padding (e.g. `padding: same`) or a smaller kernel, or give the network a larger input"


def _kernel_too_large(layer: Conv | Pool, shape: Spatial, pads: tuple[int, int, int, int], axes: list) -> str:
    """The rule, the arithmetic per failing axis with the numbers in, and the sizes involved."""
    if len(axes) == 2 and axes[0][1:] == axes[1][1:]:
        (_, arithmetic, span, padded), = axes[:1]
        where = f"along the height and the width {arithmetic}"
    else:
        where = " and ".join(f"along the {axis} {arithmetic}" for axis, arithmetic, _, _ in axes)
        _, _, span, padded = axes[0]
    if len(axes) == 2 and axes[0][1:] != axes[1][1:]:
        sizes = f"the {axes[0][2]}×{axes[1][2]}-pixel kernel is larger than the {axes[0][3]}×{axes[1][3]}-pixel padded input"
    else:
        sizes = f"the {span}-pixel kernel is larger than the {padded}-pixel padded input"
    kh, kw = layer.kernel
    kernel = f"{kh}×{kw}" + ("" if layer.dilation == (1, 1) else f" with dilation {pair_text(layer.dilation)}")
    top, bottom, left, right = pads
    if top == bottom == left == right:
        padding = str(top)
    else:
        padding = f"[{top}, {left}]" if top == bottom and left == right else f"[{top}, {bottom}, {left}, {right}]"
    return (
        f"the kernel must fit inside the padded input, but {where}: {sizes} "
        f"(kernel {kernel}, input {shape.height}×{shape.width}, padding {padding})"
    )


def _check_groups(layer: Conv | ConvTranspose, channels: int) -> None:
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
        raise _error(
            layer,
            f"groups must divide both the input channels and the filters; groups {g} does not divide "
            + " nor ".join(culprits),
            hint=f"use one of the common divisors of {channels} and {layer.filters}: {shown}"
            if shown
            else f"use a common divisor of {channels} and {layer.filters}",
        )


def layer_math(layer: Layer, shape: Shape) -> LayerMath:
    """Output shape, parameters and MACs of one layer on one input. Raises CnnCalcError if torch would."""
    if isinstance(layer, Conv):
        x = _spatial(layer, shape)
        _check_groups(layer, x.channels)
        pads = _resolve_padding(layer, x.height, x.width)
        out_h, out_w = _sliding_lengths(layer, x, pads)
        kh, kw = layer.kernel
        params = formulas.conv_params(kh, kw, x.channels, layer.filters, layer.groups, layer.bias)
        macs = formulas.conv_macs(out_h, out_w, kh, kw, x.channels, layer.filters, layer.groups)
        return LayerMath(
            Spatial(out_h, out_w, layer.filters),
            params=params,
            trainable_params=params if layer.trainable else 0,
            macs=macs,
            padding=pads,
        )
    if isinstance(layer, ConvTranspose):
        x = _spatial(layer, shape)
        _check_groups(layer, x.channels)
        lengths = []
        for i, (axis, n) in enumerate((("height", x.height), ("width", x.width))):
            s, d, op = layer.stride[i], layer.dilation[i], layer.output_padding[i]
            if op >= max(s, d):
                raise _error(
                    layer,
                    f"output_padding must be smaller than the stride or the dilation; got output_padding {op} "
                    f"with stride {s} and dilation {d} along the {axis}",
                    hint="output_padding only picks among the sizes a stride > 1 makes ambiguous: use 0 .. stride−1",
                )
            out = formulas.conv_transpose_output_length(n, layer.kernel[i], s, layer.padding[i], op, d)
            if out < 1:
                p = layer.padding[i]
                raise _error(
                    layer,
                    f"a transposed convolution's output must be at least 1 pixel, but "
                    f"({n} − 1)·{s} − 2·{p} + {d}·({layer.kernel[i]} − 1) + {op} + 1 = {out} along the {axis}: "
                    f"padding {p} removes 2·{p} = {2 * p} of the {out + 2 * p} pixels it would produce",
                    hint=f"use padding ≤ {(out + 2 * p - 1) // 2} along the {axis}",
                )
            lengths.append(out)
        kh, kw = layer.kernel
        params = formulas.conv_params(kh, kw, x.channels, layer.filters, layer.groups, layer.bias)
        macs = formulas.conv_transpose_macs(x.height, x.width, kh, kw, x.channels, layer.filters, layer.groups)
        pads = (layer.padding[0], layer.padding[0], layer.padding[1], layer.padding[1])
        return LayerMath(
            Spatial(lengths[0], lengths[1], layer.filters),
            params=params,
            trainable_params=params if layer.trainable else 0,
            macs=macs,
            padding=pads,
        )
    if isinstance(layer, Pool):
        x = _spatial(layer, shape)
        pads = _resolve_padding(layer, x.height, x.width)
        if layer.padding.mode is PaddingMode.EXPLICIT:
            for i, (before, after) in enumerate(((pads[0], pads[1]), (pads[2], pads[3]))):
                # ATen's pool2d_shape_check compares the padding with kW / 2 of the kernel as given,
                # not of the dilated span: MaxPool2d(3, padding=2, dilation=2) is refused.
                span = layer.kernel[i]
                if max(before, after) * 2 > span:
                    raise _error(
                        layer,
                        f"pooling padding must be at most half the kernel (torch's rule); got padding "
                        f"{max(before, after)} with a {span}-pixel kernel",
                        hint=f"use padding ≤ {span // 2}, or add a `zeropad` layer before the pool",
                    )
        out_h, out_w = _sliding_lengths(layer, x, pads, layer.ceil_mode)
        return LayerMath(Spatial(out_h, out_w, x.channels), padding=pads)
    if isinstance(layer, AdaptivePool):
        x = _spatial(layer, shape)
        return LayerMath(Spatial(layer.output[0], layer.output[1], x.channels))
    if isinstance(layer, Fc):
        if isinstance(shape, Spatial) and shape.height == shape.width == 1:
            # After global pooling a 1x1xC map can only mean C features: taken as flattened
            # (torch needs the nn.Flatten written out; the count is the same).
            shape = Vector(shape.channels)
        if isinstance(shape, Spatial):
            raise _error(
                layer,
                f"fc needs a vector, but its input is a {shape.hwc()} feature map "
                f"(torch's Linear would act on the width axis alone)",
                hint=f"add `- flatten` before this layer to make {shape.elements} features",
            )
        params = formulas.fc_params(shape.features, layer.units, layer.bias)
        return LayerMath(
            Vector(layer.units),
            params=params,
            trainable_params=params if layer.trainable else 0,
            macs=formulas.fc_macs(shape.features, layer.units),
        )
    if isinstance(layer, Flatten):
        return LayerMath(Vector(shape.elements))
    if isinstance(layer, BatchNorm):
        params = formulas.batchnorm_params(shape.channels, layer.affine)
        return LayerMath(
            shape,
            params=params,
            trainable_params=params if layer.trainable else 0,
            running_stats=formulas.batchnorm_running_stats(shape.channels, layer.track_running_stats),
        )
    if isinstance(layer, ZeroPad):
        x = _spatial(layer, shape)
        top, bottom, left, right = layer.padding.explicit
        return LayerMath(Spatial(x.height + top + bottom, x.width + left + right, x.channels), padding=layer.padding.explicit)
    if isinstance(layer, Upsample):
        x = _spatial(layer, shape)
        if layer.size is not None:
            return LayerMath(Spatial(layer.size[0], layer.size[1], x.channels))
        assert layer.scale is not None
        for axis, n, scale in (("height", x.height, layer.scale[0]), ("width", x.width, layer.scale[1])):
            if not n * scale < 2**63:  # also catches overflow to infinity before floor() would fail on it
                raise _error(
                    layer,
                    f"an output size must fit torch's int64; upsampling the {axis} {n:,} by {scale:g} gives more",
                    hint="use a smaller scale",
                )
        h = formulas.upsample_length(x.height, layer.scale[0])
        w = formulas.upsample_length(x.width, layer.scale[1])
        if h < 1 or w < 1:
            axis, n, scale, out = ("height", x.height, layer.scale[0], h) if h < 1 else ("width", x.width, layer.scale[1], w)
            raise _error(
                layer,
                f"upsampling must leave at least 1 pixel, but the {axis} {n} × {scale:g} = {n * scale:g} floors to {out}",
                hint=f"use a scale of at least {1 / n:g}, or `size:`",
            )
        return LayerMath(Spatial(h, w, x.channels))
    if isinstance(layer, Lrn):
        _spatial(layer, shape)
        return LayerMath(shape)
    if isinstance(layer, (Dropout, Activation)):
        return LayerMath(shape)
    raise TypeError(f"not a layer: {layer!r}")  # pragma: no cover - the parser builds only the types above


# --------------------------------------------------------------------------- limits and warnings

MAX_INT = 2**63 - 1  # torch's sizes and element counts are int64
# A layer is "unusually large" above 2^31 output values per sample or 2^31 parameters: 8 GiB in
# float32 for one tensor of one sample, past int32 indexing (where many GPU kernels need a 64-bit
# path or refuse). Real CNNs stay far below: VGG-16's largest layer (fc6) has 102,764,544
# parameters, ResNet-50's largest output 802,816 values at 224x224. Above it, a typo is likely.
LARGE_LAYER = 2**31


def _check_size(node: Node, shape: Shape) -> None:
    """torch cannot hold a tensor whose sizes or element count exceed int64: refuse, do not overflow."""
    dims = (shape.height, shape.width, shape.channels) if isinstance(shape, Spatial) else (shape.features,)
    if max(dims) > MAX_INT or shape.elements > MAX_INT:
        raise _error(
            node,
            f"a tensor's size must fit torch's int64 (at most {MAX_INT:,} values); "
            f"this layer's output {shape.hwc()} holds {shape.elements:,}",
            hint="check the input size and the sizes of the layers before this one",
        )


def _layer_warnings(layer: Layer, shape: Shape, math: LayerMath) -> list[SpecWarning]:
    warnings = []
    if isinstance(layer, (Conv, Pool)) and not (isinstance(layer, Pool) and layer.ceil_mode):
        assert isinstance(shape, Spatial) and math.padding is not None
        warning = _border_warning(layer, shape, math.padding)
        if warning is not None:
            warnings.append(warning)
    big = []
    if math.output.elements > LARGE_LAYER:
        big.append(f"its output holds {math.output.elements:,} values per sample ({_gib(math.output.elements)} in float32)")
    if math.params > LARGE_LAYER:
        big.append(f"it has {math.params:,} parameters ({_gib(math.params)} in float32)")
    if big:
        warnings.append(
            SpecWarning(
                f"an unusually large layer: {' and '.join(big)}, more than 2^31 = {LARGE_LAYER:,}",
                layer=layer.path or None,
                pos=layer.pos,
                hint="check the input size and the filters or units of this layer; an extra zero is the usual cause",
            )
        )
    return warnings


def _gib(elements: int) -> str:
    return f"{elements * 4 / 2**30:,.1f} GiB"


def _border_warning(layer: Conv | Pool, shape: Spatial, pads: tuple[int, int, int, int]) -> SpecWarning | None:
    """A stride that does not divide the padded input: torch floors the division and the window never
    reaches the last rows or columns. Said only when real input pixels are lost (not just padding) and more
    of them than the stride skips between any two windows anyway (a 1x1 stride-2 conv samples every other
    pixel by design)."""
    top, bottom, left, right = pads
    lost = []  # (axis, arithmetic, pixels of the input never read)
    for i, (axis, n, before, after) in enumerate((("height", shape.height, top, bottom), ("width", shape.width, left, right))):
        k, s, d = layer.kernel[i], layer.stride[i], layer.dilation[i]
        remainder = formulas.division_remainder(n, k, s, before, after, d)
        dropped = remainder - after
        if dropped > max(s - formulas.effective_kernel(k, d), 0):
            from fractions import Fraction  # only for this warning's text; fractions costs start-up

            exact = Fraction(formulas.conv_numerator(n, k, s, before, after, d), s) + 1
            value = f"= {_decimal(exact)}" if (exact * 1000).denominator == 1 else f"≈ {float(exact):.2f}"
            arithmetic = f"{formulas.conv_length_expression(n, k, s, before, after, d)} {value}, which torch floors to {exact.numerator // exact.denominator}"
            lost.append((axis, arithmetic, dropped))
    if not lost:
        return None
    if len(lost) == 2 and lost[0][1:] == lost[1][1:]:
        where = f"along the height and the width {lost[0][1]}"
        what = f"the last {_count(lost[0][2], 'row')} and {'column' if lost[0][2] == 1 else 'columns'}"
        plural = True
    else:
        plural = len(lost) == 2 or lost[0][2] > 1
        where = " and ".join(f"along the {axis} {arithmetic}" for axis, arithmetic, _ in lost)
        what = " and ".join(
            f"the last {_count(dropped, 'row' if axis == 'height' else 'column')}" for axis, _, dropped in lost
        )
    if isinstance(layer, Pool):
        hint = "`ceil_mode: true` keeps them in a last, partial window; or pad the input"
    else:
        hint = "pad the input, or change the stride, kernel or input size so that the division is exact"
    return SpecWarning(
        f"the stride does not divide the padded input: {where}, "
        f"so {what} of the {shape.height}×{shape.width} input {'are' if plural else 'is'} never read",
        layer=layer.path or None,
        pos=layer.pos,
        hint=hint,
    )


def _decimal(value: Fraction) -> str:
    """An exact decimal with at most 3 places (the caller checked it has one)."""
    whole, frac = divmod(value.numerator * 1000 // value.denominator, 1000)
    return f"{whole}" if frac == 0 else f"{whole}.{frac:03d}".rstrip("0")


def _count(n: int, word: str) -> str:
    return word if n == 1 else f"{n} {word}s"


@dataclass
class _Walk:
    """Accumulates rows in execution order while the tree is walked (private to `analyse`)."""

    rows: list[Row] = field(default_factory=list)
    running_stats: int = 0
    warnings: list[SpecWarning] = field(default_factory=list)
    seen: set[tuple] = field(default_factory=set)
    file: str | None = None

    def warn(self, warnings: list[SpecWarning]) -> None:
        """Keep each warning once per spec line: a block used 16 times, or a repeated layer, says it once."""
        for warning in warnings:
            key = (warning.pos, warning.message)
            if key not in self.seen:
                self.seen.add(key)
                self.warnings.append(warning.with_file(self.file))


@dataclass(frozen=True)
class _Sums:
    output: Shape
    params: int = 0
    trainable: int = 0
    non_trainable: int = 0
    macs: int = 0
    activations: int = 0
    peak: int = 0  # peak live elements, including what callers hold


def _walk_sequence(nodes: tuple[Node, ...], shape: Shape, depth: int, held: int, walk: _Walk) -> _Sums:
    params = trainable = non_trainable = macs = activations = 0
    peak = held + shape.elements
    for node in nodes:
        sums = _walk_node(node, shape, depth, held, walk)
        params += sums.params
        trainable += sums.trainable
        non_trainable += sums.non_trainable
        macs += sums.macs
        activations += sums.activations
        peak = max(peak, sums.peak)
        shape = sums.output
    return _Sums(shape, params, trainable, non_trainable, macs, activations, peak)


def _walk_node(node: Node, shape: Shape, depth: int, held: int, walk: _Walk) -> _Sums:
    if isinstance(node, Sequential):
        index = len(walk.rows)
        walk.rows.append(None)  # type: ignore[arg-type]  # placeholder: the block row goes before its contents
        try:
            sums = _walk_sequence(node.children, shape, depth + 1, held, walk)
        except CnnCalcError as exc:
            _note_block_use(exc, node)
            raise
        walk.rows[index] = Row(
            path=node.path,
            kind=node.label,
            depth=depth,
            input=shape,
            output=sums.output,
            params=sums.params,
            trainable_params=sums.trainable,
            non_trainable_params=sums.non_trainable,
            macs=sums.macs,
            activations=sums.activations,
            is_block=True,
            node=node,
        )
        return sums
    if isinstance(node, Merge):
        return _walk_merge(node, shape, depth, held, walk)
    math = layer_math(node, shape)
    _check_size(node, math.output)
    walk.warn(_layer_warnings(node, shape, math))
    walk.running_stats += math.running_stats
    walk.rows.append(
        Row(
            path=node.path,
            kind=str(node.kind),
            depth=depth,
            input=shape,
            output=math.output,
            params=math.params,
            trainable_params=math.trainable_params,
            non_trainable_params=math.non_trainable_params,
            macs=math.macs,
            activations=math.output.elements,
            padding=math.padding,
            node=node,
        )
    )
    return _Sums(
        math.output,
        math.params,
        math.trainable_params,
        math.non_trainable_params,
        math.macs,
        math.output.elements,
        held + shape.elements + math.output.elements,
    )


def _note_block_use(exc: CnnCalcError, node: Sequential) -> None:
    """An error inside a block points at the block's definition; say which use of it failed, once."""
    if getattr(exc, "block_use_noted", False) or node.label in ("sequential", "repeat", "branch") or node.pos is None:
        return
    if exc.pos is not None and exc.pos.line == node.pos.line:
        return
    exc.message += f"; in `{node.path}`, the `{node.label}` block used at line {node.pos.line}"
    exc.block_use_noted = True  # type: ignore[attr-defined]


def _describe_branch(node: Merge, index: int) -> str:
    branch = node.branches[index]
    if not branch:
        return f"branch {index + 1} (the identity)"
    first, last = branch[0].path, branch[-1].path
    return f"branch {index + 1} (layer {first})" if first == last else f"branch {index + 1} (layers {first} … {last})"


def _difference(a: Shape, b: Shape) -> str:
    """What differs between two branch outputs, for the merge messages."""
    if isinstance(a, Vector) != isinstance(b, Vector):
        return "a vector and a feature map"
    if isinstance(a, Vector) and isinstance(b, Vector):
        return f"{a.features} vs {b.features} features"
    assert isinstance(a, Spatial) and isinstance(b, Spatial)
    parts = []
    if (a.height, a.width) != (b.height, b.width):
        parts.append(f"height and width {a.height}×{a.width} vs {b.height}×{b.width}")
    if a.channels != b.channels:
        parts.append(f"channels {a.channels} vs {b.channels}")
    return ", ".join(parts)


def _walk_merge(node: Merge, shape: Shape, depth: int, held: int, walk: _Walk) -> _Sums:
    params = trainable = non_trainable = macs = activations = 0
    outputs: list[Shape] = []
    peak = held + shape.elements
    kept = 0  # outputs of finished branches, alive until the merge
    for branch in node.branches:
        sums = _walk_sequence(branch, shape, depth, held + shape.elements + kept, walk)
        params += sums.params
        trainable += sums.trainable
        non_trainable += sums.non_trainable
        macs += sums.macs
        activations += sums.activations
        peak = max(peak, sums.peak)
        outputs.append(sums.output)
        if branch:
            kept += sums.output.elements
    output = _merge_shape(node, outputs)
    _check_size(node, output)
    peak = max(peak, held + shape.elements + kept + output.elements)
    walk.rows.append(
        Row(
            path=node.path,
            kind=str(node.merge),
            depth=depth,
            input=shape,
            output=output,
            params=0,
            trainable_params=0,
            non_trainable_params=0,
            macs=0,
            activations=output.elements,
            node=node,
        )
    )
    return _Sums(output, params, trainable, non_trainable, macs, activations + output.elements, peak)


def _merge_shape(node: Merge, outputs: list[Shape]) -> Shape:
    first = outputs[0]
    if node.merge is MergeKind.ADD:
        for i, other in enumerate(outputs[1:], start=1):
            if other != first:
                raise _error(
                    node,
                    f"add needs every branch to give the same shape; {_describe_branch(node, 0)} gives "
                    f"{first.hwc()} but {_describe_branch(node, i)} gives {other.hwc()} ({_difference(first, other)})",
                    hint="make the branches agree, e.g. a 1x1 conv with the right filters and stride on the shortcut",
                )
        return first
    if all(isinstance(o, Vector) for o in outputs):
        return Vector(sum(o.features for o in outputs))
    for i, other in enumerate(outputs[1:], start=1):
        if (
            not isinstance(first, Spatial)
            or not isinstance(other, Spatial)
            or (other.height, other.width) != (first.height, first.width)
        ):
            raise _error(
                node,
                f"concat joins channels, so every branch must have the same height and width; "
                f"{_describe_branch(node, 0)} gives {first.hwc()} but {_describe_branch(node, i)} gives {other.hwc()}"
                f" ({_difference(first, other).split(', channels')[0]})",
                hint="give the branches the same strides and padding so their feature maps line up",
            )
    return Spatial(first.height, first.width, sum(o.channels for o in outputs))  # type: ignore[union-attr]


def analyse(network: Network, input_shape: Shape | None = None) -> Analysis:
    """Every row and the totals of `network`, on its own input or on `input_shape`.

    Problems that stop the run raise CnnCalcError located at the layer (file, line, path);
    legal but suspicious things are collected in `Analysis.warnings`, in execution order.
    """
    shape = input_shape or network.input
    walk = _Walk(file=network.file)
    try:
        sums = _walk_sequence(network.layers, shape, 1, 0, walk)
    except CnnCalcError as exc:
        raise exc.located(file=network.file)
    totals = Totals(
        params=sums.params,
        trainable_params=sums.trainable,
        non_trainable_params=sums.non_trainable,
        macs=sums.macs,
        activations=sums.activations,
        peak_activations=sums.peak,
        input_elements=shape.elements,
        running_stats=walk.running_stats,
    )
    return Analysis(network, shape, tuple(walk.rows), totals, tuple(walk.warnings))


__all__ = ["ACTIVATIONS", "Analysis", "LayerKind", "LayerMath", "Row", "Totals", "analyse", "layer_math"]
