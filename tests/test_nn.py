"""ag.nn: Parameter, Module, Linear, activations, Sequential, losses and
ag.nn.functional, against PyTorch CPU where PyTorch has the same thing
(initialisation ranges, reprs, loss values and gradients, exception types),
plus save / load of state dicts."""
import copy
import io
import math
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import autograd_gpu as ag
import autograd_gpu.nn.functional as F
from autograd_gpu import nn, optim
from autograd_gpu import serialization
from conftest import needs_cuda


def _np(t):
    return t.detach().cpu().numpy()


def _to_torch(torch, t, requires_grad=False):
    return torch.from_numpy(_np(t).copy()).requires_grad_(requires_grad)


# ---- Parameter ------------------------------------------------------------------------------------

def test_parameter_is_a_leaf_tensor_that_requires_grad(device):
    data = ag.randn(2, 3, device=device)
    p = nn.Parameter(data)
    assert isinstance(p, ag.Tensor) and isinstance(p, nn.Parameter)
    assert p.is_leaf and p.requires_grad and p.grad_fn is None and p.device == data.device
    assert not data.requires_grad                              # the source is left alone
    with ag.no_grad():
        p.add_(1.0)
    np.testing.assert_array_equal(_np(p), _np(data))           # shares memory, as in PyTorch
    assert nn.Parameter(data, requires_grad=False).requires_grad is False
    assert nn.Parameter().shape == (0,)
    assert repr(p).startswith("Parameter containing:\ntorch_tensor\n")
    assert "[ requires_grad = True ]" in repr(p)


def test_parameter_rejects_non_tensors_and_integer_data():
    with pytest.raises(TypeError, match="must be a Tensor"):
        nn.Parameter([1.0, 2.0])
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(ag.tensor([1, 2]))
    assert nn.Parameter(ag.tensor([1, 2]), requires_grad=False).dtype == ag.int64


def test_parameter_operators_on_either_side(device):
    """A Parameter works as either operand of every arithmetic operator."""
    p = nn.Parameter(ag.tensor([1.0, 2.0, 4.0], device=device))
    q = nn.Parameter(ag.tensor([0.5, 0.25, 2.0], device=device))
    x = ag.tensor([3.0, -1.0, 2.0], device=device)
    pn, qn, xn = _np(p), _np(q), _np(x)
    cases = [(x + p, xn + pn), (x - p, xn - pn), (x * p, xn * pn), (x / p, xn / pn), (x ** p, xn ** pn),
             (p - x, pn - xn), (p / x, pn / xn), (p * q, pn * qn), (p - q, pn - qn), (p / q, pn / qn),
             (p ** q, pn ** qn), (p + q, pn + qn), (2 - p, 2 - pn), (2 / p, 2 / pn), (2 ** p, 2 ** pn)]
    for got, want in cases:
        np.testing.assert_allclose(_np(got), want, rtol=1e-6)
    (x * p + p * q - x / q).sum().backward()
    np.testing.assert_allclose(_np(p.grad), xn + qn, rtol=1e-6)
    np.testing.assert_allclose(_np(q.grad), pn + xn / qn ** 2, rtol=1e-6)


def test_parameter_survives_deepcopy():
    m = nn.Linear(3, 2)
    c = copy.deepcopy(m)
    assert type(c.weight) is nn.Parameter and c.weight is not m.weight
    np.testing.assert_array_equal(_np(c.weight), _np(m.weight))
    with ag.no_grad():
        c.weight.zero_()
    assert np.abs(_np(m.weight)).sum() > 0


# ---- Linear initialisation --------------------------------------------------------------------------

@pytest.mark.parametrize("fan_in", [1, 3, 64, 1000])
def test_linear_init_bounds_match_pytorch(torch, fan_in):
    bound = 1 / math.sqrt(fan_in)
    ours = nn.Linear(fan_in, 50)
    ref = torch.nn.Linear(fan_in, 50)
    for ours_p, ref_p in ((ours.weight, ref.weight), (ours.bias, ref.bias)):
        w, tw = _np(ours_p), ref_p.detach().numpy()
        assert w.dtype == np.float32
        assert np.abs(w).max() <= bound and np.abs(tw).max() <= bound    # PyTorch's own range
        assert np.abs(w).max() > 0.9 * bound if w.size >= 50 else True


