"""Fuzz specs (tests/test_fuzz_bad_input.py) of the ops in autograd_gpu/ops/inplace_functions.py."""
import autograd_gpu as ag
from autograd_gpu.ops import inplace_functions


def _routed(name, call):
    """The method form `call` with its x.<name>(...) made as L.<name>(x, ...): the
    class attribute is swapped for the call's duration (in both libraries), so
    each in-place function is fuzzed with its method's pools and calls."""
    def form(L, a, *args):
        cls, fn = L.Tensor, getattr(L, name)
        if not isinstance(a, cls):              # (not a tensor: the method form is never called)
            return fn(a, *args)
        had, old = name in cls.__dict__, cls.__dict__.get(name)
        setattr(cls, name, lambda self, *a, **k: fn(self, *a, **k))
        try:
            return call(L, a, *args)
        finally:
            if had:
                setattr(cls, name, old)
            else:
                delattr(cls, name)
    return form


def _in_place_function_specs(f, own):
    """ag.<name>_ for each in-place function: its method's spec, the call routed."""
    S = f.S
    forms = {}
    for key, spec in list(f.SPECS.items()) + list(own.items()):
        for form_name, call in spec["names"]:
            forms.setdefault(form_name, (key, spec, call))
    out = {}
    for name in inplace_functions.TORCH_INPLACE_FUNCTIONS:
        if name not in inplace_functions.FUNCTIONS:
            continue
        if f"Tensor.{name}" not in forms:          # (no method spec: detach_, or a later family's: the tensor alone)
            out[f"ag.{name}"] = S([(f"ag.{name}", lambda L, a, n=name: getattr(L, n)(a))], f.TENSORS + f.JUNK[:2],
                                  msg=name)
            continue
        key, spec, call = forms[f"Tensor.{name}"]
        msg = spec["msg"] or key.split("(")[0].split(" ")[0].strip("_")
        msg = (msg, name) if isinstance(msg, str) else (*msg, name)
        out[f"ag.{name}"] = S([(f"ag.{name}", _routed(name, call))], *spec["pools"], msg=msg,
                              random_values=spec["random_values"], no_grad_check=spec["no_grad_check"],
                              base=spec["base"])
    return out


