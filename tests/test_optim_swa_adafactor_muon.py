"""Adafactor, Muon and optim.swa_utils (AveragedModel, SWALR, update_bn and
the averaging functions) against PyTorch CPU: the same parameters and
gradients given to both optimizers, parameters and every state entry
compared after each step (float64 tight, float32 loose), state dicts loaded
both ways, the bfloat16 Newton–Schulz iteration against PyTorch's, averaged
parameters and buffers over several updates, SWALR lr sequences,
recomputed BatchNorm statistics, and bad arguments (PyTorch's exception
types and messages, nothing changed)."""
import inspect

import numpy as np
import pytest

import autograd_gpu as ag
from autograd_gpu import nn, optim
from autograd_gpu.optim import swa_utils

TOL = {"float32": dict(rtol=2e-5, atol=2e-6), "float64": dict(rtol=1e-12, atol=1e-14)}
# Muon's update is bfloat16 (ulp 2^-8 relative): in float32 one element of the momentum may fall on the
# other side of a bfloat16 rounding boundary than PyTorch's, moving that element by lr * 2^-8
MUON_TOL = {"float32": dict(rtol=1e-5, atol=5e-5), "float64": TOL["float64"]}


def _np(t):
    return t.detach().cpu().numpy()


def _tensors(torch, device, dtype, shapes, seed):
    rng = np.random.default_rng(seed)
    values = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ours = [ag.tensor(v, device=device, requires_grad=True) for v in values]
    theirs = [torch.tensor(v, requires_grad=True) for v in values]
    return ours, theirs, rng


def _give_grads(ours, theirs, rng, dtype, skip=()):
    for i, (p, tp) in enumerate(zip(ours, theirs)):
        if i in skip:
            continue
        g = rng.standard_normal(tuple(p.shape)).astype(dtype)
        p.grad, tp.grad = ag.tensor(g, device=p.device), torch_tensor(tp, g)


def torch_tensor(like, values):
    import torch
    return torch.from_numpy(np.array(values)).to(like.dtype)


def _compare(opt, topt, ours, theirs, tol, what):
    for i, (p, tp) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(_np(p), tp.detach().numpy(), **tol, err_msg=f"{what} param {i}")
        st, tst = opt.state.get(p, {}), topt.state.get(tp, {})
        assert list(st) == list(tst), (what, i)
        for k, tv in tst.items():
            v = st[k]
            assert tuple(v.shape) == tuple(tv.shape), (what, i, k)
            if k == "step":
                assert v.device == ag.device("cpu") and v.dtype == ag.float32 and v.item() == tv.item()
                continue
            assert v.device == p.device and v.dtype == p.dtype, (what, i, k)
            np.testing.assert_allclose(_np(v), tv.numpy(), **tol, err_msg=f"{what} param {i} {k}")


def _train(torch, device, dtype, name, shapes, kwargs, steps=4, groups=None, tol=None, skip=()):
    """Both optimizers on the same parameters; `groups`: [(indices, options)]."""
    ours, theirs, rng = _tensors(torch, device, dtype, shapes, seed=len(shapes))
    if groups is None:
        params, tparams = ours, theirs
    else:
        params = [dict(opts, params=[ours[i] for i in idx]) for idx, opts in groups]
        tparams = [dict(opts, params=[theirs[i] for i in idx]) for idx, opts in groups]
    extra = {"foreach": False} if name == "Adafactor" else {}
    opt, topt = getattr(optim, name)(params, **kwargs), getattr(torch.optim, name)(tparams, **kwargs, **extra)
    for step in range(steps):
        _give_grads(ours, theirs, rng, dtype, skip)
        opt.step()
        topt.step()
        _compare(opt, topt, ours, theirs, tol or TOL[dtype], f"{name}({kwargs}) step {step + 1}")
    return opt, topt, ours, theirs, rng


# ---- Adafactor -----------------------------------------------------------------------------------------

