"""The arithmetic of CNN layers, once, as pure functions on integers.

Every number cnncalc prints comes from these functions; explanations format the same
inputs next to the value these functions return, they never recompute it.
Sources are cited per function: the PyTorch documentation of the layer and, where
torch's behaviour is only in code, the ATen function that implements it.
"""

from __future__ import annotations

import math


def effective_kernel(kernel: int, dilation: int = 1) -> int:
    """Span of a dilated kernel: d(k - 1) + 1 (torch.nn.Conv2d docs; Dumoulin & Visin, rel. 15)."""
    return dilation * (kernel - 1) + 1


def conv_numerator(n: int, kernel: int, stride: int, pad_before: int, pad_after: int, dilation: int = 1) -> int:
    """n + p_before + p_after - d(k - 1) - 1: what is divided by the stride in every sliding-window formula."""
    return n + pad_before + pad_after - dilation * (kernel - 1) - 1


def conv_output_length(
    n: int, kernel: int, stride: int, pad_before: int, pad_after: int, dilation: int = 1
) -> int:
    """floor((n + 2p - d(k-1) - 1) / s) + 1, torch.nn.Conv2d. Zero or less means no output at all.

    Floor division of a negative numerator rounds towards minus infinity, as ATen's div_rtn.
    """
    return conv_numerator(n, kernel, stride, pad_before, pad_after, dilation) // stride + 1


