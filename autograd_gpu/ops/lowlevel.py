"""PyTorch's remaining top-level functions: low-level and legacy forms.

Numerics (vander, gradient, the legacy norms, histogramdd, segment_reduce,
nonzero_static, empty_permuted, frombuffer, slice_inverse), the nn internals
torch exposes at the top level (native_*_norm, native_dropout, the SyncBatchNorm
pieces batch_norm_*, convolution, embedding_bag's 4-tuple, embedding_renorm_,
the flat-weight RNNs and their cells), the deprecated linear algebra (lu,
lu_solve, the randomized svd_lowrank / pca_lowrank, and the removed names, which
raise as PyTorch's do), eager cond / while_loop, and the process-wide switches
(warn_always, float32 matmul precision, flush_denormal, deterministic debug
mode). Everything differentiable is composed of the public differentiable ops,
so gradients of any order and the CUDA path come with them."""
import collections
import functools
import importlib
import math
import warnings

import numpy as np

from .. import _dtype
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from ._util import wrap_dim
from .tied import as_one_node

_PKG = __package__.rsplit(".", 1)[0]


def _ag():
    """The package (imported lazily: this module loads while it initialises)."""
    return importlib.import_module(_PKG)


def _F():
    return importlib.import_module(_PKG + ".nn.functional")


def _tensor(x, fn, arg="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' must be Tensor, not {type(x).__name__}")
    return x


def _is_float(t):
    return t.dtype.is_floating_point


# ---- process-wide switches ---------------------------------------------------------------------

_switches = {"warn_always": False, "matmul_precision": "highest"}
_warned = set()


def is_warn_always_enabled():
    """Whether warnings PyTorch gives once per process are given on every call."""
    return _switches["warn_always"]


def set_warn_always(b):
    if not isinstance(b, bool):
        raise RuntimeError(f"setWarnOnlyOnce expects a bool, but got {type(b).__name__}")
    _switches["warn_always"] = b


def _warn_once(key, message):
    """PyTorch's TORCH_WARN_ONCE: once per process unless set_warn_always(True)."""
    if _switches["warn_always"] or key not in _warned:
        _warned.add(key)
        warnings.warn(message, UserWarning, stacklevel=3)


def get_float32_matmul_precision():
    return _switches["matmul_precision"]


def set_float32_matmul_precision(precision):
    """Recorded for get_float32_matmul_precision (our matmuls always run in full
    float32). An unknown value warns and changes nothing, as PyTorch."""
    if not isinstance(precision, str):
        raise RuntimeError(f"set_float32_matmul_precision expects a str, but got {type(precision).__name__}")
    if precision not in ("highest", "high", "medium"):
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      f"set_float32_matmul_precision call has no effect.", UserWarning, stacklevel=2)
        return
    _switches["matmul_precision"] = precision


def set_flush_denormal(mode):
    """Whether the requested mode is in effect: NumPy and CuPy keep denormals, so
    set_flush_denormal(False) is True and set_flush_denormal(True) is False (PyTorch
    returns True for both on an x86 CPU with SSE3, and then flushes)."""
    if not isinstance(mode, bool):
        raise RuntimeError(f"flush_denormal expects a bool, but got {type(mode).__name__}")
    return not mode


_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def set_deterministic_debug_mode(debug_mode):
    """0/'default': off; 1/'warn': use_deterministic_algorithms(True, warn_only=True);
    2/'error': use_deterministic_algorithms(True). One state with those flags."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, `warn`, `error`, but got "
                               f"{debug_mode}")
        debug_mode = _DEBUG_MODES[debug_mode]
    elif isinstance(debug_mode, int) and not isinstance(debug_mode, bool):
        if debug_mode not in (0, 1, 2):
            raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    else:
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode)}")
    _ag().use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode():
    ag = _ag()
    if not ag.are_deterministic_algorithms_enabled():
        return 0
    return 1 if ag.is_deterministic_algorithms_warn_only_enabled() else 2


def init_num_threads():
    """Nothing to set up: NumPy's and CuPy's thread pools start themselves."""
    return None


def get_device(input):
    """-1 for a CPU tensor, the GPU index for a CUDA one."""
    return _tensor(input, "get_device").get_device()


def is_distributed(input):
    _tensor(input, "is_distributed")
    return False


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """ag.func.vmap."""
    return _ag().func.vmap(func, in_dims, out_dims, randomness, chunk_size=chunk_size)


# ---- numerics -----------------------------------------------------------------------------------

def vander(x, N=None, increasing=False):
    """Columns x**(N-1), ..., x**0 (increasing: x**0 first), as running products
    (PyTorch's formula, so x = 0 has finite gradients); integers give int64."""
    ag = _ag()
    _tensor(x, "vander", "x")
    if x.dim() != 1:
        raise RuntimeError(f"vander(): x must be a one-dimensional tensor, got {x.dim()} dimensions.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError(f"vander(): N must be non-negative, got {n}.")
    if not _is_float(x):
        x = x.to(ag.int64)
    ones = ag.ones((x.shape[0], 1), dtype=x.dtype, device=x.device)
    if n == 0:
        return ones[:, :0]
    powers = ones if n == 1 else ag.cat([ones, x.unsqueeze(1).expand(x.shape[0], n - 1)], 1).cumprod(1)
    return powers if increasing else powers.flip(1)


def _gradient_dims(input, dim):
    if dim is None:
        return list(range(input.dim())), False
    dims = [dim] if isinstance(dim, int) else list(dim)
    wrapped = [wrap_dim(d, input.dim(), "gradient") for d in dims]
    for i, d in enumerate(wrapped):
        if d in wrapped[:i]:
            raise RuntimeError(f"gradient(): dim {d} appears multiple times in the list of dims")
    return wrapped, True


def _gradient_spacings(input, spacing, dims, dim_given):
    """One spacing per dim: a number (uniform step) or a 1-D coordinate tensor."""
    if isinstance(spacing, Tensor):
        raise TypeError("gradient(): argument 'spacing' must be a number or a list of numbers or tensors, not Tensor")
    if not isinstance(spacing, (list, tuple)):
        return [spacing] * len(dims)
    if len(spacing) != len(dims):
        if dim_given:
            raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim "
                               f"arguments to have the same length, but got a spacing argument of length "
                               f"{len(spacing)} and a dim argument of length {len(dims)}.")
        raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar, or a list of length equal "
                           f"to 'self.dim() = {input.dim()}', since dim argument was not given, but got a list of "
                           f"length {len(spacing)}")
    for s in spacing:
        if isinstance(s, Tensor) and s.dim() != 1:
            raise RuntimeError(f"torch.gradient expected each element of spacing to have one dimension, but got an "
                               f"element with {s.dim()} dimensions!")
    return list(spacing)


def _along(t, dim, start, stop):
    return t.narrow(dim, start, stop - start)


def _uniform_gradient(f, d, h, edge_order):
    n = f.shape[d]
    cat = _ag().cat
    inner = (_along(f, d, 2, n) - _along(f, d, 0, n - 2)) / (2 * h)
    f0, f1, f2 = (_along(f, d, i, i + 1) for i in range(3)) if edge_order == 2 else (
        _along(f, d, 0, 1), _along(f, d, 1, 2), None)
    b0, b1, b2 = (_along(f, d, n - 1 - i, n - i) for i in range(3)) if edge_order == 2 else (
        _along(f, d, n - 1, n), _along(f, d, n - 2, n - 1), None)
    if edge_order == 1:
        first, last = (f1 - f0) / h, (b0 - b1) / h
    else:
        first, last = (-1.5 * f0 + 2 * f1 - 0.5 * f2) / h, (0.5 * b2 - 2 * b1 + 1.5 * b0) / h
    return cat([first, inner, last], d)


def _coordinate_gradient(f, d, coords, edge_order):
    """numpy.gradient's second-order formulas for unevenly spaced coordinates."""
    n = f.shape[d]
    shape = [1] * f.dim()
    shape[d] = n - 1
    if coords.shape[0] != n:
        raise RuntimeError(f"torch.gradient expected each tensor to be on the same device and to have as many "
                           f"elements as the dimension it spaces: {coords.shape[0]} coordinates for size {n} in dim "
                           f"{d} (gradient)")
    dx = (coords[1:] - coords[:-1]).reshape(shape)
    dx1, dx2 = _along(dx, d, 0, n - 2), _along(dx, d, 1, n - 1)
    a = -dx2 / (dx1 * (dx1 + dx2))
    b = (dx2 - dx1) / (dx1 * dx2)
    c = dx1 / (dx2 * (dx1 + dx2))
    inner = a * _along(f, d, 0, n - 2) + b * _along(f, d, 1, n - 1) + c * _along(f, d, 2, n)
    g = [_along(f, d, i, i + 1) for i in range(3)] + [_along(f, d, n - 1 - i, n - i) for i in range(3)]
    h = [_along(dx, d, 0, 1), _along(dx, d, 1, 2), _along(dx, d, n - 3, n - 2), _along(dx, d, n - 2, n - 1)]
    if edge_order == 1:
        first, last = (g[1] - g[0]) / h[0], (g[3] - g[4]) / h[3]
    else:
        p, q = h[0], h[1]
        first = (-(2 * p + q) / (p * (p + q))) * g[0] + ((p + q) / (p * q)) * g[1] - (p / (q * (p + q))) * g[2]
        p, q = h[2], h[3]
        last = (q / (p * (p + q))) * g[5] - ((p + q) / (p * q)) * g[4] + ((2 * q + p) / (q * (p + q))) * g[3]
    return _ag().cat([first, inner, last], d)


