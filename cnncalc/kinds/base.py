"""What every layer kind provides, and the small value types its answers are made of.

A kind is one object (registered in `cnncalc.kinds.registry`) that knows, for the spec words it
handles: the options and their defaults, how to build the frozen layer value, what the layer does to
an input shape (output, parameters, buffers, MACs), its receptive geometry along each axis, and the
torch module it stands for. The stages (spec reader, analysis, receptive field, torch builder) ask the
kind; none of them switches on layer classes. Nothing here prints or reads files.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

from cnncalc.errors import LayerProblem
from cnncalc.kinds.formulas import effective_kernel
from cnncalc.model.shapes import AXIS_NAMES, Shape, Spatial
from cnncalc.kinds.worked import Derivation, LayerUse, Section, Step


class LayerMath(NamedTuple):
    """What one layer does to one input shape. (NamedTuples rather than frozen dataclasses for the small
    values of this module: immutable all the same, and a tenth of the import time.)"""

    output: Shape
    params: int = 0
    trainable_params: int = 0
    running_stats: int = 0
    macs: int = 0
    padding: tuple[int, ...] | None = None  # resolved (before, after) per axis, where padding applies

    @property
    def non_trainable_params(self) -> int:
        return self.params - self.trainable_params + self.running_stats


# --------------------------------------------------------------------------- receptive geometry


class Window(NamedTuple):
    """What a layer does along one axis, as a sliding window over its input's units."""

    kernel: int
    stride: int
    dilation: int = 1
    pad_before: int = 0

    @property
    def effective_kernel(self) -> int:
        return effective_kernel(self.kernel, self.dilation)


class Through(NamedTuple):
    """The layer is (or is read as) this window; `rule` says how when it is not literally one."""

    window: Window
    rule: str | None = None


class Passed(NamedTuple):
    """The layer moves no units: the field passes on unchanged."""

    rule: str | None = None


class Irregular(NamedTuple):
    """No (r, S, P) describes the layer's units. `spread` is the smallest and largest number of input
    units (minus one) that one output unit reads, or None when not known; from it r's range follows."""

    reason: str
    short: str
    spread: tuple[int, int] | None = None
    needs_spread: bool = False  # the spread depends on the input's field and is computed by `spread_of`


Geometry = Through | Passed | Irregular


class AxisContext(NamedTuple):
    """One axis of one layer, as the receptive-field walk sees it."""

    axis: int  # 0-based axis in the shape's order
    n_in: int  # units along this axis before the layer (the grid of the last map for vectors)
    n_out: int
    pad_before: int | None  # the padding the analysis resolved for this axis, where the layer pads
    defined: bool  # the field before the layer is a span (not undefined)


# --------------------------------------------------------------------------- memory

NEW, VIEW, IN_PLACE = "new", "view", "inplace"  # where a layer's output lives: its own storage, or its input's
GRAD, WEIGHTS = "grad", "weights"  # when a layer saves: whenever a gradient flows, or only when its weights train


class Extra(NamedTuple):
    """A tensor a layer makes besides its output: a statistic, a mask, max-pooling's indices, a copy."""

    elements: int  # per sample
    fixed: int = 0  # per batch, whatever its size (batch norm's per-channel statistics)
    type: str = "value"  # VALUE: the activations' dtype; INDEX: int64; STATISTIC: float32 for 16-bit activations


VALUE, INDEX, STATISTIC = "value", "index", "statistic"


class Memory(NamedTuple):
    """How one layer uses memory in torch 2.13 (CPU, every tensor in one dtype), per sample.

    Training (a training-mode forward under autograd): `saves_input`/`saves_output` keep those tensors
    (the whole storage, for a view) and `saved` new ones, for the backward pass, when `when` holds.
    Inference (eval mode, no_grad): while the layer runs its input is alive and so is `working`, the most
    it holds at once besides its input (its output, when `output` is NEW, included)."""

    output: str = NEW
    saves_input: bool = False
    saves_output: bool = False
    saved: tuple[Extra, ...] = ()
    when: str = GRAD
    working: tuple[Extra, ...] = ()
    padded: int = 0  # elements of a padded copy of the input made first (and saved instead of the input)
    layout: str = "keep"  # the output's memory layout: "keep" the input's, "last" (channels-last), "first"
    sliced: bool = False  # the output is a slice of its input's channels (not contiguous for a batch of several)


class MemoryContext(NamedTuple):
    """What a layer's memory depends on besides its shapes: the mode, and whether its input is laid out
    channels-last in memory (after nn.Linear or nn.LayerNorm on the channels of a map, ConvNeXt's blocks)."""

    training: bool
    channels_last: bool = False
    contiguous: bool = True  # False for a slice of the channels of a batch of more than one sample (chunk)
    batch: int = 1  # samples: whether torch can view a batch's positions as rows may depend on it


def working_output(out: Shape, *more: Extra) -> tuple[Extra, ...]:
    """The usual inference moment: the new output (and what else the op allocates with it)."""
    return (Extra(out.elements), *more)


