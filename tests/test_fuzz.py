"""Random and mutated specs at the parser and the engine: every failure must be the designed error.

The seeds are every bundled spec in specs/ (whatever is there when the test runs) and a few
inline ones that use every structure (blocks with arguments and expressions, repeat, add,
concat, when). Mutations work on the YAML tree (delete a key or an item, swap two values,
change a value's type, rename a key, duplicate an item) and on the text (truncate it, drop
or duplicate a line, insert YAML punctuation or random characters, re-indent a line). A
grammar also builds random networks from valid and invalid pieces, to reach the engine.

Whatever comes out, parse_spec + analyse either succeed or raise CnnCalcError whose message
fits on one screen. Anything else is a bug. About 4,300 cases (~25 s); CI runs them derandomised.
"""

from __future__ import annotations

import os
import textwrap

import pytest
import yaml
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from cnncalc.spec import zoo
from cnncalc.core.engine import analyse
from cnncalc.errors import CnnCalcError
from cnncalc.spec.parse import parse_spec

# CNNCALC_FUZZ_SCALE=10 runs ten times as many cases (for a long local hunt; CI runs the default).
SCALE = int(os.environ.get("CNNCALC_FUZZ_SCALE", "1"))
SETTINGS = dict(
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

INLINE = [
    """
    name: tiny
    input: 32x32x3
    layers:
      - conv: {filters: 6, kernel: 5}
      - relu
      - maxpool: {kernel: 2, stride: 2}
      - flatten
      - fc: {units: 10}
    """,
    """
    input: 64x64x16
    blocks:
      unit:
        args: {width: null, stride: 1, down: false}
        layers:
          - add:
              name: add
              branches:
                - - conv: {name: a, filters: $width, kernel: 3, stride: $stride, padding: 1, bias: false}
                  - batchnorm
                  - relu6
                  - conv: {name: b, filters: $width * 2, kernel: [1, 3], padding: [0, 1], groups: 2}
                - name: shortcut
                  when: $down
                  layers:
                    - conv: {filters: $width * 2, kernel: 1, stride: $stride}
          - leaky_relu: {negative_slope: 0.2}
    layers:
      - unit: {name: first, width: 8, stride: 2, down: true}
      - repeat: 2
        name: more
        layers: [unit: {width: 8}]
      - concat:
          branches:
            - [avgpool: {kernel: 3, stride: 1, padding: 1}]
            - [conv: {filters: 4, kernel: 3, padding: same, dilation: 2}]
            - []
      - conv_transpose: {filters: 8, kernel: 4, stride: 2, padding: 1, output_padding: 0}
      - upsample: {scale: 0.5, mode: bilinear}
      - zeropad: {padding: [0, 1, 0, 1]}
      - minpool: {kernel: 2, ceil_mode: true}
      - adaptive_avgpool: {output: [3, 2]}
      - lrn: {size: 3}
      - global_avgpool
      - flatten
      - dropout: {p: 0.25}
      - fc: {units: 5, bias: false}
      - softmax
    """,
    """
    input: 28x28x1
    blocks:
      pair:
        args: {f: null, n: 2}
        layers:
          - repeat: $n
            layers:
              - conv: {filters: $f, kernel: 3, padding: 1, when: $f > 1}
              - sigmoid
    layers:
      - sequential: {name: features, layers: [pair: {f: 4}, maxpool: {kernel: 2}, pair: {f: 8, n: 1}]}
      - flatten
      - batchnorm: {affine: false}
      - fc: {units: 10}
      - tanh
    """,
]


def _seed_texts() -> list[str]:
    texts = [textwrap.dedent(t) for t in INLINE]
    texts += [p.read_text(encoding="utf-8") for p in sorted(zoo.specs_dir().glob("*.yaml"))]
    return texts


SEEDS = _seed_texts()


def check(text: str) -> None:
    """The property: success, or a CnnCalcError that renders as a short message. Nothing else."""
    try:
        network = parse_spec(text, file="fuzz.yaml")
    except CnnCalcError as exc:
        event("refused by the parser")
        _short(exc)
        return
    try:
        analysis = analyse(network)
    except CnnCalcError as exc:
        event("refused by the engine")
        _short(exc)
        return
    event("accepted" + (" with warnings" if analysis.warnings else ""))
    for warning in analysis.warnings:
        assert warning.render().startswith("warning: ")


def _short(exc: CnnCalcError) -> None:
    """A message on one screen: the error line and its hint, each of bounded length."""
    if True:
        message = exc.render()
        assert message.startswith("error: ")
        lines = message.splitlines()
        assert len(lines) <= 4, message
        assert all(len(line) <= 1200 for line in lines), message


# --------------------------------------------------------------------------- values

small_ints = st.integers(min_value=-3, max_value=300)
odd_numbers = st.sampled_from([0, -1, 2**31, 2**63 - 1, 2**63, 10**30, 1e400, -1e400, 0.5, 3.0, 1e-300, float("nan")])
words = st.sampled_from(
    ["conv", "relu", "same", "valid", "$width", "$width * 4", "$nope", "$(1/0)", "$width / 3", "3", "3x3", "1e3",
     "yes", "true", "null", "", "kernel", "filters", "layers", "add", "branches", "$", "$$", "a b", "unit"]
)
texts = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12)
scalars = st.one_of(small_ints, odd_numbers, words, texts, st.booleans(), st.none())
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.one_of(words, texts), inner, max_size=4)),
    max_leaves=8,
)


