"""PyTorch's other names for existing ops (absolute, arccos, divide, greater, swapaxes, ...) and small Tensor
attributes and utilities (type_as, sum_to_size, itemsize, ...). An alias is the very same function as the op it
names, so its node (grad_fn) is the op's, as in PyTorch."""
import warnings

import numpy as np

from .. import _dtype
from ..autograd.op import Op
from ..tensor import Tensor
from . import prims as P
from . import arith, compare, pointwise, shape
from ._util import number
from .functions import tensor_function


# ---- divide with a rounding mode ------------------------------------------------------------

class RoundedDiv(Op):
    """a / b rounded toward zero ('trunc') or down ('floor'), in the promoted dtype; the gradient is zero
    (PyTorch's formula for a rounded quotient)."""
    _name, op_name, promotes = "DivBackward2", "div", True

    def forward(self, a, b, mode):
        arith._check_divisor(a, b, f"div_{mode}_cpu", "div")
        if a.dtype.kind == "f":
            return _floor_div_float(a, b) if mode == "floor" else np.trunc(a / b)
        if a.dtype.kind == "b":
            a, b = a.astype(np.int64), b.astype(np.int64)   # (bool by bool was refused above)
        q = np.floor_divide(a, b)
        if mode == "trunc":      # (floor rounds a negative inexact quotient one further from zero)
            q = q + ((q < 0) & (a - q * b != 0)).astype(q.dtype)
        return q

    def backward(self, g):
        return tuple(P.zeros_like(g) if self.needs(i) else None for i in (0, 1))


def _floor_div_float(a, b):
    """PyTorch's floating floor division: from fmod, so that a finite a over an infinite b of the other sign
    is -1 (not floor(-0.0)), and a zero quotient keeps the sign of a / b."""
    q = a / b
    mod = np.fmod(a, b)
    div = (a - mod) / b
    div = np.where((mod != 0) & ((b < 0) != (mod < 0)), div - 1, div)
    fl = np.floor(div)
    fl = np.where(div - fl > 0.5, fl + 1, fl)
    fl = np.where(div == 0, np.copysign(np.zeros_like(q), q), fl)
    return np.where(b == 0, q, fl).astype(q.dtype, copy=False)


def _rounding_mode(mode):
    if mode is not None and not isinstance(mode, str):
        raise TypeError(f"div(): argument 'rounding_mode' must be str, not {type(mode).__name__}")
    if mode not in (None, "trunc", "floor"):
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{mode}'")
    return mode


def divide(input, other, *, rounding_mode=None):
    """input / other; rounding_mode 'trunc' or 'floor' rounds the quotient (integers stay integers)."""
    mode = _rounding_mode(rounding_mode)
    if mode is None:
        return arith.div(input, other)
    if not isinstance(other, Tensor):
        if not arith._is_number(other):
            raise TypeError(f"div(): argument 'other' must be Tensor or Number, not {type(other).__name__}")
        other = arith.wrapped_number(number(other, "div"), input)
    return RoundedDiv.apply2(input, other, mode)


def _number_divide(t, n, rounding_mode=None):        # ag.divide(n, t)
    mode = _rounding_mode(rounding_mode)
    if mode is None:
        return arith.rdiv(t, n)
    return RoundedDiv.apply2(arith.wrapped_number(n, t), t, mode)


# ---- the Tensor utilities ----------------------------------------------------------------

def _tensor(x, op_name, arg="other"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op_name}(): argument '{arg}' must be Tensor, not {type(x).__name__}")
    return x


def positive(input):
    """input itself (PyTorch refuses bool: unary + is arithmetic)."""
    if input._data.dtype.kind == "b":
        raise RuntimeError("positive(): The `+` operator, on a bool tensor is not supported.")
    return input


def fix(input):
    """trunc(input)."""
    return pointwise.trunc(input)


def adjoint(input):
    """The conjugate transpose of the last two dims (the transpose: no complex numbers here)."""
    if input.ndim == 0:
        warnings.warn("adjoint() is deprecated on 0-D tensors. Consider using x.conj().", UserWarning, stacklevel=2)
        return input.view(())
    if input.ndim == 1:
        raise RuntimeError("adjoint(): tensor.adjoint() is only supported on matrices or batches of matrices. "
                           "Got 1-D tensor.")
    return shape.mT(input)


def mH(self):
    if self.ndim < 2:
        raise RuntimeError(f"tensor.mH is only supported on matrices or batches of matrices. Got {self.ndim}-D "
                           "tensor.")
    return shape.mT(self)


def H(self):
    if self.ndim == 0:
        warnings.warn("Tensor.H is deprecated on 0-D tensors. Consider using x.conj().", UserWarning, stacklevel=2)
        return self.view(())
    if self.ndim != 2:
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {self.ndim}-D tensor.")
    return shape.mT(self)


def type_as(self, other):
    """self in other's dtype and on other's device (PyTorch's type_as takes other's full type)."""
    _tensor(other, "type_as")
    return self.to(other.device, other.dtype)


def sum_to_size(self, *size):
    """self summed down to `size` (a size self expands to): the leading dims and those of size 1 in `size`."""
    size = shape.sizes_arg(size, "sum_to_size")
    have = self.shape
    lead = len(have) - len(size)
    if lead < 0 or any(s != h and s != 1 for s, h in zip(size, have[lead:])):
        raise RuntimeError(f"sum_to_size(): size {{{list(size)}}} is not expandable to size {{{list(have)}}}.")
    if size == have:
        return self
    dims = tuple(range(lead)) + tuple(lead + i for i, (s, h) in enumerate(zip(size, have[lead:])) if s != h)
    out = self.sum(dims, keepdim=True)
    return out.view(size) if lead else out


