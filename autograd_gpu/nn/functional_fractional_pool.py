"""The functional forms of fractional max pooling (F.fractional_max_pool2d, fractional_max_pool3d, _with_indices).

Each (batch, channel) plane takes one random sample u per spatial dim; window i
along a dim of n inputs pooled to o outputs with kernel k starts at
int((i + u) * a) - int(u * a), a = (n - k) / (o - 1), the last at n - k:
PyTorch's CPU kernel, computed in the input's dtype as it is (so the same
samples give the same windows, float16 rounding included). The maximum of each
window is then gathered from the input, so its gradient goes to the maximum's
position, to any order."""
import math
import numbers

import numpy as np

from ..autograd.grad_mode import is_grad_enabled
from ..creation import rand
from ..ops.tied import as_one_node
from ..tensor import Tensor
from .functional import _same_device, _tensor_arg
from .functional_conv import _window_argmax
from ..amp import cast_at_entry

__all__ = ["fractional_max_pool2d", "fractional_max_pool3d",
           "fractional_max_pool2d_with_indices", "fractional_max_pool3d_with_indices"]


# ---- arguments ------------------------------------------------------------------------

def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _sizes_arg(fn, v, nd, name):
    """kernel_size / output_size: an int or nd ints (a 1-element list is refused, as PyTorch's)."""
    if _is_int(v):
        return (int(v),) * nd
    if isinstance(v, (tuple, list)) and all(_is_int(e) for e in v):
        if len(v) != nd:
            raise RuntimeError(f"{fn}: {name} must either be a single Int or tuple of Ints, got {name}={list(v)}")
        return tuple(int(e) for e in v)
    raise TypeError(f"{fn}(): argument '{name}' must be tuple of ints, not {type(v).__name__}")


def _output_size(fn, input, nd, output_size, output_ratio):
    """output_size, or the input's sizes times output_ratio (truncated, as PyTorch's int())."""
    if output_size is not None:
        return output_size
    if output_ratio is None:
        raise ValueError(f"{fn} requires specifying either an output_size or an output_ratio")
    ratio = (output_ratio,) * nd if isinstance(output_ratio, numbers.Real) else tuple(output_ratio)
    if len(ratio) > nd:
        raise ValueError(f"{fn} requires output_ratio to either be a single Int or tuple of Ints, "
                         f"got output_ratio={output_ratio}")
    if len(ratio) < nd:         # (PyTorch's reads a ratio the tuple lacks)
        raise IndexError(f"{fn}(): output_ratio has {len(ratio)} values, expected {nd}")
    _need_dims(fn, input, nd, nd)
    return [int(input.shape[input.dim() - nd + d] * r) for d, r in enumerate(ratio)]


def _need_dims(fn, input, nd, least):
    """PyTorch's Python side reads dim -least (the ratio's sizes, the channels for the samples) before its
    kernel checks the input: IndexError."""
    if input.dim() < least:
        raise IndexError(f"{fn}(): Dimension out of range: expected {nd + 1}D (unbatched) or {nd + 2}D (batched) "
                         f"input, but got input of size: {list(input.shape)}")


def _check_input(fn, input, nd, kernel, out):
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{fn}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: {list(input.shape)}")
    for d in range(1, input.dim()):
        if input.shape[d] == 0:
            raise RuntimeError(f"{fn}(): Expected input to have non-zero size for non-batch dimensions, but got "
                               f"{list(input.shape)} with dimension {d} being empty.")
    if any(k < 1 for k in kernel):      # (PyTorch's kernel pools empty windows into -inf)
        raise RuntimeError(f"{fn}(): kernel_size must be greater than zero, but got kernel_size={list(kernel)}")
    if any(o < 0 for o in out):
        raise RuntimeError(f"{fn}(): output_size must be non-negative, but got output_size={list(out)}")
    sizes = input.shape[input.dim() - nd:]
    # (PyTorch's 3-d kernel wants one input element to spare: its check is strict)
    room = 0 if nd == 2 else 1
    for what, n, k, o in zip(("time", "height", "width")[3 - nd:], sizes, kernel, out):
        if o + k - 1 > n - room:
            raise RuntimeError(f"{fn}(): pool {what} {k} too large relative to input {what} {n} "
                               f"(output_size={list(out)})")


