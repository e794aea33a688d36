"""ag.distributions against torch.distributions (PyTorch CPU as the oracle).

Deterministic parts (log_prob, cdf, icdf, entropy, moments, KL) are compared value
for value with their gradients (float64 tight, float32 loose), on every device.
Draws cannot match torch's, so samples are tested by shape, dtype, device and
statistics (a seeded large sample against torch's cdf or moments, bounds justified
where they are set), and rsample's pathwise gradient against its analytic form."""
import math
import warnings

import numpy as np
import pytest

import autograd_gpu as ag
from dist_oracle import check_kl_against_torch, grads_match, check_kl_gradcheck, D, KS_BOUND, METHODS, N, PROPERTIES, TOL, TRIGAMMA_TOL, covariance, _evaluate, _makers, _t
from oracle import to_numpy

# (the families whose gradients go through torch's trigamma: TRIGAMMA_TOL)
TRIGAMMA_WORDS = ("gamma", "chi2", "beta", "dirichlet", "studentT")


def grad_tol(case_id, dtype):
    return TRIGAMMA_TOL if dtype == "float64" and any(w in case_id for w in TRIGAMMA_WORDS) else TOL[dtype]


RNG = np.random.default_rng(0)


def U(shape, low, high):
    return RNG.uniform(low, high, shape)


def ints(shape, low, high):
    return RNG.integers(low, high, shape).astype(np.float64)


def one_hot(shape, k):
    return np.eye(k)[RNG.integers(0, k, shape)]


def tril_factor(L, A):
    """A lower-triangular matrix with a positive diagonal, from A (entries in (0.5, 1.5))."""
    return A.tril()


# (id, make(lib, *params), params, value for log_prob/cdf, value requires grad)
CASES = [
    ("normal", lambda L, m, s: D(L).Normal(m, s), [U(3, -2, 2), U(3, 0.5, 2)], U((2, 3), -3, 3), True),
    ("normal number scale", lambda L, m: D(L).Normal(m, 1.5), [U(3, -2, 2)], U(3, -3, 3), True),
    ("uniform", lambda L, a, b: D(L).Uniform(a, b), [U(3, -2, -1), U(3, 1, 2)], U((2, 3), -0.9, 0.9), True),
    ("exponential", lambda L, r: D(L).Exponential(r), [U(3, 0.5, 2)], U((2, 3), 0.1, 3), True),
    ("laplace", lambda L, m, s: D(L).Laplace(m, s), [U(3, -2, 2), U(3, 0.5, 2)], U((2, 3), -3, 3), True),
    ("cauchy", lambda L, m, s: D(L).Cauchy(m, s), [U(3, -2, 2), U(3, 0.5, 2)], U((2, 3), -3, 3), True),
    ("gumbel", lambda L, m, s: D(L).Gumbel(m, s), [U(3, -2, 2), U(3, 0.5, 2)], U((2, 3), -2, 3), True),
    ("lognormal", lambda L, m, s: D(L).LogNormal(m, s), [U(3, -1, 1), U(3, 0.5, 1.5)], U((2, 3), 0.1, 3), True),
    ("bernoulli probs", lambda L, p: D(L).Bernoulli(p), [U(3, 0.1, 0.9)], ints((2, 3), 0, 2), True),
    ("bernoulli logits", lambda L, z: D(L).Bernoulli(logits=z), [U(3, -2, 2)], ints((2, 3), 0, 2), False),
    ("categorical probs", lambda L, p: D(L).Categorical(p), [U((2, 4), 0.1, 1)], ints((3, 2), 0, 4), False),
    ("categorical logits", lambda L, z: D(L).Categorical(logits=z), [U((2, 4), -2, 2)], ints((3, 2), 0, 4),
     False),
    ("onehot probs", lambda L, p: D(L).OneHotCategorical(p), [U((2, 4), 0.1, 1)], one_hot((3, 2), 4), False),
    ("onehot logits", lambda L, z: D(L).OneHotCategorical(logits=z), [U((2, 4), -2, 2)], one_hot(2, 4), False),
    ("poisson", lambda L, r: D(L).Poisson(r), [U(3, 0.5, 5)], ints((2, 3), 0, 8), False),
    ("binomial probs", lambda L, p: D(L).Binomial(10, p), [U(3, 0.1, 0.9)], ints((2, 3), 0, 11), False),
    ("binomial logits", lambda L, z: D(L).Binomial(6, logits=z), [U(3, -2, 2)], ints((2, 3), 0, 7), False),
    ("geometric probs", lambda L, p: D(L).Geometric(p), [U(3, 0.1, 0.9)], ints((2, 3), 0, 6), False),
    ("geometric logits", lambda L, z: D(L).Geometric(logits=z), [U(3, -2, 2)], ints((2, 3), 0, 6), False),
    ("independent normal", lambda L, m, s: D(L).Independent(D(L).Normal(m, s), 1),
     [U((2, 3), -2, 2), U((2, 3), 0.5, 2)], U((4, 2, 3), -3, 3), True),
    ("mvn scale_tril", lambda L, m, A: D(L).MultivariateNormal(m, scale_tril=tril_factor(L, A)),
     [U((2, 3), -1, 1), U((3, 3), 0.5, 1.5)], U((4, 2, 3), -2, 2), True),
    ("mvn covariance", lambda L, m, A: D(L).MultivariateNormal(m, covariance_matrix=covariance(L, A)),
     [U(3, -1, 1), U((2, 3, 3), -1, 1)], U((4, 2, 3), -2, 2), True),
    ("mvn precision", lambda L, m, A: D(L).MultivariateNormal(m, precision_matrix=covariance(L, A)),
     [U(3, -1, 1), U((3, 3), -1, 1)], U((2, 3), -2, 2), True),
    ("gamma", lambda L, c, r: D(L).Gamma(c, r), [U(3, 0.5, 3), U(3, 0.5, 2)], U((2, 3), 0.1, 3), True),
    ("chi2", lambda L, k: D(L).Chi2(k), [U(3, 1, 5)], U((2, 3), 0.1, 5), True),
    ("beta", lambda L, a, b: D(L).Beta(a, b), [U(3, 0.5, 3), U(3, 0.5, 3)], U((2, 3), 0.05, 0.95), True),
    ("dirichlet", lambda L, c: D(L).Dirichlet(c), [U((2, 3), 0.5, 3)], U((4, 2, 3), 0.1, 1), True),
    ("studentT", lambda L, k, m, s: D(L).StudentT(k, m, s), [U(3, 2.5, 6), U(3, -1, 1), U(3, 0.5, 2)],
     U((2, 3), -3, 3), True),
]
CASES[-2][3][...] /= CASES[-2][3].sum(-1, keepdims=True)     # (Dirichlet values on the simplex)
NO_TORCH_GRAD = {("gamma", "cdf"), ("chi2", "cdf")}    # (torch has no igamma gradient in the concentration)


