"""Fractional max pooling (F.fractional_max_pool2d/3d, _with_indices, nn.FractionalMaxPool2d/3d) and
nn.AdaptiveLogSoftmaxWithLoss against PyTorch CPU: with the same _random_samples the windows, values and
indices equal PyTorch's exactly (float16 too); gradients (second order too), unbatched and empty inputs,
state dicts both ways, reprs, and bad input (exception types, messages, nothing changed)."""
import numpy as np
import pytest

import autograd_gpu as ag
import autograd_gpu.nn.functional as F
from autograd_gpu import nn
from oracle import assert_matches_in, case_tests

# (PyTorch warns when it initialises a tail Linear of width 0)
pytestmark = pytest.mark.filterwarnings("ignore:Initializing zero-element tensors is a no-op")

FN = lambda lib: lib.nn.functional      # noqa: E731

S2 = np.random.default_rng(7).random((2, 3, 2))      # samples for a (2, 3, H, W) input
S2U = np.random.default_rng(8).random((1, 2, 2))     # for an unbatched (2, H, W) input
S3 = np.random.default_rng(9).random((2, 2, 3))
S3U = np.random.default_rng(10).random((1, 2, 3))


def _samples(L, x, a):
    """Fixed samples as a tensor of x's dtype and device (the same on both sides)."""
    return L.tensor(a, dtype=x.dtype, device=x.device)


CASES = [
    ("fmp2d", lambda L, x: FN(L).fractional_max_pool2d(x, 2, output_size=(4, 3), _random_samples=_samples(L, x, S2)),
     [(2, 3, 7, 6)], {}),
    ("fmp2d indices kernel (3, 1)",
     lambda L, x: FN(L).fractional_max_pool2d(x, (3, 1), (3, 5), return_indices=True,
                                             _random_samples=_samples(L, x, S2)), [(2, 3, 8, 6)], {}),
    ("fmp2d ratio unbatched",
     lambda L, x: FN(L).fractional_max_pool2d(x, 2, output_ratio=(0.5, 0.7), _random_samples=_samples(L, x, S2U)),
     [(2, 7, 6)], {}),
    ("fmp2d with_indices overlapping",
     lambda L, x: FN(L).fractional_max_pool2d_with_indices(x, 3, 4, _random_samples=_samples(L, x, S2U)),
     [(2, 6, 6)], {}),
    ("fmp3d", lambda L, x: FN(L).fractional_max_pool3d(x, 2, output_size=(2, 3, 2), _random_samples=_samples(L, x, S3)),
     [(2, 2, 4, 5, 4)], {}),
    ("fmp3d indices unbatched ratio",
     lambda L, x: FN(L).fractional_max_pool3d(x, (1, 2, 2), output_ratio=0.5, return_indices=True,
                                             _random_samples=_samples(L, x, S3U)), [(2, 4, 5, 6)], {}),
]

test_against_pytorch, test_gradcheck, test_second_order = case_tests(CASES)


# ---- exact windows ------------------------------------------------------------------------------

def _random_problem(rng, nd):
    """Sizes, kernel and output size that PyTorch accepts (its 3-d check wants one element to spare)."""
    room = 0 if nd == 2 else 1
    sizes = tuple(int(v) for v in rng.integers(1 + room, 13 if nd == 2 else 7, nd))
    kernel = tuple(int(rng.integers(1, n + 1 - room)) for n in sizes)
    out = tuple(int(rng.integers(0, n - k + 2 - room)) for n, k in zip(sizes, kernel))
    return sizes, kernel, out


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
@pytest.mark.parametrize("nd", [2, 3])
def test_windows_values_indices_and_grads_equal_pytorch(torch, device, nd, dtype):
    """Random sizes, samples (some outside [0, 1)), ties and NaNs: PyTorch's windows exactly."""
    rng = np.random.default_rng(nd * 10 + len(dtype))
    tfn = getattr(torch.nn.functional, f"fractional_max_pool{nd}d")
    ofn = getattr(F, f"fractional_max_pool{nd}d")
    for trial in range(12):
        sizes, kernel, out = _random_problem(rng, nd)
        x = rng.standard_normal((2, 3) + sizes)
        if trial % 3 == 0:
            x = np.round(x)                     # ties: the first maximum
        if trial % 4 == 1:
            x[x > 1.2] = np.nan                 # NaNs: the last NaN
        s = rng.random((2 + trial % 2, 3, nd)) * (1 if trial % 5 else 6) - (0 if trial % 5 else 3)
        tx = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
        ts = torch.tensor(s, dtype=getattr(torch, dtype))
        rv, ri = tfn(tx, kernel, out, return_indices=True, _random_samples=ts)
        ox = ag.tensor(tx.detach().numpy(), device=device, requires_grad=True)     # (PyTorch's float16 rounding)
        ov, oi = ofn(ox, kernel, out, return_indices=True, _random_samples=ag.tensor(ts.numpy(), device=device))
        what = f"trial {trial}: sizes {sizes} kernel {kernel} out {out}"
        assert oi.dtype == ag.int64 and ov.dtype == ox.dtype and oi.device == ov.device == ag.device(device)
        np.testing.assert_array_equal(oi.cpu().numpy(), ri.numpy(), err_msg=what)
        np.testing.assert_array_equal(ov.detach().cpu().numpy(), rv.detach().numpy(), err_msg=what)
        g = rng.standard_normal(tuple(rv.shape))
        rv.backward(torch.tensor(g, dtype=rv.dtype))
        ov.backward(ag.tensor(g, dtype=ov.dtype, device=device))
        assert_matches_in(ox.grad, tx.grad, dtype, what)


