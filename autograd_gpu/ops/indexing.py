"""Indexing: `t[idx]` (basic indices give views, integer/boolean tensors or lists
give copies) and `t[idx] = v` (an in-place op). The gradient of an index
scatters back into zeros, summing repeated positions."""
import operator
import os
import sys
import warnings

import numpy as np

from ..autograd import op as _op
from ..autograd.op import Op, check_inplace, commit_inplace, check_no_partial_overlap, device_mismatch
from ..autograd.saved_hooks import deferred
from ..autograd.grad_mode import state as grad_state
from ..tensor import Tensor
from . import prims as P
from ._util import broadcastable, check_fits, number, wrap_dim


def _is_basic(idx):
    return all(type(i) in (int, slice) or i is None or i is Ellipsis for i in idx)


_PLAIN = (int, type(None))
_BAD_KIND = ("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid "
             "indices")
_LONG_INT_BOOL = ("tensors used as indices must be long, int, byte or bool tensors")


def normalize_index(x, idx):
    """A tuple of NumPy-style index components on x's device, meaning what the
    index means to PyTorch; bad components raise IndexError/TypeError as
    PyTorch does."""
    if type(idx) is list and len(idx) < 32 and any(
            e is None or e is Ellipsis or isinstance(e, (list, tuple, slice, np.ndarray, Tensor)) for e in idx):
        idx = tuple(idx)    # PyTorch's rule: such a list is a tuple of indices (x[[[0], [1]]] is x[[0], [1]])
    if not isinstance(idx, tuple):
        idx = (idx,)
    out = []
    bk = x._backend
    ellipses = 0
    for i in idx:
        t = type(i)
        if t is int or i is None:
            out.append(i)
        elif t is slice:
            if type(i.start) not in _PLAIN or type(i.stop) not in _PLAIN or type(i.step) not in _PLAIN:
                # tensors and __index__ objects; a float tensor raises PyTorch's TypeError
                i = slice(*(v if v is None else operator.index(v) for v in (i.start, i.stop, i.step)))
            if i.step is not None and i.step <= 0:
                raise ValueError("index: slice step cannot be zero" if i.step == 0 else
                                 f"index: step must be greater than zero (got {i.step})")
            out.append(i)
        elif i is Ellipsis:
            ellipses += 1
            out.append(i)
        elif t is bool or isinstance(i, np.bool_):
            out.append(bk.asarray(np.asarray(bool(i))))
        elif isinstance(i, np.integer):
            out.append(int(i))
        elif isinstance(i, Tensor):
            out.append(_tensor_index(x, i, bk))
        elif isinstance(i, (list, tuple, np.ndarray, range)):
            out.append(_array_index(np.asarray(i), bk, True))
        elif hasattr(i, "__cuda_array_interface__") or hasattr(i, "__dlpack__"):
            out.append(_array_index(bk.asarray(i), bk, False))
        elif hasattr(t, "__index__"):
            out.append(operator.index(i))   # an IntEnum, a custom integer type: an int to PyTorch
        else:
            kind = TypeError if isinstance(i, str) else IndexError     # (PyTorch: x["a"] TypeError, x[1.5] IndexError)
            raise kind(f"index: {_BAD_KIND} (got {t.__name__})")
    if ellipses > 1:
        return _expand_ellipses(out, x.ndim)
    return tuple(out)


_I64, _I32, _U8 = np.dtype(np.int64), np.dtype(np.int32), np.dtype(np.uint8)


def _tensor_index(x, i, bk):
    d = i._data
    dt = d.dtype
    if dt is not _I64 and dt is not _I32:
        if dt.kind == "b":
            pass
        elif dt == _U8:                 # a byte mask (a 0-d one: True/False)
            if d.ndim:
                _warn_uint8()
            d = d != 0
        elif dt.kind in "iu" and d.ndim == 0:
            return int(i)               # (int8, int16: only as 0-d, like a Python int)
        else:
            raise IndexError(f"index: {_LONG_INT_BOOL} (got {i.dtype.libtorch})")
    elif d.ndim == 0:
        return int(i)                   # a 0-d integer tensor indexes as an int (a view), as in PyTorch
    if i._backend is not bk:
        if i._backend.is_cuda:          # (CPU indices into a CUDA tensor are fine)
            raise RuntimeError(f"index: indices should be either on cpu or on the same device as the "
                               f"indexed tensor ({x.device}), but found indices on {i.device}")
        d = bk.from_host(d)
    return d


