"""Functions that build tensors from others: meshgrid, cartesian_prod, combinations, block_diag, diagflat, cov,
corrcoef, trapezoid, logspace, range, unravel_index, renorm, histogram, Tensor.unfold, ... (torch's). Composed of
the differentiable ops (their gradients, any order, and the CUDA path come with them); Tensor.unfold is a view
of its own (UnfoldBackward0) whose backward sums overlapping windows."""
import builtins
import collections
import itertools
import math
import warnings

import numpy as np

from .. import _dtype
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.op import Op, device_mismatch
from ..tensor import Tensor
from . import prims as P, shape
from ._util import int_arg, number, wrap_dim
from .arith import NoDerivative
from .functions import tensor_function
from .tied import as_one_node
from .inplace import Composed
from .reduction import Norm, norm_backward, p_norm
from ..amp import cast_at_entry
from .._warn import warn_at_caller

HistogramResult = collections.namedtuple("histogram", ["hist", "bin_edges"])


def _tensor(x, op_name, arg="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op_name}(): argument '{arg}' must be Tensor, not {type(x).__name__}")
    return x


def _tensor_list(tensors, op_name):
    """*tensors, or one list/tuple of them, each checked to be a Tensor."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    for i, t in enumerate(tensors):
        _tensor(t, op_name, f"tensors[{i}]")
    return tensors


def _same_device(op_name, tensors):
    for t in tensors[1:]:
        if t._backend is not tensors[0]._backend:
            raise device_mismatch(op_name, tensors[0], t)


def _zeros(shape_, like, dtype=None):
    from ..creation import zeros
    return zeros(shape_, dtype=dtype or like.dtype, device=like.device)


# ---- grids: meshgrid, cartesian_prod, combinations -------------------------------------------

def meshgrid(*tensors, indexing=None):
    """Coordinate grids of 0-d/1-d tensors (views: each one expanded); indexing 'ij' (default, with PyTorch's
    warning when not given) or 'xy' (the first two dims swapped)."""
    tensors = _tensor_list(tensors, "meshgrid")
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
                      UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got a "
                               f"{t.ndim}-D tensor of shape {list(t.shape)}")
        if t.dtype is not tensors[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    _same_device("meshgrid", tensors)
    swap = indexing == "xy" and len(tensors) >= 2
    order = list(tensors)
    if swap:
        order[0], order[1] = order[1], order[0]
    sizes = tuple(t.numel() for t in order)
    grids = []
    for i, t in enumerate(order):
        view = (1,) * i + (-1,) + (1,) * (len(order) - i - 1)
        grids.append(t.reshape(view).expand(sizes))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def cartesian_prod(*tensors):
    """Every combination of one element from each 1-d tensor, one row each (a single tensor: itself)."""
    tensors = _tensor_list(tensors, "cartesian_prod")
    if not tensors:
        raise RuntimeError("cartesian_prod(): expects a non-empty TensorList")
    for t in tensors:
        if t.ndim != 1:
            raise RuntimeError(f"cartesian_prod(): Expect a 1D vector, but got shape {list(t.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    return shape.stack([g.flatten() for g in meshgrid(*tensors, indexing="ij")], 1)


def combinations(input, r=2, with_replacement=False):
    """The length-r combinations of a 1-d tensor's elements, one row each, in itertools' order."""
    _tensor(input, "combinations")
    r = int_arg(r, "combinations", "r")
    if input.ndim != 1:
        raise RuntimeError(f"combinations(): Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"combinations(): Expect a non-negative number, but got {r}")
    if r == 0:
        return _zeros((0,), input)
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = list(pick(builtins.range(input.shape[0]), r))
    idx = np.array(rows, dtype=np.int64).reshape(len(rows), r)
    from ..creation import tensor
    return input[tensor(idx, device=input.device)]


# ---- block matrices: block_diag, diagflat -----------------------------------------------------

def block_diag(*tensors):
    """The tensors (0-d: 1x1, 1-d: one row) on the diagonal of a zero matrix, in their promoted dtype."""
    tensors = _tensor_list(tensors, "block_diag")
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{t.ndim} dimensions")
    if not tensors:
        from ..creation import empty
        return empty(1, 0)
    _same_device("block_diag", tensors)
    dt = _dtype.result_type_of([t._data for t in tensors], []).np
    mats = [t.reshape(1, -1) if t.ndim < 2 else t for t in tensors]
    mats = [m.to(_dtype.as_dtype(dt, "block_diag")) for m in mats]
    width = sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        h, w = m.shape
        rows.append(shape.cat([_zeros((h, left), m), m, _zeros((h, width - left - w), m)], 1))
        left += w
    return as_one_node(shape.cat(rows, 0), "BlockDiagBackward0", "block_diag")


def diagflat(input, offset=0):
    """The flattened input on diagonal `offset` of a square matrix."""
    from .diagonal import diag
    offset = int_arg(offset, "diagflat", "offset")
    return diag(_tensor(input, "diagflat").reshape(-1), offset)


# ---- statistics: cov, corrcoef --------------------------------------------------------------

def _weights(w, name, n, input, integral):
    if w is None:
        return None
    _tensor(w, "cov", name)
    if w.device != input.device:
        raise device_mismatch("cov", input, w)
    if w.ndim > 1:
        raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got {name} with "
                           f"{w.ndim} dimensions")
    if w.numel() != n:
        raise RuntimeError(f"cov(): expected {name} to have the same numel as there are observations in the "
                           f"input but got {w.numel()} != {n}")
    kind = w._data.dtype.kind
    if integral and kind not in "iu":
        raise RuntimeError(f"cov(): expected fweights to have integral dtype but got fweights with "
                           f"{w.dtype.libtorch} dtype")
    if not integral and kind != "f":
        raise RuntimeError(f"cov(): expected aweights to have floating point dtype but got aweights with "
                           f"{w.dtype.libtorch} dtype")
    if w._data.size and bool((w._data < 0).any()):
        raise RuntimeError(f"cov(): {name} cannot be negative")
    return w


def cov(input, *, correction=1, fweights=None, aweights=None):
    """The covariance matrix of the variables in input's rows (observations in its columns; a 1-d input is
    one variable, the result then 0-d), with frequency and/or importance weights."""
    _tensor(input, "cov")
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.ndim} dimensions")
    correction = int_arg(correction, "cov", "correction")
    if input._data.dtype.kind == "b":
        raise RuntimeError("cov(): bool dtype is not supported for input")
    x = input.reshape(1, -1) if input.ndim < 2 else input
    n = x.shape[1]
    fw = _weights(fweights, "fweights", n, input, True)
    aw = _weights(aweights, "aweights", n, input, False)
    arrays = [x._data] + ([] if aw is None else [aw._data])
    dt = _dtype.result_type_of(arrays, []).np
    dt = dt if dt.kind == "f" else np.dtype(np.float32)
    if x._data.dtype != dt:
        x = x.to(_dtype.as_dtype(dt, "cov"))
    w = fw if aw is None else aw if fw is None else fw * aw
    if w is None:
        avg, norm = x.mean(1, keepdim=True), n - correction
    else:
        w = w.to(x.dtype)
        wsum = w.sum()
        avg = (x * w).sum(1, keepdim=True) / wsum
        if correction == 0:
            norm = wsum
        elif aw is None:
            norm = wsum - correction
        else:
            norm = wsum - correction * (w * aw.to(x.dtype)).sum() / wsum
    if bool((norm._data if isinstance(norm, Tensor) else norm) <= 0):
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number of "
                      "observations.", UserWarning, stacklevel=2)
        norm = norm.clamp(min=0) if isinstance(norm, Tensor) else 0
    xm = x - avg
    c = (xm @ (xm if w is None else xm * w).transpose(0, 1)) / norm
    return c.reshape(()) if input.ndim < 2 else c


def corrcoef(input):
    """Pearson's correlation coefficients of the variables in input's rows, clipped to [-1, 1]."""
    _tensor(input, "corrcoef")
    if input.ndim > 2:
        raise RuntimeError(f"corrcoef(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.ndim} dimensions")
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = c.diagonal()
    sd = d.sqrt()
    return (c / sd.reshape(-1, 1) / sd.reshape(1, -1)).clamp(-1, 1)


# ---- integration: trapezoid, cumulative_trapezoid ---------------------------------------------

def _trapezoid_parts(op_name, y, x, dx, dim):
    """(axis, the pair sums y[i] + y[i+1] along it, the spacings: a tensor broadcastable to them or a number)."""
    _tensor(y, op_name, "y")
    if y._data.dtype.kind == "b":
        raise RuntimeError(f"{op_name}: received a bool input for `y`, but bool is not supported")
    if y.ndim == 0:
        raise IndexError(f"{op_name}(): Dimension specified as {dim} but tensor has no dimensions")
    axis = wrap_dim(dim, y.ndim, op_name)
    n = y.shape[axis]
    pairs = y[_along(axis, slice(1, None))] + y[_along(axis, slice(None, -1))]
    if x is None:
        return axis, pairs, number(1 if dx is None else dx, op_name, "dx")
    if dx is not None:
        raise TypeError(f"{op_name}(): takes x or dx, not both")
    _tensor(x, op_name, "x")
    if x.device != y.device:
        raise device_mismatch(op_name, y, x)
    if x.ndim == 1:
        if x.shape[0] != n:
            raise RuntimeError(f"{op_name}: There must be one `x` value for each sample point")
        dxs = (x[1:] - x[:-1]).reshape((-1,) + (1,) * (y.ndim - axis - 1))
    else:
        if x.shape != y.shape:       # (PyTorch broadcasts an n-d x; here it must have y's shape)
            raise RuntimeError(f"{op_name}: an x of more than one dimension must have y's shape {list(y.shape)}, "
                               f"got {list(x.shape)}")
        xa = axis
        dxs = x[_along(xa, slice(1, None))] - x[_along(xa, slice(None, -1))]
    return axis, pairs, dxs


def _along(axis, s):
    return (slice(None),) * axis + (s,)


def _in_float(t):
    return t if t._data.dtype.kind == "f" else t.to(_dtype.get_default_float())


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoid rule along dim: sample points x (or a constant spacing dx, 1 by default)."""
    axis, pairs, dxs = _trapezoid_parts("trapezoid", y, x, dx, dim)
    if y.shape[axis] == 0:
        # (no interval: zeros of the reduced shape, without a graph, as PyTorch)
        return _zeros(y.shape[:axis] + y.shape[axis + 1:], y, _in_float(y).dtype)
    if isinstance(dxs, Tensor):
        return (pairs * dxs).sum(axis) / 2
    return _in_float(pairs).sum(axis) * (dxs / 2)


