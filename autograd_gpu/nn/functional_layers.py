"""ag.nn.functional's forms of the layers: dropout, layer_norm, batch_norm,
embedding, one_hot, normalize, pad (re-exported by functional.py).

Each is composed of public Tensor ops, so gradients (of any order) and the
CUDA path come with them. Arguments are checked before anything is computed
or written (batch_norm's running statistics, embedding's max_norm rows)."""
import math
import numbers
import warnings

import numpy as np

from .. import _dtype
from ..autograd.function import Function
from ..autograd.grad_mode import no_grad
from ..autograd.op import Op
from ..creation import arange, rand, tensor, zeros_like
from ..ops import prims as P
from ..ops.normalization import NativeBatchNorm, NativeLayerNorm, one_node_norm, takes_one_node
from ..ops.pointwise import where
from ..ops._util import check_fits
from ..ops.shape import ConstantPadNd
from ..ops.tied import as_one_node
from ..tensor import Tensor
# functional.py imports this module after defining its checks
from .functional import _same_device, _tensor_arg
from ..amp import cast_at_entry

__all__ = ["dropout", "layer_norm", "batch_norm", "embedding", "one_hot", "normalize", "pad", "dropout1d", "dropout2d",
           "dropout3d", "alpha_dropout", "feature_alpha_dropout", "bilinear", "embedding_bag"]


def _check_operand(fn, name, t, input, shape, what):
    """An optional per-feature operand (weight, bias, running stats): a
    Tensor of `shape`, floating, on input's device."""
    if t is None:
        return
    _tensor_arg(t, fn, name)
    if tuple(t.shape) != tuple(shape):
        raise RuntimeError(f"{fn}: {name} should have shape {list(shape)} ({what}), got {list(t.shape)}")
    if not t.is_floating_point():
        raise RuntimeError(f"{fn}: {name} must be floating point, got {t.dtype.libtorch}")
    _same_device(fn, input, t, "input", name)


def _require_float(fn, input):
    if not input.is_floating_point():
        raise RuntimeError(f"{fn}: expected a floating point input, got {input.dtype.libtorch}")


def _wide(x):
    """float16 data is normalised in float32 (as PyTorch's kernels accumulate) and rounded back once."""
    return x.float() if x.dtype is _dtype.float16 else x


def _stats(x, dims):
    """x widened, with its mean and biased variance over dims (kept)."""
    xs = _wide(x)
    return xs, xs.mean(dims, keepdim=True), xs.var(dims, keepdim=True, correction=0)


def _standardize(xs, mean, var, eps):
    return (xs - mean) * (var + eps).rsqrt()


def _affine(out, weight, bias, shape, dtype):
    """out * weight + bias (each reshaped to `shape`), in out's (wide) dtype, then rounded to dtype."""
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out.to(dtype)


def _check_dtypes(fn, input, operands):
    """Operands share input's dtype, or are float32 for a float16 input (as PyTorch's CPU kernels allow)."""
    allowed = (input.dtype, _dtype.float32) if input.dtype is _dtype.float16 else (input.dtype,)
    for name, t in operands:
        if t is not None and t.dtype not in allowed:
            raise RuntimeError(f"{fn}: mixed dtype: input is {input.dtype.libtorch} but {name} is "
                               f"{t.dtype.libtorch}; all inputs must share the same dtype")


# ---- dropout ----------------------------------------------------------------------------------

def _check_p(fn, p):
    if not isinstance(p, numbers.Real) or not 0 <= p <= 1:
        raise ValueError(f"{fn}: dropout probability has to be between 0 and 1, but got {p}")


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1/(1-p)
    (training only; otherwise the input itself). The draws come from the
    library's generator: ag.manual_seed makes them repeatable."""
    _tensor_arg(input, "dropout", "input")
    _check_p("dropout", p)
    if not training or p == 0 or input.numel() == 0:       # (no draw: the generator is left as it was)
        return input
    if not input.is_floating_point():
        raise RuntimeError(f"dropout: result type Float can't be cast to the desired output type "
                           f"{input.dtype.libtorch}")
    if p == 1:
        mask = zeros_like(input)
    else:
        keep = rand(tuple(input.shape), device=input.device) >= p      # P(keep) = 1 - p
        mask = keep.to(input.dtype) / (1 - p)
    return input.mul_(mask) if inplace else input * mask


def _dropout_noise(input, p, per_channel):
    """The keep mask (1 with probability 1 - p), of input's shape, or (N, C, 1, ...) for channel dropout."""
    shape = tuple(input.shape[:2]) + (1,) * (input.dim() - 2) if per_channel else tuple(input.shape)
    return (rand(shape, device=input.device) >= p).to(input.dtype)


