"""A parsed cnncalc `Network` as real `torch.nn` modules: the reference the tests compare against.

Each spec layer becomes the torch module its kind names (`Kind.torch`, in cnncalc/kinds/torch_ops.py:
nn.Conv1d/2d/3d, nn.MaxPool{n}d, nn.Linear, …), built from the parsed options alone; input channels and
features are read from the tensor torch itself produces, so every shape is torch's answer. Nothing here
calls `cnncalc.kinds.formulas` or `cnncalc.core.engine`.

Use:

    from torch_build import build, trace
    net = build(network)                 # a TorchNet (nn.Module), eval mode, on the meta device
    rows = trace(network)                # {path: Traced(output, params, ...)}, execution order
    rows["layer1.0.conv1"].output        # (56, 56, 64): sizes then channels, as cnncalc prints; (features,) for vectors
    rows["layer1.0.conv1"].params        # 36864, counted from the torch module's parameters

`trace` records every leaf layer and every merge (add/concat) under its cnncalc path, in the order
torch runs them (forward hooks), which is the order of cnncalc's leaf rows. The default device is
`meta`: real torch shape rules (the same checks and output-size code as on CPU) without allocating
or computing, so ResNet-152 traces in about a second on one core. Pass `device="cpu"` to run real
numbers through small networks.

Graphs: every module stores its output under its path in the network's `store`; a merge branch with
`from: PATH` starts from the stored output of PATH, and a side output runs its layers on the current
tensor, stores the result and hands the tensor on unchanged. `trainable: false` sets
requires_grad=False. The network is put in eval mode, so dropout and batch norm act as at inference.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from cnncalc.enums import MergeKind
from cnncalc.kinds.merge import MERGES
from cnncalc.core.engine import references
from cnncalc.kinds.registry import kind_of
from cnncalc.model.layers import Merge, Network, Node, Sequential, Side
from cnncalc.model.shapes import Shape, Spatial, Vector


class Traced(NamedTuple):
    """What torch says about one spec layer (one sample)."""

    output: tuple[int, ...]  # (*sizes, C) for feature maps, (features,) for vectors
    params: int  # every parameter of the torch module(s)
    trainable_params: int  # those with requires_grad
    running_stats: int  # batch-norm running_mean + running_var (buffers; num_batches_tracked excluded)
    macs: int  # multiply-accumulates from the torch weight shape and the hooked sizes (0 for layers without weights)


def shape_of(x: torch.Tensor) -> Shape:
    """The cnncalc shape of one sample of a batched torch tensor (channels-first → channels-last)."""
    if x.dim() >= 3:
        return Spatial(*x.shape[2:], x.shape[1])
    return Vector(x.shape[1])


class Store:
    """Outputs a later `from:` reads, kept as a hand-written model keeps them in local variables: from the
    layer that makes one until its last reader (`reads` says how many there are). Side outputs are kept
    to the end (a model returns them). While the network is being built every output is kept."""

    def __init__(self, reads: dict[str, int]):
        self.reads = reads
        self.data: dict[str, torch.Tensor] = {}
        self.left: dict[str, int] = {}
        self.sides: list[torch.Tensor] = []
        self.running = False

    def reset(self) -> None:
        self.data.clear()
        self.sides.clear()
        self.left = dict(self.reads)
        self.running = True

    def put(self, path: str, tensor: torch.Tensor) -> None:
        if path in self.reads or not self.running:
            self.data[path] = tensor

    def take(self, path: str) -> torch.Tensor:
        tensor = self.data[path]
        if self.running:
            self.left[path] -= 1
            if self.left[path] == 0:
                del self.data[path]
        return tensor

    def __getitem__(self, path: str) -> torch.Tensor:  # while building: any output
        return self.data[path]

    def __setitem__(self, path: str, tensor: torch.Tensor) -> None:
        self.put(path, tensor)


class SpecLayer(nn.Module):
    """One spec layer: the torch module(s) its kind stands for."""

    def __init__(self, path: str, kind: str, op: nn.Module, store: dict):
        super().__init__()
        self.path, self.kind, self.op = path, kind, op
        self.store = store

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.op(x)
        self.store.put(self.path, out)
        return out


class Group(nn.Sequential):
    """A block, sequential, named repeat or branch: nn.Sequential that records its output for `from:`."""

    def __init__(self, path: str, modules: list[nn.Module], store: dict):
        super().__init__(*modules)
        self.path = path
        object.__setattr__(self, "store", store)  # a plain dict, not a submodule

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = super().forward(x)
        if self.path:
            self.store.put(self.path, out)
        return out


class SideModule(nn.Module):
    """A side output: its layers run on the current tensor, the result is stored, the tensor passes on."""

    def __init__(self, path: str, body: nn.Sequential, store: dict, source: str | None = None):
        super().__init__()
        self.path, self.body, self.source = path, body, source
        object.__setattr__(self, "store", store)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x if self.source is None else self.store.take(self.source))
        self.store.sides.append(out)  # returned by the model: alive to the end
        self.store.put(self.path, out)
        return x


class MergeModule(nn.Module):
    """Branches merged by elementwise sum or channel concatenation; a branch reads the input or a stored output."""

    def __init__(self, path: str, merge: MergeKind, branches: list[nn.Sequential], sources: tuple, store: dict):
        super().__init__()
        self.path, self.kind, self.merge = path, str(merge), merge
        self.branches = nn.ModuleList(branches)
        self.sources = sources
        object.__setattr__(self, "store", store)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [
            branch(x if source is None else self.store.take(source))  # an empty nn.Sequential returns its input
            for branch, source in zip(self.branches, self.sources)
        ]
        out = MERGES[self.merge].torch(outputs)
        self.store.put(self.path, out)
        return out


class TorchNet(nn.Module):
    """The built network: `body` runs it; `layers` maps each spec path to its SpecLayer or MergeModule."""

    def __init__(self, body: nn.Sequential, layers: dict[str, nn.Module], input_size: tuple[int, ...], device: str, store: Store):
        super().__init__()
        self.body = body
        self.layers = layers  # a plain dict (the modules are registered once, inside body)
        self.input_size = input_size  # one sample, torch order: (C, *sizes) or (features,)
        self.device_name = device
        self.store = store  # path -> the latest output, for `from:` and side outputs

    def example_input(self, batch: int = 1) -> torch.Tensor:
        return torch.zeros((batch, *self.input_size), device=self.device_name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.store.reset()
        return self.body(x)


def _build_sequence(nodes: tuple[Node, ...], x: torch.Tensor, device: str, index: dict, store: dict, path: str = ""):
    modules: list[nn.Module] = []
    for node in nodes:
        module, x = _build_node(node, x, device, index, store)
        modules.append(module)
    return Group(path, modules, store), x


def _build_node(node: Node, x: torch.Tensor, device: str, index: dict, store: dict):
    """(module, its output on x): each module is run once as it is built, so the next one sees torch's shape."""
    if isinstance(node, Sequential):
        group, out = _build_sequence(node.children, x, device, index, store, node.path)
        store[node.path] = out
        return group, out
    if isinstance(node, Side):
        body, out = _build_sequence(node.children, x if node.source is None else store[node.source], device, index, store)
        side = SideModule(node.path, body, store, node.source)
        store[node.path] = out
        return side, x
    if isinstance(node, Merge):
        branches = []
        for branch, source in zip(node.branches, node.sources):
            module, _ = _build_sequence(branch, x if source is None else store[source], device, index, store)
            branches.append(module)
        merge = MergeModule(node.path, node.merge, branches, node.sources, store).eval()  # as every layer while probing
        index[node.path] = merge
        with torch.no_grad():
            return merge, merge(x)
    op = kind_of(node).torch(node, shape_of(x), device)
    module = SpecLayer(node.path, str(node.kind), op, store).eval()  # eval already while probing: batch norm on one vector sample
    index[node.path] = module
    with torch.no_grad():
        return module, module(x)


