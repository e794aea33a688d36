"""Writing along an index: scatter, scatter_add, index_add, index_fill,
index_copy, index_put, masked_scatter, scatter_reduce, index_reduce and put,
and their in-place forms (the transposes of gather, index_select, indexing,
masked_select and take). As PyTorch's: the
input written into passes its gradient through (scatter's: zero where it was
overwritten), and each source element gets the gradient of where it went."""
import sys

import numpy as np

from ..autograd.grad_mode import state as grad_state
from ..autograd.op import Op, device_mismatch
from ..tensor import Tensor
from . import prims as P
from . import indexing
from ._util import check_fits, number, wrap_dim
from .indexing import IndexPut, along, check_index_arg, check_range, checked_mask, picked, zeroed_at


class Scatter(IndexPut):
    """x with src's entries written where index points along dim (the other
    dims index themselves); `region` is the part of src that index covers."""
    _name, op_name = "ScatterBackward0", "scatter"

    def forward(self, x, src, ix, region):
        if region is None:                          # an empty index: nothing written
            self.idx = ix
            return x.copy()
        return IndexPut.forward(self, x, src[region], ix)


class ScatterValue(IndexPut):
    """The same with one number written (ScatterBackward1: the input only)."""
    _name, op_name = "ScatterBackward1", "scatter"
    jvp = None                      # (affine in x: the transposed backward is its JVP)

    def forward(self, x, ix, value):
        return IndexPut.forward(self, x, value, ix)

    def backward(self, g):
        self.check_kept()
        return zeroed_at(g, self.idx)


class ScatterAdd(Op):
    """x with src's entries added where index points along dim (repeats add up)."""
    _name, op_name = "ScatterAddBackward0", "scatter_add"

    def forward(self, x, src, ix, region, alpha=1):
        self.ix, self.alpha = ix, alpha
        out = x.copy()
        if region is not None:                      # (None: an empty index, nothing added)
            P.add_at(out, ix, src[region] if alpha == 1 else src[region] * alpha)
        return out

    def backward(self, g):
        self.check_kept()
        gs = None
        if self.needs(1):
            gs = P.getitem(g, self.ix)
            if self.alpha != 1:
                gs = P.mul(gs, self.alpha)
        return g, gs


class IndexAdd(ScatterAdd):
    """The same along one dim; the node also saves the source, as PyTorch's."""
    _name, op_name = "IndexAddBackward0", "index_add"
    save_inputs = (1,)
    saved_for = ((1,),)                 # (only when the source itself needs a gradient)

    def backward(self, g, src):
        return ScatterAdd.backward(self, g)


def _nonempty(shape):
    return tuple(shape) or (1,)      # (a 0-d tensor counts as one element along one dim, as in PyTorch)


def _scatter_index(op_name, input, dim, index, src):
    """(axis, the advanced index into input, the region of src it reads) after
    PyTorch's checks, in its order: dtypes, the numbers of dims, the sizes,
    the index values. An empty index is checked for its dtype only; it picks
    nothing (src's gradient has its shape, as PyTorch's) and reads no region."""
    idx = check_index_arg(index, op_name)
    if index._backend is not input._backend:
        raise device_mismatch(op_name, input, index)
    if isinstance(src, Tensor):
        if src._backend is not input._backend:
            raise device_mismatch(op_name, input, src)
        if src.dtype is not input.dtype:
            raise RuntimeError(f"{op_name}(): Expected self.dtype to be equal to src.dtype (self "
                               f"{input.dtype.libtorch}, src {src.dtype.libtorch})")
    axis = wrap_dim(dim, input.ndim, op_name)
    if idx.size == 0:
        return axis, (idx,) * max(input.ndim, 1), None
    shape, ishape = _nonempty(input.shape), _nonempty(idx.shape)
    if len(ishape) != len(shape):
        raise RuntimeError(f"{op_name}(): Index tensor must have the same number of dimensions as self tensor "
                           f"(index {list(idx.shape)}, self {list(input.shape)})")
    if isinstance(src, Tensor):
        if 0 < src.ndim < len(ishape):              # (PyTorch reads src's size along a dim it lacks)
            raise IndexError(f"{op_name}(): Dimension out of range (expected to be in range of "
                             f"[{-src.ndim}, {src.ndim - 1}], but got {src.ndim})")
        sshape = _nonempty(src.shape)
        if len(sshape) != len(ishape):
            raise RuntimeError(f"{op_name}(): Index tensor must have the same number of dimensions as src tensor "
                               f"(index {list(idx.shape)}, src {list(src.shape)})")
    else:
        sshape = ishape
    if any((i > s and d != axis) or i > ss for d, (i, s, ss) in enumerate(zip(ishape, shape, sshape))):
        raise RuntimeError(f"{op_name}(): Expected index {list(idx.shape)} to be no larger than self "
                           f"{list(input.shape)} apart from dimension {axis}"
                           + (f" and to be no larger size than src {list(src.shape)}" if isinstance(src, Tensor)
                              else ""))
    check_range(op_name, idx, shape[axis], axis)
    return axis, along(idx.reshape(ishape), axis, input._backend.xp), tuple(slice(0, i) for i in ishape)


