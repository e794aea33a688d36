"""The ops of autograd_gpu/ops/gamma.py: accuracy of the NumPy twins against
mpmath on grids (negative non-integers, near poles, large arguments), values
and gradients against PyTorch CPU (second order too), poles and infinities,
dtypes, in-place forms, bad input."""
import math

import numpy as np
import pytest

import autograd_gpu as ag
from autograd_gpu.ops import gamma as G
from oracle import U, case_tests, to_numpy

# the test data cast to float16 overflows there on purpose (NumPy warns in this module, not in the library)
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning:test_ops_gamma")

mpmath = pytest.importorskip("mpmath")

CASES = [
    ("lgamma",        lambda m, x: m.lgamma(x),              [U((3, 4), 0.1, 6)], {}),
    ("lgamma_neg",    lambda m, x: x.lgamma(),               [U((5,), -3.9, -3.1)], {}),
    ("digamma",       lambda m, x: m.digamma(x),             [U((3, 4), 0.2, 6)], {}),
    ("digamma_neg",   lambda m, x: x.digamma(),              [U((5,), -2.9, -2.1)], {}),
    ("polygamma0",    lambda m, x: m.polygamma(0, x),        [U((4,), 0.5, 3)], {}),
    ("polygamma1",    lambda m, x: m.polygamma(1, x),        [U((3, 4), 0.3, 5)], {}),
    ("polygamma2",    lambda m, x: x.polygamma(2),           [U((3, 4), 0.3, 5)], {}),
    ("polygamma3_neg", lambda m, x: m.polygamma(3, x),       [U((4,), -1.8, -1.2)], {}),
    ("mvlgamma",      lambda m, x: m.mvlgamma(x, 3),         [U((3, 4), 1.2, 5)], {}),
    ("mvlgamma_p1",   lambda m, x: x.mvlgamma(1),            [U((4,), 0.2, 5)], {}),
]
test_against_pytorch, test_gradcheck, test_second_order = case_tests(CASES)

GRID = np.concatenate([np.linspace(0.01, 30, 401), np.linspace(-20.0, -0.01, 401),
                       10.0 ** np.linspace(-300, 300, 61), -(np.arange(1, 6) + 1e-9), -(np.arange(1, 6) + 0.5),
                       [0.5, 1.0, 2.0, 1.5, 2.5, 9.5, 10.0, 2.5e305, -1e6 - 0.5]])
GRID = GRID[(GRID > 0) | (np.floor(GRID) != GRID)]


def _ulps(ours, ref, x, cancel=None):
    """Error in ulps of the reference; `cancel(x)`: a scale of the terms that
    cancel there (errors within a few ulps of it are fine)."""
    worst = 0.0
    for xi, o in zip(x, ours):
        r = ref(mpmath.mpf(float(xi)))
        if not mpmath.isfinite(r) or abs(r) > 1e308:
            continue
        r = float(r)
        scale = max(abs(r), cancel(xi) if cancel else 0.0) or 1e-300
        worst = max(worst, abs(o - r) / np.spacing(scale))
    return worst


def test_lgamma_accuracy():
    # (near lgamma's negative roots the reflection's terms cancel: the error is relative to them)
    err = _ulps(G.lgamma_array(GRID), lambda v: mpmath.log(abs(mpmath.gamma(v))), GRID,
                cancel=lambda v: abs(math.log(math.pi / abs(math.sin(math.pi * v)))) if v < 0 else 0.0)
    assert err <= 64, err          # (measured 60 on this grid: the recurrence near 3-10; see the report)


def test_digamma_accuracy():
    # (near the root 1.4616 and the negative roots the recurrence's terms cancel: error relative to them)
    err = _ulps(G.digamma_array(GRID), mpmath.digamma, GRID,
                cancel=lambda v: 1 / abs(v) + math.log(abs(v) + 10) + (math.pi / abs(math.tan(math.pi * v)) if v < 0
                                                                       else 0.0))
    assert err <= 16, err


@pytest.mark.parametrize("n", [1, 2, 3, 6])
def test_polygamma_accuracy(n):
    x = GRID[np.abs(GRID) < 1e6]
    pos = x[x > 0]
    err = _ulps(G.polygamma_array(pos, n), lambda v: mpmath.polygamma(n, v), pos)
    assert err <= 16, err
    neg = x[x < 0]
    # (the reflection's cot-derivative term cancels against polygamma(n, 1 - x): relative accuracy only)
    ours = G.polygamma_array(neg, n)
    ref = np.array([float(mpmath.polygamma(n, mpmath.mpf(float(v)))) for v in neg])
    np.testing.assert_allclose(ours, ref, rtol=1e-6)


