"""Closed vocabularies of the spec format."""

from enum import StrEnum


class LayerKind(StrEnum):
    CONV = "conv"
    CONV_TRANSPOSE = "conv_transpose"
    MAXPOOL = "maxpool"
    AVGPOOL = "avgpool"
    MINPOOL = "minpool"
    GLOBAL_AVGPOOL = "global_avgpool"
    ADAPTIVE_AVGPOOL = "adaptive_avgpool"
    FC = "fc"
    FLATTEN = "flatten"
    BATCHNORM = "batchnorm"
    LRN = "lrn"
    DROPOUT = "dropout"
    ZEROPAD = "zeropad"
    UPSAMPLE = "upsample"
    RELU = "relu"
    RELU6 = "relu6"
    LEAKY_RELU = "leaky_relu"
    TANH = "tanh"
    SIGMOID = "sigmoid"
    SOFTMAX = "softmax"


ACTIVATIONS = frozenset(
    {
        LayerKind.RELU,
        LayerKind.RELU6,
        LayerKind.LEAKY_RELU,
        LayerKind.TANH,
        LayerKind.SIGMOID,
        LayerKind.SOFTMAX,
    }
)

POOLS = frozenset({LayerKind.MAXPOOL, LayerKind.AVGPOOL, LayerKind.MINPOOL})


class StructureKind(StrEnum):
    """Items of a spec that hold other items rather than compute."""

    SEQUENTIAL = "sequential"
    ADD = "add"
    CONCAT = "concat"
    REPEAT = "repeat"


class MergeKind(StrEnum):
    ADD = "add"
    CONCAT = "concat"


class PaddingMode(StrEnum):
    EXPLICIT = "explicit"
    SAME = "same"
    VALID = "valid"


class UpsampleMode(StrEnum):
    NEAREST = "nearest"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"


class Dtype(StrEnum):
    FLOAT32 = "float32"
    FLOAT16 = "float16"
    BFLOAT16 = "bfloat16"
    FLOAT64 = "float64"
    INT8 = "int8"

    @property
    def bytes(self) -> int:
        return _DTYPE_BYTES[self]


_DTYPE_BYTES = {
    Dtype.FLOAT32: 4,
    Dtype.FLOAT16: 2,
    Dtype.BFLOAT16: 2,
    Dtype.FLOAT64: 8,
    Dtype.INT8: 1,
}


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"
