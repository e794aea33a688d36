"""The gamma family: lgamma, digamma, polygamma, mvlgamma, igamma, igammac and torch.special's zeta (torch's),
with NumPy twins of our own (NumPy has none), and torch.special's names for them (SPECIAL).

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
* igamma / igammac (P(a, x), Q(a, x)): Temme's uniform expansion near x = a
  for a > 20, series for small a and for x < a + 1, else the continued
  fraction (see "the incomplete gamma functions" below).
* zeta(x, q): Euler-Maclaurin summation after a shift of q; for q < 0 (integer
  x) from values at positive arguments.
Poles and infinities give PyTorch's values (its kernels' choices, listed where
they are made). Gradients: lgamma' = digamma, polygamma(n)' = polygamma(n + 1),
so every order works; igamma in x and zeta in q: derivatives.yaml's formulas
in differentiable steps; igamma in a and zeta in x: PyTorch's error at backward."""
import functools
import math
from fractions import Fraction

import numpy as np

from ..autograd.op import Op
from ..tensor import Tensor
from . import blocked, prims as P
from ._util import int_arg
from . import arith
from .composite_pointwise import _common, _no_integer_kernel, _tensor, _wrapped
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


def _lgamma_whole(x):
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


def _digamma_whole(x):
    """digamma(x), with PyTorch's choices: -inf at +0, inf at -0, NaN at the
    negative integers and -inf."""
    with np.errstate(all="ignore"):
        pos = _digamma_positive(np.where(x > 0, x, 1 - x))
        r = x - np.trunc(x)                                # (exact: tan(pi r) is accurate where tan(pi x) is not)
        neg = pos - _PI / np.tan(_PI * r)
        out = np.where(x > 0, pos, neg)
        out = np.where((x < 0) & (np.trunc(x) == x), np.nan, out)
        return np.where(x == 0, np.copysign(np.inf, -x), out)


# (both are some hundred passes of whole-array steps: on large NumPy arrays a chunk at a time, the same
# steps per element in the cache; 2M float64: lgamma 679 -> 271 ms, digamma 283 -> 231)
lgamma_array = blocked.in_chunks(_lgamma_whole)
digamma_array = blocked.in_chunks(_digamma_whole)


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


# ---- the incomplete gamma functions P(a, x), Q(a, x) ----------------------------------------
#
# Four methods, each on the lanes where it is accurate (compressed out of the arrays, computed,
# written back), all in float64:
#   Temme's uniform expansion (DLMF 8.12.3-8.12.10) where a > 20 and |x - a| < 0.3 a: both P and Q;
#   a < 1 and x < 2: the series of P and the series of Q = 1 - P with its leading part
#     1 - x^a / Gamma(1 + a) taken by expm1 (Q is tiny for tiny a: no cancellation);
#   else x < a + 1: the series of P (positive terms), Q = 1 - P (here P <= 1/2 + small);
#   else: the continued fraction of Q (modified Lentz), P = 1 - Q.
# The prefactor x^a e^-x / Gamma(1 + a) is taken, for a >= 10, as
#   exp(a log1pmx((x - a) / a)) / sqrt(2 pi a) / exp(Stirling's tail(a)),
# so that its error is that of the exponent a (log1p(mu) - mu) alone (a log x - x - lgamma(a)
# loses a log a ulps to cancellation); below 10 with lgamma(1 + a), exact for tiny a.

