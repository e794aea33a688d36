"""ag.linalg's LU family (lu_factor, lu_factor_ex, lu, lu_solve, ag.lu_unpack), solve_triangular and
ag.triangular_solve, matrix_exp, the _ex forms (inv_ex, cholesky_ex, solve_ex), vander, vecdot,
tensorinv, tensorsolve, cond, diagonal and matmul (autograd_gpu/ops/decompositions.py) against
PyTorch: values (LU's P, L, U and pivots exactly, on matrices whose pivots are unambiguous), grad_fn
names, gradients in float64 and float32, finite differences to second order, batched and empty
shapes, singular matrices, and the errors."""
import math

import numpy as np
import pytest

import autograd_gpu as ag
from oracle import case_tests, check, to_numpy

pytestmark = pytest.mark.filterwarnings("ignore:torch.triangular_solve is deprecated")

_rng = np.random.default_rng(11)
SQ = _rng.standard_normal((3, 3))
SQB = _rng.standard_normal((2, 3, 3))
TALL = _rng.standard_normal((5, 3))
WIDE = _rng.standard_normal((2, 3, 5))
RHS = _rng.standard_normal((2, 3, 2))
WELL = SQB + 4 * np.eye(3)                    # well conditioned (triangles too)
T16 = _rng.standard_normal((4, 4)) + 4 * np.eye(4)


def _lu_all(m, a, **kw):
    _, low, up = m.linalg.lu(a, **kw)
    return (low * 2).sum(-1)[..., :min(a.shape[-2:])] + up.sum(-2)[..., :min(a.shape[-2:])]


def _unpack_all(m, a):
    p, low, up = m.lu_unpack(*m.linalg.lu_factor(a))
    return low.sum(-1)[..., :min(a.shape[-2:])] * 3 + up.sum(-2)[..., :min(a.shape[-2:])]


def _lu_solve(m, a, b, **kw):
    return m.linalg.lu_solve(*m.linalg.lu_factor(a), b, **kw)


