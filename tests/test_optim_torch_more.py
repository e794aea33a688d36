"""Adamax, NAdam, RAdam, Adadelta, ASGD, Rprop and LBFGS, and the lr
schedulers ConstantLR, MultiplicativeLR, PolynomialLR,
CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR, SequentialLR and
ChainedScheduler, against PyTorch CPU: the same MLP, data and initial
weights trained by both libraries with parameters AND optimizer state
compared after every step (float32, float64; several groups; weight decay,
maximize), state dicts loaded both ways (PyTorch's into ours and ours into
PyTorch's, then training on), lr (and momentum) sequences over many steps,
and bad hyperparameters (PyTorch's exception types, nothing changed)."""
import inspect
import math
import warnings

import numpy as np
import pytest

import autograd_gpu as ag
from autograd_gpu import nn, optim
from autograd_gpu.optim import lr_scheduler
from test_optim_oracle import _data, _mlp, _torch_copy, pair

CONFIGS = {
    "Adamax": {"default": dict(), "wd": dict(lr=0.01, weight_decay=0.1),
               "low_beta1": dict(lr=0.01, betas=(0.3, 0.9), eps=1e-6),            # lerp's other branch
               "maximize": dict(lr=0.01, maximize=True, weight_decay=0.05)},
    "NAdam": {"default": dict(), "wd": dict(lr=0.01, weight_decay=0.1),
              "decoupled": dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
              "momentum_decay": dict(lr=0.01, momentum_decay=0.05, betas=(0.8, 0.99)),
              "maximize": dict(lr=0.01, maximize=True)},
    "RAdam": {"default": dict(), "wd": dict(lr=0.01, weight_decay=0.1),
              "decoupled": dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
              # a low beta2: rho_t passes 5 within the first steps (the rectified branch)
              "rectified": dict(lr=0.01, betas=(0.5, 0.8), eps=1e-6),
              "maximize": dict(lr=0.01, maximize=True, betas=(0.9, 0.7))},
    "Adadelta": {"default": dict(), "wd": dict(lr=0.5, weight_decay=0.1, rho=0.5),
                 "eps": dict(lr=2.0, eps=1e-3), "maximize": dict(maximize=True)},
    "ASGD": {"default": dict(), "averaging": dict(lr=0.05, t0=3, lambd=0.01, alpha=0.5),
             "wd": dict(lr=0.05, weight_decay=0.1, t0=1), "maximize": dict(lr=0.02, maximize=True, t0=4)},
    "Rprop": {"default": dict(), "etas": dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.1)),
              "maximize": dict(lr=0.02, maximize=True)},
}
CASES = [(o, c) for o in CONFIGS for c in CONFIGS[o]]
TOL = {"float32": dict(rtol=5e-5, atol=5e-6), "float64": dict(rtol=1e-11, atol=1e-13)}
# the 0-d state entries, as PyTorch keeps them: on the CPU, or (ASGD) on the parameter's device
SCALAR_STATE = {"step", "mu_product", "eta", "mu"}
DEVICE_SCALARS = {"ASGD": {"step", "eta", "mu"}}


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """PyTorch on one thread while this file runs: its thread pool on a tiny
    MLP costs more than the math on a loaded machine (restored afterwards)."""
    try:
        import torch
    except ImportError:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _np(t):
    return t.detach().cpu().numpy()


def _compare(opt, topt, model, ref, tol, what, loaded=False):
    """Parameters and every state entry (names in PyTorch's order, devices, dtypes, values).
    `loaded`: the state came from load_state_dict, which gives the 0-d entries
    but "step" the parameter's dtype and device (PyTorch's policy)."""
    on_device = DEVICE_SCALARS.get(type(opt).__name__, set())
    for (name, p), tp in zip(model.named_parameters(), ref.parameters()):
        np.testing.assert_allclose(_np(p), tp.detach().numpy(), **tol, err_msg=f"{what} {name}")
        st, tst = opt.state[p], topt.state[tp]
        assert list(st) == list(tst), (what, name)
        for k, tv in tst.items():
            v = st[k]
            if k in SCALAR_STATE:
                assert v.shape == () and str(v.dtype).split(".")[-1] == str(tv.dtype).split(".")[-1], (what, k)
                follows = k in on_device or (loaded and k != "step")
                assert v.device == (p.device if follows else ag.device("cpu")), (what, k)
                assert v.item() == tv.item(), (what, k)         # the same float32 arithmetic
                continue
            assert v.device == p.device and v.dtype == p.dtype
            scale = max(1.0, float(np.nanmax(np.abs(tv.numpy())))) if tv.numel() else 1.0
            np.testing.assert_allclose(_np(v), tv.numpy(), rtol=tol["rtol"], atol=tol["atol"] * scale,
                                       err_msg=f"{what} {name} {k}")


def train_both(torch, device, dtype, opt_name, kwargs, steps=10, groups=None, loss="mse"):
    model, ref, opt, topt, take_step = pair(torch, device, dtype, loss, opt_name, kwargs, groups)
    for step in range(steps):
        take_step()
        _compare(opt, topt, model, ref, TOL[dtype], f"{opt_name}({kwargs}) step {step + 1}")
    return model, ref, opt, topt, take_step


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("opt_name,config", CASES, ids=[f"{o}-{c}" for o, c in CASES])
def test_matches_pytorch_every_step(torch, device, dtype, opt_name, config):
    train_both(torch, device, dtype, opt_name, CONFIGS[opt_name][config])


@pytest.mark.parametrize("opt_name", list(CONFIGS))
def test_cross_entropy_training_matches_pytorch(torch, device, opt_name):
    train_both(torch, device, "float64", opt_name, dict(lr=0.01), steps=6, loss="cross_entropy")


