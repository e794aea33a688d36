"""Writing along an index: scatter, scatter_add and index_add, and their
in-place forms, the transposes of gather and index_select. As PyTorch's: the
input written into passes its gradient through (scatter's: zero where it was
overwritten), and each source element gets the gradient of where it went."""
import numpy as np

from ..autograd.op import Op, device_mismatch
from ..tensor import Tensor
from . import prims as P
from ._util import check_fits, number, wrap_dim
from .indexing import IndexPut, along, check_index_arg, check_range, picked, zeroed_at


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
    sshape = _nonempty(source.shape)
    if axis >= len(sshape):
        raise RuntimeError(f"index_add(): Indexing dim {axis} is out of bounds of the source tensor with dim "
                           f"{source.ndim}")
    if idx.size != sshape[axis]:
        if source.ndim == 0:                # (PyTorch's message reads the size a 0-d source lacks)
            raise IndexError(f"index_add(): Dimension specified as {axis} but tensor has no dimensions "
                             f"(source is 0-d, {idx.size} indices)")
        raise RuntimeError(f"index_add(): Number of indices ({idx.size}) should be equal to source.size(dim): "
                           f"({sshape[axis]}), for dim: {axis}")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"index_add(): self ({input.dtype.libtorch}) and source ({source.dtype.libtorch}) must "
                           "have the same scalar type")
    shape = _nonempty(input.shape)
    if source.ndim != input.ndim or any(a != b for d, (a, b) in enumerate(zip(shape, sshape)) if d != axis):
        raise RuntimeError(f"index_add(): source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {list(input.shape)} source.shape = "
                           f"{list(source.shape)}")
    check_range("index_add", idx, shape[axis], axis)
    ix = (slice(None),) * axis + (idx.reshape(-1),)
    return _written(IndexAdd, input, index, source, ix, (slice(None),), alpha)



# The later indexed writes list their own Tensor methods, ag functions and in-place forms here (scatter,
# scatter_add and index_add are wired in methods.py, functions.py and inplace.py)
METHODS = {}
FUNCTIONS = {}
INPLACE = {}
