"""Searching and counting, as PyTorch's: argsort, msort, nonzero, argwhere,
searchsorted, bucketize, bincount, histc, kthvalue, mode, isin, tril_indices,
triu_indices, unique_consecutive. Indices and counts have no gradient and are
computed on the arrays (NumPy's functions, which CuPy arrays take too);
kthvalue's and mode's values take the gradient at their index, msort's at
sort's."""
import collections
import math

import numpy as np

from .. import _dtype
from ..autograd.op import as_array, device_mismatch
from ..tensor import Tensor
from ._util import in_result_type, int_arg, number, wrap_dim
from .arith import NoDerivative
from .functions import tensor_function
from .reduction import MaxDim
from .sorting import _UNSET, UniqueValues, kth_of_stable_argsort, sort, sort_arguments, stable_argsort, unique_axis

# the result types' names are PyTorch's (torch.return_types.kthvalue, .mode)
KthvalueResult = collections.namedtuple("kthvalue", ["values", "indices"])
ModeResult = collections.namedtuple("mode", ["values", "indices"])


# ---- argument checks --------------------------------------------------------------

def _tensor(x, op_name, arg="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op_name}(): argument '{arg}' must be Tensor, not {type(x).__name__}")
    return x


def _int(v, op_name, arg):
    """An int argument within int64 (PyTorch's parser: a ValueError past it)."""
    v = int_arg(v, op_name, arg)
    if not -2 ** 63 <= v < 2 ** 63:
        raise ValueError(f"{op_name}(): argument '{arg}' ({v}) overflows int64")
    return v


def _flag(v, op_name, arg):
    if type(v) is not bool and not isinstance(v, np.bool_):
        raise TypeError(f"{op_name}(): argument '{arg}' must be bool, not {type(v).__name__}")
    return bool(v)


def _no_kernel(x, op_name, kernel, kinds):
    """PyTorch's NotImplementedError for a dtype its kernel lacks."""
    if x._data.dtype.kind in kinds:
        raise NotImplementedError(f"{op_name}(): \"{kernel}\" not implemented for '{x.dtype.libtorch}'")


def _same_device(op_name, a, b):
    if isinstance(b, Tensor) and b._backend is not a._backend:
        raise device_mismatch(op_name, a, b)


def _ints(like, arr, np_dtype=np.int64):
    """An index/count array as a tensor on `like`'s device (no gradient)."""
    if arr.dtype != np_dtype:
        arr = arr.astype(np_dtype)
    return Tensor._make(as_array(arr, like._backend), like._backend)


# ---- sorting-based: argsort, msort, kthvalue, mode ----------------------------------

def argsort(input, *positional, dim=_UNSET, descending=_UNSET, stable=_UNSET):
    """The indices that sort input along `dim` (stable whatever `stable` says, as
    PyTorch's CPU sort; NaN counts as the largest value)."""
    dim, descending, stable = sort_arguments("argsort", positional, dim, descending, stable)
    axis = wrap_dim(dim, input.ndim, "argsort")
    a = input._data
    if input.ndim == 0:
        return _ints(input, np.zeros_like(a, dtype=np.int64))
    return _ints(input, stable_argsort(a, axis, descending))


def msort(input):
    """input sorted along its first dim (sort(input, 0).values)."""
    return sort(_tensor(input, "msort"), 0).values


class _Selection(MaxDim):
    """(values, indices) picked along an axis (`pick`); the gradient goes to the
    index. A 0-d input (axis None) is its own pick."""

    def forward(self, x, axis, keepdim):
        if axis is None:
            self.axes = None
            return x.copy(), np.zeros_like(x, dtype=np.int64)
        return MaxDim.forward(self, x, axis, keepdim)

    def backward(self, grads):
        return grads[0] if self.axes is None else MaxDim.backward(self, grads)


class Kthvalue(_Selection):
    """kthvalue(k, dim): the k-th smallest along dim."""
    _name, op_name = "KthvalueBackward0", "kthvalue"

    def forward(self, x, k, axis, keepdim):
        self.k = k
        return _Selection.forward(self, x, axis, keepdim)

    def pick(self, x, axis, keepdims):
        # (of equal values, the k-th of a stable sort; PyTorch's quickselect may pick another)
        return kth_of_stable_argsort(x, self.k - 1, axis)


