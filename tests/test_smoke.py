"""The core example of the spec format, end to end, against hand arithmetic."""

from conftest import analysed

TINY = """
name: tiny
input: 32x32x3
layers:
  - conv: {filters: 6, kernel: 5}
  - relu
  - maxpool: {kernel: 2, stride: 2}
  - flatten
  - fc: {units: 10}
"""


def test_tiny_network_matches_hand_arithmetic():
    a = analysed(TINY)
    shapes = [r.output.hwc() for r in a.leaves()]
    assert shapes == ["28x28x6", "28x28x6", "14x14x6", "1176", "10"]
    assert [r.params for r in a.leaves()] == [(5 * 5 * 3 + 1) * 6, 0, 0, 0, (1176 + 1) * 10]
    assert a.totals.macs == 28 * 28 * 6 * 5 * 5 * 3 + 1176 * 10
