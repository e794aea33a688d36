"""The in-place function forms of torch (ag.abs_(x) is x.abs_()), and the Tensor
methods that were missing: logical_*_ and floor_divide_ in place; the complex
helpers in their real-valued forms (conj, resolve_neg, real, angle, ...);
hardshrink; the legacy constructor `new` and new_empty_strided; resize_ and
resize_as_; the CPU-only element loops apply_/map_/map2_; the memory queries
(is_pinned, pin_memory, share_memory_, is_shared, layout, dim_order);
output_nr; unsafe_chunk/unsafe_split/unsafe_split_with_sizes.

No dtype here is complex, so conj and its kin return self, is_conj/is_neg/
is_complex are False, real is self and imag raises, as PyTorch's for real
tensors."""
import math
import numbers

import numpy as np

from ..autograd.grad_mode import state as grad_state
from ..autograd.op import Op, check_inplace, check_no_partial_overlap
from ..backend import get as backend_for
from ..tensor import Tensor
from . import arith, compare, inplace, pointwise, prims as P, shape as shape_ops
from .functions import tensor_function
from ._util import broadcastable, check_fits, number, wrap_dim

# torch 2.13's in-place functions: the callable names of dir(torch) that end in
# "_" and do not start with "_". ag.<name> exists for those that are Tensor
# methods here (FUNCTIONS, below), so a method added later gets its function.
TORCH_INPLACE_FUNCTIONS = tuple("""
abs_ acos_ acosh_ addmv_ alpha_dropout_ arccos_ arccosh_ arcsin_ arcsinh_ arctan_ arctanh_ as_strided_ asin_
asinh_ atan_ atanh_ ceil_ celu_ clamp_ clamp_max_ clamp_min_ clip_ conj_physical_ cos_ cosh_ deg2rad_ detach_
dropout_ embedding_renorm_ erf_ erfc_ exp2_ exp_ expm1_ feature_alpha_dropout_ feature_dropout_ fill_ fix_ floor_
frac_ gcd_ i0_ index_put_ lcm_ ldexp_ log10_ log1p_ log2_ log_ logit_ nan_to_num_ neg_ negative_ rad2deg_
reciprocal_ relu_ resize_as_ resize_as_sparse_ round_ rrelu_ rsqrt_ selu_ sigmoid_ sin_ sinc_ sinh_ sqrt_
square_ tan_ tanh_ threshold_ trunc_ xlogy_ zero_
""".split())


def _tensor(v, op_name, arg, position=1):
    if not isinstance(v, Tensor):
        raise TypeError(f"{op_name}(): argument '{arg}' (position {position}) must be Tensor, not "
                        f"{type(v).__name__}")
    return v


# ---- logical_*_ and floor_divide_ in place ----------------------------------------

def _write_values(t, op_name, values, others=()):
    """Write `values` (an array, computed already) into t, cast to t's dtype. The
    ops that come here have no derivative: as PyTorch's, the write bumps the
    version and leaves t's history as it was (no node)."""
    if values.shape != t._data.shape:
        raise RuntimeError(f"{op_name}: output with shape {list(t.shape)} doesn't match the broadcast shape "
                           f"{list(values.shape)}")
    check_inplace(t, op_name)
    for o in others:
        if o._base is not None or t._base is not None:
            check_no_partial_overlap(t, o, op_name)
    t._data[...] = values.astype(t._data.dtype, copy=False)
    t._vc[0] += 1
    return t


def _logical_in_place(op_name, logical):
    def method(self, other):
        _tensor(other, op_name, "other")
        return _write_values(self, op_name, logical(self, other)._data, (other,))
    method.__name__ = op_name
    return method


def logical_not_(self):
    return _write_values(self, "logical_not_", compare.logical_not(self)._data)


# ---- the complex helpers, real-valued ----------------------------------------------

def _self(input):
    return input


def _false(input):
    return False


def imag(input):
    raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")


class ConjPhysicalInPlace(Op):
    """x.conj_physical_() of a real x: the values stay, the write is recorded
    (ConjPhysicalBackward1, the gradient passes through), as PyTorch's."""
    _name, op_name = "ConjPhysicalBackward1", "conj_physical_"
    exact_grads = True

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g


class Angle(Op):
    """The argument of a real number: pi below 0, else 0 (NaN stays NaN). Its
    gradient is zero everywhere, as PyTorch's angle_backward for real input."""
    _name, op_name = "AngleBackward0", "angle"
    exact_grads = True

    def forward(self, x):
        out = (x < 0).astype(x.dtype) * x.dtype.type(math.pi)
        return np.where(np.isnan(x), x, out)

    def backward(self, g):
        return P.zeros_like(g)


