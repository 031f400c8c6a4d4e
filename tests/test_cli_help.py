"""Usage lines name arguments the way the README does (SPEC, SPECS..., KIND), never by Python name or type."""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize(
    ("command", "usage"),
    [
        (["table"], "Usage: cnncalc table [OPTIONS] SPEC"),
        (["receptive-field"], "Usage: cnncalc receptive-field [OPTIONS] SPEC"),
        (["explain"], "Usage: cnncalc explain [OPTIONS] SPEC"),
        (["check"], "Usage: cnncalc check [OPTIONS] SPECS..."),
        (["layer"], "Usage: cnncalc layer [OPTIONS] KIND"),
    ],
)
def test_usage_lines_use_plain_metavars(cli, command, usage):
    result = cli(*command, "--help")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].rstrip() == usage
    assert not re.search(r"\{spec|spec <str>|<str>|SPEC:TEXT|TEXT\.\.\.", result.stdout)


def test_options_name_what_they_take(cli):
    table = cli("table", "--help").stdout
    assert "--input HxWxC" in table and "--depth N" in table
    assert "--layer PATH" in cli("receptive-field", "--help").stdout
    assert "--layer PATH" in cli("explain", "--help").stdout
