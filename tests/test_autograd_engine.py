"""The graph engine: accumulation, retain_graph, retain_grad, hooks, inputs=,
grad mode, autograd.grad and higher orders, custom Functions, gradcheck,
version counters, memory behaviour. Values are checked against PyTorch or
against hand-derived results."""
import gc
import threading
import weakref

import numpy as np
import pytest

import autograd_gpu as ag


def val(t):
    return np.asarray(t._host())


# ---- accumulation and retain_graph ------------------------------------------------

def test_gradients_accumulate_across_backward_calls(device):
    x = ag.tensor([1.0, 2.0], requires_grad=True, device=device)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(val(x.grad), [3 + 2, 3 + 4])


def test_second_backward_without_retain_graph_raises(device):
    x = ag.tensor([1.0, 2.0], requires_grad=True, device=device)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward(device):
    x = ag.tensor([1.0, 2.0], requires_grad=True, device=device)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    e = np.exp([1.0, 2.0])
    np.testing.assert_allclose(val(x.grad), 2 * (e + e * [1, 2]), rtol=1e-6)


def test_graph_that_saved_nothing_can_be_walked_again(device):
    x = ag.tensor([1.0, 2.0], requires_grad=True, device=device)
    y = (x + 1).sum()
    y.backward()
    y.backward()
    np.testing.assert_allclose(val(x.grad), [2, 2])


def test_non_scalar_backward_needs_gradient(device):
    x = ag.ones(3, requires_grad=True, device=device)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()
    (x * 2).backward(ag.tensor([1.0, 2.0, 3.0], device=device))
    np.testing.assert_allclose(val(x.grad), [2, 4, 6])


def test_backward_gradient_shape_mismatch(device):
    x = ag.ones(3, requires_grad=True, device=device)
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(ag.ones(2, device=device))
    assert x.grad is None


def test_backward_on_tensor_without_grad_raises(device):
    with pytest.raises(RuntimeError, match="does not require grad"):
        ag.ones(2, device=device).sum().backward()


def test_leaf_grad_matches_leaf_shape_dtype_device(device):
    w = ag.randn(3, 1, requires_grad=True, device=device)
    (ag.randn(5, 3, device=device) @ w + w.sum()).sum().backward()
    assert w.grad.shape == w.shape and w.grad.dtype == w.dtype and w.grad.device == w.device
    assert w.grad.is_leaf and not w.grad.requires_grad


def test_grad_of_broadcast_input_is_reduced(device):
    b = ag.zeros(1, 4, requires_grad=True, device=device)
    x = ag.ones(5, 4, device=device)
    (x + b).sum().backward()
    np.testing.assert_allclose(val(b.grad), [[5, 5, 5, 5]])


def test_type_promotion_grads_keep_input_dtype(device):
    a = ag.ones(3, dtype=ag.float32, requires_grad=True, device=device)
    b = ag.ones(3, dtype=ag.float64, requires_grad=True, device=device)
    (a * b).sum().backward()
    assert a.grad.dtype == ag.float32 and b.grad.dtype == ag.float64


def test_gradient_reaches_input_used_twice(device):
    x = ag.tensor([3.0], requires_grad=True, device=device)
    y = x * x + x
    y.backward()
    np.testing.assert_allclose(val(x.grad), [7.0])


def test_leaf_used_by_two_ops_gets_both_gradients(device):
    p = ag.tensor([1.0, 2.0], requires_grad=True, device=device)
    (p * 2 + p * 3).sum().backward()
    np.testing.assert_allclose(val(p.grad), [5, 5])


def test_tensor_subclass_operands(device):
    x = ag.ones(2, device=device)
    p = ag.nn.Parameter(ag.full((2,), 3.0, device=device))
    for r in (ag.add(x, p), x.add(p), x.mul(p), x - p, ag.maximum(x, p), x.sub(p, alpha=2)):
        assert r.requires_grad
    x.add_(p.detach())
    np.testing.assert_allclose(val(x), [4, 4])


