"""ag.amp (autocast, GradScaler, custom_fwd/custom_bwd) and ag.cuda.amp against PyTorch 2.13 CPU.
On cpu, PyTorch's own autocast(dtype=float16) is the oracle; PyTorch has no cuda here, so on cuda
the same program runs in PyTorch with the inputs cast by hand as its cuda op lists say (dtype by dtype)."""
import threading

import numpy as np
import pytest

import autograd_gpu as ag

F16_TOL = dict(rtol=2e-2, atol=2e-2)


def _F(L):
    return L.nn.functional


def _torch_dtype(torch, d):
    return getattr(torch, d.name)


# (name, fn(L, *xs), inputs as (shape, dtype) or tensors made by a lambda, cuda policy)
# cuda policy: how PyTorch's cuda autocast casts the inputs ("lower", "fp32", "promote", None: as given)
CASES = [
    ("matmul", lambda L, a, b: a @ b, [((3, 4), "float32"), ((4, 5), "float32")], "lower"),
    ("matmul_mv", lambda L, a, b: L.matmul(a, b), [((3, 4), "float32"), ((4,), "float32")], "lower"),
    ("mm", lambda L, a, b: L.mm(a, b), [((3, 4), "float32"), ((4, 5), "float32")], "lower"),
    ("bmm", lambda L, a, b: L.bmm(a, b), [((2, 3, 4), "float32"), ((2, 4, 2), "float32")], "lower"),
    ("addmm", lambda L, c, a, b: L.addmm(c, a, b), [((3, 5), "float32"), ((3, 4), "float32"),
                                                    ((4, 5), "float32")], "lower"),
    ("baddbmm", lambda L, c, a, b: L.baddbmm(c, a, b), [((2, 3, 2), "float32"), ((2, 3, 4), "float32"),
                                                        ((2, 4, 2), "float32")], "lower"),
    ("addbmm", lambda L, c, a, b: L.addbmm(c, a, b), [((3, 2), "float32"), ((2, 3, 4), "float32"),
                                                      ((2, 4, 2), "float32")], "lower"),
    ("linear", lambda L, x, w, b: _F(L).linear(x, w, b), [((2, 3, 4), "float32"), ((5, 4), "float32"),
                                                          ((5,), "float32")], "lower"),
    ("conv1d", lambda L, x, w, b: _F(L).conv1d(x, w, b, padding=1), [((2, 3, 6), "float32"),
                                                                     ((4, 3, 3), "float32"), ((4,), "float32")],
     "lower"),
    ("conv2d", lambda L, x, w, b: _F(L).conv2d(x, w, b), [((1, 2, 5, 5), "float32"), ((3, 2, 3, 3), "float32"),
                                                          ((3,), "float32")], "lower"),
    ("conv_transpose2d", lambda L, x, w, b: _F(L).conv_transpose2d(x, w, b, stride=2),
     [((1, 2, 3, 3), "float32"), ((2, 3, 2, 2), "float32"), ((3,), "float32")], "lower"),
    ("prelu", lambda L, x, w: _F(L).prelu(x, w), [((2, 3, 4), "float32"), ((3,), "float32")], "lower"),
    ("sdpa", lambda L, q, k, v: _F(L).scaled_dot_product_attention(q, k, v),
     [((2, 3, 4), "float32"), ((2, 5, 4), "float32"), ((2, 5, 4), "float32")], "lower"),
    ("vecdot", lambda L, a, b: L.linalg.vecdot(a, b), [((3, 4), "float32"), ((3, 4), "float32")], "lower"),
    ("exp_half", lambda L, a: L.exp(a), [((3, 4), "float16")], "fp32"),
    ("log_half", lambda L, a: L.log(a.abs() + 1), [((3, 4), "float16")], "fp32"),
    ("pow_half", lambda L, a: a ** 2, [((3, 4), "float16")], "fp32"),
    ("softmax_half", lambda L, a: _F(L).softmax(a, -1), [((3, 4), "float16")], "fp32"),
    ("log_softmax_half", lambda L, a: _F(L).log_softmax(a, -1), [((3, 4), "float16")], "fp32"),
    ("sum_half", lambda L, a: a.sum(), [((3, 4), "float16")], "fp32"),
    ("prod_half", lambda L, a: (a * 0.1 + 1).prod(1), [((3, 4), "float16")], "fp32"),
    ("cumsum_half", lambda L, a: a.cumsum(0), [((3, 4), "float16")], "fp32"),
    ("layer_norm_half", lambda L, a, w: _F(L).layer_norm(a, (4,), w), [((3, 4), "float16"), ((4,), "float32")],
     "fp32"),
    ("mse_half", lambda L, a, b: _F(L).mse_loss(a, b), [((3, 4), "float16"), ((3, 4), "float16")], "fp32"),
    ("l1_half", lambda L, a, b: _F(L).l1_loss(a, b), [((3, 4), "float16"), ((3, 4), "float16")], "fp32"),
    ("cross_entropy_half", lambda L, a: _F(L).cross_entropy(a, L.tensor([0, 3, 1], device=a.device)), [((3, 4), "float16")], "fp32"),
    ("bce_logits_half", lambda L, a, b: _F(L).binary_cross_entropy_with_logits(a, b.sigmoid()),
     [((3, 4), "float16"), ((3, 4), "float16")], "fp32"),
    ("softplus_half", lambda L, a: _F(L).softplus(a), [((3, 4), "float16")], "fp32"),
    ("cdist", lambda L, a, b: L.cdist(a, b), [((3, 4), "float32"), ((2, 4), "float32")], "fp32"),
    ("cat_mixed", lambda L, a, b: L.cat([a, b]), [((2, 4), "float16"), ((3, 4), "float32")], None),
    ("stack_mixed", lambda L, a, b: L.stack([a, b]), [((2, 4), "float16"), ((2, 4), "float32")], None),
    ("addcmul_mixed", lambda L, a, b, c: L.addcmul(a, b, c), [((3, 4), "float16"), ((3, 4), "float32"),
                                                              ((3, 4), "float16")], "promote"),
    ("atan2_mixed", lambda L, a, b: L.atan2(a, b), [((3, 4), "float16"), ((3, 4), "float32")], "promote"),
    ("dot_mixed", lambda L, a, b: L.dot(a, b), [((4,), "float16"), ((4,), "float32")], "promote"),
    ("add_not_listed", lambda L, a, b: a + b, [((3, 4), "float16"), ((3, 4), "float32")], None),
    ("mm_float64", lambda L, a, b: L.mm(a, b), [((3, 4), "float64"), ((4, 5), "float64")], None),
]


