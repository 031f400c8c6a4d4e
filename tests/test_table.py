"""`cnncalc table`: rendering at 80 columns, every option, golden outputs, real processes.

Golden files (tests/golden/*.txt, *.md, *.csv) pin the presentation; the numbers inside
them are checked against real torch layers by `test_golden_specs_match_torch`, so a golden
file never carries a number that only cnncalc vouches for. Rewrite them after an intended
change of presentation with `pytest tests/test_table.py --regen-golden` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnncalc.spec import zoo
from cnncalc.cli.app import app
from cnncalc.core.engine import analyse
from cnncalc.spec.parse import parse_file

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_SPECS = ["residual", "decoder"]
ANSI = re.compile(r"\x1b\[")


def run(*args: str, columns: int = 80, env: dict | None = None):
    """The typer app in-process with a terminal of `columns` and no colour (stdout and stderr apart)."""
    runner = CliRunner()
    environment = {"COLUMNS": str(columns), "NO_COLOR": "1", "TERM": "dumb", **(env or {})}
    return runner.invoke(app, list(args), env=environment)


def json_doc(*args: str) -> dict:
    result = run("table", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --------------------------------------------------------------------------- golden files


@pytest.mark.parametrize("name", GOLDEN_SPECS)
@pytest.mark.parametrize("fmt,suffix,extra", [("table", "table.txt", ()), ("markdown", "md", ()), ("csv", "csv", ()), ("table", "depth1.txt", ("--depth", "1"))])
def test_golden_output(name, fmt, suffix, extra, regen_golden):
    spec = str(GOLDEN / f"{name}.yaml")
    result = run("table", spec, "--format", fmt, *extra)
    assert result.exit_code == 0, result.output
    # the spec's path is machine-specific; nothing in the output may depend on it
    golden = GOLDEN / f"{name}.{suffix}"
    if regen_golden:
        golden.write_text(result.stdout, encoding="utf-8")
    assert golden.exists(), f"missing {golden}; run pytest with --regen-golden"
    assert result.stdout == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", GOLDEN_SPECS)
def test_golden_specs_match_torch(name):
    """Every leaf of the golden specs has torch's shape and parameter count (so the goldens do)."""
    pytest.importorskip("torch")
    from torch_build import trace

    network = parse_file(GOLDEN / f"{name}.yaml")
    traced = trace(network, device="cpu")
    analysis = analyse(network)
    for row in analysis.leaves():
        t = traced[row.path]
        expected = (row.output.height, row.output.width, row.output.channels) if hasattr(row.output, "height") else (row.output.features,)
        assert t.output == expected, row.path
        assert t.params == row.params, row.path


# --------------------------------------------------------------------------- 80 columns


def bundled(name: str) -> str:
    assert zoo.bundled_path(name) is not None, f"{name} should be bundled (specs/{name}.yaml)"
    return name


@pytest.mark.parametrize("columns", [80, 100, 60])
@pytest.mark.parametrize("model", ["resnet50", "densenet121", "googlenet", "vgg16"])
def test_table_never_wraps(model, columns):
    """One line per row, none longer than the terminal: columns are dropped or numbers shortened instead."""
    bundled(model)
    analysis = analyse(zoo.load(model))
    result = run("table", model, columns=columns)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    # title, header, rule, one line per row (blocks and leaves), then the footer
    assert len(lines) >= 3 + len(analysis.rows)
    body = lines[3 : 3 + len(analysis.rows)]
    assert [line.split()[0] for line in body] == [r.path.rsplit(".", 1)[-1] if r.depth > 1 else r.path for r in analysis.rows]


def test_80_columns_keeps_exact_numbers_for_resnet50():
    result = run("table", "resnet50", columns=80)
    first = next(line for line in result.stdout.splitlines() if line.startswith("conv1"))
    assert "9,408" in first and "118,013,952" in first  # 7*7*3*64 and 112*112*64*7*7*3


def test_narrow_terminal_drops_geometry_then_kind():
    wide = run("table", "resnet50", columns=120).stdout.splitlines()[1]
    mid = run("table", "resnet50", columns=70).stdout.splitlines()[1]
    narrow = run("table", "resnet50", columns=50).stdout.splitlines()[1]
    assert "k/s/p" in wide and "Kind" in wide
    assert "k/s/p" not in mid
    assert "Kind" not in narrow and "Params" in narrow and "MACs" in narrow


