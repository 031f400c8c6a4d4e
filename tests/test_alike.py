"""Layers written alike are built once and placed at their other paths (model.layers.placed); the stages
compute each distinct layer once per input (issue 14). The numbers must be exactly those of building every
layer on its own: these tests rebuild each layer with `dataclasses.replace` (which drops the shared token)
and compare every stage's output, for every bundled model and for random specs from the grammar."""

from __future__ import annotations

import dataclasses
import random
import textwrap

import pytest

from cnncalc.core.engine import analyse
from cnncalc.core.memory import footprint, kept_parts
from cnncalc.core.receptive import receptive_fields
from cnncalc.enums import Dtype, Optimizer
from cnncalc.errors import CnnCalcError
from cnncalc.model.layers import Merge, Network, Sequential, Side, alike
from cnncalc.spec import zoo
from cnncalc.spec.parse import parse_spec
from spec_grammar import random_spec


def rebuilt(nodes):
    """Every layer built again on its own: equal fields, no shared token."""
    out = []
    for node in nodes:
        if isinstance(node, (Sequential, Side)):
            out.append(dataclasses.replace(node, children=rebuilt(node.children)))
        elif isinstance(node, Merge):
            out.append(dataclasses.replace(node, branches=tuple(rebuilt(b) for b in node.branches)))
        else:
            copy = dataclasses.replace(node)
            assert alike(copy) is None
            out.append(copy)
    return tuple(out)


def every_stage(network: Network, batch: int = 3, dtype: Dtype = Dtype.FLOAT16):
    analysis = analyse(network)
    fields = receptive_fields(network, analysis=analysis)
    return (
        analysis.rows,
        analysis.totals,
        [(w.message, w.layer, w.pos) for w in analysis.warnings],
        footprint(analysis, batch, dtype, Optimizer.ADAM),
        footprint(analysis, 1, Dtype.FLOAT32, Optimizer.SGD),
        kept_parts(analysis, batch, dtype),
        [f.as_json() for f in fields.layers],
        [r.as_json() for r in analysis.rows],
    )


def same_network_built_alone(network: Network) -> Network:
    return dataclasses.replace(network, layers=rebuilt(network.layers))


@pytest.mark.parametrize("name", zoo.bundled_names())
def test_every_bundled_model_computes_the_same_with_layers_placed_or_built_alone(name):
    network = zoo.load(name)
    assert every_stage(network) == every_stage(same_network_built_alone(network))


def test_layers_written_alike_share_one_token_and_others_do_not():
    network = parse_spec(textwrap.dedent("""
        input: 32x32x3
        layers:
          - conv: {filters: 8, kernel: 3, padding: 1}
          - relu
          - conv: {filters: 8, kernel: 3, padding: 1}
          - relu
          - conv: {filters: 8, kernel: 3, padding: 1, bias: false}
          - conv: {padding: 1, filters: 8, kernel: 3}
          - dropout: {p: 1}
          - dropout: {p: 1.0}
          - conv: {name: named, filters: 8, kernel: 3, padding: 1}
          - dropout: {p: 1}
          - dropout: {p: 1.0}
    """))
    conv1, relu1, conv2, relu2, no_bias, reordered, drop_int, drop_float, named, drop_int2, drop_float2 = network.layers
    assert alike(conv1) is alike(conv2) is alike(named) is not None
    assert alike(relu1) is alike(relu2) is not None
    assert alike(no_bias) is not alike(conv1)
    assert alike(drop_int) is alike(drop_int2) is not None and alike(drop_float) is alike(drop_float2) is not None
    assert alike(drop_int) is not alike(drop_float)  # 1 and 1.0 are equal in Python, not as written options
    assert alike(no_bias) is None and alike(reordered) is None  # written once each
    assert [n.path for n in network.layers] == ["0", "1", "2", "3", "4", "5", "6", "7", "named", "9", "10"]
    assert named.name == "named" and conv2.name is None
    assert named.pos.line == 12 and conv2.pos.line == 6
    assert conv1 != conv2 and dataclasses.replace(conv2, path="0") == conv1  # equality still sees the path


def test_layers_from_expressions_are_alike_when_their_values_are():
    network = parse_spec(textwrap.dedent("""
        input: 32x32x8
        blocks:
          unit:
            args: {width: null}
            layers:
              - conv: {name: conv, filters: $width, kernel: 3, padding: 1}
              - relu: {name: relu}
        layers:
          - unit: {width: 8}
          - unit: {width: 16}
          - unit: {width: 8}
    """))
    convs = [r.node for r in analyse(network).rows if r.kind == "conv"]
    assert [c.filters for c in convs] == [8, 16, 8]
    # written with an expression, the same values make the same layer: uses 0 and 2 share one, use 1 does not
    assert alike(convs[0]) is alike(convs[2]) is not None and alike(convs[1]) is not alike(convs[0])
    assert convs[0] == dataclasses.replace(convs[2], path="0.conv")
    rows = {r.path: r for r in analyse(network).rows}
    assert rows["2.conv"].params == 8 * 16 * 9 + 8 and rows["1.conv"].params == 16 * 8 * 9 + 16


def test_a_warning_is_reported_for_every_line_that_earns_it():
    # the same written layer leaves input pixels unread on 22×22 and again on its 7×7 output, and not on 2×2:
    # the first two lines are warned about, the third is not
    text = textwrap.dedent("""
        input: 22x22x1
        layers:
          - conv: {filters: 1, kernel: 2, stride: 3}
          - conv: {filters: 1, kernel: 2, stride: 3}
          - conv: {filters: 1, kernel: 2, stride: 3}
    """)
    network = parse_spec(text, file="w.yaml")
    warned = sorted(w.pos.line for w in analyse(network).warnings)
    alone = sorted(w.pos.line for w in analyse(same_network_built_alone(network)).warnings)
    assert warned == alone == [4, 5]


def test_an_error_names_the_layer_that_fails_not_the_one_built_first():
    text = textwrap.dedent("""
        input: 8x8x1
        layers:
          - conv: {filters: 4, kernel: 3}
          - conv: {filters: 4, kernel: 3}
          - conv: {filters: 4, kernel: 3}
          - conv: {filters: 4, kernel: 3}
    """)
    with pytest.raises(CnnCalcError) as caught:
        analyse(parse_spec(text, file="e.yaml"))
    assert caught.value.layer == "3" and caught.value.pos.line == 7


@pytest.mark.parametrize("twice", [False, True], ids=["as-drawn", "twice"])
@pytest.mark.parametrize("seed", range(150))
def test_random_specs_compute_the_same_with_layers_placed_or_built_alone(seed, twice):
    import yaml

    doc, _ = random_spec(random.Random(seed))
    if twice and isinstance(doc.get("layers"), list):  # every layer written again, in a group of its own
        doc["layers"] = [{"sequential": {"layers": doc["layers"]}}, {"sequential": {"layers": doc["layers"]}}]
    try:
        network = parse_spec(yaml.safe_dump(doc, sort_keys=False))
    except CnnCalcError:
        return  # refused while reading: no layers to compare
    try:
        expected = every_stage(same_network_built_alone(network))
    except CnnCalcError as exc:
        with pytest.raises(CnnCalcError) as caught:
            every_stage(network)
        assert (caught.value.message, caught.value.layer) == (exc.message, exc.layer)
        return
    assert every_stage(network) == expected
