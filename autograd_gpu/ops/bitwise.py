"""Bitwise and integer arithmetic, and float decomposition: bitwise_and/or/xor/not/shifts, gcd, lcm, fmod, ldexp, frexp, nextafter (torch's).

The bitwise ops, shifts, gcd and lcm take integer and bool tensors (shifts,
gcd, lcm: no bool result type) and never carry a gradient; operands are cast
to PyTorch's result dtype first, a Python int next to an integer tensor
wrapped into its type. fmod, ldexp and frexp are differentiable
(derivatives.yaml's formulas); nextafter passes input's gradient where
input != other and gives other zeros, as PyTorch 2.13 does."""
import collections
import math

import numpy as np

from .. import _dtype
from ..autograd.op import Op, as_array, device_mismatch
from ..tensor import Tensor
from . import arith, blocked, prims as P
from ._util import broadcastable, in_result_type, number, scalar_op
from .compare import _ufunc
from .functions import tensor_function
from .reduction import constant_like

FrexpResult = collections.namedtuple("frexp", ["mantissa", "exponent"])   # (torch.return_types.frexp)
_LN2 = math.log(2.0)


# ---- operands -----------------------------------------------------------------------

def _tensor(v, op_name, arg, position):
    if not isinstance(v, Tensor):
        raise TypeError(f"{op_name}(): argument '{arg}' (position {position}) must be Tensor, not {type(v).__name__}")
    return v


def _operand(v, op_name, arg):
    """A Tensor or a Python number (PyTorch's Scalar overloads)."""
    if isinstance(v, Tensor):
        return v
    if not arith._is_number(v):
        raise TypeError(f"{op_name}(): argument '{arg}' must be Tensor or Number, not {type(v).__name__}")
    return number(v, op_name, arg)


def _arrays(op_name, a, b):
    """The arrays of a and b (tensors or Python numbers, at least one a tensor)
    broadcastable, on one device, in PyTorch's result dtype; a number becomes a
    0-d array (an int wrapped into an integer result type). Returns (a, b, like)."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        if a._backend is not b._backend:
            raise device_mismatch(op_name, a, b)
        if not broadcastable(a.shape, b.shape):
            raise RuntimeError(f"{op_name}(): the shapes {list(a.shape)} and {list(b.shape)} do not broadcast")
    return in_result_type(a, b)


def _no_kernel(op_name, kernel, dtype, kinds):
    """PyTorch's NotImplementedError for a result dtype its kernel lacks."""
    if dtype.kind in kinds:
        raise NotImplementedError(f"{op_name}(): \"{kernel}\" not implemented for "
                                  f"'{_dtype.from_numpy_dtype(dtype).libtorch}'")


def _result(like, arr):
    return Tensor._make(as_array(arr, like._backend), like._backend)


# ---- bitwise and, or, xor, not; shifts ---------------------------------------------

def _shift_left(a, b):
    """a << b with PyTorch's rule: a count below 0 or past the width gives 0."""
    bits = a.dtype.itemsize * 8
    out_of_range = (b < 0) | (b >= bits)
    unsigned = np.dtype(f"u{a.dtype.itemsize}")
    # (shifting the unsigned view: a signed overflow would be undefined in C)
    r = np.left_shift(a.view(unsigned), np.where(out_of_range, 0, b).astype(unsigned)).view(a.dtype)
    return np.where(out_of_range, 0, r).astype(a.dtype, copy=False)


def _shift_right(a, b):
    """a >> b, arithmetic: a count below 0 or past the width gives the sign fill
    (0 for unsigned types), as PyTorch's."""
    bits = a.dtype.itemsize * 8
    top = bits - 1 if a.dtype.kind == "i" else bits
    out_of_range = (b < 0) | (b >= top)
    r = np.right_shift(a, np.where(out_of_range, 0, b).astype(a.dtype))
    fill = np.right_shift(a, bits - 1) if a.dtype.kind == "i" else np.zeros_like(a)
    return np.where(out_of_range, fill, r).astype(a.dtype, copy=False)


def _integer_binary(op_name, kernel, array_fn, no_kinds="f"):
    """An op of two integer (or bool) operands, either of them a Python number."""
    def fn(input, other):
        other = _operand(other, op_name, "other")
        a, b, like = _arrays(op_name, input, other)
        _no_kernel(op_name, kernel, a.dtype, no_kinds)
        return _result(like, array_fn(a, b))
    fn.__name__ = fn.__qualname__ = op_name
    return fn


