"""The GPU implementations of the primitives of `ops/prims.py`.

`get(name)` returns a callable with the signature of the primitive's NumPy twin
(array operands first, then Python scalars / axis / None), or None where the
twin itself serves (its np.* calls then run on CuPy). The callables run our
kernels (`kernels/*.cuh`, sources from `kernel_source.py`):

* pointwise primitives and fused backward steps: over contiguous operands of
  one shape (the common case), a `cupy.RawModule` kernel per primitive, dtype and
  argument form that moves a 16-byte pack per step (kernels/vector.cuh);
  otherwise (broadcasting, strided or offset operands) one
  `cupy.ElementwiseKernel` per primitive and dtype;
* reductions, softmax and log_softmax (forward and backward): one
  `cupy.RawModule` per dtype.

Kernels exist for float16, float32 and float64 (any/all also for bool); other
dtypes, mixed dtypes and zero-size reductions fall back to the twin. Python
scalars are cast to the array's dtype before a launch, so float32 stays float32
(NumPy's weak scalars); a NumPy scalar of another dtype is strong in NumPy and
promotes, so it also goes to the twin.

Pointwise results are laid out as PyTorch lays them out (its TensorIterator),
not in CuPy's C order: `x.t().exp()` is transposed, as on the CPU (see
`_result_layout`).

Each kernel is compiled once per dtype (and, for ElementwiseKernel, per
argument layout: ndim, contiguity, scalar vs array) on first use. CuPy keeps
the compiled binaries on disk, in $CUPY_CACHE_DIR (default
~/.cupy/kernel_cache), keyed by the full source, so later processes load them
without compiling; `warmup()` compiles everything ahead of time.
"""
import functools
import math
import os
import sys

import numpy as np

from . import kernel_source as ks

# every kernel: (primitive, dtype, "elementwise" | "reduction")
KERNELS = ks.all_kernels()

_SUPPORTED = {np.dtype(d) for d in ks.DTYPES}
_BOOL = np.dtype(bool)
_impls = {}


def get(name):
    """The GPU callable of primitive `name`, or None (the twin serves)."""
    try:
        return _impls[name]
    except KeyError:
        pass
    if name == "pow":
        impl = Pow(_twin(name))
    elif name in ks.POINTWISE:
        impl = Pointwise(ks.POINTWISE[name], _twin(name), _ADAPT.get(name))
    elif name in ks.REDUCTIONS:
        impl = Reduction(name, _twin(name))
    elif name in ks.ROWWISE:
        impl = Rowwise(name, _twin(name))
    else:
        impl = None
    _impls[name] = impl
    return impl


def _twin(name):
    from ..ops import prims
    return getattr(prims, ks.KERNEL_OF.get(name, name)).twin


def _cupy():
    import cupy
    return cupy


def _run_on(dev_id, fn, *args):
    """Run fn(*args) with `dev_id` as CuPy's current device."""
    cupy = _cupy()
    if dev_id == cupy.cuda.runtime.getDevice():
        return fn(*args)
    with cupy.cuda.Device(dev_id):
        return fn(*args)


# --- pointwise --------------------------------------------------------------------

def _inf_bounds(*args):
    # clamp / clamp_bwd: a bound of None is -inf / +inf (the twins' None cases
    # give the same results for every x, NaN included)
    *head, lo, hi = args
    if lo is None and hi is None:
        return None
    return (*head, -math.inf if lo is None else lo, math.inf if hi is None else hi)


def _pow_bwd(g, x, e):
    # e - 1 in Python arithmetic, then cast like the twin's pow(x, e - 1)
    return (g, x, e, e - 1)


_ADAPT = {"clamp": _inf_bounds, "clamp_bwd": _inf_bounds, "pow_bwd": _pow_bwd}
_PY_SCALARS = (bool, int, float)


