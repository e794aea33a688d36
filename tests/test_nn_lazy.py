"""Lazy modules (nn.LazyLinear, LazyConv*, LazyConvTranspose*, LazyBatchNorm*,
LazyInstanceNorm*) and nn.UninitializedParameter / UninitializedBuffer,
against PyTorch CPU: reprs, the allowed and refused uses of an uninitialized
tensor (exception types and messages), materialization (shapes, the class
switch, same objects, device and dtype), the initial distributions, outputs
and gradients after copying PyTorch's weights in, state-dict round trips in
both directions, optimizers built before the first forward, and bad input."""
import copy
import math
import pickle
import re

import numpy as np
import pytest

import autograd_gpu as ag
from autograd_gpu import nn
from autograd_gpu.nn.lazy import LazyModuleMixin, is_lazy
from oracle import assert_matches_in as _close, backward_both as _backward_both

USE_MSG = "Attempted to use an uninitialized parameter in"


def _np(t):
    return t.detach().cpu().numpy()


def _to_torch(torch, state):
    return {k: torch.tensor(_np(v)) for k, v in state.items()}


def _to_ours(torch, state, device="cpu"):
    return {k: ag.tensor(v.detach().numpy(), device=device) for k, v in state.items()}


def _torch_lazy(torch, t):
    return isinstance(t, torch.nn.parameter.UninitializedTensorMixin)


# (name, constructor over a library's nn, input shape): every lazy class, with non-default arguments
MODULES = [
    ("LazyLinear", lambda nn: nn.LazyLinear(3), (2, 4)),
    ("LazyLinear-3d-nobias", lambda nn: nn.LazyLinear(3, bias=False), (2, 5, 4)),
    ("LazyConv1d", lambda nn: nn.LazyConv1d(4, 3, stride=2, padding=1), (2, 3, 7)),
    ("LazyConv2d", lambda nn: nn.LazyConv2d(4, (2, 3), padding=1, groups=2, padding_mode="reflect"), (2, 4, 5, 5)),
    ("LazyConv3d-unbatched", lambda nn: nn.LazyConv3d(2, 2, bias=False), (3, 3, 3, 3)),
    ("LazyConvTranspose1d", lambda nn: nn.LazyConvTranspose1d(4, 3, stride=2, output_padding=1), (2, 3, 5)),
    ("LazyConvTranspose2d", lambda nn: nn.LazyConvTranspose2d(4, 3, groups=2, dilation=2), (2, 4, 4, 4)),
    ("LazyConvTranspose3d", lambda nn: nn.LazyConvTranspose3d(2, 2, padding=1), (1, 3, 2, 3, 2)),
    ("LazyBatchNorm1d", lambda nn: nn.LazyBatchNorm1d(), (5, 3)),
    ("LazyBatchNorm2d", lambda nn: nn.LazyBatchNorm2d(momentum=None), (3, 2, 3, 3)),
    ("LazyBatchNorm3d", lambda nn: nn.LazyBatchNorm3d(affine=False), (2, 3, 2, 2, 2)),
    ("LazyInstanceNorm1d", lambda nn: nn.LazyInstanceNorm1d(), (2, 3, 5)),
    ("LazyInstanceNorm2d", lambda nn: nn.LazyInstanceNorm2d(affine=False, track_running_stats=False), (2, 3, 4, 4)),
    ("LazyInstanceNorm3d", lambda nn: nn.LazyInstanceNorm3d(eps=1e-3, bias=False), (2, 3, 2, 2, 3)),
]


