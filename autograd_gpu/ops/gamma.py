"""The gamma family: lgamma, digamma, polygamma, mvlgamma (torch's), with NumPy twins of our own (NumPy has none).

The twins are array expressions (NumPy or CuPy arrays alike: every call goes
through NumPy's dispatch), computed in float64 and rounded once to the input's
float dtype; integer and bool inputs give float32, as PyTorch's.

* lgamma: near 1 and 2 (where it vanishes) the Taylor series of lgamma(1+z)
  in zeta values; up to 10 that series after shifting down by the recurrence
  (log of a product of exact terms: no cancellation); past 10 Stirling's
  series; below 0 the reflection formula with an exact sin(pi x).
* digamma and polygamma(n): the recurrence shifting up to 10 (+ n), then the
  asymptotic series; below 0 the reflection formula (the n-th derivative of
  cot, a polynomial in cot(pi x) of exactly reduced argument).
Poles and infinities give PyTorch's values (its kernels' choices, listed where
they are made). Gradients: lgamma' = digamma, polygamma(n)' = polygamma(n + 1),
so every order works."""
import functools
import math
from fractions import Fraction

import numpy as np

from ..autograd.op import Op
from ..tensor import Tensor
from . import prims as P
from ._util import int_arg
from .functions import tensor_function

_f64 = np.dtype(np.float64)
_EULER = 0.57721566490153286061
_HALF_LOG_2PI = 0.91893853320467274178
_PI = math.pi
# Stirling's series: B_2k / (2k (2k - 1)), k = 1..8
_STIRLING = [1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156, -3617 / 122400]
_BERNOULLI = [Fraction(1, 6), Fraction(-1, 30), Fraction(1, 42), Fraction(-1, 30), Fraction(5, 66),
              Fraction(-691, 2730), Fraction(7, 6), Fraction(-3617, 510), Fraction(43867, 798),
              Fraction(-174611, 330)]                       # B_2 .. B_20
_ODD_ZETA = {3: 1.2020569031595942854, 5: 1.0369277551433699263, 7: 1.0083492773819228268,
             9: 1.0020083928260822144}
_SERIES_TERMS = 56                    # |z| <= 1/2: the terms fall as 2^-k / k


def _zeta(k):
    """Riemann's zeta(k), k >= 2, to double precision."""
    if k % 2 == 0 and k < 10:         # (exact in terms of pi and Bernoulli numbers)
        b = abs(_bernoulli(k))
        return float(b * Fraction((2 * _PI) ** k) / (2 * math.factorial(k)))
    if k in _ODD_ZETA:
        return _ODD_ZETA[k]
    return 1.0 + math.fsum(n ** -float(k) for n in range(2, 2001))    # (tail below 2000^-10)


