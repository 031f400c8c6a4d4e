"""Start-up and scaling benchmark for `cnncalc table` (run by hand, not a test).

    python bench/startup.py            # median of 15 runs each
    python bench/startup.py --runs 31

1. `cnncalc table resnet152 --format json` against `python -c "import typer, rich.table, yaml"`,
   the floor set by our own dependencies: prints both medians and the ratio (target <= 1.3).
2. Generated specs of 1,000 / 5,000 / 10,000 layers through the same command: prints the time
   beyond start-up and the cost per layer (target: under 1 s beyond start-up at 10,000, linear).

Every figure is the median over separate processes, so it includes the interpreter's start-up
exactly as a user sees it. CPU time (user + system) is measured by default, because it stays
put when other work shares the machine; `--wall` measures wall-clock time instead.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WALL = False


def median_seconds(command: list[str], runs: int) -> float:
    """Median of the child's CPU time (user + system), or of wall time with --wall.

    CPU time is the default because it does not change when other processes share the
    machine; on an idle machine the two agree to a few milliseconds.
    """
    times = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        times.append(wall if WALL else cpu)
        if done.returncode != 0:
            sys.exit(f"{' '.join(command)} failed:\n{done.stderr.decode()}")
    return statistics.median(times)


def generated_spec(layers: int) -> str:
    """A plain chain of `layers` leaf layers: conv / batchnorm / relu triples at 8x8x16, written out
    (no repeat), so that the parser and the engine see every layer."""
    lines = ["name: chain", "input: 8x8x16", "layers:"]
    pattern = ["  - conv: {filters: 16, kernel: 3, padding: 1, bias: false}", "  - batchnorm", "  - relu"]
    lines.extend(pattern[i % 3] for i in range(layers))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="processes per figure (the median is shown)")
    parser.add_argument("--wall", action="store_true", help="time wall-clock instead of CPU (user + system)")
    args = parser.parse_args()
    global WALL
    WALL = args.wall
    print(f"{'wall-clock' if WALL else 'CPU (user + system)'} time, median of separate processes")
    python = sys.executable
    cnncalc = shutil.which("cnncalc", path=str(Path(python).parent)) or shutil.which("cnncalc")
    if cnncalc is None:
        sys.exit("the `cnncalc` script is not installed next to this Python; run `pip install -e .` first")

    import compileall

    from cnncalc.spec import zoo

    # pip compiles an installed package's bytecode; an editable checkout run with
    # PYTHONDONTWRITEBYTECODE set would recompile every cnncalc module on every run,
    # which no user sees. Compile once, as an install would.
    compileall.compile_dir(str(Path(zoo.__file__).parent), quiet=1)

    model = "resnet152" if zoo.bundled_path("resnet152") else "resnet50"
    if model != "resnet152":
        print("note: resnet152 is not bundled yet; timing resnet50 instead")

    floor = median_seconds([python, "-c", "import typer, rich.table, yaml"], args.runs)
    ours = median_seconds([cnncalc, "table", model, "--format", "json"], args.runs)
    print(f"python -c 'import typer, rich.table, yaml'   {floor * 1000:7.1f} ms  (median of {args.runs})")
    print(f"cnncalc table {model} --format json       {ours * 1000:7.1f} ms")
    print(f"ratio {ours / floor:.2f}  (target <= 1.3)")

    print()
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "one.yaml"
        empty.write_text(generated_spec(1))
        base = median_seconds([cnncalc, "table", str(empty), "--format", "json"], args.runs)
        print(f"{'layers':>7} {'total ms':>9} {'beyond 1-layer ms':>18} {'us/layer':>9}")
        print(f"{1:>7} {base * 1000:9.1f} {0:18.1f} {'':>9}")
        for n in (1_000, 5_000, 10_000):
            path = Path(tmp) / f"chain{n}.yaml"
            path.write_text(generated_spec(n))
            total = median_seconds([cnncalc, "table", str(path), "--format", "json"], max(3, args.runs // 3))
            beyond = total - base
            print(f"{n:>7,} {total * 1000:9.1f} {beyond * 1000:18.1f} {beyond / n * 1e6:9.1f}")
    print("target: under 1,000 ms beyond start-up at 10,000 layers, and a flat cost per layer")


if __name__ == "__main__":
    main()
