"""Arithmetic: + - * / ** and their Python-number (Scalar overload) forms.

Names follow libtorch: a tensor operand gives the `...Backward0` node, a Python
number the Scalar overload (`x * 3` is MulBackward1, `1 - x` RsubBackward1).
Broadcast inputs get their gradients summed back by the engine, not here."""
import math
import operator

import numpy as np

from .. import _dtype
from .._dtype import result_type_of
from ..autograd.op import Op
from ..tensor import Tensor
from . import prims as P
from ._util import number, promote_for_scalar, as_float, scalar_op, check_fits, half_rounded, wrap_int

_float32 = np.dtype(np.float32)


# ---- tensor (op) tensor ------------------------------------------------------------

class Add(Op):
    _name, op_name, promotes = "AddBackward0", "add", True

    def forward(self, a, b):
        return P.add(a, b)

    def backward(self, g):
        return g, g


class AddScaled(Op):                    # a + alpha * b
    _name, op_name, promotes = "AddBackward0", "add", True

    def forward(self, a, b, alpha):
        self.alpha = alpha
        if a.dtype.kind in "biu":       # alpha in the result dtype, as PyTorch: it must fit (-1 into uint8 is
            alpha = np.int64(check_fits(alpha, a.dtype, self.op_name)).astype(a.dtype)   # 255), and bool +
        else:                                                           # alpha * b is a | (b & bool(alpha))
            check_fits(alpha, a.dtype, self.op_name)                    # (1e5 into float16 raises)
        return P.add_scaled(a, b, alpha)

    def backward(self, g):
        return g, (P.mul(g, self.alpha) if self.needs(1) else None)


def check_no_bool_sub(kind_a, kind_b, op_name="sub"):
    """PyTorch refuses `-` with a bool operand (tensor or Python bool), with
    its advice for each case; kinds are NumPy dtype kinds ('b' for bool)."""
    if kind_a == "b" or kind_b == "b":
        if kind_a == kind_b:
            raise RuntimeError(f"{op_name}: Subtraction, the `-` operator, with two bool tensors is not supported. "
                               "Use the `^` or `logical_xor()` operator instead.")
        raise RuntimeError(f"{op_name}: Subtraction, the `-` operator, with a bool tensor is not supported. If you "
                           "are trying to invert a mask, use the `~` or `logical_not()` operator instead.")


class Sub(Op):
    _name, op_name, promotes = "SubBackward0", "sub", True

    @staticmethod
    def promote(a, b):           # (apply2 calls this only when the dtypes differ: off the hot path)
        check_no_bool_sub(a._data.dtype.kind, b._data.dtype.kind)
        return Op.promote(a, b)

    def forward(self, a, b):
        return P.sub(a, b)

    def _error(self, exc, inputs):      # bool - bool: NumPy and CuPy refuse it, each in its own words
        if inputs[0]._data.dtype.kind == "b" and inputs[1]._data.dtype.kind == "b":
            check_no_bool_sub("b", "b", self.op_name)
        return super()._error(exc, inputs)

    def backward(self, g):
        return g, (P.neg(g) if self.needs(1) else None)


class SubScaled(AddScaled):             # a - alpha * b (alpha passed negated)
    _name, op_name = "SubBackward0", "sub"
    promote = Sub.promote


class Mul(Op):
    _name, op_name, promotes = "MulBackward0", "mul", True
    save_inputs = (0, 1)
    saved_for = ((1,), (0,))          # a only for b's gradient, b only for a's (as PyTorch saves)

    def forward(self, a, b):
        return P.mul(a, b)

    def backward(self, g, a, b):
        # P.mul, not g * b: on cuda the operator would run CuPy's ufunc, not our pack kernel
        return (P.mul(g, b) if self.needs(0) else None), (P.mul(g, a) if self.needs(1) else None)


def _in_float(a, b):
    """Both operands in the float type a division computes in: each goes
    straight there, as PyTorch's, not first to the integer result type
    (300 // uint8 would wrap); integers and bools in float32."""
    if a.dtype != b.dtype:
        r = result_type_of((a, b)).np
        r = r if r.kind == "f" else _dtype.get_default_float().np
        return a.astype(r, copy=False), b.astype(r, copy=False)
    return as_float(a), as_float(b)


