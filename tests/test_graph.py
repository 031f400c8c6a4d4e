"""Networks that are graphs: `from:` branches, side outputs, blocks that read their input (`$in`) and
repeats that know their copy (`$index`), checked against torch and against the same network written
as a tree."""

from __future__ import annotations

import json
import textwrap

import pytest

from cnncalc.core.engine import analyse
from cnncalc.core.receptive import receptive_fields
from cnncalc.errors import CnnCalcError
from cnncalc.spec import zoo
from cnncalc.spec.parse import parse_spec

torch = pytest.importorskip("torch")
from torch_build import cnncalc_shape, trace  # noqa: E402


def spec(text: str):
    return parse_spec(textwrap.dedent(text), file="graph.yaml")


# A small U-Net two ways: flat, with `from:` skips, and as the nested concats a tree needs.
FLAT = """
    input: 32x32x3
    layers:
      - conv: {name: enc1, filters: 8, kernel: 3, padding: 1}
      - maxpool: {name: pool1, kernel: 2}
      - conv: {name: enc2, filters: 16, kernel: 3, padding: 1}
      - maxpool: {name: pool2, kernel: 2}
      - conv: {name: mid, filters: 32, kernel: 3, padding: 1}
      - conv_transpose: {name: up2, filters: 16, kernel: 2, stride: 2}
      - concat: {name: cat2, branches: [{from: enc2}, []]}
      - conv: {name: dec2, filters: 16, kernel: 3, padding: 1}
      - conv_transpose: {name: up1, filters: 8, kernel: 2, stride: 2}
      - concat: {name: cat1, branches: [{from: enc1}, []]}
      - conv: {name: dec1, filters: 8, kernel: 3, padding: 1}
      - conv: {name: head, filters: 2, kernel: 1}
"""
NESTED = """
    input: 32x32x3
    layers:
      - conv: {name: enc1, filters: 8, kernel: 3, padding: 1}
      - concat:
          name: cat1
          branches:
            - []
            - - maxpool: {name: pool1, kernel: 2}
              - conv: {name: enc2, filters: 16, kernel: 3, padding: 1}
              - concat:
                  name: cat2
                  branches:
                    - []
                    - - maxpool: {name: pool2, kernel: 2}
                      - conv: {name: mid, filters: 32, kernel: 3, padding: 1}
                      - conv_transpose: {name: up2, filters: 16, kernel: 2, stride: 2}
              - conv: {name: dec2, filters: 16, kernel: 3, padding: 1}
              - conv_transpose: {name: up1, filters: 8, kernel: 2, stride: 2}
      - conv: {name: dec1, filters: 8, kernel: 3, padding: 1}
      - conv: {name: head, filters: 2, kernel: 1}
"""


def test_a_flat_unet_with_from_skips_equals_the_same_unet_written_as_nested_concats():
    flat, nested = analyse(spec(FLAT)), analyse(spec(NESTED))
    rows = lambda a: {r.path: (r.output, r.params, r.macs) for r in a.leaves()}  # noqa: E731
    assert rows(flat) == rows(nested)
    assert (flat.totals.params, flat.totals.macs) == (nested.totals.params, nested.totals.macs)


def test_a_flat_unet_equals_torch_layer_by_layer():
    network = spec(FLAT)
    traced = trace(network)
    for row in analyse(network).leaves():
        assert cnncalc_shape(row.output) == traced[row.path].output, row.path
        assert (row.params, row.macs) == (traced[row.path].params, traced[row.path].macs), row.path


SIDE = """
    input: 32x32x3
    layers:
      - conv: {name: conv1, filters: 8, kernel: 3, padding: 1}
      - relu: {name: relu1}
      - side:
          name: aux1
          layers:
            - global_avgpool: {name: pool}
            - fc: {name: fc, units: 10}
      - conv: {name: conv2, filters: 16, kernel: 3, stride: 2, padding: 1}
      - add:
          name: skip
          branches:
            - {from: relu1, layers: [conv: {name: proj, filters: 16, kernel: 1, stride: 2}]}
            - []
      - global_avgpool: {name: pool}
      - fc: {name: fc, units: 10}
"""


