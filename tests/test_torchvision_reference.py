"""Every bundled torchvision model against the reference written from real torchvision (no torchvision here).

`scripts/torchvision_reference.py` ran torchvision 0.29.1's builders and recorded, per model, every leaf
module call (path, class, output shape, parameters) and the totals, including torchvision's published
`_ops`. Here each bundled spec must give the same: totals of parameters, batch-norm statistics and MACs,
MACs = `_ops` to its 3 decimals, and for every leaf torchvision runs once, a row at the same path with
the same shape and parameters; the parametric leaves (conv, batch norm, linear, layer norm) also in the
same order. Between ConvNeXt's permutes torch holds maps channels-last: there the sizes may come in
another order, never other sizes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnncalc.core.engine import analyse
from cnncalc.spec import zoo

REFERENCE = Path(__file__).resolve().parent / "reference" / "torchvision"
FILES = sorted(REFERENCE.glob("*.json"))
PARAMETRIC = {"Conv1d", "Conv2d", "Conv3d", "Conv3DSimple", "Conv3DNoTemporal", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "Linear", "LayerNorm", "LayerNorm2d"}
CHANNELS_LAST = {"Linear", "LayerNorm", "Permute", "GELU", "StochasticDepth"}


def test_the_reference_covers_the_bundled_torchvision_models():
    names = {f.stem for f in FILES}
    assert len(names) >= 20
    assert names <= set(zoo.bundled_names())


def _torch_order(row) -> list[int]:
    out = row.output
    return list(out.torch_size())


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_bundled_spec_equals_torchvision(path):
    ref = json.loads(path.read_text())
    network = zoo.load(path.stem)
    assert list(network.input.torch_size()) == ref["input"]
    analysis = analyse(network)
    t = analysis.totals
    assert (t.params, t.running_stats, t.macs) == (ref["params"], ref["running_stats"], ref["macs"])
    if ref["ops"] is not None:
        # torchvision's `_ops` count inference: without the auxiliary heads (side outputs) where there are some
        macs = t.main_macs if ref.get("ops_of") == "main path" else t.macs
        assert round(macs / 1e9, 3) == pytest.approx(ref["ops"], abs=5e-4)
    rows = {r.path: r for r in analysis.leaves()}
    counts: dict[str, int] = {}
    for leaf_path, *_ in ref["leaves"]:
        counts[leaf_path] = counts.get(leaf_path, 0) + 1
    ours_parametric = [r.path for r in analysis.leaves() if r.kind in ("conv", "batchnorm", "fc", "layernorm")]
    theirs_parametric = [p for p, cls, _, _ in ref["leaves"] if cls in PARAMETRIC]
    assert ours_parametric == theirs_parametric
    for leaf_path, cls, shape, params in ref["leaves"]:
        if counts[leaf_path] > 1:
            continue  # a module run several times (ResNet's shared relu) has no single output
        row = rows.get(leaf_path)
        assert row is not None, f"torchvision's {leaf_path} ({cls}) has no row at that path"
        ours = _torch_order(row)
        assert ours == shape or (cls in CHANNELS_LAST and sorted(ours) == sorted(shape)), (leaf_path, ours, shape)
        assert row.params == params, leaf_path