def _written(cls, input, index, src, *args):
    """cls applied to input and src (a tensor, or the value) with the index
    kept; a 0-d input or src counts as one element along one dim, as PyTorch's."""
    one = lambda t: t.reshape(1) if isinstance(t, Tensor) and t.ndim == 0 else t     # noqa: E731
    out = picked(cls, one(input), index, one(src), *args)
    return out.reshape(()) if input.ndim == 0 else out


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """input with src's entries (or one number) written where index points
    along dim: out[i][index[i][j]] = src[i][j] for dim 1, and so on. Where index
    repeats a position, which write lands is unspecified (here: the last)."""
    if reduce is not None:
        raise TypeError("scatter(): reduce= is not supported (deprecated in PyTorch): use scatter_add for 'add'")
    if src is None or not isinstance(src, Tensor):
        if src is not None and value is not None:
            raise TypeError("scatter(): got both a value and src")
        value = src if value is None else value
        if value is None:
            raise TypeError("scatter(): missing the src tensor or the value to write")
        value = number(value, "scatter", "value")
        src = None
    _, ix, region = _scatter_index("scatter", input, dim, index, src)
    if src is None:
        npd = input._data.dtype
        v = input._backend.from_host(np.asarray(check_fits(value, npd, "scatter")).astype(npd))
        return _written(ScatterValue, input, index, ix, v)
    return _written(Scatter, input, index, src, ix, region)


def scatter_add(input, dim, index, src):
    """input with src's entries added where index points along dim (repeated
    positions add up)."""
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add(): argument 'src' (position 3) must be Tensor, not {type(src).__name__}")
    _, ix, region = _scatter_index("scatter_add", input, dim, index, src)
    return _written(ScatterAdd, input, index, src, ix, region)


def _check_source(api, input, axis, idx, source):
    """PyTorch's checks, in its order, of the slices index_add and index_reduce write along `axis`:
    one per index, input's dtype, input's shape but along `axis`. Returns input's shape (0-d as (1,))."""
    sshape = _nonempty(source.shape)
    if axis >= len(sshape):
        raise RuntimeError(f"{api}(): Indexing dim {axis} is out of bounds of the source tensor with dim "
                           f"{source.ndim}")
    if idx.size != sshape[axis]:
        if source.ndim == 0:                # (PyTorch's message reads the size a 0-d source lacks)
            raise IndexError(f"{api}(): Dimension specified as {axis} but tensor has no dimensions "
                             f"(source is 0-d, {idx.size} indices)")
        raise RuntimeError(f"{api}(): Number of indices ({idx.size}) should be equal to source.size(dim): "
                           f"({sshape[axis]}), for dim: {axis}")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"{api}(): self ({input.dtype.libtorch}) and source ({source.dtype.libtorch}) must "
                           "have the same scalar type")
    shape = _nonempty(input.shape)
    if source.ndim != input.ndim or any(a != b for d, (a, b) in enumerate(zip(shape, sshape)) if d != axis):
        raise RuntimeError(f"{api}(): source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {list(input.shape)} source.shape = "
                           f"{list(source.shape)}")
    return shape


