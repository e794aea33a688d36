"""dtypes: the names users see (ag.float32, ...), libtorch's type names, and
PyTorch's type-promotion rules (which NumPy's differ from)."""
import numpy as np


class dtype:
    __slots__ = ("name", "np", "libtorch", "is_floating_point", "kind", "itemsize")

    def __init__(self, name, np_dtype, libtorch, kind):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.libtorch = libtorch          # the "Float" in CPUFloatType
        self.kind = kind                  # 0 bool, 1 integer, 2 floating
        self.is_floating_point = kind == 2
        self.itemsize = self.np.itemsize

    def __repr__(self):
        return "autograd_gpu." + self.name

    def __reduce__(self):
        return (_by_name, (self.name,))


bool_ = dtype("bool", np.bool_, "Bool", 0)
uint8 = dtype("uint8", np.uint8, "Byte", 1)
int8 = dtype("int8", np.int8, "Char", 1)
int16 = dtype("int16", np.int16, "Short", 1)
int32 = dtype("int32", np.int32, "Int", 1)
int64 = dtype("int64", np.int64, "Long", 1)
float16 = dtype("float16", np.float16, "Half", 2)
float32 = dtype("float32", np.float32, "Float", 2)
float64 = dtype("float64", np.float64, "Double", 2)

# The dtype of floating data made without a dtype (Python floats, the factories), and of Python floats next
# to integer tensors: ag.set_default_dtype sets it (float32, float64 or float16, as PyTorch allows).
_default_float = [float32]


def get_default_float():
    return _default_float[0]


def set_default_float(d):
    _default_float[0] = d


ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_FROM_NP = {d.np: d for d in ALL}
_NAMES = {d.name: d for d in ALL}
_NAMES.update(bool=bool_, float=float32, double=float64, half=float16,
              long=int64, int=int32, short=int16)


def _by_name(name):
    return _NAMES[name]


_F64, _F16, _F32 = np.dtype(np.float64), np.dtype(np.float16), np.dtype(np.float32)


def as_torch_narrows(a, np_dtype):
    """`a` ready for .astype(np_dtype): float64 going to float16 first becomes
    float32, as PyTorch converts (c10::Half is made from a float), so the
    value is rounded twice as there (NumPy rounds once: 1 element in 10,000
    differs)."""
    if np_dtype == _F16 and a.dtype == _F64:
        return a.astype(_F32)
    return a


def from_type_string(name):
    """(on cuda, dtype) of PyTorch's legacy type strings: "torch.DoubleTensor",
    "torch.cuda.FloatTensor" (ValueError naming it otherwise, as PyTorch)."""
    prefix = "torch.cuda." if name.startswith("torch.cuda.") else "torch."
    stem = name[len(prefix):]
    for d in ALL:
        if name.startswith("torch.") and stem == d.libtorch + "Tensor":
            return prefix == "torch.cuda.", d
    raise ValueError(f"invalid type: '{name}'")


def from_numpy_dtype(np_dtype):
    """The dtype of an array; raises TypeError for dtypes we do not support."""
    try:
        return _FROM_NP[np_dtype]
    except KeyError:
        d = _FROM_NP.get(np.dtype(np_dtype))
        if d is None:
            raise TypeError(f"can't convert array of dtype {np.dtype(np_dtype)}: "
                            "supported dtypes are float64, float32, float16, int64, "
                            "int32, int16, int8, uint8 and bool") from None
        return d


def as_dtype(d, op_name=None):
    """Accept an ag.dtype, a NumPy dtype (or type), a torch-style name, or None
    (a TypeError naming `op_name` for anything else)."""
    if d is None or type(d) is dtype:
        return d
    if isinstance(d, str) and d in _NAMES:
        return _NAMES[d]
    if d is float:
        return float64                  # (PyTorch's: Python's float is a double)
    if d is int:
        return int64
    if d is bool:
        return bool_
    try:
        return from_numpy_dtype(np.dtype(d))
    except (TypeError, ValueError):
        where = f"{op_name}(): argument 'dtype': " if op_name else ""
        raise TypeError(f"{where}dtype must be an autograd_gpu dtype such as ag.float32, got {d!r}") from None


# --- PyTorch type promotion ----------------------------------------------------
# Operands fall into three priority classes: tensors with dims > 0-dim tensors >
# Python numbers. A lower class only matters when its category (bool < integer <
# floating) is higher than everything in the classes above it.

_PROMOTE_CACHE = {}


def promote_pair(a, b):
    """Result dtype of two dtypes of the same priority class."""
    if a is b:
        return a
    key = (a, b)
    r = _PROMOTE_CACHE.get(key)
    if r is None:
        if a.kind != b.kind:
            r = a if a.kind > b.kind else b
        elif a is uint8 or b is uint8:
            other = b if a is uint8 else a
            r = int16 if other is int8 else other    # uint8 + int8 -> int16 (as torch)
        else:
            r = a if a.itemsize >= b.itemsize else b
        _PROMOTE_CACHE[key] = r
    return r


def scalar_kind(v):
    """Category of a Python number: 0 bool, 1 int, 2 float (None if not a number)."""
    t = type(v)
    if t is bool or t is np.bool_:
        return 0
    if t is int or isinstance(v, np.integer):
        return 1
    if t is float or isinstance(v, np.floating):
        return 2
    return None


def result_type_of(arrays, scalar_kinds=()):
    """PyTorch's result dtype of operands given as arrays (0-d ones count only
    when of a higher category) and categories of Python scalars."""
    dims, zero_dims = [], []
    for a in arrays:
        (dims if a.ndim else zero_dims).append(from_numpy_dtype(a.dtype))
    return result_type(dims, zero_dims, scalar_kinds)


def result_type(dims, zero_dims, scalar_kinds, default_float=None):
    """PyTorch's result_type over dtypes of dimensioned tensors, 0-d tensors and
    categories of Python scalars."""
    r = None
    for d in dims:
        r = d if r is None else promote_pair(r, d)
    z = None
    for d in zero_dims:
        z = d if z is None else promote_pair(z, d)
    if r is None:
        r = z
    elif z is not None and z.kind > r.kind:
        r = z
    if scalar_kinds:
        k = max(scalar_kinds)
        if r is None or k > r.kind:
            r = (bool_, int64, default_float or _default_float[0])[k]
    return r