# SELU's -alpha * scale: the value alpha dropout drops to, so that a SELU network keeps its mean and variance
_ALPHA_PRIME = 1.7580993408473766


def _dropout_impl(fn, input, p, training, inplace, per_channel, alpha):
    """Dropout of elements or of whole channels; alpha dropout sets the dropped
    ones to -alpha' and rescales (a, b) to keep zero mean and unit variance."""
    _tensor_arg(input, fn, "input")
    _check_p(fn, p)
    if not training or p == 0 or input.numel() == 0:
        return input
    if not input.is_floating_point():
        raise RuntimeError(f"{fn}: result type Float can't be cast to the desired output type "
                           f"{input.dtype.libtorch}")
    if per_channel and input.dim() < 2:
        raise RuntimeError(f"{fn}: Feature dropout requires at least 2 dimensions in the input, got "
                           f"{list(input.shape)}")
    if p == 1:
        out_mask = zeros_like(input)
        return input.mul_(out_mask) if inplace else input * out_mask
    noise = _dropout_noise(input, p, per_channel)
    if not alpha:
        scale = noise / (1 - p)
        return input.mul_(scale) if inplace else input * scale
    a = 1.0 / math.sqrt((_ALPHA_PRIME ** 2 * p + 1) * (1 - p))
    shift = (noise - 1) * (_ALPHA_PRIME * a) + _ALPHA_PRIME * a * p
    if inplace:
        return input.mul_(noise * a).add_(shift)
    return input * (noise * a) + shift


def _channel_dropout(fn, input, p, training, inplace, spatial):
    """dropout1d/2d/3d: channel dropout of (N, C, *spatial) or unbatched (C, *spatial) input."""
    _tensor_arg(input, fn, "input")
    _check_p(fn, p)
    dims = (spatial + 1, spatial + 2)
    note = (f"Note that {fn} exists to provide channel-wise dropout on inputs with {spatial} spatial "
            f"dimension{'s' if spatial > 1 else ''}, a channel dimension, and an optional batch dimension (i.e. "
            f"{dims[0]}D or {dims[1]}D inputs).")
    batched = input.dim() == dims[1]          # any other input gets a batch dim of 1, as in PyTorch
    if spatial == 1 and input.dim() not in dims:
        raise RuntimeError(f"{fn}: Expected 2D or 3D input, but received a {input.dim()}D input. {note}")
    if spatial > 1 and input.dim() not in dims:
        warnings.warn(f"{fn}: Received a {input.dim()}-D input to {fn}, which is deprecated and will result in an "
                      f"error in a future release. To retain the behavior and silence this warning, please use "
                      f"dropout instead. {note}", UserWarning, stacklevel=3)
    if spatial == 2:
        if input.dim() == 3:
            warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                          "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel "
                          "dim. This behavior will change in a future release to interpret the input as one without "
                          "a batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout "
                          "behavior, please switch to using dropout1d instead.", UserWarning, stacklevel=3)
        batched = True          # PyTorch's dropout2d takes any input as batched
    if batched:
        return _dropout_impl(fn, input, p, training, inplace, True, False)
    if not training or p == 0 or input.numel() == 0:
        return input
    if inplace:
        # the channel mask of the unbatched input, written into it
        _dropout_impl(fn, input.unsqueeze(0), p, training, True, True, False)
        return input
    return _dropout_impl(fn, input.unsqueeze(0), p, training, False, True, False).squeeze(0)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) or (C, L) input with probability p, scaling the rest by 1/(1-p)."""
    return _channel_dropout("dropout1d", input, p, training, inplace, 1)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) or (C, H, W) input (a 3-D input is taken as (N, C, L), with
    PyTorch's warning)."""
    return _channel_dropout("dropout2d", input, p, training, inplace, 2)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input."""
    return _channel_dropout("dropout3d", input, p, training, inplace, 3)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout for SELU networks: dropped elements take SELU's negative
    saturation value, then an affine map restores zero mean and unit variance."""
    return _dropout_impl("alpha_dropout", input, p, training, inplace, False, True)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """alpha_dropout of whole channels (dim 1)."""
    return _dropout_impl("feature_alpha_dropout", input, p, training, inplace, True, True)


# ---- bilinear ---------------------------------------------------------------------------------

