"""Expanding a spec's layers: blocks with their arguments, `repeat`, branches, `from:`, side outputs.

`Expander.items` turns the YAML list of a spec's `layers` into the frozen nodes of
`cnncalc.model.layers`, each built by its layer kind, with its torch-style path. It evaluates
`$expressions` (block arguments, `$in`, `$index`), checks every option through the kind's schema,
and bounds the work (layers, steps, nesting) so that no spec can make it run away.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, Iterator

from cnncalc.enums import MergeKind, StructureKind
from cnncalc.errors import CnnCalcError, LimitProblem, MergeProblem, SourcePos, SpecProblem
from cnncalc.kinds.merge import MERGES
from cnncalc.kinds.options import REQUIRED, Bad, non_negative
from cnncalc.kinds.registry import ALIASES, KINDS, LAYER_WORDS, kind_of, kinds_hint
from cnncalc.model.layers import DEFAULT_RANK, Merge, Node, Sequential, Side, placed
from cnncalc.model.shapes import Shape, Spatial
from cnncalc.spec import expressions
from cnncalc.spec.safe_yaml import YList, YMap
from cnncalc.words import and_list, listing, quote, show, suggest, suggest_paths, word

# Limits on what one spec may ask for, so that any file, however hostile, is answered within about
# a second and little memory (README "When something is wrong"; tests/test_hostile.py measures them).
# The YAML-level limits (values, nesting depth, key length, digits) live in cnncalc.spec.safe_yaml.
MAX_LAYERS = 250_000  # layers and groups after expanding blocks and repeats (the 10,000-layer CNNs of Xiao et al. 2018 are 20,000; 100,000-layer specs are benchmarked)
MAX_EXPANSION_STEPS = 600_000  # entries visited while expanding, including ones switched off by `when`
MAX_NESTING = 64

TOP_LEVEL_KEYS = ("name", "description", "reference", "task", "input", "layout", "blocks", "layers")
COMMON_OPTIONS = ("name", "when")
INCLUDE = "include"  # `- include: {spec: vgg16, path: features, name: backbone}`
INCLUDE_OPTIONS = ("spec", "path")
MAX_INCLUDE_DEPTH = 8  # specs including specs including …: far more than any real reuse, and no cycle gets past it
_INCLUDING: ContextVar[tuple[str, ...]] = ContextVar("including", default=())  # the specs being read, outermost first
# Layer names: what torch accepts as a module name and a path segment can show (RegNet's `block1-0`,
# digits first as nn.Sequential's own). A dot would split the path; spaces and symbols break --layer.
_LAYER_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
RESERVED_ARGS = ("in", "index")  # `$in` is a block's input shape, `$index` a repeat's copy number

_show, _word, _quote, _listing, _suggest = show, word, quote, listing, suggest
_STRUCTURE_WORDS = tuple(str(k) for k in StructureKind)
_LAYER_WORDS = LAYER_WORDS


@dataclass
class Block:
    name: str
    args: dict[str, Any]  # default values; REQUIRED where the use must give one
    layers: YList
    pos: SourcePos


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, (Sequential, Side)):
        return node.children
    if isinstance(node, Merge):
        return tuple(child for branch in node.branches for child in branch)
    return ()


def _find(nodes: tuple[Node, ...], path: str) -> Node | None:
    for node in nodes:
        if node.path == path:
            return node
        if path.startswith(node.path + ".") or isinstance(node, Merge):
            found = _find(_children(node), path)
            if found is not None:
                return found
    return None


def _paths(nodes: tuple[Node, ...]) -> Iterator[str]:
    for node in nodes:
        yield from _paths(_children(node))
        yield node.path


def _names_itself(item: Any) -> bool:
    """Whether a list item gives itself a name (`- conv: {name: conv1, …}`, a named `repeat`)."""
    if not isinstance(item, YMap):
        return False
    if "repeat" in item:
        return "name" in item
    if len(item) != 1:
        return False
    (options,) = item.values()
    return isinstance(options, YMap) and "name" in options


class Namespace:
    """Hands out path segments inside one container: a name if given, else the position, as nn.Sequential."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.count = 0
        self.used: dict[str, SourcePos | None] = {}

    def peek(self, name: str | None) -> str:
        return self._join(name if name is not None else str(self.count))

    def place(self, name: str | None, pos: SourcePos | None, in_repeat: bool = False) -> str:
        segment = name if name is not None else str(self.count)
        self.count += 1
        if segment in self.used:
            first = self.used[segment]
            where = f" by the layer at line {first.line}" if first is not None else ""
            hint = (
                "a name inside `repeat` is used once per copy: name the repeat instead, or leave the name out"
                if in_repeat
                else "give each layer in the same group (the spec's `layers`, a block, a sequential) its own name"
            )
            raise SpecProblem(
                f"names must be unique within their group; `{segment}` is already taken{where}",
                hint=hint,
                layer=self._join(segment),
                pos=pos,
            )
        self.used[segment] = pos
        return self._join(segment)

    def _join(self, segment: str) -> str:
        return f"{self.prefix}.{segment}" if self.prefix else segment


_PLAIN = (int, float, bool, str, type(None))


def _written_key(options: YMap) -> tuple | None:
    """A layer's options as written, as a dict key; None where the same text may mean different layers
    (an expression, `size_of`, something nested). Each value keeps its type: `1`, `1.0` and `true` are
    equal in Python but not as options."""
    key = []
    for name, raw in options.items():
        if name in COMMON_OPTIONS:
            continue
        cls = raw.__class__
        if cls is YList or cls is list:
            if not all(x.__class__ in _PLAIN and not (x.__class__ is str and "$" in x) for x in raw):
                return None
            raw = tuple((x.__class__, x) for x in raw)
        elif cls not in _PLAIN or (cls is str and "$" in raw) or name == "size_of":
            return None
        key.append((name, cls, raw))
    return tuple(key)


