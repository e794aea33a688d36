"""Reductions: sum, mean, prod, var/std, amax/amin, max/min, logsumexp,
softmax/log_softmax, norm, argmax/argmin, all/any.

A reduction's backward mostly broadcasts the gradient back over the reduced
dims (`expand_back`); formulas follow derivatives.yaml."""
import collections
import math

import numpy as np

from ..autograd.op import Op
from ..autograd.grad_mode import state as grad_state
from ..tensor import Tensor
from . import blocked, prims as P
from .sorting import kth_of_stable_argsort
from ._util import wrap_dims, wrap_dim, keepdim_shape, as_float, number
from .._dtype import as_dtype, from_numpy_dtype
from ..backend import cupy_backend as _cupy_backend

_int64 = np.dtype(np.int64)


def expand_back(g, shape, axes, keepdim):
    """The gradient of a reduction over `axes` of a `shape`d input."""
    if not keepdim:
        g = P.reshape(g, keepdim_shape(shape, axes))
    return P.expand(g, shape)


def reduced_axes(x, dim, op_name):
    """Reduced dims as a tuple, or None for all (an empty dim list means all)."""
    axes = wrap_dims(dim, x.ndim, op_name)
    return axes or None


def constant_like(like, arr):
    """An array used by a backward formula, as a constant Tensor in Tensor mode."""
    return Tensor._make(arr, like._backend) if isinstance(like, Tensor) else arr


class Reduction(Op):
    """Common state: input shape, reduced axes, keepdim."""

    def _set(self, x, axes, keepdim):
        self.shape, self.axes, self.keepdim = x.shape, axes, keepdim

    def count(self):
        return _count(self.shape, self.axes)


def _count(shape, axes):
    """The number of elements a reduction over `axes` (None: all) of a `shape`d input reads per result."""
    return math.prod(shape) if axes is None else math.prod(shape[a] for a in axes)


class Sum(Reduction):
    _name, op_name = "SumBackward0", "sum"

    def forward(self, x, axes, keepdim, np_dtype):
        self._set(x, axes, keepdim)
        if np_dtype is not None:
            # (on cuda floats to uint8 through int64, as PyTorch: cupy_backend.astype)
            x = x.astype(np_dtype) if type(x) is np.ndarray else _cupy_backend.astype(x, np_dtype)
        elif x.dtype.kind in "biu":
            x = x.astype(_int64)                  # integer sums are int64, as in PyTorch
        r = P.sum(x, axes, keepdim)
        # NumPy sums small integers (and bools) as int64: keep the dtype asked for
        return r if np_dtype is None or r.dtype == np_dtype else r.astype(np_dtype)

    def backward(self, g):
        return expand_back(g, self.shape, self.axes, self.keepdim)


class SumDim(Sum):
    _name = "SumBackward1"


class Mean(Reduction):
    _name, op_name = "MeanBackward0", "mean"

    def forward(self, x, axes, keepdim, np_dtype):
        if np_dtype is not None:
            x = x.astype(np_dtype)
        if x.dtype.kind != "f":
            raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a floating "
                            f"point or complex dtype. Got: {from_numpy_dtype(x.dtype).libtorch}")
        self._set(x, axes, keepdim)
        return P.mean(x, axes, keepdim)

    def backward(self, g):
        return expand_back(g / self.count(), self.shape, self.axes, self.keepdim)


class MeanDim(Mean):
    _name = "MeanBackward1"


