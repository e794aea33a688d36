"""The pointwise ops of autograd_gpu/ops/composite_pointwise.py against PyTorch:
every form (function, method, keywords, Python-number operands) in float64 and
float32 with gradients, finite-difference gradcheck to second order, the
result dtype of every input dtype, NaN/inf/-0 and extreme values (forward and
gradients), 0-d and empty tensors, broadcasting. Bad input: the fuzz specs
(tests/fuzz_specs_composite_pointwise.py)."""
import math

import numpy as np
import pytest

import autograd_gpu as ag
from oracle import U, case_tests, check, to_numpy

POS = lambda *s: U(s, 0.5, 2.0)        # noqa: E731
AWAY = lambda *s: U(s, 0.3, 1.5)       # noqa: E731
UNIT = lambda *s: U(s, 0.05, 0.95)     # noqa: E731
SGN = dict(torch_fn=lambda t, x: x.sign(), name=False)

#      id                fn(lib, *inputs)                                            inputs                        options
CASES = [
    ("addcmul",          lambda m, a, b, c: m.addcmul(a, b, c),                      [(3, 4), (3, 4), (3, 4)],     {}),
    ("addcmul_method",   lambda m, a, b, c: a.addcmul(b, c, value=0.5),              [(3, 4), (4,), (3, 1)],       {}),
    ("addcmul_bcast_in", lambda m, a, b, c: m.addcmul(a, b, c, value=-2),            [(1,), (2, 3), (3,)],         {}),
    ("addcdiv",          lambda m, a, b, c: m.addcdiv(a, b, c),                      [(3, 4), (3, 4), AWAY(3, 4)], {}),
    ("addcdiv_method",   lambda m, a, b, c: a.addcdiv(b, c, value=-1.5),             [(2, 1, 3), (4, 1), AWAY(3)], {}),
    ("xlogy",            lambda m, a, b: m.xlogy(a, b),                              [(3, 4), POS(3, 4)],          {}),
    ("xlogy_method",     lambda m, a, b: a.xlogy(b),                                 [(3, 1), POS(4)],             {}),
    ("xlogy_keywords",   lambda m, a, b: m.xlogy(input=a, other=b),                  [(3, 4), POS(3, 4)],          {}),
    ("xlogy_number_y",   lambda m, a: m.xlogy(a, 2.5),                               [(3, 4)],                     {}),
    ("xlogy_number_x",   lambda m, b: m.xlogy(3, b),                                 [POS(3, 4)],                  {}),
    ("xlogy_method_num", lambda m, a: a.xlogy(0.5),                                  [(5,)],                       {}),
    ("logaddexp",        lambda m, a, b: m.logaddexp(a, b),                          [(3, 4), (3, 4)],             {}),
    ("logaddexp_method", lambda m, a, b: a.logaddexp(b),                             [(2, 1, 3), (4, 1)],          {}),
    ("logaddexp2",       lambda m, a, b: m.logaddexp2(a, b),                         [(3, 4), (4,)],               {}),
    ("logaddexp2_method", lambda m, a, b: a.logaddexp2(other=b),                     [(3, 4), (3, 4)],             {}),
    ("hypot",            lambda m, a, b: m.hypot(a, b),                              [(3, 4), (3, 4)],             {}),
    ("hypot_method",     lambda m, a, b: a.hypot(b),                                 [(3, 1), (4,)],               {}),
    ("copysign",         lambda m, a, b: m.copysign(a, b),                           [(3, 4), (3, 4)],             {}),
    ("copysign_method",  lambda m, a, b: a.copysign(b),                              [(3, 4), (4,)],               {}),
    ("copysign_number",  lambda m, a: m.copysign(a, -1.0),                           [(3, 4)],                     {}),
    ("copysign_number2", lambda m, a: a.copysign(2),                                 [(3, 4)],                     {}),
    ("fmax",             lambda m, a, b: m.fmax(a, b),                               [(3, 4), (3, 4)],             {}),
    ("fmax_method",      lambda m, a, b: a.fmax(b),                                  [(3, 1), (4,)],               {}),
    ("fmin",             lambda m, a, b: m.fmin(a, b),                               [(3, 4), (4,)],               {}),
    ("fmin_method",      lambda m, a, b: a.fmin(other=b),                            [(3, 4), (3, 4)],             {}),
    ("float_power",      lambda m, a, b: m.float_power(a, b),                        [POS(3, 4), (3, 4)],          {}),
    ("float_power_method", lambda m, a, b: a.float_power(b),                         [POS(3, 1), (4,)],            {}),
    ("float_power_num",  lambda m, a: m.float_power(a, 2.5),                         [POS(3, 4)],                  {}),
    ("float_power_int",  lambda m, a: a.float_power(exponent=3),                     [(3, 4)],                     {}),
    ("float_power_base", lambda m, b: m.float_power(2, b),                           [(3, 4)],                     {}),
    ("deg2rad",          lambda m, x: m.deg2rad(x),                                  [(3, 4)],                     {}),
    ("deg2rad_method",   lambda m, x: x.deg2rad(),                                   [(3, 4)],                     {}),
    ("rad2deg",          lambda m, x: m.rad2deg(x),                                  [(3, 4)],                     {}),
    ("rad2deg_method",   lambda m, x: x.rad2deg(),                                   [(3, 4)],                     {}),
    ("exp2",             lambda m, x: m.exp2(x),                                     [(3, 4)],                     {}),
    ("exp2_method",      lambda m, x: x.exp2(),                                      [(3, 4)],                     {}),
    ("logit",            lambda m, x: m.logit(x),                                    [UNIT(3, 4)],                 {}),
    ("logit_method",     lambda m, x: x.logit(),                                     [UNIT(3, 4)],                 {}),
    ("logit_eps",        lambda m, x: m.logit(x, eps=0.2),                           [UNIT(3, 4)],                 {}),
    ("logit_eps_method", lambda m, x: x.logit(0.1),                                  [UNIT(3, 4)],                 {}),
    ("frac",             lambda m, x: m.frac(x),                                     [(3, 4)],                     {}),
    ("frac_method",      lambda m, x: (x * 3).frac(),                                [(3, 4)],                     {}),
    ("nan_to_num",       lambda m, x: m.nan_to_num(x),                               [(3, 4)],                     {}),
    ("nan_to_num_method", lambda m, x: x.nan_to_num(nan=1.0, posinf=2.0, neginf=-3.0), [(3, 4)],                   {}),
    ("sinc",             lambda m, x: m.sinc(x),                                     [(3, 4)],                     {}),
    ("sinc_method",      lambda m, x: x.sinc(),                                      [(3, 4)],                     {}),
    # (PyTorch's sgn gradient is a ZeroTensor, which the oracle cannot read: sign's stands in, names: test_names)
    ("sgn",              lambda m, x: m.sgn(x),                                      [(3, 4)],                     SGN),
    ("sgn_method",       lambda m, x: x.sgn(),                                       [(3, 4)],                     SGN),
    ("asinh",            lambda m, x: m.asinh(x),                                    [U((3, 4), -5, 5)],           {}),
    ("asinh_method",     lambda m, x: x.asinh(),                                     [(3, 4)],                     {}),
    ("arcsinh",          lambda m, x: m.arcsinh(x),                                  [(3, 4)],                     {}),
    ("arcsinh_method",   lambda m, x: x.arcsinh(),                                   [(3, 4)],                     {}),
    ("acosh",            lambda m, x: m.acosh(x),                                    [U((3, 4), 1.1, 5)],          {}),
    ("acosh_method",     lambda m, x: x.acosh(),                                     [U((3, 4), 1.1, 5)],          {}),
    ("arccosh",          lambda m, x: m.arccosh(x),                                  [U((3, 4), 1.1, 5)],          {}),
    ("arccosh_method",   lambda m, x: x.arccosh(),                                   [U((3, 4), 1.1, 5)],          {}),
    ("atanh",            lambda m, x: m.atanh(x),                                    [U((3, 4), -0.9, 0.9)],       {}),
    ("atanh_method",     lambda m, x: x.atanh(),                                     [U((3, 4), -0.9, 0.9)],       {}),
    ("arctanh",          lambda m, x: m.arctanh(x),                                  [U((3, 4), -0.9, 0.9)],       {}),
    ("arctanh_method",   lambda m, x: x.arctanh(),                                   [U((3, 4), -0.9, 0.9)],       {}),
]
test_against_pytorch, test_gradcheck, test_second_order = case_tests(CASES)