def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """Central differences inside, one-sided differences of order edge_order at
    the ends (numpy.gradient's formulas); one tensor per dim, as a tuple."""
    _tensor(input, "gradient")
    if input.dtype is _dtype.bool_:
        raise RuntimeError("gradient(): Subtraction, the `-` operator, with two bool tensors is not supported. Use "
                           "the `^` or `logical_xor()` operator instead.")
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    dims, dim_given = _gradient_dims(input, dim)
    spacings = _gradient_spacings(input, spacing, dims, dim_given)
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError(f"torch.gradient expected each dimension size to be at least edge_order+1, got size "
                               f"{input.shape[d]} in dim {d} (gradient)")
    f = input if _is_float(input) else input.to(_dtype.get_default_float())
    out = []
    for d, s in zip(dims, spacings):
        out.append(_coordinate_gradient(f, d, s, edge_order) if isinstance(s, Tensor)
                   else _uniform_gradient(f, d, s, edge_order))
    return tuple(out)


def frobenius_norm(input, dim, keepdim=False):
    """Deprecated ATen form of linalg.vector_norm(input, 2, dim, keepdim)."""
    _tensor(input, "frobenius_norm")
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if len(dims) > 2:
        raise RuntimeError(f"frobenius_norm(): Expected at most 2 dimensions, but got {len(dims)} dimensions instead.")
    _warn_once("frobenius_norm", "at::frobenius_norm is deprecated and it is just left for JIT compatibility. It "
                                 "will be removed in a future PyTorch release. Please use "
                                 "`ag.linalg.vector_norm(A, 2., dim, keepdim)` instead")
    return _ag().linalg.vector_norm(input, 2, dims, keepdim)


def nuclear_norm(input, dim=None, keepdim=False):
    """nuclear_norm(input, keepdim=False) or nuclear_norm(input, dim, keepdim=False):
    the deprecated ATen form of linalg.matrix_norm(input, 'nuc', dim, keepdim)."""
    _tensor(input, "nuclear_norm")
    if isinstance(dim, bool):
        dim, keepdim = None, dim
    _warn_once("nuclear_norm", "at::nuclear_norm is deprecated and it is just left for JIT compatibility. It will "
                               "be removed in a future PyTorch release. Please use "
                               "`ag.linalg.matrix_norm(A, 'nuc', dim, keepdim)` instead")
    dim = (-2, -1) if dim is None else (dim, dim) if isinstance(dim, int) else tuple(dim)   # (int: PyTorch's int[2])
    return _ag().linalg.matrix_norm(input, "nuc", dim, keepdim)


def norm_except_dim(v, pow=2, dim=0):
    """The pow-norm over every dim but `dim`, kept as size-1 dims (weight_norm's
    helper); dim=-1: the norm of the whole tensor."""
    fn = "norm_except_dim"
    _tensor(v, fn, "v")
    if not isinstance(pow, int) or isinstance(pow, bool):
        raise TypeError(f"{fn}(): argument 'pow' (position 2) must be int, not {type(pow).__name__}")
    if v.dim() == 0 and dim != -1:
        raise IndexError(f"{fn}(): Dimension specified as {dim} but tensor has no dimensions")
    if not _is_float(v):
        raise RuntimeError(f"{fn}(): norm(): input dtype should be either floating point or complex. Got "
                           f"{v.dtype.libtorch} instead.")
    if dim != -1 and v.shape[wrap_dim(dim, v.dim(), fn)] == 0:    # (PyTorch views v as (0, -1): ambiguous)
        raise RuntimeError(f"{fn}(): cannot reshape tensor of 0 elements into shape [0, -1] because the "
                           f"unspecified dimension size -1 can be any value and is ambiguous")
    return flat_norm_except_dim(v, pow, dim)


def flat_norm_except_dim(v, pow, dim):
    """norm_except_dim without its checks (weight_norm takes a weight with no rows), composed as
    PyTorch's: a contiguous copy of v (where it is not one) flattened around dim, so its norm
    saves that copy; dim=-1: v.norm(pow)."""
    if dim == -1:
        return v.norm(pow)
    n, size = v.dim(), v.shape[dim] if v.dim() else 1
    rest = v.numel() // size if size else math.prod(s for i, s in enumerate(v.shape) if i != dim % n)
    if dim == 0:
        return v.contiguous().view(size, rest).norm(pow, 1).view((size,) + (1,) * (n - 1))
    if dim == n - 1:
        return v.contiguous().view(rest, size).norm(pow, 0).view((1,) * (n - 1) + (size,))
    return flat_norm_except_dim(v.transpose(0, dim), pow, 0).transpose(0, dim)


HistogramddResult = collections.namedtuple("histogramdd", ["hist", "bin_edges"])


def _histogramdd_edges(points, bins, range, d):
    """One 1-D edge tensor per dimension, as PyTorch makes them."""
    ag = _ag()
    if isinstance(bins, (list, tuple)) and bins and isinstance(bins[0], Tensor):
        if len(bins) != d:
            raise RuntimeError(f"histogramdd: The size of bins must be equal to the innermost dimension of the "
                               f"input, got {len(bins)} for {d}.")
        for i, b in enumerate(bins):
            if not isinstance(b, Tensor) or b.dtype is not points.dtype:
                raise RuntimeError(f"torch.histogramdd: input tensor and bins tensors should have the same dtype, "
                                   f"but got input with dtype {points.dtype} and bins for dimension {i} with dtype "
                                   f"{getattr(b, 'dtype', type(b).__name__)}")
        return list(bins)
    counts = [bins] * d if isinstance(bins, int) else list(bins)
    if len(counts) != d:
        raise RuntimeError(f"histogramdd: The size of bins must be equal to the innermost dimension of the input, "
                           f"got {len(counts)} for {d}.")
    if any(c <= 0 for c in counts):
        raise RuntimeError(f"torch.histogramdd(): bins must be > 0, but got {counts}")
    if range is not None and len(range) != 2 * d:
        raise RuntimeError(f"torch.histogramdd: for a {d}-dimensional histogram range should have {2 * d} elements, "
                           f"but got {len(range)}")
    edges = []
    for i, c in enumerate(counts):
        if range is not None:
            lo, hi = float(range[2 * i]), float(range[2 * i + 1])
        elif points.shape[0]:
            lo, hi = points[:, i].min().item(), points[:, i].max().item()
        else:
            lo, hi = 0.0, 1.0           # PyTorch's edges for no points
        if lo > hi:
            raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min {lo} max {hi} for "
                               f"dimension {i}")
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise RuntimeError(f"torch.histogramdd: range of [{lo}, {hi}] is not finite")
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        edges.append(ag.linspace(lo, hi, c + 1, dtype=points.dtype, device=points.device))
    return edges


def _histogramdd_argument_types(bins, range, weight, density):
    """PyTorch's argument parser: bins an int, ints or tensors; range numbers; weight a tensor."""
    def ints(v):
        return isinstance(v, int) and not isinstance(v, bool)

    seq = isinstance(bins, (list, tuple))
    if not (ints(bins) or seq and (all(ints(b) for b in bins) or all(isinstance(b, Tensor) for b in bins))):
        raise TypeError(f"histogramdd(): argument 'bins' must be int, tuple of ints or tuple of Tensors, not "
                        f"{type(bins).__name__}")
    if range is not None and not (isinstance(range, (list, tuple)) and all(
            isinstance(r, (int, float)) and not isinstance(r, bool) for r in range)):
        raise TypeError(f"histogramdd(): argument 'range' must be tuple of floats, not {type(range).__name__}")
    if weight is not None and not isinstance(weight, Tensor):
        raise TypeError(f"histogramdd(): argument 'weight' must be Tensor, not {type(weight).__name__}")
    if not isinstance(density, bool):
        raise TypeError(f"histogramdd(): argument 'density' must be bool, not {type(density).__name__}")


