"""The rearranging ops (autograd_gpu/ops/rearrange.py) against PyTorch CPU:
forward values, grad_fn names where ours is PyTorch's node, gradients in
float64 and float32, finite-difference gradcheck to second order; result
dtypes for every input dtype, 0-d and empty inputs, views, NaN/inf."""
import numpy as np
import pytest

import autograd_gpu as ag
from oracle import case_tests, to_numpy

IX = lambda *rows: np.array(rows, dtype=np.int64)      # noqa: E731  an int64 index input


def on(m, x, data):
    """An int64 index tensor on x's device."""
    return m.tensor(data, device=x.device)


def same_dtype(ours, theirs):
    return str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]


def mixed(m, pieces):
    """Several outputs as one (each weighted apart), so that one backward reaches them all."""
    return m.cat([p.reshape(-1) * (i + 1) for i, p in enumerate(pieces)])


#      id                      fn(lib, *inputs)                                           inputs              options
CASES = [
    # ---- stacks (CatBackward0) ----
    ("hstack_1d",             lambda m, a, b: m.hstack([a, b]),                           [(3,), (2,)],       {}),
    ("hstack_2d",             lambda m, a, b: m.hstack((a, b)),                           [(2, 3), (2, 1)],   {}),
    ("hstack_0d",             lambda m, a, b: m.hstack([a, b]),                           [(), (2,)],         {}),
    ("hstack_empty_1d",       lambda m, a, b: m.hstack([a, b]),                           [(0,), (2, 3)],     {}),
    ("vstack",                lambda m, a, b: m.vstack([a, b]),                           [(3,), (2, 3)],     {}),
    ("vstack_0d",             lambda m, a, b: m.vstack([a, b]),                           [(), ()],           {}),
    ("row_stack",             lambda m, a, b: m.row_stack([a, b]),                        [(1, 3), (3,)],     {}),
    ("dstack",                lambda m, a, b: m.dstack([a, b]),                           [(2, 3), (2, 3, 2)], {}),
    ("dstack_1d",             lambda m, a, b, c: m.dstack([a, b, c]),                     [(3,), (3,), (1, 3)], {}),
    ("column_stack",          lambda m, a, b, c: m.column_stack([a, b, c]),               [(3,), (3, 2), (3, 1)], {}),
    ("column_stack_0d",       lambda m, a, b: m.column_stack([a, b]),                     [(), ()],           {}),
    # ---- atleast_*d (views: ViewBackward0 / UnsqueezeBackward0) ----
    ("atleast_1d_0d",         lambda m, x: m.atleast_1d(x),                               [()],               {}),
    ("atleast_1d_same",       lambda m, x: m.atleast_1d(x),                               [(2, 3)],           dict(name=False)),
    ("atleast_2d_0d",         lambda m, x: m.atleast_2d(x),                               [()],               {}),
    ("atleast_2d_1d",         lambda m, x: m.atleast_2d(x),                               [(3,)],             {}),
    ("atleast_3d_0d",         lambda m, x: m.atleast_3d(x),                               [()],               {}),
    ("atleast_3d_1d",         lambda m, x: m.atleast_3d(x),                               [(3,)],             {}),
    ("atleast_3d_2d",         lambda m, x: m.atleast_3d(x),                               [(2, 3)],           {}),
    ("atleast_3d_4d",         lambda m, x: m.atleast_3d(x) * 2,                           [(2, 1, 3, 2)],     dict(name=False)),
    ("atleast_2d_several",    lambda m, a, b, c: mixed(m, m.atleast_2d(a, b, c)),        [(), (3,), (2, 2)], dict(name=False)),
    ("atleast_3d_list",       lambda m, a, b: mixed(m, m.atleast_3d([a, b])),            [(2,), (2, 2)],     dict(name=False)),
    ("atleast_1d_tuple",      lambda m, a, b: mixed(m, m.atleast_1d((a, b))),            [(), (2,)],         dict(name=False)),
    # ---- broadcasting (ExpandBackward0) ----
    ("broadcast_to",          lambda m, x: m.broadcast_to(x, (2, 3)),                     [(3,)],             {}),
    ("broadcast_to_list_-1",  lambda m, x: m.broadcast_to(x, [4, -1, 3]),                 [(2, 1)],           {}),
    ("broadcast_to_method",   lambda m, x: x.broadcast_to(2, 2, 3),                       [(2, 1)],           {}),
    ("broadcast_to_method_t", lambda m, x: x.broadcast_to((3, 2)),                        [()],               {}),
    ("broadcast_to_size_kw",  lambda m, x: x.broadcast_to(size=(2, 3)),                   [(1, 3)],           {}),
    ("broadcast_tensors",     lambda m, a, b: mixed(m, m.broadcast_tensors(a, b)),        [(3,), (2, 1)],     dict(name=False)),
    ("broadcast_tensors_3",   lambda m, a, b, c: mixed(m, m.broadcast_tensors(a, b, c)),  [(2, 1, 3), (), (4, 1)], dict(name=False)),
    ("broadcast_tensors_one", lambda m, a: m.broadcast_tensors(a)[0] * 2,                 [(2, 3)],           dict(name=False)),
    # ---- tile (RepeatBackward0) ----
    ("tile",                  lambda m, x: m.tile(x, (2,)),                               [(2, 3)],           {}),
    ("tile_more_dims",        lambda m, x: m.tile(x, [2, 1, 3]),                          [(2, 3)],           {}),
    ("tile_empty_dims",       lambda m, x: m.tile(x, ()),                                 [(2, 3)],           {}),
    ("tile_0d",               lambda m, x: m.tile(x, (3,)),                               [()],               {}),
    ("tile_method",           lambda m, x: x.tile(2, 2),                                  [(2, 3)],           {}),
    ("tile_method_tuple",     lambda m, x: x.tile((1, 2)),                                [(3,)],             {}),
    ("tile_method_kw",        lambda m, x: x.tile(dims=(2, 1)),                           [(2, 3)],           {}),
    ("tile_zero",             lambda m, x: m.tile(x, (0, 2)),                             [(2, 3)],           {}),
    # ---- roll (RollBackward0; flat: ViewBackward0) ----
    ("roll_flat",             lambda m, x: m.roll(x, 2),                                  [(2, 3)],           {}),
    ("roll_dim",              lambda m, x: m.roll(x, -1, 1),                              [(2, 3)],           {}),
    ("roll_dims",             lambda m, x: m.roll(x, (1, 5), (0, -1)),                    [(2, 3, 4)],        {}),
    ("roll_same_dim_twice",   lambda m, x: m.roll(x, (1, 1), (1, 1)),                     [(2, 3)],           {}),
    ("roll_method_kw",        lambda m, x: x.roll(shifts=[1], dims=[0]),                  [(3, 2)],           {}),
    ("roll_0d",               lambda m, x: m.roll(x, 3),                                  [()],               {}),
    ("roll_non_contiguous",   lambda m, x: m.roll(x.t(), 1),                              [(3, 2)],           {}),
    # ---- rot90 (Rot90Backward0) ----
    ("rot90",                 lambda m, x: m.rot90(x),                                    [(2, 3)],           {}),
    ("rot90_k2",              lambda m, x: m.rot90(x, 2),                                 [(2, 3)],           {}),
    ("rot90_k3",              lambda m, x: m.rot90(x, 3, [0, 1]),                         [(2, 3)],           {}),
    ("rot90_k0",              lambda m, x: m.rot90(x, 0),                                 [(2, 3)],           {}),
    ("rot90_k-1",             lambda m, x: m.rot90(x, -1),                                [(2, 3)],           {}),
    ("rot90_k5",              lambda m, x: m.rot90(x, 5),                                 [(2, 3)],           {}),
    ("rot90_dims_reversed",   lambda m, x: m.rot90(x, 1, (1, 0)),                         [(2, 3)],           {}),
    ("rot90_3d",              lambda m, x: x.rot90(k=1, dims=(2, -3)),                    [(2, 3, 4)],        {}),
    # ---- flips (FlipBackward0) ----
    ("fliplr",                lambda m, x: m.fliplr(x),                                   [(2, 3)],           {}),
    ("fliplr_method_3d",      lambda m, x: x.fliplr(),                                    [(2, 3, 2)],        {}),
    ("flipud",                lambda m, x: m.flipud(x),                                   [(3,)],             {}),
    ("flipud_method",         lambda m, x: x.flipud(),                                    [(2, 3)],           {}),
    # ---- take_along_dim (GatherBackward0), take (TakeBackward0) ----
    ("take_along_dim",        lambda m, x, i: m.take_along_dim(x, i, 1),                  [(2, 3), IX([0, 2, 1], [1, 1, 0])], {}),
    ("take_along_dim_flat",   lambda m, x, i: m.take_along_dim(x, i),                     [(2, 3), IX([5, 0], [1, 1])], {}),
    ("take_along_dim_bcast",  lambda m, x, i: m.take_along_dim(x, i, 1),                  [(1, 3), IX([0], [2])], {}),
    ("take_along_dim_bcast2", lambda m, x, i: x.take_along_dim(i, dim=0),                 [(2, 1, 3), IX([[1], [0]])], {}),
    ("take_along_dim_neg",    lambda m, x, i: m.take_along_dim(x, i, -1),                 [(2, 3), IX([-1, 0], [-3, 2])], {}),
    ("take_along_dim_repeat", lambda m, x, i: x.take_along_dim(i, 0),                     [(3,), IX(0, 0, 2, 0)], {}),
    ("take",                  lambda m, x, i: m.take(x, i),                               [(2, 3), IX([0, 5], [5, 2])], {}),
    ("take_neg",              lambda m, x, i: x.take(i),                                  [(2, 3), IX(-1, -6, 3)], {}),
    ("take_0d_index",         lambda m, x, i: x.take(index=i),                            [(2, 3), np.array(4)], {}),
    ("take_0d_input",         lambda m, x, i: m.take(x, i),                               [(), IX(0, -1, 0)], {}),
    # ---- splits (pieces: SliceBackward0 views) ----
    ("tensor_split_sections", lambda m, x: mixed(m, m.tensor_split(x, 3)),                [(5, 2)],           dict(name=False)),
    ("tensor_split_more",     lambda m, x: mixed(m, m.tensor_split(x, 7)),                [(5,)],             dict(name=False)),
    ("tensor_split_indices",  lambda m, x: mixed(m, m.tensor_split(x, [1, 3], 1)),        [(2, 5)],           dict(name=False)),
    ("tensor_split_unsorted", lambda m, x: mixed(m, m.tensor_split(x, (3, 1, -1, 9))),    [(5, 2)],           dict(name=False)),
    ("tensor_split_tensor",   lambda m, x: mixed(m, x.tensor_split(m.tensor([1, 4]), dim=-1)), [(2, 5)],      dict(name=False)),
    ("tensor_split_tensor0d", lambda m, x: mixed(m, m.tensor_split(x, m.tensor(2))),      [(5,)],             dict(name=False)),
    ("tensor_split_kw",       lambda m, x: mixed(m, m.tensor_split(x, sections=2, dim=1)), [(2, 4)],          dict(name=False)),
    ("tensor_split_kw_idx",   lambda m, x: mixed(m, x.tensor_split(indices=[2])),         [(4, 2)],           dict(name=False)),
    ("tensor_split_piece",    lambda m, x: m.tensor_split(x, 2)[1],                       [(5, 2)],           {}),
    ("hsplit",                lambda m, x: mixed(m, m.hsplit(x, 2)),                      [(3, 4)],           dict(name=False)),
    ("hsplit_1d",             lambda m, x: mixed(m, x.hsplit([1, 4])),                    [(6,)],             dict(name=False)),
    ("hsplit_varargs",        lambda m, x: mixed(m, x.hsplit(1, 2)),                      [(2, 4)],           dict(name=False)),
    ("vsplit",                lambda m, x: mixed(m, m.vsplit(x, [2])),                    [(3, 4)],           dict(name=False)),
    ("vsplit_method",         lambda m, x: mixed(m, x.vsplit(3)),                         [(3, 4)],           dict(name=False)),
    ("dsplit",                lambda m, x: mixed(m, m.dsplit(x, 2)),                      [(2, 1, 4)],        dict(name=False)),
    ("dsplit_method",         lambda m, x: mixed(m, x.dsplit(indices=[1, 3])),            [(2, 1, 4)],        dict(name=False)),
    # ---- ravel (ViewBackward0, of a CloneBackward0 when not contiguous) ----
    ("ravel",                 lambda m, x: m.ravel(x),                                    [(2, 3)],           {}),
    ("ravel_transposed",      lambda m, x: x.t().ravel(),                                 [(2, 3)],           {}),
    ("ravel_0d",              lambda m, x: x.ravel(),                                     [()],               {}),
    # ---- scatters over a view ----
    ("select_scatter",        lambda m, x, s: m.select_scatter(x, s, 0, 1),               [(3, 4), (4,)],     {}),
    ("select_scatter_neg",    lambda m, x, s: x.select_scatter(s, dim=-1, index=-1),      [(3, 4), (3,)],     {}),
    ("select_scatter_1d",     lambda m, x, s: m.select_scatter(x, s, 0, 2),               [(4,), ()],         {}),
    ("slice_scatter",         lambda m, x, s: m.slice_scatter(x, s, 0, 1, 2),             [(3, 4), (1, 4)],   {}),
    ("slice_scatter_all",     lambda m, x, s: m.slice_scatter(x, s),                      [(3, 4), (3, 4)],   {}),
    ("slice_scatter_step",    lambda m, x, s: x.slice_scatter(s, dim=1, start=1, step=2), [(3, 4), (3, 2)],   {}),
    ("slice_scatter_neg",     lambda m, x, s: m.slice_scatter(x, s, 1, -3, -1),           [(3, 4), (3, 2)],   {}),
    ("slice_scatter_clamped", lambda m, x, s: m.slice_scatter(x, s, 0, -10, 1),           [(3, 4), (1, 4)],   {}),
    ("slice_scatter_empty",   lambda m, x, s: m.slice_scatter(x, s, 1, 3, 1),             [(3, 4), (3, 0)],   {}),
    ("diagonal_scatter",      lambda m, x, s: m.diagonal_scatter(x, s),                   [(3, 4), (3,)],     {}),
    ("diagonal_scatter_off",  lambda m, x, s: m.diagonal_scatter(x, s, 1),                [(3, 4), (3,)],     {}),
    ("diagonal_scatter_neg",  lambda m, x, s: x.diagonal_scatter(s, offset=-1, dim1=1, dim2=0), [(3, 4), (3,)], {}),
    ("diagonal_scatter_3d",   lambda m, x, s: m.diagonal_scatter(x, s, 0, 0, 2),          [(2, 3, 4), (3, 2)], {}),
    ("diagonal_scatter_far",  lambda m, x, s: m.diagonal_scatter(x, s, 5),                [(3, 4), (0,)],     {}),
    # ---- empty and zero-size inputs ----
    ("hstack_zero_size",      lambda m, a, b: m.hstack([a, b]),                           [(2, 0), (2, 3)],   {}),
    ("roll_empty",            lambda m, x: m.roll(x, 1, 0),                               [(0, 3)],           {}),
    ("rot90_empty",           lambda m, x: m.rot90(x),                                    [(0, 3)],           {}),
    ("tile_empty",            lambda m, x: x.tile(2, 2),                                  [(0, 3)],           {}),
    ("take_empty_index",      lambda m, x, i: m.take(x, i),                               [(2, 3), np.zeros((0, 2), np.int64)], {}),
    ("take_along_dim_empty",  lambda m, x, i: m.take_along_dim(x, i, 0),                  [(2, 3), np.zeros((0, 3), np.int64)], {}),
    ("tensor_split_empty",    lambda m, x: mixed(m, m.tensor_split(x, 2)),                [(0, 3)],           dict(name=False)),
    ("select_scatter_empty",  lambda m, x, s: m.select_scatter(x, s, 0, 1),               [(2, 0), (0,)],     {}),
    ("broadcast_to_zero",     lambda m, x: m.broadcast_to(x, (0, 3)),                     [(1, 3)],           {}),
]
test_against_pytorch, test_gradcheck, test_second_order = case_tests(CASES)