def _inputs(shapes, rng):
    return [rng.standard_normal(s).astype(d) for s, d in shapes]


def _ours(arrays, device):
    return [ag.tensor(a, device=device, requires_grad=True) for a in arrays]


def _cast_by_policy(torch, ts, policy):
    """PyTorch's cuda autocast casts, by hand (eligible: floating, not float64)."""
    eligible = [t for t in ts if t.dtype in (torch.float16, torch.float32)]
    if policy == "lower":
        to = torch.float16
    elif policy == "fp32":
        to = torch.float32
    elif policy == "promote":
        to = torch.float16
        for t in ts:
            if t.dtype.is_floating_point:
                to = torch.promote_types(to, t.dtype)
    else:
        return ts
    return [t.to(to) if any(t is e for e in eligible) else t for t in ts]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_op_dtypes_values_and_grads(torch, device, case):
    name, fn, shapes, cuda_policy = case
    arrays = _inputs(shapes, np.random.default_rng(0))
    ours = _ours(arrays, device)
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    if device == "cpu":
        try:
            with torch.autocast("cpu", dtype=torch.float16):
                ty = fn(torch, *theirs)
        except RuntimeError:                   # not cast on cpu (dot_mixed): both refuse the dtypes
            with pytest.raises(RuntimeError), ag.autocast(device, dtype=ag.float16):
                fn(ag, *ours)
            return
    with ag.autocast(device, dtype=ag.float16):
        y = fn(ag, *ours)
    if device == "cuda":
        ty = fn(torch, *_cast_by_policy(torch, theirs, cuda_policy))
    assert y.dtype.name == str(ty.dtype).split(".")[1], name
    np.testing.assert_allclose(y.detach().cpu().numpy().astype(np.float64),
                               ty.detach().numpy().astype(np.float64), **F16_TOL)
    y.float().sum().backward()
    ty.float().sum().backward()
    for a, ta in zip(ours, theirs):
        assert a.grad.dtype.name == str(ta.grad.dtype).split(".")[1]          # the input's own dtype
        np.testing.assert_allclose(a.grad.cpu().numpy().astype(np.float64),
                                   ta.grad.numpy().astype(np.float64), rtol=3e-2, atol=3e-2)


