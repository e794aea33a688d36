"""NaN-aware and paired reductions: nansum, nanmean, nanmedian, quantile,
nanquantile, var_mean, std_mean, aminmax, count_nonzero; and the scans
cumprod, logcumsumexp, cummax, cummin and diff.

Most are compositions of the existing differentiable ops (their gradients,
create_graph and the CUDA path come with them); the scans are Ops of their
own, whose backward formulas follow PyTorch's derivatives.yaml."""
import collections
import sys

import numpy as np

from ..autograd.op import Op, _version_error_for, as_array, device_mismatch
from ..tensor import Tensor
from . import prims as P
from ._util import int_arg, number, wrap_dim
from .indexing import along
from .reduction import (Amax, Amin, Mean, MedianAll, MedianDim, Var, Std, reduced_axes, check_tensor, constant_like,
                        variance_correction, check_differentiable_dtype, check_nonempty)
from .reduction import Sum, expand_back
from .shape import cat
from .sorting import stable_argsort
from ..creation import zeros_like
from .._dtype import as_dtype
from ..amp import cast_at_entry

_int64 = np.dtype(np.int64)

# the result types' names are PyTorch's (torch.return_types.*)
NanmedianResult = collections.namedtuple("nanmedian", ["values", "indices"])
AminmaxResult = collections.namedtuple("aminmax", ["min", "max"])
CummaxResult = collections.namedtuple("cummax", ["values", "indices"])
CumminResult = collections.namedtuple("cummin", ["values", "indices"])


def _data(a):
    return a._data if isinstance(a, Tensor) else a


def _is_float(x):
    return x._data.dtype.kind == "f"


# ---- NaN-aware sums and means ------------------------------------------------------

class Nansum(Sum):
    """The sum with NaNs counted as 0, which take no gradient; one node that saves the input, as PyTorch's."""
    _name, op_name = "NansumBackward0", "nansum"
    save_inputs = (0,)

    def forward(self, x, axes, keepdim, np_dtype):
        if x.dtype.kind == "f":
            x = P.where(P.isnan(x), 0, x)
        return Sum.forward(self, x, axes, keepdim, np_dtype)

    def backward(self, g, x):
        return P.where(P.isnan(x), 0, expand_back(g, self.shape, self.axes, self.keepdim))


def _nansum(input, dim, keepdim, dtype, op_name):
    check_tensor(input, op_name)
    npd = None if dtype is None else as_dtype(dtype, op_name).np
    check_differentiable_dtype(input, npd, op_name)
    return Nansum.apply1(input, reduced_axes(input, dim, op_name), bool(keepdim), npd)


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """The sum, NaNs counted as zero."""
    return _nansum(input, dim, keepdim, dtype, "nansum")


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """The mean of the non-NaN elements (NaN where there are none)."""
    check_tensor(input, "nanmean")
    if not _is_float(input):
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype but got "
                           f"{input.dtype.libtorch}")
    if dtype is not None and not as_dtype(dtype, "nanmean").is_floating_point:
        raise RuntimeError(f"nanmean(): could not infer output dtype. Optional dtype must be either a floating "
                           f"point or complex dtype. Got: {as_dtype(dtype).libtorch}")
    total = _nansum(input, dim, keepdim, dtype, "nanmean")
    return total / (~input.isnan()).sum(reduced_axes(input, dim, "nanmean"), bool(keepdim))


# ---- nanmedian: median's Ops, picking among the non-NaN values --------------------------