def angle(input):
    if input._data.dtype.kind != "f":          # (integer and bool input: a float32 result)
        input = input.float()
    return Angle.apply1(input)


def hardshrink(input, lambd=0.5):
    from ..nn.functional_activations import hardshrink as shrink
    return shrink(input, lambd)


# ---- constructors: new, new_empty_strided ------------------------------------------

def new(self, *args, device=None, size=None):
    """The legacy constructor, in self's dtype and on its device (or `device`):
    new() is empty, new(2, 3) uninitialized (new_empty) of that size, new(data)
    a copy of the sequence, new(tensor) an alias of a tensor of the same dtype
    and device (a view). (A tuple is data, as PyTorch's for any sequence but torch.Size:
    ag has no Size, so x.new(y.shape) is data here.)"""
    try:
        return _new(self, args, device, size)
    except (RuntimeError, TypeError) as e:
        if "new(" in str(e):
            raise
        raise type(e)(f"new(): {e}") from None


def _new(self, args, device, size):
    from .. import creation
    dev = self.device if device is None else device
    if size is not None:
        if args:
            raise TypeError("new(): got both positional arguments and 'size'")
        return creation.new_empty(self, size, device=dev)
    if not args:
        return creation.new_empty(self, 0, device=dev)
    if all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
        return creation.new_empty(self, *args, device=dev)
    if len(args) > 1:
        raise TypeError(f"new(): expected sizes (ints) or one data argument, got "
                        f"({', '.join(type(a).__name__ for a in args)})")
    data = args[0]
    if isinstance(data, Tensor):
        if data.dtype != self.dtype or data._backend is not backend_for(dev):
            raise TypeError(f"new(): expected a tensor of dtype {self.dtype} on {dev} (got dtype {data.dtype} "
                            f"on {data.device})")
        return data[...]                        # (an alias: a view with AliasBackward0, as PyTorch's)
    if isinstance(data, str):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    if not isinstance(data, (list, tuple, np.ndarray)):
        raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
    return creation.tensor(data, dtype=self.dtype, device=dev)


def _int_tuple(v, op_name, arg):
    """An int or a sequence of ints (negative ones too), as a tuple."""
    items = tuple(v) if isinstance(v, (tuple, list)) else (v,)
    for s in items:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"{op_name}(): argument '{arg}' must be tuple of ints, but found element of type "
                            f"{type(s).__name__}")
    return tuple(int(s) for s in items)


def new_empty_strided(self, size, stride, *, dtype=None, device=None, requires_grad=False, layout=None,
                      pin_memory=False):
    """An uninitialized (zeros here) tensor with the given sizes and strides (in
    elements), over a buffer just large enough for them, as PyTorch's."""
    from .. import creation, _dtype
    sizes = creation._size(_int_tuple(size, "new_empty_strided", "size"), "new_empty_strided")
    strides = _int_tuple(stride, "new_empty_strided", "stride")
    if len(strides) != len(sizes):
        raise RuntimeError(f"new_empty_strided: dimensionality of sizes ({len(sizes)}) must match "
                           f"dimensionality of strides ({len(strides)})")
    if any(s < 0 for s in strides):
        raise RuntimeError(f"new_empty_strided: Storage size calculation overflowed with sizes={list(sizes)} "
                           f"and strides={list(strides)}")
    dt = _dtype.as_dtype(dtype, "new_empty_strided") or self.dtype
    bk = backend_for(self.device if device is None else device)
    extent = 0 if 0 in sizes else 1 + sum((n - 1) * s for n, s in zip(sizes, strides))
    buf = creation._alloc("new_empty_strided", (extent,), lambda: bk.xp.zeros(extent, dt.np))
    data = bk.xp.lib.stride_tricks.as_strided(buf, sizes, tuple(s * buf.itemsize for s in strides))
    out = Tensor._make(data, bk)
    return out.requires_grad_(requires_grad) if requires_grad else out


# ---- resize_, resize_as_ ------------------------------------------------------------