def _array_index(a, bk, host):
    """A NumPy (host) or device array as an index, converted as PyTorch converts
    a list or array: bool and uint8 are masks, floats truncate to int64."""
    k = a.dtype.kind
    if k == "i" or k == "b":
        pass
    elif a.size == 0:
        a = a.astype(np.int64)          # [] is an empty integer index (NumPy says float64)
    elif k == "u":
        if a.dtype == _U8:
            _warn_uint8()
            a = a != 0
    elif k == "f":
        if not bool(((a >= -2.0 ** 63) & (a < 2.0 ** 63)).all()):      # (False for NaN)
            raise RuntimeError("index: value cannot be converted to type int64 without overflow")
        a = a.astype(np.int64)          # truncates toward zero, as PyTorch's conversion to long
    else:                               # a ragged list (object), strings, complex numbers
        raise IndexError(f"index: {_LONG_INT_BOOL}")
    return bk.from_host(a) if host else a


def _warn_uint8():
    level, f = 1, sys._getframe()           # point at the first caller outside the package
    while f is not None and f.f_code.co_filename.startswith(_PACKAGE_DIR):
        level, f = level + 1, f.f_back
    warnings.warn("indexing with dtype torch.uint8 is now deprecated, please use a dtype torch.bool instead.",
                  UserWarning, stacklevel=level)


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _dims_of(c):
    """How many dims of the indexed tensor component c consumes."""
    if c is None or c is Ellipsis:
        return 0
    if type(c) is int or type(c) is slice:
        return 1
    return c.ndim if c.dtype.kind == "b" else 1


def _expand_ellipses(out, ndim):
    """Several Ellipses, as PyTorch reads them: each one skips the dims the
    other components leave unindexed (the first spans them; a later one moves
    past dims that are never indexed, unless components follow it)."""
    free = ndim - sum(_dims_of(c) for c in out)
    if free < 0:
        raise IndexError(f"index: too many indices for tensor of dimension {ndim}")
    res, fill = [], []                  # fill: where the Ellipses' slices stand in res
    for c in out:
        if c is Ellipsis:
            fill.extend(range(len(res), len(res) + free))
            res.extend([slice(None)] * free)
        else:
            res.append(c)
    excess = sum(_dims_of(c) for c in res) - ndim
    while excess > 0 and res and _skipped_past_end(res[-1]):
        # trailing slices past the last dim (a later Ellipsis's, or one like `0:k` after
        # it): PyTorch never applies them (x[..., ..., 0:1] is x for a 2-d x)
        res.pop()
        if fill and fill[-1] == len(res):
            fill.pop()
        excess -= 1
    if excess > 0:
        raise IndexError(f"index: too many indices for tensor of dimension {ndim} (several Ellipses "
                         "shift the components after them past the last dimension)")
    return tuple(res)


def _skipped_past_end(c):
    """Whether PyTorch skips slice c at a dim past the last one, as a full slice
    (from 0, step 1, to no end or one >= 0); any other slice or None there
    raises 'Dimension out of range'."""
    return type(c) is slice and c.start in (None, 0) and c.step in (None, 1) and (c.stop is None or c.stop >= 0)


