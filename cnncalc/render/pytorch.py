"""A network as PyTorch source (`cnncalc export --to pytorch`): text only, torch is never imported here.

What the file holds, and why:
- Module attribute names are the spec's paths, so `state_dict()` keys are the table's paths plus
  `.weight`/`.bias`/…: for a bundled torchvision model they equal torchvision's and its weights load
  strictly. Each layer's constructor comes from its kind (`Kind.pytorch`, one home per kind).
- A group whose layers run one after another, each under one name of its own (`features`, `downsample`),
  is an `nn.Sequential`, as torchvision writes them; a spec block used more than once that is such a
  chain is a subclass of nn.Sequential named after it (torchvision's Conv2dNormActivation, BasicConv2d).
- A group with merges inside (a residual block, an Inception module) becomes a class of its own, one
  per spec block: the uses of the block are compared and what differs between them (channels, stride)
  becomes the class's constructor arguments, named after the layer and option they set
  (`conv2_stride`). Uses whose structure differs (a block with and without its downsample) get a class each.
- A group that a `from:` reaches into, or that holds a side output, is written out in the forward of
  the class around it, its modules kept in `nn.ModuleDict`/`nn.ModuleList` holders under the same path.
- The network's own class writes the merges (`+`, `torch.cat`, `*`), `from:` reads and side outputs in
  `forward`; side outputs are returned after the main output.
"""

from __future__ import annotations

import keyword
import re
from collections import Counter
from typing import Any, NamedTuple, Union

from cnncalc.core.engine import Analysis
from cnncalc.errors import LimitProblem
from cnncalc.kinds.base import NO_DEFAULT, Source
from cnncalc.kinds.merge import MERGES
from cnncalc.kinds.registry import kind_of
from cnncalc.model.layers import Merge, Node, Sequential, Side

# Attributes nn.Module has already: a layer of this name is added with add_module and read with get_submodule.
_MODULE_ATTRIBUTES = frozenset(
    "add_module apply bfloat16 buffers call_super_init children compile cpu cuda double dump_patches eval extra_repr "
    "float forward get_buffer get_extra_state get_parameter get_submodule half ipu load_state_dict modules mtia "
    "named_buffers named_children named_modules named_parameters parameters register_backward_hook register_buffer "
    "register_forward_hook register_forward_pre_hook register_module register_parameter requires_grad_ set_submodule "
    "share_memory state_dict to to_empty train training type xpu zero_grad".split()
)


# --------------------------------------------------------------------------- module expressions


class Holder(NamedTuple):
    """Modules kept under one name but not run as a chain: nn.ModuleList (keys 0…n−1) or nn.ModuleDict."""

    items: tuple[tuple[str, Expr], ...]

    @property
    def is_list(self) -> bool:
        return [k for k, _ in self.items] == [str(i) for i in range(len(self.items))]


class Chain(NamedTuple):
    """nn.Sequential: the items run in order."""

    items: tuple[tuple[str, Expr], ...]


class Use(NamedTuple):
    """A use of a generated class."""

    instance: Instance


Expr = Union[Source, Holder, Chain, Use]


class Instance:
    """One group written as a class: its attributes (path relative to the group -> expression) and forward."""

    def __init__(self, label: str, attributes: tuple[tuple[str, Expr], ...], forward: list[str], chain: bool = False):
        self.label, self.attributes, self.forward, self.chain = label, attributes, forward, chain
        self.family: Family | None = None

    def skeleton(self) -> tuple:
        return (self.label, self.chain, tuple((name, _skeleton(e)) for name, e in self.attributes), tuple(self.forward))

    def values(self) -> tuple[list[Any], list[tuple[str, str]]]:
        """Every literal of the constructors in order, and two names for each: `conv2_stride` and `stride`."""
        values: list[Any] = []
        names: list[tuple[str, str]] = []
        for name, expr in self.attributes:
            _values(expr, _identifier(name), values, names)
        return values, names


