"""YAML text → dicts and lists that remember where each key and item sat, safe for any input.

PyYAML's own composer builds a node tree first (recursively, and expanding every alias
into the same node again and again), then converts it. Here the values are built directly
from the parser's event stream, without recursion and within budgets, so that no file
however hostile can make cnncalc hang, recurse out or fill memory:

- at most `MAX_YAML_VALUES` values (scalars, lists, mappings and alias uses), counted as
  they are read, so that rejection costs only the first values;
- at most `MAX_YAML_DEPTH` levels of nested lists and mappings (libyaml stops at 1000);
- an alias (`*name`) is the very same object as its anchor (`&name`), never a copy, so an
  alias bomb ("billion laughs") costs one value per alias written in the file; what it
  would expand to is bounded later by the expansion limits of `cnncalc.parse`;
- keys of at most `MAX_KEY_LENGTH` characters, numbers of at most `MAX_NUMBER_DIGITS`
  digits (Python itself refuses to read more than 4,300), no float that overflows to
  infinity, and no YAML tags beyond the plain types.

Syntax errors are reworded from PyYAML's problem/context pair into what to look for.
"""

from __future__ import annotations

import math
from typing import Any

from cnncalc.errors import CnnCalcError, SourcePos, YamlProblem

MAX_YAML_VALUES = 1_200_000  # a 100,000-branch concat written out holds 1,000,000 (a chain of 100,000 convs with their options, ~430,000)
MAX_MERGED_KEYS = 250_000  # keys copied by `<<` merges: real specs copy a few dozen; a merge bomb copies millions
MAX_YAML_DEPTH = 200
MAX_KEY_LENGTH = 100
MAX_NUMBER_DIGITS = 100

_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null")}
_MERGE = _TAG + "merge"


class YMap(dict):
    """A YAML mapping that remembers its own position and each key's. (Slots rather than an instance dict:
    a spec of 100,000 layers holds 300,000 mappings and lists at once while it is expanded.)"""

    __slots__ = ("pos", "key_pos")
    pos: SourcePos
    key_pos: dict[str, SourcePos]


class YList(list):
    """A YAML sequence that remembers its own position and each item's."""

    __slots__ = ("pos", "item_pos")
    pos: SourcePos
    item_pos: list[SourcePos]


def _pos(mark: Any) -> SourcePos:
    return SourcePos(mark.line + 1, mark.column + 1)


def load_yaml(text: str) -> Any:
    """Parse one YAML document into YMap/YList/scalars. Raises CnnCalcError for syntax errors and abuse."""
    import yaml

    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = None
    try:
        loader = loader_cls(text)  # the pure-Python reader checks the characters here already
        return _Builder(loader, text).document()
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, text) from None
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every parser error is one of the two above
        raise YamlProblem(f"this is not valid YAML: {exc}", hint="check the file's syntax") from None
    finally:
        if loader is not None:
            loader.dispose()


class _Frame:
    __slots__ = ("value", "key", "key_pos", "merges", "start")

    def __init__(self, value: YMap | YList, start: Any) -> None:
        self.value = value
        self.key: Any = None  # a mapping's key waiting for its value
        self.key_pos: SourcePos | None = None
        self.merges: list[tuple[Any, SourcePos]] = []  # `<<: *anchor` merge keys, applied at the end
        self.start = start


_NO_KEY = object()
_SCALAR_CACHE_SIZE = 10_000  # distinct scalars remembered: names and long texts need not fill memory
_MERGE_KEY = object()


