"""ag.linalg and the top-level decompositions (autograd_gpu/ops/decompositions.py)
against PyTorch: values, grad_fn names and gradients (float64 and float32),
finite-difference gradients to second order, result types, empty and batched
inputs, and the errors (singular, not positive-definite, non-square, dtypes).

Matrices are fixed well-conditioned ones (A + 3I); symmetric inputs are built
inside the function (a + a^T, a a^T + I) so that finite differences stay on
symmetric matrices. Eigen- and singular vectors are compared with their sign
fixed (first row nonnegative): they are defined up to sign only."""
import math

import numpy as np
import pytest

import autograd_gpu as ag
from oracle import case_tests, check, to_numpy

# torch.cholesky, torch.qr and torch.svd warn that they are deprecated
pytestmark = pytest.mark.filterwarnings("ignore:torch.(cholesky|qr|svd) is deprecated")

_rng = np.random.default_rng(7)
SQ = _rng.standard_normal((3, 3)) + 3 * np.eye(3)
SQB = _rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
RHS = _rng.standard_normal((2, 3, 2))
TALL = _rng.standard_normal((4, 3))
WIDE = _rng.standard_normal((2, 3, 5))
SMALL = _rng.standard_normal((2, 2)) + 2 * np.eye(2)


def _spd(m, a):
    return a @ a.mT + m.eye(a.shape[-1], dtype=a.dtype, device=a.device)


def _signed(v):
    """v with each column's sign fixed by its first row (a gauge-invariant function of v)."""
    return v * v[..., :1, :].sign()


def _eigh_all(m, a, uplo="L"):
    lam, v = m.linalg.eigh(a + a.mT, UPLO=uplo)
    return lam[..., None, :] + _signed(v)


def _svd_all(m, a, full):
    u, s, vh = m.linalg.svd(a, full_matrices=full)
    k = s.shape[-1]
    return (_signed(u)[..., :k] * s[..., None, :]).sum(-2) + _signed(vh.mT)[..., :k].sum(-2)


def _qr_all(m, a, mode):
    q, r = m.linalg.qr(a, mode=mode)
    return (q * 2).sum(-2) + r.sum(-1)


