"""Receptive field r, effective stride S, effective padding P against hand arithmetic.

Every expected number below is worked out by hand in the comment next to it, with the
recurrences r = r' + (k_eff − 1)·S', S = S'·s, P = P' + p·S' (Araujo et al., Distill 2019),
or taken from a published table; none is pasted from cnncalc's output.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import spec
from cnncalc.spec import zoo
from cnncalc.core.receptive import receptive_fields


def fields(text: str, input_shape=None):
    return receptive_fields(spec(text), input_shape)


def rsp(field, axis="height"):
    a = field.axis(axis)
    return (a.size, a.stride, a.padding)


def net(layers: str, input: str = "32x32x1") -> str:
    return f"name: t\ninput: {input}\nlayers:\n" + "\n".join(f"  - {line}" for line in layers.strip().splitlines())


# --------------------------------------------------------------------------- single layers


def test_single_conv_is_its_kernel():
    (f,) = fields(net("conv: {filters: 1, kernel: 5, stride: 2, padding: 1}")).leaves()
    # r = 1 + (5 − 1)·1 = 5, S = 1·2 = 2, P = 0 + 1·1 = 1
    assert rsp(f) == rsp(f, "width") == (5, 2, 1)


def test_dilation_enters_as_effective_kernel():
    a = fields(
        net(
            """
            conv: {filters: 1, kernel: 3, stride: 2, padding: 1}
            conv: {filters: 1, kernel: 3, dilation: 2, padding: 2}
            """
        )
    ).leaves()
    # conv 1: r = 3, S = 2, P = 1. conv 2: k_eff = 2·(3 − 1) + 1 = 5, r = 3 + 4·2 = 11, S = 2, P = 1 + 2·2 = 5
    assert rsp(a[0]) == (3, 2, 1)
    assert rsp(a[1]) == (11, 2, 5)


def test_non_square_kernels_strides_and_padding_per_axis():
    a = fields(
        net(
            """
            conv: {filters: 1, kernel: [3, 5], stride: [1, 2], padding: [1, 2]}
            maxpool: {kernel: [2, 3], stride: [2, 1]}
            """
        )
    ).leaves()
    # conv: height r 3, S 1, P 1; width r 5, S 2, P 2
    assert rsp(a[0], "height") == (3, 1, 1)
    assert rsp(a[0], "width") == (5, 2, 2)
    # pool: height r = 3 + (2 − 1)·1 = 4, S = 2, P = 1; width r = 5 + (3 − 1)·2 = 9, S = 2·1 = 2, P = 2
    assert rsp(a[1], "height") == (4, 2, 1)
    assert rsp(a[1], "width") == (9, 2, 2)


def test_pooling_counts_like_a_convolution_and_ceil_mode_changes_nothing():
    layers = """
        conv: {filters: 1, kernel: 7, stride: 2, padding: 3}
        maxpool: {kernel: 3, stride: 2, padding: 1, ceil_mode: %s}
        avgpool: {kernel: 2}
    """
    for ceil in ("false", "true"):
        a = fields(net(layers % ceil, "33x33x1")).leaves()
        # conv: 7, 2, 3. maxpool: r = 7 + 2·2 = 11, S = 4, P = 3 + 1·2 = 5. avgpool k2 s2: r = 11 + 1·4 = 15, S = 8, P = 5
        assert [rsp(f) for f in a] == [(7, 2, 3), (11, 4, 5), (15, 8, 5)]


def test_pool_dilation():
    (f,) = fields(net("maxpool: {kernel: 3, stride: 1, dilation: 3}")).leaves()
    assert rsp(f) == (7, 1, 0)  # k_eff = 3·2 + 1


def test_asymmetric_explicit_padding_uses_top_and_left():
    (f,) = fields(net("conv: {filters: 1, kernel: 3, padding: [2, 0, 1, 3]}")).leaves()
    assert rsp(f, "height") == (3, 1, 2)
    assert rsp(f, "width") == (3, 1, 1)


def test_same_padding_uses_the_padding_actually_applied():
    # stride 1, k = 4: total 3, split 1 before / 2 after (torch's padding="same") → P = 1
    (f,) = fields(net("conv: {filters: 1, kernel: 4, padding: same}")).leaves()
    assert rsp(f) == (4, 1, 1)
    # stride 2, k = 3 (TensorFlow's rule): n = 7 → out 4, total (4 − 1)·2 + 3 − 7 = 2 → 1 before;
    # n = 8 → out 4, total 6 + 3 − 8 = 1 → 0 before, 1 after
    (f7,) = fields(net("conv: {filters: 1, kernel: 3, stride: 2, padding: same}", "7x8x1")).leaves()
    assert rsp(f7, "height") == (3, 2, 1)
    assert rsp(f7, "width") == (3, 2, 0)


def test_zeropad_adds_to_padding():
    a = fields(net("zeropad: {padding: [1, 2, 3, 4]}\nconv: {filters: 1, kernel: 3}")).leaves()
    assert rsp(a[0], "height") == (1, 1, 1) and rsp(a[0], "width") == (1, 1, 3)
    assert rsp(a[1], "height") == (3, 1, 1) and rsp(a[1], "width") == (3, 1, 3)


def test_layers_that_do_not_move_pixels_pass_the_field_on():
    a = fields(
        net(
            """
            conv: {filters: 4, kernel: 3, stride: 2}
            batchnorm
            relu
            dropout
            lrn
            """
        )
    ).leaves()
    assert {rsp(f) for f in a} == {(3, 2, 0)}


def test_global_and_adaptive_pooling():
    layers = "conv: {filters: 1, kernel: 3, padding: 1}\n%s"
    # conv: 3, 1, 1. global over 8 units: a window of 8 → r = 3 + 7·1 = 10, S = 8, P = 1
    assert rsp(fields(net(layers % "global_avgpool", "8x8x1")).leaves()[1]) == (10, 8, 1)
    # adaptive 8 → 2: bins [0,4), [4,8): kernel = stride = 4 → r = 3 + 3 = 6, S = 4, P = 1
    assert rsp(fields(net(layers % "adaptive_avgpool: {output_size: 2}", "8x8x1")).leaves()[1]) == (6, 4, 1)
    # adaptive 7 → 3: bins [0,3), [2,5), [4,7): kernel 3, stride 2 → r = 3 + 2 = 5, S = 2, P = 1
    assert rsp(fields(net(layers % "adaptive_avgpool: {output_size: 3}", "7x7x1")).leaves()[1]) == (5, 2, 1)


def test_adaptive_pooling_with_uneven_bins_is_undefined_after_it():
    a = fields(
        net(
            """
            conv: {filters: 1, kernel: 3, padding: 1}
            adaptive_avgpool: {output_size: [4, 2]}
            conv: {filters: 1, kernel: 3, padding: 1}
            """,
            "10x10x1",
        )
    ).leaves()
    # height 10 → 4: bins [0,3) [2,5) [5,8) [7,10): all 3 wide but steps 2, 3, 2 → no stride;
    # every unit still sees (3 − 1)·1 + 3 = 5 pixels
    pool = a[1].height
    assert (pool.size, pool.stride, pool.padding) == (5, None, None)
    assert "uneven" not in pool.note and "steps 2/3" in pool.note
    # width 10 → 2: kernel = stride = 5, r = 3 + 4 = 7
    assert rsp(a[1], "width") == (7, 5, 1)
    after = a[2].height
    assert (after.size, after.stride, after.padding) == (None, None, None)
    assert after.note.startswith("undefined since 1")
    assert rsp(a[2], "width") == (7 + 2 * 5, 5, 1 + 5)


def test_adaptive_pooling_with_bins_of_different_sizes_reports_the_range():
    # 5 → 3: bins [0,2) [1,4) [3,5): sizes 2, 3, 2 → r = 2, 3, 2 over the units (input r = 1, S = 1)
    (f,) = fields(net("adaptive_avgpool: {output_size: 3}", "5x5x1")).leaves()
    assert f.height.size is None and f.height.size_range == (2, 3)
    assert "ranges from 2 to 3" in f.height.note


def test_flatten_and_fc_see_the_whole_last_map():
    a = fields(
        net(
            """
            conv: {filters: 2, kernel: 3, padding: 1}
            flatten
            fc: {units: 5}
            fc: {units: 3}
            """,
            "4x6x1",
        )
    ).leaves()
    assert rsp(a[1]) == (3, 1, 1)
    # fc over a 4x6 map sees all of it: r = 3 + 3·1 = 6 (height) and 3 + 5·1 = 8 (width), from −P = −1;
    # a vector has no neighbouring units, so S is not given (and said why)
    assert rsp(a[2], "height") == (6, None, 1) and rsp(a[2], "width") == (8, None, 1)
    assert rsp(a[3], "height") == (6, None, 1) and rsp(a[3], "width") == (8, None, 1)
    assert "S does not apply" in a[2].notes[0]


def test_transposed_convolution_at_stride_1_is_a_convolution():
    a = fields(net("conv: {filters: 1, kernel: 3, stride: 2}\nconv_transpose: {filters: 1, kernel: 3, padding: 1}")).leaves()
    # equivalent conv padding d(k − 1) − p = 2 − 1 = 1: r = 3 + 2·2 = 7, S = 2, P = 0 + 1·2 = 2
    assert rsp(a[1]) == (7, 2, 2)


def test_transposed_convolution_with_stride_is_undefined_per_axis():
    a = fields(net("conv_transpose: {filters: 1, kernel: 3, stride: [2, 1]}\nconv: {filters: 1, kernel: 3}", "6x6x1")).leaves()
    h = a[0].height
    assert (h.size, h.stride, h.padding) == (None, None, None)
    # output o reads input j with o = 2j + t, t < 3: o even → j = o/2 and o/2 − 1 (2 units, r = 2), o odd → one unit
    assert h.size_range == (1, 2)
    assert "stride 2" in h.note
    assert rsp(a[0], "width") == (3, 1, 2)
    assert a[1].height.size is None and "undefined since 0" in a[1].height.note
    assert rsp(a[1], "width") == (5, 1, 2)


def test_upsampling():
    up = fields(net("conv: {filters: 1, kernel: 3}\nupsample: {scale: 2}\nconv: {filters: 1, kernel: 3}", "8x8x1")).leaves()
    # nearest ×2: every output unit copies one input unit (r = 3) but the fields step by S/2
    assert (up[1].height.size, up[1].height.stride, up[1].height.padding) == (3, None, None)
    assert up[2].height.size is None and up[2].height.note.startswith("undefined since 1")
    down = fields(net("conv: {filters: 1, kernel: 3}\nupsample: {scale: 0.5}", "9x9x1")).leaves()
    # nearest ×0.5 keeps units 0, 2, 4: a window of kernel 1, stride 2
    assert rsp(down[1]) == (3, 2, 0)
    same = fields(net("conv: {filters: 1, kernel: 3}\nupsample: {size: 6, mode: bilinear}", "8x8x1")).leaves()
    assert rsp(same[1]) == (3, 1, 0)
    blend = fields(net("upsample: {scale: 2, mode: bilinear}", "8x8x1")).leaves()
    assert blend[0].height.size is None and "bilinear" in blend[0].height.note


def test_vector_input_has_no_spatial_field():
    a = receptive_fields(spec("name: mlp\ninput: 784\nlayers:\n  - fc: {units: 10}\n"))
    assert not a.spatial
    assert a.leaves()[0].height.size is None


# --------------------------------------------------------------------------- stacks


@given(
    prefix=st.lists(st.sampled_from(["conv: {filters: 1, kernel: 3, stride: 2, padding: 1}", "maxpool: {kernel: 2}", "conv: {filters: 1, kernel: 5, dilation: 2, padding: 4}"]), max_size=3),
    suffix=st.lists(st.sampled_from(["conv: {filters: 1, kernel: 3, stride: 2}", "avgpool: {kernel: 3, stride: 1, padding: 1}"]), max_size=2),
)
@settings(max_examples=30, deadline=None)
def test_two_3x3_see_what_one_5x5_sees(prefix, suffix):
    """Metamorphic: swapping one 5×5 (padding 2) for two 3×3 (padding 1) changes no r, S or P downstream."""
    two = prefix + ["conv: {filters: 1, kernel: 3, padding: 1}", "conv: {filters: 1, kernel: 3, padding: 1}"] + suffix
    one = prefix + ["conv: {filters: 1, kernel: 5, padding: 2}"] + suffix
    a = fields(net("\n".join(two), "64x64x1")).leaves()
    b = fields(net("\n".join(one), "64x64x1")).leaves()
    assert rsp(a[-1]) == rsp(b[-1])
    assert rsp(a[len(prefix) + 1]) == rsp(b[len(prefix)])


_CHAIN_LAYERS = [
    "conv: {filters: 2, kernel: 3, stride: 2, padding: 1}",
    "conv: {filters: 2, kernel: [3, 1], padding: [1, 0]}",
    "conv: {filters: 2, kernel: 3, dilation: 2, padding: same}",
    "conv_transpose: {filters: 2, kernel: 4, stride: 2, padding: 1}",
    "conv_transpose: {filters: 2, kernel: 3, padding: 1}",
    "maxpool: {kernel: 3, stride: 2, padding: 1, ceil_mode: true}",
    "avgpool: {kernel: 2}",
    "adaptive_avgpool: {output: 3}",
    "upsample: {scale: 2}",
    "zeropad: {padding: [1, 2, 0, 1]}",
    "upsample: {size: 9}",
    "relu",
    "batchnorm",
]


@given(st.lists(st.sampled_from(_CHAIN_LAYERS), min_size=1, max_size=6), st.integers(7, 40))
@settings(max_examples=60, deadline=None)
def test_chain_axis_is_the_walk_of_a_chain(layers, size):
    """`chain_axis` (the quiz's stacks) gives each layer's height field exactly as the whole-network walk does,
    including where the field becomes undefined (strided transposed convs, uneven adaptive bins)."""
    from cnncalc.core.engine import analyse
    from cnncalc.core.receptive import chain_axis
    from cnncalc.errors import CnnCalcError

    network = spec(net("\n".join(layers), f"{size}x{size + 3}x2"))
    try:
        analysis = analyse(network)
    except CnnCalcError:
        return  # too small for some window: nothing to compare
    rows = [r for r in analysis.rows if not r.is_block]
    chain = [(r.node, r.input.sizes[0], r.output.sizes[0], None if r.padding is None else r.padding[0]) for r in rows]
    walked = [f.height for f in receptive_fields(network, analysis=analysis).leaves()]
    assert chain_axis(chain) == walked


def test_chain_axis_refuses_a_layer_that_ends_the_grid():
    from cnncalc.core.engine import analyse
    from cnncalc.core.receptive import chain_axis

    rows = analyse(spec(net("conv: {filters: 1, kernel: 3}\nflatten\nfc: {units: 2}"))).rows
    with pytest.raises(ValueError, match="ends the grid"):
        chain_axis([(r.node, 1, 1, None) for r in rows])


@pytest.mark.parametrize("k, layers", [(3, 1), (3, 2), (3, 3), (3, 7), (5, 4), (2, 5), (7, 3)])
def test_stacked_stride_1_layers_follow_1_plus_L_k_minus_1(k, layers):
    a = fields(net("\n".join([f"conv: {{filters: 1, kernel: {k}}}"] * layers), "64x64x1")).leaves()
    assert rsp(a[-1]) == (1 + layers * (k - 1), 1, 0)


def spec_file(tmp_path, text: str) -> str:
    path = tmp_path / "net.yaml"
    path.write_text(text)
    return str(path)


def test_explain_gives_the_closed_form_with_the_engines_value(cli, tmp_path):
    result = cli("receptive-field", spec_file(tmp_path, net("conv: {filters: 1, kernel: 3}\nrelu\nconv: {filters: 1, kernel: 3}\nconv: {filters: 1, kernel: 3}")), "--explain")
    assert result.exit_code == 0, result.output
    assert "1 + 3·(3 − 1) = 7" in result.output


def test_explain_lines_are_correct_arithmetic(cli):
    result = cli("receptive-field", "resnet18", "--explain")
    assert result.exit_code == 0, result.output
    r_lines = re.findall(r"r_l = r_\(l−1\) \+ \(k − 1\)·d·S_\(l−1\) = (\d+) \+ \((\d+) − 1\)·(\d+)·(\d+) = (\d+)", result.output)
    assert len(r_lines) > 15
    for prev, k, d, stride, new in r_lines:
        assert int(prev) + (int(k) - 1) * int(d) * int(stride) == int(new)
    p_lines = re.findall(r"P_l = P_\(l−1\) \+ p·S_\(l−1\) = (-?\d+) \+ (-?\d+)·(\d+) = (-?\d+)", result.output)
    assert len(p_lines) == len(r_lines)
    for prev, p, stride, new in p_lines:
        assert int(prev) + int(p) * int(stride) == int(new)


# --------------------------------------------------------------------------- branches

RESIDUAL = """
name: res
input: 32x32x1
layers:
  - conv: {filters: 4, kernel: 7, stride: 2, padding: 3}
  - add:
      name: block
      branches:
        - - conv: {filters: 8, kernel: 1}
          - conv: {filters: 8, kernel: 3, stride: 2, padding: 1}
          - relu
          - conv: {filters: 8, kernel: 1}
        - - conv: {filters: 8, kernel: 1, stride: 2}
"""


def test_residual_block_with_projection_is_the_union_and_aligned():
    a = receptive_fields(spec(RESIDUAL))
    merge = a.find("block")
    # main path: stem 7, 2, 3; 3x3 s2 p1: r = 7 + 2·2 = 11, S = 4, P = 3 + 1·2 = 5 (spans [4i − 5, 4i + 5])
    # shortcut: 1x1 s2: r = 7, S = 4, P = 3 (spans [4i − 3, 4i + 3]); same stride, same centre 4i
    assert [rsp_of(b) for b in merge.height.branches] == [(11, 4, 5), (7, 4, 3)]
    assert rsp(merge) == (11, 4, 5)
    assert merge.aligned is True and not merge.notes


def rsp_of(span):
    return (span.size, span.stride, span.padding)


INCEPTION = """
name: inc
input: 28x28x1
layers:
  - concat:
      name: mixed
      branches:
        - [conv: {filters: 2, kernel: 1}]
        - [conv: {filters: 2, kernel: 1}, conv: {filters: 2, kernel: 3, padding: 1}]
        - [conv: {filters: 2, kernel: 1}, conv: {filters: 2, kernel: 5, padding: 2}]
        - [maxpool: {kernel: 3, stride: 1, padding: 1}, conv: {filters: 2, kernel: 1}]
  - conv: {filters: 1, kernel: 3, padding: 1}
"""


def test_inception_concat_takes_the_widest_aligned_branch():
    a = receptive_fields(spec(INCEPTION))
    mixed = a.find("mixed")
    assert [rsp_of(b) for b in mixed.height.branches] == [(1, 1, 0), (3, 1, 1), (5, 1, 2), (3, 1, 1)]
    assert rsp(mixed) == (5, 1, 2) and mixed.aligned
    assert rsp(a.leaves()[-1]) == (7, 1, 3)


def test_branches_with_different_centres_are_flagged_and_unioned():
    a = fields(
        """
        name: skew
        input: 16x16x1
        layers:
          - concat:
              name: cat
              branches:
                - [conv: {filters: 1, kernel: 2, padding: [0, 1, 0, 1]}]
                - [conv: {filters: 1, kernel: 3, padding: 1}]
        """
    )
    cat = a.find("cat")
    # branch 1 sees [i, i + 1] (centre i + ½), branch 2 [i − 1, i + 1] (centre i): union [i − 1, i + 1]
    assert rsp(cat) == (3, 1, 1)
    assert cat.aligned is False
    assert "not aligned" in cat.notes[0] and "0.5" in cat.notes[0]
    # a union wider than both branches: spans [i, i + 2] (k3 p0 after padding 0/2) and [i − 2, i] (k3 p2/0)
    b = fields(
        """
        name: apart
        input: 16x16x1
        layers:
          - add:
              name: add
              branches:
                - [conv: {filters: 1, kernel: 3, padding: [0, 2, 0, 2]}]
                - [conv: {filters: 1, kernel: 3, padding: [2, 0, 2, 0]}]
        """
    ).find("add")
    assert rsp(b) == (5, 1, 2) and b.aligned is False


def test_branches_with_different_strides_have_no_single_field():
    a = fields(
        """
        name: strides
        input: 8x8x1
        layers:
          - add:
              name: add
              branches:
                - [conv: {filters: 1, kernel: 1, stride: 2}]
                - [conv: {filters: 1, kernel: 5}]
          - conv: {filters: 1, kernel: 3, padding: 1}
        """
    )
    add = a.find("add").height
    assert (add.size, add.stride, add.padding) == (None, None, None)
    # unit i: branch 1 sees [2i, 2i], branch 2 [i, i + 4]; union [i, max(2i, i + 4)]: 5 wide for i = 0 … 3
    assert add.size_range == (5, 5)
    assert "effective strides 2, 1" in add.note
    after = a.leaves()[-1].height
    assert after.size is None and after.note.startswith("undefined since add")


def test_residual_shortcut_identity_branch():
    a = fields(net("conv: {filters: 1, kernel: 3, padding: 1}\nadd: {name: res, branches: [[conv: {filters: 1, kernel: 3, padding: 1}], []]}"))
    assert rsp(a.find("res")) == (5, 1, 2) and a.find("res").aligned


# --------------------------------------------------------------------------- published numbers


# Araujo et al.'s library (google-research/receptive_field, RECEPTIVE_FIELD_TABLE.md) for TF-slim's
# vgg_16: the published 212 / 32 / 90 is the end-point `vgg_16/pool5`, torchvision's features.30.
VGG16_PUBLISHED = {
    "features.0": (3, 1, 1),  # conv1_1
    "features.4": (6, 2, 2),  # pool1
    "features.5": (10, 2, 4),  # conv2_1
    "features.9": (16, 4, 6),  # pool2
    "features.10": (24, 4, 10),  # conv3_1
    "features.12": (32, 4, 14),  # conv3_2
    "features.16": (44, 8, 18),  # pool3
    "features.17": (60, 8, 26),  # conv4_1
    "features.19": (76, 8, 34),  # conv4_2
    "features.23": (100, 16, 42),  # pool4
    "features.24": (132, 16, 58),  # conv5_1
    "features.26": (164, 16, 74),  # conv5_2
    "features.30": (212, 32, 90),  # pool5
}


def test_vgg16_matches_the_published_table():
    a = receptive_fields(zoo.load("vgg16"))
    for path, expected in VGG16_PUBLISHED.items():
        assert rsp(a.find(path)) == rsp(a.find(path), "width") == expected, path
    # conv5_3, the last convolution, before pool5: 164 + 2·16 = 196, S 16, P 74 + 16 = 90
    assert a.find("features.28").kind == "conv" and rsp(a.find("features.28")) == (196, 16, 90)
    assert a.find("features.30").kind == "maxpool"


def test_alexnet_matches_the_published_table():
    # the same table's alexnet_v2 has the paper's geometry (conv1 11x11 s4 without padding on 227, 3x3 s2 pools)
    a = receptive_fields(zoo.load("alexnet"))
    published = {"conv1": (11, 4, 0), "pool1": (19, 8, 0), "conv2": (51, 8, 16), "conv3": (99, 16, 32), "conv4": (131, 16, 48), "conv5": (163, 16, 64), "pool5": (195, 32, 64)}
    for path, expected in published.items():
        assert rsp(a.find(path)) == rsp(a.find(path), "width") == expected, path


def test_resnet50_last_stage():
    a = receptive_fields(zoo.load("resnet50"))
    # stem 7,2,3 → maxpool 11,4,5 → layer1 (3 × one 3x3 at S 4): 35,4,17 → layer2: first 3x3 s2: 43,8,21,
    # then 3 more: 91,8,45 → layer3: 91 + 16 = 107,16,53 then 5 more: 267,16,133 → layer4: 267 + 32 = 299,32,149
    # then 2 more: 427, 32, 213
    assert rsp(a.find("layer2.0.add")) == (43, 8, 21)
    assert rsp(a.find("layer4.2.add")) == (427, 32, 213)
    assert all(f.aligned for f in a.leaves() if f.kind == "add")


# --------------------------------------------------------------------------- the command


def test_cli_table_and_flags(cli):
    result = cli("receptive-field", "vgg16")
    assert result.exit_code == 0, result.output
    line = next(l for l in result.output.splitlines() if l.strip().startswith("features.30"))
    assert line.split()[-3:] == ["212", "32", "90"]
    fc = next(l for l in result.output.splitlines() if l.strip().startswith("classifier.0"))
    assert "404*" in fc.split()  # 212 + 6·32 = 404 > 224: flagged
    assert "larger than the 224x224 input" in result.output


def test_cli_json_shape(cli):
    result = cli("receptive-field", "vgg16", "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert doc["name"] == "vgg16" and doc["input"] == {"height": 224, "width": 224, "channels": 3}
    entry = next(e for e in doc["layers"] if e["path"] == "features.30")
    for key in ("path", "kind", "output", "receptive_field", "effective_stride", "effective_padding"):
        assert key in entry
    assert entry["receptive_field"] == {"height": 212, "width": 212}
    assert entry["effective_stride"] == {"height": 32, "width": 32}
    assert entry["effective_padding"] == {"height": 90, "width": 90}
    assert entry["output"] == {"height": 7, "width": 7, "channels": 512}


def test_cli_json_null_with_note_where_undefined(cli, tmp_path):
    text = net("conv_transpose: {filters: 1, kernel: 2, stride: 2}\nconv: {filters: 1, kernel: 3}", "8x8x1")
    doc = json.loads(cli("receptive-field", spec_file(tmp_path, text), "-f", "json").output)
    last = doc["layers"][-1]
    assert last["receptive_field"] == {"height": None, "width": None}
    assert last["note"].startswith("undefined since 0")


def test_cli_layer_option_and_picture(cli):
    result = cli("receptive-field", "resnet50", "--layer", "layer2.0.add")
    assert result.exit_code == 0, result.output
    assert "union of the branches' fields: P = max(21, 17) = 21" in result.output
    assert "r=43" in result.output and "█" in result.output
    assert "layer1.0.conv1" not in result.output.split("Unit")[0]  # only the chosen layer in the table


def test_cli_picture_fits_80_columns():
    from typer.testing import CliRunner

    from cnncalc.cli.app import app

    result = CliRunner().invoke(app, ["receptive-field", "resnet50", "--draw"], env={"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"})
    assert result.exit_code == 0
    picture = result.output[result.output.index("Unit "):]
    assert max(len(l) for l in picture.splitlines()) <= 80


def test_cli_csv_and_markdown(cli):
    csv_out = cli("receptive-field", "vgg16", "-f", "csv").output.splitlines()
    assert csv_out[0].startswith("path,kind,output,r_height,r_width")
    assert "features.30,maxpool,7x7x512,212,212,32,32,90,90,false," in csv_out
    md = cli("receptive-field", "vgg16", "-f", "markdown").output
    assert "| `features.30` | maxpool | 7x7x512 | 212 | 32 | 90 |  |" in md


def test_cli_input_override(cli):
    result = cli("receptive-field", "vgg16", "--input", "64x64x3", "--layer", "features.30")
    assert result.exit_code == 0
    assert "2x2x512" in result.output


def test_cli_unknown_layer_is_a_user_error(cli):
    result = cli("receptive-field", "vgg16", "--layer", "features.3O")
    assert result.exit_code == 2
    assert "features.30" in result.output and "did you mean" in result.output


def test_cli_vector_input_is_a_user_error(cli, tmp_path):
    result = cli("receptive-field", spec_file(tmp_path, "name: mlp\ninput: 784\nlayers:\n  - fc: {units: 10}\n"))
    assert result.exit_code == 2
    assert "no spatial receptive field" in result.output
