"""Every option and argument of every command, given hostile values: the answer is a result or a clear
error (exit 0 or 2), never cnncalc's own failure (exit 70) or a traceback, and nothing printed holds a
control character (a value echoed in a message is shown escaped).

The commands and their options are read from the typer app itself, so a new option is fuzzed without
editing this file; BASES gives each command a valid invocation that one option at a time is changed in.
"""

from __future__ import annotations

import re

import pytest
import typer.main
from typer.testing import CliRunner

from cnncalc.cli.app import app, app_for

HOSTILE = [
    "0", "-1", "-0", "1" + "0" * 400, "9" * 5000, "9223372036854775807", "9223372036854775808", "1e400", "1e-400",
    "nan", "inf", "-inf", "0.5", "²", "١٢", "0x10", "", " ", "\x1b[31mred", "a\nerror: forged", "\u2028", "\x00",
    "[link=http://x]y[/link]", "[/x]", "x" * 5000, "3x3", "3x3x3x3x3", "same", "1,2,3,4,5,6,7,8", "none", "true",
]
# A valid invocation of each command (for `layer`, one per family of options), which each hostile value is put into.
BASES: dict[tuple[str, ...], list[list[str]]] = {
    ("table",): [["lenet5"]],
    ("models",): [[]],
    ("show",): [["vgg16"]],
    ("schema",): [[]],
    ("check",): [["lenet5"]],
    ("receptive-field",): [["lenet5"]],
    ("draw",): [["lenet5", "-o", "-"]],
    ("report",): [["lenet5", "-o", "-"]],
    ("explain",): [["lenet5", "--layer", "conv1"]],
    ("export",): [["lenet5", "--to", "pytorch", "-o", "-"]],
    ("verify",): [["lenet5"], ["lenet5", "--module", "model.py:Net"], ["lenet5", "--torch", "torch.nn:ReLU"]],
    ("import",): [["torch.nn:ReLU", "--input", "8x8x3", "-o", "-"]],
    ("layer",): [
        ["conv", "--input", "8x8x3", "--filters", "4", "--kernel", "3"],
        ["conv_transpose", "--input", "4x4x8", "--filters", "4", "--kernel", "3", "--stride", "2"],
        ["maxpool", "--input", "8x8x3", "--kernel", "2"],
        ["upsample", "--input", "4x4x1", "--scale", "2"],
        ["adaptive_avgpool", "--input", "9x9x2", "--output-size", "4"],
        ["fc", "--input", "10", "--units", "3"],
        ["dropout", "--input", "10", "--p", "0.5"],
        ["batchnorm", "--input", "4x4x2"],
        ["lrn", "--input", "4x4x8", "--size", "3"],
    ],
    ("quiz",): [["-n", "2", "--seed", "1", "--format", "json"]],
    ("solve", "padding"): [["--input", "32", "--kernel", "5"]],
    ("solve", "stride"): [["--input", "32", "--kernel", "5", "--output", "14"]],
    ("solve", "kernel"): [["--input", "32", "--output", "28"]],
    ("solve", "output-padding"): [["--input", "8", "--kernel", "3", "--stride", "2"]],
    ("compare", "bottleneck"): [["--input", "28x28x192", "--filters", "32", "--kernel", "5", "--via", "16"]],
    ("compare", "stack"): [["--input", "56x56x64", "--kernel", "5"]],
}
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _commands(command, path=()):
    subcommands = getattr(command, "commands", None)
    if subcommands:
        for name, sub in subcommands.items():
            yield from _commands(sub, (*path, name))
    else:
        yield path, command


COMMANDS = dict(_commands(typer.main.get_command(app)))


def test_every_command_has_a_base_invocation():
    assert set(COMMANDS) == set(BASES)


def _cases():
    for path, command in sorted(COMMANDS.items()):
        for param in command.params:
            if param.name == "help" or getattr(param, "is_flag", False):
                continue
            yield pytest.param(path, param, id=f"{' '.join(path)} {param.opts[0]}")


def _with(base: list[str], param, value: str) -> list[str]:
    """`base` with the option (or the positional argument) set to `value`."""
    args = list(base)
    if not param.opts[0].startswith("-"):  # a positional argument: replace the first one, or add it
        if args and not args[0].startswith("-"):
            return [value, *args[1:]]
        return [value, *args]
    for i, arg in enumerate(args):
        if arg in param.opts and i + 1 < len(args):
            args[i + 1] = value
            return args
    return [*args, param.opts[0], value]


@pytest.mark.parametrize("path,param", list(_cases()))
def test_hostile_values_of_every_option_are_answered_or_refused_clearly(path, param, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an option that names a file (quiz --output, draw -o) writes it here, not in the repo
    runner = CliRunner()
    env = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
    # a command with several bases (`layer`) gets the value in the bases that use the option, else the first
    bases = [b for b in BASES[path] if set(param.opts) & set(b)] or BASES[path][:1]
    for base in bases:
        for value in HOSTILE:
            args = [*path, *_with(base, param, value)]
            result = runner.invoke(app_for(args), args, env=env)  # as main() runs it: only that command registered
            shown = f"cnncalc {' '.join(map(repr, args))}"
            assert result.exit_code in (0, 2), f"{shown}: exit {result.exit_code}\n{result.output[-2000:]}"
            assert result.exception is None or isinstance(result.exception, SystemExit), f"{shown}: {result.exception!r}"
            bad = CONTROL.search(result.output)
            assert bad is None, f"{shown} printed {bad.group()!r}: {result.output[max(0, bad.start() - 100):bad.end() + 50]!r}"