def _nanmedian_index(x, axis, keepdims=True):
    """The index of the lower median of the non-NaN values along axis (the
    first NaN for none), with median's tie rule (stable sort, NaN last)."""
    order = stable_argsort(x, axis)
    n = x.shape[axis]
    if x.dtype.kind == "f":
        k = np.maximum((n - np.isnan(x).sum(axis=axis, keepdims=True) - 1) // 2, 0)
    else:
        k = np.zeros_like(x, dtype=_int64, shape=x.shape[:axis] + (1,) + x.shape[axis + 1:]) + (n - 1) // 2
    return P.take_along(order, k, axis)


def _nanmedian_all(x, axes, keepdim):
    flat = x.reshape(-1)
    if not flat.size:
        with np.errstate(invalid="ignore"):          # (NaN into an integer type: PyTorch's value, no warning)
            return np.full_like(flat, np.nan, shape=())
    return flat[_nanmedian_index(flat, 0)].reshape(())


class NanmedianAll(MedianAll):
    _name, op_name = "NanmedianBackward0", "nanmedian"
    reduce = staticmethod(_nanmedian_all)


class NanmedianDim(MedianDim):
    _name, op_name = "NanmedianBackward1", "nanmedian"
    pick = staticmethod(_nanmedian_index)


def nanmedian(input, dim=None, keepdim=False):
    """The lower median of the non-NaN elements, or (values, indices) along `dim`."""
    check_tensor(input, "nanmedian")
    if dim is None:
        if input._data.dtype.kind == "b" and input.numel():      # (PyTorch's empty bool: True)
            raise NotImplementedError("nanmedian(): \"median_cpu\" not implemented for 'Bool'")
        return NanmedianAll.apply1(input, None, False)
    axis = wrap_dim(dim, input.ndim, "nanmedian")
    if input.ndim:
        check_nonempty(input, "nanmedian", (axis,))
    if input._data.dtype.kind == "b":
        raise NotImplementedError("nanmedian(): \"median_out\" not implemented for 'Bool'")
    if input.ndim == 0:
        return NanmedianResult(input.clone(), zeros_like(input, dtype="int64"))
    return NanmedianResult(*NanmedianDim.apply1(input, axis, bool(keepdim)))


# ---- quantile, nanquantile: sort, gather, lerp (PyTorch's composition) --------------------

_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _q_tensor(input, q, op_name):
    """q as a tensor of input's dtype and device, shape (Q,), and whether it was 1-d."""
    if isinstance(q, Tensor):
        if q.ndim > 1:
            raise RuntimeError(f"{op_name}() q must be a scalar or 1D tensor (got shape {list(q.shape)})")
        if q.dtype is not input.dtype:
            raise RuntimeError(f"{op_name}() q tensor must be same dtype as the input tensor (input "
                               f"{input.dtype.libtorch}, q {q.dtype.libtorch})")
        if q._backend is not input._backend:
            raise device_mismatch(op_name, input, q)
        qd = q._data
        if not bool(((qd >= 0) & (qd <= 1)).all()):
            raise RuntimeError(f"{op_name}() q values must be in the range [0, 1]")
        return q.reshape(-1), q.ndim == 1
    v = float(number(q, op_name, "q"))
    if not 0 <= v <= 1:
        raise RuntimeError(f"{op_name}() q must be in the range [0, 1] but got {v}")
    return Tensor._make(input._backend.xp.full((1,), v, dtype=input._data.dtype), input._backend), False


def _quantile(op_name, input, q, dim, keepdim, interpolation, ignore_nan):
    check_tensor(input, op_name)
    keepdim = bool(keepdim)
    if not isinstance(interpolation, str):
        raise TypeError(f"{op_name}(): argument 'interpolation' must be str, not {type(interpolation).__name__}")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{op_name}() interpolation must be one of linear, lower, higher, midpoint or "
                           f"nearest, but got {interpolation}")
    if input._data.dtype not in (np.float32, np.float64):
        raise RuntimeError(f"{op_name}() input tensor must be either float or double dtype (got "
                           f"{input.dtype.libtorch})")
    axis = None if dim is None else wrap_dim(dim, input.ndim, op_name)
    qt, q_dim = _q_tensor(input, q, op_name)
    if input.numel() == 0:
        raise RuntimeError(f"{op_name}() input tensor must be non-empty (shape {list(input.shape)})")
    if axis is None:
        xs, out_shape = input.reshape(-1), (1,) * input.ndim if keepdim else ()
    elif input.ndim == 0:
        xs, out_shape = input.reshape(1), ()
    else:
        xs = input.movedim(axis, -1)
        out_shape = tuple(1 if d == axis else s for d, s in enumerate(input.shape) if keepdim or d != axis)
    srt = xs.sort(-1).values                        # (NaN last)
    sd, xp, n = srt._data, input._backend.xp, srt.shape[-1]
    nan = xp.isnan(sd)
    # each row's rank of q (a tensor: linear interpolation's weight is differentiable in q)
    if ignore_nan:
        last = (n - nan.sum(-1, keepdims=True) - 1).astype(sd.dtype)
        ranks = qt * constant_like(qt, last)
        ranks = ranks.where(constant_like(qt, ranks._data >= 0), 0)     # (no value at all: rank 0, a NaN)
    else:
        ranks = (qt * (n - 1)).where(constant_like(qt, ~nan.any(-1, keepdims=True)), n - 1)
    rd = ranks._data
    if interpolation in ("lower", "higher", "nearest"):
        rd = {"lower": xp.floor, "higher": xp.ceil, "nearest": xp.rint}[interpolation](rd)
    below = xp.floor(rd)
    picked = lambda r: srt.gather(-1, Tensor._make(r.astype(_int64), input._backend))   # noqa: E731
    out = picked(below)
    if interpolation in ("linear", "midpoint"):
        w = 0.5 if interpolation == "midpoint" else ranks - constant_like(ranks, below)
        out = out.lerp(picked(xp.ceil(rd)), w)
    if q_dim:
        return out.movedim(-1, 0).reshape((qt.shape[0],) + out_shape)
    return out.reshape(out_shape)


