"""YAML text → `Network`: load with positions, check the document, expand its layers.

Stages: `read_spec_file` (cnncalc.spec.files) reads a file within bounds; `load_yaml`
(cnncalc.spec.safe_yaml) turns text into mappings and lists that remember where each key sat;
`build_network` checks the top-level keys, the input and the blocks, and hands the layers to the
`Expander` (cnncalc.spec.expand), which builds every layer through its kind and gives it its
torch-style path. Errors carry the layer path and position; the file name is added here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cnncalc.errors import CnnCalcError, SourcePos, SpecProblem, SpecWarning
from cnncalc.kinds.options import REQUIRED
from cnncalc.kinds.registry import ALIASES, kinds_hint
from cnncalc.model.layers import Network, Node
from cnncalc.model.shapes import Shape, channels_first_reading, channels_first_suspect, order_text, parse_shape
from cnncalc.spec.expand import (
    COMMON_OPTIONS,
    RESERVED_ARGS,
    TOP_LEVEL_KEYS,
    Block,
    Expander,
    Namespace,
    _LAYER_WORDS,
    _STRUCTURE_WORDS,
)
from cnncalc.spec.files import MAX_FILE_BYTES, _too_large, read_spec_file
from cnncalc.spec.safe_yaml import YList, YMap, load_yaml
from cnncalc.words import printable, show as _show, suggest as _suggest

BLOCK_KEYS = ("args", "layers", "description")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # block and argument names: words, as in the expressions


def parse_spec(
    text: str, *, file: str | None = None, default_name: str = "network", input_shape: Shape | None = None
) -> Network:
    """A `Network` from the YAML text of a spec (on `input_shape` instead of its own input, if given)."""
    try:
        if len(text) > MAX_FILE_BYTES:
            raise _too_large(len(text), "characters")
        # Shapes are followed while expanding only where a spec reads them (`$in`, `size_of`): elsewhere the
        # analysis computes them once, and expanding stays as cheap as reading.
        return build_network(
            load_yaml(text), file=file, default_name=default_name, input_shape=input_shape, track_shapes="$in" in text or "size_of" in text
        )
    except CnnCalcError as exc:
        raise exc.located(file=file)


def parse_file(path: str | Path, input_shape: Shape | None = None) -> Network:
    path = Path(path)
    try:
        text = read_spec_file(path)
    except CnnCalcError as exc:
        raise exc.located(file=str(path))
    return parse_spec(text, file=str(path), default_name=path.stem, input_shape=input_shape)


_INPUT_AXES = {("length",): 1, ("height", "width"): 2, ("depth", "height", "width"): 3}


def _input_shape(value: Any, pos: SourcePos, channels_first: bool = False) -> Shape:
    if isinstance(value, YMap) and "channels" in value:
        # `input: {channels: 3, height: 224, width: 224}`: every axis named, so no order to get wrong
        axes = tuple(k for k in value if k != "channels")
        order = next((names for names in _INPUT_AXES if set(names) == set(axes)), None)
        if order is None or not all(type(value[k]) is int for k in value):
            raise SpecProblem(
                f"`input` as a mapping names `channels` and the axes of one rank ({', '.join('/'.join(a) for a in _INPUT_AXES)}), "
                f"each a whole number; got {_show(value)}",
                hint="e.g. `input: {channels: 3, height: 224, width: 224}`",
                pos=pos,
            )
        value = "x".join(str(value[k]) for k in (*order, "channels"))
        channels_first = False
    if isinstance(value, list) and 2 <= len(value) <= 4 and all(type(v) is int for v in value):
        value = "x".join(str(v) for v in value)
    if type(value) is int:
        value = str(value)
    if not isinstance(value, str):
        raise SpecProblem(
            f"`input` is height x width x channels, like 32x32x3; got {_show(value)}",
            hint="e.g. `input: 224x224x3`, or `input: {channels: 3, height: 224, width: 224}`",
            pos=pos,
        )
    try:
        return parse_shape(value, channels_first)
    except CnnCalcError as exc:
        raise exc.located(pos=pos)


def _layout(doc: YMap) -> bool:
    """`layout: chw` (PyTorch's order) or `hwc` (the default, the course notes'): whether `input` lists the channels first."""
    value = doc.get("layout", "hwc")
    if value not in ("hwc", "chw"):
        raise SpecProblem(f"`layout` is hwc or chw; got {_show(value)}", hint="`layout: chw` reads `input: 3x224x224` as channels first", pos=doc.key_pos["layout"])
    return value == "chw"


def input_order_warning(shape: Shape, written: str, hint: str, pos: SourcePos | None = None) -> SpecWarning | None:
    """A warning when an input read as H×W×C looks like PyTorch's C×H×W (`3x224x224`): the numbers would be wrong."""
    if not channels_first_suspect(shape):
        return None
    meant = channels_first_reading(shape)  # type: ignore[arg-type]
    first = shape.sizes[0]  # type: ignore[union-attr]
    return SpecWarning(
        f"the input {written} is read as {order_text(shape)}: {first} pixel{'s' if first != 1 else ''} along the "
        f"{shape.axes[0]} and {shape.channels} channels; in PyTorch's order ({order_text(shape, chw=True)}) "
        f"it would be {meant.hwc()}",
        pos=pos,
        hint=hint.format(meant=meant.hwc()),
    )