#      id                   fn(lib, *inputs)                                              inputs            options
CASES = [
    ("inv",                lambda m, a: m.linalg.inv(a),                                  [SQ],             {}),
    ("inv_batched",        lambda m, a: m.linalg.inv(a),                                  [SQB],            {}),
    ("inverse",            lambda m, a: m.inverse(a),                                     [SQ],             {}),
    ("inverse_method",     lambda m, a: a.inverse(),                                      [SQB],            {}),
    ("det",                lambda m, a: m.linalg.det(a),                                  [SQ],             {}),
    ("det_batched",        lambda m, a: m.det(a),                                         [SQB],            {}),
    ("det_method",         lambda m, a: a.det(),                                          [SMALL],          {}),
    ("slogdet",            lambda m, a: m.linalg.slogdet(a)[1],                           [SQB],            {}),
    ("slogdet_top",        lambda m, a: m.slogdet(a).logabsdet,                           [SQ],             {}),
    ("slogdet_method",     lambda m, a: a.slogdet()[1],                                   [-SQ],            {}),
    ("logdet",             lambda m, a: m.logdet(_spd(m, a)),                             [SQB],            {}),
    ("logdet_method",      lambda m, a: a.logdet(),                                       [SQ],             {}),
    ("solve",              lambda m, a, b: m.linalg.solve(a, b),                          [SQB, RHS],       {}),
    ("solve_vector",       lambda m, a, b: m.linalg.solve(a, b),                          [SQB, RHS[..., 0]], dict(name=False)),
    ("solve_1d",           lambda m, a, b: m.linalg.solve(a, b),                          [SQ, RHS[0, :, 0]], dict(name=False)),
    ("solve_bcast",        lambda m, a, b: m.linalg.solve(a, b),                          [SQ, RHS],        {}),
    ("solve_right",        lambda m, a, b: m.linalg.solve(a, b, left=False),              [SQB, RHS.transpose(0, 2, 1)], dict(name=False)),
    ("cholesky",           lambda m, a: m.linalg.cholesky(_spd(m, a)),                    [SQB],            {}),
    ("cholesky_upper",     lambda m, a: m.linalg.cholesky(_spd(m, a), upper=True),        [SQ],             {}),
    ("cholesky_top",       lambda m, a: m.cholesky(_spd(m, a)),                           [SQ],             {}),
    ("cholesky_method_up", lambda m, a: _spd(m, a).cholesky(True),                        [SQB],            {}),
    ("qr",                 lambda m, a: m.linalg.qr(a)[0],                                [TALL],           {}),
    ("qr_all_tall",        lambda m, a: _qr_all(m, a, "reduced"),                         [TALL],           dict(name=False)),
    ("qr_all_square",      lambda m, a: _qr_all(m, a, "complete"),                        [SQB],            dict(name=False)),
    ("qr_all_wide",        lambda m, a: _qr_all(m, a, "reduced"),                         [WIDE],           dict(name=False)),
    ("qr_top",             lambda m, a: (lambda q, r: q.sum(-1) + r.sum(-1))(*m.qr(a)),   [SQ],             dict(name=False)),
    ("qr_method_r_only",   lambda m, a: a.qr()[1],                                        [TALL],           {}),
    ("eigh",               lambda m, a: _eigh_all(m, a),                                  [SQB],            dict(name=False)),
    ("eigh_upper",         lambda m, a: _eigh_all(m, a, "U"),                             [SQ],             dict(name=False)),
    ("eigh_values",        lambda m, a: m.linalg.eigh(a + a.mT)[0],                       [SQ],             dict(name=False)),
    ("eigvalsh",           lambda m, a: m.linalg.eigvalsh(a @ a.mT, UPLO="U"),            [SQB],            dict(name=False)),
    ("svd_reduced",        lambda m, a: _svd_all(m, a, False),                            [TALL],           dict(name=False)),
    ("svd_full_wide",      lambda m, a: _svd_all(m, a, True),                             [WIDE],           dict(name=False)),
    ("svd_full_tall",      lambda m, a: _svd_all(m, a, True),                             [TALL],           dict(name=False)),
    ("svd_S",              lambda m, a: m.linalg.svd(a)[1],                               [WIDE],           {}),
    ("svdvals",            lambda m, a: m.linalg.svdvals(a),                              [TALL],           {}),
    ("svd_top",            lambda m, a: (lambda u, s, v: _signed(u).sum(-2) * s + _signed(v).sum(-2))(*m.svd(a)),
                                                                                          [TALL],           dict(name=False)),
    ("svd_method_some0",   lambda m, a: (lambda u, s, v: _signed(u)[..., :3].sum(-2) * s + _signed(v).sum(-2))(
                                                                  *a.svd(some=False)),    [TALL],           dict(name=False)),
    ("pinv_tall",          lambda m, a: m.linalg.pinv(a),                                 [TALL],           {}),
    ("pinv_wide_batched",  lambda m, a: m.linalg.pinv(a),                                 [WIDE],           {}),
    ("pinv_hermitian",     lambda m, a: m.linalg.pinv(_spd(m, a), hermitian=True),        [SQ],             {}),
    ("pinverse",           lambda m, a: m.pinverse(a),                                    [TALL],           {}),
    ("pinverse_method",    lambda m, a: a.pinverse(rcond=1e-10),                          [WIDE],           {}),
    ("matrix_power_5",     lambda m, a: m.linalg.matrix_power(a, 5),                      [SQB],            {}),
    ("matrix_power_neg",   lambda m, a: m.matrix_power(a, -2),                            [SQ],             {}),
    ("matrix_power_1",     lambda m, a: a.matrix_power(1),                                [SQ],             dict(fd=False)),
    ("matrix_power_0",     lambda m, a: m.linalg.matrix_power(a, 0),                      [SQB],            {}),
    ("matrix_norm_fro",    lambda m, a: m.linalg.matrix_norm(a),                          [SQB],            {}),
    ("matrix_norm_nuc",    lambda m, a: m.linalg.matrix_norm(a, "nuc"),                   [WIDE],           dict(name=False)),
    ("matrix_norm_2",      lambda m, a: m.linalg.matrix_norm(a, 2),                       [TALL],           {}),
    ("matrix_norm_-2",     lambda m, a: m.linalg.matrix_norm(a, -2, keepdim=True),        [WIDE],           dict(name=False)),
    ("matrix_norm_1",      lambda m, a: m.linalg.matrix_norm(a, 1),                       [WIDE],           dict(name=False)),
    ("matrix_norm_-1",     lambda m, a: m.linalg.matrix_norm(a, -1, dim=(0, 2)),          [WIDE],           dict(name=False)),
    ("matrix_norm_inf",    lambda m, a: m.linalg.matrix_norm(a, math.inf, keepdim=True),  [WIDE],           dict(name=False)),
    ("matrix_norm_-inf",   lambda m, a: m.linalg.matrix_norm(a, -math.inf, dim=(2, 0)),   [WIDE],           dict(name=False)),
    ("matrix_norm_2_dims", lambda m, a: m.linalg.matrix_norm(a, 2, dim=(2, 0), keepdim=True), [WIDE],       dict(name=False)),
    ("vector_norm",        lambda m, a: m.linalg.vector_norm(a),                          [WIDE],           {}),
    ("vector_norm_3_dim",  lambda m, a: m.linalg.vector_norm(a, 3, dim=1, keepdim=True),  [WIDE],           {}),
    ("vector_norm_inf",    lambda m, a: m.linalg.vector_norm(a, math.inf, (0, 2)),        [WIDE],           dict(name=False)),
    ("vector_norm_1",      lambda m, a: m.linalg.vector_norm(a, ord=1, dim=-1),           [WIDE],           {}),
    ("norm_default",       lambda m, a: m.linalg.norm(a),                                 [WIDE],           {}),
    ("norm_dim2",          lambda m, a: m.linalg.norm(a, dim=(1, 2)),                     [WIDE],           {}),
    ("norm_ord_matrix",    lambda m, a: m.linalg.norm(a, "nuc"),                          [TALL],           dict(name=False)),
    ("norm_ord_vector",    lambda m, a: m.linalg.norm(a, 3),                              [RHS[0, :, 0]],   dict(name=False)),
    ("norm_ord_2d_inf",    lambda m, a: m.linalg.norm(a, math.inf),                       [TALL],           dict(name=False)),
    ("norm_ord_true",      lambda m, a: m.linalg.norm(a, True, dim=(0, 1)),               [TALL],           dict(name=False)),
    ("norm_int_dim",       lambda m, a: m.linalg.norm(a, 1, dim=2),                       [WIDE],           dict(name=False)),
    ("multi_dot",          lambda m, a, b, c: m.linalg.multi_dot([a, b, c]),              [TALL, SQ, TALL.T.copy()], dict(name=False)),
    ("multi_dot_vectors",  lambda m, a, b, c: m.linalg.multi_dot((a, b, c)),              [TALL[:, 0].copy(), TALL, SQ[0].copy()],
                                                                                                            dict(name=False)),
    ("lstsq",              lambda m, a, b: m.linalg.lstsq(a, b).solution,                 [TALL, TALL[:, :2].copy()], dict(name=False)),
    ("lstsq_batched_wide", lambda m, a, b: m.linalg.lstsq(a, b, driver="gelsd")[0],       [WIDE, RHS],      dict(name=False)),
    ("lstsq_vector",       lambda m, a, b: m.linalg.lstsq(a, b, 1e-10).solution,          [SQB, RHS[..., 0]], dict(name=False)),
    ("cross",              lambda m, a, b: m.linalg.cross(a, b),                          [SQB, SQB[::-1].copy()], {}),
    ("cross_dim",          lambda m, a, b: m.linalg.cross(a, b, dim=1),                   [SQB, SQ[None]],  {}),
]

