"""The bundled models as a table for people: every name and number whole at any width."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from cnncalc.render.layout import Column, Frame, Line, first_fit, wrap_lines
from cnncalc.render.table import compact

DESCRIPTION_FLOOR = 20  # narrower than this, a description is more line breaks than words
NO_ROOM_NOTE = "(descriptions: on a wider terminal, or with --format markdown)"


def models_lines(entries: Sequence[dict[str, Any]], width: int) -> list[Line]:
    """Families separated by a blank line; Layers is the weight layers (conv and fc). Descriptions wrap in
    their own column when at least DESCRIPTION_FLOOR columns are left for them; on a narrower screen the
    layer count goes, then the input size, then the numbers take their three-digit form (25.6M): a name
    or a number is never cut."""
    name = Column("Name", [e["name"] for e in entries])
    size = Column("Input", [e["input_text"] for e in entries])
    params = Column("Params", [f"{e['params']:,}" for e in entries], right=True)
    macs = Column("MACs", [f"{e['macs']:,}" for e in entries], right=True)
    params_c = Column("Params", [compact(e["params"]) for e in entries], right=True)
    macs_c = Column("MACs", [compact(e["macs"]) for e in entries], right=True)
    described = Column("Description", [e["description"] for e in entries], wrap=True, min_width=11, floor=DESCRIPTION_FLOOR)
    depth = Column("Layers", [str(e["weight_layers"]) for e in entries], right=True)  # conv + fc, as VGG-16's 16
    choices = [
        [name, size, depth, params, macs, described],
        [name, size, depth, params, macs],
        [name, size, params, macs],
        [name, params, macs],
        [name, params_c, macs_c],
    ]
    grid = first_fit(choices, width, Frame(gap=3, edge=1, open=True))
    ends = frozenset(
        i for i, e in enumerate(entries)
        if i + 1 < len(entries) and (entries[i + 1]["family"] != e["family"] or entries[i + 1]["task"] != e["task"])
    )
    lines = replace(grid, section_ends=ends).lines()
    if grid.columns[-1] is not described:
        lines.extend(Line(text) for text in wrap_lines(NO_ROOM_NOTE, width))
    return lines
