"""Differential tests of ag.nn and ag.optim against torch.nn / torch.optim
(PyTorch CPU is the oracle; nothing here compares our code with itself).

What the other suites do not cover: randomly built module trees (traversal
order, state dicts, reprs, train/eval, forward and parameter gradients),
state-dict round trips through PyTorch, every loss option on every input
layout, random loss and linear calls (with double backward), init bounds, random optimizer configurations over many steps with
gradients from real losses (parameter groups, zero_grad modes, missing
gradients, lr changes, add_param_group mid-training), the update rules with
extreme hyperparameters on identical gradients, optimizer state dicts
exchanged with PyTorch, and the exception types of bad arguments.

Bugs this file found are pinned by the tests at the end."""
import itertools
import math
import random
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import autograd_gpu as ag
import autograd_gpu.nn.functional as F
from autograd_gpu import nn, optim

TOL = {"float32": dict(rtol=2e-5, atol=2e-6), "float64": dict(rtol=1e-10, atol=1e-12)}


def _np(t):
    return t.detach().cpu().numpy()


def _t(torch, t):
    return torch.from_numpy(_np(t).copy())


def _ag_sd_to_torch(torch, sd):
    return OrderedDict((k, _t(torch, v)) for k, v in sd.items())


def _torch_sd_to_ag(sd):
    return OrderedDict((k, ag.tensor(v.detach().numpy().copy())) for k, v in sd.items())


def _outcome(fn):
    try:
        fn()
    except Exception as e:          # noqa: BLE001 - the exception type is what is compared
        return type(e), str(e)
    return None, ""


# ---- random module trees -------------------------------------------------------------------------------

def _build_tree(M, T, seed, width=3):
    """The same random module tree from either library (M = nn module, T =
    tensor namespace): parameters, persistent and non-persistent buffers,
    Linear with and without bias, activations, Sequential (positional and
    OrderedDict), nested custom modules, a shared Linear, None parameters."""
    R = random.Random(seed)
    shared = {}
    f64 = T.float64

    class Custom(M.Module):
        def __init__(self, depth):
            super().__init__()
            self.order = []
            for i in range(R.randrange(1, 5)):
                kinds = ["param", "buffer", "npbuffer", "linear", "act", "seq", "custom", "none", "shared"]
                kind = R.choice(kinds if depth < 2 else kinds[:5])
                name = f"{kind}{i}"
                if kind == "param":
                    setattr(self, name, M.Parameter(T.ones(width, dtype=f64) * (0.5 + 0.25 * i)))
                elif kind == "buffer":
                    self.register_buffer(name, T.ones(2, dtype=f64))
                elif kind == "npbuffer":
                    self.register_buffer(name, T.zeros(3, dtype=f64), persistent=False)
                elif kind == "linear":
                    setattr(self, name, M.Linear(width, width, bias=R.random() < 0.7, dtype=f64))
                elif kind == "shared":
                    if "lin" not in shared:
                        shared["lin"] = M.Linear(width, width, dtype=f64)
                    setattr(self, name, shared["lin"])
                elif kind == "act":
                    setattr(self, name, R.choice([M.ReLU, M.Tanh, M.Sigmoid])())
                elif kind == "seq":
                    mods = [R.choice([lambda: M.Linear(width, width, dtype=f64), M.Tanh, M.ReLU, M.Sigmoid])()
                            for _ in range(R.randrange(1, 4))]
                    seq = M.Sequential(*mods) if R.random() < 0.5 else M.Sequential(
                        OrderedDict((f"m{j}", m) for j, m in enumerate(mods)))
                    setattr(self, name, seq)
                elif kind == "custom":
                    setattr(self, name, Custom(depth + 1))
                else:
                    self.register_parameter(name, None)
                self.order.append(name)

        def forward(self, x):
            for name in self.order:
                v = getattr(self, name)
                if isinstance(v, M.Module):
                    x = v(x)
                elif isinstance(v, M.Parameter):
                    x = x * v
            return x

    return Custom(0)


@pytest.mark.parametrize("seed", range(30))
def test_random_module_trees_match_pytorch(torch, seed):
    m, tm = _build_tree(nn, ag, seed), _build_tree(torch.nn, torch, seed)

    def names(it):
        return [n for n, _ in it]

    assert names(m.named_parameters()) == names(tm.named_parameters())
    assert names(m.named_parameters(remove_duplicate=False)) == names(tm.named_parameters(remove_duplicate=False))
    assert names(m.named_parameters(prefix="net", recurse=False)) == names(
        tm.named_parameters(prefix="net", recurse=False))
    assert names(m.named_buffers()) == names(tm.named_buffers())
    assert names(m.named_modules()) == names(tm.named_modules())
    assert names(m.named_modules(remove_duplicate=False)) == names(tm.named_modules(remove_duplicate=False))
    assert names(m.named_children()) == names(tm.named_children())
    assert len(list(m.parameters())) == len(list(tm.parameters()))
    assert list(m.state_dict()) == list(tm.state_dict())
    assert list(m.state_dict(prefix="p.")) == list(tm.state_dict(prefix="p."))
    assert repr(m) == repr(tm)
    visited, tvisited = [], []
    m.apply(lambda mod: visited.append(type(mod).__name__))
    tm.apply(lambda mod: tvisited.append(type(mod).__name__))
    assert visited == tvisited

    # train / eval on a subtree
    mods, tmods = list(m.modules()), list(tm.modules())
    k = random.Random(seed).randrange(len(mods))
    m.eval(), tm.eval()
    mods[k].train(), tmods[k].train()
    assert [x.training for x in m.modules()] == [x.training for x in tm.modules()]

    # the same values: forward and every parameter's gradient
    tm.load_state_dict(_ag_sd_to_torch(torch, m.state_dict()))
    x = np.random.default_rng(seed).standard_normal((2, 3))
    ax, tx = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = m(ax), tm(tx)
    np.testing.assert_allclose(_np(y), ty.detach().numpy(), **TOL["float64"])
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(_np(ax.grad), tx.grad.numpy(), **TOL["float64"])
    for (n, p), (tn, tp) in zip(m.named_parameters(), tm.named_parameters()):
        assert n == tn
        assert (p.grad is None) == (tp.grad is None), n
        if tp.grad is not None:
            np.testing.assert_allclose(_np(p.grad), tp.grad.numpy(), **TOL["float64"], err_msg=n)
    for set_to_none in (False, True):
        m.zero_grad(set_to_none=set_to_none)
        tm.zero_grad(set_to_none=set_to_none)
        for p, tp in zip(m.parameters(), tm.parameters()):
            assert (p.grad is None) == (tp.grad is None)
            if tp.grad is not None:
                assert not p.grad.requires_grad and np.array_equal(_np(p.grad), tp.grad.numpy())


# ---- state dicts -----------------------------------------------------------------------------------------

