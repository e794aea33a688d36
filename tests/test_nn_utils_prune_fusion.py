"""ag.nn.utils.prune, ag.nn.utils.stateless.functional_call, ag.nn.utils.fusion and the small
nn.utils functions (skip_init, get_total_norm, clip_grads_with_norm_) against PyTorch 2.13: the same
masks (ties included), state-dict keys, outputs and gradients, PyTorch's errors."""
import numpy as np
import pytest

import autograd_gpu as ag
from autograd_gpu.nn.utils import prune as P
from autograd_gpu.nn.utils import stateless as S


def _tp(torch):
    """torch.nn.utils.prune (not imported by `import torch`)."""
    import importlib
    return importlib.import_module("torch.nn.utils.prune")


def _np(t):
    return None if t is None else t.detach().cpu().numpy()


def _copy_into(ours, theirs, device="cpu"):
    """torch module's state into ours (same names), then ours to device."""
    ours.load_state_dict({k: ag.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    return ours.to(device)


def _pair(torch, cls, *args, weight=None, device="cpu", dtype="float32"):
    tm = getattr(torch.nn, cls)(*args).to(getattr(torch, dtype))
    if weight is not None:
        with torch.no_grad():
            tm.weight.copy_(torch.tensor(weight))
    om = getattr(ag.nn, cls)(*args).to(getattr(ag, dtype))
    return tm, _copy_into(om, tm, device)


def _int_weights(shape, seed, low=-3, high=4):
    """Small integers: many ties, as after rounding or earlier pruning."""
    return np.random.default_rng(seed).integers(low, high, size=shape).astype(np.float32)


def _same_mask(tm, om, name="weight"):
    np.testing.assert_array_equal(_np(getattr(om, name + "_mask")), getattr(tm, name + "_mask").numpy())


# ---- torch.topk's choice among ties --------------------------------------------------------------------

def test_topk_replay_matches_torch_with_ties_and_nan(torch):
    rng = np.random.default_rng(0)
    for trial in range(200):
        n = int(rng.integers(1, 400))
        k = int(rng.integers(0, n + 1)) if trial % 3 else int(rng.integers(0, max(1, n // 64) + 1))
        a = rng.integers(-3, 4, size=n).astype(np.float32)
        if trial % 4 == 0:
            a[rng.integers(0, n, size=3)] = np.nan
        for largest in (False, True):
            want = set(torch.topk(torch.tensor(a), k=k, largest=largest).indices.tolist()) if k else set()
            assert set(P._topk_indices(a, k, largest).tolist()) == want, (n, k, largest)


# ---- unstructured and structured pruning ----------------------------------------------------------------

@pytest.mark.parametrize("amount", [0.0, 0.3, 7, 1.0, 0])
def test_l1_unstructured_mask_with_ties(torch, device, amount):
    tm, om = _pair(torch, "Linear", 8, 6, weight=_int_weights((6, 8), 1), device=device)
    _tp(torch).l1_unstructured(tm, "weight", amount=amount)
    assert P.l1_unstructured(om, "weight", amount=amount) is om
    _same_mask(tm, om)
    assert list(om.state_dict()) == list(tm.state_dict()) == ["bias", "weight_orig", "weight_mask"]
    assert [n for n, _ in om.named_parameters()] == ["bias", "weight_orig"]
    assert [n for n, _ in om.named_buffers()] == ["weight_mask"]
    np.testing.assert_array_equal(_np(om.weight), tm.weight.detach().numpy())


def test_l1_unstructured_large_tensor_partial_sort_path(torch):
    # k * 64 <= n: torch.topk takes std::partial_sort
    tm, om = _pair(torch, "Linear", 40, 20, weight=_int_weights((20, 40), 2, 0, 3))
    _tp(torch).l1_unstructured(tm, "weight", amount=9)
    P.l1_unstructured(om, "weight", amount=9)
    _same_mask(tm, om)


def test_forward_and_gradient_through_the_mask(torch, device):
    tm, om = _pair(torch, "Linear", 5, 4, device=device, dtype="float64")
    _tp(torch).l1_unstructured(tm, "weight", amount=0.5)
    P.l1_unstructured(om, "weight", amount=0.5)
    x = np.random.default_rng(3).standard_normal((3, 5))
    y, ty = om(ag.tensor(x, device=device)), tm(torch.tensor(x))
    np.testing.assert_allclose(_np(y), ty.detach().numpy(), rtol=1e-12)
    (y ** 2).sum().backward()
    (ty ** 2).sum().backward()
    np.testing.assert_allclose(_np(om.weight_orig.grad), tm.weight_orig.grad.numpy(), rtol=1e-12)
    assert not om.weight_mask.requires_grad
    # the pre-hook recomputes the pruned weight from the current weight_orig
    with ag.no_grad():
        om.weight_orig.add_(1.0)
    om(ag.tensor(x, device=device))
    np.testing.assert_allclose(_np(om.weight), _np(om.weight_orig) * _np(om.weight_mask))


@pytest.mark.parametrize("n", [1, 2, float("inf"), -float("inf"), "fro"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_ln_structured_conv(torch, n, dim):
    tm, om = _pair(torch, "Conv2d", 4, 5, 2, weight=_int_weights((5, 4, 2, 2), 4, -2, 3))
    if n == "fro":              # torch.norm's "fro" wants two dims: over three both refuse
        for lib, m in ((_tp(torch), tm), (P, om)):
            with pytest.raises(RuntimeError, match="dim must be a 2-tuple"):
                lib.ln_structured(m, "weight", amount=0.4, n=n, dim=dim)
        return
    _tp(torch).ln_structured(tm, "weight", amount=0.4, n=n, dim=dim)
    P.ln_structured(om, "weight", amount=0.4, n=n, dim=dim)
    _same_mask(tm, om)


@pytest.mark.parametrize("n", [2, "fro", 0.5])
def test_ln_structured_linear(torch, device, n):
    tm, om = _pair(torch, "Linear", 6, 5, weight=_int_weights((5, 6), 19, -2, 3), device=device)
    _tp(torch).ln_structured(tm, "weight", amount=2, n=n, dim=0)
    P.ln_structured(om, "weight", amount=2, n=n, dim=0)
    _same_mask(tm, om)


def test_iterative_pruning_combines_masks_as_torch(torch, device):
    tm, om = _pair(torch, "Linear", 8, 6, weight=_int_weights((6, 8), 5), device=device)
    tp = _tp(torch)
    steps = [("l1_unstructured", dict(amount=0.3)), ("l1_unstructured", dict(amount=5)),
             ("ln_structured", dict(amount=2, n=2, dim=0)), ("ln_structured", dict(amount=0.34, n=1, dim=1)),
             ("custom_from_mask", dict(mask=np.tril(np.ones((6, 8), np.float32)))),
             ("identity", {})]
    for name, kw in steps:
        t_kw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        o_kw = {k: ag.tensor(v, device=device) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        getattr(tp, name)(tm, "weight", **t_kw)
        getattr(P, name)(om, "weight", **o_kw)
        _same_mask(tm, om)
    hooks = [h for h in om._forward_pre_hooks.values() if isinstance(h, P.BasePruningMethod)]
    assert len(hooks) == 1 and isinstance(hooks[0], P.PruningContainer) and len(hooks[0]) == len(steps)
    t_container = next(h for h in tm._forward_pre_hooks.values() if isinstance(h, tp.PruningContainer))
    assert [type(m).__name__ for m in hooks[0]] == [type(m).__name__ for m in t_container]
    assert list(om.state_dict()) == list(tm.state_dict())


def test_importance_scores(torch):
    tm, om = _pair(torch, "Linear", 6, 4)
    scores = _int_weights((4, 6), 6)
    _tp(torch).l1_unstructured(tm, "weight", amount=10, importance_scores=torch.tensor(scores))
    P.l1_unstructured(om, "weight", amount=10, importance_scores=ag.tensor(scores))
    _same_mask(tm, om)
    _tp(torch).ln_structured(tm, "weight", 1, 1, 0, importance_scores=torch.tensor(scores))
    P.ln_structured(om, "weight", 1, 1, 0, importance_scores=ag.tensor(scores))
    _same_mask(tm, om)


def test_random_methods_counts_and_structure(device):
    m = ag.nn.Linear(10, 6).to(device)
    P.random_unstructured(m, "weight", amount=0.25)
    assert int((_np(m.weight_mask) == 0).sum()) == 15
    P.random_unstructured(m, "weight", amount=9)            # 9 more among the 45 kept
    assert int((_np(m.weight_mask) == 0).sum()) == 24
    m2 = ag.nn.Linear(10, 6).to(device)
    P.random_structured(m2, "weight", amount=3, dim=1)
    mask = _np(m2.weight_mask)
    assert sorted(set(mask.sum(0).tolist())) == [0.0, 6.0] and int((mask.sum(0) == 0).sum()) == 3
    P.random_structured(m2, "weight", amount=0.5, dim=0)
    mask = _np(m2.weight_mask)
    assert int((mask.sum(1) == 0).sum()) == 3 and int((mask.sum(0) == 0).sum()) == 3


def test_global_unstructured(torch):
    (t1, o1), (t2, o2) = (_pair(torch, "Linear", 5, 4, weight=_int_weights((4, 5), 7)),
                          _pair(torch, "Linear", 4, 3, weight=_int_weights((3, 4), 8)))
    tp = _tp(torch)
    tp.l1_unstructured(t2, "weight", amount=2)
    P.l1_unstructured(o2, "weight", amount=2)
    tp.global_unstructured([(t1, "weight"), (t2, "weight"), (t1, "bias")], pruning_method=tp.L1Unstructured,
                           amount=0.3)
    P.global_unstructured([(o1, "weight"), (o2, "weight"), (o1, "bias")], pruning_method=P.L1Unstructured,
                          amount=0.3)
    for tm, om, name in ((t1, o1, "weight"), (t2, o2, "weight"), (t1, o1, "bias")):
        _same_mask(tm, om, name)
    scores = _int_weights((4, 5), 9)
    (t3, o3) = _pair(torch, "Linear", 5, 4)
    tp.global_unstructured([(t3, "weight")], tp.L1Unstructured, importance_scores={(t3, "weight"):
                                                                                    torch.tensor(scores)}, amount=6)
    P.global_unstructured([(o3, "weight")], P.L1Unstructured, importance_scores={(o3, "weight"):
                                                                                  ag.tensor(scores)}, amount=6)
    _same_mask(t3, o3)


def test_remove_and_is_pruned(torch, device):
    tm, om = _pair(torch, "Linear", 5, 4, weight=_int_weights((4, 5), 10), device=device)
    assert not P.is_pruned(om)
    seq = ag.nn.Sequential(om)
    _tp(torch).l1_unstructured(tm, "weight", amount=8)
    P.l1_unstructured(om, "weight", amount=8)
    assert P.is_pruned(seq)
    _tp(torch).remove(tm, "weight")
    assert P.remove(om, "weight") is om
    assert not P.is_pruned(seq)
    assert list(om.state_dict()) == list(tm.state_dict()) == ["bias", "weight"]
    assert isinstance(om.weight, ag.nn.Parameter)
    np.testing.assert_array_equal(_np(om.weight), tm.weight.detach().numpy())
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        P.remove(om, "weight")


def test_state_dict_loads_both_ways(torch):
    tm, om = _pair(torch, "Linear", 5, 4, dtype="float64")
    _tp(torch).l1_unstructured(tm, "weight", amount=0.5)
    P.random_unstructured(om, "weight", amount=0.5)
    om.load_state_dict({k: ag.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    x = np.random.default_rng(11).standard_normal((2, 5))
    np.testing.assert_allclose(_np(om(ag.tensor(x))), tm(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    t2 = torch.nn.Linear(5, 4).double()
    _tp(torch).identity(t2, "weight")
    t2.load_state_dict({k: torch.tensor(_np(v)) for k, v in om.state_dict().items()})
    np.testing.assert_array_equal(t2.weight_mask.numpy(), _np(om.weight_mask))


def test_prune_method_on_a_tensor(torch):
    w = _int_weights((4, 5), 12)
    got = P.L1Unstructured(amount=6).prune(ag.tensor(w))
    want = _tp(torch).L1Unstructured(amount=6).prune(torch.tensor(w))
    np.testing.assert_array_equal(_np(got), want.numpy())


def test_float64_and_float16_weights(torch):
    for dtype in ("float64", "float16"):
        tm, om = _pair(torch, "Linear", 6, 5, weight=_int_weights((5, 6), 13), dtype=dtype)
        _tp(torch).l1_unstructured(tm, "weight", amount=11)
        P.l1_unstructured(om, "weight", amount=11)
        _same_mask(tm, om)
        assert om.weight_mask.dtype == getattr(ag, dtype)


# ---- bad input: PyTorch's exception types; a failed call changes nothing ----------------------------

BAD = [
    ("negative int amount", lambda p, m: p.l1_unstructured(m, "weight", amount=-1), ValueError),
    ("float amount above 1", lambda p, m: p.l1_unstructured(m, "weight", amount=1.5), ValueError),
    ("string amount", lambda p, m: p.random_unstructured(m, "weight", amount="a"), TypeError),
    ("amount above size", lambda p, m: p.l1_unstructured(m, "weight", amount=13), ValueError),
    ("structured on 1-d", lambda p, m: p.ln_structured(m, "bias", amount=1, n=2, dim=0), ValueError),
    ("dim out of range", lambda p, m: p.ln_structured(m, "weight", amount=1, n=2, dim=2), IndexError),
    ("random dim out of range", lambda p, m: p.random_structured(m, "weight", amount=1, dim=5), IndexError),
    ("structured global", lambda p, m: p.global_unstructured([(m, "weight")], p.RandomStructured, amount=1),
     TypeError),
    ("scores of another shape", lambda p, m: p.l1_unstructured(m, "weight", 1, importance_scores=m.bias),
     AssertionError),
    ("no such attribute", lambda p, m: p.l1_unstructured(m, "nope", amount=1), AttributeError),
]


@pytest.mark.parametrize("name,call,exc", BAD, ids=[b[0] for b in BAD])
def test_bad_input(torch, name, call, exc):
    for lib, L in ((_tp(torch), torch), (P, ag)):
        m = L.nn.Linear(4, 3)
        with pytest.raises(exc):
            call(lib, m)
    m = ag.nn.Linear(4, 3)
    before = {k: _np(v).copy() for k, v in m.state_dict().items()}
    with pytest.raises(exc):
        call(P, m)
    assert list(m.state_dict()) == list(before) and not P.is_pruned(m)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(_np(v), before[k])


def test_failed_second_pruning_keeps_the_first(torch):
    """Divergence kept: PyTorch drops the tensor's pruning hook when a second
    pruning of it fails (is_pruned turns False, weight no longer follows
    weight_orig); here the failed call changes nothing."""
    tm = torch.nn.Linear(3, 2)
    _tp(torch).l1_unstructured(tm, "weight", 0.5)
    with pytest.raises(ValueError, match="number of parameters to prune=3"):
        _tp(torch).l1_unstructured(tm, "weight", 10)
    assert not _tp(torch).is_pruned(tm)
    om = ag.nn.Linear(3, 2)
    P.l1_unstructured(om, "weight", 0.5)
    mask = _np(om.weight_mask).copy()
    with pytest.raises(ValueError, match="number of parameters to prune=3"):
        P.l1_unstructured(om, "weight", 10)
    assert P.is_pruned(om)
    np.testing.assert_array_equal(_np(om.weight_mask), mask)
    hooks = [h for h in om._forward_pre_hooks.values() if isinstance(h, P.BasePruningMethod)]
    assert len(hooks) == 1 and isinstance(hooks[0], P.L1Unstructured)


def test_container_rejects_other_tensors():
    a = P.L1Unstructured(0.1)
    a._tensor_name = "weight"
    c = P.PruningContainer(a)
    b = P.Identity()
    b._tensor_name = "bias"
    with pytest.raises(ValueError, match="Can only add pruning methods acting on the parameter named 'weight'"):
        c.add_pruning_method(b)
    with pytest.raises(TypeError, match="is not a BasePruningMethod subclass"):
        c.add_pruning_method(3)


# ---- functional_call -------------------------------------------------------------------------------------

class Tied:
    """Two Linear layers sharing one weight; a buffer."""

    @staticmethod
    def make(L):
        class M(L.nn.Module):
            def __init__(self):
                super().__init__()
                self.a = L.nn.Linear(3, 3)
                self.b = L.nn.Linear(3, 3)
                self.b.weight = self.a.weight
                self.register_buffer("shift", L.ones(3))

            def forward(self, x, scale=1.0):
                return self.b(self.a(x)) * scale + self.shift
        return M()


def _call_both(torch, device, given, **kw):
    out = {}
    theirs = Tied.make(torch).double()
    for L, dev in ((ag, device), (torch, "cpu")):
        m = _copy_into(Tied.make(ag).double(), theirs, dev) if L is ag else theirs
        own = {k: _np(v).copy() for k, v in m.state_dict().items()}
        tensors = {k: (ag.tensor(v, device=dev, requires_grad=True) if L is ag
                       else torch.tensor(v, requires_grad=True)) for k, v in given.items()}
        x = ag.tensor(np.ones((2, 3)), device=dev) if L is ag else torch.ones(2, 3, dtype=torch.float64)
        fc = S.func_functional_call if L is ag else torch.func.functional_call
        y = fc(m, tensors, (x,), {"scale": 2.0}, **kw)
        y.sum().backward()
        for k, v in m.state_dict().items():      # the module's own tensors are back
            np.testing.assert_array_equal(_np(v), own[k])
        own_grads = [p.grad for _, p in sorted(m.named_parameters())]
        out[L] = (y, [tensors[k].grad for k in sorted(tensors)] + own_grads)
    return out


@pytest.mark.parametrize("tie_weights", [True, False])
def test_functional_call_matches_torch(torch, device, tie_weights):
    r = np.random.default_rng(14)
    given = {"a.weight": r.standard_normal((3, 3)), "b.bias": r.standard_normal(3), "shift": r.standard_normal(3)}
    out = _call_both(torch, device, given, tie_weights=tie_weights)
    np.testing.assert_allclose(_np(out[ag][0]), _np(out[torch][0]), rtol=1e-12)
    assert len(out[ag][1]) == len(out[torch][1])
    for a, b in zip(out[ag][1], out[torch][1]):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(_np(a), _np(b), rtol=1e-12)


def test_functional_call_sequence_of_dicts_and_strict(torch):
    for L, fc in ((ag, S.func_functional_call), (torch, torch.func.functional_call)):
        m = L.nn.Linear(2, 2)
        x = L.ones(1, 2)
        y = fc(m, ({"weight": L.zeros(2, 2)}, {"bias": L.ones(2)}), x)
        np.testing.assert_array_equal(_np(y), np.ones((1, 2)))
        with pytest.raises(ValueError, match="appeared in multiple dictionaries"):
            fc(m, ({"weight": L.zeros(2, 2)}, {"weight": L.ones(2, 2)}), x)
        with pytest.raises(ValueError, match="to be a dict, or a list/tuple of dicts"):
            fc(m, 3, x)
        with pytest.raises(RuntimeError, match="Error\\(s\\) in reparametrizing for Linear:\n\tUnexpected key\\(s\\): "
                                               "'nope'.\n\tMissing key\\(s\\): 'bias'."):
            fc(m, {"weight": L.zeros(2, 2), "nope": L.zeros(1)}, x, strict=True)
        t = Tied.make(L)
        with pytest.raises(ValueError, match="which are tied. Consider using tie_weights=False"):
            fc(t, {"a.weight": L.zeros(3, 3), "b.weight": L.ones(3, 3)}, L.ones(1, 3))


def test_functional_call_restores_after_error_and_bad_value(torch):
    m = ag.nn.Linear(2, 2)
    w = m.weight
    with pytest.raises(RuntimeError):
        S.func_functional_call(m, {"weight": ag.zeros(2, 5)}, ag.ones(1, 2))
    assert m.weight is w and isinstance(m._parameters["weight"], ag.nn.Parameter)
    with pytest.raises(TypeError, match="is not an instance of"):
        S.func_functional_call(m, {"bias": ag.zeros(2), "weight": 3}, ag.ones(1, 2))
    assert m.weight is w and m.bias is not None and _np(m.bias).any()
    with pytest.raises(TypeError, match="is not an instance of torch.Tensor"):
        torch.func.functional_call(torch.nn.Linear(2, 2), {"weight": 3}, torch.ones(1, 2))


def test_stateless_functional_call_warns_as_torch(torch):
    for L, fc in ((ag, S.functional_call), (torch, torch.nn.utils.stateless.functional_call)):
        m = L.nn.Linear(2, 2)
        with pytest.warns(FutureWarning, match="is deprecated as of PyTorch 2.0"):
            y = fc(m, {"bias": L.zeros(2), "weight": L.eye(2)}, L.ones(1, 2))
        np.testing.assert_array_equal(_np(y), np.ones((1, 2)))


def test_functional_call_buffers_updated_in_place(torch):
    out = {}
    for L, fc in ((ag, S.func_functional_call), (torch, torch.func.functional_call)):
        bn = L.nn.BatchNorm1d(2)
        rm, rv = L.zeros(2), L.ones(2)
        x = L.tensor([[1.0, 2.0], [3.0, 5.0]])
        fc(bn, {"running_mean": rm, "running_var": rv}, (x,))
        out[L] = (rm, rv, bn.running_mean)
    for a, b in zip(out[ag], out[torch]):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-6)


# ---- fusion -------------------------------------------------------------------------------------------------

def _bn_pair(torch, cls, n, affine=True):
    tb = getattr(torch.nn, cls)(n, affine=affine).double()
    r = np.random.default_rng(n)
    with torch.no_grad():
        tb.running_mean.copy_(torch.tensor(r.uniform(-1, 1, n)))
        tb.running_var.copy_(torch.tensor(r.uniform(0.5, 2, n)))
        if affine:
            tb.weight.copy_(torch.tensor(r.uniform(-1, 1, n)))
            tb.bias.copy_(torch.tensor(r.uniform(-1, 1, n)))
    return tb.eval(), _copy_into(getattr(ag.nn, cls)(n, affine=affine).double(), tb).eval()


CONV_CASES = [("Conv1d", (3, 4, 3), "BatchNorm1d", (2, 3, 7), False, True),
              ("Conv2d", (3, 4, 3), "BatchNorm2d", (2, 3, 5, 5), False, False),
              ("Conv3d", (2, 3, 2), "BatchNorm3d", (1, 2, 4, 4, 4), False, True),
              ("ConvTranspose2d", (3, 4, 3), "BatchNorm2d", (2, 3, 4, 4), True, True)]


@pytest.mark.parametrize("conv,args,bn,xshape,transpose,affine", CONV_CASES, ids=[c[0] for c in CONV_CASES])
@pytest.mark.parametrize("bias", [True, False])
def test_fuse_conv_bn_eval(torch, device, conv, args, bn, xshape, transpose, affine, bias):
    tc = getattr(torch.nn, conv)(*args, bias=bias).double().eval()
    oc = _copy_into(getattr(ag.nn, conv)(*args, bias=bias).double(), tc, device).eval()
    tb, ob = _bn_pair(torch, bn, args[1], affine)
    ob.to(device)
    tf = torch.nn.utils.fuse_conv_bn_eval(tc, tb, transpose=transpose)
    of = ag.nn.utils.fuse_conv_bn_eval(oc, ob, transpose=transpose)
    assert of is not oc and oc.weight is not of.weight and type(of) is type(oc)
    assert isinstance(of.weight, ag.nn.Parameter) and of.weight.requires_grad
    assert of.bias.requires_grad == tf.bias.requires_grad
    x = np.random.default_rng(15).standard_normal(xshape)
    y = of(ag.tensor(x, device=device))
    np.testing.assert_allclose(_np(y), tf(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_np(y), _np(ob(oc(ag.tensor(x, device=device)))), rtol=1e-10, atol=1e-12)


def test_fuse_linear_bn_eval(torch, device):
    for n_bn in (4, 1):
        tl = torch.nn.Linear(3, 4).double().eval()
        ol = _copy_into(ag.nn.Linear(3, 4).double(), tl, device).eval()
        tb, ob = _bn_pair(torch, "BatchNorm1d", n_bn)
        ob.to(device)
        tf = torch.nn.utils.fuse_linear_bn_eval(tl, tb)
        of = ag.nn.utils.fuse_linear_bn_eval(ol, ob)
        x = np.random.default_rng(16).standard_normal((5, 3))
        np.testing.assert_allclose(_np(of(ag.tensor(x, device=device))), tf(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-10, atol=1e-12)


def test_fuse_weights_functions(torch):
    r = np.random.default_rng(17)
    w, rm, rv, g, b = r.standard_normal((4, 3, 2)), r.standard_normal(4), r.uniform(0.5, 2, 4), \
        r.standard_normal(4), r.standard_normal(4)
    ours = ag.nn.utils.fuse_conv_bn_weights(*[ag.tensor(a, requires_grad=i == 0) for i, a in enumerate((w,))],
                                            None, ag.tensor(rm), ag.tensor(rv), 1e-3, ag.tensor(g), None)
    theirs = torch.nn.utils.fuse_conv_bn_weights(torch.tensor(w, requires_grad=True), None, torch.tensor(rm),
                                                 torch.tensor(rv), 1e-3, torch.tensor(g), None)
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(_np(a), t.detach().numpy(), rtol=1e-12)
        assert a.requires_grad == t.requires_grad and a.is_leaf
    lw = r.standard_normal((4, 3)).astype(np.float32)
    ours = ag.nn.utils.fuse_linear_bn_weights(ag.tensor(lw), ag.tensor(b, dtype=ag.float32), ag.tensor(rm),
                                              ag.tensor(rv), 1e-5, ag.tensor(g), ag.tensor(b))
    theirs = torch.nn.utils.fuse_linear_bn_weights(torch.tensor(lw), torch.tensor(b, dtype=torch.float32),
                                                   torch.tensor(rm), torch.tensor(rv), 1e-5, torch.tensor(g),
                                                   torch.tensor(b))
    for a, t in zip(ours, theirs):
        assert str(a.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        np.testing.assert_allclose(_np(a), t.detach().numpy(), rtol=1e-5)


def test_fusion_refuses_training_mode(torch):
    for L in (ag, torch):
        c, b = L.nn.Conv2d(2, 3, 1), L.nn.BatchNorm2d(3)
        with pytest.raises(AssertionError, match="Fusion only for eval!"):
            L.nn.utils.fuse_conv_bn_eval(c, b)
        lin, b1 = L.nn.Linear(2, 3).eval(), L.nn.BatchNorm1d(2).eval()
        with pytest.raises(AssertionError, match="linear.out_features == bn.num_features"):
            L.nn.utils.fuse_linear_bn_eval(lin, b1)
        nostats = L.nn.BatchNorm1d(3, track_running_stats=False).eval()
        with pytest.raises(AssertionError, match="must not be None"):
            L.nn.utils.fuse_linear_bn_eval(lin, nostats)


# ---- skip_init, get_total_norm, clip_grads_with_norm_ ---------------------------------------------------

def test_skip_init(device):
    state = _np(ag.get_rng_state()).copy()
    m = ag.nn.utils.skip_init(ag.nn.Linear, 3, 4, device=device)
    assert isinstance(m, ag.nn.Linear) and tuple(m.weight.shape) == (4, 3) and str(m.weight.device).startswith(
        device)
    np.testing.assert_array_equal(_np(ag.get_rng_state()), state)      # no draw consumed
    with pytest.raises(RuntimeError, match="Expected a Module"):
        ag.nn.utils.skip_init(int)

    class NoDevice(ag.nn.Module):
        def __init__(self, n):
            super().__init__()
    with pytest.raises(RuntimeError, match="Module must support a 'device' arg to skip initialization"):
        ag.nn.utils.skip_init(NoDevice, 3)


@pytest.mark.parametrize("norm_type", [2.0, 1, float("inf"), 0.5])
def test_get_total_norm_and_clip_grads_with_norm(torch, device, norm_type):
    r = np.random.default_rng(18)
    arrays = [r.standard_normal((3, 2)), r.standard_normal(4), r.standard_normal(())]
    ours = [ag.tensor(a, device=device, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    for p, a in zip(ours, arrays):
        p.grad = ag.tensor(a * 3, device=device)
    for p, a in zip(theirs, arrays):
        p.grad = torch.tensor(a * 3)
    total = ag.nn.utils.get_total_norm([p.grad for p in ours], norm_type)
    t_total = torch.nn.utils.get_total_norm([p.grad for p in theirs], norm_type)
    np.testing.assert_allclose(_np(total), t_total.numpy(), rtol=1e-12)
    assert ag.nn.utils.clip_grads_with_norm_(ours, 1.0, total) is None
    torch.nn.utils.clip_grads_with_norm_(theirs, 1.0, t_total)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(_np(p.grad), t.grad.numpy(), rtol=1e-12)


def test_get_total_norm_edges(torch):
    for L in (ag, torch):
        assert float(L.nn.utils.get_total_norm([])) == 0.0
        assert float(L.nn.utils.get_total_norm(L.tensor([3.0, 4.0]))) == 5.0
        with pytest.raises(RuntimeError, match="is non-finite, so it cannot be clipped"):
            L.nn.utils.get_total_norm([L.tensor([float("nan")])], error_if_nonfinite=True)
        L.nn.utils.clip_grads_with_norm_([L.zeros(2, requires_grad=True)], 1.0, L.tensor(5.0))   # no grads


def test_exports():
    for name in ("fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights",
                 "skip_init", "get_total_norm", "clip_grads_with_norm_"):
        assert callable(getattr(ag.nn.utils, name))
    assert ag.nn.utils.prune is P and ag.nn.utils.stateless is S