class Prod(Reduction):
    _name, op_name = "ProdBackward0", "prod"
    save_inputs = (0,)
    save_result = True      # unused by our formula, but saved as PyTorch does: the same version errors

    def forward(self, x, axis, keepdim, keep_dtype=False):
        self._set(x, None if axis is None else (axis,), keepdim)
        if x.dtype.kind not in "biu":
            return P.prod(x, axis, keepdim)
        # integers multiply as int64 (PyTorch's default); prod(dtype=) keeps x's (already cast)
        # dtype: wrapping after an int64 product is the same as wrapping in the narrower type
        r = P.prod(x.astype(_int64), axis, keepdim)
        return r.astype(x.dtype) if keep_dtype else r

    def backward(self, g, x, y):
        # PyTorch's prod_backward: result / input without zeros; else the product
        # of the others (exact with one zero); two or more zeros in a full
        # reduction: zeros (NaN and inf inputs follow from these choices)
        if not self.shape:
            return g                                  # a 0-d input: the gradient as is (PyTorch)
        xd = x._data if isinstance(x, Tensor) else x
        zeros = int(self._backend.xp.count_nonzero(xd == 0))
        if self.axes is None:
            if zeros == 0:
                return g * (y / x)
            if zeros > 1 and not isinstance(x, Tensor):   # (recorded for create_graph: exact form)
                return P.zeros_like(x)
            others = P.reshape(P.prod_others(P.reshape(x, (-1,)), 0), self.shape)
            return g * others
        g = expand_back(g, self.shape, self.axes, self.keepdim)
        if zeros == 0:
            return g * (expand_back(y, self.shape, self.axes, self.keepdim) / x)
        return g * P.prod_others(x, self.axes[0])


class ProdDim(Prod):
    _name = "ProdBackward1"


class Var(Reduction):
    _name, op_name = "VarBackward0", "var"
    save_inputs = (0,)

    def forward(self, x, axes, keepdim, correction):
        v, dt = self._variance(x, axes, keepdim, correction)
        return v if v.dtype == dt else v.astype(dt)

    def _variance(self, x, axes, keepdim, correction):
        """The variance, maybe wider than x's float dtype (float64 where
        float32's squares overflow), and that dtype."""
        self._set(x, axes, keepdim)
        self.correction = correction
        xf = as_float(x)
        if xf.dtype == np.float16:             # PyTorch's half opmath: float32, and std's root before the cast
            return P.var(xf.astype(np.float32), axes, keepdim, correction), xf.dtype
        v = P.var(xf, axes, keepdim, correction)
        if type(xf) is np.ndarray and xf.dtype == np.float32 and np.isinf(v).any() and np.isfinite(xf).all():
            # squared deviations past float32's range (|d| > 1.8e19): PyTorch's
            # CPU accumulates in double, so redo this rare case in float64 (std's
            # square root then fits float32). On CUDA PyTorch accumulates float32
            # in float32, and a check would cost a device sync per call: none there
            v = P.var(xf.astype(np.float64), axes, keepdim, correction)
        return v, xf.dtype

    def backward(self, g, x):
        g = expand_back(g, self.shape, self.axes, self.keepdim)
        dof = self.count() - self.correction
        mean = P.mean(x, self.axes, True)
        if dof <= 0 and self.axes is None:
            # PyTorch's var_backward over all dims without degrees of freedom:
            # NaN where x equals the mean (inf * 0), +inf elsewhere
            return g * P.where(x == mean, math.nan, math.inf)
        scale = 2.0 / dof if dof else math.inf      # as C++'s 2.0 / 0: NaN/inf gradients, as PyTorch
        return P.var_bwd(g, x, mean, scale)


class Std(Var):
    _name, op_name = "StdBackward0", "std"
    save_result = True

    def forward(self, x, axes, keepdim, correction):
        v, dt = self._variance(x, axes, keepdim, correction)
        y = P.sqrt(v)
        return y if y.dtype == dt else y.astype(dt)

    def backward(self, g, x, y):
        # std_backward: var_backward(grad / (2 * std)), zero where std == 0 (its derivative in std there is
        # NaN, as PyTorch's double backward; so is its derivative in g, our JVP, where PyTorch's forward
        # formula gives 0: pinned in tests/test_random_graphs_modes.py)
        g = P.where(y == 0, 0, g / (y * 2))
        return Var.backward(self, g, x)

    @staticmethod
    def jvp(y, inputs, tangents, axes, keepdim, correction):
        # PyTorch's forward formula: var's tangent / (2 std), 0 where std == 0
        (x,), (t,) = inputs, tangents
        dof = _count(x.shape, axes) - correction
        var_t = P.sum((x - P.mean(x, axes, True)) * t, axes, keepdim) * (2.0 / dof if dof > 0 else math.inf)
        return P.where(y == 0, 0, var_t / (y * 2))


