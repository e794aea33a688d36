"""Creating tensors: from data (tensor, from_numpy, from_dlpack), factories
(zeros, ones, full, empty, eye, arange, linspace), random draws (randn, rand,
randint, randperm) and the *_like forms."""
import math
import warnings

import numpy as np

from . import _dtype
from . import backend as B
from .tensor import Tensor
from .autograd.op import as_array
from .backend.device import default_device


def backend_for(device):
    """The backend of a factory's `device` argument: None is the thread's default device (cpu unless
    set_default_device or a `with device(...)` block says otherwise)."""
    if device is None:
        device = default_device()
        if device is None:
            return B.cpu_backend
    return B.get(device)


def _finish(data, backend, requires_grad, op_name):
    t = Tensor._make(as_array(data, backend), backend)
    if requires_grad:
        if data.dtype.kind != "f":
            raise RuntimeError(f"{op_name}: Only Tensors of floating point and complex dtype can require "
                               f"gradients (got {_dtype.from_numpy_dtype(data.dtype).libtorch})")
        t._rg = True
    return t


def _infer_python_dtype(a):
    """dtype of Python data: floats -> the default dtype (float32 unless set), ints -> int64, bools -> bool."""
    k = a.dtype.kind
    if k == "f":
        return _dtype.get_default_float().np
    if k in "iu":
        return _dtype.int64.np
    if k == "b":
        return _dtype.bool_.np
    raise TypeError(f"tensor(): could not infer dtype of {a.dtype} data "
                    f"(expected numbers, nested lists of numbers, or arrays)")


def _carried_dtype(data):
    """For a list with elements that carry a dtype (tensors, NumPy scalars and
    arrays): PyTorch's inferred dtype, the promotion of every element's own
    (Python bool, int, float: bool, int64, float32). None for plain Python
    data. So [tensor(1., dtype=float64)] and [np.float64(1.), 2] are float64.
    Also returns whether some element is a tensor (one walk for both)."""
    kinds, carried, has_tensors = set(), None, False
    for x in _flat(data):
        t = type(x)
        if t is float or t is int or t is bool:
            kinds.add(t)                          # (promoted below)
            continue
        if isinstance(x, Tensor):
            d, has_tensors = x.dtype, True
        elif isinstance(x, (np.generic, np.ndarray)):
            d = _dtype.from_numpy_dtype(x.dtype)
        else:
            continue
        carried = d if carried is None else _dtype.promote_pair(carried, d)
    if carried is None:
        return None, False
    for t, d in ((bool, _dtype.bool_), (int, _dtype.int64), (float, _dtype.get_default_float())):
        if t in kinds:
            carried = _dtype.promote_pair(carried, d)
    return carried, has_tensors


def _python_to_array(data, has_tensors, dt):
    if has_tensors:
        data = _tensors_to_numbers(data)
    try:
        a = np.array(data)
    except ValueError as e:
        raise ValueError(f"tensor(): expected a sequence of equal-length sequences ({e})") from None
    except OverflowError:
        return _big_ints(data, dt)
    if a.dtype == object:
        bad = next((type(x).__name__ for x in _flat(data) if not isinstance(x, (int, float, bool))), None)
        if bad is None:             # numbers only: an int past 64 bits
            return _big_ints(data, dt)
        raise TypeError(f"tensor(): could not convert elements of type {bad}; expected numbers or "
                        f"nested lists of equal length")
    if a.dtype == np.float64 and a.size and np.abs(a).max() >= 2.0 ** 63 and _ints_past_int64(data):
        return _big_ints(data, dt)      # ints past int64 beside int64 ones: NumPy went to float64
    return a


def _big_ints(data, dt):
    """Data holding an int past int64: PyTorch converts it to a double for a
    floating or bool result (dtype given, or a float among the data) and
    refuses it for an integer one."""
    floating = any(type(x) is float for x in _flat(data)) if dt is None else dt.np.kind in "fb"
    if not floating:
        raise ValueError("tensor(): Overflow when unpacking long (integer too large for int64)")
    with np.errstate(over="ignore"):
        return np.array(data, dtype=np.float64)


