"""Saved-tensor hooks (ag.autograd.graph.saved_tensors_hooks, save_on_cpu,
disable_saved_tensors_hooks) against torch.autograd.graph (PyTorch 2.13):
how often pack and unpack run, what they receive, the gradients backward
computes from what unpack returns (first and second order), in-place writes,
custom Functions, errors, nesting, threads, and that a packed node holds only
the packs."""
import gc
import threading
import weakref

import numpy as np
import pytest

import autograd_gpu as ag
from autograd_gpu.autograd import graph as G
from autograd_gpu.autograd import op as _op

from oracle import to_numpy


def leaves(lib, shapes, device=None, seed=0):
    rs = np.random.RandomState(seed)
    kw = {"device": device} if lib is ag else {}
    return [lib.tensor(rs.uniform(0.5, 1.5, s), dtype=lib.float64, requires_grad=True, **kw) for s in shapes]


def counting_hooks(lib, log, pack=lambda t: t, unpack=lambda p: p):
    def pack_hook(t):
        log.append(("pack", tuple(t.shape), lib.is_grad_enabled()))
        return pack(t)

    def unpack_hook(p):
        log.append(("unpack", lib.is_grad_enabled()))
        return unpack(p)
    return lib.autograd.graph.saved_tensors_hooks(pack_hook, unpack_hook)


def run_both(torch, device, fn, shapes, pack=None, unpack=None):
    """fn under counting hooks on both libraries, then backward of its sum:
    (our log, torch's log); the leaves' gradients are compared here."""
    out = []
    for lib in (torch, ag):
        log = []
        xs = leaves(lib, shapes, device if lib is ag else None)
        p = (lambda t: t) if pack is None else (lambda t, lib=lib: pack(lib, t))
        u = (lambda q: q) if unpack is None else (lambda q, lib=lib: unpack(lib, q))
        with counting_hooks(lib, log, p, u):
            y = fn(lib, *xs)
        y.sum().backward()
        out.append((log, [x.grad for x in xs]))
    (theirs, tgrads), (ours, ograds) = out
    for o, t in zip(ograds, tgrads):
        np.testing.assert_allclose(to_numpy(o), to_numpy(t), rtol=1e-12, atol=1e-12)
    return ours, theirs


OPS = {
    "mul": (lambda L, a, b: a * b, [(3,), (3,)]),
    "div": (lambda L, a, b: a / b, [(3,), (3,)]),
    "add (saves nothing)": (lambda L, a, b: a + b, [(3,), (3,)]),
    "exp (saves its result)": (lambda L, a: a.exp(), [(3,)]),
    "log": (lambda L, a: a.log(), [(3,)]),
    "tanh": (lambda L, a: a.tanh(), [(3,)]),
    "sigmoid": (lambda L, a: a.sigmoid(), [(3,)]),
    "relu": (lambda L, a: a.relu(), [(3,)]),
    "pow scalar": (lambda L, a: a ** 2, [(3,)]),
    "pow tensor (inputs and result)": (lambda L, a, b: a ** b, [(3,), (3,)]),
    "mm": (lambda L, a, b: a @ b, [(2, 3), (3, 4)]),
    "mv": (lambda L, a, b: L.mv(a, b), [(2, 3), (3,)]),
    "bmm": (lambda L, a, b: L.bmm(a, b), [(2, 2, 3), (2, 3, 2)]),
    "max (all)": (lambda L, a: a.max(), [(2, 3)]),
    "softmax": (lambda L, a: a.softmax(-1), [(2, 3)]),
    "log_softmax": (lambda L, a: a.log_softmax(-1), [(2, 3)]),
    "abs": (lambda L, a: a.abs(), [(3,)]),
    "linear": (lambda L, a, w, b: L.nn.functional.linear(a, w, b), [(2, 3), (4, 3), (4,)]),
    "mse_loss": (lambda L, a, b: L.nn.functional.mse_loss(a, b), [(3,), (3,)]),
    "norm": (lambda L, a: a.norm(), [(3,)]),
    "std": (lambda L, a: a.std(), [(3,)]),
    "prod": (lambda L, a: a.prod(), [(3,)]),
    "gelu": (lambda L, a: L.nn.functional.gelu(a), [(3,)]),
    "views save nothing": (lambda L, a: a.reshape(3, 2).t()[1], [(2, 3)]),
    "a chain": (lambda L, a, b: ((a * b).exp() * b).tanh() @ a.t(), [(2, 3), (2, 3)]),
    "mul_ (an in-place op saving its input)": (lambda L, a, b: (a * 1).mul_(b), [(3,), (3,)]),
    "exp_ (an in-place op saving its result)": (lambda L, a: (a * 1).exp_(), [(3,)]),
    "setitem": (lambda L, a, b: _setitem(L, a * 1, b), [(3,), (3,)]),
}


