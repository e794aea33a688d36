"""The ops of autograd_gpu/ops/statistics.py against PyTorch CPU: forward values,
gradients (float64 and float32), finite-difference gradchecks to second order,
and edge cases (dtypes, 0-d and empty inputs, NaN and inf, ties)."""
import math

import numpy as np
import pytest

import autograd_gpu as ag
from oracle import backward_outcome, check, gradcheck, to_numpy

NAN, INF = math.nan, math.inf
# (PyTorch's oracle warns of a correction >= the count; ours gives the same NaN silently)
pytestmark = pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0:UserWarning")


def with_nans(shape, seed=0, every=3):
    """Normal draws with a NaN at every `every`-th entry."""
    a = np.random.default_rng(seed).standard_normal(shape)
    a.reshape(-1)[::every] = np.nan
    return a


def with_zeros(shape, seed=0, at=((1,), (4,))):
    a = np.random.default_rng(seed).uniform(0.5, 1.5, shape) * np.sign(np.random.default_rng(seed + 7).
                                                                           standard_normal(shape))
    for i in at:
        a[(...,) + i] = 0
    return a


def q(*values):
    return np.array(values, dtype=float)


ROWS_NAN = np.array([[NAN, 1.0, 3.0, 2.0], [NAN, NAN, NAN, 7.0], [4.0, NAN, -1.0, 0.5]])
TIES = np.array([[1.0, 2.0, 1.0, 2.0, 3.0], [0.5, 0.5, 0.5, -1.0, 0.5]])

