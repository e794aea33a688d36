"""The thread- and process-wide modes combined, pairwise and in threes, against PyTorch 2.13 CPU running
the same program: grad modes, anomaly detection, saved-tensor hooks, forward AD, autocast (cpu with
dtype=float16), the profiler, activation checkpointing, the default device, random states, ag.func
transforms, custom Functions, double backward and module hooks, on small models (an MLP with
LayerNorm/BatchNorm/Dropout, a conv net, an LSTM, a transformer encoder layer).

Compared: values, gradients, dtypes, pack/unpack counts, profiler event counts per op name (aten::x as x),
RNG reproducibility and errors. A test marked xfail(strict=True) with a reason starting "bug:" is a
divergence from PyTorch found here and not fixed (see the report); a test saying "kept different" pins a
divergence that follows from a documented design choice."""
import collections
import warnings

import numpy as np
import pytest

import autograd_gpu as ag
from autograd_gpu.utils.checkpoint import checkpoint
from together import (F16, F32, F64, to_np as _np, dtype_name as _dt, forward_ad as _fw,
                      profiler as _prof, tensor_of as _t, run_both as _run_both, close as _close,
                      copy_module as _copy_module, counts as _counts, event_name as _nm)

# PyTorch's own warnings on the oracle side (its forward AD scripts a helper; its CPU build mentions TF32;
# its reentrant checkpoint warns on inputs without requires_grad, as ours does: that test checks ours)
pytestmark = [pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:TF32 acceleration:UserWarning"),
              pytest.mark.filterwarnings("ignore:None of the inputs have requires_grad:UserWarning")]


REENTRANT = pytest.mark.parametrize("reentrant", [True, False], ids=["reentrant", "non_reentrant"])


# ---- helpers ------------------------------------------------------------------------------------------


def _ck(L):
    return checkpoint if L is ag else L.utils.checkpoint.checkpoint


def _tree(prof, skip=()):
    """The events as (name, [children]) from the roots, leaving out the names in skip (and their subtrees)."""
    def walk(e):
        n = e.name[6:] if e.name.startswith("aten::") else e.name
        return (n, [walk(c) for c in e.cpu_children if _nm(c) not in skip])
    return [walk(e) for e in prof.events() if e.cpu_parent is None and _nm(e) not in skip]


X = np.random.default_rng(0).standard_normal((2, 3))
W = np.random.default_rng(1).standard_normal((3, 4)) * 0.5


# ---- checkpoint + autocast ------------------------------------------------------------------------------

@REENTRANT
def test_checkpoint_under_autocast_recomputes_in_the_forwards_dtype(torch, reentrant):
    def run(L):
        seen = []

        def segment(a, b):
            h = a @ b
            seen.append((_dt(h), L.is_autocast_enabled("cpu")))
            return h.relu()
        x = L.tensor(X, dtype=L.float32, requires_grad=True)
        w = L.tensor(W, dtype=L.float32, requires_grad=True)
        with L.autocast("cpu", dtype=L.float16):
            y = _ck(L)(segment, x, w, use_reentrant=reentrant)
        y.float().sum().backward()
        return seen, x.grad, w.grad
    (seen, gx, gw), (tseen, tgx, tgw) = run(ag), run(torch)
    assert tseen == [("float16", True), ("float16", True)]
    assert seen == tseen
    _close(gx, tgx, F16)
    _close(gw, tgw, F16)


# ---- checkpoint + saved-tensor hooks --------------------------------------------------------------------

def _hooks_around_checkpoint(L, device, reentrant, backward_inside):
    log = []

    def pack(t):
        log.append(("pack", tuple(t.shape)))
        return t

    def unpack(t):
        log.append(("unpack", tuple(t.shape)))
        return t
    x = _t(L, X, device, requires_grad=True)
    w = _t(L, W, device, requires_grad=True)
    with L.autograd.graph.saved_tensors_hooks(pack, unpack):
        y = _ck(L)(lambda a, b: (a @ b).tanh().exp(), x, w, use_reentrant=reentrant)
        z = y.sin().sum()
        log.append("forward done")
        if backward_inside:
            z.backward()
    if not backward_inside:
        z.backward()
    i = log.index("forward done")
    # (within one node the order is PyTorch's generated fields': mm packs mat2 first; compare as multisets)
    return sorted(log[:i]), sorted(log[i + 1:]), x.grad, w.grad


@pytest.mark.parametrize("backward_inside", [True, False], ids=["backward_inside", "backward_after"])
def test_reentrant_checkpoint_inside_saved_tensor_hooks(torch, device, backward_inside):
    ours = _hooks_around_checkpoint(ag, device, True, backward_inside)
    theirs = _hooks_around_checkpoint(torch, "cpu", True, backward_inside)
    assert ours[:2] == theirs[:2]
    # (the checkpoint's inputs and sin's input are packed; the rerun packs only while the hooks are open)
    assert len(theirs[0]) == 3 and len(theirs[1]) == (11 if backward_inside else 3)
    _close(ours[2], theirs[2], F64)
    _close(ours[3], theirs[3], F64)