# ---- every input dtype: the result's dtype and values (no gradient) ----

ANY_DTYPE = {
    "hstack": lambda m, x: m.hstack([x, x[:, :1]]), "vstack": lambda m, x: m.vstack([x[0], x]),
    "dstack": lambda m, x: m.dstack([x, x]), "column_stack": lambda m, x: m.column_stack([x[0], x.t()]),
    "atleast_3d": lambda m, x: m.atleast_3d(x[0]), "broadcast_to": lambda m, x: m.broadcast_to(x, (2, 2, 3)),
    "broadcast_tensors": lambda m, x: m.broadcast_tensors(x, x[:1])[1], "tile": lambda m, x: x.tile(2, 1, 1),
    "roll": lambda m, x: m.roll(x, (1, -1), (0, 1)), "roll_flat": lambda m, x: x.roll(4),
    "rot90": lambda m, x: m.rot90(x, 3), "fliplr": lambda m, x: m.fliplr(x), "flipud": lambda m, x: x.flipud(),
    "take_along_dim": lambda m, x: m.take_along_dim(x, on(m, x, [[2], [0]]), 1),
    "take": lambda m, x: x.take(on(m, x, [[5, -1], [0, 2]])), "tensor_split": lambda m, x: m.tensor_split(x, 2, 1)[0],
    "hsplit": lambda m, x: x.hsplit([1])[1], "ravel": lambda m, x: x.t().ravel(),
    "select_scatter": lambda m, x: m.select_scatter(x, x[1], 0, 0),
    "slice_scatter": lambda m, x: m.slice_scatter(x, x[:, :2], 1, 1),
    "diagonal_scatter": lambda m, x: m.diagonal_scatter(x, x[0, :2], 1),
}
DTYPES = ["float16", "float32", "float64", "int32", "int64", "bool"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", list(ANY_DTYPE))
def test_every_input_dtype(torch, device, op, dtype):
    a = np.array([[1.5, -2.0, 0.0], [3.0, 0.5, -1.0]]).astype(dtype)
    ours = ANY_DTYPE[op](ag, ag.tensor(a, device=device))
    theirs = ANY_DTYPE[op](torch, torch.tensor(a))
    assert same_dtype(ours, theirs) and ours.device == ag.device(device)
    np.testing.assert_array_equal(to_numpy(ours), to_numpy(theirs))


@pytest.mark.parametrize("pair", [("float32", "int64"), ("bool", "int32"), ("float16", "float64")])
def test_stacks_promote(torch, device, pair):
    a, b = np.ones((2, 2)).astype(pair[0]), np.zeros((2, 1)).astype(pair[1])
    for name in ("hstack", "column_stack"):
        ours = getattr(ag, name)([ag.tensor(a, device=device), ag.tensor(b, device=device)])
        theirs = getattr(torch, name)([torch.tensor(a), torch.tensor(b)])
        assert same_dtype(ours, theirs)
        np.testing.assert_array_equal(to_numpy(ours), to_numpy(theirs))


@pytest.mark.parametrize("src_dtype", ["float64", "float16", "int64", "bool"])
def test_scatters_cast_src_to_input_dtype(torch, device, src_dtype):
    rg = src_dtype.startswith("float")
    x = ag.zeros(3, 4, device=device, requires_grad=True)
    s = ag.ones(4, dtype=getattr(ag, src_dtype), device=device, requires_grad=rg)
    tx = torch.zeros(3, 4, requires_grad=True)
    ts = torch.ones(4, dtype=getattr(torch, src_dtype), requires_grad=rg)
    out, ref = ag.select_scatter(x, s, 0, 1), torch.select_scatter(tx, ts, 0, 1)
    assert out.dtype == ag.float32 and str(ref.dtype) == "torch.float32"
    np.testing.assert_array_equal(to_numpy(out), to_numpy(ref))
    (out * ag.arange(12.0, device=device).reshape(3, 4)).sum().backward()
    (ref * torch.arange(12.0).reshape(3, 4)).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), to_numpy(tx.grad))
    if rg:
        assert s.grad.dtype == s.dtype
        np.testing.assert_array_equal(to_numpy(s.grad), to_numpy(ts.grad))