def test_series_coefficients_against_mpmath():
    mpmath.mp.dps = 30
    for k in range(2, 60):
        assert abs(G._zeta(k) - float(mpmath.zeta(k))) <= 4 * np.spacing(float(mpmath.zeta(k))), k


SPECIAL = np.array([0.0, -0.0, -1.0, -2.0, -2.5, 1e-300, -1e-300, 171.7, 1e306, np.inf, -np.inf, np.nan, 1.5, 9.7,
                    -7.3, 30.2, 1e30])


@pytest.mark.parametrize("fn", [lambda m, x: m.lgamma(x), lambda m, x: m.digamma(x), lambda m, x: m.polygamma(0, x),
                                lambda m, x: m.polygamma(1, x), lambda m, x: m.polygamma(2, x),
                                lambda m, x: m.polygamma(3, x), lambda m, x: m.mvlgamma(x, 2)],
                         ids=["lgamma", "digamma", "pg0", "pg1", "pg2", "pg3", "mvlgamma"])
def test_poles_and_infinities(torch, device, fn):
    for dt in ("float64", "float32", "float16"):
        a = SPECIAL.astype(dt)
        if dt != "float64":         # (PyTorch's float kernels' finite values at trigamma's negative poles differ)
            a = a[~((a < 0) & (np.floor(a) == a) & np.isfinite(a))]
        ours = to_numpy(fn(ag, ag.tensor(a, device=device)))
        ref = fn(torch, torch.tensor(a)).numpy()
        assert ours.dtype == ref.dtype
        tol = dict(rtol=1e-9) if dt == "float64" else dict(rtol=2e-3 if dt == "float32" else 2e-2, atol=1e-6)
        np.testing.assert_allclose(ours.astype(float), ref.astype(float), equal_nan=True, **tol)


def test_integer_inputs_and_in_place(torch, device):
    a = np.array([1, 2, 5, -3])
    for name in ("lgamma", "digamma"):
        o, r = getattr(ag, name)(ag.tensor(a, device=device)), getattr(torch, name)(torch.tensor(a))
        assert o.dtype is ag.float32
        np.testing.assert_allclose(to_numpy(o), r.numpy(), rtol=1e-6, equal_nan=True)
    x, y = ag.tensor([0.5, 3.0], device=device), torch.tensor([0.5, 3.0])
    x.polygamma_(2), y.polygamma_(2)
    np.testing.assert_allclose(to_numpy(x), y.numpy(), rtol=1e-6)
    assert x._version == 1
    x, y = ag.tensor([2.5, 3.0], device=device), torch.tensor([2.5, 3.0])
    x.mvlgamma_(2), y.mvlgamma_(2)
    np.testing.assert_allclose(to_numpy(x), y.numpy(), rtol=1e-6)
    z = ag.tensor([0, 1], device=device)
    with pytest.raises(RuntimeError, match="lgamma_"):
        z.lgamma_()
    assert z.tolist() == [0, 1] and z._version == 0


def test_third_order_chain(torch, device):
    """lgamma -> digamma -> polygamma(1) -> polygamma(2): gradients of gradients."""
    grads = []
    for lib, dev in ((ag, device), (torch, "cpu")):
        x = lib.tensor([0.7, 2.3, -1.4], dtype=lib.float64, requires_grad=True, device=dev)
        g1, = lib.autograd.grad(lib.lgamma(x).sum(), x, create_graph=True)
        g2, = lib.autograd.grad(g1.sum(), x, create_graph=True)
        g3, = lib.autograd.grad(g2.sum(), x)
        grads.append([to_numpy(g) for g in (g1, g2, g3)])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-8)


BAD = [
    (lambda m, x: m.polygamma(-1, x), RuntimeError, "polygamma"),
    (lambda m, x: m.polygamma(1.5, x), TypeError, "polygamma"),
    (lambda m, x: m.polygamma(True, x), TypeError, "polygamma"),
    (lambda m, x: m.polygamma(x, 1), TypeError, "polygamma"),
    (lambda m, x: m.mvlgamma(x, 0), RuntimeError, "mvlgamma"),
    (lambda m, x: m.mvlgamma(x, True), TypeError, "mvlgamma"),
    (lambda m, x: m.mvlgamma(x > 0, 1), RuntimeError, "mvlgamma"),
    (lambda m, x: m.lgamma("a"), TypeError, "lgamma"),
    (lambda m, x: x.long().digamma_(), RuntimeError, "digamma_"),
]


@pytest.mark.parametrize("case", range(len(BAD)))
def test_bad_input(torch, device, case):
    fn, exc, name = BAD[case]
    a = np.array([1.5, 2.0, -0.5])
    with pytest.raises(exc):
        fn(torch, torch.tensor(a))
    x = ag.tensor(a, device=device)
    with pytest.raises(exc, match=name):
        fn(ag, x)
    assert x.tolist() == a.tolist() and x._version == 0