def _skeleton(expr: Expr) -> Any:
    if isinstance(expr, Source):
        return ("call", expr.cls, expr.positional, expr.frozen, tuple((a.name, _skeleton(a.value) if isinstance(a.value, Source) else "#") for a in expr.args))
    if isinstance(expr, (Holder, Chain)):
        return (type(expr).__name__, tuple((k, _skeleton(e)) for k, e in expr.items))
    assert expr.instance.family is not None
    return ("use", id(expr.instance.family))


def _values(expr: Expr, prefix: str, values: list[Any], names: list[tuple[str, str]]) -> None:
    if isinstance(expr, Source):
        for arg in expr.args:
            if isinstance(arg.value, Source):
                _values(arg.value, prefix, values, names)
            else:
                values.append(arg.value)
                names.append((f"{prefix}_{arg.name}", arg.name))
    elif isinstance(expr, (Holder, Chain)):
        for key, item in expr.items:
            _values(item, f"{prefix}_{key}", values, names)
    else:
        family = expr.instance.family
        assert family is not None
        own = expr.instance.values()[0]
        for hole in family.holes:
            values.append(own[hole.position])
            names.append((f"{prefix}_{hole.name}", hole.name))


class Hole(NamedTuple):
    name: str
    position: int  # the first position of the instance's values it stands for
    positions: tuple[int, ...]


class Family:
    """The uses of one block with one structure: one class. Values that differ between uses are its arguments."""

    def __init__(self, key: tuple, first: Instance):
        self.key = key
        self.instances: list[Instance] = [first]
        self.name = ""
        self.holes: list[Hole] = []
        self.inline = False  # written in place as nn.Sequential (a chain block used once), not as a class

    def find_holes(self) -> None:
        vectors = [inst.values()[0] for inst in self.instances]
        names = self.instances[0].values()[1]
        columns: dict[tuple, list[int]] = {}
        for position in range(len(names)):
            column = tuple(repr(v) for v in (vec[position] for vec in vectors))
            if len(set(column)) > 1:
                columns.setdefault(column, []).append(position)
        used: set[str] = set()
        for positions in columns.values():
            long, short = names[positions[0]]  # `stride` where that is the only one, else `conv2_stride`
            name = _unique(short if short not in used else long, used)
            self.holes.append(Hole(name, positions[0], tuple(positions)))
        self.holes.sort(key=lambda h: h.position)

    def hole_at(self) -> dict[int, str]:
        return {p: h.name for h in self.holes for p in h.positions}


def _unique(name: str, used: set[str]) -> str:
    candidate, n = name, 2
    while candidate in used or keyword.iskeyword(candidate):
        candidate, n = f"{name}{n}", n + 1
    used.add(candidate)
    return candidate


def _identifier(path: str) -> str:
    """A Python name for a path: `layer1.0` -> `layer1_0`; one that starts with a digit gets `m`."""
    name = re.sub(r"\W", "_", path.replace(".", "_").replace("-", "_"))
    return f"m{name}" if not name or name[0].isdigit() else name


def class_name(network_name: str) -> str:
    """The exported network's class: `resnet50` -> `Resnet50`, `mobilenet_v3_large` -> `MobilenetV3Large`."""
    return _camel(network_name)


def _camel(text: str) -> str:
    words = [w for w in re.split(r"[^0-9A-Za-z]+", text) if w]
    name = "".join(w[:1].upper() + w[1:] for w in words) or "Block"
    return f"Net{name}" if name[0].isdigit() else name


