"""ag.nn layers and containers (Dropout, LayerNorm, BatchNorm1d/2d, Embedding,
Flatten, Unflatten, Identity, ModuleList, ModuleDict) and their functional
forms (dropout, layer_norm, batch_norm, embedding, one_hot, normalize, pad),
against PyTorch CPU: values, gradients (second order too), running
statistics, reprs, state-dict keys, exception types. Dropout's draws are
checked by their statistics, not against PyTorch's generator."""
import math
from collections import OrderedDict
import warnings

import numpy as np
import pytest

import autograd_gpu as ag
import autograd_gpu.nn.functional as F
from autograd_gpu import nn
from oracle import NN_TOL, assert_matches_in as _close, backward_both as _backward_both, backward_outcome, \
    graph_node_names, norm_gradients_match, to_numpy

TOL = NN_TOL


def _np(t):
    return t.detach().cpu().numpy()


def _pair(torch, a, dtype="float64", device="cpu", requires_grad=True):
    """The same data as (ours, PyTorch's)."""
    a = np.asarray(a)
    if a.dtype.kind != "f":
        return ag.tensor(a, device=device), torch.tensor(a)
    ours = ag.tensor(a, dtype=dtype, device=device, requires_grad=requires_grad)
    theirs = torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=requires_grad)
    return ours, theirs


def _compare(torch, fn, arrays, dtype, device, seed=1):
    """fn(lib, *tensors) on both libraries: values and the gradients of every floating input."""
    pairs = [_pair(torch, a, dtype, device) for a in arrays]
    out = fn(ag, *[p[0] for p in pairs])
    ref = fn(torch, *[p[1] for p in pairs])
    _close(out, ref, dtype, "forward")
    assert out.device == ag.device(device) and out.dtype == getattr(ag, dtype)
    _backward_both(torch, out, ref, seed)
    for i, (o, r) in enumerate(pairs):
        if r.requires_grad:
            if r.grad is None:
                assert o.grad is None or not _np(o.grad).any(), f"input {i}: PyTorch has no gradient"
            else:
                _close(o.grad, r.grad, dtype, f"grad of input {i}")
    return pairs


def _second_order(torch, fn, arrays, device, seed=2):
    """The create_graph gradient of sum(grad * v) against PyTorch's (float64)."""
    pairs = [_pair(torch, a, "float64", device) for a in arrays]
    results = []
    for k, lib in enumerate((ag, torch)):
        xs = [p[k] for p in pairs]
        floats = [x for x in xs if x.requires_grad]
        out = fn(lib, *xs)
        g = np.random.default_rng(seed).standard_normal(tuple(out.shape))
        gt = lib.tensor(g, dtype=lib.float64) if lib is torch else ag.tensor(g, dtype=ag.float64, device=device)
        grads = lib.autograd.grad(out, floats, gt, create_graph=True)
        vs = [np.random.default_rng(seed + i).standard_normal(tuple(x.shape)) for i, x in enumerate(floats)]
        total = sum((gr * (lib.tensor(v) if lib is torch else ag.tensor(v, device=device))).sum()
                    for gr, v in zip(grads, vs))
        results.append(lib.autograd.grad(total, floats, allow_unused=True))
    for i, (a, b) in enumerate(zip(*results)):
        if b is None:
            assert a is None or not _np(a).any(), f"second-order grad {i}: PyTorch has none"
        else:
            _close(a, b, "float64", f"second-order grad {i}")


def _rng(seed=0):
    return np.random.default_rng(seed)


# ---- layer_norm ------------------------------------------------------------------------------------

LN_CASES = [((2, 3, 4), (4,), True, True), ((2, 3, 4), (3, 4), True, False), ((5, 4), (4,), False, False),
            ((4,), (4,), True, True), ((2, 1, 3), [1, 3], True, True)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape,nshape,w,b", LN_CASES)
def test_layer_norm_matches_pytorch(torch, device, dtype, shape, nshape, w, b):
    rng = _rng(1)
    arrays = [rng.normal(1.0, 2.0, shape)]
    arrays += [rng.normal(size=tuple(np.atleast_1d(nshape)))] if w else []
    arrays += [rng.normal(size=tuple(np.atleast_1d(nshape)))] if b else []

    def fn(lib, x, *wb):
        weight = wb[0] if w else None
        bias = wb[-1] if b else None
        return lib.nn.functional.layer_norm(x, nshape, weight, bias, eps=1e-5)
    _compare(torch, fn, arrays, dtype, device)
    _second_order(torch, fn, arrays, device)


def test_layer_norm_backward_on_rows_matches_pytorch(torch, device):
    """Where the rows are the input's trailing dims, the backward works on (rows, n) matrices with
    matrix-vector row sums: a transposed (non-contiguous) input, a gradient expanded from sum (zero
    strides), only some inputs needing a gradient, and NaN / inf / constant rows give PyTorch's
    gradients (float32 against float32)."""
    rng = _rng(5)
    base = rng.normal(1.0, 2.0, (6, 5, 16))
    base[0, 0, 3], base[1, 2, 0], base[2, 1] = np.nan, np.inf, 7.0     # (a NaN row, an inf row, a constant row)
    w, b = rng.normal(size=16), rng.normal(size=16)
    g = rng.normal(size=(5, 6, 16))
    for wants in ((True, True, True), (True, False, False), (False, True, False), (False, False, True)):
        grads = []
        for L in (ag, torch):
            kw = dict(dtype=L.float32, device=device) if L is ag else dict(dtype=L.float32)
            x, wt, bt = (L.tensor(a, requires_grad=r, **kw) for a, r in zip((base, w, b), wants))
            L.nn.functional.layer_norm(x.transpose(0, 1), (16,), wt, bt).backward(L.tensor(g, **kw))
            grads.append([t.grad for t in (x, wt, bt)])
            for t in (x, wt, bt):
                t.grad = None
            L.nn.functional.layer_norm(x.transpose(0, 1), (16,), wt, bt).sum().backward()
            grads.append([t.grad for t in (x, wt, bt)])
        for k, (ours, theirs) in enumerate(zip(grads[:2], grads[2:])):      # (upstream g, then sum's)
            for name, o, r in zip(("input", "weight", "bias"), ours, theirs):
                assert (o is None) == (r is None), (wants, k, name)
                if r is not None:
                    _close(o, r, "float32", f"{wants}, upstream {k}: {name}'s gradient")


@pytest.mark.parametrize("offset", [1e2, 1e3, 1e4])
def test_layer_norm_float32_gradient_far_from_zero(torch, device, offset):
    """Rows far from 0 (mean 1e2..1e4, std 1): in float32 the row sums cancel; the input's and the
    weight's gradients stay as close to PyTorch's float64 ones as PyTorch's own float32 ones do."""
    rng = _rng(6)
    x, w, g = rng.normal(offset, 1.0, (64, 256)), rng.normal(size=256), rng.normal(size=(64, 256))
    grads = {}
    for name, L, dtype in (("ours", ag, "float32"), ("torch32", torch, "float32"), ("torch64", torch, "float64")):
        kw = dict(dtype=getattr(L, dtype), device=device) if L is ag else dict(dtype=getattr(L, dtype))
        xt, wt = L.tensor(x, requires_grad=True, **kw), L.tensor(w, requires_grad=True, **kw)
        L.nn.functional.layer_norm(xt, (256,), wt).backward(L.tensor(g, **kw))
        grads[name] = [_np(t.grad).astype(np.float64) for t in (xt, wt)]
    for i, what in enumerate(("input", "weight")):
        ours, theirs = (np.abs(grads[k][i] - grads["torch64"][i]).max() for k in ("ours", "torch32"))
        assert ours <= 1.5 * theirs, f"{what}'s gradient: error {ours:.3g}, PyTorch float32's {theirs:.3g}"


def test_layer_norm_gradgradcheck(device):
    x = ag.randn(3, 4, dtype=ag.float64, device=device, requires_grad=True)
    w = ag.randn(4, dtype=ag.float64, device=device, requires_grad=True)
    b = ag.randn(4, dtype=ag.float64, device=device, requires_grad=True)
    fn = lambda x, w, b: F.layer_norm(x, (4,), w, b)  # noqa: E731
    assert ag.autograd.gradcheck(fn, (x, w, b))
    assert ag.autograd.gradgradcheck(fn, (x, w, b))


def test_layer_norm_module_matches_pytorch(torch, device):
    ours, theirs = nn.LayerNorm((3, 4), eps=1e-3).to(device), torch.nn.LayerNorm((3, 4), eps=1e-3)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _close(ours.weight, theirs.weight, "float32")
    _close(ours.bias, theirs.bias, "float32")
    x, xt = _pair(torch, _rng(2).normal(size=(2, 3, 4)), "float32", device)
    out, ref = ours(x), theirs(xt)
    _close(out, ref, "float32")
    _backward_both(torch, out, ref)
    _close(ours.weight.grad, theirs.weight.grad, "float32")
    _close(ours.bias.grad, theirs.bias.grad, "float32")
    _close(x.grad, xt.grad, "float32")
    no_bias = nn.LayerNorm(4, bias=False)
    assert no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]
    assert list(nn.LayerNorm(4, elementwise_affine=False).parameters()) == []


