"""Paired A/B timing of two installed cnncalc scripts on the same command (run by hand, not a test).

    python bench/ab.py OLD/bin/cnncalc NEW/bin/cnncalc table resnet152 --format json
    python bench/ab.py --runs 31 OLD/bin/cnncalc NEW/bin/cnncalc receptive-field resnet152

Runs the two alternately (A B A B …) so that whatever else the machine does falls on both alike,
and prints the median CPU time (user + system) of each and the median of the paired ratios B/A.
Make sure both installs have their bytecode compiled (`python -m compileall`), or the one that
recompiles on every run (PYTHONDONTWRITEBYTECODE) pays for it.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess


def cpu_seconds(command: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("a", help="the first cnncalc script (the baseline)")
    parser.add_argument("b", help="the second cnncalc script")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the cnncalc command to time")
    options = parser.parse_args()
    a_times, b_times, ratios = [], [], []
    for _ in range(options.runs):
        a = cpu_seconds([options.a, *options.args])
        b = cpu_seconds([options.b, *options.args])
        a_times.append(a)
        b_times.append(b)
        ratios.append(b / a)
    quartiles = statistics.quantiles(ratios, n=4)
    print(
        f"{' '.join(options.args)}: A {statistics.median(a_times) * 1000:.1f} ms, B {statistics.median(b_times) * 1000:.1f} ms, "
        f"B/A {statistics.median(ratios):.3f} (quartiles {quartiles[0]:.3f}–{quartiles[2]:.3f}, {options.runs} pairs)"
    )


if __name__ == "__main__":
    main()
