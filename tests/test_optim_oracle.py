"""ag.optim against PyTorch CPU: the same MLP, the same initial weights and
data, 20 steps of each optimizer configuration, parameters compared after
EVERY step (float32 and float64, MSE and cross-entropy). Then the optimizer
API: parameter groups, state dicts (compared with PyTorch's state), closures,
zero_grad, and bad arguments (PyTorch's exception types, nothing changed).

On a CUDA device the ag side runs the fused GPU kernels, PyTorch stays on the CPU."""
import numpy as np
import pytest

import autograd_gpu as ag
from autograd_gpu import nn, optim

STEPS = 20

SGD_CONFIGS = {
    "plain": dict(lr=0.1),
    "momentum": dict(lr=0.05, momentum=0.9),
    "dampening": dict(lr=0.05, momentum=0.9, dampening=0.3),
    "nesterov": dict(lr=0.05, momentum=0.9, nesterov=True),
    "weight_decay": dict(lr=0.05, weight_decay=0.01),
    "momentum_weight_decay": dict(lr=0.05, momentum=0.5, weight_decay=0.1),
    "maximize": dict(lr=0.01, momentum=0.5, weight_decay=0.01, maximize=True),
}
ADAM_CONFIGS = {
    "plain": dict(lr=0.01),
    "weight_decay": dict(lr=0.01, weight_decay=0.1),
    "amsgrad": dict(lr=0.01, amsgrad=True),
    "amsgrad_weight_decay": dict(lr=0.02, betas=(0.8, 0.99), weight_decay=0.05, amsgrad=True),
    # 1 - beta1 >= 0.5 takes lerp's other branch
    "low_beta1": dict(lr=0.01, betas=(0.3, 0.9), eps=1e-6),
    "maximize": dict(lr=0.01, maximize=True),
}
CONFIGS = [("SGD", k) for k in SGD_CONFIGS] + [("Adam", k) for k in ADAM_CONFIGS]

# Per dtype: the parameters may differ by the rounding of gradients computed
# in a different order (matmul, sums) compounded over 20 steps.
TOL = {"float32": dict(rtol=2e-5, atol=2e-6), "float64": dict(rtol=1e-12, atol=1e-13)}

_largest = {}        # (optimizer, config, loss, dtype) -> largest |difference| seen


@pytest.fixture(scope="module", autouse=True)
def _report_largest():
    yield
    if _largest:
        print("\nlargest parameter difference vs PyTorch over the steps:")
        for key in sorted(_largest):
            print("  " + " / ".join(key) + f": {_largest[key]:.3g}")


def _mlp(dtype, device, n_out):
    return nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 8), nn.ReLU(),
                         nn.Linear(8, n_out)).to(device=device, dtype=getattr(ag, dtype))


def _torch_copy(torch, model, dtype):
    layers = []
    for m in model:
        if isinstance(m, nn.Linear):
            t = torch.nn.Linear(m.in_features, m.out_features, dtype=getattr(torch, dtype))
            with torch.no_grad():
                t.weight.copy_(torch.from_numpy(m.weight.detach().cpu().numpy().copy()))
                t.bias.copy_(torch.from_numpy(m.bias.detach().cpu().numpy().copy()))
            layers.append(t)
        else:
            layers.append({nn.Tanh: torch.nn.Tanh, nn.ReLU: torch.nn.ReLU}[type(m)]())
    return torch.nn.Sequential(*layers)


def _data(dtype, loss, n=32, n_out=3, seed=5):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(dtype)
    if loss == "mse":
        y = rng.standard_normal((n, n_out)).astype(dtype)
    else:
        y = rng.integers(0, n_out, n).astype(np.int64)
    return x, y


def _params_np(model):
    return [p.detach().cpu().numpy() for p in model.parameters()]


def pair(torch, device, dtype, loss, opt_name, kwargs, groups=None):
    """The ag and torch copies of one MLP and its optimizer, and step(): one
    training step on both. `groups`: [(layer index, group options)]."""
    model = _mlp(dtype, device, 3)
    ref = _torch_copy(torch, model, dtype)
    x_np, y_np = _data(dtype, loss)
    x, y = ag.tensor(x_np, device=device), ag.tensor(y_np, device=device)
    tx, ty = torch.from_numpy(x_np), torch.from_numpy(y_np)
    ag_loss = nn.MSELoss() if loss == "mse" else nn.CrossEntropyLoss()
    torch_loss = torch.nn.MSELoss() if loss == "mse" else torch.nn.CrossEntropyLoss()
    if groups is None:
        params, tparams = model.parameters(), ref.parameters()
    else:
        params = [dict(g, params=[model[i].weight, model[i].bias]) for i, g in groups]
        tparams = [dict(g, params=[ref[i].weight, ref[i].bias]) for i, g in groups]
    opt = getattr(optim, opt_name)(params, **kwargs)
    topt = getattr(torch.optim, opt_name)(tparams, **kwargs, foreach=False)

    def step():
        opt.zero_grad()
        topt.zero_grad()
        ag_loss(model(x), y).backward()
        torch_loss(ref(tx), ty).backward()
        opt.step()
        topt.step()
    return model, ref, opt, topt, step


