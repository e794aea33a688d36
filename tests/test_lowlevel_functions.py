"""autograd_gpu/ops/lowlevel.py against PyTorch CPU: PyTorch's remaining low-level and legacy top-level
functions (numerics, nn internals, deprecated linear algebra, eager control flow, process-wide switches):
values, gradients, gradchecks to second order, PyTorch's tuple types and its errors."""
import warnings

import numpy as np
import pytest

import autograd_gpu as ag
from oracle import assert_matches, case_tests, to_numpy

pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated:UserWarning",
                                        "ignore:LSTM with projections:UserWarning")


def rnd(shape, seed=0, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, shape)


def I(*values):                                             # noqa: E743 (an index array)
    return np.array(values, dtype=np.int64)


def rnn_params(mode, lib, layers, dirs, inp, hid, seed, bias=True, proj=0):
    """Flat weights in nn.RNNBase._flat_weights' order (float64 arrays in, lib tensors out)."""
    gates = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}[mode]
    out, k = [], seed
    for layer in range(layers):
        for _ in range(dirs):
            width = inp if layer == 0 else (proj or hid) * dirs
            shapes = [(gates * hid, width), (gates * hid, proj or hid)]
            shapes += [(gates * hid,), (gates * hid,)] if bias else []
            shapes += [(proj, hid)] if proj else []
            for s in shapes:
                k += 1
                out.append(lib.tensor(rnd(s, k, -0.5, 0.5), dtype=lib.float64))
    return out


CELL = dict(arrays=[rnd((3, 4), 1), rnd((3, 5), 2), rnd((5, 4), 3), rnd((5, 5), 4), rnd(5, 5), rnd(5, 6)])
GRU_CELL = dict(arrays=[rnd((3, 4), 1), rnd((3, 2), 2), rnd((6, 4), 3), rnd((6, 2), 4), rnd(6, 5), rnd(6, 6)])
LSTM_CELL = dict(arrays=[rnd((3, 4), 1), rnd((3, 2), 2), rnd((3, 2), 7), rnd((8, 4), 3), rnd((8, 2), 4), rnd(8, 5),
                         rnd(8, 6)])
COORDS = np.array([0.0, 0.5, 1.7, 2.0, 3.1])

#      id                     fn(lib, *inputs)                                                         inputs                 options
CASES = [
    ("vander",                lambda m, x: m.vander(x),                                                [(5,)],                dict(name=False, torch_fn=lambda t, x: x.unsqueeze(1) ** t.arange(4, -1, -1, dtype=x.dtype))),
    ("vander_N_increasing",   lambda m, x: m.vander(x, 3, increasing=True),                            [(4,)],                dict(name=False, torch_fn=lambda t, x: x.unsqueeze(1) ** t.arange(3, dtype=x.dtype))),
    ("gradient",              lambda m, x: m.gradient(x),                                              [(4, 5)],              dict(name=False)),
    ("gradient_spacing_dim",  lambda m, x: m.gradient(x, spacing=0.5, dim=1, edge_order=2),            [(4, 5)],              dict(name=False)),
    ("gradient_spacings",     lambda m, x: m.gradient(x, spacing=[2.0, 0.25]),                         [(3, 5)],              dict(name=False)),
    ("gradient_coords",       lambda m, x, c: m.gradient(x, spacing=[c], dim=-1),                      [(3, 5), COORDS],      dict(name=False)),
    ("gradient_coords_2",     lambda m, x, c: m.gradient(x, spacing=(c,), dim=0, edge_order=2),        [(5, 2), COORDS],      dict(name=False)),
    ("frobenius_norm",        lambda m, x: m.frobenius_norm(x, (0, 1)),                                [(3, 4)],              dict(name=False)),
    ("frobenius_norm_keep",   lambda m, x: m.frobenius_norm(x, [1], True),                             [(3, 4)],              dict(name=False)),
    ("nuclear_norm",          lambda m, x: m.nuclear_norm(x),                                          [(3, 4)],              dict(name=False)),
    ("nuclear_norm_dim",      lambda m, x: m.nuclear_norm(x, (0, 2), True),                            [(3, 2, 4)],           dict(name=False)),
    ("norm_except_dim",       lambda m, x: m.norm_except_dim(x, 2, 1),                                 [(2, 3, 4)],           dict(name=False)),
    ("norm_except_dim_all",   lambda m, x: m.norm_except_dim(x, 3, -1),                                [(2, 3)],              dict(name=False)),
    ("segment_sum",           lambda m, x, n: m.segment_reduce(x, "sum", lengths=n),                   [(6, 2), I(2, 0, 4)],  {}),
    ("segment_mean_init",     lambda m, x, n: m.segment_reduce(x, "mean", lengths=n, initial=1.0),     [(6,), I(3, 0, 3)],    {}),
    ("segment_max_offsets",   lambda m, x, o: m.segment_reduce(x, "max", offsets=o, axis=1),           [(2, 5), np.array([[0, 2, 5], [0, 1, 5]])], {}),
    ("segment_min_2d_lengths", lambda m, x, n: m.segment_reduce(x, "min", lengths=n, axis=1),          [(2, 5), np.array([[2, 3], [4, 1]])], {}),
    ("segment_prod",          lambda m, x, n: m.segment_reduce(x, "prod", lengths=n),                  [(5,), I(2, 3)],       {}),
    ("layer_norm",            lambda m, x, w, b: m.native_layer_norm(x, [4], w, b, 1e-5)[0],              [(2, 3, 4), (4,), (4,)], {}),
    ("group_norm",            lambda m, x, w, b: m.native_group_norm(x, w, b, 2, 4, 3, 2, 1e-5),       [(2, 4, 3), (4,), (4,)], {}),
    ("batch_norm_train",      lambda m, x, w, b: m.native_batch_norm(x, w, b, None, None, True, 0.1, 1e-5)[0], [(4, 3, 2), (3,), (3,)], {}),
    ("convolution",           lambda m, x, w, b: m.convolution(x, w, b, [1], [1], [1], False, [0], 1), [(2, 2, 5), (6, 2, 3), (6,)], {}),
    ("convolution_groups",    lambda m, x, w: m.convolution(x, w, None, [2, 1], [1, 0], [1, 2], False, [0, 0], 2), [(1, 4, 5, 6), (2, 2, 3, 2)], {}),
    ("conv_transposed",       lambda m, x, w, b: m.convolution(x, w, b, [2], [1], [1], True, [1], 1),  [(2, 3, 4), (3, 2, 3), (2,)], {}),
    ("conv_transposed_2d",    lambda m, x, w: m.convolution(x, w, None, [2, 2], [0, 1], [1, 1], True, [1, 0], 2), [(1, 4, 3, 3), (4, 1, 2, 2)], {}),
    ("embedding_bag_mean",    lambda m, w, i, o: m.embedding_bag(w, i, o, False, 1)[0],                [(6, 3), I(1, 2, 4, 5, 4, 3), I(0, 2, 2, 4)], dict(name=False)),
    ("embedding_bag_max",     lambda m, w, i, o: m.embedding_bag(w, i, o, False, 2)[0],                [(6, 3), I(1, 2, 4, 5, 4, 3), I(0, 2, 2, 4)], dict(name=False, fd=False)),
    ("rnn_tanh_cell",         lambda m, x, h, wi, wh, bi, bh: m.rnn_tanh_cell(x, h, wi, wh, bi, bh),    [],                    dict(CELL, name=False)),
    ("rnn_relu_cell",         lambda m, x, h, wi, wh: m.rnn_relu_cell(x, h, wi, wh),                   [],                    dict(arrays=CELL["arrays"][:4], name=False)),
    ("gru_cell",              lambda m, x, h, wi, wh, bi, bh: m.gru_cell(x, h, wi, wh, bi, bh),         [],                    dict(GRU_CELL, name=False)),
    ("lstm_cell",             lambda m, x, h, c, wi, wh, bi, bh: m.lstm_cell(x, (h, c), wi, wh, bi, bh), [],                   dict(LSTM_CELL, name=False)),
    ("lu_solve",              lambda m, b, a: m.lu_solve(b, *m.lu(a + 4 * m.eye(3, dtype=a.dtype).to(a.device))),   [(3, 2), (3, 3)],      dict(name=False)),
    ("lu",                    lambda m, a: m.lu(a)[0],                                                 [(3, 3)],              dict(name=False)),
    ("cond",                  lambda m, x: m.cond(x.sum() > 0, lambda a: a.sin(), lambda a: a.cos(), (x,)), [(3,)],           dict(name=False, torch_fn=lambda t, x: x.sin() if x.sum() > 0 else x.cos())),
]