def is_signed(self):
    return self._data.dtype.kind in "fi"


def is_nonzero(self):
    n = self.numel()
    if n != 1:
        raise RuntimeError("is_nonzero(): Boolean value of Tensor with " +
                           ("no values" if n == 0 else "more than one value") + " is ambiguous")
    return bool(self._data.reshape(()).item() != 0)


def is_same_size(self, other):
    return self.shape == _tensor(other, "is_same_size").shape


def _address(a, cuda):
    return a.data.ptr if cuda else a.__array_interface__["data"][0]


def storage_offset(self):
    """The offset, in elements, of self's first element from the start of the array its data lives in."""
    a = self._data
    root = a
    while isinstance(getattr(root, "base", None), type(a)):
        root = root.base
    cuda = self._backend.is_cuda
    if not a.size or root is a:
        return 0
    return (_address(a, cuda) - _address(root, cuda)) // a.itemsize


def split_with_sizes(self, split_sizes, dim=0):
    if not isinstance(split_sizes, (list, tuple)):
        raise TypeError(f"split_with_sizes(): argument 'split_sizes' must be tuple of ints, not "
                        f"{type(split_sizes).__name__}")
    return shape.split(self, list(split_sizes), dim)


def narrow_copy(self, dim, start, length):
    """A copy of narrow(dim, start, length) (NarrowCopyBackward0)."""
    out = shape.clone(shape.narrow(self, dim, start, length))
    if out.grad_fn is not None:
        out.grad_fn._name = "NarrowCopyBackward0"     # (one node, as PyTorch's)
    return out


def scalar_tensor(s, *, dtype=None, layout=None, device=None, pin_memory=None, requires_grad=False):
    """A 0-d tensor of the number s, float32 unless dtype says otherwise (even for an int or bool s)."""
    from ..creation import tensor
    if isinstance(s, Tensor):
        if s.numel() != 1:
            raise RuntimeError(f"scalar_tensor(): a Tensor with {s.numel()} elements cannot be converted to Scalar")
        s = s.item()
    s = number(s, "scalar_tensor", "s")
    return tensor(s, dtype=_dtype.get_default_float() if dtype is None else dtype, device=device,
                  requires_grad=requires_grad)


# the Tensor methods, ag functions and in-place forms (x.<name>_) this family adds
METHODS = {
    "absolute": pointwise.abs, "arccos": pointwise.acos, "arcsin": pointwise.asin, "arctan": pointwise.atan,
    "clip": pointwise.clamp, "divide": divide, "multiply": arith.mul, "subtract": arith.sub,
    "negative": arith.neg, "true_divide": arith.div, "positive": positive, "fix": fix,
    "greater": compare.gt, "greater_equal": compare.ge, "less": compare.lt, "less_equal": compare.le,
    "not_equal": compare.ne, "adjoint": adjoint, "mH": property(mH), "H": property(H),
    "type_as": type_as, "sum_to_size": sum_to_size, "is_signed": is_signed, "is_nonzero": is_nonzero,
    "is_same_size": is_same_size, "storage_offset": storage_offset, "split_with_sizes": split_with_sizes,
    "narrow_copy": narrow_copy,
    "itemsize": property(lambda self: self._data.dtype.itemsize),
    "nbytes": property(lambda self: self._data.size * self._data.dtype.itemsize),
    "is_cpu": property(lambda self: not self._backend.is_cuda),
}

FUNCTIONS = {
    "absolute": tensor_function("absolute", pointwise.abs),
    "arccos": tensor_function("arccos", pointwise.acos),
    "arcsin": tensor_function("arcsin", pointwise.asin),
    "arctan": tensor_function("arctan", pointwise.atan),
    "clip": tensor_function("clip", pointwise.clamp),
    "divide": tensor_function("divide", divide, _number_divide),
    "true_divide": tensor_function("true_divide", arith.div, arith.rdiv),
    "multiply": tensor_function("multiply", arith.mul, arith.mul),
    "subtract": tensor_function("subtract", arith.sub),
    "negative": tensor_function("negative", arith.neg),
    "positive": tensor_function("positive", positive),
    "fix": tensor_function("fix", fix),
    "greater": tensor_function("greater", compare.gt),
    "greater_equal": tensor_function("greater_equal", compare.ge),
    "less": tensor_function("less", compare.lt),
    "less_equal": tensor_function("less_equal", compare.le),
    "not_equal": tensor_function("not_equal", compare.ne),
    "swapaxes": tensor_function("swapaxes", shape.transpose),
    "swapdims": tensor_function("swapdims", shape.transpose),
    "moveaxis": tensor_function("moveaxis", shape.movedim),
    "concatenate": shape.cat,
    "adjoint": tensor_function("adjoint", adjoint),
    "scalar_tensor": scalar_tensor,
    "split_with_sizes": tensor_function("split_with_sizes", split_with_sizes),
    "narrow_copy": tensor_function("narrow_copy", narrow_copy),
}

# the in-place forms PyTorch has for these names
INPLACE = dict.fromkeys(("absolute", "arccos", "arcsin", "arctan", "clip", "divide", "multiply", "subtract",
                         "negative", "true_divide", "fix"))