def test_layer_column_is_indented_by_nesting():
    lines = run("table", str(GOLDEN / "residual.yaml")).stdout.splitlines()
    assert any(line.startswith("stage1 ") for line in lines)
    assert any(line.startswith("  0 ") for line in lines)  # stage1.0
    assert any(line.startswith("    conv1 ") for line in lines)  # stage1.0.conv1
    assert any(line.startswith("    0 ") for line in lines)  # down.shortcut.0


def test_footer_totals_match_hand_arithmetic():
    # decoder.yaml: conv_transpose 4*4*4*8 + 8 = 520; grouped conv 3*3*(8/2)*2 + 2 = 74; fc 84*3 + 3 = 255 (frozen)
    out = run("table", str(GOLDEN / "decoder.yaml")).stdout
    footer = dict(re.findall(r"^(\S.*?)\s{2,}(\S.*)$", out, flags=re.M))
    assert footer["Total params"] == f"{520 + 74 + 255:,}"
    assert footer["Trainable params"] == f"{520 + 74:,}"
    assert footer["Non-trainable params"] == "255"


# --------------------------------------------------------------------------- options


def test_depth_collapses_blocks_into_their_sums():
    full = json_doc("resnet18")
    top = json_doc("resnet18", "--depth", "1")
    blocks = {e["path"]: e for e in top["layers"] if e["block"]}
    assert set(blocks) == {"layer1", "layer2", "layer3", "layer4"}
    for path, block in blocks.items():
        inside = [e for e in full["layers"] if e["path"].startswith(path + ".")]
        assert block["params"] == sum(e["params"] for e in inside)
        assert block["macs"] == sum(e["macs"] for e in inside)
        assert block["output"] == inside[-1]["output"]
    table = run("table", "resnet18", "--depth", "1").stdout
    assert "layer1.0" not in table and "conv1" in table


def test_input_override_changes_shapes():
    doc = json_doc("resnet18", "--input", "320x160x3")
    conv1 = doc["layers"][0]
    assert doc["input"] == {"height": 320, "width": 160, "channels": 3}
    assert conv1["output"] == {"height": 160, "width": 80, "channels": 64}  # (320 + 6 - 7)//2 + 1
    assert doc["totals"]["params"] == json_doc("resnet18")["totals"]["params"]  # global pool: params do not change


def test_batch_and_dtype_scale_the_memory():
    base = json_doc(str(GOLDEN / "decoder.yaml"))["totals"]
    scaled = json_doc(str(GOLDEN / "decoder.yaml"), "--batch", "8", "--dtype", "float16")["totals"]
    assert base["input_bytes"] == 8 * 6 * 4 * 4  # one 8x6x4 float32 sample
    assert scaled["input_bytes"] == 8 * 8 * 6 * 4 * 2
    assert scaled["parameter_bytes"] == base["parameter_bytes"] // 2  # float16, and batch does not matter
    assert scaled["activation_bytes_inference"] == base["activation_bytes_inference"] * 8 // 2
    assert scaled["activation_bytes_training"] == base["activation_bytes_training"] * 8 // 2
    table = run("table", str(GOLDEN / "decoder.yaml"), "--batch", "8", "--dtype", "float16").stdout
    assert "Input (8 × 8x6x4, float16)" in table


def test_chw_prints_pytorch_order():
    csv_text = run("table", str(GOLDEN / "decoder.yaml"), "--format", "csv", "--chw").stdout
    assert "\n0,conv_transpose,false,1,8x16x12," in csv_text
    table = run("table", str(GOLDEN / "decoder.yaml"), "--chw").stdout
    assert "input 4x8x6 (C×H×W)" in table and "8x16x12" in table


def test_every_format_works_on_every_bundled_model():
    for name in zoo.bundled_names():
        for fmt in ("table", "json", "csv", "markdown"):
            result = run("table", name, "--format", fmt, columns=100)
            assert result.exit_code == 0, (name, fmt, result.output)
            assert result.stdout.strip()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--format", "xml"], "xml"),
        (["--depth", "0"], "depth"),
        (["--batch", "0"], "batch"),
        (["--input", "3x3x3x3x3"], "--input"),
        (["--dtype", "float8"], "float8"),
    ],
)
def test_bad_options_exit_2_with_nothing_on_stdout(args, message):
    result = run("table", "resnet18", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_unknown_spec_suggests_a_bundled_name():
    result = run("table", "resnet5")
    assert result.exit_code == 2 and result.stdout == ""
    assert "resnet50" in result.stderr


# --------------------------------------------------------------------------- real processes


def installed_script() -> str:
    script = shutil.which("cnncalc", path=str(Path(sys.executable).parent)) or shutil.which("cnncalc")
    assert script is not None, "the cnncalc console script is not installed: run the README's `pip install -e '.[test]'`"
    return script


def clean_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "TERM")}
    env.update(extra)
    return env


