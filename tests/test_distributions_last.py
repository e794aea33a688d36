"""ExponentialFamily (natural parameters, Bregman entropy and KL), InverseGamma,
GeneralizedPareto and OneHotCategoricalStraightThrough against torch.distributions
(PyTorch CPU as the oracle).

Values and gradients compare float64 tight and float32 loose on every device; draws are
tested by statistics (bounds justified where set) and by their pathwise gradients.
torch's GeneralizedPareto compares the concentration with a float32 zero, which fails for
float64 and float16 parameters; its oracle values are taken with torch's default dtype set
to the case's dtype (which makes that zero the parameters' dtype)."""
import contextlib
import math

import numpy as np
import pytest

import autograd_gpu as ag
from dist_oracle import grads_match, _tensors, D, KS_BOUND, METHODS, N, PROPERTIES, TOL, TRIGAMMA_TOL, _close, _evaluate, _t
from oracle import to_numpy

RNG = np.random.default_rng(0)


def U(shape, low, high):
    return RNG.uniform(low, high, shape)


def STE(lib):
    return lib.distributions.OneHotCategoricalStraightThrough


@contextlib.contextmanager
def torch_default_dtype(torch, dtype):
    old = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, dtype))
    try:
        yield
    finally:
        torch.set_default_dtype(old)


# ---- structure --------------------------------------------------------------------------------------------

def test_public_names_and_exponential_family_subclasses_as_torch(torch):
    """Every family both libraries have is an ExponentialFamily in ours exactly where it is in torch."""
    for name in ("ExponentialFamily", "GeneralizedPareto", "InverseGamma"):
        assert name in ag.distributions.__all__ and hasattr(ag.distributions, name)
    ours, theirs = ag.distributions.ExponentialFamily, torch.distributions.ExponentialFamily
    compared = 0
    for name in torch.distributions.__all__:
        t, o = getattr(torch.distributions, name), getattr(ag.distributions, name, None)
        if isinstance(t, type) and issubclass(t, torch.distributions.Distribution) and o is not None:
            assert issubclass(o, ours) == issubclass(t, theirs), name
            compared += 1
    assert compared >= 40
    assert isinstance(ag.distributions.Normal(0.0, 1.0), ours)
    assert issubclass(ag.distributions.Chi2, ours) and not issubclass(ag.distributions.StudentT, ours)
    assert issubclass(STE(ag), ag.distributions.OneHotCategorical) and STE(ag).has_rsample
    assert not ag.distributions.OneHotCategorical.has_rsample


def test_straight_through_is_published():
    assert "OneHotCategoricalStraightThrough" in ag.distributions.__all__
    assert ag.distributions.OneHotCategoricalStraightThrough is STE(ag)


# ---- natural parameters and the Bregman entropy ---------------------------------------------------------

def _wishart(L, df, A):
    return D(L).Wishart(df, scale_tril=A.tril())


# (id, make(lib, *params), params): the families torch derives from ExponentialFamily
FAMILIES = [
    ("normal", lambda L, m, s: D(L).Normal(m, s), [U(3, -2, 2), U(3, 0.5, 2)]),
    ("exponential", lambda L, r: D(L).Exponential(r), [U(3, 0.5, 2)]),
    ("gamma", lambda L, c, r: D(L).Gamma(c, r), [U(3, 0.5, 3), U(3, 0.5, 2)]),
    ("chi2", lambda L, k: D(L).Chi2(k), [U(3, 1, 5)]),
    ("bernoulli probs", lambda L, p: D(L).Bernoulli(p), [U(3, 0.1, 0.9)]),
    ("bernoulli logits", lambda L, z: D(L).Bernoulli(logits=z), [U(3, -2, 2)]),
    ("beta", lambda L, a, b: D(L).Beta(a, b), [U(3, 0.5, 3), U(3, 0.5, 3)]),
    ("dirichlet", lambda L, c: D(L).Dirichlet(c), [U((2, 3), 0.5, 3)]),
    ("poisson", lambda L, r: D(L).Poisson(r), [U(3, 0.5, 5)]),
    # (logits near 0 reach the Taylor branch of the log normalizer)
    ("continuous bernoulli", lambda L, z: D(L).ContinuousBernoulli(logits=z), [[-1.5, 0.0005, 0.8, -0.002]]),
    ("continuous bernoulli probs", lambda L, p: D(L).ContinuousBernoulli(p), [U(3, 0.1, 0.9)]),
    ("wishart", _wishart, [U(2, 3.5, 6), U((2, 3, 3), 0.5, 1.5)]),
]
TRIGAMMA_WORDS = ("gamma", "chi2", "beta", "dirichlet", "wishart")


