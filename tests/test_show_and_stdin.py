"""Reusing bundled specs (issue 13, points 4 and 6): `cnncalc show NAME` prints one, and `-` as SPEC reads a
spec from standard input, so `cnncalc show vgg16 | cnncalc table -` is `cnncalc table vgg16`."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cnncalc.spec import zoo

ENV = {**{k: v for k, v in os.environ.items() if k != "COLUMNS"}, "NO_COLOR": "1", "COLUMNS": "100"}


def cnncalc(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cnncalc", *args], input=input, capture_output=True, env=ENV, timeout=60)


@pytest.mark.parametrize("name", ["vgg16", "resnet50", "unet"])
def test_show_piped_into_table_equals_the_bundled_table(name):
    shown = cnncalc("show", name)
    assert shown.returncode == 0 and shown.stderr == b""
    assert shown.stdout.startswith(f"# cnncalc show {name}: the bundled spec".encode())
    header, modeline, body = shown.stdout.split(b"\n", 2)
    assert modeline == b"# yaml-language-server: $schema=cnncalc.schema.json"  # editors check it against `cnncalc schema`
    assert body == (zoo.specs_dir() / f"{name}.yaml").read_bytes()
    piped = cnncalc("table", "-", "--format", "json", input=shown.stdout)
    direct = cnncalc("table", name, "--format", "json")
    assert piped.returncode == 0 and piped.stdout == direct.stdout


def test_a_spec_from_stdin_is_named_stdin_in_errors(cli):
    result = cli("table", "-", input="input: 8x8x3\nlayers:\n  - conv: {filters: 4, kernel: 9}\n")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: <stdin>:3:5: layer 0: the kernel must fit inside the padded input")


def test_check_reads_stdin_too(cli):
    result = cli("check", "-", input="input: 8x8x3\nlayers: [relu]\n")
    assert result.exit_code == 0 and result.stdout == "-: ok (0 conv/fc of 1 layer, 0 params)\n"


def test_show_of_a_name_that_is_not_bundled_suggests_one(cli):
    result = cli("show", "resnet5O")
    assert result.exit_code == 2
    assert result.stderr == "error: 'resnet5O' is not a bundled model; did you mean `resnet50`?\n  hint: `cnncalc models` lists the bundled names\n"


def test_binary_on_stdin_is_refused_like_a_binary_file(cli):
    result = cli("table", "-", input="\x00\x01")
    assert result.exit_code == 2 and "binary file" in result.stderr
