"""`cnncalc report` (issue 16): one self-contained page, checked as a file (nothing fetched from anywhere,
well-formed, the numbers of `cnncalc table`) and as a person sees it, in real headless Chromium when the
machine has it (`.ci/run` installs Debian's `chromium`): it loads offline without console errors or failed
requests, shows the expected text, and its screenshot is not blank."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "embed", "source", "track", "wbr"}
SVG_VOID = {"rect", "line", "path", "polygon", "marker", "stop", "circle"}


class Balance(HTMLParser):
    """Every element closed in order (SVG's self-closed elements count as closed)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.attributes += attrs
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.attributes += attrs

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()


def report(cli, tmp_path: Path, name: str) -> tuple[Path, str]:
    target = tmp_path / f"{name}.html"
    result = cli("report", name, "-o", str(target))
    assert result.exit_code == 0, result.output
    return target, target.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["lenet5", "resnet50", "googlenet", "unet", "m5"])
def test_the_page_is_self_contained_and_well_formed(cli, tmp_path, name):
    _, page = report(cli, tmp_path, name)
    parser = Balance()
    parser.feed(page)
    parser.close()
    assert parser.stack == []
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", page)  # the SVG namespace is a name, not a request
    assert not [value for key, value in parser.attributes if key in ("src", "href") and value and not value.startswith("#")]
    assert "<link" not in page and "@import" not in page and "<iframe" not in page
    assert set(re.findall(r"url\(([^)]*)\)", page)) <= {"#arrow"}


def test_the_page_has_the_tables_numbers_and_every_derivation(cli, tmp_path):
    _, page = report(cli, tmp_path, "resnet50")
    table = json.loads(cli("table", "resnet50", "--format", "json").stdout)
    totals = table["totals"]
    for number in (totals["params"], totals["macs"], totals["trainable_params"]):
        assert f"{number:,}" in page
    for section in ("Architecture", "Layers", "Totals and memory", "Receptive field, layer by layer", "Parameters and MACs per stage",
                    "How each number is derived"):
        assert f"<h2>{section}</h2>" in page
    leaves = [row["path"] for row in table["layers"] if row["kind"] not in ("add",)]
    for path in leaves:
        assert f"<summary><code>{path}</code></summary>" in page
    assert "3·3·64" in page  # a worked parameter count (layer1.0.conv2: 3·3·64·64 weights)
    assert page.count("<details><summary class=\"block\">") == 4  # layer1 … layer4 fold open


def test_the_same_spec_gives_the_same_page(cli, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert report(cli, tmp_path / "a", "vgg16")[1] == report(cli, tmp_path / "b", "vgg16")[1]


# ----------------------------------------------------------------------------- in a real browser


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _png_is_blank(data: bytes) -> bool:
    """True when every pixel of a PNG has the same value (read with zlib: the IDAT chunks, filters dropped)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 4
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            channels = {2: 3, 6: 4, 0: 1, 4: 2}[color]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels + 1
    rows = {raw[i * stride + 1 : (i + 1) * stride] for i in range(0, height, max(1, height // 50))}
    return len(rows) == 1 and len(set(next(iter(rows)))) <= channels


def test_png_reader_tells_blank_from_drawn():
    def png(width, height, pixel_rows):
        raw = b"".join(b"\x00" + row for row in pixel_rows)

        def chunk(kind, body):
            return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")

    assert _png_is_blank(png(4, 4, [b"\xff" * 12] * 4))
    assert not _png_is_blank(png(4, 4, [b"\xff" * 12, b"\x00" * 12, b"\xff" * 12, b"\xff" * 12]))


@pytest.mark.skipif(_chromium() is None, reason="needs Chromium (Debian's `chromium`, which .ci/run installs)")
def test_the_report_opens_offline_in_chromium(cli, tmp_path):
    page_path, _ = report(cli, tmp_path, "resnet50")
    browser = _chromium()
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
              f"--user-data-dir={tmp_path / 'profile'}", "--host-resolver-rules=MAP * ~NOTFOUND",  # no network at all
              "--enable-logging=stderr", "--v=0"]
    dom = subprocess.run([*common, "--dump-dom", page_path.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "Totals and memory" in dom.stdout and "layer4.2.conv3" in dom.stdout and "25,557,032" in dom.stdout
    log = dom.stderr
    assert "Uncaught" not in log and "Failed to load resource" not in log and "ERR_NAME_NOT_RESOLVED" not in log, log[-2000:]
    shot = tmp_path / "shot.png"
    run = subprocess.run([*common, f"--screenshot={shot}", "--window-size=1200,1600", page_path.as_uri()], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    assert not _png_is_blank(shot.read_bytes())