def test_scatter_into_an_integer_input(torch, device):
    # a src that requires grad: PyTorch's error ("Autograd not support dtype"); without grad, a cast
    x, s = ag.zeros(2, 3, dtype=ag.int64, device=device), ag.ones(3, device=device, requires_grad=True) * 2.7
    tx, ts = torch.zeros(2, 3, dtype=torch.long), torch.ones(3, requires_grad=True) * 2.7
    for bad in (lambda m, x, s: m.select_scatter(x, s, 0, 0), lambda m, x, s: m.diagonal_scatter(x, s[:2], 1)):
        with pytest.raises(RuntimeError, match="Autograd not support dtype"):
            bad(torch, tx, ts)
        with pytest.raises(RuntimeError, match="(select|diagonal)_scatter.*Autograd not support dtype: Long"):
            bad(ag, x, s)
        with ag.no_grad(), torch.no_grad():
            out, ref = bad(ag, x, s), bad(torch, tx, ts)
        assert out.dtype == ag.int64 and not out.requires_grad and out.tolist() == ref.tolist()


# ---- NaN and inf ----

def test_special_values_pass_through(torch, device):
    a = np.array([[np.nan, np.inf, -np.inf], [0.0, -0.0, 1e30]])
    for fn in (lambda m, x: m.roll(x, 1, 1), lambda m, x: m.rot90(x), lambda m, x: x.take(on(m, x, [0, 1, 4])),
               lambda m, x: m.tile(x, (2, 1)), lambda m, x: m.take_along_dim(x, on(m, x, [[2], [1]]), 1),
               lambda m, x: m.diagonal_scatter(x, x[0, 1:], 1)):
        ours, theirs = fn(ag, ag.tensor(a, device=device)), fn(torch, torch.tensor(a))
        np.testing.assert_array_equal(to_numpy(ours), to_numpy(theirs))
        assert np.array_equal(np.signbit(to_numpy(ours)), np.signbit(to_numpy(theirs)))


