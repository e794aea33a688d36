"""Ops that rearrange elements: stacking (hstack, vstack, dstack,
column_stack, atleast_*d), splitting (tensor_split, hsplit, vsplit, dsplit),
broadcasting (broadcast_to, broadcast_tensors, broadcast_shapes), tile, roll,
rot90, fliplr, flipud, take_along_dim, take, ravel, and the scatters that write
a tensor over a view of another (select_scatter, slice_scatter,
diagonal_scatter).

Most are compositions of the shape and indexing ops, as PyTorch composes them
(views stay views: atleast_*d, broadcast_to, the pieces of tensor_split).
roll, rot90, take and the *_scatter ops are nodes of their own, as PyTorch's."""
import math

import numpy as np

from ..autograd.grad_mode import is_grad_enabled
from ..autograd.op import Op, device_mismatch
from ..tensor import Tensor
from . import prims as P
from . import shape as S
from .diagonal import _dims as _diagonal_dims
from .functions import tensor_function
from .indexing import check_range, picked, gather
from ._util import int_arg, wrap_dim


def _renamed(fn, op_name, inner, *args):
    """fn(*args), its errors naming op_name (the composite users call) instead of
    `inner` (the op it is built on)."""
    try:
        return fn(*args)
    except (RuntimeError, IndexError, TypeError, ValueError) as e:
        msg = str(e)
        msg = op_name + msg[len(inner):] if msg.startswith(inner) else f"{op_name}: {msg}"
        raise type(e)(msg) from None


def _tensors(op_name, tensors):
    """The tensors of a varargs call: one tensor, several, or one list/tuple of them."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op_name}(): expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    return tensors


# ---- atleast_*d and the stacks -----------------------------------------------------

def _at_least(t, n):
    """t with dims of size 1 added as NumPy's atleast_{n}d adds them (views)."""
    if t.ndim >= n:
        return t
    if t.ndim == 0:
        return S.reshape(t, (1,) * n)
    if t.ndim == 1:
        t = S.unsqueeze(t, 0)
    return S.unsqueeze(t, -1) if t.ndim < n else t


def _atleast(n):
    def atleast(*tensors):
        name = f"atleast_{n}d"
        if len(tensors) == 1 and isinstance(tensors[0], Tensor):
            return _at_least(tensors[0], n)
        if len(tensors) == 1 and not isinstance(tensors[0], (list, tuple)):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                            f"{type(tensors[0]).__name__}")
        return tuple(_at_least(t, n) for t in _tensors(name, tensors))
    atleast.__name__ = atleast.__qualname__ = f"atleast_{n}d"
    atleast.__doc__ = (f"The tensor with dims of size 1 added until it has {n} (a view, or itself); for "
                       "several tensors (or one list of them), a tuple.")
    return atleast


atleast_1d, atleast_2d, atleast_3d = _atleast(1), _atleast(2), _atleast(3)


def _joined(op_name, tensors, prepare, dim):
    """cat(prepare(t) for t in tensors) along dim(first prepared tensor), with
    cat's rules (1-d empty tensors skipped in the checks) and errors naming op_name."""
    S._seq_check(tensors, op_name)
    parts = [prepare(t) for t in tensors]
    kept = [t for t in parts if not (t.ndim == 1 and t.shape[0] == 0)] or parts[:1]
    axis = S._cat_axis(kept, dim(parts[0]), op_name)
    return S.Cat.applyN(S._promoted(parts), axis)


def hstack(tensors):
    """Concatenated along dim 1 (dim 0 for 1-d tensors), 0-d ones as 1-d."""
    return _joined("hstack", tensors, lambda t: _at_least(t, 1), lambda t: 0 if t.ndim == 1 else 1)


def vstack(tensors):
    """Concatenated along dim 0, 0-d and 1-d tensors as rows."""
    return _joined("vstack", tensors, lambda t: _at_least(t, 2), lambda t: 0)


def row_stack(tensors):
    """vstack, under its older name."""
    return _joined("row_stack", tensors, lambda t: _at_least(t, 2), lambda t: 0)


def dstack(tensors):
    """Concatenated along dim 2, each first made at least 3-d."""
    return _joined("dstack", tensors, lambda t: _at_least(t, 3), lambda t: 2)