def test_layer_norm_edge_cases(torch, device):
    x = [[1.0, float("nan"), 2.0], [1.0, 2.0, float("inf")], [3.0, 3.0, 3.0]]
    out = F.layer_norm(ag.tensor(x, device=device), (3,))
    ref = torch.nn.functional.layer_norm(torch.tensor(x), (3,))
    _close(out, ref, "float32")                      # NaN / inf rows are NaN; a constant row is 0
    assert F.layer_norm(ag.zeros(0, 3, device=device), (3,)).shape == (0, 3)
    h = _rng(3).normal(size=(4, 8))
    out = F.layer_norm(ag.tensor(h, dtype=ag.float16, device=device), (8,))
    assert out.dtype == ag.float16
    _close(out, torch.nn.functional.layer_norm(torch.tensor(h, dtype=torch.float16), (8,)), "float16")


# ---- batch_norm --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", [(4, 3), (4, 3, 5), (2, 3, 4, 5)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_functional_matches_pytorch(torch, device, dtype, shape, training):
    rng = _rng(4)
    x = rng.normal(0.5, 2.0, shape)
    w, b = rng.normal(size=3), rng.normal(size=3)
    rm0, rv0 = rng.normal(size=3), rng.uniform(0.5, 2.0, 3)
    stats = {}

    def fn(lib, x, w, b):
        kw = dict(dtype=x.dtype)
        if lib is ag:
            kw["device"] = device
        rm, rv = lib.tensor(rm0, **kw), lib.tensor(rv0, **kw)
        stats[lib.__name__] = (rm, rv)
        return lib.nn.functional.batch_norm(x, rm, rv, w, b, training=training, momentum=0.3, eps=1e-4)
    _compare(torch, fn, [x, w, b], dtype, device)
    for ours, theirs in zip(stats["autograd_gpu"], stats["torch"]):
        _close(ours, theirs, dtype, "running statistics")
    _second_order(torch, fn, [x, w, b], device)


def test_batch_norm_gradgradcheck(device):
    x = ag.randn(4, 3, 2, dtype=ag.float64, device=device, requires_grad=True)
    w = ag.randn(3, dtype=ag.float64, device=device, requires_grad=True)
    fn = lambda x, w: F.batch_norm(x, None, None, w, None, training=True)  # noqa: E731
    assert ag.autograd.gradcheck(fn, (x, w))
    assert ag.autograd.gradgradcheck(fn, (x, w))


def _bn_pair(torch, cls, device, **kw):
    return getattr(nn, cls)(3, **kw).to(device), getattr(torch.nn, cls)(3, **kw)


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (5, 3)), ("BatchNorm1d", (4, 3, 2)),
                                       ("BatchNorm2d", (2, 3, 2, 3))])
@pytest.mark.parametrize("kw", [{}, {"momentum": None}, {"affine": False}, {"track_running_stats": False},
                                {"bias": False, "eps": 1e-3, "momentum": 0.5}])
def test_batch_norm_module_training_then_eval(torch, device, cls, shape, kw):
    ours, theirs = _bn_pair(torch, cls, device, **kw)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    rng = _rng(5)
    for step in range(3):
        x, xt = _pair(torch, rng.normal(1.0, 3.0, shape), "float32", device)
        out, ref = ours(x), theirs(xt)
        _close(out, ref, "float32", f"training step {step}")
        _backward_both(torch, out, ref)
        _close(x.grad, xt.grad, "float32", "input grad")
    for (name, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        if b.is_floating_point():
            _close(a, b, "float32", name)
        else:
            assert a.dtype == ag.int64 and int(a) == int(b), name
    for (name, a), (_, b) in zip(ours.named_parameters(), theirs.named_parameters()):
        _close(a.grad, b.grad, "float32", name + " grad")
    ours.eval(), theirs.eval()
    x, xt = _pair(torch, rng.normal(size=shape), "float32", device)
    before = {k: _np(v).copy() for k, v in ours.state_dict().items()}
    _close(ours(x), theirs(xt), "float32", "eval")
    for k, v in ours.state_dict().items():
        np.testing.assert_array_equal(_np(v), before[k], err_msg=f"eval changed {k}")


def test_batch_norm_state_dict_from_pytorch(torch, device):
    theirs = torch.nn.BatchNorm2d(3)
    theirs(torch.randn(4, 3, 2, 2) * 3 + 1)
    ours = nn.BatchNorm2d(3).to(device)
    ours.load_state_dict(OrderedDict((k, ag.tensor(v.numpy().copy())) for k, v in theirs.state_dict().items()))
    assert int(ours.num_batches_tracked) == 1 and ours.running_mean.device == ag.device(device)
    ours.eval(), theirs.eval()
    x = _rng(6).normal(size=(2, 3, 2, 2))
    _close(ours(ag.tensor(x, dtype=ag.float32, device=device)), theirs(torch.tensor(x, dtype=torch.float32)),
           "float32")
    ours.double()
    assert ours.running_var.dtype == ag.float64 and ours.num_batches_tracked.dtype == ag.int64


def test_batch_norm_failed_call_changes_nothing(device):
    bn = nn.BatchNorm1d(3).to(device)
    before = {k: _np(v).copy() for k, v in bn.state_dict().items()}
    for bad, exc in ((ag.randn(1, 3, device=device), ValueError), (ag.randn(2, 4, device=device), RuntimeError),
                     (ag.randn(2, 3, 4, 5, device=device), ValueError)):
        with pytest.raises(exc, match="BatchNorm1d"):
            bn(bad)
    for k, v in bn.state_dict().items():
        np.testing.assert_array_equal(_np(v), before[k])


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (6, 3)), ("BatchNorm2d", (2, 3, 2, 2))])
def test_batch_norm_float16_input_with_float32_module(torch, device, cls, shape):
    ours, theirs = _bn_pair(torch, cls, device)
    x = _rng(16).normal(1.0, 2.0, shape)
    for mode in ("train", "eval"):
        getattr(ours, mode)(), getattr(theirs, mode)()
        out = ours(ag.tensor(x, dtype=ag.float16, device=device))
        assert out.dtype == ag.float16
        _close(out, theirs(torch.tensor(x, dtype=torch.float16)), "float16", mode)
    _close(ours.running_var, theirs.running_var, "float16")
    ln, lnt = nn.LayerNorm(shape[1:]).to(device), torch.nn.LayerNorm(shape[1:])
    out = ln(ag.tensor(x, dtype=ag.float16, device=device))
    assert out.dtype == ag.float16
    _close(out, lnt(torch.tensor(x, dtype=torch.float16)), "float16")


