"""Every layer kind against the real torch.nn layer, over parametrised grids.

Each case builds a one-layer spec, runs it through `engine.analyse`, and compares the
output shape and parameter count with what torch gives on a forward pass of a small
tensor. MACs are compared with a formula written out here, independently of
cnncalc.kinds.formulas. Where torch refuses a configuration (an empty output, too much pooling
padding, an output_padding that is too large), cnncalc must refuse it too, with a
CnnCalcError rather than a wrong number.
"""

from __future__ import annotations

import itertools
import json
import math
import random

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from cnncalc.core.engine import analyse  # noqa: E402
from cnncalc.errors import CnnCalcError  # noqa: E402
from cnncalc.spec.parse import parse_spec  # noqa: E402
from cnncalc.model.shapes import Spatial, Vector  # noqa: E402


def one_layer(input_size, kind: str, options: dict | None = None):
    """The single leaf row of a one-layer spec, and the analysis. JSON is valid YAML."""
    layer = kind if options is None else {kind: options}
    text = json.dumps({"name": "one", "input": input_size, "layers": [layer]})
    analysis = analyse(parse_spec(text, file="one.yaml"))
    (row,) = analysis.leaves()
    return row, analysis


def torch_run(module, h: int, w: int, c: int):
    """Output shape of `module` on a 1 x C x H x W tensor as a Spatial/Vector, or None if torch refuses."""
    with torch.no_grad():
        try:
            y = module(torch.zeros(1, c, h, w))
        except (RuntimeError, ValueError):
            return None
    if y.numel() == 0:
        # Grouped ConvTranspose2d returns an empty tensor where the ungrouped one raises
        # "Output size is too small"; an empty output is a refusal either way.
        return None
    if y.dim() == 2:
        return Vector(y.shape[1])
    return Spatial(y.shape[2], y.shape[3], y.shape[1])


def n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def sample(grid, k: int, seed: int = 0):
    """A fixed, reproducible sample of a large product grid (every run tests the same cases)."""
    cases = list(grid)
    return random.Random(seed).sample(cases, min(k, len(cases)))


def check_same_as_torch(input_size, kind, options, module, hwc, expected_macs=None):
    h, w, c = hwc
    expected = torch_run(module, h, w, c)
    if expected is None:
        with pytest.raises(CnnCalcError):
            one_layer(input_size, kind, options)
        return None
    row, analysis = one_layer(input_size, kind, options)
    assert row.output == expected
    assert row.params == n_params(module)
    assert analysis.totals.params == n_params(module)
    if expected_macs is not None:
        assert row.macs == expected_macs(expected)
        assert analysis.totals.macs == row.macs
    return row


# --------------------------------------------------------------------------- conv

CONV_SIZES = [(7, 7, 4), (8, 11, 6), (13, 6, 12), (3, 3, 4)]
CONV_CHANNELS = [(8, 1), (12, 2), (4, 4), (6, 6), (5, 1)]  # (filters, groups); groups = in channels is depthwise
KERNELS = [1, 3, 4, [2, 5], [5, 1]]
STRIDES = [1, 2, [3, 1]]
PADDINGS = [0, 1, [2, 0]]
DILATIONS = [1, 2, [1, 3]]

CONV_GRID = sample(
    (
        case
        for case in itertools.product(CONV_SIZES, CONV_CHANNELS, KERNELS, STRIDES, PADDINGS, DILATIONS, (True, False))
        if case[0][2] % case[1][1] == 0 and case[1][0] % case[1][1] == 0
    ),
    260,
)