def _mode_index(x, axis, keepdims):
    """The index of the smallest most frequent value along axis (kept as a dim
    of 1): its last occurrence, as PyTorch's CPU (exactly so up to 16 elements,
    where its sort is stable). NaNs count one by one (NaN != NaN)."""
    order = np.moveaxis(stable_argsort(x, axis), axis, -1)
    n = order.shape[-1]
    s = np.take_along_axis(np.moveaxis(x, axis, -1), order, -1).reshape(-1, n)
    new = np.ones_like(s, dtype=bool)
    new[:, 1:] = s[:, 1:] != s[:, :-1]
    flat_new = new.reshape(-1)
    starts = np.flatnonzero(flat_new)                 # (a row starts a run: runs stay in their row)
    freq = np.diff(starts, append=flat_new.size)[np.cumsum(flat_new) - 1].reshape(s.shape)
    last = np.ones_like(new)
    last[:, :-1] = new[:, 1:]
    best = np.argmax(np.where(last, freq, 0), axis=1)    # (the first maximum: the smallest value)
    idx = np.take_along_axis(order.reshape(-1, n), best[:, None], 1)
    return np.moveaxis(idx.reshape(order.shape[:-1] + (1,)), -1, axis)


class Mode(_Selection):
    """mode(dim): the most frequent value along dim."""
    _name, op_name = "ModeBackward0", "mode"
    pick = staticmethod(_mode_index)


def _select(cls, result, input, dim, keepdim, op_name, *k):
    """(values, indices) of the selection `cls` along dim, after PyTorch's checks."""
    axis = wrap_dim(dim, input.ndim, op_name)
    keepdim = _flag(keepdim, op_name, "keepdim")
    size = input.shape[axis] if input.ndim else 1
    if size == 0:
        raise IndexError(f"{op_name}(): Expected reduction dim {axis} to have non-zero size.")
    if k and not 1 <= k[0] <= size:
        raise RuntimeError(f"{op_name}(): selected number k out of range for dimension {axis} "
                           f"(k={k[0]}, size {size})")
    return result(*cls.apply1(input, *k, axis if input.ndim else None, keepdim))


def kthvalue(input, k, dim=-1, keepdim=False):
    """(values, indices) of the k-th smallest element along dim (NaN the largest)."""
    k = _int(k, "kthvalue", "k")
    _no_kernel(input, "kthvalue", "kthvalue_cpu", "b")
    return _select(Kthvalue, KthvalueResult, input, dim, keepdim, "kthvalue", k)


def mode(input, dim=-1, keepdim=False):
    """(values, indices) of the most frequent value along dim (the smallest of
    equally frequent ones) and where it occurs last."""
    return _select(Mode, ModeResult, input, dim, keepdim, "mode")


# ---- nonzero, argwhere --------------------------------------------------------------

def nonzero(input, *, as_tuple=False):
    """The indices of the nonzero (NaN included) elements: an (n, ndim) tensor,
    or with as_tuple one 1-d tensor per dim (a 0-d input counts as 1-d)."""
    as_tuple = _flag(as_tuple, "nonzero", "as_tuple")
    a = input._data
    where = np.nonzero(a.reshape(-1) if a.ndim == 0 else a)
    if as_tuple:
        return tuple(_ints(input, w) for w in where)
    if a.ndim == 0:
        return _ints(input, np.zeros_like(where[0], shape=(where[0].size, 0)))
    return _ints(input, np.stack(where, axis=1))


def argwhere(input):
    """The indices of the nonzero elements, one row each (nonzero(input))."""
    return nonzero(input)


# ---- searchsorted, bucketize --------------------------------------------------------

def _binary_search(seq, vals, right, sorter):
    """Each value's insertion point in its row of seq (the last dim; one row for
    all when seq is 1-d) by PyTorch's binary search, lane by lane, so that
    unsorted rows and NaN land where PyTorch's do: go right while
    not seq[mid] >= v (right=True: not seq[mid] > v)."""
    n = seq.shape[-1]
    if (seq.ndim == 1 and sorter is None and type(seq) is np.ndarray and vals.size > 8 * n
            and not (seq[1:] < seq[:-1]).any() and not (seq.dtype.kind == "f" and np.isnan(seq).any())):
        # a sorted sequence without NaN: NumPy's own search gives the same places (NaN values last, as
        # PyTorch's search sends them); its loop, not log2(n) whole-array passes (1M values: 306 -> 70 ms)
        return np.searchsorted(seq, vals, "right" if right else "left").astype(np.int64, copy=False)
    rows = seq.reshape(-1, n)
    v = vals.reshape(rows.shape[0], -1)
    order = None if sorter is None else sorter.reshape(-1, n)
    lo = np.zeros_like(v, dtype=np.int64)
    hi = np.full_like(lo, n)
    for _ in range(n.bit_length()):                  # (enough halvings for any lane)
        mid = lo + ((hi - lo) >> 1)
        at = np.minimum(mid, n - 1)                  # (finished lanes may point past the end)
        if order is not None:
            at = np.take_along_axis(order, at, 1)
        m = np.take_along_axis(rows, at, 1)
        active = lo < hi
        go = ~(m > v) if right else ~(m >= v)
        hi = np.where(active & ~go, mid, hi)
        lo = np.where(active & go, mid + 1, lo)
    return lo.reshape(vals.shape)


