"""ReceptiveAnalysis → text: rich table, JSON, CSV, Markdown, explanations and a picture.

No arithmetic on fields happens here: every number is one the engine (`cnncalc.core.receptive`)
computed; explanations put the inputs the engine used next to the value it returned.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from typing import Any, Iterator, TextIO

from cnncalc.model.layers import Merge, Network, Node, Sequential, Side
from cnncalc.core.receptive import VECTOR_NOTE, AxisField, LayerField, ReceptiveAnalysis, Span
from cnncalc.render.table import geometry, shape_text
from cnncalc.model.shapes import Spatial
from cnncalc.words import wrap
from cnncalc.render import jsonout
from cnncalc.render.layout import Column, Frame, Line, cut, first_fit, fit, wrap_lines

DASH = "—"


# --------------------------------------------------------------------------- cells


def _one(axis: AxisField, key: str) -> str:
    value = getattr(axis, key)
    if value is not None:
        return str(value)
    if key == "size" and axis.size_range is not None:
        low, high = axis.size_range
        return f"{low}–{high}"
    return DASH


def pair_text(field: LayerField, key: str) -> str:
    """One number when every axis agrees, `h×w` (`d×h×w`) otherwise, in the shapes' order."""
    values = [_one(a, key) for a in field.fields]
    return values[0] if all(v == values[0] for v in values) else "×".join(values)


def _exceeds_text(field: LayerField) -> str:
    return "*" if any(field.exceeds_input) else ""


def _notes_index(fields: tuple[LayerField, ...]) -> tuple[dict[str, int], list[str]]:
    """Footnote numbers: each distinct note once, in order of first appearance."""
    numbers: dict[str, int] = {}
    ordered: list[str] = []
    for f in fields:
        for note in f.notes:
            if note not in numbers:
                numbers[note] = len(ordered) + 1
                ordered.append(note)
    return numbers, ordered


def _note_refs(field: LayerField, numbers: dict[str, int]) -> str:
    return ",".join(str(numbers[n]) for n in field.notes)


def _header(analysis: ReceptiveAnalysis) -> str:
    return f"{analysis.name}: input {analysis.input.hwc()}"


LEGEND = (
    "r: receptive field (input pixels one unit can see), S: effective stride (input pixels between "
    "neighbouring units), P: effective padding (unit i sees input rows/columns i·S − P … i·S − P + r − 1). "
    "One number when height and width agree, H×W otherwise."
)
_LEGENDS = {
    1: "r: receptive field (input samples one unit can see), S: effective stride (input samples between "
    "neighbouring units), P: effective padding (unit i sees input positions i·S − P … i·S − P + r − 1).",
    3: "r: receptive field (input voxels one unit can see), S: effective stride (input voxels between "
    "neighbouring units), P: effective padding (unit i sees input positions i·S − P … i·S − P + r − 1 along each axis). "
    "One number when depth, height and width agree, D×H×W otherwise.",
}


def legend(analysis: ReceptiveAnalysis) -> str:
    rank = analysis.input.rank if isinstance(analysis.input, Spatial) else 2
    return _LEGENDS.get(rank, LEGEND)


def _exceeds_line(analysis: ReceptiveAnalysis) -> str:
    sizes = analysis.input.sizes if isinstance(analysis.input, Spatial) else ()
    return f"* r is larger than the {'x'.join(map(str, sizes))} input: every unit of these layers also sees padding."


# --------------------------------------------------------------------------- table / csv / markdown / json


