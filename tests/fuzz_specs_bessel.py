"""Fuzz specs (tests/test_fuzz_bad_input.py) of the ops in autograd_gpu/ops/bessel.py."""

SPECIAL_NAMES = ("i0e", "i1", "i1e", "modified_bessel_i0", "modified_bessel_i1", "modified_bessel_k0",
                 "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "bessel_j0",
                 "bessel_j1", "bessel_y0", "bessel_y1", "spherical_bessel_j0", "airy_ai")


def specs(f):
    """{op: f.S(...)}; `f` is the fuzz test module (its S, T, Lst, pools: TENSORS, DIM1, ...)."""
    S = f.S
    out = {"i0": S([("ag.i0", lambda L, a: L.i0(a)), ("ag.special.i0", lambda L, a: L.special.i0(a)),
                    ("Tensor.i0", lambda L, a: a.i0()),
                    ("Tensor.i0_", lambda L, a: a.detach().clone().i0_())], f.TENSORS + f.JUNK[:3], msg="i0")}
    for name in SPECIAL_NAMES:
        # (PyTorch's float64 Ai is off by up to 3e-6 near -2.1, beyond the fuzz's tolerance: its values are
        # compared in tests/test_ops_bessel.py with that error allowed; here dtype, shape and errors)
        out[f"special.{name}"] = S([(f"ag.special.{name}", lambda L, a, n=name: getattr(L.special, n)(a))],
                                   f.TENSORS + f.JUNK[:3], msg=name, random_values=name == "airy_ai")
    return out
