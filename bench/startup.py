"""Start-up and scaling benchmark of cnncalc, fair on a shared machine (run by hand, not a test).

    python bench/startup.py                 # 15 pairs per command
    python bench/startup.py --runs 31       # steadier
    python bench/startup.py --only table    # the commands whose label contains `table`

**Start-up.** Each command is timed against the floor set by cnncalc's own dependencies,
`python -c "import typer, rich.table, yaml"`, in interleaved pairs (floor, command, floor, command, …),
so that whatever else the machine does falls on both alike. The figure is the median of the paired
ratios command/floor, with the spread of those ratios (first and third quartile): a target is met
when the median is under it, and the spread says how far to trust that on this machine.

**Scaling.** Generated specs of 1,000, 10,000 and 100,000 layers in four shapes (a written-out chain,
a `repeat`, block uses, a wide `concat`) through `table --format json`, the default table and
`receptive-field --format json`: the time beyond start-up (the same command on lenet5), t(100k)/t(10k),
which is 10 for linear work, and the whole time and peak memory (resident set) of the 100k run, each
the median of max(3, runs/5) runs (one 100k run could fall on a busy minute); then `quiz -n 100000 -f json`.
`--sizes 1000,10000` leaves the 100k runs out.

Every figure is CPU time (user + system) of separate processes, start-up included, as a user feels it;
`--wall` measures wall-clock time instead. The machine, Python and package versions are printed first.
cnncalc's bytecode is compiled first and each command runs once uncounted: the figures are those of a
second run, not of the first after an install or a change (which compiles modules and fills the cache).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

WALL = False
FLOOR = [sys.executable, "-c", "import typer, rich.table, yaml"]


def measured(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(seconds, peak resident megabytes) of one run of `command`, from its own rusage (os.wait4)."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            errors.seek(0)
            sys.exit(f"{' '.join(command)} failed:\n{errors.read().decode()}")
    took = wall if WALL else usage.ru_utime + usage.ru_stime
    return took, usage.ru_maxrss / 1024  # KiB on Linux


def seconds(command: list[str], env: dict[str, str] | None = None) -> float:
    return measured(command, env)[0]


def paired(command: list[str], runs: int, env: dict[str, str] | None = None) -> tuple[float, float, float, float]:
    """(median ratio, first quartile, third quartile, median seconds of the command) over interleaved pairs,
    after one run that is not counted (it fills the bundled networks' cache after a change to cnncalc)."""
    seconds(command, env)
    ratios, times = [], []
    for _ in range(runs):
        floor = seconds(FLOOR)
        took = seconds(command, env)
        ratios.append(took / floor)
        times.append(took)
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    return statistics.median(ratios), q1, q3, statistics.median(times)


def machine() -> str:
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("cnncalc", "typer", "rich", "PyYAML"))
    return f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}; Python {platform.python_version()}; {versions}"