def conv_macs(out: Spatial, kernel, in_channels: int, groups: int) -> int:
    kh, kw = pair(kernel)
    return out.height * out.width * out.channels * kh * kw * (in_channels // groups)


@pytest.mark.parametrize("hwc,channels,kernel,stride,padding,dilation,bias", CONV_GRID)
def test_conv_matches_torch(hwc, channels, kernel, stride, padding, dilation, bias):
    filters, groups = channels
    h, w, c = hwc
    module = nn.Conv2d(c, filters, pair(kernel), pair(stride), pair(padding), pair(dilation), groups, bias)
    options = dict(filters=filters, kernel=kernel, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias)
    check_same_as_torch(f"{h}x{w}x{c}", "conv", options, module, hwc, lambda out: conv_macs(out, kernel, c, groups))


def test_conv_groups_must_divide_like_torch():
    with pytest.raises(ValueError):
        nn.Conv2d(6, 8, 3, groups=4)
    with pytest.raises(CnnCalcError):
        one_layer("8x8x6", "conv", {"filters": 8, "kernel": 3, "groups": 4})


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5, [2, 3], [4, 1]])
@pytest.mark.parametrize("dilation", [1, 2, [3, 1]])
@pytest.mark.parametrize("hw", [(5, 5), (6, 9), (1, 4)])
def test_same_padding_at_stride_1_is_torchs_same(kernel, dilation, hw):
    h, w = hw
    module = nn.Conv2d(3, 4, pair(kernel), 1, "same", pair(dilation))
    row = check_same_as_torch(f"{h}x{w}x3", "conv", {"filters": 4, "kernel": kernel, "padding": "same", "dilation": dilation}, module, (h, w, 3))
    assert (row.output.height, row.output.width) == (h, w)
    # torch pads d(k-1) in all per axis, the smaller half first (F.conv2d's _conv_forward with padding='same').
    (kh, kw), (dh, dw) = pair(kernel), pair(dilation)
    th, tw = dh * (kh - 1), dw * (kw - 1)
    assert row.padding == (th // 2, th - th // 2, tw // 2, tw - tw // 2)


def tf_same(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    """TensorFlow's SAME: output ceil(n/s); total = max((out-1)s + d(k-1)+1 - n, 0), the odd pixel after."""
    out = math.ceil(n / s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


@pytest.mark.parametrize("n_h,n_w", [(224, 224), (7, 8), (5, 13), (1, 2)])
@pytest.mark.parametrize("kernel,stride,dilation", [(7, 2, 1), (3, 2, 1), (1, 2, 1), (3, 3, 1), ([3, 5], [2, 3], 1), (3, 2, 2), (2, 4, 1)])
def test_same_padding_at_larger_strides_is_tensorflows(n_h, n_w, kernel, stride, dilation):
    (kh, kw), (sh, sw), (dh, dw) = pair(kernel), pair(stride), pair(dilation)
    row, _ = one_layer(f"{n_h}x{n_w}x2", "conv", {"filters": 3, "kernel": kernel, "stride": stride, "padding": "same", "dilation": dilation})
    assert (row.output.height, row.output.width) == (math.ceil(n_h / sh), math.ceil(n_w / sw))
    assert row.padding == (*tf_same(n_h, kh, sh, dh), *tf_same(n_w, kw, sw, dw))
    # and torch, given that padding explicitly, agrees on the shape
    top, bottom, left, right = row.padding
    module = nn.Sequential(nn.ZeroPad2d((left, right, top, bottom)), nn.Conv2d(2, 3, (kh, kw), (sh, sw), 0, (dh, dw)))
    assert torch_run(module, n_h, n_w, 2) == row.output


def test_same_padding_resnet_stem_is_two_then_three():
    # Keras ResNet stem: 224 input, 7x7 stride 2 'same' pads 2 before and 3 after, giving 112.
    row, _ = one_layer("224x224x3", "conv", {"filters": 64, "kernel": 7, "stride": 2, "padding": "same"})
    assert row.padding == (2, 3, 2, 3)
    assert row.output == Spatial(112, 112, 64)


def test_valid_padding_is_torchs_valid():
    module = nn.Conv2d(3, 5, (3, 4), padding="valid")
    check_same_as_torch("9x10x3", "conv", {"filters": 5, "kernel": [3, 4], "padding": "valid"}, module, (9, 10, 3))


@pytest.mark.parametrize(
    "pads,kernel,stride",
    [((1, 2, 0, 3), 3, 1), ((0, 1, 0, 1), 2, 2), ((3, 0, 1, 1), [3, 2], [2, 1]), ((2, 2, 0, 0), 5, 1), ((0, 0, 4, 0), [1, 5], 3)],
)
def test_asymmetric_padding_is_zeropad_then_conv(pads, kernel, stride):
    top, bottom, left, right = pads
    module = nn.Sequential(nn.ZeroPad2d((left, right, top, bottom)), nn.Conv2d(4, 6, pair(kernel), pair(stride)))
    row = check_same_as_torch(
        "7x9x4", "conv", {"filters": 6, "kernel": kernel, "stride": stride, "padding": list(pads)}, module, (7, 9, 4),
        lambda out: conv_macs(out, kernel, 4, 1),
    )
    assert row.padding == pads


@pytest.mark.parametrize("trainable", [True, False])
def test_frozen_conv_counts_as_non_trainable(trainable):
    module = nn.Conv2d(3, 8, 3)
    module.requires_grad_(trainable)
    row, analysis = one_layer("8x8x3", "conv", {"filters": 8, "kernel": 3, "trainable": trainable})
    assert row.trainable_params == sum(p.numel() for p in module.parameters() if p.requires_grad)
    assert row.non_trainable_params == sum(p.numel() for p in module.parameters() if not p.requires_grad)
    assert analysis.totals.trainable_params == row.trainable_params


# --------------------------------------------------------------------------- conv_transpose

TRANSPOSE_GRID = sample(
    (
        case
        for case in itertools.product(
            [(5, 5, 4), (3, 7, 6), (1, 1, 4)],
            [(8, 1), (6, 2), (4, 4)],
            [1, 3, [2, 4]],
            [1, 2, [3, 2]],
            [0, 1, [2, 0]],
            [0, 1, [2, 1]],
            [1, 2],
            (True, False),
        )
        if case[0][2] % case[1][1] == 0 and case[1][0] % case[1][1] == 0
    ),
    200,
    seed=1,
)


@pytest.mark.parametrize("hwc,channels,kernel,stride,padding,output_padding,dilation,bias", TRANSPOSE_GRID)
def test_conv_transpose_matches_torch(hwc, channels, kernel, stride, padding, output_padding, dilation, bias):
    filters, groups = channels
    h, w, c = hwc
    module = nn.ConvTranspose2d(c, filters, pair(kernel), pair(stride), pair(padding), pair(output_padding), groups, bias, pair(dilation))
    options = dict(
        filters=filters, kernel=kernel, stride=stride, padding=padding, output_padding=output_padding,
        dilation=dilation, groups=groups, bias=bias,
    )
    kh, kw = pair(kernel)
    # every input pixel is multiplied by every weight of its group once: H_in W_in f_h f_w c_in (k / g)
    check_same_as_torch(f"{h}x{w}x{c}", "conv_transpose", options, module, hwc, lambda out: h * w * kh * kw * c * (filters // groups))


# --------------------------------------------------------------------------- pools

POOL_SIZES = [(6, 6, 2), (7, 9, 3), (5, 4, 1), (2, 2, 1), (10, 3, 2)]
POOL_GRID = sample(
    itertools.product(POOL_SIZES, [1, 2, 3, [3, 2], 4], [None, 1, 2, 3, [2, 3]], [0, 1, 2, [1, 0]], [1, 2], (False, True)),
    300,
    seed=2,
)


def _pool_options(kernel, stride, padding, ceil_mode, **extra):
    options = dict(kernel=kernel, padding=padding, ceil_mode=ceil_mode, **extra)
    if stride is not None:
        options["stride"] = stride
    return options


@pytest.mark.parametrize("hwc,kernel,stride,padding,dilation,ceil_mode", POOL_GRID)
@pytest.mark.parametrize("kind", ["maxpool", "minpool"])
def test_maxpool_matches_torch(kind, hwc, kernel, stride, padding, dilation, ceil_mode):
    h, w, c = hwc
    module = nn.MaxPool2d(pair(kernel), None if stride is None else pair(stride), pair(padding), pair(dilation), ceil_mode=ceil_mode)
    options = _pool_options(kernel, stride, padding, ceil_mode, dilation=dilation)
    row = check_same_as_torch(f"{h}x{w}x{c}", kind, options, module, hwc, lambda out: 0)
    if row is not None:
        assert row.params == 0


@pytest.mark.parametrize("hwc,kernel,stride,padding,_,ceil_mode", [case for case in POOL_GRID if case[4] == 1])
def test_avgpool_matches_torch(hwc, kernel, stride, padding, _, ceil_mode):
    h, w, c = hwc
    module = nn.AvgPool2d(pair(kernel), None if stride is None else pair(stride), pair(padding), ceil_mode=ceil_mode)
    check_same_as_torch(f"{h}x{w}x{c}", "avgpool", _pool_options(kernel, stride, padding, ceil_mode), module, hwc, lambda out: 0)


@pytest.mark.parametrize(
    "n,kernel,stride,padding",
    [
        (4, 2, 3, 1),  # ceil gives 3 windows, but the third would start at 6 >= 4 + 1: torch drops it
        (5, 2, 2, 0),  # 5 -> ceil(3/2)+1 = 3, the last window half outside: kept
        (6, 3, 3, 1),
        (7, 3, 2, 1),
        (3, 3, 4, 1),
        (112, 3, 2, 0),  # GoogLeNet's ceil_mode pools
        (55, 3, 2, 0),
    ],
)
@pytest.mark.parametrize("pool", ["maxpool", "avgpool"])
def test_ceil_mode_edge_cases(pool, n, kernel, stride, padding):
    torch_pool = nn.MaxPool2d if pool == "maxpool" else nn.AvgPool2d
    for ceil_mode in (False, True):
        module = torch_pool(kernel, stride, padding, ceil_mode=ceil_mode)
        options = {"kernel": kernel, "stride": stride, "padding": padding, "ceil_mode": ceil_mode}
        check_same_as_torch(f"{n}x{n}x1", pool, options, module, (n, n, 1))


def test_pool_padding_limit_uses_the_undilated_kernel():
    """torch allows padding up to kernel // 2 of the kernel as written, even when dilation widens the window."""
    assert torch_run(nn.MaxPool2d(3, padding=2, dilation=2), 9, 9, 1) is None
    with pytest.raises(CnnCalcError):
        one_layer("9x9x1", "maxpool", {"kernel": 3, "padding": 2, "dilation": 2})
    row, _ = one_layer("9x9x1", "maxpool", {"kernel": 3, "stride": 1, "padding": 1, "dilation": 2})
    assert row.output == torch_run(nn.MaxPool2d(3, 1, padding=1, dilation=2), 9, 9, 1)


def test_ceil_mode_drop_really_happens():
    """The edge case above is not vacuous: ceil division alone would give 3 here, torch gives 2."""
    row, _ = one_layer("4x4x1", "maxpool", {"kernel": 2, "stride": 3, "padding": 1, "ceil_mode": True})
    assert math.ceil((4 + 2 - 2) / 3) + 1 == 3
    assert row.output.height == 2 == nn.MaxPool2d(2, 3, 1, ceil_mode=True)(torch.zeros(1, 1, 4, 4)).shape[2]


@pytest.mark.parametrize("hw", [(7, 7), (8, 5), (1, 1), (224, 224)])
@pytest.mark.parametrize("output", [1, 2, 3, [2, 5], [7, 7]])
def test_adaptive_avgpool_matches_torch(hw, output):
    h, w = hw
    module = nn.AdaptiveAvgPool2d(pair(output))
    check_same_as_torch(f"{h}x{w}x3", "adaptive_avgpool", {"output_size": output}, module, (h, w, 3), lambda out: 0)


def test_global_avgpool_is_adaptive_1():
    check_same_as_torch("7x5x16", "global_avgpool", None, nn.AdaptiveAvgPool2d(1), (7, 5, 16), lambda out: 0)


# --------------------------------------------------------------------------- fc, flatten, batchnorm


@pytest.mark.parametrize("features", [1, 10, 400, 9216])
@pytest.mark.parametrize("units", [1, 84, 1000])
@pytest.mark.parametrize("bias", [True, False])
def test_fc_matches_torch(features, units, bias):
    module = nn.Linear(features, units, bias)
    row, analysis = one_layer(features, "fc", {"units": units, "bias": bias})
    assert row.output == Vector(units)
    assert row.params == n_params(module)
    assert row.macs == features * units


@pytest.mark.parametrize("hwc", [(5, 5, 16), (1, 1, 512), (3, 7, 2)])
def test_flatten_then_fc_matches_torch(hwc):
    h, w, c = hwc
    module = nn.Sequential(nn.Flatten(), nn.Linear(h * w * c, 10))
    text = json.dumps({"input": f"{h}x{w}x{c}", "layers": ["flatten", {"fc": {"units": 10}}]})
    analysis = analyse(parse_spec(text, file="t.yaml"))
    assert [r.output for r in analysis.leaves()] == [Vector(h * w * c), torch_run(module, h, w, c)]
    assert analysis.totals.params == n_params(module)


def bn_counts(module):
    params = n_params(module)
    stats = sum(b.numel() for name, b in module.named_buffers() if name in ("running_mean", "running_var"))
    return params, stats


@pytest.mark.parametrize("channels", [1, 3, 64])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("track", [True, False])
@pytest.mark.parametrize("trainable", [True, False])
def test_batchnorm2d_params_and_running_stats_match_torch(channels, affine, track, trainable):
    module = nn.BatchNorm2d(channels, affine=affine, track_running_stats=track)
    module.requires_grad_(trainable)
    params, stats = bn_counts(module)
    row, analysis = one_layer(f"4x3x{channels}", "batchnorm", {"affine": affine, "track_running_stats": track, "trainable": trainable})
    assert row.output == torch_run(module.eval(), 4, 3, channels)
    assert row.params == params
    assert row.trainable_params == sum(p.numel() for p in module.parameters() if p.requires_grad)
    # non-trainable: frozen parameters plus the running mean and variance buffers
    assert row.non_trainable_params == params - row.trainable_params + stats
    assert analysis.totals.running_stats == stats
    assert row.macs == 0


@pytest.mark.parametrize("features", [1, 120])
def test_batchnorm1d_on_vectors_matches_torch(features):
    module = nn.BatchNorm1d(features)
    params, stats = bn_counts(module)
    text = json.dumps({"input": features, "layers": ["batchnorm"]})
    (row,) = analyse(parse_spec(text, file="t.yaml")).leaves()
    assert row.output == Vector(features)
    assert (row.params, row.non_trainable_params) == (params, stats)


# --------------------------------------------------------------------------- zeropad, upsample, shape-keeping layers


@pytest.mark.parametrize("padding", [0, 1, 3, [1, 2], [0, 1, 2, 3], [4, 0, 0, 1]])
@pytest.mark.parametrize("hw", [(5, 5), (2, 7)])
def test_zeropad_matches_torch(padding, hw):
    h, w = hw
    if isinstance(padding, int):
        torch_pad = padding
    elif len(padding) == 2:
        torch_pad = (padding[1], padding[1], padding[0], padding[0])
    else:
        top, bottom, left, right = padding
        torch_pad = (left, right, top, bottom)
    check_same_as_torch(f"{h}x{w}x3", "zeropad", {"padding": padding}, nn.ZeroPad2d(torch_pad), (h, w, 3), lambda out: 0)


@pytest.mark.parametrize("scale", [1, 2, 3, 1.5, 0.5, 2.5, 1.3, 0.7, 1.75, [2, 3], [1.5, 2]])
@pytest.mark.parametrize("hw", [(7, 7), (5, 9), (13, 1)])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_upsample_scale_matches_torch(scale, hw, mode):
    h, w = hw
    torch_scale = tuple(float(s) for s in scale) if isinstance(scale, list) else float(scale)
    module = nn.Upsample(scale_factor=torch_scale, mode=mode)
    check_same_as_torch(f"{h}x{w}x2", "upsample", {"scale": scale, "mode": mode}, module, (h, w, 2), lambda out: 0)


@pytest.mark.parametrize("size", [4, [3, 8], [14, 14]])
def test_upsample_size_matches_torch(size):
    module = nn.Upsample(size=pair(size))
    check_same_as_torch("7x5x2", "upsample", {"size": size}, module, (7, 5, 2), lambda out: 0)


@pytest.mark.parametrize(
    "kind,module",
    [
        ("relu", nn.ReLU()),
        ("relu6", nn.ReLU6()),
        ("leaky_relu", nn.LeakyReLU()),
        ("tanh", nn.Tanh()),
        ("sigmoid", nn.Sigmoid()),
        ("softmax", nn.Softmax(dim=1)),
        ("gelu", nn.GELU()),
        ("dropout", nn.Dropout()),
        ("lrn", nn.LocalResponseNorm(5)),
    ],
)
def test_shape_keeping_layers_match_torch(kind, module):
    check_same_as_torch("6x5x7", kind, None, module, (6, 5, 7), lambda out: 0)
