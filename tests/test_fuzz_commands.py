"""Grammar-generated specs through every spec-reading command, in-process, as the CLI runs them.

tests/spec_grammar.py writes specs with every structure (blocks with arguments and expressions, `when:`,
repeat, sequential, add/concat/multiply with `from:` branches, side outputs, frozen groups), every layer
kind the registry knows with its own options, and odd values anywhere. Each spec goes through the command
functions themselves (`table` in every format, `check`, `receptive-field` in every format with --explain,
--draw and --layer, `explain --layer`, and `table --input`): each run must end with exit 0 or 2 (a clear
user error), never 70 (cnncalc's own bug), print no control character but newline, and take little time.

The default run is 2,500 specs × 8 command runs = 20,000 cases (about a minute). A longer hunt:

    CNNCALC_FUZZ_SCALE=10 pytest tests/test_fuzz_commands.py    # 200,000 runs over 25,000 specs
    CNNCALC_FUZZ_SEED=7 …                                        # other specs than CI's
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import re
import time

import typer
import pytest
import yaml

from cnncalc.cli import app as cli
from cnncalc.enums import Dtype, OutputFormat, WorkFormat
from spec_grammar import random_spec

SCALE = int(os.environ.get("CNNCALC_FUZZ_SCALE", "1"))
SEED = int(os.environ.get("CNNCALC_FUZZ_SEED", "0"))
SPECS_PER_CHUNK = 250
CHUNKS = 10 * SCALE
SECONDS_PER_SPEC = 2.0
# What may reach a terminal: printable text, newlines, and the tab of no command (none prints one).
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def run(command, **options) -> tuple[int, str, str]:
    """A command function called as typer would: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            command(**options)
        except typer.Exit as done:
            code = done.exit_code
    return code, out.getvalue(), err.getvalue()


def commands(path: str, names: list[str], rng: random.Random):
    """The eight runs of one spec: (label, command function, options)."""
    some_path = rng.choice(names) if names and rng.random() < 0.8 else rng.choice(["0", "nope", "a.b.c", "\x1b[2J"])
    formats = list(OutputFormat)
    yield "table", cli.table_command, dict(
        spec=path, depth=rng.choice([None, 1, 2]), input=None, batch=rng.choice([1, 32]), dtype=rng.choice(list(Dtype)),
        format=rng.choice(formats), chw=rng.random() < 0.3,
    )
    yield "table-json", cli.table_command, dict(spec=path, depth=None, input=None, batch=1, dtype=Dtype.FLOAT32, format=OutputFormat.JSON, chw=False)
    yield "check", cli.check_command, dict(specs=[path], input=None, quiet=False)
    yield "receptive-field", cli.receptive_field_command, dict(
        spec=path, layer=None, input=None, format=rng.choice(formats), explain=rng.random() < 0.5, draw=rng.random() < 0.5
    )
    yield "receptive-field-layer", cli.receptive_field_command, dict(
        spec=path, layer=some_path, input=None, format=OutputFormat.TABLE, explain=rng.random() < 0.5, draw=True
    )
    yield "explain", cli.explain_command, dict(spec=path, layer=some_path, input=None, dtype=Dtype.FLOAT16, format=rng.choice(list(WorkFormat)))
    yield "explain-input", cli.explain_command, dict(spec=path, layer=some_path, input=rng.choice(["9x9x2", "20x4", "3x8x8x1"]), dtype=Dtype.FLOAT32, format=WorkFormat.TABLE)
    yield "table-input", cli.table_command, dict(
        spec=path, depth=None, input=rng.choice(["7x7x3", "1x1x1", "64x3", "2x9x9x2", "0x1x1", "3x224x224"]), batch=1,
        dtype=Dtype.FLOAT32, format=OutputFormat.TABLE, chw=False,
    )


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_generated_specs_through_every_command_end_in_success_or_a_clear_error(chunk, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("NO_COLOR", "1")
    rng = random.Random(f"{SEED}-{chunk}")
    path = str(tmp_path / "fuzz.yaml")
    outcomes = {0: 0, 2: 0}
    for _ in range(SPECS_PER_CHUNK):
        doc, names = random_spec(rng)
        # JSON is YAML: odd floats (nan, inf) and every string survive as the YAML reader sees them
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True) if rng.random() < 0.7 else json.dumps(doc)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        start = time.process_time()  # CPU time: the suite shares the cores (pytest-xdist), the work does not change
        for label, command, options in commands(path, names, rng):
            code, out, err = run(command, **options)
            assert code in outcomes, f"{label} exit {code}:\n{err}\n--- spec:\n{text}"
            outcomes[code] += 1
            bad = CONTROL.search(out + err)
            assert bad is None, f"{label} printed {bad.group()!r}:\n{(out + err)[max(0, bad.start() - 80):bad.end() + 80]!r}\n--- spec:\n{text}"
        seconds = time.process_time() - start
        assert seconds < SECONDS_PER_SPEC, f"{seconds:.2f} s for one spec:\n{text}"
    # the grammar must reach the engine, not only the reader's errors
    assert outcomes[0] > SPECS_PER_CHUNK, outcomes