def test_every_entry_function_is_defined_cast_at_entry():
    import functools
    import inspect
    from autograd_gpu import amp
    for path, _ in amp._ENTRIES:       # (ag.matmul: PyTorch's Tensor check around the Tensor method)
        fn = inspect.unwrap(functools.reduce(getattr, path.split("."), ag),
                            stop=lambda f: hasattr(f, "__wrapped_by_autocast__"))
        assert getattr(fn, "__wrapped_by_autocast__", False), path


def test_a_reference_taken_before_any_region_is_cast(torch, device):
    # (the entry casts are part of the functions, not put in place later: a name imported early casts too)
    from autograd_gpu.nn.functional import linear
    x, w, b = (ag.randn(*s, device=device) for s in ((2, 3), (4, 3), (4,)))
    with ag.autocast(device, dtype=ag.float16):
        y = linear(x, w, b)
    with torch.autocast("cpu", dtype=torch.float16):
        ty = torch.nn.functional.linear(*(torch.randn(*s) for s in ((2, 3), (4, 3), (4,))))
    assert y.dtype is ag.float16 and str(ty.dtype) == "torch.float16"


def test_cpu_lists_differ_from_cuda(device):
    """exp of float16 runs in float32 only on cuda; mv is cast only on cuda (cpu: matmul only)."""
    h = ag.randn(3, 4, device=device).half()
    m, v = ag.randn(3, 4, device=device), ag.randn(4, device=device)
    with ag.autocast(device, dtype=ag.float16):
        e, mv = ag.exp(h), ag.mv(m, v)
    assert e.dtype is (ag.float32 if device == "cuda" else ag.float16)
    assert mv.dtype is (ag.float16 if device == "cuda" else ag.float32)


def test_outside_region_nested_disabled_and_decorator(torch, device):
    a, b = ag.randn(3, 3, device=device), ag.randn(3, 3, device=device)
    assert (a @ b).dtype is ag.float32
    with ag.amp.autocast(device, dtype=ag.float16):
        assert ag.is_autocast_enabled(device) and ag.get_autocast_dtype(device) is ag.float16
        e16 = a @ b
        with ag.autocast(device, enabled=False):
            assert not ag.is_autocast_enabled(device)
            f32 = a @ e16.float()
            with ag.autocast(device, dtype=ag.float16):
                assert (a @ b).dtype is ag.float16
        g16 = a @ f32
    assert (e16.dtype, f32.dtype, g16.dtype) == (ag.float16, ag.float32, ag.float16)
    assert not ag.is_autocast_enabled(device) and (a @ b).dtype is ag.float32

    @ag.autocast(device, dtype=ag.float16)
    def f(x, y):
        return x @ y
    assert f(a, b).dtype is ag.float16 and (a @ b).dtype is ag.float32
    with pytest.raises(TypeError, match="requires a callable"):
        ag.autocast(device, dtype=ag.float16)(3)
    with pytest.raises(TypeError, match="requires a callable"):
        torch.autocast("cpu", dtype=torch.float16)(3)


def test_autocast_state_is_thread_local(device):
    a = ag.randn(3, 4, device=device)
    seen = {}

    def other():
        seen["enabled"] = ag.is_autocast_enabled(device)
        seen["dtype"] = (a @ a.T).dtype
    with ag.autocast(device, dtype=ag.float16):
        t = threading.Thread(target=other)
        t.start()
        t.join()
        assert (a @ a.T).dtype is ag.float16
    assert seen == {"enabled": False, "dtype": ag.float32}


