"""`cli.app_for` registers only the command being run (a start-up saving), and must not change behaviour."""

import subprocess
import sys

from cnncalc.cli.app import app, app_for


def _names(typer_app):
    return [c.name for c in typer_app.registered_commands] + [
        g.typer_instance.info.name for g in typer_app.registered_groups
    ]


def test_a_known_command_gets_an_app_with_only_that_command():
    assert _names(app_for(["table", "lenet5"])) == ["table"]
    assert _names(app_for(["solve", "padding", "--input", "5"])) == ["solve"]
    assert len(_names(app)) > 2, "the full app still has every command"


def test_help_unknown_commands_and_global_options_get_the_whole_app():
    for argv in ([], ["--help"], ["nosuch"], ["--debug", "table", "lenet5"]):
        assert app_for(argv) is app


def test_the_installed_entry_point_runs_a_command_and_lists_all_commands_in_help():
    run = [sys.executable, "-m", "cnncalc"]
    table = subprocess.run([*run, "table", "lenet5", "--format", "csv"], capture_output=True, text=True, timeout=60)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[1].startswith("conv1,conv,")
    helped = subprocess.run([*run, "--help"], capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0
    for name in _names(app):
        assert name in helped.stdout
    unknown = subprocess.run([*run, "tabel", "lenet5"], capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2 and unknown.stderr == "error: no command `tabel`\n  hint: Did you mean `table`? `cnncalc --help` lists the commands\n"