def run_both(torch, device, dtype, loss, opt_name, kwargs, steps=STEPS, groups=None):
    """Train the ag and torch copies side by side; returns the largest
    parameter difference seen, asserting closeness after every step."""
    model, ref, opt, topt, take_step = pair(torch, device, dtype, loss, opt_name, kwargs, groups)
    largest = 0.0
    for step in range(steps):
        take_step()
        for (name, p), tp in zip(model.named_parameters(), ref.parameters()):
            got, want = p.detach().cpu().numpy(), tp.detach().numpy()
            largest = max(largest, float(np.max(np.abs(got - want))))
            np.testing.assert_allclose(got, want, **TOL[dtype],
                                       err_msg=f"{opt_name}({kwargs}) step {step + 1}, parameter {name}")
    return largest


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("opt_name,config", CONFIGS, ids=[f"{o}-{c}" for o, c in CONFIGS])
def test_matches_pytorch_every_step(torch, device, dtype, loss, opt_name, config):
    kwargs = (SGD_CONFIGS if opt_name == "SGD" else ADAM_CONFIGS)[config]
    largest = run_both(torch, device, dtype, loss, opt_name, kwargs)
    key = (opt_name, config, loss, dtype, device)
    _largest[key] = max(_largest.get(key, 0.0), largest)


@pytest.mark.parametrize("opt_name,groups", [
    ("SGD", [(0, dict(lr=0.1, momentum=0.9)), (2, dict(lr=0.01)), (4, dict(nesterov=True, momentum=0.5))]),
    ("Adam", [(0, dict(lr=0.05, amsgrad=True)), (2, dict(betas=(0.5, 0.9))), (4, dict(weight_decay=0.2))]),
])
def test_param_groups_match_pytorch(torch, device, opt_name, groups):
    defaults = dict(lr=0.02)
    run_both(torch, device, "float64", "mse", opt_name, defaults, groups=groups)


# ---- state -----------------------------------------------------------------------------------

@pytest.mark.parametrize("opt_name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9)),
                                             ("Adam", dict(lr=0.01, amsgrad=True))])
def test_state_dict_matches_pytorch(torch, device, opt_name, kwargs):
    model = _mlp("float64", device, 3)
    ref = _torch_copy(torch, model, "float64")
    x_np, y_np = _data("float64", "mse")
    opt = getattr(optim, opt_name)(model.parameters(), **kwargs)
    topt = getattr(torch.optim, opt_name)(ref.parameters(), **kwargs, foreach=False)
    for _ in range(3):
        for o, m, xx, yy, lossf in ((opt, model, ag.tensor(x_np, device=device), ag.tensor(y_np, device=device),
                                     nn.MSELoss()),
                                    (topt, ref, torch.from_numpy(x_np), torch.from_numpy(y_np),
                                     torch.nn.MSELoss())):
            o.zero_grad()
            lossf(m(xx), yy).backward()
            o.step()
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sorted(sd["state"]) == sorted(tsd["state"])
    for i, tstate in tsd["state"].items():
        assert sorted(sd["state"][i]) == sorted(tstate)
        for k, tv in tstate.items():
            v = sd["state"][i][k]
            assert v.device == (ag.device("cpu") if k == "step" else ag.device(device))
            np.testing.assert_allclose(v.cpu().numpy(), tv.numpy(), rtol=1e-12, atol=1e-14, err_msg=k)
    assert [g["params"] for g in sd["param_groups"]] == [g["params"] for g in tsd["param_groups"]]
    for g, tg in zip(sd["param_groups"], tsd["param_groups"]):
        for k, v in g.items():
            assert tg[k] == v or (isinstance(v, tuple) and tuple(tg[k]) == v), k


@pytest.mark.parametrize("opt_name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
                                             ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.01))])