def _bernoulli(k):
    if k // 2 - 1 < len(_BERNOULLI):
        return _BERNOULLI[k // 2 - 1]
    return _akiyama(k)


@functools.lru_cache(maxsize=None)
def _akiyama(k):
    """B_k by the Akiyama-Tanigawa algorithm (exact)."""
    a = [Fraction(0)] * (k + 1)
    for m in range(k + 1):
        a[m] = Fraction(1, m + 1)
        for j in range(m, 0, -1):
            a[j - 1] = j * (a[j - 1] - a[j])
    return a[0]


# lgamma(1 + z) = -gamma z + sum_{k>=2} (-1)^k zeta(k) / k z^k, highest power first (Horner)
_LGAMMA1P = [(-1) ** k * _zeta(k) / k for k in range(_SERIES_TERMS, 1, -1)] + [-_EULER]


def _horner(coefs, z):
    r = np.zeros_like(z) + coefs[0]
    for c in coefs[1:]:
        r = r * z + c
    return r


def _lgamma1p(z):
    """lgamma(1 + z) for |z| <= 1/2 (exact zero at z = 0)."""
    return _horner(_LGAMMA1P, z) * z


def _sinpi(x):
    """sin(pi x) with the argument reduced exactly (0 at the integers)."""
    n = np.round(x)
    s = np.sin(_PI * (x - n))
    return np.where(np.fmod(n, 2) == 0, s, -s)


def _stirling(y):
    """lgamma(y) for y >= 10."""
    w = 1 / (y * y)
    tail = _horner(_STIRLING[::-1], w) / y
    return (y - 0.5) * np.log(y) - y + _HALF_LOG_2PI + tail


def _lgamma_positive(x):
    """lgamma(x) for x > 0 (finite or inf); other lanes give garbage, not errors."""
    m = np.floor(x + 0.5)
    z = x - m                                          # (exact) in [-1/2, 1/2)
    small = _lgamma1p(np.where(x < 0.5, x, 0)) - np.log(np.where(x < 0.5, x, 1))
    near = _lgamma1p(z) + np.where(m >= 2, np.log1p(z), 0)
    prod = np.ones_like(x)
    for j in range(2, 10):                             # lgamma(2 + z) to lgamma(m + z): log of (j + z)
        prod = np.where(j < m, prod * (j + z), prod)
    mid = near + np.log(prod)
    big = _stirling(np.maximum(x, 10.0))
    return np.where(x < 0.5, small, np.where(x < 10, mid, big))


def lgamma_array(x):
    """log|Gamma(x)|: inf at 0, the negative integers and +-inf; NaN at NaN."""
    with np.errstate(all="ignore"):
        pos = _lgamma_positive(np.where(x > 0, x, 1 - x))   # (x <= 0: lgamma(1 - x), for the reflection)
        s = np.abs(_sinpi(x))
        neg = np.log(_PI / s) - pos
        r = np.where(x > 0, pos, neg)
        return np.where(((x <= 0) & (np.floor(x) == x)) | (x == np.inf), np.inf, r)


def _digamma_positive(x):
    """digamma(x) for x > 0: the recurrence up to 10, then the asymptotic series."""
    acc = np.zeros_like(x)
    y = x
    for _ in range(10):
        below = y < 10
        acc = acc - np.where(below, 1 / y, 0)
        y = np.where(below, y + 1, y)
    w = 1 / (y * y)
    coefs = [float(b / (2 * k)) for k, b in enumerate(_BERNOULLI[:8], 1)][::-1]
    return acc + np.log(y) - 0.5 / y - _horner(coefs, w) * w


def digamma_array(x):
    """digamma(x), with PyTorch's choices: -inf at +0, inf at -0, NaN at the
    negative integers and -inf."""
    with np.errstate(all="ignore"):
        pos = _digamma_positive(np.where(x > 0, x, 1 - x))
        r = x - np.trunc(x)                                # (exact: tan(pi r) is accurate where tan(pi x) is not)
        neg = pos - _PI / np.tan(_PI * r)
        out = np.where(x > 0, pos, neg)
        out = np.where((x < 0) & (np.trunc(x) == x), np.nan, out)
        return np.where(x == 0, np.copysign(np.inf, -x), out)


@functools.lru_cache(maxsize=None)
def _cot_derivative(n):
    """P_n with d^n/dx^n cot(pi x) = pi^n P_n(cot(pi x)): coefficients, lowest power first."""
    p = [0, 1]
    for _ in range(n):
        d = [k * c for k, c in enumerate(p)][1:]          # P'
        nxt = [0] * (len(d) + 2)
        for k, c in enumerate(d):                          # -(1 + u^2) P'
            nxt[k] -= c
            nxt[k + 2] -= c
        p = nxt
    return [float(c) for c in p]


def _polygamma_sum(n, x):
    """sum_k 1 / (x + k)^(n+1) over the shift, plus the asymptotic series at the
    shifted argument y >= 12 + n, both without the sign (-1)^(n+1) (x > 0)."""
    top = 12.0 + n
    acc = np.zeros_like(x)
    y = x
    for _ in range(int(top)):
        below = y < top
        acc = acc + np.where(below, np.power(y, -(n + 1.0)), 0)
        y = np.where(below, y + 1, y)
    fact = math.factorial(n) if n <= 170 else math.inf
    # (n-1)!/y^n + n!/(2 y^(n+1)) + sum_k B_2k (2k+n-1)! / ((2k)! y^(2k+n))
    series = math.factorial(n - 1) / np.power(y, float(n)) + fact / 2 / np.power(y, n + 1.0)
    w = 1 / (y * y)
    term = np.power(y, -float(n))
    for k, b in enumerate(_BERNOULLI, 1):
        term = term * w
        c = float(b) * math.exp(math.lgamma(2 * k + n) - math.lgamma(2 * k + 1))
        series = series + c * term
    return fact * acc + series


def _polygamma_positive(n, x):
    return (-1.0) ** (n + 1) * _polygamma_sum(n, x)


def _trigamma_float32_reflection(x):
    """PyTorch's float kernel of trigamma below 1/2: pi^2 / sin(pi x)^2 with sin of the
    unreduced float32 argument, minus trigamma(1 - x) (its values, poles included)."""
    x32 = x.astype(np.float32)
    s = np.sin(np.float32(_PI) * x32).astype(np.float64)
    return np.float32(_PI) ** 2 / np.square(s) - _polygamma_positive(1, np.where(x < 0.5, 1 - x, 1.0))


def polygamma_array(x, n, kernel=_f64):
    """The n-th derivative of digamma (n >= 1), with PyTorch's choices at its poles:
    n = 1: inf at 0, pi^2 / sin(pi x)^2 - trigamma(1 - x) at the negative integers
    (its kernel's finite value), NaN at -inf, 0 at inf; n >= 2: (-1)^(n+1) inf at
    the non-positive integers and -inf, NaN at inf (its Hurwitz zeta's). `kernel`:
    the dtype PyTorch computes in; for float32 (and below) trigamma below 1/2 is
    its float kernel's reflection (its sin(pi x) of the unreduced argument)."""
    if n == 0:
        return digamma_array(x)
    with np.errstate(all="ignore"):
        pos = _polygamma_positive(n, np.where(x > 0, x, 1 - x))
        u = 1 / np.tan(_PI * (x - np.trunc(x)))
        cot = _horner(_cot_derivative(n)[::-1], u)
        neg = -(_PI ** (n + 1)) * cot + (-1.0) ** n * pos
        out = np.where(x > 0, pos, neg)
        pole = (x <= 0) & (np.floor(x) == x)
        sign = (-1.0) ** (n + 1)
        if n == 1 and kernel != _f64:
            out = np.where(x < 0.5, _trigamma_float32_reflection(x), out)
            out = np.where(x == 0, np.inf, out)
            return np.where(x == -np.inf, np.nan, np.where(x == np.inf, 0.0, out))
        if n == 1:
            at_pole = np.where(x == 0, np.inf, _PI ** 2 / np.square(np.sin(_PI * x)) - pos)
            out = np.where(pole, at_pole, out)
            return np.where(x == -np.inf, np.nan, np.where(x == np.inf, 0.0, out))
        out = np.where(pole, sign * np.inf, out)
        return np.where(x == np.inf, np.nan, out)


# ---- the ops ---------------------------------------------------------------------------------

def _in_float64(f, x, *args, kernel=False):
    """f on x as float64, rounded once to x's float dtype (integers and bools: float32);
    `kernel`: f also takes that dtype."""
    d = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)
    r = f(x if x.dtype == _f64 else x.astype(_f64), *args, *((d,) if kernel else ()))
    return r if r.dtype == d else r.astype(d)


