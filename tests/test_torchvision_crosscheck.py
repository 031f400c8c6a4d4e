"""The bundled torchvision specs against torchvision's own builders, layer by layer.

Needs torchvision, which is not a test dependency (too big for CI); it skips without it.
Run it where torchvision is installed, e.g.:

    PYTHONPATH=. path/to/torchvision-venv/bin/python -m pytest -q --noconftest -p no:cacheprovider \
        tests/test_torchvision_crosscheck.py

(`--noconftest` because the shared conftest needs typer, which a torchvision-only venv may lack.)

torchvision models are built on the meta device (real torch shape rules, no weights in
memory, no compute) and every leaf module is hooked. Compared with cnncalc's rows:
- totals: parameters, batch-norm running statistics and MACs (conv/linear weight × positions);
- every conv, batch norm and linear layer in execution order: kind, path, output shape,
  parameter count, and for convs kernel/stride/padding/dilation/groups/bias;
- every other leaf module that torchvision runs exactly once (pools, dropouts, activations
  with their own module): the spec has a layer at the same path, of the same kind and shape.
  (torchvision's ResNet reuses one `relu` module per block, so a module run several times
  has no single output to compare.)
"""

from __future__ import annotations

import math

import pytest

torchvision = pytest.importorskip("torchvision")
import torch  # noqa: E402  (after the skip: torch comes with torchvision)
from torch import nn  # noqa: E402

from cnncalc.spec import zoo  # noqa: E402
from cnncalc.core.engine import analyse  # noqa: E402

# bundled spec name -> torchvision builder, called without weights
BUILDERS = {
    "alexnet_torchvision": lambda: torchvision.models.alexnet(),
    "vgg11": lambda: torchvision.models.vgg11(),
    "vgg16": lambda: torchvision.models.vgg16(),
    "vgg16_bn": lambda: torchvision.models.vgg16_bn(),
    "vgg19": lambda: torchvision.models.vgg19(),
    "resnet18": lambda: torchvision.models.resnet18(),
    "resnet34": lambda: torchvision.models.resnet34(),
    "resnet50": lambda: torchvision.models.resnet50(),
    "resnet101": lambda: torchvision.models.resnet101(),
    "resnet152": lambda: torchvision.models.resnet152(),
    "googlenet": lambda: torchvision.models.googlenet(init_weights=False),
    "densenet121": lambda: torchvision.models.densenet121(),
    "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(),
    "squeezenet1_0": lambda: torchvision.models.squeezenet1_0(),
    "r3d_18": lambda: torchvision.models.video.r3d_18(),
    "efficientnet_b0": lambda: torchvision.models.efficientnet_b0(),
    "mobilenet_v3_large": lambda: torchvision.models.mobilenet_v3_large(),
    "convnext_tiny": lambda: torchvision.models.convnext_tiny(),
    "shufflenet_v2_x1_0": lambda: torchvision.models.shufflenet_v2_x1_0(),
    "regnet_y_400mf": lambda: torchvision.models.regnet_y_400mf(),
    "inception_v3": lambda: torchvision.models.inception_v3(init_weights=False),
    "deeplabv3_mobilenet_v3_large": lambda: torchvision.models.segmentation.deeplabv3_mobilenet_v3_large(
        aux_loss=True, weights_backbone=None
    ),
    "s3d": lambda: torchvision.models.video.s3d(),
}
TRAINING = {"googlenet", "inception_v3"}
# RegNet's builder computes its widths with tensor operations, which the meta device cannot run.
CPU_ONLY = {"regnet_y_400mf"}

KINDS = {
    torchvision.ops.StochasticDepth: {"stochastic_depth"},
    torchvision.ops.Permute: {"permute"},
    nn.LayerNorm: {"layernorm"},
    nn.SiLU: {"silu"},
    nn.GELU: {"gelu"},
    nn.Hardswish: {"hardswish"},
    nn.Hardsigmoid: {"hardsigmoid"},
    nn.Sigmoid: {"sigmoid"},
    nn.Flatten: {"flatten"},
    nn.Conv2d: {"conv"},
    nn.Conv3d: {"conv"},
    nn.BatchNorm2d: {"batchnorm"},
    nn.BatchNorm3d: {"batchnorm"},
    nn.Linear: {"fc"},
    nn.MaxPool2d: {"maxpool"},
    nn.AvgPool2d: {"avgpool"},
    nn.MaxPool3d: {"maxpool"},
    nn.AvgPool3d: {"avgpool"},
    nn.AdaptiveAvgPool2d: {"adaptive_avgpool", "global_avgpool"},
    nn.AdaptiveAvgPool3d: {"adaptive_avgpool", "global_avgpool"},
    nn.ReLU: {"relu"},
    nn.ReLU6: {"relu6"},
    nn.Dropout: {"dropout"},
}
PARAMETRIC = (nn.Conv2d, nn.Conv3d, nn.BatchNorm2d, nn.BatchNorm3d, nn.Linear, nn.LayerNorm)
CONVS = (nn.Conv2d, nn.Conv3d)


