"""Fuzz specs (tests/test_fuzz_bad_input.py) of the ops in autograd_gpu/ops/gamma.py."""


def specs(f):
    """{op: f.S(...)}; `f` is the fuzz test module (its S, T, Lst, pools: TENSORS, DIM1, ...)."""
    S, T = f.S, f.T
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
    # igamma / igammac: two tensors (a number is a TypeError), no integer kernel, no gradient in a (an
    # error at backward: the fuzzer's gradient checks take the gradient of every input, so they are off)
    positive = [T("float32", (2, 3), data="ties"), T("float64", (3,), rg=True), T("float32", (), rg=True)]
    for name in ("igamma", "igammac"):
        out[name] = S([(f"ag.{name}", lambda L, a, x, n=name: getattr(L, n)(a, x)),
                       (f"Tensor.{name}", lambda L, a, x, n=name: getattr(a, n)(x)),
                       (f"Tensor.{name}_", lambda L, a, x, n=name: getattr(a.detach().clone(), n + "_")(x))],
                      positive + f.TENSORS + f.JUNK[:2], positive + f.TENSORS + f.NUMBERS[:2] + f.JUNK[:2],
                      msg=name, no_grad_check=True)
    for name, torch_name in (("gammainc", "igamma"), ("gammaincc", "igammac")):
        out[f"special.{name}"] = S([(f"special.{name}", lambda L, a, x, n=name: getattr(L.special, n)(a, x))],
                                   positive + f.TENSORS[:8] + f.JUNK[:1], positive + f.TENSORS[:8] + [2.0, "a"],
                                   msg=(name, torch_name), no_grad_check=True)
    out["special.zeta"] = S([("special.zeta", lambda L, x, q: L.special.zeta(x, q))],
                            [T("float64", (3,)), T("float32", (2, 3))] + f.TENSORS + f.NUMBERS[:4] + f.JUNK[:2],
                            [T("float64", (3,), rg=True)] + f.TENSORS + f.NUMBERS[:4] + f.JUNK[:2],
                            msg="zeta", no_grad_check=True)
    for name in ("gammaln", "digamma", "psi"):
        out[f"special.{name}"] = S([(f"special.{name}", lambda L, a, n=name: getattr(L.special, n)(a))],
                                   f.TENSORS + f.JUNK[:2], msg=name)
    out["special.polygamma"] = S([("special.polygamma", lambda L, n, a: L.special.polygamma(n, a))],
                                 orders, f.TENSORS[:8] + f.JUNK[:2], msg="polygamma")
    out["special.multigammaln"] = S([("special.multigammaln", lambda L, a, p: L.special.multigammaln(a, p))],
                                    f.TENSORS[:8] + f.JUNK[:2], [1, 2, 0, 1.5, True, "a"],
                                    msg="multigammaln")
    return out