@pytest.mark.parametrize("backward_inside", [True, False], ids=["backward_inside", "backward_after"])
def test_non_reentrant_checkpoint_inside_saved_tensor_hooks(torch, device, backward_inside):
    ours = _hooks_around_checkpoint(ag, device, False, backward_inside)
    theirs = _hooks_around_checkpoint(torch, "cpu", False, backward_inside)
    _close(ours[2], theirs[2], F64)
    assert theirs[:2] == ([("pack", (2, 3)), ("pack", (2, 4)), ("pack", (3, 4))],
                          [("unpack", (2, 3)), ("unpack", (2, 4)), ("unpack", (3, 4))])
    assert ours[:2] == theirs[:2]


def test_checkpoint_under_disable_saved_tensors_hooks(torch):
    """Kept different: PyTorch's non-reentrant checkpoint is built on saved-tensor hooks, so it raises
    the disabling message; ours is one graph node (utils/checkpoint.py) and runs. The reentrant variant
    runs in both."""
    out = {}
    for L in (ag, torch):
        res = []
        for reentrant in (True, False):
            x = L.tensor(X, requires_grad=True)
            try:
                with L.autograd.graph.disable_saved_tensors_hooks("no hooks in this block"):
                    _ck(L)(lambda a: a.exp(), x, use_reentrant=reentrant).sum().backward()
                res.append(x.grad.sum().item())
            except RuntimeError as e:
                res.append(str(e))
        out[L] = res
    assert out[torch][1] == "no hooks in this block"
    assert out[ag][0] == pytest.approx(out[torch][0])
    assert out[ag][1] == pytest.approx(out[torch][0])


# ---- checkpoint + in-place writes, allow_mutation_on_saved_tensors ----------------------------------------

def test_checkpoint_input_written_in_place_after_the_forward(torch):
    for L in (ag, torch):
        x = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
        a = x * 2
        y = _ck(L)(lambda b: b.sin() * b, a, use_reentrant=False)
        a.mul_(10)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_checkpoint_with_allow_mutation_on_saved_tensors(torch):
    def run(L):
        x = L.tensor([1.0, 2.0, 3.0], dtype=L.float64, requires_grad=True)
        with L.autograd.graph.allow_mutation_on_saved_tensors():
            a = x * 2
            y = _ck(L)(lambda b: b.sin() * b, a, use_reentrant=False)
            a.mul_(10)
            y.sum().backward()
        return x.grad
    _close(run(ag), run(torch), F64)


@REENTRANT
def test_checkpoint_inside_allow_mutation_on_saved_tensors(torch, device, reentrant):
    def run(L, dev):
        x = _t(L, X, dev, requires_grad=True)
        with L.autograd.graph.allow_mutation_on_saved_tensors():
            y = _ck(L)(lambda a: a.exp() * a, x, use_reentrant=reentrant)
            z = y * 1
            y.sum().backward()                   # (a written saved tensor is copied first)
            z.mul_(2)
        return x.grad
    ours, theirs = _run_both(torch, device, run)
    _close(ours, theirs, F64)


# ---- checkpoint + grad modes ----------------------------------------------------------------------------

@REENTRANT
def test_no_grad_inside_a_checkpointed_segment(torch, device, reentrant):
    def run(L, dev):
        x = _t(L, X, dev, requires_grad=True)
        w = _t(L, W, dev, requires_grad=True)

        def segment(a):
            with L.no_grad():
                s = (a @ w).sum()                 # a constant in both the forward and the rerun
            return (a @ w) * s
        y = _ck(L)(segment, x, use_reentrant=reentrant)
        y.pow(2).sum().backward()
        return y, x.grad, w.grad
    for o, t in zip(*_run_both(torch, device, run)):
        _close(o, t, F64)


def test_enable_grad_inside_a_checkpoint_under_no_grad(torch):
    """Reentrant: the Function's output under no_grad records nothing; non-reentrant: the segment runs
    plainly, so enable_grad inside records a graph. Both as PyTorch."""
    out = {}
    for L in (ag, torch):
        res = []
        for reentrant in (True, False):
            x = L.tensor(X, requires_grad=True)

            def segment(a):
                with L.enable_grad():
                    return a.exp() * a
            with L.no_grad():
                y = _ck(L)(segment, x, use_reentrant=reentrant)
            res.append((y.requires_grad, None if y.grad_fn is None else y.grad_fn.name()))
        out[L] = res
    assert out[ag] == out[torch] == [(False, None), (True, "MulBackward0")]


# ---- checkpoint + forward AD, func transforms --------------------------------------------------------

def test_reentrant_checkpoint_refuses_forward_ad(torch):
    for L in (ag, torch):
        with _fw(L).dual_level():
            d = _fw(L).make_dual(L.tensor([1.0, 2.0, 3.0]), L.ones(3))
            with pytest.raises(NotImplementedError, match="You must implement the jvp function"):
                _ck(L)(lambda a: a.sin() * a, d, use_reentrant=True)


def test_non_reentrant_checkpoint_carries_forward_ad_tangents(torch):
    res = {}
    for L in (ag, torch):
        with _fw(L).dual_level():
            d = _fw(L).make_dual(L.tensor([1.0, 2.0, 3.0], dtype=L.float64), L.ones(3, dtype=L.float64))
            y = _ck(L)(lambda a: a.sin() * a, d, use_reentrant=False)
            res[L] = _fw(L).unpack_dual(y).tangent
    _close(res[ag], res[torch], F64)


