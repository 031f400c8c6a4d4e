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
