"""The layer kinds of modern CNNs (issue 10) against real torch: activations, layer/group/instance norm,
layer scale, stochastic depth, channel shuffle and chunk (ShuffleNetV2), crop (U-Net), per-position fc and
permute (ConvNeXt), pixel (un)shuffle, unflatten, max pools, `upsample: {size_of}`, and the `multiply`
merge with torch's broadcasting (squeeze-excitation)."""

from __future__ import annotations

import json
import math

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from cnncalc.core.engine import analyse  # noqa: E402
from cnncalc.core.receptive import receptive_fields  # noqa: E402
from cnncalc.errors import CnnCalcError  # noqa: E402
from cnncalc.model.shapes import Spatial, Vector  # noqa: E402
from cnncalc.spec.parse import parse_spec  # noqa: E402
from torch_build import cnncalc_shape, trace  # noqa: E402


def run(input_size: str, layers: list):
    return analyse(parse_spec(json.dumps({"name": "t", "input": input_size, "layers": layers}), file="t.yaml"))


def torch_shape(y: torch.Tensor) -> tuple[int, ...]:
    return (*y.shape[2:], y.shape[1]) if y.dim() >= 3 else tuple(y.shape[1:])


def params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(
    "kind,options,module",
    [
        ("silu", {}, nn.SiLU()),
        ("swish", {}, nn.SiLU()),
        ("hardswish", {"inplace": True}, nn.Hardswish(inplace=True)),
        ("hardsigmoid", {}, nn.Hardsigmoid()),
        ("mish", {}, nn.Mish()),
        ("elu", {"alpha": 0.5}, nn.ELU(alpha=0.5)),
        ("selu", {}, nn.SELU()),
        ("softplus", {"beta": 2}, nn.Softplus(beta=2)),
        ("identity", {}, nn.Identity()),
        ("gelu", {"approximate": "tanh"}, nn.GELU(approximate="tanh")),
        ("prelu", {}, nn.PReLU()),
        ("prelu", {"num_parameters": 6}, nn.PReLU(6)),
        ("relu", {"inplace": True}, nn.ReLU(inplace=True)),
    ],
)
def test_activations_keep_the_shape_and_prelu_has_its_slopes(kind, options, module):
    row = run("5x7x6", [{kind: options}]).leaves()[0]
    assert cnncalc_shape(row.output) == torch_shape(module(torch.zeros(1, 6, 5, 7)))
    assert row.params == params(module)


def test_prelu_refuses_a_slope_count_that_is_neither_one_nor_the_channels():
    with pytest.raises(RuntimeError):
        nn.PReLU(4)(torch.zeros(1, 6, 5, 5))
    with pytest.raises(CnnCalcError, match="num_parameters 4 is neither 1 nor the 6 channels"):
        run("5x5x6", [{"prelu": {"num_parameters": 4}}])


@pytest.mark.parametrize("affine,bias", [(True, True), (True, False), (False, True)])
def test_layernorm_over_the_channels_of_each_position(affine, bias):
    row = run("7x7x96", [{"layernorm": {"elementwise_affine": affine, "bias": bias, "eps": 1e-6}}]).leaves()[0]
    assert row.output == Spatial(7, 7, 96)
    assert row.params == params(nn.LayerNorm(96, elementwise_affine=affine, bias=bias))
    vector = run("768", [{"layernorm": {}}]).leaves()[0]
    assert vector.output == Vector(768) and vector.params == 2 * 768


@pytest.mark.parametrize("groups,channels", [(32, 64), (1, 8), (8, 8), (4, 12)])
def test_groupnorm_matches_torch(groups, channels):
    module = nn.GroupNorm(groups, channels)
    row = run(f"5x5x{channels}", [{"groupnorm": {"groups": groups}}]).leaves()[0]
    assert cnncalc_shape(row.output) == torch_shape(module(torch.zeros(1, channels, 5, 5)))
    assert row.params == params(module)


def test_groupnorm_refuses_groups_that_do_not_divide_the_channels():
    with pytest.raises(ValueError):
        nn.GroupNorm(5, 12)
    with pytest.raises(CnnCalcError, match="12 channels do not divide into 5 groups"):
        run("5x5x12", [{"groupnorm": {"groups": 5}}])