def _check_samples(fn, input, samples, nd, batch):
    _tensor_arg(samples, fn, "_random_samples")
    if samples.requires_grad and is_grad_enabled():
        raise RuntimeError(f"The function '{fn}' is not differentiable with respect to argument 'random_samples'. "
                           "This input cannot have requires_grad True.")
    _same_device(fn, input, samples, "input", "_random_samples")
    if samples.dtype is not input.dtype:
        raise RuntimeError(f"{fn}(): Expect _random_samples to have the same dtype as input "
                           f"({input.dtype.libtorch}), got {samples.dtype.libtorch}")
    if samples.dim() != 3:
        raise RuntimeError(f"{fn}(): Expect _random_samples to have 3 dimensions, got {samples.dim()} "
                           f"(size {list(samples.shape)})")
    n, c, k = samples.shape
    if n < batch:
        raise RuntimeError(f"{fn}(): Expect _random_samples.size(0) no less than input batch size {batch}, "
                           f"got _random_samples of size {list(samples.shape)}")
    if c != input.shape[-nd - 1]:
        raise RuntimeError(f"{fn}(): Expect _random_samples.size(1) equals to input channel size "
                           f"{input.shape[-nd - 1]}, got _random_samples of size {list(samples.shape)}")
    if k != nd:
        raise RuntimeError(f"{fn}(): Expect _random_samples.size(2) equals to {nd}; got {k}.")


# ---- windows --------------------------------------------------------------------------

def _window_starts(u, n, o, k, xp):
    """PyTorch's interval sequence for samples u (an array of the input's
    dtype): (..., o) int64 window starts, computed in u's dtype."""
    starts = xp.full(u.shape + (o,), n - k, dtype=np.int64)
    if o > 1:
        alpha = xp.asarray(n - k, dtype=u.dtype) / xp.asarray(o - 1, dtype=u.dtype)
        i = xp.arange(o - 1).astype(u.dtype)
        with np.errstate(invalid="ignore"):         # (a NaN sample truncates as C's cast does: all windows at 0)
            first = ((i + u[..., None]) * alpha).astype(np.int64)
            shift = (u * alpha).astype(np.int64)[..., None]
        # (any finite sample keeps the windows inside; the clip guards huge ones)
        starts[..., :-1] = xp.clip(first - shift, 0, n - k)
    return starts


def _window_positions(samples, sizes, kernel, out, xp):
    """(N, C, prod(out), prod(kernel)) flat input positions of every window's elements."""
    flat, nd = 0, len(sizes)
    for d, (n, k, o) in enumerate(zip(sizes, kernel, out)):
        pos = _window_starts(samples[..., d], n, o, k, xp)[..., None] + xp.arange(k)    # (N, C, o, k)
        shape = [pos.shape[0], pos.shape[1]] + [1] * (2 * nd)
        shape[2 + d], shape[2 + nd + d] = o, k
        flat = flat * n + pos.reshape(shape)
    n_planes = samples.shape[:2]
    return xp.ascontiguousarray(xp.broadcast_to(flat, n_planes + tuple(out) + tuple(kernel))).reshape(
        *n_planes, math.prod(out), math.prod(kernel))


