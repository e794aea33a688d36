"""Fuzz specs (tests/test_fuzz_bad_input.py) of the ops in autograd_gpu/ops/rearrange.py."""


def specs(f):
    """{op: f.S(...)}; `f` is the fuzz test module (its S, T, Lst, pools: TENSORS, DIM1, ...)."""
    S, T, Lst = f.S, f.T, f.Lst
    f32 = lambda *shape, **kw: T("float32", shape, **kw)        # noqa: E731
    lists = [Lst(f32(2, 3, rg=True), f32(2, 1)), Lst(f32(3), T("float64", (2,), rg=True)),
             Lst(f32(), T("int64", (2,))), Lst(f32(2, 3), f32(3)), Lst(f32(2, 3), f32(3, 3)), Lst(),
             Lst(f32(2, 3), 1), f32(2, 3), "a", None, Lst(f32(0), f32(2, 3)), Lst(T("bool", (2, 3)), T("int32", (2, 3))),
             Lst(f32(2, 3, 2), f32(2, 3, 1)), Lst(f32(2, 0), T("float16", (2, 1))), Lst(f32(1, 3), f32(3, rg=True))]
    indices = [T("int64", (2, 3), data="index"), T("int64", (1, 3), data="index"), T("int64", ()),
               T("int64", (0, 3)), T("int64", (2,), data="index"), T("int64", (2, 3)), T("int32", (2, 3)),
               T("float32", (2, 3)), T("bool", (2, 3)), "a", None, [0, 1]]
    sizes = [(2, 3), (3,), (-1, 3), (4, 2, 3), (2,), (), (2, -1), (0, 3), (2.5,), ("a",), (-2, 3), 3, "a", None]
    splits = [2, 3, 1, 0, -1, [1, 2], (3, 1, -1, 9), [], T("int64", ()), T("int64", (2,), data="index"),
              T("int32", (2,)), T("int64", (2, 2)), 1.5, [1.5], "a", None, True]
    on = lambda name, fn, method=True: [(f"ag.{name}", fn)] + (     # noqa: E731
        [(f"Tensor.{name}", lambda L, a, *r, n=name: getattr(a, n)(*r))] if method else [])
    return {
        "hstack/vstack/dstack/column_stack": S(
            [(f"ag.{n}", lambda L, ts, n=n: getattr(L, n)(ts))
             for n in ("hstack", "vstack", "row_stack", "dstack", "column_stack")], lists,
            msg=("hstack", "vstack", "row_stack", "dstack", "column_stack", "cat")),
        "atleast_nd": S([(f"ag.atleast_{n}d", lambda L, a, b, n=n: getattr(L, f"atleast_{n}d")(
                          *((a,) if b == "-" else (a, b)))) for n in (1, 2, 3)],
                        f.TENSORS + [Lst(f32(), f32(2)), Lst(), "a", 1], ["-", f32(2), 1, None],
                        msg=("atleast_1d", "atleast_2d", "atleast_3d")),
        "broadcast_to": S([("ag.broadcast_to", lambda L, a, s: L.broadcast_to(a, s)),
                           ("Tensor.broadcast_to", lambda L, a, s: a.broadcast_to(*s)
                            if isinstance(s, tuple) else a.broadcast_to(s))], f.TENSORS, sizes),
        "broadcast_tensors": S([("ag.broadcast_tensors", lambda L, a, b: L.broadcast_tensors(a, b))],
                               f.TENSORS, f.TENSORS + ["a", 1, Lst(f32(2, 3))]),
        "broadcast_shapes": S([("ag.broadcast_shapes", lambda L, a, b: L.broadcast_shapes(a, b))],
                              [(2, 1), (3,), 2, (), [4, 1, 1], (-1,), 1.5, (2.5,), None, (0,), "ab"],
                              [(3,), (2, 1), (1,), 5, (), (-2,), [2, 3], "b", (2, 0)], no_grad_check=True),
        "tile": S([("ag.tile", lambda L, a, s: L.tile(a, s)),
                   ("Tensor.tile", lambda L, a, s: a.tile(*s) if isinstance(s, tuple) else a.tile(s))],
                  f.TENSORS, [(2,), (2, 1, 3), (), (0, 2), (-1,), [2, 2], 2, (2.5,), ("a",), "a", None, (True,)]),
        "roll": S(on("roll", lambda L, a, s, d: L.roll(a, s, d)), f.TENSORS,
                  [1, -2, (1, 2), (), 1.5, "a", True, [1], (7, -7)], [None, 0, -1, 2, (0, 1), (0, 0), (), 1.5, "a"]),
        "rot90": S(on("rot90", lambda L, a, k, d: L.rot90(a, k, d)), [f32(2, 3, rg=True)] + f.TENSORS,
                   [1, 2, 3, 0, -1, 5, 1.5, "a", None], [(0, 1), [1, 0], (0,), (0, 0), (0, 2), (1, -2), (0, 1, 2),
                                                          0, "a", (0.5, 1)]),
        "fliplr/flipud": S(on("fliplr", lambda L, a: L.fliplr(a)) + on("flipud", lambda L, a: L.flipud(a)),
                           f.TENSORS + ["a"], msg=("fliplr", "flipud", "flip")),
        "take_along_dim": S(on("take_along_dim", lambda L, a, i, d: L.take_along_dim(a, i, d)),
                            # (no non-contiguous input: PyTorch 2.13's dim=None path views it flat and raises,
                            # ours reshapes; tests/test_ops_rearrange.py pins that)
                            [f32(2, 3, rg=True)] + [t for t in f.TENSORS if t.form not in ("view", "expanded")], indices,
                            [1, 0, None, -1, 2, -3, 1.5, "a"]),
        "take": S(on("take", lambda L, a, i: L.take(a, i)), [f32(2, 3, rg=True)] + f.TENSORS,
                  indices + [T("int64", (2,)), T("int64", (4,), data="special")]),
        "tensor_split": S(on("tensor_split", lambda L, a, s, d: L.tensor_split(a, s, d)),
                          [f32(5, 2, rg=True)] + f.TENSORS, splits, [0, 1, -1, 2, -3, 1.5, "a", None]),
        "hsplit/vsplit/dsplit": S(on("hsplit", lambda L, a, s: L.hsplit(a, s)) + on("vsplit", lambda L, a, s: L.vsplit(a, s))
                                  + on("dsplit", lambda L, a, s: L.dsplit(a, s)),
                                  [T("float32", (4, 2, 2), rg=True)] + f.TENSORS, splits,
                                  msg=("hsplit", "vsplit", "dsplit", "tensor_split")),
        "ravel": S(on("ravel", lambda L, a: L.ravel(a)), f.TENSORS + ["a", None]),
        "select_scatter": S(on("select_scatter", lambda L, a, s, d, i: L.select_scatter(a, s, d, i)),
                            [f32(3, 4, rg=True)] + f.TENSORS,
                            [f32(4, rg=True), f32(3), T("float64", (4,)), T("int64", (4,)), f32(1, 4), f32(),
                             1.5, "a", None],
                            [0, 1, -1, 2, 1.5, "a", None], [1, 0, -1, 3, -4, 1.5, True, "a", None]),
        "slice_scatter": S(on("slice_scatter", lambda L, a, s, d, b, e, st: L.slice_scatter(a, s, d, b, e, st)),
                           [f32(3, 4, rg=True)] + f.TENSORS,
                           [f32(1, 4, rg=True), f32(3, 4), f32(3, 2), T("float64", (1, 4)), f32(4), f32(), 1.5, "a"],
                           [0, 1, -1, 2, 1.5, "a"], [1, None, 0, -1, -10, 9, 1.5, "a"], [2, None, 1, -1, 10, 1.5],
                           [1, 2, 0, -1, 1.5, None]),
        "diagonal_scatter": S(on("diagonal_scatter", lambda L, a, s, o, d1, d2: L.diagonal_scatter(a, s, o, d1, d2)),
                              [f32(3, 4, rg=True)] + f.TENSORS,
                              [f32(3, rg=True), f32(2), T("float64", (3,)), f32(0), f32(3, 1), f32(), 1.5, "a"],
                              [0, 1, -1, 5, 1.5, "a", None], [0, 1, -1, 2, "a"], [1, 0, -2, 3, None]),
    }
