"""Receptive field size r, effective stride S and effective padding P of every layer, per axis.

The recurrences are those of Araujo, Norris & Sim, "Computing Receptive Fields of
Convolutional Neural Networks", Distill 2019 (doi:10.23915/distill.00021). Along one axis,
a layer that slides a window of kernel k, dilation d, stride s and padding p_before
(top or left) over its input turns the field (r, S, P) of its input into

    k_eff = d(k − 1) + 1                  (formulas.effective_kernel)
    r     = r_prev + (k_eff − 1)·S_prev
    S     = S_prev·s
    P     = P_prev + p_before·S_prev

starting from the input image, where r = 1, S = 1, P = 0. Unit i of the layer then depends
on input positions i·S − P … i·S − P + r − 1 at most: the span counts padded positions
(negative or past the end) and, with dilation or a stride larger than the kernel, may have
holes, but nothing outside it can change the unit.

What is not a window of its own is read as one, or declared undefined, explicitly:

* layers that do not move pixels (activations, batchnorm, dropout, lrn) pass (r, S, P) on;
* `zeropad` is a window of kernel 1, stride 1 with its top/left padding;
* pools are windows of their kernel, stride, dilation and padding; ceil_mode only adds a
  last, partial window and changes nothing for the others;
* `global_avgpool` and `adaptive_avgpool` use torch's bins floor(i·n/o) … ceil((i+1)·n/o).
  When every bin has the same size k and the same step s (always when o divides n: k = s =
  n/o; sometimes otherwise, e.g. 7 → 3 is k = 3, s = 2) the layer is that window (a single
  bin, as in global pooling, is read as kernel = stride = n). Otherwise bins differ in size
  or step, so no (r, S, P) exists: the layer reports r over its units (one number if all
  agree, else the range) and the field is undefined past it;
* `flatten` keeps each unit's field; `fc` sees every unit of the last feature map, i.e. a
  window of kernel = stride = the map's size (like a global pool). From there on r and P say
  which pixels every feature sees, and S is not reported: a vector has no neighbouring units;
* `conv_transpose` at stride 1 is a convolution with the flipped kernel and padding
  d(k − 1) − p (exact); at stride s > 1 its output units alternate between ⌈·⌉ and ⌊·⌋ input
  units, an effective stride of S/s that no integer grid has: undefined past it (the range
  of r over its units is counted per residue class, not per unit; where even that would
  examine more than TRANSPOSED_CANDIDATE_CAP units, the range is reported as not computed);
* `upsample` that keeps the size is the identity; `nearest` whose index map ⌊o·c⌋ has an
  integer c (downsampling by a whole factor, torch's nearest_idx) is a window of kernel 1 and
  stride c; any other resize repeats or blends units unevenly: undefined past it (nearest
  still reports r, since each output unit copies exactly one input unit);
* `add` and `concat` follow every branch. With equal effective strides the union of the
  branches' fields is again a span (exact): P = max P_j and r reaches the furthest end.
  Branches whose fields have different centres are flagged as not aligned (the check of
  Araujo et al.'s library); branches with different effective strides have no common
  (r, S, P): the merge reports the range of r over its units and the field is undefined past it.

No rule looks at every output unit: bin sizes, spreads and unions come in closed form (or from a
bounded set of provably representative units), so a spec asking for 10^8 units costs no more
than one asking for 8.

This module computes; it does not print. Shapes and padding come from `engine.analyse`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable, NamedTuple

from cnncalc.core.engine import Analysis, Row, analyse, references
from cnncalc.kinds.base import AxisContext, Irregular, Kind, Passed, Through, Window
from cnncalc.kinds.registry import kind_of
from cnncalc.model.layers import Merge, Network, Node, Sequential, Side, alike
from cnncalc.model.shapes import AXIS_NAMES, Shape, Spatial
from cnncalc.values import value
from cnncalc.words import MAX_INT

AXES = AXIS_NAMES[2]


@dataclass(frozen=True)  # made once per layer: a compiled __init__ (cnncalc.values)
class Span:
    """The field of every unit of a layer along one axis: unit i sees i·stride − padding … + size − 1."""

    size: int
    stride: int
    padding: int

    def start(self, unit: int) -> int:
        return unit * self.stride - self.padding

    def end(self, unit: int) -> int:
        return self.start(unit) + self.size - 1

    @property
    def centre2(self) -> int:
        """Twice the centre of unit 0's field, (size − 1) − 2·padding: an integer, so comparisons are exact."""
        return self.size - 1 - 2 * self.padding

    def through(self, window: Window) -> Span:
        """Araujo et al.'s recurrences (eqs. for r, S and P of a single-path network)."""
        return Span(
            size=self.size + (window.effective_kernel - 1) * self.stride,
            stride=self.stride * window.stride,
            padding=self.padding + window.pad_before * self.stride,
        )


