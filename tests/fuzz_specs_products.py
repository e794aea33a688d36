"""Fuzz specs (tests/test_fuzz_bad_input.py) of the ops in autograd_gpu/ops/products.py."""
import math

import numpy as np

# beta and alpha of the fused forms: 0 (input or product not read), floats for
# integer results, bools, out of every range, not numbers
SCALARS = [1, 0, 0.5, -2, True, False, math.nan, math.inf, 2 ** 40, 2 ** 70, np.float32(2.5), "a", None]


def _fused(f, name, shapes, int_base=False):
    """name(input, a, b, beta=, alpha=) as a function and a method; the base call
    is valid (float32 operands, or int64 ones with `int_base`)."""
    dt = "int64" if int_base else "float32"
    base = [f.T(dt, s, rg=not int_base) for s in shapes]
    forms = [(f"ag.{name}", lambda L, x, a, b, be, al: getattr(L, name)(x, a, b, beta=be, alpha=al)),
             (f"Tensor.{name}", lambda L, x, a, b, be, al: getattr(x, name)(a, b, beta=be, alpha=al)),
             (f"Tensor.{name}_", lambda L, x, a, b, be, al: getattr(x.clone(), name + "_")(a, b, beta=be, alpha=al))]
    special = [f.T("float64", s, data="special", rg=True) for s in shapes]
    pools = [[t, s] + f.TENSORS + f.JUNK[:2] for t, s in zip(base, special)]
    return f.S(forms, *pools, SCALARS, SCALARS, msg=name)


def _pair(name, fn=True, method=True, alias=None):
    forms = []
    for n in (name,) + ((alias,) if alias else ()):
        if fn:
            forms.append((f"ag.{n}", lambda L, a, b, n=n: getattr(L, n)(a, b)))
        if method:
            forms.append((f"Tensor.{n}", lambda L, a, b, n=n: getattr(a, n)(b)))
    return forms


def specs(f):
    """{op: f.S(...)}; `f` is the fuzz test module (its S, T, Lst, pools: TENSORS, DIM1, ...)."""
    T, TENSORS, JUNK = f.T, f.TENSORS, f.JUNK
    others = TENSORS + JUNK[:3] + [2]
    finite = [t for t in TENSORS if t.data != "special"]
    mm_shapes = {"addmm": [(2, 2), (2, 3), (3, 2)], "addmv": [(2,), (2, 3), (3,)], "addr": [(2, 3), (2,), (3,)],
                 "baddbmm": [(2, 2, 2), (2, 2, 3), (2, 3, 2)], "addbmm": [(2, 2), (2, 2, 3), (2, 3, 2)]}
    out = {}
    for name, shapes in mm_shapes.items():
        out[name] = _fused(f, name, shapes)
        out[f"{name}(int)"] = _fused(f, name, shapes, int_base=True)
    out["addr(bool)"] = f.S(out["addr"]["names"], [T("bool", (2, 3)), T("int32", (2, 3))], [T("bool", (2,))],
                            [T("bool", (3,)), T("float32", (3,))], SCALARS, SCALARS, msg="addr")
    out.update({
        "outer": f.S(_pair("outer", alias="ger"), [TENSORS[1]] + TENSORS, [T("float32", (3,))] + others,
                     msg="outer"),
        "inner": f.S(_pair("inner"), TENSORS, TENSORS + [T("float32", (4, 3), rg=True)] + JUNK[:2] + [2]),
        "vdot": f.S(_pair("vdot"), TENSORS, TENSORS + JUNK[:2], base=(TENSORS[1], TENSORS[1])),
        # (no transposed views: PyTorch's kron raises on them, a bug; tests/test_ops_products.py pins ours)
        "kron": f.S(_pair("kron"), [t for t in TENSORS if t.form != "view"],
                    [t for t in others if getattr(t, "form", None) != "view"]),
        "tensordot": f.S([("ag.tensordot", lambda L, a, b, d: L.tensordot(a, b, d)),
                          ("ag.tensordot(dims=)", lambda L, a, b, d: L.tensordot(a, b, dims=d))],
                         [T("float32", (2, 3), rg=True)] + TENSORS + JUNK[:1],
                         [T("float32", (3, 2), rg=True), T("float32", (3, 2), rg=True, form="view")] + TENSORS,
                         [1, 0, 2, -1, 3, True, 1.5, "a", None, ([1], [0]), [[1], [0]], ([0], [0]), ([1], [0, 1]),
                          [1, 0], ([1, 1], [0, 0]), ([2], [0]), ([-1], [-2]), ([1.0], [0]), [[0], [0], [1]],
                          ((), ()), T("int64", ()), T("int64", (2, 1), data="index"), T("int64", (2,))]),
        "cross": f.S([("ag.cross", lambda L, a, b, d: L.cross(a, b, dim=d)),
                      ("Tensor.cross", lambda L, a, b, d: a.cross(b, d))],
                     [T("float32", (2, 3), rg=True), T("float64", (3, 3), data="special", rg=True)] + TENSORS,
                     [T("float32", (2, 3), rg=True), T("float32", (1, 3), rg=True), T("float64", (3, 3), rg=True),
                      T("int64", (2, 3))] + TENSORS + JUNK[:2],
                     [1, None, 0, -1, 2, -3, 1.5, "a", True, np.int64(1)]),
        "dist": f.S([("ag.dist", lambda L, a, b, p: L.dist(a, b, p)), ("Tensor.dist", lambda L, a, b, p: a.dist(b, p))],
                    TENSORS, TENSORS + JUNK[:2] + [2],
                    [2, 0, 1, 3, -1, 0.5, math.inf, -math.inf, True, "a", None, T("float32", ()), "fro"],
                    base=(TENSORS[0], TENSORS[1], 2)),
        # (no NaN data: PyTorch's cdist backward for p=1 gives NaN where a difference is, ours 0;
        # tests/test_ops_products.py pins ours)
        "cdist": f.S([("ag.cdist", lambda L, a, b, p, m: L.cdist(a, b, p, compute_mode=m))],
                     [T("float32", (2, 3), rg=True), T("float64", (2, 2, 3), rg=True)] + finite,
                     [T("float32", (4, 3), rg=True), T("float64", (1, 4, 3), rg=True)] + finite + JUNK[:2],
                     [2.0, 0, 1, 3, 0.5, math.inf, -1, math.nan, True, "a", None],
                     ["use_mm_for_euclid_dist_if_necessary", "donot_use_mm_for_euclid_dist", "zz", None]),
    })
    return out
