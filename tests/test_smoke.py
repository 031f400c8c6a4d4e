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


def test_fc_after_global_pooling_takes_the_channels_as_features_like_flatten_then_linear():
    import torch

    a = analysed(
        """
        input: 7x7x512
        layers:
          - global_avgpool
          - fc: {units: 1000}
        """
    )
    fc = a.leaves()[-1]
    linear = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(512, 1000))
    out = linear(torch.zeros(1, 512, 7, 7))
    assert fc.output.as_json() == {"features": out.shape[1]}
    assert fc.params == sum(p.numel() for p in linear.parameters())
    assert fc.macs == 512 * 1000
