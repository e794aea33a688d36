"""Fuzz specs (tests/test_fuzz_bad_input.py) of the ops in autograd_gpu/ops/inplace_views.py."""


def specs(f):
    """{op: f.S(...)}; `f` is the fuzz test module (its S, T, Lst, pools: TENSORS, DIM1, ...)."""
    S, T = f.S, f.T
    tensors = f.IP_TENSORS + f.JUNK[:1]
    sizes = [(2, 2), (3,), (), (0,), (2, 0), (6,), (7,), (-1,), (2,), 2, "a", None, (1.5,), [2, 2]]
    strides = [(1, 1), (2,), (), (1,), (0,), (3, 1), (-1,), (1, 2, 3), 1, "a", None, (True,)]
    offsets = [None, 0, 1, 3, -1, 100, 1.5, "a", True]
    srcs = [T("float32", (2, 2)), T("float64", (2, 2), rg=True), T("float32", (3,)), T("int64", (2, 2)),
            T("float32", ()), "a", None]
    metadata = {
        "transpose_": S([(f"Tensor.{n}", lambda L, a, d0, d1, n=n: getattr(a, n)(d0, d1))
                         for n in ("transpose_", "swapaxes_", "swapdims_")],
                        tensors, f.DIM1, f.DIM1, msg=("transpose_", "swapaxes_", "swapdims_")),
        "t_": S([("Tensor.t_", lambda L, a: a.t_())], tensors),
        "squeeze_": S([("Tensor.squeeze_", lambda L, a, d: a.squeeze_(d)),
                       ("Tensor.squeeze_()", lambda L, a, d: a.squeeze_())], tensors, f.DIMS, msg="squeeze_"),
        "unsqueeze_": S([("Tensor.unsqueeze_", lambda L, a, d: a.unsqueeze_(d))], tensors, f.DIM1),
        "as_strided_": S([("Tensor.as_strided_", lambda L, a, s, st, o: a.as_strided_(s, st, o)),
                          ("ag.as_strided_", lambda L, a, s, st, o: L.as_strided_(a, s, st, o))],
                         tensors, sizes, strides, offsets, base=(f.IP_TENSORS[0], (2, 2), (1, 1), None)),
    }
    copies = {
        "as_strided": S([("ag.as_strided", lambda L, a, s, st, o: L.as_strided(a, s, st, o)),
                         ("Tensor.as_strided", lambda L, a, s, st, o: a.as_strided(s, st, o)),
                         ("ag.as_strided_copy", lambda L, a, s, st, o: L.as_strided_copy(a, s, st, o))],
                        tensors, sizes, strides, offsets, base=(f.TENSORS[0], (2, 2), (1, 1), None),
                        msg="as_strided"),
        "as_strided_scatter": S([("ag.as_strided_scatter",
                                  lambda L, a, b, s, st, o: L.as_strided_scatter(a, b, s, st, o)),
                                 ("Tensor.as_strided_scatter",
                                  lambda L, a, b, s, st, o: a.as_strided_scatter(b, s, st, o))],
                                tensors, srcs, sizes, strides, offsets,
                                base=(f.TENSORS[0], srcs[0], (2, 2), (1, 1), None),
                                # PyTorch 2.13's gradient for the input is wrong (see test_ops_inplace_views.py)
                                no_grad_check=True),
        "view_copy": S([("ag.view_copy", lambda L, a, s: L.view_copy(a, s))], f.TENSORS + f.JUNK[:1], f.SIZES[:10]),
        "t_copy": S([("ag.t_copy", lambda L, a: L.t_copy(a))], f.TENSORS + f.JUNK[:1]),
        "transpose_copy": S([("ag.transpose_copy", lambda L, a, d0, d1: L.transpose_copy(a, d0, d1))],
                            f.TENSORS + f.JUNK[:1], f.DIM1, f.DIM1),
        "permute_copy": S([("ag.permute_copy", lambda L, a, d: L.permute_copy(a, d))],
                          f.TENSORS + f.JUNK[:1], [(1, 0), (0,), (), (0, 0), (0, 1, 2), (1, 0, 2), "a", None, 1]),
        "expand_copy": S([("ag.expand_copy", lambda L, a, s: L.expand_copy(a, s))],
                         f.TENSORS + f.JUNK[:1], [(2, 3), (2, 2, 3), (-1, 3), (3,), (), (0, 3), "a", None, (1.5,)]),
        "squeeze_copy": S([("ag.squeeze_copy", lambda L, a, d: L.squeeze_copy(a, d))],
                          f.TENSORS + f.JUNK[:1], f.DIMS),
        "unsqueeze_copy": S([("ag.unsqueeze_copy", lambda L, a, d: L.unsqueeze_copy(a, d))],
                            f.TENSORS + f.JUNK[:1], f.DIM1),
        "diagonal_copy": S([("ag.diagonal_copy", lambda L, a, o, d1, d2: L.diagonal_copy(a, o, d1, d2))],
                           f.TENSORS + f.JUNK[:1], [0, 1, -1, 5, 1.5, None], f.DIM1[:6], [1, 0, -1, 2, "a"],
                           msg="diagonal"),
        "select_copy": S([("ag.select_copy", lambda L, a, d, i: L.select_copy(a, d, i))],
                         f.TENSORS + f.JUNK[:1], f.DIM1, [0, 1, -1, 5, -5, 1.5, "a", None], msg="select"),
        "slice_copy": S([("ag.slice_copy", lambda L, a, d, s, e, st: L.slice_copy(a, d, s, e, st))],
                        f.TENSORS + f.JUNK[:1], f.DIM1, [None, 0, 1, -1, 9, 1.5, "a"], [None, 2, -1, 0, 9, "a"],
                        [1, 2, 0, -1, 1.5, "a"], msg="slice"),
        "split_copy": S([("ag.split_copy", lambda L, a, s, d: L.split_copy(a, s, d))],
                        f.TENSORS + f.JUNK[:1], [1, 2, 0, -1, 1.5, "a", None], f.DIM1, msg="split"),
        "split_with_sizes_copy": S([("ag.split_with_sizes_copy", lambda L, a, s, d: L.split_with_sizes_copy(a, s, d))],
                                   f.TENSORS + f.JUNK[:1], [[1, 1], [1, 2], [3], [2, -1], [], 2, "a", None, [1.5]],
                                   f.DIM1, msg="split"),
        "unbind_copy": S([("ag.unbind_copy", lambda L, a, d: L.unbind_copy(a, d))], f.TENSORS + f.JUNK[:1], f.DIM1,
                         msg="unbind"),
        "unfold_copy": S([("ag.unfold_copy", lambda L, a, d, s, st: L.unfold_copy(a, d, s, st))],
                         f.TENSORS + f.JUNK[:1], f.DIM1[:6], [1, 2, 0, -1, 9, "a"], [1, 2, 0, -1, "a"],
                         msg="unfold"),
        "alias_copy": S([("ag.alias_copy", lambda L, a: L.alias_copy(a))], f.TENSORS + f.JUNK[:1]),
        "detach_copy": S([("ag.detach_copy", lambda L, a: L.detach_copy(a))], f.TENSORS + f.JUNK[:1]),
    }
    return {**metadata, **copies}
