"""A CuPy emulator: the library's real CuPy code path, run on the host.

`module` is a stand-in `cupy` module whose `ndarray` wraps a NumPy array
(a duck array, not a numpy.ndarray subclass, so the library's
`type(a) is np.ndarray` fast paths do not take it) and whose
ElementwiseKernel / RawModule run the host build of our kernels
(tests/test_kernels_host.py, tests/test_optim_kernels.py). tests/conftest.py
puts it in sys.modules["cupy"] for the `cuda` tests when no real CUDA device
is usable (see tests/test_cuda_backend.py's docstring).

It is meant to be exactly as permissive as CuPy 14, no more, no less. Each
rule below follows CuPy's own source (cupy/_core/core.pyx,
_routines_indexing.pyx, _kernel.pyx), and names are checked against the
installed CuPy package (`import cupy` works without a GPU):

* no implicit host conversion: `__array__` raises TypeError, as
  `np.asarray(cupy_array)` does;
* `__array_ufunc__`: the ufunc (and method: reduce, at, ...) must exist in
  cupy; a NumPy array among the operands raises TypeError (CuPy refuses the
  implicit host-to-device copy), except a 0-d one in a comparison (CuPy
  takes its .item()); NumPy and Python scalars are fine;
* `__array_function__`: only functions the cupy namespace has (looked up by
  the NumPy function's module and name, as CuPy does); NotImplemented
  otherwise, so NumPy raises TypeError; NumPy arrays among the arguments
  raise TypeError;
* the ndarray has the attributes `cupy.ndarray` has, and no others;
* reductions, ufuncs on 0-d operands and integer indexing give 0-d arrays,
  never NumPy scalars; basic indexing gives views (writable, like CuPy's);
* indexing takes lists and NumPy arrays as indices (CuPy copies them to the
  device); integer array indices wrap around (CuPy does not raise for an
  index out of bounds); `a[idx] = v` refuses a host array or a list
  (ValueError, as CuPy 14.2 on an H200) and takes numbers;
* `cupy.add.at` takes only the dtypes CuPy's scatter kernels support;
* calls are checked against CuPy's own signatures (inspect's, or the one
  Cython writes on the docstring's first line): a NumPy-only keyword
  (`initial=`, `where=`...) is a TypeError, as on CuPy;
* fresh elementwise results are C-contiguous, as CuPy allocates them
  (_kernel.pyx: ufunc and ElementwiseKernel outputs; where, clip, around,
  nan_to_num): x.T + 1 is C-contiguous, where NumPy's order="K" keeps x.T's
  layout; astype, copy(a) and the *_like functions keep it (order="K", whose
  strides CuPy computes as NumPy does: internal._get_strides_for_order_K);
* an ElementwiseKernel takes its output array after the inputs, writes the
  result there and returns it (its dtype and broadcast shape checked);
* float -> unsigned casts (astype, and a device array written into an
  unsigned one) saturate, as the GPU's cvt instruction does
  (PTX ISA, cvt: "For float-to-integer conversions, the result is clamped to
  the destination range by default"); into uint8 through a saturated uint32,
  keeping its low byte (-1.5 -> 0, 300.0 -> 44: measured on an H200), where
  NumPy gives 255 and 44;
* integer power takes negative exponents (CuPy's integral_power: 1, +-1 or 0)
  where NumPy raises; no floating-point warnings (a GPU raises none);
* type promotion is NumPy 2's (NEP 50), which CuPy 14 follows;
* sort and argsort are stable (CuPy's only kind), where NumPy's default is not;
* one device: cuda:0; entering `cupy.cuda.Device(1)` raises.

What it cannot show: device-side behaviour (the CUDA math library, -ftz,
NVRTC compilation, timing, memory pools); those tests need a real GPU.
"""
import functools
import inspect
import re
import time
import types

import numpy as np

from autograd_gpu.backend import kernel_source as ks

try:                                         # the real package, for its names only
    import cupy as _real
    if getattr(_real, "_is_emulator", False):
        _real = _real._real_cupy
except ImportError:
    _real = None


def available():
    """The emulator checks names against the installed CuPy: without it, no emulation."""
    return _real is not None


_REAL_NDARRAY_NAMES = frozenset(dir(_real.ndarray)) if _real is not None else frozenset()
_COMPARISONS = frozenset(["greater", "greater_equal", "less", "less_equal", "equal", "not_equal"])
_UNSUPPORTED_KINDS = "OSUVMm"                # CuPy has no object, string, void or datetime arrays
# cupy.add.at: its scatter kernel's atomicAdd types (_routines_indexing._scatter_op_single)
_ADD_AT_DTYPES = frozenset(np.dtype(d) for d in ("int32", "int64", "float16", "float32", "float64", "uint32",
                                                  "uint64"))     # (int64: CuPy 14.2, seen on an H200)
_SCALAR_TYPES = (bool, int, float, complex, np.generic)


class CUDARuntimeError(RuntimeError):
    pass


def _unsupported(x):
    return TypeError(f"Unsupported type {type(x)}")


def _check_dtype(dt):
    dt = np.dtype(dt)
    if dt.kind in _UNSUPPORTED_KINDS:
        raise ValueError(f"Unsupported dtype {dt}")
    return dt


_SIGNATURES = {}


def _signature(obj):
    """The call signature of a real CuPy function or method: inspect's, else
    the one Cython writes on the first line of the docstring
    ("_ndarray_base.sum(self, axis=None, dtype=None, out=None, keepdims=False)");
    None where neither says (the call is then not checked)."""
    doc = (getattr(obj, "__doc__", None) or "").strip().splitlines()[:1]
    # (bound methods are new objects at every access: keyed by what they are, not id)
    key = (getattr(obj, "__module__", None), getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None),
           tuple(doc))
    if key in _SIGNATURES:
        return _SIGNATURES[key]
    sig = None
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        m = re.match(r"^[\w.]+\((.*)\)(\s*->.*)?$", doc[0]) if doc else None
        if m:
            params = []
            for p in m.group(1).replace("\\", "").split(","):
                p = p.strip()
                name, eq, default = p.partition("=")
                if not p or p == "self":
                    continue
                if not p.startswith("*") and p != "/":
                    name = name.split()[-1]          # Cython's C types: "Py_ssize_t axis1"
                params.append(name + eq + default)
            scope = {}
            try:                                     # (a default naming something unknown: unchecked)
                exec(f"def f({', '.join(params)}): pass", {}, scope)
                sig = inspect.signature(scope["f"])
            except Exception:                        # noqa: BLE001
                sig = None
    _SIGNATURES[key] = sig
    return sig


