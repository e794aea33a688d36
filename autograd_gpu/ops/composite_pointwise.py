"""Pointwise ops composed of the primitive ones (no kernels of their own):
addcmul, addcdiv, xlogy, logaddexp, hypot, logit, nan_to_num, asinh, ...

Each is an Op whose forward is a few primitives on arrays and whose backward
is derivatives.yaml's formula in primitives (so create_graph works), or a
Tensor-level composition where that is already exact (float_power, sgn).
Operands are first cast, as tensors, to PyTorch's result dtype: the ops then
see one dtype, and the casts' nodes return each gradient in its input's dtype."""
import math
import operator

import numpy as np

from .._dtype import float32, float64, result_type_of
from ..autograd.op import Op, device_mismatch
from ..tensor import Tensor
from . import arith, pointwise, prims as P
from ._util import as_float, broadcastable, check_fits, number
from .functions import tensor_function

_f16, _f32 = np.dtype(np.float16), np.dtype(np.float32)
_LN2 = math.log(2.0)
_INF = math.inf


# ---- operands -----------------------------------------------------------------------

def _tensor(v, op_name, arg, position):
    if not isinstance(v, Tensor):
        raise TypeError(f"{op_name}(): argument '{arg}' (position {position}) must be Tensor, not {type(v).__name__}")
    return v


def _common(op_name, tensors, floating=True):
    """The tensors on one device, broadcastable, cast to PyTorch's result dtype
    (integers and bools lifted to float32 when `floating`)."""
    for t in tensors[1:]:
        if t._backend is not tensors[0]._backend:
            raise device_mismatch(op_name, tensors[0], t)
    shapes = [tuple(t.shape) for t in tensors]
    if not broadcastable(*shapes):
        raise RuntimeError(f"{op_name}(): the shapes {', '.join(str(list(s)) for s in shapes)} do not broadcast")
    rt = result_type_of([t._data for t in tensors])
    if floating and not rt.is_floating_point:
        rt = float32
    return [t if t.dtype is rt else t.to(rt) for t in tensors]


def _wrapped(n, like, op_name, arg="other"):
    """A Python number next to tensor `like`, as libtorch wraps it (a 0-d tensor)."""
    return arith.wrapped_number(number(n, op_name, arg), like)


def _no_integer_kernel(op_name, tensors):
    """PyTorch has no integer kernel for some floating ops of two tensors."""
    rt = result_type_of([t._data for t in tensors])
    if not rt.is_floating_point:
        raise NotImplementedError(f"{op_name}: \"{op_name}_cpu\" not implemented for '{rt.libtorch}'")


def _in_float32(f, *arrays):
    """f(*arrays), float16 computed in float32 and rounded once (as PyTorch's CPU)."""
    if arrays[0].dtype != _f16:
        return f(*arrays)
    return f(*(a.astype(_f32) for a in arrays)).astype(_f16)


def _odd(x, r):
    """r with x's sign bit: an odd function from its values at |x| (-0 stays -0)."""
    return P.where(np.signbit(x), P.neg(r), r)


# ---- one floating input ---------------------------------------------------------------

class _Float1(Op):
    """A floating op of one input (integers and bools in float32); `f` is its math."""
    exact_grads = True
    save_inputs = (0,)

    def forward(self, x, *attrs):
        self.attrs = attrs
        return _in_float32(lambda a: self.f(a, *attrs), as_float(x))


class Asinh(_Float1):
    _name, op_name = "AsinhBackward0", "asinh"

    @staticmethod
    def f(x):
        a = P.abs(x)
        # log1p(|x| + x^2 / (1 + sqrt(1 + x^2))): no cancellation anywhere; past 2^28
        # (float32: 2^12) log(2|x|), whose error 1 / (4x^2) is below rounding, without x^2's overflow
        small = P.log1p(P.add(a, P.div(P.square(a), P.add(P.sqrt(P.add(P.square(a), 1)), 1))))
        big = P.add(P.log(a), _LN2)
        return _odd(x, P.where(a > _big(x), big, small))

    def backward(self, g, x):
        return P.mul(g, P.rsqrt(P.add(P.square(x), 1)))