class _Builder:
    def __init__(self, loader: Any, text: str) -> None:
        import yaml

        self.yaml = yaml
        self.loader = loader
        self.text = text
        self.constructor = yaml.constructor.SafeConstructor()
        self.anchors: dict[str, Any] = {}
        self.budget = MAX_YAML_VALUES
        self.merged = MAX_MERGED_KEYS
        # (tag, text, implicit) -> (resolved tag, value): a written-out spec repeats the same few scalars
        # (`16`, `3`, `false`, `relu`) hundreds of thousands of times, and PyYAML's resolver and
        # constructor are pure Python. Every cached value is immutable (a number, text, a bool or null).
        self.scalars: dict[tuple, Any] = {}

    def document(self) -> Any:
        events = self.yaml.events
        get = self.loader.get_event
        get()  # StreamStartEvent
        event = get()
        if isinstance(event, events.StreamEndEvent):
            return None  # an empty file: the spec checks say what is missing
        root = self._root(get)
        get()  # DocumentEndEvent
        event = get()
        if not isinstance(event, events.StreamEndEvent):
            raise YamlProblem(
                "a spec is one YAML document, but a second one starts here (after a `---` line)",
                hint="keep one network per file; remove the `---` line and what follows, or split the file",
                pos=_pos(event.start_mark),
            )
        return root

    def _root(self, get: Any) -> Any:
        events = self.yaml.events
        scalar_event, alias_event = events.ScalarEvent, events.AliasEvent
        map_start, list_start, map_end, list_end = events.MappingStartEvent, events.SequenceStartEvent, events.MappingEndEvent, events.SequenceEndEvent
        stack: list[_Frame] = []
        scalars = self.scalars
        last_line, line = -1, 0  # the last value's line (0-based, as the parser counts) and its 1-based number
        while True:
            event = get()
            cls = type(event)
            if cls is map_end or cls is list_end:
                frame = stack.pop()
                if frame.merges:
                    self._apply_merges(frame)
                if not stack:
                    return frame.value
                continue
            mark = event.start_mark
            if mark.line != last_line:  # values on one line share its number: one int, not one each
                last_line = mark.line
                line = last_line + 1
            pos = SourcePos(line, mark.column + 1)
            self.budget -= 1
            if self.budget < 0:
                raise YamlProblem(
                    f"the YAML holds more than {MAX_YAML_VALUES:,} values; cnncalc reads specs up to that size",
                    hint="a spec of the largest networks has a few thousand values: use blocks and `repeat`",
                    pos=pos,
                )
            container: YMap | YList | None = None
            if cls is scalar_event:
                value = scalars.get((event.tag, event.value, event.implicit), _NO_KEY)  # `_scalar`'s cache, inline
                if value is _NO_KEY:
                    value = self._scalar(event, pos, stack)
            elif cls is alias_event:
                if event.anchor not in self.anchors:
                    raise YamlProblem(
                        f"`*{_clip(event.anchor)}` refers to no anchor: `&{_clip(event.anchor)}` must come before it",
                        hint="define the anchor first (`&name` before a value), or write the value out",
                        pos=pos,
                    )
                value = self.anchors[event.anchor]
            elif cls is map_start or cls is list_start:
                if event.tag is not None and event.tag not in ("!", _TAG + ("map" if cls is map_start else "seq")):
                    raise _tag_error(event.tag, pos)
                if len(stack) >= MAX_YAML_DEPTH:
                    raise _too_deep(pos)
                if cls is map_start:
                    container = YMap()
                    container.key_pos = {}
                else:
                    container = YList()
                    container.item_pos = []
                container.pos = pos
                value = container
            else:  # pragma: no cover - the parser sends no other event inside a document
                raise YamlProblem(f"unexpected YAML ({cls.__name__})", pos=pos)
            if event.anchor is not None and cls is not alias_event:
                self.anchors[event.anchor] = value
            if not stack:
                if container is None:
                    return value
                stack.append(_Frame(container, mark))
                continue
            # the value goes into the innermost list or mapping: the common cases inline, the rest (a key's
            # checks, merge keys) in `_add`
            frame = stack[-1]
            target = frame.value
            if type(target) is YList:
                target.append(value)
                target.item_pos.append(pos)
            elif frame.key is None:
                if value.__class__ is str and len(value) <= MAX_KEY_LENGTH and value not in target and value.isprintable():
                    frame.key, frame.key_pos = value, pos  # a key that passes `_add`'s checks
                else:
                    self._add(frame, value, pos, event)
            elif frame.key is not _MERGE_KEY:  # a mapping's value
                target[frame.key] = value
                target.key_pos[frame.key] = frame.key_pos
                frame.key = frame.key_pos = None
            else:
                self._add(frame, value, pos, event)
            if container is not None:
                stack.append(_Frame(container, mark))

    def _scalar(self, event: Any, pos: SourcePos, stack: list[_Frame]) -> Any:
        key = (event.tag, event.value, event.implicit)
        value = self.scalars.get(key, _NO_KEY)
        if value is not _NO_KEY:
            return value
        tag, value = self._new_scalar(event, pos, stack)
        if tag != _MERGE and len(self.scalars) < _SCALAR_CACHE_SIZE:  # `<<` means a merge as a key only
            self.scalars[key] = value
        return value

    def _new_scalar(self, event: Any, pos: SourcePos, stack: list[_Frame]) -> tuple[str, Any]:
        yaml = self.yaml
        text = event.value
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(yaml.ScalarNode, text, event.implicit)
        if tag == _MERGE and stack and isinstance(stack[-1].value, YMap) and stack[-1].key is None:
            return tag, _MERGE_KEY
        if tag not in _PLAIN_TAGS:
            if event.tag is None:
                return tag, text  # `2024-01-01`, `<<` or `=` as a value: text to cnncalc, no option takes a date
            raise _tag_error(tag, pos)
        if tag in (_TAG + "int", _TAG + "float"):
            digits = sum(c.isalnum() for c in text)  # hexadecimal and octal digits count too (0xfff…)
            if digits > MAX_NUMBER_DIGITS:
                raise YamlProblem(
                    f"this number has {digits:,} digits; cnncalc reads numbers of at most {MAX_NUMBER_DIGITS} digits",
                    hint="sizes fit in 19 digits (torch's int64 limit is 9,223,372,036,854,775,807)",
                    pos=pos,
                )
        node = yaml.ScalarNode(tag, text, event.start_mark, event.end_mark, style=event.style)
        constructor = self.constructor.yaml_constructors[tag]
        try:
            value = constructor(self.constructor, node)
        except (ValueError, yaml.YAMLError):  # pragma: no cover - the resolver only picks tags whose text parses
            raise YamlProblem(f"cannot read the value {_clip(text)!r}", hint="write a plain number or text", pos=pos) from None
        if isinstance(value, float) and math.isinf(value) and "inf" not in text.lower():
            raise YamlProblem(
                f"the number {_clip(text)} is too large: it overflows to infinity",
                hint="sizes are whole numbers up to 9,223,372,036,854,775,807; rates like `p` lie between 0 and 1",
                pos=pos,
            )
        return tag, value

    def _add(self, frame: _Frame, value: Any, pos: SourcePos, event: Any) -> None:
        target = frame.value
        if isinstance(target, YList):
            target.append(value)
            target.item_pos.append(pos)
            return
        if frame.key is None:  # this value is a key
            if value is _MERGE_KEY:
                frame.key, frame.key_pos = _MERGE_KEY, pos
                return
            if not isinstance(value, str):
                raise YamlProblem(
                    f"keys are words like `kernel` or `filters`; got {_describe(value)}",
                    hint="check the indentation and the colons: a value may have ended up as a key",
                    pos=pos,
                )
            if not value.isprintable():
                raise YamlProblem(
                    f"keys are names like `kernel`; this one holds a line break or a control character: {value!r:.60}",
                    hint="check the quotes around this key",
                    pos=pos,
                )
            if len(value) > MAX_KEY_LENGTH:
                raise YamlProblem(
                    f"a key of {len(value):,} characters; keys are names like `kernel`, of at most {MAX_KEY_LENGTH}",
                    hint="check for a missing line break or a missing `: ` after a key",
                    pos=pos,
                )
            if value in target:
                raise YamlProblem(
                    f"`{value}` appears twice in the same mapping (first at line {target.key_pos[value].line})",
                    hint="keep one of them",
                    pos=pos,
                )
            frame.key, frame.key_pos = value, pos
            return
        if frame.key is _MERGE_KEY:
            frame.merges.append((value, pos))
        else:
            target[frame.key] = value
            target.key_pos[frame.key] = frame.key_pos  # type: ignore[assignment]
        frame.key = frame.key_pos = None

    def _apply_merges(self, frame: _Frame) -> None:
        """`<<: *defaults` (YAML's merge key): keys written in the mapping win over merged ones."""
        target = frame.value
        for source, pos in frame.merges:
            sources = source if isinstance(source, YList) else [source]
            for merged in sources:
                if not isinstance(merged, YMap) or merged is target:
                    raise YamlProblem(
                        f"`<<` merges the keys of another mapping, as in `<<: *defaults`; got {_describe(merged)}",
                        hint="put an anchor on a mapping (`&defaults {kernel: 3, padding: 1}`) and merge that",
                        pos=pos,
                    )
                self.budget -= len(merged)
                self.merged -= len(merged)
                if self.budget < 0 or self.merged < 0:
                    raise YamlProblem(
                        f"the YAML's `<<` merges copy more than {MAX_MERGED_KEYS:,} keys"
                        if self.merged < 0
                        else f"the YAML holds more than {MAX_YAML_VALUES:,} values once its `<<` merges are done",
                        hint="use blocks and `repeat` instead of YAML merges",
                        pos=pos,
                    )
                for key, value in merged.items():
                    if key not in target:
                        target[key] = value
                        target.key_pos[key] = merged.key_pos[key]


