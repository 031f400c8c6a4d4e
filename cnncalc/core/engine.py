"""Shapes, parameters, MACs and memory of every layer: a pure walk over the parsed spec.

`layer_math` is the one place a single layer's output is computed; `analyse` walks a
network through it, checks merges, and sums blocks and totals. Nothing here reads
files or prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from cnncalc.enums import Dtype, LayerKind
from cnncalc.errors import CnnCalcError, LimitProblem, MergeProblem, SpecWarning
from cnncalc.kinds.base import LayerMath
from cnncalc.kinds.merge import MERGES
from cnncalc.kinds.registry import kind_of
from cnncalc.model.layers import Layer, Merge, Network, Node, Sequential, Side, alike
from cnncalc.model.shapes import Shape, Spatial
from cnncalc.values import value


@dataclass(frozen=True)  # made once per layer: a compiled __init__ (cnncalc.values)
class Row:
    """One line of the report: a leaf layer, a merge, or a block holding the rows after it."""

    path: str
    kind: str
    depth: int
    input: Shape
    output: Shape
    params: int
    trainable_params: int
    non_trainable_params: int
    macs: int
    activations: int  # elements of this row's output, one sample; for a block, the sum over its rows
    is_block: bool = False
    padding: tuple[int, ...] | None = None  # resolved (before, after) per axis, where the layer pads
    node: Node | None = field(default=None, compare=False, repr=False)
    side: bool = False  # the row belongs to a side output (an auxiliary head), not the main path

    def as_json(self, summaries: dict[tuple, dict[str, Any]] | None = None) -> dict[str, Any]:
        """The row as `cnncalc table --format json` writes it (the geometry fields come from the layer's kind).
        `summaries` keeps the geometry of layers written alike across the rows of one document."""
        entry: dict[str, Any] = {
            "path": self.path,
            "kind": self.kind,
            "block": self.is_block,
            "depth": self.depth,
            "input": self.input.as_json(),
            "output": self.output.as_json(),
            "params": self.params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "macs": self.macs,
            "activations": self.activations,
        }
        node = self.node
        if not self.is_block and node is not None and not isinstance(node, Merge):
            token = alike(node)
            if token is None or summaries is None:
                entry.update(kind_of(node).summary_json(node, self.padding))
            else:
                summary = summaries.get((token, self.padding))
                if summary is None:
                    summary = summaries[token, self.padding] = kind_of(node).summary_json(node, self.padding)
                entry.update(summary)
        if self.side:
            entry["side"] = True
        return entry


@value
class Totals:
    params: int
    trainable_params: int
    non_trainable_params: int
    macs: int
    activations: int  # every leaf's output, one sample
    running_stats: int
    side_macs: int = 0  # MACs of side outputs (auxiliary heads), included in `macs`

    @property
    def main_macs(self) -> int:
        """MACs of the main path alone: what inference without the auxiliary heads costs."""
        return self.macs - self.side_macs

    @property
    def flops(self) -> int:
        """Counted as 2 x MACs (one multiply and one add each)."""
        return 2 * self.macs

    def parameter_bytes(self, dtype: Dtype) -> int:
        """Learned parameters and batch-norm running statistics, as a checkpoint stores them."""
        return (self.params + self.running_stats) * dtype.bytes


@value
class Analysis:
    network: Network
    input: Shape
    rows: tuple[Row, ...]
    totals: Totals
    warnings: tuple[SpecWarning, ...] = ()
    outputs: tuple[tuple[str, Shape], ...] = ()  # side outputs (path, shape), besides the main output

    def leaves(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if not r.is_block)

    @property
    def weight_layers(self) -> int:
        """Conv and fc layers of the main path: how learners count a network's depth (VGG-16 has 16,
        LeNet-5 5, AlexNet 8; ResNet-50 54, its 50 and 4 downsample projections). Side heads are not counted."""
        return sum(1 for r in self.leaves() if r.node is not None and not r.side and not isinstance(r.node, Merge) and kind_of(r.node).weight_layer)

    def rows_to_depth(self, depth: int | None) -> tuple[Row, ...]:
        """Rows down to `depth` nesting levels (1 = top level); a block at the limit stands for its contents."""
        if depth is None:
            return self.leaves()
        return tuple(r for r in self.rows if r.depth <= depth and (not r.is_block or r.depth == depth))


def _error(layer: Node, message: str, hint: str | None = None, kind: type[CnnCalcError] = LimitProblem) -> CnnCalcError:
    return kind(message, hint=hint, layer=layer.path or None, pos=layer.pos)


def layer_math(layer: Layer, shape: Shape) -> LayerMath:
    """Output shape, parameters and MACs of one layer on one input, from its kind. Raises CnnCalcError if torch would."""
    return kind_of(layer).forward(layer, shape)


# --------------------------------------------------------------------------- limits and warnings

MAX_INT = 2**63 - 1  # torch's sizes and element counts are int64
# A layer is "unusually large" above 2^31 output values per sample or 2^31 parameters: 8 GiB in
# float32 for one tensor of one sample, past int32 indexing (where many GPU kernels need a 64-bit
# path or refuse). Real CNNs stay far below: VGG-16's largest layer (fc6) has 102,764,544
# parameters, ResNet-50's largest output 802,816 values at 224x224. Above it, a typo is likely.
LARGE_LAYER = 2**31


def _check_size(node: Node, shape: Shape) -> None:
    """torch cannot hold a tensor whose sizes or element count exceed int64: refuse, do not overflow."""
    dims = (*shape.sizes, shape.channels) if isinstance(shape, Spatial) else (shape.features,)
    if max(dims) > MAX_INT or shape.elements > MAX_INT:
        raise _error(
            node,
            f"a tensor's size must fit torch's int64 (at most {MAX_INT:,} values); "
            f"this layer's output {shape.hwc()} holds {shape.elements:,}",
            hint="check the input size and the sizes of the layers before this one",
        )


def _layer_warnings(layer: Layer, shape: Shape, math: LayerMath) -> list[SpecWarning]:
    kind = kind_of(layer)
    warnings = list(kind.warnings(layer, shape, math))
    big = []
    if math.output.elements > LARGE_LAYER:
        big.append(f"its output holds {math.output.elements:,} values per sample ({_gib(math.output.elements)} in float32)")
    if math.params > LARGE_LAYER:
        big.append(f"it has {math.params:,} parameters ({_gib(math.params)} in float32)")
    if big:
        warnings.append(
            SpecWarning(
                f"an unusually large layer: {' and '.join(big)}, more than 2^31 = {LARGE_LAYER:,}",
                layer=layer.path or None,
                pos=layer.pos,
                hint="check the input size and the filters or units of this layer; an extra zero is the usual cause",
            )
        )
    return warnings


def _gib(elements: int) -> str:
    return f"{elements * 4 / 2**30:,.1f} GiB"


@dataclass(repr=False, eq=False)  # a private accumulator: no generated repr or equality to compile on import
class _Walk:
    """Accumulates rows in execution order while the graph is walked (private to `analyse`)."""

    rows: list[Row] = field(default_factory=list)
    running_stats: int = 0
    warnings: list[SpecWarning] = field(default_factory=list)
    seen: set[tuple] = field(default_factory=set)
    file: str | None = None
    outputs: dict[str, Shape] = field(default_factory=dict)  # path -> output, for `from:` and side outputs
    referenced: dict[str, int] = field(default_factory=dict)  # the paths a `from:` reads (`references`): only theirs are kept
    side_outputs: list[tuple[str, Shape]] = field(default_factory=list)
    side_depth: int = 0  # > 0 while inside a side output
    side_macs: int = 0
    # (alike token, input) -> the layer's numbers, for layers written alike (model.layers.placed) on an
    # input seen before without a warning or a refusal: those are computed again, to name their own layer.
    computed: dict[tuple[object, Shape], LayerMath] = field(default_factory=dict)

    def warn(self, warnings: list[SpecWarning]) -> None:
        """Keep each warning once per spec line: a block used 16 times, or a repeated layer, says it once."""
        for warning in warnings:
            key = (warning.pos, warning.message)
            if key not in self.seen:
                self.seen.add(key)
                self.warnings.append(warning.with_file(self.file))

    def finished(self, path: str, output: Shape) -> None:
        if path in self.referenced:
            self.outputs[path] = output


class _Sums(NamedTuple):  # one per node walked: a tuple is made faster than a frozen dataclass
    output: Shape
    params: int = 0
    trainable: int = 0
    non_trainable: int = 0
    macs: int = 0
    activations: int = 0


def _walk_sequence(nodes: tuple[Node, ...], shape: Shape, depth: int, walk: _Walk) -> _Sums:
    params = trainable = non_trainable = macs = activations = 0
    for node in nodes:
        sums = _walk_node(node, shape, depth, walk)
        params += sums.params
        trainable += sums.trainable
        non_trainable += sums.non_trainable
        macs += sums.macs
        activations += sums.activations
        shape = sums.output
    return _Sums(shape, params, trainable, non_trainable, macs, activations)


def _group_row(node: Sequential | Side, shape: Shape, depth: int, sums: _Sums, walk: _Walk) -> Row:
    return Row(
        path=node.path,
        kind=node.label,
        depth=depth,
        input=shape,
        output=sums.output,
        params=sums.params,
        trainable_params=sums.trainable,
        non_trainable_params=sums.non_trainable,
        macs=sums.macs,
        activations=sums.activations,
        is_block=True,
        node=node,
        side=walk.side_depth > 0 or isinstance(node, Side),
    )


def _walk_node(node: Node, shape: Shape, depth: int, walk: _Walk) -> _Sums:
    if isinstance(node, (Sequential, Side)):
        index = len(walk.rows)
        walk.rows.append(None)  # type: ignore[arg-type]  # placeholder: the block row goes before its contents
        side = isinstance(node, Side)
        walk.side_depth += side
        start = _source_output(node, node.source, walk) if side and node.source else shape
        try:
            sums = _walk_sequence(node.children, start, depth + 1, walk)
        except CnnCalcError as exc:
            if isinstance(node, Sequential):
                raise _block_use(exc, node) from None
            raise
        finally:
            walk.side_depth -= side
        walk.rows[index] = _group_row(node, start, depth, sums, walk)
        if side:
            # A side output is an extra network output; the main path goes on from the side's input unchanged.
            walk.side_outputs.append((node.path, sums.output))
            walk.outputs[node.path] = sums.output
            return _Sums(shape, sums.params, sums.trainable, sums.non_trainable, sums.macs, sums.activations)
        walk.finished(node.path, sums.output)
        return sums
    if isinstance(node, Merge):
        return _walk_merge(node, shape, depth, walk)
    token = alike(node)
    math = walk.computed.get((token, shape)) if token is not None else None
    if math is None:
        math = layer_math(node, shape)
        _check_size(node, math.output)
        warnings = _layer_warnings(node, shape, math)
        walk.warn(warnings)
        if token is not None and not warnings:
            walk.computed[token, shape] = math
    walk.running_stats += math.running_stats
    if walk.side_depth:
        walk.side_macs += math.macs
    walk.rows.append(
        Row(
            path=node.path,
            kind=str(node.kind),
            depth=depth,
            input=shape,
            output=math.output,
            params=math.params,
            trainable_params=math.trainable_params,
            non_trainable_params=math.non_trainable_params,
            macs=math.macs,
            activations=math.output.elements,
            padding=math.padding,
            node=node,
            side=walk.side_depth > 0,
        )
    )
    walk.finished(node.path, math.output)
    return _Sums(
        math.output,
        math.params,
        math.trainable_params,
        math.non_trainable_params,
        math.macs,
        math.output.elements,
    )


def _block_use(exc: CnnCalcError, node: Sequential) -> CnnCalcError:
    """An error inside a block points at the block's definition; say which use of it failed, once."""
    if node.label in ("sequential", "repeat", "branch") or node.pos is None:
        return exc
    return exc.in_use(node.path, node.label, node.pos.line)


