"""Fuzz specs (tests/test_fuzz_bad_input.py) of the ops in autograd_gpu/ops/constructions.py."""


def specs(f):
    """{op: f.S(...)}; `f` is the fuzz test module (its S, T, Lst, pools: TENSORS, DIM1, ...)."""
    S, T, D = f.S, f.T, f.D
    ts = f.TENSORS + f.JUNK[:2]
    vecs = [T("float32", (3,), rg=True), T("float64", (2,)), T("int64", (3,)), T("float32", ()), T("float32", (0,)),
            T("float32", (2, 2)), T("bool", (2,)), "a"]
    def _rng(r):
        return {} if r is None else {"range": r}

    return {
        "meshgrid": S([("ag.meshgrid", lambda L, a, b, i: L.meshgrid(a, b, indexing=i))], vecs, vecs,
                      ["ij", "xy", "ab"]),
        "cartesian_prod": S([("ag.cartesian_prod", lambda L, a, b: L.cartesian_prod(a, b))], vecs, vecs,
                            msg=("cartesian_prod", "meshgrid")),
        "combinations": S([("ag.combinations", lambda L, a, r, w: L.combinations(a, r, w))], vecs + ts[:4],
                          [2, 0, 1, 3, 4, -1, 1.5, "a"], [False, True]),
        "block_diag": S([("ag.block_diag", lambda L, a, b: L.block_diag(a, b))], ts, vecs),
        "diagflat": S([("ag.diagflat", lambda L, a, o: L.diagflat(a, o)), ("Tensor.diagflat", lambda L, a, o: a.diagflat(o))],
                      ts, [0, 1, -2, 1.5, "a"]),
        "cov": S([("ag.cov", lambda L, a, c, fw, aw: L.cov(a, correction=c, fweights=fw, aweights=aw)),
                  ("Tensor.cov", lambda L, a, c, fw, aw: a.cov(correction=c, fweights=fw, aweights=aw))],
                 [T("float64", (2, 3), rg=True)] + ts, [1, 0, 2, 0.5, "a"],
                 [None, T("int64", (3,), data="index"), T("float32", (3,)), T("int64", (2,)), T("int64", (3,))],
                 [None, T("float64", (3,), data="index"), T("int64", (3,)), T("float64", (2,)), T("float64", (3,))]),
        "corrcoef": S([("ag.corrcoef", lambda L, a: L.corrcoef(a)), ("Tensor.corrcoef", lambda L, a: a.corrcoef())], ts,
                      msg=("corrcoef", "cov")),
        "trapezoid/trapz": S([("ag.trapezoid", lambda L, y, x, d: L.trapezoid(y, x, dim=d)),
                              ("ag.trapz", lambda L, y, x, d: L.trapz(y, x, dim=d)),
                              ("ag.cumulative_trapezoid", lambda L, y, x, d: L.cumulative_trapezoid(y, x, dim=d))],
                             ts, [T("float64", (3,)), T("float32", (3, 2)), T("int64", (2,)), "a"], f.DIM1,
                             msg=("trapezoid", "cumulative_trapezoid")),
        "trapezoid(dx)": S([("ag.trapezoid(dx)", lambda L, y, dx: L.trapezoid(y, dx=dx))], ts, [1, 0.5, -2, "a", None],
                           msg="trapezoid"),
        "logspace": S([("ag.logspace", lambda L, a, b, n, base, dt: L.logspace(a, b, n, base, dtype=dt))],
                      [0, -1.5, "a"], [2, 3.0, None], [3, 0, 1, -1, 1.5], [10.0, 2, 0.5, "a"],
                      [None, D("float64"), D("int64"), D("float16")], random_values=False,
                      base=None),
        "range": S([("ag.range", lambda L, a, b, s: L.range(a, b, s))], [0, 1.5, "a"], [3, 0, -2, 2.5, None],
                   [1, 0.5, 0, -1, "a"]),
        "unravel_index": S([("ag.unravel_index", lambda L, i, s: L.unravel_index(i, s))],
                           [T("int64", (3,), data="index"), T("int64", ()), T("float32", (2,)), T("int32", (2,), data="index"),
                            T("int64", (2, 3)), "a"], [(2, 3), 6, (), (2, -3), (0,), "a", (1.5,)]),
        "chain_matmul": S([("ag.chain_matmul", lambda L, a, b: L.chain_matmul(a, b))],
                          [T("float32", (2, 3), rg=True), T("float64", (3, 3)), T("float32", (3,)), "a"],
                          [T("float32", (3, 2)), T("float64", (3, 3)), T("float32", (2, 2)), T("int64", (3, 2)), "a"],
                          msg=("chain_matmul", "mm")),
        "renorm": S([("ag.renorm", lambda L, a, p, d, m: L.renorm(a, p, d, m)),
                     ("Tensor.renorm", lambda L, a, p, d, m: a.renorm(p, d, m)),
                     ("Tensor.renorm_", lambda L, a, p, d, m: a.clone().renorm_(p, d, m))], ts, [2, 1, 0, -1, 3.5, "a"],
                    f.DIM1, [1.0, 0, -1, 5, "a"]),
        # (range only when given: PyTorch's parser refuses range=None next to a tensor of bins)
        "histogram": S([("ag.histogram", lambda L, a, b, r, dens: tuple(L.histogram(a, b, density=dens, **_rng(r)))),
                        ("Tensor.histogram",
                         lambda L, a, b, r, dens: tuple(a.histogram(b, density=dens, **_rng(r))))],
                       ts, [3, 1, 0, -1, T("float32", (3,)), T("float64", (2, 2)), "a"],
                       [None, (0.0, 1.0), (1.0, 0.0), (0.0, float("inf"))], [False, True], no_grad_check=True),
        "unfold": S([("Tensor.unfold", lambda L, a, d, s, st: a.unfold(d, s, st))], ts, f.DIM1, [2, 0, 1, 5, -1, 1.5],
                    [1, 2, 0, -1, "a"]),
        # (keyed apart from test_fuzz_bad_input's "unflatten", Tensor.unflatten's spec)
        "ag.unflatten": S([("ag.unflatten", lambda L, a, d, s: L.unflatten(a, d, s))], ts, f.DIM1,
                          [(2, -1), (1, 3), (3, 1), (-1, -1), (4,), "a", 2], msg=("unflatten",)),
    }