def _build(torch, case, dtype, device):
    _, make, params, value, value_grad = case
    ours = [ag.tensor(p, dtype=dtype, device=device, requires_grad=True) for p in params]
    theirs = [torch.tensor(p, dtype=getattr(torch, dtype), requires_grad=True) for p in params]
    vo = ag.tensor(value, dtype=dtype, device=device, requires_grad=value_grad)
    vt = torch.tensor(value, dtype=getattr(torch, dtype), requires_grad=value_grad)
    return make(ag, *ours), make(torch, *theirs), ours + [vo], theirs + [vt]


def _results(torch, od, td, vo, vt, qo, qt):
    """Every method and property on both sides: torch's value, or the exception type it raises
    (ours must raise the same)."""
    pairs = []
    for name in METHODS + PROPERTIES:
        try:
            expected = _evaluate(td, name, vt, qt)
        except (NotImplementedError, ValueError) as e:
            with pytest.raises(type(e)):
                _evaluate(od, name, vo, qo)
            continue
        pairs.append((name, _evaluate(od, name, vo, qo), expected))
    return pairs


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_against_torch(torch, case, dtype, device):
    od, td, ours, theirs = _build(torch, case, dtype, device)
    assert od.batch_shape == tuple(td.batch_shape) and od.event_shape == tuple(td.event_shape)
    assert od.has_rsample == td.has_rsample and od.has_enumerate_support == td.has_enumerate_support
    q = U(od.batch_shape, 0.05, 0.95)
    qo, qt = ag.tensor(q, dtype=dtype, device=device), torch.tensor(q, dtype=getattr(torch, dtype))
    terms = []
    for name, o, t in _results(torch, od, td, ours[-1], theirs[-1], qo, qt):
        a, b = to_numpy(o), t.detach().numpy()
        assert a.shape == b.shape, f"{name}: {a.shape} != {b.shape}"
        assert o.dtype == ag.tensor(b).dtype, f"{name}: dtype {o.dtype} vs torch {b.dtype}"
        assert o.device == ag.device(device)
        np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), equal_nan=True, err_msg=name,
                                   **TOL[dtype])
        if (case[0], name) not in NO_TORCH_GRAD:
            terms.append((o, t))
    grads_match(torch, terms, ours, theirs, dtype, RNG, tol=grad_tol(case[0], dtype))


GRADCHECK = ["normal", "exponential", "laplace", "gumbel", "lognormal", "bernoulli logits", "categorical logits",
             "binomial probs", "geometric probs", "mvn scale_tril", "mvn covariance", "gamma", "beta", "dirichlet",
             "studentT"]


@pytest.mark.parametrize("name", GRADCHECK)
def test_log_prob_and_entropy_gradcheck(name, device):
    """Finite differences, second order too, for log_prob (of the value and the parameters) and entropy."""
    _, make, params, value, value_grad = next(c for c in CASES if c[0] == name)
    inputs = [ag.tensor(p, dtype=ag.float64, device=device, requires_grad=True) for p in params]
    value = value[0] if value.ndim >= 2 else value        # (one batch of values: finite differences are slow)
    v = ag.tensor(value, dtype=ag.float64, device=device, requires_grad=value_grad)

    def f(*xs):
        dist = make(ag, *xs[:len(params)])
        return dist.log_prob(xs[-1]).sum() + dist.entropy().sum()
    ag.distributions.Distribution.set_default_validate_args(False)   # (steps may leave the simplex)
    try:
        assert ag.autograd.gradcheck(f, inputs + [v], eps=1e-6, atol=1e-5, rtol=1e-3)
        assert ag.autograd.gradgradcheck(f, inputs + [v], eps=1e-6, atol=1e-4, rtol=1e-3)
    finally:
        ag.distributions.Distribution.set_default_validate_args(True)


# ---- samples --------------------------------------------------------------------------------

# the Kolmogorov-Smirnov statistic of N draws exceeds 1.95 / sqrt(N) with probability 0.001
# (the seed is fixed, so the test is deterministic; the bound says it is not a tuned pass)

CONTINUOUS = [
    ("normal", lambda L, t: D(L).Normal(t([0.5, -1.0]), t([1.0, 2.0]))),
    ("uniform", lambda L, t: D(L).Uniform(t([0.0, -1.0]), t([1.0, 3.0]))),
    ("exponential", lambda L, t: D(L).Exponential(t([0.5, 3.0]))),
    ("laplace", lambda L, t: D(L).Laplace(t([0.5, -1.0]), t([1.0, 0.3]))),
    ("cauchy", lambda L, t: D(L).Cauchy(t([0.5, -1.0]), t([1.0, 0.3]))),
    ("gumbel", lambda L, t: D(L).Gumbel(t([0.5, -1.0]), t([1.0, 0.3]))),
    ("lognormal", lambda L, t: D(L).LogNormal(t([0.5, -1.0]), t([1.0, 0.3]))),
    ("gamma", lambda L, t: D(L).Gamma(t([0.3, 4.0]), t([1.0, 2.5]))),
    ("chi2", lambda L, t: D(L).Chi2(t([1.0, 7.0]))),
]


@pytest.mark.parametrize("case", CONTINUOUS, ids=[c[0] for c in CONTINUOUS])
def test_continuous_samples_follow_torch_cdf(torch, case, device):
    ag.manual_seed(7)
    to, tt = _makers(torch, device)
    od, td = case[1](ag, to), case[1](torch, tt)
    draws = od.sample((N,))
    assert draws.shape == (N, 2) and draws.dtype == ag.float64 and draws.device == ag.device(device)
    assert not draws.requires_grad
    x = np.sort(to_numpy(draws), axis=0)
    cdf = td.cdf(torch.tensor(x)).numpy()
    ecdf = np.arange(1, N + 1)[:, None] / N
    ks = np.maximum(np.abs(ecdf - cdf), np.abs(ecdf - 1 / N - cdf)).max()
    assert ks < KS_BOUND, ks


TWO_SAMPLE = [
    ("beta", lambda L, t: D(L).Beta(t([0.4, 2.0]), t([0.7, 5.0]))),
    ("studentT", lambda L, t: D(L).StudentT(t([1.5, 8.0]), t([0.5, -1.0]), t([2.0, 0.5]))),
]


