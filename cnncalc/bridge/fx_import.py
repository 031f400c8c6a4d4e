"""`cnncalc import package.module:callable`: a torch model as a spec, from torch.fx's graph.

The model is traced symbolically (no data) with torch.fx and the shapes propagated on the meta device.
Each call of a torch.nn module becomes the cnncalc kind it stands for, under the module's path (a module
run several times names its earlier calls name1, name2, …); `+`, `torch.cat`, `*` of two tensors become
add, concat and multiply; `x * parameter` a layer_scale; `torch.flatten`/`view(n, -1)` a flatten.
Anything else is listed as unsupported, and nothing is written: a spec that silently differs from the
model would be worse than none.
"""

from __future__ import annotations

from typing import Any

from cnncalc.bridge import quiet  # noqa: F401  (before torch)

import torch
from torch import fx, nn

from cnncalc.bridge.graph import Imported, Step, structure, unique_paths
from cnncalc.bridge.verify import ModelProblem
from cnncalc.kinds.elementwise import ACTIVATIONS

# module classes torch.fx should not trace into: they are one cnncalc kind each
_LEAVES = {"StochasticDepth", "Permute", "LayerNorm2d", "PositionLinear"}
_ACTIVATION_CLASSES = {cls: word for word, (cls, _) in ACTIVATIONS.items()}


def _size(value: Any) -> Any:
    """torch's int-or-tuple options as a spec writes them: one number when every axis agrees."""
    if isinstance(value, (tuple, list)):
        values = [int(v) for v in value]
        return values[0] if all(v == values[0] for v in values) else values
    return value


