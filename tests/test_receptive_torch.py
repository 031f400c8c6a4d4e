"""The engine's receptive fields against the gradient footprint of real torch networks.

A thin stand-in of the spec is run in torch: every convolution has one output channel and
positive weights (1/fan-in, so that deep networks neither overflow nor underflow), max
pools become average pools (a max passes gradient to one input only), batch norm, dropout
and lrn are left out, and an add sums its branches' channels. None of that moves a window,
so the input pixels with a nonzero gradient for one output unit are exactly the pixels that
unit can see. The engine says unit i sees i·S − P … i·S − P + r − 1 along each axis: the
footprint must lie inside that span (clipped to the image), and reach both of its ends
whenever they fall inside the image (the ends of a span are always reached; dilation may
leave holes in between).

The builder here is independent of cnncalc's arithmetic: it reads the layer options and
lets torch work out every size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import pytest

from conftest import spec
from cnncalc.spec import zoo
from cnncalc.core.engine import analyse
from cnncalc.enums import LayerKind, MergeKind, PaddingMode
from cnncalc.errors import CnnCalcError
from cnncalc.model.layers import (
    AdaptivePool,
    Conv,
    ConvTranspose,
    Merge,
    Network,
    Node,
    Pool,
    Sequential,
    Side,
    Upsample,
    ZeroPad,
)
from cnncalc.core.receptive import receptive_fields
from cnncalc.model.shapes import Spatial


class _Reached(Exception):
    def __init__(self, tensor: torch.Tensor) -> None:
        self.tensor = tensor


def _positive_weight(c_out: int, c_in: int, kh: int, kw: int) -> torch.Tensor:
    return torch.full((c_out, c_in, kh, kw), 1.0 / (c_in * kh * kw), dtype=torch.float64)


def _pads(layer: Conv | Pool, h: int, w: int) -> tuple[int, int, int, int] | str:
    """(top, bottom, left, right) from the options; `same` at stride 1 is left to torch itself."""
    mode = layer.padding.mode
    if mode is PaddingMode.VALID:
        return (0, 0, 0, 0)
    if mode is PaddingMode.SAME:
        assert layer.stride == (1, 1), "the generator uses `same` at stride 1 only, where torch has it"
        return "same"
    return layer.padding.explicit


def _run_layer(node: Node, x: torch.Tensor) -> torch.Tensor:
    if isinstance(node, Conv):
        pads = _pads(node, x.shape[2], x.shape[3])
        weight = _positive_weight(1, x.shape[1], *node.kernel)
        if pads == "same":
            return F.conv2d(x, weight, stride=node.stride, padding="same", dilation=node.dilation)
        top, bottom, left, right = pads
        return F.conv2d(F.pad(x, (left, right, top, bottom)), weight, stride=node.stride, dilation=node.dilation)
    if isinstance(node, ConvTranspose):
        weight = torch.full((x.shape[1], 1, *node.kernel), 1.0 / (x.shape[1] * node.kernel[0] * node.kernel[1]), dtype=torch.float64)
        return F.conv_transpose2d(
            x, weight, stride=node.stride, padding=node.padding, output_padding=node.output_padding, dilation=node.dilation
        )
    if isinstance(node, Pool):
        pads = _pads(node, x.shape[2], x.shape[3])
        top, bottom, left, right = (0, 0, 0, 0) if pads == "same" else pads
        if pads == "same" or top != bottom or left != right or node.dilation != (1, 1):
            # no torch pool has these paddings or a dilated average: an average is a positive conv per channel
            if pads == "same":
                return torch.cat(
                    [F.conv2d(x[:, c : c + 1], _positive_weight(1, 1, *node.kernel), padding="same", dilation=node.dilation) for c in range(x.shape[1])],
                    dim=1,
                )
            assert not node.ceil_mode
            x = F.pad(x, (left, right, top, bottom))
            return torch.cat(
                [F.conv2d(x[:, c : c + 1], _positive_weight(1, 1, *node.kernel), stride=node.stride, dilation=node.dilation) for c in range(x.shape[1])],
                dim=1,
            )
        return F.avg_pool2d(x, node.kernel, node.stride, padding=(top, left), ceil_mode=node.ceil_mode, count_include_pad=True)
    if isinstance(node, AdaptivePool):
        return F.adaptive_avg_pool2d(x, 1 if node.output is None else node.output)
    if isinstance(node, ZeroPad):
        top, bottom, left, right = node.padding.explicit
        return F.pad(x, (left, right, top, bottom))
    if isinstance(node, Upsample):
        if node.size is not None:
            return F.interpolate(x, size=node.size, mode=str(node.mode))
        return F.interpolate(x, scale_factor=node.scale, mode=str(node.mode))
    if node.kind in ("relu", "relu6", "leaky_relu"):
        return F.relu(x)
    if node.kind in ("tanh", "sigmoid"):
        return torch.tanh(x) if node.kind == "tanh" else torch.sigmoid(x)  # values stay near 1: slopes are far from 0
    if node.kind in (LayerKind.BATCHNORM, LayerKind.DROPOUT, LayerKind.LRN, "softmax"):
        # per-pixel or across channels only; softmax over one thin channel would be the constant 1
        return x
    raise NotImplementedError(node.kind)


def _run(nodes: tuple[Node, ...], x: torch.Tensor, target: str) -> torch.Tensor:
    for node in nodes:
        if isinstance(node, Sequential):
            x = _run(node.children, x, target)
        elif isinstance(node, Side):
            if target.startswith(node.path + "."):
                _run(node.children, x, target)  # a side output leaves the main tensor as it was
        elif isinstance(node, Merge):
            outs = [_run(branch, x, target) for branch in node.branches]
            if node.merge is MergeKind.ADD:
                x = sum(o.sum(dim=1, keepdim=True) for o in outs)
            else:
                x = torch.cat(outs, dim=1)
        else:
            x = _run_layer(node, x)
        if node.path == target:
            raise _Reached(x)
    return x


def footprint(network: Network, target: str, height: int, width: int, unit: tuple[int, int]) -> tuple[list[int], list[int], tuple[int, int]]:
    """Rows and columns of the input with a nonzero gradient for `unit` of layer `target`, and that layer's size."""
    x = torch.ones((1, 1, height, width), dtype=torch.float64, requires_grad=True)
    try:
        _run(network.layers, x, target)
    except _Reached as reached:
        out = reached.tensor
    else:  # pragma: no cover
        raise AssertionError(f"{target} not reached")
    i, j = unit
    out[0, :, i, j].sum().backward()
    nonzero = x.grad[0, 0] != 0
    rows = torch.nonzero(nonzero.any(dim=1)).flatten().tolist()
    cols = torch.nonzero(nonzero.any(dim=0)).flatten().tolist()
    return rows, cols, (out.shape[2], out.shape[3])