def test_func_grad_through_a_checkpoint(torch):
    """The reentrant variant is refused by both (PyTorch: a Function without setup_context under functorch;
    ours: autograd.grad through a reentrant checkpoint). Kept different: PyTorch's func transforms refuse the
    non-reentrant variant (its saved-tensor hooks); ours has no functorch levels (ag/func/__init__.py) and
    gives the gradient of the same function without checkpointing."""
    f = lambda L, b: (b.sin() * b).sum()             # noqa: E731
    for L in (ag, torch):
        x = L.tensor([[0.5, 1.0, 2.0], [3.0, -1.0, 0.25]], dtype=L.float64)
        with pytest.raises(RuntimeError):
            L.func.grad(lambda a: _ck(L)(lambda b: f(L, b), a, use_reentrant=True))(x[0])
    with pytest.raises(RuntimeError, match="don't yet support saved tensor hooks"):
        torch.func.vmap(torch.func.grad(lambda a: torch.utils.checkpoint.checkpoint(
            lambda b: f(torch, b), a, use_reentrant=False)))(x)
    ours = ag.func.vmap(ag.func.grad(lambda a: checkpoint(lambda b: f(ag, b), a, use_reentrant=False)))(
        ag.tensor(x.numpy()))
    _close(ours, torch.func.vmap(torch.func.grad(lambda b: f(torch, b)))(x), F64)


# ---- the profiler + checkpoint, saved-tensor hooks, autocast, forward AD ------------------------------

@REENTRANT
def test_profiler_counts_the_checkpoint_recompute(torch, device, reentrant):
    """Each forward op of the segment is recorded twice (forward and rerun); ops whose backward formulas
    call none of them (tanh, exp, sin) so that PyTorch's formula events do not count."""
    def run(L, dev):
        x = _t(L, X, dev, requires_grad=True)
        with _prof(L).profile() as prof:
            y = _ck(L)(lambda a: a.tanh().exp().sin(), x, use_reentrant=reentrant)
            y.sum().backward()
        nodes = sorted(n for n in _counts(prof) if n.startswith("autograd::engine::evaluate_function: Check"))
        return _counts(prof, ("tanh", "exp", "sin", "sum")), nodes, x.grad
    (counts, nodes, g), (tcounts, tnodes, tg) = _run_both(torch, device, run)
    assert counts == tcounts == {"tanh": 2, "exp": 2, "sin": 2, "sum": 1}
    _close(g, tg, F64)
    if reentrant:
        assert nodes == tnodes == ["autograd::engine::evaluate_function: CheckpointFunctionBackward"]
    else:
        # kept different: ours is one node (utils/checkpoint.py's CheckpointBackward); PyTorch's reruns from
        # a saved-tensor hook inside the first node that unpacks, and has no node of its own
        assert tnodes == [] and nodes == ["autograd::engine::evaluate_function: CheckpointBackward"]


_BOOKKEEPING = {"empty_strided", "as_strided", "copy_", "_to_copy", "empty_like", "expand", "fill_", "ones_like",
                "detach", "empty", "to", "detach_", "view", "alias", "resolve_conj"}


def _profile_with_hooks(L, pack, unpack):
    x = L.tensor(X, requires_grad=True)
    w = L.tensor(X[::-1].copy(), requires_grad=True)
    with _prof(L).profile() as prof:
        with L.autograd.graph.saved_tensors_hooks(pack(L), unpack(L)):
            y = (x.exp() * w).sum()
        y.backward()
    return prof, x.grad


def test_profiler_records_the_backward_nodes_of_a_packed_graph(torch):
    identity = lambda L: (lambda t: t)               # noqa: E731
    ours, g = _profile_with_hooks(ag, identity, identity)
    theirs, tg = _profile_with_hooks(torch, identity, identity)
    _close(g, tg, F64)
    names = lambda p: sorted(n for n in _counts(p) if n.startswith("autograd::engine"))     # noqa: E731
    assert names(ours) == names(theirs)


def test_profiler_records_the_ops_of_pack_hooks(torch):
    pack = lambda L: (lambda t: t * 1)               # noqa: E731
    unpack = lambda L: (lambda t: t)                 # noqa: E731
    ours, _ = _profile_with_hooks(ag, pack, unpack)
    theirs, _ = _profile_with_hooks(torch, pack, unpack)
    forward = lambda p: [t for t in _tree(p, _BOOKKEEPING) if not t[0].startswith("autograd::")]   # noqa: E731
    # exp saves its result (one pack: a mul), mul saves both inputs (two)
    assert forward(theirs) == [("exp", [("mul", [])]), ("mul", [("mul", []), ("mul", [])]), ("sum", [])]
    assert forward(ours) == forward(theirs)


def test_profiler_under_autocast_counts_the_casts(torch):
    """(cpu: PyTorch here has only the cpu op lists; the cuda lists differ, docs/tools.md)"""
    def run(L, dev):
        L.manual_seed(0)
        lin = L.nn.Linear(3, 4)
        if L is ag:
            lin.to(dev)
        x = _t(L, X, dev, dtype=L.float32)
        with _prof(L).profile() as prof:
            with L.autocast(dev, dtype=L.float16):
                y = ag.nn.functional.linear(x, lin.weight, lin.bias) if L is ag else \
                    L.nn.functional.linear(x, lin.weight, lin.bias)
                z = y.relu().sum()
        return _counts(prof, ("to", "relu", "sum")), _dt(y), _dt(z)
    ours, theirs = _run_both(torch, "cpu", run)
    # three casts (input, weight, bias), once each
    assert ours == theirs == ({"to": 3, "relu": 1, "sum": 1}, "float16", "float16")