def _tol(name, dtype):
    return TRIGAMMA_TOL if dtype == "float64" and any(w in name for w in TRIGAMMA_WORDS) else None


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", FAMILIES, ids=[c[0] for c in FAMILIES])
def test_natural_parameters_and_log_normalizer_as_torch(torch, case, dtype, device):
    name, make, params = case
    ours, theirs = _tensors(torch, params, dtype, device)
    od, td = make(ag, *ours), make(torch, *theirs)
    assert isinstance(od, ag.distributions.ExponentialFamily)
    thetas_o, thetas_t = od._natural_params, td._natural_params
    assert len(thetas_o) == len(thetas_t)
    terms = []
    for i, (a, b) in enumerate(zip(thetas_o, thetas_t)):
        _close(a, b, dtype, f"natural parameter {i}")
        terms.append((a, b))
    terms.append((od._log_normalizer(*thetas_o), td._log_normalizer(*thetas_t)))
    _close(*terms[-1], dtype, "log normalizer")
    grads_match(torch, terms, ours, theirs, dtype, RNG, tol=_tol(name, dtype))
    try:
        expected = td._mean_carrier_measure
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            od._mean_carrier_measure
    else:
        assert od._mean_carrier_measure == expected


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", FAMILIES, ids=[c[0] for c in FAMILIES])
def test_bregman_entropy_as_torch_and_the_closed_form(torch, case, dtype, device):
    """ExponentialFamily.entropy (the generic one, which the families override) against torch's generic
    entropy and the family's closed form; torch's raises NotImplementedError where the family has no
    carrier measure (Beta, Dirichlet, Poisson), and so must ours."""
    name, make, params = case
    ours, theirs = _tensors(torch, params, dtype, device)
    od, td = make(ag, *ours), make(torch, *theirs)
    try:
        expected = torch.distributions.ExponentialFamily.entropy(td)
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            ag.distributions.ExponentialFamily.entropy(od)
        return
    got = ag.distributions.ExponentialFamily.entropy(od)
    assert got.dtype == ours[0].dtype and got.device == ag.device(device) and got.shape == od.batch_shape
    _close(got, expected, dtype, "Bregman entropy")
    # the closed form agrees up to rounding: the Bregman form subtracts terms of the entropy's size
    _close(got, td.entropy(), dtype, "closed-form entropy", tol=dict(rtol=1e-7, atol=1e-8)
           if dtype == "float64" else dict(rtol=2e-3, atol=2e-4))
    # (torch detaches the natural parameters: no gradient reaches the distribution's parameters)
    grads = ag.autograd.grad(got.sum(), ours, allow_unused=True)
    assert all(g is None or not np.any(to_numpy(g)) for g in grads)


def test_bregman_entropy_needs_grad_mode_as_torch(torch):
    with torch.no_grad(), pytest.raises(RuntimeError):
        torch.distributions.ExponentialFamily.entropy(torch.distributions.Normal(0.0, 1.0))
    with ag.no_grad(), pytest.raises(RuntimeError):
        ag.distributions.ExponentialFamily.entropy(ag.distributions.Normal(0.0, 1.0))


def test_the_abstract_members_raise_as_torch(torch):
    for lib in (torch, ag):
        base = D(lib).ExponentialFamily(validate_args=False)
        for member in (lambda d: d._natural_params, lambda d: d._log_normalizer(), lambda d: d._mean_carrier_measure,
                       lambda d: d.entropy()):
            with pytest.raises(NotImplementedError):
                member(base)


def _rate_family(L):
    """A family with no closed-form entropy or KL: the exponential law, given only by its natural parameter."""
    class RateFamily(D(L).ExponentialFamily):
        arg_constraints = {"rate": D(L).constraints.positive}
        support = D(L).constraints.nonnegative
        _mean_carrier_measure = 0

        def __init__(self, rate, validate_args=None):
            self.rate = rate
            super().__init__(tuple(rate.shape), validate_args=validate_args)

        @property
        def _natural_params(self):
            return (-self.rate,)

        def _log_normalizer(self, x):
            return -L.log(-x)
    return RateFamily


def test_a_new_family_gets_entropy_and_kl_from_the_log_normalizer(torch, device):
    rates = [[0.5, 1.0, 3.0], [2.0, 0.7, 1.0]]
    (p_o, q_o), (p_t, q_t) = _tensors(torch, rates, "float64", device)
    mine, theirs = _rate_family(ag), _rate_family(torch)
    entropy = mine(p_o).entropy()
    _close(entropy, theirs(p_t).entropy(), "float64", "entropy")
    _close(entropy, torch.distributions.Exponential(p_t).entropy(), "float64", "exponential entropy",
           tol=dict(rtol=1e-12, atol=1e-12))
    kl = ag.distributions.kl_divergence(mine(p_o), mine(q_o))
    kl_t = torch.distributions.kl_divergence(theirs(p_t), theirs(q_t))
    _close(kl, kl_t, "float64", "kl")
    _close(kl, torch.distributions.kl_divergence(torch.distributions.Exponential(p_t),
                                                 torch.distributions.Exponential(q_t)), "float64", "closed form",
           tol=dict(rtol=1e-12, atol=1e-12))
    grads_match(torch, [(kl, kl_t)], [p_o, q_o], [p_t, q_t], "float64", RNG)


