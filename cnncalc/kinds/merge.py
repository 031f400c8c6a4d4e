"""Merges: `add` (elementwise sum, a residual) and `concat` (channels joined, torch.cat(dim=1)).

A merge combines the outputs of its branches; each branch reads the merge's input or, with
`from: PATH`, the output of an earlier layer. The receptive field of a merge is the union of its
branches' fields (cnncalc.core.receptive), for every merge alike.
"""

from __future__ import annotations

from typing import ClassVar

from cnncalc.enums import MergeKind
from cnncalc.kinds.base import layer_error
from cnncalc.model.layers import Merge
from cnncalc.model.shapes import Shape, Spatial, Vector


def describe_branch(node: Merge, index: int) -> str:
    branch = node.branches[index]
    source = node.sources[index] if index < len(node.sources) else None
    if not branch:
        return f"branch {index + 1} (the identity)" if source is None else f"branch {index + 1} (from {source})"
    first, last = branch[0].path, branch[-1].path
    return f"branch {index + 1} (layer {first})" if first == last else f"branch {index + 1} (layers {first} … {last})"


def difference(a: Shape, b: Shape) -> str:
    """What differs between two branch outputs, for the merge messages."""
    if isinstance(a, Vector) != isinstance(b, Vector):
        return "a vector and a feature map"
    if isinstance(a, Vector) and isinstance(b, Vector):
        return f"{a.features} vs {b.features} features"
    assert isinstance(a, Spatial) and isinstance(b, Spatial)
    parts = []
    if a.sizes != b.sizes:
        if a.rank != b.rank:
            parts.append(f"{a.rank}-D vs {b.rank}-D")
        else:
            names = a.axes
            label = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            parts.append(f"{label} {'×'.join(map(str, a.sizes))} vs {'×'.join(map(str, b.sizes))}")
    if a.channels != b.channels:
        parts.append(f"channels {a.channels} vs {b.channels}")
    return ", ".join(parts)


class MergeRule:
    """One merge kind: how its branches' outputs combine into one shape."""

    merge: ClassVar[MergeKind]
    torch_op: ClassVar[str]

    def combine(self, node: Merge, outputs: list[Shape]) -> Shape:
        raise NotImplementedError


class AddRule(MergeRule):
    merge = MergeKind.ADD
    torch_op = "a + b"

    def combine(self, node: Merge, outputs: list[Shape]) -> Shape:
        first = outputs[0]
        for i, other in enumerate(outputs[1:], start=1):
            if other != first:
                raise layer_error(
                    node,
                    f"add needs every branch to give the same shape; {describe_branch(node, 0)} gives "
                    f"{first.hwc()} but {describe_branch(node, i)} gives {other.hwc()} ({difference(first, other)})",
                    hint="make the branches agree, e.g. a 1x1 conv with the right filters and stride on the shortcut",
                )
        return first


class ConcatRule(MergeRule):
    merge = MergeKind.CONCAT
    torch_op = "torch.cat([a, b], dim=1)"

    def combine(self, node: Merge, outputs: list[Shape]) -> Shape:
        first = outputs[0]
        if all(isinstance(o, Vector) for o in outputs):
            return Vector(sum(o.features for o in outputs))
        for i, other in enumerate(outputs[1:], start=1):
            if not isinstance(first, Spatial) or not isinstance(other, Spatial) or other.sizes != first.sizes:
                raise layer_error(
                    node,
                    f"concat joins channels, so every branch must have the same {_sizes_words(first, other)}; "
                    f"{describe_branch(node, 0)} gives {first.hwc()} but {describe_branch(node, i)} gives {other.hwc()}"
                    f" ({difference(first, other).split(', channels')[0]})",
                    hint="give the branches the same strides and padding so their feature maps line up",
                )
        return Spatial(*first.sizes, sum(o.channels for o in outputs))  # type: ignore[union-attr]


def _sizes_words(a: Shape, b: Shape) -> str:
    for shape in (a, b):
        if isinstance(shape, Spatial) and shape.rank != 2:
            names = shape.axes
            return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return "height and width"


MERGES: dict[MergeKind, MergeRule] = {rule.merge: rule for rule in (AddRule(), ConcatRule())}