# ---- igamma / igammac (torch.special.gammainc / gammaincc), torch.special.zeta ---------------------

# (the shape parameters a: integer arrays, so that they need no gradient (PyTorch has none in a), cast to
# x's dtype in the lambdas: see test_integer_a_gradient for why)
A_INT = np.array([[1], [2], [4]])
X_POS = np.array([0.3, 1.1, 2.5, 4.0])
FIXED = {"arrays": [A_INT, X_POS]}
SHARED_OP = dict(FIXED, fd=False)      # (the op of another line: no second gradcheck)

INCOMPLETE_CASES = [
    ("igamma",            lambda m, a, x: m.igamma(a.to(x.dtype), x),      [A_INT, X_POS], FIXED),
    ("igammac",           lambda m, a, x: m.igammac(a.to(x.dtype), x),     [A_INT, X_POS], FIXED),
    ("igamma_method",     lambda m, a, x: a.to(x.dtype).igamma(x),         [A_INT, X_POS], SHARED_OP),
    ("gammainc",          lambda m, a, x: m.special.gammainc(a.to(x.dtype), x), [A_INT, X_POS], SHARED_OP),
    ("gammaincc",         lambda m, a, x: m.special.gammaincc(a.to(x.dtype), x), [A_INT, X_POS], SHARED_OP),
    ("igamma_large_a",    lambda m, a, x: m.igamma(a.to(x.dtype) * 30, x * 20 + 40), [A_INT, X_POS], FIXED),
    ("zeta",              lambda m, s, q: m.special.zeta(s + 1, q),        [A_INT, X_POS], FIXED),
    ("zeta_number_x",     lambda m, q: m.special.zeta(2.5, q),             [U((3, 4), 0.2, 5)], {}),
    ("zeta_q_shifted",    lambda m, s, q: m.special.zeta(s + 2, q + 0.5),  [A_INT, X_POS], FIXED),
    ("special_gammaln",   lambda m, x: m.special.gammaln(x),               [U((3, 4), 0.1, 6)], {"fd": False}),
    ("special_digamma",   lambda m, x: m.special.digamma(x),               [U((4,), 0.2, 6)], {"fd": False}),
    ("special_psi",       lambda m, x: m.special.psi(x),                   [U((4,), -2.9, -2.1)], {}),
    ("special_polygamma", lambda m, x: m.special.polygamma(2, x),          [U((4,), 0.3, 5)], {"fd": False}),
    ("special_multigammaln", lambda m, x: m.special.multigammaln(x, 3),    [U((3, 2), 1.2, 5)], {"fd": False}),
]
test_incomplete_against_pytorch, test_incomplete_gradcheck, test_incomplete_second_order = case_tests(INCOMPLETE_CASES)


