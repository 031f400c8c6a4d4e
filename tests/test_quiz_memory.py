"""The quiz's memory topic (issue 12, point 5): how many bytes a layer keeps for the backward pass at a
batch size and dtype. Every answer is re-derived from torch's own saved tensors, independently of the
engine that wrote it, and the worked solution adds up to the answer."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from cnncalc.cli.app import app
from cnncalc.enums import Difficulty, Lang, QuizTopic
from cnncalc.quiz import problems as quiz
from cnncalc.quiz.text import solution
from cnncalc.spec.parse import parse_spec
from torch_build import build
from torch_memory import saved_bytes

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def _problems():
    for difficulty in Difficulty:
        for seed in range(6):
            yield from quiz.generate(quiz.QuizOptions(topics=(QuizTopic.MEMORY,), count=4, difficulty=difficulty, seed=seed))


PROBLEMS = list(_problems())


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: f"{p.given['layers'][1]}-{p.given['batch']}-{p.given['dtype']}")
def test_each_memory_answer_is_what_torch_saves_for_that_layer(problem):
    given = problem.given
    network = parse_spec(json.dumps({"input": given["input"], "layers": given["layers"]}), file="quiz.yaml")
    _, by_layer = saved_bytes(build(network, device="meta"), given["batch"], DTYPES[given["dtype"]])
    assert by_layer.get("1", 0) == problem.answer.value


@pytest.mark.parametrize("lang", list(Lang))
def test_the_worked_solution_adds_up_to_the_answer(lang):
    for problem in PROBLEMS:
        lines = solution(problem, lang)
        total = lines[-2] if len(problem.facts["parts"]) > 1 else lines[1]
        assert total.rstrip().endswith(f"= {problem.answer.value:,}"), (lines, problem.answer.value)


def test_the_topic_covers_the_layers_the_notes_teach():
    kinds = {next(iter(p.given["layers"][1])) if isinstance(p.given["layers"][1], dict) else p.given["layers"][1] for p in PROBLEMS}
    assert {"relu", "maxpool", "conv", "batchnorm", "dropout"} <= kinds


def test_the_cli_asks_memory_problems_in_both_languages():
    for lang, tag in (("en", "[memory]"), ("ko", "[역전파 메모리]")):
        result = CliRunner().invoke(app, ["quiz", "-t", "memory", "-n", "3", "--seed", "1", "-f", "text", "--lang", lang], env={"COLUMNS": "100"})
        assert result.exit_code == 0 and result.stdout.count(tag) == 3
    doc = json.loads(CliRunner().invoke(app, ["quiz", "-t", "memory", "-n", "2", "--seed", "1", "-f", "json"]).stdout)
    assert [p["ask"] for p in doc] == ["saved_bytes", "saved_bytes"]