def _setitem(L, c, b):
    c[L.tensor([0, 2])] = b[:2] * b[1:]
    return c


@pytest.mark.parametrize("name", OPS)
def test_pack_and_unpack_run_as_torchs(torch, device, name):
    fn, shapes = OPS[name]
    ours, theirs = run_both(torch, device, fn, shapes)
    # each saved tensor's shape, with grad mode off in both hooks (the order within
    # one node is the order of PyTorch's generated fields: mm packs mat2 first)
    assert sorted(ours) == sorted(theirs)


# Ops whose backward reads arrays they derived in forward (an index, a mask):
# those arrays are kept by the node as they are, not through the hooks, where
# PyTorch saves a tensor. Pinned: (torch's packs, ours).
FEWER_PACKS = {
    "max over a dim (its indices)": (lambda L, a: a.max(1)[0], [(2, 3)], 1, 0),
    "clamp (on cpu a mask; PyTorch saves self)": (lambda L, a: a.clamp(0.7, 1.2), [(3,)], 1, {"cpu": 0, "cuda": 1}),
    "gather (its index)": (lambda L, a: a.gather(1, L.tensor([[0], [2]]).to(a.device)), [(2, 3)], 2, 1),
}


@pytest.mark.parametrize("name", FEWER_PACKS)
def test_derived_arrays_are_not_packed(torch, device, name):
    fn, shapes, theirs_n, ours_n = FEWER_PACKS[name]
    ours, theirs = run_both(torch, device, fn, shapes)
    assert sum(e[0] == "pack" for e in theirs) == theirs_n
    assert sum(e[0] == "pack" for e in ours) == (ours_n[device] if isinstance(ours_n, dict) else ours_n)


def test_what_unpack_returns_is_used_without_a_version_check(torch, device):
    # a saved input written after the op: no error with hooks, and the new values are used (as PyTorch)
    def fn(L, a):
        b = a * 2
        d = b.exp() * b
        b.add_(1)
        return d
    run_both(torch, device, fn, [(3,)])


def test_a_copying_pack_keeps_the_values_at_save_time(torch, device):
    def fn(L, a):
        b = a * 2
        d = b * b
        b.add_(1)
        return d
    run_both(torch, device, fn, [(3,)], pack=lambda L, t: t.clone())


def test_an_in_place_op_packs_its_inputs_old_values(torch, device):
    seen = {}

    def fn(L, a, b):
        c = a * 1
        return c.mul_(b)

    def pack(L, t):
        seen.setdefault(L, []).append(to_numpy(t).copy())
        return t.clone()
    run_both(torch, device, fn, [(3,), (3,)], pack=pack)
    # c's values before the write, and b (PyTorch packs b first)
    assert sorted(tuple(v) for v in seen[ag]) == sorted(tuple(v) for v in seen[torch])


def test_unpack_may_return_other_values(torch, device):
    run_both(torch, device, lambda L, a, b: (a * b).sin(), [(3,), (3,)],
             unpack=lambda L, t: t * 2)