GROUPS = {
    "Adamax": [(0, dict(lr=0.05)), (2, dict(weight_decay=0.3, maximize=True)), (4, dict(betas=(0.5, 0.9)))],
    "NAdam": [(0, dict(decoupled_weight_decay=True, weight_decay=0.2)), (2, dict(momentum_decay=0.02)),
              (4, dict(weight_decay=0.1))],
    "RAdam": [(0, dict(decoupled_weight_decay=True, weight_decay=0.2)), (2, dict(betas=(0.6, 0.7))),
              (4, dict(lr=0.05, maximize=True))],
    "Adadelta": [(0, dict(rho=0.3)), (2, dict(weight_decay=0.2, lr=2.0)), (4, dict(eps=1e-2))],
    "ASGD": [(0, dict(t0=2)), (2, dict(lambd=0.05, alpha=0.9)), (4, dict(lr=0.05, weight_decay=0.3))],
    "Rprop": [(0, dict(etas=(0.2, 1.1))), (2, dict(step_sizes=(1e-4, 0.02))), (4, dict(lr=0.001))],
}


@pytest.mark.parametrize("opt_name", list(GROUPS))
def test_param_groups_match_pytorch(torch, device, opt_name):
    _, _, opt, topt, _ = train_both(torch, device, "float64", opt_name, dict(lr=0.01), steps=6,
                                    groups=GROUPS[opt_name])
    for g, tg in zip(opt.param_groups, topt.param_groups):
        assert sorted(g) == sorted(tg)
        assert {k: v for k, v in g.items() if k not in ("params", "foreach")} == \
            {k: v for k, v in tg.items() if k not in ("params", "foreach")}


def test_optimizers_are_exported_with_pytorch_signatures(torch):
    for name in list(CONFIGS) + ["LBFGS"]:
        assert name in optim.__all__ and getattr(ag.optim, name).__module__.startswith("autograd_gpu.optim")
        theirs = inspect.signature(getattr(torch.optim, name)).parameters
        ours = inspect.signature(getattr(optim, name)).parameters
        assert list(ours) == list(theirs), name
        for pname, p in ours.items():
            if pname != "params":
                assert theirs[pname].default == p.default and theirs[pname].kind == p.kind, (name, pname)
        t = getattr(torch.optim, name)([torch.ones(2, requires_grad=True)])
        o = getattr(optim, name)([ag.ones(2, requires_grad=True)])
        assert o.defaults == t.defaults, name


@pytest.mark.parametrize("opt_name,kwargs", [("Adamax", dict(lr=0.01)), ("NAdam", dict(lr=0.01, weight_decay=0.1)),
                                             ("RAdam", dict(lr=0.01, decoupled_weight_decay=True, weight_decay=0.1)),
                                             ("Adadelta", dict(weight_decay=0.1)), ("ASGD", dict(t0=1, lr=0.05)),
                                             ("Rprop", dict(lr=0.05))])
def test_float16_parameters_update_in_float32_math(device, opt_name, kwargs):
    """Half parameters: math in float32, one rounding per step; the state stays half."""
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(64).astype(np.float16)
    p = ag.tensor(p0, device=device, requires_grad=True)
    p32 = ag.tensor(p0.astype(np.float32), device=device, requires_grad=True)
    opt, opt32 = (getattr(optim, opt_name)([t], **kwargs) for t in (p, p32))
    for _ in range(3):
        g = rng.standard_normal(64).astype(np.float16)
        p.grad, p32.grad = ag.tensor(g, device=device), ag.tensor(g.astype(np.float32), device=device)
        opt.step()
        opt32.step()
    assert p.dtype == ag.float16
    assert all(t.dtype == ag.float16 for k, t in opt.state[p].items() if k not in SCALAR_STATE)
    np.testing.assert_allclose(_np(p).astype(np.float32), _np(p32), rtol=3e-3, atol=3e-3)


@pytest.mark.parametrize("opt_name", list(CONFIGS))
def test_nonfinite_gradients_and_skipped_params_follow_pytorch(torch, device, opt_name):
    vals, gvals = [1.0, -2.0, 0.0, 3.0], [np.inf, np.nan, 0.0, -1.0]
    p = ag.tensor(vals, dtype=ag.float64, device=device, requires_grad=True)
    q = ag.ones(2, dtype=ag.float64, device=device, requires_grad=True)           # no gradient: untouched
    tp = torch.tensor(vals, dtype=torch.float64, requires_grad=True)
    opt = getattr(optim, opt_name)([p, q], lr=0.1)
    topt = getattr(torch.optim, opt_name)([tp], lr=0.1, foreach=False)
    for _ in range(2):
        p.grad, tp.grad = ag.tensor(gvals, dtype=ag.float64, device=device), torch.tensor(gvals, dtype=torch.float64)
        opt.step()
        topt.step()
    np.testing.assert_allclose(_np(p), tp.detach().numpy(), rtol=1e-14, equal_nan=True, err_msg=opt_name)
    assert q.tolist() == [1.0, 1.0] and q not in opt.state and q._version == 0


@pytest.mark.parametrize("opt_name", list(CONFIGS))
def test_zero_size_parameters(torch, device, opt_name):
    p = ag.zeros(0, 3, dtype=ag.float64, device=device, requires_grad=True)
    tp = torch.zeros(0, 3, dtype=torch.float64, requires_grad=True)
    opt, topt = getattr(optim, opt_name)([p]), getattr(torch.optim, opt_name)([tp])
    for _ in range(2):
        p.grad, tp.grad = ag.zeros(0, 3, dtype=ag.float64, device=device), torch.zeros(0, 3, dtype=torch.float64)
        opt.step()
        topt.step()
    assert list(opt.state[p]) == list(topt.state[tp])
    assert all(v.shape == tuple(topt.state[tp][k].shape) for k, v in opt.state[p].items())