@pytest.mark.filterwarnings("ignore:.*does not match num_features")     # (both warn: nothing to infer)
@pytest.mark.parametrize("name,make,shape", MODULES, ids=[c[0] for c in MODULES])
def test_lazy_module_against_torch(torch, device, name, make, shape):
    ours, theirs = make(nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    has_lazy = "track_running_stats=False" not in repr(ours)        # (else nothing to infer)
    assert ours.has_uninitialized_params() == theirs.has_uninitialized_params() == has_lazy
    before = ours.state_dict()
    assert list(before) == list(theirs.state_dict())
    assert [repr(v) for v in before.values() if is_lazy(v)] == [
        repr(v) for v in theirs.state_dict().values() if _torch_lazy(torch, v)]
    params = list(ours.parameters())
    # convert while uninitialized: the dtype and device carry into materialize
    ours.to(device).double()
    theirs.double()
    x = np.random.default_rng(0).standard_normal(shape)
    out = ours(ag.tensor(x, device=device))
    ref = theirs(torch.tensor(x))
    assert type(ours).__name__ == type(theirs).__name__ == name.split("-")[0][4:]
    assert not isinstance(ours, LazyModuleMixin)
    assert repr(ours) == repr(theirs)
    assert list(ours.parameters()) == params and all(type(p) is nn.Parameter for p in params)
    for (k, a), (k2, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert k == k2 and tuple(a.shape) == tuple(b.shape) and a.device == ag.device(device)
        assert a.dtype == (ag.float64 if b.is_floating_point() else ag.int64)
    assert tuple(out.shape) == tuple(ref.shape)
    # the same weights (and running statistics): the same outputs and gradients
    ours.load_state_dict(_to_ours(torch, theirs.state_dict(), device))
    xo = ag.tensor(x, device=device, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out, ref = ours(xo), theirs(xt)
    _close(out, ref, "float64", "forward")
    _backward_both(torch, out, ref)
    _close(xo.grad, xt.grad, "float64", "input grad")
    for (k, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        _close(p.grad, q.grad, "float64", f"grad of {k}")
    for (k, b), (_, c) in zip(ours.named_buffers(), theirs.named_buffers()):
        _close(b, c, "float64", f"buffer {k}")


@pytest.mark.parametrize("make,fresh,shape", [
    (lambda nn: nn.LazyLinear(5), lambda nn: nn.Linear(4, 5), (2, 4)),
    (lambda nn: nn.LazyConv2d(3, 2, groups=3), lambda nn: nn.Conv2d(6, 3, 2, groups=3), (1, 6, 3, 3)),
    (lambda nn: nn.LazyConvTranspose1d(4, 3), lambda nn: nn.ConvTranspose1d(2, 4, 3), (1, 2, 4)),
    (lambda nn: nn.LazyBatchNorm1d(), lambda nn: nn.BatchNorm1d(3), (4, 3)),
], ids=["linear", "conv2d", "convtranspose1d", "batchnorm1d"])
def test_reset_parameters_as_the_non_lazy_module(torch, make, fresh, shape):
    """Materializing draws what the non-lazy constructor draws, with the same
    generator state (PyTorch's behaviour, checked on PyTorch too)."""
    for lib in (torch, ag):
        lib.manual_seed(7)
        lazy = make(lib.nn).eval()       # (eval: running statistics as initialized)
        lazy(lib.ones(*shape))
        lib.manual_seed(7)
        plain = fresh(lib.nn)
        for (k, a), (_, b) in zip(lazy.state_dict().items(), plain.state_dict().items()):
            np.testing.assert_array_equal(_np(a), _np(b), err_msg=f"{lib.__name__} {k}")


def test_reset_parameters_distribution():
    ag.manual_seed(0)
    m = nn.LazyLinear(200)
    m(ag.ones(1, 50))
    bound = 1 / math.sqrt(50)
    w = _np(m.weight).copy()
    assert abs(w).max() <= bound and abs(w.std() - bound / math.sqrt(3)) < 0.01
    m.reset_parameters()
    assert not np.array_equal(_np(m.weight), w)


# ---- UninitializedParameter / UninitializedBuffer ------------------------------------------------

def test_uninitialized_tensors_allowed_uses(torch):
    for cls in ("UninitializedParameter", "UninitializedBuffer"):
        p, q = getattr(nn, cls)(), getattr(torch.nn, cls)()
        assert repr(p) == str(p) == repr(q) == f"<{cls}>"
        assert tuple(p.size()) == tuple(q.size()) == (0,)
        assert p.ndim == q.ndim == 1 and p.is_leaf and q.is_leaf
        assert p.requires_grad == q.requires_grad == (cls == "UninitializedParameter")
        assert p.dtype == ag.float32 and p.device == ag.device("cpu") and p.grad is None
        assert p.is_floating_point() and not p.is_complex()
        with pytest.raises(RuntimeError) as e_ours:
            p.shape
        with pytest.raises(RuntimeError) as e_theirs:
            q.shape
        assert str(e_ours.value) == str(e_theirs.value)
        # conversions: a parameter's give a plain tensor, a buffer's stay uninitialized (PyTorch's rule)
        d, dq = p.double(), q.double()
        assert d.dtype == ag.float64 and dq.dtype == torch.float64
        assert type(d).__name__ == type(dq).__name__ == ("Tensor" if cls == "UninitializedParameter" else cls)
        assert type(p.data).__name__ == type(q.data).__name__
        p.requires_grad = True
        q.requires_grad = True
        assert p.requires_grad and q.requires_grad
    assert nn.UninitializedParameter.cls_to_become is nn.Parameter
    assert nn.UninitializedBuffer.cls_to_become is ag.Tensor
    b = nn.UninitializedBuffer(persistent=False)
    assert b.persistent is False and torch.nn.UninitializedBuffer(persistent=False).persistent is False


REFUSED = [  # (what, fn(lib, p), our message names)
    ("add", lambda lib, p: p + 1, "add"),
    ("radd", lambda lib, p: 2.0 + p, "add"),
    ("sum", lambda lib, p: p.sum(), "sum"),
    ("mm", lambda lib, p: lib.mm(p, p), "mm"),
    ("linear", lambda lib, p: lib.nn.functional.linear(lib.ones(2), p), "linear"),
    ("conv2d", lambda lib, p: lib.nn.functional.conv2d(lib.ones(1, 1, 3, 3), p), "conv2d"),
    ("relu", lambda lib, p: lib.nn.functional.relu(p), "relu"),
    ("cat", lambda lib, p: lib.cat([p, p]), "cat"),
    ("getitem", lambda lib, p: p[0], "getitem"),
    ("numel", lambda lib, p: p.numel(), "numel"),
    ("dim", lambda lib, p: p.dim(), "dim"),
    ("clone", lambda lib, p: p.clone(), "clone"),
    ("len", lambda lib, p: len(p), "__len__"),
    ("item", lambda lib, p: p.item(), "item"),
    ("init.normal_", lambda lib, p: lib.nn.init.normal_(p), "normal_"),
    ("requires_grad_", lambda lib, p: p.requires_grad_(False), "requires_grad_"),
]


@pytest.mark.parametrize("what,fn,op", REFUSED, ids=[c[0] for c in REFUSED])
def test_uninitialized_parameter_refused(torch, device, what, fn, op):
    p, q = nn.UninitializedParameter(device=device), torch.nn.UninitializedParameter()
    with pytest.raises(ValueError, match=USE_MSG) as e_theirs:
        fn(torch, q)
    with pytest.raises(ValueError, match=USE_MSG) as e_ours:
        fn(ag, p)
    assert f"{USE_MSG} " in str(e_theirs.value)
    assert op in str(e_ours.value).split(". ")[0], str(e_ours.value)
    assert "UninitializedParameter" in str(e_ours.value)
    assert is_lazy(p) and p.requires_grad and p._version == 0


def test_uninitialized_buffer_refused(torch):
    b, c = nn.UninitializedBuffer(), torch.nn.UninitializedBuffer()
    for lib, t in ((torch, c), (ag, b)):
        with pytest.raises(ValueError, match=USE_MSG):
            t.mul(2)


@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_materialize(torch, device, dtype):
    p = nn.UninitializedParameter(requires_grad=False, device=device)
    q = torch.nn.UninitializedParameter(requires_grad=False)
    p.materialize((2, 3), dtype=getattr(ag, dtype))
    q.materialize((2, 3), dtype=getattr(torch, dtype))
    assert type(p) is nn.Parameter and type(q) is torch.nn.Parameter
    assert tuple(p.shape) == tuple(q.shape) == (2, 3) and p.requires_grad is q.requires_grad is False
    assert p.dtype == getattr(ag, dtype) and p.device == ag.device(device)
    b = nn.UninitializedBuffer(dtype=ag.float64)
    b.materialize(4)
    assert type(b) is ag.Tensor and tuple(b.shape) == (4,) and b.dtype == ag.float64
    p = nn.UninitializedParameter()
    p.materialize((3,))
    (p * 2).sum().backward()
    np.testing.assert_array_equal(_np(p.grad), [2, 2, 2])


def test_uninitialized_constructor_errors(torch):
    with pytest.raises(TypeError):
        torch.nn.UninitializedParameter(requires_grad="yes")
    with pytest.raises(TypeError, match="UninitializedParameter"):
        nn.UninitializedParameter(requires_grad="yes")
    with pytest.raises(RuntimeError):
        torch.nn.UninitializedParameter(dtype=torch.int64)
    with pytest.raises(RuntimeError):
        nn.UninitializedParameter(dtype=ag.int64)


# ---- the module protocol -------------------------------------------------------------------------

def _custom_lazy(lib, complete=True):
    mixin = LazyModuleMixin if lib is ag else lib.nn.modules.lazy.LazyModuleMixin

    class Scale(mixin, lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = lib.nn.UninitializedParameter()
            self.calls = 0

        def initialize_parameters(self, x):
            self.calls += 1
            if complete and self.has_uninitialized_params():
                self.w.materialize(x.shape[-1:])
                with lib.no_grad():
                    self.w.fill_(2.0)

        def forward(self, x):
            return x * self.w
    return Scale()


def test_custom_lazy_module(torch):
    for lib in (torch, ag):
        m = _custom_lazy(lib)
        assert m.has_uninitialized_params()
        y = m(lib.ones(2, 3))
        m(lib.ones(2, 3))
        assert m.calls == 1 and not m.has_uninitialized_params() and isinstance(m, lib.nn.Module)
        np.testing.assert_array_equal(_np(y), np.full((2, 3), 2.0))
        with pytest.raises(RuntimeError, match="module Scale has not been fully initialized"):
            _custom_lazy(lib, complete=False)(lib.ones(2))


def test_initialize_parameters_not_implemented(torch):
    for lib, mixin in ((torch, torch.nn.modules.lazy.LazyModuleMixin), (ag, LazyModuleMixin)):
        class Bare(mixin, lib.nn.Module):
            def forward(self, x):
                return x
        with pytest.raises(NotImplementedError, match="initialize_parameters is not implemented for Bare"):
            Bare()(lib.ones(1))


def test_optimizers_built_before_materialization(torch, device):
    results = {}
    for lib in (torch, ag):
        model = lib.nn.Sequential(lib.nn.LazyLinear(3), lib.nn.Tanh(), lib.nn.LazyLinear(2))
        if lib is ag:
            model.to(device)
        params = list(model.parameters())
        opts = [lib.optim.SGD(params[:2], lr=0.1, momentum=0.9), lib.optim.Adam(params[2:], lr=0.01)]
        kw = {"device": device} if lib is ag else {}
        x = lib.tensor(np.random.default_rng(1).standard_normal((4, 5)), dtype=lib.float32, **kw)
        model(x)
        if lib is ag:
            model.load_state_dict(_to_ours(torch, results["initial"], device))
        else:
            results["initial"] = {k: v.clone() for k, v in model.state_dict().items()}
        for _ in range(2):
            for opt in opts:
                opt.zero_grad()
            model(x).pow(2).sum().backward()
            for opt in opts:
                opt.step()
        assert [p is q for p, q in zip(params, model.parameters())] == [True] * 4
        results[lib.__name__] = model.state_dict()
    for k, v in results["torch"].items():
        _close(results["autograd_gpu"][k], v, "float32", k)


def test_device_and_dtype_arguments(torch, device):
    m = nn.LazyConv1d(2, 3, device=device, dtype=ag.float64)
    assert m.weight.dtype == ag.float64 and m.weight.device == ag.device(device)
    m(ag.ones(1, 4, 5, dtype=ag.float64, device=device))
    assert m.weight.dtype == m.bias.dtype == ag.float64 and m.weight.device == ag.device(device)
    bn = nn.LazyBatchNorm2d(device=device, dtype=ag.float64)
    assert bn.num_batches_tracked.dtype == ag.int64 and bn.num_batches_tracked.device == ag.device(device)
    bn(ag.ones(2, 3, 2, 2, dtype=ag.float64, device=device))
    assert bn.running_var.dtype == ag.float64 and bn.running_var.device == ag.device(device)
    # float16, as PyTorch's
    ours, theirs = nn.LazyLinear(3, dtype=ag.float16, device=device), torch.nn.LazyLinear(3, dtype=torch.float16)
    x = np.random.default_rng(2).standard_normal((2, 4))
    ours(ag.tensor(x, dtype=ag.float16, device=device))
    theirs(torch.tensor(x, dtype=torch.float16))
    ours.load_state_dict(_to_ours(torch, theirs.state_dict(), device))
    _close(ours(ag.tensor(x, dtype=ag.float16, device=device)), theirs(torch.tensor(x, dtype=torch.float16)),
           "float16", "float16 forward")
    assert ours.weight.dtype == ag.float16


def test_uninitialized_buffers_stay_uninitialized_through_to(torch):
    ours, theirs = nn.LazyBatchNorm1d(affine=False).double(), torch.nn.LazyBatchNorm1d(affine=False).double()
    assert type(ours.running_mean).__name__ == type(theirs.running_mean).__name__ == "UninitializedBuffer"
    assert ours.has_uninitialized_params() and theirs.has_uninitialized_params()
    assert ours.running_mean.dtype == ag.float64
    x = np.random.default_rng(3).standard_normal((4, 3))
    ours(ag.tensor(x))
    theirs(torch.tensor(x))
    _close(ours.running_mean, theirs.running_mean, "float64", "running_mean")


def test_instance_norm_defaults_as_pytorch(torch):
    # PyTorch's lazy instance norms take the lazy base's defaults: affine and running statistics on
    for name in ("LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d"):
        ours, theirs = getattr(nn, name)(), getattr(torch.nn, name)()
        assert (ours.affine, ours.track_running_stats) == (theirs.affine, theirs.track_running_stats) == (True, True)


def test_empty_batch(torch):
    ours, theirs = nn.LazyLinear(3), torch.nn.LazyLinear(3)
    assert tuple(ours(ag.ones(0, 4)).shape) == tuple(theirs(torch.ones(0, 4)).shape) == (0, 3)
    assert ours.in_features == theirs.in_features == 4


def test_second_order_through_materialized_module():
    m = nn.LazyLinear(2, dtype=ag.float64)
    x = ag.randn(3, 4, dtype=ag.float64, requires_grad=True)
    m(x)
    assert ag.autograd.gradcheck(lambda t: m(t).tanh(), (x,))
    assert ag.autograd.gradgradcheck(lambda t: m(t).tanh(), (x,))


def test_deepcopy_and_pickle(torch):
    for lib in (torch, ag):
        m = lib.nn.LazyLinear(3, dtype=lib.float64)
        for c in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
            assert repr(c.weight) == "<UninitializedParameter>" and c.weight is not m.weight
            c(lib.ones(2, 4, dtype=c.weight.dtype))
            assert tuple(c.weight.shape) == (3, 4)
        assert copy.deepcopy(m).weight.dtype == lib.float64
    # kept divergence: PyTorch's pickle of an uninitialized tensor drops its dtype (float32 back); ours keeps it
    assert pickle.loads(pickle.dumps(torch.nn.LazyLinear(3, dtype=torch.float64))).weight.dtype == torch.float32
    assert pickle.loads(pickle.dumps(nn.LazyLinear(3, dtype=ag.float64))).weight.dtype == ag.float64
    b = pickle.loads(pickle.dumps(nn.LazyBatchNorm2d()))
    assert repr(b.running_mean) == "<UninitializedBuffer>" and "running_mean" in b.state_dict()


# ---- state dicts ----------------------------------------------------------------------------------

def _nested(lib):
    return lib.nn.Sequential(lib.nn.LazyLinear(3), lib.nn.ReLU(), lib.nn.LazyBatchNorm1d())


def test_state_dict_of_uninitialized_modules(torch):
    ours, theirs = _nested(ag), _nested(torch)
    so, st = ours.state_dict(), theirs.state_dict()
    assert list(so) == list(st)
    assert [repr(v) for v in so.values() if is_lazy(v)] == [repr(v) for v in st.values() if _torch_lazy(torch, v)]
    assert so["0.weight"] is ours[0].weight and st["0.weight"] is theirs[0].weight


def test_load_initialized_into_lazy_both_ways(torch, device):
    x = np.random.default_rng(4).standard_normal((5, 4))
    source = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.BatchNorm1d(3))
    source(torch.tensor(x, dtype=torch.float32))               # running statistics that are not the defaults
    source.eval()
    # PyTorch's into ours: materialized on load (the class stays lazy until the first call)
    ours = _nested(ag).to(device)
    ours.load_state_dict(_to_ours(torch, source.state_dict(), device))
    assert type(ours[0]).__name__ == "LazyLinear" and ours[0].in_features == 0
    assert tuple(ours[0].weight.shape) == (3, 4) and type(ours[2].running_mean) is ag.Tensor
    ours.eval()
    xo = ag.tensor(x, dtype=ag.float32, device=device)
    _close(ours(xo), source(torch.tensor(x, dtype=torch.float32)), "float32", "forward")
    theirs = _nested(torch)
    theirs.load_state_dict(source.state_dict())
    theirs.eval()(torch.tensor(x, dtype=torch.float32))
    # (only LazyLinear fixes its size attribute when loaded before the first call: PyTorch's num_features stays 0)
    assert type(ours[0]) is nn.Linear and ours[0].in_features == theirs[0].in_features == 4
    assert type(ours[2]) is nn.BatchNorm1d and ours[2].num_features == theirs[2].num_features
    # ours into PyTorch's, lazy and not
    for target in (_nested(torch), source.__class__(torch.nn.Linear(4, 3), torch.nn.ReLU(),
                                                       torch.nn.BatchNorm1d(3))):
        target.load_state_dict(_to_torch(torch, ours.state_dict()))
        target.eval()
        _close(ours(xo), target(torch.tensor(x, dtype=torch.float32)), "float32", "forward")


def test_load_into_root_lazy_module_then_forward(torch):
    src = torch.nn.Linear(4, 3)
    ours, theirs = nn.LazyLinear(3), torch.nn.LazyLinear(3)
    ours.load_state_dict(_to_ours(torch, src.state_dict()))
    theirs.load_state_dict(src.state_dict())
    assert ours.in_features == theirs.in_features == 0 and type(ours).__name__ == "LazyLinear"
    x = np.random.default_rng(5).standard_normal((2, 4))
    _close(ours(ag.tensor(x, dtype=ag.float32)), theirs(torch.tensor(x, dtype=torch.float32)), "float32", "out")
    assert ours.in_features == theirs.in_features == 4
    # an input that disagrees with the loaded weight: PyTorch's AssertionError
    for lib in (torch, ag):
        m = lib.nn.LazyLinear(3)
        m.load_state_dict({"weight": lib.ones(3, 4), "bias": lib.ones(3)})
        with pytest.raises(AssertionError, match="The in_features inferred from input: 5"):
            m(lib.ones(2, 5))


def test_load_lazy_into_lazy_and_into_initialized(torch):
    for lib in (torch, ag):
        m = lib.nn.LazyLinear(3)
        assert repr(m.load_state_dict(lib.nn.LazyLinear(3).state_dict())) == "<All keys matched successfully>"
        assert repr(m.weight) == "<UninitializedParameter>" and m.has_uninitialized_params()
        m(lib.ones(1, 2))
        assert tuple(m.weight.shape) == (3, 2)
    with pytest.raises(RuntimeError) as e_theirs:
        torch.nn.Linear(2, 3).load_state_dict(torch.nn.LazyLinear(3).state_dict())
    plain = nn.Linear(2, 3)
    w = _np(plain.weight).copy()
    with pytest.raises(RuntimeError) as e_ours:
        plain.load_state_dict(nn.LazyLinear(3).state_dict())
    assert str(e_ours.value) == str(e_theirs.value)
    np.testing.assert_array_equal(_np(plain.weight), w)


def test_partial_and_failed_loads(torch):
    # strict=False with only the weight: the weight is materialized, the bias not (as PyTorch)
    for lib in (torch, ag):
        m = lib.nn.LazyLinear(3)
        m.load_state_dict({"weight": lib.ones(3, 4)}, strict=False)
        assert tuple(m.weight.shape) == (3, 4) and repr(m.bias) == "<UninitializedParameter>"
    # a strict load that fails: RuntimeError for both
    theirs, ours = torch.nn.LazyLinear(3), nn.LazyLinear(3)
    with pytest.raises(RuntimeError, match="Missing key"):
        theirs.load_state_dict({"weight": torch.ones(3, 4)})
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "bias"'):
        ours.load_state_dict({"weight": ag.ones(3, 4)})
    # kept divergence: PyTorch leaves the weight materialized by the failed load; ours is unchanged
    assert not _torch_lazy(torch, theirs.weight)
    assert repr(ours.weight) == "<UninitializedParameter>" and ours.has_uninitialized_params()


# ---- bad input ---------------------------------------------------------------------------------------

BAD = [  # (what, constructor over nn, input over lib, exception, message part)
    ("conv-dims", lambda nn: nn.LazyConv2d(4, 3), lambda lib: lib.ones(2, 3), RuntimeError,
     "Expected 3D (unbatched) or 4D (batched) input to LazyConv2d"),
    ("convT-dims", lambda nn: nn.LazyConvTranspose1d(4, 3), lambda lib: lib.ones(2, 3, 4, 5), RuntimeError,
     "Expected 2D (unbatched) or 3D (batched) input to LazyConvTranspose1d"),
    ("conv-groups", lambda nn: nn.LazyConv1d(4, 3, groups=2), lambda lib: lib.ones(1, 3, 5), ValueError,
     "in_channels must be divisible by groups"),
    ("linear-0d", lambda nn: nn.LazyLinear(3), lambda lib: lib.ones(()), IndexError, "index"),
    ("batchnorm-1d", lambda nn: nn.LazyBatchNorm1d(), lambda lib: lib.ones(3), IndexError, "index"),
]


@pytest.mark.parametrize("what,make,inp,exc,msg", BAD, ids=[c[0] for c in BAD])
def test_bad_first_input(torch, what, make, inp, exc, msg):
    theirs, ours = make(torch.nn), make(nn)
    with pytest.raises(exc, match=re.escape(msg)):
        theirs(inp(torch))
    before = repr(ours)
    with pytest.raises(exc, match=re.escape(msg)):
        ours(inp(ag))
    # nothing changed: still lazy, uninitialized, the same settings (PyTorch's conv sets in_channels first)
    assert repr(ours) == before and ours.has_uninitialized_params() and isinstance(ours, LazyModuleMixin)


def test_requires_grad_on_uninitialized_module(torch):
    for lib in (torch, ag):
        with pytest.raises(ValueError, match=USE_MSG):
            lib.nn.LazyLinear(3).requires_grad_(False)


def test_nested_lazy_into_lazy_load(torch):
    theirs = torch.nn.Sequential(torch.nn.LazyLinear(3))
    theirs.load_state_dict(torch.nn.Sequential(torch.nn.LazyLinear(3)).state_dict())
    assert _torch_lazy(torch, theirs[0].weight)
    # kept divergence: inside a non-lazy container, an uninitialized checkpoint entry cannot load into an
    # uninitialized parameter (Module.load_state_dict compares the shapes; the lazy root module handles it)
    ours = nn.Sequential(nn.LazyLinear(3))
    with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized parameter"):
        ours.load_state_dict(nn.Sequential(nn.LazyLinear(3)).state_dict())
    assert is_lazy(ours[0].weight)


def test_zero_grad_and_train_modes_before_materialization(torch):
    for lib in (torch, ag):
        m = lib.nn.Sequential(lib.nn.LazyLinear(2), lib.nn.LazyBatchNorm1d())
        m.zero_grad()
        m.eval().train()
        assert m.training and m[1].training and repr(m[0].weight) == "<UninitializedParameter>"
