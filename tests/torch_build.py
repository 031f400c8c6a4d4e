"""A parsed cnncalc `Network` as real `torch.nn` modules: the reference the tests compare against.

Written without cnncalc's arithmetic: nothing here calls `cnncalc.formulas` or
`cnncalc.engine`. Each spec layer becomes the torch layer it stands for, built from the
parsed options alone (filters, kernel, stride, ...); input channels and features are read
from the tensor torch itself produces, so every shape is torch's answer.

Use:

    from torch_build import build, trace
    net = build(network)                 # a TorchNet (nn.Module), eval mode, on the meta device
    rows = trace(network)                # {path: Traced(output, params, ...)}, execution order
    rows["layer1.0.conv1"].output        # (56, 56, 64): H, W, C as cnncalc prints; (features,) for vectors
    rows["layer1.0.conv1"].params        # 36864, counted from the torch module's parameters

`trace` records every leaf layer and every merge (add/concat) under its cnncalc path, in
the order torch runs them (forward hooks), which is the order of cnncalc's leaf rows.
The default device is `meta`: real torch shape rules (the same checks and output-size
code as on CPU) without allocating or computing, so ResNet-152 traces in about a second on one core.
Pass `device="cpu"` to run real numbers through small networks.

How each spec layer is built (one wrapper module `SpecLayer` per spec layer, so hooks see
one output per layer even where two torch ops are needed):

- conv → nn.Conv2d; padding `same` at stride 1 → torch's own padding="same"; explicit
  asymmetric padding → nn.ZeroPad2d then a padding-0 conv; `same` at stride > 1 →
  `TfSamePad` (TensorFlow's rule, reimplemented below from its documentation) then a padding-0 conv.
- conv_transpose → nn.ConvTranspose2d.
- maxpool / avgpool → nn.MaxPool2d / nn.AvgPool2d with torch's padding and ceil_mode;
  minpool → −maxpool(−x). Asymmetric or `same` padding of a pool is an explicit constant pad
  (−inf for max pools, 0 for average pools) before an unpadded pool. Caveat: with ceil_mode
  this lets torch's "the last window must start inside the input" rule count the pad as input;
  no single torch layer has asymmetric pool padding, so that corner has no torch reference.
- global_avgpool / adaptive_avgpool → nn.AdaptiveAvgPool2d; fc → nn.Linear; flatten → nn.Flatten;
  batchnorm → nn.BatchNorm2d on 4-D tensors, nn.BatchNorm1d on vectors; lrn → nn.LocalResponseNorm;
  dropout → nn.Dropout; zeropad → nn.ZeroPad2d; upsample → nn.Upsample; activations → nn.ReLU,
  nn.ReLU6, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.Softmax(dim=1).
- add / concat → `MergeModule`, running each branch (an empty branch is the identity) on the
  same input and summing, or concatenating along the channels (dim 1) with torch.cat.
- a block, sequential or named repeat → nn.Sequential of its children.

`trainable: false` sets requires_grad=False. The network is put in eval mode, so dropout and
batch norm act as at inference (and batch norm accepts a batch of one).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from cnncalc.enums import LayerKind, MergeKind, PaddingMode
from cnncalc.layers import (
    Activation,
    AdaptivePool,
    BatchNorm,
    Conv,
    ConvTranspose,
    Dropout,
    Fc,
    Flatten,
    Lrn,
    Merge,
    Network,
    Node,
    Pool,
    Sequential,
    Upsample,
    ZeroPad,
)
from cnncalc.shapes import Shape, Spatial, Vector


class Traced(NamedTuple):
    """What torch says about one spec layer (one sample)."""

    output: tuple[int, ...]  # (H, W, C) for feature maps, (features,) for vectors
    params: int  # every parameter of the torch module(s)
    trainable_params: int  # those with requires_grad
    running_stats: int  # batch-norm running_mean + running_var (buffers; num_batches_tracked excluded)
    macs: int  # multiply-accumulates from the torch weight shape and the hooked sizes (0 for layers without weights)


class TfSamePad(nn.Module):
    """TensorFlow/Keras `padding="same"`, computed from the input size at every call.

    From tf.nn.convolution's documentation: out = ceil(n / s);
    total = max((out − 1)·s + (k − 1)·d + 1 − n, 0); top/left = total // 2, the rest after.
    """

    def __init__(self, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int], value: float = 0.0):
        super().__init__()
        self.kernel, self.stride, self.dilation, self.value = kernel, stride, dilation, value

    @staticmethod
    def _total(n: int, k: int, s: int, d: int) -> int:
        out = math.ceil(n / s)
        return max((out - 1) * s + (k - 1) * d + 1 - n, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        th = self._total(x.shape[-2], self.kernel[0], self.stride[0], self.dilation[0])
        tw = self._total(x.shape[-1], self.kernel[1], self.stride[1], self.dilation[1])
        return nn.functional.pad(x, (tw // 2, tw - tw // 2, th // 2, th - th // 2), value=self.value)


class MinPool2d(nn.Module):
    """minpool as −maxpool(−x): torch has no min pool."""

    def __init__(self, pool: nn.MaxPool2d):
        super().__init__()
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -self.pool(-x)


class SpecLayer(nn.Module):
    """One spec layer: the torch op, preceded by an explicit pad where the layer needs one."""

    def __init__(self, path: str, kind: str, op: nn.Module, pad: nn.Module | None = None):
        super().__init__()
        self.path, self.kind = path, kind
        self.pad = pad
        self.op = op

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(self.pad(x) if self.pad is not None else x)


class MergeModule(nn.Module):
    """Parallel branches on one input, merged by elementwise sum or channel concatenation."""

    def __init__(self, path: str, merge: MergeKind, branches: list[nn.Sequential]):
        super().__init__()
        self.path, self.kind, self.merge = path, str(merge), merge
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [branch(x) for branch in self.branches]  # an empty nn.Sequential returns x
        if self.merge is MergeKind.ADD:
            total = outputs[0]
            for other in outputs[1:]:
                if other.shape != total.shape:  # torch would broadcast some mismatches; a residual must match
                    raise ValueError(f"{self.path}: add of {tuple(total.shape)} and {tuple(other.shape)}")
                total = total + other
            return total
        return torch.cat(outputs, dim=1)


class TorchNet(nn.Module):
    """The built network: `body` runs it; `layers` maps each spec path to its SpecLayer or MergeModule."""

    def __init__(self, body: nn.Sequential, layers: dict[str, nn.Module], input_size: tuple[int, ...], device: str):
        super().__init__()
        self.body = body
        self.layers = layers  # a plain dict (the modules are registered once, inside body)
        self.input_size = input_size  # one sample, torch order: (C, H, W) or (features,)
        self.device_name = device

    def example_input(self, batch: int = 1) -> torch.Tensor:
        return torch.zeros((batch, *self.input_size), device=self.device_name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _torch_input_size(shape: Shape) -> tuple[int, ...]:
    if isinstance(shape, Spatial):
        return (shape.channels, shape.height, shape.width)
    return (shape.features,)


_ACTIVATIONS = {
    LayerKind.RELU: lambda: nn.ReLU(),
    LayerKind.RELU6: lambda: nn.ReLU6(),
    LayerKind.LEAKY_RELU: lambda: nn.LeakyReLU(),
    LayerKind.TANH: lambda: nn.Tanh(),
    LayerKind.SIGMOID: lambda: nn.Sigmoid(),
    LayerKind.SOFTMAX: lambda: nn.Softmax(dim=1),
}


def _freeze(module: nn.Module, trainable: bool) -> nn.Module:
    if not trainable:
        for p in module.parameters():
            p.requires_grad_(False)
    return module


def _conv_padding(layer: Conv) -> tuple[nn.Module | None, object]:
    """(explicit pad module or None, the `padding` argument for nn.Conv2d)."""
    mode = layer.padding.mode
    if mode is PaddingMode.VALID:
        return None, 0
    if mode is PaddingMode.SAME:
        if layer.stride == (1, 1):
            return None, "same"  # torch's own rule
        return TfSamePad(layer.kernel, layer.stride, layer.dilation), 0
    top, bottom, left, right = layer.padding.explicit
    if top == bottom and left == right:
        return None, (top, left)
    return nn.ZeroPad2d((left, right, top, bottom)), 0


def _pool_padding(layer: Pool) -> tuple[nn.Module | None, tuple[int, int]]:
    """(explicit pad module or None, the symmetric `padding` argument for the torch pool)."""
    fill = 0.0 if layer.kind is LayerKind.AVGPOOL else -math.inf
    if layer.kind is LayerKind.MINPOOL:
        fill = math.inf  # the pad sits before the negation inside MinPool2d's −maxpool(−x)
    mode = layer.padding.mode
    if mode is PaddingMode.VALID:
        return None, (0, 0)
    if mode is PaddingMode.SAME:
        return TfSamePad(layer.kernel, layer.stride, layer.dilation, value=fill), (0, 0)
    top, bottom, left, right = layer.padding.explicit
    if top == bottom and left == right:
        return None, (top, left)
    return nn.ConstantPad2d((left, right, top, bottom), fill), (0, 0)


def _leaf(layer: Node, x: torch.Tensor, device: str) -> SpecLayer:
    """The torch module for one spec layer, given the tensor that will flow into it."""
    kind = str(layer.kind)
    if isinstance(layer, Conv):
        pad, padding = _conv_padding(layer)
        op = nn.Conv2d(
            x.shape[1], layer.filters, layer.kernel, stride=layer.stride, padding=padding,
            dilation=layer.dilation, groups=layer.groups, bias=layer.bias, device=device,
        )
        return SpecLayer(layer.path, kind, _freeze(op, layer.trainable), pad)
    if isinstance(layer, ConvTranspose):
        op = nn.ConvTranspose2d(
            x.shape[1], layer.filters, layer.kernel, stride=layer.stride, padding=layer.padding,
            output_padding=layer.output_padding, groups=layer.groups, bias=layer.bias,
            dilation=layer.dilation, device=device,
        )
        return SpecLayer(layer.path, kind, _freeze(op, layer.trainable))
    if isinstance(layer, Pool):
        pad, padding = _pool_padding(layer)
        if layer.kind is LayerKind.AVGPOOL:
            op: nn.Module = nn.AvgPool2d(layer.kernel, stride=layer.stride, padding=padding, ceil_mode=layer.ceil_mode)
        else:
            op = nn.MaxPool2d(
                layer.kernel, stride=layer.stride, padding=padding, dilation=layer.dilation, ceil_mode=layer.ceil_mode
            )
            if layer.kind is LayerKind.MINPOOL:
                op = MinPool2d(op)
        return SpecLayer(layer.path, kind, op, pad)
    if isinstance(layer, AdaptivePool):
        return SpecLayer(layer.path, kind, nn.AdaptiveAvgPool2d(layer.output))
    if isinstance(layer, Fc):
        # cnncalc takes fc on a 1x1xC map as fc on C features: torch needs the flatten written out.
        flatten = nn.Flatten() if x.dim() == 4 else None
        features = x[0].numel() if flatten is not None else x.shape[-1]
        op = nn.Linear(features, layer.units, bias=layer.bias, device=device)
        return SpecLayer(layer.path, kind, _freeze(op, layer.trainable), flatten)
    if isinstance(layer, Flatten):
        return SpecLayer(layer.path, kind, nn.Flatten())
    if isinstance(layer, BatchNorm):
        cls = nn.BatchNorm2d if x.dim() == 4 else nn.BatchNorm1d
        op = cls(x.shape[1], affine=layer.affine, track_running_stats=layer.track_running_stats, device=device)
        return SpecLayer(layer.path, kind, _freeze(op, layer.trainable))
    if isinstance(layer, Lrn):
        return SpecLayer(layer.path, kind, nn.LocalResponseNorm(layer.size))
    if isinstance(layer, Dropout):
        return SpecLayer(layer.path, kind, nn.Dropout(layer.p))
    if isinstance(layer, ZeroPad):
        top, bottom, left, right = layer.padding.explicit
        return SpecLayer(layer.path, kind, nn.ZeroPad2d((left, right, top, bottom)))
    if isinstance(layer, Upsample):
        if layer.size is not None:
            op = nn.Upsample(size=layer.size, mode=str(layer.mode))
        else:
            op = nn.Upsample(scale_factor=layer.scale, mode=str(layer.mode))
        return SpecLayer(layer.path, kind, op)
    if isinstance(layer, Activation):
        return SpecLayer(layer.path, kind, _ACTIVATIONS[layer.kind]())
    raise TypeError(f"torch_build does not know {layer!r}")


def _build_sequence(nodes: tuple[Node, ...], x: torch.Tensor, device: str, index: dict[str, nn.Module]):
    modules: list[nn.Module] = []
    for node in nodes:
        module, x = _build_node(node, x, device, index)
        modules.append(module)
    return nn.Sequential(*modules), x


def _build_node(node: Node, x: torch.Tensor, device: str, index: dict[str, nn.Module]):
    """(module, its output on x): each module is run once as it is built, so the next one sees torch's shape."""
    if isinstance(node, Sequential):
        return _build_sequence(node.children, x, device, index)
    if isinstance(node, Merge):
        branches = []
        for branch in node.branches:
            module, _ = _build_sequence(branch, x, device, index)
            branches.append(module)
        merge = MergeModule(node.path, node.merge, branches)
        index[node.path] = merge
        with torch.no_grad():
            return merge, merge(x)
    module = _leaf(node, x, device).eval()  # eval already while probing: batch norm on one vector sample
    index[node.path] = module
    with torch.no_grad():
        return module, module(x)