def test_long_chain_is_iterative(device):
    x = ag.tensor([1.0], requires_grad=True, device=device)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    np.testing.assert_allclose(val(x.grad), [1.0])
    del y
    gc.collect()


def test_wide_fan_in(device):
    x = ag.tensor([2.0], dtype=ag.float64, requires_grad=True, device=device)
    parts = [x * float(i) for i in range(10_000)]
    total = ag.stack(parts).sum()
    total.backward()
    np.testing.assert_allclose(val(x.grad), [sum(range(10_000))])


# ---- retain_grad, hooks, inputs= --------------------------------------------------

def test_non_leaf_grad_warns_and_is_none(device):
    x = ag.ones(2, requires_grad=True, device=device)
    y = x * 2
    y.sum().backward()
    with pytest.warns(UserWarning, match="not a leaf Tensor is being accessed"):
        assert y.grad is None


def test_retain_grad(device):
    x = ag.ones(2, requires_grad=True, device=device)
    y = x * 2
    y.retain_grad()
    assert y.retains_grad
    (y * 3).sum().backward(retain_graph=True)
    np.testing.assert_allclose(val(y.grad), [3, 3])
    (y * 3).sum().backward()                     # accumulates, like a leaf
    np.testing.assert_allclose(val(y.grad), [6, 6])
    x.retain_grad()                              # no-op on leaves
    assert not x.retains_grad


def test_hooks_on_leaf_and_non_leaf(device):
    x = ag.tensor([1.0, 2.0], requires_grad=True, device=device)
    seen = []
    h1 = x.register_hook(lambda g: g * 10)
    y = x * 2
    y.register_hook(lambda g: seen.append(val(g).copy()))   # returns None: grad unchanged
    y.sum().backward()
    np.testing.assert_allclose(seen[0], [1, 1])
    np.testing.assert_allclose(val(x.grad), [20, 20])
    h1.remove()
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_allclose(val(x.grad), [2, 2])


def test_hook_needs_requires_grad():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        ag.ones(2).register_hook(lambda g: g)


def test_backward_inputs_restricts_accumulation(device):
    a = ag.ones(2, requires_grad=True, device=device)
    b = ag.ones(2, requires_grad=True, device=device)
    (a * b * 3).sum().backward(inputs=[a])
    np.testing.assert_allclose(val(a.grad), [3, 3])
    assert b.grad is None


def test_backward_inputs_non_leaf_populates_grad(device):
    a = ag.ones(2, requires_grad=True, device=device)
    m = a * 2
    (m * 5).sum().backward(inputs=[m])
    np.testing.assert_allclose(val(m.grad), [5, 5])
    assert a.grad is None


# ---- grad mode -------------------------------------------------------------------

def test_no_grad_enable_grad_set_grad_enabled(device):
    x = ag.ones(2, requires_grad=True, device=device)
    with ag.no_grad():
        assert not ag.is_grad_enabled()
        y = x * 2
        with ag.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn.name() == "MulBackward1"
    with ag.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert ag.is_grad_enabled()
    ag.set_grad_enabled(False)
    assert not ag.is_grad_enabled()
    ag.set_grad_enabled(True)

    @ag.no_grad()
    def f(t):
        return t * 2
    assert not f(x).requires_grad and ag.is_grad_enabled()


def test_grad_mode_is_thread_local():
    x = ag.ones(2, requires_grad=True)
    results = {}

    def worker():
        results["enabled"] = ag.is_grad_enabled()
        results["rg"] = (x * 2).requires_grad

    with ag.no_grad():
        th = threading.Thread(target=worker)
        th.start()
        th.join()
        assert not (x * 2).requires_grad
    assert results == {"enabled": True, "rg": True}


def test_concurrent_backward_in_four_threads():
    errors = []

    def worker(k):
        try:
            for _ in range(50):
                x = ag.tensor([float(k)], requires_grad=True)
                with ag.enable_grad():
                    y = (x * x * k).sum()
                (g,) = ag.autograd.grad(y, x)
                assert abs(g.item() - 2 * k * k) < 1e-6
                with ag.no_grad():
                    assert not (x * 2).requires_grad
        except Exception as e:           # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


