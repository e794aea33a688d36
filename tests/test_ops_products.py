"""The products of autograd_gpu/ops/products.py against PyTorch: every form's
values, grad_fn names and gradients (float64 and float32), finite-difference
gradients to second order, result dtypes, empty and 0-d operands, NaN/inf, and
the scalars beta/alpha of the fused forms."""
import math

import numpy as np
import pytest

import autograd_gpu as ag
from oracle import case_tests, check, to_numpy

#      id                  fn(lib, *inputs)                                          inputs                          options
CASES = [
    # ---- the fused forms: beta * input + alpha * product ----
    ("addmm",             lambda m, x, a, b: m.addmm(x, a, b),                      [(2, 4), (2, 3), (3, 4)],       {}),
    ("addmm_kw_bcast",    lambda m, x, a, b: m.addmm(x, a, b, beta=0.5, alpha=-2),  [(4,), (2, 3), (3, 4)],         {}),
    ("addmm_method_0d",   lambda m, x, a, b: x.addmm(a, b, alpha=3),                [(), (2, 3), (3, 4)],           {}),
    ("addmm_beta0",       lambda m, x, a, b: m.addmm(x, a, b, beta=0),              [(2, 1), (2, 3), (3, 4)],       {}),
    ("addmm_kwargs",      lambda m, x, a, b: m.addmm(input=x, mat1=a, mat2=b),      [(2, 4), (2, 3), (3, 4)],       {}),
    ("addmv",             lambda m, x, a, v: m.addmv(x, a, v),                      [(2,), (2, 3), (3,)],           {}),
    ("addmv_method_kw",   lambda m, x, a, v: x.addmv(a, v, beta=-1.5, alpha=0.5),   [(1,), (2, 3), (3,)],           {}),
    ("addr",              lambda m, x, a, b: m.addr(x, a, b),                       [(2, 3), (2,), (3,)],           {}),
    ("addr_method_kw",    lambda m, x, a, b: x.addr(a, b, beta=2, alpha=-0.5),      [(3,), (2,), (3,)],             {}),
    ("baddbmm",           lambda m, x, a, b: m.baddbmm(x, a, b),                    [(2, 2, 4), (2, 2, 3), (2, 3, 4)], {}),
    ("baddbmm_method_kw", lambda m, x, a, b: x.baddbmm(a, b, beta=0.5, alpha=2),    [(2, 1), (3, 2, 3), (3, 3, 1)], {}),
    ("addbmm",            lambda m, x, a, b: m.addbmm(x, a, b),                     [(2, 4), (3, 2, 3), (3, 3, 4)], {}),
    ("addbmm_method_kw",  lambda m, x, a, b: x.addbmm(a, b, beta=-1, alpha=0.25),   [(), (3, 2, 3), (3, 3, 4)],     {}),
    # ---- vector products ----
    ("outer",             lambda m, a, b: m.outer(a, b),                            [(2,), (3,)],                   {}),
    ("outer_method",      lambda m, a, b: a.outer(b),                               [(4,), (1,)],                   {}),
    ("ger",               lambda m, a, b: m.ger(a, b),                              [(2,), (3,)],                   {}),
    ("ger_method",        lambda m, a, b: a.ger(b),                                 [(3,), (2,)],                   {}),
    ("inner",             lambda m, a, b: m.inner(a, b),                            [(2, 3), (4, 3)],               dict(name=False)),
    ("inner_vectors",     lambda m, a, b: a.inner(b),                               [(3,), (3,)],                   dict(name=False)),
    ("inner_nd",          lambda m, a, b: m.inner(a, b),                            [(2, 1, 3), (3,)],              dict(name=False)),
    ("inner_0d",          lambda m, a, b: m.inner(a, b),                            [(), (2, 3)],                   dict(name=False)),
    ("vdot",              lambda m, a, b: m.vdot(a, b),                             [(4,), (4,)],                   {}),
    ("vdot_method",       lambda m, a, b: a.vdot(b),                                [(3,), (3,)],                   {}),
    ("tensordot",         lambda m, a, b: m.tensordot(a, b),                        [(2, 3, 4), (3, 4, 2)],         dict(name=False)),
    ("tensordot_int",     lambda m, a, b: m.tensordot(a, b, 1),                     [(2, 3), (3, 4)],               dict(name=False)),
    ("tensordot_0",       lambda m, a, b: m.tensordot(a, b, dims=0),                [(2,), (3, 2)],                 dict(name=False)),
    ("tensordot_lists",   lambda m, a, b: m.tensordot(a, b, ([0, 2], [2, 0])),      [(2, 3, 4), (4, 5, 2)],         dict(name=False)),
    ("tensordot_neg",     lambda m, a, b: m.tensordot(a, b, dims=[[-1], [-2]]),     [(2, 3), (4, 3, 2)],            dict(name=False)),
    ("tensordot_bcast",   lambda m, a, b: m.tensordot(a, b, 1),                     [(2, 1), (3, 2)],               dict(name=False)),
    ("kron",              lambda m, a, b: m.kron(a, b),                             [(2, 3), (3, 2)],               dict(name=False)),
    ("kron_method_nd",    lambda m, a, b: a.kron(b),                                [(2, 3), (2, 1, 2)],            dict(name=False)),
    ("kron_0d",           lambda m, a, b: m.kron(a, b),                             [(), (2, 2)],                   dict(name=False)),
    ("cross",             lambda m, a, b: m.cross(a, b, dim=1),                     [(4, 3), (4, 3)],               {}),
    ("cross_method_neg",  lambda m, a, b: a.cross(b, -2),                           [(2, 3, 2), (1, 3, 2)],         {}),
    ("cross_default_dim", lambda m, a, b: m.cross(a, b),                            [(2, 3, 3), (2, 3, 3)],         {}),
    ("cross_bcast",       lambda m, a, b: m.cross(a, b, 0),                         [(3, 1), (3, 4)],               {}),
    # ---- distances ----
    ("dist",              lambda m, a, b: m.dist(a, b),                             [(2, 3), (2, 3)],               dict(name=False)),
    ("dist_method_p1",    lambda m, a, b: a.dist(b, 1),                             [(2, 3), (3,)],                 dict(name=False)),
    ("dist_p3_bcast",     lambda m, a, b: m.dist(a, b, p=3),                        [(2, 1, 3), (4, 1)],            dict(name=False)),
    ("dist_inf",          lambda m, a, b: m.dist(a, b, math.inf),                   [(2, 3), (2, 3)],               dict(name=False)),
    ("dist_half",         lambda m, a, b: a.dist(b, 0.5),                           [(4,), (4,)],                   dict(name=False)),
    ("cdist",             lambda m, a, b: m.cdist(a, b),                            [(3, 4), (5, 4)],               dict(name=False)),
    ("cdist_batched",     lambda m, a, b: m.cdist(a, b, p=2.0),                     [(2, 3, 4), (1, 5, 4)],         dict(name=False)),
    ("cdist_p1",          lambda m, a, b: m.cdist(a, b, 1),                         [(3, 2), (2, 2)],               dict(name=False)),
    ("cdist_p3_mode",     lambda m, a, b: m.cdist(a, b, 3, "donot_use_mm_for_euclid_dist"), [(3, 2), (2, 2)],   dict(name=False)),
    ("cdist_inf",         lambda m, a, b: m.cdist(a, b, p=math.inf),                [(2, 3, 2), (2, 4, 2)],         dict(name=False)),
    ("cdist_p_half",      lambda m, a, b: m.cdist(a, b, p=0.5),                     [(3, 2), (2, 2)],               dict(name=False)),
    # p = 2 over more than 25 rows (or compute_mode="use_mm_for_euclid_dist"): PyTorch's matrix product
    ("cdist_mm",          lambda m, a, b: m.cdist(a, b),                            [(30, 4), (5, 4)],              {}),
    ("cdist_mm_batched",  lambda m, a, b: m.cdist(a, b),                            [(2, 1, 26, 3), (3, 4, 3)],     {}),
    ("cdist_use_mm",      lambda m, a, b: m.cdist(a, b, compute_mode="use_mm_for_euclid_dist"), [(3, 4), (2, 4)], {}),
]
test_against_pytorch, test_gradcheck, test_second_order = case_tests(CASES)
# (PyTorch's cross without dim warns that it is deprecated; ours takes the same first dim of size 3, silently)
pytestmark = pytest.mark.filterwarnings("ignore:Using torch.cross without specifying the dim")