def _ints_past_int64(data):
    """Only ints (no float makes the data floating), one of them past int64."""
    items = list(_flat(data))
    return all(type(x) is not float for x in items) and any(
        type(x) is int and not -2 ** 63 <= x < 2 ** 63 for x in items)


def _flat(data):
    if isinstance(data, (list, tuple)):
        for x in data:
            yield from _flat(x)
    else:
        yield data


def _tensors_to_numbers(data):
    if isinstance(data, (list, tuple)):
        return [_tensors_to_numbers(x) for x in data]
    if isinstance(data, Tensor):
        return data.tolist() if data.ndim else data.item()
    return data


def _copy_as(a, npd):
    """A copy of array `a` in dtype `npd` (on cuda, floats to uint8 as PyTorch: cupy_backend.astype)."""
    a = _dtype.as_torch_narrows(a, npd)
    if type(a) is np.ndarray:
        return a.astype(npd, copy=True)
    from .backend import cupy_backend
    return cupy_backend.astype(a, npd)


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of `data` (a number, nested lists, a NumPy or
    CuPy array, or a Tensor)."""
    dt = _dtype.as_dtype(dtype, "tensor")
    if device is None:
        device = default_device()        # (None: the data's own device, cpu for Python data)
    if isinstance(data, Tensor):
        src_backend = data._backend
        a = data._data
        npd = dt.np if dt is not None else a.dtype
        backend = backend_for(device) if device is not None else src_backend
        if backend is not src_backend:
            a = backend.from_host(src_backend.to_host(a))
        return _finish(_copy_as(a, npd), backend, requires_grad, "tensor")
    if B.is_cuda_array(data) or (hasattr(data, "__cuda_array_interface__") and not isinstance(data, np.ndarray)):
        backend = backend_for(device if device is not None else _cuda_device_of(data))
        if backend.is_cuda:
            a = backend.asarray(data)
        else:                           # a copy to the host, through the data's own GPU
            src = backend_for(_cuda_device_of(data))
            a = src.to_host(src.asarray(data))
        _dtype.from_numpy_dtype(a.dtype)
        return _finish(_copy_as(a, dt.np if dt is not None else a.dtype), backend, requires_grad, "tensor")
    backend = backend_for(device)
    if isinstance(data, (np.ndarray, np.generic)):
        a = np.asarray(data)
        if a.dtype == object:
            raise TypeError("tensor(): can't convert np.ndarray of type numpy.object_")
        _supported(a.dtype, "tensor")
        npd = dt.np if dt is not None else a.dtype
    else:
        carried, has_tensors = _carried_dtype(data) if isinstance(data, (list, tuple)) else (None, False)
        a = _python_to_array(data, has_tensors, dt)
        if a.dtype.kind in "USV":
            raise TypeError(f"tensor(): invalid data type '{a.dtype}' (expected numbers)")
        npd = dt.np if dt is not None else carried.np if carried is not None else _infer_python_dtype(a)
        if dt is None and a.dtype == np.uint64:     # Python ints past int64 (NumPy made them uint64)
            raise ValueError("tensor(): Overflow when unpacking long (integer too large for int64)")
    if isinstance(data, (np.ndarray, np.generic)):
        a = _cast_array_like_torch(a, npd)
    else:
        _check_fits_array(a, npd, "tensor")
    a = np.array(_dtype.as_torch_narrows(np.asarray(a), npd), dtype=npd, copy=True)
    return _finish(backend.from_host(a), backend, requires_grad, "tensor")


def _supported(np_dtype, op_name):
    try:
        _dtype.from_numpy_dtype(np_dtype)
    except TypeError as e:
        raise TypeError(f"{op_name}(): {e}") from None


def _cast_array_like_torch(a, np_dtype):
    """An array's values are converted as PyTorch converts them (no range check:
    floats truncate, ints wrap: array([-300.]) into uint8 is 212), except that NaN
    and inf into an integer type are refused rather than stored as garbage."""
    if np_dtype.kind in "iu" and a.dtype.kind == "f" and a.size:
        if not np.isfinite(a).all():
            raise RuntimeError(f"tensor(): value cannot be converted to type {np.dtype(np_dtype)} without overflow")
        return np.trunc(a).astype(np.int64)
    return a


def _check_fits_array(a, np_dtype, op_name):
    """Values stored into an integer dtype must be representable (PyTorch refuses
    NaN, inf and out-of-range values rather than store garbage; an unsigned type
    takes negative ints down to -max, wrapped, as check_fits)."""
    if np_dtype.kind in "iu" and a.dtype.kind in "iuf" and a.size:
        info = np.iinfo(np_dtype)
        lo = -info.max if np_dtype.kind == "u" and a.dtype.kind in "iu" else info.min
        if not (np.all(a >= lo) and np.all(a <= info.max)):   # (False with NaN)
            raise RuntimeError(f"{op_name}(): value cannot be converted to type {np.dtype(np_dtype)} "
                               f"without overflow")


def _cuda_device_of(a):
    from .backend import cupy_backend
    return B.device("cuda", cupy_backend.array_device_index(a))


def as_tensor(data, dtype=None, device=None):
    """Like tensor(), but shares memory with a Tensor or NumPy array when it can."""
    dt = _dtype.as_dtype(dtype, "as_tensor")
    if device is None:
        device = default_device()
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dt) if (device is not None or dt is not None) else data
    if isinstance(data, np.ndarray) and (device is None or B.device(device).type == "cpu") and (
            dt is None or dt.np == data.dtype):
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(a):
    """A CPU tensor sharing memory with NumPy array `a`."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"from_numpy(): expected np.ndarray (got {type(a).__name__})")
    _supported(a.dtype, "from_numpy")
    if not a.flags.writeable:
        warnings.warn("from_numpy: the given NumPy array is not writable; the tensor shares its "
                      "memory, so in-place writes to it will raise (copy the array first)",
                      UserWarning, stacklevel=2)
    return Tensor._make(a, B.cpu_backend)


