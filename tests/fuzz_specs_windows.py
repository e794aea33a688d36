"""Fuzz specs (tests/test_fuzz_bad_input.py) of the ops in autograd_gpu/ops/windows.py: it has no ag
functions or Tensor methods of its own, so these fuzz the nn.functional forms built on its windows that
take the most arguments (transposed and 3-d convolution, 3-d pooling, max unpooling, LP pooling).
The pools stay short: the harness enumerates the product of their sizes (each op's here is below 10^4)."""


def specs(f):
    """{op: f.S(...)}; `f` is the fuzz test module (its S, T, Lst, pools: TENSORS, DIM1, ...)."""
    S, T = f.S, f.T
    f32 = lambda *shape, **kw: T("float32", shape, **kw)        # noqa: E731
    fn = lambda name: (f"F.{name}", lambda L, *a: getattr(L.nn.functional, name)(*a))      # noqa: E731
    images = [f32(1, 2, 3, 3, rg=True), T("float64", (2, 3, 3), rg=True), f32(2, 3), f32(0, 2, 3, 3),
              f32(1, 2, 0, 3), f32(1, 2, 3, 3, data="special"), T("float16", (1, 2, 3, 3)), T("int64", (1, 2, 3, 3)),
              T("int32", (1, 2, 3, 3)), T("bool", (1, 2, 3, 3)), "a"]
    volumes = [f32(1, 2, 3, 3, 2, rg=True), T("float64", (2, 3, 2, 3), rg=True), f32(1, 2, 3), f32(0, 2, 2, 2, 2),
               T("float64", (1, 1, 3, 2, 2), data="special"), T("float16", (1, 2, 2, 2, 2)),
               T("int64", (1, 2, 2, 2, 2)), T("bool", (1, 2, 2, 2, 2))]
    return {
        "conv_transpose2d": S(
            [fn("conv_transpose2d")], images[:8],
            [f32(2, 3, 2, 2, rg=True), T("float64", (2, 3, 2, 2)), f32(2, 3, 2), f32(3, 3, 2, 2), f32(2, 0, 2, 2),
             [1.0]],
            [None, f32(3, rg=True), f32(2)], [1, 2, 0, (1, 2, 1)], [0, 1, "same"], [0, 1, 2, (0, 1.5)],
            [1, 2, 0], [1, 2]),
        "conv3d": S([fn("conv3d")], volumes,
                    [T("float32", (2, 2, 2, 1, 2), rg=True), T("float64", (2, 2, 2, 2, 2)), f32(2, 2, 2, 2),
                     f32(2, 1, 2, 2, 2), T("int64", (2, 2, 1, 1, 1))],
                    [None, f32(2, rg=True)], [1, 2, 0, (1, 2)], [0, 1, -1, "same", (1, 0, 1)], [1, 2],
                    [1, 2, 0]),
        "avg_pool3d": S([fn("avg_pool3d")], volumes, [2, 1, (2, 1, 2), 0, 4, "a"], [None, 2, 0, (1, 2, 1)],
                        [0, 1, -1, 2], [False, True], [True, False], [None, 2, 0]),
        "max_pool3d": S([fn("max_pool3d")], volumes, [2, 1, (2, 1, 2), 0, 4], [None, 1, 0], [0, 1, -1],
                        [1, 2], [False, True], [False, True]),
        "max_unpool2d": S(
            [fn("max_unpool2d")],
            [f32(1, 2, 2, 2, rg=True), T("float64", (2, 2, 2), rg=True), f32(2, 2), f32(0, 2, 2, 2),
             f32(1, 0, 2, 2), f32(1, 2, 2, 2, data="special"), T("float16", (1, 2, 2, 2)), T("int64", (1, 2, 2, 2))],
            [T("int64", (1, 2, 2, 2), data="index"), T("int64", (2, 2, 2), data="index"), T("int64", (1, 2, 2, 1)),
             T("int64", (1, 2, 2, 2)), T("int32", (1, 2, 2, 2), data="index"), f32(1, 2, 2, 2), [0, 1]],
            [2, (2, 3), 1.5, "a"], [None, 1, (2, 1)], [0, 1],
            [None, (4, 4), (1, 2, 4, 4), (5, 4), (4,), (6, 4)]),
        "lp_pool2d": S([fn("lp_pool2d")], images, [2, 1, 3, 1.5, 0, float("inf"), "a"],
                       [2, 1, (2, 3), 0, 4], [None, 1, 0], [False, True]),
    }
