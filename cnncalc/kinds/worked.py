"""The vocabulary of worked derivations: steps and sections of formula text with the numbers put in.

Every kind writes its own derivation with these (`Kind.derive`); `cnncalc explain` and `cnncalc layer`
(work/explain.py), `solve` and `compare` assemble them. Every value shown is one the kind's arithmetic
returned; the text only puts the inputs next to it, in the course notes' notation (n, p, f, s, c, k).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from cnncalc.model.shapes import Shape, Spatial

if TYPE_CHECKING:
    from fractions import Fraction  # only derivations with a remainder make Fractions; the module costs start-up


class Step(NamedTuple):
    """One line of working: `label  formula = value`, and a note when something needs saying."""

    label: str
    formula: str
    value: str
    note: str = ""

    def text(self) -> str:
        body = f"{self.formula} = {self.value}" if self.formula else self.value
        return body


class Section(NamedTuple):
    title: str
    rule: str = ""  # the general formula, before substitution
    steps: tuple[Step, ...] = ()
    notes: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "rule": self.rule,
            "steps": [
                {"label": s.label, "formula": s.formula, "value": s.value, **({"note": s.note} if s.note else {})}
                for s in self.steps
            ],
            "notes": list(self.notes),
        }


class LayerUse(NamedTuple):
    """One layer applied to one input, with what the analysis found: what a derivation is written from."""

    layer: Any
    input: Shape
    output: Shape
    params: int
    macs: int
    padding: tuple[int, ...] | None = None


class Derivation(NamedTuple):
    """A kind's worked sections, and the split of its parameters into weights and biases."""

    sections: tuple[Section, ...]
    weights: int = 0
    biases: int = 0


def num(value: int) -> str:
    return f"{value:,}"


def decimal(value: Fraction) -> str:
    """An exact decimal when it is short (4.5, 0.0625), else three places cut short and an ellipsis (2.333…,
    1.000… for 1 + 2/2^40). Integer arithmetic only: a float would print 1 + 2/2^40 as 1."""
    if value < 0:
        return "-" + decimal(-value)
    if value.denominator == 1:
        return str(value.numerator)
    twos = fives = 0
    d = value.denominator
    while d % 2 == 0:
        d, twos = d // 2, twos + 1
    while d % 5 == 0:
        d, fives = d // 5, fives + 1
    places = max(twos, fives)
    if d == 1 and places <= 12:  # a terminating decimal of a readable length: all of it
        digits = value.numerator * 10**places // value.denominator
        return f"{digits // 10**places}.{digits % 10**places:0{places}d}"
    # Cut, not rounded: 2.9999 must not read as 3.000, since the floor is what matters here.
    thousandths = value.numerator * 1000 // value.denominator
    return f"{thousandths // 1000}.{thousandths % 1000:03d}…"


def product(*factors: int | str) -> str:
    return "·".join(str(f) for f in factors)


def per_group(channels: int, groups: int) -> str:
    return str(channels) if groups == 1 else f"({channels}/{groups})"


def axes_label(shape: Spatial) -> str:
    """`height, width` (`length`; `depth, height, width`): the label of a step that holds for every axis."""
    return ", ".join(shape.axes)


_LETTERS = {"length": "", "height": "h", "width": "w", "depth": "d"}


def kernel_symbols(rank: int) -> str:
    """f_h·f_w in 2-D, f in 1-D, f_d·f_h·f_w in 3-D: the kernel's factors in a rule."""
    from cnncalc.model.shapes import AXIS_NAMES

    names = AXIS_NAMES[rank]
    return "·".join("f" if rank == 1 else f"f_{_LETTERS[n]}" for n in names)


def size_symbols(rank: int, prefix: str) -> str:
    """n_out_h·n_out_w in 2-D (prefix `n_out`), n_out in 1-D, n_out_d·n_out_h·n_out_w in 3-D."""
    from cnncalc.model.shapes import AXIS_NAMES

    names = AXIS_NAMES[rank]
    return "·".join(prefix if rank == 1 else f"{prefix}_{_LETTERS[n]}" for n in names)


def flatten_factors(shape: Shape) -> tuple[int, ...]:
    return (*shape.sizes, shape.channels) if isinstance(shape, Spatial) else (shape.features,)
