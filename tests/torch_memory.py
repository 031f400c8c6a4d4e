"""Memory as torch itself shows it, for the network a spec describes (tests/torch_build.py), on the meta device.

- `saved_bytes`: a training-mode forward under `torch.autograd.graph.saved_tensors_hooks`; every tensor
  autograd keeps for the backward pass, counted once per storage (a view keeps its whole storage alive),
  the module's parameters and buffers left out. Also per spec layer: the bytes first kept while it ran.
- `inference_peak`: an eval-mode forward in `no_grad` under a TorchDispatchMode that sees every tensor
  torch makes; after each operation, the storages still referenced (weak references tell) are added up,
  and the largest total is the peak. The caller holds the input throughout, as a caller does.

Storages are told apart by their StorageImpl (`untyped_storage()._cdata`), which meta tensors have too;
sizes are `nbytes()`. Nothing here reads cnncalc's memory arithmetic. Both take a network built by
`torch_build.build` (on the meta device: torch's shape rules and the dtypes of its CUDA kernels, no
memory, no compute) and change its dtype and mode.
"""

from __future__ import annotations

import weakref

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from torch_build import TorchNet


def _storage(t: torch.Tensor) -> tuple[int, int]:
    s = t.untyped_storage()
    return s._cdata, s.nbytes()


def saved_bytes(net: TorchNet, batch: int, dtype: torch.dtype) -> tuple[int, dict[str, int]]:
    """(total, {spec path: bytes first kept by that layer or merge}) for a network from `torch_build.build`."""
    net = net.to(dtype).train()
    own = {_storage(t)[0] for t in (*net.parameters(), *net.buffers())}
    stack = ["(input)"]
    seen: set[int] = set()
    by_path: dict[str, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        key, nbytes = _storage(t)
        if key not in own and key not in seen:
            seen.add(key)
            by_path[stack[-1]] = by_path.get(stack[-1], 0) + nbytes
        return t

    def enter(module, inputs) -> None:
        stack.append(module.path)

    def leave(module, inputs, output) -> None:
        stack.pop()

    handles = []
    for module in net.layers.values():
        handles.append(module.register_forward_pre_hook(enter))
        handles.append(module.register_forward_hook(leave))
    x = torch.zeros((batch, *net.input_size), device=net.device_name, dtype=dtype)
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            net(x)
    finally:
        for h in handles:
            h.remove()
    return sum(by_path.values()), by_path


class _Alive(TorchDispatchMode):
    """Every tensor torch makes, counted per storage while some tensor still refers to it."""

    def __init__(self, excluded: set[int]):
        super().__init__()
        self.excluded = excluded
        self.tensors: dict[int, int] = {}  # storage -> live tensors on it
        self.total = 0
        self.peak = 0

    def add(self, t: torch.Tensor) -> None:
        key, nbytes = _storage(t)
        if key in self.excluded:
            return
        if self.tensors.get(key, 0) == 0:
            self.total += nbytes
        self.tensors[key] = self.tensors.get(key, 0) + 1
        weakref.finalize(t, self._dead, key, nbytes)

    def _dead(self, key: int, nbytes: int) -> None:
        self.tensors[key] -= 1
        if self.tensors[key] == 0:
            self.total -= nbytes

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.add(t)
        self.peak = max(self.peak, self.total)
        return out


def inference_peak(net: TorchNet, batch: int, dtype: torch.dtype) -> int:
    """The most bytes alive at once in an eval-mode no_grad forward, the input (held by the caller) included."""
    net = net.to(dtype).eval()
    own = {_storage(t)[0] for t in (*net.parameters(), *net.buffers())}
    x = torch.zeros((batch, *net.input_size), device=net.device_name, dtype=dtype)
    mode = _Alive(own)
    mode.add(x)
    mode.peak = mode.total
    with torch.no_grad(), mode:
        net(x)
    return mode.peak


__all__ = ["inference_peak", "saved_bytes"]