# c_k(eta) = sum_n _TEMME[k][n] eta^n, k < 12, n < 20: the coefficients of Temme's expansion, made by
# tests/test_ops_gamma.py::temme_coefficients (power series in mpmath at 60 digits: the reversion of
# eta^2 / 2 = mu - log(1 + mu), then DLMF 8.12.7 and the recurrence 8.12.9); the test makes them again
_TEMME = (
    (-0.3333333333333333, 0.08333333333333333, -0.014814814814814815, 0.0011574074074074073, 0.0003527336860670194,
     -0.0001787551440329218, 3.919263178522438e-05, -2.185448510679992e-06, -1.85406221071516e-06,
     8.296711340953087e-07, -1.7665952736826078e-07, 6.707853543401498e-09, 1.0261809784240309e-08,
     -4.382036018453353e-09, 9.14769958223679e-10, -2.5514193994946248e-11, -5.830772132550426e-11,
     2.4361948020667415e-11, -5.0276692801141755e-12, 1.1004392031956135e-13),
    (-0.001851851851851852, -0.003472222222222222, 0.0026455026455026454, -0.0009902263374485596,
     0.00020576131687242798, -4.018775720164609e-07, -1.8098550334489977e-05, 7.64916091608111e-06,
     -1.6120900894563446e-06, 4.647127802807434e-09, 1.378633446915721e-07, -5.752545603517705e-08,
     1.1951628599778148e-08, -1.7543241719747647e-11, -1.0091543710600413e-09, 4.162792991842583e-10,
     -8.56390702649298e-11, 6.067215101604758e-14, 7.1624989648114856e-12, -2.933186643771437e-12),
    (0.004133597883597883, -0.0026813271604938273, 0.0007716049382716049, 2.0093878600823047e-06,
     -0.0001073665322636516, 5.2923448829120125e-05, -1.2760635188618728e-05, 3.423578734096138e-08,
     1.3721957309062934e-06, -6.298992138380055e-07, 1.4280614206064242e-07, -2.0477098421990866e-10,
     -1.409252991086752e-08, 6.228974084922022e-09, -1.3670488396617114e-09, 9.428356159014678e-13,
     1.2872252400089318e-10, -5.5645956134363323e-11, 1.197593554636698e-11, -4.1689782251838634e-15),
    (0.0006494341563786008, 0.00022947209362139917, -0.0004691894943952557, 0.00026772063206283885,
     -7.561801671883977e-05, -2.396505113867297e-07, 1.1082654115347302e-05, -5.6749528269915965e-06,
     1.4230900732435883e-06, -2.7861080291528143e-11, -1.6958404091930278e-07, 8.099464905388083e-08,
     -1.9111168485973655e-08, 2.3928620439808118e-12, 2.0620131815488797e-09, -9.460496661855133e-10,
     2.1541049775774907e-10, -1.388823336813903e-14, -2.1894761681963938e-11, 9.790998951171684e-12),
    (-0.0008618882909167117, 0.0007840392217200666, -0.0002990724803031902, -1.4638452578843418e-06,
     6.641498215465122e-05, -3.968365047179435e-05, 1.1375726970678419e-05, 2.507497226237533e-10,
     -1.6954149536558305e-06, 8.907507532205309e-07, -2.292934834000805e-07, 2.956794137544049e-11,
     2.8865829742708783e-08, -1.4189739437803219e-08, 3.4463580499464896e-09, -2.3024517174528067e-13,
     -3.9409233028046403e-10, 1.86023389685045e-10, -4.356323005056618e-11, 1.278600101629623e-15),
    (-0.00033679855336635813, -6.972813758365857e-05, 0.0002772753244959392, -0.00019932570516188847,
     6.797780477937208e-05, 1.419062920643967e-07, -1.3594048189768693e-05, 8.018470256334202e-06,
     -2.291481176508095e-06, -3.252473551298454e-10, 3.4652846491085265e-07, -1.8447187191171344e-07,
     4.8240967037894184e-08, -1.7989466721743514e-14, -6.306194500013523e-09, 3.162417628774568e-09,
     -7.840924253697429e-10, 5.192679165254041e-15, 9.358944242306784e-11, -4.513426216163278e-11),
    (0.0005313079364639922, -0.0005921664373536939, 0.0002708782096718045, 7.902353232660328e-07,
     -8.153969367561969e-05, 5.61168275310625e-05, -1.8329116582843375e-05, -3.0796134506033047e-09,
     3.465155368803609e-06, -2.0291327396058603e-06, 5.788792863149004e-07, 2.338630673826657e-13,
     -8.828600746330484e-08, 4.7435958880408125e-08, -1.2545415020710383e-08, 8.649648858010293e-14,
     1.6846058979264062e-09, -8.575492823577594e-10, 2.1598224929232125e-10, -7.613230520476153e-16),
    (0.00034436760689237765, 5.171790908260592e-05, -0.00033493161081142234, 0.0002812695154763237,
     -0.00010976582244684731, -1.2741009095484485e-07, 2.7744451511563645e-05, -1.8263488805711332e-05,
     5.7876949497350525e-06, 4.93875893393627e-10, -1.0595367014026043e-06, 6.166714376110408e-07,
     -1.7562973359060463e-07, -1.297447328701544e-12, 2.695423606288966e-08, -1.4578352908731272e-08,
     3.887645959386175e-09, -3.881002251019412e-17, -5.327994173877286e-10, 2.7437977643314844e-10),
    (-0.0006526239185953094, 0.0008394987206720873, -0.000438297098541721, -6.969091458420552e-07,
     0.00016644846642067547, -0.00012783517679769218, 4.629953263691304e-05, 4.557909867922708e-09,
     -1.0595271125805195e-05, 6.783342904865167e-06, -2.1075476666258803e-06, -1.7213731432817144e-11,
     3.773587741611098e-07, -2.1867506700122867e-07, 6.220228804018927e-08, 6.597703826733e-16,
     -9.590386497425686e-09, 5.213214492280807e-09, -1.3991589583935709e-09, 5.382058999060575e-16),
    (-0.0005967612901927463, -7.204895416020011e-05, 0.0006782308837667328, -0.0006401475260262758,
     0.00027750107634328704, 1.819700838046515e-07, -8.479507117068503e-05, 6.105192082501531e-05,
     -2.1073920183404862e-05, -8.858589014125599e-10, 4.5284535953805374e-06, -2.8427815022504407e-06,
     8.708234177864641e-07, 3.6886101871706966e-12, -1.534469519070206e-07, 8.862466778790695e-08,
     -2.5184812301826817e-08, -1.0225912098215092e-14, 3.896947075815478e-09, -2.1267304792235634e-09),
    (0.0013324454494800656, -0.0019144384985654776, 0.0011089369134596636, 9.9324041226423e-07,
     -0.0005087450129309319, 0.00042735056665392886, -0.00016858853767910798, -8.1301893922785e-09,
     4.5284402370562144e-05, -3.127053674781734e-05, 1.044986828530338e-05, 4.8435226265680926e-11,
     -2.148256587345626e-06, 1.329369701097492e-06, -4.029569309210103e-07, -1.756787766632329e-13,
     7.014504316366825e-08, -4.040787734999483e-08, 1.1474026743371964e-08, 3.964274685356394e-18),
    (0.001579727660730835, 0.00016251626278391583, -0.0020633421035543276, 0.00213896861856891,
     -0.0010108559391263003, -3.99127055299192e-07, 0.0003623502508476469, -0.00028143901463712157,
     0.00010449513336495887, 2.12114184918303e-09, -2.5779417251947842e-05, 1.7281818956040464e-05,
     -5.641377387290428e-06, -1.1024320105776174e-11, 1.1223224418895174e-06, -6.869339637952674e-07,
     2.0653236975414888e-07, 4.6714772409838506e-14, -3.5609886164949055e-08, 2.0470855345905963e-08),
)
_TEMME_MIN_A, _TEMME_WIDTH = 20.0, 0.3
_SERIES_CAP, _FRACTION_CAP, _Q_SERIES_TERMS = 200, 400, 32
_EPS = 2.0 ** -53
_TINY = 1e-300


