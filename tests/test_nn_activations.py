"""ag.nn's activations (LeakyReLU ... Softmin) and their F.* forms, against
PyTorch CPU: values and gradients (the kinks and thresholds included, NaN and
infinities), second order, dtypes, in-place forms, bad input, module reprs,
signatures and parameters."""
import inspect
import math
import warnings

import numpy as np
import pytest

import autograd_gpu as ag
import autograd_gpu.nn.functional as F
from autograd_gpu import nn
from oracle import backward_outcome, case_tests

INF, NAN = math.inf, math.nan
# infinities, NaN, overflow territory for exp, and points around the usual kinks
SPECIAL = [-INF, -1000.0, -100.0, -25.0, -4.0, -1.0, -0.25, 0.0, 0.25, 1.0, 4.0, 25.0, 100.0, 1000.0, INF, NAN]


def _np(t):
    return t.detach().cpu().numpy()


def _tt(torch, a, requires_grad=False):
    return torch.from_numpy(np.array(a, copy=True)).requires_grad_(requires_grad)


# name: (call with F as first argument, its kinks / thresholds, whether an inplace= form exists)
CASES = {
    "leaky_relu": (lambda F, x: F.leaky_relu(x), [0.0], True),
    "leaky_relu_0.2": (lambda F, x: F.leaky_relu(x, 0.2), [0.0], True),
    "leaky_relu_-0.3": (lambda F, x: F.leaky_relu(x, negative_slope=-0.3), [0.0], False),
    "elu": (lambda F, x: F.elu(x), [0.0], True),
    "elu_2": (lambda F, x: F.elu(x, alpha=2.0), [0.0], True),
    "elu_-0.5": (lambda F, x: F.elu(x, -0.5), [0.0], False),
    "selu": (lambda F, x: F.selu(x), [0.0], True),
    "celu": (lambda F, x: F.celu(x), [0.0], True),
    "celu_0.5": (lambda F, x: F.celu(x, 0.5), [0.0], True),
    "silu": (lambda F, x: F.silu(x), [], True),
    "mish": (lambda F, x: F.mish(x), [20.0, 19.5, 20.5], True),
    "softplus": (lambda F, x: F.softplus(x), [20.0, 20.000001], False),
    "softplus_2_8": (lambda F, x: F.softplus(x, beta=2, threshold=8), [4.0, 4.000001], False),
    "softplus_0.5_3": (lambda F, x: F.softplus(x, 0.5, 3.0), [6.0], False),
    "softplus_-1": (lambda F, x: F.softplus(x, -1.0, 20.0), [-20.0], False),
    "softsign": (lambda F, x: F.softsign(x), [], False),
    "hardtanh": (lambda F, x: F.hardtanh(x), [-1.0, 1.0], True),
    "hardtanh_-2_3": (lambda F, x: F.hardtanh(x, -2.0, max_val=3.0), [-2.0, 3.0], True),
    "hardtanh_1_1": (lambda F, x: F.hardtanh(x, 1.0, 1.0), [1.0], True),
    "relu6": (lambda F, x: F.relu6(x), [0.0, 6.0], True),
    "hardsigmoid": (lambda F, x: F.hardsigmoid(x), [-3.0, 3.0], True),
    "hardswish": (lambda F, x: F.hardswish(x), [-3.0, 3.0], True),
    "logsigmoid": (lambda F, x: F.logsigmoid(x), [], False),
    "tanhshrink": (lambda F, x: F.tanhshrink(x), [], False),
    "softshrink": (lambda F, x: F.softshrink(x), [-0.5, 0.5], False),
    "softshrink_0": (lambda F, x: F.softshrink(x, 0.0), [0.0], False),
    "softshrink_1.5": (lambda F, x: F.softshrink(x, lambd=1.5), [-1.5, 1.5], False),
    "hardshrink": (lambda F, x: F.hardshrink(x), [-0.5, 0.5], False),
    "hardshrink_-0.5": (lambda F, x: F.hardshrink(x, -0.5), [-0.5, 0.5], False),
    "threshold": (lambda F, x: F.threshold(x, 1.0, 20.0), [1.0], True),
    "threshold_neg": (lambda F, x: F.threshold(x, -0.5, -2), [-0.5], True),
    "prelu": (lambda F, x: F.prelu(x, x.new_tensor([0.25])), [0.0], False),
}
INPLACE = {k: v for k, v in CASES.items() if v[2]}
TOL = {"float32": dict(rtol=2e-5, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-14)}


def _points(kinks, dtype, n=24, seed=0):
    rnd = np.random.default_rng(seed).standard_normal(n) * 4
    return np.array(SPECIAL + kinks + [k * (1 + 1e-3) for k in kinks] + list(rnd), dtype=dtype)


def _forward_backward(lib, F_, call, x_np, w_np, device=None):
    """(y, dx) of lib's call at x_np with upstream gradient w_np."""
    if lib is ag:
        x = ag.tensor(x_np, device=device, requires_grad=True)
        w = ag.tensor(w_np, device=device)
    else:
        x, w = _tt(lib, x_np, True), _tt(lib, w_np)
    y = call(F_, x)
    (dx,) = lib.autograd.grad(y, x, w)
    return y, dx


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(CASES))
def test_values_and_gradients_match_pytorch(torch, device, name, dtype):
    """The special points include each function's kinks and thresholds, where
    the gradient is PyTorch's choice (0 for relu-likes at 0, hardtanh's bounds,
    hardswish's middle formula at +-3, ...), and infinities and NaN."""
    call, kinks, _ = CASES[name]
    x_np = _points(kinks, dtype)
    w_np = np.random.default_rng(1).standard_normal(x_np.shape).astype(dtype)
    y, g = _forward_backward(ag, F, call, x_np, w_np, device)
    ty, tg = _forward_backward(torch, torch.nn.functional, call, x_np, w_np)
    assert y.dtype == getattr(ag, dtype) and y.device == ag.device(device) and y.shape == tuple(ty.shape)
    np.testing.assert_allclose(_np(y), ty.detach().numpy(), **TOL[dtype])
    keep = _nan_grads_compared(name, x_np)
    np.testing.assert_allclose(_np(g)[keep], tg.numpy()[keep], **TOL[dtype])


