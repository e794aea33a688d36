"""Indexing: `t[idx]` (basic indices give views, integer/boolean tensors or lists
give copies) and `t[idx] = v` (an in-place op). The gradient of an index
scatters back into zeros, summing repeated positions."""
import numpy as np

from ..autograd.op import Op, check_inplace, commit_inplace
from ..autograd.grad_mode import state as grad_state
from ..tensor import Tensor
from . import prims as P
from ._util import check_fits


def _is_basic(idx):
    return all(type(i) in (int, slice) or i is None or i is Ellipsis for i in idx)


def normalize_index(x, idx):
    """A tuple of NumPy-style index components on x's device; bad component
    types raise IndexError/TypeError as PyTorch does."""
    if type(idx) is list and len(idx) < 32 and any(
            e is None or e is Ellipsis or isinstance(e, (list, tuple, slice, np.ndarray, Tensor)) for e in idx):
        idx = tuple(idx)    # PyTorch's rule: such a list is a tuple of indices (x[[[0], [1]]] is x[[0], [1]])
    if not isinstance(idx, tuple):
        idx = (idx,)
    out = []
    bk = x._backend
    for i in idx:
        t = type(i)
        if t is int or t is slice or i is None or i is Ellipsis:
            if t is slice and any(isinstance(v, Tensor) for v in (i.start, i.stop, i.step)):
                i = slice(*(int(v) if isinstance(v, Tensor) else v for v in (i.start, i.stop, i.step)))
            if t is slice and i.step is not None and i.step <= 0:
                raise ValueError(f"index: step must be greater than zero (got {i.step})")
            out.append(i)
        elif t is bool or isinstance(i, np.bool_):
            out.append(bk.asarray(np.asarray(bool(i))))
        elif isinstance(i, (np.integer,)):
            out.append(int(i))
        elif isinstance(i, Tensor) and i.ndim == 0 and i._data.dtype.kind in "iu":
            out.append(int(i))              # a 0-d integer tensor indexes as an int (a view), as PyTorch
        elif isinstance(i, Tensor):
            if i._backend is not bk and i._backend.is_cuda:    # (CPU indices into a CUDA tensor are fine)
                raise RuntimeError(f"index: indices should be either on cpu or on the same device as the "
                                   f"indexed tensor ({x.device}), but found indices on {i.device}")
            out.append(_index_array(i._data if i._backend is bk else bk.from_host(i._host()), i.dtype.libtorch))
        elif isinstance(i, (list, tuple, np.ndarray)):
            a = np.asarray(i)
            if a.size == 0 and a.dtype.kind != "b":   # [] is an empty integer index (NumPy says float64);
                a = a.astype(np.int64)                 # an empty boolean mask stays a mask
            if a.dtype.kind == "f" or a.dtype == object:
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            out.append(_index_array(bk.from_host(a), None))
        elif hasattr(i, "__cuda_array_interface__") or hasattr(i, "__dlpack__"):
            out.append(_index_array(bk.asarray(i), None))
        else:
            kind = TypeError if isinstance(i, str) else IndexError     # (PyTorch: x["a"] TypeError, x[1.5] IndexError)
            raise kind(f"index: only integers, slices (`:`), ellipsis (`...`), None and long or "
                       f"byte Variables are valid indices (got {type(i).__name__})")
    return tuple(out)


def _index_array(a, name):
    if a.dtype.kind not in "biu":
        raise IndexError(f"tensors used as indices must be long, int, byte or bool tensors "
                         f"(got {name or a.dtype})")
    return a


def _fix_message(e):
    # NumPy says "axis"; PyTorch says "dimension"
    return str(e).replace("for axis", "for dimension")


class BasicIndex(Op):
    """A view by ints, slices, None and Ellipsis."""
    _name, op_name = "SliceBackward0", "index"
    is_view = True

    def forward(self, x, idx):
        self.in_shape, self.idx = x.shape, idx
        try:
            # a trailing Ellipsis makes NumPy return a 0-d view, not a scalar copy
            return x[idx if Ellipsis in idx else idx + (Ellipsis,)]
        except IndexError as e:
            raise IndexError(_fix_message(e)) from None

    def backward(self, g):
        return P.index_add(g, self.idx, self.in_shape)


class Select(BasicIndex):
    _name = "SelectBackward0"


class UnsqueezeIndex(BasicIndex):
    _name = "UnsqueezeBackward0"


class Alias(BasicIndex):
    _name = "AliasBackward0"