test_against_pytorch, test_gradcheck, test_second_order = case_tests(CASES)


def test_det_of_singular_matrices_and_its_gradient(torch, device):
    """PyTorch's gradient at an exactly singular matrix is 0, but under create_graph the
    cofactor matrix (and its derivative): both pinned, next to a regular matrix of the batch."""
    z = np.array([[[1.0, 2, 3], [2, 4, 6], [1, 0, 1]], [[0, 0, 0], [0, 0, 0], [1, 2, 3]], [[2, 1, 0], [1, 3, 0],
                                                                                          [0, 0, 5]]])
    check(torch, lambda m, a: m.linalg.det(a), arrays=[z], device=device)
    out = []
    for m, x in ((ag, ag.tensor(z, device=device, requires_grad=True)), (torch, torch.tensor(z, requires_grad=True))):
        g, = m.autograd.grad((m.linalg.det(x) * m.tensor([1.0, 2, 3], dtype=x.dtype, device=x.device)).sum(), x,
                             create_graph=True)
        h, = m.autograd.grad((g * g).sum(), x)
        out.append((to_numpy(g), to_numpy(h)))
    for ours, ref in zip(*out):
        np.testing.assert_allclose(ours, ref, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("op", ["inv", "det", "slogdet", "cholesky", "eigvalsh", "svdvals", "pinv", "qr"])
def test_result_dtype_follows_input(torch, op, device):
    for dt in ("float32", "float64"):
        a = ag.tensor(np.eye(3) * 2, dtype=dt, device=device)
        r = getattr(ag.linalg, op)(a)
        r = r[-1] if isinstance(r, tuple) else r
        assert r.dtype == getattr(ag, dt) and r.device == ag.device(device)


def test_result_types(torch):
    a = ag.tensor(SQ)
    t = torch.tensor(SQ)
    for ours, theirs in [(ag.linalg.slogdet(a), torch.linalg.slogdet(t)), (ag.slogdet(a), torch.slogdet(t)),
                         (ag.linalg.eigh(a), torch.linalg.eigh(t)), (ag.linalg.svd(a), torch.linalg.svd(t)),
                         (ag.svd(a), torch.svd(t)), (ag.linalg.qr(a), torch.linalg.qr(t)), (ag.qr(a), torch.qr(t))]:
        assert type(ours).__name__ == type(theirs).__name__.split(".")[-1]
        for f in ours._fields:
            assert hasattr(theirs, f)
            np.testing.assert_allclose(np.abs(to_numpy(getattr(ours, f))), np.abs(to_numpy(getattr(theirs, f))),
                                       atol=1e-12)


def test_matrix_rank(torch, device):
    cases = [np.array([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]]), np.zeros((2, 3, 4)), _rng.standard_normal((2, 4, 3)),
             np.diag([1.0, 1e-9, 1e-20])]
    for a in cases:
        for kw in ({}, dict(atol=1e-8), dict(rtol=0.1), dict(atol=0.5, rtol=1e-3)):
            ours = ag.linalg.matrix_rank(ag.tensor(a, device=device), **kw)
            ref = torch.linalg.matrix_rank(torch.tensor(a), **kw)
            assert ours.dtype == ag.int64 and to_numpy(ours).tolist() == ref.tolist(), (a, kw)
    s = a @ a.T
    assert ag.linalg.matrix_rank(ag.tensor(s), hermitian=True).item() == torch.linalg.matrix_rank(
        torch.tensor(s), hermitian=True).item()


