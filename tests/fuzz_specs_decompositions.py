"""Fuzz specs (tests/test_fuzz_bad_input.py) of the ops in autograd_gpu/ops/decompositions.py."""
import math


def _forms(name, *kwargs):
    """ag.name(a, *args) and Tensor.name(*args); kwargs: the keyword names of the extra arguments."""
    def call(obj):
        return lambda L, a, *args: getattr(L if obj else a, name)(*((a,) if obj else ()),
                                                                  **dict(zip(kwargs, args)))
    return [(f"ag.{name}", call(True)), (f"Tensor.{name}", call(False))]


def _signed(r):
    """svd's (U, S, V) with each singular vector's sign fixed by its first entry (LAPACKs differ there)."""
    u, s, v = r
    fix = lambda x: x * (x[..., :1, :] >= 0) * 2 - x if x.numel() else x  # noqa: E731
    return fix(u), s, fix(v)


def specs(f):
    """{op: f.S(...)}; `f` is the fuzz test module (its S, T, Lst, pools: TENSORS, DIM1, ...)."""
    S, T, JUNK = f.S, f.T, f.JUNK
    # square matrices (random ones are invertible), batched, and what PyTorch refuses
    mats = [T("float64", (3, 3), rg=True), T("float32", (2, 3, 3), rg=True), T("float64", (2, 2), rg=True,
            form="view"), T("float64", (3, 3), rg=True, form="nonleaf"), T("float32", (2, 3)), T("float64", (3,)),
            T("float32", ()), T("float64", (0, 0)), T("float64", (2, 0, 0)), T("int64", (3, 3)),
            T("float16", (3, 3)), T("bool", (2, 2)), T("float64", (3, 3), data="ties")] + JUNK[:2]
    rect = mats[:4] + [T("float64", (4, 3), rg=True), T("float32", (2, 2, 3), rg=True)] + mats[4:]
    bools = [True, False, 1, None, "a"]
    # rank-deficient matrices have no unique Q, U or V (their null space's basis is LAPACK's choice), and
    # pinverse with rcond <= 0 hangs on how LAPACK rounds a zero singular value: full rank only
    full_rank = [t for t in rect if getattr(t, "data", None) != "ties"]
    def lin(name, *kwargs):
        return [(f"ag.linalg.{name}", lambda L, a, *args: getattr(L.linalg, name)(a, **dict(zip(kwargs, args))))]
    vecs = [T("float64", (3,), rg=True), T("float32", (2, 3), rg=True), T("float64", (2, 3, 3), rg=True)]
    norm_dims = [None, 0, -1, (0, 1), (1, 0), (0, 0), 3, (0, 1, 2), "a", 1.5]
    ords = [None, 2, 1, -1, 0, 3, -2, math.inf, -math.inf, "fro", "nuc", 0.5, "x", True]
    out = {
        "linalg.inv": S(lin("inv"), mats, msg="linalg.inv"),
        "linalg.det": S(lin("det"), mats, msg="linalg.det"),
        "linalg.slogdet": S(lin("slogdet"), mats, msg="linalg.slogdet"),
        "linalg.solve": S(lin("solve", "B", "left"), mats[:2] + mats[4:],
                          [T("float64", (3,), rg=True), T("float64", (3, 2)), T("float32", (2, 3, 1)),
                           T("float64", (2, 3)), T("float32", (3, 3)), T("int64", (3,)), T("float64", (4,))] + JUNK[:2],
                          bools, msg="linalg.solve"),
        "linalg.cholesky": S(lin("cholesky", "upper"), mats, bools, msg="cholesky"),
        "linalg.qr": S([(n, lambda L, a, mode, c=c: c(L, a, mode)) for n, c in lin("qr", "mode")], full_rank,
                       ["reduced", "complete", "r", "x", 1, None], msg="qr", no_grad_check=True),
        "linalg.eigvalsh": S(lin("eigvalsh", "UPLO"), mats, ["L", "U", "l", "X", 1, None], msg=("eigvalsh", "UPLO")),
        "linalg.svdvals": S(lin("svdvals"), rect, msg="linalg.svdvals"),
        "linalg.pinv": S(lin("pinv", "hermitian", "rtol"), full_rank, [False, True, 1, None],
                         [None, 0.1, 1e-15, "a"], msg="linalg.pinv"),
        # (no zero tolerances: the rank of a singular matrix then hangs on LAPACK's rounding)
        "linalg.matrix_rank": S(lin("matrix_rank", "atol", "rtol"), rect, [None, 0.1, "a"], [None, 0.5],
                                msg="matrix_rank"),
        "linalg.matrix_power": S(lin("matrix_power", "n"), mats, [2, 0, -1, 1.5, True, "a"],
                                 msg=("matrix_power", "linalg.inv")),
        "linalg.matrix_norm": S(lin("matrix_norm", "ord", "dim", "keepdim"), rect + [T("float64", (2, 3, 4), rg=True)],
                                ["fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf, 3, "x", None],
                                [(-2, -1), (0, 1), (1, 0), (0, 0), (0, 5), 0, (0, 1, 2), "a"], [False, True, 1],
                                msg="matrix_norm"),
        "linalg.vector_norm": S(lin("vector_norm", "ord", "dim", "keepdim"), vecs + f.TENSORS + JUNK[:2],
                                [2, 1, 0, 3.5, -1, math.inf, -math.inf, "fro", None], norm_dims, [False, True],
                                msg="vector_norm"),
        "linalg.norm": S(lin("norm", "ord", "dim"), vecs + rect, ords, norm_dims, msg="norm"),
        "linalg.multi_dot": S([("ag.linalg.multi_dot", lambda L, a, b, c: L.linalg.multi_dot([a, b, c]))],
                              [T("float64", (3,), rg=True), T("float64", (2, 3), rg=True), T("float32", (2, 3)),
                               T("float64", (2, 2, 3)), T("float64", ())] + JUNK[:1],
                              [T("float64", (3, 3), rg=True), T("float64", (3,)), T("float64", (4, 4))],
                              [T("float64", (3, 2), rg=True), T("float64", (3,), rg=True), T("float64", (2, 2)),
                               T("int64", (3, 2))], msg="multi_dot"),
        "linalg.lstsq": S(lin("lstsq", "b", "rcond", "driver"), full_rank,
                          [T("float64", (4, 2), rg=True), T("float64", (3, 2), rg=True), T("float64", (3,)),
                           T("float32", (2, 3, 1)), T("int64", (3, 2)), T("float64", (2,))] + JUNK[:2],
                          [None, 1e-3, -1], [None, "gelsd", "gelss", "gels", "x"], msg="lstsq"),
        "linalg.cross": S(lin("cross", "other", "dim"), [T("float64", (2, 3), rg=True), T("float32", (3,))] + mats[4:],
                          [T("float64", (2, 3), rg=True), T("float64", (1, 3)), T("float64", (3,)),
                           T("float32", (2, 3)), T("float64", (2, 4))], [-1, 0, 1, 2, "a"], msg="cross"),
    }
    for name, spec in out.items():          # (type errors name the function as PyTorch's parser does: linalg_inv())
        spec["msg"] = ((spec["msg"],) if isinstance(spec["msg"], str) else spec["msg"]) + (name.replace(".", "_"),)
    out.update({
        "inverse": S(_forms("inverse"), mats, msg=("linalg.inv", "inverse")),
        "det": S(_forms("det"), mats, msg=("linalg.det", "det")),
        "logdet": S(_forms("logdet"), mats),
        "slogdet": S(_forms("slogdet"), mats, msg=("linalg.slogdet", "slogdet")),
        "cholesky": S(_forms("cholesky", "upper"), mats, bools),
        "matrix_power": S(_forms("matrix_power", "n"), mats + [T("int64", (2, 2))],
                          [2, 3, 0, 1, -1, -2, 1.5, "a", None, True], msg=("matrix_power", "linalg.inv")),
        "pinverse": S(_forms("pinverse", "rcond"), full_rank, [1e-15, 0.1, 0, -1, "a", None], msg=("pinv",)),
        "svd": S([(n, lambda L, a, some, uv, c=c: _signed(c(L, a, some, uv)))
                  for n, c in _forms("svd", "some", "compute_uv")], full_rank, bools, bools, no_grad_check=True, msg=("linalg.svd", "svd")),
        "qr": S(_forms("qr", "some"), full_rank, bools, no_grad_check=True, msg=("qr",)),
    })
    out.update(more_specs(f))
    out.update(qr_cholesky_specs(f))
    return out


def more_specs(f):
    """The LU family, triangular solves, matrix_exp, the _ex forms and the composed ag.linalg ones."""
    S, T, JUNK = f.S, f.T, f.JUNK
    # invertible (random) matrices, rectangular ones and what PyTorch refuses; no singular ones where the
    # values at a zero pivot are LAPACK's leftovers
    mats = [T("float64", (3, 3), rg=True), T("float32", (2, 3, 3), rg=True), T("float64", (3, 3), rg=True,
            form="nonleaf"), T("float64", (4, 3), rg=True), T("float64", (2, 3, 5), rg=True), T("float64", (3,)),
            T("float32", ()), T("float64", (0, 0)), T("float64", (2, 0, 0)), T("int64", (3, 3)),
            T("float16", (3, 3)), T("bool", (2, 2))] + JUNK[:2]
    square = [t for t in mats if getattr(t, "shape", ())[-2:] not in ((4, 3), (3, 5))]
    rhs = [T("float64", (3, 2), rg=True), T("float32", (2, 3, 1)), T("float64", (3,)), T("float64", (2, 2)),
           T("int64", (3, 2))] + JUNK[:1]
    bools = [True, False, 1, None]

    def lin(name, *kwargs):
        return [(f"ag.linalg.{name}", lambda L, a, *args: getattr(L.linalg, name)(a, **dict(zip(kwargs, args))))]

    def factored(L, a, b, left, adjoint):
        return L.linalg.lu_solve(*L.linalg.lu_factor(a.detach()), b, left=left, adjoint=adjoint)

    out = {
        "linalg.lu_factor": S(lin("lu_factor"), mats, msg="lu"),
        "linalg.lu_factor_ex": S(lin("lu_factor_ex"), mats, msg="lu"),
        "linalg.lu": S(lin("lu"), mats, msg="lu"),
        "linalg.lu_solve": S([("ag.linalg.lu_solve", factored)], [t for t in square if isinstance(t, T)], rhs, bools, [False, True, "a"], msg="lu"),
        "lu_unpack": S([("ag.lu_unpack", lambda L, a, ud, up: L.lu_unpack(*L.linalg.lu_factor(a.detach()), ud, up))],
                       mats[:5], [True, False, 1], [True, False, None], msg="lu"),
        "linalg.solve_triangular": S(lin("solve_triangular", "B", "upper", "left", "unitriangular"), square,
                                     rhs, [True, False, None], [True, False], [False, True, "a"],
                                     msg=("solve_triangular", "triangular_solve")),
        "triangular_solve": S([(n, lambda L, b, a, up, tr, c=c: c(L, b, a, up, tr)) for n, c in (
            ("ag.triangular_solve", lambda L, b, a, up, tr: L.triangular_solve(b, a, up, tr)),
            ("Tensor.triangular_solve", lambda L, b, a, up, tr: b.triangular_solve(a, up, tr)))],
            rhs, square, [True, False, 1], [False, True], msg="triangular_solve"),
        "linalg.matrix_exp": S(lin("matrix_exp"), [t for t in square if getattr(t, "dtype", "") != "float16"],
                               msg="matrix_exp"),
        "matrix_exp": S(_forms("matrix_exp"), [t for t in square if getattr(t, "dtype", "") != "float16"],
                        msg="matrix_exp"),
        "linalg.inv_ex": S(lin("inv_ex", "check_errors"), square, [False, True, 1], msg="inv_ex"),
        "linalg.cholesky_ex": S([("ag.linalg.cholesky_ex", lambda L, a, up: L.linalg.cholesky_ex(
            a @ a.mT + L.eye(a.shape[-1], dtype=a.dtype) if getattr(a, "ndim", 0) >= 2 and a.dtype.is_floating_point else a,
            upper=up))], square, bools, msg=("cholesky", "matmul", "eye", "add")),
        "linalg.solve_ex": S(lin("solve_ex", "B", "left"), square, rhs, bools, msg=("solve",)),
        "linalg.vander": S(lin("vander", "N"), [T("float64", (3,), rg=True), T("float32", (2, 3), rg=True),
                                                T("int64", (3,)), T("bool", (3,)), T("float64", ())] + JUNK[:1],
                           [None, 4, 1, 0, 2.5, True], msg="vander"),
        "linalg.vecdot": S(lin("vecdot", "y", "dim"), [T("float64", (2, 3), rg=True), T("float32", (3,))] + mats[9:],
                           [T("float64", (2, 3), rg=True), T("float64", (3,)), T("float32", (2, 3)),
                            T("float64", (2, 4))] + JUNK[:1], [-1, 0, 2, "a"], msg="vecdot"),
        "linalg.tensorinv": S(lin("tensorinv", "ind"), [T("float64", (2, 2, 4), rg=True), T("float64", (4, 2, 2)),
                                                        T("float64", (3, 3, 1)), T("int64", (2, 2)), T("float64", (0,))]
                              + JUNK[:1], [2, 1, 0, -1, 1.5, None], msg=("tensorinv", "linalg.inv")),
        "linalg.tensorsolve": S(lin("tensorsolve", "other", "dims"), [T("float64", (2, 2, 4), rg=True),
                                                                   T("float64", (4, 2, 2)), T("int64", (2, 2))] + JUNK[:1],
                                [T("float64", (2, 2), rg=True), T("float64", (4,)), T("float32", (2, 2)),
                                 T("float64", (3,))], [None, (0,), (5,), "a"], msg=("tensorsolve", "solve")),
        "linalg.cond": S(lin("cond", "p"), mats, [None, 2, -2, "fro", "nuc", math.inf, -math.inf, 1, -1, 3, "x"],
                         msg=("cond", "svd")),
        "linalg.diagonal": S([("ag.linalg.diagonal", lambda L, a, o, d1: L.linalg.diagonal(a, offset=o, dim1=d1))],
                             mats[:5] + f.TENSORS[:3] + JUNK[:1], [0, 1, -1, "a"], [-2, 0, 5], msg="diagonal"),
        "linalg.matmul": S(lin("matmul", "other"), mats[:5] + f.TENSORS[:3], rhs, msg="matmul"),
    }
    for name, spec in out.items():
        spec["msg"] = ((spec["msg"],) if isinstance(spec["msg"], str) else spec["msg"]) + (name.replace(".", "_"),)
    return out


def qr_cholesky_specs(f):
    """householder_product / orgqr, geqrf, ormqr, cholesky_solve, cholesky_inverse. No data with ties: a
    reflector with tau ||v||^2 = 1 has PyTorch's NaN gradient (tests/test_linalg_qr_cholesky.py), and an
    empty `other` gives ormqr's backward uninitialized memory there. The float32 input needs no grad: with
    these unnormalised tau, PyTorch's float32 gradient is off by 1e-4 relative (ours by 1e-7, against
    float64)."""
    S, T, JUNK = f.S, f.T, f.JUNK
    tall = [T("float64", (4, 3), rg=True), T("float32", (2, 4, 3)), T("float64", (3, 3), rg=True,
            form="nonleaf"), T("float64", (3, 3), rg=True, form="view"), T("float64", (3, 4)), T("float64", (3,)),
            T("float32", ()), T("float64", (0, 0)), T("float64", (2, 0, 0)), T("int64", (4, 3)),
            T("float16", (4, 3)), T("bool", (4, 3))] + JUNK[:2]
    taus = [T("float64", (3,), rg=True), T("float64", (2,), rg=True), T("float32", (2, 3)), T("float32", (2, 2)),
            T("float64", (4,)), T("float64", ()), T("float64", (0,)), T("int64", (3,))] + JUNK[:1]
    others = [T("float64", (4, 2), rg=True), T("float64", (2, 4), rg=True), T("float32", (2, 4, 2), rg=True),
              T("float64", (3, 2)), T("float64", (4,)), T("float64", (2, 4, 2)), T("int64", (4, 2))] + JUNK[:1]
    bools = [True, False, 1, None]
    factors = [T("float64", (3, 3), rg=True), T("float32", (3, 3), rg=True), T("float64", (2, 3, 3), rg=True),
               T("float64", (3, 3), rg=True, form="nonleaf"), T("float64", (2, 3)), T("float64", (3,)),
               T("float64", (0, 0)), T("int64", (3, 3)), T("float16", (3, 3)), T("bool", (3, 3))] + JUNK[:1]
    rhs = [T("float64", (3, 2), rg=True), T("float32", (2, 3, 1), rg=True), T("float64", (4, 3, 2)),
           T("float64", (0, 3, 2)), T("float64", (3,)), T("float64", (2, 2)), T("int64", (3, 2))] + JUNK[:1]
    out = {
        "linalg.householder_product": S([("ag.linalg.householder_product",
                                          lambda L, a, t: L.linalg.householder_product(a, t))], tall, taus,
                                        msg="householder_product"),
        "orgqr": S([("ag.orgqr", lambda L, a, t: L.orgqr(a, t)), ("Tensor.orgqr", lambda L, a, t: a.orgqr(t))],
                   tall, taus, msg=("orgqr", "householder_product")),
        "geqrf": S([("ag.geqrf", lambda L, a: L.geqrf(a)), ("Tensor.geqrf", lambda L, a: a.geqrf())],
                   tall + [T("float64", (2, 3, 5), rg=True)], no_grad_check=True),
        "ormqr": S([("ag.ormqr", lambda L, a, t, c, left, tr: L.ormqr(a, t, c, left, tr)),
                    ("Tensor.ormqr", lambda L, a, t, c, left, tr: a.ormqr(t, c, left=left, transpose=tr))],
                   tall, taus, others, bools, [False, True, "a"]),
        "cholesky_solve": S([("ag.cholesky_solve", lambda L, b, u, up: L.cholesky_solve(b, u, up)),
                             ("Tensor.cholesky_solve", lambda L, b, u, up: b.cholesky_solve(u, upper=up))],
                            rhs, factors, bools),
        "cholesky_inverse": S([("ag.cholesky_inverse", lambda L, u, up: L.cholesky_inverse(u, up)),
                               ("Tensor.cholesky_inverse", lambda L, u, up: u.cholesky_inverse(upper=up))],
                              factors + [T("float64", (3, 3), data="special")], bools),
    }
    return out
