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
test_against_pytorch, test_gradcheck = case_tests(CASES)

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
