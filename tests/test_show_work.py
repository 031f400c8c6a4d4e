"""`cnncalc layer`, `explain`, `solve`, `compare`: textbook questions, one command each.

Every expected shape and parameter count comes from a real torch.nn layer built here (on the
meta device where the layer is large) or from the textbook's printed answer; the substituted
formulas are checked as exact text, written out by hand from the textbook formula.
"""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from conftest import spec  # noqa: E402

from cnncalc.core.engine import analyse  # noqa: E402
from cnncalc.errors import CnnCalcError  # noqa: E402
from cnncalc.spec.parse import parse_spec  # noqa: E402


def torch_shape(module, h: int, w: int, c: int, device: str = "meta") -> tuple[int, ...]:
    """H, W, C of module's output on a 1×C×H×W input (features for a vector)."""
    with torch.no_grad():
        y = module.to(device)(torch.zeros(1, c, h, w, device=device))
    return (y.shape[2], y.shape[3], y.shape[1]) if y.dim() == 4 else (y.shape[1],)


def flat(text: str) -> str:
    """Output with line wrapping undone, for checking the prose of notes (formulas never wrap)."""
    return " ".join(text.split())


def n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def run_json(cli, *args: str) -> dict:
    result = cli(*args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def out_tuple(doc: dict) -> tuple[int, ...]:
    o = doc["output"]
    return (o["height"], o["width"], o["channels"]) if "height" in o else (o["features"],)


# --------------------------------------------------------------------------- Coursera C4W1 quiz


def test_c4w1_63x63x16_32_filters_7x7_stride_2(cli):
    conv = nn.Conv2d(16, 32, 7, stride=2, device="meta")
    args = ("layer", "conv", "--input", "63x63x16", "--filters", "32", "--kernel", "7", "--stride", "2")
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    assert "(63 + 2·0 − 7)/2 + 1 = 29" in result.stdout
    assert "(7·7·16 + 1)·32 = 25,120" in result.stdout
    assert "7·7·16·32 = 25,088" in result.stdout  # weights, biases separately
    assert "output  29x29x32" in result.stdout
    doc = run_json(cli, *args)
    assert out_tuple(doc) == torch_shape(conv, 63, 63, 16) == (29, 29, 32)
    assert doc["params"] == n_params(conv)
    assert doc["weights"] == conv.weight.numel() and doc["biases"] == conv.bias.numel()
    # one multiply-accumulate per weight per output position
    assert doc["macs"] == 29 * 29 * conv.weight.numel()
    assert doc["activations"] == 29 * 29 * 32 and doc["activation_bytes"] == 29 * 29 * 32 * 4
    assert doc["path"] == "conv" and doc["kind"] == "conv"  # row_json's keys, as in `table --format json`
    assert {s["title"] for s in doc["derivation"]} >= {"Output size", "Parameters", "Multiply-accumulates"}


def test_c4w1_fc_on_a_300x300x3_image_flattens_and_says_so(cli):
    linear = nn.Linear(300 * 300 * 3, 100, device="meta")
    result = cli("layer", "fc", "--input", "300x300x3", "--units", "100")
    assert result.exit_code == 0, result.stderr
    assert "300·300·3 = 270,000" in result.stdout
    assert "Flatten (implicit)" in result.stdout
    assert "(270,000 + 1)·100 = 27,000,100" in result.stdout
    doc = run_json(cli, "layer", "fc", "--input", "300x300x3", "--units", "100")
    assert doc["params"] == n_params(linear) == 27_000_100
    assert doc["flattened_from"] == {"height": 300, "width": 300, "channels": 3}
    assert doc["input"] == {"features": 270_000}
    assert out_tuple(doc) == (100,)


def test_c4w1_100_filters_5x5_on_300x300x3(cli):
    conv = nn.Conv2d(3, 100, 5, device="meta")
    args = ("layer", "conv", "--input", "300x300x3", "--filters", "100", "--kernel", "5")
    assert "(5·5·3 + 1)·100 = 7,600" in cli(*args).stdout
    doc = run_json(cli, *args)
    assert doc["params"] == n_params(conv) == 7_600
    assert out_tuple(doc) == torch_shape(conv, 300, 300, 3)


def test_c4w1_121x121x16_32_filters_4x4_stride_3(cli):
    conv = nn.Conv2d(16, 32, 4, stride=3, device="meta")
    args = ("layer", "conv", "--input", "121x121x16", "--filters", "32", "--kernel", "4", "--stride", "3")
    assert "(121 + 2·0 − 4)/3 + 1 = 40" in cli(*args).stdout
    doc = run_json(cli, *args)
    assert out_tuple(doc) == torch_shape(conv, 121, 121, 16) == (40, 40, 32)
    assert doc["params"] == n_params(conv)


def test_c4w1_same_padding_for_a_7x7_filter_is_3(cli):
    # "Same" convolution on 63x63x16 with 7×7 filters at stride 1: p = (f − 1)/2 = 3.
    result = cli("solve", "padding", "--input", "63", "--kernel", "7")
    assert result.exit_code == 0
    assert "solutions: p = 3" in result.stdout
    assert "(7 − 1)/2 = 3" in flat(result.stdout)
    assert torch_shape(nn.Conv2d(16, 32, 7, padding=3), 63, 63, 16) == (63, 63, 32)


def test_maxpool_example(cli):
    pool = nn.MaxPool2d(2, 2)
    doc = run_json(cli, "layer", "maxpool", "--input", "32x32x16", "--kernel", "2", "--stride", "2")
    assert out_tuple(doc) == torch_shape(pool, 32, 32, 16) == (16, 16, 16)
    assert doc["params"] == 0


# --------------------------------------------------------------------------- CS231n: invalid strides


def test_cs231n_7x7_input_3x3_filter_stride_3_is_invalid_and_torch_floors(cli):
    conv = nn.Conv2d(1, 1, 3, stride=3, device="meta")
    args = ("layer", "conv", "--input", "7x7x1", "--filters", "1", "--kernel", "3", "--stride", "3")
    out = cli(*args).stdout
    assert "(7 + 2·0 − 3)/3 + 1 = 2.333…" in out
    assert "⌊4/3⌋ + 1 = 2" in out
    assert "invalid" in out and "PyTorch rounds down to 2" in flat(out)
    assert out_tuple(run_json(cli, *args)) == torch_shape(conv, 7, 7, 1) == (2, 2, 1)


def test_cs231n_10_minus_3_over_2_is_4_5(cli):
    args = ("layer", "conv", "--input", "10x10x3", "--filters", "4", "--kernel", "3", "--stride", "2")
    out = cli(*args).stdout
    assert "(10 + 2·0 − 3)/2 + 1 = 4.5" in out
    assert "⌊7/2⌋ + 1 = 4" in out
    assert "the last 1 pixel of the padded input is never covered" in flat(out)
    assert out_tuple(run_json(cli, *args)) == torch_shape(nn.Conv2d(3, 4, 3, stride=2), 10, 10, 3)


def test_exact_division_has_no_validity_note(cli):
    out = cli("layer", "conv", "--input", "63x63x16", "--filters", "32", "--kernel", "7", "--stride", "2").stdout
    assert "not a whole number" not in out and "invalid" not in out


@pytest.mark.parametrize(
    "n, k, s, p",
    [(10, 3, 2, 0), (5, 2, 2, 1), (6, 3, 2, 1), (7, 3, 2, 0), (9, 2, 3, 1), (8, 3, 3, 1), (11, 4, 3, 2)],
)
def test_ceil_mode_pool_against_torch(cli, n, k, s, p):
    pool = nn.MaxPool2d(k, s, padding=p, ceil_mode=True)
    args = ("layer", "maxpool", "--input", f"{n}x{n}x2", "--kernel", str(k), "--stride", str(s), "--padding", str(p), "--ceil-mode")
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    assert out_tuple(run_json(cli, *args)) == torch_shape(pool, n, n, 2)
    if (n + 2 * p - k) % s:
        assert "ceil_mode rounds up" in flat(result.stdout)


def test_ceil_mode_drop_is_explained(cli):
    # 5 + 2·1 − 2 = 5, 5/2 rounds up to 3 → 4 windows, but the 4th would start at 6 ≥ 5 + 1: torch gives 3.
    out = cli("layer", "maxpool", "--input", "5x5x1", "--kernel", "2", "--stride", "2", "--padding", "1", "--ceil-mode").stdout
    assert torch_shape(nn.MaxPool2d(2, 2, padding=1, ceil_mode=True), 5, 5, 1) == (3, 3, 1)
    assert "so torch drops it: 3" in flat(out)


def test_kernel_larger_than_padded_input_exits_2_with_the_reason(cli):
    with pytest.raises(RuntimeError):
        torch_shape(nn.Conv2d(3, 2, 7), 5, 5, 3, device="cpu")
    result = cli("layer", "conv", "--input", "5x5x3", "--filters", "2", "--kernel", "7")
    assert result.exit_code == 2 and result.stdout == ""
    assert "(5 + 2·0 − 7)/1 + 1 = -1" in result.stderr
    assert "the 7-pixel kernel is larger than the 5-pixel padded input" in result.stderr


# --------------------------------------------------------------------------- Dumoulin & Visin


@pytest.mark.parametrize(
    "relation, i, k, s, p, d, text",
    [
        ("1: no padding, unit strides, o = i − k + 1", 4, 3, 1, 0, 1, "(4 + 2·0 − 3)/1 + 1 = 2"),
        ("2: zero padding, unit strides, o = i − k + 2p + 1", 5, 4, 1, 2, 1, "(5 + 2·2 − 4)/1 + 1 = 6"),
        ("4: half padding, o = i", 5, 3, 1, 1, 1, "(5 + 2·1 − 3)/1 + 1 = 5"),
        ("4: full padding, o = i + k − 1", 5, 3, 1, 2, 1, "(5 + 2·2 − 3)/1 + 1 = 7"),
        ("5: no padding, strides", 5, 3, 2, 0, 1, "(5 + 2·0 − 3)/2 + 1 = 2"),
        ("6: padding and strides", 5, 3, 2, 1, 1, "(5 + 2·1 − 3)/2 + 1 = 3"),
        ("6: padding and strides, odd", 6, 3, 2, 1, 1, "(6 + 2·1 − 3)/2 + 1 = 3.5"),
        ("15: dilation", 7, 3, 1, 0, 2, "(7 + 2·0 − 2·(3 − 1) − 1)/1 + 1 = 3"),
    ],
)
def test_dumoulin_visin_conv_relations(cli, relation, i, k, s, p, d, text):
    conv = nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d)
    args = ("layer", "conv", "--input", f"{i}x{i}x1", "--filters", "1", "--kernel", str(k), "--stride", str(s), "--padding", str(p), "--dilation", str(d))
    assert text in cli(*args).stdout, relation
    assert out_tuple(run_json(cli, *args)) == torch_shape(conv, i, i, 1)