def _only(options: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """Options that differ from cnncalc's defaults (a spec states what is particular about a layer)."""
    return {k: v for k, v in options.items() if k not in defaults or defaults[k] != v}


class Unsupported(Exception):
    pass


def module_kind(module: nn.Module, input_dim: int) -> tuple[str, dict[str, Any]]:
    """The cnncalc kind and options of one torch module, or Unsupported."""
    name = type(module).__name__
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        if module.padding_mode != "zeros":
            raise Unsupported(f"{name} with padding_mode={module.padding_mode!r}")
        padding = module.padding if isinstance(module.padding, str) else _size(module.padding)
        options = {"filters": module.out_channels, "kernel": _size(module.kernel_size), "stride": _size(module.stride),
                   "padding": padding, "dilation": _size(module.dilation), "groups": module.groups, "bias": module.bias is not None}
        return "conv", _only(options, {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True})
    if isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
        options = {"filters": module.out_channels, "kernel": _size(module.kernel_size), "stride": _size(module.stride),
                   "padding": _size(module.padding), "output_padding": _size(module.output_padding),
                   "dilation": _size(module.dilation), "groups": module.groups, "bias": module.bias is not None}
        return "conv_transpose", _only(options, {"stride": 1, "padding": 0, "output_padding": 0, "dilation": 1, "groups": 1, "bias": True})
    if isinstance(module, nn.Linear):
        options = {"units": module.out_features, "bias": module.bias is not None, "per_position": input_dim > 2}
        return "fc", _only(options, {"bias": True, "per_position": False})
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
        options = {"affine": module.affine, "track_running_stats": module.track_running_stats, "eps": module.eps, "momentum": module.momentum}
        return "batchnorm", _only(options, {"affine": True, "track_running_stats": True, "eps": 1e-5, "momentum": 0.1})
    if isinstance(module, (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)):
        average = isinstance(module, (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d))
        if average and (not module.count_include_pad or module.divisor_override is not None):
            raise Unsupported(f"{name} with count_include_pad=False or a divisor_override")
        options = {"kernel": _size(module.kernel_size), "stride": _size(module.stride), "padding": _size(module.padding), "ceil_mode": module.ceil_mode}
        if not average:
            options["dilation"] = _size(module.dilation)
        return ("avgpool" if average else "maxpool"), _only(options, {"padding": 0, "ceil_mode": False, "dilation": 1})
    if isinstance(module, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)):
        kind = "avg" if "Avg" in name else "max"
        size = module.output_size
        sizes = list(size) if isinstance(size, (tuple, list)) else [size] * (input_dim - 2)
        if any(s is None for s in sizes):
            raise Unsupported(f"{name} with output_size None on an axis")
        if all(s == 1 for s in sizes):
            return f"global_{kind}pool", {}
        return f"adaptive_{kind}pool", {"output_size": _size(sizes)}
    if name in _ACTIVATION_CLASSES and type(module).__module__.startswith("torch.nn"):
        word = _ACTIVATION_CLASSES[name]
        options = {k: getattr(module, k) for k, (_, default) in ACTIVATIONS[word][1].items() if getattr(module, k, default) != default}
        if word == "softmax" and module.dim not in (1, -1 if input_dim == 2 else 1):
            raise Unsupported(f"Softmax over dim {module.dim}")
        if getattr(module, "inplace", False):
            options["inplace"] = True
        return word, options
    if isinstance(module, nn.PReLU):
        return "prelu", _only({"num_parameters": module.num_parameters}, {"num_parameters": 1})
    if isinstance(module, nn.Dropout):
        return "dropout", _only({"p": module.p, "inplace": module.inplace}, {"p": 0.5, "inplace": False})
    if isinstance(module, nn.Flatten):
        if module.start_dim != 1 or module.end_dim != -1:
            raise Unsupported(f"Flatten({module.start_dim}, {module.end_dim})")
        return "flatten", {}
    if isinstance(module, nn.LocalResponseNorm):
        return "lrn", {"size": module.size}
    if isinstance(module, (nn.ZeroPad1d, nn.ZeroPad2d, nn.ZeroPad3d)):
        flat = list(module.padding)
        pairs = [(flat[2 * i], flat[2 * i + 1]) for i in range(len(flat) // 2)][::-1]  # F.pad's order is last axis first
        return "zeropad", {"padding": [v for pair in pairs for v in pair]}
    if isinstance(module, nn.Upsample):
        options: dict[str, Any] = {"mode": module.mode if module.mode in ("nearest", "bicubic") else "bilinear"}
        if module.mode not in ("nearest", "bilinear", "linear", "trilinear", "bicubic") or module.align_corners:
            raise Unsupported(f"Upsample mode {module.mode!r}" + (" with align_corners" if module.align_corners else ""))
        if module.size is not None:
            options["size"] = _size(module.size)
        else:
            options["scale"] = _size(module.scale_factor)
        return "upsample", options
    if isinstance(module, nn.LayerNorm) and len(module.normalized_shape) == 1:
        options = {"elementwise_affine": module.elementwise_affine, "bias": module.bias is not None or not module.elementwise_affine}
        return "layernorm", _only(options, {"elementwise_affine": True, "bias": True})
    if isinstance(module, nn.GroupNorm):
        return "groupnorm", _only({"groups": module.num_groups, "affine": module.affine}, {"affine": True})
    if isinstance(module, (nn.PixelShuffle, nn.PixelUnshuffle)):
        factor = module.upscale_factor if isinstance(module, nn.PixelShuffle) else module.downscale_factor
        return ("pixel_shuffle" if isinstance(module, nn.PixelShuffle) else "pixel_unshuffle"), {"factor": factor}
    if isinstance(module, nn.ChannelShuffle):
        return "channel_shuffle", {"groups": module.groups}
    if name == "Permute":  # torchvision's (dims) or cnncalc's exported one (order)
        return "permute", {"order": list(getattr(module, "dims", None) or module.order)}
    if name == "StochasticDepth":
        return "stochastic_depth", _only({"p": float(module.p), "mode": module.mode}, {"p": 0.0, "mode": "row"})
    raise Unsupported(name)


class _Tracer(fx.Tracer):
    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return type(m).__name__ in _LEAVES or super().is_leaf_module(m, qualname)


def _function_kind(node: fx.Node, tensors: dict[fx.Node, int]) -> tuple[str, dict[str, Any], list[fx.Node]] | None:
    """(kind, options, tensor inputs) of a function or method call, None when it makes no tensor step."""
    target = node.target
    name = target if isinstance(target, str) else getattr(target, "__name__", str(target))
    args = [a for a in node.args if isinstance(a, fx.Node)]
    tensor_args = [a for a in args if a in tensors]
    if name in ("add", "iadd", "add_", "__add__", "__iadd__", "mul", "imul", "mul_", "__mul__"):
        if len(tensor_args) == 2 and len(node.args) == 2:
            return ("add" if "add" in name else "multiply"), {}, tensor_args
        return None
    if name == "cat":
        parts = node.args[0] if node.args else node.kwargs.get("tensors")
        dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
        if isinstance(parts, (list, tuple)) and all(p in tensors for p in parts) and dim == 1:
            return "concat", {}, list(parts)
        return None
    if name in ("flatten",):
        start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
        if start == 1 and len(tensor_args) == 1:
            return "flatten", {}, tensor_args
        return None
    if name in ("view", "reshape"):
        meta = node.meta.get("tensor_meta")
        if meta is not None and len(meta.shape) == 2 and len(tensor_args) == 1:
            return "flatten", {}, tensor_args
        return None
    if name in ("relu", "relu_", "sigmoid", "tanh", "silu", "gelu", "hardswish", "hardsigmoid"):
        return name.rstrip("_"), {}, tensor_args[:1]
    if name in ("adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d") and len(tensor_args) == 1:
        size = node.args[1] if len(node.args) > 1 else node.kwargs.get("output_size")
        sizes = list(size) if isinstance(size, (tuple, list)) else [size]
        if all(s == 1 for s in sizes):
            return "global_avgpool", {}, tensor_args
        if all(isinstance(s, int) for s in sizes):
            return "adaptive_avgpool", {"output_size": _size(sizes)}, tensor_args
        return None
    if name in ("max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d") and len(tensor_args) == 1:
        average = name.startswith("avg")
        params = ["kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"] if average else ["kernel_size", "stride", "padding", "dilation", "ceil_mode"]
        given = dict(zip(params, node.args[1:]))
        given.update({k: v for k, v in node.kwargs.items() if k in params})
        if average and given.get("count_include_pad", True) is False:
            return None
        options = {"kernel": _size(given["kernel_size"])}
        if given.get("stride") not in (None, [], ()):
            options["stride"] = _size(given["stride"])
        for key, default in (("padding", 0), ("dilation", 1), ("ceil_mode", False)):
            if key in given and _size(given[key]) != default:
                options[key] = _size(given[key])
        return ("avgpool" if average else "maxpool"), options, tensor_args
    if name == "dropout":
        p = node.args[1] if len(node.args) > 1 else node.kwargs.get("p", 0.5)
        return "dropout", ({} if p == 0.5 else {"p": p}), tensor_args[:1]
    if name == "stochastic_depth" and len(tensor_args) == 1:
        return "stochastic_depth", {"p": float(node.args[1]), "mode": node.args[2]}, tensor_args
    return None


_FUNCTION_NAMES = {"add": "add", "concat": "cat", "multiply": "scale", "avgpool": "avg_pool", "maxpool": "max_pool"}


def import_model(model: nn.Module, input_size: tuple[int, ...]) -> Imported:
    """The spec's items, side outputs and unsupported nodes of a model on one sample of `input_size` (torch's order)."""
    from torch.fx.passes.shape_prop import ShapeProp

    model = model.to("meta").eval()  # shapes only: no weights in memory
    try:
        graph = _Tracer().trace(model)
    except Exception as exc:  # control flow on values or sizes: follow the modules as they run instead
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return _hooked(model, input_size, reason)
    if _unused_weights(model, graph):
        # Modules with weights that inference does not run (GoogLeNet's and Inception's auxiliary heads):
        # the training-mode graph has them, as side outputs; its layers are the same otherwise.
        try:
            trained = _Tracer().trace(model.train())
        except Exception:
            trained = None
        if trained is not None and len(_unused_weights(model, trained)) < len(_unused_weights(model, graph)):
            graph = trained
        model.eval()  # the graph is fixed now; batch norm in eval mode takes a batch of one
    module = fx.GraphModule(model, graph)
    try:
        with torch.no_grad():
            ShapeProp(module).propagate(torch.zeros((1, *input_size), device="meta"))
    except Exception as exc:
        cause = exc.__cause__ or exc  # ShapeProp wraps the error torch raised in a message about the node
        first = str(cause).splitlines()[0] if str(cause) else ""
        raise ModelProblem(f"the model does not run on one sample of {'x'.join(map(str, input_size))} (torch's order): {type(cause).__name__}: {first}",
                           hint="give the input the model expects with --input, in cnncalc's order (e.g. 16x112x112x3 for a video model)") from None
    modules = dict(model.named_modules())
    parameters = dict(model.named_parameters())
    tensors: dict[fx.Node, int] = {}
    raw: list[tuple[int, str, str, dict[str, Any], tuple[int, ...]]] = []
    unsupported: list[str] = []
    output_node: fx.Node | None = None
    for node in graph.nodes:
        if node.op == "placeholder":
            tensors[node] = 0
            continue
        if node.op == "output":
            output_node = node
            continue
        if node.op == "get_attr":
            continue
        stack = list(node.meta.get("nn_module_stack", {}).values())
        scope = stack[-1][0] if stack and isinstance(stack[-1], tuple) else ""
        if node.op == "call_module":
            sub = modules[node.target]
            source = node.args[0] if node.args and isinstance(node.args[0], fx.Node) else None
            meta = source.meta.get("tensor_meta") if source is not None else None
            try:
                kind, options = module_kind(sub, len(meta.shape) if meta is not None else 4)
            except Unsupported as exc:
                unsupported.append(f"{exc} at {node.target}")
                continue
            if source not in tensors:
                unsupported.append(f"{type(sub).__name__} at {node.target} (its input is not a tensor the spec has)")
                continue
            tensors[node] = len(raw) + 1
            raw.append((tensors[node], str(node.target), kind, options, (tensors[source],)))
            continue
        if isinstance(node.target, type) and issubclass(node.target, tuple):
            continue  # a named tuple of outputs (GoogLeNetOutputs): the outputs are its fields
        # functions and methods: merges, flatten, layer scale, functional activations
        gate = [a for a in node.args if isinstance(a, fx.Node) and a.op == "get_attr" and str(a.target) in parameters]
        target_name = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", "")
        if gate and target_name in ("mul", "__mul__") and len(node.args) == 2:
            other = [a for a in node.args if a is not gate[0]]
            if other and other[0] in tensors:
                tensors[node] = len(raw) + 1
                raw.append((tensors[node], str(gate[0].target), "layer_scale", {}, (tensors[other[0]],)))
                continue
        found = _function_kind(node, tensors)
        if found is None:
            if any(a in tensors for a in node.all_input_nodes) and node.meta.get("tensor_meta") is not None:
                unsupported.append(f"{target_name or node.target} at {scope + '.' if scope else ''}{node.name}")
            continue
        kind, options, inputs = found
        if not inputs:
            unsupported.append(f"{target_name or node.target} at {scope + '.' if scope else ''}{node.name} (its input is not a tensor the spec has)")
            continue
        base = _FUNCTION_NAMES.get(kind, kind)
        path = f"{scope}.{base}" if scope else base
        tensors[node] = len(raw) + 1
        raw.append((tensors[node], path, kind, options, tuple(tensors[i] for i in inputs)))
    assert output_node is not None
    outputs = _outputs(output_node.args[0])
    if not outputs or outputs[0] not in tensors:
        unsupported.append("the model's output (it is not computed by layers cnncalc knows)")
        return Imported([], [], unsupported, input_size)
    paths = unique_paths([path for _, path, _, _, _ in raw])
    steps = {step_id: Step(step_id, path, kind, options, inputs) for (step_id, _, kind, options, inputs), path in zip(raw, paths)}
    main, sides, problems = structure(steps, tensors[outputs[0]], tuple(tensors[o] for o in outputs[1:] if o in tensors))
    classes = {path: type(m).__name__ for path, m in modules.items() if path}
    return Imported(main, sides, unsupported + problems, input_size, classes)


def _unused_weights(model: nn.Module, graph: fx.Graph) -> set[str]:
    """Modules with parameters of their own that the traced graph never calls."""
    called = {str(node.target) for node in graph.nodes if node.op == "call_module"}
    weighted = {name for name, m in model.named_modules() if name and any(True for _ in m.parameters(recurse=False))}
    return {name for name in weighted if name not in called and not any(c.startswith(name + ".") for c in called)}


def _hooked(model: nn.Module, input_size: tuple[int, ...], reason: str) -> Imported:
    """Where torch.fx cannot trace (`if x.shape[-1] > 8:`), the leaf modules in the order they run, hooked:
    a chain when each reads what the one before gave (a flatten between them is recognised by its sizes)."""
    calls: list[tuple[str, nn.Module, Any, Any]] = []
    names = {id(m): n for n, m in model.named_modules()}
    hooks = [m.register_forward_hook(lambda m, i, o: calls.append((names[id(m)], m, i[0] if i else None, o)))
             for m in model.modules() if not list(m.children())]
    x = torch.zeros((1, *input_size), device="meta")
    try:
        with torch.no_grad():
            out = model(x)
    except Exception as exc:
        raise ModelProblem(f"the model does not run on one sample of {'x'.join(map(str, input_size))}: {type(exc).__name__}: {exc}",
                           hint="give the input the model expects with --input HxWxC") from None
    finally:
        for hook in hooks:
            hook.remove()
    raw: list[tuple[str, str, dict[str, Any]]] = []
    unsupported: list[str] = []
    previous = x
    for path, module, given, result in calls:
        if given is not previous:
            if isinstance(given, torch.Tensor) and given.dim() == 2 and previous.dim() > 2 and given.shape[1] == previous[0].numel():
                raw.append(("flatten", "flatten", {}))
            else:
                raise ModelProblem(
                    f"torch.fx cannot trace the model ({reason}), and its modules do not run as a chain: {path} does not read what the module before it gave",
                    hint="export the model to ONNX (torch.onnx.export) and import the .onnx file",
                )
        try:
            kind, options = module_kind(module, given.dim())
        except Unsupported as exc:
            unsupported.append(f"{exc} at {path}")
        else:
            raw.append((path, kind, options))
        previous = result
    if out is not previous:
        unsupported.append("the model's output (it is computed after its last module, by a function cnncalc cannot see)")
    paths = unique_paths([path for path, _, _ in raw])
    steps = {i: Step(i, p, kind, options, (i - 1,)) for i, (p, (_, kind, options)) in enumerate(zip(paths, raw), start=1)}
    main, sides, problems = structure(steps, len(steps)) if steps else ([], [], [])
    return Imported(main, sides, unsupported + problems, input_size)


def _outputs(value: Any) -> list[Any]:
    """The model's outputs, main first: a tensor, a tuple or named tuple, or a dict (`out` first, as
    torchvision's segmentation models return it)."""
    if isinstance(value, dict):
        ordered = [value["out"]] if "out" in value else []
        return [v for item in ordered + [v for k, v in value.items() if k != "out"] for v in _outputs(item)]
    if isinstance(value, (tuple, list)):
        return [v for item in value for v in _outputs(item)]
    if isinstance(value, fx.Node) and isinstance(value.target, type) and issubclass(value.target, tuple):
        return [v for item in (*value.args, *value.kwargs.values()) for v in _outputs(item)]
    return [value] if isinstance(value, fx.Node) else []