def _log1pmx(x, a):
    """log(1 + mu) - mu for mu = (x - a) / a, accurate near 0: with t = mu / (2 + mu) = (x - a) / (x + a),
    log(1 + mu) = 2 atanh(t) and mu = 2t / (1 - t), so it is -2t^2 / (1 - t) + 2 sum_k t^(2k+3) / (2k + 3)
    (|t| <= 1/3 here); away from 0 log(x / a) - mu (not log1p(mu): 1 + mu would lose x's digits)."""
    with np.errstate(all="ignore"):
        mu = (x - a) / a
        near = np.abs(mu) < 0.5
        t = np.where(near, (x - a) / (x + a), 0.0)
        t2 = t * t
        s = np.zeros_like(t)
        for k in range(30, -1, -1):
            s = s * t2 + 1.0 / (2 * k + 3)
        series = -2 * t2 / (1 - t) + 2 * t * t2 * s
        return np.where(near, series, np.log(x / a) - mu)


def _stirling_tail(a):
    """lgamma(a) - ((a - 1/2) log a - a + log sqrt(2 pi)), a >= 10."""
    return _horner(_STIRLING[::-1], 1 / (a * a)) / a


def _lgamma1p_below_10(a):
    """lgamma(1 + a) for 0 < a < 10 (below 1/2 from the series in a: exact for tiny a)."""
    return np.where(a <= 0.5, _lgamma1p(np.minimum(a, 0.5)), lgamma_array(a + 1))


