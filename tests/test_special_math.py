"""The NumPy twins of erf, erfc and erfinv (autograd_gpu/ops/special_math.py)
against mpmath at 30 digits, and the provenance of their Chebyshev tables:
fitted_coefficients() makes them again (`python tests/test_special_math.py`
prints them). float64 takes the accurate path; float32, float16 and integers the
fast one, checked here to be within 1 ulp of the correctly rounded result
(float16: on every value, against PyTorch's float64 results)."""
import math
import os
import zlib

import numpy as np
import pytest

from autograd_gpu.ops import special_math as S

mp = pytest.importorskip("mpmath") if not os.environ.get("CI") else __import__("mpmath")


def _erfcx(x):
    return mp.erfc(x) * mp.exp(x * x)


def _erf_over_root(y):
    """erf(x) / x as a function of y = x^2."""
    return mp.erf(mp.sqrt(y)) / mp.sqrt(y) if y > 0 else 2 / mp.sqrt(mp.pi)


def _erfinv_over_root(t):
    """erfinv(x) / sqrt(w) as a function of t = 8 / (8 + w), w = -log(1 - x^2)."""
    w = 8 / t - 8
    return mp.erfinv(mp.sqrt(-mp.expm1(-w))) / mp.sqrt(w) if w > 0 else mp.sqrt(mp.pi) / 2


# name: (function of the fit's variable, interval, degree, nodes). Gauss: the zeros of
# T_(deg+1); extrema: of T_deg, the interval's ends included, so that the fit is exact
# (to float64 rounding) at its end where x -> 0 and erf(x) = 2x/sqrt(pi) is correctly rounded
FIT_SOURCES = {
    "ERF_SMALL": (_erf_over_root, 0, 1, 12, "gauss"),
    "ERFCX_1_2": (_erfcx, 1, 2, 16, "gauss"),
    "ERFCX_TAIL": (lambda u: _erfcx(1 / mp.sqrt(u)) / mp.sqrt(u) if u > 0 else 1 / mp.sqrt(mp.pi), 0,
                   mp.mpf(1) / 4, 22, "gauss"),
    "ERF32_SMALL": (_erf_over_root, 0, mp.mpf(9) / 16, 5, "extrema"),
    "ERFCX32_ERF": (lambda t: _erfcx(2 / t - 2), mp.mpf(1) / 3, mp.mpf(8) / 11, 7, "gauss"),
    "ERFCX32": (lambda t: _erfcx(3 / t - 3), mp.mpf(2) / 9, 1, 10, "gauss"),
    "ERFINV32": (_erfinv_over_root, mp.mpf(8) / 25, 1, 12, "extrema"),
}


def fitted_coefficients(name):
    """Chebyshev interpolation, in 40-digit arithmetic."""
    f, a, b, deg, nodes = FIT_SOURCES[name]
    with mp.workdps(40):
        a, b = mp.mpf(a), mp.mpf(b)
        if nodes == "gauss":
            n = deg + 1
            angles = [mp.pi * (k + mp.mpf(1) / 2) / n for k in range(n)]
            weights = [mp.mpf(2) / n] * n
        else:
            angles = [mp.pi * k / deg for k in range(deg + 1)]
            weights = [mp.mpf(1 if k in (0, deg) else 2) / deg for k in range(deg + 1)]
        values = [w * f((b - a) / 2 * mp.cos(th) + (a + b) / 2) for th, w in zip(angles, weights)]
        c = [mp.fsum(v * mp.cos(j * th) for v, th in zip(values, angles)) for j in range(deg + 1)]
        c[0] /= 2
        if nodes == "extrema":
            c[deg] /= 2
        return [float(cj) for cj in c]


@pytest.mark.parametrize("name", sorted(FIT_SOURCES))
def test_tables_are_the_fits(name):
    stored, a, b = S.FITS[name]
    np.testing.assert_allclose(stored, fitted_coefficients(name), rtol=1e-14, atol=1e-30)
    assert (a, b) == (float(FIT_SOURCES[name][1]), float(FIT_SOURCES[name][2]))


def _ulps(got, ref):
    return np.abs(got - ref) / np.spacing(np.abs(ref))


def _points():
    rng = np.random.default_rng(0)
    return np.concatenate([rng.uniform(-1, 1, 1500), rng.uniform(-6, 6, 1500), rng.uniform(-27, 27, 1000),
                           rng.standard_normal(300) * 1e-5, [0.999, 1.0, 1.001, 1.999, 2.0, 2.001, 26.5, -26.5]])


