"""Every layer kind and every merge is handled by every stage, through its own class.

The stages (spec reader, analysis, receptive field, table summary, worked derivation, torch builder)
ask the kind registered for a spec word; none switches on layer classes. This file proves the other
half: each kind class defines every stage's method itself (no silent fall-through to a base class),
and each stage gives a real answer for each kind on inputs of every rank the kind accepts, the same
answer torch gives for the shape and the parameters.
"""

from __future__ import annotations

import json

import pytest

from cnncalc.core.engine import analyse
from cnncalc.core.receptive import receptive_fields
from cnncalc.enums import LayerKind, MergeKind
from cnncalc.kinds import merge as merge_module
from cnncalc.kinds.base import STAGE_METHODS, Kind
from cnncalc.kinds.merge import MERGES
from cnncalc.kinds.registry import ALIASES, KINDS, LAYER_WORDS, kind_of
from cnncalc.kinds.worked import LayerUse
from cnncalc.spec.parse import parse_spec
from cnncalc.work.explain import explain, to_text

# Options that make a valid layer of each spec word on the inputs below (the examples users see in hints
# are used where they fit; the required options are what the spec reader demands).
OPTIONS = {
    "conv": {"filters": 6, "kernel": 3, "padding": 1},
    "conv_transpose": {"filters": 6, "kernel": 2, "stride": 2},
    "maxpool": {"kernel": 2},
    "avgpool": {"kernel": 2},
    "minpool": {"kernel": 2},
    "adaptive_avgpool": {"output_size": 2},
    "fc": {"units": 10},
    "zeropad": {"padding": 1},
    "upsample": {"scale": 2},
    "dropout": {"p": 0.1},
    "lrn": {"size": 3},
    "adaptive_maxpool": {"output_size": 2},
    "groupnorm": {"groups": 2},
    "channel_shuffle": {"groups": 2},
    "chunk": {"chunks": 2, "index": 1},
    "crop": {"size": 3},
    "pixel_shuffle": {"factor": 2},
    "pixel_unshuffle": {"factor": 2},
    "prelu": {"num_parameters": 1},
    "unflatten": {"shape": "2x2x3"},
}
PERMUTE = {1: [0, 2, 1], 2: [0, 2, 3, 1], 3: [0, 2, 3, 4, 1]}
# Where a kind takes only some inputs: pixel (un)shuffle images, unflatten vectors.
ONLY = {"pixel_shuffle": {2}, "pixel_unshuffle": {2}, "unflatten": {None}}
INPUTS = {1: "16x4", 2: "8x8x4", 3: "4x6x6x4"}
VECTOR_KINDS = {"fc", "flatten", "batchnorm", "dropout", "relu", "relu6", "leaky_relu", "tanh", "sigmoid", "softmax",
                "layernorm", "chunk", "unflatten", "identity", "prelu"}


def test_every_spec_word_has_a_kind_and_every_layer_kind_is_registered():
    from cnncalc.kinds.elementwise import ACTIVATIONS

    assert set(LAYER_WORDS) == {str(k) for k in LayerKind} | set(ACTIVATIONS) | {"prelu"}
    for alias, (target, rank) in ALIASES.items():
        assert target in KINDS and rank in (1, 2, 3, None), alias


