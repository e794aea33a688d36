"""ag.linalg.householder_product (ag.orgqr, Tensor.orgqr), ag.geqrf, ag.ormqr, ag.cholesky_solve and
ag.cholesky_inverse (autograd_gpu/ops/decompositions.py) against PyTorch: values, grad_fn names,
gradients in float64 and float32, finite differences to second order, batches, broadcasting, empty
and tall/wide shapes, geqrf's missing derivative, singular factors, and the errors."""
import numpy as np
import pytest

import autograd_gpu as ag
from oracle import case_tests, check, to_numpy

_rng = np.random.default_rng(23)
TALL = _rng.standard_normal((5, 3))
TALLB = _rng.standard_normal((2, 4, 3))
SQ = _rng.standard_normal((3, 3))
TAU3 = _rng.standard_normal(3)
TAU2B = _rng.standard_normal((2, 2))
TAU3B = _rng.standard_normal((2, 3))
WIDE = _rng.standard_normal((4, 5))             # ormqr: k = min(4, 5) = 4 reflectors, the 5th column unread
TAU4 = _rng.standard_normal(4)
C52 = _rng.standard_normal((5, 2))
C42B = _rng.standard_normal((2, 4, 2))
C25 = _rng.standard_normal((2, 5))
C24B = _rng.standard_normal((2, 2, 4))
C42 = _rng.standard_normal((4, 2))
# Cholesky factors: both triangles of W are well conditioned
W = 0.4 * _rng.standard_normal((3, 3)) + np.diag([1.5, 2.0, 1.2])
WB = 0.4 * _rng.standard_normal((2, 3, 3)) + np.diag([1.3, 1.8, 1.6])
B32 = _rng.standard_normal((3, 2))
B32B = _rng.standard_normal((2, 3, 2))
SPD = _rng.standard_normal((2, 3, 3))
WB3 = np.concatenate([WB, WB[:1]])


def _factor(m, a):
    """A Cholesky factor of a a^T + I (differentiable in a)."""
    return m.linalg.cholesky(a @ a.mT + m.eye(a.shape[-1], dtype=a.dtype, device=a.device))


NO2 = dict(second_order=False)      # (second order: checked on the unbatched forms)

