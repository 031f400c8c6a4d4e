"""`cnncalc verify`'s report: the totals side by side, then every difference (plain text, aligned)."""

from __future__ import annotations

import json
from typing import Any


def _aligned(rows: list[tuple[str, ...]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [(indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths))).rstrip() for row in rows]


def render_verdict(name: str, against: str, verdict: Any) -> str:
    """What verify prints: what was compared, the totals, then the differences or that all agree."""
    lines = [f"{name} against {against}: {verdict.compared} layers compared (output shape, parameters, MACs)"]
    totals = [("", "cnncalc", "torch", "")] + [
        (what, f"{ours:,}", f"{theirs:,}", "ok" if ours == theirs else "DIFFERS") for what, ours, theirs in verdict.totals
    ]
    lines += _aligned(totals)
    if verdict.agrees:
        lines.append("everything agrees")
    else:
        count = len(verdict.differences)
        lines.append(f"{count} difference{'s' if count != 1 else ''}:")
        lines += _aligned([("path", "what", "cnncalc", "torch")] + [tuple(d) for d in verdict.differences])
    return "\n".join(lines) + "\n"


def verdict_json(name: str, against: str, verdict: Any) -> str:
    """The same as JSON: {"spec", "against", "agrees", "compared", "totals": [{what, cnncalc, torch}],
    "differences": [{path, what, cnncalc, torch}]} (numbers in the differences as the report shows them)."""
    document = {
        "spec": name,
        "against": against,
        "agrees": verdict.agrees,
        "compared": verdict.compared,
        "totals": [{"what": what, "cnncalc": ours, "torch": theirs} for what, ours, theirs in verdict.totals],
        "differences": [d._asdict() for d in verdict.differences],
    }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"