_BOUND = set()          # (signature, number of positional arguments, keywords) found acceptable


def _check_call(real, what, args, kwargs):
    """TypeError where CuPy's function would refuse these arguments (a NumPy-only keyword...)."""
    sig = _signature(real)
    if sig is None:
        return
    # whether a call binds depends only on its shape, not on the values: checked once per shape
    shape = (id(sig), len(args), tuple(kwargs))          # (the signatures live in _SIGNATURES for good)
    if shape in _BOUND:
        return
    try:
        sig.bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{what}(): {e} (CuPy's signature: {sig})") from None
    _BOUND.add(shape)


# --- the array -------------------------------------------------------------------------------

class _MemoryPointer:
    __slots__ = ("_array", "device_id")

    def __init__(self, array, device_id=0):
        self._array, self.device_id = array, device_id

    @property
    def ptr(self):                            # (looked up only when asked: ctypes costs microseconds)
        return self._array.ctypes.data

    @property
    def device(self):
        return Device(self.device_id)


class _Flags:
    """CuPy's flags: c_contiguous, f_contiguous, owndata (no writeable: never read-only)."""
    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, a):
        self.c_contiguous = a.flags.c_contiguous
        self.f_contiguous = a.flags.f_contiguous
        self.owndata = a.base is None

    def __getitem__(self, name):
        return {"C_CONTIGUOUS": self.c_contiguous, "F_CONTIGUOUS": self.f_contiguous,
                "OWNDATA": self.owndata}[name]


def _wrap(a):
    """A NumPy result as an emulated device array (scalars become 0-d arrays)."""
    if type(a) is np.ndarray:
        obj = object.__new__(ndarray)
        obj._a = a
        return obj
    if isinstance(a, np.generic):
        obj = object.__new__(ndarray)
        obj._a = np.asarray(a)
        return obj
    if isinstance(a, np.ndarray):             # a subclass (matrix, masked...): CuPy has none
        return _wrap(np.asarray(a))
    if isinstance(a, tuple):
        return tuple(_wrap(x) for x in a)
    if isinstance(a, list):
        return [_wrap(x) for x in a]
    return a


def _dev(x):
    """An argument of a cupy function: device arrays unwrapped; host arrays refused."""
    if type(x) is ndarray:
        return x._a
    if isinstance(x, np.ndarray):
        raise _unsupported(x)
    if isinstance(x, (list, tuple)):
        return type(x)(_dev(v) for v in x)
    return x


def _index_key(key):
    """An index as CuPy takes it: device arrays, lists and NumPy arrays alike."""
    if type(key) is ndarray:
        return key._a
    if isinstance(key, tuple):
        return tuple(k._a if type(k) is ndarray else k for k in key)
    return key


def _wrap_int_indices(a, key):
    """CuPy wraps integer array indices around (no IndexError out of bounds):
    integer arrays in `key` taken modulo the size of the axis they index. An
    int out of bounds raises CuPy's IndexError (its words: "Index 5 is out of
    bounds for axis 0 with size 2", where NumPy says "index 5 ...")."""
    items = list(key) if isinstance(key, tuple) else [key]
    if any(type(k) is int for k in items):
        _check_int_indices(a, items)
    if not any(isinstance(k, (np.ndarray, list)) for k in items):
        return key
    converted, axes_used = [], 0
    for k in items:
        if isinstance(k, list):
            k = np.asarray(k)
            if k.size == 0:
                k = k.astype(np.int32)                  # an empty list: no indices, not a mask
        converted.append(k)
    shapes = [(int(k.sum()),) if k.dtype == bool else k.shape for k in converted if isinstance(k, np.ndarray)]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:      # CuPy's words and kind (seen on an H200); NumPy raises IndexError "shape mismatch"
        raise ValueError("operands could not be broadcast together with shapes"
                         + "".join(f" {s}" for s in shapes)) from None
    for k in converted:
        if k is None or k is Ellipsis:
            continue
        axes_used += k.ndim if isinstance(k, np.ndarray) and k.dtype == bool else 1
    out, axis = [], 0
    for k in converted:
        if k is Ellipsis:
            axis += a.ndim - axes_used
        elif k is None:
            pass
        elif isinstance(k, np.ndarray) and k.dtype == bool:
            axis += k.ndim
        else:
            if isinstance(k, np.ndarray) and k.dtype.kind in "iu" and axis < a.ndim and a.shape[axis] > 0:
                k = k % a.shape[axis]
            axis += 1
        out.append(k)
    return tuple(out)


def _check_int_indices(a, items):
    used = sum(0 if k is None or k is Ellipsis else
               (np.ndim(k) if isinstance(k, (np.ndarray, list)) and np.asarray(k).dtype == bool else 1)
               for k in items)
    axis = 0
    for k in items:
        if k is Ellipsis:
            axis += max(a.ndim - used, 0)
        elif k is None:
            continue
        elif type(k) is int:
            if axis < a.ndim and not -a.shape[axis] <= k < a.shape[axis]:
                raise IndexError(f"Index {k} is out of bounds for axis {axis} with size {a.shape[axis]}")
            axis += 1
        elif isinstance(k, (np.ndarray, list)) and np.asarray(k).dtype == bool:
            axis += np.ndim(k)
        else:
            axis += 1


def _binary(ufunc, reflected=False):
    def op(self, other):
        if not isinstance(other, (ndarray, np.ndarray) + _SCALAR_TYPES):
            # CuPy's _should_use_rop: defer to an operand that opts out of ufuncs
            # (__array_ufunc__ = None, as Tensor) or outranks it
            if getattr(type(other), "__array_ufunc__", 0) is None or \
                    getattr(other, "__array_priority__", 0) > ndarray.__array_priority__:
                return NotImplemented
            raise _unsupported(other)
        args = (other, self) if reflected else (self, other)
        return _call_ufunc(ufunc, "__call__", args, {})
    return op


def _inplace(ufunc):
    def op(self, other):
        if not isinstance(other, (ndarray, np.ndarray) + _SCALAR_TYPES):
            raise _unsupported(other)
        _call_ufunc(ufunc, "__call__", (self, other), {"out": (self,)})
        return self
    return op


