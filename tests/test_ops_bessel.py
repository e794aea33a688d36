"""The ops of autograd_gpu/ops/bessel.py: accuracy of the NumPy twins against
mpmath on wide grids, the Chebyshev fits made again with mpmath, values and
gradients against PyTorch CPU (second order too, for i0, i0e, i1, i1e), its
special values (0, negatives, +-inf, NaN, overflow), the functions without a
derivative, dtypes, the in-place form, bad input."""
import math

import numpy as np
import pytest

import autograd_gpu as ag
from autograd_gpu.ops import bessel as B
from oracle import U, case_tests, to_numpy

mpmath = pytest.importorskip("mpmath")

# the test data cast to float32 overflows there on purpose (NumPy warns in this module, not in the library)
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning:test_ops_bessel")

DIFFERENTIABLE = ["i0", "i0e", "i1", "i1e"]
NO_DERIVATIVE = ["modified_bessel_i0", "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
                 "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "bessel_j0", "bessel_j1", "bessel_y0",
                 "bessel_y1", "spherical_bessel_j0", "airy_ai"]
ALL = DIFFERENTIABLE + NO_DERIVATIVE

# PyTorch's float64 J0, J1, Y0, Y1 and Ai are off by up to 3e-6 (absolute) near its kernels' region
# boundaries (x just above 5; Ai near -2.09; measured against mpmath): ours follow mpmath, so those
# comparisons with PyTorch take this absolute tolerance (see test_pytorch_float64_is_the_less_accurate)
TORCH_ABS_ERR = {"bessel_j0": 4e-7, "bessel_j1": 5e-7, "bessel_y0": 3e-7, "bessel_y1": 1e-6, "airy_ai": 3.2e-6}


def _sp(name):
    return lambda m, x: getattr(m.special, name)(x)


CASES = [
    ("i0",            lambda m, x: m.i0(x),              [U((3, 4), -5, 5)], {}),
    ("i0_method",     lambda m, x: x.i0(),               [U((5,), 18, 24)], {}),
    ("special_i0",    _sp("i0"),                          [U((4,), -3, 3)], {}),
    ("i0e",           _sp("i0e"),                         [U((3, 4), -5, 5)], {}),
    ("i0e_large",     _sp("i0e"),                         [U((5,), -25, -18)], {}),
    ("i1",            _sp("i1"),                          [U((3, 4), -5, 5)], {}),
    ("i1_large",      _sp("i1"),                          [U((5,), 18, 24)], {}),
    ("i1e",           _sp("i1e"),                         [U((3, 4), -5, 5)], {}),
    ("i1e_large",     _sp("i1e"),                         [U((5,), 18, 30)], {}),
    # PyTorch's 0.5 at |x| <= eps in the gradients of i1 and i1e (and the sign of 0 in i0e's)
    ("i1_at_zero",    _sp("i1"),  [], {"arrays": [np.array([0.0, 1e-17, -1e-17, 0.7])], "fd": False}),
    ("i1e_at_zero",   _sp("i1e"), [], {"arrays": [np.array([0.0, 1e-17, -1e-17, -0.7])], "fd": False}),
    ("i0e_at_zero",   _sp("i0e"), [], {"arrays": [np.array([0.0, -0.0, 1e-300, 2.0])], "fd": False}),
]
test_against_pytorch, test_gradcheck, test_second_order = case_tests(CASES)

# ---- accuracy against mpmath -------------------------------------------------------------------------

GRID = np.concatenate([np.linspace(-40, 40, 321) + 0.0123, 10.0 ** np.linspace(-300, 2.8, 61),
                       -(10.0 ** np.linspace(-300, 2.8, 61)), [4.999999, 5.0, 5.000001, 2.0, 19.99, 20.0, 20.01,
                                                                3.99999, 4.0, 4.00001, -4.00001, 300.5, 700.0]])