def temme_coefficients(K, N):
    """d[k][n] with c_k(eta) = sum_n d[k][n] eta^n in Temme's expansion (DLMF 8.12.7-8.12.10):
    c_0 = 1 / (lam - 1) - 1 / eta, c_k = c_(k-1)' / eta + (-1)^k g_k / (lam - 1), eta^2 / 2 =
    lam - 1 - log(lam), g_k those of Gamma*(a) ~ sum g_k a^-k; power series in mpmath at 60 digits."""
    mp = mpmath

    def mul(a, b, n):
        return [mp.fsum(a[i] * b[k - i] for i in range(k + 1)) for k in range(n)]

    def inverse(s, n):
        inv = [1 / s[0]] + [mp.mpf(0)] * (n - 1)
        for k in range(1, n):
            inv[k] = -mp.fsum(s[i] * inv[k - i] for i in range(1, k + 1)) / s[0]
        return inv

    with mp.workdps(60):
        M = N + 2 * K + 2
        # eta = mu r(mu), r(mu)^2 = 2 (mu - log(1 + mu)) / mu^2 = sum 2 (-1)^k mu^k / (k + 2)
        f = [mp.mpf(2) * (-1) ** k / (k + 2) for k in range(M)]
        r = [mp.mpf(1)] + [mp.mpf(0)] * (M - 1)
        for k in range(1, M):
            r[k] = (f[k] - mp.fsum(r[i] * r[k - i] for i in range(1, k))) / 2
        # mu = eta s(eta) by Lagrange inversion: [eta^(k+1)] mu = [mu^k] r(mu)^-(k+1) / (k + 1)
        ir = inverse(r, M)
        power, s = ir, []
        for k in range(M):
            s.append(power[k] / (k + 1))
            power = mul(power, ir, M)
        inv = inverse(s, M)                             # 1 / mu = inv(eta) / eta
        log_g = [mp.mpf(0)] * (K + 2)                   # log Gamma* = sum B_2j / (2j (2j - 1)) a^(1-2j)
        for j in range(1, K // 2 + 2):
            if 2 * j - 1 < K + 2:
                log_g[2 * j - 1] = mp.bernoulli(2 * j) / (2 * j * (2 * j - 1))
        g, term = [mp.mpf(1)] + [mp.mpf(0)] * (K + 1), [mp.mpf(1)] + [mp.mpf(0)] * (K + 1)
        for m in range(1, K + 2):
            term = [t / m for t in mul(term, log_g, K + 2)]
            g = [u + v for u, v in zip(g, term)]
        c = inv[1:]                                     # c_0 = 1 / mu - 1 / eta
        rows = [c]
        for k in range(1, K):
            assert abs(c[1] + (-1) ** k * g[k]) < mp.mpf(10) ** -40      # (the poles in eta cancel)
            c = [(n + 2) * c[n + 2] + (-1) ** k * g[k] * inv[n + 1] for n in range(len(c) - 2)]
            rows.append(c)
        return [[float(v) for v in row[:N]] for row in rows]


def test_temme_coefficients_against_mpmath():
    table = temme_coefficients(len(G._TEMME), len(G._TEMME[0]))
    np.testing.assert_allclose(np.array(G._TEMME), np.array(table), rtol=1e-15, atol=0)
    assert table[0][:3] == pytest.approx([-1 / 3, 1 / 12, -2 / 135]) and table[1][0] == pytest.approx(-1 / 540)


def _incomplete_grid():
    rng = np.random.default_rng(7)
    a = np.concatenate([10 ** rng.uniform(-3, 4, 120), 10 ** rng.uniform(-2, 1.5, 80),
                        [1e-20, 1e-5, 0.3, 0.3, 0.9, 1.0, 5, 19.9, 20.5, 25, 25, 100, 100, 1000, 1e5]])
    x = np.concatenate([a[:120] * 10 ** rng.uniform(-0.6, 0.6, 120), 10 ** rng.uniform(-3, 2, 80),
                        [3.0, 1.5, 1.29, 1.31, 2.0, 1e-300, 5.9, 21.0, 27.0, 17.6, 32.4, 70.5, 129.5, 1299.0, 70001.0]])
    return a, x


def test_incomplete_gamma_accuracy():
    """Both P and Q relative to mpmath, in float64 ulps over the condition max(1, a |lam - 1 - log lam|)
    (the exponent of x^a e^-x / Gamma(a), whose rounding any method carries): measured 21."""
    a, x = _incomplete_grid()
    p, q = G.igamma_array(a, x), G.igammac_array(a, x)
    worst, skipped = 0.0, 0
    with mpmath.workdps(40):
        for ai, xi, pi, qi in zip(a, x, p, q):
            mu = mpmath.mpf(xi - ai) / ai
            cond = max(1.0, float(abs(ai * (mu - mpmath.log1p(mu)))))
            try:
                refs = (mpmath.gammainc(ai, 0, xi, regularized=True),
                        mpmath.gammainc(ai, xi, mpmath.inf, regularized=True))
            except mpmath.libmp.NoConvergence:       # (mpmath's series, at a few huge a)
                skipped += 1
                continue
            for ours, ref in zip((pi, qi), refs):
                ref = float(ref)
                if ref < 1e-290:                       # (underflow: ours must be as tiny)
                    assert ours < 1e-280
                    continue
                worst = max(worst, abs(ours - ref) / np.spacing(ref) / cond)
    assert worst <= 32 and skipped < 5, (worst, skipped)


def _hurwitz_mpmath(x, q):
    x, q = mpmath.mpf(x), mpmath.mpf(q)
    n = max(0, int(mpmath.ceil(max(x, 10) + 10 - q)))
    w = q + n
    tail = w ** (1 - x) / (x - 1) + w ** -x / 2 + mpmath.fsum(
        mpmath.bernoulli(2 * j) / mpmath.factorial(2 * j) * mpmath.rf(x, 2 * j - 1) * w ** (1 - x - 2 * j)
        for j in range(1, 31))
    return mpmath.fsum((q + k) ** -x for k in range(n)) + tail


def test_zeta_accuracy():
    """Against Euler-Maclaurin in mpmath at 50 digits (shift to w >= max(x, 10) + 10, 30 terms: mpmath's own
    zeta needs 200 digits at x ~ 40, q ~ 600), in float64 ulps: measured 2."""
    rng = np.random.default_rng(3)
    x = np.concatenate([1 + 10 ** rng.uniform(-8, 0, 30), rng.uniform(2, 300, 50), [2, 3, 4, 100, 300, 1.5]])
    q = np.concatenate([10 ** rng.uniform(-3, 6, 30), 10 ** rng.uniform(-3, 3, 50), [0.5, 1, 2, 1, 1.5, 1e-3]])
    ours = G.zeta_array(x, q)
    worst = 0.0
    with mpmath.workdps(50):
        assert abs(_hurwitz_mpmath(3.5, 0.25) / mpmath.zeta(3.5, 0.25) - 1) < 1e-40
        for xi, qi, o in zip(x, q, ours):
            ref = _hurwitz_mpmath(xi, qi)
            if not 1e-300 < ref < 1e300:
                continue
            worst = max(worst, abs(o - float(ref)) / np.spacing(float(ref)))
    assert worst <= 16, worst
    # q < 0 (x an integer: the sum over k of (q + k)^-x, which mpmath continues otherwise): exact sums
    for xi, qi in ((2, -0.5), (3, -0.5), (4, -2.3), (5, -7.7), (3, -1000.5), (3, -3.001)):
        with mpmath.workdps(60):
            m = math.ceil(-qi)
            ref = float(mpmath.zeta(xi, qi + m) + mpmath.fsum((mpmath.mpf(qi) + k) ** -xi for k in range(m)))
        assert G.zeta_array(np.array([float(xi)]), np.array([qi]))[0] == pytest.approx(ref, rel=1e-13)


INC_SPECIAL = np.array([-1.0, -0.0, 0.0, 1e-300, 0.5, 1.0, 3.0, 25.0, np.inf, -np.inf, np.nan])


@pytest.mark.parametrize("name", ["igamma", "igammac"])
def test_incomplete_gamma_special_values(torch, device, name):
    """Every pair of special points: PyTorch's NaN / 0 / 1 choices exactly, finite values close."""
    a, x = np.meshgrid(INC_SPECIAL, INC_SPECIAL, indexing="ij")
    for dt in ("float64", "float32", "float16"):
        ours = to_numpy(getattr(ag, name)(ag.tensor(a, dtype=dt, device=device), ag.tensor(x, dtype=dt, device=device)))
        ref = getattr(torch, name)(torch.tensor(a, dtype=getattr(torch, dt)), torch.tensor(x, dtype=getattr(torch, dt)))
        ref = ref.numpy()
        assert ours.dtype == ref.dtype
        if name == "igammac" and dt == "float64":          # (a = 1e-300: see test_igammac_tiny_a)
            ours, ref = ours[INC_SPECIAL != 1e-300], ref[INC_SPECIAL != 1e-300]
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
        exact = np.isin(ref, [0.0, 1.0])
        np.testing.assert_array_equal(ours[exact], ref[exact])
        np.testing.assert_allclose(ours.astype(float), ref.astype(float), rtol=1e-9 if dt == "float64" else 2e-3,
                                   equal_nan=True)


ZETA_X = np.array([-np.inf, -2.0, -0.5, 0.0, 0.5, 1.0, 1.0000001, 2.0, 3.0, 3.5, 50.0, np.inf, np.nan])
ZETA_Q = np.array([-np.inf, -2.5, -2.0, -1.0, -0.5, -0.0, 0.0, 1e-300, 0.5, 1.0, 2.0, 1e10, np.inf, np.nan])


def test_zeta_special_values(torch, device):
    """PyTorch's inf at x == 1 and at q = 0, -1, ...; NaN for x < 1 and for q < 0 with x not an
    integer; its values at x = inf and q = inf; the sums for q < 0 and integer x."""
    x, q = np.meshgrid(ZETA_X, ZETA_Q, indexing="ij")
    for dt in ("float64", "float32"):
        ours = to_numpy(ag.special.zeta(ag.tensor(x, dtype=dt, device=device), ag.tensor(q, dtype=dt, device=device)))
        ref = torch.special.zeta(torch.tensor(x, dtype=getattr(torch, dt)), torch.tensor(q, dtype=getattr(torch, dt)))
        np.testing.assert_allclose(ours, ref.numpy(), rtol=1e-12 if dt == "float64" else 1e-6, equal_nan=True)


def test_zeta_tiny_results_kept(torch):
    """Divergences kept: where q^-x underflows but the sum does not (q = 1e300, x = 2: 1e-300), PyTorch's
    kernel returns 0 (it adds the tail q^(1-x) / (x - 1) times its underflowed first term); ours the value."""
    ours = ag.special.zeta(ag.tensor([2.0, 2.0], dtype=ag.float64), ag.tensor([1e300, 1e10], dtype=ag.float64))
    ref = torch.special.zeta(torch.tensor([2.0, 2.0], dtype=torch.float64),
                             torch.tensor([1e300, 1e10], dtype=torch.float64))
    assert ref[0].item() == 0.0 and ours[0].item() == pytest.approx(1e-300, rel=1e-14)
    assert ours[1].item() == pytest.approx(ref[1].item(), rel=1e-14)
    # and where the sum underflows to 0 at a huge x, its kernel's tail multiplies 0 by an overflowed product
    # (NaN); ours is 0; below q = 1 both give inf, at q = 1 both 1
    x, q = np.array([1e100, 1e15, 1e100, 1e100]), np.array([1e100, 50.0, 0.5, 1.0])
    ours = to_numpy(ag.special.zeta(ag.tensor(x), ag.tensor(q)))
    ref = torch.special.zeta(torch.tensor(x), torch.tensor(q)).numpy()
    np.testing.assert_array_equal(ours, [0.0, 0.0, np.inf, 1.0])
    np.testing.assert_array_equal(ref, [np.nan, np.nan, np.inf, 1.0])


def test_against_pytorch_on_wide_grids(torch, device):
    """float64 to 1e-8 (PyTorch's own error, at large a), float32 (PyTorch computes in float32) to 1e-4."""
    a, x = _incomplete_grid()
    a, x = a[a < 1e4], x[a < 1e4]
    zx, zq = np.linspace(1.01, 40, a.size), np.geomspace(1e-3, 1e4, a.size)
    for dt, tol in (("float64", dict(rtol=1e-8, atol=1e-300)), ("float32", dict(rtol=1e-4, atol=1e-30))):
        t = getattr(torch, dt)
        for name in ("igamma", "igammac"):
            ours = getattr(ag, name)(ag.tensor(a, dtype=dt, device=device), ag.tensor(x, dtype=dt, device=device))
            ref = getattr(torch, name)(torch.tensor(a, dtype=t), torch.tensor(x, dtype=t))
            np.testing.assert_allclose(to_numpy(ours), ref.numpy(), **tol, err_msg=f"{name} {dt}")
        ours = ag.special.zeta(ag.tensor(zx, dtype=dt, device=device), ag.tensor(zq, dtype=dt, device=device))
        ref = torch.special.zeta(torch.tensor(zx, dtype=t), torch.tensor(zq, dtype=t))
        np.testing.assert_allclose(to_numpy(ours), ref.numpy(), **tol, err_msg=f"zeta {dt}")


def test_incomplete_dtypes_and_shapes(torch, device):
    """PyTorch's promotion (an integer or bool operand with a float one), float16, 0-d, empty,
    broadcasting; zeta's Python-number operands and integer inputs (float32)."""
    def both(fn, *arrays):
        o = fn(ag, *[ag.tensor(v, device=device) if isinstance(v, np.ndarray) else v for v in arrays])
        r = fn(torch, *[torch.tensor(v) if isinstance(v, np.ndarray) else v for v in arrays])
        assert str(o.dtype).split(".")[-1] == str(r.dtype).split(".")[-1] and o.shape == tuple(r.shape)
        np.testing.assert_allclose(to_numpy(o).astype(float), r.numpy().astype(float), rtol=2e-3, equal_nan=True)

    ints, f32, f64 = np.array([1, 3]), np.array([0.5, 2.0], np.float32), np.array([[0.5], [4.0]])
    both(lambda m, a, x: m.igamma(a, x), ints, f32)
    both(lambda m, a, x: m.igammac(a, x), np.array([True, False]), f64)
    both(lambda m, a, x: m.igamma(a, x), f32.astype(np.float16), f32.astype(np.float16))
    both(lambda m, a, x: m.igamma(a, x), f32, np.array(3.0))                        # (0-d float64: float32)
    both(lambda m, a, x: m.igammac(a, x), f64, f32)
    both(lambda m, a, x: m.igamma(a, x), np.zeros((0, 2)), f64.T)
    both(lambda m, s, q: m.special.zeta(s, q), np.array([2, 3]), np.array([1, 2]))
    both(lambda m, q: m.special.zeta(2, q), np.array([1, 2]))
    both(lambda m, s: m.special.zeta(s, 1.5), np.array([2.0, 3.0]))
    both(lambda m, s: m.special.zeta(s, True), np.array([2.0, 3.0], np.float32))
    both(lambda m, s, q: m.special.zeta(s, q), np.array(2.0), f32)
    both(lambda m, s, q: m.special.zeta(s, q), np.zeros((2, 0)), np.ones((1, 0)))


@pytest.mark.parametrize("name", ["igamma", "igammac", "gammainc", "gammaincc"])
def test_incomplete_gamma_no_gradient_in_a(torch, device, name):
    """PyTorch has no derivative in a: the same error at backward (not at the call), naming the function;
    the gradient in x alone still works when a needs none."""
    for lib, dev in ((ag, device), (torch, "cpu")):
        fn = getattr(lib.special, name) if name.startswith("gamma") else getattr(lib, name)
        a = lib.tensor([0.5, 2.0], dtype=lib.float64, requires_grad=True, device=dev)
        x = lib.tensor([1.5, 0.7], dtype=lib.float64, requires_grad=True, device=dev)
        out = fn(a, x)
        with pytest.raises(NotImplementedError, match="igamma"):
            out.sum().backward()


def test_zeta_gradients(torch, device):
    """In q: grad * -x * zeta(x + 1, q), to any order; in x PyTorch has none: its error at backward."""
    grads = []
    for lib, dev in ((ag, device), (torch, "cpu")):
        x = lib.tensor([2.0, 3.5], dtype=lib.float64, device=dev)
        q = lib.tensor([0.7, 2.5], dtype=lib.float64, requires_grad=True, device=dev)
        g1, = lib.autograd.grad(lib.special.zeta(x, q).sum(), q, create_graph=True)
        g2, = lib.autograd.grad(g1.sum(), q)
        grads.append([to_numpy(g1), to_numpy(g2)])
        for out in (lib.special.zeta(x.requires_grad_(), q), lib.special.zeta(x, 2.0)):
            with pytest.raises(NotImplementedError, match="zeta"):
                out.sum().backward()
    for ours, ref in zip(*grads):
        np.testing.assert_allclose(ours, ref, rtol=1e-10)


def test_igammac_tiny_a(torch):
    """Divergence kept: Q(a, x) ~ a E1(x) for tiny a; PyTorch's kernel loses it (at a = 1e-300: a (-log x)
    without Euler's constant at x = 1e-300, twice the value at x = 0.5, 0 at x = 25); ours is mpmath's."""
    x = np.array([1e-300, 0.5, 1.0, 25.0])
    ours = G.igammac_array(np.full(4, 1e-300), x)
    with mpmath.workdps(40):                            # (Q = a E1(x) (1 + O(a log x)); mpmath's gammainc is slow here)
        exact = [float(1e-300 * mpmath.e1(xi)) for xi in x]
    np.testing.assert_allclose(ours, exact, rtol=1e-12)
    ref = torch.igammac(torch.full((4,), 1e-300, dtype=torch.float64), torch.tensor(x)).numpy()
    assert ref[-1] == 0.0 and abs(ref[1] / exact[1] - 1) > 0.5


def test_gradient_in_x_with_a_requiring_grad(torch):
    """autograd.grad(out, x) with a requiring grad: only x's gradient is asked of the node, as PyTorch asks
    (igamma has no derivative in a); backward() asks for both and raises PyTorch's NotImplementedError."""
    grads = []
    for lib in (ag, torch):
        a = lib.tensor([0.5, 2.0], dtype=lib.float64, requires_grad=True)
        x = lib.tensor([1.5, 0.7], dtype=lib.float64, requires_grad=True)
        out = lib.igamma(a, x).sum()
        g, = lib.autograd.grad(out, x, retain_graph=True)
        grads.append(to_numpy(g))
        with pytest.raises(NotImplementedError, match="igamma: input"):
            out.backward()
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-10)