@pytest.mark.parametrize("size", ["20x6", "8x8x6", "4x5x5x6"])
@pytest.mark.parametrize("affine,track", [(False, False), (True, False), (True, True)])
def test_instancenorm_of_every_rank(size, affine, track):
    rank = size.count("x")
    module = getattr(nn, f"InstanceNorm{rank}d")(6, affine=affine, track_running_stats=track)
    analysis = run(size, [{"instancenorm": {"affine": affine, "track_running_stats": track}}])
    row = analysis.leaves()[0]
    assert row.params == params(module)
    assert analysis.totals.running_stats == sum(b.numel() for n, b in module.named_buffers() if "running" in n)


def test_layer_scale_stochastic_depth_and_permute_as_in_convnext():
    analysis = run(
        "14x14x96",
        [
            {"conv": {"filters": 96, "kernel": 7, "padding": 3, "groups": 96}},
            {"permute": {"order": [0, 2, 3, 1]}},
            {"layernorm": {"eps": 1e-6}},
            {"fc": {"units": 384, "per_position": True}},
            "gelu",
            {"fc": {"units": 96, "per_position": True}},
            {"permute": {"order": [0, 3, 1, 2]}},
            {"layer_scale": {"init": 1e-6}},
            {"stochastic_depth": {"p": 0.1, "mode": "row"}},
        ],
    )
    rows = analysis.leaves()
    assert [r.output for r in rows][-1] == Spatial(14, 14, 96)
    # torchvision's CNBlock(96): 7x7 depthwise (4,800) + LayerNorm (192) + Linear 96→384 (37,248)
    # + Linear 384→96 (36,960) + layer_scale (96) = 79,296 parameters
    assert analysis.totals.params == 4_800 + 192 + 37_248 + 36_960 + 96
    fc1 = rows[3]
    assert fc1.macs == 14 * 14 * 96 * 384  # the Linear runs at every position
    with pytest.raises(CnnCalcError, match="permute's order lists every dimension"):
        run("8x8x3", [{"permute": {"order": [0, 2, 1]}}])


def test_channel_shuffle_and_chunk_as_in_shufflenet_v2():
    with pytest.raises(RuntimeError):
        nn.ChannelShuffle(3)(torch.zeros(1, 8, 4, 4))
    with pytest.raises(CnnCalcError, match="8 channels do not divide into 3 groups"):
        run("4x4x8", [{"channel_shuffle": {"groups": 3}}])
    x = torch.zeros(1, 10, 4, 4)
    for chunks in (1, 2, 3, 4, 7):
        pieces = x.chunk(chunks, dim=1)
        for index, piece in enumerate(pieces):
            assert run("4x4x10", [{"chunk": {"chunks": chunks, "index": index}}]).leaves()[0].output.channels == piece.shape[1]
        with pytest.raises(CnnCalcError, match="there are only"):
            run("4x4x10", [{"chunk": {"chunks": chunks, "index": len(pieces)}}])


def _torchvision_center_crop_offset(n: int, size: int) -> int:
    # torchvision.transforms.functional.center_crop: crop_top = int(round((image_height - crop_height) / 2.0))
    return int(round((n - size) / 2.0))


@pytest.mark.parametrize("n,size", [(64, 56), (64, 57), (65, 56), (136, 104), (7, 6), (9, 4)])
def test_centre_crop_keeps_the_units_torchvision_keeps(n, size):
    analysis = run(f"{n}x{n}x1", [{"crop": {"size": size}}])
    assert analysis.leaves()[0].output == Spatial(size, size, 1)
    # the receptive field says which input unit unit 0 is: torchvision's offset
    field = receptive_fields(analysis.network).leaves()[0].height
    assert -field.padding == _torchvision_center_crop_offset(n, size)
    # and the torch module of the kind keeps exactly those units
    (traced,) = trace(analysis.network, device="cpu").values()
    assert traced.output == (size, size, 1)


def test_explicit_crop_amounts_and_their_limits():
    row = run("20x30x3", [{"crop": {"amounts": [1, 2, 3, 4]}}]).leaves()[0]
    assert row.output == Spatial(17, 23, 3)
    with pytest.raises(CnnCalcError, match="a crop must leave at least 1 pixel"):
        run("4x4x3", [{"crop": {"amounts": [2, 2, 0, 0]}}])
    with pytest.raises(CnnCalcError, match="exactly one of `size`"):
        run("4x4x3", ["crop"])