#      id                      fn(lib, *inputs)                                            inputs                     options
CASES = [
    ("nansum",                 lambda m, x: m.nansum(x),                                   [(3, 4)],                  {}),
    ("nansum_nan",             lambda m, x: x.nansum(),                                    [], dict(arrays=[with_nans((3, 4))], fd=False)),
    ("nansum_dim",             lambda m, x: m.nansum(x, 1),                                [], dict(arrays=[with_nans((3, 4))], fd=False)),
    ("nansum_dims_keepdim",    lambda m, x: x.nansum((0, 2), keepdim=True),                [(2, 3, 4)],               {}),
    ("nansum_dtype",           lambda m, x: m.nansum(x, dim=0, dtype=m.float64),           [(3, 4)],                  {}),
    ("nanmean",                lambda m, x: m.nanmean(x),                                  [], dict(arrays=[with_nans((3, 4))], fd=False)),
    ("nanmean_dim",            lambda m, x: x.nanmean(-1, keepdim=True),                   [], dict(arrays=[with_nans((3, 4), 1)], fd=False)),
    ("nanmean_plain",          lambda m, x: x.nanmean(0),                                  [(3, 4)],                  {}),
    ("nanmean_dtype",          lambda m, x: m.nanmean(x, 1, dtype=m.float64),              [(3, 4)],                  {}),
    ("nanmedian",              lambda m, x: m.nanmedian(x),                                [(3, 5)],                  {}),
    ("nanmedian_nan",          lambda m, x: x.nanmedian(),                                 [], dict(arrays=[with_nans((3, 5))], fd=False)),
    ("nanmedian_all_nan",      lambda m, x: x.nanmedian(),                                 [], dict(arrays=[np.full((2, 2), NAN)], fd=False)),
    ("nanmedian_dim",          lambda m, x: m.nanmedian(x, 1),                             [(3, 5)],                  {}),
    ("nanmedian_dim_nan",      lambda m, x: x.nanmedian(dim=1, keepdim=True),              [], dict(arrays=[ROWS_NAN], fd=False)),
    ("nanmedian_dim0",         lambda m, x: tuple(m.nanmedian(x, 0)),                      [(4, 3)],                  {}),
    ("quantile",               lambda m, x: m.quantile(x, 0.3),                            [(3, 5)],                  {}),
    ("quantile_dim",           lambda m, x: x.quantile(0.75, dim=1),                       [(3, 5)],                  {}),
    ("quantile_q_tensor",      lambda m, x, qq: m.quantile(x, qq, 0, True),                [(5, 3)],                  dict(qs=q(0.1, 0.45, 0.9))),
    ("quantile_q_tensor_all",  lambda m, x, qq: x.quantile(qq),                            [(3, 4)],                  dict(qs=q(0.25, 1.0, 0.0), fd=False)),
    ("quantile_lower",         lambda m, x: m.quantile(x, 0.3, 1, interpolation="lower"),  [(3, 5)],                  {}),
    ("quantile_higher",        lambda m, x: x.quantile(0.3, -1, interpolation="higher"),   [(3, 5)],                  {}),
    ("quantile_midpoint",      lambda m, x: m.quantile(x, 0.3, 0, interpolation="midpoint"), [(4, 3)],               {}),
    ("quantile_nearest",       lambda m, x, qq: m.quantile(x, qq, 1, interpolation="nearest"), [(2, 7)],             dict(qs=q(0.25, 0.5, 0.75, 1 / 12), fd=False)),
    ("quantile_keepdim_all",   lambda m, x: m.quantile(x, 0.6, keepdim=True),              [(2, 3, 2)],               {}),
    ("quantile_nan_row",       lambda m, x: m.quantile(x, 0.5, 1),                         [], dict(arrays=[ROWS_NAN], fd=False)),
    ("nanquantile",            lambda m, x: m.nanquantile(x, 0.4, 1),                      [], dict(arrays=[ROWS_NAN], fd=False)),
    ("nanquantile_q_tensor",   lambda m, x, qq: x.nanquantile(qq, dim=0, keepdim=True),    [],                        dict(arrays=[with_nans((5, 3), 2, 4), q(0.2, 0.5)], fd=False)),
    ("nanquantile_plain",      lambda m, x: m.nanquantile(x, 0.35, interpolation="midpoint"), [(3, 4)],             {}),
    ("var_mean",               lambda m, x: m.var_mean(x),                                 [(3, 4)],                  dict(name=False)),
    ("var_mean_dim",           lambda m, x: m.var_mean(x, 1, keepdim=True),                [(3, 4)],                  dict(name=False)),
    ("var_mean_unbiased",      lambda m, x: m.var_mean(x, 0, False),                       [(3, 4)],                  dict(name=False)),
    ("var_mean_unbiased_only", lambda m, x: m.var_mean(x, False),                          [(3, 4)],                  dict(name=False)),
    ("var_mean_correction",    lambda m, x: m.var_mean(x, (0, 1), correction=2),           [(3, 4)],                  dict(name=False)),
    ("std_mean",               lambda m, x: m.std_mean(x),                                 [(3, 4)],                  dict(name=False)),
    ("std_mean_dim",           lambda m, x: m.std_mean(x, dim=0, correction=0, keepdim=True), [(3, 4)],              dict(name=False)),
    ("aminmax",                lambda m, x: tuple(m.aminmax(x)),                           [(3, 4)],                  dict(name=False)),
    ("aminmax_max_grad",       lambda m, x: m.aminmax(x)[1:],                              [(3, 4)],                  dict(name=False)),
    ("aminmax_dim",            lambda m, x: tuple(x.aminmax(dim=1, keepdim=True)),         [(3, 4)],                  dict(name=False)),
    ("aminmax_ties",           lambda m, x: tuple(x.aminmax(dim=0)),                       [],                        dict(arrays=[TIES], name=False, fd=False)),
    ("cumprod",                lambda m, x: m.cumprod(x, 1),                               [(3, 4)],                  {}),
    ("cumprod_method",         lambda m, x: x.cumprod(dim=0),                              [(3, 4)],                  {}),
    ("cumprod_zeros",          lambda m, x: m.cumprod(x, -1),                              [],                        dict(arrays=[with_zeros((3, 6))])),
    ("cumprod_one_zero",       lambda m, x: x.cumprod(1),                                  [],                        dict(arrays=[with_zeros((2, 5), 3, at=((2,),))])),
    ("cumprod_zero_first",     lambda m, x: x.cumprod(0),                                  [],                        dict(arrays=[with_zeros((4, 2), 4, at=((0, 0), (3, 1)))])),
    ("cumprod_dtype",          lambda m, x: m.cumprod(x, 0, dtype=m.float64),              [(3, 4)],                  {}),
    ("logcumsumexp",           lambda m, x: m.logcumsumexp(x, 1),                          [(3, 5)],                  {}),
    ("logcumsumexp_method",    lambda m, x: x.logcumsumexp(dim=0),                         [(4, 2, 3)],               {}),
    ("logcumsumexp_wide",      lambda m, x: x.logcumsumexp(0),                             [(6,)],                    dict(low=-300.0, high=300.0, fd=False)),
    ("cummax",                 lambda m, x: tuple(m.cummax(x, 1)),                         [(3, 5)],                  {}),
    ("cummax_method",          lambda m, x: tuple(x.cummax(dim=0)),                        [(5, 3)],                  {}),
    ("cummax_ties",            lambda m, x: tuple(x.cummax(1)),                            [],                        dict(arrays=[TIES], fd=False)),
    ("cummax_nan",             lambda m, x: tuple(m.cummax(x, 1)),                         [],                        dict(arrays=[ROWS_NAN], fd=False)),
    ("cummin",                 lambda m, x: tuple(m.cummin(x, -1)),                        [(3, 5)],                  {}),
    ("cummin_ties",            lambda m, x: tuple(x.cummin(1)),                            [],                        dict(arrays=[TIES], fd=False)),
    ("cummin_nan",             lambda m, x: tuple(x.cummin(dim=1)),                        [],                        dict(arrays=[ROWS_NAN], fd=False)),
    ("diff",                   lambda m, x: m.diff(x),                                     [(3, 5)],                  dict(name=False)),
    ("diff_n2_dim0",           lambda m, x: x.diff(2, 0),                                  [(5, 3)],                  dict(name=False)),
    ("diff_prepend_append",    lambda m, x, a, b: m.diff(x, 1, 1, prepend=a, append=b),    [(3, 4), (3, 1), (3, 2)],  dict(name=False)),
    ("diff_append_kw",         lambda m, x, b: x.diff(n=3, dim=-1, append=b),              [(2, 3), (2, 2)],          dict(name=False)),
]
IDS = [c[0] for c in CASES]