def table_lines(analysis: ReceptiveAnalysis, fields: tuple[LayerField, ...], *, width: int) -> list[Line]:
    """The field table, then the footnotes and the legend wrapped at `width`. Full paths, one row
    per layer: a path too long for the screen is shortened with … (csv/json keep it whole), never
    folded onto a second line, which broke grep and awk."""
    numbers, notes = _notes_index(fields)
    layer = Column("Layer", [f.path for f in fields], cut=True)
    kind = Column("Kind", [cut(f.kind, 14) for f in fields])
    rest = [
        Column("Output", [shape_text(f.output) for f in fields]),
        Column("r", [pair_text(f, "size") + _exceeds_text(f) for f in fields], right=True),
        Column("S", [pair_text(f, "stride") for f in fields], right=True),
        Column("P", [pair_text(f, "padding") for f in fields], right=True),
        *([Column("Note", [_note_refs(f, numbers) for f in fields])] if notes else []),
    ]
    frame = Frame(gap=3, edge=1, open=True)
    # the kind goes before a path is cut (and below 70 columns, always)
    whole = fit([replace(layer, cut=False), kind, *rest], width, frame) if width >= 70 else None
    # then the output shape, when even cut paths leave no room for 3-D fields (1×7×7)
    grid = whole or first_fit([[layer, *rest], [layer, *rest[1:]]], width, frame)
    grid = replace(grid, bold_rows=frozenset(i for i, f in enumerate(fields) if f.is_block))
    lines = grid.lines(_header(analysis))
    footer = []
    if any(any(f.exceeds_input) for f in fields):
        footer.append(_exceeds_line(analysis))
    footer.extend(f"[{i}] {note}" for i, note in enumerate(notes, start=1))
    footer.append(legend(analysis))
    lines.extend(Line(text) for text in wrap_lines("\n".join(footer), width))
    return lines


CSV_COLUMNS = (
    "path",
    "kind",
    "output",
    "r_height",
    "r_width",
    "S_height",
    "S_width",
    "P_height",
    "P_width",
    "exceeds_input",
    "note",
)


def csv_columns(names: tuple[str, ...]) -> tuple[str, ...]:
    """r_height, r_width, S_height, … : one column per quantity and axis (r_length … in 1-D, r_depth … in 3-D)."""
    return ("path", "kind", "output", *(f"{q}_{n}" for q in ("r", "S", "P") for n in names), "exceeds_input", "note")


