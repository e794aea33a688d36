"""In-place changes of a tensor's view metadata (transpose_, t_, squeeze_, unsqueeze_, swapaxes_, as_strided_) and as_strided, as torch's.

as_strided counts strides and the storage offset in elements of the storage
the tensor's array lives in (the array at the end of its `.base` chain, as
`Tensor.storage_offset` counts). Its gradient is PyTorch's AsStridedBackward0:
the output's gradient is summed into a zeroed copy of the storage (windows
that overlap add up), divided where the input itself reads one element several
times, and read back at the input's places.

An in-place metadata change gives the tensor a new array over the same memory
and bumps the shared version counter. With a graph, the tensor takes the view
op's node (TransposeBackward1, TBackward1, SqueezeBackward3/4/5,
UnsqueezeBackward1, AsStridedBackward1, as PyTorch names them). A view keeps
its link to its base: its chain of view ops gets the new op appended (through
a stand-in for its old self), so a later in-place write still rebases it.
Views made earlier from the tensor without a node of their own are relinked
to a stand-in of the tensor's old layout. Views that have a node of their own
are not known to the tensor: when their view ops, replayed on the new layout,
no longer give their elements, they are regenerated from their place in the
base's memory (StorageView, named AsStridedBackward0 as PyTorch's)."""
import numpy as np

from ..autograd import op as _op
from ..autograd.op import Op, view_meta_error, device_mismatch
from ..backend import of_array
from ..autograd.grad_mode import is_grad_enabled, state as grad_state
from ..tensor import Tensor
from . import prims as P
from . import shape as S
from ._util import wrap_dim, int_arg
from .functions import tensor_function

_new = object.__new__


# ---- storage geometry ------------------------------------------------------------------------------

def _address(a):
    return a.__array_interface__["data"][0] if isinstance(a, np.ndarray) else a.data.ptr


def _root(a):
    """The array whose memory `a` lives in (the end of its `.base` chain)."""
    root = a
    while isinstance(getattr(root, "base", None), type(a)):
        root = root.base
    return root


def _offset(a, root=None):
    """a's first element, in elements from the start of its root's memory."""
    root = _root(a) if root is None else root
    if root is a or not a.size:
        return 0
    return (_address(a) - _address(root)) // a.itemsize


