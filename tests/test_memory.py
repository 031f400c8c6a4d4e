"""Memory against torch's own accounting (tests/torch_memory.py): what autograd saves for the backward pass,
layer by layer, and the inference peak replayed tensor by tensor. Every bundled model is held to both in
tests/test_zoo.py; here every kind alone (as the first layer and after a trainable one), random networks
from the spec grammar (merges, `from:`, side outputs, frozen groups), the footprint's arithmetic and the
new-user example of issue 12.
"""

from __future__ import annotations

import json
import os
import random
import zlib

import pytest

from cnncalc.core.engine import analyse
from cnncalc.core.memory import footprint, memory
from cnncalc.enums import Dtype, Optimizer
from cnncalc.errors import CnnCalcError
from cnncalc.model.shapes import Spatial
from cnncalc.spec.parse import parse_spec
from spec_grammar import Grammar
from test_kinds import CASES, INPUTS, OPTIONS, PERMUTE

torch = pytest.importorskip("torch")
from torch_build import build  # noqa: E402
from torch_memory import inference_peak, saved_bytes  # noqa: E402

CONFIGS = ((2, torch.float32, Dtype.FLOAT32), (3, torch.bfloat16, Dtype.BFLOAT16))


def assert_like_torch(network) -> None:
    analysis = analyse(network)
    net = build(network)
    for batch, dtype, ours in CONFIGS:
        report = memory(analysis, batch, ours)
        saved, by_layer = saved_bytes(net, batch, dtype)
        assert {path: b for path, b in report.saved_by_row.items() if b} == by_layer, (batch, ours)
        assert report.training_saved == saved
        assert report.inference_peak == inference_peak(net, batch, dtype), (batch, ours)


def _kind_spec(word: str, rank: int, after_conv: bool, extra: dict | None = None) -> str:
    options = {**OPTIONS.get(word, {}), **(extra or {})}
    if word == "permute":
        options = {"order": PERMUTE[rank]}
    layers: list = [{"conv": {"filters": 4, "kernel": 1}}] if after_conv else []
    if word == "fc":
        layers.append("global_avgpool")
    layers.append({word: options} if options else word)
    return json.dumps({"name": word, "input": INPUTS[rank], "layers": layers})


KIND_CASES = [(word, rank) for word, rank in CASES if rank is not None]


@pytest.mark.parametrize("after_conv", [True, False], ids=["after-a-conv", "first"])
@pytest.mark.parametrize("word,rank", KIND_CASES, ids=lambda v: str(v))
def test_each_kind_keeps_what_torch_keeps(word, rank, after_conv):
    assert_like_torch(parse_spec(_kind_spec(word, rank, after_conv), file="k.yaml"))


VARIANTS = [
    ("relu", {"inplace": True}), ("relu6", {"inplace": True}), ("leaky_relu", {"inplace": True}), ("silu", {"inplace": True}),
    ("hardswish", {"inplace": True}), ("hardsigmoid", {"inplace": True}), ("mish", {"inplace": True}), ("elu", {"inplace": True}),
    ("selu", {"inplace": True}), ("sigmoid", {"inplace": True}), ("dropout", {"inplace": True}), ("dropout", {"p": 0.0}),
    ("dropout", {"p": 1.0}), ("stochastic_depth", {"p": 0.2}), ("stochastic_depth", {"p": 0.2, "mode": "batch"}),
    ("conv", {"trainable": False}), ("conv", {"padding": "same", "stride": 2}), ("conv", {"padding": [0, 1, 1, 0]}),
    ("conv", {"kernel": 2, "padding": "same"}), ("batchnorm", {"trainable": False}), ("batchnorm", {"affine": False}),
    ("batchnorm", {"track_running_stats": False}), ("layer_scale", {"trainable": False}), ("fc", {"trainable": False}),
    ("fc", {"units": 3, "per_position": True}), ("maxpool", {"padding": "same"}), ("avgpool", {"padding": [1, 0, 0, 1]}),
    ("channel_shuffle", {"groups": 1}), ("channel_shuffle", {"groups": 4}), ("minpool", {"kernel": 2, "padding": "same"}), ("adaptive_avgpool", {"output_size": 1}), ("instancenorm", {"affine": True}),
    ("groupnorm", {"groups": 2, "affine": False}), ("layernorm", {"elementwise_affine": False}), ("upsample", {"scale": 2, "mode": "bilinear"}),
]


