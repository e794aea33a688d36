"""Normalization layers (GroupNorm, InstanceNorm1d/2d/3d, BatchNorm3d, RMSNorm,
LocalResponseNorm, CrossMapLRN2d) and their functional forms (group_norm,
instance_norm, rms_norm, local_response_norm) against PyTorch CPU: values,
gradients (second order too), float16, running statistics, train/eval,
reprs, state dicts both ways, empty and NaN input, exception types."""
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import autograd_gpu as ag
import autograd_gpu.nn.functional as F
from autograd_gpu import nn
from oracle import case_tests, assert_matches_in as _close, backward_both as _backward_both, backward_outcome, \
    graph_node_names, norm_gradients_match

FN = lambda lib: lib.nn.functional      # noqa: E731
NO_NAME = {"name": False}               # composites: grad_fn names are not PyTorch's


def _consts(L, x, *rows):
    """Tensors that require no grad, in x's dtype and on x's device (running statistics)."""
    return [L.tensor(r, dtype=x.dtype, device=x.device) for r in rows]


def _in_running(L, x, use_input_stats):
    rm, rv = _consts(L, x, [0.1, -0.2, 0.3], [0.5, 1.5, 2.0])
    return FN(L).instance_norm(x, rm, rv, use_input_stats=use_input_stats, momentum=0.3)


CASES = [
    ("group_norm affine", lambda L, x, w, b: FN(L).group_norm(x, 2, w, b), [(2, 4, 3), (4,), (4,)], {}),
    ("group_norm one group 4-d", lambda L, x, w: FN(L).group_norm(x, 1, w, eps=1e-3), [(2, 3, 2, 2), (3,)],
     NO_NAME),
    # (PyTorch's backward fails for a bias without weight, "tensor does not have a device": its side gets ones)
    ("group_norm bias only, group per channel", lambda L, x, b: FN(L).group_norm(x, 3, None, b), [(2, 3, 4), (3,)],
     dict(NO_NAME, torch_fn=lambda T, x, b: FN(T).group_norm(x, 3, T.ones(3, dtype=x.dtype), b))),
    ("group_norm 2-d", lambda L, x: FN(L).group_norm(x, 2), [(3, 6)], {}),
    ("instance_norm", lambda L, x: FN(L).instance_norm(x), [(2, 3, 4)], NO_NAME),
    ("instance_norm affine 4-d", lambda L, x, w, b: FN(L).instance_norm(x, weight=w, bias=b, eps=1e-3),
     [(2, 3, 2, 3), (3,), (3,)], {}),
    ("instance_norm 5-d", lambda L, x, w: FN(L).instance_norm(x, weight=w), [(1, 2, 2, 2, 2), (2,)], {}),
    ("instance_norm running stats", lambda L, x: _in_running(L, x, True), [(2, 3, 4)], {}),
    ("instance_norm eval", lambda L, x: _in_running(L, x, False), [(2, 3, 4)], {}),
    ("instance_norm eval 2-d", lambda L, x: _in_running(L, x, False), [(4, 3)], {}),
    ("rms_norm", lambda L, x: FN(L).rms_norm(x, (4,)), [(2, 3, 4)], {}),
    ("rms_norm weight", lambda L, x, w: FN(L).rms_norm(x, [3, 4], w, eps=1e-3), [(2, 3, 4), (3, 4)], {}),
    ("rms_norm 1-d", lambda L, x, w: FN(L).rms_norm(x, (5,), w, eps=0.1), [(5,), (5,)], {}),
    ("local_response_norm 3-d", lambda L, x: FN(L).local_response_norm(x, 3, alpha=0.5, beta=0.75, k=1.5),
     [(2, 5, 3)], {}),
    ("local_response_norm even size 4-d", lambda L, x: FN(L).local_response_norm(x, 2, alpha=0.3, beta=0.6),
     [(2, 4, 2, 2)], {}),
    ("local_response_norm 5-d wide window",
     lambda L, x: FN(L).local_response_norm(x, 6, alpha=1.0, beta=0.5, k=2.0), [(1, 3, 2, 1, 2)], {}),
]

test_against_pytorch, test_gradcheck, test_second_order = case_tests(CASES)
# PyTorch's rms_norm says so when it takes its unfused path (an input and a weight of different dtypes)
pytestmark = pytest.mark.filterwarnings("ignore:Mismatch dtype between input and weight")


def _np(t):
    return t.detach().cpu().numpy()


def _rng(seed=0):
    return np.random.default_rng(seed)


def _pair(torch, a, dtype="float64", device="cpu", requires_grad=True):
    return (ag.tensor(a, dtype=dtype, device=device, requires_grad=requires_grad),
            torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=requires_grad))


def _to_ag(sd, device):
    return OrderedDict((k, ag.tensor(v.numpy().copy(), device=device)) for k, v in sd.items())


def _to_torch(torch, sd):
    return OrderedDict((k, torch.tensor(_np(v).copy())) for k, v in sd.items())