# ---- helpers: the same call on both libraries -----------------------------------------------

SPECIAL = [math.nan, math.inf, -math.inf, 0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -3.75, 1e-300, 5e-324,
           1e30, -1e30, 1e300, -1e300, 0.999, -0.999, 1.0000001, 7.0]
DTYPES = ["float16", "float32", "float64", "int32", "int64", "bool"]
TOL = {"float16": dict(rtol=2e-3, atol=1e-5), "float32": dict(rtol=2e-6, atol=1e-30),
       "float64": dict(rtol=1e-13, atol=1e-300)}


def both(torch, values, dtype, device, rg=False):
    """The same data as an autograd_gpu and a PyTorch tensor of `dtype`."""
    a = np.array(values, dtype=np.float64)
    if dtype in ("int32", "int64"):
        a = np.nan_to_num(a, nan=0, posinf=7, neginf=-7).clip(-7, 7).round()
    elif dtype == "bool":
        a = np.nan_to_num(a) > 0
    with np.errstate(over="ignore"):
        a = a.astype(dtype)
    ours = ag.tensor(a, device=device, requires_grad=rg)
    theirs = torch.tensor(a, requires_grad=rg)
    return ours, theirs


def same(ours, theirs, tol=None):
    """Equal dtype, shape, requires_grad and values (NaN where NaN; floats to `tol`)."""
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], (ours.dtype, theirs.dtype)
    assert ours.requires_grad == theirs.requires_grad
    a, b = to_numpy(ours), theirs.detach().numpy(force=True)      # (force: sgn's gradient is a ZeroTensor)
    assert a.shape == b.shape
    if a.dtype.kind == "f":
        tol = tol or TOL[a.dtype.name]
        np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), equal_nan=True, **tol)
    else:
        np.testing.assert_array_equal(a, b)


