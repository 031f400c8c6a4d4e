"""`cnncalc verify`: a real torch model against cnncalc's numbers, layer by layer, without weights or data.

The model is built and run on torch's meta device: torch's own shape rules, no memory for weights, no
arithmetic. Every module is hooked; for each row of the table whose path names a module that ran once,
its output shape, parameters and MACs (conv and linear: weight elements × the positions they are applied
at, cnncalc's convention) are compared; a parameter that is not a module (ConvNeXt's layer scale) by its
size. Then the totals: parameters, conv/linear MACs, and FLOPs from torch.utils.flop_counter against
2 × MACs. Layers with weights that one side has and the other lacks are differences too; a layer without
weights that the model writes as a function (torchvision's ResNet reuses one ReLU) is not.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import sys
import types
from pathlib import Path
from typing import Any, Callable, NamedTuple

from cnncalc.bridge import quiet  # noqa: F401  (before torch: its NumPy notice is not the user's concern)

import torch
from torch import nn

from cnncalc.core.engine import Analysis
from cnncalc.errors import CnnCalcError, FileProblem
from cnncalc.model.layers import Merge

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_TRANSPOSED = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


class ModelProblem(CnnCalcError):
    """The model to compare with cannot be found, built or run."""

    code = "model"


class Difference(NamedTuple):
    path: str
    what: str  # "output", "parameters", "MACs", "missing in the model", …
    cnncalc: str
    torch: str


class Verdict(NamedTuple):
    differences: tuple[Difference, ...]
    compared: int  # table rows compared with a module
    totals: tuple[tuple[str, int, int], ...]  # (what, cnncalc, torch)

    @property
    def agrees(self) -> bool:
        return not self.differences


BATCH = 2  # samples run through the model; every count below is per sample


class _Call(NamedTuple):
    input: tuple[int, ...]
    output: tuple[int, ...]


def _shape(value: Any) -> tuple[int, ...]:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else ()


def module_macs(module: nn.Module, call: _Call) -> int:
    """Multiply-accumulates of one call on one sample, from the weight and the sizes torch produced."""
    if isinstance(module, _CONVS) and call.output:
        return module.weight.numel() * math.prod(call.output[2:])
    if isinstance(module, _TRANSPOSED) and call.input:
        return module.weight.numel() * math.prod(call.input[2:])
    if isinstance(module, nn.Linear) and call.output:
        return module.weight.numel() * (math.prod(call.output[1:]) // module.out_features)
    return 0


def run(model: nn.Module, input_size: tuple[int, ...]) -> tuple[dict[str, list[_Call]], int]:
    """Every leaf module's calls on a batch of BATCH (meta device, eval mode), and the FLOPs torch counts per sample."""
    from torch.utils.flop_counter import FlopCounterMode

    calls: dict[str, list[_Call]] = {}
    names = {id(m): name for name, m in model.named_modules()}

    def hook(module: nn.Module, inputs: tuple, output: Any) -> None:
        first = inputs[0] if inputs else None
        out = output[0] if isinstance(output, (tuple, list)) and output else output
        calls.setdefault(names[id(module)], []).append(_Call(_shape(first), _shape(out)))

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            # a batch of two: batch norm without running statistics refuses one value per channel even in eval mode
            model.eval()(torch.zeros((BATCH, *input_size), device="meta"))
    except Exception as exc:  # whatever the model raises on this input is the user's to see
        raise ModelProblem(
            f"the model does not run on one sample of {'x'.join(map(str, input_size))} (torch's order): {type(exc).__name__}: {exc}",
            hint="check the spec's input against what the model expects (cnncalc's input is height x width x channels)",
        ) from None
    finally:
        for handle in handles:
            handle.remove()
    return calls, counter.get_total_flops() // BATCH