def index_add(input, dim, index, source, *, alpha=1):
    """input with alpha * source added along dim at the positions index lists:
    out[index[i]] += alpha * source[i] for dim 0 (repeats add up)."""
    if not isinstance(source, Tensor):
        raise TypeError(f"index_add(): argument 'source' (position 3) must be Tensor, not "
                        f"{type(source).__name__}")
    if isinstance(index, Tensor) and index.ndim > 1:
        raise IndexError(f"index_add(): Index is supposed to be a vector, but got dim: {index.ndim} with size: "
                         f"{list(index.shape)}")
    idx = check_index_arg(index, "index_add")
    alpha = number(alpha, "index_add", "alpha")
    if input._data.dtype.kind in "iu" and isinstance(alpha, float):
        alpha = int(alpha)              # (an integer tensor takes alpha as its type: 2.5 adds twice)
    axis = wrap_dim(dim, input.ndim, "index_add")
    if source._backend is not input._backend:        # (and the index's: picked)
        raise device_mismatch("index_add", input, source)
    shape = _check_source("index_add", input, axis, idx, source)
    check_range("index_add", idx, shape[axis], axis)
    ix = (slice(None),) * axis + (idx.reshape(-1),)
    return _written(IndexAdd, input, index, source, ix, (slice(None),), alpha)




# ---- helpers of the later writes ----------------------------------------------------------

def _tensor_arg(v, op_name, arg, position):
    if not isinstance(v, Tensor):
        raise TypeError(f"{op_name}(): argument '{arg}' (position {position}) must be Tensor, not {type(v).__name__}")
    return v


def _same_device(op_name, input, *others):
    for o in others:
        if o._backend is not input._backend:
            raise device_mismatch(op_name, input, o)


def _flag(v, op_name, arg):
    if type(v) is not bool and not isinstance(v, np.bool_):
        raise TypeError(f"{op_name}(): argument '{arg}' must be bool, not {type(v).__name__}")
    return bool(v)


def _along_dim(axis, idx):
    """The advanced index of positions idx (a vector) along axis, all of the other dims."""
    return (slice(None),) * axis + (idx.reshape(-1),)


def _as_1d(t):
    return t.reshape(1) if t.ndim == 0 else t


def _const(like, a):
    """Array a as a constant operand next to `like` (an array, or a Tensor under create_graph)."""
    return Tensor._make(a, like._backend) if isinstance(like, Tensor) else a


def _data(t):
    return t._data if isinstance(t, Tensor) else t


# ---- index_fill, index_copy ------------------------------------------------------------

class IndexFill(ScatterValue):
    """x with one number written at positions along dim (the input only gets a gradient)."""
    _name, op_name = "IndexFillBackward0", "index_fill"


class IndexFillTensor(IndexPut):
    """The same with a 0-d tensor as the value, which gets the sum of the
    gradient over the filled positions (each counted once, as PyTorch's)."""
    _name, op_name = "IndexFillBackward1", "index_fill"

    def backward(self, g):
        self.check_kept()
        gx = zeroed_at(g, self.idx) if self.needs(0) else None
        gv = None
        if self.needs(1):
            filled = zeroed_at(P.zeros_like(g) + 1, self.idx) == 0      # (repeated indices: one place)
            gv = P.sum(P.where(_const(g, _data(filled)), g, 0), None, False)
        return gx, gv


def _vector_index(op_name, index, long_error):
    """index_fill's/index_copy's index: a 0-d or 1-d int64 tensor."""
    idx = check_index_arg(index, op_name)
    if index._data.dtype != np.int64:
        raise long_error
    return idx