# ---- the Bregman KL -------------------------------------------------------------------------------------

def _pairs(L, t):
    d = D(L)
    return [
        ("normal", d.Normal(t([0.0, 1.0, -2.0]), t([1.0, 0.5, 2.0])),
         d.Normal(t([1.0, 0.0, -1.0]), t([2.0, 1.0, 0.7]))),
        ("exponential", d.Exponential(t([0.5, 2.0])), d.Exponential(t([1.5, 0.3]))),
        ("gamma", d.Gamma(t([1.5, 0.3]), t([2.0, 1.0])), d.Gamma(t([0.8, 2.0]), t([1.0, 3.0]))),
        ("bernoulli", d.Bernoulli(t([0.2, 0.7])), d.Bernoulli(t([0.5, 0.1]))),
        ("beta", d.Beta(t([1.5, 0.7]), t([2.0, 3.0])), d.Beta(t([0.8, 2.0]), t([1.0, 1.5]))),
        ("dirichlet", d.Dirichlet(t([[1.5, 0.7, 2.0], [0.5, 1.0, 3.0]])), d.Dirichlet(t([0.8, 2.0, 1.0]))),
        ("poisson", d.Poisson(t([0.5, 4.0])), d.Poisson(t([2.0, 1.0]))),
        ("continuous bernoulli", d.ContinuousBernoulli(t([0.2, 0.7, 0.4999])),
         d.ContinuousBernoulli(t([0.5001, 0.1, 0.9]))),
        ("wishart", d.Wishart(t(4.0), covariance_matrix=t([[2.0, 0.5], [0.5, 1.0]])),
         d.Wishart(t(3.0), covariance_matrix=t([[1.0, -0.2], [-0.2, 0.5]]))),
    ]


def _leaves(d):
    return [v for v in d.__dict__.values() if getattr(v, "requires_grad", False) and v.grad_fn is None]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_bregman_kl_as_torch_and_the_closed_forms(torch, dtype, device):
    """torch's generic KL (kl._kl_expfamily_expfamily) against ours, values and gradients (q's parameters;
    p's are detached in both); both against the registered closed form where there is one (Wishart has
    none: kl_divergence dispatches to the Bregman KL, in torch and ours)."""
    leaves_o, leaves_t = [], []

    def make_o(v):
        leaves_o.append(ag.tensor(v, dtype=dtype, device=device, requires_grad=True))
        return leaves_o[-1]

    def make_t(v):
        leaves_t.append(torch.tensor(v, dtype=getattr(torch, dtype), requires_grad=True))
        return leaves_t[-1]
    closed_tol = dict(rtol=1e-7, atol=1e-9) if dtype == "float64" else dict(rtol=2e-3, atol=2e-4)
    for (name, p, q), (_, tp, tq) in zip(_pairs(ag, make_o), _pairs(torch, make_t)):
        got = ag.distributions.exponential_family.kl_expfamily_expfamily(p, q)
        expected = torch.distributions.kl._kl_expfamily_expfamily(tp, tq)
        _close(got, expected, dtype, name)
        _close(ag.distributions.kl_divergence(p, q), torch.distributions.kl_divergence(tp, tq), dtype,
               f"{name} kl_divergence", tol=closed_tol)
        grads_match(torch, [(got, expected)], leaves_o, leaves_t, dtype, RNG, tol=_tol(name, dtype))


def test_bregman_kl_of_a_batched_wishart_is_per_element(torch, device):
    """Kept divergence: torch sums each Bregman term over len(event_shape) trailing dims, which for a batched
    Wishart also sums the df term over the batch; ours sums each term over its own non-batch dims, so every
    batch element gets its own KL (the unbatched one, equal to torch's there)."""
    def make(L, t):
        cov = t([[[2.0, 0.5], [0.5, 1.0]], [[1.0, 0.0], [0.0, 3.0]]])
        return (D(L).Wishart(t([4.0, 2.5]), covariance_matrix=cov),
                D(L).Wishart(t([3.0, 5.0]), covariance_matrix=cov * 2))
    (p, q), (tp, tq) = make(ag, lambda v: ag.tensor(v, dtype=ag.float64, device=device)), \
        make(torch, lambda v: torch.tensor(v, dtype=torch.float64))
    got = ag.distributions.kl_divergence(p, q)
    per_element = [torch.distributions.kl_divergence(
        torch.distributions.Wishart(tp.df[i], covariance_matrix=tp.covariance_matrix[i]),
        torch.distributions.Wishart(tq.df[i], covariance_matrix=tq.covariance_matrix[i])) for i in range(2)]
    _close(got, torch.stack(per_element), "float64", "per element")
    assert not np.allclose(to_numpy(got), torch.distributions.kl_divergence(tp, tq).detach().numpy())


