"""Memory as PyTorch uses it, from each kind's `Memory` walked over the network's graph in execution order.

Two walks over the same tensors, each tensor a storage that views and in-place layers share:

- **inference** (eval mode, `no_grad`): a tensor lives from the layer that makes it until nothing holds it
  any more. What holds one: the variable of the sequence it runs through (until the next layer's output
  replaces it; the input of a group or a merge stays held by the sequence around it until the group or
  merge returns), a merge's finished branches (until the merge), a `from:` reference (until its last
  reader), a side output (to the end), and the caller, who holds the network's input throughout. The peak
  is the largest total alive while some layer runs, counting what the layer holds besides its input.
- **training** (a training-mode forward under autograd): the distinct storages the layers keep for the
  backward pass (`torch.autograd.graph.saved_tensors_hooks` sees them), parameters and buffers excluded.
  A layer keeps nothing when no gradient flows through it (its input needs none and it has no trainable
  parameters); each storage counts once, for the first layer that keeps it.

Element counts are per sample; `batch` and `dtype` turn them into bytes (indices are int64 whatever the dtype).
Workspace inside a single kernel (cuDNN, the allocator's rounding) is not counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from cnncalc.core.engine import Analysis, Row, references
from cnncalc.enums import Dtype, MergeKind, Optimizer
from cnncalc.kinds.base import GRAD, INDEX, NEW, STATISTIC, VALUE, Memory, MemoryContext
from cnncalc.kinds.merge import MERGES
from cnncalc.kinds.registry import kind_of
from cnncalc.kinds.worked import LayerUse
from cnncalc.model.layers import Merge, Node, Sequential, Side, alike
from cnncalc.model.shapes import Shape

INDEX_BYTES = 8  # torch.int64


class _Storage:
    """One tensor's memory; `size` is its bytes at the walk's batch and dtype (`_Walk.storage` makes one)."""

    __slots__ = ("elements", "fixed", "type", "holds", "size")

    def __init__(self, elements: int, fixed: int, type: str, size: int) -> None:
        self.elements = elements  # per sample
        self.fixed = fixed  # per batch
        self.type = type
        self.holds = 0
        self.size = size


class Kept(NamedTuple):
    """One tensor a layer keeps for the backward pass: `what` is input, output, padded input, or an extra's
    type (value: a mask or a copy in the activations' dtype; index: int64; statistic: float32 or wider)."""

    what: str
    elements: int  # per sample
    fixed: int  # per batch
    type: str
    bytes: int  # at the walk's batch and dtype


class _Tensor(NamedTuple):
    storage: _Storage
    grad: bool  # requires grad (training walk)
    channels_last: bool  # laid out channels-last in memory
    contiguous: bool = True


@dataclass(repr=False, eq=False)  # a private accumulator: no generated repr or equality to compile on import
class _Walk:
    rows: dict[int, Row]
    training: bool
    batch: int
    itemsize: int
    referenced: dict[str, int]
    shapes: dict[str, Shape]  # path -> output shape, for the branches that read `from:` it
    alive: int = 0
    peak: int = 0
    saved: set[_Storage] = field(default_factory=set)  # the objects, not their ids: ids of freed objects recur
    saved_by_row: dict[str, int] = field(default_factory=dict)
    parts: bool = False  # record `kept` (the quiz's worked solutions); the table's runs do not need it
    kept: dict[str, list[Kept]] = field(default_factory=dict)  # path -> what it keeps, part by part
    stored: dict[str, _Tensor] = field(default_factory=dict)
    # (alike token, input, channels-last, contiguous) -> the kind's Memory and the bytes of its working
    # tensors: layers written alike (model.layers.placed) on the same input and layout keep the same tensors
    memories: dict[tuple, tuple[Memory, int]] = field(default_factory=dict)

    def bytes(self, elements: int, fixed: int = 0, type: str = VALUE) -> int:
        if type == INDEX:
            itemsize = INDEX_BYTES
        elif type == STATISTIC:
            itemsize = max(self.itemsize, 4)  # accumulated in float32 at least
        else:
            itemsize = self.itemsize
        return (elements * self.batch + fixed) * itemsize

    def storage(self, elements: int, fixed: int = 0, type: str = VALUE) -> _Storage:
        return _Storage(elements, fixed, type, self.bytes(elements, fixed, type))

    def hold(self, storage: _Storage) -> None:
        storage.holds += 1
        if storage.holds == 1:
            self.alive += storage.size

    def release(self, storage: _Storage) -> None:
        storage.holds -= 1
        if storage.holds == 0:
            self.alive -= storage.size

    def moment(self, working: int = 0) -> None:
        """A layer runs: what is alive now plus the `working` bytes it holds at once besides its input."""
        if self.alive + working > self.peak:
            self.peak = self.alive + working

    def keep(self, row: Row, storage: _Storage, what: str) -> None:
        """Autograd keeps `storage` for the backward pass (once, for the first layer that keeps it)."""
        if storage not in self.saved:
            self.saved.add(storage)
            self.hold(storage)
            size = storage.size
            self.saved_by_row[row.path] = self.saved_by_row.get(row.path, 0) + size
            if self.parts:
                self.kept.setdefault(row.path, []).append(Kept(what, storage.elements, storage.fixed, storage.type, size))

    def finished(self, path: str, tensor: _Tensor) -> None:
        """A tensor that a later `from:` reads stays alive until its last reader."""
        if path in self.referenced:
            self.stored[path] = tensor
            self.hold(tensor.storage)

    def read(self, path: str) -> _Tensor:
        tensor = self.stored[path]
        self.referenced[path] -= 1
        return tensor

    def done_reading(self, path: str, tensor: _Tensor) -> None:
        if self.referenced[path] == 0:
            self.release(tensor.storage)


def _sequence(nodes: tuple[Node, ...], tensor: _Tensor, walk: _Walk) -> _Tensor:
    """Run `nodes` from `tensor` (which the caller holds); the result comes with one hold for the caller."""
    current = tensor
    walk.hold(current.storage)
    groups = _GROUPS
    for node in nodes:
        if node.__class__ in groups:
            out = _node(node, current, walk)
        else:  # a layer, the common case, without `_node`'s tests
            out = _leaf(node, current, walk)
            walk.finished(node.path, out)
        walk.release(current.storage)
        current = out
    return current


_GROUPS = frozenset((Side, Sequential, Merge))


def _node(node: Node, tensor: _Tensor, walk: _Walk) -> _Tensor:
    """A group or a merge (`_sequence` calls `_leaf` for layers directly)."""
    if isinstance(node, Side):
        start = walk.read(node.source) if node.source else tensor
        out = _sequence(node.children, start, walk)  # a side output: alive to the end (its hold is never given back)
        if node.source:
            walk.done_reading(node.source, start)
        walk.finished(node.path, out)  # a later `from:` may read it
        walk.hold(tensor.storage)
        return tensor
    out = _sequence(node.children, tensor, walk) if isinstance(node, Sequential) else _merge(node, tensor, walk)
    walk.finished(node.path, out)
    return out


def _leaf(node: Node, tensor: _Tensor, walk: _Walk) -> _Tensor:
    row = walk.rows[id(node)]
    token = alike(node)
    key = (token, row.input, tensor.channels_last, tensor.contiguous)
    known = walk.memories.get(key) if token is not None else None
    if known is None:
        use = LayerUse(node, row.input, row.output, row.params, row.macs, row.padding)
        memory = kind_of(node).memory(node, use, MemoryContext(walk.training, tensor.channels_last, tensor.contiguous, walk.batch))
        working = sum(walk.bytes(*extra) for extra in memory.working)
        if token is not None:
            walk.memories[key] = (memory, working)
    else:
        memory, working = known
    walk.moment(working)
    storage = walk.storage(row.output.elements) if memory.output == NEW else tensor.storage
    trains = row.trainable_params > 0
    last = tensor.channels_last if memory.layout == "keep" else memory.layout == "last"
    if memory.sliced:
        contiguous = walk.batch == 1  # one sample's channels lie together; a batch's are interleaved
    else:
        contiguous = memory.output == NEW or tensor.contiguous
    out = _Tensor(storage, tensor.grad or trains, last, contiguous)
    walk.hold(storage)
    if walk.training and (trains or (memory.when == GRAD and tensor.grad)):
        if memory.saves_input:
            walk.keep(row, walk.storage(memory.padded) if memory.padded else tensor.storage, "padded input" if memory.padded else "input")
        if memory.saves_output:
            walk.keep(row, storage, "output")
        for extra in memory.saved:
            walk.keep(row, walk.storage(*extra), extra.type)
    return out


def _merge(node: Merge, tensor: _Tensor, walk: _Walk) -> _Tensor:
    row = walk.rows[id(node)]
    outputs = []
    for branch, source in zip(node.branches, node.sources):
        start = walk.read(source) if source else tensor
        outputs.append(_sequence(branch, start, walk))
        if source:
            walk.done_reading(source, start)
    if node.merge is MergeKind.CONCAT:
        walk.moment(walk.bytes(row.output.elements))
        # torch.cat keeps channels-last only when every branch is laid out so; otherwise its output is contiguous
        out = _Tensor(walk.storage(row.output.elements), any(o.grad for o in outputs), all(o.channels_last for o in outputs))
    else:
        out = _chain(node, row, outputs, walk)
    walk.hold(out.storage)
    for operand in outputs:
        walk.release(operand.storage)
    return out


def _chain(node: Merge, row: Row, outputs: list[_Tensor], walk: _Walk) -> _Tensor:
    """A sum or product taken two branches at a time, as torch's `a + b + c` is: each step makes a new tensor
    (of the broadcast size so far) and frees the one before it. `a · b` keeps b for a's gradient and a for b's."""
    rule = MERGES[node.merge]
    product, shapes = outputs[0], _branch_shapes(node, row, walk)
    so_far = shapes[0]
    for k, operand in enumerate(outputs[1:], start=1):
        shape = row.output if k == len(outputs) - 1 else rule.combine(node, shapes[: k + 1])
        # the result is laid out as the first operand whose layout tells (a 1x1 gate's does not: torch's
        # TensorIterator follows the map it scales)
        last = product.channels_last if getattr(so_far, "positions", 1) > 1 else operand.channels_last
        step = _Tensor(walk.storage(shape.elements), product.grad or operand.grad, last)
        so_far = shape
        walk.moment(walk.bytes(shape.elements))
        if walk.training and node.merge is MergeKind.MULTIPLY:
            if operand.grad:
                walk.keep(row, product.storage, "input")  # a * b keeps each factor for the other's gradient
            if product.grad:
                walk.keep(row, operand.storage, "input")
        walk.hold(step.storage)
        if k > 1:
            walk.release(product.storage)  # the previous step's tensor, a temporary
        product = step
    walk.release(product.storage)  # the caller holds the result
    return product


def _branch_shapes(node: Merge, row: Row, walk: _Walk) -> list:
    """Each branch's output shape: from the merge's input or its `from:` tensor, through its layers (a side
    output hands its input on)."""
    shapes = []
    for branch, source in zip(node.branches, node.sources):
        shape = walk.shapes[source] if source else row.input
        for child in branch:
            if not isinstance(child, Side):
                shape = walk.rows[id(child)].output
        shapes.append(shape)
    return shapes


def saved_by(row: Row, saved_by_row: dict[str, int], within: dict[str, int] | None = None) -> int:
    """What a row keeps for the backward pass; a block, what its contents keep (`within`, from `saved_within`,
    answers that for many blocks without going through every path for each)."""
    own = saved_by_row.get(row.path, 0)
    if not row.is_block:
        return own
    if within is None:
        inside = row.path + "."
        return own + sum(b for path, b in saved_by_row.items() if path.startswith(inside))
    return own + within.get(row.path, 0)


def saved_within(saved_by_row: dict[str, int]) -> dict[str, int]:
    """For every enclosing path, what the layers inside it keep: one pass over the paths and their prefixes."""
    within: dict[str, int] = {}
    for path, kept in saved_by_row.items():
        parts = path.split(".")
        for end in range(1, len(parts)):
            prefix = ".".join(parts[:end])
            within[prefix] = within.get(prefix, 0) + kept
    return within


class MemoryReport(NamedTuple):
    """Bytes for one batch size and dtype."""

    inference_peak: int  # the most that is alive at once during an inference forward (input included)
    training_saved: int  # what a training-mode forward keeps for the backward pass
    saved_by_row: dict[str, int]  # path -> bytes first kept by that layer (merges included)


def _walk(analysis: Analysis, training: bool, batch: int, dtype: Dtype, parts: bool = False) -> _Walk:
    walk = _Walk(
        rows={id(r.node): r for r in analysis.rows},
        training=training,
        batch=batch,
        itemsize=dtype.bytes,
        referenced=references(analysis.network.layers, {}),
        shapes={r.path: r.output for r in analysis.rows},
        parts=parts,
    )
    network_input = _Tensor(walk.storage(analysis.input.elements), False, False)
    walk.hold(network_input.storage)  # the caller holds the input throughout
    walk.moment()
    _sequence(analysis.network.layers, network_input, walk)
    return walk


def kept_for_backward(analysis: Analysis, batch: int = 1, dtype: Dtype = Dtype.FLOAT32) -> dict[str, int]:
    """Path -> bytes first kept for the backward pass by that layer or merge (the training walk alone)."""
    return _walk(analysis, True, batch, dtype).saved_by_row


def kept_parts(analysis: Analysis, batch: int = 1, dtype: Dtype = Dtype.FLOAT32) -> dict[str, list[Kept]]:
    """Path -> the tensors that layer is the first to keep for the backward pass, one by one (the quiz's
    worked solutions add them up to `kept_for_backward`)."""
    return _walk(analysis, True, batch, dtype, parts=True).kept


def memory(analysis: Analysis, batch: int = 1, dtype: Dtype = Dtype.FLOAT32) -> MemoryReport:
    saved = kept_for_backward(analysis, batch, dtype)
    return MemoryReport(_walk(analysis, False, batch, dtype).peak, sum(saved.values()), saved)


class Footprint(NamedTuple):
    """The memory of one training step, part by part (the JSON `totals` fields), and of inference."""

    batch: int
    dtype: Dtype
    optimizer: Optimizer
    input_bytes: int
    parameter_bytes: int  # parameters and batch-norm running statistics, in the dtype
    gradient_bytes: int  # one gradient per trainable parameter
    optimizer_state_bytes: int  # momentum: 1×, Adam/AdamW: 2× the trainable parameters (float32 with master weights)
    master_weight_bytes: int  # mixed precision: a float32 copy of the trainable parameters
    activation_bytes_inference: int  # the inference peak
    activation_bytes_training: int  # saved for the backward pass
    saved_by_row: dict[str, int]

    @property
    def training_bytes_total(self) -> int:
        return (
            self.parameter_bytes + self.gradient_bytes + self.optimizer_state_bytes + self.master_weight_bytes
            + self.activation_bytes_training
        )


def footprint(
    analysis: Analysis, batch: int = 1, dtype: Dtype = Dtype.FLOAT32, optimizer: Optimizer = Optimizer.ADAM, master_weights: bool = False
) -> Footprint:
    t = analysis.totals
    report = memory(analysis, batch, dtype)
    state_itemsize = 4 if master_weights else dtype.bytes
    return Footprint(
        batch=batch,
        dtype=dtype,
        optimizer=optimizer,
        input_bytes=analysis.input.elements * batch * dtype.bytes,
        parameter_bytes=t.parameter_bytes(dtype),
        gradient_bytes=t.trainable_params * dtype.bytes if optimizer.gradients else 0,
        optimizer_state_bytes=t.trainable_params * optimizer.state_copies * state_itemsize,
        master_weight_bytes=t.trainable_params * 4 if master_weights else 0,
        activation_bytes_inference=report.inference_peak,
        activation_bytes_training=report.training_saved,
        saved_by_row=report.saved_by_row,
    )


__all__ = ["Footprint", "MemoryReport", "footprint", "kept_for_backward", "memory", "saved_by", "saved_within"]