class Acosh(_Float1):
    _name, op_name = "AcoshBackward0", "acosh"

    @staticmethod
    def f(x):
        t = P.sub(x, 1)                   # exact near 1, where the result's precision matters
        small = P.log1p(P.add(t, P.sqrt(P.add(P.mul(t, 2), P.square(t)))))
        r = P.where(x > _big(x), P.add(P.log(x), _LN2), small)
        return P.where(x < 1, math.nan, r)

    def backward(self, g, x):
        return P.mul(g, P.rsqrt(P.sub(P.square(x), 1)))


class Atanh(_Float1):
    _name, op_name = "AtanhBackward0", "atanh"

    @staticmethod
    def f(x):
        a = P.abs(x)                      # 1 - |x| is exact near 1: no cancellation
        return _odd(x, P.mul(P.log1p(P.div(P.mul(a, 2), P.rsub(a, 1))), 0.5))

    def backward(self, g, x):
        return P.mul(g, P.reciprocal(P.rsub(P.square(x), 1)))


def _big(x):
    return 2.0 ** 28 if x.dtype == np.float64 else 2.0 ** 12


class Sinc(_Float1):
    _name, op_name = "SincBackward0", "sinc"

    @staticmethod
    def f(x):
        px = P.mul(x, math.pi)
        return P.where(x == 0, 1, P.div(P.sin(px), px))

    def backward(self, g, x):
        return _sinc_times_derivative(g, x)

    @staticmethod
    def jvp(y, inputs, tangents):
        # (PyTorch's forward formula is its backward at the tangent: 0 at x == 0, where the transpose of
        # the backward is NaN)
        return _sinc_times_derivative(tangents[0], inputs[0])


def _sinc_times_derivative(g, x):
    px, pxx = P.mul(x, math.pi), P.mul(P.mul(x, x), math.pi)
    d = P.div(P.mul(g, P.sub(P.mul(px, P.cos(px)), P.sin(px))), pxx)
    return P.where(pxx == 0, 0, d)


class Logit(_Float1):
    """log(x / (1 - x)), x first clamped to [eps, 1 - eps] when eps >= 0."""
    _name, op_name = "LogitBackward0", "logit"

    @staticmethod
    def f(x, eps):
        if eps is not None and eps >= 0:      # (PyTorch's clamp: the lower bound first, eps > 0.5 too)
            x = P.where(x < eps, eps, P.where(x > 1 - eps, 1 - eps, x))
        return P.log(P.div(x, P.rsub(x, 1)))

    def backward(self, g, x):
        eps = self.attrs[0]
        # (+ 0: x = -0 gives +inf, the limit from inside the domain, as PyTorch's scalar loop)
        d = P.div(g, P.add(P.mul(x, P.rsub(x, 1)), 0.0))
        if eps is None or eps < 0:        # outside [0, 1]: NaN (log of a negative)
            return P.where((x < 0) | (x > 1), math.nan, d)
        return P.where((x < eps) | (x > 1 - eps), 0, d)


class Frac(Op):
    """x - trunc(x), sign kept (floating inputs only, as PyTorch's)."""
    _name, op_name = "FracBackward0", "frac"
    exact_grads = True

    def forward(self, x):
        if x.dtype.kind != "f":
            raise NotImplementedError(f"frac: \"frac_cpu\" not implemented for '{_libtorch(x)}'")
        return P.sub(x, P.trunc(x))

    def backward(self, g):
        return g


class NanToNum(Op):
    """NaN, inf and -inf replaced by numbers (integers and bools: a copy)."""
    _name, op_name = "NanToNumBackward0", "nan_to_num"
    exact_grads = True
    save_inputs = (0,)

    def forward(self, x, nan, posinf, neginf):
        if x.dtype.kind != "f":
            return x.copy()
        info = np.finfo(x.dtype)
        y = P.where(P.isnan(x), 0.0 if nan is None else nan, x)
        y = P.where(x == _INF, float(info.max) if posinf is None else posinf, y)
        return P.where(x == -_INF, float(info.min) if neginf is None else neginf, y)

    def backward(self, g, x):
        return P.where(P.isfinite(x), g, 0)