def _mp(name):
    mpmath.mp.dps = 30
    bj, by, bi, bk = mpmath.besselj, mpmath.bessely, mpmath.besseli, mpmath.besselk
    return {
        "i0": lambda v: bi(0, v), "i1": lambda v: bi(1, v), "modified_bessel_i0": lambda v: bi(0, v),
        "modified_bessel_i1": lambda v: bi(1, v), "i0e": lambda v: bi(0, v) * mpmath.exp(-abs(v)),
        "i1e": lambda v: bi(1, v) * mpmath.exp(-abs(v)),
        "modified_bessel_k0": lambda v: bk(0, v), "modified_bessel_k1": lambda v: bk(1, v),
        "scaled_modified_bessel_k0": lambda v: bk(0, v) * mpmath.exp(v),
        "scaled_modified_bessel_k1": lambda v: bk(1, v) * mpmath.exp(v),
        "bessel_j0": lambda v: bj(0, v), "bessel_j1": lambda v: bj(1, v), "bessel_y0": lambda v: by(0, v),
        "bessel_y1": lambda v: by(1, v), "spherical_bessel_j0": lambda v: mpmath.sin(v) / v,
        "airy_ai": mpmath.airyai,
    }[name]


def _envelope(name, x):
    """The scale errors are measured against: |f| for the monotone functions; for the oscillating ones
    the amplitude (near their zeros only absolute accuracy is possible from rounded cos/sin terms)."""
    a = abs(x)
    if name.startswith("bessel_"):
        return 0.8 / math.sqrt(max(a, 1.0))
    if name == "spherical_bessel_j0":
        return 1 / max(a, 1.0)
    if name == "airy_ai":
        return 0.6 / max(a, 1.0) ** 0.25 if x < 0 else 0.0
    return 0.0


# worst error in ulps of max(|f|, envelope) on GRID (measured, then rounded up)
ULP_BOUNDS = {"i0": 6, "i1": 6, "i0e": 6, "i1e": 6,
              "modified_bessel_k0": 8, "modified_bessel_k1": 8, "scaled_modified_bessel_k0": 8,
              "scaled_modified_bessel_k1": 8, "bessel_j0": 8, "bessel_j1": 8, "bessel_y0": 8, "bessel_y1": 8,
              "spherical_bessel_j0": 2, "airy_ai": 10}


def _worst_ulps(name, x):
    arrays = {"i0": B.i0_array, "i1": B.i1_array, "i0e": B.i0e_array, "i1e": B.i1e_array,
              "modified_bessel_i0": B.i0_array, "modified_bessel_i1": B.i1_array,
              "modified_bessel_k0": B.k0_array, "modified_bessel_k1": B.k1_array,
              "scaled_modified_bessel_k0": B.k0e_array, "scaled_modified_bessel_k1": B.k1e_array,
              "bessel_j0": B.j0_array, "bessel_j1": B.j1_array, "bessel_y0": B.y0_array, "bessel_y1": B.y1_array,
              "spherical_bessel_j0": B.spherical_j0_array, "airy_ai": B.airy_ai_array}
    ours = arrays[name](x)
    ref_fn = _mp(name)
    worst = 0.0
    for xi, o in zip(x, ours):
        if xi == 0 or (xi < 0 and ("_k" in name or "_y" in name)):
            continue
        r = ref_fn(mpmath.mpf(float(xi)))
        if not mpmath.isfinite(r) or abs(r) > 1e300 or (abs(r) < 1e-300 and name != "airy_ai"):
            continue
        if abs(r) < 1e-300:
            continue
        r = float(r)
        worst = max(worst, abs(o - r) / np.spacing(max(abs(r), _envelope(name, xi))))
    return worst


@pytest.mark.parametrize("name", [n for n in ALL if not n.startswith("modified_bessel_i")])   # (= i0, i1)
def test_accuracy_against_mpmath(name):
    x = GRID
    if name in ("i0", "i1", "modified_bessel_i0", "modified_bessel_i1"):
        x = x[np.abs(x) < 709]                 # (past 709.78 PyTorch's exp(x) overflows: inf, as ours)
    if name == "airy_ai":
        x = x[np.abs(x) < 103]
    if "_k" in name:               # (mpmath's K is slow between 3 and 40: every third point there)
        x = np.concatenate([x[(x > 0) & (x < 3)], x[x >= 3][::3]])
    err = _worst_ulps(name, x)
    assert err <= ULP_BOUNDS[name], err