def spec(shape: str, layers: int) -> str:
    """A spec of about `layers` leaf layers at 8x8x16 in one of four shapes."""
    head = "name: generated\ninput: 8x8x16\n"
    if shape == "chain":  # every layer written out: the parser sees each one
        pattern = ["  - conv: {filters: 16, kernel: 3, padding: 1, bias: false}", "  - batchnorm", "  - relu"]
        return head + "layers:\n" + "\n".join(pattern[i % 3] for i in range(layers)) + "\n"
    if shape == "repeat":
        return head + f"layers:\n  - repeat: {layers // 3}\n    layers: [conv: {{filters: 16, kernel: 3, padding: 1, bias: false}}, batchnorm, relu]\n"
    if shape == "blocks":  # block uses with their own paths (resnet-like groups)
        block = "blocks:\n  unit:\n    layers:\n      - conv: {name: conv, filters: 16, kernel: 3, padding: 1, bias: false}\n      - batchnorm: {name: bn}\n      - relu: {name: relu}\n"
        return head + block + "layers:\n" + "\n".join("  - unit" for _ in range(layers // 3)) + "\n"
    if shape == "concat":  # one merge with many branches
        branches = "\n".join("        - [conv: {filters: 1, kernel: 1, bias: false}]" for _ in range(layers))
        return head + f"layers:\n  - concat:\n      branches:\n{branches}\n"
    raise ValueError(shape)


def main() -> None:
    global WALL
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--wall", action="store_true", help="wall-clock time instead of CPU time")
    parser.add_argument("--only", default="", help="only the rows whose label contains this")
    parser.add_argument("--sizes", default="1000,10000,100000", help="layer counts of the scaling specs")
    options = parser.parse_args()
    WALL = options.wall
    script = shutil.which("cnncalc")
    if script is None:
        sys.exit("cnncalc is not on PATH: pip install -e . first")
    # Steady state, as a second run of any command finds it: the modules' bytecode compiled. A first run
    # compiles what changed, and with PYTHONDONTWRITEBYTECODE set every run would (7 ms for core.receptive).
    import compileall

    import cnncalc

    compileall.compile_dir(os.path.dirname(cnncalc.__file__), quiet=1)
    print(machine())
    print(f"{'CPU' if not WALL else 'wall'} time, {options.runs} interleaved pairs each; ratio = command / floor (`{' '.join(FLOOR[1:])}`)\n")

    startup = [
        ("table resnet152 (default, piped)", ["table", "resnet152"]),
        ("table resnet152 --format json", ["table", "resnet152", "--format", "json"]),
        ("receptive-field resnet152", ["receptive-field", "resnet152"]),
        ("receptive-field resnet152 --format json", ["receptive-field", "resnet152", "--format", "json"]),
        ("models", ["models"]),
        ("check resnet152", ["check", "resnet152"]),
        ("explain resnet152 --layer layer4.2.conv3", ["explain", "resnet152", "--layer", "layer4.2.conv3"]),
        ("layer conv", ["layer", "conv", "--input", "56x56x64", "--filters", "64", "--kernel", "3"]),
        ("quiz -n 10 -f json", ["quiz", "-n", "10", "--seed", "1", "-f", "json"]),
        ("show resnet152", ["show", "resnet152"]),
        ("--help", ["--help"]),
    ]
    print(f"{'start-up':45s} {'ratio':>6s} {'q1':>6s} {'q3':>6s} {'ms':>8s}")
    for label, args in startup:
        if options.only in label:
            ratio, q1, q3, took = paired([script, *args], options.runs)
            print(f"{label:45s} {ratio:6.2f} {q1:6.2f} {q3:6.2f} {took * 1000:8.1f}")
    if options.only in "completion":
        env = dict(os.environ, _CNNCALC_COMPLETE="complete_bash", COMP_WORDS="cnncalc table res", COMP_CWORD="2")
        ratio, q1, q3, took = paired([script], options.runs, env)
        print(f"{'completion (cnncalc table res<TAB>)':45s} {ratio:6.2f} {q1:6.2f} {q3:6.2f} {took * 1000:8.1f}")

    sizes = [int(n) for n in options.sizes.split(",")]
    head = "".join(f"{f'{n // 1000}k':>8s}" for n in sizes)
    print(f"\n{'scaling (ms beyond start-up)':45s}{head} {'ratio':>6s} {'s':>6s} {'MB':>6s}")
    base = statistics.median(seconds([script, "table", "lenet5", "--format", "json"]) for _ in range(options.runs))
    runs = max(3, options.runs // 5)
    with tempfile.TemporaryDirectory() as tmp:
        for shape in ("chain", "repeat", "blocks", "concat"):
            for what in (["table", "--format", "json"], ["table"], ["receptive-field", "--format", "json"]):
                label = f"{shape}: {' '.join(what)}"
                if options.only not in label:
                    continue
                beyond, whole, peak = [], 0.0, 0.0
                for layers in sizes:
                    path = Path(tmp) / f"{shape}{layers}.yaml"
                    path.write_text(spec(shape, layers), encoding="utf-8")
                    results = [measured([script, what[0], str(path), *what[1:]]) for _ in range(runs)]
                    whole = statistics.median(r[0] for r in results)
                    peak = max(r[1] for r in results)
                    beyond.append(max(whole - base, 1e-6))
                columns = "".join(f"{b * 1000:8.0f}" for b in beyond)
                print(f"{label:45s}{columns} {beyond[-1] / beyond[-2]:6.1f} {whole:6.2f} {peak:6.0f}")
    if options.only in "quiz -n 100000":
        took, peak = measured([script, "quiz", "-n", "100000", "--seed", "1", "-f", "json"])
        print(f"\n{'quiz -n 100000 -f json':45s} {took:6.2f} s {peak:6.0f} MB")
    # How fast the machine was meanwhile: on a shared machine a neighbour's load slows every process alike,
    # start-up and the 100k runs; compare this with the floor on a quiet machine (85-95 ms here) before
    # comparing the seconds above with a target.
    floor = statistics.median(seconds(FLOOR) for _ in range(options.runs))
    print(f"\n(ratio: the last size's time beyond start-up over the one before; s and MB: the last size's whole run;"
          f"\n the floor took {floor * 1000:.0f} ms at the end of this run)")


if __name__ == "__main__":
    main()