@pytest.mark.parametrize("op", ["select_scatter", "slice_scatter", "diagonal_scatter"])
def test_overwritten_entries_get_exact_zeros_from_a_non_finite_gradient(torch, device, op):
    # (zeroed by writing, not by multiplying by a mask: inf * 0 would be NaN)
    call = {"select_scatter": lambda m, x, s: m.select_scatter(x, s, 0, 0),
            "slice_scatter": lambda m, x, s: m.slice_scatter(x, s, 0, 0, 1),
            "diagonal_scatter": lambda m, x, s: m.diagonal_scatter(x, s, 0, 1, 0)}[op]
    g = np.full((2, 2), np.inf)
    g[1, 1] = np.nan
    ours = []
    for lib, mk in ((ag, lambda a: ag.tensor(a, device=device, requires_grad=True)),
                    (torch, lambda a: torch.tensor(a, requires_grad=True))):
        x = mk(np.ones((2, 2)))
        s = mk(np.ones(2) if op != "slice_scatter" else np.ones((1, 2)))
        call(lib, x, s).backward(lib.tensor(g) if lib is torch else ag.tensor(g, device=device))
        ours.append((to_numpy(x.grad), to_numpy(s.grad)))
    for a, b in zip(*ours):
        np.testing.assert_array_equal(a, b)


