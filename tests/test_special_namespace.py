"""ag.special against torch.special: every public torch.special function has a
counterpart, and the names that map to top-level functions behave as torch.special's
(its signatures where they differ: dim required, dtype keyword-only, decimals
keyword-only), values and gradients included."""
import inspect

import numpy as np
import pytest

import autograd_gpu as ag
from oracle import check, gradcheck, tensor_pair, assert_matches


def _torch_special_functions(torch):
    objects = {n: getattr(torch.special, n) for n in dir(torch.special) if not n.startswith("_")}
    return sorted(n for n, o in objects.items() if callable(o) and not inspect.isclass(o) and not inspect.ismodule(o))


def test_every_torch_special_function_exists(torch):
    missing = [n for n in _torch_special_functions(torch) if not callable(getattr(ag.special, n, None))]
    assert not missing, f"torch.special functions missing from ag.special: {missing}"


def test_all_lists_the_public_names():
    assert sorted(set(ag.special.__all__)) == sorted(ag.special.__all__)
    for name in ag.special.__all__:
        assert callable(getattr(ag.special, name)), name


# the names that are top-level functions: the same objects (no wrapper where the signature agrees)
SAME = ["erf", "erfc", "erfinv", "exp2", "expm1", "log1p", "round", "logit", "sinc", "xlogy"]


@pytest.mark.parametrize("name", SAME)
def test_aliases_are_the_top_level_functions(name):
    assert getattr(ag.special, name) is getattr(ag, name)


CASES = [
    ("softmax",        lambda m, x: m.special.softmax(x, 1),                       [(3, 4)], {}),
    ("softmax_dtype",  lambda m, x: m.special.softmax(x, -1, m.float64),           [(3, 4)], {}),
    ("softmax_kw",     lambda m, x: m.special.softmax(x, dim=0, dtype=m.float64),  [(3, 4)], {}),
    ("log_softmax",    lambda m, x: m.special.log_softmax(x, 0),                   [(3, 4)], {}),
    ("log_softmax_dt", lambda m, x: m.special.log_softmax(x, 1, dtype=m.float64), [(3, 4)], {}),
    ("logsumexp",      lambda m, x: m.special.logsumexp(x, 1),                     [(3, 4)], {}),
    ("logsumexp_keep", lambda m, x: m.special.logsumexp(x, (0, 1), True),          [(3, 4)], {}),
    ("round_decimals", lambda m, x: m.special.round(x * 10, decimals=1), [(3, 4)], {"name": False}),
    ("logit_eps",      lambda m, x: m.special.logit(x, 0.1), [(3, 4)], dict(low=0.05, high=0.95)),
    ("xlogy_number",   lambda m, y: m.special.xlogy(2.0, y),                       [(3, 4)], {"low": 0.1, "high": 3}),
    ("erfinv",         lambda m, x: m.special.erfinv(x),                           [(3, 4)], dict(low=-0.9, high=0.9)),
    ("exp2",           lambda m, x: m.special.exp2(x),                             [(3, 4)], {}),
    ("sinc",           lambda m, x: m.special.sinc(x),                             [(3, 4)], {}),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_against_pytorch(torch, case, dtype, device):
    _, fn, inputs, opts = case
    check(torch, fn, *inputs, dtype=dtype, device=device, **opts)


# (round: zero gradient; the dtype=float64 forms: the same function as their case without it)
GRADCHECKED = [c for c in CASES if c[0] not in ("round_decimals", "softmax_dtype", "softmax_kw", "log_softmax_dt")]


@pytest.mark.parametrize("case", GRADCHECKED, ids=[c[0] for c in GRADCHECKED])
def test_gradcheck(case, device):
    _, fn, inputs, opts = case
    gradcheck(fn, *inputs, device=device, low=opts.get("low", -2.0), high=opts.get("high", 2.0))


BAD = [
    (lambda m, x: m.special.softmax(x), TypeError, "softmax"),
    (lambda m, x: m.special.softmax(x, None), TypeError, "softmax"),
    (lambda m, x: m.special.softmax(x, 5), IndexError, "softmax"),
    (lambda m, x: m.special.log_softmax(x), TypeError, "log_softmax"),
    (lambda m, x: m.special.log_softmax(x, 0, m.float64), TypeError, "log_softmax"),
    (lambda m, x: m.special.log_softmax(x, 1.5), TypeError, "log_softmax"),
    (lambda m, x: m.special.logsumexp(x), TypeError, "logsumexp"),
    (lambda m, x: m.special.logsumexp(x, None), TypeError, "logsumexp"),
    (lambda m, x: m.special.round(x, 1), TypeError, "round"),
    (lambda m, x: m.special.xlogy(2, 3), TypeError, "xlogy"),
    (lambda m, x: m.special.exp2(2), TypeError, "exp2"),
    (lambda m, x: m.special.expit(x, 1), TypeError, "expit"),
]


@pytest.mark.parametrize("case", range(len(BAD)))
def test_bad_input(torch, device, case):
    fn, exc, name = BAD[case]
    a = np.array([[0.5, -1.5, 2.0], [1.0, 0.25, -3.0]])
    with pytest.raises(exc):
        fn(torch, torch.tensor(a))
    x = ag.tensor(a, device=device, requires_grad=True)
    with pytest.raises(exc, match=name):
        fn(ag, x)
    assert x.tolist() == a.tolist() and x._version == 0 and x.grad is None


def test_softmax_of_an_integer_tensor_with_dtype(torch, device):
    a = np.array([[1, 2, 3], [0, -1, 4]])
    o = ag.special.softmax(ag.tensor(a, device=device), 1, dtype=ag.float32)
    r = torch.special.softmax(torch.tensor(a), 1, dtype=torch.float32)
    assert o.dtype is ag.float32
    assert_matches(o, r, rtol=1e-6)


def test_gradients_through_the_wrappers(torch, device):
    x, xt = tensor_pair(torch, np.random.default_rng(0).standard_normal((2, 5)), device)
    (ag.special.log_softmax(x, 1).sum() + ag.special.logsumexp(x, 0).sum() * 2 + ag.special.softmax(x, 0)[0].sum()
     ).backward()
    (torch.special.log_softmax(xt, 1).sum() + torch.special.logsumexp(xt, 0).sum() * 2
     + torch.special.softmax(xt, 0)[0].sum()).backward()
    assert_matches(x.grad, xt.grad)
