"""Reuse (issue 13, point 4): `include:` embeds a group of another spec, bundled or a file, paths and all;
`trainable: false` on any group freezes what it holds (and `true` inside unfreezes a part again)."""

from __future__ import annotations

import textwrap

import pytest

from cnncalc.core.engine import analyse
from cnncalc.errors import CnnCalcError
from cnncalc.spec import zoo
from cnncalc.spec.parse import parse_file, parse_spec
from torch_build import cnncalc_shape, trace

FCN = """
    name: fcn
    input: 224x224x3
    layers:
      - include: {spec: vgg16, path: features, name: backbone, trainable: false}
      - conv: {name: score, filters: 21, kernel: 1}
      - upsample: {size_of: input, mode: bilinear}
"""


def parsed(text: str, file: str = "x.yaml"):
    return parse_spec(textwrap.dedent(text), file=file)


def test_an_included_backbone_is_the_bundled_group_under_its_new_name():
    fcn, vgg = analyse(parsed(FCN)), analyse(zoo.load("vgg16"))
    mine = {r.path.replace("backbone", "features", 1): (r.output, r.params, r.macs) for r in fcn.rows if r.path.startswith("backbone")}
    theirs = {r.path: (r.output, r.params, r.macs) for r in vgg.rows if r.path.startswith("features")}
    assert mine == theirs
    assert fcn.rows[0].path == "backbone" and fcn.rows[0].kind == "include"


def test_trainable_false_on_the_include_freezes_every_weight_in_it_and_nothing_else():
    totals = analyse(parsed(FCN)).totals
    assert totals.trainable_params == 21 * 512 + 21  # the score conv only
    assert totals.params - totals.trainable_params == 14_714_688  # VGG-16's features


def test_the_fcn_with_an_included_backbone_equals_torch_layer_by_layer():
    network = parsed(FCN.replace("224x224x3", "64x64x3"))
    traced = trace(network)
    for row in analyse(network).leaves():
        assert cnncalc_shape(row.output) == traced[row.path].output, row.path
        assert (row.params, row.trainable_params, row.macs) == (traced[row.path].params, traced[row.path].trainable_params, traced[row.path].macs), row.path


def test_an_included_file_is_found_beside_the_spec_and_its_from_edges_move_with_it(tmp_path):
    (tmp_path / "encoder.yaml").write_text(textwrap.dedent("""
        input: 32x32x3
        layers:
          - sequential:
              name: enc
              layers:
                - conv: {name: c1, filters: 8, kernel: 3, padding: 1}
                - add:
                    name: skip
                    branches:
                      - [conv: {name: c2, filters: 8, kernel: 3, padding: 1}]
                      - {from: enc.c1}
    """))
    (tmp_path / "net.yaml").write_text("input: 16x16x3\nlayers:\n  - include: {spec: encoder.yaml, path: enc, name: body}\n  - concat: {branches: [[], {from: body.c1}]}\n")
    network = parse_file(tmp_path / "net.yaml")
    paths = [r.path for r in analyse(network).leaves()]
    assert paths == ["body.c1", "body.c2", "body.skip", "1"]
    skip = network.layers[0].children[1]
    assert skip.sources == (None, "body.c1")
    assert analyse(network).rows[-1].output.channels == 16


@pytest.mark.parametrize(
    "text, message",
    [
        ("  - include: {spec: vgg16, path: featurs}\n", "vgg16 has no path `featurs`; did you mean `features`?"),
        ("  - include: {spec: vgg16x}\n", "'vgg16x' is neither a spec file nor a bundled model; did you mean `vgg16`?"),
        ("  - include: {path: features}\n", "include needs `spec`, a bundled model's name or a spec file"),
        ("  - include: {spec: vgg16, layers: 3}\n", "include has no option `layers`"),
        ("  - include: {spec: vgg16, trainable: nope}\n", "`trainable` of a group is true or false; got 'nope' (text)"),
    ],
)
def test_include_mistakes_are_clear(text, message):
    with pytest.raises(CnnCalcError) as caught:
        analyse(parse_spec("input: 32x32x3\nlayers:\n" + text, file="x.yaml"))
    assert message in caught.value.message


def test_an_include_cycle_is_refused(tmp_path):
    (tmp_path / "a.yaml").write_text("input: 8x8x3\nlayers:\n  - include: {spec: b.yaml}\n")
    (tmp_path / "b.yaml").write_text("input: 8x8x3\nlayers:\n  - include: {spec: a.yaml}\n")
    with pytest.raises(CnnCalcError) as caught:
        parse_file(tmp_path / "a.yaml")
    assert "include cycle" in caught.value.render()


GROUPS = """
    input: 16x16x3
    blocks:
      stage:
        args: {filters: null}
        layers:
          - conv: {name: conv, filters: $filters, kernel: 3, padding: 1}
          - batchnorm: {name: bn}
    layers:
      - sequential:
          name: backbone
          trainable: false
          layers:
            - stage: {name: s1, filters: 4}
            - stage: {name: s2, filters: 4, trainable: true}
            - conv: {name: own, filters: 4, kernel: 1, trainable: true}
      - add:
          name: res
          trainable: false
          branches: [[conv: {name: a, filters: 4, kernel: 1}], []]
      - repeat: 1
        name: rep
        trainable: false
        layers: [conv: {filters: 4, kernel: 1}]
      - global_avgpool
      - fc: {name: head, units: 2}
"""


def test_trainable_on_a_group_applies_to_the_layers_inside_and_the_innermost_setting_wins():
    rows = {r.path: r for r in analyse(parsed(GROUPS)).leaves()}
    frozen = {p for p, r in rows.items() if r.params and r.trainable_params == 0}
    trained = {p for p, r in rows.items() if r.params and r.trainable_params == r.params}
    assert frozen == {"backbone.s1.conv", "backbone.s1.bn", "a", "rep.0"}
    assert trained == {"backbone.s2.conv", "backbone.s2.bn", "backbone.own", "head"}


def test_group_trainable_matches_torch_requires_grad():
    network = parsed(GROUPS)
    traced = trace(network)
    for row in analyse(network).leaves():
        assert row.trainable_params == traced[row.path].trainable_params, row.path


def test_the_readme_shows_what_the_fcn_example_prints(tmp_path):
    import re
    import subprocess
    import sys
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    spec = re.search(r"```yaml\n(# yaml-language-server[^\n]*\nname: fcn_vgg16\n.*?)```", readme, re.S).group(1)
    (tmp_path / "fcn_vgg16.yaml").write_text(spec)
    shown = readme.split("$ cnncalc table fcn_vgg16.yaml --depth 1\n", 1)[1].split("\n…\n", 1)[0].split("\n")
    done = subprocess.run(
        [sys.executable, "-m", "cnncalc", "table", "fcn_vgg16.yaml", "--depth", "1"],
        capture_output=True, text=True, cwd=tmp_path, env={"COLUMNS": "80", "NO_COLOR": "1", "PATH": ""}, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[: len(shown)] == shown