def check_axis(seen: list[int], start: int, end: int, n: int, what: str, exact_ends: bool = True) -> None:
    low, high = max(start, 0), min(end, n - 1)
    if low > high:
        assert not seen, f"{what}: the engine's span [{start}, {end}] is all padding, but torch reaches {seen}"
        return
    assert not seen or (low <= seen[0] and seen[-1] <= high), f"{what}: footprint {seen[0]}…{seen[-1]} outside [{start}, {end}]"
    if not exact_ends:
        return
    if 0 <= start <= n - 1:
        assert seen and seen[0] == start, f"{what}: footprint starts at {seen[:1]}, engine says {start}"
    if 0 <= end <= n - 1:
        assert seen and seen[-1] == end, f"{what}: footprint ends at {seen[-1:]}, engine says {end}"


def check_layer(network: Network, path: str, input_shape: Spatial | None = None, units=None, exact_ends: bool = True) -> int:
    """Compare the engine with torch for `units` of layer `path` (default: corners and centre); returns how many."""
    report = receptive_fields(network, input_shape)
    field = report.find(path)
    assert field is not None and isinstance(field.output, Spatial)
    h_span, w_span = field.height.span, field.width.span
    assert h_span is not None and w_span is not None
    n_h, n_w = report.input.height, report.input.width
    out_h, out_w = field.output.height, field.output.width
    if units is None:
        units = {(0, 0), (out_h - 1, out_w - 1), (out_h // 2, out_w // 2), (0, out_w - 1)}
    for i, j in sorted(units):
        rows, cols, size = footprint(network, path, n_h, n_w, (i, j))
        assert size == (out_h, out_w)
        outside = [start > n - 1 or end < 0 for start, end, n in ((h_span.start(i), h_span.end(i), n_h), (w_span.start(j), w_span.end(j), n_w))]
        if any(outside):
            # a unit whose field is all padding along one axis sees nothing at all
            assert not rows and not cols, f"{path} unit ({i}, {j}): the engine puts it in the padding, torch reaches {rows}, {cols}"
            continue
        check_axis(rows, h_span.start(i), h_span.end(i), n_h, f"{path} unit ({i}, {j}) height", exact_ends)
        check_axis(cols, w_span.start(j), w_span.end(j), n_w, f"{path} unit ({i}, {j}) width", exact_ends)
    return len(units)


# --------------------------------------------------------------------------- random small specs

_pair = st.integers(1, 4)


@st.composite
def window_layer(draw) -> str:
    kind = draw(st.sampled_from(["conv", "conv", "conv", "avgpool", "maxpool", "zeropad", "conv_transpose", "relu"]))
    if kind == "relu":
        return "relu"
    if kind == "zeropad":
        return f"zeropad: {{padding: {draw(st.lists(st.integers(0, 2), min_size=4, max_size=4))}}}"
    k = [draw(st.integers(1, 4)), draw(st.integers(1, 4))]
    if kind == "conv_transpose":
        # stride 1 only: there the engine claims an exact field (a conv with padding d(k − 1) − p)
        d = draw(st.integers(1, 2))
        p = draw(st.integers(0, min(k) - 1))
        return f"conv_transpose: {{filters: 1, kernel: {k}, dilation: {d}, padding: {p}}}"
    s = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    if kind == "conv":
        d = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
        pad = draw(
            st.one_of(
                st.integers(0, 2),
                st.lists(st.integers(0, 3), min_size=4, max_size=4),
                st.just("same") if s == [1, 1] else st.integers(0, 1),
            )
        )
        return f"conv: {{filters: 1, kernel: {k}, stride: {s}, dilation: {d}, padding: {pad}}}"
    pad = [draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2))]
    ceil = draw(st.booleans())
    return f"{kind}: {{kernel: {k}, stride: {s}, padding: {pad}, ceil_mode: {str(ceil).lower()}}}"