def build(network: Network, input_shape: Shape | None = None, device: str = "meta") -> TorchNet:
    """The network as torch modules, for one sample of `input_shape` (default: the spec's input).

    Raises whatever torch raises for a network torch cannot build or run (a kernel larger than
    its input, channels not divisible by groups, mismatched add/concat).
    """
    shape = input_shape or network.input
    size = _torch_input_size(shape)
    index: dict[str, nn.Module] = {}
    body, _ = _build_sequence(network.layers, torch.zeros((1, *size), device=device), device, index)
    return TorchNet(body, index, size, device).eval()


def _sample_shape(t: torch.Tensor) -> tuple[int, ...]:
    if t.dim() == 4:
        _, c, h, w = t.shape
        return (h, w, c)
    return tuple(t.shape[1:])


def _macs(module: nn.Module, x: torch.Tensor, out: torch.Tensor) -> int:
    """Multiply-accumulates of one sample, from the torch weight tensor and the actual sizes.

    Conv2d weight is (out, in/g, kh, kw): each output position uses all of it once.
    ConvTranspose2d weight is (in, out/g, kh, kw): each input position scatters through all of it once.
    Linear weight is (out, in): once per sample (per leading position if the input is not a vector).
    """
    op = module.op if isinstance(module, SpecLayer) else None
    if isinstance(op, nn.Conv2d):
        return op.weight.numel() * out.shape[-2] * out.shape[-1]
    if isinstance(op, nn.ConvTranspose2d):
        return op.weight.numel() * x.shape[-2] * x.shape[-1]
    if isinstance(op, nn.Linear):
        return op.weight.numel() * math.prod(out.shape[1:-1])
    return 0