@cast_at_entry
def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The q-th quantiles (q a number or a 1-d tensor, its dim first in the
    result) over all elements or along `dim`; a NaN in a row makes it NaN."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


@cast_at_entry
def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """quantile of the non-NaN values (NaN for a row of NaNs only)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)


# ---- var_mean, std_mean, aminmax, count_nonzero --------------------------------------

class VarMean(Var):
    """(var, mean) as one node that saves the input, as PyTorch's VarMeanBackward0 (a write to the input
    before backward is a version error through either output); the gradient is the two outputs' summed."""
    _name, op_name = "VarMeanBackward0", "var_mean"
    spread = Var

    def forward(self, x, axes, keepdim, correction):
        return self.spread.forward(self, x, axes, keepdim, correction), Mean.forward(self, x, axes, keepdim, None)

    def backward(self, grads, x):
        g_spread, g_mean = grads
        gx = None if g_spread is None else self.spread_backward(g_spread, x)
        if g_mean is not None:
            gm = Mean.backward(self, g_mean)
            gx = gm if gx is None else gx + gm
        return gx

    def spread_backward(self, g, x):
        return Var.backward(self, g, x)


class StdMean(VarMean):
    _name, op_name = "StdMeanBackward0", "std_mean"
    spread = Std
    std_version = None           # (the std output's version counter, its version, the std: recorded nodes only)

    @staticmethod
    def jvp(y, inputs, tangents, axes, keepdim, correction):
        # std's forward formula (0 where the std is 0) and the mean's
        return Std.jvp(y[0], inputs, tangents, axes, keepdim, correction), P.mean(tangents[0], axes, keepdim)

    def spread_backward(self, g, x):
        # PyTorch saves the std output alone: a write to it is a version error, to the mean none (our node
        # saves outputs all or none, so the std's version is kept apart, by _spread_mean). The std is
        # recomputed from the input; where it is 0 its derivative is 0, not sqrt's inf: std's backward
        # reads it only where it is not 0, so PyTorch's saved std passes nothing back there either
        if self.std_version is not None and self.std_version[0][0] != self.std_version[1]:
            vc, version, std = self.std_version
            raise _version_error_for(self, std, 0, version, vc[0])
        v = P.var(x, self.axes, self.keepdim, self.correction)
        zero = v == 0
        return Std.backward(self, g, x, P.where(zero, 0, P.sqrt(P.where(zero, 1, v))))


def _spread_mean(cls, op_name, input, dim, unbiased, keepdim, correction):
    check_tensor(input, op_name)
    if not _is_float(input):
        raise RuntimeError(f"{op_name} only support floating point and complex dtypes (got "
                           f"{input.dtype.libtorch})")
    if isinstance(dim, bool):                       # the (input, unbiased) form
        dim, unbiased = None, dim
    axes, keepdim = reduced_axes(input, dim, op_name), bool(keepdim)
    out = cls.apply1(input, axes, keepdim, variance_correction(op_name, unbiased, correction))
    if cls is StdMean and out[0]._node is not None:
        out[0]._node.std_version = (out[0]._vc, out[0]._vc[0], out[0]._data)
    return out


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(var, mean) over dim (all by default), as var and mean."""
    return _spread_mean(VarMean, "var_mean", input, dim, unbiased, keepdim, correction)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(std, mean) over dim (all by default), as std and mean."""
    return _spread_mean(StdMean, "std_mean", input, dim, unbiased, keepdim, correction)