def histogramdd(input, bins, *, range=None, weight=None, density=False):
    """A D-dimensional histogram of the points input[..., :] (D = the last dim).
    A bin holds [left, right), the last one its right edge too; points outside
    every range are left out. Not differentiable (as PyTorch)."""
    ag = _ag()
    _tensor(input, "histogramdd")
    if input.dim() < 2:
        raise RuntimeError(f"torch.histogramdd: input tensor should have at least 2 dimensions, got {input.dim()}")
    if not _is_float(input):
        raise NotImplementedError(f"\"histogramdd\" not implemented for '{input.dtype.libtorch}'")
    _histogramdd_argument_types(bins, range, weight, density)
    d = input.shape[-1]
    if weight is not None and (weight.dtype is not input.dtype or tuple(weight.shape) != tuple(input.shape[:-1])):
        raise RuntimeError(f"torch.histogramdd: if weight tensor is provided, it should have the input's dtype "
                           f"({input.dtype}) and shape excluding its innermost dimension ({list(input.shape[:-1])}), "
                           f"but got {weight.dtype} {list(weight.shape)}")
    with no_grad():
        points = input.detach().reshape(-1, d)
        edges = _histogramdd_edges(points, bins, range, d)
        n = points.shape[0]
        keep = ag.ones(n, dtype=ag.bool, device=input.device)
        flat = ag.zeros(n, dtype=ag.int64, device=input.device)
        for i, e in enumerate(edges):
            col = points[:, i].contiguous()
            k = e.shape[0] - 1
            idx = ag.searchsorted(e.contiguous(), col, right=True) - 1
            idx = ag.where(col == e[-1], ag.full_like(idx, k - 1), idx)
            keep = keep & (idx >= 0) & (idx < k)
            flat = flat * k + idx.clamp(0, max(k - 1, 0))
        w = ag.ones(n, dtype=input.dtype, device=input.device) if weight is None else \
            weight.detach().reshape(-1).to(input.dtype)
        sizes = [e.shape[0] - 1 for e in edges]
        hist = ag.zeros(math.prod(sizes), dtype=input.dtype, device=input.device)
        hist = hist.index_add(0, flat[keep], w[keep]).reshape(sizes)
        if density:
            volume = ag.ones(sizes, dtype=input.dtype, device=input.device)
            for i, e in enumerate(edges):
                shape = [1] * d
                shape[i] = sizes[i]
                volume = volume * (e[1:] - e[:-1]).reshape(shape)
            hist = hist / hist.sum() / volume
    return HistogramddResult(hist, tuple(edges))


_SEGMENT_REDUCTIONS = {"sum": "sum", "prod": "prod", "mean": "sum", "max": "amax", "amax": "amax",
                       "min": "amin", "amin": "amin"}
_SEGMENT_IDENTITY = {"sum": 0.0, "prod": 1.0, "mean": 0.0, "amax": -math.inf, "amin": math.inf}


def _segment_lengths(data, lengths, offsets, axis):
    """The lengths tensor (from offsets when given), checked against data."""
    fn = "segment_reduce"
    given = lengths if lengths is not None else offsets
    _tensor(given, fn, "lengths" if lengths is not None else "offsets")
    if given.dtype not in (_dtype.int64, _dtype.int32):
        raise NotImplementedError(f"{fn}(): lengths/offsets must be an integer tensor, got "
                                  f"'{given.dtype.libtorch}'")
    if given.device != data.device:
        raise RuntimeError(f"{fn}(): expected lengths/offsets on {data.device}, got {given.device}")
    if lengths is None:
        lengths = offsets[..., 1:] - offsets[..., :-1]
    if axis != lengths.dim() - 1:
        raise RuntimeError(f"{fn}(): Expected axis to be the last dimension of lengths but got {axis}.")
    if tuple(lengths.shape[:-1]) != tuple(data.shape[:axis]):
        raise RuntimeError(f"{fn}(): Expected lengths {list(lengths.shape)} to match data {list(data.shape)} in "
                           f"the dims before axis {axis}")
    return lengths.to(_dtype.int64)


def segment_reduce(data, reduce, *, lengths=None, indices=None, offsets=None, axis=0, unsafe=False, initial=None):
    """Reduces consecutive runs of data along axis (lengths, or offsets: n+1
    bounds) with sum, prod, mean, max or min; an empty run gives `initial`, else
    the reduction's identity (NaN for mean). `initial` also joins every run."""
    fn = "segment_reduce"
    _tensor(data, fn, "data")
    if reduce not in _SEGMENT_REDUCTIONS:
        raise RuntimeError(f"{fn}(): reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    if indices is not None:
        raise RuntimeError(f"{fn}(): indices based reduction is not supported yet.")
    if lengths is None and offsets is None:
        raise RuntimeError(f"{fn}(): Either lengths or offsets must be defined.")
    if not _is_float(data):
        raise NotImplementedError(f"{fn}(): not implemented for '{data.dtype.libtorch}'")
    axis = wrap_dim(axis, data.dim(), fn)
    lengths = _segment_lengths(data, lengths, offsets, axis)
    if not unsafe:
        if bool((lengths < 0).any()):
            raise RuntimeError(f"{fn}(): lengths contains negative value!")
        if bool((lengths.sum(-1) != data.shape[axis]).any()):
            raise RuntimeError(f"{fn}(): Expected all rows of lengths along axis to sum to data.size(lengths.dim()-1) "
                               f"when !unsafe.")
    return as_one_node(_segment_reduce(data, reduce, lengths, axis, initial), "SegmentReduceBackward0",
                       "segment_reduce", (data,))


def _segment_reduce(data, reduce, lengths, axis, initial):
    ag = _ag()
    mode = _SEGMENT_REDUCTIONS[reduce]
    n_seg, size = lengths.shape[-1], data.shape[axis]
    with no_grad():
        ends = lengths.cumsum(-1).contiguous()
        pos = ag.arange(size, device=data.device).expand(*lengths.shape[:-1], size).contiguous()
        # elements past the last run (unsafe lengths) go to one extra slot, dropped below
        seg = ag.searchsorted(ends, pos, right=True).clamp(max=n_seg)
        index = seg.reshape(tuple(seg.shape) + (1,) * (data.dim() - axis - 1)).expand(*data.shape).contiguous()
    fill = _SEGMENT_IDENTITY[mode] if initial is None else initial
    out_shape = data.shape[:axis] + (n_seg + 1,) + data.shape[axis + 1:]
    base = ag.full(out_shape, fill, dtype=data.dtype, device=data.device)
    out = base.scatter_reduce(axis, index, data, mode, include_self=True).narrow(axis, 0, n_seg)
    if reduce != "mean":
        return out
    counts = lengths.to(data.dtype).reshape(tuple(lengths.shape) + (1,) * (data.dim() - axis - 1))
    if initial is None:
        return out / counts
    return ag.where(counts > 0, out / counts.clamp(min=1), ag.full_like(out, initial))


def nonzero_static(input, *, size, fill_value=-1):
    """nonzero(input) cut or padded with fill_value rows to exactly `size` rows."""
    ag = _ag()
    _tensor(input, "nonzero_static")
    for name, v in (("size", size), ("fill_value", fill_value)):
        if not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"nonzero_static(): argument '{name}' must be int, not {type(v).__name__}")
    if size < 0:
        raise RuntimeError(f"nonzero_static: 'size' must be an non-negative integer, got {size}")
    found = ag.nonzero(input)
    if found.shape[0] >= size:
        return found[:size]
    pad = ag.full((size - found.shape[0], input.dim()), fill_value, dtype=ag.int64, device=input.device)
    return ag.cat([found, pad], 0)


def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None, requires_grad=False,
                   pin_memory=False):
    """An uninitialised tensor of shape `size` laid out in memory in the dim
    order physical_layout (outermost first)."""
    ag = _ag()
    for name, v in (("size", size), ("physical_layout", physical_layout)):
        if not isinstance(v, (list, tuple)) or any(not isinstance(i, int) or isinstance(i, bool) for i in v):
            raise TypeError(f"empty_permuted(): argument '{name}' must be tuple of ints, not {v!r}")
    size, physical_layout = tuple(size), tuple(physical_layout)
    if len(size) != len(physical_layout):
        raise RuntimeError(f"empty_permuted(): Number of dimensions in size does not match the length of the "
                           f"physical_layout; i.e. len(size) = {len(size)} is not equal to len(physical_layout) = "
                           f"{len(physical_layout)}")
    for i, d in enumerate(physical_layout):
        if not 0 <= d < len(size):
            raise RuntimeError(f"empty_permuted(): Dimension out of range (expected to be between 0 and "
                               f"{len(size) - 1}, but got {d} at index {i}).  NB: negative dims not currently "
                               f"supported")
    order = list(physical_layout)
    if len(set(order)) != len(order):
        raise RuntimeError(f"empty_permuted(): Duplicate dim not allowed, got physical_layout {list(physical_layout)}")
    inverse = [order.index(d) for d in range(len(size))]
    with no_grad():
        out = ag.empty(*[size[d] for d in order], dtype=dtype, device=device).permute(*inverse)
    return out.requires_grad_() if requires_grad else out