INPUT_SPAN = Span(size=1, stride=1, padding=0)


@value
class Undefined:
    """No (r, S, P) describes the field from layer `path` on; `reason` says why in a few words (the layer's note says more)."""

    path: str
    reason: str


AxisState = Span | Undefined


@dataclass(frozen=True)  # made once per layer: a compiled __init__ (cnncalc.values)
class AxisField:
    """One layer's receptive field along one axis, with what produced it (for explanations)."""

    size: int | None  # r; None where no single number is right
    stride: int | None  # S
    padding: int | None  # P
    previous: Span | None = None  # the field of the layer's input, when the layer applied a window
    window: Window | None = None  # the window applied; None when the field passed through or was merged
    rule: str | None = None  # how the layer is read as a window when it is not literally one
    branches: tuple[Span, ...] = ()  # at a merge: each branch's field
    size_range: tuple[int, int] | None = None  # smallest and largest r over the layer's units, where r varies
    note: str | None = None

    @property
    def span(self) -> Span | None:
        if self.size is None or self.stride is None or self.padding is None:
            return None
        return Span(self.size, self.stride, self.padding)

    @property
    def defined(self) -> bool:
        return self.span is not None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"receptive_field": self.size, "effective_stride": self.stride, "effective_padding": self.padding}
        if self.size_range is not None:
            out["receptive_field_range"] = list(self.size_range)
        return out


@dataclass(frozen=True)  # made once per layer: a compiled __init__ (cnncalc.values)
class LayerField:
    """One row of the report: a leaf layer, a merge, or a block (whose field is that of its output).

    `fields` holds one AxisField per spatial axis of the input, named by `names` (length; height, width;
    depth, height, width)."""

    path: str
    kind: str
    depth: int
    is_block: bool
    output: Shape
    fields: tuple[AxisField, ...]
    names: tuple[str, ...] = AXES
    exceeds_input: tuple[bool, ...] = (False, False)  # r larger than the input along each axis
    aligned: bool | None = None  # merges only: every branch has the same effective stride and centre
    padding: tuple[int, ...] | None = None  # the padding the layer applies (engine.Row.padding)
    node: Node | None = field(default=None, compare=False, repr=False)
    side: bool = False

    def axis(self, name: str) -> AxisField:
        return self.fields[self.names.index(name)]

    @property
    def height(self) -> AxisField:
        return self.axis("height")

    @property
    def width(self) -> AxisField:
        return self.axis("width")

    @property
    def axes(self) -> tuple[tuple[str, AxisField], ...]:
        return tuple(zip(self.names, self.fields))

    @property
    def notes(self) -> tuple[str, ...]:
        """The axes' notes: once when every axis says the same, else each with its axis."""
        notes = [a.note for a in self.fields]
        if all(n == notes[0] for n in notes):
            return (notes[0],) if notes and notes[0] else ()
        return tuple(f"{name}: {axis.note}" for name, axis in self.axes if axis.note)

    def as_json(self) -> dict[str, Any]:
        # AxisField.as_json per axis, regrouped by key (written out: it runs once per row of large networks)
        names, fields = self.names, self.fields
        out: dict[str, Any] = {
            "path": self.path,
            "kind": self.kind,
            "output": self.output.as_json(),
            "receptive_field": {name: a.size for name, a in zip(names, fields)},
            "effective_stride": {name: a.stride for name, a in zip(names, fields)},
            "effective_padding": {name: a.padding for name, a in zip(names, fields)},
        }
        if any(a.size_range is not None for a in fields):
            out["receptive_field_range"] = {name: None if a.size_range is None else list(a.size_range) for name, a in zip(names, fields)}
        out["exceeds_input"] = dict(zip(names, self.exceeds_input))
        if self.aligned is not None:
            out["aligned"] = self.aligned
        out["block"] = self.is_block
        out["depth"] = self.depth
        notes = self.notes
        out["note"] = "; ".join(notes) if notes else None
        if self.side:
            out["side"] = True
        return out


