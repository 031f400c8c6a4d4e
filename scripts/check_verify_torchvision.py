"""`cnncalc verify` of every bundled torchvision spec against torchvision's own builder.

Run where torch 2.14.1 and torchvision 0.29.1 are installed, from the repository's root:

    path/to/torchvision-venv/bin/python scripts/check_verify_torchvision.py

Each model is built on the meta device (RegNet on the CPU, then moved: it computes its widths with
tensors) and compared layer by layer and in its totals, as `cnncalc verify SPEC --torch …` does.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torchvision  # noqa: E402

from cnncalc.bridge import verify  # noqa: E402
from cnncalc.core.engine import analyse  # noqa: E402
from cnncalc.spec import zoo  # noqa: E402
from scripts.torchvision_reference import MODELS  # noqa: E402


def main() -> None:
    agree = 0
    for name, (builder, kwargs) in MODELS.items():
        factory = torchvision.models.get_model_builder(builder)
        model = verify._on_meta(lambda: factory(weights=None, **kwargs), builder)
        verdict = verify.compare(analyse(zoo.load(name)), model)
        agree += verdict.agrees
        print(f"{name:30s} {'agrees' if verdict.agrees else verdict.differences[:3]} ({verdict.compared} layers compared)")
    print(f"{agree} of {len(MODELS)} agree")
    sys.exit(0 if agree == len(MODELS) else 1)


if __name__ == "__main__":
    main()
