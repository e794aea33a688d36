"""torch.special's orthogonal polynomials (Chebyshev T, U, V, W and their shifted
forms, Hermite H and He, Laguerre L, Legendre P) and its normal-distribution and
entropy functions (ndtr, ndtri, log_ndtr, erfcx, entr, xlog1py, expit).

Polynomials: (x, n), either one a Python number, broadcast, both cast to their
floating result dtype (integers: float32) and n then truncated to an integer as
PyTorch's kernels do (NaN, +-inf and values beyond int64 count as negative: 0).
The value is PyTorch's kernels' choice: 0 for n < 0, closed forms at |x| = 1
(shifted: x = 0, 1), cos(n acos x) and its relatives for |x| < 1 past n = 6
(U, V, W: 8), else the three-term recurrence. For Chebyshev past n = 256 at |x| > 1
(where PyTorch loops n times) we take the hyperbolic closed forms, with the
recurrence's overflow to inf and then NaN found from their logarithms. We run the
recurrence in float64
for every dtype, on the elements sorted by n (a step works on the suffix still
running); for float32 each step's result saturates to inf past float32's range,
so that where PyTorch's float32 recurrence overflows (inf, then inf - inf = NaN)
ours does too. Like PyTorch's, these have no derivative: the result never
requires grad. float16 is refused as PyTorch's CPU kernels refuse it.

The others compute in float64 (special_math.py) and round once; integers and
bools give float32. Derivatives are derivatives.yaml's, in differentiable ops."""
import math

import numpy as np

from .._dtype import result_type_of
from ..autograd.op import Op, device_mismatch
from ..tensor import Tensor
from . import arith, prims as P, special_math as SM
from ._util import broadcastable, number
from .composite_pointwise import Xlogy, _common, _wrapped

_f16, _f32, _f64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
_INT64_MIN = -2 ** 63
_FLOAT32_OVERFLOW = float(np.finfo(np.float32).max) * (1 + 2.0 ** -25)    # rounds to inf in float32
_SQRT_2PI = math.sqrt(2 * math.pi)
_SQRT_PI, _SQRT1_2 = math.sqrt(math.pi), math.sqrt(0.5)
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def _in_float64(f, x):
    """f on x as float64, rounded once to x's float dtype (integers and bools: float32)."""
    d = x.dtype if x.dtype.kind == "f" else _f32
    with np.errstate(all="ignore"):
        r = f(x.astype(_f64))
    return r.astype(d)


def _tensor_input(input, op_name):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op_name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    return input


# ---- the polynomials: PyTorch's kernels' cases ---------------------------------------------
# Each family is evaluate(x, n, fl): x float64, n int64 (one shape), fl the _Precision
# of the result dtype. Its cases and their order are PyTorch's kernels'.

class _Precision:
    """PyTorch runs its kernels in the result dtype; for float32 we keep float64 (the
    values: float64's rounded, where PyTorch's float32 recurrence loses up to ~1e-4
    to cancellation) but let the recurrence's terms overflow where float32's would
    (sat): inf, and inf - inf = NaN a step later, as PyTorch's values. Its x86 build
    contracts a * q - b * p into fma(a, q, -(b * p)): a * q is not saturated."""

    def __init__(self, dtype):
        self.float32 = dtype == _f32
        self.log_max = math.log(float(np.finfo(dtype).max))

    def sat(self, v):
        if not self.float32:
            return v
        return np.where(np.abs(v) > _FLOAT32_OVERFLOW, v * np.inf, v)


def _step_chebyshev(j, p, q, y, fl):
    return fl.sat(fl.sat(y + y) * q - p)


