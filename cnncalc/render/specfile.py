"""A spec file from imported layers (`cnncalc import`): nested `sequential` groups rebuild the paths.

A spec builds each path from names (`layer1` > `0` > `conv1` is layer1.0.conv1); a merge takes no
path segment from its branches, so its layers are named beside it, and a branch whose layers all
live under one name (`downsample.0`, `downsample.1`) is that named branch.
"""

from __future__ import annotations

import json
import re
from typing import Any

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, str):
        return value if _PLAIN.match(value) and value not in ("true", "false", "null", "yes", "no", "on", "off") else json.dumps(value)
    return repr(value)


def _segments(item: Any, prefix: str) -> list[str]:
    """The first path segment under `prefix` of every path the item holds."""
    return [p[len(prefix):].split(".")[0] for p in _all_paths(item)]


def _all_paths(item: Any) -> list[str]:
    paths = [item.path]
    if hasattr(item, "branches"):
        for branch in item.branches:
            for sub in branch:
                paths += _all_paths(sub)
    return paths


def _group_key(item: Any, prefix: str) -> str | None:
    """The name of the group the item sits in under `prefix`, or None when it is named right here."""
    own = item.path[len(prefix):]
    if "." not in own:
        return None
    first = own.split(".")[0]
    return first if all(s == first for s in _segments(item, prefix)) else None


def _renamed(item: Any, prefix: str, key: str, renamed: list[str]) -> Any:
    """The item with every path under `prefix.key.` flattened into one name (`layers.1` → `layers_1`)."""
    start = prefix + key + "."

    def path(p: str) -> str:
        if not p.startswith(start):
            return p
        new = prefix + p[len(prefix):].replace(".", "_")
        renamed.append(f"{p} → {new}")
        return new

    if hasattr(item, "branches"):
        return item._replace(path=path(item.path), branches=tuple(tuple(_renamed(i, prefix, key, renamed) for i in b) for b in item.branches))
    return item._replace(path=path(item.path))


class _Pass:
    """One writing pass over the items: the layers it had to name by their whole path, the innermost
    groups it wrote out (path, body), and the block each group is a use of (from the pass before)."""

    def __init__(self, uses: dict[str, tuple[str, dict[str, Any]]] | None = None):
        self.renamed: list[str] = []
        self.groups: list[tuple[str, list[str]]] = []
        self.uses = uses or {}


def _items(w: _Pass, items: list[Any], prefix: str, indent: str, used: set[str] | None = None) -> list[str]:
    entries: list[tuple[str | None, list[str], list[str]]] = []  # (group name, its lines, its body lines at a fixed indent)
    used = set() if used is None else used  # names taken in this group so far (branches share it)
    items = list(items)
    index = 0
    while index < len(items):
        item = items[index]
        key = None if isinstance(item, _Side) else _group_key(item, prefix)
        if key is not None and key in used:
            # a module group split by merges (a ModuleList whose layers sit in different branches): a spec names
            # a group once, so these layers are named with their whole relative path instead
            run_end = index
            while run_end < len(items) and not isinstance(items[run_end], _Side) and _group_key(items[run_end], prefix) == key:
                run_end += 1
            items[index:run_end] = [_renamed(i, prefix, key, w.renamed) for i in items[index:run_end]]
            item = items[index]
            key = None
        if isinstance(item, _Side):
            lines = [f"{indent}- side:", f"{indent}    name: {_scalar(item.path[len(prefix):])}"]
            if item.source is not None:
                lines.append(f"{indent}    from: {_scalar(item.source)}")
            lines.append(f"{indent}    layers:")
            lines += _items(w, list(item.side.items), f"{item.path}.", indent + "      ")
            entries.append((None, lines, []))
        elif key is not None:
            run = [item]
            while index + 1 < len(items) and not isinstance(items[index + 1], _Side) and _group_key(items[index + 1], prefix) == key:
                index += 1
                run.append(items[index])
            used.add(key)
            body = _items(w, run, f"{prefix}{key}.", "")
            path = f"{prefix}{key}"
            if path in w.uses:
                block, args = w.uses[path]
                use = ", ".join(f"{k}: {_scalar(v)}" for k, v in args.items())
                template = f"- {block}: {{name: {{name}}{', ' + use if use else ''}}}"
                entries.append((key, [indent + template.replace("{name}", _scalar(key))], [template]))
            else:
                if not any(line.lstrip().startswith(("- sequential:", "- repeat:", "- side:")) for line in body):
                    w.groups.append((path, body))
                lines = [f"{indent}- sequential:", f"{indent}    name: {_scalar(key)}", f"{indent}    layers:"]
                entries.append((key, lines + [indent + "      " + line for line in body], body))
        elif hasattr(item, "branches"):
            # a merge is a function in a model, not a module: where its scope is not the group its layers are in
            # (torchvision's DenseNet concatenates at the start of the next layer), its name keeps the scope with _
            own = item.path[len(prefix):].replace(".", "_")
            used.add(own)
            lines = [f"{indent}- {item.kind}:", f"{indent}    name: {_scalar(own)}", f"{indent}    branches:"]
            for branch in item.branches:
                lines += _branch(w, list(branch), prefix, indent + "      ", used)
            entries.append((None, lines, []))
        else:
            fields = {"name": item.path[len(prefix):], **item.options}
            used.add(fields["name"])
            entries.append((None, [f"{indent}- {item.kind}: {{{', '.join(f'{k}: {_scalar(v)}' for k, v in fields.items())}}}"], []))
        index += 1
    return _fold_repeats(entries, indent)


