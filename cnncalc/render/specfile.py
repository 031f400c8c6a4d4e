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
    paths = [item.path]
    if hasattr(item, "branches"):
        for branch in item.branches:
            paths += [p for sub in branch for p in _all_paths(sub)]
    return [p[len(prefix):].split(".")[0] for p in paths]


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


RENAMED: list[str] = []  # filled while writing: layers whose group a spec cannot name twice


def _items(items: list[Any], prefix: str, indent: str, used: set[str] | None = None) -> list[str]:
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
            items[index:run_end] = [_renamed(i, prefix, key, RENAMED) for i in items[index:run_end]]
            item = items[index]
            key = None
        if isinstance(item, _Side):
            lines = [f"{indent}- side:", f"{indent}    name: {_scalar(item.path[len(prefix):])}"]
            if item.source is not None:
                lines.append(f"{indent}    from: {_scalar(item.source)}")
            lines.append(f"{indent}    layers:")
            lines += _items(list(item.side.items), f"{item.path}.", indent + "      ")
            entries.append((None, lines, []))
        elif key is not None:
            run = [item]
            while index + 1 < len(items) and not isinstance(items[index + 1], _Side) and _group_key(items[index + 1], prefix) == key:
                index += 1
                run.append(items[index])
            used.add(key)
            body = _items(run, f"{prefix}{key}.", "")
            lines = [f"{indent}- sequential:", f"{indent}    name: {_scalar(key)}", f"{indent}    layers:"]
            entries.append((key, lines + [indent + "      " + line for line in body], body))
        elif hasattr(item, "branches"):
            # a merge is a function in a model, not a module: where its scope is not the group its layers are in
            # (torchvision's DenseNet concatenates at the start of the next layer), its name keeps the scope with _
            own = item.path[len(prefix):].replace(".", "_")
            used.add(own)
            lines = [f"{indent}- {item.kind}:", f"{indent}    name: {_scalar(own)}", f"{indent}    branches:"]
            for branch in item.branches:
                lines += _branch(list(branch), prefix, indent + "      ", used)
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
            lines += [
                f"{indent}- repeat: {end - index}",
                f"{indent}  layers:",
                f"{indent}    - sequential:",
                f"{indent}        name: {'$index' if first == 0 else f'$($index + {first})'}",
                f"{indent}        layers:",
                *(f"{indent}          {line}" for line in body),
            ]
            index = end
            continue
        lines += own
        index += 1
    return lines


def _branch(items: list[Any], prefix: str, indent: str, used: set[str]) -> list[str]:
    if not items:
        return [f"{indent}- []"]
    keys = {_group_key(item, prefix) for item in items}
    if len(keys) == 1 and None not in keys:
        (key,) = keys
        if key not in used:
            used.add(key)
            return [f"{indent}- name: {_scalar(key)}", f"{indent}  layers:", *_items(items, f"{prefix}{key}.", indent + "    ")]
    body = _items(items, prefix, indent + "  ", used)
    return [f"{indent}-", *body]


def write_spec(name: str, input_text: str, description: str, items: list[Any], sides: list[Any] = (), renamed: list[str] | None = None) -> str:
    """The spec's YAML text; side outputs come last, each `from:` the output it is computed from. Layers
    whose path a spec cannot name (`layers.1` when merges split the group `layers`) get one flat name,
    and `renamed` receives `old → new` for each."""
    RENAMED.clear()
    lines = [
        f"name: {_scalar(name)}",
        f"description: {json.dumps(description)}",
        f"input: {input_text}",
        "",
        "layers:",
        *_items(_with_sides(list(items), list(sides)), "", "  "),
    ]
    if renamed is not None:
        renamed.extend(RENAMED)
    return "\n".join(lines) + "\n"


class _Side:
    """A side output placed in a list: right after the layer it reads (no `from:` needed) when its
    layers' paths fit there, else at the end of the top level with `from:`."""

    def __init__(self, side: Any, source: str | None):
        self.path, self.side, self.source = side.path, side, source


def _with_sides(items: list[Any], sides: list[Any]) -> list[Any]:
    for side in sides:
        if not _insert_after(items, side, ""):
            items.append(_Side(side, side.source))
    return items


def _insert_after(items: list[Any], side: Any, prefix: str) -> bool:
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