def trapz(y, x=None, *, dx=None, dim=-1):
    """trapezoid's older name."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running trapezoid rule along dim (one fewer element along it)."""
    from .reduction import cumsum
    axis, pairs, dxs = _trapezoid_parts("cumulative_trapezoid", y, x, dx, dim)
    terms = pairs * dxs / 2 if isinstance(dxs, Tensor) else _in_float(pairs) * (dxs / 2)
    return cumsum(terms, axis)


# ---- factories: logspace, range ------------------------------------------------------------------

def logspace(start, end, steps, base=10.0, *, dtype=None, layout=None, device=None, requires_grad=False):
    """base ** linspace(start, end, steps)."""
    from ..creation import tensor
    start, end = (number(v.item() if isinstance(v, Tensor) else v, "logspace", a)
                  for v, a in ((start, "start"), (end, "end")))
    base = number(base, "logspace", "base")
    steps = int_arg(steps, "logspace", "steps")
    if steps < 0:
        raise RuntimeError(f"logspace(): number of steps must be non-negative, got {steps}")
    dt = _dtype.as_dtype(dtype, "logspace") or _dtype.get_default_float()
    if not dt.is_floating_point:         # (PyTorch's integral kernel takes start and end in the integer type)
        start, end = math.trunc(start), math.trunc(end)
    exps = np.linspace(start, end, steps, dtype=np.float64)
    vals = np.power(float(base), exps)
    return tensor(vals if dt.is_floating_point else np.trunc(vals), dtype=dt, device=device,
                  requires_grad=requires_grad)