def resize_(self, *sizes, memory_format=None):
    """Give self a new shape, keeping its first elements in memory order (a
    shrunk contiguous tensor keeps sharing memory; a grown one gets new memory
    whose tail is uninitialized: zeros here). As PyTorch's: the same shape is
    a no-op, and a tensor that requires grad cannot be resized."""
    from .. import creation
    if not sizes:
        raise TypeError("resize_() missing 1 required positional argument: \"size\"")
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"resize_(): argument 'size' (position 1) must be tuple of ints, not "
                            f"{type(s).__name__}")
    new_shape = creation._size(sizes, "resize_")
    if self._rg:
        raise RuntimeError("resize_: cannot resize variables that require grad")
    if new_shape == self.shape:
        return self
    check_inplace(self, "resize_")
    n, d = math.prod(new_shape), self._data
    flat = d.ravel(order="K")                   # (memory order: a transposed tensor's storage order)
    if n <= flat.size:
        data = flat[:n].reshape(new_shape)
    else:
        bk = self._backend
        data = creation._alloc("resize_", new_shape, lambda: bk.xp.zeros(n, d.dtype))
        data[:flat.size] = flat
        data = data.reshape(new_shape)
    self._data = data
    self._vc[0] += 1
    return self


def resize_as_(self, the_template, memory_format=None):
    _tensor(the_template, "resize_as_", "the_template")
    if self._rg:
        raise RuntimeError("resize_as_: cannot resize variables that require grad")
    return resize_(self, the_template.shape)


# ---- apply_, map_, map2_: a Python function per element (CPU only) -------------------

def _element_loop(op_name, self, others, fn):
    """fn over the elements of self and the others (broadcast to self's shape),
    written into self. As PyTorch's: CPU tensors only, none requiring grad, the
    others of self's dtype; the write does not bump the version."""
    for t in (self,) + others:
        if t._backend.is_cuda:
            raise TypeError(f"{op_name} is only implemented on CPU tensors")
        if t._rg:
            raise RuntimeError(f"Can't call {op_name}() on Variable that requires grad. Use "
                               f"var.detach().{op_name}() instead.")
    if not callable(fn):
        raise TypeError(f"{op_name}(): argument 'callable' must be callable, not {type(fn).__name__}")
    names = ("'other'",) if op_name == "map_" else ("argument 'x'", "argument 'y'")
    for name, o in zip(names, others):
        if o._data.dtype != self._data.dtype:
            raise TypeError(f"{op_name}: expected torch.{self.dtype.libtorch}Tensor for {name} (got "
                            f"torch.{o.dtype.libtorch}Tensor)")
        if not broadcastable(o.shape, self.shape) or np.broadcast_shapes(o.shape, self.shape) != self.shape:
            raise RuntimeError(f"{op_name}: {name} of shape {list(o.shape)} does not broadcast to self's shape "
                               f"{list(self.shape)}")
    check_inplace(self, op_name)
    columns = [self._data.ravel().tolist()] + [o.expand(self.shape)._data.ravel().tolist() for o in others]
    values = []
    for args in zip(*columns):
        v = fn(*args)
        if not isinstance(v, numbers.Real):
            raise TypeError(f"{op_name}: must be real number, not {type(v).__name__}")
        values.append(v)
    try:
        out = np.array(values, dtype=object).astype(self._data.dtype).reshape(self.shape)
    except (OverflowError, ValueError, TypeError) as e:
        raise RuntimeError(f"{op_name}: a value cannot be converted to type {self.dtype.libtorch} without "
                           f"overflow ({e})") from None
    self._data[...] = out
    return self


def apply_(self, callable):
    return _element_loop("apply_", self, (), callable)


def map_(self, tensor, callable):
    return _element_loop("map_", self, (_tensor(tensor, "map_", "other"),), callable)


def map2_(self, x, y, callable):
    return _element_loop("map2_", self, (_tensor(x, "map2_", "x"), _tensor(y, "map2_", "y", 2)), callable)


# ---- memory queries ---------------------------------------------------------------------

class layout:
    """A tensor's memory layout: `ag.strided` is the one there is (dense arrays)."""

    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return f"torch.{self._name}"


strided = layout("strided")


def is_shared(self):
    """CUDA tensors: True (PyTorch's: always shared). CPU tensors: False, as
    share_memory_ does not move them into shared memory here."""
    return self._backend.is_cuda


def share_memory_(self):
    """Returns self. The data stays where it is: NumPy and CuPy arrays are not
    moved into shared memory (a forked process sees a copy-on-write copy)."""
    return self


def pin_memory(self, device=None):
    """A copy (PyTorch's pinned copy): the memory is ordinary, not page-locked."""
    if self._backend.is_cuda:
        raise RuntimeError(f"pin_memory: cannot pin '{self.type()}' only dense CPU tensors can be pinned")
    return self.clone()