def _chebyshev(kind, shifted):
    """T, U, V, W (shifted: of y = 2x - 1): returns evaluate(x, n, fl)."""
    threshold = 6 if shifted or kind == "t" else 8

    def first(y):                                           # P_1
        return {"t": y, "u": y + y, "v": y + y - 1, "w": y + y + 1}[kind]

    def closed(y, n):                                       # |y| < 1, n > threshold
        a = np.arccos(y)
        nf = n.astype(_f64)
        if kind == "t":
            return np.cos(nf * a)
        if kind == "u":
            s = np.sin(a)
            m = (nf + 1) * a
            return np.where(s != 0, np.sin(m) / s, (nf + 1) * np.cos(m))
        m = (nf + 0.5) * a
        if kind == "v":
            return np.cos(m) / np.cos(a / 2)
        return np.sin(m) / np.sin(a / 2)

    def special(x, n):                                      # y = 1 and y = -1 (x = 1 and 0 if shifted)
        nf = n.astype(_f64)
        odd = (n % 2) != 0
        top, bottom = (x == 1, x == 0) if shifted else (x == 1, x == -1)
        at_top = {"t": 1.0, "u": nf + 1, "v": 1.0, "w": nf + nf + 1}[kind]
        mag = {"t": 1.0, "u": nf + 1, "v": nf + nf + 1, "w": 1.0}[kind]
        return top | bottom, np.where(top, at_top, np.where(odd, -mag, mag))

    def evaluate(x, n, fl):
        y = (x + x - 1) if shifted else x
        mask, value = special(x, n)
        inside = (n > threshold) & (np.abs(y) < 1)
        outside = (n > _HYPERBOLIC_FROM) & (np.abs(y) > 1)
        c = np.where(inside, closed(np.clip(y, -1.0, 1.0), n), _hyperbolic(kind, y, n, fl.log_max))
        return _combine(y, n, fl, first(y), _step_chebyshev, mask, value, inside | outside, c)
    return evaluate


_HYPERBOLIC_FROM = 256       # n past which |y| > 1 takes the closed forms (PyTorch loops n times)
_LN2 = math.log(2.0)


def _log_cosh(u):
    return u + np.log1p(np.exp(-2 * u)) - _LN2


def _log_sinh(u):
    return u + np.log(-np.expm1(-2 * u)) - _LN2


def _hyperbolic(kind, y, n, log_max):
    """PyTorch's recurrence's value for |y| > 1 from the closed forms, t = acosh|y|:
    T = cosh(nt), U = sinh((n+1)t) / sinh(t), V = cosh((n+1/2)t) / cosh(t/2),
    W = sinh((n+1/2)t) / sinh(t/2), times (-1)^n below -1 where V and W trade places.
    Taken as logs of magnitudes, which grow with n: the recurrence overflows at the
    first k with log|P_k| > log_max; P_k and P_(k+1) are then +-inf, from P_(k+2) on
    inf - inf = NaN."""
    t = np.arccosh(np.maximum(np.abs(y), 1.0))
    below = y < 0
    swap = {"v": "w", "w": "v"}

    def log_magnitude(m, k):
        if k == "t":
            return _log_cosh(m * t)
        if k == "u":
            return _log_sinh((m + 1) * t) - _log_sinh(t)
        if k == "v":
            return _log_cosh((m + 0.5) * t) - _log_cosh(t / 2)
        return _log_sinh((m + 0.5) * t) - _log_sinh(t / 2)

    def log_p(m):
        if kind in swap:
            return np.where(below, log_magnitude(m, swap[kind]), log_magnitude(m, kind))
        return log_magnitude(m, kind)

    nf = n.astype(_f64)
    sign = np.where(below & (n % 2 != 0), -1.0, 1.0)
    at_n = log_p(nf)
    r = sign * np.where(at_n > log_max, np.inf, np.exp(np.minimum(at_n, log_max)))
    return np.where(log_p(nf - 2) > log_max, np.nan, r)


def _hermite_h(x, n, fl):
    return _combine(x, n, fl, x + x, lambda j, p, q, x, fl: fl.sat(fl.sat(x + x) * q - fl.sat((j + j) * p)))


def _hermite_he(x, n, fl):
    return _combine(x, n, fl, x, lambda j, p, q, x, fl: fl.sat(x * q - fl.sat(j * p)))


def _laguerre_step(j, p, q, x, fl):
    return fl.sat(fl.sat(fl.sat(j + j + fl.sat(1 - x)) * q - fl.sat(j * p)) / (j + 1))


def _laguerre_l(x, n, fl):
    return _combine(x, n, fl, 1 - x, _laguerre_step, mask=(x == 0), value=1.0)


def _legendre_step(j, p, q, x, fl):
    return fl.sat(fl.sat(fl.sat((j + j + 1) * x) * q - fl.sat(j * p)) / (j + 1))