def _mlp(M, dtype, bias=True):
    return M.Sequential(M.Linear(3, 5, dtype=dtype), M.Tanh(), M.Linear(5, 4, bias=bias, dtype=dtype), M.ReLU(),
                        M.Linear(4, 2, dtype=dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_state_dict_round_trip_through_pytorch(torch, dtype):
    m = _mlp(nn, getattr(ag, dtype), bias=False)
    tm = _mlp(torch.nn, getattr(torch, dtype), bias=False)
    assert list(m.state_dict()) == list(tm.state_dict())
    assert repr(tm.load_state_dict(_ag_sd_to_torch(torch, m.state_dict()))) == "<All keys matched successfully>"
    # train the torch copy, bring its weights back
    topt = torch.optim.SGD(tm.parameters(), lr=0.1)
    x = np.random.default_rng(0).standard_normal((6, 3)).astype(dtype)
    for _ in range(3):
        topt.zero_grad()
        tm(torch.from_numpy(x)).square().sum().backward()
        topt.step()
    params_before = [id(p) for p in m.parameters()]
    result = m.load_state_dict(_torch_sd_to_ag(tm.state_dict()))
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    assert [id(p) for p in m.parameters()] == params_before            # copied in, not replaced
    assert all(p.dtype == getattr(ag, dtype) and p.requires_grad for p in m.parameters())
    np.testing.assert_allclose(_np(m(ag.tensor(x))), tm(torch.from_numpy(x)).detach().numpy(), **TOL[dtype])


def test_load_state_dict_non_strict_reports_like_pytorch(torch):
    m, tm = _mlp(nn, ag.float64), _mlp(torch.nn, torch.float64)
    sd = m.state_dict()
    del sd["2.bias"], sd["0.weight"]
    sd["9.weight"] = ag.zeros(1)           # unknown submodule
    sd["0.weight.x"] = ag.zeros(1)         # below a parameter
    sd["extra"] = ag.zeros(1)              # unknown attribute of the root
    got = m.load_state_dict(sd, strict=False)
    want = tm.load_state_dict(_ag_sd_to_torch(torch, sd), strict=False)
    assert got.missing_keys == want.missing_keys
    assert got.unexpected_keys == want.unexpected_keys
    with pytest.raises(RuntimeError) as ours:
        m.load_state_dict(sd)
    with pytest.raises(RuntimeError) as theirs:
        tm.load_state_dict(_ag_sd_to_torch(torch, sd))
    assert str(ours.value).splitlines()[:2] == str(theirs.value).splitlines()[:2]      # header + missing keys
    # a dtype change is a copy with a cast, as in PyTorch
    m.load_state_dict({k: v.to(ag.float32) for k, v in m.state_dict().items()})
    assert all(p.dtype == ag.float64 for p in m.parameters())


def test_state_dict_aliases_and_assign_like_pytorch(torch):
    for M, T in ((nn, ag), (torch.nn, torch)):
        lin = M.Linear(2, 3)
        lin.weight.requires_grad_(False)
        sd = lin.state_dict()
        assert not sd["weight"].requires_grad and not sd["bias"].requires_grad
        with T.no_grad():
            sd["bias"].fill_(7.0)
        assert lin.bias.tolist() == [7.0] * 3                            # detached alias
        new = {"weight": T.ones(3, 2, dtype=T.float64), "bias": T.zeros(3, dtype=T.float64)}
        lin.load_state_dict(new, assign=True)
        assert isinstance(lin.weight, M.Parameter) and lin.weight.dtype == T.float64
        assert lin.weight.requires_grad is False and lin.bias.requires_grad is True and lin.weight.is_leaf
        with T.no_grad():
            new["weight"].add_(1)
        assert lin.weight[0, 0].item() == 2.0                            # assign shares the tensor


def test_loss_modules_keep_weight_as_buffer_like_pytorch(torch):
    w = np.array([0.5, 1.0, 2.0])
    for ours, theirs in ((nn.CrossEntropyLoss(weight=ag.tensor(w)), torch.nn.CrossEntropyLoss(weight=torch.tensor(w))),
                         (nn.NLLLoss(weight=ag.tensor(w)), torch.nn.NLLLoss(weight=torch.tensor(w))),
                         (nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()), (nn.MSELoss(), torch.nn.MSELoss())):
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert repr(ours) == repr(theirs)
        assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    ce = nn.CrossEntropyLoss(weight=ag.tensor(w, dtype=ag.float32)).double()
    assert ce.weight.dtype == ag.float64
    x = np.random.default_rng(0).standard_normal((4, 3))
    t = np.array([0, 2, 1, 2])
    np.testing.assert_allclose(_np(ce(ag.tensor(x), ag.tensor(t))),
                               torch.nn.CrossEntropyLoss(weight=torch.tensor(w))(torch.tensor(x), torch.tensor(t))
                               .numpy(), **TOL["float64"])


def test_sequential_editing_matches_pytorch(torch):
    def ops(M, T):
        s = M.Sequential(M.Linear(2, 3), M.ReLU(), M.Linear(3, 3), M.Tanh(), M.Linear(3, 1))
        out = [list(s.state_dict())]
        del s[1]
        out.append(list(s.state_dict()))
        del s[-2:]
        out.append([n for n, _ in s.named_children()])
        s.append(M.Sigmoid()).append(M.Linear(3, 2))
        out.append([n for n, _ in s.named_children()])
        s[-1] = M.Linear(3, 4)
        out.append([tuple(p.shape) for p in s.parameters()])
        sub = s[1:]
        out.append((type(sub).__name__, [n for n, _ in sub.named_children()], len(s), repr(s)))
        d = M.Sequential(OrderedDict(a=M.Linear(2, 2), b=M.ReLU(), c=M.Linear(2, 1)))
        out.append(([n for n, _ in d[1:].named_children()], repr(d)))
        del d[0]
        out.append([n for n, _ in d.named_children()])
        return out

    assert ops(nn, ag) == ops(torch.nn, torch)


# ---- Module.to and optimizers made before it ---------------------------------------------------------------

@pytest.mark.parametrize("opt_name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.01))])
def test_optimizer_made_before_module_double_matches_pytorch(torch, opt_name, kwargs):
    m, tm = _mlp(nn, ag.float32), _mlp(torch.nn, torch.float32)
    tm.load_state_dict(_ag_sd_to_torch(torch, m.state_dict()))
    opt = getattr(optim, opt_name)(m.parameters(), **kwargs)
    topt = getattr(torch.optim, opt_name)(tm.parameters(), **kwargs, foreach=False)
    m.double(), tm.double()
    x = np.random.default_rng(1).standard_normal((8, 3))
    y = np.random.default_rng(2).standard_normal((8, 2))
    for _ in range(5):
        opt.zero_grad(), topt.zero_grad()
        nn.MSELoss()(m(ag.tensor(x)), ag.tensor(y)).backward()
        torch.nn.MSELoss()(tm(torch.tensor(x)), torch.tensor(y)).backward()
        opt.step(), topt.step()
    for p, tp in zip(m.parameters(), tm.parameters()):
        assert p.dtype == ag.float64
        np.testing.assert_allclose(_np(p), tp.detach().numpy(), **TOL["float64"])


# ---- layers, activations ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(5,), (4, 5), (2, 3, 5), (0, 5)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_forward_backward_any_batch_shape(torch, dtype, shape, bias):
    m = nn.Linear(5, 3, bias=bias, dtype=getattr(ag, dtype))
    tm = torch.nn.Linear(5, 3, bias=bias, dtype=getattr(torch, dtype))
    tm.load_state_dict(_ag_sd_to_torch(torch, m.state_dict()))
    assert repr(m) == repr(tm)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    ax, tx = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = m(ax), tm(tx)
    assert tuple(y.shape) == tuple(ty.shape) and y.dtype == getattr(ag, dtype)
    g = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    (y * ag.tensor(g)).sum().backward()
    (ty * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(_np(y), ty.detach().numpy(), **TOL[dtype])
    np.testing.assert_allclose(_np(ax.grad), tx.grad.numpy(), **TOL[dtype])
    for (n, p), (_, tp) in zip(m.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(_np(p.grad), tp.grad.numpy(), **TOL[dtype], err_msg=n)
    y2 = F.linear(ax, m.weight, m.bias)
    ty2 = torch.nn.functional.linear(tx, tm.weight, tm.bias)
    np.testing.assert_allclose(_np(y2), ty2.detach().numpy(), **TOL[dtype])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_activations_inplace_relu_and_softmax_dtype(torch, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4)).astype(dtype)
    w = rng.standard_normal((3, 4))
    for M_ours, M_theirs in ((nn.ReLU(inplace=True), torch.nn.ReLU(inplace=True)), (nn.ReLU(), torch.nn.ReLU()),
                             (nn.Tanh(), torch.nn.Tanh()), (nn.Sigmoid(), torch.nn.Sigmoid())):
        assert repr(M_ours) == repr(M_theirs)
        ax, tx = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, ty = M_ours(ax * 2), M_theirs(tx * 2)
        (y * y).sum().backward()
        (ty * ty).sum().backward()
        np.testing.assert_allclose(_np(y), ty.detach().numpy(), **TOL[dtype])
        np.testing.assert_allclose(_np(ax.grad), tx.grad.numpy(), **TOL[dtype])
    for fn in ("softmax", "log_softmax"):
        for out_dtype in (None, "float64"):
            ax, tx = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
            y = getattr(F, fn)(ax, dim=-1, dtype=getattr(ag, out_dtype) if out_dtype else None)
            ty = getattr(torch.nn.functional, fn)(tx, dim=-1, dtype=getattr(torch, out_dtype) if out_dtype else None)
            assert y.dtype.name == str(ty.dtype).replace("torch.", "")
            (y * ag.tensor(w.astype(y.dtype.name))).sum().backward()
            (ty * torch.tensor(w.astype(y.dtype.name))).sum().backward()
            assert ax.grad.dtype == ax.dtype
            np.testing.assert_allclose(_np(y), ty.detach().numpy(), **TOL[out_dtype or dtype])
            np.testing.assert_allclose(_np(ax.grad), tx.grad.numpy(), **TOL[dtype])


def test_relu_inplace_on_a_leaf_that_requires_grad_raises_like_pytorch(torch):
    kinds = [_outcome(lambda: F.relu(ag.ones(3, requires_grad=True), inplace=True))[0],
             _outcome(lambda: torch.nn.functional.relu(torch.ones(3, requires_grad=True), inplace=True))[0]]
    assert kinds[0] is kinds[1] is RuntimeError


# ---- init ------------------------------------------------------------------------------------------------

def test_calculate_gain_matches_pytorch(torch):
    cases = [(n, None) for n in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                                 "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu")]
    cases += [("leaky_relu", 0.2), ("leaky_relu", 1), ("leaky_relu", 0), ("relu", 3.0)]
    for name, param in cases:
        assert nn.init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param),
                                                                    rel=1e-15), (name, param)
    for name, param in (("leaky_relu", True), ("leaky_relu", "x"), ("gelu", None), ("bogus", None)):
        assert _outcome(lambda: nn.init.calculate_gain(name, param))[0] is \
            _outcome(lambda: torch.nn.init.calculate_gain(name, param))[0] is ValueError


@pytest.mark.parametrize("shape,kwargs", [((200, 300), {}), ((300, 200), dict(mode="fan_out")),
                                          ((50, 20, 3, 3), dict(nonlinearity="relu")),
                                          ((64, 32, 5), dict(a=0.3, mode="fan_out")),
                                          ((100, 100), dict(a=math.sqrt(5))),
                                          ((40, 60), dict(nonlinearity="tanh", mode="fan_in"))])
def test_kaiming_uniform_bound_matches_pytorch(torch, shape, kwargs):
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    fan = fan_out if kwargs.get("mode") == "fan_out" else fan_in
    gain = torch.nn.init.calculate_gain(kwargs.get("nonlinearity", "leaky_relu"), kwargs.get("a", 0))
    bound = math.sqrt(3.0) * gain / math.sqrt(fan)
    p = nn.Parameter(ag.empty(*shape))
    out = nn.init.kaiming_uniform_(p, **kwargs)
    assert out is p and p.grad_fn is None and p.requires_grad and p._version >= 1
    a = np.abs(_np(p))
    assert a.max() <= bound * (1 + 1e-6) and a.max() > 0.98 * bound
    assert abs(float(np.std(_np(p))) - bound / math.sqrt(3)) < 0.05 * bound


@pytest.mark.parametrize("shape,gain", [((200, 300), 1.0), ((30, 20, 5), 2.0)])
def test_xavier_uniform_bound_matches_pytorch(torch, shape, gain):
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    t = ag.empty(*shape)
    nn.init.xavier_uniform_(t, gain=gain)
    a = np.abs(_np(t))
    assert a.max() <= bound * (1 + 1e-6) and a.max() > 0.98 * bound


def test_init_errors_match_pytorch_types(torch):
    cases = [lambda I, T: I.kaiming_uniform_(T.empty(3)), lambda I, T: I.xavier_uniform_(T.empty(3)),
             lambda I, T: I.kaiming_uniform_(T.empty(3, 3), mode="fan_avg")]
    for case in cases:
        ours, theirs = _outcome(lambda: case(nn.init, ag)), _outcome(lambda: case(torch.nn.init, torch))
        assert ours[0] is theirs[0] is ValueError, (ours, theirs)


@pytest.mark.parametrize("fan_in", [0, 1, 7])
def test_linear_zero_sizes_like_pytorch(torch, fan_in):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")           # PyTorch warns about initialising zero-element tensors
        tm = torch.nn.Linear(fan_in, 3)
    m = nn.Linear(fan_in, 3)
    bound = 1 / math.sqrt(fan_in) if fan_in else 0.0
    assert np.all(np.abs(_np(m.bias)) <= bound) and np.all(np.abs(tm.bias.detach().numpy()) <= bound)
    assert tuple(m.weight.shape) == tuple(tm.weight.shape)


# ---- losses ----------------------------------------------------------------------------------------------

_CLASS_SHAPES = [(5,), (4, 5), (3, 5, 2), (2, 5, 3, 2)]


def _loss_tol(dtype):
    return dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)