class Amax(Reduction):
    _name, op_name = "AmaxBackward0", "amax"
    save_inputs = (0,)
    save_result = True
    reduce = staticmethod(P.amax)

    def forward(self, x, axes, keepdim):
        self._set(x, axes, keepdim)
        return self.reduce(x, axes, keepdim)

    def backward(self, g, x, y):
        # scale_grad_by_count: ties share the gradient evenly (NaN results get none)
        g = expand_back(g, self.shape, self.axes, self.keepdim)
        y = expand_back(y, self.shape, self.axes, self.keepdim)
        mask = x == y
        # PyTorch's (g / count) * mask: a NaN result (no input equals it, count 0) or a
        # NaN or infinite gradient gives NaN gradients
        return P.select_bwd(g, mask, P.sum(mask, self.axes, True))

    @staticmethod
    def jvp(y, inputs, tangents, axes, keepdim):
        # PyTorch's forward formula: the mean of the tied elements' tangents, read by `where` (a NaN
        # tangent elsewhere stays out, where the transposed backward's product keeps it)
        (x,), (t,) = inputs, tangents
        mask = x == expand_back(y, x.shape, axes, keepdim)
        return P.sum(P.where(mask, t, 0), axes, keepdim) / P.sum(mask, axes, keepdim)


class Amin(Amax):
    _name, op_name = "AminBackward0", "amin"
    reduce = staticmethod(P.amin)


class MaxAll(Amax):
    """max() of the whole tensor: evenly_distribute_backward, where a NaN
    maximum sends the gradient to the NaN inputs."""
    _name, op_name = "MaxBackward1", "max"

    def backward(self, g, x, y):
        mask = (x == y) | (P.isnan(x) & P.isnan(y))
        # (PyTorch's CPU evenly_distribute_backward writes g / count where mask: no NaN elsewhere)
        return P.where(mask, g / P.sum(mask, None, False), 0)

    @staticmethod
    def jvp(y, inputs, tangents, *reduced):
        # PyTorch's evenly_read_jvp: the tied elements' tangents, by a product (NaN tangents anywhere, or
        # a NaN result, give NaN), and 0 for an empty input (median)
        (x,), (t,) = inputs, tangents
        if not x.numel():
            return P.sum(t, None, False)
        mask = x == y
        return P.sum(t * mask, None, False) / P.sum(mask, None, False)


class MinAll(MaxAll):
    _name, op_name = "MinBackward1", "min"
    reduce = staticmethod(P.amin)


class MaxDim(Reduction):
    """max(dim) -> (values, indices): the gradient goes to the selected index."""
    _name, op_name = "MaxBackward0", "max"
    nondiff_outputs = (1,)
    pick = staticmethod(P.argmax)

    def forward(self, x, axis, keepdim):
        self._set(x, (axis,), keepdim)
        idx = self.pick(x, axis, True)
        self.idx = idx
        vals = np.take_along_axis(x, idx, axis) if isinstance(x, np.ndarray) else _take(x, idx, axis)
        if not keepdim:
            vals, idx = vals.squeeze(axis), idx.squeeze(axis)
        return vals, idx

    def backward(self, grads):
        g = expand_back(grads[0], self.shape, self.axes, self.keepdim)
        axis = self.axes[0]
        pos = np.arange(self.shape[axis]).reshape((-1,) + (1,) * (len(self.shape) - axis - 1))
        xp_pos = self._backend.asarray(pos)
        mask = constant_like(g, xp_pos == self.idx)
        return P.where(mask, g, 0)