def _side(right, side, op_name):
    right = _flag(right, op_name, "right")
    if side is None:
        return right
    if not isinstance(side, str):
        raise TypeError(f"{op_name}(): argument 'side' must be str, not {type(side).__name__}")
    if side not in ("left", "right"):
        raise RuntimeError(f"{op_name}(): side can only be 'left' or 'right' but got {side}")
    if right and side == "left":
        raise RuntimeError(f"{op_name}(): side and right can't be set to opposites, got side of left while "
                           "right was True")
    return side == "right"


def _search(op_name, seq, input, right, out_int32, sorter):
    """searchsorted's and bucketize's common part (seq already checked)."""
    if not isinstance(input, Tensor):
        if isinstance(input, (bool, int, float, np.generic)):
            input = number(input, op_name, "input")
        else:
            raise TypeError(f"{op_name}(): argument 'input' must be Tensor or Number, not {type(input).__name__}")
    _same_device(op_name, seq, input)
    out_int32 = _flag(out_int32, op_name, "out_int32")
    if isinstance(input, Tensor) and seq.ndim > 1 and (
            input.ndim != seq.ndim or input.shape[:-1] != seq.shape[:-1]):
        raise RuntimeError(f"{op_name}(): boundaries tensor should be 1 dimension or the first N-1 dimensions of "
                           f"boundaries tensor and input value tensor must match, but we got boundaries tensor "
                           f"{list(seq.shape)} and input value tensor {list(input.shape)}")
    if not isinstance(input, Tensor) and seq.ndim > 1:
        raise RuntimeError(f"{op_name}(): boundaries tensor should be 1 dimension when the input is a number, "
                           f"but got boundaries tensor {list(seq.shape)}")
    order = None
    if sorter is not None:
        _tensor(sorter, op_name, "sorter")
        _same_device(op_name, seq, sorter)
        if sorter.dtype is not _dtype.int64:
            raise RuntimeError(f"{op_name}(): sorter must be a tensor of long dtype but got dtype "
                               f"{sorter.dtype.libtorch}")
        if sorter.shape != seq.shape:
            raise RuntimeError(f"{op_name}(): boundary and sorter must have the same size, but got boundary "
                               f"tensor {list(seq.shape)} and got sorter tensor {list(sorter.shape)}")
        order = sorter._data
        if order.size and bool(((order < 0) | (order >= seq.shape[-1])).any()):
            raise RuntimeError(f"{op_name}(): sorter index out of range")
    s, v, _ = in_result_type(seq, input)
    if s.dtype.kind == "b":                          # (in the common dtype: a bool sequence takes floats)
        raise NotImplementedError(f"{op_name}(): \"searchsorted_out_cpu\" not implemented for 'Bool'")
    if s.shape[-1] == 0 or v.size == 0:
        idx = np.zeros_like(v, dtype=np.int64)
    else:
        idx = _binary_search(s, v, right, order)
    return _ints(seq, idx, np.int32 if out_int32 else np.int64)


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    """Where each value of input would go in the innermost dim of
    sorted_sequence to keep it sorted: the first place (side 'left') or past
    equal values (right=True, side 'right'). sorter: the indices that sort an
    unsorted sequence."""
    _tensor(sorted_sequence, "searchsorted", "sorted_sequence")
    right = _side(right, side, "searchsorted")
    if sorted_sequence.ndim == 0:
        raise RuntimeError("searchsorted(): boundaries tensor should have positive dimension, but got 0 dimension")
    return _search("searchsorted", sorted_sequence, input, right, out_int32, sorter)


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each element of input among 1-d sorted boundaries:
    boundaries[i-1] < x <= boundaries[i] (right=True: <= x <)."""
    _tensor(boundaries, "bucketize", "boundaries")
    if boundaries.ndim != 1:
        raise RuntimeError(f"bucketize(): boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return _search("bucketize", boundaries, input, _flag(right, "bucketize", "right"), out_int32, None)


# ---- counting: bincount, histc --------------------------------------------------------

class Bincount(NoDerivative):
    """The weighted counts: PyTorch records no formula for the weights."""
    op_name, aten = "bincount", "bincount"

    def forward(self, w, idx, minlength):
        out = np.bincount(idx, weights=w, minlength=minlength)
        return out.astype(np.float32 if w.dtype == np.float32 else np.float64)   # (PyTorch's result types)


def bincount(input, weights=None, minlength=0):
    """The number of times each value 0, 1, ... occurs in 1-d non-negative
    integer input (at least minlength of them), or the sums of their weights."""
    if weights is not None and not isinstance(weights, Tensor):
        raise TypeError(f"bincount(): argument 'weights' (position 2) must be Tensor, not {type(weights).__name__}")
    minlength = _int(minlength, "bincount", "minlength")
    _no_kernel(input, "bincount", "bincount_cpu", "bf")
    _same_device("bincount", input, weights)
    if minlength < 0:
        raise RuntimeError(f"bincount(): minlength should be >= 0, got {minlength}")
    a = input._data
    if a.ndim == 1 and a.size == 0:                  # (int64 zeros, whatever the weights: PyTorch's)
        return _ints(input, np.zeros_like(a, dtype=np.int64, shape=(minlength,)))
    if a.ndim != 1 or bool((a < 0).any()):
        raise RuntimeError(f"bincount(): bincount only supports 1-d non-negative integral inputs "
                           f"(got shape {list(input.shape)})")
    if weights is not None and (weights.ndim != 1 or weights.shape[0] != a.shape[0]):
        raise RuntimeError(f"bincount(): weights should be 1-d and have the same length as input (input "
                           f"{list(input.shape)}, weights {list(weights.shape)})")
    if weights is None:
        return _ints(input, np.bincount(a, minlength=minlength))
    return Bincount.apply1(weights, a, minlength)


def histc(input, bins=100, min=0, max=0):
    """Counts of the elements in `bins` equal bins over [min, max] (the data's
    range when min == max; the last bin includes max), in input's dtype.
    Elements outside the range, and NaN, are not counted."""
    bins = _int(bins, "histc", "bins")
    lo, hi = (number(v, "histc", arg) for v, arg in ((min, "min"), (max, "max")))
    _no_kernel(input, "histc", "histogram_cpu", "biu")
    if bins <= 0:
        raise RuntimeError(f"histc(): bins must be > 0, but got {bins}")
    x = input._data.reshape(-1)
    if lo == hi and x.size:
        lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"histc(): range of [{lo}, {hi}] is not finite")
    if not lo < hi:
        raise RuntimeError(f"histc(): max must be larger than min (min {lo}, max {hi})")
    # PyTorch's linear binning, in input's dtype: int((x - lo) * bins / (hi - lo)), max into the last bin
    t = x.dtype.type
    lo, hi = t(lo), t(hi)
    inside = x[(x >= lo) & (x <= hi)]
    pos = ((inside - lo) * t(bins) / (hi - lo)).astype(np.int64)
    counts = np.bincount(np.minimum(pos, bins - 1), minlength=bins)
    return _ints(input, counts, x.dtype)


# ---- isin -----------------------------------------------------------------------------

def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each element of `elements` is in `test_elements` (either may be
    a Python number; compared in their common dtype, NaN in nothing)."""
    for v, arg in ((elements, "elements"), (test_elements, "test_elements")):
        if not isinstance(v, Tensor) and _dtype.scalar_kind(v) is None:
            raise TypeError(f"isin(): argument '{arg}' must be Tensor or Number, not {type(v).__name__}")
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin(): one of 'elements' and 'test_elements' must be a Tensor, got two numbers")
    _flag(assume_unique, "isin", "assume_unique")
    invert = _flag(invert, "isin", "invert")
    t = elements if isinstance(elements, Tensor) else test_elements
    _same_device("isin", t, test_elements if t is elements else elements)
    e, s, _ = in_result_type(*(number(v, "isin") if not isinstance(v, Tensor) else v
                               for v in (elements, test_elements)))
    if any(v._data.dtype.kind == "b" if isinstance(v, Tensor) else _dtype.scalar_kind(v) == 0
           for v in (elements, test_elements)):
        raise RuntimeError("isin(): Unsupported input type encountered for isin(): Bool")
    s = np.sort(s.reshape(-1))
    if s.size == 0:
        found = np.zeros_like(e, dtype=bool)
    else:
        at = np.minimum(np.searchsorted(s, e.reshape(-1)), s.size - 1)
        found = (s[at] == e.reshape(-1)).reshape(e.shape)
    return _ints(t, ~found if invert else found, np.bool_)