def outcome(f, lib, *args):
    try:
        return f(lib, *args), None
    except Exception as e:          # compared below
        return None, e


def agree(torch, f, ours_args, theirs_args, tol=None):
    """f on both: the same result, or the same kind of exception (ours naming the op)."""
    o, oe = outcome(f, ag, *ours_args)
    t, te = outcome(f, torch, *theirs_args)
    if te is not None:
        assert oe is not None, f"torch raised {te!r}, ours gave {o}"
        kind = RuntimeError if isinstance(te, NotImplementedError) else type(te)
        assert isinstance(oe, kind), (oe, te)
        return None, None
    assert oe is None, f"ours raised {oe!r}, torch gave {t}"
    same(o, t, tol)
    return o, t


UNARY = ["deg2rad", "rad2deg", "exp2", "logit", "frac", "nan_to_num", "sinc", "sgn", "asinh", "acosh", "atanh",
         "signbit", "isposinf", "isneginf", "isreal"]
BINARY = ["xlogy", "logaddexp", "logaddexp2", "hypot", "copysign", "fmax", "fmin", "float_power", "heaviside"]
PREDICATES = ("signbit", "isposinf", "isneginf", "isreal")


# ---- every input dtype ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", UNARY)
def test_unary_result_dtype_and_values(torch, op, dtype, device):
    o, t = both(torch, SPECIAL, dtype, device)
    agree(torch, lambda L, x: getattr(L, op)(x), [o], [t])
    agree(torch, lambda L, x: getattr(x, op)(), [o], [t])


@pytest.mark.parametrize("op", BINARY)
def test_binary_result_dtypes(torch, op, device):
    vals = [0.0, 1.5, -2.0, 3.0]
    for d1 in DTYPES:
        for d2 in DTYPES:
            (a, ta), (b, tb) = both(torch, vals, d1, device), both(torch, vals[::-1], d2, device)
            agree(torch, lambda L, x, y: getattr(L, op)(x, y), [a, b], [ta, tb])


