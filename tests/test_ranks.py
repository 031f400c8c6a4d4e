"""1-D and 3-D layers against real torch.nn (Conv1d/3d, ConvTranspose1d/3d, pools, batch norm, padding,
upsampling), the rank aliases, how shapes print, and the receptive field of 1-D/3-D networks against
torch's gradient footprint.

Each grid case builds a one-layer spec with an input of that rank, runs it through the engine and
compares the output shape and parameters with torch's forward pass; MACs with a formula written out
here (output positions x weights for a conv, input positions x weights for a transposed conv).
Where torch refuses a configuration, cnncalc must refuse it too, with a CnnCalcError.
"""

from __future__ import annotations

import itertools
import json
import math
import random

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from cnncalc.spec import zoo  # noqa: E402
from cnncalc.core.engine import analyse  # noqa: E402
from cnncalc.errors import CnnCalcError  # noqa: E402
from cnncalc.model.layers import Merge, Network, Node, Sequential, Side  # noqa: E402
from cnncalc.spec.parse import parse_spec  # noqa: E402
from cnncalc.core.receptive import receptive_fields  # noqa: E402
from cnncalc.model.shapes import Spatial, Vector, parse_shape  # noqa: E402

SIZES = {1: [(37, 4), (16, 6), (5, 4)], 3: [(7, 9, 8, 4), (5, 5, 5, 6), (4, 11, 6, 4)]}


def one_layer(input_size: str, kind: str, options: dict | None = None):
    layer = kind if options is None else {kind: options}
    analysis = analyse(parse_spec(json.dumps({"name": "one", "input": input_size, "layers": [layer]}), file="one.yaml"))
    (row,) = analysis.leaves()
    return row


def torch_out(module, shape: Spatial):
    """cnncalc-order output shape of `module` on one sample of `shape`, or None where torch refuses."""
    with torch.no_grad():
        try:
            y = module(torch.zeros((1, shape.channels, *shape.sizes)))
        except (RuntimeError, ValueError):
            return None
    if y.numel() == 0:
        return None
    return Vector(y.shape[1]) if y.dim() == 2 else Spatial(*y.shape[2:], y.shape[1])


def per_axis(value, rank: int) -> tuple:
    return (value,) * rank if isinstance(value, int) else tuple(value)


def sample(grid, k: int, seed: int = 0):
    cases = list(grid)
    return random.Random(seed).sample(cases, min(k, len(cases)))


def check(shape_text: str, kind: str, options: dict, module, macs=None):
    shape = parse_shape(shape_text)
    expected = torch_out(module, shape)
    if expected is None:
        with pytest.raises(CnnCalcError):
            one_layer(shape_text, kind, options)
        return
    row = one_layer(shape_text, kind, options)
    assert row.output == expected
    assert row.params == sum(p.numel() for p in module.parameters())
    if macs is not None:
        assert row.macs == macs(shape, expected)


def _axis_options(rank: int):
    lists = {1: [[3]], 3: [[3, 1, 1], [1, 3, 3], [2, 3, 1]]}[rank]
    kernels = [1, 3, *lists]
    strides = [1, 2, *({1: [[3]], 3: [[1, 2, 2]]}[rank])]
    paddings = [0, 1, *({1: [[2]], 3: [[1, 0, 2]]}[rank])]
    dilations = [1, 2]
    return kernels, strides, paddings, dilations


CONV_CASES = [
    (rank, size, channels, kernel, stride, padding, dilation, bias)
    for rank in (1, 3)
    for size, channels, kernel, stride, padding, dilation, bias in sample(
        (
            c
            for c in itertools.product(SIZES[rank], [(8, 1), (6, 2), (4, 4)], *_axis_options(rank), (True, False))
            if c[0][-1] % c[1][1] == 0 and c[1][0] % c[1][1] == 0
        ),
        90,
        seed=rank,
    )
]