def range(start=0, end=None, step=1, *, dtype=None, layout=None, device=None, requires_grad=False):
    """start, start + step, ... up to and including end (deprecated in PyTorch: use arange)."""
    from ..creation import arange
    warnings.warn("torch.range is deprecated and will be removed in a future release because its behavior is "
                  "inconsistent with Python's range builtin. Instead, use torch.arange, which produces values in "
                  "[start, end).", UserWarning, stacklevel=2)
    if end is None:
        raise TypeError("range(): missing required argument 'end'")
    start, end, step = (number(v, "range", a) for v, a in ((start, "start"), (end, "end"), (step, "step")))
    if step == 0:
        raise RuntimeError("range(): step must be nonzero")
    if not all(math.isfinite(v) for v in (start, end, step)):
        raise RuntimeError(f"range(): unsupported range: {start} -> {end}")
    if (end - start) * step < 0:
        raise RuntimeError("range(): upper bound and lower bound inconsistent with step sign")
    n = int(math.floor((end - start) / step)) + 1
    dt = _dtype.as_dtype(dtype, "range") or _dtype.get_default_float()
    out = arange(n, dtype=_dtype.float64, device=device) * step + start
    return out.to(dt).requires_grad_(requires_grad) if requires_grad else out.to(dt)


# ---- indices: unravel_index ---------------------------------------------------------------------