# ---- views, and writes through them ----

def test_views_share_memory_as_pytorch(torch, device):
    cases = {
        "atleast_1d": lambda m, x: m.atleast_1d(x[0, 0]), "atleast_2d": lambda m, x: m.atleast_2d(x[0]),
        "atleast_3d": lambda m, x: m.atleast_3d(x), "broadcast_to": lambda m, x: m.broadcast_to(x[:1], (1, 2, 3)),
        "broadcast_tensors": lambda m, x: m.broadcast_tensors(x[0], x[:1, :1])[1],
        "tensor_split": lambda m, x: m.tensor_split(x, 2, 1)[1], "hsplit": lambda m, x: x.hsplit([2])[0],
        "vsplit": lambda m, x: x.vsplit(2)[1], "ravel": lambda m, x: x.ravel(), "ravel_t": lambda m, x: x.t().ravel(),
        "tile": lambda m, x: x.tile(1, 1), "roll": lambda m, x: x.roll(0, 0), "rot90": lambda m, x: x.rot90(4),
        "fliplr": lambda m, x: x.fliplr(), "hstack": lambda m, x: m.hstack([x]),
        "take_along_dim": lambda m, x: m.take_along_dim(x, on(m, x, [[0, 1, 2]]), 1),
    }
    for name, fn in cases.items():
        x, tx = ag.arange(6.0, device=device).reshape(2, 3), torch.arange(6.0).reshape(2, 3)
        y, ty = fn(ag, x), fn(torch, tx)
        assert (y._base is not None) == (ty._base is not None), name
        x.add_(100)
        tx.add_(100)
        np.testing.assert_array_equal(to_numpy(y), to_numpy(ty), err_msg=name)