def build(network: Network, input_shape: Shape | None = None, device: str = "meta") -> TorchNet:
    """The network as torch modules, for one sample of `input_shape` (default: the spec's input).

    Raises whatever torch raises for a network torch cannot build or run (a kernel larger than
    its input, channels not divisible by groups, mismatched add/concat).
    """
    shape = input_shape or network.input
    size = shape.torch_size()
    index: dict[str, nn.Module] = {}
    store = Store(references(network.layers, {}))
    body, _ = _build_sequence(network.layers, torch.zeros((1, *size), device=device), device, index, store)
    return TorchNet(body, index, size, device, store).eval()


def _sample_shape(t: torch.Tensor) -> tuple[int, ...]:
    if t.dim() >= 3:
        return (*t.shape[2:], t.shape[1])
    return tuple(t.shape[1:])


def _macs(module: nn.Module, x: torch.Tensor, out: torch.Tensor) -> int:
    """Multiply-accumulates of one sample, from the torch weight tensor and the actual sizes.

    ConvNd weight is (out, in/g, k…): each output position uses all of it once.
    ConvTransposeNd weight is (in, out/g, k…): each input position scatters through all of it once.
    Linear weight is (out, in): once per sample, or once per position where it acts on a map's channels.
    """
    if not isinstance(module, SpecLayer):
        return 0
    total = 0
    for op in module.op.modules():
        if isinstance(op, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            total += op.weight.numel() * math.prod(out.shape[2:])
        elif isinstance(op, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
            total += op.weight.numel() * math.prod(x.shape[2:])
        elif isinstance(op, nn.Linear):
            total += op.weight.numel() * (out[0].numel() // op.out_features)  # once per position it runs at
    return total


def _running_stats(module: nn.Module) -> int:
    return sum(b.numel() for name, b in module.named_buffers() if name.rsplit(".", 1)[-1] in ("running_mean", "running_var"))


def trace(network: Network, input_shape: Shape | None = None, device: str = "meta", net: TorchNet | None = None) -> dict[str, Traced]:
    """Every leaf layer and merge of the built network (or of `net`, built already), by spec path, in the order torch runs them."""
    net = net or build(network, input_shape, device)
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
        return (*shape.sizes, shape.channels)
    assert isinstance(shape, Vector)
    return (shape.features,)


__all__ = ["MergeModule", "SpecLayer", "TorchNet", "Traced", "build", "cnncalc_shape", "shape_of", "trace"]
