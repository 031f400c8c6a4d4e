"""What `cnncalc import` reads from a model, whatever the source (torch.fx or ONNX): a graph of layers,
and the one step that turns it into a spec's nested items.

A `Step` is one computation: a layer (a cnncalc kind with its options) or a merge (add, concat,
multiply) of two or more earlier steps. `structure` rebuilds sequences and merges from the graph's
dominators: a merge's branches are the chains from the step that dominates it (where they split) to
each of its inputs; an input that is that step itself is an identity branch. Every series-parallel
network (ResNet, MobileNet, EfficientNet, Inception, DenseNet) comes out as the spec a person would
write; a skip that crosses a merge (U-Net) nests the layers between inside the branch, which computes
the same rows.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Imported(NamedTuple):
    """What an importer read: the main path's items, the side outputs, what it could not map, the input
    (one sample, torch's order)."""

    items: list[Any]
    sides: list[Any]
    unsupported: list[str]
    input_size: tuple[int, ...]
    classes: dict[str, str] = {}  # module path -> its class's name (torch.fx), to name the spec's blocks


class Step(NamedTuple):
    id: int
    path: str
    kind: str  # a cnncalc kind (`conv`), or `add` / `concat` / `multiply`
    options: dict[str, Any]
    inputs: tuple[int, ...]  # ids of the steps it reads (0: the network's input)


class Leaf(NamedTuple):
    path: str
    kind: str
    options: dict[str, Any]


class MergeItem(NamedTuple):
    path: str
    kind: str
    branches: tuple[tuple[Any, ...], ...]


class SideItem(NamedTuple):
    """A side output: `items` computed from the output of the step at `source` (its path)."""

    path: str
    source: str
    items: tuple[Any, ...]


MERGE_KINDS = ("add", "concat", "multiply")


def structure(steps: dict[int, Step], output: int, sides: tuple[int, ...] = ()) -> tuple[list[Any], list[SideItem], list[str]]:
    """The items that compute `output` from the input (id 0), nested by the graph's dominators; then each
    further output as a side output from the last step of the main path it depends on; and what could
    not be placed (a side output whose layers share no module path)."""
    steps, alias = _nested_concats(steps)
    output = alias.get(output, output)
    sides = tuple(alias.get(o, o) for o in sides)
    order = {0: 0}
    for index, step_id in enumerate(steps, start=1):
        order[step_id] = index
    idom: dict[int, int] = {0: 0}
    emitted: set[int] = set()
    problems: list[str] = []

    def intersect(a: int, b: int) -> int:
        while a != b:
            while order[a] > order[b]:
                a = idom[a]
            while order[b] > order[a]:
                b = idom[b]
        return a

    for step in steps.values():  # topological order: one pass finds the immediate dominators of a DAG
        dominator = step.inputs[0]
        for other in step.inputs[1:]:
            dominator = intersect(dominator, other)
        idom[step.id] = dominator

    def sequence(start: int, end: int) -> list[Any]:
        chain = []
        node = end
        while node != start:
            chain.append(node)
            node = idom[node]
        items: list[Any] = []
        for step_id in reversed(chain):
            step = steps[step_id]
            if step_id in emitted:  # one output read by merges that do not nest (not series-parallel): stop here
                problems.append(f"{step.path}: its output is read by merges that do not nest inside one another")
                return items
            emitted.add(step_id)
            if step.kind in MERGE_KINDS:
                fork = idom[step_id]
                branches = tuple(tuple(sequence(fork, source)) for source in step.inputs)
                items.append(MergeItem(step.path, step.kind, branches))
            else:
                items.append(Leaf(step.path, step.kind, step.options))
        return items

    main = sequence(0, output)
    on_main = {item.path for item in _flatten(main)}
    path_of = {step.id: step.path for step in steps.values()}
    side_items: list[SideItem] = []
    for extra in sides:
        if extra in (0, output) or path_of.get(extra) in on_main:
            continue
        fork = idom[extra]
        while fork != 0 and path_of[fork] not in on_main:
            fork = idom[fork]
        items = sequence(fork, extra)
        paths = [item.path for item in _flatten(items)]
        firsts = {p.split(".")[0] for p in paths}
        if fork == 0 or len(firsts) != 1 or any("." not in p for p in paths):
            problems.append(f"a side output ({path_of[extra]}) whose layers share no module of their own")
            continue
        side_items.append(SideItem(firsts.pop(), path_of[fork], tuple(items)))
    return main, side_items, problems


def _nested_concats(steps: dict[int, Step]) -> tuple[dict[int, Step], dict[int, int]]:
    """torchvision's DenseNet concatenates the list of every earlier feature map in each layer,
    cat(f0, …, fk); a spec (and the paper) grows one concat at a time. A concat whose inputs but the last
    are exactly an earlier concat's inputs reads that concat instead; a concat of one tensor is that tensor."""
    result: dict[int, Step] = {}
    by_inputs: dict[tuple[int, ...], int] = {}
    alias: dict[int, int] = {}
    for step_id, step in steps.items():
        inputs = tuple(alias.get(i, i) for i in step.inputs)
        if step.kind == "concat":
            if len(inputs) == 1:
                alias[step_id] = inputs[0]
                continue
            if len(inputs) > 2 and inputs[:-1] in by_inputs:
                by_inputs[inputs] = step_id
                inputs = (by_inputs[inputs[:-1]], inputs[-1])
            else:
                by_inputs[inputs] = step_id
        result[step_id] = step._replace(inputs=inputs)
    return result, alias


def _flatten(items: list[Any] | tuple[Any, ...]):
    for item in items:
        yield item
        if isinstance(item, MergeItem):
            for branch in item.branches:
                yield from _flatten(branch)


def unique_paths(calls: list[str]) -> list[str]:
    """Paths for the calls of modules in order: a module run k times (torchvision's ResNet reuses one
    ReLU) names its calls name1 … name(k−1) and keeps its own name for the last, whose output is its output."""
    counts: dict[str, int] = {}
    for path in calls:
        counts[path] = counts.get(path, 0) + 1
    seen: dict[str, int] = {}
    result = []
    for path in calls:
        seen[path] = seen.get(path, 0) + 1
        result.append(path if seen[path] == counts[path] else f"{path}{seen[path]}")
    return result
