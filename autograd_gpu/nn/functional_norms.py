"""Stateless normalization: group_norm, instance_norm, rms_norm, local_response_norm (torch.nn.functional's).

Composed of public Tensor ops, so gradients of any order and the CUDA path come
with them. float16 data is normalised in float32 and rounded once, as
PyTorch's CPU kernels accumulate. Every argument is checked before anything
is computed or written (instance_norm's running statistics)."""
import math
import numbers

import numpy as np

from .. import _dtype
from ..autograd.grad_mode import is_grad_enabled, no_grad
from ..creation import tensor
from ..ops.normalization import NativeGroupNorm, one_node_norm
from ..ops.tied import as_one_node
from ..ops.windows import make_geometry, windows
from .functional import _same_device, _tensor_arg
from .functional_layers import _affine, _check_dtypes, _normalized_shape, _stats, _standardize, _wide
from ..amp import cast_at_entry

__all__ = ["group_norm", "instance_norm", "rms_norm", "local_response_norm"]


# ---- argument checks ------------------------------------------------------------------------------

def _int_arg(fn, name, value):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{fn}(): argument '{name}' must be int, not {type(value).__name__}")
    return int(value)


def _require_floating(fn, input, kernel):
    """PyTorch's kernels are not instantiated for integer data: NotImplementedError, as theirs."""
    if not input.is_floating_point():
        raise NotImplementedError(f"{fn}: \"{kernel}\" not implemented for '{input.dtype.libtorch}'")


def _check_channel_vector(fn, name, t, input, c):
    """An optional per-channel operand: a 1-D Tensor of c elements on input's device."""
    if t is None:
        return
    _tensor_arg(t, fn, name)
    if t.dim() != 1 or t.shape[0] != c:
        raise RuntimeError(f"{fn}: expected {name} to be a vector of size equal to the number of channels in "
                           f"input ({c}), but got {name} of shape {list(t.shape)} and input of shape "
                           f"{list(input.shape)}")
    _same_device(fn, input, t, "input", name)


def _spatial_numel(input):
    return math.prod(input.shape[2:])


# ---- group_norm ---------------------------------------------------------------------------------------

def _check_group_norm(input, num_groups, weight, bias):
    fn = "group_norm"
    _tensor_arg(input, fn, "input")
    if input.dim() < 2:
        raise RuntimeError(f"{fn}: Expected at least 2 dimensions for input tensor but received {input.dim()}")
    num_groups = _int_arg(fn, "num_groups", num_groups)
    if num_groups == 0:     # PyTorch's Python wrapper divides by it first
        raise ZeroDivisionError(f"{fn}: integer division or modulo by zero (num_groups=0)")
    if num_groups < 0:
        raise RuntimeError(f"{fn}: Expected num groups to be greater than 0, got {num_groups}")
    n, c = input.shape[:2]
    if c % num_groups:
        raise RuntimeError(f"{fn}: Expected number of channels in input to be divisible by num_groups, but got "
                           f"input of shape {list(input.shape)} and num_groups={num_groups}")
    # PyTorch's _verify_batch_size on [N * C // G, G, *spatial]
    if n * c // num_groups * _spatial_numel(input) == 1:
        raise ValueError(f"{fn}: Expected more than 1 value per channel when training, got input size "
                         f"{[n * c // num_groups, num_groups] + list(input.shape[2:])}")
    _require_floating(fn, input, "GroupNormKernelImpl")
    for name, t in (("weight", weight), ("bias", bias)):
        _check_channel_vector(fn, name, t, input, c)
    _check_dtypes(fn, input, (("weight", weight), ("bias", bias)))
    return num_groups


