"""What the course shows, in the table (issue 13, point 5): --columns, the weight tensor's shape in
torch's or the course's order, the batch dimension, activation counts, memory; and the weight layers
learners count (VGG-16's 16) in `check` and `models`."""

from __future__ import annotations

import json
import random

import pytest
import torch
from typer.testing import CliRunner

from cnncalc.cli.app import app
from cnncalc.core.engine import analyse
from cnncalc.errors import CnnCalcError
from cnncalc.kinds.registry import kind_of
from cnncalc.model.layers import Merge
from cnncalc.spec import zoo
from cnncalc.spec.parse import parse_spec
from cnncalc.words import cell_width
from spec_grammar import random_spec
from torch_build import build


def run(*args: str, columns: int = 100):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns), "NO_COLOR": "1"})


def table(*args: str, columns: int = 100) -> list[list[str]]:
    result = run("table", *args, columns=columns)
    assert result.exit_code == 0, result.output
    lines = result.stdout.split("\n")
    return [line.split() for line in lines[3 : lines.index(next(l for l in lines if l.startswith("=")))]]


def _torch_weight(module: torch.nn.Module) -> tuple[int, ...] | None:
    weights = [p for name, p in module.named_parameters() if name == "weight" or name.endswith(".weight")]
    return tuple(weights[0].shape) if weights else None


def _networks():
    for name in ("lenet5", "alexnet", "resnet18", "mobilenet_v3_small", "convnext_tiny", "m5", "r3d_18", "unet", "regnet_y_400mf"):
        yield pytest.param(zoo.load(name), id=name)
    for seed in range(40):
        doc, _ = random_spec(random.Random(seed))
        try:
            network = parse_spec(json.dumps(doc), file="x.yaml")
            analyse(network)
        except CnnCalcError:
            continue
        yield pytest.param(network, id=f"grammar-{seed}")


@pytest.mark.parametrize("network", list(_networks()))
def test_each_layers_weight_shape_is_torchs(network):
    net = build(network)
    for row in analyse(network).leaves():
        if row.node is None or isinstance(row.node, Merge) or row.path not in net.layers:
            continue
        assert kind_of(row.node).weight_shape(row.node, row.input) == _torch_weight(net.layers[row.path].op), row.path


def test_columns_come_in_the_order_asked_with_the_weights_in_either_order():
    rows = table("lenet5", "--columns", "input,output,weights,params,activations", "--weights", "course")
    assert rows[0] == ["conv1", "32x32x1", "28x28x6", "5×5×1×6", "156", "4,704"]
    assert rows[7] == ["fc1", "400", "120", "400×120", "48,120", "120"]
    torch_order = table("lenet5", "-c", "weights")
    assert torch_order[0] == ["conv1", "6×1×5×5"] and torch_order[7] == ["fc1", "120×400"]
    head = run("table", "lenet5", "-c", "macs,kind").stdout.split("\n")[1].split()
    assert head == ["Layer", "MACs", "Kind"]


def test_activation_and_memory_columns_are_the_json_numbers():
    doc = json.loads(run("table", "resnet18", "--batch", "8", "--dtype", "float16", "-f", "json").stdout)
    rows = table("resnet18", "--batch", "8", "--dtype", "float16", "-c", "activations,memory", "--paths")
    shown = {r[0]: r[1:] for r in rows}
    for layer in doc["layers"]:
        activations, size, unit = shown[layer["path"]]
        assert activations == f"{layer['activations']:,}"
        saved = layer["activation_bytes_saved"]
        expected = f"{saved / 1e6:,.2f} MB" if saved >= 1e6 else f"{saved / 1e3:,.2f} kB"
        assert f"{size} {unit}" == expected, layer["path"]


def test_show_batch_puts_the_batch_first_in_either_order():
    out = run("table", "lenet5", "--batch", "32", "--show-batch", "-c", "input,output").stdout.split("\n")
    assert out[0] == "lenet5: input 32x32x32x1 (N×H×W×C)"
    assert out[3].split() == ["conv1", "32x32x32x1", "32x28x28x6"]
    chw = run("table", "lenet5", "--batch", "32", "--show-batch", "--chw", "-c", "output").stdout.split("\n")
    assert chw[0] == "lenet5: input 32x1x32x32 (N×C×H×W)" and chw[3].split() == ["conv1", "32x6x28x28"]


def test_every_column_at_once_still_fits_a_narrow_screen():
    out = run("table", "resnet50", "-c", "kind,input,output,ksp,weights,params,macs,activations,memory", columns=60).stdout
    assert all(cell_width(line) <= 60 for line in out.split("\n"))
    rows = table("resnet50", "-c", "kind,input,output,ksp,weights,params,macs,activations,memory", columns=60)
    assert rows and not [cell for row in rows for cell in row[1:] if "…" in cell]  # only a name is ever cut


@pytest.mark.parametrize(
    "value, message",
    [
        ("weight", "error: --columns: `weight` is not a column; did you mean `weights`?\n"),
        ("", "error: --columns names no column\n"),
    ],
)
def test_an_unknown_column_is_a_clear_error(value, message):
    result = run("table", "lenet5", "--columns", value)
    assert result.exit_code == 2 and result.stderr.startswith(message)
    assert "hint: the columns are kind, input, output, ksp, weights, params, macs, activations, memory" in result.stderr


@pytest.mark.parametrize("name, weight_layers", [("lenet5", 5), ("alexnet", 8), ("vgg16", 16), ("vgg19_bn", 19), ("resnet50", 54)])
def test_check_and_models_count_the_weight_layers_learners_count(name, weight_layers):
    assert analyse(zoo.load(name)).weight_layers == weight_layers
    assert f"{name}: ok ({weight_layers} conv/fc of " in run("check", name).stdout
    listed = json.loads(run("models", name, "-f", "json").stdout)
    assert next(e for e in listed if e["name"] == name)["weight_layers"] == weight_layers


def test_side_heads_are_not_weight_layers_of_the_network():
    network = zoo.load("googlenet")
    rows = analyse(network).leaves()
    side = sum(1 for r in rows if r.side and r.node is not None and not isinstance(r.node, Merge) and kind_of(r.node).weight_layer)
    assert side == 6  # two auxiliary heads of a conv and two fcs
    assert analyse(network).weight_layers == 58  # 57 convs and the classifier