def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False):
    """A 1-D CPU tensor sharing the memory of a Python buffer (a read-only
    buffer is copied: NumPy cannot write through it)."""
    ag = _ag()
    try:
        view = memoryview(buffer)
    except TypeError:
        raise ValueError("frombuffer(): object does not implement Python buffer protocol.") from None
    npd = _dtype.as_dtype(dtype, "frombuffer").np
    nbytes, item = view.nbytes, npd.itemsize
    if nbytes == 0 or count == 0:
        raise ValueError(f"frombuffer(): both buffer length ({nbytes}) and count ({count}) must not be 0")
    if not 0 <= offset < nbytes:
        raise ValueError(f"frombuffer(): offset ({offset} bytes) must be non-negative and no greater than buffer "
                         f"length ({nbytes} bytes) minus 1")
    if count < 0:
        if (nbytes - offset) % item:
            raise ValueError(f"frombuffer(): buffer length ({nbytes - offset} bytes) after offset ({offset} bytes) "
                             f"must be a multiple of element size ({item})")
        count = (nbytes - offset) // item
    elif offset + count * item > nbytes:
        raise ValueError(f"frombuffer(): requested buffer length ({count} * {item} bytes) after offset ({offset} "
                         f"bytes) must not be greater than actual buffer length ({nbytes} bytes)")
    array = np.frombuffer(view.cast("B"), dtype=npd, count=count, offset=offset)
    out = ag.from_numpy(array if array.flags.writeable else array.copy())
    return out.requires_grad_() if requires_grad else out


def slice_inverse(input, src, dim=0, start=None, end=None, step=1):
    """The inverse of src[..., start:end:step, ...] (functionalization's op): a
    view of input's memory with src's size, strides and offset."""
    _tensor(input, "slice_inverse")
    _tensor(src, "slice_inverse", "src")
    wrap_dim(dim, src.dim(), "slice_inverse")
    return _ag().as_strided(input, tuple(src.shape), src.stride(), src.storage_offset())


# ---- nn internals -------------------------------------------------------------------------------

def _channel_shape(x):
    """(1, C, 1, ...): a per-channel vector broadcast over input x."""
    return (1, x.shape[1]) + (1,) * (x.dim() - 2)


def _stats_dims(x):
    return (0,) + tuple(range(2, x.dim()))


def _check_param_dtypes(fn, input, *params):
    """PyTorch's CPU kernels: parameters of the input's dtype, or float32 ones with
    a float16 input (then the statistics are float32: True is returned)."""
    given = [p.dtype for p in params if isinstance(p, Tensor)]
    if all(d is input.dtype for d in given):
        return False
    if input.dtype is _dtype.float16 and all(d is _dtype.float32 for d in given):
        return True
    if input.dtype is _dtype.float64 and all(d is _dtype.float32 for d in given):
        raise RuntimeError(f"{fn}(): mixed dtype (CPU): all inputs must share same datatype.")
    raise RuntimeError(f"{fn}(): mixed dtype (CPU): expect parameter to have scalar type of Float")


def native_layer_norm(input, normalized_shape, weight, bias, eps):
    """(layer_norm's output, mean, rstd); mean and rstd keep the normalized dims
    as size 1 and, as PyTorch's, carry no gradient."""
    out = _F().layer_norm(input, normalized_shape, weight, bias, eps)
    mixed = _check_param_dtypes("native_layer_norm", input, weight, bias)
    dims = tuple(range(input.dim() - len(tuple(normalized_shape)), input.dim()))
    with no_grad():
        x = input.detach().to(_dtype.float32) if mixed else input.detach()
        mean = x.mean(dims, keepdim=True) if dims else x.clone()
        var = x.var(dims, correction=0, keepdim=True) if dims else _ag().zeros_like(x)
    return out, mean, (var + eps).rsqrt()


def native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):
    """(batch_norm's output, batch mean, 1/sqrt(batch variance + eps)); outside
    training the two statistics are empty. running stats update as batch_norm's."""
    ag = _ag()
    if (running_mean is None) != (running_var is None):
        raise ValueError("native_batch_norm(): running_mean and running_var must either both be None or neither be "
                         "None")
    if isinstance(input, Tensor) and input.dim() < 2:
        raise IndexError(f"native_batch_norm(): Dimension out of range (expected to be in range of "
                         f"[{-max(input.dim(), 1)}, {max(input.dim(), 1) - 1}], but got 1)")
    if isinstance(input, Tensor) and training and input.numel() == 0:
        raise RuntimeError(f"native_batch_norm(): input tensor must have at least one element, but got input_sizes "
                           f"= {list(input.shape)}")
    out = _F().batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    # float32 parameters with a float16 input: float32 statistics (PyTorch's CPU kernel)
    params = (weight, bias, running_mean, running_var)
    stats = ag.float32 if input.dtype is ag.float16 and any(
        isinstance(p, Tensor) and p.dtype is ag.float32 for p in params) else input.dtype
    if not training:
        empty = ag.empty(0, dtype=stats, device=input.device)
        return out, empty, empty.clone()
    with no_grad():
        mean, invstd = batch_norm_stats(input.detach().to(stats), eps)
    return out, mean, invstd


def native_group_norm(input, weight, bias, N, C, HxW, group, eps):
    """(group_norm's output, mean, rstd) with mean and rstd of shape (N, group),
    all three differentiable (as PyTorch's)."""
    _tensor(input, "native_group_norm")
    if N * C * HxW != input.numel():
        raise RuntimeError(f"native_group_norm(): Expected input with {N} * {C} * {HxW} elements, got shape "
                           f"{list(input.shape)}")
    if group <= 0 or C % group:
        raise RuntimeError(f"native_group_norm(): Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(input.shape)} and num_groups={group}")
    mixed = _check_param_dtypes("native_group_norm", input, weight, bias)
    x = input.reshape(N, group, -1)
    x = x.to(_dtype.float32) if mixed else x            # float32 statistics, the output in the input's dtype
    mean = x.mean(-1)
    rstd = (x.var(-1, correction=0) + eps).rsqrt()
    # channels are N, C, HxW's (the input's own shape aside), as PyTorch's kernel reads them
    out = ((x - mean.unsqueeze(-1)) * rstd.unsqueeze(-1)).reshape(N, C, HxW)
    if weight is not None:
        out = out * weight.reshape(1, C, 1)
    if bias is not None:
        out = out + bias.reshape(1, C, 1)
    # (PyTorch's bias gradient is a function of g alone)
    out = as_one_node(out.reshape(input.shape).to(input.dtype), "NativeGroupNormBackward0", "native_group_norm",
                      (input, weight), tie=False)
    return out, mean, rstd


def native_dropout(input, p, train):
    """(output, keep mask): train None or True zeroes each element with
    probability p and scales the rest by 1/(1-p) (0 when p = 1); train False
    gives a copy and an all-True mask."""
    ag = _ag()
    _tensor(input, "native_dropout")
    if not isinstance(p, (int, float)):
        raise TypeError(f"native_dropout(): argument 'p' (position 2) must be float, not {type(p).__name__}")
    if train is not None and not isinstance(train, bool):
        raise TypeError(f"native_dropout(): argument 'train' (position 3) must be bool, not {type(train).__name__}")
    if input.numel() == 0:
        return input, ag.empty_like(input)            # PyTorch's early return: the mask has the input's dtype
    if train is not False and not _is_float(input):
        raise RuntimeError(f"native_dropout(): result type Float can't be cast to the desired output type "
                           f"{input.dtype.libtorch}")
    if train is not None and not train:
        return input.clone(), ag.ones(input.shape, dtype=ag.bool, device=input.device)
    if not 0 <= p <= 1:
        raise RuntimeError(f"native_dropout(): bernoulli_ expects p to be in [0, 1], but got p={1 - p}")
    with no_grad():
        mask = ag.rand(input.shape, dtype=input.dtype if _is_float(input) else None, device=input.device) >= p
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    return input * mask.to(input.dtype) * scale, mask


def batch_norm_stats(input, eps):
    """(mean, 1/sqrt(biased variance + eps)) per channel (dim 1)."""
    _tensor(input, "batch_norm_stats")
    dims = _stats_dims(input)
    return input.mean(dims), (input.var(dims, correction=0) + eps).rsqrt()


def batch_norm_elemt(input, weight, bias, mean, invstd, eps):
    """(input - mean) * invstd * weight + bias, per channel."""
    _tensor(input, "batch_norm_elemt")
    shape = _channel_shape(input)
    out = (input - mean.reshape(shape)) * invstd.reshape(shape)
    if weight is not None:
        out = out * weight.reshape(shape)
    return out if bias is None else out + bias.reshape(shape)


def batch_norm_gather_stats_with_counts(input, mean, invstd, running_mean, running_var, momentum, eps, counts):
    """Combines per-worker (mean, invstd) rows, each over counts[i] elements,
    into the global mean and invstd; updates the running stats in place with the
    unbiased variance (SyncBatchNorm's reduction)."""
    _tensor(input, "batch_norm_gather_stats_with_counts")
    counts = counts.to(mean.dtype).reshape(-1, 1)
    total = counts.sum()
    global_mean = (counts * mean).sum(0) / total
    var = invstd.pow(-2) - eps
    global_var = (counts * (var + (mean - global_mean).square())).sum(0) / total
    with no_grad():
        if running_mean is not None:
            running_mean.mul_(1 - momentum).add_(global_mean.detach().to(running_mean.dtype) * momentum)
        if running_var is not None:
            unbiased = global_var.detach() * total / (total - 1)
            running_var.mul_(1 - momentum).add_(unbiased.to(running_var.dtype) * momentum)
    return global_mean, (global_var + eps).rsqrt()