@pytest.mark.parametrize("factor,channels", [(2, 8), (3, 18)])
def test_pixel_shuffle_and_unshuffle_match_torch(factor, channels):
    x = torch.zeros(1, channels, 6, 6)
    up = run(f"6x6x{channels}", [{"pixel_shuffle": {"factor": factor}}]).leaves()[0]
    assert cnncalc_shape(up.output) == torch_shape(nn.PixelShuffle(factor)(x))
    down = run(f"6x6x{channels}", [{"pixel_unshuffle": {"factor": factor}}]).leaves()[0]
    assert cnncalc_shape(down.output) == torch_shape(nn.PixelUnshuffle(factor)(x))
    with pytest.raises(CnnCalcError, match="pixel_shuffle needs channels divisible by factor²"):
        run("6x6x5", [{"pixel_shuffle": {"factor": 2}}])


def test_unflatten_turns_a_vector_into_a_map():
    analysis = run("100", [{"fc": {"units": 3136}}, {"unflatten": {"shape": "7x7x64"}}, {"conv_transpose": {"filters": 32, "kernel": 2, "stride": 2}}])
    assert [r.output for r in analysis.leaves()] == [Vector(3136), Spatial(7, 7, 64), Spatial(14, 14, 32)]
    assert nn.Unflatten(1, (64, 7, 7))(torch.zeros(1, 3136)).shape == (1, 64, 7, 7)
    with pytest.raises(CnnCalcError, match="unflatten turns a vector into a 7x7x64 map of 3,136 values; its input is 100 features"):
        run("100", [{"unflatten": {"shape": "7x7x64"}}])


@pytest.mark.parametrize("size", ["9x6", "9x7x6", "5x9x7x6"])
def test_max_pools_global_and_adaptive_match_torch(size):
    rank = size.count("x")
    x = torch.zeros(1, 6, *[int(v) for v in size.split("x")[:-1]])
    assert cnncalc_shape(run(size, ["global_maxpool"]).leaves()[0].output) == torch_shape(getattr(nn, f"AdaptiveMaxPool{rank}d")(1)(x))
    adaptive = run(size, [{"adaptive_maxpool": {"output_size": 3}}]).leaves()[0]
    assert cnncalc_shape(adaptive.output) == torch_shape(getattr(nn, f"AdaptiveMaxPool{rank}d")(3)(x))


def test_upsample_to_the_size_of_an_earlier_layer():
    analysis = run(
        "33x45x3",
        [
            {"conv": {"name": "stem", "filters": 8, "kernel": 3, "padding": 1}},
            {"conv": {"filters": 8, "kernel": 3, "stride": 4}},
            {"upsample": {"size_of": "stem", "mode": "bilinear"}},
        ],
    )
    assert analysis.leaves()[-1].output == Spatial(33, 45, 8)
    with pytest.raises(CnnCalcError, match="`size_of: stm` must name a layer or group that comes before"):
        run("8x8x3", [{"conv": {"name": "stem", "filters": 8, "kernel": 1}}, {"upsample": {"size_of": "stm"}}])


SE = {
    "multiply": {
        "name": "scale",
        "branches": [
            [],
            [
                "global_avgpool",
                {"conv": {"name": "fc1", "filters": 8, "kernel": 1}},
                "relu",
                {"conv": {"name": "fc2", "filters": 32, "kernel": 1}},
                "sigmoid",
            ],
        ],
    }
}


def test_a_squeeze_excitation_gate_multiplies_every_position_as_torch_broadcasts():
    network = parse_spec(json.dumps({"name": "se", "input": "14x14x32", "layers": [SE]}), file="se.yaml")
    analysis = analyse(network)
    merge = next(r for r in analysis.rows if r.path == "scale")
    assert merge.output == Spatial(14, 14, 32) and merge.macs == 0
    assert analysis.totals.params == (32 + 1) * 8 + (8 + 1) * 32  # torchvision's SqueezeExcitation(32, 8)
    traced = trace(network, device="cpu")
    assert traced["scale"].output == (14, 14, 32)