def test_bregman_kl_second_order_in_q(device):
    """Finite differences, second order too, of the generic KL in q's parameters (through create_graph)."""
    kl = ag.distributions.exponential_family.kl_expfamily_expfamily
    p = ag.distributions.Gamma(ag.tensor([1.5, 0.6], dtype=ag.float64, device=device), 2.0)

    def f(c, r):
        return kl(p, ag.distributions.Gamma(c, r)).sum()
    inputs = [ag.tensor(v, dtype=ag.float64, device=device, requires_grad=True) for v in ([0.8, 2.0], [1.0, 3.0])]
    assert ag.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-6, rtol=1e-4)
    assert ag.autograd.gradgradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)


def test_kl_across_families_is_not_implemented_as_torch(torch):
    for lib in (torch, ag):
        with pytest.raises(NotImplementedError):
            D(lib).kl_divergence(D(lib).Poisson(1.0), D(lib).Gamma(1.0, 2.0))
    with pytest.raises(NotImplementedError, match="^The cross KL-divergence between different exponential families"):
        ag.distributions.kl_divergence(ag.distributions.Poisson(1.0), ag.distributions.Gamma(1.0, 2.0))
    kl = ag.distributions.kl
    assert kl._KL_REGISTRY[ag.distributions.ExponentialFamily, ag.distributions.ExponentialFamily] is \
        ag.distributions.exponential_family.kl_expfamily_expfamily


# ---- InverseGamma, GeneralizedPareto, OneHotCategoricalStraightThrough: values and gradients ------------

def one_hot(shape, k):
    return np.eye(k)[RNG.integers(0, k, shape)]


# (id, make(lib, *params), params, value for log_prob / cdf)
CASES = [
    ("inversegamma", lambda L, c, r: D(L).InverseGamma(c, r), [U(3, 0.5, 4), U(3, 0.5, 2)], U((2, 3), 0.2, 3)),
    ("inversegamma heavy tail", lambda L, c, r: D(L).InverseGamma(c, r), [[0.5, 1.5, 3.0], [1.0, 2.0, 0.5]],
     U((2, 3), 0.2, 3)),
    ("inversegamma number rate", lambda L, c: D(L).InverseGamma(c, 2.0), [U(3, 0.5, 4)], U(3, 0.2, 3)),
    ("gpareto positive", lambda L, m, s, c: D(L).GeneralizedPareto(m, s, c),
     [U(3, -1, -0.1), U(3, 0.5, 2), U(3, 0.05, 0.45)], U((2, 3), 0, 3)),
    ("gpareto negative", lambda L, m, s, c: D(L).GeneralizedPareto(m, s, c),
     [U(3, -1, -0.5), U(3, 1, 2), U(3, -0.8, -0.3)], U((2, 3), -0.4, 0.2)),
    ("gpareto zero", lambda L, m, s, c: D(L).GeneralizedPareto(m, s, c),
     [U(3, -1, -0.1), U(3, 0.5, 2), [0.0, 1e-9, -1e-9]], U((2, 3), 0, 3)),
    ("gpareto heavy tail", lambda L, m, s, c: D(L).GeneralizedPareto(m, s, c),
     [U(3, -1, -0.1), U(3, 0.5, 2), [0.6, 1.0, 2.0]], U((2, 3), 0, 3)),
    ("gpareto uniform", lambda L, m, s, c: D(L).GeneralizedPareto(m, s, c),
     [U(3, -1, -0.5), U(3, 1, 2), [-1.0, -1.0, -1.0]], U((2, 3), -0.4, 0.4)),
    ("gpareto number loc", lambda L, s, c: D(L).GeneralizedPareto(0.5, s, c), [U(3, 0.5, 2), U(3, -0.3, 0.3)],
     U((2, 3), 0.6, 1.5)),
    ("straight-through probs", lambda L, p: STE(L)(p), [U((2, 4), 0.1, 1)], one_hot((3, 2), 4)),
    ("straight-through logits", lambda L, z: STE(L)(logits=z), [U((2, 4), -2, 2)], one_hot(2, 4)),
]
NO_TORCH_GRAD = ("cdf",)        # (InverseGamma's cdf is the gamma's: torch has no igamma gradient in the shape)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_against_torch(torch, case, dtype, device):
    name, make, params, value = case
    ours, theirs = _tensors(torch, params + [value], dtype, device)
    od = make(ag, *ours[:-1])
    with torch_default_dtype(torch, dtype):
        td = make(torch, *theirs[:-1])
    assert od.batch_shape == tuple(td.batch_shape) and od.event_shape == tuple(td.event_shape)
    assert od.has_rsample == td.has_rsample and type(od.support).__name__ == type(td.support).__name__
    q = U(od.batch_shape, 0.05, 0.95)
    qo, qt = ag.tensor(q, dtype=dtype, device=device), torch.tensor(q, dtype=getattr(torch, dtype))
    terms = []
    for method in METHODS + PROPERTIES:
        try:
            with torch_default_dtype(torch, dtype):
                expected = _evaluate(td, method, theirs[-1], qt)
        except (NotImplementedError, ValueError) as e:
            with pytest.raises(type(e)):
                _evaluate(od, method, ours[-1], qo)
            continue
        got = _evaluate(od, method, ours[-1], qo)
        assert got.dtype == ours[-1].dtype and got.device == ag.device(device), method
        _close(got, expected, dtype, method)
        if not (method in NO_TORCH_GRAD and name.startswith("inversegamma")):
            terms.append((got, expected))
    trigamma = dtype == "float64" and name.startswith("inversegamma")
    grads_match(torch, terms, ours, theirs, dtype, RNG, tol=TRIGAMMA_TOL if trigamma else None)