def _stable_sort(name, args, kwargs, kind_position):
    """CuPy's sorts are stable (kind=None "is equivalent to 'stable'", its only kind)."""
    if name in ("sort", "argsort") and len(args) <= kind_position and kwargs.get("kind") is None:
        kwargs["kind"] = "stable"


def _method(name):
    real = getattr(_real.ndarray, name) if _real is not None else None

    def method(self, *args, **kwargs):
        _check_call(real, f"cupy.ndarray.{name}", args, kwargs)
        args = [_dev(a) for a in args]
        kwargs = {k: _dev(v) for k, v in kwargs.items()}
        _stable_sort(name, args, kwargs, 1)
        with np.errstate(all="ignore"):
            r = getattr(self._a, name)(*args, **kwargs)
        if name in _C_ORDER_RESULTS and kwargs.get("out") is None:
            r = _c_order(r)
        if name == "diagonal" and self._a.flags.writeable:
            r.flags.writeable = True        # (NumPy's diagonal is read-only; CuPy has no read-only arrays)
        return self if r is self._a else _wrap(r)       # (CuPy too returns the array itself)
    method.__name__ = name
    return method


class ndarray:
    """cupy.ndarray on the host: a NumPy array `_a` that the rules above guard."""
    __slots__ = ("_a", "__weakref__")
    __array_priority__ = 100
    __hash__ = None

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        if memptr is not None or strides is not None:
            raise NotImplementedError("the emulator allocates its own memory")
        self._a = np.empty(shape, dtype=_check_dtype(dtype), order=order)

    # --- attributes -----------------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: _Flags(self._a))
    _c_contiguous = property(lambda self: self._a.flags.c_contiguous)     # (CuPy's readonly C attribute)
    T = property(lambda self: self if self._a.ndim < 2 else _wrap(self._a.T))     # (CuPy: itself below 2-d)
    mT = property(lambda self: _wrap(self._a.mT))
    real = property(lambda self: _wrap(self._a.real))
    imag = property(lambda self: _wrap(self._a.imag))
    base = property(lambda self: None if self._a.base is None or type(self._a.base) is not np.ndarray
                    else _wrap(self._a.base))
    data = property(lambda self: _MemoryPointer(self._a, 0))
    device = property(lambda self: Device(0))

    @property
    def __cuda_array_interface__(self):
        a = self._a
        return {"shape": a.shape, "typestr": a.dtype.str, "descr": a.dtype.descr, "stream": 1,
                "version": 3, "strides": None if a.flags.c_contiguous else a.strides,
                "data": (a.ctypes.data if a.size else 0, False)}

    def __dlpack__(self, stream=None, **kwargs):
        # the capsule itself says kDLCPU: only a consumer on the same host can take it
        return self._a.__dlpack__()

    def __dlpack_device__(self):
        return (2, 0)                         # kDLCUDA, device 0

    # --- conversions ----------------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def get(self, stream=None, order="C", out=None, blocking=True):
        if out is not None:
            if not isinstance(out, np.ndarray):
                raise TypeError("Only numpy.ndarray can be obtained from cupy.ndarray")
            out[...] = self._a
            return out
        return np.array(self._a, order=order, copy=True)

    def set(self, arr, stream=None):
        if not isinstance(arr, np.ndarray):
            raise TypeError("Only numpy.ndarray can be set to cupy.ndarray")
        if arr.dtype != self.dtype or arr.shape != self.shape:
            raise TypeError(f"{arr.dtype} {arr.shape} array cannot be set to {self.dtype} {self.shape} array")
        self._a[...] = arr

    def item(self):
        return self._a.item()

    def tolist(self):
        return self._a.tolist()

    def tobytes(self, order="C"):
        return self._a.tobytes(order)

    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        r = _astype(self._a, _check_dtype(dtype), order, copy)
        return self if r is self._a else _wrap(r)

    def view(self, *args, **kwargs):
        return _wrap(self._a.view(*args, **kwargs))

    def copy(self, order="C"):
        return _wrap(self._a.copy(order=order))

    def fill(self, value):
        if isinstance(value, np.ndarray):
            raise _unsupported(value)
        self._a.fill(value._a if type(value) is ndarray else value)

    def __int__(self):
        return int(self._a)

    def __float__(self):
        return float(self._a)

    def __complex__(self):
        return complex(self._a)

    def __bool__(self):
        return bool(self._a)

    def __repr__(self):
        return repr(self._a)

    def __str__(self):
        return str(self._a)

    def __format__(self, spec):
        return format(self._a, spec)

    def __reduce__(self):
        return array, (self.get(),)

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    # --- container ------------------------------------------------------------------------
    def __len__(self):
        if self._a.ndim == 0:
            raise TypeError("len() of unsized object")
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self._a)))

    def __getitem__(self, key):
        key = _wrap_int_indices(self._a, _index_key(key))
        if not isinstance(key, tuple):
            key = (key,)
        if not any(k is Ellipsis for k in key):
            key = key + (Ellipsis,)          # as CuPy: an integer index gives a 0-d view, not a scalar
        return _wrap(self._a[key])

    def __setitem__(self, key, value):
        key = _wrap_int_indices(self._a, _index_key(key))
        if isinstance(value, (np.ndarray, list, tuple)):
            # CuPy 14.2 on an H200 (2026-12-04): a host array or a list as the value raises ValueError
            raise ValueError(f"setting a cupy.ndarray with a host {type(value).__name__} is not supported "
                             "(emulated: CuPy 14 raises ValueError)")
        if type(value) is ndarray:
            value = value._a
            if value.dtype.kind == "f" and self._a.dtype.kind == "u":
                value = _astype(value, self._a.dtype)      # the device's cast: saturating
        self._a[key] = value

    # --- NumPy's protocols ----------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _call_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        module = _real
        try:
            for part in func.__module__.split(".")[1:]:
                module = getattr(module, part)
            real_func = getattr(module, func.__name__)
        except AttributeError:
            return NotImplemented
        if real_func is func:                 # cupy re-exports NumPy's own function: not handled
            return NotImplemented
        if not all(issubclass(t, (ndarray, np.ndarray)) for t in types):
            return NotImplemented
        return _run_function(func, func.__name__, args, kwargs, real_func)

    # --- operators ------------------------------------------------------------------------
    __add__, __radd__ = _binary(np.add), _binary(np.add, True)
    __sub__, __rsub__ = _binary(np.subtract), _binary(np.subtract, True)
    __mul__, __rmul__ = _binary(np.multiply), _binary(np.multiply, True)
    __truediv__, __rtruediv__ = _binary(np.true_divide), _binary(np.true_divide, True)
    __floordiv__, __rfloordiv__ = _binary(np.floor_divide), _binary(np.floor_divide, True)
    __mod__, __rmod__ = _binary(np.remainder), _binary(np.remainder, True)
    __pow__, __rpow__ = _binary(np.power), _binary(np.power, True)
    __matmul__, __rmatmul__ = _binary(np.matmul), _binary(np.matmul, True)
    __and__, __rand__ = _binary(np.bitwise_and), _binary(np.bitwise_and, True)
    __or__, __ror__ = _binary(np.bitwise_or), _binary(np.bitwise_or, True)
    __xor__, __rxor__ = _binary(np.bitwise_xor), _binary(np.bitwise_xor, True)
    __lshift__, __rlshift__ = _binary(np.left_shift), _binary(np.left_shift, True)
    __rshift__, __rrshift__ = _binary(np.right_shift), _binary(np.right_shift, True)
    __lt__, __le__ = _binary(np.less), _binary(np.less_equal)
    __gt__, __ge__ = _binary(np.greater), _binary(np.greater_equal)
    __eq__, __ne__ = _binary(np.equal), _binary(np.not_equal)
    __iadd__, __isub__, __imul__ = _inplace(np.add), _inplace(np.subtract), _inplace(np.multiply)
    __itruediv__, __ifloordiv__ = _inplace(np.true_divide), _inplace(np.floor_divide)
    __imod__, __ipow__ = _inplace(np.remainder), _inplace(np.power)
    __iand__, __ior__, __ixor__ = _inplace(np.bitwise_and), _inplace(np.bitwise_or), _inplace(np.bitwise_xor)
    __ilshift__, __irshift__ = _inplace(np.left_shift), _inplace(np.right_shift)

    def __divmod__(self, other):
        return _call_ufunc(np.divmod, "__call__", (self, other), {})

    def __rdivmod__(self, other):
        return _call_ufunc(np.divmod, "__call__", (other, self), {})

    def __neg__(self):
        return _call_ufunc(np.negative, "__call__", (self,), {})

    def __pos__(self):
        return _call_ufunc(np.positive, "__call__", (self,), {})

    def __abs__(self):
        return _call_ufunc(np.absolute, "__call__", (self,), {})

    def __invert__(self):
        return _call_ufunc(np.invert, "__call__", (self,), {})

    # every other method cupy.ndarray has (sum, reshape, transpose, ...): NumPy's, wrapped;
    # a name cupy.ndarray lacks is an AttributeError, as on CuPy
    def __getattr__(self, name):
        if name.startswith("__") or name not in _REAL_NDARRAY_NAMES or not hasattr(np.ndarray, name):
            raise AttributeError(f"'cupy._core.core.ndarray' object has no attribute '{name}'")
        method = _METHODS.get(name)
        if method is None:
            method = _METHODS[name] = _method(name)
        return functools.partial(method, self)