def test_profiler_under_forward_ad_records_the_primal_ops(torch, device):
    """Kept different: PyTorch also records the tangents' ops (mul, sum, ...); ours computes a JVP by a
    double backward inside the op's own application (docs/architecture.md, forward AD), where the profiler
    records nothing more. The primal ops are recorded alike."""
    def run(L, dev):
        with _prof(L).profile() as prof:
            with _fw(L).dual_level():
                d = _fw(L).make_dual(_t(L, X, dev), _t(L, np.ones_like(X), dev))
                y = (d.exp() * d).sum()
                tangent = _fw(L).unpack_dual(y).tangent
        return _counts(prof, ("exp", "mul", "sum")), tangent
    (counts, tan), (tcounts, ttan) = _run_both(torch, device, run)
    _close(tan, ttan, F64)
    assert counts == {"exp": 1, "mul": 1, "sum": 1}
    assert tcounts["exp"] == 1 and tcounts["mul"] > 1 and tcounts["sum"] > 1


# ---- autocast + grad modes, weight cache, func transforms --------------------------------------------

def test_inference_mode_with_autocast(torch):
    """dtypes and requires_grad as PyTorch's. Kept different (autograd/grad_mode.py: inference_mode is
    no_grad here): the results are ordinary tensors, not inference tensors, so they may be saved for
    backward later where PyTorch refuses."""
    out = {}
    for L in (ag, torch):
        x = L.tensor(X, dtype=L.float32)
        w = L.tensor(W, dtype=L.float32, requires_grad=True)
        with L.inference_mode(), L.autocast("cpu", dtype=L.float16):
            y = x @ w
            z = y.exp()
        out[L] = (_dt(y), _dt(z), y.requires_grad, z.requires_grad)
        v = L.ones(4, requires_grad=True)
        if L is torch:
            with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for backward"):
                (y * v).sum()
        else:
            assert not y.is_inference()
            (y * v).float().sum().backward()
    assert out[ag] == out[torch] == ("float16", "float16", False, False)


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_autocast_weight_cast_first_made_under_a_grad_mode(torch, device, mode):
    """A float32 weight first cast under no_grad/inference_mode is not cached, so a later use in grad mode
    inside the same region records its cast and reaches the weight."""
    def run(L, dev):
        L.manual_seed(0)
        lin = L.nn.Linear(3, 4)
        if L is ag:
            _copy_module(lin, torch_lin, dev)
        x = _t(L, X, dev, dtype=L.float32)
        with L.autocast(dev, dtype=L.float16):
            with getattr(L, mode)():
                y1 = L.nn.functional.linear(x, lin.weight, lin.bias)
            y2 = L.nn.functional.linear(x, lin.weight, lin.bias)
        y2.float().pow(2).sum().backward()
        return (_dt(y1), y1.requires_grad, _dt(y2), y2.requires_grad), y2, lin.weight.grad
    torch.manual_seed(0)
    torch_lin = torch.nn.Linear(3, 4)
    (meta, y, g), (tmeta, ty, tg) = _run_both(torch, device, run)
    assert meta == tmeta == ("float16", False, "float16", True)
    _close(y, ty, F16)
    assert g.dtype is ag.float32
    _close(g, tg, F16)


def test_func_transforms_under_autocast(torch):
    def run(L, dev):
        x = _t(L, np.stack([X, X * 2]), dev, dtype=L.float32)
        w = _t(L, W, dev, dtype=L.float32)
        with L.autocast(dev, dtype=L.float16):
            mapped = L.func.vmap(lambda a: (a @ w).softmax(-1))(x)
            g = L.func.grad(lambda a: (a @ w).float().pow(2).sum())(x[0])
            j = L.func.jacrev(lambda a: a @ w)(x[0])
        return mapped, g, j
    for o, t in zip(*_run_both(torch, "cpu", run)):
        assert _dt(o) == _dt(t) and tuple(o.shape) == tuple(t.shape)
        _close(o, t, F16)


def test_functional_call_and_vmap_ensemble_under_autocast(torch):
    """Kept different: PyTorch's vmap over a Linear whose weight and bias are both batched returns
    float32 (its batching rule runs outside the cast), where the same call on one sample, or vmap with
    only the weight batched, gives float16. ag.func.vmap runs the function once per sample
    (ag/func/__init__.py), so it gives the per-sample float16, with PyTorch's values."""
    def run(L, dev):
        L.manual_seed(0)
        base = L.nn.Linear(3, 2)
        params = {"weight": _t(L, np.stack([W[:, :2].T, W[:, 2:].T]), dev, dtype=L.float32),
                  "bias": _t(L, np.array([[0.1, -0.2], [0.3, 0.0]]), dev, dtype=L.float32)}
        if L is ag:
            base.to(dev)
        x = _t(L, X, dev, dtype=L.float32)
        with L.autocast(dev, dtype=L.float16):
            return L.func.vmap(lambda p: L.func.functional_call(base, p, (x,)))(params)
    ours, theirs = _run_both(torch, "cpu", run)
    assert (_dt(ours), _dt(theirs)) == ("float16", "float32")
    _close(ours, theirs, F16)
    with torch.autocast("cpu", dtype=torch.float16):
        one = torch.nn.functional.linear(torch.tensor(X, dtype=torch.float32),
                                         torch.tensor(W[:, :2].T, dtype=torch.float32))
    assert _dt(one) == "float16"