@value
class ReceptiveAnalysis:
    name: str
    input: Shape
    layers: tuple[LayerField, ...]  # in the order of `engine.analyse` rows: blocks before their contents
    spatial: bool = True  # False for a network whose input is a vector: no field to speak of

    def leaves(self) -> tuple[LayerField, ...]:
        return tuple(f for f in self.layers if not f.is_block)

    def find(self, path: str) -> LayerField | None:
        for f in self.layers:
            if f.path == path:
                return f
        return None

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "input": self.input.as_json(), "layers": [f.as_json() for f in self.leaves()]}


# --------------------------------------------------------------------------- the walk


class _State(NamedTuple):  # one per layer walked: a tuple is made faster than a frozen dataclass
    """The field of every unit of the current tensor, per axis, and its number of units per axis.

    After `flatten` the units are those of the last feature map, so `grid` keeps its size; after
    `fc` every feature sees the whole map: a single unit.
    """

    fields: tuple[AxisState, ...]
    grid: tuple[int, ...]
    whole: bool = False  # after `fc`: every feature sees the whole field, there is no grid left

    def axis(self, i: int) -> AxisState:
        return self.fields[i]


def _lengths(shape: Shape, grid: tuple[int, ...]) -> tuple[int, ...]:
    return shape.sizes if isinstance(shape, Spatial) and len(shape.sizes) == len(grid) else grid


def _undefined_note(state: Undefined) -> str:
    return f"undefined since {state.path}: {state.reason}"


# r, S and P stay below torch's int64 size limit: past it no input is that large, and the numbers would
# grow without bound (a chain of N stride-2 layers has S = 2^N), costing time and outgrowing str().
FIELD_LIMIT = MAX_INT
OUTGROWN = "r, S or P passes 2^63 − 1, torch's largest size: no input is that large"


def _through(prev: AxisState, window: Window, path: str, rule: str | None = None) -> tuple[AxisField, AxisState]:
    if isinstance(prev, Undefined):
        return AxisField(None, None, None, note=_undefined_note(prev)), prev
    new = prev.through(window)
    if max(new.size, new.stride, abs(new.padding)) > FIELD_LIMIT:
        return AxisField(None, None, None, previous=prev, window=window, note=OUTGROWN), Undefined(path, "the field outgrew int64")
    return AxisField(new.size, new.stride, new.padding, previous=prev, window=window, rule=rule), new


def _passed(prev: AxisState, rule: str | None = None) -> tuple[AxisField, AxisState]:
    if isinstance(prev, Undefined):
        return AxisField(None, None, None, note=_undefined_note(prev)), prev
    return AxisField(prev.size, prev.stride, prev.padding, rule=rule), prev


def _broken(
    path: str, prev: AxisState, reason: str, short: str, size_range: tuple[int, int] | None
) -> tuple[AxisField, AxisState]:
    """A layer past which no (r, S, P) exists; it reports what it can (the range of r over its units)."""
    if isinstance(prev, Undefined):
        return AxisField(None, None, None, note=_undefined_note(prev)), prev
    size, note = None, reason
    if size_range is not None and size_range[0] != size_range[1]:
        note = f"{reason}; r ranges from {size_range[0]} to {size_range[1]} over this layer's units"
    elif size_range is not None:
        size = size_range[0]  # every unit's field has the same size, only its position is irregular
        note = f"{reason}; every unit still sees r = {size}"
    return AxisField(size, None, None, previous=prev, size_range=size_range, note=note), Undefined(path, short)