@pytest.mark.parametrize(
    "i, k, s, p, op, text",
    [
        (2, 3, 1, 0, 0, "(2 − 1)·1 − 2·0 + (3 − 1) + 0 + 1 = 4"),  # relation 8: transposed of no-padding unit-stride
        (3, 3, 2, 1, 0, "(3 − 1)·2 − 2·1 + (3 − 1) + 0 + 1 = 5"),  # relation 13
        (3, 3, 2, 1, 1, "(3 − 1)·2 − 2·1 + (3 − 1) + 1 + 1 = 6"),  # relation 14: output padding a = 1
        (4, 3, 2, 1, 1, "(4 − 1)·2 − 2·1 + (3 − 1) + 1 + 1 = 8"),
    ],
)
def test_dumoulin_visin_transposed_relations(cli, i, k, s, p, op, text):
    deconv = nn.ConvTranspose2d(8, 4, k, stride=s, padding=p, output_padding=op)
    args = (
        "layer", "conv_transpose", "--input", f"{i}x{i}x8", "--filters", "4", "--kernel", str(k),
        "--stride", str(s), "--padding", str(p), "--output-padding", str(op),
    )  # fmt: skip
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    assert text in result.stdout
    doc = run_json(cli, *args)
    assert out_tuple(doc) == torch_shape(deconv, i, i, 8, device="cpu")
    assert doc["params"] == n_params(deconv)