bitwise_and = _integer_binary("bitwise_and", "bitwise_and_cpu", lambda a, b: _ufunc(np.bitwise_and, a, b))
bitwise_or = _integer_binary("bitwise_or", "bitwise_or_cpu", lambda a, b: _ufunc(np.bitwise_or, a, b))
bitwise_xor = _integer_binary("bitwise_xor", "bitwise_xor_cpu", lambda a, b: _ufunc(np.bitwise_xor, a, b))
bitwise_left_shift = _integer_binary("bitwise_left_shift", "lshift_cpu", _shift_left, "fb")
bitwise_right_shift = _integer_binary("bitwise_right_shift", "rshift_cpu", _shift_right, "fb")
bitwise_and.__doc__ = "input & other, bit by bit (integer and bool operands; other may be a Python number)."
bitwise_or.__doc__ = "input | other, bit by bit."
bitwise_xor.__doc__ = "input ^ other, bit by bit."
bitwise_left_shift.__doc__ = "input << other (a shift count below 0 or past the width gives 0)."
bitwise_right_shift.__doc__ = "input >> other, arithmetic (a count below 0 or past the width: the sign fill)."


def bitwise_not(input):
    """~input, bit by bit (integer and bool tensors; on bools: logical not)."""
    _no_kernel("bitwise_not", "bitwise_not_cpu", input._data.dtype, "f")
    a = input._data
    return _result(input, _ufunc(np.logical_not if a.dtype.kind == "b" else np.invert, a))


def _number_first(array_fn_name):
    """ag.<op>(number, tensor): the number wrapped next to the tensor, first."""
    def fn(t, n):
        return globals()[array_fn_name](arith.wrapped_number(n, t), t)
    return fn


# ---- gcd, lcm -------------------------------------------------------------------------

def _gcd(a, b):
    # (NumPy's gcd; CuPy has it too. |gcd| of int64's minimum wraps, as PyTorch's)
    return np.gcd(a, b)