def _compare(torch, y, ty, pairs, dtype, rng):
    assert y.dtype.name == dtype and tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_allclose(_np(y), ty.detach().numpy(), **_loss_tol(dtype))
    g = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    (y * ag.tensor(g)).sum().backward()
    (ty * torch.tensor(g)).sum().backward()
    for a, t in pairs:
        np.testing.assert_allclose(_np(a.grad), t.grad.numpy(), **_loss_tol(dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", _CLASS_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_cross_entropy_every_option_matches_pytorch(torch, dtype, shape):
    """Class indices and class probabilities, weight, ignore_index (also one
    that occurs), label smoothing, every reduction, module and function;
    gradients to the scores and to probability targets."""
    rng = np.random.default_rng(sum(shape))
    C = shape[0] if len(shape) == 1 else shape[1]
    for red, use_w, ign, ls, prob in itertools.product(["mean", "sum", "none"], [False, True], [None, 1],
                                                       [0.0, 0.3], [False, True]):
        if prob and ign is not None:
            continue
        x = (rng.standard_normal(shape) * 2).astype(dtype)
        if prob:
            p = rng.random(shape).astype(dtype)
            t = p / p.sum(0 if len(shape) == 1 else 1, keepdims=True)
        else:
            t = rng.integers(0, C, () if len(shape) == 1 else (shape[0],) + shape[2:]).astype(np.int64)
            if ign is not None:
                t.flat[0] = ign
        w = rng.uniform(0.3, 2, C).astype(dtype) if use_w else None
        kw = dict(reduction=red, label_smoothing=ls)
        if ign is not None:
            kw["ignore_index"] = ign
        for as_module in (False, True):
            ax, tx = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
            at, tt = ag.tensor(t, requires_grad=prob), torch.tensor(t, requires_grad=prob)
            aw, tw = (ag.tensor(w), torch.tensor(w)) if use_w else (None, None)
            if as_module:
                y = nn.CrossEntropyLoss(weight=aw, **kw)(ax, at)
                ty = torch.nn.CrossEntropyLoss(weight=tw, **kw)(tx, tt)
            else:
                y = F.cross_entropy(ax, at, weight=aw, **kw)
                ty = torch.nn.functional.cross_entropy(tx, tt, weight=tw, **kw)
            _compare(torch, y, ty, [(ax, tx)] + ([(at, tt)] if prob else []), dtype, rng)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", _CLASS_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_nll_loss_every_option_matches_pytorch(torch, dtype, shape):
    rng = np.random.default_rng(7 + sum(shape))
    C = shape[0] if len(shape) == 1 else shape[1]
    for red, use_w, ign in itertools.product(["mean", "sum", "none"], [False, True], [-100, 1, 7]):
        x = rng.standard_normal(shape).astype(dtype)
        t = rng.integers(0, C, () if len(shape) == 1 else (shape[0],) + shape[2:]).astype(np.int64)
        if t.ndim and ign != -100:
            t.flat[-1] = ign
        w = rng.uniform(0.3, 2, C).astype(dtype) if use_w else None
        for as_module in (False, True):
            ax, tx = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
            aw, tw = (ag.tensor(w), torch.tensor(w)) if use_w else (None, None)
            if as_module:
                y = nn.NLLLoss(weight=aw, ignore_index=ign, reduction=red)(ax, ag.tensor(t))
                ty = torch.nn.NLLLoss(weight=tw, ignore_index=ign, reduction=red)(tx, torch.tensor(t))
            else:
                y = F.nll_loss(ax, ag.tensor(t), weight=aw, ignore_index=ign, reduction=red)
                ty = torch.nn.functional.nll_loss(tx, torch.tensor(t), weight=tw, ignore_index=ign, reduction=red)
            _compare(torch, y, ty, [(ax, tx)], dtype, rng)


@pytest.mark.filterwarnings("ignore:Using a target size")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_mse_loss_broadcasting_and_target_gradient_match_pytorch(torch, dtype):
    rng = np.random.default_rng(3)
    for (si, st), red in itertools.product([((4, 3), (4, 3)), ((4, 1), (4, 3)), ((4, 3), (3,)), ((), (2,)),
                                            ((2, 1, 3), (4, 1)), ((0, 2), (0, 2))], ["mean", "sum", "none"]):
        x, t = rng.standard_normal(si).astype(dtype), rng.standard_normal(st).astype(dtype)
        for as_module in (False, True):
            ax, tx = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
            at, tt = ag.tensor(t, requires_grad=True), torch.tensor(t, requires_grad=True)
            y = nn.MSELoss(reduction=red)(ax, at) if as_module else F.mse_loss(ax, at, reduction=red)
            ty = torch.nn.MSELoss(reduction=red)(tx, tt)
            if ty.numel() == 1 and math.isnan(ty.item()):          # empty mean
                assert math.isnan(y.item())
                continue
            _compare(torch, y, ty, [(ax, tx), (at, tt)], dtype, rng)


@pytest.mark.parametrize("loss_kind", ["mse", "ce", "ce_weight_smoothing_ignore", "nll_weight", "ce_probabilities"])
def test_gradient_penalty_through_layers_and_losses_matches_pytorch(torch, loss_kind):
    """create_graph=True through Linear, activations and each loss: the
    gradient of loss + |d loss / d x|^2 with respect to every parameter."""
    m, tm = _mlp(nn, ag.float64), _mlp(torch.nn, torch.float64)
    tm.load_state_dict(_ag_sd_to_torch(torch, m.state_dict()))
    rng = np.random.default_rng(4)
    x, yi, yf = rng.standard_normal((6, 3)), rng.integers(0, 2, 6), rng.standard_normal((6, 2))
    w = rng.uniform(0.5, 2, 2)
    pr = rng.random((6, 2))
    pr /= pr.sum(1, keepdims=True)

    def loss(model, T, L, xx):
        out = model(xx)
        if loss_kind == "mse":
            return L.mse_loss(out, T.tensor(yf))
        if loss_kind == "ce":
            return L.cross_entropy(out, T.tensor(yi))
        if loss_kind == "ce_weight_smoothing_ignore":
            return L.cross_entropy(out, T.tensor(yi), weight=T.tensor(w), label_smoothing=0.2, ignore_index=1)
        if loss_kind == "nll_weight":
            return L.nll_loss(L.log_softmax(out, dim=1), T.tensor(yi), weight=T.tensor(w))
        return L.cross_entropy(out, T.tensor(pr))

    ax, tx = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    lo, tlo = loss(m, ag, F, ax), loss(tm, torch, torch.nn.functional, tx)
    g, = ag.autograd.grad(lo, ax, create_graph=True)
    tg, = torch.autograd.grad(tlo, tx, create_graph=True)
    ((g * g).sum() + lo).backward()
    ((tg * tg).sum() + tlo).backward()
    for (n, p), tp in zip(m.named_parameters(), tm.parameters()):
        np.testing.assert_allclose(_np(p.grad), tp.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=n)


def _graph_names(fn, depth=3):
    """grad_fn's name and, to `depth`, its inputs' (None for an input without a node)."""
    if fn is None:
        return None
    if depth == 0:
        return fn.name()
    return (fn.name(), tuple(_graph_names(f, depth - 1) for f, _ in fn.next_functions))


_GRAPH_CASES = {
    "linear": lambda L, T, x, w, b, t, yi: L.linear(x, w, b),
    "linear_0d_bias": lambda L, T, x, w, b, t, yi: L.linear(x, w, b.sum().detach().requires_grad_()),
    "linear_no_bias": lambda L, T, x, w, b, t, yi: L.linear(x, w),
    "linear_input_grad": lambda L, T, x, w, b, t, yi: L.linear(x.requires_grad_(), w, b),
    "linear_fixed_bias": lambda L, T, x, w, b, t, yi: L.linear(x, w, b.detach()),
    "linear_1d": lambda L, T, x, w, b, t, yi: L.linear(x[1], w, b),
    "linear_3d": lambda L, T, x, w, b, t, yi: L.linear(x.reshape(2, 2, 3), w, b),
    "linear_3d_input_grad": lambda L, T, x, w, b, t, yi: L.linear(x.requires_grad_().reshape(2, 2, 3), w, b),
    "mse": lambda L, T, x, w, b, t, yi: L.mse_loss(L.linear(x, w, b), t),
    "mse_target_grad_none": lambda L, T, x, w, b, t, yi: L.mse_loss(L.linear(x, w, b), t.requires_grad_(),
                                                                    reduction="none"),
    "mse_sum": lambda L, T, x, w, b, t, yi: L.mse_loss(t, L.linear(x, w, b), reduction="sum"),
    "cross_entropy": lambda L, T, x, w, b, t, yi: L.cross_entropy(L.linear(x, w, b), yi),
    "cross_entropy_options": lambda L, T, x, w, b, t, yi: L.cross_entropy(
        L.linear(x, w, b), yi, weight=T.ones(2, dtype=T.float64), ignore_index=1, reduction="sum"),
    "cross_entropy_one_sample": lambda L, T, x, w, b, t, yi: L.cross_entropy(L.linear(x, w, b)[0], yi[0]),
    "nll_none": lambda L, T, x, w, b, t, yi: L.nll_loss(L.log_softmax(L.linear(x, w, b), dim=1), yi,
                                                        reduction="none"),
}


@pytest.mark.parametrize("case", list(_GRAPH_CASES))
def test_loss_and_linear_graphs_match_pytorch(torch, case):
    """F.linear with a bias is one AddmmBackward0 (over TBackward0 of the
    weight; a contiguous input of other than 2 dims viewed as rows around it),
    mse_loss one MseLossBackward0, cross_entropy
    NllLossBackward0 over LogSoftmaxBackward0: the graph PyTorch records,
    node for node, and the values and gradients it computes."""
    rng = np.random.default_rng(11)
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((2, 3)), rng.standard_normal(2)
    t, yi, g = rng.standard_normal((4, 2)), np.array([0, 1, 1, 0]), rng.standard_normal((4, 2))
    outs = []
    for L, T in ((F, ag), (torch.nn.functional, torch)):
        args = (T.tensor(x), T.tensor(w, requires_grad=True), T.tensor(b, requires_grad=True), T.tensor(t),
                T.tensor(yi))
        y = _GRAPH_CASES[case](L, T, *args)
        (y * T.tensor(g.reshape(-1)[:y.numel()].reshape(tuple(y.shape)))).sum().backward()
        outs.append((y, _graph_names(y.grad_fn), args))
    (y, names, args), (ty, tnames, targs) = outs
    assert names == tnames
    np.testing.assert_allclose(_np(y), ty.detach().numpy(), rtol=1e-12, atol=1e-14)
    for a, ta in zip(args, targs):
        assert (a.grad is None) == (ta.grad is None)
        if a.grad is not None:
            np.testing.assert_allclose(_np(a.grad), ta.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_class_weights_that_require_grad_like_pytorch(torch):
    """libtorch's nll_loss does not differentiate its class weights: a weight
    that requires grad is refused (not silently left without a gradient),
    under no_grad accepted; class-probability targets, which PyTorch composes
    of differentiable ops, give the weights their gradient."""
    rng = np.random.default_rng(12)
    x, w, yi = rng.standard_normal((4, 3)), rng.uniform(0.5, 2, 3), np.array([0, 2, 1, 2])
    p = rng.random((4, 3))
    p /= p.sum(1, keepdims=True)
    for call in (lambda L, T: L.cross_entropy(T.tensor(x), T.tensor(yi), weight=T.tensor(w, requires_grad=True)),
                 lambda L, T: L.nll_loss(T.tensor(x), T.tensor(yi), weight=T.tensor(w, requires_grad=True)),
                 lambda L, T: L.cross_entropy(T.tensor(x), T.tensor(yi), weight=T.tensor(w, requires_grad=True),
                                              label_smoothing=0.1)):
        ours, theirs = _outcome(lambda: call(F, ag)), _outcome(lambda: call(torch.nn.functional, torch))
        assert ours[0] is theirs[0] is RuntimeError
        assert theirs[1] in ours[1]
        with ag.no_grad(), torch.no_grad():
            np.testing.assert_allclose(call(F, ag).item(), call(torch.nn.functional, torch).item(), rtol=1e-12)
    aw, tw = ag.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    F.cross_entropy(ag.tensor(x), ag.tensor(p), weight=aw).backward()
    torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(p), weight=tw).backward()
    np.testing.assert_allclose(_np(aw.grad), tw.grad.numpy(), rtol=1e-12)


def _random_loss_case(R, rng):
    """(kind, dtype, arrays, options) of one random loss or linear call."""
    kind, dtype = R.choice(["ce", "ce_prob", "nll", "mse", "linear"]), R.choice(["float32", "float64"])
    d, o = {"g": rng.standard_normal(200)}, {}
    if kind in ("ce", "ce_prob", "nll"):
        C, N, rest = R.choice([1, 2, 5]), R.choice([0, 1, 3]), R.choice([(), (), (2,), (1, 2)])
        shape = (N, C) + rest if rest else R.choice([(C,), (N, C)])
        d["x"] = (rng.standard_normal(shape) * R.choice([1, 5, 50])).astype(dtype)
        o["reduction"], o["ls"] = R.choice(["mean", "sum", "none"]), R.choice([0.0, 0.0, 0.2, 1.0])
        d["w"] = rng.uniform(0, 2, C).astype(dtype) if R.random() < 0.4 else None
        if d["w"] is not None and R.random() < 0.3:
            d["w"][R.randrange(C)] = 0                                   # a class that counts nothing
        if kind == "ce_prob":
            p = rng.random(shape).astype(dtype)
            d["t"] = p / np.maximum(p.sum(0 if len(shape) == 1 else 1, keepdims=True), 1e-3)
            o["wgrad"] = R.random() < 0.5
        else:
            t = rng.integers(0, C, () if len(shape) == 1 else (shape[0],) + shape[2:])
            o["ignore_index"] = R.choice([-100, -100, R.randrange(C), 7])   # (7: no class)
            if t.size and R.random() < 0.5:
                t.flat[R.randrange(t.size)] = o["ignore_index"]
            if len(shape) <= 2 and (t >= 0).all() and R.random() < 0.2:
                t = t.astype(np.uint8)
            d["t"] = t
    elif kind == "mse":
        xs, ts = R.choice([((4, 3), (4, 3)), ((4, 1), (4, 3)), ((3,), (4, 3)), ((), (2,)), ((0, 2), (0, 2)),
                           ((2, 3), ())])
        d["x"], d["t"] = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ts).astype(dtype)
        o["reduction"], o["tgrad"] = R.choice(["mean", "sum", "none"]), R.random() < 0.5
    else:
        xs, out = R.choice([(3,), (4, 3), (2, 4, 3), (0, 3), (4, 0)]), R.choice([1, 2, 5])
        d["x"], d["w"] = rng.standard_normal(xs).astype(dtype), rng.standard_normal((out, xs[-1])).astype(dtype)
        d["b"] = R.choice([None, rng.standard_normal(out).astype(dtype), rng.standard_normal(()).astype(dtype)])
    return kind, dtype, d, o


def _run_loss_case(T, L, kind, d, o, double):
    """The call on library T (functional L), its output and the gradients of
    sum(output * g) (double: of that plus the squared norm of its gradients,
    through create_graph) with respect to every leaf."""
    leaves = [T.tensor(d["x"], requires_grad=True)]
    x = leaves[0]
    if kind in ("ce", "nll"):
        w = None if d["w"] is None else T.tensor(d["w"])
        inp = x if kind == "ce" else L.log_softmax(x, dim=0 if x.dim() == 1 else 1)
        kw = dict(weight=w, reduction=o["reduction"], ignore_index=o["ignore_index"])
        y = L.cross_entropy(inp, T.tensor(d["t"]), label_smoothing=o["ls"], **kw) if kind == "ce" else \
            L.nll_loss(inp, T.tensor(d["t"]), **kw)
    elif kind == "ce_prob":
        leaves.append(T.tensor(d["t"], requires_grad=True))
        w = None if d["w"] is None else T.tensor(d["w"], requires_grad=o["wgrad"])
        if w is not None and o["wgrad"]:
            leaves.append(w)
        y = L.cross_entropy(x, leaves[1], weight=w, reduction=o["reduction"], label_smoothing=o["ls"])
    elif kind == "mse":
        t = T.tensor(d["t"], requires_grad=o["tgrad"])
        leaves += [t] if o["tgrad"] else []
        y = L.mse_loss(x, t, reduction=o["reduction"])
    else:
        leaves.append(T.tensor(d["w"], requires_grad=True))
        if d["b"] is not None:
            leaves.append(T.tensor(d["b"], requires_grad=True))
        y = L.linear(x, *leaves[1:])
    s = (y * T.tensor(d["g"][:y.numel()].reshape(tuple(y.shape)).astype(d["x"].dtype))).sum()
    if double:
        grads = T.autograd.grad(s, leaves, create_graph=True, allow_unused=True)
        total = s + sum((g * g).sum() for g in grads if g is not None)
        if total.requires_grad:
            total.backward()
    else:
        s.backward()
    return y, [leaf.grad for leaf in leaves]


@pytest.mark.filterwarnings("ignore:Using a target size")
@pytest.mark.parametrize("seed", range(200))
def test_random_losses_match_pytorch(torch, seed):
    """One random call of a loss (cross_entropy on class indices or
    probabilities, nll_loss, mse_loss) or of linear: shapes from (C,) to
    (N, C, d1, d2) with empty batches, class weights with zeros, ignore_index
    inside and outside the classes, uint8 targets, label smoothing, every
    reduction, broadcast targets, 0-d biases; values and gradients, half the
    time through create_graph (the fused nodes' backward differentiated
    again). Errors must be PyTorch's."""
    R, rng = random.Random(seed), np.random.default_rng(seed)
    kind, dtype, d, o = _random_loss_case(R, rng)
    double = R.random() < 0.5
    ours = _outcome(lambda: _run_loss_case(ag, F, kind, d, o, double))
    theirs = _outcome(lambda: _run_loss_case(torch, torch.nn.functional, kind, d, o, double))
    assert ours[0] is theirs[0], (kind, o, ours, theirs)
    if ours[0] is not None:
        return
    (y, grads), (ty, tgrads) = (_run_loss_case(ag, F, kind, d, o, double),
                                _run_loss_case(torch, torch.nn.functional, kind, d, o, double))
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-9, atol=1e-11)
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_allclose(_np(y), ty.detach().numpy(), **tol, err_msg=f"{kind} {o}")
    for g, tg in zip(grads, tgrads):
        assert (g is None) == (tg is None)
        if g is not None:
            np.testing.assert_allclose(_np(g), tg.numpy(), **tol, err_msg=f"{kind} {o} double={double}")