def to_csv(fields: tuple[LayerField, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(csv_columns(fields[0].names) if fields else CSV_COLUMNS)
    for f in fields:
        row: list[Any] = [f.path, f.kind, shape_text(f.output)]
        for key in ("size", "stride", "padding"):
            row.extend("" if getattr(a, key) is None else getattr(a, key) for a in f.fields)
        row.append(str(any(f.exceeds_input)).lower())
        row.append("; ".join(f.notes))
        writer.writerow(row)
    return buffer.getvalue()


def to_markdown(analysis: ReceptiveAnalysis, fields: tuple[LayerField, ...]) -> str:
    numbers, notes = _notes_index(fields)
    out = [f"## {_header(analysis)}", "", "| layer | kind | output | r | S | P | note |", "|---|---|---|---:|---:|---:|---|"]
    for f in fields:
        r = pair_text(f, "size") + ("\\*" if any(f.exceeds_input) else "")
        out.append(
            f"| `{f.path}` | {f.kind} | {shape_text(f.output)} | {r} | {pair_text(f, 'stride')} | "
            f"{pair_text(f, 'padding')} | {_note_refs(f, numbers)} |"
        )
    out.append("")
    if any(any(f.exceeds_input) for f in fields):
        out.append("\\" + _exceeds_line(analysis))
        out.append("")
    for i, note in enumerate(notes, start=1):
        out.append(f"{i}. {note}")
    if notes:
        out.append("")
    out.append(legend(analysis))
    return "\n".join(out) + "\n"


def _layers_json(fields: tuple[LayerField, ...], explain: bool) -> Iterator[dict[str, Any]]:
    """Each layer's JSON object, made as `jsonout.write` writes it."""
    for f in fields:
        entry = f.as_json()
        if explain:
            entry["explain"] = explain_lines(f)
        yield entry


def write_json(analysis: ReceptiveAnalysis, fields: tuple[LayerField, ...], out: TextIO, *, explain: bool = False) -> None:
    """One object, each layer on a line of its own (render/jsonout.py), written to `out` as the layers' lines
    are made."""
    doc = {"name": analysis.name, "input": analysis.input.as_json(), "layers": _layers_json(fields, explain)}
    if explain:
        doc["closed_forms"] = [c["text"] for c in closed_forms(fields)]
    jsonout.write(doc, out)


# --------------------------------------------------------------------------- explanations


def _span_text(span: Span) -> str:
    return f"r = {span.size}, S = {span.stride}, P = {span.padding}"


def _values_text(axis: AxisField) -> str:
    parts = [f"r = {axis.size}"]
    if axis.stride is not None:
        parts.append(f"S = {axis.stride}")
    if axis.padding is not None:
        parts.append(f"P = {axis.padding}")
    return ", ".join(parts)


def _axis_lines(field: LayerField, axis: AxisField) -> list[str]:
    lines: list[str] = []
    if axis.rule:
        lines.append(axis.rule)
    if axis.window is not None and axis.previous is not None and axis.size is not None and axis.padding is not None:
        w, prev = axis.window, axis.previous
        lines.append(
            f"r_l = r_(l−1) + (k − 1)·d·S_(l−1) = {prev.size} + ({w.kernel} − 1)·{w.dilation}·{prev.stride} = {axis.size}"
        )
        if axis.stride is not None:
            lines.append(f"S_l = S_(l−1)·s = {prev.stride}·{w.stride} = {axis.stride}")
        lines.append(f"P_l = P_(l−1) + p·S_(l−1) = {prev.padding} + {w.pad_before}·{prev.stride} = {axis.padding}")
    elif axis.branches:
        for j, branch in enumerate(axis.branches, start=1):
            lines.append(f"branch {j}: {_span_text(branch)}")
        if axis.span is not None:
            span = axis.span
            ps = ", ".join(str(b.padding) for b in axis.branches)
            ends = ", ".join(f"{b.size} − 1 − {b.padding}" for b in axis.branches)
            lines.append(f"union of the branches' fields: P = max({ps}) = {span.padding}")
            lines.append(f"r = max({ends}) + P + 1 = {span.size}, S = {span.stride}")
    elif axis.size is not None and not field.is_block and not axis.rule:
        lines.append(f"{field.kind} does not move pixels: unchanged ({_values_text(axis)})")
    elif axis.size is not None and field.is_block:
        lines.append(f"block: the field of its output, {_values_text(axis)}")
    if axis.note and (axis.note != VECTOR_NOTE or axis.window is not None):
        lines.append(axis.note)
    return lines


def _same_axes(field: LayerField) -> bool:
    keys = [(a.size, a.stride, a.padding, a.previous, a.window, a.branches, a.note) for a in field.fields]
    return all(k == keys[0] for k in keys)


def explain_lines(field: LayerField) -> list[str]:
    """The recurrence with this layer's numbers, per axis (once when every axis agrees)."""
    if _same_axes(field):
        return _axis_lines(field, field.fields[0])
    lines = []
    for name, axis in field.axes:
        lines.extend(f"{name}: {line}" for line in _axis_lines(field, axis))
    return lines


def closed_forms(fields: tuple[LayerField, ...]) -> list[dict[str, Any]]:
    """Runs of L ≥ 2 chained stride-1 windows of one kernel: r grows by L·(k_eff − 1)·S in one step.

    From the input (r = 1, S = 1) this is the course notes' 1 + L(k − 1): two 3×3 see 5×5.
    """
    runs: list[dict[str, Any]] = []
    current: list[LayerField] = []

    def key(f: LayerField) -> tuple | None:
        axes = f.fields
        if any(a.window is None or a.window.stride != 1 or a.previous is None or a.span is None for a in axes):
            return None
        if all(a.window.effective_kernel == 1 for a in axes):  # type: ignore[union-attr]
            return None  # 1×1 layers add nothing: no run to speak of
        return tuple((a.window.kernel, a.window.dilation) for a in axes)  # type: ignore[union-attr]

    def flush() -> None:
        if len(current) >= 2:
            runs.append(_closed_form(current))
        current.clear()

    for f in fields:
        if f.is_block:
            continue
        k = key(f)
        if k is None:
            if any(a.window is not None for a in f.fields) or f.fields[0].branches or not all(a.defined for a in f.fields):
                flush()
            continue
        if current and (key(current[-1]) != k or any(a.previous != b.span for a, b in zip(f.fields, current[-1].fields))):
            flush()
        current.append(f)
    flush()
    return runs


def _closed_form(run: list[LayerField]) -> dict[str, Any]:
    first, last = run[0], run[-1]
    n = len(run)
    parts = []
    for name, axis in first.axes:
        start = axis.previous
        assert start is not None and axis.window is not None
        k, d = axis.window.kernel, axis.window.dilation
        end = last.axis(name).size
        kk = f"({k} − 1)" if d == 1 else f"{d}·({k} − 1)"
        if start.size == 1 and start.stride == 1:
            text = f"1 + L·(k − 1) = 1 + {n}·{kk} = {end}" if d == 1 else f"1 + L·d·(k − 1) = 1 + {n}·{kk} = {end}"
        else:
            text = f"r + L·(k − 1)·d·S = {start.size} + {n}·({k} − 1)·{d}·{start.stride} = {end}"
        parts.append((name, text))
    if all(text == parts[0][1] for _, text in parts):
        body = parts[0][1]
    else:
        body = "; ".join(f"{name}: {text}" for name, text in parts)
    text = f"{first.path} … {last.path}: L = {n}, r = {body}"
    return {"first": first.path, "last": last.path, "layers": n, "text": text}


def explain_text(analysis: ReceptiveAnalysis, fields: tuple[LayerField, ...], width: int | None = None) -> str:
    """Every layer's recurrence, then the closed forms of stride-1 runs; lines wrapped to `width` with a hanging indent."""
    out = [
        f"{_header(analysis)}; the input has r = 1, S = 1, P = 0.",
        "k: kernel, d: dilation, s: stride, p: padding before (top/left); r_(l−1), S_(l−1), P_(l−1): the layer's input."
        if analysis.input.rank == 2
        else "k: kernel, d: dilation, s: stride, p: padding before; r_(l−1), S_(l−1), P_(l−1): the layer's input.",
        "",
    ]
    for f in fields:
        geo = geometry_text(f)
        out.append(f"{f.path}  {f.kind}" + (f"  {geo}" if geo else ""))
        out.extend(f"  {line}" for line in explain_lines(f))
    runs = closed_forms(fields)
    if runs:
        out.append("")
        out.append("Closed form for L stacked stride-1 layers: r grows by L·(k − 1)·d·S; from the input, 1 + L(k − 1).")
        out.extend(f"  {run['text']}" for run in runs)
    if width is None:
        return "\n".join(out) + "\n"
    wrapped = []
    for line in out:
        indent = " " * (len(line) - len(line.lstrip()))
        wrapped.extend(wrap(line, width, indent + "    "))
    return "\n".join(wrapped) + "\n"


def geometry_text(field: LayerField) -> str:
    from cnncalc.core.engine import Row

    if field.node is None or field.is_block:
        return ""  # a block has no window of its own
    row = Row(field.path, field.kind, field.depth, field.output, field.output, 0, 0, 0, 0, 0, padding=field.padding, node=field.node)
    return geometry(row)


def _units(shape: Any, index: int) -> int:
    if isinstance(shape, Spatial) and index < shape.rank:
        return shape.sizes[index]
    return 1


# --------------------------------------------------------------------------- the picture


def feeding(network: Network, target: Node) -> set[int]:
    """ids of the nodes whose output reaches `target` (and the target): a walk of the graph, no arithmetic.
    A `from:` branch starts from what fed the layer it reads; a side output does not feed the main path."""
    found: list[set[int]] = []
    by_path: dict[str, frozenset[int]] = {}

    def seq(nodes: tuple[Node, ...], before: frozenset[int]) -> frozenset[int]:
        for node in nodes:
            before = one(node, before)
        return before

    def one(node: Node, before: frozenset[int]) -> frozenset[int]:
        if isinstance(node, (Sequential, Side)):
            after = seq(node.children, by_path[node.source] if isinstance(node, Side) and node.source else before)
        elif isinstance(node, Merge):
            after = before
            for branch, source in zip(node.branches, node.sources):
                after = after | seq(branch, before if source is None else by_path[source])
            after = after | {id(node)}
        else:
            after = before | {id(node)}
        by_path[node.path] = after
        if node is target:
            found.append(set(after))
        return before if isinstance(node, Side) else after

    seq(network.layers, frozenset())
    return found[0] if found else set()


def _suffix(span: Span, unit: int) -> str:
    return f"r={span.size} [{span.start(unit)}, {span.end(unit)}]"


def default_picture_target(analysis: ReceptiveAnalysis) -> LayerField | None:
    """The last layer that still has a grid of units (the last convolutional stage), else the last layer."""
    leaves = analysis.leaves()
    for f in reversed(leaves):
        if isinstance(f.output, Spatial) and f.output.positions > 1 and all(a.defined for a in f.fields):
            return f
    return leaves[-1] if leaves else None


def _unit_near(span: Span, centre2: int, units: int) -> int:
    """The unit whose field is centred nearest to `centre2`/2 (twice a coordinate, to stay in integers)."""
    best = (centre2 - span.centre2) / (2 * span.stride)
    return max(0, min(units - 1, round(best)))


def picture(analysis: ReceptiveAnalysis, network: Network, target: LayerField, *, width: int) -> Any:
    """One unit of `target` and, above it, the unit of each feeding layer centred nearest to it, drawn over the input."""
    from rich.text import Text

    text = Text()
    if target.node is None:
        return text
    ids = feeding(network, target.node)
    chain = [f for f in analysis.leaves() if f.node is not None and id(f.node) in ids]
    if target.is_block:
        chain.append(target)
    names = target.names
    same = len(names) > 1 and all(all(a.span == f.fields[0].span for a in f.fields) for f in chain)
    axes = [(names[0], 0)] if same or len(names) == 1 else [(n, i) for i, n in enumerate(names)]
    for name, index in axes:
        n_in = analysis.input.sizes[index]
        last = target.axis(name).span
        if last is None:
            text.append(f"No picture along the {name}: {target.axis(name).note or 'the field is undefined here'}\n")
            continue
        unit = (_units(target.output, index) - 1) // 2
        centre2 = 2 * last.start(unit) + last.size - 1
        rows: list[tuple[str, Span, int]] = [("input", Span(1, 1, 0), _unit_near(Span(1, 1, 0), centre2, n_in))]
        for f in chain:
            span = f.axis(name).span
            if span is None:
                continue
            if span == rows[-1][1] and f is not target:
                continue
            rows.append((f.path, span, _unit_near(span, centre2, _units(f.output, index))))
        lo = min([0] + [s.start(u) for _, s, u in rows])
        hi = max([n_in - 1] + [s.end(u) for _, s, u in rows])
        label_w = min(22, max(len(p) for p, _, _ in rows))
        suffix_w = max(len(_suffix(s, u)) for _, s, u in rows)
        bar_w = max(10, width - label_w - suffix_w - 2)
        per = -(-(hi - lo + 1) // bar_w)  # input pixels per character, rounded up
        cells = -(-(hi - lo + 1) // per)
        axis_word = " = ".join(names) if same else name
        text.append(
            f"Unit {unit} of layer {target.path} along the {axis_word}, and above it the unit of each layer "
            f"feeding it that is centred nearest to it; 1 character = {per} input pixel{'s' if per > 1 else ''}.\n"
        )
        for path, span, u in rows:
            a, b = span.start(u), span.end(u)
            label = path if len(path) <= label_w else "…" + path[-(label_w - 1):]
            text.append(f"{label:<{label_w}} ")
            for c in range(cells):
                x0, x1 = lo + c * per, lo + (c + 1) * per - 1
                inside = x1 >= 0 and x0 <= n_in - 1
                if x1 >= a and x0 <= b:
                    text.append("█" if inside else "▒", style="cyan" if inside else "dim cyan")
                else:
                    text.append("·" if inside else "-", style="dim")
            text.append(" " + _suffix(span, u) + "\n")
        ruler = [" "] * cells
        first, final = (0 - lo) // per, (n_in - 1 - lo) // per
        ruler[first] = "0"
        end_label = str(n_in - 1)
        start = max(first + 1, final - len(end_label) + 1)
        for j, ch in enumerate(end_label):
            if start + j < cells:
                ruler[start + j] = ch
        text.append(f"{'':<{label_w}} " + "".join(ruler) + "\n")
    text.append("█ input pixels in the field, ▒ padding in the field, · input pixels outside it, - padding outside it.\n")
    return text