test_against_pytorch, test_gradcheck, test_second_order = case_tests(CASES)


# ---- numerics ------------------------------------------------------------------------------------

def test_vander_dtypes_and_gradient_at_zero(torch, device):
    assert ag.vander(ag.tensor([1, 2, 3], device=device)).dtype is ag.int64
    assert ag.vander(ag.tensor([True, False], device=device)).dtype is ag.int64
    assert tuple(ag.vander(ag.tensor([1.0, 2.0], device=device), N=0).shape) == (2, 0)
    np.testing.assert_array_equal(to_numpy(ag.vander(ag.tensor([1, 2, 3], device=device), 4)),
                                  torch.vander(torch.tensor([1, 2, 3]), 4).numpy())
    # PyTorch 2.13's own vander backward raises (a version error in its cumprod): ours is the power rule
    x = ag.tensor([0.0, 1.0, 2.0], dtype=ag.float64, device=device, requires_grad=True)
    ag.vander(x, 4).sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), [1.0, 6.0, 17.0])
    with pytest.raises(RuntimeError, match="inplace"):
        t = torch.tensor([0.0, 1.0, 2.0], requires_grad=True)
        torch.vander(t, 4).sum().backward()


def test_gradient_of_integers_and_single_dims(torch, device):
    for kw in (dict(), dict(spacing=2.0), dict(dim=1, edge_order=1)):
        ours = ag.gradient(ag.tensor([[1, 4, 9, 16]], device=device), **{**kw, "dim": 1})
        theirs = torch.gradient(torch.tensor([[1, 4, 9, 16]]), **{**kw, "dim": 1})
        assert isinstance(ours, tuple) and ours[0].dtype is ag.float32
        assert_matches(ours[0], theirs[0])


@pytest.mark.parametrize("bins, kw", [([3, 4], {}), (2, dict(range=[-1.0, 1.0, -2.0, 0.5], density=True)),
                                      (3, dict(weight=True)), (2, dict(range=[0.0, 1.0, 0.0, 1.0]))])
def test_histogramdd(torch, device, bins, kw):
    pts = np.round(rnd((20, 2), 3, -2, 2), 1)
    w = rnd(20, 4, 0, 1)
    tk = {**kw, "weight": torch.tensor(w)} if "weight" in kw else kw
    ak = {**kw, "weight": ag.tensor(w, device=device)} if "weight" in kw else kw
    r = torch.histogramdd(torch.tensor(pts), bins=bins, **tk)
    o = ag.histogramdd(ag.tensor(pts, device=device), bins=bins, **ak)
    assert type(o).__name__ == "histogramdd" and o._fields == ("hist", "bin_edges")
    assert isinstance(o.bin_edges, tuple)
    assert_matches(o.hist, r.hist)
    for a, b in zip(o.bin_edges, r.bin_edges):
        assert_matches(a, b)