def _select_first(nidx, ndim):
    """An advanced index as PyTorch places its dims, in NumPy terms.
    PyTorch applies int components (selects) before the advanced ones, so an
    int apart from the arrays does not count among them; NumPy counts it as one
    more advanced index, which moves the advanced dims to the front when a slice
    or None stands between (x[1, :, [0, 2]] has shape (4, 2) in PyTorch, (2, 4)
    in NumPy). Then: (the basic index to apply first, the rest); else
    (None, nidx). PyTorch also judges adjacency by dims: an Ellipsis spanning
    none separates nothing (x[:, [0, 1], ..., [1, 2]]), so it goes."""
    if len(nidx) == 1:
        return None, nidx
    ell = ints = False
    pos = []                            # where the ints and arrays stand
    for k, c in enumerate(nidx):
        if c is Ellipsis:
            ell = True
        elif type(c) is not slice and c is not None:
            pos.append(k)
            ints = ints or type(c) is int
    if ell and sum(_dims_of(c) for c in nidx) == ndim:
        return _select_first(tuple(c for c in nidx if c is not Ellipsis), ndim)
    if not ints or pos[-1] - pos[0] + 1 == len(pos):
        return None, nidx               # the same placement either way
    rest = []
    for c in nidx:
        if type(c) is slice or c is None:
            rest.append(slice(None))
        elif c is Ellipsis:
            rest.append(c)
        elif type(c) is int:
            continue
        elif c.dtype.kind == "b" and c.ndim == 0:
            rest.append(c.reshape(1).nonzero()[0])      # True/False: [0] or [] on the dim _basic_part adds
        else:
            rest.append(c)
    return _basic_part(nidx), tuple(rest)


def _basic_part(nidx):
    """nidx with each array replaced by full slices of the dims it indexes (a
    0-d bool, True/False, by None: PyTorch indexes a new dim for it): what
    PyTorch applies before the advanced indices."""
    out = []
    for c in nidx:
        if type(c) is int or type(c) is slice or c is None or c is Ellipsis:
            out.append(c)
        elif c.dtype.kind == "b":
            out.extend([slice(None)] * c.ndim if c.ndim else [None])
        else:
            out.append(slice(None))
    return tuple(out)


_ZERO_DIM = ("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in C++ to "
             "convert a 0-dim tensor to a number")


def _index_error(e, a, nidx):
    """NumPy's (or CuPy's) IndexError for indexing array `a` with nidx, in PyTorch's words."""
    msg = str(e)
    if msg.startswith("Index "):        # CuPy: "Index 5 is out of bounds for axis 0 with size 2"
        msg = "i" + msg[1:]
    if msg.startswith("too many indices"):
        if a.ndim == 0 and nidx and type(nidx[0]) is int:
            return _ZERO_DIM
        if a.ndim == 0 and nidx and type(nidx[0]) is slice:
            return "slice() cannot be applied to a 0-dim tensor."
        return f"too many indices for tensor of dimension {a.ndim}"
    if msg.startswith("boolean index did not match"):
        return _mask_mismatch(a, nidx) or msg
    return msg.replace("for axis", "for dimension")     # NumPy says "axis"; PyTorch says "dimension"


def _check_masks(a, nidx):
    """PyTorch's IndexError for a mask that does not fit. NumPy (and CuPy) check
    masks themselves, except on an empty array or for a mask dim of size 0,
    which they take as selecting nothing."""
    if a.size == 0 or any(type(c) is not int and type(c) is not slice and c is not None and c is not Ellipsis
                          and c.dtype.kind == "b" and 0 in c.shape for c in nidx):
        msg = _mask_mismatch(a, nidx)
        if msg:
            raise IndexError(msg)


def _mask_mismatch(a, nidx):
    """PyTorch's message for the first mask that does not fit: its position
    counts in the tensor left after the basic components (ints gone, None in)."""
    try:
        shape = a[_with_ellipsis(_basic_part(nidx))].shape
    except IndexError:
        return None
    dim, free = 0, a.ndim - sum(_dims_of(c) for c in nidx)
    for c in nidx:
        if type(c) is int:
            continue
        if c is Ellipsis:
            dim += free
        elif type(c) is slice or c is None or c.dtype.kind != "b" or c.ndim == 0:
            dim += 1
        else:
            for j, n in enumerate(c.shape):
                if dim + j >= len(shape) or shape[dim + j] != n:
                    return (f"The shape of the mask {list(c.shape)} at index {j} does not match the shape of "
                            f"the indexed tensor {list(shape)} at index {dim + j}")
            dim += c.ndim
    return None


