"""The JSON Schema (draft-07, as yaml-language-server reads it) of a spec file, for editors: completion
of kinds and options, and a red line under `filter: 6` before cnncalc ever runs.

Generated, never written by hand: every layer kind's options, defaults and aliases come from the kind
itself (`cnncalc.kinds.registry`), each option's values from its converter's `schema`, the top-level
and block keys from the spec reader's own lists. A new kind or option is in the schema the moment
the engine knows it.

What JSON Schema cannot say stays with `cnncalc check` (the README lists it): arithmetic between
sizes (a kernel larger than its input), the names of a spec's own blocks and paths (`from:`), how
many numbers a per-axis list has for the input's rank, and whether a `$expression` evaluates.
"""

from __future__ import annotations

from typing import Any

from cnncalc.enums import MergeKind, StructureKind, Task
from cnncalc.kinds.options import EXPRESSION_SCHEMA, REQUIRED
from cnncalc.kinds.registry import ALIASES, KINDS
from cnncalc.model.shapes import MAX_RANK
from cnncalc.spec.expand import COMMON_OPTIONS, INCLUDE, TOP_LEVEL_KEYS
from cnncalc.spec.parse import BLOCK_KEYS

DRAFT = "http://json-schema.org/draft-07/schema#"
SCHEMA_FILE = "cnncalc.schema.json"  # where `cnncalc schema >` puts it, next to the specs
MODELINE = f"# yaml-language-server: $schema={SCHEMA_FILE}"  # the first line editors read

_NAME = {
    "anyOf": [
        {"type": "string", "pattern": r"^([A-Za-z0-9_-]|\$\(.*\))+$"},
        {"type": "integer", "minimum": 0},
        EXPRESSION_SCHEMA,
    ],
    "description": "the layer's name in its group: its path is the names joined by dots, as torch's named_modules()",
}
_WHEN = {"anyOf": [{"type": "boolean"}, EXPRESSION_SCHEMA], "description": "keep this item only if true, e.g. $stride > 1"}
_COMMON = {"name": _NAME, "when": _WHEN}
assert tuple(_COMMON) == COMMON_OPTIONS, "the keys every item takes, as the reader has them"
_SIZE = rf"^\s*[0-9]+(\s*[x×X* ]\s*[0-9]+){{0,{MAX_RANK}}}\s*$"  # 224x224x3, 8000x1, 16x112x112x3, 784

_DESCRIPTIONS = {
    "name": "the network's name (default: the file name)",
    "description": "free text shown by `cnncalc models`",
    "reference": "where the network comes from, shown by `cnncalc models`",
    "task": "sorts and filters `cnncalc models`",
    "input": "HxWxC (224x224x3), LxC (8000x1), DxHxWxC (16x112x112x3), a number of features, a list, or {channels, height, width}",
    "layout": "hwc (default, the course notes' order) or chw (PyTorch's): the order of `input`",
    "blocks": "reusable groups of layers with arguments, used by their name in `layers`",
    "layers": "the layers and structures, in execution order",
}


def _value(schema: dict[str, Any]) -> dict[str, Any]:
    """An option's values, or an expression (inside a block) that evaluates to one."""
    return {"anyOf": [schema, EXPRESSION_SCHEMA]}


def _kind_options(word: str) -> dict[str, Any]:
    kind = KINDS[word]
    options = kind.options.get(word, {})
    properties: dict[str, Any] = dict(_COMMON)
    required = []
    for option, (convert, default) in options.items():
        entry = _value(convert.schema)
        if default is REQUIRED:
            required.append(option)
        elif isinstance(default, (bool, int, float, str)):
            entry = {**entry, "default": str(default) if isinstance(default, str) else default}
        properties[option] = entry
    for short, option in kind.option_aliases.get(word, {}).items():
        properties[short] = {**properties[option], "description": f"short for `{option}`"}
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    one_of = kind.exactly_one.get(word)
    if one_of:
        schema["oneOf"] = [{"required": [option]} for option in one_of]
    return schema


def _one_key(word: str, options: dict[str, Any], *, bare: bool = True) -> dict[str, Any]:
    """`- word: {options}` (and `- word: null`, `- word` alone, when nothing is required)."""
    value = options if not bare or options.get("required") else {"anyOf": [options, {"type": "null"}]}
    return {"type": "object", "properties": {word: value}, "required": [word], "additionalProperties": False}


_TRAINABLE = {
    "anyOf": [{"type": "boolean"}, EXPRESSION_SCHEMA],
    "description": "false freezes every layer inside (a layer or group inside that says true is trained again)",
}


