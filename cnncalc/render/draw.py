"""Architecture pictures from an analysis (issue 16): the textbook drawing of feature maps as 3-D boxes, and a
graph of blocks, branches, merges and skips. Pure: an Analysis in, SVG text out; every size is the engine's.

**Boxes** (`--style boxes`, the default for chains). Each feature map the network computes is a box: its
front face is `√H` high and `log₂C` thick, and it recedes `√W` deep at 45° (square roots keep a 224-pixel
input and a 7-pixel map both visible; a logarithm keeps 3 and 2,048 channels both readable — the legend
says so). Under each box is its shape as the table prints it, between boxes the layer that made it
(`conv 5×5 s1`, `max 3×3 s2`). Flat vectors (after flatten, fully connected layers) are thin bars with their
size. Layers that keep the shape (activations, batch norm, dropout) are named on the arrow after the layer
before them. `highlight` marks one layer, and on the input box the receptive field of one of its units.

**Graph** (`--style graph`, the default when a spec has merges, `from:` edges or side outputs). Each row of
the table at `depth` is a rounded box with its name, kind, output shape, parameters and MACs, top to
bottom; a merge's branches stand side by side above a merge node (`+`, `concat`, `×`), an identity branch
is a curved skip, a `from:` branch starts from the box it reads, and side outputs hang to the right on a
dashed edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from cnncalc.core.engine import Analysis, Row
from cnncalc.enums import MergeKind
from cnncalc.model.layers import Merge, Node, Sequential, Side
from cnncalc.model.shapes import Shape, Spatial, Vector
from cnncalc.render.svg import Canvas, Rect, text_width
from cnncalc.render.table import compact

MARGIN = 24
FACE = "#c9dcf2"  # front faces
TOP = "#e3edf9"
SIDE = "#a9c3e3"
MARK = "#d9480f"  # highlight


def shape_label(shape: Shape) -> str:
    """A shape as the table writes it, with the multiplication sign: `55×55×96`, `400`."""
    if isinstance(shape, Vector):
        return f"{shape.features:,}"
    return "×".join(map(str, (*shape.sizes, shape.channels)))


def layer_label(row: Row) -> str:
    """`conv 5×5 s1`, `max 3×3 s2`, `fc 120`: the layer between two boxes, as a course writes it."""
    node = row.node
    kind = row.kind
    kernel = getattr(node, "kernel", None)
    stride = getattr(node, "stride", None)
    if kind in ("maxpool", "avgpool"):
        kind = kind[:3]
    if isinstance(kernel, tuple) and isinstance(stride, tuple):
        size = "×".join(map(str, kernel))  # 5×5, 3×3×3, 80 for a signal's window
        step = str(stride[0]) if len(set(stride)) == 1 else "×".join(map(str, stride))
        return f"{kind} {size} s{step}"
    if kind == "fc":
        return f"fc {getattr(node, 'units', '')}"
    return kind


def is_chain(analysis: Analysis) -> bool:
    """No merges, `from:` edges or side outputs: the boxes style tells the whole story."""
    return not analysis.outputs and all(not isinstance(r.node, (Merge, Side)) for r in analysis.rows)


# ----------------------------------------------------------------------------- boxes


def _height(n: int) -> float:
    return min(240.0, max(12.0, 13.0 * math.sqrt(n)))


def _thickness(c: int) -> float:
    return min(70.0, max(4.0, 5.0 * math.log2(c + 1)))


def _depth(n: int) -> float:
    return min(110.0, max(4.0, 6.0 * math.sqrt(n)))


@dataclass
class _Map:
    row: Row | None  # None: the network input
    shape: Shape
    label: str  # the layer that made it, with the shape-keeping layers after it
    x: float = 0.0
    width: float = 0.0
    rect: Rect | None = None


def _maps(analysis: Analysis) -> list[_Map]:
    maps = [_Map(None, analysis.input, "")]
    for row in analysis.leaves():
        if row.side:
            continue
        if row.output == row.input and maps[-1].row is not None and not _computes(row):
            maps[-1].label += f" · {row.kind}"  # ReLU, batch norm, dropout: named on the arrow of the layer before
            continue
        maps.append(_Map(row, row.output, layer_label(row)))
    return maps


def _computes(row: Row) -> bool:
    """A conv, fc or pooling layer gets a box of its own even when it keeps the shape (AlexNet's conv4)."""
    from cnncalc.kinds.registry import kind_of

    if isinstance(row.node, Merge):
        return True  # a merge's output is a map of its own
    return row.node is not None and (kind_of(row.node).weight_layer or "pool" in row.kind)


def draw_boxes(analysis: Analysis, highlight: str | None = None, receptive: Any = None) -> str:
    """The textbook drawing of a chain; `receptive` is the receptive-field analysis (for `highlight`)."""
    maps = _maps(analysis)
    gap = 18.0
    label_size, shape_size = 11.0, 12.0
    x = float(MARGIN)
    tallest = 0.0
    for i, m in enumerate(maps):
        if isinstance(m.shape, Spatial):
            h = _height(m.shape.sizes[-2] if m.shape.rank >= 2 else m.shape.sizes[0])
            d = _depth(m.shape.sizes[-1]) if m.shape.rank >= 2 else 0.0
            t = _thickness(m.shape.channels)
            body = t + d * 0.7
            tallest = max(tallest, h + d * 0.7)
        else:
            body = 8.0
            tallest = max(tallest, _height(max(1, m.shape.features // 16)))
        label_w = max(text_width(shape_label(m.shape), shape_size), text_width(_depth_note(m.shape), 10.0))
        m.width = max(body, label_w)
        if i:
            arrow_w = text_width(m.label, label_size) + 2 * gap
            x += arrow_w
        m.x = x
        x += m.width
    heading = f"{analysis.network.name} · input {shape_label(analysis.input)}"
    legend = "box height ∝ √H, depth ∝ √W, thickness ∝ log₂ C; bars: vectors (their length in the label)"
    width = max(x + MARGIN, text_width(heading, 14) + 2 * MARGIN, text_width(legend, 10) + 2 * MARGIN)
    top = MARGIN + 36.0  # the title line and room for labels above arrows
    base = top + tallest  # bottom line of every box
    height = base + 58.0
    canvas = Canvas(
        title=f"{analysis.network.name}: input {shape_label(analysis.input)}",
        description=_description(analysis, maps),
    )
    canvas.text(MARGIN, MARGIN + 12, heading, size=14, anchor="start", weight="bold")
    for i, m in enumerate(maps):
        marked = highlight is not None and m.row is not None and m.row.path == highlight
        centre = m.x + m.width / 2
        if isinstance(m.shape, Spatial):
            m.rect = _box(canvas, m.shape, centre, base, marked, f"map {i}")
        else:
            h = _height(max(1, m.shape.features // 16))
            m.rect = Rect(centre - 4, base - h, 8, h)
            canvas.rect(centre - 4, base - h, 8, h, fill=MARK if marked else SIDE, what=f"bar {i}")
        canvas.text(centre, base + 18, shape_label(m.shape), size=shape_size)
        note = _depth_note(m.shape)
        if note:
            canvas.text(centre, base + 32, note, size=10.0, fill="#555")
        if i:
            previous = maps[i - 1]
            start, end = previous.x + previous.width + 4, m.x - 4
            middle = base - 14
            canvas.line(start, middle, end, middle, arrow=True)
            canvas.text((start + end) / 2, middle - 6, m.label, size=label_size, fill=MARK if marked else "#222")
    if highlight is not None and receptive is not None:
        _mark_field(canvas, analysis, maps[0], highlight, receptive, base)
    canvas.text(MARGIN, height - 12, legend, size=10, anchor="start", fill="#555")
    return canvas.render(width, height)


def _depth_note(shape: Shape) -> str:
    if isinstance(shape, Spatial) and shape.rank == 3:
        return f"depth {shape.sizes[0]}"
    if isinstance(shape, Spatial) and shape.rank == 1:
        return "1-D signal"
    return ""


def _box(canvas: Canvas, shape: Spatial, centre: float, base: float, marked: bool, what: str) -> Rect:
    """A 3-D box standing on `base`, centred on `centre`: front face √H × log₂C, receding √W."""
    h = _height(shape.sizes[-2] if shape.rank >= 2 else shape.sizes[0])
    t = _thickness(shape.channels)
    d = (_depth(shape.sizes[-1]) if shape.rank >= 2 else 0.0) * 0.7
    left = centre - (t + d) / 2
    face_top = base - h
    fill = "#f4b183" if marked else FACE
    canvas.polygon([(left, face_top), (left + d, face_top - d), (left + d + t, face_top - d), (left + t, face_top)], fill=TOP)
    canvas.polygon([(left + t, face_top), (left + t + d, face_top - d), (left + t + d, base - d), (left + t, base)], fill=SIDE)
    canvas.rect(left, face_top, t, h, fill=fill, stroke=MARK if marked else "#333", what=what)
    return Rect(left, face_top - d, t + d, h + d)


def _mark_field(canvas: Canvas, analysis: Analysis, first: _Map, path: str, receptive: Any, base: float) -> None:
    """The receptive field of one unit of `path`, as a square on the input's front face (clipped to it)."""
    field_ = receptive.find(path)
    if field_ is None or not isinstance(analysis.input, Spatial) or first.rect is None:
        return
    sizes = [axis.size for axis in field_.fields]
    if any(size is None for size in sizes):
        return
    n = analysis.input.sizes[-2] if analysis.input.rank >= 2 else analysis.input.sizes[0]
    face_h = _height(n)
    r = sizes[-2] if len(sizes) >= 2 else sizes[0]
    side = max(3.0, min(face_h, face_h * r / n))
    t = _thickness(analysis.input.channels)
    left = first.rect.x
    canvas.rect(left, base - face_h / 2 - side / 2, min(t, side), side, fill="none", stroke=MARK, extra=' stroke-width="2"')
    canvas.text(left, first.rect.y - 6, f"receptive field of one unit of {path}: {r}×{r}", size=10, anchor="start", fill=MARK)


def _description(analysis: Analysis, maps: list[_Map]) -> str:
    steps = " → ".join(shape_label(m.shape) for m in maps)
    return f"Feature maps of {analysis.network.name}, from the input to the output: {steps}."


# ----------------------------------------------------------------------------- graph

NODE_W, NODE_H, V_GAP, H_GAP = 210.0, 56.0, 30.0, 26.0


@dataclass
class _Box:
    path: str
    lines: tuple[str, ...]
    x: float = 0.0
    y: float = 0.0
    kind: str = "layer"  # layer | merge | block

    @property
    def rect(self) -> Rect:
        h = 30.0 if self.kind == "merge" else NODE_H
        w = 70.0 if self.kind == "merge" else NODE_W
        return Rect(self.x, self.y, w, h)


@dataclass
class _Layout:
    """A laid-out piece: its size, its boxes (placed relative to it), the edges inside it, the boxes that receive
    the piece's input (`entries`), the merges an identity skip reaches from that input (`skips`), and the box
    its output leaves from (`bottom`)."""

    width: float
    height: float
    boxes: list[_Box] = field(default_factory=list)
    entries: list[_Box] = field(default_factory=list)
    skips: list[_Box] = field(default_factory=list)
    bottom: _Box | None = None
    edges: list[tuple[_Box, _Box, str]] = field(default_factory=list)  # (from, to, style: plain | skip | dashed)
    side: bool = False  # a side output: drawn to the right of the main path
    reads_earlier: bool = False  # a side output `from:` an earlier layer, not from where it stands

    def shift(self, dx: float, dy: float) -> None:
        for b in self.boxes:
            b.x += dx
            b.y += dy

    def feed(self, source: _Box, style: str = "plain") -> list[tuple[_Box, _Box, str]]:
        """The edges that bring `source`'s output into this piece."""
        return [(source, e, style) for e in self.entries] + [(source, j, "skip") for j in self.skips]


def _single(box: _Box) -> _Layout:
    return _Layout(box.rect.width, box.rect.height, [box], [box], [], box)


class _GraphBuilder:
    def __init__(self, analysis: Analysis, depth: int | None) -> None:
        self.rows = {id(r.node): r for r in analysis.rows}
        self.depth = depth
        self.by_path: dict[str, _Box] = {}
        self.reads: list[tuple[str, _Layout]] = []  # (`from:` path, the piece that reads it)

    def node_box(self, row: Row, kind: str = "layer") -> _Box:
        if kind == "merge":
            word = {MergeKind.ADD: "+", MergeKind.CONCAT: "concat", MergeKind.MULTIPLY: "×"}.get(getattr(row.node, "merge", None), row.kind)
            box = _Box(row.path, (str(word),), kind="merge")
        else:
            numbers = f"{compact(row.params)} params · {compact(row.macs)} MACs"
            box = _Box(row.path, (row.path or row.kind, f"{row.kind} · {shape_label(row.output)}", numbers), kind=kind)
        self.by_path[row.path] = box
        return box

    def sequence(self, nodes: tuple[Node, ...], level: int) -> _Layout:
        pieces = [p for p in (self.piece(n, level) for n in nodes) if p is not None]
        main = [p for p in pieces if not p.side]
        width = max((p.width for p in main), default=0.0)
        out = _Layout(width, 0.0)
        y = 0.0
        previous: _Layout | None = None
        sides: list[tuple[_Layout, _Layout | None]] = []
        for p in pieces:
            if p.side:
                sides.append((p, previous))
                continue
            p.shift((width - p.width) / 2, y)
            out.boxes.extend(p.boxes)
            out.edges.extend(p.edges)
            if previous is None:
                out.entries.extend(p.entries)
                out.skips.extend(p.skips)
            elif previous.bottom is not None:
                out.edges.extend(p.feed(previous.bottom))
            out.bottom = p.bottom or out.bottom
            y += p.height + V_GAP
            previous = p
        out.height = max(0.0, y - V_GAP)
        for side, before in sides:  # to the right of the main path, level with the box it leaves from
            top = before.bottom.y if before is not None and before.bottom is not None else 0.0
            side.shift(out.width + 2 * H_GAP, top)
            out.boxes.extend(side.boxes)
            out.edges.extend(side.edges)
            if before is not None and before.bottom is not None and not side.reads_earlier:
                out.edges.extend(side.feed(before.bottom, "dashed"))
            elif before is None and not side.reads_earlier:
                out.entries.extend(side.entries)
            out.width += 2 * H_GAP + side.width
            out.height = max(out.height, top + side.height)
        return out

    def piece(self, node: Node, level: int) -> _Layout | None:
        row = self.rows.get(id(node))
        if row is None:
            return None
        collapsed = self.depth is not None and level >= self.depth
        if isinstance(node, Side):
            lay = _single(self.node_box(row, "block")) if collapsed else self.sequence(node.children, level + 1)
            lay.side = True
            lay.reads_earlier = bool(node.source)
            if node.source:
                self.reads.append((node.source, lay))
            return lay
        if collapsed and isinstance(node, (Sequential, Merge)):
            return _single(self.node_box(row, "block"))
        if isinstance(node, Sequential):
            return self.sequence(node.children, level + 1)
        if isinstance(node, Merge):
            return self.merge(node, row, level)
        return _single(self.node_box(row))

    def merge(self, node: Merge, row: Row, level: int) -> _Layout:
        joint = self.node_box(row, "merge")
        out = _Layout(0.0, 0.0)
        branches = [(self.sequence(tuple(b), level + 1), source) for b, source in zip(node.branches, node.sources)]
        drawn = [(b, source) for b, source in branches if b.boxes]
        # an identity branch is a skip when another branch computes on the same input (ResNet); when every other
        # branch reads an earlier output (`from:`, the U-Net's concat), it is the main path going straight on
        others_read_input = any(b.boxes and source is None for b, source in branches)
        identity = any(not b.boxes and source is None for b, source in branches) and others_read_input
        x = 44.0 if identity else 0.0  # room on the left for the skip's curve
        height = max((b.height for b, _ in drawn), default=0.0)
        for b, source in branches:
            if not b.boxes:
                if source is None and others_read_input:
                    out.skips.append(joint)  # an identity branch: the merge's input, as it is
                elif source is None:
                    out.entries.append(joint)
                else:
                    self.reads.append((source, _single(joint)))  # `{from: enc4}`: that output, as it is
                continue
            b.shift(x, 0.0)
            out.boxes.extend(b.boxes)
            out.edges.extend(b.edges)
            if source is not None:
                self.reads.append((source, b))
            else:
                out.entries.extend(b.entries)
                out.skips.extend(b.skips)
            if b.bottom is not None:
                out.edges.append((b.bottom, joint, "plain"))
            x += b.width + H_GAP
        width = max(x - H_GAP if drawn else x, 70.0)
        if drawn and joint in out.entries:
            # the main path goes straight down into the merge (the U-Net's concat): its branches that read
            # earlier outputs stand to the right of that line, and the empty left half keeps the piece centred
            for box in out.boxes:
                box.x += width + H_GAP
            width = 2 * width + 2 * H_GAP
        joint.x = (width + (44.0 if identity else 0.0)) / 2 - 35.0 if drawn else width / 2 - 35.0
        joint.y = height + V_GAP if drawn else 0.0
        if not drawn and joint not in out.entries:
            out.entries.append(joint)
        out.boxes.append(joint)
        out.width, out.height, out.bottom = width, joint.y + joint.rect.height, joint
        return out


def _fit(text: str, size: float, width: float) -> str:
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


def _fit_path(path: str, size: float, width: float) -> str:
    """A long dotted path keeps its end, which tells the boxes apart: `…denseblock1.denselayer3`."""
    if text_width(path, size) <= width:
        return path
    while path and text_width("…" + path, size) > width:
        path = path[1:]
    return "…" + path


def draw_graph(analysis: Analysis, depth: int | None = None, highlight: str | None = None) -> str:
    builder = _GraphBuilder(analysis, depth)
    inp = _Box("(input)", ("input", shape_label(analysis.input), analysis.network.name), kind="layer")
    body = builder.sequence(analysis.network.layers, 1)
    top = MARGIN + 30.0
    left_room = 50.0  # skips curve out to the left
    heading = f"{analysis.network.name} · input {shape_label(analysis.input)}"
    width = max(max(body.width, NODE_W) + 2 * MARGIN + left_room, text_width(heading, 14) + 2 * MARGIN)
    body.shift(MARGIN + left_room + (width - 2 * MARGIN - left_room - body.width) / 2, top + NODE_H + V_GAP)
    inp.x, inp.y = MARGIN + left_room + (width - 2 * MARGIN - left_room - NODE_W) / 2, top
    if len(body.entries) == 1:  # above the first box of the main path (side heads widen the body to the right)
        first = body.entries[0]
        inp.x = first.x + (first.rect.width - NODE_W) / 2
    canvas = Canvas(title=f"{analysis.network.name}: input {shape_label(analysis.input)}", description=_graph_description(analysis))
    canvas.text(MARGIN, MARGIN + 12, heading, size=14, anchor="start", weight="bold")
    edges = list(body.edges) + body.feed(inp)
    for source, piece in builder.reads:
        origin = builder.by_path.get(source) or _last_box_under(builder, source)
        if origin is not None:
            edges.extend(piece.feed(origin, "skip"))
    boxes = [inp, *body.boxes]
    lane = 0
    for a, b, style in edges:
        _edge(canvas, a, b, style, lane)
        lane += style != "plain"
    for box in boxes:
        _draw_node(canvas, box, box.path == highlight)
    height = max(b.rect.y + b.rect.height for b in boxes) + MARGIN
    return canvas.render(width, height)


def _last_box_under(builder: _GraphBuilder, path: str) -> _Box | None:
    """A `from:` to a group reads the group's output: its last box drawn."""
    inside = [b for p, b in builder.by_path.items() if p.startswith(path + ".")]
    return inside[-1] if inside else None


def _edge(canvas: Canvas, a: _Box, b: _Box, style: str, lane: int = 0) -> None:
    ra, rb = a.rect, b.rect
    x1, y1 = ra.x + ra.width / 2, ra.y + ra.height
    x2, y2 = rb.x + rb.width / 2, rb.y
    if style == "plain":
        if abs(x1 - x2) < 0.5:
            canvas.line(x1, y1, x2, y2, arrow=True)
        else:
            mid = (y1 + y2) / 2
            canvas.path(f"M {x1:.1f} {y1:.1f} C {x1:.1f} {mid:.1f} {x2:.1f} {mid:.1f} {x2:.1f} {y2:.1f}", arrow=True)
        return
    # skips and side outputs curve around, off to the left of what they pass
    out = min(ra.x, rb.x) - 14.0 - 8.0 * (lane % 4)  # lanes side by side, so that nested skips stay apart
    canvas.path(
        f"M {ra.x:.1f} {ra.y + ra.height / 2:.1f} C {out:.1f} {ra.y + ra.height / 2:.1f} {out:.1f} {rb.y + rb.height / 2:.1f} {rb.x:.1f} {rb.y + rb.height / 2:.1f}",
        stroke="#2b8a3e" if style == "skip" else "#777", arrow=True, dashed=style == "dashed",
    )


def _draw_node(canvas: Canvas, box: _Box, marked: bool) -> None:
    r = box.rect
    stroke = MARK if marked else "#333"
    if box.kind == "merge":
        canvas.rect(r.x, r.y, r.width, r.height, fill="#fff3bf", stroke=stroke, rx=14, what=f"merge {box.path}")
        canvas.text(r.x + r.width / 2, r.y + 19, box.lines[0], size=12, weight="bold")
        return
    fill = "#e7f5ff" if box.kind == "block" else "#f8f9fa"
    canvas.rect(r.x, r.y, r.width, r.height, fill=fill, stroke=stroke, rx=8, what=f"node {box.path}", extra=' stroke-width="2"' if marked else "")
    for i, line in enumerate(box.lines[:3]):
        fitted = _fit_path(line, 12.0, r.width - 10) if i == 0 else _fit(line, 12.0 if i < 2 else 10.5, r.width - 10)
        canvas.text(r.x + r.width / 2, r.y + 16 + 16 * i, fitted, size=12.0 if i < 2 else 10.5,
                    weight="bold" if i == 0 else "normal", fill="#111" if i < 2 else "#555")


def _graph_description(analysis: Analysis) -> str:
    merges = sum(1 for r in analysis.rows if isinstance(r.node, Merge))
    return (f"Graph of {analysis.network.name}: {len(analysis.leaves())} layers, {merges} merges, "
            f"{analysis.totals.params:,} parameters, {analysis.totals.macs:,} MACs; output {shape_label(analysis.rows[-1].output) if analysis.rows else ''}.")


__all__ = ["draw_boxes", "draw_graph", "is_chain", "layer_label", "shape_label"]
