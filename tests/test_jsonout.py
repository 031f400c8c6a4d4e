"""render/jsonout.document: ordinary JSON, one list item per line, the same text whether a list is given whole
or made item by item (the table's and receptive-field's 100,000-layer documents are made lazily)."""

from __future__ import annotations

import json

import pytest

from cnncalc.render.jsonout import document

ITEMS = [{"path": "conv1", "kind": "conv", "output": {"height": 28, "width": 28}, "note": "ü “quoted”\n"}, {"path": "fc", "params": 10, "x": None}, [1, 2.5, True]]


@pytest.mark.parametrize("items", [ITEMS, ITEMS[:1], []], ids=["three", "one", "none"])
def test_a_list_and_an_iterator_of_the_same_items_give_the_same_text(items):
    whole = document({"name": "n", "layers": items, "totals": {"params": 1}})
    lazy = document({"name": "n", "layers": iter(items), "totals": {"params": 1}})
    assert lazy == whole
    assert json.loads(whole) == {"name": "n", "layers": items, "totals": {"params": 1}}
    lines = whole.splitlines()
    if items:
        assert lines[2] == '  "layers": [' and lines[3 + len(items)] == "  ],"
        assert [json.loads(line.strip().rstrip(",")) for line in lines[3 : 3 + len(items)]] == items  # one item per line
    else:
        assert lines[2] == '  "layers": [],'


def test_other_lists_stay_on_one_line():
    text = document({"layers": [1, 2], "side_outputs": [{"a": 1}, {"b": 2}]})
    assert text.splitlines()[-2] == '  "side_outputs": [{"a": 1}, {"b": 2}]'


@pytest.mark.parametrize("count", [0, 1, 4095, 4096, 9000])
def test_writing_gives_the_document_and_a_newline(count):
    """`write` sends the text in batches as the items are made: the same text as `document`, whatever the count."""
    import io

    from cnncalc.render import jsonout

    items = [{"path": f"layer{i}", "params": i} for i in range(count)]
    out = io.StringIO()
    jsonout.write({"name": "n", "layers": iter(items), "totals": {}}, out)
    assert out.getvalue() == document({"name": "n", "layers": items, "totals": {}}) + "\n"
    assert json.loads(out.getvalue())["layers"] == items