def _int_arrays(a, nidx):
    """(position in nidx, dim of a it indexes, array) of each integer index array."""
    free = a.ndim - sum(_dims_of(c) for c in nidx)
    axis = 0
    for k, c in enumerate(nidx):
        if c is Ellipsis:
            axis += free
        elif c is None:
            continue
        elif type(c) is int or type(c) is slice:
            axis += 1
        elif c.dtype.kind == "b":
            axis += c.ndim
        else:
            yield k, axis, c
            axis += 1


def _check_array_bounds(a, nidx):
    """IndexError for an integer index array with a value out of bounds. NumPy
    checks this itself; CuPy wraps such indices around without a word, so
    device arrays are checked here (one device-to-host sync per index array)."""
    if type(a) is np.ndarray:
        return
    arrays = [c for c in nidx if not (c is None or c is Ellipsis or type(c) is int or type(c) is slice)]
    # NumPy's checks and words, in NumPy's order (CuPy raises ValueError for a shape mismatch, before
    # counting the indices: seen on an H200), so that both devices' errors translate alike
    used = sum(c.ndim if getattr(c, "dtype", None) is not None and c.dtype.kind == "b" else 1
               for c in nidx if c is not None and c is not Ellipsis)
    if used > a.ndim:
        raise IndexError(f"too many indices for array: array is {a.ndim}-dimensional, but {used} were indexed")
    shapes = [(int(c.sum()),) if c.dtype.kind == "b" else c.shape for c in arrays]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise IndexError("shape mismatch: indexing arrays could not be broadcast together with shapes "
                         + " ".join(str(s) for s in shapes)) from None
    if any(0 in s for s in shapes):
        return                          # the indices broadcast to nothing: none is used (as NumPy, PyTorch)
    for _, axis, c in _int_arrays(a, nidx):
        if axis < a.ndim and c.size:
            n = a.shape[axis]
            bad = (c < -n) | (c >= n)
            if bool(bad.any()):
                raise IndexError(f"index {int(c[bad][0])} is out of bounds for dimension {axis} with size {n}")


def empty_result_shape(a, nidx):
    """The shape of a[nidx] when it has no element, found without reading the
    integer index values (PyTorch reads, and so checks, none of them then:
    zeros(2, 3, 0)[[1], [7]] is empty, not an error); None otherwise, or when
    the index is bad in some other way."""
    shape, idx, index_shapes = list(a.shape), list(nidx), []
    zero_dim_indexed = False
    for k, axis, c in _int_arrays(a, nidx):
        if axis >= len(shape):
            return None
        zero_dim_indexed = zero_dim_indexed or shape[axis] == 0
        shape[axis] = max(shape[axis], 1)
        idx[k] = np.zeros(c.shape, np.intp)      # index 0, valid now, in place of the values
        index_shapes.append(c.shape)
    for k, c in enumerate(idx):
        if hasattr(c, "dtype") and c.dtype.kind == "b":
            if type(c) is not np.ndarray:
                c = idx[k] = c.get()             # a device mask: its count of True matters
            index_shapes.append((int(c.sum()),))
    # a zero-strided stand-in for `a`, indexed only once the result is known to be empty
    stand_in = np.lib.stride_tricks.as_strided(np.zeros(1, bool), tuple(shape), (0,) * len(shape))
    try:
        selects_nothing = 0 in np.broadcast_shapes(*index_shapes)
        if zero_dim_indexed and not selects_nothing:
            return None          # PyTorch's own check: no index value is valid for a dim of size 0
        empty = selects_nothing or 0 in stand_in[_with_ellipsis(_basic_part(tuple(idx)))].shape
        return stand_in[tuple(idx)].shape if empty else None
    except (IndexError, ValueError):
        return None


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
            raise IndexError(_index_error(e, x, idx)) from None

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
        _check_masks(x, idx)
        try:
            _check_array_bounds(x, idx)
            y = x[idx]
        except IndexError as e:
            shape = empty_result_shape(x, idx)
            if shape is None:
                raise IndexError(_index_error(e, x, idx)) from None
            return np.empty_like(x, shape=shape)       # (CuPy arrays: NEP 18 dispatch)
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
        _write(out, idx, v)
        return out

    def backward(self, g):
        self.check_kept()
        gx = zeroed_at(g, self.idx) if self.needs(0) else None
        gv = P.getitem(g, self.idx) if self.needs(1) else None
        return gx, gv

    @classmethod
    def jvp(cls, y, inputs, tangents, *attrs):
        # linear in its tensor inputs: the write itself, of the tangents. Where an index repeats, the
        # tangent of the value that lands, as the primal (PyTorch's); the transposed backward sums them
        return cls.applyN(tangents, *attrs)