# ---- result dtypes, for every input dtype -------------------------------------------

DTYPES = ["float16", "float32", "float64", "int32", "int64", "bool"]

# op -> (call, operand shapes)
DTYPE_OPS = {
    "addmm": (lambda m, x, a, b: m.addmm(x, a, b, beta=2, alpha=3), [(2, 2), (2, 3), (3, 2)]),
    "addmv": (lambda m, x, a, b: m.addmv(x, a, b, beta=2), [(2,), (2, 3), (3,)]),
    "addr": (lambda m, x, a, b: m.addr(x, a, b, alpha=2), [(2, 3), (2,), (3,)]),
    "baddbmm": (lambda m, x, a, b: m.baddbmm(x, a, b, alpha=2), [(2, 2, 2), (2, 2, 3), (2, 3, 2)]),
    "addbmm": (lambda m, x, a, b: m.addbmm(x, a, b, beta=-1), [(2, 2), (2, 2, 3), (2, 3, 2)]),
    "outer": (lambda m, a, b: m.outer(a, b), [(2,), (3,)]),
    "inner": (lambda m, a, b: m.inner(a, b), [(2, 3), (3,)]),
    "inner_0d": (lambda m, a, b: m.inner(a, b), [(), (3,)]),
    "vdot": (lambda m, a, b: m.vdot(a, b), [(3,), (3,)]),
    "tensordot": (lambda m, a, b: m.tensordot(a, b, 1), [(2, 3), (3, 2)]),
    "kron": (lambda m, a, b: m.kron(a, b), [(2, 3), (2,)]),
    "cross": (lambda m, a, b: m.cross(a, b, dim=1), [(2, 3), (2, 3)]),
    "dist": (lambda m, a, b: m.dist(a, b), [(2, 3), (3,)]),
    "cdist": (lambda m, a, b: m.cdist(a, b), [(2, 3), (4, 3)]),
}


