"""Every bundled torchvision model's exported code against torchvision's state dict, loaded with strict=True.

Run where torch 2.14.1 and torchvision 0.29.1 are installed, from the repository's root:

    path/to/torchvision-venv/bin/python scripts/check_export_state_dicts.py

Both models are built on the meta device (RegNet on the CPU: it computes its widths with tensors), so
the check compares key names and tensor shapes without allocating weights.
"""

import sys, json, warnings
warnings.filterwarnings("ignore")
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import torch, torchvision
from scripts.torchvision_reference import MODELS
from cnncalc.spec import zoo
from cnncalc.core.engine import analyse
from cnncalc.render.pytorch import export_pytorch, _camel
from cnncalc.bridge import verify
ok = bad = 0
for name, (builder, kwargs) in MODELS.items():
    a = analyse(zoo.load(name))
    code = export_pytorch(a, name, "0")
    ours = verify.from_source(code, _camel(a.network.name))
    fn = torchvision.models.get_model_builder(builder)
    with torch.device("cpu" if builder.startswith("regnet") else "meta"):
        theirs = fn(weights=None, **kwargs)
    try:
        result = ours.load_state_dict(theirs.state_dict(), strict=True)
        ok += 1
        print(f"{name:30s} strict load OK ({len(theirs.state_dict())} tensors)")
    except Exception as e:
        bad += 1
        print(f"{name:30s} FAIL {str(e)[:600]}")
print(f"{ok} loaded strictly, {bad} failed")
sys.exit(1 if bad else 0)