def _take(x, idx, axis):
    import sys
    return sys.modules["cupy"].take_along_axis(x, idx, axis)


class MinDim(MaxDim):
    _name, op_name = "MinBackward0", "min"
    pick = staticmethod(P.argmin)


def _median_index(x, axis, keepdims=True):
    """The index of the lower median along axis (kept as a dim of 1): the middle
    of a stable sort (ties: the one PyTorch's CPU picks), or the first NaN."""
    k = (x.shape[axis] - 1) // 2
    idx = kth_of_stable_argsort(x, k, axis)
    if x.dtype.kind == "f":
        nan = np.isnan(x)
        idx = np.where(nan.any(axis=axis, keepdims=True), np.argmax(nan, axis=axis, keepdims=True), idx)
    return idx


def _median_all(x, axes, keepdim):
    flat = x.reshape(-1)
    if not flat.size:
        return np.full_like(flat, np.nan, shape=())     # (PyTorch: NaN for no element)
    return flat[_median_index(flat, 0)].reshape(())


class MedianAll(MaxAll):
    """median() of the whole tensor, the lower of two middle values; the
    gradient is shared by the elements equal to it (the NaNs, for NaN)."""
    _name, op_name = "MedianBackward0", "median"
    reduce = staticmethod(_median_all)


class MedianDim(MaxDim):
    """median(dim) -> (values, indices); the gradient goes to the index."""
    _name, op_name = "MedianBackward1", "median"
    pick = staticmethod(_median_index)


class Logsumexp(Reduction):
    _name, op_name = "LogsumexpBackward0", "logsumexp"
    save_inputs = (0,)
    save_result = True

    def forward(self, x, axes, keepdim):
        self._set(x, axes, keepdim)
        return P.logsumexp(as_float(x), axes, keepdim)

    def backward(self, g, x, y):
        g = expand_back(g, self.shape, self.axes, self.keepdim)
        return P.logsumexp_bwd(g, x, expand_back(y, self.shape, self.axes, self.keepdim))

    @staticmethod
    def jvp(y, inputs, tangents, axes, keepdim):
        # PyTorch's logsumexp_jvp: the softmax-weighted tangents; NaN over an empty dim (0 / 0), where
        # the transposed backward sums nothing
        (x,), (t,) = inputs, tangents
        e = P.exp(x - P.amax(x, axes, True)) if x.numel() else P.exp(x)
        return P.sum(e * t, axes, keepdim) / P.sum(e, axes, keepdim)


class Softmax(Op):
    _name, op_name = "SoftmaxBackward0", "softmax"
    save_result = True

    def forward(self, x, axis):
        self.axis = axis
        return P.softmax(as_float(x), axis)

    def backward(self, g, y):
        return P.softmax_bwd(g, y, self.axis)


class LogSoftmax(Op):
    _name, op_name = "LogSoftmaxBackward0", "log_softmax"
    save_result = True

    def forward(self, x, axis):
        self.axis = axis
        return P.log_softmax(as_float(x), axis)

    def backward(self, g, y):
        return P.log_softmax_bwd(g, y, self.axis)