def test_svd_without_uv_gives_zeros(torch, device):
    ours = ag.svd(ag.tensor(WIDE, device=device), compute_uv=False)
    ref = torch.svd(torch.tensor(WIDE), compute_uv=False)
    for o, r in zip(ours, ref):
        np.testing.assert_allclose(to_numpy(o), r.numpy(), atol=1e-12)


@pytest.mark.parametrize("case", [
    ("inv", lambda m: m.linalg.inv(m.ones(0, 0, dtype=m.float64))),
    ("inv_batch", lambda m: m.linalg.inv(m.ones(0, 2, 2, dtype=m.float64))),
    ("det", lambda m: m.linalg.det(m.ones(2, 0, 0, dtype=m.float64))),
    ("slogdet", lambda m: m.linalg.slogdet(m.ones(0, 0, dtype=m.float64))[1]),
    ("svdvals", lambda m: m.linalg.svdvals(m.ones(0, 3, dtype=m.float64))),
    ("pinv", lambda m: m.linalg.pinv(m.ones(0, 3, dtype=m.float64))),
    ("matrix_power0", lambda m: m.linalg.matrix_power(m.ones(0, 0, dtype=m.float64), 0)),
    ("eigvalsh", lambda m: m.linalg.eigvalsh(m.ones(3, 0, 0, dtype=m.float64))),
    ("vector_norm", lambda m: m.linalg.vector_norm(m.ones(0, dtype=m.float64))),
    ("matrix_norm_2", lambda m: m.linalg.matrix_norm(m.ones(2, 0, 0, dtype=m.float64), 2)),
    ("matrix_norm_inf", lambda m: m.linalg.matrix_norm(m.ones(0, 3, dtype=m.float64), math.inf)),
    ("norm_1", lambda m: m.linalg.norm(m.ones(3, 0, dtype=m.float64), 1)),
], ids=lambda c: c[0])
def test_empty_inputs(torch, case):
    ours, ref = case[1](ag), case[1](torch)
    assert tuple(ours.shape) == tuple(ref.shape)
    np.testing.assert_allclose(to_numpy(ours), ref.numpy())