def test_support_and_repr_as_torch(torch):
    for lib in (torch, ag):
        assert repr(D(lib).InverseGamma(2.0, 3.0)) == "InverseGamma()"
    assert repr(ag.distributions.GeneralizedPareto(0.5, 2.0, -0.5)) == \
        repr(torch.distributions.GeneralizedPareto(0.5, 2.0, -0.5))
    o = ag.distributions.GeneralizedPareto(ag.tensor([0.0, 1.0]), ag.tensor([2.0, 1.0]), ag.tensor([-0.5, 0.3]))
    t = torch.distributions.GeneralizedPareto(torch.tensor([0.0, 1.0]), torch.tensor([2.0, 1.0]),
                                              torch.tensor([-0.5, 0.3]))
    assert type(o.support).__name__ == type(t.support).__name__ == "_Interval"
    for bound in ("lower_bound", "upper_bound"):
        _close(getattr(o.support, bound), getattr(t.support, bound), "float32", bound)
    assert type(ag.distributions.InverseGamma(1.0, 1.0).support).__name__ == "_GreaterThan"
    ig = ag.distributions.InverseGamma(ag.tensor([2.0]), 3.0)
    assert isinstance(ig, ag.distributions.TransformedDistribution) and isinstance(ig.base_dist,
                                                                                   ag.distributions.Gamma)
    assert isinstance(ig.transforms[0], ag.distributions.PowerTransform) and float(ig.transforms[0].exponent) == -1


GRADCHECK = ["inversegamma", "gpareto positive", "gpareto negative", "gpareto zero"]


@pytest.mark.parametrize("name", GRADCHECK)
def test_gradcheck_second_order(name, device):
    """Finite differences, second order too, of log_prob, cdf and icdf in the value and the parameters."""
    _, make, params, value = next(c for c in CASES if c[0] == name)
    inputs = [ag.tensor(np.asarray(p, dtype=np.float64), device=device, requires_grad=True) for p in params]
    v = ag.tensor(value[0], dtype=ag.float64, device=device, requires_grad=True)
    u = ag.tensor([0.2, 0.5, 0.9], dtype=ag.float64, device=device, requires_grad=True)
    zero_c = name == "gpareto zero"         # (finite steps in c would leave the c = 0 branch)

    def f(*xs):
        d = make(ag, *xs[:-2])
        out = d.log_prob(xs[-2]).sum() + (0 if name.startswith("inversegamma") else d.icdf(xs[-1]).sum())
        return out if name.startswith("inversegamma") else out + d.cdf(xs[-2]).sum()
    ag.distributions.Distribution.set_default_validate_args(False)     # (steps may leave the support)
    try:
        if zero_c:
            c = inputs[-1].detach()
            g = lambda m, s, x, q: f(m, s, c, x, q)     # noqa: E731
            xs = inputs[:2] + [v, u]
        else:
            g, xs = f, inputs + [v, u]
        assert ag.autograd.gradcheck(g, xs, eps=1e-6, atol=1e-5, rtol=1e-3)
        assert ag.autograd.gradgradcheck(g, xs, eps=1e-6, atol=1e-4, rtol=1e-3)
    finally:
        ag.distributions.Distribution.set_default_validate_args(True)


# ---- draws ------------------------------------------------------------------------------------------------

# the one-sample Kolmogorov-Smirnov statistic of N draws exceeds 1.95 / sqrt(N) with probability 0.001;
# seeds are fixed, so the tests are deterministic, and the bound says they are not tuned passes

