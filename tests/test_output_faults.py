"""What the environment does to cnncalc's output is not a bug in cnncalc: real processes, real file descriptors.

- a reader that goes away: quiet, exit 141 (as `cat` and `git` under a shell);
- a full disk: one line on stderr, exit 74 (EX_IOERR);
- an output encoding without `×`, `−`, `⌊` or Hangul: ASCII spellings or \\u escapes, exit 0;
- any COLUMNS, from 0 to 10,000: the numbers whole;
- special files and odd file names: a clear error naming them, never a hang.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ENV = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "PYTHONIOENCODING")}
ENV["NO_COLOR"] = "1"


def cnncalc(*args: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cnncalc", *args], env={**ENV, **(env or {})}, timeout=60, **kwargs)


COMMANDS = {
    "table": ["table", "resnet50", "--format", "json"],
    "models": ["models"],
    "receptive-field": ["receptive-field", "resnet50", "--explain"],
    "quiz": ["quiz", "-n", "200", "--seed", "1", "--format", "text"],
    "version": ["--version"],
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_closed_pipe_ends_quietly_with_141(name):
    read, write = os.pipe()
    os.close(read)  # the reader is gone before cnncalc writes a byte
    try:
        result = cnncalc(*COMMANDS[name], stdout=write, stderr=subprocess.PIPE)
    finally:
        os.close(write)
    assert (result.returncode, result.stderr) == (141, b"")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_full_disk_is_one_line_and_exit_74(name):
    with open("/dev/full", "w") as full:
        result = cnncalc(*COMMANDS[name], stdout=full, stderr=subprocess.PIPE)
    assert result.returncode == 74
    assert result.stderr == b"error: cannot write the output: No space left on device\n"


ENCODED = {
    "table": ["table", "lenet5"],
    "receptive-field": ["receptive-field", "lenet5", "--layer", "conv2", "--explain"],
    "explain": ["explain", "lenet5", "--layer", "pool1"],
    "layer": ["layer", "maxpool", "--input", "7x7x3", "--kernel", "2", "--stride", "2", "--ceil-mode"],
    "solve": ["solve", "padding", "--input", "32", "--kernel", "5"],
    "quiz-ko": ["quiz", "-n", "5", "--seed", "3", "--lang", "ko", "--format", "markdown"],
    "error": ["table", "lenet5", "--input", "2x2x1"],
}


@pytest.mark.parametrize("encoding", ["ascii", "cp949", "latin-1", "cp1252"])
@pytest.mark.parametrize("name", sorted(ENCODED))
def test_an_encoding_without_the_symbols_gets_their_ascii_spellings(name, encoding):
    result = cnncalc(*ENCODED[name], env={"PYTHONIOENCODING": encoding}, capture_output=True)
    assert result.returncode == (2 if name == "error" else 0), result.stderr
    out, err = result.stdout.decode(encoding), result.stderr.decode(encoding)  # strictly: every byte is that encoding's
    utf8 = cnncalc(*ENCODED[name], env={"PYTHONIOENCODING": "utf-8"}, capture_output=True)
    if name == "error":
        assert err.startswith("error: ") and "Traceback" not in err
    if encoding == "ascii" and name != "quiz-ko":
        # cnncalc's own symbols have spellings: no escapes needed, and the text is the UTF-8 text spelled out
        assert "\\u" not in out
        assert "×" in utf8.stdout.decode() + utf8.stderr.decode() or name == "solve"
    if encoding == "cp949" and name == "quiz-ko":
        # Korean Windows shows the worksheet's Korean as it is (only symbols cp949 lacks, − and ⌊, are spelled)
        hangul = lambda text: [c for c in text if "가" <= c <= "힣"]  # noqa: E731
        assert hangul(out) == hangul(utf8.stdout.decode()) and hangul(out) and "\\u" not in out


@pytest.mark.parametrize("columns", ["0", "1", "20", "10000", "abc"])
def test_any_terminal_width_prints_every_number_whole(columns):
    for args, number in ((["table", "resnet18"], "11,689,512"), (["models", "resnet"], "1,814,073,344"), (["receptive-field", "resnet18"], "435")):
        result = cnncalc(*args, env={"COLUMNS": columns}, capture_output=True, text=True)
        assert result.returncode == 0 and result.stderr == ""
        assert number in result.stdout, (args, columns)
        assert not any(line.endswith("…") for line in result.stdout.splitlines())


def test_a_fifo_nobody_writes_to_is_an_empty_spec_not_a_hang(tmp_path: Path):
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    result = cnncalc("table", str(fifo), capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {fifo}: a spec is a YAML mapping with `input` and `layers`; this file is empty")


def test_a_spec_from_process_substitution_is_read():
    result = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m cnncalc table <(cat \"$SPEC\") --format csv"],
        env={**ENV, "SPEC": str(Path(__file__).resolve().parent.parent / "specs" / "lenet5.yaml")},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0 and result.stdout.startswith("path,kind")


def test_a_file_name_too_long_is_a_clear_error_and_check_goes_on():
    result = cnncalc("check", "a" * 300, "lenet5", capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: cannot read 'aaaa") and lines[0].endswith("…': File name too long")
    assert lines[-1] == "1 of 2 specs have errors"


def test_a_newline_in_a_file_name_cannot_forge_a_line():
    result = cnncalc("check", "a\nerror: forged", "lenet5", capture_output=True, text=True)
    assert result.returncode == 2
    assert not any(line.startswith("error: forged") for line in result.stderr.splitlines())
    assert "'a\\nerror: forged' is neither a spec file nor a bundled model" in result.stderr
