"""cnncalc quiz: every answer checked independently, reproducibility, grading, the modes of the command.

Shapes and parameter counts come from real torch layers built here from each problem's `given`
(plain dict → nn.Conv2d & co., on the meta device); the other quantities from the textbook
formulas written out again below, never from cnncalc.formulas or the engine.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from functools import lru_cache

import pytest
import torch
from torch import nn

from cnncalc.spec import zoo
from cnncalc.enums import AnswerKind, Ask, Difficulty, Lang, QuestionForm, QuizTopic
from cnncalc.spec.parse import parse_layer
from cnncalc.quiz.problems import Answer, Problem, QuizOptions, generate, parse_answer
from cnncalc.quiz.text import answer_text, problem_json, question, solution, to_json, to_markdown, to_text
from cnncalc.quiz.session import run_session

# ----------------------------------------------------------------------------- torch from `given`


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _hwc(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("x"))


def _kind(layer):
    if isinstance(layer, str):
        return layer, {}
    ((kind, options),) = layer.items()
    return kind, options


def _module(layer, x: torch.Tensor) -> nn.Module:
    kind, o = _kind(layer)
    if kind == "conv":
        return nn.Conv2d(x.shape[1], o["filters"], _pair(o["kernel"]), _pair(o.get("stride", 1)), _pair(o.get("padding", 0)),
                         _pair(o.get("dilation", 1)), o.get("groups", 1), o.get("bias", True), device="meta")
    if kind == "conv_transpose":
        return nn.ConvTranspose2d(x.shape[1], o["filters"], _pair(o["kernel"]), _pair(o.get("stride", 1)), _pair(o.get("padding", 0)),
                                  _pair(o.get("output_padding", 0)), o.get("groups", 1), o.get("bias", True), _pair(o.get("dilation", 1)), device="meta")
    if kind == "maxpool":
        return nn.MaxPool2d(_pair(o["kernel"]), _pair(o.get("stride", o["kernel"])), _pair(o.get("padding", 0)))
    if kind == "avgpool":
        return nn.AvgPool2d(_pair(o["kernel"]), _pair(o.get("stride", o["kernel"])), _pair(o.get("padding", 0)))
    if kind == "flatten":
        return nn.Flatten()
    if kind == "fc":
        return nn.Linear(x.shape[1], o["units"], o.get("bias", True), device="meta")
    if kind == "batchnorm":
        return nn.BatchNorm2d(x.shape[1], device="meta")
    if kind == "relu":
        return nn.ReLU()
    if kind == "upsample":
        return nn.Upsample(scale_factor=o["scale"], mode=o.get("mode", "nearest"))
    raise AssertionError(kind)


# ----------------------------------------------------------------------------- merges, decoders, other ranks


def _run_torch(x: torch.Tensor, layers) -> torch.Tensor:
    for layer in layers:
        x = _module(layer, x)(x)
    return x


def _image(text: str) -> torch.Tensor:
    h, w, c = _hwc(text)
    return torch.zeros((1, c, h, w), device="meta")


def _as_hwc(t: torch.Tensor) -> tuple[int, ...]:
    return (t.shape[2], t.shape[3], t.shape[1])


def _nd_conv(given):
    """nn.Conv1d / nn.Conv3d from a 1-D or 3-D `given` (L×C or D×H×W×C), on the meta device."""
    dims = _hwc(given["input"])
    ((_, o),) = given["layers"][0].items()
    rank = len(dims) - 1
    kernel = tuple(o["kernel"])
    stride, padding = tuple(o.get("stride", [1] * rank)), tuple(o.get("padding", [0] * rank))
    conv = (nn.Conv1d if rank == 1 else nn.Conv3d)(dims[-1], o["filters"], kernel, stride, padding, device="meta")
    x = torch.zeros((1, dims[-1], *dims[:-1]), device="meta")
    y = conv(x)
    return (*y.shape[2:], y.shape[1]), sum(p.numel() for p in conv.parameters())


def check_structure(p: Problem) -> None:
    """The new topics (issue 17) by torch itself: torch.cat, an added shortcut, a centre crop, Conv1d/Conv3d."""
    a, g = p.answer.value, p.given
    if p.kind == "inception_output":
        x = _image(g["input"])
        outs = [_run_torch(x, branch) for branch in g["layers"][0]["concat"]["branches"]]
        assert a == _as_hwc(torch.cat(outs, dim=1))
    elif p.kind == "dense_channels":
        x = _image(g["input"])
        for merge in g["layers"]:
            identity, unit = merge["concat"]["branches"]
            assert identity == []
            x = torch.cat([x, _run_torch(x, unit)], dim=1)
        assert a == x.shape[1]
    elif p.kind in ("residual_identity", "residual_projection"):
        x = _image(g["input"])
        y = _run_torch(x, g["layers"])
        if p.kind == "residual_identity":
            assert a == (y.shape == x.shape)
            if a:
                assert (x + y).shape == y.shape
            return
        filters, stride = a
        fits = [t for t in range(1, 6) if nn.Conv2d(x.shape[1], filters, 1, t, device="meta")(x).shape == y.shape]
        assert fits == [stride], (g, fits)  # the one projection that lets torch add the two
        assert y.shape[1] == filters
    elif p.kind in ("decoder_crop", "decoder_concat"):
        up = _run_torch(_image(g["input"]), g["layers"])
        skip = _image(g["skip"])
        cut = int(round((skip.shape[2] - up.shape[2]) / 2.0))  # torchvision's CenterCrop rounding
        cropped = skip[:, :, cut : cut + up.shape[2], cut : cut + up.shape[3]]
        merged = torch.cat([cropped, up], dim=1)  # the U-Net: torch.cat([skip, x], dim=1)
        assert a == (cut if p.kind == "decoder_crop" else _as_hwc(merged))
    elif p.kind in ("conv1d", "conv3d"):
        shape, params = _nd_conv(g)
        assert a == (shape if p.ask is Ask.OUTPUT_SHAPE else params)
    else:  # pragma: no cover
        raise AssertionError(p.kind)


class Ran:
    """Each given layer run by torch: its module, input and output tensors (meta: shapes only)."""

    def __init__(self, given_input: str, layers: list) -> None:
        dims = _hwc(given_input)
        x = torch.zeros((1, dims[2], dims[0], dims[1]) if len(dims) == 3 else (1, dims[0]), device="meta")
        self.steps = []
        for layer in layers:
            module = _module(layer, x)
            y = module(x)
            self.steps.append((layer, module, x, y))
            x = y

    @staticmethod
    def shape(t: torch.Tensor) -> tuple[int, ...]:
        return (t.shape[2], t.shape[3], t.shape[1]) if t.dim() == 4 else (t.shape[1],)

    def output(self, i: int = -1) -> tuple[int, ...]:
        return self.shape(self.steps[i][3])

    def params(self, i: int) -> int:
        return sum(p.numel() for p in self.steps[i][1].parameters())

    def macs(self, i: int) -> int:
        """Textbook count: one multiply-accumulate per weight per output position (bias not counted)."""
        layer, module, x, y = self.steps[i]
        kind, o = _kind(layer)
        if kind == "conv":
            kh, kw = _pair(o["kernel"])
            return y.shape[2] * y.shape[3] * o["filters"] * kh * kw * (x.shape[1] // o.get("groups", 1))
        if kind == "fc":
            return x.shape[1] * o["units"]
        return 0


def _answer_value(shape: tuple[int, ...]):
    return shape if len(shape) == 3 else shape[0]


def _rf(layers) -> int:
    """r ← r + (d(k − 1) + 1 − 1)·j, j ← j·s, written out again (square layers)."""
    r, j = 1, 1
    for layer in layers:
        kind, o = _kind(layer)
        if kind not in ("conv", "maxpool", "avgpool"):
            continue
        k, d = _pair(o["kernel"])[0], _pair(o.get("dilation", 1))[0]
        s = _pair(o.get("stride", o["kernel"] if kind != "conv" else 1))[0]
        r += d * (k - 1) * j
        j *= s
    return r


@lru_cache(maxsize=None)
def _network_trace(name: str):
    from torch_build import trace

    return trace(zoo.load(name))


# ----------------------------------------------------------------------------- statements, independently


def _statement_holds(statement, p: Problem, ran: Ran | None) -> bool:
    v = statement.values
    if statement.key == "out_shape":
        return _hwc(v["shape"]) == ran.output(0)
    if statement.key == "params":
        return v["value"] == ran.params(0)
    if statement.key == "macs":
        return v["value"] == ran.macs(0)
    if statement.key in ("channels", "pool_channels"):
        return v["value"] == ran.output(0)[2]
    if statement.key == "pool_params":
        return v["value"] == ran.params(0)
    if statement.key == "pool_learns":
        return v["learns"] == (ran.params(0) > 0)
    if statement.key == "keeps_size":
        n = v["n"]
        return ran.output(0)[:2] == (n, n)
    if statement.key == "rf":
        return v["value"] == 1 + v["count"] * (v["k"] - 1)
    if statement.key == "fits":
        _, o = _kind(p.given["layers"][0])
        n, k, s, pad = _hwc(p.given["input"])[0], o["kernel"], o.get("stride", 1), o.get("padding", 0)
        return (n + 2 * pad - k) % s == 0
    raise AssertionError(statement.key)


def _check_exact_division(given) -> None:
    """Integer outputs: every sliding window of a made-up problem tiles its padded input exactly."""
    dims = _hwc(given["input"])
    if len(dims) != 3:
        return
    h, w = dims[0], dims[1]
    for layer in given["layers"]:
        kind, o = _kind(layer)
        if kind in ("conv", "maxpool", "avgpool"):
            k, s = _pair(o["kernel"]), _pair(o.get("stride", o["kernel"] if kind != "conv" else 1))
            p, d = _pair(o.get("padding", 0)), _pair(o.get("dilation", 1))
            for i, n in enumerate((h, w)):
                assert (n + 2 * p[i] - d[i] * (k[i] - 1) - 1) % s[i] == 0, (given, layer)
            h = (h + 2 * p[0] - d[0] * (k[0] - 1) - 1) // s[0] + 1
            w = (w + 2 * p[1] - d[1] * (k[1] - 1) - 1) // s[1] + 1
        elif kind == "conv_transpose":
            k, s, p, op, d = (_pair(o.get(x, dflt)) for x, dflt in (("kernel", 1), ("stride", 1), ("padding", 0), ("output_padding", 0), ("dilation", 1)))
            h = (h - 1) * s[0] - 2 * p[0] + d[0] * (k[0] - 1) + op[0] + 1
            w = (w - 1) * s[1] - 2 * p[1] + d[1] * (k[1] - 1) + op[1] + 1


def check(p: Problem) -> None:
    """Assert that `p.answer` is right, by torch and by the formulas written out in this file."""
    a = p.answer.value
    g = p.given
    if p.topic in (QuizTopic.CONCAT, QuizTopic.RESIDUAL, QuizTopic.DECODER, QuizTopic.RANKS):
        check_structure(p)
        return
    if p.ask is Ask.SAVED_BYTES:
        # torch's own saved tensors for the second layer (tests/torch_memory.py), not the engine's rules
        from torch_build import build
        from torch_memory import saved_bytes

        from cnncalc.spec.parse import parse_spec

        network = parse_spec(json.dumps({"input": g["input"], "layers": g["layers"]}), file="quiz.yaml")
        dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[g["dtype"]]
        assert a == saved_bytes(build(network, device="meta"), g["batch"], dtype)[1].get("1", 0)
        return
    if p.topic is QuizTopic.NETWORK:
        traced = _network_trace(g["network"])[g["layer"]]
        assert g["input"] == zoo.load(g["network"]).input.hwc()
        if p.ask is Ask.OUTPUT_SHAPE:
            assert a == _answer_value(traced.output)
        elif p.ask is Ask.PARAMS:
            assert a == traced.params
        elif p.ask is Ask.MACS:
            assert a == traced.macs
        else:  # a missing stride/padding: the bundled layer has it, and it alone gives torch's output
            layer = p.facts["layer_spec"]
            assert a == _kind(layer)[1].get(str(p.ask), 1 if p.ask is Ask.STRIDE else 0)
            ran = Ran(p.facts["layer_input"], [layer])
            assert ran.output() == traced.output == _hwc(p.facts["output"])
            _check_only_value(p, layer, p.facts["layer_input"], traced.output)
        return
    for layer in g["layers"] + g.get("versus", []):
        kind, options = _kind(layer)
        parse_layer(kind, options)  # every given layer is valid spec syntax, checked by the spec's own parser
    if p.kind != "conv_valid":
        _check_exact_division(g)
    ran = Ran(g["input"], g["layers"])
    if p.ask is Ask.OUTPUT_SHAPE:
        assert a == _answer_value(ran.output())
    elif p.ask is Ask.PARAMS:
        index = 1 if p.kind == "fc_params" else 0
        assert a == ran.params(index)
        if p.kind == "bn_params":
            assert a == 2 * _hwc(g["input"])[2]
    elif p.ask is Ask.MACS:
        assert a == ran.macs(0)
    elif p.ask is Ask.MACS_SAVED:
        cheap = Ran(g["input"], g["versus"])
        assert ran.output() == cheap.output()
        assert a == ran.macs(0) - sum(cheap.macs(i) for i in range(len(g["versus"])))
    elif p.ask is Ask.PARAMS_SAVED:
        small = Ran(g["input"], g["versus"])
        assert a == ran.params(0) - sum(small.params(i) for i in range(len(g["versus"])))
        assert _rf(g["layers"]) == _rf(g["versus"])  # the point of the comparison: the same receptive field
    elif p.ask is Ask.ACTIVATIONS:
        outs = [ran.output(i) for i in range(len(g["layers"]))]
        expected = sum(int(torch.tensor(o).prod()) for o in outs) if p.kind == "activations_total" else int(torch.tensor(outs[-1]).prod())
        assert a == expected
    elif p.ask is Ask.RECEPTIVE_FIELD:
        assert a == _rf(g["layers"])
    elif p.ask is Ask.LAYERS:
        _, o = _kind(g["layers"][0])
        assert a == len(g["layers"])
        assert 1 + a * (o["kernel"] - 1) == p.facts["rf"]
    elif p.ask is Ask.CHANNELS:
        assert a == ran.output()[2] == _hwc(g["input"])[2]
    elif p.ask is Ask.PADDING and p.kind == "same_padding":
        n = _hwc(g["input"])
        assert ran.output()[:2] == n[:2]
        _, o = _kind(g["layers"][0])
        k, d = _pair(o["kernel"]), _pair(o.get("dilation", 1))
        expected = tuple(d[i] * (k[i] - 1) // 2 for i in (0, 1))
        assert (a if isinstance(a, tuple) else (a, a)) == expected
    elif p.ask in (Ask.STRIDE, Ask.PADDING, Ask.KERNEL, Ask.FILTERS):
        layer = g["layers"][0]
        kind, o = _kind(layer)
        default = {"stride": o["kernel"] if kind in ("maxpool", "avgpool") else 1, "padding": 0}.get(str(p.ask))
        assert a == o.get(str(p.ask), default)
        if p.ask is Ask.FILTERS:
            assert ran.params(0) == p.facts["params"]
            for f in range(1, 2 * a + 2):
                if f == a or f % o.get("groups", 1):
                    continue  # torch refuses filters that the groups do not divide
                assert Ran(g["input"], [{kind: {**o, "filters": f}}]).params(0) != p.facts["params"]
        else:
            assert ran.output() == _hwc(p.facts["output"])
            _check_only_value(p, layer, g["input"], ran.output())
    elif p.ask is Ask.TRUE_FALSE:
        (claim,) = p.statements
        truth = _statement_holds(claim, p, ran)
        assert claim.true == truth == a
    elif p.ask is Ask.WRONG_STATEMENT:
        truths = [_statement_holds(s, p, ran) for s in p.statements]
        assert truths.count(False) == 1
        assert "ABCD"[truths.index(False)] == a
    else:  # pragma: no cover
        raise AssertionError(p.ask)


def _check_only_value(p: Problem, layer, given_input: str, output) -> None:
    """No other value of the missing hyper-parameter (within any sensible range) gives the same output in torch."""
    kind, o = _kind(layer)
    key = str(p.ask)
    for value in range(0 if key == "padding" else 1, 16):
        if value == p.answer.value:
            continue
        try:
            other = Ran(given_input, [{kind: {**o, key: value}}]).output()
        except RuntimeError:
            continue  # torch refuses the layer (kernel larger than the input, too much pool padding, ...)
        assert other != output, (p.given, key, value)


# ----------------------------------------------------------------------------- the big check


@pytest.mark.parametrize("difficulty", list(Difficulty))
def test_thousands_of_answers_are_right(difficulty):
    problems = []
    for seed in (1, 2, 3):
        problems += generate(QuizOptions(count=700, difficulty=difficulty, seed=seed))
    topics = {p.topic for p in problems}
    assert topics == set(QuizTopic)
    forms = {p.form for p in problems}
    expected_forms = {QuestionForm.COMPUTE, QuestionForm.TRUE_FALSE} | (
        set() if difficulty is Difficulty.EASY else {QuestionForm.MISSING, QuestionForm.SPOT_WRONG}
    )
    assert expected_forms <= forms
    for p in problems:
        try:
            check(p)
        except AssertionError as exc:
            raise AssertionError(f"{p.kind} {p.ask} {p.given} answer {p.answer}: {exc}") from None


def test_hard_problems_include_non_square_dilation_chains_and_inverse():
    problems = generate(QuizOptions(count=1500, difficulty=Difficulty.HARD, seed=11))
    layers = [layer for p in problems if "layers" in p.given for layer in p.given["layers"]]
    options = [_kind(layer)[1] for layer in layers]
    assert any(isinstance(o.get("kernel"), list) for o in options)
    assert any(o.get("dilation", 1) != 1 for o in options)
    assert any(len(p.given.get("layers", [])) >= 3 and p.ask is Ask.OUTPUT_SHAPE for p in problems)
    assert {Ask.STRIDE, Ask.PADDING, Ask.KERNEL, Ask.FILTERS, Ask.LAYERS} <= {p.ask for p in problems if p.form is QuestionForm.MISSING}
    shapes = [_hwc(p.given["input"]) for p in problems if p.given["input"].count("x") == 2]  # images (signals and volumes differ)
    assert any(s[0] != s[1] for s in shapes)
    assert all(s[0] <= 512 and s[1] <= 512 for s in shapes)


def test_same_seed_same_set_and_different_seed_different_set():
    options = QuizOptions(count=60, difficulty=Difficulty.MEDIUM, seed=42)
    first = to_json(generate(options), Lang.EN)
    assert to_json(generate(options), Lang.EN) == first
    assert to_json(generate(QuizOptions(count=60, difficulty=Difficulty.MEDIUM, seed=43)), Lang.EN) != first


def test_topic_order_does_not_change_the_set():
    a = generate(QuizOptions(topics=(QuizTopic.PARAMS, QuizTopic.CONV), count=20, seed=5))
    b = generate(QuizOptions(topics=(QuizTopic.CONV, QuizTopic.PARAMS), count=20, seed=5))
    assert [p.key() for p in a] == [p.key() for p in b]
    assert {p.topic for p in a} == {QuizTopic.PARAMS, QuizTopic.CONV}


@pytest.mark.parametrize("difficulty", list(Difficulty))
def test_no_duplicates_within_a_set(difficulty):
    problems = generate(QuizOptions(count=2000, difficulty=difficulty, seed=9))
    assert len({p.key() for p in problems}) == len(problems)
    texts = [question(p, Lang.EN) for p in problems]
    assert len(set(texts)) == len(texts)


def test_a_topic_that_runs_out_says_so():
    from cnncalc.errors import CnnCalcError

    with pytest.raises(CnnCalcError, match="only .* different problems"):
        generate(QuizOptions(topics=(QuizTopic.NETWORK,), count=5000, difficulty=Difficulty.EASY, seed=1))


def test_ten_thousand_problems_are_quick():
    start = time.process_time()  # CPU time: the suite shares the cores (pytest-xdist), the work does not change
    problems = generate(QuizOptions(count=10_000, difficulty=Difficulty.HARD, seed=3))
    elapsed = time.process_time() - start
    assert len(problems) == 10_000
    assert elapsed < 6, elapsed  # about 0.7 s on one core; generous for a loaded CI runner


# ----------------------------------------------------------------------------- reading answers


@pytest.mark.parametrize("typed", ["29x29x32", "29 29 32", "29×29×32", "(29, 29, 32)", "[29,29,32]", " 29 X 29 X 32 ", "29*29*32"])
def test_shape_answers_in_the_forms_people_type(typed):
    assert parse_answer(typed, AnswerKind.SHAPE) == (29, 29, 32)


@pytest.mark.parametrize("typed", ["25120", "25,120", "25 120", "25_120", "25'120"])
def test_number_answers_with_separators(typed):
    assert parse_answer(typed, AnswerKind.INT) == 25120


@pytest.mark.parametrize(
    "typed,kind,value",
    [
        ("t", AnswerKind.BOOL, True), ("True", AnswerKind.BOOL, True), ("yes", AnswerKind.BOOL, True), ("참", AnswerKind.BOOL, True),
        ("O", AnswerKind.BOOL, True), ("f", AnswerKind.BOOL, False), ("거짓", AnswerKind.BOOL, False), ("no", AnswerKind.BOOL, False),
        ("b", AnswerKind.CHOICE, "B"), ("(C)", AnswerKind.CHOICE, "C"), ("D.", AnswerKind.CHOICE, "D"), ("1", AnswerKind.CHOICE, "A"),
        ("1x2", AnswerKind.PAIR, (1, 2)), ("(1, 2)", AnswerKind.PAIR, (1, 2)),
    ],
)
def test_other_answer_forms(typed, kind, value):
    assert parse_answer(typed, kind) == value


@pytest.mark.parametrize("typed,kind", [("29x29", AnswerKind.SHAPE), ("abc", AnswerKind.INT), ("maybe", AnswerKind.BOOL), ("E", AnswerKind.CHOICE), ("-3", AnswerKind.INT), ("2.5", AnswerKind.INT)])
def test_unreadable_answers_are_none_not_wrong(typed, kind):
    assert parse_answer(typed, kind) is None


def test_a_wrong_number_is_wrong_and_a_right_one_right():
    answer = Answer(AnswerKind.SHAPE, (29, 29, 32))
    assert answer.matches("29 x 29 x 32") is True
    assert answer.matches("29x29x16") is False
    assert answer.matches("hello") is None


# ----------------------------------------------------------------------------- the session


def _problems(n=3, seed=5, **kw):
    return generate(QuizOptions(count=n, seed=seed, **kw))


def _session(problems, answers, lang=Lang.EN):
    out: list[str] = []
    feed = iter(answers)

    def read(prompt):
        out.append(prompt)
        item = next(feed)
        if isinstance(item, BaseException):
            raise item
        return item

    score = run_session(problems, lang, read, out.append)
    return score, "".join(out)


def _wrong(p: Problem) -> str:
    a = p.answer
    return {AnswerKind.SHAPE: "1x1x1", AnswerKind.PAIR: "99x99", AnswerKind.INT: "1", AnswerKind.BOOL: "false" if a.value else "true",
            AnswerKind.CHOICE: "A" if a.value != "A" else "B"}[a.kind]


def test_session_right_wrong_skip_and_score():
    problems = _problems(4)
    score, text = _session(problems, [problems[0].answer.text(), _wrong(problems[1]), "", "q"])
    assert (score.right, score.wrong, score.skipped) == (1, 1, 1)
    assert "✓ Right!" in text
    assert "✗ Not quite. The answer is" in text
    assert "Worked solution:" in text and solution(problems[1], Lang.EN)[0] in text
    assert "Score: 1/2 right, 1 skipped (3 of 4 problems done)" in text


def test_session_asks_again_when_it_cannot_read_the_answer():
    problems = _problems(1)
    score, text = _session(problems, ["what?", problems[0].answer.text()])
    assert "Could not read that" in text
    assert score.right == 1 and score.wrong == 0


@pytest.mark.parametrize("stop", [EOFError(), KeyboardInterrupt()])
def test_ctrl_d_and_ctrl_c_end_with_the_score_so_far(stop):
    problems = _problems(3)
    score, text = _session(problems, [problems[0].answer.text(), stop])
    assert score.right == 1
    assert text.rstrip().endswith("Score: 1/1 right (1 of 3 problems done)")


def test_session_in_korean():
    problems = _problems(2)
    score, text = _session(problems, [problems[0].answer.text(), _wrong(problems[1])], lang=Lang.KO)
    assert "✓ 정답입니다!" in text and "✗ 아쉽네요. 정답은" in text and "풀이:" in text
    assert "점수: 2문제 중 1문제 정답" in text


def test_cli_interactive_from_a_pipe_grades_line_by_line(cli):
    problems = _problems(3, seed=8)
    result = cli("quiz", "-n", "3", "--seed", "8", "--interactive", input=f"{problems[0].answer.text()}\n{_wrong(problems[1])}\nq\n")
    assert result.exit_code == 0, result.output
    assert "✓ Right!" in result.output and "✗ Not quite" in result.output
    assert "Score: 1/2 right (2 of 3 problems done)" in result.output


def test_cli_interactive_ends_cleanly_at_end_of_input(cli):
    result = cli("quiz", "-n", "2", "--seed", "8", "--interactive", input="")
    assert result.exit_code == 0
    assert "Score: 0/0 right (0 of 2 problems done)" in result.output


def test_cli_rejects_interactive_with_format(cli):
    result = cli("quiz", "--interactive", "--format", "json")
    assert result.exit_code == 2


def test_cli_too_many_problems_for_a_topic_is_a_user_error(cli):
    result = cli("quiz", "--topic", "network", "-d", "easy", "-n", "5000", "--seed", "1", "-f", "json")
    assert result.exit_code == 2
    assert "only" in result.stderr and result.stdout == ""


def _run_cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "cnncalc", "quiz", *args], capture_output=True, text=True, timeout=60, **kwargs)


def test_no_stdin_at_all_prints_the_worksheet_and_does_not_wait():
    result = _run_cli("-n", "3", "--seed", "1", stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Answer:") == 3
    closed = subprocess.run(f"{sys.executable} -m cnncalc quiz -n 2 --seed 1 0<&-", shell=True, capture_output=True, text=True, timeout=60)
    assert closed.returncode == 0, closed.stderr
    assert closed.stdout.count("Answer:") == 2


def test_an_open_pipe_that_never_speaks_does_not_block():
    proc = subprocess.Popen([sys.executable, "-m", "cnncalc", "quiz", "-n", "2", "--seed", "1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.wait(timeout=60) == 0  # stdin stays open and silent: the worksheet must come anyway
        assert proc.stdout.read().count("Answer:") == 2
    finally:
        proc.kill()
        proc.stdin.close()
        proc.stdout.close()


def _read_until(fd: int, pattern: str, timeout: float = 30) -> str:
    buffer = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buffer += chunk
            if re.search(pattern, buffer.decode("utf-8", "replace")):
                return buffer.decode("utf-8", "replace")
    raise AssertionError(f"no {pattern!r} in {buffer.decode('utf-8', 'replace')!r}")


def test_a_real_terminal_gets_the_interactive_quiz():
    problems = _problems(3, seed=4)
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "dumb", "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "cnncalc", "quiz", "-n", "3", "--seed", "4"], stdin=follower, stdout=follower, stderr=follower, env=env, close_fds=True)
    os.close(follower)
    try:
        _read_until(leader, r"\) > ")
        os.write(leader, (problems[0].answer.text() + "\n").encode())
        _read_until(leader, r"Right![\s\S]*\) > ")
        os.write(leader, (_wrong(problems[1]) + "\n").encode())
        _read_until(leader, r"Not quite[\s\S]*Worked solution[\s\S]*\) > ")
        os.write(leader, b"q\n")
        tail = _read_until(leader, r"Score: 1/2 right")
        assert "Score: 1/2 right (2 of 3 problems done)" in tail
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        os.close(leader)


# ----------------------------------------------------------------------------- exports


@pytest.mark.parametrize("lang", list(Lang))
def test_json_export_has_exactly_the_documented_fields(cli, lang):
    result = cli("quiz", "-n", "30", "--seed", "2", "-d", "hard", "-f", "json", "--lang", str(lang))
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert len(doc) == 30
    problems = _problems(30, seed=2, difficulty=Difficulty.HARD)
    for item, p in zip(doc, problems):
        assert set(item) == {"topic", "question", "answer", "solution", "given", "ask"}
        assert item["topic"] in {str(t) for t in QuizTopic}
        assert item["ask"] in {str(a) for a in Ask}
        assert item == json.loads(json.dumps(problem_json(p, lang), ensure_ascii=False))
        if p.answer.kind is AnswerKind.SHAPE:
            assert item["answer"] == "x".join(map(str, p.answer.value))
        assert "input" in item["given"]
    if lang is Lang.KO:
        assert any("합성곱" in item["question"] for item in doc)
        assert all(not re.search(r"[A-Za-z]{4,} [a-z]{4,} [a-z]{4,}", item["question"].replace("`", "")) for item in doc)  # no English sentences


@pytest.mark.parametrize("lang", list(Lang))
def test_markdown_export_is_a_worksheet_then_an_answer_key(cli, lang):
    result = cli("quiz", "-n", "12", "--seed", "6", "-f", "markdown", "--lang", str(lang))
    assert result.exit_code == 0, result.output
    text = result.stdout
    head, key = text.split("\n---\n")
    title, key_title = ("# CNN 계산 연습 문제", "## 정답과 풀이") if lang is Lang.KO else ("# CNN arithmetic worksheet", "## Answer key")
    assert head.startswith(title) and key_title in key
    assert len(re.findall(r"^\*\*\d+\.\*\* ", head, re.M)) == 12
    assert len(re.findall(r"^\*\*\d+\.\*\* ", key, re.M)) == 12
    problems = _problems(12, seed=6)
    assert "seed 6" in head or "시드 6" in head
    for i, p in enumerate(problems, 1):
        assert question(p, lang).split("\n")[0] in head
        assert f"**{i}.** {'정답' if lang is Lang.KO else 'Answer'}: **{answer_text(p, lang)}**" in key
        assert solution(p, lang)[-1] in key


def test_text_worksheet_matches_the_json_answers():
    problems = _problems(10, seed=12)
    text = to_text(problems, Lang.EN, Difficulty.MEDIUM, 12)
    assert text.count("Answer:") == 10
    md = to_markdown(problems, Lang.KO, Difficulty.MEDIUM, 12)
    assert md.count("정답") >= 10


def test_korean_uses_the_notes_vocabulary():
    problems = generate(QuizOptions(count=400, seed=3, difficulty=Difficulty.HARD))
    text = "\n".join(question(p, Lang.KO) + "\n".join(solution(p, Lang.KO)) for p in problems)
    for word in ("합성곱", "패딩", "스트라이드", "풀링", "필터", "파라미터", "수용 영역", "채널", "출력 크기"):
        assert word in text, word


def test_the_checker_rejects_wrong_answers():
    """The big check is not vacuous: the same problems with a wrong answer fail it."""
    from dataclasses import replace

    problems = generate(QuizOptions(count=400, difficulty=Difficulty.HARD, seed=21))
    kinds = set()
    for p in problems:
        a = p.answer
        wrong = {
            AnswerKind.SHAPE: lambda v: (*v[:-1], v[-1] + 1),
            AnswerKind.PAIR: lambda v: (v[0] + 1, v[1]),
            AnswerKind.INT: lambda v: v + 1,
            AnswerKind.BOOL: lambda v: not v,
            AnswerKind.CHOICE: lambda v: "A" if v != "A" else "B",
        }[a.kind](a.value)
        with pytest.raises(AssertionError):
            check(replace(p, answer=Answer(a.kind, wrong)))
        kinds.add(p.kind)
    assert len(kinds) >= 25


def test_wrapping_counts_hangul_as_two_columns():
    from cnncalc.quiz.session import wrap

    text = "크기가 60×60×3인 입력에 다음 합성곱 층을 적용합니다: 3×3 필터 96개, 스트라이드 3, 패딩 0."
    lines = wrap(text, 30).split("\n")
    assert len(lines) > 1 and " ".join(lines) == text
    assert all(sum(2 if "가" <= ch <= "힣" else 1 for ch in line) <= 30 for line in lines)
    choice = wrap("  A) The output shape is 16×16×64 and this statement wraps", 30).split("\n")
    assert choice[1].startswith("     ") and not choice[1].startswith("      ")


# ----------------------------------------------------------------------------- writing large sets


@pytest.mark.parametrize("fmt", ["json", "markdown", "text"])
def test_a_set_larger_than_the_spool_is_written_whole_and_the_same(cli, monkeypatch, fmt):
    """Problems are written as they are drawn to a spool that moves to a temporary file past SPOOL_BYTES: the
    output is the same, byte for byte, whether the set fits in memory or not."""
    from cnncalc.cli import app as app_module

    args = ("quiz", "-n", "300", "--seed", "8", "--format", fmt)
    in_memory = cli(*args)
    monkeypatch.setattr(app_module, "SPOOL_BYTES", 1000)  # rolls over after a few problems
    on_disk = cli(*args)
    assert in_memory.exit_code == on_disk.exit_code == 0
    assert on_disk.stdout == in_memory.stdout
    problems = generate(QuizOptions(count=300, seed=8))
    expected = {"json": lambda: to_json(problems, Lang.EN), "markdown": lambda: to_markdown(problems, Lang.EN, Difficulty.MEDIUM, 8)}
    if fmt in expected:
        assert on_disk.stdout == expected[fmt]()
    else:
        assert on_disk.stdout.count("\n   Answer: ") == 300


def test_a_set_that_cannot_be_completed_writes_nothing(cli):
    result = cli("quiz", "--topic", "network", "-n", "5000", "--seed", "1", "--format", "json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "only 67 different problems could be drawn on network" in result.stderr


# ----------------------------------------------------------------------------- how the problems read (issue 17)


@pytest.fixture(scope="module")
def many_problems():
    return [p for difficulty in Difficulty for p in generate(QuizOptions(count=3000, difficulty=difficulty, seed=17))]


def test_english_counts_agree_with_their_number(many_problems):
    bad = re.compile(r"(?<![\d,.])1 (channels|filters|units|parameters|learnable parameters)\b")
    for p in many_problems:
        text = question(p, Lang.EN) + "\n" + "\n".join(solution(p, Lang.EN))
        assert not bad.search(text), text


def test_student_facing_text_has_no_tool_jargon(many_problems):
    for p in many_problems:
        for lang in Lang:
            text = question(p, lang)
            assert "bundled" not in text and "cnncalc" not in text, text


def test_a_same_convolution_window_fits_the_input(many_problems):
    """torch pads any window to "same", but a 9×9 "same" conv on a 7×7 image is nobody's network."""
    from cnncalc.kinds.formulas import effective_kernel

    checked = 0
    for p in many_problems:
        if p.kind == "same_padding":
            (kh, kw), (dh, dw) = p.facts["kernel"], p.facts["dilation"]
            height, width = (int(v) for v in p.given["input"].split("x")[:2])
            assert effective_kernel(kh, dh) <= height and effective_kernel(kw, dw) <= width, p.given
            checked += 1
    assert checked > 50