def _blocks(raw: Any, pos: SourcePos) -> dict[str, Block]:
    if raw is None:
        return {}
    if not isinstance(raw, YMap):
        raise SpecProblem(
            f"`blocks` maps block names to their definitions; got {_show(raw)}",
            hint="e.g. `blocks:\\n  double_conv:\\n    args: {filters: null}\\n    layers: [...]`",
            pos=pos,
        )
    blocks: dict[str, Block] = {}
    for name, body in raw.items():
        name_pos = raw.key_pos[name]
        if not _NAME.fullmatch(name):
            raise SpecProblem(
                f"a block name is a word of letters, digits and _; got '{name}'",
                hint="e.g. `bottleneck`",
                pos=name_pos,
            )
        if name in _LAYER_WORDS or name in _STRUCTURE_WORDS or name in ALIASES:
            raise SpecProblem(
                f"`{name}` is a built-in kind and cannot be redefined as a block",
                hint=f"call the block something else, e.g. `my_{name}`",
                pos=name_pos,
            )
        if not isinstance(body, YMap) or "layers" not in body:
            raise SpecProblem(
                f"block `{name}` needs `layers` (and optionally `args`)",
                hint="e.g. `args: {filters: null}` and `layers: [conv: {filters: $filters, kernel: 3}]`",
                pos=name_pos,
            )
        for key in body:
            if key not in BLOCK_KEYS:
                suggestion = _suggest(key, BLOCK_KEYS)
                raise SpecProblem(
                    f"block `{name}` has no key `{key}`" + (f"; {suggestion}" if suggestion else ""),
                    hint="a block has `args`, `layers` and an optional `description`",
                    pos=body.key_pos[key],
                )
        args_raw = body.get("args") or YMap()
        if not isinstance(args_raw, YMap):
            raise SpecProblem(
                f"`args` of block `{name}` maps argument names to defaults (null for required); got {_show(args_raw)}",
                hint="e.g. `args: {filters: null, stride: 1}`",
                pos=body.key_pos["args"],
            )
        args: dict[str, Any] = {}
        for arg, default in args_raw.items():
            if not _NAME.fullmatch(arg) or arg in COMMON_OPTIONS or arg in RESERVED_ARGS:
                raise SpecProblem(
                    f"`{arg}` cannot be a block argument",
                    hint="argument names are words of letters, digits and _, other than `name`, `when`, `in` and `index`",
                    pos=args_raw.key_pos[arg],
                )
            args[arg] = REQUIRED if default is None else default
        layers = body["layers"]
        if not isinstance(layers, YList):
            raise SpecProblem(
                f"`layers` of block `{name}` is a list of layers; got {_show(layers)}",
                hint="start each layer on its own line with `- `",
                pos=body.key_pos["layers"],
            )
        blocks[name] = Block(name, args, layers, name_pos)
    return blocks


