"""Fuzz specs (tests/test_fuzz_bad_input.py) of the ops in autograd_gpu/ops/functional_aliases.py: the torch.*
names of nn.functional's ops (called positionally, with torch's top-level signatures), the dtype utilities and
the creation functions. Non-ops (set_default_dtype, the thread and determinism settings, is_inference_mode_enabled)
are listed in NOT_OPS. The pools stay short: the harness enumerates the product of their sizes."""
import math


def specs(f):
    """{op: f.S(...)}; `f` is the fuzz test module (its S, T, Lst, pools: TENSORS, DIM1, ...)."""
    S, T, D = f.S, f.T, f.D

    f32, f64, ag, odd = f.f32, f.f64, f.ag_form, f.odd_dtypes

    signals = [f32(2, 3, 5, rg=True), f64(1, 3, 4, rg=True), f32(3, 5), f32(0, 3, 5), f32(2, 3, 0),
               f64(1, 3, 4, data="special", rg=True), *odd(2, 3, 5), "a"]
    def finite(pool):
        return [t for t in pool if getattr(t, "data", None) != "special"]

    finite_signals = finite(signals)
    images = [f32(1, 2, 4, 3, rg=True), f64(2, 3, 3, rg=True), f32(2, 3), f32(0, 2, 3, 3),
              f64(1, 2, 3, 3, data="special", rg=True), *odd(1, 2, 3, 3), "a"]
    volumes = [f32(1, 2, 3, 3, 2, rg=True), f64(2, 3, 2, 2, rg=True), f32(1, 2, 3), f32(0, 2, 2, 2, 2),
               T("float16", (1, 2, 2, 2, 2)), T("int64", (1, 2, 2, 2, 2))]
    rows = [f32(3, 4, rg=True), f64(2, 4, rg=True), f32(4), f32(0, 4), f64(3, 4, data="special", rg=True),
            f32(3, 5), *odd(3, 4), "a"]
    finite_rows = finite(rows)
    ints = [1, 2, 0, -1, 1.5, "a", None, True]
    reductions = [0, 1, 2, 3, -1, "mean", None, True]
    losses = [f32(4, rg=True), f64(2, 3, rg=True), f32(2, 3), f32(0), f64(2, 3, data="special", rg=True),
              T("float16", (2, 3)), T("int64", (2, 3)), "a"]
    signs = [T("float32", (2, 3)), T("float64", (4,)), T("float32", (4,)), T("int64", (2, 3)), T("float32", (3,)),
             1.0, None]
    dtypes = [D("float32"), D("float64"), D("float16"), D("int64"), D("int32"), D("bool"), D("uint8"), float, int,
              bool, None, "float32", 3]

    specs = {
        # convolutions
        **{f"conv{n}d": S([ag(f"conv{n}d")], inp,
                          [T("float32", (4, 2) + (2,) * n, rg=True), T("float64", (4, 1) + (2,) * n),
                           T("float32", (4,) + (2,) * n), T("int64", (4, 2) + (1,) * n), None],
                          [None, f32(4, rg=True), f32(3), "a"], [1, 2, 0, -1, (1,) * n, "a"],
                          [0, 1, -1, "same", "valid", "x"], [1, 2, 0], [1, 2, 0, 3, -2])
           for n, inp in ((1, [f32(2, 2, 5, rg=True)] + signals), (2, images), (3, volumes))},
        **{f"conv_transpose{n}d": S([ag(f"conv_transpose{n}d")], inp,
                                    [T("float32", (2, 3) + (2,) * n, rg=True), T("float64", (2, 3) + (2,) * n),
                                     T("float32", (3, 3) + (2,) * n), T("float32", (2,) + (2,) * n), None],
                                    [None, f32(3, rg=True), f32(2)], [1, 2, 0, -1], [0, 1, -1, "same"],
                                    [0, 1, 2, -1], [1, 2, 0], [1, 2, 0],
                                    base=(T("float32", (1, 2) + (3,) * n, rg=True),
                                          T("float32", (2, 3) + (2,) * n, rg=True), None, 1, 0, 0, 1, 1))
           for n, inp in ((1, [f32(1, 2, 3, rg=True)] + signals), (2, [f32(1, 2, 3, 3, rg=True)] + images),
                          (3, [f32(1, 2, 3, 3, 3, rg=True)] + volumes))},
        "conv_tbc": S([ag("conv_tbc")],
                      [f32(5, 2, 3, rg=True), f64(4, 1, 3, rg=True), f32(5, 3), f32(0, 2, 3), f32(5, 2, 4),
                       T("int64", (5, 2, 3)), "a"],
                      [f32(2, 3, 4, rg=True), f64(2, 3, 4), f32(2, 4, 4), f32(3, 4), f32(6, 3, 4), None],
                      [f32(4, rg=True), f64(4), f32(3), f32(1, 4), None], [0, 1, 2, -1, -3, 1.5, "a"]),
        # pooling
        "avg_pool1d": S([ag("avg_pool1d")], signals, [2, 1, 0, 6, (2,), "a"], [(), 1, 0, None], [0, 1, -1, 2],
                        [False, True], [True, False]),
        # (no NaN/inf data: of tied or NaN windows nn.functional's max pools may pass the gradient to another
        # element than torch's)
        **{f"max_pool{n}d": S([ag(f"max_pool{n}d")], finite(inp), [2, 1, 0, 5], [(), 1, 0, None], [0, 1, -1],
                              [1, 2, 0], [False, True])
           for n, inp in ((1, signals), (2, images), (3, volumes))},
        "max_pool1d_with_indices": S([ag("max_pool1d_with_indices")], signals, [2, 1, 0, 5], [(), 1, 0], [0, 1, -1],
                                     [1, 2], [False, True]),
        # (no inf data: nn.functional.adaptive_avg_pool1d gives NaN where torch's gives -inf)
        "adaptive_avg_pool1d": S([ag("adaptive_avg_pool1d")], finite_signals, [2, 1, 0, -1, (3,), None, "a", 7]),
        "adaptive_max_pool1d": S([ag("adaptive_max_pool1d")], signals, [2, 1, 0, -1, (3,), None, "a", 7]),
        # normalization
        "batch_norm": S([ag("batch_norm")],
                        [f32(4, 3, 2, rg=True), f64(2, 3, rg=True), f32(1, 3), f32(3), f32(0, 3), f32(4, 2),
                         f64(2, 3, data="special", rg=True), T("float16", (2, 3)), T("int64", (2, 3)), "a"],
                        [None, f32(3, rg=True), f32(2)], [None, f32(3, rg=True)],
                        [None, f32(3), f32(2)], [None, f32(3, data="ties"), f32(4)], [True, False],
                        [0.1, 0.0, None], [1e-5, 0.0, -1.0], [False, True]),
        "instance_norm": S([ag("instance_norm")],
                           [f32(2, 3, 4, rg=True), f64(1, 3, 2, 2, rg=True), f32(3, 4), f32(2, 3, 1),
                            T("int64", (2, 3, 4)), "a"],
                           [None, f32(3, rg=True), f32(2)], [None, f32(3)], [None, f32(3)],
                           [None, f32(3, data="ties")], [True, False], [0.1, 0.5], [1e-5, 0.0], [False]),
        "layer_norm": S([ag("layer_norm")], rows, [[4], (3, 4), [5], 4, [], "a", [0]],
                        [None, f32(4, rg=True), f32(5), f32(3, 4)], [None, f64(4, rg=True), f32(3)],
                        [1e-5, 0.0, "a"], [True, False]),
        "group_norm": S([ag("group_norm")],
                        # (float64 first: with one channel a group, the gradient is 0 up to rounding)
                        [f64(2, 4, 3, rg=True), f64(1, 4, rg=True), f32(1, 4), f32(4), f32(0, 4, 2),
                         f64(2, 4, 3, data="special", rg=True), *odd(2, 4, 3), "a"],
                        [2, 1, 4, 3, 0, -1, 1.5], [None, f64(4, rg=True), f32(2)], [None, f64(4), f32(3)],
                        [1e-5, 0.0], [True, False]),
        "rms_norm": S([ag("rms_norm")], rows, [[4], (3, 4), [5], 4, [], "a"], [None, f32(4, rg=True), f32(5)],
                      [None, 1e-6, 0.0, -1.0, "a"]),
        # dropout: p 0 or 1 and train False are deterministic; other draws are ours (shapes and dtypes compared)
        **{name: S([ag(name)], f.TENSORS + ["a"], [0.0, 1.0, 0, 1, -0.5, 1.5, "a", None], [False, True, 1, None],
                   msg=name.rstrip("_"))
           for name in ("dropout", "alpha_dropout", "feature_dropout", "feature_alpha_dropout")},
        **{name: S([(f"ag.{name}", lambda L, x, p, t, n=name: getattr(L, n)(x.clone() if hasattr(x, "clone") else x,
                                                                           p, t))],
                   f.TENSORS + ["a"], [0.0, 1.0, -0.5, 1.5, "a"], [False, True, None], msg=name.rstrip("_"))
           for name in ("dropout_", "alpha_dropout_", "feature_dropout_", "feature_alpha_dropout_")},
        "dropout (random)": S([ag("dropout"), ag("feature_dropout")], f.FLOATS, [0.5, 0.2], [True],
                              random_values=True, msg=("dropout", "feature_dropout")),
        # embedding, bilinear, distances, shuffles
        "embedding": S([ag("embedding")],
                       [f32(5, 3, rg=True), f64(5, 2, rg=True), f32(5), f32(0, 3), f64(5, 3, data="special", rg=True),
                        T("int64", (5, 3)), "a"],
                       [T("int64", (2, 3), data="index"), T("int32", (4,), data="index"), T("int64", ()),
                        T("int64", (3,)), T("int64", (0,)), f32(2), T("bool", (2,)), [0, 1]],
                       [-1, 0, 1, 4, 5, -2, -6, 1.5, None], [False, True, 1]),
        "bilinear": S([ag("bilinear")],
                      [f32(2, 3, rg=True), f64(2, 3, rg=True), f32(3), f32(0, 3), f32(2, 4), T("int64", (2, 3)), "a"],
                      [f32(2, 4, rg=True), f64(2, 4), f32(3, 4), f32(2, 3), None],
                      [f32(5, 3, 4, rg=True), f64(5, 3, 4), f32(5, 4, 3), f32(3, 4), None],
                      [None, f32(5, rg=True), f32(4), f32(1, 5)]),
        # (no inf/NaN data and no (2, 0) input: nn.functional.pdist differs there, see the H18 report)
        "pdist": S([ag("pdist")], finite(rows) + [f32(1, 3)],
                   [2.0, 1.0, 0.0, 3.0, math.inf, -1.0, 2, "a"]),
        "pairwise_distance": S([ag("pairwise_distance")], rows, rows[:6] + [f32(1, 4), 2.0],
                               [2.0, 1.0, 0.0, math.inf, -1.0, "a"], [1e-6, 0.0], [False, True, 1]),
        "cosine_similarity": S([ag("cosine_similarity")], rows, rows[:6] + [f32(1, 4), 2.0], f.DIM1,
                               [1e-8, 0.0, -1.0, "a"]),
        "pixel_shuffle": S([ag("pixel_shuffle")],
                           [f32(1, 8, 2, 3, rg=True), f64(4, 2, 2, rg=True), f32(1, 3, 2, 2), f32(4, 2),
                            f32(0, 4, 1, 1), T("int64", (1, 4, 2, 2)), T("bool", (1, 4, 1, 1)), "a"], ints),
        "pixel_unshuffle": S([ag("pixel_unshuffle")],
                               [f32(1, 2, 4, 6, rg=True), f64(1, 2, 2, rg=True), f32(1, 2, 3, 3), f32(4, 2),
                              T("int64", (1, 1, 2, 2)), "a"], ints),
        **{name: S([ag(name)], [f32(2, 6, 2, rg=True), f64(1, 4, 2, 2, rg=True), f32(6), f32(2, 6), f32(0, 6, 1),
                                f32(2, 5, 2), T("int64", (2, 6, 2)), "a"], ints)
           for name in ("channel_shuffle", "native_channel_shuffle")},
        # activations
        "prelu": S([ag("prelu")], f.TENSORS[:12] + ["a"],
                   [f32(1, rg=True), f64(3, rg=True), f32(2), T("float32", ()), f32(2, 3), T("int64", (1,)), 0.25,
                    None]),
        "rrelu": S([ag("rrelu")], f.TENSORS + ["a"], [0.125, 0.1, 0.5, "a"], [1 / 3, 0.3, 0.05, None], [False],
                   [None, 1]),
        "rrelu (random)": S([ag("rrelu")], f.FLOATS, [0.1], [0.3], [True], random_values=True, msg="rrelu"),
        "rrelu_": S([("ag.rrelu_", lambda L, x, lo, hi: L.rrelu_(x.clone(), lo, hi))], f.TENSORS, [0.1, "a"],
                    [0.3, 0.05]),
        "selu": S([ag("selu")], f.TENSORS + ["a"]),
        "selu_": S([("ag.selu_", lambda L, x: L.selu_(x.clone()))], f.TENSORS, msg="selu"),
        "celu": S([ag("celu")], f.TENSORS + ["a"], [1.0, 0.5, 0, -1.0, True, "a", None]),
        "celu_": S([("ag.celu_", lambda L, x, a: L.celu_(x.clone(), a))], f.TENSORS, [1.0, 0.5, 0, "a"],
                   msg="celu"),
        "threshold": S([ag("threshold")], f.TENSORS + ["a"], [0.5, 0, -1, math.nan, True, "a", None],
                       [20.0, 0, -2, math.inf, "a", None]),
        "threshold_": S([("ag.threshold_", lambda L, x, t, v: L.threshold_(x.clone(), t, v))], f.TENSORS,
                        [0.5, 0, "a"], [20.0, -2, None], msg="threshold"),
        # (no NaN lambd: nn.functional.hardshrink's gradient is 1 there, torch's 0)
        "hardshrink": S([ag("hardshrink")], f.TENSORS + ["a"], [0.5, 0.0, 1, -1.0, True, "a", None]),
        # losses (reduction: torch's int)
        "kl_div": S([ag("kl_div"), ("ag.kl_div(log_target)", lambda L, x, t, r: L.kl_div(x, t, r, log_target=True))],
                    losses, losses[:5] + [f32(3), 1.0], reductions),
        "margin_ranking_loss": S([ag("margin_ranking_loss")], losses, losses[:4] + [f32(3)], signs,
                                 [0.0, 0.5, -1, "a"], reductions),
        # (no integer input: torch's result is then an integer tensor, nn.functional's float)
        "hinge_embedding_loss": S([ag("hinge_embedding_loss")],
                                  [t for t in losses if getattr(t, "dtype", "") != "int64"], signs,
                                  [1.0, 0.5, -1, "a"], reductions),
        "cosine_embedding_loss": S([ag("cosine_embedding_loss")],
                                   [f32(2, 3, rg=True), f64(2, 3, rg=True), f32(3), f32(0, 3), f32(2, 4),
                                    T("int64", (2, 3)), "a"],
                                   [f32(2, 3, rg=True), f64(2, 3), f32(3), f32(2, 4)],
                                   [f32(2), f64(2), T("float32", ()), f32(3), T("int64", (2,)), None],
                                   [0.0, 0.5, "a"], reductions),
        "poisson_nll_loss": S([ag("poisson_nll_loss")], losses, losses[:5] + [f32(3)], [True, False, None],
                              [False, True], [1e-8, 0.0, -1.0, "a"], reductions),
        # (no NaN/inf data: nn.functional.triplet_margin_loss's swap differs there)
        "triplet_margin_loss": S([ag("triplet_margin_loss")], finite_rows, finite_rows[:5], finite_rows[:5] + [None],
                                 [1.0, 0.0, -1.0], [2.0, 1.0, 0.0, -1.0], [1e-6, 0.0], [False, True], reductions),
        "ctc_loss": S([ag("ctc_loss")],
                      [f32(5, 2, 4, rg=True), f64(4, 2, 4, rg=True), f32(5, 4, rg=True), f32(5, 2, 3),
                       T("int64", (5, 2, 4)), "a"],
                      [T("int64", (2, 2), data="index"), T("int32", (4,), data="index"), T("int64", (2, 6)),
                       f32(2, 2), None],
                      [[5, 4], [5, 5], [6, 4], [5], [-1, 4], T("int64", (2,), data="index"), "a"],
                      [[2, 2], [2, 1], [3, 2], [0, 0], [2], T("int64", (2,), data="index"), None],
                      [0, 3, 4, -1, "a"], reductions, [False, True, None], no_grad_check=True,
                      base=(f32(5, 2, 4, rg=True), T("int64", (2, 2), data="index"), [5, 4], [2, 2], 0, 1,
                            False)),
        # (float32 input: with a float64 input and a float32 target torch's unreduced result is float32; finite:
        # with infinite logits or targets, NaN and inf gradients differ between nn.functional's and torch's)
        "binary_cross_entropy_with_logits": S(
            [ag("binary_cross_entropy_with_logits")],
            [f32(4, rg=True), f32(2, 3, rg=True), f32(0), T("float16", (2, 3)), T("int64", (2, 3)), "a"],
            losses[:4] + [f32(3), f32(1, 3)],
            [None, f32(3), f32(2, 3), f32(4), T("int64", (2, 3))],
            [None, f32(3), f32(2, 1), f32(4)], reductions),
        # padding and sampling
        "constant_pad_nd": S([ag("constant_pad_nd")], f.TENSORS + ["a"],
                             [[1, 2], (1, 1, 0, 2), [-1, 0], [1], [], [1, 1, 1, 1, 1, 1, 1, 1], [1.5, 1], "a",
                              [0, -3]],
                             [0, 0.5, -1, True, math.nan, 1e40, "a", None, T("float32", ())]),
        # (float64 first: at clamped border points the grid's gradient is 0 up to float32 rounding)
        **{name: S([ag(name)], inp, grid, [0, 1, 2, 3, -1, "a"], [0, 1, 2, 3, "a"], [False, True, 1, None])
           for name, inp, grid in (
               ("grid_sampler",
                [f64(1, 2, 3, 4, rg=True), f64(2, 1, 2, 2, 3, rg=True), f32(1, 2, 3, 4), f32(2, 3), f32(0, 2, 3, 3),
                 T("float16", (1, 2, 3, 4)), T("int64", (1, 2, 3, 4)), "a"],
                [f64(1, 2, 2, 2, rg=True), f64(2, 2, 2, 2, 3), f32(1, 2, 2, 3), f32(2, 2, 2, 2),
                 f32(1, 2, 2, 2, data="special"), T("int64", (1, 2, 2, 2)), None]),
               ("grid_sampler_2d",
                [f64(1, 2, 3, 4, rg=True), f64(1, 1, 2, 2, 3), f32(2, 3, 3), "a"],
                [f64(1, 2, 2, 2, rg=True), f32(1, 2, 2, 3), f32(2, 2, 2, 2)]),
               ("grid_sampler_3d",
                [f64(1, 1, 2, 3, 3, rg=True), f64(1, 2, 3, 4, rg=True), "a"],
                [f64(1, 2, 2, 2, 3, rg=True), f32(1, 2, 2, 2), f32(1, 2, 2, 2, 2)]))},
        "affine_grid_generator": S([ag("affine_grid_generator")],
                                   [f32(1, 2, 3, rg=True), f64(2, 3, 4, rg=True), f32(2, 3), f32(1, 3, 3),
                                    T("int64", (1, 2, 3)), "a"],
                                   [[1, 1, 3, 4], (2, 1, 2, 2, 3), [1, 1, 2], [2, 1, 3, 4], [1, 1, 0, 2], "a"],
                                   [False, True, 1, None]),
        # dtype utilities
        "result_type": S([ag("result_type")], f.TENSORS[::2] + [2, -1.5, True, "a", None],
                         f.TENSORS[1::2] + [3, 2.5, False, 2 ** 70, "a", None, [1]]),
        "promote_types": S([ag("promote_types")], dtypes, dtypes),
        "can_cast": S([ag("can_cast")], dtypes, dtypes),
        **{name: S([ag(name)], f.TENSORS + [2, "a", None, [1.0]])
           for name in ("is_floating_point", "is_complex", "is_signed", "is_nonzero")},
        "is_same_size": S([ag("is_same_size")], f.TENSORS[::3] + ["a"], f.TENSORS[1::3] + [None, 2]),
        "typename": S([ag("typename")], f.TENSORS + [2, 1.5, "a", None, [1], (1,), {"k": 1}]),
        "is_storage": S([ag("is_storage")], f.TENSORS[:4] + [2, "a", None]),
        # creation
        "empty_strided": S([("ag.empty_strided", lambda L, s, st, dt: L.empty_strided(s, st, dtype=dt)),
                            ("ag.empty_strided(requires_grad)",
                             lambda L, s, st, dt: L.empty_strided(s, st, dtype=dt, requires_grad=True))],
                           [(2, 3), (), (0, 2), (2, -1), 3, "a", (1.5,), [2, 2]],
                           [(3, 1), (1, 2), (0, 0), (), (-1, 1), (3,), "a", [1, 1]],
                           [None, D("float64"), D("int64"), D("bool"), D("float16"), "nope"], random_values=True),
        "asarray": S([("ag.asarray", lambda L, o, dt, c, rg: L.asarray(o, dtype=dt, copy=c, requires_grad=rg))],
                     f.TENSORS[:10] + [1.5, [1, 2], [[1.0], [2.0]], True, "a", None, [1, "a"]],
                     [None, D("float64"), D("int64"), D("float16"), "nope"], [None, True, False, 1],
                     [None, False, True, "yes"]),
        **{name: S([(f"ag.{name}", lambda L, n, p, dt, n_=name: getattr(L, n_)(n, p, dtype=dt))]
                   + [(f"ag.{name}({extra})", lambda L, n, p, dt, n_=name, e=extra: getattr(L, n_)(n, p, *e, dtype=dt))
                      for extra in extras],
                   [5, 0, 1, 2, -1, 1.5, True, "a", None], [True, False, 1, None], [None] + dtypes[:6] + ["a"],
                   msg=name)
           for name, extras in (("hann_window", ()), ("hamming_window", ((0.5,), (0.5, 0.4), ("a",))),
                                ("blackman_window", ()), ("bartlett_window", ()),
                                ("kaiser_window", ((3.0,), (-1.0,), (0.0,), ("a",), (math.inf,))))},
    }
    # keyed "<name> (ag)": other families fuzz nn.functional's forms under the bare names (conv3d, max_pool3d)
    return {f"{op} (ag)": spec for op, spec in specs.items()}