@pytest.mark.parametrize("name, max_ulps", [("erf", 2), ("erfc", 6)])
def test_float64_accuracy(name, max_ulps):
    x = _points()
    with mp.workdps(30):
        ref = np.array([float(getattr(mp, name)(mp.mpf(float(v)))) for v in x])
    normal = np.abs(ref) > 1e-300                 # (erfc's subnormal tail: absolute accuracy only)
    assert _ulps(getattr(S, name)(x)[normal], ref[normal]).max() <= max_ulps
    assert np.all(np.abs(getattr(S, name)(x)[~normal] - ref[~normal]) <= 1e-310)


def test_erfinv_float64_accuracy():
    rng = np.random.default_rng(1)
    near_one = 1 - 10 ** rng.uniform(-15, 0, 500)
    x = np.concatenate([rng.uniform(-1, 1, 1500), near_one, -near_one, [0.5, -0.5, 1e-300]])
    with mp.workdps(30):
        ref = np.array([float(mp.erfinv(mp.mpf(float(v)))) for v in x])
    assert _ulps(S.erfinv(x), ref).max() <= 16


# --- the float32 path ---------------------------------------------------------------------

def _steps_apart(a, b):
    """How many representable values of a's (float) type lie between a and b."""
    bits = np.dtype(f"i{a.dtype.itemsize}")
    def ordered(v):
        i = v.view(bits).astype(np.int64)
        return np.where(i < 0, -(i & np.iinfo(bits).max), i)
    return np.abs(ordered(a) - ordered(b))


def _correctly_rounded(v):
    """The float32 nearest the mpf v (ties to even): rounding v to float64 first
    could land on a float32 midpoint, so the neighbours are compared in mpmath."""
    f = np.float32(float(v))
    if not np.isfinite(f):
        return f
    near = [np.nextafter(f, np.float32(-np.inf)), f, np.nextafter(f, np.float32(np.inf))]
    return min(near, key=lambda c: (abs(mp.mpf(float(c)) - v), int(c.view(np.uint32)) & 1))


def _check_float32(name, x, max_error_ulps=0.6):
    """Within 1 ulp of the correctly rounded value (mpmath); the error, in ulps of
    that value, at most max_error_ulps. Returns the share correctly rounded."""
    x = np.asarray(x, np.float32)
    got = getattr(S, name)(x)
    assert got.dtype == np.float32
    with mp.workdps(30):
        exact = [getattr(mp, name)(mp.mpf(float(v))) for v in x]
        rounded = np.array([_correctly_rounded(v) for v in exact], np.float32)
        err = np.array([float(abs(mp.mpf(float(g)) - v)) for g, v in zip(got, exact)])
    apart = _steps_apart(got, rounded)
    worst = int(np.argmax(apart))
    assert apart[worst] <= 1, f"{name}({x[worst]!r}) = {got[worst]!r}, correctly rounded: {rounded[worst]!r}"
    assert (err / np.spacing(np.abs(rounded)).astype(np.float64)).max() <= max_error_ulps
    return np.mean(apart == 0)


def _around(v, n):
    """The float32 nearest v > 0, with the n float32 values below it and the n above."""
    return (np.float32(v).view(np.int32) + np.arange(-n, n + 1, dtype=np.int32)).view(np.float32)


def _uniform(rng, lo, hi, n):
    return rng.uniform(lo, hi, n).astype(np.float32)


def _log_uniform(rng, lo, hi, n):
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n)).astype(np.float32)


_ERF_ROUNDS_TO_1 = 3.9192058          # erfc(x) = 2^-25 there: erf(x) rounds to 1 above it
_ERFC_LAST_NONZERO = 10.054195        # erfc(x) = 2^-150 there: half the least subnormal
_BELOW_1 = (np.float32(1) - np.arange(1, 65, dtype=np.float32) * np.float32(2 ** -24)).astype(np.float32)