@pytest.mark.parametrize("case", TWO_SAMPLE, ids=[c[0] for c in TWO_SAMPLE])
def test_samples_match_torch_samples(torch, case, device):
    """Beta and StudentT have no cdf in torch: a two-sample Kolmogorov-Smirnov test against N of
    torch's draws (the statistic exceeds 1.95 * sqrt(2 / N) with probability 0.001)."""
    ag.manual_seed(9)
    torch.manual_seed(9)
    to, tt = _makers(torch, device)
    ours, theirs = to_numpy(case[1](ag, to).sample((N,))), case[1](torch, tt).sample((N,)).numpy()
    for j in range(2):
        grid = np.sort(np.concatenate([ours[:, j], theirs[:, j]]))
        f_ours = np.searchsorted(np.sort(ours[:, j]), grid, side="right") / N
        f_theirs = np.searchsorted(np.sort(theirs[:, j]), grid, side="right") / N
        assert np.abs(f_ours - f_theirs).max() < 1.95 * math.sqrt(2 / N)


DISCRETE = [
    ("bernoulli", lambda L, t: D(L).Bernoulli(t([0.2, 0.7]))),
    ("categorical", lambda L, t: D(L).Categorical(t([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25]]))),
    ("onehot", lambda L, t: D(L).OneHotCategorical(t([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25]]))),
    ("poisson", lambda L, t: D(L).Poisson(t([0.7, 4.0, 25.0]))),
    ("binomial", lambda L, t: D(L).Binomial(t([3.0, 100.0, 0.0]), t([0.3, 0.6, 0.5]))),
    ("geometric", lambda L, t: D(L).Geometric(t([0.2, 0.9]))),
    ("dirichlet", lambda L, t: D(L).Dirichlet(t([[0.3, 1.0, 2.0], [5.0, 0.5, 0.5]]))),
]


@pytest.mark.parametrize("case", DISCRETE, ids=[c[0] for c in DISCRETE])
def test_discrete_samples_moments_and_support(torch, case, device):
    """The sample mean within 6 standard errors of torch's mean (sd from torch's variance;
    the chance of a false failure is under 2e-9 per element), values in the support."""
    ag.manual_seed(11)
    to, tt = _makers(torch, device)
    od, td = case[1](ag, to), case[1](torch, tt)
    draws = od.sample((N,))
    expected = td.sample((2,))
    assert draws.shape == (N,) + tuple(expected.shape[1:]) and draws.device == ag.device(device)
    assert draws.dtype == ag.tensor(expected.numpy()).dtype
    assert bool(od.support.check(draws).all())
    x = to_numpy(draws).astype(np.float64)
    mean = td.mean.numpy() if case[0] != "categorical" else (td.probs * torch.arange(3.0)).sum(-1).numpy()
    var = td.variance.numpy() if case[0] != "categorical" else \
        (td.probs * torch.arange(3.0) ** 2).sum(-1).numpy() - mean ** 2
    se = np.sqrt(var / N)
    assert np.all(np.abs(x.mean(0) - mean) <= 6 * se + 1e-12), (x.mean(0), mean)


def test_binomial_large_counts(torch, device):
    """Counts above 64 go through the order-statistic recursion: the mean within 6 standard errors
    and the variance within 6 of its standard errors (relative sd sqrt(2 / N) for near-normal counts,
    + 0.02 for the skewed n = 65, p = 0.03 column, whose excess kurtosis 0.5 widens it)."""
    ag.manual_seed(19)
    n, p = [1e6, 1000.0, 70.0, 65.0], [0.2, 0.999, 0.5, 0.03]
    x = to_numpy(ag.distributions.Binomial(ag.tensor(n, device=device), ag.tensor(p, device=device)).sample((N,)))
    mean, var = np.multiply(n, p), np.multiply(n, p) * (1 - np.array(p))
    assert np.all(x == np.round(x)) and np.all((x >= 0) & (x <= n))
    assert np.all(np.abs(x.mean(0) - mean) <= 6 * np.sqrt(var / N)), (x.mean(0), mean)
    assert np.all(np.abs(x.var(0) / var - 1) <= 6 * math.sqrt(2 / N) + 0.02), x.var(0) / var


@pytest.mark.parametrize("case", CONTINUOUS + DISCRETE + [
    ("mvn", lambda L, t: D(L).MultivariateNormal(t([[0.0, 1.0], [2.0, 3.0]]), t([[1.0, 0.3], [0.3, 2.0]]))),
    ("independent", lambda L, t: D(L).Independent(D(L).Normal(t([[0.0, 1.0]]), t([2.0, 3.0])), 1)),
    ("beta", lambda L, t: D(L).Beta(t([0.5, 2.0]), t([1.0, 3.0]))),
    ("studentT", lambda L, t: D(L).StudentT(t([3.0, 5.0]), 0.5, t([1.0, 2.0])))],
    ids=lambda c: c[0])
@pytest.mark.parametrize("sample_shape", [(), (4,), (2, 3), (0,)])
def test_sample_shapes_dtypes_and_seeds(torch, case, sample_shape, device):
    to, tt = _makers(torch, device, "float32")
    od, td = case[1](ag, to), case[1](torch, lambda v: torch.tensor(v))
    ag.manual_seed(3)
    a = od.sample(sample_shape)
    ag.manual_seed(3)
    b = od.sample(sample_shape)
    t = td.sample(sample_shape if 0 not in sample_shape else (1,))    # (torch's Categorical refuses 0 draws)
    assert a.shape == tuple(sample_shape) + tuple(t.shape[1 if 0 in sample_shape else len(sample_shape):])
    assert a.device == ag.device(device)
    assert a.dtype == ag.tensor(t.numpy()).dtype
    np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    if td.has_rsample:
        r = od.rsample(sample_shape)
        assert r.shape == a.shape and r.dtype == ag.float32


def _pathwise(name, p, x):
    """d sum(x) / d parameter, analytically, from the draws x (x as a function of the parameters at fixed noise)."""
    if name == "uniform":
        u = (x - p["low"]) / (p["high"] - p["low"])
        return {"low": 1 - u, "high": u}
    if name == "exponential":
        return {"rate": -x / p["rate"]}
    if name == "lognormal":
        return {"loc": x, "scale": x * (np.log(x) - p["loc"]) / p["scale"]}
    return {"loc": np.ones_like(x), "scale": (x - p["loc"]) / p["scale"]}


LOC_SCALE = ("loc", "scale"), ([0.5, -1.0], [1.0, 0.3])
PATHWISE = [("normal", ("loc", "scale"), ([0.5, -1.0], [1.0, 2.0])),
            ("uniform", ("low", "high"), ([0.0, -1.0], [1.0, 3.0])),
            ("exponential", ("rate",), ([0.5, 3.0],)),
            ("laplace",) + LOC_SCALE, ("cauchy",) + LOC_SCALE, ("gumbel",) + LOC_SCALE, ("lognormal",) + LOC_SCALE]


