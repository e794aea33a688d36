"""The ops of autograd_gpu/ops/polynomials.py (ag.special's orthogonal polynomials,
ndtr, ndtri, log_ndtr, erfcx, entr, xlog1py, expit): values and gradients against
PyTorch CPU (float64 and float32, second order by finite differences), accuracy of
the float64 code (special_math.py) against mpmath in ulps, PyTorch's special values,
the polynomials on wide (x, n) grids against PyTorch, dtypes, bad input."""
import math

import numpy as np
import pytest

import autograd_gpu as ag
from autograd_gpu.ops import special_math as SM
from autograd_gpu.ops.polynomials import POLYNOMIALS
from oracle import U, case_tests, to_numpy

mpmath = pytest.importorskip("mpmath")
NAN, INF = math.nan, math.inf
CASES = [
    ("ndtr",             lambda m, x: m.special.ndtr(x),          [(3, 4)], {}),
    ("ndtr_tail",        lambda m, x: m.special.ndtr(x),          [U((5,), -7, -3)], {}),
    ("ndtri",            lambda m, x: m.special.ndtri(x),         [U((3, 4), 0.02, 0.98)], {}),
    ("ndtri_tails",      lambda m, x: m.special.ndtri(x),         [U((4,), 0.005, 0.05)], {}),
    ("log_ndtr",         lambda m, x: m.special.log_ndtr(x),      [(3, 4)], {}),
    ("log_ndtr_tail",    lambda m, x: m.special.log_ndtr(x),      [U((5,), -40, -5)], {}),
    ("erfcx",            lambda m, x: m.special.erfcx(x),         [U((3, 4), -2, 6)], {}),
    ("erfcx_large",      lambda m, x: m.special.erfcx(x),         [U((4,), 10, 100)], {}),
    ("entr",             lambda m, x: m.special.entr(x),          [U((3, 4), 0.1, 3)], {}),
    ("xlog1py",          lambda m, x, y: m.special.xlog1py(x, y), [(3, 4), U((3, 4), -0.9, 3)], {}),
    ("xlog1py_bcast",    lambda m, x, y: m.special.xlog1py(x, y), [(3, 1), U((4,), -0.9, 3)], {}),
    ("xlog1py_number_y", lambda m, x: m.special.xlog1py(x, 2.5),  [(3, 4)], {}),
    ("xlog1py_number_x", lambda m, y: m.special.xlog1py(1.5, y),  [U((3, 4), -0.9, 3)], {}),
    ("expit",            lambda m, x: m.special.expit(x),         [(3, 4)], {}),
]
test_against_pytorch, test_gradcheck, test_second_order = case_tests(CASES)


# ---- accuracy against mpmath (float64) -------------------------------------------------

def _ulps(ours, refs):
    """The worst error of ours in ulps of the references (None: skip; infinite: ours must be too)."""
    worst = 0.0
    for o, r in zip(ours, refs):
        if r is None:
            continue
        if not mpmath.isfinite(r) or abs(r) > 1.7976931348623157e308:
            assert np.isinf(o) and (o > 0) == (r > 0), (o, r)
            continue
        r = float(r)
        worst = max(worst, abs(o - r) / np.spacing(abs(r)) if r else abs(o) / 5e-324)
    return worst


def _erfcx_ref(x):
    x = mpmath.mpf(float(x))
    if x > 1e6:                             # (mpmath's erfc fails there; the asymptotic series is exact to 1e-24)
        return 1 / (x * mpmath.sqrt(mpmath.pi)) * (1 - 1 / (2 * x * x) + 3 / (4 * x ** 4))
    return mpmath.inf if x < -1e3 else mpmath.erfc(x) * mpmath.exp(x * x)


def _log_ndtr_ref(x):
    x = mpmath.mpf(float(x))
    if x < -1e6:
        return mpmath.log(_erfcx_ref(-x / mpmath.sqrt(2)) / 2) - x * x / 2
    if x > 1e3:
        return mpmath.mpf(0)
    return mpmath.log1p(-mpmath.ncdf(-x)) if x > 0 else mpmath.log(mpmath.ncdf(x))