def test_fits_are_reproducible():
    """Every Chebyshev fit made again with mpmath (40 digits, 64 nodes, cut below 1e-18 of the largest)."""
    mpmath.mp.dps = 40
    mp, pi = mpmath, mpmath.pi

    def cheb(f, n=64):
        nodes = [mp.cos(pi * (k + mp.mpf(1) / 2) / n) for k in range(n)]
        vals = [f(t) for t in nodes]
        cs = [2 * mp.fsum(v * mp.cos(pi * j * (k + mp.mpf(1) / 2) / n) for k, v in enumerate(vals)) / n
              for j in range(n)]
        cs[0] /= 2
        big = max(abs(c) for c in cs)
        last = max(i for i, c in enumerate(cs) if abs(c) > 1e-18 * big)
        return [float(c) for c in cs[:last + 1]]

    def pq(nu, x):                 # Hankel's P and Q from J and Y
        th = x - (2 * nu + 1) * pi / 4
        j, y, s = mp.besselj(nu, x), mp.bessely(nu, x), mp.sqrt(pi * x / 2)
        return s * (j * mp.cos(th) + y * mp.sin(th)), s * (y * mp.cos(th) - j * mp.sin(th))

    zeta = lambda x: mp.mpf(2) / 3 * x ** mp.mpf(1.5)                       # noqa: E731
    za = zeta(mp.mpf(4))

    def airy_fg(x):                # the modulus form's F and G from Ai(-x) and Bi(-x)
        th, a, b, k = zeta(x) + pi / 4, mp.airyai(-x), mp.airybi(-x), mp.sqrt(pi) * x ** mp.mpf(0.25)
        return k * (a * mp.sin(th) + b * mp.cos(th)), k * (b * mp.sin(th) - a * mp.cos(th))

    z_small = lambda t: mp.sqrt(25 * (t + 1) / 2)            # noqa: E731  x with x^2 in [0, 25]
    x_hankel = lambda t: 5 / mp.sqrt((t + 1) / 2)            # noqa: E731  25 / x^2 in (0, 1]
    x_k = lambda t: 4 / (t + 1)                              # noqa: E731  2 / x in (0, 1]
    x_airy = lambda t: (3 * za / (t + 1)) ** (mp.mpf(2) / 3)  # noqa: E731  1 / zeta in (0, 1 / zeta(4)]
    fits = {
        "K0_TAIL": lambda t: mp.sqrt(x_k(t)) * mp.exp(x_k(t)) * mp.besselk(0, x_k(t)),
        "K1_TAIL": lambda t: mp.sqrt(x_k(t)) * mp.exp(x_k(t)) * mp.besselk(1, x_k(t)),
        "J0_SMALL": lambda t: mp.besselj(0, z_small(t)),
        "J1_SMALL": lambda t: mp.besselj(1, z_small(t)) / z_small(t),
        "Y0_SMALL": lambda t: (lambda x: mp.bessely(0, x) - 2 / pi * mp.log(x / 2) * mp.besselj(0, x))(z_small(t)),
        "Y1_SMALL": lambda t: (lambda x: (mp.bessely(1, x) + 2 / (pi * x) - 2 / pi * mp.log(x / 2)
                                          * mp.besselj(1, x)) / x)(z_small(t)),
        "P0": lambda t: pq(0, x_hankel(t))[0], "Q0": lambda t: pq(0, x_hankel(t))[1] * x_hankel(t),
        "P1": lambda t: pq(1, x_hankel(t))[0], "Q1": lambda t: pq(1, x_hankel(t))[1] * x_hankel(t),
        "AIRY_NEGMID": lambda t: mp.airyai(-2 * (t + 1)),
        "AIRY_POSMID": lambda t: (lambda w: mp.airyai(w * w) * mp.exp(2 * w ** 3 / 3))(t + 1),
        "AIRY_POS": lambda t: (lambda x: 2 * mp.sqrt(pi) * x ** mp.mpf(0.25) * mp.exp(zeta(x))
                               * mp.airyai(x))(x_airy(t)),
        "AIRY_NEG_F": lambda t: airy_fg(x_airy(t))[0],
        "AIRY_NEG_G": lambda t: (lambda x: airy_fg(x)[1] * zeta(x))(x_airy(t)),
    }
    assert set(fits) == set(B.FITS)
    for name, f in fits.items():
        made, ours = cheb(f), B.FITS[name]
        assert len(made) == len(ours), name
        np.testing.assert_allclose(ours, made, rtol=1e-13, atol=1e-20, err_msg=name)


# ---- against PyTorch ---------------------------------------------------------------------------------