# PyTorch's CPU backward of these at NaN depends on where the element falls (below)
NAN_GRAD_SPLIT = ("elu", "selu", "celu", "hardtanh", "relu6", "hardswish", "softshrink", "hardshrink")


def _nan_grads_compared(name, x_np):
    return ~np.isnan(x_np) if name.startswith(NAN_GRAD_SPLIT) else slice(None)


@pytest.mark.parametrize("name", [n for n in CASES if n.startswith(NAN_GRAD_SPLIT)])
def test_gradient_at_nan_divergence(torch, name):
    """Pinned divergence: at a NaN input PyTorch's CPU backward of these gives
    the scalar definition's gradient (its comparisons are false: 1, or the
    scale) in its scalar loop, but 0 or NaN in its vectorized loop, so the
    answer depends on the element's position in the tensor. Ours is always
    the scalar definition's."""
    call = CASES[name][0]
    for dtype in (torch.float32, torch.float64):
        theirs = {}
        for n in (1, 64):
            x = torch.zeros(n, dtype=dtype)
            x[n // 2] = NAN
            x.requires_grad_()
            theirs[n] = torch.autograd.grad(call(torch.nn.functional, x).sum(), x)[0][n // 2].item()
            a = ag.tensor(x.detach().numpy(), requires_grad=True)
            ours = ag.autograd.grad(call(F, a).sum(), a)[0].tolist()[n // 2]
            assert ours == pytest.approx(1.0507009873554805 if name == "selu" else 1.0, rel=1e-7)
        assert ours == pytest.approx(theirs[1], rel=1e-15)
        assert theirs[64] == 0.0 or math.isnan(theirs[64])


KINK_GRADS = {      # PyTorch 2.13's gradients at the kinks, written out (x: dy/dx)
    "leaky_relu_0.2": {0.0: 0.2}, "elu_2": {0.0: 2.0}, "celu_0.5": {0.0: 1.0},
    "selu": {0.0: 1.7580993408473766},
    "hardtanh": {-1.0: 0.0, 1.0: 0.0}, "relu6": {0.0: 0.0, 6.0: 0.0},
    "hardsigmoid": {-3.0: 0.0, 3.0: 0.0, 0.0: float(np.float32(1 / 6))},
    "hardswish": {-3.0: 0.0, 3.0: 1.0, -2.0: -1 / 6}, "softshrink": {-0.5: 0.0, 0.5: 0.0},
    "hardshrink": {-0.5: 0.0, 0.5: 0.0}, "threshold": {1.0: 0.0}, "prelu": {0.0: 0.25},
    "softplus_2_8": {4.0: 1 / (1 + math.exp(-8))}, "logsigmoid": {0.0: 0.5},
}


@pytest.mark.parametrize("name", list(KINK_GRADS))
def test_gradients_at_the_kinks_are_pytorchs(torch, device, name):
    call = CASES[name][0]
    points = list(KINK_GRADS[name])
    x = ag.tensor(points, dtype=ag.float64, device=device, requires_grad=True)
    (g,) = ag.autograd.grad(call(F, x).sum(), x)
    tx = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    (tg,) = torch.autograd.grad(call(torch.nn.functional, tx).sum(), tx)
    np.testing.assert_allclose(tg.numpy(), list(KINK_GRADS[name].values()), rtol=1e-14)
    np.testing.assert_allclose(_np(g), list(KINK_GRADS[name].values()), rtol=1e-14)


def _second_order(lib, F_, call, x_np, v_np, u_np, device=None):
    """d/dx <u, d/dx <v, f(x)>> (None: no dependence, as zeros)."""
    mk = (lambda a, rg=False: ag.tensor(a, device=device, requires_grad=rg)) if lib is ag else \
        (lambda a, rg=False: _tt(lib, a, rg))
    x, v, u = mk(x_np, True), mk(v_np, True), mk(u_np)
    (g,) = lib.autograd.grad(call(F_, x), x, v, create_graph=True)
    (gg,) = lib.autograd.grad((g * u).sum(), x, allow_unused=True)
    return g, (np.zeros_like(x_np) if gg is None else gg.detach().cpu().numpy())


@pytest.mark.parametrize("name", [n for n in CASES if n != "hardsigmoid"])
def test_second_order_matches_pytorch(torch, device, name):
    """create_graph gradients and their gradients, away from the kinks (see
    test_second_order_divergences for those)."""
    call = CASES[name][0]
    rng = np.random.default_rng(2)
    x_np, v_np, u_np = rng.standard_normal((3, 12)) * 3
    g, gg = _second_order(ag, F, call, x_np, v_np, u_np, device)
    tg, tgg = _second_order(torch, torch.nn.functional, call, x_np, v_np, u_np)
    np.testing.assert_allclose(_np(g), tg.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gg, tgg, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["elu", "selu", "celu_0.5", "silu", "mish", "softplus_2_8", "softsign",
                                  "logsigmoid", "tanhshrink", "hardswish", "prelu"])
def test_gradgradcheck(device, name):
    call = CASES[name][0]
    x = ag.tensor(np.random.default_rng(3).standard_normal(8) * 2, device=device, requires_grad=True)
    assert ag.autograd.gradcheck(lambda t: call(F, t), [x])
    assert ag.autograd.gradgradcheck(lambda t: call(F, t), [x])


def test_second_order_hardsigmoid_divergence_and_hardswish_kinks(torch):
    """Pinned divergence: PyTorch cannot differentiate hardsigmoid's backward
    ("not implemented"); ours is differentiable, second derivative 0. And at
    x = +-3 both give hardswish a second derivative of 0."""
    x = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)
    (tg,) = torch.autograd.grad(torch.nn.functional.hardsigmoid(x).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="hardsigmoid_backward is not implemented"):
        torch.autograd.grad(tg.sum(), x)
    a = ag.tensor([0.5], dtype=ag.float64, requires_grad=True)
    (g,) = ag.autograd.grad(F.hardsigmoid(a).sum(), a, create_graph=True)
    gg = ag.autograd.grad(g.sum(), a, allow_unused=True)[0] if g.requires_grad else None
    assert gg is None or _np(gg).tolist() == [0.0]
    pts = [-3.0, 3.0]
    _, tgg = _second_order(torch, torch.nn.functional, CASES["hardswish"][0], np.array(pts), np.ones(2), np.ones(2))
    _, gg = _second_order(ag, F, CASES["hardswish"][0], np.array(pts), np.ones(2), np.ones(2))
    np.testing.assert_array_equal(tgg, [0.0, 0.0])
    np.testing.assert_array_equal(gg, [0.0, 0.0])


# ---- along a dim, with a weight ------------------------------------------------------------------

DIM_CASES = {
    "glu_-1": lambda F, x: F.glu(x), "glu_0": lambda F, x: F.glu(x, 0), "glu_1": lambda F, x: F.glu(x, dim=1),
    "softmin_1": lambda F, x: F.softmin(x, 1), "softmin_0": lambda F, x: F.softmin(x, dim=0),
    "softmin_dtype": lambda F, x: F.softmin(x, -1, dtype=x.new_tensor(1.0).double().dtype),
    "prelu_channels": lambda F, x: F.prelu(x, x.new_tensor([0.1, -0.2, 0.3, 0.4, 0.5, 0.6])),
    "prelu_3d": lambda F, x: F.prelu(x.reshape(2, 6, 2), x.new_tensor([0.1, -0.2, 0.3, 0.4, 0.5, 0.6])),
    "prelu_0d_weight": lambda F, x: F.prelu(x, x.new_tensor(0.3)),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(DIM_CASES))
def test_dim_and_weight_functions_match_pytorch(torch, device, name, dtype):
    call = DIM_CASES[name]
    x_np = (np.random.default_rng(4).standard_normal((4, 6)) * 3).astype(dtype)
    x_np[0, :3] = [0.0, INF, -INF]                      # prelu's kink and infinities
    if name.startswith("softmin"):
        x_np[0, :3] = [0.0, 50.0, -50.0]
    x = ag.tensor(x_np, device=device, requires_grad=True)
    tx = _tt(torch, x_np, True)
    y, ty = call(F, x), call(torch.nn.functional, tx)
    assert y.shape == tuple(ty.shape) and y.dtype.name == str(ty.dtype).replace("torch.", "")
    np.testing.assert_allclose(_np(y), ty.detach().numpy(), **TOL[dtype])
    w_np = np.random.default_rng(5).standard_normal(tuple(ty.shape))
    (g,) = ag.autograd.grad(y, x, ag.tensor(w_np, dtype=y.dtype, device=device))
    (tg,) = torch.autograd.grad(ty, tx, torch.from_numpy(w_np).to(ty.dtype))
    np.testing.assert_allclose(_np(g), tg.numpy(), **TOL[dtype])


def test_prelu_weight_gradient_and_second_order(torch, device):
    rng = np.random.default_rng(6)
    x_np = rng.standard_normal((5, 3, 2))
    x_np[0, :, 0] = [0.0, INF, -INF]                    # an infinite input gives the weight no NaN
    x_np[1, :, 1] = [NAN, -0.0, 0.0]
    w_np = np.array([0.1, -0.2, 0.3])
    x = ag.tensor(x_np, device=device, requires_grad=True)
    w = ag.tensor(w_np, device=device, requires_grad=True)
    tx, tw = _tt(torch, x_np, True), _tt(torch, w_np, True)
    y, ty = F.prelu(x, w), torch.nn.functional.prelu(tx, tw)
    np.testing.assert_allclose(_np(y), ty.detach().numpy(), rtol=1e-15)
    up = rng.standard_normal(x_np.shape)
    gx, gw = ag.autograd.grad(y, (x, w), ag.tensor(up, device=device), create_graph=True)
    tgx, tgw = torch.autograd.grad(ty, (tx, tw), torch.from_numpy(up), create_graph=True)
    np.testing.assert_allclose(_np(gx), tgx.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(_np(gw), tgw.detach().numpy(), rtol=1e-12)
    fin = np.isfinite(x_np)                             # the cross terms: d2/dw dx (0 where x is 0)
    s = (gx * ag.tensor(fin * 1.0, device=device)).sum()
    ts = (tgx * torch.from_numpy(fin * 1.0)).sum()
    np.testing.assert_allclose(_np(ag.autograd.grad(s, w, retain_graph=True)[0]),
                               torch.autograd.grad(ts, tw, retain_graph=True)[0].numpy(), rtol=1e-12)
    s, ts = (gw * ag.tensor([1.0, 2.0, 3.0], device=device)).sum(), (tgw * torch.tensor([1.0, 2.0, 3.0])).sum()
    keep = np.isfinite(x_np)
    np.testing.assert_allclose(_np(ag.autograd.grad(s, x)[0])[keep], torch.autograd.grad(ts, tx)[0].numpy()[keep],
                               rtol=1e-12)


# ---- dtypes, 0-d, empty ---------------------------------------------------------------------------

ALL = {**{k: v[0] for k, v in CASES.items()}, **DIM_CASES}


@pytest.mark.parametrize("name", list(ALL))
def test_half_0d_and_empty_like_pytorch(torch, device, name):
    call = ALL[name]
    even = name.startswith(("glu", "softmin", "prelu_"))
    for shape in ([(4, 6)] if even else [(), (0,), (0, 4), (3,)]) + ([(0, 6)] if even else []):
        if name in ("prelu_3d",) and shape[0] == 0:
            continue
        x_np = np.random.default_rng(7).standard_normal(shape).astype(np.float16)
        y = call(F, ag.tensor(x_np, device=device))
        ty = call(torch.nn.functional, torch.from_numpy(x_np))
        assert y.dtype.name == str(ty.dtype)[6:] and y.shape == tuple(ty.shape)
        np.testing.assert_allclose(_np(y).astype(np.float64), ty.numpy().astype(np.float64), rtol=4e-3, atol=2e-3)


INT_CALLS = {
    "threshold": lambda F, x: F.threshold(x, 0.5, 2.5), "threshold_int": lambda F, x: F.threshold(x, 0, -2.7),
    "hardtanh": lambda F, x: F.hardtanh(x, -1.5, 2.5), "relu6": lambda F, x: F.relu6(x),
    "softsign": lambda F, x: F.softsign(x), "tanhshrink": lambda F, x: F.tanhshrink(x),
}


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
@pytest.mark.parametrize("name", list(INT_CALLS))
def test_integer_inputs_where_pytorch_takes_them(torch, device, name, dtype):
    """threshold, hardtanh and relu6 keep the integer dtype (their scalars cast
    to it); softsign and tanhshrink give float32."""
    if dtype == "uint8" and name in ("threshold_int", "hardtanh"):
        return                              # PyTorch refuses these (BAD below)
    x_np = np.array([1, -2, 0, 7, 3] if dtype != "uint8" else [1, 2, 0, 7, 200], dtype=dtype)
    y, ty = INT_CALLS[name](F, ag.tensor(x_np, device=device)), INT_CALLS[name](torch.nn.functional,
                                                                             torch.from_numpy(x_np))
    assert y.dtype.name == str(ty.dtype).replace("torch.", "")
    np.testing.assert_allclose(_np(y), ty.numpy(), rtol=1e-6)


# ---- in place -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_forms_write_the_input_like_pytorch(torch, device, name):
    call = INPLACE[name][0]
    x_np = _points(INPLACE[name][1], "float64", n=6)
    w_np = np.random.default_rng(8).standard_normal(x_np.shape)

    def run(lib, F_, mk):
        a = mk(x_np, True)
        y = a * 1
        v0 = y._version
        out = call(_Inplace(F_), y)
        assert out is y and y._version == v0 + 1
        (g,) = lib.autograd.grad(y, a, mk(w_np))
        return y.detach().cpu().numpy() if lib is ag else y.detach().numpy(), g

    y, g = run(ag, F, lambda a, rg=False: ag.tensor(a, device=device, requires_grad=rg))
    ty, tg = run(torch, torch.nn.functional, lambda a, rg=False: _tt(torch, a, rg))
    np.testing.assert_allclose(y, ty, rtol=1e-12, atol=1e-14)
    keep = _nan_grads_compared(name, x_np)
    np.testing.assert_allclose(_np(g)[keep], tg.numpy()[keep], rtol=1e-12, atol=1e-14)

    # not recording (a tensor that needs no grad): written, and the version moves too
    z = ag.tensor(x_np, device=device)
    v0 = z._version
    assert call(_Inplace(F), z) is z and z._version == v0 + 1
    np.testing.assert_allclose(_np(z), ty, rtol=1e-12, atol=1e-14)

    # a leaf that requires grad: refused before anything changes
    leaf = ag.tensor(x_np, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        call(_Inplace(F), leaf)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        call(_Inplace(torch.nn.functional), _tt(torch, x_np, True))
    assert leaf._version == 0 and leaf.grad is None
    np.testing.assert_array_equal(_np(leaf), x_np)
    with ag.no_grad():                                  # ... but fine under no_grad
        call(_Inplace(F), leaf)
    np.testing.assert_allclose(_np(leaf), ty, rtol=1e-12, atol=1e-14)


class _Inplace:
    """F with inplace=True added to every call."""

    def __init__(self, F_):
        self.F = F_

    def __getattr__(self, name):
        return lambda *a, **k: getattr(self.F, name)(*a, inplace=True, **k)


def test_underscore_forms(torch, device):
    x_np = _points([0.0, 1.0], "float64", n=4)
    for name, args in (("elu_", (0.7,)), ("leaky_relu_", (0.1,)), ("hardtanh_", (-0.5, 0.75)),
                       ("threshold_", (0.3, -1.0)), ("selu_", ()), ("celu_", (1.5,)), ("relu_", ())):
        x, tx = ag.tensor(x_np, device=device), _tt(torch, x_np)
        assert getattr(F, name)(x, *args) is x
        getattr(torch.nn.functional, name)(tx, *args)
        np.testing.assert_allclose(_np(x), tx.numpy(), rtol=1e-12, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("call", [lambda F, y: F.leaky_relu(y, -0.1, inplace=True),
                                  lambda F, y: F.elu(y, -1.0, inplace=True),
                                  lambda F, y: F.celu(y, alpha=-1.0, inplace=True),
                                  lambda F, y: F.rrelu(y, -0.5, -0.1, inplace=True)])
def test_inplace_negative_slope_refuses_its_backward_like_pytorch(torch, device, call):
    """The forward works (and without grad the backward is never asked);
    PyTorch's in-place backward refuses a negative slope, at backward time."""
    x_np = np.array([-1.0, 2.0])
    t = _tt(torch, x_np, True)
    ty = call(torch.nn.functional, t * 1)
    with pytest.raises(RuntimeError) as theirs:
        ty.sum().backward()
    a = ag.tensor(x_np, device=device, requires_grad=True)
    y = call(F, a * 1)
    np.testing.assert_allclose(_np(y), ty.detach().numpy(), rtol=1e-12)
    with pytest.raises(RuntimeError) as ours:
        y.sum().backward()
    assert str(ours.value) == str(theirs.value)[:len(str(ours.value))]
    assert a.grad is None
    z = ag.tensor(x_np, device=device)
    call(F, z)                                           # no graph: nothing to refuse
    np.testing.assert_allclose(_np(z), ty.detach().numpy(), rtol=1e-12)


# The in-place forms as PyTorch records them: one node taking the input's history (EluBackward1,
# LeakyReluBackward1, ... saving the result, which a later write makes stale; ThresholdBackward1,
# HardtanhBackward0, SiluBackward0, ... keeping the input's old values), not a copy node over a
# computation on a clone. Each form: values, gradients and grad_fn names, finite differences, second
# order (test_inplace_node_*), what its node saves and what a later write to the output does.
def _on_view(call):
    """call on the last rows of a fresh non-leaf; returns the whole tensor (its node: CopySlices)."""
    def fn(L, x):
        y = x.clone()
        call(L, y[1:])
        return y
    return fn


INPLACE_NODES = [
    ("elu_", lambda L, x: L.nn.functional.elu_(x.clone(), 0.7)),
    ("elu inplace", lambda L, x: L.nn.functional.elu(x.clone(), inplace=True)),
    ("selu_", lambda L, x: L.nn.functional.selu_(x.clone())),
    ("celu_", lambda L, x: L.nn.functional.celu_(x.clone(), 0.6)),
    ("leaky_relu_", lambda L, x: L.nn.functional.leaky_relu_(x.clone(), 0.2)),
    ("rrelu_ eval", lambda L, x: L.nn.functional.rrelu_(x.clone(), 0.1, 0.3)),
    ("threshold_", lambda L, x: L.nn.functional.threshold_(x.clone(), 0.1, 2.0)),
    ("hardtanh_", lambda L, x: L.nn.functional.hardtanh_(x.clone(), -0.5, 0.75)),
    ("relu6 inplace", lambda L, x: L.nn.functional.relu6(x.clone(), inplace=True)),
    ("silu inplace", lambda L, x: L.nn.functional.silu(x.clone(), inplace=True)),
    ("mish inplace", lambda L, x: L.nn.functional.mish(x.clone(), inplace=True)),
    ("hardswish inplace", lambda L, x: L.nn.functional.hardswish(x.clone(), inplace=True)),
    ("hardsigmoid inplace", lambda L, x: L.nn.functional.hardsigmoid(x.clone(), inplace=True)),
    ("silu", lambda L, x: L.nn.functional.silu(x)),
    ("mish", lambda L, x: L.nn.functional.mish(x)),
    ("torch.selu_", lambda L, x: L.selu_(x.clone())),
    ("torch.celu_", lambda L, x: L.celu_(x.clone(), 1.5)),
    ("torch.rrelu_", lambda L, x: L.rrelu_(x.clone())),
    ("torch.threshold_", lambda L, x: L.threshold_(x.clone(), -0.5, 2.0)),
    ("nn.ELU", lambda L, x: L.nn.ELU(0.5, inplace=True)(x.clone())),
    ("nn.LeakyReLU", lambda L, x: L.nn.LeakyReLU(0.1, inplace=True)(x.clone())),
    ("nn.SiLU", lambda L, x: L.nn.SiLU(inplace=True)(x.clone())),
    ("nn.Mish", lambda L, x: L.nn.Mish(inplace=True)(x.clone())),
    ("elu_ on a view", _on_view(lambda L, v: L.nn.functional.elu_(v))),
    ("leaky_relu_ on a view", _on_view(lambda L, v: L.nn.functional.leaky_relu_(v, 0.3))),
    ("threshold_ on a view", _on_view(lambda L, v: L.nn.functional.threshold_(v, 0.0, -1.0))),
    ("silu inplace on a view", _on_view(lambda L, v: L.nn.functional.silu(v, inplace=True))),
]
test_inplace_node_against_pytorch, test_inplace_node_gradcheck, test_inplace_node_second_order = case_tests(
    [(name, fn, [(3, 4)], {}) for name, fn in INPLACE_NODES])


@pytest.mark.parametrize("name,fn", INPLACE_NODES, ids=[c[0] for c in INPLACE_NODES])
def test_inplace_node_saves_and_versions_like_pytorch(torch, device, name, fn):
    """What the node saves (the output itself, or a copy of the input's old values) and
    whether writing the output before backward is PyTorch's version error; the node's
    inputs are PyTorch's (next_functions: the clone)."""
    x_np = np.random.default_rng(3).uniform(-2, 2, (3, 4))

    def run(lib, x):
        packed = []
        with lib.autograd.graph.saved_tensors_hooks(lambda t: packed.append(t) or t, lambda t: t):
            y = fn(lib, x)
        node = y.grad_fn
        with lib.no_grad():
            y.mul_(2)
        return ([p.data_ptr() == y.data_ptr() for p in packed],
                [n.name() if n is not None else None for n, _ in node.next_functions], backward_outcome(y))

    ours = run(ag, ag.tensor(x_np, device=device, requires_grad=True))
    theirs = run(torch, torch.tensor(x_np, requires_grad=True))
    if "rrelu" in name:            # (PyTorch's node also saves its noise: ours keeps it as an array)
        ours, theirs = [(True in r[0],) + r[1:] for r in (ours, theirs)]
    assert ours == theirs


def test_inplace_rrelu_in_training_like_pytorch(torch, device):
    """rrelu_ in training: PyTorch's node, its gradient the drawn slope where x <= 0 (1 elsewhere), first
    gradients under create_graph requiring grad, and a write after it a version error."""
    x_np = np.array([-2.0, -0.5, 0.0, 0.25, 3.0])
    outcomes = []
    for lib, x in ((ag, ag.tensor(x_np, device=device, requires_grad=True)), (torch, _tt(torch, x_np, True))):
        y = lib.nn.functional.rrelu_(x.clone(), 0.1, 0.3, training=True)
        assert y.grad_fn.name() == "RreluWithNoiseBackward1"
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        slope = np.where(x_np > 0, 1.0, _np(y) / np.where(x_np == 0, 1, x_np))
        keep = x_np != 0
        np.testing.assert_allclose(_np(g)[keep], slope[keep], rtol=1e-12)
        assert np.all((_np(g)[x_np <= 0] >= 0.1) & (_np(g)[x_np <= 0] <= 0.3))
        assert g.requires_grad and g.grad_fn.name() == "RreluWithNoiseBackwardBackward0"
        y2 = lib.nn.functional.rrelu_(x.clone(), 0.1, 0.3, training=True)
        with lib.no_grad():
            y2.add_(1)
        outcomes.append(backward_outcome(y2))
    assert outcomes == ["version error", "version error"]


# ---- bad input ------------------------------------------------------------------------------------

BAD = [  # (function name in our message, call with (F, lib, x float32 (2, 4)))
    ("leaky_relu", lambda F, lib, x: F.leaky_relu(x.long())),
    ("leaky_relu", lambda F, lib, x: F.leaky_relu(x, "a")),
    ("leaky_relu", lambda F, lib, x: F.leaky_relu(x, None)),
    ("leaky_relu", lambda F, lib, x: F.leaky_relu([1.0])),
    ("elu", lambda F, lib, x: F.elu(x.bool())),
    ("elu", lambda F, lib, x: F.elu(x, "a")),
    ("selu", lambda F, lib, x: F.selu(x.int())),
    ("celu", lambda F, lib, x: F.celu(x, 0.0)),
    ("celu", lambda F, lib, x: F.celu(x.long())),
    ("silu", lambda F, lib, x: F.silu(x.long())),
    ("mish", lambda F, lib, x: F.mish(x.bool())),
    ("softplus", lambda F, lib, x: F.softplus(x.long())),
    ("softplus", lambda F, lib, x: F.softplus(x, "a")),
    ("softplus", lambda F, lib, x: F.softplus(x, 1, None)),
    ("softsign", lambda F, lib, x: F.softsign(x.bool())),
    ("hardtanh", lambda F, lib, x: F.hardtanh(x, 1.0, -1.0)),
    ("hardtanh", lambda F, lib, x: F.hardtanh(x.bool())),
    ("hardtanh", lambda F, lib, x: F.hardtanh(x, "a")),
    ("relu6", lambda F, lib, x: F.relu6(x.bool())),
    ("hardsigmoid", lambda F, lib, x: F.hardsigmoid(x.long())),
    ("hardswish", lambda F, lib, x: F.hardswish(x.long())),
    ("logsigmoid", lambda F, lib, x: F.logsigmoid(x.long())),
    ("tanhshrink", lambda F, lib, x: F.tanhshrink(x.bool())),
    ("softshrink", lambda F, lib, x: F.softshrink(x, -0.5)),
    ("softshrink", lambda F, lib, x: F.softshrink(x.double(), -1.0)),
    ("softshrink", lambda F, lib, x: F.softshrink(x, math.nan)),
    ("softshrink", lambda F, lib, x: F.softshrink(x.long())),
    ("hardshrink", lambda F, lib, x: F.hardshrink(x.long())),
    ("threshold", lambda F, lib, x: F.threshold(x.bool(), 0.0, 1.0)),
    ("threshold", lambda F, lib, x: F.threshold(x, "a", 1.0)),
    ("threshold", lambda F, lib, x: F.threshold((x * 0).byte(), 0.0, -1.0)),
    ("threshold", lambda F, lib, x: F.threshold((x * 0).to(lib.int8), 0.0, 300)),
    ("hardtanh", lambda F, lib, x: F.hardtanh((x * 0).byte(), -1.0, 1.0)),
    ("prelu", lambda F, lib, x: F.prelu(x, lib.ones(3))),
    ("prelu", lambda F, lib, x: F.prelu(x, lib.ones(1, 4))),
    ("prelu", lambda F, lib, x: F.prelu(x[0, 0], lib.ones(2))),
    ("prelu", lambda F, lib, x: F.prelu(x[0], lib.ones(4))),
    ("prelu", lambda F, lib, x: F.prelu(x.double(), lib.ones(4))),
    ("prelu", lambda F, lib, x: F.prelu(x.long(), lib.ones(4))),
    ("prelu", lambda F, lib, x: F.prelu(x, [1.0])),
    ("glu", lambda F, lib, x: F.glu(x, 2)),
    ("glu", lambda F, lib, x: F.glu(x[:, :3])),
    ("glu", lambda F, lib, x: F.glu(x, -3)),
    ("glu", lambda F, lib, x: F.glu(x, 1.0)),
    ("glu", lambda F, lib, x: F.glu(x[0, 0])),
    ("glu", lambda F, lib, x: F.glu(x.long())),
    ("glu", lambda F, lib, x: F.glu(x.bool())),
    ("softmin", lambda F, lib, x: F.softmin(x, 2)),
    ("softmin", lambda F, lib, x: F.softmin(x.long(), 1)),
    ("softmin", lambda F, lib, x: F.softmin(x.bool(), 1)),
]


@pytest.mark.parametrize("i", range(len(BAD)))
def test_bad_input_raises_like_pytorch_and_changes_nothing(torch, device, i):
    fn, call = BAD[i]
    x_np = np.array([[-1.0, 0.5, 2.0, 0.0], [3.0, -4.0, 1.0, 0.25]], dtype=np.float32)
    with pytest.raises(Exception) as theirs:
        call(torch.nn.functional, torch, torch.from_numpy(x_np.copy()))
    x = ag.tensor(x_np, device=device, requires_grad=True)
    with pytest.raises(type(theirs.value), match=fn) as ours:
        call(F, _Lib(device), x)
    assert type(ours.value) is type(theirs.value)
    assert x._version == 0 and x.grad is None
    np.testing.assert_array_equal(_np(x), x_np)


class _Lib:
    """ag with its creation functions on one device (the BAD calls make weights)."""

    def __init__(self, device):
        self.device = device

    int8 = ag.int8

    def ones(self, *shape):
        return ag.ones(*shape, device=self.device)


def test_non_tensor_input_divergences(torch):
    """PyTorch's Python-level softsign, tanhshrink, glu and softmin raise
    AttributeError or TypeError from inside for a non-tensor; ours raise
    TypeError naming the function, as the built-in ones do."""
    for name, call in (("softsign", lambda F: F.softsign([1.0])), ("tanhshrink", lambda F: F.tanhshrink([1.0])),
                       ("glu", lambda F: F.glu([1.0, 2.0])), ("softmin", lambda F: F.softmin([1.0], 0))):
        with pytest.raises((AttributeError, TypeError)):
            call(torch.nn.functional)
        with pytest.raises(TypeError, match=f"{name}\\(\\): argument 'input'"):
            call(F)


def test_softmin_without_dim_warns_like_pytorch(torch):
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        y = F.softmin(ag.ones(2, 4))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        ty = torch.nn.functional.softmin(torch.ones(2, 4))
    np.testing.assert_allclose(_np(y), ty.numpy())


# ---- modules ----------------------------------------------------------------------------------------

MODULES = [  # (class name, constructor args, kwargs)
    ("LeakyReLU", (), {}), ("LeakyReLU", (0.2,), {"inplace": True}), ("ELU", (), {}), ("ELU", (2.0, True), {}),
    ("SELU", (), {}), ("SELU", (True,), {}), ("CELU", (0.5,), {}), ("CELU", (), {"inplace": True}),
    ("SiLU", (), {}), ("SiLU", (), {"inplace": True}), ("Mish", (), {}), ("Mish", (True,), {}),
    ("Softplus", (), {}), ("Softplus", (2, 8), {}), ("Softsign", (), {}), ("Hardtanh", (), {}),
    ("Hardtanh", (-2.0, 3.0, True), {}), ("Hardtanh", (0, 1), {}), ("ReLU6", (), {}), ("ReLU6", (True,), {}),
    ("Hardsigmoid", (), {}), ("Hardsigmoid", (True,), {}), ("Hardswish", (), {}), ("Hardswish", (True,), {}),
    ("LogSigmoid", (), {}), ("Tanhshrink", (), {}), ("Softshrink", (), {}), ("Softshrink", (1,), {}),
    ("Hardshrink", (0.25,), {}), ("Threshold", (0.1, 20.0), {}), ("Threshold", (0, -1, True), {}),
    ("PReLU", (), {}), ("PReLU", (6, 0.1), {}), ("GLU", (), {}), ("GLU", (0,), {}), ("Softmax", (1,), {}),
    ("Softmax", (), {"dim": -1}), ("LogSoftmax", (0,), {}), ("Softmin", (1,), {}), ("ReLU", (True,), {}),
]


@pytest.mark.parametrize("i", range(len(MODULES)))
def test_modules_match_pytorch(torch, device, i):
    name, args, kwargs = MODULES[i]
    m, tm = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(m) == repr(tm) and str(nn.Sequential(m)) == str(torch.nn.Sequential(tm))
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert list(m.state_dict()) == list(tm.state_dict()) and list(m.buffers()) == []
    m.to(device)
    x_np = np.random.default_rng(9).standard_normal((4, 6)) * 3
    x_np[0, :2] = 0.0
    for train in (True, False):                          # no mode-dependent behaviour
        m.train(train)
        tm.train(train)
        x, tx = ag.tensor(x_np, device=device, requires_grad=True), _tt(torch, x_np, True)
        m_in, tm_in = (x * 1, tx * 1) if m.__dict__.get("inplace") else (x, tx)
        y, ty = m(m_in.float()), tm(tm_in.float())
        np.testing.assert_allclose(_np(y), ty.detach().numpy(), rtol=2e-5, atol=1e-6)
        w = np.random.default_rng(10).standard_normal(tuple(ty.shape)).astype(np.float32)
        (y * ag.tensor(w, device=device)).sum().backward()
        (ty * torch.from_numpy(w)).sum().backward()
        np.testing.assert_allclose(_np(x.grad), tx.grad.numpy(), rtol=2e-5, atol=1e-6)
    for p, tp in zip(m.parameters(), tm.parameters()):
        assert p.device == ag.device(device)
        np.testing.assert_allclose(_np(p.grad), tp.grad.numpy(), rtol=2e-5, atol=1e-5)


def test_module_signatures_match_pytorch(torch):
    def params(f):
        ps = [(p.name, p.default) for p in inspect.signature(f).parameters.values()]
        # (a class without an __init__ of its own shows Module.__init__'s (*args, **kwargs), PyTorch's as ours)
        return [] if [n for n, _ in ps] == ["args", "kwargs"] else ps
    from autograd_gpu.nn import activation, functional_activations
    for name in activation.__all__:
        theirs = params(getattr(torch.nn, name))
        assert params(getattr(nn, name)) == theirs, name
        assert name in nn.__all__ and getattr(nn, name) is getattr(activation, name)
    for name in functional_activations.__all__:
        assert getattr(F, name) is getattr(functional_activations, name)
        try:
            theirs = params(getattr(torch.nn.functional, name))
        except (ValueError, TypeError):
            continue                                      # a builtin: no signature to read
        assert params(getattr(F, name)) == theirs, name


def test_prelu_module_parameters_dtype_and_device(torch, device):
    m = nn.PReLU(3, init=0.5, dtype=ag.float64, device=device)
    assert m.weight.shape == (3,) and m.weight.dtype == ag.float64 and m.weight.device == ag.device(device)
    assert m.weight.tolist() == [0.5] * 3 and isinstance(m.weight, nn.Parameter)
    assert list(m.state_dict()) == ["weight"] and m.num_parameters == 3 and m.init == 0.5
    with ag.no_grad():
        m.weight.fill_(2.0)
    m.reset_parameters()
    assert m.weight.tolist() == [0.5] * 3
    m2 = nn.PReLU()
    m2.load_state_dict({"weight": ag.tensor([0.7])})
    assert m2.weight.tolist() == pytest.approx([0.7])
    m2.double()
    assert m2.weight.dtype == ag.float64
    with pytest.raises(RuntimeError, match="prelu.*Mismatch of parameter numbers"):
        m(ag.ones(2, 4, dtype=ag.float64, device=device))


def test_hardtanh_module_checks_and_deprecated_names(torch):
    for args in ((1.0, -1.0), (1.0, 1.0)):
        with pytest.raises(AssertionError):
            torch.nn.Hardtanh(*args)
        with pytest.raises(AssertionError, match="Hardtanh: max_val"):
            nn.Hardtanh(*args)
    with pytest.raises(AssertionError, match="ReLU6|Hardtanh"):
        nn.Hardtanh(6.0, 0.0)
    for kw in ({"min_value": -2.0}, {"max_value": 3.0}):
        with pytest.warns(FutureWarning, match="is deprecated and renamed"):
            tm = torch.nn.Hardtanh(**kw)
        with pytest.warns(FutureWarning, match="is deprecated and renamed"):
            m = nn.Hardtanh(**kw)
        assert repr(m) == repr(tm)
    assert isinstance(nn.ReLU6(), nn.Hardtanh) and nn.ReLU6().min_val == 0.0


def test_softmax_modules_without_dim_warn_like_pytorch(torch):
    for name, fn in (("Softmax", "softmax"), ("LogSoftmax", "log_softmax"), ("Softmin", "softmin")):
        with pytest.warns(UserWarning, match=f"Implicit dimension choice for {fn}"):
            ty = getattr(torch.nn, name)()(torch.ones(2, 3))
        with pytest.warns(UserWarning, match=f"Implicit dimension choice for {fn}"):
            y = getattr(nn, name)()(ag.ones(2, 3))
        np.testing.assert_allclose(_np(y), ty.numpy(), rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.Softmin(1)(ag.ones(2, 3))


# ---- H5: RReLU, Softmax2d, gumbel_softmax ---------------------------------------------------------

def test_rrelu_eval_matches_pytorch_and_training_slopes(torch, device):
    x = np.linspace(-3, 3, 25)
    a = ag.tensor(x, dtype=ag.float64, device=device, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    o, r = F.rrelu(a, 0.1, 0.3), torch.nn.functional.rrelu(b, 0.1, 0.3)
    np.testing.assert_allclose(_np(o), r.detach().numpy(), rtol=1e-15)
    o.sum().backward()
    r.sum().backward()
    np.testing.assert_allclose(_np(a.grad), b.grad.numpy(), rtol=1e-15)
    a.grad = None
    y = F.rrelu(a, 0.1, 0.3, training=True)
    y.sum().backward()
    slope = _np(a.grad)[x < 0]
    assert np.all((slope >= 0.1) & (slope <= 0.3)) and len(set(slope.tolist())) > 1
    np.testing.assert_allclose(_np(y)[x < 0], x[x < 0] * slope)          # the gradient is the drawn slope
    assert np.all(_np(y)[x > 0] == x[x > 0])
    m, t = nn.RReLU(0.2, 0.4, inplace=True), torch.nn.RReLU(0.2, 0.4, inplace=True)
    assert repr(m) == repr(t) and repr(nn.RReLU()) == repr(torch.nn.RReLU())
    with pytest.raises(RuntimeError, match="rrelu"):
        F.rrelu(a, 0.5, 0.1)


def test_softmax2d(torch):
    x = np.random.default_rng(0).standard_normal((2, 3, 2, 2))
    np.testing.assert_allclose(_np(nn.Softmax2d()(ag.tensor(x))), torch.nn.Softmax2d()(torch.tensor(x)).numpy(),
                               rtol=1e-12)
    assert repr(nn.Softmax2d()) == "Softmax2d()"
    with pytest.raises(ValueError, match="Softmax2d"):
        nn.Softmax2d()(ag.zeros(2, 2))


@pytest.mark.parametrize("hard", [False, True])
def test_gumbel_softmax_structure(device, hard):
    ag.manual_seed(1)
    logits = ag.randn(4, 5, dtype=ag.float64, device=device, requires_grad=True)
    ag.manual_seed(7)
    y = F.gumbel_softmax(logits, tau=0.5, hard=hard)
    np.testing.assert_allclose(_np(y).sum(-1), 1.0)
    if hard:
        assert set(np.unique(_np(y)).tolist()) == {0.0, 1.0}
    ag.manual_seed(7)
    soft = F.gumbel_softmax(logits, tau=0.5)
    g = ag.randn(4, 5, dtype=ag.float64, device=device)
    (ga,) = ag.autograd.grad((y * g).sum(), logits)
    (gb,) = ag.autograd.grad((soft * g).sum(), logits)
    np.testing.assert_allclose(_np(ga), _np(gb), rtol=1e-12)              # straight-through: the soft gradient


# ---- large arrays: the pointwise formulas a chunk at a time (ops/blocked.py) ------------------------------------

LARGE_ACTIVATIONS = [
    ("gelu", lambda f, x: f.gelu(x)), ("gelu tanh", lambda f, x: f.gelu(x, approximate="tanh")),
    ("elu", lambda f, x: f.elu(x, 0.7)), ("selu", lambda f, x: f.selu(x)), ("celu", lambda f, x: f.celu(x, 1.5)),
    ("elu_ in place", lambda f, x: f.elu_(x * 1, 0.7)), ("silu", lambda f, x: f.silu(x)), ("mish", lambda f, x: f.mish(x)),
    ("softplus", lambda f, x: f.softplus(x, 2.0, 5.0)), ("hardsigmoid", lambda f, x: f.hardsigmoid(x)),
    ("hardswish", lambda f, x: f.hardswish(x)), ("logsigmoid", lambda f, x: f.logsigmoid(x)),
    ("leaky_relu", lambda f, x: f.leaky_relu(x, 0.1)), ("softshrink", lambda f, x: f.softshrink(x, 0.5)),
    ("hardshrink", lambda f, x: f.hardshrink(x, 0.5)), ("hardtanh", lambda f, x: f.hardtanh(x, -1.0, 2.0)),
    ("relu6", lambda f, x: f.relu6(x)), ("threshold", lambda f, x: f.threshold(x, 0.5, -2.0))]


def _activation_and_gradients(L, fn, x_np, g_np, **kw):
    """fn's output and x's gradients, for upstream g and for the sum's, as NumPy arrays."""
    outs = []
    for upstream in ("full", "sum"):
        x = L.tensor(x_np, requires_grad=True, **kw)
        y = fn(L.nn.functional, x)
        y.backward(L.tensor(g_np, **kw)) if upstream == "full" else y.sum().backward()
        outs += [y.detach(), x.grad]
    return [t.cpu().numpy() for t in outs]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("name, fn", LARGE_ACTIVATIONS, ids=[n for n, _ in LARGE_ACTIVATIONS])
def test_large_activations_by_chunks_match_pytorch(torch, device, dtype, name, fn):
    """Activations of arrays of 128k elements or more run their formulas a chunk at a time on NumPy
    (ops/blocked.py), over several chunks and a partial last one: the outputs and gradients (for an
    upstream gradient given in full and expanded from sum) are PyTorch's (float32, float64), and every
    element's value, the special ones included, is bit for bit what the same element gives in a
    smaller array (the whole-array form, whose special values the tables above check against
    PyTorch), float16 too (each chunk widened to float32 and rounded once, as the whole array)."""
    rng = np.random.default_rng(sum(map(ord, name)))
    x_np = (rng.standard_normal((3, 70001)) * 4).astype(dtype)
    g_np = rng.standard_normal(x_np.shape).astype(dtype)
    if dtype != "float16":          # (float16: the chunks' bit equality below; PyTorch's half kernels, the tables above)
        _large_activation_matches_pytorch(torch, device, dtype, name, fn, x_np, g_np)
    x_np[1, :len(SPECIAL)] = SPECIAL
    large = _activation_and_gradients(ag, fn, x_np, g_np, device=device)
    rows = [_activation_and_gradients(ag, fn, x_np[i:i + 1], g_np[i:i + 1], device=device) for i in range(3)]
    for k, what in enumerate(("output", "gradient", "output", "gradient (sum)")):
        np.testing.assert_array_equal(large[k], np.concatenate([r[k] for r in rows]), err_msg=f"{name}: {what}")


def _large_activation_matches_pytorch(torch, device, dtype, name, fn, x_np, g_np):
    ours = _activation_and_gradients(ag, fn, x_np, g_np, device=device)
    theirs = _activation_and_gradients(torch, fn, x_np, g_np)
    # (float32: PyTorch's vectorised tanh and erf differ from NumPy's by a few ulp, and gelu's tanh
    # form's gradient in the tails by a few 1e-6)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-12, atol=1e-13)
    for what, a, b in zip(("output", "gradient", "output", "gradient (sum)"), ours, theirs):
        np.testing.assert_allclose(a, b, err_msg=f"{name}: {what}", **tol)