def test_histogramdd_edges_given_and_equal_range(torch, device):
    pts = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 0.0], [2.0, 2.0]])
    edges = [np.array([0.0, 1.0, 2.0]), np.array([0.0, 2.0])]
    r = torch.histogramdd(torch.tensor(pts), bins=[torch.tensor(e) for e in edges])
    o = ag.histogramdd(ag.tensor(pts, device=device), bins=[ag.tensor(e, device=device) for e in edges])
    assert_matches(o.hist, r.hist)
    r = torch.histogramdd(torch.ones(3, 2, dtype=torch.float64), bins=2)
    o = ag.histogramdd(ag.ones(3, 2, dtype=ag.float64, device=device), bins=2)
    assert_matches(o.hist, r.hist)
    assert_matches(o.bin_edges[0], r.bin_edges[0])


def test_segment_reduce_empty_runs_and_initial(torch, device):
    d = np.arange(1.0, 8.0)
    for red in ("sum", "mean", "max", "min", "prod"):
        for init in (None, 2.0):
            r = torch.segment_reduce(torch.tensor(d), red, lengths=torch.tensor([2, 0, 5]), initial=init)
            o = ag.segment_reduce(ag.tensor(d, device=device), red, lengths=ag.tensor([2, 0, 5], device=device),
                                  initial=init)
            assert_matches(o, r)
    r = torch.segment_reduce(torch.tensor(d), "sum", lengths=torch.tensor([2, 0, 3]), unsafe=True)
    o = ag.segment_reduce(ag.tensor(d, device=device), "sum", lengths=ag.tensor([2, 0, 3], device=device),
                          unsafe=True)
    assert_matches(o, r)


def test_segment_max_splits_ties_as_pytorch(torch, device):
    a = np.array([1.0, 3.0, 3.0, 2.0, 0.0, 5.0])
    x, t = ag.tensor(a, device=device, requires_grad=True), torch.tensor(a, requires_grad=True)
    ag.segment_reduce(x, "max", lengths=ag.tensor([3, 3], device=device)).sum().backward()
    torch.segment_reduce(t, "max", lengths=torch.tensor([3, 3])).sum().backward()
    assert_matches(x.grad, t.grad)


def test_nonzero_static(torch, device):
    for data, kw in (([0, 1, 0, 2], dict(size=4)), ([[0, 1], [3, 2]], dict(size=1, fill_value=7)),
                     ([0, 0], dict(size=0)), (3.0, dict(size=2))):
        o = ag.nonzero_static(ag.tensor(data, device=device), **kw)
        r = torch.nonzero_static(torch.tensor(data), **kw)
        assert o.dtype is ag.int64
        np.testing.assert_array_equal(to_numpy(o), r.numpy())
    np.testing.assert_array_equal(to_numpy(ag.tensor([0, 5], device=device).nonzero_static(size=2)), [[1], [-1]])


def test_empty_permuted_strides(torch, device):
    for size, layout in (((2, 3, 4), (2, 0, 1)), ((2, 3), (0, 1)), ((5,), (0,))):
        o = ag.empty_permuted(size, layout, dtype=ag.float64, device=device)
        r = torch.empty_permuted(size, layout, dtype=torch.float64)
        assert tuple(o.shape) == tuple(r.shape) and tuple(o.stride()) == r.stride(), (size, layout)
        assert o.dtype is ag.float64 and o.device == ag.device(device)
    o = ag.empty_permuted((2, 3), (1, 0), requires_grad=True, device=device)
    assert o.requires_grad and o.is_leaf


def test_frombuffer_shares_memory(torch):
    raw = bytearray(np.arange(6, dtype=np.int16).tobytes())
    o = ag.frombuffer(raw, dtype=ag.int16, count=3, offset=4)
    np.testing.assert_array_equal(o.numpy(), torch.frombuffer(bytearray(raw), dtype=torch.int16, count=3,
                                                              offset=4).numpy())
    o[0] = 100
    assert np.frombuffer(raw, dtype=np.int16)[2] == 100
    f = ag.frombuffer(bytearray(8), dtype=ag.float32, requires_grad=True)
    assert f.requires_grad and f.is_leaf and tuple(f.shape) == (2,)
    np.testing.assert_array_equal(ag.frombuffer(b"abcd", dtype=ag.uint8).numpy(), [97, 98, 99, 100])


def test_slice_inverse_views_the_base(torch, device):
    base = ag.arange(10.0, device=device)
    out = ag.slice_inverse(base[2:8:2], base, 0, 2, 8, 2)
    tb = torch.arange(10.0)
    np.testing.assert_array_equal(to_numpy(out), torch.slice_inverse(tb[2:8:2], tb, 0, 2, 8, 2).numpy())
    assert out._version == base._version
    with pytest.raises(RuntimeError):
        ag.slice_inverse(base[2:8:2].clone(), base, 0, 2, 8, 2)


# ---- nn internals --------------------------------------------------------------------------------

def test_native_layer_norm_statistics(torch, device):
    a = rnd((2, 3, 4), 5)
    x, t = ag.tensor(a, device=device, requires_grad=True), torch.tensor(a, requires_grad=True)
    o, r = ag.native_layer_norm(x, [3, 4], None, None, 1e-5), torch.native_layer_norm(t, [3, 4], None, None, 1e-5)
    for p, q in zip(o, r):
        assert tuple(p.shape) == tuple(q.shape) and p.requires_grad == q.requires_grad
        assert_matches(p, q)