def _operands(lib, dtypes, shapes, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for dt, s in zip(dtypes, shapes):
        a = np.round(rng.standard_normal(s) * 3)
        a = (a > 0) if dt == "bool" else a.astype(dt)
        out.append(lib.tensor(a.tolist() if a.ndim else a.item(), dtype=getattr(lib, dt)))
    return out


def _same_outcome(torch, fn, dtypes, shapes, device="cpu"):
    """Both raise (the same kind), or both give the same dtype and values."""
    try:
        ref = fn(torch, *_operands(torch, dtypes, shapes))
    except Exception as e:
        kind = RuntimeError if isinstance(e, RuntimeError) else type(e)
        with pytest.raises(kind) as ours:
            fn(ag, *[t.to(device) for t in _operands(ag, dtypes, shapes)])
        assert isinstance(ours.value, kind) and not isinstance(ours.value, np.exceptions.AxisError)
        return
    out = fn(ag, *[t.to(device) for t in _operands(ag, dtypes, shapes)])
    assert str(out.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1], (out.dtype, ref.dtype)
    tol = dict(rtol=2e-2, atol=2e-2) if "float16" in dtypes else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_numpy(out).astype(np.float64), ref.numpy().astype(np.float64), **tol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", list(DTYPE_OPS))
def test_result_dtype_for_each_input_dtype(torch, op, dtype, device):
    fn, shapes = DTYPE_OPS[op]
    _same_outcome(torch, fn, [dtype] * len(shapes), shapes, device)


@pytest.mark.parametrize("other", DTYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["addr", "outer", "kron", "dist", "inner_0d", "addmm", "tensordot", "cross"])
def test_mixed_dtypes(torch, op, dtype, other):
    # outer, addr, kron, dist (and inner with a 0-d operand) promote; the others insist on one dtype
    fn, shapes = DTYPE_OPS[op]
    _same_outcome(torch, fn, [dtype] + [other] * (len(shapes) - 1), shapes)


# ---- empty and zero-size operands ------------------------------------------------------

EMPTY = [
    ("addmm_k0", lambda m, x, a, b: m.addmm(x, a, b, beta=2), [(2, 3), (2, 0), (0, 3)]),
    ("addmm_n0", lambda m, x, a, b: m.addmm(x, a, b), [(3,), (0, 2), (2, 3)]),
    ("addmv_k0", lambda m, x, a, b: m.addmv(x, a, b), [(2,), (2, 0), (0,)]),
    ("addr_0", lambda m, x, a, b: m.addr(x, a, b), [(0, 3), (0,), (3,)]),
    ("baddbmm_b0", lambda m, x, a, b: m.baddbmm(x, a, b), [(2,), (0, 2, 3), (0, 3, 2)]),
    ("addbmm_b0", lambda m, x, a, b: m.addbmm(x, a, b, alpha=2), [(2, 2), (0, 2, 3), (0, 3, 2)]),
    ("outer_0", lambda m, a, b: m.outer(a, b), [(0,), (3,)]),
    ("inner_0", lambda m, a, b: m.inner(a, b), [(2, 0), (3, 0)]),
    ("vdot_0", lambda m, a, b: m.vdot(a, b), [(0,), (0,)]),
    ("tensordot_0", lambda m, a, b: m.tensordot(a, b, 1), [(2, 0), (0, 3)]),
    ("kron_0", lambda m, a, b: m.kron(a, b), [(2, 0), (2, 3)]),
    ("cross_0", lambda m, a, b: m.cross(a, b, dim=1), [(0, 3), (0, 3)]),
    ("dist_0", lambda m, a, b: m.dist(a, b), [(0,), (0,)]),
    ("dist_0d", lambda m, a, b: m.dist(a, b, 1), [(), ()]),
    ("cdist_p0", lambda m, a, b: m.cdist(a, b), [(0, 3), (4, 3)]),
    ("cdist_m0", lambda m, a, b: m.cdist(a, b), [(2, 0), (4, 0)]),
    ("cdist_m0_inf", lambda m, a, b: m.cdist(a, b, math.inf), [(2, 0), (4, 0)]),
    ("cdist_m0_p0", lambda m, a, b: m.cdist(a, b, 0), [(2, 0), (4, 0)]),
]


@pytest.mark.parametrize("case", EMPTY, ids=[c[0] for c in EMPTY])
def test_empty_operands(torch, case, device):
    _, fn, shapes = case
    check(torch, fn, *shapes, device=device, name=False)


# ---- NaN, inf, beta and alpha ------------------------------------------------------------

def _nan(*s):
    return np.full(s, np.nan)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", [
    # beta == 0: the input is not read, its NaN does not propagate (every form)
    ("addmm", lambda m, x, a, b: m.addmm(x, a, b, beta=0), lambda r: [_nan(2, 2), r(2, 3), r(3, 2)]),
    ("addmv", lambda m, x, a, b: m.addmv(x, a, b, beta=0), lambda r: [_nan(2), r(2, 3), r(3)]),
    ("addr", lambda m, x, a, b: m.addr(x, a, b, beta=0), lambda r: [_nan(2, 3), r(2), r(3)]),
    ("baddbmm", lambda m, x, a, b: m.baddbmm(x, a, b, beta=0), lambda r: [_nan(1, 2, 2), r(1, 2, 3), r(1, 3, 2)]),
    ("addbmm", lambda m, x, a, b: m.addbmm(x, a, b, beta=0), lambda r: [_nan(2, 2), r(1, 2, 3), r(1, 3, 2)]),
    # alpha == 0: PyTorch's BLAS calls (addmm, addmv, addbmm) do not read the operands; its own
    # kernels (addr, baddbmm of small matrices) multiply NaN by 0
    ("addmm_alpha0", lambda m, x, a, b: m.addmm(x, a, b, alpha=0), lambda r: [r(2, 2), _nan(2, 3), r(3, 2)]),
    ("addmv_alpha0", lambda m, x, a, b: m.addmv(x, a, b, alpha=0), lambda r: [r(2), _nan(2, 3), r(3)]),
    ("addbmm_alpha0", lambda m, x, a, b: m.addbmm(x, a, b, alpha=0), lambda r: [r(2, 2), _nan(1, 2, 3), r(1, 3, 2)]),
    ("addr_alpha0", lambda m, x, a, b: m.addr(x, a, b, alpha=0), lambda r: [r(2, 3), _nan(2), r(3)]),
    ("baddbmm_alpha0", lambda m, x, a, b: m.baddbmm(x, a, b, alpha=0), lambda r: [r(1, 2, 2), _nan(1, 2, 3), r(1, 3, 2)]),
    # alpha == inf: BLAS scales an operand (inf - inf: NaN), the others the product
    ("addmm_alpha_inf", lambda m, x, a, b: m.addmm(x, a, b, alpha=math.inf), lambda r: [r(2, 2), r(2, 3), r(3, 2)]),
    ("addmv_alpha_inf", lambda m, x, a, b: m.addmv(x, a, b, alpha=math.inf), lambda r: [r(2), r(2, 3), r(3)]),
    ("baddbmm_beta_nan", lambda m, x, a, b: m.baddbmm(x, a, b, beta=math.nan), lambda r: [r(2, 2), r(1, 2, 3), r(1, 3, 2)]),
], ids=lambda c: c[0] if isinstance(c, tuple) else None)
def test_nan_and_special_scalars(torch, case, dtype, device):
    _, fn, arrays = case
    rng = np.random.default_rng(0)
    check(torch, fn, arrays=arrays(lambda *s: rng.standard_normal(s)), dtype=dtype, device=device, grad=False)


