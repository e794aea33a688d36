"""erf, erfc and erfinv on NumPy arrays: NumPy has no error function (the CUDA
kernels call CUDA's). Two paths, each rounding once to the input's type:

float64 (and longer): computed to within a few float64 ulps. erf and erfc come
from three Chebyshev fits (tests/test_special_math.py makes them again with
mpmath, and checks the results against mpmath):
  |x| < 1:   erf(x) = x * P(x^2)
  1..2:      erfc(x) = exp(-x^2) * erfcx(x), erfcx(x) = erfc(x) exp(x^2), a fit in x
  above 2:   erfcx(x) = H(1/x^2) / x, H smooth, tending to 1/sqrt(pi)
exp(-x^2) is taken in two factors, so that x^2's rounding error, which
exp would multiply by up to 700, never arises.
erfinv refines a closed-form first guess (rel. error ~2e-3) by Halley's method.

float32, float16, integers and booleans (as float32): within 1 float32 ulp of the
correctly rounded value, from fits of lower degree evaluated in float64 without
masks (see "float32 path" below): 5 to 15 times faster."""
import numpy as np

# Chebyshev coefficients (generated: tests/test_special_math.py::fitted_coefficients)
ERF_SMALL = (0.9754769393826541, -0.14226120510371365, 0.010035582187599796, -0.0005768764699767485,
             2.741993125219606e-05, -1.1043175507344507e-06, 3.8488755420345036e-08, -1.1808582533875466e-09,
             3.2334215826050907e-11, -7.991015947004483e-13, 1.799072511348477e-14, -3.718635162421382e-16,
             7.101507363020076e-18)                                         # P on y = x^2 in [0, 1]
ERFCX_1_2 = (0.331427281639452, -0.0850021377067432, 0.009951127341466115, -0.0010810888102208325,
             0.0001102324363119495, -1.0636830518218601e-05, 9.775012680479055e-07, -8.597922867888315e-08,
             7.2677084117248425e-09, -5.923543840592542e-10, 4.6683928572294154e-11, -3.5661277015677288e-12,
             2.645877951906767e-13, -1.9101658667347927e-14, 1.3439764866689656e-15, -9.22862586358592e-17,
             6.166538925305747e-18)                                         # erfcx on x in [1, 2]
ERFCX_TAIL = (0.5357589655101462, -0.026532434337606717, 0.0017111539779208558, -0.00016375166345851787,
              1.9871293500552038e-05, -2.843712412766555e-06, 4.6061613089631305e-07, -8.227753025879208e-08,
              1.5921418727709002e-08, -3.29507136225282e-09, 7.223439760399949e-10, -1.6648558133971247e-10,
              4.0103925881947756e-11, -1.004816214309994e-11, 2.6082759101451536e-12, -6.991110473469884e-13,
              1.9294920910628184e-13, -5.470124362448688e-14, 1.589643835328875e-14, -4.726331298479922e-15,
              1.4342257646435741e-15, -4.4005843477478996e-16, 1.2573587306637193e-16)  # H on u = 1/x^2 in [0, 1/4]
FITS = {"ERF_SMALL": (ERF_SMALL, 0.0, 1.0), "ERFCX_1_2": (ERFCX_1_2, 1.0, 2.0),
        "ERFCX_TAIL": (ERFCX_TAIL, 0.0, 0.25)}


def _fit(name, v):
    """The fit at v: Clenshaw's recurrence, in place (NumPy's chebval makes a
    temporary per step: several times slower)."""
    c, a, b = FITS[name]
    t = (2 * v - (a + b)) / (b - a)
    t2 = 2 * t
    b1, b2, tmp = np.full_like(t, c[-1]), np.zeros_like(t), np.empty_like(t)
    for ck in c[-2:0:-1]:                  # b_k = c_k + 2t b_(k+1) - b_(k+2)
        np.multiply(t2, b1, out=tmp)
        tmp -= b2
        tmp += ck
        b2, b1, tmp = b1, tmp, b2
    np.multiply(t, b1, out=tmp)
    tmp -= b2
    tmp += c[0]
    return tmp


def _exp_minus_square(a):
    """exp(-a*a) for a >= 0: a = h + l with h of 24 bits, so h*h is exact."""
    h = a.astype(np.float32).astype(np.float64)
    return np.exp(-h * h) * np.exp(-(a - h) * (a + h))