def norm_backward(g, x, y, p, axes):
    """The gradient of y, x's p-norm over `axes` (p != 0), for an incoming g; g and y keep x's dims
    (PyTorch's norm_backward; arrays, or Tensors under create_graph)."""
    if p == 1:
        return P.sign(x) * g
    if p == 2:
        # g * (x / y), not x * (g / y): at y == 0 the derivative in g is then 0,
        # not 0 * (0 / 0) (PyTorch's form; second derivatives through g need it)
        return g * P.where(y == 0, 0, x / y)
    if p in (math.inf, -math.inf):
        ax = P.abs(x)
        mask = (ax == y) | P.isnan(ax)      # (PyTorch's: a NaN is the norm; sign(NaN) is 0)
        return P.sign(x) * P.select_bwd(g, mask, P.sum(mask, axes, True))
    # PyTorch's norm_backward for other p: the forms differ at x == 0 (0, not 0 * inf)
    if p < 1:
        scaled = P.sign(x) * P.where(x == 0, 0, P.pow(P.abs(x), p - 1))
        return scaled * g * P.pow(y, 1 - p)
    # (p = 2: x |x|^0 is x itself, NaN and infinities included)
    scaled = P.sign(x) * P.pow(P.abs(x), p - 1) if p < 2 else x if p == 2 else x * P.pow(P.abs(x), p - 2)
    # (at y == 0 this form's derivative in g is 0 * inf = NaN, where PyTorch's forward formula, jvp
    # below, gives 0; its derivative in x is NaN as PyTorch's double backward)
    return scaled * P.where(y == 0, 0, g / P.pow(y, p - 1))


def norm_of_abs(a, p, axes, keepdim):
    """The p-norm over `axes` (None: all) of `a`, entries already absolute (arrays, or differentiable Tensors
    for p != 0)."""
    if p != 0 and _count(a.shape, axes) == 1:
        # one element: its absolute value, exactly (PyTorch's too; x * x would overflow at 1e30)
        return P.sum(a, axes, keepdim)
    if p == 2:
        return P.sqrt(P.sum(a * a, axes, keepdim))
    if p == 1:
        return P.sum(a, axes, keepdim)
    if p == math.inf:
        return P.amax(a, axes, keepdim)
    if p == -math.inf:
        return P.amin(a, axes, keepdim)
    if p == 0:
        return P.sum((a != 0).astype(a.dtype), axes, keepdim)
    return P.pow(P.sum(P.pow(a, p), axes, keepdim), 1.0 / p)


def p_norm(x, p, axes):
    """x's p-norm over `axes`, keeping the dims (renorm's)."""
    return norm_of_abs(P.abs(x), p, axes, True)


class Norm(Reduction):
    """Vector p-norm over `axes` (linalg_vector_norm); norm_backward of derivatives.yaml."""
    _name, op_name = "LinalgVectorNormBackward0", "norm"
    save_inputs = (0,)
    save_result = True

    def forward(self, x, p, axes, keepdim):
        self._set(x, axes, keepdim)
        self.p = p
        xf = as_float(x)
        if xf.dtype == np.float16:             # PyTorch's half opmath: squares and sums in float32
            return norm_of_abs(P.abs(xf.astype(np.float32)), p, axes, keepdim).astype(np.float16)
        if p == 2 and type(xf) is np.ndarray and xf.size >= blocked.BLOCK and _count(xf.shape, axes) > 1:
            squares = blocked.square_sums(xf, axes)         # (large NumPy arrays: dot products)
            if squares is not None:
                y = np.sqrt(squares).astype(xf.dtype)
                return y if keepdim else y.reshape([n for i, n in enumerate(xf.shape)
                                                    if axes is not None and i not in axes])
        return norm_of_abs(P.abs(xf), p, axes, keepdim)

    def backward(self, g, x, y):
        if self.p == 0:
            return None          # a count of nonzeros: no gradient at all (PyTorch's is undefined)
        return norm_backward(expand_back(g, self.shape, self.axes, self.keepdim), x,
                             expand_back(y, self.shape, self.axes, self.keepdim), self.p, self.axes)

    @staticmethod
    def jvp(y, inputs, tangents, p, axes, keepdim):
        # PyTorch's norm_jvp: 0 where the norm is 0 (the transposed backward: NaN for p > 1 there), and
        # NaN tangents spread by products
        (x,), (t,) = inputs, tangents
        if p == 0:
            return P.zeros_like(y)
        if p == 1:
            return P.sum(P.sign(x) * t, axes, keepdim)
        if p in (math.inf, -math.inf):
            peak = expand_back(y, x.shape, axes, keepdim)
            mask = (P.abs(x) == peak) | (P.isnan(x) & P.isnan(peak))
            return P.sum(P.sign(x) * t * mask / P.sum(mask, axes, True), axes, keepdim)
        if p < 1:
            powed = P.where(x == 0, 0, P.pow(P.abs(x), p - 1))
            return P.sum(powed * P.sign(x) * t, axes, keepdim) * P.pow(y, 1 - p)
        powed = P.pow(P.abs(x), p - 1) * P.sign(x) if p < 2 else P.pow(P.abs(x), p - 2) * x
        return P.where(y == 0, 0, P.sum(powed * t, axes, keepdim) / P.pow(y, p - 1))