#      id                      fn(lib, *inputs)                                                 inputs        options
CASES = [
    ("lu_factor",              lambda m, a: m.linalg.lu_factor(a)[0],                           [SQ],         {}),
    ("lu_factor_batched",      lambda m, a: m.linalg.lu_factor(a).LU,                           [SQB],        {}),
    ("lu_factor_tall",         lambda m, a: m.linalg.lu_factor(a)[0],                           [TALL],       {}),
    ("lu_factor_wide",         lambda m, a: m.linalg.lu_factor(a)[0],                           [WIDE],       {}),
    ("lu_factor_ex",           lambda m, a: m.linalg.lu_factor_ex(a).LU,                        [SQB],        {}),
    ("lu_L",                   lambda m, a: m.linalg.lu(a).L,                                   [SQB],        {}),
    ("lu_U",                   lambda m, a: m.linalg.lu(a)[2],                                  [SQ],         {}),
    ("lu_both_square",         _lu_all,                                                         [SQB],        dict(name=False)),
    ("lu_both_tall",           _lu_all,                                                         [TALL],       dict(name=False)),
    ("lu_both_wide",           _lu_all,                                                         [WIDE],       dict(name=False)),
    ("lu_L_wide",              lambda m, a: m.linalg.lu(a).L,                                   [WIDE],       {}),
    ("lu_U_wide",              lambda m, a: m.linalg.lu(a).U,                                   [WIDE],       {}),
    ("lu_L_tall",              lambda m, a: m.linalg.lu(a).L,                                   [TALL],       {}),
    ("lu_U_tall",              lambda m, a: m.linalg.lu(a).U,                                   [TALL],       {}),
    ("lu_unpack",              _unpack_all,                                                     [SQB],        dict(name=False)),
    ("lu_unpack_wide",         _unpack_all,                                                     [WIDE],       dict(name=False)),
    ("lu_unpack_tall",         _unpack_all,                                                     [TALL],       dict(name=False)),
    ("lu_solve",               _lu_solve,                                                       [SQB, RHS],   dict(name=False)),
    ("lu_solve_adjoint",       lambda m, a, b: _lu_solve(m, a, b, adjoint=True),                [SQB, RHS],   dict(name=False)),
    ("lu_solve_right",         lambda m, a, b: _lu_solve(m, a, b.mT, left=False),               [SQB, RHS],   dict(name=False)),
    ("lu_solve_right_adj",     lambda m, a, b: _lu_solve(m, a, b.mT, left=False, adjoint=True), [SQB, RHS],   dict(name=False, second_order=False)),
    ("lu_solve_bcast",         _lu_solve,                                                       [SQB[0], RHS], dict(name=False, second_order=False)),
    ("solve_tri_upper",        lambda m, a, b: m.linalg.solve_triangular(a, b, upper=True),     [WELL, RHS],  {}),
    ("solve_tri_lower",        lambda m, a, b: m.linalg.solve_triangular(a, b, upper=False),    [WELL, RHS],  {}),
    ("solve_tri_right",        lambda m, a, b: m.linalg.solve_triangular(a, b.mT, upper=True, left=False),
                                                                                                [WELL, RHS],  {}),
    ("solve_tri_unit",         lambda m, a, b: m.linalg.solve_triangular(a, b, upper=False, unitriangular=True),
                                                                                                [WELL, RHS],  {}),
    ("solve_tri_right_unit",   lambda m, a, b: m.linalg.solve_triangular(a, b.mT, upper=True, left=False,
                                                                          unitriangular=True),   [WELL, RHS],  {}),
    ("solve_tri_bcast",        lambda m, a, b: m.linalg.solve_triangular(a, b, upper=True),     [WELL[0], RHS], dict(name=False)),
    ("triangular_solve",       lambda m, b, a: m.triangular_solve(b, a).solution,               [RHS, WELL],  dict(name=False)),
    ("triangular_solve_t",     lambda m, b, a: b.triangular_solve(a, False, True, False)[0],    [RHS, WELL],  dict(name=False)),
    ("triangular_solve_coef",  lambda m, b, a: (lambda r: r.solution.sum(-1) + r.cloned_coefficient.sum(-1))(
                                                                  m.triangular_solve(b, a)), [RHS, WELL], dict(name=False)),
    ("matrix_exp",             lambda m, a: m.linalg.matrix_exp(a),                             [SQ],         {}),
    ("matrix_exp_batched",     lambda m, a: m.matrix_exp(a),                                    [SQB],        {}),
    ("matrix_exp_large",       lambda m, a: (a * 4).matrix_exp(),                               [SQ],         dict(name=False)),
    ("inv_ex",                 lambda m, a: m.linalg.inv_ex(a).inverse,                         [WELL],       {}),
    ("solve_ex",               lambda m, a, b: m.linalg.solve_ex(a, b)[0],                      [WELL, RHS],  {}),
    ("solve_ex_right",         lambda m, a, b: m.linalg.solve_ex(a, b.mT, left=False).result,   [WELL, RHS],  dict(name=False)),
    ("cholesky_ex",            lambda m, a: m.linalg.cholesky_ex(a @ a.mT + m.eye(3, dtype=a.dtype, device=a.device)).L,
                                                                                                [SQB],        dict(name=False)),
    ("vander",                 lambda m, x: m.linalg.vander(x),                                 [TALL],       dict(name=False)),
    ("vander_N",               lambda m, x: m.linalg.vander(x, N=5),                            [SQ[0]],      dict(name=False)),
    ("vecdot",                 lambda m, x, y: m.linalg.vecdot(x, y),                           [WIDE, WIDE[0]], dict(name=False)),
    ("vecdot_dim",             lambda m, x, y: m.linalg.vecdot(x, y, dim=0),                    [TALL, TALL[:, :1]], dict(name=False)),
    ("tensorinv",              lambda m, a: m.linalg.tensorinv(a.reshape(2, 2, 4)),            [T16],       dict(name=False)),
    ("tensorinv_ind1",         lambda m, a: m.linalg.tensorinv(a.reshape(4, 2, 2), ind=1),     [T16],       dict(name=False)),
    ("tensorsolve",            lambda m, a, b: m.linalg.tensorsolve(a.reshape(2, 2, 4), b.reshape(2, 2)),
                                                                                                [T16, T16[0]], dict(name=False)),
    ("tensorsolve_dims",       lambda m, a, b: m.linalg.tensorsolve(a.reshape(4, 2, 2), b.reshape(2, 2), dims=(0,)),
                                                                                                [T16, T16[0]], dict(name=False)),
    ("cond",                   lambda m, a: m.linalg.cond(a),                                   [WELL],       dict(name=False)),
    ("cond_tall",              lambda m, a: m.linalg.cond(a, -2),                               [TALL],       dict(name=False)),
    # (PyTorch's backward of these raises: its cond writes its inv_ex result in place; ours differentiates,
    # checked against PyTorch's norm(A) * norm(inv(A)))
    *[(f"cond_{p}",            lambda m, a, p=p: m.linalg.cond(a, p),                           [WELL],       dict(
        name=False, torch_fn=lambda t, a, p=p: t.linalg.matrix_norm(a, p) * t.linalg.matrix_norm(t.linalg.inv(a), p)))
      for p in ("fro", "nuc", math.inf, -math.inf, 1, -1)],
    ("diagonal",               lambda m, a: m.linalg.diagonal(a, offset=1, dim1=0, dim2=2),     [SQB],        dict(name=False)),
    ("matmul",                 lambda m, a, b: m.linalg.matmul(a, b),                           [SQB, RHS],   dict(name=False)),
]