def unravel_index(indices, shape):
    """The coordinates, one int64 tensor per dim of `shape`, of flat indices (negative ones count from the
    end), as a tuple."""
    _tensor(indices, "unravel_index", "indices")
    if indices._data.dtype.kind not in "iu":
        raise TypeError(f"unravel_index(): expected 'indices' to be integer dtype, but got {indices.dtype}")
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape_ = (int(shape),)
    elif isinstance(shape, (list, tuple)):
        shape_ = tuple(int_arg(s, "unravel_index", "shape") for s in shape)
    else:
        raise TypeError(f"unravel_index(): expected 'shape' to be int or sequence of ints, got "
                        f"{type(shape).__name__}")
    if any(s < 0 for s in shape_):
        raise ValueError(f"unravel_index(): 'shape' cannot have negative values, but got {shape_}")
    total = math.prod(shape_)
    a = indices._data.astype(np.int64)
    if a.size and bool(((a < -total) | (a >= total)).any()):
        raise RuntimeError(f"unravel_index(): 'indices' must be in range [{-total}, {total - 1}] for shape "
                           f"{shape_}")
    a = a % total if total else a
    coords = []
    for s in reversed(shape_):
        coords.append(a % s)
        a = a // s
    return tuple(Tensor._make(c, indices._backend) for c in reversed(coords))


# ---- products: chain_matmul ----------------------------------------------------------------------

@cast_at_entry
def chain_matmul(*matrices):
    """The product of 2-d matrices, left to right (deprecated in PyTorch: use linalg.multi_dot)."""
    warn_at_caller("torch.chain_matmul is deprecated and will be removed in a future PyTorch release. Use "
                   "torch.linalg.multi_dot instead, which accepts a list of two or more tensors rather than "
                   "multiple parameters.", UserWarning)
    matrices = _tensor_list(matrices, "chain_matmul")
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    for m in matrices:
        if m.ndim != 2:
            raise RuntimeError(f"chain_matmul(): Tensor dimension is {m.ndim}, expected 2 instead.")
    out = matrices[0]
    if len(matrices) == 1:
        return shape.clone(out)
    for m in matrices[1:]:
        out = out.mm(m)
    return out