# ---- state dicts, both ways -------------------------------------------------------------------------

def _to_ag(v):
    if isinstance(v, (list, tuple)):
        return type(v)(_to_ag(x) for x in v)
    if hasattr(v, "numpy") and not isinstance(v, ag.Tensor):
        return ag.tensor(v.detach().numpy().copy())
    return v


def _to_torch(torch, v):
    if isinstance(v, (list, tuple)):
        return type(v)(_to_torch(torch, x) for x in v)
    if isinstance(v, ag.Tensor):
        return torch.from_numpy(v.detach().cpu().numpy().copy())
    return v


def _convert(sd, fn):
    return {"state": {i: {k: fn(v) for k, v in s.items()} for i, s in sd["state"].items()},
            "param_groups": [dict(g) for g in sd["param_groups"]]}


SD_CASES = [("Adamax", dict(lr=0.01, weight_decay=0.1)), ("NAdam", dict(lr=0.01, decoupled_weight_decay=True,
                                                                        weight_decay=0.1)),
            ("RAdam", dict(lr=0.01, betas=(0.5, 0.8))), ("Adadelta", dict(rho=0.5)),
            ("ASGD", dict(lr=0.05, t0=2)), ("Rprop", dict(lr=0.05, etas=(0.3, 1.5)))]


@pytest.mark.parametrize("opt_name,kwargs", SD_CASES, ids=[c[0] for c in SD_CASES])
def test_state_dicts_load_both_ways_with_pytorch(torch, device, opt_name, kwargs):
    model, ref, opt, topt, take_step = train_both(torch, device, "float64", opt_name, kwargs, steps=3)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sorted(sd["state"]) == sorted(tsd["state"])
    for g, tg in zip(sd["param_groups"], tsd["param_groups"]):
        # (pair() gives PyTorch foreach=False; ours holds the default, None)
        assert sorted(g) == sorted(tg) and dict(g, foreach=False) == tg
    for i, s in sd["state"].items():
        assert list(s) == list(tsd["state"][i])
    # PyTorch's state into a fresh ag optimizer, ours into a fresh torch optimizer; then all four train on
    ours2 = getattr(optim, opt_name)(model.parameters(), lr=123.0)
    ours2.load_state_dict(_convert(tsd, _to_ag))
    theirs2 = getattr(torch.optim, opt_name)(ref.parameters(), lr=123.0)
    theirs2.load_state_dict(_convert(sd, lambda v: _to_torch(torch, v)))
    assert ours2.param_groups[0]["lr"] == theirs2.param_groups[0]["lr"] == kwargs.get("lr", topt.defaults["lr"])
    # ours holding PyTorch's state against PyTorch holding ours (both as loading casts them)
    _compare(ours2, theirs2, model, ref, TOL["float64"], "loaded", loaded=True)
    x_np, y_np = _data("float64", "mse")
    for step in range(4):
        for o in (ours2, theirs2):
            o.zero_grad()
        nn.functional.mse_loss(model(ag.tensor(x_np, device=device)), ag.tensor(y_np, device=device)).backward()
        torch.nn.functional.mse_loss(ref(torch.from_numpy(x_np)), torch.from_numpy(y_np)).backward()
        ours2.step()
        theirs2.step()
        _compare(ours2, theirs2, model, ref, TOL["float64"], f"after loading, step {step + 1}", loaded=True)


def test_load_state_dict_moves_state_to_the_parameters_device_and_dtype(device):
    p = ag.ones(3, dtype=ag.float32, device=device, requires_grad=True)
    saved = {"state": {0: {"step": 4.0, "eta": 0.5, "mu": 1.0, "ax": ag.zeros(3, dtype=ag.float64)}},
             "param_groups": [dict(optim.ASGD([ag.ones(1, requires_grad=True)]).defaults, params=[0])]}
    opt = optim.ASGD([p])
    opt.load_state_dict(saved)
    st = opt.state[p]
    assert all(st[k].device == p.device and st[k].dtype == ag.float32 and st[k].shape == () for k in
               ("step", "eta", "mu"))
    assert [st[k].item() for k in ("step", "eta", "mu")] == [4.0, 0.5, 1.0]
    assert st["ax"].dtype == ag.float32 and st["ax"].device == p.device
    n = optim.NAdam([p])
    n.load_state_dict({"state": {0: {"step": 2.0, "mu_product": 0.5, "exp_avg": ag.zeros(3),
                                     "exp_avg_sq": ag.zeros(3)}}, "param_groups": [dict(n.defaults, params=[0])]})
    # (PyTorch's policy: a loaded 0-d entry but "step" takes the parameter's dtype and device)
    assert n.state[p]["mu_product"].device == p.device and n.state[p]["mu_product"].item() == 0.5
    assert n.state[p]["step"].device == ag.device("cpu")


# ---- LBFGS -----------------------------------------------------------------------------------------

def _lbfgs_pair(torch, dtype, kwargs, n_out=2):
    model = _mlp(dtype, "cpu", n_out)
    ref = _torch_copy(torch, model, dtype)
    x_np, y_np = _data(dtype, "mse", n=16, n_out=n_out, seed=3)
    x, y, tx, ty = ag.tensor(x_np), ag.tensor(y_np), torch.from_numpy(x_np), torch.from_numpy(y_np)
    opt = optim.LBFGS(model.parameters(), **kwargs)
    topt = torch.optim.LBFGS(ref.parameters(), **kwargs)
    calls = [0, 0]

    def closure():
        calls[0] += 1
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        return loss

    def tclosure():
        calls[1] += 1
        topt.zero_grad()
        loss = torch.nn.functional.mse_loss(ref(tx), ty)
        loss.backward()
        return loss
    return model, ref, opt, topt, closure, tclosure, calls