def column_stack(tensors):
    """Concatenated along dim 1, 0-d and 1-d tensors as columns."""
    def column(t):
        return S.reshape(t, (t.numel(), 1)) if t.ndim <= 1 else t
    return _joined("column_stack", tensors, column, lambda t: 1)


# ---- broadcasting ---------------------------------------------------------------------

def broadcast_to(input, size):
    """input expanded to `size` (a view, as expand)."""
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"broadcast_to(): argument 'size' (position 2) must be tuple of ints, not "
                        f"{type(size).__name__}")
    return _renamed(S.expand, "broadcast_to", "expand", input, tuple(size))


def _broadcast_to_method(self, *sizes, size=None):
    return _renamed(lambda: S.expand(self, *sizes, size=size), "broadcast_to", "expand")


def broadcast_shapes(*shapes):
    """The shape the given shapes (ints, or sequences of ints; None is skipped, as
    PyTorch skips it) broadcast to, as a tuple."""
    sizes = []
    for s in shapes:
        if s is None:
            continue
        if isinstance(s, (int, np.integer)):
            s = (s,)
        if not isinstance(s, (tuple, list, str)):
            raise RuntimeError(f"broadcast_shapes: Input shapes should be of type ints, a tuple of ints, or a "
                               f"list of ints, got {s!r}")
        for n in s:
            if not isinstance(n, (int, float, np.integer)):
                raise TypeError(f"broadcast_shapes(): a shape must hold ints, found {type(n).__name__}")
        sizes.append(tuple(s))
    out = [1] * max((len(s) for s in sizes), default=0)
    for i, s in enumerate(sizes):
        for d in range(-1, -len(s) - 1, -1):
            if s[d] == 1 or out[d] == s[d]:
                continue
            if out[d] != 1:
                raise RuntimeError(f"broadcast_shapes: Attempting to broadcast a dimension of length {s[d]} at "
                                   f"{d}! Mismatching argument at index {i} had {s}; but expected shape should "
                                   f"be broadcastable to {out}")
            if s[d] < 0:
                raise ValueError("broadcast_shapes: Attempting to broadcast a dimension with negative length!")
            out[d] = s[d]
    for n in out:           # (as PyTorch, a float is refused only where it reaches the result)
        if not isinstance(n, (int, np.integer)):
            raise TypeError(f"broadcast_shapes(): a shape must hold ints, found {type(n).__name__} in {out}")
    return tuple(int(n) for n in out)


def broadcast_tensors(*tensors):
    """The tensors expanded to their common shape (views; a tensor of that shape: itself)."""
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"broadcast_tensors(): expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    try:
        shape = np.broadcast_shapes(*(t.shape for t in tensors))
    except ValueError:
        shapes = " and ".join(str(list(t.shape)) for t in tensors)
        raise RuntimeError(f"broadcast_tensors: shapes {shapes} do not broadcast together") from None
    return tuple(t if t.shape == shape else S.expand(t, shape) for t in tensors)


# ---- tile, roll, rot90, flips ------------------------------------------------------

def _tile(input, reps):
    reps = (1,) * (input.ndim - len(reps)) + reps
    return _renamed(S.repeat, "tile", "repeat", input, reps)


def tile(input, dims):
    """input repeated dims[i] times along dim i (dims padded with leading 1s to input's
    number of dims, or input with leading dims of size 1 to len(dims))."""
    if not isinstance(dims, (tuple, list)):
        raise TypeError(f"tile(): argument 'dims' (position 2) must be tuple of ints, not {type(dims).__name__}")
    return _tile(input, S.sizes_arg((tuple(dims),), "tile"))


def _tile_method(self, *dims, **kwargs):
    if set(kwargs) - {"dims"}:
        raise TypeError(f"tile() got an unexpected keyword argument '{next(iter(set(kwargs) - {'dims'}))}'")
    return _tile(self, S.sizes_arg(dims, "tile", kwargs.get("dims"), "dims"))


class _Move(Op):
    """An op that moves entries (roll, rot90): its gradient moves them back, by
    the same op with inverse arguments (recorded under create_graph)."""
    exact_grads = True

    def forward(self, x, *args):
        self.inverse = self.invert(*args)
        return self.move(x, *args)

    def backward(self, g):
        if isinstance(g, Tensor):
            return type(self).apply1(g, *self.inverse)
        return self.move(g, *self.inverse)


