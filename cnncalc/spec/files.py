"""Reading a spec file: bounded in size, refusing binary and non-UTF-8 files before any parsing."""

from __future__ import annotations

from pathlib import Path

from cnncalc.errors import CnnCalcError, FileProblem, SourcePos

# Limits on what one spec may ask for, so that any file, however hostile, is answered within about
# a second and little memory (README "When something is wrong"; tests/test_hostile.py measures them).
# The YAML-level limits (values, nesting depth, key length, digits) live in cnncalc.spec.safe_yaml.
MAX_FILE_BYTES = 16 * 1024 * 1024  # a 100,000-layer chain written out without `repeat` is ~4 MB


def _too_large(size: int, unit: str) -> CnnCalcError:
    return FileProblem(
        f"the spec is {size:,} {unit}; cnncalc reads specs of at most {MAX_FILE_BYTES:,} bytes (16 MiB)",
        hint="a spec of the largest networks takes a few kilobytes: use blocks and `repeat`",
    )


def _read_bounded(path: Path) -> bytes:
    """At most MAX_FILE_BYTES + 1 bytes (a device or a growing file may say size 0).

    Opened without blocking: a FIFO nobody writes to would otherwise hang `open` forever. Once open, a
    FIFO with no writer reads as empty (an error below), and one with a writer (`<(…)` in a shell) is
    read as the writer writes."""
    import os

    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(MAX_FILE_BYTES + 1)
    finally:
        os.close(fd)


def read_stdin() -> str:
    """A spec from standard input, with the file's limits: at most MAX_FILE_BYTES, UTF-8, no binary."""
    import sys

    stream = sys.stdin.buffer if sys.stdin is not None and hasattr(sys.stdin, "buffer") else None
    if stream is None:
        raise FileProblem("there is no standard input to read the spec from", hint="give a spec file or a bundled name instead of -")
    data = stream.read(MAX_FILE_BYTES + 1)
    return _decode(data)


def read_spec_file(path: str | Path) -> str:
    """The text of a spec file, refusing huge or binary files before parsing them."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _too_large(size, "bytes")
        data = _read_bounded(path)
    except IsADirectoryError:
        raise FileProblem("this is a folder, not a spec file", hint="name a .yaml file") from None
    except FileNotFoundError:
        raise FileProblem("no such file", hint="check the path, or run `cnncalc models` for the bundled names") from None
    except OSError as exc:
        raise FileProblem(f"cannot read the file: {exc.strerror}", hint="check the path and its permissions") from None
    return _decode(data)


def _decode(data: bytes) -> str:
    """The text of a spec's bytes, refusing what is too large, binary or not UTF-8."""
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(len(data), "bytes or more")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileProblem("the file is UTF-16 text; cnncalc reads UTF-8", hint="save the spec as UTF-8")
    if b"\x00" in data:
        raise FileProblem(
            f"this is a binary file, not a YAML spec (byte {data.index(0):,} is a NUL)",
            hint="name a .yaml text file",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        column = len(data[line_start:exc.start].decode("utf-8", errors="replace")) + 1
        raise FileProblem(
            f"the file is not UTF-8 text: byte {exc.start:,} (0x{data[exc.start]:02x}) cannot be decoded; is it a binary file?",
            hint="save the spec as UTF-8 text, or name the right file",
            pos=SourcePos(data.count(b"\n", 0, exc.start) + 1, column),
        ) from None