def build_network(
    doc: Any,
    *,
    file: str | None = None,
    default_name: str = "network",
    input_shape: Shape | None = None,
    track_shapes: bool = True,
) -> Network:
    """The network a spec describes; `input_shape` replaces the spec's `input` (the --input option), so that
    ranks and `$in` follow it."""
    if not isinstance(doc, YMap):
        raise SpecProblem(
            "a spec is a YAML mapping with `input` and `layers`" + ("; this file is empty" if doc is None else f"; got {_show(doc)}"),
            hint="start from `input: 32x32x3` and `layers:` followed by `- conv: {filters: 6, kernel: 5}`",
            pos=getattr(doc, "pos", None),
        )
    for key in doc:
        if key not in TOP_LEVEL_KEYS:
            suggestion = _suggest(key, TOP_LEVEL_KEYS)
            raise SpecProblem(
                f"a spec has no key `{key}`" + (f"; {suggestion}" if suggestion else ""),
                hint="the keys of a spec are " + ", ".join(TOP_LEVEL_KEYS),
                pos=doc.key_pos[key],
            )
    for key in ("name", "description", "reference"):
        if key in doc and not isinstance(doc[key], str):
            raise SpecProblem(f"`{key}` is text; got {_show(doc[key])}", hint="quote it if it looks like a number", pos=doc.key_pos[key])
    if "input" not in doc:
        raise SpecProblem("a spec needs `input`, the size of one input image", hint="e.g. `input: 32x32x3` (height x width x channels)", pos=doc.pos)
    warnings = []
    if input_shape is None:
        written = doc["input"]
        channels_first = _layout(doc)
        input_shape = _input_shape(written, doc.key_pos["input"], channels_first)
        if not channels_first and not isinstance(written, YMap):
            warning = input_order_warning(
                input_shape, "x".join(map(str, written)) if isinstance(written, list) else str(written),
                "write `input: {meant}`, or `layout: chw` to read the input as channels first",
                doc.key_pos["input"],
            )
            warnings.extend([warning] if warning else [])
    if "layers" not in doc:
        raise SpecProblem("a spec needs `layers`, the list of layers", hint="e.g. `layers:` followed by `- conv: {filters: 6, kernel: 5}`", pos=doc.pos)
    blocks = _blocks(doc.get("blocks"), doc.key_pos.get("blocks", doc.pos))
    expander = Expander(blocks, input_shape, track_shapes, origin=file)
    nodes = expander.items(doc["layers"], doc.key_pos["layers"], {}, Namespace(""), 1)
    if not nodes:
        raise SpecProblem(
            "the network has no layers",
            hint="add at least one layer under `layers:`",
            pos=doc.key_pos["layers"],
        )
    return Network(
        # normalised once: the name reaches every output, so nothing in it may reach a terminal raw
        name=printable(doc.get("name") or default_name),
        input=input_shape,
        layers=tuple(nodes),
        description=doc.get("description", ""),
        reference=doc.get("reference", ""),
        task=_task(doc),
        file=file,
        warnings=tuple(warnings),
    )


def _task(doc: YMap) -> str:
    from cnncalc.enums import Task

    value = doc.get("task", str(Task.CLASSIFICATION))
    if not isinstance(value, str) or value not in {str(t) for t in Task}:
        names = [str(t) for t in Task]
        raise SpecProblem(
            f"`task` is one of {', '.join(names)}; got {_show(value)}" + (f"; {_suggest(str(value), names)}" if _suggest(str(value), names) else ""),
            hint="it only sorts and filters `cnncalc models`; leave it out for a classifier",
            pos=doc.key_pos["task"],
        )
    return value


def parse_layer(kind: str, options: dict[str, Any], input_shape: Shape | None = None) -> Node:
    """One layer, `- kind: {options}`, checked by the very code that checks a spec (for `cnncalc layer`).

    `options` holds what YAML would have read: ints, lists, text, booleans. The layer's path is its kind.
    `input_shape` gives the rank that `kernel: 3` takes (2-D without it).
    Errors carry no position or path: there is no file, and the layer is the one the user named.
    """
    if kind not in _LAYER_WORDS and kind not in ALIASES:
        suggestion = _suggest(kind, _LAYER_WORDS)
        raise SpecProblem(
            f"unknown layer kind `{kind}`" + (f"; {suggestion}" if suggestion else ""),
            hint=kinds_hint(),
        )
    mapping = YMap(options)
    mapping.pos = None  # type: ignore[assignment]
    mapping.key_pos = {key: None for key in options}  # type: ignore[misc]
    try:
        (node,) = Expander({}, input_shape).layer(kind, mapping, None, {}, Namespace(""), False)  # type: ignore[arg-type]
    except CnnCalcError as exc:
        raise exc.replaced(layer=None, pos=None) from None
    from dataclasses import replace

    return replace(node, path=kind)


__all__ = ["MAX_FILE_BYTES", "build_network", "load_yaml", "parse_file", "parse_layer", "parse_spec", "read_spec_file"]
