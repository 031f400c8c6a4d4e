"""Quiz sets in the formats course platforms import (issue 17): Moodle XML, GIFT, QTI 1.2 (Canvas) and Anki.

Every format carries the same problems as `--format json` for the same seed, with the same answers:

- a number is a numerical question with the exact answer and zero tolerance;
- a shape (or a padding pair) is a short answer accepting the spellings people type: `29x29x32`,
  `29×29×32` and `29 29 32` (case does not matter);
- true/false and spot-the-wrong are multiple choice, one right option;
- the worked solution is the general feedback, shown after answering;
- Moodle and GIFT put each topic in a category of its own (`cnncalc/<topic>`, in the quiz's language).

Pure text and bytes: the CLI decides where they go. Anki packages need the optional `genanki` package
(`pip install 'cnncalc[anki]'`).
"""

from __future__ import annotations

import html
import io
import zipfile
from typing import Iterable, TextIO
from xml.sax.saxutils import quoteattr

from cnncalc.enums import AnswerKind, Lang
from cnncalc.quiz.problems import Problem
from cnncalc.quiz.text import answer_text, choices, question, solution, topic_label

CATEGORY_ROOT = "cnncalc"


def accepted(p: Problem) -> list[str]:
    """Every spelling a short-answer question accepts: `29x29x32`, `29×29×32`, `29 29 32`."""
    values = [str(v) for v in p.answer.value]
    return ["x".join(values), "×".join(values), " ".join(values)]


def right_choice(p: Problem) -> int:
    """The index of the right option among `choices(p, lang)`."""
    if p.answer.kind is AnswerKind.BOOL:
        return 0 if p.answer.value else 1
    return "ABCD".index(p.answer.value)


def by_topic(problems: Iterable[Problem]) -> list[tuple[int, Problem]]:
    """(number in the set, problem), grouped by topic in the order topics first appear: one category each
    in an LMS's question bank, and each problem keeps the number it has in the worksheet and the JSON."""
    groups: dict[object, list[tuple[int, Problem]]] = {}
    for number, p in enumerate(problems, 1):
        groups.setdefault(p.topic, []).append((number, p))
    return [entry for group in groups.values() for entry in group]


def title(p: Problem, number: int, lang: Lang) -> str:
    return f"{number:03d} {topic_label(p.topic, lang)}"


def _html(text: str) -> str:
    """Plain text as HTML: escaped, line breaks kept."""
    return html.escape(text, quote=False).replace("\n", "<br>")


def solution_html(p: Problem, lang: Lang) -> str:
    """The worked solution as HTML: its lines as they are, in a monospace block (formulas line up)."""
    lines = [f"{'정답' if lang is Lang.KO else 'Answer'}: {answer_text(p, lang)}", *solution(p, lang)]
    return "<pre>" + html.escape("\n".join(lines), quote=False) + "</pre>"


# ----------------------------------------------------------------------------- Moodle XML


def write_moodle(problems: Iterable[Problem], lang: Lang, out: TextIO) -> None:
    """Moodle XML (docs.moodle.org/en/Moodle_XML_format): a category question before each topic's first problem."""
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n')
    category = None
    for number, p in by_topic(problems):
        label = topic_label(p.topic, lang)
        if label != category:
            category = label
            out.write(
                '  <question type="category">\n'
                f"    <category><text>{_xml(f'$course$/top/{CATEGORY_ROOT}/{label}')}</text></category>\n"
                "  </question>\n"
            )
        out.write(_moodle_question(p, number, lang))
    out.write("</quiz>\n")


def _xml(text: str) -> str:
    return html.escape(text, quote=False)


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _moodle_question(p: Problem, number: int, lang: Lang) -> str:
    kind = p.answer.kind
    qtype = {AnswerKind.INT: "numerical", AnswerKind.SHAPE: "shortanswer", AnswerKind.PAIR: "shortanswer"}.get(kind, "multichoice")
    parts = [
        f'  <question type="{qtype}">',
        f"    <name><text>{_xml(title(p, number, lang))}</text></name>",
        f'    <questiontext format="html"><text>{_cdata("<p>" + _html(question(p, lang, with_choices=False)) + "</p>")}</text></questiontext>',
        f'    <generalfeedback format="html"><text>{_cdata(solution_html(p, lang))}</text></generalfeedback>',
        "    <defaultgrade>1</defaultgrade>",
        "    <penalty>0</penalty>",
        "    <hidden>0</hidden>",
    ]
    if kind is AnswerKind.INT:
        parts.append(f'    <answer fraction="100" format="plain_text"><text>{p.answer.value}</text><tolerance>0</tolerance><feedback format="html"><text></text></feedback></answer>')
    elif kind in (AnswerKind.SHAPE, AnswerKind.PAIR):
        parts.append("    <usecase>0</usecase>")
        for spelling in accepted(p):
            parts.append(f'    <answer fraction="100" format="plain_text"><text>{_xml(spelling)}</text><feedback format="html"><text></text></feedback></answer>')
    else:
        parts += ["    <single>true</single>", "    <shuffleanswers>0</shuffleanswers>", "    <answernumbering>ABCD</answernumbering>"]
        right = right_choice(p)
        for index, option in enumerate(choices(p, lang)):
            fraction = 100 if index == right else 0
            parts.append(f'    <answer fraction="{fraction}" format="html"><text>{_cdata(_html(option))}</text><feedback format="html"><text></text></feedback></answer>')
    parts.append("  </question>\n")
    return "\n".join(parts)