#      id                          fn(lib, *inputs)                                                 inputs        options
CASES = [
    ("householder_product",        lambda m, a, t: m.linalg.householder_product(a, t),           [TALL, TAU3],  {}),
    ("householder_fewer_tau",      lambda m, a, t: m.linalg.householder_product(a, t[:2]),       [TALL, TAU3],  {}),
    ("householder_square",         lambda m, a, t: m.linalg.householder_product(a, t),           [SQ, TAU3],    {}),
    ("householder_batched",        lambda m, a, t: m.linalg.householder_product(a, t),           [TALLB, TAU2B], {}),
    ("orgqr",                      lambda m, a, t: m.orgqr(a, t),                                [TALLB, TAU3B], NO2),
    ("orgqr_method",               lambda m, a, t: a.orgqr(t),                                   [TALL, TAU3],  {}),
    ("ormqr",                      lambda m, a, t, c: m.ormqr(a, t, c),                          [TALL, TAU3, C52], {}),
    ("ormqr_transpose",            lambda m, a, t, c: m.ormqr(a, t, c, transpose=True),          [TALL, TAU3, C52], {}),
    ("ormqr_right",                lambda m, a, t, c: m.ormqr(a, t, c, left=False),              [TALL, TAU3, C25], {}),
    ("ormqr_right_transpose",      lambda m, a, t, c: a.ormqr(t, c, False, True),                [TALL, TAU3, C25], {}),
    ("ormqr_batched",              lambda m, a, t, c: m.ormqr(a, t, c),                          [TALLB, TAU3B, C42B], NO2),
    ("ormqr_batched_right_t",      lambda m, a, t, c: m.ormqr(a, t, c, left=False, transpose=True),
                                                                                                [TALLB, TAU3B, C24B], NO2),
    ("ormqr_wide_input",           lambda m, a, t, c: m.ormqr(a, t, c, transpose=True),          [WIDE, TAU4, C42], NO2),
    ("cholesky_solve",             lambda m, b, l: m.cholesky_solve(b, l.tril()),                [B32, W],      {}),
    ("cholesky_solve_upper",       lambda m, b, l: b.cholesky_solve(l.triu(), upper=True),       [B32, W],      {}),
    ("cholesky_solve_batched",     lambda m, b, l: m.cholesky_solve(b, l.tril()),                [B32B, WB],    {}),
    ("cholesky_solve_bcast_b",     lambda m, b, l: m.cholesky_solve(b, l.tril()),                [B32, WB],     {}),
    ("cholesky_solve_bcast_l",     lambda m, b, l: m.cholesky_solve(b[:, None], l.tril()),       [B32B, WB3],   {}),
    ("cholesky_solve_of_factor",   lambda m, b, a: m.cholesky_solve(b, _factor(m, a)),           [B32B, SPD],   {}),
    # (the factor's gradient is PyTorch's full matrix, its unread triangle included: no finite differences)
    ("cholesky_solve_full_grad",   lambda m, b, l: m.cholesky_solve(b, l),                       [B32, W],      dict(fd=False)),
    ("cholesky_solve_upper_full",  lambda m, b, l: m.cholesky_solve(b, l, True),                 [B32B, WB],    dict(fd=False)),
    ("cholesky_inverse",           lambda m, l: m.cholesky_inverse(l.tril()),                    [W],           {}),
    ("cholesky_inverse_upper",     lambda m, l: l.triu().cholesky_inverse(upper=True),           [WB],          {}),
    ("cholesky_inverse_of_factor", lambda m, a: m.cholesky_inverse(_factor(m, a)),               [SPD],         {}),
    ("cholesky_inverse_full_grad", lambda m, l: m.cholesky_inverse(l),                           [WB],          dict(fd=False)),
    ("cholesky_inverse_upper_full", lambda m, l: m.cholesky_inverse(l, True),                    [W],           dict(fd=False)),
]

test_against_pytorch, test_gradcheck, test_second_order = case_tests(CASES)