def _range(sizes: list[int]) -> tuple[int, int] | None:
    return (min(sizes), max(sizes)) if sizes else None


def _axis_field(
    node: Node, kind: Kind, pad_before: int | None, i: int, prev: AxisState, n_in: int, n_out: int, walk: _Walk
) -> tuple[AxisField, AxisState]:
    """Axis i of one leaf layer, from its kind's geometry. Reasons do not name the axis: `LayerField.notes` does, when the axes differ."""
    # the context as a plain tuple first: on the cached path no AxisContext is made
    values = (i, n_in, n_out, pad_before, isinstance(prev, Span))
    token = alike(node)
    if token is None:
        geometry = kind.field(node, AxisContext(*values))
    else:  # layers written alike (model.layers.placed) have one geometry per context
        geometry = walk.geometries.get((token, values))
        if geometry is None:
            geometry = walk.geometries[token, values] = kind.field(node, AxisContext(*values))
    if isinstance(geometry, Through):
        return _through(prev, geometry.window, node.path, rule=geometry.rule)
    if isinstance(geometry, Passed):
        # the same field passed on by one layer after another (a conv's through its norm and activation):
        # one AxisField, which is immutable, serves them all
        passed = walk.passed.get((prev, geometry.rule))
        if passed is None:
            passed = walk.passed[prev, geometry.rule] = _passed(prev, rule=geometry.rule)
        return passed
    context = AxisContext(*values)
    assert isinstance(geometry, Irregular)
    reason, spread = geometry.reason, geometry.spread
    if geometry.needs_spread and isinstance(prev, Span):
        from cnncalc.kinds.conv import TRANSPOSED_CANDIDATE_CAP

        cost = kind.spread_cost(node, context)
        if cost > TRANSPOSED_CANDIDATE_CAP:
            reason += f"; the range of r over its units is not computed (more than {TRANSPOSED_CANDIDATE_CAP:,} units to examine)"
        elif cost > walk.spread_budget:
            reason += f"; the range of r over its units is not computed (one run examines at most {SPREAD_BUDGET:,} units)"
        else:
            walk.spread_budget -= cost
            spreads = kind.spread_of(node, context)
            if spreads:
                spread = spreads  # type: ignore[assignment]
    size_range = None
    if spread is not None and isinstance(prev, Span):
        size_range = (spread[0] * prev.stride + prev.size, spread[1] * prev.stride + prev.size)
    return _broken(node.path, prev, reason, geometry.short, size_range)


def _union_candidates(spans: list[Span], n_out: int) -> list[int]:
    """Units among which the union's size max_j end_j(u) − min_j start_j(u) + 1 takes its extremes.

    Each end and start is linear in u, so the size is convex piecewise linear in u: its largest
    value over 0 … n_out − 1 is at an end, its smallest next to a crossing of two branches' lines
    (floor and ceiling of it). O(branches²) units instead of all n_out.
    """
    units = {0, n_out - 1}
    for a in spans:
        for b in spans:
            if a.stride > b.stride:
                for ca, cb in ((a.padding, b.padding), (a.padding - a.size, b.padding - b.size)):
                    # a.stride·u − ca = b.stride·u − cb  ⇔  u = (ca − cb) / (a.stride − b.stride)
                    q = (ca - cb) // (a.stride - b.stride)
                    units.update(u for u in (q, q + 1) if 0 <= u < n_out)
    return sorted(units)