def _clip(text: str, limit: int = 40) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(value: Any) -> str:
    if isinstance(value, YMap):
        return "a mapping"
    if isinstance(value, YList):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing (null)"
    return _clip(repr(value) if isinstance(value, str) else str(value))


def _too_deep(pos: SourcePos | None) -> CnnCalcError:
    return YamlProblem(
        f"the YAML nests lists and mappings more than {MAX_YAML_DEPTH} levels deep",
        hint="a spec needs a few levels: use blocks and `repeat` instead of deep nesting",
        pos=pos,
    )


def _tag_error(tag: str, pos: SourcePos) -> CnnCalcError:
    shown = tag.replace(_TAG, "!!")
    return YamlProblem(
        f"cnncalc reads plain YAML; the tag `{_clip(shown)}` is not accepted",
        hint="remove the tag: write plain numbers, text, true/false, lists and mappings",
        pos=pos,
    )


# --------------------------------------------------------------------------- syntax errors


def _line_at(text: str, mark: Any) -> str:
    if mark is None:
        return ""
    start = 0
    for _ in range(mark.line):
        start = text.find("\n", start) + 1
        if start == 0:
            return ""
    end = text.find("\n", start)
    return text[start:] if end < 0 else text[start:end]


def _char_at(text: str, mark: Any) -> str:
    """The character a YAML mark points at ('' past the end of a line or of the file)."""
    lines = text.split("\n")
    if mark is None or mark.line >= len(lines):
        return ""
    line = lines[mark.line]
    return line[mark.column] if mark.column < len(line) else ""