@pytest.mark.parametrize("training", [True, False])
def test_native_batch_norm_running_stats(torch, device, training):
    a = rnd((4, 3, 2), 6)
    rm, rv = rnd(3, 7), rnd(3, 8, 0.5, 1.5)
    ours = [ag.tensor(v, device=device) for v in (rm, rv)]
    theirs = [torch.tensor(v) for v in (rm, rv)]
    o = ag.native_batch_norm(ag.tensor(a, device=device), None, None, *ours, training, 0.1, 1e-5)
    r = torch.native_batch_norm(torch.tensor(a), None, None, *theirs, training, 0.1, 1e-5)
    for p, q in zip(list(o) + ours, list(r) + theirs):
        assert tuple(p.shape) == tuple(q.shape)
        assert_matches(p, q)


def test_native_group_norm_gradients_through_its_statistics(torch, device):
    a = rnd((2, 4, 3), 9)
    x, t = ag.tensor(a, device=device, requires_grad=True), torch.tensor(a, requires_grad=True)
    o = ag.native_group_norm(x, None, None, 2, 4, 3, 2, 1e-5)
    r = torch.native_group_norm(t, None, None, 2, 4, 3, 2, 1e-5)
    (o[0].sin().sum() + o[1].square().sum() + o[2].sum()).backward()
    (r[0].sin().sum() + r[1].square().sum() + r[2].sum()).backward()
    assert_matches(x.grad, t.grad)


def test_native_dropout(device):
    x = ag.ones(2000, dtype=ag.float64, device=device, requires_grad=True)
    out, mask = ag.native_dropout(x, 0.25, True)
    assert mask.dtype is ag.bool and not mask.requires_grad
    assert 0.7 < float(mask.double().mean()) < 0.8
    np.testing.assert_allclose(to_numpy(out), to_numpy(mask) / 0.75)
    out.sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), to_numpy(mask) / 0.75)
    same, keep = ag.native_dropout(x, 0.5, False)
    assert bool(keep.all()) and same is not x and bool((same == x).all())
    zero, _ = ag.native_dropout(x, 1.0, None)
    assert float(zero.abs().sum()) == 0