def _libtorch(a):
    from .._dtype import from_numpy_dtype
    return from_numpy_dtype(a.dtype).libtorch


class Deg2Rad(arith.MulScalar):
    """x * pi / 180 (integers and bools in float32, as a float scalar promotes them)."""
    _name, op_name = "Deg2RadBackward0", "deg2rad"


class Rad2Deg(arith.MulScalar):
    _name, op_name = "Rad2DegBackward0", "rad2deg"


class Exp2(arith.RpowScalar):
    """2 ** x; integers and bools in float32. Saves its result only, as PyTorch's (grad * result * ln 2):
    a write to the input before backward is no error."""
    _name, op_name = "Exp2Backward0", "exp2"
    save_inputs = ()

    def forward(self, x, base):
        return arith.RpowScalar.forward(self, as_float(x), base)

    def backward(self, g, y):
        return g * (y * math.log(2.0))


class Sgn(pointwise.UNARY_OPS["sign"]):
    """sign, under its complex-aware name (real tensors only here)."""
    _name, op_name = "SgnBackward0", "sgn"


def asinh(input):
    return Asinh.apply1(input)


def acosh(input):
    return Acosh.apply1(input)


def atanh(input):
    return Atanh.apply1(input)


def sinc(input):
    """sin(pi x) / (pi x), 1 at 0."""
    return Sinc.apply1(input)


def logit(input, eps=None):
    """log(p / (1 - p)); with eps, p is clamped to [eps, 1 - eps] first."""
    if eps is not None:
        if isinstance(eps, bool) or not isinstance(number(eps, "logit", "eps"), (int, float)):
            raise TypeError(f"logit(): argument 'eps' must be float, not {type(eps).__name__}")
        eps = float(eps)
    return Logit.apply1(input, eps)


def frac(input):
    return Frac.apply1(input)


