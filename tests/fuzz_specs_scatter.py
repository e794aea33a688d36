"""Fuzz specs (tests/test_fuzz_bad_input.py) of the later indexed writes in autograd_gpu/ops/scatter.py
(scatter, scatter_add and index_add have theirs in test_fuzz_bad_input.py itself)."""
import math


def specs(f):
    """{op: f.S(...)}; `f` is the fuzz test module (its S, T, Lst, pools: TENSORS, DIM1, ...)."""
    S, T, Lst = f.S, f.T, f.Lst
    inputs = [T("float32", (2, 3), rg=True)] + f.TENSORS[:10] + [T("int64", (2, 3)), T("bool", (2, 3))]
    vectors = [T("int64", (2,), data="index"), T("int64", ()), T("int32", (2,), data="index"), T("int64", (2, 2)),
               T("int64", (3,)), T("int64", (0,)), T("float32", (2,)), "a", None]
    sources = [T("float32", (2, 2), rg=True), T("float32", (2, 3)), T("float64", (2, 2)), T("float32", (2,)),
               T("float32", ()), T("int64", (2, 2)), 1.5, "a", None]
    grids = [T("int64", (2, 2), data="index"), T("int64", (2, 3)), T("int32", (1, 3)), T("int64", ()),
             T("int64", (0,)), T("float32", (2, 2)), "a", None]
    reduces = ["sum", "prod", "mean", "amax", "amin", "add", 1, None]
    return {
        "index_fill": S([("ag.index_fill", lambda L, a, d, i, v: L.index_fill(a, d, i, v)),
                         ("Tensor.index_fill", lambda L, a, d, i, v: a.index_fill(d, i, v)),
                         ("Tensor.index_fill_", lambda L, a, d, i, v: a.clone().index_fill_(d, i, v))],
                        inputs, f.DIM1, vectors, [1.5, -1, True, math.nan, 2 ** 70, T("float64", (), rg=True),
                                                  T("float32", (2,)), T("int64", ()), "a", None]),
        "index_copy": S([("ag.index_copy", lambda L, a, d, i, s: L.index_copy(a, d, i, s)),
                         ("Tensor.index_copy", lambda L, a, d, i, s: a.index_copy(d, i, s)),
                         ("Tensor.index_copy_", lambda L, a, d, i, s: a.clone().index_copy_(d, i, s))],
                        inputs, f.DIM1, vectors, sources),
        "index_put": S([("ag.index_put", lambda L, a, i, v, acc: L.index_put(a, i, v, acc)),
                        ("Tensor.index_put", lambda L, a, i, v, acc: a.index_put(i, v, accumulate=acc)),
                        ("Tensor.index_put_", lambda L, a, i, v, acc: a.clone().index_put_(i, v, acc))],
                       inputs, [Lst(T("int64", (2,), data="index")), Lst(T("int64", (2,), data="index"),
                                                                           T("int64", (2,), data="index")),
                                Lst(T("bool", (2, 3))), Lst(T("int64", (3,))), Lst(T("float32", (2,))), Lst(),
                                T("int64", (2,)), Lst(None), "a"],
                       [T("float32", (), rg=True), T("float32", (3,)), T("float64", ()), T("float32", (2, 3)),
                        T("float32", (1, 1, 3)), 1.5, None], [False, True, 1, None]),
        "masked_scatter": S([("ag.masked_scatter", lambda L, a, m, s: L.masked_scatter(a, m, s)),
                             ("Tensor.masked_scatter", lambda L, a, m, s: a.masked_scatter(m, s)),
                             ("Tensor.masked_scatter_", lambda L, a, m, s: a.clone().masked_scatter_(m, s))],
                            inputs, [T("bool", (2, 3)), T("bool", (3,)), T("bool", ()), T("bool", (4, 2, 3)),
                                     T("int64", (2, 3)), T("bool", (0,)), "a", None],
                            [T("float32", (6,), rg=True), T("float32", (2, 3)), T("float32", (2,)),
                             T("float64", (6,)), T("float32", ()), 1.5, None]),
        "put": S([("ag.put", lambda L, a, i, s, acc: L.put(a, i, s, acc)),
                  ("Tensor.put", lambda L, a, i, s, acc: a.put(i, s, accumulate=acc)),
                  ("Tensor.put_", lambda L, a, i, s, acc: a.clone().put_(i, s, acc))],
                 inputs, [T("int64", (2,), data="index"), T("int64", (2,)), T("int32", (2,), data="index"),
                          T("int64", (2, 1), data="index"), T("int64", (0,)), T("float32", (2,)), "a", None],
                 [T("float32", (2,), rg=True), T("float32", (2, 1)), T("float32", (3,)), T("float64", (2,)),
                  T("float32", (0,)), 1.5, None], [False, True, None]),
        "scatter_reduce": S([("ag.scatter_reduce", lambda L, a, d, i, s, r, inc:
                              L.scatter_reduce(a, d, i, s, r, include_self=inc)),
                             ("Tensor.scatter_reduce", lambda L, a, d, i, s, r, inc:
                              a.scatter_reduce(d, i, s, reduce=r, include_self=inc)),
                             ("Tensor.scatter_reduce_", lambda L, a, d, i, s, r, inc:
                              a.clone().scatter_reduce_(d, i, s, r, include_self=inc))],
                            inputs, f.DIM1, grids, sources[:-3] + ["a", None], reduces, [True, False, None]),
        "index_reduce": S([("ag.index_reduce", lambda L, a, d, i, s, r, inc:
                            L.index_reduce(a, d, i, s, r, include_self=inc)),
                           ("Tensor.index_reduce", lambda L, a, d, i, s, r, inc:
                            a.index_reduce(d, i, s, r, include_self=inc)),
                           ("Tensor.index_reduce_", lambda L, a, d, i, s, r, inc:
                            a.clone().index_reduce_(d, i, s, reduce=r, include_self=inc))],
                          inputs, f.DIM1, vectors, sources, reduces[1:], [True, False, None]),
    }