def _power_term(a, x):
    """x^a e^-x / Gamma(1 + a), a > 0, x > 0 finite."""
    small = a < 10
    a_s = np.where(small, a, 1.0)
    lg = _lgamma1p_below_10(a_s)
    # (x^a by power where it cannot overflow: exp(a log x) would carry log x's rounding times a)
    direct = np.where(x <= 30, np.power(x, a_s) * np.exp(-x - lg), np.exp(a_s * np.log(x) - x - lg))
    a_l = np.where(small, 10.0, a)
    stirling = np.exp(a_l * _log1pmx(x, a_l) - _stirling_tail(a_l)) / np.sqrt(2 * _PI * a_l)
    return np.where(small, direct, stirling)


def _lower_series(a, x):
    """P(a, x) = x^a e^-x / Gamma(a + 1) sum_n x^n / ((a + 1) ... (a + n))."""
    term = np.ones_like(x)
    total = np.ones_like(x)
    n = a.copy()
    for i in range(_SERIES_CAP):
        n += 1
        term = term * (x / n)
        total += term
        if i % 8 == 7 and not np.any(term > _EPS * total):
            break
    return _power_term(a, x) * total


def _upper_fraction(a, x):
    """Q(a, x) from the continued fraction Gamma(a, x) e^x x^-a = 1 / (b_0 + a_1 / (b_1 + a_2 / (b_2 + ...))),
    b_i = x + 2i + 1 - a, a_i = -i (i - a): the modified Lentz method finds how many terms make it
    converge on every lane, then the fraction is summed from that depth up (stable: the product of
    Lentz's factors would gather their rounding errors, tens of ulps at x ~ 3)."""
    b = x + 1 - a
    c = np.full_like(x, 1 / _TINY)
    d = 1 / b
    depth = _FRACTION_CAP
    for i in range(1, _FRACTION_CAP + 1):
        an = -i * (i - a)
        b = b + 2
        d = an * d + b
        d = np.where(np.abs(d) < _TINY, _TINY, d)
        c = b + an / c
        c = np.where(np.abs(c) < _TINY, _TINY, c)
        d = 1 / d
        if i % 8 == 0 and not np.any(np.abs(d * c - 1) > _EPS):
            depth = i + 8
            break
    tail = np.zeros_like(x)
    for i in range(depth, 0, -1):
        tail = (-i * (i - a)) / (x + (2 * i + 1) - a + tail)
    return a * _power_term(a, x) / (x + 1 - a + tail)          # (x^a e^-x / Gamma(a) times it)