ndarray.__module__ = "cupy"
_METHODS = {}


def _call_ufunc(ufunc, method, inputs, kwargs, via_numpy=True):
    """A NumPy ufunc on device arrays, with CuPy's rules (core.pyx __array_ufunc__
    when NumPy dispatches to it, `via_numpy`; else a direct cupy.<ufunc> call)."""
    name = ufunc.__name__
    real = getattr(_real, name, None)
    if real is None or (method != "__call__" and not hasattr(real, method)):
        return NotImplemented
    out = kwargs.get("out")
    if isinstance(out, tuple):
        if len(out) != 1:
            raise ValueError("The 'out' parameter must have exactly one array value")
        out = out[0]
    # CuPy's ufuncs take out, casting and dtype (their methods: what their signature says)
    _check_call(real if method == "__call__" else getattr(real, method), f"cupy.{name}.{method}", inputs, kwargs)
    if via_numpy:
        # every operand, an `at` index tuple included, must be an array or a scalar
        for x in inputs + ((out,) if out is not None else ()):
            if not isinstance(x, (ndarray, np.ndarray) + _SCALAR_TYPES) and \
                    not hasattr(x, "__cuda_array_interface__"):
                return NotImplemented
    if name in _COMPARISONS:
        inputs = tuple(x.item() if isinstance(x, np.ndarray) and x.ndim == 0 else x for x in inputs)
    if method == "at":
        inputs = (inputs[0], _index_key(inputs[1])) + tuple(inputs[2:])
        args = [_dev(inputs[0]), _wrap_int_indices(inputs[0]._a, inputs[1])] + [_dev(x) for x in inputs[2:]]
    else:
        args = [_dev(x) for x in inputs]      # a NumPy array: TypeError, as CuPy
    if out is not None:
        if type(out) is not ndarray:
            raise _unsupported(out)
        kwargs = dict(kwargs, out=out._a)
    kwargs = {k: _dev(v) if k != "out" else v for k, v in kwargs.items()}
    if method == "at":
        target = inputs[0]
        if name == "add" and target.dtype not in _ADD_AT_DTYPES:
            raise TypeError("cupy.add.at only supports int32, int64, float16, float32, float64, uint32, "
                            "uint64, as data type")
        with np.errstate(all="ignore"):           # a GPU raises no floating-point warnings
            getattr(ufunc, method)(*args, **kwargs)
        return None
    if out is None and method == "__call__":
        kwargs = dict(kwargs, order="C")      # CuPy allocates ufunc outputs in C order
    with np.errstate(all="ignore"):           # a GPU raises no floating-point warnings
        if name == "power" and method == "__call__":
            r = _power(args, kwargs)
        else:
            r = getattr(ufunc, method)(*args, **kwargs)
    if out is not None:
        return out
    return _wrap(r)


