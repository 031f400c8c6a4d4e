"""Merges: `add` (elementwise sum, a residual) and `concat` (channels joined, torch.cat(dim=1)).

A merge combines the outputs of its branches; each branch reads the merge's input or, with
`from: PATH`, the output of an earlier layer. The receptive field of a merge is the union of its
branches' fields (cnncalc.core.receptive), for every merge alike.
"""

from __future__ import annotations

from typing import Any, ClassVar

from cnncalc.enums import MergeKind
from cnncalc.errors import MergeProblem
from cnncalc.kinds.worked import Step, num
from cnncalc.words import and_list
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
            label = and_list(a.axes)
            parts.append(f"{label} {'×'.join(map(str, a.sizes))} vs {'×'.join(map(str, b.sizes))}")
    if a.channels != b.channels:
        parts.append(f"channels {a.channels} vs {b.channels}")
    return ", ".join(parts)


class MergeRule:
    """One merge kind: how its branches' outputs combine into one shape, how that is worked out in
    words, and the torch operation it stands for."""

    merge: ClassVar[MergeKind]
    torch_op: ClassVar[str]

    def combine(self, node: Merge, outputs: list[Shape]) -> Shape:
        raise NotImplementedError

    def derive(self, outputs: list[Shape], out: Shape) -> tuple[str, list[Step], str]:
        """(rule, steps after the branches' own lines, why): the merge's worked text."""
        raise NotImplementedError

    def torch(self, tensors: list) -> Any:
        """The merged tensor, from the branches' torch tensors (tests and export only)."""
        raise NotImplementedError


    def source(self, terms: list[str]) -> str:
        """The merge as an expression of exported PyTorch source, from the branches' expressions."""
        raise NotImplementedError


STAGE_METHODS = ("combine", "derive", "torch", "source")


def _axes_words(shape: Spatial) -> str:
    """`height and width`, `length`, `depth, height and width`."""
    return and_list(shape.axes)


class AddRule(MergeRule):
    merge = MergeKind.ADD
    torch_op = "a + b"

    def combine(self, node: Merge, outputs: list[Shape]) -> Shape:
        first = outputs[0]
        for i, other in enumerate(outputs[1:], start=1):
            if other != first:
                raise MergeProblem(
                    f"add needs every branch to give the same shape; {describe_branch(node, 0)} gives "
                    f"{first.hwc()} but {describe_branch(node, i)} gives {other.hwc()} ({difference(first, other)})",
                    hint="make the branches agree, e.g. a 1x1 conv with the right filters and stride on the shortcut",
                    layer=node.path or None,
                    pos=node.pos,
                )
        return first

    def derive(self, outputs: list[Shape], out: Shape) -> tuple[str, list[Step], str]:
        why = (
            f"add sums the branches element by element: each of the {num(out.elements)} output values is the sum "
            f"of the values at the same position in every branch, so every branch must give exactly {out.hwc()} "
            f"(a 1x1 conv on the shortcut fixes a mismatch in channels or stride)."
        )
        return "output = branch 1 + branch 2 + … elementwise; every shape equal", [Step("output", "", out.hwc())], why

    def torch(self, tensors: list) -> Any:
        total = tensors[0]
        for other in tensors[1:]:
            if other.shape != total.shape:  # torch would broadcast some mismatches; a residual must match
                raise ValueError(f"add of {tuple(total.shape)} and {tuple(other.shape)}")
            total = total + other
        return total

    def source(self, terms: list[str]) -> str:
        return " + ".join(terms)


class ConcatRule(MergeRule):
    merge = MergeKind.CONCAT
    torch_op = "torch.cat([a, b], dim=1)"

    def combine(self, node: Merge, outputs: list[Shape]) -> Shape:
        first = outputs[0]
        if all(isinstance(o, Vector) for o in outputs):
            return Vector(sum(o.features for o in outputs))
        for i, other in enumerate(outputs[1:], start=1):
            if not isinstance(first, Spatial) or not isinstance(other, Spatial) or other.sizes != first.sizes:
                raise MergeProblem(
                    f"concat joins channels, so every branch must have the same {_sizes_words(first, other)}; "
                    f"{describe_branch(node, 0)} gives {first.hwc()} but {describe_branch(node, i)} gives {other.hwc()}"
                    f" ({difference(first, other).split(', channels')[0]})",
                    hint="give the branches the same strides and padding so their feature maps line up",
                    layer=node.path or None,
                    pos=node.pos,
                )
        return Spatial(*first.sizes, sum(o.channels for o in outputs))  # type: ignore[union-attr]

    def derive(self, outputs: list[Shape], out: Shape) -> tuple[str, list[Step], str]:
        if isinstance(out, Vector):
            steps = [Step("features", " + ".join(num(s.elements) for s in outputs), num(out.features))]
            return "features = n_1 + n_2 + …", steps, "concat joins the vectors end to end, so their lengths add."
        assert isinstance(out, Spatial)
        steps = [
            Step("channels", " + ".join(num(s.channels) for s in outputs), num(out.channels)),
            Step("output", "", out.hwc()),
        ]
        why = (
            f"concat stacks the branches' feature maps along the channel axis (torch.cat(dim=1)): "
            f"each pixel of the {'x'.join(map(str, out.sizes))} grid gets every branch's channels, one after another, "
            f"so the channels add up while {_axes_words(out)} must be the same in every branch."
        )
        return f"c = c_1 + c_2 + …; {_axes_words(out)} shared", steps, why

    def torch(self, tensors: list) -> Any:
        import torch

        return torch.cat(tensors, dim=1)

    def source(self, terms: list[str]) -> str:
        return f"torch.cat([{', '.join(terms)}], dim=1)"