def _upper_series(a, x):
    """Q(a, x) for a < 1, x < 2: 1 - x^a / Gamma(1 + a) - x^a / Gamma(a) sum_{n>=1} (-x)^n / (n! (a + n))."""
    log_lead = a * np.log(x) - _lgamma1p_below_10(a)          # log(x^a / Gamma(1 + a))
    term = np.ones_like(x)
    total = np.zeros_like(x)
    for n in range(1, _Q_SERIES_TERMS + 1):
        term = term * (-x / n)
        total += term / (a + n)
    return -np.expm1(log_lead) - a * np.exp(log_lead) * total


def _temme(a, x):
    """(P, Q) by Temme's expansion: Q = erfc(eta sqrt(a/2)) / 2 + e^(-a eta^2/2) / sqrt(2 pi a)
    sum_k c_k(eta) a^-k, eta^2 / 2 = lam - 1 - log(lam), lam = x / a, sign(eta) = sign(lam - 1)."""
    half_eta2 = -_log1pmx(x, a)
    eta = np.copysign(np.sqrt(2 * half_eta2), x - a)
    total = np.zeros_like(a)
    for row in _TEMME[::-1]:                              # (Horner in 1/a over the c_k)
        total = total / a + _horner(row[::-1], eta)
    r = np.exp(-a * half_eta2) / np.sqrt(2 * _PI * a) * total
    z = eta * np.sqrt(a / 2)
    return 0.5 * P.erfc(-z) - r, 0.5 * P.erfc(z) + r


def _on(mask, f, *arrays):
    """f on the lanes of `mask` only (compressed), or None when there are none."""
    if not np.any(mask):
        return None
    return f(*(v[mask] for v in arrays))


def _incomplete_gamma(a, x):
    """(P(a, x), Q(a, x)) for a > 0, x > 0, both finite (other lanes: NaN)."""
    p, q = np.full_like(a, np.nan), np.full_like(a, np.nan)
    ok = (a > 0) & (x > 0) & (a < np.inf) & (x < np.inf)
    temme = ok & (a > _TEMME_MIN_A) & (np.abs(x - a) < _TEMME_WIDTH * a)
    small = ok & ~temme & (a < 1) & (x < 2)
    series = ok & ~temme & ~small & (x < a + 1)
    fraction = ok & ~temme & ~small & ~series
    r = _on(temme, _temme, a, x)
    if r is not None:
        p[temme], q[temme] = r
    r = _on(small, lambda a_, x_: (_lower_series(a_, x_), _upper_series(a_, x_)), a, x)
    if r is not None:
        p[small], q[small] = r
    r = _on(series, _lower_series, a, x)
    if r is not None:
        p[series], q[series] = r, 1 - r
    r = _on(fraction, _upper_fraction, a, x)
    if r is not None:
        p[fraction], q[fraction] = 1 - r, r
    return p, q


def _incomplete_gamma_edges(a, x, r, upper):
    """PyTorch's values off the interior (its kernels' order of tests): NaN for a < 0 or x < 0; at
    a == 0, P = 1 (Q = 0) for x > 0, else NaN; at x == 0, P = 0; a == inf: P = 0 unless x is
    infinite (NaN); x == inf: P = 1."""
    one, zero = (0.0, 1.0) if upper else (1.0, 0.0)
    out = np.where(np.isinf(x), one, r)
    out = np.where(np.isinf(a), np.where(np.isinf(x), np.nan, zero), out)
    out = np.where(x == 0, zero, out)
    out = np.where(a == 0, np.where(x > 0, one, np.nan), out)
    return np.where((x < 0) | (a < 0), np.nan, out)


def igamma_array(a, x):
    """The regularized lower incomplete gamma function P(a, x) (float64 arrays)."""
    a, x = np.broadcast_arrays(a, x)
    with np.errstate(all="ignore"):
        return _incomplete_gamma_edges(a, x, np.clip(_incomplete_gamma(a, x)[0], 0, 1), upper=False)