# ---- the functions --------------------------------------------------------------

def check_tensor(x, op_name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op_name}(): argument 'input' must be Tensor, not {type(x).__name__}")


def check_differentiable_dtype(x, npd, op_name):
    """A reduction to a non-floating dtype cannot be differentiated (PyTorch refuses)."""
    if npd is not None and npd.kind != "f" and x._rg and grad_state.enabled:
        raise RuntimeError(f"{op_name}(): Autograd not support dtype: {from_numpy_dtype(npd).libtorch}")


def sum(input, dim=None, keepdim=False, dtype=None):
    if dim is None and dtype is None and type(input) is Tensor:     # x.sum(): the loss of every loop
        return Sum.apply1(input, None, keepdim, None)
    check_tensor(input, "sum")
    npd = None if dtype is None else as_dtype(dtype, "sum").np
    check_differentiable_dtype(input, npd, "sum")
    if dim is None:
        return Sum.apply1(input, None, keepdim, npd)
    return SumDim.apply1(input, reduced_axes(input, dim, "sum"), keepdim, npd)


def mean(input, dim=None, keepdim=False, dtype=None):
    check_tensor(input, "mean")
    npd = None if dtype is None else as_dtype(dtype, "mean").np
    if dim is None:
        return Mean.apply1(input, None, keepdim, npd)
    return MeanDim.apply1(input, reduced_axes(input, dim, "mean"), keepdim, npd)


def _cast(x, dtype, op_name, floating_only=False):
    check_tensor(x, op_name)
    if dtype is not None:
        dt = as_dtype(dtype, op_name)        # (TypeError for what is no dtype)
        if floating_only and not dt.is_floating_point:
            raise RuntimeError(f"{op_name}(): dtype must be a floating point dtype, got {dt.libtorch}")
        x = x.to(dt)
    return x


def prod(input, dim=None, keepdim=False, dtype=None):
    input = _cast(input, dtype, "prod")
    keep_dtype = dtype is not None
    if dim is None:
        return Prod.apply1(input, None, keepdim, keep_dtype)
    axis = wrap_dim(dim, input.ndim, "prod")           # checked on 0-d tensors too
    return ProdDim.apply1(input, axis if input.ndim else None, keepdim, keep_dtype)


def variance_correction(op_name, unbiased, correction):
    if correction is not None and unbiased is not None:
        raise TypeError(f"{op_name}(): cannot specify both 'unbiased' and 'correction'")
    if correction is not None:
        # checked here: the GPU kernel's argument conversion would say ValueError for a string
        return correction if isinstance(correction, Tensor) else number(correction, op_name, "correction")
    return 0 if unbiased is False else 1


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    check_tensor(input, "var")
    if isinstance(dim, bool):                      # var(unbiased) positional form
        dim, unbiased = None, dim
    return Var.apply1(input, reduced_axes(input, dim, "var"), keepdim, variance_correction("var", unbiased, correction))


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    check_tensor(input, "std")
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    return Std.apply1(input, reduced_axes(input, dim, "std"), keepdim, variance_correction("std", unbiased, correction))


