"""One root exception for every problem a user can cause, and warnings that do not stop a run.

Messages are built as: the rule that was broken, then the culprit with its numbers,
then a hint.  Where the problem is (file, line, layer path) is carried as fields and
printed once, by `CnnCalcError.render`, so that raising code never formats locations.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

from cnncalc.values import value


class SourcePos(NamedTuple):
    """A 1-based position in a YAML file (the file itself is attached at the entry point). A tuple: one is
    made for every value a spec holds, and a tuple is made several times faster than a frozen dataclass."""

    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


class CnnCalcError(Exception):
    """A problem with the user's input. The CLI prints it and exits with code 2.

    `code` names the family of the problem and never changes (scripts and tests may rely on it):
    each subclass below sets its own. An error is never changed once raised: `located`, `in_use` and
    `replaced` return a new error with more context, which the caller raises in its place.
    """

    code = "invalid-input"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        layer: str | None = None,
        pos: SourcePos | None = None,
        file: str | None = None,
        uses: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.layer = layer
        self.pos = pos
        self.file = file
        self.uses = uses  # `in `layer1.0`, the `basic` block used at line 12`: where a block's error came from

    def replaced(self, **changes: object) -> CnnCalcError:
        """A copy of this error with some fields changed (message, hint, layer, pos, file, uses)."""
        fields = {"hint": self.hint, "layer": self.layer, "pos": self.pos, "file": self.file, "uses": self.uses}
        message = changes.pop("message", self.message)
        fields.update(changes)
        return type(self)(message, **fields)  # type: ignore[arg-type]

    def located(
        self, *, file: str | None = None, layer: str | None = None, pos: SourcePos | None = None
    ) -> CnnCalcError:
        """This error with the context that is still missing filled in; context already set is kept (it is more precise)."""
        changes = {}
        if self.file is None and file is not None:
            changes["file"] = file
        if self.layer is None and layer is not None:
            changes["layer"] = layer
        if self.pos is None and pos is not None:
            changes["pos"] = pos
        return self.replaced(**changes) if changes else self

    def in_use(self, path: str, block: str, line: int) -> CnnCalcError:
        """An error inside a block's definition, with the use of the block it came from (the innermost, once)."""
        if self.uses or (self.pos is not None and self.pos.line == line):
            return self  # already placed in a use, or the error is on the use's own line
        return self.replaced(uses=(f"in `{path}`, the `{block}` block used at line {line}",))

    @property
    def where(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(_where_file(self.file, self.pos))
        elif self.pos is not None:
            parts.append(f"line {self.pos}")
        if self.layer:
            parts.append(f"layer {self.layer}")
        return ": ".join(parts)

    @property
    def full_message(self) -> str:
        return "; ".join((self.message, *self.uses))

    def render(self) -> str:
        """The text the CLI prints, without colour: `error: WHERE: MESSAGE` and an indented hint."""
        head = f"error: {self.where}: {self.full_message}" if self.where else f"error: {self.full_message}"
        return _printable(head if self.hint is None else f"{head}\n  hint: {self.hint}")

    def __str__(self) -> str:
        return self.render()


class FileProblem(CnnCalcError):
    """The spec file cannot be read: missing, a folder, too large, binary, not UTF-8."""

    code = "file"


class YamlProblem(CnnCalcError):
    """The text is not YAML cnncalc reads (syntax, anchors, nesting and size limits)."""

    code = "yaml"


class SpecProblem(CnnCalcError):
    """The YAML is read, but is not a spec: unknown keys and kinds, bad option values, blocks, names."""

    code = "spec"


class ExpressionProblem(CnnCalcError):
    """A `$expression` in a block cannot be evaluated."""

    code = "expression"


class InputShapeProblem(CnnCalcError):
    """An input size (the spec's `input`, or --input) is not a shape."""

    code = "input-shape"


class LayerProblem(CnnCalcError):
    """A layer cannot run on its input where torch would refuse too: kernel too large, groups, ranks."""

    code = "layer"


class MergeProblem(CnnCalcError):
    """The branches of a merge do not fit together, or a `from:` reads nothing."""

    code = "merge"


class LimitProblem(CnnCalcError):
    """The spec asks for more than cnncalc computes (layers, expansion steps, int64 sizes)."""

    code = "limit"


class OptionProblem(CnnCalcError):
    """A command-line option's value does not fit (solve, compare, quiz, --input)."""

    code = "option"


@value
class SpecWarning:
    """Something legal but probably unintended; printed to stderr, the run goes on."""

    message: str
    layer: str | None = None
    pos: SourcePos | None = None
    file: str | None = None
    hint: str | None = None

    def with_file(self, file: str | None) -> SpecWarning:
        return self if self.file is not None or file is None else replace(self, file=file)

    def render(self) -> str:
        where = []
        if self.file is not None:
            where.append(_where_file(self.file, self.pos))
        if self.layer:
            where.append(f"layer {self.layer}")
        prefix = ": ".join(where)
        head = f"warning: {prefix}: {self.message}" if prefix else f"warning: {self.message}"
        return _printable(head if self.hint is None else f"{head}\n  hint: {self.hint}")


def _where_file(file: str, pos: SourcePos | None) -> str:
    """A file name as a message shows it: a newline or escape sequence in the name is shown escaped, so it
    can neither forge a line of output nor reach the terminal."""
    from cnncalc.words import printable

    name = printable(file)
    return name if pos is None else f"{name}:{pos}"


def _printable(text: str) -> str:
    """Escape control characters and line separators that came from the user's file (a message is its
    own lines only: a key or value holding U+2028 or a carriage return must not break or rewrite them)."""
    if text.isprintable() or all(c.isprintable() or c == "\n" for c in text):
        return text
    return "".join(c if c.isprintable() or c == "\n" else c.encode("unicode_escape").decode("ascii") for c in text)
