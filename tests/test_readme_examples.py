"""Every `$ cnncalc …` example in the README prints what the README shows.

The examples were pasted from real runs at 80 or 100 columns; each must still come out the
same at one of those widths (stderr merged in, as a terminal shows it). A line `…` in an
example stands for lines left out: the parts around it must appear, in order.
Examples that need files the README only describes, pipes, or unseeded quizzes are skipped.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def _examples() -> list[tuple[str, list[str]]]:
    found = []
    for block in re.findall(r"```console\n(.*?)```", README.read_text(encoding="utf-8"), re.S):
        lines = block.rstrip("\n").split("\n")
        starts = [i for i, line in enumerate(lines) if line.startswith("$ ")]
        for n, i in enumerate(starts):
            end = starts[n + 1] if n + 1 < len(starts) else len(lines)
            found.append((lines[i][2:], [line.rstrip() for line in lines[i + 1 : end]]))
    return found


def _runnable(command: str) -> bool:
    words = command.split()
    return (
        words[0] == "cnncalc"
        and not any(w.endswith(".yaml") or w in ("|", "&&", ";", ">") for w in words)
        and not (words[1:2] == ["quiz"] and "--seed" not in words)
    )


EXAMPLES = [(c, out) for c, out in _examples() if _runnable(c)]


def _contains_in_order(got: list[str], expected: list[str]) -> bool:
    segments: list[list[str]] = [[]]
    for line in expected:
        if line == "…":
            segments.append([])
        else:
            segments[-1].append(line)
    position = 0
    for segment in (s for s in segments if s):
        for start in range(position, len(got) - len(segment) + 1):
            if got[start : start + len(segment)] == segment:
                position = start + len(segment)
                break
        else:
            return False
    return True


def test_the_readme_has_runnable_examples_of_every_command_family():
    families = {c.split()[1] for c, _ in EXAMPLES}
    assert {"table", "check", "receptive-field", "layer", "explain", "solve", "compare"} <= families


@pytest.mark.parametrize("command, expected", EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_example_prints_what_the_readme_shows(command: str, expected: list[str]):
    args = command.split()[1:]
    outputs = []
    for width in ("80", "100"):
        env = dict(os.environ, COLUMNS=width, NO_COLOR="1", TERM="dumb")
        done = subprocess.run(
            [sys.executable, "-m", "cnncalc", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            timeout=120,
        )
        got = [line.rstrip() for line in done.stdout.rstrip("\n").split("\n")]
        while expected and expected[-1] == "":
            expected = expected[:-1]
        if (got == expected) if "…" not in expected else _contains_in_order(got, expected):
            return
        outputs.append(done.stdout)
    pytest.fail(f"`{command}` no longer prints what the README shows; at 100 columns it prints:\n{outputs[-1]}")


def _spec_blocks() -> list[tuple[str, bool]]:
    """Every complete spec in a ```yaml block (an `input` and `layers`, nothing left out with `…`), and
    whether the README shows it failing (the console block right after it prints an error)."""
    text = README.read_text(encoding="utf-8")
    found = []
    for match in re.finditer(r"```yaml\n(.*?)```", text, re.S):
        block = match.group(1)
        if "input:" in block and "layers:" in block and "…" not in block:
            after = text[match.end() : match.end() + 400]
            shows_error = after.lstrip().startswith("```console") and "\nerror:" in after.split("```console", 1)[1].split("```", 1)[0]
            found.append((block, shows_error))
    return found


@pytest.mark.parametrize("block, shows_error", _spec_blocks(), ids=lambda v: str(v)[:40] if isinstance(v, str) else str(v))
def test_every_spec_in_the_readme_is_read_and_analysed_as_it_says(block: str, shows_error: bool):
    from cnncalc.core.engine import analyse
    from cnncalc.errors import CnnCalcError
    from cnncalc.spec.parse import parse_spec

    if shows_error:
        with pytest.raises(CnnCalcError):
            analyse(parse_spec(block, file="readme.yaml"))
    else:
        assert analyse(parse_spec(block, file="readme.yaml")).rows


def test_the_readme_has_complete_specs_to_check():
    assert len(_spec_blocks()) >= 5