@pytest.mark.parametrize("n, k, s, p", [(6, 3, 2, 1), (5, 3, 2, 1), (8, 3, 2, 1), (9, 4, 3, 1), (28, 5, 2, 2), (7, 3, 3, 0)])
def test_solve_output_padding_inverts_the_conv_in_torch(cli, n, k, s, p):
    doc = run_json(cli, "solve", "output-padding", "--input", str(n), "--kernel", str(k), "--stride", str(s), "--padding", str(p))
    conv = nn.Conv2d(1, 1, k, stride=s, padding=p)
    m = torch_shape(conv, n, n, 1)[0]
    assert doc["conv_output"] == m
    deconv = nn.ConvTranspose2d(1, 1, k, stride=s, padding=p, output_padding=doc["output_padding"])
    assert torch_shape(deconv, m, m, 1, device="cpu")[0] == n
    # and torch's own choice when asked for output_size agrees
    with torch.no_grad():
        y = nn.ConvTranspose2d(1, 1, k, stride=s, padding=p)(torch.zeros(1, 1, m, m), output_size=[n, n])
    assert y.shape[-1] == n


def test_solve_output_padding_text(cli):
    out = cli("solve", "output-padding", "--input", "8", "--kernel", "3", "--stride", "2", "--padding", "1").stdout
    assert "conv: 8 → 4; transposed conv: 4 → 8 with output_padding = 1" in out
    assert "(8 + 2·1 − 3)/2 + 1 = 4" in out
    assert "(4 − 1)·2 − 2·1 + (3 − 1) + 1 + 1 = 8" in out
    assert "7..8 to 4" in flat(out)


