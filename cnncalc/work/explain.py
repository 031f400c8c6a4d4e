"""Worked derivations: each formula of a layer with the numbers put in, for `cnncalc layer` and `explain`.

Every value shown is returned by `formulas` or by the engine (`analyse` rows); this module
only writes the inputs next to it, in the course notes' notation (n, p, f, s, c, k).
Pure: builds dataclasses and strings, prints nothing.
"""

from __future__ import annotations

import difflib
import textwrap
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from cnncalc.kinds import formulas
from cnncalc.core.engine import Analysis, Row, analyse, layer_math
from cnncalc.enums import ACTIVATIONS, Dtype, MergeKind, PaddingMode
from cnncalc.errors import CnnCalcError, SpecWarning
from cnncalc.model.layers import (
    AdaptivePool,
    BatchNorm,
    Conv,
    ConvTranspose,
    Fc,
    Flatten,
    Layer,
    Merge,
    Network,
    Node,
    Pool,
    Sequential,
    Upsample,
    ZeroPad,
    pair_text,
)
from cnncalc.model.shapes import Shape, Spatial, Vector


@dataclass(frozen=True)
class Step:
    """One line of working: `label  formula = value`, and a note when something needs saying."""

    label: str
    formula: str
    value: str
    note: str = ""

    def text(self) -> str:
        body = f"{self.formula} = {self.value}" if self.formula else self.value
        return body