def _fold_repeats(entries: list[tuple[str | None, list[str], list[str]]], indent: str) -> list[str]:
    """Runs of groups named by consecutive numbers with the same layers (ResNet's layer1.1, layer1.2) as one
    `repeat` whose copies are named `$index` + the first number, so every path stays what it was."""
    lines: list[str] = []
    index = 0
    while index < len(entries):
        name, own, body = entries[index]
        end = index + 1
        if name is not None and name.isdigit() and body:
            while (
                end < len(entries)
                and entries[end][0] is not None
                and entries[end][0] == str(int(name) + end - index)  # type: ignore[operator]
                and entries[end][2] == body
            ):
                end += 1
        if end - index >= 2:
            first = int(name)  # type: ignore[arg-type]
            copy_name = "$index" if first == 0 else f"$($index + {first})"
            if len(body) == 1 and body[0].startswith("- ") and "{name}" in body[0]:  # uses of one block
                lines += [f"{indent}- repeat: {end - index}", f"{indent}  layers:", f"{indent}    " + body[0].replace("{name}", copy_name)]
            else:
                lines += [
                    f"{indent}- repeat: {end - index}",
                    f"{indent}  layers:",
                    f"{indent}    - sequential:",
                    f"{indent}        name: {copy_name}",
                    f"{indent}        layers:",
                    *(f"{indent}          {line}" for line in body),
                ]
            index = end
            continue
        lines += own
        index += 1
    return lines


def _branch(w: _Pass, items: list[Any], prefix: str, indent: str, used: set[str]) -> list[str]:
    if not items:
        return [f"{indent}- []"]
    keys = {_group_key(item, prefix) for item in items}
    if len(keys) == 1 and None not in keys:
        (key,) = keys
        if key not in used:
            used.add(key)
            return [f"{indent}- name: {_scalar(key)}", f"{indent}  layers:", *_items(w, items, f"{prefix}{key}.", indent + "    ")]
    body = _items(w, items, prefix, indent + "  ", used)
    return [f"{indent}-", *body]


def write_spec(
    name: str, input_text: str, description: str, items: list[Any], sides: list[Any] = (), renamed: list[str] | None = None,
    classes: dict[str, str] | None = None,
) -> str:
    """The spec's YAML text; side outputs come last, each `from:` the output it is computed from. Layers
    whose path a spec cannot name (`layers.1` when merges split the group `layers`) get one flat name,
    and `renamed` receives `old → new` for each. Innermost groups with the same structure become uses of
    one block, its arguments the numbers that differ between them; `classes` (group path -> the module's
    class, from torch.fx) names the blocks (`Bottleneck` -> `bottleneck`)."""
    placed = _with_sides(list(items), list(sides))
    first = _Pass()
    _items(first, placed, "", "  ")  # finds the innermost groups
    blocks, uses = _infer_blocks(first.groups, classes or {})
    final = _Pass(uses)
    body = _items(final, placed, "", "  ")
    lines = [
        f"name: {_scalar(name)}",
        f"description: {json.dumps(description)}",
        f"input: {input_text}",
        "",
    ]
    if blocks:
        lines.append("blocks:")
        for block, (args, layers) in blocks.items():
            lines.append(f"  {block}:")
            if args:
                lines.append(f"    args: {{{', '.join(f'{a}: null' for a in args)}}}")
            lines.append("    layers:")
            lines += [f"      {line}" for line in layers]
        lines.append("")
    lines += ["layers:", *body]
    if renamed is not None:
        renamed.extend(final.renamed)
    return "\n".join(lines) + "\n"


_PAIR = re.compile(r"([A-Za-z_][A-Za-z0-9_]*): (-?[0-9][0-9.e+-]*|true|false)(?=[,}])")