def from_dlpack(ext_tensor):
    """Zero-copy import of a DLPack-capable array (PyTorch, CuPy, JAX, NumPy)."""
    obj = ext_tensor                         # (PyTorch's name for it)
    if isinstance(obj, Tensor):
        return obj.detach()
    if not hasattr(obj, "__dlpack_device__"):
        raise TypeError(f"from_dlpack(): {type(obj).__name__} does not support the DLPack protocol")
    dev_type, dev_id = obj.__dlpack_device__()
    dev_type = int(dev_type)
    if dev_type == 1:                           # kDLCPU
        a = np.from_dlpack(obj)
        _dtype.from_numpy_dtype(a.dtype)
        return Tensor._make(a, B.cpu_backend)
    if dev_type in (2, 3):                      # kDLCUDA, kDLCUDAHost
        backend = B.get(B.device("cuda", int(dev_id)))
        a = backend.xp.from_dlpack(obj)
        _dtype.from_numpy_dtype(a.dtype)
        return Tensor._make(a, backend)
    raise RuntimeError(f"from_dlpack(): unsupported device type {dev_type} (only CPU and CUDA)")


# ---- factories -----------------------------------------------------------------

def _size(size, op_name):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = int(s)
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"{op_name}(): argument 'size' must be tuple of ints, but found element of type "
                            f"{type(s).__name__}")
        out.append(int(s))
    for s in out:
        if s < 0:
            raise RuntimeError(f"{op_name}: Trying to create tensor with negative dimension {s}: {out}")
    return tuple(out)


def _alloc(op_name, shape, make):
    try:
        return make()
    except (MemoryError, ValueError) as e:
        if isinstance(e, ValueError) and "too big" not in str(e) and "maximum" not in str(e):
            raise
        nbytes = math.prod(shape)
        raise RuntimeError(f"{op_name}: can't allocate memory for a tensor of shape {list(shape)} "
                           f"({nbytes} elements): {e}") from None