def _structures() -> list[dict[str, Any]]:
    layers = {"$ref": "#/definitions/layers"}
    group_keys = {**_COMMON, "trainable": _TRAINABLE}
    branch = {
        "anyOf": [
            layers,
            {
                "type": "object",
                "properties": {**group_keys, "layers": layers, "from": _value({"type": "string", "minLength": 1})},
                "additionalProperties": False,
                "anyOf": [{"required": ["layers"]}, {"required": ["from"]}],
            },
        ]
    }
    merge = {
        "type": "object",
        "properties": {**group_keys, "branches": {"type": "array", "items": branch, "minItems": 2}},
        "required": ["branches"],
        "additionalProperties": False,
    }
    group = {"type": "object", "properties": {**group_keys, "layers": layers}, "required": ["layers"], "additionalProperties": False}
    include = {
        "type": "object",
        "properties": {
            **group_keys,
            "spec": _value({"type": "string", "minLength": 1, "description": "a bundled model's name or a spec file (relative to this one)"}),
            "path": _value({"type": "string", "minLength": 1, "description": "the group of that spec to take (default: all its layers)"}),
        },
        "required": ["spec"],
        "additionalProperties": False,
        "description": "a group of another spec, as that spec builds it, under this spec's `name`",
    }
    side = {**group, "properties": {**group["properties"], "from": _value({"type": "string", "minLength": 1})}}
    repeat = {
        "type": "object",
        "properties": {"repeat": _value({"type": "integer", "minimum": 0}), "layers": layers, **group_keys},
        "required": ["repeat", "layers"],
        "additionalProperties": False,
        "description": "copies of `layers`, spliced in place ($index is the copy's number)",
    }
    return [
        _one_key(str(StructureKind.SEQUENTIAL), group, bare=False),
        _one_key(str(StructureKind.SIDE), side, bare=False),
        *(_one_key(str(m), merge, bare=False) for m in MergeKind),
        _one_key(INCLUDE, include, bare=False),
        repeat,
    ]


def _reserved_words() -> list[str]:
    return sorted({*KINDS, *ALIASES, *(str(s) for s in StructureKind), INCLUDE, *TOP_LEVEL_KEYS} - {"name"})


def spec_schema() -> dict[str, Any]:
    """The whole schema, as a JSON-ready dict."""
    kinds = sorted(KINDS)
    definitions: dict[str, Any] = {f"kind_{word}": _kind_options(word) for word in kinds}
    items: list[dict[str, Any]] = [
        {"type": "string", "description": "a layer kind without options (`- relu`) or a block without arguments"},
        *(_one_key(word, {"$ref": f"#/definitions/kind_{word}"}) for word in kinds),
        # torch-style names that fix the rank: conv2d, maxpool3d, batchnorm1d, … (and swish for silu)
        *(_one_key(alias, {"$ref": f"#/definitions/kind_{target}"}) for alias, (target, _) in sorted(ALIASES.items())),
        *_structures(),
        {
            "type": "object",
            "description": "a use of a block defined under `blocks:`, with its arguments",
            "minProperties": 1,
            "maxProperties": 1,
            "propertyNames": {"not": {"enum": _reserved_words()}},
            "additionalProperties": {"type": ["object", "null"]},
        },
    ]
    definitions["layer"] = {"anyOf": items}
    definitions["layers"] = {"type": "array", "items": {"$ref": "#/definitions/layer"}}
    positive = {"type": "integer", "minimum": 1}
    input_schema = {
        "anyOf": [
            {"type": "string", "pattern": _SIZE},
            positive,
            {"type": "array", "items": positive, "minItems": 1, "maxItems": MAX_RANK + 1},
            {
                "type": "object",
                "properties": {axis: positive for axis in ("channels", "length", "depth", "height", "width")},
                "required": ["channels"],
                "additionalProperties": False,
            },
        ],
        "description": _DESCRIPTIONS["input"],
    }
    block = {
        "type": "object",
        "properties": {
            "args": {"type": ["object", "null"], "description": "each argument's default; null when a use must give it"},
            "layers": {"$ref": "#/definitions/layers"},
            "description": {"type": "string"},
        },
        "required": ["layers"],
        "additionalProperties": False,
    }
    assert set(block["properties"]) == set(BLOCK_KEYS)
    top = {
        "name": {"type": ["string", "integer"]},
        "description": {"type": "string"},
        "reference": {"type": "string"},
        "task": {"enum": [str(t) for t in Task]},
        "input": input_schema,
        "layout": {"enum": ["hwc", "chw"]},
        "blocks": {"type": "object", "propertyNames": {"not": {"enum": _reserved_words()}}, "additionalProperties": block},
        "layers": {"type": "array", "items": {"$ref": "#/definitions/layer"}, "minItems": 1},
    }
    assert tuple(top) == TOP_LEVEL_KEYS, "every top-level key the reader takes, in its order"
    for key, text in _DESCRIPTIONS.items():
        top[key] = {**top[key], "description": text}
    return {
        "$schema": DRAFT,
        "title": "cnncalc spec",
        "description": "A convolutional network for cnncalc: an input size and its layers (README, The spec format).",
        "type": "object",
        "properties": top,
        "required": ["input", "layers"],
        "additionalProperties": False,
        "definitions": definitions,
    }

