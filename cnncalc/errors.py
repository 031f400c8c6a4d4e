"""One root exception for every problem a user can cause, and warnings that do not stop a run.

Messages are built as: the rule that was broken, then the culprit with its numbers,
then a hint.  Where the problem is (file, line, layer path) is carried as fields and
printed once, by `CnnCalcError.render`, so that raising code never formats locations.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class SourcePos:
    """A 1-based position in a YAML file (the file itself is attached at the entry point)."""

    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


class CnnCalcError(Exception):
    """A problem with the user's input. The CLI prints it and exits with code 2."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        layer: str | None = None,
        pos: SourcePos | None = None,
        file: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.layer = layer
        self.pos = pos
        self.file = file

    def located(
        self, *, file: str | None = None, layer: str | None = None, pos: SourcePos | None = None
    ) -> CnnCalcError:
        """Fill in context that is still missing; context already set is kept (it is more precise)."""
        if self.file is None and file is not None:
            self.file = file
        if self.layer is None and layer is not None:
            self.layer = layer
        if self.pos is None and pos is not None:
            self.pos = pos
        return self

    @property
    def where(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(self.file if self.pos is None else f"{self.file}:{self.pos}")
        elif self.pos is not None:
            parts.append(f"line {self.pos}")
        if self.layer:
            parts.append(f"layer {self.layer}")
        return ": ".join(parts)

    def render(self) -> str:
        """The text the CLI prints, without colour: `error: WHERE: MESSAGE` and an indented hint."""
        head = f"error: {self.where}: {self.message}" if self.where else f"error: {self.message}"
        return _printable(head if self.hint is None else f"{head}\n  hint: {self.hint}")

    def __str__(self) -> str:
        return self.render()


@dataclass(frozen=True)
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
            where.append(self.file if self.pos is None else f"{self.file}:{self.pos}")
        if self.layer:
            where.append(f"layer {self.layer}")
        prefix = ": ".join(where)
        head = f"warning: {prefix}: {self.message}" if prefix else f"warning: {self.message}"
        return _printable(head if self.hint is None else f"{head}\n  hint: {self.hint}")


def _printable(text: str) -> str:
    """Escape control characters and line separators that came from the user's file (a message is its
    own lines only: a key or value holding U+2028 or a carriage return must not break or rewrite them)."""
    if text.isprintable() or all(c.isprintable() or c == "\n" for c in text):
        return text
    return "".join(c if c.isprintable() or c == "\n" else c.encode("unicode_escape").decode("ascii") for c in text)