@dataclass(frozen=True)
class Section:
    title: str
    rule: str = ""  # the general formula, before substitution
    steps: tuple[Step, ...] = ()
    notes: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "rule": self.rule,
            "steps": [
                {"label": s.label, "formula": s.formula, "value": s.value, **({"note": s.note} if s.note else {})}
                for s in self.steps
            ],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Worked:
    """A titled derivation: a headline, sections of steps, and closing notes."""

    title: str
    summary: tuple[str, ...] = ()
    sections: tuple[Section, ...] = ()
    notes: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)  # the numbers, for --format json
    # The engine's warnings about the layers worked out (`cnncalc layer`, `compare`): the CLI prints
    # them to stderr as `table` does; they are not part of the derivation or its JSON.
    warnings: tuple[SpecWarning, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {**self.data, "derivation": [s.as_json() for s in self.sections], "notes": list(self.notes)}


# --------------------------------------------------------------------------- formatting


def num(value: int) -> str:
    return f"{value:,}"


def decimal(value: Fraction) -> str:
    """An exact decimal when there is one (4.5), else three places cut short and an ellipsis (2.333…)."""
    if value.denominator == 1:
        return str(value.numerator)
    d = value.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    if d == 1:
        return f"{float(value):.10f}".rstrip("0")
    # Cut, not rounded: 2.9999 must not read as 3.000, since the floor is what matters here.
    thousandths = value.numerator * 1000 // value.denominator
    return f"{thousandths // 1000}.{thousandths % 1000:03d}…"


def product(*factors: int | str) -> str:
    return "·".join(str(f) for f in factors)


def _per_group(channels: int, groups: int) -> str:
    return str(channels) if groups == 1 else f"({channels}/{groups})"


def _pair_text(pair: tuple[int, int]) -> str:
    return f"{pair[0]}×{pair[1]}"


def _activation_section(row: Row, dtype: Dtype) -> Section:
    out = row.output
    factors = (out.height, out.width, out.channels) if isinstance(out, Spatial) else (out.features,)
    elements = row.activations
    formula = product(*factors) if len(factors) > 1 else ""
    return Section(
        "Activations",
        "output elements for one sample",
        (
            Step("elements", formula, num(elements)),
            Step("bytes", f"{num(elements)}·{dtype.bytes}", f"{num(elements * dtype.bytes)} ({dtype})"),
        ),
    )


# --------------------------------------------------------------------------- sliding windows


def _axes(row: Row) -> list[tuple[str, int, int, int, int, int, int]]:
    """(label, n, f, s, d, p_before, p_after) per axis; one line `height, width` when both agree."""
    node = row.node
    assert isinstance(node, (Conv, Pool)) and isinstance(row.input, Spatial) and row.padding is not None
    top, bottom, left, right = row.padding
    h = (row.input.height, node.kernel[0], node.stride[0], node.dilation[0], top, bottom)
    w = (row.input.width, node.kernel[1], node.stride[1], node.dilation[1], left, right)
    if h == w:
        return [("height, width", *h)]
    return [("height", *h), ("width", *w)]


def _sliding_rule(node: Conv | Pool) -> str:
    span = "f" if node.dilation == (1, 1) else "d(f − 1) − 1"
    pads = "2p" if row_symmetric(node) else "p_before + p_after"
    inner = f"(n + {pads} − {span})/s"
    if isinstance(node, Pool) and node.ceil_mode:
        return f"⌈{inner}⌉ + 1 (ceil_mode: rounds up)"
    return f"⌊{inner}⌋ + 1 (PyTorch rounds down)"


def row_symmetric(node: Conv | Pool) -> bool:
    return node.padding.mode is PaddingMode.EXPLICIT and node.padding.is_symmetric


def conv_length_step(label: str, n: int, f: int, s: int, before: int, after: int, d: int = 1) -> Step:
    """`(10 + 2·0 − 3)/2 + 1 = 4.5` with the note `⌊7/2⌋ + 1 = 4` when the division is not exact (torch floors)."""
    expression = formulas.conv_length_expression(n, f, s, before, after, d)
    value = formulas.conv_output_length(n, f, s, before, after, d)
    if formulas.division_remainder(n, f, s, before, after, d) == 0:
        return Step(label, expression, num(value))
    numerator = formulas.conv_numerator(n, f, s, before, after, d)
    exact = decimal(Fraction(numerator, s) + 1)
    return Step(label, expression, exact, note=f"not a whole number: ⌊{numerator}/{s}⌋ + 1 = {value}")


def _length_steps(row: Row) -> tuple[list[Step], list[str]]:
    node = row.node
    assert isinstance(node, (Conv, Pool)) and isinstance(row.output, Spatial)
    ceil_mode = isinstance(node, Pool) and node.ceil_mode
    steps: list[Step] = []
    notes: list[str] = []
    for label, n, f, s, d, before, after in _axes(row):
        value = row.output.height if label.startswith("height") else row.output.width
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


def _padding_steps(row: Row) -> list[Step]:
    node = row.node
    assert isinstance(node, (Conv, Pool)) and isinstance(row.input, Spatial) and row.padding is not None
    if node.padding.mode is PaddingMode.VALID:
        return [Step("padding", "", "valid: no padding, p = 0")]
    if node.padding.mode is not PaddingMode.SAME:
        return []
    steps = []
    top, bottom, left, right = row.padding
    axes = [("height", row.input.height, 0, top, bottom), ("width", row.input.width, 1, left, right)]
    if (row.input.height, node.kernel[0], node.stride[0], node.dilation[0]) == (
        row.input.width,
        node.kernel[1],
        node.stride[1],
        node.dilation[1],
    ):
        axes = [("height, width", row.input.height, 0, top, bottom)]
    for label, n, i, before, after in axes:
        f, s, d = node.kernel[i], node.stride[i], node.dilation[i]
        span = str(f) if d == 1 else f"{formulas.effective_kernel(f, d)}"
        total = before + after
        formula = f"max((⌈{n}/{s}⌉ − 1)·{s} + {span} − {n}, 0)"
        split = f"{before} before, {after} after" + (" (the odd pixel goes after: bottom/right)" if before != after else "")
        steps.append(Step(f"same padding, {label}", formula, f"{total} → {split}"))
    return steps


def _sliding_sections(row: Row) -> list[Section]:
    node = row.node
    assert isinstance(node, (Conv, Pool))
    steps, notes = _length_steps(row)
    steps = _padding_steps(row) + steps
    if isinstance(node, Conv):
        steps.append(Step("channels", "", f"filters = {node.filters}"))
    else:
        steps.append(Step("channels", "", f"unchanged = {row.output.channels}"))
    rule = "n_out = " + _sliding_rule(node)
    return [Section("Output size", rule, tuple(steps), tuple(notes))]


# --------------------------------------------------------------------------- per kind


def conv_param_formula(row: Row) -> str:
    """`(7·7·16 + 1)·32` for a conv or transposed conv row (its value is `row.params`)."""
    node = row.node
    assert isinstance(node, (Conv, ConvTranspose))
    per_filter = product(node.kernel[0], node.kernel[1], _per_group(row.input.channels, node.groups))
    return f"({per_filter} + 1)·{node.filters}" if node.bias else f"{per_filter}·{node.filters}"


def conv_mac_formula(row: Row) -> str:
    """`29·29·7·7·16·32` for a conv row (its value is `row.macs`)."""
    node = row.node
    assert isinstance(node, Conv) and isinstance(row.output, Spatial)
    fh, fw = node.kernel
    return product(row.output.height, row.output.width, fh, fw, _per_group(row.input.channels, node.groups), node.filters)


def _conv_parameter_sections(row: Row, node: Conv | ConvTranspose) -> tuple[list[Section], int, int]:
    c = row.input.channels
    k, g = node.filters, node.groups
    fh, fw = node.kernel
    weights = formulas.conv_weights((fh, fw), c, k, g)
    biases = row.params - weights
    rule = "(f_h·f_w·c + 1)·k" if g == 1 else "(f_h·f_w·(c/g) + 1)·k"
    steps = [
        Step("weights", product(fh, fw, _per_group(c, g), k), num(weights)),
        Step("biases", "", num(biases) if node.bias else "0 (bias: false)"),
        Step("total", conv_param_formula(row), num(row.params)),
    ]
    notes = []
    if isinstance(node, ConvTranspose):
        notes.append(
            f"torch stores the weight as c_in × k/g × f_h × f_w = {c}×{k // g}×{fh}×{fw}: the same count as a conv."
        )
    if g != 1:
        notes.append(f"groups {g}: each filter sees only c/g = {c // g} of the {c} input channels.")
    return [Section("Parameters", rule, tuple(steps), tuple(notes))], weights, biases


def _conv_derivation(row: Row) -> tuple[list[Section], int, int]:
    node = row.node
    assert isinstance(node, Conv) and isinstance(row.output, Spatial)
    sections = _sliding_sections(row)
    params, weights, biases = _conv_parameter_sections(row, node)
    macs = Step("MACs", conv_mac_formula(row), num(row.macs))
    macs_section = Section(
        "Multiply-accumulates",
        "n_out_h·n_out_w·f_h·f_w·c·k: one per weight per output position (biases not counted)",
        (macs,),
    )
    return [*sections, *params, macs_section], weights, biases


def transpose_expression(n: int, f: int, s: int, p: int, op: int, d: int) -> str:
    span = f"({f} − 1)" if d == 1 else f"{d}·({f} − 1)"
    return f"({n} − 1)·{s} − 2·{p} + {span} + {op} + 1"


def _transpose_derivation(row: Row) -> tuple[list[Section], int, int]:
    node = row.node
    assert isinstance(node, ConvTranspose) and isinstance(row.input, Spatial) and isinstance(row.output, Spatial)
    axes = [
        ("height", row.input.height, 0, row.output.height),
        ("width", row.input.width, 1, row.output.width),
    ]
    key = lambda a: (a[1], node.kernel[a[2]], node.stride[a[2]], node.padding[a[2]], node.output_padding[a[2]], node.dilation[a[2]])  # noqa: E731
    if key(axes[0]) == key(axes[1]):
        axes = [("height, width", *axes[0][1:])]
    steps = []
    notes = []
    for label, n, i, value in axes:
        f, s, p, op, d = node.kernel[i], node.stride[i], node.padding[i], node.output_padding[i], node.dilation[i]
        steps.append(Step(label, transpose_expression(n, f, s, p, op, d), num(value)))
        if s > 1:
            sources = conv_inputs_for(value - op, f, s, p, d, n)
            if len(sources) > 1:
                notes.append(
                    f"{label}: a conv with the same f, s, p maps every size in {sources[0]}..{sources[-1]} to {n}, "
                    f"so the transposed conv cannot know which to restore; output_padding (0..{max(s, d) - 1}) picks one: "
                    f"{value - op} + {op} = {value}. See `cnncalc solve output-padding`."
                )
    steps.append(Step("channels", "", f"filters = {node.filters}"))
    sections = [
        Section(
            "Output size",
            "n_out = (n − 1)·s − 2p + d(f − 1) + output_padding + 1 (Dumoulin & Visin, relation 14)",
            tuple(steps),
            tuple(notes),
        )
    ]
    params, weights, biases = _conv_parameter_sections(row, node)
    fh, fw = node.kernel
    c, k, g = row.input.channels, node.filters, node.groups
    macs = Section(
        "Multiply-accumulates",
        "n_h·n_w·f_h·f_w·c·k/g: every input position is scattered through every weight once",
        (Step("MACs", product(row.input.height, row.input.width, fh, fw, _per_group(c, g), k), num(row.macs)),),
    )
    return [*sections, *params, macs], weights, biases


def conv_inputs_for(out: int, f: int, s: int, p: int, d: int, target: int) -> list[int]:
    """The first and last input sizes that a conv (f, s, p, d) maps to `target`, from `out`, the smallest of them.

    They run from `out` (the transposed conv's size without output padding) to out + s − 1, as the
    floor drops up to s − 1 pixels; the ends are confirmed with the conv formula, and sizes that
    do not map to `target` (a torch padding larger than the input allows) are left out.
    """
    ends = [n for n in (max(1, out), out + s - 1) if formulas.conv_output_length(n, f, s, p, p, d) == target]
    return sorted(set(ends))


def _pool_derivation(row: Row) -> tuple[list[Section], int, int]:
    sections = _sliding_sections(row)
    sections.append(Section("Parameters", "", (Step("total", "", "0 (a pool has no weights)"),)))
    sections.append(
        Section("Multiply-accumulates", "", (Step("MACs", "", "0 (comparisons and sums are not counted as MACs)"),))
    )
    return sections, 0, 0


def _fc_derivation(row: Row) -> tuple[list[Section], int, int]:
    node = row.node
    assert isinstance(node, Fc) and isinstance(row.input, Vector)
    n_in, units = row.input.features, node.units
    weights = formulas.fc_params(n_in, units, bias=False)
    biases = row.params - weights
    sections = [
        Section("Output size", "n_out = units", (Step("features", "", num(units)),)),
        Section(
            "Parameters",
            "(n_in + 1)·n_out",
            (
                Step("weights", product(num(n_in), num(units)), num(weights)),
                Step("biases", "", num(biases) if node.bias else "0 (bias: false)"),
                Step("total", f"({num(n_in)} + 1)·{num(units)}" if node.bias else product(num(n_in), num(units)), num(row.params)),
            ),
        ),
        Section(
            "Multiply-accumulates",
            "n_in·n_out (biases not counted)",
            (Step("MACs", product(num(n_in), num(units)), num(row.macs)),),
        ),
    ]
    return sections, weights, biases


def _simple_derivation(row: Row) -> tuple[list[Section], int, int]:
    node = row.node
    x, out = row.input, row.output
    steps: list[Step] = []
    notes: list[str] = []
    weights = biases = 0
    extra: list[Section] = []
    if isinstance(node, Flatten):
        factors = (x.height, x.width, x.channels) if isinstance(x, Spatial) else (x.features,)
        steps.append(Step("features", product(*factors) if len(factors) > 1 else "", num(out.elements)))
    elif isinstance(node, AdaptivePool):
        assert isinstance(out, Spatial)
        steps.append(Step("height, width", "", f"{out.height}×{out.width}, fixed by the layer whatever the input"))
        steps.append(Step("channels", "", f"unchanged = {out.channels}"))
    elif isinstance(node, ZeroPad):
        assert isinstance(x, Spatial) and isinstance(out, Spatial)
        top, bottom, left, right = node.padding.explicit
        steps.append(Step("height", f"{x.height} + {top} + {bottom}", num(out.height)))
        steps.append(Step("width", f"{x.width} + {left} + {right}", num(out.width)))
    elif isinstance(node, Upsample):
        assert isinstance(x, Spatial) and isinstance(out, Spatial)
        if node.size is not None:
            steps.append(Step("height, width", "", f"{out.height}×{out.width}, the `size` asked for"))
        else:
            assert node.scale is not None
            steps.append(Step("height", f"⌊{x.height}·{node.scale[0]}⌋", num(out.height)))
            steps.append(Step("width", f"⌊{x.width}·{node.scale[1]}⌋", num(out.width)))
    elif isinstance(node, BatchNorm):
        c = x.channels
        weights = c if node.affine else 0
        biases = row.params - weights
        steps.append(Step("shape", "", f"unchanged = {out.hwc()}"))
        stats = formulas.batchnorm_running_stats(c, node.track_running_stats)
        extra.append(
            Section(
                "Parameters",
                "2·c: a scale γ (weight) and a shift β (bias) per channel",
                (
                    Step("weights γ", "", num(weights)),
                    Step("biases β", "", num(biases)),
                    Step("total", f"2·{c}" if node.affine else "", num(row.params)),
                    Step("running statistics", f"2·{c}" if stats else "", f"{num(stats)} (mean and variance: buffers, not trained)"),
                ),
            )
        )
    else:
        what = "elementwise" if node is not None and getattr(node, "kind", None) in ACTIVATIONS else "shape-preserving"
        steps.append(Step("shape", "", f"unchanged = {out.hwc()} ({what}, no weights)"))
    sections = [Section("Output size", "", tuple(steps), tuple(notes)), *extra]
    return sections, weights, biases


def _headline(row: Row) -> str:
    node = row.node
    parts: list[str] = [str(row.kind)]
    if isinstance(node, (Conv, ConvTranspose)):
        parts.append(f"{node.filters} filters {_pair_text(node.kernel)}")
    elif isinstance(node, Pool):
        parts.append(_pair_text(node.kernel))
    elif isinstance(node, Fc):
        parts.append(f"{node.units} units")
    if isinstance(node, (Conv, ConvTranspose, Pool)):
        parts.append(f"stride {pair_text(node.stride)}")
        if isinstance(node, ConvTranspose):
            parts.append(f"padding {pair_text(node.padding)}")
            if node.output_padding != (0, 0):
                op = node.output_padding
                parts.append(f"output_padding {pair_text(op)}")
        else:
            parts.append(f"padding {node.padding.describe()}")
        if node.dilation != (1, 1):
            parts.append(f"dilation {pair_text(node.dilation)}")
        if isinstance(node, (Conv, ConvTranspose)) and node.groups != 1:
            parts.append(f"groups {node.groups}")
        if isinstance(node, (Conv, ConvTranspose)) and not node.bias:
            parts.append("no bias")
        if isinstance(node, Pool) and node.ceil_mode:
            parts.append("ceil_mode")
    return ", ".join([" ".join(parts[:2]), *parts[2:]]) if len(parts) > 1 else parts[0]


def leaf_derivation(
    row: Row,
    dtype: Dtype = Dtype.FLOAT32,
    *,
    source: str | None = None,
    flattened_from: Shape | None = None,
    show_path: bool = True,
) -> Worked:
    """The worked derivation of one leaf row: output size, parameters, MACs, activations."""

    node = row.node
    if isinstance(node, Conv):
        sections, weights, biases = _conv_derivation(row)
    elif isinstance(node, ConvTranspose):
        sections, weights, biases = _transpose_derivation(row)
    elif isinstance(node, Pool):
        sections, weights, biases = _pool_derivation(row)
    elif isinstance(node, Fc):
        sections, weights, biases = _fc_derivation(row)
    else:
        sections, weights, biases = _simple_derivation(row)
    if flattened_from is not None:
        assert isinstance(flattened_from, Spatial)
        flatten = Section(
            "Flatten (implicit)",
            "fc needs a vector: the feature map is flattened first, as nn.Flatten before nn.Linear",
            (Step("features", product(flattened_from.height, flattened_from.width, flattened_from.channels), num(row.input.elements)),),
        )
        sections = [flatten, *sections]
    sections.append(_activation_section(row, dtype))
    source_text = f" (from {source})" if source else ""
    input_shape = flattened_from or row.input
    summary = (
        f"input   {input_shape.hwc()}{source_text}",
        f"output  {row.output.hwc()}",
        f"params  {num(row.params)}" + (f"  (weights {num(weights)} + biases {num(biases)})" if row.params else ""),
        f"MACs    {num(row.macs)}",
        f"activations {num(row.activations)} elements = {num(row.activations * dtype.bytes)} bytes ({dtype})",
    )
    notes: list[str] = []
    if flattened_from is not None:
        notes.append(
            f"In a spec, write `- flatten` before `fc`: cnncalc table refuses fc on a {flattened_from.hwc()} "
            f"feature map, since torch's Linear would act on the width axis alone."
        )
    data = {
        **row.as_json(),
        "weights": weights,
        "biases": biases,
        "activation_bytes": row.activations * dtype.bytes,
        "dtype": str(dtype),
    }
    if flattened_from is not None:
        data["flattened_from"] = flattened_from.as_json()
    title = f"{row.path}: {_headline(row)}" if show_path else _headline(row)
    return Worked(title, summary, tuple(sections), tuple(notes), data)


def single_layer(layer: Layer, shape: Shape, dtype: Dtype = Dtype.FLOAT32) -> Worked:
    """`cnncalc layer`: one layer on one input, through the engine. An fc on a feature map flattens it first."""
    flattened_from = None
    if isinstance(layer, Fc) and isinstance(shape, Spatial):
        flattened_from = shape
        shape = layer_math(Flatten(), shape).output
    network = Network(name=str(layer.path), input=shape, layers=(layer,))
    analysis = analyse(network)
    worked = leaf_derivation(analysis.rows[0], dtype, flattened_from=flattened_from, show_path=False)
    return replace(worked, warnings=analysis.warnings)


# --------------------------------------------------------------------------- explain: rows of a network


def input_sources(network: Network) -> dict[str, str]:
    """For each path, what produced its input: the previous item, the enclosing block's input, or the network input."""
    sources: dict[str, str] = {}

    def walk(nodes: tuple[Node, ...], source: str) -> str:
        for node in nodes:
            sources[node.path] = source
            if isinstance(node, Sequential):
                walk(node.children, source)
            elif isinstance(node, Merge):
                for branch in node.branches:
                    walk(branch, source)
            source = f"`{node.path}`"
        return source

    walk(network.layers, "the network input")
    return sources


def find_row(analysis: Analysis, path: str) -> tuple[int, Row]:
    for i, row in enumerate(analysis.rows):
        if row.path == path:
            return i, row
    paths = [r.path for r in analysis.rows]
    close = difflib.get_close_matches(path, paths, n=1, cutoff=0.6)
    suggestion = f"; did you mean `{close[0]}`?" if close else ""
    raise CnnCalcError(
        f"{analysis.network.name} has no layer `{path}`{suggestion}",
        hint=f"`cnncalc table` lists every path (e.g. `{next((p for p in paths if '.' in p), paths[0])}`)",
    )


def _branch_output(analysis: Analysis, merge_row: Row, branch: tuple[Node, ...]) -> tuple[str, Shape]:
    if not branch:
        return "identity", merge_row.input
    last = branch[-1]
    row = next(r for r in analysis.rows if r.path == last.path)
    first = branch[0].path
    label = first if first == last.path else f"{first} … {last.path}"
    return label, row.output


def merge_derivation(analysis: Analysis, row: Row, source: str | None = None, dtype: Dtype = Dtype.FLOAT32) -> Worked:
    node = row.node
    assert isinstance(node, Merge)

    outputs = [_branch_output(analysis, row, b) for b in node.branches]
    steps = [Step(f"branch {i + 1} ({label})", "", shape.hwc()) for i, (label, shape) in enumerate(outputs)]
    out = row.output
    if node.merge is MergeKind.CONCAT:
        if isinstance(out, Vector):
            rule = "features = n_1 + n_2 + …"
            steps.append(Step("features", " + ".join(num(s.elements) for _, s in outputs), num(out.features)))
            why = "concat joins the vectors end to end, so their lengths add."
        else:
            rule = "c = c_1 + c_2 + …; height and width shared"
            steps.append(Step("channels", " + ".join(num(s.channels) for _, s in outputs), num(out.channels)))
            steps.append(Step("output", "", out.hwc()))
            why = (
                f"concat stacks the branches' feature maps along the channel axis (torch.cat(dim=1)): "
                f"each pixel of the {out.height}x{out.width} grid gets every branch's channels, one after another, "
                f"so the channels add up while height and width must be the same in every branch."
            )
    else:
        rule = "output = branch 1 + branch 2 + … elementwise; every shape equal"
        steps.append(Step("output", "", out.hwc()))
        why = (
            f"add sums the branches element by element: each of the {num(out.elements)} output values is the sum "
            f"of the values at the same position in every branch, so every branch must give exactly {out.hwc()} "
            f"(a 1x1 conv on the shortcut fixes a mismatch in channels or stride)."
        )
    sections = (
        Section("Merge", rule, tuple(steps), (why,)),
        Section("Parameters", "", (Step("total", "", "0 (merging has no weights; cnncalc counts no MACs for it)"),)),
        _activation_section(row, dtype),
    )
    summary = (
        f"input   {row.input.hwc()}" + (f" (from {source}), given to every branch" if source else ""),
        f"output  {out.hwc()}",
    )
    data = {**row.as_json(), "branches": [{"layers": label, "output": s.as_json()} for label, s in outputs]}
    return Worked(f"{row.path}: {node.merge} of {len(node.branches)} branches", summary, sections, (), data)


def _sum_text(values: list[int]) -> str:
    """`a + b + c`, leaving out the zeros (a ReLU adds nothing) unless everything is zero."""
    terms = [num(v) for v in values if v] or ["0"]
    return " + ".join(terms)


def block_derivation(analysis: Analysis, index: int, source: str | None = None) -> Worked:

    row = analysis.rows[index]
    contents: list[Row] = []
    for other in analysis.rows[index + 1 :]:
        if other.depth <= row.depth:
            break
        if other.depth == row.depth + 1:
            contents.append(other)
    steps = [Step(r.path, "", f"{r.kind}, {r.output.hwc()}, {num(r.params)} params, {num(r.macs)} MACs") for r in contents]
    sums = (
        Step("params", _sum_text([r.params for r in contents]), num(row.params)),
        Step("MACs", _sum_text([r.macs for r in contents]), num(row.macs)),
    )
    sections = (
        Section("Contents", "each item in execution order (a merge's branches are listed before it)", tuple(steps)),
        Section("Sums", "a block's parameters and MACs are the sums over its contents (zeros left out)", sums),
    )
    summary = (
        f"input   {row.input.hwc()}" + (f" (from {source})" if source else ""),
        f"output  {row.output.hwc()} (the output of its last item)",
        f"params  {num(row.params)}",
        f"MACs    {num(row.macs)}",
    )
    return Worked(f"{row.path}: {row.kind} (a block of {len(contents)} items)", summary, sections, (), row.as_json())


def explain(analysis: Analysis, path: str, dtype: Dtype = Dtype.FLOAT32) -> Worked:
    """`cnncalc explain`: the derivation of the row at `path`, its input taken from the rows before it."""
    index, row = find_row(analysis, path)
    source = input_sources(analysis.network).get(path)
    if row.is_block:
        return block_derivation(analysis, index, source)
    if isinstance(row.node, Merge):
        return merge_derivation(analysis, row, source, dtype)
    return leaf_derivation(row, dtype, source=source)


# --------------------------------------------------------------------------- text


def _wrap(text: str, first: str, rest: str, width: int) -> list[str]:
    return textwrap.wrap(text, width=width, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False) or [first]


def to_text(worked: Worked, width: int = 100) -> str:
    """Plain text; long notes are wrapped at `width` columns, formulas never are."""
    lines = [worked.title, ""]
    lines.extend(f"  {s}" for s in worked.summary)
    for section in worked.sections:
        lines.append("")
        lines.append(f"{section.title}: {section.rule}" if section.rule else section.title)
        column = max((len(s.label) for s in section.steps), default=0)
        for step in section.steps:
            lines.append(f"  {step.label.ljust(column)}  {step.text()}")
            if step.note:
                lines.append(f"  {' ' * column}    ({step.note})")
        for note in section.notes:
            lines.extend(_wrap(note, "  note: ", "        ", width))
    if worked.notes:
        lines.append("")
        for note in worked.notes:
            lines.extend(_wrap(note, "note: ", "      ", width))
    return "\n".join(lines) + "\n"


__all__ = [
    "Section",
    "Step",
    "Worked",
    "explain",
    "input_sources",
    "leaf_derivation",
    "single_layer",
    "to_text",
]
