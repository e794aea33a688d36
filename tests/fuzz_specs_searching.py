"""Fuzz specs (tests/test_fuzz_bad_input.py) of the ops in autograd_gpu/ops/searching.py."""
import math


def specs(f):
    """{op: f.S(...)}; `f` is the fuzz test module (its S, T, Lst, pools: TENSORS, DIM1, ...)."""
    S, T, D = f.S, f.T, f.D
    # Of equal values, kthvalue and mode may return another index than PyTorch's
    # (its quickselect / unstable sort; see test_ops_searching.py): the full
    # results are compared on distinct values, only the values on all inputs
    distinct = [t for t in f.TENSORS if t.dtype.startswith("float") and t.data == "randn" and t.form != "expanded"]
    no_nan = [t for t in f.TENSORS if t.data != "special"]
    ks = [1, 2, 0, 3, -1, 1.5, "a", None, True]
    seqs = [T("float32", (4,)), T("float64", (2, 3)), T("int64", (3,)), T("bool", (3,)), T("float32", ()),
            T("float32", (0,)), T("float64", (3,), data="special"), T("float16", (3,)), T("float32", (2, 0)),
            T("float32", (2, 3), rg=True), "a", None]
    values = f.TENSORS + [2, -1.5, True, math.nan, 2 ** 70, "a", None, [1, 2]]
    return {
        "argsort": S([("ag.argsort", lambda L, a, d, desc: L.argsort(a, d, desc)),
                      ("Tensor.argsort", lambda L, a, d, desc: a.argsort(d, descending=desc)),
                      ("ag.argsort(stable)", lambda L, a, d, desc: L.argsort(a, dim=d, descending=desc, stable=True))],
                     f.TENSORS + f.JUNK[:1], f.DIM1, f.BOOLS),
        "msort": S([("ag.msort", lambda L, a: L.msort(a)), ("Tensor.msort", lambda L, a: a.msort())],
                   f.TENSORS + f.JUNK[:2]),
        "nonzero": S([("ag.nonzero", lambda L, a, t: L.nonzero(a, as_tuple=t)),
                      ("Tensor.nonzero", lambda L, a, t: a.nonzero(as_tuple=t))], f.TENSORS + f.JUNK[:1], f.BOOLS),
        "argwhere": S([("ag.argwhere", lambda L, a: L.argwhere(a)), ("Tensor.argwhere", lambda L, a: a.argwhere())],
                      f.TENSORS + f.JUNK[:2]),
        "searchsorted": S([("ag.searchsorted", lambda L, s, v, r, side: L.searchsorted(s, v, right=r, side=side)),
                           ("ag.searchsorted(out_int32)",
                            lambda L, s, v, r, side: L.searchsorted(s, v, out_int32=True, right=r, side=side))],
                          seqs, values, [False, True, 1, None], [None, "left", "right", "x", 3]),
        "searchsorted(sorter)": S([("ag.searchsorted(sorter)",
                                    lambda L, s, v, o: L.searchsorted(s, v, sorter=o))],
                                  [T("float32", (3,)), T("float64", (2, 3)), T("int64", (3,))],
                                  [T("float32", (2,)), T("float32", (2, 3)), 1.5],
                                  [T("int64", (3,), data="index"), T("int64", (2, 3), data="index"),
                                   T("int32", (3,), data="index"), T("int64", (4,), data="index"), T("float32", (3,)),
                                   T("int64", (3,)), "a", [0, 1, 2]], msg="searchsorted"),
        "bucketize": S([("ag.bucketize", lambda L, v, b, r: L.bucketize(v, b, right=r)),
                        ("ag.bucketize(out_int32)", lambda L, v, b, r: L.bucketize(v, b, out_int32=True, right=r))],
                       values, seqs, [False, True, 1, None]),
        "bincount": S([("ag.bincount", lambda L, a, w, m: L.bincount(a, w, minlength=m)),
                       ("Tensor.bincount", lambda L, a, w, m: a.bincount(weights=w, minlength=m))],
                      [T("int64", (4,), data="index"), T("int32", (4,), data="index"), T("int64", (4,)),
                       T("int64", ()), T("int64", (2, 2), data="index"), T("int64", (0,)), T("float32", (4,)),
                       T("bool", (4,)), "a", None],
                      [None, T("float32", (4,), rg=True), T("float64", (4,), rg=True, form="nonleaf"),
                       T("float16", (4,)), T("int64", (4,)), T("bool", (4,)), T("float32", (3,)), T("float32", (2, 2)),
                       T("float32", (0,)), 2, "a"],
                      [0, 5, -1, 1.5, True, None, 2 ** 70]),
        "histc": S([("ag.histc", lambda L, a, b, lo, hi: L.histc(a, b, lo, hi)),
                    ("Tensor.histc", lambda L, a, b, lo, hi: a.histc(bins=b, min=lo, max=hi))],
                   f.TENSORS + f.JUNK[:1], [4, 1, 0, -1, 2.5, "a", None, True],
                   [0, -1.5, 1, True, math.nan, -math.inf, "a"], [0, 2, 1.5, -3, math.inf, None]),
        "kthvalue": S([("ag.kthvalue", lambda L, a, k, d, kd: tuple(L.kthvalue(a, k, d, kd))),
                       ("Tensor.kthvalue", lambda L, a, k, d, kd: tuple(a.kthvalue(k, dim=d, keepdim=kd)))],
                      distinct + f.JUNK[:1], ks, f.DIM1, f.BOOLS),
        "kthvalue(ties)": S([("ag.kthvalue(values)", lambda L, a, k, d: L.kthvalue(a, k, d).values)],
                            f.TENSORS, ks, f.DIM1, msg="kthvalue", no_grad_check=True),
        "mode": S([("ag.mode", lambda L, a, d, kd: tuple(L.mode(a, d, kd))),
                   ("Tensor.mode", lambda L, a, d, kd: tuple(a.mode(dim=d, keepdim=kd)))],
                  distinct + [T("int64", (2, 3)), T("bool", (2, 3)), T("float64", (3, 3), data="ties", rg=True)]
                  + f.JUNK[:1], f.DIM1, f.BOOLS),
        # (no NaN: PyTorch's mode sorts with NaN compared as unordered, its result then depends on the order)
        "mode(ties)": S([("Tensor.mode(values)", lambda L, a, d: a.mode(d).values)], no_nan, f.DIM1, msg="mode",
                        no_grad_check=True),
        "isin": S([("ag.isin", lambda L, e, t, i: L.isin(e, t, invert=i)),
                   ("ag.isin(assume_unique)", lambda L, e, t, i: L.isin(e, t, assume_unique=True, invert=i))],
                  f.TENSORS + [2, 1.5, True, "a", None],
                  [T("float32", (2, 3)), T("float32", (3,)), T("int64", (2,)), T("int64", (2, 3)), T("float64", ()),
                   T("bool", (2,)), T("float32", (0,)), T("float64", (2, 3), data="special"), 2, -1.5, True, math.nan,
                   "a", None], [False, True, 1, None]),
        "tril_indices/triu_indices": S(
            [("ag.tril_indices", lambda L, r, c, o, dt: L.tril_indices(r, c, o, dtype=dt)),
             ("ag.triu_indices", lambda L, r, c, o, dt: L.triu_indices(r, c, o, dtype=dt))],
            [3, 0, 1, -1, 2.5, True, "a", None], [4, 0, 2, -2, None], [0, 1, -1, 10, -10, 1.5, None],
            [None, D("int32"), D("int64"), D("float32"), D("bool"), "nope"], msg=("tril_indices", "triu_indices")),
        "unique_consecutive": S([("ag.unique_consecutive", lambda L, a, ri, rc, d:
                                  L.unique_consecutive(a, return_inverse=ri, return_counts=rc, dim=d)),
                                 ("Tensor.unique_consecutive", lambda L, a, ri, rc, d:
                                  a.unique_consecutive(return_inverse=ri, return_counts=rc, dim=d))],
                                f.TENSORS + f.JUNK[:1], f.BOOLS, f.BOOLS, [None] + f.DIM1, no_grad_check=True),
    }