@pytest.mark.parametrize("pack", ["identity", "detached copy"])
def test_second_order_through_packed_tensors(torch, device, pack):
    p = (lambda t: t) if pack == "identity" else (lambda t: t.detach().clone())
    grads = []
    for lib in (torch, ag):
        x, w = leaves(lib, [(3,), (3,)], device if lib is ag else None)
        with lib.autograd.graph.saved_tensors_hooks(p, lambda q: q):
            y = ((x ** 3) * w).sin().sum()
        g, = lib.autograd.grad(y, x, create_graph=True)
        (g * g).sum().backward()
        grads.append((g, x.grad, w.grad))
    for o, t in zip(grads[1], grads[0]):
        np.testing.assert_allclose(to_numpy(o), to_numpy(t), rtol=1e-12, atol=1e-12)


def test_retained_graph_unpacks_each_pass(torch, device):
    logs = []
    for lib in (torch, ag):
        log = []
        x, = leaves(lib, [(3,)], device if lib is ag else None)
        with counting_hooks(lib, log):
            y = (x * x).sum()
        y.backward(retain_graph=True)
        y.backward()
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            y.backward()
        logs.append(log)
    assert logs[0] == logs[1]


def test_save_on_cpu(torch, device):
    grads = []
    for lib in (torch, ag):
        x, w = leaves(lib, [(2, 3), (3, 4)], device if lib is ag else None)
        with lib.autograd.graph.save_on_cpu(pin_memory=True):
            y = (x @ w).tanh().sum()
        y.backward()
        grads.append((x.grad, w.grad))
    for o, t in zip(grads[1], grads[0]):
        np.testing.assert_allclose(to_numpy(o), to_numpy(t), rtol=1e-12)
    assert grads[1][0].device.type == device


def test_save_on_cpu_keeps_host_copies(device):
    x, w = leaves(ag, [(2, 3), (3, 4)], device)
    hooks = G.save_on_cpu()
    packed = []
    pack = hooks.pack_hook
    hooks.pack_hook = lambda t: packed.append(pack(t)) or packed[-1]
    with hooks:
        (x @ w).sum().backward()
    assert [(d.type, tuple(t.shape), t.device.type) for d, t in packed] == [
        (device, (2, 3), "cpu"), (device, (3, 4), "cpu")]
    assert all(not t.requires_grad for _, t in packed)


def test_custom_function_saved_tensors_go_through_the_hooks(torch, device):
    def make(lib):
        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a, b):
                out = a * a * b
                ctx.save_for_backward(a, b, out)        # an input, another, and the output
                return out

            @staticmethod
            def backward(ctx, g):
                a, b, out = ctx.saved_tensors
                a2, _, _ = ctx.saved_tensors             # each read unpacks again
                return g * 2 * out / a2, g * a * a
        return Cube
    fns = {torch: make(torch), ag: make(ag)}
    ours, theirs = run_both(torch, device, lambda L, a, b: fns[L].apply(a, b), [(3,), (3,)])
    assert ours == theirs            # (in save_for_backward's order)


def test_custom_function_second_order(torch, device):
    def make(lib):
        class Square(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                ctx.save_for_backward(a)
                return a * a

            @staticmethod
            def backward(ctx, g):
                a, = ctx.saved_tensors
                return 2 * g * a
        return Square
    res = []
    for lib in (torch, ag):
        x, = leaves(lib, [(3,)], device if lib is ag else None)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t.detach().clone(), lambda q: q):
            y = make(lib).apply(x).sin().sum()
        g, = lib.autograd.grad(y, x, create_graph=True)
        g.sum().backward()
        res.append((g, x.grad))
    for o, t in zip(res[1], res[0]):
        np.testing.assert_allclose(to_numpy(o), to_numpy(t), rtol=1e-12)