def _fill_value(v, name):
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"nan_to_num(): argument '{name}' must be float, not {type(v).__name__}")
    return float(v)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN -> nan, inf -> posinf, -inf -> neginf (by default the dtype's largest
    and smallest finite values)."""
    return NanToNum.apply1(input, _fill_value(nan, "nan"), _fill_value(posinf, "posinf"),
                           _fill_value(neginf, "neginf"))


def deg2rad(input):
    return Deg2Rad.apply1(input, math.pi / 180)


def rad2deg(input):
    return Rad2Deg.apply1(input, 180 / math.pi)


def exp2(input):
    return Exp2.apply1(input, 2)


def sgn(input):
    """The sign (-1, 0, 1; 0 for NaN), as sign for real tensors."""
    return Sgn.apply1(input)


# ---- boolean predicates (no gradient) -------------------------------------------------

class _Predicate(Op):
    differentiable = False

    def forward(self, x):
        if x.dtype.kind != "f":
            return self.exact(x)
        return self.f(x)

    @staticmethod
    def exact(x):                         # integers and bools: never inf, never a sign bit
        return np.zeros_like(x, dtype=np.bool_)


class SignBit(_Predicate):
    op_name = "signbit"
    f = staticmethod(np.signbit)

    @staticmethod
    def exact(x):
        return x < 0 if x.dtype.kind != "b" else np.zeros_like(x, dtype=np.bool_)


class IsPosInf(_Predicate):
    op_name = "isposinf"
    f = staticmethod(lambda x: x == _INF)


class IsNegInf(_Predicate):
    op_name = "isneginf"
    f = staticmethod(lambda x: x == -_INF)


class IsReal(_Predicate):
    op_name = "isreal"

    def forward(self, x):
        return np.ones_like(x, dtype=np.bool_)


def signbit(input):
    return SignBit.apply1(input)


def isposinf(input):
    return IsPosInf.apply1(input)


def isneginf(input):
    return IsNegInf.apply1(input)


def isreal(input):
    """True everywhere: no complex dtypes here."""
    return IsReal.apply1(input)


# ---- two floating operands ---------------------------------------------------------------

class _Float2(Op):
    """A floating op of two operands of one dtype (cast by the caller)."""

    def forward(self, a, b):
        return _in_float32(self.f, a, b)


class Xlogy(_Float2):
    """x * log(y), 0 where x == 0 unless y is NaN."""
    _name, op_name = "XlogyBackward0", "xlogy"
    save_inputs = (0, 1)

    @staticmethod
    def f(x, y):
        return P.where((x == 0) & (y == y), 0, P.mul(x, P.log(y)))

    @staticmethod
    def _no_grad_at(x, y):                # where x's gradient is 0 (y a tensor: also NaN y passes)
        return (x == 0) & (y <= 0)

    @staticmethod
    def _times_d_other(g, x, y):         # g times the derivative in y
        return P.div(P.mul(g, x), y)

    def backward(self, g, x, y):
        # derivatives.yaml: xlogy(grad, y) masked where _no_grad_at; grad * x / y. Recorded, xlogy(grad, y)
        # is the op itself, so its derivative in grad is log(y) at grad == 0 too (as PyTorch's double backward)
        f_g = self._base.apply2(g, y) if isinstance(g, Tensor) else self.f(g, y)
        return (P.where(self._no_grad_at(x, y), 0, f_g) if self.needs(0) else None,
                self._times_d_other(g, x, y) if self.needs(1) else None)

    @classmethod
    def jvp(cls, out, inputs, tangents):
        # PyTorch's forward formula: the backward's terms at the tangents. (The transpose reads the first at
        # a zero upstream gradient, where xlogy(0, y) is 0 and its mask, x == 0 and y <= 0, holds)
        (x, y), (tx, ty) = inputs, tangents
        return P.where(cls._no_grad_at(x, y), 0, cls.f(tx, y)) + cls._times_d_other(ty, x, y)


Xlogy._base = Xlogy


class XlogyNumberX(Xlogy):
    _name = "XlogyBackward1"


class XlogyNumberY(Xlogy):
    _name = "XlogyBackward2"

    @staticmethod
    def _no_grad_at(x, y):                # y a number: masked unless y > 0
        return (x == 0) & ~(y > 0)


class LogAddExp(_Float2):
    """log(exp(a) + exp(b)) from the larger operand; inf with inf is itself."""
    _name, op_name = "LogaddexpBackward0", "logaddexp"
    save_inputs = (0, 1)
    scale = 1.0                           # logaddexp2: ln 2 (powers of 2)

    def f(self, a, b):
        s = self.scale
        m = P.maximum(a, b)
        d = P.log1p(P.exp(P.mul(P.abs(P.sub(a, b)), -s)))
        r = P.add(m, d if s == 1.0 else P.div(d, s))
        return P.where((a == b) & (P.abs(a) == _INF), a, r)

    def backward(self, g, a, b):
        # grad / (1 + exp(b - a)) and grad / (1 + exp(a - b)): sigmoids of the difference
        s = self.scale
        return (P.mul(g, P.sigmoid(P.mul(P.sub(a, b), s))) if self.needs(0) else None,
                P.mul(g, P.sigmoid(P.mul(P.sub(b, a), s))) if self.needs(1) else None)


class LogAddExp2(LogAddExp):
    _name, op_name = "Logaddexp2Backward0", "logaddexp2"
    scale = _LN2


class Hypot(_Float2):
    """sqrt(a^2 + b^2) without overflow: the larger times sqrt(1 + ratio^2); inf wins over NaN."""
    _name, op_name = "HypotBackward0", "hypot"
    save_inputs = (0, 1)
    saved_for = ((0,), (1,))              # each operand only for its own gradient (as PyTorch saves)
    save_result = True

    @staticmethod
    def f(a, b):
        x, y = P.abs(a), P.abs(b)
        m = P.maximum(x, y)
        r = P.div(P.minimum(x, y), m)
        h = P.where(m == 0, 0, P.mul(m, P.sqrt(P.add(P.square(r), 1))))
        return P.where((x == _INF) | (y == _INF), _INF, h)

    def backward(self, g, a, b, h):
        return (P.div(P.mul(g, a), h) if self.needs(0) else None,
                P.div(P.mul(g, b), h) if self.needs(1) else None)


class Copysign(_Float2):
    """|a| with b's sign bit (-0 and -NaN count as negative)."""
    _name, op_name = "CopysignBackward0", "copysign"
    save_inputs = (0,)
    saved_for = ((0,),)                   # the magnitude only for its own gradient (b's is zeros)
    save_result = True

    @staticmethod
    def f(a, b):
        r = P.abs(a)
        return P.where(np.signbit(b), P.neg(r), r)

    def backward(self, g, a, y):
        # copysign_tensor_self_backward: grad * result / a, 0 where a == 0; b gets zeros
        return (P.mul(g, P.where(a == 0, 0, P.div(y, a))) if self.needs(0) else None,
                P.zeros_like(g) if self.needs(1) else None)