def test_sync_batch_norm_pieces_agree_with_native_batch_norm(torch, device):
    """PyTorch runs the batch_norm_* pieces on CUDA only: on its CPU they are checked
    against native_batch_norm's statistics, output and autograd gradients."""
    a, g, w, b = rnd((4, 3, 5), 10), rnd((4, 3, 5), 11), rnd(3, 12), rnd(3, 13)
    t = torch.tensor(a, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    out, mean_t, invstd_t = torch.native_batch_norm(t, tw, torch.tensor(b), None, None, True, 0.1, 1e-5)
    out.backward(torch.tensor(g))
    x = ag.tensor(a, device=device)
    mean, invstd = ag.batch_norm_stats(x, 1e-5)
    assert_matches(mean, mean_t)
    assert_matches(invstd, invstd_t)
    aw, ab = ag.tensor(w, device=device), ag.tensor(b, device=device)
    assert_matches(ag.batch_norm_elemt(x, aw, ab, mean, invstd, 1e-5), out)
    dy = ag.tensor(g, device=device)
    sum_dy, sum_dy_xmu, gw, gb = ag.batch_norm_backward_reduce(dy, x, mean, invstd, aw, True, True, True)
    assert_matches(gw, tw.grad)
    assert_matches(gb, torch.tensor(g).sum((0, 2)))
    count = ag.tensor([10, 10], device=device)            # two workers of 2 x 5 elements each
    grad_in = ag.batch_norm_backward_elemt(dy, x, mean, invstd, aw, sum_dy, sum_dy_xmu, count)
    assert_matches(grad_in, t.grad)
    parts = ag.batch_norm_backward_reduce(dy, x, mean, invstd, aw, False, True, False)
    assert parts[0] is None and parts[1] is None and parts[3] is None
    assert_matches(parts[2], tw.grad)
    # two workers' halves gathered give the full batch's statistics and running stats
    halves = [ag.batch_norm_stats(x[i:i + 2], 1e-5) for i in (0, 2)]
    rm, rv = ag.zeros(3, dtype=ag.float64, device=device), ag.ones(3, dtype=ag.float64, device=device)
    gm, gi = ag.batch_norm_gather_stats(x, ag.stack([h[0] for h in halves]), ag.stack([h[1] for h in halves]),
                                        rm, rv, 0.1, 1e-5, 10)
    assert_matches(gm, mean_t)
    assert_matches(gi, invstd_t)
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    torch.native_batch_norm(torch.tensor(a), None, None, trm, trv, True, 0.1, 1e-5)
    assert_matches(rm, trm)
    assert_matches(rv, trv)
    urm, urv = ag.zeros(3, dtype=ag.float64, device=device), ag.ones(3, dtype=ag.float64, device=device)
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for p, q in zip(ag.batch_norm_update_stats(x, urm, urv, 0.1) + (urm, urv),
                    torch.batch_norm_update_stats(torch.tensor(a), trm, trv, 0.1) + (trm, trv)):
        assert_matches(p, q)


@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize("extra", [{}, dict(padding_idx=4), dict(include_last_offset=True)])
def test_embedding_bag_tuple(torch, device, mode, extra):
    w = rnd((6, 3), 14)
    idx, off = I(1, 2, 4, 5, 4, 3), (I(0, 2, 2, 4, 6) if extra.get("include_last_offset") else I(0, 2, 2, 4))
    args = (False, mode, False, None, extra.get("include_last_offset", False), extra.get("padding_idx"))
    wt = ag.tensor(w, device=device, requires_grad=True)
    o = ag.embedding_bag(wt, ag.tensor(idx, device=device), ag.tensor(off, device=device), *args)
    tw = torch.tensor(w, requires_grad=True)
    r = torch.embedding_bag(tw, torch.tensor(idx), torch.tensor(off), *args)
    assert len(o) == 4
    assert_matches(o[0], r[0])
    for p, q in zip(o[1:], r[1:]):
        assert p.dtype is ag.int64
        np.testing.assert_array_equal(to_numpy(p), q.numpy())
    o[0].sum().backward()
    r[0].sum().backward()
    assert_matches(wt.grad, tw.grad)


def test_embedding_bag_per_sample_weights(torch, device):
    w, psw = rnd((6, 3), 15), rnd(6, 16)
    idx, off = I(1, 2, 4, 5, 4, 3), I(0, 2, 2, 4)
    o = ag.embedding_bag(ag.tensor(w, device=device), ag.tensor(idx, device=device), ag.tensor(off, device=device),
                         False, 0, False, ag.tensor(psw, device=device))
    r = torch.embedding_bag(torch.tensor(w), torch.tensor(idx), torch.tensor(off), False, 0, False,
                            torch.tensor(psw))
    assert_matches(o[0], r[0])
    np.testing.assert_array_equal(to_numpy(o[1]), r[1].numpy())
    o32 = ag.embedding_bag(ag.tensor(w, dtype=ag.float32, device=device), ag.tensor(idx, device=device),
                           ag.tensor(off, device=device), False, 0)
    r32 = torch.embedding_bag(torch.tensor(w, dtype=torch.float32), torch.tensor(idx), torch.tensor(off), False, 0)
    assert tuple(o32[1].shape) == tuple(r32[1].shape) == (0,)      # PyTorch's float32 fast path


def test_embedding_renorm_(torch, device):
    w = rnd((6, 3), 17, -2, 2)
    ours, theirs = ag.tensor(w, device=device), torch.tensor(w)
    v = ours._version
    assert ag.embedding_renorm_(ours, ag.tensor([1, 1, 2, 5], device=device), 1.0, 2.0) is ours
    torch.embedding_renorm_(theirs, torch.tensor([1, 1, 2, 5]), 1.0, 2.0)
    assert_matches(ours, theirs)
    assert ours._version > v


@pytest.mark.parametrize("mode, layers, dirs, batch_first, proj",
                         [(m, 1, 1, False, 0) for m in ("rnn_tanh", "rnn_relu", "gru", "lstm")] +
                         [(m, 2, 2, True, 0) for m in ("rnn_tanh", "rnn_relu", "gru", "lstm")] +
                         [("lstm", 2, 1, False, 3), ("lstm", 1, 2, True, 2)])   # projections: LSTM's only
def test_stacked_rnn_against_pytorch(torch, device, mode, layers, dirs, batch_first, proj):
    hid, inp = 4, 3
    a = rnd((5, 2, inp) if not batch_first else (2, 5, inp), 18)
    h0 = rnd((layers * dirs, 2, proj or hid), 19)
    c0 = rnd((layers * dirs, 2, hid), 20)
    res = []
    for lib, dev in ((ag, device), (torch, "cpu")):
        params = [p.to(dev) if lib is ag else p for p in rnn_params(mode, lib, layers, dirs, inp, hid, 21, True, proj)]
        for p in params:
            p.requires_grad_()
        x = lib.tensor(a, dtype=lib.float64, requires_grad=True, **({"device": dev} if lib is ag else {}))
        h = lib.tensor(h0, dtype=lib.float64, **({"device": dev} if lib is ag else {}))
        c = lib.tensor(c0, dtype=lib.float64, **({"device": dev} if lib is ag else {}))
        hx = [h, c] if mode == "lstm" else h
        out = getattr(lib, mode)(x, hx, params, True, layers, 0.0, False, dirs == 2, batch_first)
        sum(o.sin().sum() for o in out).backward()
        res.append((out, x.grad, [p.grad for p in params]))
    (o, gx, gp), (r, tgx, tgp) = res
    assert len(o) == len(r)
    for p, q in zip(o, r):
        assert_matches(p, q)
    assert_matches(gx, tgx)
    for p, q in zip(gp, tgp):
        assert_matches(p, q)


@pytest.mark.parametrize("mode", ["rnn_tanh", "lstm"])
@pytest.mark.parametrize("dirs", [1, 2])
def test_packed_rnn_against_pytorch(torch, device, mode, dirs):
    from torch.nn.utils.rnn import pack_padded_sequence
    packed = pack_padded_sequence(torch.tensor(rnd((4, 3, 3), 22)), [4, 2, 1])
    h0 = rnd((dirs, 3, 4), 23)
    res = []
    for lib, dev in ((ag, device), (torch, "cpu")):
        kw = {"device": dev} if lib is ag else {}
        params = [p.to(dev) if lib is ag else p for p in rnn_params(mode, lib, 1, dirs, 3, 4, 24)]
        data = lib.tensor(packed.data.numpy(), dtype=lib.float64, **kw)
        sizes = lib.tensor(packed.batch_sizes.numpy())
        h = lib.tensor(h0, dtype=lib.float64, **kw)
        hx = [h, h * 0.5] if mode == "lstm" else h
        res.append(getattr(lib, mode)(data, sizes, hx, params, True, 1, 0.0, False, dirs == 2))
    for p, q in zip(*res):
        assert_matches(p, q)


def test_rnn_dropout_between_layers_only_in_training(device):
    params = rnn_params("gru", ag, 2, 1, 3, 4, 25)
    x = ag.tensor(rnd((5, 2, 3), 26), device=device)
    params = [p.to(device) for p in params]
    h = ag.zeros(2, 2, 4, dtype=ag.float64, device=device)
    a = ag.gru(x, h, params, True, 2, 0.9, False, False, False)[0]
    b = ag.gru(x, h, params, True, 2, 0.0, True, False, False)[0]
    np.testing.assert_allclose(to_numpy(a), to_numpy(b))
    ag.manual_seed(0)
    c = ag.gru(x, h, params, True, 2, 0.9, True, False, False)[0]
    assert not np.allclose(to_numpy(a), to_numpy(c))


# ---- linear algebra ------------------------------------------------------------------------------

def test_lu_warns_once_and_returns_pytorchs_tuples(torch, device):
    a = rnd((2, 3, 3), 27)
    ag.set_warn_always(True)
    try:
        with pytest.warns(UserWarning, match="ag.lu is deprecated"):
            out = ag.lu(ag.tensor(a, device=device))
        with pytest.warns(UserWarning, match="ag.lu_solve is deprecated"):
            ag.lu_solve(ag.ones(2, 3, 1, dtype=ag.float64, device=device), *out)
    finally:
        ag.set_warn_always(False)
    ref = torch.lu(torch.tensor(a))
    assert type(out) is tuple and len(out) == 2
    assert_matches(out[0], ref[0])
    np.testing.assert_array_equal(to_numpy(out[1]), ref[1].numpy())
    withinfo = ag.lu(ag.zeros(3, 3, device=device), get_infos=True)
    tref = torch.lu(torch.zeros(3, 3), get_infos=True)
    assert withinfo._fields == ("LU", "pivots", "info") and int(withinfo.info) == int(tref.info) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ag.lu(ag.tensor(a, device=device))                  # once per process unless warn_always
    x = ag.tensor(rnd((3, 1), 28), device=device)
    lu_, piv = ag.tensor(a[0], device=device).lu()
    assert_matches(x.lu_solve(lu_, piv), torch.lu_solve(torch.tensor(rnd((3, 1), 28)), *torch.lu(torch.tensor(a[0]))))


def low_rank(m, n, k, seed):
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((m, k)))
    v, _ = np.linalg.qr(rng.standard_normal((n, k)))
    return (u * np.linspace(5.0, 1.0, k)) @ v.T