def test_a_side_output_counts_in_the_totals_and_leaves_the_main_path_unchanged():
    network = spec(SIDE)
    analysis = analyse(network)
    rows = {r.path: r for r in analysis.rows}
    assert rows["conv2"].input == rows["relu1"].output  # the side did not change the main tensor
    assert rows["aux1"].side and rows["aux1.fc"].side and not rows["conv2"].side
    assert analysis.outputs == ((("aux1"), rows["aux1.fc"].output),)
    side_macs = rows["aux1.fc"].macs
    assert analysis.totals.main_macs == analysis.totals.macs - side_macs
    traced = trace(network)
    torch_params = sum(t.params for t in traced.values())
    assert analysis.totals.params == torch_params  # the head's parameters count, as torchvision's aux heads do
    for row in analysis.leaves():
        assert cnncalc_shape(row.output) == traced[row.path].output, row.path


def test_side_outputs_in_the_table_and_json(cli, tmp_path):
    path = tmp_path / "side.yaml"
    path.write_text(textwrap.dedent(SIDE))
    table = cli("table", str(path)).stdout
    assert "  main path (without side outputs)     549,024 (549k)" in table
    assert "Side outputs                                  aux1 10" in table
    doc = json.loads(cli("table", str(path), "--format", "json").stdout)
    assert doc["side_outputs"] == [{"path": "aux1", "output": {"features": 10}}]
    assert doc["totals"]["main_macs"] == doc["totals"]["macs"] - 80
    assert [r["path"] for r in doc["layers"] if r.get("side")] == ["aux1.pool", "aux1.fc"]
    plain = json.loads(cli("table", "resnet18", "--format", "json").stdout)
    assert "side_outputs" not in plain and "main_macs" not in plain["totals"]  # only where there are side outputs


def test_the_receptive_field_follows_a_from_edge():
    report = receptive_fields(spec(SIDE))
    proj, skip = report.find("proj"), report.find("skip")
    # proj reads relu1 (r 3, S 1, P 1) through a 1x1 stride-2 conv: r 3, S 2, P 1; conv2 has r 5, S 2, P 2
    assert (proj.height.size, proj.height.stride, proj.height.padding) == (3, 2, 1)
    assert (skip.height.size, skip.height.stride, skip.height.padding) == (5, 2, 2)


def test_explain_names_the_layer_a_from_branch_reads(cli, tmp_path):
    path = tmp_path / "side.yaml"
    path.write_text(textwrap.dedent(SIDE))
    out = cli("explain", str(path), "--layer", "proj").stdout
    assert "input   32x32x8 (from `relu1`)" in out
    merge = cli("explain", str(path), "--layer", "skip").stdout
    assert "branch 1 (from relu1: proj)  16x16x16" in merge


@pytest.mark.parametrize(
    "text, message, code",
    [
        (
            "input: 8x8x3\nlayers:\n  - conv: {name: enc1, filters: 4, kernel: 1}\n  - add: {branches: [{from: enc}, []]}\n",
            "`from: enc` must name a layer or group that comes before this merge; no earlier path is `enc`; did you mean `enc1`?",
            "merge",
        ),
        (
            "input: 8x8x3\nlayers:\n  - sequential:\n      name: down\n      layers:\n        - conv: {name: c, filters: 3, kernel: 1}\n"
            "        - add: {branches: [{from: down}, []]}\n",
            "`from: down` must name a layer or group that comes before this merge; no earlier path is `down`",
            "merge",
        ),
        (
            "input: 8x8x3\nlayers:\n  - conv: {name: a, filters: 4, kernel: 1}\n  - add: {branches: [{from: 3}, []]}\n",
            "`from` names an earlier layer or group by its path; got 3",
            "spec",
        ),
    ],
)
def test_a_from_that_reads_nothing_is_refused_with_the_nearest_path(text, message, code):
    with pytest.raises(CnnCalcError) as info:
        parse_spec(text, file="bad.yaml")
    assert message in info.value.message
    assert info.value.code == code