def zeroed_at(g, idx):
    """g with zeros at idx (the gradient of what a write overwrote): exact
    zeros, also where g is NaN or inf, as PyTorch's masked_fill (g * mask
    would keep a NaN there)."""
    d = g._data if isinstance(g, Tensor) else g
    keep = np.ones_like(d, dtype=bool)            # (CuPy arrays: NEP 18 dispatch)
    try:
        keep[idx] = False
    except IndexError:
        if empty_result_shape(keep, idx) is None:     # (an empty part writes nothing)
            raise
    return P.where(Tensor._make(keep, g._backend) if isinstance(g, Tensor) else keep, g, 0)


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
    first, nidx = _select_first(nidx, x.ndim)
    if first is not None:
        x = _name_class(first).apply1(x, first)
    out = AdvancedIndex.apply1(x, nidx)
    if out._node is not None:
        out._node.keep(_index_tensors(idx))
    return out


def delitem(x, idx):
    raise TypeError("Tensor does not support deleting items")


def _index_tensors(idx):
    """The tensors among an index's components (kept for backward)."""
    if isinstance(idx, Tensor):
        return (idx,)
    if isinstance(idx, (tuple, list)):
        return tuple([i for i in idx if isinstance(i, Tensor)])
    return ()


def setitem(x, idx, value):
    """x[idx] = value, in place; differentiable in x's untouched part and in value."""
    value = _value_tensor(x, value)     # PyTorch converts the value first
    if idx is False:
        return                          # PyTorch's shortcut: nothing written, no version bump, no graph
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
            written = x._data[_with_ellipsis(nidx)]
        except IndexError as e:
            raise IndexError(f"setitem: {_index_error(e, x._data, nidx)}") from None
    else:
        first, nidx = _select_first(nidx, x.ndim)
        if first is not None:           # x[1, :, [0, 2]] = v writes x[1][:, [0, 2]]
            x = _name_class(first).apply1(x, first)     # (a bad int raises its IndexError first)
    check_inplace(x, "setitem", written)
    if value._backend is not x._backend:
        raise device_mismatch("setitem", x, value)
    if (value._base is not None or x._base is not None or value is x) and not (
            written is None and _is_masked_fill(nidx, value)):     # (masked_fill_ reads its value first)
        # (an advanced write, PyTorch's index_put_, refuses the same memory too: x[[0, 1]] = x)
        check_no_partial_overlap(x, value, "setitem", written, full_too=written is None)
    if value.ndim and value.shape[0] == 1:
        value = _drop_leading_ones(value)
    if written is None:
        value = _index_put_value(x, nidx, value, idx)
    if grad_state.enabled and (x._rg or value._rg):
        if written is not None:
            view = _name_class(nidx).apply1(x, nidx)
            from .inplace import copy_
            try:
                copy_(view, value)          # rebases x's history (CopySlices)
            except RuntimeError as e:
                raise RuntimeError(f"setitem: {e}") from None
            return
        with deferred():                 # (saved-tensor hooks see the index tensors it keeps)
            res = IndexPut.apply2(x, value, nidx)
            if res._node is not None:
                res._node.keep(_index_tensors(idx))
            commit_inplace(x, res, "setitem")
        return
    if _op._forward_ad and _op._any_tangent((x, value)):
        # (no graph, but tangents: the write as one out-of-place op, whose JVP is x's new tangent)
        commit_inplace(x, IndexPut.apply2(x, value, nidx), "setitem")
        return
    try:
        _write(x._data, nidx, value._data)
    except IndexError as e:
        raise IndexError(f"setitem: {e}") from None
    except ValueError as e:
        raise RuntimeError(f"setitem: {e}") from None
    x._vc[0] += 1