def _same_structure(ours, theirs):
    assert repr(ours) == repr(theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert list(ours.state_dict()) == list(theirs.state_dict())


def _compare_state(ours, theirs, dtype, what):
    for (name, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        if b.is_floating_point():
            _close(a, b, dtype, f"{what}: {name}")
        else:
            assert a.dtype == ag.int64 and int(a) == int(b), f"{what}: {name}"


# ---- float16 ---------------------------------------------------------------------------------------

F16_CASES = [
    ("group_norm", lambda L, x, w: FN(L).group_norm(x, 2, w), (2, 4, 3), True),
    ("group_norm half weight", lambda L, x, w: FN(L).group_norm(x, 2, w.half()), (2, 4, 3), True),
    ("instance_norm", lambda L, x, w: FN(L).instance_norm(x, weight=w), (2, 4, 3), True),
    ("instance_norm running", lambda L, x, w: FN(L).instance_norm(x, *_consts(L, w, [0.0] * 4, [1.0] * 4)),
     (2, 4, 3), False),
    ("rms_norm", lambda L, x, w: FN(L).rms_norm(x, (3,)), (2, 4, 3), False),
    ("rms_norm float32 weight", lambda L, x, w: FN(L).rms_norm(x, (4, 3), w.reshape(4, 1).expand(4, 3)),
     (2, 4, 3), True),
    ("local_response_norm 3-d", lambda L, x, w: FN(L).local_response_norm(x, 3, alpha=0.5), (2, 4, 3), False),
]


@pytest.mark.parametrize("name,fn,shape,weight_grad", F16_CASES, ids=[c[0] for c in F16_CASES])
def test_float16_matches_pytorch(torch, device, name, fn, shape, weight_grad):
    """float16 input (normalised in float32, as PyTorch's CPU kernels) with a float32 weight."""
    x0, w0 = _rng(1).normal(0.5, 2.0, shape), _rng(2).normal(size=shape[1])
    x, xt = _pair(torch, x0, "float16", device)
    w, wt = _pair(torch, w0, "float32", device)
    out, ref = fn(ag, x, w), fn(torch, xt, wt)
    assert out.dtype == ag.float16
    _close(out, ref, "float16", "forward")
    _backward_both(torch, out, ref)
    assert x.grad.dtype == ag.float16
    _close(x.grad, xt.grad, "float16", "input grad")
    if weight_grad:
        np.testing.assert_allclose(_np(w.grad), wt.grad.numpy(), rtol=2e-2, atol=2e-2)


def test_rms_norm_default_eps_is_the_computing_types(torch, device):
    """eps=None is float32's epsilon for float16 input (PyTorch computes in
    float32), float64's for float64."""
    for dtype, x in (("float16", np.full((1, 4), 1e-4)), ("float64", np.array([[1e-8, 0.0, 0.0, 0.0]])),
                     ("float32", np.full((2, 3), 3e-4))):
        for eps in (None, 1e-5, 1e-7):
            out = F.rms_norm(ag.tensor(x, dtype=dtype, device=device), (x.shape[1],), eps=eps)
            ref = torch.nn.functional.rms_norm(torch.tensor(x, dtype=getattr(torch, dtype)), (x.shape[1],), eps=eps)
            _close(out, ref, dtype, f"{dtype} eps={eps}")


def test_rms_norm_result_keeps_the_input_dtype(torch, device):
    x0, w0 = _rng(3).normal(size=(2, 3)), _rng(4).normal(size=3)
    for xd, wd in (("float32", "float64"), ("float64", "float32"), ("float32", "float16")):
        x, xt = _pair(torch, x0, xd, device)
        w, wt = _pair(torch, w0, wd, device)
        out, ref = F.rms_norm(x, (3,), w), torch.nn.functional.rms_norm(xt, (3,), wt)
        assert out.dtype == getattr(ag, xd) and str(ref.dtype) == f"torch.{xd}"
        _close(out, ref, "float32")
        _backward_both(torch, out, ref)
        assert w.grad.dtype == getattr(ag, wd)
        np.testing.assert_allclose(_np(w.grad), wt.grad.numpy(), rtol=2e-3, atol=2e-3)


# ---- modules: training, running statistics, eval ------------------------------------------------------

IN_SHAPES = {"InstanceNorm1d": (3, 3, 5), "InstanceNorm2d": (2, 3, 3, 2), "InstanceNorm3d": (2, 3, 2, 2, 2),
             "BatchNorm3d": (3, 3, 2, 2, 2)}


@pytest.mark.parametrize("cls", list(IN_SHAPES))
@pytest.mark.parametrize("kw", [{}, {"affine": True}, {"track_running_stats": True},
                                {"affine": True, "track_running_stats": True, "momentum": 0.4, "eps": 1e-3},
                                {"track_running_stats": True, "momentum": None}, {"affine": True, "bias": False}])
def test_instance_and_batch_norm_modules_train_then_eval(torch, device, cls, kw):
    ours, theirs = getattr(nn, cls)(3, **kw).to(device), getattr(torch.nn, cls)(3, **kw)
    _same_structure(ours, theirs)
    rng = _rng(5)
    with torch.no_grad():
        for p in theirs.parameters():          # not the initial ones and zeros
            p.copy_(torch.tensor(rng.normal(size=tuple(p.shape))))
    ours.load_state_dict(_to_ag(theirs.state_dict(), device))
    for step in range(3):
        x, xt = _pair(torch, rng.normal(1.0, 3.0, IN_SHAPES[cls]), "float32", device)
        out, ref = ours(x), theirs(xt)
        _close(out, ref, "float32", f"training step {step}")
        _backward_both(torch, out, ref)
        _close(x.grad, xt.grad, "float32", "input grad")
    _compare_state(ours, theirs, "float32", "after training")
    for (name, a), (_, b) in zip(ours.named_parameters(), theirs.named_parameters()):
        _close(a.grad, b.grad, "float32", name + " grad")
    ours.eval(), theirs.eval()
    before = {k: _np(v).copy() for k, v in ours.state_dict().items()}
    x, xt = _pair(torch, rng.normal(size=IN_SHAPES[cls]), "float32", device)
    _close(ours(x), theirs(xt), "float32", "eval")
    for k, v in ours.state_dict().items():
        np.testing.assert_array_equal(_np(v), before[k], err_msg=f"eval changed {k}")


def test_eval_differs_from_training_only_with_tracked_stats(device):
    x = ag.tensor(_rng(6).normal(2.0, 3.0, (2, 3, 4)), device=device)
    tracked, untracked = nn.InstanceNorm1d(3, track_running_stats=True).to(device), nn.InstanceNorm1d(3).to(device)
    train_out = _np(tracked(x))
    np.testing.assert_allclose(_np(untracked(x)), train_out, rtol=1e-6, atol=1e-6)
    tracked.eval(), untracked.eval()
    np.testing.assert_allclose(_np(untracked(x)), train_out, rtol=1e-6, atol=1e-6)   # still its own statistics
    assert not np.allclose(_np(tracked(x)), train_out, atol=1e-2)                      # the running ones
    assert int(tracked.num_batches_tracked) == 0            # kept, never counted (as PyTorch)


@pytest.mark.parametrize("cls,shape", [("InstanceNorm1d", (3, 5)), ("InstanceNorm2d", (3, 2, 4)),
                                       ("InstanceNorm3d", (3, 2, 2, 3))])
def test_instance_norm_unbatched_input(torch, device, cls, shape):
    kw = {"affine": True, "track_running_stats": True}
    ours, theirs = getattr(nn, cls)(3, **kw).to(device), getattr(torch.nn, cls)(3, **kw)
    x, xt = _pair(torch, _rng(7).normal(1.0, 2.0, shape), "float64", device)
    ours.double(), theirs.double()
    out, ref = ours(x), theirs(xt)
    assert out.shape == tuple(shape)
    _close(out, ref, "float64")
    _backward_both(torch, out, ref)
    _close(x.grad, xt.grad, "float64", "input grad")
    _compare_state(ours, theirs, "float64", "running stats")
    ours.eval(), theirs.eval()
    _close(ours(x), theirs(xt), "float64", "eval")


def test_instance_norm_channel_mismatch_warns_without_affine(torch, device):
    x = np.ones((2, 4, 3)) + _rng(8).normal(size=(2, 4, 3))
    with pytest.warns(UserWarning, match="does not match num_features"):
        out = nn.InstanceNorm1d(3).to(device)(ag.tensor(x, device=device))
    with pytest.warns(UserWarning, match="does not match num_features"):
        ref = torch.nn.InstanceNorm1d(3)(torch.tensor(x, dtype=torch.float32))
    _close(out, ref, "float32")


@pytest.mark.parametrize("make,shape", [
    (lambda M: M.GroupNorm(2, 4), (2, 4, 3)), (lambda M: M.GroupNorm(3, 6, eps=1e-3, bias=False), (2, 6, 2, 2)),
    (lambda M: M.RMSNorm(4), (2, 3, 4)), (lambda M: M.RMSNorm([3, 4], eps=1e-4), (2, 3, 4)),
    (lambda M: M.InstanceNorm2d(3, affine=True), (2, 3, 2, 2)), (lambda M: M.BatchNorm3d(3), (2, 3, 2, 1, 2))])
def test_state_dict_round_trips_with_pytorch(torch, device, make, shape):
    """torch's (changed) parameters into ours: equal outputs and parameter
    grads; ours back into a fresh torch module: equal outputs."""
    ours, theirs = make(nn).to(device), make(torch.nn)
    _same_structure(ours, theirs)
    rng = _rng(9)
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.tensor(rng.normal(size=tuple(p.shape))))
    ours.load_state_dict(_to_ag(theirs.state_dict(), device))
    x, xt = _pair(torch, rng.normal(size=shape), "float32", device)
    out, ref = ours(x), theirs(xt)
    _close(out, ref, "float32")
    _backward_both(torch, out, ref)
    for (name, a), (_, b) in zip(ours.named_parameters(), theirs.named_parameters()):
        _close(a.grad, b.grad, "float32", name + " grad")
    back = make(torch.nn)
    back.load_state_dict(_to_torch(torch, ours.state_dict()))
    _close(ours(x), back(xt), "float32", "ours loaded into torch")


def test_module_initialisation_dtype_and_device(torch, device):
    g = nn.GroupNorm(2, 4, device=device, dtype=ag.float64)
    assert g.weight.dtype == ag.float64 and g.weight.device == ag.device(device)
    np.testing.assert_array_equal(_np(g.weight), np.ones(4))
    np.testing.assert_array_equal(_np(g.bias), np.zeros(4))
    r = nn.RMSNorm((2, 3), device=device, dtype=ag.float16)
    assert r.weight.dtype == ag.float16 and r.weight.shape == (2, 3) and (_np(r.weight) == 1).all()
    assert list(nn.RMSNorm(3, elementwise_affine=False).parameters()) == []
    assert list(nn.GroupNorm(1, 3, affine=False).parameters()) == []
    i = nn.InstanceNorm1d(3, affine=True, track_running_stats=True, dtype=ag.float64, device=device)
    assert i.running_var.dtype == ag.float64 and i.num_batches_tracked.dtype == ag.int64
    assert isinstance(i, nn.InstanceNorm1d) and not isinstance(i, nn.BatchNorm1d)


REPRS = [lambda M: M.GroupNorm(2, 4), lambda M: M.GroupNorm(1, 3, eps=1e-3, affine=False),
         lambda M: M.GroupNorm(2, 4, bias=False), lambda M: M.InstanceNorm1d(3),
         lambda M: M.InstanceNorm2d(4, eps=1e-3, momentum=None, affine=True, track_running_stats=True),
         lambda M: M.InstanceNorm3d(2, affine=True, bias=False), lambda M: M.BatchNorm3d(5, momentum=0.3),
         lambda M: M.RMSNorm(4), lambda M: M.RMSNorm([2, 3], eps=1e-6, elementwise_affine=False),
         lambda M: M.LocalResponseNorm(3), lambda M: M.LocalResponseNorm(2, 1e-3, 0.5, 2),
         lambda M: M.CrossMapLRN2d(5), lambda M: M.CrossMapLRN2d(3, alpha=0.1, beta=1, k=2.0),
         lambda M: M.Sequential(M.GroupNorm(1, 2), M.LocalResponseNorm(2))]


@pytest.mark.parametrize("make", REPRS)
def test_reprs_match_pytorch(torch, make):
    assert repr(make(nn)) == repr(make(torch.nn))


# ---- local response norm --------------------------------------------------------------------------------

def test_local_response_norm_module_and_integer_input(torch, device):
    x = _rng(10).normal(size=(2, 4, 3, 2))
    m, mt = nn.LocalResponseNorm(3, alpha=0.2, beta=0.5, k=0.5), torch.nn.LocalResponseNorm(3, alpha=0.2, beta=0.5,
                                                                                            k=0.5)
    _close(m(ag.tensor(x, device=device)), mt(torch.tensor(x, dtype=torch.float32)), "float32")
    # PyTorch pools integer squares with integer division (the mean rounds down); the result is float32
    i = np.arange(-5, 7).reshape(1, 4, 3)
    out = F.local_response_norm(ag.tensor(i, device=device), 3, alpha=1.0, beta=1.0, k=0.0)
    ref = torch.nn.functional.local_response_norm(torch.tensor(i), 3, alpha=1.0, beta=1.0, k=0.0)
    assert out.dtype == ag.float32 and ref.dtype == torch.float32
    _close(out, ref, "float32")


def test_local_response_norm_float16_on_more_than_3_dims(torch, device):
    """Known divergence: PyTorch CPU refuses float16 input of 4 or more dims
    (its avg_pool3d has no Half kernel); ours computes it (in float32)."""
    x = _rng(11).normal(size=(2, 4, 2, 3))
    with pytest.raises(NotImplementedError):
        torch.nn.functional.local_response_norm(torch.tensor(x, dtype=torch.float16), 3)
    out = F.local_response_norm(ag.tensor(x, dtype=ag.float16, device=device), 3, alpha=0.5)
    assert out.dtype == ag.float16
    ref = torch.nn.functional.local_response_norm(torch.tensor(x, dtype=torch.float32), 3, alpha=0.5)
    _close(out, ref.half(), "float16")


@pytest.mark.parametrize("shape,size", [((2, 7, 3, 2), 5), ((1, 4, 2, 2), 3), ((2, 3, 1, 2), 4), ((1, 2, 2, 1), 1)])
def test_cross_map_lrn2d_forward_matches_pytorch(torch, device, shape, size):
    """PyTorch's legacy window (channel 0 stays in every later window) is
    reproduced; float16 too."""
    x = _rng(12).normal(size=shape)
    kw = dict(alpha=0.5, beta=0.75, k=1.5)
    for dtype in ("float64", "float32", "float16"):
        out = nn.CrossMapLRN2d(size, **kw)(ag.tensor(x, dtype=dtype, device=device))
        ref = torch.nn.CrossMapLRN2d(size, **kw)(torch.tensor(x, dtype=getattr(torch, dtype)))
        assert out.dtype == getattr(ag, dtype)
        _close(out, ref, dtype, dtype)


def test_cross_map_lrn2d_gradient_is_its_forwards(torch, device):
    """Known divergence: PyTorch's hand-written CrossMapLRN2d backward is not
    the gradient of its forward (torch's own gradcheck fails); ours is
    (gradcheck to second order)."""
    x = _rng(13).normal(size=(2, 5, 2, 2))
    fn = lambda t: torch.nn.CrossMapLRN2d(3, 0.5, 0.75, 1.0)(t)       # noqa: E731
    assert not torch.autograd.gradcheck(fn, (torch.tensor(x, requires_grad=True),), raise_exception=False)
    xa = ag.tensor(x, dtype=ag.float64, device=device, requires_grad=True)
    ours = lambda t: nn.CrossMapLRN2d(3, 0.5, 0.75, 1.0)(t)            # noqa: E731
    assert ag.autograd.gradcheck(ours, (xa,))
    assert ag.autograd.gradgradcheck(ours, (xa,))


# ---- empty, zero-size, NaN -------------------------------------------------------------------------------

EMPTY = [
    ("group_norm no samples", lambda L, x: FN(L).group_norm(x, 2), (0, 4, 3)),
    ("group_norm no channels", lambda L, x: FN(L).group_norm(x, 2), (2, 0, 3)),
    ("group_norm no positions", lambda L, x: FN(L).group_norm(x, 2), (2, 4, 0)),
    ("instance_norm no samples", lambda L, x: FN(L).instance_norm(x), (0, 4, 3)),
    ("instance_norm no positions", lambda L, x: FN(L).instance_norm(x), (2, 4, 0)),
    ("instance_norm no channels", lambda L, x: FN(L).instance_norm(x), (2, 0, 3)),
    ("rms_norm no rows", lambda L, x: FN(L).rms_norm(x, (4,)), (0, 4)),
    ("rms_norm empty normalized", lambda L, x: FN(L).rms_norm(x, (0,)), (2, 0)),
    ("local_response_norm", lambda L, x: FN(L).local_response_norm(x, 3), (0, 4, 3)),
    ("local_response_norm no channels", lambda L, x: FN(L).local_response_norm(x, 3), (2, 0, 2, 2)),
]


@pytest.mark.parametrize("name,fn,shape", EMPTY, ids=[c[0] for c in EMPTY])
def test_empty_input(torch, device, name, fn, shape):
    x, xt = _pair(torch, np.zeros(shape), "float32", device)
    out, ref = fn(ag, x), fn(torch, xt)
    assert out.shape == tuple(ref.shape) and out.dtype == ag.float32
    out.sum().backward()
    assert x.grad is None or x.grad.shape == tuple(shape)


@pytest.mark.parametrize("shape", [(0, 3, 4), (2, 3, 0)])
def test_instance_norm_running_stats_after_empty_batch(torch, device, shape):
    """As PyTorch: no samples make the running statistics NaN (the average of
    no per-sample copies); samples with no positions leave them as they were."""
    stats = []
    for lib in (ag, torch):
        kw = {"device": device} if lib is ag else {}
        rm, rv = lib.tensor([0.5, 1.0, -1.0], **kw), lib.tensor([1.0, 2.0, 3.0], **kw)
        FN(lib).instance_norm(lib.zeros(*shape, **kw), rm, rv)
        stats.append((rm, rv))
    for a, b in zip(*stats):
        _close(a, b, "float32")


def test_nan_and_inf_stay_in_their_group(torch, device):
    x = _rng(14).normal(size=(2, 4, 3))
    x[0, 0, 1], x[1, 3, 2] = np.nan, np.inf
    for fn in (lambda L, t: FN(L).group_norm(t, 2), lambda L, t: FN(L).instance_norm(t),
               lambda L, t: FN(L).rms_norm(t, (3,)), lambda L, t: FN(L).local_response_norm(t, 2)):
        _close(fn(ag, ag.tensor(x, device=device)), fn(torch, torch.tensor(x)), "float64")
    constant = np.ones((1, 2, 4))                                 # zero variance: eps keeps it finite
    _close(F.group_norm(ag.tensor(constant, device=device), 1),
           torch.nn.functional.group_norm(torch.tensor(constant), 1), "float64")


# ---- bad input, side by side with PyTorch ------------------------------------------------------------------

BAD = {
    "group_norm not divisible": lambda M, T: M.functional.group_norm(T.ones(2, 4, 3), 3),
    "group_norm zero groups": lambda M, T: M.functional.group_norm(T.ones(2, 4, 3), 0),
    "group_norm negative groups": lambda M, T: M.functional.group_norm(T.ones(2, 4, 3), -2),
    "group_norm float groups": lambda M, T: M.functional.group_norm(T.ones(2, 4, 3), 2.0),
    "group_norm 1-d": lambda M, T: M.functional.group_norm(T.ones(4), 2),
    "group_norm one value": lambda M, T: M.functional.group_norm(T.ones(1, 4), 4),
    "group_norm weight shape": lambda M, T: M.functional.group_norm(T.ones(2, 4, 3), 2, T.ones(3)),
    "group_norm weight 2-d": lambda M, T: M.functional.group_norm(T.ones(2, 4, 3), 2, T.ones(4, 1)),
    "group_norm bias shape": lambda M, T: M.functional.group_norm(T.ones(2, 4, 3), 2, None, T.ones(5)),
    "group_norm weight dtype": lambda M, T: M.functional.group_norm(T.ones(2, 4, 3), 2, T.ones(4, dtype=T.float64)),
    "group_norm input dtype": lambda M, T: M.functional.group_norm(T.ones(2, 4, 3, dtype=T.float64), 2, T.ones(4)),
    "group_norm integer input": lambda M, T: M.functional.group_norm(T.ones(2, 4, 3, dtype=T.int64), 2),
    "GroupNorm not divisible": lambda M, T: M.GroupNorm(3, 4),
    "GroupNorm zero groups": lambda M, T: M.GroupNorm(0, 4),
    "GroupNorm float groups": lambda M, T: M.GroupNorm(2.0, 4)(T.ones(2, 4)),
    "GroupNorm channels": lambda M, T: M.GroupNorm(2, 4)(T.ones(2, 6, 3)),
    "GroupNorm float64 input": lambda M, T: M.GroupNorm(2, 4)(T.ones(2, 4, 3, dtype=T.float64)),
    "instance_norm one position": lambda M, T: M.functional.instance_norm(T.ones(2, 4, 1)),
    "instance_norm 2-d": lambda M, T: M.functional.instance_norm(T.ones(2, 4)),
    "instance_norm 1-d eval": lambda M, T: M.functional.instance_norm(T.ones(4), T.zeros(4), T.ones(4),
                                                                      use_input_stats=False),
    "instance_norm eval without stats": lambda M, T: M.functional.instance_norm(T.ones(2, 4, 3),
                                                                                use_input_stats=False),
    "instance_norm one stat": lambda M, T: M.functional.instance_norm(T.ones(2, 4, 3), T.zeros(4)),
    "instance_norm weight shape": lambda M, T: M.functional.instance_norm(T.ones(2, 4, 3), weight=T.ones(3)),
    "instance_norm weight 2-d": lambda M, T: M.functional.instance_norm(T.ones(2, 4, 3), weight=T.ones(4, 1)),
    "instance_norm stats shape": lambda M, T: M.functional.instance_norm(T.ones(2, 4, 3), T.zeros(3), T.ones(3)),
    "instance_norm weight dtype": lambda M, T: M.functional.instance_norm(T.ones(2, 4, 3),
                                                                          weight=T.ones(4, dtype=T.float64)),
    "instance_norm integer input": lambda M, T: M.functional.instance_norm(T.ones(2, 4, 3, dtype=T.int64)),
    "instance_norm momentum None": lambda M, T: M.functional.instance_norm(T.ones(2, 4, 3), T.zeros(4), T.ones(4),
                                                                           momentum=None),
    "instance_norm stats need grad": lambda M, T: M.functional.instance_norm(
        T.ones(2, 4, 3), T.zeros(4, requires_grad=True), T.ones(4)),
    "InstanceNorm1d dims": lambda M, T: M.InstanceNorm1d(3)(T.ones(2, 3, 4, 5)),
    "InstanceNorm2d dims": lambda M, T: M.InstanceNorm2d(3)(T.ones(3, 4)),
    "InstanceNorm3d dims": lambda M, T: M.InstanceNorm3d(3)(T.ones(2, 3, 4)),
    "InstanceNorm1d affine channels": lambda M, T: M.InstanceNorm1d(3, affine=True)(T.ones(2, 4, 5)),
    "InstanceNorm1d unbatched one position": lambda M, T: M.InstanceNorm1d(3)(T.ones(3, 1)),
    "InstanceNorm1d float64 affine": lambda M, T: M.InstanceNorm1d(3, affine=True)(T.ones(2, 3, 4, dtype=T.float64)),
    "BatchNorm3d dims": lambda M, T: M.BatchNorm3d(3)(T.ones(2, 3, 4, 5)),
    "BatchNorm3d one value": lambda M, T: M.BatchNorm3d(3)(T.ones(1, 3, 1, 1, 1)),
    "BatchNorm3d channels": lambda M, T: M.BatchNorm3d(3)(T.ones(2, 4, 2, 2, 2)),
    "rms_norm shape": lambda M, T: M.functional.rms_norm(T.ones(2, 3, 4), (3,)),
    "rms_norm empty shape": lambda M, T: M.functional.rms_norm(T.ones(2, 3), ()),
    "rms_norm weight shape": lambda M, T: M.functional.rms_norm(T.ones(2, 3, 4), (3, 4), T.ones(12)),
    "rms_norm 0-d": lambda M, T: M.functional.rms_norm(T.tensor(1.0), (1,)),
    "rms_norm integer input": lambda M, T: M.functional.rms_norm(T.ones(2, 4, dtype=T.int64), (4,)),
    "rms_norm float shape": lambda M, T: M.functional.rms_norm(T.ones(2, 4), 4.0),
    "RMSNorm float shape": lambda M, T: M.RMSNorm(4.0),
    "RMSNorm input shape": lambda M, T: M.RMSNorm(4)(T.ones(2, 3)),
    "local_response_norm 2-d": lambda M, T: M.functional.local_response_norm(T.ones(2, 3), 2),
    "local_response_norm size 0": lambda M, T: M.functional.local_response_norm(T.ones(2, 3, 4), 0),
    "local_response_norm float size": lambda M, T: M.functional.local_response_norm(T.ones(2, 3, 4), 2.0),
    "LocalResponseNorm 2-d": lambda M, T: M.LocalResponseNorm(2)(T.ones(2, 3)),
    "CrossMapLRN2d 3-d": lambda M, T: M.CrossMapLRN2d(3)(T.ones(2, 3, 4)),
    "CrossMapLRN2d size 0": lambda M, T: M.CrossMapLRN2d(0)(T.ones(2, 3, 2, 2)),
    "CrossMapLRN2d no channels": lambda M, T: M.CrossMapLRN2d(3)(T.ones(2, 0, 2, 2)),
}


def _raised(fn):
    try:
        fn()
    except Exception as e:          # noqa: BLE001 - the exception type is what is compared
        return e
    return None


NAMES = {"group_norm": "group_norm", "GroupNorm": "group_norm|GroupNorm", "instance_norm": "instance_norm",
         "rms_norm": "rms_norm", "RMSNorm": "RMSNorm|rms_norm", "local_response_norm": "local_response_norm",
         "LocalResponseNorm": "local_response_norm"}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_raises_like_pytorch(torch, name):
    ours, theirs = _raised(lambda: BAD[name](nn, ag)), _raised(lambda: BAD[name](torch.nn, torch))
    assert theirs is not None and type(ours) is type(theirs), f"{name}: ours {ours!r}, PyTorch's {theirs!r}"
    who = name.split()[0]
    assert any(w in str(ours) for w in NAMES.get(who, who).split("|")), f"{name}: {ours} does not name {who}"


def test_failed_calls_change_nothing(device):
    rm, rv = ag.tensor([0.5, 1.0, 2.0], device=device), ag.tensor([1.0, 2.0, 3.0], device=device)
    x = ag.ones(2, 3, 4, device=device)
    bad_calls = [(lambda: F.instance_norm(x, rm, rv, weight=ag.ones(4, device=device)), RuntimeError),
                 (lambda: F.instance_norm(x, rm, rv, bias=ag.ones(3, dtype=ag.float64, device=device)), RuntimeError),
                 (lambda: F.instance_norm(ag.ones(2, 3, 1, device=device), rm, rv), ValueError),
                 (lambda: F.instance_norm(x, rm, rv, momentum="0.1"), TypeError)]
    for call, exc in bad_calls:
        with pytest.raises(exc, match="instance_norm"):
            call()
        np.testing.assert_array_equal(_np(rm), [0.5, 1.0, 2.0])
        np.testing.assert_array_equal(_np(rv), [1.0, 2.0, 3.0])
        assert rm._version == 0 and rv._version == 0
    for module, bad, exc in ((nn.InstanceNorm1d(3, affine=True, track_running_stats=True), ag.ones(2, 4, 5),
                              ValueError),
                             (nn.InstanceNorm1d(3, track_running_stats=True), ag.ones(2, 4, 5), RuntimeError),
                             (nn.InstanceNorm2d(3, track_running_stats=True), ag.ones(2, 3, 1, 1), ValueError),
                             (nn.BatchNorm3d(3), ag.ones(1, 3, 1, 1, 1), ValueError),
                             (nn.BatchNorm3d(3), ag.ones(2, 3, 2, 2, dtype=ag.float64), ValueError)):
        module.to(device)
        before = {k: _np(v).copy() for k, v in module.state_dict().items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")         # InstanceNorm's channel-mismatch warning precedes the error
            with pytest.raises(exc, match=type(module).__name__):
                module(bad.to(device))
        for k, v in module.state_dict().items():
            np.testing.assert_array_equal(_np(v), before[k], err_msg=f"{type(module).__name__} changed {k}")


def test_operands_on_another_device_are_refused(device):
    if device == "cpu":
        pytest.skip("needs a second device: runs as the cuda case")
    x, w = ag.ones(2, 3, 4, device=device), ag.ones(3)
    for call, who in ((lambda: F.group_norm(x, 3, w), "group_norm"),
                      (lambda: F.instance_norm(x, weight=w), "instance_norm"),
                      (lambda: F.rms_norm(x, (4,), ag.ones(4)), "rms_norm")):
        with pytest.raises(RuntimeError, match=f"{who}.*cpu"):
            call()
    m = nn.InstanceNorm1d(3, track_running_stats=True)
    with pytest.raises(RuntimeError, match="InstanceNorm1d"):
        m(x)
    np.testing.assert_array_equal(_np(m.running_mean), np.zeros(3))


# ---- other divergences kept ------------------------------------------------------------------------------

def test_kept_divergences(torch):
    """rms_norm takes an int normalized_shape, as our layer_norm and the
    RMSNorm module do (PyTorch's functional form raises TypeError); running
    statistics must be floating and InstanceNorm's num_features an int
    (PyTorch accepts integer buffers and, without parameters, any number)."""
    x = _rng(15).normal(size=(2, 4))
    _close(F.rms_norm(ag.tensor(x), 4), torch.nn.functional.rms_norm(torch.tensor(x), (4,)), "float64")
    with pytest.raises(TypeError):
        torch.nn.functional.rms_norm(torch.tensor(x), 4)
    ints = dict(dtype=ag.int64)
    with pytest.raises(RuntimeError, match="instance_norm: running_mean must be floating point"):
        F.instance_norm(ag.ones(2, 3, 4), ag.zeros(3, **ints), ag.ones(3, **ints))
    torch.nn.functional.instance_norm(torch.ones(2, 3, 4), torch.zeros(3, dtype=torch.int64),
                                      torch.ones(3, dtype=torch.int64))
    with pytest.raises(TypeError, match="InstanceNorm1d"):
        nn.InstanceNorm1d(3.0)
    torch.nn.InstanceNorm1d(3.0)


def test_names_are_published():
    from autograd_gpu.nn import functional_norms, normalization
    for name in normalization.__all__:
        assert name in nn.__all__ and getattr(nn, name) is getattr(normalization, name)
    for name in functional_norms.__all__:
        assert getattr(F, name) is getattr(functional_norms, name)
    assert set(functional_norms.__all__) == {"group_norm", "instance_norm", "rms_norm", "local_response_norm"}


def test_group_norm_is_one_node_saving_what_pytorch_saves(torch):
    """float32/float64 group_norm is one node (NativeGroupNorm, its rows the groups): the graph is that
    node and the leaves; it saves the input and the weight, not the bias (writing the bias before
    backward runs, as PyTorch's); under create_graph the first gradients require grad as PyTorch's."""
    y = FN(ag).group_norm(ag.randn(2, 6, 5, requires_grad=True), 3, ag.ones(6, requires_grad=True),
                          ag.zeros(6, requires_grad=True))
    names = graph_node_names(y)
    assert names[0] == "NativeGroupNormBackward0" and len(names) == 4, names
    outcomes = []
    for L in (torch, ag):
        for which in ("input", "weight", "bias"):
            t = {"input": L.randn(2, 6, 5, requires_grad=True) * 1, "weight": L.randn(6, requires_grad=True),
                 "bias": L.randn(6, requires_grad=True)}
            y = FN(L).group_norm(t["input"], 3, t["weight"], t["bias"])
            with L.no_grad():
                t[which].add_(1)
            outcomes.append(backward_outcome(y))
        a = L.randn(2, 6, 5, requires_grad=True)
        w, b = L.ones(6, requires_grad=True), L.zeros(6, requires_grad=True)
        firsts = L.autograd.grad(FN(L).group_norm(a, 3, w, b).sum(), (a, w, b), create_graph=True)
        outcomes.append(tuple(f.requires_grad for f in firsts))
    assert outcomes[:4] == outcomes[4:] and outcomes[:3] == ["version error", "version error", "ran"]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_group_norm_backward_by_groups_matches_pytorch(torch, device, dtype):
    """group_norm's backward on NumPy works per sample and group on (N, G, C / G, S) (einsum's channel
    sums, PyTorch's g rstd w + b x + c): 2-d to 5-d input, one group and one group per channel,
    every subset of gradients wanted, no affine, an expanded upstream gradient, NaN in one group
    (its gradients NaN, the others PyTorch's)."""
    rng = _rng(13)
    cases = [((2, 4, 3), 2, (True, True, True), True), ((2, 6, 2, 3), 3, (True, False, True), True),
             ((3, 4), 2, (True, True, False), True), ((2, 4, 2, 2, 2), 4, (True, False, False), False),
             ((2, 6, 5), 1, (False, True, True), True), ((3, 4, 5), 2, (True, True, True), True)]
    for shape, groups, wants, affine in cases:
        x = rng.normal(2.0, 3.0, shape)
        if shape == (3, 4, 5):
            x[1, 2, 3] = np.nan
        arrays = [x, rng.normal(size=shape[1]), rng.normal(size=shape[1]), rng.normal(size=shape)]
        norm_gradients_match(torch, lambda L, xs, ws, bs: FN(L).group_norm(xs, groups, ws if affine else None,
                                                                          bs if affine else None),
                             arrays, wants, dtype, device, shape)