@st.composite
def block(draw) -> list[str]:
    choice = draw(st.sampled_from(["layer", "layer", "layer", "residual", "projection", "inception"]))
    if choice == "layer":
        return [draw(window_layer())]
    if choice == "residual":
        k = draw(st.sampled_from([1, 3, 5]))
        d = draw(st.integers(1, 2))
        return [f"add: {{branches: [[conv: {{filters: 1, kernel: {k}, dilation: {d}, padding: {d * (k - 1) // 2}}}, relu], []]}}"]
    if choice == "projection":
        return ["add: {branches: [[conv: {filters: 1, kernel: 3, stride: 2, padding: 1}], [conv: {filters: 1, kernel: 1, stride: 2}]]}"]
    skew = draw(st.booleans())
    first = "conv: {filters: 1, kernel: 2, padding: [0, 1, 0, 1]}" if skew else "conv: {filters: 1, kernel: 1}"
    return [
        f"concat: {{branches: [[{first}], [conv: {{filters: 1, kernel: 3, padding: 1}}], "
        "[conv: {filters: 1, kernel: 5, padding: 2}], [avgpool: {kernel: 3, stride: 1, padding: 1}]]}"
    ]


@st.composite
def small_spec(draw) -> str:
    h, w = draw(st.integers(6, 28)), draw(st.integers(6, 28))
    layers = [line for _ in range(draw(st.integers(1, 5))) for line in draw(block())]
    if draw(st.integers(0, 5)) == 0:
        layers.append(draw(st.sampled_from(["global_avgpool", "adaptive_avgpool: {output_size: 2}"])))
    return f"name: random\ninput: {h}x{w}x1\nlayers:\n" + "\n".join(f"  - {line}" for line in layers)


