"""One layout for every table cnncalc draws for people: column widths, which columns give way on a
narrow screen, where a name is cut, where a description wraps. Pure text in, lines out.

The same lines are written as they are when piped or under NO_COLOR, and handed to rich on a
terminal only to be styled (bold blocks); rich never measures a cell. Measuring every cell was most
of the time of the default table (issue 14), and rich's own fitting cut numbers (`62,378…`) and
wrapped long paths onto a second line (issue 13). Here a number is never cut and a row is never
wrapped: a name is shortened with `…` (the machine formats keep it whole), a description wraps
inside its own column. No line ends in a space.
"""

from __future__ import annotations

from dataclasses import field
from typing import NamedTuple, Sequence

from cnncalc.values import value

from cnncalc.words import cell_width, cut, wrap

RULE = "─"


def pad(text: str, width: int, right: bool) -> str:
    room = width - cell_width(text)
    return " " * room + text if right else text + " " * room


@value
class Column:
    header: str
    cells: Sequence[str]
    right: bool = False  # numbers: right-aligned
    cut: bool = False  # a name that may be shortened with … to fit (never a number)
    wrap: bool = False  # free text that takes the rest of the line and wraps inside its column
    min_width: int = 0  # never narrower than this
    floor: int = 8  # a cut name or a wrapped text gives way down to this many columns, no further

    def natural(self) -> int:
        return max(self.min_width, cell_width(self.header), *(cell_width(c) for c in self.cells))


@value
class Frame:
    """What surrounds the cells. `gap` spaces between columns; `edge` spaces before the first column;
    `open` a blank line between the title and the header and after the last row (rich's SIMPLE_HEAD
    box with its edge shown, which the receptive-field and models tables have always used)."""

    gap: int = 2
    edge: int = 0
    open: bool = False


class Line(NamedTuple):  # one per row of a table
    text: str
    bold: bool = False


@value
class Grid:
    columns: tuple[Column, ...]
    widths: tuple[int, ...]
    frame: Frame
    bold_rows: frozenset[int] = field(default_factory=frozenset)
    section_ends: frozenset[int] = field(default_factory=frozenset)  # a blank line after these rows

    @property
    def width(self) -> int:
        return self.frame.edge + sum(self.widths) + self.frame.gap * (len(self.widths) - 1)

    def lines(self, title: str | None = None) -> list[Line]:
        edge = " " * self.frame.edge
        sep = " " * self.frame.gap
        out: list[Line] = []
        if title is not None:
            out.append(Line(title, bold=True))
        if self.frame.open:
            out.append(Line(""))
        out.append(Line((edge + sep.join(pad(c.header, w, c.right) for c, w in zip(self.columns, self.widths))).rstrip(), bold=True))
        out.append(Line(edge + RULE * (self.width - self.frame.edge)))
        rows = len(self.columns[0].cells) if self.columns else 0
        columns = tuple(zip(self.columns, self.widths))
        wraps = any(c.wrap for c in self.columns)
        for i in range(rows):
            bold = i in self.bold_rows
            if not wraps:  # one line per row, the common case: no lists of wrapped parts
                cells = (pad(cut(c.cells[i], w) if c.cut else c.cells[i], w, c.right) for c, w in columns)
                out.append(Line((edge + sep.join(cells)).rstrip(), bold=bold))
            else:
                parts = [wrap(c.cells[i], w) if c.wrap else [cut(c.cells[i], w) if c.cut else c.cells[i]] for c, w in columns]
                for k in range(max(len(p) for p in parts)):
                    cells = (pad(p[k] if k < len(p) else "", w, c.right) for p, (c, w) in zip(parts, columns))
                    out.append(Line((edge + sep.join(cells)).rstrip(), bold=bold))
            if i in self.section_ends and i + 1 < rows:
                out.append(Line(""))
        if self.frame.open:
            out.append(Line(""))
        return out


def fit(columns: Sequence[Column], width: int, frame: Frame = Frame(), force: bool = False) -> Grid | None:
    """Widths for these columns within `width`, or None when even the names cut to their floor and
    the free text at its floor would not fit (the caller then tries fewer or shorter columns); with
    `force`, the narrowest such grid anyway."""
    natural = [c.natural() for c in columns]
    fixed = 2 * frame.edge + frame.gap * (len(columns) - 1)  # an edge on both sides, as rich's box has
    total = fixed + sum(natural)
    widths = list(natural)
    wrapping = [i for i, c in enumerate(columns) if c.wrap]
    if wrapping:
        # the free text gets what the other columns leave, down to its minimum
        i = wrapping[0]
        rest = width - (total - natural[i])
        if rest < columns[i].floor and not force:
            return None
        widths[i] = min(natural[i], max(rest, columns[i].floor))
        total = total - natural[i] + widths[i]
    if total > width:
        for i, c in enumerate(columns):
            if c.cut and total > width:
                shrink = min(widths[i] - c.floor, total - width)
                if shrink > 0:
                    widths[i] -= shrink
                    total -= shrink
        if total > width and not force:
            return None
    return Grid(tuple(columns), tuple(widths), frame)


def first_fit(choices: Sequence[Sequence[Column]], width: int, frame: Frame = Frame()) -> Grid:
    """The first column set, in order of preference, that fits: the last one is used anyway (a row
    longer than the screen rather than a cut number)."""
    for columns in choices:
        grid = fit(columns, width, frame)
        if grid is not None:
            return grid
    return fit(choices[-1], width, frame, force=True)


def wrap_lines(text: str, width: int) -> list[str]:
    """Paragraph text (a footer, a note) wrapped at `width`, each line of `text` a paragraph."""
    return [line for paragraph in text.split("\n") for line in wrap(paragraph, width)]


def fold(text: str, width: int) -> str:
    """Text for people with every line longer than `width` continued under a hanging indent (its own
    indent and three more: under a question's text after `12. `); lines that fit stay as they are."""
    out = []
    for line in text.split("\n"):
        lead = line[: len(line) - len(line.lstrip(" "))]
        out.extend(wrap(line, width, lead + "   "))
    return "\n".join(out)


def write(lines: Sequence[Line], stream, styled: bool) -> None:
    """Plain lines as they are; on a terminal through rich, only to make blocks and headers bold."""
    if not styled:
        stream.write("".join(line.text + "\n" for line in lines))
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(file=stream, highlight=False, soft_wrap=True)
    for line in lines:
        console.print(Text(line.text, style="bold" if line.bold else ""), soft_wrap=True)