@pytest.mark.parametrize("shape", [(12, 8), (8, 12)])
def test_svd_lowrank_recovers_a_low_rank_matrix(torch, device, shape):
    a = low_rank(*shape, 3, 29)
    ag.manual_seed(1)
    U, S, V = ag.svd_lowrank(ag.tensor(a, device=device), q=4)
    assert tuple(U.shape) == (shape[0], 4) and tuple(S.shape) == (4,) and tuple(V.shape) == (shape[1], 4)
    np.testing.assert_allclose(to_numpy(U @ ag.diag(S) @ V.mT), a, atol=1e-10)
    np.testing.assert_allclose(to_numpy(S)[:3], torch.svd_lowrank(torch.tensor(a), q=4)[1].numpy()[:3], atol=1e-10)
    np.testing.assert_allclose(to_numpy(U.mT @ U), np.eye(4), atol=1e-10)


def test_svd_lowrank_gradient_and_M(torch, device):
    a = low_rank(10, 6, 2, 30)
    m = np.tile(rnd((1, 6), 31), (10, 1))
    x = ag.tensor(a + m, device=device, requires_grad=True)
    ag.manual_seed(2)
    U, S, V = ag.svd_lowrank(x, q=2, niter=3, M=ag.tensor(m, device=device))
    np.testing.assert_allclose(to_numpy(S), np.linalg.svd(a, compute_uv=False)[:2], rtol=1e-10)
    S.sum().backward()                                     # d(sum of singular values) = U V^T on rank-2 input
    np.testing.assert_allclose(to_numpy(x.grad), to_numpy((U @ V.mT).detach()), atol=1e-8)


def test_pca_lowrank_matches_pytorch(torch, device):
    a = low_rank(15, 5, 2, 32) + rnd((1, 5), 33)
    ag.manual_seed(3)
    U, S, V = ag.pca_lowrank(ag.tensor(a, device=device))
    tU, tS, tV = torch.pca_lowrank(torch.tensor(a))
    assert tuple(U.shape) == tuple(tU.shape) and tuple(V.shape) == tuple(tV.shape)
    np.testing.assert_allclose(to_numpy(S)[:2], tS.numpy()[:2], atol=1e-10)
    centered = a - a.mean(0)
    np.testing.assert_allclose(to_numpy(U @ ag.diag(S) @ V.mT), centered, atol=1e-10)
    _, S2, _ = ag.pca_lowrank(ag.tensor(a, device=device), q=3, center=False)
    np.testing.assert_allclose(to_numpy(S2), torch.pca_lowrank(torch.tensor(a), q=3, center=False)[1].numpy(),
                               rtol=1e-8)


@pytest.mark.parametrize("name", ["solve", "eig", "symeig", "lstsq", "matrix_rank"])
def test_removed_functions_raise_as_pytorch(torch, name):
    with pytest.raises(RuntimeError) as theirs:
        getattr(torch, name)(*[torch.eye(2)] * (2 if name in ("solve", "lstsq") else 1))
    with pytest.raises(RuntimeError) as ours:
        getattr(ag, name)(*[ag.eye(2)] * (2 if name in ("solve", "lstsq") else 1))
    assert str(ours.value) == str(theirs.value).replace("torch.", "ag.")
    assert "ag.linalg." in str(ours.value)


# ---- control flow --------------------------------------------------------------------------------

@pytest.fixture
def keeps_torch_validation(torch):
    """torch.cond imports torch._dynamo, which turns PyTorch's distribution argument checks off for
    the whole process (later oracle tests of bad distribution arguments then saw no error): restored."""
    validate = torch.distributions.Distribution._validate_args
    yield
    torch.distributions.Distribution.set_default_validate_args(validate)