def pool_output_length(
    n: int,
    kernel: int,
    stride: int,
    pad_before: int,
    pad_after: int,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """torch.nn.MaxPool2d/AvgPool2d output length (ATen pooling_output_shape_pad_lr).

    With ceil_mode the division rounds up, but a last window that would start past the
    input and its leading padding is dropped: torch then subtracts one.
    """
    numerator = conv_numerator(n, kernel, stride, pad_before, pad_after, dilation)
    if not ceil_mode:
        return numerator // stride + 1
    out = (numerator + stride - 1) // stride + 1
    if (out - 1) * stride >= n + pad_before:
        out -= 1
    return out


def same_output_length(n: int, stride: int) -> int:
    """ceil(n / s): the output length `padding: same` aims for (TensorFlow/Keras's definition)."""
    return -(-n // stride)


def same_padding(n: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """Padding (before, after) that gives output ceil(n / s).

    This is TensorFlow/Keras's `padding="same"`: total = max((ceil(n/s) - 1)s + d(k-1) + 1 - n, 0),
    the odd pixel going after (bottom/right). At stride 1 it is d(k-1) in total and equals
    torch's `padding="same"` (torch.nn.Conv2d allows "same" only at stride 1).
    """
    out = same_output_length(n, stride)
    total = max((out - 1) * stride + effective_kernel(kernel, dilation) - n, 0)
    return total // 2, total - total // 2


def conv_transpose_output_length(
    n: int, kernel: int, stride: int, padding: int, output_padding: int = 0, dilation: int = 1
) -> int:
    """(n - 1)s - 2p + d(k - 1) + output_padding + 1, torch.nn.ConvTranspose2d."""
    return (n - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def _product(values: tuple[int, ...]) -> int:
    n = 1
    for v in values:
        n *= v
    return n


def conv_weights(kernel: tuple[int, ...], in_channels: int, filters: int, groups: int = 1) -> int:
    """Weights of a (transposed) convolution of any rank: f_1 ⋯ f_r * (c / g) * k (f_h f_w c/g k in 2-D).

    A transposed conv stores (c_in, c_out/g, f…), the same count with the roles swapped.
    """
    return _product(kernel) * (in_channels // groups) * filters


def conv_params(kernel: tuple[int, ...], in_channels: int, filters: int, groups: int = 1, bias: bool = True) -> int:
    """(f_h * f_w * c / g + 1) * k with a bias, (f_h * f_w * c / g) * k without (any rank: the kernel's volume)."""
    return conv_weights(kernel, in_channels, filters, groups) + (filters if bias else 0)


def conv_macs(out_sizes: tuple[int, ...], kernel: tuple[int, ...], in_channels: int, filters: int, groups: int = 1) -> int:
    """One multiply-accumulate per weight per output position: H_out W_out k f_h f_w c/g (in 2-D).

    Biases are not counted: this is the convention of torchvision's published GFLOPS
    (which are really GMACs) and of fvcore/ptflops.
    """
    return _product(out_sizes) * conv_weights(kernel, in_channels, filters, groups)


def conv_transpose_macs(in_sizes: tuple[int, ...], kernel: tuple[int, ...], in_channels: int, filters: int, groups: int = 1) -> int:
    """Each input position scatters through every weight once: H_in W_in f_h f_w c_in k/g (fvcore's count)."""
    return _product(in_sizes) * conv_weights(kernel, in_channels, filters, groups)


def fc_params(in_features: int, units: int, bias: bool = True) -> int:
    """(n_in + 1) * n_out with a bias, n_in * n_out without (torch.nn.Linear)."""
    return (in_features + (1 if bias else 0)) * units


def fc_macs(in_features: int, units: int) -> int:
    return in_features * units


def batchnorm_params(channels: int, affine: bool = True) -> int:
    """gamma and beta per channel (torch.nn.BatchNorm2d weight and bias)."""
    return 2 * channels if affine else 0


def batchnorm_running_stats(channels: int, track_running_stats: bool = True) -> int:
    """running_mean and running_var per channel: stored and loaded with the model, never trained.

    torch keeps them as buffers, so model.parameters() does not count them; its
    num_batches_tracked step counter is not a per-channel statistic and is left out.
    """
    return 2 * channels if track_running_stats else 0


def adaptive_pool_bins(n: int, out: int) -> list[tuple[int, int]]:
    """[start, end) of each adaptive pooling window: floor(i n / o) to ceil((i + 1) n / o) (ATen start_index/end_index)."""
    return [((i * n) // out, -(-((i + 1) * n) // out)) for i in range(out)]


def adaptive_pool_bin_sizes_and_steps(n: int, out: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The distinct sizes and steps of `adaptive_pool_bins(n, out)`, in O(1) instead of O(out).

    With n = a·out + b (0 ≤ b < out) and r_i = i·n mod out, bin i has size
    a + ⌈(r_i + b)/out⌉ and the next bin starts a + ⌊(r_i + b)/out⌋ later. Over i = 0 … out − 1
    the r_i are exactly the multiples of g = gcd(n, out) below out (they repeat with period
    out/g); over the steps' i = 0 … out − 2 they are the same when g ≥ 2, and every residue but
    r_(out−1) = out − b when g = 1. Hence: b = 0 gives size a and step a; otherwise sizes are
    a + 1, and a + 2 when b ≥ 2g, and steps are a, and a + 1 unless g = 1 and b = 1.
    """
    a, b = divmod(n, out)
    g = math.gcd(n, out)
    if b == 0:
        return (a,), ((a,) if out > 1 else ())
    sizes = (a + 1,) if b == g else (a + 1, a + 2)
    steps = (a,) if g == 1 and b == 1 else (a, a + 1)
    return sizes, steps


def upsample_length(n: int, scale: float) -> int:
    """floor(n * scale), torch.nn.Upsample with scale_factor (computed in double precision, as here)."""
    if isinstance(scale, int):
        return n * scale
    return int(n * scale // 1)


def conv_length_expression(
    n: int, kernel: int, stride: int, pad_before: int, pad_after: int, dilation: int = 1
) -> str:
    """The conv length formula with numbers in place, in the notes' form: `(63 + 2·0 − 7)/2 + 1`."""
    pad = f"2·{pad_before}" if pad_before == pad_after else f"{pad_before} + {pad_after}"
    span = str(kernel) if dilation == 1 else f"{dilation}·({kernel} − 1) − 1"
    return f"({n} + {pad} − {span})/{stride} + 1"


def division_remainder(
    n: int, kernel: int, stride: int, pad_before: int, pad_after: int, dilation: int = 1
) -> int:
    """Pixels at the end of the padded input that no window covers: the numerator mod s.

    Zero exactly when (n + 2p − f)/s is a whole number, which CS231n calls a valid choice of
    hyperparameters; otherwise torch floors the division and drops these pixels.
    """
    return conv_numerator(n, kernel, stride, pad_before, pad_after, dilation) % stride


def stacked_receptive_field(kernel: int, layers: int, dilation: int = 1) -> int:
    """Receptive field of `layers` stacked stride-1 convolutions: 1 + L·d(f − 1) (two 3×3 see 5×5)."""
    return 1 + layers * (effective_kernel(kernel, dilation) - 1)