def _legendre_p(x, n, fl):
    odd = (n % 2) != 0
    value = np.where((x > 0) | ~odd, 1.0, -1.0)
    return _combine(x, n, fl, x, _legendre_step, mask=np.abs(x) == 1, value=value)


def _combine(x, n, fl, first, step, mask=None, value=None, closed_at=None, closed=None):
    """PyTorch's cases in its order: n < 0: 0; the special points; the closed form;
    n = 0: 1; n = 1: `first`; else the recurrence."""
    no = np.zeros_like(x, dtype=bool)
    mask = no if mask is None else mask
    closed_at = no if closed_at is None else closed_at
    need = (n >= 2) & ~mask & ~closed_at
    r = _recurrence(x, n, fl, fl.sat(first), step, need)
    r = np.where(n == 1, first, r)
    r = np.where(n == 0, 1.0, r)
    if closed is not None:
        r = np.where(closed_at, closed, r)
    if value is not None:
        r = np.where(mask, value, r)
    return np.where(n < 0, 0.0, r)


def _recurrence(x, n, fl, first, step, need):
    """P_n by P_(j+1) = step(j, P_(j-1), P_j, x, fl) from P_0 = 1, P_1 = first (x: the
    recurrence's variable, 2x - 1 for the shifted Chebyshev polynomials), where
    `need`; 0 elsewhere. The elements are sorted by n, so that those still running at
    step j are a suffix [s:] (views, no copies); a run stops early once all of them
    are NaN (NaN stays NaN through every step). PyTorch's kernels loop n times too."""
    out = np.zeros_like(x, order="C")           # (reshape(-1) of it must be a view)
    idx = np.flatnonzero(need)
    if idx.size == 0:
        return out
    ns = n.reshape(-1)[idx]
    order = np.argsort(ns, kind="stable")
    idx, ns = idx[order], ns[order]
    xs = x.reshape(-1)[idx]
    p, q = np.ones_like(xs), np.broadcast_to(first, x.shape).reshape(-1)[idx]
    values, starts = np.unique(ns, return_index=True)       # the first position of each n
    j = 1
    for top, s in zip(values.tolist(), starts.tolist()):     # (elements before s have n < top: done)
        while j < top:
            r = step(float(j), p[s:], q[s:], xs[s:], fl)
            p[s:] = q[s:]
            q[s:] = r
            j += 1
            if j % 64 == 0 and bool(np.isnan(r).all()):
                break                                       # (all still running are NaN, and stay so)
        else:
            continue
        break
    out.reshape(-1)[idx] = q
    return out


class Polynomial(Op):
    """An orthogonal polynomial of torch.special: no derivative (as PyTorch's)."""
    differentiable = False

    def forward(self, x, n, family, dtype):
        # both in the result dtype first (PyTorch's TensorIterator casts), then float64
        x64, nf = x.astype(dtype).astype(_f64), n.astype(dtype).astype(_f64)
        with np.errstate(all="ignore"):
            ok = np.isfinite(nf) & (np.abs(nf) < 2.0 ** 63)
            # PyTorch's static_cast<int64_t>: truncation; NaN, inf and values beyond int64
            # give int64's minimum on its CPUs (x86's conversion), so 0 (n < 0)
            ni = np.where(ok, nf, _INT64_MIN).astype(np.int64)
            shape = np.broadcast_shapes(x64.shape, ni.shape)
            x64, ni = np.broadcast_to(x64, shape).copy(), np.broadcast_to(ni, shape).copy()
            r = family(x64, ni, _Precision(dtype))
        return r.astype(dtype)


def _polynomial(name, family):
    op_name = f"special_{name}"

    def fn(input, n):
        x_t, n_t = isinstance(input, Tensor), isinstance(n, Tensor)
        if not x_t and not n_t:
            raise TypeError(f"{op_name}(): received an invalid combination of arguments - got "
                            f"({type(input).__name__}, {type(n).__name__}): one of x and n must be a Tensor")
        if not x_t:
            input = _wrapped(number(input, op_name, "x"), n, op_name, "x")
        elif not n_t:
            n = _wrapped(number(n, op_name, "n"), input, op_name, "n")
        if n._backend is not input._backend:
            raise device_mismatch(op_name, input, n)
        if not broadcastable(tuple(input.shape), tuple(n.shape)):
            raise RuntimeError(f"{op_name}(): the shapes of x {list(input.shape)} and n {list(n.shape)} "
                               "do not broadcast")
        rt = result_type_of([input._data, n._data])
        dtype = rt.np if rt.is_floating_point else _f32
        if dtype == _f16:
            raise NotImplementedError(f"{op_name}: \"{name}_cpu\" not implemented for 'Half'")
        return Polynomial.applyN((input, n), family, dtype)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"torch.special.{name}(input, n): no derivative; n truncated to an integer (n < 0: 0)."
    return fn