def _merge_axis(node: Merge, i: int, states: list[AxisState], n_out: int) -> tuple[AxisField, AxisState, bool]:
    for j, state in enumerate(states):
        if isinstance(state, Undefined):
            return AxisField(None, None, None, note=f"branch {j + 1}: {_undefined_note(state)}"), state, False
    spans: list[Span] = states  # type: ignore[assignment]
    strides = sorted({s.stride for s in spans})
    if len(strides) > 1:
        # The union changes from unit to unit: unit i's field runs from min_j start_j(i) to max_j end_j(i).
        sizes = [max(s.end(u) for s in spans) - min(s.start(u) for s in spans) + 1 for u in _union_candidates(spans, n_out)]
        reason = (
            f"branches not aligned: effective strides "
            f"{', '.join(str(s.stride) for s in spans)} differ, so the union of their fields changes from unit to unit"
        )
        rng = _range(sizes)
        note = reason
        if rng and rng[0] != rng[1]:
            note += f"; r ranges from {rng[0]} to {rng[1]} over this layer's units"
        return (
            AxisField(None, None, None, branches=tuple(spans), size_range=rng, note=note),
            Undefined(node.path, "branches with different effective strides"),
            False,
        )
    padding = max(s.padding for s in spans)
    end = max(s.size - 1 - s.padding for s in spans)  # unit 0's last position, the furthest of any branch
    union = Span(size=end + padding + 1, stride=strides[0], padding=padding)
    centres = sorted({s.centre2 for s in spans})
    aligned = len(centres) == 1
    note = None
    if not aligned:
        shown = ", ".join(_half(s.centre2) for s in spans)
        note = (
            f"branches not aligned: their fields are centred at {shown} (unit 0), "
            f"so the union (r = {union.size}) is wider than any branch's"
        )
    return AxisField(union.size, union.stride, union.padding, branches=tuple(spans), note=note), union, aligned


