"""What convolutions and pools share: padding rules resolved per axis, output lengths, and the
kernel-too-large message with the arithmetic of every failing axis (any rank)."""

from __future__ import annotations

from typing import Any

from cnncalc.kinds import formulas
from cnncalc.enums import PaddingMode
from cnncalc.errors import SpecWarning
from cnncalc.kinds.base import AxisContext, Through, Window, axes_json, layer_error, padding_json, torch_pad, torch_size
from cnncalc.kinds.worked import LayerUse, Section, Step, axes_label, decimal, num
from cnncalc.model.layers import describe_pads, pair_text
from cnncalc.model.shapes import Spatial
from cnncalc.words import and_list

KERNEL_HINT = "use padding (e.g. `padding: same`) or a smaller kernel, or give the network a larger input"


def resolve_padding(layer: Any, sizes: tuple[int, ...]) -> tuple[int, ...]:
    """(before, after) per axis: explicit as written, `valid` none, `same` TensorFlow's rule (formulas.same_padding)."""
    padding = layer.padding
    if padding.mode is PaddingMode.VALID:
        return (0,) * (2 * len(sizes))
    if padding.mode is PaddingMode.SAME:
        out: list[int] = []
        for i, n in enumerate(sizes):
            out.extend(formulas.same_padding(n, layer.kernel[i], layer.stride[i], layer.dilation[i]))
        return tuple(out)
    return padding.explicit


def torch_padding(layer: Any, pool: bool) -> tuple[Any, Any]:
    """(torch's `padding` argument, the pad an exported `Padded…` module applies first, or None).

    torch takes symmetric padding per axis and, for a convolution at stride 1, `"same"`; anything else
    (one side more than the other, TensorFlow's `same` at stride > 1, any `same` pool) is an explicit pad
    first: F.pad's (last axis first) tuple, or `"same"` for the rule computed from the input's size."""
    mode = layer.padding.mode
    if mode is PaddingMode.SAME:
        if not pool and all(s == 1 for s in layer.stride):
            return "same", None
        return 0, "same"
    if mode is PaddingMode.VALID:
        return 0, None
    pairs = layer.padding.per_axis()
    if all(before == after for before, after in pairs):
        return torch_size(tuple(before for before, _ in pairs)), None
    return 0, torch_pad(pairs)


def padded_copy(layer: Any, use: LayerUse, pool: bool) -> int:
    """Elements (per sample) of the padded copy torch makes before the window slides; 0 when the module pads inside.

    nn.ConvNd and the pools pad evenly inside. TensorFlow's `same` (pools always, convs at stride > 1) and
    uneven explicit padding are an F.pad first in cnncalc's torch equivalent (kinds/torch_ops.py); torch's own
    padding="same" pads the odd extra pixel of an even kernel with F.pad too (at::_conv_padding_same)."""
    x, pads = use.input, use.padding
    if layer.padding.mode is PaddingMode.VALID or pads is None or not isinstance(x, Spatial):
        return 0
    pairs = list(zip(pads[::2], pads[1::2]))
    separate = layer.padding.mode is PaddingMode.SAME and (pool or any(s != 1 for s in layer.stride))
    if separate or (layer.padding.mode is PaddingMode.EXPLICIT and any(b != a for b, a in pairs)):
        extra = [b + a for b, a in pairs]  # F.pad copies even when every amount is 0
    elif layer.padding.mode is PaddingMode.SAME:
        extra = [a - b for b, a in pairs]  # torch's "same": the even part inside the conv, the odd pixel after
        if not any(extra):
            return 0
    else:
        return 0
    size = x.channels
    for n, e in zip(x.sizes, extra):
        size *= n + e
    return size


def sliding_lengths(layer: Any, shape: Spatial, pads: tuple[int, ...], pool: bool, ceil_mode: bool = False) -> tuple[int, ...]:
    lengths = []
    too_small = []  # (axis, arithmetic, span, padded length) of each axis with no output
    for i, (axis, n) in enumerate(zip(shape.axes, shape.sizes)):
        before, after = pads[2 * i], pads[2 * i + 1]
        k, s, d = layer.kernel[i], layer.stride[i], layer.dilation[i]
        if pool:
            out = formulas.pool_output_length(n, k, s, before, after, d, ceil_mode)
        else:
            out = formulas.conv_output_length(n, k, s, before, after, d)
        if out < 1:
            arithmetic = f"{formulas.conv_length_expression(n, k, s, before, after, d)} = {out}"
            too_small.append((axis, arithmetic, formulas.effective_kernel(k, d), n + before + after))
        lengths.append(out)
    if too_small:
        raise layer_error(layer, _kernel_too_large(layer, shape, pads, too_small), hint=KERNEL_HINT)
    return tuple(lengths)