class CopysignNumber(Copysign):
    _name = "CopysignBackward1"


class _Fmax(Op):
    """The larger operand, NaN only where both are: fmax (fmin: `pick` le)."""
    _name, op_name = "FmaxBackward0", "fmax"
    save_inputs = (0, 1)
    pick = staticmethod(P.ge)
    beats = staticmethod(operator.gt)

    def _first(self, a, b):               # where `a` is the result (and takes the gradient)
        return self.pick(a, b) | (b != b)

    def forward(self, a, b):
        return P.where(self._first(a, b), a, b)

    def backward(self, g, a, b):
        first = self._first(a, b)
        return (P.where(first, g, 0) if self.needs(0) else None,
                P.where(first, 0, g) if self.needs(1) else None)

    @classmethod
    def jvp(cls, y, inputs, tangents):
        # PyTorch's forward formula takes b's tangent at ties (its backward a's gradient) and a's where
        # b is NaN
        (a, b), (ta, tb) = inputs, tangents
        first = cls.beats(a, b) | b.isnan()
        return tb + first.to(y.dtype) * (ta - tb)


class _Fmin(_Fmax):
    _name, op_name = "FminBackward0", "fmin"
    pick = staticmethod(P.le)
    beats = staticmethod(operator.le)      # (sic: fmin takes a's tangent at ties, fmax b's)


class Heaviside(arith.NoDerivative):
    """0 below 0, 1 above, `values` at 0 (NaN gives 0); no derivative."""
    op_name = aten = "heaviside"

    def forward(self, x, v):
        return P.where(x == 0, v, (x > 0).astype(x.dtype))


def _other_tensor(op_name, input, other, arg="other"):
    _tensor(other, op_name, arg, 2)
    return _common(op_name, [input, other], floating=True)


def xlogy(input, other):
    """input * log(other), 0 where input == 0 (unless other is NaN); other may be a Python number."""
    if not isinstance(other, Tensor):
        if not arith._is_number(other):
            raise TypeError(f"xlogy(): argument 'other' must be Tensor or Number, not {type(other).__name__}")
        x, y = _common("xlogy", [input, _wrapped(other, input, "xlogy")])
        return XlogyNumberY.apply2(x, y)
    return Xlogy.apply2(*_common("xlogy", [input, other]))


def _xlogy_number_first(other, n):
    x, y = _common("xlogy", [_wrapped(n, other, "xlogy", "self"), other])
    return XlogyNumberX.apply2(x, y)


def _float2(cls, integer_kernel=True):
    def fn(input, other):
        a, b = _tensor(input, cls.op_name, "input", 1), _tensor(other, cls.op_name, "other", 2)
        if not integer_kernel:
            _no_integer_kernel(cls.op_name, (a, b))
        return cls.apply2(*_common(cls.op_name, [a, b]))
    fn.__name__ = fn.__qualname__ = cls.op_name
    fn.__doc__ = cls.__doc__
    return fn