def test_empty_batches_give_nan_means_like_pytorch(torch):
    for call in (lambda L, T: L.cross_entropy(T.zeros(0, 4), T.zeros(0, dtype=T.int64)),
                 lambda L, T: L.cross_entropy(T.zeros(0, 4), T.zeros(0, 4)),
                 lambda L, T: L.nll_loss(T.zeros(0, 4), T.zeros(0, dtype=T.int64)),
                 lambda L, T: L.cross_entropy(T.zeros(2, 4), T.tensor([-100, -100])),
                 lambda L, T: L.cross_entropy(T.zeros(2, 0), T.tensor([-100, -100]))):
        ours, theirs = call(F, ag), call(torch.nn.functional, torch)
        assert math.isnan(ours.item()) and math.isnan(theirs.item())


# ---- optimizers: random configurations, real losses ------------------------------------------------------------

def _sgd_cfg(R, extreme=False):
    mom = R.choice([0, 0.5, 0.9] + ([1.0] if extreme else []))
    nest = mom > 0 and R.random() < 0.4
    damp = 0 if nest else R.choice([0, 0.1, 0.5] + ([1.0, -0.2] if extreme else []))
    return dict(lr=R.choice([0.01, 0.05, 0.1] + ([0.0, 0.5] if extreme else [])), momentum=mom, dampening=damp,
                weight_decay=R.choice([0, 1e-3, 0.1]), nesterov=nest, maximize=R.random() < 0.3)