# ---- renorm --------------------------------------------------------------------------------------

@cast_at_entry
def renorm(input, p, dim, maxnorm):
    """input with each slice along dim whose p-norm exceeds maxnorm scaled down to norm maxnorm."""
    p, maxnorm = number(p, "renorm", "p"), number(maxnorm, "renorm", "maxnorm")
    axis = wrap_dim(dim, input.ndim, "renorm")
    if input.ndim < 2:
        raise RuntimeError(f"renorm(): input needs at least 2 dimensions, got {input.ndim} dimensions")
    if p <= 0:
        raise RuntimeError("renorm(): non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm(): expected maxnorm to be >= 0 but got {maxnorm}")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"renorm(): expected a floating point tensor, got {input.dtype.libtorch}")
    return Renorm.apply1(input, float(p), tuple(d for d in builtins.range(input.ndim) if d != axis), float(maxnorm))


class Renorm(Op):
    """Each slice (over `others`, the dims but one) whose p-norm n exceeds maxnorm, times maxnorm / (n + 1e-7).
    One node that saves the input, as PyTorch's; the gradient where a slice was scaled is
    factor * g - maxnorm / (n + 1e-7)^2 * norm_backward(sum(g * x)), elsewhere g."""
    _name, op_name = "RenormBackward0", "renorm"
    save_inputs = (0,)

    def forward(self, x, p, others, maxnorm):
        self.p, self.others, self.maxnorm = p, others, maxnorm
        n = p_norm(x.astype(np.float32) if x.dtype == np.float16 else x, p, others)     # (half: in float32)
        factor = P.where(n > maxnorm, maxnorm / (n + 1e-7), 1.0).astype(x.dtype)
        return x * factor

    def backward(self, g, x):
        p, others, maxnorm = self.p, self.others, self.maxnorm
        n = p_norm(x, p, others)
        inv = 1.0 / (n + 1e-7)
        nb = norm_backward(P.sum(g * x, others, True), x, n, p, others)
        return P.where(n > maxnorm, inv * maxnorm * g - maxnorm * inv * inv * nb, g)

    @staticmethod
    def jvp(y, inputs, tangents, p, others, maxnorm):
        # the same derivative forward, with the norm's forward formula (0 where a slice's norm is 0: the
        # transposed backward gives NaN there)
        (x,), (t,) = inputs, tangents
        n = p_norm(x, p, others)
        inv = 1.0 / (n + 1e-7)
        n_t = Norm.jvp(n, inputs, tangents, p, others, True)
        return P.where(n > maxnorm, inv * maxnorm * t - maxnorm * inv * inv * n_t * x, t)


# ---- histogram -------------------------------------------------------------------------------------