def batch_norm_gather_stats(input, mean, invstd, running_mean, running_var, momentum, eps, count):
    """batch_norm_gather_stats_with_counts with every worker's count equal to `count`."""
    counts = _ag().full((mean.shape[0],), count, dtype=mean.dtype, device=mean.device)
    return batch_norm_gather_stats_with_counts(input, mean, invstd, running_mean, running_var, momentum, eps, counts)


def batch_norm_update_stats(input, running_mean, running_var, momentum):
    """(mean, biased variance) per channel; the running stats move toward the
    mean and the unbiased variance by `momentum`, in place."""
    fn = "batch_norm_update_stats"
    _tensor(input, fn)
    if not isinstance(momentum, (int, float)):
        raise TypeError(f"{fn}(): argument 'momentum' (position 4) must be float, not {type(momentum).__name__}")
    if input.dim() < 2:
        raise IndexError(f"{fn}(): Dimension out of range (expected to be in range of [-1, 0], but got 1)")
    if input.numel() == 0:
        raise RuntimeError(f"{fn}(): input tensor must have at least one element, but got input_sizes = "
                           f"{list(input.shape)}")
    mixed = _check_param_dtypes(fn, input, running_mean, running_var)
    for name, r in (("running_mean", running_mean), ("running_var", running_var)):
        if r is not None and tuple(r.shape) != (input.shape[1],):
            raise RuntimeError(f"{fn}(): expected {name} of shape [{input.shape[1]}], got {list(r.shape)}")
    dims = _stats_dims(input)
    x = input.to(_dtype.float32) if mixed else input
    mean, var = x.mean(dims), x.var(dims, correction=0)
    n = input.numel() // input.shape[1]
    with no_grad():
        if running_mean is not None:
            running_mean.mul_(1 - momentum).add_(mean.detach() * momentum)
        if running_var is not None:
            running_var.mul_(1 - momentum).add_(var.detach() * n / (n - 1) * momentum if n > 1 else
                                                var.detach() * math.nan)
    return mean, var


def batch_norm_backward_reduce(grad_out, input, mean, invstd, weight, input_g, weight_g, bias_g):
    """(sum of grad_out, sum of grad_out * (input - mean), grad_weight, grad_bias)
    per channel; a part not asked for is None."""
    _tensor(grad_out, "batch_norm_backward_reduce", "grad_out")
    dims, shape = _stats_dims(input), _channel_shape(input)
    sum_dy = grad_out.sum(dims)
    sum_dy_xmu = (grad_out * (input - mean.reshape(shape))).sum(dims)
    grad_weight = sum_dy_xmu * invstd if weight_g else None
    grad_bias = sum_dy if bias_g else None
    return (sum_dy if input_g else None), (sum_dy_xmu if input_g else None), grad_weight, grad_bias


def batch_norm_backward_elemt(grad_out, input, mean, invstd, weight, sum_dy, sum_dy_xmu, count):
    """The input gradient of training-mode batch norm from the global sums
    (count: the elements each worker saw per channel)."""
    _tensor(grad_out, "batch_norm_backward_elemt", "grad_out")
    shape = _channel_shape(input)
    total = count.to(grad_out.dtype).sum()
    mean_dy, mean_dy_xmu = (sum_dy / total).reshape(shape), (sum_dy_xmu / total).reshape(shape)
    inv = invstd.reshape(shape)
    scale = inv if weight is None else inv * weight.reshape(shape)
    return (grad_out - mean_dy - (input - mean.reshape(shape)) * inv.square() * mean_dy_xmu) * scale


def convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
    """The generic convolution: conv{1,2,3}d or conv_transpose{1,2,3}d by the
    weight's dims and `transposed`."""
    _tensor(weight, "convolution", "weight")
    n = weight.dim() - 2
    if n not in (1, 2, 3):
        raise RuntimeError(f"convolution(): expected a weight of 3, 4 or 5 dims, got shape {list(weight.shape)}")
    if isinstance(input, Tensor) and input.dim() != weight.dim():
        raise RuntimeError(f"convolution(): Expected {weight.dim()}-dimensional input for {weight.dim()}-dimensional "
                           f"weight {list(weight.shape)}, but got {input.dim()}-dimensional input of size "
                           f"{list(input.shape)} instead")
    F = _F()
    if transposed:
        return getattr(F, f"conv_transpose{n}d")(input, weight, bias, tuple(stride), tuple(padding),
                                                 tuple(output_padding), groups, tuple(dilation))
    return getattr(F, f"conv{n}d")(input, weight, bias, tuple(stride), tuple(padding), tuple(dilation), groups)


_BAG_MODES = ("sum", "mean", "max")


def embedding_bag(weight, indices, offsets, scale_grad_by_freq=False, mode=0, sparse=False, per_sample_weights=None,
                  include_last_offset=False, padding_idx=None):
    """The ATen form of nn.functional.embedding_bag (mode 0 sum, 1 mean, 2 max):
    (output, offset2bag, bag_size, max_indices) with PyTorch's CPU contents."""
    ag = _ag()
    if mode not in (0, 1, 2):
        raise RuntimeError(f"embedding_bag(): `mode` must be sum, mean, or max, got {mode}.")
    _tensor(indices, "embedding_bag", "indices")
    _tensor(offsets, "embedding_bag", "offsets")
    if indices.dim() != 1:
        raise RuntimeError(f"embedding_bag(): input has to be 1D with offsets, got shape {list(indices.shape)}")
    if isinstance(weight, Tensor) and not _is_float(weight):
        raise RuntimeError(f"Expected tensor for argument #1 'weight' to have one of the following scalar types: "
                           f"Half, BFloat16, Float, Double; but got {weight.dtype} instead (while checking arguments "
                           f"for embedding_bag)")
    if isinstance(per_sample_weights, Tensor) and per_sample_weights.numel() != indices.numel():
        raise RuntimeError(f"embedding_bag(): Expected per_sample_weights.numel() == indices.numel(), got "
                           f"{per_sample_weights.numel()} and {indices.numel()}")
    output = _F().embedding_bag(indices, weight, offsets, None, 2, scale_grad_by_freq, _BAG_MODES[mode], sparse,
                                per_sample_weights, include_last_offset, padding_idx)
    with no_grad():
        offset2bag, bag_size, max_indices = _bag_parts(ag, weight.detach(), indices, offsets, mode,
                                                       include_last_offset, padding_idx, output.shape[0])
    return output, offset2bag, bag_size, max_indices


def _bag_parts(ag, weight, indices, offsets, mode, include_last_offset, padding_idx, bags):
    device, n = indices.device, indices.shape[0]
    starts = offsets.to(ag.int64)[:bags].contiguous()
    pos = ag.arange(n, device=device)
    bag_of = (ag.searchsorted(starts, pos, right=True) - 1).clamp(min=0)
    keep = ag.ones(n, dtype=ag.bool, device=device)
    if padding_idx is not None:
        keep = indices != (padding_idx if padding_idx >= 0 else padding_idx + weight.shape[0])
    zeros = ag.zeros(bags, dtype=ag.int64, device=device)
    if mode == 0:
        # PyTorch's CPU fast path (float32 sums without padding) leaves offset2bag empty
        fast = padding_idx is None and weight.dtype is ag.float32
        offset2bag = ag.empty(0, dtype=ag.int64, device=device) if fast else bag_of
        return offset2bag, zeros, zeros.clone()
    bag_size = zeros.index_add(0, bag_of[keep], ag.ones(int(keep.sum()), dtype=ag.int64, device=device))
    if mode == 1:
        return bag_of, bag_size, bag_size.clone()
    # max: the weight row of each bag's first maximum, per column (0 for an empty bag)
    rows = weight[indices.to(ag.int64)]
    rows = ag.where(keep.unsqueeze(1), rows, ag.full_like(rows, -math.inf))
    column = (bags, weight.shape[1])
    top = ag.full(column, -math.inf, dtype=weight.dtype, device=device).scatter_reduce(
        0, bag_of.unsqueeze(1).expand(n, weight.shape[1]).contiguous(), rows, "amax")
    hit = (rows == top[bag_of]) & keep.unsqueeze(1)
    first = ag.where(hit, pos.unsqueeze(1).expand(n, weight.shape[1]), ag.full_like(rows, n, dtype=ag.int64))
    first = ag.full(column, n, dtype=ag.int64, device=device).scatter_reduce(
        0, bag_of.unsqueeze(1).expand(n, weight.shape[1]).contiguous(), first.contiguous(), "amin")
    padded = ag.cat([indices.to(ag.int64), ag.zeros(1, dtype=ag.int64, device=device)])
    return bag_of, bag_size, padded[first]