class AdvancedIndex(Op):
    """A copy by integer/boolean arrays (mixed with basic components)."""
    _name, op_name = "IndexBackward0", "index"

    def forward(self, x, idx):
        self.in_shape, self.idx = x.shape, idx
        try:
            y = x[idx]
        except IndexError as e:
            raise IndexError(_fix_message(e)) from None
        # NumPy may lay the result out transposed (x[:, [0, 1]]); PyTorch's is
        # contiguous, and .view() of it (or of results computed from it) works
        return y if y.flags.c_contiguous else y.copy()

    def backward(self, g):
        self.check_kept()
        return P.index_add(g, self.idx, self.in_shape)


class IndexAddZeros(Op):
    """zeros(shape) with g added at idx: the differentiable form of the
    gradient of an index (used when the backward pass is recorded)."""
    _name, op_name = "IndexPutBackward0", "index_put"

    def forward(self, g, idx, shape):
        self.idx = idx
        return P.index_add(g, idx, shape)

    def backward(self, gg):
        return P.getitem(gg, self.idx)


class IndexPut(Op):
    """x with x[idx] = v (advanced idx): the out-of-place half of `x[idx] = v`."""
    _name, op_name = "IndexPutBackward0", "index_put_"

    def forward(self, x, v, idx):
        self.idx = idx
        out = x.copy()
        out[idx] = v
        return out

    def backward(self, g):
        self.check_kept()
        gx = None
        if self.needs(0):
            mask = _ones_like(g)
            mask[self.idx] = 0
            gx = g * (Tensor._make(mask, g._backend) if isinstance(g, Tensor) else mask)
        gv = P.getitem(g, self.idx) if self.needs(1) else None
        return gx, gv


def _ones_like(g):
    d = g._data if isinstance(g, Tensor) else g
    return np.ones_like(d)            # CuPy arrays: NEP 18 dispatch


def _name_class(idx):
    real = [i for i in idx if not (i is Ellipsis or (type(i) is slice and i == slice(None)))]
    if not real:
        return BasicIndex if any(type(i) is slice for i in idx) else Alias
    last = real[-1]
    if type(last) is int:
        return Select
    if last is None:
        return UnsqueezeIndex
    return BasicIndex


def getitem(x, idx):
    nidx = normalize_index(x, idx)
    if _is_basic(nidx):
        return _name_class(nidx).apply1(x, nidx)
    out = AdvancedIndex.apply1(x, nidx)
    if out._node is not None:
        out._node.keep(_index_tensors(idx))
    return out


def _index_tensors(idx):
    """The tensors among an index's components (kept for backward)."""
    if isinstance(idx, Tensor):
        return (idx,)
    if isinstance(idx, (tuple, list)):
        return tuple([i for i in idx if isinstance(i, Tensor)])
    return ()


def setitem(x, idx, value):
    """x[idx] = value, in place; differentiable in x's untouched part and in value."""
    # PyTorch's order of checks: a bad basic index, then the in-place rules
    # (leaf, expanded), then a bad advanced index
    try:
        nidx = normalize_index(x, idx)
    except IndexError:
        check_inplace(x, "setitem")
        raise
    written = None          # a basic index writes a view: only it must not repeat elements
    if _is_basic(nidx):
        try:
            written = x._data[nidx if Ellipsis in nidx else nidx + (Ellipsis,)]
        except IndexError as e:
            raise IndexError(f"setitem: {_fix_message(e)}") from None
    check_inplace(x, "setitem", written)
    if isinstance(value, Tensor):
        if value._backend is not x._backend:
            from ..autograd.op import device_mismatch
            raise device_mismatch("setitem", x, value)
    else:
        from ..creation import tensor as make_tensor
        if type(value) in (int, float):
            check_fits(value, x._data.dtype, "setitem")   # NaN into an integer tensor: PyTorch refuses
        try:
            value = make_tensor(value, dtype=x.dtype, device=x.device)
        except (TypeError, ValueError) as e:
            raise TypeError(f"setitem: can't assign a {type(value).__name__} to a tensor: {e}") from None
    if grad_state.enabled and (x._rg or value._rg):
        if _is_basic(nidx):
            view = _name_class(nidx).apply1(x, nidx)
            from .inplace import copy_
            try:
                copy_(view, value)          # rebases x's history (CopySlices)
            except RuntimeError as e:
                raise RuntimeError(f"setitem: {e}") from None
            return
        v = value if value._data.dtype == x._data.dtype else value.to(x.dtype)
        res = IndexPut.apply2(x, v, nidx)
        if res._node is not None:
            res._node.keep(_index_tensors(idx))
        commit_inplace(x, res, "setitem")
        return
    try:
        x._data[nidx] = value._data
    except ValueError as e:
        raise RuntimeError(f"setitem: shape mismatch: value tensor of shape {list(value.shape)} cannot be "
                           f"broadcast to indexing result ({e})") from None
    except IndexError as e:
        raise IndexError(f"setitem: {_fix_message(e)}") from None
    x._vc[0] += 1