def igammac_array(a, x):
    """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x) (float64 arrays)."""
    a, x = np.broadcast_arrays(a, x)
    with np.errstate(all="ignore"):
        return _incomplete_gamma_edges(a, x, np.clip(_incomplete_gamma(a, x)[1], 0, 1), upper=True)


# ---- the Hurwitz zeta function ---------------------------------------------------------------
#
# zeta(x, q) = sum_{k<N} (q + k)^-x + Euler-Maclaurin's tail at w = q + N:
#   w^(1-x) / (x - 1) + w^-x / 2 + sum_{j=1..10} B_2j / (2j)! x (x + 1) ... (x + 2j - 2) w^(-x-2j+1),
# with N making w >= max(10, x), so that the tail's terms fall at least as ((x + 2j) / (2 pi w))^2
# (w >= x / 2 leaves 1e-11 at x ~ 40). Beyond _ZETA_SHIFT_CAP terms the shift stops: there (x > 256)
# the tail is below the first term's ulp (by (q / w)^x), or w^-x underflows.

_ZETA_SHIFT_CAP = 256
_EULER_MACLAURIN = [float(b / math.factorial(2 * j)) for j, b in enumerate(_BERNOULLI, 1)]   # B_2j / (2j)!


def _hurwitz_positive(x, q):
    """zeta(x, q) for finite x > 1, finite q > 0."""
    shift = np.clip(np.ceil(np.maximum(10.0, x) - q), 0, _ZETA_SHIFT_CAP)
    total = np.zeros_like(q)
    for k in range(int(np.max(shift)) if shift.size else 0):
        total += np.where(k < shift, np.power(q + k, -x), 0.0)
    w = q + shift
    lead = np.power(w, -x)
    tail = np.full_like(w, 0.5)
    rising = x / w                                   # x (x + 1) ... (x + 2j - 2) / w^(2j - 1)
    for j, c in enumerate(_EULER_MACLAURIN, 1):
        tail += c * rising
        rising = rising * ((x + 2 * j - 1) * (x + 2 * j)) / (w * w)
    # (w^(1-x) on its own: w / (x - 1) may overflow; where w^-x is 0 at a huge x the factors may too)
    return total + np.power(w, 1 - x) / (x - 1) + np.where(lead == 0, 0.0, lead * tail)


def _hurwitz_negative(x, q):
    """zeta(x, q) = sum_k (q + k)^-x for an integer x > 1 and q < 0 not an integer: with m = ceil(-q)
    and r = q + m in (0, 1), the m negative terms are (-1)^x (zeta(x, 1 - r) - zeta(x, 1 - q)), and
    the rest is zeta(x, r)."""
    r = q + np.ceil(-q)
    sign = np.where(np.fmod(x, 2) == 0, 1.0, -1.0)
    # (the terms at r and 1 - r first: for odd x they cancel, exactly at r = 1/2)
    return (_hurwitz_positive(x, r) + sign * _hurwitz_positive(x, 1 - r)) - sign * _hurwitz_positive(x, 1 - q)


def zeta_array(x, q):
    """The Hurwitz zeta function sum_k (q + k)^-x (float64 arrays), with PyTorch's values: inf at
    x == 1; NaN for x < 1; inf at q = 0, -1, -2, ... (and -inf); NaN for q < 0 and x not an integer;
    at x = inf: 1 for q == 1, inf for q < 1, NaN for q > 1; NaN at q = inf (its kernel's)."""
    x, q = np.broadcast_arrays(x, q)
    with np.errstate(all="ignore"):
        out = np.full_like(q, np.nan)
        finite = (x > 1) & (x < np.inf) & (q < np.inf)
        pos = finite & (q > 0)
        r = _on(pos, _hurwitz_positive, x, q)
        if r is not None:
            out[pos] = r
        neg = finite & (q < 0) & (np.floor(q) != q) & (np.floor(x) == x)
        r = _on(neg, _hurwitz_negative, x, q)
        if r is not None:
            out[neg] = r
        at_inf = np.where(q == 1, 1.0, np.where(q < 1, np.inf, np.nan))
        out = np.where(x == np.inf, at_inf, out)
        out = np.where((q <= 0) & (np.floor(q) == q), np.inf, out)
        out = np.where(x < 1, np.nan, out)
        return np.where(x == 1, np.inf, out)


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
    return _mvlgamma_checked(input, p, "mvlgamma")


