"""The vocabulary of option values: each converter checks one YAML value and returns it normalised.

A converter takes the value and the rank (number of spatial axes) of the layer's input, so that
`kernel: 3` becomes (3,), (3, 3) or (3, 3, 3) once, here. It raises `Bad` with what was expected
and a hint; the spec reader adds the option's name, the layer and the position.

Each converter also carries `schema`: the JSON Schema (draft-07) of the values it takes, which
`cnncalc schema` assembles for editors. It sits beside the check so the two cannot drift apart;
what a schema cannot say (arithmetic between options, the input's rank) stays with the check.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

from cnncalc.enums import PaddingMode
from cnncalc.model.layers import Padding
from cnncalc.model.shapes import AXIS_NAMES
from cnncalc.words import MAX_INT, and_list, suggest

Converter = Callable[[Any, int], Any]

# `$width * 4`, `$in.channels // 2`: inside blocks any value may be an expression, checked once evaluated
EXPRESSION_SCHEMA = {"type": "string", "pattern": r"^\s*\$", "description": "an expression over the block's arguments, e.g. $width * 4"}
_MAX_INT_SCHEMA = 2**63 - 1


def with_schema(schema: dict[str, Any]) -> Callable[[Converter], Converter]:
    """Attach the JSON Schema of the values a converter takes (see the module's docstring)."""

    def attach(convert: Converter) -> Converter:
        convert.schema = schema  # type: ignore[attr-defined]
        return convert

    return attach


def _whole_schema(minimum: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": minimum, "maximum": _MAX_INT_SCHEMA}


def _axes_schema(minimum: int) -> dict[str, Any]:
    item = {"anyOf": [_whole_schema(minimum), EXPRESSION_SCHEMA]}
    return {"anyOf": [_whole_schema(minimum), {"type": "array", "items": item, "minItems": 1, "maxItems": 3}]}


class Bad(Exception):
    """A value that does not fit its key: the spec reader turns it into a CnnCalcError with the key."""

    def __init__(self, expected: str, hint: str | None = None) -> None:
        self.expected = expected
        self.hint = hint


REQUIRED = object()

_INT_TEXT = re.compile(r"[-+]?[0-9]+")
_FLOAT_TEXT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")  # YAML 1.2's float, which 1.1 reads partly as text
_SIZE_TEXT = re.compile(r"([0-9]+)\s*[x×X*]\s*([0-9]+)")
_NUMBER_WORDS = {1: "one number", 2: "two numbers", 3: "three numbers"}


def axis_list(rank: int) -> str:
    """`[height, width]`, `[length]` or `[depth, height, width]`: how a message names a per-axis list."""
    return "[" + ", ".join(AXIS_NAMES.get(rank, AXIS_NAMES[2])) + "]"


def _axis_words(rank: int) -> str:
    names = AXIS_NAMES.get(rank, AXIS_NAMES[2])
    return f"the {names[0]}" if len(names) == 1 else and_list(names)


def _int_hint(value: Any, minimum: int) -> str | None:
    """Why a value is not a size, and what to write instead."""
    if isinstance(value, bool):
        return "true and false (also yes/no and on/off in YAML) are booleans, not numbers"
    if isinstance(value, str):
        text = value.strip()
        if _INT_TEXT.fullmatch(text):
            return f"write {text} without quotes"
        size = _SIZE_TEXT.fullmatch(text)
        if size:
            h, w = size.groups()
            return f"write {h} for {h}×{h}" if h == w else f"write a list [height, width]: [{h}, {w}]"
        if _FLOAT_TEXT.fullmatch(text):
            whole = _whole(text)
            spelled = f"write {whole}" if whole is not None else "write a whole number in digits"
            return f"YAML reads {text} as text here; {spelled}"
        return None
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) <= MAX_INT:
            return f"write {int(value)}"
        return "sizes count whole pixels, channels or units"
    if isinstance(value, int) and value < minimum:
        if value == 0:
            return "0 would leave nothing to compute with: the smallest value here is 1"
        return f"sizes count pixels, channels or units: the smallest value here is {minimum}"
    return None


def _whole(text: str) -> int | None:
    """The whole number a text like 1e3 spells, if it is one within int64."""
    from decimal import Decimal, InvalidOperation

    try:
        number = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex admits only numbers
        return None
    if number.is_finite() and abs(number) <= MAX_INT and number == number.to_integral_value():
        return int(number)
    return None


def _int(value: Any, minimum: int) -> int:
    word = "a positive whole number" if minimum == 1 else "a whole number ≥ 0"
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise Bad(word, _int_hint(value, minimum))
    if value > MAX_INT:
        raise Bad(f"{word} up to {MAX_INT:,} (torch's int64 limit)", "use a realistic size")
    return value


@with_schema(_whole_schema(1))
def positive(value: Any, rank: int = 2) -> int:
    return _int(value, 1)


@with_schema(_whole_schema(0))
def non_negative(value: Any, rank: int = 2) -> int:
    return _int(value, 0)


def _axes_of(check: Callable[[Any], int], word: str, plural: str, minimum: int) -> Converter:
    @with_schema(_axes_schema(minimum))
    def convert(value: Any, rank: int) -> tuple[int, ...]:
        names = axis_list(rank)
        if isinstance(value, list):
            if len(value) != rank:
                raise Bad(
                    f"{word} or a list {names}",
                    f"a list has {_NUMBER_WORDS.get(rank, f'{rank} numbers')}, {_axis_words(rank)}; got {len(value)}",
                )
            try:
                return tuple(check(v) for v in value)
            except Bad as bad:
                raise Bad(f"a list {names} of {plural}", bad.hint) from None
        try:
            v = check(value)
        except Bad as bad:
            raise Bad(f"{bad.expected} or a list {names}", bad.hint) from None
        return (v,) * rank

    return convert


positive_axes = _axes_of(lambda v: _int(v, 1), "a positive whole number", "positive whole numbers", 1)
non_negative_axes = _axes_of(lambda v: _int(v, 0), "a whole number ≥ 0", "whole numbers ≥ 0", 0)

_SIDES = {1: "[left, right]", 2: "[top, bottom, left, right]", 3: "[front, back, top, bottom, left, right]"}


@with_schema(
    {
        "anyOf": [
            _whole_schema(0),
            {"enum": [str(PaddingMode.SAME), str(PaddingMode.VALID)]},
            {"type": "array", "items": {"anyOf": [_whole_schema(0), EXPRESSION_SCHEMA]}, "minItems": 1, "maxItems": 6},
        ]
    }
)
def padding(value: Any, rank: int = 2) -> Padding:
    sides = _SIDES.get(rank, _SIDES[2])
    per_axis = f"{axis_list(rank)}, " if rank > 1 else ""
    expected = f"a whole number ≥ 0, {per_axis}{sides}, `same` or `valid`"
    if isinstance(value, str):
        if value in (PaddingMode.SAME, PaddingMode.VALID):
            return Padding(mode=PaddingMode(value))
        hint = suggest(value, ["same", "valid"]) or None
        if value.strip().isdecimal() and value.strip().isascii():
            hint = f"write {value.strip()} without quotes"
        raise Bad(expected, hint)
    if isinstance(value, list):
        if len(value) not in (rank, 2 * rank):
            raise Bad(expected)
        try:
            return Padding.of([_int(v, 0) for v in value], rank)
        except Bad as bad:
            raise Bad(expected, bad.hint) from None
    try:
        return Padding.of(_int(value, 0), rank)
    except Bad as bad:
        raise Bad(expected, bad.hint) from None


@with_schema({"type": "boolean"})
def boolean(value: Any, rank: int = 2) -> bool:
    if not isinstance(value, bool):
        hint = None
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no", "on", "off"):
            hint = "write true or false without quotes"
        elif isinstance(value, int) and value in (0, 1):
            hint = f"write {'true' if value else 'false'}"
        raise Bad("true or false", hint)
    return value


def number(minimum: float, maximum: float | None = None, *, open_min: bool = False) -> Converter:
    bound = (f"> {minimum}" if open_min else f"≥ {minimum}") + (f" and ≤ {maximum}" if maximum is not None else "")
    numeric: dict[str, Any] = {"type": "number", ("exclusiveMinimum" if open_min else "minimum"): minimum}
    if maximum is not None:
        numeric["maximum"] = maximum
    # 1e-5 without a dot: YAML 1.1 (PyYAML) reads it as text, and the check reads it as the number
    exponent = {"type": "string", "pattern": r"^\s*[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)[eE][-+]?[0-9]+\s*$"}

    @with_schema({"anyOf": [numeric, exponent]})
    def convert(value: Any, rank: int = 2) -> float:
        if isinstance(value, str) and _FLOAT_TEXT.fullmatch(value.strip()) and "e" in value.lower():
            value = float(value)  # YAML 1.1 reads 1e-5 as text; YAML 1.2 and every user read a number
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            hint = f"write {value.strip()} without quotes" if isinstance(value, str) and _FLOAT_TEXT.fullmatch(value.strip()) else None
            raise Bad(f"a number {bound}", hint)
        if isinstance(value, int) and abs(value) > MAX_INT:
            raise Bad(f"a number {bound}", "this number is far beyond any layer's range")
        if isinstance(value, float) and not math.isfinite(value):
            raise Bad(f"a finite number {bound}", "this is beyond the range of floating-point numbers" if math.isinf(value) else None)
        low_ok = value > minimum if open_min else value >= minimum
        if not low_ok or (maximum is not None and value > maximum):
            raise Bad(f"a number {bound}")
        return value

    return convert


@with_schema(
    {
        "anyOf": [
            {"type": "number", "exclusiveMinimum": 0},
            {"type": "array", "items": {"anyOf": [{"type": "number", "exclusiveMinimum": 0}, EXPRESSION_SCHEMA]}, "minItems": 1, "maxItems": 3},
        ]
    }
)
def scale(value: Any, rank: int = 2) -> tuple[float, ...]:
    check = number(0, open_min=True)
    if isinstance(value, list):
        if len(value) != rank:
            raise Bad(f"a positive number or {axis_list(rank)}")
        return tuple(check(v) for v in value)
    v = check(value)
    return (v,) * rank


def choice(options: type) -> Converter:
    @with_schema({"enum": [str(o) for o in options]})  # type: ignore[attr-defined]
    def convert(value: Any, rank: int = 2) -> Any:
        names = [str(o) for o in options]  # type: ignore[attr-defined]
        if value not in names:
            raise Bad("one of " + ", ".join(names), suggest(str(value), names) or None)
        return options(value)

    return convert


@with_schema({"type": "array", "items": {"anyOf": [_whole_schema(0), EXPRESSION_SCHEMA]}, "minItems": 1, "maxItems": 8})
def non_negative_list(value: Any, rank: int = 2) -> tuple[int, ...]:
    """A list of whole numbers ≥ 0 (permute's order)."""
    if not isinstance(value, list) or not value or len(value) > 8:
        raise Bad("a list of whole numbers ≥ 0, e.g. [0, 2, 3, 1]")
    try:
        return tuple(_int(v, 0) for v in value)
    except Bad as bad:
        raise Bad("a list of whole numbers ≥ 0, e.g. [0, 2, 3, 1]", bad.hint) from None


@with_schema({"type": "string", "minLength": 1})
def text(value: Any, rank: int = 2) -> str:
    """A word or a dotted path (`size_of: layer1.0`)."""
    if not isinstance(value, str) or not value.strip():
        raise Bad("a path of an earlier layer, such as layer1 or features.denseblock2")
    return value.strip()