def histogram(input, bins=100, *, range=None, weight=None, density=False):
    """(hist, bin_edges): the counts (or summed weights) of input's elements in `bins` equal bins over `range`
    (the data's min and max by default) or between the edges of a 1-d tensor `bins`; the last bin includes its
    right edge. density: divided by the total and the bin widths. No gradient (as PyTorch)."""
    _tensor(input, "histogram")
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"histogram(): \"histogramdd\" not implemented for '{input.dtype.libtorch}'")
    xp = input._backend.xp
    a = input._data.reshape(-1)
    if isinstance(bins, Tensor):
        if bins.device != input.device:
            raise device_mismatch("histogram", input, bins)
        if bins.ndim != 1 or bins.numel() < 2:
            raise RuntimeError(f"torch.histogram(): bins tensor should have one dimension and at least 2 "
                               f"elements, but got shape {list(bins.shape)}")
        if bins.dtype is not input.dtype:
            raise RuntimeError(f"torch.histogram: input tensor and bins tensors should have the same dtype, but "
                               f"got input {input.dtype.libtorch} and bins {bins.dtype.libtorch}")
        edges = bins._data
        if range is not None:
            raise TypeError("histogram(): range is taken only with a number of bins")
    else:
        nbins = int_arg(bins, "histogram", "bins")
        if nbins <= 0:
            raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {nbins} for dimension 0")
        lo, hi = _histogram_range(a, range)
        edges = xp.linspace(lo, hi, nbins + 1).astype(a.dtype)
    if weight is not None:
        _tensor(weight, "histogram", "weight")
        if weight.shape != input.shape:
            raise RuntimeError(f"torch.histogram: if weight tensor is provided it should have the same shape as "
                               f"the input tensor excluding its innermost dimension, but got input with shape "
                               f"{list(input.shape)} and weight with shape {list(weight.shape)}")
        if weight.dtype is not input.dtype:
            raise RuntimeError(f"torch.histogram: if weight tensor is provided, it should have the same dtype as "
                               f"the input tensor, but got input {input.dtype.libtorch} and weight "
                               f"{weight.dtype.libtorch}")
        if weight.device != input.device:
            raise device_mismatch("histogram", input, weight)
    if edges.size > 1 and bool((edges[1:] < edges[:-1]).any()):
        raise RuntimeError("torch.histogram: bin edges should be monotonically increasing")
    w = None if weight is None else weight._data.reshape(-1)
    hist = _bin_counts(a, edges, w, xp)
    if density:
        widths = edges[1:] - edges[:-1]
        hist = hist / (hist.sum() * widths)
    hist, edges = hist.astype(a.dtype), xp.array(edges, copy=True)
    if input.requires_grad and is_grad_enabled():     # (PyTorch records both results with no formula)
        return HistogramResult(HistogramResults.apply1(input, hist), HistogramResults.apply1(input, edges))
    be = input._backend
    return HistogramResult(Tensor._make(hist, be), Tensor._make(edges, be))


class HistogramResults(NoDerivative):
    """A result of histogram: it requires grad, and a backward through it raises (PyTorch's)."""
    op_name, aten = "histogram", "histogram"

    def forward(self, x, result):
        return result


def _histogram_range(a, rng):
    if rng is not None:
        if not isinstance(rng, (list, tuple)) or len(rng) != 2:
            raise TypeError("histogram(): argument 'range' must be a pair of floats")
        lo, hi = (float(number(v, "histogram", "range")) for v in rng)
    elif a.size:
        lo, hi = float(a.min()), float(a.max())
    else:
        lo, hi = 0.0, 1.0
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histogram: range of [{lo}, {hi}] is not finite")
    if lo > hi:
        raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min {lo} max {hi} for "
                           f"dimension 0")
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return lo, hi


def _bin_counts(a, edges, w, xp):
    """The counts (weights summed) per bin: edges[i] <= v < edges[i+1], the last bin closed on the right."""
    n = edges.shape[0] - 1
    keep = (a >= edges[0]) & (a <= edges[-1])
    idx = xp.searchsorted(edges, a, side="right") - 1
    idx = xp.minimum(idx, n - 1)
    idx = xp.where(keep, idx, 0)
    vals = keep.astype(xp.float64) if w is None else xp.where(keep, w.astype(xp.float64), 0)
    return xp.bincount(idx, weights=vals, minlength=n)[:n]


# ---- Tensor.unfold: windows as a view ----------------------------------------------------------------

def _as_strided(x, shape_, strides):
    if isinstance(x, np.ndarray):
        return np.lib.stride_tricks.as_strided(x, shape_, strides)
    return shape._xp_of(x).lib.stride_tricks.as_strided(x, shape_, strides)