logaddexp = _float2(LogAddExp, integer_kernel=False)
logaddexp2 = _float2(LogAddExp2, integer_kernel=False)
hypot = _float2(Hypot, integer_kernel=False)


def copysign(input, other):
    """|input| with other's sign; other may be a Python number."""
    if not isinstance(other, Tensor):
        if not arith._is_number(other):
            raise TypeError(f"copysign(): argument 'other' must be Tensor or Number, not {type(other).__name__}")
        return CopysignNumber.apply2(*_common("copysign", [input, _wrapped(other, input, "copysign")]))
    return Copysign.apply2(*_common("copysign", [input, other]))


def fmax(input, other):
    """The larger of the two, ignoring a NaN (NaN only where both are)."""
    _tensor(other, "fmax", "other", 2)
    return _Fmax.apply2(*_common("fmax", [input, other], floating=False))


def fmin(input, other):
    """The smaller of the two, ignoring a NaN."""
    _tensor(other, "fmin", "other", 2)
    return _Fmin.apply2(*_common("fmin", [input, other], floating=False))


def heaviside(input, values):
    """The step function: 0 below 0, 1 above, `values` at 0."""
    _tensor(values, "heaviside", "values", 2)
    if input.dtype is not values.dtype:
        raise RuntimeError(f"heaviside is not yet implemented for tensors with different dtypes "
                           f"({input.dtype.name} and {values.dtype.name}).")
    _common("heaviside", [input, values], floating=False)
    return Heaviside.apply2(input, values)


# ---- float_power: pow in float64 ------------------------------------------------------

def _double(v, op_name, arg):
    if isinstance(v, Tensor):
        return v if v.dtype is float64 else v.to(float64)
    if not arith._is_number(v):
        raise TypeError(f"{op_name}(): argument '{arg}' must be Tensor or Number, not {type(v).__name__}")
    return float(number(v, op_name, arg))


def float_power(input, exponent):
    """input ** exponent computed in float64 (either may be a Python number)."""
    e = _double(exponent, "float_power", "exponent")
    if isinstance(e, Tensor):
        _common("float_power", [input, e], floating=False)        # (device and shapes)
        return arith.pow(_double(input, "float_power", "input"), e)
    return arith.PowScalar.apply1(_double(input, "float_power", "input"), e)


def _float_power_number_first(exponent, base):
    return arith.rpow(_double(exponent, "float_power", "exponent"), float(base))


# ---- addcmul / addcdiv ---------------------------------------------------------------------

class Addcmul(Op):
    """input + value * tensor1 * tensor2, in PyTorch's result dtype of the three."""
    _name, op_name = "AddcmulBackward0", "addcmul"
    save_inputs = (1, 2)
    saved_for = ((2,), (1,))              # each factor only for the other's gradient

    def forward(self, s, t1, t2, value):
        if s.dtype.kind == "b":
            raise NotImplementedError("addcmul: \"addcmul_cpu_out\" not implemented for 'Bool'")
        self.value = value
        return _in_float32(lambda s, t1, t2: P.add(s, P.mul(P.mul(t1, value), t2)), s, t1, t2)

    def backward(self, g, t1, t2):
        v = self.value
        return (g if self.needs(0) else None,
                P.mul(g, P.mul(t2, v)) if self.needs(1) else None,
                P.mul(g, P.mul(t1, v)) if self.needs(2) else None)


class Addcdiv(Op):
    """input + value * tensor1 / tensor2."""
    _name, op_name = "AddcdivBackward0", "addcdiv"
    save_inputs = (1, 2)
    # tensor2 enters both operands' formulas, so PyTorch saves (and version-checks) it whatever needs a gradient
    saved_for = ((2,), (0, 1, 2))

    def forward(self, s, t1, t2, value):
        self.value = value
        return _in_float32(lambda s, t1, t2: P.add(s, P.div(P.mul(t1, value), t2)), s, t1, t2)

    def backward(self, g, t1, t2):
        v = self.value
        # grad * value / t2 and -grad * value * t1 / t2^2
        return (g if self.needs(0) else None,
                P.div(P.mul(g, v), t2) if self.needs(1) else None,
                P.neg(P.mul(g, P.div(P.mul(t1, v), P.mul(t2, t2)))) if self.needs(2) else None)


