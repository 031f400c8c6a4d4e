"""The interactive quiz: ask, read an answer, grade, explain on a miss, keep score.

Input and output are passed in (`read(prompt) -> str`, `write(text)`), so the loop runs the
same on a terminal, from a pipe (`--interactive`), and in tests. `read` raising EOFError
(Ctrl-D, end of a pipe) or KeyboardInterrupt (Ctrl-C) ends the quiz with the score so far.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from cnncalc.enums import Lang
from cnncalc.quiz.problems import Problem
from cnncalc.quiz.text import answer_hint, answer_text, question, solution, topic_label

SKIP_WORDS = {"", "s", "skip", "건너뛰기", "패스"}
QUIT_WORDS = {"q", "quit", "exit", "종료", "그만"}


@dataclass
class Score:
    right: int = 0
    wrong: int = 0
    skipped: int = 0
    asked: int = 0  # problems shown, including one left unanswered by a quit

    def summary(self, lang: Lang, total: int) -> str:
        answered = self.right + self.wrong
        done = answered + self.skipped
        if lang is Lang.KO:
            text = f"점수: {answered}문제 중 {self.right}문제 정답"
            text += f", {self.skipped}문제 건너뜀" if self.skipped else ""
            return text + (f" (전체 {total}문제 중 {done}문제를 풀었습니다)" if done < total else "")
        text = f"Score: {self.right}/{answered} right"
        text += f", {self.skipped} skipped" if self.skipped else ""
        return text + (f" ({done} of {total} problems done)" if done < total else "")


def _words(lang: Lang) -> dict[str, str]:
    if lang is Lang.KO:
        return {
            "intro": "답을 입력하고 Enter를 누르세요. 빈 줄이나 s는 건너뛰기, q는 종료입니다.",
            "right": "✓ 정답입니다!",
            "wrong": "✗ 아쉽네요. 정답은 {answer}입니다.",
            "skipped": "건너뜀. 정답은 {answer}입니다.",
            "unreadable": "답을 읽지 못했습니다 ({hint}). 다시 입력하거나 s(건너뛰기), q(종료)를 입력하세요.",
            "solution": "풀이:",
            "header": "문제 {i}/{n}",
        }
    return {
        "intro": "Type your answer and press Enter. An empty line or s skips, q quits.",
        "right": "✓ Right!",
        "wrong": "✗ Not quite. The answer is {answer}.",
        "skipped": "Skipped. The answer is {answer}.",
        "unreadable": "Could not read that as an answer ({hint}). Try again, or s to skip, q to quit.",
        "solution": "Worked solution:",
        "header": "Problem {i}/{n}",
    }


def wrap(text: str, width: int | None) -> str:
    """Break lines at spaces to fit `width` terminal columns (Hangul and other wide characters take two).

    A continuation keeps the indentation of its line, so the choices A) … D) stay aligned.
    """
    if not width:
        return text
    import unicodedata

    def cells(word: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in word)

    out = []
    for line in text.split("\n"):
        indent = line[: len(line) - len(line.lstrip())]
        follow = indent + "   " if indent else ""  # under the text of "  A) ", not under the letter
        current, used, empty = indent, len(indent), True
        for word in line.split():
            size = cells(word)
            if not empty and used + 1 + size > width:
                out.append(current)
                current, used, empty = follow, len(follow), True
            if not empty:
                current, used = current + " ", used + 1
            current, used, empty = current + word, used + size, False
        out.append(current)
    return "\n".join(out)


def run_session(
    problems: list[Problem],
    lang: Lang,
    read: Callable[[str], str],
    write: Callable[[str], None],
    intro: str | None = None,
    width: int | None = None,
) -> Score:
    """Ask every problem in turn; returns the score (also written at the end). `width` wraps the questions for a terminal."""
    words = _words(lang)
    score = Score()
    write(wrap((intro + "\n" if intro else "") + words["intro"], width) + "\n")
    try:
        for i, problem in enumerate(problems, 1):
            score.asked += 1
            write(f"\n{words['header'].format(i=i, n=len(problems))}  [{topic_label(problem.topic, lang)}]\n{wrap(question(problem, lang), width)}\n")
            hint = answer_hint(problem, lang)
            while True:
                typed = read(f"({hint}) > ")
                word = typed.strip().lower()
                if word in QUIT_WORDS:
                    score.asked -= 1
                    raise _Quit
                if word in SKIP_WORDS:
                    score.skipped += 1
                    write(words["skipped"].format(answer=answer_text(problem, lang)) + "\n")
                    _explain(problem, lang, words, write, width)
                    break
                verdict = problem.answer.matches(typed)
                if verdict is None:
                    write(words["unreadable"].format(hint=hint) + "\n")
                    continue
                if verdict:
                    score.right += 1
                    write(words["right"] + "\n")
                else:
                    score.wrong += 1
                    write(words["wrong"].format(answer=answer_text(problem, lang)) + "\n")
                    _explain(problem, lang, words, write, width)
                break
    except _Quit:
        pass
    except (EOFError, KeyboardInterrupt):
        write("\n")  # the cursor is still on the prompt line
    write("\n" + score.summary(lang, len(problems)) + "\n")
    return score


class _Quit(Exception):
    pass


def _explain(problem: Problem, lang: Lang, words: dict[str, str], write: Callable[[str], None], width: int | None) -> None:
    write(words["solution"] + "\n" + "".join(f"{wrap('  ' + line, width)}\n" for line in solution(problem, lang)))


__all__ = ["Score", "run_session"]