def _power(args, kwargs):
    """CuPy's integer power takes negative exponents (its integral_power:
    1 for a base of 1, +-1 for -1, else 0) where NumPy raises ValueError."""
    a, b = args
    try:
        return np.power(a, b, **kwargs)
    except ValueError:
        if not np.any(np.asarray(b) < 0):
            raise
    neg = np.asarray(b) < 0
    r = np.power(a, np.where(neg, 0, b).astype(np.result_type(b), copy=False), **kwargs)
    a_, b_ = np.asarray(a), np.asarray(b)
    at_neg = np.where(a_ == 1, 1, np.where(a_ == -1, np.where(b_ & 1, -1, 1), 0))
    target = kwargs.get("out", r)
    target[...] = np.where(neg, at_neg, r)
    return target


# what NumPy gives as a Python number where CuPy gives a 0-d array
_ARRAY_RESULTS = frozenset(["count_nonzero", "array_equal", "allclose", "array_equiv"])
# cupy functions that take host data (they copy it to the device)
_HOST_INPUTS = frozenset(["array", "asarray", "asanyarray"])
# elementwise functions whose CuPy form is a ufunc or kernel: a fresh result in C order
_C_ORDER_RESULTS = frozenset(["where", "clip", "around", "round", "nan_to_num"])


def _run_function(func, name, args, kwargs, real=None):
    _check_call(real if real is not None else getattr(_real, name), f"cupy.{name}", args, kwargs)
    original = args
    if name in _HOST_INPUTS:
        args = [a._a if type(a) is ndarray else a for a in args]
    else:
        args = [_dev(a) for a in args]
        kwargs = {k: _dev(v) for k, v in kwargs.items()}
    if "dtype" in kwargs and kwargs["dtype"] is not None:
        _check_dtype(kwargs["dtype"])
    if name == "broadcast_to":
        return _wrap(_writable_broadcast(*args, **kwargs))
    _stable_sort(name, args, kwargs, 2)
    with np.errstate(all="ignore"):
        r = func(*args, **kwargs)
    if name == "diagonal" and args[0].flags.writeable:
        r.flags.writeable = True              # (as the method's)
    for a in original:                        # an input returned as is (ascontiguousarray...): itself
        if type(a) is ndarray and r is a._a:
            return a
    if name in _C_ORDER_RESULTS and kwargs.get("out") is None:
        r = _c_order(r)
    if name in _ARRAY_RESULTS and not isinstance(r, np.ndarray):
        r = np.asarray(r)
    return _wrap(r)


def _writable_broadcast(a, shape, subok=False):
    """np.broadcast_to as CuPy gives it: a view that can be written (CuPy has no
    read-only arrays; writing through repeated elements is the caller's race)."""
    view = np.broadcast_to(a, shape)
    if not isinstance(a, np.ndarray) or not a.flags.writeable:
        return view
    return np.lib.stride_tricks.as_strided(a, view.shape, view.strides, writeable=True)


def _c_order(r):
    """A fresh elementwise result as CuPy allocates it: C-contiguous."""
    if isinstance(r, np.ndarray) and r.ndim > 1 and not r.flags.c_contiguous:
        return np.ascontiguousarray(r)
    return r


def _astype(a, dt, order="K", copy=True):
    """a.astype(dt) as CuPy casts on the GPU: float -> unsigned integer through
    the C cast, which the GPU's cvt instruction saturates (PTX ISA, cvt: "For
    float-to-integer conversions, the result is clamped to the destination
    range by default"; NaN gives 0, or 2**63 from float64 to uint64). For
    uint8 the cast goes through a saturated uint32 and keeps its low byte
    (measured, CuPy 14.2 on an H200: -1.5 -> 0, 255.5 -> 255, 300.0 -> 44,
    1000.0 -> 232), where NumPy gives 255 and 44 for -1.5 and 300."""
    if a.dtype.kind != "f" or dt.kind != "u":
        with np.errstate(all="ignore"):           # (no warning for a cast out of range on a GPU)
            return a.astype(dt, order=order, copy=copy)
    if dt.itemsize < 4:
        return (_astype(a, np.dtype(np.uint32), order) & np.uint32(np.iinfo(dt).max)).astype(dt, order=order)
    top = float(np.iinfo(dt).max)
    with np.errstate(invalid="ignore"):
        x = np.trunc(a.astype(np.float64))
        nan = np.isnan(x)
        r = np.where(nan | (x < 0), 0, np.minimum(x, top)).astype(dt, order=order)
        r[x >= top] = np.iinfo(dt).max           # (uint64: 2**64 - 1 is no float64)
    if nan.any() and dt.itemsize == 8 and a.dtype.itemsize == 8:
        r[nan] = 1 << 63
    return r


class _Ufunc:
    """cupy.<ufunc>: calls and methods (reduce, at, ...) through _call_ufunc."""

    def __init__(self, np_ufunc):
        self._ufunc = np_ufunc
        self.__name__ = np_ufunc.__name__
        self.nin, self.nout = np_ufunc.nin, np_ufunc.nout

    def __call__(self, *args, **kwargs):
        return self._checked("__call__", args, kwargs)

    def _checked(self, method, args, kwargs):
        if "out" in kwargs and not isinstance(kwargs["out"], tuple) and kwargs["out"] is not None:
            kwargs = dict(kwargs, out=(kwargs["out"],))
        elif kwargs.get("out", 0) is None:
            kwargs = {k: v for k, v in kwargs.items() if k != "out"}
        r = _call_ufunc(self._ufunc, method, args, kwargs, via_numpy=False)
        if r is NotImplemented:
            raise TypeError(f"cupy.{self.__name__}.{method}: unsupported operands")
        return r

    def __getattr__(self, method):
        if method not in ("reduce", "accumulate", "reduceat", "outer", "at"):
            raise AttributeError(method)
        return lambda *args, **kwargs: self._checked(method, args, kwargs)


# --- the module's functions --------------------------------------------------------------------

def asarray(a, dtype=None, order=None, *, blocking=False):
    if type(a) is ndarray:
        return a if dtype is None or np.dtype(dtype) == a.dtype else a.astype(dtype)
    return array(a, dtype=dtype, copy=True, order=order or "K")


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    if type(obj) is ndarray:
        if dtype is not None and not ndmin:
            return _wrap(_astype(obj._a, _check_dtype(dtype), order or "K"))
        obj = obj._a
    elif isinstance(obj, (list, tuple)):
        obj = _dev_nested(obj)
    a = np.array(obj, dtype=dtype, copy=True, order=order, ndmin=ndmin)
    _check_dtype(a.dtype)
    return _wrap(a)