@pytest.mark.parametrize("name,names,values", PATHWISE, ids=[c[0] for c in PATHWISE])
def test_rsample_pathwise_gradient(name, names, values, device):
    ag.manual_seed(5)
    cls = {"normal": "Normal", "uniform": "Uniform", "exponential": "Exponential", "laplace": "Laplace",
           "cauchy": "Cauchy", "gumbel": "Gumbel", "lognormal": "LogNormal"}[name]
    params = [ag.tensor(v, dtype=ag.float64, device=device, requires_grad=True) for v in values]
    x = getattr(ag.distributions, cls)(*params).rsample((50,))
    assert x.requires_grad
    grads = ag.autograd.grad(x.sum(), params)
    xs = to_numpy(x)
    expected = _pathwise(name, {k: np.array(v) for k, v in zip(names, values)}, xs)
    for k, g in zip(names, grads):
        np.testing.assert_allclose(to_numpy(g), expected[k].sum(0), rtol=1e-9, atol=1e-9, err_msg=k)


def test_mvn_rsample_pathwise_gradient(device):
    """x = loc + L eps: d sum(x) / d loc = number of draws, d sum(x) / d L[i, j] = sum of eps_j (j <= i)."""
    ag.manual_seed(5)
    loc = ag.tensor([0.5, -1.0, 2.0], dtype=ag.float64, device=device, requires_grad=True)
    L0 = np.array([[1.0, 0, 0], [0.3, 2.0, 0], [-0.5, 0.2, 0.7]])
    L = ag.tensor(L0, dtype=ag.float64, device=device, requires_grad=True)
    x = ag.distributions.MultivariateNormal(loc, scale_tril=L).rsample((40,))
    g_loc, g_L = ag.autograd.grad(x.sum(), [loc, L])
    eps = np.linalg.solve(L0, (to_numpy(x) - [0.5, -1.0, 2.0]).T).T
    np.testing.assert_allclose(to_numpy(g_loc), np.full(3, 40.0))
    np.testing.assert_allclose(to_numpy(g_L), np.tile(eps.sum(0), (3, 1)), rtol=1e-9, atol=1e-9)


def test_gamma_rsample_gradient_is_the_implicit_derivative(device):
    """x = F^-1(u; a) / rate: dx/da = -(dF/da) / f(x) (F, f the standard gamma cdf and density, by mpmath),
    dx/drate = -x / rate."""
    mpmath = pytest.importorskip("mpmath", reason="mpmath gives the gamma cdf's derivative in a")
    ag.manual_seed(13)
    a0, r0 = [0.4, 2.5, 30.0], [1.0, 2.0, 0.5]
    a = ag.tensor(a0, dtype=ag.float64, device=device, requires_grad=True)
    r = ag.tensor(r0, dtype=ag.float64, device=device, requires_grad=True)
    x = ag.distributions.Gamma(a, r).rsample((4,))
    g_a, g_r = ag.autograd.grad(x.sum(), [a, r])
    xs = to_numpy(x)
    expected = np.zeros(3)
    for i in range(4):
        for j in range(3):
            s = mpmath.mpf(xs[i, j] * r0[j])              # the standard gamma draw
            dF = mpmath.diff(lambda aa: mpmath.gammainc(aa, 0, s, regularized=True), a0[j])
            density = mpmath.exp((a0[j] - 1) * mpmath.log(s) - s - mpmath.loggamma(a0[j]))
            expected[j] += float(-dF / density) / r0[j]
    np.testing.assert_allclose(to_numpy(g_a), expected, rtol=1e-6)
    np.testing.assert_allclose(to_numpy(g_r), (-xs / np.array(r0)).sum(0), rtol=1e-12)


UNBIASED = [
    # (name, make(params), params, the exact derivative of E[h(x)] in each parameter, h)
    ("beta", lambda a, b: ag.distributions.Beta(a, b), [1.5, 0.7],
     lambda a, b: [b / (a + b) ** 2, -a / (a + b) ** 2], lambda x: x),
    ("dirichlet", lambda c: ag.distributions.Dirichlet(c), [[0.5, 2.0, 1.5]],
     lambda c: [np.array([4 - 0.5, -0.5, -0.5]) / 16], lambda x: x[..., 0]),
    ("studentT", lambda k, m, s: ag.distributions.StudentT(k, m, s), [9.0, 0.5, 1.5],
     lambda k, m, s: [-2 * s * s / (k - 2) ** 2, 2 * m, 2 * s * k / (k - 2)], lambda x: x * x),
]


@pytest.mark.parametrize("name,make,values,derivative,h", UNBIASED, ids=[c[0] for c in UNBIASED])
def test_rsample_gradient_is_unbiased(name, make, values, derivative, h, device):
    """The pathwise gradient's mean over N independent draws (one parameter copy per draw) is
    within 6 standard errors of d E[h(x)] / d parameter."""
    ag.manual_seed(17)
    params = [ag.tensor(np.tile(np.asarray(v, dtype=np.float64), (N,) + (1,) * np.ndim(v)), device=device,
                        requires_grad=True) for v in values]
    grads = ag.autograd.grad(h(make(*params).rsample()).sum(), params)
    for g, want in zip(grads, derivative(*[np.asarray(v, dtype=np.float64) for v in values])):
        per_draw = to_numpy(g)
        mean, se = per_draw.mean(0), per_draw.std(0) / math.sqrt(N)
        assert np.all(np.abs(mean - want) <= 6 * se + 1e-12), (mean, want, se)


def test_sample_passes_no_gradient(device):
    loc = ag.tensor([0.0, 1.0], device=device, requires_grad=True)
    assert not ag.distributions.Normal(loc, 1.0).sample((3,)).requires_grad
    assert ag.distributions.Normal(loc, 1.0).rsample((3,)).requires_grad
    with pytest.raises(NotImplementedError):
        ag.distributions.Poisson(loc.abs()).rsample()


# ---- KL divergence ----------------------------------------------------------------------

def _loc_scale(cls, loc, scale):
    return lambda L, a, b: getattr(D(L), cls)(a * loc, b * scale)