def test_resume_from_state_dict_is_seamless(device, opt_name, kwargs):
    """5 steps, save model and optimizer, 5 more == 5 steps, load into fresh
    objects, 5 more (bit for bit)."""
    x_np, y_np = _data("float32", "mse")
    x, y = ag.tensor(x_np, device=device), ag.tensor(y_np, device=device)

    def train(model, opt, n):
        for _ in range(n):
            opt.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            opt.step()

    ag.manual_seed(3)
    model = _mlp("float32", device, 3)
    opt = getattr(optim, opt_name)(model.parameters(), **kwargs)
    train(model, opt, 5)
    saved_model = {k: v.clone() for k, v in model.state_dict().items()}
    saved_opt = opt.state_dict()
    saved_opt = {"state": {i: {k: (v.clone() if isinstance(v, ag.Tensor) else v) for k, v in s.items()}
                           for i, s in saved_opt["state"].items()},
                 "param_groups": saved_opt["param_groups"]}
    train(model, opt, 5)

    ag.manual_seed(99)                         # different initial weights, overwritten by the load
    fresh = _mlp("float32", device, 3)
    fresh.load_state_dict(saved_model)
    fresh_opt = getattr(optim, opt_name)(fresh.parameters(), lr=123.0)
    fresh_opt.load_state_dict(saved_opt)
    assert fresh_opt.param_groups[0]["lr"] == kwargs["lr"]
    train(fresh, fresh_opt, 5)
    for a, b in zip(_params_np(model), _params_np(fresh)):
        np.testing.assert_array_equal(a, b)


def test_load_state_dict_casts_to_param_dtype_and_copies(device):
    p = ag.zeros(3, dtype=ag.float64, device=device, requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    src = {"state": {0: {"step": ag.tensor(2.0), "exp_avg": ag.ones(3), "exp_avg_sq": ag.ones(3)}},
           "param_groups": [dict(lr=0.5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
                                 maximize=False, params=[0])]}
    opt.load_state_dict(src)
    st = opt.state[p]
    assert st["exp_avg"].dtype == ag.float64 and st["exp_avg"].device == p.device
    assert st["step"].dtype == ag.float32 and st["step"].item() == 2.0
    p.grad = ag.ones(3, dtype=ag.float64, device=device)
    opt.step()
    assert src["state"][0]["exp_avg"].tolist() == [1.0, 1.0, 1.0]       # the source is not aliased
    assert src["state"][0]["step"].item() == 2.0
    assert opt.state[p]["step"].item() == 3.0


def test_load_state_dict_errors_change_nothing(device):
    p = ag.zeros(3, device=device, requires_grad=True)
    q = ag.zeros(2, device=device, requires_grad=True)
    opt = optim.SGD([p, q], lr=0.1, momentum=0.9)
    p.grad, q.grad = ag.ones(3, device=device), ag.ones(2, device=device)
    opt.step()
    before = opt.state_dict()
    buf_before = opt.state[p]["momentum_buffer"].cpu().numpy().copy()
    bad = [
        ({"state": {}, "param_groups": []}, ValueError, "different number of parameter groups"),
        ({"state": {}, "param_groups": [dict(before["param_groups"][0], params=[0])]}, ValueError,
         "doesn't match the size"),
        ({"state": {0: {"momentum_buffer": ag.zeros(5)}}, "param_groups": before["param_groups"]}, ValueError,
         "shape"),
        ({"state": {}, "param_groups": [dict(before["param_groups"][0], lr=-1.0)]}, ValueError,
         "Invalid learning rate"),
        ([1, 2], ValueError, "state_dict"),
    ]
    for sd, exc, msg in bad:
        with pytest.raises(exc, match=msg):
            opt.load_state_dict(sd)
        assert opt.param_groups[0]["lr"] == 0.1
        np.testing.assert_array_equal(opt.state[p]["momentum_buffer"].cpu().numpy(), buf_before)


# ---- the step ----------------------------------------------------------------------------------

def test_step_is_in_place_without_graph_and_bumps_versions(device):
    p = ag.ones(4, device=device, requires_grad=True)
    arr = p._data
    (p * p).sum().backward()
    for opt in (optim.SGD([p], lr=0.1, momentum=0.9), optim.Adam([p], lr=0.1)):
        v = p._version
        opt.step()
        assert p._data is arr                     # updated in place
        assert p._version == v + 1
        assert p.is_leaf and p.grad_fn is None and p.requires_grad
    y = (p * p).sum()                             # a graph saved p at its current version ...
    optim.SGD([p], lr=0.1).step()                 # ... which a step invalidates, like any in-place op
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_params_without_grad_are_skipped(device):
    p = ag.ones(2, device=device, requires_grad=True)
    q = ag.ones(2, device=device, requires_grad=True)
    p.grad = ag.ones(2, device=device)
    opt = optim.Adam([p, q], lr=0.1)
    opt.step()
    assert q.tolist() == [1.0, 1.0] and q not in opt.state
    assert p.tolist() != [1.0, 1.0]


def test_closure_runs_with_grad_enabled(device):
    p = ag.tensor([1.0, -2.0], device=device, requires_grad=True)
    opt = optim.SGD([p], lr=0.5)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with ag.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 5.0
    assert p.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(device, set_to_none):
    p = ag.ones(3, device=device, requires_grad=True)
    (p * 3).sum().backward()
    g = p.grad
    optim.SGD([p], lr=0.1).zero_grad(set_to_none=set_to_none)
    if set_to_none:
        assert p.grad is None
    else:
        assert p.grad is g and g.tolist() == [0.0, 0.0, 0.0]


def test_float16_parameters_update_in_float32_math(device):
    """Half parameters: the math runs in float32 and rounds once (as the GPU kernel)."""
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(50).astype(np.float16)
    g0 = rng.standard_normal(50).astype(np.float16)
    p = ag.tensor(p0, device=device, requires_grad=True)
    p.grad = ag.tensor(g0, device=device)
    optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01).step()
    p32, g32 = p0.astype(np.float32), g0.astype(np.float32)
    d = g32 + np.float32(0.01) * p32
    want = (p32 + np.float32(-0.1) * d).astype(np.float16)
    np.testing.assert_array_equal(p.detach().cpu().numpy(), want)


