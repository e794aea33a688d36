"""Fuzz specs (tests/test_fuzz_bad_input.py) of the ops in autograd_gpu/ops/sampling.py.
The draws differ from PyTorch's: only shapes, dtypes and errors are compared (random_values)."""
import math


def specs(f):
    """{op: f.S(...)}; `f` is the fuzz test module (its S, T, Lst, pools: TENSORS, DIM1, ...)."""
    S, T, D = f.S, f.T, f.D
    probs = [T("float32", (2, 3), data="index"), T("float64", (3,), data="index", rg=True),
             T("float16", (2,), data="index"),
             T("float32", (0,)), T("float32", ()), T("int64", (2, 3), data="index"), T("bool", (2,)),
             T("float32", (2, 3)), T("float64", (2, 3), data="special"), "a", None]
    weights = [T("float64", (2, 3), data="ties"), T("float32", (4,), data="ties", rg=True),
               T("float16", (3,), data="ties"), T("float32", (0, 3)), T("float32", (2, 0)), T("float32", ()),
               T("float32", (2, 2, 2), data="ties"), T("int64", (3,), data="index"), T("float32", (3,)),
               T("float64", (2, 3), data="special"), T("float32", (3,), data="index"), "a"]
    ip = [T("float32", (2, 3))] + f.IP_TENSORS
    numbers = [0.5, 0, 1, -0.5, 1.5, math.nan, math.inf, "a", None]
    return {
        "bernoulli": S([("ag.bernoulli", lambda L, a: L.bernoulli(a)),
                        ("Tensor.bernoulli", lambda L, a: a.bernoulli())],
                       probs, random_values=True),
        "bernoulli(p)": S([("ag.bernoulli(p)", lambda L, a, p: L.bernoulli(a, p)),
                           ("Tensor.bernoulli(p)", lambda L, a, p: a.bernoulli(p))],
                          f.TENSORS + ["a"], numbers + [T("float32", (3,))], random_values=True, msg="bernoulli"),
        "bernoulli_": S([("Tensor.bernoulli_", lambda L, a, p: a.bernoulli_(p))], ip,
                        numbers + [T("float32", (3,), data="index"), T("float32", (2, 3), data="index"),
                                   T("float32", (4,), data="index"), T("int64", (3,), data="index"),
                                   T("float32", (3,))], random_values=True),
        "multinomial": S([("ag.multinomial", lambda L, a, n, r: L.multinomial(a, n, r)),
                          ("Tensor.multinomial", lambda L, a, n, r: a.multinomial(n, replacement=r))],
                         weights, [2, 1, 3, 5, 0, -1, 1.5, "a", None], [False, True, 1, None], random_values=True),
        "normal": S([("ag.normal", lambda L, m, s: L.normal(m, s))],
                    [T("float32", (2, 3), rg=True), 0.5, T("float64", (3,), rg=True), T("float16", (3,)),
                     T("int64", (3,)), T("bool", (3,)), T("float32", (0,)), T("float32", ()), T("float32", (4,)),
                     T("float64", (2, 3), data="special"), math.nan, "a", None],
                    [1.5, T("float32", (3,), data="index", rg=True), T("float64", (2, 3), data="index"),
                     T("int64", (3,), data="index"), T("float32", (3,)), T("float32", (4,)), 0, -1.0, math.nan,
                     math.inf, "a", None], random_values=True),
        "normal(size)": S([("ag.normal(size)", lambda L, m, s, size, dt: L.normal(m, s, size, dtype=dt))],
                          [0.0, -2, math.nan, "a"], [1.0, 0, -1.0, math.nan],
                          [(2, 3), (0,), (), (-1,), "a", (2.5,), 3], [None, D("float64"), D("float16"), D("int64"),
                                                                       D("bool"), "nope"],
                          random_values=True, msg="normal"),
        "poisson": S([("ag.poisson", lambda L, a: L.poisson(a))],
                     [t for t in f.TENSORS if t.data != "randn" or t.dtype in ("int64", "int32", "bool")]
                     + [T("float32", (2, 3), data="index"), T("float64", (3,), data="ties", rg=True), "a", None],
                     random_values=True),
        "randint_like": S([("ag.randint_like", lambda L, a, lo, hi: L.randint_like(a, lo, hi)),
                           ("ag.randint_like(high)", lambda L, a, lo, hi: L.randint_like(a, hi))],
                          f.TENSORS + ["a"], [0, -3, 2, 1.5, "a"], [5, 2, 0, -1, 300, 2 ** 40, 1.5, "a"],
                          random_values=True),
        "randint_like(dtype)": S([("ag.randint_like(dtype)", lambda L, a, hi, dt: L.randint_like(a, hi, dtype=dt))],
                                 [T("float32", (2, 3)), T("int64", (3,))], [5, 2, 300, 2 ** 40],
                                 [D("int32"), D("bool"), D("float16"), D("float64"), None, "nope"],
                                 random_values=True, msg="randint_like"),
        "random_": S([("Tensor.random_", lambda L, a, lo, hi: a.random_(lo, hi)),
                      ("Tensor.random_(to)", lambda L, a, lo, hi: a.random_(hi if hi is not None else 3)),
                      ("Tensor.random_()", lambda L, a, lo, hi: a.random_())],
                     ip, [0, -3, 2, 1.5, "a"], [5, None, 2, 0, -1, 2 ** 40, 1.5, "a"], random_values=True),
        "exponential_": S([("Tensor.exponential_", lambda L, a, v: a.exponential_(v))], ip,
                          [1.0, 2, 0, -1.0, math.nan, math.inf, "a", None], random_values=True),
        "geometric_": S([("Tensor.geometric_", lambda L, a, v: a.geometric_(v))], ip,
                        [0.3, 0, 1, 1.5, -0.5, math.nan, "a", None], random_values=True),
        "cauchy_/log_normal_": S([("Tensor.cauchy_", lambda L, a, m, s: a.cauchy_(m, s)),
                                  ("Tensor.log_normal_", lambda L, a, m, s: a.log_normal_(m, s))],
                                 ip, [0.0, 1, -2.5, math.nan, "a"], [1.0, 2, 0, -1.0, math.nan, math.inf, "a", None],
                                 random_values=True, msg=("cauchy_", "log_normal_")),
    }