def _erfc_large(a):
    """erfc(a) for a >= 1 (NaN stays NaN)."""
    a = np.minimum(a, 30.0)              # erfc underflows to 0 from 27.3 on (and x*x would overflow)
    out = np.empty_like(a)
    mid = a < 2
    am = a[mid]
    out[mid] = _exp_minus_square(am) * _fit("ERFCX_1_2", am)
    at = a[~mid]
    out[~mid] = _exp_minus_square(at) * (_fit("ERFCX_TAIL", 1 / (at * at)) / at)
    return out


def _erf_small(x):
    return x * _fit("ERF_SMALL", x * x)


_CHUNK = 1 << 16       # elements per pass: its float64 temporaries are reused, not faulted in afresh


def _chunked(fn):
    """fn (float64 array in, float64 array out) on an array of any float type,
    a chunk at a time (the result rounded to the input's type; integers: float32).
    Whole-array temporaries would cost more in page faults than in arithmetic."""
    def on_array(x):
        x = np.asarray(x)
        flat = x.reshape(-1)
        out = np.empty(flat.shape, x.dtype if x.dtype.kind == "f" else np.float32)
        with np.errstate(all="ignore"):
            for i in range(0, flat.size, _CHUNK):
                out[i:i + _CHUNK] = fn(flat[i:i + _CHUNK].astype(np.float64))
        return out.reshape(x.shape)
    on_array.__name__ = fn.__name__.lstrip("_")
    return on_array


def _split(x, small_fn, large_fn):
    """small_fn on |x| < 1, large_fn elsewhere (NaN there)."""
    out = np.empty_like(x)
    small = np.abs(x) < 1
    out[small] = small_fn(x[small])
    large = ~small
    out[large] = large_fn(x[large])
    return out


def _erf(x):
    def large(v):
        return np.copysign(1 - _erfc_large(np.abs(v)), v)
    return _split(x, _erf_small, large)


def _erfc(x):
    def large(v):
        e = _erfc_large(np.abs(v))
        return np.where(v < 0, 2 - e, e)
    return _split(x, lambda v: 1 - _erf_small(v), large)


_TWO_OVER_SQRT_PI = 1.1283791670955126


def _erfinv(x):
    a = np.abs(x)
    # Winitzki's closed form (|error| < 2e-3 relative)
    ln = np.log1p(-a * a)
    t = 2 / (np.pi * 0.147) + ln / 2
    y = np.sqrt(np.sqrt(t * t - ln / 0.147) - t)
    near_one = a > 0.5
    c = 1 - a                                  # exact for a >= 0.5
    for _ in range(2):                         # Halley: f'' / f' = -2y for erf
        f = np.where(near_one, c - _erfc(y), _erf(y) - a)
        r = f / (_TWO_OVER_SQRT_PI * np.exp(-y * y))
        y = y - r / (1 + y * r)
    y = np.where(a == 1, np.inf, np.where(a > 1, np.nan, y))
    return np.copysign(y, x)



# --- float32 path (float16, integers and booleans too) --------------------------------
# A float32 result within 1 ulp (nearly always correctly rounded) needs ~1e-9 relative
# accuracy: fits of low degree, still evaluated in float64, on whole chunks. Each
# range's formula runs on every element, its input clipped into the range, and the
# ranges combine by arithmetic that adds an exact 0 outside them: no masks, no
# gathers or scatters. A float32 x squared is exact in float64, so exp(-x^2) needs
# no splitting.
#   erf(|x|):     |x| <= C: x P(x^2);  b = |x| in [C, 4]: 1 - exp(-b^2) erfcx(b), erfcx a fit
#                 in t = 2/(2+b) (erf(x) rounds to 1 in float32 from 3.92 on); x's sign set last
#   erfc(x):      exp(-b^2) erfcx(b), b = |x| <= 10.5 (erfc rounds to 0 in float32 from 10.06 on),
#                 erfcx a fit in t = 3/(3+b); 2 - that for x < 0
#   erfinv(|x|):  v R(t), v = sqrt(w), w = -log(1 - x^2) (< 16 for |x| < 1 in float32),
#                 t = 8/(8+w); |x| = 1: t = 0, v = inf
# ERF32_SMALL and ERFINV32 interpolate at the interval's ends too (Chebyshev extrema):
# exact at x = 0, so that erf(x) ~ 2x/sqrt(pi) and erfinv(x) ~ sqrt(pi) x/2 round correctly.
ERF32_SMALL = (1.034619819719705, -0.08996516396049975, 0.003670260392957701, -0.00012058948013961513,
               3.2592041036891386e-06, -7.433810683209261e-08)             # erf(x)/x on y = x^2 in [0, 9/16]