_FAMILIES = {
    "chebyshev_polynomial_t": _chebyshev("t", False), "chebyshev_polynomial_u": _chebyshev("u", False),
    "chebyshev_polynomial_v": _chebyshev("v", False), "chebyshev_polynomial_w": _chebyshev("w", False),
    "shifted_chebyshev_polynomial_t": _chebyshev("t", True), "shifted_chebyshev_polynomial_u": _chebyshev("u", True),
    "shifted_chebyshev_polynomial_v": _chebyshev("v", True), "shifted_chebyshev_polynomial_w": _chebyshev("w", True),
    "hermite_polynomial_h": _hermite_h, "hermite_polynomial_he": _hermite_he,
    "laguerre_polynomial_l": _laguerre_l, "legendre_polynomial_p": _legendre_p,
}
POLYNOMIALS = {name: _polynomial(name, family) for name, family in _FAMILIES.items()}


# ---- the normal distribution, erfcx, entr, xlog1py ------------------------------------------

class _Float64Unary(Op):
    """f (special_math's float64 array code) on x, rounded once."""
    save_inputs = (0,)

    def forward(self, x):
        return _in_float64(self.f, x)


def _ndtr64(x):
    return np.where(x < 0, SM.upper_ndtr64(np.maximum(-x, 0.0)), 1 - SM.upper_ndtr64(np.maximum(x, 0.0)))


class Ndtr(Op):
    """Phi(x) = erfc(-x/sqrt2) / 2, accurate in both tails (PyTorch's (1 + erf(x/sqrt2)) / 2
    is 0 below -8.3). PyTorch composes it, so its backward saves x/sqrt2, not x (a write to x
    before backward is no error there): this node takes x for the value and u = x/sqrt2 (a node
    of its own) for the gradient, which reaches x through u. The grad_fn name is PyTorch's: its
    composite ends in a multiplication."""
    _name, op_name = "MulBackward1", "special_ndtr"
    save_inputs = (1,)

    def forward(self, x, u):
        return _in_float64(_ndtr64, x)

    def backward(self, g, u):
        return None, P.mul(g, P.mul(P.exp(P.neg(P.square(u))), 1 / _SQRT_PI))       # dPhi/du


class Ndtri(_Float64Unary):
    _name, op_name = "SpecialNdtriBackward0", "special_ndtri"
    save_inputs = ()
    save_result = True
    f = staticmethod(SM.ndtri64)

    def backward(self, g, y):
        # sqrt(2 pi) exp(y^2 / 2) grad
        return P.mul(g, P.mul(P.exp(P.mul(P.square(y), 0.5)), _SQRT_2PI))


class LogNdtr(_Float64Unary):
    _name, op_name = "SpecialLogNdtrBackward0", "special_log_ndtr"
    save_result = True
    f = staticmethod(SM.log_ndtr64)

    def backward(self, g, x, y):
        # grad / sqrt(2 pi) exp(-(result + x^2 / 2)): phi(x) / Phi(x) without underflow
        return P.mul(P.div(g, _SQRT_2PI), P.exp(P.neg(P.add(y, P.mul(P.square(x), 0.5)))))


class Erfcx(_Float64Unary):
    _name, op_name = "SpecialErfcxBackward0", "special_erfcx"
    save_result = True
    f = staticmethod(SM.erfcx64)

    def backward(self, g, x, y):
        # (2 x erfcx(x) - 2 / sqrt(pi)) grad
        return P.mul(P.sub(P.mul(P.mul(x, 2.0), y), _TWO_OVER_SQRT_PI), g)


def _entr64(x):
    """-x log x; 0 at 0, -inf below 0 (NaN stays NaN)."""
    r = np.where(x > 0, -x * np.log(np.where(x > 0, x, 1.0)), x)
    return np.where(x == 0, 0.0, np.where(x < 0, -np.inf, r))