def _dev_nested(x):
    if type(x) is ndarray:
        return x._a
    if isinstance(x, (list, tuple)):
        return type(x)(_dev_nested(v) for v in x)
    return x


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    if type(a) is ndarray:
        return a.get(order=order, out=out)
    if out is not None:
        out[...] = a
        return out
    return np.asarray(a, order=order)


def get_array_module(*args):
    return module if any(type(a) is ndarray for a in args) else np


def from_dlpack(obj):
    if type(obj) is ndarray:
        return _wrap(obj._a.view())          # a new array on the same memory
    dev_type, _ = obj.__dlpack_device__()
    if dev_type != 2:
        raise RuntimeError("CuPy from_dlpack: the data is not on a CUDA device")
    return _wrap(np.from_dlpack(obj))


# --- devices -------------------------------------------------------------------------------

_current = [0]
DEVICE_COUNT = 1


class Device:
    """cupy.cuda.Device: one device, cuda:0."""

    def __init__(self, device=None):
        self.id = _current[-1] if device is None else int(device)
        self._entered = []

    def __enter__(self):
        self.use_check()
        _current.append(self.id)
        self._entered.append(True)
        return self

    def __exit__(self, *exc):
        _current.pop()
        self._entered.pop()
        return False

    def use_check(self):
        if not 0 <= self.id < DEVICE_COUNT:
            raise CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")

    def use(self):
        self.use_check()
        _current[-1] = self.id

    def synchronize(self):
        self.use_check()

    def __eq__(self, other):
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def __int__(self):
        return self.id

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


def _get_device_count():
    return DEVICE_COUNT


def _set_device(i):
    Device(i).use()


class Event:
    """cupy.cuda.Event: host time at record() (the emulator runs synchronously)."""

    def __init__(self, block=False, disable_timing=False, interprocess=False):
        self.t = None

    def record(self, stream=None):
        self.t = time.perf_counter()

    def synchronize(self):
        pass


def get_elapsed_time(start, end):
    """Milliseconds between two recorded events, as cupy.cuda.get_elapsed_time."""
    if start.t is None or end.t is None:
        raise CUDARuntimeError("cudaErrorInvalidResourceHandle: invalid resource handle")
    return (end.t - start.t) * 1e3


def _device_properties(dev):
    Device(dev).use_check()
    # (the keys our code reads; a real device reports many more)
    return {"name": b"CuPy emulator (host)", "totalGlobalMem": 0, "multiProcessorCount": 1}


runtime = types.SimpleNamespace(
    getDeviceCount=_get_device_count, getDevice=lambda: _current[-1], setDevice=_set_device,
    deviceSynchronize=lambda: None, CUDARuntimeError=CUDARuntimeError,
    getDeviceProperties=_device_properties)
curand = types.SimpleNamespace(CURAND_RNG_PSEUDO_DEFAULT=100, CURAND_RNG_PSEUDO_XORWOW=101,
                               CURAND_RNG_PSEUDO_MRG32K3A=121, CURAND_RNG_PSEUDO_MTGP32=141,
                               CURAND_RNG_PSEUDO_PHILOX4_32_10=161)     # curand.h's values
cuda = types.SimpleNamespace(Device=Device, runtime=runtime, curand=curand, is_available=lambda: True,
                             Event=Event, get_elapsed_time=get_elapsed_time)


# --- random ------------------------------------------------------------------------------

class RandomState:
    """cupy.random.RandomState on NumPy's Philox (the draws differ from cuRAND's:
    tests compare statistics, never the numbers)."""

    def __init__(self, seed=None, method=curand.CURAND_RNG_PSEUDO_DEFAULT):
        if method not in vars(curand).values():
            raise ValueError(f"unknown cuRAND generator {method}")
        self._rng = np.random.Generator(np.random.Philox(seed))

    @staticmethod
    def _float_dtype(dtype):
        dtype = np.dtype(dtype)
        if dtype.char not in "fd":
            raise TypeError(f"cupy.random: dtype must be float32 or float64, got {dtype}")
        return dtype

    def standard_normal(self, size=None, dtype=float):
        return _wrap(self._rng.standard_normal(size, dtype=self._float_dtype(dtype)))

    def random_sample(self, size=None, dtype=float):
        return _wrap(self._rng.random(size, dtype=self._float_dtype(dtype)))

    def normal(self, loc=0.0, scale=1.0, size=None, dtype=float):
        return _wrap((self._rng.normal(loc, scale, size)).astype(self._float_dtype(dtype)))

    def uniform(self, low=0.0, high=1.0, size=None, dtype=float):
        return _wrap(self._rng.uniform(low, high, size).astype(self._float_dtype(dtype)))

    def randint(self, low, high=None, size=None, dtype=int):
        return _wrap(self._rng.integers(low, high, size=size, dtype=dtype))

    def permutation(self, num):
        if isinstance(num, int):
            return _wrap(self._rng.permutation(num).astype(np.int64))
        return _wrap(self._rng.permutation(_dev(num)))


random = types.SimpleNamespace(RandomState=RandomState)


# --- kernels: the host build -------------------------------------------------------------------

