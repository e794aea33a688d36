"""AdamW, RMSprop, Adagrad, the lr schedulers and gradient clipping against
PyTorch CPU: the same MLP and data trained by both libraries, parameters AND
optimizer state compared after every step; lr sequences over 40 steps;
clipped gradients and returned norms; bad arguments (PyTorch's exception
types, nothing changed). On a CUDA device the ag side runs the fused kernels."""
import math
import warnings

import numpy as np
import pytest

import autograd_gpu as ag
from autograd_gpu import nn, optim
from autograd_gpu.optim import lr_scheduler
from test_optim_oracle import _data, _mlp, _torch_copy, pair

CONFIGS = {
    "AdamW": {"default": dict(), "lr": dict(lr=0.01), "wd": dict(lr=0.01, weight_decay=0.1),
              "no_wd": dict(lr=0.01, weight_decay=0.0), "amsgrad": dict(lr=0.01, amsgrad=True, weight_decay=0.05),
              "low_beta1": dict(lr=0.01, betas=(0.3, 0.9), eps=1e-6), "maximize": dict(lr=0.01, maximize=True)},
    "RMSprop": {"default": dict(), "centered": dict(lr=0.005, centered=True),
                "momentum": dict(lr=0.005, momentum=0.9), "both": dict(lr=0.002, momentum=0.5, centered=True),
                "wd": dict(lr=0.005, weight_decay=0.1, alpha=0.9),
                "low_alpha": dict(lr=0.002, alpha=0.3, centered=True, eps=1e-6),   # lerp's other branch
                "maximize": dict(lr=0.002, maximize=True, momentum=0.3)},
    "Adagrad": {"default": dict(), "lr": dict(lr=0.1), "lr_decay": dict(lr=0.1, lr_decay=0.05),
                "wd": dict(lr=0.05, weight_decay=0.1), "init_acc": dict(lr=0.1, initial_accumulator_value=0.5),
                "eps": dict(lr=0.1, eps=1e-3), "maximize": dict(lr=0.05, maximize=True)},
}
CASES = [(o, c) for o in CONFIGS for c in CONFIGS[o]]
TOL = {"float32": dict(rtol=5e-5, atol=5e-6), "float64": dict(rtol=1e-11, atol=1e-13)}


def _compare_state(opt, topt, model, ref, tol, what):
    for (name, p), tp in zip(model.named_parameters(), ref.parameters()):
        np.testing.assert_allclose(p.detach().cpu().numpy(), tp.detach().numpy(), **tol, err_msg=f"{what} {name}")
        st, tst = opt.state[p], topt.state[tp]
        assert sorted(st) == sorted(tst), (what, name)
        for k, tv in tst.items():
            v = st[k]
            if k == "step":
                assert v.device == ag.device("cpu") and v.dtype == ag.float32 and v.item() == tv.item()
            else:
                assert v.device == p.device and v.dtype == p.dtype
                # entries near zero among large ones carry the rounding of their neighbours' scale
                scale = max(1.0, float(np.nanmax(np.abs(tv.numpy())))) if tv.numel() else 1.0
                np.testing.assert_allclose(v.cpu().numpy(), tv.numpy(), rtol=tol["rtol"], atol=tol["atol"] * scale,
                                           err_msg=f"{what} {name} {k}")


def train_both(torch, device, dtype, opt_name, kwargs, steps=12, groups=None, loss="mse"):
    """ag and torch copies trained side by side, compared after every step."""
    model, ref, opt, topt, take_step = pair(torch, device, dtype, loss, opt_name, kwargs, groups)
    for step in range(steps):
        take_step()
        _compare_state(opt, topt, model, ref, TOL[dtype], f"{opt_name}({kwargs}) step {step + 1}")
    return model, ref, opt, topt


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("opt_name,config", CASES, ids=[f"{o}-{c}" for o, c in CASES])
def test_matches_pytorch_every_step(torch, device, dtype, opt_name, config):
    train_both(torch, device, dtype, opt_name, CONFIGS[opt_name][config])


@pytest.mark.parametrize("opt_name", list(CONFIGS))
def test_cross_entropy_training_matches_pytorch(torch, device, opt_name):
    kwargs = dict(lr=0.01) if opt_name != "RMSprop" else dict(lr=0.002, momentum=0.5)
    train_both(torch, device, "float64", opt_name, kwargs, steps=8, loss="cross_entropy")


