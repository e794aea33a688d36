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
    return out
