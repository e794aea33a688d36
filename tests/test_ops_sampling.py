"""The random samplers of autograd_gpu/ops/sampling.py. The draws cannot match
PyTorch's, so the distributions are tested statistically (large samples, fixed
seeds, bounds of 6 standard errors), and shapes, dtypes, errors and gradients
against PyTorch CPU; repeatability under ag.manual_seed; the in-place rules."""
import math

import numpy as np
import pytest

import autograd_gpu as ag

N = 200_000                       # draws per statistical check
SIGMAS = 6


def host(t):
    return np.asarray(t.detach().cpu().numpy(), dtype=np.float64)


def assert_mean(draws, mean, sd):
    """The sample mean within SIGMAS standard errors of `mean` (sd: one draw's)."""
    m = draws.mean()
    assert abs(m - mean) <= SIGMAS * sd / math.sqrt(draws.size), (m, mean)


@pytest.fixture(autouse=True)
def seeded():
    ag.manual_seed(1234)


# ---- distributions ------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_bernoulli_probabilities(device, p):
    probs = ag.full((N,), p, device=device)
    a = host(ag.bernoulli(probs))
    assert set(np.unique(a)) <= {0.0, 1.0}
    assert_mean(a, p, math.sqrt(p * (1 - p)) + 1e-12)
    b = host(ag.zeros(N, device=device, dtype=ag.float64).bernoulli(p))
    assert_mean(b, p, math.sqrt(p * (1 - p)) + 1e-12)


