"""Comparisons and logical ops: bool results, never a gradient."""
import numpy as np

from ..autograd.op import device_mismatch, promote_arrays, as_array
from ..tensor import Tensor
from . import prims as P
from ._util import broadcastable, number, wrap_int


def _ufunc(fn, *args):
    """fn(*args) (a NumPy ufunc); on cuda laid out as PyTorch lays it out, not in
    CuPy's C order (x.t() & y is transposed, as on the CPU)."""
    if type(args[0]) is np.ndarray:
        return fn(*args)
    from ..backend.cupy_kernels import ufunc_in_layout
    return ufunc_in_layout(fn, *args)


def _bool(x, arr):
    return Tensor._make(as_array(arr, x._backend), x._backend)


def _compare(prim, op_name):
    def fn(input, other):
        if isinstance(other, Tensor):
            if other._backend is not input._backend:
                raise device_mismatch(op_name, input, other)
            da, db = input._data, other._data
            if da.dtype != db.dtype:
                da, db = promote_arrays(input, other)
        else:
            da, db = input._data, number(other, op_name)
            if type(db) is int and da.dtype.kind in "iu":
                db = wrap_int(db, da.dtype)          # in the tensor's type, as PyTorch (uint8 == 256: == 0)
        try:
            return _bool(input, prim(da, db))
        except ValueError as e:
            raise RuntimeError(f"{op_name}: {e} (shapes {list(input.shape)} and "
                               f"{list(getattr(other, 'shape', ()))})") from None
    fn.__name__ = op_name
    return fn


eq, ne, lt, le, gt, ge = (_compare(getattr(P, n), n) for n in ("eq", "ne", "lt", "le", "gt", "ge"))


def isnan(input):
    return _bool(input, P.isnan(input._data))


def isfinite(input):
    return _bool(input, P.isfinite(input._data))


def isinf(input):
    return _bool(input, _ufunc(np.isinf, input._data))


def _logical(np_fn, op_name):
    def fn(input, other):
        # PyTorch computes in the operands' result type: logical_and(uint8 x, tensor(256))
        # tests 256 as a uint8, i.e. 0 (as the comparisons above)
        da = input._data
        if isinstance(other, Tensor):
            if other._backend is not input._backend:
                raise device_mismatch(op_name, input, other)
            db = other._data
            if da.dtype != db.dtype:
                da, db = promote_arrays(input, other)
        else:
            db = number(other, op_name)         # (TypeError for what is no number)
            if type(db) is int and da.dtype.kind in "iu":
                db = wrap_int(db, da.dtype)
        try:
            return _bool(input, _ufunc(np_fn, da, db))
        except ValueError as e:
            raise RuntimeError(f"{op_name}: {e}") from None
    fn.__name__ = op_name
    return fn


logical_and = _logical(np.logical_and, "logical_and")
logical_or = _logical(np.logical_or, "logical_or")
logical_xor = _logical(np.logical_xor, "logical_xor")


def logical_not(input):
    return _bool(input, _ufunc(np.logical_not, input._data))


# ---- closeness ------------------------------------------------------------------------

def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|input - other| <= atol + rtol * |other|, elementwise (inf equals inf of its sign)."""
    return _isclose(input, other, rtol, atol, equal_nan, "isclose")


def _isclose(input, other, rtol, atol, equal_nan, op_name):
    if not isinstance(other, Tensor):
        raise TypeError(f"{op_name}(): argument 'other' must be Tensor, not {type(other).__name__}")
    if other._backend is not input._backend:
        raise device_mismatch(op_name, input, other)
    if input.dtype is not other.dtype:
        raise RuntimeError(f"{op_name}(): {input.dtype.libtorch} did not match {other.dtype.libtorch}")
    for name, v in (("rtol", rtol), ("atol", atol)):
        if number(v, op_name, name) < 0:
            raise RuntimeError(f"{op_name}(): {name} must be greater than or equal to zero, but got {v}")
    a, b = input._data, other._data
    if a.shape != b.shape and not broadcastable(a.shape, b.shape):
        raise RuntimeError(f"{op_name}(): the size of tensor a {list(a.shape)} must match the size of tensor b "
                           f"{list(b.shape)} at each non-singleton dimension")
    if a.dtype.kind == "b":
        return _bool(input, a == b)
    return _bool(input, np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=bool(equal_nan)))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether isclose holds everywhere (a Python bool)."""
    return bool(_isclose(input, other, rtol, atol, equal_nan, "allclose")._data.all())


def equal(input, other):
    """Same shape and equal entries (a Python bool; dtypes are promoted, NaN equals nothing)."""
    if not isinstance(other, Tensor):
        raise TypeError(f"equal(): argument 'other' must be Tensor, not {type(other).__name__}")
    if other._backend is not input._backend:
        raise device_mismatch("equal", input, other)
    return tuple(input.shape) == tuple(other.shape) and bool(eq(input, other)._data.all())