@pytest.mark.parametrize("op", ["xlogy", "copysign", "float_power"])
@pytest.mark.parametrize("number", [2, 2.5, -1, True, math.nan])
def test_binary_python_number_operands(torch, op, number, device):
    for d in DTYPES:
        a, ta = both(torch, [0.0, 1.5, -2.0, 3.0], d, device)
        agree(torch, lambda L, x: getattr(L, op)(x, number), [a], [ta])
        agree(torch, lambda L, x: getattr(x, op)(number), [a], [ta])
        agree(torch, lambda L, x: getattr(L, op)(number, x), [a], [ta])


@pytest.mark.parametrize("op", ["addcmul", "addcdiv"])
def test_addc_result_dtypes(torch, op, device):
    vals = [1.0, 2.0, -3.0]
    for d0 in DTYPES:
        for d1 in DTYPES:
            for d2 in ("float32", "int64", d1):
                (a, ta), (b, tb), (c, tc) = (both(torch, vals, d, device) for d in (d0, d1, d2))
                agree(torch, lambda L, x, y, z: getattr(L, op)(x, y, z), [a, b, c], [ta, tb, tc])
                agree(torch, lambda L, x, y, z: getattr(x, op)(y, z, value=2), [a, b, c], [ta, tb, tc])


# ---- special values, forward and gradient ------------------------------------------------------------

def _grad_agree(torch, f, ours, theirs, tol=None):
    o, t = agree(torch, f, ours, theirs, tol)
    if t is None or not t.requires_grad:
        return
    g = np.linspace(-1.5, 2.0, t.numel()).reshape(t.shape)
    leaves = [(x, y) for x, y in zip(ours, theirs) if getattr(y, "requires_grad", False)]
    go = ag.autograd.grad(o, [x for x, _ in leaves], ag.tensor(g, dtype=o.dtype, device=o.device), allow_unused=True)
    gt = torch.autograd.grad(t, [y for _, y in leaves], torch.tensor(g, dtype=t.dtype), allow_unused=True)
    for a, b in zip(go, gt):
        if b is None:
            assert a is None or not np.any(to_numpy(a))
        else:
            same(a, b, tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", [u for u in UNARY if u not in PREDICATES])
def test_unary_special_values_and_gradients(torch, op, dtype, device):
    # (logit's gradient at -0: PyTorch's sign depends on the element's position, test_logit_at_minus_zero)
    o, t = both(torch, [v for v in SPECIAL if op != "logit" or math.copysign(1, v) > 0], dtype, device, rg=True)
    _grad_agree(torch, lambda L, x: getattr(L, op)(x), [o], [t])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", [b for b in BINARY if b != "heaviside"])
def test_binary_special_values_and_gradients(torch, op, dtype, device):
    vals = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, -2.5, 1e-300, 1e300, 0.5]
    xs = [x for x in vals for _ in vals]
    ys = [y for _ in vals for y in vals]
    (a, ta), (b, tb) = both(torch, xs, dtype, device, rg=True), both(torch, ys, dtype, device, rg=True)
    _grad_agree(torch, lambda L, x, y: getattr(L, op)(x, y), [a, b], [ta, tb])


@pytest.mark.parametrize("op", ["addcmul", "addcdiv"])
def test_addc_special_values_and_gradients(torch, op, device):
    vals = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, -2.5, 1e300]
    xs = [x for x in vals for _ in vals]
    ys = [y for _ in vals for y in vals]
    args = [both(torch, v, "float64", device, rg=True) for v in (xs[::-1], xs, ys)]
    _grad_agree(torch, lambda L, s, x, y: getattr(L, op)(s, x, y, value=-0.5), [a for a, _ in args],
                [t for _, t in args])


