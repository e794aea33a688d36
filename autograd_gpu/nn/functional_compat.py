"""The last of torch.nn.functional's public functions: `conv_tbc` (a 1-d
convolution over (time, batch, channels) input) and PyTorch 2.13's
`linear_cross_entropy` (a linear layer into cross_entropy).

Both are built from public differentiable Tensor ops, so gradients of any
order and the CUDA path come with them. linear_cross_entropy always takes
PyTorch's reference path (`options=None`): a LinearCrossEntropyOptions is
checked and accepted, and gives the same values, but no batch chunking
(memory as the reference path; backward may run twice and under
create_graph, which PyTorch's chunked path refuses)."""
import math
import warnings

from .. import _dtype
from .functional import _same_device, _tensor_arg, cross_entropy, linear
from .functional_layers import pad
from ..ops.tied import as_one_node

__all__ = ["conv_tbc", "linear_cross_entropy"]


# ---- conv_tbc --------------------------------------------------------------------------------------

def _int_arg(fn, name, position, value):
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{fn}(): argument '{name}' (position {position}) must be int, not {type(value).__name__}")
    return value.__index__()


def _check_conv_tbc(input, weight, bias):
    for i, (t, name) in enumerate(((input, "input"), (weight, "weight"), (bias, "bias"))):
        if not hasattr(t, "_data"):
            raise TypeError(f"conv_tbc(): argument '{name}' (position {i + 1}) must be Tensor, not "
                            f"{type(t).__name__}")
    if input.dim() != 3:
        raise RuntimeError(f"conv_tbc: Input must have 3 dims: time, batch, in_channel (got shape "
                           f"{list(input.shape)})")
    if weight.dim() != 3:
        raise RuntimeError(f"conv_tbc: Weight tensor must have 3 dims: kernel_width, in_channels, out_channels. "
                           f"(got shape {list(weight.shape)})")
    if bias.dim() != 1:
        raise RuntimeError(f"conv_tbc: Bias must be 1-D (got shape {list(bias.shape)})")
    if input.shape[2] != weight.shape[1]:
        raise RuntimeError(f"conv_tbc: Input dim 2 (input channels) is not == dim 1 in the weight tensor (input "
                           f"shape {list(input.shape)}, weight shape {list(weight.shape)})")
    if bias.shape[0] != weight.shape[2]:
        raise RuntimeError(f"conv_tbc: Bias size must equal dim 2 in the weight tensor (output channels) (bias "
                           f"shape {list(bias.shape)}, weight shape {list(weight.shape)})")
    if input.dtype is not weight.dtype or input.dtype is not bias.dtype:
        raise RuntimeError(f"conv_tbc: expected input, weight and bias of one dtype, got {input.dtype.libtorch}, "
                           f"{weight.dtype.libtorch} and {bias.dtype.libtorch}")
    _same_device("conv_tbc", input, weight, "input", "weight")
    _same_device("conv_tbc", input, bias, "input", "bias")


def conv_tbc(input, weight, bias, pad=0):
    """out[t, b, o] = bias[o] + sum over k, c of x[t + k, b, c] * weight[k, c, o], x being
    input padded with `pad` zero time steps at both ends (a negative pad crops)."""
    pad_steps = _int_arg("conv_tbc", "pad", 4, pad)
    _check_conv_tbc(input, weight, bias)
    kernel, (steps, batch, _), out_channels = weight.shape[0], input.shape, weight.shape[2]
    out_steps = steps + 2 * pad_steps - kernel + 1
    if out_steps < 0:
        raise RuntimeError(f"conv_tbc: Trying to create tensor with negative dimension {out_steps}: "
                           f"[{out_steps}, {batch}, {out_channels}] (input shape {list(input.shape)}, weight shape "
                           f"{list(weight.shape)}, pad={pad_steps})")
    if kernel == 0:                    # no tap: every output step is the bias
        return bias.expand(out_steps, batch, out_channels).clone()
    x = _pad_time(input, pad_steps)
    out = bias
    for k in range(kernel):            # one matrix product per kernel tap: (T', B, C) @ (C, O)
        out = out + x[k:k + out_steps].matmul(weight[k])
    # (PyTorch's bias gradient is a function of g alone)
    return as_one_node(out, "ConvTbcBackward0", "conv_tbc", (input, weight, bias), tie=False)