def test_innermost_hooks_win(torch):
    logs = []
    for lib in (torch, ag):
        log = []
        x, = leaves(lib, [(3,)])
        H = lib.autograd.graph.saved_tensors_hooks
        with H(lambda t: log.append("outer") or t, lambda q: q):
            with H(lambda t: log.append("inner") or t, lambda q: q):
                y = x * x
            z = x.exp()
        (y + z).sum().backward()
        logs.append(log)
    assert logs[1] == logs[0] == ["inner", "inner", "outer"]


def test_hooks_are_per_thread(torch):
    for lib in (torch, ag):
        log = []

        def elsewhere():
            x, = leaves(lib, [(3,)])
            (x * x).sum().backward()
        with lib.autograd.graph.saved_tensors_hooks(lambda t: log.append(1) or t, lambda q: q):
            th = threading.Thread(target=elsewhere)
            th.start()
            th.join()
        assert log == []
    assert _op._packing is False                         # nothing left open


def test_no_grad_saves_nothing(torch):
    for lib in (torch, ag):
        x, = leaves(lib, [(3,)])
        with lib.autograd.graph.saved_tensors_hooks(lambda t: 1 / 0, lambda q: q):
            with lib.no_grad():
                (x * x).exp()
            (x * 2).detach().exp()                       # no input requires grad


def test_hook_errors(torch):
    def unpack_non_tensor(lib):
        x, = leaves(lib, [(3,)])
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda q: 5):
            y = x.pow(2)
        y.sum().backward()

    def pack_writes_its_input(lib):
        x, = leaves(lib, [(3,)])
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t.mul_(2), lambda q: q):
            x.exp() * 2

    def pack_raises(lib):
        x, = leaves(lib, [(3,)])
        with lib.autograd.graph.saved_tensors_hooks(lambda t: 1 / 0, lambda q: q):
            x * x

    for case in (unpack_non_tensor, pack_writes_its_input, pack_raises):
        with pytest.raises(Exception) as theirs:
            case(torch)
        with pytest.raises(type(theirs.value)) as ours:
            case(ag)
        assert str(ours.value) == str(theirs.value)
    assert _op._packing is False


def test_disable_saved_tensors_hooks(torch):
    for lib in (torch, ag):
        Gr = lib.autograd.graph
        with Gr.disable_saved_tensors_hooks("hooks are off here"):
            with pytest.raises(RuntimeError, match="^hooks are off here$"):
                with Gr.saved_tensors_hooks(lambda t: t, lambda q: q):
                    pass
            with Gr.disable_saved_tensors_hooks("inner"):
                pass
            with pytest.raises(RuntimeError, match="^hooks are off here$"):   # the outer message again
                Gr.saved_tensors_hooks(lambda t: t, lambda q: q).__enter__()
        with Gr.saved_tensors_hooks(lambda t: t, lambda q: q):
            with pytest.raises(RuntimeError, match="^no$"):
                with Gr.disable_saved_tensors_hooks("no"):
                    pass
        with Gr.saved_tensors_hooks(lambda t: t, lambda q: q):       # usable again
            pass
    assert _op._packing is False


def test_a_packed_node_holds_only_the_packs(device):
    """The point of save_on_cpu: once packed, the saved intermediate itself is
    not kept by the graph, and after backward the packs are released too."""
    class Box:
        def __init__(self, t):
            self.t = t
    boxes = []
    x, = leaves(ag, [(3,)], device)

    def pack(t):
        boxes.append(Box(t.detach().clone()))
        return boxes[-1]
    with G.saved_tensors_hooks(pack, lambda b: b.t):
        h = x * 2
        y = (h * h).sum()
    ref = weakref.ref(h)
    del h
    gc.collect()
    assert ref() is None
    box_refs = [weakref.ref(b) for b in boxes]
    del boxes[:]
    y.backward()
    np.testing.assert_allclose(to_numpy(x.grad), 8 * to_numpy(x))
    assert all(r() is None for r in box_refs)           # released with the graph's saved values