def aminmax(input, *, dim=None, keepdim=False):
    """(min, max) over all elements or along `dim`; gradients as amin's and amax's."""
    check_tensor(input, "aminmax")
    axes, keepdim = None, bool(keepdim)
    if dim is None:
        if input.numel() == 0:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation "
                               "has no identity.")
    else:
        axis = wrap_dim(dim, input.ndim, "aminmax")
        if input.ndim:
            axes = (axis,)
            check_nonempty(input, "aminmax", axes)
    return AminmaxResult(Amin.apply1(input, axes, keepdim), Amax.apply1(input, axes, keepdim))


def count_nonzero(input, dim=None):
    """The number of nonzero elements (int64) over all dims or `dim` (an int or a tuple)."""
    check_tensor(input, "count_nonzero")
    axes = reduced_axes(input, dim, "count_nonzero")
    r = (input._data != 0).sum(axis=axes, dtype=_int64)
    return Tensor._make(as_array(r, input._backend), input._backend)


# ---- scans -----------------------------------------------------------------------

def _scan(a, axis, ufunc):
    """ufunc's running reduction along axis. NumPy: accumulate; elsewhere (CuPy's
    accumulate is for add and multiply only) a doubling scan of log2(n) passes."""
    if type(a) is np.ndarray:
        return ufunc.accumulate(a, axis=axis)
    out = np.moveaxis(a, axis, -1).copy()
    s = 1
    while s < out.shape[-1]:
        out[..., s:] = ufunc(out[..., s:], out[..., :-s])
        s *= 2
    return np.moveaxis(out, -1, axis)


def _positions(x, axis):
    """Each position's index along axis, broadcastable to x, on x's device."""
    xp = np if type(x) is np.ndarray else sys.modules["cupy"]
    return xp.arange(x.shape[axis]).reshape((-1,) + (1,) * (x.ndim - axis - 1))


def _rev_cumsum(g, axis):
    return P.flip(P.cumsum(P.flip(g, (axis,)), axis), (axis,))


class Cumprod(Op):
    _name, op_name = "CumprodBackward0", "cumprod"
    save_inputs = (0,)
    save_result = True

    def forward(self, x, axis, dtype=None):
        self.axis = axis
        if dtype is not None and x.dtype != dtype:
            x = x.astype(dtype)        # (dtype=: PyTorch casts here; the backward reads the input uncast)
        if axis is None:
            return x.astype(_int64) if x.dtype.kind in "biu" else x.copy()
        # (the ufunc's method, not np.cumprod: NumPy's inf * 0 warning is then raised from
        # this module, which the package's warning filter silences, as PyTorch is silent)
        if x.dtype.kind in "biu":                   # integers multiply as int64, as PyTorch's
            return np.multiply.accumulate(x, axis, dtype=_int64)
        if x.dtype == np.float16:                   # (float32 running products, each rounded once)
            return np.multiply.accumulate(x, axis, dtype=np.float32).astype(np.float16)
        return np.multiply.accumulate(x, axis)

    def backward(self, g, x, y):
        # PyTorch's cumprod_backward: sum_{j>=k} g_j y_j / x_k without zeros; with
        # them, exact: that form before a slice's first zero z, at z the product
        # before it times sum_{j>=z} g_j prod_{z<i<=j} x_i, and 0 after it
        ax = self.axis
        if ax is None or x.shape[ax] <= 1:
            return g
        zero = _data(x) == 0
        if not bool(zero.any()):
            return _rev_cumsum(g * y, ax) / x
        if isinstance(x, Tensor):
            return _cumprod_grad_recorded(g, x, ax)
        seen = np.add.accumulate(zero, ax, dtype=_int64)
        before, first = seen == 0, zero & (seen == 1)
        plain = _rev_cumsum(P.where(before, g * y, 0), ax) / P.where(before, x, 1)
        after = np.multiply.accumulate(P.where(before | first, 1, x), ax)
        tail = P.sum(P.where(before, 0, g * after), (ax,), True)
        head = P.prod(P.where(before, x, 1), ax, True)
        return P.where(before, plain, P.where(first, head * tail, 0))


