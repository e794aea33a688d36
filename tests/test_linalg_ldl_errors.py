"""ag.linalg.LinAlgError (where PyTorch raises torch.linalg.LinAlgError, with its messages) and the LDL
family (ldl_factor, ldl_factor_ex, ldl_solve: LAPACK sytrf / sytrs, lower) against PyTorch 2.13: LD and
pivots as PyTorch's, solutions from either library's factors, batched and empty shapes, singular, NaN
and inf input, no derivative (as PyTorch), both devices, and the errors."""
import numpy as np
import pytest

import autograd_gpu as ag
from oracle import to_numpy

pytestmark = pytest.mark.filterwarnings("ignore:torch.cholesky is deprecated")

NAN = float("nan")
SING = [[1.0, 2.0], [2.0, 4.0]]                # singular: LU's second pivot is exactly zero
INDEF = [[1.0, 2.0], [2.0, 1.0]]               # symmetric, not positive-definite
WITH_NAN = [[1.0, NAN], [2.0, 1.0]]
ZERO = [[0.0, 0.0], [0.0, 0.0]]
EYE = [[1.0, 0.0], [0.0, 1.0]]


def _t(m, data, device="cpu", dtype="float64"):
    if m is ag:
        return ag.tensor(np.asarray(data, dtype=dtype), device=device)
    return m.tensor(np.asarray(data, dtype=dtype))


def _kind(lib_module, e):
    """'LinAlgError' for either library's LinAlgError, else the exception's class name."""
    return "LinAlgError" if isinstance(e, lib_module.linalg.LinAlgError) else type(e).__name__


def test_linalg_error_is_a_runtime_error():
    assert issubclass(ag.linalg.LinAlgError, RuntimeError)
    assert "LinAlgError" in ag.linalg.__all__
    with pytest.raises(RuntimeError):
        ag.linalg.inv(ag.zeros(2, 2))