def test_hooks_do_not_outlive_the_context(torch):
    log = []
    x, = leaves(ag, [(3,)])
    with G.saved_tensors_hooks(lambda t: log.append(1) or t, lambda q: q):
        pass
    (x * x).sum().backward()
    assert log == [] and _op._packing is False


def test_public_names():
    import torch.autograd.graph as tg
    for name in ("saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks"):
        assert hasattr(tg, name) and name in dir(G) and getattr(G, name) is getattr(ag.autograd.graph, name)


# ---- allow_mutation_on_saved_tensors ------------------------------------------------

def _saved_then_written(write):
    def fn(lib):
        a = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        b = a.clone()
        out = (b ** 2).sum() + (b * b.exp()).sum()
        write(lib, b)
        out.backward()
        return a.grad
    return fn


def _saved_twice(lib):
    a = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
    b = a.clone()
    first = (b ** 2).sum()
    b.mul_(2)
    second = (b ** 3).sum()           # saved again, at its new version
    b.add_(1)
    (first + second).backward()
    return a.grad


def _saved_view_base_written(lib):
    a = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
    b = a.clone()
    out = (b[1:] ** 2).sum()           # the view starts elsewhere than b: PyTorch does not copy it
    b.mul_(5)
    out.backward()
    return a.grad


def _leaf_written_under_no_grad(lib):
    w = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
    out = (w ** 2).sum()
    with lib.no_grad():
        w.mul_(2)
    out.backward()
    return w.grad


MUTATIONS = {
    "sin_": _saved_then_written(lambda L, b: b.sin_()),
    "through a view": _saved_then_written(lambda L, b: b[0:2].mul_(5)),
    "setitem": _saved_then_written(lambda L, b: b.__setitem__(0, 7.0)),
    "copy_": _saved_then_written(lambda L, b: b.copy_(L.zeros(3, dtype=L.float64))),
    "zero_": _saved_then_written(lambda L, b: b.zero_()),
    "twice, saved between": _saved_twice,
    "the base of a saved view": _saved_view_base_written,
    "a leaf under no_grad": _leaf_written_under_no_grad,
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_allow_mutation_on_saved_tensors(torch, name):
    grads = []
    for lib in (torch, ag):
        with lib.autograd.graph.allow_mutation_on_saved_tensors():
            grads.append(MUTATIONS[name](lib))
    np.testing.assert_allclose(to_numpy(grads[1]), to_numpy(grads[0]), rtol=1e-12)
    assert _op._watching_writes is False and _op._packing is False


def test_allow_mutation_errors(torch):
    def outside(lib):
        with lib.autograd.graph.allow_mutation_on_saved_tensors():
            a = lib.tensor([1.0, 2.0], requires_grad=True)
            out = (a.clone() ** 2).sum()
        out.backward()

    def nested(lib):
        with lib.autograd.graph.allow_mutation_on_saved_tensors():
            with lib.autograd.graph.allow_mutation_on_saved_tensors():
                pass

    for case in (outside, nested):
        with pytest.raises(Exception) as theirs:
            case(torch)
        with pytest.raises(type(theirs.value)) as ours:
            case(ag)
        assert str(ours.value) == str(theirs.value)
    with G.allow_mutation_on_saved_tensors() as ctx:
        assert type(ctx).__name__ == "_AllowMutationOnSavedContext"
    assert _op._watching_writes is False and _op._packing is False


def test_allow_mutation_on_either_device(device):
    # (data pointers of CuPy arrays too: a write through a view that starts where b starts copies b)
    with G.allow_mutation_on_saved_tensors():
        a = ag.tensor([1.0, 2.0, 3.0], dtype=ag.float64, requires_grad=True, device=device)
        b = a.clone()
        out = (b ** 2).sum()
        b[0:2].mul_(5)
        out.backward()
    np.testing.assert_allclose(to_numpy(a.grad), [2.0, 4.0, 6.0])