def _ndtri_ref(p):
    p = mpmath.mpf(float(p))
    if p > 0.01:
        return -mpmath.sqrt(2) * mpmath.erfinv(1 - 2 * p)
    guess = float(-mpmath.sqrt(-2 * mpmath.log(p)))
    return mpmath.findroot(lambda x: mpmath.log(mpmath.ncdf(x)) - mpmath.log(p), guess)


X_GRID = np.concatenate([np.linspace(-30, 30, 601), -10.0 ** np.linspace(-5, 150, 40), 10.0 ** np.linspace(-5, 300, 40),
                         [0.0, -0.0, -26.6, -26.64, 0.999, 1.0, 1.999, 2.0, 8.3, -8.3]])


def test_erfcx_accuracy():
    mpmath.mp.dps = 40
    with np.errstate(all="ignore"):
        ours = SM.erfcx64(X_GRID)
    err = _ulps(ours, [_erfcx_ref(x) for x in X_GRID])
    assert err <= 4, err                    # (measured 4 on this grid)


def test_log_ndtr_accuracy():
    mpmath.mp.dps = 40
    x = X_GRID[X_GRID > -1e150]             # (below, -x^2/2 overflows: -inf, as PyTorch)
    with np.errstate(all="ignore"):
        ours = SM.log_ndtr64(x)
    err = _ulps(ours, [_log_ndtr_ref(v) for v in x])
    assert err <= 5, err                    # (measured 5, in the far tails: x * x's rounding)


def test_ndtri_accuracy():
    mpmath.mp.dps = 60
    p = np.concatenate([np.linspace(0.0005, 0.9995, 400), 10.0 ** -np.linspace(1, 323, 120),
                        1 - 10.0 ** -np.linspace(1, 16, 40), [5e-324, 0.25, 0.75, 0.5, 1e-300]])
    with np.errstate(all="ignore"):
        ours = SM.ndtri64(p)
    err = _ulps(ours, [_ndtri_ref(v) for v in p])
    assert err <= 4, err                    # (measured 4)


# ---- special values, dtypes -----------------------------------------------------------

SPECIAL_X = np.array([0.0, -0.0, 1.0, -1.0, 0.5, 40.0, -40.0, 1e-300, -1e-300, 1e300, -1e300, 26.6, -26.6, -27.0,
                      8.0, -8.0, INF, -INF, NAN])
SPECIAL_P = np.array([0.0, -0.0, 1.0, 0.5, 0.25, 0.75, 1e-300, 5e-324, 1 - 2 ** -53, 2 ** -53, -0.1, 1.1, INF, -INF,
                      NAN])