P2 = [U(3, 0.5, 1.5), U(3, 0.5, 1.5)]
KL_CASES = [
    ("normal normal", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Normal(a, b), D(L).Normal(c, d))),
    ("laplace laplace", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Laplace(a, b), D(L).Laplace(c, d))),
    ("cauchy cauchy", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Cauchy(a, b), D(L).Cauchy(c, d))),
    ("gumbel gumbel", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Gumbel(a, b), D(L).Gumbel(c, d))),
    ("lognormal lognormal", lambda L, a, b, c, d: D(L).kl_divergence(D(L).LogNormal(a, b), D(L).LogNormal(c, d))),
    ("exponential exponential", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Exponential(a), D(L).Exponential(d))),
    ("poisson poisson", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Poisson(a), D(L).Poisson(d))),
    ("uniform uniform", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Uniform(-a, b), D(L).Uniform(-a - c, b + d))),
    ("uniform uniform inf", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Uniform(-a, b), D(L).Uniform(-c, d))),
    ("bernoulli bernoulli", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Bernoulli(a / 2), D(L).Bernoulli(d / 2))),
    ("bernoulli logits", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Bernoulli(logits=a - b),
                                                                  D(L).Bernoulli(logits=c - d))),
    ("binomial binomial", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Binomial(5, a / 2), D(L).Binomial(5, d / 2))),
    ("binomial inf", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Binomial(7, a / 2), D(L).Binomial(5, d / 2))),
    ("geometric geometric", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Geometric(a / 2), D(L).Geometric(d / 2))),
    ("categorical", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Categorical(a.outer(b)), D(L).Categorical(
        logits=c.outer(d)))),
    ("onehot", lambda L, a, b, c, d: D(L).kl_divergence(D(L).OneHotCategorical(a.outer(b)),
                                                        D(L).OneHotCategorical(c.outer(d)))),
    ("independent", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Independent(D(L).Normal(a.outer(b), c), 1),
                                                             D(L).Independent(D(L).Normal(d, b), 1))),
    ("mvn mvn", lambda L, a, b, c, d: D(L).kl_divergence(
        D(L).MultivariateNormal(a, scale_tril=(a.outer(b) + 2 * L.eye(3, dtype=a.dtype, device=a.device)).tril()),
        D(L).MultivariateNormal(c, covariance_matrix=d.diag() + 0.1 * a.outer(a)))),
    ("bernoulli poisson", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Bernoulli(a / 2), D(L).Poisson(d))),
    ("exponential gumbel", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Exponential(a), D(L).Gumbel(c, d))),
    ("exponential normal", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Exponential(a), D(L).Normal(c, d))),
    ("gumbel normal", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Gumbel(a, b), D(L).Normal(c, d))),
    ("laplace normal", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Laplace(a, b), D(L).Normal(c, d))),
    ("normal gumbel", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Normal(a, b), D(L).Gumbel(c, d))),
    ("normal laplace", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Normal(a, b), D(L).Laplace(c, d))),
    ("uniform exponential", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Uniform(a - 0.6, a + b),
                                                                     D(L).Exponential(c))),
    ("uniform gumbel", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Uniform(a, a + b), D(L).Gumbel(c, d))),
    ("uniform normal", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Uniform(a, a + b), D(L).Normal(c, d))),
    ("normal uniform inf", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Normal(a, b), D(L).Uniform(c, c + d))),
    ("poisson binomial inf", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Poisson(a), D(L).Binomial(3, d / 2))),
    ("laplace exponential inf", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Laplace(a, b), D(L).Exponential(c))),
    ("gumbel uniform inf", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Gumbel(a, b), D(L).Uniform(c, c + d))),
    ("exponential uniform inf", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Exponential(a),
                                                                         D(L).Uniform(c, c + d))),
    ("gamma gamma", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Gamma(a, b), D(L).Gamma(c, d))),
    ("beta beta", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Beta(a, b), D(L).Beta(c, d))),
    ("dirichlet dirichlet", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Dirichlet(a.outer(b)),
                                                                     D(L).Dirichlet(c.outer(d)))),
    ("exponential gamma", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Exponential(a), D(L).Gamma(c, d))),
    ("gamma exponential", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Gamma(a, b), D(L).Exponential(d))),
    ("gamma gumbel", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Gamma(a, b), D(L).Gumbel(c, d))),
    ("gamma normal", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Gamma(a, b), D(L).Normal(c, d))),
    ("beta exponential", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Beta(a, b), D(L).Exponential(d))),
    ("beta gamma", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Beta(a, b), D(L).Gamma(c, d))),
    ("beta normal", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Beta(a, b), D(L).Normal(c, d))),
    ("beta uniform", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Beta(a, b), D(L).Uniform(-c, 1 + d))),
    ("beta uniform inf", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Beta(a, b), D(L).Uniform(-c, d / 2))),
    ("uniform beta", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Uniform(a / 4, (a + b) / 4), D(L).Beta(c, d))),
    ("uniform beta inf", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Uniform(a - 1, a), D(L).Beta(c, d))),
    ("uniform gamma", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Uniform(a, a + b), D(L).Gamma(c, d))),
    ("normal gamma inf", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Normal(a, b), D(L).Gamma(c, d))),
    ("gamma uniform inf", lambda L, a, b, c, d: D(L).kl_divergence(D(L).Gamma(a, b), D(L).Uniform(c, c + d))),
]
KL_PARAMS = [U(3, 0.5, 1.5) for _ in range(4)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", KL_CASES, ids=[c[0] for c in KL_CASES])
def test_kl_divergence_against_torch(torch, case, dtype, device):
    check_kl_against_torch(torch, case[1], KL_PARAMS, dtype, device, RNG, grad_tol(case[0], dtype))


def test_kl_gradcheck(device):
    check_kl_gradcheck(KL_CASES, ("normal normal", "gumbel gumbel", "mvn mvn", "categorical", "normal laplace"),
                       KL_PARAMS, device)


def test_register_kl_dispatch_and_missing_pairs(torch):
    dist = ag.distributions

    class MyNormal(dist.Normal):
        pass
    calls = []

    @dist.register_kl(MyNormal, dist.Normal)
    def _mine(p, q):
        calls.append(1)
        return p.loc * 0
    out = dist.kl_divergence(MyNormal(ag.tensor(0.0), 1.0), dist.Normal(0.0, 1.0))
    assert calls and float(out) == 0.0
    # a subclass without its own entry falls back to its parent's pair
    assert float(dist.kl_divergence(dist.Normal(0.0, 1.0), MyNormal(ag.tensor(1.0), 1.0))) == 0.5
    # two exponential families without a pair reach the generic (Bregman) one, which refuses them, as torch's
    with pytest.raises(NotImplementedError) as ours:
        dist.kl_divergence(dist.Poisson(1.0), dist.Normal(0.0, 1.0))
    with pytest.raises(NotImplementedError) as theirs:
        torch.distributions.kl_divergence(torch.distributions.Poisson(1.0), torch.distributions.Normal(0.0, 1.0))
    assert str(ours.value) == " ".join(str(theirs.value).split())
    with pytest.raises(NotImplementedError, match="No KL\\(p \\|\\| q\\) is implemented for p type Cauchy"):
        dist.kl_divergence(dist.Cauchy(0.0, 1.0), dist.Normal(0.0, 1.0))
    with pytest.raises(TypeError):
        dist.register_kl(int, dist.Normal)
    with pytest.raises(NotImplementedError):
        dist.kl_divergence(dist.Binomial(3, ag.tensor([0.5])), dist.Binomial(5, ag.tensor([0.5])))
    with pytest.raises(ValueError, match="different event shapes"):
        dist.kl_divergence(dist.MultivariateNormal(ag.zeros(2), ag.eye(2)),
                           dist.MultivariateNormal(ag.zeros(3), ag.eye(3)))


# ---- shapes, expand, enumerate_support, repr, constraints ---------------------------------

EXPAND = [c for c in CASES if c[0] in ("normal", "bernoulli logits", "categorical probs", "onehot probs",
                                       "binomial probs", "independent normal", "mvn scale_tril", "uniform",
                                       "gamma", "chi2", "beta", "dirichlet", "studentT")]


@pytest.mark.parametrize("case", EXPAND, ids=[c[0] for c in EXPAND])
def test_expand_as_torch(torch, case, device):
    od, td, ours, theirs = _build(torch, case, "float64", device)
    eo, et = od.expand((5,) + od.batch_shape), td.expand((5,) + tuple(td.batch_shape))
    assert eo.batch_shape == tuple(et.batch_shape) and eo.event_shape == tuple(et.event_shape)
    assert type(eo) is type(od) and eo._validate_args == od._validate_args
    value = ours[-1].detach()[:1]           # (a leading 1 broadcasts with the new batch dim)
    np.testing.assert_allclose(to_numpy(eo.log_prob(value)), et.log_prob(torch.tensor(to_numpy(value))).detach(),
                               **TOL["float64"])
    assert eo.sample((2,)).shape == tuple(et.sample((2,)).shape)


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in ("bernoulli probs", "categorical logits",
                                                              "onehot probs", "binomial probs")],
                         ids=lambda c: c[0])