# ----------------------------------------------------------------------------- GIFT

_GIFT_SPECIAL = "\\~=#{}:"


def gift_escape(text: str) -> str:
    """GIFT's special characters (~ = # { } : and the backslash) escaped with a backslash."""
    return "".join("\\" + ch if ch in _GIFT_SPECIAL else ch for ch in text)


def _gift_html(text: str) -> str:
    """HTML on one line (a GIFT question ends at a blank line; line breaks become <br>), GIFT-escaped."""
    return gift_escape(text.replace("\n", "<br>"))


def write_gift(problems: Iterable[Problem], lang: Lang, out: TextIO) -> None:
    """GIFT (docs.moodle.org/en/GIFT_format): one question per paragraph, `$CATEGORY:` before each topic."""
    category = None
    for number, p in by_topic(problems):
        label = topic_label(p.topic, lang)
        if label != category:
            category = label
            out.write(f"$CATEGORY: $course$/top/{CATEGORY_ROOT}/{label}\n\n")
        stem = _gift_html("<p>" + _html(question(p, lang, with_choices=False)) + "</p>")
        feedback = "####" + _gift_html(solution_html(p, lang))
        kind = p.answer.kind
        if kind is AnswerKind.INT:
            answers = f"#{p.answer.value}:0"
        elif kind in (AnswerKind.SHAPE, AnswerKind.PAIR):
            answers = " ".join("=" + gift_escape(spelling) for spelling in accepted(p))
        else:
            right = right_choice(p)
            answers = " ".join(("=" if i == right else "~") + _gift_html(_html(option)) for i, option in enumerate(choices(p, lang)))
        out.write(f"::{gift_escape(title(p, number, lang))}::[html]{stem}{{{answers} {feedback}}}\n\n")


# ----------------------------------------------------------------------------- QTI 1.2 (Canvas)

QTI_FILE = "cnncalc_quiz/cnncalc_quiz.xml"


def qti_zip(problems: Iterable[Problem], lang: Lang, quiz_title: str) -> bytes:
    """A QTI 1.2 package as Canvas imports it (Settings → Import course content → QTI .zip file): an IMS
    manifest and one assessment, each item typed for Canvas (numerical, short answer, multiple choice)."""
    items = "".join(_qti_item(p, number, lang) for number, p in enumerate(problems, 1))
    assessment = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<questestinterop xmlns="http://www.imsglobal.org/xsd/ims_qtiasiv1p2">\n'
        f'  <assessment ident="cnncalc_quiz" title={quoteattr(quiz_title)}>\n'
        '    <section ident="root_section">\n'
        f"{items}"
        "    </section>\n"
        "  </assessment>\n"
        "</questestinterop>\n"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<manifest identifier="cnncalc_quiz_manifest" xmlns="http://www.imsglobal.org/xsd/imscp_v1p1">\n'
        "  <metadata><schema>IMS Content</schema><schemaversion>1.1.3</schemaversion></metadata>\n"
        "  <organizations/>\n"
        "  <resources>\n"
        f'    <resource identifier="cnncalc_quiz" type="imsqti_xmlv1p2" href="{QTI_FILE}"><file href="{QTI_FILE}"/></resource>\n'
        "  </resources>\n"
        "</manifest>\n"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("imsmanifest.xml", manifest), (QTI_FILE, assessment)):
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))  # fixed: the same set gives the same bytes
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"))
    return buffer.getvalue()


def _mattext(text_html: str) -> str:
    return f'<material><mattext texttype="text/html">{_xml(text_html)}</mattext></material>'