# ---- dropout -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_mask_statistics_and_gradient(device, dtype, p):
    x = ag.tensor(_rng(7).uniform(1.0, 2.0, (200, 100)), dtype=dtype, device=device, requires_grad=True)
    y = F.dropout(x, p)
    assert y.dtype == x.dtype and y.shape == x.shape
    kept = _np(y) != 0
    n = kept.size
    assert abs((1 - kept.mean()) - p) < 4 * np.sqrt(p * (1 - p) / n)         # zero fraction ~ p
    xn, yn = _np(x).astype(np.float64), _np(y).astype(np.float64)
    np.testing.assert_allclose(yn[kept], xn[kept] / (1 - p), **TOL[dtype])
    y.backward(ag.ones_like(y))
    np.testing.assert_allclose(_np(x.grad).astype(np.float64), kept / (1 - p), **TOL[dtype])


def test_dropout_is_repeatable_with_manual_seed(device):
    x = ag.ones(1000, device=device)
    ag.manual_seed(3)
    a = _np(F.dropout(x, 0.3))
    ag.manual_seed(3)
    np.testing.assert_array_equal(_np(F.dropout(x, 0.3)), a)
    assert not np.array_equal(_np(F.dropout(x, 0.3)), a)


def test_dropout_modes_and_extremes(torch, device):
    x = ag.tensor([1.0, float("nan"), -2.0, 3.0], device=device, requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x                   # as PyTorch: the input itself
    d = nn.Dropout(0.4)
    assert d.training and repr(d) == repr(torch.nn.Dropout(0.4)) == "Dropout(p=0.4, inplace=False)"
    assert d.eval()(x) is x
    zeros = F.dropout(x, 1.0)
    ref = torch.nn.functional.dropout(torch.tensor([1.0, float("nan"), -2.0, 3.0]), 1.0)
    np.testing.assert_array_equal(_np(zeros), ref.numpy())           # input * 0: NaN stays NaN
    zeros.sum().backward()
    np.testing.assert_array_equal(_np(x.grad), [0, 0, 0, 0])
    np.testing.assert_array_equal(_np(F.dropout(x, 0.0)), _np(x))
    assert F.dropout(ag.zeros(0, 3, device=device)).shape == (0, 3)
    y = ag.ones(50, device=device)
    out = F.dropout(y, 0.5, inplace=True)
    assert out is y and set(np.unique(_np(y))) <= {0.0, 2.0}
    assert repr(nn.Dropout(inplace=True)) == repr(torch.nn.Dropout(inplace=True))


def test_dropout_gradgradcheck(device):
    x = ag.randn(4, 5, dtype=ag.float64, device=device, requires_grad=True)

    def fn(x):
        ag.manual_seed(1)                  # the same mask on every evaluation
        return F.dropout(x, 0.3) ** 2
    assert ag.autograd.gradcheck(fn, (x,))
    assert ag.autograd.gradgradcheck(fn, (x,))


# ---- embedding ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kw", [{}, {"padding_idx": 2}, {"padding_idx": -1}, {"scale_grad_by_freq": True},
                                {"scale_grad_by_freq": True, "padding_idx": 0}])
def test_embedding_functional_matches_pytorch(torch, device, dtype, kw):
    idx = np.array([[0, 2, 4], [2, 2, 1]])
    w = _rng(8).normal(size=(5, 3))

    def fn(lib, w, i):
        return lib.nn.functional.embedding(i, w, **kw)
    _compare(torch, fn, [w, idx], dtype, device)
    _second_order(torch, lambda lib, w, i: fn(lib, w, i) ** 2, [w, idx], device)


def test_embedding_int32_indices_and_empty(torch, device):
    w, wt = _pair(torch, _rng(9).normal(size=(4, 2)), "float32", device)
    i = np.array([3, 0, 3], dtype=np.int32)
    _close(F.embedding(ag.tensor(i, device=device), w), torch.nn.functional.embedding(torch.tensor(i), wt),
           "float32")
    assert F.embedding(ag.zeros(2, 0, dtype=ag.int64, device=device), w).shape == (2, 0, 2)
    assert F.embedding(ag.tensor(1, device=device), w).shape == (2,)


def test_embedding_max_norm_renormalises_rows_in_place(torch, device):
    w0 = _rng(10).normal(0, 2, size=(5, 3))
    w, wt = _pair(torch, w0, "float64", device, requires_grad=False)
    idx = np.array([0, 3, 3])
    out = F.embedding(ag.tensor(idx, device=device), w, max_norm=1.5, norm_type=1.0)
    ref = torch.nn.functional.embedding(torch.tensor(idx), wt, max_norm=1.5, norm_type=1.0)
    _close(out, ref, "float64")
    _close(w, wt, "float64", "renormalised weight")
    m, mt = nn.Embedding(5, 3, max_norm=1.0).to(device), torch.nn.Embedding(5, 3, max_norm=1.0)
    with ag.no_grad():
        m.weight.copy_(ag.tensor(w0, dtype=ag.float32))
    with torch.no_grad():
        mt.weight.copy_(torch.tensor(w0))
    _close(m(ag.tensor(idx, device=device)), mt(torch.tensor(idx)), "float32")
    _close(m.weight, mt.weight, "float32")


def test_embedding_module(torch, device):
    ag.manual_seed(0)
    e = nn.Embedding(1000, 20, padding_idx=3).to(device)
    w = _np(e.weight)
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02                 # N(0, 1), as PyTorch
    assert not w[3].any()
    assert [n for n, _ in e.named_parameters()] == ["weight"] and list(e.state_dict()) == ["weight"]
    out = e(ag.tensor([[3, 5], [5, 7]], device=device))
    out.sum().backward()
    g = _np(e.weight.grad)
    assert not g[3].any() and (g[5] == 2).all() and (g[7] == 1).all()
    for kw in ({}, {"padding_idx": 0}, {"padding_idx": -2}, {"max_norm": 1.0, "norm_type": 1.0},
               {"scale_grad_by_freq": True}):
        assert repr(nn.Embedding(10, 3, **kw)) == repr(torch.nn.Embedding(10, 3, **kw))
    pre = ag.tensor(_rng(11).normal(size=(4, 2)))
    frozen = nn.Embedding.from_pretrained(pre)
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(_np(pre)))
    assert frozen.weight.requires_grad is theirs.weight.requires_grad is False
    assert repr(frozen) == repr(theirs)
    assert nn.Embedding.from_pretrained(pre, freeze=False).weight.requires_grad


# ---- one_hot, normalize ---------------------------------------------------------------------------------

@pytest.mark.parametrize("values,n", [([0, 2, 1], -1), ([[1, 0], [3, 3]], 5), ([], 3), (2, -1), (0, 4)])
def test_one_hot_matches_pytorch(torch, device, values, n):
    out = F.one_hot(ag.tensor(values, dtype=ag.int64, device=device), n)
    ref = torch.nn.functional.one_hot(torch.tensor(values, dtype=torch.int64), n)
    assert out.dtype == ag.int64 and out.device == ag.device(device)
    np.testing.assert_array_equal(_np(out), ref.numpy())
    assert out.shape == tuple(ref.shape)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kw", [{}, {"p": 1.0}, {"dim": 0}, {"dim": -1, "p": 3.0}, {"eps": 0.5}])
def test_normalize_matches_pytorch(torch, device, dtype, kw):
    x = _rng(12).normal(size=(3, 4, 2))
    x[1, :, 0] = 0.0                                               # a zero vector: eps takes over

    def fn(lib, x):
        return lib.nn.functional.normalize(x, **kw)
    _compare(torch, fn, [x], dtype, device)
    y = _rng(13).normal(size=(3, 4))
    _second_order(torch, fn, [y], device)


def test_normalize_zero_vector_gradient(torch, device):
    _compare(torch, lambda lib, x: lib.nn.functional.normalize(x), [np.zeros((2, 3))], "float64", device)


# ---- pad ------------------------------------------------------------------------------------------------

