"""Side-by-side costs of two ways to build the same mapping, from the course notes:

- a 1×1 bottleneck before a k×k conv, versus the k×k conv directly (GoogLeNet's Inception trick);
- a stack of small (3×3) convs, versus one large conv with the same receptive field (VGG's argument).

Each design is a small `Network` put through `engine.analyse`, so every number is the
engine's; the text only writes out the formulas next to them. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

from cnncalc.kinds import formulas
from cnncalc.core.engine import Row, analyse
from cnncalc.enums import LayerKind
from cnncalc.errors import OptionProblem, SpecWarning
from cnncalc.kinds.conv import conv_mac_formula, conv_param_formula
from cnncalc.kinds.worked import Section, Step, num
from cnncalc.work.explain import Worked, use_of
from cnncalc.model.layers import Activation, Conv, Network, Padding
from cnncalc.model.shapes import Spatial


MAX_STACK = 64  # layers in a compared stack: far beyond any real design, and quick to build


def _rows(name: str, shape: Spatial, layers: list, warnings: list[SpecWarning]) -> list[Row]:
    """The conv rows of one design; its warnings (e.g. an unusually large layer) go to `warnings`, named `design.layer`."""
    analysis = analyse(Network(name=name, input=shape, layers=tuple(layers)))
    warnings.extend(replace(w, layer=f"{name}.{w.layer}" if w.layer else name) for w in analysis.warnings)
    return [r for r in analysis.rows if r.kind == LayerKind.CONV]


def _conv(path: str, filters: int, kernel: int, bias: bool, padding: Padding | int) -> Conv:
    return Conv(path=path, filters=filters, kernel=kernel, padding=Padding.of(padding), bias=bias)  # type: ignore[arg-type]


def _percent(part: int, whole: int) -> str:
    return f"{float(Fraction(part, whole) * 100):.1f}%"


def _design_steps(rows: list[Row]) -> list[Step]:
    steps = []
    for r in rows:
        node = r.node
        assert isinstance(node, Conv)
        steps.append(Step(r.path, "", f"{node.kernel[0]}×{node.kernel[1]} conv, {node.filters} filters: {r.input.hwc()} → {r.output.hwc()}"))
        steps.append(Step(f"{r.path} params", conv_param_formula(use_of(r)), num(r.params)))
        steps.append(Step(f"{r.path} MACs", conv_mac_formula(use_of(r)), num(r.macs)))
    return steps


def _totals(rows: list[Row]) -> tuple[int, int]:
    return sum(r.params for r in rows), sum(r.macs for r in rows)


def _sum_steps(rows: list[Row]) -> list[Step]:
    if len(rows) < 2:
        return []
    params, macs = _totals(rows)
    return [
        Step("total params", " + ".join(num(r.params) for r in rows), num(params)),
        Step("total MACs", " + ".join(num(r.macs) for r in rows), num(macs)),
    ]


def bottleneck(shape: Spatial, filters: int, kernel: int, via: int, bias: bool = True, padding: str | int = "same") -> Worked:
    """k×k conv to `filters` directly, versus 1×1 conv to `via` channels then the k×k conv."""
    pad = Padding.of(padding)
    warnings: list[SpecWarning] = []
    direct = _rows("direct", shape, [_conv("conv", filters, kernel, bias, pad)], warnings)
    reduced = _rows(
        "bottleneck",
        shape,
        [
            _conv("reduce", via, 1, bias, 0),
            Activation(path="relu", kind="relu"),
            _conv("conv", filters, kernel, bias, pad),
        ],
        warnings,
    )
    (d_params, d_macs), (b_params, b_macs) = _totals(direct), _totals(reduced)
    out = direct[0].output
    ratio = Section(
        "Ratio",
        "bottleneck ÷ direct",
        (
            Step("params", f"{num(b_params)} / {num(d_params)}", _percent(b_params, d_params)),
            Step("MACs", f"{num(b_macs)} / {num(d_macs)}", _percent(b_macs, d_macs)),
        ),
    )
    notes = [
        f"MACs count one multiplication per weight per output position ({out.height}·{out.width} of them), "
        f"so they grow with the image; parameters do not. The course notes multiply by {out.height}·{out.width} "
        f"and call the result 'parameters': those are the multiplications (MACs), the first column here is the "
        f"real parameter count.",
        f"The 1×1 conv first mixes the {shape.channels} channels down to {via}, so the expensive {kernel}×{kernel} conv "
        f"reads {via} channels instead of {shape.channels}; a ReLU in between adds a nonlinearity for free.",
    ]
    if bias:
        notes.append("Parameters include biases (torch's default; --no-bias leaves them out). MACs never count biases.")
    data = {
        "comparison": "bottleneck",
        "input": shape.as_json(),
        "output": out.as_json(),
        "direct": {"params": d_params, "macs": d_macs},
        "bottleneck": {"params": b_params, "macs": b_macs, "via": via},
    }
    return Worked(
        f"1×1 bottleneck to {via} channels versus a direct {kernel}×{kernel} conv: {shape.hwc()} → {out.hwc()}",
        (
            f"direct      params {num(d_params):>12}   MACs {num(d_macs):>15}",
            f"bottleneck  params {num(b_params):>12}   MACs {num(b_macs):>15}",
        ),
        (
            Section("Direct", "", tuple(_design_steps(direct))),
            Section("Through the bottleneck", "", tuple(_design_steps(reduced) + _sum_steps(reduced))),
            ratio,
        ),
        tuple(notes),
        data,
        tuple(warnings),
    )


def stack(shape: Spatial, kernel: int, small: int = 3, filters: int | None = None, bias: bool = True) -> Worked:
    """One kernel×kernel conv versus L = (kernel − 1)/(small − 1) stacked small×small convs, same receptive field."""
    if small < 2 or kernel <= small or (kernel - 1) % (small - 1):
        reachable = ", ".join(str(formulas.stacked_receptive_field(small, layers)) for layers in range(2, 5)) if small >= 2 else ""
        raise OptionProblem(
            f"a stack of {small}×{small} convs cannot have the receptive field of one {kernel}×{kernel}: "
            f"L stacked {small}×{small} convs see 1 + L·({small} − 1) pixels",
            hint=f"with --small {small}, use --kernel among {reachable}, …" if reachable else "use --small 3",
        )
    layers = (kernel - 1) // (small - 1)
    if layers > MAX_STACK:
        raise OptionProblem(
            f"one {kernel}×{kernel} conv would take a stack of {layers} {small}×{small} convs; cnncalc compares stacks of at most {MAX_STACK}",
            hint=f"use --kernel up to {formulas.stacked_receptive_field(small, MAX_STACK)}",
        )
    c = shape.channels
    k = c if filters is None else filters
    warnings: list[SpecWarning] = []
    big = _rows("one", shape, [_conv("conv", k, kernel, bias, "same")], warnings)
    chain: list = []
    for i in range(layers):
        chain.append(_conv(f"conv{i + 1}", k, small, bias, "same"))
        if i < layers - 1:
            chain.append(Activation(path=f"relu{i + 1}", kind="relu"))
    stacked = _rows("stack", shape, chain, warnings)
    (o_params, o_macs), (s_params, s_macs) = _totals(big), _totals(stacked)
    # Weights per C² (C in and C out): a conv with one input and one output channel has f·f weights.
    per_small = formulas.conv_weights((small, small), 1, 1)
    per_big = formulas.conv_weights((kernel, kernel), 1, 1)
    field = formulas.stacked_receptive_field(small, layers)
    symbolic = Section(
        "Weights, for C channels in and out (no bias)",
        "a f×f conv from C to C channels has f·f·C·C weights",
        (
            Step(f"{layers} × {small}×{small}", f"{layers}·{small}·{small}·C·C", f"{layers * per_small}C²"),
            Step(f"1 × {kernel}×{kernel}", f"{kernel}·{kernel}·C·C", f"{per_big}C²"),
            Step("receptive field", f"1 + {layers}·({small} − 1)", f"{field}, the same view as one {kernel}×{kernel}"),
        ),
    )
    ratio = Section(
        "Ratio",
        "stack ÷ one large conv",
        (
            Step("weights", f"{layers * per_small}C² / {per_big}C²", _percent(layers * per_small, per_big)),
            Step("params", f"{num(s_params)} / {num(o_params)}", _percent(s_params, o_params)),
            Step("MACs", f"{num(s_macs)} / {num(o_macs)}", _percent(s_macs, o_macs)),
        ),
    )
    notes = [
        f"Both keep {shape.height}x{shape.width} ('same' padding, stride 1). The stack also puts {layers - 1} more "
        f"ReLU{'s' if layers > 2 else ''} in between: more nonlinearity for fewer weights (Simonyan & Zisserman, VGG, §2.3).",
    ]
    data = {
        "comparison": "stack",
        "input": shape.as_json(),
        "output": big[0].output.as_json(),
        "layers": layers,
        "receptive_field": field,
        "weights_per_c2": {"stack": layers * per_small, "one": per_big},
        "stack": {"params": s_params, "macs": s_macs},
        "one": {"params": o_params, "macs": o_macs},
    }
    return Worked(
        f"{layers} stacked {small}×{small} convs versus one {kernel}×{kernel} conv on {shape.hwc()}, {k} filters each",
        (
            f"weights     {layers * per_small}C² versus {per_big}C²",
            f"stack       params {num(s_params):>12}   MACs {num(s_macs):>15}",
            f"one {kernel}×{kernel}     params {num(o_params):>12}   MACs {num(o_macs):>15}",
        ),
        (
            symbolic,
            Section(f"One {kernel}×{kernel}", "", tuple(_design_steps(big))),
            Section(f"Stack of {layers}", "", tuple(_design_steps(stacked) + _sum_steps(stacked))),
            ratio,
        ),
        tuple(notes),
        data,
        tuple(warnings),
    )


__all__ = ["bottleneck", "stack"]