def test_inplace_and_float64_not_cast(torch, device):
    c = ag.randn(3, 3, device=device)
    a, b = ag.randn(3, 3, device=device), ag.randn(3, 3, device=device)
    d = ag.randn(3, 3, dtype=ag.float64, device=device)
    want = (c + a @ b).cpu().numpy()
    tc = torch.tensor(c.cpu().numpy())
    with ag.autocast(device, dtype=ag.float16):
        c.addmm_(a, b)
        assert (d @ d).dtype is ag.float64
    with torch.autocast("cpu", dtype=torch.float16):
        tc.addmm_(torch.tensor(a.cpu().numpy()), torch.tensor(b.cpu().numpy()))
    np.testing.assert_allclose(c.cpu().numpy(), want, rtol=1e-5, atol=1e-5)     # computed in float32
    np.testing.assert_allclose(tc.numpy(), want, rtol=1e-5, atol=1e-5)


def test_weight_cache(torch, device):
    """A float32 leaf requiring grad is cast once per region (the same cast node), as PyTorch's."""
    lin = ag.nn.Linear(4, 3).to(device)
    tlin = torch.nn.Linear(4, 3)
    x = ag.randn(2, 4, device=device)
    tx = torch.randn(2, 4)

    def cast_node(y):
        """The cast nodes of the graph of y, in the order a walk from y meets them."""
        found, todo = [], [y.grad_fn]
        while todo:
            n = todo.pop(0)
            if n.name() == "ToCopyBackward0":
                found.append(n)
            todo += [m for m, _ in n.next_functions if m is not None]
        return found
    for cache in (True, False):
        with ag.autocast(device, dtype=ag.float16, cache_enabled=cache):
            y1, y2 = lin(x), lin(x)
        with torch.autocast("cpu", dtype=torch.float16, cache_enabled=cache):
            t1, t2 = tlin(tx), tlin(tx)
        ours_shared = [a is b for a, b in zip(cast_node(y1), cast_node(y2))]
        theirs_shared = [a is b for a, b in zip(cast_node(t1), cast_node(t2))]
        assert ours_shared == theirs_shared == [cache, cache]
    with ag.autocast(device, dtype=ag.float16):
        y1 = lin(x)
    with ag.autocast(device, dtype=ag.float16):
        y2 = lin(x)                                        # a new region: the cache was cleared
    assert cast_node(y1)[0] is not cast_node(y2)[0]
    (y1.float().sum() + y2.float().sum()).backward()
    assert lin.weight.grad.dtype is ag.float32


def test_cpu_default_dtype_warns_and_disables(torch):
    """PyTorch's cpu default is bfloat16, which we lack: warn and disable (PyTorch's path for an
    unsupported dtype: shown with float32, which it refuses the same way)."""
    a = ag.randn(2, 2)
    with pytest.warns(UserWarning, match="target dtype is not supported. Disabling autocast"):
        ctx = ag.autocast("cpu")
    with ctx:
        assert not ag.is_autocast_enabled("cpu") and (a @ a).dtype is ag.float32
    with pytest.warns(UserWarning, match="target dtype is not supported. Disabling autocast"):
        torch.autocast("cpu", dtype=torch.float32)
    with pytest.warns(UserWarning, match="target dtype is not supported"):
        ag.autocast("cpu", dtype=ag.float32)