def test_non_finite_data(torch, device):
    special = np.array([[np.nan, np.inf, -np.inf], [0.0, 1.5, -2.0], [1e30, -0.0, 3.0]])
    rng = np.random.default_rng(1)
    for fn in (lambda m, a, b: m.cross(a, b, dim=0), lambda m, a, b: m.kron(a, b),
               lambda m, a, b: m.dist(a, b, 1), lambda m, a, b: m.outer(a[1], b[0]),
               lambda m, a, b: m.inner(a, b), lambda m, a, b: m.cdist(a, b, 1)):
        check(torch, fn, arrays=[special, rng.standard_normal((3, 3))], device=device, name=False, grad=False)


def test_integer_results_truncate_float_scalars_but_addr_refuses(torch):
    i = [[1, 2], [3, 4]]
    for lib_fn in (lambda m, t: m.addmm(t, t, t, beta=0.5, alpha=2.7),
                   lambda m, t: m.addbmm(t, t[None], t[None], beta=-1.5),
                   lambda m, t: m.baddbmm(t[None], t[None], t[None], alpha=True)):
        ref = lib_fn(torch, torch.tensor(i))
        out = lib_fn(ag, ag.tensor(i))
        assert out.dtype == ag.int64 and out.tolist() == ref.tolist()
    t = ag.tensor(i)
    with pytest.raises(RuntimeError, match="addr: For integral input tensors, argument beta must not be a floating"):
        ag.addr(t, t[0], t[1], beta=0.5)
    with pytest.raises(RuntimeError, match="addr: Boolean alpha only supported for Boolean results"):
        ag.addr(t.double(), t[0].double(), t[1].double(), alpha=True)
    with pytest.raises(RuntimeError, match="addmm: .*int32 without overflow"):
        ag.addmm(t.int(), t.int(), t.int(), beta=2 ** 40)
    # a bool result: beta and alpha say whether input and the outer product count
    b = [[True, False], [False, False]]
    v = [True, False]
    for beta, alpha in ((0, 1), (2, 1), (1, 0), (True, False)):
        ref = torch.addr(torch.tensor(b), torch.tensor(v), torch.tensor(v[::-1]), beta=beta, alpha=alpha)
        assert ag.addr(ag.tensor(b), ag.tensor(v), ag.tensor(v[::-1]), beta=beta, alpha=alpha).tolist() == ref.tolist()