# ---- igamma, igammac, zeta ------------------------------------------------------------------

def _in_float64_2(f, a, b):
    """f on two arrays of one float dtype, in float64, rounded once to that dtype."""
    d = a.dtype
    r = f(a if d == _f64 else a.astype(_f64), b if d == _f64 else b.astype(_f64))
    return r if r.dtype == d else r.astype(d)


def _lgamma_of(x):
    return Lgamma.apply1(x) if isinstance(x, Tensor) else _in_float64(lgamma_array, x)


class Igamma(Op):
    """P(a, x); its gradient in x is derivatives.yaml's, grad * exp((a - 1) log x - x - lgamma(a)),
    in differentiable steps; in a PyTorch has none (the error at backward)."""
    _name, op_name, what = "IgammaBackward0", "igamma", "igamma: input"
    save_inputs = (0, 1)
    sign = 1.0

    def forward(self, a, x):
        return _in_float64_2(igamma_array if self.sign > 0 else igammac_array, a, x)

    def backward(self, g, a, x):
        if self.needs(0):
            raise NotImplementedError(f"the derivative for '{self.what}' is not implemented.")
        density = P.exp(P.sub(P.sub(P.mul(P.sub(a, 1.0), P.log(x)), x), _lgamma_of(a)))
        return None, P.mul(g if self.sign > 0 else P.neg(g), density)


class Igammac(Igamma):
    _name, op_name, what = "IgammacBackward0", "igammac", "igammac: input"
    sign = -1.0


class Zeta(Op):
    """The Hurwitz zeta function zeta(x, q); its gradient in q is derivatives.yaml's,
    grad * -x * zeta(x + 1, q); in x PyTorch has none (the error at backward)."""
    _name, op_name = "SpecialZetaBackward0", "special_zeta"
    save_inputs = (0, 1)

    def forward(self, x, q):
        return _in_float64_2(zeta_array, x, q)

    def backward(self, g, x, q):
        if self.needs(0):
            raise NotImplementedError("the derivative for 'zeta' is not implemented.")
        x1 = P.add(x, 1.0)
        z = Zeta.apply2(x1, q) if isinstance(q, Tensor) else _in_float64_2(zeta_array, x1, q)
        return None, P.mul(P.mul(g, P.neg(x)), z)


class ZetaNumberX(Zeta):
    _name = "SpecialZetaBackward1"


class ZetaNumberQ(Zeta):
    _name = "SpecialZetaBackward2"


def _igamma_operands(input, other, op_name):
    a, x = _tensor(input, op_name, "input", 1), _tensor(other, op_name, "other", 2)
    _no_integer_kernel(op_name.replace("special_gammaincc", "igammac").replace("special_gammainc", "igamma"),
                       (a, x))
    return _common(op_name, [a, x])


def igamma(input, other):
    """The regularized lower incomplete gamma function P(input, other) (input: a, other: x)."""
    return Igamma.apply2(*_igamma_operands(input, other, "igamma"))


def igammac(input, other):
    """The regularized upper incomplete gamma function Q(input, other) = 1 - P(input, other)."""
    return Igammac.apply2(*_igamma_operands(input, other, "igammac"))


def gammainc(input, other):
    """torch.special.gammainc: igamma."""
    return Igamma.apply2(*_igamma_operands(input, other, "special_gammainc"))


def gammaincc(input, other):
    """torch.special.gammaincc: igammac."""
    return Igammac.apply2(*_igamma_operands(input, other, "special_gammaincc"))