# Bug: matrix_power(A, 1) returned A itself, so writing the result wrote A; PyTorch's is a copy.
def test_matrix_power_one_is_a_copy(torch, device):
    for L, dev in ((torch, "cpu"), (ag, device)):
        a = L.eye(2, dtype=L.float64, device=dev)
        L.linalg.matrix_power(a, 1).add_(1)
        assert a.tolist() == [[1.0, 0.0], [0.0, 1.0]], L.__name__


def test_integer_matrix_power_keeps_the_dtype(torch, device):
    a = np.array([[1, 2], [3, 4]])
    ours, ref = ag.linalg.matrix_power(ag.tensor(a, device=device), 3), torch.linalg.matrix_power(torch.tensor(a), 3)
    assert ours.dtype == ag.int64 and to_numpy(ours).tolist() == ref.tolist()


def test_nan_input(torch, device):
    a = SQ.copy()
    a[0, 0] = math.nan
    for fn in (lambda m, x: m.linalg.det(x), lambda m, x: m.linalg.inv(x), lambda m, x: m.linalg.matrix_norm(x)):
        ours, ref = fn(ag, ag.tensor(a, device=device)), fn(torch, torch.tensor(a))
        np.testing.assert_array_equal(np.isnan(to_numpy(ours)), np.isnan(ref.numpy()))


def test_logdet_of_negative_determinant_is_nan(torch):
    ours, ref = ag.logdet(ag.tensor(-np.eye(3))), torch.logdet(torch.tensor(-np.eye(3)))
    assert math.isnan(ours.item()) and math.isnan(ref.item())


def test_create_graph_matches_pytorch(torch, device):
    """Hessian-vector products through inv, det, cholesky and eigh, against PyTorch's."""
    v = _rng.standard_normal((3, 3))
    for fn in (lambda m, a: (m.linalg.inv(a) ** 2).sum(), lambda m, a: m.linalg.det(a) ** 2,
               lambda m, a: m.linalg.cholesky(_spd(m, a)).sum(), lambda m, a: m.linalg.eigvalsh(a + a.mT)[-1],
               lambda m, a: m.linalg.pinv(a[:, :2]).sum()):
        out = []
        for m, x in ((ag, ag.tensor(SQ, device=device, requires_grad=True)), (torch, torch.tensor(SQ, requires_grad=True))):
            g, = m.autograd.grad(fn(m, x), x, create_graph=True)
            hv, = m.autograd.grad((g * m.tensor(v, device=x.device)).sum(), x)
            out.append(to_numpy(hv))
        np.testing.assert_allclose(out[0], out[1], rtol=1e-7, atol=1e-9)


def test_non_differentiable_qr_modes_raise_in_backward(torch):
    for mode, a, match in (("r", TALL, "mode='r'"), ("complete", TALL, "nrows > ncols")):
        x = ag.tensor(a, requires_grad=True)
        y = ag.linalg.qr(x, mode=mode)[1].sum()
        with pytest.raises(RuntimeError, match=match):
            y.backward()
        t = torch.tensor(a, requires_grad=True)
        with pytest.raises(RuntimeError, match=match):
            torch.linalg.qr(t, mode=mode)[1].sum().backward()


