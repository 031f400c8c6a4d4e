"""The catalogue of bundled models that `cnncalc models` lists: family, task, input, parameters, MACs.

Each line is computed by parsing and analysing the spec, and stored in specs/index.json with the SHA-1
of the spec's text; a line is used only for the very text it was computed from, so the listing is never
stale and `cnncalc models` rarely parses a spec.
"""

from __future__ import annotations

from cnncalc.spec import zoo

# Family names by the start of a bundled name (the longest start that matches wins).
FAMILIES = {
    "alexnet": "AlexNet", "convnext": "ConvNeXt", "densenet": "DenseNet", "efficientnet": "EfficientNet",
    "googlenet": "GoogLeNet", "lenet": "LeNet", "m5": "M5", "mc3": "Video ResNet", "mnasnet": "MNASNet",
    "mobilenet_v2": "MobileNetV2", "mobilenet_v3": "MobileNetV3", "r2plus1d": "Video ResNet", "r3d": "Video ResNet",
    "regnet_x": "RegNetX", "regnet_y": "RegNetY", "resnet": "ResNet", "resnext": "ResNeXt", "shufflenet": "ShuffleNetV2",
    "squeezenet": "SqueezeNet", "unet": "U-Net", "vgg": "VGG", "wide_resnet": "Wide ResNet",
}
INDEX = "index.json"  # the listing, computed once per spec text (`python -m cnncalc.work.catalog` rewrites it)
# Part of each line's key with the spec's text: a line computed by an older cnncalc (without a field
# this one lists) is computed afresh. Change it whenever `_entry` changes.
INDEX_FORMAT = b"cnncalc-index-2\n"


def family(name: str) -> str:
    starts = [start for start in FAMILIES if name.startswith(start)]
    return FAMILIES[max(starts, key=len)] if starts else name


def _digest(data: bytes) -> str:
    import hashlib

    return hashlib.sha1(INDEX_FORMAT + data).hexdigest()


def _entry(name: str, data: bytes) -> dict:
    """One model's line of the listing, computed: parse and analyse the spec."""
    from cnncalc.core.engine import analyse
    from cnncalc.spec.parse import parse_spec

    network = parse_spec(data.decode("utf-8-sig"), file=f"{name} (bundled)", default_name=name)
    analysis = analyse(network)
    totals = analysis.totals
    return {
        "name": name,
        "family": family(name),
        "task": network.task,
        "input": network.input.as_json(),
        "input_text": network.input.hwc(),
        "params": totals.params,
        "macs": totals.macs,
        "weight_layers": analysis.weight_layers,
        "layers": len(analysis.leaves()),
        "description": network.description,
        "reference": network.reference,
        "sha1": _digest(data),
    }


def listing() -> list[dict]:
    """Every bundled model's line: from the stored index where the spec's text is the one it was computed
    from (its SHA-1), computed afresh otherwise, so the listing is never stale and rarely costs a parse."""
    import json

    directory = zoo.specs_dir()
    try:
        stored = {e["name"]: e for e in json.loads((directory / INDEX).read_text(encoding="utf-8"))}
    except (OSError, ValueError, KeyError, TypeError):
        stored = {}
    out = []
    for name in zoo.bundled_names():
        data = (directory / f"{name}.yaml").read_bytes()
        entry = stored.get(name)
        out.append(entry if entry is not None and entry.get("sha1") == _digest(data) else _entry(name, data))
    return out


def write_index() -> int:
    """Rewrite specs/index.json from the specs (run after changing a bundled spec; a test checks it is current)."""
    import json

    entries = [_entry(name, (zoo.specs_dir() / f"{name}.yaml").read_bytes()) for name in zoo.bundled_names()]
    (zoo.specs_dir() / INDEX).write_text(json.dumps(entries, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return len(entries)


if __name__ == "__main__":
    print(f"wrote {INDEX} for {write_index()} bundled models")