def _factory(op_name, fill):
    def fn(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None, pin_memory=False):
        shape = _size(size, op_name)
        dt = _dtype.as_dtype(dtype, op_name) or _dtype.get_default_float()
        bk = backend_for(device)
        data = _alloc(op_name, shape, lambda: fill(bk.xp, shape, dt.np))
        return _finish(data, bk, requires_grad, op_name)
    fn.__name__ = op_name
    return fn


zeros = _factory("zeros", lambda xp, s, d: xp.zeros(s, dtype=d))
ones = _factory("ones", lambda xp, s, d: xp.ones(s, dtype=d))
empty = _factory("empty", lambda xp, s, d: xp.empty(s, dtype=d))


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    shape = _size((size,) if not isinstance(size, (tuple, list)) else (tuple(size),), "full")
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    from .ops._util import number, check_fits
    fill_value = number(fill_value, "full", "fill_value")
    dt = _dtype.as_dtype(dtype, "full")
    if dt is None:
        k = _dtype.scalar_kind(fill_value)
        if k is None:
            raise TypeError(f"full(): fill_value must be a number, not {type(fill_value).__name__}")
        dt = (_dtype.bool_, _dtype.int64, _dtype.get_default_float())[k]
    fill_value = check_fits(fill_value, dt.np, "full")
    bk = backend_for(device)
    data = _alloc("full", shape, lambda: bk.xp.full(shape, fill_value, dtype=dt.np))
    return _finish(data, bk, requires_grad, "full")


def _int_arg(v, op_name, arg):
    from .ops._util import int_arg
    return int_arg(v.item() if isinstance(v, Tensor) else v, op_name, arg)


def _num_arg(v, op_name, arg):
    from .ops._util import number
    return number(v.item() if isinstance(v, Tensor) else v, op_name, arg)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    n = _int_arg(n, "eye", "n")
    m = None if m is None else _int_arg(m, "eye", "m")
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"eye: n and m must be non-negative, got n={n}, m={m}")
    dt = _dtype.as_dtype(dtype, "eye") or _dtype.get_default_float()
    bk = backend_for(device)
    shape = (n, n if m is None else m)
    return _finish(_alloc("eye", shape, lambda: bk.xp.eye(n, m, dtype=dt.np)), bk, requires_grad, "eye")


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    vals = [_num_arg(v, "arange", a) for v, a in zip((start, end, step), ("start", "end", "step"))]
    start, end, step = vals
    if not all(math.isfinite(v) for v in vals):
        raise RuntimeError(f"arange: unsupported range: {start} -> {end} (step {step})")
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    dt = _dtype.as_dtype(dtype, "arange")
    if dt is None:
        dt = _dtype.get_default_float() if any(isinstance(v, float) for v in vals) else _dtype.int64
    if dt is _dtype.bool_:
        raise NotImplementedError("arange: not implemented for 'Bool'")
    if dt.is_floating_point:
        n = _arange_length(start, end, step)
        make = lambda: (bk.xp.arange(n, dtype=np.float64) * step + start).astype(dt.np)      # noqa: E731
    else:
        # As PyTorch: an integer range steps from int(start) by int(step), in int64 (exact past
        # 2**53); int64 also takes its length from the truncated bounds, other ints from the given ones
        istart, istep = int(start), int(step)
        if dt is _dtype.int64:
            if istep == 0:
                raise ValueError(f"arange: step {step} truncates to 0 for dtype int64 (step must be nonzero)")
            start, end, step = istart, int(end), istep
        n = _arange_length(start, end, step)
        make = lambda: (bk.xp.arange(n, dtype=np.int64) * istep + istart).astype(dt.np)      # noqa: E731
    bk = backend_for(device)
    return _finish(_alloc("arange", (n,), make), bk, requires_grad, "arange")