def _inputs(shapes, opts):
    """The shapes (or fixed arrays) of a case, with its q values appended."""
    arrays = opts.get("arrays")
    if arrays is None:
        rng = np.random.default_rng(0)
        arrays = [rng.uniform(opts.get("low", -2.0), opts.get("high", 2.0), s) for s in shapes]
    return arrays + ([opts["qs"]] if "qs" in opts else [])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_against_pytorch(torch, case, dtype, device):
    _, fn, shapes, opts = case
    check(torch, fn, dtype=dtype, device=device, name=opts.get("name", False), arrays=_inputs(shapes, opts))


GRAD_NAMES = [("nanmedian", "NanmedianBackward0"), ("nanmedian_dim", "NanmedianBackward1"),
              ("cumprod", "CumprodBackward0"), ("logcumsumexp", "LogcumsumexpBackward0"),
              ("cummax", "CummaxBackward0"), ("cummin", "CumminBackward0")]


@pytest.mark.parametrize("case, name", GRAD_NAMES, ids=[c for c, _ in GRAD_NAMES])
def test_grad_fn_names_are_pytorchs(torch, case, name, device):
    _, fn, shapes, opts = CASES[IDS.index(case)]
    check(torch, fn, device=device, name=name, arrays=_inputs(shapes, opts))


@pytest.mark.parametrize("case", [c for c in CASES if c[3].get("fd", True)], ids=[c[0] for c in CASES if c[3].get("fd", True)])
def test_gradcheck(case, device):
    _, fn, shapes, opts = case
    gradcheck(fn, device=device, arrays=_inputs(shapes, opts))


def test_cumprod_gradient_with_zeros_to_third_order(torch, device):
    """Gradients of gradients through cumprod's zero handling (create_graph), against PyTorch's."""
    a = with_zeros((2, 5), 5, at=((1,), (3,)))
    outs = []
    for lib, dev in ((ag, device), (torch, "cpu")):
        x = lib.tensor(a, dtype=lib.float64, device=dev, requires_grad=True)
        y = (lib.cumprod(x, 1) * lib.arange(5.0, dtype=lib.float64, device=dev)).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (gg,) = lib.autograd.grad((g * g).sum(), x, create_graph=True)
        (ggg,) = lib.autograd.grad(gg.sum(), x)
        outs.append([to_numpy(t) for t in (g, gg, ggg)])
    for o, t in zip(*outs):
        np.testing.assert_allclose(o, t, rtol=1e-10, atol=1e-12)