@pytest.mark.parametrize("after_conv", [True, False], ids=["after-a-conv", "first"])
@pytest.mark.parametrize("word,extra", VARIANTS, ids=lambda v: json.dumps(v) if isinstance(v, dict) else v)
def test_options_that_change_memory_keep_what_torch_keeps(word, extra, after_conv):
    assert_like_torch(parse_spec(_kind_spec(word, 2, after_conv, extra), file="k.yaml"))


# What a normalisation reads decides what it copies: a channels-last map (after a layer norm on the channels)
# or a slice of the channels (chunk, with a batch of several) is copied channels-first first. Instance norm
# then repeats γ/β and the running statistics per sample on top of the copy, as it does on a plain input
# (found by the long hunt of random networks: the copy forgot the running statistics).
LAYOUTS = {
    "plain": [{"conv": {"filters": 4, "kernel": 1}}],
    "channels-last": [{"conv": {"filters": 4, "kernel": 1}}, "layernorm"],
    "channel-slice": [{"conv": {"filters": 8, "kernel": 1}}, {"chunk": {"chunks": 2, "index": 1}}],
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("word,extra", [
    ("instancenorm", {"affine": affine, "track_running_stats": track}) for affine in (False, True) for track in (False, True)
] + [("groupnorm", {"groups": 2}), ("groupnorm", {"groups": 2, "affine": False})], ids=lambda v: json.dumps(v) if isinstance(v, dict) else v)
def test_a_normalisation_keeps_what_torch_keeps_on_every_input_layout(word, extra, layout):
    text = json.dumps({"name": word, "input": "5x7x3", "layers": [*LAYOUTS[layout], {word: extra}]})
    assert_like_torch(parse_spec(text, file="n.yaml"))


# Which layout each kind hands on decides whether a later layer copies. After a channels-last map, torch's
# meta kernels keep the layout for the elementwise kinds, pools, batch norm, …, and return a contiguous
# tensor from conv, conv_transpose, softmax, group/instance norm, channel_shuffle and pixel_shuffle: an
# instance norm after the kind makes the difference visible (it copies a channels-last input first).
# (not the kinds that end in a vector or one position, where no layout is left to tell, nor those the 6x5 map refuses)
@pytest.mark.parametrize("word", [w for w, rank in KIND_CASES if rank == 2 and w not in ("fc", "flatten", "global_avgpool", "global_maxpool", "pixel_unshuffle")])
def test_each_kind_hands_on_the_layout_torch_gives_it(word):
    options = {"order": PERMUTE[2]} if word == "permute" else OPTIONS.get(word, {})
    layers = [{"conv": {"filters": 4, "kernel": 1}}, "layernorm", {word: options} if options else word, "instancenorm"]
    assert_like_torch(parse_spec(json.dumps({"name": word, "input": "6x5x4", "layers": layers}), file="l.yaml"))


# Merges: torch.cat is channels-last only when every branch is; a sum or product takes the layout of its first
# operand, unless that is a 1x1 gate, whose layout tells nothing.
@pytest.mark.parametrize("merge,branches", [
    ("concat", [["layernorm"], []]), ("concat", [[], ["layernorm"]]), ("concat", [["layernorm"], ["layernorm"]]),
    ("add", [["layernorm"], []]), ("add", [[], ["layernorm"]]),
    ("multiply", [["global_avgpool"], ["layernorm"]]), ("multiply", [["layernorm"], ["global_avgpool"]]),
], ids=str)
def test_a_merge_hands_on_the_layout_torch_gives_it(merge, branches):
    layers = [{"conv": {"filters": 4, "kernel": 1}}, {merge: {"branches": branches}}, "instancenorm"]
    assert_like_torch(parse_spec(json.dumps({"name": merge, "input": "6x5x4", "layers": layers}), file="m.yaml"))


# A slice of the channels (chunk) of a batch: flattened in place when it is cut from a channels-first map (each
# sample's values still lie together), copied per position; a channels-last slice the other way round. A frozen
# fc per position is multiplied batch by batch and copies nothing on a 1-D map, or for one sample.
@pytest.mark.parametrize("layers", [
    [{"conv": {"filters": 8, "kernel": 1}}, {"chunk": {"chunks": 2, "index": 1}}, "flatten"],
    [{"conv": {"filters": 8, "kernel": 1}}, {"chunk": {"chunks": 2, "index": 1}}, {"fc": {"units": 3, "per_position": True}}],
    [{"conv": {"filters": 8, "kernel": 1}}, {"chunk": {"chunks": 8, "index": 1}}, {"fc": {"units": 3, "per_position": True}}],
    [{"conv": {"filters": 8, "kernel": 1}}, "global_avgpool", {"chunk": {"chunks": 2, "index": 1}}, "flatten", {"fc": {"units": 3}}],
    [{"conv": {"filters": 8, "kernel": 1}}, "layernorm", {"chunk": {"chunks": 2, "index": 1}}, "flatten"],
    [{"conv": {"filters": 8, "kernel": 1}}, "layernorm", {"chunk": {"chunks": 2, "index": 1}}, {"fc": {"units": 3, "per_position": True}}],
    [{"conv": {"filters": 6, "kernel": 1}}, {"fc": {"units": 5, "per_position": True, "trainable": False}}],
    [{"fc": {"units": 2, "per_position": True, "trainable": False}}],
    [{"fc": {"units": 2, "per_position": True, "trainable": False, "bias": False}}],
], ids=lambda layers: "-".join(next(iter(x)) if isinstance(x, dict) else x for x in layers))
@pytest.mark.parametrize("size", ["31x3", "5x6x3", "3x4x5x3"])
def test_slices_and_frozen_rows_keep_what_torch_keeps(layers, size):
    assert_like_torch(parse_spec(json.dumps({"name": "s", "input": size, "layers": layers}), file="s.yaml"))


def test_one_sample_of_a_map_needs_no_copy_for_a_frozen_fc_per_position():
    # at batch 1 the sample axis merges with the height; at batch 2 it does not (assert_like_torch measures 2 and 3)
    network = parse_spec(json.dumps({"name": "f", "input": "5x6x3", "layers": [{"fc": {"units": 2, "per_position": True, "trainable": False}}]}), file="f.yaml")
    net = build(network)
    assert memory(analyse(network), 1, Dtype.FLOAT32).inference_peak == inference_peak(net, 1, torch.float32) == (90 + 60 + 60) * 4


def _one_value_per_statistic(row) -> bool:
    """Torch refuses batch statistics of one sample (the reference probes with one), instance statistics of
    one position, and group norm over one value per group even in eval mode (F.group_norm checks the size of
    every batch), so there is nothing to measure; cnncalc takes a batch of several."""
    positions = getattr(row.input, "positions", 1)
    if row.kind == "instancenorm" or (row.kind == "batchnorm" and isinstance(row.input, Spatial)):
        return positions == 1
    if row.kind == "batchnorm":  # on a vector: refused only where it normalises with the batch's statistics in eval mode too
        return not row.node.track_running_stats
    return row.kind == "groupnorm" and positions * row.input.channels // row.node.groups == 1


def _random_networks(count: int, seed: int):
    rng = random.Random(seed)
    found = 0
    while found < count:
        grammar = Grammar(rng, odd=0.0)
        text = json.dumps(grammar.document())
        try:
            network = parse_spec(text, file="r.yaml")
            analysis = analyse(network)
        except CnnCalcError:
            continue
        if analysis.input.elements > 10_000:
            continue
        if any(_one_value_per_statistic(r) for r in analysis.leaves()):
            continue

        found += 1
        yield text


@pytest.mark.parametrize("text", list(_random_networks(int(os.environ.get("CNNCALC_MEMORY_NETWORKS", "150")), seed=int(os.environ.get("CNNCALC_FUZZ_SEED", "12")))), ids=lambda t: str(zlib.crc32(t.encode()) % 10**6))  # a stable id: hash() differs per process (pytest-xdist workers)
def test_random_networks_keep_what_torch_keeps(text):
    network = parse_spec(text, file="r.yaml")
    try:
        build(network)
    except (RuntimeError, ValueError) as exc:  # a network torch itself refuses (cnncalc has it refuse too, elsewhere)
        pytest.fail(f"torch cannot build a network cnncalc accepts: {exc}\n{text}")
    try:
        assert_like_torch(network)
    except RuntimeError as exc:
        if "is being modified inplace" not in str(exc):
            raise
        # autograd refuses an in-place layer on a view of `chunk`'s output ("Output 0 of Split is a view and is
        # being modified inplace"); cnncalc accepts the network (it runs at inference)
        pytest.skip("torch cannot train this network, so there is no training memory of torch's to compare")


def test_a_concat_of_two_1x1_convs_peaks_at_what_torch_holds(cli, tmp_path):
    # issue 12's new-user example: the old peak said 8.80 kB, more than every tensor of the network together
    # (the input, 4,000 bytes; each branch, 800; the concat, 1,600): torch holds all of them at the concat
    text = "name: two\ninput: 10x10x10\nlayers:\n  - concat: {branches: [[conv: {filters: 2, kernel: 1}], [conv: {filters: 2, kernel: 1}]]}\n"
    network = parse_spec(text, file="two.yaml")
    peak = memory(analyse(network)).inference_peak
    assert peak == inference_peak(build(network), 1, torch.float32) == 4000 + 800 + 800 + 1600
    (tmp_path / "two.yaml").write_text(text)
    footer = cli("table", str(tmp_path / "two.yaml")).stdout
    assert [line.split()[-2:] for line in footer.splitlines() if line.startswith("Activations, inference peak")] == [["7.20", "kB"]]


@pytest.mark.parametrize("optimizer,copies", [("none", 0), ("sgd", 0), ("momentum", 1), ("adam", 2), ("adamw", 2)])
def test_the_training_footprint_adds_gradients_and_optimizer_state(optimizer, copies):
    analysis = analyse(parse_spec(json.dumps({"input": "8x8x3", "layers": [
        {"conv": {"filters": 4, "kernel": 3, "trainable": False}}, "batchnorm", "relu", "flatten", {"fc": {"units": 5}}]}), file="f.yaml"))
    t = analysis.totals
    for dtype in (Dtype.FLOAT32, Dtype.FLOAT16):
        f = footprint(analysis, 4, dtype, Optimizer(optimizer))
        assert f.parameter_bytes == (t.params + t.running_stats) * dtype.bytes
        assert f.gradient_bytes == (0 if optimizer == "none" else t.trainable_params * dtype.bytes)
        assert f.optimizer_state_bytes == copies * t.trainable_params * dtype.bytes
        assert f.training_bytes_total == f.parameter_bytes + f.gradient_bytes + f.optimizer_state_bytes + f.activation_bytes_training
        mixed = footprint(analysis, 4, dtype, Optimizer(optimizer), master_weights=True)
        assert mixed.master_weight_bytes == t.trainable_params * 4
        assert mixed.optimizer_state_bytes == copies * t.trainable_params * 4
        assert mixed.training_bytes_total == f.training_bytes_total - f.optimizer_state_bytes + mixed.optimizer_state_bytes + mixed.master_weight_bytes


@pytest.mark.parametrize("name", ["resnet50", "googlenet", "efficientnet_b0", "unet_padded"])
@pytest.mark.parametrize("depth", [None, 1, 2])
def test_rows_add_up_to_the_saved_total_at_every_depth(cli, name, depth):
    args = ["table", name, "--format", "json", "--batch", "8", "--dtype", "float16"] + (["--depth", str(depth)] if depth else [])
    doc = json.loads(cli(*args).stdout)
    assert sum(r["activation_bytes_saved"] for r in doc["layers"]) == doc["totals"]["activation_bytes_training"]
    totals = doc["totals"]
    assert totals["training_bytes_total"] == (
        totals["parameter_bytes"] + totals["gradient_bytes"] + totals["optimizer_state_bytes"] + totals["activation_bytes_training"]
    )
    assert doc["optimizer"] == "adam"


def test_the_readme_states_the_rule_of_every_kind_and_merge():
    from pathlib import Path

    from cnncalc.kinds.registry import KINDS, MERGES

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("| kind | saved for backward | output |", 1)[1].split("\n\n", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    named = {word for line in rows for word in line.split("|")[1].replace("`", " ").replace(",", " ").split()}
    assert set(KINDS) - named == set()
    assert {str(m) for m in MERGES} - named == set()


def test_the_activation_table_knows_which_torch_classes_run_in_place():
    import inspect

    from torch import nn

    from cnncalc.kinds.elementwise import ACTIVATIONS, SAVES

    assert set(SAVES) == set(ACTIVATIONS)
    for word, (cls, _) in ACTIVATIONS.items():
        takes_inplace = "inplace" in inspect.signature(getattr(nn, cls)).parameters
        assert (SAVES[word][1] is not None) == takes_inplace or word == "identity", word
