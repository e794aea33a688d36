"""Fuzz specs (tests/test_fuzz_bad_input.py) of the ops in autograd_gpu/ops/statistics.py."""
import math


def _forms(name, call, method=True):
    """[(ag.name, call(L.name)), (Tensor.name, call(bound method))]: call(fn, a, *rest)."""
    forms = [(f"ag.{name}", lambda L, a, *r: call(getattr(L, name), a, *r))]
    if method:
        forms.append((f"Tensor.{name}", lambda L, a, *r: call(lambda x, *s, **k: getattr(x, name)(*s, **k), a, *r)))
    return forms


def specs(f):
    """{op: f.S(...)}; `f` is the fuzz test module (its S, T, Lst, pools: TENSORS, DIM1, ...)."""
    T = f.T
    qs = [0.5, 0, 1, 1.5, -0.1, math.nan, True, "a", None, T("float32", (2,)), T("float32", ()),
          T("float64", (3,)), T("float32", (2, 2)), T("int64", (2,)), T("float32", (0,))]
    interp = ["linear", "lower", "higher", "midpoint", "nearest", "cubic", 1, None]
    nan_rows = T("float32", (3, 4), data="special", rg=True)
    # PyTorch's nanmedian(dim) reads an expanded (stride 0) input wrongly (tests/test_ops_statistics.py
    # pins it); its var_mean/std_mean mean of infinities is its Welford pass's NaN, and its var
    # gradient over dim=() is that of no dims (the same pins; the harness excuses dim=() for var/std)
    contiguous = [t for t in f.TENSORS if t.form != "expanded"]
    finite = [t for t in f.TENSORS if t.data != "special"]
    cum_tensors = f.TENSORS + [T("float64", (2, 5), data="special", rg=True), T("float64", (4, 3), rg=True)]
    return {
        "nansum": f.S(_forms("nansum", lambda fn, a, d, k, dt: fn(a, d, k, dtype=dt)),
                      f.TENSORS + f.JUNK[:1], f.DIMS, f.BOOLS, f.DTYPES[:6] + [None]),
        "nanmean": f.S(_forms("nanmean", lambda fn, a, d, k, dt: fn(a, d, k, dtype=dt)),
                       f.TENSORS + f.JUNK[:1], f.DIMS, f.BOOLS, [None] + f.DTYPES[:6]),
        "nanmedian": f.S(_forms("nanmedian", lambda fn, a, d, k: tuple(fn(a, d, k)) if d is not None else fn(a)),
                         contiguous + [nan_rows] + f.JUNK[:1], f.DIM1, f.BOOLS),
        **{name: f.S(_forms(name, lambda fn, a, q, d, k, i: fn(a, q, d, k, interpolation=i)),
                     f.TENSORS + [nan_rows] + f.JUNK[:1], qs, f.DIM1, f.BOOLS, interp,
                     base=(f.TENSORS[0], 0.5, None, False, "linear"))
           for name in ("quantile", "nanquantile")},
        **{name: f.S(_forms(name, lambda fn, a, d, u, k: fn(a, d, unbiased=u, keepdim=k), method=False)
                     + [(f"ag.{name}(correction)", lambda L, a, d, u, k, n=name: getattr(L, n)(
                         a, d, correction=u, keepdim=k))],
                     finite + f.JUNK[:1], [d for d in f.DIMS if d != ()], [True, False, 0, 2, "a"], f.BOOLS[:3],
                     msg=name)
           for name in ("var_mean", "std_mean")},
        "aminmax": f.S(_forms("aminmax", lambda fn, a, d, k: tuple(fn(a, dim=d, keepdim=k))),
                       f.TENSORS + f.JUNK[:1], f.DIM1, f.BOOLS),
        "count_nonzero": f.S(_forms("count_nonzero", lambda fn, a, d: fn(a, d)), f.TENSORS + f.JUNK[:1], f.DIMS),
        "cumprod": f.S(_forms("cumprod", lambda fn, a, d, dt: fn(a, d, dtype=dt))
                       + [("Tensor.cumprod_", lambda L, a, d, dt: a.clone().cumprod_(d, dtype=dt))],
                       cum_tensors + f.JUNK[:1], f.DIM1, [None] + f.DTYPES[:6] + ["nope"]),
        **{name: f.S(_forms(name, lambda fn, a, d, pair=name != "logcumsumexp": tuple(fn(a, d)) if pair else fn(a, d)),
                     cum_tensors + f.JUNK[:1], f.DIM1)
           for name in ("logcumsumexp", "cummax", "cummin")},
        "diff": f.S(_forms("diff", lambda fn, a, n, d, p, ap: fn(a, n, d, prepend=p, append=ap)),
                    f.TENSORS + f.JUNK[:1], [1, 2, 0, 5, -1, 1.5, "a", None], f.DIM1,
                    [None, T("float32", (2, 1)), T("float64", (2, 2), rg=True), T("int64", (1, 3)),
                     T("float32", (3,)), T("float32", ()), 2.0, "a"],
                    [None, T("float32", (2, 2), rg=True), T("bool", (2, 1)), T("float32", (5, 3)), [1.0]]),
    }