def test_integer_a_gradient(torch):
    """Divergence kept: with an integer a, PyTorch's gradient in x takes lgamma(a) of the integer tensor,
    in float32 (a relative error of ~1e-6 at a = 120); ours takes it in the result's dtype, as for a float a."""
    a, x = np.array([60, 120]), np.array([46.0, 120.0])
    with mpmath.workdps(30):
        exact = [float(mpmath.exp((ai - 1) * mpmath.log(xi) - xi - mpmath.loggamma(ai))) for ai, xi in zip(a, x)]
    grads = []
    for lib in (ag, torch):
        xt = lib.tensor(x, dtype=lib.float64, requires_grad=True)
        g, = lib.autograd.grad(lib.igamma(lib.tensor(a), xt).sum(), xt)
        grads.append(to_numpy(g))
    np.testing.assert_allclose(grads[0], exact, rtol=1e-12)
    assert np.max(np.abs(grads[1] / exact - 1)) > 1e-9


def test_incomplete_gamma_in_place(torch, device):
    """x.igamma_(other) / igammac_: values, version, broadcasting of other only; PyTorch's errors for an
    integer self (the float result cannot be cast), two integer tensors (no kernel), a number other."""
    for name in ("igamma_", "igammac_"):
        a, ta = ag.tensor([[0.5, 2.0], [3.0, 30.0]], device=device), torch.tensor([[0.5, 2.0], [3.0, 30.0]])
        x, tx = ag.tensor([1.5, 31.0], dtype=ag.float64, device=device), torch.tensor([1.5, 31.0], dtype=torch.float64)
        assert getattr(a, name)(x) is a and a._version == 1 and a.dtype is ag.float32
        getattr(ta, name)(tx)
        np.testing.assert_allclose(to_numpy(a), ta.numpy(), rtol=1e-6)
    cases = [(lambda m: m.tensor([1, 2]).igamma_(m.tensor([0.5, 1.0])), RuntimeError),
             (lambda m: m.tensor([1, 2]).igammac_(m.tensor([1, 2])), NotImplementedError),
             (lambda m: m.tensor([0.5, 1.0]).igamma_(1.0), TypeError),
             (lambda m: m.tensor([0.5, 1.0]).igamma_(m.ones(2, 2)), RuntimeError)]
    for fn, exc in cases:
        with pytest.raises(exc):
            fn(torch)
        with pytest.raises(exc, match="igamma"):
            fn(ag)