class Div(Op):
    _name, op_name = "DivBackward0", "div"
    save_inputs = (0, 1)
    saved_for = ((1,), (0, 1))

    def forward(self, a, b):
        return P.div(*_in_float(a, b))

    def backward(self, g, a, b):
        return (P.div_bwd_a(g, b) if self.needs(0) else None,
                P.div_bwd_b(g, a, b) if self.needs(1) else None)


class Atan2(Op):
    """The angle of the point (b, a), in (-pi, pi]; computed as a division is."""
    _name, op_name = "Atan2Backward0", "atan2"
    save_inputs = (0, 1)

    def forward(self, a, b):
        return P.atan2(*_in_float(a, b))

    def backward(self, g, a, b):
        return (P.atan2_bwd_a(g, a, b) if self.needs(0) else None,
                P.atan2_bwd_b(g, a, b) if self.needs(1) else None)

    @staticmethod
    def jvp(y, inputs, tangents):
        # PyTorch's forward formula: NaN at a == b == 0, where its backward (transposed) gives 0
        (a, b), (ta, tb) = inputs, tangents
        return (b * ta - a * tb) / (a * a + b * b)


def _no_bool_pow():
    return NotImplementedError("pow: \"pow\" not implemented for 'Bool'")


class Pow(Op):
    _name, op_name, promotes = "PowBackward1", "pow", True
    save_inputs = (0, 1)
    save_result = True

    def forward(self, a, b):
        if a.dtype.kind == "b":         # (both are, after promotion) PyTorch has no bool pow; NumPy gives int8
            raise _no_bool_pow()
        return P.pow(a, b)

    def backward(self, g, a, b, y):
        return (P.pow_bwd_base(g, a, b) if self.needs(0) else None,
                P.pow_bwd_exp(g, a, b, y) if self.needs(1) else None)


def _pick_jvp(y, inputs, tangents, beats):
    """maximum/minimum's forward formula: the tangent of the operand picked (a's where beats(a, b)),
    the mean of both at ties and b's where either is NaN (the transposed backward: their sum there)."""
    (a, b), (ta, tb) = inputs, tangents
    return tb + beats(a, b).to(y.dtype).masked_fill(a == b, 0.5) * (ta - tb)


class Maximum(Op):
    _name, op_name, promotes = "MaximumBackward0", "maximum", True
    save_inputs = (0, 1)

    def forward(self, a, b):
        return P.maximum(a, b)

    def backward(self, g, a, b):
        return (P.maximum_bwd(g, a, b) if self.needs(0) else None,
                P.maximum_bwd(g, b, a) if self.needs(1) else None)

    @staticmethod
    def jvp(y, inputs, tangents):
        return _pick_jvp(y, inputs, tangents, operator.gt)


class Minimum(Op):
    _name, op_name, promotes = "MinimumBackward0", "minimum", True
    save_inputs = (0, 1)

    def forward(self, a, b):
        return P.minimum(a, b)

    def backward(self, g, a, b):
        return (P.minimum_bwd(g, a, b) if self.needs(0) else None,
                P.minimum_bwd(g, b, a) if self.needs(1) else None)

    @staticmethod
    def jvp(y, inputs, tangents):
        return _pick_jvp(y, inputs, tangents, operator.lt)


# ---- tensor (op) Python number ------------------------------------------------------

class AddScalar(Op):
    _name, op_name = "AddBackward1", "add"
    exact_grads = True

    def forward(self, x, s):
        if x.dtype.char in "fd":
            return P.add(x, s)
        return scalar_op(P.add, x, s, half_scalar=True)

    def backward(self, g):
        return g


class SubScalar(Op):
    _name, op_name = "SubBackward1", "sub"
    exact_grads = True

    def forward(self, x, s):
        if x.dtype.char in "fd" and s.__class__ is not bool:
            return P.sub(x, s)
        check_no_bool_sub(x.dtype.kind, "b" if s.__class__ is bool else "n")
        return scalar_op(P.sub, x, s, half_scalar=True)

    def backward(self, g):
        return g