# the pack kernels' launch: threads per block, most blocks (the kernel loops over the rest)
_VEC_BLOCK, _VEC_GRID_MAX = 256, 1 << 16
_VEC_SPAN = {dt: _VEC_BLOCK * (16 // dt.itemsize) for dt in _SUPPORTED}    # elements per block: one pack a thread
# their scalar arguments travel in the math type (half is computed in float)
_MATH_SCALAR = {np.dtype(np.float16): np.float32, np.dtype(np.float32): np.float32,
                np.dtype(np.float64): np.float64}


# a + b and a * b are b + a and b * a bit for bit (IEEE 754), so a pack kernel may swap them
_COMMUTING = frozenset({"add", "mul"})


class Pointwise:
    """A pointwise primitive: twin's arguments -> one kernel launch (a pack
    kernel over contiguous operands of one shape, else an ElementwiseKernel)."""

    def __init__(self, spec, twin, adapt=None):
        self.spec, self.twin, self.adapt = spec, twin, adapt
        self.kinds = tuple(p.kind for p in spec.params)
        # select_bwd's count may be an integer array (the tie counts)
        self.cast_arrays = tuple(p.name == "count" for p in spec.params)
        self.kernels = {}                    # numpy dtype -> ElementwiseKernel
        self.forms = frozenset(ks.pack_forms(spec))     # "aa", "as", "a1", ...
        self.out_bool = spec.out == "bool"
        self.commutes = spec.name in _COMMUTING          # (a one-element first operand goes second)
        self.pack_kernels = {}               # (device, numpy dtype, form string) -> RawModule function
        self.__name__ = spec.name
        cupy = _cupy()                       # (impls are made per CuPy module: the tests swap in an emulator)
        self.ndarray, self.get_device = cupy.ndarray, cupy.cuda.runtime.getDevice

    def kernel(self, dtype):
        k = self.kernels.get(dtype)
        if k is None:
            d = ks.elementwise_definition(self.spec.name, dtype.name)
            k = self.kernels[dtype] = _cupy().ElementwiseKernel(
                d.in_params, d.out_params, d.operation, d.name, preamble=d.preamble, options=d.options)
        return k

    def __call__(self, *args):
        params = args if self.adapt is None else self.adapt(*args)
        if params is None:
            return _twin_in_layout(self.twin, args)
        y = self.fast(params)
        if y is not None:
            return y
        call = self.operands(params)
        if call is None:
            return _twin_in_layout(self.twin, args)
        dtype, dev, operands, strided = call
        if not strided and (dev != self.get_device() or any(
                a is not b for a, b in zip(operands, params) if type(b) is self.ndarray)):
            # on another device, or an array cast (select_bwd's counts): the pack kernel may take them now
            y = _run_on(dev, self.fast, operands)
            if y is not None:
                return y
        if strided:                      # a non-C-contiguous operand: maybe not C order
            layout = _result_layout([p for p in operands if isinstance(p, _cupy().ndarray)])
            if layout is not None:
                # the kernel runs over every operand seen in the result's memory order:
                # its output is C-contiguous there, and transposes back to PyTorch's layout
                order, back, ndim = layout
                operands = [_in_order(p, order, ndim) for p in operands]
                return _run_on(dev, self.kernel(dtype), *operands).transpose(back)
        return _run_on(dev, self.kernel(dtype), *operands)

    def fast(self, args):
        """The pack kernel's result, or None (then an ElementwiseKernel runs).
        Array operands: C-contiguous and 16-byte aligned (form "a"), or, for an
        array-or-scalar parameter, a row of the result's last dimension, a
        multiple of the pack width long (form "r", a bias), or one element: an
        array of one, or a view repeating one (form "1", sum's expanded
        gradient; add and mul take it second, a backward takes it as its
        incoming gradient, first, as a view), all of the primitive's dtype
        (bool where the kernel takes bool) on the current device; numbers or
        NumPy scalars of the dtype for scalars. One pass: on the H200 a launch
        through operands() then this cost 29 us of host time against a bare
        launch's 11, more than the GPU's time for 10M floats."""
        nd = self.ndarray
        shape = dtype = dev = None
        form = ""
        for p, kind in zip(args, self.kinds):
            if type(p) is nd:
                if p._c_contiguous and not p.data.ptr & 15:
                    f = "a"
                elif p.size == 1 or p.size and not any(p.strides):     # one element (its address
                    f = "1"                                           # needs no alignment)
                else:
                    return None
                if shape is None:
                    shape, dev, n = p.shape, p.data.device_id, p.size     # (n: the result's size)
                elif p.data.device_id != dev:
                    return None
                elif p.shape != shape:
                    if p.ndim > len(shape):
                        return None
                    if (f == "a" and p.ndim and p.size == shape[-1] == p.shape[-1]
                            and not p.size % (16 // p.itemsize)):
                        f = "r"              # a row of the last dimension (a bias), in whole packs
                    elif p.size == 1:
                        f = "1"              # an array of one element
                    else:
                        return None
                if kind == "T":
                    if dtype is None:
                        dtype = p.dtype
                    elif p.dtype != dtype:
                        return None
                elif p.dtype != _BOOL:
                    return None
                form += f
            elif kind == "T" and (type(p) in _PY_SCALARS or isinstance(p, np.generic)):
                form += "s"                  # (a NumPy scalar must be of the dtype: checked below)
            else:
                return None
        if form not in self.forms:
            if not (form == "1a" and self.commutes):
                return None
            form, args = "a1", args[::-1]                    # (sum's gradient times b: b times it)
        if dtype not in _SUPPORTED or dev != self.get_device() or not n:     # (no array: dtype None)
            return None
        if "s" in form or "r" in form:
            to_math, kargs = _MATH_SCALAR[dtype], []
            for p, f in zip(args, form):
                if f == "s":
                    if isinstance(p, np.generic) and p.dtype != dtype:
                        return None          # a strong NumPy scalar: the twin's promotion
                    p = to_math(dtype.type(p))   # (a number rounded to the dtype, then the math type)
                kargs.append(p)
                if f == "r":
                    kargs.append(np.int64(p.size))
            args = kargs
        f = self.pack_kernels.get((dev, dtype, form))
        if f is None:
            f = self.pack_kernel(dtype, form)
        out = nd(shape, _BOOL if self.out_bool else dtype)
        f((min(-(-n // _VEC_SPAN[dtype]), _VEC_GRID_MAX),), (_VEC_BLOCK,), (*args, out, np.int64(n)))
        return out

    def pack_kernel(self, dtype, form):
        cupy = _cupy()
        key = (cupy.cuda.runtime.getDevice(), dtype, form)
        f = self.pack_kernels.get(key)
        if f is None:
            name, dt = self.spec.name, dtype.name
            mod = cupy.RawModule(code=ks.vector_kernel_source(name, dt, form), options=ks.OPTIONS)
            f = self.pack_kernels[key] = mod.get_function(ks.vector_kernel_name(name, dt, form))
        return f

    def operands(self, params):
        """(dtype, device id, kernel arguments, whether an operand of 2 or more
        dimensions is not C-contiguous), or None when the twin must run."""
        cupy = _cupy()
        nd = cupy.ndarray
        dtype = dev = None
        for p, kind in zip(params, self.kinds):
            if kind == "T" and isinstance(p, nd):
                dtype, dev = p.dtype, p.data.device_id
                break
        if dtype not in _SUPPORTED:
            return None
        out = []
        strided = False
        for p, kind, cast in zip(params, self.kinds, self.cast_arrays):
            want = dtype if kind == "T" else _BOOL
            if isinstance(p, nd):
                if p.dtype != want:
                    if not cast:
                        return None
                    p = p.astype(want)
                if p.data.device_id != dev:
                    return None          # the twin raises CuPy's device error
                if p.ndim > 1 and not p.flags.c_contiguous:
                    strided = True
            elif type(p) in _PY_SCALARS:
                if kind == "bool" and type(p) is not bool:
                    return None
                p = want.type(p)
            elif isinstance(p, np.generic) and p.dtype == want:
                pass
            else:
                return None              # strong NumPy scalar, host array, None, ...
            out.append(p)
        return dtype, dev, out, strided


# --- the layout of a pointwise result ---------------------------------------------

def _result_layout(arrays):
    """How PyTorch lays out an elementwise result of `arrays` (CuPy arrays,
    broadcast together): None for C order, else (order, back, ndim): the
    result's axes from the outermost in memory to the innermost, the transpose
    that undoes that order, and the result's number of dimensions.

    This is TensorIterator::reorder_dimensions: the axes are insertion-sorted,
    innermost first, by the strides of the first operand that tells two axes
    apart (a broadcast axis, stride 0, tells nothing; equal strides put the
    shorter axis inside), so the result follows its first operand's layout:
    x.t().exp() and x.t() + y are transposed, y + x.t() is not; an expanded
    or sliced operand gives a dense result. (CuPy's order="K", which
    empty_like uses, would lay out expand((1, n) -> (m, n)) in F order.)"""
    shape = arrays[0].shape
    if any(a.shape != shape for a in arrays):
        shape = _broadcast_shape(arrays)
    n = len(shape)
    if n < 2:
        return None
    strides = []                # each operand's strides along the result's axes
    for a in arrays:
        k = a.ndim
        if k < 2:               # one axis at most, against a broadcast one: tells nothing
            continue
        st = [0] * (n - k)
        for size, s, full in zip(a.shape, a.strides, shape[n - k:]):
            st.append(0 if size != full else s)
        strides.append(st)

    def should_swap(d0, d1):
        for st in strides:
            s0, s1 = st[d0], st[d1]
            if s0 == 0 or s1 == 0:
                continue
            if s0 < s1:
                return -1
            if s0 > s1:
                return 1
            if shape[d0] > shape[d1]:
                return 1
        return 0

    perm = list(range(n - 1, -1, -1))            # innermost first
    for i in range(1, n):
        d1 = i
        for d0 in range(i - 1, -1, -1):
            c = should_swap(perm[d0], perm[d1])
            if c > 0:
                perm[d0], perm[d1] = perm[d1], perm[d0]
                d1 = d0
            elif c < 0:
                break
    order = perm[::-1]
    if order == list(range(n)):
        return None
    back = [0] * n
    for i, a in enumerate(order):
        back[a] = i
    return order, back, n


def _broadcast_shape(arrays):
    return tuple(np.broadcast_shapes(*[a.shape for a in arrays]))


def _in_order(p, order, ndim):
    """Array operand `p` with its axes in `order` (after leading axes of length
    1 up to `ndim`); scalars as they are."""
    if not isinstance(p, _cupy().ndarray):
        return p
    if p.ndim < ndim:
        p = p.reshape((1,) * (ndim - p.ndim) + p.shape)
    return p.transpose(order)


def _twin_in_layout(twin, args):
    """twin(*args) (CuPy's ufuncs, C order) copied into PyTorch's layout where
    that differs: the twins run integer, bool and mixed-dtype pointwise ops."""
    r = twin(*args)
    cupy = _cupy()
    if type(r) is not cupy.ndarray or r.ndim < 2:
        return r
    arrays = [a for a in args if isinstance(a, cupy.ndarray)]
    if all(a.ndim < 2 or a.flags.c_contiguous for a in arrays):
        return r
    layout = _result_layout(arrays)
    if layout is None or _broadcast_shape(arrays) != r.shape:
        return r
    order, back, _ = layout
    with cupy.cuda.Device(r.data.device_id):
        out = cupy.empty(tuple(r.shape[a] for a in order), dtype=r.dtype).transpose(back)
    out[...] = r
    return out


def ufunc_in_layout(fn, *args):
    """fn(*args) for a CuPy ufunc `fn` (or a NumPy one dispatching to CuPy),
    laid out as PyTorch lays out the result (`_result_layout`), not in CuPy's
    C order: the ufunc runs over the operands seen in the result's memory order
    and its C-contiguous output is transposed back, no copy. C-contiguous
    operands (the common case) call fn directly."""
    cupy = _cupy()
    arrays = [a for a in args if isinstance(a, cupy.ndarray)]
    if all(a.ndim < 2 or a.flags.c_contiguous for a in arrays):
        return fn(*args)
    try:
        layout = _result_layout(arrays)
    except ValueError:                   # shapes that do not broadcast: fn raises CuPy's error
        layout = None
    if layout is None:
        return fn(*args)
    order, back, ndim = layout
    return fn(*[_in_order(p, order, ndim) for p in args]).transpose(back)


class Pow:
    """pow(a, b): kernel "pow" for an array exponent, "pow_scalar" for a Python
    number (NumPy and PyTorch compute x ** 0.5 as sqrt(x), x ** 2 as x * x...)."""
    __name__ = "pow"

    def __init__(self, twin):
        self.array = Pointwise(ks.POINTWISE["pow"], twin)
        self.scalar = get("pow_scalar")
        self.ndarray = self.array.ndarray

    def __call__(self, a, b):
        return (self.scalar if isinstance(b, (int, float, np.generic)) else self.array)(a, b)


# --- reductions ----------------------------------------------------------------------

def _normalize_axes(axis, ndim):
    """Sorted reduced axes, or None where NumPy would reject `axis` (the twin
    then raises NumPy's error)."""
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    out = set()
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)) or not -ndim <= a < ndim:
            return None
        out.add(int(a) % ndim)
    if len(out) != len(axes):
        return None
    return tuple(sorted(out))


def _layout(x, axes, xp, splittable=False):
    """(array, outer, n, inner): the reduced elements of row (o, i) lie at
    (o * n + j) * inner + i. A C-contiguous array reduced over adjacent axes is
    used as is; otherwise the reduced axes are moved last in a contiguous copy.
    (`xp`: the array module; the host tests run this with NumPy.)"""
    shape = x.shape
    if x.flags.c_contiguous and (not axes or axes[-1] - axes[0] + 1 == len(axes)):
        k0, k1 = (axes[0], axes[-1] + 1) if axes else (x.ndim, x.ndim)
        outer, n, inner = math.prod(shape[:k0]), math.prod(shape[k0:k1]), math.prod(shape[k1:])
        # few long strided rows would leave the GPU idle: reduce a transposed copy instead,
        # unless they are the leading rows of a sum, which _split_sum splits without a copy
        if not (inner > 1 and outer * inner < 1024 and n >= 256) or (splittable and outer == 1):
            return x, outer, n, inner
    kept = [a for a in range(x.ndim) if a not in axes]
    xt = xp.ascontiguousarray(x.transpose(kept + list(axes)))
    return xt, math.prod(shape[a] for a in kept), math.prod(shape[a] for a in axes), 1


def _out_shape(shape, axes, keepdims):
    if keepdims:
        return tuple(1 if a in axes else s for a, s in enumerate(shape))
    return tuple(s for a, s in enumerate(shape) if a not in axes)


def _launch_config(rows, n, inner):
    """(grid, block, block_mode): a block per row for long adjacent rows,
    else a thread per row."""
    if inner == 1 and n > 16:
        lanes = min(256, max(32, 1 << (n - 1).bit_length()))       # a power of two
        return min(rows, 1 << 16), lanes, 1
    return min(-(-rows // 128), 1 << 16), 128, 0


class _Modules:
    """The reduction RawModule of each (device, dtype), compiled on first use."""

    def __init__(self):
        self.functions = {}
        self.modules = {}

    def function(self, name, dtype):
        cupy = _cupy()
        key = (cupy.cuda.runtime.getDevice(), name, dtype)
        f = self.functions.get(key)
        if f is None:
            mod = self.module(dtype)
            f = self.functions[key] = mod.get_function(ks.reduction_kernel_name(name, dtype))
        return f

    def module(self, dtype):
        cupy = _cupy()
        key = (cupy.cuda.runtime.getDevice(), dtype)
        mod = self.modules.get(key)
        if mod is None:
            mod = self.modules[key] = cupy.RawModule(code=ks.reduction_module_source(dtype),
                                                        options=ks.OPTIONS)
        return mod


_modules = _Modules()


def _launch(name, dtype, arrays, rows, n, inner, extra=()):
    grid, block, mode = _launch_config(rows, n, inner)
    f = _modules.function(name, dtype)
    f((grid,), (block,), tuple(arrays) + (np.int64(rows), np.int64(n), np.int64(inner), np.int32(mode))
      + tuple(extra))


class Reduction:
    """sum mean prod var amax amin argmax argmin any all logsumexp:
    (x, axis, keepdims[, correction]) -> one kernel launch, a row per output."""

    def __init__(self, name, twin):
        self.name, self.twin = name, twin
        self.out_kind = ks.REDUCTIONS[name][1]
        self.__name__ = name
        self.splits = name in ("sum", "mean")
        cupy = _cupy()                       # (as Pointwise: per CuPy module)
        self.ndarray, self.get_device = cupy.ndarray, cupy.cuda.runtime.getDevice

    def __call__(self, x, axis, keepdims, *rest):
        if (axis is None and self.splits and type(x) is self.ndarray and x._c_contiguous and x.size
                and x.dtype in _SUPPORTED and x.data.device_id == self.get_device()):
            return self.total(x, keepdims)
        cupy = _cupy()
        ok = isinstance(x, cupy.ndarray) and x.size > 0 and (
            x.dtype in _SUPPORTED or (x.dtype == _BOOL and self.name in ks.BOOL_REDUCTIONS))
        if self.out_kind == "index" and isinstance(axis, tuple):
            ok = False                                   # NumPy: an int or None
        axes = _normalize_axes(axis, x.ndim) if ok else None
        if axes is None:
            return self.twin(x, axis, keepdims, *rest)
        return _run_on(x.data.device_id, self.run, x, axes, keepdims, rest)

    def total(self, x, keepdims):
        """sum / mean of every element of a contiguous array on the current device:
        run()'s launches, without its layout work (a loss; W5's sum of 10M)."""
        n, dtype = x.size, x.dtype
        shape = (1,) * x.ndim if keepdims else ()
        if n < _SPLIT_AT:
            y = self.ndarray(shape, dtype)
            _launch(self.name, dtype.name, (x, y), 1, n, 1)
            return y
        return self.split(x, n, 1, shape, dtype)

    def split(self, xs, n, inner, shape, dtype):
        """A sum or mean over n of contiguous `xs` seen as (n, inner), split into chunks."""
        y = _split_sum(xs, n, inner, _cupy(), shape)      # (half's: float32)
        if self.name == "mean":
            y /= n
        return y if y.dtype == dtype else y.astype(dtype)

    def run(self, x, axes, keepdims, rest):
        cupy = _cupy()
        splittable = self.splits
        xs, outer, n, inner = _layout(x, axes, cupy, splittable)
        out_dtype = {"T": x.dtype, "index": np.dtype(np.int64), "bool": _BOOL}[self.out_kind]
        out_shape = _out_shape(x.shape, axes, keepdims)
        if splittable and outer == 1 and _chunk_length(n, inner):
            return self.split(xs, n, inner, out_shape, x.dtype)
        else:
            y = cupy.empty(outer * inner, dtype=out_dtype)
            extra = (np.float64(rest[0]),) if self.name == "var" else ()
            _launch(self.name, x.dtype.name, (xs, y), outer * inner, n, inner, extra)
        return y.reshape(out_shape)


# A reduction gives each output a block (inner == 1) or a thread (strided rows), so a
# sum with few outputs left an H200 idle (2026-12-04): a full sum of 10M float32 in one
# block took 3.2 ms where CuPy's takes 20 us, and W3's bias gradient (100,000 x 1,024
# summed over axis 0) ran on 1,024 threads. A sum or mean over leading axes is split
# along n into chunks, a block (contiguous) or a thread (strided) per chunk and output,
# then the partial sums are summed the same way. Each pass is one launch and one
# allocation (the chunk kernel takes a shorter last chunk): on the H200 every CuPy
# call costs the host 10-20 us, and the first version's three launches, three
# allocations, slices and reshapes made a 10M sum take 105 us against PyTorch's 20.
_SPLIT_AT, _CHUNK, _HALF = 1 << 16, 1 << 12, np.dtype(np.float16)
# strided chunks: about one thread per resident slot of a 132-SM H100/H200 (2,048 each:
# 270k; at 131k, half of them, W3's bias sum ran at 39% of the peak on the H200)
_SPLIT_THREADS, _MIN_CHUNK, _WIDE = 1 << 18, 64, 1 << 14
_PARTIAL = {np.dtype(np.float16): np.dtype(np.float32)}        # half's partial sums: float32


def _chunk_length(n, inner):
    """The chunk length splitting a sum of n rows of `inner` contiguous elements,
    or None where one launch has threads enough."""
    if inner == 1:
        return _CHUNK if n >= _SPLIT_AT else None
    if inner >= _WIDE or n < 4 * _MIN_CHUNK:
        return None
    return max(_MIN_CHUNK, -(-n * inner // _SPLIT_THREADS))     # about _SPLIT_THREADS threads


def _split_sum(xs, n, inner, cupy, shape):
    """Sums over n of contiguous `xs` seen as (n, inner), as an array of `shape`
    (inner elements): float32 where xs is half and was split."""
    c, dtype = _chunk_length(n, inner), xs.dtype
    if c is None:
        y = cupy.ndarray(shape, dtype)
        _launch("sum", dtype.name, (xs, y), inner, n, inner)
        return y
    chunks = -(-n // c)
    partial = cupy.ndarray((chunks * inner,), _PARTIAL.get(dtype, dtype))
    _launch(ks.SPLIT_SUM, dtype.name, (xs, partial), chunks * inner, c, inner, (np.int64(n),))
    return _split_sum(partial, chunks, inner, cupy, shape)


class Rowwise:
    """softmax / log_softmax (x, axis) and their backward (g, y, axis): one
    kernel launch over the rows along `axis`, output shaped like the input."""

    def __init__(self, name, twin):
        self.name, self.twin = name, twin
        self.n_in = 2 if name.endswith("_bwd") else 1
        self.__name__ = name
        self.ndarray = _cupy().ndarray

    def __call__(self, *args):
        cupy = _cupy()
        arrays, axis = args[:self.n_in], args[self.n_in]
        x = arrays[-1]
        ok = all(isinstance(a, cupy.ndarray) and a.dtype == x.dtype for a in arrays)
        ok = ok and x.dtype in _SUPPORTED and x.size > 0 and x.ndim > 0
        ok = ok and all(a.data.device_id == x.data.device_id for a in arrays)
        axes = _normalize_axes(axis, x.ndim) if ok and not isinstance(axis, tuple) else None
        if axes is None:
            return self.twin(*args)
        return _run_on(x.data.device_id, self.run, arrays, axes)

    def run(self, arrays, axes):
        cupy = _cupy()
        shape = arrays[-1].shape
        # upstream gradients may be broadcast views: the kernel wants both contiguous
        arrays = [cupy.ascontiguousarray(cupy.broadcast_to(a, shape)) for a in arrays]
        a = axes[0]
        outer, n, inner = math.prod(shape[:a]), shape[a], math.prod(shape[a + 1:])
        if inner > 1 and outer * inner < 1024 and n >= 256:
            # few long strided rows would leave the GPU idle: work on the axis moved last
            moved = [cupy.ascontiguousarray(cupy.moveaxis(v, a, -1)) for v in arrays]
            y = self.run(moved, (len(shape) - 1,))
            return cupy.ascontiguousarray(cupy.moveaxis(y, -1, a))
        y = cupy.empty(shape, dtype=arrays[-1].dtype)
        _launch(self.name, y.dtype.name, arrays + [y], outer * inner, n, inner)
        return y


# --- warmup -----------------------------------------------------------------------

def warmup(progress=True, dtypes=ks.DTYPES, file=None, workers=None):
    """Compile every kernel for every dtype in `dtypes` on the current device
    (the pack kernels of a dtype as one module, each pointwise primitive's
    ElementwiseKernel in its usual argument forms with 1-d contiguous operands;
    other layouts compile on first use). NVRTC runs without the GIL, so the
    builds run on `workers` threads (default: one per CPU core, at most 32).
    Compiled binaries land in CuPy's on-disk cache, so this pays off across
    processes. Returns the number of builds."""
    jobs = []                                       # (label, builds, fn, args), the largest first
    for dt in dtypes:
        jobs.append((f"pack kernels {dt}", len(ks.VECTOR_KERNELS), compile_pack_kernels, (dt,)))
    for dt in tuple(dtypes) + ("bool",):
        jobs.append((f"reductions {dt}", len(ks.reduction_kernels(dt)), _warm_reductions, (dt,)))
    for name, spec in ks.POINTWISE.items():
        impl = get(name)
        if isinstance(impl, Pow):
            impl = impl.array
        for dt in dtypes:
            impl.kernel(np.dtype(dt))               # (made here: no two threads make one kernel)
            for form in spec.forms:
                jobs.append((f"ag_{name}_{dt}", 1, _warm_pointwise, (impl, np.dtype(dt), form)))
    from ..optim import _fused                      # the optimizers' fused updates
    jobs.extend((label, 1, fn, ()) for label, fn in _fused.warmup_jobs(dtypes))
    file = sys.stderr if file is None else file
    width = 30

    def done(i, k):
        if progress:
            bar = "#" * (width * i // len(jobs))
            print(f"\rautograd_gpu warmup [{bar:.<{width}}] {i}/{len(jobs)} {jobs[k][0]:<28}",
                  end="" if i < len(jobs) else "\n", file=file, flush=True)

    in_parallel([functools.partial(fn, *args) for _, _, fn, args in jobs], workers, done)
    _cupy().cuda.runtime.deviceSynchronize()
    return sum(builds for _, builds, _, _ in jobs)


def in_parallel(calls, workers=None, done=None):
    """The results of zero-argument `calls`, in order, run on a pool of threads
    on the current device (kernel builds: NVRTC releases the GIL). `done(i, k)`
    is told when calls[k] has finished, the i-th to. The first error cancels
    the calls not yet started and is raised."""
    from concurrent.futures import ThreadPoolExecutor, as_completed
    cupy = _cupy()
    dev = cupy.cuda.runtime.getDevice()
    workers = max(1, min(workers or min(32, os.cpu_count() or 1), len(calls)))

    def on_device(call):
        with cupy.cuda.Device(dev):                 # (a new thread starts on device 0)
            return call()

    with ThreadPoolExecutor(workers) as pool:
        futures = {pool.submit(on_device, c): k for k, c in enumerate(calls)}
        try:
            for i, f in enumerate(as_completed(futures), 1):
                f.result()
                if done is not None:
                    done(i, futures[f])
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        return [f.result() for f in futures]


def _warm_pointwise(impl, dtype, form):
    """The ElementwiseKernel of one argument form (1-d contiguous operands)."""
    cupy = _cupy()
    args = []
    for p, f in zip(impl.spec.params, form):
        want = dtype if p.kind == "T" else _BOOL
        args.append(want.type(1) if f == "s" else cupy.ones(1, dtype=want))
    impl.kernel(dtype)(*args)


def compile_pack_kernels(dtype):
    """Every pack kernel of `dtype` built as one RawModule on the current device
    and handed to its primitive (on first use each kernel is its own module: one
    NVRTC run each, about 0.3 s on the H200's host, 28 s per dtype for all).
    Returns the number of kernels."""
    cupy, dt = _cupy(), np.dtype(dtype)
    dev = cupy.cuda.runtime.getDevice()
    mod = cupy.RawModule(code=ks.vector_module_source(dt.name), options=ks.OPTIONS)
    for name, form in ks.VECTOR_KERNELS:
        impl = get(name)
        impl = impl.array if isinstance(impl, Pow) else impl
        impl.pack_kernels[(dev, dt, form)] = mod.get_function(ks.vector_kernel_name(name, dt.name, form))
    return len(ks.VECTOR_KERNELS)


def _warm_reductions(dtype):
    """The reduction module of `dtype` and each of its kernels (one job: one
    module build, not one per kernel racing for it)."""
    prefix, suffix = "ag_", "_" + dtype
    for kname in ks.reduction_kernels(dtype):
        _modules.function(kname[len(prefix):-len(suffix)], dtype)
