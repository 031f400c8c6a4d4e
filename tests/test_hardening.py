"""Each defect class of the hardening review, by its example: a clear one-line error (exit 2) or the right
answer, never exit 70, a traceback, a hang or an escape sequence. The fuzzers (test_fuzz_commands.py,
test_fuzz_options.py) and the process-level faults (test_output_faults.py) cover the classes at large."""

from __future__ import annotations

import json
import time

import pytest

from cnncalc.core.receptive import receptive_fields
from cnncalc.spec.parse import parse_spec


def write(tmp_path, text: str, name: str = "spec.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def chain(count: int, layer: str, input: str = "2x2x1") -> str:
    return f"name: chain\ninput: {input}\nlayers:\n" + f"  - {layer}\n" * count


# --------------------------------------------------------------------------- crashes on documented input


def test_explain_an_fc_right_after_a_global_pool(cli, tmp_path):
    path = write(tmp_path, "name: x\ninput: 8x8x4\nlayers:\n  - global_avgpool\n  - fc: {name: fc, units: 3}\n")
    result = cli("explain", path, "--layer", "fc")
    assert result.exit_code == 0 and result.stdout.startswith("fc: fc 3 units")
    assert "params  15  (weights 12 + biases 3)" in result.stdout


def test_receptive_field_layer_on_a_spec_whose_blocks_hold_no_layers(cli, tmp_path):
    path = write(tmp_path, "name: x\ninput: 8x8x1\nblocks:\n  b:\n    layers: []\nlayers:\n  - b\n")
    missing = cli("receptive-field", path, "--layer", "X")
    assert missing.exit_code == 2
    assert missing.stderr == "error: x has no layer `X`\n  hint: `cnncalc table SPEC --paths` lists every path (e.g. `0`)\n"
    block = cli("receptive-field", path, "--layer", "0")
    assert block.exit_code == 0 and block.stdout.startswith("x: input 8x8x1")


def test_receptive_field_layer_on_a_block_draws_its_picture(cli):
    result = cli("receptive-field", "resnet18", "--layer", "layer1")
    assert result.exit_code == 0
    assert "layer1         " in result.stdout and "r=43 [87, 129]" in result.stdout


# --------------------------------------------------------------------------- terminal injection


@pytest.mark.parametrize("format", ["table", "markdown", "csv", "json"])
@pytest.mark.parametrize("command", ["table", "receptive-field"])
def test_escape_sequences_in_a_spec_name_are_shown_escaped(cli, tmp_path, command, format):
    path = write(tmp_path, 'name: "x\\e[31mRED\\e[0m\\a"\ninput: 8x8x1\nlayers:\n  - conv: {filters: 2, kernel: 3}\n')
    result = cli(command, path, "--format", format)
    assert result.exit_code == 0
    assert "\x1b" not in result.output and "\x07" not in result.output
    if format != "csv":
        shown = json.loads(result.stdout)["name"] if format == "json" else result.stdout
        assert "x\\x1b[31mRED\\x1b[0m\\x07" in shown


def test_rich_markup_in_a_name_stays_text(cli, tmp_path):
    path = write(tmp_path, 'name: "[link=http://example.com]hi[/link] [/x]"\ninput: 8x8x1\nlayers:\n  - conv: {filters: 2, kernel: 3}\n')
    for command in ("table", "receptive-field"):
        result = cli(command, path)
        assert result.exit_code == 0, result.output
        title = " ".join(result.stdout.split()[:5])  # the title may wrap at the table's width
        assert title.startswith("[link=http://example.com]hi[/link] [/x]: input 8x8x1"), title


def test_a_newline_in_a_file_name_is_escaped_in_errors(cli):
    result = cli("check", "a\nerror: forged", "lenet5")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == "error: 'a\\nerror: forged' is neither a spec file nor a bundled model"


# --------------------------------------------------------------------------- validation that let things through


def test_a_name_with_a_trailing_newline_is_refused(cli, tmp_path):
    path = write(tmp_path, 'name: x\ninput: 8x8x1\nlayers:\n  - conv: {name: "conv1\\n", filters: 2, kernel: 3}\n')
    result = cli("table", path)
    assert result.exit_code == 2
    assert "a name is a word of letters, digits, _ and - (torch's module names); got 'conv1\\n' (text)" in result.stderr


@pytest.mark.parametrize("text", ["²x32x1", "١٢x32x1", "3x3x³"])
def test_non_ascii_digits_in_an_input_are_refused(cli, text):
    result = cli("table", "lenet5", "--input", text)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: --input: an input shape is height x width x channels, like 32x32x3; got '{text}'")


def test_hexadecimal_digits_count_toward_the_digit_limit(cli, tmp_path):
    path = write(tmp_path, "name: x\ninput: 8x8x1\nlayers:\n  - conv: {filters: 0x" + "f" * 120 + ", kernel: 3}\n")
    result = cli("table", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}:4:21: this number has 122 digits; cnncalc reads numbers of at most 100 digits")


def test_a_huge_int_is_described_without_printing_it(cli, tmp_path):
    path = write(tmp_path, "name: x\ninput: 8x8x1\nlayers:\n  - conv: {filters: 0x" + "f" * 40 + ", kernel: 3}\n")
    result = cli("table", path)
    assert result.exit_code == 2
    assert "got a 49-digit number" in result.stderr  # 16^40 − 1


@pytest.mark.parametrize(
    "args",
    [
        ["table", "lenet5", "--batch", "1" + "0" * 400],
        ["quiz", "--seed", "1" + "0" * 30, "-n", "1", "--format", "json"],
        ["solve", "padding", "--input", "1" + "0" * 30, "--kernel", "3"],
        ["compare", "stack", "--input", "8x8x8", "--kernel", "1" + "0" * 30],
    ],
    ids=["batch", "seed", "solve", "compare"],
)
def test_whole_number_options_are_bounded_at_int64(cli, args):
    result = cli(*args)
    assert result.exit_code == 2
    assert "is out of range" in result.output and "to 9,223,372,036,854,775,807" in result.output


def test_layer_options_read_numbers_as_yaml_does(cli):
    long = cli("layer", "conv", "--input", "8x8x3", "--filters", "9" * 5000, "--kernel", "3")
    assert long.exit_code == 2
    assert long.stderr.startswith("error: --filters: this number has 5,000 digits; cnncalc reads numbers of at most 100 digits")
    scale = cli("layer", "upsample", "--input", "4x4x1", "--scale", "1e400")
    assert scale.exit_code == 2
    assert scale.stderr.startswith("error: `scale` of upsample must be a finite number > 0; got .inf")
    digits = cli("layer", "conv", "--input", "8x8x3", "--filters", "١٢", "--kernel", "3")
    assert digits.exit_code == 2 and "got '١٢' (text)" in digits.stderr


def test_a_list_that_holds_itself_compared_in_when_is_an_error(cli, tmp_path):
    path = write(
        tmp_path,
        "name: x\ninput: 8x8x1\nblocks:\n  b:\n    args: {a: null, c: null}\n    layers:\n      - relu: {when: $a == $c}\n"
        "layers:\n  - b: {a: &x [*x], c: &y [*y]}\n",
    )
    result = cli("table", path)
    assert result.exit_code == 2
    assert "'$a == $c' compares values nested more than 16 levels deep (or a list that holds itself)" in result.stderr


def test_lists_still_compare_item_by_item(tmp_path):
    network = parse_spec(
        "name: x\ninput: 8x8x1\nblocks:\n  b:\n    args: {k: null, j: [1, 7]}\n    layers:\n      - relu: {when: $k == $j}\n"
        "      - tanh: {when: $k != $j}\nlayers:\n  - b: {k: [1, 7]}\n  - b: {k: [7, 1]}\n  - b: {k: [[1], 7]}\n",
        file="x.yaml",
    )
    kinds = [[child.kind for child in node.children] for node in network.layers]
    assert kinds == [["relu"], ["tanh"], ["tanh"]]


# --------------------------------------------------------------------------- numbers that outgrow text


def test_a_field_that_outgrows_int64_is_undefined_and_fast(tmp_path):
    network = parse_spec(chain(14_000, "conv: {filters: 1, kernel: 1, stride: 2, padding: same}"), file="x.yaml")
    start = time.process_time()  # CPU time: the suite shares the cores (pytest-xdist), the work does not change
    report = receptive_fields(network)
    assert time.process_time() - start < 5
    fields = report.leaves()
    assert fields[61].height.stride == 2**62 and not fields[62].height.defined
    assert fields[62].height.note == "r, S or P passes 2^63 − 1, torch's largest size: no input is that large"
    assert fields[-1].height.note == "undefined since 62: the field outgrew int64"


def test_a_derivation_is_exact_for_a_stride_of_2_to_the_40(cli):
    result = cli("layer", "maxpool", "--input", "3x3x1", "--kernel", "3", "--stride", str(2**40), "--padding", "1", "--ceil-mode")
    assert result.exit_code == 0
    assert "(3 + 2·1 − 3)/1099511627776 + 1 = 1.000…" in result.stdout


# --------------------------------------------------------------------------- slow paths


def test_strided_transposed_convs_in_many_branches_are_answered_quickly(cli, tmp_path):
    branch = "        - [conv_transpose: {filters: 1, kernel: [3, 1], dilation: [45000, 1], stride: [2, 1]}]\n"
    path = write(tmp_path, "name: s\ninput: 50000x1x1\nlayers:\n  - concat:\n      branches:\n" + branch * 60)
    start = time.process_time()
    result = cli("receptive-field", path, "--format", "json")
    assert time.process_time() - start < 2
    assert result.exit_code == 0
    notes = [layer["note"] for layer in json.loads(result.stdout)["layers"][:-1]]
    # the first few get their range of r; the run's budget then says it is not computed
    assert "r ranges from" in notes[0]
    assert notes[-1].endswith("the range of r over its units is not computed (one run examines at most 1,000,000 units)")
