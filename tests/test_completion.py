"""TAB completion offers what a user would type next: bundled names and spec files for SPEC, layer kinds
for `cnncalc layer`, topics, and the paths of the spec on the command line for `--layer` (issue 13).
Asked the way the shells ask (typer's completion protocol), through the real script."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def offered(line: str, cwd: str | None = None, shell: str = "bash") -> list[str]:
    words = line.split(" ")
    env = dict(os.environ, _CNNCALC_COMPLETE=f"complete_{shell}")
    if shell == "bash":
        env.update(COMP_WORDS=line, COMP_CWORD=str(len(words) - 1))
    else:
        env.update(_TYPER_COMPLETE_ARGS=line)
    done = subprocess.run([sys.executable, "-m", "cnncalc"], env=env, capture_output=True, text=True, timeout=60, cwd=cwd)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return done.stdout.split()


def test_spec_completes_bundled_model_names():
    assert offered("cnncalc table resnet1") == ["resnet101", "resnet152", "resnet18"]
    assert offered("cnncalc show vgg16") == ["vgg16", "vgg16_bn"]


def test_spec_completes_yaml_files_and_folders_but_not_other_files(tmp_path):
    (tmp_path / "mynet.yaml").write_text("x")
    (tmp_path / "mynotes.txt").write_text("x")
    (tmp_path / "my_specs").mkdir()
    assert offered("cnncalc receptive-field my", cwd=str(tmp_path)) == ["my_specs/", "mynet.yaml"]
    assert offered("cnncalc check my_specs/", cwd=str(tmp_path)) == []


def test_layer_completes_kinds():
    assert offered("cnncalc layer conv") == ["conv", "conv_transpose"]


def test_topic_completes_the_quiz_topics():
    assert offered("cnncalc quiz --topic p") == ["pool", "padding", "params", "pool-facts"]


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_layer_option_completes_the_paths_of_the_spec_on_the_line(shell):
    got = offered("cnncalc explain resnet18 --layer layer1.0.c", shell=shell)
    if shell == "zsh":  # zsh gets an _arguments spec: '*: :(("layer1.0.conv1" "layer1.0.conv2"))'
        got = [w.split('"')[1] for w in got if '"' in w]
    assert got == ["layer1.0.conv1", "layer1.0.conv2"]
    assert offered("cnncalc receptive-field lenet5 -l fc") == ["fc1", "fc2", "fc3"]


def test_a_spec_that_does_not_load_offers_no_paths_and_no_error(tmp_path):
    (tmp_path / "bad.yaml").write_text("name: [\n")
    assert offered("cnncalc explain bad.yaml --layer c", cwd=str(tmp_path)) == []


# ----------------------------------------------------------------------------- the fast path

FAST_LINES = [
    "cnncalc table res", "cnncalc table ", "cnncalc receptive-field vgg", "cnncalc explain zz", "cnncalc check m",
    "cnncalc show v", "cnncalc show ", "cnncalc layer c", "cnncalc layer ",
]
TYPER_LINES = ["cnncalc ", "cnncalc ta", "cnncalc table --f", "cnncalc table resnet18 ", "cnncalc quiz ", "cnncalc solve "]


def _ask(line: str, shell: str, fish_action: str, typer_only: bool, cwd: str) -> tuple[bytes, int]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("COMP_", "_TYPER", "_CNNCALC"))}
    env["_CNNCALC_COMPLETE"] = f"complete_{shell}"
    if shell == "bash":
        env.update(COMP_WORDS=line, COMP_CWORD=str(len(line.split(" ")) - 1))
    else:
        env.update(_TYPER_COMPLETE_ARGS=line, _TYPER_COMPLETE_FISH_ACTION=fish_action)
    # typer's own answer: the app's main, past the fast path in cnncalc.cli.entry
    code = "from cnncalc.cli.app import main; main()" if typer_only else "from cnncalc.cli.entry import main; main()"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=60, cwd=cwd)
    assert done.stderr == b""
    return done.stdout, done.returncode


@pytest.mark.parametrize("shell,fish_action", [("bash", ""), ("zsh", ""), ("fish", "get-args"), ("fish", "is-args")])
def test_the_fast_path_answers_exactly_as_typer_does(tmp_path, shell, fish_action):
    """A TAB on a command's first argument is answered without importing typer (issue 14): byte for byte and
    exit code for exit code what typer's completion answers, in every shell; other TABs go to typer."""
    from cnncalc.cli.complete import fast

    (tmp_path / "mynet.yaml").write_text("x")
    (tmp_path / "my folder").mkdir()
    for line in FAST_LINES + ["cnncalc check my"]:
        assert _ask(line, shell, fish_action, False, str(tmp_path)) == _ask(line, shell, fish_action, True, str(tmp_path)), line
    for line in TYPER_LINES:
        env = {"_CNNCALC_COMPLETE": f"complete_{shell}", "COMP_WORDS": line, "COMP_CWORD": str(len(line.split(" ")) - 1), "_TYPER_COMPLETE_ARGS": line}
        assert fast(env) is None, line


def test_every_command_whose_first_argument_completes_is_on_the_fast_path():
    """The fast path's table of commands is the app's: a command that completes its first argument (typer
    offers something for an empty word that is not an option) is on it, and no other."""
    import typer

    from cnncalc.cli.app import app
    from cnncalc.cli.complete import FIRST_ARGUMENT

    commands = typer.main.get_command(app).commands
    names = {name for name, command in commands.items() if not hasattr(command, "commands")}  # groups offer subcommands
    completing = set()
    for name in names:
        stdout, _ = _ask(f"cnncalc {name} ", "bash", "", True, os.getcwd())
        if [word for word in stdout.decode().split() if not word.startswith("-")]:
            completing.add(name)
    assert completing == set(FIRST_ARGUMENT)