# --------------------------------------------------------------------------- tree mutations


def _slots(tree, out, seen=None):
    """Every (container, key-or-index) in a YAML tree, to pick one to mutate (each container once:
    a swap can put a container inside itself)."""
    seen = set() if seen is None else seen
    if isinstance(tree, (dict, list)):
        if id(tree) in seen:
            return out
        seen.add(id(tree))
    if isinstance(tree, dict):
        for key in list(tree):
            out.append((tree, key))
            _slots(tree[key], out, seen)
    elif isinstance(tree, list):
        for i, item in enumerate(tree):
            out.append((tree, i))
            _slots(item, out, seen)
    return out


def mutate_tree(tree, data) -> None:
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        slots = _slots(tree, [])
        if not slots:
            return
        container, key = slots[data.draw(st.integers(0, len(slots) - 1), label="slot")]
        op = data.draw(st.sampled_from(["delete", "replace", "swap", "rename", "duplicate", "wrap"]), label="op")
        if op == "delete":
            del container[key]
        elif op == "replace":
            container[key] = data.draw(values, label="value")
        elif op == "swap":
            other, other_key = slots[data.draw(st.integers(0, len(slots) - 1), label="other")]
            if other is container and other_key == key:
                continue
            try:
                container[key], other[other_key] = other[other_key], container[key]
            except (KeyError, IndexError):
                continue  # one slot was inside the other and moved
        elif op == "rename" and isinstance(container, dict):
            new = data.draw(st.one_of(words, texts), label="name")
            container[new] = container.pop(key)
        elif op == "duplicate" and isinstance(container, list):
            container.insert(key, container[key])  # also makes YAML anchors and aliases when dumped
        elif op == "wrap":
            container[key] = data.draw(st.sampled_from(["list", "dict"]), label="wrap") == "list" and [container[key]] or {
                "x": container[key]
            }


@settings(max_examples=1500 * SCALE, **SETTINGS)
@given(data=st.data())
def test_mutated_trees_fail_only_with_cnncalc_errors(data):
    seed = data.draw(st.sampled_from(SEEDS), label="seed")
    tree = yaml.safe_load(seed)
    mutate_tree(tree, data)
    try:
        text = yaml.safe_dump(tree, sort_keys=False, allow_unicode=True)
    except (yaml.YAMLError, RecursionError):
        assume(False)  # a cycle made by swapping a container into itself: not a text anyone can write
    check(text)


# --------------------------------------------------------------------------- text mutations

PUNCTUATION = list(":{}[],-&*!|>'\"%@`#?\t\n ") + ["- ", ": ", "\n  ", "&a ", "*a", "<<: ", "---\n", "\\", "\x00", "\x07"]


@settings(max_examples=1500 * SCALE, **SETTINGS)
@given(data=st.data())
def test_mutated_texts_fail_only_with_cnncalc_errors(data):
    text = data.draw(st.sampled_from(SEEDS), label="seed")
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        lines = text.split("\n")
        op = data.draw(st.sampled_from(["truncate", "drop", "dup", "insert", "indent", "replace"]), label="op")
        where = data.draw(st.integers(0, max(len(text) - 1, 0)), label="where")
        line = data.draw(st.integers(0, len(lines) - 1), label="line")
        if op == "truncate":
            text = text[:where]
        elif op == "drop":
            del lines[line]
            text = "\n".join(lines)
        elif op == "dup":
            lines.insert(line, lines[line])
            text = "\n".join(lines)
        elif op == "insert":
            piece = data.draw(st.one_of(st.sampled_from(PUNCTUATION), texts), label="piece")
            text = text[:where] + piece + text[where:]
        elif op == "indent":
            shift = data.draw(st.integers(-4, 4), label="shift")
            lines[line] = " " * shift + lines[line] if shift > 0 else lines[line][-shift:]
            text = "\n".join(lines)
        else:
            length = data.draw(st.integers(1, 12), label="length")
            text = text[:where] + data.draw(texts, label="text") + text[where + length :]
    check(text)


