"""render/jsonout.write: ordinary JSON, one list item per line, the same text whether a list is given whole
or made item by item (the table's and receptive-field's 100,000-layer documents are made lazily)."""

from __future__ import annotations

import io
import json

import pytest

from cnncalc.render.jsonout import write

ITEMS = [{"path": "conv1", "kind": "conv", "output": {"height": 28, "width": 28}, "note": "ü “quoted”\n"}, {"path": "fc", "params": 10, "x": None}, [1, 2.5, True]]


def written(doc) -> str:
    out = io.StringIO()
    write(doc, out)
    return out.getvalue()


@pytest.mark.parametrize("items", [ITEMS, ITEMS[:1], []], ids=["three", "one", "none"])
def test_a_list_and_an_iterator_of_the_same_items_give_the_same_text(items):
    whole = written({"name": "n", "layers": items, "totals": {"params": 1}})
    lazy = written({"name": "n", "layers": iter(items), "totals": {"params": 1}})
    assert lazy == whole
    assert whole.endswith("}\n")
    assert json.loads(whole) == {"name": "n", "layers": items, "totals": {"params": 1}}
    lines = whole.splitlines()
    if items:
        assert lines[2] == '  "layers": [' and lines[3 + len(items)] == "  ],"
        assert [json.loads(line.strip().rstrip(",")) for line in lines[3 : 3 + len(items)]] == items  # one item per line
    else:
        assert lines[2] == '  "layers": [],'


def test_other_lists_stay_on_one_line():
    text = written({"layers": [1, 2], "side_outputs": [{"a": 1}, {"b": 2}]})
    assert text.splitlines()[-2] == '  "side_outputs": [{"a": 1}, {"b": 2}]'


@pytest.mark.parametrize("count", [0, 1, 4095, 4096, 9000])
def test_batches_of_lines_give_the_same_text_as_one_write(count):
    """`write` sends the text in batches as the items are made: the same text as the whole list gives in a
    single batch (the batch size made larger than the list), whatever the count."""
    from cnncalc.render import jsonout

    items = [{"path": f"layer{i}", "params": i} for i in range(count)]
    batched = written({"name": "n", "layers": iter(items), "totals": {}})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jsonout, "_BATCH", 10**9)
        whole = written({"name": "n", "layers": items, "totals": {}})
    assert batched == whole
    assert json.loads(batched)["layers"] == items
