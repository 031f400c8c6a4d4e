"""Every command that works a spec or a layer out prints the engine's warnings to stderr, as `table` does.

The warnings themselves are checked against torch in test_errors.py; here: that receptive-field,
explain, layer and compare show them on stderr (with the file and layer), keep stdout clean of
them, and still exit 0.
"""

from __future__ import annotations

from pathlib import Path

# 8 + 2·0 − 3 = 5 is odd, so a stride of 2 leaves the last row and column unread: (5)/2 + 1 = 3.5 → 3
BORDER = "input: 8x8x1\nlayers:\n  - conv: {filters: 1, kernel: 3, stride: 2}\n  - relu\n"
BORDER_TEXT = "the last row and column of the 8×8 input are never read"


def _spec(tmp_path: Path) -> str:
    path = tmp_path / "border.yaml"
    path.write_text(BORDER)
    return str(path)


def _warned_once(result, file: str | None = None) -> None:
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("warning:") == 1
    assert BORDER_TEXT in result.stderr
    assert "warning" not in result.stdout
    if file is not None:
        assert result.stderr.startswith(f"warning: {file}:3:5: layer 0:")


def test_table_prints_the_warning_reference(cli, tmp_path):
    path = _spec(tmp_path)
    _warned_once(cli("table", path), path)


def test_receptive_field_prints_warnings(cli, tmp_path):
    path = _spec(tmp_path)
    result = cli("receptive-field", path)
    _warned_once(result, path)
    assert "relu" in result.stdout


def test_receptive_field_json_keeps_stdout_json(cli, tmp_path):
    import json

    path = _spec(tmp_path)
    result = cli("receptive-field", path, "--format", "json")
    _warned_once(result, path)
    assert json.loads(result.stdout)["layers"][0]["receptive_field"]["height"] == 3


def test_explain_prints_warnings(cli, tmp_path):
    path = _spec(tmp_path)
    result = cli("explain", path, "--layer", "1")
    _warned_once(result, path)


def test_layer_prints_warnings(cli):
    result = cli("layer", "conv", "--input", "8x8x1", "--filters", "1", "--kernel", "3", "--stride", "2")
    _warned_once(result)
    # no warning when the stride divides: 9 − 3 = 6 is even
    quiet = cli("layer", "conv", "--input", "9x9x1", "--filters", "1", "--kernel", "3", "--stride", "2")
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_compare_stack_prints_warnings(cli):
    # 50,000·50,000·64 = 160,000,000,000 output values per sample, far above 2^31
    result = cli("compare", "stack", "--input", "50000x50000x64", "--kernel", "5")
    assert result.exit_code == 0, result.stderr
    assert "warning: layer one.conv: an unusually large layer: its output holds 160,000,000,000 values" in result.stderr
    assert "warning: layer stack.conv1:" in result.stderr
    assert "warning" not in result.stdout
    quiet = cli("compare", "stack", "--input", "56x56x64", "--kernel", "5")
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_compare_bottleneck_prints_warnings(cli):
    # direct 5×5 conv: 50,000·50,000·32 = 80,000,000,000; the 1×1 reduce: 50,000·50,000·16 = 40,000,000,000
    result = cli("compare", "bottleneck", "--input", "50000x50000x192", "--filters", "32", "--kernel", "5", "--via", "16")
    assert result.exit_code == 0, result.stderr
    assert "layer direct.conv: an unusually large layer: its output holds 80,000,000,000 values" in result.stderr
    assert "layer bottleneck.reduce: an unusually large layer: its output holds 40,000,000,000 values" in result.stderr
    assert "warning" not in result.stdout