def dim_order(self, *, ambiguity_check=False):
    """The dims from outermost to innermost in memory (PyTorch's order for ties:
    stride 0 and size-1 dims as compute_elementwise_output_logical_to_physical_perm
    places them); ambiguity_check=True refuses a tensor with more than one."""
    if isinstance(ambiguity_check, list) and ambiguity_check:
        raise TypeError("dim_order(): ambiguity_check as a list of memory formats is not supported (ag has only "
                        "the strided layout)")
    if type(ambiguity_check) is not bool and not isinstance(ambiguity_check, list):
        raise TypeError("dim_order(): The ambiguity_check argument must be a bool or a list of memory formats.")
    check = ambiguity_check is not False        # (an empty list: the check alone, as PyTorch's)
    sizes, strides = self.shape, self.stride()
    if check and (1 in sizes or any(a == b for a, b in zip(strides, strides[1:]))):
        raise RuntimeError("dim_order: The tensor does not have unique dim order, or cannot map to exact one of "
                           "the given memory formats.")
    ndim = len(sizes)
    if ndim < 2:
        return tuple(range(ndim))
    contiguous, channels_last = self.is_contiguous(), _channels_last(sizes, strides)
    if contiguous != channels_last:
        return tuple(range(ndim)) if contiguous else (0, *range(2, ndim), 1)
    perm = list(reversed(range(ndim)))          # (sorted back to front, insertion sort with ties)
    for i in range(1, ndim):
        j = i
        for k in reversed(range(i)):
            c = _should_swap(sizes, strides, perm[k], perm[j])
            if c > 0:
                perm[k], perm[j] = perm[j], perm[k]
                j = k
            elif c < 0:
                break
    if ambiguity_check is True and any(_should_swap(sizes, strides, a, b) != -1 for a, b in zip(perm, perm[1:])):
        raise RuntimeError("dim_order: The tensor does not have unique dim order.")
    return tuple(reversed(perm))


def _should_swap(sizes, strides, a, b):
    def ge(x, y):
        return y == 0 or (x != 0 and (x >= y or x % y == 0))
    sa, sb = strides[a], strides[b]
    if sa == 0 or sb == 0:
        return 0
    if sa == sb:
        return 0 if ge(sizes[b], sizes[a]) else 1
    return -1 if ge(sb, sa) else 1


def _channels_last(sizes, strides):
    if len(sizes) != 4:
        return False
    expected = 1
    for d in (1, 3, 2, 0):
        if sizes[d] != 1:
            if strides[d] != expected:
                return False
            expected *= sizes[d]
    return True


# ---- unsafe_chunk, unsafe_split, unsafe_split_with_sizes ----------------------------------

class UnsafeSplitWithSizes(shape_ops.Split):
    """split's pieces, sharing input's memory but not tracked as views (so they
    may be written in place with a graph, and the input does not see the write
    in its version), as PyTorch's unsafe_split."""
    _name, op_name = "UnsafeSplitWithSizesBackward0", "unsafe_split_with_sizes"
    is_view = False


class UnsafeSplit(UnsafeSplitWithSizes):
    _name, op_name = "UnsafeSplitBackward0", "unsafe_split"


def _unsafe(op, input, pieces, dim):
    """The pieces `pieces` (split's or chunk's, made without a graph: their sizes), as op's outputs."""
    axis = wrap_dim(dim, input.ndim, op.op_name)
    return op.apply1(input, tuple(p.shape[axis] for p in pieces), axis)


def unsafe_split(input, split_size, dim=0):
    if isinstance(split_size, (list, tuple)):
        raise TypeError(f"unsafe_split(): argument 'split_size' (position 1) must be int, not "
                        f"{type(split_size).__name__}")
    return _unsafe(UnsafeSplit, input, shape_ops.split(input.detach(), split_size, dim), dim)


def unsafe_split_with_sizes(input, split_sizes, dim=0):
    if not isinstance(split_sizes, (list, tuple)):
        raise TypeError(f"unsafe_split_with_sizes(): argument 'split_sizes' (position 1) must be tuple of ints, "
                        f"not {type(split_sizes).__name__}")
    return _unsafe(UnsafeSplitWithSizes, input, shape_ops.split(input.detach(), split_sizes, dim), dim)


def unsafe_chunk(input, chunks, dim=0):
    return _unsafe(UnsafeSplit, input, shape_ops.chunk(input.detach(), chunks, dim), dim)


# ---- torch.fill ---------------------------------------------------------------------------

class Fill(Op):
    """torch.fill(x, number): x's shape and dtype, all the number; x gets a zero gradient."""
    _name, op_name = "FillBackward0", "fill"
    exact_grads = True

    def forward(self, x, value):
        return np.full_like(x, value)

    def backward(self, g):
        return P.zeros_like(g)