class RsubScalar(Op):                    # s - x
    _name, op_name = "RsubBackward1", "rsub"
    exact_grads = True

    def forward(self, x, s):
        if x.dtype.char in "fd" and s.__class__ is not bool:
            return P.rsub(x, s)
        check_no_bool_sub(x.dtype.kind, "b" if s.__class__ is bool else "n")
        return scalar_op(P.rsub, x, s, half_scalar=True)

    def backward(self, g):
        return P.neg(g)


class MulScalar(Op):
    _name, op_name = "MulBackward1", "mul"
    exact_grads = True
    half = False          # float16 x: the gradient, too, in float32 with s unrounded (g / 1e5 is not 0)

    def forward(self, x, s):
        self.s = s
        if x.dtype.char in "fd":
            return P.mul(x, s)
        self.half = x.dtype.char == "e"
        return scalar_op(P.mul, x, s)

    def backward(self, g):
        if self.half:
            return scalar_op(P.mul, g, self.s) if type(g) is not Tensor else g * self.s
        return P.mul(g, self.s)


class DivScalar(Op):
    _name, op_name = "DivBackward1", "div"
    exact_grads = True
    half = False

    def forward(self, x, s):
        self.s = s
        if x.dtype.char in "fd":
            return P.div(x, s)
        self.half = x.dtype.char == "e"
        return scalar_op(P.div, x, s) if x.dtype.kind == "f" else P.div(as_float(x), s)

    def backward(self, g):
        if self.half:
            return scalar_op(P.div, g, self.s) if type(g) is not Tensor else g / self.s
        return P.div(g, self.s)


class PowScalar(Op):                     # x ** e
    _name, op_name = "PowBackward0", "pow"
    exact_grads = True
    save_inputs = (0,)

    def forward(self, x, e):
        self.e = e
        if x.dtype.char in "fd":
            return P.pow(x, e)
        if x.dtype.char == "e":              # PyTorch converts the exponent to half, refusing overflow
            check_fits(e, x.dtype, self.op_name)
            return P.pow(x, e)
        if type(e) is bool:                               # bool ** bool stays bool (NumPy: int8)
            if x.dtype.kind == "b":
                return x.copy() if e else np.ones_like(x)
        elif type(e) is int and e < 0:
            # PyTorch refuses; NumPy does too, but CuPy computes 1, +-1 or 0: checked here
            raise ValueError("Integers to negative integer powers are not allowed.")
        return P.pow(promote_for_scalar(x, e), e)

    def backward(self, g, x):
        if self.e == 0:
            return P.zeros_like(g)
        return P.pow_bwd(g, x, self.e)


class RpowScalar(Op):                    # base ** x
    _name, op_name = "PowBackward2", "pow"
    exact_grads = True
    save_inputs = (0,)
    save_result = True

    def forward(self, x, base):
        self.base = base
        if x.dtype.char in "fd":
            return P.rpow(x, base)
        if x.dtype.kind == "b" and type(base) is bool:
            raise _no_bool_pow()
        return scalar_op(P.rpow, x, base, half_scalar=True)   # ((-1) ** uint8 tensor: 255 ** x, as PyTorch)

    def backward(self, g, x, y):
        if self.base == 0:               # pow_backward_exponent: 0 where exponent >= 0
            return P.where(x >= 0, 0, g * (y * -math.inf))
        # log of a negative (or -inf) base is NaN in PyTorch's formula (math.log would raise)
        return g * (y * (math.log(self.base) if self.base > 0 else math.nan))


