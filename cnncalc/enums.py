"""Closed vocabularies of the spec format."""

from enum import StrEnum


class LayerKind(StrEnum):
    """The layer kinds that have a class of their own (the activations are listed in kinds/elementwise.py)."""

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
    GLOBAL_MAXPOOL = "global_maxpool"
    ADAPTIVE_MAXPOOL = "adaptive_maxpool"
    LAYERNORM = "layernorm"
    GROUPNORM = "groupnorm"
    INSTANCENORM = "instancenorm"
    LAYER_SCALE = "layer_scale"
    STOCHASTIC_DEPTH = "stochastic_depth"
    CHANNEL_SHUFFLE = "channel_shuffle"
    CHUNK = "chunk"
    CROP = "crop"
    PERMUTE = "permute"
    PIXEL_SHUFFLE = "pixel_shuffle"
    PIXEL_UNSHUFFLE = "pixel_unshuffle"
    UNFLATTEN = "unflatten"
    # The activations are named by their own table in cnncalc/kinds/elementwise.py: adding one is one line there.

POOLS = frozenset({LayerKind.MAXPOOL, LayerKind.AVGPOOL, LayerKind.MINPOOL})


class StructureKind(StrEnum):
    """Items of a spec that hold other items rather than compute."""

    SEQUENTIAL = "sequential"
    ADD = "add"
    CONCAT = "concat"
    REPEAT = "repeat"
    SIDE = "side"
    MULTIPLY = "multiply"


class Task(StrEnum):
    """What a network is for (a spec's `task:`; `cnncalc models --task` filters by it)."""

    CLASSIFICATION = "classification"
    SEGMENTATION = "segmentation"
    VIDEO = "video"
    AUDIO = "audio"


class MergeKind(StrEnum):
    ADD = "add"
    CONCAT = "concat"
    MULTIPLY = "multiply"


class StochasticDepthMode(StrEnum):
    """torchvision.ops.StochasticDepth's `mode`: drop per sample (row) or the whole batch."""

    ROW = "row"
    BATCH = "batch"


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


