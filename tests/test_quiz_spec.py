"""`cnncalc quiz --spec` (issue 17): problems about the layers of a teacher's own network or a bundled one,
every answer checked against torch — shapes, parameters and MACs from the built network's forward hooks,
memory from the tensors autograd saves — and receptive fields by the recurrence written out again here."""

from __future__ import annotations

import json
import textwrap
from functools import lru_cache

import pytest
import torch
from torch_build import build, trace
from torch_memory import saved_bytes

from cnncalc.enums import Ask, Lang
from cnncalc.model.layers import Merge, Sequential, Side
from cnncalc.quiz.problems import SPEC_BATCH, spec_problems
from cnncalc.quiz.text import question, solution
from cnncalc.spec import zoo
from cnncalc.spec.parse import parse_spec

TEACHER_SPEC = textwrap.dedent(
    """\
    name: lecture-7-net
    input: 64x64x3
    layers:
      - conv: {name: c1, filters: 16, kernel: 5, padding: 2}
      - relu
      - maxpool: {name: p1, kernel: 2}
      - conv: {name: c2, filters: 32, kernel: 3, stride: 2, dilation: 2, padding: 2}
      - batchnorm
      - relu
      - avgpool: {name: p2, kernel: 2}
      - flatten
      - fc: {name: out, units: 10}
    """
)


@lru_cache(maxsize=None)
def network_of(name: str):
    return parse_spec(TEACHER_SPEC, file="teacher.yaml") if name == "teacher" else zoo.load(name)


@lru_cache(maxsize=None)
def torch_facts(name: str):
    network = network_of(name)
    traced = trace(network)
    _, kept = saved_bytes(build(network, device="meta"), SPEC_BATCH, torch.float32)
    return traced, kept


def leaves_in_order(nodes):
    """Layers in the order torch runs them; a merge after its branches (their layers see a plain chain until it)."""
    for node in nodes:
        if isinstance(node, (Sequential, Side)):
            yield from leaves_in_order(node.children)
        elif isinstance(node, Merge):
            for branch in node.branches:
                yield from leaves_in_order(branch)
            yield node
        else:
            yield node


def written_out_field(name: str, path: str) -> int:
    """r ← r + d(k − 1)·j, j ← j·s over the network's sliding layers up to `path` (Araujo et al. 2019)."""
    r, j = 1, 1
    for node in leaves_in_order(network_of(name).layers):
        assert not isinstance(node, Merge), "a field is only asked through a plain chain (no merge before it)"
        if str(node.kind) in ("conv", "maxpool", "avgpool"):
            r += node.dilation[0] * (node.kernel[0] - 1) * j if str(node.kind) == "conv" else (node.kernel[0] - 1) * j
            j *= node.stride[0]
        if node.path == path:
            return r
    raise AssertionError(path)


@pytest.mark.parametrize("name", ["teacher", "lenet5", "alexnet", "vgg16", "resnet18", "googlenet", "densenet121"])
def test_every_spec_problem_is_right_by_torch(name):
    problems = spec_problems(network_of(name), name, name)
    traced, kept = torch_facts(name)
    asked = set()
    for p in problems:
        path, a = p.given["layer"], p.answer.value
        asked.add(p.ask)
        if p.ask is Ask.OUTPUT_SHAPE:
            out = traced[path].output
            assert a == (out if len(out) == 3 else out[0]), path
        elif p.ask is Ask.PARAMS:
            assert a == traced[path].params, path
        elif p.ask is Ask.MACS:
            assert a == traced[path].macs, path
        elif p.ask is Ask.RECEPTIVE_FIELD:
            assert a == written_out_field(name, path), path
        else:
            assert p.ask is Ask.SAVED_BYTES and p.given["batch"] == SPEC_BATCH and p.given["dtype"] == "float32"
            assert a == kept.get(path, 0) > 0, path
        for lang in Lang:
            assert question(p, lang) and solution(p, lang)
    assert asked == {Ask.OUTPUT_SHAPE, Ask.PARAMS, Ask.MACS, Ask.RECEPTIVE_FIELD, Ask.SAVED_BYTES}


def test_quiz_spec_asks_about_resnet18(cli):
    result = cli("quiz", "--spec", "resnet18", "-n", "10", "--seed", "1", "--format", "json")
    assert result.exit_code == 0, result.output
    problems = json.loads(result.stdout)
    assert len(problems) == 10
    assert all(p["given"]["network"] == "resnet18" and "ResNet-18" in p["question"] for p in problems)
    assert len({(p["given"]["layer"], p["ask"]) for p in problems}) == 10


def test_in_order_walks_the_layers_from_the_input(cli, tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text(TEACHER_SPEC, encoding="utf-8")
    result = cli("quiz", "--spec", str(spec), "--in-order", "-n", "19", "--format", "json")  # all of them
    problems = json.loads(result.stdout)
    order = ["c1", "p1", "c2", "p2", "out"]
    layers = [p["given"]["layer"] for p in problems]
    assert layers == sorted(layers, key=order.index)
    assert len(problems) == 19 and all("lecture-7-net (input 64×64×3)" in p["question"] for p in problems)


def test_spec_quiz_errors(cli, tmp_path):
    too_many = cli("quiz", "--spec", "lenet5", "-n", "500")
    assert too_many.exit_code == 2 and "error: only 24 different problems can be asked about this network; asked for 500" in too_many.stderr
    both = cli("quiz", "--spec", "lenet5", "--topic", "conv")
    assert both.exit_code == 2 and "--spec asks about that network's layers and --topic picks made-up problems" in both.stderr
    alone = cli("quiz", "--in-order")
    assert alone.exit_code == 2 and "--in-order walks the layers of the network given with --spec" in alone.stderr
    nothing = tmp_path / "act.yaml"
    nothing.write_text("input: 8x8x3\nlayers: [relu]\n", encoding="utf-8")
    empty = cli("quiz", "--spec", str(nothing))
    assert empty.exit_code == 2 and "has no convolution, pooling or fully connected layer on images to ask about" in empty.stderr
    missing = cli("quiz", "--spec", "no_such_net")
    assert missing.exit_code == 2 and "is neither a spec file nor a bundled model" in missing.stderr


def test_every_bundled_model_gives_problems_that_read_in_both_languages_and_export():
    import io

    from cnncalc.quiz import lms

    empty = []
    for name in zoo.bundled_names():
        problems = spec_problems(zoo.load(name), name, name)
        if not problems:
            empty.append(name)
        for lang in Lang:
            for p in problems:
                assert question(p, lang) and solution(p, lang)
            lms.write_moodle(problems, lang, io.StringIO())
            lms.write_gift(problems, lang, io.StringIO())
    assert empty == ["s3d"]  # a video network with no fc on a vector: nothing the texts derive (the CLI says so)