@settings(max_examples=300 * SCALE, **SETTINGS)
@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_random_text_fails_only_with_cnncalc_errors(text):
    check(text)


# --------------------------------------------------------------------------- random networks

def mostly(valid, invalid):
    """`valid` 19 times in 20: random networks should mostly pass the parser and reach the engine."""
    return st.integers(0, 19).flatmap(lambda i: invalid if i == 0 else valid)


bad = st.sampled_from([0, -1, "same", 2.5, [1], "3", None, True])
pair = st.one_of(st.integers(1, 9), st.lists(st.integers(1, 9), min_size=2, max_size=2))
sizes = mostly(pair, bad)
pads = mostly(st.one_of(st.integers(0, 4), st.lists(st.integers(0, 4), min_size=2, max_size=2),
                        st.lists(st.integers(0, 3), min_size=4, max_size=4), st.sampled_from(["same", "valid"])), bad)
counts = mostly(st.integers(1, 12), bad)
LAYER_OPTIONS = {
    "conv": {"filters": counts, "kernel": sizes, "stride": sizes, "padding": pads, "dilation": sizes, "groups": mostly(st.integers(1, 4), bad)},
    "conv_transpose": {"filters": counts, "kernel": sizes, "stride": sizes, "padding": mostly(pair, bad), "output_padding": mostly(st.integers(0, 2), bad), "dilation": sizes, "groups": mostly(st.integers(1, 3), bad)},
    "maxpool": {"kernel": sizes, "stride": sizes, "padding": pads, "dilation": sizes, "ceil_mode": mostly(st.booleans(), bad)},
    "avgpool": {"kernel": sizes, "stride": sizes, "padding": pads, "ceil_mode": st.booleans()},
    "minpool": {"kernel": sizes, "stride": sizes},
    "adaptive_avgpool": {"output_size": sizes},
    "global_avgpool": {},
    "fc": {"units": counts, "bias": st.booleans()},
    "flatten": {},
    "batchnorm": {"affine": st.booleans(), "momentum": mostly(st.floats(0, 1), bad)},
    "lrn": {"size": counts},
    "dropout": {"p": mostly(st.floats(0, 1), st.floats(-0.5, 1.5))},
    "zeropad": {"padding": pads},
    "upsample": {"scale": mostly(st.one_of(st.floats(0.01, 4), st.integers(1, 3)), bad), "size": sizes, "mode": mostly(st.sampled_from(["nearest", "bilinear", "bicubic"]), bad)},
    "relu": {},
    "leaky_relu": {"negative_slope": mostly(st.floats(0, 1), bad)},
}
REQUIRED = {"conv": ("filters", "kernel"), "conv_transpose": ("filters", "kernel"), "maxpool": ("kernel",), "avgpool": ("kernel",),
            "minpool": ("kernel",), "adaptive_avgpool": ("output_size",), "fc": ("units",), "zeropad": ("padding",)}


@st.composite
def layer(draw, depth=0):
    kind = draw(st.sampled_from([*LAYER_OPTIONS, "add", "concat", "sequential"] if depth < 2 else list(LAYER_OPTIONS)))
    if kind in ("add", "concat"):
        branches = draw(st.lists(st.lists(layer(depth + 1), max_size=3), min_size=2, max_size=3))
        return {kind: {"branches": branches}}
    if kind == "sequential":
        return {kind: {"layers": draw(st.lists(layer(depth + 1), max_size=3))}}
    options = {}
    for key, strategy in LAYER_OPTIONS.get(kind, {}).items():
        if key in REQUIRED.get(kind, ()) and draw(mostly(st.just(True), st.just(False))) or draw(st.integers(0, 3)) == 0:
            options[key] = draw(strategy)
    if kind == "upsample" and ("scale" in options) == ("size" in options) and draw(mostly(st.just(True), st.just(False))):
        options.pop("size", None)
        options["scale"] = 2
    return {kind: options} if options or draw(st.booleans()) else kind


@settings(max_examples=1000 * SCALE, **SETTINGS)
@given(
    h=st.integers(1, 40),
    w=st.integers(1, 40),
    c=st.integers(1, 8),
    layers=st.lists(layer(), min_size=1, max_size=8),
)
def test_random_networks_fail_only_with_cnncalc_errors(h, w, c, layers):
    check(yaml.safe_dump({"input": f"{h}x{w}x{c}", "layers": layers}, sort_keys=False))


@pytest.mark.parametrize("index", range(len(SEEDS)))
def test_the_seeds_themselves_are_valid(index):
    analyse(parse_spec(SEEDS[index], file="seed.yaml"))