def embedding_renorm_(input, indices, max_norm, norm_type):
    """Rescales in place the rows of input named by indices whose norm_type-norm
    exceeds max_norm to norm max_norm (PyTorch's 1e-7 guard included)."""
    ag = _ag()
    fn = "embedding_renorm_"
    _tensor(input, fn, "self")
    _tensor(indices, fn, "indices")
    if input.dim() != 2:
        raise RuntimeError(f"Expected 2-dimensional tensor, but got {input.dim()}-dimensional tensor for argument "
                           f"#1 'self' (while checking arguments for {fn})")
    if indices.dtype not in (_dtype.int64, _dtype.int32):
        raise RuntimeError(f"Expected tensor for argument #2 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {indices.dtype.libtorch} instead (while checking arguments for {fn})")
    for pos, name, v in ((3, "max_norm", max_norm), (4, "norm_type", norm_type)):
        if not isinstance(v, (int, float)):
            raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be float, not {type(v).__name__}")
    if input.requires_grad and input.is_leaf and _ag().is_grad_enabled():
        raise RuntimeError(f"{fn}(): a leaf Variable that requires grad is being used in an in-place operation.")
    rows = ag.unique(indices.reshape(-1)).to(ag.int64)
    if rows.numel() == 0:
        return input
    with no_grad():
        current = input.detach()[rows]
        norms = ag.linalg.vector_norm(current, norm_type, 1, True)
        scale = ag.where(norms > max_norm, max_norm / (norms + 1e-7), ag.ones_like(norms))
    return input.index_copy_(0, rows, current * scale)


# ---- recurrent layers with flat weights (torch.nn.RNNBase._flat_weights' order) ------------------

_GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


def _cell(mode, x, h, c, w_ih, w_hh, b_ih, b_hh, w_hr=None):
    """One step of an RNN/LSTM/GRU cell: the new (h, c) (c None except LSTM), by nn.RNNBase's own step."""
    from ..nn.rnn import _step
    return _step(mode.upper(), _F().linear(x, w_ih, b_ih), h, c, w_hh, b_hh, w_hr)


def _check_cell(fn, input, hx, w_ih, w_hh):
    _tensor(input, fn)
    if input.dim() not in (1, 2):
        raise RuntimeError(f"{fn}(): Expected input to be 1D or 2D, got {input.dim()}D instead")
    gates, hidden = _GATES[fn[:-5]], hx[0].shape[-1] if hx[0].dim() else 0
    for name, w in (("weight_ih", w_ih), ("weight_hh", w_hh)):
        if w.dim() != 2 or w.shape[0] != gates * hidden:
            # (PyTorch's GRU and LSTM cells read a 1-d weight's dim 1 first)
            kind = IndexError if w.dim() < 2 and gates > 1 else RuntimeError
            raise kind(f"{fn}(): {name} first dim must be {gates} * hidden_size = {gates * hidden}, but got "
                       f"{w.shape[0] if w.dim() else 0} (shape {list(w.shape)})")
    if input.shape[-1] != w_ih.shape[1]:
        raise RuntimeError(f"{fn}(): input has inconsistent input_size: got {input.shape[-1]} expected "
                           f"{w_ih.shape[1]}")
    for i, h in enumerate(hx):
        if h.shape[-1] != w_hh.shape[1] and i == 0 or h.shape[:-1] != input.shape[:-1]:
            raise RuntimeError(f"{fn}(): hidden{i} has inconsistent shape {list(h.shape)} for input "
                               f"{list(input.shape)} and hidden_size {w_hh.shape[1]}")


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    _check_cell("rnn_tanh_cell", input, [hx], w_ih, w_hh)
    return _cell("rnn_tanh", input, hx, None, w_ih, w_hh, b_ih, b_hh)[0]


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    _check_cell("rnn_relu_cell", input, [hx], w_ih, w_hh)
    return _cell("rnn_relu", input, hx, None, w_ih, w_hh, b_ih, b_hh)[0]


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    _check_cell("gru_cell", input, [hx], w_ih, w_hh)
    return _cell("gru", input, hx, None, w_ih, w_hh, b_ih, b_hh)[0]


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """(h', c') of one LSTM step; hx = (h, c)."""
    if not isinstance(hx, (list, tuple)):
        raise TypeError(f"lstm_cell(): argument 'hx' (position 2) must be tuple of Tensors, not {type(hx).__name__}")
    if len(hx) != 2:
        raise RuntimeError(f"lstm_cell(): lstm_cell expects two hidden states, got {len(hx)}")
    _check_cell("lstm_cell", input, list(hx), w_ih, w_hh)
    return _cell("lstm", input, hx[0], hx[1], w_ih, w_hh, b_ih, b_hh)


def _run_forward(mode, steps, h0, c0, weights):
    """One direction over time; steps' batch sizes never grow (a packed
    sequence): rows that end early leave their final state behind."""
    h, c, done_h, done_c, outs = h0, c0, [], [], []
    for x in steps:
        b = x.shape[0]
        if b < h.shape[0]:
            done_h.append(h[b:])
            h = h[:b]
            if c is not None:
                done_c.append(c[b:])
                c = c[:b]
        h, c = _cell(mode, x, h, c, *weights)
        outs.append(h)
    cat = _ag().cat
    last_h = cat([h] + done_h[::-1], 0) if done_h else h
    last_c = None if c is None else (cat([c] + done_c[::-1], 0) if done_c else c)
    return outs, last_h, last_c


def _run_reverse(mode, steps, h0, c0, weights):
    """The reverse direction: rows join as their sequences begin (from the end)."""
    cat = _ag().cat
    b = steps[-1].shape[0] if steps else h0.shape[0]
    h, c = h0[:b], (None if c0 is None else c0[:b])
    outs = [None] * len(steps)
    for t in range(len(steps) - 1, -1, -1):
        b = steps[t].shape[0]
        if b > h.shape[0]:
            h = cat([h, h0[h.shape[0]:b]], 0)
            c = None if c is None else cat([c, c0[c.shape[0]:b]], 0)
        h, c = _cell(mode, steps[t], h, c, *weights)
        outs[t] = h
    return outs, h, c


def _layer_weights(mode, params, has_biases, count, fn):
    """The params list cut into per-(layer, direction) groups (w_ih, w_hh, b_ih,
    b_hh, w_hr), LSTM projections detected by the count as in PyTorch."""
    per = 4 if has_biases else 2
    if mode == "lstm" and len(params) == count * (per + 1):
        per += 1
    if len(params) != count * per:
        raise RuntimeError(f"{fn}(): got an incorrect number of RNN parameters: {len(params)} for {count} "
                           f"layer-directions")
    groups = []
    for k in range(count):
        g = list(params[k * per:(k + 1) * per])
        w_ih, w_hh = g[0], g[1]
        b_ih, b_hh = (g[2], g[3]) if has_biases else (None, None)
        groups.append((w_ih, w_hh, b_ih, b_hh, g[-1] if per in (3, 5) else None))
    return groups


def _stacked_rnn(mode, steps, h0, c0, params, has_biases, num_layers, dropout, train, bidirectional):
    ag = _ag()
    dirs = 2 if bidirectional else 1
    groups = _layer_weights(mode, params, has_biases, num_layers * dirs, mode)
    if h0.shape[0] != num_layers * dirs:
        raise RuntimeError(f"{mode}(): Expected {num_layers * dirs} hidden states in stacked_rnn, got hx of shape "
                           f"{list(h0.shape)}")
    last_h, last_c = [], []
    for layer in range(num_layers):
        results = []
        for d in range(dirs):
            k = layer * dirs + d
            run = _run_reverse if d else _run_forward
            outs, h, c = run(mode, steps, h0[k], None if c0 is None else c0[k], groups[k])
            results.append(outs)
            last_h.append(h)
            last_c.append(c)
        steps = [ag.cat(pair, -1) for pair in zip(*results)] if dirs == 2 else results[0]
        if dropout and train and layer < num_layers - 1:
            steps = [_F().dropout(s, dropout, True) for s in steps]
    return steps, ag.stack(last_h), (None if c0 is None else ag.stack(last_c))


_RNN_INPUT_ARGS = ("input", "hx", "params", "has_biases", "num_layers", "dropout", "train", "bidirectional",
                   "batch_first")
_RNN_DATA_ARGS = ("data", "batch_sizes", "hx", "params", "has_biases", "num_layers", "dropout", "train",
                  "bidirectional")


def _bind(fn, names, args, kwargs):
    if len(args) > len(names):
        raise TypeError(f"{fn}(): takes {len(names)} arguments, got {len(args)}")
    bound = dict(zip(names, args))
    for k, v in kwargs.items():
        if k not in names or k in bound:
            raise TypeError(f"{fn}(): unexpected or repeated argument '{k}'")
        bound[k] = v
    missing = [n for n in names if n not in bound]
    if missing:
        raise TypeError(f"{fn}(): missing required argument '{missing[0]}'")
    return bound