def check_nonempty(x, op_name, axes=None):
    shape = x.shape
    empty = (x.numel() == 0) if axes is None else builtin_any(shape[a] == 0 for a in axes)
    if empty:
        if axes is None:
            # PyTorch: RuntimeError for amax/amin/max/min, IndexError for argmax/argmin
            kind = IndexError if op_name.startswith("arg") else RuntimeError
            raise kind(f"{op_name}(): Expected reduction dim to be specified for input.numel() == 0. "
                       f"Specify the reduction dim with the 'dim' argument.")
        dims = ", ".join(str(a) for a in axes if shape[a] == 0)
        raise IndexError(f"{op_name}(): Expected reduction dim {dims} to have non-zero size.")


builtin_any = any


def amax(input, dim=(), keepdim=False):
    check_tensor(input, "amax")
    axes = reduced_axes(input, dim, "amax")
    check_nonempty(input, "amax", axes)
    return Amax.apply1(input, axes, keepdim)


def amin(input, dim=(), keepdim=False):
    check_tensor(input, "amin")
    axes = reduced_axes(input, dim, "amin")
    check_nonempty(input, "amin", axes)
    return Amin.apply1(input, axes, keepdim)


MaxMin = collections.namedtuple("MaxMin", ["values", "indices"])


def _max_min(x, dim, keepdim, other, all_cls, dim_cls, op_name):
    check_tensor(x, op_name)
    if isinstance(dim, Tensor):                    # max(a, b) is maximum
        from .arith import maximum, minimum
        return (maximum if op_name == "max" else minimum)(x, dim)
    if other is not None:
        from .arith import maximum, minimum
        return (maximum if op_name == "max" else minimum)(x, other)
    if dim is None:
        check_nonempty(x, op_name)
        return all_cls.apply1(x, None, False)
    axis = wrap_dim(dim, x.ndim, op_name)
    if x.ndim == 0:
        from ..creation import zeros_like
        return MaxMin(x.clone(), zeros_like(x, dtype="int64"))
    check_nonempty(x, op_name, (axis,))
    return MaxMin(*dim_cls.apply1(x, axis, keepdim))


Median = collections.namedtuple("median", ["values", "indices"])     # (torch.return_types.median)


def median(input, dim=None, keepdim=False):
    """The lower median of all elements, or (values, indices) along `dim`. A
    NaN makes the median NaN (its index: the first NaN)."""
    check_tensor(input, "median")
    if input._data.dtype.kind == "b":
        raise NotImplementedError("median(): \"median_cpu\" not implemented for 'Bool'")
    if dim is None:
        return MedianAll.apply1(input, None, False)
    axis = wrap_dim(dim, input.ndim, "median")
    if input.ndim == 0:
        from ..creation import zeros_like
        return Median(input.clone(), zeros_like(input, dtype="int64"))
    check_nonempty(input, "median", (axis,))
    return Median(*MedianDim.apply1(input, axis, keepdim))


def max(input, dim=None, keepdim=False, *, other=None):
    return _max_min(input, dim, keepdim, other, MaxAll, MaxDim, "max")


def min(input, dim=None, keepdim=False, *, other=None):
    return _max_min(input, dim, keepdim, other, MinAll, MinDim, "min")


def _arg(x, dim, keepdim, prim, op_name):
    check_tensor(x, op_name)
    if dim is None:
        check_nonempty(x, op_name)
        r = prim(x._data.reshape(-1), 0, False)
        if keepdim:
            r = r.reshape((1,) * x.ndim)
    else:
        axis = wrap_dim(dim, x.ndim, op_name)
        if x.ndim == 0:
            r = x._backend.xp.zeros((), dtype=np.int64)
        else:
            check_nonempty(x, op_name, (axis,))
            r = prim(x._data, axis, keepdim)
    from ..autograd.op import as_array
    return Tensor._make(as_array(r, x._backend).astype(np.int64, copy=False), x._backend)


def argmax(input, dim=None, keepdim=False):
    return _arg(input, dim, keepdim, P.argmax, "argmax")