def test_writes_through_split_pieces_reach_the_base(torch, device):
    x, tx = ag.zeros(5, 2, device=device, requires_grad=True), torch.zeros(5, 2, requires_grad=True)
    y, ty = x * 1, tx * 1
    ag.tensor_split(y, [1, 3])[1].add_(ag.ones(2, 2, device=device))
    torch.tensor_split(ty, [1, 3])[1].add_(torch.ones(2, 2))
    np.testing.assert_array_equal(to_numpy(y), to_numpy(ty))
    (y * ag.arange(10.0, device=device).reshape(5, 2)).sum().backward()
    (ty * torch.arange(10.0).reshape(5, 2)).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), to_numpy(tx.grad))


def test_results_that_are_their_input(torch, device):
    x, tx = ag.ones(2, 3, device=device), torch.ones(2, 3)
    assert (ag.atleast_2d(x) is x) == (torch.atleast_2d(tx) is tx) is True
    assert (ag.broadcast_tensors(x, x[0])[0] is x) == (torch.broadcast_tensors(tx, tx[0])[0] is tx) is True
    assert ag.atleast_1d() == torch.atleast_1d() == () and ag.atleast_3d([]) == ()
    assert type(ag.atleast_1d(x, x)) is tuple and type(ag.tensor_split(x, 2)) is tuple