def _check_rnn(mode, x, h0, c0, params, packed, batch_sizes, batch_first):
    """PyTorch's refusals: no time steps, hidden states of another batch size, mixed dtypes."""
    if not packed and x.dim() != 3:
        raise IndexError(f"{mode}(): input must have 3 dimensions (seq, batch, feature), got shape {list(x.shape)}")
    for h in (h0, c0):
        if h is not None and (not isinstance(h, Tensor) or h.dim() != 3):
            kind = IndexError if mode == "lstm" else RuntimeError
            raise kind(f"{mode}(): expected hidden states of 3 dims (layers * directions, batch, hidden), got "
                       f"{list(getattr(h, 'shape', [])) or type(h).__name__}")
    if packed:
        batch = int(batch_sizes[0]) if batch_sizes.numel() else 0
    else:
        if x.shape[0 if not batch_first else 1] == 0:
            raise RuntimeError(f"{mode}(): Expected sequence length to be larger than 0 in RNN")
        batch = x.shape[1 if not batch_first else 0]
    for h in (h0, c0):
        if h is not None and h.shape[1] != batch:
            raise RuntimeError(f"{mode}(): The size of tensor a ({h.shape[1]}) must match the size of tensor b "
                               f"({batch}) at non-singleton dimension 0 (hidden state batch vs input batch)")
    for t in [h0, c0] + list(params):
        if isinstance(t, Tensor) and t.dtype is not x.dtype:
            raise RuntimeError(f"{mode}(): expected m1 and m2 to have the same dtype, but got: {x.dtype} != "
                               f"{t.dtype}")


def _rnn(mode, args, kwargs):
    """The input form (input, hx, params, ..., batch_first) or the packed data
    form (data, batch_sizes, hx, params, ...), told apart as PyTorch's overloads."""
    ag = _ag()
    hx_is_list = mode == "lstm"
    packed = "batch_sizes" in kwargs or (len(args) > 1 and (isinstance(args[1], Tensor) if hx_is_list else
                                                           len(args) > 2 and isinstance(args[2], Tensor)))
    a = _bind(mode, _RNN_DATA_ARGS if packed else _RNN_INPUT_ARGS, args, kwargs)
    x = _tensor(a["data" if packed else "input"], mode)
    h0, c0 = (a["hx"][0], a["hx"][1]) if hx_is_list else (a["hx"], None)
    rest = (a["params"], a["has_biases"], a["num_layers"], a["dropout"], a["train"], a["bidirectional"])
    _check_rnn(mode, x, h0, c0, a["params"], packed, a.get("batch_sizes"), a.get("batch_first"))
    if packed:
        steps = list(x.split(a["batch_sizes"].tolist(), 0))
        outs, h, c = _stacked_rnn(mode, steps, h0, c0, *rest)
        output = ag.cat(outs, 0)
    else:
        seq = x.transpose(0, 1) if a["batch_first"] else x
        outs, h, c = _stacked_rnn(mode, list(seq.unbind(0)), h0, c0, *rest)
        output = ag.stack(outs, 0) if outs else seq.new_zeros(
            (0, seq.shape[1], h.shape[-1] * (2 if a["bidirectional"] else 1)))
        if a["batch_first"]:
            output = output.transpose(0, 1)
    return (output, h) if c is None else (output, h, c)


def rnn_tanh(*args, **kwargs):
    """rnn_tanh(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)
    or rnn_tanh(data, batch_sizes, hx, params, ...): (output, h_n)."""
    return _rnn("rnn_tanh", args, kwargs)


def rnn_relu(*args, **kwargs):
    """As rnn_tanh, with relu."""
    return _rnn("rnn_relu", args, kwargs)


def gru(*args, **kwargs):
    """As rnn_tanh, with GRU cells: (output, h_n)."""
    return _rnn("gru", args, kwargs)


def lstm(*args, **kwargs):
    """lstm(input, (h0, c0), params, ...) or lstm(data, batch_sizes, (h0, c0), params, ...):
    (output, h_n, c_n)."""
    return _rnn("lstm", args, kwargs)


# ---- deprecated and removed linear algebra ------------------------------------------------------

LuWithInfoResult = collections.namedtuple("_lu_with_info", ["LU", "pivots", "info"])


def lu(A, pivot=True, get_infos=False, out=None):
    """Deprecated: (LU, pivots), or with get_infos (LU, pivots, info), from
    linalg.lu_factor_ex (a singular matrix is no error, as PyTorch)."""
    _tensor(A, "lu", "A")
    _warn_once("lu", "ag.lu is deprecated in favor of ag.linalg.lu_factor / ag.linalg.lu_factor_ex and will be "
                     "removed in a future release.\nLU, pivots = ag.lu(A, compute_pivots)\nshould be replaced with\n"
                     "LU, pivots = ag.linalg.lu_factor(A, compute_pivots)\nand\n"
                     "LU, pivots, info = ag.lu(A, compute_pivots, get_infos=True)\nshould be replaced with\n"
                     "LU, pivots, info = ag.linalg.lu_factor_ex(A, compute_pivots)")
    if out is not None:
        raise NotImplementedError("lu(): out= is not supported")
    LU, pivots, info = _ag().linalg.lu_factor_ex(A, pivot=pivot)
    return LuWithInfoResult(LU, pivots, info) if get_infos else (LU, pivots)


def lu_solve(b, LU_data, LU_pivots, *, out=None):
    """Deprecated: linalg.lu_solve(LU_data, LU_pivots, b)."""
    _tensor(b, "lu_solve", "b")
    _warn_once("lu_solve", "ag.lu_solve is deprecated in favor of ag.linalg.lu_solve and will be removed in a "
                           "future release.\nNote that ag.linalg.lu_solve has its arguments reversed.\n"
                           "X = ag.lu_solve(B, LU, pivots)\nshould be replaced with\n"
                           "X = ag.linalg.lu_solve(LU, pivots, B)")
    if out is not None:
        raise NotImplementedError("lu_solve(): out= is not supported")
    return _ag().linalg.lu_solve(LU_data, LU_pivots, b)


def _approximate_basis(A, q, niter, M):
    """Halko et al.'s randomized range finder with niter power iterations."""
    ag = _ag()
    R = ag.randn(A.shape[-1], q, dtype=A.dtype, device=A.device)
    qr = ag.linalg.qr

    def sub(X, B):
        return X if M is None else X - B

    Q = qr(sub(A @ R, None if M is None else M @ R)).Q
    for _ in range(niter):
        Q = qr(sub(A.mT @ Q, None if M is None else M.mT @ Q)).Q
        Q = qr(sub(A @ Q, None if M is None else M @ Q)).Q
    return Q


def svd_lowrank(A, q=6, niter=2, M=None):
    """(U, S, V) of a rank-q approximation of A - M by randomized SVD
    (Halko et al. 2009, Algorithm 5.1, as torch.svd_lowrank)."""
    _tensor(A, "svd_lowrank", "A")
    q = 6 if q is None else q
    niter = 2 if niter is None else niter
    if not _is_float(A):
        raise RuntimeError(f"svd_lowrank(): expected m1 and m2 to have the same dtype, but got: {A.dtype} != "
                           f"{_dtype.get_default_float()}")
    m, n = A.shape[-2:]
    if M is not None:
        M = M.to(A.dtype).broadcast_to(A.shape)
    wide = m < n
    if wide:
        A, M = A.mT, (None if M is None else M.mT)
    Q = _approximate_basis(A, q, niter, M)
    B = Q.mT @ A if M is None else Q.mT @ A - Q.mT @ M
    U, S, Vh = _ag().linalg.svd(B, full_matrices=False)
    U, V = Q @ U, Vh.mT
    return (V, S, U) if wide else (U, S, V)


def pca_lowrank(A, q=None, center=True, niter=2):
    """(U, S, V) of the (centered) data matrix A by svd_lowrank; q defaults to
    min(6, m, n)."""
    _tensor(A, "pca_lowrank", "A")
    m, n = A.shape[-2:]
    for name, v in (("q", q), ("niter", niter)):
        if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
            raise TypeError(f"pca_lowrank(): {name} must be an int, not {type(v).__name__}")
    if niter is None:
        raise TypeError("pca_lowrank(): '>=' not supported between instances of 'NoneType' and 'int' (niter)")
    if q is None:
        q = min(6, m, n)
    elif not (isinstance(q, int) and 0 <= q <= min(m, n)):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(m, n)}")
    if not (isinstance(niter, int) and niter >= 0):
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if not center:
        return svd_lowrank(A, q, niter)
    return svd_lowrank(A, q, niter, M=A.mean(-2, keepdim=True))


def _removed(name, message):
    def removed(*args, **kwargs):
        raise RuntimeError(message)
    removed.__name__ = removed.__qualname__ = name
    removed.__doc__ = "Removed in PyTorch 1.9: raises RuntimeError pointing to its ag.linalg replacement."
    return removed


_REMOVED_PREFIX = "This function was deprecated since version 1.9 and is now removed. "
solve = _removed("solve", _REMOVED_PREFIX + (
    "`ag.solve` is deprecated in favor of `ag.linalg.solve`. `ag.linalg.solve` has its arguments reversed and does "
    "not return the LU factorization.\n\nTo get the LU factorization see `ag.lu`, which can be used with "
    "`ag.lu_solve` or `ag.lu_unpack`.\nX = ag.solve(B, A).solution should be replaced with:\n"
    "X = ag.linalg.solve(A, B)"))