BAD = [
    ("device_type not a str", lambda L: L.autocast(0), ValueError),
    ("unknown device_type", lambda L: L.autocast("fpga"), RuntimeError),
    ("custom_fwd device_type", lambda L: L.amp.custom_fwd(device_type=1), ValueError),
    ("growth factor", lambda L: L.amp.GradScaler("cpu", growth_factor=1.0), AssertionError),
    ("backoff factor", lambda L: L.amp.GradScaler("cpu", backoff_factor=1.0), AssertionError),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input(torch, case):
    _, fn, exc = case
    with pytest.raises(exc):
        fn(torch)
    with pytest.raises(exc):
        fn(ag)
    assert not ag.is_autocast_enabled("cpu")


def test_bce_banned_on_cuda_fp32_on_cpu(torch, device):
    p, t = ag.rand(3, device=device), ag.rand(3, device=device)
    with ag.autocast(device, dtype=ag.float16):
        if device == "cuda":
            with pytest.raises(RuntimeError, match="binary_cross_entropy.*unsafe to autocast"):
                ag.nn.functional.binary_cross_entropy(p, t)
        else:
            out = ag.nn.functional.binary_cross_entropy(p.half(), t.half())
    if device == "cpu":
        with torch.autocast("cpu", dtype=torch.float16):
            tout = torch.nn.functional.binary_cross_entropy(torch.rand(3).half(), torch.rand(3).half())
        assert out.dtype is ag.float32 and tout.dtype == torch.float32


def _custom_function(L):
    amp = L.amp

    class Scale(L.autograd.Function):
        @staticmethod
        @amp.custom_fwd(device_type="cpu", cast_inputs=L.float32)
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            ctx.seen = (x.dtype, w.dtype, L.is_autocast_enabled("cpu"), (x @ w).dtype)
            return x @ w

        @staticmethod
        @amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            ctx.bwd_enabled = L.is_autocast_enabled("cpu")
            return g @ w.T, x.T @ g
    return Scale


def test_custom_fwd_bwd(torch):
    x, w = np.random.default_rng(1).standard_normal((2, 3, 3)).astype(np.float32)
    res = {}
    for L in (ag, torch):
        fn = _custom_function(L)
        xs, ws = L.tensor(x, requires_grad=True), L.tensor(w, requires_grad=True)
        with L.autocast("cpu", dtype=L.float16):
            y = fn.apply(xs.half(), ws)
        y.sum().backward()
        res[L is ag] = (str(y.dtype).split(".")[1], str(xs.grad.dtype).split(".")[1],
                        str(ws.grad.dtype).split(".")[1])
        np.testing.assert_allclose(y.detach().numpy(), (x.astype(np.float16).astype(np.float32) @ w),
                                   rtol=1e-5, atol=1e-5)
    assert res[True] == res[False] == ("float32", "float32", "float32")


def test_custom_fwd_state_seen(torch):
    seen = {}
    for L in (ag, torch):
        fn = _custom_function(L)
        ctx_seen = {}

        class Wrapped(fn):
            @staticmethod
            def forward(ctx, x, w):
                out = fn.forward(ctx, x, w)
                ctx_seen["fwd"] = tuple(str(v).split(".")[-1] if not isinstance(v, bool) else v for v in ctx.seen)
                return out
        x = L.ones(2, 3, requires_grad=True)
        with L.autocast("cpu", dtype=L.float16):
            Wrapped.apply(x.half(), L.ones(3, 3))
        seen[L is ag] = ctx_seen["fwd"]
    assert seen[True] == seen[False] == ("float32", "float32", False, "float32")


def _train(L, scaler_dev, device, inject, steps=8):
    rng = np.random.default_rng(5)
    w0, b0 = rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal(2).astype(np.float32)
    xs = rng.standard_normal((steps, 4, 3)).astype(np.float32)
    mk = (lambda a: ag.tensor(a, device=device)) if L is ag else L.tensor
    lin = L.nn.Linear(3, 2)
    if L is ag:
        lin = lin.to(device)
    with L.no_grad():
        lin.weight.copy_(mk(w0))
        lin.bias.copy_(mk(b0))
    opt = L.optim.SGD(lin.parameters(), lr=0.1, momentum=0.9)
    scaler = L.amp.GradScaler(scaler_dev, init_scale=2.0 ** 10, growth_interval=2)
    scales, rets = [], []
    for i in range(steps):
        opt.zero_grad()
        loss = (lin(mk(xs[i])) ** 2).mean()
        scaler.scale(loss).backward()
        if i in inject:
            with L.no_grad():
                lin.weight.grad[0, 0] = float("inf") if i % 2 else float("nan")
        if i == 3:
            scaler.unscale_(opt)
            with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
                scaler.unscale_(opt)
        rets.append(scaler.step(opt))
        scaler.update()
        scales.append(scaler.get_scale())
    return scales, rets, lin.weight.detach().cpu().numpy(), scaler.state_dict()


def test_grad_scaler_training_loop(torch, device):
    inject = {1, 2, 6}
    scales, rets, w, sd = _train(ag, device, device, inject)
    tscales, trets, tw, tsd = _train(torch, "cpu", "cpu", inject)
    assert scales == tscales
    assert rets == trets == [None] * 8
    np.testing.assert_allclose(w, tw, rtol=1e-5, atol=1e-6)
    assert sd == tsd


def test_grad_scaler_state_dict_round_trip(torch, device):
    ours, theirs = ag.amp.GradScaler(device, init_scale=8.0, growth_factor=3.0), torch.amp.GradScaler("cpu")
    ours.scale(ag.ones(1, device=device))
    theirs.load_state_dict(ours.state_dict())
    assert theirs.state_dict() == ours.state_dict()
    back = ag.amp.GradScaler(device)
    back.load_state_dict(theirs.state_dict())
    assert back.state_dict() == theirs.state_dict() and back.get_scale() == 8.0
    assert list(back.state_dict()) == ["scale", "growth_factor", "backoff_factor", "growth_interval",
                                       "_growth_tracker"]
    with pytest.raises(RuntimeError, match="state dict is empty"):
        back.load_state_dict({})
    with pytest.raises(KeyError):
        back.load_state_dict({"scale": 2.0})
    assert back.get_scale() == 8.0                       # a failed load changes nothing


def test_grad_scaler_misuse_and_disabled(torch, device):
    p = ag.nn.Parameter(ag.ones(2, device=device))
    opt = ag.optim.SGD([p], lr=1.0)
    s = ag.amp.GradScaler(device)
    with pytest.raises(AssertionError, match="_scale is None"):
        s.step(opt)
    s.scale(p.sum()).backward()
    s.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        s.step(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step"):
        s.unscale_(opt)
    s.update(4.0)
    assert s.get_scale() == 4.0
    q = ag.nn.Parameter(ag.ones(2, device=device).half())
    q.grad = ag.ones(2, device=device).half()
    opt16 = ag.optim.SGD([q], lr=1.0)
    with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients"):
        s.unscale_(opt16)
    off = ag.amp.GradScaler(device, enabled=False)
    loss = p.sum()
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {}
    assert not off.is_enabled() and s.is_enabled()
    assert (s.get_growth_factor(), s.get_backoff_factor(), s.get_growth_interval()) == (2.0, 0.5, 2000)


def test_rnn_cells(torch, device):
    """Only the cells' linear ops are cast, on both devices: the float32 cell state promotes back,
    as PyTorch's cpu. (PyTorch's cuda casts lstm_cell/gru_cell/rnn_*_cell as a whole: float16 states;
    a divergence, see the report.)"""
    x = ag.randn(4, 3, device=device)
    cells = [ag.nn.LSTMCell(3, 2).to(device), ag.nn.GRUCell(3, 2).to(device), ag.nn.RNNCell(3, 2).to(device)]
    with ag.autocast(device, dtype=ag.float16):
        outs = [*cells[0](x), cells[1](x), cells[2](x)]
    tx = torch.randn(4, 3)
    with torch.autocast("cpu", dtype=torch.float16):
        touts = [*torch.nn.LSTMCell(3, 2)(tx), torch.nn.GRUCell(3, 2)(tx), torch.nn.RNNCell(3, 2)(tx)]
    assert [o.dtype.name for o in outs] == [str(t.dtype).split(".")[1] for t in touts]
    sum(o.float().sum() for o in outs).backward()
    assert all(p.grad.dtype is ag.float32 for c in cells for p in c.parameters())


@pytest.mark.filterwarnings("ignore:CUDA is not available")
def test_cuda_amp_deprecated_forms(device):
    with pytest.warns(FutureWarning, match="ag.cuda.amp.autocast"):
        ctx = ag.cuda.amp.autocast()
    if device == "cuda":
        a = ag.randn(2, 2, device="cuda")
        with ctx:
            assert (a @ a).dtype is ag.float16
        with pytest.warns(FutureWarning, match="GradScaler"):
            s = ag.cuda.amp.GradScaler(init_scale=4.0)
        assert s.get_scale() == 4.0 and s.is_enabled()
    with pytest.warns(FutureWarning, match="custom_fwd"):
        ag.cuda.amp.custom_fwd(cast_inputs=ag.float32)
    assert ag.amp.is_autocast_available("cuda") and ag.amp.is_autocast_available("cpu")
    assert not ag.amp.is_autocast_available("mps")