def test_samples_come_from_the_library_generator(device):
    x = ag.randn(2, 3, 9, 8, device=device)
    ag.manual_seed(5)
    a, ia = F.fractional_max_pool2d(x, 2, output_size=4, return_indices=True)
    ag.manual_seed(5)
    samples = ag.rand(2, 3, 2, device=device)
    b, ib = F.fractional_max_pool2d(x, 2, output_size=4, return_indices=True, _random_samples=samples)
    np.testing.assert_array_equal(ia.cpu().numpy(), ib.cpu().numpy())
    np.testing.assert_array_equal(a.cpu().numpy(), b.cpu().numpy())
    ag.manual_seed(5)
    u = F.fractional_max_pool2d(x[0], 2, output_size=3)         # unbatched: one row of samples
    ag.manual_seed(5)
    v = F.fractional_max_pool2d(x[0], 2, output_size=3, _random_samples=ag.rand(1, 3, 2, device=device))
    np.testing.assert_array_equal(u.cpu().numpy(), v.cpu().numpy())


def test_random_windows_differ_between_calls():
    x = ag.randn(1, 16, 20, 20)
    a = F.fractional_max_pool2d(x, 2, output_size=9, return_indices=True)[1].numpy()
    b = F.fractional_max_pool2d(x, 2, output_size=9, return_indices=True)[1].numpy()
    assert (a != b).any()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_second_order_equals_pytorch(torch, device, dtype):
    """The gradient of a gradient penalty (the max picks are piecewise linear: its own gradient is 0 in x,
    but flows through the upstream gradient)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 6))
    grads = []
    for lib, dev in ((torch, "cpu"), (ag, device)):
        t = lib.tensor(x, dtype=getattr(lib, dtype), device=dev, requires_grad=True)
        s = lib.tensor(S2, dtype=getattr(lib, dtype), device=dev)
        y = lib.nn.functional.fractional_max_pool2d(t, 2, (4, 3), _random_samples=s)
        (g,) = lib.autograd.grad((y * y).sum(), t, create_graph=True)
        (gg,) = lib.autograd.grad((g * g).sum(), t)
        grads.append(gg)
    assert_matches_in(grads[1], grads[0], dtype)


def test_empty_batch_channels_and_output(torch, device):
    for shape, out in (((0, 3, 5, 5), 3), ((0, 5, 5), 2), ((2, 3, 5, 5), 0)):
        ours = ag.randn(*shape, device=device, requires_grad=True)
        theirs = torch.randn(*shape, requires_grad=True)
        o, oi = F.fractional_max_pool2d(ours, 2, out, return_indices=True)
        r, ri = torch.nn.functional.fractional_max_pool2d(theirs, 2, out, return_indices=True)
        assert o.shape == tuple(r.shape) and oi.shape == tuple(ri.shape) and oi.dtype == ag.int64
        o.sum().backward()
        assert ours.grad.shape == ours.shape and not ours.grad.cpu().numpy().any()
    o = F.fractional_max_pool3d(ag.randn(0, 2, 4, 4, 4, device=device), 2, 2)
    assert o.shape == (0, 2, 2, 2, 2)


def test_output_size_one_and_whole_input(torch):
    """output 1 puts the window at n - k; output n - k + 1 gives stride-1 windows."""
    x = np.random.default_rng(4).standard_normal((1, 2, 6, 5))
    for out, k in ((1, 2), ((5, 4), 2), ((1, 4), (6, 2))):
        s = np.full((1, 2, 2), 0.4)
        r = torch.nn.functional.fractional_max_pool2d(torch.tensor(x), k, out, return_indices=True,
                                                      _random_samples=torch.tensor(s))
        o = F.fractional_max_pool2d(ag.tensor(x), k, out, return_indices=True, _random_samples=ag.tensor(s))
        np.testing.assert_array_equal(o[1].numpy(), r[1].numpy())
        np.testing.assert_array_equal(o[0].numpy(), r[0].numpy())


def test_boolean_dispatch_and_infinities(torch):
    x = np.full((1, 1, 4, 4), -np.inf)
    x[0, 0, 3, 3] = np.inf
    s = np.full((1, 1, 2), 0.5)
    y = F.fractional_max_pool2d(ag.tensor(x), 2, 3, None, False, ag.tensor(s))
    assert isinstance(y, ag.Tensor)
    o, oi = F.fractional_max_pool2d(ag.tensor(x), 2, 3, None, True, ag.tensor(s))
    r, ri = torch.nn.functional.fractional_max_pool2d(torch.tensor(x), 2, 3, None, True, torch.tensor(s))
    np.testing.assert_array_equal(oi.numpy(), ri.numpy())     # all -inf: the window's first position
    np.testing.assert_array_equal(o.numpy(), r.numpy())


# ---- modules ------------------------------------------------------------------------------------

def test_module_attributes_repr_and_state_dict(torch, device):
    for args, kw in (((2,), dict(output_size=3)), (((2, 3),), dict(output_ratio=0.5)),
                     (([2, 1],), dict(output_size=[3, 2], return_indices=True))):
        ours, theirs = nn.FractionalMaxPool2d(*args, **kw), torch.nn.FractionalMaxPool2d(*args, **kw)
        for attr in ("kernel_size", "output_size", "output_ratio", "return_indices"):
            assert getattr(ours, attr) == getattr(theirs, attr), attr
        assert repr(ours) == repr(theirs) == "FractionalMaxPool2d()"
        assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    m3, t3 = nn.FractionalMaxPool3d(2, output_ratio=(0.5, 0.6, 0.7)), torch.nn.FractionalMaxPool3d(
        2, output_ratio=(0.5, 0.6, 0.7))
    assert (m3.kernel_size, m3.output_ratio, repr(m3)) == (t3.kernel_size, t3.output_ratio, repr(t3))


def test_module_with_fixed_samples_equals_pytorch(torch, device):
    x = np.random.default_rng(5).standard_normal((2, 3, 9, 7))
    theirs = torch.nn.FractionalMaxPool2d(3, output_size=(4, 3), return_indices=True,
                                          _random_samples=torch.tensor(S2))
    ours = nn.FractionalMaxPool2d(3, output_size=(4, 3), return_indices=True)
    ours.register_buffer("_random_samples", ag.zeros(2, 3, 2, dtype=ag.float64))
    ours.load_state_dict({k: ag.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    ours.to(device)
    assert list(ours.state_dict()) == ["_random_samples"]
    (o, oi), (r, ri) = ours(ag.tensor(x, device=device)), theirs(torch.tensor(x))
    np.testing.assert_array_equal(oi.cpu().numpy(), ri.numpy())
    np.testing.assert_array_equal(o.cpu().numpy(), r.numpy())
    # and back: our state into a PyTorch module
    back = torch.nn.FractionalMaxPool2d(3, output_size=(4, 3), _random_samples=torch.zeros(2, 3, 2,
                                                                                          dtype=torch.float64))
    back.load_state_dict({k: torch.tensor(v.cpu().numpy()) for k, v in ours.state_dict().items()})
    np.testing.assert_array_equal(back(torch.tensor(x)).numpy(), r.numpy())


def test_module_3d_with_samples_and_gradients(torch, device):
    x = np.random.default_rng(6).standard_normal((2, 2, 5, 6, 4))
    ours = nn.FractionalMaxPool3d(2, output_size=(3, 4, 2), _random_samples=ag.tensor(S3, device=device))
    theirs = torch.nn.FractionalMaxPool3d(2, output_size=(3, 4, 2), _random_samples=torch.tensor(S3))
    ox, tx = ag.tensor(x, device=device, requires_grad=True), torch.tensor(x, requires_grad=True)
    o, r = ours(ox), theirs(tx)
    assert_matches_in(o, r, "float64")
    o.sum().backward()
    r.sum().backward()
    assert_matches_in(ox.grad, tx.grad, "float64")


# ---- bad input ----------------------------------------------------------------------------------

def _raised(call):
    try:
        call()
    except Exception as e:      # noqa: BLE001 (we compare the types)
        return e
    return None


X4 = lambda T: T.ones(2, 3, 7, 6)       # noqa: E731
BAD = {
    "fractional_max_pool2d no size": lambda M, T: M.functional.fractional_max_pool2d(X4(T), 2),
    "fractional_max_pool2d ratio length 3":
        lambda M, T: M.functional.fractional_max_pool2d(X4(T), 2, output_ratio=(0.5, 0.5, 0.5)),
    "fractional_max_pool2d ratio length 1":
        lambda M, T: M.functional.fractional_max_pool2d(X4(T), 2, output_ratio=(0.5,)),
    "fractional_max_pool2d kernel length 3": lambda M, T: M.functional.fractional_max_pool2d(X4(T), (2, 2, 2), 3),
    "fractional_max_pool2d kernel list of 1": lambda M, T: M.functional.fractional_max_pool2d(X4(T), [2], 3),
    "fractional_max_pool2d output length 3": lambda M, T: M.functional.fractional_max_pool2d(X4(T), 2, (3, 3, 3)),
    "fractional_max_pool2d kernel float": lambda M, T: M.functional.fractional_max_pool2d(X4(T), 2.0, 3),
    "fractional_max_pool2d output float": lambda M, T: M.functional.fractional_max_pool2d(X4(T), 2, 3.0),
    "fractional_max_pool2d output negative": lambda M, T: M.functional.fractional_max_pool2d(X4(T), 2, -1),
    "fractional_max_pool2d too high": lambda M, T: M.functional.fractional_max_pool2d(X4(T), 2, 7),
    "fractional_max_pool2d too wide": lambda M, T: M.functional.fractional_max_pool2d(X4(T), 2, (3, 6)),
    "fractional_max_pool2d 2-D input": lambda M, T: M.functional.fractional_max_pool2d(T.ones(5, 5), 2, 3),
    "fractional_max_pool2d 2-D input no size": lambda M, T: M.functional.fractional_max_pool2d(T.ones(5, 5), 2),
    "fractional_max_pool2d 2-D input ratio": lambda M, T: M.functional.fractional_max_pool2d(
        T.ones(5, 5), 2, output_ratio=(0.5, 0.5), _random_samples=T.rand(1, 5, 2)),
    "fractional_max_pool2d 5-D input":
        lambda M, T: M.functional.fractional_max_pool2d(T.ones(1, 1, 1, 5, 5), 2, 3, _random_samples=T.rand(1, 1, 2)),
    "fractional_max_pool2d empty channels": lambda M, T: M.functional.fractional_max_pool2d(T.ones(2, 0, 5, 5), 2, 3),
    "fractional_max_pool2d empty height": lambda M, T: M.functional.fractional_max_pool2d(T.ones(2, 3, 0, 5), 2, 3),
    "fractional_max_pool2d int64": lambda M, T: M.functional.fractional_max_pool2d(X4(T).long(), 2, 3),
    "fractional_max_pool2d int64 with int samples":
        lambda M, T: M.functional.fractional_max_pool2d(X4(T).long(), 2, 3, _random_samples=T.ones(2, 3, 2).long()),
    "fractional_max_pool2d samples dtype":
        lambda M, T: M.functional.fractional_max_pool2d(X4(T), 2, 3, _random_samples=T.rand(2, 3, 2).double()),
    "fractional_max_pool2d samples dims":
        lambda M, T: M.functional.fractional_max_pool2d(X4(T), 2, 3, _random_samples=T.rand(6, 2)),
    "fractional_max_pool2d samples batch":
        lambda M, T: M.functional.fractional_max_pool2d(X4(T), 2, 3, _random_samples=T.rand(1, 3, 2)),
    "fractional_max_pool2d samples channels":
        lambda M, T: M.functional.fractional_max_pool2d(X4(T), 2, 3, _random_samples=T.rand(2, 4, 2)),
    "fractional_max_pool2d samples last":
        lambda M, T: M.functional.fractional_max_pool2d(X4(T), 2, 3, _random_samples=T.rand(2, 3, 3)),
    "fractional_max_pool2d samples list":
        lambda M, T: M.functional.fractional_max_pool2d(X4(T), 2, 3, _random_samples=[0.5]),
    "fractional_max_pool2d samples requires grad":
        lambda M, T: M.functional.fractional_max_pool2d(X4(T), 2, 3, _random_samples=T.rand(2, 3, 2,
                                                                                           requires_grad=True)),
    "fractional_max_pool3d 3-D input": lambda M, T: M.functional.fractional_max_pool3d(T.ones(3, 5, 6), 2, 3),
    "fractional_max_pool3d too long": lambda M, T: M.functional.fractional_max_pool3d(T.ones(1, 2, 5, 6, 7), 2,
                                                                                      (4, 3, 3)),
    "fractional_max_pool3d samples last":
        lambda M, T: M.functional.fractional_max_pool3d(T.ones(1, 2, 5, 6, 7), 2, 3, _random_samples=T.rand(1, 2, 2)),
    "fractional_max_pool3d empty channels":
        lambda M, T: M.functional.fractional_max_pool3d(T.ones(1, 0, 5, 6, 7), 2, 3),
    "FractionalMaxPool2d no size": lambda M, T: M.FractionalMaxPool2d(2),
    "FractionalMaxPool2d both": lambda M, T: M.FractionalMaxPool2d(2, output_size=2, output_ratio=0.5),
    "FractionalMaxPool2d ratio 1": lambda M, T: M.FractionalMaxPool2d(2, output_ratio=1),
    "FractionalMaxPool3d ratio 0": lambda M, T: M.FractionalMaxPool3d(2, output_ratio=(0.5, 0, 0.5)),
    "FractionalMaxPool3d kernel 0": lambda M, T: M.FractionalMaxPool3d((2, 0, 2), output_size=2),
    "FractionalMaxPool3d no size": lambda M, T: M.FractionalMaxPool3d(2),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_raises_like_pytorch(torch, name):
    theirs = _raised(lambda: BAD[name](torch.nn, torch))
    ours = _raised(lambda: BAD[name](nn, ag))
    assert theirs is not None and type(ours) is type(theirs), f"{name}: ours {ours!r}, PyTorch's {theirs!r}"
    assert name.split()[0] in str(ours), str(ours)


def test_failed_call_changes_nothing(device):
    x = ag.randn(2, 3, 7, 6, device=device, requires_grad=True)
    s = ag.rand(2, 3, 3, device=device)
    before_x, before_s = x.detach().cpu().numpy().copy(), s.cpu().numpy().copy()
    ag.manual_seed(11)
    for call in (lambda: F.fractional_max_pool2d(x, 2, 3, _random_samples=s),
                 lambda: F.fractional_max_pool2d(x, 2, 7),
                 lambda: nn.FractionalMaxPool2d(2, output_size=(3, 9))(x)):
        with pytest.raises(RuntimeError, match="fractional_max_pool2d"):
            call()
    assert x.grad is None and x._version == 0 and s._version == 0
    np.testing.assert_array_equal(x.detach().cpu().numpy(), before_x)
    np.testing.assert_array_equal(s.cpu().numpy(), before_s)
    draw = ag.rand(4, device=device).cpu().numpy()      # failed calls drew no samples
    ag.manual_seed(11)
    np.testing.assert_array_equal(draw, ag.rand(4, device=device).cpu().numpy())


def test_divergence_nonpositive_kernel_raises(torch):
    """Kept divergence: kernel_size <= 0 is a RuntimeError naming the function; PyTorch's kernel pools empty
    windows (-inf values, indices of positions never read)."""
    x = torch.ones(1, 1, 5, 5)
    assert torch.isinf(torch.nn.functional.fractional_max_pool2d(x, 0, 3)).all()
    for k in (0, -1, (2, 0)):
        with pytest.raises(RuntimeError, match=r"fractional_max_pool2d\(\): kernel_size must be greater than zero"):
            F.fractional_max_pool2d(ag.ones(1, 1, 5, 5), k, 3)
    with pytest.raises(RuntimeError, match="kernel_size"):
        F.fractional_max_pool3d(ag.ones(1, 1, 5, 5, 5), 0, 3)


def test_divergence_scalar_ratio_in_functional_2d(torch):
    """Kept divergence: F.fractional_max_pool2d takes a number as output_ratio, as its documentation says
    (PyTorch's calls len() on it: TypeError); the module and the 3-d form take one in both libraries."""
    with pytest.raises(TypeError):
        torch.nn.functional.fractional_max_pool2d(torch.ones(1, 1, 6, 6), 2, output_ratio=0.5)
    s = ag.tensor(np.full((1, 1, 2), 0.3))
    a = F.fractional_max_pool2d(ag.arange(36.0, dtype=ag.float64).reshape(1, 1, 6, 6), 2, output_ratio=0.5,
                                _random_samples=s)
    b = F.fractional_max_pool2d(ag.arange(36.0, dtype=ag.float64).reshape(1, 1, 6, 6), 2, output_ratio=(0.5, 0.5),
                                _random_samples=s)
    assert a.shape == (1, 1, 3, 3)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


# ==== AdaptiveLogSoftmaxWithLoss =================================================================

def _asm_pair(torch, device, dtype="float64", **kw):
    """A PyTorch module and ours with its weights (loaded through the state dict)."""
    args = kw.pop("args", (8, 12, [3, 7]))
    torch.manual_seed(0)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(*args, **kw).to(getattr(torch, dtype))
    ours = nn.AdaptiveLogSoftmaxWithLoss(*args, **kw)
    ours.load_state_dict({k: ag.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    return ours.to(device).to(getattr(ag, dtype)), theirs


def _params_grads_match(ours, theirs, dtype):
    for (n, p), (n2, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert n == n2
        if q.grad is None:
            assert p.grad is None or not p.grad.cpu().numpy().any(), n
        else:
            assert_matches_in(p.grad, q.grad, dtype, n)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kw,target", [
    (dict(div_value=2.0), [0, 4, 11, 2, 7, 8, 3]),
    (dict(head_bias=True), [1, 2, 0, 1]),                       # the shortlist only
    (dict(head_bias=True, div_value=1.5), [9, 10, 11, 8]),      # one cluster only
    (dict(args=(6, 20, (2, 5, 11)), div_value=2.0), [19, 0, 3, 6, 12, 1]),   # a tail of width 0 (6 // 8)
], ids=["mixed", "shortlist", "one cluster", "three clusters"])
def test_adaptive_forward_and_gradients_equal_pytorch(torch, device, dtype, kw, target):
    ours, theirs = _asm_pair(torch, device, dtype, **kw)
    x = np.random.default_rng(1).standard_normal((len(target), ours.in_features))
    ox = ag.tensor(x, dtype=getattr(ag, dtype), device=device, requires_grad=True)
    tx = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    o = ours(ox, ag.tensor(target, device=device))
    r = theirs(tx, torch.tensor(target))
    assert type(o).__name__ == "_ASMoutput" and o._fields == ("output", "loss")
    assert_matches_in(o.output, r.output, dtype, "output")
    assert_matches_in(o.loss, r.loss, dtype, "loss")
    w = np.random.default_rng(2).standard_normal(len(target))
    (o.loss * 3 + (o.output * ag.tensor(w, dtype=o.output.dtype, device=device)).sum()).backward()
    (r.loss * 3 + (r.output * torch.tensor(w, dtype=r.output.dtype)).sum()).backward()
    assert_matches_in(ox.grad, tx.grad, dtype, "input grad")
    _params_grads_match(ours, theirs, dtype)


def test_adaptive_unbatched_int32_and_empty(torch, device):
    ours, theirs = _asm_pair(torch, device)
    x = np.random.default_rng(3).standard_normal(8)
    o = ours(ag.tensor(x, device=device), ag.tensor(9, device=device))
    r = theirs(torch.tensor(x), torch.tensor(9))
    assert o.output.shape == () and o.loss.shape == ()
    assert_matches_in(o.output, r.output, "float64")
    xs = np.random.default_rng(4).standard_normal((3, 8))
    o = ours(ag.tensor(xs, device=device), ag.tensor([1, 5, 10], dtype=ag.int32, device=device))
    r = theirs(torch.tensor(xs), torch.tensor([1, 5, 10], dtype=torch.int32))
    assert_matches_in(o.output, r.output, "float64")
    o = ours(ag.zeros(0, 8, dtype=ag.float64, device=device), ag.zeros(0, dtype=ag.int64, device=device))
    assert o.output.shape == (0,) and np.isnan(o.loss.item())
    assert ours.log_prob(ag.zeros(0, 8, dtype=ag.float64, device=device)).shape == (0, 12)
    assert ours.predict(ag.zeros(0, 8, dtype=ag.float64, device=device)).shape == (0,)


def test_adaptive_second_order(device):
    ag.manual_seed(0)
    m = nn.AdaptiveLogSoftmaxWithLoss(4, 7, [2, 4], div_value=2.0, head_bias=True).to(ag.float64).to(device)
    target = ag.tensor([0, 3, 6, 5, 1], device=device)
    x = ag.tensor(np.random.default_rng(5).standard_normal((5, 4)), device=device, requires_grad=True)
    f = lambda x: m(x, target).output      # noqa: E731
    assert ag.autograd.gradcheck(f, [x], eps=1e-6, atol=1e-5, rtol=1e-3)
    assert ag.autograd.gradgradcheck(f, [x], eps=1e-6, atol=1e-4, rtol=1e-3)


def test_adaptive_log_prob_equals_pytorch(torch, device):
    ours, theirs = _asm_pair(torch, device, head_bias=True, div_value=2.0)
    x = np.random.default_rng(6).standard_normal((5, 8))
    ox, tx = ag.tensor(x, device=device, requires_grad=True), torch.tensor(x, requires_grad=True)
    o, r = ours.log_prob(ox), theirs.log_prob(tx)
    assert_matches_in(o, r, "float64")
    np.testing.assert_allclose(np.exp(o.detach().cpu().numpy()).sum(1), 1.0, rtol=1e-12)
    g = np.random.default_rng(7).standard_normal((5, 12))
    o.backward(ag.tensor(g, device=device))
    r.backward(torch.tensor(g))
    assert_matches_in(ox.grad, tx.grad, "float64")
    _params_grads_match(ours, theirs, "float64")


@pytest.mark.parametrize("branch", ["shortlist", "clusters", "mixed"])
def test_adaptive_predict_equals_pytorch(torch, device, branch):
    """predict's three paths: every row's best head entry in the shortlist, every one a cluster, or some."""
    ours, theirs = _asm_pair(torch, device, head_bias=True)
    with torch.no_grad():
        theirs.head.weight.zero_()
        theirs.head.bias.zero_()
        theirs.head.weight[1, 0] = 20.0       # x0 > 0: class 1
        theirs.head.weight[3 + 1, 0] = -20.0  # x0 < 0: the second cluster
    ours.load_state_dict({k: ag.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(8).standard_normal((6, 8))
    x[:, 0] = {"shortlist": 1.0, "clusters": -1.0, "mixed": np.array([1, -1, -1, 1, -1, 1.0])}[branch]
    o, r = ours.predict(ag.tensor(x, device=device)), theirs.predict(torch.tensor(x))
    assert o.dtype == ag.int64 and o.device == ag.device(device)
    np.testing.assert_array_equal(o.cpu().numpy(), r.numpy())
    np.testing.assert_array_equal(o.cpu().numpy(), ours.log_prob(ag.tensor(x, device=device)).argmax(1).cpu().numpy())


def test_adaptive_state_dict_repr_and_init(torch):
    torch.manual_seed(1)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(16, 30, (4, 10, 20), div_value=2.0, head_bias=True)
    ours = nn.AdaptiveLogSoftmaxWithLoss(16, 30, (4, 10, 20), div_value=2.0, head_bias=True)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    for attr in ("in_features", "n_classes", "cutoffs", "div_value", "head_bias", "shortlist_size", "n_clusters",
                 "head_size"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    # ours into PyTorch's
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(9).standard_normal((4, 16)).astype(np.float32)
    assert_matches_in(ours.log_prob(ag.tensor(x)), theirs.log_prob(torch.tensor(x)), "float32")
    # PyTorch's initialisation: kaiming-uniform (a = sqrt(5)) weights, bound 1 / sqrt(fan_in)
    for name, p in ours.named_parameters():
        fan_in = p.shape[1] if p.dim() == 2 else 16
        assert np.abs(p.detach().numpy()).max() <= 1 / np.sqrt(fan_in) + 1e-7, name
    before = ours.head.weight.detach().numpy().copy()
    ours.reset_parameters()
    assert (ours.head.weight.detach().numpy() != before).any()
    assert ours.head.bias.requires_grad and ours.tail[0][1].bias is None


def test_adaptive_dtype_device_arguments_and_float16(torch):
    m = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [4], dtype=ag.float64, device="cpu")
    assert all(p.dtype == ag.float64 for p in m.parameters())
    ours, theirs = _asm_pair(torch, "cpu", "float32", args=(8, 10, [4]))
    ours, theirs = ours.to(ag.float16), theirs.to(torch.float16)
    x = np.random.default_rng(10).standard_normal((3, 8))
    o = ours(ag.tensor(x, dtype=ag.float16), ag.tensor([0, 5, 9]))
    r = theirs(torch.tensor(x, dtype=torch.float16), torch.tensor([0, 5, 9]))
    assert o.output.dtype == ag.float16
    assert_matches_in(o.output, r.output, "float16")


ABAD = {
    "cutoffs empty": lambda M, T: M.AdaptiveLogSoftmaxWithLoss(8, 10, []),
    "cutoffs zero": lambda M, T: M.AdaptiveLogSoftmaxWithLoss(8, 10, [0, 3]),
    "cutoffs repeated": lambda M, T: M.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 3]),
    "cutoffs unsorted": lambda M, T: M.AdaptiveLogSoftmaxWithLoss(8, 10, [5, 3]),
    "cutoffs n_classes": lambda M, T: M.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 10]),
    "cutoffs fraction": lambda M, T: M.AdaptiveLogSoftmaxWithLoss(8, 10, [3.5]),
    "cutoffs float": lambda M, T: M.AdaptiveLogSoftmaxWithLoss(8, 10, [3.0, 6]),
    "forward batch mismatch": lambda m, T: m(T.ones(5, 8), T.tensor([0, 4, 1, 2])),
    "forward 3-D input": lambda m, T: m(T.ones(5, 2, 8), T.tensor([0, 4, 1, 2, 1])),
    "forward 2-D target": lambda m, T: m(T.ones(5, 8), T.zeros(5, 1, dtype=T.int64)),
    "forward 0-D target 2-D input": lambda m, T: m(T.ones(5, 8), T.tensor(1)),
    "forward target too large": lambda m, T: m(T.ones(3, 8), T.tensor([0, 10, 2])),
    "forward target negative": lambda m, T: m(T.ones(3, 8), T.tensor([0, -1, 2])),
    "forward float target": lambda m, T: m(T.ones(3, 8), T.tensor([0.0, 1, 2])),
    "forward bool target": lambda m, T: m(T.ones(3, 8), T.tensor([True, False, True])),
    "forward features": lambda m, T: m(T.ones(3, 7), T.tensor([0, 1, 2])),
    "forward dtype": lambda m, T: m(T.ones(3, 8, dtype=T.float64), T.tensor([0, 1, 2])),
    "log_prob 1-D": lambda m, T: m.log_prob(T.ones(8)),
    "log_prob 3-D": lambda m, T: m.log_prob(T.ones(2, 3, 8)),
    "predict 1-D": lambda m, T: m.predict(T.ones(8)),
}