def test_linear_init_statistics(torch):
    """Over many draws: U(-b, b) with b = 1/sqrt(fan_in), i.e. mean 0 and
    std b/sqrt(3), for both weight and bias; the same as PyTorch's draws."""
    fan_in, draws = 16, 400
    bound = 1 / math.sqrt(fan_in)
    w = np.concatenate([_np(nn.Linear(fan_in, 64).weight).ravel() for _ in range(draws // 4)])
    b = np.concatenate([_np(nn.Linear(fan_in, 64).bias) for _ in range(draws)])
    tw = np.concatenate([torch.nn.Linear(fan_in, 64).weight.detach().numpy().ravel()
                         for _ in range(draws // 4)])
    for x in (w, b, tw):
        n = x.size
        sd = bound / math.sqrt(3)
        assert np.abs(x).max() <= bound
        assert abs(x.mean()) < 5 * sd / math.sqrt(n)                      # mean 0
        assert abs(x.std() / sd - 1) < 0.03                               # std of the uniform
        # uniform: each tenth of [-b, b] holds a tenth of the draws
        hist = np.histogram(x, bins=10, range=(-bound, bound))[0] / n
        assert np.all(np.abs(hist - 0.1) < 0.015), hist
    # and the two libraries' draws are alike: quantiles agree
    q = np.linspace(0.05, 0.95, 19)
    np.testing.assert_allclose(np.quantile(w, q), np.quantile(tw, q), atol=0.02 * bound)


def test_linear_zero_fan_in_and_options(device):
    m = nn.Linear(0, 3, device=device, dtype=ag.float64)
    assert m.weight.shape == (3, 0) and m.bias.tolist() == [0.0, 0.0, 0.0]
    assert m.weight.dtype == ag.float64 and m.weight.device == ag.device(device)
    m = nn.Linear(3, 2, bias=False)
    assert m.bias is None and [n for n, _ in m.named_parameters()] == ["weight"]
    assert repr(m) == "Linear(in_features=3, out_features=2, bias=False)"


def test_linear_forward_matches_pytorch(torch, device):
    m = nn.Linear(5, 3).to(device)
    ref = torch.nn.Linear(5, 3)
    with torch.no_grad():
        ref.weight.copy_(_to_torch(torch, m.weight))
        ref.bias.copy_(_to_torch(torch, m.bias))
    for shape in [(5,), (4, 5), (2, 3, 5)]:
        x_np = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
        x = ag.tensor(x_np, device=device, requires_grad=True)
        tx = torch.from_numpy(x_np).requires_grad_(True)
        y, ty = m(x), ref(tx)
        np.testing.assert_allclose(_np(y), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
        y.square().sum().backward()
        ty.square().sum().backward()
        np.testing.assert_allclose(_np(x.grad), tx.grad.numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(_np(m.weight.grad), ref.weight.grad.numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(_np(m.bias.grad), ref.bias.grad.numpy(), rtol=1e-5, atol=1e-5)
        m.zero_grad()
        ref.zero_grad()
    np.testing.assert_allclose(_np(F.linear(x, m.weight)), (tx @ ref.weight.T).detach().numpy(), rtol=1e-5,
                               atol=1e-6)


# ---- Module: registration and traversal ----------------------------------------------------------

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(ag.ones(2))
        self.inner = nn.Linear(2, 2)
        self.register_buffer("running", ag.zeros(2))
        self.register_buffer("scratch", ag.zeros(1), persistent=False)
        self.shift = nn.Parameter(ag.zeros(2))
        self.plain = ag.ones(3)                      # a plain tensor attribute is not registered

    def forward(self, x):
        return self.inner(x) * self.scale + self.shift


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = Block()
        self.act = nn.Tanh()
        self.second = Block()
        self.head = nn.Linear(2, 1)

    def forward(self, x):
        return self.head(self.second(self.act(self.first(x))))


def test_registration_and_order():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    block = ["scale", "shift", "inner.weight", "inner.bias"]      # own parameters first, then submodules
    assert names == [f"first.{n}" for n in block] + [f"second.{n}" for n in block] + ["head.weight",
                                                                                       "head.bias"]
    assert [p for p in net.parameters()] == [p for _, p in net.named_parameters()]
    assert [n for n, _ in net.named_children()] == ["first", "act", "second", "head"]
    assert list(net.children()) == [net.first, net.act, net.second, net.head]
    assert [n for n, _ in net.named_modules()] == ["", "first", "first.inner", "act", "second", "second.inner",
                                                  "head"]
    assert len(list(net.modules())) == 7
    assert [n for n, _ in net.named_buffers()] == ["first.running", "first.scratch", "second.running",
                                                  "second.scratch"]
    assert [n for n, _ in net.first.named_parameters(recurse=False)] == ["scale", "shift"]
    assert "plain" not in dict(net.first.named_parameters()) and "plain" not in net.first.state_dict()
    assert net.get_submodule("second.inner") is net.second.inner
    assert net.get_parameter("head.bias") is net.head.bias


def test_named_parameters_order_matches_pytorch(torch):
    ours = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Sequential(nn.Linear(4, 4), nn.Tanh()), nn.Linear(4, 1))
    ref = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(),
                              torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Tanh()), torch.nn.Linear(4, 1))
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in ref.named_modules()]


def test_shared_parameter_is_listed_once():
    a = nn.Linear(2, 2)
    m = nn.Sequential(a, nn.ReLU(), a)
    assert len(list(m.parameters())) == 2
    assert len(list(m.named_parameters(remove_duplicate=False))) == 4
    assert list(m.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_attribute_rules():
    m = Block()
    m.shift = None                                      # a parameter slot may be emptied
    assert m.shift is None and "shift" not in dict(m.named_parameters())
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'scale'"):
        m.scale = ag.ones(2)
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'inner'"):
        m.inner = 3
    with pytest.raises(TypeError, match="cannot assign 'list' as buffer 'running'"):
        m.running = [1, 2]
    m.running = ag.ones(2)                              # a buffer takes any tensor
    assert m.running.tolist() == [1.0, 1.0]
    m.extra = nn.Parameter(ag.zeros(1))                 # assignment registers
    assert list(dict(m.named_parameters()))[-3:] == ["extra", "inner.weight", "inner.bias"]
    del m.extra
    assert "extra" not in dict(m.named_parameters())
    with pytest.raises(AttributeError, match="'Block' object has no attribute 'missing'"):
        m.missing
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("scale", ag.zeros(1))
    with pytest.raises(KeyError, match="contain"):
        m.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="ag.nn.Parameter or None required"):
        m.register_parameter("w", ag.ones(1))
    with pytest.raises(ValueError, match="non-leaf Tensor to parameter 'w'.*to express 'w' as a function"):
        m.register_parameter("w", _non_leaf_parameter())
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("x", 3)
    assert "inner" in dir(m) and "scale" in dir(m)


def _non_leaf_parameter():
    p = nn.Parameter(ag.ones(1))
    y = p * 2
    y.__class__ = nn.Parameter
    return y


def test_assigning_before_init_fails():
    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(ag.ones(1))
            super().__init__()

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_call_is_forward_and_missing_forward_raises():
    class Twice(nn.Module):
        def forward(self, x, k=2):
            return x * k

    assert Twice()(ag.tensor([1.0]), k=3).tolist() == [3.0]
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required "forward"'):
        nn.Module()(ag.ones(1))


def test_train_eval():
    net = Net()
    assert net.training and all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.second.train(False)
    assert net.training and not net.second.training and not net.second.inner.training
    with pytest.raises(ValueError, match="boolean"):
        net.train("yes")


@pytest.mark.parametrize("set_to_none", [True, False])
def test_module_zero_grad(set_to_none):
    net = Net()
    net(ag.randn(4, 2)).sum().backward()
    grads = {n: p.grad for n, p in net.named_parameters()}
    assert all(g is not None for g in grads.values())
    net.zero_grad(set_to_none=set_to_none)
    for n, p in net.named_parameters():
        if set_to_none:
            assert p.grad is None
        else:
            assert p.grad is grads[n] and not np.any(_np(p.grad))


def test_requires_grad_():
    net = Net().requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_apply_visits_children_first():
    seen = []
    Net().apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Block", "Tanh", "Linear", "Block", "Linear", "Net"]


# ---- Module: devices and dtypes ----------------------------------------------------------------------

def test_to_dtype_keeps_parameter_identity_and_converts_grads(device):
    net = Net().to(device)
    net(ag.randn(4, 2, device=device)).sum().backward()
    params = list(net.parameters())
    opt = optim.SGD(net.parameters(), lr=0.1)
    assert net.double() is net
    assert list(net.parameters()) == params
    for p in net.parameters():
        assert type(p) is nn.Parameter and p.dtype == ag.float64 and p.grad.dtype == ag.float64
        assert p.is_leaf and p.requires_grad
    assert net.first.running.dtype == ag.float64
    out = net(ag.randn(4, 2, device=device, dtype=ag.float64))
    assert out.dtype == ag.float64
    out.sum().backward()
    opt.step()                                               # the optimizer still holds the same parameters
    net.float()
    assert all(p.dtype == ag.float32 for p in net.parameters())
    assert net.to(ag.float16).head.weight.dtype == ag.float16
    b = nn.Module()
    b.register_buffer("idx", ag.tensor([1, 2]))
    assert b.to(ag.float64).idx.dtype == ag.int64             # only floating tensors change dtype
    with pytest.raises(TypeError, match="floating point"):
        net.to(ag.int32)


def test_to_a_device_that_cannot_work_changes_nothing():
    net = Net()
    before = {k: _np(v).copy() for k, v in net.state_dict().items()}
    devices = [p.device for p in net.parameters()]
    with pytest.raises((RuntimeError, ValueError)):
        net.to("cuda:99")
    assert [p.device for p in net.parameters()] == devices
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(_np(v), before[k])


@pytest.mark.gpu
@needs_cuda
def test_module_moves_between_devices():
    net = Net()
    x = ag.randn(3, 2)
    want = _np(net(x))
    net.cuda()
    assert all(p.is_cuda for p in net.parameters()) and net.first.running.is_cuda
    np.testing.assert_allclose(_np(net(x.cuda())), want, rtol=1e-5, atol=1e-6)
    net.cpu()
    assert not any(p.is_cuda for p in net.parameters())


# ---- state dicts ------------------------------------------------------------------------------------------

def test_state_dict_contents():
    net = Net()
    sd = net.state_dict()
    assert isinstance(sd, OrderedDict)
    block = ["scale", "shift", "running", "inner.weight", "inner.bias"]   # params, persistent buffers, children
    assert list(sd) == [f"first.{k}" for k in block] + [f"second.{k}" for k in block] + ["head.weight",
                                                                                         "head.bias"]
    assert all(not v.requires_grad and v.is_leaf for v in sd.values())
    with ag.no_grad():
        net.head.bias.fill_(7.0)
    assert sd["head.bias"].tolist() == [7.0]                             # detached aliases, as PyTorch
    assert set(net.state_dict(keep_vars=True).values()) >= set(net.parameters())


def test_state_dict_round_trip(device):
    src, dst = Net().to(device), Net()
    x = ag.randn(5, 2)
    result = dst.load_state_dict(src.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    np.testing.assert_array_equal(_np(dst(x)), _np(src(x.to(device))))
    for (k, a), b in zip(dst.state_dict().items(), src.state_dict().values()):
        np.testing.assert_array_equal(_np(a), _np(b), err_msg=k)
        assert a.device == ag.device("cpu")                             # values moved to the module's device
    back = Net().to(device)
    back.load_state_dict(dst.state_dict())                              # and back onto the device
    np.testing.assert_array_equal(_np(back(x.to(device))), _np(src(x.to(device))))


def test_load_state_dict_casts_dtype():
    src = nn.Linear(3, 2).double()
    dst = nn.Linear(3, 2)
    dst.load_state_dict(src.state_dict())
    assert dst.weight.dtype == ag.float32 and type(dst.weight) is nn.Parameter
    np.testing.assert_array_equal(_np(dst.weight), _np(src.weight).astype(np.float32))


def test_load_state_dict_errors_match_pytorch_text(torch):
    ours, ref = nn.Linear(2, 3), torch.nn.Linear(2, 3)
    cases = [
        lambda T, z: {"weight": z(3, 2)},
        lambda T, z: {"weight": z(3, 2), "bias": z(3), "foo": z(1)},
        lambda T, z: {"weight": z(2, 2), "bias": z(3)},
        lambda T, z: {"weight": z(3, 2), "foo": z(1)},
    ]
    for make in cases:
        with pytest.raises(RuntimeError) as theirs:
            ref.load_state_dict(make(torch, torch.zeros))
        with pytest.raises(RuntimeError) as mine:
            ours.load_state_dict(make(ag, ag.zeros))
        want = str(theirs.value).replace("torch.Size(", "").replace("])", "]")
        assert str(mine.value) == want
    assert tuple(ours.load_state_dict({"weight": ag.zeros(3, 2), "foo": ag.ones(1)}, strict=False)) == \
        tuple(ref.load_state_dict({"weight": torch.zeros(3, 2), "foo": torch.ones(1)}, strict=False))
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        ours.load_state_dict([1])
    with pytest.raises(RuntimeError, match='While copying the parameter named "weight"'):
        ours.load_state_dict({"weight": [1.0], "bias": ag.zeros(3)})


def test_failed_load_changes_nothing():
    m = nn.Linear(2, 3)
    before = {k: _np(v).copy() for k, v in m.state_dict().items()}
    versions = [p._version for p in m.parameters()]
    with pytest.raises(RuntimeError, match="size mismatch for bias"):
        m.load_state_dict({"weight": ag.ones(3, 2), "bias": ag.ones(4)})     # weight alone would fit
    with pytest.raises(RuntimeError, match="size mismatch"):
        m.load_state_dict({"weight": ag.ones(3, 2), "bias": ag.ones(4)}, strict=False)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(_np(v), before[k])
    assert [p._version for p in m.parameters()] == versions


def test_load_state_dict_assign():
    m = nn.Linear(2, 3)
    w = ag.ones(3, 2, dtype=ag.float64)
    m.load_state_dict({"weight": w, "bias": ag.zeros(3, dtype=ag.float64)}, assign=True)
    assert type(m.weight) is nn.Parameter and m.weight.dtype == ag.float64 and m.weight.requires_grad


# ---- printing ------------------------------------------------------------------------------------------------

def test_repr_matches_pytorch(torch):
    pairs = [
        (nn.Sequential(nn.Linear(3, 32), nn.ReLU(), nn.Linear(32, 1)),
         torch.nn.Sequential(torch.nn.Linear(3, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))),
        (nn.Sequential(nn.Linear(2, 2, bias=False), nn.Sequential(nn.Tanh(), nn.Sigmoid()), nn.ReLU(inplace=True)),
         torch.nn.Sequential(torch.nn.Linear(2, 2, bias=False), torch.nn.Sequential(torch.nn.Tanh(),
                                                                                    torch.nn.Sigmoid()),
                             torch.nn.ReLU(inplace=True))),
        (nn.MSELoss(reduction="sum"), torch.nn.MSELoss(reduction="sum")),
        (nn.CrossEntropyLoss(label_smoothing=0.1), torch.nn.CrossEntropyLoss(label_smoothing=0.1)),
        (nn.Module(), torch.nn.Module()),
    ]
    for ours, ref in pairs:
        assert repr(ours) == repr(ref)


# ---- Sequential -----------------------------------------------------------------------------------------------

def test_sequential_container():
    a, b, c = nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1)
    s = nn.Sequential(a, b, c)
    assert len(s) == 3 and list(s) == [a, b, c]
    assert s[0] is a and s[-1] is c and s[-3] is a
    sub = s[1:]
    assert type(sub) is nn.Sequential and list(sub) == [b, c] and [n for n, _ in sub.named_children()] == ["1", "2"]
    with pytest.raises(IndexError, match="index 3 is out of range"):
        s[3]
    with pytest.raises(IndexError):
        s[-4]
    x = ag.randn(2, 3)
    np.testing.assert_array_equal(_np(s(x)), _np(c(b(a(x)))))
    named = nn.Sequential(OrderedDict(fc=a, act=b))
    assert [n for n, _ in named.named_children()] == ["fc", "act"] and named[1] is b
    s.append(nn.Tanh())
    assert len(s) == 4 and isinstance(s[3], nn.Tanh)
    del s[1]
    assert [n for n, _ in s.named_children()] == ["0", "1", "2"] and s[1] is c
    s[0] = nn.Linear(3, 4)
    assert s[0] is not a
    with pytest.raises(TypeError, match="not a Module subclass"):
        nn.Sequential(a, "relu")


# ---- activations and functional --------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_activations_and_softmax_match_pytorch(torch, device, dtype):
    x_np = (np.random.default_rng(3).standard_normal((4, 5)) * 4).astype(dtype)
    tF = torch.nn.functional
    cases = [(nn.ReLU(), tF.relu), (nn.Tanh(), torch.tanh), (nn.Sigmoid(), torch.sigmoid),
             (F.relu, tF.relu), (F.tanh, torch.tanh), (F.sigmoid, torch.sigmoid),
             (nn.GELU(), tF.gelu), (nn.GELU("tanh"), lambda t: tF.gelu(t, approximate="tanh")),
             (lambda t: F.gelu(t, approximate="tanh"), lambda t: tF.gelu(t, approximate="tanh")),
             (lambda t: F.softmax(t, dim=1), lambda t: tF.softmax(t, dim=1)),
             (lambda t: F.log_softmax(t, dim=0), lambda t: tF.log_softmax(t, dim=0)),
             (lambda t: F.softmax(t, -1, dtype=ag.float64), lambda t: tF.softmax(t, -1, dtype=torch.float64))]
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-14)
    for ours, ref in cases:
        x = ag.tensor(x_np, device=device, requires_grad=True)
        tx = torch.from_numpy(x_np).requires_grad_(True)
        y, ty = ours(x), ref(tx)
        np.testing.assert_allclose(_np(y), ty.detach().numpy(), **tol)
        w = np.random.default_rng(4).standard_normal(y.shape)
        (y * ag.tensor(w, dtype=y.dtype, device=device)).sum().backward()
        (ty * torch.from_numpy(w).to(ty.dtype)).sum().backward()
        np.testing.assert_allclose(_np(x.grad), tx.grad.numpy(), **tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_softmax_family_by_blocks_of_rows_matches_pytorch(torch, device, dtype):
    """softmax and log_softmax over the last dim of a large array run a block of rows at a time on
    NumPy (ops/blocked.py): several blocks and a partial last one, rows longer than a block, -inf
    entries and a row of -inf; upstream gradients full, expanded from sum, and one nonzero per
    row (cross_entropy's): values and gradients are PyTorch's (the other dims: the whole-array form,
    the same answers)."""
    rng = np.random.default_rng(11)
    tF = torch.nn.functional
    # (float32: g - exp(y) sum(g) over 700 random g carries sum(g)'s rounding, ~2e-5 against float64 in
    # both libraries' and in the whole-array form)
    tol = dict(rtol=1e-4, atol=5e-5) if dtype == "float32" else dict(rtol=1e-12, atol=1e-14)
    for shape, dim in (((3, 170, 700), -1), ((2, 140001), 1), ((600, 300), 0)):
        x_np = (rng.standard_normal(shape) * 3).astype(dtype)
        x_np.reshape(-1, shape[-1])[0, :7] = -np.inf
        x_np.reshape(-1, shape[-1])[-1] = -np.inf          # (a row of -inf: NaN in both)
        for fn in ("softmax", "log_softmax"):
            for upstream in ("full", "sum", "one per row"):
                x = ag.tensor(x_np, device=device, requires_grad=True)
                tx = torch.from_numpy(x_np).requires_grad_(True)
                y, ty = getattr(F, fn)(x, dim), getattr(tF, fn)(tx, dim)
                np.testing.assert_allclose(_np(y), ty.detach().numpy(), err_msg=f"{shape} {fn}", **tol)
                if upstream == "sum":
                    y.sum().backward()
                    ty.sum().backward()
                else:
                    w = rng.standard_normal(shape).astype(dtype)
                    if upstream == "one per row":
                        w = np.where(np.arange(shape[-1]) == 2, w, 0).astype(dtype)
                    y.backward(ag.tensor(w, device=device))
                    ty.backward(torch.from_numpy(w))
                np.testing.assert_allclose(_np(x.grad), tx.grad.numpy(), err_msg=f"{shape} {fn} {upstream}", **tol)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_node_second_order_and_bad_input_like_pytorch(torch, device, approximate):
    x_np = np.random.default_rng(5).standard_normal((3, 4)) * 3
    x = ag.tensor(x_np, device=device, requires_grad=True)
    tx = torch.from_numpy(x_np).requires_grad_(True)
    y, ty = F.gelu(x, approximate=approximate), torch.nn.functional.gelu(tx, approximate=approximate)
    assert y.grad_fn.name() == ty.grad_fn.name() == "GeluBackward0"
    (g,) = ag.autograd.grad(y.sum(), x, create_graph=True)
    (tg,) = torch.autograd.grad(ty.sum(), tx, create_graph=True)
    np.testing.assert_allclose(_np(g), tg.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(_np(ag.autograd.grad(g.sum(), x)[0]), torch.autograd.grad(tg.sum(), tx)[0].numpy(),
                               rtol=1e-10, atol=1e-12)
    assert ag.autograd.gradgradcheck(lambda t: F.gelu(t, approximate=approximate), [x])
    assert repr(nn.GELU(approximate)) == repr(torch.nn.GELU(approximate))
    for bad in (dict(input=ag.tensor([1, 2], device=device)), dict(input=x, approximate="erf"),
                dict(input=x, approximate=None), dict(input=[1.0])):
        tbad = {k: (torch.tensor([1, 2]) if isinstance(v, ag.Tensor) and v.dtype == ag.int64 else
                    tx if v is x else v) for k, v in bad.items()}
        with pytest.raises(Exception) as theirs:
            torch.nn.functional.gelu(**tbad)
        with pytest.raises(type(theirs.value), match="gelu"):
            F.gelu(**bad)


def test_gelu_of_infinities(torch):
    # PyTorch 2.13's CPU kernel gives NaN for gelu(+inf) (its vectorized erf path); the limit is +inf,
    # which its own tanh form gives, and ours gives in both forms; -inf gives NaN (-inf * 0) in all four
    x = ag.tensor([math.inf, -math.inf, math.nan, -40.0, 40.0])
    tx = torch.tensor([math.inf, -math.inf, math.nan, -40.0, 40.0])
    expected = [math.inf, math.nan, math.nan, -0.0, 40.0]
    for approximate in ("none", "tanh"):
        np.testing.assert_array_equal(_np(F.gelu(x, approximate=approximate)), expected)
    np.testing.assert_array_equal(torch.nn.functional.gelu(tx, approximate="tanh").numpy(), expected)
    assert math.isnan(torch.nn.functional.gelu(tx).numpy()[0])          # (the CPU kernel's NaN, above)


def test_softmax_signatures_are_pytorchs(torch):
    import inspect
    for name in ("softmax", "log_softmax"):
        ours = list(inspect.signature(getattr(F, name)).parameters)
        assert ours == list(inspect.signature(getattr(torch.nn.functional, name)).parameters)


def test_softmax_without_dim_warns_like_pytorch():
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        y = F.softmax(ag.ones(2, 4))
    np.testing.assert_allclose(_np(y), 0.25)


# ---- losses vs PyTorch ---------------------------------------------------------------------------------------

def _compare_loss(torch, device, ours, ref, inp, target, dtype, extra_ours=None, extra_ref=None):
    x = ag.tensor(inp, device=device, requires_grad=True)
    tx = torch.from_numpy(inp.copy()).requires_grad_(True)
    t = ag.tensor(target, device=device)
    tt = torch.from_numpy(target.copy())
    y = ours(x, t, **(extra_ours or {}))
    ty = ref(tx, tt, **(extra_ref or {}))
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == "float32" else dict(rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(_np(y), ty.detach().numpy(), **tol)
    assert y.dtype == getattr(ag, dtype) and y.shape == tuple(ty.shape)
    w = np.random.default_rng(9).standard_normal(tuple(ty.shape)).astype(dtype)
    (y * ag.tensor(w, device=device)).sum().backward()
    (ty * torch.from_numpy(w)).sum().backward()
    np.testing.assert_allclose(_np(x.grad), tx.grad.numpy(), **tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_matches_pytorch(torch, device, dtype, reduction):
    rng = np.random.default_rng(0)
    inp = rng.standard_normal((6, 3)).astype(dtype)
    tgt = rng.standard_normal((6, 3)).astype(dtype)
    _compare_loss(torch, device, nn.MSELoss(reduction=reduction), torch.nn.MSELoss(reduction=reduction),
                  inp, tgt, dtype)
    _compare_loss(torch, device, F.mse_loss, torch.nn.functional.mse_loss, inp, tgt, dtype,
                  dict(reduction=reduction), dict(reduction=reduction))


def test_mse_loss_broadcast_warns_like_pytorch(torch):
    x, y = ag.zeros(4, 3), ag.ones(4, 1)
    with pytest.warns(UserWarning, match="different to the input size"):
        v = F.mse_loss(x, y)
    assert v.item() == 1.0


CE_CASES = {
    "2d": ((8, 5), (8,), {}),
    "1d": ((5,), (), {}),
    "nd": ((3, 5, 2, 4), (3, 2, 4), {}),
    "ignore_index": ((8, 5), (8,), dict(ignore_index=2)),
    "label_smoothing": ((8, 5), (8,), dict(label_smoothing=0.15)),
    "smoothing_ignore": ((3, 5, 4), (3, 4), dict(label_smoothing=0.3, ignore_index=1)),
    "weight": ((8, 5), (8,), dict(weight=True)),
    "weight_smoothing_ignore": ((8, 5), (8,), dict(weight=True, label_smoothing=0.2, ignore_index=0)),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", list(CE_CASES))
def test_cross_entropy_matches_pytorch(torch, device, dtype, reduction, case):
    in_shape, t_shape, opts = CE_CASES[case]
    rng = np.random.default_rng(1)
    inp = (rng.standard_normal(in_shape) * 3).astype(dtype)
    n_classes = in_shape[0] if len(in_shape) == 1 else in_shape[1]
    tgt = rng.integers(0, n_classes, t_shape).astype(np.int64)
    ours_opts, ref_opts = dict(opts, reduction=reduction), dict(opts, reduction=reduction)
    if opts.get("weight"):
        w = rng.uniform(0.2, 2.0, n_classes).astype(dtype)
        ours_opts["weight"], ref_opts["weight"] = ag.tensor(w, device=device), torch.from_numpy(w)
    _compare_loss(torch, device, F.cross_entropy, torch.nn.functional.cross_entropy, inp, tgt, dtype,
                  ours_opts, ref_opts)
    if "weight" not in opts:
        _compare_loss(torch, device, nn.CrossEntropyLoss(**ours_opts), torch.nn.CrossEntropyLoss(**ref_opts),
                      inp, tgt, dtype)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_probability_targets_match_pytorch(torch, device, reduction, label_smoothing):
    rng = np.random.default_rng(2)
    inp = rng.standard_normal((6, 4))
    p = rng.random((6, 4))
    tgt = p / p.sum(1, keepdims=True)
    opts = dict(reduction=reduction, label_smoothing=label_smoothing)
    _compare_loss(torch, device, F.cross_entropy, torch.nn.functional.cross_entropy, inp, tgt, "float64",
                  opts, opts)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_matches_pytorch(torch, device, reduction):
    rng = np.random.default_rng(3)
    inp = np.log(rng.dirichlet(np.ones(4), 7))
    tgt = rng.integers(0, 4, 7)
    tgt[2] = -100
    opts = dict(reduction=reduction)
    _compare_loss(torch, device, F.nll_loss, torch.nn.functional.nll_loss, inp, tgt, "float64", opts, opts)
    _compare_loss(torch, device, nn.NLLLoss(**opts), torch.nn.NLLLoss(**opts), inp, tgt, "float64")


def test_cross_entropy_is_stable_for_huge_scores(torch, device):
    inp = np.array([[1e4, 0.0, -1e4], [-5e3, 5e3, 0.0]], np.float32)
    tgt = np.array([1, 1])
    _compare_loss(torch, device, F.cross_entropy, torch.nn.functional.cross_entropy, inp, tgt, "float32")
    x = ag.tensor(inp, device=device, requires_grad=True)
    loss = F.cross_entropy(x, ag.tensor(tgt, device=device))
    loss.backward()
    assert math.isfinite(loss.item()) and np.isfinite(_np(x.grad)).all()


# ---- bad input: PyTorch's exception type, a clear message, nothing changed ---------------------------------------

def _snapshot(model):
    return [(_np(p).copy(), p.grad, p._version) for p in model.parameters()]


def test_linear_bad_input_raises_and_changes_nothing(torch):
    m = nn.Linear(5, 2)
    before = _snapshot(m)
    ref = torch.nn.Linear(5, 2)
    bad = [
        (ag.randn(4, 3), torch.randn(4, 3), r"Linear\(in_features=5, out_features=2\): expected input with 5 "
                                            r"features in its last dimension, got input of shape \[4, 3\]"),
        (ag.randn(4, 5, dtype=ag.float64), torch.randn(4, 5, dtype=torch.float64),
         "input dtype Double does not match the weight dtype Float"),
        (ag.ones(4, 5, dtype=ag.int64), torch.ones(4, 5, dtype=torch.long), "input dtype Long"),
        (ag.tensor(1.0), torch.tensor(1.0), "at least 1 dimension"),
    ]
    for x, tx, msg in bad:
        with pytest.raises(Exception) as theirs:
            ref(tx)
        with pytest.raises(theirs.type, match=msg):
            m(x)
    with pytest.raises(TypeError, match="must be Tensor"):
        m([1.0] * 5)
    with pytest.raises(RuntimeError, match=r"linear: expected input with 5 features"):
        F.linear(ag.randn(2, 4), m.weight, m.bias)
    with pytest.raises(RuntimeError, match=r"bias must have shape \[2\]"):
        F.linear(ag.randn(2, 5), m.weight, ag.zeros(3))
    assert all(np.array_equal(a, _np(p)) and g is p.grad and v == p._version
               for (a, g, v), p in zip(before, m.parameters()))


LOSS_ERRORS = [
    # (ours, torch, message): each is called with (module, torch)
    ("mse target shape", lambda L: L.mse_loss(L.zeros(4, 3), L.zeros(4, 2)),
     r"mse_loss: the size of input \[4, 3\] and target \[4, 2\]"),
    ("mse reduction", lambda L: L.mse_loss(L.zeros(2), L.zeros(2), reduction="avg"),
     "avg is not a valid value for reduction"),
    ("ce float 1-d target", lambda L: L.cross_entropy(L.zeros(4, 3), L.zeros(4)),
     "cross_entropy: a floating target holds class probabilities"),
    ("ce int32 target", lambda L: L.cross_entropy(L.zeros(4, 3), L.zeros(4, dtype=L.int32)),
     "expected target dtype to be Long or Byte .* but got Int"),
    ("ce batch size", lambda L: L.cross_entropy(L.zeros(4, 3), L.zeros(3, dtype=L.int64)),
     r"Expected input batch_size \(4\) to match target batch_size \(3\)"),
    ("ce target too large", lambda L: L.cross_entropy(L.zeros(4, 3), L.tensor([0, 1, 2, 3])),
     "Target 3 is out of bounds"),
    ("ce negative target", lambda L: L.cross_entropy(L.zeros(4, 3), L.tensor([0, 1, 2, -1])),
     "Target -1 is out of bounds"),
    ("ce 2-d target", lambda L: L.cross_entropy(L.zeros(4, 3), L.zeros(4, 1, dtype=L.int64)),
     "0D or 1D target tensor expected, multi-target not supported"),
    ("ce spatial target", lambda L: L.cross_entropy(L.zeros(2, 3, 5), L.zeros(2, 4, dtype=L.int64)),
     r"Expected target size \[2, 5\], got \[2, 4\]"),
    ("ce reduction", lambda L: L.cross_entropy(L.zeros(4, 3), L.zeros(4, dtype=L.int64), reduction="bad"),
     "bad is not a valid value for reduction"),
    ("ce label smoothing", lambda L: L.cross_entropy(L.zeros(4, 3), L.zeros(4, dtype=L.int64),
                                                     label_smoothing=1.5),
     "label_smoothing must be between 0.0 and 1.0"),
    ("ce weight size", lambda L: L.cross_entropy(L.zeros(4, 3), L.zeros(4, dtype=L.int64), weight=L.ones(2)),
     "weight tensor should be defined either for all 3 classes"),
    ("nll batch size", lambda L: L.nll_loss(L.zeros(4, 3), L.zeros(3, dtype=L.int64)),
     r"Expected input batch_size \(4\) to match target batch_size \(3\)"),
    # Byte targets: for (C,) and (N, C) scores only (libtorch's nll_loss2d takes Long)
    ("ce spatial byte target", lambda L: L.cross_entropy(L.zeros(2, 3, 5), L.zeros(2, 5, dtype=L.uint8)),
     "expected scalar type Long but found Byte"),
    ("nll spatial byte target", lambda L: L.nll_loss(L.zeros(2, 3, 1, 2), L.zeros(2, 1, 2, dtype=L.uint8)),
     "expected scalar type Long but found Byte"),
    ("class-weight that requires grad", lambda L: L.nll_loss(L.zeros(4, 3), L.zeros(4, dtype=L.int64),
                                                             weight=L.ones(3, requires_grad=True)),
     "nll_loss_forward' is not differentiable with respect to argument 'weight'"),
]


class _Torchish:
    """The torch namespace spelled like ag for the error cases above."""

    def __init__(self, torch):
        self.t, self.F = torch, torch.nn.functional

    def __getattr__(self, name):
        return getattr(self.F, name) if hasattr(self.F, name) else getattr(self.t, name)


class _Agish:
    def __getattr__(self, name):
        return getattr(F, name) if hasattr(F, name) else getattr(ag, name)


@pytest.mark.filterwarnings("ignore:Using a target size")      # PyTorch warns before it raises
@pytest.mark.parametrize("label,call,msg", LOSS_ERRORS, ids=[c[0] for c in LOSS_ERRORS])
def test_loss_errors_match_pytorch_types(torch, label, call, msg):
    with pytest.raises(Exception) as theirs:
        call(_Torchish(torch))
    with pytest.raises(theirs.type, match=msg):
        call(_Agish())


def test_loss_error_leaves_graph_and_grads_alone():
    m = nn.Linear(3, 4)
    before = _snapshot(m)
    out = m(ag.randn(5, 3))
    with pytest.raises(IndexError):
        nn.CrossEntropyLoss()(out, ag.tensor([0, 1, 2, 3, 4]))
    assert all(p.grad is None for p in m.parameters())
    nn.CrossEntropyLoss()(out, ag.tensor([0, 1, 2, 3, 0])).backward()          # the graph is still usable
    assert all(np.array_equal(a, _np(p)) for (a, _, _), p in zip(before, m.parameters()))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.MSELoss(reduction="avg")


def test_loss_device_mismatch_names_devices():
    x = ag.zeros(2, 3)
    t = ag.zeros(2, 3)
    t._backend = type("FakeBackend", (), {"device": ag.device("cuda:0")})()   # no GPU needed to check the message
    with pytest.raises(RuntimeError, match="mse_loss: .* input is on cpu and target on cuda:0"):
        F.mse_loss(x, t)


# ---- save / load -----------------------------------------------------------------------------------------------------

def test_save_load_module_and_optimizer_state(tmp_path, device):
    net = Net().to(device)
    opt = optim.Adam(net.parameters(), lr=0.01, amsgrad=True)
    net(ag.randn(4, 2, device=device)).sum().backward()
    opt.step()
    path = tmp_path / "ckpt.npz"
    serialization.save({"model": net.state_dict(), "optim": opt.state_dict(), "epoch": 3, "note": None}, path)
    assert path.exists() and not list(tmp_path.glob(".ag-save-*"))
    with np.load(path, allow_pickle=False) as z:                        # no pickled objects inside
        assert "__structure__" in z.files
    ck = serialization.load(path)
    assert ck["epoch"] == 3 and ck["note"] is None and isinstance(ck["model"], OrderedDict)
    for k, v in net.state_dict().items():
        got = ck["model"][k]
        assert got.device == v.device and got.dtype == v.dtype and not got.requires_grad
        np.testing.assert_array_equal(_np(got), _np(v))
    fresh = Net()
    fresh.load_state_dict(serialization.load(path, map_location="cpu")["model"])
    fresh_opt = optim.Adam(fresh.parameters(), lr=0.5)
    fresh_opt.load_state_dict(serialization.load(path, map_location="cpu")["optim"])
    assert fresh_opt.param_groups[0]["lr"] == 0.01 and fresh_opt.param_groups[0]["betas"] == (0.9, 0.999)
    assert fresh_opt.state[fresh.head.bias]["step"].item() == 1.0


def test_save_load_dtypes_parameters_and_file_objects():
    obj = [nn.Parameter(ag.ones(2, dtype=ag.float16)), ag.tensor([1, 2]), ag.tensor([True, False]),
           ag.randn(2, 2, dtype=ag.float64, requires_grad=True), (1.5, "x", {3: [ag.float32]})]
    buf = io.BytesIO()
    serialization.save(obj, buf)
    buf.seek(0)
    back = serialization.load(buf)
    assert type(back[0]) is nn.Parameter and back[0].dtype == ag.float16 and back[0].requires_grad
    assert back[1].dtype == ag.int64 and back[1].tolist() == [1, 2]
    assert back[2].dtype == ag.bool and back[2].tolist() == [True, False]
    assert back[3].requires_grad and back[3].is_leaf
    np.testing.assert_array_equal(_np(back[3]), _np(obj[3]))
    assert back[4] == (1.5, "x", {3: [ag.float32]})


def test_save_rejects_code_and_keeps_old_file(tmp_path):
    path = tmp_path / "x.npz"
    serialization.save({"a": ag.ones(1)}, path)
    with pytest.raises(TypeError, match="cannot store an object of type function"):
        serialization.save({"a": ag.ones(1), "f": lambda: 0}, path)
    assert serialization.load(path)["a"].tolist() == [1.0]
    np.savez(tmp_path / "other.npz", a=np.ones(2))
    with pytest.raises(ValueError, match="not a file written by ag.save"):
        serialization.load(tmp_path / "other.npz")


def test_load_map_location_dict(tmp_path):
    path = tmp_path / "m.npz"
    serialization.save({"w": ag.ones(2)}, path)
    assert serialization.load(path, map_location={"cuda:0": "cpu"})["w"].device == ag.device("cpu")
    with pytest.raises(TypeError, match="map_location"):
        serialization.load(path, map_location=3.5)


# ---- end to end -----------------------------------------------------------------------------------------------------

def test_blog_network_learns(device):
    """The walkthrough's network, with modules, a loss and Adam: the loss falls a lot."""
    ag.manual_seed(777)
    x = ag.randn(100, 3, device=device)
    y = x[:, 0, None] * 0.2 - x[:, 1, None] * 1.3 - x[:, 2, None] * 0.5 + ag.randn(100, 1, device=device)
    model = nn.Sequential(nn.Linear(3, 32), nn.ReLU(), nn.Linear(32, 1)).to(device)
    opt = optim.Adam(model.parameters(), lr=0.08)
    loss_fn = nn.MSELoss()
    losses = []
    for _ in range(100):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert not any(math.isnan(v) for v in losses)


def test_walkthrough_part4_prints_every_10_epochs(capsys):
    from autograd_gpu.walkthrough_modules import part4
    losses = part4("cpu", epochs=30)
    out = capsys.readouterr().out
    assert "device: cpu" in out
    assert [line.split()[1] for line in out.splitlines() if line.startswith("Epoch")] == ["10", "20", "30"]
    assert len(losses) == 30 and losses[-1] < losses[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        part4("cpu", epochs=1)


# ---- nn.Buffer ------------------------------------------------------------------------

def _buffer_module(L, device_kw):
    m = L.nn.Module()
    m.kept = L.nn.Buffer(L.ones(2, **device_kw))
    m.scratch = L.nn.Buffer(L.zeros(3, **device_kw), persistent=False)
    m.register_buffer("plain", L.full((1,), 2.0, **device_kw))
    m.kept = L.nn.Buffer(L.arange(2.0, **device_kw), persistent=False)    # reassigned: keeps its place
    return m


def test_buffer_assignment_registers_as_pytorch(torch, device):
    ours, theirs = _buffer_module(ag, {"device": device}), _buffer_module(torch, {})
    assert list(ours._buffers) == list(theirs._buffers) == ["kept", "scratch", "plain"]
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["plain"]
    assert ours._non_persistent_buffers == theirs._non_persistent_buffers_set == {"kept", "scratch"}
    np.testing.assert_array_equal(ours.kept.cpu().numpy(), theirs.kept.numpy())
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]


def test_buffer_is_a_detached_alias_that_keeps_requires_grad(torch):
    for L in (ag, torch):
        t = L.ones(2, requires_grad=True)
        b = L.nn.Buffer(t * 2)
        assert b.requires_grad and b.is_leaf and b.grad_fn is None
        a = L.ones(3)
        c = L.nn.Buffer(a)
        c[0] = 5.0                                          # same memory as the data given
        assert a[0].item() == 5.0 and not c.requires_grad
        assert isinstance(c, L.nn.Buffer) and isinstance(c, L.Tensor)
        assert not isinstance(a, L.nn.Buffer) and not isinstance(L.nn.Parameter(L.ones(1)), L.nn.Buffer)
        assert L.nn.Buffer().shape == (0,)


def test_buffer_assignment_refusals_as_pytorch(torch):
    for L in (ag, torch):
        m = L.nn.Module()
        m.w = L.nn.Parameter(L.ones(1))
        with pytest.raises(TypeError, match="as parameter 'w'"):
            m.w = L.nn.Buffer(L.ones(1))
        m.sub = L.nn.Module()
        with pytest.raises(TypeError, match="as child module 'sub'"):
            m.sub = L.nn.Buffer(L.ones(1))
        m.plain = 1
        with pytest.raises(KeyError, match="attribute 'plain' already exists"):
            m.plain = L.nn.Buffer(L.ones(1))
        assert list(m._buffers) == [] and list(m._parameters) == ["w"] and m.plain == 1
    with pytest.raises(TypeError, match="Buffer"):
        ag.nn.Buffer([1.0, 2.0])            # (PyTorch: AttributeError from .detach(); ours names the class)
    with pytest.raises(TypeError):
        ag.nn.Buffer(ag.ones(1), True)      # persistent is keyword-only, as PyTorch's