def _digamma_of(x):
    return Digamma.apply1(x) if isinstance(x, Tensor) else _in_float64(digamma_array, x)


def _polygamma_of(n, x):
    return Polygamma.apply1(x, n) if isinstance(x, Tensor) else _in_float64(polygamma_array, x, n, kernel=True)


class Lgamma(Op):
    _name, op_name = "LgammaBackward0", "lgamma"
    save_inputs = (0,)

    def forward(self, x):
        return _in_float64(lgamma_array, x)

    def backward(self, g, x):
        return P.mul(g, _digamma_of(x))


class Digamma(Op):
    _name, op_name = "DigammaBackward0", "digamma"
    save_inputs = (0,)

    def forward(self, x):
        return _in_float64(digamma_array, x)

    def backward(self, g, x):
        return P.mul(g, _polygamma_of(1, x))


class Polygamma(Op):
    _name, op_name = "PolygammaBackward0", "polygamma"
    save_inputs = (0,)

    def forward(self, x, n):
        self.n = n
        return _in_float64(polygamma_array, x, n, kernel=True)

    def backward(self, g, x):
        return P.mul(g, _polygamma_of(self.n + 1, x))


def _mvlgamma_array(x, p):
    r = sum(lgamma_array(x - i / 2) for i in range(p))
    return r + p * (p - 1) / 4 * math.log(_PI)