# ---- tril_indices, triu_indices ------------------------------------------------------

def _tri_indices(op_name, which, row, col, offset, dtype, device):
    row, col, offset = (_int(v, op_name, a) for v, a in ((row, "row"), (col, "col"), (offset, "offset")))
    dt = _dtype.as_dtype(dtype, op_name) or _dtype.int64
    from ..creation import backend_for
    bk = backend_for(device)
    for n, what in ((row, "row"), (col, "col")):
        if n < 0:
            raise RuntimeError(f"{op_name}(): {what} must be non-negative, got {n}")
    if dt.is_floating_point or dt is _dtype.bool_:
        raise NotImplementedError(f"{op_name}(): \"{op_name}\" not implemented for '{dt.libtorch}'")
    r, c = which(row, offset, col)                   # (row-major order, as PyTorch's)
    out = np.stack([r, c]).astype(dt.np)
    return Tensor._make(bk.from_host(out), bk)


def tril_indices(row, col, offset=0, *, dtype=None, device=None):
    """The (2, n) coordinates of a row x col matrix's lower triangle (on and
    below diagonal `offset`), row by row."""
    return _tri_indices("tril_indices", np.tril_indices, row, col, offset, dtype, device)


def triu_indices(row, col, offset=0, *, dtype=None, device=None):
    """The (2, n) coordinates of a row x col matrix's upper triangle (on and
    above diagonal `offset`), row by row."""
    return _tri_indices("triu_indices", np.triu_indices, row, col, offset, dtype, device)