def _adam_cfg(R, extreme=False):
    b1 = R.choice([0.0, 0.5, 0.9] + ([0.3, 0.99] if extreme else []))
    b2 = R.choice([0.9, 0.99, 0.999] + ([0.0, 0.5] if extreme else []))
    return dict(lr=R.choice([1e-3, 0.01, 0.05]), betas=(b1, b2),
                eps=R.choice([1e-8, 1e-6, 1e-3] + ([0.0, 1.0] if extreme else [])),
                weight_decay=R.choice([0, 1e-2, 0.3]), amsgrad=R.random() < 0.5, maximize=R.random() < 0.3)


def _group_cfg(R, name, base):
    """Overrides of a random subset of the hyperparameters (valid with `base`;
    maximize stays the base's, see loss() below)."""
    full = (_sgd_cfg if name == "SGD" else _adam_cfg)(R)
    over = {k: v for k, v in full.items() if R.random() < 0.5 and k != "maximize"}
    if name == "SGD":
        merged = dict(base, **over)
        if merged["nesterov"] and (merged["momentum"] <= 0 or merged["dampening"] != 0):
            over["nesterov"] = False
    return over


def _close_or_as_close_as_pytorch(ours, theirs, exact, tol, err_msg):
    """ours matches PyTorch's float32 result within tol, or, where PyTorch's
    own float32 run strays from the float64 run (an ill-conditioned step:
    Adam's g + wd * p cancelling to the size of eps multiplies a gradient's
    last-ulp differences by 1e5), ours strays from it no more than 4 times as
    far. exact is None for a float64 run."""
    close = np.isclose(ours, theirs, **tol)
    if exact is not None:
        close |= np.abs(ours - exact) <= 4 * np.abs(theirs - exact) + tol["atol"]
    if not close.all():
        np.testing.assert_allclose(ours, theirs, **tol, err_msg=err_msg + (
            "" if exact is None else f"; float64 run: {exact[~close][:4]}"))