test_against_pytorch, test_gradcheck, test_second_order = case_tests(CASES)


# matrices whose partial pivots are unambiguous (each column's largest entry is unique by a margin)
PIVOTED = np.array([[[1.0, 2, 3, 0.5], [7, 1, 0, 2], [2, 9, 1, 1], [3, 1, 8, 4]],
                    [[0.1, 0.2, 5, 1], [0.3, 6, 1, 2], [4, 1, 2, 3], [1, 2, 3, 9]]])


@pytest.mark.parametrize("shape", [(4, 4), (2, 4, 4), (4, 3), (3, 4), (2, 2, 4)])
def test_lu_values_and_pivots_exactly(torch, device, shape):
    a = PIVOTED[(...,) + tuple(slice(0, s) for s in shape[-2:])]
    a = a if len(shape) == 3 else a[0]
    ours = ag.linalg.lu_factor_ex(ag.tensor(a, device=device))
    ref = torch.linalg.lu_factor_ex(torch.tensor(a))
    assert ours.pivots.dtype == ag.int32 and ours.info.dtype == ag.int32
    assert to_numpy(ours.pivots).tolist() == ref.pivots.tolist() and to_numpy(ours.info).tolist() == ref.info.tolist()
    np.testing.assert_allclose(to_numpy(ours.LU), ref.LU.numpy(), rtol=1e-13, atol=1e-14)
    for o, r in zip(ag.linalg.lu(ag.tensor(a, device=device)), torch.linalg.lu(torch.tensor(a))):
        np.testing.assert_allclose(to_numpy(o), r.numpy(), rtol=1e-13, atol=1e-14)
    for o, r in zip(ag.lu_unpack(ours.LU, ours.pivots), torch.lu_unpack(ref.LU, ref.pivots)):
        np.testing.assert_allclose(to_numpy(o), r.numpy(), rtol=1e-13, atol=1e-14)
    assert type(ours).__name__ == "linalg_lu_factor_ex"