AF_SHAPES = [(3, 4), (5,), (2, 3, 4), (), (4, 1), (1, 6)]
AF_CONFIGS = {
    "default": dict(),
    "lr_wd": dict(lr=0.05, weight_decay=0.1),
    "eps_d": dict(eps=(1e-4, 1e-2), d=1.5, beta2_decay=-0.5),
    "clip": dict(lr=0.5, d=1.0, eps=(None, 0.5)),         # rms(update) > d: the clipped branch
    "maximize": dict(lr=0.02, maximize=True, beta2_decay=0.0),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("config", list(AF_CONFIGS))
def test_adafactor_matches_pytorch_every_step(torch, device, dtype, config):
    _train(torch, device, dtype, "Adafactor", AF_SHAPES, AF_CONFIGS[config], steps=5)


def test_adafactor_groups_and_params_without_grad(torch, device):
    groups = [([0, 1], dict(lr=0.05)), ([2, 3], dict(weight_decay=0.2, maximize=True)),
              ([4, 5], dict(eps=(1e-3, 1e-4), beta2_decay=-0.3))]
    opt, topt, ours, _, _ = _train(torch, device, "float64", "Adafactor", AF_SHAPES, {}, groups=groups, skip=(1, 4))
    assert ours[1] not in opt.state and ours[1]._version == 0
    for g, tg in zip(opt.param_groups, topt.param_groups):
        assert {k: v for k, v in g.items() if k not in ("params", "foreach")} == \
            {k: v for k, v in tg.items() if k not in ("params", "foreach")}


def test_adafactor_eps1_is_the_first_parameters_machine_epsilon(torch):
    """eps1=None: PyTorch takes finfo(dtype).eps of the group's first parameter with a gradient and keeps
    it for the rest of the group (here float32's for a float64 parameter with tiny gradients)."""
    rng = np.random.default_rng(1)
    vals = [rng.standard_normal((3, 3)).astype("float32"), rng.standard_normal((3, 3))]
    ours = [ag.tensor(v, requires_grad=True) for v in vals]
    theirs = [torch.tensor(v, requires_grad=True) for v in vals]
    opt, topt = optim.Adafactor(ours), torch.optim.Adafactor(theirs, foreach=False)
    for _ in range(3):
        for p, tp, v in zip(ours, theirs, vals):
            g = 1e-6 * rng.standard_normal((3, 3)).astype(v.dtype)
            p.grad, tp.grad = ag.tensor(g), torch.from_numpy(g)
        opt.step()
        topt.step()
    _compare(opt, topt, ours, theirs, TOL["float32"], "mixed dtypes")
    np.testing.assert_allclose(_np(ours[1]), theirs[1].detach().numpy(), rtol=1e-12)


def test_adafactor_float16_updates_in_float32_math(device):
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal((6, 8)).astype(np.float16)
    p = ag.tensor(p0, device=device, requires_grad=True)
    p32 = ag.tensor(p0.astype(np.float32), device=device, requires_grad=True)
    opt, opt32 = optim.Adafactor([p], lr=0.05, eps=(1e-3, 1e-3)), optim.Adafactor([p32], lr=0.05, eps=(1e-3, 1e-3))
    for _ in range(3):
        g = rng.standard_normal((6, 8)).astype(np.float16)
        p.grad, p32.grad = ag.tensor(g, device=device), ag.tensor(g.astype(np.float32), device=device)
        opt.step()
        opt32.step()
    assert p.dtype == ag.float16 and opt.state[p]["row_var"].dtype == ag.float16
    np.testing.assert_allclose(_np(p).astype(np.float32), _np(p32), rtol=3e-3, atol=3e-3)


def test_adafactor_nonfinite_gradients_follow_pytorch(torch, device):
    for shape, g in (((4,), [np.inf, 1.0, 0.0, -1.0]), ((2, 2), [[np.nan, 1.0], [0.5, -1.0]])):
        p = ag.ones(shape, dtype=ag.float64, device=device, requires_grad=True)
        tp = torch.ones(shape, dtype=torch.float64, requires_grad=True)
        opt, topt = optim.Adafactor([p]), torch.optim.Adafactor([tp], foreach=False)
        for _ in range(2):
            p.grad, tp.grad = ag.tensor(g, dtype=ag.float64, device=device), torch.tensor(g, dtype=torch.float64)
            opt.step()
            topt.step()
        np.testing.assert_allclose(_np(p), tp.detach().numpy(), rtol=1e-14, equal_nan=True)


def test_adafactor_empty_parameter_raises_as_pytorch(torch, device):
    """PyTorch divides by sqrt(numel()) in Python: an empty parameter raises ZeroDivisionError."""
    p = ag.zeros(0, 3, device=device, requires_grad=True)
    p.grad = ag.zeros(0, 3, device=device)
    tp = torch.zeros(0, 3, requires_grad=True)
    tp.grad = torch.zeros(0, 3)
    for o in (optim.Adafactor([p]), torch.optim.Adafactor([tp], foreach=False)):
        with pytest.raises(ZeroDivisionError):
            o.step()


# ---- Muon -----------------------------------------------------------------------------------------------

MUON_SHAPES = [(3, 4), (8, 3), (16, 16), (1, 5)]
MUON_CONFIGS = {
    "default": dict(),
    "plain_momentum": dict(lr=0.02, nesterov=False, momentum=0.8),
    "match_rms_adamw": dict(lr=0.01, adjust_lr_fn="match_rms_adamw", weight_decay=0.01),
    "ns": dict(lr=0.01, ns_steps=3, ns_coefficients=(2.0, -1.5, 0.5), eps=1e-3, adjust_lr_fn="original"),
    "no_momentum": dict(lr=0.01, momentum=0.0, weight_decay=0.0),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("config", list(MUON_CONFIGS))
def test_muon_matches_pytorch_every_step(torch, device, dtype, config):
    _train(torch, device, dtype, "Muon", MUON_SHAPES, MUON_CONFIGS[config], steps=5, tol=MUON_TOL[dtype])


@pytest.mark.parametrize("shape", [(4, 6), (7, 3), (16, 16), (32, 8), (1, 1), (2, 40)])
def test_newton_schulz_matches_pytorchs_bfloat16_iteration(torch, device, shape):
    from torch.optim._muon import _zeropower_via_newtonschulz
    from autograd_gpu.optim.muon import zeropower_via_newtonschulz
    rng = np.random.default_rng(sum(shape))
    for dtype in ("float32", "float64"):
        g = rng.standard_normal(shape).astype(dtype) * 3
        ours = zeropower_via_newtonschulz(ag.tensor(g, device=device)._data, (3.4445, -4.775, 2.0315), 5, 1e-7)
        theirs = _zeropower_via_newtonschulz(torch.from_numpy(g), (3.4445, -4.775, 2.0315), 5, 1e-7).float()
        ours = _host(ours)
        # every value a bfloat16 one; all but a rare one (a float32 sum on a rounding boundary) identical
        assert not (ours.view(np.uint32) & 0xFFFF).any()
        assert np.mean(ours == theirs.numpy()) >= 0.98
        np.testing.assert_allclose(ours, theirs.numpy(), atol=2e-2)
    zero = ag.zeros(3, 4, device=device)._data                       # eps guards the division
    assert not _host(zeropower_via_newtonschulz(zero, (3.4445, -4.775, 2.0315), 5, 1e-7)).any()


def _host(array):
    return array.get() if hasattr(array, "get") else array


def test_muon_groups_and_params_without_grad(torch, device):
    groups = [([0, 1], dict(lr=0.05, nesterov=False)), ([2, 3], dict(momentum=0.5, adjust_lr_fn="match_rms_adamw"))]
    opt, topt, ours, _, _ = _train(torch, device, "float64", "Muon", MUON_SHAPES, {}, groups=groups, skip=(2,))
    assert ours[2] not in opt.state and ours[2]._version == 0
    assert [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups] == \
        [{k: v for k, v in g.items() if k != "params"} for g in topt.param_groups]


def test_muon_float16_updates_in_float32_math(device):
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal((6, 8)).astype(np.float16)
    p = ag.tensor(p0, device=device, requires_grad=True)
    p32 = ag.tensor(p0.astype(np.float32), device=device, requires_grad=True)
    opt, opt32 = optim.Muon([p], lr=0.05), optim.Muon([p32], lr=0.05)
    for _ in range(3):
        g = rng.standard_normal((6, 8)).astype(np.float16)
        p.grad, p32.grad = ag.tensor(g, device=device), ag.tensor(g.astype(np.float32), device=device)
        opt.step()
        opt32.step()
    assert p.dtype == ag.float16 and opt.state[p]["momentum_buffer"].dtype == ag.float16
    np.testing.assert_allclose(_np(p).astype(np.float32), _np(p32), rtol=3e-3, atol=3e-3)


# ---- state dicts, both ways ----------------------------------------------------------------------------

def _to_ag(sd):
    conv = (lambda v: ag.tensor(v.detach().numpy().copy()) if hasattr(v, "numpy") and not isinstance(v, ag.Tensor)
            else v)
    return {"state": {i: {k: conv(v) for k, v in s.items()} for i, s in sd["state"].items()},
            "param_groups": [dict(g) for g in sd["param_groups"]]}


def _to_torch(torch, sd):
    conv = lambda v: torch.from_numpy(_np(v).copy()) if isinstance(v, ag.Tensor) else v  # noqa: E731
    return {"state": {i: {k: conv(v) for k, v in s.items()} for i, s in sd["state"].items()},
            "param_groups": [dict(g) for g in sd["param_groups"]]}


@pytest.mark.parametrize("name,shapes,kwargs", [("Adafactor", AF_SHAPES, dict(lr=0.05, weight_decay=0.1)),
                                                ("Muon", MUON_SHAPES, dict(lr=0.02, nesterov=False))])
def test_state_dicts_load_both_ways_with_pytorch(torch, device, name, shapes, kwargs):
    opt, topt, ours, theirs, rng = _train(torch, device, "float64", name, shapes, kwargs, steps=3)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sorted(sd["state"]) == sorted(tsd["state"])
    for i, s in sd["state"].items():
        assert list(s) == list(tsd["state"][i])
        assert all(tuple(v.shape) == tuple(tsd["state"][i][k].shape) for k, v in s.items())
    assert [{k: v for k, v in g.items() if k != "foreach"} for g in sd["param_groups"]] == \
        [{k: v for k, v in g.items() if k != "foreach"} for g in tsd["param_groups"]]
    extra = {"foreach": False} if name == "Adafactor" else {}
    ours2 = getattr(optim, name)(ours, lr=123.0)
    ours2.load_state_dict(_to_ag(tsd))
    theirs2 = getattr(torch.optim, name)(theirs, lr=123.0, **extra)
    theirs2.load_state_dict(_to_torch(torch, sd))
    assert ours2.param_groups[0]["lr"] == theirs2.param_groups[0]["lr"] == kwargs["lr"]
    for step in range(3):
        _give_grads(ours, theirs, rng, "float64")
        ours2.step()
        theirs2.step()
        _compare(ours2, theirs2, ours, theirs, TOL["float64"], f"after loading, step {step + 1}")


def test_adafactor_load_state_dict_checks_factored_shapes():
    p = ag.ones(3, 4, requires_grad=True)
    opt = optim.Adafactor([p])
    bad = {"state": {0: {"step": 1.0, "row_var": ag.zeros(3, 4), "col_var": ag.zeros(1, 4)}},
           "param_groups": [dict(opt.defaults, params=[0])]}
    with pytest.raises(ValueError, match="row_var"):
        opt.load_state_dict(bad)
    assert not opt.state


# ---- signatures and bad arguments ---------------------------------------------------------------------

def test_exported_with_pytorch_signatures_and_defaults(torch):
    for name in ("Adafactor", "Muon"):
        assert name in optim.__all__ and getattr(optim, name).__module__.startswith("autograd_gpu.optim")
        ours = inspect.signature(getattr(optim, name)).parameters
        theirs = inspect.signature(getattr(torch.optim, name)).parameters
        assert [(k, p.kind) for k, p in ours.items()] == [(k, p.kind) for k, p in theirs.items()], name
        assert all(p.default == theirs[k].default for k, p in ours.items() if k != "params"), name
        o = getattr(optim, name)([ag.ones(2, 2, requires_grad=True)])
        t = getattr(torch.optim, name)([torch.ones(2, 2, requires_grad=True)])
        assert o.defaults == t.defaults and sorted(o.param_groups[0]) == sorted(t.param_groups[0]), name
    assert sorted(swa_utils.__all__) == sorted(torch.optim.swa_utils.__all__)
    for name in swa_utils.__all__:
        ours = inspect.signature(getattr(swa_utils, name)).parameters
        theirs = inspect.signature(getattr(torch.optim.swa_utils, name)).parameters
        assert [(k, p.kind, p.default) for k, p in ours.items()] == \
            [(k, p.kind, p.default) for k, p in theirs.items()], name


BAD = [
    ("Adafactor", dict(lr=-0.1), ValueError, "Learning rate should be >= 0 but is: -0.1"),
    ("Adafactor", dict(beta2_decay=0.5), ValueError, "beta2_decay should be <= 0 but is: 0.5"),
    ("Adafactor", dict(eps=(-1.0, 1e-3)), ValueError, "epsilon1 should be >= 0 but is: -1.0"),
    ("Adafactor", dict(eps=(None, -1.0)), ValueError, "epsilon2 should be >= 0 but is: -1.0"),
    ("Adafactor", dict(d=0.5), ValueError, "Clipping threshold d should be >= 1 but is: 0.5"),
    ("Adafactor", dict(weight_decay=-0.1), ValueError, "weight_decay should be >= 0 but is: -0.1"),
    ("Adafactor", dict(lr=float("nan")), ValueError, "Learning rate should be >= 0 but is: nan"),
    ("Muon", dict(lr=-0.1), ValueError, "Learning rate should be >= 0 but is: -0.1"),
    ("Muon", dict(momentum=-0.5), ValueError, "momentum should be >= 0 but is: -0.5"),
    ("Muon", dict(weight_decay=-0.1), ValueError, "weight decay should be >= 0 but is: -0.1"),
    ("Muon", dict(adjust_lr_fn="sqrt"), ValueError, "Adjust learning rate function sqrt is not supported"),
]


@pytest.mark.parametrize("name,kwargs,exc,msg", BAD, ids=[f"{b[0]}-{next(iter(b[1]))}-{i}" for i, b in enumerate(BAD)])
def test_bad_hyperparameters_match_pytorch(torch, name, kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        getattr(optim, name)([ag.ones(2, 2, requires_grad=True)], **kwargs)
    with pytest.raises(exc, match=msg):
        getattr(torch.optim, name)([torch.ones(2, 2, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("shape", [(3,), (2, 2, 2), ()])
def test_muon_refuses_parameters_other_than_2d(torch, shape):
    msg = "Muon only supports 2D parameters whereas we found a parameter with size"
    with pytest.raises(ValueError, match=msg):
        optim.Muon([ag.ones(2, 2, requires_grad=True), ag.ones(shape, requires_grad=True)])
    with pytest.raises(ValueError, match=msg):
        torch.optim.Muon([torch.ones(2, 2, requires_grad=True), torch.ones(shape, requires_grad=True)])
    p = ag.ones(2, 2, requires_grad=True)
    opt = optim.Muon([p])
    with pytest.raises(ValueError, match=msg):          # (PyTorch checks only the constructor's groups)
        opt.add_param_group({"params": [ag.ones(shape, requires_grad=True)]})
    assert len(opt.param_groups) == 1


@pytest.mark.parametrize("kwargs,msg", [(dict(ns_steps=100), "Number of steps must be less than 100"),
                                        (dict(ns_coefficients=(1.0, 2.0)), "exactly 3 values")])
def test_muon_newton_schulz_arguments_are_checked_when_the_group_is_made(torch, kwargs, msg):
    """PyTorch raises the same errors at the first step, after the momentum buffer has moved; we raise
    in the constructor (and in add_param_group), before anything changes."""
    with pytest.raises(ValueError, match=msg):
        optim.Muon([ag.ones(2, 2, requires_grad=True)], **kwargs)
    tp = torch.ones(2, 2, requires_grad=True)
    topt = torch.optim.Muon([tp], **kwargs)
    tp.grad = torch.ones(2, 2)
    with pytest.raises(ValueError, match=msg):
        topt.step()
    opt = optim.Muon([ag.ones(2, 2, requires_grad=True)])
    with pytest.raises(ValueError, match=msg):
        opt.add_param_group(dict(kwargs, params=[ag.ones(2, 2, requires_grad=True)]))
    assert len(opt.param_groups) == 1


@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_bad_groups_change_nothing(torch, name):
    cls = getattr(optim, name)
    for mod, make in ((optim, lambda: ag.ones(2, 2, requires_grad=True)),
                      (torch.optim, lambda: torch.ones(2, 2, requires_grad=True))):
        with pytest.raises(ValueError, match="empty parameter list"):
            getattr(mod, name)([])
        with pytest.raises(TypeError):
            getattr(mod, name)(make())
        with pytest.raises(ValueError):
            getattr(mod, name)([make() * 2])
    p, q = ag.ones(2, 2, requires_grad=True), ag.ones(2, 2, requires_grad=True)
    opt = cls([p], lr=0.1)
    with pytest.raises(ValueError, match="should be >= 0"):
        opt.add_param_group({"params": [q], "lr": -1.0})
    assert len(opt.param_groups) == 1 and q not in opt.state
    if name == "Adafactor":
        with pytest.raises(TypeError, match="maximize must be a bool"):
            cls([q], maximize="yes")
        with pytest.raises(TypeError, match="eps must be a pair"):
            cls([q], eps=1e-3)


# ---- swa_utils: AveragedModel ---------------------------------------------------------------------------

def _model_pair(torch, device, dtype="float64"):
    def build(L):
        return L.nn.Sequential(L.nn.Linear(3, 4), L.nn.BatchNorm1d(4), L.nn.ReLU(), L.nn.Linear(4, 2))
    model = build(ag).to(device=device, dtype=getattr(ag, dtype))
    ref = build(torch).to(getattr(torch, dtype))
    ref.load_state_dict({k: torch.from_numpy(_np(v).copy()) for k, v in model.state_dict().items()})
    return model, ref


def _train_step(torch, model, ref, rng, device):
    x = rng.standard_normal((6, 3)).astype(_np(next(model.parameters())).dtype)
    model(ag.tensor(x, device=device)).pow(2).sum().backward()
    ref(torch.from_numpy(x)).pow(2).sum().backward()
    with ag.no_grad():
        for p in model.parameters():
            p.sub_(0.05 * p.grad)
            p.grad = None
    with torch.no_grad():
        for p in ref.parameters():
            p.sub_(0.05 * p.grad)
            p.grad = None


def _compare_state(sd, tsd, tol, what):
    assert list(sd) == list(tsd), what
    for k, tv in tsd.items():
        v = sd[k]
        assert str(v.dtype).split(".")[-1] == str(tv.dtype).split(".")[-1], (what, k)
        np.testing.assert_allclose(_np(v), tv.numpy(), **tol, err_msg=f"{what} {k}")


def _cuda_default(torch):
    """PyTorch's CUDA default (its foreach path): get_swa_multi_avg_fn, a float32-weighted lerp, which
    refuses integer buffers (addcdiv); ours averages those by the CPU's division."""
    TS = torch.optim.swa_utils

    def average(averaged, current, n):
        if averaged[0].is_floating_point():
            return TS.get_swa_multi_avg_fn()(averaged, current, n)
        for a, c in zip(averaged, current):
            a.copy_(TS.get_swa_avg_fn()(a, c, n))
    return average


def _averaging(torch, device, kind):
    """(our kwargs, torch's kwargs) for one way of averaging."""
    S, TS = swa_utils, torch.optim.swa_utils
    if kind == "default":
        return {}, ({"multi_avg_fn": _cuda_default(torch)} if device != "cpu" else {})
    if kind == "ema":
        return {"avg_fn": S.get_ema_avg_fn(0.9)}, {"avg_fn": TS.get_ema_avg_fn(0.9)}
    if kind == "ema_multi":
        return {"multi_avg_fn": S.get_ema_multi_avg_fn(0.8)}, {"multi_avg_fn": TS.get_ema_multi_avg_fn(0.8)}
    if kind == "swa_multi":
        return {"multi_avg_fn": S.get_swa_multi_avg_fn()}, {"multi_avg_fn": TS.get_swa_multi_avg_fn()}
    return {"avg_fn": S.get_swa_avg_fn()}, {"avg_fn": TS.get_swa_avg_fn()}


# (swa_multi with use_buffers: PyTorch's addcdiv refuses the integer num_batches_tracked; tested below)
AVERAGING = [(k, b) for k in ("default", "ema", "ema_multi", "swa_multi", "swa") for b in (False, True)
             if (k, b) != ("swa_multi", True)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind,use_buffers", AVERAGING, ids=[f"{k}-buffers{int(b)}" for k, b in AVERAGING])
def test_averaged_model_matches_pytorch(torch, device, dtype, kind, use_buffers):
    model, ref = _model_pair(torch, device, dtype)
    kw, tkw = _averaging(torch, device, kind)
    avg = swa_utils.AveragedModel(model, use_buffers=use_buffers, **kw)
    tavg = torch.optim.swa_utils.AveragedModel(ref, use_buffers=use_buffers, **tkw)
    assert avg.module is not model and avg.n_averaged.dtype == ag.int64 and avg.n_averaged.item() == 0
    rng = np.random.default_rng(0)
    tol = TOL[dtype] if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)
    for update in range(5):
        _train_step(torch, model, ref, rng, device)
        avg.update_parameters(model)
        tavg.update_parameters(ref)
        _compare_state(avg.state_dict(), tavg.state_dict(), tol, f"{kind} update {update + 1}")
        assert all(p.device == model[0].weight.device for p in avg.parameters())
    x = rng.standard_normal((5, 3)).astype(dtype)
    for mode in ("train", "eval"):
        getattr(avg, mode)()
        getattr(tavg, mode)()
        np.testing.assert_allclose(_np(avg(ag.tensor(x, device=device))), tavg(torch.from_numpy(x)).detach().numpy(),
                                   **tol)


def test_averaged_model_default_average_on_the_cpu_is_a_division_and_cuda_a_float32_lerp(torch):
    """PyTorch's default: a + (c - a) / (n + 1) on the CPU; on CUDA (foreach) lerp(a, c, 1 / (n + 1))
    with the weight a float32 tensor; ours the same by device."""
    a, c = 1.0, 2.0
    TS = torch.optim.swa_utils
    division = TS.get_swa_avg_fn()(torch.tensor([a], dtype=torch.float64), torch.tensor([c], dtype=torch.float64),
                                   torch.tensor(2)).item()
    lerped = [torch.tensor([a], dtype=torch.float64)]
    TS.get_swa_multi_avg_fn()(lerped, [torch.tensor([c], dtype=torch.float64)], torch.tensor(2))
    assert division == 4 / 3 and lerped[0].item() == 1 + float(np.float32(1) / np.float32(3)) != division
    ours = [ag.tensor([a], dtype=ag.float64)]
    swa_utils.get_swa_multi_avg_fn()(ours, [ag.tensor([c], dtype=ag.float64)], ag.tensor(2))
    assert ours[0].item() == lerped[0].item()
    ours = [ag.tensor([a], dtype=ag.float64)]
    swa_utils.get_swa_multi_avg_fn()(ours, [ag.tensor([c], dtype=ag.float64)], 2)     # an int n: Python's 1/3
    assert ours[0].item() == 1 + 1 / 3
    assert swa_utils.get_swa_avg_fn()(ag.tensor([a], dtype=ag.float64), ag.tensor([c], dtype=ag.float64),
                                      ag.tensor(2)).item() == division


def test_averaging_functions_match_pytorch(torch, device):
    S, TS = swa_utils, torch.optim.swa_utils
    rng = np.random.default_rng(3)
    a, c = rng.standard_normal((2, 5)), rng.standard_normal((2, 5))
    A, C = (ag.tensor(v, device=device) for v in (a, c))
    TA, TC = torch.from_numpy(a), torch.from_numpy(c)
    for n in (0, 3, ag.tensor(4, device=device)):
        tn = torch.tensor(n.item()) if isinstance(n, ag.Tensor) else n
        for ours, theirs in ((S.get_ema_avg_fn(0.7), TS.get_ema_avg_fn(0.7)),
                             (S.get_swa_avg_fn(), TS.get_swa_avg_fn())):
            np.testing.assert_allclose(_np(ours(A, C, n)), theirs(TA, TC, tn).numpy(), rtol=1e-15, atol=1e-16)
        for ours, theirs in ((S.get_ema_multi_avg_fn(0.6), TS.get_ema_multi_avg_fn(0.6)),
                             (S.get_swa_multi_avg_fn(), TS.get_swa_multi_avg_fn())):
            mine, ref = [A.clone(), C.clone()], [TA.clone(), TC.clone()]
            ours(mine, [C, A], n)
            theirs(ref, [TC, TA], tn)
            for x, y in zip(mine, ref):
                np.testing.assert_allclose(_np(x), y.numpy(), rtol=1e-15, atol=1e-16)
    ints = [ag.tensor([4, 7], device=device)]           # integers: the ema's formula, truncated
    S.get_ema_multi_avg_fn(0.9)(ints, [ag.tensor([10, 1], device=device)], 0)
    tints = [torch.tensor([4, 7])]
    TS.get_ema_multi_avg_fn(0.9)(tints, [torch.tensor([10, 1])], 0)
    assert ints[0].tolist() == tints[0].tolist() == [4, 6]
    with pytest.raises(RuntimeError):                   # PyTorch: addcdiv refuses integer division
        TS.get_swa_multi_avg_fn()([torch.tensor([4, 7])], [torch.tensor([10, 1])], torch.tensor(2))
    with pytest.raises(RuntimeError):
        S.get_swa_multi_avg_fn()([ag.tensor([4, 7], device=device)], [ag.tensor([10, 1], device=device)],
                                 ag.tensor(2, device=device))


@pytest.mark.parametrize("decay", [-0.1, 1.5])
def test_bad_decay_matches_pytorch(torch, decay):
    for fn in ("get_ema_avg_fn", "get_ema_multi_avg_fn"):
        for mod in (swa_utils, torch.optim.swa_utils):
            with pytest.raises(ValueError, match=f"Invalid decay value {decay} provided"):
                getattr(mod, fn)(decay)


def test_averaged_model_state_dict_loads_both_ways_and_moves_to_device(torch, device):
    model, ref = _model_pair(torch, "cpu")
    avg = swa_utils.AveragedModel(model, device=device)
    tavg = torch.optim.swa_utils.AveragedModel(ref)
    assert avg.n_averaged.device == avg.module[0].weight.device == ag.device(device)
    assert model[0].weight.device == ag.device("cpu")
    rng = np.random.default_rng(1)
    for _ in range(3):
        _train_step(torch, model, ref, rng, "cpu")
        tavg.update_parameters(ref)
    avg.load_state_dict({k: ag.tensor(v.numpy().copy(), device=device) for k, v in tavg.state_dict().items()})
    assert avg.n_averaged.item() == 3
    _train_step(torch, model, ref, rng, "cpu")
    avg.update_parameters(model)                        # the cpu model into the averaged copy on `device`
    tavg.update_parameters(ref)
    _compare_state(avg.state_dict(), tavg.state_dict(), TOL["float64"], "loaded")
    tavg2 = torch.optim.swa_utils.AveragedModel(ref)
    tavg2.load_state_dict({k: torch.from_numpy(_np(v).copy()) for k, v in avg.state_dict().items()})
    assert tavg2.n_averaged.item() == 4
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        swa_utils.AveragedModel(model, avg_fn=swa_utils.get_swa_avg_fn(),
                                multi_avg_fn=swa_utils.get_swa_multi_avg_fn())


# ---- SWALR ------------------------------------------------------------------------------------------------

def _sgd_pair(torch, lrs=(0.5, 0.1)):
    opt = optim.SGD([{"params": [ag.ones(2, requires_grad=True)], "lr": lr} for lr in lrs], lr=1.0)
    topt = torch.optim.SGD([{"params": [torch.ones(2, requires_grad=True)], "lr": lr} for lr in lrs], lr=1.0)
    return opt, topt


SWALR_CASES = {
    "cos": dict(swa_lr=0.05, anneal_epochs=4),
    "linear": dict(swa_lr=0.05, anneal_epochs=3, anneal_strategy="linear"),
    "per_group": dict(swa_lr=[0.2, 0.01], anneal_epochs=5),
    "no_anneal": dict(swa_lr=0.03, anneal_epochs=0),
    "one_epoch": dict(swa_lr=0.03, anneal_epochs=1, anneal_strategy="linear"),
}


@pytest.mark.parametrize("case", list(SWALR_CASES))
def test_swalr_matches_pytorch(torch, case):
    opt, topt = _sgd_pair(torch)
    sched = swa_utils.SWALR(opt, **SWALR_CASES[case])
    tsched = torch.optim.swa_utils.SWALR(topt, **SWALR_CASES[case])
    assert [g["swa_lr"] for g in opt.param_groups] == [g["swa_lr"] for g in topt.param_groups]
    assert sched.get_last_lr() == tsched.get_last_lr()
    for epoch in range(9):
        for o in (opt, topt, sched, tsched):
            o.step()
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-15, abs=1e-17), (case, epoch)
        assert [g["lr"] for g in opt.param_groups] == sched.get_last_lr()
    sd, tsd = sched.state_dict(), tsched.state_dict()
    assert sorted(sd) == sorted(tsd) and "anneal_func" not in sd
    assert {k: sd[k] for k in ("_anneal_strategy", "anneal_epochs", "last_epoch", "_step_count")} == \
        {k: tsd[k] for k in ("_anneal_strategy", "anneal_epochs", "last_epoch", "_step_count")}
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()


def test_swalr_state_dict_resumes(torch):
    opt, topt = _sgd_pair(torch)
    sched = swa_utils.SWALR(opt, swa_lr=0.05, anneal_epochs=6, anneal_strategy="linear")
    tsched = torch.optim.swa_utils.SWALR(topt, swa_lr=0.05, anneal_epochs=6, anneal_strategy="linear")
    for _ in range(2):
        for o in (opt, topt, sched, tsched):
            o.step()
    opt2, _ = _sgd_pair(torch)
    again = swa_utils.SWALR(opt2, swa_lr=0.05, anneal_epochs=6)          # cos, replaced by the loaded linear
    again.load_state_dict(tsched.state_dict())
    for g, tg in zip(opt2.param_groups, topt.param_groups):
        g["lr"] = tg["lr"]
    for _ in range(6):
        for o in (opt2, topt, again, tsched):
            o.step()
        assert again.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-15)


def test_swalr_bad_arguments_change_nothing(torch):
    cases = [(dict(swa_lr=0.1, anneal_strategy="exp"), "anneal_strategy must be one of 'cos' or 'linear'"),
             (dict(swa_lr=0.1, anneal_epochs=-1), "anneal_epochs must be equal or greater than 0, got -1"),
             (dict(swa_lr=0.1, anneal_epochs=2.5), "anneal_epochs must be equal or greater than 0, got 2.5"),
             (dict(swa_lr=[0.1, 0.2, 0.3]), "swa_lr must have the same length as optimizer.param_groups")]
    for kwargs, msg in cases:
        opt, topt = _sgd_pair(torch)
        with pytest.raises(ValueError, match=msg):
            swa_utils.SWALR(opt, **kwargs)
        with pytest.raises(ValueError, match=msg):
            torch.optim.swa_utils.SWALR(topt, **kwargs)
        # (PyTorch sets swa_lr before it checks the strategy and epochs; we check first)
        assert all("swa_lr" not in g and "initial_lr" not in g for g in opt.param_groups)
    with pytest.raises(TypeError, match="SWALR"):
        swa_utils.SWALR(object(), swa_lr=0.1)


# ---- update_bn ----------------------------------------------------------------------------------------------

def _bn_pair(torch, device):
    def build(L):
        # (an InstanceNorm with running stats is no BatchNorm to update_bn: only training mode moves them)
        return L.nn.Sequential(L.nn.Conv2d(2, 3, 3), L.nn.BatchNorm2d(3, momentum=0.3), L.nn.ReLU(),
                               L.nn.InstanceNorm2d(3, track_running_stats=True), L.nn.Flatten(),
                               L.nn.Linear(12, 4), L.nn.BatchNorm1d(4))
    model, ref = build(ag).to(device=device, dtype=ag.float64), build(torch).double()
    ref.load_state_dict({k: torch.from_numpy(_np(v).copy()) for k, v in model.state_dict().items()})
    return model, ref


@pytest.mark.parametrize("batches", ["tensors", "pairs"])
def test_update_bn_matches_pytorch(torch, device, batches):
    model, ref = _bn_pair(torch, device)
    rng = np.random.default_rng(2)
    data = [rng.standard_normal((5, 2, 4, 4)) for _ in range(3)]
    with ag.no_grad():                      # stale statistics, to be replaced
        model[1].running_mean.fill_(3.0)
        model[6].running_var.fill_(7.0)
        model[3].running_mean.fill_(-2.0)
    ref.load_state_dict({k: torch.from_numpy(_np(v).copy()) for k, v in model.state_dict().items()})
    model.eval()
    ref.eval()
    if batches == "tensors":
        loader, tloader = [ag.tensor(x) for x in data], [torch.from_numpy(x) for x in data]
    else:
        loader = [(ag.tensor(x), ag.zeros(5)) for x in data]
        tloader = [[torch.from_numpy(x), torch.zeros(5)] for x in data]
    swa_utils.update_bn(loader, model, device=device)
    torch.optim.swa_utils.update_bn(tloader, ref)
    _compare_state(model.state_dict(), ref.state_dict(), TOL["float64"], "update_bn")
    assert not model.training and not any(m.training for m in model.modules())
    assert (model[1].momentum, model[6].momentum) == (0.3, 0.1)
    assert model[6].num_batches_tracked.item() == 3 and ref[3].num_batches_tracked.item() == 0


def test_update_bn_without_batch_norm_and_after_a_failing_loader(torch):
    plain = nn.Sequential(nn.Linear(2, 2))
    swa_utils.update_bn([ag.ones(1, 2)], plain)
    torch.optim.swa_utils.update_bn([torch.ones(1, 2)], torch.nn.Sequential(torch.nn.Linear(2, 2)))
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3, momentum=0.2))
    model.eval()

    def loader():
        yield ag.ones(4, 2)
        raise RuntimeError("loader failed")
    with pytest.raises(RuntimeError, match="loader failed"):
        swa_utils.update_bn(loader(), model)
    # (PyTorch leaves momentum None and the model in training mode; we restore both)
    assert model[1].momentum == 0.2 and not model.training and not model[1].training