def _checked_sizes(fn, nd, input, kernel_size, output_size, output_ratio, samples):
    """(kernel, output size) after PyTorch's checks, in its order: its Python side's, then its kernel's."""
    _tensor_arg(input, fn, "input")
    out = _output_size(fn, input, nd, output_size, output_ratio)
    if samples is None:
        _need_dims(fn, input, nd, nd + 1)
    kernel = _sizes_arg(fn, kernel_size, nd, "kernel_size")
    out = _sizes_arg(fn, out, nd, "output_size")
    integral = input._data.dtype.kind != "f"
    if integral and samples is None:    # (PyTorch's draw of the samples refuses the dtype first)
        raise NotImplementedError(f"{fn}(): \"{fn}\" not implemented for '{input.dtype.libtorch}'")
    _check_input(fn, input, nd, kernel, out)
    if samples is not None:
        _check_samples(fn, input, samples, nd, input.shape[0] if input.dim() == nd + 2 else 1)
    if integral:
        raise NotImplementedError(f"{fn}(): \"{fn}\" not implemented for '{input.dtype.libtorch}'")
    return kernel, out


def _pool(x, samples, kernel, out):
    """Maxima (a Tensor, gathered from x so the gradient reaches them) and their flat positions
    of the windows of x (N, C, *sizes) that samples (an array (N, C, nd)) give."""
    n, c, sizes = x.shape[0], x.shape[1], tuple(x.shape[2:])
    xp = x._backend.xp
    positions = _window_positions(samples, sizes, kernel, out, xp)
    flat = x.reshape(n, c, math.prod(sizes))
    n_out = math.prod(out)
    window_values = xp.take_along_axis(flat._data, positions.reshape(n, c, n_out * math.prod(kernel)),
                                       axis=2).reshape(positions.shape)
    # (the first of equal maxima, the last NaN: PyTorch's kernel's rule)
    place = _window_argmax(Tensor._make(window_values, x._backend), xp)
    idx = xp.take_along_axis(positions, place[..., None], axis=-1).reshape(n, c, n_out)
    idx = Tensor._make(xp.ascontiguousarray(idx), x._backend)
    return flat.gather(2, idx).reshape(n, c, *out), idx.reshape(n, c, *out)


def _fractional_max_pool(fn, nd, input, kernel_size, output_size, output_ratio, return_indices, _random_samples):
    kernel, out = _checked_sizes(fn, nd, input, kernel_size, output_size, output_ratio, _random_samples)
    batched = input.dim() == nd + 2
    x = input if batched else input.unsqueeze(0)
    if _random_samples is None:
        _random_samples = rand(x.shape[0], x.shape[1], nd, dtype=input.dtype, device=input.device)
    # the samples' order per plane: (W, H) for 2-d, (T, H, W) for 3-d, as PyTorch's kernels read them
    samples = _random_samples._data[:x.shape[0]][..., [1, 0] if nd == 2 else [0, 1, 2]]
    vals, idx = _pool(x, samples, kernel, out)
    if not batched:
        vals, idx = vals.squeeze(0), idx.squeeze(0)
    vals = as_one_node(vals, f"FractionalMaxPool{nd}DBackward0", f"fractional_max_pool{nd}d", (input,))
    return (vals, idx) if return_indices else vals


@cast_at_entry
def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """Max pooling of (N, C, H, W) or (C, H, W) over kH x kW windows at pseudo-random
    starts giving output_size (or the input's size times output_ratio); the windows
    come from _random_samples (N, C, 2) in [0, 1) (index 0 for W, 1 for H, as
    PyTorch's), drawn from the library's generator when not given. With
    return_indices also each maximum's position in the flattened (H * W) plane."""
    return _fractional_max_pool("fractional_max_pool2d", 2, input, kernel_size, output_size, output_ratio,
                                return_indices, _random_samples)


@cast_at_entry
def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """fractional_max_pool2d over the last three dims of (N, C, T, H, W) or
    (C, T, H, W); _random_samples is (N, C, 3)."""
    return _fractional_max_pool("fractional_max_pool3d", 3, input, kernel_size, output_size, output_ratio,
                                return_indices, _random_samples)


# PyTorch's forms that always return (values, indices); return_indices is ignored, as there
def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    return _fractional_max_pool("fractional_max_pool2d", 2, input, kernel_size, output_size, output_ratio, True,
                                _random_samples)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    return _fractional_max_pool("fractional_max_pool3d", 3, input, kernel_size, output_size, output_ratio, True,
                                _random_samples)
