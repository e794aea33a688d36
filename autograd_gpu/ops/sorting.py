"""Sorting: sort and topk, as PyTorch's CPU: a stable sort (equal values keep
their order, in either direction), NaN counted as the largest value. Their
gradients put each incoming value back where the element came from."""
import collections

import numpy as np

from ..autograd.op import Op
from . import prims as P
from ._util import int_arg, wrap_dim

# the result types' names are PyTorch's (torch.return_types.sort, .topk)
SortResult = collections.namedtuple("sort", ["values", "indices"])
TopkResult = collections.namedtuple("topk", ["values", "indices"])


def stable_argsort(a, axis, descending=False):
    """Stable argsort along `axis`; descending keeps equal values in their order
    too (NumPy and CuPy sort NaN last: reversed, it comes first)."""
    def stable(x):     # (CuPy's argsort is stable and takes no kind)
        return np.argsort(x, axis=axis, kind="stable") if type(x) is np.ndarray else np.argsort(x, axis=axis)
    if not descending:
        return stable(a)
    return np.flip(a.shape[axis] - 1 - stable(np.flip(a, axis)), axis)


def kth_of_stable_argsort(x, k, axis):
    """stable_argsort(x, axis)'s entry k along axis (that axis kept, of size 1), without sorting all
    of x on NumPy: a partition finds each row's k-th value (NaN the largest, as the sort), and of
    the elements equal to it (in index order) the one the stable order puts at k is picked
    (kthvalue of 1000 x 1000: 49 -> 8 ms)."""
    where = (slice(None),) * axis + (slice(k, k + 1),)
    if type(x) is not np.ndarray:
        return stable_argsort(x, axis)[where]
    rows = np.moveaxis(x, axis, -1)
    kth = np.partition(rows, k, axis=-1)[..., k:k + 1]
    if x.dtype.kind == "f" and np.isnan(kth).any():
        # a row whose k-th is NaN: the values before it are its numbers, the ones equal to it its NaNs
        nan, nan_kth = np.isnan(rows), np.isnan(kth)
        before, equal = (rows < kth) | (~nan & nan_kth), (rows == kth) | (nan & nan_kth)
    else:
        before, equal = rows < kth, rows == kth
    counts = equal.sum(-1, keepdims=True)
    if (counts == 1).all():                     # (no ties: the one equal element)
        idx = np.argmax(equal, -1, keepdims=True)
    else:                                       # the (k - before)-th of the equal ones, 0-based
        rank = k - before.sum(-1, keepdims=True)
        idx = np.argmax(np.cumsum(equal, -1) > rank, -1, keepdims=True)
    return np.moveaxis(idx, -1, axis)


class _Selection(Op):
    """Values picked along an axis (and their int64 indices, no gradient)."""
    nondiff_outputs = (1,)

    def _pick(self, x, idx, axis):
        self.idx, self.axis, self.shape = idx, axis, x.shape
        return np.take_along_axis(x, idx, axis), idx

    def backward(self, grads):
        g = grads[0]
        if self.axis is None:                        # a 0-d input: itself
            return g
        return P.scatter_along(g, self.idx, self.axis, self.shape)


class Sort(_Selection):
    _name, op_name = "SortBackward0", "sort"

    def forward(self, x, axis, descending):
        if axis is None:
            self.axis = None
            return x.copy(), np.zeros_like(x, dtype=np.int64)
        return self._pick(x, stable_argsort(x, axis, descending), axis)


class Topk(_Selection):
    _name, op_name = "TopkBackward0", "topk"

    def forward(self, x, k, axis, largest):
        if axis is None:
            self.axis = None
            return x.copy(), np.zeros_like(x, dtype=np.int64)
        n = x.shape[axis]
        if type(x) is np.ndarray and 0 < 4 * k <= n and not (x.dtype.kind == "f" and np.isnan(x).any()):
            return self._pick(x, first_of_stable_argsort(x, k, axis, largest), axis)
        idx = stable_argsort(x, axis, largest)
        return self._pick(x, idx[(slice(None),) * axis + (slice(0, k),)], axis)


def first_of_stable_argsort(x, k, axis, descending):
    """stable_argsort(x, axis, descending)'s first k along axis, without sorting all of x (a
    NumPy array without NaN): one argpartition finds each row's k-th value, the values beyond it
    and the first of those equal to it (in index order) are the k, and a stable sort orders them."""
    n = x.shape[axis]
    rows = np.moveaxis(x, axis, -1)
    lead = rows.shape[:-1]
    rows = rows.reshape(-1, n)
    first = _first_among_candidates(rows, k, descending)
    if first is None:
        # ascending keys; descending: negated (bitwise for integers: no overflow), ties keep their order
        key = _ascending_key(rows, descending)
        kth = np.partition(key, k - 1, axis=-1)[:, k - 1:k]
        beyond, tied = key < kth, key == kth
        room = k - beyond.sum(-1, keepdims=True)                  # how many of the tied each row takes
        take = beyond | tied if (tied.sum(-1, keepdims=True) == room).all() else \
            beyond | (tied & (np.cumsum(tied, -1) <= room))
        chosen = _columns(np.flatnonzero(take), n).reshape(-1, k)   # (each row's k, in index order)
        order = np.argsort(np.take_along_axis(key, chosen, -1), axis=-1, kind="stable")
        first = np.take_along_axis(chosen, order, -1)
    return np.moveaxis(first.reshape(lead + (k,)), -1, axis)