@pytest.mark.parametrize("kind", sorted({type(k) for k in KINDS.values()}, key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_each_kind_class_defines_every_stage_itself(kind):
    missing = [name for name in STAGE_METHODS if name not in kind.__dict__]
    assert not missing, f"{kind.__name__} inherits {missing} from Kind: a stage would not know this kind"
    assert kind.names and all(name in kind.options for name in kind.names), "every name has an option schema (maybe empty)"


def test_the_coverage_check_notices_a_kind_without_a_stage():
    class Half(Kind):  # a kind that forgot its receptive geometry, its derivation and its memory
        names = ("half",)

        def build(self, kind, values, base, rank): ...

        def forward(self, layer, shape): ...

        def torch(self, layer, shape, device="meta"): ...

    assert [name for name in STAGE_METHODS if name not in Half.__dict__] == ["field", "derive", "memory", "pytorch"]


@pytest.mark.parametrize("merge", list(MergeKind))
def test_each_merge_rule_defines_every_stage_itself(merge):
    rule = type(MERGES[merge])
    assert [name for name in merge_module.STAGE_METHODS if name not in rule.__dict__] == []


def _network(word: str, rank: int | None):
    options = {"order": PERMUTE[rank or 0]} if word == "permute" and rank else OPTIONS.get(word)
    layer = {word: options} if options else word
    first = ["global_avgpool"] if word == "fc" and rank else []  # fc reads the 1x1xC map of a global pool as C features
    text = json.dumps({"name": word, "input": INPUTS[rank] if rank else "12", "layers": [*first, layer]})
    return parse_spec(text, file=f"{word}.yaml")


CASES = [
    (word, rank)
    for word, rank in [(word, rank) for word in LAYER_WORDS for rank in (1, 2, 3)] + [(word, None) for word in sorted(VECTOR_KINDS)]
    if rank in ONLY.get(word, {rank})
]


@pytest.mark.parametrize("word,rank", CASES, ids=lambda v: str(v))
def test_every_stage_answers_for_every_kind_and_rank(word, rank):
    torch = pytest.importorskip("torch")
    network = _network(word, rank)
    analysis = analyse(network)
    row = analysis.leaves()[-1]
    kind = kind_of(row.node)
    # analysis and torch agree on the shape and the parameters
    module = kind.torch(row.node, row.input, device="cpu").eval()
    with torch.no_grad():
        out = module(torch.zeros((1, *row.input.torch_size())))
    assert tuple(out.shape[1:]) == row.output.torch_size()
    assert row.params == sum(p.numel() for p in module.parameters())
    # receptive field: one field per axis of the input
    field = receptive_fields(network).find(row.path)
    assert len(field.fields) == (rank or 2)
    # the table's summary is text; the derivation has sections and renders
    assert isinstance(kind.summary(row.node, row.padding), str)
    derivation = kind.derive(LayerUse(row.node, row.input, row.output, row.params, row.macs, row.padding))
    assert derivation.sections and derivation.weights + derivation.biases in (0, row.params)
    text = to_text(explain(analysis, row.path))
    assert text.startswith(f"{row.path}: {word}") and "Activations" in text
    assert kind.headline(row.node)[0] == word


# Kinds whose output at a position depends on statistics of the whole map in torch (instance and group
# norm normalise each sample's map by its own mean and variance, also in eval mode). cnncalc, as the
# receptive-field literature does, reads normalisation as passing the field on: torch's gradient reaches
# every pixel, so their footprint is not a window and is not compared.
WHOLE_MAP_STATISTICS = {"instancenorm", "groupnorm"}
FIELD_CASES = [(word, rank) for word, rank in CASES if rank is not None and word not in WHOLE_MAP_STATISTICS]


@pytest.mark.parametrize("word,rank", FIELD_CASES, ids=lambda v: str(v))
def test_each_kinds_receptive_field_is_the_gradient_footprint_of_the_real_torch_module(word, rank):
    """The real torch module (random float64 weights and a positive input, so that no gradient cancels by
    chance) back-propagated from one output unit: the input positions with a nonzero gradient lie inside
    the engine's span i·S − P … i·S − P + r − 1 along every axis, and reach both ends where they are inside
    the input. A field the engine declares undefined must come with its reason."""
    torch = pytest.importorskip("torch")
    network = _network(word, rank)
    leaves = analyse(network).leaves()
    row = leaves[-1]
    field = receptive_fields(network).find(row.path)
    undefined = [axis for axis in field.fields if not axis.defined]
    assert all(axis.note for axis in undefined), word  # an undefined field says why
    generator = torch.Generator().manual_seed(0)
    # the whole chain (an fc reads a global pool's output): the field is over the network's input
    module = torch.nn.Sequential(*(kind_of(r.node).torch(r.node, r.input, device="cpu") for r in leaves)).double().eval()
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(torch.rand(parameter.shape, generator=generator, dtype=torch.float64) + 0.5)
    x = (torch.rand((1, *network.input.torch_size()), generator=generator, dtype=torch.float64) + 0.5).requires_grad_()
    out = module(x)
    if out.dim() == 2:
        # A vector: feature k of a flattened map is the unit at position k of channel 0 (torch's C-major
        # order), with that unit's field; every feature of an fc sees the whole input.
        units = tuple(size // 2 for size in network.input.torch_size()[1:])
        feature = 0
        for unit, size in zip(units, network.input.torch_size()[1:]):
            feature = feature * size + unit
        picked = out[0, feature] if out.shape[1] == x[0].numel() else out[0]  # an fc: every feature
    else:
        units = tuple(size // 2 for size in out.shape[2:])
        picked = out[(0, slice(None), *units)]
    # a weighted sum: the plain sum of a softmax over the channels is 1, whose gradient is 0
    (picked * (torch.rand(picked.shape, generator=generator, dtype=torch.float64) + 0.5)).sum().backward()
    reached = (x.grad[0] != 0).any(dim=0)  # positions (any channel) that reach the unit
    # a max passes the gradient to its largest input only: the footprint lies inside the span, not across it
    exact_ends = "max" not in word
    sizes = network.input.torch_size()[1:]
    for axis, (unit, axis_field) in enumerate(zip(units, field.fields)):
        other = tuple(d for d in range(rank) if d != axis)
        seen = torch.nonzero(reached.any(dim=other) if other else reached).flatten().tolist()
        assert seen, f"{word}: no input position reaches unit {units}"
        if not axis_field.defined:
            # no (r, S, P) for all units, but where the engine still gives r, it is the footprint's extent
            assert axis_field.size is None or seen[-1] - seen[0] + 1 == axis_field.size, (word, axis, seen, axis_field.size)
            continue
        span = axis_field.span
        start, end, n = span.start(unit), span.end(unit), sizes[axis]
        assert max(start, 0) <= seen[0] and seen[-1] <= min(end, n - 1), (word, axis, seen, start, end)
        if exact_ends and 0 <= start < n:
            assert seen[0] == start, (word, axis, seen, start)
        if exact_ends and 0 <= end < n:
            assert seen[-1] == end, (word, axis, seen, end)