def _pointwise3(cls, input, tensor1, tensor2, value):
    name = cls.op_name
    ts = [_tensor(input, name, "input", 1), _tensor(tensor1, name, "tensor1", 2), _tensor(tensor2, name, "tensor2", 3)]
    if isinstance(value, Tensor) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool):
        value = int(value)
    elif not arith._is_number(value):
        raise TypeError(f"{name}(): argument 'value' must be Number, not {type(value).__name__}")
    value = number(value, name, "value")
    if name == "addcdiv" and all(t._data.dtype.kind in "biu" for t in ts[1:]):
        raise RuntimeError("Integer division with addcdiv is no longer supported, and in a future release addcdiv "
                           "will perform a true division of tensor1 and tensor2. The historic addcdiv behavior can be "
                           "implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for "
                           "integer inputs and as (input + value * tensor1 / tensor2) for float inputs.")
    ts = _common(name, ts, floating=False)
    d = ts[0]._data.dtype
    # the value must fit the type it is computed in (float16: float32, as PyTorch's opmath)
    check_fits(value, _f32 if d == _f16 else d, name)
    if d.kind in "iu":
        value = int(value)                # (PyTorch truncates a float value for integer tensors)
    return cls.applyN(ts, value)


def addcmul(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 * tensor2 (all three broadcast)."""
    return _pointwise3(Addcmul, input, tensor1, tensor2, value)


def addcdiv(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 / tensor2 (not for two integer tensors, as PyTorch's)."""
    return _pointwise3(Addcdiv, input, tensor1, tensor2, value)


# ---- the names ------------------------------------------------------------------------------

def _float_power_inplace(self, exponent):
    if not isinstance(exponent, Tensor):
        number(exponent, "float_power_", "exponent")      # (a bad type first, as PyTorch's parser)
    if self.dtype is not float64:        # (the result is float64: self must hold it already)
        raise RuntimeError(f"float_power_: the base given to float_power_ has dtype {self.dtype.libtorch} but the "
                           "operation's result requires dtype Double")


# the methods that have an in-place form, x.<name>_ (ops/inplace.py makes them), with a check of what
# the in-place form refuses
INPLACE = dict.fromkeys(("addcmul", "addcdiv", "xlogy", "hypot", "deg2rad", "rad2deg", "exp2", "logit", "frac",
                         "nan_to_num", "sinc", "copysign", "heaviside", "sgn", "asinh", "acosh", "atanh", "arcsinh",
                         "arccosh", "arctanh"))
INPLACE["float_power"] = _float_power_inplace

METHODS = {
    "addcmul": addcmul, "addcdiv": addcdiv, "xlogy": xlogy, "logaddexp": logaddexp, "logaddexp2": logaddexp2,
    "hypot": hypot, "deg2rad": deg2rad, "rad2deg": rad2deg, "exp2": exp2, "logit": logit, "frac": frac,
    "nan_to_num": nan_to_num, "sinc": sinc, "float_power": float_power, "copysign": copysign,
    "heaviside": heaviside, "fmax": fmax, "fmin": fmin, "sgn": sgn, "signbit": signbit, "isneginf": isneginf,
    "isposinf": isposinf, "isreal": isreal, "asinh": asinh, "arcsinh": asinh, "acosh": acosh,
    "arccosh": acosh, "atanh": atanh, "arctanh": atanh,
}
FUNCTIONS = {name: tensor_function(name, fn) for name, fn in METHODS.items()}
FUNCTIONS["xlogy"] = tensor_function("xlogy", xlogy, _xlogy_number_first)
FUNCTIONS["float_power"] = tensor_function("float_power", float_power, _float_power_number_first, second="exponent")