def _write(a, nidx, v):
    """a[nidx] = v (NumPy/CuPy), with PyTorch's messages."""
    _check_masks(a, nidx)
    if type(a) is not np.ndarray and a.dtype == np.uint8 and v.dtype.kind == "f":
        v = v.astype(np.int64)      # floats to uint8 through int64, as PyTorch (cupy_backend.astype)
    try:
        _check_array_bounds(a, nidx)
        a[nidx] = v
    except IndexError as e:
        shape = empty_result_shape(a, nidx)
        if shape is None:
            raise IndexError(_index_error(e, a, nidx)) from None
        np.broadcast_shapes(shape, v.shape)     # nothing to write; a value that cannot fit still raises
        return
    except (ValueError, TypeError):     # (NumPy: TypeError for a 2-d value through a mask)
        try:
            shape = list(a[nidx].shape)
        except IndexError as e:
            raise IndexError(_index_error(e, a, nidx)) from None
        raise ValueError(f"shape mismatch: value tensor of shape {list(v.shape)} cannot be broadcast to "
                         f"indexing result of shape {shape}") from None


def _value_tensor(x, value):
    """The value of `x[idx] = value` as a tensor: Python numbers in x's dtype."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        value = number(value, "setitem")        # then checked as a Python number (np.float64 is one to PyTorch)
    t = type(value)
    if t is int and not -2 ** 63 <= value < 2 ** 63:
        raise ValueError("setitem: Overflow when unpacking long long")     # (PyTorch's, whatever x's dtype)
    if (t is int or t is float) and x._data.dtype != np.float16:     # (PyTorch writes inf into float16)
        value = check_fits(value, x._data.dtype, "setitem")   # NaN into an int tensor: refused; -1 into uint8: 255
    elif isinstance(value, (complex, np.complexfloating)):
        raise TypeError(f"setitem: can't assign a {t.__name__} to a {x.dtype.libtorch} tensor: complex numbers "
                        "are not supported")
    from ..creation import tensor as make_tensor
    try:
        return make_tensor(value, dtype=x.dtype, device=x.device)
    except (TypeError, ValueError) as e:
        raise TypeError(f"setitem: can't assign a {t.__name__} to a tensor: {e}") from None


def _drop_leading_ones(v):
    """PyTorch drops a value's leading 1-sized dims before broadcasting it
    (x[0] = ones(1, 1, 5) is fine for a row of 5)."""
    s = v.shape
    k = 0
    while k < len(s) and s[k] == 1:
        k += 1
    return v.reshape(s[k:])


def _index_put_value(x, nidx, value, idx):
    """The value of an advanced write, in x's dtype. PyTorch sends a
    one-element value through a single mask to masked_fill_ (which casts it,
    and refuses a byte mask); index_put_ refuses any other dtype mismatch."""
    fill = _is_masked_fill(nidx, value)
    if fill and _byte_mask_in(idx):
        _check_index_shapes(x._data, nidx)
        raise RuntimeError("setitem: masked_fill_ only supports boolean masks, but got mask with dtype "
                           "unsigned char")
    if value._data.dtype == x._data.dtype:
        return value
    if fill:
        # masked_fill_ converts the one value as a number, refusing one that does not fit
        # (300. or -1. into uint8, NaN into int64, 1e6 into float16); -1 into uint8 is 255
        check_fits(value.item(), x._data.dtype, "setitem")
        return value.to(x.dtype)
    _check_index_shapes(x._data, nidx)
    raise RuntimeError(f"setitem: Index put requires the source and destination dtypes match, got "
                       f"{x.dtype.libtorch} for the destination and {value.dtype.libtorch} for the source.")


def _is_masked_fill(nidx, value):
    """Whether PyTorch sends x[nidx] = value to masked_fill_: one value through a single mask."""
    if value._data.size != 1:
        return False
    arrays = [c for c in nidx if not (type(c) is int or type(c) is slice or c is None or c is Ellipsis)]
    return len(arrays) == 1 and arrays[0].dtype.kind == "b" and arrays[0].ndim > 0


def _check_index_shapes(a, nidx):
    """Before PyTorch's dtype checks of an advanced write come its checks of
    the ints (selects, applied first) and of the index's shape (too many
    indices, a mask that does not fit); the range of the index values after."""
    for part in (_with_ellipsis(_basic_part(nidx)), nidx):
        try:
            a[part]
        except IndexError as e:
            if part is nidx and str(e).startswith(("index ", "arrays used as indices")):
                continue
            raise IndexError(f"setitem: {_index_error(e, a, nidx)}") from None
    try:
        _check_masks(a, nidx)
    except IndexError as e:
        raise IndexError(f"setitem: {e}") from None


def _with_ellipsis(basic):
    # a trailing Ellipsis makes NumPy return a 0-d view, not a scalar copy
    return basic if Ellipsis in basic else basic + (Ellipsis,)


def _byte_mask_in(idx):
    for i in (idx if isinstance(idx, (tuple, list)) else (idx,)):
        d = i._data if isinstance(i, Tensor) else i
        if isinstance(d, np.ndarray) and d.dtype == np.uint8 and d.ndim or (
                hasattr(d, "__cuda_array_interface__") and d.dtype == np.uint8 and d.ndim):
            return True
    return False


# ---- gather and index_select: picks along one dim by an index tensor ----------------

class IndexSelect(Op):
    """x[ix] for a full advanced index ix; the gradient is added back there
    (repeats sum). PyTorch's node keeps the index and input's sizes."""
    _name, op_name = "IndexSelectBackward0", "index_select"

    def forward(self, x, ix):
        self.in_shape, self.ix = x.shape, ix
        r = P.getitem(x, ix)            # (an integer array per dim, gather's grid: by flat positions)
        # (NumPy lays x[:, idx] out with the indexed dim outermost; PyTorch's result is contiguous, so
        # that view() and a write through reshape() act on it as there)
        return r if r.flags.c_contiguous else r.copy()

    def backward(self, g):
        self.check_kept()
        return P.index_add(g, self.ix, self.in_shape)


class Gather(IndexSelect):
    """The same for gather (ix: the grid of the other dims, the index tensor
    along `dim`), whose node also saves the input, as PyTorch's: writing it in
    place before backward is a version error."""
    _name, op_name = "GatherBackward0", "gather"
    save_inputs = (0,)

    def backward(self, g, x):
        return IndexSelect.backward(self, g)


def check_index_arg(index, op_name):
    if not isinstance(index, Tensor):
        raise TypeError(f"{op_name}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index._data.dtype not in (np.int64, np.int32):
        raise RuntimeError(f"{op_name}(): Expected dtype int32/int64 for index (got {index.dtype.libtorch})")
    return index._data.astype(np.int64, copy=False)


def check_range(op_name, idx, size, axis, error=RuntimeError):
    """Every index in [0, size) (no negative indices, as PyTorch's)."""
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= size:
            raise error(f"{op_name}(): index {lo if lo < 0 else hi} is out of bounds for dimension {axis} with "
                        f"size {size}")


def picked(cls, input, index, *args):
    """cls applied to input (and to args[0] too, when a tensor) with the index
    tensor kept: a later write to it is a version error, as PyTorch saves it."""
    if index._backend is not input._backend:
        raise device_mismatch(cls.op_name, input, index)
    out = cls.apply2(input, *args) if isinstance(args[0], Tensor) else cls.apply1(input, *args)
    if out._node is not None:
        out._node.keep((index,))
    return out


def gather(input, dim, index, *, sparse_grad=False):
    """out[i][j] = input[index[i][j]][j] (dim 0), and so on: index has input's
    number of dims, each no larger than input's but along `dim`."""
    idx = check_index_arg(index, "gather")
    axis = wrap_dim(dim, input.ndim, "gather")
    if input.ndim == 0 and idx.ndim <= 1:          # (PyTorch takes a 0-d input as one of one element)
        check_range("gather", idx, 1, axis)
        return picked(Gather, input.reshape(1), index, (idx.reshape(-1),)).reshape(idx.shape)
    if idx.ndim != input.ndim:
        raise RuntimeError(f"gather(): Index tensor must have the same number of dimensions as input tensor "
                           f"(index {list(idx.shape)}, input {list(input.shape)})")
    shape = tuple(input.shape) or (1,)
    ishape = idx.shape or (1,)
    if any(i > s for d, (i, s) in enumerate(zip(ishape, shape)) if d != axis):
        raise RuntimeError(f"gather(): Size does not match at dimension {axis} expected index {list(idx.shape)} "
                           f"to be no larger than self {list(input.shape)} apart from dimension {axis}")
    check_range("gather", idx, shape[axis], axis)
    return picked(Gather, input, index, along(idx.reshape(ishape), axis, input._backend.xp))


def along(idx, axis, xp):
    """The advanced index of the entries `idx` points at along `axis`: idx
    there, each other dim indexing itself (gather's and scatter's grid)."""
    n = idx.ndim
    return tuple(idx if d == axis else xp.arange(s).reshape((1,) * d + (s,) + (1,) * (n - d - 1))
                 for d, s in enumerate(idx.shape))


def index_select(input, dim, index):
    """input's entries at `index` (a vector, or one index) along `dim`."""
    idx = check_index_arg(index, "index_select")
    if idx.ndim > 1:
        raise IndexError(f"index_select(): Index is supposed to be a vector (got shape {list(idx.shape)})")
    axis = wrap_dim(dim, input.ndim, "index_select")
    if input.ndim == 0 and idx.size != 1:
        raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got {idx.size} value(s)")
    check_range("index_select", idx, input.shape[axis] if input.ndim else 1, axis, IndexError)
    if input.ndim == 0:
        return picked(IndexSelect, input.reshape(1), index, (idx.reshape(-1),)).reshape(())
    return picked(IndexSelect, input, index, (slice(None),) * axis + (idx.reshape(-1),))


class MaskedSelect(Op):
    """The entries of input where the bool mask holds, input and mask
    broadcast together, as a vector; the gradient goes back to those places
    (the engine sums it over what was broadcast)."""
    _name, op_name = "MaskedSelectBackward0", "masked_select"
    save_inputs = (0,)                  # (as PyTorch's: a later in-place write to it is a version error)

    def forward(self, x, mask):
        shape = np.broadcast_shapes(x.shape, mask.shape)
        self.mask, self.shape = np.broadcast_to(mask, shape), shape
        return np.broadcast_to(x, shape)[self.mask]

    def backward(self, g, x):
        self.check_kept()
        return P.index_add(g, (self.mask,), self.shape)


def checked_mask(op_name, input, mask, not_bool):
    """The array of a bool mask that broadcasts with input on its device (masked_fill,
    masked_select); `not_bool`: the message for a mask of another dtype."""
    if not isinstance(mask, Tensor):
        raise TypeError(f"{op_name}(): argument 'mask' (position 1) must be Tensor, not {type(mask).__name__}")
    if mask._data.dtype.kind != "b":
        raise RuntimeError(f"{not_bool}, got mask with dtype {mask.dtype.libtorch}")
    if not broadcastable(tuple(input.shape), tuple(mask.shape)):
        raise RuntimeError(f"{op_name}: the size of tensor a {list(input.shape)} must match the size of tensor b "
                           f"(the mask) {list(mask.shape)} at each non-singleton dimension")
    if mask._backend is not input._backend:
        raise device_mismatch(op_name, input, mask)
    return mask._data


def masked_select(input, mask):
    """A vector of input's entries where the bool mask holds (they broadcast)."""
    m = checked_mask("masked_select", input, mask, "masked_select: expected BoolTensor for mask")
    out = MaskedSelect.apply1(input, m)
    if out._node is not None:
        out._node.keep((mask,))
    return out