def argmin(input, dim=None, keepdim=False):
    return _arg(input, dim, keepdim, P.argmin, "argmin")


def logsumexp(input, dim, keepdim=False):
    check_tensor(input, "logsumexp")
    return Logsumexp.apply1(input, reduced_axes(input, dim, "logsumexp"), keepdim)


def _along_dim(cls, x, dim, dtype):
    """softmax / log_softmax: one dim, a floating dtype if one is asked for."""
    x = _cast(x, dtype, cls.op_name, floating_only=True)
    axis = wrap_dim(dim, x.ndim, cls.op_name)         # checked on 0-d tensors too
    return cls.apply1(x, axis if x.ndim else None)


def softmax(input, dim, dtype=None):
    return _along_dim(Softmax, input, dim, dtype)


def log_softmax(input, dim, dtype=None):
    return _along_dim(LogSoftmax, input, dim, dtype)


class Cumsum(Op):
    _name, op_name = "CumsumBackward0", "cumsum"

    def forward(self, x, axis, keep_dtype):
        self.axis = axis
        y = P.cumsum(x, axis)
        return y.astype(x.dtype) if keep_dtype and y.dtype != x.dtype else y   # (dtype= asked for it)

    def backward(self, g):
        # each input entry reaches every later running sum: the gradient's sums from the end
        if self.axis is None:
            return g
        axes = (self.axis,)
        return P.flip(P.cumsum(P.flip(g, axes), self.axis), axes)


def cumsum(input, dim, dtype=None):
    check_tensor(input, "cumsum")
    axis = wrap_dim(dim, input.ndim, "cumsum")          # checked on 0-d tensors too
    if dtype is not None:
        check_differentiable_dtype(input, as_dtype(dtype, "cumsum").np, "cumsum")
    return Cumsum.apply1(_cast(input, dtype, "cumsum"), axis if input.ndim else None, dtype is not None)


def _p_text(p):
    return "inf" if p == math.inf else "-inf" if p == -math.inf else f"{p:g}"


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    input = _cast(input, dtype, "norm")
    if p == "nuc":
        from .linalg import nuclear_norm
        return nuclear_norm(input, dim, keepdim)
    if p == "fro" or p is None:
        p = 2
    if isinstance(p, str):
        raise RuntimeError(f"norm(): unsupported norm type {p!r} (use a number, inf, 'fro' or 'nuc')")
    if isinstance(p, Tensor) or not isinstance(p, (int, float)):
        raise TypeError(f"norm(): argument 'p' must be a number, not {type(p).__name__}")
    axes = reduced_axes(input, dim, "norm")
    if (p < 0 or p == math.inf) and (input.numel() == 0 if axes is None
                                      else builtin_any(input.shape[a] == 0 for a in axes)):
        # (the max/min of nothing: PyTorch refuses, naming the dimension when one was given)
        where = "an empty tensor" if axes is None else \
            f"the dimension {next(a for a in axes if input.shape[a] == 0)}because this dimension is empty and"
        raise RuntimeError(f"norm: linalg.vector_norm cannot compute the {_p_text(p)} norm on {where} "
                           f"{'because ' if axes is None else ''}the operation does not have an identity")
    return Norm.apply1(input, float(p), axes, keepdim)


def _bool_reduce(x, dim, keepdim, prim, op_name):
    check_tensor(x, op_name)
    axes = reduced_axes(x, dim, op_name)
    r = prim(x._data, axes, bool(keepdim))
    from ..autograd.op import as_array
    r = as_array(r, x._backend)
    if x._data.dtype == np.uint8:
        r = r.astype(np.uint8)                 # PyTorch keeps uint8 for all/any of uint8
    return Tensor._make(r, x._backend)


def all(input, dim=None, keepdim=False):
    return _bool_reduce(input, dim, keepdim, P.all, "all")


def any(input, dim=None, keepdim=False):
    return _bool_reduce(input, dim, keepdim, P.any, "any")