# --------------------------------------------------------------------------- exported PyTorch source


NO_DEFAULT = object()


class Arg(NamedTuple):
    """One constructor argument of an exported module: torch's keyword, the value (a literal, or a Source
    for a call such as `torch.full(…)`), and torch's default (an argument equal to its default is left
    out of the source unless it varies between the uses of a block)."""

    name: str
    value: Any
    default: Any = NO_DEFAULT


class Source(NamedTuple):
    """How `cnncalc export --to pytorch` writes one layer (render/pytorch.py assembles the file).

    `cls(*args)` is built in `__init__` under the layer's own name, so the state_dict keys are the spec's
    paths; `call` is its forward expression, `{m}` the module, `{x}` the input. Without a class (`cls` None)
    the layer is the expression `call` alone (`{x}.chunk(2, dim=1)[0]`). `parameter`: `cls` makes an
    nn.Parameter (ConvNeXt's layer scale), not a module. `helpers` names the small classes the file then
    defines once (a padded convolution, StochasticDepth). `note` is a comment written after the line."""

    cls: str | None
    args: tuple[Arg, ...] = ()
    positional: int = 0  # the first `positional` args are written without their keyword
    call: str = "{m}({x})"
    helpers: tuple[str, ...] = ()
    frozen: bool = False  # `trainable: false`: the module's parameters get requires_grad_(False)
    parameter: bool = False
    note: str = ""


def torch_size(values: tuple[int, ...]) -> int | tuple[int, ...]:
    """How torch's constructors are usually written: `3` when every axis agrees, else a tuple."""
    return values[0] if all(v == values[0] for v in values) else tuple(values)


def torch_pad(pairs: tuple[tuple[int, int], ...]) -> tuple[int, ...]:
    """(before, after) per axis in the shape's order → F.pad's order, last axis first."""
    return tuple(v for before, after in reversed(pairs) for v in (before, after))


# --------------------------------------------------------------------------- the kind protocol


class Kind:
    """Base of every layer kind. Subclasses set `names` and override what applies to them."""

    names: ClassVar[tuple[str, ...]] = ()  # the spec words this kind handles (LayerKind values)
    aliases: ClassVar[dict[str, tuple[str, int | None]]] = {}  # conv2d -> (conv, 2) refuses other ranks; swish -> (silu, None)
    options: ClassVar[dict[str, dict[str, tuple[Any, Any]]]] = {}  # per name: option -> (converter, default)
    option_aliases: ClassVar[dict[str, dict[str, str]]] = {}  # per name: short form -> option
    examples: ClassVar[dict[str, str]] = {}  # per name: options for a hint, `filters: 6, kernel: 5`
    weight_layer: ClassVar[bool] = False  # a conv or fc: what learners count as a network's layers ("VGG-16")
    exactly_one: ClassVar[dict[str, tuple[str, ...]]] = {}  # per name: options of which one, and one only, is given (for the schema; `build` words the error)

    def flattens_maps(self, layer: Any) -> bool:
        """`cnncalc layer` flattens a feature map given to this layer first, as nn.Flatten before nn.Linear would."""
        return False

    def whole_map(self, layer: Any) -> bool:
        """Every output reads every unit of the map before it (fc): the receptive field has no grid past it."""
        return False

    def build(self, kind: str, values: dict[str, Any], base: dict[str, Any], rank: int) -> Any:
        """The frozen layer value from checked option values (the spec reader has applied defaults)."""
        raise NotImplementedError

    def forward(self, layer: Any, shape: Shape) -> LayerMath:
        """Output shape, parameters and MACs of `layer` on `shape`. Raises CnnCalcError where torch would."""
        raise NotImplementedError

    def warnings(self, layer: Any, shape: Shape, math: LayerMath) -> list:
        """SpecWarnings about a legal but probably unintended use (pixels a stride never reads)."""
        return []

    def summary(self, layer: Any, padding: tuple[int, ...] | None) -> str:
        """The table's `k3 s2 p1` column: the window geometry, empty for layers without one."""
        return ""

    def weight_shape(self, layer: Any, shape: Shape) -> tuple[int, ...] | None:
        """The shape of the layer's `weight` parameter on an input of `shape`, in torch's order
        (Conv2d: filters × in-channels/groups × kH × kW), None for layers without one."""
        return None

    def summary_json(self, layer: Any, padding: tuple[int, ...] | None) -> dict[str, Any]:
        """The same geometry as JSON fields (kernel, stride, dilation, padding, groups, …)."""
        return {} if padding is None else {"padding": padding_json(padding)}

    def field(self, layer: Any, axis: AxisContext) -> Geometry:
        """The layer's receptive geometry along one axis."""
        raise NotImplementedError

    def spread_cost(self, layer: Any, axis: AxisContext) -> int:
        """How much work `spread_of` would do (units examined), so that one run's walk can bound its total."""
        return 0

    def spread_of(self, layer: Any, axis: AxisContext) -> tuple[int, int] | None | tuple[()]:
        """For `Irregular(needs_spread=True)`: the spread over the layer's units, computed only when asked."""
        return None

    def memory(self, layer: Any, use: LayerUse, context: MemoryContext) -> Memory:
        """What the layer keeps for backward (training) and holds while it runs (inference), per sample."""
        raise NotImplementedError

    def torch(self, layer: Any, shape: Shape, device: str = "meta") -> Any:
        """The torch module the layer stands for, on an input of `shape` (imports torch: tests and export only)."""
        raise NotImplementedError

    def pytorch(self, layer: Any, shape: Shape) -> Source:
        """How exported PyTorch source writes the layer on an input of `shape` (no torch import: text only)."""
        raise NotImplementedError

    def headline(self, layer: Any) -> list[str]:
        """The title of a derivation: the kind, then its defining options (`conv`, `32 filters 7×7`, `stride 2`, …)."""
        return [str(layer.kind)]

    def derive(self, use: LayerUse) -> Derivation:
        """The worked derivation of `use`: output size, parameters and MACs with the numbers put in."""
        raise NotImplementedError


