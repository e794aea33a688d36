"""Fuzz specs (tests/test_fuzz_bad_input.py) of the ops in autograd_gpu/ops/polynomials.py
(ag.special's polynomials, ndtr, ndtri, log_ndtr, erfcx, entr, xlog1py, expit) and of
the ag.special names of top-level functions (autograd_gpu/special.py)."""
import math

POLYNOMIALS = ("chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
               "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
               "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
               "laguerre_polynomial_l", "legendre_polynomial_p")
UNARY = ("ndtr", "ndtri", "log_ndtr", "erfcx", "entr", "expit", "erf", "erfc", "erfinv", "exp2", "expm1", "log1p",
         "sinc")


def specs(f):
    """{op: f.S(...)}; `f` is the fuzz test module (its S, T, Lst, pools: TENSORS, DIM1, ...)."""
    S, T, D = f.S, f.T, f.D
    # (no NaN x for the polynomials: PyTorch's kernels return uninitialized values for some
    # (NaN, n), see tests/test_ops_polynomials.py::test_polynomial_at_nan; NaN n is fuzzed)
    xs = [t for t in f.TENSORS if t.data != "special"] + [0.5, -2, True, "a", None]
    ns = [3, 0, -1, 2.5, 7, 12, True, math.nan, T("int64", (2, 3)), T("float32", (3,)),
          T("float64", (2, 3), data="special"), T("float32", ()), T("int32", (2, 1, 3)), T("float32", (4,)),
          T("bool", (2, 3)), "a", None]
    out = {f"special.{name}": S([(f"ag.special.{name}", lambda L, x, n, nm=name: getattr(L.special, nm)(x, n))],
                                xs, ns, msg=name) for name in POLYNOMIALS}
    for name in UNARY:
        out[f"special.{name}"] = S([(f"ag.special.{name}", lambda L, a, nm=name: getattr(L.special, nm)(a))],
                                   f.TENSORS + f.JUNK[:3] + [2], msg=name)
    operands = f.TENSORS + [2, -1.5, 0, -1, True, math.nan, "a", None]
    for name in ("xlog1py", "xlogy"):
        out[f"special.{name}"] = S([(f"ag.special.{name}", lambda L, a, b, nm=name: getattr(L.special, nm)(a, b))],
                                   operands, operands, base=(f.TENSORS[0], f.TENSORS[0]), msg=name)
    out["special.round"] = S([("ag.special.round", lambda L, a, d: L.special.round(a, decimals=d))],
                             f.TENSORS + f.JUNK[:1], [0, 1, -1, 1.5, "a", None], msg="round")
    out["special.logit"] = S([("ag.special.logit", lambda L, a, e: L.special.logit(a, e))],
                             f.TENSORS + f.JUNK[:1], [None, 0.1, 0, 0.6, -1, True, "a"], msg="logit")
    out["special.softmax"] = S([("ag.special.softmax", lambda L, a, d, dt: L.special.softmax(a, d, dtype=dt)),
                                ("ag.special.log_softmax",
                                 lambda L, a, d, dt: L.special.log_softmax(a, d, dtype=dt))],
                               f.TENSORS + f.JUNK[:1], f.DIM1, [None, D("float64"), D("float32"), D("int64"), "a"],
                               msg=("softmax", "log_softmax"))
    out["special.logsumexp"] = S([("ag.special.logsumexp", lambda L, a, d, k: L.special.logsumexp(a, d, k))],
                                 f.TENSORS + f.JUNK[:1], f.DIMS, f.BOOLS, msg="logsumexp")
    return out