def _zeta_combination_error(input, other):
    return TypeError(f"special_zeta() received an invalid combination of arguments - got "
                     f"({type(input).__name__}, {type(other).__name__}), but expected one of:\n"
                     " * (Tensor input, Tensor other)\n * (Number self, Tensor other)\n"
                     " * (Tensor input, Number other)")


def zeta(input, other):
    """torch.special.zeta: the Hurwitz zeta function sum_k (other + k)^-input; either operand may be
    a Python number (not both)."""
    name = "special_zeta"
    if isinstance(input, Tensor) and isinstance(other, Tensor):
        cls, operands = Zeta, [input, other]
    elif isinstance(input, Tensor) and arith._is_number(other):
        cls, operands = ZetaNumberQ, [input, _wrapped(other, input, name)]
    elif isinstance(other, Tensor) and arith._is_number(input):
        cls, operands = ZetaNumberX, [_wrapped(input, other, name, "self"), other]
    else:
        raise _zeta_combination_error(input, other)
    x, q = _common(name, operands)
    if x.dtype.np == np.float16:
        raise NotImplementedError("special_zeta: \"zeta_cpu\" not implemented for 'Half'")
    return cls.apply2(x, q)


def _special_unary(name, op):
    def fn(input):
        return op.apply1(_floating(input, f"special_{name}"))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"torch.special.{name}: {op.op_name}."
    return fn


def special_polygamma(n, input):
    """torch.special.polygamma: polygamma."""
    n = _order(n)
    if not isinstance(input, Tensor):
        raise TypeError(f"special_polygamma(): argument 'input' (position 2) must be Tensor, not "
                        f"{type(input).__name__}")
    return Polygamma.apply1(input, n)


def _mvlgamma_checked(input, p, op_name):
    p = int_arg(p, op_name, "p")
    if _floating(input, op_name).dtype.kind == 0:
        raise RuntimeError(f"{op_name}(): The input tensor may not be a boolean tensor.")
    if p < 1:
        raise RuntimeError(f"{op_name}(): p has to be greater than or equal to 1")
    return Mvlgamma.apply1(input, p)


def multigammaln(input, p):
    """torch.special.multigammaln: mvlgamma."""
    return _mvlgamma_checked(input, p, "special_multigammaln")


def _float_result(op_name):
    """The in-place form: the result is floating, an integer self cannot hold it."""
    def check(self, *args, **kwargs):
        if not self.dtype.is_floating_point:
            raise RuntimeError(f"{op_name}_: result type Float can't be cast to the desired output type "
                               f"{self.dtype.libtorch}")
    return check


def _igamma_result(op_name):
    """The in-place form of igamma/igammac: `other` a Tensor; no integer kernel; a float result
    an integer self cannot hold."""
    float_result = _float_result(op_name)

    def check(self, other=None, *args, **kwargs):
        _tensor(other, f"{op_name}_", "other", 1)
        _no_integer_kernel(op_name, (self, other))
        float_result(self)
    return check


METHODS = {"lgamma": lgamma, "digamma": digamma, "polygamma": _polygamma_method, "mvlgamma": mvlgamma,
           "igamma": igamma, "igammac": igammac}
FUNCTIONS = {"lgamma": tensor_function("lgamma", lgamma), "digamma": tensor_function("digamma", digamma),
             "polygamma": polygamma, "mvlgamma": tensor_function("mvlgamma", mvlgamma),
             "igamma": tensor_function("igamma", igamma), "igammac": tensor_function("igammac", igammac)}
INPLACE = {name: _float_result(name) for name in ("lgamma", "digamma", "polygamma", "mvlgamma")}
INPLACE.update(igamma=_igamma_result("igamma"), igammac=_igamma_result("igammac"))

# {torch.special name: function} for ag.special
SPECIAL = {"gammaln": _special_unary("gammaln", Lgamma), "digamma": _special_unary("digamma", Digamma),
           "psi": _special_unary("psi", Digamma), "polygamma": special_polygamma, "multigammaln": multigammaln,
           "gammainc": gammainc, "gammaincc": gammaincc, "zeta": zeta}