@pytest.mark.parametrize("name,data", [("ndtri", SPECIAL_P), ("log_ndtr", SPECIAL_X), ("erfcx", SPECIAL_X),
                                       ("entr", SPECIAL_X), ("ndtr", SPECIAL_X[~(np.abs(SPECIAL_X) > 5)]),
                                       ("expit", SPECIAL_X)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_special_values(torch, device, name, data, dtype):
    ours = to_numpy(getattr(ag.special, name)(ag.tensor(data, dtype=dtype, device=device)))
    ref = getattr(torch.special, name)(torch.tensor(data, dtype=getattr(torch, dtype))).numpy()
    assert ours.dtype == ref.dtype
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    np.testing.assert_array_equal(np.isinf(ours), np.isinf(ref))
    rtol = 1e-13 if dtype == "float64" else 2e-6       # (PyTorch's float32 log_ndtr(8): 1e-6 off; ours rounds)
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=0, equal_nan=True)
    np.testing.assert_array_equal(np.signbit(ours[ours == 0]), np.signbit(ref[ours == 0]))    # (-0.0 of log_ndtr)


def test_ndtr_lower_tail_is_accurate(torch, device):
    """Divergence kept: PyTorch's (1 + erf(x / sqrt2)) / 2 is 0 below -8.3 (and loses
    relative accuracy before); ours is erfc(-x / sqrt2) / 2, exact to a few ulps."""
    x = np.array([-9.0, -20.0, -37.0])
    ours = to_numpy(ag.special.ndtr(ag.tensor(x, device=device)))
    assert torch.special.ndtr(torch.tensor(x)).tolist() == [0.0] * 3
    mpmath.mp.dps = 40
    np.testing.assert_allclose(ours, [float(mpmath.ncdf(v)) for v in x], rtol=1e-14)
    assert ag.special.ndtr(ag.tensor([-38.4], dtype=ag.float64)).item() > 0


def test_integer_inputs_and_half(torch, device):
    a = np.array([0, 1, -2])
    for name in ("ndtr", "log_ndtr", "erfcx", "entr", "expit", "ndtri"):
        o, r = getattr(ag.special, name)(ag.tensor(a, device=device)), getattr(torch.special, name)(torch.tensor(a))
        assert o.dtype is ag.float32 and str(r.dtype) == "torch.float32"
        np.testing.assert_allclose(to_numpy(o), r.numpy(), rtol=1e-6, equal_nan=True)
    h = np.array([-1.5, 0.0, 0.5, 3.0], np.float16)
    for name in ("ndtr", "entr", "expit"):      # (PyTorch's CPU has float16 kernels for these)
        o, r = getattr(ag.special, name)(ag.tensor(h, device=device)), getattr(torch.special, name)(torch.tensor(h))
        assert o.dtype is ag.float16
        np.testing.assert_allclose(to_numpy(o).astype(float), r.numpy().astype(float), rtol=2e-3, atol=1e-3)
    for name in ("ndtri", "log_ndtr", "erfcx"):  # (and none for these)
        with pytest.raises(NotImplementedError):
            getattr(torch.special, name)(torch.tensor(h))
        with pytest.raises(NotImplementedError, match=name):
            getattr(ag.special, name)(ag.tensor(h, device=device))


def test_empty_and_zero_dim(torch, device):
    for name in ("ndtr", "ndtri", "log_ndtr", "erfcx", "entr", "expit", "chebyshev_polynomial_t"):
        fn = getattr(ag.special, name)
        args = (lambda t: (t, 3)) if "polynomial" in name else (lambda t: (t,))
        e = fn(*args(ag.zeros(2, 0, device=device, requires_grad="polynomial" not in name)))
        assert tuple(e.shape) == (2, 0)
        z = fn(*args(ag.tensor(0.3, device=device)))
        r = getattr(torch.special, name)(*args(torch.tensor(0.3)))
        assert z.shape == () and abs(z.item() - r.item()) < 1e-6


def test_xlog1py_zeros_nan_and_gradients(torch, device):
    """0 * log1p(y) is 0 unless y is NaN; the gradient of x is masked where x == 0 and
    y <= -1 (y a number: unless y > -1), as PyTorch's."""
    x = np.array([0.0, 0.0, 0.0, 2.0, 1.0, 0.0])
    y = np.array([-1.0, -2.0, NAN, -2.0, -1.0, 3.0])
    for other in (y, -1.0, NAN, -3.0, 0.5):
        xo = ag.tensor(x, device=device, requires_grad=True)
        xt = torch.tensor(x, requires_grad=True)
        yo = ag.tensor(other, device=device, requires_grad=True) if isinstance(other, np.ndarray) else other
        yt = torch.tensor(other, requires_grad=True) if isinstance(other, np.ndarray) else other
        o, r = ag.special.xlog1py(xo, yo), torch.special.xlog1py(xt, yt)
        assert o.grad_fn.name() == r.grad_fn.name()
        np.testing.assert_array_equal(to_numpy(o), r.detach().numpy())
        o.sum().backward()
        r.sum().backward()
        np.testing.assert_array_equal(to_numpy(xo.grad), xt.grad.numpy())
        if isinstance(other, np.ndarray):
            np.testing.assert_array_equal(to_numpy(yo.grad), yt.grad.numpy())


def test_second_order_chains(torch, device):
    """d^2/dx^2 through the saved results (ndtri, log_ndtr and erfcx save theirs)."""
    for name, data in (("ndtri", [0.1, 0.4, 0.93]), ("log_ndtr", [-6.0, -1.0, 2.5]), ("erfcx", [-1.5, 0.3, 30.0]),
                       ("entr", [0.2, 1.0, 4.0]), ("ndtr", [-3.0, 0.0, 1.2])):
        grads = []
        for lib, dev in ((ag, device), (torch, "cpu")):
            x = lib.tensor(data, dtype=lib.float64, requires_grad=True, device=dev)
            g1, = lib.autograd.grad(getattr(lib.special, name)(x).sum(), x, create_graph=True)
            g2, = lib.autograd.grad(g1.sum(), x, create_graph=True)
            g3, = lib.autograd.grad(g2.sum(), x)
            grads.append([to_numpy(g) for g in (g1, g2, g3)])
        for a, b in zip(*grads):
            np.testing.assert_allclose(a, b, rtol=1e-9, err_msg=name)


# ---- the polynomials -------------------------------------------------------------------

POLY_X = np.concatenate([np.linspace(-3, 3, 61), [-1, 1, 0, 0.5, -0.5, 1 + 2 ** -40, -1 - 2 ** -40, 1 - 2 ** -40, 30.0,
                                                  -30.0, 1e3, -1e3, INF, -INF, 1e-300, 2.0 ** -30]])
POLY_N = np.concatenate([np.arange(-3, 26), [31, 50, 63, 64, 65, 100, 300],
                         [2.5, -0.5, 7.9, 8.5, NAN, INF, -INF, 1e30, -1e30]])


def _compare(o, r, rtol):
    with np.errstate(all="ignore"):
        ok = (np.isnan(o) & np.isnan(r)) | (o == r) | (np.abs(o - r) <= rtol * np.maximum(np.abs(r), 1))
    return np.argwhere(~ok)


def _both(torch, name, x, n, dtype):
    o = ag.special.__dict__[name](ag.tensor(x, dtype=dtype), ag.tensor(n, dtype=dtype)).numpy()
    r = getattr(torch.special, name)(torch.tensor(x, dtype=getattr(torch, dtype)),
                                     torch.tensor(n, dtype=getattr(torch, dtype))).numpy()
    assert o.dtype == r.dtype
    return o, r


@pytest.mark.parametrize("name", list(POLYNOMIALS))
def test_polynomial_grid(torch, name):
    """Every (x, n) of a wide grid against PyTorch: |x| > 1, |x| = 1, x = 0, n < 0,
    non-integer n (truncated), NaN/inf n (0), n past the closed forms' thresholds, and
    overflow. float64: PyTorch's values. float32: PyTorch's infinities and NaNs (its
    float32 recurrence overflows to inf, then inf - inf gives NaN: ours too), and
    elsewhere its float64 values rounded (ours are computed in float64; PyTorch's
    float32 recurrence loses up to ~1e-4 where its terms cancel)."""
    x, n = np.meshgrid(POLY_X, POLY_N)
    o, r = _both(torch, name, x, n, "float64")
    bad = _compare(o, r, 1e-10)
    assert not len(bad), [(x[tuple(i)], n[tuple(i)], o[tuple(i)], r[tuple(i)]) for i in bad[:8]]
    keep = np.abs(n[:, 0]) <= 65          # (large n: PyTorch's float32 rounding errors grow like n)
    x, n = x[keep], n[keep]
    o, r = _both(torch, name, x, n, "float32")
    np.testing.assert_array_equal(np.isnan(o), np.isnan(r))
    np.testing.assert_array_equal(np.isposinf(o), np.isposinf(r))
    np.testing.assert_array_equal(np.isneginf(o), np.isneginf(r))
    r64 = getattr(torch.special, name)(torch.tensor(x, dtype=torch.float32).double(),
                                       torch.tensor(n, dtype=torch.float32).double()).float().numpy()
    finite = np.isfinite(o) & np.isfinite(r64)
    bad = _compare(o[finite], r64[finite], 1e-6)
    assert not len(bad), [(x[finite][i], n[finite][i], o[finite][i], r64[finite][i]) for i in bad[:8, 0]]


@pytest.mark.parametrize("name", list(POLYNOMIALS))
def test_polynomial_at_nan(torch, name):
    """x = NaN: 1 for n = 0, 0 for n < 0, NaN otherwise. Divergence kept: PyTorch's CPU
    kernels give NaN for some n and finite garbage for others (uninitialized values:
    0.0, 1e21, -5e303, ... depending on the call) in U, W, L, P and shifted U, W."""
    n = np.array([-2, 0, 1, 2, 3, 9, 20], dtype=float)
    o = ag.special.__dict__[name](ag.tensor(np.full(7, NAN)), ag.tensor(n)).numpy()
    np.testing.assert_array_equal(o, [0, 1, NAN, NAN, NAN, NAN, NAN])
    r = getattr(torch.special, name)(torch.tensor(np.full(7, NAN)), torch.tensor(n)).numpy()
    np.testing.assert_array_equal(r[:2], [0, 1])


@pytest.mark.parametrize("name", ["chebyshev_polynomial_t", "legendre_polynomial_p", "hermite_polynomial_he",
                                  "laguerre_polynomial_l", "shifted_chebyshev_polynomial_v"])
def test_polynomial_forms_and_devices(torch, device, name):
    """Tensor n, number n, number x; broadcasting; integer x and n (float32); no gradient."""
    fo, ft = ag.special.__dict__[name], getattr(torch.special, name)
    x = np.array([[-0.7], [0.2], [1.5]])
    n = np.array([0, 3, 7, 12])
    for a, b in ((x, n), (x, 5), (0.3, n), (x, n.astype(float) + 0.5), (np.array([1, -2, 3]), 4),
                 (np.array([1, -2, 3]), np.array([2, 3, 4]))):
        args_o = [ag.tensor(v, device=device) if isinstance(v, np.ndarray) else v for v in (a, b)]
        args_t = [torch.tensor(v) if isinstance(v, np.ndarray) else v for v in (a, b)]
        o, r = fo(*args_o), ft(*args_t)
        assert str(o.dtype).split(".")[-1] == str(r.dtype).split(".")[-1]
        assert o.device == ag.device(device)
        np.testing.assert_allclose(to_numpy(o), r.numpy(), rtol=1e-6)
    xr = ag.tensor(x, device=device, requires_grad=True)
    out = fo(xr, 3)
    assert not out.requires_grad and out.grad_fn is None
    assert not ft(torch.tensor(x, requires_grad=True), 3).requires_grad
    with pytest.raises(RuntimeError):
        out.sum().backward()


def test_polynomial_large_n(torch):
    """n = 20000 by recurrence (Legendre, Laguerre, Hermite: NaN early, the run stops)
    and by closed forms: Chebyshev |x| < 1 (PyTorch's) and |x| > 1 (ours past n = 256,
    where PyTorch loops: the same values, infinities and NaNs)."""
    x = np.array([-0.9, 0.3, 0.99, 1 + 2 ** -30, -1 - 2 ** -30, 1.001, -1.001, 1.02, -1.02, 2.0, -2.0])
    for name in POLYNOMIALS:
        for n in (300, 2000, 20000):
            xx = (x + 1) / 2 if name.startswith("shifted") else x
            o = ag.special.__dict__[name](ag.tensor(xx), n).numpy()
            r = getattr(torch.special, name)(torch.tensor(xx), n).numpy()
            assert not len(_compare(o, r, 1e-8)), (name, n, o, r)
    o = ag.special.chebyshev_polynomial_u(ag.tensor([1 + 1e-9, -1 - 1e-9]), 10 ** 6).numpy()
    r = torch.special.chebyshev_polynomial_u(torch.tensor([1 + 1e-9, -1 - 1e-9]), 10 ** 6).numpy()
    np.testing.assert_allclose(o, r, rtol=1e-9)


def test_polynomial_values_against_mpmath():
    """Float64 values within ~n ulps of the exact polynomials (the recurrence's error)."""
    mpmath.mp.dps = 30
    x = np.linspace(-0.95, 0.95, 7)
    refs = {"chebyshev_polynomial_t": mpmath.chebyt, "chebyshev_polynomial_u": mpmath.chebyu,
            "hermite_polynomial_h": mpmath.hermite, "legendre_polynomial_p": mpmath.legendre,
            "laguerre_polynomial_l": lambda n, v: mpmath.laguerre(n, 0, v)}
    for name, ref in refs.items():
        for n in (3, 10, 40):
            o = ag.special.__dict__[name](ag.tensor(x), n).numpy()
            exact = np.array([float(ref(n, mpmath.mpf(float(v)))) for v in x])
            scale = np.maximum(np.abs(exact), 1 if "hermite" not in name else np.abs(exact).max() * 1e-3)
            assert np.all(np.abs(o - exact) <= 4 * n * np.spacing(scale)), (name, n, o, exact)


# ---- bad input -------------------------------------------------------------------------

BAD = [
    (lambda m, x: m.special.chebyshev_polynomial_t(0.5, 3), TypeError, "chebyshev_polynomial_t"),
    (lambda m, x: m.special.legendre_polynomial_p(x, "a"), TypeError, "legendre_polynomial_p"),
    (lambda m, x: m.special.hermite_polynomial_h(x, m.ones(2)), RuntimeError, "hermite_polynomial_h"),
    (lambda m, x: m.special.laguerre_polynomial_l(x.half(), 2), NotImplementedError, "laguerre_polynomial_l"),
    (lambda m, x: m.special.ndtri("a"), TypeError, "ndtri"),
    (lambda m, x: m.special.log_ndtr(x.half()), NotImplementedError, "log_ndtr"),
    (lambda m, x: m.special.erfcx(x.half()), NotImplementedError, "erfcx"),
    (lambda m, x: m.special.entr([1.0]), TypeError, "entr"),
    (lambda m, x: m.special.xlog1py(1.0, 2.0), TypeError, "xlog1py"),
    (lambda m, x: m.special.xlog1py(x, "a"), TypeError, "xlog1py"),
    (lambda m, x: m.special.xlog1py(x, m.ones(2)), RuntimeError, "xlog1py"),
    (lambda m, x: m.special.expit(None), TypeError, "expit"),
    (lambda m, x: m.special.ndtr(3), TypeError, "ndtr"),
]


@pytest.mark.parametrize("case", range(len(BAD)))
def test_bad_input(torch, device, case):
    fn, exc, name = BAD[case]
    a = np.array([0.5, -1.5, 2.0])
    with pytest.raises(exc):
        fn(torch, torch.tensor(a))
    x = ag.tensor(a, device=device, requires_grad=True)
    with pytest.raises(exc, match=name):
        fn(ag, x)
    assert x.tolist() == a.tolist() and x._version == 0 and x.grad is None


def test_polynomial_of_views_and_expanded_tensors(torch, device):
    """Transposed x, expanded n (stride 0): the recurrence's results land where they belong."""
    x = np.linspace(-1.8, 1.8, 12).reshape(3, 4)
    n = np.array([[2], [5], [9]])
    xo, xt = ag.tensor(x, device=device).t(), torch.tensor(x).t()
    no, nt = ag.tensor(n, device=device).t().expand(4, 3), torch.tensor(n).t().expand(4, 3)
    for name in ("chebyshev_polynomial_u", "hermite_polynomial_h", "legendre_polynomial_p"):
        o, r = ag.special.__dict__[name](xo, no), getattr(torch.special, name)(xt, nt)
        np.testing.assert_allclose(to_numpy(o), r.numpy(), rtol=1e-12)