def _value_key(written: str, rank: int, values: dict[str, Any]) -> tuple | None:
    """A layer's checked option values (expressions evaluated, defaults filled in), as a dict key, each value
    with its type down to the items of tuples; None where a value is not hashable."""
    try:
        key = ("values", written, rank, tuple((name, _typed(value)) for name, value in values.items()))
        hash(key)
    except TypeError:
        return None
    return key


def _typed(value: Any) -> Any:
    if value.__class__ is tuple:
        return (tuple, tuple(_typed(v) for v in value))
    return (value.__class__, value)


class Expander:
    def __init__(self, blocks: dict[str, Block], input_shape: Shape | None = None, track_shapes: bool = True, origin: str | None = None) -> None:
        self.blocks = blocks
        self.origin = origin  # the spec file being read: `include:` finds files relative to it
        self.layer_count = 0
        self.steps = 0  # entries and repeat copies visited: bounds the work even where nothing is produced
        self.stack: list[str] = []
        # The shape flowing through the layers as they are built, so that a block can see its input
        # (`$in.channels`) and `kernel: 3` gets the rank of its input. None once a layer fails: the
        # analysis reports that failure in its turn, unless a block needs the shape first.
        self.shape: Shape | None = input_shape if track_shapes else None
        self.shape_error: CnnCalcError | None = None
        self.default_rank = input_shape.rank if isinstance(input_shape, Spatial) else DEFAULT_RANK
        self.input_shape = input_shape
        self.outputs: dict[str, Shape | None] = {}  # finished paths, for `from:`
        self.trainable: list[bool] = []  # `trainable:` of the enclosing groups that say it; the innermost holds
        # Each distinct layer, built once: (kind as written, rank, enclosing `trainable`, options as written)
        # or, where expressions were written, ("values", kind, rank, the values they gave) -> the layer. Its
        # other uses are `placed` copies (see model.layers.placed).
        self.written: dict[tuple, Node] = {}

    # -- shapes while expanding

    def rank(self) -> int:
        return self.shape.rank if isinstance(self.shape, Spatial) else self.default_rank

    def _track(self, compute: Any) -> None:
        """Move the tracked shape on through `compute(shape)`; a failure makes it unknown (the analysis says why)."""
        if self.shape is None:
            return
        try:
            self.shape = compute(self.shape)
        except CnnCalcError as exc:
            self.shape, self.shape_error = None, exc

    def _finished(self, path: str) -> None:
        self.outputs[path] = self.shape

    def block_input(self) -> Any:
        """What `$in` stands for: the tracked shape, or the reason it is unknown."""
        return self.shape if self.shape is not None else _UnknownShape(self.shape_error)

    def _name(self, raw: Any, scope: dict[str, Any], ns: Namespace, pos: SourcePos) -> Any:
        """A name as written, an expression (`$name`), or text with `$(…)` parts (`denselayer$($index + 1)`)."""
        if isinstance(raw, str) and "$" in raw and not expressions.is_expression(raw):
            try:
                return expressions.interpolate(raw, scope)
            except CnnCalcError as exc:
                raise exc.located(layer=ns.peek(None), pos=pos)
        return self.value(raw, scope, ns, pos)

    # -- items

    def items(
        self,
        items: Any,
        pos: SourcePos,
        scope: dict[str, Any],
        ns: Namespace,
        depth: int,
        what: str = "layers",
        in_repeat: bool = False,
    ) -> list[Node]:
        if not isinstance(items, list):
            raise SpecProblem(
                f"`{what}` is a list of layers, one `- kind` per line; got {_show(items)}",
                hint="start each layer on its own line with `- `, e.g. `- conv: {filters: 6, kernel: 5}`",
                layer=ns.prefix or None,
                pos=pos,
            )
        if depth > MAX_NESTING:
            raise LimitProblem(
                f"blocks nest more than {MAX_NESTING} levels deep",
                hint="flatten the structure; a deep network is a repeat, not a deep nesting",
                layer=ns.prefix or None,
                pos=pos,
            )
        nodes: list[Node] = []
        positions = getattr(items, "item_pos", None) or [pos] * len(items)
        for item, item_pos in zip(items, positions):
            self._step(ns, item_pos)
            nodes.extend(self.item(item, item_pos, scope, ns, depth, in_repeat))
        return nodes

    def item(
        self, item: Any, pos: SourcePos, scope: dict[str, Any], ns: Namespace, depth: int, in_repeat: bool
    ) -> list[Node]:
        if isinstance(item, str) and not expressions.is_expression(item):
            return self.kinded(item, YMap(), pos, pos, scope, ns, depth, in_repeat)
        if isinstance(item, YMap):
            if "repeat" in item:
                item, trainable = self._group_trainable(item, scope, ns)
                with self._freezing(trainable):
                    return self.repeat(item, scope, ns, depth, in_repeat)
            if len(item) != 1:
                return self._several_keys(item, ns)
            (kind, options), = item.items()
            kind_pos = item.key_pos[kind]
            if options is None:
                options = YMap()
            if isinstance(options, YMap) and "trainable" in options and self._is_group(kind):
                options, trainable = self._group_trainable(options, scope, ns)
                with self._freezing(trainable):
                    return self.kinded(kind, options, kind_pos, item.pos, scope, ns, depth, in_repeat)
            if not isinstance(options, YMap):
                raise SpecProblem(
                    f"the options of `{kind}` are a mapping of names to values; got {_show(options)}",
                    hint=f"write e.g. `- {kind}: {{{_example_options(kind, self.blocks)}}}`",
                    layer=ns.peek(None),
                    pos=kind_pos,
                )
            return self.kinded(kind, options, kind_pos, item.pos, scope, ns, depth, in_repeat)
        raise SpecProblem(
            f"each entry of `layers` is a layer kind such as `relu` or a mapping such as `conv: {{filters: 6, kernel: 5}}`; got {_show(item)}",
            hint="start each layer with `- ` followed by its kind",
            layer=ns.peek(None),
            pos=pos,
        )

    def _several_keys(self, item: YMap, ns: Namespace) -> list[Node]:
        keys = list(item)
        kinds = [k for k in keys if k in _LAYER_WORDS or k in _STRUCTURE_WORDS or k in self.blocks]
        if len(kinds) == 1:
            kind = kinds[0]
            stray = [k for k in keys if k != kind]
            raise SpecProblem(
                f"`{_listing(stray)}` sits beside `{kind}` instead of inside its options",
                hint=f"indent the options under the kind: `- {kind}: {{{_listing(f'{k}: …' for k in stray)}}}`",
                layer=ns.peek(None),
                pos=item.key_pos[stray[0]],
            )
        if not keys:
            raise SpecProblem(
                "an empty mapping is not a layer",
                hint="write the layer's kind, e.g. `- relu`",
                layer=ns.peek(None),
                pos=item.pos,
            )
        raise SpecProblem(
            f"a layer entry has exactly one key, its kind; this one has {len(keys)}: {_listing(keys)}",
            hint="put each layer in its own `- ` entry, with its options inside: `- conv: {filters: 6, kernel: 5}`",
            layer=ns.peek(None),
            pos=item.pos,
        )

    def _is_group(self, kind: Any) -> bool:
        """Items that hold layers rather than compute: `trainable: false` on them freezes all they hold.
        (A block that declares an argument `trainable` gets it as that argument.)"""
        if kind in self.blocks:
            return "trainable" not in self.blocks[kind].args
        return kind in (StructureKind.SEQUENTIAL, StructureKind.SIDE, *MERGES, INCLUDE)

    def _group_trainable(self, options: YMap, scope: dict[str, Any], ns: Namespace) -> tuple[YMap, bool | None]:
        """A group's options without `trainable`, and its value (None when not given)."""
        if "trainable" not in options:
            return options, None
        pos = options.key_pos["trainable"]
        value = self.value(options["trainable"], scope, ns, pos)
        if not isinstance(value, bool):
            raise SpecProblem(
                f"`trainable` of a group is true or false; got {_show(value)}",
                hint="`trainable: false` freezes every layer inside (transfer learning: a pretrained backbone)",
                layer=ns.peek(None),
                pos=pos,
            )
        rest = YMap((k, v) for k, v in options.items() if k != "trainable")
        rest.pos = options.pos
        rest.key_pos = {k: p for k, p in options.key_pos.items() if k != "trainable"}
        return rest, value

    @contextmanager
    def _freezing(self, trainable: bool | None) -> Iterator[None]:
        """Inside, layers that do not say `trainable` themselves take the group's: `false` freezes a
        pretrained backbone, a `true` inside it unfreezes a part again (fine-tuning the last stage), as
        torch's `backbone.requires_grad_(False)` then `backbone.layer4.requires_grad_(True)`."""
        if trainable is None:
            yield
            return
        self.trainable.append(trainable)
        try:
            yield
        finally:
            self.trainable.pop()

    def kinded(
        self,
        kind: str,
        options: YMap,
        kind_pos: SourcePos,
        item_pos: SourcePos,
        scope: dict[str, Any],
        ns: Namespace,
        depth: int,
        in_repeat: bool,
    ) -> list[Node]:
        if kind in KINDS or kind in ALIASES:
            return self.layer(kind, options, kind_pos, scope, ns, in_repeat)
        if kind == StructureKind.SEQUENTIAL:
            return self.sequential(options, kind_pos, scope, ns, depth, in_repeat)
        if kind == INCLUDE:
            return self.include(options, kind_pos, scope, ns, in_repeat)
        if kind == StructureKind.SIDE:
            return self.side(options, kind_pos, scope, ns, depth, in_repeat)
        if kind in MERGES:
            return self.merge(MergeKind(kind), options, kind_pos, scope, ns, depth, in_repeat)
        if kind in self.blocks:
            return self.block_use(self.blocks[kind], options, kind_pos, scope, ns, depth, in_repeat)
        if kind in TOP_LEVEL_KEYS and kind != "name":
            raise SpecProblem(
                f"`{kind}` belongs at the top level of the spec, not inside a list of layers",
                hint=f"move `{kind}:` out to the left margin, beside `input:` and `layers:`",
                layer=ns.peek(None),
                pos=kind_pos,
            )
        if kind == StructureKind.REPEAT:
            raise SpecProblem(
                "`repeat` takes a count and the layers to repeat",
                hint="write `- repeat: 3` and, on the next line at the same indent, `  layers: [...]`",
                layer=ns.peek(None),
                pos=kind_pos,
            )
        choices = list(_LAYER_WORDS) + ["sequential", "add", "concat", "repeat", "side"] + list(self.blocks)
        suggestion = _suggest(kind, choices) if isinstance(kind, str) else ""
        defined = f"; this spec's blocks are {_listing(self.blocks)}" if self.blocks else "; define your own under `blocks:`"
        raise SpecProblem(
            f"unknown layer kind `{_word(kind)}`" + (f"; {suggestion}" if suggestion else ""),
            hint=kinds_hint() + defined,
            layer=ns.peek(None),
            pos=kind_pos,
        )

    def _common(self, options: YMap, scope: dict[str, Any], ns: Namespace, kind: str) -> tuple[bool, str | None]:
        """`when` and `name`, which every item takes."""
        when = True
        if "when" in options:
            when = self.value(options["when"], scope, ns, options.key_pos["when"])
            if not isinstance(when, bool):
                raise SpecProblem(
                    f"`when` of {kind} must be true or false; got {_show(when)}",
                    hint="compare block arguments, e.g. `when: $stride > 1`",
                    layer=ns.peek(None),
                    pos=options.key_pos["when"],
                )
        name = None
        if "name" in options:
            raw = options["name"]
            name = self._name(raw, scope, ns, options.key_pos["name"])
            if isinstance(name, int) and not isinstance(name, bool) and name >= 0:
                name = str(name)  # `name: $($index + 1)`: torch's module names are text, digits included
            if not isinstance(name, str) or not _LAYER_NAME.fullmatch(name):
                raise SpecProblem(
                    f"a name is a word of letters, digits, _ and - (torch's module names); got {_show(name)}",
                    hint="e.g. `name: conv1` (a path like layer1.0.conv1 is built from the names, so a name holds no dot)",
                    layer=ns.peek(None),
                    pos=options.key_pos["name"],
                )
        return when, name

    def value(self, raw: Any, scope: dict[str, Any], ns: Namespace, pos: SourcePos, layer: str | None = None) -> Any:
        """An option's value with `$expressions` evaluated, also as the items of a short list such as
        [height, width]; nothing deeper (no option takes nested lists, and YAML aliases can make them cyclic)."""
        if isinstance(raw, list):
            if len(raw) > 4:
                return raw  # no option takes more than 4 numbers: the option's own check says so
            return [self._scalar_value(v, scope, ns, pos, layer) for v in raw]
        return self._scalar_value(raw, scope, ns, pos, layer)

    def _scalar_value(self, raw: Any, scope: dict[str, Any], ns: Namespace, pos: SourcePos, layer: str | None) -> Any:
        if expressions.is_expression(raw):
            try:
                return expressions.evaluate(raw, scope)
            except CnnCalcError as exc:
                raise exc.located(layer=layer or ns.peek(None), pos=pos)
        return raw

    def _step(self, ns: Namespace, pos: SourcePos) -> None:
        self.steps += 1
        if self.steps > MAX_EXPANSION_STEPS:
            raise LimitProblem(
                f"expanding the spec's blocks and repeats takes more than {MAX_EXPANSION_STEPS:,} steps",
                hint="check the `repeat` counts and blocks used many times inside one another, "
                "also where `when` switches the layers off",
                layer=ns.peek(None),
                pos=pos,
            )

    def _count(self, ns: Namespace, pos: SourcePos) -> None:
        self.layer_count += 1
        if self.layer_count > MAX_LAYERS:
            raise LimitProblem(
                f"the spec expands to more than {MAX_LAYERS:,} layers",
                hint="check the `repeat` counts; the largest real networks have a few thousand layers",
                layer=ns.peek(None),
                pos=pos,
            )

    # -- leaves

    def layer(
        self, written: str, options: YMap, pos: SourcePos, scope: dict[str, Any], ns: Namespace, in_repeat: bool
    ) -> list[Node]:
        alias, rank_demanded = (written, ALIASES[written][1]) if written in ALIASES else (None, None)
        kind = ALIASES[written][0] if alias else written
        owner = KINDS[kind]
        when, name = self._common(options, scope, ns, written)
        if not when:
            return []
        self._count(ns, pos)
        path = ns.place(name, pos, in_repeat)
        rank = rank_demanded or self.rank()
        written_key = _written_key(options)
        if written_key is not None:
            written_key = (written, rank, self.trainable[-1] if self.trainable else None, written_key)
        template = self.written.get(written_key) if written_key is not None else None
        node = None
        if template is None:  # not written this way before: check the options, then look for equal values
            values = self._values(written, kind, owner, options, pos, scope, ns, path, rank)
            # Written differently, the same layer: a block's `filters: $width` is 64 in a dozen of its uses.
            value_key = _value_key(written, rank, values) if written_key is None else None
            template = self.written.get(value_key) if value_key is not None else None
            if template is None:
                base = {"path": path, "name": name, "pos": pos, "rank": rank_demanded, "alias": alias}
                node = owner.build(kind, values, base, rank)
                for key in (written_key, value_key):
                    if key is not None:
                        self.written[key] = node
        if node is None:  # checked and built before: only the place differs
            node = placed(template, path=path, name=name, pos=pos)
        if self.shape is not None:  # followed only where a spec reads shapes (`$in`, `size_of`)
            self._track(lambda shape: owner.forward(node, shape).output)
        self._finished(path)
        return [node]

    def _values(
        self, written: str, kind: str, owner: Any, options: YMap, pos: SourcePos, scope: dict[str, Any], ns: Namespace, path: str, rank: int
    ) -> dict[str, Any]:
        """A layer's option values, checked and converted, its defaults filled in."""
        schema = owner.options.get(kind, {})
        aliases = owner.option_aliases.get(kind, {})
        values: dict[str, Any] = {}
        for key, raw in options.items():
            if key in COMMON_OPTIONS:
                continue
            target = aliases.get(key, key)
            if target not in schema:
                suggestion = _suggest(key, list(schema) + list(aliases) + list(COMMON_OPTIONS))
                known = ", ".join(list(schema) + list(COMMON_OPTIONS))
                raise SpecProblem(
                    f"{written} has no option `{key}`" + (f"; {suggestion}" if suggestion else ""),
                    hint=f"{written} takes: {known}",
                    layer=path,
                    pos=options.key_pos[key],
                )
            if target in values:
                raise SpecProblem(
                    f"`{key}` and `{target}` are the same option of {written}",
                    hint="keep one of them",
                    layer=path,
                    pos=options.key_pos[key],
                )
            value = self.value(raw, scope, ns, options.key_pos[key], layer=path)
            converter = schema[target][0]
            try:
                values[target] = converter(value, rank)
            except Bad as bad:
                raise SpecProblem(
                    f"`{key}` of {written} must be {bad.expected}; got {_show(value)}",
                    hint=bad.hint,
                    layer=path,
                    pos=options.key_pos[key],
                ) from None
        for key, (_, default) in schema.items():
            if key not in values:
                if default is REQUIRED:
                    raise SpecProblem(
                        f"{written} needs `{key}`",
                        hint=f"e.g. `- {written}: {{{_example_options(kind, self.blocks)}}}`",
                        layer=path,
                        pos=pos,
                    )
                values[key] = default
        if self.trainable and "trainable" in values and "trainable" not in options:
            values["trainable"] = self.trainable[-1]  # the innermost enclosing group's `trainable:`
        if values.get("size_of") is not None:
            values["size"] = self._size_of(values["size_of"], ns, options.key_pos["size_of"])
        return values

    # -- structure

    def _group(
        self, what: str, needs: str, example: str, options: YMap, pos: SourcePos, scope: dict[str, Any], ns: Namespace, depth: int, in_repeat: bool,
        keys: tuple[str, ...] = ("layers",),
    ) -> tuple[str, str | None, list[Node], str | None] | None:
        """A named group of layers (`sequential`, `side`): its path, name, children and the path it reads
        (`from:`, sides only); None when `when` is false."""
        self._only(options, (*keys, *COMMON_OPTIONS), what, ns, pos)
        when, name = self._common(options, scope, ns, what)
        if not when:
            return None
        source = self._source(options, scope, ns) if "from" in options else None  # a side on an earlier output
        if source is not None:
            self.shape, self.shape_error = self.outputs[source], None
        if "layers" not in options:
            raise SpecProblem(needs, hint=example, layer=ns.peek(name), pos=pos)
        self._count(ns, pos)
        path = ns.place(name, pos, in_repeat)
        children = self.items(options["layers"], options.key_pos["layers"], scope, Namespace(path), depth + 1)
        self._finished(path)
        return path, name, children, source

    def sequential(
        self, options: YMap, pos: SourcePos, scope: dict[str, Any], ns: Namespace, depth: int, in_repeat: bool
    ) -> list[Node]:
        group = self._group(
            "sequential", "sequential needs `layers`", "e.g. `- sequential: {name: features, layers: [...]}`",
            options, pos, scope, ns, depth, in_repeat,
        )
        if group is None:
            return []
        path, name, children, _ = group
        return [Sequential(path=path, name=name, pos=pos, label="sequential", children=tuple(children))]

    def side(
        self, options: YMap, pos: SourcePos, scope: dict[str, Any], ns: Namespace, depth: int, in_repeat: bool
    ) -> list[Node]:
        """`- side: {name: aux1, layers: [...]}`: a head on the current tensor (or `from:` an earlier one);
        the main path goes on unchanged."""
        shape, error = self.shape, self.shape_error
        group = self._group(
            "side", "side needs `layers`, the head computed from the current tensor",
            "e.g. `- side: {name: aux1, layers: [global_avgpool, fc: {units: 10}]}`",
            options, pos, scope, ns, depth, in_repeat, keys=("layers", "from"),
        )
        self.shape, self.shape_error = shape, error
        if group is None:
            return []
        path, name, children, source = group
        return [Side(path=path, name=name, pos=pos, children=tuple(children), source=source)]

    def repeat(self, item: YMap, scope: dict[str, Any], ns: Namespace, depth: int, in_repeat: bool) -> list[Node]:
        pos = item.key_pos["repeat"]
        self._only(item, ("repeat", "layers", *COMMON_OPTIONS), "repeat", ns, pos)
        when, name = self._common(item, scope, ns, "repeat")
        if not when:
            return []
        times = self.value(item["repeat"], scope, ns, pos, layer=ns.peek(name))
        try:
            times = non_negative(times)
        except Bad:
            raise SpecProblem(
                f"`repeat` is how many copies to make, a whole number ≥ 0; got {_show(times)}",
                hint="e.g. `- repeat: 3`",
                layer=ns.peek(name),
                pos=pos,
            ) from None
        if "layers" not in item:
            raise SpecProblem(
                "`repeat` needs `layers`, the layers to repeat",
                hint="write `layers:` on the next line, at the same indent as `repeat:`",
                layer=ns.peek(name),
                pos=pos,
            )
        if times > MAX_LAYERS:
            raise LimitProblem(
                f"`repeat: {times:,}` would make more than {MAX_LAYERS:,} layers",
                hint="check the count; the largest real networks have a few thousand layers",
                layer=ns.peek(name),
                pos=pos,
            )
        target = ns
        container_path = None
        if name is not None:
            self._count(ns, pos)
            container_path = ns.place(name, pos, in_repeat)
            target = Namespace(container_path)
        nodes: list[Node] = []
        for index in range(times):
            self._step(ns, pos)
            copy_scope = {**scope, "index": index}  # `$index`: the copy's number, from 0
            nodes.extend(
                self.items(item["layers"], item.key_pos["layers"], copy_scope, target, depth + 1, "layers", in_repeat=True)
            )
        if container_path is not None:
            self._finished(container_path)
            return [Sequential(path=container_path, name=name, pos=pos, label="repeat", children=tuple(nodes))]
        return nodes

    def merge(
        self,
        merge: MergeKind,
        options: YMap,
        pos: SourcePos,
        scope: dict[str, Any],
        ns: Namespace,
        depth: int,
        in_repeat: bool,
    ) -> list[Node]:
        self._only(options, ("branches", *COMMON_OPTIONS), str(merge), ns, pos)
        when, name = self._common(options, scope, ns, str(merge))
        if not when:
            return []
        branches = options.get("branches")
        example = "branches: [[conv: {filters: 64, kernel: 3, padding: 1}], []]"
        if not isinstance(branches, list) or len(branches) < 2:
            got = "no `branches`" if branches is None else f"{_show(branches)}"
            raise SpecProblem(
                f"{merge} needs `branches`, a list of two or more branches; got {got}",
                hint=f"each branch is a list of layers ([] is the identity), e.g. `{example}`",
                layer=ns.peek(name),
                pos=pos,
            )
        self._count(ns, pos)
        result: list[tuple[Node, ...]] = []
        sources: list[str | None] = []
        start, start_error = self.shape, self.shape_error
        outputs: list[Shape | None] = []
        # A branch written as a list with an unnamed layer in it becomes a group of its own, `branchN`
        # under the merge's path (torchvision's Inception: Mixed_5b.branch1x1.conv): the table shows the
        # branches side by side, and their layers take no positions of the enclosing list. A branch whose
        # layers are all named keeps them beside the merge (ResNet's conv1, bn1, … in layer1.0).
        grouped = [isinstance(b, list) and len(b) > 0 and not all(_names_itself(item) for item in b) for b in branches]
        path = ns.place(name, pos, in_repeat) if any(grouped) else None
        for index, (branch, branch_pos) in enumerate(zip(branches, branches.item_pos)):
            self.shape, self.shape_error = start, start_error
            if grouped[index]:
                nodes, source = self.numbered_branch(branch, branch_pos, f"{path}.branch{index}", scope, depth, in_repeat), None
            else:
                nodes, source = self.branch(branch, branch_pos, scope, ns, depth, in_repeat)
            result.append(tuple(nodes))
            sources.append(source)
            outputs.append(self.shape)
        if path is None:
            path = ns.place(name, pos, in_repeat)
        node = Merge(path=path, name=name, pos=pos, merge=merge, branches=tuple(result), sources=tuple(sources))
        if any(o is None for o in outputs):
            self.shape = None
        else:
            self.shape = start
            self._track(lambda _: MERGES[merge].combine(node, outputs))  # type: ignore[arg-type]
        self._finished(path)
        return [node]

    def numbered_branch(self, layers: Any, pos: SourcePos, path: str, scope: dict[str, Any], depth: int, in_repeat: bool) -> list[Node]:
        """An unnamed list branch as the group `path` (…`.branchN`), its layers numbered from 0 inside it."""
        self._count(Namespace(path), pos)
        children = self.items(layers, pos, scope, Namespace(path), depth + 1, "branches", in_repeat=in_repeat)
        self._finished(path)
        return [Sequential(path=path, name=path.rsplit(".", 1)[-1], pos=pos, label="branch", children=tuple(children))]

    def branch(
        self, branch: Any, pos: SourcePos, scope: dict[str, Any], ns: Namespace, depth: int, in_repeat: bool
    ) -> tuple[list[Node], str | None]:
        """A branch's layers and the path it reads (`from:`), None for the merge's input."""
        if isinstance(branch, YMap) and "trainable" in branch:
            branch, trainable = self._group_trainable(branch, scope, ns)
            with self._freezing(trainable):
                return self.branch(branch, pos, scope, ns, depth, in_repeat)
        if isinstance(branch, YMap):
            if "layers" not in branch and "from" not in branch:
                raise SpecProblem(
                    "a branch is a list of layers, or a mapping with `layers` (and optional `name`, `when`, `from`)",
                    hint="e.g. `- {name: downsample, layers: [conv: {filters: 256, kernel: 1}]}`, or `- []` for the identity",
                    layer=ns.peek(None),
                    pos=pos,
                )
            self._only(branch, ("layers", "from", *COMMON_OPTIONS), "a branch", ns, pos)
            when, name = self._common(branch, scope, ns, "a branch")
            source = self._source(branch, scope, ns) if "from" in branch else None
            if not when:
                return [], None  # a branch switched off is the identity
            if source is not None:
                self.shape, self.shape_error = self.outputs[source], None
            layers = branch.get("layers", YList())
            layers_pos = branch.key_pos.get("layers", pos)
            if not hasattr(layers, "item_pos") and isinstance(layers, list):
                layers = YList(layers)
                layers.item_pos = [layers_pos] * len(layers)  # type: ignore[attr-defined]
            if name is None:
                return self.items(layers, layers_pos, scope, ns, depth + 1, in_repeat=in_repeat), source
            self._count(ns, pos)
            path = ns.place(name, pos, in_repeat)
            children = self.items(layers, layers_pos, scope, Namespace(path), depth + 1)
            self._finished(path)
            return [Sequential(path=path, name=name, pos=pos, label="branch", children=tuple(children))], source
        return self.items(branch, pos, scope, ns, depth + 1, "branches", in_repeat=in_repeat), None

    def _size_of(self, source: str, ns: Namespace, pos: SourcePos) -> tuple[int, ...]:
        """The spatial size of an earlier layer's output (`upsample: {size_of: PATH}`), or of the network's
        input (`size_of: input`, unless a layer is called so): segmentation heads that end at the input's size."""
        if source == "input" and source not in self.outputs and isinstance(self.input_shape, Spatial):
            return self.input_shape.sizes
        if source not in self.outputs:
            last = source.rsplit(".", 1)[-1]
            close = [p for p in self.outputs if p.rsplit(".", 1)[-1] == last] or _close_paths(source, list(self.outputs))
            raise SpecProblem(
                f"`size_of: {_word(source)}` must name a layer or group that comes before; no earlier path is `{_word(source)}`"
                + (f"; did you mean `{close[0]}`?" if close else ""),
                hint="a path is the names from the top down, joined by dots (`backbone.layer4`)",
                layer=ns.peek(None),
                pos=pos,
            )
        shape = self.outputs[source]
        if shape is None and self.shape_error is not None:
            raise self.shape_error
        if not isinstance(shape, Spatial):
            raise SpecProblem(
                f"`size_of: {_word(source)}` takes the size of a feature map, but that layer's output is a vector",
                hint="name a layer whose output has a height and a width",
                layer=ns.peek(None),
                pos=pos,
            )
        return shape.sizes

    def _source(self, branch: YMap, scope: dict[str, Any], ns: Namespace) -> str:
        """The path a `from:` names: a layer or group that is finished when the merge starts."""
        pos = branch.key_pos["from"]
        source = self.value(branch["from"], scope, ns, pos)
        if not isinstance(source, str) or not source:
            raise SpecProblem(
                f"`from` names an earlier layer or group by its path; got {_show(source)}",
                hint="e.g. `from: down3` or `from: layer1.0.conv2`, as `cnncalc table` shows the paths",
                layer=ns.peek(None),
                pos=pos,
            )
        if source not in self.outputs:
            last = source.rsplit(".", 1)[-1]
            matches = [p for p in self.outputs if p.rsplit(".", 1)[-1] == last]
            close = matches or _close_paths(source, list(self.outputs))
            suggestion = f"; did you mean `{close[0]}`?" if close else ""
            raise MergeProblem(
                f"`from: {_word(source)}` must name a layer or group that comes before this merge; "
                f"no earlier path is `{_word(source)}`{suggestion}",
                hint="a path is the names from the top down, joined by dots (`features.denseblock1`, `layer1.0.conv2`)",
                layer=ns.peek(None),
                pos=pos,
            )
        return source

    def block_use(
        self,
        block: Block,
        options: YMap,
        pos: SourcePos,
        scope: dict[str, Any],
        ns: Namespace,
        depth: int,
        in_repeat: bool,
    ) -> list[Node]:
        if block.name in self.stack:
            cycle = " → ".join([*self.stack[self.stack.index(block.name):], block.name])
            raise SpecProblem(
                f"block `{block.name}` uses itself ({cycle}), which would never end",
                hint="a block may use other blocks, but not itself, directly or through others",
                layer=ns.peek(None),
                pos=pos,
            )
        when, name = self._common(options, scope, ns, block.name)
        if not when:
            return []
        bound: dict[str, Any] = {}
        for key, raw in options.items():
            if key in COMMON_OPTIONS:
                continue
            if key not in block.args:
                suggestion = _suggest(key, list(block.args))
                known = _listing(block.args) or "no arguments"
                raise SpecProblem(
                    f"block `{block.name}` has no argument `{key}`" + (f"; {suggestion}" if suggestion else ""),
                    hint=f"{block.name} takes: {known} (declared under its `args:`)",
                    layer=ns.peek(name),
                    pos=options.key_pos[key],
                )
            bound[key] = self.value(raw, scope, ns, options.key_pos[key], layer=ns.peek(name))
        for key, default in block.args.items():
            if key not in bound:
                if default is REQUIRED:
                    raise SpecProblem(
                        f"block `{block.name}` needs the argument `{key}`",
                        hint=f"write `- {block.name}: {{{key}: …}}`",
                        layer=ns.peek(name),
                        pos=pos,
                    )
                bound[key] = default
        bound["in"] = self.block_input()  # `$in`: the shape this use of the block receives
        self._count(ns, pos)
        path = ns.place(name, pos, in_repeat)
        self.stack.append(block.name)
        try:
            children = self.items(block.layers, block.layers.pos, bound, Namespace(path), depth + 1)
        except CnnCalcError as exc:
            # The error points into the block's definition; say which use of the block it came from, once.
            if exc.pos is None:
                raise
            raise exc.in_use(path, block.name, pos.line) from None
        finally:
            self.stack.pop()
        self._finished(path)
        return [Sequential(path=path, name=name, pos=pos, label=block.name, children=tuple(children))]

    # -- include

    def include(self, options: YMap, pos: SourcePos, scope: dict[str, Any], ns: Namespace, in_repeat: bool) -> list[Node]:
        """`- include: {spec: vgg16, path: features, name: backbone}`: a group of another spec (a bundled
        name or a file, relative to this one), as that spec builds it, under this spec's path `name`.
        Without `path`, all of its layers. Paths inside are renamed (features.0 → backbone.0), `from:`
        edges inside move with them, and errors about its layers point at the `include` line."""
        self._only(options, (*INCLUDE_OPTIONS, *COMMON_OPTIONS), INCLUDE, ns, pos)
        when, name = self._common(options, scope, ns, INCLUDE)
        if not when:
            return []
        if "spec" not in options:
            raise SpecProblem(
                "include needs `spec`, a bundled model's name or a spec file",
                hint="e.g. `- include: {spec: vgg16, path: features, name: backbone}`",
                layer=ns.peek(name),
                pos=pos,
            )
        source = self.value(options["spec"], scope, ns, options.key_pos["spec"])
        wanted = self.value(options["path"], scope, ns, options.key_pos["path"]) if "path" in options else None
        for key, value in (("spec", source), ("path", wanted)):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise SpecProblem(
                    f"`{key}` of include is {'a bundled name or a file' if key == 'spec' else 'a dotted path in that spec'}; got {_show(value)}",
                    hint="e.g. `- include: {spec: vgg16, path: features, name: backbone}`",
                    layer=ns.peek(name),
                    pos=options.key_pos[key],
                )
        network = self._included_network(source.strip(), ns.peek(name), options.key_pos["spec"])
        if wanted is None:
            found: tuple[Node, ...] = network.layers
            old_prefix = ""
        else:
            wanted = wanted.strip()
            node = _find(network.layers, wanted)
            if node is None:
                paths = list(_paths(network.layers))
                close = suggest_paths(wanted, paths)
                meant = and_list([f"`{c}`" for c in close], "or")
                raise SpecProblem(
                    f"{_word(source)} has no path `{_word(wanted)}`" + (f"; did you mean {meant}?" if close else ""),
                    hint=f"`cnncalc table {_word(source)} --paths` lists its paths",
                    layer=ns.peek(name),
                    pos=options.key_pos["path"],
                )
            found = node.children if isinstance(node, Sequential) else (node,)
            old_prefix = wanted if isinstance(node, Sequential) else wanted.rsplit(".", 1)[0] if "." in wanted else ""
        self._count(ns, pos)
        path = ns.place(name, pos, in_repeat)
        children = tuple(self._moved(node, old_prefix, path, pos, source) for node in found)
        group = Sequential(path=path, name=path.rsplit(".", 1)[-1], pos=pos, label=INCLUDE, children=children)
        for child in children:
            self._replay(child)
        self._finished(path)
        return [group]

    def _included_network(self, source: str, layer: str, pos: SourcePos) -> Any:
        from pathlib import Path

        from cnncalc.spec import zoo

        here = Path(self.origin).parent if self.origin and Path(self.origin).is_file() else None
        beside = here / source if here is not None else None
        target = str(beside) if beside is not None and beside.is_file() else source
        identity = str(Path(target).resolve()) if Path(target).is_file() else f"bundled:{source}"
        chain = _INCLUDING.get()
        if identity in chain or len(chain) >= MAX_INCLUDE_DEPTH:
            raise SpecProblem(
                f"`include: {_word(source)}` would read a spec that is already being read (an include cycle)"
                if identity in chain
                else f"includes nest more than {MAX_INCLUDE_DEPTH} specs deep",
                hint="a spec may include others, but never itself, directly or through others",
                layer=layer,
                pos=pos,
            )
        token = _INCLUDING.set((*chain, identity))
        try:
            return zoo.load(target)
        except CnnCalcError as exc:
            raise exc.replaced(uses=(*exc.uses, f"in the spec included by `{layer}` at line {pos.line}" if pos else "in an included spec")) from None
        finally:
            _INCLUDING.reset(token)

    def _moved(self, node: Node, old: str, new: str, pos: SourcePos, source: str) -> Node:
        """`node` of the included spec with its paths under `new` instead of `old`, placed at the include."""

        def move(path: str) -> str:
            if not old:
                return f"{new}.{path}"
            return new + path[len(old) :]

        def inside(path: str | None) -> str | None:
            if path is None:
                return None
            if old and path != old and not path.startswith(old + "."):
                raise SpecProblem(
                    f"the included group reads `{_word(path)}` of {_word(source)} through `from:`, which is outside it",
                    hint="include a group that holds what it reads (a larger `path`, or none for the whole spec)",
                    layer=new,
                    pos=pos,
                )
            return move(path)

        self._count(Namespace(new), pos)
        changes: dict[str, Any] = {"path": move(node.path), "pos": pos}
        if isinstance(node, Sequential):
            changes["children"] = tuple(self._moved(c, old, new, pos, source) for c in node.children)
        elif isinstance(node, Side):
            changes["children"] = tuple(self._moved(c, old, new, pos, source) for c in node.children)
            changes["source"] = inside(node.source)
        elif isinstance(node, Merge):
            changes["branches"] = tuple(tuple(self._moved(c, old, new, pos, source) for c in b) for b in node.branches)
            changes["sources"] = tuple(inside(s) for s in node.sources)
        elif self.trainable and hasattr(node, "trainable"):
            changes["trainable"] = self.trainable[-1]  # `trainable:` of the include or a group around it
        return replace(node, **changes)

    def _replay(self, node: Node) -> None:
        """Carry the tracked shape through an included node and record its outputs, for `from:` and `$in`."""
        if isinstance(node, Sequential):
            for child in node.children:
                self._replay(child)
        elif isinstance(node, Side):
            shape, error = self.shape, self.shape_error
            if node.source is not None:
                self.shape = self.outputs.get(node.source)
            for child in node.children:
                self._replay(child)
            self._finished(node.path)
            self.shape, self.shape_error = shape, error
            return
        elif isinstance(node, Merge):
            start, error = self.shape, self.shape_error
            outputs = []
            for branch, source in zip(node.branches, node.sources):
                self.shape, self.shape_error = (start if source is None else self.outputs.get(source)), error
                for child in branch:
                    self._replay(child)
                outputs.append(self.shape)
            self.shape, self.shape_error = start, error
            if any(o is None for o in outputs):
                self.shape = None
            else:
                self._track(lambda _: MERGES[node.merge].combine(node, outputs))
        else:
            owner = kind_of(node)
            self._track(lambda shape: owner.forward(node, shape).output)
        self._finished(node.path)

    def _only(self, options: YMap, allowed: tuple[str, ...], what: str, ns: Namespace, pos: SourcePos) -> None:
        for key in options:
            if key not in allowed:
                suggestion = _suggest(key, list(allowed))
                raise SpecProblem(
                    f"{what} has no option `{key}`" + (f"; {suggestion}" if suggestion else ""),
                    hint=f"{what} takes: {', '.join(allowed)}",
                    layer=ns.peek(None),
                    pos=options.key_pos.get(key, pos),
                )


_STRUCTURE_EXAMPLES = {
    "sequential": "name: features, layers: [...]",
    "add": "branches: [[...], []]",
    "concat": "branches: [[...], [...]]",
    "side": "name: aux1, layers: [...]",
}


def _example_options(kind: str, blocks: dict[str, Block]) -> str:
    if kind in blocks:
        return _listing(f"{k}: …" for k in blocks[kind].args)
    if kind in ALIASES:
        kind = ALIASES[kind][0]
    if kind in KINDS:
        return KINDS[kind].examples.get(kind, "")
    return _STRUCTURE_EXAMPLES.get(kind, "")


def _close_paths(path: str, paths: list[str]) -> list[str]:
    import difflib

    return difflib.get_close_matches(path, paths[-5000:], n=1, cutoff=0.6)


class _UnknownShape:
    """`$in` where an earlier layer fails: reading it raises that layer's error, the real cause."""

    def __init__(self, error: CnnCalcError | None) -> None:
        self.error = error