@pytest.mark.parametrize("opt_name,groups", [
    ("AdamW", [(0, dict(lr=0.05, amsgrad=True)), (2, dict(weight_decay=0.3)), (4, dict(betas=(0.5, 0.9)))]),
    ("RMSprop", [(0, dict(centered=True)), (2, dict(momentum=0.9, lr=0.001)), (4, dict(weight_decay=0.2))]),
    # a group's initial_accumulator_value is ignored: the sums start at the constructor's, as PyTorch's
    ("Adagrad", [(0, dict(lr_decay=0.1)), (2, dict(initial_accumulator_value=1.0)), (4, dict(lr=0.2))]),
])
def test_param_groups_match_pytorch(torch, device, opt_name, groups):
    train_both(torch, device, "float64", opt_name, dict(lr=0.01), steps=6, groups=groups)


def test_optimizers_are_exported_with_pytorch_signatures(torch):
    import inspect
    for name in ("AdamW", "RMSprop", "Adagrad"):
        assert name in optim.__all__
        theirs = inspect.signature(getattr(torch.optim, name)).parameters
        ours = inspect.signature(getattr(optim, name)).parameters
        assert list(ours) == list(theirs)[:len(ours)], name          # positional order kept
        for pname, p in ours.items():
            if pname != "params":
                assert theirs[pname].default == p.default and theirs[pname].kind == p.kind, (name, pname)
    assert issubclass(optim.AdamW, optim.Adam) and issubclass(torch.optim.AdamW, torch.optim.Adam)
    assert optim.AdamW([ag.ones(1, requires_grad=True)]).defaults["weight_decay"] == 1e-2


# ---- state dicts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("opt_name,kwargs", [("AdamW", dict(lr=0.01, amsgrad=True)),
                                             ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
                                             ("Adagrad", dict(lr=0.1, lr_decay=0.01))])
def test_state_dict_matches_pytorch_and_resumes(torch, device, opt_name, kwargs):
    model, ref, opt, topt = train_both(torch, device, "float64", opt_name, kwargs, steps=3)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sorted(sd["state"]) == sorted(tsd["state"])
    for g, tg in zip(sd["param_groups"], tsd["param_groups"]):
        assert set(g) <= set(tg)
        for k, v in g.items():
            assert tg[k] == v or (isinstance(v, tuple) and tuple(tg[k]) == v), k
    # load into a fresh optimizer: continuing gives what the original gives
    saved = {"state": {i: {k: v.clone() for k, v in s.items()} for i, s in sd["state"].items()},
             "param_groups": sd["param_groups"]}
    fresh = getattr(optim, opt_name)(model.parameters(), lr=123.0)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["lr"] == kwargs["lr"]
    for p in model.parameters():
        p.grad = ag.ones_like(p)
    before = [p.detach().clone() for p in model.parameters()]
    opt.step()
    want = [p.detach().cpu().numpy().copy() for p in model.parameters()]
    with ag.no_grad():
        for p, b in zip(model.parameters(), before):
            p.copy_(b)
    fresh.step()
    for p, w in zip(model.parameters(), want):
        np.testing.assert_array_equal(p.detach().cpu().numpy(), w)


def test_torch_state_dict_loads(torch, device):
    """A state dict saved by PyTorch (its tensors converted) loads and continues as PyTorch's."""
    model, ref, opt, topt = train_both(torch, device, "float64", "RMSprop", dict(lr=0.01, momentum=0.5), steps=2)
    tsd = topt.state_dict()
    conv = {"state": {i: {k: ag.tensor(v.numpy()) for k, v in s.items()} for i, s in tsd["state"].items()},
            "param_groups": tsd["param_groups"]}
    fresh = optim.RMSprop(model.parameters())
    fresh.load_state_dict(conv)
    assert fresh.state[next(iter(model.parameters()))]["step"].item() == 2.0


def test_adagrad_state_exists_before_the_first_step(torch, device):
    p = ag.zeros(3, dtype=ag.float64, device=device, requires_grad=True)
    tp = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    opt = optim.Adagrad([p], initial_accumulator_value=0.25)
    topt = torch.optim.Adagrad([tp], initial_accumulator_value=0.25)
    st, tst = opt.state_dict()["state"], topt.state_dict()["state"]
    assert sorted(st[0]) == sorted(tst[0]) == ["step", "sum"]
    assert st[0]["sum"].tolist() == tst[0]["sum"].tolist() and st[0]["step"].item() == 0.0
    # a group added later gets its state at its first step, its sum from the constructor's value
    q = ag.ones(2, dtype=ag.float64, device=device, requires_grad=True)
    opt.add_param_group({"params": [q], "lr": 0.5})
    q.grad = ag.ones(2, dtype=ag.float64, device=device)
    opt.step()
    np.testing.assert_allclose(q.tolist(), [1 - 0.5 / (1.25 ** 0.5 + 1e-10)] * 2, rtol=1e-14)   # sum from 0.25
    tq = torch.ones(2, dtype=torch.float64, requires_grad=True)
    topt.add_param_group({"params": [tq], "lr": 0.5})
    tq.grad = torch.ones(2, dtype=torch.float64)
    topt.step()
    np.testing.assert_allclose(q.tolist(), tq.tolist(), rtol=1e-15)


