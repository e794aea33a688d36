"""Argument handling shared by the op families: dims, Python scalars, dtypes."""
import contextlib
import math

import numpy as np

from .. import _dtype

_float32, _float16 = np.dtype(np.float32), np.dtype(np.float16)


def wrap_dim(dim, ndim, op_name):
    """A dim in [-ndim, ndim) as a non-negative int (0-d tensors accept 0 and -1)."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op_name}(): argument 'dim' must be int or tuple of ints, not {type(dim).__name__}")
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op_name}(): Dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {dim})")
    return int(dim) + n if dim < 0 else int(dim)


def wrap_dims(dim, ndim, op_name):
    """None -> None (all dims); int or sequence -> sorted tuple of unique dims."""
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        dims = tuple(wrap_dim(d, ndim, op_name) for d in dim)
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"{op_name}(): dim {dims} appears multiple times in the list of dims")
        if ndim == 0:
            return ()
        return tuple(sorted(dims))
    d = wrap_dim(dim, ndim, op_name)
    return () if ndim == 0 else (d,)


def broadcastable(*shapes):
    """Whether the shapes broadcast together (NumPy's and PyTorch's rule)."""
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return False
    return True


def number(v, op_name, arg="other"):
    """A Python number operand. NumPy scalars become Python numbers, which NumPy
    treats as weak (float32 * 2.0 stays float32, as in PyTorch)."""
    t = type(v)
    if t is float or t is bool:
        return v
    if t is int:
        if -0x8000000000000000 <= v <= 0x7FFFFFFFFFFFFFFF:
            return v
        raise RuntimeError(f"{op_name}(): value {v} cannot be converted to type int64 without overflow")
    if isinstance(v, np.generic) and v.dtype.kind in "biuf":
        # PyTorch's argument parser takes a np.bool_ as a float (a float32 result with an int tensor)
        return float(v) if v.dtype.kind == "b" else v.item()
    raise TypeError(f"{op_name}(): argument '{arg}' must be Tensor or Number, not {type(v).__name__}")


def int_arg(v, op_name, arg, expected="int"):
    """An integer argument (a Python or NumPy int; bool is not one, as in PyTorch)."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{op_name}(): argument '{arg}' must be {expected}, not {type(v).__name__}")
    return int(v)


_FLOAT_MAX = {c: float(np.finfo(c).max) for c in "efd"}     # (np.finfo per fill_ call: 0.19 µs)


def check_fits(v, np_dtype, op_name):
    """A number written into a tensor (fill_, full, setitem, clamp bounds) must fit
    its dtype: PyTorch refuses NaN, inf and out-of-range values in integer types and
    finite values past a float type's range ("value cannot be converted to type ...
    without overflow"), where NumPy would store garbage or inf. As in PyTorch, an
    unsigned type takes negative ints down to -max, wrapped (-1 into uint8 is 255).
    Returns the value to write."""
    if type(v) is bool:
        return v
    k = np_dtype.kind
    if k in "iu":
        info = np.iinfo(np_dtype)
        lo = -info.max if k == "u" and type(v) is int else info.min
        if not lo <= v <= info.max:        # (False for NaN)
            raise RuntimeError(f"{op_name}: value {v} cannot be converted to type {np_dtype} without overflow")
        return v + info.max + 1 if v < 0 and k == "u" else v
    if k == "f" and abs(v) > _FLOAT_MAX[np_dtype.char] and abs(v) != math.inf:
        raise RuntimeError(f"{op_name}: value {v} cannot be converted to type {np_dtype} without overflow")
    return v


def wrap_int(s, np_dtype):
    """A Python int next to an integer tensor computes in the tensor's type; PyTorch
    wraps one outside that type's range (uint8 + -1 adds 255, int8 * 300 multiplies
    by 44), where NumPy refuses it."""
    bits = np_dtype.itemsize * 8
    s &= (1 << bits) - 1
    return s - (1 << bits) if np_dtype.kind == "i" and s >> (bits - 1) else s