def _qti_item(p: Problem, number: int, lang: Lang) -> str:
    kind = p.answer.kind
    qtype = {AnswerKind.INT: "numerical_question", AnswerKind.SHAPE: "short_answer_question", AnswerKind.PAIR: "short_answer_question"}.get(kind, "multiple_choice_question")
    stem = _mattext("<p>" + _html(question(p, lang, with_choices=False)) + "</p>")
    if kind is AnswerKind.INT:
        response = '<response_str ident="response1" rcardinality="Single"><render_fib fibtype="Decimal"><response_label ident="answer1"/></render_fib></response_str>'
        value = p.answer.value
        condition = f'<or><varequal respident="response1">{value}</varequal><and><vargte respident="response1">{value}</vargte><varlte respident="response1">{value}</varlte></and></or>'
    elif kind in (AnswerKind.SHAPE, AnswerKind.PAIR):
        response = '<response_str ident="response1" rcardinality="Single"><render_fib><response_label ident="answer1" rshuffle="No"/></render_fib></response_str>'
        condition = "".join(f'<varequal respident="response1">{_xml(spelling)}</varequal>' for spelling in accepted(p))
    else:
        labels = "".join(
            f'<response_label ident="{number}_{letter}">{_mattext(_html(option))}</response_label>'
            for letter, option in zip("ABCD", choices(p, lang))
        )
        response = f'<response_lid ident="response1" rcardinality="Single"><render_choice>{labels}</render_choice></response_lid>'
        condition = f'<varequal respident="response1">{number}_{"ABCD"[right_choice(p)]}</varequal>'
    return (
        f'      <item ident="cnncalc_{number}" title={quoteattr(title(p, number, lang))}>\n'
        "        <itemmetadata><qtimetadata>"
        f"<qtimetadatafield><fieldlabel>question_type</fieldlabel><fieldentry>{qtype}</fieldentry></qtimetadatafield>"
        "<qtimetadatafield><fieldlabel>points_possible</fieldlabel><fieldentry>1.0</fieldentry></qtimetadatafield>"
        "</qtimetadata></itemmetadata>\n"
        f"        <presentation>{stem}{response}</presentation>\n"
        '        <resprocessing><outcomes><decvar maxvalue="100" minvalue="0" varname="SCORE" vartype="Decimal"/></outcomes>'
        '<respcondition continue="Yes"><conditionvar><other/></conditionvar><displayfeedback feedbacktype="Response" linkrefid="general_fb"/></respcondition>'
        f'<respcondition continue="No"><conditionvar>{condition}</conditionvar><setvar action="Set" varname="SCORE">100</setvar></respcondition>'
        "</resprocessing>\n"
        f'        <itemfeedback ident="general_fb"><flow_mat>{_mattext(solution_html(p, lang))}</flow_mat></itemfeedback>\n'
        "      </item>\n"
    )


# ----------------------------------------------------------------------------- Anki

ANKI_MODEL_NAME = "cnncalc problem"


def _stable_id(text: str) -> int:
    """A 31-bit id that is the same on every machine (Anki's deck and note-type ids must not change
    between exports, or a re-import makes a second deck)."""
    import zlib

    return (zlib.crc32(text.encode("utf-8")) & 0x7FFFFFFF) | 1 << 30


def note_guid(p: Problem, lang: Lang) -> str:
    """The note's GUID, from the problem's identity and the language: the same problem exported again (with
    this seed or another) updates its card instead of adding a second one."""
    import genanki

    return genanki.guid_for(CATEGORY_ROOT, str(lang), p.key())


def anki_package(problems: Iterable[Problem], lang: Lang, deck_title: str) -> bytes:
    """An .apkg deck: one note per problem (question on the front; answer and worked solution on the back),
    tagged with its topic. Needs `genanki`."""
    import os
    import tempfile

    import genanki

    model = genanki.Model(
        _stable_id(ANKI_MODEL_NAME),
        ANKI_MODEL_NAME,
        fields=[{"name": "Question"}, {"name": "Answer"}, {"name": "Solution"}, {"name": "Topic"}],
        templates=[{
            "name": "Card 1",
            "qfmt": "<div class=topic>{{Topic}}</div>{{Question}}",
            "afmt": "{{FrontSide}}<hr id=answer><b>{{Answer}}</b>{{Solution}}",
        }],
        css=".card { font-family: sans-serif; font-size: 18px; } .topic { color: #888; font-size: 14px; } pre { text-align: left; }",
    )
    deck = genanki.Deck(_stable_id(f"{CATEGORY_ROOT}:{deck_title}"), deck_title)
    for p in problems:
        text = question(p, lang)
        deck.add_note(genanki.Note(
            model=model,
            fields=[_html(text), html.escape(answer_text(p, lang), quote=False), solution_html(p, lang), html.escape(topic_label(p.topic, lang), quote=False)],
            guid=note_guid(p, lang),
            tags=[f"{CATEGORY_ROOT}::{p.topic}"],
        ))
    handle, path = tempfile.mkstemp(suffix=".apkg")
    os.close(handle)
    try:
        genanki.Package(deck).write_to_file(path)
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.unlink(path)


__all__ = ["accepted", "anki_package", "by_topic", "gift_escape", "note_guid", "qti_zip", "right_choice", "solution_html", "write_gift", "write_moodle"]