def test_rmsprop_momentum_switched_on_later_creates_its_buffer(device):
    """PyTorch's raises KeyError when momentum is set on a group after its first step; ours starts a buffer."""
    p = ag.ones(2, dtype=ag.float64, device=device, requires_grad=True)
    opt = optim.RMSprop([p], lr=0.1)
    p.grad = ag.ones(2, dtype=ag.float64, device=device)
    opt.step()
    opt.param_groups[0]["momentum"] = 0.9
    opt.step()
    assert sorted(opt.state[p]) == ["momentum_buffer", "square_avg", "step"]


# ---- the step ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("opt_name", list(CONFIGS))
def test_step_in_place_skips_params_without_grad(device, opt_name):
    p = ag.ones(4, device=device, requires_grad=True)
    q = ag.ones(2, device=device, requires_grad=True)
    arr = p._data
    (p * p).sum().backward()
    opt = getattr(optim, opt_name)([p, q], lr=0.1)
    v = p._version
    opt.step()
    assert p._data is arr and p._version == v + 1 and p.is_leaf and p.grad_fn is None
    assert q.tolist() == [1.0, 1.0]
    assert opt.state[q] == ({} if opt_name != "Adagrad" else opt.state[q])
    assert p.tolist() != [1.0] * 4


@pytest.mark.parametrize("opt_name,kwargs", [("AdamW", dict(amsgrad=True)), ("RMSprop", dict(centered=True,
                                             momentum=0.5)), ("Adagrad", dict(lr_decay=0.1))])
def test_float16_parameters_update_in_float32_math(torch, device, opt_name, kwargs):
    """Half parameters: math in float32, one rounding per step (PyTorch CPU: within a half ulp or so)."""
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(64).astype(np.float16)
    p = ag.tensor(p0, device=device, requires_grad=True)
    p32 = ag.tensor(p0.astype(np.float32), device=device, requires_grad=True)
    opt, opt32 = (getattr(optim, opt_name)([t], lr=0.01, **kwargs) for t in (p, p32))
    for i in range(3):
        g = rng.standard_normal(64).astype(np.float16)
        p.grad, p32.grad = ag.tensor(g, device=device), ag.tensor(g.astype(np.float32), device=device)
        opt.step()
        opt32.step()
    assert p.dtype == ag.float16 and all(t.dtype == ag.float16 for k, t in opt.state[p].items() if k != "step")
    np.testing.assert_allclose(p.detach().cpu().numpy().astype(np.float32), p32.detach().cpu().numpy(),
                               rtol=3e-3, atol=3e-3)


def test_zero_lr_and_nonfinite_gradients_follow_pytorch(torch, device):
    for name, kw in (("AdamW", dict(weight_decay=0.0)), ("RMSprop", dict(centered=True)), ("Adagrad", {})):
        vals = [1.0, -2.0, 0.0, 3.0]
        gvals = [np.inf, np.nan, 0.0, -1.0]
        p = ag.tensor(vals, dtype=ag.float64, device=device, requires_grad=True)
        tp = torch.tensor(vals, dtype=torch.float64, requires_grad=True)
        p.grad, tp.grad = ag.tensor(gvals, dtype=ag.float64, device=device), torch.tensor(gvals, dtype=torch.float64)
        getattr(optim, name)([p], lr=0.1, **kw).step()
        getattr(torch.optim, name)([tp], lr=0.1, foreach=False, **kw).step()
        np.testing.assert_allclose(p.detach().cpu().numpy(), tp.detach().numpy(), rtol=1e-14, equal_nan=True,
                                   err_msg=name)


# ---- bad arguments ------------------------------------------------------------------------------------

def _p():
    return ag.ones(2, requires_grad=True)