def _cumprod_grad_recorded(g, x, ax):
    """The same gradient as Tensor ops, differentiable at the zeros too (entries
    after a zero have gradient 0 but not derivative 0): PyTorch's O(n^2) form,
    sum_{j>=k} g_j prod_{i<=j, i!=k} x_i from n running products per slice."""
    xm, gm = x.movedim(ax, -1), g.movedim(ax, -1)
    n, xp = xm.shape[-1], x._backend.xp
    rows = xm.unsqueeze(-2).expand(*xm.shape[:-1], n, n).where(constant_like(x, ~xp.eye(n, dtype=bool)), 1)
    upper = constant_like(x, xp.triu(xp.ones((n, n), dtype=bool)))      # [k, j]: j >= k
    terms = cumprod(rows, -1) * gm.unsqueeze(-2)
    return terms.where(upper, 0).sum(-1).movedim(-1, ax)


def cumprod(input, dim, *, dtype=None):
    """Running products along dim (integers as int64, unless dtype says)."""
    check_tensor(input, "cumprod")
    axis = wrap_dim(dim, input.ndim, "cumprod")
    dt = as_dtype(dtype, "cumprod")
    if dt is not None:
        check_differentiable_dtype(input, dt.np, "cumprod")
    y = Cumprod.apply1(input, axis if input.ndim else None, None if dt is None else dt.np)
    if dt is not None and y.dtype is not dt:        # (dtype= asked for a narrower int: int64 made)
        y = y.to(dt)
    return y


def _logcumsumexp_of(a, axis):
    if isinstance(a, Tensor):
        return logcumsumexp(a, axis)
    return _scan(a, axis, np.logaddexp)


class Logcumsumexp(Op):
    _name, op_name = "LogcumsumexpBackward0", "logcumsumexp"
    save_inputs = (0,)
    save_result = True

    def forward(self, x, axis):
        self.axis = axis
        if axis is None:
            return x.copy()
        if x.dtype == np.float16:
            return _scan(x.astype(np.float32), axis, np.logaddexp).astype(np.float16)
        return _scan(x, axis, np.logaddexp)

    def backward(self, g, x, y):
        # PyTorch's logcumsumexp_backward: the positive and negative parts of g in
        # log space, each a reversed logcumsumexp (no overflow of exp(x - y))
        ax = self.axis
        if ax is None:
            return g
        low = float(np.finfo(_data(x).dtype).min)
        log_g = P.log(P.abs(g))
        rev = lambda t: P.flip(_logcumsumexp_of(P.flip(t, (ax,)), ax), (ax,))   # noqa: E731
        part = lambda mask: P.exp(rev(P.where(mask, log_g, low) - y) + x)        # noqa: E731
        return part(g > 0) - part(g < 0)

    @staticmethod
    def jvp(y, inputs, tangents, axis):
        # PyTorch's logcumsumexp_jvp: running sums of exp(x - max) * t over those of exp(x - max), + 1e-13 (the
        # transposed backward takes log|g| of its dummy g: NaN everywhere)
        (x,), (t,) = inputs, tangents
        if x.numel() == 0:
            return t * 1                     # (PyTorch's max of the empty dim raises)
        if axis is None:                     # 0-d: one term
            e = (x - x).exp()
            return e * t / (e + 1e-13)
        e = (x - x.amax(axis, keepdim=True)).exp()
        return (e * t).cumsum(axis) / (e.cumsum(axis) + 1e-13)


def logcumsumexp(input, dim):
    """log(cumsum(exp(input))) along dim, computed stably."""
    check_tensor(input, "logcumsumexp")
    axis = wrap_dim(dim, input.ndim, "logcumsumexp")
    if not _is_float(input):
        raise NotImplementedError(f"logcumsumexp(): \"logcumsumexp_out_cpu\" not implemented for "
                                  f"'{input.dtype.libtorch}'")
    return Logcumsumexp.apply1(input, axis if input.ndim else None)


