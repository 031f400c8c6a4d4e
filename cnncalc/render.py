"""Analysis → text: rich table, JSON, CSV, Markdown. No arithmetic happens here."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from cnncalc.engine import Analysis, Row
from cnncalc.enums import Dtype
from cnncalc.layers import Conv, ConvTranspose, Pool, ZeroPad
from cnncalc.shapes import Shape


def shape_text(shape: Shape, chw: bool = False) -> str:
    return shape.chw() if chw else shape.hwc()


def _pair_text(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def _padding_text(pads: tuple[int, int, int, int]) -> str:
    top, bottom, left, right = pads
    if top == bottom == left == right:
        return str(top)
    if top == bottom and left == right:
        return f"{top},{left}"
    return f"{top},{bottom},{left},{right}"


def geometry(row: Row) -> str:
    """`k5 s1 p0`-style summary of a sliding window, empty for other layers."""
    node = row.node
    if isinstance(node, (Conv, ConvTranspose, Pool)):
        parts = [f"k{_pair_text(node.kernel)}", f"s{_pair_text(node.stride)}"]
        if row.padding is not None:
            parts.append(f"p{_padding_text(row.padding)}")
        if node.dilation != (1, 1):
            parts.append(f"d{_pair_text(node.dilation)}")
        if isinstance(node, (Conv, ConvTranspose)) and node.groups != 1:
            parts.append(f"g{node.groups}")
        if isinstance(node, ConvTranspose) and node.output_padding != (0, 0):
            parts.append(f"op{_pair_text(node.output_padding)}")
        return " ".join(parts)
    if isinstance(node, ZeroPad) and row.padding is not None:
        return f"p{_padding_text(row.padding)}"
    return ""


def _geometry_json(row: Row) -> dict[str, Any]:
    node = row.node
    out: dict[str, Any] = {}
    if isinstance(node, (Conv, ConvTranspose, Pool)):
        out["kernel"] = {"height": node.kernel[0], "width": node.kernel[1]}
        out["stride"] = {"height": node.stride[0], "width": node.stride[1]}
        out["dilation"] = {"height": node.dilation[0], "width": node.dilation[1]}
    if row.padding is not None:
        top, bottom, left, right = row.padding
        out["padding"] = {"top": top, "bottom": bottom, "left": left, "right": right}
    if isinstance(node, (Conv, ConvTranspose)):
        out["groups"] = node.groups
    return out


def row_json(row: Row) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "path": row.path,
        "kind": row.kind,
        "block": row.is_block,
        "depth": row.depth,
        "input": row.input.as_json(),
        "output": row.output.as_json(),
        "params": row.params,
        "trainable_params": row.trainable_params,
        "non_trainable_params": row.non_trainable_params,
        "macs": row.macs,
        "activations": row.activations,
    }
    entry.update(_geometry_json(row))
    return entry


def memory_json(analysis: Analysis, batch: int, dtype: Dtype) -> dict[str, int]:
    t = analysis.totals
    return {
        "parameter_bytes": t.parameter_bytes(dtype),
        "input_bytes": t.input_elements * batch * dtype.bytes,
        "activation_bytes_inference": t.inference_activation_bytes(batch, dtype),
        "activation_bytes_training": t.training_activation_bytes(batch, dtype),
    }


def totals_json(analysis: Analysis, batch: int, dtype: Dtype) -> dict[str, int]:
    t = analysis.totals
    return {
        "params": t.params,
        "trainable_params": t.trainable_params,
        "non_trainable_params": t.non_trainable_params,
        "macs": t.macs,
        "flops": t.flops,
        "activations": t.activations,
        **memory_json(analysis, batch, dtype),
    }


def to_json(analysis: Analysis, *, depth: int | None, batch: int, dtype: Dtype) -> str:
    """One object; each layer on a line of its own.

    Written by hand around json.dumps of each part because json's indenting encoder is
    pure Python and took most of the run time on large networks; the compact encoder is C.
    The result is ordinary JSON, the same document `json.dumps(doc, indent=...)` would give.
    """
    dumps = json.dumps
    head = {"name": analysis.network.name, "input": analysis.input.as_json(), "batch": batch, "dtype": str(dtype)}
    lines = ["{"]
    lines.extend(f"  {dumps(key)}: {dumps(value, ensure_ascii=False)}," for key, value in head.items())
    rows = analysis.rows_to_depth(depth)
    if rows:
        lines.append('  "layers": [')
        last = len(rows) - 1
        lines.extend(
            f"    {dumps(row_json(r), ensure_ascii=False)}{',' if i < last else ''}" for i, r in enumerate(rows)
        )
        lines.append("  ],")
    else:
        lines.append('  "layers": [],')
    lines.append(f'  "totals": {dumps(totals_json(analysis, batch, dtype))}')
    lines.append("}")
    return "\n".join(lines)


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
    "geometry",
)


def to_csv(analysis: Analysis, *, depth: int | None, chw: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
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
                geometry(r),
            ]
        )
    return buffer.getvalue()


def human_bytes(n: int) -> str:
    """Decimal megabytes, as torchinfo prints them."""
    return f"{n / 1e6:,.2f} MB"


def totals_lines(analysis: Analysis, batch: int, dtype: Dtype) -> list[tuple[str, str]]:
    t = analysis.totals
    mem = memory_json(analysis, batch, dtype)
    lines = [
        ("Total params", f"{t.params:,}"),
        ("Trainable params", f"{t.trainable_params:,}"),
        ("Non-trainable params", f"{t.non_trainable_params:,}"),
        ("MACs", f"{t.macs:,} ({t.macs / 1e9:.2f} G)"),
        ("FLOPs (2 x MACs)", f"{t.flops:,}"),
        (f"Input ({batch} x {analysis.input.hwc()}, {dtype})", human_bytes(mem["input_bytes"])),
        ("Parameters (incl. running stats)", human_bytes(mem["parameter_bytes"])),
        ("Activations, inference peak", human_bytes(mem["activation_bytes_inference"])),
        ("Activations kept for training", human_bytes(mem["activation_bytes_training"])),
    ]
    return lines


def to_markdown(analysis: Analysis, *, depth: int | None, batch: int, dtype: Dtype, chw: bool) -> str:
    out = [
        f"## {analysis.network.name} ({shape_text(analysis.input, chw)})",
        "",
        "| layer | kind | output | k/s/p | params | MACs |",
        "|---|---|---|---|---:|---:|",
    ]
    for r in analysis.rows_to_depth(depth):
        kind = f"**{r.kind}**" if r.is_block else r.kind
        out.append(f"| `{r.path}` | {kind} | {shape_text(r.output, chw)} | {geometry(r)} | {r.params:,} | {r.macs:,} |")
    out.append("")
    out.append("| total | |")
    out.append("|---|---:|")
    for label, value in totals_lines(analysis, batch, dtype):
        out.append(f"| {label} | {value} |")
    return "\n".join(out) + "\n"


def rich_table(analysis: Analysis, *, depth: int | None, batch: int, dtype: Dtype, chw: bool, width: int) -> Any:
    """A rich renderable: the layer table, then the totals. Narrow terminals lose the k/s/p column first."""
    from rich import box
    from rich.console import Group
    from rich.table import Table

    show_geometry = width >= 90
    show_kind = width >= 60
    order = "C×H×W" if chw else "H×W×C"
    table = Table(
        title=f"{analysis.network.name}: input {shape_text(analysis.input, chw)} ({order})",
        box=box.SIMPLE_HEAD,
        title_justify="left",
        pad_edge=False,
    )
    table.add_column("Layer", overflow="fold", ratio=3)
    if show_kind:
        table.add_column("Kind", overflow="ellipsis", no_wrap=True, max_width=14)
    table.add_column("Output", no_wrap=True)
    if show_geometry:
        table.add_column("k/s/p", no_wrap=True)
    table.add_column("Params", justify="right", no_wrap=True)
    table.add_column("MACs", justify="right", no_wrap=True)
    rows = analysis.rows if depth is None else analysis.rows_to_depth(depth)
    for r in rows:
        style = "bold" if r.is_block else None
        indent = "  " * (r.depth - 1)
        label = f"{indent}{r.path}"
        cells = [label]
        if show_kind:
            cells.append(r.kind)
        cells.append(shape_text(r.output, chw))
        if show_geometry:
            cells.append(geometry(r))
        cells.extend([f"{r.params:,}", f"{r.macs:,}"])
        table.add_row(*cells, style=style)
    totals = Table(box=None, show_header=False, pad_edge=False)
    totals.add_column(justify="left")
    totals.add_column(justify="right")
    for label, value in totals_lines(analysis, batch, dtype):
        totals.add_row(label, value)
    return Group(table, totals)