BAD_INCOMPLETE = [
    (lambda m, x: m.igamma(x, 2.0), TypeError, "igamma"),
    (lambda m, x: m.igammac(2.0, x), TypeError, "igammac"),
    (lambda m, x: m.igamma(x.long(), x.long()), NotImplementedError, "igamma"),
    (lambda m, x: m.igammac(x > 0, x > 0), NotImplementedError, "igammac"),
    (lambda m, x: m.igamma(x, m.ones(2)), RuntimeError, "igamma"),
    (lambda m, x: m.special.gammainc(x, "a"), TypeError, "gammainc"),
    (lambda m, x: m.special.gammaincc(x.long(), x.long()), NotImplementedError, "igammac"),
    (lambda m, x: m.special.zeta(2.0, 3.0), TypeError, "zeta"),
    (lambda m, x: m.special.zeta(x, None), TypeError, "zeta"),
    (lambda m, x: m.special.zeta("a", x), TypeError, "zeta"),
    (lambda m, x: m.special.zeta(x.half(), x.half()), NotImplementedError, "zeta"),
    (lambda m, x: m.special.zeta(x, m.ones(2)), RuntimeError, "zeta"),
    (lambda m, x: m.special.gammaln("a"), TypeError, "gammaln"),
    (lambda m, x: m.special.psi([1.0]), TypeError, "psi"),
    (lambda m, x: m.special.polygamma(-1, x), RuntimeError, "polygamma"),
    (lambda m, x: m.special.polygamma(1, "a"), TypeError, "polygamma"),
    (lambda m, x: m.special.multigammaln(x, 0), RuntimeError, "multigammaln"),
    (lambda m, x: m.special.multigammaln(x, 1.5), TypeError, "multigammaln"),
]


