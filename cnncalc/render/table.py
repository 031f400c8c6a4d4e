"""Analysis → text: rich table, JSON, CSV, Markdown. No arithmetic happens here."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Iterator, TextIO

from cnncalc.core.engine import Analysis, Row
from cnncalc.core.memory import Footprint, saved_by, saved_within
from cnncalc.kinds.registry import kind_of
from cnncalc.model.layers import Merge
from cnncalc.enums import DEFAULT_COLUMNS, TableColumn, WeightOrder
from cnncalc.model.shapes import Shape, order_text
from cnncalc.render import jsonout

if TYPE_CHECKING:
    from cnncalc.render.layout import Line

# csv and render.layout are imported where used: `table --format json`, the most scripted run, needs neither


def shape_text(shape: Shape, chw: bool = False, batch: int | None = None) -> str:
    """`28x28x6` (`6x28x28` with chw); with a batch, that many samples first: `32x28x28x6`."""
    text = shape.chw() if chw else shape.hwc()
    return text if batch is None else f"{batch}x{text}"


def geometry(row: Row) -> str:
    """`k5 s1 p0`-style summary of a sliding window, empty for other layers (the layer's kind writes it)."""
    node = row.node
    if row.is_block or isinstance(node, Merge) or node is None:
        return ""
    return kind_of(node).summary(node, row.padding)


def memory_json(memory: Footprint) -> dict[str, int]:
    return {
        "parameter_bytes": memory.parameter_bytes,
        "input_bytes": memory.input_bytes,
        "activation_bytes_inference": memory.activation_bytes_inference,
        "activation_bytes_training": memory.activation_bytes_training,
        "gradient_bytes": memory.gradient_bytes,
        "optimizer_state_bytes": memory.optimizer_state_bytes,
        **({"master_weight_bytes": memory.master_weight_bytes} if memory.master_weight_bytes else {}),
        "training_bytes_total": memory.training_bytes_total,
    }


def totals_json(analysis: Analysis, memory: Footprint) -> dict[str, int]:
    t = analysis.totals
    return {
        "params": t.params,
        "trainable_params": t.trainable_params,
        "non_trainable_params": t.non_trainable_params,
        "macs": t.macs,
        **({"main_macs": t.main_macs} if t.side_macs else {}),  # without the side outputs (auxiliary heads)
        "flops": t.flops,
        "activations": t.activations,
        **memory_json(memory),
    }


def _layers_json(analysis: Analysis, depth: int | None, memory: Footprint) -> Iterator[dict[str, Any]]:
    """Each row's JSON object, made as `jsonout.write` writes it."""
    within = saved_within(memory.saved_by_row)
    summaries: dict[tuple, dict[str, Any]] = {}
    for r in analysis.rows_to_depth(depth):
        entry = r.as_json(summaries)
        entry["activation_bytes_saved"] = saved_by(r, memory.saved_by_row, within)
        yield entry


def write_json(analysis: Analysis, out: TextIO, *, depth: int | None, memory: Footprint) -> None:
    """One object, each layer on a line of its own (render/jsonout.py), written to `out` as the layers' lines
    are made."""
    doc: dict[str, Any] = {
        "name": analysis.network.name,
        "input": analysis.input.as_json(),
        "batch": memory.batch,
        "dtype": str(memory.dtype),
        "optimizer": str(memory.optimizer),
        "layers": _layers_json(analysis, depth, memory),
    }
    if analysis.outputs:
        doc["side_outputs"] = [{"path": path, "output": shape.as_json()} for path, shape in analysis.outputs]
    doc["totals"] = totals_json(analysis, memory)
    jsonout.write(doc, out)


def to_json(analysis: Analysis, *, depth: int | None, memory: Footprint) -> str:
    """`write_json`'s text."""
    out = io.StringIO()
    write_json(analysis, out, depth=depth, memory=memory)
    return out.getvalue()


CSV_COLUMNS = (
    "path",
    "kind",
    "block",
    "depth",
    "output",
    "params",
    "trainable_params",
    "non_trainable_params",
    "macs",
    "activations",
    "activation_bytes_saved",
    "geometry",
)


def to_csv(analysis: Analysis, *, depth: int | None, chw: bool, memory: Footprint) -> str:
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    within = saved_within(memory.saved_by_row)
    for r in analysis.rows_to_depth(depth):
        writer.writerow(
            [
                r.path,
                r.kind,
                str(r.is_block).lower(),
                r.depth,
                shape_text(r.output, chw),
                r.params,
                r.trainable_params,
                r.non_trainable_params,
                r.macs,
                r.activations,
                saved_by(r, memory.saved_by_row, within),
                geometry(r),
            ]
        )
    return buffer.getvalue()


def human_bytes(n: int) -> str:
    """Decimal units, as torchinfo prints them: MB = 10^6 bytes (GB from 10^9, kB below 1 MB,
    so a small network does not show 0.00 MB)."""
    if n >= 1e9:
        return f"{n / 1e9:,.2f} GB"
    if n >= 1e6:
        return f"{n / 1e6:,.2f} MB"
    return f"{n / 1e3:,.2f} kB"


def compact(n: int) -> str:
    """25.6M, 4.09G: three significant digits, for narrow terminals only (exact numbers need room)."""
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= factor:
            value = n / factor
            digits = 2 if value < 10 else 1 if value < 100 else 0
            return f"{value:.{digits}f}{suffix}"
    return str(n)


def totals_lines(analysis: Analysis, memory: Footprint, chw: bool = False) -> list[tuple[str, str]]:
    """The footer, torchinfo-style: counts, then memory for this batch, dtype and optimizer. ("", "") is a rule."""
    t = analysis.totals
    batch, dtype = memory.batch, memory.dtype
    return [
        ("Total params", f"{t.params:,}"),
        ("Trainable params", f"{t.trainable_params:,}"),
        ("Non-trainable params", f"{t.non_trainable_params:,}"),
        *(
            [("  frozen (trainable: false)", f"{t.params - t.trainable_params:,}")]
            if t.params != t.trainable_params and t.running_stats
            else []
        ),
        *([("  batch-norm running mean/var", f"{t.running_stats:,}")] if t.running_stats else []),
        ("MACs", f"{t.macs:,} ({compact(t.macs)})"),
        *([("  main path (without side outputs)", f"{t.main_macs:,} ({compact(t.main_macs)})")] if t.side_macs else []),
        ("FLOPs (2 × MACs)", f"{t.flops:,} ({compact(t.flops)})"),
        *([("Side outputs", ", ".join(f"{path} {shape_text(shape, chw)}" for path, shape in analysis.outputs))] if analysis.outputs else []),
        ("", ""),
        (f"Input ({batch} × {shape_text(analysis.input, chw)}, {dtype})", human_bytes(memory.input_bytes)),
        ("Parameters (incl. running stats)", human_bytes(memory.parameter_bytes)),
        ("Activations, inference peak", human_bytes(memory.activation_bytes_inference)),
        ("", ""),
        ("Activations saved for backward", human_bytes(memory.activation_bytes_training)),
        ("Gradients", human_bytes(memory.gradient_bytes)),
        (f"Optimizer state ({memory.optimizer})", human_bytes(memory.optimizer_state_bytes)),
        *([("Master weights (float32)", human_bytes(memory.master_weight_bytes))] if memory.master_weight_bytes else []),
        ("Training, total (est.)", human_bytes(memory.training_bytes_total)),
    ]


def footer_lines(analysis: Analysis, memory: Footprint, width: int, chw: bool = False) -> list[str]:
    """The totals as aligned plain lines between rules, like torchinfo's summary footer."""
    lines = totals_lines(analysis, memory, chw)
    label_width = max(len(label) for label, _ in lines)
    value_width = max(len(value) for _, value in lines)
    rule_width = min(width, label_width + 2 + value_width)
    out = ["=" * rule_width]
    for label, value in lines:
        out.append(f"{label:<{label_width}}  {value:>{value_width}}" if label else "-" * rule_width)
    out.append("=" * rule_width)
    return out


def display_rows(analysis: Analysis, depth: int | None, paths: bool = False) -> list[tuple[Row, str]]:
    """Rows for people: blocks (with their sums) above their contents, down to `depth` levels,
    each with its label: the path relative to the enclosing block, indented two spaces a level
    (with `paths`, the full dotted path, not indented)."""
    if paths:
        return [(r, r.path) for r in analysis.rows if depth is None or r.depth <= depth]
    out: list[tuple[Row, str]] = []
    parents: list[str] = []  # path of the open block at each depth
    for r in analysis.rows:
        if depth is not None and r.depth > depth:
            continue
        del parents[r.depth - 1 :]
        parent = parents[-1] if parents else ""
        name = r.path[len(parent) + 1 :] if parent and r.path.startswith(parent + ".") else r.path
        out.append((r, "  " * (r.depth - 1) + name))
        if r.is_block:
            parents.append(r.path)
    return out


def to_markdown(analysis: Analysis, *, depth: int | None, memory: Footprint, chw: bool) -> str:
    order = order_text(analysis.input, chw)
    out = [
        f"**{analysis.network.name}**: input {shape_text(analysis.input, chw)} ({order})",
        "",
        "| layer | kind | output | k/s/p | params | MACs |",
        "|---|---|---|---|---:|---:|",
    ]
    for r, _ in display_rows(analysis, depth):
        path = f"**`{r.path}`**" if r.is_block else f"`{r.path}`"
        kind = f"**{r.kind}**" if r.is_block else r.kind
        params = f"**{r.params:,}**" if r.is_block else f"{r.params:,}"
        macs = f"**{r.macs:,}**" if r.is_block else f"{r.macs:,}"
        out.append(f"| {path} | {kind} | {shape_text(r.output, chw)} | {geometry(r)} | {params} | {macs} |")
    out += ["", "| total | |", "|---|---:|"]
    out += [f"| {label} | {value} |" for label, value in totals_lines(analysis, memory, chw) if label]
    return "\n".join(out) + "\n"


def weight_text(row: Row, order: WeightOrder) -> str:
    """The shape of the row's weight tensor, `6×3×5×5` in torch's order or `5×5×3×6` in the course's."""
    node = row.node
    if row.is_block or node is None or isinstance(node, Merge):
        return ""
    shape = kind_of(node).weight_shape(node, row.input)
    if shape is None:
        return ""
    if order is WeightOrder.COURSE and len(shape) >= 2:
        shape = (*shape[2:], shape[1], shape[0])  # kernel first, then in, then out: Ng's f×f×n_c×n_c'
    return "×".join(map(str, shape))


def table_lines(
    analysis: Analysis,
    *,
    depth: int | None,
    memory: Footprint,
    chw: bool,
    width: int,
    paths: bool = False,
    columns: tuple[TableColumn, ...] = DEFAULT_COLUMNS,
    weights: WeightOrder = WeightOrder.TORCH,
    show_batch: bool = False,
) -> list[Line]:
    """The layer table (blocks bold, with their sums), then the totals, as lines of at most `width`.

    When the screen is narrow, the k/s/p column goes first, then the weight shapes, the kind and the
    input, then exact numbers give way to 3-digit ones (25.6M): a row never wraps and a number is
    never cut; a long layer name is.
    """
    from cnncalc.render.layout import Column, Line, fit, first_fit

    rows = display_rows(analysis, depth, paths)
    batch = memory.batch if show_batch else None
    within = saved_within(memory.saved_by_row)
    layer = Column("Layer", [label for _, label in rows], cut=True, min_width=8)
    # each column is made only when asked for: the cells of every possible column cost as much as the rest
    # of a large table
    make_exact = {
        TableColumn.KIND: lambda: Column("Kind", [r.kind for r, _ in rows]),
        TableColumn.INPUT: lambda: Column("Input", [shape_text(r.input, chw, batch) for r, _ in rows]),
        TableColumn.OUTPUT: lambda: Column("Output", [shape_text(r.output, chw, batch) for r, _ in rows]),
        TableColumn.KSP: lambda: Column("k/s/p", [geometry(r) for r, _ in rows]),
        TableColumn.WEIGHTS: lambda: Column("Weights", [weight_text(r, weights) for r, _ in rows], right=True),
        TableColumn.PARAMS: lambda: Column("Params", [f"{r.params:,}" for r, _ in rows], right=True),
        TableColumn.MACS: lambda: Column("MACs", [f"{r.macs:,}" for r, _ in rows], right=True),
        TableColumn.ACTIVATIONS: lambda: Column("Activations", [f"{r.activations:,}" for r, _ in rows], right=True),
        TableColumn.MEMORY: lambda: Column("Saved", [human_bytes(saved_by(r, memory.saved_by_row, within)) for r, _ in rows], right=True),
    }
    make_short = {
        TableColumn.PARAMS: lambda: Column("Params", [compact(r.params) if r.params else "0" for r, _ in rows], right=True),
        TableColumn.MACS: lambda: Column("MACs", [compact(r.macs) if r.macs else "0" for r, _ in rows], right=True),
        TableColumn.ACTIVATIONS: lambda: Column("Activations", [compact(r.activations) if r.activations else "0" for r, _ in rows], right=True),
    }
    exact = {c: make_exact[c]() for c in columns}
    choices = []
    shown = list(columns)
    for gives_way in (None, TableColumn.KSP, TableColumn.WEIGHTS, TableColumn.KIND, TableColumn.INPUT):
        if gives_way in shown:
            shown.remove(gives_way)
        elif gives_way is not None:
            continue
        choices.append([layer, *(exact[c] for c in shown)])
    # a choice fits when the names fit whole; only the last one, with short numbers, may cut names to make room
    grid = next((g for g in (fit([replace(c[0], cut=False), *c[1:]], width) for c in choices) if g), None)
    grid = grid or first_fit([[layer, *(make_short[c]() if c in make_short else exact[c] for c in shown)]], width)
    grid = replace(grid, bold_rows=frozenset(i for i, (r, _) in enumerate(rows) if r.is_block))
    title = f"{analysis.network.name}: input {shape_text(analysis.input, chw, batch)} ({order_text(analysis.input, chw, batch is not None)})"
    lines = grid.lines(title)
    lines.extend(Line(text) for text in footer_lines(analysis, memory, width, chw))
    return lines