_SING = np.array([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]])
_BAD = [
    ("inv_singular", lambda m: m.linalg.inv(m.tensor(_SING)), "linalg.inv: The diagonal element 3 is zero"),
    ("inv_singular_batch", lambda m: m.linalg.inv(m.tensor(np.stack([np.eye(3), np.zeros((3, 3))]))),
     r"linalg.inv: \(Batch element 1\): The diagonal element 1 is zero"),
    ("inv_not_square", lambda m: m.linalg.inv(m.ones(2, 3)), "linalg.inv: A must be batches of square matrices"),
    ("inv_1d", lambda m: m.linalg.inv(m.ones(3)), "linalg.inv: The input tensor A must have at least 2 dimensions"),
    ("inv_int", lambda m: m.linalg.inv(m.ones(3, 3, dtype=m.int64)), "linalg.inv: Expected a floating point"),
    ("inv_half", lambda m: m.linalg.inv(m.ones(3, 3, dtype=m.float16)), "Low precision dtypes not supported"),
    ("det_int", lambda m: m.det(m.ones(3, 3, dtype=m.int32)), "linalg.det: Expected a floating point"),
    ("slogdet_wide", lambda m: m.linalg.slogdet(m.ones(2, 3)), "linalg.slogdet: A must be batches of square"),
    ("logdet_wide", lambda m: m.logdet(m.ones(2, 3)), "logdet: A must be batches of square"),
    ("solve_singular", lambda m: m.linalg.solve(m.zeros(3, 3), m.ones(3)), "linalg.solve: The solver failed"),
    ("solve_shapes", lambda m: m.linalg.solve(m.eye(3), m.ones(4, 2)), "Incompatible shapes of A and B"),
    ("solve_dtypes", lambda m: m.linalg.solve(m.eye(3), m.ones(3, dtype=m.float64)),
     "linalg.solve: Expected A and B to have the same dtype"),
    ("cholesky_not_pd", lambda m: m.linalg.cholesky(m.tensor(np.diag([1.0, 2, -1]))),
     r"linalg.cholesky: The factorization could not be completed .* leading minor of order 3 is not"),
    ("cholesky_not_pd_batch", lambda m: m.linalg.cholesky(m.tensor(np.stack([np.eye(2), -np.eye(2)]))),
     r"linalg.cholesky: \(Batch element 1\): The factorization .* order 1 is not"),
    ("qr_mode", lambda m: m.linalg.qr(m.ones(3, 3), mode="x"), "qr received unrecognized mode 'x'"),
    ("qr_1d", lambda m: m.linalg.qr(m.ones(3)), "linalg.qr: The input tensor A must have at least 2"),
    ("eigh_uplo", lambda m: m.linalg.eigh(m.eye(3), UPLO="X"), "Expected UPLO argument to be 'L' or 'U'"),
    ("eigh_wide", lambda m: m.linalg.eigh(m.ones(2, 3)), "linalg.eigh: A must be batches of square"),
    ("svd_1d", lambda m: m.linalg.svd(m.ones(3)), "linalg.svd: The input tensor A must have at least 2"),
    ("svd_int", lambda m: m.linalg.svd(m.ones(3, 3, dtype=m.int64)), "linalg.svd: Expected a floating point"),
    ("matrix_power_wide", lambda m: m.linalg.matrix_power(m.ones(2, 3), 2), "linalg.matrix_power: A must be"),
    ("matrix_power_singular", lambda m: m.linalg.matrix_power(m.zeros(3, 3), -1), "linalg.inv: The diagonal"),
    ("matrix_power_int_neg", lambda m: m.linalg.matrix_power(m.ones(3, 3, dtype=m.int64), -1),
     "linalg.inv: Expected a floating point"),
    ("matrix_norm_1d", lambda m: m.linalg.matrix_norm(m.ones(3)), "linalg.matrix_norm: The input tensor A must"),
    ("matrix_norm_ord", lambda m: m.linalg.matrix_norm(m.ones(3, 3), 3), "linalg.matrix_norm: Order 3 not supported"),
    ("matrix_norm_str", lambda m: m.linalg.matrix_norm(m.ones(3, 3), "abc"), "Order abc not supported"),
    ("matrix_norm_int", lambda m: m.linalg.matrix_norm(m.ones(3, 3, dtype=m.int64)),
     "linalg.matrix_norm: Expected a floating point"),
    ("vector_norm_int", lambda m: m.linalg.vector_norm(m.ones(3, dtype=m.int64)),
     "linalg.vector_norm: Expected a floating point"),
    ("norm_3d_ord", lambda m: m.linalg.norm(m.ones(3, 3, 3), 2), "linalg.norm: If dim is not specified but ord is"),
    ("multi_dot_one", lambda m: m.linalg.multi_dot([m.ones(3)]), r"multi_dot\(\): expected at least 2 tensors"),
    ("multi_dot_shapes", lambda m: m.linalg.multi_dot([m.ones(3, 3), m.ones(2, 2)]),
     r"multi_dot\(\): tensors 0 and 1 with shapes \[3, 3\] and \[2, 2\] cannot be multiplied"),
    ("multi_dot_3d", lambda m: m.linalg.multi_dot([m.ones(3, 3, 3), m.ones(3, 3)]),
     r"multi_dot\(\): the first tensor must be 1D or 2D but got 3D"),
    ("cross_ndim", lambda m: m.linalg.cross(m.ones(2, 3), m.ones(3)), "linalg.cross: .*same number of dimensions"),
    ("matrix_rank_1d", lambda m: m.linalg.matrix_rank(m.ones(3)), "matrix_rank: The input tensor input must have"),
    ("pinv_1d", lambda m: m.linalg.pinv(m.ones(3)), r"linalg.pinv\(Float\{\[3\]\}\): expected a tensor with 2"),
]
_BAD_TYPE = [
    ("inv_list", lambda m: m.linalg.inv([[1.0]]), r"linalg_inv\(\): argument 'A' \(position 1\) must be Tensor"),
    ("matrix_power_float", lambda m: m.linalg.matrix_power(m.ones(3, 3), 1.5),
     r"linalg_matrix_power\(\): argument 'n' \(position 2\) must be int"),
    ("vector_norm_str", lambda m: m.linalg.vector_norm(m.ones(3), "fro"),
     r"linalg_vector_norm\(\): argument 'ord' \(position 2\) must be Number"),
    ("cholesky_upper_int", lambda m: m.linalg.cholesky(m.eye(3), upper=1),
     r"linalg_cholesky\(\): argument 'upper' must be bool, not int"),
    ("svd_some_int", lambda m: m.svd(m.eye(3), some=1), r"svd\(\): argument 'some' must be bool, not int"),
    ("svd_compute_uv_none", lambda m: m.svd(m.eye(3), compute_uv=None), r"argument 'compute_uv' must be bool"),
    ("qr_some_str", lambda m: m.qr(m.eye(3), some="a"), r"qr\(\): argument 'some' must be bool, not str"),
    ("solve_left_int", lambda m: m.linalg.solve(m.eye(3), m.eye(3), left=1), r"argument 'left' must be bool"),
    ("linalg_svd_full_int", lambda m: m.linalg.svd(m.eye(3), full_matrices=1),
     r"linalg_svd\(\): argument 'full_matrices' must be bool"),
    ("pinverse_rcond_str", lambda m: m.pinverse(m.eye(3), rcond="a"), r"pinverse\(\): argument 'rcond' must be float"),
    ("qr_mode_int", lambda m: m.linalg.qr(m.eye(3), mode=1), r"linalg_qr\(\): argument 'mode' must be str"),
    ("eigh_uplo_int", lambda m: m.linalg.eigh(m.eye(3), UPLO=1), r"linalg_eigh\(\): argument 'UPLO' must be str"),
    ("matrix_power_bool", lambda m: m.linalg.matrix_power(m.eye(3), True), r"argument 'n' \(position 2\) must be int"),
]