def compare(analysis: Analysis, model: nn.Module) -> Verdict:
    """cnncalc's rows and totals against the model's, on the spec's input."""
    calls, flops = run(model, tuple(analysis.input.torch_size()))
    modules = dict(model.named_modules())
    parameters = dict(model.named_parameters())
    differences: list[Difference] = []
    compared = 0
    seen: set[str] = set()
    channels_last = False  # between torchvision's Permute([0, 2, 3, 1]) and Permute([0, 3, 1, 2]) torch holds maps channels-last
    for row in analysis.leaves():
        if isinstance(row.node, Merge):
            continue
        if row.kind == "permute":
            # torchvision's Permute moves the axes; cnncalc's exported code keeps channels first (its Permute has no `dims`)
            order = list(getattr(row.node, "order", ()))
            moves = hasattr(modules.get(row.path), "dims")
            channels_last = moves and len(order) > 2 and order[1] != 1 and order[-1] == 1
        module = modules.get(row.path)
        if module is None:
            parameter = parameters.get(row.path)
            if parameter is not None:
                seen.add(row.path)
                compared += 1
                if parameter.numel() != row.params:
                    differences.append(Difference(row.path, "parameters", f"{row.params:,}", f"{parameter.numel():,}"))
            elif row.params:
                differences.append(Difference(row.path, "missing in the model", f"{row.params:,} parameters", "no module or parameter of this name"))
            continue
        seen.add(row.path)
        own = sum(p.numel() for p in module.parameters())
        compared += 1
        if own != row.params:
            differences.append(Difference(row.path, "parameters", f"{row.params:,}", f"{own:,}"))
        ran = calls.get(row.path, [])
        if len(ran) != 1:
            continue  # run several times (a shared ReLU) or inside something that hides it: no single output
        expected = (BATCH, *row.output.torch_size())
        if channels_last and hasattr(row.output, "sizes"):
            expected = (BATCH, *row.output.sizes, row.output.channels)
        if ran[0].output != expected:
            differences.append(Difference(row.path, "output", _torch_text(expected), _torch_text(ran[0].output)))
        macs = module_macs(module, ran[0])
        if macs != row.macs:
            differences.append(Difference(row.path, "MACs", f"{row.macs:,}", f"{macs:,}"))
    for name, module in modules.items():
        direct = sum(p.numel() for p in module.parameters(recurse=False))
        if direct and name not in seen and not any((f"{name}.{p}" if name else p) in seen for p, _ in module.named_parameters(recurse=False)):
            if not any(s.startswith(name + ".") for s in seen) or not list(module.children()):
                differences.append(Difference(name, "missing in the spec", "no layer of this path", f"{direct:,} parameters"))
    model_params = sum(p.numel() for p in model.parameters())
    model_macs = sum(module_macs(modules[name], call) for name, ran in calls.items() for call in ran)
    macs, what = analysis.totals.macs, ""
    side_rows = [r for r in analysis.leaves() if r.side]
    if side_rows and not any(calls.get(r.path) for r in side_rows):
        # the side outputs did not run (torchvision's auxiliary heads run only in training): the main path's
        macs, what = analysis.totals.main_macs, ", main path: the side outputs did not run"
    totals = (
        ("parameters", analysis.totals.params, model_params),
        (f"MACs (conv, linear{what})", macs, model_macs),
        ("FLOPs (torch.utils.flop_counter)", 2 * macs, flops),
    )
    for what, ours, theirs in totals:
        if ours != theirs:
            differences.append(Difference("(total)", what, f"{ours:,}", f"{theirs:,}"))
    return Verdict(tuple(differences), compared, totals)


def _torch_text(size: tuple[int, ...]) -> str:
    """A batched torch size as cnncalc writes shapes: sizes then channels (56x56x64), features alone."""
    if not size:
        return "(no tensor)"
    sample = size[1:]
    return "x".join(map(str, (*sample[1:], sample[0]) if len(sample) > 1 else sample))


# --------------------------------------------------------------------------- finding the model


def _on_meta(build: Callable[[], Any], what: str) -> nn.Module:
    """The model built on the meta device; where its constructor needs real numbers (torchvision's RegNet
    computes its widths with tensors) built on the CPU and moved to meta."""
    try:
        try:
            with torch.device("meta"):
                model = build()
        except NotImplementedError:
            model = build()
            if isinstance(model, nn.Module):
                model = model.to("meta")
    except CnnCalcError:
        raise
    except (Exception, SystemExit) as exc:
        raise ModelProblem(f"building {what} failed: {type(exc).__name__}: {exc}", hint="it must build without arguments") from None
    if not isinstance(model, nn.Module):
        raise ModelProblem(f"{what} gave a {type(model).__name__}, not a torch.nn.Module", hint="name a class or a function that returns the model")
    return model


def from_source(code: str, name: str) -> nn.Module:
    """The model class `name` of generated source (`cnncalc export`), built on the meta device."""
    module = types.ModuleType("cnncalc_exported")
    exec(compile(code, "<cnncalc export>", "exec"), module.__dict__)
    return _on_meta(getattr(module, name), f"the exported class {name}")


def from_file(target: str) -> nn.Module:
    """`FILE.py:CLASS`: the class (or function) CLASS of a Python file, called without arguments."""
    file, _, name = target.rpartition(":")
    if not file or not name:
        raise ModelProblem(f"--module takes FILE.py:CLASS; got {target!r}", hint="e.g. --module resnet50.py:Resnet50")
    path = Path(file)
    if not path.is_file():
        raise FileProblem(f"no file {file}", hint="give the path of the Python file that defines the model")
    spec = importlib.util.spec_from_file_location(f"cnncalc_user_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ModelProblem(f"{file} is not a Python module", hint="give a .py file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # a script that calls sys.exit() or argparse when imported
        raise ModelProblem(f"importing {file} failed: {type(exc).__name__}: {exc}", hint="run the file with python to see where") from None
    if not hasattr(module, name):
        found = sorted(k for k, v in vars(module).items() if isinstance(v, type) and issubclass(v, nn.Module) and v.__module__ == spec.name)
        raise ModelProblem(f"{file} defines no {name}", hint=f"its nn.Module classes: {', '.join(found) or 'none'}")
    return _on_meta(getattr(module, name), f"{file}:{name}")


def from_callable(target: str) -> nn.Module:
    """`package.module:callable`, e.g. torchvision.models:resnet50, called without arguments."""
    module_name, _, name = target.partition(":")
    if not module_name or not name:
        raise ModelProblem(f"--torch takes PACKAGE.MODULE:CALLABLE; got {target!r}", hint="e.g. --torch torchvision.models:resnet50")
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")  # as `python -m` does: a module in the current folder is found (uvicorn, gunicorn alike)
    try:
        module = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:
        raise ModelProblem(f"cannot import {module_name}: {type(exc).__name__}: {exc}", hint="install it in the same environment as cnncalc") from None
    factory = getattr(module, name, None)
    if factory is None:
        raise ModelProblem(f"{module_name} has no {name}", hint=f"see `python -c \"import {module_name}; print(dir({module_name}))\"`")
    return _on_meta(factory, target)