class UnfoldView(Op):
    """The windows of length `size`, `step` apart, along an axis: that axis takes the window count and a new
    last axis the window (a view). Backward sums each window's gradient back into place."""
    _name, op_name = "UnfoldBackward0", "unfold"
    is_view = True

    def forward(self, x, axis, size, step):
        self.in_shape, self.axis, self.size, self.step = x.shape, axis, size, step
        if x.ndim == 0:
            return x.reshape(1)[:size]          # (size 0 or 1: PyTorch's (size,))
        count = (x.shape[axis] - size) // step + 1
        shp = x.shape[:axis] + (count,) + x.shape[axis + 1:] + (size,)
        st = x.strides
        strides = st[:axis] + (st[axis] * step,) + st[axis + 1:] + (st[axis],)
        return _as_strided(x, shp, strides)

    def backward(self, g):
        if len(self.in_shape) == 0:
            if self.size:
                return g.reshape(())
            return g.new_zeros(()) if isinstance(g, Tensor) else shape._xp_of(g).zeros((), g.dtype)
        return UnfoldGrad.apply1(g, self.in_shape, self.axis, self.size, self.step) if isinstance(g, Tensor) \
            else _unfold_grad(g, self.in_shape, self.axis, self.size, self.step)


def _unfold_grad(g, in_shape, axis, size, step):
    xp = shape._xp_of(g)
    out = xp.zeros(in_shape, dtype=g.dtype)
    count = g.shape[axis]
    if count and size:
        moved = xp.moveaxis(g, -1, axis + 1)               # (..., count, size, ...)
        for j in builtins.range(size):                    # (one offset's windows never overlap: += is exact)
            src = moved[(slice(None),) * (axis + 1) + (j,)]
            dst = (slice(None),) * axis + (slice(j, j + (count - 1) * step + 1, step),)
            out[dst] += src
    return out


class UnfoldGrad(Op):
    """unfold's backward as an op (for create_graph): its own backward is the unfold of the gradient."""
    _name, op_name = "UnfoldBackwardBackward0", "unfold_backward"

    def forward(self, g, in_shape, axis, size, step):
        self.axis, self.size, self.step = axis, size, step
        return _unfold_grad(g, in_shape, axis, size, step)

    def backward(self, gg):
        if isinstance(gg, Tensor):
            return unfold(gg, self.axis, self.size, self.step)
        return UnfoldView().forward(gg, self.axis, self.size, self.step).copy()


def unfold(self, dimension, size, step):
    """The windows of length `size`, `step` apart, along `dimension` (a view: the dim becomes the window count
    and a new last dim the window)."""
    axis = wrap_dim(dimension, self.ndim, "unfold")
    size, step = int_arg(size, "unfold", "size"), int_arg(step, "unfold", "step")
    n = self.shape[axis] if self.ndim else 1
    if size < 0:
        raise RuntimeError(f"unfold(): size is {size} but must be >= 0")
    if size > n:
        raise RuntimeError(f"unfold(): maximum size for tensor at dimension {axis} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"unfold(): step is {step} but must be > 0")
    return UnfoldView.apply1(self, axis, size, step)


# the Tensor methods, ag functions and in-place forms (x.<name>_) this family adds
METHODS = {
    "diagflat": diagflat, "cov": lambda self, *, correction=1, fweights=None, aweights=None:
        cov(self, correction=correction, fweights=fweights, aweights=aweights),
    "corrcoef": corrcoef, "renorm": renorm, "unfold": unfold,
    "histogram": lambda self, bins=100, *, range=None, weight=None, density=False:
        histogram(self, bins, range=range, weight=weight, density=density),
}
FUNCTIONS = {
    "meshgrid": meshgrid, "cartesian_prod": cartesian_prod, "combinations": combinations,
    "block_diag": block_diag, "diagflat": diagflat, "cov": cov, "corrcoef": corrcoef,
    "trapezoid": trapezoid, "trapz": trapz, "cumulative_trapezoid": cumulative_trapezoid,
    "logspace": logspace, "range": range, "unravel_index": unravel_index, "chain_matmul": chain_matmul,
    "renorm": tensor_function("renorm", renorm), "histogram": histogram,
    "unflatten": tensor_function("unflatten", shape.unflatten),
}
INPLACE = {"renorm": Composed()}           # (its nodes keep the input: computed from a copy)
