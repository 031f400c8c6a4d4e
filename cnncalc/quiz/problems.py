"""Practice problems on CNN arithmetic, drawn at random and answered by the engine.

Pure: no I/O, no printing, no language. A `Problem` holds what was given (in the spec
format's keys), what is asked, the answer, and the numbers a worked solution shows; the
words, in English or Korean, come from `cnncalc.quiz.text`.

Every answer is a value returned by `engine.layer_math` / `engine.analyse` (and the
receptive-field recurrence); this module only *chooses* inputs. Sizes are chosen backwards
from a whole-number output (n = (o − 1)s + d(k − 1) + 1 − 2p), so sliding windows fit
exactly unless the problem is about spotting a configuration that does not fit.
Find-the-missing problems are checked by trying every candidate value through the engine
and keeping the problem only if exactly one candidate gives the stated result.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Iterable, Iterator

from cnncalc.kinds import formulas
from cnncalc.kinds.conv import conv_mac_formula, conv_param_formula
from cnncalc.kinds.worked import LayerUse
from cnncalc.core.engine import Analysis, LayerMath, analyse, layer_math
from cnncalc.enums import AnswerKind, Ask, Difficulty, LayerKind, QuestionForm, QuizTopic
from cnncalc.errors import CnnCalcError, OptionProblem
from cnncalc.model.layers import Activation, BatchNorm, Conv, ConvTranspose, Crop, Dropout, Fc, Flatten, Layer, Merge, Network, Pool, Sequential, Side, placed
from cnncalc.model.shapes import Shape, Spatial, Vector
from cnncalc.values import value

LayerSpec = Any  # {"conv": {"filters": 32, "kernel": 7}} or "flatten": a layer as the spec format writes it

# The bundled networks a `network` problem may trace, easiest first, with their usual names.
NETWORKS: dict[str, str] = {
    "lenet5": "LeNet-5",
    "alexnet": "AlexNet",
    "vgg16": "VGG-16",
    "resnet18": "ResNet-18",
    "resnet50": "ResNet-50",
}
_NETWORKS_BY_DIFFICULTY = {
    Difficulty.EASY: ("lenet5", "alexnet"),
    Difficulty.MEDIUM: ("lenet5", "alexnet", "vgg16"),
    Difficulty.HARD: ("alexnet", "vgg16", "resnet18", "resnet50"),
}


# ----------------------------------------------------------------------------- answers


@value
class Answer:
    kind: AnswerKind
    value: Any  # int, bool, "A".."D", or a tuple of ints for shapes and pairs

    @classmethod
    def shape(cls, shape: Shape) -> Answer:
        """A vector's features; a map's sizes and channels (H×W×C, L×C for a signal, D×H×W×C for a volume)."""
        if isinstance(shape, Vector):
            return cls(AnswerKind.INT, shape.features)
        return cls(AnswerKind.SHAPE, (*shape.sizes, shape.channels))

    @classmethod
    def number(cls, value: int) -> Answer:
        return cls(AnswerKind.INT, int(value))

    def text(self) -> str:
        """As a person writes it: 29x29x32, 25,120, true, B."""
        if self.kind in (AnswerKind.SHAPE, AnswerKind.PAIR):
            return "x".join(str(v) for v in self.value)
        if self.kind is AnswerKind.INT:
            return f"{self.value:,}"
        if self.kind is AnswerKind.BOOL:
            return "true" if self.value else "false"
        return str(self.value)

    def json(self) -> Any:
        if self.kind in (AnswerKind.SHAPE, AnswerKind.PAIR):
            return "x".join(str(v) for v in self.value)
        return self.value

    def matches(self, typed: str) -> bool | None:
        """True/False if `typed` reads as an answer of this kind; None if it cannot be read."""
        parts = len(self.value) if self.kind is AnswerKind.SHAPE else None
        value = parse_answer(typed, self.kind, parts)
        return None if value is None else value == self.value


_TRUE_WORDS = {"true", "t", "yes", "y", "o", "1", "참", "맞다", "맞음", "맞아요", "예", "네", "응", "그렇다", "ㅇ"}
_FALSE_WORDS = {"false", "f", "no", "n", "x", "0", "거짓", "틀리다", "틀림", "틀려요", "아니오", "아니요", "아니", "ㄴ"}


def parse_answer(typed: str, kind: AnswerKind, parts: int | None = None) -> Any:
    """Read an answer in the forms people type; None when it cannot be read as this kind.

    Shapes: `29x29x32`, `29 29 32`, `29×29×32`, `(29, 29, 32)`, `[29,29,32]`, `29*29*32`.
    Numbers: `25120`, `25,120`, `25 120`, `25_120`, `25'120`. Pairs: `1x2`, `1, 2`, `(1, 2)`.
    True/false: true/false, yes/no, t/f, o/x, 참/거짓, 예/아니오. Choices: `b`, `(B)`, `B.`, `2`.
    """
    import re

    text = typed.strip().strip("()[]{}").strip().rstrip(".").strip()
    if not text:
        return None
    if kind is AnswerKind.BOOL:
        word = text.lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        return None
    if kind is AnswerKind.CHOICE:
        word = text.strip("()").strip().upper()
        if word in ("A", "B", "C", "D"):
            return word
        if word in ("1", "2", "3", "4"):
            return "ABCD"[int(word) - 1]
        return None
    if kind is AnswerKind.INT:
        digits = re.sub(r"[\s,_']", "", text)
        return int(digits) if digits.isdigit() else None
    numbers = [p for p in re.split(r"\s*[x×X*,]\s*|\s+", text) if p]
    if not all(p.isdigit() for p in numbers):
        return None
    # a shape has `parts` numbers (3: H×W×C; 2: L×C; 4: D×H×W×C), a pair 2: fewer or more is a typo, asked again
    size = (parts or 3) if kind is AnswerKind.SHAPE else 2
    return tuple(int(p) for p in numbers) if len(numbers) == size else None


# ----------------------------------------------------------------------------- problems


@dataclass(frozen=True)  # made once per layer: a compiled __init__ (cnncalc.values)
class Statement:
    """One claim of a true/false or spot-the-wrong problem: a template key, its numbers, and whether it holds."""

    key: str
    values: dict[str, Any]
    true: bool


@dataclass(frozen=True)  # made once per layer: a compiled __init__ (cnncalc.values)
class Problem:
    topic: QuizTopic
    kind: str  # which question template: conv_output, params_missing, ...
    form: QuestionForm
    ask: Ask
    given: dict[str, Any]  # {"input": "63x63x16", "layers": [{"conv": {...}}]}, the spec format's keys
    answer: Answer
    facts: dict[str, Any] = field(default_factory=dict)  # numbers and formulas the texts show
    statements: tuple[Statement, ...] = ()

    def key(self) -> str:
        """Identity within a set: the same question on the same numbers is a duplicate."""
        return problem_key(self.topic, self.kind, self.ask, self.given, self.statements)


def problem_key(topic: QuizTopic, kind: str, ask: Ask, given: dict[str, Any], statements: tuple[Statement, ...] = ()) -> str:
    """`Problem.key` from the parts a generator knows before it computes the answer."""
    claims = [(s.key, s.values) for s in statements]
    if topic is QuizTopic.RECEPTIVE_FIELD:
        given = {k: v for k, v in given.items() if k != "input"}  # the field does not depend on the input, and the question does not show it
    return repr((kind, str(ask), given, claims))  # the generator builds each dict in one fixed key order


@value
class QuizOptions:
    topics: tuple[QuizTopic, ...] = tuple(QuizTopic)
    count: int = 10
    difficulty: Difficulty = Difficulty.MEDIUM
    seed: int = 0


class _Reject(Exception):
    """This draw does not make a good problem; draw again."""


# ----------------------------------------------------------------------------- layers through the engine


_DEFAULTS = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True, "output_padding": 0}
_NO_DEFAULT = object()


def spec(kind: str, **options: Any) -> LayerSpec:
    """A layer as the spec format writes it: options at their defaults are left out.

    Equal entries are one object (entries are never changed once made): the layer built from it
    (`to_layer`) and its texts are made once for all the draws that use it."""
    defaults = _DEFAULTS
    if kind in ("maxpool", "avgpool"):
        defaults = {**_DEFAULTS, "stride": options.get("kernel")}  # torch's pools default the stride to the kernel, not to 1
    kept = {k: v for k, v in options.items() if v is not None and defaults.get(k, _NO_DEFAULT) != v}
    if not kept:
        return kind
    # each value with its type: `bias: true` and `bias: 1` are equal in Python and different entries
    key = (kind, *[(k, v.__class__, tuple((x.__class__, x) for x in v) if v.__class__ is list else v) for k, v in kept.items()])
    try:
        entry = _ENTRIES.get(key)
    except TypeError:  # a value that cannot be a key (a list of lists): an entry of its own
        return Entry({kind: kept})
    if entry is None:
        entry = Entry({kind: kept})
        if len(_ENTRIES) < _ENTRIES_SIZE:
            _ENTRIES[key] = entry
    return entry


_ENTRIES: dict[tuple, Entry] = {}
_ENTRIES_SIZE = 50_000  # a 100,000-problem set draws 4,060 different layers (454,000 entries)


class Entry(dict):
    """A spec entry `{kind: options}` (a plain dict to JSON and to ==) that keeps the layer built from it and
    the texts written about it (quiz.text.details), both made once per entry."""

    __slots__ = ("built", "texts")


def _pair(h: int, w: int) -> int | list[int]:
    return h if h == w else [h, w]


_POOL_KINDS = {"maxpool": LayerKind.MAXPOOL, "avgpool": LayerKind.AVGPOOL}
_LAYER_TYPES: dict[str, Callable[..., Layer]] = {
    "conv": Conv,
    "conv_transpose": ConvTranspose,
    "fc": Fc,
    "batchnorm": BatchNorm,
    "flatten": Flatten,
    "dropout": Dropout,
    **{kind: partial(Pool, kind=value) for kind, value in _POOL_KINDS.items()},
    **{kind: partial(Activation, kind=kind) for kind in ("relu", "tanh", "sigmoid")},
}
_LAYER_CACHE: dict[str, Layer] = {}


def to_layer(layer: LayerSpec) -> Layer:
    """The layer a spec entry describes.

    The quiz writes only the options whose names are the dataclass fields (filters, kernel,
    stride, padding, dilation, groups, bias, output_padding, units), so the entry is built
    directly: the spec parser's checks are for what people type and cost 0.1 ms a layer,
    which 10,000 problems cannot afford. The tests parse every `given` with the parser too.
    """
    built = getattr(layer, "built", None)
    if built is not None:
        return built
    key = repr(layer)
    cached = _LAYER_CACHE.get(key)
    if cached is None:
        kind, options = _kind_and_options(layer)
        cached = _LAYER_CACHE[key] = _LAYER_TYPES[kind](path=kind, **options)
    if isinstance(layer, Entry):
        layer.built = cached  # entries are never changed after spec() made them
    return cached


_MATH_CACHE: dict[tuple[int, Shape], LayerMath | CnnCalcError] = {}
_MATH_CACHE_SIZE = 50_000  # entries (≈ 10 MB at most); the draws of a set repeat layers and shapes often


def run(shape: Shape, layers: Iterable[LayerSpec]) -> list[LayerMath]:
    """Each layer's `layer_math`, in order. Raises CnnCalcError where torch would refuse.

    A large set draws the same layer on the same input many times (a third of all draws are duplicates
    that are skipped, and stacks share layers): each answer is computed once, keyed by the built layer
    (one object per distinct spec entry, see `to_layer`) and the input shape."""
    out = []
    for item in layers:
        layer = to_layer(item)
        key = (id(layer), shape)
        math = _MATH_CACHE.get(key)
        if math is None:
            try:
                math = layer_math(layer, shape)
            except CnnCalcError as exc:
                math = exc
            if len(_MATH_CACHE) < _MATH_CACHE_SIZE:
                _MATH_CACHE[key] = math
        if isinstance(math, CnnCalcError):
            raise math.with_traceback(None)  # raised again and again: each raise would lengthen its traceback
        out.append(math)
        shape = math.output
    return out


def parse_given_shape(text: str) -> Shape:
    from cnncalc.model.shapes import parse_shape

    return parse_shape(text)


def _given(shape: Shape, layers: list[LayerSpec], **extra: Any) -> dict[str, Any]:
    return {"input": shape.hwc(), "layers": layers, **extra}


def _kind_and_options(layer: LayerSpec) -> tuple[str, dict[str, Any]]:
    if isinstance(layer, str):
        return layer, {}
    ((kind, options),) = layer.items()
    return kind, options


def step(layer: LayerSpec, shape: Shape, math: LayerMath) -> dict[str, Any]:
    """What a worked solution shows for one layer: its formula per axis with the numbers in place, and the result."""
    node = to_layer(layer)
    out: dict[str, Any] = {"layer": layer, "kind": str(node.kind), "input": shape.hwc(), "output": math.output.hwc()}
    if isinstance(node, (Conv, Pool)):
        assert isinstance(shape, Spatial) and math.padding is not None
        top, bottom, left, right = math.padding
        out["height"] = formulas.conv_length_expression(shape.height, node.kernel[0], node.stride[0], top, bottom, node.dilation[0])
        out["width"] = formulas.conv_length_expression(shape.width, node.kernel[1], node.stride[1], left, right, node.dilation[1])
        out["out_h"], out["out_w"] = math.output.height, math.output.width  # type: ignore[union-attr]
        out["channels"] = math.output.channels
        out["channels_from"] = "filters" if isinstance(node, Conv) else "input"
        out["dilated"] = node.dilation != (1, 1)
        # torch floors the division; bundled networks do it on purpose (ResNet's 224 → 112 with a 7×7/2)
        out["floored"] = any(
            formulas.division_remainder(n, node.kernel[i], node.stride[i], before, after, node.dilation[i])
            for i, (n, before, after) in enumerate(((shape.height, top, bottom), (shape.width, left, right)))
        )
    elif isinstance(node, ConvTranspose):
        assert isinstance(shape, Spatial)
        for axis, n, i in (("height", shape.height, 0), ("width", shape.width, 1)):
            k, s, p, op, d = node.kernel[i], node.stride[i], node.padding[i], node.output_padding[i], node.dilation[i]
            span = f"({k} − 1)" if d == 1 else f"{d}·({k} − 1)"
            out[axis] = f"({n} − 1)·{s} − 2·{p} + {span}" + (f" + {op}" if op else "") + " + 1"
        out["out_h"], out["out_w"] = math.output.height, math.output.width  # type: ignore[union-attr]
        out["channels"] = math.output.channels
        out["channels_from"] = "filters"
    elif str(node.kind) == "flatten":
        assert isinstance(shape, Spatial)
        out["expr"] = f"{shape.height}·{shape.width}·{shape.channels}"
    return out


def params_expression(layer: LayerSpec, shape: Shape) -> str:
    """The parameter formula with the numbers in place, e.g. `(5·5·3 + 1)·6` (the value comes from the engine)."""
    node = to_layer(layer)
    if isinstance(node, (Conv, ConvTranspose)):
        return conv_param_formula(LayerUse(node, shape, shape, 0, 0))  # the text explain writes too
    if str(node.kind) == "fc":
        return f"({shape.features} + 1)·{node.units}" if node.bias else f"{shape.features}·{node.units}"  # type: ignore[union-attr]
    if str(node.kind) == "batchnorm":
        return f"2·{shape.channels}"
    return "0"


def macs_expression(layer: LayerSpec, shape: Shape, math: LayerMath) -> str:
    """The MAC formula with the numbers in place: output positions · weights per position."""
    node = to_layer(layer)
    if isinstance(node, Conv):
        return conv_mac_formula(LayerUse(node, shape, math.output, math.params, math.macs))  # as explain writes it
    if str(node.kind) == "fc":
        return f"{shape.features}·{node.units}"  # type: ignore[union-attr]
    return "0"


def _placed_alone(item: LayerSpec, index: int) -> Layer:
    """The layer of a spec entry at path `index` of a small network of its own: a distinct object (the walks key
    layers by identity, and to_layer shares equal ones), copied rather than built again."""
    layer = to_layer(item)
    return placed(layer, path=str(index), name=layer.name, pos=layer.pos, share=False)


def _analysed_alone(shape: Shape, items: tuple[LayerSpec, ...]) -> Analysis:
    """`analyse` of a small network of these entries on `shape`, once per network: the draws of a large set
    repeat the same few hundred (keyed by the built layers, which `to_layer` keeps for the whole run)."""
    key = (shape, *[id(to_layer(item)) for item in items])
    analysis = _ANALYSES.get(key)
    if analysis is None:
        nodes = tuple(_placed_alone(item, i) for i, item in enumerate(items))
        analysis = analyse(Network(name="quiz", input=shape, layers=nodes))
        if len(_ANALYSES) < _ANALYSES_SIZE:
            _ANALYSES[key] = analysis
    return analysis


_ANALYSES: dict[tuple, Analysis] = {}
_ANALYSES_SIZE = 20_000  # small networks of two layers: a few MB at most


def receptive_field(layers: Iterable[LayerSpec]) -> list[dict[str, Any]]:
    """Receptive field after each sliding layer of a square stack, from `cnncalc.core.receptive`.

    That module applies the recurrence r ← r + (k_eff − 1)·j, j ← j·s (Araujo et al., Distill
    2019); each step keeps the numbers a worked solution shows: r and j before, k_eff, r after.
    The field does not depend on the input size, so the stack runs on the input that gives an
    8×8 output with every window fitting, and the result is cached per stack. A stack is a plain
    chain: its height axis goes through `chain_axis` with the lengths and padding of `run`, the
    same geometry `receptive_fields` walks a whole network with, without building one.
    """
    from cnncalc.core.receptive import chain_axis

    items = list(layers)
    key = repr(items)
    if key in _RF_CACHE:
        return _RF_CACHE[key]
    size = _input_for(items, 8)
    shape: Shape = Spatial(size, size, 3)
    chain = []
    for item, math in zip(items, run(shape, items)):
        chain.append((to_layer(item), shape.sizes[0], math.output.sizes[0], None if math.padding is None else math.padding[0]))
        shape = math.output
    steps = []
    for item, axis in zip(items, chain_axis(chain)):
        if axis.window is None or axis.previous is None:
            continue  # a layer that moves no pixels
        steps.append({"layer": item, "k_eff": axis.window.effective_kernel, "jump": axis.previous.stride,
                      "before": axis.previous.size, "rf": axis.size, "stride": axis.window.stride, "next_jump": axis.stride})
    _RF_CACHE[key] = steps
    return steps


_RF_CACHE: dict[str, list[dict[str, Any]]] = {}  # stacks repeat across draws; the steps are never mutated


# ----------------------------------------------------------------------------- choosing numbers


_CHANNELS = (1, 3, 8, 16, 32, 64, 96, 128, 192, 256)
_FILTERS = (6, 8, 10, 12, 16, 20, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)


class _Draw:
    """Random choices for one difficulty (sizes a course would use; larger and odder when harder)."""

    def __init__(self, rng: random.Random, difficulty: Difficulty) -> None:
        self.rng = rng
        self.d = difficulty
        self.easy = difficulty is Difficulty.EASY
        self.hard = difficulty is Difficulty.HARD

    def choice(self, seq: Any) -> Any:
        return self.rng.choice(seq)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def channels(self) -> int:
        return self.choice(_CHANNELS[:6] if self.easy else _CHANNELS)

    def filters(self) -> int:
        return self.choice(_FILTERS[:9] if self.easy else _FILTERS)

    def axis(
        self,
        kernels: tuple[int, ...],
        strides: tuple[int, ...],
        paddings: Callable[[int, int], tuple[int, ...]],
        dilations: tuple[int, ...] = (1,),
        out: tuple[int, int] = (4, 32),
        size: tuple[int, int] = (5, 256),
        pool: bool = False,
    ) -> tuple[int, int, int, int, int]:
        """(n, k, s, p, d) along one axis with (n + 2p − d(k − 1) − 1)/s a whole number."""
        for _ in range(40):
            k, s, d = self.choice(kernels), self.choice(strides), self.choice(dilations)
            if s > k and (k, s) != (1, 2):
                continue  # a window that skips pixels between positions is not a design anyone uses (bar ResNet's 1x1/2 shortcut)
            span = formulas.effective_kernel(k, d)
            p = self.choice(paddings(k, span))
            if pool and 2 * p > k:
                continue
            o = self.rng.randint(*out)
            n = (o - 1) * s + span - 2 * p
            if size[0] <= n <= size[1]:
                return n, k, s, p, d
        raise _Reject

    def conv_axes(self, square: bool | None = None) -> tuple[tuple[int, ...], ...]:
        """Two axes (height, width) of a convolution, square unless hard."""
        if self.easy:
            args = dict(kernels=(1, 3, 5, 7), strides=(1, 1, 2), paddings=lambda k, span: (0, (k - 1) // 2), out=(3, 32), size=(5, 64))
        elif not self.hard:
            args = dict(kernels=(1, 3, 3, 5, 7, 11), strides=(1, 2, 2, 3, 4), paddings=lambda k, span: tuple(range(0, k // 2 + 1)), out=(4, 64), size=(7, 300))
        else:
            args = dict(
                kernels=(1, 2, 3, 3, 5, 7, 11),
                strides=(1, 2, 2, 3, 4),
                paddings=lambda k, span: tuple(range(0, span // 2 + 2)),
                dilations=(1, 1, 2, 3),
                out=(3, 80),
                size=(7, 512),
            )
        square = (not self.hard or self.chance(0.4)) if square is None else square
        if square:
            h = self.axis(**args)  # type: ignore[arg-type]
            return h, h
        # Non-square as real networks do it: a rectangular input, and either a square kernel or
        # one of the factorised ones (Inception's 1×7 / 7×1, 1×3 / 3×1); one stride and dilation for both axes.
        kh, kw = self.choice(((3, 3), (3, 3), (5, 5), (1, 3), (3, 1), (1, 7), (7, 1), (1, 5), (5, 1), (3, 5), (5, 3)))
        stride, dilation = self.choice(args["strides"]), self.choice(args.get("dilations", (1,)))  # type: ignore[arg-type]
        h = self.axis(**{**args, "kernels": (kh,), "strides": (stride,), "dilations": (dilation if kh > 1 else 1,)})  # type: ignore[arg-type]
        w = self.axis(**{**args, "kernels": (kw,), "strides": (stride,), "dilations": (dilation if kw > 1 else 1,)})  # type: ignore[arg-type]
        return h, w


def _input_for(layers: list[LayerSpec], out: int) -> int:
    """The input size that a square stack turns into `out` with every window fitting exactly: n = (o − 1)s + d(k − 1) + 1 − 2p, last layer first."""
    n = out
    for item in reversed(layers):
        node = to_layer(item)
        if isinstance(node, (Conv, Pool)):
            n = (n - 1) * node.stride[0] + formulas.effective_kernel(node.kernel[0], node.dilation[0]) - node.padding.explicit[0] - node.padding.explicit[1]
    return n


def _conv_from_axes(h: tuple[int, ...], w: tuple[int, ...], channels: int, filters: int, **extra: Any) -> tuple[Spatial, LayerSpec]:
    (nh, kh, sh, ph, dh), (nw, kw, sw, pw, dw) = h, w
    layer = spec("conv", filters=filters, kernel=_pair(kh, kw), stride=_pair(sh, sw), padding=_pair(ph, pw), dilation=_pair(dh, dw), **extra)
    return Spatial(nh, nw, channels), layer


# ----------------------------------------------------------------------------- the generators, one per topic


class _Generator:
    def __init__(self, rng: random.Random, difficulty: Difficulty, networks: dict[str, Network] | None) -> None:
        self.rng = rng
        self.draw = _Draw(rng, difficulty)
        self.difficulty = difficulty
        self._level = (Difficulty.EASY, Difficulty.MEDIUM, Difficulty.HARD).index(difficulty)
        self._networks = networks
        self._network_rows: dict[str, list[Any]] = {}  # name -> `_rows(name)`
        self._names: list[str] | None = None  # `_available()`
        self.seen: set[str] = set()  # the keys of the problems kept so far (iter_problems shares its own)

    def _not_drawn_before(self, topic: QuizTopic, kind: str, ask: Ask, given: dict[str, Any]) -> None:
        """Reject a problem already in the set once everything random about it is drawn, before its answer is
        computed: the outcome is the one its duplicate would have had (skipped), with the same draws made."""
        if problem_key(topic, kind, ask, given) in self.seen:
            raise _Reject

    # forms: each topic picks among the forms it supports, weighted by difficulty
    def form(self, **weights: tuple[float, float, float]) -> str:
        i = self._level
        pick = self.rng.random() * sum(w[i] for w in weights.values())
        for name, w in weights.items():
            pick -= w[i]
            if pick < 0 and w[i] > 0:
                return name
        return next(name for name, w in reversed(weights.items()) if w[i] > 0)

    # -- conv ---------------------------------------------------------------------------
    def conv(self) -> Problem:
        form = self.form(compute=(8, 5, 4), missing=(0, 2, 3), valid=(2, 1, 1), statements=(0, 2, 2))
        if form == "missing":
            return self._conv_missing()
        if form == "valid":
            return self._conv_valid()
        if form == "statements":
            return self._conv_statements()
        if self.draw.hard and self.draw.chance(0.4):
            return self._chain_output(QuizTopic.CONV, pools=False)
        shape, layer = _conv_from_axes(*self.draw.conv_axes(), self.draw.channels(), self.draw.filters())
        (math,) = run(shape, [layer])
        return Problem(
            QuizTopic.CONV, "conv_output", QuestionForm.COMPUTE, Ask.OUTPUT_SHAPE, _given(shape, [layer]),
            Answer.shape(math.output), {"steps": [step(layer, shape, math)]},
        )

    def _chain_output(self, topic: QuizTopic, pools: bool) -> Problem:
        """Hard: 2-4 layers in a row; the output of the last."""
        n = self.draw.choice((32, 48, 56, 64, 96, 112, 128, 224, 227))
        shape: Shape = Spatial(n, n if self.draw.chance(0.6) else self.draw.choice((n // 2 * 2 + 32, 2 * n, n - 16)), self.draw.choice((1, 3)))
        start = shape
        layers: list[LayerSpec] = []
        for i in range(self.rng.randint(2, 4)):
            assert isinstance(shape, Spatial)
            make_pool = (pools and i % 2 == 1) or (not pools and self.draw.chance(0.25))
            if make_pool:
                k = self.draw.choice((2, 2, 3))
                layer = spec(self.draw.choice(("maxpool", "avgpool")), kernel=k, stride=2)
            else:
                k = self.draw.choice((1, 3, 3, 5, 7))
                s = self.draw.choice((1, 1, 2)) if k > 1 else 1
                d = self.draw.choice((1, 1, 2)) if k == 3 else 1
                p = self.draw.choice((0, d * (k - 1) // 2))
                layer = spec("conv", filters=self.draw.filters(), kernel=k, stride=s, padding=p, dilation=d)
            node = to_layer(layer)
            assert isinstance(node, (Conv, Pool))
            math = run(shape, [layer])[0]
            remainder = [
                formulas.division_remainder(n_, node.kernel[0], node.stride[0], p_, p_, node.dilation[0])
                for n_, p_ in ((shape.height, math.padding[0]), (shape.width, math.padding[2]))  # type: ignore[index]
            ]
            if any(remainder) or min(math.output.height, math.output.width) < 3:  # type: ignore[union-attr]
                raise _Reject
            layers.append(layer)
            shape = math.output
        maths = run(start, layers)
        steps, current = [], start
        for layer, math in zip(layers, maths):
            steps.append(step(layer, current, math))
            current = math.output
        kind = "chain_output"
        return Problem(topic, kind, QuestionForm.COMPUTE, Ask.OUTPUT_SHAPE, _given(start, layers), Answer.shape(current), {"steps": steps})

    def _unique(self, make: Callable[[int], Any], target: Any, truth: int, lowest: int = 1) -> None:
        """Reject unless `truth` is the only value whose result (from the engine) equals `target`.

        Every quantity asked this way is monotonic in the missing value (output size in the
        stride, padding or kernel; parameters in the filters; receptive field in the depth),
        so the values giving `target` form an interval: it is {truth} exactly when neither
        neighbour gives `target` as well.
        """
        for value in (truth - 1, truth + 1):
            if value < lowest:
                continue
            try:
                result = make(value)
            except CnnCalcError:
                continue
            if result == target:
                raise _Reject
        if make(truth) != target:  # pragma: no cover - the problem was built from `truth`
            raise _Reject

    def _conv_missing(self, ask: Ask | None = None) -> Problem:
        if ask is None:
            ask = self.draw.choice((Ask.STRIDE, Ask.KERNEL) if self.draw.hard else (Ask.STRIDE,))
        (n, k, s, p, d) = self.draw.axis(
            kernels=(1, 3, 5, 7, 11), strides=(1, 2, 2, 3, 4), paddings=lambda k, span: tuple(range(0, k // 2 + 1)), out=(4, 64), size=(7, 300)
        )
        if ask is Ask.STRIDE and s == 1 and self.draw.chance(0.6):
            raise _Reject  # mostly ask for strides that do something
        c, f = self.draw.channels(), self.draw.filters()
        shape = Spatial(n, n, c)
        layer = spec("conv", filters=f, kernel=k, stride=s, padding=p)
        (math,) = run(shape, [layer])
        key = {Ask.STRIDE: "stride", Ask.KERNEL: "kernel", Ask.PADDING: "padding"}[ask]
        values = {"stride": s, "kernel": k, "padding": p}

        def output(value: int) -> Shape:
            return run(shape, [spec("conv", filters=f, **{**values, key: value})])[0].output

        self._unique(output, math.output, values[key], lowest=0 if key == "padding" else 1)
        topic = QuizTopic.PADDING if ask is Ask.PADDING else QuizTopic.CONV
        return Problem(
            topic, "conv_missing", QuestionForm.MISSING, ask, _given(shape, [layer]), Answer.number(values[key]),
            {"steps": [step(layer, shape, math)], "missing": key, "output": math.output.hwc()},
        )

    def _conv_valid(self) -> Problem:
        """True/false: does the window tile the padded input exactly? Half of them do not (torch then floors)."""
        n, k, s, p, d = self.draw.axis(kernels=(3, 5, 7, 11), strides=(2, 3, 4), paddings=lambda k, span: (0, 1, (k - 1) // 2), out=(4, 40), size=(7, 227))
        if self.draw.chance(0.5):
            n += self.rng.randint(1, s - 1)  # leave pixels over
        shape = Spatial(n, n, self.draw.channels())
        layer = spec("conv", filters=self.draw.filters(), kernel=k, stride=s, padding=p)
        (math,) = run(shape, [layer])
        remainder = formulas.division_remainder(n, k, s, p, p)
        numerator = formulas.conv_numerator(n, k, s, p, p)
        claim = Statement("fits", {}, remainder == 0)
        return Problem(
            QuizTopic.CONV, "conv_valid", QuestionForm.TRUE_FALSE, Ask.TRUE_FALSE, _given(shape, [layer]), Answer(AnswerKind.BOOL, claim.true),
            {"steps": [step(layer, shape, math)], "remainder": remainder, "numerator": numerator, "stride": s},
            (claim,),
        )

    def _conv_statements(self) -> Problem:
        """Which of four statements about one conv layer is wrong? The wrong one is a classic slip, computed by the engine."""
        shape, layer = _conv_from_axes(*self.draw.conv_axes(square=True), self.draw.channels(), self.draw.filters(), bias=self.draw.choice((True, False)))
        (math,) = run(shape, [layer])
        kind, opts = _kind_and_options(layer)
        true = [
            Statement("out_shape", {"shape": math.output.hwc()}, True),
            Statement("params", {"value": math.params}, True),
            Statement("macs", {"value": math.macs}, True),
            Statement("channels", {"value": math.output.channels}, True),
        ]
        slips = []
        flipped = {**opts, "bias": not to_layer(layer).bias}  # type: ignore[union-attr]
        slips.append((1, Statement("params", {"value": run(shape, [{kind: flipped}])[0].params}, False)))
        slips.append((1, Statement("params", {"value": run(Spatial(shape.height, shape.width, 1), [layer])[0].params}, False)))
        if opts.get("padding"):
            unpadded = {k: v for k, v in opts.items() if k != "padding"}
            try:
                slips.append((0, Statement("out_shape", {"shape": run(shape, [{kind: unpadded}])[0].output.hwc()}, False)))
            except CnnCalcError:
                pass
        if opts.get("stride"):
            unstrided = {k: v for k, v in opts.items() if k != "stride"}
            slips.append((2, Statement("macs", {"value": run(shape, [{kind: unstrided}])[0].macs}, False)))
        if shape.channels != math.output.channels:
            slips.append((3, Statement("channels", {"value": shape.channels}, False)))
        index, wrong = self.draw.choice(slips)
        if wrong.values == true[index].values:
            raise _Reject  # the slip makes no difference on these numbers
        statements = true[:index] + [wrong] + true[index + 1 :]
        self.rng.shuffle(statements)
        letter = "ABCD"[statements.index(wrong)]
        return Problem(
            QuizTopic.CONV, "layer_statements", QuestionForm.SPOT_WRONG, Ask.WRONG_STATEMENT, _given(shape, [layer]), Answer(AnswerKind.CHOICE, letter),
            {"steps": [step(layer, shape, math)], "params": math.params, "params_expr": params_expression(layer, shape), "macs": math.macs,
             "macs_expr": macs_expression(layer, shape, math), "slip": wrong.key},
            tuple(statements),
        )

    # -- pool ---------------------------------------------------------------------------
    def pool(self) -> Problem:
        form = self.form(compute=(1, 3, 3), missing=(0, 1, 1), chain=(0, 0, 1))
        if form == "chain":
            return self._chain_output(QuizTopic.POOL, pools=True)
        if self.draw.easy:
            args = dict(kernels=(2,), strides=(2,), paddings=lambda k, span: (0,), out=(2, 56), size=(4, 112))
        elif not self.draw.hard:
            args = dict(kernels=(2, 2, 3), strides=(1, 2, 2), paddings=lambda k, span: (0, 0, 1) if k > 2 else (0,), out=(2, 112), size=(4, 224))
        else:
            args = dict(kernels=(2, 3, 3, 4, 5), strides=(1, 2, 2, 3), paddings=lambda k, span: (0, 1) if k > 2 else (0,), out=(2, 112), size=(4, 300))
        h = self.draw.axis(pool=True, **args)  # type: ignore[arg-type]
        w = h if not self.draw.hard or self.draw.chance(0.5) else self.draw.axis(pool=True, **args)  # type: ignore[arg-type]
        (nh, kh, sh, ph, _), (nw, kw, sw, pw, _) = h, w
        kind = self.draw.choice(("maxpool", "maxpool", "avgpool"))
        options = {"kernel": _pair(kh, kw), "stride": _pair(sh, sw), "padding": _pair(ph, pw)}
        layer = spec(kind, **options)
        shape = Spatial(nh, nw, self.draw.channels() if not self.draw.easy else self.draw.choice((6, 16, 32, 64, 96)))
        (math,) = run(shape, [layer])
        if form == "missing":
            if (kh, sh) != (kw, sw) or ph != pw:
                raise _Reject
            key = self.draw.choice(("kernel", "stride"))
            values = {"kernel": kh, "stride": sh, "padding": ph}

            def output(value: int) -> Shape:
                return run(shape, [spec(kind, **{**values, key: value})])[0].output

            self._unique(output, math.output, values[key])
            layer = spec(kind, **values)
            return Problem(
                QuizTopic.POOL, "pool_missing", QuestionForm.MISSING, Ask(key), _given(shape, [layer]), Answer.number(values[key]),
                {"steps": [step(layer, shape, math)], "missing": key, "output": math.output.hwc()},
            )
        return Problem(
            QuizTopic.POOL, "pool_output", QuestionForm.COMPUTE, Ask.OUTPUT_SHAPE, _given(shape, [layer]), Answer.shape(math.output),
            {"steps": [step(layer, shape, math)]},
        )

    # -- transposed convolution -----------------------------------------------------------
    def transposed(self) -> Problem:
        form = self.form(compute=(1, 3, 3), missing=(0, 1, 2))
        d = self.draw
        if d.easy:
            k, s, p, op, dil = d.choice(((2, 2, 0, 0, 1), (4, 2, 1, 0, 1), (3, 1, 1, 0, 1), (3, 2, 1, 1, 1)))
        else:
            k = d.choice((2, 3, 4, 5))
            s = d.choice((1, 2, 2, 3))
            p = self.rng.randint(0, k - 1)
            dil = d.choice((1, 1, 2)) if d.hard else 1
            op = self.rng.randint(0, max(s, dil) - 1) if d.hard else 0
        n = d.choice((2, 4, 7, 8, 13, 14, 16, 28, 32, 56, 64))
        shape = Spatial(n, n, d.choice((16, 32, 64, 128, 256, 512)))
        layer = spec("conv_transpose", filters=d.choice((3, 16, 32, 64, 128, 256)), kernel=k, stride=s, padding=p, output_padding=op, dilation=dil)
        (math,) = run(shape, [layer])
        facts = {"steps": [step(layer, shape, math)]}
        if form == "missing":
            key = d.choice(("stride", "padding"))
            if key == "stride" and s == 1:
                raise _Reject
            values = {"kernel": k, "stride": s, "padding": p, "output_padding": op, "dilation": dil}
            opts = _kind_and_options(layer)[1]

            def output(value: int) -> Shape:
                return run(shape, [spec("conv_transpose", filters=opts["filters"], **{**values, key: value})])[0].output

            self._unique(output, math.output, values[key], lowest=0 if key == "padding" else 1)
            return Problem(
                QuizTopic.TRANSPOSED, "transposed_missing", QuestionForm.MISSING, Ask(key), _given(shape, [layer]), Answer.number(values[key]),
                {**facts, "missing": key, "output": math.output.hwc()},
            )
        return Problem(QuizTopic.TRANSPOSED, "transposed_output", QuestionForm.COMPUTE, Ask.OUTPUT_SHAPE, _given(shape, [layer]), Answer.shape(math.output), facts)

    # -- padding --------------------------------------------------------------------------
    def padding(self) -> Problem:
        form = self.form(compute=(3, 3, 3), missing=(0, 1, 2), claim=(1, 1, 1))
        if form == "missing":
            return self._conv_missing(Ask.PADDING)
        d = self.draw
        n = d.choice((7, 14, 28, 32, 56, 64, 112, 128, 224))
        if form == "claim":
            k = d.choice((3, 4, 5, 7) if not d.easy else (3, 5, 7))
            claimed = d.choice(((k - 1) // 2, (k - 1) // 2, k // 2 + 1, k - 1, k // 2)) if k % 2 else d.choice((k // 2, k // 2 - 1))
            shape = Spatial(n, n, d.channels())
            layer = spec("conv", filters=d.filters(), kernel=k, padding=claimed)
            (math,) = run(shape, [layer])
            same = run(shape, [spec("conv", filters=1, kernel=k, padding="same")])[0].padding
            claim = Statement("keeps_size", {"n": n, "k": k, "p": claimed}, (math.output.height, math.output.width) == (n, n))  # type: ignore[union-attr]
            return Problem(
                QuizTopic.PADDING, "padding_claim", QuestionForm.TRUE_FALSE, Ask.TRUE_FALSE, _given(shape, [layer]), Answer(AnswerKind.BOOL, claim.true),
                {"steps": [step(layer, shape, math)], "same": same}, (claim,),
            )
        kh = d.choice((1, 3, 5, 7, 9, 11) if not d.easy else (3, 5, 7))
        kw, dh, dw = kh, 1, 1
        if d.hard:
            if d.chance(0.5):
                kw = d.choice((1, 3, 5, 7))
            if d.chance(0.5):
                dh = dw = d.choice((2, 3, 4))
        shape = Spatial(n, n if kw == kh else d.choice((n, 2 * n)), d.channels())
        if formulas.effective_kernel(kh, dh) > shape.height or formulas.effective_kernel(kw, dw) > shape.width:
            raise _Reject  # torch pads it, but a "same" window wider than the image is not a network anybody builds
        layer = spec("conv", filters=d.filters(), kernel=_pair(kh, kw), padding="same", dilation=_pair(dh, dw))
        (math,) = run(shape, [layer])
        top, bottom, left, right = math.padding  # type: ignore[misc]
        if top != bottom or left != right:
            raise _Reject  # even kernels need an uneven split: asked as a true/false claim instead
        explicit = spec("conv", filters=_kind_and_options(layer)[1]["filters"], kernel=_pair(kh, kw), padding=_pair(top, left), dilation=_pair(dh, dw))
        answer = Answer(AnswerKind.PAIR, (top, left)) if (kh, dh) != (kw, dw) else Answer.number(top)
        return Problem(
            QuizTopic.PADDING, "same_padding", QuestionForm.COMPUTE, Ask.PADDING, _given(shape, [explicit]), answer,
            {"steps": [step(explicit, shape, run(shape, [explicit])[0])], "kernel": (kh, kw), "dilation": (dh, dw),
             "span": (formulas.effective_kernel(kh, dh), formulas.effective_kernel(kw, dw)), "padding": (top, left)},
        )

    # -- parameters -----------------------------------------------------------------------
    def params(self) -> Problem:
        form = self.form(conv=(4, 3, 3), fc=(2, 2, 1), bn=(1, 1, 1), missing=(0, 1, 2), claim=(1, 1, 1))
        d = self.draw
        if form == "fc":
            n = d.choice((5, 6, 7, 8, 14, 28, 32, 64) if not d.easy else (4, 5, 8, 28, 32))
            shape = Spatial(n, n, d.choice((1, 3, 16, 32, 64, 256, 512)))
            layers = ["flatten", spec("fc", units=d.choice((10, 84, 100, 120, 128, 256, 1000, 4096)), bias=not (d.hard and d.chance(0.3)))]
            given = _given(shape, layers)
            self._not_drawn_before(QuizTopic.PARAMS, "fc_params", Ask.PARAMS, given)
            maths = run(shape, layers)
            return Problem(
                QuizTopic.PARAMS, "fc_params", QuestionForm.COMPUTE, Ask.PARAMS, given, Answer.number(maths[1].params),
                {"features": maths[0].output.elements, "flatten": step(layers[0], shape, maths[0])["expr"], "expr": params_expression(layers[1], maths[0].output)},
            )
        if form == "bn":
            n = d.choice((7, 14, 28, 56, 112))
            shape = Spatial(n, n, d.choice((16, 32, 64, 128, 256, 512, 1024, 2048)))
            layers = [spec("batchnorm")]
            given = _given(shape, layers)
            self._not_drawn_before(QuizTopic.PARAMS, "bn_params", Ask.PARAMS, given)
            (math,) = run(shape, layers)
            return Problem(
                QuizTopic.PARAMS, "bn_params", QuestionForm.COMPUTE, Ask.PARAMS, given, Answer.number(math.params),
                {"expr": params_expression(layers[0], shape), "running": math.running_stats},
            )
        shape, layer = self._param_conv()
        given = _given(shape, [layer])
        if form == "missing":
            self._not_drawn_before(QuizTopic.PARAMS, "params_missing", Ask.FILTERS, given)
        elif form != "claim":  # a claim draws its number after the count is known
            self._not_drawn_before(QuizTopic.PARAMS, "conv_params", Ask.PARAMS, given)
        (math,) = run(shape, [layer])
        kind, opts = _kind_and_options(layer)
        facts = {"expr": params_expression(layer, shape), "steps": [step(layer, shape, math)]}
        if form == "missing":
            filters = opts["filters"]

            def params(value: int) -> int:
                return run(shape, [{kind: {**opts, "filters": value}}])[0].params

            self._unique(params, math.params, filters)
            return Problem(QuizTopic.PARAMS, "params_missing", QuestionForm.MISSING, Ask.FILTERS, given, Answer.number(filters), {**facts, "params": math.params})
        if form == "claim":
            slips = [run(shape, [{kind: {**opts, "bias": not to_layer(layer).bias}}])[0].params,  # type: ignore[union-attr]
                     run(Spatial(shape.height, shape.width, 1), [layer])[0].params]
            claimed = math.params if d.chance(0.5) else d.choice(slips)
            claim = Statement("params", {"value": claimed}, claimed == math.params)
            return Problem(QuizTopic.PARAMS, "params_claim", QuestionForm.TRUE_FALSE, Ask.TRUE_FALSE, given, Answer(AnswerKind.BOOL, claim.true), {**facts, "params": math.params}, (claim,))
        return Problem(QuizTopic.PARAMS, "conv_params", QuestionForm.COMPUTE, Ask.PARAMS, given, Answer.number(math.params), facts)

    def _param_conv(self) -> tuple[Spatial, LayerSpec]:
        d = self.draw
        k = d.choice((1, 3, 3, 5, 7) if not d.easy else (3, 5))
        c, f = d.channels(), d.filters()
        groups = 1
        if d.hard and d.chance(0.3):
            groups = d.choice([g for g in (2, 4, 8, 16, 32, c) if c % g == 0 and f % g == 0 and g <= c] or [1])
        bias = True if d.easy else d.chance(0.6)
        size = d.choice((14, 28, 32, 56, 64, 224))
        return Spatial(size, size, c), spec("conv", filters=f, kernel=k, padding=(k - 1) // 2, groups=groups, bias=bias)

    # -- MACs -----------------------------------------------------------------------------
    def macs(self) -> Problem:
        form = self.form(conv=(3, 3, 2), fc=(1, 1, 1), bottleneck=(1, 2, 2))
        d = self.draw
        if form == "fc":
            shape = Vector(d.choice((400, 512, 784, 1024, 2048, 4096, 9216, 25088)))
            layer = spec("fc", units=d.choice((10, 84, 100, 120, 256, 1000, 4096)))
            given = _given(shape, [layer])
            self._not_drawn_before(QuizTopic.MACS, "fc_macs", Ask.MACS, given)
            (math,) = run(shape, [layer])
            return Problem(QuizTopic.MACS, "fc_macs", QuestionForm.COMPUTE, Ask.MACS, given, Answer.number(math.macs), {"expr": macs_expression(layer, shape, math)})
        if form == "bottleneck":
            n = d.choice((14, 28, 56) if not d.hard else (7, 14, 17, 28, 35, 56))
            c = d.choice((128, 192, 256, 480, 512))
            k = d.choice((3, 5))
            f = d.choice((32, 64, 96, 128, 192, 256))
            r = d.choice([x for x in (16, 24, 32, 48, 64, 96) if x < c and x <= f] or [16])
            shape = Spatial(n, n, c)
            direct = [spec("conv", filters=f, kernel=k, padding=(k - 1) // 2)]
            cheap = [spec("conv", filters=r, kernel=1), spec("conv", filters=f, kernel=k, padding=(k - 1) // 2)]
            given = _given(shape, direct, versus=cheap)
            self._not_drawn_before(QuizTopic.MACS, "bottleneck", Ask.MACS_SAVED, given)
            direct_m, cheap_m = run(shape, direct), run(shape, cheap)
            saved = direct_m[0].macs - sum(m.macs for m in cheap_m)
            if saved <= 0:
                raise _Reject
            return Problem(
                QuizTopic.MACS, "bottleneck", QuestionForm.COMPUTE, Ask.MACS_SAVED, given, Answer.number(saved),
                {"direct": direct_m[0].macs, "direct_expr": macs_expression(direct[0], shape, direct_m[0]),
                 "parts": [m.macs for m in cheap_m], "cheap": sum(m.macs for m in cheap_m),
                 "parts_expr": [macs_expression(cheap[0], shape, cheap_m[0]), macs_expression(cheap[1], cheap_m[0].output, cheap_m[1])],
                 "reduced": r},
            )
        shape, layer = _conv_from_axes(*self.draw.conv_axes(), self.draw.channels(), self.draw.filters())
        given = _given(shape, [layer])
        self._not_drawn_before(QuizTopic.MACS, "conv_macs", Ask.MACS, given)
        (math,) = run(shape, [layer])
        return Problem(
            QuizTopic.MACS, "conv_macs", QuestionForm.COMPUTE, Ask.MACS, given, Answer.number(math.macs),
            {"expr": macs_expression(layer, shape, math), "steps": [step(layer, shape, math)]},
        )

    # -- activations ----------------------------------------------------------------------
    def activations(self) -> Problem:
        form = self.form(single=(1, 1, 1), total=(0, 0, 1))
        if form == "total":
            base = self._chain_output(QuizTopic.ACTIVATIONS, pools=self.draw.chance(0.5))
            shape = parse_given_shape(base.given["input"])
            layers = tuple(to_layer(layer) for layer in base.given["layers"])
            totals = analyse(Network(name="quiz", input=shape, layers=layers)).totals
            return Problem(
                QuizTopic.ACTIVATIONS, "activations_total", QuestionForm.COMPUTE, Ask.ACTIVATIONS, base.given, Answer.number(totals.activations),
                {"steps": base.facts["steps"]},
            )
        if self.draw.chance(0.7):
            shape, layer = _conv_from_axes(*self.draw.conv_axes(), self.draw.channels(), self.draw.filters())
        else:
            n = self.draw.choice((8, 14, 28, 56, 112, 224))
            shape, layer = Spatial(n, n, self.draw.choice((16, 32, 64, 96, 128, 256))), spec(self.draw.choice(("maxpool", "avgpool")), kernel=2, stride=2)
        (math,) = run(shape, [layer])
        return Problem(
            QuizTopic.ACTIVATIONS, "activations", QuestionForm.COMPUTE, Ask.ACTIVATIONS, _given(shape, [layer]), Answer.number(math.output.elements),
            {"steps": [step(layer, shape, math)]},
        )

    # -- memory kept for backward ------------------------------------------------------------
    def memory(self) -> Problem:
        """A layer in the middle of a network being trained (after a 3×3 conv, so a gradient flows into
        it): how many bytes it keeps for the backward pass at a batch size and dtype. The answer and each
        part of it come from the memory engine (`kept_parts`), which tests/ check against torch's saved tensors."""
        from cnncalc.core.memory import kept_parts
        from cnncalc.enums import Dtype

        d = self.draw
        n = d.choice((8, 14, 16, 28, 32) if d.easy else (7, 14, 16, 28, 32, 56, 64, 112))
        shape = Spatial(n, n, d.choice((1, 3) if d.easy else (3, 16, 32, 64)))
        first = spec("conv", filters=d.choice((8, 16, 32, 64)), kernel=3, padding=1)
        options = [spec("relu"), spec("maxpool", kernel=2, stride=2), spec("conv", filters=d.choice((16, 32, 64)), kernel=3, padding=1)]
        if not d.easy:
            options += [spec("batchnorm"), spec("dropout", p=0.5), spec("avgpool", kernel=2, stride=2), spec("sigmoid")]
        layer = d.choice(options)
        if d.easy:
            batch, dtype = 1, Dtype.FLOAT32
        else:
            batch = d.choice((8, 16, 32, 64, 128))
            dtype = d.choice((Dtype.FLOAT32, Dtype.FLOAT16) if not d.hard else (Dtype.FLOAT32, Dtype.FLOAT16, Dtype.BFLOAT16))
        given = _given(shape, [first, layer], batch=batch, dtype=str(dtype))
        self._not_drawn_before(QuizTopic.MEMORY, "memory_saved", Ask.SAVED_BYTES, given)
        analysis = _analysed_alone(shape, (first, layer))
        parts = kept_parts(analysis, batch, dtype).get("1", [])
        if not parts:
            raise _Reject
        row = analysis.rows[1]
        facts = {
            "parts": [[k.what, k.elements, k.fixed, k.type, k.bytes] for k in parts],
            "in": row.input.hwc(),
            "out": row.output.hwc(),
            "itemsize": dtype.bytes,
        }
        return Problem(QuizTopic.MEMORY, "memory_saved", QuestionForm.COMPUTE, Ask.SAVED_BYTES, given, Answer.number(sum(k.bytes for k in parts)), facts)

    # -- receptive field ------------------------------------------------------------------
    def receptive(self) -> Problem:
        form = self.form(stack=(3, 3, 3), compare=(1, 2, 2), missing=(0, 1, 1), claim=(1, 1, 1))
        d = self.draw
        if form == "compare":
            k, count = d.choice(((5, 2), (7, 3))) if not d.hard else d.choice(((5, 2), (7, 3), (9, 4), (11, 5)))
            c = d.choice((16, 32, 64, 128, 256))
            bias = d.hard and d.chance(0.5)
            n = d.choice((28, 32, 56, 64))
            shape = Spatial(n, n, c)
            big = [spec("conv", filters=c, kernel=k, padding=(k - 1) // 2, bias=bias)]
            small = [spec("conv", filters=c, kernel=3, padding=1, bias=bias)] * count
            given = _given(shape, big, versus=small)
            self._not_drawn_before(QuizTopic.RECEPTIVE_FIELD, "rf_compare", Ask.PARAMS_SAVED, given)
            big_m, small_m = run(shape, big), run(shape, small)
            return Problem(
                QuizTopic.RECEPTIVE_FIELD, "rf_compare", QuestionForm.COMPUTE, Ask.PARAMS_SAVED, given,
                Answer.number(big_m[0].params - sum(m.params for m in small_m)),
                {"big": big_m[0].params, "small": small_m[0].params, "small_total": sum(m.params for m in small_m), "count": count, "k": k, "c": c, "bias": bias,
                 "big_expr": params_expression(big[0], shape), "small_expr": params_expression(small[0], shape),
                 "rf_big": receptive_field(big)[-1]["rf"], "rf_small": receptive_field(small)[-1]["rf"]},
            )
        if form in ("missing", "claim") or d.easy:
            k = d.choice((3, 3, 5))
            count = self.rng.randint(2, 6)
            layers = [spec("conv", filters=64, kernel=k, padding=(k - 1) // 2)] * count
        else:
            layers = []
            for _ in range(self.rng.randint(2, 5)):
                if d.chance(0.3):
                    layers.append(spec("maxpool", kernel=2, stride=2))
                else:
                    k = d.choice((1, 3, 3, 5, 7))
                    dil = d.choice((1, 1, 2, 4)) if d.hard and k == 3 else 1
                    s = d.choice((1, 1, 2)) if k > 1 else 1
                    layers.append(spec("conv", filters=d.choice((32, 64, 128)), kernel=k, stride=s, padding=dil * (k - 1) // 2, dilation=dil))
        n = _input_for(layers, self.rng.randint(4, 16))
        if n > 512:
            raise _Reject
        shape = Spatial(n, n, 3)
        given = _given(shape, layers)
        if form == "missing":
            self._not_drawn_before(QuizTopic.RECEPTIVE_FIELD, "rf_missing", Ask.LAYERS, given)
        elif form != "claim":  # a claim draws its number after the field is known
            self._not_drawn_before(QuizTopic.RECEPTIVE_FIELD, "rf_stack", Ask.RECEPTIVE_FIELD, given)
        run(shape, layers)  # the stack must be a valid network (the engine raises otherwise)
        steps = receptive_field(layers)
        rf = steps[-1]["rf"]
        if form == "missing":
            k = to_layer(layers[0]).kernel[0]  # type: ignore[union-attr]

            def field_of(count: int) -> int:
                return receptive_field([layers[0]] * count)[-1]["rf"]

            self._unique(field_of, rf, len(layers))
            return Problem(QuizTopic.RECEPTIVE_FIELD, "rf_missing", QuestionForm.MISSING, Ask.LAYERS, given, Answer.number(len(layers)), {"steps": steps, "rf": rf, "k": k})
        if form == "claim":
            k = to_layer(layers[0]).kernel[0]  # type: ignore[union-attr]
            claimed = d.choice((rf, rf, rf - (k - 1), rf + (k - 1), len(layers) * k))
            if claimed < 1:
                raise _Reject
            claim = Statement("rf", {"count": len(layers), "k": k, "value": claimed}, claimed == rf)
            return Problem(QuizTopic.RECEPTIVE_FIELD, "rf_claim", QuestionForm.TRUE_FALSE, Ask.TRUE_FALSE, given, Answer(AnswerKind.BOOL, claim.true), {"steps": steps, "rf": rf}, (claim,))
        return Problem(QuizTopic.RECEPTIVE_FIELD, "rf_stack", QuestionForm.COMPUTE, Ask.RECEPTIVE_FIELD, given, Answer.number(rf), {"steps": steps})

    # -- pooling facts --------------------------------------------------------------------
    def pool_facts(self) -> Problem:
        form = self.form(value=(2, 1, 1), claim=(2, 2, 1), statements=(0, 1, 2))
        d = self.draw
        k = d.choice((2, 2, 3))
        # 2×2/2 on an even size, 3×3/2 on an odd one (AlexNet's 55 → 27): the windows tile exactly
        n = d.choice((8, 14, 16, 28, 32, 56, 112, 224) if k == 2 else (7, 13, 15, 27, 29, 55, 57, 111, 113))
        kind = d.choice(("maxpool", "avgpool"))
        shape = Spatial(n, n, d.choice((3, 6, 16, 32, 64, 96, 128, 256, 512)))
        layer = spec(kind, kernel=k, stride=2, padding=d.choice((0, 1)) if k == 3 else 0)
        (math,) = run(shape, [layer])
        facts = {"steps": [step(layer, shape, math)], "params": math.params, "channels": math.output.channels, "output": math.output.hwc()}
        given = _given(shape, [layer])
        if form == "value":
            ask = d.choice((Ask.PARAMS, Ask.CHANNELS))
            value = math.params if ask is Ask.PARAMS else math.output.channels
            return Problem(QuizTopic.POOL_FACTS, "pool_value", QuestionForm.COMPUTE, ask, given, Answer.number(value), facts)
        c = shape.channels
        true = [
            Statement("pool_params", {"value": math.params}, True),
            Statement("pool_channels", {"value": math.output.channels}, True),
            Statement("out_shape", {"shape": math.output.hwc()}, True),
            Statement("pool_learns", {"learns": False}, True),
        ]
        wrong = [
            Statement("pool_params", {"value": k * k * c}, False),
            Statement("pool_channels", {"value": 1 if c != 1 else 3}, False),
            Statement("out_shape", {"shape": Spatial(math.output.height, math.output.width, k * k).hwc()}, False),  # type: ignore[union-attr]
            Statement("pool_learns", {"learns": True}, False),
        ]
        if form == "claim":
            i = self.rng.randrange(4)
            claim = d.choice((true[i], wrong[i]))
            return Problem(QuizTopic.POOL_FACTS, "pool_claim", QuestionForm.TRUE_FALSE, Ask.TRUE_FALSE, given, Answer(AnswerKind.BOOL, claim.true), facts, (claim,))
        i = self.rng.randrange(4)
        statements = true[:i] + [wrong[i]] + true[i + 1 :]
        self.rng.shuffle(statements)
        return Problem(
            QuizTopic.POOL_FACTS, "pool_statements", QuestionForm.SPOT_WRONG, Ask.WRONG_STATEMENT, given,
            Answer(AnswerKind.CHOICE, "ABCD"[statements.index(wrong[i])]), {**facts, "slip": wrong[i].key}, tuple(statements),
        )

    # -- concat ---------------------------------------------------------------------------
    def concat(self) -> Problem:
        """An Inception module's output (its branches' channels add up), or a DenseNet block's growth."""
        d = self.draw
        form = self.form(inception=(2, 2, 2), dense=(1, 2, 2))
        n = d.choice((14, 28, 56) if d.easy else (7, 14, 17, 28, 35, 56))
        if form == "dense":
            c0, growth = d.choice((16, 24, 32, 64)), d.choice((12, 16, 32))
            count = self.rng.randint(2, 4 if d.easy else 6)
            unit = [spec("batchnorm"), spec("relu"), spec("conv", filters=growth, kernel=3, padding=1, bias=False)]
            given = {"input": Spatial(n, n, c0).hwc(), "layers": [{"concat": {"branches": [[], unit]}} for _ in range(count)]}
            self._not_drawn_before(QuizTopic.CONCAT, "dense_channels", Ask.CHANNELS, given)
            out: Shape = Spatial(n, n, c0)
            for _ in range(count):  # each layer: the unit's output joined to its input along the channels (torch.cat)
                new = run(out, unit)[-1].output
                out = Spatial(*out.sizes, out.channels + new.channels)  # type: ignore[union-attr]
            return Problem(QuizTopic.CONCAT, "dense_channels", QuestionForm.COMPUTE, Ask.CHANNELS, given, Answer.number(out.channels),
                           {"c0": c0, "growth": growth, "count": count, "out": out.hwc()})
        c = d.choice((64, 128, 192, 256, 480, 512, 832))
        widths = (16, 32, 48, 64, 96, 128, 160, 192, 208, 256, 320, 384)
        branches = [
            [spec("conv", filters=d.choice(widths), kernel=1)],
            [spec("conv", filters=d.choice(widths), kernel=1), spec("conv", filters=d.choice(widths), kernel=3, padding=1)],
            [spec("conv", filters=d.choice(widths[:5]), kernel=1), spec("conv", filters=d.choice(widths), kernel=5, padding=2)],
            [spec("maxpool", kernel=3, stride=1, padding=1), spec("conv", filters=d.choice(widths), kernel=1)],
        ]
        if d.easy:
            branches = [branches[0], branches[1]] if d.chance(0.5) else [branches[0], branches[3]]
        shape = Spatial(n, n, c)
        given = {"input": shape.hwc(), "layers": [{"concat": {"branches": branches}}]}
        self._not_drawn_before(QuizTopic.CONCAT, "inception_output", Ask.OUTPUT_SHAPE, given)
        outputs = [run(shape, branch)[-1].output for branch in branches]
        if len({o.sizes for o in outputs}) != 1:  # type: ignore[union-attr]
            raise _Reject
        channels = [o.channels for o in outputs]
        out = Spatial(*outputs[0].sizes, sum(channels))  # type: ignore[union-attr]  # torch.cat along the channels
        return Problem(QuizTopic.CONCAT, "inception_output", QuestionForm.COMPUTE, Ask.OUTPUT_SHAPE, given, Answer.shape(out),
                       {"branch_channels": channels, "out": out.hwc()})

    # -- residual -------------------------------------------------------------------------
    def residual(self) -> Problem:
        """A basic block's residual branch: can its input be added as it is, and if not, what 1×1 projection makes the shapes match."""
        d = self.draw
        c = d.choice((32, 64, 128, 256))
        n = d.choice((14, 28, 56, 112) if not d.hard else (14, 15, 27, 28, 56, 57))
        stride = d.choice((1, 2) if not d.hard else (1, 2, 2, 3))
        filters = c if stride == 1 and d.chance(0.5) else d.choice((c, 2 * c))
        branch = [spec("conv", filters=filters, kernel=3, stride=stride, padding=1, bias=False), spec("batchnorm"), spec("relu"),
                  spec("conv", filters=filters, kernel=3, padding=1, bias=False), spec("batchnorm")]
        shape = Spatial(n, n, c)
        given = {"input": shape.hwc(), "layers": branch}
        out = run(shape, branch)[-1].output
        match = out == shape
        facts = {"out": out.hwc(), "in": shape.hwc()}
        if match or d.chance(0.4):
            claim = Statement("identity_add", {"in": shape.hwc(), "out": out.hwc()}, match)
            return Problem(QuizTopic.RESIDUAL, "residual_identity", QuestionForm.TRUE_FALSE, Ask.TRUE_FALSE, given,
                           Answer(AnswerKind.BOOL, match), facts, (claim,))
        # the projection: the one stride at which a 1×1 convolution gives the branch's size (nn.Conv2d(c, filters, 1, stride))
        fits = [t for t in range(1, 5) if run(shape, [spec("conv", filters=out.channels, kernel=1, stride=t)])[0].output == out]
        if len(fits) != 1:
            raise _Reject
        projection = spec("conv", filters=out.channels, kernel=1, stride=fits[0], bias=False)
        return Problem(QuizTopic.RESIDUAL, "residual_projection", QuestionForm.COMPUTE, Ask.PROJECTION, given,
                       Answer(AnswerKind.PAIR, (out.channels, fits[0])),
                       {**facts, "projection": projection, "projected": run(shape, [projection])[0].output.hwc()})

    # -- decoder --------------------------------------------------------------------------
    def decoder(self) -> Problem:
        """A U-Net decoder step (Ronneberger et al. 2015): a 2×2 up-convolution with stride 2 (or an upsampling and
        a convolution) doubles the size; the encoder's skip is centre-cropped to it and concatenated."""
        d = self.draw
        form = self.form(crop=(1, 2, 2), concat=(2, 2, 2), upsample=(1, 1, 2))
        m = d.choice((14, 28, 32, 52, 64) if not d.hard else (13, 28, 30, 52, 100, 196))
        c = d.choice((128, 256, 512, 1024))
        shape = Spatial(m, m, c)
        if form == "upsample":
            filters = d.choice((c // 2, c // 4))
            layers = [spec("upsample", scale=2), spec("conv", filters=filters, kernel=3, padding=1)]
            up = _final_output(_analyse_given({"input": shape.hwc(), "layers": layers}))
            skip = Spatial(up.height, up.width, d.choice((filters, c // 2)))  # type: ignore[union-attr]
            crop = 0
        else:
            layers = [spec("conv_transpose", filters=c // 2, kernel=2, stride=2)]
            up = run(shape, layers)[0].output
            crop = d.choice((0, 2, 4, 4, 8) if not d.easy else (0, 4, 4))
            skip = Spatial(up.height + 2 * crop, up.width + 2 * crop, c // 2)  # type: ignore[union-attr]
        cropped = layer_math(Crop(path="crop", size=(up.height, up.width)), skip).output if crop else skip  # type: ignore[union-attr]
        given = {"input": shape.hwc(), "layers": layers, "skip": skip.hwc()}
        out = Spatial(*cropped.sizes, cropped.channels + up.channels)  # torch.cat([skip, x], dim=1): the channels add
        facts = {"up": up.hwc(), "cropped": cropped.hwc(), "out": out.hwc(), "crop": (skip.height - cropped.height) // 2}  # type: ignore[union-attr]
        if form == "crop":
            if not crop:
                raise _Reject
            return Problem(QuizTopic.DECODER, "decoder_crop", QuestionForm.COMPUTE, Ask.CROP, given, Answer.number(facts["crop"]), facts)
        return Problem(QuizTopic.DECODER, "decoder_concat", QuestionForm.COMPUTE, Ask.OUTPUT_SHAPE, given, Answer.shape(out), facts)

    # -- 1-D and 3-D ----------------------------------------------------------------------
    def ranks(self) -> Problem:
        """A convolution over a signal (L×C: audio, text) or a volume (D×H×W×C: video, CT scans)."""
        d = self.draw
        ask = d.choice((Ask.OUTPUT_SHAPE, Ask.OUTPUT_SHAPE, Ask.PARAMS))
        if d.chance(0.5):
            n, k, s, p, dil = d.axis(kernels=(3, 5, 7, 9, 11, 80), strides=(1, 1, 2, 4), paddings=lambda k, span: (0, (k - 1) // 2),
                                     out=(8, 4000), size=(16, 16000))
            shape = Spatial(n, d.choice((1, 1, 16, 32, 64)))
            layer = spec("conv", filters=d.filters(), kernel=[k], stride=[s] if s != 1 else None, padding=[p] if p else None)
            kind = "conv1d"
        else:
            frames = d.choice((8, 16, 32))
            kd, kh = d.choice(((3, 3), (3, 3), (1, 3), (3, 1), (1, 7), (3, 7)))
            sd, sh = d.choice(((1, 1), (1, 2), (2, 2)))
            pd, ph = (kd - 1) // 2, (kh - 1) // 2
            n = d.choice((56, 112, 28) if not d.hard else (56, 112, 28, 57, 113))
            shape = Spatial(frames, n, n, d.choice((3, 32, 64)))
            layer = spec("conv", filters=d.filters(), kernel=[kd, kh, kh], stride=[sd, sh, sh] if (sd, sh) != (1, 1) else None,
                         padding=[pd, ph, ph] if (pd, ph) != (0, 0) else None)
            kind = "conv3d"
        given = {"input": shape.hwc(), "layers": [layer]}
        # built with every per-axis option written out (the spec's defaults are 2-D when built outside a spec)
        _, options = _kind_and_options(layer)
        rank = shape.rank
        full = {"conv": {"filters": options["filters"], "kernel": options["kernel"], "stride": options.get("stride", [1] * rank),
                         "padding": options.get("padding", [0] * rank), "dilation": [1] * rank}}
        math = run(shape, [full])[0]
        answer = Answer.shape(math.output) if ask is Ask.OUTPUT_SHAPE else Answer.number(math.params)
        return Problem(QuizTopic.RANKS, kind, QuestionForm.COMPUTE, ask, given, answer,
                       {"out": math.output.hwc(), "params": math.params, "padding": list(math.padding or ())})

    # -- bundled networks -----------------------------------------------------------------
    def _available(self) -> list[str]:
        """The networks `network` problems may name, in NETWORKS' order."""
        if self._names is None:
            if self._networks is not None:
                known = set(self._networks)
            else:
                from cnncalc.spec import zoo

                known = set(zoo.bundled_names())
            self._names = [name for name in NETWORKS if name in known]
        return self._names

    def _rows(self, name: str) -> list[Any]:
        """The conv, pool and fc rows of one network, each with its ordinal among its kind: loaded and analysed
        when a problem first names the network (a short set need not load ResNet-50)."""
        if name not in self._network_rows:
            from cnncalc.spec import zoo

            network = self._networks[name] if self._networks is not None else zoo.load(name)
            picked, counts = [], {}
            for row in analyse(network).leaves():
                if row.kind in ("conv", "maxpool", "avgpool", "fc"):
                    counts[row.kind] = counts.get(row.kind, 0) + 1
                    picked.append((network, row, counts[row.kind]))
            self._network_rows[name] = picked
        return self._network_rows[name]

    def network(self) -> Problem:
        available = self._available()
        names = [n for n in _NETWORKS_BY_DIFFICULTY[self.difficulty] if n in available] or available
        if not names:
            raise _Reject
        name = self.draw.choice(names)
        network, row, ordinal = self.draw.choice(self._rows(name))
        node = row.node
        layer = _spec_of(node, row.padding)
        given = {"network": name, "input": network.input.hwc(), "layer": row.path}
        math = layer_math(node, row.input)
        facts = {"network": NETWORKS[name], "path": row.path, "kind": row.kind, "ordinal": ordinal, "layer_input": row.input.hwc(),
                 "step": step(layer, row.input, math) if row.kind != "fc" else None}
        form = self.form(compute=(1, 1, 3), missing=(0, 0, 1))
        if form == "missing" and row.kind == "conv":
            opts = _kind_and_options(layer)[1]
            key = "stride" if opts.get("stride", 1) != 1 else "padding"

            def output(value: int) -> Shape:
                return layer_math(to_layer({"conv": {**opts, key: value}}), row.input).output

            self._unique(output, math.output, opts.get(key, 0 if key == "padding" else 1), lowest=0 if key == "padding" else 1)
            return Problem(QuizTopic.NETWORK, "network_missing", QuestionForm.MISSING, Ask(key), given, Answer.number(opts.get(key, 0)),
                           {**facts, "missing": key, "output": math.output.hwc(), "layer_spec": layer})
        asks = [Ask.OUTPUT_SHAPE]
        if row.kind in ("conv", "fc") and not self.draw.easy:
            asks += [Ask.PARAMS] + ([Ask.MACS] if self.draw.hard else [])
        ask = self.draw.choice(asks)
        answer = {Ask.OUTPUT_SHAPE: Answer.shape(math.output), Ask.PARAMS: Answer.number(math.params), Ask.MACS: Answer.number(math.macs)}[ask]
        if row.kind == "fc":
            facts["expr"] = params_expression(layer, row.input) if ask is Ask.PARAMS else macs_expression(layer, row.input, math)
        elif ask is Ask.PARAMS:
            facts["expr"] = params_expression(layer, row.input)
        elif ask is Ask.MACS:
            facts["expr"] = macs_expression(layer, row.input, math)
        return Problem(QuizTopic.NETWORK, "network_layer", QuestionForm.COMPUTE, ask, given, answer, {**facts, "layer_spec": layer})


# ----------------------------------------------------------------------------- a teacher's own network

SPEC_ASKS = (Ask.OUTPUT_SHAPE, Ask.PARAMS, Ask.MACS, Ask.RECEPTIVE_FIELD, Ask.SAVED_BYTES)
SPEC_BATCH, SPEC_DTYPE = 32, "float32"  # memory questions about a spec: a usual training batch


def spec_problems(network: Network, title: str, given_name: str) -> list[Problem]:
    """Every problem `cnncalc quiz --spec` can ask about `network`, in layer order: for each conv, pooling
    and fc layer on images or vectors, its output shape; the parameters and MACs of each conv and fc; the
    receptive field of each conv and pooling layer reached through a plain chain (no merge before it: the
    recurrence is then the whole derivation); and what each layer keeps for the backward pass at batch 32
    in float32. `title` is how the questions name the network, `given_name` how `given` does (its spec).
    Every answer comes from the engine: the analysis, the receptive-field walk and the memory walk."""
    from cnncalc.core.memory import kept_parts
    from cnncalc.core.receptive import receptive_fields
    from cnncalc.enums import Dtype

    analysis = analyse(network)
    fields = {field.path: field for field in receptive_fields(network, analysis=analysis).leaves()}
    kept = kept_parts(analysis, SPEC_BATCH, Dtype(SPEC_DTYPE))
    problems: list[Problem] = []
    counts: dict[str, int] = {}
    chain: list[Any] = []  # the sliding layers so far on the plain chain from the input
    plain = _plain_chain(network.layers)
    for row in analysis.rows:
        node = row.node
        if row.is_block or row.side or node is None or row.kind not in ("conv", "maxpool", "avgpool", "fc"):
            continue  # groups hold the layers that follow; side heads are off the main path
        if not isinstance(row.input, (Spatial, Vector)) or (isinstance(row.input, Spatial) and row.input.rank != 2):
            continue
        if row.kind == "fc" and not isinstance(row.input, Vector):
            continue  # a Linear over each position's channels (ConvNeXt's MLP): not the textbook fc the texts derive
        counts[row.kind] = counts.get(row.kind, 0) + 1
        layer = _spec_of(node, row.padding)
        math = layer_math(node, row.input)
        given = {"network": given_name, "input": network.input.hwc(), "layer": row.path}
        facts = {"network": title, "path": row.path, "kind": row.kind, "ordinal": counts[row.kind], "layer_input": row.input.hwc(),
                 "step": step(layer, row.input, math) if row.kind != "fc" else None, "layer_spec": layer}
        problems.append(Problem(QuizTopic.NETWORK, "network_layer", QuestionForm.COMPUTE, Ask.OUTPUT_SHAPE, given, Answer.shape(math.output), facts))
        if row.kind in ("conv", "fc"):
            problems.append(Problem(QuizTopic.NETWORK, "network_layer", QuestionForm.COMPUTE, Ask.PARAMS, given, Answer.number(math.params),
                                    {**facts, "expr": params_expression(layer, row.input)}))
            problems.append(Problem(QuizTopic.NETWORK, "network_layer", QuestionForm.COMPUTE, Ask.MACS, given, Answer.number(math.macs),
                                    {**facts, "expr": macs_expression(layer, row.input, math)}))
        field = fields.get(row.path)
        if row.kind != "fc" and row.path in plain and field is not None:
            chain.append(layer)
            axis, across = field.height, field.width
            steps = receptive_field(chain)
            if axis.window is not None and axis.size == across.size and steps and steps[-1]["rf"] == axis.size:
                problems.append(Problem(QuizTopic.NETWORK, "network_rf", QuestionForm.COMPUTE, Ask.RECEPTIVE_FIELD, given, Answer.number(axis.size),
                                        {**facts, "steps": steps}))
        parts = kept.get(row.path, [])
        if parts:
            problems.append(Problem(
                QuizTopic.NETWORK, "network_memory", QuestionForm.COMPUTE, Ask.SAVED_BYTES,
                {**given, "batch": SPEC_BATCH, "dtype": SPEC_DTYPE}, Answer.number(sum(k.bytes for k in parts)),
                {**facts, "parts": [[k.what, k.elements, k.fixed, k.type, k.bytes] for k in parts], "in": row.input.hwc(),
                 "out": row.output.hwc(), "itemsize": Dtype(SPEC_DTYPE).bytes},
            ))
    return problems


_CHAIN_KINDS = ("conv", "maxpool", "avgpool", "relu", "relu6", "leaky_relu", "sigmoid", "tanh", "gelu", "silu", "batchnorm", "dropout", "lrn")


def _plain_chain(nodes: tuple[Any, ...]) -> set[str]:
    """Paths of the sliding layers reached from the input through a plain chain: every layer before them
    feeds the next, so r ← r + (k − 1)·j over them is the whole derivation. A merge's first branch still
    is one (ResNet's residual path up to the add); its other branches, what follows a merge, side heads,
    `from:` readers and kinds the recurrence does not cover (resizes, flatten) end it."""
    found: set[str] = set()

    def walk(children: tuple[Any, ...]) -> bool:
        for node in children:
            if isinstance(node, Side):
                continue  # off the main path, which goes on unchanged
            if isinstance(node, Sequential):
                if not walk(node.children):
                    return False
            elif isinstance(node, Merge):
                if node.sources[0] is None:
                    walk(node.branches[0])
                return False
            elif str(node.kind) in _CHAIN_KINDS:
                found.add(node.path)
            else:
                return False
        return True

    walk(nodes)
    return found


def iter_spec_problems(problems: list[Problem], count: int, seed: int, in_order: bool) -> Iterator[Problem]:
    """`count` of a network's problems (`spec_problems`): in layer order, or drawn at random with `seed`."""
    if count > len(problems):
        raise OptionProblem(
            f"only {len(problems)} different problems can be asked about this network; asked for {count}",
            hint=f"ask for at most {len(problems)} (--count)",
        )
    if in_order:
        yield from problems[:count]
        return
    yield from random.Random(seed).sample(problems, count)


def _analyse_given(given: dict[str, Any]) -> Any:
    """The engine's analysis of a problem's `given`, read by the spec parser itself (JSON is YAML), for layers
    `run` does not build (the decoder's `upsample`)."""
    import json

    from cnncalc.spec.parse import parse_spec

    key = json.dumps({k: v for k, v in given.items() if k in ("input", "layers")})
    cached = _ANALYSIS_CACHE.get(key)
    if cached is None:
        if len(_ANALYSIS_CACHE) >= 1_000:  # bounded: a set of 100,000 problems must not keep every analysis
            _ANALYSIS_CACHE.clear()
        cached = _ANALYSIS_CACHE[key] = analyse(parse_spec(key, file="quiz.yaml"))
    return cached


def _final_output(analysis: Any) -> Shape:
    """The network's output: the last top-level row's."""
    return [row for row in analysis.rows if row.depth == 1][-1].output


_ANALYSIS_CACHE: dict[str, Any] = {}


def _spec_of(node: Layer, padding: tuple[int, int, int, int] | None) -> LayerSpec:
    """A bundled network's layer written back in the spec format, with its padding as the engine resolved it."""
    if isinstance(node, Conv):
        top, bottom, left, right = padding or (0, 0, 0, 0)
        return spec("conv", filters=node.filters, kernel=_pair(*node.kernel), stride=_pair(*node.stride), padding=_pair(top, left),
                    dilation=_pair(*node.dilation), groups=node.groups, bias=node.bias)
    if isinstance(node, Pool):
        top, bottom, left, right = padding or (0, 0, 0, 0)
        return spec(str(node.kind), kernel=_pair(*node.kernel), stride=_pair(*node.stride), padding=_pair(top, left))
    if str(node.kind) == "fc":
        return spec("fc", units=node.units, bias=node.bias)  # type: ignore[union-attr]
    return str(node.kind)


_TOPIC_METHOD = {
    QuizTopic.CONV: "conv",
    QuizTopic.POOL: "pool",
    QuizTopic.TRANSPOSED: "transposed",
    QuizTopic.PADDING: "padding",
    QuizTopic.PARAMS: "params",
    QuizTopic.MACS: "macs",
    QuizTopic.ACTIVATIONS: "activations",
    QuizTopic.RECEPTIVE_FIELD: "receptive",
    QuizTopic.POOL_FACTS: "pool_facts",
    QuizTopic.NETWORK: "network",
    QuizTopic.MEMORY: "memory",
    QuizTopic.CONCAT: "concat",
    QuizTopic.RESIDUAL: "residual",
    QuizTopic.DECODER: "decoder",
    QuizTopic.RANKS: "ranks",
}

_ATTEMPTS_PER_TOPIC = 80  # draws without a new problem before a topic counts as used up


def generate(options: QuizOptions, networks: dict[str, Network] | None = None) -> list[Problem]:
    """`options.count` distinct problems over `options.topics`, the same list for the same options and seed
    (`iter_problems`, all at once)."""
    return list(iter_problems(options, networks))


def iter_problems(options: QuizOptions, networks: dict[str, Network] | None = None) -> Iterator[Problem]:
    """`options.count` distinct problems over `options.topics`, one at a time, so that a set of 100,000 is
    written as it is drawn and never held whole (only each problem's identity is kept, to skip duplicates).

    Topics take turns (in a shuffled order each round) so every topic appears; a topic whose
    distinct problems run out (a small bundled network, say) leaves the rotation, and if all
    run out before `count`, CnnCalcError says how many there are (after the ones yielded: a caller
    that must not write half a set writes to a spool first).
    `networks` replaces the bundled networks (name → Network) for `network` problems.
    """
    rng = random.Random(options.seed)
    generator = _Generator(rng, options.difficulty, networks)
    topics = [t for t in QuizTopic if t in options.topics]  # enum order: the CLI's order of --topic does not matter
    drawn = 0
    seen = generator.seen
    live = list(topics)
    while drawn < options.count and live:
        order = live[:]
        rng.shuffle(order)
        for topic in order:
            if drawn >= options.count:
                break
            method = getattr(generator, _TOPIC_METHOD[topic])
            for _ in range(_ATTEMPTS_PER_TOPIC):
                try:
                    problem = method()
                except (_Reject, CnnCalcError):
                    continue
                key = problem.key()
                if key not in seen:
                    seen.add(key)
                    drawn += 1
                    yield problem
                    break
            else:
                live.remove(topic)
    if drawn < options.count:
        names = ", ".join(str(t) for t in topics)
        raise OptionProblem(
            f"only {drawn} different problems could be drawn on {names} at difficulty {options.difficulty}; asked for {options.count}",
            hint="ask for fewer (--count), add topics (--topic), or change the difficulty",
        )


__all__ = ["Answer", "Entry", "NETWORKS", "Problem", "QuizOptions", "Statement", "generate", "iter_problems", "iter_spec_problems", "parse_answer", "receptive_field", "run", "spec", "spec_problems", "to_layer"]