def _ascending_key(a, descending):
    return (np.negative(a) if a.dtype.kind == "f" else np.invert(a)) if descending else a


def _columns(flat, n):
    """Flat positions in an (R, n) array as column numbers (np.nonzero's 2-d form is ~9x slower)."""
    return flat % n


def _first_among_candidates(rows, k, descending):
    """The first k of each row's stable order (R, k), found among candidates: split a row into 4k
    groups (strided), the k-th best of their best is a threshold that at least k elements reach, so the k are
    among the elements that reach it (for data without heavy ties about 1.2 k a row); those are laid
    out in index order in a small (R, C) array and stably sorted. None where the candidates are many
    (heavy ties: the caller partitions the rows)."""
    n = rows.shape[1]
    groups = 4 * k
    size = n // groups
    if size < 4:
        return None
    # (group j takes the columns j, j + groups, ...: the reduction runs along rows, NumPy's fast way)
    best = (np.maximum if descending else np.minimum).reduce(rows[:, :groups * size].reshape(-1, size, groups), 1)
    if groups * size < n:                               # (the tail's elements are groups of one)
        best = np.concatenate([best, rows[:, groups * size:]], 1)
    key = _ascending_key(best, descending)
    threshold = np.take_along_axis(best, np.argpartition(key, k - 1, -1)[:, k - 1:k], -1)
    reach = rows >= threshold if descending else rows <= threshold
    counts = np.add.reduce(reach, 1, dtype=np.intp)
    width = int(counts.max())
    if width > max(4 * k, n // 16):
        return None
    flat = np.flatnonzero(reach)
    row = flat // n
    rank = np.arange(flat.size) - np.repeat(np.cumsum(counts) - counts, counts)
    fill = (-np.inf if descending else np.inf) if rows.dtype.kind == "f" else \
        (np.iinfo(rows.dtype).min if descending else np.iinfo(rows.dtype).max)
    values = np.full((rows.shape[0], width), fill, rows.dtype)   # (the fill sorts after real values: stable)
    columns = np.zeros((rows.shape[0], width), np.int64)
    values[row, rank] = rows.reshape(-1)[flat]
    columns[row, rank] = flat - row * n
    order = np.argsort(_ascending_key(values, descending), axis=-1, kind="stable")[:, :k]
    return np.take_along_axis(columns, order, -1)


_UNSET = object()


def sort_arguments(api, positional, dim, descending, stable):
    """(dim, descending, stable) by PyTorch's two signatures of sort and argsort: (dim=-1,
    descending=False), and (*, stable, dim=-1, descending=False): with `stable`, both are keywords."""
    if len(positional) > 2:
        raise TypeError(f"{api}() takes from 1 to 3 positional arguments but {len(positional) + 1} were given")
    if positional and stable is not _UNSET:
        raise TypeError(f"{api}() received an invalid combination of arguments: with the keyword `stable`, "
                        f"dim and descending are keywords too, but {len(positional)} came by position")
    for name, value in zip(("dim", "descending"), positional):
        if (dim if name == "dim" else descending) is not _UNSET:
            raise TypeError(f"{api}() got multiple values for argument '{name}'")
        if name == "dim":
            dim = value
        else:
            descending = value
    descending = False if descending is _UNSET else descending
    stable = False if stable is _UNSET else stable
    for name, value in (("descending", descending), ("stable", stable)):
        if type(value) is not bool and not isinstance(value, np.bool_) and not (
                value is None and name == "stable" and api == "sort"):     # (sort's is `bool?`, argsort's `bool`)
            raise TypeError(f"{api}(): argument '{name}' must be bool, not {type(value).__name__}")
    return -1 if dim is _UNSET else dim, bool(descending), bool(stable)


def sort(input, *positional, dim=_UNSET, descending=_UNSET, stable=_UNSET):
    """(values, indices) sorted along `dim` (stable whatever `stable` says, as PyTorch's CPU)."""
    dim, descending, _ = sort_arguments("sort", positional, dim, descending, stable)
    axis = wrap_dim(dim, input.ndim, "sort")
    return SortResult(*Sort.apply1(input, axis if input.ndim else None, bool(descending)))


def topk(input, k, dim=-1, largest=True, sorted=True):
    """The k largest (smallest) values along `dim` and their indices, sorted.
    (Which of several equal values is taken is not specified by PyTorch: we
    take the first ones.)"""
    k = int_arg(k, "topk", "k")
    axis = wrap_dim(dim, input.ndim, "topk")
    if input._data.dtype.kind == "b":
        raise RuntimeError("topk(): topk does not support bool dtypes (as PyTorch's CPU)")
    size = input.shape[axis] if input.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError(f"topk(): selected index k out of range (k={k}, size {size} along dim {axis})")
    return TopkResult(*Topk.apply1(input, k, axis if input.ndim else None, bool(largest)))


class ScatterAlong(Op):
    """zeros(shape) with g at idx along axis, and TakeAlong, the pick: each is
    the other's gradient (the selections' backward, recorded under create_graph)."""
    _name, op_name = "ScatterBackward0", "scatter"

    def forward(self, g, idx, axis, shape):
        self.idx, self.axis = idx, axis
        return P.scatter_along(g, idx, axis, shape)

    def backward(self, gg):
        return P.take_along(gg, self.idx, self.axis)


class TakeAlong(Op):
    _name, op_name = "GatherBackward0", "gather"

    def forward(self, x, idx, axis):
        self.idx, self.axis, self.shape = idx, axis, x.shape
        return P.take_along(x, idx, axis)

    def backward(self, g):
        return P.scatter_along(g, self.idx, self.axis, self.shape)


class UniqueValues(Op):
    """unique's values and, when asked, the inverse indices and the counts (no
    gradient: PyTorch records the node and raises in backward, as here)."""
    nondiff_outputs = (1, 2)
    _what = "_unique2"

    def forward(self, x, axis):
        if (axis is None and type(x) is np.ndarray and x.dtype.kind in "iub" and x.size >= 4096
                and x.dtype != np.uint64):             # (uint64 past 2**63 would wrap in int64)
            counted = _unique_by_counting(x)
            if counted is not None:
                return counted
        if axis is None:
            order = stable_argsort(x.reshape(-1), 0)
            rows = x.reshape(-1)[order]
            fresh = rows[1:] != rows[:-1]              # (NaN != NaN: each NaN stays, as PyTorch's)
        else:
            a = np.moveaxis(x, axis, 0)
            m = a.reshape(a.shape[0], -1)
            order = np.lexsort(m.T[::-1])               # (unique() refused zero-size other dims)
            rows = m[order]
            fresh = (rows[1:] != rows[:-1]).any(axis=1)
        n = rows.shape[0]
        new = np.empty_like(fresh, shape=(n,))         # (on the input's device, as every array here)
        new[:1] = True
        new[1:] = fresh
        starts = np.flatnonzero(new)
        inverse = np.empty_like(order, shape=(n,), dtype=np.int64)
        inverse[order] = np.cumsum(new) - 1
        counts = np.diff(starts, append=n)
        values = rows[starts]
        if axis is None:
            return values, inverse.reshape(x.shape), counts
        values = np.moveaxis(values.reshape((starts.size,) + a.shape[1:]), 0, axis)
        return values, inverse, counts

    def backward(self, grads):
        raise NotImplementedError(f"the derivative for '{self._what}' is not implemented.")


def _unique_by_counting(x):
    """unique's (values, inverse, counts) of integers whose range is at most twice their number: a
    count per value in the range (bincount), no sort (100k values under 100: 4.2 -> 0.9 ms); None
    for a wider range."""
    flat = x.reshape(-1).astype(np.int64, copy=False)
    lo, hi = int(flat.min()), int(flat.max())
    if hi - lo >= 2 * flat.size:
        return None
    shifted = flat - lo
    per_value = np.bincount(shifted, minlength=hi - lo + 1)
    present = np.flatnonzero(per_value)
    rank = np.zeros(per_value.size, np.int64)
    rank[present] = np.arange(present.size)
    return (present + lo).astype(x.dtype), rank[shifted].reshape(x.shape), per_value[present]


class Unique(UniqueValues):
    _name, op_name = "Unique2Backward0", "unique"


class UniqueDim(UniqueValues):
    _name, op_name, _what = "UniqueDimBackward0", "unique", "unique_dim"


def unique_axis(input, dim, op_name):
    """The axis of unique(dim=...) and unique_consecutive (None: flattened),
    after PyTorch's checks (the other dims must not be empty)."""
    if dim is None:
        return None
    if input.ndim == 0:
        int_arg(dim, op_name, "dim")
        raise IndexError(f"{op_name}(): Dimension specified as {dim} but tensor has no dimensions")
    axis = wrap_dim(dim, input.ndim, op_name)
    if any(n == 0 for d, n in enumerate(input.shape) if d != axis):
        raise RuntimeError(f"{op_name}(): There are 0 sized dimensions, and they aren't selected, so unique "
                           f"cannot be applied (shape {list(input.shape)}, dim {axis})")
    return axis


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values (or slices along `dim`), sorted, with the indices
    that rebuild input from them and their counts when asked. Each NaN is
    distinct, as in PyTorch. (sorted=False sorts too: PyTorch does not promise
    an order then.)"""
    axis = unique_axis(input, dim, "unique")
    if axis is None:
        values, inverse, counts = Unique.apply1(input, None)
    else:
        values, inverse, counts = UniqueDim.apply1(input, axis)
    out = (values,) + ((inverse,) if return_inverse else ()) + ((counts,) if return_counts else ())
    return out[0] if len(out) == 1 else out