@pytest.mark.parametrize("case", _BAD + _BAD_TYPE, ids=lambda c: c[0])
def test_bad_input_raises_pytorchs_kind_naming_the_op(torch, case):
    kind = TypeError if case in _BAD_TYPE else RuntimeError
    with pytest.raises(kind, match=case[2]):
        case[1](ag)
    with pytest.raises(kind, match=case[2]):
        case[1](torch)


@pytest.mark.parametrize("case", _BAD[:2] + _BAD[9:10] + _BAD[12:14], ids=lambda c: c[0])
def test_lapack_failures_raise_on_every_device(device, case):
    def on(m):
        return _OnDevice(m, device)
    with pytest.raises(RuntimeError, match=case[2]):
        case[1](on(ag))


class _OnDevice:
    """`ag` whose tensor/zeros/ones/eye put their results on `device`."""

    def __init__(self, m, device):
        self._m, self._device = m, device

    def __getattr__(self, name):
        f = getattr(self._m, name)
        if name in ("tensor", "zeros", "ones", "eye"):
            return lambda *a, **k: f(*a, device=self._device, **k)
        return f


def test_failed_call_changes_nothing(torch):
    a = ag.tensor(_SING, requires_grad=True)
    with pytest.raises(RuntimeError):
        ag.linalg.inv(a)
    assert a._version == 0 and a.grad is None and a.grad_fn is None
    np.testing.assert_array_equal(a.detach().numpy(), _SING)