@pytest.mark.parametrize("op", ["asinh", "acosh", "atanh"])
def test_inverse_hyperbolics_accurate_over_the_domain(torch, op):
    """Within a few ulp of PyTorch (libm) from the smallest subnormal to the largest float64."""
    mags = np.concatenate([np.geomspace(5e-324, 1.7e308, 4001), np.linspace(0.5, 3, 2001),
                           1 + np.geomspace(1e-16, 1, 500), 1 - np.geomspace(1e-16, 0.5, 500)])
    x = np.concatenate([mags, -mags])
    ours = to_numpy(getattr(ag, op)(ag.tensor(x)))
    theirs = getattr(torch, op)(torch.tensor(x)).numpy()
    assert np.array_equal(np.isnan(ours), np.isnan(theirs))
    ok = ~np.isnan(theirs)
    assert np.array_equal(np.isinf(ours[ok]), np.isinf(theirs[ok]))
    fin = ok & np.isfinite(theirs)
    ulps = np.abs(ours[fin] - theirs[fin]) / np.spacing(np.abs(theirs[fin]))
    assert ulps.max() <= 4, f"{op}: {ulps.max()} ulp at {x[fin][ulps.argmax()]}"
    with np.errstate(over="ignore"):
        x32 = x.astype(np.float32)
    same(getattr(ag, op)(ag.tensor(x32)), getattr(torch, op)(torch.tensor(x32)), dict(rtol=3e-7, atol=1e-37))


# ---- shapes: 0-d, empty, broadcasting ------------------------------------------------------------------

SHAPE_FNS = {
    "addcmul": lambda L, a, b: L.addcmul(a, b, b, value=2), "addcdiv": lambda L, a, b: L.addcdiv(a, b, b + 3),
    **{op: (lambda L, a, b, op=op: getattr(L, op)(a, b)) for op in BINARY if op not in ("heaviside",)},
    **{op: (lambda L, a, b, op=op: getattr(L, op)(a * b)) for op in UNARY},
}


@pytest.mark.parametrize("shapes", [((), ()), ((0,), (0,)), ((2, 0), (1, 0)), ((2, 0), ()), ((3, 1), (4,)),
                                    ((), (2, 3)), ((2, 1, 3), (4, 1))], ids=str)
@pytest.mark.parametrize("op", list(SHAPE_FNS))
def test_shapes(torch, op, shapes, device):
    rng = np.random.default_rng(0)
    arrays = [rng.uniform(0.2, 0.8, s) for s in shapes]
    if op in PREDICATES:
        out = check(torch, SHAPE_FNS[op], *arrays, device=device, grad=False, arrays=arrays)
        assert out.dtype == ag.bool and not out.requires_grad
    elif op == "sgn":                     # (PyTorch's gradient: a ZeroTensor, see SGN)
        check(torch, SHAPE_FNS[op], *arrays, device=device, arrays=arrays, name=False,
              torch_fn=lambda L, a, b: (a * b).sign())
    else:
        check(torch, SHAPE_FNS[op], *arrays, device=device, arrays=arrays)


def test_broadcast_mismatch_raises(torch, device):
    a, b = ag.zeros(3, device=device), ag.zeros(4, device=device)
    for op in ("xlogy", "logaddexp", "hypot", "copysign", "fmax", "float_power", "heaviside"):
        with pytest.raises(RuntimeError, match=op):
            getattr(ag, op)(a, b)
        with pytest.raises(RuntimeError):
            getattr(torch, op)(torch.zeros(3), torch.zeros(4))
    with pytest.raises(RuntimeError, match="addcmul"):
        ag.addcmul(a, a, b)


# ---- op-specific behaviour -----------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:overflow encountered in cast")      # (the emulator's float16 inf)
def test_addcmul_value_rules(torch, device):
    for d in ("int64", "int32", "float16", "float32"):
        (a, ta), (b, tb) = both(torch, [1, 2, 3], d, device), both(torch, [3, -2, 5], d, device)
        for v in (2.5, -1, True, 1e5, 1e300, math.nan, 0):
            agree(torch, lambda L, x, y: L.addcmul(x, y, y, value=v), [a, b], [ta, tb])
            agree(torch, lambda L, x, y: L.addcdiv(x, y.float(), y.float() + 10, value=v), [a, b], [ta, tb])
    (a, ta) = both(torch, [1, 0], "bool", device)
    agree(torch, lambda L, x: L.addcmul(x, x, x), [a], [ta])                 # bool: no kernel
    agree(torch, lambda L, x: L.addcdiv(x.float(), x, x.long()), [a], [ta])   # two integer tensors
    with pytest.raises(TypeError, match="addcmul"):
        ag.addcmul(ag.zeros(2), 2, ag.zeros(2))
    with pytest.raises(TypeError):
        ag.addcmul(ag.zeros(2), ag.zeros(2), ag.zeros(2), 2)              # value is keyword-only