def test_bernoulli_per_element_and_in_place(device):
    p = ag.tensor([0.1, 0.9], device=device)
    a = host(ag.bernoulli(p.expand(N // 2, 2).contiguous()))
    assert_mean(a[:, 0], 0.1, 0.3)
    assert_mean(a[:, 1], 0.9, 0.3)
    t = ag.zeros(N // 2, 2, dtype=ag.int64, device=device)
    t.bernoulli_(p)                                  # a tensor p broadcast to t
    assert t.dtype == ag.int64 and t._version == 1
    assert_mean(host(t)[:, 1], 0.9, 0.3)
    assert_mean(host(ag.empty(N, device=device).bernoulli_()), 0.5, 0.5)


def test_multinomial_with_replacement(device):
    w = ag.tensor([[1.0, 0.0, 3.0], [2.0, 2.0, 0.0]], device=device, dtype=ag.float64)
    s = ag.multinomial(w, N // 2, replacement=True)
    assert s.dtype == ag.int64 and s.shape == (2, N // 2)
    a = host(s)
    assert not (a[0] == 1).any() and not (a[1] == 2).any()     # zero weight: never drawn
    assert_mean(a[0] == 2, 0.75, math.sqrt(0.75 * 0.25))
    assert_mean(a[1] == 0, 0.5, 0.5)


def test_multinomial_without_replacement(device):
    w = ag.tensor([1.0, 2.0, 3.0, 4.0], device=device).expand(N // 4, 4)
    a = host(w.multinomial(4))
    assert (np.sort(a, axis=1) == np.arange(4)).all()          # each row a permutation
    assert_mean(a[:, 0] == 3, 0.4, math.sqrt(0.4 * 0.6))       # first draw: weight / total
    # second draw given a first of 3 (weight 4): 3 of the remaining 6
    second = a[a[:, 0] == 3, 1]
    assert_mean(second == 2, 0.5, 0.5)
    z = host(ag.tensor([0.0, 1.0, 0.0], device=device).multinomial(2))
    assert z[0] == 1 and z[1] in (0, 2)                        # zero weights come last (as PyTorch's CPU)


def test_multinomial_shapes(device, torch):
    for shape, n, r in [((3,), 2, False), ((0, 3), 2, False), ((2, 5), 7, True), ((1,), 1, False)]:
        ours = ag.multinomial(ag.ones(shape, device=device), n, r)
        assert ours.shape == tuple(torch.multinomial(torch.ones(shape), n, r).shape)
        assert ours.dtype == ag.int64 and not ours.requires_grad


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_normal_overloads(device, torch, dtype):
    m = ag.full((N,), 2.0, dtype=getattr(ag, dtype), device=device)
    s = ag.full((N,), 3.0, dtype=getattr(ag, dtype), device=device)
    for out in (ag.normal(m, s), ag.normal(m, 3.0), ag.normal(2.0, s)):
        assert out.dtype == getattr(ag, dtype) and out.shape == (N,)
        a = host(out)
        assert_mean(a, 2.0, 3.0)
        assert abs(a.std() - 3.0) < 0.05
    f = ag.normal(2.0, 3.0, (N,), dtype=getattr(ag, dtype), device=device)
    assert f.dtype == getattr(ag, dtype) and f.device == m.device
    assert_mean(host(f), 2.0, 3.0)


def test_normal_shapes_and_dtypes_as_torch(device, torch):
    cases = [((2, 3), "float32", (3,), "float64"), ((3,), "float16", (2, 1), "float32"), ((), "float64", (), "int64"),
             ((0, 2), "float32", (2,), "float32")]
    for ms, md, ss, sd in cases:
        ours = ag.normal(ag.ones(ms, dtype=getattr(ag, md), device=device), ag.ones(ss, dtype=getattr(ag, sd),
                                                                                   device=device))
        theirs = torch.normal(torch.ones(ms, dtype=getattr(torch, md)), torch.ones(ss, dtype=getattr(torch, sd)))
        assert ours.shape == tuple(theirs.shape) and str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    assert ag.normal(0.0, 1.0, size=(2, 0)).shape == (2, 0)
    assert ag.normal(0, 1, (2,), requires_grad=True).requires_grad


def test_normal_is_reparametrised(device):
    """d out / d mean = 1, d out / d std = eps = (out - mean) / std, as PyTorch's
    NormalBackward3; broadcast gradients summed back; second order through std."""
    mean = ag.tensor([[0.5], [-1.0]], dtype=ag.float64, device=device, requires_grad=True)
    std = ag.tensor([1.0, 2.0, 0.5], dtype=ag.float64, device=device, requires_grad=True)
    out = ag.normal(mean, std)
    assert out.shape == (2, 3) and out.requires_grad
    gm, gs = ag.autograd.grad(out.sum(), (mean, std), create_graph=True)
    eps = (host(out) - host(mean)) / host(std)
    np.testing.assert_allclose(host(gm), [[3.0], [3.0]])
    np.testing.assert_allclose(host(gs), eps.sum(0), rtol=1e-12)
    # (out * out).sum(): d/dstd = 2 out eps; its derivative in std again is 2 eps^2
    out2 = ag.normal(mean.detach(), std)
    g, = ag.autograd.grad((out2 * out2).sum(), std, create_graph=True)
    g2, = ag.autograd.grad(g.sum(), std)
    eps2 = (host(out2) - host(mean)) / host(std)
    np.testing.assert_allclose(host(g2), (2 * eps2 ** 2).sum(0), rtol=1e-10)
    assert not ag.normal(mean.detach(), 1.0).requires_grad


@pytest.mark.parametrize("rate", [0.0, 0.5, 3.0, 9.99, 10.0, 50.0, 1e6])
def test_poisson_moments(device, rate):
    a = host(ag.poisson(ag.full((N,), rate, dtype=ag.float64, device=device)))
    assert (a == np.round(a)).all() and (a >= 0).all()
    assert_mean(a, rate, math.sqrt(rate) + 1e-12)
    if rate:   # the variance: within 6 of its standard errors (fourth central moment 3 rate^2 + rate)
        assert abs(a.var() - rate) <= SIGMAS * math.sqrt((2 * rate ** 2 + rate) / N)


def test_poisson_dtypes_and_gradient(device, torch):
    x = ag.tensor([1.0, 20.0, math.inf], device=device, requires_grad=True)
    y = ag.poisson(x)
    assert y.dtype == ag.float32 and y.requires_grad and y.grad_fn.name() == "PoissonBackward0"
    assert host(y)[2] == math.inf                    # (PyTorch CPU writes garbage: -2 ** 63)
    y.sum().backward()
    assert (host(x.grad) == 0).all()                 # PyTorch's zero gradient
    assert ag.poisson(ag.ones(3, dtype=ag.float16, device=device)).dtype == ag.float16
    assert ag.poisson(ag.zeros(0, 2, device=device)).shape == (0, 2)


def test_randint_like_and_random_(device, torch):
    x = ag.zeros(N, device=device)
    a = host(ag.randint_like(x, 3, 7))
    assert set(np.unique(a)) == {3, 4, 5, 6}
    assert_mean(a, 4.5, math.sqrt(1.25))
    assert ag.randint_like(x, 5, dtype=ag.int32).dtype == ag.int32
    assert ag.randint_like(ag.ones(3, dtype=ag.bool), 2).dtype == ag.bool
    r = ag.zeros(N, dtype=ag.int64, device=device)
    assert_mean(host(r.random_(-2, 2)), -0.5, math.sqrt(1.25))
    assert set(np.unique(host(r.random_(3)))) == {0, 1, 2}
    assert r._version == 2
    top = host(ag.zeros(N, device=device).random_())              # float32: 0 .. 2 ** 24
    assert top.max() <= 2 ** 24 and top.max() > 2 ** 23 and (top == np.round(top)).all()
    h = host(ag.zeros(N, dtype=ag.float16, device=device).random_())
    assert h.max() == 2 ** 11 and h.min() == 0
    b = host(ag.zeros(N, dtype=ag.bool, device=device).random_())
    assert_mean(b, 0.5, 0.5)
    big = host(ag.zeros(1000, dtype=ag.int64, device=device).random_())
    assert big.min() >= 0 and big.max() > 2 ** 60                 # int64's range
    assert host(ag.zeros(100, device=device).random_(5, None)).min() >= 5


def test_continuous_in_place_samplers(device):
    t = ag.empty(N, dtype=ag.float64, device=device)
    assert_mean(host(t.exponential_(4.0)), 0.25, 0.25)
    g = host(t.geometric_(0.25))
    assert g.min() >= 1 and (g == np.round(g)).all()
    assert_mean(g, 4.0, math.sqrt(0.75) / 0.25)
    c = host(t.cauchy_(3.0, 2.0))                    # median 3, quartiles 3 -+ 2
    for q, v in ((0.25, 1.0), (0.5, 3.0), (0.75, 5.0)):
        assert abs((c <= v).mean() - q) <= SIGMAS * math.sqrt(q * (1 - q) / N)
    ln = np.log(host(t.log_normal_(0.5, 0.3)))
    assert_mean(ln, 0.5, 0.3)
    assert t._version == 4
    gi = ag.zeros(10, dtype=ag.int32, device=device).geometric_(0.5)
    assert gi.dtype == ag.int32 and host(gi).min() >= 1
    for dt in (ag.float16, ag.float32):
        assert ag.ones(5, dtype=dt, device=device).exponential_().dtype == dt


# ---- repeatability, shapes ------------------------------------------------------------------

SAMPLERS = {
    "bernoulli": lambda d: ag.bernoulli(ag.full((50,), 0.5, device=d)),
    "bernoulli(p)": lambda d: ag.ones(50, device=d).bernoulli(0.3),
    "multinomial": lambda d: ag.ones(3, 20, device=d).multinomial(5),
    "multinomial(replacement)": lambda d: ag.ones(3, 20, device=d).multinomial(30, True),
    "normal": lambda d: ag.normal(ag.zeros(50, device=d), ag.ones(50, device=d)),
    "normal(size)": lambda d: ag.normal(0.0, 1.0, (50,), device=d),
    "poisson": lambda d: ag.poisson(ag.arange(50, device=d).float()),
    "randint_like": lambda d: ag.randint_like(ag.zeros(50, device=d), 100),
    "random_": lambda d: ag.zeros(50, device=d).random_(),
    "bernoulli_": lambda d: ag.zeros(50, device=d).bernoulli_(0.5),
    "exponential_": lambda d: ag.zeros(50, device=d).exponential_(),
    "geometric_": lambda d: ag.zeros(50, device=d).geometric_(0.5),
    "cauchy_": lambda d: ag.zeros(50, device=d).cauchy_(),
    "log_normal_": lambda d: ag.zeros(50, device=d).log_normal_(),
}


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_manual_seed_repeats_draws(device, name):
    ag.manual_seed(7)
    first, second = host(SAMPLERS[name](device)), host(SAMPLERS[name](device))
    ag.manual_seed(7)
    again = host(SAMPLERS[name](device))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)          # (the generator moved on)


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_rng_state_round_trip(name):
    state = ag.get_rng_state()
    a = host(SAMPLERS[name]("cpu"))
    ag.set_rng_state(state)
    np.testing.assert_array_equal(a, host(SAMPLERS[name]("cpu")))


def test_empty_inputs(device):
    z = ag.zeros(2, 0, device=device)
    for out in (ag.bernoulli(z), ag.poisson(z), ag.normal(z, 1.0), ag.randint_like(z, 3), z.exponential_(),
                z.random_(), z.bernoulli_(0.5), z.geometric_(0.5), z.cauchy_(), z.log_normal_()):
        assert out.shape == (2, 0)


# ---- in-place rules -------------------------------------------------------------------------

IN_PLACE = {
    "bernoulli_": ("BernoulliBackward2", lambda t: t.bernoulli_(0.5)),
    "bernoulli_(tensor)": ("BernoulliBackward1", lambda t: t.bernoulli_(ag.full((3,), 0.5, device=t.device))),
    "random_": ("RandomBackward2", lambda t: t.random_()),
    "random_(to)": ("RandomBackward1", lambda t: t.random_(4)),
    "random_(from, to)": ("RandomBackward0", lambda t: t.random_(1, 4)),
    "exponential_": ("ExponentialBackward0", lambda t: t.exponential_()),
    "geometric_": ("GeometricBackward0", lambda t: t.geometric_(0.5)),
    "cauchy_": ("CauchyBackward0", lambda t: t.cauchy_()),
    "log_normal_": ("LogNormalBackward0", lambda t: t.log_normal_()),
}


@pytest.mark.parametrize("name", list(IN_PLACE))
def test_in_place_rules(device, torch, name):
    node, fill = IN_PLACE[name]
    leaf = ag.ones(3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        fill(leaf)
    assert leaf._version == 0
    with ag.no_grad():
        assert fill(leaf) is leaf and leaf._version == 1
    y = leaf * 2
    assert fill(y) is y and y.grad_fn.name() == node and y._version == 1
    y.sum().backward()
    assert (host(leaf.grad) == 0).all()             # the old values get no gradient (PyTorch's)
    with pytest.raises(RuntimeError, match="memory location"):
        fill(ag.ones(1, device=device).expand(3))
    saved = ag.ones(3, device=device, requires_grad=True) * 1
    z = saved.exp()
    fill(saved)                                          # exp saved its result, not its input: fine
    w = ag.ones(3, device=device, requires_grad=True)
    p = w * 1
    q = p * p
    fill(p)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        q.sum().backward()
    del z


def test_bernoulli_and_poisson_pass_no_gradient(device, torch):
    p = ag.full((4,), 0.5, device=device, requires_grad=True)
    b = ag.bernoulli(p)
    assert b.requires_grad and b.grad_fn.name() == "BernoulliBackward0"
    b.sum().backward()
    assert (host(p.grad) == 0).all()
    assert not ag.multinomial(p, 2).requires_grad


# ---- bad input --------------------------------------------------------------------------------

def _bad_cases(L):
    f = lambda *s: L.full(s, 0.5)                    # noqa: E731  (no draw: the generator must not move)
    i = L.ones(2, 3, dtype=L.int64)
    return {
        "bernoulli(int)": ("bernoulli", lambda: L.bernoulli(i)),
        "bernoulli(p > 1)": ("bernoulli", lambda: L.bernoulli(f(3) + 1)),
        "bernoulli(nan)": ("bernoulli", lambda: L.bernoulli(L.tensor([math.nan]))),
        "bernoulli(x, 1.5)": ("bernoulli", lambda: L.bernoulli(f(3), 1.5)),
        "bernoulli(x, tensor)": ("bernoulli", lambda: L.bernoulli(f(3), f(3))),
        "bernoulli(str)": ("bernoulli", lambda: L.bernoulli("a")),
        "bernoulli_(-0.1)": ("bernoulli_", lambda: f(3).bernoulli_(-0.1)),
        "bernoulli_(shape)": ("bernoulli_", lambda: f(2, 3).bernoulli_(f(4))),
        "bernoulli_(int p)": ("bernoulli_", lambda: f(2, 3).bernoulli_(i)),
        "multinomial(int)": ("multinomial", lambda: L.multinomial(i, 1)),
        "multinomial(3-d)": ("multinomial", lambda: L.multinomial(f(2, 2, 2), 1)),
        "multinomial(0 samples)": ("multinomial", lambda: L.multinomial(f(3), 0)),
        "multinomial(too many)": ("multinomial", lambda: L.multinomial(f(3), 4)),
        "multinomial(negative)": ("multinomial", lambda: L.multinomial(f(3) - 2, 1)),
        "multinomial(inf)": ("multinomial", lambda: L.multinomial(L.tensor([1.0, math.inf]), 1)),
        "multinomial(nan)": ("multinomial", lambda: L.multinomial(L.tensor([1.0, math.nan]), 1, True)),
        "multinomial(sum 0)": ("multinomial", lambda: L.multinomial(L.zeros(2, 3), 1)),
        "multinomial(float n)": ("multinomial", lambda: L.multinomial(f(3), 1.5)),
        "normal(std < 0)": ("normal", lambda: L.normal(f(3), -1.0)),
        "normal(std tensor < 0)": ("normal", lambda: L.normal(f(3), f(3) - 2)),
        "normal(std nan)": ("normal", lambda: L.normal(0.0, math.nan, (2,))),
        "normal(int mean)": ("normal", lambda: L.normal(i, 1.0)),
        "normal(shapes)": ("normal", lambda: L.normal(f(2, 3), f(4))),
        "normal(no size)": ("normal", lambda: L.normal(1.0, 2.0)),
        "normal(size with tensor)": ("normal", lambda: L.normal(f(3), 1.0, (3,))),
        "normal(int dtype)": ("normal", lambda: L.normal(0.0, 1.0, (2,), dtype=L.int64)),
        "normal(negative size)": ("normal", lambda: L.normal(0.0, 1.0, (-1,))),
        "poisson(negative)": ("poisson", lambda: L.poisson(f(3) - 2)),
        "poisson(nan)": ("poisson", lambda: L.poisson(L.tensor([math.nan]))),
        "poisson(int)": ("poisson", lambda: L.poisson(i)),
        "randint_like(low >= high)": ("randint_like", lambda: L.randint_like(f(3), 5, 2)),
        "randint_like(float)": ("randint_like", lambda: L.randint_like(f(3), 1.5)),
        "randint_like(bool 5)": ("out of bounds", lambda: L.randint_like(L.ones(2, dtype=L.bool), 5)),
        "randint_like(int grad)": ("randint_like", lambda: L.randint_like(i, 5, requires_grad=True)),
        "random_(int32 big)": ("out of bounds", lambda: L.ones(2, dtype=L.int32).random_(2 ** 40)),
        "random_(from >= to)": ("random_", lambda: f(3).random_(5, 2)),
        "random_(float)": ("random_", lambda: f(3).random_(1.5)),
        "exponential_(0)": ("exponential_", lambda: f(3).exponential_(0.0)),
        "exponential_(nan)": ("exponential_", lambda: f(3).exponential_(math.nan)),
        "exponential_(int)": ("xponential", lambda: i.clone().exponential_()),
        "geometric_(1)": ("geometric_", lambda: f(3).geometric_(1.0)),
        "geometric_(bool)": ("geometric_", lambda: L.ones(2, dtype=L.bool).geometric_(0.5)),
        "cauchy_(sigma 0)": ("cauchy_", lambda: f(3).cauchy_(0.0, 0.0)),
        "cauchy_(int)": ("auchy", lambda: i.clone().cauchy_()),
        "log_normal_(std < 0)": ("log_normal_", lambda: f(3).log_normal_(0.0, -1.0)),
        "log_normal_(int)": ("log_normal_", lambda: i.clone().log_normal_()),
    }


@pytest.mark.parametrize("name", list(_bad_cases(ag)))
def test_bad_input_as_torch(torch, name):
    word, ours = _bad_cases(ag)[name]
    _, theirs = _bad_cases(torch)[name]
    with pytest.raises(Exception) as te:
        theirs()
    state = ag.get_rng_state()
    with pytest.raises(Exception) as oe:
        ours()
    assert type(oe.value) is type(te.value), (oe.value, te.value)
    assert word in str(oe.value), str(oe.value)
    np.testing.assert_array_equal(host(state), host(ag.get_rng_state()))     # no draw was made


def test_failed_in_place_call_changes_nothing(device):
    t = ag.tensor([0.25, 0.5], device=device)
    for bad in (lambda: t.bernoulli_(2.0), lambda: t.bernoulli_(ag.ones(3, device=device)),
                lambda: t.exponential_(-1), lambda: t.geometric_(0), lambda: t.random_(3, 1),
                lambda: t.cauchy_(0, -1), lambda: t.log_normal_(0, 0), lambda: t.bernoulli_(generator=object())):
        with pytest.raises((RuntimeError, TypeError)):
            bad()
        assert t._version == 0 and host(t).tolist() == [0.25, 0.5]


def test_generators_that_are_not_ag_generators_are_refused():
    # (ag.Generator draws: tests/test_generator.py)
    with pytest.raises(TypeError, match="multinomial"):
        ag.multinomial(ag.ones(3), 1, generator=object())
    assert ag.bernoulli(ag.ones(3), generator=None).shape == (3,)