def _is_attribute(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and name not in _MODULE_ATTRIBUTES


# --------------------------------------------------------------------------- walking the network


class _Network:
    """What every emitter needs: the input shape of each leaf, the `from:` reads, who reads what."""

    def __init__(self, analysis: Analysis):
        self.inputs = {row.path: row.input for row in analysis.rows if not row.is_block}
        self.readers: list[tuple[str, str]] = []  # (source, reader path)
        self._find_readers(analysis.network.layers)
        self.reads = Counter(source for source, _ in self.readers)  # as core.engine.references counts them
        self.instances: list[Instance] = []  # every class use, innermost first
        self.modules: dict[int, Expr] = {}  # id(group) -> its module: a group is built once (a parent may try it as a chain first)

    def _find_readers(self, nodes: tuple[Node, ...]) -> None:
        for node in nodes:
            if isinstance(node, Merge):
                for branch, source in zip(node.branches, node.sources):
                    if source is not None:
                        self.readers.append((source, node.path))
                    self._find_readers(branch)
            elif isinstance(node, (Sequential, Side)):
                if isinstance(node, Side) and node.source is not None:
                    self.readers.append((node.source, node.path))
                self._find_readers(node.children)

    def self_contained(self, group: Sequential) -> bool:
        """Whether the group can be a module of its own: every path inside is under its path, no side
        output inside, and no `from:` crosses its border (its own output may be read)."""
        prefix = group.path + "."
        if not group.path:
            return False
        for node in _descendants(group.children):
            if isinstance(node, Side) or not node.path.startswith(prefix):
                return False
        for source, reader in self.readers:
            inside_reader = reader.startswith(prefix)
            inside_source = source.startswith(prefix)
            if inside_reader != inside_source:
                return False
        return True

    def source_of(self, node: Node) -> Source:
        return kind_of(node).pytorch(node, self.inputs[node.path])


def _descendants(nodes: tuple[Node, ...]):
    for node in nodes:
        yield node
        if isinstance(node, (Sequential, Side)):
            yield from _descendants(node.children)
        elif isinstance(node, Merge):
            for branch in node.branches:
                yield from _descendants(branch)


class _Emitter:
    """The attributes and forward statements of one class, over nodes whose paths start with `base`."""

    def __init__(self, net: _Network, base: str):
        self.net, self.base = net, base
        self.attributes: dict[str, Expr] = {}
        self.lines: list[str] = []
        self.names: set[str] = {"x", "self", "torch", "nn", "F"}
        self.saved: dict[str, str] = {}
        self.sides: list[str] = []

    # ---- names

    def relative(self, path: str) -> str:
        return path[len(self.base) + 1:] if self.base else path

    def fresh(self, wanted: str) -> str:
        return _unique(_identifier(wanted), self.names)

    def access(self, relative: str) -> str:
        """A marker for the module at `relative`, resolved by `resolved_lines` once every attribute is known
        (whether `backbone` holds a list or a dict depends on all of its keys)."""
        return f"\x00{relative}\x00"

    def resolved_lines(self) -> list[str]:
        return [re.sub("\x00([^\x00]*)\x00", lambda m: self._expression(m.group(1)), line) for line in self.lines]

    def _expression(self, relative: str) -> str:
        first, *rest = relative.split(".")
        text = f"self.{first}" if _is_attribute(first) else f"getattr(self, {_literal(first)})"
        prefix = first
        for part in rest:
            if self._holds_parameter(prefix):
                text = f"getattr({text}, {_literal(part)})"
            else:
                text += f"[{part}]" if part.isdigit() and self._in_list(prefix) else f"[{_literal(part)}]"
            prefix = f"{prefix}.{part}"
        return text

    def _holds_parameter(self, prefix: str) -> bool:
        """Whether the holder at `prefix` keeps a parameter itself (then it is a `Holder`, read with getattr)."""
        depth = len(prefix.split("."))
        return any(
            isinstance(expr, Source) and expr.parameter and relative.startswith(prefix + ".") and len(relative.split(".")) == depth + 1
            for relative, expr in self.attributes.items()
        )

    def _in_list(self, prefix: str) -> bool:
        depth = len(prefix.split("."))
        keys = [r.split(".")[depth] for r in self.attributes if r.startswith(prefix + ".")]
        unique = list(dict.fromkeys(keys))
        return unique == [str(i) for i in range(len(unique))]

    def place(self, path: str, expr: Expr) -> str:
        relative = self.relative(path)
        for other in self.attributes:
            if other == relative or other.startswith(relative + ".") or relative.startswith(other + "."):
                raise LimitProblem(
                    f"export gives every layer an attribute named by its path, but `{path}` and `{self.base + '.' + other if self.base else other}` "
                    "would be the same module or one inside the other",
                    hint="name the layers so that no path is a prefix of another",
                    layer=path,
                )
        self.attributes[relative] = expr
        return self.access(relative)

    # ---- statements

    def run(self, nodes: tuple[Node, ...], var: str, target: str) -> str:
        """Statements that compute `nodes` from `var` into `target`; the variable holding the result."""
        for node in nodes:
            var = self.node(node, var, target)
        return var

    def assign(self, target: str, expr: str) -> str:
        self.lines.append(f"{target} = {expr}")
        return target

    def node(self, node: Node, var: str, target: str) -> str:
        if isinstance(node, Merge):
            out = self.merge(node, var, target)
        elif isinstance(node, Side):
            self.side(node, var)
            return var
        elif isinstance(node, Sequential):
            out = self.group(node, var, target)
        else:
            out = self.leaf(node, var, target)
        if node.path in self.net.reads:
            keep = self.fresh(node.path.rsplit(".", 1)[-1] if "." in node.path else node.path)
            self.saved[node.path] = self.assign(keep, out)
        return out

    def leaf(self, node: Node, var: str, target: str) -> str:
        source = self.net.source_of(node)
        if source.cls is None:
            return self.assign(target, source.call.format(x=var))
        module = self.place(node.path, source)
        statement = source.call.format(m=module, x=var)
        if source.note:
            self.lines.append(f"# {source.note}")
        return self.assign(target, statement)

    def group(self, node: Sequential, var: str, target: str) -> str:
        expr = self.module_of(node)
        if expr is None:  # written out here
            return self.run(node.children, var, target)
        return self.assign(target, f"{self.place(node.path, expr)}({var})")

    def module_of(self, node: Sequential) -> Expr | None:
        """The group as one module (nn.Sequential or a class), or None when it must be written out in place."""
        if not self.net.self_contained(node):
            return None
        return _group_module(self.net, node)

    def merge(self, node: Merge, var: str, target: str) -> str:
        terms = []
        for index, (branch, source) in enumerate(zip(node.branches, node.sources)):
            start = var if source is None else self.saved[source]
            if not branch:
                terms.append(start)
                continue
            name = self.fresh("out" if index == 0 else "branch")
            terms.append(self.run(branch, start, name))
        return self.assign(target, MERGES[node.merge].source(terms))

    def side(self, node: Side, var: str) -> None:
        start = var if node.source is None else self.saved[node.source]
        name = self.fresh(node.path.rsplit(".", 1)[-1])
        group = Sequential(path=node.path, children=node.children)
        chain = _chain(self.net, group) if self.net.self_contained(group) else None
        if chain is None:
            self.sides.append(self.run(node.children, start, name))
        else:
            self.sides.append(self.assign(name, f"{self.place(node.path, chain)}({start})"))

    def tree(self) -> tuple[tuple[str, Expr], ...]:
        """The attributes as nested holders: `downsample.0` and `downsample.1` under one `downsample`."""
        root: dict[str, Any] = {}
        for relative, expr in self.attributes.items():
            *parents, last = relative.split(".")
            here = root
            for part in parents:
                here = here.setdefault(part, {})
            here[last] = expr

        def build(level: dict[str, Any]) -> tuple[tuple[str, Expr], ...]:
            return tuple((k, Holder(build(v)) if isinstance(v, dict) else v) for k, v in level.items())

        return build(root)


def _chain(net: _Network, node: Sequential) -> Chain | None:
    """The group as nn.Sequential, if each item runs on the previous one's output under one name of its own."""
    prefix = node.path + "."
    names = [child.path[len(prefix):] if child.path.startswith(prefix) else "" for child in node.children]
    return _chain_of(net, node.children, names)


def _chain_of(net: _Network, children: tuple[Node, ...], names: list[str]) -> Chain | None:
    items: list[tuple[str, Expr]] = []
    for child, name in zip(children, names):
        if not name or "." in name or child.path in net.reads or isinstance(child, (Merge, Side)):
            return None
        if isinstance(child, Sequential):
            if not net.self_contained(child):
                return None
            expr: Expr = _group_module(net, child)
        else:
            expr = net.source_of(child)
            if expr.cls is None or expr.parameter or expr.call != "{m}({x})":
                return None
        items.append((name, expr))
    return Chain(tuple(items)) if items else None


_GENERIC_LABELS = ("sequential", "branch", "side")


def _group_module(net: _Network, node: Sequential) -> Expr:
    """A self-contained group as one module: a use of a spec block that is a chain becomes a subclass of
    nn.Sequential named after the block (torchvision's Conv2dNormActivation, GoogLeNet's BasicConv2d), any
    other chain an nn.Sequential, a group with merges a class of its own."""
    built = net.modules.get(id(node))
    if built is None:
        built = net.modules[id(node)] = _build_group_module(net, node)
    return built


def _build_group_module(net: _Network, node: Sequential) -> Expr:
    chain = _chain(net, node)
    if chain is None:
        return Use(_instance(net, node))
    if node.label in _GENERIC_LABELS:
        return chain
    instance = Instance(node.label, chain.items, [], chain=True)
    net.instances.append(instance)
    return Use(instance)


def _instance(net: _Network, node: Sequential) -> Instance:
    emitter = _Emitter(net, node.path)
    out = emitter.run(node.children, "x", "x")
    emitter.lines.append(f"return {out}")
    label = node.label if node.label not in _GENERIC_LABELS else node.path.rsplit(".", 1)[-1]
    instance = Instance(label, emitter.tree(), emitter.resolved_lines())
    net.instances.append(instance)
    return instance


# --------------------------------------------------------------------------- writing the file

LINE_LENGTH = 88  # ruff format's and black's default: the file passes `ruff format --check` as written


class Bracketed(NamedTuple):
    """`head(item, item, …)` (or `[…]`, `{…}`): what the formatter may split over lines."""

    head: str
    items: tuple[tuple[str, Any], ...]  # (prefix, str | Bracketed): `stride=` + `2`, `"0": ` + a call
    open: str = "("
    close: str = ")"
    explode: bool = False  # written one item per line whatever its length (a magic trailing comma)


def _flat(value: Any) -> str:
    if isinstance(value, str):
        return value
    return f"{value.head}{value.open}{', '.join(prefix + _flat(v) for prefix, v in value.items)}{value.close}"


def format_lines(lead: str, value: Any, tail: str, indent: str) -> list[str]:
    """black's layout of one statement: on one line if it fits; else split at the last bracket with the
    contents on one line of their own if they fit; else one item per line, each with a trailing comma."""
    flat = f"{indent}{lead}{_flat(value)}{tail}"
    if isinstance(value, str) or (len(flat) <= LINE_LENGTH and not value.explode):
        return [flat]
    inner = indent + "    "
    first = f"{indent}{lead}{value.head}{value.open}"
    body = ", ".join(prefix + _flat(v) for prefix, v in value.items)
    if not value.explode and len(inner + body) <= LINE_LENGTH:
        return [first, inner + body, f"{indent}{value.close}{tail}"]
    lines = [first]
    for prefix, item in value.items:
        lines.extend(format_lines(prefix, item, ",", inner))
    lines.append(f"{indent}{value.close}{tail}")
    return lines


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, tuple):
        inner = ", ".join(_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


class _Writer:
    """Module expressions as Bracketed trees, holes written as the class's argument names."""

    def __init__(self, hole_at: dict[int, str] | None = None):
        self.hole_at = hole_at or {}
        self.position = 0

    def expr(self, expr: Expr) -> Any:
        if isinstance(expr, Source):
            return self.call(expr)
        if isinstance(expr, Use):
            family = expr.instance.family
            assert family is not None
            if family.inline:  # a block used once as a chain: a plain nn.Sequential reads better than a class
                return _Writer().expr(Chain(expr.instance.attributes))
            own = expr.instance.values()[0]
            return Bracketed(family.name, tuple((f"{hole.name}=", self.value(own[hole.position])) for hole in family.holes))
        if isinstance(expr, Chain):
            if [k for k, _ in expr.items] == [str(i) for i in range(len(expr.items))]:
                return Bracketed("nn.Sequential", tuple(("", self.expr(e)) for _, e in expr.items), explode=True)
            pairs = tuple(("", Bracketed("", (("", _literal(k)), ("", self.expr(e))))) for k, e in expr.items)
            return Bracketed("nn.Sequential", (("", Bracketed("OrderedDict", (("", Bracketed("", pairs, "[", "]", explode=True)),))),))
        if any(isinstance(e, Source) and e.parameter for _, e in expr.items):
            # nn.ModuleDict takes no parameter: a small holder that keeps both under their names
            pairs = tuple(("", Bracketed("", (("", _literal(k)), ("", self.expr(e))))) for k, e in expr.items)
            return Bracketed("Holder", (("", Bracketed("", pairs, "[", "]", explode=True)),))
        if expr.is_list:
            return Bracketed("nn.ModuleList", (("", Bracketed("", tuple(("", self.expr(e)) for _, e in expr.items), "[", "]", explode=True)),))
        entries = tuple((f"{_literal(k)}: ", self.expr(e)) for k, e in expr.items)
        return Bracketed("nn.ModuleDict", (("", Bracketed("", entries, "{", "}", explode=True)),))

    def value(self, value: Any) -> str:
        """A literal, or the hole's name where the value differs between the uses of the class."""
        name = self.hole_at.get(self.position)
        self.position += 1
        return name if name is not None else _literal(value)

    def call(self, source: Source) -> Any:
        items: list[tuple[str, Any]] = []
        for index, arg in enumerate(source.args):
            if isinstance(arg.value, Source):
                text = self.call(arg.value)
                hole = False
            else:
                hole = self.position in self.hole_at
                text = self.value(arg.value)
                if not hole and arg.default is not NO_DEFAULT and arg.value == arg.default and type(arg.value) is type(arg.default):
                    continue
            items.append(("" if index < source.positional else f"{arg.name}=", text))
        call = Bracketed(source.cls or "", tuple(items))
        return Bracketed("frozen", (("", call),)) if source.frozen else call


_HELPERS = {
    "pad_input": '''
def pad_input(x: torch.Tensor, pad, kernel, stride, dilation, value: float = 0.0) -> torch.Tensor:
    """F.pad with `pad` in F.pad's order (last axis first), or "same": TensorFlow's rule from the input size,
    out = ceil(n / s), total = max((out - 1) * s + (k - 1) * d + 1 - n, 0), the odd unit after."""
    if pad is None:
        return x
    if pad == "same":
        rank = x.dim() - 2
        k, s, d = (v if isinstance(v, tuple) else (v,) * rank for v in (kernel, stride, dilation))
        pairs = []
        for i, n in enumerate(x.shape[2:]):
            total = max((math.ceil(n / s[i]) - 1) * s[i] + (k[i] - 1) * d[i] + 1 - n, 0)
            pairs.append((total // 2, total - total // 2))
        pad = tuple(v for before, after in reversed(pairs) for v in (before, after))
    return F.pad(x, pad, value=value)
''',
    "Padded": '''
class {name}(nn.{base}):
    """nn.{base} after an explicit pad (one side more than the other, or TensorFlow's "same")."""

    def __init__(self, *args, pad, **kwargs):
        super().__init__(*args, **kwargs)
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(pad_input(x, self.pad, self.kernel_size, self.stride, {dilation}, {fill}))
''',
    "MinPool": '''
class {name}(nn.{base}):
    """A min pool: torch has none, so -maxpool(-x), any pad filled with +inf first."""

    def __init__(self, *args, pad=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = pad_input(x, self.pad, self.kernel_size, self.stride, self.dilation, math.inf)
        return -super().forward(-x)
''',
    "Holder": '''
class Holder(nn.Module):
    """Modules and parameters kept under their names (as the spec's paths), not run as a chain."""

    def __init__(self, items):
        super().__init__()
        for name, item in items:
            setattr(self, name, item)
''',
    "frozen": '''
def frozen(module: nn.Module) -> nn.Module:
    """A module whose parameters are not trained (`trainable: false` in the spec)."""
    return module.requires_grad_(False)
''',
    "Permute": '''
class Permute(nn.Identity):
    """torchvision's Permute, as the spec has it; this code keeps maps channels-first throughout
    (LayerNorm2d and PositionLinear move the channels themselves), so it passes x on unchanged."""

    def __init__(self, order):
        super().__init__()
        self.order = order
''',
    "PositionLinear": '''
class PositionLinear(nn.Linear):
    """nn.Linear on the channels of every position of a channels-first map."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.movedim(1, -1)).movedim(-1, 1)
''',
    "LayerNorm2d": '''
class LayerNorm2d(nn.LayerNorm):
    """nn.LayerNorm over the channels of every position of a channels-first map (torchvision's LayerNorm2d)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.movedim(1, -1)).movedim(-1, 1)
''',
    "Crop": '''
class Crop(nn.Module):
    """Cut units off each side (F.pad with negative amounts, last axis first); torchvision's CenterCrop's offsets."""

    def __init__(self, pad):
        super().__init__()
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, self.pad)
''',
}


def _torch_ops_class(name: str) -> str:
    """The source of a class of kinds/torch_ops.py (the tests' reference modules), read from the file:
    importing the module would import torch, which export does not need."""
    import ast
    import importlib.util

    spec = importlib.util.find_spec("cnncalc.kinds.torch_ops")
    assert spec is not None and spec.origin is not None
    with open(spec.origin, encoding="utf-8") as file:
        text = file.read()
    node = next(n for n in ast.parse(text).body if isinstance(n, ast.ClassDef) and n.name == name)
    return ast.get_source_segment(text, node) or ""


def _helper_text(name: str) -> list[tuple[str, str]]:
    """(key, text) of a helper class and what it needs first."""
    if name.startswith("Padded"):
        base = name[len("Padded"):]
        dilation = "1" if base.startswith("AvgPool") else "self.dilation"
        fill = "-math.inf" if base.startswith("MaxPool") else "0.0"
        return [("pad_input", _HELPERS["pad_input"]), (name, _HELPERS["Padded"].format(name=name, base=base, dilation=dilation, fill=fill))]
    if name.startswith("MinPool"):
        return [("pad_input", _HELPERS["pad_input"]), (name, _HELPERS["MinPool"].format(name=name, base=name.replace("Min", "Max")))]
    if name == "StochasticDepth":  # the same class the tests build networks with
        return [(name, _torch_ops_class(name))]
    return [(name, _HELPERS[name])]


def _collect_helpers(exprs, found: dict[str, str]) -> None:
    for expr in exprs:
        if isinstance(expr, Source):
            for helper in (*expr.helpers, *(("frozen",) if expr.frozen else ())):
                for key, text in _helper_text(helper):
                    found.setdefault(key, text)
            _collect_helpers([a.value for a in expr.args if isinstance(a.value, Source)], found)
        elif isinstance(expr, (Holder, Chain)):
            if isinstance(expr, Holder) and any(isinstance(e, Source) and e.parameter for _, e in expr.items):
                found.setdefault("Holder", _HELPERS["Holder"])
            _collect_helpers([e for _, e in expr.items], found)


def _class_lines(name: str, holes: list[Hole], instance: Instance, hole_at: dict[int, str]) -> list[str]:
    writer = _Writer(hole_at)
    if instance.chain:
        value = writer.expr(Chain(instance.attributes))
        lines = [f"class {name}(nn.Sequential):"]
        lines += format_lines("def __init__", Bracketed("", tuple(("", h) for h in ["self", *(h.name for h in holes)])), ":", "    ")
        return lines + format_lines("", Bracketed("super().__init__", value.items), "", "        ")
    lines = [f"class {name}(nn.Module):"]
    lines += format_lines("def __init__", Bracketed("", tuple(("", h) for h in ["self", *(h.name for h in holes)])), ":", "    ")
    lines.append("        super().__init__()")
    for key, expr in instance.attributes:
        value = writer.expr(expr)
        if _is_attribute(key):
            lines += format_lines(f"self.{key} = ", value, "", "        ")
        else:
            method = "register_parameter" if isinstance(expr, Source) and expr.parameter else "add_module"
            lines += format_lines(f"self.{method}", Bracketed("", (("", _literal(key)), ("", value))), "", "        ")
    lines.append("")
    lines.append("    def forward(self, x: torch.Tensor):")
    lines.extend(f"        {line}" for line in instance.forward)
    return lines


def _sequential_class_lines(name: str, chain: Chain) -> list[str]:
    value = _Writer().expr(chain)
    call = Bracketed("super().__init__", value.items)
    return [f"class {name}(nn.Sequential):", "    def __init__(self):", *format_lines("", call, "", "        ")]


def export_pytorch(analysis: Analysis, origin: str, version: str) -> str:
    """The network of `analysis` as the text of a Python module defining one nn.Module class per block."""
    network = analysis.network
    net = _Network(analysis)
    top_name = _camel(network.name)
    top = Sequential(path="", label="network", children=network.layers)
    chain = _top_chain(net, top)
    body: Instance | None = None
    if chain is None:
        emitter = _Emitter(net, "")
        out = emitter.run(network.layers, "x", "x")
        emitter.lines.append(f"return {', '.join([out, *emitter.sides])}")
        body = Instance("network", emitter.tree(), emitter.resolved_lines())
    families = _families(net.instances, reserved={top_name})
    helpers: dict[str, str] = {}
    for instance in net.instances:  # every use, also the blocks written in place
        _collect_helpers([e for _, e in instance.attributes], helpers)
    _collect_helpers([e for _, e in body.attributes] if body is not None else [chain], helpers)

    classes = [_class_lines(f.name, f.holes, f.instances[0], f.hole_at()) for f in families]
    classes.append(_sequential_class_lines(top_name, chain) if chain is not None else _class_lines(top_name, [], body, {}))  # type: ignore[arg-type]
    code = "\n\n\n".join("\n".join(lines) for lines in classes)
    imports = ["import math"] if "pad_input" in helpers else []
    if "OrderedDict(" in code:
        imports.append("from collections import OrderedDict")
    header = [
        f'"""{network.name} as PyTorch modules, generated by cnncalc {version} from {origin}.',
        "",
        f"Input: one sample of {analysis.input.hwc()} ({'x'.join(map(str, analysis.input.torch_size()))} in torch's order, batch first).",
        "Module names are the spec's paths, so state_dict() keys are the paths of `cnncalc table` plus",
        "`.weight`, `.bias`, … The file needs only torch.",
        '"""',
        "",
        *(imports + [""] if imports else []),
        *(["import torch"] if "torch." in code + "".join(helpers.values()) else []),
        *(["import torch.nn.functional as F"] if "F." in code + "".join(helpers.values()) else []),
        "from torch import nn",
    ]
    parts = ["\n".join(header), *(text.strip("\n") for text in helpers.values()), code]
    return "\n\n\n".join(parts) + "\n"


def _top_chain(net: _Network, top: Sequential) -> Chain | None:
    """The whole network as one nn.Sequential, when it is a chain of uniquely named items (LeNet-5, VGG)."""
    return _chain_of(net, top.children, [child.path for child in top.children])


def _families(instances: list[Instance], reserved: set[str]) -> list[Family]:
    """Group the class uses by structure (innermost first, so a use inside knows its class), name and fill them."""
    families: dict[tuple, Family] = {}
    order: list[Family] = []
    for instance in instances:
        key = instance.skeleton()
        family = families.get(key)
        if family is None:
            family = families[key] = Family(key, instance)
            order.append(family)
        else:
            family.instances.append(instance)
        instance.family = family
    for family in order:  # innermost first: a family's values include the holes of the classes it uses
        family.find_holes()
        family.inline = family.instances[0].chain and len(family.instances) == 1
    used = set(reserved) | set(_HELPERS) | {"PaddedConv1d", "PaddedConv2d", "PaddedConv3d"}
    by_label: dict[str, list[Family]] = {}
    for family in order:
        if not family.inline:
            by_label.setdefault(family.instances[0].label, []).append(family)
    for label, group in by_label.items():
        # Uses of one block with different structures: named by what one has that the others lack
        # (ResNet's Bottleneck and BottleneckWithDownsample), else numbered.
        attributes = [{name for name, _ in f.instances[0].attributes} for f in group]
        common = set.intersection(*attributes)
        for family, own in zip(group, attributes):
            extra = sorted(own - common, key=[n for n, _ in family.instances[0].attributes].index)
            named = [e for e in extra if not e[0].isdigit()][:2]  # `downsample` says what differs; `3` does not
            base = _camel(label) + ("With" + "".join(_camel(e) for e in named) if named and len(group) > 1 else "")
            family.name = _unique(base, used)
    return [family for family in order if not family.inline]