WITH_CDF = [
    ("inversegamma", lambda L, t: D(L).InverseGamma(t([0.7, 3.0]), t([1.0, 0.5]))),
    ("gpareto positive", lambda L, t: D(L).GeneralizedPareto(t([0.0, 1.0]), t([1.0, 0.5]), t([0.4, 1.5]))),
    ("gpareto negative", lambda L, t: D(L).GeneralizedPareto(t([0.0, 1.0]), t([1.0, 2.0]), t([-0.4, -1.0]))),
    ("gpareto zero", lambda L, t: D(L).GeneralizedPareto(t([0.0, -1.0]), t([1.0, 0.5]), t([0.0, 0.0]))),
]


@pytest.mark.parametrize("case", WITH_CDF, ids=[c[0] for c in WITH_CDF])
def test_samples_follow_torch_cdf(torch, case, device):
    ag.manual_seed(7)
    od = case[1](ag, lambda v: ag.tensor(v, dtype=ag.float64, device=device))
    td = case[1](torch, lambda v: torch.tensor(v, dtype=torch.float64))
    draws = od.sample((N,))
    assert draws.shape == (N, 2) and draws.dtype == ag.float64 and draws.device == ag.device(device)
    assert not draws.requires_grad and bool(od.support.check(draws).all())
    x = np.sort(to_numpy(draws), axis=0)
    with torch_default_dtype(torch, "float64"):
        cdf = td.cdf(torch.tensor(x)).numpy()
    ecdf = np.arange(1, N + 1)[:, None] / N
    ks = np.maximum(np.abs(ecdf - cdf), np.abs(ecdf - 1 / N - cdf)).max()
    assert ks < KS_BOUND, ks


def test_straight_through_draws_follow_probs(device):
    """Each one-hot coordinate is a Bernoulli(p_k) count over N draws, of standard deviation
    sqrt(p (1 - p) / N) <= 0.0035; 5 of them (a two-sided tail of 6e-7 per coordinate) bound the gap."""
    ag.manual_seed(11)
    probs = np.array([[0.1, 0.2, 0.3, 0.4], [0.7, 0.1, 0.1, 0.1]])
    d = STE(ag)(ag.tensor(probs, dtype=ag.float64, device=device))
    draws = to_numpy(d.rsample((N,)))
    assert draws.shape == (N, 2, 4) and np.all(draws.sum(-1) == 1) and set(np.unique(draws)) <= {0.0, 1.0}
    assert np.all(np.abs(draws.mean(0) - probs) < 5 * np.sqrt(probs * (1 - probs) / N))


@pytest.mark.parametrize("given", ["probs", "logits"])
def test_straight_through_gradient_as_torch(torch, given, device):
    """rsample's gradient is the identity to probs, whatever was drawn: so it equals torch's exactly."""
    raw = U((2, 3), 0.2, 1.0) if given == "probs" else U((2, 3), -2, 2)
    w = RNG.standard_normal((5, 2, 3))
    (po,), (pt,) = _tensors(torch, [raw], "float64", device)
    x = STE(ag)(**{given: po}).rsample((5,))
    xt = STE(torch)(**{given: pt}).rsample((5,))
    assert x.requires_grad and x.shape == tuple(xt.shape) and set(np.unique(to_numpy(x))) <= {0.0, 1.0}
    (g,) = ag.autograd.grad((x * ag.tensor(w, dtype=ag.float64, device=device)).sum(), [po])
    (gt,) = torch.autograd.grad((xt * torch.tensor(w)).sum(), [pt])
    np.testing.assert_allclose(to_numpy(g), gt.numpy(), **TOL["float64"])
    assert not STE(ag)(**{given: po}).sample((5,)).requires_grad


def test_rsample_pathwise_gradients(device):
    """GeneralizedPareto: x = loc + scale ((1 - u)^-c - 1) / c, so with z = (x - loc) / scale and
    t = log(1 + c z) / c: dx/dloc = 1, dx/dscale = z, dx/dc = scale (t (1 + c z) - z) / c.
    InverseGamma: y = rate / g (g a standard gamma draw), so dy/drate = y / rate."""
    ag.manual_seed(5)
    values = [[0.5, -1.0], [1.0, 2.0], [0.4, -0.3]]
    params = [ag.tensor(v, dtype=ag.float64, device=device, requires_grad=True) for v in values]
    x = ag.distributions.GeneralizedPareto(*params).rsample((50,))
    grads = ag.autograd.grad(x.sum(), params)
    m, s, c = (np.array(v) for v in values)
    z = (to_numpy(x) - m) / s
    t = np.log1p(c * z) / c
    for g, e in zip(grads, [np.ones_like(z), z, s * (t * (1 + c * z) - z) / c]):
        np.testing.assert_allclose(to_numpy(g), e.sum(0), rtol=1e-8, atol=1e-9)
    conc, rate = (ag.tensor(v, dtype=ag.float64, device=device, requires_grad=True) for v in ([0.7, 3.0], [1.0, 0.5]))
    y = ag.distributions.InverseGamma(conc, rate).rsample((50,))
    g_conc, g_rate = ag.autograd.grad(y.sum(), [conc, rate])
    np.testing.assert_allclose(to_numpy(g_rate), (to_numpy(y) / np.array([1.0, 0.5])).sum(0), rtol=1e-9)
    assert np.all(np.isfinite(to_numpy(g_conc)))