# ---- bad arguments ----------------------------------------------------------------------------

def _p():
    return ag.ones(2, requires_grad=True)


@pytest.mark.parametrize("make,exc,msg", [
    (lambda: optim.SGD([], lr=0.1), ValueError, "empty parameter list"),
    (lambda: optim.Adam(iter([])), ValueError, "empty parameter list"),
    (lambda: optim.SGD(_p(), lr=0.1), TypeError, "iterable of Tensors or dicts"),
    (lambda: optim.SGD([_p()], lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
    (lambda: optim.SGD([_p()], lr=0.1, momentum=-1), ValueError, "Invalid momentum value: -1"),
    (lambda: optim.SGD([_p()], lr=0.1, weight_decay=-1), ValueError, "Invalid weight_decay value: -1"),
    (lambda: optim.SGD([_p()], lr=0.1, nesterov=True), ValueError, "Nesterov momentum requires"),
    (lambda: optim.SGD([_p()], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     "Nesterov momentum requires"),
    (lambda: optim.SGD([_p() * 2], lr=0.1), ValueError, "can't optimize a non-leaf Tensor"),
    (lambda: optim.SGD([1.0], lr=0.1), TypeError, "can only optimize Tensors"),
    (lambda: optim.SGD([{"params": {_p()}}], lr=0.1), TypeError, "ordered collections"),
    (lambda: optim.SGD([_p()], lr="fast"), TypeError, "lr must be a number"),
    (lambda: optim.Adam([_p()], lr=-1), ValueError, "Invalid learning rate: -1"),
    (lambda: optim.Adam([_p()], eps=-1), ValueError, "Invalid epsilon value: -1"),
    (lambda: optim.Adam([_p()], betas=(1.0, 0.9)), ValueError, "Invalid beta parameter at index 0: 1.0"),
    (lambda: optim.Adam([_p()], betas=(0.9, -0.1)), ValueError, "Invalid beta parameter at index 1: -0.1"),
    (lambda: optim.Adam([_p()], weight_decay=-0.1), ValueError, "Invalid weight_decay value: -0.1"),
])
def test_bad_arguments(make, exc, msg):
    with pytest.raises(exc, match=msg):
        make()


def test_bad_arguments_match_pytorch_exception_types(torch):
    cases = [lambda o, p: o.SGD([], lr=0.1), lambda o, p: o.SGD([p], lr=-0.1),
             lambda o, p: o.SGD([p], lr=0.1, nesterov=True), lambda o, p: o.Adam([p], betas=(1.0, 0.9)),
             lambda o, p: o.Adam([p], eps=-1.0), lambda o, p: o.SGD([p * 2], lr=0.1),
             lambda o, p: o.SGD(p, lr=0.1)]
    for case in cases:
        kinds = []
        for mod, param in ((optim, _p()), (torch.optim, torch.ones(2, requires_grad=True))):
            with pytest.raises(Exception) as info:
                case(mod, param)
            kinds.append(info.type)
        assert kinds[0] is kinds[1], kinds


def test_parameter_in_two_groups_is_rejected_and_group_not_added():
    p, q = _p(), _p()
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [q, p]})
    assert len(opt.param_groups) == 1
    with pytest.raises(ValueError, match="Invalid learning rate"):
        opt.add_param_group({"params": [q], "lr": -2.0})
    assert len(opt.param_groups) == 1
    opt.add_param_group({"params": q, "lr": 0.5})
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["momentum"] == 0


def test_duplicate_parameter_warns():
    p = _p()
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([p, p], lr=0.1)