# Every kind class defines these itself (tests/test_kinds.py checks it): a kind that forgets one
# fails loudly instead of falling through to some other kind's behaviour.
STAGE_METHODS = ("build", "forward", "field", "derive", "memory", "torch", "pytorch")


def unchanged(use: LayerUse, what: str) -> Derivation:
    """The derivation of a layer that keeps its input's shape and has no weights."""
    step = Step("shape", "", f"unchanged = {use.output.hwc()} ({what}, no weights)")
    return Derivation((Section("Output size", "", (step,)),))


# --------------------------------------------------------------------------- helpers the kinds share

_SIDE_NAMES = {1: ("left", "right"), 2: ("top", "bottom", "left", "right"), 3: ("front", "back", "top", "bottom", "left", "right")}


def padding_json(padding: tuple[int, ...]) -> dict[str, int]:
    """{"top": …, "bottom": …, "left": …, "right": …} in 2-D; {"left", "right"} in 1-D; front/back first in 3-D."""
    return dict(zip(_SIDE_NAMES[len(padding) // 2], padding))


def axes_json(values: tuple[int, ...]) -> dict[str, int]:
    """One value per axis, named as the shapes name them."""
    return dict(zip(AXIS_NAMES[len(values)], values))


def layer_error(layer: Any, message: str, hint: str | None = None) -> LayerProblem:
    return LayerProblem(message, hint=hint, layer=layer.path or None, pos=layer.pos)


RANK_WORDS = {1: "1-D (length x channels)", 2: "2-D (height x width x channels)", 3: "3-D (depth x height x width x channels)"}


def feature_map(layer: Any, shape: Shape, per_axis: tuple[str, ...] = ()) -> Spatial:
    """The input as a feature map whose rank fits the layer, or the error torch would give.
    `per_axis` names the layer's options that hold one value per axis (kernel, stride, …)."""
    if not isinstance(shape, Spatial):
        raise layer_error(
            layer,
            f"{layer.kind} needs a feature map (height x width x channels), but its input is a vector of {shape.features} features",
            hint="move this layer before `flatten`/`fc`, or remove it",
        )
    check_rank(layer, shape, per_axis)
    return shape


def check_rank(layer: Any, shape: Spatial, per_axis: tuple[str, ...] = ()) -> None:
    """An alias such as `conv1d` accepts only its rank; options given per axis must match the input's axes."""
    rank = len(shape.sizes)
    if layer.rank is not None and layer.rank != rank:
        alias = layer.alias or str(layer.kind)
        raise layer_error(
            layer,
            f"{alias} needs a {RANK_WORDS[layer.rank]} input, but its input {shape.hwc()} is {RANK_WORDS[shape.rank].split(' ')[0]}",
            hint=f"write `{layer.kind}`, which follows the rank of its input, or `{layer.kind}{shape.rank}d`"
            if f"{layer.kind}{shape.rank}d" in _ALIASES_SEEN
            else f"write `{layer.kind}`, which follows the rank of its input",
        )
    for name in per_axis:
        value = getattr(layer, name)
        if value is not None and len(value) != rank:
            raise layer_error(
                layer,
                f"`{name}` of {layer.kind} has {len(value)} values but its input {shape.hwc()} has "
                f"{shape.rank} spatial {'axis' if shape.rank == 1 else 'axes'}",
                hint="give one value per axis, or a single number for all of them",
            )
    padding = getattr(layer, "padding", None)
    if padding is not None and not isinstance(padding, tuple) and padding.mode == "explicit" and len(padding.explicit) != 2 * rank:
        raise layer_error(
            layer,
            f"`padding` of {layer.kind} is given for {len(padding.explicit) // 2} spatial axes but its input {shape.hwc()} has {shape.rank}",
            hint="give one value per axis, or a single number for all of them",
        )


_ALIASES_SEEN: set[str] = set()  # filled by the registry: every rank alias, for the hint above