def _pad_time(input, steps):
    if steps == 0:
        return input
    return pad(input, (0, 0, 0, 0, steps, steps))      # (F.pad: a negative amount crops)


# ---- linear_cross_entropy --------------------------------------------------------------------------

def _check_linear_cross_entropy(input, linear_weight, target, linear_bias):
    fn = "linear_cross_entropy"
    _tensor_arg(input, fn, "input")
    _tensor_arg(linear_weight, fn, "linear_weight")
    _tensor_arg(target, fn, "target")
    if input.dim() < 1 or input.dim() > 2:
        raise RuntimeError(f"{fn}: expected input with dimensionality 1 or 2, got {input.dim()}")
    if linear_weight.dim() < 2:
        raise RuntimeError(f"{fn}: expected linear_weight with dimensionality at least 2, got {linear_weight.dim()}")
    if input.shape[-1] != linear_weight.shape[-1]:
        raise RuntimeError(f"{fn}: expected equal input and linear_weight last dimensions (in_features), got "
                           f"{input.shape[-1]} and {linear_weight.shape[-1]}, respectively")
    class_shape = tuple(linear_weight.shape[:-1])
    if linear_bias is not None:
        _tensor_arg(linear_bias, fn, "linear_bias")
        if tuple(linear_bias.shape) != class_shape:
            raise RuntimeError(f"{fn}: expected linear_bias shape {class_shape}, got {tuple(linear_bias.shape)}")
    if len(class_shape) > 1 and input.dim() == 1:
        raise RuntimeError(f"{fn}: K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} "
                           f"requires batched input, (N, {input.shape[-1]}), got unbatched input with shape "
                           f"{tuple(input.shape)}")


def _warn_options_ignored(options, target, reduction, label_smoothing, out_features, linear_bias):
    """PyTorch's warning where its chunked path cannot serve a call that passed options."""
    if options is None:
        return
    if not out_features and reduction in ("mean", "sum", "none") and label_smoothing == 0.0 \
            and target.dtype is _dtype.int64:
        return
    warnings.warn("linear_cross_entropy: ``options`` ignored; chunked path needs reduction in {'mean','sum','none'}, "
                  "label_smoothing == 0, target.dtype == int64, out_features == (). Got "
                  f"reduction={reduction!r}, label_smoothing={label_smoothing}, target.dtype={target.dtype}, "
                  f"out_features={tuple(out_features)}, tracing=False, linear_bias.shape="
                  f"{tuple(linear_bias.shape) if linear_bias is not None else None}.", UserWarning, stacklevel=3)


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None, reduction="mean",
                         ignore_index=None, label_smoothing=0.0, options=None):
    """cross_entropy(linear(input, linear_weight, linear_bias), target, ...): input (in,) or
    (N, in); linear_weight (C, in) or (C, d1, ..., dK, in), whose logits are laid out
    (N, C, d1, ..., dK). ignore_index=None means -100 for class-index targets and is
    required with class-probability targets."""
    _check_linear_cross_entropy(input, linear_weight, target, linear_bias)
    from .compat import LinearCrossEntropyOptions
    if options is not None and not isinstance(options, LinearCrossEntropyOptions):
        raise TypeError(f"linear_cross_entropy(): argument 'options' must be LinearCrossEntropyOptions or None, "
                        f"not {type(options).__name__}")
    batch, in_features = tuple(input.shape[:-1]), input.shape[-1]
    num_classes, out_features = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    logits_shape = (*batch, num_classes, *out_features)
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError("linear_cross_entropy: ignore_index cannot be specified when target contains "
                           "probabilities")
    _warn_options_ignored(options, target, reduction, label_smoothing, out_features, linear_bias)
    if out_features:
        rows = math.prod(out_features, start=num_classes)
        linear_weight = linear_weight.reshape(rows, in_features)
        linear_bias = None if linear_bias is None else linear_bias.reshape(rows)
    logits = linear(input, linear_weight, linear_bias).reshape(logits_shape)
    return cross_entropy(logits, target, weight=weight, reduction=reduction,
                         ignore_index=-100 if ignore_index is None else ignore_index,
                         label_smoothing=label_smoothing)
