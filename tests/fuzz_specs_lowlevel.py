"""Fuzz specs (tests/test_fuzz_bad_input.py) of the ops in autograd_gpu/ops/lowlevel.py: PyTorch's low-level and
legacy top-level functions (numerics, the nn internals, the flat-weight RNNs and their cells, the deprecated and
removed linear algebra, eager cond / while_loop) and the bad values of the process-wide setters. Non-ops (getters,
the autocast state, vmap) and the SyncBatchNorm pieces PyTorch runs on CUDA only are listed in NOT_OPS.
svd_lowrank / pca_lowrank draw a random basis: their shapes, dtypes and errors are compared, not their values.
The pools stay short: the harness enumerates the product of their sizes (each op's here is below 10^4)."""
import math

import numpy as np


def specs(f):
    """{op: f.S(...)}; `f` is the fuzz test module (its S, T, D, Lst, pools: TENSORS, DIM1, ...)."""
    S, T, D, Lst = f.S, f.T, f.D, f.Lst

    class V(T):
        """A tensor of given values (lengths, offsets, indices, batch sizes)."""

        def __init__(self, dtype, values):
            super().__init__(dtype, np.shape(values), data=repr(values))
            self.values = values

        def array(self):
            return np.array(self.values, dtype=self.dtype).reshape(self.shape)

        def __repr__(self):
            return f"V({self.dtype!r}, {self.values!r})"

    class Sorted(T):
        """Random values sorted: histogram bin edges."""

        def array(self):
            return np.sort(super().array())

        def __repr__(self):
            return "Sorted" + super().__repr__()

    class LU(T):
        """part 0: the LU factor of a random matrix (a leaf), 1: its pivots."""

        def __init__(self, dtype, shape, part, rg=False):
            super().__init__(dtype, shape, rg=rg)
            self.part = part

        def make(self, lib):
            lu, pivots = lib.linalg.lu_factor(T(self.dtype, self.shape).make(lib))
            return pivots if self.part else (lu.requires_grad_() if self.rg else lu)

        def __repr__(self):
            return f"LU{self.part}" + super().__repr__()

    f32, f64, ag, odd = f.f32, f.f64, f.ag_form, f.odd_dtypes

    # ---- numerics
    specs = {
        "vander": S([ag("vander")],
                    [f32(3, rg=True), f64(4, rg=True), T("int64", (3,)), T("int32", (2,)), T("bool", (3,)), f32(2, 3),
                     f32(), f32(0), f64(3, data="special", rg=True), T("float16", (3,)), "a"],
                    [None, 0, 1, 3, -1, 1.5, "a", True], [False, True, None, "a"]),
        "gradient": S([("ag.gradient", lambda L, x, s, d, e: L.gradient(x, spacing=s, dim=d, edge_order=e))],
                      [f32(3, 4, rg=True), f64(5, rg=True), f32(2, 3), T("int64", (3, 4)), T("float16", (3, 4)),
                       f32(1, 4), f32(0, 3), f64(3, 4, data="special", rg=True), T("bool", (3, 4)), f32(), "a"],
                      [1, 2.0, [1.0, 2.0], [0.5], Lst(f64(3), f64(4)), Lst(Sorted("float64", (5,))),
                       Lst(T("int64", (3,)), f64(4)), 0, "a", f64(4)],
                      [None, 0, -1, [0, 1], 5, (0, 0), 1.5], [1, 2, 3, 0]),
        "frobenius_norm": S([ag("frobenius_norm")], f.TENSORS + ["a"],
                            [(0, 1), 0, (0,), (), (0, 1, 2), 5, "a", (-1, 0)], [False, True, "a"]),
        # (random full-rank matrices only: at a rank-deficient one the nuclear norm's gradient is LAPACK's pick)
        "nuclear_norm": S([ag("nuclear_norm")],
                          [f64(3, 3, rg=True), f32(2, 3, rg=True), f64(3), f32(), f32(2, 1, 3), f32(2, 0, rg=True),
                           f64(4, 3, 2, rg=True), *odd(2, 3), "a"],
                          [False, True, "a", None]),
        "nuclear_norm(dim)": S([("ag.nuclear_norm(dim)", lambda L, x, d, k: L.nuclear_norm(x, d, k))],
                               [f64(4, 3, 2, rg=True), f32(2, 3, rg=True), f64(3), f32(2, 0, 3), *odd(2, 3, 2), "a"],
                               [(0, 2), (-2, -1), (1, 0), 0, (0, 0), (0, 5), "a", (0, 1, 2)], [False, True, "a"],
                               msg="nuclear_norm"),
        "norm_except_dim": S([ag("norm_except_dim")], f.TENSORS + ["a"], [2, 1, 0, 3, math.inf, -1, "a", 2.5],
                             [0, 1, -1, 2, 5, -2, 1.5, "a"]),
        # (histogramdd is not differentiable: no grad check)
        "histogramdd": S([("ag.histogramdd", lambda L, x, b, r, w, d: L.histogramdd(x, b, range=r, weight=w,
                                                                                    density=d))],
                         [f32(5, 2), f64(4, 3), f64(6, 1), f32(2, 3, 2), f32(5), f32(0, 2),
                          f64(4, 2, data="special"), T("int64", (4, 2)), T("float16", (4, 2)), "a"],
                         [3, [2, 3], [2], 0, -1, Lst(Sorted("float32", (3,)), Sorted("float32", (4,))), 1.5, "a"],
                         [None, [0.0, 1.0, -1.0, 2.0], [0.0, 1.0], [1.0, 0.0, 0.0, 1.0], [0, math.inf, 0, 1], "a"],
                         [None, f32(5), f64(4), f32(3), "a"], [False, True, None], no_grad_check=True),
        # (no empty data, no NaN/inf data: PyTorch's segment_reduce crashes on empty data, and the gradients of
        # prod/max/min at NaN/inf are scatter_reduce's, which PyTorch's segment_reduce backward does not follow;
        # offsets only with 1-d data of 5: PyTorch checks lengths, not offsets, and reads past the data otherwise)
        **{f"segment_reduce({kind})": S(
            [(f"ag.segment_reduce({kind})",
              lambda L, x, r, n, ax, i, k=kind: L.segment_reduce(x, r, **{k: n}, axis=ax, initial=i))],
            data, ["sum", "mean", "max", "min", "prod", "nope"], runs, [0, 1, -1, 2, "a"], [None, 0.0, 2.5, "a"],
            msg="segment_reduce")
           for kind, data, runs in (
               ("lengths", [f32(5, rg=True), f64(5, 2, rg=True), f64(2, 5, rg=True), T("int64", (5,)),
                            T("float16", (5,)), "a"],
                [V("int64", [2, 3]), V("int64", [2, 0, 3]), V("int32", [5]), V("int64", [1, 1]), V("int64", [-1, 6]),
                 V("float32", [2.0, 3.0]), V("int64", [[2, 3], [1, 4]]), None, [2, 3]]),
               ("offsets", [f32(5, rg=True), f64(5, rg=True), T("int64", (5,)), T("float16", (5,)), "a"],
                [V("int64", [0, 2, 5]), V("int64", [0, 2, 2, 5]), V("int32", [0, 5]), V("float32", [0.0, 5.0]),
                 V("int64", [[0, 2, 5], [0, 4, 5]]), None]))},
        "nonzero_static": S([("ag.nonzero_static", lambda L, x, s, v: L.nonzero_static(x, size=s, fill_value=v)),
                             ("Tensor.nonzero_static", lambda L, x, s, v: x.nonzero_static(size=s, fill_value=v))],
                            f.TENSORS + ["a"], [3, 0, 10, -1, 1.5, "a", None], [-1, 0, 2.5, "a", None]),
        "empty_permuted": S([("ag.empty_permuted", lambda L, s, p, dt: L.empty_permuted(s, p, dtype=dt)),
                             ("ag.empty_permuted(requires_grad)",
                              lambda L, s, p, dt: L.empty_permuted(s, p, dtype=dt, requires_grad=True))],
                            [(2, 3), (), (2, 3, 4), (0, 2), (-1, 2), "a", (2.5, 3)],
                            [(0, 1), (1, 0), (), (2, 0, 1), (0, 0), (0, 5), "a", (1,)],
                            [None, D("float64"), D("int64"), D("bool"), "nope"], random_values=True),
        "frombuffer": S([("ag.frombuffer", lambda L, b, dt, c, o: L.frombuffer(b, dtype=dt, count=c, offset=o))],
                        [bytearray(range(16)), bytes(range(12)), bytearray(), np.arange(4, dtype=np.float32),
                         memoryview(bytearray(range(6))), "a", [1, 2]],
                        [D("float32"), D("int64"), D("float16"), D("int32"), D("uint8"), None, "nope"],
                        [-1, 1, 2, 0, 100, 1.5, "a"], [0, 4, 1, -1, 100, "a"]),
        "slice_inverse": S([ag("slice_inverse"),
                            ("Tensor.slice_inverse", lambda L, x, s, d, a, b, st: x.slice_inverse(s, d, a, b, st))],
                           [f32(2, 3, rg=True), f64(6), f32(4, 3), f32(), T("int64", (2, 3)), "a"],
                           [f32(1, 3), f32(2, 3), f32(3), f32(3, 2, form="view"), f32(4, 4), T("float64", (1, 3)),
                            "a"],
                           [0, 1, -1, 5], [None, 1, -1], [None, 2, 10], [1, 2, 0]),
    }

    # ---- nn internals
    rows = [f32(3, 4, rg=True), f64(2, 4, rg=True), f32(4), f32(0, 4), f64(3, 4, data="special", rg=True), f32(3, 5),
            *odd(3, 4), "a"]
    batches = [f32(4, 3, 2, rg=True), f64(2, 3, rg=True), f32(1, 3), f32(3), f32(0, 3), f32(4, 2),
               f64(2, 3, data="special", rg=True), *odd(2, 3), "a"]
    specs.update({
        "native_layer_norm": S([ag("native_layer_norm")], rows, [[4], (3, 4), [5], 4, [], "a"],
                               [None, f32(4, rg=True), f32(5)], [None, f64(4, rg=True), f32(3)], [1e-5, 0.0, "a"]),
        "native_batch_norm": S([ag("native_batch_norm")], batches, [None, f32(3, rg=True), f32(2)],
                               # (running_var never None: PyTorch crashes outside training without running stats)
                               [None, f32(3, rg=True)], [None, f32(3), f32(2)], [f32(3, data="ties"), f32(4)],
                               [True, False], [0.1, None], [1e-5, -1.0],
                               base=(batches[0], None, None, f32(3), f32(3, data="ties"), True, 0.1, 1e-5)),
        "native_group_norm": S([ag("native_group_norm")],
                               # (float64 first: with one channel a group, the gradient is 0 up to rounding)
                               [f64(2, 4, 3, rg=True), f32(2, 4, 3), f64(1, 4, rg=True), f32(0, 4, 2), *odd(2, 4, 3),
                                "a"],
                               [None, f64(4, rg=True), f32(2)], [None, f64(4)], [2, 1, 3], [4, 2], [3, 6],
                               [2, 1, 4, 3, 0], [1e-5, 0.0]),
        # p 0 or 1 and train False are deterministic; other draws are ours (shapes and dtypes compared)
        "native_dropout": S([ag("native_dropout")], f.TENSORS + ["a"], [0.0, 1.0, -0.5, 1.5, "a", None],
                            [False, True, None, "a"]),
        "native_dropout (random)": S([ag("native_dropout")], f.FLOATS, [0.5, 0.2], [True, None],
                                     random_values=True, msg="native_dropout"),
        "batch_norm_update_stats": S([ag("batch_norm_update_stats")], batches,
                                     [f32(3), None, f32(2), f64(3)], [f32(3, data="ties"), None, f32(4), f64(3)],
                                     [0.1, 0.0, 1.0, None, "a"]),
        "convolution": S([ag("convolution")],
                         [f32(1, 2, 5, rg=True), f32(1, 2, 4, 4, rg=True), f32(2, 5), f32(0, 2, 5),
                          T("int64", (1, 2, 5)), "a"],
                         [f32(4, 2, 2, rg=True), f32(4, 2, 2, 2), f32(2, 4, 2), T("float64", (4, 2, 2)), f32(4, 2)],
                         [None, f32(4, rg=True), f32(2)], [[1], [2], [1, 1]], [[1], [-1]], [[1], [2]],
                         [False, True], [[0], [1]], [1, 2]),
        "embedding_bag": S([ag("embedding_bag")],
                           [f32(5, 3, rg=True), f64(5, 2, rg=True), f32(5), T("int64", (5, 3)), "a"],
                           # (4 indices and offsets ending at 4: include_last_offset's last offset is the end;
                           # no offsets [0]: PyTorch crashes on it with include_last_offset, or 2-d max bags)
                           [V("int64", [1, 0, 4, 1]), V("int32", [3, 2, 2, 0]), T("int64", (2, 2), data="index"),
                            V("int64", [0, 5, 1, 1])],
                           [V("int64", [0, 2, 4]), V("int64", [0, 4]), V("int64", [0, 1, 1, 4]), V("int64", [2, 0]),
                            T("float32", (2,))],
                           # (no scale_grad_by_freq: PyTorch's CPU gradient then halves rows seen once, see the report)
                           [False], [0, 1, 2, 3], [False], [None, f32(4), f32(3)], [False, True],
                           [None, 1, -1]),
        "embedding_renorm_": S([("ag.embedding_renorm_", lambda L, x, i, m, p: L.embedding_renorm_(x, i, m, p))],
                               [f32(5, 3), f64(4, 2), f32(5), f32(5, 3, rg=True), T("int64", (5, 3)), f32(0, 3), "a"],
                               [T("int64", (3,), data="index"), T("int32", (2, 2), data="index"), V("int64", [4, 7]),
                                f32(2), T("int64", (0,))],
                               [1.0, 0.5, 0.0, -1.0, "a"], [2.0, 1.0, math.inf, "a"]),
    })

    # ---- flat-weight RNNs (input 3, hidden 2) and cells (input 4, hidden 2)
    def params(g, inp=3, hid=2, bias=True, dirs=1, dtype="float64"):
        one = [T(dtype, (g * hid, inp), rg=True), T(dtype, (g * hid, hid), rg=True)]
        one += [T(dtype, (g * hid,), rg=True), T(dtype, (g * hid,))] if bias else []
        return one * dirs

    for mode, g in (("rnn_tanh", 1), ("rnn_relu", 1), ("gru", 3), ("lstm", 4)):
        def hidden(*shape, rg=False):
            return Lst(f64(*shape, rg=rg), f64(*shape)) if mode == "lstm" else f64(*shape, rg=rg)

        param_pool = [Lst(*params(g)), Lst(*params(g, bias=False)), Lst(*params(g, dirs=2)),
                      Lst(*params(g, inp=4)), Lst(*params(g, dtype="float32")), Lst()]
        specs[mode] = S([ag(mode)],
                        [f64(4, 2, 3, rg=True), f32(4, 2, 3), f64(0, 2, 3), f64(4, 3), f64(4, 2, 5),
                         T("int64", (4, 2, 3)), "a"],
                        [hidden(1, 2, 2, rg=True), hidden(2, 2, 2), hidden(1, 3, 2), hidden(2, 2)],
                        param_pool, [True, False], [1, 2], [0.0], [False, True], [False, True], [False, True])
        specs[f"{mode}(packed)"] = S(
            [(f"ag.{mode}(packed)", lambda L, x, b, h, p, bi, m=mode: getattr(L, m)(x, b, h, p, True, 1, 0.0, False,
                                                                                    bi))],
            [f64(5, 3, rg=True), f64(4, 3), f64(5, 4), "a"],
            [V("int64", [2, 2, 1]), V("int64", [2, 1, 1, 1]), V("int64", [3, 1, 1]), V("int64", [3, 2])],
            [hidden(1, 2, 2, rg=True), hidden(2, 2, 2), hidden(1, 3, 2)],
            param_pool[:3], [False, True], msg=mode)
        cell = f"{mode}_cell"
        # (batched input only: PyTorch's ATen cells take 1-d input partly, an IndexError with biases)
        hx = [Lst(f64(3, 2, rg=True), f64(3, 2)), Lst(f64(3, 3), f64(3, 3)), Lst(f64(3, 2)),
              f64(3, 2)] if mode == "lstm" else [f64(3, 2, rg=True), f64(3, 3), f64(2, 2), "a"]
        specs[cell] = S([ag(cell)],
                        [f64(3, 4, rg=True), f32(3, 4), f64(3, 5), f64(0, 4), T("int64", (3, 4)), "a"],
                        hx, [f64(g * 2, 4, rg=True), f64(g * 2, 5), f32(g * 2, 4), f64(4)],
                        [f64(g * 2, 2, rg=True), f64(g * 2, 3)], [None, f64(g * 2, rg=True), f64(3)],
                        [None, f64(g * 2)],
                        base=((f64(3, 4, rg=True), hx[0], f64(g * 2, 4, rg=True), f64(g * 2, 2, rg=True), None,
                               None)))

    # ---- linear algebra
    specs.update({
        "lu": S([ag("lu"), ("Tensor.lu", lambda L, a, p, i: a.lu(p, i))],
                [f64(3, 3, rg=True), f32(2, 3), f64(4, 3, 2, rg=True), f64(3), f32(), f32(0, 0),
                 f64(3, 3, data="special"), f64(3, 3, data="ties", rg=True), *odd(3, 3), "a"],
                [True, False, "a"], [False, True, 1]),
        "lu_solve": S([ag("lu_solve"), ("Tensor.lu_solve", lambda L, b, lu, p: b.lu_solve(lu, p))],
                      [f64(3, 2, rg=True), f64(3), f32(3, 2), f64(2, 3, 2), f64(4, 2), T("int64", (3, 2)), "a"],
                      [LU("float64", (3, 3), 0, rg=True), LU("float32", (3, 3), 0), LU("float64", (2, 3, 3), 0),
                       f64(3, 4), f64(4, 4), "a"],
                      [LU("float64", (3, 3), 1), V("int32", [1, 2, 3]), V("int32", [3, 3, 3]),
                       V("int64", [1, 2, 3]), V("int32", [1, 2]), f32(3), "a"]),
        "svd_lowrank": S([ag("svd_lowrank")],
                         [f64(5, 4, rg=True), f32(4, 5), f64(2, 5, 3), f64(4), T("int64", (4, 3)), f32(0, 3), "a"],
                         [2, 6, None, 0, -1, 1.5], [2, 0, -1, None], [None, f64(5, 4), f64(1, 4), f64(3, 3)],
                         random_values=True),
        "pca_lowrank": S([ag("pca_lowrank")],
                         [f64(5, 4, rg=True), f32(4, 5), f64(2, 5, 3), f64(4), T("int64", (4, 3)), "a"],
                         [2, None, 6, 0, -1, 1.5], [True, False, None], [2, 0, -1, None], random_values=True),
        **{name: S([ag(name)], [f64(3, 3), f32(2), "a", None], [f64(3, 3), None, True])
           for name in ("solve", "eig", "symeig", "lstsq", "matrix_rank")},
    })

    # ---- eager control flow (torch.cond / while_loop compile the branches with dynamo: few distinct functions)
    def sin(x):
        return x.sin()

    def cos(x):
        return x.cos()

    def below_3(i, x):
        return i < 3

    def as_float(i, x):
        return (i < 3).float()

    def step(i, x):
        return i + 1, x * 2

    def shrink(i, x):
        return i + 1, x.sum()

    specs.update({
        # (ours runs the branch taken only, eagerly: PyTorch traces both, so a bad branch not taken is refused
        # there alone; the pools hold no such branch, nor a body that never runs)
        "cond": S([ag("cond")],
                  [T("bool", (), data="ties"), True, False, V("float32", 0.0), T("bool", (2,)), "a", None],
                  [sin, "a"], [cos, "a"], [Lst(f32(2, 3, rg=True)), Lst(f64(3)), "a", Lst(1.5)]),
        "while_loop": S([ag("while_loop")], [below_3, as_float, "a"], [step, shrink, "a"],
                        [Lst(V("int64", 0), f32(2, 3)), Lst(V("int64", 1), f64(3, rg=True)), Lst(V("int64", 0), 1.5),
                         "a"]),
        "is_distributed": S([ag("is_distributed"), ("Tensor.is_distributed", lambda L, x: x.is_distributed()),
                             ag("get_device")], f.TENSORS + [2, "a", None], msg=("is_distributed", "get_device")),
        # the setters' bad values only (any valid value here is the default: no global state changes)
        "set_float32_matmul_precision": S([ag("set_float32_matmul_precision")], ["highest", "bad", 3, None, b"x"]),
        "set_warn_always": S([ag("set_warn_always")], [False, "yes", 1, None, 1.5], msg=("warn_always", "bool")),
        "set_flush_denormal": S([ag("set_flush_denormal")], [False, "yes", 2, None, 1.5],
                                msg=("flush_denormal", "bool")),
        "set_deterministic_debug_mode": S([ag("set_deterministic_debug_mode")],
                                          [0, "default", "bad", 3, -1, 1.5, None, True], msg="debug_mode"),
        "set_default_device": S([ag("set_default_device")], [None, 3.5, [1], ("cpu",), "nope", "cuda:x", "cpu:-3"],
                                msg="device"),
    })
    # keyed "<name> (lowlevel)": `-k lowlevel` selects them all, and no other family's key is taken
    return {f"{op} (lowlevel)": spec for op, spec in specs.items()}