def test_broadcast_shapes(torch):
    for shapes in [((2, 1), (3,)), (2, (3, 1)), (), ((),), ((2, 0), (1,)), ((2, 3), (3,), (4, 1, 1)),
                   (torch.Size([2, 1]), [4]), (None, (2,)), (True, 3)]:
        shapes_ours = tuple(tuple(s) if isinstance(s, torch.Size) else s for s in shapes)
        assert ag.broadcast_shapes(*shapes_ours) == tuple(torch.broadcast_shapes(*shapes))
    assert ag.broadcast_shapes(np.int64(2), (1, 1)) == (1, 2)        # (PyTorch refuses NumPy ints)


def test_create_graph_through_the_own_nodes(torch, device):
    # second derivatives: each node's backward is itself recorded (gradcheck covers the values)
    for fn in (lambda m, x: m.roll(x, 1, 0) * x, lambda m, x: m.rot90(x) @ x,
               lambda m, x: m.take(x, on(m, x, [0, 0, 3])) ** 2,
               lambda m, x: m.diagonal_scatter(x, m.diagonal(x) ** 2) * x,
               lambda m, x: m.select_scatter(x, x[0] ** 3, 0, 1) * x):
        a = np.arange(1.0, 5.0).reshape(2, 2)
        x, tx = ag.tensor(a, device=device, requires_grad=True), torch.tensor(a, requires_grad=True)
        (g,), (tg,) = (ag.autograd.grad(fn(ag, x).sum(), x, create_graph=True),
                       torch.autograd.grad(fn(torch, tx).sum(), tx, create_graph=True))
        (gg,), (tgg,) = ag.autograd.grad((g ** 2).sum(), x), torch.autograd.grad((tg ** 2).sum(), tx)
        np.testing.assert_allclose(to_numpy(gg), to_numpy(tgg), rtol=1e-12)


# ---- errors worth pinning ----

def test_take_along_dim_out_of_range_raises(torch, device):
    # DIVERGENCE: PyTorch 2.13's take_along_dim with a dim takes indices modulo the size (3 reads 0,
    # 30 reads 0, -4 reads 2): any index is accepted. Ours wraps negative indices in [-size, size), as
    # NumPy's take_along_axis, and refuses the others, as gather does
    x = ag.arange(6.0, device=device).reshape(2, 3)
    tx = torch.arange(6.0).reshape(2, 3)
    assert torch.take_along_dim(tx, torch.tensor([[3, -4]]), 1).tolist() == [[0.0, 2.0], [3.0, 5.0]]
    for bad in ([[3, 0]], [[-4, 0]]):
        with pytest.raises(RuntimeError, match=r"^take_along_dim\(\): index -?\d is out of bounds for dimension 1"):
            ag.take_along_dim(x, ag.tensor(bad, device=device), 1)
    # without a dim, both refuse an index out of [0, numel), negative ones too
    with pytest.raises(RuntimeError, match="take_along_dim"):
        ag.take_along_dim(x, ag.tensor([-1], device=device))
    with pytest.raises(RuntimeError):
        torch.take_along_dim(tx, torch.tensor([-1]))


