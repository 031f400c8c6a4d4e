"""The README against the program: every command documented, the first screen's two commands, CI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cnncalc.cli.app import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def command_names() -> list[str]:
    group = typer.main.get_command(app)
    return sorted(group.commands)  # type: ignore[attr-defined]


def section(name: str) -> str:
    match = re.search(rf"<!-- section: {re.escape(name)} -->(.*?)<!-- /section: {re.escape(name)} -->", README, flags=re.S)
    assert match, f"README has no section {name!r}"
    return match.group(1)


def anchors() -> set[str]:
    """GitHub's heading anchors: lower case, punctuation other than - and _ dropped, spaces to -."""
    out = set()
    for heading in re.findall(r"^#{1,6} (.+)$", README, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        out.add(slug)
    return out


def test_the_app_has_the_commands_the_contents_promise():
    assert {"table", "models", "check", "receptive-field", "layer", "explain", "solve", "compare", "quiz"} <= set(command_names())


@pytest.mark.parametrize("name", command_names())
def test_every_command_is_in_the_contents_with_a_working_help(name):
    contents = section("contents")
    entry = re.search(rf"^- \[`cnncalc {re.escape(name)}`\]\(#([\w-]+)\)[^\n]*\S", contents, flags=re.M)
    assert entry, f"`cnncalc {name}` is missing from the README's contents list"
    assert entry.group(1) in anchors(), f"the contents link for {name} points to no heading"
    result = CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "100", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "Example" in result.stdout  # help texts teach with an example


def test_readme_opens_with_exactly_two_commands():
    first_screen = README.split("<!-- section:", 1)[0]
    blocks = re.findall(r"```(\w*)\n(.*?)```", first_screen, flags=re.S)
    assert len(blocks) == 2
    (lang1, run), (lang2, test) = blocks
    assert lang1 == lang2 == "bash"
    assert len(run.strip().splitlines()) == 1 and len(test.strip().splitlines()) == 1
    assert "pip install ." in run and "cnncalc table" in run
    assert "'.[test]'" in test and test.strip().endswith("pytest")


def test_ci_runs_the_readmes_second_command_verbatim():
    first_screen = README.split("<!-- section:", 1)[0]
    second = re.findall(r"```bash\n(.*?)```", first_screen, flags=re.S)[1].strip()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert second in ci.splitlines()


def test_the_table_section_documents_every_option_and_json_field():
    table = section("table")
    result = CliRunner().invoke(app, ["table", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    options = set(re.findall(r"(--[a-z][a-z-]+)", result.stdout)) - {"--help"}
    for option in options:
        assert option in table, f"{option} is not documented in the README's table section"
    for field in ("path", "kind", "block", "depth", "input", "output", "params", "trainable_params", "non_trainable_params", "macs", "activations", "totals"):
        assert f"`{field}`" in table, field