def test_lu_of_singular_matrices(torch, device):
    """lu_factor_ex and lu succeed with info > 0 (exact zero pivots); lu_factor raises as PyTorch's."""
    s = np.array([[[1.0, 2, 3], [2, 4, 6], [1, 0, 1]], [[0, 0, 0], [0, 0, 0], [1, 2, 3]], [[2, 1, 0], [1, 3, 0],
                                                                                          [0, 0, 5]]])
    ours = ag.linalg.lu_factor_ex(ag.tensor(s, device=device))
    ref = torch.linalg.lu_factor_ex(torch.tensor(s))
    assert to_numpy(ours.info).tolist() == ref.info.tolist()
    assert to_numpy(ours.pivots).tolist() == ref.pivots.tolist()
    np.testing.assert_allclose(to_numpy(ours.LU), ref.LU.numpy(), atol=1e-14)
    for o, r in zip(ag.linalg.lu(ag.tensor(s, device=device)), torch.linalg.lu(torch.tensor(s))):
        np.testing.assert_allclose(to_numpy(o), r.numpy(), atol=1e-14)
    with pytest.raises(RuntimeError) as theirs:
        torch.linalg.lu_factor(torch.tensor(s))
    with pytest.raises(RuntimeError, match=r"lu_factor: \(Batch element 0\): U\[3,3\] is zero"):
        ag.linalg.lu_factor(ag.tensor(s, device=device))
    assert "U[3,3] is zero" in str(theirs.value)
    with pytest.raises(RuntimeError, match="singular"):
        ag.linalg.solve_ex(ag.tensor(s, device=device), ag.ones(3, 1, dtype=ag.float64, device=device),
                           check_errors=True)


@pytest.mark.parametrize("shape", [(0, 0), (2, 0, 0), (0, 3, 3), (0, 2, 4), (3, 0), (0, 3)])
def test_empty_shapes(torch, device, shape):
    a = np.zeros(shape)
    for fn in (lambda m, x: m.linalg.lu_factor_ex(x), lambda m, x: m.linalg.lu(x)):
        for o, r in zip(fn(ag, ag.tensor(a, device=device)), fn(torch, torch.tensor(a))):
            assert tuple(o.shape) == tuple(r.shape) and o.dtype.libtorch == {"torch.float64": "Double",
                                                                              "torch.int32": "Int"}[str(r.dtype)]
    if shape[-1] == shape[-2]:
        for fn in (lambda m, x: m.linalg.matrix_exp(x), lambda m, x: m.linalg.inv_ex(x)[0],
                   lambda m, x: m.linalg.solve_triangular(x, x, upper=True), lambda m, x: m.linalg.cond(x)):
            o, r = fn(ag, ag.tensor(a, device=device)), fn(torch, torch.tensor(a))
            assert tuple(o.shape) == tuple(r.shape)


def test_solve_triangular_reads_one_triangle_and_zero_diagonals(torch, device):
    """The other triangle (and the diagonal with unitriangular) is not read; a zero diagonal gives inf /
    NaN with no error, as BLAS trsm."""
    a = np.triu(WELL[0]) + np.tril(np.full((3, 3), np.nan), -1)
    b = RHS[0]
    for kw in (dict(upper=True), dict(upper=True, unitriangular=True)):
        check(torch, lambda m, x, y: m.linalg.solve_triangular(x, y, **kw), arrays=[a, b], device=device, name=False)
    z = np.triu(WELL[0])
    z[2, 2] = 0
    ours = ag.linalg.solve_triangular(ag.tensor(z, device=device), ag.tensor(b, device=device), upper=True)
    ref = torch.linalg.solve_triangular(torch.tensor(z), torch.tensor(b), upper=True)
    np.testing.assert_array_equal(np.isfinite(to_numpy(ours)), np.isfinite(ref.numpy()))
    # mixed float dtypes: B is cast to A's dtype (unlike linalg.solve, which raises)
    ours = ag.linalg.solve_triangular(ag.tensor(WELL[0], device=device), ag.tensor(b, dtype=ag.float32, device=device),
                                      upper=False)
    ref = torch.linalg.solve_triangular(torch.tensor(WELL[0]), torch.tensor(b, dtype=torch.float32), upper=False)
    assert ours.dtype == ag.float64 and ref.dtype == torch.float64
    np.testing.assert_allclose(to_numpy(ours), ref.numpy(), rtol=1e-6)