def _walk_merge(node: Merge, shape: Shape, depth: int, walk: _Walk) -> _Sums:
    params = trainable = non_trainable = macs = activations = 0
    outputs: list[Shape] = []
    for branch, source in zip(node.branches, node.sources):
        start = shape if source is None else _source_output(node, source, walk)
        sums = _walk_sequence(branch, start, depth, walk)
        params += sums.params
        trainable += sums.trainable
        non_trainable += sums.non_trainable
        macs += sums.macs
        activations += sums.activations
        outputs.append(sums.output)
    output = MERGES[node.merge].combine(node, outputs)
    _check_size(node, output)
    walk.rows.append(
        Row(
            path=node.path,
            kind=str(node.merge),
            depth=depth,
            input=shape,
            output=output,
            params=0,
            trainable_params=0,
            non_trainable_params=0,
            macs=0,
            activations=output.elements,
            node=node,
            side=walk.side_depth > 0,
        )
    )
    walk.finished(node.path, output)
    return _Sums(output, params, trainable, non_trainable, macs, activations + output.elements)


def _source_output(node: Merge | Side, source: str, walk: _Walk) -> Shape:
    if source not in walk.outputs:
        raise _error(
            node,
            f"a branch reads `from: {source}`, which has not been computed before this merge",
            hint="`from:` names a layer or group that comes earlier in the network, as `cnncalc table --format json` lists them",
            kind=MergeProblem,
        )
    return walk.outputs[source]


