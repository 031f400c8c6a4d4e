"""How a message shows what the user wrote, and did-you-mean suggestions for misspelt or foreign names.

Shared by the spec reader, the option converters of the layer kinds and the CLI, so that every
message quotes a value, cuts a long list and suggests a name the same way.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from typing import Any

MAX_INT = 2**63 - 1  # torch sizes are int64


def show(value: Any) -> str:
    """A value as the user wrote it in YAML, short enough for a one-line message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing (null)"
    if isinstance(value, str):
        return f"{quote(value)} (text)"
    if isinstance(value, list):
        return show_list(value)
    if isinstance(value, dict):
        return "a mapping"
    return show_number(value)


def show_plain(value: Any) -> str:
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, list):
        return "[…]" if value else "[]"  # one level is enough to see the mistake (and lists can be cyclic)
    return show(value)


def show_list(value: list) -> str:
    shown = [show_plain(v) for v in value[:6]]
    if len(value) > 6:
        shown.append(f"… {len(value) - 6:,} more")
    return "[" + ", ".join(shown) + "]"


def show_number(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    if isinstance(value, int) and value.bit_length() > 14_000:  # str() refuses ints past 4,300 digits (~14,285 bits)
        return f"a number of about {int(value.bit_length() * math.log10(2)) + 1:,} digits"
    text = str(value)
    if isinstance(value, int) and len(text) > 30:
        return f"a {len(text.lstrip('-'))}-digit number"
    return text


def quote(text: str, limit: int = 40) -> str:
    return "'" + word(text, limit) + "'"


def word(text: Any, limit: int = 40) -> str:
    """A key or kind the user wrote, for a message: cut if very long, line breaks and controls escaped."""
    text = str(text)
    return printable(text if len(text) <= limit else text[: limit - 1] + "…")


def printable(text: Any) -> str:
    """Text from outside (a spec's name, a file name, an exception's words) made safe to print on a terminal:
    every control character, line break and other unprintable character becomes its escape (`\\x1b`, `\\n`),
    so nothing the user wrote can move the cursor, colour the screen or forge a line of output."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def listing(names: Any, limit: int = 12) -> str:
    """`a, b, c` for a message, at most `limit` names (a spec may define thousands)."""
    names = [str(n) for n in names]
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names) - limit:,} more)" if len(names) > limit else "")


def and_list(words: list[str] | tuple[str, ...], conjunction: str = "and") -> str:
    """`a`, `a and b`, `a, b and c` (or `a, b or c`): how a message joins a few words."""
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" {conjunction} " + words[-1]


def suggest_paths(wanted: str, paths: list[str], n: int = 3) -> list[str]:
    """The layer paths a wrong `--layer` may mean: those ending in what was written (`conv2` → `layer1.0.conv2`,
    `0.conv2` → `layer1.0.conv2`), else the closest spellings of whole paths, else of their last names."""
    found = [p for p in paths if p.endswith("." + wanted)]
    if found:
        return found[:n]  # the name is right, the path is short: every layer of that name may be meant
    # a misspelt path: the closest spellings, several only when they are all close (`features.3O`: 30 or 3?)
    close = difflib.get_close_matches(wanted, paths, n=n, cutoff=0.6)
    if close:
        ratio = [difflib.SequenceMatcher(None, wanted, c).ratio() for c in close]
        return [c for c, r in zip(close, ratio) if r >= ratio[0] - 0.05]
    by_name: dict[str, list[str]] = {}
    for p in paths:
        by_name.setdefault(p.rsplit(".", 1)[-1], []).append(p)
    names = difflib.get_close_matches(wanted.rsplit(".", 1)[-1], list(by_name), n=1, cutoff=0.6)
    return by_name[names[0]][:n] if names else []


def norm(text: str) -> str:
    return text.lower().replace("_", "").replace("-", "").replace(" ", "")


# What other frameworks call cnncalc's kinds and options (keys normalised by `_norm`).
SYNONYMS = {
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
    # option values: torch's and numpy's names for the dtypes, the usual short forms
    "float": "float32", "single": "float32", "fp32": "float32", "half": "float16", "fp16": "float16",
    "bf16": "bfloat16", "double": "float64", "fp64": "float64",
    "kr": "ko", "korean": "ko", "english": "en", "md": "markdown", "text": "table",
}
# Options other tools need but cnncalc works out from the layer before.
INFERRED = {"inchannels": "input channels", "infeatures": "input features", "inputshape": "input shape"}


def suggest(text: Any, choices: list[str] | tuple[str, ...]) -> str:
    """`did you mean `x`?` for a misspelt or foreign name, or ''."""
    if not isinstance(text, str) or len(text) > 64:
        return ""
    choices = list(choices)
    normal = norm(text)
    if normal in INFERRED and "kernel" in choices + ["units"]:
        return f"cnncalc works out the {INFERRED[normal]} from the layer before: remove `{text}`"
    by_norm = {norm(c): c for c in choices}
    for candidate in (normal, normal.removesuffix("2d")):
        if candidate in by_norm:
            return f"did you mean `{by_norm[candidate]}`?"
        if SYNONYMS.get(candidate) in choices:
            return f"did you mean `{SYNONYMS[candidate]}`?"
    close = difflib.get_close_matches(text.lower(), choices, n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else ""


# --------------------------------------------------------------------------- text on a screen

ELLIPSIS = "…"


def cell_width(text: str) -> int:
    """Terminal columns of `text`: two for wide East Asian characters (Hangul, CJK), one otherwise."""
    if text.isascii():
        return len(text)
    width = _CELL_WIDTHS.get(text)
    if width is None:
        width = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
        if len(_CELL_WIDTHS) < _CELL_WIDTHS_KEPT:
            _CELL_WIDTHS[text] = width
    return width


# Texts measured before: a table's shapes (`56×56×256`) are few and each measured on many rows, character
# by character. Bounded, so that a table of 100,000 distinct names does not keep them all.
_CELL_WIDTHS: dict[str, int] = {}
_CELL_WIDTHS_KEPT = 10_000


def cut(text: str, width: int) -> str:
    """`text` in at most `width` columns, ending in … when it had to be shortened."""
    if cell_width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = cell_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + ELLIPSIS


def wrap(text: str, width: int, indent: str = "") -> list[str]:
    """One paragraph in lines of at most `width` columns, broken at spaces (runs of spaces inside a
    line are kept, so aligned columns stay aligned); a word longer than a line starts a line of its
    own and is folded there (as rich wraps). Lines after the first start with `indent` (a hanging
    indent). No line ends in a space."""
    text = text.rstrip()
    if cell_width(text) <= width:
        return [text]
    if cell_width(indent) > width // 2:
        indent = ""  # an indent that leaves no room for the text is dropped
    lines: list[str] = []
    line, used = "", 0
    for token in re.findall(r"\s*\S+", text):
        word = token.lstrip()
        w, t = cell_width(word), cell_width(token)
        room = width - (cell_width(indent) if lines else 0)
        if line and used + t <= room:
            line, used = line + token, used + t
            continue
        if line:
            lines.append(line)
            line, used = "", 0
            room = width - cell_width(indent)
        elif not lines and token != word and t <= room:  # leading spaces of the paragraph stay, if the word fits after them
            word, w = token, t
        while w > room > 0:
            head = cut(word, room + 1)[:-1]  # the widest prefix that fits
            lines.append(head)
            word = word[len(head) :]
            w = cell_width(word)
            room = width - cell_width(indent)
        line, used = word, w
    if line or not lines:
        lines.append(line)
    return [lines[0], *(indent + rest for rest in lines[1:])]
