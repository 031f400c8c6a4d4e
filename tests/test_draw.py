"""`cnncalc draw` (issue 16), checked as a person would see the picture: well-formed SVG with a title and a
description, every label inside the canvas, no two boxes on top of each other, the labels exactly the table's
shapes, the same bytes for the same spec, and goldens (`pytest --regen-golden` rewrites them; the README
shows them)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cnncalc.render.svg import Rect, text_width

SVG = "{http://www.w3.org/2000/svg}"
GOLDEN = Path(__file__).parent / "golden"
SHAPE = re.compile(r"^\d+(×\d+)*$|^\d{1,3}(,\d{3})*$")


def draw(cli, *args: str) -> str:
    result = cli("draw", *args, "-o", "-")
    assert result.exit_code == 0, result.output
    return result.stdout


def parse(svg: str) -> tuple[ET.Element, Rect]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img" and root.find(f"{SVG}title").text and root.find(f"{SVG}desc").text
    x, y, w, h = (float(v) for v in root.get("viewBox").split())
    assert (float(root.get("width")), float(root.get("height"))) == (w, h)
    return root, Rect(x, y, w, h)


def texts(root: ET.Element) -> list[tuple[str, Rect]]:
    out = []
    for t in root.iter(f"{SVG}text"):
        size, x, y = float(t.get("font-size")), float(t.get("x")), float(t.get("y"))
        width = text_width(t.text, size)
        left = {"start": x, "middle": x - width / 2, "end": x - width}[t.get("text-anchor")]
        out.append((t.text, Rect(left, y - size * 0.8, width, size)))
    return out


def boxes(root: ET.Element) -> list[Rect]:
    """The drawn boxes: every filled rectangle but the background (a highlight's outline has no fill)."""
    rects = [r for r in root.iter(f"{SVG}rect") if r.get("fill") not in ("none", "#ffffff")]
    return [Rect(*(float(r.get(k)) for k in ("x", "y", "width", "height"))) for r in rects]


def check_picture(svg: str) -> ET.Element:
    root, canvas = parse(svg)
    assert "http://" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "") and "<image" not in svg
    assert set(re.findall(r"url\(([^)]*)\)", svg)) <= {"#arrow"}  # nothing outside the file
    for text, where in texts(root):
        assert where.inside(canvas), f"{text!r} at {where} is outside {canvas}"
    drawn = boxes(root)
    for i, a in enumerate(drawn):
        for b in drawn[i + 1 :]:
            assert not a.overlaps(b), f"{a} overlaps {b}"
    return root


# ----------------------------------------------------------------------------- boxes


@pytest.mark.parametrize("name", ["lenet5", "alexnet", "vgg16", "m5", "r3d_18_chain"])
def test_boxes_are_valid_inside_the_canvas_and_apart(cli, tmp_path, name):
    if name == "r3d_18_chain":  # a 3-D chain: depth noted under each box
        spec = tmp_path / "video.yaml"
        spec.write_text("input: 16x112x112x3\nlayers:\n  - conv: {filters: 64, kernel: [3, 7, 7], stride: [1, 2, 2], padding: [1, 3, 3]}\n"
                        "  - relu\n  - maxpool: {kernel: 2}\n  - global_avgpool\n  - flatten\n  - fc: {units: 400}\n", encoding="utf-8")
        svg = draw(cli, str(spec), "--style", "boxes")
        assert "depth 16" in svg
    else:
        svg = draw(cli, name, "--style", "boxes")
    check_picture(svg)


def test_the_labels_under_the_boxes_are_the_tables_shapes(cli):
    svg = draw(cli, "lenet5")
    root = check_picture(svg)
    labels = [t for t, where in sorted(texts(root), key=lambda tw: tw[1].x) if SHAPE.match(t)]
    table = json.loads(cli("table", "lenet5", "--format", "json").stdout)
    drawn = [table["input"]] + [row["output"] for row in table["layers"] if row["kind"] not in ("tanh",)]

    def written(shape: dict) -> str:
        if "features" in shape:
            return f"{shape['features']:,}"
        return "×".join(str(shape[k]) for k in ("height", "width", "channels"))

    assert labels == [written(s) for s in drawn]
    assert labels == ["32×32×1", "28×28×6", "14×14×6", "10×10×16", "5×5×16", "400", "120", "84", "10"]
    assert "conv 5×5 s1 · tanh" in svg and "avg 2×2 s2" in svg and "fc 120 · tanh" in svg