# ---- detach, requires_grad_, leaves -------------------------------------------------

def test_detach_shares_data_and_version(device):
    x = ag.ones(3, requires_grad=True, device=device)
    y = x * 2
    d = y.detach()
    assert d.grad_fn is None and not d.requires_grad and d.is_leaf
    d.add_(1)
    np.testing.assert_allclose(val(y), [3, 3, 3])
    assert y._version == d._version == 1


def test_requires_grad_rules(device):
    x = ag.ones(2, device=device)
    assert x.requires_grad_() is x and x.requires_grad
    y = x * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)
    with pytest.raises(RuntimeError, match="floating point"):
        ag.ones(2, dtype=ag.int64, device=device).requires_grad_()
    with pytest.raises(RuntimeError, match="floating point"):
        ag.tensor([1, 2], requires_grad=True, device=device)


# ---- autograd.grad and higher order --------------------------------------------------

def test_autograd_grad_basic_and_unused(device):
    x = ag.tensor([1.0, 2.0], requires_grad=True, device=device)
    u = ag.tensor([1.0], requires_grad=True, device=device)
    y = (x ** 3).sum()
    (gx,) = ag.autograd.grad(y, x, retain_graph=True)
    np.testing.assert_allclose(val(gx), [3, 12])
    assert x.grad is None                      # grad() does not accumulate
    with pytest.raises(RuntimeError, match="appears to not have been used"):
        ag.autograd.grad(y, [x, u], retain_graph=True)
    gx, gu = ag.autograd.grad(y, [x, u], allow_unused=True)
    assert gu is None


def test_second_derivative_and_hvp(torch, device):
    rng = np.random.default_rng(0)
    a, v = rng.standard_normal(5), rng.standard_normal(5)
    x = ag.tensor(a, dtype=ag.float64, requires_grad=True, device=device)
    f = (x.sin() * x ** 2).sum() + (x.exp() * x).sum()
    (g,) = ag.autograd.grad(f, x, create_graph=True)
    assert g.requires_grad
    (hv,) = ag.autograd.grad(g, x, ag.tensor(v, dtype=ag.float64, device=device))
    xt = torch.tensor(a, requires_grad=True)
    ft = (xt.sin() * xt ** 2).sum() + (xt.exp() * xt).sum()
    (gt,) = torch.autograd.grad(ft, xt, create_graph=True)
    (hvt,) = torch.autograd.grad(gt, xt, torch.tensor(v))
    np.testing.assert_allclose(val(hv), hvt.numpy(), rtol=1e-10)


def test_gradient_penalty(torch, device):
    rng = np.random.default_rng(1)
    W, X = rng.standard_normal((4, 3)), rng.standard_normal((6, 4))
    w = ag.tensor(W, dtype=ag.float64, requires_grad=True, device=device)
    x = ag.tensor(X, dtype=ag.float64, requires_grad=True, device=device)
    out = (x.mm(w).tanh()).sum()
    (gx,) = ag.autograd.grad(out, x, create_graph=True)
    penalty = (gx.norm(dim=1) - 1).pow(2).mean()
    penalty.backward()
    wt = torch.tensor(W, requires_grad=True)
    xt = torch.tensor(X, requires_grad=True)
    (gxt,) = torch.autograd.grad(xt.mm(wt).tanh().sum(), xt, create_graph=True)
    (gxt.norm(dim=1) - 1).pow(2).mean().backward()
    np.testing.assert_allclose(val(w.grad), wt.grad.numpy(), rtol=1e-10)


def test_third_derivative(device):
    x = ag.tensor([0.7], dtype=ag.float64, requires_grad=True, device=device)
    y = x.tanh()
    g1, = ag.autograd.grad(y, x, create_graph=True)
    g2, = ag.autograd.grad(g1, x, create_graph=True)
    g3, = ag.autograd.grad(g2, x)
    t = np.tanh(0.7)
    # d^3/dx^3 tanh = -2 (1 - t^2) (1 - 3 t^2)
    np.testing.assert_allclose(val(g3), [-2 * (1 - t * t) * (1 - 3 * t * t)], rtol=1e-10)