def test_xlogy_zero_and_nan(torch, device):
    xs, ys = [0.0, 0.0, 0.0, 0.0, 1.0, 2.0, -0.0], [0.0, math.nan, -1.0, math.inf, math.nan, 0.0, 2.0]
    (a, ta), (b, tb) = both(torch, xs, "float64", device, rg=True), both(torch, ys, "float64", device, rg=True)
    _grad_agree(torch, lambda L, x, y: L.xlogy(x, y), [a, b], [ta, tb])
    _grad_agree(torch, lambda L, x: L.xlogy(x, math.nan), [a], [ta])
    _grad_agree(torch, lambda L, y: L.xlogy(0, y), [b], [tb])


def test_logit_eps(torch, device):
    x = [-0.5, 0.0, 0.05, 0.1, 0.3, 0.9, 0.95, 1.0, 1.5, math.nan]
    for eps in (None, 0.1, 0.0, -1.0, 0.6, 1):
        o, t = both(torch, x, "float64", device, rg=True)
        _grad_agree(torch, lambda L, v: L.logit(v, eps), [o], [t])
        _grad_agree(torch, lambda L, v: v.logit(eps=eps), [o], [t])


def test_nan_to_num_values(torch, device):
    x = [math.nan, math.inf, -math.inf, 1.5, -0.0]
    for d in ("float16", "float32", "float64", "int64", "bool"):
        o, t = both(torch, x, d, device)
        for kw in ({}, dict(nan=2), dict(posinf=1e10, neginf=-1e10), dict(nan=-1.5, posinf=3.0, neginf=-4.0)):
            agree(torch, lambda L, v: L.nan_to_num(v, **kw), [o], [t])


def test_heaviside_has_no_derivative(torch, device):
    x, tx = both(torch, [-1.0, 0.0, 2.0, math.nan], "float32", device, rg=True)
    v, tv = both(torch, [0.5], "float32", device)
    out, tout = x.heaviside(v), tx.heaviside(tv)
    same(out, tout)
    assert out.grad_fn.name() == tout.grad_fn.name()
    with pytest.raises(RuntimeError, match="heaviside") as ours:
        out.sum().backward()
    with pytest.raises(RuntimeError) as theirs:
        tout.sum().backward()
    assert str(ours.value) == str(theirs.value)
    same(ag.heaviside(x.detach(), v), torch.heaviside(tx.detach(), tv))


def test_fmax_fmin_ties_and_nan(torch, device):
    xs, ys = [1.0, math.nan, 2.0, math.nan, 3.0, -0.0], [1.0, 2.0, math.nan, math.nan, -3.0, 0.0]
    for op in ("fmax", "fmin", "maximum"):
        (a, ta), (b, tb) = both(torch, xs, "float64", device, rg=True), both(torch, ys, "float64", device, rg=True)
        _grad_agree(torch, lambda L, x, y: getattr(L, op)(x, y), [a, b], [ta, tb])


def test_float_power_gradients_reach_float32_inputs_in_their_dtype(torch, device):
    a, ta = both(torch, [0.5, 1.5, 2.0], "float32", device, rg=True)
    b, tb = both(torch, [1.0, -2.0, 0.5], "float16", device, rg=True)
    _grad_agree(torch, lambda L, x, y: L.float_power(x, y), [a, b], [ta, tb], dict(rtol=1e-3, atol=1e-6))
    _grad_agree(torch, lambda L, x: L.float_power(x, 2), [a], [ta])