class Roll(_Move):
    _name, op_name = "RollBackward0", "roll"
    move = staticmethod(lambda x, shifts, axes: np.roll(x, shifts, axes))
    invert = staticmethod(lambda shifts, axes: (tuple(-s for s in shifts), axes))


class Rot90(_Move):
    _name, op_name = "Rot90Backward0", "rot90"
    move = staticmethod(lambda x, k, axes: np.rot90(x, k, axes).copy())
    invert = staticmethod(lambda k, axes: (-k, axes))


def _ints(v, op_name, arg, position):
    """An int, or a tuple/list of ints, as a tuple."""
    vs = tuple(v) if isinstance(v, (tuple, list)) else (v,)
    for n in vs:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"{op_name}(): argument '{arg}' (position {position}) must be tuple of ints, not "
                            f"{type(v).__name__}")
    return tuple(int(n) for n in vs)


def roll(input, shifts, dims=None):
    """input's entries shifted by shifts[i] along dims[i], those pushed off the end
    coming back at the start; with dims None, along the flattened input."""
    shifts = _ints(shifts, "roll", "shifts", 2)
    dims = () if dims is None else _ints(dims, "roll", "dims", 3)
    if not shifts:
        raise RuntimeError("roll: `shifts` required")
    if len(shifts) != len(dims) and (dims or len(shifts) != 1):
        raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    if dims and input.ndim == 0:
        raise IndexError(f"roll: Dimension specified as {dims[0]} but tensor has no dimensions")
    axes = tuple(wrap_dim(d, input.ndim, "roll") for d in dims)
    return Roll.apply1(input, shifts, axes or None)    # (None: the flattened input's)