def specs(f):
    """{op: f.S(...)}; `f` is the fuzz test module (its S, T, Lst, pools: TENSORS, DIM1, ...)."""
    S, T = f.S, f.T
    tensors_or_junk = f.TENSORS + f.JUNK[:2]
    unary = lambda *names: [(f"{lib}.{n}", (lambda L, a, n=n: getattr(L, n)(a)) if lib == "ag" else
                             (lambda L, a, n=n: getattr(a, n)())) for n in names for lib in ("ag", "Tensor")]
    own = {
        **{f"{n}_": S([(f"Tensor.{n}_", lambda L, a, b, n=n: getattr(a.clone(), n + "_")(b))],
                      f.TENSORS, f.TENSORS + [2, "a", None], msg=n)
           for n in ("logical_and", "logical_or", "logical_xor")},
        "logical_not_": S([("Tensor.logical_not_", lambda L, a: a.logical_not_())], f.IP_TENSORS, msg="logical_not"),
        "floor_divide_": S([("Tensor.floor_divide_", lambda L, a, b: a.clone().floor_divide_(b))], f.TENSORS,
                           f.OPERANDS, msg=("floor_divide", "floordiv")),
        "conj": S(unary("conj", "conj_physical", "resolve_conj", "resolve_neg")
                  + [("ag.real", lambda L, a: L.real(a)), ("Tensor.real", lambda L, a: a.real),
                     ("ag.imag", lambda L, a: L.imag(a)), ("Tensor.imag", lambda L, a: a.imag)], tensors_or_junk,
                  msg=("conj", "resolve", "real", "imag")),
        "is_conj": S(unary("is_conj", "is_neg", "is_inference")
                     + [(f"Tensor.{n}", lambda L, a, n=n: getattr(a, n)()) for n in ("is_complex", "is_pinned",
                                                                                   "is_shared")],
                     tensors_or_junk, msg="is_"),
        "conj_physical_": S([("Tensor.conj_physical_", lambda L, a: a.conj_physical_()),
                             ("Tensor.conj_physical_(clone)", lambda L, a: a.clone().conj_physical_())], f.IP_TENSORS),
        "angle": S(unary("angle"), f.TENSORS + f.JUNK[:1]),
        "Tensor.hardshrink": S([("Tensor.hardshrink", lambda L, a, v: a.hardshrink(v))], f.TENSORS,
                               [0.5, 0, 2, -1, True, "a", None], msg="hardshrink"),     # (ag's: functional_aliases)
        "new(size)": S([("Tensor.new", lambda L, a, s: a.new(*s))], f.TENSORS,
                       [(2, 3), (), (0,), (-1,), (2, "a"), (2.5,), ("a",), (None,), (2, [1])], random_values=True,
                       msg="new"),
        "new(data)": S([("Tensor.new(data)", lambda L, a, d: a.new(d))], f.TENSORS,
                       [[1, 2], [[1.5, 2], [3, 4]], (1, 2), [], [True], T("float32", (2,)), T("int64", (2,)),
                        T("float64", (), rg=True), [1, "a"]], msg="new"),
        "new_empty_strided": S([("Tensor.new_empty_strided", lambda L, a, s, st, dt:
                                 a.new_empty_strided(s, st, dtype=dt))],
                               f.TENSORS, [(2, 3), (0, 2), (), (3,), (-1, 2), "a", (2.5, 1)],
                               [(1, 2), (3, 1), (0, 0), (1,), (-1, 2), (), "a"], f.DTYPES[:7], random_values=True),
        "resize_": S([("Tensor.resize_", lambda L, a, s: a.resize_(*s))], f.TENSORS,
                     [(2, 3), (6,), (4,), (8,), (0,), (), (-1,), (2.5,), ("a",), ((2, 2),), (True,)],
                     random_values=True),
        "resize_as_": S([("Tensor.resize_as_", lambda L, a, b: a.resize_as_(b))], f.TENSORS, tensors_or_junk,
                        random_values=True),
        "apply_": S([("Tensor.apply_", lambda L, a, fn: a.apply_(fn))], f.TENSORS,
                    [lambda v: v * 2, lambda v: 2.7, lambda v: "s", 3, None]),
        "map_": S([("Tensor.map_", lambda L, a, b, fn: a.map_(b, fn))], f.TENSORS, f.TENSORS + [2, "a"],
                  [lambda u, v: u - v, lambda u, v: "s", 3]),
        "map2_": S([("Tensor.map2_", lambda L, a, b, c, fn: a.map2_(b, c, fn))], f.TENSORS, f.TENSORS[:5] + ["a"],
                   f.TENSORS[:5], [lambda u, v, w: u + v * w, None]),
        # (PyTorch's pin_memory needs an accelerator, which its CPU-only build lacks: compared with
        # clone(), as ours is a copy in ordinary memory; test_ops_inplace_functions.py pins it)
        "pin_memory/share_memory_": S([("Tensor.pin_memory", lambda L, a: a.pin_memory() if L is ag else a.clone()),
                                       ("Tensor.share_memory_", lambda L, a: a.share_memory_())], f.TENSORS,
                                      msg=("pin", "share")),
        "output_nr/layout": S([("Tensor.output_nr", lambda L, a: a.output_nr),
                               ("Tensor.layout", lambda L, a: str(a.layout))], f.TENSORS, msg="nothing"),
        "dim_order": S([("Tensor.dim_order", lambda L, a, c: a.dim_order(ambiguity_check=c))], f.TENSORS,
                       [False, True, 1, None, [], "a"]),
        "unsafe_split": S([("ag.unsafe_split", lambda L, a, s, d: L.unsafe_split(a, s, d)),
                           ("Tensor.unsafe_split", lambda L, a, s, d: a.unsafe_split(s, d))],
                          f.TENSORS + f.JUNK[:1], [1, 2, 0, -1, [1, 2], "a", 1.5], f.DIM1, msg="split"),
        "unsafe_split_with_sizes": S([("ag.unsafe_split_with_sizes", lambda L, a, s, d:
                                       L.unsafe_split_with_sizes(a, s, d)),
                                      ("Tensor.unsafe_split_with_sizes", lambda L, a, s, d:
                                       a.unsafe_split_with_sizes(s, d))],
                                     f.TENSORS + f.JUNK[:1], [[1, 1], [2], [3], [-1, 3], [1, 2], 2, "a"], f.DIM1,
                                     msg="split"),
        "unsafe_chunk": S([("ag.unsafe_chunk", lambda L, a, c, d: L.unsafe_chunk(a, c, d)),
                           ("Tensor.unsafe_chunk", lambda L, a, c, d: a.unsafe_chunk(c, d))],
                          f.TENSORS + f.JUNK[:1], [1, 2, 3, 0, -1, 2.5, "a"], f.DIM1, msg="chunk"),
        "fill": S([("ag.fill", lambda L, a, v: L.fill(a, v))], f.TENSORS + f.JUNK[:1],
                  f.NUMBERS + f.JUNK[:3] + [T("float32", ()), T("float32", (2,)), T("float64", (), rg=True)]),
        "ag.masked_fill": S([("ag.masked_fill", lambda L, a, m, v: L.masked_fill(a, m, v))],
                            *f.SPECS["masked_fill"]["pools"], msg="masked_fill"),
    }
    return {**own, **_in_place_function_specs(f, own)}
