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


def _argsort(a, axis, descending):
    """Stable argsort along `axis`; descending keeps equal values in their order
    too (NumPy and CuPy sort NaN last: reversed, it comes first)."""
    def stable(x):     # (CuPy's argsort is stable and takes no kind)
        return np.argsort(x, axis=axis, kind="stable") if type(x) is np.ndarray else np.argsort(x, axis=axis)
    if not descending:
        return stable(a)
    return np.flip(a.shape[axis] - 1 - stable(np.flip(a, axis)), axis)


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
        return self._pick(x, _argsort(x, axis, descending), axis)


class Topk(_Selection):
    _name, op_name = "TopkBackward0", "topk"

    def forward(self, x, k, axis, largest):
        if axis is None:
            self.axis = None
            return x.copy(), np.zeros_like(x, dtype=np.int64)
        idx = _argsort(x, axis, largest)
        return self._pick(x, idx[(slice(None),) * axis + (slice(0, k),)], axis)


def sort(input, dim=-1, descending=False, stable=False):
    """(values, indices) sorted along `dim` (stable whatever `stable` says, as PyTorch's CPU)."""
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