# name: {range: (points, share of them correctly rounded at least)}. Where the points
# straddle a rounding boundary on purpose, their exact values lie within the fits' error
# of a float32 midpoint: only the 1 ulp bound holds there.
RANGES = {
    "erf": {"grid": (lambda r: np.linspace(-4.5, 4.5, 1201, dtype=np.float32), 0.9),
            "small": (lambda r: _uniform(r, 0, 0.75, 600), 0.9),
            "at the junction": (lambda r: np.concatenate([_around(0.75, 20), -_around(0.75, 20)]), 0.9),
            "large": (lambda r: _uniform(r, 0.75, 4, 600), 0.9),
            "near 1": (lambda r: _uniform(r, 0.99, 1.01, 150), 0.9),
            "tail": (lambda r: _uniform(r, 3.5, 4.5, 150), 0.9),
            "rounding to 1": (lambda r: _around(_ERF_ROUNDS_TO_1, 10), 0),
            "negative": (lambda r: -_uniform(r, 0, 4, 300), 0.9)},
    "erfc": {"grid": (lambda r: np.linspace(-4, 10.5, 1451, dtype=np.float32), 0.9),
             "tiny": (lambda r: _log_uniform(r, 1e-45, 1e-4, 150), 0.9),
             "small": (lambda r: _uniform(r, 0, 0.75, 600), 0.9),
             "middle": (lambda r: _uniform(r, 0.75, 4, 600), 0.9),
             "tail": (lambda r: _uniform(r, 4, 9.2, 600), 0.9),
             "subnormal tail": (lambda r: _uniform(r, 9.19, 10.1, 300), 0.9),
             "last nonzero": (lambda r: _around(_ERFC_LAST_NONZERO, 12), 0),
             "negative": (lambda r: -_uniform(r, 0, 4, 400), 0.9),
             "negative tiny": (lambda r: -_log_uniform(r, 1e-45, 1e-4, 150), 0.9)},
    "erfinv": {"grid": (lambda r: np.linspace(-1, 1, 1001, dtype=np.float32)[1:-1], 0.9),
               "central": (lambda r: _uniform(r, 0, 0.9, 500), 0.9),
               "near 1": (lambda r: (1 - _log_uniform(r, 6e-8, 0.1, 400).astype(np.float64)).astype(np.float32),
                          0.9),
               "last below 1": (lambda r: _BELOW_1, 0.9),
               "negative": (lambda r: -_uniform(r, 0, 1, 300), 0.9)},
}


@pytest.mark.parametrize("name, part", [(n, p) for n, parts in RANGES.items() for p in parts])
def test_float32_accuracy(name, part):
    """Per range: within 1 ulp of the correctly rounded value, the error at most
    0.6 ulp, and nearly all correctly rounded."""
    points, share = RANGES[name][part]
    assert _check_float32(name, points(np.random.default_rng(zlib.crc32(f"{name}/{part}".encode())))) >= share


def test_float32_tiny_arguments_are_correctly_rounded():
    """erf(x) ~ 2x/sqrt(pi) and erfinv(x) ~ sqrt(pi) x / 2 below 1e-4, subnormal
    results included: all correctly rounded (the fits are exact at x = 0, and erf's
    large range adds an exact 0 there)."""
    x = np.concatenate([np.logspace(-45, -4, 300), [2 ** -149, 2 ** -126, 3 * 2 ** -127]]).astype(np.float32)
    for name in ("erf", "erfinv"):
        assert _check_float32(name, np.concatenate([x, -x]), max_error_ulps=0.5) == 1.0, name


def test_float32_special_values():
    inf, nan = np.float32(np.inf), np.float32(np.nan)
    big = np.finfo(np.float32).max
    x = np.array([0.0, -0.0, inf, -inf, nan, big, -big, 10.5, 11.0, -11.0], np.float32)
    assert np.array_equal(S.erf(x), [0, -0.0, 1, -1, nan, 1, -1, 1, 1, -1], equal_nan=True)
    assert np.array_equal(np.signbit(S.erf(x[:2])), [False, True])
    assert np.array_equal(S.erfc(x), [1, 1, 0, 2, nan, 0, 2, 0, 0, 2], equal_nan=True)
    y = np.array([0.0, -0.0, 1.0, -1.0, 1.5, -2.0, inf, -inf, nan, 1 + 2 ** -23], np.float32)
    assert np.array_equal(S.erfinv(y), [0, -0.0, inf, -inf, nan, nan, nan, nan, nan, nan], equal_nan=True)
    assert np.array_equal(np.signbit(S.erfinv(y[:4])), [False, True, False, True])