def test_the_korean_session_is_in_korean_throughout(cli):
    result = cli("quiz", "-n", "11", "--seed", "5", "--lang", "ko", "--interactive", input="\n" * 11)
    assert result.exit_code == 0
    tags = re.findall(r"^문제 \d+/\d+  \[(.*)\]$", result.stdout, re.M)
    assert len(tags) == 11
    assert not [tag for tag in tags if re.search(r"[a-z]", tag)], tags  # 합성곱 출력 크기, not conv


@pytest.mark.parametrize("topic", [QuizTopic.CONCAT, QuizTopic.RESIDUAL, QuizTopic.DECODER, QuizTopic.RANKS])
@pytest.mark.parametrize("difficulty", list(Difficulty))
def test_the_new_topics_are_right_by_torch_and_read_well(topic, difficulty):
    problems = generate(QuizOptions(topics=(topic,), count=60, difficulty=difficulty, seed=4))
    kinds = set()
    for p in problems:
        check(p)
        kinds.add(p.kind)
        from cnncalc.spec.parse import parse_spec

        parse_spec(json.dumps({"input": p.given["input"], "layers": p.given["layers"]}), file="given.yaml")  # valid spec syntax
        for lang in Lang:
            text = question(p, lang)
            assert text[0].isupper() or not text[0].isascii(), text
            assert solution(p, lang) and answer_text(p, lang)
    expected = {
        QuizTopic.CONCAT: {"inception_output", "dense_channels"},
        QuizTopic.RESIDUAL: {"residual_identity", "residual_projection"},
        QuizTopic.DECODER: {"decoder_crop", "decoder_concat"},
        QuizTopic.RANKS: {"conv1d", "conv3d"},
    }[topic]
    assert kinds == expected