#      id                     fn(lib, device)                                                          kind
ERRORS = [
    ("inv",                   lambda m, d: m.linalg.inv(_t(m, SING, d)),                                 "LinAlgError"),
    ("inv_batched",           lambda m, d: m.linalg.inv(_t(m, [INDEF, SING], d)),                        "LinAlgError"),
    ("inv_float32",           lambda m, d: m.linalg.inv(_t(m, SING, d, "float32")),                      "LinAlgError"),
    ("inverse",               lambda m, d: m.inverse(_t(m, SING, d)),                                    "LinAlgError"),
    ("matrix_power_neg",      lambda m, d: m.linalg.matrix_power(_t(m, SING, d), -2),                    "LinAlgError"),
    ("tensorinv",             lambda m, d: m.linalg.tensorinv(_t(m, SING, d), 1),                        "LinAlgError"),
    ("inv_ex_check",          lambda m, d: m.linalg.inv_ex(_t(m, SING, d), check_errors=True),           "LinAlgError"),
    ("inv_ex_check_batched",  lambda m, d: m.linalg.inv_ex(_t(m, [EYE, SING], d), check_errors=True),    "LinAlgError"),
    ("solve",                 lambda m, d: m.linalg.solve(_t(m, SING, d), _t(m, EYE, d)),                "LinAlgError"),
    ("solve_right",           lambda m, d: m.linalg.solve(_t(m, SING, d), _t(m, EYE, d), left=False),    "LinAlgError"),
    ("solve_batched",         lambda m, d: m.linalg.solve(_t(m, [EYE, SING], d), _t(m, EYE, d)),         "LinAlgError"),
    ("solve_ex_check",        lambda m, d: m.linalg.solve_ex(_t(m, SING, d), _t(m, EYE, d),
                                                              check_errors=True),                        "LinAlgError"),
    ("tensorsolve",           lambda m, d: m.linalg.tensorsolve(_t(m, SING, d), _t(m, [1.0, 1.0], d)),   "LinAlgError"),
    ("cholesky",              lambda m, d: m.linalg.cholesky(_t(m, INDEF, d)),                           "LinAlgError"),
    ("cholesky_upper",        lambda m, d: m.linalg.cholesky(_t(m, INDEF, d), upper=True),               "LinAlgError"),
    ("cholesky_batched",      lambda m, d: m.linalg.cholesky(_t(m, [EYE, EYE, INDEF], d)),               "LinAlgError"),
    ("cholesky_nan",          lambda m, d: m.linalg.cholesky(_t(m, WITH_NAN, d)),                        "LinAlgError"),
    ("cholesky_first_minor",  lambda m, d: m.linalg.cholesky(_t(m, [[-1.0, 0.0], [0.0, 1.0]], d)),       "LinAlgError"),
    ("cholesky_ex_check",     lambda m, d: m.linalg.cholesky_ex(_t(m, [EYE, INDEF], d), check_errors=True),
                                                                                                         "LinAlgError"),
    ("torch_cholesky",        lambda m, d: m.cholesky(_t(m, INDEF, d)),                                  "LinAlgError"),
    ("cholesky_inverse",      lambda m, d: m.cholesky_inverse(_t(m, ZERO, d)),                           "LinAlgError"),
    ("cholesky_inverse_batch", lambda m, d: m.cholesky_inverse(_t(m, [EYE, [[1.0, 0.0], [1.0, 0.0]]], d)),
                                                                                                         "LinAlgError"),
    ("svd_nan",               lambda m, d: m.linalg.svd(_t(m, WITH_NAN, d)),                             "LinAlgError"),
    ("svd_reduced_nan",       lambda m, d: m.linalg.svd(_t(m, WITH_NAN, d), full_matrices=False),        "LinAlgError"),
    ("svdvals_nan",           lambda m, d: m.linalg.svdvals(_t(m, WITH_NAN, d)),                         "LinAlgError"),
    ("torch_svd_nan",         lambda m, d: m.svd(_t(m, WITH_NAN, d)),                                    "LinAlgError"),
    ("pinv_nan",              lambda m, d: m.linalg.pinv(_t(m, WITH_NAN, d)),                            "LinAlgError"),
    ("matrix_rank_nan",       lambda m, d: m.linalg.matrix_rank(_t(m, WITH_NAN, d)),                     "LinAlgError"),
    ("cond_nan",              lambda m, d: m.linalg.cond(_t(m, WITH_NAN, d)),                            "LinAlgError"),
    ("matrix_norm_nuc_nan",   lambda m, d: m.linalg.matrix_norm(_t(m, WITH_NAN, d), "nuc"),              "LinAlgError"),
    ("norm_2_nan",            lambda m, d: m.linalg.norm(_t(m, WITH_NAN, d), 2),                         "LinAlgError"),
    # PyTorch's plain RuntimeErrors (not LinAlgError)
    ("lu_factor",             lambda m, d: m.linalg.lu_factor(_t(m, ZERO, d)),                           "RuntimeError"),
    ("lu_factor_ex_check",    lambda m, d: m.linalg.lu_factor_ex(_t(m, ZERO, d), check_errors=True),     "RuntimeError"),
    ("lu_factor_ex_batched",  lambda m, d: m.linalg.lu_factor_ex(_t(m, [EYE, ZERO], d), check_errors=True),
                                                                                                         "RuntimeError"),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_as_pytorchs(torch, device, case):
    """The exception class (LinAlgError where PyTorch's is) and PyTorch's message, word for word."""
    _, fn, kind = case
    with pytest.raises(RuntimeError) as theirs:
        fn(torch, "cpu")
    with pytest.raises(RuntimeError) as ours:
        fn(ag, device)
    assert _kind(torch, theirs.value) == kind
    assert _kind(ag, ours.value) == kind, type(ours.value)
    assert str(ours.value) == str(theirs.value)


#      id                     fn(lib, device): no error in PyTorch (inf / NaN or an info tensor instead)
QUIET = [
    ("lu_solve_singular",     lambda m, d: m.linalg.lu_solve(_t(m, ZERO, d), _t(m, [1, 2], d, "int32"), _t(m, EYE, d))),
    ("cholesky_solve_zero",   lambda m, d: m.cholesky_solve(_t(m, EYE, d), _t(m, ZERO, d))),
    ("solve_triangular_zero", lambda m, d: m.linalg.solve_triangular(_t(m, ZERO, d), _t(m, EYE, d), upper=True)),
    ("inv_ex",                lambda m, d: m.linalg.inv_ex(_t(m, SING, d)).info),
    ("solve_ex",              lambda m, d: m.linalg.solve_ex(_t(m, SING, d), _t(m, EYE, d)).info),
    ("cholesky_ex",           lambda m, d: m.linalg.cholesky_ex(_t(m, [EYE, INDEF], d)).info),
    ("lu_factor_ex",          lambda m, d: m.linalg.lu_factor_ex(_t(m, ZERO, d)).info),
    ("cond_1_singular",       lambda m, d: m.linalg.cond(_t(m, SING, d), 1)),
    ("det_singular",          lambda m, d: m.linalg.det(_t(m, SING, d))),
    ("inv_nan",               lambda m, d: m.linalg.inv(_t(m, WITH_NAN, d))),
    ("eigh_nan",              lambda m, d: m.linalg.eigh(_t(m, WITH_NAN, d)).eigenvalues.shape[-1]),
    ("pinv_hermitian_nan",    lambda m, d: m.linalg.pinv(_t(m, WITH_NAN, d), hermitian=True).shape[-1]),
]


@pytest.mark.parametrize("case", QUIET, ids=[c[0] for c in QUIET])
def test_no_error_where_pytorch_has_none(torch, device, case):
    _, fn = case
    ref = fn(torch, "cpu")
    out = fn(ag, device)
    if isinstance(ref, int):
        assert out == ref
    else:
        np.testing.assert_allclose(to_numpy(out), to_numpy(ref), equal_nan=True)


def test_eigh_and_svd_not_converging_raise_linalg_error(monkeypatch):
    """LAPACK's non-convergence (NumPy's own LinAlgError) is our LinAlgError with PyTorch's wording (without
    its error code, which NumPy does not report), naming the batch element."""
    def fail(what):
        def raise_(*args, **kwargs):
            raise np.linalg.LinAlgError(f"{what} did not converge")       # (NumPy's words)
        return raise_

    a = ag.tensor(np.stack([np.eye(3), 2 * np.eye(3)]))
    for name, what in (("eigh", "Eigenvalues"), ("eigvalsh", "Eigenvalues"), ("svd", "SVD")):
        monkeypatch.setattr(np.linalg, name, fail(what))
    with pytest.raises(ag.linalg.LinAlgError, match=r"^linalg.eigh: \(Batch element 0\): The algorithm failed to "
                                                    r"converge because the input matrix is ill-conditioned"):
        ag.linalg.eigh(a)
    with pytest.raises(ag.linalg.LinAlgError, match="^linalg.eigh: The algorithm failed to converge"):
        ag.linalg.eigvalsh(a[0])
    for call in (lambda: ag.linalg.svd(a), lambda: ag.linalg.svdvals(a), lambda: ag.linalg.pinv(a),
                 lambda: ag.linalg.matrix_rank(a)):
        with pytest.raises(ag.linalg.LinAlgError, match="^linalg.svd: The algorithm failed to converge because the "
                                                        "input matrix is ill-conditioned or has too many repeated "
                                                        "singular values"):
            call()


# ---- LDL ------------------------------------------------------------------------------------------

def _random_matrices(seed, shape, symmetric):
    a = np.random.default_rng(seed).standard_normal(shape)
    return a + np.swapaxes(a, -1, -2) if symmetric else a     # (only the lower triangle is read)


LDL_INPUTS = [
    ("sym_4", _random_matrices(0, (4, 4), True)),
    ("nonsym_5", _random_matrices(1, (5, 5), False)),
    ("batched_sym", _random_matrices(2, (3, 6, 6), True)),
    ("batched_2d", _random_matrices(3, (2, 2, 5, 5), False)),
    ("n1", np.array([[-3.0]])),
    ("swap_2x2", np.array([[0.0, 1.0], [1.0, 0.0]])),                    # a 2x2 pivot
    ("swap_1x1", np.array([[0.1, 0.2, 0.0], [0.2, 5.0, 1.0], [0.0, 1.0, 3.0]])),
    ("indefinite_8", _random_matrices(4, (8, 8), True) - 2 * np.eye(8)),
    ("big_70", _random_matrices(5, (70, 70), True)),                    # (past MKL's block size)
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", LDL_INPUTS, ids=[c[0] for c in LDL_INPUTS])
def test_ldl_factor_values_and_solutions(torch, device, case, dtype):
    """LD and pivots as PyTorch's (pivots exactly); ldl_solve on PyTorch's factors and on ours gives
    PyTorch's solution."""
    _, a = case
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=1e-4, atol=1e-5)
    ref = torch.linalg.ldl_factor_ex(torch.tensor(a, dtype=getattr(torch, dtype)))
    out = ag.linalg.ldl_factor_ex(ag.tensor(a, dtype=dtype, device=device))
    assert type(out).__name__ == "linalg_ldl_factor_ex" and out._fields == ("LD", "pivots", "info")
    assert out.LD.dtype == getattr(ag, dtype) and out.pivots.dtype == ag.int32 and out.info.dtype == ag.int32
    assert out.LD.device == ag.device(device)
    np.testing.assert_array_equal(to_numpy(out.pivots), ref.pivots.numpy())
    np.testing.assert_array_equal(to_numpy(out.info), ref.info.numpy())
    np.testing.assert_allclose(to_numpy(out.LD), ref.LD.numpy(), **tol)
    b = np.random.default_rng(9).standard_normal(a.shape[:-1] + (3,))
    x_ref = torch.linalg.ldl_solve(ref.LD, ref.pivots, torch.tensor(b, dtype=getattr(torch, dtype)))
    theirs_factors = ag.linalg.ldl_solve(ag.tensor(ref.LD.numpy(), device=device),
                                         ag.tensor(ref.pivots.numpy(), device=device),
                                         ag.tensor(b, dtype=dtype, device=device))
    our_factors = ag.linalg.ldl_solve(out.LD, out.pivots, ag.tensor(b, dtype=dtype, device=device))
    scale = max(1.0, float(np.abs(x_ref.numpy()).max()))
    for x in (theirs_factors, our_factors):
        assert x.dtype == getattr(ag, dtype) and x.device == ag.device(device)
        np.testing.assert_allclose(to_numpy(x) / scale, x_ref.numpy() / scale, **tol)


def test_ldl_covers_both_pivot_kinds(torch):
    """The random inputs above take 2x2 blocks (negative pivots) and 1x1 interchanges."""
    piv = np.concatenate([ag.linalg.ldl_factor(ag.tensor(a)).pivots.numpy().reshape(-1) for _, a in LDL_INPUTS])
    assert (piv < 0).any()
    ones = [ag.linalg.ldl_factor(ag.tensor(a)).pivots.numpy() for _, a in LDL_INPUTS]
    assert any(((p > 0) & (p != np.arange(1, p.shape[-1] + 1))).any() for p in ones)


def test_ldl_hermitian_and_lower_triangle_only(torch, device):
    a = _random_matrices(6, (5, 5), True)
    garbage = a + np.triu(np.full((5, 5), 7.0), 1)
    lo = ag.linalg.ldl_factor(ag.tensor(a, device=device))
    for kw in ({"hermitian": True}, {}):
        other = ag.linalg.ldl_factor(ag.tensor(garbage, device=device), **kw)
        np.testing.assert_array_equal(to_numpy(other.LD), to_numpy(lo.LD))
        np.testing.assert_array_equal(to_numpy(other.pivots), to_numpy(lo.pivots))
    b = ag.tensor(np.ones((5, 2)), device=device)
    x = ag.linalg.ldl_solve(lo.LD + ag.tensor(np.triu(np.full((5, 5), 3.0), 1), device=device), lo.pivots, b,
                            hermitian=True)
    np.testing.assert_allclose(a @ to_numpy(x), np.ones((5, 2)), atol=1e-10)


SPECIAL = [
    ("zero", np.zeros((3, 3))),
    ("partly_singular", np.array([[1.0, 1, 0], [1, 1, 0], [0, 0, 1]])),
    ("nan_diagonal", np.array([[NAN, 1.0], [1.0, 1.0]])),
    ("nan_off_diagonal", np.array([[1.0, NAN], [NAN, 1.0]])),
    ("inf_diagonal", np.array([[np.inf, 1.0], [1.0, 1.0]])),
    ("batch_one_singular", np.stack([np.eye(3) * 2, np.zeros((3, 3))])),
]


@pytest.mark.parametrize("case", SPECIAL, ids=[c[0] for c in SPECIAL])
def test_ldl_factor_ex_singular_and_nonfinite(torch, device, case):
    """info > 0 at the first zero diagonal entry of D, LD and pivots as PyTorch's (MKL's sytrf: a NaN
    diagonal entry is no zero pivot unless its column is zero)."""
    _, a = case
    ref = torch.linalg.ldl_factor_ex(torch.tensor(a))
    out = ag.linalg.ldl_factor_ex(ag.tensor(a, device=device))
    np.testing.assert_array_equal(to_numpy(out.pivots), ref.pivots.numpy())
    np.testing.assert_array_equal(to_numpy(out.info), ref.info.numpy())
    np.testing.assert_array_equal(to_numpy(out.LD), ref.LD.numpy())


def test_ldl_factor_singular_raises_runtime_error(torch, device):
    """PyTorch raises a plain RuntimeError (an internal assert, "Unknown error code: 1"); ours is a
    RuntimeError, not a LinAlgError, as there, whose message says what sytrf's info means."""
    a = np.stack([np.eye(2), np.zeros((2, 2))])
    for fn, kw in (("ldl_factor", {}), ("ldl_factor_ex", {"check_errors": True})):
        with pytest.raises(RuntimeError, match="error code: 1") as theirs:
            getattr(torch.linalg, fn)(torch.tensor(a), **kw)
        with pytest.raises(RuntimeError) as ours:
            getattr(ag.linalg, fn)(ag.tensor(a, device=device), **kw)
        assert not isinstance(theirs.value, torch.linalg.LinAlgError)
        assert type(ours.value) is RuntimeError
        assert str(ours.value) == (f"torch.linalg.{fn}: (Batch element 1): D[1,1] is exactly zero: the "
                                   f"factorization was completed, but D is singular and using it on ldl_solve "
                                   f"would result in a division by zero (error code: 1).")


def test_ldl_solve_broadcasts_and_empty(torch, device):
    """Batch dims of LD and B broadcast. (PyTorch 2.13 crashes when both need expanding: its reference is
    computed on expanded copies there.)"""
    ld = _random_matrices(7, (2, 4, 4), True)
    b = np.random.default_rng(8).standard_normal((3, 1, 4, 2))
    f_ref = torch.linalg.ldl_factor(torch.tensor(ld))
    f = ag.linalg.ldl_factor(ag.tensor(ld, device=device))
    ref = torch.linalg.ldl_solve(f_ref.LD.expand(3, 2, 4, 4).contiguous(), f_ref.pivots.expand(3, 2, 4).contiguous(),
                                 torch.tensor(b).expand(3, 2, 4, 2).contiguous())
    out = ag.linalg.ldl_solve(*f, ag.tensor(b, device=device))
    assert tuple(out.shape) == (3, 2, 4, 2)
    np.testing.assert_allclose(to_numpy(out), ref.numpy(), rtol=1e-10, atol=1e-12)
    ref = torch.linalg.ldl_solve(*f_ref, torch.tensor(b[0, 0]))         # a batched LD, an unbatched B
    out = ag.linalg.ldl_solve(*f, ag.tensor(b[0, 0], device=device))
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_allclose(to_numpy(out), ref.numpy(), rtol=1e-10, atol=1e-12)
    one = torch.linalg.ldl_factor(torch.tensor(ld[0]))
    ref = torch.linalg.ldl_solve(*one, torch.tensor(b))              # an unbatched LD, batched B
    out = ag.linalg.ldl_solve(*ag.linalg.ldl_factor(ag.tensor(ld[0], device=device)), ag.tensor(b, device=device))
    np.testing.assert_allclose(to_numpy(out), ref.numpy(), rtol=1e-10, atol=1e-12)
    for shape in ((0, 3, 3), (0, 0), (2, 0, 0)):
        ref = torch.linalg.ldl_factor_ex(torch.zeros(shape, dtype=torch.float64))
        out = ag.linalg.ldl_factor_ex(ag.zeros(shape, dtype=ag.float64, device=device))
        for o, r in zip(out, ref):
            assert tuple(o.shape) == tuple(r.shape) and to_numpy(o).dtype == r.numpy().dtype
        x = ag.linalg.ldl_solve(out.LD, out.pivots, ag.zeros(shape[:-1] + (2,), dtype=ag.float64, device=device))
        assert tuple(x.shape) == shape[:-1] + (2,)
    x = ag.linalg.ldl_solve(*f, ag.zeros(4, 0, dtype=ag.float64, device=device))
    assert tuple(x.shape) == (2, 4, 0)


def test_ldl_solve_zero_pivot_gives_inf_nan(torch, device):
    """As PyTorch's (sytrs): no error, inf / NaN."""
    ld, piv, b = np.zeros((3, 3)), np.array([1, 2, 3], np.int32), np.ones((3, 1))
    ref = torch.linalg.ldl_solve(torch.tensor(ld), torch.tensor(piv), torch.tensor(b))
    out = ag.linalg.ldl_solve(ag.tensor(ld, device=device), ag.tensor(piv, device=device), ag.tensor(b, device=device))
    np.testing.assert_array_equal(to_numpy(out), ref.numpy())


def test_ldl_pivots_of_other_integer_dtypes(torch, device):
    a = _random_matrices(10, (4, 4), True)
    ld, piv = torch.linalg.ldl_factor(torch.tensor(a))
    b = np.ones((4, 1))
    ref = torch.linalg.ldl_solve(ld, piv, torch.tensor(b))
    for dt in ("int64", "int16"):
        out = ag.linalg.ldl_solve(ag.tensor(ld.numpy(), device=device),
                                  ag.tensor(piv.numpy().astype(dt), device=device), ag.tensor(b, device=device))
        np.testing.assert_allclose(to_numpy(out), ref.numpy(), rtol=1e-12)


def test_ldl_not_differentiable_as_pytorch(torch, device):
    """PyTorch records both without a derivative: the result requires grad, grad_fn is NotImplemented, and
    a backward through it raises."""
    a = _random_matrices(11, (3, 3), True)
    t = torch.tensor(a, requires_grad=True)
    x = ag.tensor(a, device=device, requires_grad=True)
    ref, out = torch.linalg.ldl_factor(t), ag.linalg.ldl_factor(x)
    assert out.LD.requires_grad and not out.pivots.requires_grad
    assert out.LD.grad_fn.name() == ref.LD.grad_fn.name() == "torch::autograd::NotImplemented"
    with pytest.raises(RuntimeError) as theirs:
        ref.LD.sum().backward()
    with pytest.raises(RuntimeError) as ours:
        out.LD.sum().backward()
    assert str(ours.value) == str(theirs.value) == "derivative for aten::linalg_ldl_factor_ex is not implemented"
    assert x.grad is None
    assert not ag.linalg.ldl_factor_ex(x).info.requires_grad
    b = ag.ones(3, 1, dtype=ag.float64, device=device, requires_grad=True)
    sol_ref = torch.linalg.ldl_solve(ref.LD.detach(), ref.pivots, torch.ones(3, 1, dtype=torch.float64,
                                                                           requires_grad=True))
    sol = ag.linalg.ldl_solve(out.LD.detach(), out.pivots, b)
    assert sol.requires_grad and sol.grad_fn.name() == sol_ref.grad_fn.name()
    with pytest.raises(RuntimeError) as theirs:
        sol_ref.sum().backward()
    with pytest.raises(RuntimeError) as ours:
        sol.sum().backward()
    assert str(ours.value) == str(theirs.value)
    with ag.no_grad():
        assert not ag.linalg.ldl_factor(x).LD.requires_grad


def test_ldl_solve_mismatched_2x2_pivots_raise(device):
    """A divergence kept: PyTorch reads past the pivots (memory corruption, an abort) for a negative pivot
    that opens no valid 2x2 block; ours raises RuntimeError."""
    ld, b = ag.eye(3, dtype=ag.float64, device=device), ag.ones(3, 1, dtype=ag.float64, device=device)
    for piv in ([-2, 1, 3], [1, 2, -3]):
        with pytest.raises(RuntimeError, match=r"ldl_solve: pivots\[\d\] = -\d opens a 2x2 block"):
            ag.linalg.ldl_solve(ld, ag.tensor(piv, dtype=ag.int32, device=device), b)


_A = np.eye(3)
_P = np.array([1, 2, 3], np.int32)


def _ld(m, dtype="float64", shape=(3, 3)):
    return m.tensor(np.broadcast_to(np.eye(*shape[-2:]), shape).copy() if len(shape) >= 2 else np.ones(shape),
                    dtype=getattr(m, dtype))


def _piv(m, data=(1, 2, 3), dtype="int32"):
    return m.tensor(np.array(data, dtype=dtype))


def _b(m, shape=(3, 2), dtype="float64"):
    return m.tensor(np.ones(shape), dtype=getattr(m, dtype))


#      id                     fn(lib)                                                              our message has
BAD = [
    ("factor_not_tensor",     lambda m: m.linalg.ldl_factor([[1.0]]),                                 "linalg_ldl_factor"),
    ("factor_ex_not_tensor",  lambda m: m.linalg.ldl_factor_ex(np.eye(2)),                         "linalg_ldl_factor_ex"),
    ("factor_1d",             lambda m: m.linalg.ldl_factor(_ld(m, shape=(3,))),                   "ldl_factor_ex: The"),
    ("factor_ex_1d",          lambda m: m.linalg.ldl_factor_ex(_ld(m, shape=(3,))),                "at least 2 dim"),
    ("factor_not_square",     lambda m: m.linalg.ldl_factor(_ld(m, shape=(3, 4))),                 "3 by 4 matrices"),
    ("factor_int",            lambda m: m.linalg.ldl_factor(_ld(m, "int64")),                      "Got Long"),
    ("factor_bool",           lambda m: m.linalg.ldl_factor_ex(_ld(m, "bool")),                    "Got Bool"),
    ("factor_half",           lambda m: m.linalg.ldl_factor(_ld(m, "float16")),                    "ldl_factor_kernel"),
    ("factor_hermitian_int",  lambda m: m.linalg.ldl_factor(_ld(m), hermitian=1),                  "'hermitian' must be bool"),
    ("factor_check_int",      lambda m: m.linalg.ldl_factor_ex(_ld(m), check_errors=1),          "'check_errors' must be bool"),
    ("solve_LD_not_tensor",   lambda m: m.linalg.ldl_solve(_A, _piv(m), _b(m)),                    "linalg_ldl_solve"),
    ("solve_piv_not_tensor",  lambda m: m.linalg.ldl_solve(_ld(m), [1, 2, 3], _b(m)),              "'pivots' (position 2)"),
    ("solve_B_not_tensor",    lambda m: m.linalg.ldl_solve(_ld(m), _piv(m), [1.0]),                "'B' (position 3)"),
    ("solve_hermitian_int",   lambda m: m.linalg.ldl_solve(_ld(m), _piv(m), _b(m), hermitian=1),   "'hermitian' must be bool"),
    ("solve_LD_1d",           lambda m: m.linalg.ldl_solve(_ld(m, shape=(3,)), _piv(m), _b(m)),    "ldl_solve: The input"),
    ("solve_LD_not_square",   lambda m: m.linalg.ldl_solve(_ld(m, shape=(3, 4)), _piv(m), _b(m)),  "3 by 4 matrices"),
    ("solve_piv_shape",       lambda m: m.linalg.ldl_solve(_ld(m), _piv(m, (1, 2)), _b(m)),        "pivots with shape [2]"),
    ("solve_piv_batch",       lambda m: m.linalg.ldl_solve(_ld(m), _piv(m, [(1, 2, 3)] * 2), _b(m)), "shape [2, 3]"),
    ("solve_piv_float",       lambda m: m.linalg.ldl_solve(_ld(m), _piv(m, dtype="float64"), _b(m)), "integers. Got Double"),
    ("solve_piv_bool",        lambda m: m.linalg.ldl_solve(_ld(m), _piv(m, dtype="bool"), _b(m)),  "integers. Got Bool"),
    ("solve_LD_int",          lambda m: m.linalg.ldl_solve(_ld(m, "int64"), _piv(m), _b(m, dtype="int64")), "Got Long"),
    ("solve_dtypes",          lambda m: m.linalg.ldl_solve(_ld(m), _piv(m), _b(m, dtype="float32")),
                                                                                "found b of type Float and A of type Double"),
    ("solve_half",            lambda m: m.linalg.ldl_solve(_ld(m, "float16"), _piv(m), _b(m, dtype="float16")),
                                                                                                      "ldl_solve_kernel"),
    ("solve_B_1d",            lambda m: m.linalg.ldl_solve(_ld(m), _piv(m), _b(m, (3,))),          "Dimension out of range"),
    ("solve_B_rows",          lambda m: m.linalg.ldl_solve(_ld(m), _piv(m), _b(m, (2, 2))),        "b matrix is 2 by 2"),
    ("solve_batches",         lambda m: m.linalg.ldl_solve(_ld(m, shape=(2, 3, 3)), _piv(m, [(1, 2, 3)] * 2),
                                                           _b(m, (3, 3, 2))),                         "tensor a (3)"),
    ("solve_piv_zero",        lambda m: m.linalg.ldl_solve(_ld(m), _piv(m, (0, 2, 3)), _b(m)),     "|pivot| >= 1"),
    ("solve_piv_too_big",     lambda m: m.linalg.ldl_solve(_ld(m), _piv(m, (9, 2, 3)), _b(m)),     "|pivot| <= LD.size(-2)"),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_ldl_bad_input(torch, case):
    """PyTorch's exception type, a message naming the function, and nothing changed."""
    _, fn, says = case
    with pytest.raises(Exception) as theirs:
        fn(torch)
    kind = next(k for k in (NotImplementedError, IndexError, TypeError, ValueError, RuntimeError)
                if isinstance(theirs.value, k))
    a = ag.ones(3, 3, dtype=ag.float64, requires_grad=True)
    before = (to_numpy(a).copy(), a._version, a.grad)
    with pytest.raises(kind) as ours:
        fn(ag)
    assert type(ours.value) is kind or kind is RuntimeError and not isinstance(ours.value, ag.linalg.LinAlgError)
    assert says in str(ours.value), str(ours.value)
    assert "ldl" in str(ours.value)
    assert np.array_equal(to_numpy(a), before[0]) and a._version == before[1] and a.grad is before[2]


@pytest.mark.parametrize("which", ["B", "pivots"])
def test_ldl_solve_mixed_devices_raise_naming_both(fake_cuda, which):
    ld = ag.linalg.ldl_factor(ag.eye(3, dtype=ag.float64))
    args = {"LD": ld.LD, "pivots": ld.pivots, "B": ag.ones(3, 1, dtype=ag.float64)}
    args[which] = args[which].to("cuda")
    with pytest.raises(RuntimeError, match=r"ldl_solve.*(cpu.*cuda:0|cuda:0.*cpu)"):
        ag.linalg.ldl_solve(args["LD"], args["pivots"], args["B"])


def test_lstsq_nan_raises_svds_linalg_error(torch, device):
    """A divergence kept: PyTorch 2.13 fails an internal assert (gelsy / gelsd: "Argument 4 has illegal
    value", a plain RuntimeError); ours, whose solution is pinv's, raises linalg.svd's LinAlgError."""
    with pytest.raises(RuntimeError, match="lstsq"):
        torch.linalg.lstsq(torch.tensor(WITH_NAN), torch.tensor(EYE))
    with pytest.raises(ag.linalg.LinAlgError, match="^linalg.svd: The algorithm failed to converge because the "
                                                    "input matrix contained non-finite values"):
        ag.linalg.lstsq(_t(ag, WITH_NAN, device), _t(ag, EYE, device))