def test_float16_every_value(torch):
    """All 63488 finite float16 values (float16 takes the float32 path): within
    1 ulp of PyTorch's float64 result rounded to float16, nearly all equal."""
    x = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    x = x[np.isfinite(x)]
    for name in ("erf", "erfc", "erfinv"):
        got = getattr(S, name)(x)
        want = getattr(torch, name)(torch.from_numpy(x.astype(np.float64))).numpy().astype(np.float16)
        assert got.dtype == np.float16
        assert np.array_equal(np.isnan(got), np.isnan(want)), name
        finite = np.isfinite(want)
        assert np.array_equal(got[~finite], want[~finite], equal_nan=True), name
        apart = _steps_apart(got[finite], want[finite])
        assert apart.max() <= 1 and np.mean(apart == 0) > 0.999, name


def test_special_values_and_dtypes():
    inf, nan = math.inf, math.nan
    assert np.array_equal(S.erf(np.array([0.0, -0.0, inf, -inf, nan, 1e308, -1e308])),
                          [0.0, -0.0, 1.0, -1.0, nan, 1.0, -1.0], equal_nan=True)
    assert np.signbit(S.erf(np.array([-0.0]))[0])
    assert np.array_equal(S.erfc(np.array([inf, -inf, nan, 30.0, -30.0])), [0.0, 2.0, nan, 0.0, 2.0], equal_nan=True)
    assert np.array_equal(S.erfinv(np.array([1.0, -1.0, 1.5, -2.0, nan, 0.0])), [inf, -inf, nan, nan, nan, 0.0],
                          equal_nan=True)
    for dt in (np.float16, np.float32, np.float64):
        x = np.array([[0.25, -0.5]], dt)
        for f in (S.erf, S.erfc, S.erfinv):
            assert f(x).dtype == dt and f(x).shape == (1, 2)
            assert f(x[0, 0]).dtype == dt and f(x[0, 0]).shape == ()        # 0-d
            assert f(np.empty((0, 3), dt)).shape == (0, 3)
    for ints in (np.array([-2, 0, 1, 3]), np.array([True, False])):   # integers and booleans: float32
        for f in (S.erf, S.erfc, S.erfinv):
            assert f(ints).dtype == np.float32
            assert np.array_equal(f(ints), f(ints.astype(np.float32)), equal_nan=True)


def test_float32_path_is_taken_below_float64(monkeypatch):
    taken = []
    real = S._float32_path
    monkeypatch.setattr(S, "_float32_path", lambda kernel, odd, x: taken.append(x.dtype) or real(kernel, odd, x))
    for dt in (np.float16, np.float32, np.int32, np.float64, np.longdouble):
        S.erf(np.zeros(2, dt))
    assert taken == [np.float16, np.float32, np.int32]


def test_arrays_of_several_chunks_any_layout():
    x = np.linspace(-6, 6, 3 * S._CHUNK + 7).reshape(-1, 1)[::2].T       # a strided view, 1.5 chunks
    assert S.erf(x).shape == x.shape
    assert _ulps(S.erf(x), np.vectorize(math.erf)(x)).max() <= 3            # (libm's erf: within 1 ulp)
    assert _ulps(S.erfc(x), np.vectorize(math.erfc)(x)).max() <= 8
    # float32: element i's result does not depend on where the chunks fall, nor on the layout
    rng = np.random.default_rng(3)
    y = (rng.standard_normal((2 * S._CHUNK32 + 5, 3)) * 3).astype(np.float32)
    for f, v in ((S.erf, y), (S.erfc, y), (S.erfinv, np.tanh(y))):
        whole = f(v)
        assert np.array_equal(f(v.T), whole.T, equal_nan=True)                # a transposed view
        assert np.array_equal(f(np.asfortranarray(v)), whole, equal_nan=True)
        assert np.array_equal(np.concatenate([f(v[i:i + 1]) for i in range(0, len(v), 997)]),
                              whole[::997], equal_nan=True)


def test_byte_order():
    x = np.array([-0.5, 0.25, -1.0, 0.0], np.float32)
    for f in (S.erf, S.erfc, S.erfinv):
        assert np.array_equal(f(x.astype(">f4")), f(x))
        assert np.array_equal(f(x.astype(">f2")), f(x.astype(np.float16)))


def test_inputs_are_not_written():
    x = np.array([-1.0, 0.5, 3.0], np.float32)
    x.setflags(write=False)
    for f in (S.erf, S.erfc, S.erfinv):
        f(x)
    assert x.tolist() == [-1.0, 0.5, 3.0]


if __name__ == "__main__":
    for _name in FIT_SOURCES:
        print(f"{_name} = {tuple(fitted_coefficients(_name))}")