@cast_at_entry
def bilinear(input1, input2, weight, bias=None):
    """y[..., o] = sum_ij input1[..., i] weight[o, i, j] input2[..., j] + bias[o]."""
    fn = "bilinear()"
    for name, t in (("input1", input1), ("input2", input2), ("weight", weight)):
        _tensor_arg(t, "bilinear", name)
    if bias is not None:
        _tensor_arg(bias, "bilinear", "bias")
    if input1.dim() != input2.dim():
        raise RuntimeError(f"{fn}: input dimensions do not match: got {input1.dim()} and {input2.dim()}")
    if input1.dim() == 0:
        raise RuntimeError(f"{fn}: inputs must have at least one dimension, got 0-d tensors")
    for d in range(input1.dim() - 1):
        if input1.shape[d] != input2.shape[d]:
            raise RuntimeError(f"{fn}: input batch dimensions do not match at dim {d}: got {input1.shape[d]} and "
                               f"{input2.shape[d]}")
    if weight.dim() != 3:
        raise RuntimeError(f"{fn}: weight must be 3-D (out, in1, in2), got shape {list(weight.shape)}")
    out_f, in1, in2 = weight.shape
    for k, (t, n) in enumerate(((input1, in1), (input2, in2)), 1):
        if t.shape[-1] != n:
            raise RuntimeError(f"{fn}: input{k} size does not match weight size: got {t.shape[-1]} but expected {n}")
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != out_f):
        raise RuntimeError(f"{fn}: bias size does not match weight size: got {list(bias.shape)} but expected "
                           f"[{out_f}]")
    for name, t in (("input2", input2), ("weight", weight), ("bias", bias)):
        if t is not None:
            _same_device("bilinear", input1, t, "input1", name)
            if t.dtype is not input1.dtype:
                raise RuntimeError(f"bilinear: expected all tensors to have dtype {input1.dtype.libtorch}, but "
                                   f"{name} is {t.dtype.libtorch}")
    batch = tuple(input1.shape[:-1])
    x1, x2 = input1.reshape(-1, in1), input2.reshape(-1, in2)
    # (B, in1) @ (in1, out * in2): each row's x1^T W_o for every o, then dotted with x2
    left = (x1 @ weight.permute(1, 0, 2).reshape(in1, out_f * in2)).reshape(-1, out_f, in2)
    out = (left * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        out = out + bias
    return out.reshape(*batch, out_f)


# ---- normalisation ------------------------------------------------------------------------------

def _normalized_shape(fn, normalized_shape):
    if isinstance(normalized_shape, numbers.Integral) and not isinstance(normalized_shape, bool):
        return (int(normalized_shape),)
    try:
        shape = tuple(normalized_shape)
    except TypeError:
        raise TypeError(f"{fn}(): argument 'normalized_shape' must be an int or a sequence of ints, not "
                        f"{type(normalized_shape).__name__}") from None
    if not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in shape):
        raise TypeError(f"{fn}(): argument 'normalized_shape' must be a sequence of ints, got {shape}")
    return tuple(int(n) for n in shape)


def _float_number(fn, name, position, v):
    """A float argument, as PyTorch's parser takes it (bools and ints too; anything else: TypeError)."""
    if not isinstance(v, (int, float)):
        raise TypeError(f"{fn}(): argument '{name}' (position {position}) must be float, not {type(v).__name__}")


