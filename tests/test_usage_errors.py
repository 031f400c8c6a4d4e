"""Command-line mistakes get cnncalc's `error:`/`hint:` form with a did-you-mean and exit 2, never
click's `Usage: … Error: Invalid value for …` block (issue 13, point 7)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer.main
from typer.testing import CliRunner

from cnncalc.cli.app import app


def run(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "100", "NO_COLOR": "1"})


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["quiz", "--topic", "convv"],
            "error: --topic: `convv` is not one of conv, pool, transposed, padding, params, macs, activations, receptive-field, pool-facts, network, memory, concat, residual, decoder, 1d-3d\n"
            "  hint: Did you mean `conv`? `cnncalc quiz -h` shows every option with an example\n",
        ),
        (
            ["table", "lenet5", "--dtype", "half"],
            "error: --dtype: `half` is not one of float32, float16, bfloat16, float64, int8\n"
            "  hint: Did you mean `float16`? `cnncalc table -h` shows every option with an example\n",
        ),
        (
            ["table", "lenet5", "--deph", "1"],
            "error: cnncalc table has no option --deph\n  hint: Did you mean `--depth`? `cnncalc table -h` shows every option with an example\n",
        ),
        (
            ["table", "lenet5", "--depth", "x"],
            "error: --depth: `x` is not a whole number\n"
            "  hint: write --depth N, a whole number from 1 to 9,223,372,036,854,775,807; `cnncalc table -h` shows every option with an example\n",
        ),
        (
            ["quiz", "-n", "0"],
            "error: --count: 0 is out of range\n  hint: --count takes a whole number from 1 to 100,000; `cnncalc quiz -h` shows every option with an example\n",
        ),
        (
            ["table"],
            "error: cnncalc table needs SPEC\n  hint: usage: cnncalc table [OPTIONS] SPEC; `cnncalc table -h` shows every option with an example\n",
        ),
        (["table", "lenet5", "--depth"], "error: --depth needs a value\n  hint: `cnncalc table -h` shows every option with an example\n"),
        (["tabel", "lenet5"], "error: no command `tabel`\n  hint: Did you mean `table`? `cnncalc --help` lists the commands\n"),
        (
            ["quiz", "--topic", "\x1b[31mred"],
            "error: --topic: `\\x1b[31mred` is not one of conv, pool, transposed, padding, params, macs, activations, receptive-field, pool-facts, network, memory, concat, residual, decoder, 1d-3d\n"
            "  hint: `cnncalc quiz -h` shows every option with an example\n",
        ),
    ],
    ids=["choice", "synonym", "option", "integer", "range", "missing", "no-value", "command", "escaped"],
)
def test_a_command_line_mistake_is_one_error_and_hint_with_exit_2(args, message):
    result = run(*args)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", message)


def _choice_options():
    for command in typer.main.get_command(app).commands.values():
        for param in command.params:
            if getattr(param.type, "choices", None) and param.opts[0].startswith("-"):
                yield command.name, param.opts[0]


@pytest.mark.parametrize("command, option", list(_choice_options()))
def test_every_choice_option_of_every_command_words_a_wrong_value_the_same_way(command, option):
    base = {"table": ["lenet5"], "receptive-field": ["lenet5"], "explain": ["lenet5", "--layer", "conv1"], "check": ["lenet5"], "show": ["lenet5"]}
    result = run(command, *base.get(command, []), option, "zzz")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {option if option.startswith('--') else ''}") and "`zzz` is not one of" in result.stderr
    assert "Usage:" not in result.output and "Invalid value" not in result.output


def test_help_and_a_bare_cnncalc_still_show_the_usage():
    assert run("--help").exit_code == 0
    bare = run()
    assert "Usage: cnncalc" in bare.output and bare.exit_code in (0, 2)


def test_the_installed_script_words_mistakes_the_same_way():
    done = subprocess.run([sys.executable, "-m", "cnncalc", "quiz", "--lang", "kr"], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "error: --lang: `kr` is not one of en, ko\n  hint: Did you mean `ko`? `cnncalc quiz -h` shows every option with an example\n"
