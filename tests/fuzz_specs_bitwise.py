"""Fuzz specs (tests/test_fuzz_bad_input.py) of the ops in autograd_gpu/ops/bitwise.py."""


def _two(f, name, operands):
    """ag.<name>(a, b), a.<name>(b) and the in-place a.clone().<name>_(b)."""
    return f.S([(f"ag.{name}", lambda L, a, b: getattr(L, name)(a, b)),
                (f"Tensor.{name}", lambda L, a, b: getattr(a, name)(b)),
                (f"Tensor.{name}_", lambda L, a, b: getattr(a.detach().clone(), name + "_")(b))],
               f.TENSORS, operands, msg=name)


def specs(f):
    """{op: f.S(...)}; `f` is the fuzz test module (its S, T, Lst, pools: TENSORS, DIM1, ...)."""
    T = f.T
    ints = [T("int64", (2, 3)), T("int32", (3,)), T("bool", (2, 3)), T("int64", ())]
    numbers = [2, -1, 0, True, 1.5, 2 ** 70, "a", None]
    out = {name: _two(f, name, ints + f.TENSORS[:4] + numbers)
           for name in ("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift",
                        "fmod")}
    out.update({name: _two(f, name, ints + f.TENSORS[:4] + [2, "a", None])
                for name in ("gcd", "lcm", "ldexp", "nextafter")})
    out["bitwise_not"] = f.S([("ag.bitwise_not", lambda L, a: L.bitwise_not(a)),
                              ("Tensor.bitwise_not", lambda L, a: a.bitwise_not()),
                              ("Tensor.bitwise_not_", lambda L, a: a.detach().clone().bitwise_not_())],
                             f.TENSORS + f.JUNK[:2], msg="bitwise_not")
    out["frexp"] = f.S([("ag.frexp", lambda L, a: tuple(L.frexp(a))), ("Tensor.frexp", lambda L, a: tuple(a.frexp()))],
                       f.TENSORS + f.JUNK[:2], msg="frexp")
    return out