def _the_axes(names: list[str]) -> str:
    """`the height and the width`, `the depth, the height and the width`."""
    return and_list([f"the {n}" for n in names])


def _kernel_too_large(layer: Any, shape: Spatial, pads: tuple[int, ...], axes: list) -> str:
    """The rule, the arithmetic per failing axis with the numbers in, and the sizes involved."""
    same = len(axes) > 1 and all(a[1:] == axes[0][1:] for a in axes)
    if same and len(axes) == shape.rank:
        where = f"along {_the_axes([a[0] for a in axes])} {axes[0][1]}"
    else:
        where = " and ".join(f"along the {axis} {arithmetic}" for axis, arithmetic, _, _ in axes)
    if len(axes) > 1 and not same:
        spans = "×".join(str(a[2]) for a in axes)
        padded = "×".join(str(a[3]) for a in axes)
        sizes = f"the {spans}-pixel kernel is larger than the {padded}-pixel padded input"
    else:
        _, _, span, padded = axes[0]
        sizes = f"the {span}-pixel kernel is larger than the {padded}-pixel padded input"
    ones = (1,) * len(layer.dilation)
    kernel = "×".join(map(str, layer.kernel)) + ("" if layer.dilation == ones else f" with dilation {pair_text(layer.dilation)}")
    befores, afters = pads[0::2], pads[1::2]
    if all(p == pads[0] for p in pads):
        padding = str(pads[0])
    elif befores == afters:
        padding = "[" + ", ".join(map(str, befores)) + "]"
    else:
        padding = "[" + ", ".join(map(str, pads)) + "]"
    return (
        f"the kernel must fit inside the padded input, but {where}: {sizes} "
        f"(kernel {kernel}, input {'×'.join(map(str, shape.sizes))}, padding {padding})"
    )


def window_field(layer: Any, axis: AxisContext) -> Through:
    """A conv's or pool's window along one axis, with the padding the analysis resolved."""
    i = axis.axis
    return Through(Window(layer.kernel[i], layer.stride[i], layer.dilation[i], axis.pad_before or 0))


_UNIT_WORDS = {"height": "row", "width": "column", "length": "position", "depth": "slice"}


def border_warning(layer: Any, shape: Spatial, pads: tuple[int, ...], pool: bool) -> SpecWarning | None:
    """A stride that does not divide the padded input: torch floors the division and the window never
    reaches the last rows or columns. Said only when real input pixels are lost (not just padding) and more
    of them than the stride skips between any two windows anyway (a 1x1 stride-2 conv samples every other
    pixel by design)."""
    lost = []  # (axis, arithmetic, pixels of the input never read)
    for i, (axis, n) in enumerate(zip(shape.axes, shape.sizes)):
        before, after = pads[2 * i], pads[2 * i + 1]
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
    if len(lost) == 2 and shape.rank == 2 and lost[0][1:] == lost[1][1:]:
        where = f"along the height and the width {lost[0][1]}"
        what = f"the last {_count(lost[0][2], 'row')} and {'column' if lost[0][2] == 1 else 'columns'}"
        plural = True
    else:
        plural = len(lost) >= 2 or lost[0][2] > 1
        where = " and ".join(f"along the {axis} {arithmetic}" for axis, arithmetic, _ in lost)
        what = " and ".join(f"the last {_count(dropped, _UNIT_WORDS[axis])}" for axis, _, dropped in lost)
    if pool:
        hint = "`ceil_mode: true` keeps them in a last, partial window; or pad the input"
    else:
        hint = "pad the input, or change the stride, kernel or input size so that the division is exact"
    return SpecWarning(
        f"the stride does not divide the padded input: {where}, "
        f"so {what} of the {_input_words(shape)} input {'are' if plural else 'is'} never read",
        layer=layer.path or None,
        pos=layer.pos,
        hint=hint,
    )


def _input_words(shape: Spatial) -> str:
    """`7×7` (an image), `length-122` (a signal), `4×7×7` (a volume): the input named in the warning."""
    return f"length-{shape.sizes[0]}" if shape.rank == 1 else "×".join(map(str, shape.sizes))