def _skeleton(line: str) -> tuple[str, list[tuple[int, int, str, str]]]:
    """The line with its numbers and booleans taken out (`name:` stays), and where each one was."""
    holes = [(m.start(2), m.end(2), m.group(1), m.group(2)) for m in _PAIR.finditer(line) if m.group(1) != "name"]
    text, last = "", 0
    for start, end, _, _ in holes:
        text += line[last:start] + "#"
        last = end
    return text + line[last:], holes


def _infer_blocks(
    groups: list[tuple[str, list[str]]], classes: dict[str, str]
) -> tuple[dict[str, tuple[list[str], list[str]]], dict[str, tuple[str, dict[str, Any]]]]:
    """Blocks for the innermost groups that share a structure (two uses or more): each block's arguments
    and layers, and for each group path the block it uses with its argument values."""
    families: dict[tuple[str, ...], list[tuple[str, list[str]]]] = {}
    for path, body in groups:
        key = tuple(_skeleton(line)[0] for line in body)
        families.setdefault(key, []).append((path, body))
    blocks: dict[str, tuple[list[str], list[str]]] = {}
    uses: dict[str, tuple[str, dict[str, Any]]] = {}
    taken: set[str] = set()
    for members in families.values():
        if len(members) < 2:
            continue
        first = members[0][1]
        positions = [(i, j) for i, line in enumerate(first) for j in range(len(_skeleton(line)[1]))]
        values = {(i, j): [_skeleton(body[i])[1][j][3] for _, body in members] for i, j in positions}
        varying = [(i, j) for i, j in positions if len(set(values[(i, j)])) > 1]
        by_column: dict[tuple[str, ...], list[tuple[int, int]]] = {}
        for position in varying:
            by_column.setdefault(tuple(values[position]), []).append(position)
        names: dict[tuple[int, int], str] = {}
        used: set[str] = set()
        for column, where in by_column.items():
            option = _skeleton(first[where[0][0]])[1][where[0][1]][2]
            arg, n = option, 2
            while arg in used:
                arg, n = f"{option}{n}", n + 1
            used.add(arg)
            for position in where:
                names[position] = arg
        block = _block_name(classes.get(members[0][0], ""), taken)
        layers = []
        for i, line in enumerate(first):
            holes = _skeleton(line)[1]
            text, last = "", 0
            for j, (start, end, _, _) in enumerate(holes):
                text += line[last:start] + (f"${names[(i, j)]}" if (i, j) in names else line[start:end])
                last = end
            layers.append(text + line[last:])
        args = list(dict.fromkeys(names[p] for p in varying))
        blocks[block] = (args, layers)
        for index, (path, _) in enumerate(members):
            given = {}
            for arg in args:
                i, j = next(p for p in varying if names[p] == arg)
                given[arg] = _number(values[(i, j)][index])
            uses[path] = (block, given)
    return blocks, uses


def _number(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    return float(text) if any(c in text for c in ".e") else int(text)


def _block_name(cls: str, taken: set[str]) -> str:
    """`Bottleneck` -> `bottleneck`, `InvertedResidual` -> `inverted_residual`; `block` without a class."""
    base = re.sub(r"(?<!^)(?=[A-Z])", "_", cls).lower() if cls else "block"
    base = re.sub(r"[^a-z0-9_]", "_", base) or "block"
    if base[0].isdigit():
        base = f"block_{base}"
    name, n = base, 2
    while name in taken or name in RESERVED:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


# spec words a block may not be called (kinds, structures)
RESERVED = frozenset(
    "conv conv_transpose maxpool avgpool minpool global_avgpool adaptive_avgpool fc flatten batchnorm lrn dropout zeropad "
    "upsample sequential add concat multiply repeat side layers".split()
)


class _Side:
    """A side output placed in a list: right after the layer it reads (no `from:` needed) when its
    layers' paths fit there, else at the end of the top level with `from:`."""

    def __init__(self, side: Any, source: str | None):
        self.path, self.side, self.source = side.path, side, source


def _with_sides(items: list[Any], sides: list[Any]) -> list[Any]:
    for side in sides:
        if not _insert_after(items, side):
            items.append(_Side(side, side.source))
    return items


def _insert_after(items: list[Any], side: Any) -> bool:
    """Put the side right after the item it reads, when that item ends a top-level group (GoogLeNet's
    aux1 after inception4a): the side then reads the current tensor, in the order the model runs."""
    for index, item in enumerate(items):
        if item.path == side.source:
            following = items[index + 1] if index + 1 < len(items) else None
            if following is None or following.path.split(".")[0] != item.path.split(".")[0]:
                items.insert(index + 1, _Side(side, None))
                return True
            return False
    return False