def test_half_beta_beyond_range(torch):
    h = [[1.0, 2.0], [3.0, 4.0]]
    # addmm rounds beta to half (inf); addmv and addr refuse it, as PyTorch
    ref = torch.addmm(torch.tensor(h).half(), torch.tensor(h).half(), torch.tensor(h).half(), beta=1e10)
    out = ag.addmm(ag.tensor(h).half(), ag.tensor(h).half(), ag.tensor(h).half(), beta=1e10)
    assert out.tolist() == ref.tolist()
    with pytest.raises(RuntimeError, match="addmv: value .* cannot be converted to type float16"):
        ag.addmv(ag.tensor(h[0]).half(), ag.tensor(h).half(), ag.tensor(h[1]).half(), beta=1e10)


# ---- argument forms and errors ------------------------------------------------------------

def test_tensordot_dims_forms(torch):
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 2))
    for dims in (1, True, [[1], [0]], ([1], [0]), 0, lambda m: m.tensor(1.0), lambda m: m.tensor([[1], [0]])):
        def fn(m, x, y, dims=dims):
            return m.tensordot(x, y, dims(m) if callable(dims) else dims)
        check(torch, fn, arrays=[a, b], name=False)
    for dims, kind in ((-1, RuntimeError), (3, RuntimeError), (1.5, RuntimeError), ([1, 0], TypeError),
                       ([[1], [0, 1]], RuntimeError), ([[1, 1], [0, 0]], RuntimeError), ([[2], [0]], IndexError),
                       ([[0], [0]], RuntimeError), ([[1.0], [0]], TypeError)):
        with pytest.raises(kind):
            torch.tensordot(torch.tensor(a), torch.tensor(b), dims)
        with pytest.raises(kind, match="tensordot"):
            ag.tensordot(ag.tensor(a), ag.tensor(b), dims)