@pytest.mark.parametrize("name", list(ABAD))
def test_adaptive_bad_input_raises_like_pytorch(torch, name):
    if name.startswith("cutoffs"):
        theirs, ours = _raised(lambda: ABAD[name](torch.nn, torch)), _raised(lambda: ABAD[name](nn, ag))
        assert theirs is not None and type(ours) is type(theirs), f"{name}: ours {ours!r}, PyTorch's {theirs!r}"
        return
    torch.manual_seed(0)
    tm = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6])
    om = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6])
    before = {k: v.numpy().copy() for k, v in om.state_dict().items()}
    theirs, ours = _raised(lambda: ABAD[name](tm, torch)), _raised(lambda: ABAD[name](om, ag))
    assert theirs is not None and type(ours) is type(theirs), f"{name}: ours {ours!r}, PyTorch's {theirs!r}"
    assert "AdaptiveLogSoftmaxWithLoss" in str(ours) or "Linear(" in str(ours), str(ours)
    for k, v in om.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    assert all(p.grad is None for p in om.parameters())


def test_adaptive_divergence_predict_needs_2d(torch):
    """Kept divergence: predict on a 3-D input raises RuntimeError (as log_prob does in both libraries);
    PyTorch's takes the argmax over the wrong dim and returns a (batch, head_size) tensor."""
    tm = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6])
    assert tuple(tm.predict(torch.ones(2, 3, 8)).shape) == (2, 5)
    with pytest.raises(RuntimeError, match=r"AdaptiveLogSoftmaxWithLoss.predict\(\)"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6]).predict(ag.ones(2, 3, 8))


def test_adaptive_target_on_other_device_raises(fake_cuda):
    m = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6])
    with pytest.raises(RuntimeError, match="AdaptiveLogSoftmaxWithLoss.*device"):
        m(ag.ones(2, 8), ag.tensor([0, 1], device="cuda"))