def _lcm(a, b):
    g = np.gcd(a, b)
    q = np.where(g == 0, 0, a // np.where(g == 0, 1, g))
    return np.abs(q * b)


def _integer_tensors(op_name, kernel, array_fn):
    def fn(input, other):
        _tensor(other, op_name, "other", 2)
        a, b, like = _arrays(op_name, input, other)
        _no_kernel(op_name, kernel, a.dtype, "fb")
        return _result(like, array_fn(a, b))
    fn.__name__ = fn.__qualname__ = op_name
    return fn


gcd = _integer_tensors("gcd", "gcd_cpu", _gcd)
lcm = _integer_tensors("lcm", "lcm_cpu", _lcm)
gcd.__doc__ = "The greatest common divisor, elementwise (integer tensors; gcd(0, 0) = 0, never negative)."
lcm.__doc__ = "The least common multiple, elementwise (integer tensors; 0 where either is 0)."


# ---- fmod ---------------------------------------------------------------------------------
# C's fmod: the remainder of the quotient rounded toward zero, with the dividend's
# sign (remainder's takes the divisor's). Integer division by zero raises.

def _fmod32(a, b):
    """C's fmod of float32 a and b (an array broadcasting against a, or a float32 number), exactly,
    a chunk at a time in three reused float64 buffers: a - trunc(a / b) b where the quotient is below
    2^24 (there trunc of the rounded float64 quotient is the true one: a / b is never within 2^-25 of
    an integer it is not, and the float64 error is under 2^-29; q b has at most 48 bits; the remainder
    is a float32, so the difference is exact), the dividend's sign on a zero; elsewhere (b 0 or
    infinite, a infinite or NaN, larger quotients) libm's np.fmod, whose loop is slow (15 ns an
    element: 2M float32, 31 -> 4 ms)."""
    shape = np.broadcast_shapes(a.shape, np.shape(b))
    flat_a = np.broadcast_to(a, shape).reshape(-1)
    flat_b = np.broadcast_to(b, shape).reshape(-1) if type(b) is np.ndarray else None
    out = np.empty(flat_a.size, np.float32)
    n = min(blocked.CHUNK, flat_a.size)
    wide_a, wide_b, work = np.empty(n), np.empty(n), np.empty(n)
    for start in range(0, flat_a.size, n):
        stop = min(start + n, flat_a.size)
        x, q, r = wide_a[:stop - start], work[:stop - start], wide_b[:stop - start]
        x[...] = flat_a[start:stop]
        if flat_b is None:
            y = np.float64(b)
        else:
            y = r
            y[...] = flat_b[start:stop]
        np.trunc(np.divide(x, y, out=q), out=q)
        slow = ~(np.abs(q) < _FMOD_EXACT) | np.isinf(y)
        np.multiply(q, y, out=q)
        np.copysign(np.subtract(x, q, out=q), x, out=q)
        out[start:stop] = q
        if slow.any():
            where = np.flatnonzero(slow) + start
            out[where] = np.fmod(flat_a[where], flat_b[where] if flat_b is not None else b)
    return out.reshape(shape)


_FMOD_EXACT = 2.0 ** 24


def _fmod(a, b):
    """np.fmod; large float32 arrays by _fmod32 (the same values)."""
    if (type(a) is np.ndarray and a.dtype == np.float32 and a.size >= blocked.BLOCK
            and (type(b) is np.float32 or type(b) is np.ndarray and b.dtype == np.float32 and b.size <= a.size)):
        with np.errstate(all="ignore"):
            return _fmod32(a, b)
    return _ufunc(np.fmod, a, b)


class Fmod(Op):
    _name, op_name, promotes = "FmodBackward1", "fmod", True
    save_inputs = (0, 1)
    saved_for = ((1,), (1,))          # both only for the divisor's gradient

    def forward(self, a, b):
        arith._check_divisor(a, b, "fmod_cpu", self.op_name)
        return _fmod(a, b)

    def backward(self, g, a, b):
        # derivatives.yaml: other: -grad * self.div(other, rounding_mode="trunc"), a step function (its own
        # derivative 0; under create_graph a node of a and b all the same: the gradient requires grad)
        if not self.needs(1):
            return g, None
        q = a.div(b, rounding_mode="trunc") if isinstance(a, Tensor) else np.trunc(a / b)
        return g, P.neg(P.mul(g, q))


class FmodScalar(Op):                     # fmod(x, s)
    _name, op_name = "FmodBackward0", "fmod"
    exact_grads = True

    def forward(self, x, s):
        arith._check_number_divisor(x, s, "fmod_cpu", self.op_name)
        if x.dtype.char == "f":
            return _fmod(x, np.float32(s))          # (the number in float32, as NumPy's weak scalars and PyTorch)
        return np.fmod(x, s) if x.dtype.char == "d" else scalar_op(np.fmod, x, s, half_scalar=True)

    def backward(self, g):
        return g


fmod = arith._entry("fmod", Fmod, FmodScalar, False)
fmod.__doc__ = "input - trunc(input / other) * other: C's fmod, with input's sign (other may be a Python number)."


# ---- ldexp, frexp, nextafter ------------------------------------------------------------

class Ldexp(Op):
    """a * 2^e. Saves the exponent and the result, as PyTorch's: a write to `a` before backward is no error."""
    _name, op_name = "LdexpBackward0", "ldexp"
    save_inputs = (1,)
    save_result = True

    def forward(self, a, e):
        return P.mul(a, P.rpow(e if e.dtype == a.dtype else e.astype(a.dtype), 2.0))

    def backward(self, g, e, y):
        # self: grad * 2^other; other: grad * result * ln 2. For an integer exponent PyTorch
        # computes 2^other in integers: a negative one gives 0 (its gradient, reproduced)
        scale = P.rpow(e, 2.0)
        if isinstance(scale, Tensor):
            scale = scale if scale.dtype is g.dtype else scale.to(g.dtype)
        elif scale.dtype != g.dtype:
            scale = scale.astype(g.dtype)
        ga = P.mul(g, scale) if self.needs(0) else None
        ge = P.mul(P.mul(g, y), _LN2) if self.needs(1) else None
        return ga, ge


def ldexp(input, other):
    """input * 2 ** other (a floating result: integers in float32)."""
    _tensor(other, "ldexp", "other", 2)
    if input._backend is not other._backend:
        raise device_mismatch("ldexp", input, other)
    if other.dtype is _dtype.bool_:
        raise NotImplementedError("ldexp(): \"ldexp_cpu_exp\" not implemented for 'Bool'")
    if not broadcastable(input.shape, other.shape):
        raise RuntimeError(f"ldexp(): the shapes {list(input.shape)} and {list(other.shape)} do not broadcast")
    rt = _dtype.result_type_of([input._data, other._data])
    if not rt.is_floating_point:
        rt = _dtype.get_default_float()
    a = input if input.dtype is rt else input.to(rt)
    e = other if not other.dtype.is_floating_point or other.dtype is rt else other.to(rt)
    return Ldexp.apply2(a, e)


class Frexp(Op):
    _name, op_name = "FrexpBackward0", "frexp"
    nondiff_outputs = (1,)

    def forward(self, x):
        m, e = np.frexp(x)
        e = e.astype(np.int32, copy=False)
        # 2^-exponent, exact; in float32 for half, whose range lacks 2^16 and 2^23 (PyTorch: exp2 of
        # the int32 exponent is a float32)
        self.half = x.dtype == np.float16
        self.scale = np.ldexp(np.ones_like(x, dtype=np.float32 if self.half else x.dtype), -e)
        return m, e

    def backward(self, grads):
        # derivatives.yaml: grad / exponent.exp2()
        g = grads[0]
        r = P.mul(g, constant_like(g, self.scale))
        if self.half:
            r = r.to(_dtype.float16) if isinstance(r, Tensor) else r.astype(np.float16)
        return r


def frexp(input):
    """(mantissa, exponent): input = mantissa * 2 ** exponent, |mantissa| in [0.5, 1)
    (0, inf, NaN: themselves with exponent 0); exponent int32."""
    if not input.dtype.is_floating_point:
        raise RuntimeError("frexp(): torch.frexp() only supports floating-point dtypes")
    return FrexpResult(*Frexp.apply1(input))


class Nextafter(Op):
    _name, op_name, promotes = "NextafterBackward0", "nextafter", True
    save_inputs = (0, 1)
    saved_for = ((0,), (0,))          # both only for input's gradient

    def forward(self, a, b):
        return _ufunc(np.nextafter, a, b)

    def backward(self, g, a, b):
        # PyTorch 2.13's formula, measured: self takes grad where self != other (NaN included), other zeros
        return (P.where(P.eq(a, b), 0, g) if self.needs(0) else None), (P.zeros_like(g) if self.needs(1) else None)


def nextafter(input, other):
    """The next float after input toward other (input's gradient passes where input != other)."""
    _tensor(other, "nextafter", "other", 2)
    if input._backend is not other._backend:
        raise device_mismatch("nextafter", input, other)
    _no_kernel("nextafter", "nextafter_cpu",
               _dtype.result_type_of([input._data, other._data]).np, "biu")
    return Nextafter.apply2(input, other)


# ---- the names -------------------------------------------------------------------------------

METHODS = {
    "bitwise_and": bitwise_and, "bitwise_or": bitwise_or, "bitwise_xor": bitwise_xor, "bitwise_not": bitwise_not,
    "bitwise_left_shift": bitwise_left_shift, "bitwise_right_shift": bitwise_right_shift,
    "gcd": gcd, "lcm": lcm, "fmod": fmod, "ldexp": ldexp, "frexp": frexp, "nextafter": nextafter,
}
FUNCTIONS = {name: tensor_function(name, fn) for name, fn in METHODS.items()}
for _name in ("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift"):
    FUNCTIONS[_name] = tensor_function(_name, METHODS[_name], _number_first(_name))
INPLACE = dict.fromkeys(("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift",
                         "bitwise_right_shift", "gcd", "lcm", "fmod", "ldexp", "nextafter"))


# ---- the operators: & | ^ << >> ~, reflected and in place ----------------------------------------

def _operator(fn, symbol, reflected=False):
    """t <symbol> other (other <symbol> t when reflected): another type of operand gives
    NotImplemented, so Python can try the other side (an ndarray: our TypeError)."""
    def op(self, other):
        if not isinstance(other, Tensor) and not arith._is_number(other):
            return arith._not_an_operand(fn.__name__, other)
        return fn(other, self) if reflected else fn(self, other)
    op.__name__ = symbol
    return op


def _in_place_operator(method, symbol):
    def op(self, other):
        if not isinstance(other, Tensor) and not arith._is_number(other):
            return arith._not_an_operand(method, other)
        return getattr(self, method)(other)
    op.__name__ = symbol
    return op


def _invert(self):
    if self._data.dtype.kind == "f":        # (the operator's TypeError, as PyTorch's)
        raise TypeError(f"bitwise_not: ~ (operator.invert) is only implemented on integer and Boolean-type tensors, not "
                        f"{self.dtype.libtorch}")
    return bitwise_not(self)


for _symbol, _fn in (("and", bitwise_and), ("or", bitwise_or), ("xor", bitwise_xor), ("lshift", bitwise_left_shift),
                     ("rshift", bitwise_right_shift)):
    METHODS[f"__{_symbol}__"] = _operator(_fn, f"__{_symbol}__")
    METHODS[f"__r{_symbol}__"] = _operator(_fn, f"__r{_symbol}__", reflected=True)
    METHODS[f"__i{_symbol}__"] = _in_place_operator(_fn.__name__ + "_", f"__i{_symbol}__")
METHODS["__invert__"] = _invert
