"""YAML text → `Network`: load with positions, check every key and value, expand blocks.

Stages: `load_yaml` turns text into dicts and lists that remember where each key sat;
`build_network` checks them and expands blocks, repeats and branches into the frozen
dataclasses of `cnncalc.layers`, giving every layer its torch-style path. Errors carry
the layer path and position; the file name is added by the caller.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from cnncalc import expressions
from cnncalc.enums import POOLS, LayerKind, MergeKind, PaddingMode, StructureKind, UpsampleMode
from cnncalc.errors import CnnCalcError, SourcePos
from cnncalc.safe_yaml import YList, YMap, load_yaml
from cnncalc.layers import (
    Activation,
    AdaptivePool,
    BatchNorm,
    Conv,
    ConvTranspose,
    Dropout,
    Fc,
    Flatten,
    Lrn,
    Merge,
    Network,
    Node,
    Padding,
    Pool,
    Sequential,
    Upsample,
    ZeroPad,
)
from cnncalc.shapes import Shape, Spatial, Vector, parse_shape

# Limits on what one spec may ask for, so that any file, however hostile, is answered within about
# a second and little memory (README "When something is wrong"; tests/test_hostile.py measures them).
# The YAML-level limits (values, nesting depth, key length, digits) live in cnncalc.safe_yaml.
MAX_FILE_BYTES = 2 * 1024 * 1024  # a 10,000-layer chain written out without `repeat` is ~330 KB
MAX_LAYERS = 50_000  # layers and groups after expanding blocks and repeats (the 10,000-layer CNNs of Xiao et al. 2018 are 20,000)
MAX_EXPANSION_STEPS = 200_000  # entries visited while expanding, including ones switched off by `when`
MAX_NESTING = 64
MAX_INT = 2**63 - 1  # torch sizes are int64

TOP_LEVEL_KEYS = ("name", "description", "reference", "input", "blocks", "layers")
BLOCK_KEYS = ("args", "layers", "description")
COMMON_OPTIONS = ("name", "when")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _too_large(size: int, unit: str) -> CnnCalcError:
    return CnnCalcError(
        f"the spec is {size:,} {unit}; cnncalc reads specs of at most {MAX_FILE_BYTES:,} bytes (2 MiB)",
        hint="a spec of the largest networks takes a few kilobytes: use blocks and `repeat`",
    )


def read_spec_file(path: str | Path) -> str:
    """The text of a spec file, refusing huge or binary files before parsing them."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _too_large(size, "bytes")
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)  # bounded: a device or a growing file may say size 0
    except IsADirectoryError:
        raise CnnCalcError("this is a folder, not a spec file", hint="name a .yaml file") from None
    except FileNotFoundError:
        raise CnnCalcError("no such file", hint="check the path, or run `cnncalc models` for the bundled names") from None
    except OSError as exc:
        raise CnnCalcError(f"cannot read the file: {exc.strerror}", hint="check the path and its permissions") from None
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(len(data), "bytes or more")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CnnCalcError("the file is UTF-16 text; cnncalc reads UTF-8", hint="save the spec as UTF-8")
    if b"\x00" in data:
        raise CnnCalcError(
            f"this is a binary file, not a YAML spec (byte {data.index(0):,} is a NUL)",
            hint="name a .yaml text file",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        column = len(data[line_start:exc.start].decode("utf-8", errors="replace")) + 1
        raise CnnCalcError(
            f"the file is not UTF-8 text: byte {exc.start:,} (0x{data[exc.start]:02x}) cannot be decoded; is it a binary file?",
            hint="save the spec as UTF-8 text, or name the right file",
            pos=SourcePos(data.count(b"\n", 0, exc.start) + 1, column),
        ) from None


def parse_spec(text: str, *, file: str | None = None, default_name: str = "network") -> Network:
    """A `Network` from the YAML text of a spec."""
    try:
        if len(text) > MAX_FILE_BYTES:
            raise _too_large(len(text), "characters")
        return build_network(load_yaml(text), file=file, default_name=default_name)
    except CnnCalcError as exc:
        raise exc.located(file=file)


def parse_file(path: str | Path) -> Network:
    path = Path(path)
    try:
        text = read_spec_file(path)
    except CnnCalcError as exc:
        raise exc.located(file=str(path))
    return parse_spec(text, file=str(path), default_name=path.stem)


# --------------------------------------------------------------------------- values


def _show(value: Any) -> str:
    """A value as the user wrote it in YAML, short enough for a one-line message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing (null)"
    if isinstance(value, str):
        return f"{_quote(value)} (text)"
    if isinstance(value, list):
        return _show_list(value)
    if isinstance(value, dict):
        return "a mapping"
    return _show_number(value)


def _show_plain(value: Any) -> str:
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, list):
        return "[…]" if value else "[]"  # one level is enough to see the mistake (and lists can be cyclic)
    return _show(value)


def _show_list(value: list) -> str:
    shown = [_show_plain(v) for v in value[:6]]
    if len(value) > 6:
        shown.append(f"… {len(value) - 6:,} more")
    return "[" + ", ".join(shown) + "]"


def _show_number(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    text = str(value)
    if isinstance(value, int) and len(text) > 30:
        return f"a {len(text.lstrip('-'))}-digit number"
    return text


def _quote(text: str, limit: int = 40) -> str:
    return "'" + _word(text, limit) + "'"


def _word(text: Any, limit: int = 40) -> str:
    """A key or kind the user wrote, for a message: cut if very long, line breaks and controls escaped."""
    text = str(text)
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _listing(names: Any, limit: int = 12) -> str:
    """`a, b, c` for a message, at most `limit` names (a spec may define thousands)."""
    names = [str(n) for n in names]
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names) - limit:,} more)" if len(names) > limit else "")


def _norm(word: str) -> str:
    return word.lower().replace("_", "").replace("-", "").replace(" ", "")


# What other frameworks call cnncalc's kinds and options (keys normalised by `_norm`).
_SYNONYMS = {
    "conv2d": "conv", "convolution": "conv", "convolution2d": "conv",
    "linear": "fc", "dense": "fc", "fullyconnected": "fc", "innerproduct": "fc",
    "bn": "batchnorm", "batchnormalization": "batchnorm", "batchnorm2d": "batchnorm", "batchnorm1d": "batchnorm",
    "maxpool2d": "maxpool", "maxpooling2d": "maxpool", "pool": "maxpool",
    "avgpool2d": "avgpool", "averagepooling2d": "avgpool",
    "globalaveragepooling2d": "global_avgpool", "gap": "global_avgpool", "globalavgpool": "global_avgpool",
    "adaptiveavgpool2d": "adaptive_avgpool",
    "convtranspose2d": "conv_transpose", "conv2dtranspose": "conv_transpose", "deconv": "conv_transpose",
    "transposedconv": "conv_transpose",
    "zeropadding2d": "zeropad", "zeropad2d": "zeropad", "pad": "padding",
    "upsampling2d": "upsample", "localresponsenorm": "lrn", "leakyrelu": "leaky_relu",
    "cat": "concat", "concatenate": "concat", "sum": "add", "residual": "add",
    "outchannels": "filters", "channels": "filters", "numfilters": "filters", "filter": "filters",
    "kernelsize": "kernel", "poolsize": "kernel", "ksize": "kernel", "strides": "stride",
    "outfeatures": "units", "features": "units", "outputs": "units", "rate": "p",
    "scalefactor": "scale", "outputsize": "output_size", "usebias": "bias",
}
# Options other tools need but cnncalc works out from the layer before.
_INFERRED = {"inchannels": "input channels", "infeatures": "input features", "inputshape": "input shape"}


def _suggest(word: Any, choices: list[str] | tuple[str, ...]) -> str:
    """`did you mean `x`?` for a misspelt or foreign name, or ''."""
    if not isinstance(word, str) or len(word) > 64:
        return ""
    choices = list(choices)
    norm = _norm(word)
    if norm in _INFERRED and "kernel" in choices + ["units"]:
        return f"cnncalc works out the {_INFERRED[norm]} from the layer before: remove `{word}`"
    by_norm = {_norm(c): c for c in choices}
    for candidate in (norm, norm.removesuffix("2d")):
        if candidate in by_norm:
            return f"did you mean `{by_norm[candidate]}`?"
        if _SYNONYMS.get(candidate) in choices:
            return f"did you mean `{_SYNONYMS[candidate]}`?"
    close = difflib.get_close_matches(word.lower(), choices, n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else ""


class _Bad(Exception):
    """A value that does not fit its key: `_Expander.layer` turns it into a CnnCalcError with the key."""

    def __init__(self, expected: str, hint: str | None = None) -> None:
        self.expected = expected
        self.hint = hint


_INT_TEXT = re.compile(r"[-+]?\d+")
_FLOAT_TEXT = re.compile(r"[-+]?(\.\d+|\d+(\.\d*)?)([eE][-+]?\d+)?")  # YAML 1.2's float, which 1.1 reads partly as text
_SIZE_TEXT = re.compile(r"(\d+)\s*[x×X*]\s*(\d+)")


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
        raise _Bad(word, _int_hint(value, minimum))
    if value > MAX_INT:
        raise _Bad(f"{word} up to {MAX_INT:,} (torch's int64 limit)", "use a realistic size")
    return value


def positive(value: Any) -> int:
    return _int(value, 1)


def non_negative(value: Any) -> int:
    return _int(value, 0)


def _pair_of(check: Callable[[Any], int], word: str, plural: str) -> Callable[[Any], tuple[int, int]]:
    def convert(value: Any) -> tuple[int, int]:
        if isinstance(value, list):
            if len(value) != 2:
                raise _Bad(f"{word} or a list [height, width]", f"a list has two numbers, height and width; got {len(value)}")
            try:
                return (check(value[0]), check(value[1]))
            except _Bad as bad:
                raise _Bad(f"a list [height, width] of {plural}", bad.hint) from None
        try:
            v = check(value)
        except _Bad as bad:
            raise _Bad(f"{bad.expected} or a list [height, width]", bad.hint) from None
        return (v, v)

    return convert


positive_pair = _pair_of(positive, "a positive whole number", "positive whole numbers")
non_negative_pair = _pair_of(non_negative, "a whole number ≥ 0", "whole numbers ≥ 0")


def padding(value: Any) -> Padding:
    expected = "a whole number ≥ 0, [height, width], [top, bottom, left, right], `same` or `valid`"
    if isinstance(value, str):
        if value in (PaddingMode.SAME, PaddingMode.VALID):
            return Padding(mode=PaddingMode(value))
        hint = _suggest(value, ["same", "valid"]) or None
        if value.strip().isdigit():
            hint = f"write {value.strip()} without quotes"
        raise _Bad(expected, hint)
    if isinstance(value, list):
        if len(value) not in (2, 4):
            raise _Bad(expected)
        try:
            return Padding.of([non_negative(v) for v in value])
        except _Bad as bad:
            raise _Bad(expected, bad.hint) from None
    try:
        return Padding.of(non_negative(value))
    except _Bad as bad:
        raise _Bad(expected, bad.hint) from None


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        hint = None
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no", "on", "off"):
            hint = "write true or false without quotes"
        elif isinstance(value, int) and value in (0, 1):
            hint = f"write {'true' if value else 'false'}"
        raise _Bad("true or false", hint)
    return value


def _number(minimum: float, maximum: float | None = None, *, open_min: bool = False) -> Callable[[Any], float]:
    bound = (f"> {minimum}" if open_min else f"≥ {minimum}") + (f" and ≤ {maximum}" if maximum is not None else "")

    def convert(value: Any) -> float:
        if isinstance(value, str) and _FLOAT_TEXT.fullmatch(value.strip()) and "e" in value.lower():
            value = float(value)  # YAML 1.1 reads 1e-5 as text; YAML 1.2 and every user read a number
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            hint = f"write {value.strip()} without quotes" if isinstance(value, str) and _FLOAT_TEXT.fullmatch(value.strip()) else None
            raise _Bad(f"a number {bound}", hint)
        if isinstance(value, float) and not math.isfinite(value):
            raise _Bad(f"a finite number {bound}", "this is beyond the range of floating-point numbers" if math.isinf(value) else None)
        low_ok = value > minimum if open_min else value >= minimum
        if not low_ok or (maximum is not None and value > maximum):
            raise _Bad(f"a number {bound}")
        return value

    return convert


def _scale(value: Any) -> tuple[float, float]:
    check = _number(0, open_min=True)
    if isinstance(value, list):
        if len(value) != 2:
            raise _Bad("a positive number or [height, width]")
        return (check(value[0]), check(value[1]))
    v = check(value)
    return (v, v)


def _choice(options: type) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        names = [str(o) for o in options]  # type: ignore[attr-defined]
        if value not in names:
            raise _Bad("one of " + ", ".join(names), _suggest(str(value), names) or None)
        return options(value)

    return convert


REQUIRED = object()

# option -> (converter, default); REQUIRED marks options without a default.
_CONV_OPTIONS = {
    "filters": (positive, REQUIRED),
    "kernel": (positive_pair, REQUIRED),
    "stride": (positive_pair, (1, 1)),
    "padding": (padding, Padding()),
    "dilation": (positive_pair, (1, 1)),
    "groups": (positive, 1),
    "bias": (boolean, True),
    "trainable": (boolean, True),
}
_POOL_OPTIONS = {
    "kernel": (positive_pair, REQUIRED),
    "stride": (positive_pair, None),
    "padding": (padding, Padding()),
    "ceil_mode": (boolean, False),
}
OPTIONS: dict[LayerKind, dict[str, tuple[Callable[[Any], Any], Any]]] = {
    LayerKind.CONV: _CONV_OPTIONS,
    LayerKind.CONV_TRANSPOSE: {
        **_CONV_OPTIONS,
        "padding": (non_negative_pair, (0, 0)),
        "output_padding": (non_negative_pair, (0, 0)),
    },
    LayerKind.MAXPOOL: {**_POOL_OPTIONS, "dilation": (positive_pair, (1, 1))},
    LayerKind.MINPOOL: {**_POOL_OPTIONS, "dilation": (positive_pair, (1, 1))},
    LayerKind.AVGPOOL: _POOL_OPTIONS,
    LayerKind.GLOBAL_AVGPOOL: {},
    LayerKind.ADAPTIVE_AVGPOOL: {"output_size": (positive_pair, REQUIRED)},
    LayerKind.FC: {"units": (positive, REQUIRED), "bias": (boolean, True), "trainable": (boolean, True)},
    LayerKind.FLATTEN: {},
    LayerKind.BATCHNORM: {
        "affine": (boolean, True),
        "track_running_stats": (boolean, True),
        "trainable": (boolean, True),
        "eps": (_number(0, open_min=True), 1e-5),
        "momentum": (_number(0, 1), 0.1),
    },
    LayerKind.LRN: {
        "size": (positive, 5),
        "alpha": (_number(0), 1e-4),
        "beta": (_number(0), 0.75),
        "k": (_number(0), 1.0),
    },
    LayerKind.DROPOUT: {"p": (_number(0, 1), 0.5)},
    LayerKind.ZEROPAD: {"padding": (padding, REQUIRED)},
    LayerKind.UPSAMPLE: {
        "scale": (_scale, None),
        "size": (positive_pair, None),
        "mode": (_choice(UpsampleMode), UpsampleMode.NEAREST),
    },
    LayerKind.LEAKY_RELU: {"negative_slope": (_number(0), 0.01)},
}
# `output` is accepted for adaptive_avgpool as the short form of torch's `output_size`.
_ALIASES = {LayerKind.ADAPTIVE_AVGPOOL: {"output": "output_size"}}

_STRUCTURE_WORDS = tuple(str(k) for k in StructureKind)
_LAYER_WORDS = tuple(str(k) for k in LayerKind)


# --------------------------------------------------------------------------- expansion


@dataclass
class _Block:
    name: str
    args: dict[str, Any]  # default values; REQUIRED where the use must give one
    layers: YList
    pos: SourcePos


class _Namespace:
    """Hands out path segments inside one container: a name if given, else the position, as nn.Sequential."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.count = 0
        self.used: dict[str, SourcePos | None] = {}

    def peek(self, name: str | None) -> str:
        return self._join(name if name is not None else str(self.count))

    def place(self, name: str | None, pos: SourcePos | None, in_repeat: bool = False) -> str:
        segment = name if name is not None else str(self.count)
        self.count += 1
        if segment in self.used:
            first = self.used[segment]
            where = f" by the layer at line {first.line}" if first is not None else ""
            hint = (
                "a name inside `repeat` is used once per copy: name the repeat instead, or leave the name out"
                if in_repeat
                else "give each layer in the same group (the spec's `layers`, a block, a sequential) its own name"
            )
            raise CnnCalcError(
                f"names must be unique within their group; `{segment}` is already taken{where}",
                hint=hint,
                layer=self._join(segment),
                pos=pos,
            )
        self.used[segment] = pos
        return self._join(segment)

    def _join(self, segment: str) -> str:
        return f"{self.prefix}.{segment}" if self.prefix else segment


class _Expander:
    def __init__(self, blocks: dict[str, _Block]) -> None:
        self.blocks = blocks
        self.layer_count = 0
        self.steps = 0  # entries and repeat copies visited: bounds the work even where nothing is produced
        self.stack: list[str] = []

    # -- items

    def items(
        self,
        items: Any,
        pos: SourcePos,
        scope: dict[str, Any],
        ns: _Namespace,
        depth: int,
        what: str = "layers",
        in_repeat: bool = False,
    ) -> list[Node]:
        if not isinstance(items, list):
            raise CnnCalcError(
                f"`{what}` is a list of layers, one `- kind` per line; got {_show(items)}",
                hint="start each layer on its own line with `- `, e.g. `- conv: {filters: 6, kernel: 5}`",
                layer=ns.prefix or None,
                pos=pos,
            )
        if depth > MAX_NESTING:
            raise CnnCalcError(
                f"blocks nest more than {MAX_NESTING} levels deep",
                hint="flatten the structure; a deep network is a repeat, not a deep nesting",
                layer=ns.prefix or None,
                pos=pos,
            )
        nodes: list[Node] = []
        positions = getattr(items, "item_pos", None) or [pos] * len(items)
        for item, item_pos in zip(items, positions):
            self._step(ns, item_pos)
            nodes.extend(self.item(item, item_pos, scope, ns, depth, in_repeat))
        return nodes

    def item(
        self, item: Any, pos: SourcePos, scope: dict[str, Any], ns: _Namespace, depth: int, in_repeat: bool
    ) -> list[Node]:
        if isinstance(item, str) and not expressions.is_expression(item):
            return self.kinded(item, YMap(), pos, pos, scope, ns, depth, in_repeat)
        if isinstance(item, YMap):
            if "repeat" in item:
                return self.repeat(item, scope, ns, depth, in_repeat)
            if len(item) != 1:
                return self._several_keys(item, ns)
            (kind, options), = item.items()
            kind_pos = item.key_pos[kind]
            if options is None:
                options = YMap()
            if not isinstance(options, YMap):
                raise CnnCalcError(
                    f"the options of `{kind}` are a mapping of names to values; got {_show(options)}",
                    hint=f"write e.g. `- {kind}: {{{_example_options(kind, self.blocks)}}}`",
                    layer=ns.peek(None),
                    pos=kind_pos,
                )
            return self.kinded(kind, options, kind_pos, item.pos, scope, ns, depth, in_repeat)
        raise CnnCalcError(
            f"each entry of `layers` is a layer kind such as `relu` or a mapping such as `conv: {{filters: 6, kernel: 5}}`; got {_show(item)}",
            hint="start each layer with `- ` followed by its kind",
            layer=ns.peek(None),
            pos=pos,
        )

    def _several_keys(self, item: YMap, ns: _Namespace) -> list[Node]:
        keys = list(item)
        kinds = [k for k in keys if k in _LAYER_WORDS or k in _STRUCTURE_WORDS or k in self.blocks]
        if len(kinds) == 1:
            kind = kinds[0]
            stray = [k for k in keys if k != kind]
            raise CnnCalcError(
                f"`{_listing(stray)}` sits beside `{kind}` instead of inside its options",
                hint=f"indent the options under the kind: `- {kind}: {{{_listing(f'{k}: …' for k in stray)}}}`",
                layer=ns.peek(None),
                pos=item.key_pos[stray[0]],
            )
        if not keys:
            raise CnnCalcError(
                "an empty mapping is not a layer",
                hint="write the layer's kind, e.g. `- relu`",
                layer=ns.peek(None),
                pos=item.pos,
            )
        raise CnnCalcError(
            f"a layer entry has exactly one key, its kind; this one has {len(keys)}: {_listing(keys)}",
            hint="put each layer in its own `- ` entry, with its options inside: `- conv: {filters: 6, kernel: 5}`",
            layer=ns.peek(None),
            pos=item.pos,
        )

    def kinded(
        self,
        kind: str,
        options: YMap,
        kind_pos: SourcePos,
        item_pos: SourcePos,
        scope: dict[str, Any],
        ns: _Namespace,
        depth: int,
        in_repeat: bool,
    ) -> list[Node]:
        if kind in _LAYER_WORDS:
            return self.layer(LayerKind(kind), options, kind_pos, scope, ns, in_repeat)
        if kind == StructureKind.SEQUENTIAL:
            return self.sequential(options, kind_pos, scope, ns, depth, in_repeat)
        if kind in (StructureKind.ADD, StructureKind.CONCAT):
            return self.merge(MergeKind(kind), options, kind_pos, scope, ns, depth, in_repeat)
        if kind in self.blocks:
            return self.block_use(self.blocks[kind], options, kind_pos, scope, ns, depth, in_repeat)
        if kind in TOP_LEVEL_KEYS and kind != "name":
            raise CnnCalcError(
                f"`{kind}` belongs at the top level of the spec, not inside a list of layers",
                hint=f"move `{kind}:` out to the left margin, beside `input:` and `layers:`",
                layer=ns.peek(None),
                pos=kind_pos,
            )
        if kind == StructureKind.REPEAT:
            raise CnnCalcError(
                "`repeat` takes a count and the layers to repeat",
                hint="write `- repeat: 3` and, on the next line at the same indent, `  layers: [...]`",
                layer=ns.peek(None),
                pos=kind_pos,
            )
        choices = list(_LAYER_WORDS) + ["sequential", "add", "concat", "repeat"] + list(self.blocks)
        suggestion = _suggest(kind, choices) if isinstance(kind, str) else ""
        defined = f"; this spec's blocks are {_listing(self.blocks)}" if self.blocks else "; define your own under `blocks:`"
        raise CnnCalcError(
            f"unknown layer kind `{_word(kind)}`" + (f"; {suggestion}" if suggestion else ""),
            hint="layer kinds are " + ", ".join(_LAYER_WORDS) + defined,
            layer=ns.peek(None),
            pos=kind_pos,
        )

    def _common(self, options: YMap, scope: dict[str, Any], ns: _Namespace, kind: str) -> tuple[bool, str | None]:
        """`when` and `name`, which every item takes."""
        when = True
        if "when" in options:
            when = self.value(options["when"], scope, ns, options.key_pos["when"])
            if not isinstance(when, bool):
                raise CnnCalcError(
                    f"`when` of {kind} must be true or false; got {_show(when)}",
                    hint="compare block arguments, e.g. `when: $stride > 1`",
                    layer=ns.peek(None),
                    pos=options.key_pos["when"],
                )
        name = None
        if "name" in options:
            name = self.value(options["name"], scope, ns, options.key_pos["name"])
            if not isinstance(name, str) or not _NAME.match(name):
                raise CnnCalcError(
                    f"a name is a word of letters, digits and _ that does not start with a digit; got {_show(name)}",
                    hint="e.g. `name: conv1` (a path like layer1.0.conv1 is built from the names)",
                    layer=ns.peek(None),
                    pos=options.key_pos["name"],
                )
        return when, name

    def value(self, raw: Any, scope: dict[str, Any], ns: _Namespace, pos: SourcePos, layer: str | None = None) -> Any:
        """An option's value with `$expressions` evaluated, also as the items of a short list such as
        [height, width]; nothing deeper (no option takes nested lists, and YAML aliases can make them cyclic)."""
        if isinstance(raw, list):
            if len(raw) > 4:
                return raw  # no option takes more than 4 numbers: the option's own check says so
            return [self._scalar_value(v, scope, ns, pos, layer) for v in raw]
        return self._scalar_value(raw, scope, ns, pos, layer)

    def _scalar_value(self, raw: Any, scope: dict[str, Any], ns: _Namespace, pos: SourcePos, layer: str | None) -> Any:
        if expressions.is_expression(raw):
            try:
                return expressions.evaluate(raw, scope)
            except CnnCalcError as exc:
                raise exc.located(layer=layer or ns.peek(None), pos=pos)
        return raw

    def _step(self, ns: _Namespace, pos: SourcePos) -> None:
        self.steps += 1
        if self.steps > MAX_EXPANSION_STEPS:
            raise CnnCalcError(
                f"expanding the spec's blocks and repeats takes more than {MAX_EXPANSION_STEPS:,} steps",
                hint="check the `repeat` counts and blocks used many times inside one another, "
                "also where `when` switches the layers off",
                layer=ns.peek(None),
                pos=pos,
            )

    def _count(self, ns: _Namespace, pos: SourcePos) -> None:
        self.layer_count += 1
        if self.layer_count > MAX_LAYERS:
            raise CnnCalcError(
                f"the spec expands to more than {MAX_LAYERS:,} layers",
                hint="check the `repeat` counts; the largest real networks have a few thousand layers",
                layer=ns.peek(None),
                pos=pos,
            )

    # -- leaves

    def layer(
        self, kind: LayerKind, options: YMap, pos: SourcePos, scope: dict[str, Any], ns: _Namespace, in_repeat: bool
    ) -> list[Node]:
        schema = OPTIONS.get(kind, {})
        aliases = _ALIASES.get(kind, {})
        when, name = self._common(options, scope, ns, kind)
        if not when:
            return []
        self._count(ns, pos)
        path = ns.place(name, pos, in_repeat)
        values: dict[str, Any] = {}
        for key, raw in options.items():
            if key in COMMON_OPTIONS:
                continue
            target = aliases.get(key, key)
            if target not in schema:
                suggestion = _suggest(key, list(schema) + list(aliases) + list(COMMON_OPTIONS))
                known = ", ".join(list(schema) + list(COMMON_OPTIONS))
                raise CnnCalcError(
                    f"{kind} has no option `{key}`" + (f"; {suggestion}" if suggestion else ""),
                    hint=f"{kind} takes: {known}",
                    layer=path,
                    pos=options.key_pos[key],
                )
            if target in values:
                raise CnnCalcError(
                    f"`{key}` and `{target}` are the same option of {kind}",
                    hint="keep one of them",
                    layer=path,
                    pos=options.key_pos[key],
                )
            value = self.value(raw, scope, ns, options.key_pos[key], layer=path)
            converter = schema[target][0]
            try:
                values[target] = converter(value)
            except _Bad as bad:
                raise CnnCalcError(
                    f"`{key}` of {kind} must be {bad.expected}; got {_show(value)}",
                    hint=bad.hint,
                    layer=path,
                    pos=options.key_pos[key],
                ) from None
        for key, (_, default) in schema.items():
            if key not in values:
                if default is REQUIRED:
                    raise CnnCalcError(
                        f"{kind} needs `{key}`",
                        hint=f"e.g. `- {kind}: {{{_example_options(kind, self.blocks)}}}`",
                        layer=path,
                        pos=pos,
                    )
                values[key] = default
        return [_make_layer(kind, values, path, name, pos)]

    # -- structure

    def sequential(
        self, options: YMap, pos: SourcePos, scope: dict[str, Any], ns: _Namespace, depth: int, in_repeat: bool
    ) -> list[Node]:
        self._only(options, ("layers", *COMMON_OPTIONS), "sequential", ns, pos)
        when, name = self._common(options, scope, ns, "sequential")
        if not when:
            return []
        if "layers" not in options:
            raise CnnCalcError("sequential needs `layers`", hint="e.g. `- sequential: {name: features, layers: [...]}`", layer=ns.peek(name), pos=pos)
        self._count(ns, pos)
        path = ns.place(name, pos, in_repeat)
        inner = _Namespace(path)
        children = self.items(options["layers"], options.key_pos["layers"], scope, inner, depth + 1)
        return [Sequential(path=path, name=name, pos=pos, label="sequential", children=tuple(children))]

    def repeat(self, item: YMap, scope: dict[str, Any], ns: _Namespace, depth: int, in_repeat: bool) -> list[Node]:
        pos = item.key_pos["repeat"]
        self._only(item, ("repeat", "layers", *COMMON_OPTIONS), "repeat", ns, pos)
        when, name = self._common(item, scope, ns, "repeat")
        if not when:
            return []
        times = self.value(item["repeat"], scope, ns, pos, layer=ns.peek(name))
        try:
            times = non_negative(times)
        except _Bad:
            raise CnnCalcError(
                f"`repeat` is how many copies to make, a whole number ≥ 0; got {_show(times)}",
                hint="e.g. `- repeat: 3`",
                layer=ns.peek(name),
                pos=pos,
            ) from None
        if "layers" not in item:
            raise CnnCalcError(
                "`repeat` needs `layers`, the layers to repeat",
                hint="write `layers:` on the next line, at the same indent as `repeat:`",
                layer=ns.peek(name),
                pos=pos,
            )
        if times > MAX_LAYERS:
            raise CnnCalcError(
                f"`repeat: {times:,}` would make more than {MAX_LAYERS:,} layers",
                hint="check the count; the largest real networks have a few thousand layers",
                layer=ns.peek(name),
                pos=pos,
            )
        target = ns
        container_path = None
        if name is not None:
            self._count(ns, pos)
            container_path = ns.place(name, pos, in_repeat)
            target = _Namespace(container_path)
        nodes: list[Node] = []
        for _ in range(times):
            self._step(ns, pos)
            nodes.extend(
                self.items(item["layers"], item.key_pos["layers"], scope, target, depth + 1, "layers", in_repeat=True)
            )
        if container_path is not None:
            return [Sequential(path=container_path, name=name, pos=pos, label="repeat", children=tuple(nodes))]
        return nodes

    def merge(
        self,
        merge: MergeKind,
        options: YMap,
        pos: SourcePos,
        scope: dict[str, Any],
        ns: _Namespace,
        depth: int,
        in_repeat: bool,
    ) -> list[Node]:
        self._only(options, ("branches", *COMMON_OPTIONS), str(merge), ns, pos)
        when, name = self._common(options, scope, ns, str(merge))
        if not when:
            return []
        branches = options.get("branches")
        example = "branches: [[conv: {filters: 64, kernel: 3, padding: 1}], []]"
        if not isinstance(branches, list) or len(branches) < 2:
            got = "no `branches`" if branches is None else f"{_show(branches)}"
            raise CnnCalcError(
                f"{merge} needs `branches`, a list of two or more branches; got {got}",
                hint=f"each branch is a list of layers ([] is the identity), e.g. `{example}`",
                layer=ns.peek(name),
                pos=pos,
            )
        self._count(ns, pos)
        result: list[tuple[Node, ...]] = []
        for branch, branch_pos in zip(branches, branches.item_pos):
            result.append(tuple(self.branch(branch, branch_pos, scope, ns, depth, in_repeat)))
        path = ns.place(name, pos, in_repeat)
        return [Merge(path=path, name=name, pos=pos, merge=merge, branches=tuple(result))]

    def branch(
        self, branch: Any, pos: SourcePos, scope: dict[str, Any], ns: _Namespace, depth: int, in_repeat: bool
    ) -> list[Node]:
        if isinstance(branch, YMap):
            if "layers" not in branch:
                raise CnnCalcError(
                    "a branch is a list of layers, or a mapping with `layers` (and optional `name`, `when`)",
                    hint="e.g. `- {name: downsample, layers: [conv: {filters: 256, kernel: 1}]}`, or `- []` for the identity",
                    layer=ns.peek(None),
                    pos=pos,
                )
            self._only(branch, ("layers", *COMMON_OPTIONS), "a branch", ns, pos)
            when, name = self._common(branch, scope, ns, "a branch")
            if not when:
                return []  # a branch switched off is the identity
            if name is None:
                return self.items(branch["layers"], branch.key_pos["layers"], scope, ns, depth + 1, in_repeat=in_repeat)
            self._count(ns, pos)
            path = ns.place(name, pos, in_repeat)
            children = self.items(branch["layers"], branch.key_pos["layers"], scope, _Namespace(path), depth + 1)
            return [Sequential(path=path, name=name, pos=pos, label="branch", children=tuple(children))]
        return self.items(branch, pos, scope, ns, depth + 1, "branches", in_repeat=in_repeat)

    def block_use(
        self,
        block: _Block,
        options: YMap,
        pos: SourcePos,
        scope: dict[str, Any],
        ns: _Namespace,
        depth: int,
        in_repeat: bool,
    ) -> list[Node]:
        if block.name in self.stack:
            cycle = " → ".join([*self.stack[self.stack.index(block.name):], block.name])
            raise CnnCalcError(
                f"block `{block.name}` uses itself ({cycle}), which would never end",
                hint="a block may use other blocks, but not itself, directly or through others",
                layer=ns.peek(None),
                pos=pos,
            )
        when, name = self._common(options, scope, ns, block.name)
        if not when:
            return []
        bound: dict[str, Any] = {}
        for key, raw in options.items():
            if key in COMMON_OPTIONS:
                continue
            if key not in block.args:
                suggestion = _suggest(key, list(block.args))
                known = _listing(block.args) or "no arguments"
                raise CnnCalcError(
                    f"block `{block.name}` has no argument `{key}`" + (f"; {suggestion}" if suggestion else ""),
                    hint=f"{block.name} takes: {known} (declared under its `args:`)",
                    layer=ns.peek(name),
                    pos=options.key_pos[key],
                )
            bound[key] = self.value(raw, scope, ns, options.key_pos[key], layer=ns.peek(name))
        for key, default in block.args.items():
            if key not in bound:
                if default is REQUIRED:
                    raise CnnCalcError(
                        f"block `{block.name}` needs the argument `{key}`",
                        hint=f"write `- {block.name}: {{{key}: …}}`",
                        layer=ns.peek(name),
                        pos=pos,
                    )
                bound[key] = default
        self._count(ns, pos)
        path = ns.place(name, pos, in_repeat)
        self.stack.append(block.name)
        try:
            children = self.items(block.layers, block.layers.pos, bound, _Namespace(path), depth + 1)
        except CnnCalcError as exc:
            # The error points into the block's definition; say which use of the block it came from, once.
            if not getattr(exc, "block_use_noted", False) and exc.pos is not None and exc.pos.line != pos.line:
                exc.message += f"; in `{path}`, the `{block.name}` block used at line {pos.line}"
                exc.block_use_noted = True  # type: ignore[attr-defined]
            raise
        finally:
            self.stack.pop()
        return [Sequential(path=path, name=name, pos=pos, label=block.name, children=tuple(children))]

    def _only(self, options: YMap, allowed: tuple[str, ...], what: str, ns: _Namespace, pos: SourcePos) -> None:
        for key in options:
            if key not in allowed:
                suggestion = _suggest(key, list(allowed))
                raise CnnCalcError(
                    f"{what} has no option `{key}`" + (f"; {suggestion}" if suggestion else ""),
                    hint=f"{what} takes: {', '.join(allowed)}",
                    layer=ns.peek(None),
                    pos=options.key_pos.get(key, pos),
                )


def _example_options(kind: str, blocks: dict[str, _Block]) -> str:
    examples = {
        "conv": "filters: 6, kernel: 5",
        "conv_transpose": "filters: 6, kernel: 2, stride: 2",
        "maxpool": "kernel: 2, stride: 2",
        "avgpool": "kernel: 2, stride: 2",
        "minpool": "kernel: 2, stride: 2",
        "adaptive_avgpool": "output_size: 7",
        "fc": "units: 10",
        "zeropad": "padding: 1",
        "upsample": "scale: 2",
        "dropout": "p: 0.5",
        "sequential": "name: features, layers: [...]",
        "add": "branches: [[...], []]",
        "concat": "branches: [[...], [...]]",
    }
    if kind in blocks:
        return _listing(f"{k}: …" for k in blocks[kind].args)
    return examples.get(kind, "")


def _make_layer(kind: LayerKind, values: dict[str, Any], path: str, name: str | None, pos: SourcePos) -> Node:
    base = {"path": path, "name": name, "pos": pos}
    if kind is LayerKind.CONV:
        return Conv(**base, **values)
    if kind is LayerKind.CONV_TRANSPOSE:
        return ConvTranspose(**base, **values)
    if kind in POOLS:
        return Pool(kind=kind, **base, **values)
    if kind is LayerKind.GLOBAL_AVGPOOL:
        return AdaptivePool(kind=kind, output=(1, 1), **base)
    if kind is LayerKind.ADAPTIVE_AVGPOOL:
        return AdaptivePool(kind=kind, output=values["output_size"], **base)
    if kind is LayerKind.FC:
        return Fc(**base, **values)
    if kind is LayerKind.FLATTEN:
        return Flatten(**base)
    if kind is LayerKind.BATCHNORM:
        return BatchNorm(
            affine=values["affine"],
            track_running_stats=values["track_running_stats"],
            trainable=values["trainable"],
            **base,
        )
    if kind is LayerKind.LRN:
        return Lrn(size=values["size"], **base)
    if kind is LayerKind.DROPOUT:
        return Dropout(p=values["p"], **base)
    if kind is LayerKind.ZEROPAD:
        pad = values["padding"]
        if pad.mode is not PaddingMode.EXPLICIT:
            raise CnnCalcError(
                f"zeropad needs numbers of pixels, not `{pad.mode}`",
                hint="e.g. `padding: 1` or `padding: [0, 1, 0, 1]` (top, bottom, left, right)",
                layer=path,
                pos=pos,
            )
        return ZeroPad(padding=pad, **base)
    if kind is LayerKind.UPSAMPLE:
        if (values["scale"] is None) == (values["size"] is None):
            raise CnnCalcError(
                "upsample needs exactly one of `scale` and `size`",
                hint="e.g. `- upsample: {scale: 2}` or `- upsample: {size: [56, 56]}`",
                layer=path,
                pos=pos,
            )
        return Upsample(scale=values["scale"], size=values["size"], mode=values["mode"], **base)
    return Activation(kind=kind, **base)


# --------------------------------------------------------------------------- document


def _input_shape(value: Any, pos: SourcePos) -> Shape:
    if isinstance(value, list) and len(value) == 3 and all(type(v) is int for v in value):
        value = "x".join(str(v) for v in value)
    if type(value) is int:
        value = str(value)
    if not isinstance(value, str):
        raise CnnCalcError(
            f"`input` is height x width x channels, like 32x32x3; got {_show(value)}",
            hint="e.g. `input: 224x224x3`",
            pos=pos,
        )
    try:
        return parse_shape(value)
    except CnnCalcError as exc:
        raise exc.located(pos=pos)


def _blocks(raw: Any, pos: SourcePos) -> dict[str, _Block]:
    if raw is None:
        return {}
    if not isinstance(raw, YMap):
        raise CnnCalcError(
            f"`blocks` maps block names to their definitions; got {_show(raw)}",
            hint="e.g. `blocks:\\n  double_conv:\\n    args: {filters: null}\\n    layers: [...]`",
            pos=pos,
        )
    blocks: dict[str, _Block] = {}
    for name, body in raw.items():
        name_pos = raw.key_pos[name]
        if not _NAME.match(name):
            raise CnnCalcError(
                f"a block name is a word of letters, digits and _; got '{name}'",
                hint="e.g. `bottleneck`",
                pos=name_pos,
            )
        if name in _LAYER_WORDS or name in _STRUCTURE_WORDS:
            raise CnnCalcError(
                f"`{name}` is a built-in kind and cannot be redefined as a block",
                hint=f"call the block something else, e.g. `my_{name}`",
                pos=name_pos,
            )
        if not isinstance(body, YMap) or "layers" not in body:
            raise CnnCalcError(
                f"block `{name}` needs `layers` (and optionally `args`)",
                hint="e.g. `args: {filters: null}` and `layers: [conv: {filters: $filters, kernel: 3}]`",
                pos=name_pos,
            )
        for key in body:
            if key not in BLOCK_KEYS:
                suggestion = _suggest(key, BLOCK_KEYS)
                raise CnnCalcError(
                    f"block `{name}` has no key `{key}`" + (f"; {suggestion}" if suggestion else ""),
                    hint="a block has `args`, `layers` and an optional `description`",
                    pos=body.key_pos[key],
                )
        args_raw = body.get("args") or YMap()
        if not isinstance(args_raw, YMap):
            raise CnnCalcError(
                f"`args` of block `{name}` maps argument names to defaults (null for required); got {_show(args_raw)}",
                hint="e.g. `args: {filters: null, stride: 1}`",
                pos=body.key_pos["args"],
            )
        args: dict[str, Any] = {}
        for arg, default in args_raw.items():
            if not _NAME.match(arg) or arg in COMMON_OPTIONS:
                raise CnnCalcError(
                    f"`{arg}` cannot be a block argument",
                    hint="argument names are words of letters, digits and _, other than `name` and `when`",
                    pos=args_raw.key_pos[arg],
                )
            args[arg] = REQUIRED if default is None else default
        layers = body["layers"]
        if not isinstance(layers, YList):
            raise CnnCalcError(
                f"`layers` of block `{name}` is a list of layers; got {_show(layers)}",
                hint="start each layer on its own line with `- `",
                pos=body.key_pos["layers"],
            )
        blocks[name] = _Block(name, args, layers, name_pos)
    return blocks


def build_network(doc: Any, *, file: str | None = None, default_name: str = "network") -> Network:
    if not isinstance(doc, YMap):
        raise CnnCalcError(
            "a spec is a YAML mapping with `input` and `layers`" + ("; this file is empty" if doc is None else f"; got {_show(doc)}"),
            hint="start from `input: 32x32x3` and `layers:` followed by `- conv: {filters: 6, kernel: 5}`",
            pos=getattr(doc, "pos", None),
        )
    for key in doc:
        if key not in TOP_LEVEL_KEYS:
            suggestion = _suggest(key, TOP_LEVEL_KEYS)
            raise CnnCalcError(
                f"a spec has no key `{key}`" + (f"; {suggestion}" if suggestion else ""),
                hint="the keys of a spec are " + ", ".join(TOP_LEVEL_KEYS),
                pos=doc.key_pos[key],
            )
    for key in ("name", "description", "reference"):
        if key in doc and not isinstance(doc[key], str):
            raise CnnCalcError(f"`{key}` is text; got {_show(doc[key])}", hint="quote it if it looks like a number", pos=doc.key_pos[key])
    if "input" not in doc:
        raise CnnCalcError("a spec needs `input`, the size of one input image", hint="e.g. `input: 32x32x3` (height x width x channels)", pos=doc.pos)
    input_shape = _input_shape(doc["input"], doc.key_pos["input"])
    if "layers" not in doc:
        raise CnnCalcError("a spec needs `layers`, the list of layers", hint="e.g. `layers:` followed by `- conv: {filters: 6, kernel: 5}`", pos=doc.pos)
    blocks = _blocks(doc.get("blocks"), doc.key_pos.get("blocks", doc.pos))
    expander = _Expander(blocks)
    nodes = expander.items(doc["layers"], doc.key_pos["layers"], {}, _Namespace(""), 1)
    if not nodes:
        raise CnnCalcError(
            "the network has no layers",
            hint="add at least one layer under `layers:`",
            pos=doc.key_pos["layers"],
        )
    return Network(
        name=doc.get("name") or default_name,
        input=input_shape,
        layers=tuple(nodes),
        description=doc.get("description", ""),
        reference=doc.get("reference", ""),
        file=file,
    )


def parse_layer(kind: str, options: dict[str, Any]) -> Node:
    """One layer, `- kind: {options}`, checked by the very code that checks a spec (for `cnncalc layer`).

    `options` holds what YAML would have read: ints, lists, text, booleans. The layer's path is its kind.
    Errors carry no position or path: there is no file, and the layer is the one the user named.
    """
    if kind not in _LAYER_WORDS:
        suggestion = _suggest(kind, _LAYER_WORDS)
        raise CnnCalcError(
            f"unknown layer kind `{kind}`" + (f"; {suggestion}" if suggestion else ""),
            hint="layer kinds are " + ", ".join(_LAYER_WORDS),
        )
    mapping = YMap(options)
    mapping.pos = None  # type: ignore[assignment]
    mapping.key_pos = {key: None for key in options}  # type: ignore[misc]
    try:
        (node,) = _Expander({}).layer(LayerKind(kind), mapping, None, {}, _Namespace(""), False)  # type: ignore[arg-type]
    except CnnCalcError as exc:
        exc.layer, exc.pos = None, None
        raise
    from dataclasses import replace

    return replace(node, path=kind)


__all__ = ["Spatial", "Vector", "build_network", "load_yaml", "parse_file", "parse_layer", "parse_spec", "read_spec_file"]
