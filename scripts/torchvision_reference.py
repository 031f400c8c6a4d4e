"""Write tests/reference/torchvision/<name>.json from real torchvision: what CI compares the bundled specs with.

Run where torch 2.14.1 and torchvision 0.29.1 are installed (too big for CI; the README's development
section says how), from the repository's root:

    path/to/torchvision-venv/bin/python scripts/torchvision_reference.py            # every model below
    path/to/torchvision-venv/bin/python scripts/torchvision_reference.py resnet50   # some of them

For each model: torchvision's builder with `weights=None`, every leaf module hooked through one forward
pass of the bundled spec's input size, and per leaf call its path, class, output shape (torch's order,
one sample) and parameters; then the totals (parameters, batch-norm running statistics, conv/linear
MACs) and the `_ops` torchvision publishes for its weights (GMACs, 3 decimals). Nothing here reads
cnncalc's arithmetic: only the spec's input size.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import torch
import torchvision
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cnncalc.spec import zoo  # noqa: E402  (for the input size only)

# bundled spec -> (torchvision builder name, keyword arguments)
MODELS: dict[str, tuple[str, dict]] = {
    "alexnet_torchvision": ("alexnet", {}),
    "vgg11": ("vgg11", {}),
    "vgg16": ("vgg16", {}),
    "vgg16_bn": ("vgg16_bn", {}),
    "vgg19": ("vgg19", {}),
    "resnet18": ("resnet18", {}),
    "resnet34": ("resnet34", {}),
    "resnet50": ("resnet50", {}),
    "resnet101": ("resnet101", {}),
    "resnet152": ("resnet152", {}),
    "googlenet": ("googlenet", {"init_weights": False}),
    "inception_v3": ("inception_v3", {"init_weights": False}),
    "densenet121": ("densenet121", {}),
    "mobilenet_v2": ("mobilenet_v2", {}),
    "squeezenet1_0": ("squeezenet1_0", {}),
    "r3d_18": ("r3d_18", {}),
    "efficientnet_b0": ("efficientnet_b0", {}),
    "mobilenet_v3_large": ("mobilenet_v3_large", {}),
    "convnext_tiny": ("convnext_tiny", {}),
    "shufflenet_v2_x1_0": ("shufflenet_v2_x1_0", {}),
    "regnet_y_400mf": ("regnet_y_400mf", {}),
    "fcn_resnet50": ("fcn_resnet50", {"aux_loss": True, "weights_backbone": None}),
    "fcn_resnet101": ("fcn_resnet101", {"aux_loss": True, "weights_backbone": None}),
    "deeplabv3_resnet50": ("deeplabv3_resnet50", {"aux_loss": True, "weights_backbone": None}),
    "deeplabv3_resnet101": ("deeplabv3_resnet101", {"aux_loss": True, "weights_backbone": None}),
    "lraspp_mobilenet_v3_large": ("lraspp_mobilenet_v3_large", {"weights_backbone": None}),
    "deeplabv3_mobilenet_v3_large": ("deeplabv3_mobilenet_v3_large", {"aux_loss": True, "weights_backbone": None}),
    **{name: (name, {}) for name in (
        "vgg11_bn", "vgg13", "vgg13_bn", "vgg19_bn",
        "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2",
        "densenet161", "densenet169", "densenet201",
        "convnext_small", "convnext_base", "convnext_large",
        "shufflenet_v2_x0_5", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0",
        "regnet_y_800mf", "regnet_y_1_6gf", "regnet_y_3_2gf", "regnet_y_8gf", "regnet_y_16gf", "regnet_y_32gf", "regnet_y_128gf",
        "efficientnet_b1", "efficientnet_b2", "efficientnet_b3", "efficientnet_b4", "efficientnet_b5", "efficientnet_b6",
        "efficientnet_b7", "mobilenet_v3_small", "mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3",
        "squeezenet1_1", "mc3_18", "r2plus1d_18", "s3d", "efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l",
        "regnet_x_400mf", "regnet_x_800mf", "regnet_x_1_6gf", "regnet_x_3_2gf", "regnet_x_8gf", "regnet_x_16gf", "regnet_x_32gf",
    )},
}
CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
# Models whose auxiliary heads (side outputs in the spec) run only in training: traced in training mode
# so that the heads' layers are recorded too; `_ops` is then the main path's (eval) count.
TRAINING = {"googlenet", "inception_v3"}


def macs(module: nn.Module, out: torch.Tensor) -> int:
    if isinstance(module, CONVS):
        return module.weight.numel() * math.prod(out.shape[2:])
    if isinstance(module, nn.Linear):
        return module.weight.numel() * (out[0].numel() // module.out_features)
    return 0


def reference(name: str) -> dict:
    builder, kwargs = MODELS[name]
    model_fn = torchvision.models.get_model_builder(builder)
    device = "cpu" if builder.startswith("regnet") else "meta"  # RegNet computes its widths with tensors
    with torch.device(device):
        model = model_fn(weights=None, **kwargs)
    model.train(name in TRAINING)
    calls: list[tuple[str, nn.Module, torch.Tensor]] = []
    for path, module in model.named_modules():
        if not list(module.children()):
            module.register_forward_hook(lambda m, i, o, path=path: calls.append((path, m, o)))
    network = zoo.load(name)
    # Two samples in training mode: batch norm refuses one value per channel (Inception v3's aux head is 1x1).
    batch = 2 if name in TRAINING else 1
    with torch.no_grad():
        model(torch.zeros(batch, *network.input.torch_size(), device=device))
    try:
        ops = torchvision.models.get_model_weights(builder).DEFAULT.meta.get("_ops")
    except (ValueError, AttributeError):
        ops = None
    running = sum(b.numel() for n, b in model.named_buffers() if n.endswith(("running_mean", "running_var")))
    return {
        "builder": f"torchvision.models.{builder}",
        "kwargs": kwargs,
        "torchvision": torchvision.__version__,
        "input": list(network.input.torch_size()),
        "params": sum(p.numel() for p in model.parameters()),
        "running_stats": running,
        "macs": sum(macs(m, o) for _, m, o in calls),
        "ops": ops,
        "ops_of": "main path" if name in TRAINING else "all",
        # [path, class, output shape (one sample, torch's order), own parameters]
        "leaves": [[path, type(m).__name__, list(o.shape[1:]), sum(p.numel() for p in m.parameters())] for path, m, o in calls],
    }


def main() -> None:
    names = sys.argv[1:] or list(MODELS)
    out_dir = ROOT / "tests" / "reference" / "torchvision"
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        doc = reference(name)
        (out_dir / f"{name}.json").write_text(json.dumps(doc, separators=(",", ":")) + "\n")
        print(f"{name}: {doc['params']:,} params, {doc['macs']:,} MACs, _ops {doc['ops']}, {len(doc['leaves'])} leaf calls")


if __name__ == "__main__":
    main()
