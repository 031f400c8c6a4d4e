"""Quiz sets for course platforms (issue 17): each export is read back by an independent reader — Moodle XML
against the structure Moodle's importer requires, GIFT through a strict grammar written here from Moodle's
documentation, the QTI zip's manifest and items, the Anki package through sqlite3 — and every answer read
back equals the `--format json` answer for the same seed, in English and Korean."""

from __future__ import annotations

import html
import io
import json
import re
import sqlite3
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

SETS = [("20", "3", "medium"), ("60", "11", "hard"), ("40", "5", "easy")]  # every answer kind appears (checked below)
LANGS = ["en", "ko"]


def reference(cli, count: str, seed: str, difficulty: str, lang: str) -> list[dict]:
    result = cli("quiz", "-n", count, "--seed", seed, "-d", difficulty, "--lang", lang, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def export(cli, tmp_path: Path, fmt: str, count: str, seed: str, difficulty: str, lang: str) -> bytes:
    target = tmp_path / f"quiz.{fmt}"
    result = cli("quiz", "-n", count, "--seed", seed, "-d", difficulty, "--lang", lang, "--format", fmt, "-o", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    return target.read_bytes()


def expected_answer(problem: dict):
    """The JSON answer in the form each reader gives back: an int, a set of shape spellings, a bool, a letter."""
    answer = problem["answer"]
    if isinstance(answer, bool) or isinstance(answer, int):
        return answer
    if isinstance(answer, str) and "x" in answer:
        parts = answer.split("x")
        return {"x".join(parts), "×".join(parts), " ".join(parts)}
    return answer  # A-D


def number_of(title: str) -> int:
    return int(title.split(" ", 1)[0])


def test_the_sets_cover_every_kind_of_answer(cli):
    kinds = set()
    for count, seed, difficulty in SETS:
        for problem in reference(cli, count, seed, difficulty, "en"):
            answer = problem["answer"]
            kinds.add(type(answer).__name__ + ("-shape" if isinstance(answer, str) and "x" in answer else ""))
    assert kinds == {"int", "bool", "str", "str-shape"}


# ----------------------------------------------------------------------------- Moodle XML


def read_moodle(data: bytes) -> list[dict]:
    """The questions of a Moodle XML file, checked against what Moodle's importer (question/format/xml)
    reads: a <quiz> of <question type=…>; category questions set the category of those after them; every
    other question has a name, an HTML question text and general feedback; numerical answers carry a
    tolerance; short answers say whether case matters; multiple choice says single or multiple."""
    root = ET.fromstring(data)
    assert root.tag == "quiz"
    category, out = None, []
    for question in root:
        assert question.tag == "question"
        qtype = question.get("type")
        if qtype == "category":
            category = question.findtext("category/text")
            assert category.startswith("$course$/top/cnncalc/")
            continue
        assert qtype in ("numerical", "shortanswer", "multichoice"), qtype
        assert category is not None, "a question before any category"
        name = question.findtext("name/text")
        text = question.find("questiontext")
        assert name and text.get("format") == "html" and text.findtext("text").strip()
        assert question.find("generalfeedback").get("format") == "html" and "<pre>" in question.findtext("generalfeedback/text")
        assert question.findtext("defaultgrade") == "1"
        answers = question.findall("answer")
        assert answers and all(a.get("fraction") in ("0", "100") for a in answers)
        right = [a for a in answers if a.get("fraction") == "100"]
        if qtype == "numerical":
            assert len(answers) == 1 and answers[0].findtext("tolerance") == "0"
            value = int(answers[0].findtext("text"))
        elif qtype == "shortanswer":
            assert question.findtext("usecase") == "0" and right == answers
            value = {a.findtext("text") for a in answers}
        else:
            assert question.findtext("single") == "true" and len(right) == 1 and len(answers) in (2, 4)
            options = [html.unescape(a.findtext("text")) for a in answers]
            value = options[answers.index(right[0])], options
        out.append({"number": number_of(name), "type": qtype, "category": category, "value": value, "text": html.unescape(text.findtext("text"))})
    return out


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("count,seed,difficulty", SETS)
def test_moodle_xml_reads_back_with_the_json_answers(cli, tmp_path, lang, count, seed, difficulty):
    problems = reference(cli, count, seed, difficulty, lang)
    questions = read_moodle(export(cli, tmp_path, "moodle", count, seed, difficulty, lang))
    assert sorted(q["number"] for q in questions) == list(range(1, len(problems) + 1))
    for q in questions:
        check_read_answer(problems[q["number"] - 1], q["type"], q["value"], lang)
    categories = [q["category"] for q in questions]
    assert categories == sorted(categories, key=categories.index), "each topic's questions sit together, under one category"


def check_read_answer(problem: dict, qtype: str, value, lang: str) -> None:
    expected = expected_answer(problem)
    if isinstance(expected, bool):
        right, options = value
        assert qtype == "multichoice" and len(options) == 2
        assert right == ({True: "참", False: "거짓"} if lang == "ko" else {True: "true", False: "false"})[expected]
    elif isinstance(expected, int):
        assert qtype == "numerical" and value == expected
    elif isinstance(expected, set):
        assert qtype == "shortanswer" and value == expected
    else:
        right, options = value
        assert qtype == "multichoice" and len(options) == 4
        letter = "ABCD"[options.index(right)]
        assert letter == expected
        assert f"{letter}) {right}" in problem["question"]  # the same statement the worksheet letters


# ----------------------------------------------------------------------------- GIFT

GIFT_SPECIAL = set("~=#{}:")


def gift_unescape(text: str) -> str:
    """Moodle's GIFT rules: a special character (~ = # { } :) stands for itself only after a backslash."""
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            assert i + 1 < len(text) and (text[i + 1] in GIFT_SPECIAL or text[i + 1] == "\\" or text[i + 1] == "n"), text[i : i + 10]
            out.append(text[i + 1])
            i += 2
            continue
        assert ch not in GIFT_SPECIAL, f"an unescaped {ch!r} in {text[max(0, i - 30): i + 10]!r}"
        out.append(ch)
        i += 1
    return "".join(out)


def split_unescaped(text: str, marks: str) -> list[tuple[str, str]]:
    """(mark, text) parts of an answer list `=a ~b` split at unescaped marks."""
    parts, current, mark, i = [], [], None, 0
    while i < len(text):
        if text[i] == "\\":
            current.append(text[i : i + 2])
            i += 2
            continue
        if text[i] in marks:
            if mark is not None:
                parts.append((mark, "".join(current).strip()))
            mark, current = text[i], []
        else:
            current.append(text[i])
        i += 1
    if mark is not None:
        parts.append((mark, "".join(current).strip()))
    return parts


QUESTION = re.compile(r"^::(?P<title>(?:[^:\\]|\\.)+)::\[html\](?P<stem>(?:[^{\\]|\\.)+)\{(?P<answers>(?:[^}\\]|\\.)*)\}$")


def read_gift(text: str) -> list[dict]:
    category, out = None, []
    for paragraph in text.split("\n\n"):
        if not paragraph.strip():
            continue
        assert "\n" not in paragraph.strip(), "a question is one line"
        if paragraph.startswith("$CATEGORY: "):
            category = paragraph[len("$CATEGORY: ") :].strip()
            assert category.startswith("$course$/top/cnncalc/")
            continue
        match = QUESTION.match(paragraph.strip())
        assert match, paragraph[:200]
        answers, _, feedback = match["answers"].partition("####")
        assert "<pre>" in gift_unescape(feedback)
        title, stem = gift_unescape(match["title"]), gift_unescape(match["stem"])
        answers = answers.strip()
        if answers.startswith("#"):
            number, tolerance = answers[1:].split(":")
            qtype, value = "numerical", int(number)
            assert tolerance == "0"
        else:
            parts = split_unescaped(answers, "=~")
            texts = [html.unescape(gift_unescape(t)) for _, t in parts]
            if all(mark == "=" for mark, _ in parts):
                qtype, value = "shortanswer", set(texts)
            else:
                right = [t for (mark, _), t in zip(parts, texts) if mark == "="]
                assert len(right) == 1
                qtype, value = "multichoice", (right[0], texts)
        out.append({"number": number_of(title), "type": qtype, "category": category, "value": value, "text": html.unescape(stem)})
    return out


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("count,seed,difficulty", SETS)
def test_gift_reads_back_with_the_json_answers(cli, tmp_path, lang, count, seed, difficulty):
    problems = reference(cli, count, seed, difficulty, lang)
    questions = read_gift(export(cli, tmp_path, "gift", count, seed, difficulty, lang).decode("utf-8"))
    assert sorted(q["number"] for q in questions) == list(range(1, len(problems) + 1))
    for q in questions:
        check_read_answer(problems[q["number"] - 1], q["type"], q["value"], lang)


def test_gift_escapes_every_special_character():
    from cnncalc.quiz.lms import gift_escape

    text = "a: b = c ~ d # e { f } g \\ h"
    assert gift_unescape(gift_escape(text)) == text


def test_moodle_and_gift_ask_the_same_questions_as_the_worksheet(cli, tmp_path):
    problems = reference(cli, "20", "3", "medium", "en")
    moodle = {q["number"]: q["text"] for q in read_moodle(export(cli, tmp_path, "moodle", "20", "3", "medium", "en"))}
    gift = {q["number"]: q["text"] for q in read_gift(export(cli, tmp_path, "gift", "20", "3", "medium", "en").decode())}
    for number, problem in enumerate(problems, 1):
        stem = problem["question"].split("\n  A) ")[0]  # spot-the-wrong lists its statements as the LMS's options
        as_html = "<p>" + html.escape(stem, quote=False).replace("\n", "<br>") + "</p>"
        assert moodle[number] == gift[number] == html.unescape(as_html)


# ----------------------------------------------------------------------------- QTI 1.2

QTI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
CP = "{http://www.imsglobal.org/xsd/imscp_v1p1}"


def read_qti(data: bytes) -> list[dict]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        manifest = ET.fromstring(archive.read("imsmanifest.xml"))
        assert manifest.tag == f"{CP}manifest"
        resources = manifest.findall(f"{CP}resources/{CP}resource")
        assert len(resources) == 1 and resources[0].get("type") == "imsqti_xmlv1p2"
        href = resources[0].get("href")
        assert href in names and [f.get("href") for f in resources[0].findall(f"{CP}file")] == [href]
        root = ET.fromstring(archive.read(href))
    assert root.tag == f"{QTI}questestinterop"
    items = root.findall(f"{QTI}assessment/{QTI}section/{QTI}item")
    idents = [item.get("ident") for item in items]
    assert len(set(idents)) == len(idents)
    out = []
    for item in items:
        fields = {f.findtext(f"{QTI}fieldlabel"): f.findtext(f"{QTI}fieldentry") for f in item.iter(f"{QTI}qtimetadatafield")}
        qtype = fields["question_type"]
        assert fields["points_possible"] == "1.0"
        scoring = [c for c in item.iter(f"{QTI}respcondition") if c.find(f"{QTI}setvar") is not None]
        assert len(scoring) == 1 and scoring[0].findtext(f"{QTI}setvar") == "100"
        equal = [v.text for v in scoring[0].iter(f"{QTI}varequal")]
        feedback = item.find(f"{QTI}itemfeedback")
        assert feedback.get("ident") == "general_fb" and "<pre>" in feedback.findtext(f".//{QTI}mattext")
        if qtype == "numerical_question":
            assert item.find(f".//{QTI}render_fib").get("fibtype") == "Decimal"
            bounds = {v.text for tag in ("vargte", "varlte") for v in scoring[0].iter(f"{QTI}{tag}")}
            assert len(set(equal)) == 1 and bounds == set(equal)
            qtype, value = "numerical", int(equal[0])
        elif qtype == "short_answer_question":
            qtype, value = "shortanswer", set(equal)
        else:
            assert qtype == "multiple_choice_question" and len(equal) == 1
            labels = {label.get("ident"): label.findtext(f".//{QTI}mattext") for label in item.iter(f"{QTI}response_label")}
            assert equal[0] in labels
            options = [html.unescape(t) for t in labels.values()]
            qtype, value = "multichoice", (html.unescape(labels[equal[0]]), options)
        out.append({"number": number_of(item.get("title")), "type": qtype, "value": value})
    return out


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("count,seed,difficulty", SETS)
def test_qti_zip_reads_back_with_the_json_answers(cli, tmp_path, lang, count, seed, difficulty):
    problems = reference(cli, count, seed, difficulty, lang)
    data = export(cli, tmp_path, "qti", count, seed, difficulty, lang)
    questions = read_qti(data)
    assert [q["number"] for q in questions] == list(range(1, len(problems) + 1))
    for q in questions:
        check_read_answer(problems[q["number"] - 1], q["type"], q["value"], lang)
    assert export(cli, tmp_path, "qti", count, seed, difficulty, lang) == data  # the same set, the same bytes


# ----------------------------------------------------------------------------- Anki


def read_anki(data: bytes, tmp_path: Path) -> tuple[list[dict], dict]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert {"collection.anki2", "media"} <= set(archive.namelist())
        (tmp_path / "collection.anki2").write_bytes(archive.read("collection.anki2"))
    with sqlite3.connect(tmp_path / "collection.anki2") as db:
        notes = [{"guid": guid, "fields": fields.split("\x1f"), "tags": tags.split()} for guid, fields, tags in db.execute("select guid, flds, tags from notes order by id")]
        decks = json.loads(db.execute("select decks from col").fetchone()[0])
        cards = db.execute("select count(*) from cards").fetchone()[0]
    assert cards == len(notes)
    return notes, decks


@pytest.mark.parametrize("lang", LANGS)
def test_anki_deck_opens_with_sqlite_and_holds_the_json_answers(cli, tmp_path, lang):
    problems = reference(cli, "60", "11", "hard", lang)
    notes, decks = read_anki(export(cli, tmp_path, "anki", "60", "11", "hard", lang), tmp_path)
    assert len(notes) == len(problems)
    assert any("problems" in d["name"] or "문제" in d["name"] for d in decks.values())
    for note, problem in zip(notes, problems):
        question, answer, solution, topic = note["fields"]
        assert html.unescape(question.replace("<br>", "\n")) == problem["question"]
        expected = problem["answer"]
        if isinstance(expected, bool):
            expected = ({True: "참", False: "거짓"} if lang == "ko" else {True: "true", False: "false"})[expected]
        elif isinstance(expected, int):
            expected = f"{expected:,}"
        elif "x" in expected:
            expected = expected.replace("x", "×")
        assert html.unescape(answer) == expected
        assert html.unescape(solution).startswith("<pre>") and problem["solution"] in html.unescape(solution)
        assert note["tags"] == [f"cnncalc::{problem['topic']}"]
    assert len({n["guid"] for n in notes}) == len(notes)


def test_anki_notes_keep_their_guid_so_a_reimport_updates_them(cli, tmp_path):
    """The GUID comes from the problem itself: the same problems exported again (even in a larger set of the
    same seed) have the same GUIDs, so Anki updates those notes instead of adding copies."""
    first, _ = read_anki(export(cli, tmp_path, "anki", "10", "4", "medium", "en"), tmp_path)
    again, _ = read_anki(export(cli, tmp_path, "anki", "30", "4", "medium", "en"), tmp_path)
    assert [n["guid"] for n in first] == [n["guid"] for n in again][:10]
    korean, _ = read_anki(export(cli, tmp_path, "anki", "10", "4", "medium", "ko"), tmp_path)
    assert not {n["guid"] for n in korean} & {n["guid"] for n in first}  # another language, other cards


# ----------------------------------------------------------------------------- the command line


def test_zip_formats_need_an_output_file(cli):
    for fmt, suffix in (("qti", "zip"), ("anki", "apkg")):
        result = cli("quiz", "-n", "3", "--format", fmt)
        assert result.exit_code == 2 and result.stdout == ""
        assert f"error: --format {fmt} writes a zip file; say where with --output\n  hint: e.g. `-o quiz.{suffix}`" in result.stderr


def test_anki_without_genanki_says_how_to_install_it(cli, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "genanki" else real(name, *a))
    result = cli("quiz", "-n", "3", "--format", "anki", "-o", "q.apkg")
    assert result.exit_code == 2
    assert "error: --format anki needs the genanki package, which is not installed\n  hint: pip install 'cnncalc[anki]' (or pip install genanki)" in result.stderr


def test_output_to_a_missing_folder_is_an_error_and_writes_nothing(cli, tmp_path):
    target = tmp_path / "no such folder" / "q.xml"
    result = cli("quiz", "-n", "3", "--format", "moodle", "-o", str(target))
    assert result.exit_code == 2 and not target.parent.exists()
    assert f"error: cannot write {target}: No such file or directory" in result.stderr


def test_output_writes_what_stdout_would_get(cli, tmp_path):
    for fmt in ("json", "markdown", "text", "moodle", "gift"):
        target = tmp_path / f"q.{fmt}"
        written = cli("quiz", "-n", "12", "--seed", "2", "--format", fmt, "-o", str(target))
        printed = cli("quiz", "-n", "12", "--seed", "2", "--format", fmt)
        assert written.exit_code == printed.exit_code == 0 and written.stdout == ""
        assert target.read_text(encoding="utf-8") == printed.stdout


def test_output_dash_is_standard_output_and_odd_names_are_errors(cli):
    printed = cli("quiz", "-n", "4", "--seed", "2", "--format", "gift")
    dashed = cli("quiz", "-n", "4", "--seed", "2", "--format", "gift", "-o", "-")
    assert dashed.exit_code == 0 and dashed.stdout == printed.stdout
    nul = cli("quiz", "-n", "2", "--format", "json", "-o", "a\x00b")
    assert nul.exit_code == 2 and "is not a file name (it holds a NUL character)" in nul.stderr


def test_output_to_a_device_writes_to_it_and_never_replaces_it(cli, tmp_path):
    """`-o /dev/null` writes to the device; `-o /dev/full` is an error; a symlink is written through."""
    import os
    import stat

    null = cli("quiz", "-n", "2", "--format", "json", "-o", "/dev/null")
    assert null.exit_code == 0 and stat.S_ISCHR(os.stat("/dev/null").st_mode)
    if os.path.exists("/dev/full"):
        full = cli("draw", "lenet5", "-o", "/dev/full")
        assert full.exit_code == 2 and "cannot write /dev/full: No space left on device" in full.stderr
        assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    target = tmp_path / "real.svg"
    target.write_text("old")
    link = tmp_path / "link.svg"
    link.symlink_to(target)
    assert cli("draw", "lenet5", "-o", str(link)).exit_code == 0
    assert link.is_symlink() and target.read_text().startswith("<svg")
