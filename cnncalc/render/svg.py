"""A minimal SVG writer: elements as text, numbers rounded, everything escaped (no library, no I/O).

Every picture cnncalc draws goes through `Canvas`, which also remembers the rectangles of what it placed
(`boxes`, `texts`), so the tests can check the geometry a person would see: labels inside the canvas, boxes
that do not overlap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from cnncalc.values import value

FONT = "DejaVu Sans, Verdana, Arial, sans-serif"
CHAR_WIDTH = 0.6  # of the font size: a generous average advance for the digits and letters used here


def text_width(text: str, size: float) -> float:
    """About how wide `text` is drawn at `size` px (wide characters — Korean, CJK — count double)."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text) * size * CHAR_WIDTH


def _n(value: float) -> str:
    """Coordinates to 0.1 px, without trailing zeros: the same picture gives the same bytes."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


@value
class Rect:
    x: float
    y: float
    width: float
    height: float

    def overlaps(self, other: Rect, margin: float = 0.0) -> bool:
        return not (
            self.x + self.width <= other.x + margin
            or other.x + other.width <= self.x + margin
            or self.y + self.height <= other.y + margin
            or other.y + other.height <= self.y + margin
        )

    def inside(self, other: Rect) -> bool:
        return (
            self.x >= other.x - 0.05 and self.y >= other.y - 0.05
            and self.x + self.width <= other.x + other.width + 0.05 and self.y + self.height <= other.y + other.height + 0.05
        )


@dataclass
class Canvas:
    title: str
    description: str
    parts: list[str] = field(default_factory=list)
    boxes: list[tuple[str, Rect]] = field(default_factory=list)  # (what, where): the drawn shapes that must not overlap
    texts: list[tuple[str, Rect]] = field(default_factory=list)  # every label and where it is drawn

    def rect(self, x: float, y: float, width: float, height: float, *, fill: str, stroke: str = "#333", rx: float = 0,
             what: str | None = None, extra: str = "") -> None:
        radius = f' rx="{_n(rx)}"' if rx else ""
        self.parts.append(
            f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(width)}" height="{_n(height)}"{radius} fill="{fill}" stroke="{stroke}"{extra}/>'
        )
        if what is not None:
            self.boxes.append((what, Rect(x, y, width, height)))

    def polygon(self, points: list[tuple[float, float]], *, fill: str, stroke: str = "#333") -> None:
        coords = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
        self.parts.append(f'<polygon points="{coords}" fill="{fill}" stroke="{stroke}"/>')

    def line(self, x1: float, y1: float, x2: float, y2: float, *, stroke: str = "#555", width: float = 1.2, arrow: bool = False, dashed: bool = False) -> None:
        marker = ' marker-end="url(#arrow)"' if arrow else ""
        dash = ' stroke-dasharray="5 4"' if dashed else ""
        self.parts.append(f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" stroke="{stroke}" stroke-width="{_n(width)}"{dash}{marker}/>')

    def path(self, d: str, *, stroke: str = "#555", width: float = 1.2, arrow: bool = False, dashed: bool = False) -> None:
        marker = ' marker-end="url(#arrow)"' if arrow else ""
        dash = ' stroke-dasharray="5 4"' if dashed else ""
        self.parts.append(f'<path d="{d}" fill="none" stroke="{stroke}" stroke-width="{_n(width)}"{dash}{marker}/>')

    def text(self, x: float, y: float, text: str, *, size: float = 12, anchor: str = "middle", weight: str = "normal",
             fill: str = "#111", what: str = "label") -> None:
        """`y` is the baseline; the recorded rectangle spans the text's ascent and descent."""
        width = text_width(text, size)
        left = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
        bold = ' font-weight="bold"' if weight != "normal" else ""
        self.parts.append(
            f'<text x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}" text-anchor="{anchor}"{bold} fill="{fill}">{escape(text)}</text>'
        )
        self.texts.append((text, Rect(left, y - size * 0.8, width, size)))

    def render(self, width: float, height: float) -> str:
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
            f'viewBox="0 0 {_n(width)} {_n(height)}" role="img" aria-labelledby="title desc" font-family={quoteattr(FONT)}>\n'
            f'<title id="title">{escape(self.title)}</title>\n<desc id="desc">{escape(self.description)}</desc>\n'
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
            '<path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>\n'
            f'<rect x="0" y="0" width="{_n(width)}" height="{_n(height)}" fill="#ffffff"/>\n'
        )
        return head + "\n".join(self.parts) + "\n</svg>\n"