@pytest.mark.parametrize("call, kind, match", [
    (lambda m, x: m.addmm(x, x, x[:1]), RuntimeError, "addmm: mat1 and mat2 shapes cannot be multiplied"),
    (lambda m, x: m.addmm(x[0, 0], x[0], x), RuntimeError, "addmm: mat1 must be a matrix"),
    (lambda m, x: m.addmm(x.repeat(2, 1), x, x), RuntimeError, "addmm: the input of shape"),
    (lambda m, x: m.addmm(x, x.double(), x), RuntimeError, "addmm: expected all operands to have the same dtype"),
    (lambda m, x: m.addmm(x, x, x, beta="a"), TypeError, "addmm"),
    (lambda m, x: m.addmm(x, x, 2), TypeError, "addmm\\(\\): argument 'mat2' \\(position 3\\) must be Tensor"),
    (lambda m, x: m.addmv(x[0], x, x), RuntimeError, "addmv: vector \\+ matrix @ vector expected"),
    (lambda m, x: m.addr(x, x, x[0]), RuntimeError, "addr: Expected 1-D argument vec1"),
    (lambda m, x: m.baddbmm(x, x, x[None]), RuntimeError, "baddbmm: batch1 must be a 3D tensor"),
    (lambda m, x: m.baddbmm(x, x[None], x), IndexError, "baddbmm"),
    (lambda m, x: m.addbmm(x, x[None], x[None].repeat(2, 1, 1)), RuntimeError, "addbmm: batch1 and batch2 must"),
    (lambda m, x: m.outer(x, x[0]), RuntimeError, "outer: Expected 1-D argument self"),
    (lambda m, x: m.inner(x, x[:, :1]), RuntimeError, "inner\\(\\) the last dimension must match"),
    (lambda m, x: m.vdot(x[0], x), RuntimeError, "vdot: 1D tensors expected"),
    (lambda m, x: m.vdot(x[0] > 0, x[0] > 0), NotImplementedError, "vdot"),
    (lambda m, x: m.kron(x, 2), TypeError, "kron"),
    (lambda m, x: m.cross(x, x), RuntimeError, "cross: no dimension of size 3"),
    (lambda m, x: m.cross(x, x, dim=5), IndexError, "cross"),
    (lambda m, x: m.cross(x, x, dim=1.5), TypeError, "cross"),
    (lambda m, x: m.dist(x.long(), x.long()), RuntimeError, "dist: norm\\(\\): input dtype should be"),
    (lambda m, x: m.dist(x, x, "fro"), TypeError, "dist"),
    (lambda m, x: m.cdist(x, x, -1.0), RuntimeError, "cdist only supports non-negative p values"),
    (lambda m, x: m.cdist(x, x, compute_mode="zz"), ValueError, "cdist"),
    (lambda m, x: m.cdist(x[0], x), RuntimeError, "cdist only supports at least 2D tensors"),
    (lambda m, x: m.cdist(x.half(), x.half()), NotImplementedError, "cdist"),
])
def test_bad_input_raises_pytorchs_kind_naming_the_op(torch, call, kind, match):
    x = [[1.0, 2.0], [3.0, 4.0]]
    with pytest.raises(kind):
        call(torch, torch.tensor(x))
    t = ag.tensor(x, requires_grad=True)
    with pytest.raises(kind, match=match):
        call(ag, t)
    assert t.grad is None and t._version == 0


# ---- behaviours that differ from PyTorch on purpose ---------------------------------------

def test_kron_of_a_transposed_view(torch):
    # PyTorch 2.13's kron raises "view size is not compatible with input tensor's size and
    # stride" for a transposed operand (a bug: it views where it must reshape); ours computes,
    # and equals PyTorch's kron of the same values made contiguous
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((3, 2)), rng.standard_normal((2, 3))
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        torch.kron(torch.tensor(a).t(), torch.tensor(b))
    check(torch, lambda m, x, y: m.kron(x.t(), y), arrays=[a, b], name=False,
          torch_fn=lambda t, x, y: t.kron(x.t().contiguous(), y))