BAD = [
    ("AdamW", dict(lr=-1.0), ValueError, "Invalid learning rate: -1.0"),
    ("AdamW", dict(eps=-1.0), ValueError, "Invalid epsilon value: -1.0"),
    ("AdamW", dict(betas=(1.0, 0.9)), ValueError, "Invalid beta parameter at index 0: 1.0"),
    ("AdamW", dict(weight_decay=-0.1), ValueError, "Invalid weight_decay value: -0.1"),
    ("RMSprop", dict(lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
    ("RMSprop", dict(eps=-1.0), ValueError, "Invalid epsilon value: -1.0"),
    ("RMSprop", dict(momentum=-0.5), ValueError, "Invalid momentum value: -0.5"),
    ("RMSprop", dict(weight_decay=-1.0), ValueError, "Invalid weight_decay value: -1.0"),
    ("RMSprop", dict(alpha=-0.5), ValueError, "Invalid alpha value: -0.5"),
    ("Adagrad", dict(lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
    ("Adagrad", dict(lr_decay=-0.1), ValueError, "Invalid lr_decay value: -0.1"),
    ("Adagrad", dict(weight_decay=-0.1), ValueError, "Invalid weight_decay value: -0.1"),
    ("Adagrad", dict(initial_accumulator_value=-0.1), ValueError, "Invalid initial_accumulator_value value: -0.1"),
    ("Adagrad", dict(eps=-0.1), ValueError, "Invalid epsilon value: -0.1"),
]


@pytest.mark.parametrize("name,kwargs,exc,msg", BAD, ids=[f"{b[0]}-{next(iter(b[1]))}" for b in BAD])
def test_bad_hyperparameters_match_pytorch(torch, name, kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        getattr(optim, name)([_p()], **kwargs)
    with pytest.raises(exc, match=msg):
        getattr(torch.optim, name)([torch.ones(2, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_bad_params_and_flags(torch, name):
    for mod, make in ((optim, _p), (torch.optim, lambda: torch.ones(2, requires_grad=True))):
        with pytest.raises(ValueError):
            getattr(mod, name)([])
        with pytest.raises(TypeError):
            getattr(mod, name)(make())
        with pytest.raises(ValueError):
            getattr(mod, name)([make() * 2])
    with pytest.raises(TypeError, match="maximize must be a bool"):
        getattr(optim, name)([_p()], maximize="yes")
    with pytest.raises(ValueError, match="capturable"):
        optim.RMSprop([_p()], capturable=True)


def test_failed_param_group_changes_nothing():
    p, q = _p(), _p()
    opt = optim.Adagrad([p], lr=0.1)
    with pytest.raises(ValueError, match="Invalid lr_decay value"):
        opt.add_param_group({"params": [q], "lr_decay": -1.0})
    assert len(opt.param_groups) == 1 and q not in opt.state


# ---- lr schedulers -----------------------------------------------------------------------------------

SCHEDULERS = {
    "StepLR": dict(step_size=4, gamma=0.5),
    "StepLR-default": dict(step_size=7),
    "MultiStepLR": dict(milestones=[3, 8, 8, 20], gamma=0.3),
    "ExponentialLR": dict(gamma=0.93),
    "CosineAnnealingLR": dict(T_max=10, eta_min=0.001),
    "CosineAnnealingLR-default": dict(T_max=7),
    "LambdaLR": dict(lr_lambda=lambda e: 1.0 / (1 + e)),
    "LambdaLR-per-group": dict(lr_lambda=[lambda e: 0.9 ** e, lambda e: min(1.0, (e + 1) / 5)]),
    "LinearLR": dict(),
    "LinearLR-down": dict(start_factor=1.0, end_factor=0.1, total_iters=12),
    "LinearLR-up": dict(start_factor=0.25, end_factor=0.75, total_iters=8),
}


def _two_group_optimizers(torch):
    p, q = _p(), _p()
    tp, tq = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    opt = optim.SGD([{"params": [p]}, {"params": [q], "lr": 0.3}], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD([{"params": [tp]}, {"params": [tq], "lr": 0.3}], lr=0.1, momentum=0.9)
    return opt, topt


def _scheduler_pair(torch, key, **extra):
    opt, topt = _two_group_optimizers(torch)
    cls = key.split("-")[0]
    sched = getattr(lr_scheduler, cls)(opt, **SCHEDULERS[key], **extra)
    tsched = getattr(torch.optim.lr_scheduler, cls)(topt, **SCHEDULERS[key], **extra)
    return opt, topt, sched, tsched


def _advance(*optimizers_then_schedulers):
    """One epoch: the optimizers step, then the schedulers (the order PyTorch asks for)."""
    for o in optimizers_then_schedulers:
        o.step()


@pytest.mark.parametrize("key", list(SCHEDULERS))
def test_scheduler_lr_sequence_matches_pytorch(torch, key):
    opt, topt, sched, tsched = _scheduler_pair(torch, key)
    assert sched.get_last_lr() == tsched.get_last_lr()           # the constructor's initial step
    assert sched.last_epoch == tsched.last_epoch == 0
    for epoch in range(40):
        _advance(opt, topt, sched, tsched)
        ours, theirs = sched.get_last_lr(), tsched.get_last_lr()
        assert ours == pytest.approx(theirs, rel=1e-14, abs=1e-16), (key, epoch)
        assert [g["lr"] for g in opt.param_groups] == ours
        assert sched.last_epoch == tsched.last_epoch == epoch + 1
    assert sched.base_lrs == tsched.base_lrs == [0.1, 0.3]
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.3]


@pytest.mark.parametrize("key", list(SCHEDULERS))
def test_scheduler_state_dict_matches_pytorch_and_resumes(torch, key):
    opt, topt, sched, tsched = _scheduler_pair(torch, key)
    for _ in range(5):
        _advance(opt, topt, sched, tsched)
    sd, tsd = sched.state_dict(), tsched.state_dict()
    assert sorted(sd) == sorted(tsd)
    for k, v in tsd.items():
        if k != "lr_lambdas":
            assert sd[k] == v or sd[k] == pytest.approx(v, rel=1e-14), k
    saved = dict(sd)
    want = []
    for _ in range(6):
        opt.step()
        sched.step()
        want.append(sched.get_last_lr())
    opt2, _ = _two_group_optimizers(torch)
    cls = key.split("-")[0]
    again = getattr(lr_scheduler, cls)(opt2, **SCHEDULERS[key])
    again.load_state_dict(saved)
    for g, lr in zip(opt2.param_groups, saved["_last_lr"]):   # as loading the optimizer's state would
        g["lr"] = lr
    got = []
    for _ in range(6):
        opt2.step()
        again.step()
        got.append(again.get_last_lr())
    assert got == want


def test_lambda_lr_state_dict_saves_callable_objects_not_functions(torch):
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, e):
            return self.rate ** e

    for L, o in ((lr_scheduler, optim), (torch.optim.lr_scheduler, torch.optim)):
        opt = o.SGD([{"params": [ag.ones(1, requires_grad=True) if L is lr_scheduler
                                 else torch.ones(1, requires_grad=True)]}] * 1, lr=1.0)
        fn = Decay()
        sched = L.LambdaLR(opt, [fn])
        assert sched.state_dict()["lr_lambdas"] == [{"rate": 0.5}]
        sd = sched.state_dict()
        sd["lr_lambdas"] = [{"rate": 0.25}]
        sched.load_state_dict(sd)
        assert fn.rate == 0.25
        assert L.LambdaLR(opt, lambda e: 1.0).state_dict()["lr_lambdas"] == [None]


@pytest.mark.parametrize("key", ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR-up"])
def test_step_with_epoch_uses_the_closed_form_and_warns(torch, key):
    opt, topt, sched, tsched = _scheduler_pair(torch, key)
    for epoch in (3, 9, 2, 15, 15, 40):
        opt.step()
        topt.step()
        with pytest.warns(UserWarning, match="epoch parameter"):
            sched.step(epoch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tsched.step(epoch)
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-14), (key, epoch)


def test_resume_with_last_epoch(torch):
    for L, O, make in ((lr_scheduler, optim, _p), (torch.optim.lr_scheduler, torch.optim,
                                                   lambda: torch.ones(2, requires_grad=True))):
        opt = O.SGD([make()], lr=0.1)
        with pytest.raises(KeyError, match="initial_lr"):
            L.StepLR(opt, 3, last_epoch=5)
        assert "initial_lr" not in opt.param_groups[0]
    opt, topt = _two_group_optimizers(torch)
    for g, tg in zip(opt.param_groups, topt.param_groups):
        g["initial_lr"] = tg["initial_lr"] = 1.0
    s = lr_scheduler.CosineAnnealingLR(opt, T_max=10, last_epoch=4)
    ts = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=10, last_epoch=4)
    for _ in range(8):
        _advance(opt, topt, s, ts)
        assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-14)


def test_scheduler_warnings_like_pytorch(torch):
    for L, O, make in ((lr_scheduler, optim, _p), (torch.optim.lr_scheduler, torch.optim,
                                                   lambda: torch.ones(2, requires_grad=True))):
        opt = O.SGD([make()], lr=0.1)
        sched = L.StepLR(opt, 2)
        with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
            sched.step()
        with pytest.warns(UserWarning, match="get_last_lr"):
            sched.get_lr()
        opt2 = O.SGD([make()], lr=0.1)
        sched2 = L.ExponentialLR(opt2, 0.5)
        opt2.step()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            sched2.step()


def test_scheduler_bad_arguments(torch):
    for L, O, make in ((lr_scheduler, optim, _p), (torch.optim.lr_scheduler, torch.optim,
                                                   lambda: torch.ones(2, requires_grad=True))):
        opt = O.SGD([make()], lr=0.1)
        with pytest.raises(TypeError, match="is not an Optimizer"):
            L.StepLR("sgd", 2)
        with pytest.raises(ValueError, match="Starting multiplicative factor"):
            L.LinearLR(opt, start_factor=0.0)
        with pytest.raises(ValueError, match="Ending multiplicative factor"):
            L.LinearLR(opt, end_factor=1.5)
        with pytest.raises(ValueError, match="lr_lambdas"):
            L.LambdaLR(opt, [lambda e: 1.0, lambda e: 1.0])
        with pytest.raises(ValueError, match="Factor should be < 1.0"):
            L.ReduceLROnPlateau(opt, factor=1.0)
        with pytest.raises(ValueError, match="unknown"):
            L.ReduceLROnPlateau(opt, mode="up")
        with pytest.raises(ValueError, match="min_lrs"):
            L.ReduceLROnPlateau(opt, min_lr=[0.1, 0.2])
        assert opt.param_groups[0]["lr"] == 0.1
    with pytest.raises(TypeError, match="StepLR"):
        lr_scheduler.StepLR("sgd", 2)


PLATEAU = {
    "default": dict(patience=2),
    "max-abs": dict(mode="max", threshold_mode="abs", threshold=0.05, patience=1, factor=0.5),
    "cooldown-min_lr": dict(patience=0, cooldown=2, min_lr=[0.02, 0.05], factor=0.5),
    "eps": dict(patience=0, factor=0.9, eps=0.01),
}


@pytest.mark.parametrize("key", list(PLATEAU))
def test_reduce_lr_on_plateau_matches_pytorch(torch, key):
    opt, topt = _two_group_optimizers(torch)
    s = lr_scheduler.ReduceLROnPlateau(opt, **PLATEAU[key])
    ts = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **PLATEAU[key])
    rng = np.random.default_rng(1)
    metrics = np.concatenate([np.linspace(1, 0.5, 5), 0.5 + 0.01 * rng.standard_normal(30)])
    for i, m in enumerate(metrics):
        s.step(m if i % 2 else ag.tensor(m))          # a 0-d tensor works as a metric
        ts.step(m)
        assert s.get_last_lr() == ts.get_last_lr(), (key, i)
        assert (s.best, s.num_bad_epochs, s.cooldown_counter) == (ts.best, ts.num_bad_epochs, ts.cooldown_counter)
    assert sorted(s.state_dict()) == sorted(ts.state_dict())
    assert s.state_dict()["mode_worse"] == ts.state_dict()["mode_worse"]


# ---- gradient clipping and parameter vectors -----------------------------------------------------------

def _grads(torch, device, values, dtypes=None):
    ps, tps = [], []
    for i, v in enumerate(values):
        dt = (dtypes or ["float64"] * len(values))[i]
        a = np.asarray(v, dtype=dt)
        p = ag.zeros(a.shape, dtype=getattr(ag, dt), device=device, requires_grad=True)
        tp = torch.zeros(a.shape, dtype=getattr(torch, dt), requires_grad=True)
        p.grad, tp.grad = ag.tensor(a, device=device), torch.from_numpy(a.copy())
        ps.append(p)
        tps.append(tp)
    return ps, tps


def _same_grads(ps, tps, **tol):
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.grad.cpu().numpy(), tp.grad.numpy(), equal_nan=True, **tol)


GRADS = [[[3.0, -4.0], [[1.0, 2.0], [-2.0, 0.5]]], [[0.1, -0.2, 0.05]], [[5.0], 2.0, []]]


# (an empty gradient has no inf norm: tested on its own below)
@pytest.mark.parametrize("which, norm_type", [(w, n) for w in range(len(GRADS)) for n in (2.0, 1, 3.5, 0.5, math.inf, 0)
                                              if not (w == 2 and n == math.inf)])
@pytest.mark.parametrize("max_norm", [1.0, 100.0])
def test_clip_grad_norm_matches_pytorch(torch, device, norm_type, max_norm, which):
    ps, tps = _grads(torch, device, GRADS[which])
    total = nn.utils.clip_grad_norm_(ps, max_norm, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type)
    assert isinstance(total, ag.Tensor) and total.dim() == 0 and total.dtype == ag.float64
    assert total.device == ag.device(device)
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-13)
    _same_grads(ps, tps, rtol=1e-13)


def test_clip_grad_norm_float32_mixed_dtypes_and_single_tensor(torch, device):
    rng = np.random.default_rng(2)
    vals = [rng.standard_normal((4, 3)), rng.standard_normal(5)]
    ps, tps = _grads(torch, device, vals, ["float32", "float64"])
    total = nn.utils.clip_grad_norm_(iter(ps), 0.5)
    ttotal = torch.nn.utils.clip_grad_norm_(iter(tps), 0.5)
    assert total.dtype == ag.float64 and ps[0].grad.dtype == ag.float32
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-6)
    _same_grads(ps, tps, rtol=1e-6)
    ps, tps = _grads(torch, device, [vals[0]], ["float32"])
    total = nn.utils.clip_grad_norm_(ps[0], 0.5, norm_type="inf")
    ttotal = torch.nn.utils.clip_grad_norm_(tps[0], 0.5, norm_type="inf")
    assert total.dtype == ag.float32 and total.item() == ttotal.item()
    _same_grads(ps, tps, rtol=1e-6)


@pytest.mark.parametrize("bad", [np.inf, np.nan])
@pytest.mark.parametrize("norm_type", [2.0, float("inf")])
def test_clip_grad_norm_nonfinite(torch, device, bad, norm_type):
    vals = [[1.0, bad], [2.0, -3.0]]
    ps, tps = _grads(torch, device, vals)
    before = [p.grad.cpu().numpy().copy() for p in ps]
    versions = [p.grad._version for p in ps]
    with pytest.raises(RuntimeError, match="clip_grad_norm_.*non-finite"):
        nn.utils.clip_grad_norm_(ps, 1.0, norm_type, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="non-finite"):
        torch.nn.utils.clip_grad_norm_(tps, 1.0, norm_type, error_if_nonfinite=True)
    for p, b, v in zip(ps, before, versions):                    # nothing changed
        np.testing.assert_array_equal(p.grad.cpu().numpy(), b)
        assert p.grad._version == v
    total = nn.utils.clip_grad_norm_(ps, 1.0, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tps, 1.0, norm_type)
    np.testing.assert_array_equal(total.item(), ttotal.item())
    _same_grads(ps, tps)


def test_clip_grad_norm_edge_cases(torch, device):
    total = nn.utils.clip_grad_norm_([], 1.0)
    ttotal = torch.nn.utils.clip_grad_norm_([], 1.0)
    assert total.item() == ttotal.item() == 0.0 and total.dtype == ag.float32 and total.device == ag.device("cpu")
    p = ag.ones(2, device=device, requires_grad=True)          # no grad: nothing to clip
    assert nn.utils.clip_grad_norm_([p], 1.0).item() == 0.0 and p.grad is None
    for L in (ag, torch):
        with pytest.warns(UserWarning, match="empty generator"):
            L.nn.utils.clip_grad_norm_((q for q in []), 1.0)
    ps, tps = _grads(torch, device, [[1.0], []])
    with pytest.raises(RuntimeError, match="clip_grad_norm_"):
        nn.utils.clip_grad_norm_(ps, 1.0, float("inf"))
    with pytest.raises(RuntimeError):
        torch.nn.utils.clip_grad_norm_(tps, 1.0, float("inf"))
    assert ps[0].grad.tolist() == [1.0]
    for L, (qs, _) in ((ag, _grads(torch, device, [[1.0]])), (torch, (tps, None))):
        with pytest.raises(ValueError):
            L.nn.utils.clip_grad_norm_(qs, 1.0, norm_type="fro")
        with pytest.raises(TypeError):
            L.nn.utils.clip_grad_norm_(qs, None)


@pytest.mark.parametrize("clip", [0.5, 2.0, 0.0, -1.0])
def test_clip_grad_value_matches_pytorch(torch, device, clip):
    ps, tps = _grads(torch, device, [[3.0, -0.2, np.nan, -np.inf], [[0.1, 1.5]], 0.75])
    assert nn.utils.clip_grad_value_(ps, clip) is None
    torch.nn.utils.clip_grad_value_(tps, clip)
    _same_grads(ps, tps)
    q = ag.ones(2, device=device, requires_grad=True)
    nn.utils.clip_grad_value_(q, 0.1)                            # a tensor without grad: nothing to do
    assert q.grad is None


def test_clipping_inside_a_training_step_matches_pytorch(torch, device):
    model = _mlp("float64", device, 3)
    ref = _torch_copy(torch, model, "float64")
    x_np, y_np = _data("float64", "mse")
    opt = optim.AdamW(model.parameters(), lr=0.01)
    topt = torch.optim.AdamW(ref.parameters(), lr=0.01, foreach=False)
    for _ in range(5):
        opt.zero_grad()
        topt.zero_grad()
        nn.functional.mse_loss(model(ag.tensor(x_np, device=device)), ag.tensor(y_np, device=device)).backward()
        torch.nn.functional.mse_loss(ref(torch.from_numpy(x_np)), torch.from_numpy(y_np)).backward()
        n = nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        tn = torch.nn.utils.clip_grad_norm_(ref.parameters(), 0.1)
        np.testing.assert_allclose(n.item(), tn.item(), rtol=1e-12)
        opt.step()
        topt.step()
    for p, tp in zip(model.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.detach().cpu().numpy(), tp.detach().numpy(), rtol=1e-11, atol=1e-13)


def test_parameters_to_vector_and_back(torch, device):
    model = _mlp("float64", device, 3)
    ref = _torch_copy(torch, model, "float64")
    vec = nn.utils.parameters_to_vector(model.parameters())
    tvec = torch.nn.utils.parameters_to_vector(ref.parameters())
    assert vec.shape == tuple(tvec.shape) and vec.requires_grad and vec.device == ag.device(device)
    np.testing.assert_array_equal(vec.detach().cpu().numpy(), tvec.detach().numpy())
    (vec * vec).sum().backward()                                 # differentiable, as PyTorch's
    for p in model.parameters():
        np.testing.assert_allclose(p.grad.cpu().numpy(), 2 * p.detach().cpu().numpy())
    new = np.arange(vec.numel() + 3, dtype=np.float64)          # extra elements are ignored
    nn.utils.vector_to_parameters(ag.tensor(new, device=device), model.parameters())
    torch.nn.utils.vector_to_parameters(torch.from_numpy(new), ref.parameters())
    for p, tp in zip(model.parameters(), ref.parameters()):
        assert p.is_leaf and p.requires_grad
        np.testing.assert_array_equal(p.detach().cpu().numpy(), tp.detach().numpy())


def test_vector_to_parameters_bad_input_changes_nothing(torch, device):
    model = _mlp("float64", device, 3)
    before = [p.detach().cpu().numpy().copy() for p in model.parameters()]
    n = sum(p.numel() for p in model.parameters())
    for L, m in ((ag, model), (torch, _torch_copy(torch, model, "float64"))):
        with pytest.raises(TypeError, match="expected"):
            L.nn.utils.vector_to_parameters([1.0, 2.0], m.parameters())
    # too short: PyTorch raises after writing the leading parameters; ours checks first
    with pytest.raises(RuntimeError, match="vector_to_parameters.*at least"):
        nn.utils.vector_to_parameters(ag.zeros(n - 1, dtype=ag.float64, device=device), model.parameters())
    # a 2-d vector: refused (PyTorch slices its rows)
    with pytest.raises(RuntimeError, match="1-d"):
        nn.utils.vector_to_parameters(ag.zeros(n, 1, dtype=ag.float64, device=device), model.parameters())
    if device != "cpu":
        # another device than the parameters': refused (PyTorch moves the parameters there)
        with pytest.raises(TypeError, match="different devices"):
            nn.utils.vector_to_parameters(ag.zeros(n, dtype=ag.float64), model.parameters())
        with pytest.raises(TypeError, match="different devices"):
            nn.utils.parameters_to_vector([ag.ones(2, requires_grad=True), next(iter(model.parameters()))])
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.detach().cpu().numpy(), b)


LARGE_STEPS = [("SGD", dict(lr=0.01)), ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.01)),
               ("SGD", dict(lr=0.01, momentum=0.5, dampening=0.3, maximize=True)),
               ("Adam", dict(lr=0.01)), ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
               ("AdamW", dict(lr=0.01, weight_decay=0.05)), ("AdamW", dict(lr=0.01, amsgrad=True, maximize=True)),
               ("RMSprop", dict(lr=0.005)), ("RMSprop", dict(lr=0.002, momentum=0.5, centered=True)),
               ("RMSprop", dict(lr=0.002, alpha=0.3, centered=True, weight_decay=0.1)),
               ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1))]