# --------------------------------------------------------------------------- solve: padding, stride, kernel


def _torch_len(n, k, s, before, after, d=1):
    conv = nn.Conv2d(1, 1, k, stride=s, dilation=d)
    x = F.pad(torch.zeros(1, 1, n, n, device="meta"), (before, after, before, after))
    with torch.no_grad():
        return conv.to("meta")(x).shape[-1]


@pytest.mark.parametrize("n, k, s, out", [(32, 5, 1, None), (32, 4, 1, None), (32, 5, 2, 16), (32, 3, 2, None), (10, 3, 1, 12), (17, 6, 3, None), (32, 3, 1, 20)])
def test_solve_padding_every_solution_holds_in_torch_and_no_other(cli, n, k, s, out):
    args = ["solve", "padding", "--input", str(n), "--kernel", str(k), "--stride", str(s)]
    if out is not None:
        args += ["--output", str(out)]
    doc = run_json(cli, *args)
    target = -(-n // s) if out is None else out
    assert doc["output"] == target
    found = {(sol["before"], sol["after"]) for sol in doc["solutions"]}
    for total in range(0, 3 * k + 3 * s + 4):
        before, after = total // 2, total - total // 2
        gives = _torch_len(n, k, s, before, after)
        assert ((before, after) in found) == (gives == target), total


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_even_kernel_same_padding_is_asymmetric_like_torch(cli):
    result = cli("solve", "padding", "--input", "32", "--kernel", "4")
    assert "solutions: 1 before + 2 after" in result.stdout
    assert "cannot be the same on both sides" in flat(result.stdout)
    # torch's padding="same" pads 1 before and 2 after for a 4-pixel kernel: same numbers as an explicit pad.
    torch.manual_seed(0)
    conv = nn.Conv2d(1, 1, 4, padding="same", bias=False)
    x = torch.randn(1, 1, 9, 9)
    with torch.no_grad():
        explicit = F.conv2d(F.pad(x, (1, 2, 1, 2)), conv.weight)
        assert torch.allclose(conv(x), explicit)


def test_solve_padding_none_when_padding_cannot_shrink(cli):
    doc = run_json(cli, "solve", "padding", "--input", "32", "--kernel", "3", "--output", "10")
    assert doc["solutions"] == []
    assert "No padding works: even with P = 0 the output is 30" in flat(cli("solve", "padding", "--input", "32", "--kernel", "3", "--output", "10").stdout)


@pytest.mark.parametrize("n, k, p, out", [(63, 7, 0, 29), (10, 3, 0, 6), (10, 3, 0, 4), (32, 3, 1, 16), (15, 3, 0, 1), (7, 3, 0, 9)])
def test_solve_stride_matches_torch_over_every_stride(cli, n, k, p, out):
    doc = run_json(cli, "solve", "stride", "--input", str(n), "--kernel", str(k), "--padding", str(p), "--output", str(out))
    found = [sol["stride"] for sol in doc["solutions"]]
    for s in range(1, n + 2 * p + 2):
        gives = _torch_len(n, k, s, p, p)
        if found and doc["solutions"][-1].get("and_above") and s >= found[-1]:
            assert gives == out
        else:
            assert (s in found) == (gives == out), s


def test_solve_stride_explains_no_solution(cli):
    out = cli("solve", "stride", "--input", "10", "--kernel", "3", "--output", "6").stdout
    assert "solutions: none" in out
    assert "stride 1 gives 8 and stride 2 gives 4" in flat(out)


@pytest.mark.parametrize("n, s, p, out", [(32, 1, 0, 28), (32, 3, 0, 10), (28, 2, 1, 14), (10, 1, 0, 11), (9, 4, 0, 2)])
def test_solve_kernel_matches_torch_over_every_kernel(cli, n, s, p, out):
    doc = run_json(cli, "solve", "kernel", "--input", str(n), "--stride", str(s), "--padding", str(p), "--output", str(out))
    found = {sol["kernel"] for sol in doc["solutions"]}
    for k in range(1, n + 2 * p + 1):
        assert (k in found) == (_torch_len(n, k, s, p, p) == out), k


def test_solve_kernel_text(cli):
    out = cli("solve", "kernel", "--input", "32", "--output", "28").stdout
    assert "f = 5  (32 + 2·0 − 5)/1 + 1 = 28" in out
    assert "(32 + 2·0 − 3)/3 + 1 = 10.666…" in cli("solve", "kernel", "--input", "32", "--stride", "3", "--output", "10").stdout


# --------------------------------------------------------------------------- compare


def test_compare_bottleneck_the_notes_example(cli):
    # The course notes: 28×28×192 → 5×5 conv, 32 filters: 120,422,400 multiplications directly,
    # 12,443,648 through a 1×1 conv to 16 channels (biases not counted).
    args = ("compare", "bottleneck", "--input", "28x28x192", "--filters", "32", "--kernel", "5", "--via", "16")
    doc = run_json(cli, *args)
    assert doc["direct"]["macs"] == 120_422_400
    assert doc["bottleneck"]["macs"] == 12_443_648
    direct = nn.Conv2d(192, 32, 5, padding=2)
    reduce, conv = nn.Conv2d(192, 16, 1), nn.Conv2d(16, 32, 5, padding=2)
    assert doc["direct"]["params"] == n_params(direct)
    assert doc["bottleneck"]["params"] == n_params(reduce) + n_params(conv)
    assert out_tuple(doc) == torch_shape(direct, 28, 28, 192)
    out = cli(*args).stdout
    assert "28·28·5·5·192·32 = 120,422,400" in out
    assert "2,408,448 + 10,035,200 = 12,443,648" in out
    no_bias = run_json(cli, *args, "--no-bias")
    assert no_bias["direct"]["params"] == n_params(nn.Conv2d(192, 32, 5, bias=False))


@pytest.mark.parametrize("kernel, layers, stack_c2, one_c2", [(5, 2, 18, 25), (7, 3, 27, 49)])
def test_compare_stack_3x3_versus_one_large(cli, kernel, layers, stack_c2, one_c2):
    c = 8
    args = ("compare", "stack", "--input", f"10x10x{c}", "--kernel", str(kernel))
    doc = run_json(cli, *args)
    assert doc["weights_per_c2"] == {"stack": stack_c2, "one": one_c2}
    assert doc["receptive_field"] == kernel
    stack = [nn.Conv2d(c, c, 3, padding=1) for _ in range(layers)]
    one = nn.Conv2d(c, c, kernel, padding=kernel // 2)
    assert doc["stack"]["params"] == sum(n_params(m) for m in stack)
    assert doc["one"]["params"] == n_params(one)
    assert sum(m.weight.numel() for m in stack) == stack_c2 * c * c
    out = cli(*args).stdout
    assert f"{stack_c2}C² versus {one_c2}C²" in out


def test_compare_stack_refuses_an_unreachable_kernel(cli):
    result = cli("compare", "stack", "--input", "10x10x8", "--kernel", "6")
    assert result.exit_code == 2 and result.stdout == ""
    assert "cannot have the receptive field" in result.stderr


# --------------------------------------------------------------------------- explain


INCEPTION = """
name: mini_inception
input: 28x28x192
layers:
  - concat:
      name: mixed
      branches:
        - [conv: {filters: 64, kernel: 1}]
        - [conv: {filters: 96, kernel: 1}, conv: {filters: 128, kernel: 3, padding: 1}]
        - [conv: {filters: 16, kernel: 1}, conv: {filters: 32, kernel: 5, padding: 2}]
        - [maxpool: {kernel: 3, stride: 1, padding: 1}, conv: {filters: 32, kernel: 1}]
  - sequential:
      name: head
      layers:
        - conv: {name: conv, filters: 64, kernel: 3, stride: 2}
        - relu: {name: relu}
        - add:
            name: res
            branches:
              - [conv: {name: a, filters: 64, kernel: 3, padding: 1}]
              - []
"""


def write(tmp_path, text: str) -> str:
    path = tmp_path / "net.yaml"
    path.write_text(text)
    return str(path)


def test_explain_concat_adds_channels_like_torch_cat(cli, tmp_path):
    result = cli("explain", write(tmp_path, INCEPTION), "--layer", "mixed")
    assert result.exit_code == 0, result.stderr
    assert "64 + 128 + 32 + 32 = 256" in result.stdout
    assert "torch.cat(dim=1)" in flat(result.stdout)
    parts = [torch.zeros(1, c, 28, 28) for c in (64, 128, 32, 32)]
    assert torch.cat(parts, dim=1).shape[1] == 256


def test_explain_leaf_takes_its_input_from_the_previous_layers(cli, tmp_path):
    path = write(tmp_path, INCEPTION)
    result = cli("explain", path, "--layer", "head.conv")
    assert "input   28x28x256 (from `mixed`)" in result.stdout
    assert "(28 + 2·0 − 3)/2 + 1 = 13.5" in result.stdout
    doc = run_json(cli, "explain", path, "--layer", "head.conv")
    conv = nn.Conv2d(256, 64, 3, stride=2)
    assert out_tuple(doc) == torch_shape(conv, 28, 28, 256)
    assert doc["params"] == n_params(conv)
    # The JSON object is the table's entry for that row, plus the derivation.
    table = json.loads(cli("table", path, "--format", "json").stdout)
    entry = next(e for e in table["layers"] if e["path"] == "head.conv")
    assert {k: doc[k] for k in entry} == entry


def test_explain_add_says_shapes_must_match(cli, tmp_path):
    out = cli("explain", write(tmp_path, INCEPTION), "--layer", "head.res").stdout
    assert "every branch must give exactly 13x13x64" in flat(out)
    assert "branch 2 (identity)" in out


def test_explain_block_is_the_sum_of_its_contents(cli, tmp_path):
    path = write(tmp_path, INCEPTION)
    doc = run_json(cli, "explain", path, "--layer", "head")
    torch_params = n_params(nn.Conv2d(256, 64, 3, stride=2)) + n_params(nn.Conv2d(64, 64, 3, padding=1))
    assert doc["params"] == torch_params
    out = cli("explain", path, "--layer", "head").stdout
    assert f"{147_520:,} + {36_928:,} = {torch_params:,}" in out


def test_explain_unknown_path_suggests(cli, tmp_path):
    result = cli("explain", write(tmp_path, INCEPTION), "--layer", "head.rse")
    assert result.exit_code == 2 and result.stdout == ""
    assert "has no layer `head.rse`; did you mean `head.res`?" in result.stderr


def test_explain_function_raises_cnncalc_error():
    from cnncalc.work.explain import explain

    with pytest.raises(CnnCalcError):
        explain(analyse(spec(INCEPTION)), "nope")


# --------------------------------------------------------------------------- options are checked as in a spec


@pytest.mark.parametrize(
    "cli_args, yaml_options",
    [
        (["--filters", "8", "--kernel", "0"], "{filters: 8, kernel: 0}"),
        (["--filters", "8"], "{filters: 8}"),
        (["--filters", "8", "--kernel", "3", "--padding", "sme"], "{filters: 8, kernel: 3, padding: sme}"),
        (["--filters", "8", "--kernel", "3", "--units", "4"], "{filters: 8, kernel: 3, units: 4}"),
        (["--filters", "8", "--kernel", "3.0"], "{filters: 8, kernel: 3.0}"),
        (["--filters", "8", "--kernel", "1,2,3"], "{filters: 8, kernel: [1, 2, 3]}"),
    ],
)
def test_layer_options_are_checked_exactly_as_in_a_spec(cli, cli_args, yaml_options):
    with pytest.raises(CnnCalcError) as spec_error:
        parse_spec(f"input: 8x8x3\nlayers:\n  - conv: {yaml_options}\n")
    result = cli("layer", "conv", "--input", "8x8x3", *cli_args)
    assert result.exit_code == 2 and result.stdout == ""
    assert spec_error.value.message in result.stderr
    if spec_error.value.hint:
        assert spec_error.value.hint in result.stderr


def test_layer_pairs_and_four_sided_padding(cli):
    doc = run_json(cli, "layer", "conv", "--input", "20x30x3", "--filters", "4", "--kernel", "3x5", "--stride", "1,2", "--padding", "0,1,2,3")
    x = F.pad(torch.zeros(1, 3, 20, 30, device="meta"), (2, 3, 0, 1))
    y = nn.Conv2d(3, 4, (3, 5), stride=(1, 2), device="meta")(x)
    assert out_tuple(doc) == (y.shape[2], y.shape[3], y.shape[1])
    assert doc["padding"] == {"top": 0, "bottom": 1, "left": 2, "right": 3}


def test_layer_unknown_kind_suggests(cli):
    result = cli("layer", "cnov", "--input", "8x8x3")
    assert result.exit_code == 2 and "did you mean `conv`?" in result.stderr


@pytest.mark.parametrize(
    "args, module, c",
    [
        (["batchnorm"], nn.BatchNorm2d(16), 16),
        (["avgpool", "--kernel", "3", "--stride", "2", "--padding", "1"], nn.AvgPool2d(3, 2, padding=1), 16),
        (["global_avgpool"], nn.AdaptiveAvgPool2d(1), 16),
        (["upsample", "--scale", "2"], nn.Upsample(scale_factor=2), 16),
        (["zeropad", "--padding", "1,2,3,4"], nn.ZeroPad2d((3, 4, 1, 2)), 16),
        (["conv", "--filters", "32", "--kernel", "3", "--groups", "4", "--no-bias"], nn.Conv2d(16, 32, 3, groups=4, bias=False), 16),
        (["relu"], nn.ReLU(), 16),
        (["flatten"], nn.Flatten(), 16),
    ],
)
def test_other_kinds_against_torch(cli, args, module, c):
    doc = run_json(cli, "layer", args[0], "--input", f"9x9x{c}", *args[1:])
    assert out_tuple(doc) == torch_shape(module, 9, 9, c, device="cpu")
    assert doc["params"] == n_params(module)


# --------------------------------------------------------------------------- every row of every bundled network


def _evaluate(formula: str):
    """A substituted formula as written (`(63 + 2·0 − 7)/2 + 1`, `(7·7·16 + 1)·32`), evaluated exactly."""
    import ast
    import re
    from fractions import Fraction

    text = formula.replace("·", "*").replace("−", "-").replace(",", "")
    if not re.fullmatch(r"[\d+\-*/() .]+", text):
        return None
    tree = ast.parse(re.sub(r"(\d+)", r"Fraction(\1)", text), mode="eval")
    return eval(compile(tree, "<formula>", "eval"), {"Fraction": Fraction})  # digits and operators only


def _number(value: str):
    from fractions import Fraction
    import re

    match = re.match(r"^-?[\d,]+(\.\d+)?(…)?", value)
    if not match or match.group(2):
        return None
    return Fraction(match.group(0).replace(",", ""))


@pytest.mark.parametrize("name", ["resnet18", "googlenet", "mobilenet_v2", "densenet121", "alexnet", "squeezenet1_0", "vgg16_bn"])
def test_every_row_of_bundled_networks_explains_and_every_formula_computes_its_value(name):
    from cnncalc.spec import zoo
    from cnncalc.work.explain import explain, to_text

    analysis = analyse(zoo.load(name))
    checked = 0
    for row in analysis.rows:
        worked = explain(analysis, row.path)
        assert to_text(worked)
        assert worked.data["params"] == row.params and worked.data["macs"] == row.macs
        assert worked.data["output"] == row.output.as_json()
        for section in worked.sections:
            for step in section.steps:
                if not step.formula:
                    continue
                value, written = _number(step.value), _evaluate(step.formula)
                if value is None or written is None:
                    continue
                if step.note.startswith("not a whole number"):
                    assert written.denominator != 1, (row.path, step)
                assert written == value, (row.path, step)
                checked += 1
    assert checked > len(analysis.leaves())


@pytest.mark.parametrize(
    "args",
    [
        ["solve", "padding", "--input", "32", "--kernel", "5", "--stride", "2", "--output", "16"],
        ["solve", "stride", "--input", "63", "--kernel", "7", "--output", "29"],
        ["solve", "kernel", "--input", "32", "--stride", "3", "--output", "10"],
        ["solve", "output-padding", "--input", "9", "--kernel", "4", "--stride", "3", "--padding", "1"],
        ["compare", "bottleneck", "--input", "28x28x192", "--filters", "32", "--kernel", "5", "--via", "16"],
        ["compare", "stack", "--input", "14x14x32", "--kernel", "7"],
    ],
)
def test_solve_and_compare_formulas_compute_their_values(cli, args):
    doc = run_json(cli, *args)
    checked = 0
    for section in doc["derivation"]:
        for step in section["steps"]:
            value, written = _number(step["value"]), _evaluate(step["formula"])
            if value is None or written is None or "%" in step["value"]:
                continue
            if step.get("note", "").startswith("not a whole number"):
                assert written.denominator != 1, step
            assert written == value, step
            checked += 1
    assert checked >= 1


def test_long_runs_of_solutions_are_summarised_and_right_in_torch(cli):
    # n = 100, f = 3, s = 50 → output 3 for every total padding P with 2·50 ≤ 100 + P − 3 < 3·50.
    doc = run_json(cli, "solve", "padding", "--input", "100", "--kernel", "3", "--stride", "50", "--output", "3")
    assert doc["count"] == 50
    listed = [s["total"] for s in doc["solutions"]]
    assert listed[0] == 3 and listed[-1] == 52
    works = [total for total in range(0, 60) if _torch_len(100, 3, 50, total // 2, total - total // 2) == 3]
    assert works == list(range(3, 53))
    out = cli("solve", "padding", "--input", "100", "--kernel", "3", "--stride", "50", "--output", "3").stdout
    assert "every total P from 3 to 52 works: 50 in all" in out


def test_huge_sizes_answer_at_once_by_hand_arithmetic(cli):
    # ⌊999,999,997/s⌋ = 1 exactly for 499,999,999 ≤ s ≤ 999,999,997.
    doc = run_json(cli, "solve", "stride", "--input", "1000000000", "--kernel", "3", "--output", "2")
    assert doc["count"] == 499_999_999
    assert doc["solutions"][0]["stride"] == 499_999_999 and doc["solutions"][-1]["stride"] == 999_999_997
    doc = run_json(cli, "solve", "kernel", "--input", "1000000", "--stride", "1000", "--output", "3")
    # ⌊(10^6 − f)/1000⌋ = 2  ⇔  2000 ≤ 10^6 − f ≤ 2999  ⇔  997,001 ≤ f ≤ 998,000
    assert doc["count"] == 1000
    assert doc["solutions"][0]["kernel"] == 997_001 and doc["solutions"][-1]["kernel"] == 998_000
    doc = run_json(cli, "solve", "output-padding", "--input", "1000000001", "--kernel", "3", "--stride", "1000000")
    # conv: ⌊999,999,998/10^6⌋ + 1 = 1000; transposed: 999·10^6 + 2 + 1 = 999,000,003; 10^9 + 1 − that = 999,998
    assert doc["conv_output"] == 1000 and doc["output_padding"] == 999_998


def test_compare_stack_refuses_absurd_stacks_quickly(cli):
    result = cli("compare", "stack", "--input", "8x8x4", "--kernel", "1000001")
    assert result.exit_code == 2 and "at most 64" in result.stderr