# ---- unique_consecutive ----------------------------------------------------------------

class UniqueConsecutive(UniqueValues):
    """The first of each run of equal values (or slices along an axis), the run
    each element is in and the runs' lengths. Each NaN is a run of its own."""
    _name, op_name, _what = "UniqueConsecutiveBackward0", "unique_consecutive", "unique_consecutive"

    def forward(self, x, axis):
        a = x.reshape(-1) if axis is None else np.moveaxis(x, axis, 0)
        n = a.shape[0]
        flat = a.reshape(n, math.prod(a.shape[1:]))
        new = np.ones_like(flat, dtype=bool, shape=(n,))
        new[1:] = (flat[1:] != flat[:-1]).any(axis=1)
        starts = np.flatnonzero(new)
        inverse = (np.cumsum(new) - 1).astype(np.int64)
        counts = np.diff(starts, append=n).astype(np.int64)
        values = a[starts]
        if axis is None:
            return values, inverse.reshape(x.shape), counts
        return np.moveaxis(values, 0, axis), inverse, counts


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """input with each run of equal consecutive values (slices along dim)
    reduced to one; with the index of each element's run and the runs' lengths
    when asked."""
    flags = [_flag(v, "unique_consecutive", a) for v, a in ((return_inverse, "return_inverse"),
                                                            (return_counts, "return_counts"))]
    values, *rest = UniqueConsecutive.apply1(input, unique_axis(input, dim, "unique_consecutive"))
    out = (values,) + tuple(r for r, asked in zip(rest, flags) if asked)
    return out[0] if len(out) == 1 else out


# Tensor methods this module adds (attached by ops/methods.py)
METHODS = {"argsort": argsort, "msort": msort, "nonzero": nonzero, "argwhere": argwhere, "bincount": bincount,
           "histc": histc, "kthvalue": kthvalue, "mode": mode, "unique_consecutive": unique_consecutive}
# ag.<name> functions this module adds (exported by autograd_gpu/__init__.py); those
# whose first operand must be a Tensor go through functions.tensor_function
FUNCTIONS = {name: tensor_function(name, fn) for name, fn in METHODS.items()}
FUNCTIONS.update(searchsorted=searchsorted, bucketize=bucketize, isin=isin, tril_indices=tril_indices,
                 triu_indices=triu_indices)