def _arange_length(start, end, step):
    if (end - start) * step < 0 and end != start:
        raise RuntimeError(f"arange: upper bound and lower bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    if all(type(v) is int for v in (start, end, step)):
        return max(0, -((start - end) // step))          # exact ceil for ints of any size
    return max(0, math.ceil((end - start) / step))


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    start, end = _num_arg(start, "linspace", "start"), _num_arg(end, "linspace", "end")
    steps = _int_arg(steps, "linspace", "steps")
    if steps < 0:
        raise RuntimeError(f"linspace: number of steps must be non-negative, got {steps}")
    dt = _dtype.as_dtype(dtype, "linspace") or _dtype.get_default_float()
    bk = backend_for(device)
    if math.isnan(start) or math.isnan(end):       # NumPy would keep the endpoint; PyTorch gives all NaN
        start = end = math.nan
    kind = dt.np.kind
    if kind == "b" and steps > 1:         # (0 or 1 steps: PyTorch runs no kernel, and bool works)
        raise NotImplementedError(f"\"linspace_{bk.type_prefix.lower()}\" not implemented for 'Bool'")
    if kind in "iu":
        data = _alloc("linspace", (steps,), lambda: _int_linspace(bk.xp, start, end, steps, dt.np))
    else:
        data = _alloc("linspace", (steps,),
                      lambda: _copy_as(bk.xp.linspace(start, end, steps, dtype=np.float64), dt.np))
    return _finish(data, bk, requires_grad, "linspace")


def _int_linspace(xp, start, end, steps, npd):
    """linspace into an integer dtype as PyTorch computes it: the ends converted
    to the dtype first (refused when they do not fit; a negative int wraps into an
    unsigned type: linspace(-3, 3, 7, dtype=uint8) runs from 253 down to 3), then
    stepped in float64 from both ends toward the middle, truncated."""
    from .ops._util import check_fits
    s, e = (int(check_fits(v, npd, "linspace")) for v in (start, end))
    i = xp.arange(steps, dtype=np.float64)
    if steps < 2:
        return (i + s).astype(npd)
    step = (e - s) / (steps - 1)
    half = steps // 2
    vals = xp.where(i < half, s + step * i, e - step * (steps - 1 - i))
    return xp.trunc(vals).astype(np.int64).astype(npd)


def _engine(op_name, generator, bk):
    from .ops._util import generator_engine
    return generator_engine(op_name, generator, bk)


def _random(op_name, draw):
    def fn(*size, generator=None, dtype=None, device=None, requires_grad=False):
        shape = _size(size, op_name)
        dt = _dtype.as_dtype(dtype, op_name) or _dtype.get_default_float()
        if not dt.is_floating_point:
            raise RuntimeError(f"{op_name}: \"{op_name}\" is only defined for floating point dtypes, got "
                               f"{dt.libtorch}")
        bk = backend_for(device)
        engine = _engine(op_name, generator, bk)
        data = _alloc(op_name, shape, lambda: draw(bk, shape, dt.np, engine))
        return _finish(data, bk, requires_grad, op_name)
    fn.__name__ = op_name
    return fn


randn = _random("randn", lambda bk, s, d, engine: bk.randn(s, d, engine))
rand = _random("rand", lambda bk, s, d, engine: bk.rand(s, d, engine))


def randint(low, high=None, size=(), dtype=None, device=None, requires_grad=False, *, generator=None):
    if high is None:
        low, high = 0, low
    low, high = _int_arg(low, "randint", "low"), _int_arg(high, "randint", "high")
    if low >= high:
        raise RuntimeError(f"randint: expects 'from' to be less than 'to', but got from={low} >= to={high}")
    shape = _size((size,) if not isinstance(size, (tuple, list)) else (tuple(size),), "randint")
    dt = _dtype.as_dtype(dtype, "randint") or _dtype.int64
    bk = backend_for(device)
    engine = _engine("randint", generator, bk)
    return _finish(_alloc("randint", shape, lambda: bk.randint(low, high, shape, dt.np, engine)), bk,
                   requires_grad, "randint")


def randperm(n, dtype=None, device=None, requires_grad=False, *, generator=None):
    n = _int_arg(n, "randperm", "n")
    if n < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    dt = _dtype.as_dtype(dtype, "randperm") or _dtype.int64
    bk = backend_for(device)
    engine = _engine("randperm", generator, bk)
    return _finish(_alloc("randperm", (n,), lambda: bk.randperm(n, dt.np, engine)), bk, requires_grad,
                   "randperm")


def _like(fn):
    def like(input, dtype=None, device=None, requires_grad=False, **kw):
        if not isinstance(input, Tensor):
            raise TypeError(f"{fn.__name__}_like(): argument 'input' must be Tensor, not {type(input).__name__}")
        return fn(input.shape, dtype=dtype or input.dtype, device=device or input.device,
                  requires_grad=requires_grad, **kw)
    like.__name__ = fn.__name__ + "_like"
    return like


zeros_like, ones_like, empty_like, randn_like, rand_like = (_like(f) for f in (zeros, ones, empty, randn, rand))


def _new(fn):
    """x.new_zeros(size), x.new_ones, x.new_empty: in x's dtype and on x's device unless told."""
    def new(self, *size, dtype=None, device=None, requires_grad=False):
        return fn(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)
    new.__name__ = "new_" + fn.__name__
    return new


new_zeros, new_ones, new_empty = (_new(f) for f in (zeros, ones, empty))


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                requires_grad=requires_grad)


def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    """A copy of data, in x's dtype and on x's device unless told (not tensor()'s inferred dtype)."""
    if isinstance(data, Tensor):
        data = data.detach()
    return tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False):
    if not isinstance(input, Tensor):
        raise TypeError(f"full_like(): argument 'input' must be Tensor, not {type(input).__name__}")
    return full(input.shape, fill_value, dtype=dtype or input.dtype, device=device or input.device,
                requires_grad=requires_grad)


def scalar_tensor(value, like, float_default=False, op_name=None):
    """A 0-d tensor for Python number `value` as an operand next to `like`: it
    takes like's dtype unless it is of a higher category (PyTorch's wrapped numbers).
    With `op_name`, an int that does not fit like's integer type is refused."""
    k = _dtype.scalar_kind(value)
    if k is None:
        raise TypeError(f"expected a number, got {type(value).__name__}")
    ld = _dtype.from_numpy_dtype(like._data.dtype)
    if k <= ld.kind and not (float_default and ld.kind == 0):
        dt = ld
    else:
        dt = (_dtype.bool_, _dtype.int64, _dtype.get_default_float())[k]
    if op_name is not None and dt.np.char != "e":
        # as PyTorch: uint8 takes -1 as 255, float32 refuses 1e300 (a float16 result takes it as inf)
        from .ops._util import check_fits
        value = check_fits(value, dt.np, op_name)
    elif dt.kind == 1 and not np.iinfo(dt.np).min <= value <= np.iinfo(dt.np).max:
        dt = _dtype.int64                              # (300 / uint8: the division is in float anyway)
    bk = like._backend
    return Tensor._make(bk.from_host(np.asarray(value, dtype=dt.np)), bk)


def manual_seed(seed):
    """Seed the default generators of the CPU and of every GPU (repeatable
    runs); returns ag.default_generator, as torch.manual_seed."""
    from .random import default_generator, seed_value
    B.manual_seed(seed_value(seed, "manual_seed", strict=False))
    return default_generator


def initial_seed():
    """The CPU default generator's seed: the last manual_seed() or seed(), else the default one."""
    return B.initial_seed()


def seed():
    """Seed every device's default generator from the operating system's entropy; returns the seed."""
    from .random import _new_seed
    s = _new_seed()
    manual_seed(s)
    return s


def get_rng_state():
    """The CPU default generator's state, as a uint8 tensor for set_rng_state()."""
    from . import rng_state
    return rng_state.state_tensor(B.cpu_backend)


def set_rng_state(new_state):
    """Restore the CPU default generator to a state get_rng_state() returned."""
    from . import rng_state
    rng_state.restore(B.cpu_backend, new_state, "set_rng_state")


def _rebuild(array, device, requires_grad):
    t = tensor(array, device=device)
    t._rg = requires_grad
    return t