def test_cond_and_while_loop_against_pytorch(torch, device, keeps_torch_validation):
    a = rnd(3, 34)
    x, t = ag.tensor(a, device=device, requires_grad=True), torch.tensor(a, requires_grad=True)
    o = ag.cond(ag.tensor(False, device=device), lambda u, v: (u * v, u + 1), lambda u, v: (u + v, v * 2), (x, x))
    r = torch.cond(torch.tensor(False), lambda u, v: (u * v, u + 1), lambda u, v: (u + v, v * 2), (t, t))
    assert isinstance(o, tuple) and len(o) == 2
    assert_matches(o[0], r[0])
    assert_matches(o[1], r[1])
    with pytest.raises(RuntimeError, match="aliasing"):
        ag.cond(ag.tensor(True, device=device), lambda u: u, lambda u: u + 1, (x,))
    assert ag.cond(True, lambda: 1, lambda: 2) == 1
    o = ag.while_loop(lambda i, s: i < 4, lambda i, s: (i + 1, s * 1.5), (ag.tensor(0, device=device), x))
    r = torch.while_loop(lambda i, s: i < 4, lambda i, s: (i + 1, s * 1.5), (torch.tensor(0), t.detach()))
    assert isinstance(o, tuple) and int(o[0]) == int(r[0]) == 4
    assert_matches(o[1], r[1])
    o[1].sum().backward()                                  # eager: the loop's graph is an ordinary one
    np.testing.assert_allclose(to_numpy(x.grad), np.full(3, 1.5 ** 4))


# ---- switches ------------------------------------------------------------------------------------

def test_switches_round_trip(torch):
    assert ag.is_warn_always_enabled() is False
    assert ag.get_float32_matmul_precision() == torch.get_float32_matmul_precision() == "highest"
    try:
        ag.set_float32_matmul_precision("medium")
        assert ag.get_float32_matmul_precision() == "medium"
        with pytest.warns(UserWarning, match="no effect"):
            ag.set_float32_matmul_precision("low")
        assert ag.get_float32_matmul_precision() == "medium"
    finally:
        ag.set_float32_matmul_precision("highest")
    try:
        for mode, flags in (("warn", (True, True)), (2, (True, False)), ("default", (False, False)), (1, (True, True))):
            ag.set_deterministic_debug_mode(mode)
            torch.set_deterministic_debug_mode(mode)
            assert ag.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode()
            assert (ag.are_deterministic_algorithms_enabled(), ag.is_deterministic_algorithms_warn_only_enabled()) \
                == flags
        ag.use_deterministic_algorithms(True)
        assert ag.get_deterministic_debug_mode() == 2
    finally:
        ag.set_deterministic_debug_mode(0)
        torch.set_deterministic_debug_mode(0)
    # NumPy and CuPy keep denormals: only the mode in effect reports True (pinned divergence)
    assert ag.set_flush_denormal(False) is True and ag.set_flush_denormal(True) is False
    assert ag.init_num_threads() is None
    assert ag.vmap(lambda v: v * 2)(ag.ones(3, 2)).shape == (3, 2)


def test_get_device_and_is_distributed(device):
    t = ag.ones(2, device=device)
    assert ag.get_device(t) == (-1 if device == "cpu" else 0)
    assert ag.is_distributed(t) is False and t.is_distributed() is False


# ---- bad input -----------------------------------------------------------------------------------

def _rnn_bad(x):
    return ag.gru(x.reshape(2, 1, 3), x.new_zeros(1, 1, 4), [x.new_zeros(12, 3)], True, 1, 0.0, False, False, False)