eig = _removed("eig", _REMOVED_PREFIX + (
    "`ag.linalg.eig` returns complex tensors of dtype `cfloat` or `cdouble` rather than real tensors mimicking "
    "complex tensors.\n\nL, _ = ag.eig(A) should be replaced with:\nL_complex = ag.linalg.eigvals(A)\n\nand\n\n"
    "L, V = ag.eig(A, eigenvectors=True) should be replaced with:\nL_complex, V_complex = ag.linalg.eig(A)"))
symeig = _removed("symeig", _REMOVED_PREFIX + (
    "The default behavior has changed from using the upper triangular portion of the matrix by default to using "
    "the lower triangular portion.\n\nL, _ = ag.symeig(A, upper=upper) should be replaced with:\n"
    "L = ag.linalg.eigvalsh(A, UPLO='U' if upper else 'L')\n\nand\n\nL, V = ag.symeig(A, eigenvectors=True) "
    "should be replaced with:\nL, V = ag.linalg.eigh(A, UPLO='U' if upper else 'L')"))
lstsq = _removed("lstsq", _REMOVED_PREFIX + (
    "`ag.lstsq` is deprecated in favor of `ag.linalg.lstsq`.\n`ag.linalg.lstsq` has reversed arguments and does "
    "not return the QR decomposition in the returned tuple (although it returns other information about the "
    "problem).\n\nTo get the QR decomposition consider using `ag.linalg.qr`.\n\nThe returned solution in "
    "`ag.lstsq` stored the residuals of the solution in the last m - n columns of the returned value whenever "
    "m > n. In ag.linalg.lstsq, the residuals are in the field 'residuals' of the returned named tuple.\n\n"
    "The unpacking of the solution, as in\nX, _ = ag.lstsq(B, A).solution[:A.size(1)]\nshould be replaced with:\n"
    "X = ag.linalg.lstsq(A, B).solution"))
matrix_rank = _removed("matrix_rank", "This function was deprecated since version 1.9 and is now removed.\n"
                       "Please use the `ag.linalg.matrix_rank` function instead. The parameter 'symmetric' was "
                       "renamed in `ag.linalg.matrix_rank()` to 'hermitian'.")


# ---- control flow (eager) -----------------------------------------------------------------------

def _leaves(tree):
    if isinstance(tree, (list, tuple)):
        return [leaf for item in tree for leaf in _leaves(item)]
    if isinstance(tree, dict):
        return [leaf for item in tree.values() for leaf in _leaves(item)]
    return [tree]


def cond(pred, true_fn, false_fn, operands=()):
    """true_fn(*operands) if pred else false_fn(*operands), run eagerly (only the
    branch taken runs), with PyTorch's checks of the arguments and the output."""
    if isinstance(pred, (bool, int, float)) and not isinstance(pred, Tensor):
        return true_fn(*operands) if pred else false_fn(*operands)
    if not isinstance(pred, Tensor):
        raise RuntimeError(f"Expected pred to be bool or tensor, but got {pred}.")
    if pred.numel() != 1:
        raise RuntimeError(f"Expected pred to be bool or single-element tensor, but got {pred}.")
    if not callable(true_fn) or not callable(false_fn):
        raise RuntimeError("Expect both branches to be callable.")
    if not isinstance(operands, (tuple, list)) or any(not isinstance(t, Tensor) for t in _leaves(operands)):
        raise RuntimeError(f"Expect operands to be a tuple of possibly nested dict/list/tuple that only consists of "
                           f"tensor leaves, but got {operands}.")
    out = (true_fn if bool(pred) else false_fn)(*operands)
    if any(any(t is o for o in _leaves(operands)) for t in _leaves(out)):
        raise RuntimeError("cond(): Higher order ops do not support aliasing: a branch returned one of its operands "
                           "(return input.clone() instead)")
    if any(not isinstance(t, (Tensor, int)) or isinstance(t, bool) for t in _leaves(out)):
        raise RuntimeError(f"cond(): Expect branches to return a possibly nested pytree of tensors or constant ints "
                           f"but got {out}")
    return out


def _meta(t):
    return (tuple(t.shape), t.dtype, t.device) if isinstance(t, Tensor) else type(t)


def while_loop(cond_fn, body_fn, carried_inputs):
    """Runs carried = body_fn(*carried) while cond_fn(*carried), eagerly; body_fn
    must return a tuple matching carried_inputs in length, shapes, dtypes and
    devices, cond_fn a boolean scalar. Returns the final carried tuple."""
    if not callable(cond_fn) or not callable(body_fn):
        raise RuntimeError("Expect cond_fn and body_fn to be callable.")
    if not isinstance(carried_inputs, (tuple, list)) or any(
            not isinstance(t, (Tensor, int)) or isinstance(t, bool) for t in _leaves(carried_inputs)):
        raise RuntimeError(f"Expect carried_inputs to be a tuple of possibly nested dict/list/tuple that only"
                           f"consists of tensor or int leaves, but got {carried_inputs}.")
    carried = tuple(carried_inputs)
    expected = [_meta(t) for t in carried]
    while True:
        p = cond_fn(*carried)
        if isinstance(p, Tensor):
            if p.numel() != 1 or p.dtype is not _dtype.bool_:
                raise RuntimeError(f"while_loop(): cond_fn must return a boolean scalar tensor or a boolean but got "
                                   f"{p}")
        elif not isinstance(p, bool):
            raise RuntimeError(f"while_loop(): cond_fn must return a boolean scalar tensor or a boolean but got {p}")
        if not bool(p):
            return carried
        out = body_fn(*carried)
        if not isinstance(out, tuple):
            out = (out,) if isinstance(out, Tensor) and len(carried) == 1 else out
        if not isinstance(out, tuple) or len(out) != len(carried):
            raise RuntimeError(f"while_loop(): body_fn should return a tuple of {len(carried)} elements matching "
                               f"carried_inputs, but got {out}")
        got = [_meta(t) for t in out]
        if got != expected:
            raise RuntimeError(f"while_loop(): Expected carried_inputs and body_output to have same metadata but "
                               f"found: {expected} vs {got}")
        carried = out


# ---- the family's listing ------------------------------------------------------------------------

def _nonzero_static_method(self, *, size, fill_value=-1):
    return nonzero_static(self, size=size, fill_value=fill_value)


def _lu_method(self, pivot=True, get_infos=False):
    return lu(self, pivot, get_infos)


def _lu_solve_method(self, LU_data, LU_pivots):
    return lu_solve(self, LU_data, LU_pivots)


def _is_distributed_method(self):
    return False


def _slice_inverse_method(self, src, dim=0, start=None, end=None, step=1):
    return slice_inverse(self, src, dim, start, end, step)


def _named_errors(fn, name):
    """fn whose errors name it (an error of an op it is built on names that op) and
    are of PyTorch's kinds: a wrong argument's AttributeError is a TypeError."""
    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (TypeError, ValueError, RuntimeError, IndexError) as e:
            if name.rstrip("_") in str(e):
                raise
            try:
                renamed = type(e)(f"{name}(): {e}")
            except Exception:
                renamed = next(k for k in (NotImplementedError, RuntimeError, TypeError, ValueError, IndexError)
                               if isinstance(e, k))(f"{name}(): {e}")
            raise renamed from None
        except (AttributeError, ZeroDivisionError, OverflowError) as e:
            kind = TypeError if isinstance(e, AttributeError) else RuntimeError
            raise kind(f"{name}(): {e}") from None
    return call


METHODS = {name: _named_errors(f, name) for name, f in (
    ("nonzero_static", _nonzero_static_method), ("lu", _lu_method), ("lu_solve", _lu_solve_method),
    ("is_distributed", _is_distributed_method), ("slice_inverse", _slice_inverse_method))}

FUNCTIONS = {f.__name__: _named_errors(f, f.__name__) for f in (
    vander, gradient, frobenius_norm, nuclear_norm, norm_except_dim, histogramdd, segment_reduce, nonzero_static,
    empty_permuted, frombuffer, slice_inverse,
    native_layer_norm, native_batch_norm, native_group_norm, native_dropout, batch_norm_stats, batch_norm_elemt,
    batch_norm_gather_stats, batch_norm_gather_stats_with_counts, batch_norm_update_stats,
    batch_norm_backward_reduce, batch_norm_backward_elemt, convolution, embedding_bag, embedding_renorm_,
    rnn_tanh, rnn_relu, lstm, gru, rnn_tanh_cell, rnn_relu_cell, lstm_cell, gru_cell,
    lu, lu_solve, svd_lowrank, pca_lowrank, solve, eig, symeig, lstsq, matrix_rank,
    cond, while_loop, vmap, is_warn_always_enabled, set_warn_always, get_float32_matmul_precision,
    set_float32_matmul_precision, set_flush_denormal, get_deterministic_debug_mode, set_deterministic_debug_mode,
    init_num_threads, get_device, is_distributed)}
