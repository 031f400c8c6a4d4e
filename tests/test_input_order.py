"""Channels-first input (issue 13, point 1): PyTorch and CS231n write C×H×W, the course notes H×W×C.

`--chw` reads table's --input channels first; a spec may say `layout: chw` or name every axis
(`input: {channels: 3, height: 224, width: 224}`); an H×W×C input that looks like C×H×W (`3x224x224`:
3 pixels high, 224 channels) gets a warning with the fix, and when that input then fails, the warning
comes before the error it explains."""

from __future__ import annotations

import json

import pytest

from cnncalc.core.engine import analyse
from cnncalc.errors import CnnCalcError
from cnncalc.model.shapes import Spatial, channels_first_suspect, parse_shape
from cnncalc.spec.parse import parse_spec


def test_table_with_chw_reads_the_input_channels_first(cli):
    result = cli("table", "resnet18", "--chw", "--input", "3x224x224", "--format", "json")
    assert result.exit_code == 0 and result.stderr == ""
    doc = json.loads(result.stdout)
    assert doc["input"] == {"height": 224, "width": 224, "channels": 3}
    assert doc["layers"][0]["params"] == 9_408  # issue 13: it said 702,464


def test_a_channels_first_looking_input_gets_a_warning_with_the_fix(cli):
    result = cli("table", "resnet18", "--input", "3x224x224")
    assert result.exit_code == 0
    assert result.stderr.splitlines()[:2] == [
        "warning: the input 3x224x224 is read as H×W×C: 3 pixels along the height and 224 channels; "
        "in PyTorch's order (C×H×W) it would be 224x224x3",
        "  hint: write --input 224x224x3, or add --chw to read --input as channels first",
    ]


@pytest.mark.parametrize(
    "args, meant",
    [
        (["layer", "conv", "--input", "1x28x28", "--filters", "6", "--kernel", "1"], "28x28x1"),
        (["receptive-field", "m5", "--input", "1x8000"], "8000x1"),
        (["table", "r3d_18", "--input", "3x16x112x112"], "16x112x112x3"),
    ],
)
def test_every_command_and_rank_warns(cli, args, meant):
    result = cli(*args)
    assert f"it would be {meant}" in result.stderr and f"write --input {meant}" in result.stderr


@pytest.mark.parametrize("text", ["224x224x3", "32x32x1", "1x1x512", "4x4x4", "7x7x512", "8000x1", "16x112x112x3", "784"])
def test_ordinary_inputs_get_no_warning(text):
    assert not channels_first_suspect(parse_shape(text))


def test_a_spec_input_in_pytorchs_order_warns_before_the_error_it_causes(cli, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: c\ninput: [3, 32, 32]\nlayers:\n  - conv: {filters: 6, kernel: 5}\n")
    result = cli("table", str(path))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == (
        f"warning: {path}:2:1: the input 3x32x32 is read as H×W×C: 3 pixels along the height and 32 channels; "
        "in PyTorch's order (C×H×W) it would be 32x32x3"
    )
    assert lines[1] == "  hint: write `input: 32x32x3`, or `layout: chw` to read the input as channels first"
    assert lines[2].startswith(f"error: {path}:4:5: layer 0: the kernel must fit inside the padded input")


@pytest.mark.parametrize(
    "input_lines",
    ["layout: chw\ninput: 3x32x32", "layout: chw\ninput: [3, 32, 32]", "input: {channels: 3, height: 32, width: 32}",
     "input: {width: 32, channels: 3, height: 32}", "input: 32x32x3"],
)
def test_a_spec_says_its_input_order_every_way(input_lines):
    network = parse_spec(f"name: c\n{input_lines}\nlayers:\n  - conv: {{filters: 6, kernel: 5}}\n", file="c.yaml")
    assert network.input == Spatial(32, 32, 3)
    assert analyse(network).warnings == ()


def test_other_ranks_by_name():
    signal = parse_spec("input: {channels: 1, length: 8000}\nlayers: [relu]\n", file="s.yaml")
    volume = parse_spec("input: {channels: 3, depth: 16, height: 112, width: 112}\nlayers: [relu]\n", file="v.yaml")
    assert (signal.input, volume.input) == (Spatial(8000, 1), Spatial(16, 112, 112, 3))


@pytest.mark.parametrize(
    "text, message",
    [
        ("layout: whc\ninput: 3x32x32", "`layout` is hwc or chw; got 'whc' (text)"),
        ("input: {channels: 3, height: 32}", "`input` as a mapping names `channels` and the axes of one rank"),
        ("input: {channels: 3, height: 32, width: '32'}", "`input` as a mapping names `channels` and the axes of one rank"),
    ],
)
def test_misspelt_orders_are_clear_errors(text, message):
    with pytest.raises(CnnCalcError) as caught:
        parse_spec(f"name: c\n{text}\nlayers: [relu]\n", file="c.yaml")
    assert caught.value.message.startswith(message)


# --------------------------------------------------------------------------- paths (issue 13, point 2)


def test_table_paths_shows_what_layer_takes(cli):
    lines = cli("table", "resnet18", "--paths", "--depth", "3").stdout.splitlines()
    assert any(line.split()[:2] == ["layer1.0.conv1", "conv"] for line in lines)
    assert not any(line.startswith(" ") for line in lines[3:20])  # full paths, not indented names


@pytest.mark.parametrize(
    "spec, wanted, meant",
    [
        ("resnet50", "conv2", "did you mean `layer1.0.conv2`, `layer1.1.conv2` or `layer1.2.conv2`?"),
        ("resnet50", "0.conv2", "did you mean `layer1.0.conv2`, `layer2.0.conv2` or `layer3.0.conv2`?"),
        ("unet", "cat", "did you mean `dec4.cat`, `dec3.cat` or `dec2.cat`?"),
        ("resnet50", "layer1.0.cnv2", "did you mean `layer1.0.conv2`?"),
    ],
)
def test_a_short_or_misspelt_layer_suggests_the_full_paths(cli, spec, wanted, meant):
    for command in ("explain", "receptive-field"):
        result = cli(command, spec, "--layer", wanted)
        assert result.exit_code == 2
        first, hint = result.stderr.splitlines()[:2]
        assert first == f"error: {spec} has no layer `{wanted}`; {meant}"
        assert hint.startswith("  hint: `cnncalc table SPEC --paths` lists every path")


@pytest.mark.parametrize(
    "args",
    [
        ["layer", "conv", "--input", "3x32x32", "--filters", "6", "--kernel", "5", "--format", "json"],
        ["explain", "resnet18", "--layer", "conv1", "--input", "3x64x64", "--format", "json"],
        ["receptive-field", "resnet18", "--layer", "conv1", "--input", "3x64x64", "--format", "json"],
    ],
    ids=["layer", "explain", "receptive-field"],
)
def test_layer_explain_and_receptive_field_read_the_input_channels_first_with_chw(cli, args):
    plain = cli(*args)
    assert plain.exit_code in (0, 2) and "add --chw to read --input as channels first" in plain.stderr
    read = cli(*args, "--chw")
    assert read.exit_code == 0 and read.stderr == ""
    assert json.loads(cli(*[a if a not in ("3x32x32", "3x64x64") else ("32x32x3" if a == "3x32x32" else "64x64x3") for a in args]).stdout) == json.loads(read.stdout)