@pytest.mark.parametrize("seed", range(24))
def test_random_optimizer_runs_match_pytorch(torch, seed):
    R = random.Random(seed)
    rng = np.random.default_rng(seed)
    name = ("SGD", "Adam")[seed % 2]
    dtype = ("float32", "float64")[(seed // 2) % 2]
    tol = TOL[dtype]
    m, tm = _mlp(nn, getattr(ag, dtype), bias=R.random() < 0.6), None
    tm = _mlp(torch.nn, getattr(torch, dtype), bias=m[2].bias is not None)
    tm.load_state_dict(_ag_sd_to_torch(torch, m.state_dict()))
    # a float32 run is also judged against PyTorch's float64 run of the same steps (see above)
    runs = [tm]
    if dtype == "float32":
        runs.append(_mlp(torch.nn, torch.float64, bias=m[2].bias is not None))
        runs[1].load_state_dict(OrderedDict((k, v.double()) for k, v in tm.state_dict().items()))
    names = [n for n, _ in m.named_parameters()]
    R.shuffle(names)
    late = names[-1:] if R.random() < 0.4 else []          # added with add_param_group after a few steps
    names = names[:len(names) - len(late)]
    base = (_sgd_cfg if name == "SGD" else _adam_cfg)(R)
    n_groups = R.choice([1, 2, 3])
    cuts = sorted(R.sample(range(1, len(names)), min(n_groups, len(names)) - 1))
    parts = [names[a:b] for a, b in zip([0] + cuts, cuts + [len(names)])]
    overrides = [_group_cfg(R, name, base) if len(parts) > 1 else {} for _ in parts]
    groups = [dict(o, params=[m.get_parameter(n) for n in part]) for o, part in zip(overrides, parts)]
    plain = len(groups) == 1 and R.random() < 0.5              # a plain list of tensors
    opt = getattr(optim, name)(groups[0]["params"] if plain else groups, **base)
    topts = []
    for r in runs:
        tgroups = [dict(o, params=[r.get_parameter(n) for n in part]) for o, part in zip(overrides, parts)]
        topts.append(getattr(torch.optim, name)(tgroups[0]["params"] if plain else tgroups, **base, foreach=False))
    topt = topts[0]

    loss_kind = R.choice(["mse", "ce", "nll"])
    x = rng.standard_normal((8, 3)).astype(dtype)
    y = rng.standard_normal((8, 2)).astype(dtype) if loss_kind == "mse" else rng.integers(0, 2, 8)

    def loss(model, T, L, dt=None):
        # maximize=True climbs the negated loss, so every run converges (a
        # diverging run would amplify the gradients' rounding differences)
        sign = -1 if base["maximize"] else 1
        out = model(T.tensor(x, dtype=dt))
        if loss_kind == "mse":
            return L.mse_loss(out, T.tensor(y, dtype=dt)) * sign
        if loss_kind == "ce":
            return L.cross_entropy(out, T.tensor(y), label_smoothing=0.1) * sign
        return L.nll_loss(out.log_softmax(1), T.tensor(y), reduction="sum") * sign

    for step in range(20):
        if step == 4 and late:
            over = _group_cfg(R, name, base)
            opt.add_param_group(dict(over, params=[m.get_parameter(n) for n in late]))
            for r, o in zip(runs, topts):
                o.add_param_group(dict(over, params=[r.get_parameter(n) for n in late]))
        set_to_none = R.random() < 0.7
        opt.zero_grad(set_to_none=set_to_none)
        for o in topts:
            o.zero_grad(set_to_none=set_to_none)
        loss(m, ag, F).backward()
        for r in runs:
            loss(r, torch, torch.nn.functional, next(r.parameters()).dtype).backward()
        if R.random() < 0.2:                                  # a parameter without a gradient this step
            i = R.randrange(len(names))
            for model in [m] + runs:
                model.get_parameter(names[i]).grad = None
        if R.random() < 0.15:                                 # a hand-made lr schedule
            for o in [opt] + topts:
                for g in o.param_groups:
                    g["lr"] *= 0.7
        if R.random() < 0.2:
            closure_calls = []

            def closure():
                closure_calls.append(1)
                return ag.tensor(1.5)
            assert opt.step(closure).item() == 1.5 and closure_calls == [1]
        else:
            assert opt.step() is None
        for o in topts:
            o.step()
        exact = dict(runs[1].named_parameters()) if len(runs) > 1 else {}
        for (n, p), tp in zip(m.named_parameters(), tm.parameters()):
            _close_or_as_close_as_pytorch(_np(p), tp.detach().numpy(),
                                          exact[n].detach().numpy() if exact else None, tol,
                                          f"{name}({base}) groups {overrides} step {step + 1}: {n}")

    sd, tsd = opt.state_dict(), topt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [g["params"] for g in tsd["param_groups"]]
    for g, tg in zip(sd["param_groups"], tsd["param_groups"]):
        for k, v in g.items():
            assert (tuple(tg[k]) == tuple(v)) if k == "betas" else (tg[k] == v), k
    assert sorted(sd["state"]) == sorted(tsd["state"])
    for i, tstate in tsd["state"].items():
        assert sorted(sd["state"][i]) == sorted(tstate)
        for k, tv in tstate.items():
            v = sd["state"][i][k]
            if k == "step":
                assert v.dtype == ag.float32 and v.dim() == 0 and v.item() == tv.item()
            else:
                assert v.dtype == getattr(ag, dtype) and v.shape == tuple(tv.shape)
                np.testing.assert_allclose(_np(v), tv.numpy(), rtol=tol["rtol"] * 10, atol=tol["atol"] * 10,
                                           err_msg=f"state {i} {k}")


@pytest.mark.parametrize("seed", range(32))
def test_update_rules_match_pytorch_on_identical_gradients(torch, seed):
    """Extreme hyperparameters too (eps=0, beta2=0, momentum=1, dampening 1 or
    negative, lr=0), and zero gradients: the same gradients go to both, so
    the parameters may differ only by rounding (PyTorch fuses some
    multiply-adds). Each step starts from PyTorch's parameters (the states
    run on their own), and where the weight-decayed gradient g + wd * p
    cancels to 1/k of its terms, its rounding, and so the step's, is k times
    larger: with beta2=0 the step is lr * m / |g + wd * p|, so one ulp of p
    became 1e-4 relative a step later, in PyTorch's own float32 as much as
    in ours (seeds 1325, 1331, 1341, 1477, 2593, against an
    extended-precision Adam)."""
    R = random.Random(1000 + seed)
    rng = np.random.default_rng(1000 + seed)
    name = ("SGD", "Adam")[seed % 2]
    dtype = ("float32", "float64")[(seed // 2) % 2]
    kw = (_sgd_cfg if name == "SGD" else _adam_cfg)(R, extreme=True)
    init = [np.asarray(rng.standard_normal(s), dtype=dtype) for s in [(3, 4), (4,), (2, 2, 2), ()]]
    ps = [ag.tensor(a, requires_grad=True) for a in init]
    tps = [torch.tensor(a, requires_grad=True) for a in init]
    opt = getattr(optim, name)(ps, **kw)
    topt = getattr(torch.optim, name)(tps, **kw, foreach=False)
    rel = 1e-12 if dtype == "float64" else 2e-5
    scale = [float(np.max(np.abs(a))) for a in init]      # the largest magnitude each parameter has had
    wd, sign, eps = kw["weight_decay"], (-1.0 if kw["maximize"] else 1.0), np.finfo(dtype).eps
    for step in range(30):
        grads, before = [], [tp.detach().numpy().astype(np.float64) for tp in tps]
        for p, tp in zip(ps, tps):
            g = np.asarray(rng.standard_normal(p.shape) * 10 ** rng.uniform(-3, 1), dtype=dtype)
            if rng.random() < 0.1:
                g[...] = 0
            p.grad, tp.grad = ag.tensor(g), torch.tensor(g)
            grads.append(g.astype(np.float64))
        opt.step()
        topt.step()
        for i, (p, tp) in enumerate(zip(ps, tps)):
            want = tp.detach().numpy()
            scale[i] = max(scale[i], float(np.max(np.abs(want))))
            terms = np.abs(grads[i]) + wd * np.abs(before[i])
            k = terms / np.maximum(np.abs(sign * grads[i] + wd * before[i]), 1e-300 + terms * eps)
            got, tol = _np(p), rel * (np.abs(want) + scale[i]) + 4 * eps * k * np.abs(want - before[i])
            close = (np.abs(got - want) <= tol) | (got == want) | (np.isnan(got) & np.isnan(want))
            assert close.all(), \
                f"{name}({kw}) step {step + 1}, parameter {i}: ours {got}, PyTorch's {want}, tolerance {tol}"
            with ag.no_grad():
                p.copy_(ag.tensor(want))                    # the next step from the same parameters


@pytest.mark.parametrize("opt_name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
                                             ("SGD", dict(lr=0.1, momentum=0.5, dampening=0.3, maximize=True)),
                                             ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
                                             ("Adam", dict(lr=0.02, betas=(0.5, 0.9), maximize=True))])
def test_optimizer_state_dicts_exchange_with_pytorch(torch, opt_name, kwargs):
    """3 steps in both; then our state dict goes into a fresh PyTorch optimizer
    and PyTorch's into a fresh one of ours; 4 more steps of all four agree."""
    def to_torch(sd):
        return {"state": {i: {k: (_t(torch, v) if isinstance(v, ag.Tensor) else v) for k, v in s.items()}
                          for i, s in sd["state"].items()},
                "param_groups": [dict(g) for g in sd["param_groups"]]}

    def to_ag(sd):
        return {"state": {i: {k: (ag.tensor(v.numpy().copy()) if isinstance(v, torch.Tensor) else v)
                              for k, v in s.items()} for i, s in sd["state"].items()},
                "param_groups": [dict(g) for g in sd["param_groups"]]}

    def grouped(model):
        return [{"params": [model[0].weight, model[0].bias]}, {"params": [model[2].weight], "lr": 0.05},
                {"params": [model[2].bias, model[4].weight, model[4].bias]}]

    m, tm = _mlp(nn, ag.float64), _mlp(torch.nn, torch.float64)
    tm.load_state_dict(_ag_sd_to_torch(torch, m.state_dict()))
    opt = getattr(optim, opt_name)(grouped(m), **kwargs)
    topt = getattr(torch.optim, opt_name)(grouped(tm), **kwargs, foreach=False)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))

    def step(model, o, T, L):
        o.zero_grad()
        L.mse_loss(model(T.tensor(x)), T.tensor(y)).backward()
        o.step()

    for _ in range(3):
        step(m, opt, ag, F)
        step(tm, topt, torch, torch.nn.functional)
    m2, tm2 = _mlp(nn, ag.float64), _mlp(torch.nn, torch.float64)
    m2.load_state_dict(_torch_sd_to_ag(tm.state_dict()))
    tm2.load_state_dict(_ag_sd_to_torch(torch, m.state_dict()))
    opt2 = getattr(optim, opt_name)(grouped(m2), lr=9.0)
    topt2 = getattr(torch.optim, opt_name)(grouped(tm2), lr=9.0, foreach=False)
    opt2.load_state_dict(to_ag(topt.state_dict()))
    topt2.load_state_dict(to_torch(opt.state_dict()))
    assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in topt.param_groups]
    for _ in range(4):
        step(m, opt, ag, F)
        step(tm, topt, torch, torch.nn.functional)
        step(m2, opt2, ag, F)
        step(tm2, topt2, torch, torch.nn.functional)
    for a, b, c, d in zip(m.parameters(), tm.parameters(), m2.parameters(), tm2.parameters()):
        want = b.detach().numpy()
        for got in (_np(a), _np(c), d.detach().numpy()):
            np.testing.assert_allclose(got, want, **TOL["float64"])