# ---- edge cases against PyTorch ------------------------------------------------------

def _same(ours, theirs, half=False):
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            _same(o, t, half)
        return
    a, b = to_numpy(ours), to_numpy(theirs)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], (ours.dtype, theirs.dtype)
    assert a.shape == b.shape, (a.shape, b.shape)
    assert ours.requires_grad == theirs.requires_grad
    tol = dict(rtol=2e-3, atol=2e-3) if half else dict(rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), equal_nan=True, **tol)


def compare(torch, fn, array, dtype, device, rg=False):
    """fn on both libraries: equal results (values, dtype, shape, requires_grad),
    or the same kind of exception, ours naming the op."""
    x = ag.tensor(array, dtype=getattr(ag, dtype), device=device, requires_grad=rg)
    tx = torch.tensor(array, dtype=getattr(torch, dtype), requires_grad=rg)
    try:
        expected = fn(torch, tx)
    except Exception as e:
        kind = next(k for k in (NotImplementedError, IndexError, TypeError, ValueError, RuntimeError)
                    if isinstance(e, k))
        with pytest.raises(kind):
            fn(ag, x)
        return None
    got = fn(ag, x)
    _same(got, expected, half=dtype == "float16")
    return got


FORMS = {
    "nansum": lambda m, x: m.nansum(x), "nansum_dim": lambda m, x: x.nansum(-1, keepdim=True),
    "nanmean": lambda m, x: m.nanmean(x), "nanmean_dim": lambda m, x: x.nanmean(0),
    "nanmedian": lambda m, x: m.nanmedian(x), "nanmedian_dim": lambda m, x: tuple(x.nanmedian(-1)),
    "quantile": lambda m, x: m.quantile(x, 0.4), "quantile_dim": lambda m, x: x.quantile(0.5, -1, True),
    "nanquantile": lambda m, x: m.nanquantile(x, 0.7, 0, interpolation="nearest"),
    "var_mean": lambda m, x: m.var_mean(x), "std_mean_dim": lambda m, x: m.std_mean(x, -1),
    "aminmax": lambda m, x: tuple(m.aminmax(x)), "aminmax_dim": lambda m, x: tuple(x.aminmax(dim=0, keepdim=True)),
    "count_nonzero": lambda m, x: m.count_nonzero(x), "count_nonzero_dim": lambda m, x: x.count_nonzero(-1),
    "count_nonzero_dims": lambda m, x: m.count_nonzero(x, (0, -1)),
    "cumprod": lambda m, x: m.cumprod(x, -1), "cumprod_dtype": lambda m, x: x.cumprod(0, dtype=m.int32),
    "logcumsumexp": lambda m, x: m.logcumsumexp(x, 0), "cummax": lambda m, x: tuple(m.cummax(x, 0)),
    "cummin": lambda m, x: tuple(x.cummin(-1)), "diff": lambda m, x: m.diff(x),
    "diff_n3": lambda m, x: x.diff(3, 0),
}
DTYPES = ["float16", "float32", "float64", "int32", "int64", "bool"]
DATA = {
    "2x3": np.array([[1.5, -2.0, 0.0], [3.0, 0.5, -1.0]]),
    "0-d": np.array(1.25),
    "empty": np.zeros((0,)),
    "2x0": np.zeros((2, 0)),
    "0x3": np.zeros((0, 3)),
    "nan_inf": np.array([[NAN, 1.0, INF, -2.0], [-INF, 0.0, 3.0, NAN], [0.5, 0.5, -INF, 2.0]]),
    "ties": np.array([[2.0, 2.0, 1.0, 1.0, 3.0], [1.0, 1.0, 1.0, 1.0, 1.0]]),
    "ones_4": np.ones((4, 1, 3)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("data", list(DATA))
@pytest.mark.parametrize("form", list(FORMS))
def test_edge_cases_match_pytorch(torch, form, data, dtype, device):
    a = DATA[data]
    if dtype != "bool" and not dtype.startswith("float"):
        a = np.nan_to_num(a, nan=0, posinf=7, neginf=-7)
    elif dtype == "bool":
        a = np.nan_to_num(a) > 0
    compare(torch, _form(form, data), a, dtype, device)


def _form(form, data):
    """The form; of var_mean/std_mean over infinities only the spread, which is
    PyTorch's (its mean there is not: test_var_mean_of_infinities_is_mean_of_infinities)."""
    fn = FORMS[form]
    if data == "nan_inf" and form in SPREAD_MEAN:
        return lambda m, x: fn(m, x)[0]
    return fn


SPREAD_MEAN = ("var_mean", "std_mean_dim")


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("form", SPREAD_MEAN)
def test_var_mean_of_infinities_is_mean_of_infinities(torch, form, dtype, device):
    """Pinned divergence: PyTorch's var_mean/std_mean take the mean from their
    Welford pass, where an infinity followed by a finite value gives NaN
    (inf - inf): torch.std_mean([0.5, 0.5, -inf, 2])[1] is NaN, torch.mean of
    it -inf. Ours is mean()'s value; the spread is PyTorch's."""
    a = DATA["nan_inf"]
    spread, mean = FORMS[form](ag, ag.tensor(a, dtype=getattr(ag, dtype), device=device))
    t_spread, _ = FORMS[form](torch, torch.tensor(a, dtype=getattr(torch, dtype)))
    _same(spread, t_spread, half=dtype == "float16")
    dims = dict(dim=-1) if form == "std_mean_dim" else {}
    _same(mean, torch.tensor(a, dtype=getattr(torch, dtype)).mean(**dims), half=dtype == "float16")


@pytest.mark.parametrize("data", ["2x3", "0-d", "nan_inf", "ties", "ones_4"])
@pytest.mark.parametrize("form", list(FORMS))
def test_results_require_grad_as_pytorchs(torch, form, data, device):
    compare(torch, _form(form, data), DATA[data], "float32", device, rg=True)


def test_nanmedian_of_a_row_of_nans_picks_its_first_nan(torch, device):
    """Pinned divergence: PyTorch's index for an all-NaN row is wherever its
    std::nth_element leaves a NaN (0 for 3 NaNs, 2 for 4, 5 for 7); ours is the
    first NaN (the gradient goes there). The value is NaN in both."""
    a = np.full((2, 4), NAN)
    a[1, 2] = 1.0
    x = ag.tensor(a, device=device, requires_grad=True)
    v, i = ag.nanmedian(x, 1)
    tv, ti = torch.nanmedian(torch.tensor(a), 1)
    np.testing.assert_array_equal(to_numpy(v), tv.numpy())
    assert to_numpy(i).tolist() == [0, 2] and ti[1] == 2 and math.isnan(a[0, int(ti[0])])
    v.sum().backward()
    assert to_numpy(x.grad).tolist() == [[1, 0, 0, 0], [0, 0, 1, 0]]


def test_diff_promotes_and_broadcasts_nothing(torch, device):
    """prepend/append of another dtype promote as cat does; shapes must match off the dim."""
    x = np.arange(6.0).reshape(2, 3)
    for lib in (ag, torch):
        kw = {} if lib is torch else dict(device=device)
        r = lib.diff(lib.tensor(x, **kw).long(), prepend=lib.tensor([[0.5], [1.5]], **kw))
        assert str(r.dtype).endswith("float32")
        np.testing.assert_allclose(to_numpy(r), [[-0.5, 1, 1], [1.5, 1, 1]])
        with pytest.raises(RuntimeError, match="diff"):
            lib.diff(lib.tensor(x, **kw), append=lib.ones(3, 1, **kw))
    b = ag.tensor([True, False, False, True], device=device)
    np.testing.assert_array_equal(to_numpy(ag.diff(b, 2)), torch.diff(torch.tensor([True, False, False, True]), 2))


def test_diff_of_an_empty_dim_and_order_zero(torch, device):
    x = ag.tensor(np.zeros((2, 0)), device=device)
    assert ag.diff(x).shape == torch.diff(torch.zeros(2, 0)).shape
    y = ag.tensor([1.0, 4.0, 9.0], device=device, requires_grad=True)
    z = ag.diff(y, 0, prepend=ag.ones(2, device=device))        # order 0: input as is (a copy)
    assert z.shape == (3,) and z.requires_grad and z is not y


def test_quantile_q_gradient_and_nearest_rounding(torch, device):
    """q's gradient is linear interpolation's (PyTorch's); 'nearest' rounds half to even."""
    a, qs = np.array([3.0, -1.0, 2.0, 7.0, 0.5, 4.0]), np.array([0.3, 0.5, 0.9])
    res = []
    for lib, dev in ((ag, device), (torch, "cpu")):
        x = lib.tensor(a, device=dev, requires_grad=True)
        qq = lib.tensor(qs, dtype=x.dtype, device=dev, requires_grad=True)
        lib.quantile(x, qq).sum().backward()
        near = lib.quantile(x.detach(), lib.tensor([0.1, 0.3, 0.5, 0.7, 0.9], dtype=x.dtype, device=dev),
                            interpolation="nearest")
        res.append([to_numpy(t) for t in (x.grad, qq.grad, near)])
    for o, t in zip(*res):
        np.testing.assert_allclose(o, t, rtol=1e-6)


def test_logcumsumexp_is_exact_far_below_the_maximum(torch, device):
    """Entries far below a later maximum keep their own value (no exp underflow)."""
    a = np.array([-1000.0, 0.0, -2000.0, 5.0, -INF])
    x = ag.tensor(a, device=device)
    np.testing.assert_allclose(to_numpy(ag.logcumsumexp(x, 0)), torch.logcumsumexp(torch.tensor(a), 0).numpy())


@pytest.mark.parametrize("bad", [NAN, INF, -INF])
def test_scan_gradients_with_non_finite_input(torch, device, bad):
    """cumprod, logcumsumexp, cummax and cummin gradients where the input holds NaN or inf."""
    a = np.array([[0.5, bad, 2.0, -1.0], [1.5, 0.0, bad, 3.0]])
    for form in ("cumprod", "logcumsumexp", "cummax", "cummin"):
        fn = FORMS[form]
        outs = []
        for lib, dev in ((ag, device), (torch, "cpu")):
            x = lib.tensor(a, dtype=lib.float64, device=dev, requires_grad=True)
            y = fn(lib, x)
            y = y[0] if isinstance(y, tuple) else y
            y.backward(lib.tensor(np.linspace(-1, 1, 8).reshape(2, 4), dtype=lib.float64, device=dev))
            outs.append((to_numpy(y), to_numpy(x.grad)))
        for o, t in zip(*outs):
            np.testing.assert_allclose(o, t, rtol=1e-7, equal_nan=True, err_msg=form)


@pytest.mark.parametrize("call, kind, match", [
    (lambda x: ag.quantile(x, 1.5), RuntimeError, r"quantile\(\) q must be in the range"),
    (lambda x: ag.quantile(x, ag.tensor([0.5, 2.0], dtype=x.dtype, device=x.device)), RuntimeError, r"quantile\(\) q values"),
    (lambda x: ag.quantile(x, ag.tensor([[0.5]])), RuntimeError, r"quantile\(\) q must be a scalar or 1D"),
    (lambda x: ag.quantile(x, ag.tensor([0.5], dtype=ag.float32)), RuntimeError, "same dtype"),
    (lambda x: ag.nanquantile(x, 0.5, interpolation="cubic"), RuntimeError, "interpolation must be one of"),
    (lambda x: ag.quantile(x.long(), 0.5), RuntimeError, "float or double"),
    (lambda x: ag.quantile(x[:0], 0.5), RuntimeError, "non-empty"),
    (lambda x: ag.quantile(x, "a"), TypeError, "quantile"),
    (lambda x: ag.var_mean(x.long()), RuntimeError, "var_mean only support floating point"),
    (lambda x: ag.aminmax(x[:0]), RuntimeError, "aminmax"),
    (lambda x: ag.aminmax(x[:, :0], dim=1), IndexError, "aminmax"),
    (lambda x: ag.count_nonzero(x, (0, 0)), RuntimeError, "count_nonzero"),
    (lambda x: ag.logcumsumexp(x.long(), 0), NotImplementedError, "logcumsumexp"),
    (lambda x: ag.nanmean(x.int(), 0), RuntimeError, "nanmean"),
    (lambda x: ag.nanmedian(x > 0), NotImplementedError, "nanmedian"),
    (lambda x: ag.diff(x[0, 0]), RuntimeError, "at least one-dimensional"),
    (lambda x: ag.diff(x, -1), RuntimeError, "order must be non-negative"),
    (lambda x: ag.diff(x, prepend=ag.ones(3)), RuntimeError, "same dimension"),
    (lambda x: ag.diff(x, prepend=1.0), TypeError, "prepend"),
    (lambda x: ag.cummax(x, 2), IndexError, "cummax"),
    (lambda x: ag.cumprod(x, 0, dtype=ag.int64), RuntimeError, "cumprod"),
])
def test_bad_input(call, kind, match, device):
    x = ag.tensor(np.arange(6.0).reshape(2, 3), device=device, requires_grad=True)
    with pytest.raises(kind, match=match):
        call(x)
    assert x.grad is None and x._version == 0


def test_nanmedian_of_an_expanded_input(torch, device):
    """Pinned divergence (a PyTorch 2.13 bug, found by the fuzz test): its
    nanmedian(dim) of an expanded (stride 0) tensor returns garbage (0 or
    2.7e-38); ours is the nanmedian of the same values, which PyTorch gives
    for a contiguous copy."""
    a = np.array([[-2.5], [0.25]])
    x = ag.tensor(a, device=device).expand(2, 3)
    v, i = ag.nanmedian(x, 1)
    tv, ti = torch.nanmedian(torch.tensor(a).expand(2, 3).contiguous(), 1)
    np.testing.assert_array_equal(to_numpy(v), tv.numpy())
    np.testing.assert_array_equal(to_numpy(i), ti.numpy())


# What each node saves decides whether writing its input in place before backward is a version error:
# ours must save what PyTorch's saves (found by the random programs: cummax/cummin and nansum, composed or
# saving nothing, let the write through)
WRITTEN_AFTER = {
    "cummax": lambda L, x: x.cummax(0)[0], "cummin": lambda L, x: L.cummin(x, 1).values,
    "nansum": lambda L, x: x.nansum(0), "nansum all": lambda L, x: L.nansum(x),
    "nanmean": lambda L, x: x.nanmean(), "cumsum": lambda L, x: x.cumsum(0), "cumprod": lambda L, x: x.cumprod(1),
    "logcumsumexp": lambda L, x: x.logcumsumexp(0), "var_mean": lambda L, x: sum(L.var_mean(x, 0)),
    "aminmax": lambda L, x: x.aminmax(dim=0).max, "sort": lambda L, x: x.sort(0).values,
    "var_mean, mean only": lambda L, x: L.var_mean(x, 1)[1], "std_mean": lambda L, x: sum(L.std_mean(x, 0)),
}


def _std_mean_output_written(L, which):
    x = L.tensor([[0.5, 1.5], [2.0, 0.25]], dtype=L.float64, requires_grad=True) * 1
    std, mean = L.std_mean(x, 0)
    (std if which == "std" else mean).add_(1)
    return std.sum() + mean.sum()


@pytest.mark.parametrize("which", ["std", "mean"])
def test_std_mean_output_written_as_pytorch(torch, which):
    """var_mean and std_mean are one node each, as PyTorch's (found by the random programs: ours were a var
    or std node and a mean node, and the mean's saved nothing); std_mean saves its std output, not its mean."""
    outcomes = []
    for L in (torch, ag):
        loss = _std_mean_output_written(L, which)
        try:
            loss.backward()
            outcomes.append("ran")
        except RuntimeError as e:
            assert "modified by an inplace operation" in str(e), str(e)
            outcomes.append("version error")
    assert outcomes[1] == outcomes[0]
    assert ag.std_mean(ag.ones(2, requires_grad=True))[1].grad_fn.name() == "StdMeanBackward0"


@pytest.mark.parametrize("case", list(WRITTEN_AFTER))
def test_input_written_before_backward_as_pytorch(torch, case):
    outcomes = []
    for L in (torch, ag):
        x = L.tensor([[0.5, 1.5], [2.0, 0.25]], dtype=L.float64, requires_grad=True) + 0
        y = WRITTEN_AFTER[case](L, x)
        x.add_(1)
        outcomes.append(backward_outcome(y))
    assert outcomes[1] == outcomes[0]