def index_fill(input, dim, index, value):
    """input with `value` (a number or 0-d tensor) written at the positions
    index lists along dim; negative indices count from the end."""
    _tensor_arg(index, "index_fill", "index", 2)
    if index._data.dtype != np.int64:
        raise IndexError(f"index_fill(): Expected dtype int64 for index (got {index.dtype.libtorch})")
    if index.ndim > 1:
        raise RuntimeError(f"index_fill(): Index has to be a vector/scalar (got shape {list(index.shape)})")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"index_fill(): only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.ndim} dimension(s).")
        _same_device("index_fill", input, value)
    else:
        value = number(value, "index_fill", "value")
    axis = wrap_dim(dim, input.ndim, "index_fill")
    _same_device("index_fill", input, index)
    size = input.shape[axis] if input.ndim else 1
    idx = index._data.reshape(-1)
    if idx.size and size == 0:
        raise RuntimeError(f"index_fill(): cannot fill at {idx.size} indices along dimension {axis} of size 0")
    if isinstance(value, Tensor) and value._rg and input._data.dtype.kind != "f" and grad_state.enabled:
        raise RuntimeError(f"index_fill(): a value that requires grad cannot be written into a "
                           f"{input.dtype.libtorch} tensor (autograd does not support that dtype)")
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < -size or hi >= size:
            raise IndexError(f"index_fill(): index {lo if lo < -size else hi} is out of bounds for dimension "
                             f"{axis} with size {size}")
    x = _as_1d(input)
    ix = _along_dim(axis, idx % size if size else idx)
    if isinstance(value, Tensor):
        out = picked(IndexFillTensor, x, index, value.to(input.dtype), ix)
    else:
        npd = input._data.dtype
        v = input._backend.from_host(np.asarray(check_fits(value, npd, "index_fill")).astype(npd))
        out = picked(IndexFill, x, index, ix, v)
    return out.reshape(()) if input.ndim == 0 else out


class IndexCopy(IndexPut):
    """x with source's slices written at the positions index lists along dim."""
    _name, op_name = "IndexCopyBackward0", "index_copy"


def index_copy(input, dim, index, source):
    """input with source's slices copied along dim: out[index[i]] = source[i]
    for dim 0. Where index repeats a position, which copy lands is unspecified."""
    _tensor_arg(index, "index_copy", "index", 2)
    _tensor_arg(source, "index_copy", "source", 3)
    if index.ndim > 1:
        raise IndexError(f"index_copy(): Index should have dimension 1 or 0 (got {index.ndim})")
    idx = _vector_index("index_copy", index, RuntimeError(
        f"index_copy(): Expected a long tensor for index, but got {index.dtype.libtorch}"))
    axis = wrap_dim(dim, input.ndim, "index_copy")
    _same_device("index_copy", input, index, source)
    if input.ndim != source.ndim and input.ndim and source.ndim:
        raise IndexError(f"index_copy(): When source and destination are not scalars, their dimensionality must "
                         f"match. Source dimensionality ({source.ndim}), destination dimensionality ({input.ndim})")
    if source.ndim == 0 and idx.size != 1:
        raise IndexError(f"index_copy(): When source is scalar, index should have one element (got {idx.size})")
    sshape, shape = _nonempty(source.shape), _nonempty(input.shape)
    if len(shape) != len(sshape) or any(a != b for d, (a, b) in enumerate(zip(shape, sshape)) if d != axis):
        raise RuntimeError(f"index_copy(): Source/destination tensor must have same slice shapes (self "
                           f"{list(input.shape)}, source {list(source.shape)}, dim {axis})")
    if idx.size != sshape[axis]:
        raise IndexError(f"index_copy(): Number of indices ({idx.size}) should be equal to source.size(dim) "
                         f"({sshape[axis]})")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"index_copy(): self and source expected to have the same dtype, but got (self) "
                           f"{input.dtype.libtorch} and (source) {source.dtype.libtorch}")
    check_range("index_copy", idx, shape[axis], axis, IndexError)
    out = picked(IndexCopy, _as_1d(input), index, _as_1d(source), _along_dim(axis, idx))
    return out.reshape(()) if input.ndim == 0 else out


# ---- index_put, put ------------------------------------------------------------------------

class IndexPutAccumulate(Op):
    """x with v added at the advanced index idx (repeated positions add up)."""
    _name, op_name = "IndexPutBackward0", "index_put"

    def forward(self, x, v, idx):
        self.idx = idx
        out = x.copy()
        indexing._check_masks(out, idx)
        indexing._check_array_bounds(out, idx)
        try:
            target = out[idx].shape
        except IndexError:
            target = indexing.empty_result_shape(out, idx)
            if target is None:
                raise
        if np.broadcast_shapes(target, v.shape) != tuple(target):
            raise ValueError(f"shape mismatch: value tensor of shape {list(v.shape)} cannot be broadcast to "
                             f"indexing result of shape {list(target)}")
        if 0 in target:
            return out
        if out.dtype.kind == "b":                   # (a bool sum is an or: counted in int32, which CuPy adds)
            counts = out.astype(np.int32)
            P.add_at(counts, _masks_as_ints(idx), np.broadcast_to(v, target).astype(np.int32))
            return counts != 0
        P.add_at(out, _masks_as_ints(idx), np.broadcast_to(v, target))
        return out

    def backward(self, g):
        self.check_kept()
        return g, (P.getitem(g, self.idx) if self.needs(1) else None)