SPECIAL_VALUES = np.array([0.0, -0.0, 1e-310, -1e-310, 1e-300, -1.0, -2.5, 0.5, 2.0, 5.0, 20.0, 30.0, -30.0, 88.5,
                           88.8, 103.8, 103.95, 709.5, 710.0, 713.0, 715.0, 1e10, -1e10, 1e30, -1e30, 1e300,
                           -1e300, np.inf, -np.inf, np.nan])


@pytest.mark.parametrize("name", ALL)
def test_special_values_as_pytorch(torch, device, name):
    for dt in ("float64", "float32"):
        a = SPECIAL_VALUES.astype(dt)
        ours = to_numpy(getattr(ag.special, name)(ag.tensor(a, device=device)))
        ref = getattr(torch.special, name)(torch.tensor(a)).numpy()
        assert ours.dtype == ref.dtype
        assert np.array_equal(np.isnan(ours), np.isnan(ref)), (dt, a[np.isnan(ours) != np.isnan(ref)])
        assert np.array_equal(np.isinf(ours), np.isinf(ref)), (dt, a[np.isinf(ours) != np.isinf(ref)])
        assert np.array_equal(np.signbit(ours[ours == 0]), np.signbit(ref[ours == 0])) or name == "bessel_j0"
        finite = np.isfinite(ref) & (np.abs(a) < 1e9)  # (at 1e10 and beyond PyTorch's x - pi/4 is rounded)
        tol = 1e-12 if dt == "float64" else 2e-6
        atol = TORCH_ABS_ERR.get(name, 0) + (1e-300 if dt == "float64" else 2e-6)
        np.testing.assert_allclose(ours[finite], ref[finite], rtol=tol, atol=atol, err_msg=dt)


DENSE = np.concatenate([np.linspace(-40, 40, 4001), 10.0 ** np.linspace(-8, 2.5, 301)])


@pytest.mark.parametrize("name", ALL)
def test_dense_grid_as_pytorch(torch, name):
    for dt, rtol, atol in (("float64", 1e-12, 1e-300), ("float32", 3e-6, 1e-30)):
        a = DENSE.astype(dt)
        ours = getattr(ag.special, name)(ag.tensor(a)).numpy().astype(float)
        ref = getattr(torch.special, name)(torch.tensor(a)).numpy().astype(float)
        extra = TORCH_ABS_ERR.get(name, 0.0)
        if dt == "float32" and (name.startswith("bessel_") or name == "airy_ai"):
            extra = 4e-6           # (PyTorch's float kernel: float32 phases and cancellation near the zeros)
        np.testing.assert_allclose(ours, ref, rtol=rtol, atol=atol + extra, equal_nan=True, err_msg=dt)


def test_pytorch_float64_is_the_less_accurate(torch):
    """The divergence kept: where our J/Y/Ai differ from PyTorch's by more than rounding, ours is
    mpmath's value (to 1e-14) and PyTorch's is not."""
    x = np.array([5.001, 5.1, 5.2, -5.1, -2.091, -2.2])
    for name in ("bessel_j0", "bessel_j1", "bessel_y1", "airy_ai"):
        xs = x[x > 0] if name == "bessel_y1" else x
        ref = np.array([float(_mp(name)(mpmath.mpf(float(v)))) for v in xs])
        ours = ag.special.__dict__[name](ag.tensor(xs)).numpy()
        theirs = getattr(torch.special, name)(torch.tensor(xs)).numpy()
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-14)
        assert np.max(np.abs(theirs - ref)) > 1e-8, name