ERFCX32_ERF = (0.3020753397856696, 0.18377724401215811, 0.019888834841854497, 0.0011959647610880675,
               4.4309534858607356e-06, -4.133682231095603e-06, -5.1494368363202284e-08,
               2.150115807999257e-08)                                       # erfcx on t = 2/(2+x) in [1/3, 8/11]
ERFCX32 = (0.39137632526602767, 0.44362396117660713, 0.13062987084693864, 0.029150496531445483,
           0.0047280749084193455, 0.00048391444367209527, 1.2134649540708257e-05, -4.360108270257617e-06,
           -4.6409141011989757e-07, 3.856655391378333e-08, 8.589276083103165e-09)  # on t = 3/(3+x) in [2/9, 1]
ERFINV32 = (0.9227142710046412, -0.038242356984478684, 0.0010971437269657472, 0.0006844341471173983,
            1.662484077138964e-05, -4.635060158525337e-05, 2.6473846650803434e-07, 3.212289099072462e-06,
            -9.368713946964558e-08, -2.65317512625613e-07, 2.6837299757897884e-08, 1.784286136985488e-08,
            -3.3837484202663497e-09)                                       # erfinv(x)/sqrt(w) on t in [8/25, 1]
FITS.update({"ERF32_SMALL": (ERF32_SMALL, 0.0, 9 / 16), "ERFCX32_ERF": (ERFCX32_ERF, 1 / 3, 8 / 11),
             "ERFCX32": (ERFCX32, 2 / 9, 1.0), "ERFINV32": (ERFINV32, 8 / 25, 1.0)})


def _power_series(name):
    """The fit `name` as coefficients of powers of its own variable (not of the
    [-1, 1] one), lowest first: Horner then needs no change of variable. Low
    degrees on short intervals: this loses < 1e-12."""
    c, a, b = FITS[name]
    return np.polynomial.Chebyshev(c, domain=(a, b)).convert(kind=np.polynomial.Polynomial).coef


def _horner(coef, u, out):
    """sum coef[k] u^k into out (not u), in place: two passes a degree."""
    np.multiply(u, coef[-1], out=out)
    out += coef[-2]
    for ck in coef[-3::-1]:
        out *= u
        out += ck
    return out


def _t_of(b, k, out):
    """t = k / (k + b) into out, the variable of the erfcx and erfinv fits."""
    np.add(b, k, out=out)
    return np.divide(k, out, out=out)


_C = 0.75                      # erf's ranges meet here
_ERF_TOP = 4.0
_ERFC_TOP = 10.5
_ERF_SMALL_P = _power_series("ERF32_SMALL")
_ERF_LARGE_P = np.exp(-_C * _C) * _power_series("ERFCX32_ERF")      # exp(-C^2) erfcx
_ERFC_P = _power_series("ERFCX32")
_ERFINV_P = _power_series("ERFINV32")
# exp(-C^2) erfcx(C) as _erf32_abs computes it for an element at C (IEEE arithmetic: the
# same bits), so that their difference there is exactly 0
_ERF_LARGE_AT_C = _horner(_ERF_LARGE_P, _t_of(np.array([_C]), 2.0, np.empty(1)), np.empty(1))[0]


def _erf32_abs(x, a, u, v, w):
    """erf(|x|) in float64 for a chunk x of float32s (four float64 buffers; the
    result in a). With s = min(|x|, C) and b = |x| clipped to [C, 4]:
    erf(|x|) = erf(s) + (erf(b) - erf(C)), and erf(b) - erf(C) =
    exp(-C^2) erfcx(C) - exp(C^2 - b^2) exp(-C^2) erfcx(b), an exact 0 for |x| <= C."""
    np.abs(x, out=a)
    np.clip(a, 0.0, _C, out=u)                # (NaN stays NaN, and so does the result)
    np.multiply(u, u, out=v)
    _horner(_ERF_SMALL_P, v, w)
    w *= u
    np.clip(a, _C, _ERF_TOP, out=a)
    np.multiply(a, a, out=u)                  # exact (a has 24 bits), and so is C^2 - a^2:
    np.subtract(_C * _C, u, out=u)            # 0 at a = C, where exp gives 1
    np.exp(u, out=u)
    _horner(_ERF_LARGE_P, _t_of(a, 2.0, v), a)
    a *= u
    np.subtract(_ERF_LARGE_AT_C, a, out=a)
    a += w
    return a