# ---- autocast + nn modules ------------------------------------------------------------------------------

def test_linear_module_takes_a_half_input_under_autocast(torch):
    for L in (ag, torch):
        lin = L.nn.Linear(3, 2)
        with L.autocast("cpu", dtype=L.float16):
            assert _dt(lin(L.tensor(X, dtype=L.float16))) == "float16"


def _mlp(L):
    return L.nn.Sequential(L.nn.Linear(4, 8), L.nn.LayerNorm(8), L.nn.ReLU(), L.nn.BatchNorm1d(8),
                           L.nn.Dropout(0.5), L.nn.Linear(8, 3))


XM = np.random.default_rng(2).standard_normal((6, 4)).astype(np.float32)


def test_mlp_under_autocast_with_grad_scaler(torch):
    device = "cpu"
    torch.manual_seed(0)
    tm = _mlp(torch).eval()
    m = _copy_module(_mlp(ag), tm, device).eval()
    res = {}
    for L, model, dev in ((ag, m, device), (torch, tm, "cpu")):
        x = _t(L, XM, dev, requires_grad=True)
        scaler = L.amp.GradScaler(dev, init_scale=256.0)
        with L.autocast(dev, dtype=L.float16):
            y = model(x)
        scaler.scale(y.float().pow(2).sum()).backward()
        res[L] = (y, x.grad, model[0].weight.grad)
    assert _dt(res[ag][0]) == _dt(res[torch][0])
    for o, t in zip(res[ag], res[torch]):
        _close(o, t, F16)


def test_transformer_encoder_layer_under_autocast(torch):
    torch.manual_seed(0)
    te = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    enc = _copy_module(ag.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), te, "cpu")
    xe = np.random.default_rng(1).standard_normal((2, 5, 8)).astype(np.float32)
    res = {}
    for L, model in ((ag, enc), (torch, te)):
        x = L.tensor(xe, requires_grad=True)
        with L.autocast("cpu", dtype=L.float16):
            y = model(x)
        y.float().sum().backward()
        res[L] = (y, x.grad)
    assert _dt(res[ag][0]) == _dt(res[torch][0]) == "float32"
    for o, t in zip(res[ag], res[torch]):
        _close(o, t, F16)


def _convnet(L):
    return L.nn.Sequential(L.nn.Conv2d(2, 3, 3, padding=1), L.nn.ReLU(), L.nn.Conv2d(3, 4, 3),
                           L.nn.BatchNorm2d(4), L.nn.MaxPool2d(2), L.nn.Flatten())


def test_convnet_under_autocast_and_save_on_cpu(torch):
    device = "cpu"                     # (autocast's cuda lists are not PyTorch's cpu ones)
    torch.manual_seed(0)
    tnet = _convnet(torch)
    net = _copy_module(_convnet(ag), tnet, device)
    xc = np.random.default_rng(3).standard_normal((2, 2, 6, 6)).astype(np.float32)
    res = {}
    for L, model, dev in ((ag, net, device), (torch, tnet, "cpu")):
        x = _t(L, xc, dev, requires_grad=True)
        with L.autograd.graph.save_on_cpu(), L.autocast(dev, dtype=L.float16):
            y = model(x)
        y.float().pow(2).sum().backward()
        res[L] = (y, x.grad, model[0].weight.grad, model[3].running_mean)
    assert [_dt(t) for t in res[ag]] == [_dt(t) for t in res[torch]] == ["float16", "float32", "float32",
                                                                          "float32"]
    assert res[ag][1].device == ag.device(device)
    for o, t in zip(res[ag], res[torch]):
        _close(o, t, dict(rtol=3e-2, atol=3e-2))


# ---- autocast + forward AD + GradScaler --------------------------------------------------------------

def test_forward_ad_under_autocast_with_grad_scaler(torch, device):
    def run(L, dev):
        lin = L.nn.Linear(3, 2)
        if L is ag:
            lin.to(dev)
        with L.no_grad():
            lin.weight.copy_(_t(L, W[:, :2].T.copy(), dev, dtype=L.float32))
            lin.bias.copy_(_t(L, np.array([0.25, -0.5]), dev, dtype=L.float32))
        scaler = L.amp.GradScaler(dev, init_scale=1024.0)
        with _fw(L).dual_level():
            d = _fw(L).make_dual(_t(L, X, dev, dtype=L.float32), _t(L, np.ones_like(X), dev, dtype=L.float32))
            with L.autocast(dev, dtype=L.float16):
                y = L.nn.functional.linear(d, lin.weight, lin.bias)
            loss = scaler.scale(y.float().pow(2).sum())
            primal, tangent = _fw(L).unpack_dual(loss)
            y_dtype, t_dtype = _dt(y), _dt(_fw(L).unpack_dual(y).tangent)
        loss.backward()
        return (y_dtype, t_dtype, _dt(lin.weight.grad)), primal, tangent, lin.weight.grad
    (meta, *ours), (tmeta, *theirs) = _run_both(torch, device, run)
    assert meta == tmeta == ("float16", "float16", "float32")
    for o, t in zip(ours, theirs):
        _close(o, t, F16)


# ---- forward AD / jvp + BatchNorm + no_grad -------------------------------------------------------------

XB = (np.arange(12.0).reshape(4, 3) ** 1.5).astype(np.float32)
TB = np.linspace(-1, 1, 12).reshape(4, 3).astype(np.float32)