# ---- dtypes, shapes, in place --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_dtypes_and_shapes(torch, device, name):
    f_ours, f_torch = getattr(ag.special, name), getattr(torch.special, name)
    for a in (np.array([0, 1, 3, -2]), np.array([True, False]), np.zeros((0, 3)), np.array(2.5),
              np.array([[0.5, 7.0]], dtype=np.float32)):
        o, r = f_ours(ag.tensor(a, device=device)), f_torch(torch.tensor(a))
        assert str(o.dtype).split(".")[-1] == str(r.dtype).split(".")[-1] and tuple(o.shape) == tuple(r.shape)
        np.testing.assert_allclose(to_numpy(o), r.numpy(), rtol=2e-6, atol=1e-6, equal_nan=True)
    h = np.array([0.5, 2.0, -1.5], dtype=np.float16)
    if name in DIFFERENTIABLE:
        x, xt = ag.tensor(h, device=device, requires_grad=True), torch.tensor(h, requires_grad=True)
        o, r = f_ours(x), f_torch(xt)
        assert o.dtype is ag.float16
        np.testing.assert_allclose(to_numpy(o).astype(float), r.detach().numpy().astype(float), rtol=2e-3)
        if name in ("i1", "i1e"):     # (PyTorch's i1_backward and i1e_backward have no Half kernel)
            with pytest.raises(NotImplementedError):
                r.sum().backward()
            with pytest.raises(NotImplementedError, match=f"{name}_backward"):
                o.sum().backward()
        else:
            r.sum().backward()
            o.sum().backward()
            np.testing.assert_allclose(to_numpy(x.grad).astype(float), xt.grad.numpy().astype(float), rtol=2e-3)
    else:       # PyTorch's CPU kernels have no Half: the same NotImplementedError
        with pytest.raises(NotImplementedError):
            f_torch(torch.tensor(h))
        x = ag.tensor(h, device=device)
        with pytest.raises(NotImplementedError, match=name):
            f_ours(x)


def test_float32_overflow_as_pytorch(torch):
    """PyTorch's float kernels of i0 and i1 take exp(|x|) in float: inf from 88.72 on, where I0 is finite."""
    a = np.array([88.0, 88.72, 88.7229, 88.8, -89.0, 100.0], dtype=np.float32)
    for name in ("i0", "i1", "modified_bessel_i0", "modified_bessel_i1"):
        ours = getattr(ag.special, name)(ag.tensor(a)).numpy()
        ref = getattr(torch.special, name)(torch.tensor(a)).numpy()
        np.testing.assert_allclose(ours, ref, rtol=2e-6)


def test_in_place_and_method(torch, device):
    x, y = ag.tensor([0.5, -3.0, 25.0], device=device), torch.tensor([0.5, -3.0, 25.0])
    assert x.i0_() is x and x._version == 1
    y.i0_()
    np.testing.assert_allclose(to_numpy(x), y.numpy(), rtol=1e-6)
    z = ag.tensor([1, 2], device=device)
    with pytest.raises(RuntimeError):
        torch.tensor([1, 2]).i0_()
    with pytest.raises(RuntimeError, match="i0_"):
        z.i0_()
    assert z.tolist() == [1, 2] and z._version == 0
    assert not hasattr(ag.Tensor, "i0e") and not hasattr(ag, "bessel_j0")      # (as torch: special only)


def test_third_order(torch, device):
    """i0 -> i1 -> (i0 - i1 / x) -> ...: gradients of gradients of gradients, for each differentiable op."""
    for name in DIFFERENTIABLE:
        grads = []
        for lib, dev in ((ag, device), (torch, "cpu")):
            x = lib.tensor([0.7, -2.3, 21.5], dtype=lib.float64, requires_grad=True, device=dev)
            g1, = lib.autograd.grad(getattr(lib.special, name)(x).sum(), x, create_graph=True)
            g2, = lib.autograd.grad(g1.sum(), x, create_graph=True)
            g3, = lib.autograd.grad(g2.sum(), x)
            grads.append([to_numpy(g) for g in (g1, g2, g3)])
        for a, b in zip(*grads):
            np.testing.assert_allclose(a, b, rtol=1e-8, err_msg=name)


@pytest.mark.parametrize("name", NO_DERIVATIVE)
def test_no_derivative_as_pytorch(torch, device, name):
    """PyTorch defines no derivative: the output never requires grad, backward through it alone raises
    (RuntimeError), and next to a differentiable path it contributes nothing."""
    results = []
    for lib, dev in ((ag, device), (torch, "cpu")):
        x = lib.tensor([0.5, 1.5, 3.0], dtype=lib.float64, requires_grad=True, device=dev)
        y = getattr(lib.special, name)(x)
        assert not y.requires_grad and y.grad_fn is None
        with pytest.raises(RuntimeError, match="does not require grad"):
            y.sum().backward()
        (y * x).sum().backward()
        results.append(to_numpy(x.grad))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ALL)
def test_bad_input(torch, name):
    with pytest.raises(TypeError):
        getattr(torch.special, name)([1.0, 2.0])
    with pytest.raises(TypeError, match=name):
        getattr(ag.special, name)([1.0, 2.0])
    with pytest.raises(TypeError, match="i0"):
        ag.i0(1.5)