@pytest.mark.parametrize("case", range(len(BAD_INCOMPLETE)))
def test_bad_input_incomplete_and_special(torch, device, case):
    fn, exc, name = BAD_INCOMPLETE[case]
    a = np.array([1.5, 2.0, 0.5])
    with pytest.raises(exc):
        fn(torch, torch.tensor(a))
    x = ag.tensor(a, device=device)
    with pytest.raises(exc, match=name):
        fn(ag, x)
    assert x.tolist() == a.tolist() and x._version == 0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_lgamma_and_digamma_by_chunks(torch, dtype):
    """lgamma and digamma of 128k elements or more run their float64 steps a chunk at a time: each
    element bit for bit what it gives in a small array (poles, negative non-integers, infinities, NaN,
    signed zeros included), the values and lgamma's gradient (digamma) PyTorch's."""
    rng = np.random.default_rng(9)
    x = np.concatenate([rng.uniform(-20, 40, 3 * 70001 - 10),
                        [0.0, -0.0, -1.0, -2.5, np.inf, -np.inf, np.nan, 1e-300, 1e300, 10.0]]).astype(dtype)
    big = ag.tensor(x, requires_grad=True)
    y = big.lgamma()
    y.sum().backward()
    pieces = [ag.tensor(x[i:i + 70001], requires_grad=True) for i in range(0, x.size, 70001)]
    for p in pieces:
        p.lgamma().sum().backward()
    np.testing.assert_array_equal(y.detach().numpy(), np.concatenate([p.lgamma().detach().numpy() for p in pieces]))
    np.testing.assert_array_equal(big.grad.numpy(), np.concatenate([p.grad.numpy() for p in pieces]))
    np.testing.assert_array_equal(ag.digamma(ag.tensor(x)).numpy(),
                                  np.concatenate([ag.digamma(ag.tensor(x[i:i + 70001])).numpy()
                                                  for i in range(0, x.size, 70001)]))
    t = torch.tensor(x, requires_grad=True)
    torch.lgamma(t).sum().backward()
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    finite = np.isfinite(x) & (np.abs(x) < 1e30)
    np.testing.assert_allclose(y.detach().numpy()[finite], torch.lgamma(t).detach().numpy()[finite], **tol)
    np.testing.assert_allclose(big.grad.numpy()[finite], t.grad.numpy()[finite], **tol)