def test_cholesky_reads_one_triangle(torch, device):
    """Only the lower triangle is read (upper=True: the upper one), as LAPACK's potrf."""
    a = _rng.standard_normal((3, 3))
    a = a @ a.T + 3 * np.eye(3) + np.triu(np.ones((3, 3)), 1) * 0.3 - np.tril(np.ones((3, 3)), -1) * 0.2
    for upper in (False, True):
        ours = ag.linalg.cholesky(ag.tensor(a, device=device), upper=upper)
        np.testing.assert_allclose(to_numpy(ours), torch.linalg.cholesky(torch.tensor(a), upper=upper).numpy(),
                                   rtol=1e-12)


def test_slogdet_sign_is_on_the_graph_without_gradient(torch):
    x = ag.tensor(SQ, requires_grad=True)
    sign, logabs = ag.linalg.slogdet(x)
    assert sign.requires_grad and sign.grad_fn.name() == "LinalgSlogdetBackward0"
    t = torch.tensor(SQ, requires_grad=True)
    assert torch.linalg.slogdet(t).sign.requires_grad
    g, = ag.autograd.grad(sign * 2 + logabs, x)
    np.testing.assert_allclose(g.numpy(), np.linalg.inv(SQ).T, rtol=1e-12)


@pytest.mark.parametrize("driver", [None, "gels", "gelsy", "gelsd", "gelss"])
def test_lstsq_fields_follow_the_driver(torch, driver):
    a, b = _rng.standard_normal((2, 5, 3)), _rng.standard_normal((2, 5, 2))
    ours = ag.linalg.lstsq(ag.tensor(a), ag.tensor(b), driver=driver)
    ref = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), driver=driver)
    assert type(ours).__name__ == "linalg_lstsq"
    for f in ("solution", "residuals", "rank", "singular_values"):
        o, r = getattr(ours, f), getattr(ref, f)
        assert tuple(o.shape) == tuple(r.shape) and str(o.dtype).split(".")[-1] == str(r.dtype).split(".")[-1], f
        np.testing.assert_allclose(to_numpy(o), r.numpy(), rtol=1e-10, atol=1e-12)


def test_svd_driver_is_cuda_only(torch):
    for lib in (ag, torch):
        with pytest.raises(RuntimeError, match="driver=` is only supported on CUDA"):
            lib.linalg.svd(lib.eye(3), driver="gesvd")


@pytest.mark.parametrize("case", [
    # composites name the last op they apply, where PyTorch names its own node (not part of the contract)
    ("matrix_norm_1", lambda m, a: m.linalg.matrix_norm(a, 1), "SqueezeBackward1", "AmaxBackward0"),
    ("multi_dot_vector", lambda m, a: m.linalg.multi_dot([a[0], a, a]), "SqueezeBackward1", "ViewBackward0"),
], ids=lambda c: c[0] if isinstance(c, tuple) else "")
def test_composite_grad_fn_names_differ_from_pytorchs(torch, case):
    _, fn, ours, theirs = case
    assert fn(ag, ag.tensor(SQ, requires_grad=True)).grad_fn.name() == ours
    assert fn(torch, torch.tensor(SQ, requires_grad=True)).grad_fn.name() == theirs


@pytest.mark.filterwarnings("ignore:torch.triangular_solve is deprecated")
@pytest.mark.parametrize("fn", [lambda m, a: m.linalg.solve(a, a[0]), lambda m, a: m.linalg.solve(a, a, left=False),
                                lambda m, a: m.linalg.lstsq(a, a).solution, lambda m, a: m.linalg.lstsq(a, a[0]).solution,
                                lambda m, a: m.linalg.lu_solve(*m.linalg.lu_factor(a), a),
                                lambda m, a: m.linalg.lu_solve(*m.linalg.lu_factor(a), a, left=False),
                                lambda m, a: m.triangular_solve(a, a.triu())[0], lambda m, a: m.block_diag(a, a[0])])
def test_solvers_end_in_pytorchs_node(torch, fn):
    """Composed here, but their results come out of one node named as PyTorch's (ops/tied.py)."""
    assert fn(ag, ag.tensor(SQ, requires_grad=True)).grad_fn.name() == \
        fn(torch, torch.tensor(SQ, requires_grad=True)).grad_fn.name()
