"""Tensor methods and operators, each delegating to the op families."""
from ..tensor import Tensor
from .. import creation
from . import arith, pointwise, reduction, linalg, shape, indexing, compare, inplace, sorting, scatter, diagonal
from . import products, composite_pointwise, statistics, rearrange, searching, windows, decompositions
from . import bitwise, gamma, aliases, constructions, sampling
from . import bessel, polynomials, inplace_views, inplace_functions, functional_aliases, lowlevel

# the families that list their own methods and functions (METHODS, FUNCTIONS)
SELF_LISTING = (products, composite_pointwise, statistics, rearrange, searching, windows, decompositions, bitwise, gamma,
                aliases, constructions, sampling, scatter, bessel, polynomials, inplace_views,
                inplace_functions, functional_aliases, lowlevel)


def _to(self, *args, dtype=None, device=None, non_blocking=False, copy=False, memory_format=None):
    """to(device), to(dtype), to(device, dtype), to(other_tensor); returns self
    when nothing changes (unless copy=True)."""
    from .. import _dtype
    from ..backend import device as _device, get as _get_backend
    for a in args:
        if isinstance(a, Tensor):
            dtype, device = a.dtype, a.device
        elif isinstance(a, _dtype.dtype):
            dtype = a
        elif isinstance(a, str):
            try:
                device = _device(a)
            except ValueError:
                dtype = _dtype.as_dtype(a, "to")
        elif isinstance(a, _device.__mro__[0]) or isinstance(a, int):
            device = _device(a)
        else:
            dtype = _dtype.as_dtype(a, "to")
    out = self
    if device is not None:
        dst = _get_backend(device)
        if dst is not self._backend:
            out = shape.ToDevice.apply1(out, self._backend, dst)
    dt = _dtype.as_dtype(dtype, "to")
    if dt is not None and dt.np != out._data.dtype:
        if dt.is_floating_point:
            out = shape.ToDtype.apply1(out, dt.np)
        else:                           # an integer or bool result has no gradient (PyTorch)
            from ..autograd.grad_mode import no_grad
            with no_grad():
                out = shape.ToDtype.apply1(out, dt.np)
    if copy and out is self:
        out = shape.clone(self)
    return out


def _setitem(self, idx, value):
    indexing.setitem(self, idx, value)


def _cmp(fn):
    def c(self, other):
        if other is None or isinstance(other, (str, list, tuple, dict)):
            return NotImplemented
        return fn(self, other)
    return c


def _where_method(self, condition, other):
    return pointwise.where(condition, self, other)