def rot90(input, k=1, dims=(0, 1)):
    """input rotated k quarter turns in the plane of dims, from dims[0] towards dims[1]."""
    k = int_arg(k, "rot90", "k")
    if not isinstance(dims, (tuple, list)):
        raise TypeError(f"rot90(): argument 'dims' (position 3) must be tuple of ints, not {type(dims).__name__}")
    dims = _ints(dims, "rot90", "dims", 3)
    if len(dims) != 2:
        raise RuntimeError(f"rot90: expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"rot90: expected total dims >= 2, but got total dims = {input.ndim}")
    axes = tuple(wrap_dim(d, input.ndim, "rot90") for d in dims)
    if axes[0] == axes[1]:
        raise RuntimeError(f"rot90: expected rotation dims to be different, but got dim0 = {dims[0]} and "
                           f"dim1 = {dims[1]}")
    return Rot90.apply1(input, k % 4, axes)


def fliplr(input):
    """input with dim 1 reversed (a copy)."""
    if input.ndim < 2:
        raise RuntimeError(f"fliplr: Input must be >= 2-d (got {input.ndim}-d).")
    return S._flip(input, (1,))


def flipud(input):
    """input with dim 0 reversed (a copy)."""
    if input.ndim < 1:
        raise RuntimeError("flipud: Input must be >= 1-d (got a 0-d tensor).")
    return S._flip(input, (0,))


def ravel(input):
    """input flattened: a view when it is contiguous, else a contiguous copy's."""
    return S.view(S.contiguous(input), -1)


# ---- picks by index: take, take_along_dim ----------------------------------------------

class Take(Op):
    """input's entries, read as a flat vector, at an index of any shape."""
    _name, op_name = "TakeBackward0", "take"

    def forward(self, x, idx):
        self.idx, self.shape = idx, x.shape
        return x.reshape(-1)[idx]

    def backward(self, g):
        self.check_kept()
        return P.reshape(P.index_add(g, (self.idx,), (math.prod(self.shape),)), self.shape)


def _long_index(op_name, index, arg, message):
    if not isinstance(index, Tensor):
        raise TypeError(f"{op_name}(): argument '{arg}' (position 2) must be Tensor, not {type(index).__name__}")
    if index._data.dtype != np.int64:
        raise RuntimeError(f"{op_name}(): {message} {index.dtype.libtorch}")
    return index._data


def _from_the_end(idx, n, error):
    """idx with its negative entries counted from the end (n + i); error(i) for
    an entry i outside [-n, n)."""
    if not idx.size:
        return idx
    lo, hi = int(idx.min()), int(idx.max())
    if lo < -n or hi >= n:
        raise error(lo if lo < -n else hi)
    return np.where(idx < 0, idx + n, idx) if lo < 0 else idx


def take(input, index):
    """input's entries at `index` (int64, any shape), input read as a flat vector;
    negative indices count from the end."""
    idx = _long_index("take", index, "index", "Expected a long tensor for index, but got")
    n = input.numel()
    if idx.size and n == 0:
        raise IndexError("take(): tried to take from an empty tensor")
    idx = _from_the_end(idx, n, lambda i: IndexError(f"take(): out of range: tried to access index {i} on a tensor "
                                                     f"of {n} elements."))
    return picked(Take, input, index, idx)


def take_along_dim(input, indices, dim=None):
    """input's entries at `indices` (int64) along dim, input and indices broadcast
    in the other dims (NumPy's take_along_axis); with dim None, the flattened input's.
    Along a dim, negative indices count from the end and ones outside [-size, size)
    raise (PyTorch 2.13 takes any index modulo the size)."""
    idx = _long_index("take_along_dim", indices, "indices", "dtype of indices should be Long but got")
    if indices._backend is not input._backend:
        raise device_mismatch("take_along_dim", input, indices)
    if dim is None:
        check_range("take_along_dim", idx, input.numel(), 0)
        return gather(S.reshape(input, -1), 0, S.reshape(indices, -1))
    dim = int_arg(dim, "take_along_dim", "dim")
    if input.ndim != indices.ndim:
        raise RuntimeError(f"take_along_dim(): input and indices should have the same number of dimensions, but "
                           f"got {input.ndim} dimensions for input, and {indices.ndim} dimensions for indices")
    if input.ndim == 0:
        raise IndexError(f"take_along_dim(): Dimension specified as {dim} but tensor has no dimensions")
    axis = wrap_dim(dim, input.ndim, "take_along_dim")
    n = input.shape[axis]
    wrapped = _from_the_end(idx, n, lambda i: RuntimeError(f"take_along_dim(): index {i} is out of bounds for "
                                                           f"dimension {axis} with size {n}"))
    if wrapped is not idx:
        indices = Tensor._make(wrapped, indices._backend)
    others = [(a, b) for d, (a, b) in enumerate(zip(input.shape, indices.shape)) if d != axis]
    for d, (a, b) in enumerate(others):
        if a != b and a != 1 and b != 1:
            raise RuntimeError(f"take_along_dim(): The size of tensor a ({a}) must match the size of tensor b "
                               f"({b}) at non-singleton dimension {d + (d >= axis)}")
    common = [max(a, b) if min(a, b) else 0 for a, b in others]

    def grown(t):               # t broadcast in the other dims (a view: ExpandBackward0)
        shape = tuple(common[:axis]) + (t.shape[axis],) + tuple(common[axis:])
        return t if t.shape == shape else S.expand(t, shape)
    return gather(grown(input), axis, grown(indices))


# ---- tensor_split and hsplit, vsplit, dsplit ---------------------------------------------

def _split_points(op_name, spec):
    """('sections', n) or ('indices', tuple) from an int, a sequence of ints or an int64 tensor."""
    if isinstance(spec, Tensor):
        if spec._backend.is_cuda:
            raise RuntimeError(f"{op_name} expected tensor_indices_or_sections to be on cpu, but it's on "
                               f"{spec.device}")
        if spec._data.dtype != np.int64:
            raise RuntimeError(f"{op_name} expected tensor_indices_or_sections to have dtype of long, but got "
                               f"{spec.dtype.libtorch}")
        if spec.ndim > 1:
            raise RuntimeError(f"{op_name} expected tensor_indices_or_sections to be a zero-dimensional or "
                               f"one-dimensional tensor, but got a tensor with {spec.ndim} dims")
        values = spec._backend.to_host(spec._data)
        return ("sections", int(values)) if spec.ndim == 0 else ("indices", tuple(int(v) for v in values))
    if isinstance(spec, (tuple, list)):
        return "indices", tuple(int_arg(v, op_name, "indices", "tuple of ints") for v in spec)
    return "sections", int_arg(spec, op_name, "sections", "int, tuple of ints or Tensor")


def _split(input, kind, value, axis, op_name):
    n = input.shape[axis]
    if kind == "sections":
        if value <= 0:
            raise RuntimeError(f"{op_name}: number of sections must be larger than 0, got {value}")
        size, extra = divmod(n, value)
        bounds = [i * size + min(i, extra) for i in range(value + 1)]
        cuts = [slice(a, b) for a, b in zip(bounds, bounds[1:])]
    else:
        starts = (0,) + value
        cuts = [slice(a, b) for a, b in zip(starts, value + (None,))]
    lead = (slice(None),) * axis
    return tuple(input[lead + (c,)] for c in cuts)


def _one_of(op_name, given):
    """The one argument of a call that may name it in several ways."""
    given = [v for v in given if v is not None]
    if len(given) != 1:
        raise TypeError(f"{op_name}() takes exactly one of indices_or_sections, sections, indices "
                        f"(got {len(given)})")
    return given[0]


def tensor_split(input, indices_or_sections=None, dim=0, *, sections=None, indices=None,
                 tensor_indices_or_sections=None):
    """input split along dim into `sections` pieces of near-equal size (the first
    ones one larger), or at the given indices (views)."""
    spec = _one_of("tensor_split", (indices_or_sections, sections, indices, tensor_indices_or_sections))
    if input.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    axis = wrap_dim(dim, input.ndim, "tensor_split")
    kind, value = _split_points("tensor_split", spec)
    return _split(input, kind, value, axis, "tensor_split")


def _directional_split(op_name, min_dims, dim_of):
    def split(input, indices_or_sections=None, *, sections=None, indices=None):
        spec = _one_of(op_name, (indices_or_sections, sections, indices))
        if isinstance(spec, Tensor) and spec.ndim == 0 and spec._data.dtype.kind in "iu":
            spec = int(spec)            # (PyTorch takes a 0-d integer tensor for an int)
        if isinstance(spec, Tensor):
            raise TypeError(f"{op_name}(): argument 'indices_or_sections' must be int or tuple of ints, not Tensor")
        if input.ndim < min_dims:
            raise RuntimeError(f"torch.{op_name} requires a tensor with at least {min_dims} dimension, but got a "
                               f"tensor with {input.ndim} dimensions!")
        kind, value = _split_points(op_name, spec)
        axis = dim_of(input.ndim)
        if kind == "sections" and (value == 0 or input.shape[axis] % value):
            raise RuntimeError(f"torch.{op_name} attempted to split along dimension {axis}, but the size of the "
                               f"dimension {input.shape[axis]} is not divisible by the split_size {value}!")
        return _split(input, kind, value, axis, op_name)
    split.__name__ = split.__qualname__ = op_name
    split.__doc__ = f"tensor_split along dim {dim_of(3)} ({op_name}); an int must split it evenly."
    return split


hsplit = _directional_split("hsplit", 1, lambda ndim: 0 if ndim == 1 else 1)
vsplit = _directional_split("vsplit", 2, lambda ndim: 0)
dsplit = _directional_split("dsplit", 3, lambda ndim: 2)


def _split_method(split):
    """x.hsplit(2), x.hsplit([1, 3]) or x.hsplit(1, 3)."""
    def method(self, *indices_or_sections, **kwargs):
        if len(indices_or_sections) > 1:
            indices_or_sections = (indices_or_sections,)
        return split(self, *indices_or_sections, **kwargs)
    method.__name__ = method.__qualname__ = split.__name__
    method.__doc__ = split.__doc__
    return method


# ---- writing src over a view of input: select_scatter, slice_scatter, diagonal_scatter ----

class _Embed(Op):
    """A copy of x with src written over one of its views (part): x's gradient is
    g zeroed there (this op writing zeros, when recorded), src's is g's part."""

    def forward(self, x, src, *where):
        self.where, self.src_shape = where, src.shape
        out = x.copy()
        self.part(out, *where)[...] = src
        return out

    def backward(self, g):
        gx = gs = None
        if self.needs(0):
            zeros = S._zeros_like_shape(g, self.src_shape)
            gx = type(self).apply2(g, zeros, *self.where) if isinstance(g, Tensor) else self.forward(g, zeros, *self.where)
        if self.needs(1):
            gs = self.part(g, *self.where)
        return gx, gs


class SelectScatter(_Embed):
    _name, op_name = "SelectScatterBackward0", "select_scatter"
    part = staticmethod(P.getitem)


class SliceScatter(SelectScatter):
    _name, op_name = "SliceScatterBackward0", "slice_scatter"


class DiagonalScatter(_Embed):
    _name, op_name = "DiagonalScatterBackward0", "diagonal_scatter"
    part = staticmethod(P.diagonal)


def _embedded(cls, input, src, part_shape, *where):
    """cls applied after the check that src has the part's shape; src is cast to
    input's dtype first (its gradient cast back)."""
    if not isinstance(src, Tensor):
        raise TypeError(f"{cls.op_name}(): argument 'src' (position 2) must be Tensor, not {type(src).__name__}")
    if tuple(src.shape) != tuple(part_shape):
        raise RuntimeError(f"{cls.op_name}(): expected src to have a size equal to the slice of self. src size = "
                           f"{list(src.shape)}, slice size = {list(part_shape)}")
    if src._backend is not input._backend:
        raise device_mismatch(cls.op_name, input, src)
    if src.dtype is not input.dtype:
        if src._rg and is_grad_enabled() and not input.dtype.is_floating_point:
            raise RuntimeError(f"{cls.op_name}(): Autograd not support dtype: {input.dtype.libtorch} (src requires "
                               "grad, the result would be an integer tensor)")
        src = src.to(input.dtype)
    return cls.apply2(input, src, *where)


def select_scatter(input, src, dim, index):
    """A copy of input with src written over input.select(dim, index)."""
    axis, index = S.select_position(input, dim, index, "select_scatter")
    part = input.shape[:axis] + input.shape[axis + 1:]
    return _embedded(SelectScatter, input, src, part, (slice(None),) * axis + (index % input.shape[axis], Ellipsis))


def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    """A copy of input with src written over input[start:end:step] along dim."""
    if input.ndim == 0:
        raise IndexError("slice_scatter(): slice() cannot be applied to a 0-dim tensor.")
    axis = wrap_dim(dim, input.ndim, "slice_scatter")
    start, end = (None if v is None else int_arg(v, "slice_scatter", arg) for v, arg in ((start, "start"), (end, "end")))
    step = int_arg(step, "slice_scatter", "step")
    if step <= 0:
        raise RuntimeError(f"slice_scatter(): slice step must be positive (got {step})")
    cut = slice(start, end, step)
    part = input.shape[:axis] + (len(range(*cut.indices(input.shape[axis]))),) + input.shape[axis + 1:]
    return _embedded(SliceScatter, input, src, part, (slice(None),) * axis + (cut,))


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """A copy of input with src written over input.diagonal(offset, dim1, dim2)."""
    offset = int_arg(offset, "diagonal_scatter", "offset")
    a1, a2 = _diagonal_dims(dim1, dim2, input.ndim, "diagonal_scatter")
    part = np.broadcast_to(np.empty(()), input.shape).diagonal(offset, a1, a2).shape
    return _embedded(DiagonalScatter, input, src, part, offset, a1, a2)


_METHOD_NAMES = ("roll rot90 fliplr flipud take_along_dim take tensor_split ravel select_scatter slice_scatter "
                 "diagonal_scatter").split()
_SPLITS = {"hsplit": hsplit, "vsplit": vsplit, "dsplit": dsplit}

# Tensor methods this module adds (attached by ops/methods.py)
METHODS = {name: globals()[name] for name in _METHOD_NAMES}
METHODS.update({"broadcast_to": _broadcast_to_method, "tile": _tile_method},
               **{name: _split_method(fn) for name, fn in _SPLITS.items()})
# ag.<name> functions this module adds (exported by autograd_gpu/__init__.py); those
# whose first operand must be a Tensor go through functions.tensor_function
FUNCTIONS = {name: tensor_function(name, fn) for name, fn in
             dict(METHODS, broadcast_to=broadcast_to, tile=tile, **_SPLITS).items()}
FUNCTIONS.update(hstack=hstack, vstack=vstack, row_stack=row_stack, dstack=dstack, column_stack=column_stack,
                 atleast_1d=atleast_1d, atleast_2d=atleast_2d, atleast_3d=atleast_3d,
                 broadcast_tensors=broadcast_tensors, broadcast_shapes=broadcast_shapes)