def _erfc32(x, a, u, v, w):
    """erfc(x) in float64 for a chunk x of float32s: exp(-b^2) erfcx(b) at
    b = min(|x|, 10.5), then with s = sign(x): (1 - s) + s erfc(b), which is
    2 - erfc(b) for x < 0."""
    np.abs(x, out=a)
    np.clip(a, 0.0, _ERFC_TOP, out=a)
    np.multiply(a, a, out=u)                  # exact: a has 24 bits
    np.negative(u, out=u)
    np.exp(u, out=u)
    _horner(_ERFC_P, _t_of(a, 3.0, v), a)
    a *= u
    np.sign(x, out=v)
    a *= v
    np.subtract(1.0, v, out=v)
    a += v
    return a


def _erfinv32_abs(x, a, u, v, w):
    """|erfinv(x)| in float64 for a chunk x of float32s: v R(t). |x| > 1: the log
    of a negative number, NaN; |x| = 1: inf times R(0) > 0."""
    a[...] = x
    a *= a                                    # exact: x has 24 bits
    np.negative(a, out=a)
    np.log1p(a, out=a)
    np.negative(a, out=a)
    np.sqrt(a, out=u)
    _horner(_ERFINV_P, _t_of(a, 8.0, a), v)
    v *= u
    return v


_CHUNK32 = 1 << 15             # four float64 buffers of 256 KiB: they stay in the L2 cache


def _float32_path(kernel, odd, x):
    """kernel a chunk at a time on x (float32 or float16; others: as float32),
    rounded once to that type. odd: the kernel gives the value at |x| (>= 0 or
    NaN), and x's sign bit is set on it afterwards."""
    if x.dtype.kind != "f":
        x = x.astype(np.float32)
    elif not x.dtype.isnative:                # (the sign bit is found in the native layout)
        x = x.astype(x.dtype.newbyteorder("="))
    flat = x.reshape(-1)
    out = np.empty_like(flat)
    n = min(flat.size, _CHUNK32)
    buffers = [np.empty(n) for _ in range(4)]
    bits = np.dtype(f"u{flat.itemsize}")
    sign = bits.type(1 << (8 * flat.itemsize - 1))
    x_bits, out_bits, x_sign = flat.view(bits), out.view(bits), np.empty(n, bits)
    # float16 reaches the kernel in float64: NumPy converts it in software, once is enough
    widened = np.empty(n) if flat.dtype != np.float32 else None
    with np.errstate(all="ignore"):
        for i in range(0, flat.size, max(n, 1)):
            j = min(i + n, flat.size)
            chunk = flat[i:j]
            if widened is not None:
                chunk = widened[:j - i]
                chunk[...] = flat[i:j]
            out[i:j] = kernel(chunk, *(b[:j - i] for b in buffers))
            if odd:
                out_bits[i:j] |= np.bitwise_and(x_bits[i:j], sign, out=x_sign[:j - i])
    return out.reshape(x.shape)


def _public(name, float64_fn, kernel, odd):
    def fn(x):
        x = np.asarray(x)
        if x.dtype.kind == "f" and x.dtype.itemsize > 4:
            return float64_fn(x)
        return _float32_path(kernel, odd, x)
    fn.__name__ = fn.__qualname__ = name
    return fn


erf = _public("erf", _chunked(_erf), _erf32_abs, True)
erfc = _public("erfc", _chunked(_erfc), _erfc32, False)
erfinv = _public("erfinv", _chunked(_erfinv), _erfinv32_abs, True)


# --- erfcx, log_ndtr, ndtri (torch.special's): float64 array code --------------------------
# These take a float64 array, NumPy's or CuPy's (every call dispatches: no np.asarray), and
# give float64; autograd_gpu/ops/polynomials.py rounds once to the input's dtype. Each
# range's formula runs on the whole array with its input clipped into the range, and
# np.where picks: no masks.

_SQRT1_2 = 0.70710678118654752440
_SQRT2 = 1.41421356237309504880
_SQRT_PI_2 = 1.25331413731550025121          # sqrt(pi / 2)