class Mvlgamma(Op):
    _name, op_name = "MvlgammaBackward0", "mvlgamma"
    save_inputs = (0,)

    def forward(self, x, p):
        self.p = p
        return _in_float64(_mvlgamma_array, x, p)

    def backward(self, g, x):
        # mvlgamma_backward: grad * sum_i digamma(x - i/2), its arguments made as x + (-i/2): -0 + 0 is +0
        d = _digamma_of(P.add(x, 0.0))
        for i in range(1, self.p):
            d = P.add(d, _digamma_of(P.sub(x, i / 2)))
        return P.mul(g, d)


def _floating(input, op_name):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op_name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    return input


def lgamma(input):
    """log |Gamma(input)| (inf at the poles 0, -1, -2, ...)."""
    return Lgamma.apply1(_floating(input, "lgamma"))


def digamma(input):
    """d/dx lgamma(x) (-inf at +0, inf at -0, NaN at the negative integers)."""
    return Digamma.apply1(_floating(input, "digamma"))


def _order(n):
    n = int_arg(n, "polygamma", "n")
    if n < 0:
        raise RuntimeError("polygamma(): polygamma(n, x) does not support negative n.")
    return n


def polygamma(n, input):
    """The n-th derivative of digamma at input (n = 0: digamma)."""
    n = _order(n)
    if not isinstance(input, Tensor):
        raise TypeError(f"polygamma(): argument 'input' (position 2) must be Tensor, not {type(input).__name__}")
    return Polygamma.apply1(input, n)


def _polygamma_method(self, n):
    """x.polygamma(n): polygamma(n, x)."""
    return polygamma(n, self)


def mvlgamma(input, p):
    """The multivariate log-gamma of dimension p: sum_{i<p} lgamma(input - i/2) + p(p-1)/4 log(pi)."""
    p = int_arg(p, "mvlgamma", "p")
    if _floating(input, "mvlgamma").dtype.kind == 0:
        raise RuntimeError("mvlgamma(): The input tensor may not be a boolean tensor.")
    if p < 1:
        raise RuntimeError("mvlgamma(): p has to be greater than or equal to 1")
    return Mvlgamma.apply1(_floating(input, "mvlgamma"), p)


def _float_result(op_name):
    """The in-place form: the result is floating, an integer self cannot hold it."""
    def check(self, *args, **kwargs):
        if not self.dtype.is_floating_point:
            raise RuntimeError(f"{op_name}_: result type Float can't be cast to the desired output type "
                               f"{self.dtype.libtorch}")
    return check


METHODS = {"lgamma": lgamma, "digamma": digamma, "polygamma": _polygamma_method, "mvlgamma": mvlgamma}
FUNCTIONS = {"lgamma": tensor_function("lgamma", lgamma), "digamma": tensor_function("digamma", digamma),
             "polygamma": polygamma, "mvlgamma": tensor_function("mvlgamma", mvlgamma)}
INPLACE = {name: _float_result(name) for name in METHODS}

# {torch.special name: function} for ag.special
SPECIAL = {}