@cast_at_entry
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise each of num_groups groups of channels of every sample of
    input (N, C, *) by its mean and biased variance, then scale by weight
    and shift by bias (one value per channel)."""
    num_groups = _check_group_norm(input, num_groups, weight, bias)
    n, c = input.shape[:2]
    rows_shape = (n, num_groups, c // num_groups * _spatial_numel(input))
    affine_shape = (1, c) + (1,) * (input.dim() - 2)
    out = one_node_norm(NativeGroupNorm, input, weight, bias, rows_shape, (2,), eps, affine_shape)
    if out is not None:
        return out
    grouped = input.reshape(rows_shape)
    xs, mean, var = _stats(grouped, (2,))
    out = _standardize(xs, mean, var, eps).reshape(input.shape)
    # (PyTorch's bias gradient is a function of g alone)
    return as_one_node(_affine(out, weight, bias, affine_shape, input.dtype),
                       "NativeGroupNormBackward0", "native_group_norm", (input, weight), tie=False)


# ---- instance_norm ---------------------------------------------------------------------------------------

def _check_instance_norm(fn, input, running_mean, running_var, weight, bias, use_input_stats, momentum):
    _tensor_arg(input, fn, "input")
    if use_input_stats and _spatial_numel(input) == 1:
        raise ValueError(f"{fn}: Expected more than 1 spatial element when training, got input size "
                         f"{list(input.shape)}")
    if not use_input_stats and (running_mean is None or running_var is None):
        raise RuntimeError(f"{fn}: Expected running_mean and running_var to be defined when use_input_stats is "
                           "false")
    if input.dim() < 2:
        raise IndexError(f"{fn}: Dimension out of range: expected input of shape (N, C, *), got "
                         f"{list(input.shape)}")
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{fn}: running_mean and running_var must either both be None or neither be None")
    if not isinstance(momentum, numbers.Real) or isinstance(momentum, bool):
        raise TypeError(f"{fn}(): argument 'momentum' must be float, not {type(momentum).__name__}")
    _require_floating(fn, input, "batch_norm")
    c = input.shape[1]
    stats = (("running_mean", running_mean), ("running_var", running_var))
    for name, t in stats + (("weight", weight), ("bias", bias)):
        _check_channel_vector(fn, name, t, input, c)
    _check_dtypes(fn, input, (("weight", weight), ("bias", bias)))
    for name, t in stats:
        if t is not None and not t.is_floating_point():
            raise RuntimeError(f"{fn}: {name} must be floating point, got {t.dtype.libtorch}")
        if t is not None and t.requires_grad and is_grad_enabled():
            raise RuntimeError(f"{fn}: The function 'native_batch_norm' is not differentiable with respect to "
                               f"argument '{name}'. This input cannot have requires_grad True.")


def _update_running_stats(input, running_mean, running_var, mean, var, momentum):
    """PyTorch updates one copy of the running statistics per sample (unbiased
    variance) and keeps their average."""
    n, c = input.shape[:2]
    count = _spatial_numel(input)
    with no_grad():
        if n == 0:          # the average of no copies
            running_mean.fill_(math.nan)
            running_var.fill_(math.nan)
            return
        if count == 0 or c == 0:        # an empty batch leaves the copies as they were
            return
        sample_mean = mean.reshape(n, c).mean(0)
        sample_var = (var.reshape(n, c) * (count / (count - 1))).mean(0)
        running_mean.copy_(running_mean * (1 - momentum) + sample_mean.to(running_mean.dtype) * momentum)
        running_var.copy_(running_var * (1 - momentum) + sample_var.to(running_var.dtype) * momentum)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Normalise each channel of each sample of input (N, C, *) over its
    spatial dims: by its own mean and biased variance (use_input_stats; the
    running statistics, if given, move towards the samples' average mean and
    unbiased variance by momentum), or by running_mean and running_var.
    Then scale by weight and shift by bias (one value per channel)."""
    return _instance_norm("instance_norm", input, running_mean, running_var, weight, bias, use_input_stats,
                          momentum, eps)


def _instance_norm(fn, input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps):
    """instance_norm, its errors naming fn (the InstanceNorm modules pass their names)."""
    _check_instance_norm(fn, input, running_mean, running_var, weight, bias, use_input_stats, momentum)
    shape = (1, input.shape[1]) + (1,) * (input.dim() - 2)
    if use_input_stats:
        xs, mean, var = _stats(input, tuple(range(2, input.dim())))
        if running_mean is not None:
            _update_running_stats(input, running_mean, running_var, mean, var, momentum)
    else:
        xs = _wide(input)
        mean, var = running_mean.reshape(shape).to(xs.dtype), running_var.reshape(shape).to(xs.dtype)
    if weight is not None:      # (PyTorch's batch_norm gets the weight repeated per sample: a copy, saved)
        weight = weight.clone()
    out = _affine(_standardize(xs, mean, var, eps), weight, bias, shape, input.dtype)
    # PyTorch's: batch_norm of the input viewed as one sample of N * C channels, viewed back
    flat = (1, input.shape[0] * input.shape[1]) + tuple(input.shape[2:])
    x = input.reshape(flat)
    return as_one_node(out.reshape(flat), "NativeBatchNormBackward0", "native_batch_norm", (x, weight),
                       undefined=() if use_input_stats else (x,)).view(input.shape)


# ---- rms_norm ---------------------------------------------------------------------------------------------

def _check_rms_norm(input, normalized_shape, weight):
    fn = "rms_norm"
    _tensor_arg(input, fn, "input")
    if input.dim() == 0:
        raise ValueError(f"{fn}: Input tensor must have at least 1 dimensions, but got 0")
    shape = _normalized_shape(fn, normalized_shape)
    if not shape:
        raise RuntimeError(f"{fn}: Expected normalized_shape to be at least 1-dimensional, i.e., containing at "
                           "least one element, but got normalized_shape = []")
    n = len(shape)
    if input.dim() < n or tuple(input.shape[-n:]) != shape:
        raise RuntimeError(f"{fn}: Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size{list(input.shape)}")
    _require_floating(fn, input, "rms_norm")
    if weight is not None:
        _tensor_arg(weight, fn, "weight")
        if tuple(weight.shape) != shape:
            raise RuntimeError(f"{fn}: Expected weight to be of same shape as normalized_shape, but got weight of "
                               f"shape {list(weight.shape)} and normalized_shape = {list(shape)}")
        _same_device(fn, input, weight, "input", "weight")
    return shape