def test_bad_operand_types(torch, device):
    x = ag.zeros(2, device=device)
    for op in ("logaddexp", "logaddexp2", "hypot", "fmax", "fmin", "heaviside"):
        for bad in (2.0, "a", None):
            with pytest.raises(TypeError, match=op):
                getattr(ag, op)(x, bad)
            with pytest.raises(TypeError, match=op):
                getattr(ag, op)(bad, x)
    for op in ("xlogy", "copysign", "float_power"):
        with pytest.raises(TypeError, match=op):
            getattr(ag, op)(x, "a")
        with pytest.raises(TypeError, match=op):
            getattr(ag, op)("a", x)


def test_names(torch, device):
    x, tx = both(torch, [0.5, -1.5], "float64", device, rg=True)
    for op in ("sgn", "asinh", "frac", "nan_to_num", "exp2", "deg2rad", "logit"):
        assert getattr(ag, op)(x).grad_fn.name() == getattr(torch, op)(tx).grad_fn.name()


def test_logit_at_minus_zero(torch, device):
    """PyTorch 2.13's gradient there is +inf or -inf by dtype and position (its float64 vector
    loop gives -inf, the scalar tail and float32 +inf): ours is +inf, the limit from inside
    the domain, everywhere."""
    x = ag.full((20,), -0.0, dtype=ag.float64, device=device, requires_grad=True)
    ag.logit(x).sum().backward()
    assert np.all(to_numpy(x.grad) == math.inf)
    t = torch.full((20,), -0.0, dtype=torch.float64, requires_grad=True)
    torch.logit(t).sum().backward()
    assert torch.all(t.grad.abs() == math.inf) and torch.any(t.grad == -math.inf) and torch.any(t.grad == math.inf)


@pytest.mark.filterwarnings("ignore:overflow encountered in cast")      # (tensor1's float32 gradient: inf)
@pytest.mark.parametrize("op", ["addcmul", "addcdiv"])
def test_addcmul_value_overflow_in_backward(torch, op, device):
    """A float32 factor next to a float64 one with value=1e300: PyTorch's backward takes
    tensor1 * value in tensor1's float32 (inf, NaN); ours computes it in the result's
    float64, as the forward does (finite). A divergence on purpose."""
    rng = np.random.default_rng(0)
    s, a, b = rng.uniform(0.5, 1, 3), rng.uniform(0.5, 1, 3), rng.uniform(0.5, 1, 3)
    ts, ta = torch.tensor(s), torch.tensor(a, dtype=torch.float32, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    getattr(torch, op)(ts, ta, tb, value=1e300).sum().backward()
    assert not torch.isfinite(tb.grad).any()
    os_, oa = ag.tensor(s, device=device), ag.tensor(a, dtype=ag.float32, device=device, requires_grad=True)
    ob = ag.tensor(b, device=device, requires_grad=True)
    out = getattr(ag, op)(os_, oa, ob, value=1e300)
    same(out, getattr(torch, op)(ts, ta, tb, value=1e300))
    out.sum().backward()
    expected = (a.astype(np.float32).astype(np.float64) * 1e300 if op == "addcmul"
                else -(a.astype(np.float32).astype(np.float64) * 1e300) / (b * b))
    np.testing.assert_allclose(to_numpy(ob.grad), expected, rtol=1e-12)


def test_logit_nan_gradients_follow_the_scalar_loop(torch, device):
    """With a NaN eps, or a NaN x and an eps, PyTorch 2.13's gradient differs between its
    scalar loop (short tensors, and the tail: dy / (x (1 - x)), NaN for a NaN x) and its
    vector loop (16 elements and more: 0). Ours is the scalar loop's at every length."""
    data = [0.3, math.nan, 1.5]
    for eps in (math.nan, 0.1):
        expected = {}
        for n in (3, 24):
            x = ag.tensor((data * 8)[:n], dtype=ag.float64, device=device, requires_grad=True)
            ag.logit(x, eps).sum().backward()
            t = torch.tensor((data * 8)[:n], dtype=torch.float64, requires_grad=True)
            torch.logit(t, eps).sum().backward()
            expected[n] = t.grad[:3].numpy()
            np.testing.assert_array_equal(to_numpy(x.grad)[:3], expected[3])
        assert not np.array_equal(expected[3], expected[24], equal_nan=True)