class Entr(_Float64Unary):
    _name, op_name = "SpecialEntrBackward0", "special_entr"
    f = staticmethod(_entr64)

    def backward(self, g, x):
        return P.mul(g, P.neg(P.add(P.log(x), 1)))


def _unary(cls, name, half=True):
    op_name = cls.op_name

    def fn(input):
        x = _tensor_input(input, op_name)
        if not half and x._data.dtype == _f16:
            raise NotImplementedError(f"{op_name}: \"{name}_cpu\" not implemented for 'Half'")
        return cls.apply1(x)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (cls.__doc__ or "").strip() or f"torch.special.{name}"
    return fn


def ndtr(input):
    x = _tensor_input(input, Ndtr.op_name)
    return Ndtr.apply2(x, x * _SQRT1_2)


ndtri = _unary(Ndtri, "ndtri", half=False)
log_ndtr = _unary(LogNdtr, "log_ndtr", half=False)
erfcx = _unary(Erfcx, "erfcx", half=False)
entr = _unary(Entr, "entr")
ndtr.__doc__ = "The standard normal CDF, (1 + erf(x / sqrt2)) / 2 (computed as erfc(-x / sqrt2) / 2)."
ndtri.__doc__ = "The inverse of ndtr: the x with ndtr(x) = input (-inf at 0, inf at 1, NaN outside [0, 1])."
log_ndtr.__doc__ = "log(ndtr(input)), accurate for input << 0 (about -input^2 / 2)."
erfcx.__doc__ = "The scaled complementary error function, erfc(x) exp(x^2)."
entr.__doc__ = "-x log(x) elementwise (0 at 0, -inf for x < 0)."


class Xlog1py(Xlogy):
    """x * log1p(y), 0 where x == 0 unless y is NaN."""
    _name, op_name = "SpecialXlog1PyBackward0", "special_xlog1py"

    @staticmethod
    def f(x, y):
        return P.where((x == 0) & (y == y), 0, P.mul(x, P.log1p(y)))

    @staticmethod
    def _no_grad_at(x, y):
        return (x == 0) & (y <= -1)

    @staticmethod
    def _times_d_other(g, x, y):         # derivatives.yaml: xlog1py(grad, y) masked; grad * x / (y + 1)
        return P.div(P.mul(g, x), P.add(y, 1))


Xlog1py._base = Xlog1py


class Xlog1pyNumberX(Xlog1py):
    _name = "SpecialXlog1PyBackward1"


class Xlog1pyNumberY(Xlog1py):
    _name = "SpecialXlog1PyBackward2"

    @staticmethod
    def _no_grad_at(x, y):                 # y a number: masked unless y > -1
        return (x == 0) & ~(y > -1)


def xlog1py(input, other):
    """input * log1p(other), 0 where input == 0 (unless other is NaN); either one may be a Python number."""
    op_name = "special_xlog1py"
    if isinstance(input, Tensor) and isinstance(other, Tensor):
        return Xlog1py.apply2(*_common(op_name, [input, other]))
    if isinstance(input, Tensor) and arith._is_number(other):
        return Xlog1pyNumberY.apply2(*_common(op_name, [input, _wrapped(other, input, op_name)]))
    if isinstance(other, Tensor) and arith._is_number(input):
        return Xlog1pyNumberX.apply2(*_common(op_name, [_wrapped(input, other, op_name, "self"), other]))
    raise TypeError(f"{op_name}(): received an invalid combination of arguments - got "
                    f"({type(input).__name__}, {type(other).__name__}), but expected (Tensor, Tensor), "
                    "(Number, Tensor) or (Tensor, Number)")


def expit(input):
    """The logistic sigmoid, 1 / (1 + exp(-input)) (torch.sigmoid)."""
    return _tensor_input(input, "special_expit").sigmoid()


METHODS = {}
FUNCTIONS = {}
INPLACE = {}

# {torch.special name: function} for ag.special
SPECIAL = {**POLYNOMIALS, "ndtr": ndtr, "ndtri": ndtri, "log_ndtr": log_ndtr, "erfcx": erfcx, "entr": entr,
           "xlog1py": xlog1py, "expit": expit}
