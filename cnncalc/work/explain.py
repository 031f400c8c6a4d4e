"""Worked derivations: each formula of a layer with the numbers put in, for `cnncalc layer` and `explain`.

Every value shown is returned by the engine (`analyse` rows); each layer kind writes its own derivation
(`Kind.derive`), and this module
only writes the inputs next to it, in the course notes' notation (n, p, f, s, c, k).
Pure: builds dataclasses and strings, prints nothing.
"""

from __future__ import annotations

from dataclasses import field, replace
from typing import Any

from cnncalc.core.engine import Analysis, Row, analyse, layer_math
from cnncalc.enums import Dtype
from cnncalc.errors import OptionProblem, SpecWarning
from cnncalc.kinds.merge import MERGES
from cnncalc.kinds.registry import kind_of
from cnncalc.kinds.worked import LayerUse, Section, Step, flatten_factors, num, product
from cnncalc.model.layers import Flatten, Layer, Merge, Network, Node, Sequential, Side
from cnncalc.model.shapes import Shape, Spatial
from cnncalc.values import value
from cnncalc.words import and_list, suggest_paths, word, wrap


@value
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


# --------------------------------------------------------------------------- leaves, from their kinds


def use_of(row: Row) -> LayerUse:
    """What a kind's derivation is written from: the layer, its input and output, and the analysis's numbers."""
    return LayerUse(row.node, row.input, row.output, row.params, row.macs, row.padding)


def _activation_section(row: Row, dtype: Dtype) -> Section:
    factors = flatten_factors(row.output)
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


def _headline(row: Row) -> str:
    parts = kind_of(row.node).headline(row.node)
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

    derivation = kind_of(row.node).derive(use_of(row))
    sections, weights, biases = list(derivation.sections), derivation.weights, derivation.biases
    if flattened_from is not None:
        assert isinstance(flattened_from, Spatial)
        flatten = Section(
            "Flatten (implicit)",
            "fc needs a vector: the feature map is flattened first, as nn.Flatten before nn.Linear",
            (Step("features", product(*flatten_factors(flattened_from)), num(row.input.elements)),),
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
            f"feature map, since torch's Linear would act on the {flattened_from.axes[-1]} axis alone."
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
    if kind_of(layer).flattens_maps(layer) and isinstance(shape, Spatial):
        flattened_from = shape
        shape = layer_math(Flatten(), shape).output
    network = Network(name=str(layer.path), input=shape, layers=(layer,))
    analysis = analyse(network)
    worked = leaf_derivation(analysis.rows[0], dtype, flattened_from=flattened_from, show_path=False)
    return replace(worked, warnings=analysis.warnings)


# --------------------------------------------------------------------------- explain: rows of a network


def input_sources(network: Network) -> dict[str, str]:
    """For each path, what produced its input: the previous item, the enclosing block's input, the layer a
    `from:` branch reads, or the network input."""
    sources: dict[str, str] = {}

    def walk(nodes: tuple[Node, ...], source: str) -> str:
        for node in nodes:
            sources[node.path] = source
            if isinstance(node, (Sequential, Side)):
                walk(node.children, f"`{node.source}`" if isinstance(node, Side) and node.source else source)
            elif isinstance(node, Merge):
                for branch, origin in zip(node.branches, node.sources):
                    walk(branch, source if origin is None else f"`{origin}`")
            if not isinstance(node, Side):  # a side output leaves the main path's tensor as it was
                source = f"`{node.path}`"
        return source

    walk(network.layers, "the network input")
    return sources


def find_row(analysis: Analysis, path: str) -> tuple[int, Row]:
    for i, row in enumerate(analysis.rows):
        if row.path == path:
            return i, row
    raise no_such_layer(analysis.network.name, path, [r.path for r in analysis.rows])


def no_such_layer(name: str, wanted: str, paths: list[str]) -> OptionProblem:
    """`--layer` names no layer: what it may have meant, and where the paths are listed."""
    close = suggest_paths(wanted, paths)
    suggestion = f"; did you mean {and_list([f'`{p}`' for p in close], 'or')}?" if close else ""
    example = max(paths[:60], key=lambda p: p.count("."), default=None)  # a path inside blocks shows the form
    return OptionProblem(
        f"{name} has no layer `{word(wanted, 80)}`{suggestion}",
        hint="`cnncalc table SPEC --paths` lists every path" + (f" (e.g. `{example}`)" if example else ""),
    )


def _branch_output(analysis: Analysis, merge_row: Row, branch: tuple[Node, ...], origin: str | None) -> tuple[str, Shape]:
    if not branch:
        if origin is None:
            return "identity", merge_row.input
        return f"from {origin}", next(r for r in analysis.rows if r.path == origin).output
    last = branch[-1]
    row = next(r for r in analysis.rows if r.path == last.path)
    first = branch[0].path
    label = first if first == last.path else f"{first} … {last.path}"
    return (label if origin is None else f"from {origin}: {label}"), row.output


def merge_derivation(analysis: Analysis, row: Row, source: str | None = None, dtype: Dtype = Dtype.FLOAT32) -> Worked:
    node = row.node
    assert isinstance(node, Merge)

    outputs = [_branch_output(analysis, row, b, origin) for b, origin in zip(node.branches, node.sources)]
    steps = [Step(f"branch {i + 1} ({label})", "", shape.hwc()) for i, (label, shape) in enumerate(outputs)]
    out = row.output
    rule, combined, why = MERGES[node.merge].derive([shape for _, shape in outputs], out)
    steps.extend(combined)
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
    from cnncalc.core.memory import kept_for_backward, saved_by

    index, row = find_row(analysis, path)
    source = input_sources(analysis.network).get(path)
    if row.is_block:
        worked = block_derivation(analysis, index, source)
    elif isinstance(row.node, Merge):
        worked = merge_derivation(analysis, row, source, dtype)
    else:
        worked = leaf_derivation(row, dtype, source=source)
    # the table's JSON entry for the row has what it keeps for backward (one sample of `dtype`): so does this
    saved = saved_by(row, kept_for_backward(analysis, 1, dtype))
    return replace(worked, data={**worked.data, "activation_bytes_saved": saved})


# --------------------------------------------------------------------------- text


def _lines(text: str, first: str, rest: str, width: int) -> list[str]:
    """`first` + text wrapped at `width`, continuation lines indented by `rest` (a hanging indent)."""
    return wrap(first + text, width, rest)


def to_text(worked: Worked, width: int = 80) -> str:
    """Plain text in lines of at most `width` columns: a long formula or note continues on the next
    line under its own start (a hanging indent), so the label column stays clear."""
    lines = _lines(worked.title, "", "    ", width) + [""]
    for s in worked.summary:
        lines.extend(_lines(s, "  ", "      ", width))
    for section in worked.sections:
        lines.append("")
        lines.extend(_lines(f"{section.title}: {section.rule}" if section.rule else section.title, "", "    ", width))
        column = max((len(s.label) for s in section.steps), default=0)
        for step in section.steps:
            lead = f"  {step.label.ljust(column)}  "
            lines.extend(_lines(step.text(), lead, " " * (len(lead) + 2), width))
            if step.note:
                lines.extend(_lines(f"({step.note})", " " * (len(lead) + 2), " " * (len(lead) + 3), width))
        for note in section.notes:
            lines.extend(_lines(note, "  note: ", "        ", width))
    if worked.notes:
        lines.append("")
        for note in worked.notes:
            lines.extend(_lines(note, "note: ", "      ", width))
    return "\n".join(line.rstrip() for line in lines) + "\n"


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
