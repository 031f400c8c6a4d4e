"""The bundled networks: exact totals, and every layer equal to the same network built in torch.

The totals come from issue 2 (torchvision's builders for the torchvision rows, hand
arithmetic from the papers and the course notes for LeNet-5 and AlexNet), not from cnncalc.
The per-layer check builds each parsed spec as real torch.nn layers (tests/torch_build.py,
meta device) and compares every leaf layer with cnncalc's row for it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnncalc.spec import zoo
from cnncalc.work import catalog
from cnncalc.core.engine import analyse
from cnncalc.core.memory import memory
from cnncalc.enums import Dtype
from torch_build import build, cnncalc_shape, trace
from torch_memory import inference_peak, saved_bytes

# name: (input H x W x C, params, MACs), as listed in issue 2, item 7.
EXPECTED = {
    "lenet5": ("32x32x1", 61_706, 416_520),
    "alexnet": ("227x227x3", 62_378_344, 1_135_256_096),
    "alexnet_torchvision": ("224x224x3", 61_100_840, 714_188_480),
    "vgg11": ("224x224x3", 132_863_336, 7_609_090_048),
    "vgg16": ("224x224x3", 138_357_544, 15_470_264_320),
    "vgg16_bn": ("224x224x3", 138_365_992, 15_470_264_320),
    "vgg19": ("224x224x3", 143_667_240, 19_632_062_464),
    "resnet18": ("224x224x3", 11_689_512, 1_814_073_344),
    "resnet34": ("224x224x3", 21_797_672, 3_663_761_408),
    "resnet50": ("224x224x3", 25_557_032, 4_089_184_256),
    "resnet101": ("224x224x3", 44_549_160, 7_801_405_440),
    "resnet152": ("224x224x3", 60_192_808, 11_513_626_624),
    "googlenet": ("224x224x3", 13_004_888, 1_506_748_416),  # with its aux heads; main path 1,498,376,192 = _ops 1.498
    "densenet121": ("224x224x3", 7_978_856, 2_834_161_664),
    "mobilenet_v2": ("224x224x3", 3_504_872, 300_774_272),
    "squeezenet1_0": ("224x224x3", 1_248_424, 818_924_576),
    # Issue 9: a 1-D, a 3-D and a graph-shaped network. M5: the PyTorch tutorial prints
    # "Number of parameters: 26915"; r3d_18: torchvision's 33,371,472 and _ops 40.697 (GMACs);
    # U-Net with padded convs: the 31,031,810 parameters of the paper's layout (its MACs are
    # checked layer by layer against torch in the next test).
    "m5": ("8000x1", 26_915, 1_880_256),
    "r3d_18": ("16x112x112x3", 33_371_472, 40_696_553_472),
    "unet_padded": ("256x256x3", 31_031_810, 48_171_581_440),
    # The paper's U-Net: 572x572x1 in, 388x388x2 out (figure 1); its 31,030,658 parameters and MACs are
    # checked layer by layer against torch in the next test.
    "unet": ("572x572x1", 31_030_658, 150_428_424_448),
    # Issue 10: torchvision 0.29.1's builders (parameters) and their published `_ops` (GMACs to 3 decimals).
    "efficientnet_b0": ("224x224x3", 5_288_548, 385_814_752),  # _ops 0.386
    "mobilenet_v3_large": ("224x224x3", 5_483_032, 216_589_760),  # 0.217
    "convnext_tiny": ("224x224x3", 28_589_128, 4_455_531_264),  # 4.456
    "shufflenet_v2_x1_0": ("224x224x3", 2_278_604, 144_907_992),  # 0.145
    "regnet_y_400mf": ("224x224x3", 4_344_144, 401_842_848),  # 0.402
    # with its aux head (side output); the main path's 5,713,216,096 = _ops 5.713
    "inception_v3": ("299x299x3", 27_161_264, 5_718_899_296),
    "deeplabv3_mobilenet_v3_large": ("520x520x3", 11_029_328, 10_452_447_938),  # 10.452, aux head included
    "s3d": ("16x224x224x3", 8_320_048, 17_978_771_456),  # 17.979
}


def test_every_listed_model_is_bundled():
    missing = sorted(set(EXPECTED) - set(zoo.bundled_names()))
    assert not missing


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_totals_equal_the_published_numbers(name):
    hwc, params, macs = EXPECTED[name]
    network = zoo.load(name)
    totals = analyse(network).totals
    assert network.input.hwc() == hwc
    assert (totals.params, totals.macs) == (params, macs)
    assert network.description and network.reference  # `cnncalc models` shows where each comes from


def test_the_papers_unet_crops_its_skips_to_the_sizes_of_figure_1():
    rows = {r.path: r for r in analyse(zoo.load("unet")).rows}
    assert [rows[f"dec{i}.crop"].output.hwc() for i in (4, 3, 2, 1)] == ["56x56x512", "104x104x256", "200x200x128", "392x392x64"]
    assert rows["head"].output.hwc() == "388x388x2"


def test_lenet5_and_alexnet_follow_the_course_notes_layer_by_layer():
    # Shapes written in the course notes (seed 000, "Classic Network"): H x W x C after each stage.
    lenet = [r.output.hwc() for r in analyse(zoo.load("lenet5")).leaves() if r.kind in ("conv", "avgpool")]
    assert lenet == ["28x28x6", "14x14x6", "10x10x16", "5x5x16"]
    alexnet = [r.output.hwc() for r in analyse(zoo.load("alexnet")).leaves() if r.kind in ("conv", "maxpool")]
    assert alexnet == [
        "55x55x96", "27x27x96", "27x27x256", "13x13x256", "13x13x384", "13x13x384", "13x13x256", "6x6x256",
    ]
    kinds = [r.kind for r in analyse(zoo.load("alexnet")).leaves()]
    assert kinds.count("lrn") == 2 and kinds.count("dropout") == 2


@pytest.mark.parametrize("name", zoo.bundled_names())
def test_every_layer_equals_the_same_network_built_in_torch(name):
    network = zoo.load(name)
    analysis = analyse(network)
    net = build(network)  # meta device: torch's shape rules, no compute
    torch_rows = trace(network, net=net)
    leaves = analysis.leaves()
    assert list(torch_rows) == [r.path for r in leaves]  # same layers, same execution order
    for row in leaves:
        t = torch_rows[row.path]
        assert cnncalc_shape(row.output) == t.output, row.path
        assert row.params == t.params, row.path
        assert row.trainable_params == t.trainable_params, row.path
        assert row.non_trainable_params == t.params - t.trainable_params + t.running_stats, row.path
        assert row.macs == t.macs, row.path
    totals = analysis.totals
    assert totals.params == sum(t.params for t in torch_rows.values())
    assert totals.trainable_params == sum(t.trainable_params for t in torch_rows.values())
    assert totals.macs == sum(t.macs for t in torch_rows.values())
    # memory, as torch keeps it: saved for backward (per layer too) and the inference peak, at two batch
    # sizes and two dtypes (tests/torch_memory.py measures; issue 12)
    import torch

    for batch, dtype, ours in ((2, torch.float32, Dtype.FLOAT32), (3, torch.bfloat16, Dtype.BFLOAT16)):
        report = memory(analysis, batch, ours)
        saved, by_layer = saved_bytes(net, batch, dtype)
        assert report.training_saved == saved, (batch, ours)
        assert {path: b for path, b in report.saved_by_row.items() if b} == by_layer, (batch, ours)
        assert report.inference_peak == inference_peak(net, batch, dtype), (batch, ours)


def test_models_lists_every_bundled_spec_with_its_params(cli):
    result = cli("models")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    reference = Path(__file__).resolve().parent / "reference" / "torchvision"
    for name in zoo.bundled_names():
        # the number to find: the issue's, or torchvision's own count (the committed reference)
        if name in EXPECTED:
            params = EXPECTED[name][1]
        else:
            params = json.loads((reference / f"{name}.json").read_text())["params"]
        row = [line for line in lines if line.split() and line.split()[0] == name]
        assert len(row) == 1, name
        assert f"{params:,}" in row[0], name


def test_models_json_has_every_bundled_spec_with_input_params_and_macs(cli):
    result = cli("models", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = {entry["name"]: entry for entry in json.loads(result.stdout)}
    assert sorted(doc) == zoo.bundled_names()
    for name, (hwc, params, macs) in EXPECTED.items():
        *sizes, c = (int(v) for v in hwc.split("x"))
        axes = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}[len(sizes)]
        assert doc[name]["input"] == {**dict(zip(axes, sizes)), "channels": c}
        assert (doc[name]["params"], doc[name]["macs"]) == (params, macs)
        assert doc[name]["description"]


def test_models_lists_a_family_by_size_and_keeps_numbers_whole_at_80_columns():
    from typer.testing import CliRunner

    from cnncalc.cli.app import app

    result = CliRunner().invoke(app, ["models"], env={"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"})
    assert result.exit_code == 0, result.output
    names = [line.split()[0] for line in result.stdout.splitlines() if line.split() and line.split()[0] in EXPECTED]
    resnets = [n for n in names if n.startswith("resnet")]
    assert resnets == ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]
    assert all(len(line) <= 80 for line in result.stdout.splitlines())
    assert "143,667,240" in result.stdout and "19,632,062,464" in result.stdout  # vgg19, the widest numbers


def test_the_stored_listing_is_current_and_equals_a_fresh_analysis():
    # specs/index.json lets `cnncalc models` answer without parsing every spec; it must match them
    # (regenerate with `python -m cnncalc.work.catalog` after changing a bundled spec).
    stored = {e["name"]: e for e in json.loads((zoo.specs_dir() / catalog.INDEX).read_text(encoding="utf-8"))}
    assert sorted(stored) == zoo.bundled_names()
    for name in zoo.bundled_names():
        fresh = catalog._entry(name, (zoo.specs_dir() / f"{name}.yaml").read_bytes())
        assert stored[name] == fresh, f"specs/index.json is stale for {name}: run python -m cnncalc.work.catalog"


def test_a_changed_spec_is_listed_from_its_text_not_from_the_stale_index(tmp_path, monkeypatch):
    for path in zoo.specs_dir().glob("*"):
        if path.is_file():  # not a __pycache__ a run from the source tree leaves
            (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / "lenet5.yaml").write_text((tmp_path / "lenet5.yaml").read_text().replace("units: 10", "units: 11"))
    monkeypatch.setattr(zoo, "specs_dir", lambda: tmp_path)
    lenet = next(e for e in catalog.listing() if e["name"] == "lenet5")
    assert lenet["params"] == 61_706 + 85  # the last fc has 84 + 1 more weights for the 11th unit


def test_models_filters_by_prefix_and_task_and_groups_families(cli):
    names = [e["name"] for e in json.loads(cli("models", "efficientnet_b", "--format", "json").stdout)]
    assert names == [f"efficientnet_b{i}" for i in range(8)]
    video = json.loads(cli("models", "--task", "video", "--format", "json").stdout)
    assert {e["name"] for e in video} == {"r3d_18", "mc3_18", "r2plus1d_18", "s3d"} and {e["task"] for e in video} == {"video"}
    bad = cli("models", "--task", "vidoe")
    assert bad.exit_code == 2