def test_matrix_exp_values(torch, device):
    cases = [np.zeros((3, 3)), np.diag([1.0, -2, 3]), np.array([[0, 1.0], [-1, 0]]) * math.pi,
             _rng.standard_normal((2, 3, 5, 5)) * 10, np.array([[1e-9, 1], [0, 1e-9]]), np.array([[np.nan, 0], [0, 1]])]
    for a in cases:
        ours = to_numpy(ag.linalg.matrix_exp(ag.tensor(a, device=device)))
        ref = torch.linalg.matrix_exp(torch.tensor(a)).numpy()
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12 * np.abs(ref[np.isfinite(ref)]).max(initial=1))
        o32 = to_numpy(ag.matrix_exp(ag.tensor(a, dtype=ag.float32, device=device)))
        r32 = torch.matrix_exp(torch.tensor(a, dtype=torch.float32)).numpy()
        np.testing.assert_allclose(o32, r32, rtol=2e-4, atol=2e-5 * np.abs(r32[np.isfinite(r32)]).max(initial=1))


def test_ex_forms_report_info(torch, device):
    s = np.stack([T16, np.array([[1.0, 2, 0, 0], [2, 4, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])])
    spd = np.stack([T16 @ T16.T, np.diag([1.0, 2, -1, 3])])
    for m_ours, m_ref, arg in ((ag.linalg.inv_ex, torch.linalg.inv_ex, s), (ag.linalg.cholesky_ex,
                                                                          torch.linalg.cholesky_ex, spd)):
        ours, ref = m_ours(ag.tensor(arg, device=device)), m_ref(torch.tensor(arg))
        assert ours.info.dtype == ag.int32 and to_numpy(ours.info).tolist() == ref.info.tolist()
        np.testing.assert_allclose(to_numpy(ours[0])[0], ref[0].numpy()[0], rtol=1e-10, atol=1e-14)
        assert np.isnan(to_numpy(ours[0])[1]).all()         # (PyTorch's values there are LAPACK's leftovers)
        with pytest.raises(RuntimeError, match=m_ours.__name__):
            m_ours(ag.tensor(arg, device=device), check_errors=True)
    ours = ag.linalg.solve_ex(ag.tensor(s, device=device), ag.tensor(T16[:, :2], device=device))
    ref = torch.linalg.solve_ex(torch.tensor(s), torch.tensor(T16[:, :2]))
    assert to_numpy(ours.info).tolist() == ref.info.tolist()
    np.testing.assert_allclose(to_numpy(ours.result)[0], ref.result.numpy()[0], rtol=1e-10, atol=1e-14)
    assert ag.linalg.cond(ag.tensor(s[1], device=device), 1).item() == math.inf


def test_vander_of_integers_and_zeros(torch, device):
    for x in (np.array([1, 2, 3]), np.array([[0.0, 2, -1], [3, 0, 0]])):
        ours, ref = ag.linalg.vander(ag.tensor(x, device=device)), torch.linalg.vander(torch.tensor(x))
        assert to_numpy(ours).tolist() == ref.tolist() and to_numpy(ours).dtype == ref.numpy().dtype
    xo = ag.tensor([0.0, 2.0], dtype=ag.float64, device=device, requires_grad=True)
    xt = torch.tensor([0.0, 2.0], dtype=torch.float64, requires_grad=True)
    ag.linalg.vander(xo, N=4).sum().backward()
    torch.linalg.vander(xt, N=4).sum().backward()
    assert to_numpy(xo.grad).tolist() == xt.grad.tolist()


def test_result_types_and_grad_fn_names(torch, device):
    a = ag.tensor(WELL[0], device=device, requires_grad=True)
    t = torch.tensor(WELL[0], requires_grad=True)
    pairs = [(ag.linalg.lu_factor(a), torch.linalg.lu_factor(t)), (ag.linalg.lu(a), torch.linalg.lu(t)),
             (ag.lu_unpack(*ag.linalg.lu_factor(a)), torch.lu_unpack(*torch.linalg.lu_factor(t))),
             (ag.triangular_solve(a, a), torch.triangular_solve(t, t)), (ag.linalg.inv_ex(a), torch.linalg.inv_ex(t)),
             (ag.linalg.solve_ex(a, a), torch.linalg.solve_ex(t, t)),
             (ag.linalg.cholesky_ex(a @ a.mT), torch.linalg.cholesky_ex(t @ t.mT))]
    for ours, theirs in pairs:
        assert type(ours).__name__ == type(theirs).__name__.split(".")[-1]
        assert all(hasattr(theirs, f) for f in ours._fields) and len(ours) == len(theirs)
    assert ag.linalg.lu(a).P.requires_grad is False and ag.linalg.lu_factor(a).pivots.requires_grad is False


_A = lambda m, dt="float64", shape=(3, 3): m.ones(*shape, dtype=getattr(m, dt)) + m.eye(shape[-1], dtype=getattr(m, dt))  # noqa: E731
_B = lambda m, dt="float64": m.ones(3, 2, dtype=getattr(m, dt))  # noqa: E731
_PIV = lambda m: m.linalg.lu_factor(_A(m))  # noqa: E731

BAD = [
    ("lu_factor_int",      lambda m: m.linalg.lu_factor(_A(m, "int64")),                   "lu"),
    ("lu_factor_half",     lambda m: m.linalg.lu_factor(_A(m, "float16")),                 "lu"),
    ("lu_factor_1d",       lambda m: m.linalg.lu_factor(m.ones(3, dtype=m.float64)),        "lu_factor"),
    ("lu_factor_nopivot",  lambda m: m.linalg.lu_factor(_A(m), pivot=False),                "LU without pivoting"),
    ("lu_factor_pivot_int", lambda m: m.linalg.lu_factor(_A(m), pivot=1),                   "pivot"),
    ("lu_int",             lambda m: m.linalg.lu(_A(m, "int64")),                           "lu"),
    ("lu_1d",              lambda m: m.linalg.lu(m.ones(3, dtype=m.float64)),               "lu"),
    ("lu_solve_shapes",    lambda m: m.linalg.lu_solve(*_PIV(m), _B(m)[:2]),                "lu_solve"),
    ("lu_solve_piv_dtype", lambda m: m.linalg.lu_solve(_PIV(m)[0], _PIV(m)[1].long(), _B(m)), "lu_solve"),
    ("lu_solve_dtype",     lambda m: m.linalg.lu_solve(*_PIV(m), _B(m, "float32")),         "lu_solve"),
    ("lu_solve_vector",    lambda m: m.linalg.lu_solve(*_PIV(m), _B(m)[:, 0]),              "lu_solve"),
    ("lu_solve_npiv",      lambda m: m.linalg.lu_solve(_PIV(m)[0], _PIV(m)[1][:2], _B(m)),  "lu_solve"),
    ("lu_solve_rect",      lambda m: m.linalg.lu_solve(_PIV(m)[0][:2], _PIV(m)[1], _B(m)),  "lu_solve"),
    ("lu_unpack_piv_dtype", lambda m: m.lu_unpack(_PIV(m)[0], _PIV(m)[1].long()),           "lu_unpack"),
    ("lu_unpack_range",    lambda m: m.lu_unpack(_PIV(m)[0], _PIV(m)[1] + 5),               "lu_unpack"),
    ("lu_unpack_1d",       lambda m: m.lu_unpack(_PIV(m)[0][0], _PIV(m)[1]),                "lu_unpack"),
    ("tri_shapes",         lambda m: m.linalg.solve_triangular(_A(m), _B(m)[:2], upper=True), "solve_triangular"),
    ("tri_vector",         lambda m: m.linalg.solve_triangular(_A(m), _B(m)[:, 0], upper=True), "solve_triangular"),
    ("tri_int",            lambda m: m.linalg.solve_triangular(_A(m, "int64"), _B(m, "int64"), upper=True), "triangular_solve"),
    ("tri_half",           lambda m: m.linalg.solve_triangular(_A(m, "float16"), _B(m, "float16"), upper=True), "triangular_solve"),
    ("tri_rect",           lambda m: m.linalg.solve_triangular(_A(m)[:2], _B(m)[:2], upper=True), "solve_triangular"),
    ("tri_no_upper",       lambda m: m.linalg.solve_triangular(_A(m), _B(m)),               "solve_triangular"),
    ("tri_right_shapes",   lambda m: m.linalg.solve_triangular(_A(m), _B(m), upper=True, left=False), "solve_triangular"),
    ("triangular_solve",   lambda m: m.triangular_solve(_B(m)[:2], _A(m)),                  "triangular_solve"),
    ("triangular_solve_dt", lambda m: m.triangular_solve(_B(m, "float32"), _A(m)),          "triangular_solve"),
    ("matrix_exp_int",     lambda m: m.linalg.matrix_exp(_A(m, "int64")),                   "matrix_exp"),
    ("matrix_exp_1d",      lambda m: m.linalg.matrix_exp(m.ones(3, dtype=m.float64)),       "matrix_exp"),
    ("matrix_exp_rect",    lambda m: m.matrix_exp(m.ones(2, 3, dtype=m.float64)),           "matrix_exp"),
    ("inv_ex_check",       lambda m: m.linalg.inv_ex(m.ones(3, 3, dtype=m.float64), check_errors=True), "inv_ex"),
    ("cholesky_ex_check",  lambda m: m.linalg.cholesky_ex(-_A(m), check_errors=True),      "cholesky_ex"),
    ("solve_ex_check",     lambda m: m.linalg.solve_ex(m.ones(3, 3, dtype=m.float64), _B(m), check_errors=True), "solve_ex"),
    ("vander_N",           lambda m: m.linalg.vander(m.ones(3), N=1),                       "N must be greater than 1"),
    ("vander_bool",        lambda m: m.linalg.vander(m.ones(3, dtype=m.bool)),              "vander"),
    ("vecdot_dtype",       lambda m: m.linalg.vecdot(_A(m), _A(m, "float32")),              "vecdot"),
    ("vecdot_shapes",      lambda m: m.linalg.vecdot(_A(m), _B(m)),                         "vecdot"),
    ("vecdot_int",         lambda m: m.linalg.vecdot(_A(m, "int64"), _A(m, "int64")),       "vecdot"),
    ("tensorinv_shape",    lambda m: m.linalg.tensorinv(m.ones(3, 3, 1, dtype=m.float64)),  "tensorinv"),
    ("tensorinv_ind",      lambda m: m.linalg.tensorinv(_A(m), ind=0),                      "tensorinv"),
    ("tensorsolve_shape",  lambda m: m.linalg.tensorsolve(_A(m), _B(m)),                    "tensorsolve"),
    ("cond_p",             lambda m: m.linalg.cond(_A(m), "x"),                             "cond"),
    ("cond_p3",            lambda m: m.linalg.cond(_A(m), 3),                               "cond"),
    ("cond_rect",          lambda m: m.linalg.cond(_B(m), 1),                               "cond"),
    ("cond_int",           lambda m: m.linalg.cond(_A(m, "int64")),                         "svd"),
    ("cond_1d",            lambda m: m.linalg.cond(m.ones(3, dtype=m.float64)),             "cond"),
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
    assert np.array_equal(to_numpy(a), before[0]) and a._version == before[1] and a.grad is before[2]


def test_float16_matrix_exp_refused(torch, device):
    """A divergence kept: PyTorch 2.13 computes float16 matrix_exp on CPU (NaN / inf for ordinary
    input); ours refuses low precision as the other decompositions."""
    with pytest.raises(RuntimeError, match="linalg.matrix_exp: Low precision"):
        ag.linalg.matrix_exp(ag.eye(3, dtype=ag.float16, device=device))