def _half(twice: int) -> str:
    return str(twice // 2) if twice % 2 == 0 else f"{twice / 2:g}"


# The ranges of r of irregular layers (strided transposed convolutions) cost up to 200,000 units each
# (~0.15 s): one run examines at most this many in all, so that a spec of many such layers, each in a
# branch of its own, is still answered in well under a second. Past it the range is not computed.
SPREAD_BUDGET = 1_000_000


@dataclass(repr=False, eq=False)  # a private accumulator: no generated repr or equality to compile on import
class _Walk:
    rows: dict[int, Row]
    fields: dict[int, LayerField]
    input_lengths: tuple[int, ...]
    names: tuple[str, ...]
    states: dict[str, _State] = field(default_factory=dict)  # path -> state after it, for `from:`
    spread_budget: int = SPREAD_BUDGET  # units the irregular layers' ranges of r may still examine
    geometries: dict[tuple, Any] = field(default_factory=dict)  # (alike token, context as a tuple) -> Through/Passed/Irregular
    passed: dict[tuple[AxisState, str | None], tuple[AxisField, AxisState]] = field(default_factory=dict)  # (field, rule) -> `_passed`
    referenced: dict[str, int] = field(default_factory=dict)  # paths a `from:` reads: their states are kept


def _exceeds(fields: tuple[AxisField, ...], lengths: tuple[int, ...]) -> tuple[bool, ...]:
    return tuple(f.size is not None and f.size > n for f, n in zip(fields, lengths))


VECTOR_NOTE = "fully connected: every feature sees this whole field; a vector has no neighbouring units, so S does not apply"


def _as_vector(axis: AxisField) -> AxisField:
    """After `fc` r and P still say which input pixels a feature sees; S has nothing to measure."""
    if axis.size is None:
        return axis
    return replace(axis, stride=None, note=axis.note or VECTOR_NOTE)


def _record(walk: _Walk, node: Node, row: Row, fields: tuple[AxisField, ...], aligned: bool | None = None, whole: bool = False) -> None:
    if whole:
        fields = tuple(_as_vector(f) for f in fields)
    walk.fields[id(node)] = LayerField(
        path=row.path,
        kind=row.kind,
        depth=row.depth,
        is_block=row.is_block,
        output=row.output,
        fields=fields,
        names=walk.names,
        exceeds_input=_exceeds(fields, walk.input_lengths),
        aligned=aligned,
        padding=row.padding,
        node=node,
        side=row.side,
    )


def _walk_sequence(nodes: tuple[Node, ...], state: _State, walk: _Walk) -> _State:
    for node in nodes:
        state = _walk_node(node, state, walk)
    return state


def _walk_node(node: Node, state: _State, walk: _Walk) -> _State:
    row = walk.rows[id(node)]
    if isinstance(node, (Sequential, Side)):
        start = walk.states[node.source] if isinstance(node, Side) and node.source else state
        end = _walk_sequence(node.children, start, walk)
        _record(walk, node, row, tuple(_passed(f)[0] for f in end.fields), whole=end.whole)
        if node.path in walk.referenced:
            walk.states[node.path] = end
        return state if isinstance(node, Side) else end
    if isinstance(node, Merge):
        # A `from:` branch starts from the field of the layer it reads, so skips and taps are followed.
        ends = [
            _walk_sequence(branch, state if source is None else walk.states[source], walk)
            for branch, source in zip(node.branches, node.sources)
        ]
        n_out = _lengths(row.output, ends[0].grid)
        results = [_merge_axis(node, i, [e.axis(i) for e in ends], n_out[i]) for i in range(len(walk.names))]
        aligned = all(r[2] for r in results)
        whole = all(e.whole for e in ends)
        _record(walk, node, row, tuple(r[0] for r in results), aligned, whole=whole)
        after = _State(tuple(r[1] for r in results), n_out, whole)
        if node.path in walk.referenced:
            walk.states[node.path] = after
        return after
    kind = kind_of(node)
    n_in, n_out = _lengths(row.input, state.grid), _lengths(row.output, state.grid)
    padding = row.padding
    results = [
        _axis_field(node, kind, None if padding is None else padding[2 * i], i, state.fields[i], n_in[i], n_out[i], walk)
        for i in range(len(walk.names))
    ]
    whole_map = kind.whole_map(node)
    whole = state.whole or whole_map
    _record(walk, node, row, tuple(r[0] for r in results), whole=whole)
    grid = (1,) * len(walk.names) if whole_map else n_out
    after = _State(tuple(r[1] for r in results), grid, whole)
    if node.path in walk.referenced:
        walk.states[node.path] = after
    return after


def receptive_fields(network: Network, input_shape: Shape | None = None, analysis: Analysis | None = None) -> ReceptiveAnalysis:
    """r, S and P of every row of `analyse(network, input_shape)` (pass `analysis` to reuse one)."""
    analysis = analysis or analyse(network, input_shape)
    shape = analysis.input
    if not isinstance(shape, Spatial):
        none = AxisField(None, None, None, note="the input is a vector: there is no spatial receptive field")
        layers = tuple(
            LayerField(r.path, r.kind, r.depth, r.is_block, r.output, (none, none), node=r.node, side=r.side) for r in analysis.rows
        )
        return ReceptiveAnalysis(network.name, shape, layers, spatial=False)
    walk = _Walk(
        rows={id(r.node): r for r in analysis.rows}, fields={}, input_lengths=shape.sizes, names=shape.axes,
        referenced=references(network.layers, {}),
    )
    _walk_sequence(network.layers, _State((INPUT_SPAN,) * shape.rank, shape.sizes), walk)
    layers = tuple(walk.fields[id(r.node)] for r in analysis.rows)
    return ReceptiveAnalysis(network.name, shape, layers)


def chain_axis(layers: Iterable[tuple[Node, int, int, int | None]]) -> list[AxisField]:
    """The field along the first axis after each layer of a plain chain, by the same geometry and recurrence as
    `receptive_fields` but without a Network, an analysis or its rows: for the many small stacks of the quiz.

    Each item is (layer, its input length, its output length, its padding before) along that axis, as the
    layer's `engine.layer_math` gives them. A layer that ends the grid (`fc`, `Kind.whole_map`) has a field
    only `receptive_fields` describes (a vector's), and is refused."""
    walk = _Walk(rows={}, fields={}, input_lengths=(), names=())
    state: AxisState = INPUT_SPAN
    fields = []
    for node, n_in, n_out, pad_before in layers:
        kind = kind_of(node)
        if kind.whole_map(node):
            raise ValueError(f"{node.path}: a {node.kind} layer ends the grid; use receptive_fields")
        field_, state = _axis_field(node, kind, pad_before, 0, state, n_in, n_out, walk)
        fields.append(field_)
    return fields


__all__ = ["AxisField", "LayerField", "ReceptiveAnalysis", "Span", "Undefined", "Window", "chain_axis", "receptive_fields"]