SHAPED = WITH_CDF + [("straight-through", lambda L, t: STE(L)(t([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]])))]


@pytest.mark.parametrize("case", SHAPED, ids=[c[0] for c in SHAPED])
@pytest.mark.parametrize("sample_shape", [(), (4,), (2, 3), (0,)])
def test_sample_shapes_dtypes_and_seeds(torch, case, sample_shape, device):
    od = case[1](ag, lambda v: ag.tensor(v, dtype=ag.float32, device=device))
    td = case[1](torch, lambda v: torch.tensor(v))
    ag.manual_seed(3)
    a = od.sample(sample_shape)
    ag.manual_seed(3)
    b = od.sample(sample_shape)
    if sample_shape == (0,) and case[0] == "straight-through":
        # kept divergence: torch's categorical cannot draw 0 samples; ours gives the empty draw
        with pytest.raises(RuntimeError):
            td.sample(sample_shape)
        t = torch.empty((0,) + tuple(td.batch_shape) + tuple(td.event_shape))
    else:
        t = td.sample(sample_shape)
    assert a.shape == tuple(t.shape) and a.device == ag.device(device) and a.dtype == ag.float32
    np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    r = od.rsample(sample_shape)
    assert r.shape == a.shape and r.dtype == ag.float32


# ---- expand, empty batches, float16 ---------------------------------------------------------------------

EXPAND = [c for c in CASES if c[0] in ("inversegamma", "inversegamma number rate", "gpareto positive",
                                       "gpareto number loc", "straight-through logits")]


@pytest.mark.parametrize("case", EXPAND, ids=[c[0] for c in EXPAND])
def test_expand_as_torch(torch, case, device):
    name, make, params, value = case
    ours, theirs = _tensors(torch, params, "float64", device)
    od, td = make(ag, *ours), make(torch, *theirs)
    eo, et = od.expand((5,) + od.batch_shape), td.expand((5,) + tuple(td.batch_shape))
    assert eo.batch_shape == tuple(et.batch_shape) and eo.event_shape == tuple(et.event_shape)
    assert type(eo) is type(od) and eo._validate_args == od._validate_args
    v = np.asarray(value)[:1] if np.ndim(value) > len(od.event_shape) else np.asarray(value)
    with torch_default_dtype(torch, "float64"):
        expected = et.log_prob(torch.tensor(v))
    _close(eo.log_prob(ag.tensor(v, dtype=ag.float64, device=device)), expected, "float64", "log_prob")
    assert eo.sample((2,)).shape == tuple(et.sample((2,)).shape) == eo.rsample((2,)).shape


def test_empty_batches(torch, device):
    d = ag.distributions
    for make in (lambda L, z: D(L).InverseGamma(z + 1, 2.0), lambda L, z: D(L).GeneralizedPareto(z, 1.0, 0.5)):
        od, td = make(ag, ag.zeros(0, 3, device=device)), make(torch, torch.zeros(0, 3))
        assert od.batch_shape == tuple(td.batch_shape)
        assert od.rsample((2,)).shape == tuple(td.sample((2,)).shape)
        assert od.entropy().shape == tuple(td.entropy().shape)
    # kept divergence: torch cannot build a one-hot categorical of an empty batch (its validation reshapes
    # 0 elements to (0, -1)); ours can
    with pytest.raises(RuntimeError):
        STE(torch)(logits=torch.zeros(0, 3))
    ste = STE(ag)(logits=ag.zeros(0, 3, device=device, requires_grad=True))
    assert ste.batch_shape == (0,) and ste.rsample((2,)).shape == (2, 0, 3) and ste.entropy().shape == (0,)
    # kept divergence: torch's generic entropy reshapes each term to batch_shape + (-1,), which fails for an
    # empty batch; ours sums each term's non-batch dims
    with pytest.raises(RuntimeError):
        torch.distributions.ExponentialFamily.entropy(torch.distributions.Normal(torch.zeros(0), 1.0))
    for dist in (d.Normal(ag.zeros(0, device=device), 1.0), d.Gamma(ag.ones(2, 0, device=device), 1.0)):
        assert d.ExponentialFamily.entropy(dist).shape == dist.batch_shape
    assert d.kl_divergence(d.Wishart(ag.full((0,), 3.0, device=device), ag.eye(2, device=device)),
                           d.Wishart(ag.full((0,), 4.0, device=device), ag.eye(2, device=device))).shape == (0,)


