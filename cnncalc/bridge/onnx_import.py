"""`cnncalc import model.onnx`: an ONNX graph as a spec (the `onnx` package, an optional extra).

Each node's name holds the module scope the exporter saw (`/layer1/layer1.0/conv1/Conv`), so layers
keep torch's paths; graphs from other exporters (tf2onnx) get their node names. Conv, ConvTranspose,
Gemm and MatMul (+ the Add of its bias), pools, BatchNormalization, the activations, Dropout, Flatten,
Resize and Pad map to cnncalc kinds; Add, Mul and Concat of two tensors to add / multiply / concat;
`x * Sigmoid(x)` to silu and `x * (random mask / survival)` to stochastic_depth. Tensors computed from
constants or from shapes (`Shape`, `Gather`, …) are bookkeeping, not layers. Anything else that reads
a layer's output is unsupported, and nothing is written.

An inference export (torch's default eval mode) folds batch norm into the convolutions and leaves out
dropout: its spec has none of them, as the graph has none. Export with
`training=torch.onnx.TrainingMode.TRAINING` to keep them as layers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import onnx
from onnx import numpy_helper

from cnncalc.bridge.graph import Imported, Step, structure, unique_paths
from cnncalc.errors import CnnCalcError, FileProblem

_ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "HardSwish": "hardswish", "Mish": "mish",
                "Selu": "selu", "Softplus": "softplus", "Gelu": "gelu"}
_MERGES = {"Add": ("add", "add"), "Mul": ("multiply", "scale"), "Concat": ("concat", "cat")}


def _size(values: list[int]) -> Any:
    return values[0] if values and all(v == values[0] for v in values) else list(values)


def _scope(name: str) -> tuple[str, str]:
    """(the module path, the op's own name) of a node named like `/features/features.9/block/block.0/Conv`:
    a part that extends the previous one (`block` → `block.0`) replaces it."""
    parts = [p for p in name.split("/") if p]
    if not parts:
        return "", ""
    path, last = "", ""
    for part in parts[:-1]:
        if last and part.startswith(last + "."):
            path = path[: len(path) - len(last)] + part
        else:
            path = f"{path}.{part}" if path else part
        last = part
    return path, parts[-1]


def _padding(pads: list[int], rank: int) -> Any:
    """ONNX pads (every axis's start, then every axis's end) as a spec's padding."""
    if not pads:
        return 0
    begins, ends = pads[:rank], pads[rank:]
    if begins == ends:
        return _size(begins)
    return [v for pair in zip(begins, ends) for v in pair]


def import_onnx(path: str | Path) -> Imported:
    """The spec's items, side outputs and unsupported nodes, and the input's size (torch's order, no batch)."""
    try:
        model = onnx.load(str(path))
    except FileNotFoundError:
        raise FileProblem(f"no file {path}", hint="give the path of an .onnx file") from None
    except Exception as exc:
        raise CnnCalcError(f"{path} is not an ONNX model: {type(exc).__name__}: {exc}", hint="export it with torch.onnx.export or tf2onnx") from None
    try:
        model = onnx.shape_inference.infer_shapes(model)
    except Exception:
        pass  # ranks are then unknown where the graph does not state them; Gemm and Conv do not need them
    graph = model.graph
    weights = {t.name: list(t.dims) for t in graph.initializer}
    constants: dict[str, Any] = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    ranks = {v.name: len(v.type.tensor_type.shape.dim) for v in [*graph.value_info, *graph.input, *graph.output]}
    inputs = [i for i in graph.input if i.name not in weights]
    if not inputs:
        raise CnnCalcError(f"{path} has no input that is not a weight", hint="export the model with an example input")
    dims = [d.dim_value for d in inputs[0].type.tensor_type.shape.dim]
    input_size = tuple(dims[1:])
    data: dict[str, int] = {inputs[0].name: 0}  # tensor name -> the step that computes it
    producer: dict[str, Any] = {}
    raw: list[list[Any]] = []  # [id, path, kind, options, inputs]
    unsupported: list[str] = []
    uses: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1

    def add(node: Any, path: str, kind: str, options: dict[str, Any], sources: list[str]) -> None:
        step = len(raw) + 1
        raw.append([step, path, kind, options, tuple(data[s] for s in sources)])
        data[node.output[0]] = step

    for node in graph.node:
        for out in node.output:
            producer[out] = node
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Constant" and "value" in attrs:
            constants[node.output[0]] = numpy_helper.to_array(attrs["value"])
        tensor_inputs = [i for i in node.input if i in data]
        if not tensor_inputs:
            continue  # constants, shapes, random masks: bookkeeping, not layers
        scope, own = _scope(node.name or node.output[0])
        op = node.op_type
        x = tensor_inputs[0]
        if op in ("Shape", "Size"):
            continue
        if op == "Identity":
            data[node.output[0]] = data[x]
            continue
        if op in ("Conv", "ConvTranspose") and len(node.input) > 1 and node.input[1] in weights:
            w = weights[node.input[1]]
            group = attrs.get("group", 1)
            options: dict[str, Any] = {"filters": w[0] if op == "Conv" else w[1] * group, "kernel": _size(attrs.get("kernel_shape", w[2:]))}
            stride, dilation = _size(attrs.get("strides", [1])), _size(attrs.get("dilations", [1]))
            auto = attrs.get("auto_pad", b"NOTSET")
            auto = auto.decode() if isinstance(auto, bytes) else auto
            padding = "same" if auto in ("SAME_UPPER",) else _padding(attrs.get("pads", []), len(w) - 2)
            if op == "ConvTranspose":
                if auto not in ("NOTSET", "VALID") or (isinstance(padding, list) and len(padding) == 2 * (len(w) - 2)):
                    unsupported.append(f"{op} with uneven or automatic padding at {scope or node.name}")
                    continue
                options.update(stride=stride, padding=padding, output_padding=_size(attrs.get("output_padding", [0])), dilation=dilation)
            else:
                options.update(stride=stride, padding=padding, dilation=dilation)
            options.update(groups=group, bias=len(node.input) > 2 and bool(node.input[2]))
            defaults = {"stride": 1, "padding": 0, "output_padding": 0, "dilation": 1, "groups": 1, "bias": True}
            add(node, scope, "conv" if op == "Conv" else "conv_transpose", {k: v for k, v in options.items() if defaults.get(k, object()) != v}, [x])
        elif op == "Gemm" and node.input[1] in weights and attrs.get("transA", 0) == 0:
            w = weights[node.input[1]]
            units = w[0] if attrs.get("transB", 0) else w[1]
            options = {"units": units} if len(node.input) > 2 and node.input[2] else {"units": units, "bias": False}
            add(node, scope, "fc", options, [x])
        elif op == "MatMul" and len(node.input) > 1 and node.input[1] in weights:
            options = {"units": weights[node.input[1]][-1], "bias": False}
            if ranks.get(x, 2) > 2:
                options["per_position"] = True
            add(node, scope, "fc", options, [x])
        elif op == "Add" and len(tensor_inputs) == 1 and producer.get(x) is not None and producer[x].op_type == "MatMul" and uses.get(x) == 1:
            raw[data[x] - 1][3].pop("bias", None)  # MatMul then Add of the bias: one Linear
            data[node.output[0]] = data[x]
        elif op == "BatchNormalization":
            eps = float(attrs.get("epsilon", 1e-5))
            add(node, scope, "batchnorm", {} if abs(eps - 1e-5) < 1e-9 else {"eps": eps}, [x])
        elif op in ("MaxPool", "AveragePool"):
            if op == "AveragePool" and attrs.get("count_include_pad", 0) == 0 and any(attrs.get("pads", [])):
                unsupported.append(f"AveragePool without count_include_pad at {scope or node.name}")
                continue
            options = {"kernel": _size(attrs["kernel_shape"]), "stride": _size(attrs.get("strides", [1])),
                       "padding": _padding(attrs.get("pads", []), len(attrs["kernel_shape"])), "ceil_mode": bool(attrs.get("ceil_mode", 0))}
            if op == "MaxPool":
                options["dilation"] = _size(attrs.get("dilations", [1]))
            add(node, scope, "maxpool" if op == "MaxPool" else "avgpool", {k: v for k, v in options.items() if {"padding": 0, "ceil_mode": False, "dilation": 1}.get(k, object()) != v}, [x])
        elif op in ("GlobalAveragePool", "GlobalMaxPool"):
            add(node, scope, "global_avgpool" if op == "GlobalAveragePool" else "global_maxpool", {}, [x])
        elif op in _ACTIVATIONS:
            add(node, scope, _ACTIVATIONS[op], {}, [x])
        elif op == "HardSigmoid" and abs(attrs.get("alpha", 0.2) - 1 / 6) < 1e-6 and abs(attrs.get("beta", 0.5) - 0.5) < 1e-6:
            add(node, scope, "hardsigmoid", {}, [x])
        elif op == "LeakyRelu":
            add(node, scope, "leaky_relu", {"negative_slope": round(float(attrs.get("alpha", 0.01)), 7)}, [x])
        elif op == "Elu":
            add(node, scope, "elu", {"alpha": round(float(attrs.get("alpha", 1.0)), 7)}, [x])
        elif op == "Clip" and len(node.input) == 3 and all(i in constants for i in node.input[1:]) and float(constants[node.input[1]]) == 0.0 and float(constants[node.input[2]]) == 6.0:
            add(node, scope, "relu6", {}, [x])
        elif op == "Softmax" and attrs.get("axis", -1) in (1, -1) and ranks.get(x, 2) == 2:
            add(node, scope, "softmax", {}, [x])
        elif op == "Dropout":
            ratio = float(constants[node.input[1]]) if len(node.input) > 1 and node.input[1] in constants else float(attrs.get("ratio", 0.5))
            add(node, scope, "dropout", {} if abs(ratio - 0.5) < 1e-9 else {"p": round(ratio, 7)}, [x])
        elif (op == "Flatten" and attrs.get("axis", 1) == 1) or (op == "Reshape" and ranks.get(node.output[0]) == 2):
            # an nn.Flatten module is its own scope; torch.flatten in a forward is the network's `flatten`
            add(node, scope or "flatten", "flatten", {}, [x])
        elif op == "LRN":
            add(node, scope, "lrn", {"size": attrs["size"]}, [x])
        elif op == "Mul" and len(tensor_inputs) == 2 and (sigmoid := _sigmoid_of_other(tensor_inputs, producer)) is not None:
            raw[data[sigmoid] - 1][2] = "silu"  # x * sigmoid(x): the sigmoid's step becomes SiLU, this Mul its output
            data[node.output[0]] = data[sigmoid]
        elif op == "Mul" and len(tensor_inputs) == 1 and "stochastic_depth" in scope.rsplit(".", 1)[-1]:
            # x * (mask / survival): the survival rate is the Div's constant
            divisions = [producer[i] for i in node.input if i not in data and i in producer and producer[i].op_type == "Div"]
            survival = next((float(constants[d.input[1]]) for d in divisions if d.input[1] in constants), 1.0)
            add(node, scope, "stochastic_depth", {"p": round(1.0 - survival, 7)}, [x])
        elif op in _MERGES and len(tensor_inputs) >= 2 and (op != "Concat" or attrs.get("axis") == 1):
            kind, word = _MERGES[op]
            add(node, f"{scope}.{word}" if scope else word, kind, {}, tensor_inputs)
        else:
            unsupported.append(f"{op} at {scope or node.name}" + (f".{own}" if not scope else ""))
    outputs = [o.name for o in graph.output]
    if outputs[0] not in data:
        unsupported.append("the model's output (it is not computed by layers cnncalc knows)")
        return Imported([], [], unsupported, input_size)
    paths = unique_paths([_call_path(p) for _, p, _, _, _ in raw])
    steps = {r[0]: Step(r[0], path, r[2], r[3], r[4]) for r, path in zip(raw, paths)}
    main, sides, problems = structure(steps, data[outputs[0]], tuple(data[o] for o in outputs[1:] if o in data))
    return Imported(main, sides, unsupported + problems, input_size)


def _sigmoid_of_other(tensors: list[str], producer: dict[str, Any]) -> str | None:
    """Of two multiplied tensors, the one that is Sigmoid of the other (SiLU as exported), or None."""
    for name in tensors:
        node = producer.get(name)
        if node is not None and node.op_type == "Sigmoid" and node.input[0] in tensors:
            return name
    return None


_CALL = re.compile(r"^(.*)_(\d+)$")


def _call_path(path: str) -> str:
    """`layer1.0.relu_1` (the exporter's name for a module's second call) → `layer1.0.relu`."""
    head, _, last = path.rpartition(".")
    match = _CALL.match(last)
    if match is None:
        return path
    return f"{head}.{match.group(1)}" if head else match.group(1)