class FillFrom(Op):
    """torch.fill(x, value) with a 0-d tensor value (cast to x's dtype): its
    gradient is the sum of the output's."""
    _name, op_name = "FillBackward1", "fill"

    def forward(self, x, value):
        return np.broadcast_to(value, x.shape).copy()

    def backward(self, g):
        return (P.zeros_like(g) if self.needs(0) else None), g      # (the engine sums g to value's shape)


def fill(input, value):
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"fill: fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value.ndim} dimensions.")
        if value.requires_grad and grad_state.enabled and not input.is_floating_point():
            raise RuntimeError(f"fill: Autograd not support dtype: {input.dtype.libtorch}")
        return FillFrom.apply2(input, value.to(device=input.device, dtype=input.dtype))
    return Fill.apply1(input, check_fits(number(value, "fill", "value"), input._data.dtype, "fill"))


# ---- the tables -------------------------------------------------------------------------

METHODS = {
    "logical_and_": _logical_in_place("logical_and_", compare.logical_and),
    "logical_or_": _logical_in_place("logical_or_", compare.logical_or),
    "logical_xor_": _logical_in_place("logical_xor_", compare.logical_xor),
    "logical_not_": logical_not_,
    "floor_divide_": inplace._run_as("floor_divide_", arith.floor_divide),
    "conj": _self, "conj_physical": _self, "resolve_conj": _self, "resolve_neg": _self,
    "conj_physical_": inplace._run_as("conj_physical_", ConjPhysicalInPlace.apply1),
    "is_conj": _false, "is_neg": _false, "is_complex": _false, "is_inference": _false, "is_pinned": _false,
    "real": property(_self), "imag": property(imag), "angle": angle, "hardshrink": hardshrink,
    "new": new, "new_empty_strided": new_empty_strided, "resize_": resize_, "resize_as_": resize_as_,
    "apply_": apply_, "map_": map_, "map2_": map2_,
    "is_shared": is_shared, "share_memory_": share_memory_, "pin_memory": pin_memory,
    "output_nr": property(lambda self: self._output_nr), "layout": property(lambda self: strided),
    "dim_order": dim_order,
    "unsafe_chunk": unsafe_chunk, "unsafe_split": unsafe_split, "unsafe_split_with_sizes": unsafe_split_with_sizes,
}
INPLACE = {}

# torch's functions of the methods above (torch.real, torch.angle, ...: real, imag and the
# predicates are functions there, properties or methods on the Tensor; ag.is_complex and
# ag.hardshrink are functional_aliases')
_OWN_FUNCTIONS = {name: tensor_function(name, fn) for name, fn in (
    ("conj", _self), ("conj_physical", _self), ("resolve_conj", _self), ("resolve_neg", _self),
    ("is_conj", _false), ("is_neg", _false), ("is_inference", _false),
    ("real", _self), ("imag", imag), ("angle", angle),
    ("unsafe_chunk", unsafe_chunk), ("unsafe_split", unsafe_split),
    ("unsafe_split_with_sizes", unsafe_split_with_sizes), ("fill", fill), ("masked_fill", pointwise.masked_fill))}
_OWN_FUNCTIONS["strided"] = strided


def _functions():
    """ag.<name>(x, *args) for the names of TORCH_INPLACE_FUNCTIONS that are Tensor
    methods: x.<name>(*args) (which returns x); and _OWN_FUNCTIONS. Read once the
    methods are all listed (methods.METHODS, complete when ag imports FUNCTIONS);
    a name another family exports itself is left to it."""
    from .methods import METHODS as ALL, SELF_LISTING
    theirs = {name for family in SELF_LISTING if family.__name__ != __name__ for name in family.FUNCTIONS}
    out = {}
    for name in TORCH_INPLACE_FUNCTIONS:
        method = ALL.get(name, Tensor.__dict__.get(name))
        if callable(method):
            out[name] = tensor_function(name, method)
    out.update(_OWN_FUNCTIONS)
    return {name: fn for name, fn in out.items() if name not in theirs}


def __getattr__(name):
    # FUNCTIONS is built on first use (PEP 562): the in-place functions follow the
    # Tensor methods, which the other families list after this module is imported
    if name == "FUNCTIONS":
        from . import methods
        if not hasattr(methods, "install"):
            raise AttributeError("inplace_functions.FUNCTIONS: read before ops/methods.py listed the methods")
        functions = globals()["FUNCTIONS"] = _functions()
        return functions
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