def test_cdist_inf_norm_ties_take_the_whole_gradient(torch):
    # At a tie of the largest |x1 - x2| entries PyTorch's cdist backward gives each tied entry
    # the whole gradient (and so does not match its own dist(p=inf), which splits it evenly, as
    # norm's backward does): ours follows both
    grads = []
    for L in (ag, torch):
        x1 = L.tensor([[1.0, -1.0]], requires_grad=True)
        L.cdist(x1, L.zeros(1, 2), p=math.inf).sum().backward()
        t1 = L.tensor([[1.0, -1.0]], requires_grad=True)
        L.dist(t1, L.zeros(1, 2), math.inf).backward()
        grads.append((x1.grad.tolist(), t1.grad.tolist()))
    assert grads[0] == grads[1] == ([[1.0, -1.0]], [[0.5, -0.5]])


def test_cdist_coincident_points_have_zero_distance_and_gradient(torch):
    # computed directly (compute_mode="donot_use_mm_for_euclid_dist", or 25 rows or fewer) 0 is exact;
    # over more rows by default PyTorch's matrix product, whose 0 is the square root of a rounding
    # error, as PyTorch's (the same values here)
    x = np.random.default_rng(4).standard_normal((30, 3))
    check(torch, lambda m, a, b: m.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist"),
          arrays=[x, x.copy()], name=False, dtype="float32")
    d = ag.cdist(ag.tensor(x), ag.tensor(x), compute_mode="donot_use_mm_for_euclid_dist")
    assert np.all(np.diag(d.numpy()) == 0)
    mm = np.diag(ag.cdist(ag.tensor(x), ag.tensor(x)).numpy())
    theirs = torch.cdist(torch.tensor(x), torch.tensor(x)).diag().numpy()
    assert 0 < np.abs(mm).max() < 1e-7 and np.abs(theirs).max() > 0
    np.testing.assert_allclose(mm, theirs, rtol=0, atol=1e-7)


def test_cdist_of_nan_data(torch):
    # Distances match PyTorch's (NaN where a difference is NaN, for p=0 too). The gradient for
    # p=1 differs: PyTorch's cdist backward gives NaN where a difference is NaN, ours (the vector
    # norm's backward, sign(NaN) = 0, as PyTorch's own norm and dist) gives 0 there
    x = [[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]]
    y = [[math.nan, math.inf, -math.inf], [0.0, 1.5, -2.0]]
    for p in (0, 1, 2):
        np.testing.assert_array_equal(ag.cdist(ag.tensor(x), ag.tensor(y), p).numpy(),
                                      torch.cdist(torch.tensor(x), torch.tensor(y), p).numpy())
    a = ag.tensor(x, requires_grad=True)
    ag.cdist(a, ag.tensor(y), 1).sum().backward()
    assert a.grad.tolist() == [[1.0, 0.0, 2.0], [1.0, -2.0, 2.0]]


def test_addmv_with_empty_k_broadcasts(torch, device):
    # PyTorch 2.13 returns beta * input unbroadcast for a matrix with no columns (shape (1,) here, with a
    # resize warning; it broadcasts when beta == 0 or k > 0): ours broadcasts, as the formula says
    base = ag.tensor([1.5], device=device, requires_grad=True)
    mat = ag.ones(2, 0, device=device, requires_grad=True)
    out = ag.addmv(base, mat, ag.ones(0, device=device), beta=2)
    assert out.shape == (2,) and out.tolist() == [3.0, 3.0]
    out.sum().backward()
    assert base.grad.tolist() == [4.0] and mat.grad.shape == (2, 0)
    assert torch.addmv(torch.ones(1), torch.ones(2, 1), torch.ones(1), beta=2).shape == (2,)     # (k > 0)


@pytest.mark.parametrize("shapes", [((), ()), ((), (2,)), ((2,), (3,)), ((2, 1), (2,))])
def test_kron_result_is_no_view(torch, shapes):
    """PyTorch's kron ends in _unsafe_view: a new tensor (UnsafeViewBackward0), not a view of its product
    (ours was a view: writing it in place rebased its history; found by the random programs)."""
    for L in (torch, ag):
        a, b = (L.ones(s, dtype=L.float64, requires_grad=True) * 2 for s in shapes)
        k = L.kron(a, b)
        assert k._base is None and k.grad_fn.name() == "UnsafeViewBackward0"
        k.mul_(3)
        assert k.grad_fn.name().startswith("MulBackward")     # (CopySlices, were it a view)
