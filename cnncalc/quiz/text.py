"""Quiz problems → words, in English or Korean: questions, worked solutions, worksheets (text, Markdown, JSON).

No arithmetic happens here: every number shown is a value the generator took from the engine,
or one of the given sizes placed into a formula. The Korean follows the vocabulary of the
course notes the project grew from (합성곱, 패딩, 스트라이드, 풀링, 필터, 파라미터, 수용 영역,
채널, 출력 크기), and avoids particles right after numbers, which Korean would have to
inflect by how the number is read.
"""

from __future__ import annotations

import io
import json
import shutil
from typing import Any, Callable, Iterable, TextIO

from cnncalc.enums import AnswerKind, Ask, Difficulty, Lang, QuizTopic
from cnncalc.quiz.problems import Entry, Problem, Statement, to_layer

# ----------------------------------------------------------------------------- small words


def _x(text: str) -> str:
    """29x29x32 → 29×29×32, as the notes write sizes."""
    return text.replace("x", "×")


def _n(value: int) -> str:
    return f"{value:,}"


def _size(value: int | list[int]) -> str:
    """A 2-D size written once (`3` → 3×3), or one value per axis (`[5]` → 5, `[3, 3, 3]` → 3×3×3)."""
    return f"{value}×{value}" if isinstance(value, int) else "×".join(map(str, value))


def _pad(value: int | list[int], ko: bool) -> str:
    if isinstance(value, int):
        return str(value)
    if len(value) != 2:
        return "×".join(map(str, value))  # a signal's one value, a volume's depth×height×width
    return f"위아래 {value[0]}, 좌우 {value[1]}" if ko else f"{value[0]} top/bottom, {value[1]} left/right"