def _syntax_error(exc: Any, text: str) -> CnnCalcError:
    problem = exc.problem or ""
    context = exc.context or ""
    mark = exc.problem_mark or exc.context_mark
    opened = exc.context_mark
    char = _char_at(text, exc.problem_mark)
    indent_hint = "indent the items of one list (`- `), and the keys of one mapping, by the same number of spaces"

    def error(message: str, hint: str, at: Any = mark) -> CnnCalcError:
        return YamlProblem(f"invalid YAML: {message}", hint=hint, pos=_pos(at) if at is not None else None)

    # libyaml says "did not find expected X", PyYAML's pure-Python parser "expected X, but found Y".
    if ("did not find expected ','" in problem or problem.startswith("expected ','")) and opened is not None:
        bracket = "{" if "}" in problem else "["
        closing = "}" if bracket == "{" else "]"
        example = "`- conv: {filters: 8, kernel: 3}`" if bracket == "{" else "`layers: [relu, flatten]`"
        if exc.problem_mark is not None and exc.problem_mark.line == opened.line:
            return error(
                f"a `,` or `{closing}` is missing here, inside the `{bracket}` opened at column {opened.column + 1}",
                f"separate the entries with commas and close with `{closing}`, e.g. {example}",
            )
        return error(
            f"this `{bracket}` is never closed: YAML still expected a `,` or `{closing}` at line "
            f"{exc.problem_mark.line + 1}, column {exc.problem_mark.column + 1}",
            f"close it with `{closing}` on the same line, e.g. {example}",
            at=opened,
        )
    if "cannot start any token" in problem or "tab character" in problem:
        if char == "\t" or "tab character" in problem:
            return error("a tab character; YAML indents with spaces only", "replace the tab with spaces (two per level is usual)")
        return error(
            f"{char!r} cannot start a value in YAML" if char else "a character that cannot start a value in YAML",
            "put the value in quotes, e.g. 'text'",
        )
    if "mapping values are not allowed" in problem:
        return error(
            "a `key: value` cannot start here: this line is indented deeper than the one above it, "
            "or a value contains `: `",
            "align the keys of one mapping at the same indent; put a value that contains `: ` in quotes",
        )
    if "sequence entries are not allowed" in problem:
        return error(
            "a list item `- ` cannot start here",
            "start the list on the next line, indented (`layers:` then `  - relu`), or write `layers: [relu]`",
        )
    if any(p in problem for p in ("did not find expected key", "did not find expected '-' indicator", "expected <block end>")):
        if char in ("}", "]"):
            return error(f"this `{char}` closes nothing", "remove it, or check the brackets before it on this line")
        return error("the indentation of this line matches none of the lines above it", indent_hint)
    if "could not find expected ':'" in problem and len(_line_at(text, exc.context_mark)) > 1024:
        return error(
            "a line of more than 1,024 characters where YAML expected a `key: value` (a key may not be that long)",
            "check for a missing line break or a missing `: ` after a key",
            at=exc.context_mark or mark,
        )
    if "could not find expected ':'" in problem:
        return error(
            "a line inside a mapping without `key: value` (YAML found no `:`)",
            "check the indentation of the line above this one, or put a long text in quotes",
            at=exc.context_mark or mark,
        )
    if "unexpected end of stream" in problem and "quoted scalar" in context:
        return error("this quote is never closed", "end the text with the same quote mark", at=opened or mark)
    if "unknown escape character" in problem:
        return error(
            "a backslash escape that YAML does not know, inside double quotes",
            "use single quotes for text with backslashes, or write `\\\\`",
        )
    if "maximum nesting depth" in problem:  # libyaml's own limit (1000), met when its scanner looks ahead
        return _too_deep(_pos(mark) if mark is not None else None)
    if "<document start>" in problem:
        return error("text after the end of the YAML document (a `...` line ends it)", "remove the `...` line, or what follows it")
    if "alphabetic or numeric character" in problem and ("anchor" in context or "alias" in context):
        return error("an anchor `&` or an alias `*` needs a name right after it", "e.g. `&conv3` on a value, `*conv3` to use it again")
    if "directive" in context:
        return error("a line that starts with `%` is a YAML directive", "put text that starts with `%` in quotes")
    if "node content" in problem:
        return error(
            f"a value is missing before `{char}`" if char else "a value is missing here",
            "write the value, or remove the stray bracket or comma",
        )
    where = f" ({context})" if context else ""
    return error(f"{problem or 'cannot be read'}{where}", "check the indentation and the brackets around this line")


def _reader_error(exc: Any, text: str) -> CnnCalcError:
    character = exc.character
    if isinstance(character, bytes):  # pragma: no cover - str input always gives code points
        character = character[0] if character else 0
    index = text.find(chr(character)) if isinstance(character, int) else -1
    pos = None
    if index >= 0:
        line = text.count("\n", 0, index)
        pos = SourcePos(line + 1, index - (text.rfind("\n", 0, index) + 1) + 1)
    code = f"U+{character:04X}" if isinstance(character, int) else "a character"
    return YamlProblem(
        f"the file contains the control character {code}, which YAML does not allow: is this a binary file?",
        hint="a spec is plain UTF-8 text; remove the character, or name the right file",
        pos=pos,
    )