@pytest.mark.parametrize("shape", [(5, 3), (3, 3), (3, 5), (2, 4, 3), (2, 3, 4), (1, 1)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_geqrf_values(torch, device, shape, dtype):
    a = _rng.standard_normal(shape)
    ours = ag.geqrf(ag.tensor(a, dtype=dtype, device=device))
    ref = torch.geqrf(torch.tensor(a, dtype=getattr(torch, dtype)))
    tol = dict(rtol=1e-12, atol=1e-13) if dtype == "float64" else dict(rtol=2e-5, atol=2e-5)
    assert type(ours).__name__ == "geqrf" and ours._fields == ("a", "tau")
    for o, r in zip(ours, ref):
        assert o.dtype == getattr(ag, dtype) and o.device == ag.device(device)
        np.testing.assert_allclose(to_numpy(o), r.numpy(), **tol)
    # geqrf's reflectors give linalg.qr's Q (reduced, for tall input), and ormqr applies the full Q
    if shape[-2] >= shape[-1]:
        q = ag.linalg.householder_product(*ours)
        np.testing.assert_allclose(to_numpy(q), torch.linalg.qr(torch.tensor(a, dtype=getattr(torch, dtype))).Q,
                                   **tol)
    c = _rng.standard_normal(shape[:-1] + (2,))
    got = ag.ormqr(*ours, ag.tensor(c, dtype=dtype, device=device))
    want = torch.linalg.qr(torch.tensor(a), mode="complete").Q @ torch.tensor(c)
    np.testing.assert_allclose(to_numpy(got), want.numpy(), **tol)


def test_geqrf_zero_column(torch, device):
    """A zero column below the diagonal gives tau = 0 (H = I), as LAPACK's dlarfg."""
    a = np.array([[0.0, 1], [0, 2], [0, 3]])
    check(torch, lambda m, x: m.geqrf(x), arrays=[a], device=device, grad=False)


def test_geqrf_has_no_derivative(torch, device):
    """Both outputs carry GeqrfBackward0, whose backward raises PyTorch's NotImplementedError; a graph
    through it (householder_product of its output) raises too, and nothing is accumulated."""
    a = ag.tensor(TALL, device=device, requires_grad=True)
    t = torch.tensor(TALL, requires_grad=True)
    ours, ref = ag.geqrf(a), torch.geqrf(t)
    for o, r in zip(ours, ref):
        assert o.requires_grad and o.grad_fn.name() == r.grad_fn.name() == "GeqrfBackward0"
    assert ours.a.grad_fn is ours.tau.grad_fn
    for fn in (lambda m, r: r.a.sum(), lambda m, r: r.tau.sum(), lambda m, r: m.linalg.householder_product(*r).sum()):
        with pytest.raises(NotImplementedError) as theirs:
            fn(torch, torch.geqrf(t)).backward()
        with pytest.raises(NotImplementedError) as mine:
            fn(ag, ag.geqrf(a)).backward()
        assert str(mine.value) == str(theirs.value) == "the derivative for 'geqrf' is not implemented."
        assert a.grad is None
    with ag.no_grad():
        assert not ag.geqrf(a).a.requires_grad


def test_second_order_against_pytorch(torch, device):
    """Gradients of gradients (create_graph) equal PyTorch's, not only finite differences."""
    def hvp(m, fn, arrays, dev):
        xs = [m.tensor(x, dtype=m.float64, requires_grad=True) if dev is None else
              m.tensor(x, dtype=m.float64, device=dev, requires_grad=True) for x in arrays]
        out = fn(m, *xs)
        w = m.tensor(np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape)), dtype=m.float64)
        if dev is not None:
            w = w.to(dev)
        gs = m.autograd.grad((out * w).sum(), xs, create_graph=True)
        total = sum(((g * g).sum() for g in gs), m.zeros((), dtype=m.float64) if dev is None else
                    m.zeros((), dtype=m.float64, device=dev))
        return m.autograd.grad(total, xs, allow_unused=True)
    cases = [(lambda m, a, t: m.linalg.householder_product(a, t), [TALLB, TAU2B]),
             (lambda m, a, t, c: m.ormqr(a, t, c, left=False), [TALL, TAU3, C25]),
             (lambda m, b, l: m.cholesky_solve(b, l), [B32B, WB]),
             (lambda m, l: m.cholesky_inverse(l, True), [W])]
    for fn, arrays in cases:
        for o, r in zip(hvp(ag, fn, arrays, device), hvp(torch, fn, arrays, None)):
            np.testing.assert_allclose(to_numpy(o), r.numpy(), rtol=1e-9, atol=1e-10)


def test_singular_reflectors(torch, device):
    """A divergence kept: for a reflector with tau_i ||v_i||^2 = 1 (H_i singular; geqrf never makes one)
    PyTorch's gradient is NaN (its backward inverts each H_i); ours is the derivative, finite."""
    arrays = [np.eye(4, 3), np.ones(3)]
    ours = [ag.tensor(x, device=device, requires_grad=True) for x in arrays]
    theirs = [torch.tensor(x, requires_grad=True) for x in arrays]
    ag.linalg.householder_product(*ours).sum().backward()
    torch.linalg.householder_product(*theirs).sum().backward()
    assert np.isnan(theirs[1].grad.numpy()).all()
    np.testing.assert_array_equal(to_numpy(ours[1].grad), [-1.0, -1.0, -1.0])
    np.testing.assert_array_equal(to_numpy(ours[0].grad), np.tril(-np.ones((4, 3)), -1))
    assert ag.autograd.gradcheck(lambda a, t: ag.linalg.householder_product(a, t),
                                 [ag.tensor(x, device=device, requires_grad=True) for x in arrays])