def _sizes_words(a: Shape, b: Shape) -> str:
    for shape in (a, b):
        if isinstance(shape, Spatial) and shape.rank != 2:
            return and_list(shape.axes)
    return "height and width"


def _rank_words(shape: Shape) -> str:
    return "a vector" if isinstance(shape, Vector) else f"a {shape.rank}-D map"


def _broadcast(a: Shape, b: Shape) -> tuple[int, ...] | None:
    """torch's broadcasting of two samples' shapes (channels first, aligned from the right), or None."""
    ta, tb = a.torch_size(), b.torch_size()
    n = max(len(ta), len(tb))
    ta, tb = (1,) * (n - len(ta)) + ta, (1,) * (n - len(tb)) + tb
    out = []
    for x, y in zip(ta, tb):
        if x != y and 1 not in (x, y):
            return None
        out.append(max(x, y))
    return tuple(out)


def _from_torch(size: tuple[int, ...]) -> Shape:
    return Vector(size[0]) if len(size) == 1 else Spatial(*size[1:], size[0])


class MultiplyRule(MergeRule):
    """Elementwise product with torch's broadcasting: a 1×1×C gate times an H×W×C map (squeeze-excitation,
    LR-ASPP). The product counts no MACs, like `add` (a multiply per value, not a multiply-accumulate)."""

    merge = MergeKind.MULTIPLY
    torch_op = "a * b"

    def combine(self, node: Merge, outputs: list[Shape]) -> Shape:
        size = outputs[0].torch_size()
        for i, other in enumerate(outputs[1:], start=1):
            if len(other.torch_size()) != len(size):
                # torch aligns whole tensors from the right, batch axis included: the smaller tensor's batch
                # axis would meet an axis of one sample of the other, and the product's shape would change
                # with the batch size ((N, 4, 1, 1) times (N, 4) is (4, 1, 4) per sample at N = 1, (4, 2, 4) at N = 2)
                raise MergeProblem(
                    f"multiply needs branches of the same rank: torch aligns whole tensors from the right, so the batch axis of the smaller one "
                    f"would meet an axis of the other; "
                    f"{describe_branch(node, 0)} gives {_from_torch(size).hwc()} ({_rank_words(_from_torch(size))}) "
                    f"but {describe_branch(node, i)} gives {other.hwc()} ({_rank_words(other)})",
                    hint="make the gate a map of the same rank as the other branch: 1x1xC, from global pooling and 1x1 convs, "
                    "or `unflatten: {shape: 1x1xC}` after an fc",
                    layer=node.path or None,
                    pos=node.pos,
                )
            joined = _broadcast(_from_torch(size), other)
            if joined is None:
                raise MergeProblem(
                    f"multiply broadcasts as torch does (sizes equal or 1, channels first, from the right); "
                    f"{describe_branch(node, 0)} gives {_from_torch(size).hwc()} but {describe_branch(node, i)} gives {other.hwc()}",
                    hint="a gate is usually 1x1xC: global pooling and 1x1 convs (or fc with 1x1 maps) down to the same channels",
                    layer=node.path or None,
                    pos=node.pos,
                )
            size = joined
        return _from_torch(size)

    def derive(self, outputs: list[Shape], out: Shape) -> tuple[str, list[Step], str]:
        why = (
            "multiply takes the product value by value; a size of 1 is repeated to match the other branch "
            "(torch's broadcasting), so a 1x1xC gate scales every position of each channel by its own factor."
        )
        return "output = branch 1 × branch 2 × … elementwise, broadcast", [Step("output", "", out.hwc())], why

    def torch(self, tensors: list) -> Any:
        product = tensors[0]
        for other in tensors[1:]:
            product = product * other
        return product

    def source(self, terms: list[str]) -> str:
        return " * ".join(terms)


MERGES: dict[MergeKind, MergeRule] = {rule.merge: rule for rule in (AddRule(), ConcatRule(), MultiplyRule())}