@pytest.mark.parametrize(
    "a,b,ok",
    [("14x14x32", "1x1x32", True), ("14x14x32", "14x14x1", True), ("14x14x32", "1x1x16", False), ("14x14x32", "7x7x32", False), ("10", "10", True)],
)
def test_multiply_broadcasts_exactly_as_torch_does(a, b, ok):
    def torch_size(text):
        *sizes, c = (int(v) for v in text.split("x"))
        return (1, c, *sizes)

    try:
        torch.zeros(torch_size(a)) * torch.zeros(torch_size(b))
        torch_ok = True
    except RuntimeError:
        torch_ok = False
    assert torch_ok == ok
    *sizes_b, c_b = (int(v) for v in b.split("x"))
    layers = [{"multiply": {"branches": [[], [{"adaptive_avgpool": {"output_size": sizes_b}}, {"conv": {"filters": c_b, "kernel": 1}}]]}}]
    if "x" not in a:
        layers = [{"multiply": {"branches": [[], [{"fc": {"units": c_b}}]]}}]
    if ok:
        out = run(a, layers).rows[-1].output
        assert out.torch_size() == tuple(max(x, y) for x, y in zip(torch_size(a), torch_size(b)))[1:]
    else:
        with pytest.raises(CnnCalcError, match="multiply broadcasts as torch does"):
            run(a, layers)



def test_multiply_of_branches_of_different_ranks_is_refused_for_torch_mixes_in_the_batch():
    # (N, 4, 1, 1) * (N, 4): torch aligns whole tensors from the right, so the vector's batch axis meets the
    # map's height, and one sample's product has a shape that depends on the batch size. Found by the long
    # memory hunt: cnncalc took the product of one sample (4x1x4), right for a batch of one only.
    per_sample = {n: tuple((torch.zeros(n, 4, 1, 1) * torch.zeros(n, 4)).shape[1:]) for n in (1, 2)}
    assert per_sample == {1: (4, 1, 4), 2: (4, 2, 4)}
    with pytest.raises(CnnCalcError) as caught:
        run("1x1x4", [{"multiply": {"name": "gate", "branches": [[], [{"flatten": {}}, {"fc": {"units": 4}}]]}}])
    assert caught.value.render() == (
        "error: t.yaml:1:45: layer gate: multiply needs branches of the same rank: torch aligns whole tensors from the right, "
        "so the batch axis of the smaller one would meet an axis of the other; branch 1 (the identity) gives 1x1x4 (a 2-D map) "
        "but branch 2 (layer gate.branch1) gives 4 (a vector)\n"
        "  hint: make the gate a map of the same rank as the other branch: 1x1xC, from global pooling and 1x1 convs, "
        "or `unflatten: {shape: 1x1xC}` after an fc"
    )
    # the hint's way out gives the product torch gives for every batch
    fixed = run("1x1x4", [{"multiply": {"branches": [[], [{"flatten": {}}, {"fc": {"units": 4}}, {"unflatten": {"shape": "1x1x4"}}]]}}])
    assert fixed.rows[-1].output == Spatial(1, 1, 4)
    assert tuple((torch.zeros(2, 4, 1, 1) * torch.zeros(2, 4).unflatten(1, (4, 1, 1))).shape[1:]) == (4, 1, 1)

def test_new_kinds_are_exact_in_a_small_network_built_in_torch():
    network = parse_spec(
        json.dumps(
            {
                "name": "mix",
                "input": "16x16x8",
                "layers": [
                    {"conv": {"filters": 16, "kernel": 3, "padding": 1}},
                    {"groupnorm": {"groups": 4}},
                    "hardswish",
                    SE | {},
                    {"instancenorm": {"affine": True}},
                    {"channel_shuffle": {"groups": 4}},
                    {"chunk": {"chunks": 2, "index": 0}},
                    {"fc": {"units": 12, "per_position": True}},
                    {"layernorm": {}},
                    {"layer_scale": {}},
                    {"pixel_unshuffle": {"factor": 2}},
                    {"crop": {"size": 6}},
                    "global_maxpool",
                    "flatten",
                    {"fc": {"units": 10}},
                ],
            }
        ).replace('"filters": 32', '"filters": 16'),
        file="mix.yaml",
    )
    traced = trace(network, device="cpu")
    for row in analyse(network).leaves():
        assert cnncalc_shape(row.output) == traced[row.path].output, row.path
        assert (row.params, row.macs) == (traced[row.path].params, traced[row.path].macs), row.path
    assert math.isfinite(sum(t.params for t in traced.values()))
