"""Shared fixtures: a CliRunner with a fixed terminal width, and spec helpers."""

from __future__ import annotations

import os
import tempfile
import textwrap

import pytest
from typer.testing import CliRunner

from cnncalc.cli.app import app
from cnncalc.core.engine import analyse
from cnncalc.spec.parse import parse_spec


# The bundled networks' cache (cnncalc.spec.cache) goes to a folder of this test run's own, for every test and
# every cnncalc process the tests start, never to the user's ~/.cache.
os.environ["CNNCALC_CACHE_DIR"] = tempfile.mkdtemp(prefix="cnncalc-test-cache-")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--regen-golden", action="store_true", help="rewrite the golden files under tests/golden/")


@pytest.fixture
def regen_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--regen-golden"))


@pytest.fixture
def cli():
    """Run cnncalc in-process at a fixed 100-column terminal without colour; returns the Result."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input, env={"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"})

    return run


def spec(text: str, file: str | None = "test.yaml"):
    """Parse a dedented YAML spec."""
    return parse_spec(textwrap.dedent(text), file=file)


def analysed(text: str, input_shape=None):
    return analyse(spec(text), input_shape)
