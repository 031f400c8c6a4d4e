"""Invariants over random networks (hypothesis): sums, padding, metamorphic pairs, JSON schema.

The random specs are built as Python data and written as JSON, which is valid YAML, so
they go through the same parser as a user's file. Layers are chosen so that every
network is valid (`same` padding for anything that strides), whatever the input size.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncalc.core.memory import footprint
from cnncalc.core.engine import analyse
from cnncalc.enums import Dtype
from cnncalc.spec.parse import parse_spec
from cnncalc.render.table import to_json
from cnncalc.model.shapes import Spatial

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def network(doc: dict):
    return parse_spec(json.dumps(doc), file="random.yaml")


# --------------------------------------------------------------------------- random specs

small = st.integers(1, 6)
conv = st.builds(
    lambda f, k, s, p, b, t: {"conv": {"filters": f, "kernel": k, "stride": s, "padding": "same" if s > 1 else p, "bias": b, "trainable": t}},
    small,
    st.sampled_from([1, 2, 3, [1, 3], [3, 2]]),
    st.sampled_from([1, 1, 2]),
    st.sampled_from([1, "same"]),  # never shrinks: kernels are at most 3
    st.booleans(),
    st.sampled_from([True, True, False]),
)
simple = st.one_of(
    conv,
    st.just({"batchnorm": {}}),
    st.just("relu"),
    st.just("tanh"),
    st.builds(lambda k: {"maxpool": {"kernel": k, "stride": 2, "padding": "same"}}, st.sampled_from([1, 2, 3])),
    st.just({"avgpool": {"kernel": 1}}),
    st.just({"zeropad": {"padding": [0, 1, 1, 0]}}),
)


def _residual(f: int, k: int):
    # both branches end in `f` channels at the same size, so the add is always valid
    return {"add": {"branches": [[{"conv": {"filters": f, "kernel": k, "padding": "same"}}, {"batchnorm": {}}], [{"conv": {"filters": f, "kernel": 1}}]]}}


def _concat(a: int, b: int):
    return {"concat": {"branches": [[{"conv": {"filters": a, "kernel": 1}}], [{"conv": {"filters": b, "kernel": 3, "padding": "same"}}], []]}}


def _items(children):
    return st.lists(children, min_size=1, max_size=4)


items = st.recursive(
    simple,
    lambda children: st.one_of(
        st.builds(lambda layers: {"sequential": {"layers": layers}}, _items(children)),
        st.builds(lambda n, layers: {"repeat": n, "layers": layers}, st.integers(1, 3), _items(children)),
        st.builds(_residual, small, st.sampled_from([1, 3])),
        st.builds(_concat, small, small),
    ),
    max_leaves=12,
)


@st.composite
def specs(draw):
    h, w, c = draw(st.integers(1, 24)), draw(st.integers(1, 24)), draw(st.integers(1, 4))
    layers = draw(st.lists(items, min_size=1, max_size=6))
    head = draw(st.sampled_from([[], ["global_avgpool", "flatten", {"fc": {"units": 3}}], ["flatten", {"batchnorm": {}}]]))
    return {"name": "random", "input": f"{h}x{w}x{c}", "layers": layers + head}


FIELDS = ("params", "trainable_params", "non_trainable_params", "macs", "activations")


def totals_tuple(analysis):
    t = analysis.totals
    return (t.params, t.trainable_params, t.non_trainable_params, t.macs, t.activations)


def leaves_signature(analysis):
    return [(r.path, r.kind, r.output, r.params, r.trainable_params, r.non_trainable_params, r.macs) for r in analysis.leaves()]


# --------------------------------------------------------------------------- sums


@SETTINGS
@given(specs())
def test_rows_add_up_to_the_totals_at_every_depth(doc):
    analysis = analyse(network(doc))
    leaves = analysis.leaves()
    assert totals_tuple(analysis) == tuple(sum(getattr(r, f) for r in leaves) for f in FIELDS)
    deepest = max(r.depth for r in analysis.rows)
    for depth in range(1, deepest + 1):
        rows = analysis.rows_to_depth(depth)
        assert tuple(sum(getattr(r, f) for r in rows) for f in FIELDS) == totals_tuple(analysis), depth


@SETTINGS
@given(specs())
def test_a_block_row_is_the_sum_of_its_contents(doc):
    rows = analyse(network(doc)).rows
    for i, block in enumerate(rows):
        if not block.is_block:
            continue
        inside = []
        for r in rows[i + 1 :]:
            if r.depth <= block.depth:
                break
            inside.append(r)
        contents = [r for r in inside if not r.is_block]
        assert all(r.path.startswith(block.path + ".") for r in inside)
        for f in FIELDS:
            assert getattr(block, f) == sum(getattr(r, f) for r in contents), (block.path, f)
        if inside:
            assert block.output == inside[-1].output


# --------------------------------------------------------------------------- padding


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 40), st.integers(1, 40), st.integers(1, 7), st.integers(1, 7), st.integers(1, 3), st.integers(1, 3),
)
def test_same_padding_at_stride_1_keeps_the_size(h, w, kh, kw, dh, dw):
    doc = {"input": f"{h}x{w}x2", "layers": [{"conv": {"filters": 3, "kernel": [kh, kw], "dilation": [dh, dw], "padding": "same"}}]}
    (row,) = analyse(network(doc)).leaves()
    assert row.output == Spatial(h, w, 3)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 7), st.integers(1, 4), st.integers(1, 2))
def test_same_padding_is_the_explicit_padding_it_resolves_to(h, w, k, s, d):
    layer = {"filters": 3, "kernel": k, "stride": s, "dilation": d}
    same = analyse(network({"input": f"{h}x{w}x2", "layers": [{"conv": {**layer, "padding": "same"}}]}))
    (row,) = same.leaves()
    explicit = analyse(network({"input": f"{h}x{w}x2", "layers": [{"conv": {**layer, "padding": list(row.padding)}}]}))
    assert leaves_signature(explicit) == leaves_signature(same)
    assert (row.output.height, row.output.width) == (-(-h // s), -(-w // s))


# --------------------------------------------------------------------------- metamorphic pairs


@given(st.integers(1, 64), st.integers(5, 20))
@settings(max_examples=40, deadline=None)
def test_two_stacked_3x3_have_18_c_squared_params_against_25_for_one_5x5(c, n):
    stacked = analyse(network({"input": f"{n}x{n}x{c}", "layers": [{"conv": {"filters": c, "kernel": 3, "padding": 1, "bias": False}}] * 2}))
    single = analyse(network({"input": f"{n}x{n}x{c}", "layers": [{"conv": {"filters": c, "kernel": 5, "padding": 2, "bias": False}}]}))
    assert stacked.totals.params == 18 * c * c
    assert single.totals.params == 25 * c * c
    assert stacked.leaves()[-1].output == single.leaves()[-1].output  # the same 5x5 view, the same size


@SETTINGS
@given(st.integers(1, 4), _items(items))
def test_repeat_n_is_n_written_out_copies(n, layers):
    base = {"input": "16x12x3"}
    repeated = analyse(network({**base, "layers": [{"repeat": n, "layers": layers}]}))
    written = analyse(network({**base, "layers": layers * n}))
    assert leaves_signature(repeated) == leaves_signature(written)
    assert totals_tuple(repeated) == totals_tuple(written)


@SETTINGS
@given(specs(), st.data())
def test_a_named_sequential_does_not_change_the_totals(doc, data):
    layers = doc["layers"]
    start = data.draw(st.integers(0, len(layers) - 1))
    stop = data.draw(st.integers(start + 1, len(layers)))
    wrapped = {**doc, "layers": layers[:start] + [{"sequential": {"name": "wrapped", "layers": layers[start:stop]}}] + layers[stop:]}
    a, b = analyse(network(doc)), analyse(network(wrapped))
    assert totals_tuple(a) == totals_tuple(b)
    assert a.totals == b.totals  # memory figures too
    assert [(r.kind, r.output, r.params, r.macs) for r in a.leaves()] == [(r.kind, r.output, r.params, r.macs) for r in b.leaves()]


@SETTINGS
@given(specs(), st.integers(1, 24), st.integers(1, 24), st.integers(1, 4))
def test_input_override_is_the_same_as_editing_the_spec(doc, h, w, c):
    overridden = analyse(network(doc), Spatial(h, w, c))
    edited = analyse(network({**doc, "input": f"{h}x{w}x{c}"}))
    assert leaves_signature(overridden) == leaves_signature(edited)
    assert overridden.totals == edited.totals


# --------------------------------------------------------------------------- JSON schema


ROW_KEYS = {"path", "kind", "block", "depth", "input", "output", "params", "trainable_params", "non_trainable_params", "macs", "activations", "activation_bytes_saved"}
TOTAL_KEYS = {"params", "trainable_params", "non_trainable_params", "macs", "parameter_bytes", "gradient_bytes", "optimizer_state_bytes",
              "activation_bytes_inference", "activation_bytes_training", "training_bytes_total"}


def _shape_ok(shape: dict) -> bool:
    return set(shape) in ({"height", "width", "channels"}, {"features"}) and all(isinstance(v, int) and v > 0 for v in shape.values())


@SETTINGS
@given(specs(), st.sampled_from([None, 1, 2, 3]), st.integers(1, 4), st.sampled_from(list(Dtype)))
def test_json_schema_is_stable(doc, depth, batch, dtype):
    analysis = analyse(network(doc))
    out = json.loads(to_json(analysis, depth=depth, memory=footprint(analysis, batch, dtype)))
    assert {"name", "input", "layers", "totals"} <= set(out)
    assert TOTAL_KEYS <= set(out["totals"])
    assert [out["totals"][k] for k in ("params", "trainable_params", "non_trainable_params", "macs")] == list(totals_tuple(analysis)[:4])
    assert _shape_ok(out["input"])
    for entry in out["layers"]:
        assert ROW_KEYS <= set(entry)
        assert _shape_ok(entry["output"]) and _shape_ok(entry["input"])
        assert isinstance(entry["block"], bool)
        if entry["kind"] in ("conv", "conv_transpose", "maxpool", "avgpool", "minpool"):
            assert {"kernel", "stride", "dilation", "padding"} <= set(entry)
        if depth is not None:
            assert entry["depth"] <= depth
    if depth is None:
        # every leaf exactly once, in execution order, and nothing else
        paths = [e["path"] for e in out["layers"]]
        assert paths == [r.path for r in analysis.leaves()]
        assert len(set(paths)) == len(paths)
        assert not any(e["block"] for e in out["layers"])
    for key in FIELDS:
        assert sum(e[key] for e in out["layers"]) == out["totals"][key]
    assert sum(e["activation_bytes_saved"] for e in out["layers"]) == out["totals"]["activation_bytes_training"]