def _extent(a):
    """How many elements a's memory spans from its first one (our strides are never negative)."""
    if not a.size:
        return 0
    return 1 + sum((n - 1) * (s // a.itemsize) for n, s in zip(a.shape, a.strides))


def _strides(a):
    if not a.size:                     # (no element: PyTorch's contiguous strides, as Tensor.stride)
        out, n = [], 1
        for k in reversed(a.shape):
            out.append(n)
            n *= max(k, 1)
        return tuple(reversed(out))
    return tuple(s // a.itemsize for s in a.strides)


def _xp(a):
    return np if isinstance(a, np.ndarray) else of_array(a).xp


def strided_view(a, size, stride, offset):
    """A view of the memory of a's root: `size`, `stride` and `offset` in elements (checked by the caller).
    NumPy views keep the `.base` chain (storage_offset and later as_strided calls count from the root)."""
    root = _root(a)
    isz = a.itemsize
    if not all(size):                  # (no element: nothing to point at; an empty view of the root)
        return root.reshape(-1)[:0].reshape(size) if root.flags.c_contiguous else a.reshape(-1)[:0].reshape(size)
    byte_strides = tuple(s * isz for s in stride)
    if isinstance(root, np.ndarray) and (root.flags.c_contiguous or root.flags.f_contiguous):
        flat = (root if root.flags.c_contiguous else root.T).reshape(-1)
        return np.ndarray(size, a.dtype, buffer=flat, offset=offset * isz, strides=byte_strides)
    tricks = _xp(a).lib.stride_tricks
    flat = tricks.as_strided(root, (_extent(root),), (isz,))
    return tricks.as_strided(flat[offset:], tuple(size), byte_strides)


def _sizes(v, op_name, arg, position):
    if isinstance(v, Tensor) or not isinstance(v, (tuple, list)):
        raise TypeError(f"{op_name}(): argument '{arg}' (position {position}) must be tuple of ints, not "
                        f"{type(v).__name__}")
    for i, s in enumerate(v):
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"{op_name}(): argument '{arg}' (position {position}) must be tuple of ints, but "
                            f"found element of type {type(s).__name__} at pos {i}")
    return tuple(int(s) for s in v)


def geometry(x, size, stride, storage_offset, op_name):
    """(size, stride, offset) of x.as_strided(size, stride, storage_offset), checked as PyTorch checks them."""
    size, stride = _sizes(size, op_name, "size", 1), _sizes(stride, op_name, "stride", 2)
    if storage_offset is None:
        offset = _offset(x._data)
    else:
        offset = int_arg(storage_offset, op_name, "storage_offset")
    if len(size) != len(stride):
        raise RuntimeError(f"{op_name}: mismatch in length of strides and shape (size {list(size)}, stride "
                           f"{list(stride)})")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"{op_name}: Negative strides are not supported at the moment, got strides: "
                           f"{list(stride)}")
    if any(n < 0 for n in size):
        raise RuntimeError(f"{op_name}: Storage size calculation overflowed with sizes={list(size)} and "
                           f"strides={list(stride)}")
    if offset < 0:
        raise RuntimeError(f"{op_name}: Tensor: invalid storage offset {offset}")
    d = x._data
    if all(size):
        need = offset + 1 + sum((n - 1) * s for n, s in zip(size, stride))
        have = _extent(_root(d))
        if need > have:
            isz = d.itemsize
            raise RuntimeError(f"{op_name}: setStorage: sizes {list(size)}, strides {list(stride)}, storage offset "
                               f"{offset}, and itemsize {isz} requiring a storage size of {need * isz} are out of "
                               f"bounds for storage of size {have * isz}")
    return size, stride, offset


# ---- as_strided and its gradient -----------------------------------------------------------------

def _positions(xp, size, stride, offset):
    """The storage position of each element of a (size, stride, offset) view, as an int64 array of that size."""
    pos = xp.full(tuple(size), offset, dtype=np.int64)
    for axis, (n, s) in enumerate(zip(size, stride)):
        shape = [1] * len(size)
        shape[axis] = n
        pos = pos + (xp.arange(n, dtype=np.int64) * s).reshape(shape)
    return pos


def _grad_plan(xp, in_geom, out_geom, dtype):
    """(src, dst, n, scale): the output's gradient is summed into n storage places at src, scaled
    (where the input reads a place more than once) and read at the input's places dst."""
    src, dst = _positions(xp, *out_geom), _positions(xp, *in_geom)
    if not src.size and not dst.size:
        return src, dst, 0, None
    lo = min(int(p.min()) for p in (src, dst) if p.size)
    n = max(int(p.max()) for p in (src, dst) if p.size) + 1 - lo
    src, dst = src - lo, dst - lo
    scale = None
    if dst.size:
        count = xp.bincount(dst.reshape(-1), minlength=n)
        if int(count.max()) > 1:
            scale = (1.0 / xp.maximum(count, 1)).astype(dtype)
    return src, dst, n, scale


def _move(g, src, dst, n, scale):
    storage = _xp(g).zeros((n,), dtype=g.dtype)
    if g.size:
        P.add_at(storage, (src,), g)
    if scale is not None:
        storage *= scale
    return storage[dst]


class StridedMove(Op):
    """g summed into storage places src, scaled, read at places dst (as_strided's gradient, and the
    gradient of that: the same move from dst to src)."""
    _name, op_name = "AsStridedBackwardBackward0", "as_strided_backward"

    def forward(self, g, src, dst, n, scale):
        self.plan = (src, dst, n, scale)
        return _move(g, src, dst, n, scale)

    def backward(self, gg):
        src, dst, n, scale = self.plan
        if isinstance(gg, Tensor):
            return StridedMove.apply1(gg, dst, src, n, scale)
        return _move(gg, dst, src, n, scale)


class AsStrided(Op):
    """x.as_strided(size, stride, offset): a view of x's storage (AsStridedBackward0)."""
    _name, op_name = "AsStridedBackward0", "as_strided"
    is_view = True

    def forward(self, x, size, stride, offset):
        self.in_geom = (x.shape, _strides(x), _offset(x))
        self.out_geom = (size, stride, offset)
        return strided_view(x, size, stride, offset)

    def backward(self, g):
        plan = _grad_plan(_xp(g._data if isinstance(g, Tensor) else g), self.in_geom, self.out_geom,
                          g._data.dtype if isinstance(g, Tensor) else g.dtype)
        if isinstance(g, Tensor):
            return StridedMove.apply1(g, *plan)
        return _move(g, *plan)


class StorageView(AsStrided):
    """A view regenerated from where its elements lie from its base's first element, as PyTorch regenerates a
    view's grad_fn (as_strided of the base): used where replaying the view's ops no longer gives its elements
    because a layout changed in place since it was made (v = y[0]; y.t_()). attrs: size, stride and offset
    from the base's first element, and the base's shape and strides then (elements). On an array laid out
    otherwise than the base (a gradient) it gathers those places by position (a copy)."""

    def forward(self, x, size, stride, rel, base_shape, base_strides):
        self.in_geom, self.out_geom = (base_shape, base_strides, 0), (size, stride, rel)
        if x.shape == base_shape and rel >= 0 and _same_strides(x, base_strides):
            return _relative_view(x, size, stride, rel)
        src, dst, n, _ = _grad_plan(_xp(x), self.in_geom, self.out_geom, x.dtype)
        return _move(x, dst, src, n, None)

    @staticmethod
    def put(g, attrs):
        """The view's part `g` (array or Tensor) at its places in a base-shaped zero gradient (for CopySlices)."""
        node = StorageView.__new__(StorageView)
        size, stride, rel, base_shape, base_strides = attrs
        node.in_geom, node.out_geom = (base_shape, base_strides, 0), (size, stride, rel)
        return node.backward(g)


def _same_strides(a, strides):
    return all(s == t for s, t, n in zip(_strides(a), strides, a.shape) if n > 1)


def _relative_view(x, size, stride, rel):
    """A view of x's memory starting `rel` elements after x's first element (no `.base` chain needed)."""
    tricks = _xp(x).lib.stride_tricks
    isz = x.itemsize
    if not all(size):
        return tricks.as_strided(x, tuple(size), (0,) * len(size))
    start = tricks.as_strided(x, (rel + 1,), (isz,))[rel:]
    return tricks.as_strided(start, tuple(size), tuple(s * isz for s in stride))


def storage_view_chain(d, base):
    """The view chain [(StorageView, attrs)] that gives array `d` from `base` (arrays over the same memory)."""
    rel = (_address(d) - _address(base)) // d.itemsize if d.size and base.size else 0
    return [(StorageView, (tuple(d.shape), _strides(d), rel, tuple(base.shape), _strides(base)))]


def as_strided(input, size, stride, storage_offset=None):
    """A view of input's storage with the given sizes, strides and storage offset (in elements)."""
    return AsStrided.apply1(input, *geometry(input, size, stride, storage_offset, "as_strided"))


def as_strided_scatter(input, src, size, stride, storage_offset=None):
    """A copy of input with src written over input.as_strided(size, stride, storage_offset)
    (AsStridedScatterBackward0)."""
    if not isinstance(src, Tensor):
        raise TypeError(f"as_strided_scatter(): argument 'src' (position 2) must be Tensor, not {type(src).__name__}")
    if input._rg and not input.is_contiguous():
        raise RuntimeError("as_strided_scatter: as_strided_scatter is currently only supported for contiguous "
                           f"inputs (input strides {list(input.stride())})")
    if src._backend is not input._backend:
        raise device_mismatch("as_strided_scatter", input, src)
    out = S.clone(input)           # (its storage offset is 0: a default storage_offset counts from there)
    geom = geometry(out, size, stride, 0 if storage_offset is None else storage_offset, "as_strided_scatter")
    if tuple(src.shape) != geom[0]:
        raise RuntimeError(f"as_strided_scatter: expected src to have a size equal to the slice of self. src size = "
                           f"{list(src.shape)}, slice size = {list(geom[0])}")
    if any(st == 0 and n > 1 for n, st in zip(*geom[:2])):      # (what copy_ refuses, named for this op)
        raise RuntimeError("as_strided_scatter: unsupported operation: more than one element of the written-to "
                           f"tensor refers to a single memory location (size {list(geom[0])}, stride "
                           f"{list(geom[1])}). Please clone() the tensor before performing the operation.")
    if src._rg and is_grad_enabled() and not input.dtype.is_floating_point:
        raise RuntimeError(f"as_strided_scatter(): Autograd not support dtype: {input.dtype.libtorch} (src requires "
                           "grad, the result would be an integer tensor)")
    AsStrided.apply1(out, *geom).copy_(src)
    if out._node is not None:
        out._node._name = "AsStridedScatterBackward0"
    return out


# ---- in-place changes of view metadata -------------------------------------------------------------

class TransposeInplace(S.Transpose):
    _name, op_name = "TransposeBackward1", "transpose_"


class TInplace(S.T):
    _name, op_name = "TBackward1", "t_"


class SqueezeInplace(S.Squeeze):
    _name, op_name = "SqueezeBackward3", "squeeze_"


class SqueezeDimInplace(S.Squeeze):
    _name, op_name = "SqueezeBackward4", "squeeze_"


class SqueezeDimsInplace(S.Squeeze):
    _name, op_name = "SqueezeBackward5", "squeeze_"


class UnsqueezeInplace(S.Unsqueeze):
    """unsqueeze_ with PyTorch's stride for the new dim (size * stride of the dim it goes before; 1 at the end)."""
    _name, op_name = "UnsqueezeBackward1", "unsqueeze_"

    def forward(self, x, dim):
        self.in_shape = x.shape
        st = _strides(x)
        shape = x.shape[:dim] + (1,) + x.shape[dim:]
        strides = st[:dim] + ((x.shape[dim] * st[dim]) if dim < x.ndim else 1,) + st[dim:]
        y = x.reshape(shape)
        if not y.size or _strides(y) == strides:
            return y
        return strided_view(x, shape, strides, _offset(x))


class AsStridedInplace(AsStrided):
    _name, op_name = "AsStridedBackward1", "as_strided_"


def _check_metadata_write(t, op_name):
    """check_inplace's autograd half (a metadata change writes no element: expanded and read-only arrays are fine)."""
    if not (grad_state.enabled and t._rg):
        return
    if t._base is not None:
        err = view_meta_error(t, op_name)
        if err is not None:
            raise err
        if t._base._node is None:
            raise RuntimeError(f"{op_name}: a view of a leaf Variable that requires grad is being used in an "
                               "in-place operation.")
    if t._node is None:
        raise RuntimeError(f"{op_name}: a leaf Variable that requires grad is being used in an in-place operation.")


_OWN = ("_retains_grad", "_hooks", "_acc", "_post_acc_hooks", "_grad", "_views", "_view_acc")


def _stand_in(t):
    """A new tensor that is t as it is now (same array, node, version counter, view links)."""
    s = _new(Tensor)
    s._data, s._backend, s._vc, s._node, s._rg = t._data, t._backend, t._vc, t._node, t._rg
    s.__dict__.update({k: v for k, v in t.__dict__.items() if k not in _OWN})
    return s


def _relink_views(t, old):
    """Views of t known to its base (made without a node) now hang from `old`, t's former self."""
    base = t._base if t._base is not None else t
    for ref in base._views or ():
        v = ref()
        if v is not None and v._view_of is not None and v._view_of[0] is t:
            v._view_of = (old,) + v._view_of[1:]


def change_metadata(t, op_name, cls, *attrs):
    """t takes the layout cls gives it (a view op), in place: same memory, version bumped; with a
    graph, cls's node (whose edge leads to t's old history)."""
    if t._base is None:
        # t's old layout, as a view of t (for views made earlier without a node: their chains start at t)
        old = None
        if t._views:
            old = _stand_in(t)
            old._base, old._node, old._rg = t, None, False
            old._view_of = (t, AsStrided, (t.shape, _strides(t._data), _offset(t._data)))
        res = cls.apply1(t, *attrs)
        t._data = res._data
        if res._node is not None:
            t._node, t._output_nr = res._node, 0
        t._acc = None                    # (the leaf's AccumulateGrad caches shape)
        if old is not None:
            _relink_views(t, old)
    else:
        old = _stand_in(t)
        res = cls.apply1(old, *attrs)
        t._data, t._view_of = res._data, res._view_of
        if res._node is not None:
            t._node, t._output_nr = res._node, res._output_nr
        t._nograd = t._nograd or res._nograd
        _relink_views(t, old)
    if _op._forward_ad:
        from ..autograd.forward_ad import take_tangent
        take_tangent(t, res)             # (the tangent takes the new layout too)
    t._vc[0] += 1
    if t._base is not None:
        t._view_ver = t._vc[0]
    return t


def _transposer(name):
    def method(self, dim0, dim1):
        _check_metadata_write(self, name)
        n = self.ndim
        a, b = wrap_dim(dim0, n, name), wrap_dim(dim1, n, name)
        axes = list(range(n))
        if n:
            axes[a], axes[b] = axes[b], axes[a]
        return change_metadata(self, name, TransposeInplace, tuple(axes))
    method.__name__ = method.__qualname__ = name
    return method


transpose_, swapaxes_, swapdims_ = (_transposer(n) for n in ("transpose_", "swapaxes_", "swapdims_"))


def t_(self):
    _check_metadata_write(self, "t_")
    if self.ndim > 2:
        raise RuntimeError(f"t_() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
    return change_metadata(self, "t_", TInplace, tuple(range(self.ndim))[::-1])


def squeeze_(self, dim=None):
    _check_metadata_write(self, "squeeze_")
    shp, n = self.shape, self.ndim
    if dim is None:
        return change_metadata(self, "squeeze_", SqueezeInplace, tuple(i for i, k in enumerate(shp) if k == 1))
    if isinstance(dim, (tuple, list)):
        dims = tuple(wrap_dim(d, n, "squeeze_") for d in dim)
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"squeeze_: dim {dims[0]} appears multiple times in the list of dims")
        return change_metadata(self, "squeeze_", SqueezeDimsInplace, tuple(d for d in dims if n and shp[d] == 1))
    d = wrap_dim(dim, n, "squeeze_")
    return change_metadata(self, "squeeze_", SqueezeDimInplace, (d,) if n and shp[d] == 1 else ())


def unsqueeze_(self, dim):
    _check_metadata_write(self, "unsqueeze_")
    return change_metadata(self, "unsqueeze_", UnsqueezeInplace, wrap_dim(dim, self.ndim + 1, "unsqueeze_"))


def as_strided_(self, size, stride, storage_offset=None):
    _check_metadata_write(self, "as_strided_")
    return change_metadata(self, "as_strided_", AsStridedInplace,
                           *geometry(self, size, stride, storage_offset, "as_strided_"))


# ---- the *_copy forms: the view op's result, freshly allocated (<Node>_copy) ----------------------------

def _copied(out, node_name):
    """A contiguous copy of view `out`, its node named as PyTorch's <name>_copy."""
    c = S.Clone.apply1(out, "C")
    if c._node is not None:
        c._node._name = node_name + "_copy"
    return c


def _slice(input, dim=0, start=None, end=None, step=1):
    if input.ndim == 0:
        raise IndexError("slice_copy(): slice() cannot be applied to a 0-dim tensor.")
    axis = wrap_dim(dim, input.ndim, "slice_copy")
    step = int_arg(step, "slice_copy", "step")
    if step <= 0:
        raise RuntimeError(f"slice_copy: slice step must be positive, got {step}")
    start = None if start is None else int_arg(start, "slice_copy", "start")
    end = None if end is None else int_arg(end, "slice_copy", "end")
    return input[(slice(None),) * axis + (slice(start, end, step),)]


def _split(input, split_size, dim=0):
    if isinstance(split_size, (list, tuple)):
        raise TypeError(f"split_copy(): argument 'split_size' (position 2) must be int, not "
                        f"{type(split_size).__name__}")
    return S.split(input, split_size, dim)


def _split_with_sizes(input, split_sizes, dim=0):
    if not isinstance(split_sizes, (list, tuple)):
        raise TypeError(f"split_with_sizes_copy(): argument 'split_sizes' (position 2) must be tuple of ints, not "
                        f"{type(split_sizes).__name__}")
    return S.split(input, list(split_sizes), dim)


def _alias(input):
    return S.View.apply1(input, input.shape)


class DetachCopy(Op):
    """detach_copy: a contiguous copy that, as PyTorch 2.13's, requires grad where its input does, with a
    node whose backward refuses (torch::autograd::NotImplemented)."""
    _name, op_name = "torch::autograd::NotImplemented", "detach_copy"

    def forward(self, x):
        return x.copy(order="C")

    def backward(self, g):
        raise RuntimeError("detach_copy: derivative for aten::detach_copy is not implemented")


def _detach_copy(input):
    return DetachCopy.apply1(input)


def _squeeze_copy_name(input, dim=None):
    return "SqueezeBackward0" if dim is None else ("SqueezeBackward2" if isinstance(dim, (list, tuple))
                                                   else "SqueezeBackward1")


def _named(name_of, view_fn, op_name):
    """fn whose copy's node is named name_of(*args) + '_copy'; its errors name op_name."""
    def fn(input, *args, **kwargs):
        try:
            out = view_fn(input, *args, **kwargs)
        except (RuntimeError, IndexError, TypeError, ValueError) as e:
            if op_name in str(e):
                raise
            raise type(e)(f"{op_name}: {e}") from None
        name = name_of(input, *args, **kwargs) if callable(name_of) else name_of
        if isinstance(out, tuple):
            return tuple(_copied(o, name) for o in out)
        return _copied(out, name)
    fn.__name__ = getattr(view_fn, "__name__", "copy")
    return fn


def _unfold(input, dimension, size, step):
    return input.unfold(dimension, size, step)


def _diagonal(input, offset=0, dim1=0, dim2=1):
    return input.diagonal(offset, dim1, dim2)


COPIES = {
    "view_copy": _named("ViewBackward0", lambda x, size: S.view(x, size), "view_copy"),
    "t_copy": _named("TBackward0", S.t, "t_copy"),
    "transpose_copy": _named("TransposeBackward0", S.transpose, "transpose_copy"),
    "permute_copy": _named("PermuteBackward0", lambda x, dims: S.permute(x, _sizes(dims, "permute_copy", "dims", 2)),
                           "permute_copy"),
    "expand_copy": _named("ExpandBackward0", lambda x, size, implicit=False: S.expand(x, size), "expand_copy"),
    "squeeze_copy": _named(_squeeze_copy_name, S.squeeze, "squeeze_copy"),
    "unsqueeze_copy": _named("UnsqueezeBackward0", S.unsqueeze, "unsqueeze_copy"),
    "diagonal_copy": _named("DiagonalBackward0", _diagonal, "diagonal_copy"),
    "select_copy": _named("SelectBackward0", S.select, "select_copy"),
    "slice_copy": _named("SliceBackward0", _slice, "slice_copy"),
    "split_copy": _named("SplitBackward0", _split, "split_copy"),
    "split_with_sizes_copy": _named("SplitWithSizesBackward0", _split_with_sizes, "split_with_sizes_copy"),
    "unbind_copy": _named("UnbindBackward0", S.unbind, "unbind_copy"),
    "unfold_copy": _named("UnfoldBackward0", _unfold, "unfold_copy"),
    "alias_copy": _named("AliasBackward0", _alias, "alias_copy"),
    "as_strided_copy": _named("AsStridedBackward0", as_strided, "as_strided_copy"),
}


METHODS = {
    "as_strided": as_strided, "as_strided_": as_strided_, "as_strided_scatter": as_strided_scatter,
    "transpose_": transpose_, "swapaxes_": swapaxes_, "swapdims_": swapdims_, "t_": t_,
    "squeeze_": squeeze_, "unsqueeze_": unsqueeze_,
}

FUNCTIONS = {
    "as_strided": tensor_function("as_strided", as_strided),
    "as_strided_": tensor_function("as_strided_", as_strided_),
    "as_strided_scatter": tensor_function("as_strided_scatter", as_strided_scatter),
    "detach_copy": tensor_function("detach_copy", _detach_copy),
}
FUNCTIONS.update({name: tensor_function(name, fn) for name, fn in COPIES.items()})

# (the metadata changes are METHODS of their own: no x.<name>_ form made from an out-of-place op)
INPLACE = {}