def test_forward_ad_of_train_batchnorm_under_no_grad(torch, device):
    def run(L, dev):
        bn = L.nn.BatchNorm1d(3)
        if L is ag:
            bn.to(dev)
        with L.no_grad(), _fw(L).dual_level():
            y = bn(_fw(L).make_dual(_t(L, XB, dev), _t(L, TB, dev)))
            primal, tangent = _fw(L).unpack_dual(y)
        return primal, tangent, bn.running_mean, bn.running_var
    ours, theirs = _run_both(torch, device, run)
    assert not ours[1].requires_grad
    for o, t in zip(ours, theirs):
        _close(o, t, F32)


def test_func_jvp_of_train_batchnorm_under_no_grad(torch, device):
    """Kept different: PyTorch's jvp refuses the in-place update of the captured running stats (a
    functorch-level check); ag.func has no levels (ag/func/__init__.py), so the stats update once, as
    a plain call's would, and the JVP equals forward AD's."""
    tbn = torch.nn.BatchNorm1d(3)
    with torch.no_grad(), pytest.raises(RuntimeError, match="mutate a captured Tensor"):
        torch.func.jvp(tbn, (torch.tensor(XB),), (torch.tensor(TB),))
    bn = ag.nn.BatchNorm1d(3).to(device)
    with ag.no_grad():
        _, jv = ag.func.jvp(bn, (ag.tensor(XB, device=device),), (ag.tensor(TB, device=device),))
    import torch.autograd.forward_ad as tfw
    with tfw.dual_level():
        want = tfw.unpack_dual(tbn(tfw.make_dual(torch.tensor(XB), torch.tensor(TB)))).tangent
    _close(jv, want, F32)
    assert bn.num_batches_tracked.item() == 1
    _close(bn.running_mean, tbn.running_mean, F32)


# ---- saved-tensor hooks + double backward, custom Functions, autocast ----------------------------------

def test_save_on_cpu_with_double_backward(torch, device):
    def run(L, dev):
        x = _t(L, np.array([1.0, 2.0, 3.0]), dev, dtype=L.float64, requires_grad=True)
        with L.autograd.graph.save_on_cpu():
            y = (x.sin() * x).exp().sum()
        g, = L.autograd.grad(y, x, create_graph=True)
        h, = L.autograd.grad((g * g).sum(), x)
        return g, h
    ours, theirs = _run_both(torch, device, run)
    assert ours[1].device == ag.device(device)
    for o, t in zip(ours, theirs):
        _close(o, t, F64)


def test_hooks_counted_through_create_graph_and_second_backward(torch, device):
    def run(L, dev):
        log = collections.Counter()

        def pack(t):
            log["pack"] += 1
            return t

        def unpack(t):
            log["unpack"] += 1
            return t
        x = _t(L, np.array([0.5, 1.5]), dev, dtype=L.float64, requires_grad=True)
        with L.autograd.graph.saved_tensors_hooks(pack, unpack):
            y = (x * x * x).sum()
            g, = L.autograd.grad(y, x, create_graph=True)
            (g * x).sum().backward()
        return dict(log), g, x.grad
    (log, *ours), (tlog, *theirs) = _run_both(torch, device, run)
    assert log == tlog
    for o, t in zip(ours, theirs):
        _close(o, t, F64)


