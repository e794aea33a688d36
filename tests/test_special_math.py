"""The NumPy twins of erf, erfc and erfinv (autograd_gpu/ops/special_math.py)
against mpmath at 30 digits, and the provenance of their Chebyshev tables:
fitted_coefficients() makes them again (`python tests/test_special_math.py`
prints them)."""
import math
import os

import numpy as np
import pytest

from autograd_gpu.ops import special_math as S

mp = pytest.importorskip("mpmath") if not os.environ.get("CI") else __import__("mpmath")


def _erfcx(x):
    return mp.erfc(x) * mp.exp(x * x)


# name: (function of the fit's variable, interval, degree)
FIT_SOURCES = {
    "ERF_SMALL": (lambda y: mp.erf(mp.sqrt(y)) / mp.sqrt(y) if y > 0 else 2 / mp.sqrt(mp.pi), 0, 1, 12),
    "ERFCX_1_2": (_erfcx, 1, 2, 16),
    "ERFCX_TAIL": (lambda u: _erfcx(1 / mp.sqrt(u)) / mp.sqrt(u) if u > 0 else 1 / mp.sqrt(mp.pi), 0,
                   mp.mpf(1) / 4, 22),
}


def fitted_coefficients(name):
    """Chebyshev interpolation at the first-kind nodes, in 40-digit arithmetic."""
    f, a, b, deg = FIT_SOURCES[name]
    with mp.workdps(40):
        a, b, n = mp.mpf(a), mp.mpf(b), deg + 1
        nodes = [mp.cos(mp.pi * (k + mp.mpf(1) / 2) / n) for k in range(n)]
        values = [f((b - a) / 2 * t + (a + b) / 2) for t in nodes]
        return [float((2 if j else 1) * mp.fsum(v * mp.cos(mp.pi * j * (k + mp.mpf(1) / 2) / n)
                                                for k, v in enumerate(values)) / n) for j in range(n)]


@pytest.mark.parametrize("name", sorted(FIT_SOURCES))
def test_tables_are_the_fits(name):
    stored, _, _ = S.FITS[name]
    np.testing.assert_allclose(stored, fitted_coefficients(name), rtol=1e-14, atol=1e-30)


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
            assert f(x[0, 0]).dtype == dt             # 0-d
        if dt is not np.float64:      # rounded once from float64: the true value, correctly rounded
            assert S.erf(x).tolist() == np.array([math.erf(0.25), math.erf(-0.5)]).astype(dt)[None].tolist()


def test_arrays_of_several_chunks_any_layout():
    x = np.linspace(-6, 6, 3 * S._CHUNK + 7).reshape(-1, 1)[::2].T       # a strided view, 1.5 chunks
    assert S.erf(x).shape == x.shape
    assert _ulps(S.erf(x), np.vectorize(math.erf)(x)).max() <= 3            # (libm's erf: within 1 ulp)
    assert _ulps(S.erfc(x), np.vectorize(math.erfc)(x)).max() <= 8


if __name__ == "__main__":
    for _name in FIT_SOURCES:
        print(f"{_name} = {tuple(fitted_coefficients(_name))}")