def _running_stats(module: nn.Module) -> int:
    return sum(b.numel() for name, b in module.named_buffers() if name.rsplit(".", 1)[-1] in ("running_mean", "running_var"))


def trace(network: Network, input_shape: Shape | None = None, device: str = "meta") -> dict[str, Traced]:
    """Every leaf layer and merge of the built network, by spec path, in the order torch runs them."""
    net = build(network, input_shape, device)
    seen: dict[str, Traced] = {}

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        if module.path in seen:
            raise AssertionError(f"{module.path} ran twice")
        own = [] if isinstance(module, MergeModule) else list(module.parameters())
        seen[module.path] = Traced(
            output=_sample_shape(out),
            params=sum(p.numel() for p in own),
            trainable_params=sum(p.numel() for p in own if p.requires_grad),
            running_stats=0 if isinstance(module, MergeModule) else _running_stats(module),
            macs=_macs(module, inputs[0], out),
        )

    handles = [m.register_forward_hook(hook) for m in net.layers.values()]
    try:
        with torch.no_grad():
            net(net.example_input())
    finally:
        for h in handles:
            h.remove()
    return seen


def cnncalc_shape(shape: Shape) -> tuple[int, ...]:
    """A cnncalc Shape in the same form as `Traced.output`, for comparisons."""
    if isinstance(shape, Spatial):
        return (shape.height, shape.width, shape.channels)
    assert isinstance(shape, Vector)
    return (shape.features,)


__all__ = ["MergeModule", "SpecLayer", "TfSamePad", "TorchNet", "Traced", "build", "cnncalc_shape", "trace"]