def _scale_fn(L):
    class Scale(L.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            ctx.dtypes = (_dt(x), _dt(w), L.is_autocast_enabled("cpu"))
            return x @ w

        @staticmethod
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            return g @ w.T.to(g.dtype), (x.T.to(g.dtype) @ g)
    return Scale


def test_custom_function_under_autocast_and_saved_tensor_hooks(torch):
    """A Function's forward runs inside the region as given (no cast of its inputs, autocast still on);
    its saved tensors go through the hooks."""
    res = {}
    for L in (ag, torch):
        fn = _scale_fn(L)
        log = []
        x = L.tensor(X, dtype=L.float32, requires_grad=True)
        w = L.tensor(W, dtype=L.float32, requires_grad=True)
        with L.autograd.graph.saved_tensors_hooks(lambda t: log.append(_dt(t)) or t, lambda t: t):
            with L.autocast("cpu", dtype=L.float16):
                y = fn.apply(x, w)
        y.sum().backward()
        res[L] = (sorted(log), _dt(y), y, x.grad, w.grad)
    assert res[ag][:2] == res[torch][:2] == (["float32", "float32"], "float16")
    for o, t in zip(res[ag][2:], res[torch][2:]):
        _close(o, t, F16)


# ---- anomaly mode + create_graph + hooks ----------------------------------------------------------------

def test_anomaly_mode_with_create_graph_and_tensor_hooks(torch, device):
    def run(L, dev):
        seen = []
        x = _t(L, np.array([1.0, 4.0]), dev, dtype=L.float64, requires_grad=True)
        with L.autograd.detect_anomaly():
            y = x.sqrt() * x
            y.register_hook(lambda g: seen.append(_np(g).tolist()) or g * 2)
            g, = L.autograd.grad(y.sum(), x, create_graph=True)
            (g * g).sum().backward()
        return seen, g, x.grad
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")            # (detect_anomaly's own warning)
        (seen, *ours), (tseen, *theirs) = _run_both(torch, device, run)
    assert seen == tseen == [[1.0, 1.0]]
    for o, t in zip(ours, theirs):
        _close(o, t, F64)


def test_anomaly_mode_names_the_node_a_nan_hook_poisons(torch):
    msgs = {}
    for L in (ag, torch):
        x = L.tensor([1.0, 4.0], dtype=L.float64, requires_grad=True)
        v = L.tensor([2.0, 3.0], dtype=L.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with L.autograd.detect_anomaly():
                y = x.sqrt() * v
                y.register_hook(lambda g: g * float("nan"))
                with pytest.raises(RuntimeError) as e:
                    y.sum().backward()
        msgs[L] = str(e.value)
    assert msgs[ag] == msgs[torch] == "Function 'MulBackward0' returned nan values in its 0th output."


def test_anomaly_mode_inside_a_checkpoint_recompute(torch):
    """A NaN made by the rerun's formulas is caught in the nested backward, naming the segment's node."""
    msgs = {}
    for L in (ag, torch):
        x = L.tensor([0.0, 1.0], dtype=L.float64, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with L.autograd.detect_anomaly():
                y = _ck(L)(lambda a: a.sqrt() * 0.0, x, use_reentrant=True)
                with pytest.raises(RuntimeError) as e:
                    y.sum().backward()
        msgs[L] = str(e.value)
    assert msgs[ag] == msgs[torch] == "Function 'SqrtBackward0' returned nan values in its 0th output."


# ---- checkpoint + modules: hooks, BatchNorm stats, LSTM ------------------------------------------------

@REENTRANT
def test_checkpointed_mlp_runs_module_hooks_and_batchnorm_updates_twice(torch, device, reentrant):
    torch.manual_seed(0)
    tm = _mlp(torch)
    tm[4].p = 0.0
    m = _copy_module(_mlp(ag), tm, device)
    m[4].p = 0.0
    res = {}
    for L, model, dev in ((ag, m, device), (torch, tm, "cpu")):
        calls = []
        model[3].register_forward_hook(lambda mod, i, o: calls.append(tuple(o.shape)))
        model[5].register_full_backward_hook(lambda mod, gi, go: calls.append("backward"))
        x = _t(L, XM, dev, requires_grad=True)
        y = _ck(L)(model, x, use_reentrant=reentrant)
        y.pow(2).sum().backward()
        res[L] = (calls, model[3].num_batches_tracked.item(), y, x.grad, model[0].weight.grad,
                  model[3].running_mean, model[3].running_var)
    assert res[ag][:2] == res[torch][:2]
    assert res[ag][1] == 2                           # the rerun updates the running stats again
    for o, t in zip(res[ag][2:], res[torch][2:]):
        _close(o, t, F32)


def test_lstm_checkpoint_inside_save_on_cpu(torch, device):
    torch.manual_seed(0)
    tl = torch.nn.LSTM(3, 4, batch_first=True)
    lstm = _copy_module(ag.nn.LSTM(3, 4, batch_first=True), tl, device)
    xs = np.random.default_rng(4).standard_normal((2, 5, 3)).astype(np.float32)
    res = {}
    for L, model, dev in ((ag, lstm, device), (torch, tl, "cpu")):
        x = _t(L, xs, dev, requires_grad=True)
        with L.autograd.graph.save_on_cpu():
            out, (h, c) = _ck(L)(model, x, use_reentrant=False)
            (out.pow(2).sum() + h.sum() + c.sum()).backward()
        res[L] = (out, h, x.grad, model.weight_hh_l0.grad, model.bias_ih_l0.grad)
    for o, t in zip(res[ag], res[torch]):
        _close(o, t, F32)


def test_lstm_forward_ad_against_torch(torch, device):
    torch.manual_seed(0)
    tl = torch.nn.LSTM(3, 4)
    lstm = _copy_module(ag.nn.LSTM(3, 4), tl, device)
    xs = np.random.default_rng(5).standard_normal((4, 2, 3)).astype(np.float32)
    ts = np.random.default_rng(6).standard_normal((4, 2, 3)).astype(np.float32)
    res = {}
    for L, model, dev in ((ag, lstm, device), (torch, tl, "cpu")):
        # (PyTorch's oneDNN LSTM has no forward AD: its native kernel has)
        with torch.backends.mkldnn.flags(enabled=False), _fw(L).dual_level():
            out, _ = model(_fw(L).make_dual(_t(L, xs, dev), _t(L, ts, dev)))
            res[L] = _fw(L).unpack_dual(out)
    for o, t in zip(res[ag], res[torch]):
        _close(o, t, F32)


# ---- random states: fork_rng + dropout + checkpoint, generators ---------------------------------------

def _dropout_run(L, dev, model, xs, use_checkpoint, reentrant=False):
    x = _t(L, xs, dev, requires_grad=True)
    y = _ck(L)(model, x, use_reentrant=reentrant) if use_checkpoint else model(x)
    y.pow(2).sum().backward()
    g = _np(x.grad).copy()
    for p in model.parameters():
        p.grad = None
    return _np(y).copy(), g


@REENTRANT
def test_fork_rng_dropout_and_checkpoint_determinism(torch, device, reentrant):
    """Inside fork_rng the checkpointed run equals the plain one (the rerun draws the same mask), a second
    forked run repeats it, and the generator leaves the block where it entered: the same facts in both
    libraries (their random numbers differ: docs/tools.md)."""
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.5), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    m = _copy_module(ag.nn.Sequential(ag.nn.Linear(4, 8), ag.nn.Dropout(0.5), ag.nn.Tanh(), ag.nn.Linear(8, 2)),
                     tm, device)
    facts = {}
    for L, model, dev in ((ag, m, device), (torch, tm, "cpu")):
        L.manual_seed(7)
        if dev != "cpu":
            L.cuda.manual_seed(7)
        rng = L.cuda if dev != "cpu" else L
        before = _np(rng.get_rng_state()).copy()
        runs = []
        for use_checkpoint in (False, True, True):
            with L.random.fork_rng(devices=[] if dev == "cpu" else [0]):
                runs.append(_dropout_run(L, dev, model, XM, use_checkpoint, reentrant))
        after = _np(rng.get_rng_state())
        unforked = _dropout_run(L, dev, model, XM, False)
        facts[L] = (all(np.array_equal(a, b) for r in runs[1:] for a, b in zip(r, runs[0])),
                    np.array_equal(before, after),
                    not np.array_equal(_np(rng.get_rng_state()), after),
                    np.array_equal(unforked[0], runs[0][0]),      # the first draw after the seed: the same mask
                    bool((runs[0][1] == 0).any()))
    assert facts[ag] == facts[torch] == (True, True, True, True, False)


def test_checkpoint_with_a_seeded_generator_in_the_segment(torch, device):
    """A generator passed to a factory in the segment is not one the checkpoint restores: the rerun draws
    its next numbers (PyTorch's rule: only the default generators are forked); so the forward and the
    rerun differ, and determinism_check="none" lets the pass run."""
    out = {}
    for L, dev in ((ag, device), (torch, "cpu")):
        gen = L.Generator(dev).manual_seed(3)
        draws = []

        def segment(a):
            noise = L.rand(a.shape, generator=gen, device=dev) if L is ag else L.rand(a.shape, generator=gen)
            draws.append(_np(noise).copy())
            return a * noise
        x = _t(L, X, dev, requires_grad=True)
        y = _ck(L)(segment, x, use_reentrant=False, determinism_check="none")
        y.sum().backward()
        out[L] = (len(draws), np.array_equal(draws[0], draws[1]), np.array_equal(_np(x.grad), draws[1]))
    assert out[ag] == out[torch] == (2, False, True)


# ---- the default device + checkpoint -----------------------------------------------------------------

def test_checkpoint_recompute_keeps_the_default_device_of_its_forward(device):
    """PyTorch's non-reentrant recompute re-enters the forward's device context (torch/utils/checkpoint.py:
    "recompute_fn should respect the device context of the original forward"). Here the backward runs
    outside the `with ag.device(...)` block the forward ran in."""
    with ag.device(device):
        x = ag.tensor(X, requires_grad=True)
        y = checkpoint(lambda a: a * ag.ones(3) + ag.arange(3.0), x, use_reentrant=False)
    y.sum().backward()
    assert x.grad.device == ag.device(device)
    np.testing.assert_array_equal(_np(x.grad), np.ones_like(X))


def test_transformer_encoder_layer_checkpoint_inside_save_on_cpu(torch, device):
    reentrant = False                # (the reentrant variant: the bug pinned by the two tests below)
    torch.manual_seed(0)
    te = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    enc = _copy_module(ag.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), te, device)
    xe = np.random.default_rng(1).standard_normal((2, 5, 8)).astype(np.float32)
    res = {}
    for L, model, dev in ((ag, enc, device), (torch, te, "cpu")):
        x = _t(L, xe, dev, requires_grad=True)
        with L.autograd.graph.save_on_cpu():
            y = _ck(L)(model, x, use_reentrant=reentrant)
        y.pow(2).sum().backward()
        res[L] = (y, x.grad, model.linear1.weight.grad, model.self_attn.in_proj_weight.grad)
    for o, t in zip(res[ag], res[torch]):
        _close(o, t, F32)


_SAVED_REQUIRES_GRAD = ("bug: a custom Function's ctx.saved_tensors unpacked through saved-tensor hooks lose the "
                        "saved leaf's requires_grad outside create_graph (autograd/saved_hooks.py, "
                        "unpack_function_saved re-attaches only while grad mode is on); PyTorch's unpacked "
                        "tensors keep it")


def test_function_saved_tensors_keep_requires_grad_through_hooks(torch):
    seen = {}
    for L in (ag, torch):
        class Twice(L.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                ctx.save_for_backward(a)
                return a * 2

            @staticmethod
            def backward(ctx, g):
                a, = ctx.saved_tensors
                seen[L] = (a.requires_grad, a.is_leaf)
                return g * 2
        x = L.ones(3, requires_grad=True)
        with L.autograd.graph.saved_tensors_hooks(lambda t: t.detach().clone(), lambda t: t):
            y = Twice.apply(x)
        y.sum().backward()
    assert seen[torch] == (True, True)
    assert seen[ag] == seen[torch]


def test_reentrant_checkpoint_inside_save_on_cpu(torch, device):
    def run(L, dev):
        x = _t(L, X, dev, requires_grad=True)
        w = _t(L, W, dev, requires_grad=True)
        with L.autograd.graph.save_on_cpu():
            y = _ck(L)(lambda a: (a @ w).tanh(), x, use_reentrant=True)
        y.pow(2).sum().backward()
        return x.grad, w.grad
    for o, t in zip(*_run_both(torch, device, run)):
        _close(o, t, F64)