@pytest.mark.parametrize("expand", [True, False])
def test_enumerate_support_as_torch(torch, case, expand, device):
    od, td, _, _ = _build(torch, case, "float64", device)
    a, b = od.enumerate_support(expand), td.enumerate_support(expand)
    assert a.shape == tuple(b.shape) and a.dtype == ag.tensor(b.numpy()).dtype
    np.testing.assert_array_equal(to_numpy(a), b.numpy())


def test_independent_and_binomial_refusals(torch):
    dist = ag.distributions
    ind = dist.Independent(dist.Bernoulli(ag.full((2, 3), 0.5)), 1)
    with pytest.raises(NotImplementedError, match="cartesian product"):
        ind.enumerate_support()
    assert not ind.has_enumerate_support and repr(ind.support) == "IndependentConstraint(Boolean(), 1)"
    with pytest.raises(NotImplementedError, match="Inhomogeneous total count"):
        dist.Binomial(ag.tensor([2.0, 3.0]), ag.tensor([0.5, 0.5])).entropy()
    with pytest.raises(NotImplementedError):
        torch.distributions.Binomial(torch.tensor([2.0, 3.0]), torch.tensor([0.5, 0.5])).entropy()


def test_repr_and_constraints_as_torch(torch):
    dist, tdist = ag.distributions, torch.distributions
    assert repr(dist.Normal(0.0, 1.0)) == repr(tdist.Normal(0.0, 1.0)) == "Normal(loc: 0.0, scale: 1.0)"
    assert repr(dist.Normal(ag.zeros(2, 3), 1.0)) == repr(tdist.Normal(torch.zeros(2, 3), 1.0))
    assert repr(dist.Bernoulli(logits=ag.zeros(2))) == repr(tdist.Bernoulli(logits=torch.zeros(2)))
    assert repr(dist.Independent(dist.Normal(ag.zeros(2), 1.0), 1)) == \
        repr(tdist.Independent(tdist.Normal(torch.zeros(2), 1.0), 1))
    for name in ("real", "positive", "nonnegative", "unit_interval", "boolean", "simplex", "nonnegative_integer",
                 "positive_integer", "real_vector", "lower_cholesky", "positive_definite", "one_hot",
                 "lower_triangular", "square", "positive_semidefinite", "corr_cholesky"):
        c, tc = getattr(dist.constraints, name), getattr(tdist.constraints, name)
        assert repr(c) == repr(tc), name
        assert c.is_discrete == tc.is_discrete and c.event_dim == tc.event_dim, name
    assert repr(dist.constraints.interval(0, 2)) == repr(tdist.constraints.interval(0, 2))
    assert repr(dist.constraints.integer_interval(0, 4)) == repr(tdist.constraints.integer_interval(0, 4))
    assert repr(dist.constraints.greater_than(1.5)) == repr(tdist.constraints.greater_than(1.5))
    for make in (lambda c: c.less_than(1.5), lambda c: c.multinomial(3), lambda c: c.cat([c.real]),
                 lambda c: c.stack([c.real]), lambda c: c.MixtureSameFamilyConstraint(c.positive)):
        assert repr(make(dist.constraints)) == repr(make(tdist.constraints))
    assert dist.constraints.is_dependent(dist.Uniform.support)
    assert dist.constraints.is_dependent(dist.Binomial.support)
    with pytest.raises(ValueError, match="dependent constraint"):
        dist.constraints.dependent.check(ag.zeros(1))


CHECKS = [("real", [0.0, math.nan, math.inf]), ("positive", [0.0, 1.0, -1.0]), ("nonnegative", [0.0, -1e-9, 2.0]),
          ("unit_interval", [0.0, 1.0, 1.5]), ("boolean", [0.0, 1.0, 0.5]), ("nonnegative_integer", [0.0, 2.0, 1.5]),
          ("simplex", [[0.2, 0.8], [0.5, 0.6], [-0.1, 1.1]]), ("one_hot", [[0.0, 1.0], [1.0, 1.0]]),
          ("real_vector", [[0.0, math.nan], [1.0, 2.0]]),
          ("lower_cholesky", [[[1.0, 0.0], [2.0, 1.0]], [[1.0, 0.5], [0.0, 1.0]], [[-1.0, 0.0], [0.0, 1.0]]]),
          ("positive_definite", [[[2.0, 1.0], [1.0, 2.0]], [[1.0, 2.0], [2.0, 1.0]], [[1.0, 0.5], [0.0, 1.0]]]),
          ("positive_semidefinite", [[[1.0, 1.0], [1.0, 1.0]], [[1.0, 2.0], [2.0, 1.0]], [[1.0, 0.5], [0.0, 1.0]]]),
          ("lower_triangular", [[[1.0, 0.0], [2.0, -1.0]], [[1.0, 0.5], [0.0, 1.0]]]),
          ("square", [[[1.0, 0.0], [2.0, -1.0]]]), ("square", [[[1.0, 0.0, 3.0], [2.0, -1.0, 3.0]]]),
          ("corr_cholesky", [[[1.0, 0.0], [0.6, 0.8]], [[1.0, 0.0], [0.6, 0.7]], [[1.0, 0.0], [0.6, -0.8]]])]


