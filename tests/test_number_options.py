"""Exponent notation in number options (README, "The spec format"): YAML 1.1 reads `1e-5` as text.

PyYAML follows YAML 1.1, whose float pattern needs a dot, so `eps: 1e-5` arrives as the string
'1e-5'. cnncalc reads such text as the number for number options; sizes and counts refuse it.
"""

from __future__ import annotations

import pytest
import torch
import yaml

from cnncalc.errors import CnnCalcError
from conftest import analysed, spec


def test_yaml_1_1_reads_exponents_without_a_dot_as_text():
    # the premise of the README sentence
    assert yaml.safe_load("x: 1e-5")["x"] == "1e-5"
    assert yaml.safe_load("x: 1.0e-5")["x"] == 1e-5


@pytest.mark.parametrize(
    "layer",
    [
        "batchnorm: {eps: 1e-5, momentum: 1e-1}",
        "lrn: {alpha: 1e-4, beta: 75e-2, k: 2e0}",
        "leaky_relu: {negative_slope: 1e-2}",
        "dropout: {p: 1E-1}",
    ],
)
def test_number_options_accept_exponent_notation(layer):
    spec(f"input: 8x8x3\nlayers:\n  - {layer}\n")


def test_exponent_values_are_the_numbers():
    (dropout,) = spec("input: 8x8x3\nlayers:\n  - dropout: {p: 25e-2}\n").layers
    assert dropout.p == 0.25
    # upsample scale 15e-1 = 1.5: torch gives floor(10·1.5) = 15
    rows = analysed("input: 10x10x3\nlayers:\n  - upsample: {scale: 15e-1}\n").rows
    expected = torch.nn.Upsample(scale_factor=1.5)(torch.zeros(1, 3, 10, 10)).shape
    assert (rows[0].output.height, rows[0].output.width) == tuple(expected[2:])


@pytest.mark.parametrize(("layer", "write"), [("conv: {filters: 2, kernel: 3e0}", "write 3"), ("fc: {units: 1e3}", "write 1000"), ("upsample: {size: 2e1}", "write 20")])
def test_size_options_refuse_exponent_notation_with_a_hint(layer, write):
    with pytest.raises(CnnCalcError) as error:
        spec(f"input: 10x10x3\nlayers:\n  - flatten\n  - {layer}\n" if layer.startswith("fc") else f"input: 10x10x3\nlayers:\n  - {layer}\n")
    assert "positive whole number" in error.value.message
    assert error.value.hint.endswith(write)
