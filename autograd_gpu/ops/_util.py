"""Argument handling shared by the op families: dims, Python scalars, dtypes."""
import numpy as np

from .. import _dtype

_float32 = np.dtype(np.float32)


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
        return v.item()
    raise TypeError(f"{op_name}(): argument '{arg}' must be Tensor or Number, not {type(v).__name__}")


def int_arg(v, op_name, arg, expected="int"):
    """An integer argument (a Python or NumPy int; bool is not one, as in PyTorch)."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{op_name}(): argument '{arg}' must be {expected}, not {type(v).__name__}")
    return int(v)


def check_fits(v, np_dtype, op_name):
    """A number written into an integer tensor must be representable there:
    PyTorch refuses NaN, inf and out-of-range ints ("value cannot be converted
    to type ... without overflow") rather than store garbage."""
    if np_dtype.kind in "iu" and type(v) is not bool:
        info = np.iinfo(np_dtype)
        if not info.min <= v <= info.max:        # (False for NaN)
            raise RuntimeError(f"{op_name}: value {v} cannot be converted to type {np_dtype} without overflow")
    return v


def promote_for_scalar(x, s):
    """Cast array `x` if Python number `s` is of a higher category
    (int tensor * 2.5 -> float32; bool tensor + 1 -> int64)."""
    k = x.dtype.kind
    if k == "f":
        return x
    t = type(s)
    sk = 2 if t is float else (1 if t is int else 0)
    xk = 0 if k == "b" else 1
    if sk > xk:
        return x.astype(np.float32 if sk == 2 else np.int64)
    return x


def as_float(x):
    """Integer and bool inputs of floating ops compute in the default float dtype."""
    return x if x.dtype.kind == "f" else x.astype(_float32)


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