def references(nodes: tuple[Node, ...], counts: dict[str, int]) -> dict[str, int]:
    """How often each path is read by a `from:` branch or side output (core/memory keeps it alive until then)."""
    for node in nodes:
        if isinstance(node, (Sequential, Side)):
            if isinstance(node, Side) and node.source:
                counts[node.source] = counts.get(node.source, 0) + 1
            references(node.children, counts)
        elif isinstance(node, Merge):
            for branch, source in zip(node.branches, node.sources):
                if source is not None:
                    counts[source] = counts.get(source, 0) + 1
                references(branch, counts)
    return counts


def analyse(network: Network, input_shape: Shape | None = None) -> Analysis:
    """Every row and the totals of `network`, on its own input or on `input_shape`.

    Problems that stop the run raise CnnCalcError located at the layer (file, line, path);
    legal but suspicious things are collected in `Analysis.warnings`, in execution order.
    """
    shape = input_shape or network.input
    walk = _Walk(file=network.file, referenced=references(network.layers, {}))
    if input_shape is None:
        walk.warn(list(network.warnings))
    try:
        sums = _walk_sequence(network.layers, shape, 1, walk)
    except CnnCalcError as exc:
        raise exc.located(file=network.file)
    totals = Totals(
        params=sums.params,
        trainable_params=sums.trainable,
        non_trainable_params=sums.non_trainable,
        macs=sums.macs,
        activations=sums.activations,
        running_stats=walk.running_stats,
        side_macs=walk.side_macs,
    )
    return Analysis(network, shape, tuple(walk.rows), totals, tuple(walk.warnings), outputs=tuple(walk.side_outputs))


__all__ = ["Analysis", "LayerKind", "LayerMath", "Row", "Totals", "analyse", "layer_math", "references"]
