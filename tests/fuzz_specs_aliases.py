"""Fuzz specs (tests/test_fuzz_bad_input.py) of the ops in autograd_gpu/ops/aliases.py."""


def specs(f):
    """{op: f.S(...)}; `f` is the fuzz test module (its S, T, Lst, pools: TENSORS, DIM1, ...)."""
    S, T = f.S, f.T
    INPLACE = ("absolute", "arccos", "arcsin", "arctan", "negative", "fix")
    BASE = {"absolute": "abs", "arccos": "acos", "arcsin": "asin", "arctan": "atan", "negative": "neg",
            "fix": "trunc", "adjoint": "mT"}
    ts = f.TENSORS + f.JUNK[:2]

    def unary(name, method=True, fn=True):
        forms = [(f"ag.{name}", lambda L, a: getattr(L, name)(a))] if fn else []
        if method:
            forms.append((f"Tensor.{name}", lambda L, a: getattr(a, name)()))
        if name in INPLACE:
            forms.append((f"Tensor.{name}_", lambda L, a: getattr(a.clone(), name + "_")()))
        return S(forms, ts, msg=(name, BASE.get(name, name)))

    def binary(name, msg):
        forms = [(f"ag.{name}", lambda L, a, b: getattr(L, name)(a, b)),
                 (f"Tensor.{name}", lambda L, a, b: getattr(a, name)(b))]
        if name in ("true_divide", "multiply"):
            forms.append((f"Tensor.{name}_", lambda L, a, b: getattr(a.clone(), name + "_")(b)))
        return S(forms, ts, f.OPERANDS[:24], msg=(name, msg))

    return {
        **{n: unary(n) for n in ("absolute", "arccos", "arcsin", "arctan", "negative", "positive", "fix", "adjoint")},
        "clip": S([("ag.clip", lambda L, a, lo, hi: L.clip(a, lo, hi)),
                   ("Tensor.clip", lambda L, a, lo, hi: a.clip(lo, hi)),
                   ("Tensor.clip_", lambda L, a, lo, hi: a.clone().clip_(lo, hi))], ts, [-0.5, None, 1, "a"], [0.5, None, 0], msg=("clip", "clamp")),
        "divide": S([("ag.divide", lambda L, a, b, r: L.divide(a, b, rounding_mode=r)),
                     ("Tensor.divide", lambda L, a, b, r: a.divide(b, rounding_mode=r)),
                     ("Tensor.divide_", lambda L, a, b, r: a.clone().divide_(b, rounding_mode=r))],
                    ts, f.OPERANDS[:24], [None, "trunc", "floor", "x", 3], msg=("divide", "div")),
        "true_divide": binary("true_divide", "div"), "multiply": binary("multiply", "mul"),
        "subtract": S([("ag.subtract", lambda L, a, b, al: L.subtract(a, b, alpha=al)),
                       ("Tensor.subtract", lambda L, a, b, al: a.subtract(b, alpha=al)),
                       ("Tensor.subtract_", lambda L, a, b, al: a.clone().subtract_(b, alpha=al))],
                      ts, f.OPERANDS[:24], [1, 2, 0.5, True], msg=("subtract", "sub")),
        **{n: binary(n, m) for n, m in (("greater", "gt"), ("greater_equal", "ge"), ("less", "lt"),
                                         ("less_equal", "le"), ("not_equal", "ne"))},
        "swapaxes/swapdims": S([("ag.swapaxes", lambda L, a, d0, d1: L.swapaxes(a, d0, d1)),
                                ("ag.swapdims", lambda L, a, d0, d1: L.swapdims(a, d0, d1))],
                               ts, f.DIM1, [0, -1, 3], msg=("swapaxes", "swapdims", "transpose")),
        "moveaxis": S([("ag.moveaxis", lambda L, a, s, d: L.moveaxis(a, s, d))], ts, f.DIM1, [0, -1, 3],
                      msg=("moveaxis", "movedim")),
        "concatenate": S([("ag.concatenate", lambda L, a, b, d: L.concatenate([a, b], d))],
                         ts, [T("float32", (2, 3)), T("int64", (2, 3)), T("float32", (3,)), "a"], f.DIM1, msg=("concatenate", "cat")),
        "mH/H": S([("Tensor.mH", lambda L, a: a.mH), ("Tensor.H", lambda L, a: a.H)], f.TENSORS,
                  msg=("mH", "H")),
        "type_as": S([("Tensor.type_as", lambda L, a, b: a.type_as(b))], f.TENSORS, f.TENSORS + f.JUNK[:2]),
        "sum_to_size": S([("Tensor.sum_to_size", lambda L, a, s: a.sum_to_size(s))], f.TENSORS,
                         [(1, 3), (3,), (2, 3), (), (2, 2), (1,), (-1,), "a", (1, 1, 3)]),
        "attributes": S([("Tensor.is_signed", lambda L, a: a.is_signed()),
                         ("Tensor.is_nonzero", lambda L, a: a.is_nonzero()),
                         ("Tensor.itemsize", lambda L, a: a.itemsize), ("Tensor.nbytes", lambda L, a: a.nbytes),
                         ("Tensor.is_cpu", lambda L, a: a.is_cpu),
                         ("Tensor.storage_offset", lambda L, a: a.storage_offset())], f.TENSORS,
                        msg="is_nonzero"),
        "is_same_size": S([("Tensor.is_same_size", lambda L, a, b: a.is_same_size(b))], f.TENSORS,
                          f.TENSORS + f.JUNK[:2]),
        "split_with_sizes": S([("ag.split_with_sizes", lambda L, a, s, d: L.split_with_sizes(a, s, d)),
                               ("Tensor.split_with_sizes", lambda L, a, s, d: a.split_with_sizes(s, d))],
                              ts, [[1, 1], [2, 1], [3], [1, 2, 0], [-1, 3], 2, "a"], f.DIM1,
                              msg=("split_with_sizes", "split")),
        "narrow_copy": S([("ag.narrow_copy", lambda L, a, d, s, n: L.narrow_copy(a, d, s, n)),
                          ("Tensor.narrow_copy", lambda L, a, d, s, n: a.narrow_copy(d, s, n))],
                         # (no dim past the end: PyTorch's internal assert is a RuntimeError, ours narrow's
                         # IndexError; no negative start: PyTorch's gradient is then zero, a bug; see
                         # test_ops_aliases.py::test_narrow_copy_divergences)
                         ts, [0, 1, -1, 1.5, "a", None], [0, 1, 5, 1.5], [1, 0, 2, -1, 5], msg=("narrow_copy", "narrow")),
        "scalar_tensor": S([("ag.scalar_tensor", lambda L, s, d: L.scalar_tensor(s, dtype=d))],
                           [2, 1.5, True, -3, "a", None, [1]], [None, f.D("float64"), f.D("int64"), f.D("bool")]),
    }