def test_zero_grad_modes_match_pytorch(torch):
    for set_to_none in (True, False):
        m, tm = _mlp(nn, ag.float64), _mlp(torch.nn, torch.float64)
        opt, topt = optim.Adam(m.parameters()), torch.optim.Adam(tm.parameters())
        x = np.ones((2, 3))
        m(ag.tensor(x)).sum().backward()
        tm(torch.tensor(x)).sum().backward()
        grads = [p.grad for p in m.parameters()]
        opt.zero_grad(set_to_none=set_to_none)
        topt.zero_grad(set_to_none=set_to_none)
        for p, tp, g in zip(m.parameters(), tm.parameters(), grads):
            assert (p.grad is None) == (tp.grad is None)
            if not set_to_none:
                assert p.grad is g and np.array_equal(_np(p.grad), tp.grad.numpy())
        # a zero gradient is still a gradient: Adam counts the step, as PyTorch does
        opt.step()
        topt.step()
        assert len(opt.state_dict()["state"]) == len(topt.state_dict()["state"])


# ---- bad arguments: PyTorch's exception types, the argument named --------------------------------------------

_OPT_ERRORS = {
    "sgd lr<0": (lambda o, P: o.SGD(P, lr=-1.0), "learning rate"),
    "sgd momentum<0": (lambda o, P: o.SGD(P, lr=0.1, momentum=-0.5), "momentum"),
    "sgd weight_decay<0": (lambda o, P: o.SGD(P, lr=0.1, weight_decay=-1e-9), "weight_decay"),
    "sgd nesterov without momentum": (lambda o, P: o.SGD(P, lr=0.1, nesterov=True), "Nesterov"),
    "sgd nesterov with dampening": (lambda o, P: o.SGD(P, lr=0.1, momentum=0.5, dampening=0.5, nesterov=True),
                                    "Nesterov"),
    "sgd lr str": (lambda o, P: o.SGD(P, lr="0.1"), ""),
    "sgd lr None": (lambda o, P: o.SGD(P, lr=None), ""),
    "sgd empty": (lambda o, P: o.SGD([], lr=0.1), "empty parameter list"),
    "sgd one tensor": (lambda o, P: o.SGD(P[0], lr=0.1), "iterable of Tensors or dicts"),
    "sgd non-leaf": (lambda o, P: o.SGD([P[0] * 2], lr=0.1), "non-leaf"),
    "sgd int in list": (lambda o, P: o.SGD([3], lr=0.1), "can only optimize Tensors"),
    "sgd group set": (lambda o, P: o.SGD([{"params": set(P)}], lr=0.1), "ordered collections"),
    "sgd param in two groups": (lambda o, P: o.SGD([{"params": P}, {"params": P[:1]}], lr=0.1),
                                "more than one parameter group"),
    "sgd unknown kwarg": (lambda o, P: o.SGD(P, lr=0.1, betas=(0.9, 0.9)), "betas"),
    "adam lr<0": (lambda o, P: o.Adam(P, lr=-1.0), "learning rate"),
    "adam eps<0": (lambda o, P: o.Adam(P, eps=-1e-8), "epsilon"),
    "adam beta0=1": (lambda o, P: o.Adam(P, betas=(1.0, 0.9)), "beta parameter at index 0"),
    "adam beta0<0": (lambda o, P: o.Adam(P, betas=(-0.1, 0.9)), "beta parameter at index 0"),
    "adam beta1=1": (lambda o, P: o.Adam(P, betas=(0.9, 1.0)), "beta parameter at index 1"),
    "adam weight_decay<0": (lambda o, P: o.Adam(P, weight_decay=-1.0), "weight_decay"),
    "adam betas scalar": (lambda o, P: o.Adam(P, betas=0.9), ""),
    "adam empty": (lambda o, P: o.Adam([]), "empty parameter list"),
    "adam unknown kwarg": (lambda o, P: o.Adam(P, momentum=0.9), "momentum"),
    "load: group count": (lambda o, P: o.SGD(P, lr=0.1).load_state_dict({"state": {}, "param_groups": []}),
                          "number of parameter groups"),
    "load: group size": (lambda o, P: o.SGD(P, lr=0.1).load_state_dict(
        {"state": {}, "param_groups": [{"params": [0], "lr": 0.1, "momentum": 0, "dampening": 0,
                                        "weight_decay": 0, "nesterov": False, "maximize": False}]}),
                         "doesn't match the size"),
    "add_param_group list": (lambda o, P: o.SGD(P[:1], lr=0.1).add_param_group([P[1]]), "must be a dict"),
    "add_param_group duplicate": (lambda o, P: o.SGD(P[:1], lr=0.1).add_param_group({"params": P[:1]}),
                                  "more than one parameter group"),
}


@pytest.mark.parametrize("case", list(_OPT_ERRORS))
def test_optimizer_bad_arguments_match_pytorch(torch, case):
    make, msg = _OPT_ERRORS[case]
    ours = _outcome(lambda: make(optim, [ag.ones(2, requires_grad=True), ag.ones(3, requires_grad=True)]))
    theirs = _outcome(lambda: make(torch.optim, [torch.ones(2, requires_grad=True), torch.ones(3, requires_grad=True)]))
    assert theirs[0] is not None and ours[0] is theirs[0], (ours, theirs)
    assert msg in ours[1], ours