class Optimizer(StrEnum):
    """What the optimizer keeps per trainable parameter, for the training footprint."""

    NONE = "none"  # no optimizer: gradients only
    SGD = "sgd"  # plain SGD: no state
    MOMENTUM = "momentum"  # SGD with momentum: one buffer
    ADAM = "adam"  # first and second moments
    ADAMW = "adamw"

    @property
    def state_copies(self) -> int:
        return {"none": 0, "sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}[self.value]

    @property
    def gradients(self) -> bool:
        return self is not Optimizer.NONE


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


class VerifyFormat(StrEnum):
    """How `cnncalc verify` reports."""

    TEXT = "text"
    JSON = "json"


class TableColumn(StrEnum):
    """What `cnncalc table --columns` can show besides the layer's name (always first)."""

    KIND = "kind"
    INPUT = "input"
    OUTPUT = "output"
    KSP = "ksp"  # kernel, stride, padding: k3 s2 p1
    WEIGHTS = "weights"  # the weight tensor's shape
    PARAMS = "params"
    MACS = "macs"
    ACTIVATIONS = "activations"  # output elements, one sample (Ng's LeNet-5 table)
    MEMORY = "memory"  # bytes autograd saves for backward, at --batch and --dtype


DEFAULT_COLUMNS = (TableColumn.KIND, TableColumn.OUTPUT, TableColumn.KSP, TableColumn.PARAMS, TableColumn.MACS)


class WeightOrder(StrEnum):
    """The order of a weight shape: torch's (filters × channels × kH × kW) or the course notes' (kH × kW × channels × filters)."""

    TORCH = "torch"
    COURSE = "course"


class WorkFormat(StrEnum):
    """Formats of the worked derivations (layer, explain, solve, compare): text or JSON."""

    TABLE = "table"
    JSON = "json"


# --- cnncalc quiz (issue 5) -------------------------------------------------------------


class QuizTopic(StrEnum):
    """What a practice problem is about; the names `cnncalc quiz --topic` takes."""

    CONV = "conv"  # output size of a convolution (stride, padding, dilation)
    POOL = "pool"  # output size of a pooling layer
    TRANSPOSED = "transposed"  # output size of a transposed convolution
    PADDING = "padding"  # the padding of a "same" convolution
    PARAMS = "params"  # parameters of conv, fc on a flattened image, batch norm
    MACS = "macs"  # multiplications of a layer, saving of a 1x1 bottleneck
    ACTIVATIONS = "activations"  # numbers a layer outputs
    RECEPTIVE_FIELD = "receptive-field"  # stacked layers; two 3x3 versus one 5x5
    POOL_FACTS = "pool-facts"  # pooling has no parameters and keeps the channels
    NETWORK = "network"  # tracing a layer of a bundled network
    MEMORY = "memory"  # bytes a layer keeps for the backward pass, at a batch size and dtype
    CONCAT = "concat"  # channels after a concat: an Inception module, a DenseNet block's growth
    RESIDUAL = "residual"  # whether a residual add's shapes match, and the projection that makes them
    DECODER = "decoder"  # a U-Net decoder step: up-convolution or upsampling, the crop of the skip, the concat
    RANKS = "1d-3d"  # 1-D (audio, text) and 3-D (video, volumes) convolutions


class Difficulty(StrEnum):
    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"


class Lang(StrEnum):
    EN = "en"
    KO = "ko"


class QuizFormat(StrEnum):
    TEXT = "text"  # worksheet with answers and worked solutions, plain text
    MARKDOWN = "markdown"  # worksheet, then an answer key
    JSON = "json"  # one object per problem, for other tools
    MOODLE = "moodle"  # Moodle XML: numerical, short-answer and multiple-choice questions, a category per topic
    GIFT = "gift"  # Moodle's plain-text GIFT format
    QTI = "qti"  # a QTI 1.2 zip (Canvas), written with --output
    ANKI = "anki"  # an Anki deck (.apkg), written with --output; needs genanki

    @property
    def binary(self) -> bool:
        """A zip, not text: written to a file (--output), never to a terminal."""
        return self in (QuizFormat.QTI, QuizFormat.ANKI)


class QuestionForm(StrEnum):
    COMPUTE = "compute"
    MISSING = "missing"  # find the missing hyper-parameter
    TRUE_FALSE = "true-false"
    SPOT_WRONG = "spot-wrong"  # which statement is wrong


class Ask(StrEnum):
    """The quantity a problem asks for (the `ask` field of `cnncalc quiz --format json`)."""

    OUTPUT_SHAPE = "output_shape"
    PARAMS = "params"
    MACS = "macs"
    MACS_SAVED = "macs_saved"
    PARAMS_SAVED = "params_saved"
    PADDING = "padding"
    STRIDE = "stride"
    KERNEL = "kernel"
    FILTERS = "filters"
    CHANNELS = "channels"
    ACTIVATIONS = "activations"
    RECEPTIVE_FIELD = "receptive_field"
    LAYERS = "layers"
    TRUE_FALSE = "true_false"
    WRONG_STATEMENT = "wrong_statement"
    SAVED_BYTES = "saved_bytes"  # bytes kept for the backward pass
    PROJECTION = "projection"  # a residual shortcut's 1x1 convolution: filters x stride
    CROP = "crop"  # pixels cut from each side of a skip before its concat


class AnswerKind(StrEnum):
    SHAPE = "shape"  # HxWxC
    PAIR = "pair"  # (height, width)
    INT = "int"
    BOOL = "bool"
    CHOICE = "choice"  # a letter A-D


class ExportTarget(StrEnum):
    """What `cnncalc export --to` writes."""

    PYTORCH = "pytorch"  # a Python module of torch.nn classes


class DrawStyle(StrEnum):
    """How `cnncalc draw` pictures a network."""

    BOXES = "boxes"  # feature maps as 3-D boxes, the textbook drawing of a chain
    GRAPH = "graph"  # blocks, branches, merges and skips as a graph