METHODS = {
    # arithmetic
    "add": arith.add, "sub": arith.sub, "subtract": arith.sub, "mul": arith.mul, "multiply": arith.mul,
    "div": arith.div, "divide": arith.div, "true_divide": arith.div, "pow": arith.pow,
    "maximum": arith.maximum, "minimum": arith.minimum, "atan2": arith.atan2, "arctan2": arith.atan2,
    "__add__": arith.add_op, "__radd__": arith.add_op,
    "__sub__": arith.sub_op, "__rsub__": arith.rsub,
    "__mul__": arith.mul_op, "__rmul__": arith.mul_op,
    "__truediv__": arith.div_op, "__rtruediv__": arith.rdiv,
    "__pow__": arith.pow_op, "__rpow__": arith.rpow,
    "__mod__": arith.remainder_op, "__rmod__": arith.rremainder, "remainder": arith.remainder,
    "__floordiv__": arith.floor_divide_op, "__rfloordiv__": arith.rfloor_divide, "floor_divide": arith.floor_divide,
    "__neg__": arith.Neg.apply1, "neg": arith.Neg.apply1, "negative": arith.Neg.apply1, "__pos__": lambda self: self, "__abs__": pointwise.abs,
    "__matmul__": linalg.matmul,
    "__rmatmul__": lambda self, other: linalg.matmul(other, self) if isinstance(other, Tensor) else NotImplemented,
    "matmul": linalg.matmul, "mm": linalg.mm, "bmm": linalg.bmm, "dot": linalg.dot, "mv": linalg.mv,
    # pointwise
    "clamp": pointwise.clamp, "clip": pointwise.clamp, "clamp_min": pointwise.clamp_min, "lerp": pointwise.lerp,
    "clamp_max": pointwise.clamp_max, "where": _where_method,
    # reductions
    "sum": reduction.sum, "mean": reduction.mean, "prod": reduction.prod, "var": reduction.var,
    "std": reduction.std, "amax": reduction.amax, "amin": reduction.amin, "max": reduction.max,
    "min": reduction.min, "argmax": reduction.argmax, "argmin": reduction.argmin, "median": reduction.median,
    "logsumexp": reduction.logsumexp, "softmax": reduction.softmax, "log_softmax": reduction.log_softmax,
    "norm": reduction.norm, "all": reduction.all, "any": reduction.any, "cumsum": reduction.cumsum,
    "sort": sorting.sort, "topk": sorting.topk,
    # shape
    "reshape": shape.reshape, "view": shape.view, "flatten": shape.flatten, "unflatten": shape.unflatten,
    "view_as": lambda self, other: shape.view(self, other.shape),
    "reshape_as": lambda self, other: shape.reshape(self, other.shape),
    "squeeze": shape.squeeze, "unsqueeze": shape.unsqueeze, "transpose": shape.transpose,
    "swapaxes": shape.transpose, "swapdims": shape.transpose, "t": shape.t, "permute": shape.permute,
    "movedim": shape.movedim, "moveaxis": shape.movedim, "expand": shape.expand, "expand_as": shape.expand_as,
    "repeat": shape.repeat, "chunk": shape.chunk, "split": shape.split, "unbind": shape.unbind,
    "contiguous": shape.contiguous, "clone": shape.clone, "narrow": shape.narrow, "select": shape.select,
    "flip": shape.flip, "tril": shape.tril, "triu": shape.triu, "repeat_interleave": shape.repeat_interleave,
    "T": property(shape.numpy_T), "mT": property(shape.mT),
    "to": _to, "cpu": lambda self: _to(self, "cpu"),
    "cuda": lambda self, device=None: _to(self, "cuda" if device is None else device),
    "float": lambda self: _to(self, "float32"), "double": lambda self: _to(self, "float64"),
    "half": lambda self: _to(self, "float16"), "long": lambda self: _to(self, "int64"),
    "int": lambda self: _to(self, "int32"), "bool": lambda self: _to(self, "bool"),
    "short": lambda self: _to(self, "int16"), "char": lambda self: _to(self, "int8"),
    "byte": lambda self: _to(self, "uint8"),
    "get_device": lambda self: self.device.index or 0 if self._backend.is_cuda else -1,
    "new_zeros": creation.new_zeros, "new_ones": creation.new_ones, "new_empty": creation.new_empty,
    "new_full": creation.new_full, "new_tensor": creation.new_tensor, "masked_fill": pointwise.masked_fill,
    # indexing
    "__getitem__": indexing.getitem, "__setitem__": _setitem, "__delitem__": indexing.delitem,
    "unique": sorting.unique, "gather": indexing.gather, "index_select": indexing.index_select, "masked_select": indexing.masked_select,
    "scatter": scatter.scatter, "scatter_add": scatter.scatter_add, "index_add": scatter.index_add,
    "diagonal": diagonal.diagonal, "diag_embed": diagonal.diag_embed, "diag": diagonal.diag,
    "trace": diagonal.trace,
    # comparison and logic
    "eq": compare.eq, "ne": compare.ne, "lt": compare.lt, "le": compare.le, "gt": compare.gt, "ge": compare.ge,
    "__eq__": _cmp(compare.eq), "__ne__": _cmp(compare.ne), "__lt__": _cmp(compare.lt),
    "__le__": _cmp(compare.le), "__gt__": _cmp(compare.gt), "__ge__": _cmp(compare.ge),
    "isnan": compare.isnan, "isfinite": compare.isfinite, "isinf": compare.isinf,
    "isclose": compare.isclose, "allclose": compare.allclose, "equal": compare.equal,
    "logical_and": compare.logical_and, "logical_or": compare.logical_or,
    "logical_xor": compare.logical_xor, "logical_not": compare.logical_not,
    # (& | ^ << >> ~ and their reflected and in-place forms: ops/bitwise.py)
    # in place
    "zero_": inplace.zero_, "fill_": inplace.fill_, "fill_diagonal_": inplace.fill_diagonal_, "normal_": inplace.normal_, "uniform_": inplace.uniform_,
    "copy_": inplace.copy_,
}
for _name in pointwise.UNARY_NAMES:
    METHODS[_name] = getattr(pointwise, _name)
METHODS["absolute"] = pointwise.abs
METHODS.update(inplace._make_methods())
for _op, _ip in (("__iadd__", "add_"), ("__isub__", "sub_"), ("__imul__", "mul_"), ("__itruediv__", "div_")):
    METHODS[_op] = METHODS[_ip]
for _family in SELF_LISTING:
    METHODS.update(_family.METHODS)


def install():
    for name, fn in METHODS.items():
        setattr(Tensor, name, fn)