class HostKernels:
    """Runs our ElementwiseKernel / RawModule kernels from the host libraries,
    after checking what CuPy would check. `launches` lists kernel names run;
    `row_launches` the (name, threads, elements read) of each reduction launch."""

    def __init__(self):
        self.launches = []
        self.row_launches = []

    @functools.cached_property
    def pointwise_lib(self):
        from test_kernels_host import _build_library
        return _build_library()

    @functools.cached_property
    def optim_lib(self):
        from test_optim_kernels import build_host_lib
        return build_host_lib()

    @staticmethod
    @functools.lru_cache(maxsize=None)
    def split(kname):
        for dt in ks.REDUCTION_DTYPES:
            if kname.endswith("_" + dt):
                return kname[3:-len(dt) - 1], dt
        raise AssertionError(kname)

    def pointwise(self, kname, args):
        from test_kernels_host import run_pointwise
        name, dtype = self.split(kname)
        self.launches.append(kname)
        spec = ks.POINTWISE[name]
        nin = len(spec.params)
        if len(args) not in (nin, nin + 1):
            raise TypeError(f"Wrong number of arguments for {kname!r}. It must be either {nin} or {nin + 1} "
                            f"(with outputs), but given {len(args)}.")
        # an output array after the inputs (_kernel.pyx: _decide_params_type_core, _get_out_args_with_params)
        out = args[nin] if len(args) > nin else None
        args = args[:nin]
        if out is not None:
            if isinstance(out, np.ndarray):
                raise _unsupported(out)
            if type(out) is not ndarray:
                raise TypeError("Output arguments type must be cupy.ndarray")
            want = np.dtype(bool if spec.out == "bool" else dtype)
            if out.dtype != want:
                raise TypeError(f"Type is mismatched. out {out.dtype} {want}")
        arrays = [a._a for a in args if type(a) is ndarray]
        # (the output broadcasts with the inputs, then must have the broadcast shape)
        shape = np.broadcast_shapes(*[a.shape for a in arrays], *([out.shape] if out is not None else []))
        if out is not None and out.shape != shape:
            raise ValueError("Out shape is mismatched")
        cols = []
        for p, a in zip(spec.params, args):
            want = np.dtype(dtype if p.kind == "T" else bool)
            if isinstance(a, np.ndarray):
                raise _unsupported(a)
            v = a._a if type(a) is ndarray else a
            # the parameters are typed: the library casts before the launch
            if not isinstance(v, (np.ndarray, np.generic)) or v.dtype != want:
                raise TypeError(f"{kname}: argument {p.name} is {type(v).__name__} "
                                f"{getattr(v, 'dtype', '')}, the kernel takes {want}")
            # (scalars and full-shape arrays go as they are: run_pointwise broadcasts them to n)
            cols.append(v if v.ndim == 0 else v.reshape(-1) if v.shape == shape else np.broadcast_to(v, shape).ravel())
        math_dtype = "float32" if dtype == "float16" else dtype
        if shape == ():
            cols = [c.reshape(1) for c in cols]               # (run_pointwise takes its length from the first)
        elif cols[0].ndim == 0:
            cols[0] = np.broadcast_to(cols[0], shape).ravel()
        result = run_pointwise(self.pointwise_lib, name, math_dtype,
                               [c.astype(math_dtype) if c.dtype != bool and c.dtype != math_dtype else c
                                for c in cols])
        if dtype == "float16" and spec.out == "T":
            result = result.astype(np.float16)
        if out is not None:
            out._a[...] = result.reshape(shape)
            return out
        return _wrap(result.reshape(shape))              # a fresh output: C order, as CuPy's

    def packs(self, kname, grid, block, args):
        """A pack kernel (kernels/vector.cuh): contiguous operands of one size n."""
        from test_kernels_host import run_pointwise
        base, form = kname.rsplit("_v", 1)
        name, dtype = self.split(base)
        self.launches.append(kname)
        spec = ks.POINTWISE[name]
        *ins, out, n = args
        if len(ins) != len(spec.params) + form.count("r") or type(n) is not np.int64:
            raise TypeError(f"{kname}: wrong arguments {args!r}")
        grouped, it = [], iter(ins)
        for f in form:                        # a row comes with its length
            grouped.append((next(it), next(it)) if f == "r" else next(it))
        ins = grouped
        assert grid[0] >= 1 and block[0] & (block[0] - 1) == 0 and block[0] <= 1024, (grid, block)
        math_dtype = "float32" if dtype == "float16" else dtype
        cols = []
        for p, f, a in zip(spec.params, form, ins):
            want = np.dtype(dtype if p.kind == "T" else bool)
            if f == "r":
                a, length = a
                width = 16 // np.dtype(dtype).itemsize
                if (type(a) is not ndarray or type(length) is not np.int64 or a.size != length
                        or length % width or n % length or a.dtype != want or not a._a.flags.c_contiguous):
                    raise AssertionError(f"{kname}: a row operand {getattr(a, 'shape', a)} of {length} for n = {n}")
                cols.append(np.tile(a._a.reshape(-1).astype(math_dtype), int(n // length)))
            elif f == "1":                    # the kernel reads element 0 of its memory
                if type(a) is not ndarray or a.dtype != want or not (a.size == 1 or not any(a._a.strides)):
                    raise AssertionError(f"{kname}: a one-element operand {getattr(a, 'shape', a)}")
                cols.append(np.full(int(n), a._a.reshape(-1)[0] if a.size == 1 else a._a.flat[0], dtype=math_dtype))
            elif f == "a":
                if type(a) is not ndarray:
                    raise _unsupported(a)
                if a.dtype != want or not a._a.flags.c_contiguous or a.size != n:
                    raise AssertionError(f"{kname}: an array operand {a.dtype} {a.shape} for n = {n}")
                cols.append(a._a.reshape(-1).astype(math_dtype if p.kind == "T" else bool))
            else:
                if p.kind != "T" or type(a) is not np.dtype(math_dtype).type:
                    raise TypeError(f"{kname}: scalar {a!r} for {p.name}, the kernel takes {math_dtype}")
                cols.append(np.asarray(a))
        out_dtype = np.dtype(bool if spec.out == "bool" else dtype)
        if type(out) is not ndarray or out.dtype != out_dtype or out.size != n:
            raise AssertionError(f"{kname}: the output {getattr(out, 'dtype', out)}")
        if cols[0].ndim == 0:
            cols[0] = np.broadcast_to(cols[0], (int(n),))
        result = run_pointwise(self.pointwise_lib, name, math_dtype, cols)
        out._a[...] = result.astype(out_dtype).reshape(out.shape)

    def optim(self, kname, args):
        from autograd_gpu.optim import _fused
        name, dtype = kname[len("ag_optim_"):].rsplit("_", 1)
        self.launches.append(kname)
        spec = _fused.KERNELS[name]
        n_arr, n_sc = len(spec.arrays), len(spec.scalars)
        arrays, scalars, inplace = args[:n_arr], args[n_arr:n_arr + n_sc], args[n_arr + n_sc:]
        if len(inplace) != len(spec.inplace):
            raise TypeError(f"{kname}: wrong number of arguments")
        for a in list(arrays) + list(inplace):
            if type(a) is not ndarray:
                raise _unsupported(a)
            if a.dtype != np.dtype(dtype):
                raise TypeError(f"{kname}: an array of {a.dtype}, the kernel takes {dtype}")
        shape = inplace[0].shape
        math = np.dtype(_fused.MATH_TYPE[dtype])
        work = [np.ascontiguousarray(np.broadcast_to(a._a, shape), dtype=math) for a in inplace]
        ins = [np.ascontiguousarray(np.broadcast_to(a._a, shape), dtype=math) for a in arrays]
        from test_optim_kernels import run_host
        run_host(self.optim_lib, name, work, ins, [bool(s) if kind == "bool" else float(s)
                                                    for s, (_, kind) in zip(scalars, spec.scalars)])
        for a, w in zip(inplace, work):
            a._a[...] = w

    def rows(self, kname, grid, block, args):
        from test_kernels_host import run_rows
        name, dtype = self.split(kname)
        self.launches.append(kname)
        n_arrays = 3 if name.endswith("_bwd") else 2
        arrays, scalars = args[:n_arrays], args[n_arrays:]
        rows, n, inner, mode = scalars[:4]
        if [type(s) for s in scalars[:4]] != [np.int64, np.int64, np.int64, np.int32]:
            raise TypeError(f"{kname}: launch scalars of the wrong types {scalars[:4]}")
        for a in arrays:
            if type(a) is not ndarray:
                raise _unsupported(a)
            if not a._a.flags.c_contiguous:
                raise AssertionError(f"{kname}: the kernel indexes contiguous data")
        if name == ks.SPLIT_SUM:                  # chunks of n, the last one shorter
            total = scalars[4]
            assert type(total) is np.int64 and rows % inner == 0 and grid[0] >= 1
            assert rows // inner == -(-total // n) and total * inner == arrays[0].size, (rows, n, inner, total)
            assert arrays[1].dtype == np.dtype("float32" if dtype == "float16" else dtype), arrays[1].dtype
        else:
            assert rows * n == arrays[0].size and grid[0] >= 1
        if mode:
            assert inner == 1 and block[0] & (block[0] - 1) == 0 and block[0] <= 256
        lanes = block[0] if mode else 1
        self.row_launches.append((kname, grid[0] * block[0] if mode else int(rows), int(arrays[0].size)))
        math_dtype = "float32" if dtype == "float16" else dtype
        ins = [a._a.astype(math_dtype) if a.dtype == np.float16 else a._a for a in arrays[:-1]]
        out = arrays[-1]
        kind = ks.REDUCTIONS.get(name, ((), "T"))[1]
        tmp_dtype = math_dtype if kind == "T" else out.dtype
        host_out = run_rows(self.pointwise_lib, name, math_dtype if dtype != "bool" else "bool", ins, int(rows),
                            int(n), int(inner), lanes, tmp_dtype,
                            correction=float(scalars[4]) if name == "var" else None,
                            total=int(scalars[4]) if name == ks.SPLIT_SUM else None)
        out._a[...] = np.asarray(host_out).reshape(out.shape)


kernels = HostKernels()


class ElementwiseKernel:
    def __init__(self, in_params, out_params, operation, name="kernel", reduce_dims=True, preamble="",
                 no_return=False, return_tuple=False, loop_prep="", after_loop="", options=()):
        self.in_params, self.out_params, self.name = in_params, out_params, name
        self.preamble, self.options = preamble, tuple(options)
        if not (name.startswith("ag_") and options == ks.OPTIONS):
            raise NotImplementedError(f"the emulator runs only our kernels, not {name}")

    def __call__(self, *args, size=None, stream=None, block_size=None):
        if self.name.startswith("ag_optim_"):
            return kernels.optim(self.name, args)
        assert self.preamble == ks.preamble(), self.name
        return kernels.pointwise(self.name, args)


class RawModule:
    def __init__(self, code=None, path=None, options=(), backend="nvrtc", translate_cucomplex=False,
                 enable_cooperative_groups=False, name_expressions=None, jitify=False):
        if not (code or "").startswith(ks.preamble()) or tuple(options) != ks.OPTIONS:
            raise NotImplementedError("the emulator runs only our own modules")

    def get_function(self, name):
        if any(name == ks.vector_kernel_name(n, dt, f) for n, f in ks.VECTOR_KERNELS for dt in ks.DTYPES):
            def launch(grid, block, args, shared_mem=0, stream=None):
                kernels.packs(name, grid, block, args)
            return launch
        if not any(name in ks.reduction_kernels(dt) for dt in ks.REDUCTION_DTYPES):
            raise NotImplementedError(f"the emulator runs only our own kernels, not {name!r}")

        def launch(grid, block, args, shared_mem=0, stream=None):
            kernels.rows(name, grid, block, args)
        return launch


# --- the module ------------------------------------------------------------------------------

class _EmulatedCupy(types.ModuleType):
    """Attributes cupy has: the emulator's own where it defines them, else NumPy's
    function or ufunc on device arrays; names cupy lacks raise AttributeError."""

    def __getattr__(self, name):
        if name.startswith("__") or _real is None or not hasattr(_real, name):
            raise AttributeError(f"module 'cupy' has no attribute '{name}'")
        real = getattr(_real, name)
        np_obj = getattr(np, name, None)
        if isinstance(np_obj, np.ufunc):
            value = _Ufunc(np_obj)
        elif callable(np_obj) and not isinstance(np_obj, type) and callable(real):
            def value(*args, _f=np_obj, _name=name, **kwargs):
                return _run_function(_f, _name, args, kwargs)
            value.__name__ = name
        elif isinstance(real, types.ModuleType):
            raise AttributeError(f"the CuPy emulator has no cupy.{name}")
        else:
            value = real                       # dtypes (cupy.float32 is numpy.float32), constants
        setattr(self, name, value)
        return value


def _as_strided(x, shape=None, strides=None):
    """cupy.lib.stride_tricks.as_strided: a view of x's memory with other strides
    (writable, as every CuPy array is)."""
    if type(x) is not ndarray:
        raise TypeError(f"as_strided: expected a cupy.ndarray, got {type(x).__name__}")
    return _wrap(np.lib.stride_tricks.as_strided(x._a, shape, strides, writeable=True))


module = _EmulatedCupy("cupy", __doc__)
module.lib = types.ModuleType("cupy.lib")
module.lib.stride_tricks = types.SimpleNamespace(as_strided=_as_strided)
module._is_emulator = True
module._real_cupy = _real
module.__version__ = getattr(_real, "__version__", "0")
for _name in ("ndarray", "asarray", "array", "asnumpy", "get_array_module", "from_dlpack", "cuda", "random",
              "ElementwiseKernel", "RawModule"):
    setattr(module, _name, globals()[_name])
