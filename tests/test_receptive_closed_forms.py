"""The receptive-field closed forms that replaced per-unit loops, against brute force, and hostile sizes.

Adaptive pooling, strided transposed convolutions and merges of branches with different
effective strides used to look at every output unit; a spec asking for 10^8 units then ran out
of memory. The closed forms are checked here against direct enumeration of torch's own rules
(ATen's adaptive start/end indices, ConvTranspose2d's o = j·s − p + t·d), written out in the
tests, and the CLI is run on hostile sizes under a memory cap and a time bound.
"""

from __future__ import annotations

import itertools
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

from cnncalc.kinds.formulas import adaptive_pool_bin_sizes_and_steps
from cnncalc.kinds.conv import transposed_spreads
from cnncalc.core.receptive import Span, _union_candidates


def test_adaptive_bin_sizes_and_steps_match_enumerated_bins():
    for n, out in itertools.product(range(1, 70), range(1, 110)):
        # ATen adaptive_avg_pool2d: start_index = floor(i·n/o), end_index = ceil((i+1)·n/o)
        starts = [i * n // out for i in range(out)]
        ends = [-(-(i + 1) * n // out) for i in range(out)]
        sizes = tuple(sorted({e - s for s, e in zip(starts, ends)}))
        steps = tuple(sorted({b - a for a, b in zip(starts, starts[1:])}))
        assert adaptive_pool_bin_sizes_and_steps(n, out) == (sizes, steps), (n, out)


def _spreads_by_enumeration(n_in, n_out, k, s, d, p):
    spreads = []
    for o in range(n_out):
        js = [(o + p - t * d) // s for t in range(k) if (o + p - t * d) % s == 0 and 0 <= (o + p - t * d) // s < n_in]
        if js:
            spreads.append(max(js) - min(js))
    return (min(spreads), max(spreads)) if spreads else ()


def test_transposed_spreads_match_enumeration():
    checked = 0
    for n_in, k, s, d in itertools.product(range(1, 8), range(1, 7), range(2, 5), range(1, 5)):
        for p in range(0, d * (k - 1) + 1):
            for output_padding in range(max(s, d)):
                n_out = (n_in - 1) * s - 2 * p + d * (k - 1) + output_padding + 1
                if n_out > 0:
                    assert transposed_spreads(n_in, n_out, k, s, d, p) == _spreads_by_enumeration(n_in, n_out, k, s, d, p)
                    checked += 1
    assert checked > 10_000


def test_union_candidates_find_the_extremes_of_every_unit():
    rnd = random.Random(7)
    for _ in range(5000):
        spans = [Span(rnd.randint(1, 40), rnd.randint(1, 9), rnd.randint(-5, 20)) for _ in range(rnd.randint(2, 4))]
        n = rnd.randint(1, 60)

        def sizes(units):
            return [max(s.end(u) for s in spans) - min(s.start(u) for s in spans) + 1 for u in units]

        every = sizes(range(n))
        some = sizes(_union_candidates(spans, n))
        assert (min(every), max(every)) == (min(some), max(some))


HOSTILE = {
    # 7 → 10^8: bins of 1 or 2 input units (7 = 0·10^8 + 7, and 7 ≥ 2·gcd(7, 10^8)), so r is 1 or 2
    "adaptive": ("7x7x3", "adaptive_avgpool: {output_size: [100000000, 1]}", [1, 2]),
    # one input unit and a kernel of 10^8 taps: every output unit is fed by that one unit, r = 1
    "transposed": ("1x1x3", "conv_transpose: {filters: 1, kernel: [100000000, 1], stride: 3, dilation: 2}", [1, 1]),
    # 10^5 inputs at stride 1000 with 3 taps: every fed output unit is fed by exactly one input unit
    "transposed_wide": ("100000x1x3", "conv_transpose: {filters: 1, kernel: [3, 1], stride: [1000, 1]}", [1, 1]),
    # 10^8 → 5·10^7 two ways: unit u sees 2u … 2u (stride 2) and u … u + 5·10^7 (kernel 5·10^7 + 1);
    # since 2u < u + 5·10^7 for every u < 5·10^7, the union is u … u + 5·10^7: r = 5·10^7 + 1 throughout
    "merge": (
        "100000000x1x3",
        "add: {branches: [[conv: {filters: 3, kernel: 1, stride: [2, 1]}], [conv: {filters: 3, kernel: [50000001, 1]}]]}",
        [50000001, 50000001],
    ),
}


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))


def test_hostile_sizes_are_fast_and_exact(tmp_path: Path):
    for name, (size, layer, expected) in HOSTILE.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(f"input: {size}\nlayers:\n  - {layer}\n")
        start = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "cnncalc", "receptive-field", str(path), "--format", "json"],
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=_limit_memory,
            env={"COLUMNS": "100", "NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
        )
        elapsed = time.monotonic() - start
        assert result.returncode == 0, (name, result.stderr)
        assert elapsed < 5, (name, elapsed)
        layer_field = json.loads(result.stdout)["layers"][-1]
        assert layer_field["receptive_field_range"]["height"] == expected, (name, layer_field)


def test_upsample_to_a_hostile_size_is_fast(tmp_path: Path):
    # nearest 7 → 10^8 never enumerated units; kept here so that it never starts to
    path = tmp_path / "up.yaml"
    path.write_text("input: 7x7x3\nlayers:\n  - upsample: {size: [100000000, 1]}\n")
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "cnncalc", "receptive-field", str(path), "--format", "json"],
        capture_output=True, text=True, timeout=60, preexec_fn=_limit_memory, env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0 and time.monotonic() - start < 5
    height = json.loads(result.stdout)["layers"][-1]
    assert height["receptive_field"]["height"] == 1 and "copies one input unit" in height["note"]


def test_transposed_range_past_the_cap_says_it_is_not_computed(tmp_path: Path):
    # 2·10^5 inputs and 2·10^5 taps: both ends of the output are ~2·10^5 units of changing
    # overlap, more than TRANSPOSED_CANDIDATE_CAP; the range is left out and the note says so
    path = tmp_path / "big.yaml"
    path.write_text("input: 200000x1x1\nlayers:\n  - conv_transpose: {filters: 1, kernel: [200000, 1], stride: [2, 1]}\n")
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "cnncalc", "receptive-field", str(path), "--format", "json"],
        capture_output=True, text=True, timeout=60, preexec_fn=_limit_memory, env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0 and time.monotonic() - start < 5, result.stderr
    layer_field = json.loads(result.stdout)["layers"][-1]
    assert layer_field["receptive_field"]["height"] is None
    assert "not computed" in layer_field["note"]
