"""Fuzz specs (tests/test_fuzz_bad_input.py) of the ops in autograd_gpu/ops/gamma.py."""


def specs(f):
    """{op: f.S(...)}; `f` is the fuzz test module (its S, T, Lst, pools: TENSORS, DIM1, ...)."""
    S = f.S
    out = {name: S([(f"ag.{name}", lambda L, a, n=name: getattr(L, n)(a)),
                    (f"Tensor.{name}", lambda L, a, n=name: getattr(a, n)()),
                    (f"Tensor.{name}_", lambda L, a, n=name: getattr(a.detach().clone(), n + "_")())],
                   f.TENSORS + f.JUNK[:2], msg=name) for name in ("lgamma", "digamma")}
    orders = [0, 1, 2, 3, -1, 1.5, True, "a", None]
    out["polygamma"] = S([("ag.polygamma", lambda L, n, a: L.polygamma(n, a)),
                          ("Tensor.polygamma", lambda L, n, a: a.polygamma(n)),
                          ("Tensor.polygamma_", lambda L, n, a: a.detach().clone().polygamma_(n))],
                         orders, f.TENSORS + f.JUNK[:2], msg="polygamma")
    out["mvlgamma"] = S([("ag.mvlgamma", lambda L, a, p: L.mvlgamma(a, p)),
                         ("Tensor.mvlgamma", lambda L, a, p: a.mvlgamma(p)),
                         ("Tensor.mvlgamma_", lambda L, a, p: a.detach().clone().mvlgamma_(p))],
                        f.TENSORS + f.JUNK[:2], [1, 2, 3, 0, -1, 1.5, True, "a", None], msg="mvlgamma")
    return out