@pytest.mark.parametrize("difficulty", list(Difficulty))
def test_duplicates_rejected_before_their_answer_leave_the_set_unchanged(difficulty, monkeypatch):
    # Generators reject a problem already in the set as soon as everything random about it is drawn (issue 14);
    # the set must be the one drawn when duplicates are found only after their answers are computed.
    from cnncalc.quiz import problems

    topics = (QuizTopic.RECEPTIVE_FIELD, QuizTopic.MEMORY, QuizTopic.CONCAT, QuizTopic.PARAMS, QuizTopic.MACS, QuizTopic.CONV)
    options = QuizOptions(topics=topics, count=3000, difficulty=difficulty, seed=11)
    early = [p.key() for p in problems.iter_problems(options)]
    with monkeypatch.context() as patched:
        patched.setattr(problems._Generator, "_not_drawn_before", lambda self, *parts: None)
        late = [p.key() for p in problems.iter_problems(options)]
    assert early == late
    assert len(set(early)) == len(early) == 3000


def test_equal_layer_entries_are_one_object_and_values_keep_their_type():
    """problems.spec shares equal entries (their built layer and texts are made once): only truly equal ones,
    since `p: 1` and `p: 1.0` (or `bias: true` and `bias: 1`) are equal in Python and written differently."""
    from cnncalc.quiz import problems

    a = problems.spec("conv", filters=8, kernel=[3, 1], bias=False)
    assert a is problems.spec("conv", filters=8, kernel=[3, 1], bias=False)
    assert a is not problems.spec("conv", filters=8, kernel=[3, 1], bias=0)
    assert a is not problems.spec("conv", filters=8, kernel=[3, 2], bias=False)
    one, one_float = problems.spec("dropout", p=1), problems.spec("dropout", p=1.0)
    assert one is not one_float and json.dumps(one) != json.dumps(one_float)
    assert problems.spec("conv", filters=8, kernel=3, stride=1) is problems.spec("conv", filters=8, kernel=3)  # a default is left out
    nested = problems.spec("zeropad", padding=[[1, 2], [0, 1]])  # a value that cannot be a key is an entry of its own
    assert nested == {"zeropad": {"padding": [[1, 2], [0, 1]]}} and nested is not problems.spec("zeropad", padding=[[1, 2], [0, 1]])


def test_layer_texts_kept_on_entries_are_the_texts_written_afresh():
    """quiz.text.details keeps each entry's text per language and hidden option: every combination, asked in
    an order that fills the memory with the others first, reads as the text written without it."""
    from cnncalc.quiz import text

    layers = {id(layer): layer for p in generate(QuizOptions(count=600, seed=3, difficulty=Difficulty.HARD)) for layer in p.given.get("layers", [])}
    combinations = [(lang, hide) for lang in Lang for hide in (None, "kernel", "stride", "padding", "filters")]
    assert len(layers) > 100
    for layer in layers.values():
        for lang, hide in combinations + combinations[::-1]:
            assert text.details(layer, lang, hide) == text._details(layer, lang, hide)