def _exp_square(a):
    """exp(a*a) for a >= 0, split as _exp_minus_square (no error from a*a's rounding)."""
    h = a.astype(np.float32).astype(np.float64)
    return np.exp(h * h) * np.exp((a - h) * (a + h))


def erfcx64(x):
    """erfc(x) exp(x^2): |x| < 1: exp(x^2) (1 - erf(x)); 1 <= |x| < 2 and beyond: the
    erfcx fits above (erfcx(inf) = 0); x <= -1: 2 exp(x^2) - erfcx(-x) (no cancellation:
    2 exp(x^2) >= 2e > 20 erfcx(-x)), overflowing to inf below -26.64."""
    a = np.abs(x)
    s = np.clip(x, -1.0, 1.0)
    small = np.exp(s * s) * (1 - _erf_small(s))
    mid = _fit("ERFCX_1_2", np.clip(a, 1.0, 2.0))
    b = np.maximum(a, 2.0)                                       # (NaN stays NaN)
    tail = _fit("ERFCX_TAIL", 1 / (b * b)) / b                   # (b = inf: 0)
    large = np.where(a < 2, mid, tail)
    negative = 2 * _exp_square(np.minimum(a, 27.0)) - large
    return np.where(a < 1, small, np.where(x < 0, negative, large))


def log_ndtr64(x):
    """log(Phi(x)), Phi the standard normal CDF. x < 0: log(erfcx(-x/sqrt2) / 2) - x^2/2
    (no underflow: exact to a few ulps down to -1e154, -inf below, as x^2 overflows);
    x >= 0: log1p(-upper_ndtr64(x)) (-0.0 once that underflows, as PyTorch's)."""
    neg = np.log(erfcx64(np.maximum(x * -_SQRT1_2, 0.0)) / 2) - x * x / 2
    return np.where(x < 0, neg, np.log1p(-upper_ndtr64(np.maximum(x, 0.0))))


def upper_ndtr64(x):
    """1 - Phi(x) = Phi(-x) for x >= 0. Past 1 as erfcx(x/sqrt2) exp(-x^2/2) / 2, the
    exponential from x itself (split as in _exp_minus_square): erfc(x/sqrt2) would
    multiply x/sqrt2's rounding error by x^2."""
    x = np.minimum(x, 40.0)                  # (0 from 38.5 on; float32(x) must not overflow)
    h = x.astype(np.float32).astype(np.float64)
    big = erfcx64(x * _SQRT1_2) * (np.exp(h * h * -0.5) * np.exp((x - h) * (x + h) * -0.5)) / 2
    return np.where(x > 1, big, 0.5 * _erfc(np.minimum(x, 1.0) * _SQRT1_2))


def _ndtri_lower(q):
    """Phi^-1(q) for 0 < q <= 1/4: Abramowitz & Stegun 26.2.23 (|error| < 4.5e-4) as
    the first guess, then Newton's method on log Phi(x) = log q (quadratic: four steps
    reach rounding level; in logs, so subnormal q loses nothing). The step is
    (log Phi(x) - log q) Phi(x)/phi(x), and Phi/phi = erfcx(-x/sqrt2) sqrt(pi/2)."""
    t = np.sqrt(-2 * np.log(q))
    x = -(t - (2.515517 + t * (0.802853 + t * 0.010328)) / (1 + t * (1.432788 + t * (0.189269 + t * 0.001308))))
    log_q = np.log(q)
    for _ in range(4):
        x = x - (log_ndtr64(x) - log_q) * (erfcx64(x * -_SQRT1_2) * _SQRT_PI_2)
    return x


def ndtri64(p):
    """Phi^-1(p): sqrt2 erfinv(2p - 1) for p in [1/4, 3/4] (2p - 1 is exact there); the
    lower tail below, and -lower(1 - p) above (1 - p is exact for p >= 1/2).
    -inf at 0, inf at 1, NaN outside [0, 1] and at NaN."""
    central = _SQRT2 * _erfinv(2 * np.clip(p, 0.25, 0.75) - 1)
    q = np.where(p < 0.5, p, 1 - p)
    lower = _ndtri_lower(np.clip(q, 5e-324, 0.25))
    tails = np.where(p < 0.5, lower, -lower)
    r = np.where((p >= 0.25) & (p <= 0.75), central, tails)
    r = np.where(p == 0, -np.inf, np.where(p == 1, np.inf, r))
    return np.where((p < 0) | (p > 1), np.nan, r)