SIZE_DEPENDENT = ("global_avgpool", "adaptive_avgpool")


def check_interior(network: Network, path: str) -> None:
    """Exactness away from the borders: in a much larger image, the centre unit and its neighbour see
    exactly their spans (no padding of any layer is near them), and the spans step by S."""
    base = receptive_fields(network).find(path)
    margins = []
    for axis in (base.height, base.width):
        span = axis.span
        want = 2 * (span.size + span.padding + span.stride)
        margins.append(-(-want // span.stride) * span.stride)  # a multiple of S: unit i moves to i + margin/S
    shape = Spatial(network.input.height + 2 * margins[0], network.input.width + 2 * margins[1], 1)
    field = receptive_fields(network, shape).find(path)
    assert (field.height.span, field.width.span) == (base.height.span, base.width.span)
    h, w = field.height.span, field.width.span
    u = (field.output.height // 2, field.output.width // 2)
    for i, j in {u, (min(u[0] + 1, field.output.height - 1), min(u[1] + 1, field.output.width - 1))}:
        rows, cols, _ = footprint(network, path, shape.height, shape.width, (i, j))
        assert (rows[0], rows[-1]) == (h.start(i), h.end(i)), f"{path} unit {i}: torch {rows[0]}…{rows[-1]}, engine {h.start(i)}…{h.end(i)}"
        assert (cols[0], cols[-1]) == (w.start(j), w.end(j)), f"{path} unit {j}: torch {cols[0]}…{cols[-1]}, engine {w.start(j)}…{w.end(j)}"


@given(text=small_spec())
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_engine_span_matches_torch_gradient_footprint(text):
    try:
        network = spec(text)
        analysis = analyse(network)
    except CnnCalcError:
        assume(False)
        return
    report = receptive_fields(network, analysis=analysis)
    leaves = report.leaves()
    assume(all(f.height.defined and f.width.defined for f in leaves))
    # 1. at the spec's own size, every layer and several units, borders included: nothing outside
    #    the engine's span reaches the unit, and the span's ends are reached when they are pixels
    #    of the image and no layer's padding cuts them off (checked exactly in 2.)
    for field in leaves:
        if field.kind != "relu":
            out_h, out_w = field.output.height, field.output.width
            check_layer(network, field.path, units={(out_h - 1, 0), (0, out_w - 1)}, exact_ends=False)
    # 2. exactly, for the last layer whose geometry does not depend on the input size
    cut = next((k for k, f in enumerate(leaves) if f.kind in SIZE_DEPENDENT), len(leaves))
    if cut > 0:
        check_interior(network, leaves[cut - 1].path)


# --------------------------------------------------------------------------- hand-picked corners


@pytest.mark.parametrize(
    "text, path",
    [
        # the union of unaligned branches reaches further than either branch
        (
            "name: u\ninput: 12x12x1\nlayers:\n  - add: {name: a, branches: [[conv: {filters: 1, kernel: 3, padding: [0, 2, 0, 2]}], [conv: {filters: 1, kernel: 3, padding: [2, 0, 2, 0]}]]}",
            "a",
        ),
        # adaptive pooling with even bins that do not divide: 7 → 3 is kernel 3, stride 2
        ("name: u\ninput: 7x9x1\nlayers:\n  - conv: {filters: 1, kernel: 3, padding: 1}\n  - adaptive_avgpool: {output_size: 3}\n  - conv: {filters: 1, kernel: 2}", "2"),
        # nearest downsampling by a whole factor is a stride
        ("name: u\ninput: 12x12x1\nlayers:\n  - conv: {filters: 1, kernel: 3}\n  - upsample: {scale: 0.5}\n  - conv: {filters: 1, kernel: 3, padding: 1}", "2"),
        # fc-like global pooling sees everything
        ("name: u\ninput: 9x5x1\nlayers:\n  - conv: {filters: 1, kernel: 3, stride: 2}\n  - global_avgpool", "1"),
        # same padding at stride 2 (TensorFlow's split), asymmetric
        ("name: u\ninput: 10x11x1\nlayers:\n  - conv: {filters: 1, kernel: 4, stride: 2, padding: [1, 2, 2, 1]}\n  - conv: {filters: 1, kernel: 3, dilation: 2, padding: 2}", "1"),
    ],
)
def test_corner_cases_against_torch(text, path):
    network = spec(text)
    out = receptive_fields(network).find(path).output
    check_layer(network, path, units={(i, j) for i in range(out.height) for j in range(out.width)})


# --------------------------------------------------------------------------- bundled networks


def _tall_input(network: Network, path: str) -> Spatial:
    """An input tall enough that the centre unit's field lies inside the image along the height."""
    base = network.input
    assert isinstance(base, Spatial)
    field = receptive_fields(network).find(path)
    r, s = field.height.size, field.height.stride
    height = base.height
    while True:
        report = receptive_fields(network, Spatial(height, base.width, base.channels))
        f = report.find(path)
        unit = f.output.height // 2
        if f.height.span.start(unit) >= 0 and f.height.span.end(unit) <= height - 1:
            return Spatial(height, base.width, base.channels)
        height += max(s, 32)
        assert height < 4 * r + 1024


def _last_stage(name: str) -> str:
    report = receptive_fields(zoo.load(name))
    for f in reversed(report.leaves()):
        if f.kind in ("conv", "maxpool", "avgpool", "minpool", "add", "concat") and isinstance(f.output, Spatial):
            return f.path
    raise AssertionError(name)


# 2-D networks; the 1-D and 3-D ones are checked the same way in tests/test_ranks.py. The U-Net's
# decoder has no (r, S, P) past its first strided up-convolution (test_ranks checks its encoder).
# The kinds the thin one-channel copy below can run (what splits, shuffles or gates channels has no
# one-channel equivalent; those networks' kinds are checked against torch in tests/test_kinds.py).
THIN_KINDS = {"conv", "conv_transpose", "maxpool", "avgpool", "minpool", "global_avgpool", "adaptive_avgpool", "zeropad",
              "upsample", "relu", "relu6", "leaky_relu", "tanh", "sigmoid", "batchnorm", "dropout", "lrn", "softmax",
              "fc", "flatten", "add", "concat", "side"}


def _thin_runnable(name: str) -> bool:
    network = zoo.load(name)
    kinds = {r.kind for r in analyse(network).leaves()}
    sides_from = any(getattr(n, "source", None) for n in network.layers)  # the thin runner reads no earlier tensors
    return network.input.rank == 2 and kinds <= THIN_KINDS and name != "unet_padded" and not sides_from


@pytest.mark.parametrize("name", [n for n in zoo.bundled_names() if _thin_runnable(n)])
def test_bundled_last_stage_matches_torch(name):
    network = zoo.load(name)
    path = _last_stage(name)
    shape = _tall_input(network, path)
    report = receptive_fields(network, shape)
    field = report.find(path)
    centre = (field.output.height // 2, field.output.width // 2)
    check_layer(network, path, shape, units={centre})
    # r, S and P do not depend on the input size (only padding `same` could): the tall input's
    # numbers are the spec's own
    assert field.height.span == receptive_fields(network).find(path).height.span


def test_the_unet_decoder_field_is_undefined_past_the_strided_up_convolution():
    report = receptive_fields(zoo.load("unet_padded"))
    assert report.find("bottleneck").height.defined
    head = report.find("head")
    assert not head.height.defined and "undefined since dec4.upconv" in head.height.note
