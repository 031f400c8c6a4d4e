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


_MODULES_AFTER = """
import sys
from cnncalc.cli import app
try:
    app.app_for(sys.argv[1:])(prog_name="cnncalc")
except SystemExit:
    pass
sys.stderr.write("\\n".join(sorted(sys.modules)))
"""


def _modules_after(*argv):
    done = subprocess.run([sys.executable, "-c", _MODULES_AFTER, *argv], capture_output=True, text=True, timeout=60)
    return set(done.stderr.splitlines())


def test_a_command_imports_only_what_its_output_needs():
    """Start-up is paid for what a run uses (issue 14): the quiz's text and JSON sets do not load the course
    platforms' exporters (zipfile, xml.sax, and urllib.request with ssl through it: 25–30 ms); the JSON
    table loads neither the text layout nor csv. Each output format still loads what it writes with."""
    json_quiz = _modules_after("quiz", "-n", "5", "--seed", "1", "-f", "json", "-t", "conv")
    assert "cnncalc.quiz.text" in json_quiz
    assert not {"cnncalc.quiz.lms", "zipfile", "urllib.request", "ssl"} & json_quiz
    assert "cnncalc.quiz.lms" in _modules_after("quiz", "-n", "5", "--seed", "1", "-f", "gift", "-t", "conv")
    json_table = _modules_after("table", "lenet5", "--format", "json")
    assert "cnncalc.render.table" in json_table
    assert not {"cnncalc.render.layout", "csv", "rich"} & json_table
    assert "cnncalc.render.layout" in _modules_after("table", "lenet5")
