"""The layer kinds cnncalc knows, found by their spec words: the one list every stage asks.

Adding a kind is one class in one module of this package, listed in `_KINDS` below, plus its
README row and its row in the torch test tables (see the README's development section).
"""

from __future__ import annotations

from cnncalc.kinds import base
from cnncalc.kinds.base import Kind
from cnncalc.kinds.channels import (
    ChannelShuffleKind,
    ChunkKind,
    LayerScaleKind,
    PermuteKind,
    PixelShuffleKind,
    StochasticDepthKind,
    UnflattenKind,
)
from cnncalc.kinds.conv import ConvKind, ConvTransposeKind
from cnncalc.kinds.dense import FcKind, FlattenKind
from cnncalc.kinds.elementwise import ActivationKind, DropoutKind, PReluKind
from cnncalc.kinds.merge import MERGES
from cnncalc.kinds.norm import BatchNormKind, LrnKind, NormalizationKind
from cnncalc.kinds.pool import AdaptivePoolKind, PoolKind
from cnncalc.kinds.resize import CropKind, UpsampleKind, ZeroPadKind

_KINDS: tuple[Kind, ...] = (
    ConvKind(),
    ConvTransposeKind(),
    PoolKind(),
    AdaptivePoolKind(),
    FcKind(),
    FlattenKind(),
    BatchNormKind(),
    LrnKind(),
    DropoutKind(),
    ZeroPadKind(),
    UpsampleKind(),
    ActivationKind(),
    PReluKind(),
    NormalizationKind(),
    LayerScaleKind(),
    StochasticDepthKind(),
    ChannelShuffleKind(),
    ChunkKind(),
    CropKind(),
    PermuteKind(),
    PixelShuffleKind(),
    UnflattenKind(),
)

# spec word (LayerKind value) -> its kind
KINDS: dict[str, Kind] = {name: kind for kind in _KINDS for name in kind.names}
# aliases: conv2d -> (conv, 2) demands a rank; swish -> (silu, None) is another name
ALIASES: dict[str, tuple[str, int | None]] = {alias: target for kind in _KINDS for alias, target in kind.aliases.items()}
base._ALIASES_SEEN.update(ALIASES)

LAYER_WORDS: tuple[str, ...] = tuple(KINDS)


_COMMON = ("conv", "conv_transpose", "maxpool", "avgpool", "global_avgpool", "fc", "flatten", "batchnorm", "layernorm",
           "dropout", "upsample", "relu", "gelu", "silu")


def kinds_hint() -> str:
    """The hint after an unknown kind: the common ones, and where every one is listed (the full list no longer fits a line)."""
    return f"layer kinds include {', '.join(_COMMON)}; every kind is listed in the README under Layer kinds and their options"


def kind_of(layer: object) -> Kind:
    """The kind of a built layer value."""
    return KINDS[layer.kind]  # type: ignore[attr-defined]


__all__ = ["ALIASES", "KINDS", "LAYER_WORDS", "MERGES", "kind_of", "kinds_hint"]