def test_take_along_dim_flat_of_a_non_contiguous_input(torch, device):
    # DIVERGENCE: PyTorch 2.13 views the input flat for dim=None, which a non-contiguous input
    # refuses ("view size is not compatible"); ours reads it flat as documented
    a = np.arange(6.0).reshape(2, 3)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        torch.take_along_dim(torch.tensor(a).t(), torch.tensor([1, 4]))
    x = ag.tensor(a, device=device, requires_grad=True)
    out = ag.take_along_dim(x.t(), ag.tensor([1, 4], device=device))
    assert out.tolist() == torch.tensor(a).t().reshape(-1)[[1, 4]].tolist()
    out.sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]     # (x.t() flat: x[0, 0], x[1, 0], x[0, 1], ...)


def test_hsplit_takes_a_0d_integer_tensor_as_an_int(torch, device):
    x, tx = ag.ones(4, 2, 2, device=device), torch.ones(4, 2, 2)
    for name in ("hsplit", "vsplit", "dsplit"):
        ours = getattr(ag, name)(x, ag.tensor(2))
        assert [p.shape for p in ours] == [tuple(p.shape) for p in getattr(torch, name)(tx, torch.tensor(2))]
    with pytest.raises(TypeError, match="hsplit"):
        ag.hsplit(x, ag.tensor([1]))


def test_take_errors(torch, device):
    x = ag.ones(2, 3, device=device)
    for bad in ([6], [-7]):
        with pytest.raises(IndexError, match=r"^take\(\): out of range"):
            x.take(ag.tensor(bad, device=device))
        with pytest.raises(IndexError):
            torch.ones(2, 3).take(torch.tensor(bad))
    with pytest.raises(IndexError, match="take.*empty"):
        ag.take(ag.zeros(0, device=device), ag.tensor([0], device=device))
    with pytest.raises(RuntimeError, match="take.*Int"):
        x.take(ag.tensor([0], dtype=ag.int32, device=device))


def test_tensor_split_index_tensor_must_be_on_the_cpu(fake_cuda):
    # as PyTorch: the indices are read on the host
    x = ag.ones(4)
    with pytest.raises(RuntimeError, match="tensor_split.*cpu"):
        ag.tensor_split(x, ag.tensor([1], device="cuda"))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_gather_by_flat_positions_matches_pytorch(torch, device, dtype, dim, layout):
    """gather of a large random index with repeats (NumPy: a take and an add.at by flat positions):
    values and the input's gradient (upstream given in full, and expanded from a sum) are PyTorch's,
    on a contiguous input and a transposed one, and the gradient is bit for bit NumPy's n-d
    np.add.at of the same index (repeats summed in the same order)."""
    rng = np.random.default_rng(7 + dim)
    base = rng.standard_normal((60, 50, 40)).astype(dtype)
    x_np = base if layout == "contiguous" else base.transpose(2, 1, 0)
    shape = list(x_np.shape)
    shape[dim] = 70
    idx = rng.integers(0, x_np.shape[dim], shape)
    g_np = rng.standard_normal(shape).astype(dtype)
    results = []
    for L, dev in ((torch, {}), (ag, {"device": device})):
        b = L.tensor(base, **dev)
        x = (b if layout == "contiguous" else b.permute(2, 1, 0)).requires_grad_(True)
        i = L.tensor(idx, **dev)
        y = x.gather(dim, i)
        y.backward(L.tensor(g_np, **dev))
        gx_full = x.grad
        x.grad = None
        x.gather(dim, i).sum().backward()
        results.append([to_numpy(t) for t in (y.detach(), gx_full, x.grad)])
    for what, ours, theirs in zip(("values", "gradient", "gradient (sum)"), *results[::-1]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5 if dtype == "float32" else 1e-12, err_msg=what)
    grid = list(np.ix_(*(np.arange(n) for n in shape)))
    grid[dim] = idx
    expected = np.zeros(x_np.shape, dtype)
    np.add.at(expected, tuple(grid), g_np)
    np.testing.assert_array_equal(results[1][1], expected)