class Neg(Op):
    _name, op_name = "NegBackward0", "neg"
    exact_grads = True

    def forward(self, x):
        if x.dtype.kind == "b":
            raise RuntimeError("neg: Negation, the `-` operator, on a bool tensor is not supported. If you "
                            "are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
        return P.neg(x)

    def backward(self, g):
        return P.neg(g)


# ---- floor division and remainder (// and %) --------------------------------------
# Python's rounding: toward -inf, the remainder takes the divisor's sign (NumPy's and
# PyTorch's alike). Integer division by zero raises, as PyTorch's (NumPy gives 0).

def _check_divisor(a, b, kernel, op_name):
    """a and b: the operand arrays (b may be 0-d), in their result types."""
    if a.dtype.kind == "b" and b.dtype.kind == "b":
        raise NotImplementedError(f'{op_name}: "{kernel}" not implemented for \'Bool\'')
    if b.dtype.kind in "iub" and a.dtype.kind in "iub" and not b.all():
        raise RuntimeError(f"{op_name}: ZeroDivisionError (an integer divisor is 0)")


def _check_number_divisor(x, s, kernel, op_name):
    """_check_divisor for a Python-number divisor s (an int wrapped into x's type)."""
    if x.dtype.kind in "iub" and type(s) is not float:
        s = wrap_int(int(s), x.dtype) if x.dtype.kind in "iu" else s
        _check_divisor(promote_for_scalar(x, s), np.asarray(s), kernel, op_name)


class Remainder(Op):
    _name, op_name, promotes = "RemainderBackward1", "remainder", True
    save_inputs = (0, 1)
    saved_for = ((1,), (1,))          # both only for the divisor's gradient

    def forward(self, a, b):
        _check_divisor(a, b, "remainder_cpu", self.op_name)
        return np.remainder(a, b)

    def backward(self, g, a, b):
        # d(a % b)/db = -floor(a / b): a step function of b whose own derivative is 0 (under create_graph
        # a node of a and b all the same, as PyTorch's div(rounding_mode="floor"): the gradient requires grad)
        if not self.needs(1):
            return g, None
        q = a.div(b, rounding_mode="floor") if isinstance(a, Tensor) else np.floor_divide(a, b)
        return g, P.neg(P.mul(g, q))


class RemainderScalar(Op):                # x % s
    _name, op_name = "RemainderBackward0", "remainder"
    exact_grads = True

    def forward(self, x, s):
        _check_number_divisor(x, s, "remainder_cpu", self.op_name)
        return np.remainder(x, s) if x.dtype.char in "fd" else scalar_op(np.remainder, x, s, half_scalar=True)

    def backward(self, g):
        return g


class NoDerivative(Op):
    """A result PyTorch records without a formula (grad_fn NotImplemented):
    it requires grad, and a backward through it raises, as there."""
    _name = "torch::autograd::NotImplemented"
    aten = ""

    def backward(self, g):
        raise RuntimeError(f"derivative for aten::{self.aten} is not implemented")


class FloorDivide(NoDerivative):
    op_name, aten, promotes = "floor_divide", "floor_divide", True

    def forward(self, a, b):
        _check_divisor(a, b, "div_floor_cpu", self.op_name)
        return np.floor_divide(a, b)


class FloorDivideScalar(NoDerivative):   # x // s
    op_name, aten = "floor_divide", "floor_divide"

    def forward(self, x, s):
        _check_number_divisor(x, s, "div_floor_cpu", self.op_name)
        return np.floor_divide(x, s) if x.dtype.char in "fd" else scalar_op(np.floor_divide, x, s)


class NumberRemainder(Remainder):         # s % x: the number wrapped in a tensor, no formula
    _name, aten = "torch::autograd::NotImplemented", "remainder.Scalar_Tensor"
    backward = NoDerivative.backward
    save_inputs = ()


# ---- the functions behind the methods and operators --------------------------------
# A Tensor operand goes to the tensor op, a Python number to the Scalar overload.
# Operator forms return NotImplemented for other types, so Python can try the
# other operand (and then raises its TypeError naming the operator).

def _is_number(b):
    return isinstance(b, (bool, int, float)) or (isinstance(b, np.generic) and b.dtype.kind in "biuf")


def _not_an_operand(name, other):
    """An operator's answer to an operand of another type: NotImplemented, so
    Python can try the other side; an ndarray gets our error (NumPy's own
    would blame its ufuncs), and so does a complex number (no other side
    computes with a Tensor; Python's error would not say complex tensors are
    not supported)."""
    if isinstance(other, np.ndarray):
        raise TypeError(f"{name}(): argument 'other' must be Tensor or Number, not ndarray (make it a tensor: "
                        f"ag.tensor(a) or ag.from_numpy(a))")
    if isinstance(other, (complex, np.complexfloating)):
        raise TypeError(f"{name}(): argument 'other' must be Tensor or Number, not complex (no complex dtypes)")
    return NotImplemented


def _entry(name, tensor_op, scalar_op, operator):
    apply2, apply1 = tensor_op.apply2, scalar_op.apply1

    def fn(input, other):
        t = type(other)
        if t is Tensor:
            return apply2(input, other)
        if t is float or t is int:
            return apply1(input, other)
        if isinstance(other, Tensor):          # a subclass (nn.Parameter)
            return apply2(input, other)
        if operator and not _is_number(other):
            return _not_an_operand(name, other)
        return apply1(input, number(other, name))
    fn.__name__ = fn.__qualname__ = name
    return fn


remainder = _entry("remainder", Remainder, RemainderScalar, False)
floor_divide = _entry("floor_divide", FloorDivide, FloorDivideScalar, False)
remainder_op = _entry("remainder", Remainder, RemainderScalar, True)
floor_divide_op = _entry("floor_divide", FloorDivide, FloorDivideScalar, True)
mul = _entry("mul", Mul, MulScalar, False)
_div = _entry("div", Div, DivScalar, False)


def div(input, other, *, rounding_mode=None):
    """input / other; rounding_mode "trunc" or "floor" rounds the quotient (aliases.divide's RoundedDiv)."""
    if rounding_mode is None:
        return _div(input, other)
    from .aliases import divide                 # (aliases builds on this module)
    return divide(input, other, rounding_mode=rounding_mode)


mul_op = _entry("mul", Mul, MulScalar, True)
div_op = _entry("div", Div, DivScalar, True)
pow_op = _entry("pow", Pow, PowScalar, True)
add_op = _entry("add", Add, AddScalar, True)
sub_op = _entry("sub", Sub, SubScalar, True)


def pow(input, exponent):
    """_entry's dispatch under PyTorch's argument name (x.pow(exponent=2))."""
    t = type(exponent)
    if t is Tensor:
        return Pow.apply2(input, exponent)
    if t is float or t is int:
        return PowScalar.apply1(input, exponent)
    if isinstance(exponent, Tensor):          # a subclass (nn.Parameter)
        return Pow.apply2(input, exponent)
    return PowScalar.apply1(input, number(exponent, "pow", "exponent"))


_ONE = 1     # alpha's default: `alpha is _ONE` takes the fast path for an int 1 (CPython caches small
             # ints) but not for True or 1.0, which PyTorch checks against the operands' dtypes


def add(input, other, alpha=1):
    if alpha is _ONE:
        if type(other) is Tensor:
            return Add.apply2(input, other)
        return add_op(input, other) if isinstance(other, Tensor) or _is_number(other) else _bad_operand("add", other)
    alpha = _alpha(input, other, alpha, "add")
    if isinstance(other, Tensor):
        return AddScaled.apply2(input, other, alpha)
    return AddScalar.apply1(input, _scaled(input, number(other, "add"), alpha, "add"))


def sub(input, other, alpha=1):
    if alpha is _ONE:
        return sub_op(input, other) if isinstance(other, Tensor) or _is_number(other) else _bad_operand("sub", other)
    alpha = _alpha(input, other, alpha, "sub")
    if isinstance(other, Tensor):
        return SubScaled.apply2(input, other, -alpha)
    return SubScalar.apply1(input, _scaled(input, number(other, "sub"), alpha, "sub"))


_NUMBER_KIND = {bool: "b", float: "f"}


def _alpha(a, b, alpha, op_name):
    """alpha, checked as PyTorch: it does not take part in type promotion, so
    a float alpha needs a floating result and a bool one a bool result."""
    kinds = a._data.dtype.kind + (b._data.dtype.kind if isinstance(b, Tensor)
                                  else _NUMBER_KIND.get(type(number(b, op_name)), "i"))
    if op_name == "sub":
        check_no_bool_sub(*kinds)
    if isinstance(alpha, bool) and kinds != "bb":          # (a np.bool_ alpha is a float to PyTorch)
        raise RuntimeError(f"{op_name}: Boolean alpha only supported for Boolean results.")
    alpha = number(alpha, op_name, "alpha")
    if isinstance(alpha, float) and "f" not in kinds:
        raise RuntimeError(f"{op_name}: For integral input tensors, argument alpha must not be a floating point number.")
    return alpha


def _scaled(a, v, alpha, op_name):
    """alpha * v for a Python-number operand v, with alpha in the result dtype
    as PyTorch: a bool result takes it as a bool; an integer one refuses an
    alpha that does not fit (the product itself wraps, as the tensor's)."""
    kind = a._data.dtype.kind
    if v.__class__ is bool and kind == "b":
        return v and bool(alpha)
    if kind in "iu" and v.__class__ is not float:
        check_fits(alpha if op_name == "add" else -alpha, a._data.dtype, op_name)
    elif kind == "f":
        check_fits(alpha, a._data.dtype, op_name)
        if a._data.dtype.char == "e":    # PyTorch: the number and alpha in half, their product in float32
            return np.float32(half_rounded(v)) * np.float32(half_rounded(alpha))
    return v * alpha


def _bad_operand(name, b):
    number(b, name)                      # raises the TypeError naming the op


def rsub(input, other):
    """other - input (the reflected `-`)."""
    if isinstance(other, Tensor):
        return Sub.apply2(other, input)
    if not _is_number(other):
        return _not_an_operand("sub", other)
    return RsubScalar.apply1(input, number(other, "rsub"))


def rdiv(a, b):
    """b / a with b a Python number: libtorch wraps the number in a tensor (DivBackward0)."""
    from ..creation import scalar_tensor
    if not isinstance(b, Tensor):
        if not _is_number(b):
            return _not_an_operand("div", b)
        b = scalar_tensor(number(b, "div"), a)
    return Div.apply2(b, a)


def wrapped_number(n, t):
    """Python number n as libtorch wraps it next to tensor t: a 0-d tensor, an
    int wrapped into t's integer type (-1 next to a uint8 tensor is 255)."""
    from ..creation import scalar_tensor
    if type(n) is int and t._data.dtype.kind in "iu":
        n = wrap_int(n, t._data.dtype)
    return scalar_tensor(n, t)


def _reflected(cls, name):
    """b (op) a with b a Python number: the tensor op on the wrapped number."""
    def fn(a, b):
        if isinstance(b, Tensor):
            return cls.apply2(b, a)
        if not _is_number(b):
            return _not_an_operand(name, b)
        return cls.apply2(wrapped_number(number(b, name), a), a)
    return fn


rremainder = _reflected(NumberRemainder, "remainder")
rfloor_divide = _reflected(FloorDivide, "floor_divide")


def rpow(a, b):
    """b ** a with b a Python number (PowBackward2)."""
    if isinstance(b, Tensor):
        return Pow.apply2(b, a)
    if not _is_number(b):
        return _not_an_operand("pow", b)
    return RpowScalar.apply1(a, number(b, "pow", "self"))


def neg(input):
    return Neg.apply1(input)


def atan2(input, other):
    """Elementwise atan2(input, other): the angle of the point (other, input)."""
    if not isinstance(other, Tensor):
        raise TypeError(f"atan2(): argument 'other' (position 1) must be Tensor, not {type(other).__name__}")
    return Atan2.apply2(input, other)


def maximum(input, other):
    if not isinstance(other, Tensor):
        raise TypeError(f"maximum(): argument 'other' must be Tensor, not {type(other).__name__}")
    return Maximum.apply2(input, other)


def minimum(input, other):
    if not isinstance(other, Tensor):
        raise TypeError(f"minimum(): argument 'other' must be Tensor, not {type(other).__name__}")
    return Minimum.apply2(input, other)