@pytest.mark.parametrize("rank,size,channels,kernel,stride,padding,dilation,bias", CONV_CASES)
def test_conv_of_rank_1_and_3_matches_torch(rank, size, channels, kernel, stride, padding, dilation, bias):
    filters, groups = channels
    c = size[-1]
    cls = {1: nn.Conv1d, 3: nn.Conv3d}[rank]
    module = cls(c, filters, per_axis(kernel, rank), per_axis(stride, rank), per_axis(padding, rank), per_axis(dilation, rank), groups, bias)
    options = dict(filters=filters, kernel=kernel, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias)
    weights = filters * (c // groups) * math.prod(per_axis(kernel, rank))
    check("x".join(map(str, size)), "conv", options, module, lambda x, out: math.prod(out.sizes) * weights)


TRANSPOSE_CASES = sample(
    itertools.product((1, 3), (0, 1), [2, 3], [1, 2], [0, 1], [0, 1], [1, 2]),
    60,
)


@pytest.mark.parametrize("rank,size_index,kernel,stride,padding,output_padding,dilation", TRANSPOSE_CASES)
def test_conv_transpose_of_rank_1_and_3_matches_torch(rank, size_index, kernel, stride, padding, output_padding, dilation):
    size = SIZES[rank][size_index]
    c = size[-1]
    cls = {1: nn.ConvTranspose1d, 3: nn.ConvTranspose3d}[rank]
    options = dict(filters=6, kernel=kernel, stride=stride, padding=padding, output_padding=output_padding, dilation=dilation)
    try:
        module = cls(c, 6, kernel, stride, padding, output_padding, dilation=dilation)
    except ValueError:  # torch refuses output_padding >= max(stride, dilation) when building
        with pytest.raises(CnnCalcError):
            one_layer("x".join(map(str, size)), "conv_transpose", options)
        return
    weights = 6 * c * kernel**rank
    check("x".join(map(str, size)), "conv_transpose", options, module, lambda x, out: math.prod(x.sizes) * weights)


POOL_CASES = sample(itertools.product((1, 3), (0, 1, 2), ("maxpool", "avgpool"), [2, 3], [1, 2, None], [0, 1], (False, True), (1, 2)), 80)


@pytest.mark.parametrize("rank,size_index,kind,kernel,stride,padding,ceil_mode,dilation", POOL_CASES)
def test_pools_of_rank_1_and_3_match_torch(rank, size_index, kind, kernel, stride, padding, ceil_mode, dilation):
    size = SIZES[rank][size_index]
    if kind == "avgpool":
        dilation = 1  # torch's average pools have no dilation
        module = getattr(nn, f"AvgPool{rank}d")(kernel, stride, padding, ceil_mode=ceil_mode)
    else:
        module = getattr(nn, f"MaxPool{rank}d")(kernel, stride, padding, dilation, ceil_mode=ceil_mode)
    options = {"kernel": kernel, "padding": padding, "ceil_mode": ceil_mode}
    if stride is not None:
        options["stride"] = stride
    if dilation != 1:
        options["dilation"] = dilation
    check("x".join(map(str, size)), kind, options, module)


@pytest.mark.parametrize("rank", (1, 3))
@pytest.mark.parametrize("output", (1, 2, 3, 5))
def test_adaptive_and_global_pools_of_rank_1_and_3_match_torch(rank, output):
    for size in SIZES[rank]:
        text = "x".join(map(str, size))
        check(text, "adaptive_avgpool", {"output_size": output}, getattr(nn, f"AdaptiveAvgPool{rank}d")(output))
        check(text, "global_avgpool", {}, getattr(nn, f"AdaptiveAvgPool{rank}d")(1))


@pytest.mark.parametrize("rank", (1, 3))
def test_batchnorm_zeropad_upsample_and_activations_follow_the_rank(rank):
    for size in SIZES[rank]:
        text, c = "x".join(map(str, size)), size[-1]
        check(text, "batchnorm", {}, getattr(nn, f"BatchNorm{rank}d")(c))
        check(text, f"batchnorm{rank}d", {}, getattr(nn, f"BatchNorm{rank}d")(c))
        pads = list(range(1, 2 * rank + 1))  # (before, after) per axis, all different
        torch_pads = tuple(v for i in reversed(range(rank)) for v in (pads[2 * i], pads[2 * i + 1]))
        check(text, "zeropad", {"padding": pads}, getattr(nn, f"ZeroPad{rank}d")(torch_pads))
        check(text, "upsample", {"scale": 2}, nn.Upsample(scale_factor=2))
        check(text, "upsample", {"size": [9] * rank}, nn.Upsample(size=(9,) * rank))
        check(text, "relu", {}, nn.ReLU())
        check(text, "dropout", {"p": 0.3}, nn.Dropout(0.3))
        check(text, "lrn", {"size": 3}, nn.LocalResponseNorm(3))


def test_rank_aliases_accept_their_rank_and_refuse_others():
    assert one_layer("100x4", "conv1d", {"filters": 8, "kernel": 5}).output == Spatial(96, 8)
    assert one_layer("8x32x32x3", "conv3d", {"filters": 8, "kernel": 3}).output == Spatial(6, 30, 30, 8)
    assert one_layer("32x32x3", "maxpool2d", {"kernel": 2}).output == Spatial(16, 16, 3)
    assert one_layer("10", "batchnorm1d", {}).output == Vector(10)  # BatchNorm1d takes (N, C) too
    with pytest.raises(CnnCalcError, match=r"conv1d needs a 1-D \(length x channels\) input, but its input 32x32x3 is 2-D"):
        one_layer("32x32x3", "conv1d", {"filters": 8, "kernel": 3})
    with pytest.raises(CnnCalcError, match="write `conv`, which follows the rank of its input, or `conv2d`"):
        one_layer("32x32x3", "conv3d", {"filters": 8, "kernel": 3})
    with pytest.raises(CnnCalcError, match="batchnorm2d needs a 2-D"):
        one_layer("100x4", "batchnorm2d", {})
    with pytest.raises(CnnCalcError, match=r"`kernel` of conv must be a positive whole number or a list \[length\]"):
        one_layer("100x4", "conv", {"filters": 8, "kernel": [3, 3]})
    with pytest.raises(CnnCalcError, match=r"a list \[depth, height, width\]"):
        one_layer("4x8x8x3", "conv", {"filters": 8, "kernel": [3, 3]})


def test_shapes_print_with_their_rank_in_both_orders_and_in_json(cli):
    doc = json.loads(cli("table", "m5", "--format", "json").stdout)
    conv1 = next(r for r in doc["layers"] if r["path"] == "conv1")
    assert conv1["input"] == {"length": 8000, "channels": 1}
    assert conv1["output"] == {"length": 496, "channels": 32}
    assert conv1["kernel"] == {"length": 80} and conv1["padding"] == {"left": 0, "right": 0}
    table = cli("table", "m5").stdout
    assert "m5: input 8000x1 (L×C)" in table and " 496x32 " in table
    assert " 32x496 " in cli("table", "m5", "--chw").stdout
    r3d = cli("table", "r3d_18", "--depth", "1").stdout
    assert "(D×H×W×C)" in r3d and "8x28x28x128" in r3d
    stem = next(r for r in json.loads(cli("table", "r3d_18", "--format", "json").stdout)["layers"] if r["path"] == "stem.0")
    assert stem["output"] == {"depth": 16, "height": 56, "width": 56, "channels": 64}
    assert stem["padding"] == {"front": 1, "back": 1, "top": 3, "bottom": 3, "left": 3, "right": 3}


def test_an_input_override_of_another_rank_gives_every_layer_that_rank(cli):
    # `kernel: 5` in LeNet-5 is 5x5 on its image and 5 on a signal: the spec is read again for the new input.
    result = cli("table", "lenet5", "--input", "32x1", "--format", "json")
    assert result.exit_code == 0, result.output
    conv1 = json.loads(result.stdout)["layers"][0]
    assert conv1["output"] == {"length": 28, "channels": 6} and conv1["params"] == 6 * (5 * 1 + 1)


# --------------------------------------------------------------------------- receptive field of any rank


def _thin_forward(nodes: tuple[Node, ...], x, outputs: dict, target: str):
    """A one-channel copy of the network with positive weights (pools as averages), recording every output:
    a unit's input gradient is then nonzero exactly where torch reads for it."""
    for node in nodes:
        if isinstance(node, (Sequential, Side)):
            out = _thin_forward(node.children, x, outputs, target)
            x = x if isinstance(node, Side) else out
        elif isinstance(node, Merge):
            outs = [_thin_forward(b, x if s is None else outputs[s], outputs, target) for b, s in zip(node.branches, node.sources)]
            x = sum(o.sum(dim=1, keepdim=True) for o in outs) if node.merge == "add" else torch.cat(outs, dim=1)
        else:
            x = _thin_layer(node, x)
        outputs[node.path] = x
        if node.path == target:
            return x
    return x


def _thin_layer(node, x):
    kind, rank = str(node.kind), x.dim() - 2
    if kind == "conv":
        pads = node.padding.explicit
        x = F.pad(x, tuple(v for i in reversed(range(rank)) for v in (pads[2 * i], pads[2 * i + 1])))
        weight = torch.full((1, x.shape[1], *node.kernel), 1.0, dtype=torch.float64)
        return getattr(F, f"conv{rank}d")(x, weight, stride=node.stride, dilation=node.dilation)
    if kind in ("maxpool", "avgpool"):
        pads = node.padding.explicit
        x = F.pad(x, tuple(v for i in reversed(range(rank)) for v in (pads[2 * i], pads[2 * i + 1])))
        weight = torch.full((1, 1, *node.kernel), 1.0, dtype=torch.float64)
        return torch.cat([getattr(F, f"conv{rank}d")(x[:, c : c + 1], weight, stride=node.stride, dilation=node.dilation) for c in range(x.shape[1])], dim=1)
    if kind in ("global_avgpool", "adaptive_avgpool"):
        return getattr(F, f"adaptive_avg_pool{rank}d")(x, 1 if node.output is None else node.output)
    return x  # batch norm, activations: one value at a time


@pytest.mark.parametrize("name,target", [("m5", "pool3"), ("m5", "conv4"), ("r3d_18", "layer1"), ("unet_padded", "enc2")])
def test_receptive_field_of_1d_3d_and_graph_networks_equals_torchs_gradient_footprint(name, target):
    network: Network = zoo.load(name)
    if name != "m5":  # a smaller input keeps the thin copy fast; the recurrences do not depend on it
        network = zoo.load(name, parse_shape({"r3d_18": "8x40x40x3", "unet_padded": "64x64x3"}[name]))
    field = receptive_fields(network).find(target)
    shape = network.input
    x = torch.ones((1, 1, *shape.sizes), dtype=torch.float64, requires_grad=True)
    out = _thin_forward(network.layers, x, {}, target)
    unit = tuple(n // 2 for n in out.shape[2:])
    out[(0, slice(None), *unit)].sum().backward()
    nonzero = x.grad[0, 0] != 0
    for axis, (name_, f) in enumerate(field.axes):
        others = tuple(a for a in range(nonzero.dim()) if a != axis)
        seen = torch.nonzero(nonzero.any(dim=others) if others else nonzero).flatten().tolist()
        start = unit[axis] * f.stride - f.padding
        end = start + f.size - 1
        n = shape.sizes[axis]
        assert seen[0] == max(start, 0) and seen[-1] == min(end, n - 1), (name_, seen[0], seen[-1], start, end)


# A 3-D average pool refuses an input smaller than its kernel before its own padding (ATen's
# pool3d_shape_check with check_input_size); 2-D average pools and max pools do not. Found by exporting
# random specs and running them in torch: cnncalc had accepted AvgPool3d((3, 2, 3), ceil_mode=True) on 1×1×1.
SMALL_3D_CASES = list(itertools.product(("1x1x1x2", "2x2x2x2", "2x3x4x2", "3x3x3x2"), ("avgpool", "maxpool"), [2, 3, [3, 2, 3]], [0, 1], (False, True)))


@pytest.mark.parametrize("size,kind,kernel,padding,ceil_mode", SMALL_3D_CASES)
def test_small_3d_pools_are_refused_exactly_where_torch_refuses(size, kind, kernel, padding, ceil_mode):
    k = tuple(kernel) if isinstance(kernel, list) else kernel
    if padding * 2 > (min(k) if isinstance(k, tuple) else k):
        return  # the padding rule (at most half the kernel) is tested elsewhere
    cls = nn.AvgPool3d if kind == "avgpool" else nn.MaxPool3d
    check(size, kind, {"kernel": kernel, "padding": padding, "ceil_mode": ceil_mode}, cls(k, padding=padding, ceil_mode=ceil_mode))