def _rms_eps(eps, dtype):
    """PyTorch's default: the epsilon of the type it computes in (float32 for float16)."""
    if eps is None:
        return float(np.finfo(np.float32 if dtype is _dtype.float16 else dtype.np).eps)
    return eps


@cast_at_entry
def rms_norm(input, normalized_shape, weight=None, eps=None):
    """input / sqrt(mean(input ** 2) + eps) over the last len(normalized_shape)
    dims, times weight (of normalized_shape); the result has input's dtype.
    eps=None: the machine epsilon of the computing type."""
    shape = _check_rms_norm(input, normalized_shape, weight)
    xs = _wide(input)
    dims = tuple(range(-len(shape), 0))
    rms = (xs.square().mean(dims, keepdim=True) + _rms_eps(eps, input.dtype)).rsqrt()
    out = (xs * rms).to(input.dtype)
    if weight is not None:
        # as PyTorch: the product in the promoted type, rounded back to the input's
        out = (out * weight).to(input.dtype)
    return out


# ---- local response norm -----------------------------------------------------------------------------------

def _channel_window_sums(x, lo, hi, size):
    """Along dim 1: each position's sum of x over [c - lo, c + hi], zeros outside."""
    last = x.movedim(1, -1)
    geo = make_geometry((last.shape[-1],), (size,), (1,), (lo,), (hi,), (1,))
    return windows(last, geo).sum(-2).movedim(-1, 1)


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """input / (k + alpha * mean of input ** 2 over a window of `size`
    channels) ** beta; the window runs from size // 2 channels before to
    (size - 1) // 2 after, zeros past the edges counting in the mean."""
    fn = "local_response_norm"
    _tensor_arg(input, fn, "input")
    if input.dim() < 3:
        raise ValueError(f"{fn}: Expected 3D or higher dimensionality input (got {input.dim()} dimensions)")
    if input.numel() == 0:          # before size is looked at, as in PyTorch
        return input
    size = _int_arg(fn, "size", size)
    if size <= 0:
        raise RuntimeError(f"{fn}: kernel size should be greater than zero, but got size {size}")
    xs = _wide(input)
    sums = _channel_window_sums(xs * xs, size // 2, (size - 1) // 2, size)
    # PyTorch averages integer squares with an integer pool: the mean rounds down
    mean = sums / size if xs.is_floating_point() else sums // size
    div = (mean * alpha + k) ** beta
    out = xs / div
    return out.to(input.dtype) if input.is_floating_point() else out


def _cross_map_window(channels, size):
    """The channels each output channel of PyTorch's CrossMapLRN2d sums: a
    (channels, channels) matrix from replaying its running-sum loop, which
    keeps channel 0 in every window past the first pre_pad ones (PyTorch's
    result, reproduced as is)."""
    pre_pad = int((size - 1) / 2 + 1)
    m = np.zeros((channels, channels))
    m[0, :min(pre_pad, channels)] = 1
    for c in range(1, channels):
        m[c] = m[c - 1]
        if c < channels - pre_pad + 1:
            m[c, c + pre_pad - 1] += 1
        if c > pre_pad:
            m[c, c - pre_pad] -= 1
    return m


def _cross_map_lrn2d(input, size, alpha, beta, k):
    """torch.nn.CrossMapLRN2d's forward on (N, C, H, W) input; its gradient
    is this forward's (PyTorch's hand-written backward is not)."""
    fn = "CrossMapLRN2d"
    _tensor_arg(input, fn, "input")
    if input.dim() != 4:
        raise ValueError(f"{fn}: Expected input to be 4D, got {input.dim()}D instead.")
    size = _int_arg(fn, "size", size)
    if size == 0:
        raise ZeroDivisionError(f"{fn}: float division by zero (size=0)")
    if input.shape[1] == 0:
        raise IndexError(f"{fn}: select(): index 0 out of range for tensor of size {list(input.shape)} at "
                         "dimension 1")
    _require_floating(fn, input, "cross_map_lrn2d")
    xs = _wide(input)
    window = tensor(_cross_map_window(input.shape[1], size), dtype=xs.dtype, device=input.device)
    scale = ((xs * xs).movedim(1, -1) @ window.t()).movedim(-1, 1) * (alpha / size) + k
    return (xs * scale ** -beta).to(input.dtype)