@pytest.mark.parametrize("opt_name,kwargs", LARGE_STEPS, ids=[f"{o}-{i}" for i, (o, _) in enumerate(LARGE_STEPS)])
def test_large_parameters_step_by_chunks(torch, device, opt_name, kwargs):
    """A parameter of 128k elements or more updates a chunk at a time on NumPy (ops/blocked.py): over
    three steps with fresh gradients, a float32 parameter of several chunks and a partial one ends
    where PyTorch's does, state included, and bit for bit where the same values held as separate
    smaller parameters (one chunk-free update each) end."""
    rng = np.random.default_rng(5)
    start = rng.standard_normal((3, 70001)).astype(np.float32)
    grads = [rng.standard_normal(start.shape).astype(np.float32) for _ in range(3)]
    big, tbig = ag.tensor(start, device=device, requires_grad=True), torch.tensor(start, requires_grad=True)
    rows = [ag.tensor(r, device=device, requires_grad=True) for r in start]
    opts = [getattr(optim, opt_name)([big], **kwargs), getattr(torch.optim, opt_name)([tbig], **kwargs),
            getattr(optim, opt_name)(rows, **kwargs)]
    for g in grads:
        big.grad, tbig.grad = ag.tensor(g, device=device), torch.tensor(g)
        for r, gr in zip(rows, g):
            r.grad = ag.tensor(gr, device=device)
        for o in opts:
            o.step()
    np.testing.assert_allclose(big.detach().cpu().numpy(), tbig.detach().numpy(), rtol=5e-5, atol=5e-6)
    for key, value in opts[1].state[tbig].items():
        if key != "step":
            np.testing.assert_allclose(opts[0].state[big][key].cpu().numpy(), value.numpy(), rtol=5e-5, atol=5e-6,
                                       err_msg=key)
    np.testing.assert_array_equal(big.detach().cpu().numpy(), np.stack([r.detach().cpu().numpy() for r in rows]))