def test_installed_script_prints_json():
    model = "lenet5" if zoo.bundled_path("lenet5") else "resnet18"
    done = subprocess.run([installed_script(), "table", model, "--format", "json"], capture_output=True, text=True, env=clean_env(), timeout=60)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["name"] == model and doc["layers"]


def test_python_dash_m_runs_the_same_cli():
    done = subprocess.run([sys.executable, "-m", "cnncalc", "table", "resnet50", "--format", "json"], capture_output=True, text=True, env=clean_env(), timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["totals"]["params"] == 25_557_032  # torchvision resnet50


def test_piped_output_is_plain_text_at_80_columns():
    done = subprocess.run([installed_script(), "table", "resnet50"], capture_output=True, text=True, env=clean_env(), timeout=60)
    assert done.returncode == 0, done.stderr
    assert not ANSI.search(done.stdout)
    assert max(len(line) for line in done.stdout.splitlines()) <= 80


def _on_a_terminal(env: dict) -> str:
    """Run the table with stdout on a pseudo-terminal, as a user's shell would; return what it wrote."""
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([installed_script(), "table", "resnet18", "--depth", "1"], stdout=slave, stderr=subprocess.PIPE, env=env)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # the terminal closes when the process exits
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=60)
    finally:
        os.close(master)
    assert proc.returncode == 0
    return b"".join(chunks).decode("utf-8", "replace")


def test_terminal_gets_bold_block_rows_but_not_with_no_color():
    styled = _on_a_terminal(clean_env(TERM="xterm-256color", COLUMNS="100"))
    assert ANSI.search(styled)  # the check below could fail: on a terminal, block rows are bold
    plain = _on_a_terminal(clean_env(TERM="xterm-256color", COLUMNS="100", NO_COLOR="1"))
    assert not ANSI.search(plain)
    assert "layer1" in plain


INCEPTION_MODULE = """\
input: 28x28x192
layers:
  - concat:
      branches:
        - [conv: {filters: 64, kernel: 1}]
        - [conv: {filters: 96, kernel: 1}, relu, conv: {filters: 128, kernel: 3, padding: 1}]
        - [maxpool: {kernel: 3, stride: 1, padding: 1}, conv: {filters: 32, kernel: 1}]
  - conv: {filters: 8, kernel: 3}
"""


def test_unnamed_branches_are_groups_under_the_merge_and_keep_the_lists_positions(tmp_path):
    spec = tmp_path / "inception_module.yaml"
    spec.write_text(INCEPTION_MODULE)
    rows = [(r["path"], r["kind"]) for r in json_doc(str(spec))["layers"]]
    assert rows == [  # the layers; the groups are rows of the table (below) and of --depth
        ("0.branch0.0", "conv"),
        ("0.branch1.0", "conv"), ("0.branch1.1", "relu"), ("0.branch1.2", "conv"),
        ("0.branch2.0", "maxpool"), ("0.branch2.1", "conv"),
        ("0", "concat"), ("1", "conv"),
    ]
    assert [r["path"] for r in json_doc(str(spec), "--depth", "1")["layers"]] == ["0.branch0", "0.branch1", "0.branch2", "0", "1"]
    table = run("table", str(spec), columns=100).stdout.split("\n")
    assert table[3].startswith("0.branch0  branch") and table[4].startswith("  0        conv")
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    shown = readme.split("$ cnncalc table inception_module.yaml\n", 1)[1].split("\n…\n", 1)[0].split("\n")
    assert [line.rstrip() for line in table[1 : 1 + len(shown)]] == shown, "the README shows this table"
    spec.write_text(INCEPTION_MODULE.replace("kernel: 3}\n", "kernel: 99}\n"))
    failed = run("table", str(spec))
    assert failed.exit_code == 2 and failed.stderr.startswith(f"error: {spec}:8:5: layer 1: the kernel must fit")


def test_a_branch_whose_layers_are_all_named_keeps_them_beside_the_merge(tmp_path):
    spec = tmp_path / "residual.yaml"
    spec.write_text("input: 8x8x4\nlayers:\n  - add:\n      branches:\n        - [conv: {name: conv1, filters: 4, kernel: 3, padding: 1}, relu: {name: relu1}]\n        - []\n")
    assert [r["path"] for r in json_doc(str(spec))["layers"]] == ["conv1", "relu1", "2"]