def test_in_and_index_give_the_block_its_input_and_the_copy_its_number():
    network = spec(
        """
        input: 16x16x12
        blocks:
          halve:
            layers: [conv: {name: conv, filters: $in.channels // 2, kernel: 1}]
          layer:
            layers: [conv: {name: conv, filters: $in.channels + 4, kernel: 3, padding: 1}]
        layers:
          - halve: {name: t1}
          - repeat: 3
            layers: [layer: {name: block$($index + 1)-0}]
        """
    )
    rows = {r.path: r for r in analyse(network).leaves()}
    assert rows["t1.conv"].output.channels == 6
    assert [rows[f"block{i}-0.conv"].output.channels for i in (1, 2, 3)] == [10, 14, 18]


@pytest.mark.parametrize(
    "text, message",
    [
        ("input: 8x8x3\nlayers:\n  - conv: {filters: $in.channels, kernel: 1}\n", "reads `$in`, which is only known inside a block"),
        ("input: 8x8x3\nlayers:\n  - conv: {name: c$index, filters: 3, kernel: 1}\n", "reads `$index`, which is only known inside `repeat`"),
        (
            "input: 32x3\nblocks:\n  b:\n    layers: [conv: {filters: $in.height, kernel: 1}]\nlayers: [b]\n",
            "asks for the height of the block's input, but 32x3 is 1-D: it has length and channels",
        ),
        (
            "input: 8x8x3\nblocks:\n  b:\n    layers: [conv: {filters: $in, kernel: 1}]\nlayers: [b]\n",
            "uses `$in` as a number; it is the block's input shape",
        ),
        (
            "input: 8x8x3\nblocks:\n  b:\n    args: {in: 3}\n    layers: [relu]\nlayers: [b]\n",
            "`in` cannot be a block argument",
        ),
    ],
)
def test_in_and_index_outside_their_place_are_refused_clearly(text, message):
    with pytest.raises(CnnCalcError) as info:
        analyse(parse_spec(text, file="bad.yaml"))
    assert message in info.value.message


def test_in_after_a_failing_layer_reports_that_layer():
    text = (
        "input: 4x4x3\nblocks:\n  b:\n    layers: [conv: {filters: $in.channels, kernel: 1}]\n"
        "layers:\n  - conv: {name: big, filters: 4, kernel: 9}\n  - b\n"
    )
    with pytest.raises(CnnCalcError) as info:
        parse_spec(text, file="bad.yaml")
    assert info.value.layer == "big" and "the kernel must fit" in info.value.message


def test_densenet_paths_are_torchvisions_and_its_transitions_read_their_input():
    rows = {r.path: r for r in analyse(zoo.load("densenet121")).rows}
    assert "features.denseblock1.denselayer1.conv1" in rows and "features.denseblock4.denselayer16.conv2" in rows
    assert [rows[f"features.transition{i}.conv"].output.channels for i in (1, 2, 3)] == [128, 256, 512]


def test_a_side_output_may_read_an_earlier_tensor_and_upsample_to_the_input():
    network = spec(
        """
        input: 40x40x3
        layers:
          - conv: {name: c1, filters: 8, kernel: 3, stride: 2, padding: 1}
          - conv: {name: c2, filters: 16, kernel: 3, stride: 2, padding: 1}
          - upsample: {name: up, size_of: input, mode: bilinear}
          - side:
              name: aux
              from: c1
              layers:
                - conv: {name: head, filters: 4, kernel: 1}
                - upsample: {name: up, size_of: input}
        """
    )
    rows = {r.path: r for r in analyse(network).rows}
    assert rows["aux.head"].input == rows["c1"].output  # the side read c1, not the current tensor
    assert rows["up"].output == rows["aux.up"].output.with_sizes((40, 40), 16)
    traced = trace(network)
    assert traced["aux.head"].output == (20, 20, 4) and traced["up"].output == (40, 40, 16)
    with pytest.raises(CnnCalcError, match="`from: c3` must name a layer or group that comes before"):
        parse_spec("input: 8x8x3\nlayers:\n  - conv: {name: c1, filters: 4, kernel: 1}\n  - side: {from: c3, layers: [relu]}\n", file="bad.yaml")
