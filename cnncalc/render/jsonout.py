"""JSON documents written fast: json's indenting encoder is pure Python and took most of the run time of
large networks (issue 14); its compact encoder is C. A document here is indented by hand at the top level,
with each item of its lists on a line of its own, compact: ordinary JSON, the same values as
`json.dumps(doc, indent=2)` gives, and one layer per line for grep and diff."""

from __future__ import annotations

import json
from typing import Any

_encoder = json.JSONEncoder(ensure_ascii=False)


def _c_encoder() -> Any:
    """One C encoder for the whole run, as `_encoder.encode` would use (compact separators, non-ASCII kept, NaN
    allowed, circular references checked): `encode` builds a new one for every call, a third of its cost per
    layer of a 100,000-layer network. None where the C accelerator is missing."""
    from json.encoder import c_make_encoder, encode_basestring

    if c_make_encoder is None:  # pragma: no cover - CPython always has _json
        return None
    return c_make_encoder({}, _encoder.default, encode_basestring, None, ": ", ", ", False, False, True)


_chunks = _c_encoder()


def _encode(value: Any) -> str:
    return _encoder.encode(value) if _chunks is None else "".join(_chunks(value, 0))


def document(doc: dict[str, Any], one_per_line: tuple[str, ...] = ("layers",)) -> str:
    """`doc` with one top-level key per line; the lists named in `one_per_line` with one item per line."""
    lines = ["{"]
    last = len(doc) - 1
    for i, (key, value) in enumerate(doc.items()):
        comma = "," if i < last else ""
        if key in one_per_line and isinstance(value, list) and value:
            lines.append(f"  {_encode(key)}: [")
            end = len(value) - 1
            lines.extend(f"    {_encode(item)}{',' if j < end else ''}" for j, item in enumerate(value))
            lines.append(f"  ]{comma}")
        else:
            lines.append(f"  {_encode(key)}: {_encode(value)}{comma}")
    lines.append("}")
    return "\n".join(lines)