@cast_at_entry
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last len(normalized_shape) dims (biased variance),
    then scale by weight and shift by bias (both of normalized_shape)."""
    _tensor_arg(input, "layer_norm", "input")
    _float_number("layer_norm", "eps", 5, eps)
    shape = _normalized_shape("layer_norm", normalized_shape)
    if not shape:
        raise RuntimeError("layer_norm: Expected normalized_shape to be at least 1-dimensional, i.e., containing "
                           "at least one element, but got normalized_shape = []")
    n = len(shape)
    if input.dim() < n or tuple(input.shape[-n:]) != shape:
        raise RuntimeError(f"layer_norm: Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size{list(input.shape)}")
    _require_float("layer_norm", input)
    for name, t in (("weight", weight), ("bias", bias)):
        _check_operand("layer_norm", name, t, input, shape, "normalized_shape")
    _check_dtypes("layer_norm", input, (("weight", weight), ("bias", bias)))
    out = one_node_norm(NativeLayerNorm, input, weight, bias, tuple(input.shape),
                        tuple(range(input.dim() - n, input.dim())), eps, shape)
    if out is not None:
        return out
    dims = tuple(range(-n, 0))
    xs, mean, var = _stats(input, dims)
    return as_one_node(_affine(_standardize(xs, mean, var, eps), weight, bias, shape, input.dtype),
                       "NativeLayerNormBackward0", "native_layer_norm", (input, weight, bias), undefined=(bias,))


def _check_batch_norm(fn, input, running_mean, running_var, weight, bias, training, eps):
    """Everything batch_norm checks; returns the number of channels."""
    _tensor_arg(input, fn, "input")
    if input.dim() < 2:
        raise ValueError(f"{fn}: expected an input of shape (N, C, *), got {list(input.shape)}")
    _require_float(fn, input)
    c = input.shape[1]
    if training and input.numel() // max(c, 1) == 1:
        raise ValueError(f"{fn}: Expected more than 1 value per channel when training, got input size "
                         f"{list(input.shape)}")
    if eps < 0 or training and eps == 0:
        raise ValueError(f"{fn}: eps must be {'positive during training' if training else 'non-negative'}, but "
                         f"got {eps}")
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError(f"{fn}: running_mean and running_var must be defined in evaluation mode")
    operands = (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias))
    for name, t in operands:
        if t is not None and isinstance(t, Tensor) and t.numel() != c:
            raise RuntimeError(f"{fn}: {name} should contain {c} elements not {t.numel()}")
        _check_operand(fn, name, t, input, (c,), "one value per channel")
    _check_dtypes(fn, input, operands)
    return c


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-05):
    """Normalise each channel (dim 1) of input (N, C, *): with the batch's
    statistics when training (biased variance; running stats, if given,
    move towards the batch's mean and unbiased variance by `momentum`), with
    the running statistics otherwise."""
    _float_number("batch_norm", "momentum", 7, momentum)
    _check_batch_norm("batch_norm", input, running_mean, running_var, weight, bias, training, eps)
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps):
    c = input.shape[1]
    shape = (1, c) + (1,) * (input.dim() - 2)
    if training and takes_one_node(input, weight, bias):
        # the batch's statistics, once: the running ones move towards them and the node takes them
        rows_shape = (input.shape[0], c, input.numel() // (input.shape[0] * c))
        rows = input._data.reshape(rows_shape)
        stats = (P.mean(rows, (0, 2), True), P.var(rows, (0, 2), True, 0))
        _move_running_stats(running_mean, running_var, *(Tensor._make(a, input._backend) for a in stats),
                            input.numel() // c, momentum)
        return one_node_norm(NativeBatchNorm, input, weight, bias, rows_shape, (0, 2), eps, shape, stats)
    if training:
        dims = (0,) + tuple(range(2, input.dim()))
        xs, mean, var = _stats(input, dims)
        if input.numel():               # (an empty batch leaves the running stats as they are, as PyTorch)
            # (detached: no tangent either, under forward AD)
            _move_running_stats(running_mean, running_var, mean.detach(), var.detach(), input.numel() // c, momentum)
    else:
        xs = _wide(input)
        mean, var = running_mean.reshape(shape).to(xs.dtype), running_var.reshape(shape).to(xs.dtype)
    return as_one_node(_affine(_standardize(xs, mean, var, eps), weight, bias, shape, input.dtype),
                       "NativeBatchNormBackward0", "native_batch_norm", (input, weight),
                       undefined=() if training else (input,))


def _move_running_stats(running_mean, running_var, batch_mean, batch_var, count, momentum):
    """The running statistics moved by `momentum` towards the batch's mean and unbiased variance
    (batch_var biased, over `count` values per channel)."""
    c = batch_mean.numel()
    with no_grad():
        if running_mean is not None:
            running_mean.copy_(running_mean * (1 - momentum) + batch_mean.reshape(c).to(running_mean.dtype) * momentum)
        if running_var is not None:
            unbiased = batch_var.reshape(c) * (count / (count - 1) if count > 1 else math.nan)
            running_var.copy_(running_var * (1 - momentum) + unbiased.to(running_var.dtype) * momentum)


# ---- embedding --------------------------------------------------------------------------------------

def _check_indices(fn, input, n):
    """Long or Int indices in [0, n); IndexError ("index out of range in self") otherwise."""
    if input.dtype not in (_dtype.int64, _dtype.int32):
        raise RuntimeError(f"{fn}: Expected tensor for argument #1 'indices' to have one of the following scalar "
                           f"types: Long, Int; but got {input.dtype.libtorch} instead")
    if input.numel():
        lo, hi = int(input.min()), int(input.max())
        if lo < 0 or hi >= n:
            raise IndexError(f"{fn}: index out of range in self (index {lo if lo < 0 else hi}, {n} rows in "
                             "weight)")


def _padding_idx(fn, padding_idx, n):
    """padding_idx in [-n, n) made non-negative (AssertionError otherwise, as PyTorch)."""
    if padding_idx is None:
        return None
    if not -n <= padding_idx < n:
        raise AssertionError(f"{fn}: Padding_idx must be within num_embeddings (got {padding_idx} for "
                             f"{n} embeddings)")
    return padding_idx % n


def _renorm_rows(weight, idx, max_norm, norm_type):
    """Rescale, in place, the rows of weight that idx uses whose norm exceeds max_norm."""
    with no_grad():
        rows = idx.unique()
        norms = weight.index_select(0, rows).norm(norm_type, 1, keepdim=True)
        scale = where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).to(weight.dtype)
        weight[rows] = weight.index_select(0, rows) * scale


class _RowGrad(Function):
    """Identity forward; backward multiplies the gradient by `scale` (None: 1)
    and zeroes it where `keep` is False (None: nowhere), exactly. As in
    PyTorch's embedding backward, this is not differentiated (a gradient of
    the gradient passes through unchanged), and its tangent is the input's
    (PyTorch's embedding JVP reads the weight's tangent as is)."""

    @staticmethod
    def forward(ctx, x, scale, keep):
        ctx.scale, ctx.keep = scale, keep
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        held = g.detach()
        first = held if ctx.scale is None else held * ctx.scale
        if ctx.keep is not None:
            first = where(ctx.keep, first, 0.0)
        return first + (g - held), None, None

    @staticmethod
    def jvp(ctx, x_t, scale_t, keep_t):
        return x_t.clone()


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """Rows of weight (num_embeddings, embedding_dim) picked by the integer
    indices in input; the result has shape input.shape + (embedding_dim,).
    The padding_idx row gets no gradient; with max_norm, the rows used are
    first renormalised in place; scale_grad_by_freq divides each row's
    gradient by its count in input."""
    _tensor_arg(input, "embedding", "input")
    _tensor_arg(weight, "embedding", "weight")
    if weight.dim() != 2:
        raise RuntimeError(f"embedding: 'weight' must be 2-D, got shape {list(weight.shape)}")
    if sparse:
        raise NotImplementedError("embedding: sparse=True is not supported (ag has no sparse tensors)")
    _check_indices("embedding", input, weight.shape[0])
    _same_device("embedding", input, weight, "input", "weight")
    padding_idx = _padding_idx("embedding", padding_idx, weight.shape[0])
    idx = input.reshape(-1).long()
    if max_norm is not None:
        _renorm_rows(weight, idx, max_norm, norm_type)
    out = weight.index_select(0, idx)
    scale = keep = None
    if scale_grad_by_freq and idx.numel():
        scale = 1 / idx.bincount(minlength=weight.shape[0]).index_select(0, idx).to(out.dtype).unsqueeze(1)
    if padding_idx is not None:
        keep = (idx != padding_idx).unsqueeze(1)          # the padding row keeps its value, passes no gradient
    if scale is not None or keep is not None:
        out = _RowGrad.apply(out, scale, keep)
    return as_one_node(out.reshape(*input.shape, weight.shape[1]), "EmbeddingBackward0", "embedding", (input,))


_BAG_MODES = ("sum", "mean", "max")


def _bag_offsets(input, offsets, include_last_offset):
    """(flat indices, host offsets of each bag's start plus the end) from 1-D input with offsets or 2-D input."""
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError("embedding_bag: if input is 2D, then offsets has to be None, as input is treated is a "
                             "mini-batch of fixed length sequences. However, found offsets of type "
                             f"{type(offsets).__name__}")
        rows, width = input.shape
        return input.reshape(-1), np.arange(rows + 1) * width
    if input.dim() != 1:
        raise ValueError(f"embedding_bag: input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.dim()}")
    if offsets is None:
        raise ValueError("embedding_bag: offsets has to be a 1D Tensor but got None")
    _tensor_arg(offsets, "embedding_bag", "offsets")
    if offsets.dim() != 1:
        raise ValueError(f"embedding_bag: offsets has to be a 1D Tensor, got shape {list(offsets.shape)}")
    if offsets.dtype not in (_dtype.int64, _dtype.int32):
        raise RuntimeError(f"embedding_bag: offsets must be Long or Int, got {offsets.dtype.libtorch}")
    _same_device("embedding_bag", input, offsets, "input", "offsets")
    starts = np.asarray(offsets.cpu().numpy(), dtype=np.int64)
    n = input.shape[0]
    if include_last_offset and starts.size == 0:
        raise RuntimeError("embedding_bag: include_last_offset: number of offsets should be at least 1")
    if starts.size and starts[0] != 0:
        raise RuntimeError(f"embedding_bag: offsets[0] has to be 0, i.e., the first sequence in the mini-batch has "
                           f"to start from position 0. However, got {starts[0]}")
    if starts.size and starts[-1] > n:
        raise RuntimeError(f"embedding_bag: offsets[-1] can not be greater than input's length {n}, but got "
                           f"offsets[-1] of {starts[-1]}")
    if np.any(np.diff(starts) < 0):
        raise RuntimeError(f"embedding_bag: offsets must be non-decreasing, got {starts.tolist()}")
    if include_last_offset and starts[-1] != n:
        # (PyTorch does not check; its CPU results then disagree among dtypes and modes: float32 sums end
        # the last bag at the offset, float64 sums and max run it to the input's end, means divide by that)
        raise RuntimeError(f"embedding_bag: with include_last_offset=True the last offset must be the input's "
                           f"length {n}, but got {starts[-1]}")
    return input, starts if include_last_offset else np.append(starts, n)


def _bag_layout(bounds):
    """For bags [bounds[b], bounds[b+1]): the (bags, longest) table of flat positions and its validity mask."""
    lengths = np.diff(bounds)
    width = int(lengths.max()) if lengths.size else 0
    pos = bounds[:-1, None] + np.arange(width)[None, :]
    valid = np.arange(width)[None, :] < lengths[:, None]
    return np.where(valid, pos, 0), valid


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Sums, means or maxima of bags of embedding rows: bags are the rows of a
    2-D input, or the runs of a 1-D input starting at `offsets`. Entries equal
    to padding_idx are left out of their bag; an empty bag gives zeros.
    per_sample_weights (input's shape, mode 'sum') scale each row first."""
    out = _embedding_bag(input, weight, offsets, max_norm, norm_type, scale_grad_by_freq, mode, sparse,
                         per_sample_weights, include_last_offset, padding_idx)
    # PyTorch's node saves the weight for per_sample_weights' gradient only
    psw = per_sample_weights
    weight_saved = weight if psw is not None and psw.requires_grad else None
    return as_one_node(out, "EmbeddingBagBackward0", "embedding_bag", (input, offsets, psw, weight_saved))


def _embedding_bag(input, weight, offsets, max_norm, norm_type, scale_grad_by_freq, mode, sparse, per_sample_weights,
                   include_last_offset, padding_idx):
    fn = "embedding_bag"
    _tensor_arg(input, fn, "input")
    _tensor_arg(weight, fn, "weight")
    if weight.dim() != 2:
        raise RuntimeError(f"{fn}: 'weight' must be 2-D, got shape {list(weight.shape)}")
    if mode not in _BAG_MODES:
        raise ValueError(f"{fn}: mode has to be one of sum, mean or max, got {mode!r}")
    if sparse:
        raise NotImplementedError(f"{fn}: sparse=True is not supported (ag has no sparse tensors)")
    if scale_grad_by_freq and mode == "max":
        raise ValueError(f"{fn}: max mode does not support scaling the gradient by the frequency")
    if per_sample_weights is not None:
        _tensor_arg(per_sample_weights, fn, "per_sample_weights")
        if mode != "sum":
            raise NotImplementedError(f"{fn}: per_sample_weights was not None. per_sample_weights is only supported "
                                      f"for mode='sum' (got mode='{mode}'). Please open a feature request on GitHub.")
        if per_sample_weights.shape != input.shape:
            raise ValueError(f"{fn}: If per_sample_weights ({list(per_sample_weights.shape)}) is not None, then it "
                             f"must have the same shape as the input ({list(input.shape)})")
        _same_device(fn, input, per_sample_weights, "input", "per_sample_weights")
        if per_sample_weights.dtype is not weight.dtype:
            raise RuntimeError(f"{fn}: expected per_sample_weights of dtype {weight.dtype.libtorch}, got "
                               f"{per_sample_weights.dtype.libtorch}")
    flat, bounds = _bag_offsets(input, offsets, include_last_offset)
    n_rows = weight.shape[0]
    if flat.dtype not in (_dtype.int64, _dtype.int32):
        raise RuntimeError(f"{fn}: Expected tensor for argument #1 'indices' to have one of the following scalar "
                           f"types: Long, Int; but got {flat.dtype.libtorch} instead")
    if flat.numel():
        lo, hi = int(flat.min()), int(flat.max())
        if lo < 0 or hi >= n_rows:
            raise RuntimeError(f"{fn}: index {lo if lo < 0 else hi} is not in the valid range [0, {n_rows})")
    _same_device(fn, input, weight, "input", "weight")
    padding_idx = _padding_idx(fn, padding_idx, n_rows)
    idx = flat.long()
    if max_norm is not None:
        _renorm_rows(weight, idx, max_norm, norm_type)
    rows = weight.index_select(0, idx)
    if scale_grad_by_freq and idx.numel():
        freq = idx.bincount(minlength=n_rows).index_select(0, idx).to(rows.dtype).unsqueeze(1)
        rows = _RowGrad.apply(rows, 1 / freq, None)
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1, 1)
    pos, valid = _bag_layout(bounds)
    keep = tensor(valid, device=weight.device)
    if padding_idx is not None:
        keep = keep & (idx.index_select(0, tensor(pos.reshape(-1), device=weight.device)).reshape(pos.shape)
                       != padding_idx)
    bags, width = pos.shape
    if bags == 0 or width == 0:
        return weight.new_zeros((bags, weight.shape[1])) + 0 * weight.sum()
    if padding_idx is None and valid.all():
        # bags of one length laid end to end (a 2-D input, evenly spaced offsets): the rows are the table
        table = rows.reshape(bags, width, -1)
        return table.max(1)[0] if mode == "max" else table.sum(1) if mode == "sum" else table.sum(1) / width
    table = rows.index_select(0, tensor(pos.reshape(-1), device=weight.device)).reshape(bags, width, -1)
    mask = keep.unsqueeze(-1)
    if mode == "max":
        best = where(mask, table, -math.inf).max(1)[0]
        return where(keep.any(1, keepdim=True), best, 0.0)
    total = where(mask, table, 0.0).sum(1)
    if mode == "sum":
        return total
    count = keep.sum(1, keepdim=True).clamp(min=1).to(total.dtype)
    return total / count


def one_hot(tensor, num_classes=-1):
    """int64 tensor of shape tensor.shape + (num_classes,), 1 at each class
    index; num_classes=-1 takes max + 1."""
    _tensor_arg(tensor, "one_hot", "tensor")
    if tensor.dtype is not _dtype.int64:
        raise RuntimeError(f"one_hot: one_hot is only applicable to index tensor of type LongTensor, got "
                           f"{tensor.dtype.libtorch}")
    if not isinstance(num_classes, numbers.Integral) or isinstance(num_classes, bool):
        raise TypeError(f"one_hot(): argument 'num_classes' must be int, not {type(num_classes).__name__}")
    if tensor.numel() == 0:
        if num_classes == -1:
            raise RuntimeError("one_hot: Can not infer total number of classes from empty tensor.")
        lo = hi = 0
    else:
        lo, hi = int(tensor.min()), int(tensor.max())
    if lo < 0:
        raise RuntimeError(f"one_hot: Class values must be non-negative (got {lo}).")
    if num_classes == -1:
        num_classes = hi + 1
    elif hi >= num_classes or num_classes < 0:
        raise RuntimeError(f"one_hot: Class values must be smaller than num_classes (got class {hi}, "
                           f"num_classes={num_classes}).")
    classes = arange(num_classes, device=tensor.device)
    return (tensor.unsqueeze(-1) == classes).long()


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(||input||_p over dim, eps)."""
    _tensor_arg(input, "normalize", "input")
    if out is not None:
        raise NotImplementedError("normalize: the out= argument is not supported")
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps)
    return input / denom.expand_as(input)


# ---- pad ------------------------------------------------------------------------------------------------

_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _check_pad(input, pad, mode, value):
    try:
        pad = [int(v) for v in pad]
    except TypeError:
        raise TypeError(f"pad(): argument 'pad' must be a sequence of ints, not {type(pad).__name__}") from None
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"pad: Unrecognised padding mode {mode}")
    if len(pad) % 2:
        raise RuntimeError(f"pad: Padding length must be divisible by 2, got {len(pad)}")
    if len(pad) // 2 > input.dim():
        raise RuntimeError(f"pad: Padding length should be less than or equal to two times the input dimension "
                           f"but got padding length {len(pad)} and input of dimension {input.dim()}")
    if mode == "constant":
        for i in range(len(pad) // 2):
            d = input.dim() - 1 - i
            left, right, size = pad[2 * i], pad[2 * i + 1], input.shape[d]
            if max(-left, 0) + max(-right, 0) > size:
                raise RuntimeError(f"pad: padding ({left}, {right}) crops dimension {d} of size {size} to a "
                                   "negative length")
        return pad
    if value is not None:
        raise RuntimeError(f'pad: Padding mode "{mode}" doesn\'t take in value argument.')
    k = len(pad) // 2
    if k not in (1, 2, 3) or input.dim() not in (k + 1, k + 2):
        raise NotImplementedError(
            f"pad: Padding size {len(pad)} is not supported for {input.dim()}D input tensor.\nSupported "
            "combinations for non-constant padding:\n  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    for i in range(k):
        d = input.dim() - 1 - i
        left, right, size = pad[2 * i], pad[2 * i + 1], input.shape[d]
        if mode == "reflect" and (left >= size or right >= size):
            raise RuntimeError(f"pad: Argument #4: Padding size should be less than the corresponding input "
                               f"dimension, but got: padding ({left}, {right}) at dimension {d} of input "
                               f"{list(input.shape)}")
        if mode == "circular" and (left > size or right > size):
            raise RuntimeError(f"pad: Padding value causes wrapping around more than once (padding ({left}, "
                               f"{right}) at dimension {d} of input {list(input.shape)}).")
        if size == 0 or size + left + right < 0:
            raise RuntimeError(f"pad: cannot pad dimension {d} of size {size} by ({left}, {right}) in "
                               f"{mode} mode")
    return pad


def _source_rows(mode, size, left, right):
    """For each output position along a dim, the input position it copies."""
    if mode == "circular":            # PyTorch crops first (negative amounts), then wraps what is left
        lo, hi = max(-left, 0), size - max(-right, 0)
        return lo + np.arange(-max(left, 0), hi - lo + max(right, 0)) % (hi - lo)
    i = np.arange(-left, size + right)
    if mode == "replicate":
        return np.clip(i, 0, size - 1)
    i = np.abs(i)                                         # reflect: mirror at both ends, edges not repeated
    return np.where(i > size - 1, 2 * (size - 1) - i, i)


def pad(input, pad, mode="constant", value=None):
    """Pad (or, with negative amounts, crop) the last len(pad)//2 dims:
    pad = (last_left, last_right, second_last_left, ...). mode "constant"
    fills with value (0 by default); "reflect", "replicate" and "circular"
    copy from the input."""
    _tensor_arg(input, "pad", "input")
    amounts = _check_pad(input, pad, mode, value)
    if mode == "constant":
        return ConstantPadNd.apply1(input, tuple(amounts), _pad_value(input, value))
    if mode != "circular" and min(amounts) >= 0:
        return EdgePad.apply1(input, mode, tuple(amounts))
    return _pad_by_rows(input, mode, amounts)


def _pad_by_rows(input, mode, amounts):
    """Non-constant padding as index_select of the source rows, one dim at a time (any amounts, CuPy)."""
    for i in range(len(amounts) // 2):
        d = input.dim() - 1 - i
        rows = tensor(_source_rows(mode, input.shape[d], amounts[2 * i], amounts[2 * i + 1]), device=input.device)
        input = input.index_select(d, rows)
    return input


class EdgePad(Op):
    """reflect / replicate padding by amounts >= 0, as PyTorch's one node (its
    ReflectionPad{k}DBackward0, ReplicationPad{k}DBackward0): np.pad forward (cupy.pad on the GPU, by
    NumPy's dispatch); backward the interior of the gradient plus its borders added back where they
    were read from (mirrored, or summed onto the edge), one padded dim at a time; under create_graph
    the index_select composite is differentiated. (F.pad(x, (2, 2, 2, 2), "reflect") of
    (16, 32, 64, 64): 24.8 -> 5.6 ms.)"""
    op_name = "pad"

    def forward(self, x, mode, amounts):
        self.mode, self.amounts = mode, amounts
        k = len(amounts) // 2
        self._name = f"{'Reflection' if mode == 'reflect' else 'Replication'}Pad{k}DBackward0"
        widths = [(0, 0)] * (x.ndim - k) + [(amounts[2 * i], amounts[2 * i + 1]) for i in reversed(range(k))]
        return np.pad(x, widths, mode="reflect" if mode == "reflect" else "edge")

    def backward(self, g):
        amounts = self.amounts
        if type(g) is Tensor:
            from ..ops.tied import composite_gradients
            x = g.new_zeros(self._in_shape(g.shape)).requires_grad_()
            return composite_gradients(self, [x], lambda t: _pad_by_rows(t, self.mode, list(amounts)), (g,))[0]
        for i in range(len(amounts) // 2):
            g = self._fold_dim(g, g.ndim - 1 - i, amounts[2 * i], amounts[2 * i + 1])
        return g

    def _in_shape(self, shape):
        shape = list(shape)
        for i in range(len(self.amounts) // 2):
            shape[len(shape) - 1 - i] -= self.amounts[2 * i] + self.amounts[2 * i + 1]
        return tuple(shape)

    def _fold_dim(self, g, d, left, right):
        """g's interior along dim d with the borders added where they were copied from."""
        n = g.shape[d] - left - right
        at = lambda a, b: (slice(None),) * d + (slice(a, b),)           # noqa: E731
        gi = g[at(left, left + n)].copy()
        if self.mode == "reflect":      # border j (of `left`) read input left - j; right border j read n - 2 - j
            if left:
                gi[at(1, left + 1)] += np.flip(g[at(0, left)], d)
            if right:
                gi[at(n - 1 - right, n - 1)] += np.flip(g[at(left + n, None)], d)
        else:                           # replicate: every border element read the edge
            if left:
                gi[at(0, 1)] += g[at(0, left)].sum(axis=d, keepdims=True)
            if right:
                gi[at(n - 1, n)] += g[at(left + n, None)].sum(axis=d, keepdims=True)
        return gi


def _pad_value(input, value):
    """The fill of a constant pad, as input's dtype holds it (PyTorch refuses what overflows it, and a
    negative value for an unsigned type, which fill_ would wrap)."""
    npd = input._data.dtype
    value = 0 if value is None else value
    if npd.kind == "u" and not isinstance(value, bool) and value < 0:
        raise RuntimeError(f"pad: value {value} cannot be converted to type {npd} without overflow")
    return check_fits(value, npd, "pad")