def same_shape(row, module: nn.Module, out: torch.Tensor) -> bool:
    """The row's shape is torch's; between ConvNeXt's permutes torch holds the map channels-last, where only
    the order of the same sizes differs (cnncalc's shapes name their axes)."""
    if row_shape(row) == hwc(out):
        return True
    channels_last = out.dim() >= 3 and type(module).__name__ in ("Linear", "LayerNorm", "Permute", "GELU", "StochasticDepth")
    return channels_last and sorted(row_shape(row)) == sorted(hwc(out))


def kinds_of(module: nn.Module) -> set[str]:
    """The spec kinds a torch module may stand for (by class, so that subclasses such as Conv3DSimple count)."""
    for cls in type(module).__mro__:
        if cls in KINDS:
            return KINDS[cls]
    raise KeyError(type(module).__name__)


def hwc(t: torch.Tensor) -> tuple[int, ...]:
    return (*t.shape[2:], t.shape[1]) if t.dim() >= 3 else tuple(t.shape[1:])


def row_shape(row) -> tuple[int, ...]:
    out = row.output
    return (*out.sizes, out.channels) if hasattr(out, "sizes") and out.sizes else (out.features,)


def run_torchvision(name: str):
    """[(path, module, output)] for every leaf module call, in execution order."""
    device = "cpu" if name in CPU_ONLY else "meta"
    with torch.device(device):
        model = BUILDERS[name]()
    model.train(name in TRAINING)  # GoogLeNet's and Inception v3's auxiliary heads (side outputs) run only in training
    calls: list[tuple[str, nn.Module, torch.Tensor]] = []
    handles = []
    for path, module in model.named_modules():
        if not list(module.children()):
            handles.append(
                module.register_forward_hook(lambda m, i, o, path=path: calls.append((path, m, o)))
            )
    network = zoo.load(name)
    batch = 2 if name in TRAINING else 1  # training-mode batch norm refuses one value per channel
    with torch.no_grad():
        model(torch.zeros(batch, *network.input.torch_size(), device=device))
    for handle in handles:
        handle.remove()
    return model, calls


def macs(module: nn.Module, out: torch.Tensor) -> int:
    if isinstance(module, CONVS):
        return module.weight.numel() * math.prod(out.shape[2:])
    if isinstance(module, nn.Linear):
        return module.weight.numel() * (out[0].numel() // module.out_features)  # per position on a channels-last map
    return 0


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_spec_equals_torchvision(name):
    model, calls = run_torchvision(name)
    analysis = analyse(zoo.load(name))
    rows = {r.path: r for r in analysis.leaves()}

    # totals
    running = sum(b.numel() for n, b in model.named_buffers() if n.endswith(("running_mean", "running_var")))
    assert analysis.totals.params == sum(p.numel() for p in model.parameters())
    assert analysis.totals.non_trainable_params == running
    assert analysis.totals.macs == sum(macs(m, o) for _, m, o in calls)

    # conv / batch norm / linear, in execution order
    theirs = [(p, m, o) for p, m, o in calls if isinstance(m, PARAMETRIC)]
    ours = [r for r in analysis.leaves() if r.kind in ("conv", "batchnorm", "fc", "layernorm")]
    assert len(ours) == len(theirs)
    for row, (path, module, out) in zip(ours, theirs):
        assert row.path == path
        assert row.kind in kinds_of(module), path
        assert same_shape(row, module, out), path
        assert row.params == sum(p.numel() for p in module.parameters()), path
        if isinstance(module, CONVS):
            layer = row.node
            pads = layer.padding.per_axis()
            assert all(before == after for before, after in pads), path
            assert (layer.kernel, layer.stride, tuple(b for b, _ in pads), layer.dilation, layer.groups, layer.bias) == (
                tuple(module.kernel_size), tuple(module.stride), tuple(module.padding),
                tuple(module.dilation), module.groups, module.bias is not None,
            ), path

    # every other leaf module run once: same path, kind and shape in the spec
    counts: dict[str, int] = {}
    for path, _, _ in calls:
        counts[path] = counts.get(path, 0) + 1
    compared = 0
    for path, module, out in calls:
        if counts[path] > 1 or isinstance(module, PARAMETRIC):
            continue
        row = rows.get(path)
        assert row is not None, f"torchvision's {path} ({type(module).__name__}) has no layer at that path in the spec"
        assert row.kind in kinds_of(module), path
        assert same_shape(row, module, out), path
        if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
            pad = module.padding if isinstance(module.padding, int) else module.padding[0]
            assert row.node.padding.explicit == (pad,) * 4, path
            assert row.node.ceil_mode == module.ceil_mode, path
        compared += 1
    assert compared > 0