PAD_CASES = [((2, 3), (1, 2), "constant", None), ((2, 3), (1, 1, 2, 0), "constant", 1.5),
             ((2, 3, 4), (-1, 2), "constant", -3.0), ((2, 3, 4), (0, 0, -1, -1, 1, 0), "constant", None),
             ((3,), (2, 2), "constant", 0.0), ((2, 5), (2, 3), "reflect", None), ((2, 3, 4), (1, 2, 2, 1), "reflect", None),
             ((2, 3), (2, 1), "replicate", None), ((1, 2, 3, 4), (1, 2, 3, 1), "replicate", None),
             ((2, 3), (3, 2), "circular", None), ((1, 2, 3, 2), (1, 1, 2, 0), "circular", None),
             ((1, 1, 2, 3, 2), (1, 1, 1, 1, 1, 1), "reflect", None), ((2, 4), (-1, 2), "replicate", None),
             # (one node on NumPy: EdgePad) the widest reflections, a side of 0, three dims, unbatched
             ((2, 3, 5, 4), (3, 0, 4, 2), "reflect", None), ((2, 2, 3, 4, 5), (0, 3, 2, 0, 1, 2), "replicate", None),
             ((3, 6), (5, 5), "reflect", None), ((2, 3, 4, 3), (2, 2, 3, 3, 1, 1), "reflect", None)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape,amounts,mode,value", PAD_CASES)
def test_pad_matches_pytorch(torch, device, dtype, shape, amounts, mode, value):
    x = _rng(14).normal(size=shape)
    kw = {} if value is None else {"value": value}

    def fn(lib, x):
        return lib.nn.functional.pad(x, amounts, mode=mode, **kw)
    _compare(torch, fn, [x], dtype, device)
    if dtype == "float64":
        _second_order(torch, lambda lib, x: fn(lib, x) ** 2, [x], device)


@pytest.mark.parametrize("mode", ["reflect", "replicate"])
def test_edge_pad_node_names_match_pytorch(torch, device, mode):
    """reflect / replicate padding is PyTorch's one node (ReflectionPad2DBackward0, ...) for 1-3 dims."""
    for shape, amounts in (((2, 3, 5), (1, 2)), ((2, 3, 5, 4), (1, 2, 0, 3)), ((1, 2, 3, 4, 5), (1, 1, 2, 0, 1, 1))):
        x = _rng(3).normal(size=shape)
        names = [lib.nn.functional.pad(t, amounts, mode=mode).grad_fn.name()
                 for lib, t in zip((ag, torch), _pair(torch, x, "float64", device))]
        assert names[0] == names[1], names


def test_pad_integer_data_and_empty(torch, device):
    x = np.arange(6).reshape(2, 3)
    out = F.pad(ag.tensor(x, device=device), (1, 1), value=2.7)
    ref = torch.nn.functional.pad(torch.tensor(x), (1, 1), value=2.7)
    assert out.dtype == ag.int64
    np.testing.assert_array_equal(_np(out), ref.numpy())
    e = F.pad(ag.zeros(0, 2, device=device), (1, 1))
    assert e.shape == tuple(torch.nn.functional.pad(torch.zeros(0, 2), (1, 1)).shape)


@pytest.mark.parametrize("amounts", [(0, 0), (-1, 0), (-1, -1, 0, 0), (1, -1), (0, 0, 0, 0), (2, -3, -1, 1)])
def test_constant_pad_is_one_node_and_a_copy(torch, device, amounts):
    """PyTorch's constant pad: one ConstantPadNdBackward0 node, a new tensor even with no padding or only
    cropping (we returned the input itself for zero amounts, and a view sharing its memory for crops:
    found by the random programs)."""
    x0 = np.arange(12.0).reshape(3, 4)
    results = {}
    for lib, x in ((torch, torch.tensor(x0, requires_grad=True)), (ag, ag.tensor(x0, device=device, requires_grad=True))):
        y = lib.nn.functional.pad(x, list(amounts), value=0.5)
        assert y is not x and not y.is_leaf and y.grad_fn.name() == "ConstantPadNdBackward0"
        y.detach().add_(100)                          # the input's memory is not the result's
        assert np.array_equal(_np(x.detach()), x0)
        results[lib] = _np(y.detach())
    np.testing.assert_array_equal(results[ag], results[torch])


@pytest.mark.parametrize("value,dtype", [(-1, "uint8"), (1e20, "int64"), (1e6, "float16"), (-0.5, "uint8"), (2.5, "int64"),
                                         (True, "int64"), (2, "bool")])
def test_constant_pad_value_must_fit_the_dtype(torch, value, dtype):
    outcomes = []
    for lib in (torch, ag):
        try:
            outcomes.append(lib.nn.functional.pad(lib.ones(2, dtype=getattr(lib, dtype)), [1, 0], value=value).tolist())
        except RuntimeError:
            outcomes.append("RuntimeError")
    assert outcomes[0] == outcomes[1]


# ---- Flatten, Unflatten, Identity ------------------------------------------------------------------------

@pytest.mark.parametrize("make,shape", [
    (lambda M: M.Flatten(), (2, 3, 4)), (lambda M: M.Flatten(0, 1), (2, 3, 4)), (lambda M: M.Flatten(-2), (2, 3, 4)),
    (lambda M: M.Unflatten(1, (2, 2)), (3, 4, 2)), (lambda M: M.Unflatten(-1, [3, -1]), (2, 6)),
    (lambda M: M.Identity(5, key="x"), (2, 3))])
def test_shape_modules_match_pytorch(torch, device, make, shape):
    ours, theirs = make(nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    _compare(torch, lambda lib, x: make(lib.nn)(x), [_rng(15).normal(size=shape)], "float64", device)


# ---- containers ---------------------------------------------------------------------------------------

def _names(m):
    return [n for n, _ in m.named_parameters()], list(m.state_dict())


def test_module_list_matches_pytorch(torch):
    def build(M):
        ml = M.ModuleList([M.Linear(2, 2), M.ReLU()])
        ml.append(M.Linear(2, 3))
        ml.extend([M.Linear(2, 2), M.Linear(2, 2)])
        ml.insert(1, M.Tanh())
        ml.insert(4, M.Sigmoid())
        ml += [M.Identity()]
        del ml[0]
        popped = ml.pop(2)
        return ml, popped
    (ours, p), (theirs, pt) = build(nn), build(torch.nn)
    assert repr(ours) == repr(theirs) and repr(p) == repr(pt)
    assert len(ours) == len(theirs) and _names(ours) == _names(theirs)
    assert [repr(m) for m in ours] == [repr(m) for m in theirs]
    assert repr(ours[1:4]) == repr(theirs[1:4]) and type(ours[1:4]) is nn.ModuleList
    assert repr(ours[-1]) == repr(theirs[-1])
    assert repr(ours + ours[:2]) == repr(theirs + theirs[:2])
    ours[0] = nn.ReLU()
    theirs[0] = torch.nn.ReLU()
    assert repr(ours) == repr(theirs)
    # known divergence: a negative insert position works as in list.insert (PyTorch raises KeyError)
    ours.insert(-1, nn.Tanh())
    assert repr(ours[-2]) == "Tanh()"
    with pytest.raises(KeyError):
        theirs.insert(-1, torch.nn.Tanh())
    wrapped = nn.Sequential(nn.ModuleList([nn.Linear(3, 3)] * 2), nn.ModuleList())
    wrapped_t = torch.nn.Sequential(torch.nn.ModuleList([torch.nn.Linear(3, 3)] * 2), torch.nn.ModuleList())
    assert repr(wrapped) == repr(wrapped_t) and _names(wrapped) == _names(wrapped_t)


def test_module_list_parameters_train_and_to(device):
    ml = nn.ModuleList([nn.Linear(2, 2), nn.BatchNorm1d(2), nn.Dropout()])
    assert len(list(ml.parameters())) == 4 and len(list(ml.buffers())) == 3
    ml.eval()
    assert not any(m.training for m in ml)
    ml.to(device)
    assert all(p.device == ag.device(device) for p in ml.parameters())
    assert all(b.device == ag.device(device) for b in ml.buffers())


def test_module_dict_matches_pytorch(torch):
    def build(M):
        md = M.ModuleDict({"b": M.Linear(2, 2), "a": M.ReLU()})
        md["c"] = M.Linear(2, 1)
        md.update([("d", M.Tanh()), ("a", M.Sigmoid())])
        md.update(OrderedDict(e=M.Linear(1, 1)))
        popped = md.pop("b")
        return md, popped
    (ours, p), (theirs, pt) = build(nn), build(torch.nn)
    assert repr(ours) == repr(theirs) and repr(p) == repr(pt)
    assert list(ours.keys()) == list(theirs.keys()) == list(ours)
    assert [k for k, _ in ours.items()] == [k for k, _ in theirs.items()]
    assert [repr(v) for v in ours.values()] == [repr(v) for v in theirs.values()]
    assert ("c" in ours) and ("b" not in ours) and len(ours) == len(theirs)
    assert _names(ours) == _names(theirs)
    del ours["c"]
    ours.clear()
    assert len(ours) == 0 and repr(ours) == "ModuleDict()"


# ---- reprs and bad input, side by side with PyTorch -----------------------------------------------------

REPRS = [lambda M: M.LayerNorm(4), lambda M: M.LayerNorm([2, 3], eps=1e-3, elementwise_affine=False),
         lambda M: M.LayerNorm(4, bias=False), lambda M: M.BatchNorm1d(3),
         lambda M: M.BatchNorm2d(7, eps=0.001, momentum=None, affine=False, track_running_stats=False),
         lambda M: M.Embedding(10, 3, padding_idx=0), lambda M: M.Dropout(0.25, True),
         lambda M: M.Unflatten(0, [2, 3]), lambda M: M.Flatten(0, 2), lambda M: M.Identity(),
         lambda M: M.ModuleList(), lambda M: M.ModuleDict(),
         lambda M: M.ModuleList([M.LayerNorm(2), M.LayerNorm(2), M.Sequential(M.Linear(1, 1), M.Linear(1, 1))])]


@pytest.mark.parametrize("make", REPRS)
def test_reprs_match_pytorch(torch, make):
    assert repr(make(nn)) == repr(make(torch.nn))


BAD = {
    "dropout p": lambda M, T: M.functional.dropout(T.ones(2), 1.5),
    "Dropout p": lambda M, T: M.Dropout(-0.1),
    "dropout int input": lambda M, T: M.functional.dropout(T.ones(2, dtype=T.int64)),
    "layer_norm shape": lambda M, T: M.functional.layer_norm(T.ones(2, 3), (4,)),
    "layer_norm weight shape": lambda M, T: M.functional.layer_norm(T.ones(2, 3), (3,), T.ones(4)),
    "LayerNorm dtype": lambda M, T: M.LayerNorm(3)(T.ones(2, 3, dtype=T.float64)),
    "batch_norm eval without stats": lambda M, T: M.functional.batch_norm(T.ones(2, 3), None, None),
    "batch_norm one value": lambda M, T: M.functional.batch_norm(T.ones(1, 3), None, None, training=True),
    "batch_norm eps": lambda M, T: M.functional.batch_norm(T.ones(2, 3), None, None, training=True, eps=0.0),
    "batch_norm channels": lambda M, T: M.functional.batch_norm(T.ones(2, 3), T.zeros(4), T.ones(4)),
    "BatchNorm1d dims": lambda M, T: M.BatchNorm1d(3)(T.ones(2, 3, 4, 5)),
    "BatchNorm2d dims": lambda M, T: M.BatchNorm2d(3)(T.ones(2, 3, 4)),
    "BatchNorm1d one value": lambda M, T: M.BatchNorm1d(3)(T.ones(1, 3)),
    "embedding index high": lambda M, T: M.Embedding(3, 2)(T.tensor([3])),
    "embedding index negative": lambda M, T: M.Embedding(3, 2)(T.tensor([-1])),
    "embedding float index": lambda M, T: M.Embedding(3, 2)(T.tensor([1.0])),
    "Embedding padding_idx": lambda M, T: M.Embedding(3, 2, padding_idx=3),
    "Embedding padding_idx low": lambda M, T: M.Embedding(3, 2, padding_idx=-4),
    "one_hot float": lambda M, T: M.functional.one_hot(T.tensor([1.0])),
    "one_hot negative": lambda M, T: M.functional.one_hot(T.tensor([-1])),
    "one_hot too large": lambda M, T: M.functional.one_hot(T.tensor([3]), 3),
    "one_hot empty": lambda M, T: M.functional.one_hot(T.tensor([], dtype=T.int64)),
    "pad odd": lambda M, T: M.functional.pad(T.ones(2, 3), (1,)),
    "pad too long": lambda M, T: M.functional.pad(T.ones(2, 3), (1, 1, 1, 1, 1, 1)),
    "pad mode": lambda M, T: M.functional.pad(T.ones(2, 3), (1, 1), mode="foo"),
    "pad crop": lambda M, T: M.functional.pad(T.ones(2, 3), (-2, -2)),
    "pad reflect size": lambda M, T: M.functional.pad(T.ones(2, 3), (3, 3), mode="reflect"),
    "pad reflect dims": lambda M, T: M.functional.pad(T.ones(3), (1, 1), mode="reflect"),
    "pad circular wrap": lambda M, T: M.functional.pad(T.ones(2, 3), (4, 4), mode="circular"),
    "Unflatten size type": lambda M, T: M.Unflatten(1, 5),
    "Unflatten element type": lambda M, T: M.Unflatten(1, (2, 2.0)),
    "Unflatten product": lambda M, T: M.Unflatten(1, (2, 2))(T.ones(2, 5)),
    "Flatten dim": lambda M, T: M.Flatten()(T.ones(2)),
    "ModuleList element": lambda M, T: M.ModuleList([M.ReLU(), 1]),
    "ModuleList index": lambda M, T: M.ModuleList([M.ReLU()])[3],
    "ModuleList extend": lambda M, T: M.ModuleList().extend(3),
    "ModuleDict key": lambda M, T: M.ModuleDict({"a": M.ReLU()})["b"],
    "ModuleDict value": lambda M, T: M.ModuleDict({"a": 1}),
    "ModuleDict pair": lambda M, T: M.ModuleDict([("a", M.ReLU(), 3)]),
    "BatchNorm1d float64 input": lambda M, T: M.BatchNorm1d(3)(T.ones(2, 3, dtype=T.float64)),
    "BatchNorm1d num_features": lambda M, T: M.BatchNorm1d(2.0),
    "normalize dim": lambda M, T: M.functional.normalize(T.ones(3)),
    "embedding 1-D weight": lambda M, T: M.functional.embedding(T.tensor([0]), T.ones(3)),
    "pad reflect value": lambda M, T: M.functional.pad(T.ones(2, 3), (1, 1), mode="reflect", value=1.0),
    "ModuleDict dotted key": lambda M, T: M.ModuleDict({"a.b": M.ReLU()}),
}


def _raised(fn):
    try:
        fn()
    except Exception as e:          # noqa: BLE001 - the exception type is what is compared
        return type(e)


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_raises_like_pytorch(torch, name):
    ours, theirs = _raised(lambda: BAD[name](nn, ag)), _raised(lambda: BAD[name](torch.nn, torch))
    assert theirs is not None and ours is theirs, f"{name}: ours {ours}, PyTorch's {theirs}"


@pytest.mark.parametrize("call,who", [
    (lambda: F.layer_norm(ag.ones(2, 3), (4,)), "layer_norm"), (lambda: F.dropout(ag.ones(2), 2.0), "dropout"),
    (lambda: F.batch_norm(ag.ones(1, 3), None, None, training=True), "batch_norm"),
    (lambda: F.embedding(ag.tensor([5]), ag.ones(3, 2)), "embedding"),
    (lambda: F.one_hot(ag.tensor([-1])), "one_hot"), (lambda: F.pad(ag.ones(2), (1,)), "pad"),
    (lambda: nn.Embedding(3, 2, padding_idx=5), "Embedding"), (lambda: nn.Unflatten(1, 5), "Unflatten"),
    (lambda: nn.BatchNorm2d(3)(ag.ones(2, 3)), "BatchNorm2d")])
def test_error_messages_name_the_function(call, who):
    with pytest.raises(Exception, match=who):
        call()


def test_failed_container_updates_change_nothing():
    ml = nn.ModuleList([nn.ReLU()])
    with pytest.raises(TypeError):
        ml.extend([nn.Tanh(), "x"])
    assert len(ml) == 1
    md = nn.ModuleDict({"a": nn.ReLU()})
    for bad in ([("b", nn.Tanh()), ("c", 3)], {"b": nn.Tanh(), "c.d": nn.ReLU()}):
        with pytest.raises((TypeError, KeyError)):
            md.update(bad)
        assert list(md) == ["a"]


def test_embedding_bad_index_changes_nothing(device):
    e = nn.Embedding(4, 2, max_norm=0.1).to(device)
    before = _np(e.weight).copy()
    with pytest.raises(IndexError, match="embedding"):
        e(ag.tensor([0, 9], device=device))
    np.testing.assert_array_equal(_np(e.weight), before)


def test_operands_on_another_device_are_refused(device):
    if device == "cpu":
        pytest.skip("needs a second device: runs as the cuda case")
    x, w = ag.ones(2, 3, device=device), ag.ones(3)
    for call, who in ((lambda: F.layer_norm(x, (3,), w), "layer_norm"),
                      (lambda: F.batch_norm(x, w, w, training=False), "batch_norm"),
                      (lambda: F.embedding(ag.tensor([0], device=device), ag.ones(3, 2)), "embedding")):
        with pytest.raises(RuntimeError, match=f"{who}.*cpu"):
            call()
    bn = nn.BatchNorm1d(3)
    with pytest.raises(RuntimeError, match="BatchNorm1d"):
        bn(x)
    assert int(bn.num_batches_tracked) == 0


def test_unsupported_options_say_so():
    """Known divergences: no sparse tensors (PyTorch returns a sparse
    gradient) and no out= for normalize."""
    with pytest.raises(NotImplementedError, match="embedding: sparse=True"):
        F.embedding(ag.tensor([0]), ag.ones(2, 2), sparse=True)
    with pytest.raises(NotImplementedError, match="normalize: the out= argument"):
        F.normalize(ag.ones(2, 2), out=ag.empty(2, 2))


# ---- H5: channel and alpha dropout, Bilinear, EmbeddingBag, ParameterList/Dict -----------------------

from oracle import case_tests  # noqa: E402

_BAG_IDX = np.array([1, 2, 4, 5, 4, 3, 2, 0])
_BAG_OFF = np.array([0, 2, 2, 5])
H5_CASES = [
    ("bilinear", lambda L, a, b, w, c: L.nn.functional.bilinear(a, b, w, c), [(2, 3, 4), (2, 3, 5), (6, 4, 5), (6,)],
     dict(name=False)),
    ("bilinear_1d_nobias", lambda L, a, b, w: L.nn.functional.bilinear(a, b, w), [(4,), (5,), (2, 4, 5)],
     dict(name=False)),
] + [
    (f"embedding_bag_{mode}_{pad}", (lambda mode, pad: lambda L, w, i, o: L.nn.functional.embedding_bag(
        i, w, o, mode=mode, padding_idx=pad))(mode, pad), [(6, 3), _BAG_IDX, _BAG_OFF], dict(name=False))
    for mode in ("sum", "mean", "max") for pad in (None, 2)
] + [
    ("embedding_bag_2d_psw", lambda L, w, i, p: L.nn.functional.embedding_bag(i, w, mode="sum", per_sample_weights=p),
     [(6, 3), _BAG_IDX.reshape(2, 4), (2, 4)], dict(name=False)),
    ("embedding_bag_last_offset", lambda L, w, i, o: L.nn.functional.embedding_bag(i, w, o, include_last_offset=True),
     [(6, 3), _BAG_IDX, np.array([0, 3, 3, 8])], dict(name=False)),
] + [
    # bags of one length end to end: the rows reshaped are the table (no gather, no mask)
    (f"embedding_bag_2d_{mode}", (lambda mode: lambda L, w, i: L.nn.functional.embedding_bag(i, w, mode=mode))(mode),
     [(6, 3), _BAG_IDX.reshape(2, 4)], dict(name=False)) for mode in ("sum", "mean", "max")
] + [
    (f"embedding_bag_even_offsets_{mode}", (lambda mode: lambda L, w, i, o: L.nn.functional.embedding_bag(
        i, w, o, mode=mode))(mode), [(6, 3), _BAG_IDX, np.array([0, 2, 4, 6])], dict(name=False))
    for mode in ("mean", "max")
]
test_h5_layers_against_pytorch, test_h5_layers_gradcheck, test_h5_layers_second_order = case_tests(H5_CASES)


@pytest.mark.parametrize("fn,shape,spatial", [("dropout1d", (40, 30, 3), 1), ("dropout2d", (40, 30, 2, 2), 2),
                                              ("dropout3d", (40, 30, 1, 2, 2), 3), ("dropout1d", (400, 3), 1),
                                              ("dropout3d", (400, 1, 2, 2), 3), ("dropout2d", (40, 30, 3), 1)])
def test_channel_dropout_structure(device, fn, shape, spatial):
    ag.manual_seed(3)
    x = ag.ones(*shape, device=device, dtype=ag.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = getattr(F, fn)(x, 0.25)
    out = _np(y)
    chans = out.reshape(-1, int(np.prod(shape[-spatial:])))
    assert set(np.unique(out).tolist()) <= {0.0, 1 / 0.75}
    assert np.all(chans.min(1) == chans.max(1))                      # whole channels
    assert abs((chans[:, 0] == 0).mean() - 0.25) < 0.1
    y.sum().backward()
    np.testing.assert_array_equal(_np(x.grad), out)                  # the gradient is the mask
    ag.manual_seed(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(_np(getattr(F, fn)(x, 0.25)), out)  # repeatable
        assert getattr(F, fn)(x, 0.25, training=False) is x


def test_dropout_warnings_and_errors(torch):
    with pytest.warns(UserWarning, match="dropout2d: Received a 3D input"):
        F.dropout2d(ag.ones(2, 3, 4))
    with pytest.warns(UserWarning, match="dropout3d: Received a 3-D input"):
        assert tuple(F.dropout3d(ag.ones(2, 3, 4)).shape) == (2, 3, 4)
    with pytest.raises(RuntimeError, match="dropout1d"):
        F.dropout1d(ag.ones(3))
    with pytest.raises(ValueError, match="dropout"):
        nn.Dropout2d(1.5)


@pytest.mark.parametrize("fn", ["alpha_dropout", "feature_alpha_dropout"])
def test_alpha_dropout_statistics(device, fn):
    ag.manual_seed(0)
    x = ag.randn(200, 50, 20, device=device)
    y = _np(getattr(F, fn)(x, 0.2, True))
    assert abs(y.mean()) < 0.03 and abs(y.std() - 1) < 0.03
    assert getattr(F, fn)(x, 0.2) is x                               # training=False by default, as PyTorch
    if fn == "feature_alpha_dropout":
        kept = _np(x) != 0
        a = 1 / math.sqrt((1.7580993408473766 ** 2 * 0.2 + 1) * 0.8)
        dropped = np.isclose(y, -1.7580993408473766 * a * 0.8)
        assert np.all(dropped.all(-1) | (~dropped & kept).all(-1))  # whole channels
    assert not _np(getattr(F, fn)(x, 1.0, True)).any()


def test_h5_module_reprs_and_state_dicts(torch):
    pairs = [(nn.Dropout1d(0.2), torch.nn.Dropout1d(0.2)), (nn.Dropout3d(), torch.nn.Dropout3d()),
             (nn.AlphaDropout(0.1), torch.nn.AlphaDropout(0.1)), (nn.FeatureAlphaDropout(), torch.nn.FeatureAlphaDropout()),
             (nn.Bilinear(2, 3, 4), torch.nn.Bilinear(2, 3, 4)), (nn.Bilinear(2, 3, 4, bias=False),
                                                                  torch.nn.Bilinear(2, 3, 4, bias=False)),
             (nn.EmbeddingBag(5, 3, mode="max", padding_idx=1, max_norm=1.0),
              torch.nn.EmbeddingBag(5, 3, mode="max", padding_idx=1, max_norm=1.0))]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        sd = theirs.state_dict()
        assert list(ours.state_dict()) == list(sd)
        for k, v in ours.state_dict().items():
            assert tuple(v.shape) == tuple(sd[k].shape)
    assert not _np(nn.EmbeddingBag(5, 3, padding_idx=1).weight)[1].any()


def test_bilinear_module_loads_torch_weights(torch):
    theirs = torch.nn.Bilinear(3, 2, 4).double()
    ours = nn.Bilinear(3, 2, 4, dtype=ag.float64)
    ours.load_state_dict({k: ag.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    a, b = _rng(2).standard_normal((5, 3)), _rng(3).standard_normal((5, 2))
    o, r = ours(ag.tensor(a), ag.tensor(b)), theirs(torch.tensor(a), torch.tensor(b))
    _close(o, r, "float64")
    o.sum().backward()
    r.sum().backward()
    _close(ours.weight.grad, theirs.weight.grad, "float64")
    # initialisation: U(-1/sqrt(in1), 1/sqrt(in1))
    w = _np(nn.Bilinear(16, 5, 200).weight)
    assert np.abs(w).max() <= 0.25 and np.abs(w).max() > 0.24


def test_parameter_list_and_dict_like_torch(torch):
    pl, tl = nn.ParameterList([ag.zeros(2, 3), nn.Parameter(ag.ones(2))]), torch.nn.ParameterList(
        [torch.zeros(2, 3), torch.nn.Parameter(torch.ones(2))])
    pl.append("x")
    tl.append("x")
    assert repr(pl) == repr(tl).replace("torch.", "autograd_gpu.")
    assert list(pl.state_dict()) == list(tl.state_dict()) == ["0", "1"]
    assert isinstance(pl[0], nn.Parameter) and pl[-1] == "x" and len(pl[:2]) == 2
    assert len(list(pl.parameters())) == 2
    with pytest.raises(IndexError):
        pl[5]
    pd = nn.ParameterDict({"b": ag.zeros(2), "a": nn.Parameter(ag.ones(1, 2))})
    td = torch.nn.ParameterDict({"b": torch.zeros(2), "a": torch.nn.Parameter(torch.ones(1, 2))})
    assert repr(pd) == repr(td).replace("torch.", "autograd_gpu.")
    assert list(pd.state_dict()) == list(td.state_dict()) == ["a", "b"]
    pd["c"] = ag.ones(3)
    assert "c" in pd and isinstance(pd["c"], nn.Parameter)
    assert pd.pop("c").shape == (3,) and "c" not in pd
    before = list(pd.keys())
    with pytest.raises(TypeError):
        pd.update([("z", ag.ones(1)), (3, ag.ones(1))])                # a failed update changes nothing
    assert list(pd.keys()) == before
    m = nn.Module()
    m.pl = pl
    assert list(m.state_dict()) == ["pl.0", "pl.1"]


H5_BAD_LAYERS = [
    ("bilinear", lambda L, f: f.bilinear(L.zeros(2, 3), L.zeros(2, 4), L.zeros(5, 3, 5))),
    ("bilinear", lambda L, f: f.bilinear(L.zeros(2, 3), L.zeros(3, 4), L.zeros(5, 3, 4))),
    ("embedding_bag", lambda L, f: f.embedding_bag(L.tensor([0, 9]), L.zeros(5, 2), L.tensor([0]))),
    ("embedding_bag", lambda L, f: f.embedding_bag(L.tensor([0, 1]), L.zeros(5, 2), L.tensor([1]))),
    ("embedding_bag", lambda L, f: f.embedding_bag(L.tensor([0, 1]), L.zeros(5, 2), L.tensor([0]), mode="x")),
    ("embedding_bag", lambda L, f: f.embedding_bag(L.tensor([0, 1]), L.zeros(5, 2), L.tensor([0]), mode="max",
                                                   scale_grad_by_freq=True)),
    ("embedding_bag", lambda L, f: f.embedding_bag(L.tensor([[0, 1]]), L.zeros(5, 2), L.tensor([0]))),
    ("embedding_bag", lambda L, f: f.embedding_bag(L.tensor([0, 1]), L.zeros(5, 2), L.tensor([0]),
                                                   per_sample_weights=L.ones(2))),
    ("dropout1d", lambda L, f: f.dropout1d(L.zeros(3))),
]


@pytest.mark.parametrize("i", range(len(H5_BAD_LAYERS)))
def test_h5_bad_layer_input_raises_like_pytorch(torch, i):
    name, call = H5_BAD_LAYERS[i]
    with pytest.raises(Exception) as theirs:
        call(torch, torch.nn.functional)
    with pytest.raises(theirs.type) as ours:
        call(ag, F)
    assert name in str(ours.value)


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_embedding_bag_scale_grad_by_freq(torch, device, mode):
    """The weight's gradient scaled by the inverse of each index's count in the batch, as documented and as
    F.embedding(scale_grad_by_freq=True) does: the oracle is that, reduced per bag. (PyTorch 2.13's CPU
    embedding_bag scales by other indices' counts: idx [1, 2, 1] gives row 2 a half. Its output is
    compared, its gradient is not.)"""
    w = np.random.default_rng(5).standard_normal((6, 3))
    idx, off = [1, 2, 4, 5, 4, 3, 1], [0, 2, 2, 4]
    W = ag.tensor(w, requires_grad=True, device=device)
    out = ag.nn.functional.embedding_bag(ag.tensor(idx, device=device), W, ag.tensor(off, device=device), mode=mode,
                                         scale_grad_by_freq=True)
    up = np.arange(1.0, 13.0).reshape(4, 3)
    out.backward(ag.tensor(up, device=device))
    Wt = torch.tensor(w, requires_grad=True)
    rows = torch.nn.functional.embedding(torch.tensor(idx), Wt, scale_grad_by_freq=True)
    bags = [rows[a:b] for a, b in zip(off, off[1:] + [len(idx)])]
    ref = torch.stack([(r.sum(0) if mode == "sum" else r.mean(0)) if len(r) else torch.zeros(3, dtype=Wt.dtype)
                       for r in bags])
    ref.backward(torch.tensor(up))
    theirs = torch.nn.functional.embedding_bag(torch.tensor(idx), torch.tensor(w), torch.tensor(off), mode=mode,
                                               scale_grad_by_freq=True)
    np.testing.assert_allclose(to_numpy(out.detach()), theirs.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(to_numpy(out.detach()), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(to_numpy(W.grad), Wt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_embedding_bag_failed_call_changes_nothing():
    w = ag.randn(5, 2, requires_grad=True)
    before = _np(w).copy()
    with pytest.raises(RuntimeError):
        F.embedding_bag(ag.tensor([0, 9]), w, ag.tensor([0]), max_norm=0.1)
    np.testing.assert_array_equal(_np(w), before)
    assert w._version == 0


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_refuses_a_last_offset_short_of_the_input(torch, mode):
    # PyTorch runs such a call, and its answers disagree among dtypes and modes (below): ours refuses it
    idx, off = [1, 2, 4, 5, 4, 3, 2, 0], [0, 2, 2, 4]
    w = ag.randn(6, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"embedding_bag: with include_last_offset=True the last offset must be "
                                           r"the input's length 8, but got 4"):
        F.embedding_bag(ag.tensor(idx), w, ag.tensor(off), mode=mode, include_last_offset=True, max_norm=0.5)
    assert w._version == 0
    eye = {dt: torch.eye(6, dtype=dt) for dt in (torch.float32, torch.float64)}
    last = {dt: torch.nn.functional.embedding_bag(torch.tensor(idx), e, torch.tensor(off), mode="sum",
                                                  include_last_offset=True)[2] for dt, e in eye.items()}
    assert not torch.equal(last[torch.float32].double(), last[torch.float64])


def test_layer_norm_is_one_node_holding_only_its_statistics(torch):
    """float32/float64 layer_norm is one node (NativeLayerNorm) whose forward keeps the mean and rstd of
    each row, not the composite's full-size intermediates (64 x 128 x 512: 48 MiB held after the forward
    -> 16, the output alone); writing the input, weight or bias before backward is PyTorch's version
    error, and under create_graph the first gradients require grad as PyTorch's."""
    import tracemalloc
    x = ag.randn(16, 32, 64, requires_grad=True)
    m = nn.LayerNorm(64)
    m(x).sum().backward()
    tracemalloc.start()
    try:
        y = m(x)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert held < 1.25 * y.numel() * 4, held            # (the output, and the per-row mean and rstd)
    names = graph_node_names(y)
    assert names[0] == "NativeLayerNormBackward0" and len(names) == 4, names     # (and x's, weight's, bias's leaves)
    outcomes = []
    for L in (torch, ag):
        for which in ("input", "weight", "bias"):
            t = {"input": L.randn(3, 4, requires_grad=True) * 1, "weight": L.randn(4, requires_grad=True),
                 "bias": L.randn(4, requires_grad=True)}
            y = L.nn.functional.layer_norm(t["input"], (4,), t["weight"], t["bias"])
            with L.no_grad():
                t[which].add_(1)
            outcomes.append(backward_outcome(y))
        a = L.randn(3, 4, requires_grad=True)
        w, b = L.ones(4, requires_grad=True), L.zeros(4, requires_grad=True)
        firsts = L.autograd.grad(L.nn.functional.layer_norm(a, (4,), w, b).sum(), (a, w, b), create_graph=True)
        outcomes.append(tuple(f.requires_grad for f in firsts))
    assert outcomes[:4] == outcomes[4:] and outcomes[:3] == ["version error"] * 3



@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_layer_norm_by_blocks_of_rows_matches_pytorch(torch, device, dtype):
    """layer_norm on NumPy runs a block of rows at a time (about 128k elements each): rows over
    several blocks with a partial last one, a 2-d normalized_shape, rows longer than a block, a
    mean far from 0; with and without weight and bias, every subset needing a gradient, an upstream
    gradient expanded from sum: the outputs and gradients are PyTorch's."""
    rng = _rng(21)
    cases = [((7, 130, 300), (300,), (True, True, True), True), ((3, 500, 30, 10), (30, 10), (False, True, True), True),
             ((3, 140001), (140001,), (True, False, True), True), ((910, 300), (300,), (True, False, False), False),
             ((7, 130, 300), (300,), (False, False, True), True)]
    for shape, normalized, wants, affine in cases:
        arrays = [rng.normal(5.0, 2.0, shape), rng.normal(size=normalized), rng.normal(size=normalized),
                  rng.normal(size=shape)]
        norm = lambda L, xs, ws, bs: L.nn.functional.layer_norm(xs, normalized, ws if affine else None,  # noqa: E731
                                                                  bs if affine else None)
        outs = [to_numpy(norm(L, *(L.tensor(a, dtype=getattr(L, dtype), **({"device": device} if L is ag else {}))
                                   for a in arrays[:3]))) for L in (ag, torch)]
        tol = dict(rtol=1e-9, atol=1e-10) if dtype == "float64" else dict(rtol=2e-4, atol=2e-5)
        np.testing.assert_allclose(outs[0], outs[1], err_msg=str(shape), **tol)
        norm_gradients_match(torch, norm, arrays, wants, dtype, device, shape)
    # float32 rows whose mean is far from 0: the output within twice PyTorch's float32 error of the
    # float64 result (the means by dot products were 3x PyTorch's error here: now pairwise sums)
    x = (rng.normal(size=(64, 8192)) * 3 + 1000).astype(np.float32)
    exact = torch.nn.functional.layer_norm(torch.tensor(x, dtype=torch.float64), (8192,)).numpy()
    theirs = np.abs(torch.nn.functional.layer_norm(torch.tensor(x), (8192,)).numpy() - exact).max()
    ours = np.abs(to_numpy(F.layer_norm(ag.tensor(x, device=device), (8192,))) - exact).max()
    assert ours <= 2 * theirs, (ours, theirs)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_batch_norm_training_backward_by_channels_matches_pytorch(torch, device, dtype):
    """batch_norm's backward in training on NumPy works per channel on (N, C, S) (einsum's sums, PyTorch's
    g k1 + (x - mean) k2 + k3): 2-d to 5-d input, every subset of input/weight/bias needing a gradient,
    no weight, an upstream gradient expanded from sum, NaN in one channel (that channel's gradients
    NaN, the others PyTorch's), against PyTorch."""
    rng = _rng(12)
    cases = [((4, 3), (True, True, True), True), ((4, 3, 5), (True, False, True), True),
             ((2, 3, 4, 5), (False, True, False), True), ((2, 3, 2, 2, 3), (True, True, False), False),
             ((5, 3, 6), (True, False, False), False)]
    for shape, wants, affine in cases:
        x = rng.normal(2.0, 3.0, shape)
        if len(shape) == 3 and wants == (True, False, False):
            x[0, 1, 2] = np.nan
        arrays = [x, rng.normal(size=3), rng.normal(size=3), rng.normal(size=shape)]
        norm_gradients_match(torch, lambda L, xs, ws, bs: L.nn.functional.batch_norm(
            xs, L.zeros(3, dtype=xs.dtype, device=xs.device), L.ones(3, dtype=xs.dtype, device=xs.device),
            ws if affine else None, bs if affine else None, training=True), arrays, wants, dtype, device, shape)


def test_batch_norm_in_training_is_one_node_saving_what_pytorch_saves(torch):
    """float32/float64 batch_norm in training is one node (NativeBatchNorm, a row per channel) fed the
    batch's statistics, which also move the running ones: its graph is that node and the leaves; it
    saves the input and the weight (writing the bias before backward runs, as PyTorch's); the running
    statistics and the create_graph requires-grad flags are PyTorch's."""
    y = F.batch_norm(ag.randn(4, 3, 5, requires_grad=True), ag.zeros(3), ag.ones(3), ag.ones(3, requires_grad=True),
                     ag.zeros(3, requires_grad=True), training=True)
    names = graph_node_names(y)
    assert names[0] == "NativeBatchNormBackward0" and len(names) == 4, names
    outcomes, stats = [], []
    x_np = np.random.default_rng(4).standard_normal((4, 3, 5))
    for L in (torch, ag):
        for which in ("input", "weight", "bias"):
            t = {"input": L.tensor(x_np, requires_grad=True) * 1, "weight": L.randn(3, dtype=L.float64,
                                                                                   requires_grad=True),
                 "bias": L.randn(3, dtype=L.float64, requires_grad=True)}
            rm, rv = L.zeros(3, dtype=L.float64), L.ones(3, dtype=L.float64)
            y = L.nn.functional.batch_norm(t["input"], rm, rv, t["weight"], t["bias"], training=True, momentum=0.3)
            with L.no_grad():
                t[which].add_(1)
            outcomes.append(backward_outcome(y))
            stats.append(np.concatenate([rm.numpy(), rv.numpy()]))
        a = L.tensor(x_np, requires_grad=True)
        w, b = L.ones(3, dtype=L.float64, requires_grad=True), L.zeros(3, dtype=L.float64, requires_grad=True)
        y = L.nn.functional.batch_norm(a, None, None, w, b, training=True)
        outcomes.append(tuple(f.requires_grad for f in L.autograd.grad(y.sum(), (a, w, b), create_graph=True)))
    assert outcomes[:4] == outcomes[4:] and outcomes[:3] == ["version error", "version error", "ran"]
    np.testing.assert_allclose(stats[3], stats[0], rtol=1e-12)
