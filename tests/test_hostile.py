"""Hostile specs: each is refused with its own message, in about a second, using little memory.

Each case runs the real command (`cnncalc check FILE`) in a fresh process, as a user pointing
cnncalc at a file from a stranger would, under a hard address-space limit (so that a failure
cannot take the machine down) and a timeout (so that a hang fails instead of blocking). The
process reports its own peak resident memory and CPU time. Bounds: exit code 2 with the case's own
message, at most 1.5 s of CPU beyond a trivial run's start-up, at most 150 MB more than it.
The limits themselves are documented in the README ("When something is wrong").
"""

from __future__ import annotations

import os
import random
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from cnncalc.spec import expand, files
from cnncalc.spec import safe_yaml

EXTRA_SECONDS = 1.5
EXTRA_MEGABYTES = 150
ADDRESS_SPACE = 2 * 1024**3  # hard cap for the child: a runaway allocation fails instead of swapping

DRIVER = """
import os, resource, sys
from cnncalc.cli.app import main

def record():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(os.environ["RSS_FILE"], "w") as f:
        f.write(f"{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}")  # KiB on Linux; CPU seconds

leave = os._exit  # main() ends with os._exit (no teardown): record the peak on the way out

def record_and_leave(code):
    record()
    leave(code)

os._exit = record_and_leave
sys.argv = ["cnncalc", *sys.argv[1:]]
try:
    main()
finally:
    record()  # a run that ends by an exception instead
"""


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_check(path: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess, float, float]:
    """(result, CPU seconds, peak MB) of `cnncalc check PATH` in a fresh, memory-capped process.

    CPU time, not wall time: the suite runs on every core at once (pytest-xdist), and a busy machine
    stretches the wall clock of a run whose work is the same (CI saw 6.2 s of wall time for 3 s of work).
    The 30-second timeout still bounds the wall clock, so a hang fails."""
    rss_file = tmp_path / "rss.txt"
    env = {**os.environ, "RSS_FILE": str(rss_file), "NO_COLOR": "1"}
    result = subprocess.run(
        [sys.executable, "-c", DRIVER, "check", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        preexec_fn=_limit_memory,
    )
    rss, seconds = rss_file.read_text().split()
    return result, float(seconds), int(rss) / 1024


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> tuple[float, float]:
    """Start-up time and memory of a trivial check, the floor the hostile cases are measured from."""
    tmp = tmp_path_factory.mktemp("baseline")
    spec = tmp / "ok.yaml"
    spec.write_text("input: 8x8x3\nlayers: [relu]\n", encoding="utf-8")
    runs = [run_check(spec, tmp) for _ in range(3)]
    assert all(r.returncode == 0 for r, _, _ in runs)
    return min(s for _, s, _ in runs), max(m for _, _, m in runs)


def laughs_in_layers(levels: int = 9) -> str:
    """The billion laughs inside valid structure: 10 relus, then 9 levels of 10 aliases each (10^10 layers)."""
    lines = ["input: 8x8x3", "layers:", "  - sequential: {layers: &a0 [relu, relu, relu, relu, relu, relu, relu, relu, relu, relu]}"]
    for i in range(1, levels + 1):
        inner = ", ".join([f"sequential: {{layers: *a{i - 1}}}"] * 10)
        lines.append(f"  - sequential: {{layers: &a{i} [{inner}]}}")
    return "\n".join(lines) + "\n"


def laughs_classic(levels: int = 9) -> str:
    lines = ["lol0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels + 1):
        lines.append(f"lol{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\ninput: 8x8x3\nlayers: [relu]\n"


def merge_bomb(keys: int = 60_000, merges: int = 100) -> str:
    """YAML `<<` merge keys copy a mapping's keys: one big mapping merged again and again (copies are counted)."""
    big = "{" + ", ".join(f"k{i}: 0" for i in range(keys)) + "}"
    lines = [f"m0: &m {big}"] + [f"m{i}: {{<<: *m}}" for i in range(1, merges)]
    return "\n".join(lines) + "\ninput: 8x8x3\nlayers: [relu]\n"


def nested_repeats(count: int, depth: int, leaf: str) -> str:
    text = leaf
    for _ in range(depth):
        text = f"[{{repeat: {count}, layers: {text}}}]"
    return f"input: 8x8x3\nlayers: {text}\n"


def block_tree(levels: int, leaf: str) -> str:
    lines = ["input: 8x8x3", "blocks:", f"  b0: {{layers: [{leaf}]}}"]
    lines += [f"  b{i}: {{layers: [b{i - 1}, b{i - 1}]}}" for i in range(1, levels)]
    return "\n".join(lines) + f"\nlayers: [b{levels - 1}]\n"


def block_chain(depth: int) -> str:
    """Blocks using blocks `depth` deep: shallow YAML, deep structure."""
    lines = ["input: 8x8x3", "blocks:", "  b0: {layers: [relu]}"] + [f"  b{i}: {{layers: [b{i - 1}]}}" for i in range(1, depth)]
    return "\n".join(lines) + f"\nlayers: [b{depth - 1}]\n"


def block_nesting(depth: int) -> str:
    """Block-style YAML (indentation, no brackets) nested `depth` sequentials deep."""
    lines = ["input: 8x8x3", "layers:"]
    for i in range(depth):
        lines += [" " * (4 * i) + "- sequential:", " " * (4 * i + 4) + "layers:"]
    return "\n".join(lines) + "\n" + " " * (4 * depth) + "- relu\n"


_RNG = random.Random(6)
BIG = files.MAX_FILE_BYTES

CASES = {
    # alias bombs
    "billion laughs in layers": (laughs_in_layers(), "the spec expands to more than 250,000 layers"),
    "billion laughs, classic": (laughs_classic(), "a spec has no key `lol0`"),
    "merge-key bomb": (merge_bomb(), "the YAML's `<<` merges copy more than 250,000 keys"),
    # expansion
    "repeat 10^12": ("input: 8x8x3\nlayers:\n  - repeat: 1000000000000\n    layers: [relu]\n", "`repeat: 1,000,000,000,000` would make more than 250,000 layers"),
    "nested repeats of relu (10^12)": (nested_repeats(1000, 4, "[relu]"), "the spec expands to more than 250,000 layers"),
    "nested repeats of nothing": (nested_repeats(1000, 4, "[]"), "expanding the spec's blocks and repeats takes more than 600,000 steps"),
    "nested repeats of switched-off layers": (nested_repeats(1000, 4, "[relu: {when: false}]"), "takes more than 600,000 steps"),
    "blocks doubling 60 times": (block_tree(60, "relu"), "the spec expands to more than 250,000 layers"),
    "blocks doubling 60 times, all off": (block_tree(60, "relu: {when: false}"), "the spec expands to more than 250,000 layers"),
    # nesting
    "flow nesting [[[[...]]]] 100,000 deep": ("input: 8x8x3\nlayers: " + "[" * 100_000 + "]" * 100_000 + "\n", "the YAML nests lists and mappings more than 200 levels deep"),
    "unclosed flow nesting": ("layers: " + "[" * 100_000 + "\n", "the YAML nests lists and mappings more than 200 levels deep"),
    "flow mappings {a: {a: ...}} 100,000 deep": ("x: " + "{a: " * 100_000 + "}" * 100_000 + "\n", "the YAML nests lists and mappings more than 200 levels deep"),
    "block-style nesting 300 deep": (block_nesting(300), "the YAML nests lists and mappings more than 200 levels deep"),
    "blocks using blocks 1,000 deep": (block_chain(1000), "blocks nest more than 64 levels deep"),
    # numbers
    "a million-digit number": ("input: 8x8x3\nlayers:\n  - fc: {units: " + "9" * 1_000_000 + "}\n", "this number has 1,000,000 digits"),
    "a million-digit input": ("input: " + "9" * 1_000_000 + "x3x3\nlayers: [relu]\n", "an input size must fit torch's int64"),
    "kernel 10^30": ("input: 8x8x3\nlayers:\n  - conv: {filters: 8, kernel: 1000000000000000000000000000000}\n", "up to 9,223,372,036,854,775,807 (torch's int64 limit)"),
    "float 1e400": ("input: 8x8x3\nlayers:\n  - dropout: {p: 1.0e+400}\n", "the number 1.0e+400 is too large: it overflows to infinity"),
    "products beyond int64": ("input: 3037000500x3037000500x1\nlayers: [relu]\n", "an input must fit torch's int64"),
    "upsampling to infinity": ("input: 8x8x3\nlayers:\n  - upsample: {scale: 1.0e+300}\n", "an output size must fit torch's int64"),
    "expression growth": (
        "input: 8x8x3\nblocks:\n  b:\n    args: {x: 4294967296}\n    layers: [conv: {filters: $x * $x * $x, kernel: 1}]\nlayers: [b]\n",
        "gives a number beyond ±9,223,372,036,854,775,807",
    ),
    # size and shape of the text
    "1,200,001 values on one line": ("input: 8x8x3\nlayers: [" + "0," * 1_200_001 + "]\n", "the YAML holds more than 1,200,000 values"),
    "a 16 MB line of text": ("input: 8x8x3\nlayers: [relu]\nname: " + "a" * (BIG - 40) + "\n", None),
    "a key of 100,000 characters": ("input: 8x8x3\nlayers: [relu]\n? " + "k" * 100_000 + "\n: 1\n", "a key of 100,000 characters"),
    "a plain key of 5,000 characters": ("input: 8x8x3\n" + "k" * 5_000 + ": 1\n", "a line of more than 1,024 characters"),
    "20 MB of spec": ("input: 8x8x3\nlayers: [relu]\n" + "# comment\n" * 2_000_000, "cnncalc reads specs of at most 16,777,216 bytes"),
    "18 MB of 3-byte characters": ("input: 8x8x3\nlayers: [relu]\nname: " + "가" * 6_000_000 + "\n", "cnncalc reads specs of at most 16,777,216 bytes"),
}
BINARY_CASES = {
    "a 1 GB sparse file": (None, "the spec is 1,000,000,000 bytes; cnncalc reads specs of at most 16,777,216 bytes (16 MiB)"),
    "1 MB of random bytes": (_RNG.randbytes(1_000_000), "not a YAML spec"),
    "random bytes without NUL": (bytes(b for b in _RNG.randbytes(200_000) if b), "the file is not UTF-8 text"),
    "a PNG header": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + _RNG.randbytes(5000), "this is a binary file, not a YAML spec"),
    "UTF-16 text": ("input: 8x8x3\nlayers: [relu]\n".encode("utf-16"), "the file is UTF-16 text; cnncalc reads UTF-8"),
    "control characters": (b"input: 8x8x3\nlayers: [relu]\nname: \x1b[31mred\n", "the control character U+001B"),
}


# What is refused at a size limit (250,000 layers, 1,200,000 YAML values, 600,000 expansion steps) is read up to
# that limit first, as a legal spec of that size would be (about 10 µs a layer or group, 1.5 µs a value): 1.5–2.5 s
# here, and the legal spec just under the layer limit takes about 4 s. Those cases get the time such a spec may take
# on a busy 2-core machine, and the same memory bound as every other case.
AT_A_SIZE_LIMIT_SECONDS = 6.0
SIZE_LIMITS = ("more than 250,000 layers", "more than 1,200,000 values", "more than 600,000 steps")


def _check_bounds(name, result, seconds, megabytes, baseline, expected) -> None:
    start_seconds, start_megabytes = baseline
    limit_seconds = AT_A_SIZE_LIMIT_SECONDS if expected and any(limit in expected for limit in SIZE_LIMITS) else EXTRA_SECONDS
    assert result.returncode == (0 if expected is None else 2), f"{name}: exit {result.returncode}\n{result.stderr[-2000:]}"
    assert result.stdout == "" or expected is None
    if expected is not None:
        assert result.stderr.startswith("error: "), result.stderr[:500]
        assert expected in result.stderr, result.stderr[:500]
        assert len(result.stderr) < 1000, "the message must fit on one screen"
    assert "Traceback" not in result.stderr
    print(f"{name}: {seconds - start_seconds:.2f} s, {megabytes - start_megabytes:.0f} MB beyond start-up")
    assert seconds - start_seconds < limit_seconds, f"{name}: {seconds:.2f} s (start-up {start_seconds:.2f} s)"
    assert megabytes - start_megabytes < EXTRA_MEGABYTES, f"{name}: {megabytes:.0f} MB (start-up {start_megabytes:.0f} MB)"


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_text_is_refused_quickly_with_little_memory(name, tmp_path, baseline):
    text, expected = CASES[name]
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    result, seconds, megabytes = run_check(path, tmp_path)
    _check_bounds(name, result, seconds, megabytes, baseline, expected)


@pytest.mark.parametrize("name", list(BINARY_CASES))
def test_hostile_bytes_are_refused_quickly_with_little_memory(name, tmp_path, baseline):
    data, expected = BINARY_CASES[name]
    path = tmp_path / "hostile.yaml"
    if data is None:
        with path.open("wb") as f:
            f.truncate(1_000_000_000)  # sparse: takes no disk, but stat says 1 GB
    else:
        path.write_bytes(data)
    result, seconds, megabytes = run_check(path, tmp_path)
    _check_bounds(name, result, seconds, megabytes, baseline, expected)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_device_is_read_only_up_to_the_limit(tmp_path, baseline):
    result, seconds, megabytes = run_check(Path("/dev/zero"), tmp_path)
    _check_bounds("/dev/zero", result, seconds, megabytes, baseline, "cnncalc reads specs of at most 16,777,216 bytes")


def test_the_largest_legal_spec_is_still_answered_quickly(tmp_path, baseline):
    """Just under the layer limit (an honest, huge spec) is answered too, not only refused: 249,999 layers."""
    path = tmp_path / "big.yaml"
    path.write_text("input: 8x8x16\nlayers:\n  - repeat: 83333\n    layers: [conv: {filters: 16, kernel: 3, padding: 1}, batchnorm, relu]\n", encoding="utf-8")
    result, seconds, megabytes = run_check(path, tmp_path)
    assert result.returncode == 0 and result.stdout.startswith(f"{path}: ok (83,333 conv/fc of 249,999 layers")
    assert seconds - baseline[0] < 10  # legal work, not a refusal: about 15 µs a layer, 4 s here, with room for a busy machine
    assert megabytes - baseline[1] < 2 * EXTRA_MEGABYTES


def test_the_limits_are_the_documented_ones():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- section: errors -->")[1].split("<!-- /section: errors -->")[0]
    for number in (files.MAX_FILE_BYTES, expand.MAX_LAYERS, expand.MAX_EXPANSION_STEPS, expand.MAX_NESTING,
                   safe_yaml.MAX_YAML_VALUES, safe_yaml.MAX_MERGED_KEYS, safe_yaml.MAX_YAML_DEPTH, safe_yaml.MAX_KEY_LENGTH, safe_yaml.MAX_NUMBER_DIGITS):
        assert f"{number:,}" in section, number


@pytest.mark.parametrize(
    "text, expected",
    [
        ('"a\\nb": 1\n', "keys are names like `kernel`; this one holds a line break or a control character"),
        ("k" * 101 + ": 1\n", "a key of 101 characters; keys are names like `kernel`, of at most 100"),
        ("layers: [{conv: {kernel: 3, kernel: 5}}]\n", "`kernel` appears twice in the same mapping (first at line"),
        ("1: 2\n", "keys are words like `kernel` or `filters`; got 1"),
        ("x: 1\n<<: 2\n", "`<<` merges the keys of another mapping"),
    ],
    ids=["line break", "101 characters", "twice", "a number", "merge of a number"],
)
def test_every_key_is_checked_in_nested_and_top_level_mappings(text, expected):
    """The YAML builder's fast path for keys keeps every check of the general one."""
    from cnncalc.errors import CnnCalcError
    from cnncalc.spec.safe_yaml import load_yaml

    for wrapped in (text, "outer:\n" + "".join(f"  {line}\n" for line in text.splitlines())):
        with pytest.raises(CnnCalcError) as caught:
            load_yaml(wrapped)
        assert expected in caught.value.message
    assert load_yaml("k" * 100 + ": 1\n") == {"k" * 100: 1}
