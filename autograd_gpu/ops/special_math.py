"""erf, erfc and erfinv on NumPy arrays: NumPy has no error function (the CUDA
kernels call CUDA's). Computed in float64 to within a few ulps, then rounded to
the input's type.

erf and erfc come from three Chebyshev fits (tests/test_special_math.py makes
them again with mpmath, and checks the results against mpmath):
  |x| < 1:   erf(x) = x * P(x^2)
  1..2:      erfc(x) = exp(-x^2) * erfcx(x), erfcx(x) = erfc(x) exp(x^2), a fit in x
  above 2:   erfcx(x) = H(1/x^2) / x, H smooth, tending to 1/sqrt(pi)
exp(-x^2) is taken in two factors, so that x^2's rounding error, which
exp would multiply by up to 700, never arises.
erfinv refines a closed-form first guess (rel. error ~2e-3) by Halley's method."""
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


erf, erfc, erfinv = _chunked(_erf), _chunked(_erfc), _chunked(_erfinv)