def _opts(layer: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(layer, str):
        return layer, {}
    ((kind, options),) = layer.items()
    return kind, options


_NOUN = {
    "conv": ("a convolution", "합성곱 층"),
    "conv_transpose": ("a transposed convolution", "전치 합성곱 층"),
    "maxpool": ("max pooling", "최대 풀링 층"),
    "avgpool": ("average pooling", "평균 풀링 층"),
    "fc": ("a fully connected layer", "완전 연결층"),
    "flatten": ("flatten", "평탄화(flatten)"),
    "batchnorm": ("batch normalization", "배치 정규화 층"),
    "relu": ("ReLU", "ReLU"),
    "sigmoid": ("a sigmoid", "시그모이드"),
    "dropout": ("dropout", "드롭아웃 층"),
    "upsample": ("upsampling", "업샘플링 층"),
}


def _count(value: int, word: str) -> str:
    """`1 channel`, `64 channels`, `1 filter of 3×3`: English counts agree with their number."""
    text = _n(value) if isinstance(value, int) else str(value)
    return f"{text} {word}" if value == 1 else f"{text} {word}s"


def noun(layer: Any, lang: Lang) -> str:
    return _NOUN[_opts(layer)[0]][lang is Lang.KO]


def details(layer: Any, lang: Lang, hide: str | None = None) -> str:
    """The layer's hyper-parameters, every one stated (defaults included); `hide` shows one as `?`.

    Written once per spec entry, language and hidden option: the entries of problems.spec are shared by
    every draw of the same layer, and keep their texts (`Entry.texts`)."""
    if not isinstance(layer, Entry):  # a plain dict or a kind's name: nowhere to keep the text
        return _details(layer, lang, hide)
    texts = getattr(layer, "texts", None)
    if texts is None:
        texts = layer.texts = {}
    text = texts.get((lang, hide))
    if text is None:
        text = texts[lang, hide] = _details(layer, lang, hide)
    return text


def _details(layer: Any, lang: Lang, hide: str | None) -> str:
    ko = lang is Lang.KO
    kind, o = _opts(layer)
    parts: list[str] = []

    if kind in ("conv", "conv_transpose"):
        k = _size(o["kernel"]) if hide != "kernel" else "?×?"
        f = str(o["filters"]) if hide != "filters" else "?"
        if isinstance(o["kernel"], list) and len(o["kernel"]) == 1:  # a signal's window: one number, a size, not k×k
            parts.append(f"크기 {k}인 필터 {f}개" if ko else f"{_count(o['filters'], 'filter') if hide != 'filters' else '? filters'} of size {k}")
        else:
            parts.append(f"{k} 필터 {f}개" if ko else f"{_count(o['filters'], 'filter') if hide != 'filters' else '? filters'} of {k}")
        stride = _size(o.get("stride", 1)) if not isinstance(o.get("stride", 1), int) else str(o.get("stride", 1))
        parts.append(("스트라이드 " if ko else "stride ") + (stride if hide != "stride" else "?"))
        parts.append(("패딩 " if ko else "padding ") + (_pad(o.get("padding", 0), ko) if hide != "padding" else "?"))
        if kind == "conv_transpose" and o.get("output_padding", 0):
            parts.append(("출력 패딩 " if ko else "output padding ") + str(o["output_padding"]))
        if o.get("dilation", 1) != 1:
            d = o["dilation"]
            parts.append(("딜레이션 " if ko else "dilation ") + (str(d) if isinstance(d, int) else _size(d)))
        if o.get("groups", 1) != 1:
            parts.append(("그룹 " if ko else "groups ") + str(o["groups"]))
        if o.get("bias", True) is False:
            parts.append("편향 없음" if ko else "no bias")
        return ", ".join(parts)
    if kind in ("maxpool", "avgpool"):
        k = _size(o["kernel"]) if hide != "kernel" else "?×?"
        sh, sw = to_layer(layer).stride  # type: ignore[union-attr, misc]
        stride = (str(sh) if sh == sw else f"{sh}×{sw}") if hide != "stride" else "?"
        parts.append(f"{k} 필터" if ko else f"{k} window")
        parts.append(("스트라이드 " if ko else "stride ") + stride)
        parts.append(("패딩 " if ko else "padding ") + _pad(o.get("padding", 0), ko))
        return ", ".join(parts)
    if kind == "dropout":
        return f"p = {o.get('p', 0.5)}"
    if kind == "upsample":
        mode = o.get("mode", "nearest")
        return f"배율 {o['scale']}, {mode}" if ko else f"scale {o['scale']}, {mode}"
    if kind == "fc":
        text = f"뉴런 {o['units']}개" if ko else _count(o["units"], "unit")
        return text + (", 편향 없음" if ko else ", no bias") * (o.get("bias", True) is False)
    return ""


def describe(layer: Any, lang: Lang, hide: str | None = None) -> str:
    """`합성곱 층: 7×7 필터 32개, 스트라이드 2, 패딩 0` / `a convolution: 32 filters of 7×7, stride 2, padding 0`."""
    text = details(layer, lang, hide)
    return f"{noun(layer, lang)}: {text}" if text else noun(layer, lang)


def _numbered(layers: list[Any], lang: Lang) -> str:
    return "\n".join(f"  {i}. {describe(layer, lang)}" for i, layer in enumerate(layers, 1))


def _input(given: dict[str, Any], lang: Lang) -> str:
    """`A 63×63×16 input goes through` / `크기가 63×63×16인 입력에`."""
    return f"크기가 {_x(given['input'])}인 입력" if lang is Lang.KO else _a(f"{_x(given['input'])} input").capitalize()


def _one_layer(given: dict[str, Any], lang: Lang, hide: str | None = None) -> str:
    layer = given["layers"][-1]
    if lang is Lang.KO:
        return f"{_input(given, lang)}에 다음 {noun(layer, lang)}을 적용합니다: {details(layer, lang, hide)}."
    return f"{_input(given, lang)} goes through {noun(layer, lang)}: {details(layer, lang, hide)}."


# (English, Korean, Korean with its topic particle: 패딩 ends in a consonant and takes 은)
ASK_WORD = {
    "stride": ("stride", "스트라이드", "스트라이드는"),
    "padding": ("padding", "패딩", "패딩은"),
    "kernel": ("filter (kernel) size", "필터(커널) 크기", "필터(커널) 크기는"),
    "filters": ("number of filters", "필터 개수", "필터 개수는"),
}


def _a(text: str) -> str:
    """`a 32×32×3` but `an 8×8×3`, `an 11×11×3`, `an 18×18×3`: the article goes by how the number is said."""
    digits = ""
    for ch in text:
        if not ch.isdigit():
            break
        digits += ch
    eight = digits.startswith("8") or (len(digits) in (2, 5) and digits[:2] in ("11", "18"))
    return f"an {text}" if eight else f"a {text}"


# ----------------------------------------------------------------------------- statements


def statement(s: Statement, lang: Lang) -> str:
    ko = lang is Lang.KO
    v = s.values
    if s.key == "out_shape":
        return f"출력 크기는 {_x(v['shape'])}입니다." if ko else f"The output shape is {_x(v['shape'])}."
    if s.key == "params":
        return f"이 층의 파라미터 수는 {_n(v['value'])}개입니다." if ko else f"The layer has {_count(v['value'], 'parameter')}."
    if s.key == "macs":
        return (f"이미지 한 장에 곱셈(MAC)이 {_n(v['value'])}번 필요합니다." if ko
                else f"It takes {_n(v['value'])} multiply-accumulates (MACs) per image.")
    if s.key in ("channels", "pool_channels"):
        return f"출력 채널 수는 {v['value']}입니다." if ko else f"The output has {_count(v['value'], 'channel')}."
    if s.key == "pool_params":
        return f"학습되는 파라미터는 {_n(v['value'])}개입니다." if ko else f"It has {_count(v['value'], 'learnable parameter')}."
    if s.key == "pool_learns":
        if v["learns"]:
            return ("합성곱의 필터처럼, 역전파로 풀링 필터의 가중치가 학습됩니다." if ko
                    else "Like a convolution's filters, its window weights are learned by backpropagation.")
        return ("학습할 가중치가 없어서 역전파로 갱신되는 값이 없습니다." if ko
                else "It has nothing to learn: backpropagation updates no weights in it.")
    if s.key == "keeps_size":
        n, k, p = v["n"], v["k"], v["p"]
        return (f"스트라이드 1, 패딩 {p}인 {k}×{k} 합성곱은 {n}×{n} 입력의 크기를 그대로 유지합니다." if ko
                else f"A {k}×{k} convolution with stride 1 and padding {p} keeps a {n}×{n} input at {n}×{n}.")
    if s.key == "rf":
        c, k, r = v["count"], v["k"], v["value"]
        return (f"스트라이드 1인 {k}×{k} 합성곱을 {c}층 쌓으면 수용 영역은 {r}×{r}입니다." if ko
                else f"{c} stacked {k}×{k} convolutions with stride 1 have a {r}×{r} receptive field.")
    if s.key == "identity_add":
        return ("이 블록의 입력을 그대로(항등 지름길로) 블록의 출력에 더할 수 있습니다." if ko
                else "The block's input can be added to its output as it is (an identity shortcut).")
    if s.key == "fits":
        return ("필터가 패딩된 입력에 딱 맞게 움직입니다. 즉 (n + 2p − f)/s가 정수라서 남는 픽셀이 없습니다." if ko
                else "The filter fits exactly: (n + 2p − f)/s is a whole number, so no pixels of the padded input are left over.")
    raise KeyError(s.key)  # pragma: no cover


def _true_false(claim: Statement, lang: Lang) -> str:
    text = statement(claim, lang)
    return f"참일까요, 거짓일까요? “{text}”" if lang is Lang.KO else f"True or false? “{text}”"


def _choices(p: Problem, lang: Lang) -> str:
    return "\n".join(f"  {'ABCD'[i]}) {statement(s, lang)}" for i, s in enumerate(p.statements))


# ----------------------------------------------------------------------------- questions


def choices(p: Problem, lang: Lang) -> list[str]:
    """The statements of a spot-the-wrong problem (answers A–D), or true and false for a true/false one:
    what an LMS shows as the options of a multiple-choice question."""
    if p.answer.kind is AnswerKind.CHOICE:
        return [statement(s, lang) for s in p.statements]
    if p.answer.kind is AnswerKind.BOOL:
        return ["참", "거짓"] if lang is Lang.KO else ["true", "false"]
    return []


def question(p: Problem, lang: Lang, with_choices: bool = True) -> str:
    """The question as a person reads it; `with_choices=False` leaves out a spot-the-wrong problem's
    lettered statements, for formats that show them as options of their own (Moodle, GIFT, QTI)."""
    ko = lang is Lang.KO
    g, f = p.given, p.facts
    shape_q = "출력 크기(높이×너비×채널)는 얼마일까요?" if ko else "What is the output shape (H×W×C)?"
    k = p.kind
    if k in ("conv_output", "pool_output", "transposed_output"):
        return f"{_one_layer(g, lang)} {shape_q}"
    if k in ("chain_output", "activations_total", "rf_stack"):
        head = (f"{_input(g, lang)}이 다음 층을 차례로 통과합니다:" if ko else f"{_input(g, lang)} goes through these layers in order:")
        if k == "rf_stack":
            head = "다음 층을 차례로 쌓았습니다:" if ko else "These layers are stacked in order:"
        tail = {
            "chain_output": "마지막 층의 출력 크기(높이×너비×채널)는 얼마일까요?" if ko else "What is the shape after the last layer (H×W×C)?",
            "activations_total": ("각 층이 출력하는 값(활성화 값)을 모두 더하면 몇 개일까요? (이미지 한 장, 입력은 제외)" if ko
                                  else "How many activations do the layers output in all, summed over every layer's output (one image, input not counted)?"),
            "rf_stack": ("마지막 층 출력의 한 픽셀이 입력에서 보는 영역, 즉 수용 영역의 한 변은 몇 픽셀일까요?" if ko
                         else "How wide is the receptive field of one output pixel of the last layer (pixels of the input, one side)?"),
        }[k]
        return f"{head}\n{_numbered(g['layers'], lang)}\n{tail}"
    if k in ("conv_missing", "pool_missing", "transposed_missing"):
        key = f["missing"]
        if ko:
            return f"{_one_layer(g, lang, hide=key)} 출력 크기는 {_x(f['output'])}입니다. {ASK_WORD[key][2]} 얼마일까요?"
        return f"{_one_layer(g, lang, hide=key)} The output is {_x(f['output'])}. What is the {ASK_WORD[key][0]}?"
    if k == "conv_valid":
        return f"{_one_layer(g, lang)} {_true_false(p.statements[0], lang)}"
    if k in ("layer_statements", "pool_statements"):
        ask = "다음 중 틀린 설명은 무엇일까요?" if ko else "Which statement is wrong?"
        return f"{_one_layer(g, lang)} {ask}" + (f"\n{_choices(p, lang)}" if with_choices else "")
    if k == "same_padding":
        layer = g["layers"][0]
        pair = p.answer.kind is AnswerKind.PAIR
        if ko:
            form = " (위아래, 좌우 패딩을 예: 1x2처럼 답하세요)" if pair else ""
            return (f"{_input(g, lang)}에 다음 합성곱 층을 적용합니다: {details(layer, lang, hide='padding')}. "
                    f"출력의 높이와 너비를 입력과 같게(동일 합성곱, same) 하려면 패딩은 얼마여야 할까요?{form}")
        form = " Give it as top/bottom × left/right, e.g. 1x2." if pair else ""
        return (f"{_input(g, lang)} goes through a convolution: {details(layer, lang, hide='padding')}. "
                f"What padding keeps the output's height and width equal to the input's (a “same” convolution)?{form}")
    if k in ("padding_claim", "params_claim", "pool_claim"):
        return f"{_one_layer(g, lang)} {_true_false(p.statements[0], lang)}"
    if k == "conv_params":
        return f"{_one_layer(g, lang)} " + ("이 층의 파라미터(가중치와 편향) 수는 모두 몇 개일까요?" if ko else "How many parameters (weights and biases) does the layer have?")
    if k == "fc_params":
        fc = g["layers"][1]
        if ko:
            return (f"크기가 {_x(g['input'])}인 특성 맵을 펼쳐서(flatten) 다음 완전 연결층에 넣습니다: {details(fc, lang)}. "
                    "이 완전 연결층의 파라미터 수는 몇 개일까요?")
        return (f"{_a(_x(g['input'])).capitalize()} feature map is flattened and fed to a fully connected layer: {details(fc, lang)}. "
                "How many parameters does the fully connected layer have?")
    if k == "bn_params":
        if ko:
            return f"크기가 {_x(g['input'])}인 특성 맵에 배치 정규화를 적용합니다. 학습되는 파라미터는 몇 개일까요?"
        return f"Batch normalization is applied to {_a(_x(g['input']))} feature map. How many learnable parameters does it have?"
    if k == "params_missing":
        if ko:
            return f"{_one_layer(g, lang, hide='filters')} 이 층의 파라미터가 {_n(f['params'])}개라면 필터는 몇 개일까요?"
        return f"{_one_layer(g, lang, hide='filters')} The layer has {_n(f['params'])} parameters. How many filters does it have?"
    if k == "conv_macs":
        return f"{_one_layer(g, lang)} " + (
            "이미지 한 장을 처리할 때 이 층의 곱셈(MAC) 횟수는 몇 번일까요? (편향 덧셈은 세지 않습니다)" if ko
            else "How many multiply-accumulates (MACs) does the layer perform for one image? (Bias additions are not counted.)"
        )
    if k == "fc_macs":
        units = _opts(g["layers"][0])[1]["units"]
        if ko:
            return f"특성 {_n(int(g['input']))}개짜리 벡터가 뉴런 {units}개의 완전 연결층을 지납니다. 곱셈(MAC) 횟수는 몇 번일까요?"
        return f"A vector of {_n(int(g['input']))} features goes through a fully connected layer with {units} units. How many multiply-accumulates (MACs) does it take?"
    if k == "bottleneck":
        direct = _opts(g["layers"][0])[1]
        kk, fl, r = direct["kernel"], direct["filters"], f["reduced"]
        if ko:
            return (f"{_input(g, lang)}에 {kk}×{kk} 동일 합성곱(필터 {fl}개, 패딩 {direct.get('padding', 0)})을 적용하려고 합니다. "
                    f"방법 1은 바로 적용하고, 방법 2는 먼저 1×1 합성곱으로 채널을 {r}개로 줄인 뒤 같은 {kk}×{kk} 합성곱을 적용합니다(병목 구조). "
                    "방법 2는 곱셈(MAC)을 몇 번 줄일까요?")
        return (f"{_input(g, lang)} needs a {kk}×{kk} “same” convolution with {fl} filters (padding {direct.get('padding', 0)}). "
                f"Option 1 applies it directly. Option 2 first reduces the channels to {r} with a 1×1 convolution, then applies the same {kk}×{kk} convolution (a bottleneck). "
                "How many multiply-accumulates (MACs) does option 2 save?")
    if k == "activations":
        return f"{_one_layer(g, lang)} " + ("이미지 한 장에 대해 이 층이 출력하는 값(활성화 값)은 모두 몇 개일까요?" if ko else "How many numbers (activations) does the layer output for one image?")
    if k == "rf_compare":
        c, n, kk = f["c"], f["count"], f["k"]
        bias = ("편향 포함" if f["bias"] else "편향 없음") if ko else ("with bias" if f["bias"] else "no bias")
        if ko:
            return (f"스트라이드 1인 3×3 합성곱 {n}개를 쌓으면 {kk}×{kk} 합성곱 하나와 수용 영역이 같습니다. "
                    f"입력과 출력 채널이 모두 {c}일 때({bias}), 3×3을 쌓은 쪽의 파라미터는 {kk}×{kk} 하나보다 몇 개 적을까요?")
        return (f"{n} stacked 3×3 convolutions (stride 1) see the same region as one {kk}×{kk} convolution. "
                f"With {c} channels in and out ({bias}), how many fewer parameters does the stack of 3×3 layers have than the single {kk}×{kk}?")
    if k == "rf_missing":
        kk, rf = f["k"], f["rf"]
        if ko:
            return f"스트라이드 1, 동일 패딩인 {kk}×{kk} 합성곱을 몇 층 쌓아야 할까요? (목표 수용 영역: 정확히 {rf}×{rf})"
        return f"How many stacked {kk}×{kk} convolutions (stride 1, same padding) give a receptive field of exactly {rf}×{rf}?"
    if k == "rf_claim":
        return _true_false(p.statements[0], lang)
    if k == "pool_value":
        if p.ask is Ask.PARAMS:
            ask = "이 풀링 층에서 학습되는 파라미터는 몇 개일까요?" if ko else "How many learnable parameters does the layer have?"
        else:
            ask = "출력의 채널 수는 얼마일까요?" if ko else "How many channels does its output have?"
        return f"{_one_layer(g, lang)} {ask}"
    if k in ("network_layer", "network_missing", "network_rf", "network_memory"):
        return _network_question(p, lang)
    if k in ("inception_output", "dense_channels", "residual_identity", "residual_projection", "decoder_crop", "decoder_concat", "conv1d", "conv3d"):
        return _structure_question(p, lang)
    if k == "memory_saved":
        first, layer = g["layers"]
        batch, dtype = _n(g["batch"]), g["dtype"]
        if ko:
            return (f"학습 중인 신경망에서 {_input(g, lang)}에 {_eul(describe(first, lang))} 적용한 뒤 {_eul(describe(layer, lang))} 적용합니다. "
                    f"배치 크기 {batch}, {dtype}일 때 두 번째 층이 역전파를 위해 저장하는 텐서는 모두 몇 바이트일까요? "
                    "(PyTorch가 저장하는 텐서 기준, 파라미터는 제외)")
        return (f"In a network being trained, {_input(g, lang)[0].lower() + _input(g, lang)[1:]} goes through {describe(first, lang)}, then {describe(layer, lang)}. "
                f"At batch {batch} in {dtype}, how many bytes does the second layer keep for the backward pass "
                "(the tensors PyTorch saves, parameters not counted)?")
    raise KeyError(k)  # pragma: no cover


_KIND_WORD = {"conv": ("convolution", "합성곱 층"), "maxpool": ("max pooling layer", "최대 풀링 층"),
              "avgpool": ("average pooling layer", "평균 풀링 층"), "fc": ("fully connected layer", "완전 연결층")}


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _network_question(p: Problem, lang: Lang) -> str:
    ko = lang is Lang.KO
    f = p.facts
    net, path, inp = f["network"], f["path"], _x(p.given["input"])
    word = _KIND_WORD[f["kind"]][ko]
    if p.kind == "network_missing":
        key = f["missing"]
        layer = f["layer_spec"]
        if ko:
            return (f"{net}(입력 {inp})의 {f['ordinal']}번째 {word}인 `{path}` 층({details(layer, lang, hide=key)})은 "
                    f"{_x(f['layer_input'])} 입력을 {_x(f['output'])} 출력으로 바꿉니다. {ASK_WORD[key][2]} 얼마일까요?")
        return (f"In {net} (input {inp}), layer `{path}`, its {_ordinal(f['ordinal'])} {word} ({details(layer, lang, hide=key)}), "
                f"turns {_x(f['layer_input'])} into {_x(f['output'])}. What is the {ASK_WORD[key][0]}?")
    if p.kind == "network_rf":
        if ko:
            return f"{net}(입력 {inp})에서 {f['ordinal']}번째 {word}인 `{path}`의 출력 한 픽셀이 입력에서 보는 영역, 즉 수용 영역의 한 변은 몇 픽셀일까요?"
        return f"In {net} (input {inp}), how wide is the receptive field of one output pixel of layer `{path}`, its {_ordinal(f['ordinal'])} {word} (pixels of the input, one side)?"
    if p.kind == "network_memory":
        batch, dtype = _n(p.given["batch"]), p.given["dtype"]
        if ko:
            return (f"입력이 {inp}인 {_eul(net)} 배치 크기 {batch}, {dtype}로 학습할 때, {f['ordinal']}번째 {word}인 {_iga(f'`{path}`')} 역전파를 위해 저장하는 텐서는 "
                    "모두 몇 바이트일까요? (PyTorch가 저장하는 텐서 기준, 파라미터는 제외, 앞 층이 이미 저장한 텐서는 세지 않음)")
        return (f"Training {net} (input {inp}) at batch {batch} in {dtype}, how many bytes does layer `{path}`, its {_ordinal(f['ordinal'])} {word}, "
                "keep for the backward pass (the tensors PyTorch saves, parameters not counted, nor a tensor an earlier layer already keeps)?")
    what = {
        Ask.OUTPUT_SHAPE: ("the output shape (H×W×C, or the number of features)", "출력 크기(높이×너비×채널, 벡터라면 특성 개수)"),
        Ask.PARAMS: ("the number of parameters", "파라미터 수"),
        Ask.MACS: ("the number of multiply-accumulates (MACs) per image", "이미지 한 장당 곱셈(MAC) 횟수"),
    }[p.ask][ko]
    if ko:
        return f"{net}(입력 {inp})에서 {f['ordinal']}번째 {word}인 `{path}`의 {what}는 얼마일까요?"
    return f"In {net} (input {inp}), what is {what} of layer `{path}`, its {_ordinal(f['ordinal'])} {word}?"


def _branch(layers: list[Any], lang: Lang) -> str:
    if not layers:
        return "입력 그대로" if lang is Lang.KO else "the input itself"
    return " → ".join(describe(layer, lang) for layer in layers)


def _structure_question(p: Problem, lang: Lang) -> str:
    """Questions on merges, decoders and other ranks (issue 17's topics)."""
    ko = lang is Lang.KO
    g, f, k = p.given, p.facts, p.kind
    if k == "inception_output":
        (merge,) = g["layers"]
        branches = merge["concat"]["branches"]
        listing = "\n".join(f"  {i}. {_branch(b, lang)}" for i, b in enumerate(branches, 1))
        if ko:
            return (f"{_input(g, lang)}이 인셉션 모듈의 가지 {len(branches)}개에 똑같이 들어가고, 가지들의 출력을 채널 방향으로 이어 붙입니다(concat):\n"
                    f"{listing}\n모듈의 출력 크기(높이×너비×채널)는 얼마일까요?")
        return (f"{_input(g, lang)} enters the {len(branches)} branches of an Inception module, whose outputs are concatenated along the channels:\n"
                f"{listing}\nWhat is the module's output shape (H×W×C)?")
    if k == "dense_channels":
        unit = g["layers"][0]["concat"]["branches"][1]
        if ko:
            return (f"DenseNet의 덴스 블록: {_input(g, lang)}에서 시작해, 층마다 입력을 ({_branch(unit, lang)})에 통과시킨 출력을 입력 뒤에 이어 붙입니다(concat). "
                    f"이런 층이 {f['count']}개일 때 블록 출력의 채널 수는 얼마일까요?")
        return (f"A DenseNet dense block: starting from {_input(g, lang)[0].lower() + _input(g, lang)[1:]}, each layer concatenates its input with "
                f"the output of {_branch(unit, lang)}. With {f['count']} such layers, how many channels does the block output?")
    if k in ("residual_identity", "residual_projection"):
        listing = _numbered(g["layers"], lang)
        head = (f"{_input(g, lang)}이 잔차 블록의 다음 층들을 지나고, 그 출력에 블록의 입력을 더합니다(지름길 연결):\n{listing}\n" if ko
                else f"{_input(g, lang)} goes through these layers of a residual block, and the block's input is added to their output (the shortcut):\n{listing}\n")
        if k == "residual_identity":
            return head + _true_false(p.statements[0], lang)
        if ko:
            return head + "모양이 맞지 않아 지름길에 1×1 합성곱(projection)을 둡니다. 필터 개수와 스트라이드는 얼마일까요? (필터 개수x스트라이드, 예: 128x2)"
        return head + "The shapes differ, so the shortcut gets a 1×1 convolution (a projection). How many filters and what stride? (filters x stride, e.g. 128x2)"
    if k in ("decoder_crop", "decoder_concat"):
        layers = g["layers"]
        up = _branch(layers, lang)
        skip = _x(g["skip"])
        crop = f["crop"] > 0
        if ko:
            text = (f"U-Net의 디코더: {_x(g['input'])} 특징 맵이 {up}을 지납니다. 그 출력을 인코더의 {skip} 특징 맵"
                    + (" (가운데를 잘라 크기를 맞춘 것)" if crop else "") + "과 채널 방향으로 이어 붙입니다(concat). ")
            if k == "decoder_crop":
                return text + "인코더의 특징 맵을 각 변에서 몇 픽셀씩 잘라내야 할까요?"
            return text + "이어 붙인 출력의 크기(높이×너비×채널)는 얼마일까요?"
        text = (f"In a U-Net decoder, a {_x(g['input'])} map goes through {up}. The result is concatenated along the channels with the encoder's {skip} map"
                + (", centre-cropped to the same size" if crop else "") + ". ")
        if k == "decoder_crop":
            return text + "How many pixels are cut from each side of the encoder's map?"
        return text + "What is the shape after the concatenation (H×W×C)?"
    # conv1d, conv3d
    (layer,) = g["layers"]
    what = ("신호(길이×채널)" if ko else "signal (length × channels)") if k == "conv1d" else ("볼륨(깊이×높이×너비×채널)" if ko else "volume (depth × height × width × channels)")
    form = "길이×채널" if k == "conv1d" else "깊이×높이×너비×채널"
    form_en = "L×C" if k == "conv1d" else "D×H×W×C"
    if ko:
        ask = f"출력 크기({form})는 얼마일까요?" if p.ask is Ask.OUTPUT_SHAPE else "이 층의 파라미터(가중치와 편향) 수는 모두 몇 개일까요?"
        return f"크기가 {_x(g['input'])}인 {what}에 다음 {'1차원' if k == 'conv1d' else '3차원'} 합성곱 층을 적용합니다: {details(layer, lang)}. {ask}"
    ask = f"What is the output shape ({form_en})?" if p.ask is Ask.OUTPUT_SHAPE else "How many parameters (weights and biases) does the layer have?"
    text = f"{_a(_x(g['input']))} {what} goes through a {'1-D' if k == 'conv1d' else '3-D'} convolution: {details(layer, lang)}. {ask}"
    return text[0].upper() + text[1:]


def answer_hint(p: Problem, lang: Lang) -> str:
    """How to type the answer, shown at the prompt."""
    ko = lang is Lang.KO
    if p.ask is Ask.PROJECTION:
        return "예: 128x2" if ko else "filters x stride, e.g. 128x2"
    if p.answer.kind is AnswerKind.SHAPE and len(p.answer.value) != 3:
        example = "998x32" if len(p.answer.value) == 2 else "8x56x56x64"
        return f"예: {example}" if ko else f"e.g. {example}"
    return {
        AnswerKind.SHAPE: "예: 29x29x32" if ko else "e.g. 29x29x32",
        AnswerKind.PAIR: "예: 1x2" if ko else "e.g. 1x2",
        AnswerKind.INT: "숫자" if ko else "a number",
        AnswerKind.BOOL: "참/거짓 또는 t/f" if ko else "true/false or t/f",
        AnswerKind.CHOICE: "A-D",
    }[p.answer.kind]


def answer_text(p: Problem, lang: Lang) -> str:
    a = p.answer
    if a.kind is AnswerKind.BOOL:
        return ("참" if a.value else "거짓") if lang is Lang.KO else ("true" if a.value else "false")
    if a.kind in (AnswerKind.SHAPE, AnswerKind.PAIR):
        return _x(a.text())
    return a.text()


# ----------------------------------------------------------------------------- worked solutions


def _sliding_lines(st: dict[str, Any], lang: Lang, prefix: str = "") -> list[str]:
    """One layer's worked step: the formula per side with the numbers in place, then the shape."""
    ko = lang is Lang.KO
    kind = st["kind"]
    if kind == "flatten":
        return [f"{prefix}{'평탄화' if ko else 'flatten'}: {st['expr']} = {_n(int(st['output']))}"]
    if kind in ("fc", "batchnorm", "relu", "tanh", "sigmoid"):
        return [f"{prefix}{noun(st['layer'], lang)} → {_x(st['output'])}"]
    lines = []
    if kind == "conv_transpose":
        formula = "(n − 1)·s − 2p + d(f − 1) + output_padding + 1"
    elif st.get("dilated"):
        formula = "(n + 2p − d(f − 1) − 1)/s + 1"
    else:
        formula = "(n + 2p − f)/s + 1"
    if st.get("floored"):
        formula = f"⌊{formula.removesuffix(' + 1')}⌋ + 1"
    lines.append(f"{prefix}{'한 변의 출력 크기' if ko else 'each side'} = {formula}")
    side = "  " + " " * len(prefix)
    if st.get("floored"):
        st = {**st, "height": f"⌊{st['height'].removesuffix(' + 1')}⌋ + 1", "width": f"⌊{st['width'].removesuffix(' + 1')}⌋ + 1"}
    if st["height"] == st["width"]:
        lines.append(f"{side}{'높이 = 너비' if ko else 'height = width'}: {st['height']} = {st['out_h']}")
    else:
        lines.append(f"{side}{'높이' if ko else 'height'}: {st['height']} = {st['out_h']}")
        lines.append(f"{side}{'너비' if ko else 'width'}: {st['width']} = {st['out_w']}")
    if st.get("floored"):
        lines.append(f"{side}{'(나눗셈이 나누어떨어지지 않으면 PyTorch는 내림합니다)' if ko else '(the division does not come out even: PyTorch rounds down)'}")
    c = st["channels"]
    if st["channels_from"] == "filters":
        lines.append(f"{side}{f'채널 수 = 필터 개수 = {c}' if ko else f'channels = number of filters = {c}'}")
    else:
        lines.append(f"{side}{f'풀링은 채널마다 따로 적용되므로 채널 수는 그대로 {c}' if ko else f'pooling works on each channel separately: the channels stay {c}'}")
    lines.append(f"{side}→ {_x(st['output'])}")
    return lines


def _steps_lines(steps: list[dict[str, Any]], lang: Lang) -> list[str]:
    if len(steps) == 1:
        return _sliding_lines(steps[0], lang)
    out = []
    for i, st in enumerate(steps, 1):
        out += _sliding_lines(st, lang, prefix=f"{i}. {noun(st['layer'], lang)} — ")
    return out


def solution(p: Problem, lang: Lang) -> list[str]:
    ko = lang is Lang.KO
    f, k = p.facts, p.kind
    if k in ("conv_output", "pool_output", "transposed_output", "chain_output"):
        return _steps_lines(f["steps"], lang)
    if k in ("conv_missing", "pool_missing", "transposed_missing"):
        key = f["missing"]
        word = ASK_WORD[key][1] if ko else ASK_WORD[key][0]
        check = (f"{word} = {p.answer.text()}일 때 확인:" if ko else f"check with {word} = {p.answer.text()}:")
        only = (f"{word} 값을 하나 늘리거나 줄이면 출력 크기가 달라집니다." if ko else f"one more or one less gives a different size than {_x(f['output'])}.")
        return [check] + ["  " + line for line in _steps_lines(f["steps"], lang)] + [only]
    if k == "conv_valid":
        s, num, rem = f["stride"], f["numerator"], f["remainder"]
        lines = _steps_lines(f["steps"], lang)
        if rem == 0:
            lines.append(f"{num}/{s}의 결과가 정수이므로 남는 픽셀이 없습니다: 참." if ko else f"{num}/{s} is a whole number, so nothing is left over: true.")
        else:
            lines.append(
                f"{num}/{s}의 결과가 정수가 아닙니다(나머지 {rem}). PyTorch는 나눗셈을 내림하므로 출력 한 변의 크기는 {f['steps'][0]['out_h']}입니다. "
                f"마지막 {rem}픽셀은 어떤 필터 위치에도 들어가지 않습니다: 거짓."
                if ko else
                f"{num}/{s} is not a whole number (remainder {rem}). PyTorch rounds down to {f['steps'][0]['out_h']} and the last {rem} pixel(s) are never covered: false."
            )
        return lines
    if k in ("layer_statements", "pool_statements"):
        wrong = p.statements["ABCD".index(p.answer.value)]
        lines = _steps_lines(f["steps"], lang)
        if k == "layer_statements":
            lines.append(f"{'파라미터' if ko else 'parameters'}: {f['params_expr']} = {_n(f['params'])}")
            lines.append(f"MACs: {f['macs_expr']} = {_n(f['macs'])}")
        else:
            lines += _pool_fact_lines(p, lang)
        lines.append(f"{'틀린 설명' if ko else 'wrong'}: {p.answer.value}) {statement(wrong, lang)}")
        return lines
    if k == "same_padding":
        (kh, kw), (dh, dw), (sh, sw), (ph, pw) = f["kernel"], f["dilation"], f["span"], f["padding"]
        lines = []
        if (dh, dw) != (1, 1):
            lines.append(f"{'딜레이션을 적용한 필터의 폭' if ko else 'span of the dilated filter'} = d(f − 1) + 1 = {dh}·({kh} − 1) + 1 = {sh}"
                         + ("" if (kh, dh) == (kw, dw) else f", {dw}·({kw} − 1) + 1 = {sw}"))
        lines.append(("스트라이드 1에서 n + 2p − f + 1 = n 이려면 p = (f − 1)/2" if ko else "at stride 1, n + 2p − f + 1 = n needs p = (f − 1)/2"))
        lines.append(f"p = ({sh} − 1)/2 = {ph}" + ("" if (kh, dh) == (kw, dw) else f";  p_w = ({sw} − 1)/2 = {pw}"))
        lines += _steps_lines(f["steps"], lang)
        return lines
    if k == "padding_claim":
        lines = _steps_lines(f["steps"], lang)
        top, bottom, left, right = f["same"]
        if top != bottom:
            lines.append(f"짝수 크기 필터는 위아래 {top}, {bottom}처럼 패딩을 비대칭으로 나눠야 크기가 유지됩니다." if ko
                         else f"An even filter needs uneven padding ({top} and {bottom}) to keep the size; no single p does it.")
        else:
            lines.append(f"크기를 유지하는 패딩은 (f − 1)/2 = {top}입니다." if ko else f"The padding that keeps the size is (f − 1)/2 = {top}.")
        lines.append(f"→ {'참' if p.answer.value else '거짓'}" if ko else f"→ {'true' if p.answer.value else 'false'}")
        return lines
    if k in ("conv_params", "params_missing", "params_claim"):
        layer = p.given["layers"][0]
        o = _opts(layer)[1]
        g = o.get("groups", 1)
        if o.get("bias", True):
            formula = ("(필터 높이·너비·입력 채널" + ("/그룹" if g > 1 else "") + " + 편향 1)·필터 개수") if ko else ("(f_h·f_w·c" + "/groups" * (g > 1) + " + 1 bias)·filters")
        else:
            formula = ("필터 높이·너비·입력 채널" + ("/그룹" if g > 1 else "") + "·필터 개수 (편향 없음)") if ko else ("f_h·f_w·c" + "/groups" * (g > 1) + "·filters (no bias)")
        value = f.get("params", p.answer.value)
        lines = [f"{'파라미터 수' if ko else 'parameters'} = {formula}", f"  {f['expr']} = {_n(value)}"]
        lines.append("입력 크기는 파라미터 수와 상관없습니다: 같은 필터를 모든 위치에서 공유합니다." if ko
                     else "The input's height and width do not matter: the same filters are shared over every position.")
        if k == "params_missing":
            lines.append(f"→ {'필터' if ko else 'filters'} = {o['filters']}")
        if k == "params_claim":
            lines.append(f"→ {'참' if p.answer.value else '거짓'}" if ko else f"→ {'true' if p.answer.value else 'false'}")
        return lines
    if k == "fc_params":
        return [
            (f"평탄화: {f['flatten']} = {_n(f['features'])}개의 입력" if ko else f"flatten: {f['flatten']} = {_n(f['features'])} inputs"),
            f"{'파라미터 수 = (입력 개수 + 편향 1)·뉴런 수' if ko else 'parameters = (inputs + 1 bias)·units'}" if "+ 1" in f["expr"]
            else f"{'파라미터 수 = 입력 개수·뉴런 수 (편향 없음)' if ko else 'parameters = inputs·units (no bias)'}",
            f"  {f['expr']} = {_n(p.answer.value)}",
        ]
    if k == "bn_params":
        return [
            (f"채널마다 스케일 γ와 시프트 β 두 개: {f['expr']} = {_n(p.answer.value)}" if ko
             else f"two per channel, the scale γ and the shift β: {f['expr']} = {_n(p.answer.value)}"),
            (f"이동 평균과 이동 분산({_n(f['running'])}개)은 저장되지만 학습되지 않으므로 파라미터가 아닙니다(PyTorch의 buffer)." if ko
             else f"The running mean and variance ({_n(f['running'])} values) are stored but not learned: torch keeps them as buffers, not parameters."),
        ]
    if k == "conv_macs":
        return _steps_lines(f["steps"], lang) + [
            ("MAC = 출력 높이·출력 너비·필터 높이·필터 너비·입력 채널·필터 개수" if ko else "MACs = H_out·W_out·f_h·f_w·c·filters (one per weight per output position)"),
            f"  {f['expr']} = {_n(p.answer.value)}",
        ]
    if k == "fc_macs":
        return [("MAC = 입력 개수·뉴런 수" if ko else "MACs = inputs·units (one per weight)"), f"  {f['expr']} = {_n(p.answer.value)}"]
    if k == "bottleneck":
        (m1, m2), (e1, e2) = f["parts"], f["parts_expr"]
        return [
            (f"방법 1: {f['direct_expr']} = {_n(f['direct'])}" if ko else f"option 1: {f['direct_expr']} = {_n(f['direct'])}"),
            (f"방법 2: 1×1 합성곱 {e1} = {_n(m1)}, 이어서 {e2} = {_n(m2)}, 합계 {_n(f['cheap'])}" if ko
             else f"option 2: the 1×1 convolution {e1} = {_n(m1)}, then {e2} = {_n(m2)}, in all {_n(f['cheap'])}"),
            (f"줄어든 곱셈: {_n(f['direct'])} − {_n(f['cheap'])} = {_n(p.answer.value)}" if ko
             else f"saved: {_n(f['direct'])} − {_n(f['cheap'])} = {_n(p.answer.value)}"),
        ]
    if k == "activations":
        st = f["steps"][0]
        lines = _steps_lines(f["steps"], lang)
        expr = "·".join(_x(st["output"]).split("×"))
        lines.append((f"출력 값의 개수 = {expr} = {_n(p.answer.value)}" if ko else f"activations = {expr} = {_n(p.answer.value)}"))
        return lines
    if k == "activations_total":
        lines = _steps_lines(f["steps"], lang)
        terms = " + ".join("·".join(_x(st["output"]).split("×")) for st in f["steps"])
        lines.append(f"{'합계' if ko else 'sum'}: {terms} = {_n(p.answer.value)}")
        return lines
    if k == "memory_saved":
        return _memory_lines(p, lang)
    if k in ("rf_stack", "rf_missing", "rf_claim"):
        return _rf_lines(p, lang)
    if k == "rf_compare":
        n, kk = f["count"], f["k"]
        return [
            (f"{kk}×{kk} 하나: {f['big_expr']} = {_n(f['big'])}" if ko else f"one {kk}×{kk}: {f['big_expr']} = {_n(f['big'])}"),
            (f"3×3 하나: {f['small_expr']} = {_n(f['small'])}, {n}개면 {_n(f['small_total'])}" if ko
             else f"one 3×3: {f['small_expr']} = {_n(f['small'])}; {n} of them: {_n(f['small_total'])}"),
            (f"차이: {_n(f['big'])} − {_n(f['small_total'])} = {_n(p.answer.value)}" if ko else f"difference: {_n(f['big'])} − {_n(f['small_total'])} = {_n(p.answer.value)}"),
            (f"수용 영역은 둘 다 {f['rf_big']}×{f['rf_big']}: 1 + {n}·(3 − 1) = {f['rf_small']}" if ko
             else f"both see {f['rf_big']}×{f['rf_big']}: 1 + {n}·(3 − 1) = {f['rf_small']}; the stack also has {n} nonlinearities instead of one"),
        ]
    if k in ("pool_value", "pool_claim"):
        lines = _steps_lines(f["steps"], lang) + _pool_fact_lines(p, lang)
        if k == "pool_claim":
            lines.append(f"→ {'참' if p.answer.value else '거짓'}" if ko else f"→ {'true' if p.answer.value else 'false'}")
        return lines
    if k in ("network_layer", "network_missing", "network_rf", "network_memory"):
        return _network_lines(p, lang)
    if k in ("inception_output", "dense_channels", "residual_identity", "residual_projection", "decoder_crop", "decoder_concat", "conv1d", "conv3d"):
        return _structure_lines(p, lang)
    raise KeyError(k)  # pragma: no cover


_DIGIT_BATCHIM = {"0": True, "1": True, "2": False, "3": True, "4": False, "5": False, "6": True, "7": True, "8": True, "9": False}


def _batchim(text: str) -> bool:
    """Whether `text` ends in a final consonant as read aloud (digits as read: 영, 일, 이 …): what picks a particle."""
    last = text.rstrip().rstrip("`")[-1:]
    if "가" <= last <= "힣":
        return (ord(last) - 0xAC00) % 28 != 0
    return _DIGIT_BATCHIM.get(last, last.lower() in "lmnr")  # ReLU → 렐루를; a word in letters by its sound


def _eul(text: str) -> str:
    """`text` with the object particle it takes: 을 after a final consonant, 를 after a vowel."""
    return f"{text}{'을' if _batchim(text) else '를'}"


def _iga(text: str) -> str:
    """`text` with the subject particle it takes: 이 after a final consonant, 가 after a vowel."""
    return f"{text}{'이' if _batchim(text) else '가'}"


# What each kind keeps, in words (the README's table of memory rules, for the layers the quiz asks about).
_KEEPS = {
    "relu": ("ReLU keeps its output: its gradient passes where the output is positive", "ReLU는 출력을 저장합니다: 출력이 양수인 곳으로만 기울기가 흐릅니다"),
    "sigmoid": ("a sigmoid keeps its output: σ′ = σ(1 − σ)", "시그모이드는 출력을 저장합니다: σ′ = σ(1 − σ)"),
    "maxpool": ("max pooling keeps its input and the int64 index of each maximum", "최대 풀링은 입력과 각 최댓값의 위치(int64 인덱스)를 저장합니다"),
    "avgpool": ("average pooling keeps its input", "평균 풀링은 입력을 저장합니다"),
    "conv": ("a convolution keeps its input: the weights' gradient needs it", "합성곱 층은 입력을 저장합니다: 가중치의 기울기 계산에 필요합니다"),
    "batchnorm": ("batch norm keeps its input and the batch's mean and 1/σ per channel", "배치 정규화는 입력과 채널별 배치 평균, 1/σ를 저장합니다"),
    "dropout": ("dropout keeps its mask, one value per input value", "드롭아웃은 마스크(입력 값마다 하나)를 저장합니다"),
    "fc": ("a fully connected layer keeps its input: the weights' gradient needs it", "완전 연결층은 입력을 저장합니다: 가중치의 기울기 계산에 필요합니다"),
}


def _memory_lines(p: Problem, lang: Lang) -> list[str]:
    ko = lang is Lang.KO
    f, g = p.facts, p.given
    kind = f["kind"] if p.kind == "network_memory" else _opts(g["layers"][1])[0]
    batch, size = g["batch"], f["itemsize"]
    dims = {"input": f["in"], "output": f["out"], "index": f["out"], "value": f["in"]}
    lines = [_KEEPS[kind][ko]]
    for what, elements, fixed, kept_type, nbytes in f["parts"]:
        if kept_type == "statistic":
            item = max(size, 4)
            expr = f"2·{fixed // 2} × {item}"
            label = "채널별 평균과 1/σ (float32 이상)" if ko else "mean and 1/σ per channel (at least float32)"
        else:
            item = 8 if kept_type == "index" else size
            expr = f"{batch}·{'·'.join(_x(dims.get(what if what in dims else kept_type, f['in'])).split('×'))} × {item}"
            label = {
                "input": ("입력", "its input"), "output": ("출력", "its output"), "padded input": ("패딩된 입력", "its padded input"),
                "index": ("최댓값 인덱스 (int64, 8바이트)", "the indices (int64, 8 bytes)"), "value": ("마스크", "its mask"),
            }[what if what in ("input", "output", "padded input") else kept_type][0 if ko else 1]
        lines.append(f"  {label}: {expr} = {_n(nbytes)}")
    if kind in ("conv", "maxpool", "avgpool", "batchnorm", "fc") and not any(part[0] in ("input", "padded input") for part in f["parts"]):
        lines.append("  입력은 앞 층이 이미 저장하고 있어서 여기서는 세지 않습니다 (같은 텐서는 한 번만)" if ko
                     else "  its input is kept already by an earlier layer, and counts there (the same tensor counts once)")
    if len(f["parts"]) > 1:
        total = " + ".join(_n(part[4]) for part in f["parts"])
        lines.append(f"  {'합계' if ko else 'in all'}: {total} = {_n(p.answer.value)}")
    unit = f"{g['dtype']}: 값 하나에 {size}바이트" if ko else f"{g['dtype']}: {size} bytes per value"
    lines.append(f"  ({unit})")
    return lines


def _structure_lines(p: Problem, lang: Lang) -> list[str]:
    ko = lang is Lang.KO
    g, f, k = p.given, p.facts, p.kind
    if k == "inception_output":
        out = f["out"].split("x")
        channels = " + ".join(str(c) for c in f["branch_channels"])
        return [
            ("가지마다 마지막 층의 출력 채널: " if ko else "each branch's last layer gives its channels: ") + ", ".join(map(str, f["branch_channels"])),
            ("모든 가지가 높이와 너비를 유지하므로(1×1, 패딩 1인 3×3, 패딩 2인 5×5, 스트라이드 1 풀링) 크기는 " if ko
             else "every branch keeps the height and width (1×1, 3×3 with padding 1, 5×5 with padding 2, pooling with stride 1): ")
            + f"{out[0]}×{out[1]}",
            (f"concat은 채널을 더합니다: {channels} = {out[2]}" if ko else f"concat adds the channels: {channels} = {out[2]}"),
            f"→ {_x(f['out'])}",
        ]
    if k == "dense_channels":
        c0, growth, count = f["c0"], f["growth"], f["count"]
        return [
            (f"층마다 입력에 성장률(growth rate) {growth}개의 채널이 붙습니다" if ko else f"each layer appends its {growth} new channels (the growth rate) to its input"),
            f"{c0} + {count}·{growth} = {p.answer.value}",
        ]
    if k in ("residual_identity", "residual_projection"):
        lines = [(f"블록 입력 {_x(f['in'])}, 층들을 지난 출력 {_x(f['out'])}" if ko else f"block input {_x(f['in'])}, output of the layers {_x(f['out'])}")]
        if k == "residual_identity":
            same = p.answer.value
            lines.append(("크기와 채널이 같으므로 그대로 더할 수 있습니다 → 참" if same else "크기나 채널이 달라서 그대로 더할 수 없습니다 → 거짓") if ko
                         else ("the same size and channels: they add as they are → true" if same else "the sizes or channels differ: they cannot be added as they are → false"))
            return lines
        filters, stride = p.answer.value
        lines += [
            (f"채널을 맞추려면 필터 {filters}개, 크기를 맞추려면 스트라이드 {stride}" if ko
             else f"{filters} filters to match the channels, stride {stride} to match the size"),
            (f"확인: 1×1 합성곱, 스트라이드 {stride}: {_x(f['in'])} → {_x(f['projected'])}" if ko
             else f"check: a 1×1 convolution with stride {stride}: {_x(f['in'])} → {_x(f['projected'])}"),
        ]
        return lines
    if k in ("decoder_crop", "decoder_concat"):
        lines = [(f"디코더 층을 지난 결과: {_x(g['input'])} → {_x(f['up'])}" if ko else f"through the decoder's layers: {_x(g['input'])} → {_x(f['up'])}")]
        if _opts(g["layers"][0])[0] == "conv_transpose":
            n = g["input"].split("x")[0]
            lines.append(f"  ({n} − 1)·2 − 2·0 + (2 − 1) + 1 = {f['up'].split('x')[0]}")
        if f["crop"]:
            skip, up = g["skip"].split("x")[0], f["up"].split("x")[0]
            lines.append((f"자를 양: ({skip} − {up})/2 = 각 변에서 {f['crop']}픽셀 → {_x(f['cropped'])}" if ko
                          else f"crop: ({skip} − {up})/2 = {f['crop']} pixels from each side → {_x(f['cropped'])}"))
        cropped_c, up_c, out_c = f["cropped"].split("x")[2], f["up"].split("x")[2], f["out"].split("x")[2]
        lines.append((f"concat은 채널을 더합니다: {cropped_c} + {up_c} = {out_c} → {_x(f['out'])}" if ko
                      else f"concat adds the channels: {cropped_c} + {up_c} = {out_c} → {_x(f['out'])}"))
        return lines
    (layer,) = g["layers"]
    _, o = _opts(layer)
    sizes = g["input"].split("x")
    kernel = o["kernel"]
    stride = o.get("stride", [1] * len(kernel))
    padding = o.get("padding", [0] * len(kernel))
    names = (["길이"] if ko else ["length"]) if k == "conv1d" else (["깊이", "높이", "너비"] if ko else ["depth", "height", "width"])
    if p.ask is Ask.OUTPUT_SHAPE:
        lines = ["축마다 ⌊(n + 2p − f)/s⌋ + 1" if ko else "each axis: ⌊(n + 2p − f)/s⌋ + 1"]
        outs = f["out"].split("x")
        for i, name in enumerate(names):
            lines.append(f"  {name}: ⌊({sizes[i]} + 2·{padding[i]} − {kernel[i]})/{stride[i]}⌋ + 1 = {outs[i]}")
        lines.append(f"  {'채널 수 = 필터 개수' if ko else 'channels = number of filters'} = {o['filters']}")
        lines.append(f"→ {_x(f['out'])}")
        return lines
    window = "·".join(map(str, kernel))
    return [(f"파라미터 수: ({window}·{sizes[-1]} + 1)·{o['filters']} = {_n(p.answer.value)}" if ko
             else f"parameters: ({window}·{sizes[-1]} + 1)·{o['filters']} = {_n(p.answer.value)}")]


def _pool_fact_lines(p: Problem, lang: Lang) -> list[str]:
    ko = lang is Lang.KO
    f = p.facts
    return [
        (f"풀링은 필터 안의 최댓값이나 평균만 계산하므로 학습할 가중치가 없습니다: 파라미터 {f['params']}개." if ko
         else f"Pooling only takes the max or the mean of each window: nothing is learned, {f['params']} parameters."),
        (f"채널마다 따로 적용되므로 채널 수는 입력과 같은 {f['channels']}입니다." if ko
         else f"It works on each channel separately, so the output keeps the input's {f['channels']} channels."),
    ]


def _rf_lines(p: Problem, lang: Lang) -> list[str]:
    ko = lang is Lang.KO
    lines = [("수용 영역 r은 1에서 시작해 층마다 r ← r + (k − 1)·j, j ← j·s (j: 지금까지 스트라이드의 곱, k: 딜레이션을 반영한 필터 크기)" if ko
              else "start at r = 1, j = 1; per layer r ← r + (k − 1)·j and j ← j·s (j: product of the strides so far, k: the filter's span with dilation)")]
    for i, st in enumerate(p.facts["steps"], 1):
        jump = f", j → {st['next_jump']}" if st["next_jump"] != st["jump"] else ""
        lines.append(f"  {i}. {noun(st['layer'], lang)} (k = {st['k_eff']}): r = {st['before']} + ({st['k_eff']} − 1)·{st['jump']} = {st['rf']}{jump}")
    rf = p.facts["steps"][-1]["rf"]
    lines.append(f"→ {'수용 영역' if ko else 'receptive field'} {rf}×{rf}")
    if p.kind == "rf_missing":
        lines.append((f"스트라이드 1이면 r = 1 + L·(k − 1)이므로 L = {p.answer.value}" if ko
                      else f"at stride 1, r = 1 + L·(k − 1), so L = {p.answer.value}"))
    if p.kind == "rf_claim":
        lines.append(f"→ {'참' if p.answer.value else '거짓'}" if ko else f"→ {'true' if p.answer.value else 'false'}")
    return lines


def _network_lines(p: Problem, lang: Lang) -> list[str]:
    ko = lang is Lang.KO
    f = p.facts
    layer = f["layer_spec"]
    lines = [(f"`{f['path']}`의 입력은 {_x(f['layer_input'])}입니다 ({describe(layer, lang)})." if ko
              else f"`{f['path']}` receives {_x(f['layer_input'])} ({describe(layer, lang)}).")]
    if p.kind == "network_rf":
        return lines + _rf_lines(p, lang)
    if p.kind == "network_memory":
        return lines + _memory_lines(p, lang)
    if p.kind == "network_missing":
        key = f["missing"]
        lines += [("확인:" if ko else "check:")] + ["  " + line for line in _sliding_lines(f["step"], lang)]
        lines.append(f"{ASK_WORD[key][1] if ko else ASK_WORD[key][0]} = {p.answer.text()}")
        return lines
    if p.ask is Ask.OUTPUT_SHAPE:
        if f["step"] is not None:
            lines += _sliding_lines(f["step"], lang)
        else:
            lines.append(f"→ {answer_text(p, lang)}")
        return lines
    if p.ask is Ask.PARAMS:
        lines.append(f"{'파라미터 수' if ko else 'parameters'}: {f['expr']} = {_n(p.answer.value)}")
    else:
        lines.append(f"MACs: {f['expr']} = {_n(p.answer.value)}")
    return lines


# ----------------------------------------------------------------------------- documents


def topic_label(topic: QuizTopic, lang: Lang) -> str:
    ko = {
        QuizTopic.CONV: "합성곱 출력 크기", QuizTopic.POOL: "풀링 출력 크기", QuizTopic.TRANSPOSED: "전치 합성곱",
        QuizTopic.PADDING: "패딩", QuizTopic.PARAMS: "파라미터 수", QuizTopic.MACS: "곱셈 횟수",
        QuizTopic.ACTIVATIONS: "활성화 크기", QuizTopic.RECEPTIVE_FIELD: "수용 영역", QuizTopic.POOL_FACTS: "풀링의 성질",
        QuizTopic.NETWORK: "유명한 신경망", QuizTopic.MEMORY: "역전파 메모리",
        QuizTopic.CONCAT: "채널 이어 붙이기", QuizTopic.RESIDUAL: "잔차 연결", QuizTopic.DECODER: "디코더와 업샘플링",
        QuizTopic.RANKS: "1차원·3차원 합성곱",
    }
    return ko[topic] if lang is Lang.KO else str(topic)


def problem_json(p: Problem, lang: Lang) -> dict[str, Any]:
    """The fields `cnncalc quiz --format json` writes for each problem, exactly these six."""
    return {
        "topic": str(p.topic),
        "question": question(p, lang),
        "answer": p.answer.json(),
        "solution": "\n".join(solution(p, lang)),
        "given": p.given,
        "ask": str(p.ask),
    }


def to_json(problems: list[Problem], lang: Lang) -> str:
    out = io.StringIO()
    write_json(problems, lang, out)
    return out.getvalue()


_encode = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(..., ensure_ascii=False) builds an encoder per call


def write_json(problems: Iterable[Problem], lang: Lang, out: TextIO) -> None:
    """A JSON list, one problem per line: easy to diff and to split, and json's fast (C) encoder only runs
    without indent. Written problem by problem, as they come."""
    first = True
    for p in problems:
        out.write(("[\n  " if first else ",\n  ") + _encode(problem_json(p, lang)))
        first = False
    out.write("[]\n" if first else "\n]\n")


def header(lang: Lang, difficulty: Difficulty | None, seed: int, count: int) -> str:
    """The set's first line; no difficulty for problems about a given network (`--spec`), which has none."""
    ko = lang is Lang.KO
    level = ({"easy": "쉬움", "medium": "보통", "hard": "어려움"}[str(difficulty)] if ko else str(difficulty)) if difficulty else None
    if ko:
        parts = [f"{count}문제", *([f"난이도 {level}"] if level else []), f"시드 {seed}"]
        return " · ".join(parts) + f" (같은 옵션에 --seed {seed} 옵션을 더하면 같은 문제가 다시 나옵니다)"
    parts = [_count(count, "problem"), *([f"difficulty {level}"] if level else []), f"seed {seed}"]
    return " · ".join(parts) + f" (the same options with --seed {seed} give the same problems again)"


def to_markdown(problems: list[Problem], lang: Lang, difficulty: Difficulty, seed: int) -> str:
    out = io.StringIO()
    write_markdown(problems, lang, difficulty, seed, len(problems), out, io.StringIO())
    return out.getvalue()


def write_markdown(problems: Iterable[Problem], lang: Lang, difficulty: Difficulty, seed: int, count: int, out: TextIO, key: TextIO) -> None:
    """The worksheet, then the answer key: the key is written to `key` as the problems come, and appended."""
    ko = lang is Lang.KO
    out.write("\n".join(["# CNN 계산 연습 문제" if ko else "# CNN arithmetic worksheet", "", header(lang, difficulty, seed, count), ""]) + "\n")
    for i, p in enumerate(problems, 1):
        q = question(p, lang).replace("\n", "  \n")
        out.write(f"**{i}.** ({topic_label(p.topic, lang)}) {q}\n\n")
        lines = [f"**{i}.** {'정답' if ko else 'Answer'}: **{answer_text(p, lang)}**", ""]
        lines += [f"    {line}" for line in solution(p, lang)]
        key.write(("\n" if i > 1 else "") + "\n".join(lines) + "\n")
    out.write("---\n\n" + ("## 정답과 풀이" if ko else "## Answer key") + "\n\n")
    key.seek(0)
    shutil.copyfileobj(key, out)


def to_text(problems: list[Problem], lang: Lang, difficulty: Difficulty, seed: int) -> str:
    """The worksheet with answers and solutions under each question: what a pipe gets by default."""
    out = io.StringIO()
    write_text(problems, lang, difficulty, seed, len(problems), out)
    return out.getvalue()


def write_text(problems: Iterable[Problem], lang: Lang, difficulty: Difficulty | None, seed: int, count: int, out: TextIO,
               fold: Callable[[str], str] | None = None) -> None:
    """`to_text` problem by problem; `fold` fits long lines to a screen (the CLI passes its layout's)."""
    ko = lang is Lang.KO

    def put(lines: list[str]) -> None:
        text = "\n".join(lines)
        out.write((fold(text) if fold else text) + "\n")

    put([header(lang, difficulty, seed, count)])
    for i, p in enumerate(problems, 1):
        lines = ["", f"{i}. [{topic_label(p.topic, lang)}] {question(p, lang)}", f"   {'정답' if ko else 'Answer'}: {answer_text(p, lang)}"]
        lines += [f"     {line}" for line in solution(p, lang)]
        put(lines)


__all__ = ["answer_hint", "answer_text", "choices", "describe", "topic_label", "problem_json", "question", "solution", "to_json", "to_markdown", "to_text", "write_json", "write_markdown", "write_text"]