# ---- custom Function ---------------------------------------------------------------

class Cube(ag.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x * x * x * scale

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x * ctx.scale, None


class ExpOut(ag.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)              # saves its own output
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


def test_custom_function(device):
    x = ag.tensor([1.0, 2.0], dtype=ag.float64, requires_grad=True, device=device)
    y = Cube.apply(x, 2.0)
    assert y.grad_fn.name() == "CubeBackward"
    assert y.grad_fn.next_functions[0][0].name() == "torch::autograd::AccumulateGrad"
    y.sum().backward()
    np.testing.assert_allclose(val(x.grad), [6, 24])
    assert ag.autograd.gradcheck(lambda t: Cube.apply(t, 2.0), (x,))


def test_custom_function_higher_order_and_saved_output(device):
    x = ag.tensor([0.3, -0.2], dtype=ag.float64, requires_grad=True, device=device)
    assert ag.autograd.gradgradcheck(ExpOut.apply, (x,))
    assert ag.autograd.gradgradcheck(lambda t: Cube.apply(t, 1.5), (x,))
    y = ExpOut.apply(x)
    ref = weakref.ref(y.grad_fn)
    del y
    assert ref() is None                       # saving its output made no cycle


def test_custom_function_needs_input_grad(device):
    seen = {}

    class Probe(ag.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            seen["needs"] = ctx.needs_input_grad
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g, None

    a = ag.ones(2, requires_grad=True, device=device)
    Probe.apply(a, ag.ones(2, device=device)).sum().backward()
    assert seen["needs"] == (True, False)


def _inplace_fns(lib):
    """Custom Functions that write an input in place (ctx.mark_dirty), built on `lib`."""

    class ExpInplace(lib.autograd.Function):     # saves the written input: its own output
        @staticmethod
        def forward(ctx, x):
            x.exp_()
            ctx.mark_dirty(x)
            ctx.save_for_backward(x)
            return x

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    class ScaleSecond(lib.autograd.Function):    # writes its second tensor argument
        @staticmethod
        def forward(ctx, s, x):
            x.mul_(s)
            ctx.mark_dirty(x)
            ctx.save_for_backward(s, x)
            return x

        @staticmethod
        def backward(ctx, g):
            s, y = ctx.saved_tensors
            return (g * y / s).sum(0, keepdim=True), g * s

    return ExpInplace, ScaleSecond


def test_mark_dirty_returns_the_input_with_its_history_rebased(torch, device):
    # as PyTorch: the written input is the output (the same tensor), its version
    # moves once for the write and once for mark_dirty, and a later use of it
    # goes through the Function's node
    seen = []
    for lib, dev in ((torch, "cpu"), (ag, device)):
        ExpInplace, _ = _inplace_fns(lib)
        w = lib.tensor([0.5, -0.25], dtype=lib.float64, requires_grad=True, device=dev)
        h = w * 2
        h.retain_grad()
        y = ExpInplace.apply(h)
        (y.sum() + 3 * (h * h).sum()).backward()
        seen.append((y is h, h._version, h.grad_fn.name().replace("torch.autograd.function.", ""),
                     val(h.grad) if lib is ag else h.grad.numpy(), val(w.grad) if lib is ag else w.grad.numpy()))
    (same_t, ver_t, name_t, hg_t, wg_t), (same, ver, name, hg, wg) = seen
    assert same and same_t and ver == ver_t == 2 and name == "ExpInplaceBackward"
    np.testing.assert_allclose(hg, hg_t, rtol=1e-12)
    np.testing.assert_allclose(wg, wg_t, rtol=1e-12)


@pytest.mark.parametrize("view", [False, True])
def test_mark_dirty_second_order_through_saved_output(torch, device, view):
    # the saved output (the written input) carries the Function's history, or
    # for a view the base's CopySlices, so the second derivative sees exp's
    results = []
    for lib, dev in ((torch, "cpu"), (ag, device)):
        ExpInplace, _ = _inplace_fns(lib)
        w = lib.tensor([0.5, -0.25], dtype=lib.float64, requires_grad=True, device=dev)
        h = w * 2
        y = ExpInplace.apply(h.view(2, 1)[1:] if view else h)
        loss = y.tanh().sum() + (h * h).sum()
        (g,) = lib.autograd.grad(loss, w, create_graph=True)
        (g2,) = lib.autograd.grad((g * lib.tensor([1.0, 3.0], dtype=lib.float64, device=dev)).sum(), w)
        results.append([val(t) if lib is ag else t.detach().numpy() for t in (g, g2)])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_mark_dirty_of_a_view_that_is_not_the_first_argument(device):
    # PyTorch's CopySlices assumes the written view is the Function's first
    # argument (given second, PyTorch 2.13 returns wrong gradients); ours routes
    # the base's gradient through the argument actually written. Checked by
    # finite differences.
    _, ScaleSecond = _inplace_fns(ag)
    wts = ag.tensor([1.0, 2.0, 3.0], dtype=ag.float64, device=device)

    def f(w, s):
        b = w * 1
        ScaleSecond.apply(s, b[1:])
        return (b * b * wts).sum()

    w = ag.tensor([0.5, -1.5, 2.0], dtype=ag.float64, requires_grad=True, device=device)
    s = ag.tensor([1.5], dtype=ag.float64, requires_grad=True, device=device)
    f(w, s).backward()
    # b = (w0, s w1, s w2); loss = sum wts * b^2
    w0, w1, w2 = 0.5, -1.5, 2.0
    np.testing.assert_allclose(val(w.grad), [2 * 1 * w0, 2 * 2 * 1.5 ** 2 * w1, 2 * 3 * 1.5 ** 2 * w2], rtol=1e-12)
    np.testing.assert_allclose(val(s.grad), [2 * 1.5 * (2 * w1 ** 2 + 3 * w2 ** 2)], rtol=1e-12)
    assert ag.autograd.gradcheck(f, (w, s))


def test_mark_dirty_errors_as_pytorch(torch, device):
    for lib, dev in ((torch, "cpu"), (ag, device)):
        ExpInplace, _ = _inplace_fns(lib)

        class NotReturned(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.mul_(2)
                ctx.mark_dirty(x)
                return x.clone()

            @staticmethod
            def backward(ctx, g):
                return g * 2

        class TwoOutputs(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.mul_(2)
                ctx.mark_dirty(x)
                return x, x.clone()

            @staticmethod
            def backward(ctx, g, h):
                return g * 2 + h

        with pytest.raises(RuntimeError, match="marked as dirty during the forward method were not returned"):
            NotReturned.apply(lib.ones(2, requires_grad=True, device=dev) * 1)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            ExpInplace.apply(lib.ones(2, requires_grad=True, device=dev))
        with pytest.raises(RuntimeError, match="modifies inplace an input that is a view"):
            TwoOutputs.apply((lib.ones(3, requires_grad=True, device=dev) * 1)[1:])
        x = lib.ones(2, device=dev)                 # nothing records: the same tensor, no history
        assert ExpInplace.apply(x) is x and x.grad_fn is None and x._version == 2
        h = lib.ones(2, requires_grad=True, device=dev) * 1
        with lib.no_grad():                         # not recorded, h has a history: a detached alias
            y = ExpInplace.apply(h)
        assert y is not h and not y.requires_grad and h.grad_fn.name().startswith("MulBackward")


def test_gradcheck_reports_a_wrong_gradient():
    class Wrong(ag.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, g):
            return g                          # should be 2 x g

    x = ag.tensor([1.5, -0.5], dtype=ag.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        ag.autograd.gradcheck(Wrong.apply, (x,))
    assert ag.autograd.gradcheck(Wrong.apply, (x,), raise_exception=False) is False


# ---- versions and in-place safety --------------------------------------------------

def test_version_counter_and_modified_saved_tensor(device):
    x = ag.ones(3, requires_grad=True, device=device)
    y = x * 2
    assert y._version == 0
    z = y * y                                   # saves y
    y.add_(1)
    assert y._version == 1
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation.*is at version 1; "
                                           r"expected version 0"):
        z.sum().backward()


def test_clamp_keeps_a_mask_on_the_cpu_and_its_input_on_cuda(torch, device):
    """ClampBackward1 on cuda saves its input as PyTorch does (one fused clamp_bwd
    pass in the backward, no mask pass in the forward): writing the input in place
    afterwards raises PyTorch's error. The CPU keeps a 1-byte mask instead and
    computes (docs/nan_semantics.md). The gradients agree with PyTorch's, also
    at the bounds and of second order."""
    a = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, np.nan])
    for lo, hi in ((-1.0, 1.0), (0.0, None), (None, 0.5)):
        x = ag.tensor(a, requires_grad=True, device=device)
        xt = torch.tensor(a, requires_grad=True)
        (g,) = ag.autograd.grad((x * x).clamp(lo, hi).pow(2).sum(), x, create_graph=True)
        (gt,) = torch.autograd.grad((xt * xt).clamp(lo, hi).pow(2).sum(), xt, create_graph=True)
        np.testing.assert_array_equal(g.detach().cpu().numpy(), gt.detach().numpy())
        (h,) = ag.autograd.grad(g.sum(), x)
        (ht,) = torch.autograd.grad(gt.sum(), xt)
        np.testing.assert_array_equal(h.cpu().numpy(), ht.numpy())
    y = ag.ones(3, requires_grad=True, device=device) * 2
    z = y.clamp(min=0)
    y.add_(1)
    if device == "cuda":
        with pytest.raises(RuntimeError, match=r"modified by an inplace operation.*is at version 1; "
                                               r"expected version 0"):
            z.sum().backward()
    else:
        z.sum().backward()


def test_inplace_on_leaf_requiring_grad(device):
    w = ag.ones(3, requires_grad=True, device=device)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.add_(1)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        w[0].mul_(2)
    assert w._version == 0
    with ag.no_grad():
        w.sub_(0.5)
    np.testing.assert_allclose(val(w), [0.5] * 3)
    assert w._version == 1


def test_view_sees_inplace_on_base(torch, device):
    """A view made before its base is modified in place takes the new history."""
    def run(m, x):
        y = x * 1
        v = y[:2]
        y.mul_(3)
        return (v * v).sum()
    a = np.array([1.0, 2.0, 3.0])
    x = ag.tensor(a, requires_grad=True, device=device)
    run(ag, x).backward()
    xt = torch.tensor(a, requires_grad=True)
    run(torch, xt).backward()
    np.testing.assert_allclose(val(x.grad), xt.grad.numpy())


def test_setitem_on_plain_tensor_with_grad_value(torch, device):
    w = ag.tensor([1.0, 2.0], requires_grad=True, device=device)
    buf = ag.zeros(4, device=device)
    buf[1:3] = w * 2
    assert buf.requires_grad and buf.grad_fn.name() == "torch::autograd::CopySlices"
    (buf * ag.arange(4.0, device=device)).sum().backward()
    np.testing.assert_allclose(val(w.grad), [2, 4])


def test_hook_on_view_of_plain_base_written_with_grad(device):
    """A hook registered on a view of a plain base just written with a value
    requiring grad (PyTorch 2.13 segfaults here unless grad_fn was read first):
    the view takes the base's history, and the hook sees the view's gradient."""
    b = ag.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    w = ag.tensor([2.0, 3.0], requires_grad=True, device=device)
    v = b[0]
    b.mul_(w)
    seen = []
    v.register_hook(lambda g: seen.append(val(g).tolist()))
    (v * ag.tensor([5.0, 7.0], device=device)).sum().backward()
    assert seen == [[5.0, 7.0]]
    np.testing.assert_allclose(val(w.grad), [1 * 5, 2 * 7])       # v = b[0] * w


def test_views_of_a_long_lived_plain_base_do_not_pile_up(device):
    """A base remembers its views without history weakly: those that died are
    dropped as more are made (a dataset tensor sliced every step)."""
    data = ag.zeros(64, 3, device=device)
    keep = [data[i] for i in range(10)]
    for _ in range(5000):
        data[3:5].sum()
    assert len(data._views) < 100
    data.mul_(ag.ones(3, requires_grad=True, device=device))
    assert all(v.requires_grad for v in keep)


# ---- memory -------------------------------------------------------------------------

def test_nodes_do_not_keep_outputs_alive(device):
    gc.disable()
    try:
        x = ag.ones(3, requires_grad=True, device=device)
        y = (x.exp() * 2).tanh()                # tanh saves its result
        node_ref, out_ref = weakref.ref(y.grad_fn), weakref.ref(y)
        del y
        assert out_ref() is None and node_ref() is None
    finally:
        gc.enable()


def test_saved_arrays_released_after_backward(device):
    x = ag.ones(1000, requires_grad=True, device=device)
    y = x.exp()
    s = y.sum()
    node = y.grad_fn
    s.backward()
    assert node._saved is None and node._result is None


# (the training loop's flat memory and live objects: tests/test_stability.py, over 10,000 steps)


def _interrupted_graph(device):
    a = ag.ones(2, requires_grad=True, device=device)
    b = ag.ones(2, requires_grad=True, device=device)
    h = a * 3
    mid = b * 2
    calls = {"n": 0}

    def interrupt(g):
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt
    mid.register_hook(interrupt)
    return a, b, h.sum() + (mid * mid).sum()


def test_keyboard_interrupt_mid_backward_retained_graph_stays_usable(device):
    a, b, loss = _interrupted_graph(device)
    with pytest.raises(KeyboardInterrupt):
        loss.backward(retain_graph=True)
    assert a.grad is None and b.grad is None        # nothing half-accumulated
    loss.backward()                                  # graph intact: works again
    np.testing.assert_allclose(val(a.grad), [3, 3])
    np.testing.assert_allclose(val(b.grad), [8, 8])


def test_keyboard_interrupt_mid_backward_frees_graph_cleanly(device):
    a, b, loss = _interrupted_graph(device)
    with pytest.raises(KeyboardInterrupt):
        loss.backward()
    assert a.grad is None and b.grad is None        # nothing half-accumulated
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()                              # cleanly freed, not half-working
    assert a.grad is None and b.grad is None


@pytest.mark.parametrize("hooked", [False, True])
def test_leaf_grad_from_summed_paths_is_its_own_array(hooked):
    # a leaf reached by two paths gets the engine's sum as .grad without a copy;
    # it must alias nothing a user holds: hooks' tensors, the given gradient
    x = ag.ones(3, requires_grad=True)
    seen = []
    if hooked:
        x.register_hook(lambda g: seen.append(g))
    given = ag.full((3,), 2.0)
    (x * 1 + x).backward(given)
    assert x.grad.tolist() == [4.0, 4.0, 4.0]
    x.grad.add_(1)
    assert given.tolist() == [2.0, 2.0, 2.0]
    if hooked:
        assert seen[0].tolist() == [4.0, 4.0, 4.0]
    (x + x).backward(given)                       # accumulates into the kept array
    assert x.grad.tolist() == [9.0, 9.0, 9.0]
    assert seen[-1].tolist() == [4.0, 4.0, 4.0] if hooked else not seen


@pytest.mark.parametrize("paths", [3, 4, 6])
def test_leaf_grad_summed_over_many_paths(paths):
    # the sum is made path by path (each partial sum replaced by the next): the
    # last one becomes .grad, and none of the given gradient's memory is shared
    x = ag.ones(3, requires_grad=True)
    given = ag.full((3,), 2.0)
    y = x * 1
    for _ in range(paths - 1):
        y = y + x
    y.backward(given)
    assert x.grad.tolist() == [2.0 * paths] * 3
    x.grad.add_(1)
    assert given.tolist() == [2.0, 2.0, 2.0]
    y = x + x
    for _ in range(paths - 2):
        y = y + x
    y.backward(given)                             # accumulates into the kept array
    assert x.grad.tolist() == [4.0 * paths + 1] * 3