class Cummax(Op):
    """(running max, its index): ties and NaNs take the latest index, as
    PyTorch's; the gradient adds up at the indices."""
    _name, op_name = "CummaxBackward0", "cummax"
    nondiff_outputs = (1,)
    save_inputs = (0,)            # (read for its shape only, but PyTorch saves it: writing it is a version error)
    ufunc = np.maximum

    def forward(self, x, axis):
        self.axis, self.shape = axis, x.shape
        if axis is None:
            return x.copy(), np.zeros_like(x, dtype=_int64)
        v = _scan(x, axis, self.ufunc)
        hit = x == v
        if x.dtype.kind == "f":
            hit |= np.isnan(x)
        # the last position holding the running value (ties: the latest)
        self.idx = _scan(np.where(hit, _positions(x, axis), 0), axis, np.maximum)
        return v, self.idx

    def backward(self, grads, x):
        g = grads[0]
        if self.axis is None:
            return g
        return P.index_add(g, along(self.idx, self.axis, self._backend.xp), self.shape)


class Cummin(Cummax):
    _name, op_name = "CumminBackward0", "cummin"
    ufunc = np.minimum


def _cum_extreme(cls, result, input, dim):
    check_tensor(input, cls.op_name)
    axis = wrap_dim(dim, input.ndim, cls.op_name)
    return result(*cls.apply1(input, axis if input.ndim else None))


def cummax(input, dim):
    """(values, indices): the running maximum along dim and where it is."""
    return _cum_extreme(Cummax, CummaxResult, input, dim)


def cummin(input, dim):
    """(values, indices): the running minimum along dim and where it is."""
    return _cum_extreme(Cummin, CumminResult, input, dim)


# ---- diff -----------------------------------------------------------------------

def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The n-th forward difference along dim (bools: !=), after joining prepend
    and append to input there."""
    check_tensor(input, "diff")
    n = int_arg(n, "diff", "n")
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"diff(): order must be non-negative but got {n}")
    axis = wrap_dim(dim, input.ndim, "diff")
    for name, t in (("prepend", prepend), ("append", append)):
        if t is None:
            continue
        if not isinstance(t, Tensor):
            raise TypeError(f"diff(): argument '{name}' must be Tensor, not {type(t).__name__}")
        if t.ndim != input.ndim:
            raise RuntimeError("diff expects prepend or append to be the same dimension as input")
        for d in range(input.ndim):
            if d != axis and t.shape[d] != input.shape[d]:
                raise RuntimeError(f"diff expects the shape of tensor to prepend or append to match that of "
                                   f"input except along the differencing dimension; input.size({d}) = "
                                   f"{input.shape[d]}, but got tensor.size({d}) = {t.shape[d]}")
    if n == 0:
        return input.clone()                        # (prepend and append ignored, as PyTorch's)
    x = input
    if prepend is not None or append is not None:
        x = cat([t for t in (prepend, input, append) if t is not None], axis)
    for _ in range(min(n, x.shape[axis])):
        m = x.shape[axis] - 1
        a, b = x.narrow(axis, 1, m), x.narrow(axis, 0, m)
        x = a != b if x._data.dtype.kind == "b" else a - b
    return x


_NAMES = ("nansum nanmean nanmedian quantile nanquantile aminmax count_nonzero cumprod logcumsumexp "
          "cummax cummin diff").split()

def _cumprod_inplace(self, dim, dtype=None):
    dt = as_dtype(dtype, "cumprod_")
    if dt is not None and dt is not self.dtype:      # (the result would need another dtype than self's)
        raise RuntimeError(f"cumprod_: Bad in-place call: input tensor dtype {self.dtype.libtorch} and output "
                           f"tensor dtype {dt.libtorch} should match")


# the methods that have an in-place form, x.<name>_ (ops/inplace.py makes them), with a check of what
# the in-place form refuses
INPLACE = {"cumprod": _cumprod_inplace}

# Tensor methods this module adds (attached by ops/methods.py)
METHODS = {name: globals()[name] for name in _NAMES}
# ag.<name> functions this module adds (exported by autograd_gpu/__init__.py); those
# whose first operand must be a Tensor go through functions.tensor_function
FUNCTIONS = {name: globals()[name] for name in _NAMES + ["var_mean", "std_mean"]}