def _compare_lbfgs_state(opt, topt, model, ref, tol):
    st, tst = opt.state[next(iter(model.parameters()))], topt.state[next(iter(ref.parameters()))]
    assert sorted(st) == sorted(tst)
    for k, tv in tst.items():
        v = st[k]
        if isinstance(tv, list):
            assert len(v) == len(tv), k
            for a, b in zip(v, tv):
                if b is None:
                    assert a is None
                else:
                    np.testing.assert_allclose(_np(a), b.numpy(), **tol, err_msg=k)
        elif hasattr(tv, "numpy"):
            assert isinstance(v, ag.Tensor) and v.shape == tuple(tv.shape), k
            np.testing.assert_allclose(_np(v), tv.numpy(), **tol, err_msg=k)
        else:
            assert type(v) is type(tv) and v == pytest.approx(tv, rel=tol["rtol"]), k


LBFGS_CASES = {
    "fixed": dict(lr=0.5, max_iter=5),
    "fixed-history": dict(lr=0.3, max_iter=6, history_size=2),
    "wolfe": dict(max_iter=6, line_search_fn="strong_wolfe"),
    "wolfe-history": dict(lr=0.8, max_iter=8, history_size=3, line_search_fn="strong_wolfe"),
    "max_eval": dict(max_iter=10, max_eval=4, line_search_fn="strong_wolfe"),
    "tolerance_change": dict(max_iter=20, tolerance_change=1e-2),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", list(LBFGS_CASES))
def test_lbfgs_matches_pytorch(torch, dtype, case):
    kwargs = LBFGS_CASES[case]
    model, ref, opt, topt, closure, tclosure, calls = _lbfgs_pair(torch, dtype, kwargs)
    # float32: iterations and line searches amplify the rounding of the gradients (their sum order differs)
    tol = TOL[dtype] if dtype == "float64" else dict(rtol=2e-3, atol=2e-4)
    for _ in range(3):
        loss, tloss = opt.step(closure), topt.step(tclosure)
        assert loss.item() == pytest.approx(tloss.item(), rel=tol["rtol"])
        assert calls[0] == calls[1]                             # the same evaluations, in the same number
        for p, tp in zip(model.parameters(), ref.parameters()):
            np.testing.assert_allclose(_np(p), tp.detach().numpy(), **tol)
        _compare_lbfgs_state(opt, topt, model, ref, tol)


def test_lbfgs_tolerance_grad_returns_at_once(torch):
    model, ref, opt, topt, closure, tclosure, calls = _lbfgs_pair(torch, "float64", dict(tolerance_grad=1e6))
    before = [_np(p).copy() for p in model.parameters()]
    opt.step(closure)
    topt.step(tclosure)
    assert calls == [1, 1]
    assert all(np.array_equal(b, _np(p)) for b, p in zip(before, model.parameters()))
    assert opt.state[next(iter(model.parameters()))] == {"func_evals": 1, "n_iter": 0}


@pytest.mark.parametrize("case", ["fixed-history", "wolfe-history"])
def test_lbfgs_state_dict_loads_both_ways(torch, case):
    kwargs = LBFGS_CASES[case]
    model, ref, opt, topt, closure, tclosure, _ = _lbfgs_pair(torch, "float64", kwargs)
    opt.step(closure)
    topt.step(tclosure)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["param_groups"] == tsd["param_groups"]
    ours2 = optim.LBFGS(model.parameters(), **kwargs)
    ours2.load_state_dict(_convert(tsd, _to_ag))
    theirs2 = torch.optim.LBFGS(ref.parameters(), **kwargs)
    theirs2.load_state_dict(_convert(sd, lambda v: _to_torch(torch, v)))
    opt, topt = ours2, theirs2

    def closure2():
        ours2.zero_grad()
        x_np, y_np = _data("float64", "mse", n=16, n_out=2, seed=3)
        loss = nn.functional.mse_loss(model(ag.tensor(x_np)), ag.tensor(y_np))
        loss.backward()
        return loss

    def tclosure2():
        theirs2.zero_grad()
        x_np, y_np = _data("float64", "mse", n=16, n_out=2, seed=3)
        loss = torch.nn.functional.mse_loss(ref(torch.from_numpy(x_np)), torch.from_numpy(y_np))
        loss.backward()
        return loss
    for _ in range(2):
        ours2.step(closure2)
        theirs2.step(tclosure2)
        for p, tp in zip(model.parameters(), ref.parameters()):
            np.testing.assert_allclose(_np(p), tp.detach().numpy(), **TOL["float64"])
        _compare_lbfgs_state(ours2, theirs2, model, ref, TOL["float64"])


def test_lbfgs_on_device_matches_cpu(torch, device):
    """The same problem on `device` and on the CPU (the CUDA path: Tensor ops on CuPy arrays)."""
    results = []
    for dev in ("cpu", device):
        p = ag.tensor([-1.2, 1.0, 0.5], dtype=ag.float64, device=dev, requires_grad=True)
        opt = optim.LBFGS([p], max_iter=15, line_search_fn="strong_wolfe", history_size=4)

        def closure():
            opt.zero_grad()
            loss = ((1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2 + (p[2] - 2) ** 2)
            loss.backward()
            return loss
        for _ in range(2):
            opt.step(closure)
        results.append(_np(p))
        assert opt.state[p]["d"].device == p.device
    tp = torch.tensor([-1.2, 1.0, 0.5], dtype=torch.float64, requires_grad=True)
    topt = torch.optim.LBFGS([tp], max_iter=15, line_search_fn="strong_wolfe", history_size=4)

    def tclosure():
        topt.zero_grad()
        loss = ((1 - tp[0]) ** 2 + 100 * (tp[1] - tp[0] ** 2) ** 2 + (tp[2] - 2) ** 2)
        loss.backward()
        return loss
    for _ in range(2):
        topt.step(tclosure)
    np.testing.assert_allclose(results[0], tp.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(results[1], results[0], rtol=1e-10, atol=1e-12)


def test_lbfgs_bad_arguments(torch):
    for mod, make in ((optim, lambda: ag.ones(2, requires_grad=True)),
                      (torch.optim, lambda: torch.ones(2, requires_grad=True))):
        with pytest.raises(ValueError, match="Invalid learning rate: -1"):
            mod.LBFGS([make()], lr=-1)
        with pytest.raises(ValueError, match="doesn't support per-parameter options"):
            mod.LBFGS([{"params": [make()]}, {"params": [make()]}])
    p = ag.ones(2, requires_grad=True)
    opt = optim.LBFGS([p], line_search_fn="backtracking")
    called = []

    def closure():
        called.append(1)
        return (p * p).sum()
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(closure)
    # (PyTorch evaluates the closure once before it raises; we raise before anything runs)
    assert not called and not opt.state and p.tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        opt.add_param_group({"params": [ag.ones(1, requires_grad=True)]})
    assert len(opt.param_groups) == 1


# ---- bad hyperparameters --------------------------------------------------------------------------------

BAD = [
    ("Adamax", dict(lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
    ("Adamax", dict(eps=-1.0), ValueError, "Invalid epsilon value: -1.0"),
    ("Adamax", dict(betas=(1.0, 0.9)), ValueError, "Invalid beta parameter at index 0: 1.0"),
    ("Adamax", dict(betas=(0.9, -0.1)), ValueError, "Invalid beta parameter at index 1: -0.1"),
    ("Adamax", dict(weight_decay=-0.1), ValueError, "Invalid weight_decay value: -0.1"),
    ("NAdam", dict(lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
    ("NAdam", dict(betas=(0.9, 1.0)), ValueError, "Invalid beta parameter at index 1: 1.0"),
    ("NAdam", dict(momentum_decay=-0.1), ValueError, "Invalid momentum_decay value: -0.1"),
    ("NAdam", dict(weight_decay=-0.1), ValueError, "Invalid weight_decay value: -0.1"),
    ("RAdam", dict(lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
    ("RAdam", dict(eps=-0.1), ValueError, "Invalid epsilon value: -0.1"),
    ("RAdam", dict(betas=(-0.5, 0.9)), ValueError, "Invalid beta parameter at index 0: -0.5"),
    ("RAdam", dict(weight_decay=-0.1), ValueError, "Invalid weight_decay value: -0.1"),
    ("Adadelta", dict(lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
    ("Adadelta", dict(rho=1.5), ValueError, "Invalid rho value: 1.5"),
    ("Adadelta", dict(rho=-0.1), ValueError, "Invalid rho value: -0.1"),
    ("Adadelta", dict(eps=-0.1), ValueError, "Invalid epsilon value: -0.1"),
    ("Adadelta", dict(weight_decay=-0.1), ValueError, "Invalid weight_decay value: -0.1"),
    ("ASGD", dict(lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
    ("ASGD", dict(weight_decay=-0.1), ValueError, "Invalid weight_decay value: -0.1"),
    ("Rprop", dict(lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
    ("Rprop", dict(etas=(1.5, 2.0)), ValueError, "Invalid eta values: 1.5, 2.0"),
    ("Rprop", dict(etas=(0.5, 0.9)), ValueError, "Invalid eta values: 0.5, 0.9"),
]


@pytest.mark.parametrize("name,kwargs,exc,msg", BAD, ids=[f"{b[0]}-{next(iter(b[1]))}-{i}" for i, b in enumerate(BAD)])
def test_bad_hyperparameters_match_pytorch(torch, name, kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        getattr(optim, name)([ag.ones(2, requires_grad=True)], **kwargs)
    with pytest.raises(exc, match=msg):
        getattr(torch.optim, name)([torch.ones(2, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_bad_params_flags_and_groups_change_nothing(torch, name):
    cls = getattr(optim, name)
    for mod, make in ((optim, lambda: ag.ones(2, requires_grad=True)),
                      (torch.optim, lambda: torch.ones(2, requires_grad=True))):
        with pytest.raises(ValueError, match="empty parameter list"):
            getattr(mod, name)([])
        with pytest.raises(TypeError):
            getattr(mod, name)(make())
        with pytest.raises(ValueError):
            getattr(mod, name)([make() * 2])
    for flag in ("capturable", "differentiable"):
        with pytest.raises(ValueError, match=f"{name}: {flag}=True is not supported"):
            cls([ag.ones(2, requires_grad=True)], **{flag: True})
    with pytest.raises(TypeError, match="maximize must be a bool"):
        cls([ag.ones(2, requires_grad=True)], maximize="yes")
    p, q = ag.ones(2, requires_grad=True), ag.ones(2, requires_grad=True)
    opt = cls([p], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        opt.add_param_group({"params": [q], "lr": -1.0})
    assert len(opt.param_groups) == 1 and q not in opt.state
    p.grad = ag.ones(2)
    opt.step()
    sd = opt.state_dict()
    before = (p.tolist(), {k: v.tolist() for k, v in opt.state[p].items()}, dict(opt.param_groups[0]))
    bad = {"state": sd["state"], "param_groups": [dict(sd["param_groups"][0], lr=-5.0)]}
    with pytest.raises(ValueError, match="Invalid learning rate"):
        opt.load_state_dict(bad)
    assert before == (p.tolist(), {k: v.tolist() for k, v in opt.state[p].items()}, dict(opt.param_groups[0]))


# ---- lr schedulers ----------------------------------------------------------------------------------------

class _Halving:
    """A callable object: its __dict__ goes into the state dict."""

    def __init__(self):
        self.rate = 0.95

    def __call__(self, epoch):
        return self.rate if epoch % 3 else 1.0


SCHEDULERS = {
    "ConstantLR": dict(),
    "ConstantLR-half": dict(factor=0.5, total_iters=7),
    "MultiplicativeLR": dict(lr_lambda=lambda e: 0.97),
    "MultiplicativeLR-per-group": dict(lr_lambda=[lambda e: 0.9, _Halving()]),
    "PolynomialLR": dict(),
    "PolynomialLR-square": dict(total_iters=25, power=2.0),
    "PolynomialLR-root": dict(total_iters=12, power=0.5),
    "CosineAnnealingWarmRestarts": dict(T_0=7),
    "CosineAnnealingWarmRestarts-mult": dict(T_0=3, T_mult=2, eta_min=0.01),
    "CyclicLR": dict(base_lr=0.01, max_lr=0.1, step_size_up=4),
    "CyclicLR-triangular2": dict(base_lr=[0.01, 0.02], max_lr=0.2, step_size_up=3, step_size_down=5,
                                 mode="triangular2", base_momentum=0.7, max_momentum=0.95),
    "CyclicLR-exp_range": dict(base_lr=0.01, max_lr=0.1, step_size_up=5, mode="exp_range", gamma=0.97),
    "CyclicLR-no-momentum": dict(base_lr=0.01, max_lr=0.1, step_size_up=2, cycle_momentum=False),
    "CyclicLR-scale_fn": dict(base_lr=0.01, max_lr=0.1, step_size_up=3, scale_fn=lambda x: 1 / (1 + x),
                              scale_mode="iterations"),
    "OneCycleLR": dict(max_lr=0.5, total_steps=60),
    "OneCycleLR-linear": dict(max_lr=[0.5, 1.0], epochs=6, steps_per_epoch=10, anneal_strategy="linear",
                              pct_start=0.25),
    "OneCycleLR-three_phase": dict(max_lr=0.5, total_steps=60, three_phase=True, div_factor=10.0,
                                   final_div_factor=100.0, base_momentum=0.8),
    "OneCycleLR-no-momentum": dict(max_lr=0.5, total_steps=60, cycle_momentum=False),
}
ADAM_KEYS = ["CyclicLR", "CyclicLR-triangular2", "OneCycleLR", "OneCycleLR-three_phase"]


def _optimizers(torch, kind):
    p, q = ag.ones(2, requires_grad=True), ag.ones(2, requires_grad=True)
    tp, tq = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    if kind == "SGD":
        return (optim.SGD([{"params": [p]}, {"params": [q], "lr": 0.3}], lr=0.1, momentum=0.9),
                torch.optim.SGD([{"params": [tp]}, {"params": [tq], "lr": 0.3}], lr=0.1, momentum=0.9))
    return (getattr(optim, kind)([{"params": [p]}, {"params": [q], "lr": 0.3}], lr=0.1),
            getattr(torch.optim, kind)([{"params": [tp]}, {"params": [tq], "lr": 0.3}], lr=0.1))


def _scheduler_pair(torch, key, kind="SGD"):
    opt, topt = _optimizers(torch, kind)
    cls = key.split("-")[0]
    return opt, topt, getattr(lr_scheduler, cls)(opt, **SCHEDULERS[key]), \
        getattr(torch.optim.lr_scheduler, cls)(topt, **SCHEDULERS[key])


def _momenta(opt):
    return [g.get("momentum", g.get("betas", (None,))[0]) for g in opt.param_groups]


# every scheduler on SGD (its momentum cycled where asked); the momentum-cycling ones on Adam too (beta1)
SEQUENCE_CASES = [(k, "SGD") for k in SCHEDULERS] + [(k, "Adam") for k in ADAM_KEYS]


@pytest.mark.parametrize("key,kind", SEQUENCE_CASES, ids=[f"{k}-{o}" for k, o in SEQUENCE_CASES])
def test_scheduler_sequence_matches_pytorch(torch, key, kind):
    opt, topt, sched, tsched = _scheduler_pair(torch, key, kind)
    assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-15)
    assert sched.last_epoch == tsched.last_epoch
    steps = 60 if key.startswith("OneCycleLR") else 70
    for epoch in range(steps):
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        ours, theirs = sched.get_last_lr(), tsched.get_last_lr()
        assert ours == pytest.approx(theirs, rel=1e-13, abs=1e-16), (key, epoch)
        assert [g["lr"] for g in opt.param_groups] == ours
        assert _momenta(opt) == pytest.approx(_momenta(topt), rel=1e-13), (key, epoch)
        assert sched.last_epoch == tsched.last_epoch
    assert sched.base_lrs == pytest.approx(tsched.base_lrs, rel=1e-15)
    for g, tg in zip(opt.param_groups, topt.param_groups):
        for k in ("initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"):
            assert (k in g) == (k in tg) and g.get(k) == tg.get(k), (key, k)


def test_one_cycle_lr_past_total_steps_raises(torch):
    for L, o in ((lr_scheduler, _optimizers(torch, "SGD")[0]), (torch.optim.lr_scheduler,
                                                                 _optimizers(torch, "SGD")[1])):
        sched = L.OneCycleLR(o, max_lr=0.1, total_steps=3)
        for _ in range(3):
            o.step()
            sched.step()
        with pytest.raises(ValueError, match="Tried to step 4 times"):
            sched.step()


@pytest.mark.parametrize("key", list(SCHEDULERS))
def test_scheduler_state_dict_matches_pytorch_and_resumes(torch, key):
    opt, topt, sched, tsched = _scheduler_pair(torch, key)
    for _ in range(5):
        for o in (opt, topt, sched, tsched):
            o.step()
    sd, tsd = sched.state_dict(), tsched.state_dict()
    assert sorted(sd) == sorted(tsd)
    for k, v in tsd.items():
        if k == "lr_lambdas":
            assert [x is None for x in sd[k]] == [x is None for x in v] and sd[k] == v
        elif k not in ("_scale_fn_ref",):
            assert sd[k] == v or sd[k] == pytest.approx(v, rel=1e-14), k
    saved_groups = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    want = []
    for _ in range(8):
        opt.step()
        sched.step()
        want.append((sched.get_last_lr(), _momenta(opt)))
    opt2, _ = _optimizers(torch, "SGD")
    cls = key.split("-")[0]
    again = getattr(lr_scheduler, cls)(opt2, **SCHEDULERS[key])
    again.load_state_dict(dict(sd))
    for g, saved in zip(opt2.param_groups, saved_groups):      # as loading the optimizer's state would
        g.update(saved)
    got = []
    for _ in range(8):
        opt2.step()
        again.step()
        got.append((again.get_last_lr(), _momenta(opt2)))
    assert got == want


def test_torch_scheduler_state_dict_loads_into_ours(torch):
    """A state dict saved by PyTorch's OneCycleLR (with beta1 cycling) loads into ours and continues as PyTorch's."""
    opt, topt, sched, tsched = _scheduler_pair(torch, "OneCycleLR-three_phase", "Adam")
    for _ in range(20):
        for o in (topt, tsched):
            o.step()
    opt.load_state_dict({"state": {}, "param_groups": [
        {k: (tuple(v) if isinstance(v, tuple) else v) for k, v in g.items() if k in opt.param_groups[i] or k in (
            "initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum")} | {"params": [i]}
        for i, g in enumerate(topt.state_dict()["param_groups"])]})
    sched.load_state_dict(tsched.state_dict())
    for _ in range(30):
        for o in (opt, topt, sched, tsched):
            o.step()
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-14)
        assert _momenta(opt) == pytest.approx(_momenta(topt), rel=1e-14)


@pytest.mark.parametrize("key,kwargs", [("ConstantLR", dict(factor=0.25, total_iters=4)),
                                        ("PolynomialLR", dict(total_iters=10, power=1.5))])
def test_step_with_epoch_uses_the_closed_form(torch, key, kwargs):
    opt, topt = _optimizers(torch, "SGD")
    sched = getattr(lr_scheduler, key)(opt, **kwargs)
    tsched = getattr(torch.optim.lr_scheduler, key)(topt, **kwargs)
    for epoch in (3, 9, 2, 15, 15, 4, 0):
        opt.step()
        topt.step()
        with pytest.warns(UserWarning, match="epoch parameter"):
            sched.step(epoch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tsched.step(epoch)
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-14), (key, epoch)


def test_cosine_warm_restarts_fractional_epochs(torch):
    for kwargs in (dict(T_0=5), dict(T_0=3, T_mult=2, eta_min=0.001)):
        opt, topt = _optimizers(torch, "SGD")
        sched = lr_scheduler.CosineAnnealingWarmRestarts(opt, **kwargs)
        tsched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(topt, **kwargs)
        for epoch in (0.5, 1.25, 3.0, 7.9, 2.2, 15.5, 40.0, 0.0):
            with warnings.catch_warnings():
                warnings.simplefilter("error")          # PyTorch's version neither counts nor warns
                sched.step(epoch)
            tsched.step(epoch)
            assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-14), (kwargs, epoch)
            assert (sched.T_cur, sched.T_i, sched.last_epoch) == (tsched.T_cur, tsched.T_i, tsched.last_epoch)
        with pytest.raises(ValueError, match="Expected non-negative epoch"):
            sched.step(-1)


def _composite(L, o, kind):
    if kind == "sequential":
        s1 = L.ConstantLR(o, factor=0.1, total_iters=2)
        s2 = L.ExponentialLR(o, gamma=0.9)
        s3 = L.PolynomialLR(o, total_iters=6, power=2.0)
        return L.SequentialLR(o, [s1, s2, s3], milestones=[2, 7])
    if kind == "sequential-warmup-cosine":
        s1 = L.LinearLR(o, start_factor=0.2, total_iters=4)
        s2 = L.CosineAnnealingWarmRestarts(o, T_0=5)
        return L.SequentialLR(o, [s1, s2], milestones=[4])
    if kind == "chained":
        return L.ChainedScheduler([L.ConstantLR(o, factor=0.5, total_iters=3), L.ExponentialLR(o, gamma=0.95),
                                   L.MultiplicativeLR(o, lr_lambda=lambda e: 0.99)])
    s1 = L.ConstantLR(o, factor=0.5, total_iters=3)
    inner = L.SequentialLR(o, [L.ExponentialLR(o, gamma=0.9), L.StepLR(o, step_size=3)], milestones=[5])
    return L.ChainedScheduler([s1, inner], optimizer=o)


@pytest.mark.parametrize("kind", ["sequential", "sequential-warmup-cosine", "chained", "chained-sequential"])
def test_sequential_and_chained_match_pytorch(torch, kind):
    opt, topt = _optimizers(torch, "SGD")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched, tsched = _composite(lr_scheduler, opt, kind), _composite(torch.optim.lr_scheduler, topt, kind)
    assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-14)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([g["lr"] for g in topt.param_groups], rel=1e-14)
    for epoch in range(25):
        for o in (opt, topt, sched, tsched):
            o.step()
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-13), (kind, epoch)
        assert [g["lr"] for g in opt.param_groups] == pytest.approx(tsched.get_last_lr(), rel=1e-13)
    sd, tsd = sched.state_dict(), tsched.state_dict()
    assert sorted(sd) == sorted(tsd)
    assert [sorted(s) for s in sd["_schedulers"]] == [sorted(s) for s in tsd["_schedulers"]]
    assert sd["_schedulers"][0]["last_epoch"] == tsd["_schedulers"][0]["last_epoch"]
    # load ours into a fresh composite and carry on alike
    opt2, _ = _optimizers(torch, "SGD")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = _composite(lr_scheduler, opt2, kind)
    again.load_state_dict(sd)
    for g, tg in zip(opt2.param_groups, opt.param_groups):
        g["lr"] = tg["lr"]
    for _ in range(5):
        for o in (opt, opt2, sched, again):
            o.step()
        assert again.get_last_lr() == sched.get_last_lr()


def test_scheduler_bad_arguments_change_nothing(torch):
    def groups(o):
        return [{k: v for k, v in g.items() if k != "params"} for g in o.param_groups]
    cases = [
        (ValueError, "Constant multiplicative factor", lambda L, o: L.ConstantLR(o, factor=1.5)),
        (ValueError, "expected 2 lr_lambdas|Expected 2 lr_lambdas",
         lambda L, o: L.MultiplicativeLR(o, [lambda e: 1.0])),
        (TypeError, "lr_lambda should be a function", lambda L, o: L.MultiplicativeLR(o, 0.5)),
        (ValueError, "Expected positive integer T_0", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=0)),
        (ValueError, "Expected integer T_mult >= 1", lambda L, o: L.CosineAnnealingWarmRestarts(o, 2, T_mult=0)),
        (ValueError, "Expected float or int eta_min",
         lambda L, o: L.CosineAnnealingWarmRestarts(o, 2, eta_min="0")),
        (ValueError, "mode .*is invalid and scale_fn is None",
         lambda L, o: L.CyclicLR(o, 0.01, 0.1, mode="saw")),
        (ValueError, "max_lr must have the same length",
         lambda L, o: L.CyclicLR(o, 0.01, [0.1, 0.2, 0.3])),
        (ValueError, "Expected positive integer total_steps", lambda L, o: L.OneCycleLR(o, 0.1, total_steps=0)),
        (ValueError, "You must define either total_steps", lambda L, o: L.OneCycleLR(o, 0.1, epochs=3)),
        (ValueError, "Expected positive integer epochs",
         lambda L, o: L.OneCycleLR(o, 0.1, epochs=0, steps_per_epoch=2)),
        (ValueError, "Expected positive integer steps_per_epoch",
         lambda L, o: L.OneCycleLR(o, 0.1, epochs=2, steps_per_epoch=1.5)),
        (ValueError, "Expected float between 0 and 1 pct_start",
         lambda L, o: L.OneCycleLR(o, 0.1, total_steps=10, pct_start=1)),
        (ValueError, "anneal_strategy must be one of", lambda L, o: L.OneCycleLR(o, 0.1, 10, anneal_strategy="x")),
        (ValueError, "expects at least one scheduler", lambda L, o: L.SequentialLR(o, [], [])),
        (ValueError, "expects at least one scheduler", lambda L, o: L.ChainedScheduler([])),
        (ValueError, "one more than the number of milestone points",
         lambda L, o: L.SequentialLR(o, [L.ConstantLR(o)], [3])),
        (ValueError, "does not support `ReduceLROnPlateau`",
         lambda L, o: L.SequentialLR(o, [L.ReduceLROnPlateau(o), L.ConstantLR(o)], [3])),
        (TypeError, "should have `optimizer` as its attribute", lambda L, o: L.ChainedScheduler([object()], o)),
    ]
    for exc, msg, make in cases:
        for L, o in ((lr_scheduler, _optimizers(torch, "SGD")[0]), (torch.optim.lr_scheduler,
                                                                     _optimizers(torch, "SGD")[1])):
            before = groups(o)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with pytest.raises(exc, match=msg):
                    make(L, o)
            if L is lr_scheduler and "scheduler" not in msg and "milestone" not in msg \
                    and "ReduceLROnPlateau" not in msg and "attribute" not in msg:
                assert groups(o) == before, msg      # (the composite cases built their parts first)
    # a momentum-less optimizer with cycle_momentum (ours also changes nothing)
    o = optim.Adagrad([ag.ones(1, requires_grad=True)], lr=0.1)
    for make in (lambda: lr_scheduler.CyclicLR(o, 0.01, 0.1), lambda: lr_scheduler.OneCycleLR(o, 0.1, 10)):
        with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
            make()
        assert o.param_groups[0]["lr"] == 0.1 and "initial_lr" not in o.param_groups[0]
    to = torch.optim.Adagrad([torch.ones(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        torch.optim.lr_scheduler.CyclicLR(to, 0.01, 0.1)
    # another optimizer's scheduler
    o1, o2 = _optimizers(torch, "SGD")[0], _optimizers(torch, "SGD")[0]
    with pytest.raises(ValueError, match="expects all schedulers to belong to the same optimizer"):
        lr_scheduler.SequentialLR(o1, [lr_scheduler.ConstantLR(o1), lr_scheduler.ConstantLR(o2)], [2])


def test_new_schedulers_are_exported(torch):
    for name in ("ConstantLR", "MultiplicativeLR", "PolynomialLR", "CosineAnnealingWarmRestarts", "CyclicLR",
                 "OneCycleLR", "SequentialLR", "ChainedScheduler"):
        assert name in lr_scheduler.__all__
        ours = inspect.signature(getattr(lr_scheduler, name)).parameters
        theirs = inspect.signature(getattr(torch.optim.lr_scheduler, name)).parameters
        assert list(ours) == list(theirs), name
        for pname, p in ours.items():
            assert p.default == theirs[pname].default or (isinstance(p.default, float) and
                                                          math.isclose(p.default, theirs[pname].default)), pname