def test_highlight_marks_the_layer_and_its_receptive_field_on_the_input(cli):
    svg = draw(cli, "alexnet", "--highlight", "conv5")
    check_picture(svg)
    assert "receptive field of one unit of conv5: 163×163" in svg  # cnncalc receptive-field alexnet says 163
    rf = json.loads(cli("receptive-field", "alexnet", "--format", "json").stdout)
    (conv5,) = [row for row in rf["layers"] if row["path"] == "conv5"]
    assert conv5["receptive_field"] == {"height": 163, "width": 163}


def test_the_same_spec_gives_the_same_bytes(cli):
    assert draw(cli, "vgg16") == draw(cli, "vgg16")
    assert draw(cli, "googlenet", "--depth", "3") == draw(cli, "googlenet", "--depth", "3")


# ----------------------------------------------------------------------------- graph


@pytest.mark.parametrize("name,depth", [("resnet18", None), ("resnet50", "2"), ("resnet50", "3"), ("googlenet", "3"), ("densenet121", "3"),
                                        ("unet", None), ("unet_padded", None), ("inception_v3", "2"), ("fcn_resnet50", "2")])
def test_graphs_are_valid_and_nothing_overlaps(cli, name, depth):
    svg = draw(cli, name, *(("--depth", depth) if depth else ()))
    root = check_picture(svg)
    assert root.find(f"{SVG}title").text.startswith(name)


def test_skips_and_branches_are_drawn(cli):
    """ResNet-18: an identity skip in each basic block but the three that downsample (a projection branch
    instead), one merge node each; GoogLeNet's Inception modules put their four branches side by side; the
    U-Net's four skips are `from:` edges, and the up-convolution goes straight into each concat."""
    resnet = draw(cli, "resnet18")
    assert resnet.count('stroke="#2b8a3e"') == 8 - 3
    assert resnet.count(">+</text>") == 8
    googlenet = draw(cli, "googlenet", "--depth", "3")
    assert googlenet.count(">concat</text>") == 9
    unet = draw(cli, "unet")
    assert unet.count('stroke="#2b8a3e"') == 4 and unet.count(">concat</text>") == 4


def test_graph_is_the_default_with_merges_and_boxes_without(cli):
    assert "<polygon" in draw(cli, "lenet5") and "<polygon" not in draw(cli, "resnet18")
    assert "<polygon" in draw(cli, "resnet18", "--style", "boxes")  # asked for: the main path's maps


@pytest.mark.parametrize("name,args", [("lenet5", ()), ("alexnet", ("--highlight", "conv5")), ("resnet18", ("--depth", "3"))])
def test_goldens(cli, regen_golden, name, args):
    svg = draw(cli, name, *args)
    path = GOLDEN / f"draw_{name}.svg"
    if regen_golden:
        path.write_text(svg, encoding="utf-8")
    assert svg == path.read_text(encoding="utf-8"), f"{path.name} changed; `pytest tests/test_draw.py --regen-golden` rewrites it"


# ----------------------------------------------------------------------------- the command line


def test_draw_writes_a_file_whole(cli, tmp_path):
    target = tmp_path / "lenet5.svg"
    result = cli("draw", "lenet5", "-o", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert target.read_text(encoding="utf-8") == draw(cli, "lenet5")


def test_draw_errors(cli, tmp_path):
    wrong = cli("draw", "lenet5", "-o", "-", "--highlight", "conv9")
    assert wrong.exit_code == 2 and wrong.stdout == ""
    assert "error: lenet5 has no layer `conv9`; did you mean `conv2` or `conv1`?" in wrong.stderr
    nowhere = cli("draw", "lenet5", "-o", str(tmp_path / "missing" / "x.svg"))
    assert nowhere.exit_code == 2 and "cannot write" in nowhere.stderr
    missing_output = cli("draw", "lenet5")
    assert missing_output.exit_code == 2 and "--output" in missing_output.stderr


def test_every_bundled_model_draws_in_both_styles():
    """Every bundled network, as boxes and as a graph (full and two levels deep), with a highlight: valid
    pictures whose boxes do not overlap."""
    from cnncalc.core.engine import analyse
    from cnncalc.core.receptive import receptive_fields
    from cnncalc.render import draw as pictures
    from cnncalc.spec import zoo

    for name in zoo.bundled_names():
        network = zoo.load(name)
        analysis = analyse(network)
        middle = analysis.leaves()[len(analysis.leaves()) // 2].path
        fields = receptive_fields(network, analysis=analysis)
        for svg in (pictures.draw_boxes(analysis, middle, fields), pictures.draw_graph(analysis, 2, middle)):
            check_picture(svg)
