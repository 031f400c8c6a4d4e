"""torchvision's models imported back into specs, through torch.fx and through ONNX, against the bundled specs.

Run where torch 2.14.1, torchvision 0.29.1 and onnx are installed, from the repository's root:

    path/to/torchvision-venv/bin/python scripts/check_import_torchvision.py                 # the three of issue 15
    path/to/torchvision-venv/bin/python scripts/check_import_torchvision.py resnet18 vgg16  # others

For each model: `cnncalc import`'s two readers (torch.fx on the meta device; torch.onnx.export in training
mode, so batch norm and dropout stay layers, then the ONNX reader), and the leaf rows of the written spec
(path, kind, output shape, parameters, MACs) compared with the bundled spec's.
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
import torchvision  # noqa: E402

from cnncalc.bridge.fx_import import import_model  # noqa: E402
from cnncalc.bridge.onnx_import import import_onnx  # noqa: E402
from cnncalc.core.engine import analyse  # noqa: E402
from cnncalc.render.specfile import write_spec  # noqa: E402
from cnncalc.spec import zoo  # noqa: E402
from cnncalc.spec.parse import parse_spec  # noqa: E402


def rows(analysis):
    return [(r.path, r.kind, r.output.as_json(), r.params, r.macs) for r in analysis.leaves()]


def check(name: str, how: str, imported, expected) -> bool:
    text = write_spec(name, "x".join(map(str, (*imported.input_size[1:], imported.input_size[0]))), how, imported.items, imported.sides, classes=imported.classes)
    ours = rows(analyse(parse_spec(text)))
    same = imported.unsupported == [] and ours == expected
    print(f"{name:24s} {how:6s} {'equal' if same else 'DIFFERENT'} ({len(ours)} leaf rows, bundled {len(expected)})")
    if not same:
        print("   unsupported:", imported.unsupported[:5])
        print("   first difference:", next(((a, b) for a, b in zip(ours, expected) if a != b), None))
    return same


def main() -> None:
    names = sys.argv[1:] or ["resnet50", "mobilenet_v3_large", "efficientnet_b0"]
    ok = True
    for name in names:
        network = zoo.load(name)
        size = tuple(network.input.torch_size())
        expected = rows(analyse(network))
        with torch.device("meta"):
            model = torchvision.models.get_model(name)
        ok &= check(name, "fx", import_model(model, size), expected)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{name}.onnx"
            cpu = torchvision.models.get_model(name).train()
            torch.onnx.export(cpu, (torch.zeros((2, *size)),), str(path), dynamo=False,
                              training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False)
            ok &= check(name, "onnx", import_onnx(path), expected)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