@pytest.mark.parametrize("name,values", CHECKS, ids=[c[0] for c in CHECKS])
def test_constraint_checks_as_torch(torch, name, values, device):
    ours = getattr(ag.distributions.constraints, name).check(ag.tensor(values, dtype=ag.float64, device=device))
    theirs = getattr(torch.distributions.constraints, name).check(torch.tensor(values, dtype=torch.float64))
    np.testing.assert_array_equal(to_numpy(ours), theirs.numpy())


# ---- bad input ----------------------------------------------------------------------------


BAD = [
    ("normal negative scale", lambda L: D(L).Normal(0.0, -1.0), ValueError, "Expected parameter scale"),
    ("normal nan loc", lambda L: D(L).Normal(_t(L, [math.nan]), 1.0), ValueError, "Expected parameter loc"),
    ("uniform low >= high", lambda L: D(L).Uniform(1.0, 1.0), ValueError, "Uniform is not defined when low>= high"),
    ("exponential zero rate", lambda L: D(L).Exponential(_t(L, [0.0, 1.0])), ValueError, "parameter rate"),
    ("bernoulli both", lambda L: D(L).Bernoulli(0.5, 0.0), ValueError, "Either `probs` or `logits`"),
    ("bernoulli neither", lambda L: D(L).Bernoulli(), ValueError, "Either `probs` or `logits`"),
    ("bernoulli probs > 1", lambda L: D(L).Bernoulli(_t(L, [1.5])), ValueError, "Expected parameter probs"),
    ("categorical 0-d", lambda L: D(L).Categorical(_t(L, 1.0)), ValueError, "at least one-dimensional"),
    ("categorical logits 0-d", lambda L: D(L).Categorical(logits=_t(L, 1.0)), ValueError,
     "at least one-dimensional"),
    ("categorical negative", lambda L: D(L).Categorical(_t(L, [-0.5, 1.0])), ValueError, "parameter probs"),
    ("poisson negative", lambda L: D(L).Poisson(_t(L, [-1.0])), ValueError, "parameter rate"),
    ("binomial fractional count", lambda L: D(L).Binomial(_t(L, [2.5]), _t(L, [0.5])), ValueError,
     "parameter total_count"),
    ("geometric zero", lambda L: D(L).Geometric(_t(L, [0.0, 0.5])), ValueError, "to be positive"),
    ("independent too many dims", lambda L: D(L).Independent(D(L).Normal(_t(L, [0.0]), 1.0), 2), ValueError,
     "reinterpreted_batch_ndims <= len"),
    ("mvn 0-d loc", lambda L: D(L).MultivariateNormal(_t(L, 0.0), L.eye(1)), ValueError, "at least one-dimensional"),
    ("mvn two matrices", lambda L: D(L).MultivariateNormal(L.zeros(2), L.eye(2), scale_tril=L.eye(2)), ValueError,
     "Exactly one of"),
    ("mvn 1-d covariance", lambda L: D(L).MultivariateNormal(L.zeros(2), _t(L, [1.0, 1.0])), ValueError,
     "at least two-dimensional"),
    ("mvn not positive definite", lambda L: D(L).MultivariateNormal(L.zeros(2), _t(L, [[1.0, 2.0], [2.0, 1.0]]),
                                                                    validate_args=True), ValueError,
     "Expected parameter covariance_matrix"),
    ("mvn scale_tril upper", lambda L: D(L).MultivariateNormal(L.zeros(2), scale_tril=_t(L, [[1.0, 1.0], [0.0, 1.0]])),
     ValueError, "Expected parameter scale_tril"),
    ("log_prob outside support", lambda L: D(L).Exponential(1.0).log_prob(_t(L, [-1.0])), ValueError,
     "to be within the support"),
    ("log_prob not a tensor", lambda L: D(L).Normal(0.0, 1.0).log_prob(0.5), ValueError,
     "The value argument to log_prob must be a Tensor"),
    ("log_prob event shape", lambda L: D(L).MultivariateNormal(L.zeros(3), L.eye(3)).log_prob(L.zeros(2)),
     ValueError, "right-most size of value must match event_shape"),
    ("log_prob batch shape", lambda L: D(L).Normal(L.zeros(3), 1.0).log_prob(L.zeros(4)), ValueError,
     "not broadcastable with batch_shape+event_shape"),
    ("categorical value out of range", lambda L: D(L).Categorical(L.ones(3)).log_prob(_t(L, [3])), ValueError,
     "within the support"),
    ("bernoulli non-binary value", lambda L: D(L).Bernoulli(0.3).log_prob(_t(L, 0.5)), ValueError,
     "within the support"),
    ("uniform value outside", lambda L: D(L).Uniform(0.0, 1.0).log_prob(_t(L, 2.0)), ValueError,
     "within the support"),
    ("rsample of discrete", lambda L: D(L).Bernoulli(0.3).rsample(), NotImplementedError, ""),
    ("cdf of discrete", lambda L: D(L).Poisson(1.0).cdf(_t(L, 1.0)), NotImplementedError, ""),
    ("bad parameter type", lambda L: D(L).Normal("a", 1.0), ValueError, "Input arguments must all be instances"),
    ("gamma negative rate", lambda L: D(L).Gamma(1.0, _t(L, [-1.0])), ValueError, "Expected parameter rate"),
    ("gamma value negative", lambda L: D(L).Gamma(1.0, 1.0).log_prob(_t(L, -1.0)), ValueError, "within the support"),
    ("beta zero concentration", lambda L: D(L).Beta(_t(L, [0.0]), _t(L, [1.0])), ValueError,
     "Expected parameter concentration"),
    ("beta value above 1", lambda L: D(L).Beta(2.0, 2.0).log_prob(_t(L, 1.5)), ValueError, "within the support"),
    ("dirichlet 0-d", lambda L: D(L).Dirichlet(_t(L, 1.0)), ValueError, "at least one-dimensional"),
    ("dirichlet off simplex", lambda L: D(L).Dirichlet(L.ones(3)).log_prob(_t(L, [0.5, 0.5, 0.5])), ValueError,
     "within the support"),
    ("studentT zero df", lambda L: D(L).StudentT(_t(L, [0.0])), ValueError, "Expected parameter df"),
    ("chi2 negative df", lambda L: D(L).Chi2(_t(L, [-2.0])), ValueError, "Expected parameter df"),
    ("default validate_args value", lambda L: D(L).Distribution.set_default_validate_args(2), ValueError, ""),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input_as_torch(torch, case):
    _, make, error, words = case
    with pytest.raises(error):
        make(torch)
    with pytest.raises(error, match=words.replace("(", "\\(").replace("[", "\\[").replace("+", "\\+") or None):
        make(ag)


def test_validation_can_be_turned_off(torch):
    dist = ag.distributions
    n = dist.Normal(0.0, -1.0, validate_args=False)
    t = torch.distributions.Normal(0.0, -1.0, validate_args=False)
    np.testing.assert_allclose(float(n.log_prob(ag.tensor(0.5))), float(t.log_prob(torch.tensor(0.5))))
    try:
        dist.Distribution.set_default_validate_args(False)
        assert float(dist.Exponential(1.0).log_prob(ag.tensor(-1.0))) == -(-1.0)
    finally:
        dist.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        dist.Exponential(1.0).log_prob(ag.tensor(-1.0))


def test_failed_construction_changes_nothing(device):
    scale = ag.tensor([1.0, -1.0], device=device, requires_grad=True)
    version = scale._version
    with pytest.raises(ValueError):
        ag.distributions.Normal(0.0, scale)
    assert scale._version == version and scale.grad is None
    np.testing.assert_array_equal(to_numpy(scale), [1.0, -1.0])


def test_lazy_parameters_and_perplexity(torch, device):
    b = ag.distributions.Bernoulli(logits=ag.tensor([0.3, -1.0], dtype=ag.float64, device=device))
    assert "probs" not in b.__dict__
    np.testing.assert_allclose(to_numpy(b.probs), 1 / (1 + np.exp(-np.array([0.3, -1.0]))))
    assert "probs" in b.__dict__
    t = torch.distributions.Bernoulli(logits=torch.tensor([0.3, -1.0], dtype=torch.float64))
    np.testing.assert_allclose(to_numpy(b.perplexity()), t.perplexity().numpy())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert b.sample_n(3).shape == (3, 2)
    assert any("sample_n" in str(w.message) for w in caught)


def test_empty_batches(torch, device):
    dist = ag.distributions
    n = dist.Normal(ag.zeros(0, 3, device=device), 1.0)
    assert n.sample((2,)).shape == (2, 0, 3) and n.log_prob(ag.zeros(0, 3, device=device)).shape == (0, 3)
    c = dist.Categorical(ag.ones(0, 4, device=device))
    assert c.sample((3,)).shape == (3, 0) == tuple(torch.distributions.Categorical(torch.ones(0, 4)).sample((3,)).shape)
    m = dist.MultivariateNormal(ag.zeros(0, 2, device=device), ag.eye(2, device=device))
    assert m.rsample((2,)).shape == (2, 0, 2)


HALF = [("normal", lambda L, d, k: D(L).Normal(L.tensor([0.5, -1.0], dtype=d, **k), L.tensor([1.0, 2.0], dtype=d, **k)),
         [0.3, 1.0]),
        ("exponential", lambda L, d, k: D(L).Exponential(L.tensor([0.5, 2.0], dtype=d, **k)), [0.3, 1.0]),
        ("bernoulli", lambda L, d, k: D(L).Bernoulli(L.tensor([0.25, 0.5], dtype=d, **k)), [0.0, 1.0]),
        ("gamma", lambda L, d, k: D(L).Gamma(L.tensor([0.5, 2.0], dtype=d, **k), 1.0), [0.3, 1.0]),
        ("laplace", lambda L, d, k: D(L).Laplace(L.tensor([0.5, 2.0], dtype=d, **k), 1.0), [0.3, 1.0])]


@pytest.mark.parametrize("case", HALF, ids=[c[0] for c in HALF])
def test_float16_log_prob_as_torch(torch, case, device):
    _, make, value = case
    o = make(ag, ag.float16, {"device": device}).log_prob(ag.tensor(value, dtype=ag.float16, device=device))
    t = make(torch, torch.float16, {}).log_prob(torch.tensor(value, dtype=torch.float16))
    assert o.dtype == ag.float16
    np.testing.assert_allclose(to_numpy(o).astype(np.float64), t.numpy().astype(np.float64), rtol=2e-3, atol=2e-3)


def test_kept_divergences_from_torch(torch, device):
    """Where we differ on purpose (each listed in the report)."""
    dist, tdist = ag.distributions, torch.distributions
    # Gumbel's cdf far in the right tail: torch's check on its inner Uniform refuses the rounded-up u = 1;
    # ours validates the value against the Gumbel's own support (real) and returns 1
    ours = dist.Gumbel(ag.tensor(0.0, dtype=ag.float64, device=device), 1.0).cdf(
        ag.tensor(40.0, dtype=ag.float64, device=device))
    assert float(ours) == 1.0
    with pytest.raises(ValueError):
        tdist.Gumbel(torch.tensor(0.0, dtype=torch.float64), 1.0).cdf(torch.tensor(40.0, dtype=torch.float64))
    # Categorical: zero draws give an empty tensor (torch's multinomial refuses n_sample = 0)
    assert dist.Categorical(ag.ones(3, device=device)).sample((0,)).shape == (0,)
    with pytest.raises(RuntimeError):
        tdist.Categorical(torch.ones(3)).sample((0,))
    # LogNormal is a TransformedDistribution of a Normal by exp, as torch's
    assert repr(dist.LogNormal(0.0, 1.0)) == repr(tdist.LogNormal(0.0, 1.0)) == "LogNormal()"
    assert isinstance(dist.LogNormal(0.0, 1.0), dist.TransformedDistribution)
    # shapes are tuples (torch.Size is a tuple subclass: they compare equal)
    shape = dist.Normal(ag.zeros(2, device=device), 1.0).batch_shape
    assert type(shape) is tuple and shape == (2,) == tdist.Normal(torch.zeros(2), 1.0).batch_shape
    # a tensor argument that is not a Tensor: TypeError (torch fails with AttributeError on .dim())
    with pytest.raises(TypeError, match="Categorical"):
        dist.Categorical([0.5, 0.5])