def test_float16_as_torch(torch, device):
    cases = [(lambda L, t: D(L).InverseGamma(t([2.0, 0.7]), t([1.0, 2.0])), [1.2, 0.5]),
             (lambda L, t: D(L).GeneralizedPareto(t([0.0, 0.5]), t([1.0, 2.0]), t([0.3, -0.2])), [1.2, 0.9])]
    for make, value in cases:
        o = make(ag, lambda v: ag.tensor(v, dtype=ag.float16, device=device))
        with torch_default_dtype(torch, "float16"):
            t = make(torch, lambda v: torch.tensor(v, dtype=torch.float16))
            expected = [t.log_prob(torch.tensor(value, dtype=torch.float16)), t.entropy()]
        got = [o.log_prob(ag.tensor(value, dtype=ag.float16, device=device)), o.entropy()]
        for g, e in zip(got, expected):
            assert g.dtype == ag.float16
            np.testing.assert_allclose(to_numpy(g).astype(np.float64), e.numpy().astype(np.float64), rtol=3e-3,
                                       atol=3e-3)


# ---- bad input --------------------------------------------------------------------------------------------


BAD = [
    ("inversegamma negative concentration", lambda L: D(L).InverseGamma(_t(L, [-1.0]), 1.0), ValueError,
     "Expected parameter concentration"),
    ("inversegamma zero rate", lambda L: D(L).InverseGamma(1.0, _t(L, [0.0])), ValueError, "Expected parameter rate"),
    ("inversegamma value negative", lambda L: D(L).InverseGamma(2.0, 1.0).log_prob(_t(L, -1.0)), ValueError,
     "within the support"),
    ("inversegamma string", lambda L: D(L).InverseGamma("a", 1.0), ValueError, "Input arguments must all be"),
    ("gpareto negative scale", lambda L: D(L).GeneralizedPareto(0.0, _t(L, [-1.0]), 0.5), ValueError,
     "Expected parameter scale"),
    ("gpareto nan concentration", lambda L: D(L).GeneralizedPareto(0.0, 1.0, _t(L, [math.nan])), ValueError,
     "Expected parameter concentration"),
    ("gpareto nan loc", lambda L: D(L).GeneralizedPareto(_t(L, [math.nan]), 1.0, 0.5), ValueError,
     "Expected parameter loc"),
    ("gpareto value below loc", lambda L: D(L).GeneralizedPareto(1.0, 1.0, 0.5).log_prob(_t(L, 0.5)), ValueError,
     "within the support"),
    ("gpareto value above the bound", lambda L: D(L).GeneralizedPareto(0.0, 1.0, -0.5).log_prob(_t(L, 2.5)),
     ValueError, "within the support"),
    ("gpareto cdf value below loc", lambda L: D(L).GeneralizedPareto(1.0, 1.0, 0.5).cdf(_t(L, 0.5)), ValueError,
     "within the support"),
    ("gpareto string", lambda L: D(L).GeneralizedPareto(0.0, "b", 0.5), ValueError, "Input arguments must all be"),
    ("straight-through negative probs", lambda L: STE(L)(_t(L, [-0.5, 1.0])), ValueError, "parameter probs"),
    ("straight-through both", lambda L: STE(L)(_t(L, [0.5, 0.5]), logits=_t(L, [0.0, 0.0])), ValueError,
     "Either `probs` or `logits`"),
    ("straight-through value not one-hot", lambda L: STE(L)(_t(L, [0.5, 0.5])).log_prob(_t(L, [1.0, 1.0])),
     ValueError, "within the support"),
    ("bregman kl across families", lambda L: (L.distributions.exponential_family.kl_expfamily_expfamily
                                              if L is ag else L.distributions.kl._kl_expfamily_expfamily)(
        D(L).Normal(0.0, 1.0), D(L).Exponential(1.0)), NotImplementedError, "cannot be computed using Bregman"),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input_as_torch(torch, case):
    _, make, error, words = case
    with pytest.raises(error):
        make(torch)
    with pytest.raises(error, match=words.replace("(", "\\(").replace("[", "\\[") or None):
        make(ag)


def test_failed_construction_changes_nothing(device):
    value = ag.tensor([1.0, -1.0], device=device, requires_grad=True)
    version = value._version
    for make in (lambda: ag.distributions.InverseGamma(value, 1.0), lambda: ag.distributions.InverseGamma(1.0, value),
                 lambda: ag.distributions.GeneralizedPareto(0.0, value, 0.5), lambda: STE(ag)(value)):
        with pytest.raises(ValueError):
            make()
    assert value._version == version and value.grad is None
    np.testing.assert_array_equal(to_numpy(value), [1.0, -1.0])