@pytest.mark.parametrize("call, kind, match", [
    (lambda x: ag.vander(x.reshape(2, 3)), RuntimeError, "vander"),
    (lambda x: ag.vander(x[0], N=-1), RuntimeError, "vander"),
    (lambda x: ag.gradient(x, edge_order=3), RuntimeError, "gradient"),
    (lambda x: ag.gradient(x.reshape(6, 1)), RuntimeError, "gradient"),
    (lambda x: ag.gradient(x.reshape(2, 3), spacing=[1.0, 2.0, 3.0]), RuntimeError, "gradient"),
    (lambda x: ag.gradient(x.reshape(2, 3), dim=(0, 0)), RuntimeError, "gradient"),
    (lambda x: ag.gradient(x.reshape(2, 3), dim=2), IndexError, "gradient"),
    (lambda x: ag.gradient(x.reshape(3, 2), spacing=[x.reshape(3, 2)], dim=0), RuntimeError, "gradient"),
    (lambda x: ag.gradient(x, spacing=x), TypeError, "gradient"),
    (lambda x: ag.frobenius_norm(x.reshape(1, 2, 3), (0, 1, 2)), RuntimeError, "frobenius_norm"),
    (lambda x: ag.histogramdd(x, bins=3), RuntimeError, "histogramdd"),
    (lambda x: ag.histogramdd(x.reshape(3, 2), bins=[3]), RuntimeError, "histogramdd"),
    (lambda x: ag.histogramdd(x.reshape(3, 2), bins=3, range=[0.0, 1.0]), RuntimeError, "histogramdd"),
    (lambda x: ag.histogramdd(x.reshape(3, 2), bins=3, range=[1.0, 0.0, 0.0, 1.0]), RuntimeError, "histogramdd"),
    (lambda x: ag.histogramdd(x.reshape(3, 2).long(), bins=3), NotImplementedError, "histogramdd"),
    (lambda x: ag.segment_reduce(x, "sum", lengths=x.new_tensor([2, 0, 3]).long()), RuntimeError, "segment_reduce"),
    (lambda x: ag.segment_reduce(x, "sum", lengths=x.new_tensor([8, -2]).long()), RuntimeError, "segment_reduce"),
    (lambda x: ag.segment_reduce(x, "foo", lengths=x.new_tensor([6]).long()), RuntimeError, "segment_reduce"),
    (lambda x: ag.segment_reduce(x, "sum"), RuntimeError, "segment_reduce"),
    (lambda x: ag.segment_reduce(x, "sum", indices=x.new_tensor([0]).long()), RuntimeError, "segment_reduce"),
    (lambda x: ag.segment_reduce(x, "sum", lengths=x.new_tensor([6.0])), NotImplementedError, "segment_reduce"),
    (lambda x: ag.segment_reduce(x.long(), "sum", lengths=x.new_tensor([6]).long()), NotImplementedError, "segment_reduce"),
    (lambda x: ag.segment_reduce(x.reshape(2, 3), "sum", lengths=x.new_tensor([3, 3]).long(), axis=1), RuntimeError, "segment_reduce"),
    (lambda x: ag.nonzero_static(x, size=-1), RuntimeError, "nonzero_static"),
    (lambda x: ag.empty_permuted((2, 3, 4), (0, 1)), RuntimeError, "empty_permuted"),
    (lambda x: ag.empty_permuted((2, 3, 4), (0, 1, 1)), RuntimeError, "empty_permuted"),
    (lambda x: ag.frombuffer(bytearray(8), dtype=ag.int32, offset=3), ValueError, "frombuffer"),
    (lambda x: ag.frombuffer(bytearray(8), dtype=ag.int32, count=3), ValueError, "frombuffer"),
    (lambda x: ag.frombuffer(bytearray(8), dtype=ag.int32, offset=9), ValueError, "frombuffer"),
    (lambda x: ag.frombuffer(bytearray(), dtype=ag.int32), ValueError, "frombuffer"),
    (lambda x: ag.frombuffer([1, 2], dtype=ag.uint8), ValueError, "frombuffer"),
    (lambda x: ag.native_group_norm(x.reshape(1, 6, 1), None, None, 1, 6, 1, 4, 1e-5), RuntimeError, "native_group_norm"),
    (lambda x: ag.native_dropout(x, 1.5, True), RuntimeError, "native_dropout"),
    (lambda x: ag.embedding_bag(x.reshape(3, 2), x.new_tensor([0, 1]).long(), x.new_tensor([0]).long(), False, 3), RuntimeError, "embedding_bag"),
    (lambda x: ag.embedding_renorm_(x, x.new_tensor([1]).long(), 1.0, 2.0), RuntimeError, "embedding_renorm_"),
    (lambda x: ag.embedding_renorm_(x.reshape(3, 2), x.new_tensor([1.0]), 1.0, 2.0), RuntimeError, "embedding_renorm_"),
    (lambda x: ag.embedding_renorm_(x.reshape(3, 2).requires_grad_(), x.new_tensor([1]).long(), 1.0, 2.0), RuntimeError, "leaf"),
    (lambda x: _rnn_bad(x), RuntimeError, "gru"),
    (lambda x: ag.gru_cell(x.reshape(2, 3), x.new_zeros(2, 5), x.new_zeros(12, 3), x.new_zeros(12, 4)), RuntimeError, "gru_cell"),
    (lambda x: ag.lstm_cell(x.reshape(2, 3), [x.new_zeros(2, 4)], x.new_zeros(16, 3), x.new_zeros(16, 4)), RuntimeError, "lstm_cell"),
    (lambda x: ag.pca_lowrank(x.reshape(2, 3), q=5), ValueError, "q"),
    (lambda x: ag.cond(x, lambda: x, lambda: x), RuntimeError, "single-element"),
    (lambda x: ag.cond("yes", lambda: x, lambda: x), RuntimeError, "pred"),
    (lambda x: ag.cond(x[0] > 0, 1, lambda: x), RuntimeError, "callable"),
    (lambda x: ag.cond(x[0] > 0, lambda a: a, lambda a: a, (x, 1.0)), RuntimeError, "operands"),
    (lambda x: ag.while_loop(lambda a: a.sum() < 100, lambda a: (a.sum(),), (x,)), RuntimeError, "metadata"),
    (lambda x: ag.while_loop(lambda a: a, lambda a: (a,), (x,)), RuntimeError, "cond_fn"),
    (lambda x: ag.while_loop(lambda a: True, 3, (x,)), RuntimeError, "callable"),
    (lambda x: ag.while_loop(lambda a: True, lambda a: (a,), x), RuntimeError, "carried_inputs"),
    (lambda x: ag.set_deterministic_debug_mode("foo"), RuntimeError, "debug_mode"),
    (lambda x: ag.set_deterministic_debug_mode(5), RuntimeError, "debug_mode"),
    (lambda x: ag.set_deterministic_debug_mode(1.5), TypeError, "debug_mode"),
    (lambda x: ag.set_float32_matmul_precision(1), RuntimeError, "set_float32_matmul_precision"),
    (lambda x: ag.set_warn_always(1), RuntimeError, "expects a bool"),
    (lambda x: ag.set_flush_denormal(1), RuntimeError, "flush_denormal"),
    (lambda x: ag.get_device(3), TypeError, "get_device"),
])
def test_bad_input(call, kind, match, device):
    x = ag.tensor(np.arange(1.0, 7.0), device=device)
    before = to_numpy(x).copy()
    with pytest.raises(kind, match=match):
        call(x)
    np.testing.assert_array_equal(to_numpy(x), before)
    assert ag.get_deterministic_debug_mode() == 0 and ag.get_float32_matmul_precision() == "highest"