_MODULE_ERRORS = {
    "assign tensor to parameter": (lambda M, T: setattr(M.Linear(2, 3), "weight", T.ones(3, 2)), "weight"),
    "assign int to child module": (lambda M, T: setattr(M.Sequential(M.ReLU()), "0", 3), "'0'"),
    "assign int to buffer": (lambda M, T: (lambda m: (m.register_buffer("b", T.ones(1)), setattr(m, "b", 3)))(
        M.Linear(2, 3)), "'b'"),
    "register_parameter tensor": (lambda M, T: M.Linear(2, 3).register_parameter("p", T.ones(1)), "'p'"),
    "register_parameter dotted": (lambda M, T: M.Linear(2, 3).register_parameter(
        "a.b", M.Parameter(T.ones(1))), "."),
    "register_parameter empty": (lambda M, T: M.Linear(2, 3).register_parameter("", M.Parameter(T.ones(1))),
                                 "empty"),
    "register_parameter int name": (lambda M, T: M.Linear(2, 3).register_parameter(3, M.Parameter(T.ones(1))),
                                    "string"),
    "register_parameter existing attr": (lambda M, T: M.Linear(2, 3).register_parameter(
        "in_features", M.Parameter(T.ones(1))), "in_features"),
    "register_buffer over parameter": (lambda M, T: M.Linear(2, 3).register_buffer("weight", T.ones(1)), "weight"),
    "register_buffer non-tensor": (lambda M, T: M.Linear(2, 3).register_buffer("b", [1.0]), "'b'"),
    "add_module non-module": (lambda M, T: M.Linear(2, 3).add_module("m", 3), "Module"),
    "add_module dotted": (lambda M, T: M.Linear(2, 3).add_module("a.b", M.ReLU()), "."),
    "add_module existing": (lambda M, T: M.Linear(2, 3).add_module("weight", M.ReLU()), "weight"),
    "to integer dtype": (lambda M, T: M.Linear(2, 3).to(T.int64), "floating point"),
    "train non-bool": (lambda M, T: M.Linear(2, 3).train("yes"), "boolean"),
    "load_state_dict list": (lambda M, T: M.Linear(2, 3).load_state_dict([1]), "dict-like"),
    "load_state_dict shape": (lambda M, T: M.Linear(2, 3).load_state_dict(
        {"weight": T.ones(2, 2), "bias": T.ones(3)}, strict=False), "size mismatch for weight"),
    "get_submodule missing": (lambda M, T: M.Sequential(M.ReLU()).get_submodule("3"), "3"),
    "get_parameter missing": (lambda M, T: M.Sequential(M.Linear(2, 3)).get_parameter("0.nope"), "nope"),
    "sequential index": (lambda M, T: M.Sequential(M.ReLU())[1], "index 1"),
    "sequential negative index": (lambda M, T: M.Sequential(M.ReLU())[-2], "index -2"),
    "sequential str index": (lambda M, T: M.Sequential(M.ReLU())["0"], "str"),
    "sequential del index": (lambda M, T: M.Sequential(M.ReLU()).__delitem__(4), "index 4"),
    "missing forward": (lambda M, T: M.Module()(T.ones(1)), "forward"),
    "integer Parameter": (lambda M, T: M.Parameter(T.ones(2, dtype=T.int64)), "floating point"),
    "integer Linear": (lambda M, T: M.Linear(2, 3, dtype=T.int64), "floating point"),
    "float in_features": (lambda M, T: M.Linear(2.0, 3), ""),
    "Linear width": (lambda M, T: M.Linear(2, 3)(T.ones(4, 3)), "2"),
    "Linear dtype": (lambda M, T: M.Linear(2, 3)(T.ones(4, 2, dtype=T.float64)), "Double"),
    "nll float target": (lambda M, T: M.NLLLoss()(T.zeros(3, 4), T.zeros(3)), "Float"),
    "nll probability target": (lambda M, T: M.NLLLoss()(T.zeros(3, 4), T.zeros(3, 4)), ""),
    "nll target out of range": (lambda M, T: M.NLLLoss()(T.zeros(2, 3, 4), T.full((2, 4), 3, dtype=T.int64)),
                                "Target 3"),
    "ce weight shape": (lambda M, T: M.CrossEntropyLoss(weight=T.ones(2, 2))(T.zeros(3, 4),
                                                                            T.zeros(3, dtype=T.int64)), "[2, 2]"),
    "ce probability shape": (lambda M, T: M.CrossEntropyLoss()(T.zeros(3, 4), T.zeros(3, 5)), ""),
    "ce target beyond ignore_index": (lambda M, T: M.CrossEntropyLoss(ignore_index=5)(
        T.zeros(2, 3), T.tensor([5, 4])), "Target 4"),
    "ce weight dtype": (lambda M, T: M.CrossEntropyLoss(weight=T.ones(4, dtype=T.float64))(
        T.zeros(3, 4), T.zeros(3, dtype=T.int64)), ""),
    "relu non-tensor": (lambda M, T: M.ReLU()([1.0]), "Tensor"),
    "softmax dim": (lambda M, T: M.functional.softmax(T.zeros(2, 3), dim=2), ""),
}


@pytest.mark.parametrize("case", list(_MODULE_ERRORS))
def test_module_bad_arguments_match_pytorch(torch, case):
    make, msg = _MODULE_ERRORS[case]
    ours, theirs = _outcome(lambda: make(nn, ag)), _outcome(lambda: make(torch.nn, torch))
    assert theirs[0] is not None and ours[0] is theirs[0], (ours, theirs)
    assert msg in ours[1], ours


# ---- bugs found by this file, fixed ------------------------------------------------------

# Bug (fixed): Adam accepts NaN hyperparameters (check_number's `value < low` is False for NaN);
# PyTorch raises ValueError 'Invalid ...: nan'
@pytest.mark.parametrize("kwargs,msg", [(dict(lr=float("nan")), "Invalid learning rate: nan"),
                                        (dict(eps=float("nan")), "Invalid epsilon value: nan"),
                                        (dict(betas=(float("nan"), 0.999)), "Invalid beta parameter at index 0: nan"),
                                        (dict(betas=(0.9, float("nan"))), "Invalid beta parameter at index 1: nan"),
                                        (dict(weight_decay=float("nan")), "Invalid weight_decay value: nan")],
                         ids=["lr", "eps", "beta0", "beta1", "weight_decay"])
def test_adam_rejects_nan_hyperparameters_like_pytorch(torch, kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        torch.optim.Adam([torch.ones(1, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match=msg):
        optim.Adam([ag.ones(1, requires_grad=True)], **kwargs)


# Stricter than PyTorch, deliberately (docs/nn.md): its SGD takes a NaN hyperparameter and
# turns the parameters into NaN on the first step.
@pytest.mark.parametrize("kwargs,msg", [(dict(lr=float("nan")), "Invalid learning rate: nan"),
                                        (dict(momentum=float("nan")), "Invalid momentum value: nan"),
                                        (dict(weight_decay=float("nan")), "Invalid weight_decay value: nan")])
def test_sgd_rejects_nan_hyperparameters(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        optim.SGD([ag.ones(1, requires_grad=True)], **kwargs)


# Bug (fixed): re-assigning an existing parameter attribute moves it to the end of
# named_parameters()/state_dict() (Module._forget pops it); PyTorch keeps its place
def test_reassigned_parameter_keeps_its_place(torch):
    order = []
    for M, T in ((torch.nn, torch), (nn, ag)):
        m = M.Module()
        m.a = M.Parameter(T.zeros(1))
        m.b = M.Parameter(T.zeros(1))
        m.a = M.Parameter(T.ones(1))
        order.append([n for n, _ in m.named_parameters()])
    assert order[0] == ["a", "b"]
    assert order[1] == order[0]


# Bug (fixed): re-assigning an existing child module moves it to the end of _modules; a Sequential
# then runs its layers in the wrong order (PyTorch keeps the place)
def test_reassigned_submodule_keeps_its_place(torch):
    outs = []
    for M, T in ((torch.nn, torch), (nn, ag)):
        s = M.Sequential(M.Linear(2, 3), M.ReLU(), M.Linear(3, 1))
        setattr(s, "0", M.Linear(2, 3))               # e.g. replacing a layer by name
        outs.append(([n for n, _ in s.named_children()], list(s.state_dict()),
                     _outcome(lambda: s(T.ones(1, 2)))[0]))
    assert outs[0] == (["0", "1", "2"], ["0.weight", "0.bias", "2.weight", "2.bias"], None)
    assert outs[1] == outs[0]          # ours: ['1', '2', '0'], and the forward raises RuntimeError


# Bug (fixed): Optimizer.state is a plain dict: opt.state[p] of a parameter not stepped yet raises
# KeyError; PyTorch's is a defaultdict(dict) giving {}
def test_optimizer_state_is_a_defaultdict_like_pytorch(torch):
    tp = torch.ones(2, requires_grad=True)
    assert torch.optim.SGD([tp], lr=0.1).state[tp] == {}
    p = ag.ones(2, requires_grad=True)
    assert optim.SGD([p], lr=0.1).state[p] == {}


# Bug (fixed): load_state_dict lists unexpected keys in state-dict order; PyTorch collects them module
# by module (root's own first), so the returned unexpected_keys and the strict error text differ in
# order
def test_unexpected_keys_order_matches_pytorch(torch):
    m, tm = nn.Sequential(nn.Linear(2, 2)), torch.nn.Sequential(torch.nn.Linear(2, 2))
    sd = OrderedDict([("0.extra", ag.zeros(1)), ("zzz", ag.zeros(1))])
    got = m.load_state_dict(sd, strict=False).unexpected_keys
    want = tm.load_state_dict(_ag_sd_to_torch(torch, sd), strict=False).unexpected_keys
    assert want == ["zzz", "0.extra"]
    assert got == want                 # ours: ['0.extra', 'zzz']
