"""What cnncalc writes goes through here: output faults are the environment's, not bugs, and an output
encoding that cannot show a character gets a spelling it can.

- A reader that goes away (`cnncalc table x | head -1`): cnncalc stops quietly with exit 141, as `cat`
  and `git` do under a shell (128 + SIGPIPE); nothing is printed.
- Any other write error (a full disk, `> /dev/full`, an I/O error): one line on stderr and exit 74
  (EX_IOERR from sysexits.h).
- An encoding without `×`, `−`, `·`, `⌊` … (`PYTHONIOENCODING=ascii`, cp1252, or cp949 on Korean
  Windows for redirected output): those get their ASCII spellings (`x`, `-`, `*`, `floor(`); text with
  no ASCII form (Hangul in an ASCII stream) is written as `\\uXXXX` escapes. UTF-8 stays the default.
"""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO

EXIT_IO_ERROR = 74  # sysexits.h EX_IOERR
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for `cat` or `git` writing to a closed pipe

# ASCII spellings of the symbols cnncalc's own text uses (formulas, tables, notes).
ASCII_SPELLINGS = str.maketrans(
    {
        "×": "x",
        "−": "-",
        "–": "-",
        "—": "-",
        "·": "*",
        "⌊": "floor(",
        "⌋": ")",
        "⌈": "ceil(",
        "⌉": ")",
        "…": "...",
        "≤": "<=",
        "≥": ">=",
        "≠": "!=",
        "≈": "~",
        "→": "->",
        "←": "<-",
        "²": "^2",
        "³": "^3",
        "√": "sqrt",
        "γ": "gamma",
        "β": "beta",
        "σ": "sigma",
        "μ": "mu",
        "ε": "eps",
        "─": "-",
        "━": "-",
        "═": "=",
        "│": "|",
        "┃": "|",
        "║": "|",
        "┼": "+",
        "╋": "+",
        "▕": "|",
        "▏": "|",
        "█": "#",
        "░": ".",
        "▒": ":",
        "▓": "#",
        "■": "#",
        "□": ".",
        "●": "*",
        "○": "o",
        "✓": "v",
        "✗": "x",
        "’": "'",
        "‘": "'",
        "“": '"',
        "”": '"',
        "\u00a0": " ",
    }
)


class OutputFault(Exception):
    """Writing to stdout or stderr failed; `error` is the OSError (EPIPE for a reader that went away)."""

    def __init__(self, error: OSError, stream: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.stream = stream


def _spell(error: UnicodeError) -> tuple[str, int]:
    """A codec error handler: each character the encoding lacks, spelled in ASCII or as a \\u escape."""
    assert isinstance(error, UnicodeEncodeError)
    bad = error.object[error.start : error.end]
    spelled = "".join(
        c.translate(ASCII_SPELLINGS) if ord(c) in ASCII_SPELLINGS else c.encode("ascii", "backslashreplace").decode("ascii")
        for c in bad
    )
    return spelled, error.end


def fallback_text(text: str, encoding: str) -> str:
    """`text` as `encoding` can carry it: only the characters it lacks change (cp949 keeps Hangul and `·`)."""
    import codecs

    try:
        codecs.lookup_error("cnncalc-spell")
    except LookupError:
        codecs.register_error("cnncalc-spell", _spell)
    return text.encode(encoding, errors="cnncalc-spell").decode(encoding)


class GuardedStream:
    """A text stream whose write errors become OutputFault and whose encoding never raises."""

    def __init__(self, stream: TextIO, name: str) -> None:
        self._stream = stream
        self._name = name

    def write(self, text: str) -> int:
        try:
            try:
                return self._stream.write(text)
            except UnicodeEncodeError:
                # TextIOWrapper encodes the whole text before writing any of it: nothing was written yet.
                return self._stream.write(fallback_text(text, self._stream.encoding or "ascii"))
        except OSError as error:
            raise OutputFault(error, self._name) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as error:
            raise OutputFault(error, self._name) from None

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, buffer … as the real stream has them
        return getattr(self._stream, name)


def install() -> None:
    """Route sys.stdout and sys.stderr through GuardedStream (once, at the start of a run)."""
    if sys.stdout is not None and not isinstance(sys.stdout, GuardedStream):
        sys.stdout = GuardedStream(sys.stdout, "stdout")  # type: ignore[assignment]
    if sys.stderr is not None and not isinstance(sys.stderr, GuardedStream):
        sys.stderr = GuardedStream(sys.stderr, "stderr")  # type: ignore[assignment]


def _silence(fd: int) -> None:
    """Point a file descriptor at /dev/null, so that the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
    except OSError:
        pass


def _fileno(name: str) -> int | None:
    stream = getattr(sys, name)
    try:
        return getattr(stream, "_stream", stream).fileno()
    except (OSError, ValueError, AttributeError):
        return None


def exit_code_for(fault: OutputFault) -> int:
    """Report an output fault (a closed pipe is not reported: the reader chose to stop) and give the exit code."""
    import errno

    failed = _fileno(fault.stream)
    if failed is not None:
        _silence(failed)
    broken_pipe = fault.error.errno == errno.EPIPE
    if not broken_pipe and fault.stream == "stdout":
        stderr = _fileno("stderr")
        if stderr is not None and stderr != failed:
            try:
                reason = fault.error.strerror or str(fault.error)
                os.write(stderr, f"error: cannot write the output: {reason}\n".encode("ascii", "backslashreplace"))
            except OSError:
                pass
    return EXIT_BROKEN_PIPE if broken_pipe else EXIT_IO_ERROR
