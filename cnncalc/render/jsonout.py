"""JSON documents written fast: json's indenting encoder is pure Python and took most of the run time of
large networks (issue 14); its compact encoder is C. A document here is indented by hand at the top level,
with each item of its lists on a line of its own, compact: ordinary JSON, the same values as
`json.dumps(doc, indent=2)` gives, and one layer per line for grep and diff."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TextIO

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


def write(doc: dict[str, Any], out: TextIO, one_per_line: tuple[str, ...] = ("layers",)) -> None:
    """`doc` with one top-level key per line, the lists named in `one_per_line` with one item per line, and a
    final newline, written to `out` a few thousand lines at a time as they are made.

    Those lists may also be iterators: each item is then made, encoded and dropped in turn, so that a
    network's 100,000 layer objects never exist at once, and the text (50 MB) is never held whole."""
    batch: list[str] = []
    for piece in _pieces(doc, one_per_line):
        batch.append(piece)
        if len(batch) == _BATCH:
            out.write("".join(batch))
            batch.clear()
    batch.append("\n")
    out.write("".join(batch))


_BATCH = 4096
_NOTHING = object()


def _pieces(doc: dict[str, Any], one_per_line: tuple[str, ...]) -> Iterator[str]:
    """The document's text in pieces: `{`, then each top-level key and each item of the listed lists."""
    yield "{"
    last = len(doc) - 1
    for i, (key, value) in enumerate(doc.items()):
        comma = "," if i < last else ""
        if key in one_per_line and isinstance(value, (list, Iterator)):
            items = iter(value)
            first = next(items, _NOTHING)
            if first is not _NOTHING:
                yield f"\n  {_encode(key)}: [\n    {_encode(first)}"
                for item in items:
                    yield f",\n    {_encode(item)}"
                yield f"\n  ]{comma}"
                continue
            value = []
        yield f"\n  {_encode(key)}: {_encode(value)}{comma}"
    yield "\n}"