def scalar_op(prim, x, s, half_scalar=False):
    """prim(x, s) for Python number s and an array x that is neither float32 nor
    float64, typed as PyTorch's CPU: float16 computes in float32 and rounds once,
    with s as it is (mul, div: zeros(1, float16) * 1e10 is 0, not nan) or, with
    `half_scalar`, first rounded to half (add, sub, rsub, rpow: x + 1e5 is inf;
    an np.float32 s is already what PyTorch adds: a number times alpha, both in
    half, multiplied in float32); an int or bool x is promoted by a float (or
    int) s, and an int s is wrapped into x's int type."""
    if x.dtype.kind == "f":
        if half_scalar and x.dtype == _float16 and type(s) is not np.float32:
            s = half_rounded(s)
        return prim(x.astype(_float32), s).astype(x.dtype)
    x = promote_for_scalar(x, s)
    if type(s) is int and x.dtype.kind in "iu":
        s = wrap_int(s, x.dtype)
    return prim(x, s)


def half_rounded(s):
    """Python number s rounded to float16 (inf beyond its range), as a float."""
    with np.errstate(over="ignore"):
        return float(np.float16(s))


def promote_for_scalar(x, s):
    """Cast array `x` if Python number `s` is of a higher category
    (int tensor * 2.5 -> the default dtype; bool tensor + 1 -> int64)."""
    k = x.dtype.kind
    if k == "f":
        return x
    t = type(s)
    sk = 2 if t is float else (1 if t is int else 0)
    xk = 0 if k == "b" else 1
    if sk > xk:
        return x.astype(_dtype.get_default_float().np if sk == 2 else np.int64)
    return x


def as_float(x):
    """Integer and bool inputs of floating ops compute in the default float dtype."""
    return x if x.dtype.kind == "f" else x.astype(_dtype.get_default_float().np)


def keepdim_shape(shape, axes):
    """`shape` with the reduced `axes` (None: all) set to 1."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def np_axis(axes):
    """Our tuple of dims as a NumPy axis argument (None stays None)."""
    return axes


def check_dtype_arg(dtype, op_name):
    d = _dtype.as_dtype(dtype)
    return d


def check_generator(op_name, generator):
    """A generator= argument must be None or an ag.Generator (PyTorch's TypeError)."""
    from ..random import Generator                # (ag.random is imported after the ops)
    if generator is not None and not isinstance(generator, Generator):
        raise TypeError(f"{op_name}(): argument 'generator' must be Generator, not {type(generator).__name__}")


def generator_engine(op_name, generator, backend):
    """The random stream a draw on `backend` takes its values from for a
    generator= argument: None (the device's default generator) for None, else
    the ag.Generator's, which must be of the backend's device type (PyTorch's
    TypeError / RuntimeError). Backends' rand / randn / randint / randperm
    take it as their `engine` argument."""
    if generator is None:
        return None
    check_generator(op_name, generator)
    kind = backend.device.type
    if generator.device.type != kind:
        raise RuntimeError(f"{op_name}(): Expected a '{kind}' device type for generator but found "
                           f"'{generator.device.type}'")
    return generator._engine


@contextlib.contextmanager
def drawing_from(backend, engine):
    """Within the block, every draw on `backend` made in this thread without an
    engine argument (code composed of other ops) comes from `engine`
    (generator_engine's; None: the default generator, as without the block);
    the default generator and other threads' draws are left as they were."""
    if engine is None:
        yield
        return
    outer = getattr(backend.drawing, "engine", None)
    backend.drawing.engine = engine
    try:
        yield
    finally:
        backend.drawing.engine = outer


def in_result_type(a, b):
    """The arrays of a and b (Tensors or Python numbers, not both numbers) in
    PyTorch's result dtype; a number becomes a 0-d array on the tensor's device
    (an int wrapped into an integer result type, as PyTorch). Returns (a, b, the tensor)."""
    from ..tensor import Tensor                 # (this module is imported before the Tensor exists)
    t = a if isinstance(a, Tensor) else b
    arrays = [x._data for x in (a, b) if isinstance(x, Tensor)]
    kinds = [_dtype.scalar_kind(x) for x in (a, b) if not isinstance(x, Tensor)]
    r = _dtype.result_type_of(arrays, kinds).np

    def cast(x):
        if isinstance(x, Tensor):
            return x._data if x._data.dtype == r else x._data.astype(r)
        if type(x) is int and r.kind in "iu":
            x = wrap_int(x, r)
        return t._backend.from_host(np.asarray(x, dtype=r))
    return cast(a), cast(b), t