def _decimal(value: Any) -> str:
    """An exact decimal with at most 3 places (the caller checked it has one)."""
    whole, frac = divmod(value.numerator * 1000 // value.denominator, 1000)
    return f"{whole}" if frac == 0 else f"{whole}.{frac:03d}".rstrip("0")


def _count(n: int, word: str) -> str:
    return word if n == 1 else f"{n} {word}s"


def window_summary(layer: Any, padding: tuple[int, ...] | None) -> str:
    """`k5 s1 p0`-style summary of a sliding window (conv, transposed conv, pool)."""
    parts = [f"k{pair_text(layer.kernel, 'x')}", f"s{pair_text(layer.stride, 'x')}"]
    if padding is not None:
        parts.append(f"p{describe_pads(padding)}")
    if any(d != 1 for d in layer.dilation):
        parts.append(f"d{pair_text(layer.dilation, 'x')}")
    if getattr(layer, "groups", 1) != 1:
        parts.append(f"g{layer.groups}")
    output_padding = getattr(layer, "output_padding", None)
    if output_padding is not None and any(output_padding):
        parts.append(f"op{pair_text(output_padding, 'x')}")
    if getattr(layer, "ceil_mode", False):
        parts.append("ceil")
    return " ".join(parts)


def window_json(layer: Any, padding: tuple[int, ...] | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kernel": axes_json(layer.kernel),
        "stride": axes_json(layer.stride),
        "dilation": axes_json(layer.dilation),
    }
    if padding is not None:
        out["padding"] = padding_json(padding)
    if hasattr(layer, "groups"):
        out["groups"] = layer.groups
    if hasattr(layer, "output_padding"):
        out["output_padding"] = axes_json(layer.output_padding)
    if hasattr(layer, "ceil_mode"):
        out["ceil_mode"] = layer.ceil_mode
    return out


# --------------------------------------------------------------------------- worked text


def _axes(use: LayerUse) -> list[tuple[str, int, int, int, int, int, int, int]]:
    """(label, axis, n, f, s, d, p_before, p_after) per axis; one line `height, width` when every axis agrees."""
    layer, x, pads = use.layer, use.input, use.padding
    assert isinstance(x, Spatial) and pads is not None
    per = [
        (i, n, layer.kernel[i], layer.stride[i], layer.dilation[i], pads[2 * i], pads[2 * i + 1])
        for i, n in enumerate(x.sizes)
    ]
    if len(per) > 1 and all(p[1:] == per[0][1:] for p in per):
        return [(axes_label(x), *per[0])]
    return [(x.axes[p[0]], *p) for p in per]


def sliding_rule(layer: Any) -> str:
    span = "f" if all(d == 1 for d in layer.dilation) else "d(f − 1) − 1"
    pads = "2p" if layer.padding.mode is PaddingMode.EXPLICIT and layer.padding.is_symmetric else "p_before + p_after"
    inner = f"(n + {pads} − {span})/s"
    if getattr(layer, "ceil_mode", False):
        return f"⌈{inner}⌉ + 1 (ceil_mode: rounds up)"
    return f"⌊{inner}⌋ + 1 (PyTorch rounds down)"


def conv_length_step(label: str, n: int, f: int, s: int, before: int, after: int, d: int = 1) -> Step:
    """`(10 + 2·0 − 3)/2 + 1 = 4.5` with the note `⌊7/2⌋ + 1 = 4` when the division is not exact (torch floors)."""
    from fractions import Fraction

    expression = formulas.conv_length_expression(n, f, s, before, after, d)
    value = formulas.conv_output_length(n, f, s, before, after, d)
    if formulas.division_remainder(n, f, s, before, after, d) == 0:
        return Step(label, expression, num(value))
    numerator = formulas.conv_numerator(n, f, s, before, after, d)
    exact = decimal(Fraction(numerator, s) + 1)
    return Step(label, expression, exact, note=f"not a whole number: ⌊{numerator}/{s}⌋ + 1 = {value}")


def _length_steps(use: LayerUse) -> tuple[list[Step], list[str]]:
    from fractions import Fraction

    layer, out = use.layer, use.output
    assert isinstance(out, Spatial)
    ceil_mode = getattr(layer, "ceil_mode", False)
    steps: list[Step] = []
    notes: list[str] = []
    for label, axis, n, f, s, d, before, after in _axes(use):
        value = out.sizes[axis]
        expression = formulas.conv_length_expression(n, f, s, before, after, d)
        numerator = formulas.conv_numerator(n, f, s, before, after, d)
        remainder = formulas.division_remainder(n, f, s, before, after, d)
        if remainder == 0:
            steps.append(Step(label, expression, num(value)))
            continue
        exact = decimal(Fraction(numerator, s) + 1)
        floor_value = formulas.pool_output_length(n, f, s, before, after, d, ceil_mode=False)
        if not ceil_mode:
            steps.append(conv_length_step(label, n, f, s, before, after, d))
            notes.append(
                f"{label}: {numerator}/{s} is not a whole number, so the windows do not tile the padded "
                f"{n + before + after}-pixel input exactly. CS231n calls such hyperparameters invalid "
                f"({expression} = {exact}); PyTorch rounds down to {value}, and cnncalc does as PyTorch: "
                f"the last {remainder} pixel{'s' if remainder != 1 else ''} of the padded input "
                f"{'are' if remainder != 1 else 'is'} never covered by a window."
            )
            continue
        rounded_up = floor_value + 1  # ceil of a non-integer quotient is its floor + 1
        note = f"not a whole number: ceil_mode rounds up, ⌈{numerator}/{s}⌉ + 1 = {rounded_up}"
        if value != rounded_up:
            note += f", then drops the last window, which would start in the padding: {value}"
        steps.append(Step(label, expression, exact, note=note))
        if value != rounded_up:
            notes.append(
                f"{label}: {expression} = {exact} is not a whole number (CS231n calls this invalid). ceil_mode rounds "
                f"up to {rounded_up}, but that last window would start beyond the input and its leading padding, "
                f"so torch drops it: {value}, the same as rounding down."
            )
        else:
            notes.append(
                f"{label}: {expression} = {exact} is not a whole number (CS231n calls this invalid). PyTorch's "
                f"default rounds down to {floor_value}; with ceil_mode=True, as here, it rounds up and keeps a last, "
                f"partial window: {value}."
            )
    return steps, notes


_ODD_PIXEL = {1: "right", 2: "bottom/right", 3: "back/bottom/right"}


def _padding_steps(use: LayerUse) -> list[Step]:
    layer, x, pads = use.layer, use.input, use.padding
    assert isinstance(x, Spatial) and pads is not None
    if layer.padding.mode is PaddingMode.VALID:
        return [Step("padding", "", "valid: no padding, p = 0")]
    if layer.padding.mode is not PaddingMode.SAME:
        return []
    per = [(x.axes[i], n, i, pads[2 * i], pads[2 * i + 1]) for i, n in enumerate(x.sizes)]
    keys = [(n, layer.kernel[i], layer.stride[i], layer.dilation[i]) for _, n, i, _, _ in per]
    if len(per) > 1 and all(k == keys[0] for k in keys):
        per = [(axes_label(x), *per[0][1:])]
    steps = []
    for label, n, i, before, after in per:
        f, s, d = layer.kernel[i], layer.stride[i], layer.dilation[i]
        span = str(f) if d == 1 else f"{formulas.effective_kernel(f, d)}"
        total = before + after
        formula = f"max((⌈{n}/{s}⌉ − 1)·{s} + {span} − {n}, 0)"
        odd = _ODD_PIXEL[x.rank]
        split = f"{before} before, {after} after" + (f" (the odd pixel goes after: {odd})" if before != after else "")
        steps.append(Step(f"same padding, {label}", formula, f"{total} → {split}"))
    return steps


def output_size_section(use: LayerUse, channels: Step) -> Section:
    """The output-size section of a conv or pool: padding rule, each axis's length, then the channels."""
    steps, notes = _length_steps(use)
    steps = _padding_steps(use) + steps
    steps.append(channels)
    return Section("Output size", "n_out = " + sliding_rule(use.layer), tuple(steps), tuple(notes))


def window_headline(layer: Any, padding_text: str) -> list[str]:
    """`stride 2, padding 1, dilation 2, …`: the window's options for a derivation's title."""
    parts = [f"stride {pair_text(layer.stride)}", f"padding {padding_text}"]
    output_padding = getattr(layer, "output_padding", None)
    if output_padding is not None and any(output_padding):
        parts.append(f"output_padding {pair_text(output_padding)}")
    if any(d != 1 for d in layer.dilation):
        parts.append(f"dilation {pair_text(layer.dilation)}")
    if getattr(layer, "groups", 1) != 1:
        parts.append(f"groups {layer.groups}")
    if getattr(layer, "bias", True) is False:
        parts.append("no bias")
    if getattr(layer, "ceil_mode", False):
        parts.append("ceil_mode")
    return parts