@pytest.mark.parametrize("case", [
    ("householder", lambda m, a, t: m.linalg.householder_product(a, t), [(0, 0), (0,)]),
    ("householder_cols", lambda m, a, t: m.linalg.householder_product(a, t), [(3, 0), (0,)]),
    ("householder_no_tau", lambda m, a, t: m.linalg.householder_product(a, t), [(4, 3), (0,)]),
    ("householder_batch", lambda m, a, t: m.linalg.householder_product(a, t), [(0, 4, 3), (0, 2)]),
    ("ormqr", lambda m, a, t, c: m.ormqr(a, t, c), [(0, 0), (0,), (0, 3)]),
    ("ormqr_no_tau", lambda m, a, t, c: m.ormqr(a, t, c), [(4, 0), (0,), (4, 2)]),
    ("ormqr_no_cols", lambda m, a, t, c: m.ormqr(a, t, c, left=False), [(2, 4, 3), (2, 3), (2, 0, 4)]),
    ("cholesky_solve", lambda m, b, l: m.cholesky_solve(b, l), [(0, 2), (0, 0)]),
    ("cholesky_solve_rhs", lambda m, b, l: m.cholesky_solve(b, l), [(3, 0), (3, 3)]),
    ("cholesky_solve_batch", lambda m, b, l: m.cholesky_solve(b, l), [(0, 3, 2), (3, 3)]),
    ("cholesky_inverse", lambda m, l: m.cholesky_inverse(l), [(0, 0)]),
    ("cholesky_inverse_batch", lambda m, l: m.cholesky_inverse(l, True), [(0, 3, 3)]),
    ("cholesky_inverse_batch0", lambda m, l: m.cholesky_inverse(l), [(2, 0, 0)]),
    ("geqrf", lambda m, a: m.geqrf(a)[0], [(0, 3)]),
    ("geqrf_tau", lambda m, a: m.geqrf(a).tau, [(2, 0, 3)]),
    ("geqrf_wide", lambda m, a: m.geqrf(a).a, [(3, 0)]),
], ids=lambda c: c[0])
def test_empty_shapes(torch, device, case):
    _, fn, shapes = case
    # (tau 0.5: PyTorch's gradient is NaN for a singular reflector, see test_singular_reflectors)
    arrays = [np.eye(*s[-2:]) * np.ones(s) if len(s) >= 2 else np.full(s, 0.5) for s in shapes]
    ours = [ag.tensor(a, device=device, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    o, r = fn(ag, *ours), fn(torch, *theirs)
    assert tuple(o.shape) == tuple(r.shape) and o.dtype == ag.float64
    np.testing.assert_allclose(to_numpy(o), r.detach().numpy())
    if r.grad_fn is None or r.grad_fn.name() == "GeqrfBackward0":
        return
    assert o.grad_fn.name() == r.grad_fn.name()
    o.sum().backward()
    r.sum().backward()
    for x, y in zip(ours, theirs):
        # (PyTorch leaves some empty gradients undefined, and ormqr's of an empty `other` reads uninitialized
        # memory (NaN here and there, differing run to run): ours are zeros there)
        if y.grad is not None and not bool(y.grad.isnan().any()):
            assert x.grad is not None and np.array_equal(to_numpy(x.grad), y.grad.numpy())
        elif x.grad is not None:
            assert x.grad.shape == x.shape and not bool(x.grad.any())


def test_singular_factors(torch, device):
    """cholesky_inverse raises on an exactly zero diagonal entry (potri), naming the batch element;
    cholesky_solve does not check (NaN / inf, as potrs)."""
    low = np.stack([np.eye(3), np.diag([1.0, 0.0, 2.0])])
    for a, msg in ((low, "(Batch element 1): The diagonal element 2 is zero"), (low[1], "The diagonal element 2")):
        with pytest.raises(RuntimeError) as theirs:
            torch.cholesky_inverse(torch.tensor(a))
        x = ag.tensor(a, device=device, requires_grad=True)
        with pytest.raises(RuntimeError) as mine:
            ag.cholesky_inverse(x)
        assert str(mine.value) == str(theirs.value) and msg in str(mine.value)
        assert x.grad is None and x._version == 0
    b = np.ones((2, 3, 1))
    ours, ref = (m.cholesky_solve(*p) for m, p in ((ag, [ag.tensor(b, device=device), ag.tensor(low, device=device)]),
                                                  (torch, [torch.tensor(b), torch.tensor(low)])))
    np.testing.assert_array_equal(to_numpy(ours), ref.numpy())


def test_only_the_factors_triangle_is_read(torch, device):
    """The other triangle of the factor (NaN here) is not read, as LAPACK's potrs / potri; cholesky_solve
    broadcasts its batch dims."""
    nan_upper = np.tril(WB) + np.triu(np.full((3, 3), np.nan), 1)
    for upper, f in ((False, nan_upper), (True, np.swapaxes(nan_upper, -1, -2))):
        for fn in (lambda m, x: m.cholesky_inverse(x, upper),
                   lambda m, x: m.cholesky_solve(m.ones(4, 1, 3, 2, dtype=m.float64, device=x.device), x, upper)):
            o = fn(ag, ag.tensor(f, device=device))
            r = fn(torch, torch.tensor(f))
            assert tuple(o.shape) == tuple(r.shape) and not np.isnan(to_numpy(o)).any()
            np.testing.assert_allclose(to_numpy(o), r.numpy(), rtol=1e-12, atol=1e-13)


def test_grad_fn_names_and_no_grad(torch, device):
    a = ag.tensor(TALL, device=device, requires_grad=True)
    t = ag.tensor(TAU3, device=device, requires_grad=True)
    names = {"LinalgHouseholderProductBackward0": [ag.linalg.householder_product(a, t), ag.orgqr(a, t), a.orgqr(t)],
             "OrmqrBackward0": [ag.ormqr(a, t, a @ ag.ones(3, 2, dtype=ag.float64, device=device))],
             "CholeskySolveBackward0": [ag.cholesky_solve(a[:3], a[:3])],
             "CholeskyInverseBackward0": [ag.cholesky_inverse(a[:3] + 3 * ag.eye(3, dtype=ag.float64, device=device))]}
    for name, outs in names.items():
        assert all(o.grad_fn.name() == name for o in outs)
    with ag.no_grad():
        assert not ag.ormqr(a, t, a).requires_grad and not ag.cholesky_inverse(a[:3] + 4).requires_grad


_A = lambda m, dt="float64", shape=(4, 3): m.ones(*shape, dtype=getattr(m, dt)) + m.eye(*shape[-2:], dtype=getattr(m, dt))  # noqa: E731,E501
_T = lambda m, dt="float64", shape=(3,): m.ones(shape, dtype=getattr(m, dt))  # noqa: E731
_L = lambda m, dt="float64", shape=(3, 3): m.eye(*shape[-2:], dtype=getattr(m, dt)).expand(*shape).clone() * 2  # noqa: E731
_B = lambda m, dt="float64", shape=(3, 2): m.ones(*shape, dtype=getattr(m, dt))  # noqa: E731

BAD = [
    ("hh_1d",            lambda m: m.linalg.householder_product(_T(m), _T(m)),                 "householder_product"),
    ("hh_wide",          lambda m: m.linalg.householder_product(_A(m).mT, _T(m)),              "householder_product"),
    ("hh_long_tau",      lambda m: m.linalg.householder_product(_A(m), _T(m, shape=(4,))),     "householder_product"),
    ("hh_tau_0d",        lambda m: m.linalg.householder_product(_A(m), _T(m, shape=())),       "householder_product"),
    ("hh_tau_ndim",      lambda m: m.linalg.householder_product(_A(m), _T(m, shape=(2, 3))),   "householder_product"),
    ("hh_tau_batch",     lambda m: m.linalg.householder_product(_A(m, shape=(2, 4, 3)), _T(m, shape=(3, 3))),
                                                                                              "householder_product"),
    ("hh_dtype",         lambda m: m.linalg.householder_product(_A(m), _T(m, "float32")),     "householder_product"),
    ("hh_int",           lambda m: m.linalg.householder_product(_A(m, "int64"), _T(m, "int64")), "orgqr"),
    ("hh_half",          lambda m: m.linalg.householder_product(_A(m, "float16"), _T(m, "float16")), "orgqr"),
    ("hh_not_tensor",    lambda m: m.linalg.householder_product(_A(m), 1),                      "householder_product"),
    ("orgqr_not_tensor", lambda m: m.orgqr(_A(m), [1.0]),                                       "orgqr"),
    ("orgqr_wide",       lambda m: m.orgqr(_A(m).mT, _T(m)),                                    "householder_product"),
    ("orgqr_method",     lambda m: _A(m).orgqr(_T(m, "float32")),                               "householder_product"),
    ("geqrf_1d",         lambda m: m.geqrf(_T(m)),                                              "geqrf"),
    ("geqrf_int",        lambda m: m.geqrf(_A(m, "int64")),                                     "geqrf"),
    ("geqrf_half",       lambda m: m.geqrf(_A(m, "float16")),                                   "geqrf"),
    ("geqrf_bool",       lambda m: m.geqrf(_A(m, "bool")),                                      "geqrf"),
    ("geqrf_not_tensor", lambda m: m.geqrf(np.ones((2, 2))),                                    "geqrf"),
    ("ormqr_1d",         lambda m: m.ormqr(_T(m), _T(m), _B(m)),                                "ormqr"),
    ("ormqr_other_1d",   lambda m: m.ormqr(_A(m), _T(m), _T(m, shape=(4,))),                    "ormqr"),
    ("ormqr_rows",       lambda m: m.ormqr(_A(m), _T(m), _B(m)),                                "ormqr"),
    ("ormqr_right_cols", lambda m: m.ormqr(_A(m), _T(m), _B(m, shape=(4, 2)), left=False),      "ormqr"),
    ("ormqr_tau_len",    lambda m: m.ormqr(_A(m), _T(m, shape=(2,)), _B(m, shape=(4, 2))),      "ormqr"),
    ("ormqr_tau_0d",     lambda m: m.ormqr(_A(m), _T(m, shape=()), _B(m, shape=(4, 2))),        "ormqr"),
    ("ormqr_tau_ndim",   lambda m: m.ormqr(_A(m), _T(m, shape=(1, 3)), _B(m, shape=(4, 2))),    "ormqr"),
    ("ormqr_other_ndim", lambda m: m.ormqr(_A(m), _T(m), _B(m, shape=(2, 4, 2))),               "ormqr"),
    ("ormqr_tau_batch",  lambda m: m.ormqr(_A(m, shape=(2, 4, 3)), _T(m, shape=(1, 3)), _B(m, shape=(2, 4, 2))),
                                                                                              "ormqr"),
    ("ormqr_other_batch", lambda m: m.ormqr(_A(m, shape=(2, 4, 3)), _T(m, shape=(2, 3)), _B(m, shape=(1, 4, 2))),
                                                                                              "ormqr"),
    ("ormqr_tau_dtype",  lambda m: m.ormqr(_A(m), _T(m, "float32"), _B(m, shape=(4, 2))),       "ormqr"),
    ("ormqr_other_dtype", lambda m: m.ormqr(_A(m), _T(m), _B(m, "float32", (4, 2))),            "ormqr"),
    ("ormqr_int",        lambda m: m.ormqr(_A(m, "int64"), _T(m, "int64"), _B(m, "int64", (4, 2))), "ormqr"),
    ("ormqr_half",       lambda m: m.ormqr(_A(m, "float16"), _T(m, "float16"), _B(m, "float16", (4, 2))), "ormqr"),
    ("ormqr_left_int",   lambda m: m.ormqr(_A(m), _T(m), _B(m, shape=(4, 2)), left=1),          "ormqr"),
    ("ormqr_transpose",  lambda m: m.ormqr(_A(m), _T(m), _B(m, shape=(4, 2)), transpose=None),  "ormqr"),
    ("ormqr_not_tensor", lambda m: _A(m).ormqr(_T(m), 1),                                       "ormqr"),
    ("cs_b_1d",          lambda m: m.cholesky_solve(_T(m), _L(m)),                              "cholesky_solve"),
    ("cs_l_1d",          lambda m: m.cholesky_solve(_B(m), _T(m)),                              "cholesky_solve"),
    ("cs_rows",          lambda m: m.cholesky_solve(_B(m, shape=(2, 2)), _L(m)),                "cholesky_solve"),
    ("cs_not_square",    lambda m: m.cholesky_solve(_B(m), _A(m)[:2]),                          "cholesky_solve"),
    ("cs_dtype",         lambda m: m.cholesky_solve(_B(m, "float32"), _L(m)),                   "cholesky_solve"),
    ("cs_int",           lambda m: m.cholesky_solve(_B(m, "int64"), _L(m, "int64")),            "cholesky_solve"),
    ("cs_half",          lambda m: m.cholesky_solve(_B(m, "float16"), _L(m, "float16")),        "cholesky_solve"),
    ("cs_batch",         lambda m: m.cholesky_solve(_B(m, shape=(2, 3, 2)), _L(m, shape=(3, 3, 3))),
                                                                                              "cholesky_solve"),
    ("cs_upper_int",     lambda m: m.cholesky_solve(_B(m), _L(m), 1),                           "cholesky_solve"),
    ("cs_not_tensor",    lambda m: _B(m).cholesky_solve(2.0),                                   "cholesky_solve"),
    ("ci_1d",            lambda m: m.cholesky_inverse(_T(m)),                                   "cholesky_inverse"),
    ("ci_not_square",    lambda m: m.cholesky_inverse(_A(m)),                                   "cholesky_inverse"),
    ("ci_int",           lambda m: m.cholesky_inverse(_L(m, "int64")),                          "cholesky_inverse"),
    ("ci_half",          lambda m: m.cholesky_inverse(_L(m, "float16")),                        "cholesky_inverse"),
    ("ci_bool",          lambda m: m.cholesky_inverse(_L(m, "bool")),                           "cholesky_inverse"),
    ("ci_singular",      lambda m: m.cholesky_inverse(_L(m) - _L(m)),                           "cholesky_inverse"),
    ("ci_upper_int",     lambda m: m.cholesky_inverse(_L(m), upper=1),                          "cholesky_inverse"),
    ("ci_not_tensor",    lambda m: m.cholesky_inverse(2),                                       "cholesky_inverse"),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input(torch, case):
    _, fn, says = case
    with pytest.raises(Exception) as theirs:
        fn(torch)
    a = ag.ones(3, 3, dtype=ag.float64, requires_grad=True)
    before = (to_numpy(a).copy(), a._version, a.grad)
    kind = next(k for k in (NotImplementedError, IndexError, TypeError, ValueError, RuntimeError)
                if isinstance(theirs.value, k))       # (PyTorch's _LinAlgError is a RuntimeError)
    with pytest.raises(kind) as ours:
        fn(ag)
    assert says in str(ours.value), str(ours.value)
    theirs_text = str(theirs.value).split(": ", 1)[-1] if "not implemented for" not in str(theirs.value) else None
    if theirs_text and kind is not TypeError:
        assert theirs_text in str(ours.value), (str(ours.value), str(theirs.value))
    assert np.array_equal(to_numpy(a), before[0]) and a._version == before[1] and a.grad is before[2]


def test_failed_call_changes_nothing(device):
    """A refused call leaves its operands (data, version, grad, graph) as they were."""
    a = ag.tensor(TALL, device=device, requires_grad=True)
    t = ag.tensor(TAU3[:2], device=device, requires_grad=True)
    c = ag.tensor(C52, device=device, requires_grad=True) * 1
    state = lambda: [(to_numpy(x).copy(), x._version, x.grad_fn, x.grad if x.is_leaf else None)  # noqa: E731
                     for x in (a, t, c)]
    before = state()
    for call in (lambda: ag.ormqr(a, t, c), lambda: ag.cholesky_solve(c, a), lambda: ag.cholesky_inverse(a)):
        with pytest.raises(RuntimeError):
            call()
    for (d0, v0, n0, g0), (d1, v1, n1, g1) in zip(before, state()):
        assert np.array_equal(d0, d1) and v0 == v1 and n0 is n1 and g0 is g1


@pytest.mark.parametrize("call", [
    lambda a, b: ag.linalg.householder_product(a, b[:, 0]),
    lambda a, b: ag.orgqr(b, a[:, 0]),
    lambda a, b: ag.ormqr(a, a[:, 0], b),
    lambda a, b: ag.ormqr(a, b[:, 0], a),
    lambda a, b: ag.cholesky_solve(a, b),
    lambda a, b: b.cholesky_solve(a, upper=True),
], ids=["householder", "orgqr", "ormqr_other", "ormqr_tau", "cholesky_solve", "cholesky_solve_method"])
def test_mixed_devices_raise_naming_both(fake_cuda, call):
    x = ag.tensor(SQ, requires_grad=True) * 1
    y = ag.ones(3, 3, dtype=ag.float64, device="cuda")
    with pytest.raises(RuntimeError, match=r"(cpu.*cuda:0|cuda:0.*cpu)") as e:
        call(x, y)
    assert "device" in str(e.value) and x.grad_fn.name() == "MulBackward1"


def test_non_finite_reflectors(torch, device):
    """NaN / inf in the reflectors' vectors spread as through LAPACK's org2r / orm2r (each H_i touches rows
    i: only, and householder_product's column i is e_i - tau_i v_i): the same entries are NaN / inf."""
    rng = np.random.default_rng(5)
    for trial in range(6):
        a = rng.standard_normal((2, 5, 3))
        a[trial % 2, 1 + trial % 4, trial % 3] = (np.nan, np.inf, -np.inf)[trial % 3]
        tau, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 5, 2))
        for fn in (lambda m, x, t, y: m.linalg.householder_product(x, t),
                   lambda m, x, t, y: m.ormqr(x, t, y, transpose=bool(trial % 2)),
                   lambda m, x, t, y: m.ormqr(x, t, y.mT, left=False)):
            o = fn(ag, *(ag.tensor(x, device=device) for x in (a, tau, c)))
            r = fn(torch, *(torch.tensor(x) for x in (a, tau, c)))
            np.testing.assert_allclose(to_numpy(o), r.numpy(), rtol=1e-12, atol=1e-12, equal_nan=True)


def test_non_finite_factor_of_cholesky_inverse(torch, device):
    """A divergence kept: with inf / NaN in the factor, cholesky_inverse is non-finite wherever PyTorch's
    is, and also at some entries LAPACK's potri (which skips structural zeros) leaves finite."""
    low = np.tril(np.ones((3, 3))) + np.eye(3)
    low[1, 0] = np.inf
    ours = to_numpy(ag.cholesky_inverse(ag.tensor(low, device=device)))
    ref = torch.cholesky_inverse(torch.tensor(low)).numpy()
    assert not np.isfinite(ours[~np.isfinite(ref)]).any()
    assert np.isfinite(ref).sum() == 4 and np.isfinite(ours).sum() == 0