def _masks_as_ints(idx):
    """idx with each bool mask replaced by the int arrays of its True positions
    (what the mask means), so that np.add.at adds repeats up."""
    out = []
    for c in idx:
        if getattr(c, "dtype", None) is not None and c.dtype.kind == "b":
            out.extend(c.nonzero() if c.ndim else [c.reshape(1).nonzero()[0]])
        else:
            out.append(c)
    return tuple(out)


def _index_put_target(x, nidx, values):
    """PyTorch broadcasts values to x[indices] without dropping leading dims of 1
    (as `x[i] = v` does): a values tensor of more dims is refused."""
    try:
        target = x._data[nidx].shape
    except (IndexError, ValueError):
        return                      # (the write itself raises PyTorch's error)
    try:
        ok = np.broadcast_shapes(target, values.shape) == tuple(target)
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"index_put(): shape mismatch: value tensor of shape {list(values.shape)} cannot be "
                           f"broadcast to indexing result of shape {list(target)}")


def index_put(input, indices, values, accumulate=False):
    """input with values written (accumulate=True: added) at input[indices],
    indices being a tuple of index tensors (long, int, bool or byte). Where an
    index repeats a position without accumulate, which write lands is unspecified."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put(): argument 'indices' (position 1) must be tuple of Tensors, not "
                        f"{type(indices).__name__}")
    for k, i in enumerate(indices):
        if not isinstance(i, Tensor):
            raise TypeError(f"index_put(): expected Tensor as element {k} in argument 'indices', but got "
                            f"{type(i).__name__}")
    _tensor_arg(values, "index_put", "values", 2)
    accumulate = _flag(accumulate, "index_put", "accumulate")
    if not indices:
        raise RuntimeError("index_put(): at least one index tensor is needed (got an empty tuple)")
    if values.dtype is not input.dtype:
        raise RuntimeError(f"index_put(): Index put requires the source and destination dtypes match, got "
                           f"{input.dtype.libtorch} for the destination and {values.dtype.libtorch} for the source.")
    _same_device("index_put", input, values)
    for i in indices:
        if i._data.dtype.kind in "iu" and i._data.dtype != np.uint8 and i.ndim == 0:
            continue
        if i._backend is not input._backend and i._backend.is_cuda:
            raise device_mismatch("index_put", input, i)
    try:
        nidx = indexing.normalize_index(input, tuple(i if i.ndim or i._data.dtype.kind == "b" else i.reshape(1)
                                                     for i in indices))
    except IndexError as e:
        raise IndexError(f"index_put(): {str(e).removeprefix('index: ')}") from None
    used = sum(c.ndim if c.dtype.kind == "b" else 1 for c in nidx)
    if used > max(input.ndim, 0):
        raise IndexError(f"index_put(): too many indices for tensor of dimension {input.ndim} (got {used})")
    _index_put_target(input, nidx, values)
    out = (IndexPutAccumulate if accumulate else _IndexPutNamed).apply2(input, values, nidx)
    if out._node is not None:
        out._node.keep(tuple(indices))
    return out


class _IndexPutNamed(IndexPut):
    op_name = "index_put"


class Put(IndexPut):
    """put: x with source written at flat positions (as x.view(-1)[index])."""
    _name, op_name = "PutBackward0", "put"


class PutAccumulate(IndexPutAccumulate):
    _name, op_name = "PutBackward0", "put"


def put(input, index, source, accumulate=False):
    """input with source's entries written (accumulate=True: added) at the
    flat positions index lists, as if input were 1-d; negative indices count
    from the end. Without accumulate, which of repeated writes lands is unspecified."""
    _tensor_arg(index, "put", "index", 1)
    _tensor_arg(source, "put", "source", 2)
    accumulate = _flag(accumulate, "put", "accumulate")
    if index._data.dtype != np.int64:
        raise RuntimeError(f"put(): Expected a long tensor for index, but got {index.dtype.libtorch}")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"put(): self and source expected to have the same dtype, but got self.dtype = "
                           f"{input.dtype.libtorch} and source.dtype = {source.dtype.libtorch}")
    _same_device("put", input, index, source)
    n, idx = input.numel(), index._data.reshape(-1)
    if source.numel() != idx.size:
        raise IndexError(f"put(): Expected source and index to have the same number of elements, but got "
                         f"source.numel() = {source.numel()}, index.numel() = {idx.size}")
    if idx.size and n == 0:
        raise IndexError("put(): Tried to put elements into an empty tensor")
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < -n or hi >= n:
            raise IndexError(f"put(): out of range: tried to access index {lo if lo < -n else hi} on a tensor of "
                             f"{n} elements.")
    x = _as_1d(input)
    ix = np.unravel_index(idx % max(n, 1), x.shape) if idx.size else (idx,) * x.ndim
    out = picked(PutAccumulate if accumulate else Put, x, index, source.reshape(-1), tuple(ix))
    return out.reshape(()) if input.ndim == 0 else out


# ---- masked_scatter --------------------------------------------------------------------

class MaskedScatter(Op):
    """x (broadcast with the mask) with source's first entries written, in
    order, where the mask holds; source's gradient: the gradient there, in its
    first entries, zeros after."""
    _name, op_name = "MaskedScatterBackward0", "masked_scatter"

    def forward(self, x, src, mask):
        shape = np.broadcast_shapes(x.shape, mask.shape)
        self.mask, self.src_shape = np.broadcast_to(mask, shape), src.shape
        out = np.broadcast_to(x, shape).copy()
        self.n = n = int(self.mask.sum())
        out[self.mask] = src.reshape(-1)[:n]
        return out

    def backward(self, g):
        self.check_kept()
        gx = zeroed_at(g, (self.mask,)) if self.needs(0) else None
        gs = None
        if self.needs(1):
            size = int(np.prod(self.src_shape))
            picked_g = P.getitem(g, (self.mask,))
            first = self._backend.xp.arange(self.n) if not isinstance(g, Tensor) else g._backend.xp.arange(self.n)
            gs = P.index_add(picked_g, (first,), (size,)).reshape(self.src_shape)
        return gx, gs


def masked_scatter(input, mask, source):
    """input with source's entries copied, in order, where the bool mask
    (broadcast with input) holds."""
    _tensor_arg(source, "masked_scatter", "source", 2)
    m = checked_mask("masked_scatter", input, mask, "masked_scatter_ only supports boolean masks")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"masked_scatter(): expected self and source to have same dtypes but got "
                           f"{input.dtype.libtorch} and {source.dtype.libtorch}")
    _same_device("masked_scatter", input, source)
    count = int(np.broadcast_to(m, np.broadcast_shapes(input.shape, mask.shape)).sum())
    if source.numel() < count:
        raise RuntimeError(f"masked_scatter(): Number of elements of source ({source.numel()}) < number of ones in "
                           f"mask ({count})")
    out = MaskedScatter.apply2(input, source, m)
    if out._node is not None:
        out._node.keep((mask,))
    return out


# ---- scatter_reduce, index_reduce --------------------------------------------------------

_UFUNCS = {"sum": "add", "mean": "add", "prod": "multiply", "amax": "maximum", "amin": "minimum"}


def _identity(reduce, dtype):
    """The value a reduction starts from where include_self=False drops self."""
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind == "b":
        return reduce == "amin"
    if dtype.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    info = np.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


def _reduce_at(name, out, ix, src):
    """ufunc `name`.at(out, ix, src): repeated positions reduce together.
    CuPy has no multiply.at: that one runs on the host."""
    if type(out) is np.ndarray:
        getattr(np, name).at(out, ix, src)
        return
    cp = sys.modules["cupy"]
    if name == "multiply":
        host = out.get()
        np.multiply.at(host, tuple(i.get() if hasattr(i, "get") else i for i in ix), src.get())
        out[...] = cp.asarray(host)
        return
    getattr(cp, name).at(out, ix, src)


def _scatter_reduced(x, src, ix, reduce, include_self):
    """The forward on arrays: x with src reduced into it at ix."""
    out = x.copy()
    if not include_self:
        out[ix] = _identity(reduce, x.dtype)
    _reduce_at(_UFUNCS[reduce], out, ix, src)
    if reduce == "mean":
        count = _counts(x, ix, include_self)
        out = out // count if x.dtype.kind in "iu" else (out / count).astype(x.dtype, copy=False)
    return out


def _counts(x, ix, include_self):
    """How many values each position of a mean averages (at least 1)."""
    count = np.ones_like(x, dtype=np.int64)
    if not include_self:
        count[ix] = 0
    P.add_at(count, ix, 1)
    return np.maximum(count, 1)


class EmptyScatterReduce(Op):
    """scatter_reduce with an empty index: input's copy, src's gradient zero
    (PyTorch records its node with src too; its own backward then fails on
    the shapes, ours gives src zeros of its shape)."""
    _name, op_name = "ScatterReduceBackward0", "scatter_reduce"

    def forward(self, x, src):
        self.src_shape = src.shape
        return x.copy()

    def backward(self, g):
        if not self.needs(1):
            return g, None
        if isinstance(g, Tensor):
            return g, g.new_zeros(self.src_shape)
        return g, np.zeros_like(g, shape=self.src_shape)


class ScatterReduce(Op):
    """x with src's entries reduced into the positions ix points at (sum,
    prod, mean, amax, amin; include_self: x's value takes part). The
    gradients are PyTorch's (scatter_reduce_backward): prod divides out each
    factor (a single zero among src's factors at a place handled apart), amax
    and amin split the gradient evenly between the tied maxima/minima."""
    _name, op_name = "ScatterReduceBackward0", "scatter_reduce"
    save_inputs = (0, 1)
    save_result = True

    def forward(self, x, src, ix, reduce, include_self):
        self.ix, self.reduce, self.include_self = ix, reduce, include_self
        return _scatter_reduced(x, src, ix, reduce, include_self)

    def backward(self, g, x, src, result):
        self.check_kept()
        gx, gs = getattr(self, "_grad_" + self.reduce)(g, x, src, result)
        if not self.include_self and gx is not None:
            gx = zeroed_at(gx, self.ix)
        return (gx if self.needs(0) else None), (gs if self.needs(1) else None)

    def _grad_sum(self, g, x, src, result):
        return g, P.getitem(g, self.ix)

    def _grad_mean(self, g, x, src, result):
        count = _const(g, _counts(_data(x), self.ix, self.include_self).astype(_data(g).dtype))
        return P.div(g, count), P.div(P.getitem(g, self.ix), P.getitem(count, self.ix))

    def _grad_amax(self, g, x, src, result):
        xa, sa, ra = _data(x), _data(src), _data(result)
        self_is = (xa == ra).astype(xa.dtype)
        src_is = (sa == ra[self.ix]).astype(xa.dtype)
        n = self_is.copy()
        P.add_at(n, self.ix, src_is)
        share = P.div(g, _const(g, n))
        return P.mul(_const(g, self_is), share), P.mul(_const(g, src_is), P.getitem(share, self.ix))

    _grad_amin = _grad_amax

    def _grad_prod(self, g, x, src, result):
        xa, sa = _data(x), _data(src)
        self_zero = _const(g, xa == 0)
        masked_self = P.where(self_zero, _const(g, np.ones_like(xa)), x)
        gx = P.div(P.mul(g, self._again(masked_self, src)), masked_self)
        src_zero = sa == 0
        zeros_there = np.zeros_like(xa, dtype=np.int64)
        P.add_at(zeros_there, self.ix, src_zero.astype(np.int64))
        single = _const(g, src_zero & (zeros_there[self.ix] == 1))
        masked_src = P.where(single, _const(g, np.ones_like(sa)), src)
        gs = P.where(single, P.getitem(P.mul(g, self._again(x, masked_src)), self.ix),
                     P.div(P.getitem(P.mul(g, result), self.ix),
                           P.where(_const(g, src_zero), _const(g, np.ones_like(sa)), src)))
        return gx, gs

    def _again(self, x, src):
        """The forward on other values (Tensors under create_graph: recorded)."""
        if isinstance(x, Tensor):
            out = type(self).apply2(x, src, self.ix, self.reduce, self.include_self)
            if out._node is not None:
                out._node.keep(self._kept)
            return out
        return _scatter_reduced(x, src, self.ix, self.reduce, self.include_self)


class IndexReduce(ScatterReduce):
    _name, op_name = "IndexReduceBackward0", "index_reduce"


_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _reduce_arg(op_name, reduce, allowed):
    if not isinstance(reduce, str):
        raise TypeError(f"{op_name}(): argument 'reduce' must be str, not {type(reduce).__name__}")
    if reduce not in allowed:
        raise RuntimeError(f"{op_name}(): reduce argument must be one of {', '.join(allowed)}, got {reduce!r}")
    return reduce


def _no_mean_for_bool(op_name, input, reduce):
    if reduce == "mean" and input._data.dtype.kind == "b":
        raise NotImplementedError(f"{op_name}(): reduce='mean' not implemented for 'Bool'")


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """input with src's entries reduced (sum, prod, mean, amax, amin) into the
    positions index points at along dim; include_self=False leaves input's
    own values out of the places written."""
    _tensor_arg(src, "scatter_reduce", "src", 3)
    reduce = _reduce_arg("scatter_reduce", reduce, _REDUCTIONS)
    include_self = _flag(include_self, "scatter_reduce", "include_self")
    axis, ix, region = _scatter_index("scatter_reduce", input, dim, index, src)
    _no_mean_for_bool("scatter_reduce", input, reduce)
    if region is None:                  # (nothing written; src still gets its zero gradient, as PyTorch records it)
        return EmptyScatterReduce.apply2(input, src)
    out = picked(ScatterReduce, _reduced_into(input), index, _as_1d(src)[region], ix, reduce, include_self)
    return out.reshape(()) if input.ndim == 0 else out


def _reduced_into(input):
    """input as the 1-d operand the reduction saves; a 0-d one as a 1-d copy (a view of it would be
    written by scatter_reduce_/index_reduce_ before backward reads it: PyTorch keeps the old value)."""
    return input.reshape(1).clone() if input.ndim == 0 else input


def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    """input with source's slices reduced (prod, mean, amax, amin) into the
    positions index lists along dim: out[index[i]] = reduce(out[index[i]], source[i])."""
    _tensor_arg(source, "index_reduce", "source", 3)
    reduce = _reduce_arg("index_reduce", reduce, _REDUCTIONS[1:])
    include_self = _flag(include_self, "index_reduce", "include_self")
    _tensor_arg(index, "index_reduce", "index", 2)
    if index.ndim > 1:
        raise IndexError(f"index_reduce(): Index is supposed to be a vector, but got dim: {index.ndim} with size: "
                         f"{list(index.shape)}")
    idx = check_index_arg(index, "index_reduce").reshape(-1)
    axis = wrap_dim(dim, input.ndim, "index_reduce")
    _same_device("index_reduce", input, index, source)
    shape = _check_source("index_reduce", input, axis, idx, source)
    sshape = _nonempty(source.shape)
    check_range("index_reduce", idx, shape[axis], axis, IndexError)
    _no_mean_for_bool("index_reduce", input, reduce)
    if idx.size == 0:
        return input * 1 if input._data.dtype.kind != "b" else input.clone()
    n = len(sshape)
    grid = np.broadcast_to(idx.reshape((1,) * axis + (-1,) + (1,) * (n - axis - 1)), sshape)
    out = picked(IndexReduce, _reduced_into(input), index, _as_1d(source), along(grid, axis, input._backend.xp),
                 reduce, include_self)
    return out.reshape(()) if input.ndim == 0 else out


# The later indexed writes list their own Tensor methods, ag functions and in-place forms here (scatter,
# scatter_add and index_add are wired in methods.py, functions.py and inplace.py)
from .functions import tensor_function    # noqa: E402 (here: functions.py imports this module's first ops)

METHODS = {"index_fill": index_fill, "index_copy": index_copy, "index_put": index_put,
           "masked_scatter": masked_scatter, "scatter_reduce": scatter_reduce, "index_reduce": index_reduce,
           "put": put}
FUNCTIONS = {name: tensor_function(name, fn) for name, fn in METHODS.items()}
INPLACE = {name: None for name in METHODS}     # (masked_scatter_: commit_inplace refuses a mask that broadcasts self)
