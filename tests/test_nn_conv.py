"""Convolution and pooling (ag.nn.functional's conv1d/2d, max/avg/adaptive
pools, unfold/fold; the Conv and Pool modules) against PyTorch CPU: values,
indices, gradients (second order too), edge cases, bad input, module
behaviour, and a small CNN trained side by side."""
import inspect
import math
from collections import OrderedDict

import numpy as np
import pytest

import autograd_gpu as ag
import autograd_gpu.nn.functional as F
from autograd_gpu import nn
from oracle import case_tests, assert_matches as _close, tensor_pair as _pair

FN = lambda lib: lib.nn.functional      # noqa: E731
NO_NAME = {"name": False}               # composites: grad_fn names are not PyTorch's
FIRST = dict(NO_NAME, second_order=False)   # a variant of a path whose second order a case above checks


def _distinct(shape, nd, plane, seed=0):
    """Indices for max_unpool: for each (batch, channel) of `shape`, distinct
    positions in a plane of `plane` elements (as a pool with stride >= kernel gives)."""
    rng = np.random.default_rng(seed)
    per_plane = math.prod(shape[-nd:])
    rows = [rng.choice(plane, per_plane, replace=False) for _ in range(math.prod(shape[:-nd]))]
    return np.array(rows, dtype=np.int64).reshape(shape)


CASES = [
    ("conv2d", lambda L, x, w, b: FN(L).conv2d(x, w, b), [(2, 3, 5, 4), (4, 3, 3, 2), (4,)], {}),
    # depthwise (groups = input channels: one node without a windows array on NumPy, DepthwiseConv)
    ("conv2d depthwise", lambda L, x, w, b: FN(L).conv2d(x, w, b, padding=1, groups=3),
     [(2, 3, 5, 4), (3, 1, 3, 3), (3,)], {}),
    ("conv2d depthwise multiplier stride dilation",
     lambda L, x, w, b: FN(L).conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=3),
     [(2, 3, 6, 5), (6, 1, 3, 2), (6,)], {}),
    ("conv1d depthwise same even kernel", lambda L, x, w: FN(L).conv1d(x, w, padding="same", groups=4),
     [(2, 4, 9), (4, 1, 4)], {}),
    ("conv3d depthwise unbatched", lambda L, x, w: FN(L).conv3d(x, w, stride=(1, 2, 1), groups=2),
     [(2, 4, 5, 3), (4, 1, 2, 2, 2)], {}),
    ("conv2d stride pad dilation groups",
     lambda L, x, w, b: FN(L).conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2),
     [(1, 4, 6, 5), (4, 2, 2, 2), (4,)], {}),
    ("conv2d same even kernel", lambda L, x, w: FN(L).conv2d(x, w, padding="same", dilation=(1, 2)),
     [(1, 2, 4, 5), (3, 2, 2, 3)], {}),
    ("conv2d valid unbatched", lambda L, x, w: FN(L).conv2d(x, w, padding="valid"), [(2, 4, 4), (3, 2, 2, 2)],
     NO_NAME),
    ("conv1d", lambda L, x, w, b: FN(L).conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=3),
     [(2, 3, 9), (6, 1, 3), (6,)], {}),
    ("conv1d same unbatched", lambda L, x, w: FN(L).conv1d(x, w, padding="same"), [(2, 6), (3, 2, 4)], NO_NAME),
    ("max_pool2d", lambda L, x: FN(L).max_pool2d(x, 2), [(2, 3, 4, 5)], {}),
    ("max_pool2d indices ceil",
     lambda L, x: FN(L).max_pool2d(x, (3, 2), (2, 1), (1, 1), ceil_mode=True, return_indices=True),
     [(1, 2, 6, 5)], {}),
    ("max_pool2d dilation unbatched", lambda L, x: FN(L).max_pool2d(x, 2, 1, 1, dilation=2, return_indices=True),
     [(2, 5, 6)], {}),
    ("max_pool1d", lambda L, x: FN(L).max_pool1d(x, 3, 2, 1, ceil_mode=True, return_indices=True), [(2, 3, 8)],
     NO_NAME),
    ("max_pool1d unbatched", lambda L, x: FN(L).max_pool1d(x, 2, dilation=2), [(3, 7)], NO_NAME),
    ("avg_pool2d", lambda L, x: FN(L).avg_pool2d(x, 2), [(2, 2, 4, 5)], {}),
    ("avg_pool2d pad ceil", lambda L, x: FN(L).avg_pool2d(x, 3, 2, 1, ceil_mode=True), [(1, 2, 6, 5)], {}),
    ("avg_pool2d exclude pad",
     lambda L, x: FN(L).avg_pool2d(x, (3, 2), (2, 2), (1, 1), ceil_mode=True, count_include_pad=False),
     [(1, 2, 6, 5)], {}),
    ("avg_pool2d divisor_override", lambda L, x: FN(L).avg_pool2d(x, 2, 1, 1, divisor_override=3), [(2, 4, 4)],
     NO_NAME),
    ("avg_pool1d", lambda L, x: FN(L).avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
     [(2, 3, 8)], {}),
    ("adaptive_avg_pool2d", lambda L, x: FN(L).adaptive_avg_pool2d(x, (3, None)), [(2, 2, 7, 5)], {}),
    ("adaptive_avg_pool2d grow", lambda L, x: FN(L).adaptive_avg_pool2d(x, 4), [(2, 3, 3)], {}),
    ("adaptive_avg_pool1d", lambda L, x: FN(L).adaptive_avg_pool1d(x, 3), [(2, 3, 7)], {}),
    ("adaptive_max_pool2d", lambda L, x: FN(L).adaptive_max_pool2d(x, (3, 2), return_indices=True),
     [(2, 2, 7, 5)], {}),
    ("adaptive_max_pool1d", lambda L, x: FN(L).adaptive_max_pool1d(x, 4, return_indices=True), [(3, 10)],
     NO_NAME),
    ("unfold", lambda L, x: FN(L).unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)), [(2, 2, 5, 6)],
     NO_NAME),
    ("unfold unbatched", lambda L, x: FN(L).unfold(x, 2), [(2, 3, 3)], NO_NAME),
    ("fold", lambda L, x: FN(L).fold(x, (5, 6), (2, 3), padding=(0, 1), stride=1), [(2, 12, 24)], NO_NAME),
    ("fold strided unbatched", lambda L, x: FN(L).fold(x, (5, 5), 2, dilation=2, stride=2), [(8, 4)], NO_NAME),
    # 3-d convolution and pooling (tiny: gradcheck perturbs every element)
    ("conv3d stride pad dilation groups",
     lambda L, x, w, b: FN(L).conv3d(x, w, b, stride=(1, 2, 1), padding=(1, 0, 1), dilation=(2, 1, 1), groups=2),
     [(1, 4, 3, 3, 2), (2, 2, 2, 2, 1), (2,)], {}),
    ("conv3d same unbatched", lambda L, x, w: FN(L).conv3d(x, w, padding="same"), [(2, 3, 2, 3), (2, 2, 2, 1, 2)],
     FIRST),
    ("max_pool3d indices ceil",
     lambda L, x: FN(L).max_pool3d(x, (2, 2, 3), (2, 1, 2), (1, 0, 1), ceil_mode=True, return_indices=True),
     [(1, 2, 3, 3, 4)], {}),
    ("max_pool3d dilation unbatched", lambda L, x: FN(L).max_pool3d(x, 2, 1, dilation=(2, 1, 1)), [(1, 4, 3, 3)],
     FIRST),
    ("avg_pool3d exclude pad",
     lambda L, x: FN(L).avg_pool3d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), [(1, 1, 4, 3, 4)], {}),
    ("avg_pool3d divisor_override unbatched", lambda L, x: FN(L).avg_pool3d(x, 2, 1, divisor_override=5),
     [(2, 3, 2, 3)], FIRST),
    ("adaptive_avg_pool3d", lambda L, x: FN(L).adaptive_avg_pool3d(x, (3, None, 2)), [(1, 2, 5, 2, 3)], {}),
    ("adaptive_avg_pool3d grow unbatched", lambda L, x: FN(L).adaptive_avg_pool3d(x, 3), [(1, 2, 3, 2)], FIRST),
    ("adaptive_max_pool3d", lambda L, x: FN(L).adaptive_max_pool3d(x, (2, 3, 2), return_indices=True),
     [(1, 1, 5, 3, 3)], {}),
    # the *_with_indices forms always return the indices (their code path is the pools' above: no gradcheck)
    ("max_pool1d_with_indices", lambda L, x: FN(L).max_pool1d_with_indices(x, 3, 2, 1), [(2, 7)],
     dict(NO_NAME, fd=False)),
    ("max_pool2d_with_indices", lambda L, x: FN(L).max_pool2d_with_indices(x, 2, ceil_mode=True), [(1, 2, 5, 3)],
     dict(NO_NAME, fd=False)),
    ("max_pool3d_with_indices", lambda L, x: FN(L).max_pool3d_with_indices(x, 2, padding=1), [(1, 3, 2, 3)],
     dict(NO_NAME, fd=False)),
    ("adaptive_max_pool1d_with_indices", lambda L, x: FN(L).adaptive_max_pool1d_with_indices(x, 3), [(2, 2, 7)],
     dict(NO_NAME, fd=False)),
    ("adaptive_max_pool2d_with_indices", lambda L, x: FN(L).adaptive_max_pool2d_with_indices(x, (2, 3)),
     [(2, 5, 4)], dict(NO_NAME, fd=False)),
    ("adaptive_max_pool3d_with_indices", lambda L, x: FN(L).adaptive_max_pool3d_with_indices(x, 2),
     [(1, 1, 3, 3, 2)], dict(NO_NAME, fd=False)),
    # transposed convolution
    ("conv_transpose2d stride pad output_padding groups dilation",
     lambda L, x, w, b: FN(L).conv_transpose2d(x, w, b, stride=(2, 1), padding=(1, 0), output_padding=(1, 0),
                                               groups=2, dilation=(1, 2)),
     [(1, 4, 3, 3), (4, 2, 2, 2), (4,)], {}),
    ("conv_transpose2d output_padding below dilation",
     lambda L, x, w: FN(L).conv_transpose2d(x, w, output_padding=1, dilation=2), [(2, 2, 2, 3), (2, 1, 2, 2)],
     FIRST),
    ("conv_transpose2d unbatched", lambda L, x, w, b: FN(L).conv_transpose2d(x, w, b, stride=2, padding=1),
     [(2, 3, 2), (2, 3, 3, 2), (3,)], FIRST),
    ("conv_transpose1d", lambda L, x, w, b: FN(L).conv_transpose1d(x, w, b, 3, 1, 2, 3),
     [(2, 3, 4), (3, 1, 3), (3,)], {}),
    ("conv_transpose1d unbatched", lambda L, x, w: FN(L).conv_transpose1d(x, w, dilation=2), [(2, 5), (2, 3, 2)],
     FIRST),
    ("conv_transpose3d",
     lambda L, x, w, b: FN(L).conv_transpose3d(x, w, b, stride=(2, 1, 2), padding=(0, 0, 1), output_padding=(1, 0, 1)),
     [(1, 2, 2, 2, 2), (2, 2, 2, 1, 2), (2,)], {}),
    ("conv_transpose3d groups unbatched", lambda L, x, w: FN(L).conv_transpose3d(x, w, groups=2, dilation=(1, 2, 1)),
     [(2, 2, 1, 2), (2, 1, 1, 2, 2)], FIRST),
    # max unpooling (distinct indices: where two coincide, which value lands is unspecified)
    ("max_unpool2d", lambda L, x, i: FN(L).max_unpool2d(x, i, 2), [(2, 2, 2, 3), _distinct((2, 2, 2, 3), 2, 24)],
     NO_NAME),
    ("max_unpool2d stride padding output_size",
     lambda L, x, i: FN(L).max_unpool2d(x, i, 3, 2, 1, output_size=(4, 6)),
     [(1, 2, 2, 3), _distinct((1, 2, 2, 3), 2, 24)], FIRST),
    ("max_unpool1d unbatched output_size", lambda L, x, i: FN(L).max_unpool1d(x, i, 2, output_size=[9]),
     [(3, 4), _distinct((3, 4), 1, 9)], FIRST),
    ("max_unpool3d", lambda L, x, i: FN(L).max_unpool3d(x, i, 2), [(1, 2, 2, 1, 2), _distinct((1, 2, 2, 1, 2), 3, 32)],
     NO_NAME),
    ("max_unpool3d unbatched output_size with lead dims",
     lambda L, x, i: FN(L).max_unpool3d(x, i, (1, 2, 2), output_size=(1, 2, 1, 5, 4)),
     [(2, 1, 2, 2), _distinct((2, 1, 2, 2), 3, 20)], FIRST),
    # power-average pooling (odd and fractional powers on positive inputs: PyTorch's root of a
    # negative window sum is 0, or NaN for x^1.5)
    ("lp_pool1d", lambda L, x: FN(L).lp_pool1d(x, 2, 3, 2, ceil_mode=True), [(1, 2, 8)], NO_NAME),
    ("lp_pool2d", lambda L, x: FN(L).lp_pool2d(x, 3, (2, 3), (1, 2)), [(1, 2, 4, 5)], dict(NO_NAME, low=0.1)),
    ("lp_pool2d fractional unbatched", lambda L, x: FN(L).lp_pool2d(x, 1.5, 2), [(2, 4, 4)],
     dict(FIRST, low=0.1)),
    ("lp_pool3d", lambda L, x: FN(L).lp_pool3d(x, 2, 2, ceil_mode=True), [(1, 2, 3, 2, 3)], NO_NAME),
    ("lp_pool2d inf", lambda L, x: FN(L).lp_pool2d(x, float("inf"), 2), [(1, 2, 4, 4)], FIRST),
    ("lp_pool1d -inf unbatched", lambda L, x: FN(L).lp_pool1d(x, -math.inf, 2, 1), [(2, 5)], FIRST),
]

test_against_pytorch, test_gradcheck, test_second_order = case_tests(CASES)
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")


def _np(t):
    return t.detach().cpu().numpy()


def _rng(seed=0):
    return np.random.default_rng(seed)


# ---- second order against PyTorch ------------------------------------------------------

def test_gradient_penalty_matches_pytorch(torch, device):
    """d/dw |d loss / dx|^2 through conv, max pool and avg pool (create_graph)."""
    x, w, b = _rng().normal(size=(2, 2, 6, 6)), _rng(1).normal(size=(3, 2, 3, 3)), _rng(2).normal(size=3)
    grads = []
    for lib, (xs, ws, bs) in ((ag, [_pair(torch, a, device)[0] for a in (x, w, b)]),
                              (torch, [_pair(torch, a, device)[1] for a in (x, w, b)])):
        f = lib.nn.functional
        y = f.conv2d(xs, ws, bs, padding=1)
        loss = (f.max_pool2d(y.tanh(), 2) * f.avg_pool2d(y, 2, count_include_pad=False, padding=1)[..., :3, :3]).sum()
        (gx,) = lib.autograd.grad(loss, xs, create_graph=True)
        (gx ** 2).sum().backward()
        grads.append((ws.grad, bs.grad))
    for o, t in zip(*grads):
        _close(o, t, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("wanted", ["all", "weight and bias", "input"])
def test_depthwise_conv_matches_pytorch_without_a_windows_array(torch, device, dtype, wanted):
    """A depthwise conv2d (groups = input channels, two outputs each) of a larger batch: the output
    and the gradients of whichever inputs require grad are PyTorch's; one ConvolutionBackward0 node;
    on NumPy the forward holds nothing but its output (the composite held a windows array 9 times the
    input until backward); writing the input in place before backward is a version error."""
    import tracemalloc
    rng = _rng(3)
    x_np, w_np, b_np = (rng.standard_normal(s).astype(dtype) for s in ((4, 16, 20, 18), (32, 1, 3, 3), (32,)))
    g_np = rng.standard_normal((4, 32, 20, 18)).astype(dtype)
    results = []
    for L, dev in ((torch, {}), (ag, {"device": device})):
        needs = {"all": (True,) * 3, "weight and bias": (False, True, True), "input": (True, False, False)}[wanted]
        x, w, b = (L.tensor(a, requires_grad=r, **dev) for a, r in zip((x_np, w_np, b_np), needs))
        tracemalloc.start()
        y = L.nn.functional.conv2d(x, w, b, padding=1, groups=16)
        held = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        assert y.grad_fn.name() == "ConvolutionBackward0" and len(y.grad_fn.next_functions) == 3
        y.backward(L.tensor(g_np, **dev))
        results.append([_np(y)] + [_np(t.grad) if t.grad is not None else None for t in (x, w, b)])
        if L is ag and device == "cpu":
            assert held < 1.5 * y.numel() * y.element_size()
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == "float32" else dict(rtol=1e-10, atol=1e-10)
    for what, theirs, ours in zip(("output", "input's grad", "weight's grad", "bias's grad"), *results):
        assert (theirs is None) == (ours is None), what
        if theirs is not None:
            np.testing.assert_allclose(ours, theirs, err_msg=what, **tol)
    x = ag.tensor(x_np, requires_grad=True, device=device)
    x2 = x * 1
    y = F.conv2d(x2, ag.tensor(w_np, device=device), groups=16)
    x2.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


# ---- edge cases ------------------------------------------------------------------------

def test_max_pool_ties_take_the_first_maximum(torch, device):
    x = np.ones((1, 1, 4, 4))
    ox, tx = _pair(torch, x, device)
    (o, oi), (t, ti) = F.max_pool2d(ox, 3, 1, 1, return_indices=True), \
        torch.nn.functional.max_pool2d(tx, 3, 1, 1, return_indices=True)
    np.testing.assert_array_equal(_np(oi), ti.numpy())
    o.sum().backward(), t.sum().backward()
    _close(ox.grad, tx.grad)
    a = F.adaptive_max_pool1d(ag.tensor(np.zeros((1, 5)), device=device), 2, return_indices=True)[1]
    np.testing.assert_array_equal(_np(a), [[0, 2]])


@pytest.mark.parametrize("nd, kw", [(1, dict(kernel_size=3, stride=2)), (1, dict(kernel_size=4, stride=1, padding=2)),
                                     (2, dict(kernel_size=3, stride=2, padding=1)), (2, dict(kernel_size=(2, 3)))])
def test_max_pool_overlapping_windows_rule_matches_pytorch(torch, device, nd, kw):
    """Windows of up to 16 elements find their maximum's place by passes over their columns (NumPy):
    PyTorch's indices and values where windows overlap, with ties (the first), several NaNs in a window
    (the last), infinities and signed zeros, integer input too (2-d); the gradient goes to those places."""
    rng = _rng(12)
    shape = (2, 3, 41) if nd == 1 else (2, 3, 9, 11)
    x = rng.integers(-2, 3, shape).astype(np.float64)
    flat = x.reshape(-1)
    flat[rng.integers(0, flat.size, 40)] = np.nan
    flat[rng.integers(0, flat.size, 20)] = rng.choice([np.inf, -np.inf, -0.0, 0.0], 20)
    pool = "max_pool1d" if nd == 1 else "max_pool2d"
    for data in (x, np.where(np.isfinite(x), x, 0).astype(np.int64))[:nd]:       # (max_pool1d takes no integers, as PyTorch's)
        results = []
        for L, dev in ((torch, {}), (ag, {"device": device})):
            t = L.tensor(data, requires_grad=data.dtype.kind == "f", **dev)
            y, i = getattr(L.nn.functional, pool)(t, return_indices=True, **kw)
            out = [_np(y), _np(i)]
            if t.requires_grad:
                y.backward(L.ones_like(y))
                out.append(_np(t.grad))
            results.append(out)
        for theirs, ours in zip(*results):
            np.testing.assert_array_equal(ours, theirs)


TILING = [((2, 3, 8, 8), dict(kernel_size=2)), ((2, 3, 9, 7), dict(kernel_size=2)), ((3, 7, 6), dict(kernel_size=3)),
          ((2, 2, 8, 8), dict(kernel_size=(2, 4))), ((1, 2, 9, 9), dict(kernel_size=3, stride=3))]


@pytest.mark.parametrize("shape,kw", TILING)
def test_max_pool_over_tiling_windows_matches_pytorch(torch, device, shape, kw):
    """max_pool2d whose windows tile the input (stride = kernel, no padding) is one node on NumPy
    (maxima by passes over strided views): values, the sign of zeros (-0.0 and 0.0 tied, both
    orders), NaN (one, and several in a window: the last), infinities, ties (the first), and
    gradients for an upstream g with negative values (0.0, not -0.0, off the maxima), inf and NaN;
    a remainder that no window covers gets 0; integer input; the graph's and the second and third
    order's node names and values."""
    rng = _rng(7)
    x = rng.integers(-2, 3, shape).astype(np.float64)          # (ties)
    flat = x.reshape(-1)
    flat[:8] = [-0.0, 0.0, 0.0, -0.0, np.nan, 1.0, np.nan, -np.inf]
    flat[rng.integers(8, flat.size, 4)] = [np.inf, -np.inf, np.nan, 5.0]
    for dtype in ("float64", "float32"):
        for special_g in (False, True):
            results = []
            for L in (ag, torch):
                t = L.tensor(x, dtype=getattr(L, dtype), requires_grad=True, **({"device": device} if L is ag else {}))
                y = L.nn.functional.max_pool2d(t, **kw)
                g = -np.abs(_rng(8).normal(size=tuple(y.shape))) - 0.5
                if special_g:
                    g.reshape(-1)[:2] = [np.inf, np.nan]
                y.backward(L.tensor(g, dtype=getattr(L, dtype), **({"device": device} if L is ag else {})))
                results.append([y.grad_fn.name(), _np(y.detach()), _np(t.grad)])
            assert results[0][0] == results[1][0] == "MaxPool2DWithIndicesBackward0"
            for a, b in zip(results[0][1:], results[1][1:]):
                np.testing.assert_array_equal(a, b)
                np.testing.assert_array_equal(np.signbit(a), np.signbit(b))
    xi = rng.integers(-2, 3, shape)[..., :4, :4]
    ints = [L.nn.functional.max_pool2d(L.tensor(xi) if L is torch else L.tensor(xi, device=device), 2)
            for L in (ag, torch)]
    np.testing.assert_array_equal(_np(ints[0]), ints[1].numpy())
    orders = []
    for L in (ag, torch):
        t = L.tensor(_rng(9).normal(size=shape), requires_grad=True, **({"device": device} if L is ag else {}))
        g1, = L.autograd.grad((L.nn.functional.max_pool2d(t, **kw) ** 3).sum(), t, create_graph=True)
        g2, = L.autograd.grad((g1 ** 2).sum(), t, create_graph=True)
        g3, = L.autograd.grad((g2 ** 2).sum(), t)
        orders.append([g1.grad_fn.name(), _np(g1.detach()), _np(g2.detach()), _np(g3)])
    if device == "cpu":                     # (on CUDA the windows' composite: its gradient is a Col2Im node)
        assert orders[0][0] == orders[1][0] == "MaxPool2DWithIndicesBackwardBackward0"
    for a, b in zip(orders[0][1:], orders[1][1:]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_max_pool_nan_and_infinities(torch, device):
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    x[0, 0, 1, 1], x[0, 0, 3, 0] = np.nan, -np.inf
    for fn, args in ((F.max_pool2d, (2, 1, 1)), (F.adaptive_max_pool2d, ((3, 2),))):
        o, t = fn(ag.tensor(x, device=device), *args, return_indices=True), \
            getattr(torch.nn.functional, fn.__name__)(torch.tensor(x), *args, return_indices=True)
        _close(o[0], t[0])
        np.testing.assert_array_equal(_np(o[1]), t[1].numpy())
    # a window of -inf reports its first position inside the input, as PyTorch's
    x = np.full((1, 1, 3, 3), -np.inf)
    o = F.max_pool2d(ag.tensor(x, device=device), 2, 2, 1, return_indices=True)
    t = torch.nn.functional.max_pool2d(torch.tensor(x), 2, 2, 1, return_indices=True)
    np.testing.assert_array_equal(_np(o[1]), t[1].numpy())


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_adaptive_max_pool_gradient_scatters_at_the_indices(torch, device, nd):
    """Adaptive max pooling picks from the input at its indices (its windows overlap where the sizes
    do not divide): values, indices and the gradient (an element that is the maximum of two windows
    gets both) are PyTorch's, with ties (the first), NaNs (the last) and infinities."""
    rng = _rng(21)
    shape = {1: (2, 3, 11), 2: (2, 3, 10, 9), 3: (1, 2, 7, 6, 5)}[nd]
    x = rng.integers(-2, 3, shape).astype(np.float64)
    flat = x.reshape(-1)
    flat[rng.integers(0, flat.size, 12)] = rng.choice([np.nan, np.inf, -np.inf], 12)
    out = {1: (4,), 2: (4, 5), 3: (3, 4, 2)}[nd]
    g = rng.standard_normal(shape[:2] + out)
    results = []
    for L, dev in ((torch, {}), (ag, {"device": device})):
        t = L.tensor(x, requires_grad=True, **dev)
        y, i = getattr(L.nn.functional, f"adaptive_max_pool{nd}d")(t, out, return_indices=True)
        y.backward(L.tensor(g, **dev))
        results.append([_np(y), _np(i), _np(t.grad)])
    for what, theirs, ours in zip(("values", "indices", "gradient"), *results):
        np.testing.assert_array_equal(ours, theirs, err_msg=what)


def test_all_minus_inf_window_gradient_divergence(torch, device):
    """Known divergence: where a window's maximum is -inf and the window
    reaches into the padding, PyTorch sends the gradient to the reported
    index; ours goes to the window's first -inf, dropped where that is
    padding (here only the last window starts inside the input)."""
    x = np.full((1, 1, 2, 2), -np.inf)
    ox, tx = _pair(torch, x, device)
    F.max_pool2d(ox, 2, 2, 1).sum().backward()
    torch.nn.functional.max_pool2d(tx, 2, 2, 1).sum().backward()
    np.testing.assert_array_equal(tx.grad.numpy().ravel(), [1, 1, 1, 1])
    np.testing.assert_array_equal(_np(ox.grad).ravel(), [0, 0, 0, 1])


@pytest.mark.parametrize("call", [
    lambda L, x, w: FN(L).conv2d(x, w, padding=1), lambda L, x, w: FN(L).max_pool2d(x, 2),
    lambda L, x, w: FN(L).avg_pool2d(x, 2), lambda L, x, w: FN(L).adaptive_avg_pool2d(x, 2),
    lambda L, x, w: FN(L).adaptive_max_pool2d(x, (1, 3)), lambda L, x, w: FN(L).unfold(x, 2)])
def test_empty_batch(torch, device, call):
    x, w = np.zeros((0, 2, 4, 4)), _rng().normal(size=(3, 2, 3, 3))
    (ox, ow), (tx, tw) = zip(_pair(torch, x, device), _pair(torch, w, device))
    o, t = call(ag, ox, ow), call(torch, tx, tw)
    assert tuple(o.shape) == tuple(t.shape)
    o.sum().backward(), t.sum().backward()
    assert tuple(ox.grad.shape) == tuple(x.shape)


@pytest.mark.parametrize("call", [
    lambda L, x, w: FN(L).conv2d(x, w, stride=2), lambda L, x, w: FN(L).max_pool2d(x, 2, 1),
    lambda L, x, w: FN(L).avg_pool2d(x, 3, 2, 1, ceil_mode=True), lambda L, x, w: FN(L).adaptive_avg_pool2d(x, 3),
    lambda L, x, w: FN(L).adaptive_max_pool1d(x[0], 3), lambda L, x, w: FN(L).unfold(x, 2, padding=1)])
def test_float16(torch, device, call):
    x, w = _rng().normal(size=(1, 2, 5, 5)), _rng(1).normal(size=(3, 2, 2, 2))
    (ox, ow), (tx, tw) = zip(_pair(torch, x, device, "float16"), _pair(torch, w, device, "float16"))
    o, t = call(ag, ox, ow), call(torch, tx, tw)
    assert o.dtype == ag.float16
    _close(o, t, rtol=1e-2, atol=1e-2)
    g = _rng(2).normal(size=t.shape)
    o.backward(ag.tensor(g, dtype=ag.float16, device=device)), t.backward(torch.tensor(g, dtype=torch.float16))
    _close(ox.grad, tx.grad, rtol=1e-2, atol=1e-2)


_INT_CALLS = [lambda L, x, w: FN(L).conv2d(x, w, stride=2, padding=1),
              lambda L, x, w: FN(L).max_pool2d(x, 3, 2, 1, ceil_mode=True)]
_INT64_CALLS = [lambda L, x, w: FN(L).avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
                lambda L, x, w: FN(L).avg_pool1d(x[0], 2)]     # (avg_pool: PyTorch's takes int64 only)


@pytest.mark.parametrize("call,dtype", [(c, d) for c in _INT_CALLS for d in ("int64", "int32")]
                         + [(c, "int64") for c in _INT64_CALLS])
def test_integer_inputs(torch, device, call, dtype):
    x, w = _rng().integers(-20, 20, (1, 2, 5, 5)), _rng(1).integers(-3, 3, (3, 2, 2, 2))
    o = call(ag, ag.tensor(x, dtype=dtype, device=device), ag.tensor(w, dtype=dtype, device=device))
    t = call(torch, torch.tensor(x, dtype=getattr(torch, dtype)), torch.tensor(w, dtype=getattr(torch, dtype)))
    assert o.dtype == getattr(ag, dtype)
    np.testing.assert_array_equal(_np(o), t.numpy())


def test_fold_of_unfold_counts_overlaps(torch, device):
    x = _rng().normal(size=(1, 2, 5, 5))
    o = F.fold(F.unfold(ag.tensor(x, device=device), 3, padding=1), (5, 5), 3, padding=1)
    t = torch.nn.functional.fold(torch.nn.functional.unfold(torch.tensor(x), 3, padding=1), (5, 5), 3, padding=1)
    _close(o, t)


# ---- 3-d, transposed convolution, unpooling, LP pooling: edge cases ---------------------

def _unpool_of_pool(L, x, nd, k, s, **kw):
    """max_unpool of max_pool's values at its indices (stride < kernel repeats an index: the same value)."""
    f = FN(L)
    v, i = getattr(f, f"max_pool{nd}d")(x, k, s, return_indices=True)
    return getattr(f, f"max_unpool{nd}d")(v, i, k, s, **kw)


_EMPTY_CALLS = [
    lambda L, x, w: FN(L).conv3d(x, w, padding=1),
    lambda L, x, w: FN(L).conv_transpose3d(x, w.transpose(0, 1), stride=2),
    lambda L, x, w: FN(L).conv_transpose2d(x[:, :, 0], w[:, :, 0].transpose(0, 1), output_padding=1, stride=2),
    lambda L, x, w: FN(L).conv_transpose1d(x[:, :, 0, 0], w[:, :, 0, 0].transpose(0, 1)),
    lambda L, x, w: FN(L).max_pool3d(x, 2), lambda L, x, w: FN(L).avg_pool3d(x, 2),
    lambda L, x, w: FN(L).adaptive_avg_pool3d(x, 2), lambda L, x, w: FN(L).adaptive_max_pool3d(x, (1, 2, 3)),
    lambda L, x, w: FN(L).lp_pool3d(x, 2, 2), lambda L, x, w: FN(L).lp_pool1d(x[:, :, 0, 0], 3, 2),
    lambda L, x, w: FN(L).max_unpool3d(x, L.zeros(x.shape, dtype=L.int64, device=x.device), 2),
    lambda L, x, w: FN(L).max_unpool2d(x[:, :, 0], L.zeros(x[:, :, 0].shape, dtype=L.int64, device=x.device), 2,
                                       output_size=(7, 5))]


@pytest.mark.parametrize("call", _EMPTY_CALLS)
def test_empty_batch_3d_transposed_unpool_lp(torch, device, call):
    x, w = np.zeros((0, 2, 3, 3, 3)), _rng().normal(size=(3, 2, 2, 2, 2))
    (ox, ow), (tx, tw) = zip(_pair(torch, x, device), _pair(torch, w, device))
    o, t = call(ag, ox, ow), call(torch, tx, tw)
    assert tuple(o.shape) == tuple(t.shape)
    o.sum().backward(), t.sum().backward()
    assert tuple(ox.grad.shape) == tuple(x.shape)
    if tw.grad is not None:         # (the weight's gradient: zeros)
        _close(ow.grad, tw.grad)


_HALF_CALLS = [
    lambda L, x, w: FN(L).conv3d(x, w, stride=(1, 2, 1), padding=1),
    lambda L, x, w: FN(L).conv_transpose3d(x, w.transpose(0, 1), stride=2, output_padding=(1, 0, 1)),
    lambda L, x, w: FN(L).conv_transpose2d(x[0], w[:, :, 0], padding=1),
    lambda L, x, w: FN(L).max_pool3d(x, 2, 1, 1), lambda L, x, w: FN(L).adaptive_avg_pool3d(x, (2, 1, 2)),
    lambda L, x, w: FN(L).adaptive_max_pool3d(x, 2), lambda L, x, w: FN(L).lp_pool2d(x[0], 2, 2, 1),
    lambda L, x, w: _unpool_of_pool(L, x[0], 2, 2, 1)]


@pytest.mark.parametrize("call", _HALF_CALLS)
def test_float16_3d_transposed_unpool_lp(torch, device, call):
    x, w = _rng().normal(size=(1, 3, 3, 4, 3)), _rng(1).normal(size=(3, 3, 2, 2, 2)) / 4
    (ox, ow), (tx, tw) = zip(_pair(torch, x, device, "float16"), _pair(torch, w, device, "float16"))
    o, t = call(ag, ox, ow), call(torch, tx, tw)
    assert o.dtype == ag.float16
    _close(o, t, rtol=1e-2, atol=2e-2)
    g = _rng(2).normal(size=t.shape)
    o.backward(ag.tensor(g, dtype=ag.float16, device=device)), t.backward(torch.tensor(g, dtype=torch.float16))
    _close(ox.grad, tx.grad, rtol=1e-2, atol=2e-2)


@pytest.mark.parametrize("call", [lambda L, x: FN(L).avg_pool3d(x, 2, 1, 1, count_include_pad=False),
                                  lambda L, x: FN(L).lp_pool3d(x, 2, 2)])
def test_float16_avg_pool3d_divergence(torch, device, call):
    """Kept divergence: PyTorch's CPU avg_pool3d (and so lp_pool3d) has no
    float16 kernel (its CUDA one has); ours computes in float16 on both
    devices. Compared with PyTorch's float32 result."""
    x = np.abs(_rng().normal(size=(1, 2, 3, 4, 3)))
    with pytest.raises(NotImplementedError):
        call(torch, torch.tensor(x, dtype=torch.float16))
    ox, tx = _pair(torch, x, device, "float16")
    tx32 = tx.detach().float().requires_grad_()
    o, t = call(ag, ox), call(torch, tx32)
    assert o.dtype == ag.float16
    _close(o, t, rtol=1e-2, atol=1e-2)
    o.sum().backward(), t.sum().backward()
    _close(ox.grad, tx32.grad, rtol=1e-2, atol=1e-2)


_INT_CALLS_ND = [
    (lambda L, x, w: FN(L).conv3d(x, w, padding=1), ("int64", "int32")),
    (lambda L, x, w: FN(L).max_pool3d(x, 2, 1, 1), ("int64", "int32")),
    (lambda L, x, w: FN(L).avg_pool3d(x, 2, 1, ceil_mode=True), ("int64",)),    # (PyTorch's: int64 only)
    (lambda L, x, w: FN(L).conv_transpose3d(x, w.transpose(0, 1), stride=2), ("int64",)),
    (lambda L, x, w: FN(L).conv_transpose2d(x[0], w[:, :, 0], stride=(1, 2), padding=1), ("int64",)),
    (lambda L, x, w: FN(L).conv_transpose1d(x[0, :, 0], w[:, :, 0, 0], groups=1), ("int64",)),
    (lambda L, x, w: FN(L).lp_pool2d(x[0], 2, 2), ("int64",))]      # (x^2 stays int64, the root is float32)


@pytest.mark.parametrize("call,dtype", [(c, d) for c, ds in _INT_CALLS_ND for d in ds])
def test_integer_inputs_3d_transposed_lp(torch, device, call, dtype):
    x, w = _rng().integers(-9, 9, (1, 3, 3, 3, 3)), _rng(1).integers(-3, 3, (3, 3, 2, 2, 2))
    o = call(ag, ag.tensor(x, dtype=dtype, device=device), ag.tensor(w, dtype=dtype, device=device))
    t = call(torch, torch.tensor(x, dtype=getattr(torch, dtype)), torch.tensor(w, dtype=getattr(torch, dtype)))
    assert str(o.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    np.testing.assert_allclose(_np(o), t.numpy(), rtol=1e-6)


def test_nan_and_infinities_3d_transposed_unpool(torch, device):
    x = np.arange(48.0).reshape(1, 1, 3, 4, 4)
    x[0, 0, 1, 1, 1], x[0, 0, 2, 3, 0], x[0, 0, 0, 0, 3] = np.nan, -np.inf, np.inf
    for call in (lambda L, x: FN(L).max_pool3d(x, 2, 1, 1, return_indices=True),
                 lambda L, x: FN(L).adaptive_max_pool3d(x, (2, 3, 2), return_indices=True),
                 lambda L, x: FN(L).conv_transpose3d(x, L.ones(1, 2, 2, 1, 2, dtype=x.dtype, device=x.device),
                                                     stride=(1, 2, 1)),
                 lambda L, x: FN(L).conv3d(x, L.ones(2, 1, 2, 1, 2, dtype=x.dtype, device=x.device) - 0.5),
                 lambda L, x: _unpool_of_pool(L, x, 3, 2, 2, output_size=(3, 4, 4))):
        o, t = call(ag, ag.tensor(x, device=device)), call(torch, torch.tensor(x))
        for a, b in zip(o if isinstance(o, tuple) else (o,), t if isinstance(t, tuple) else (t,)):
            _close(a, b)


@pytest.mark.parametrize("call", [lambda L, x: FN(L).max_pool1d(x[0, 0], 5, 2, 1, return_indices=True),
                                  lambda L, x: FN(L).max_pool2d(x[0], (2, 5), return_indices=True),
                                  lambda L, x: FN(L).max_pool3d(x, (2, 2, 5), 1, (1, 0, 2), return_indices=True),
                                  lambda L, x: FN(L).adaptive_max_pool1d(x[0, 0], 2, return_indices=True),
                                  lambda L, x: FN(L).adaptive_max_pool3d(x, 1, return_indices=True)])
def test_max_pool_several_nans_take_the_last(torch, device, call):
    """PyTorch's kernels replace the maximum at every NaN: of several NaNs in a
    window the last is reported, and gets the gradient (ties: the first)."""
    x = np.tile([1.0, np.nan, 2.0, np.nan, 3.0, 3.0], (1, 1, 2, 2, 1))
    ox, tx = _pair(torch, x, device)
    (o, oi), (t, ti) = call(ag, ox), call(torch, tx)
    _close(o, t)
    np.testing.assert_array_equal(_np(oi), ti.numpy())
    o.sum().backward(), t.sum().backward()
    _close(ox.grad, tx.grad)


def test_lp_pool_zero_and_negative_windows(torch, device):
    """A window whose sum of x^p is 0 gives 0 with gradient 0 (not NaN), one
    whose sum is negative (odd p) gives 0 with a NaN gradient: both PyTorch's
    sign * relu(abs) before the root."""
    x = np.array([[[0.0, 0.0, -1.0, 0.5, 2.0, -3.0, 1.0, 1.0]]])
    for p in (2, 3):
        ox, tx = _pair(torch, x, device)
        o, t = F.lp_pool1d(ox, p, 2), torch.nn.functional.lp_pool1d(tx, p, 2)
        _close(o, t)
        o.sum().backward(), t.sum().backward()
        _close(ox.grad, tx.grad)
        np.testing.assert_array_equal(_np(ox.grad)[..., :2], 0)


def test_unpool_of_pool_round_trip(torch, device):
    """max_unpool(max_pool(x)) keeps each window's maximum in place; output_size
    restores an odd size the pool's floor dropped."""
    for shape, kw in (((2, 2, 4, 4), {}), ((2, 2, 5, 5), {"output_size": (5, 5)}),
                      ((1, 2, 5, 4), {"output_size": [1, 2, 5, 4]})):
        ox, tx = _pair(torch, _rng().normal(size=shape), device)
        o, t = _unpool_of_pool(ag, ox, 2, 2, 2, **kw), _unpool_of_pool(torch, tx, 2, 2, 2, **kw)
        _close(o, t)
        g = _rng(1).normal(size=t.shape)
        o.backward(ag.tensor(g, device=device)), t.backward(torch.tensor(g))
        _close(ox.grad, tx.grad)


def test_unpool_repeated_index_gradient(torch, device):
    """Two values sent to one position: each gets that position's gradient,
    as PyTorch's (which value lands is unspecified; on the CPU both libraries
    keep the last)."""
    x, idx = np.array([[[1.0, 2.0, 3.0]]]), np.array([[[1, 1, 3]]])
    ox, tx = _pair(torch, x, device)
    o = F.max_unpool1d(ox, ag.tensor(idx, device=device), 2)
    t = torch.nn.functional.max_unpool1d(tx, torch.tensor(idx), 2)
    if device == "cpu":
        _close(o, t)
    g = np.arange(1.0, 7.0).reshape(1, 1, 6)
    o.backward(ag.tensor(g, device=device)), t.backward(torch.tensor(g))
    _close(ox.grad, tx.grad)


def test_second_order_through_transposed_conv_unpool_lp_matches_pytorch(torch, device):
    """d/dw |d loss / dx|^2 through conv_transpose2d, max_unpool2d and lp_pool2d (create_graph)."""
    x, w, b = _rng().normal(size=(1, 2, 3, 3)), _rng(1).normal(size=(2, 3, 3, 2)), _rng(2).normal(size=3)
    grads = []
    for lib, (xs, ws, bs) in ((ag, [_pair(torch, a, device)[0] for a in (x, w, b)]),
                              (torch, [_pair(torch, a, device)[1] for a in (x, w, b)])):
        f = lib.nn.functional
        y = f.conv_transpose2d(xs, ws, bs, stride=2, padding=1, output_padding=1)
        v, i = f.max_pool2d(y, 2, return_indices=True)
        loss = (f.max_unpool2d(v.tanh(), i, 2, output_size=y.shape[-2:]) * y).sum() + f.lp_pool2d(y, 2, 2).sum()
        (gx,) = lib.autograd.grad(loss, xs, create_graph=True)
        (gx ** 2).sum().backward()
        grads.append((ws.grad, bs.grad))
    for o, t in zip(*grads):
        _close(o, t, rtol=1e-9, atol=1e-10)


# ---- bad input -------------------------------------------------------------------------

BAD = {
    "conv2d 2-D input": lambda M, T: M.functional.conv2d(T.ones(3, 5), T.ones(2, 3, 2, 2)),
    "conv2d channels": lambda M, T: M.functional.conv2d(T.ones(1, 4, 5, 5), T.ones(2, 3, 2, 2)),
    "conv2d weight dims": lambda M, T: M.functional.conv2d(T.ones(1, 3, 5, 5), T.ones(3, 2, 2)),
    "conv2d dtypes": lambda M, T: M.functional.conv2d(T.ones(1, 3, 5, 5, dtype=T.float64), T.ones(2, 3, 2, 2)),
    "conv2d bias dtype": lambda M, T: M.functional.conv2d(T.ones(1, 3, 5, 5), T.ones(2, 3, 2, 2),
                                                          T.ones(2, dtype=T.float64)),
    "conv2d stride 0": lambda M, T: M.functional.conv2d(T.ones(1, 3, 5, 5), T.ones(2, 3, 2, 2), stride=0),
    "conv2d padding -1": lambda M, T: M.functional.conv2d(T.ones(1, 3, 5, 5), T.ones(2, 3, 2, 2), padding=-1),
    "conv2d dilation 0": lambda M, T: M.functional.conv2d(T.ones(1, 3, 5, 5), T.ones(2, 3, 2, 2), dilation=0),
    "conv2d groups 0": lambda M, T: M.functional.conv2d(T.ones(1, 3, 5, 5), T.ones(2, 3, 2, 2), groups=0),
    "conv2d groups weight": lambda M, T: M.functional.conv2d(T.ones(1, 4, 5, 5), T.ones(3, 2, 2, 2), groups=2),
    "conv2d padding string": lambda M, T: M.functional.conv2d(T.ones(1, 3, 5, 5), T.ones(2, 3, 2, 2),
                                                              padding="foo"),
    "conv2d same strided": lambda M, T: M.functional.conv2d(T.ones(1, 3, 5, 5), T.ones(2, 3, 2, 2), stride=2,
                                                            padding="same"),
    "conv2d kernel too large": lambda M, T: M.functional.conv2d(T.ones(1, 3, 2, 5), T.ones(2, 3, 3, 3)),
    "conv2d bias size": lambda M, T: M.functional.conv2d(T.ones(1, 3, 5, 5), T.ones(2, 3, 2, 2), T.ones(3)),
    "conv2d bool": lambda M, T: M.functional.conv2d(T.ones(1, 3, 5, 5, dtype=T.bool),
                                                    T.ones(2, 3, 2, 2, dtype=T.bool)),
    "avg_pool2d int32": lambda M, T: M.functional.avg_pool2d(T.ones(1, 5, 5, dtype=T.int32), 2),
    "max_pool1d int64": lambda M, T: M.functional.max_pool1d(T.ones(1, 5, dtype=T.int64), 2),
    "adaptive_avg_pool2d int64": lambda M, T: M.functional.adaptive_avg_pool2d(T.ones(1, 5, 5, dtype=T.int64), 2),
    "adaptive_max_pool1d int64": lambda M, T: M.functional.adaptive_max_pool1d(T.ones(1, 5, dtype=T.int64), 2),
    "unfold int64": lambda M, T: M.functional.unfold(T.ones(1, 1, 5, 5, dtype=T.int64), 2),
    "conv2d stride length": lambda M, T: M.functional.conv2d(T.ones(1, 3, 5, 5), T.ones(2, 3, 2, 2),
                                                             stride=(1, 2, 3)),
    "conv2d stride type": lambda M, T: M.functional.conv2d(T.ones(1, 3, 5, 5), T.ones(2, 3, 2, 2), stride="a"),
    "conv1d 4-D input": lambda M, T: M.functional.conv1d(T.ones(1, 3, 5, 5), T.ones(2, 3, 2)),
    "conv1d input type": lambda M, T: M.functional.conv1d([1.0], T.ones(2, 3, 2)),
    "max_pool2d padding": lambda M, T: M.functional.max_pool2d(T.ones(1, 1, 5, 5), 3, padding=2),
    "max_pool2d too small": lambda M, T: M.functional.max_pool2d(T.ones(1, 1, 2, 2), 3),
    "max_pool2d 2-D": lambda M, T: M.functional.max_pool2d(T.ones(5, 5), 2),
    "max_pool2d kernel 0": lambda M, T: M.functional.max_pool2d(T.ones(1, 5, 5), 0),
    "max_pool2d stride 0": lambda M, T: M.functional.max_pool2d(T.ones(1, 5, 5), 2, 0),
    "max_pool2d negative padding": lambda M, T: M.functional.max_pool2d(T.ones(1, 5, 5), 2, 1, -1),
    "max_pool1d 4-D": lambda M, T: M.functional.max_pool1d(T.ones(1, 1, 5, 5), 2),
    "max_pool1d dilation 0": lambda M, T: M.functional.max_pool1d(T.ones(1, 5), 2, dilation=0),
    "avg_pool2d padding": lambda M, T: M.functional.avg_pool2d(T.ones(1, 1, 5, 5), 3, padding=2),
    "avg_pool2d divisor 0": lambda M, T: M.functional.avg_pool2d(T.ones(1, 1, 5, 5), 2, divisor_override=0),
    "avg_pool1d too small": lambda M, T: M.functional.avg_pool1d(T.ones(1, 2), 3),
    "avg_pool2d empty": lambda M, T: M.functional.avg_pool2d(T.ones(1, 0, 5, 5), 2),
    "adaptive_avg_pool2d negative": lambda M, T: M.functional.adaptive_avg_pool2d(T.ones(1, 5, 5), (-1, 2)),
    "adaptive_avg_pool2d empty": lambda M, T: M.functional.adaptive_avg_pool2d(T.ones(1, 0, 5), 2),
    "adaptive_max_pool1d 4-D": lambda M, T: M.functional.adaptive_max_pool1d(T.ones(1, 1, 5, 5), 2),
    "adaptive_max_pool2d empty": lambda M, T: M.functional.adaptive_max_pool2d(T.ones(1, 2, 0), 2),
    "unfold 2-D": lambda M, T: M.functional.unfold(T.ones(5, 5), 2),
    "unfold too large": lambda M, T: M.functional.unfold(T.ones(1, 1, 2, 2), 3),
    "unfold stride 0": lambda M, T: M.functional.unfold(T.ones(1, 1, 4, 4), 2, stride=0),
    "fold blocks": lambda M, T: M.functional.fold(T.ones(1, 4, 8), (4, 4), 2),
    "fold channels": lambda M, T: M.functional.fold(T.ones(1, 5, 9), (4, 4), 2),
    "fold 4-D": lambda M, T: M.functional.fold(T.ones(1, 1, 4, 9), (4, 4), 2),
    "Conv2d groups": lambda M, T: M.Conv2d(3, 4, 3, groups=2),
    "Conv2d groups 0": lambda M, T: M.Conv2d(3, 4, 3, groups=0),
    "Conv2d padding string": lambda M, T: M.Conv2d(3, 4, 3, padding="foo"),
    "Conv2d same strided": lambda M, T: M.Conv2d(3, 4, 3, stride=2, padding="same"),
    "Conv2d padding_mode": lambda M, T: M.Conv2d(3, 4, 3, padding_mode="foo"),
    "Conv1d channels": lambda M, T: M.Conv1d(3, 4, 3)(T.ones(2, 4, 5)),
    "MaxPool2d too small": lambda M, T: M.MaxPool2d(3)(T.ones(1, 2, 2)),
    "AvgPool1d padding": lambda M, T: M.AvgPool1d(2, padding=2)(T.ones(1, 5)),
    # 3-d convolution and pooling
    "conv3d channels": lambda M, T: M.functional.conv3d(T.ones(1, 3, 3, 3, 3), T.ones(2, 2, 2, 2, 2)),
    "conv3d 3-D input": lambda M, T: M.functional.conv3d(T.ones(3, 3, 3), T.ones(2, 3, 2, 2, 2)),
    "conv3d kernel too large": lambda M, T: M.functional.conv3d(T.ones(1, 2, 1, 3, 3), T.ones(2, 2, 2, 2, 2)),
    "conv3d bool": lambda M, T: M.functional.conv3d(T.ones(1, 2, 3, 3, 3, dtype=T.bool),
                                                    T.ones(2, 2, 2, 2, 2, dtype=T.bool)),
    "max_pool3d 3-D input": lambda M, T: M.functional.max_pool3d(T.ones(3, 3, 3), 2),
    "max_pool3d padding": lambda M, T: M.functional.max_pool3d(T.ones(1, 4, 4, 4), 2, padding=2),
    "max_pool3d too small": lambda M, T: M.functional.max_pool3d(T.ones(1, 1, 4, 4), 2),
    "avg_pool3d int32": lambda M, T: M.functional.avg_pool3d(T.ones(1, 3, 3, 3, dtype=T.int32), 2),
    "avg_pool3d divisor 0": lambda M, T: M.functional.avg_pool3d(T.ones(1, 3, 3, 3), 2, divisor_override=0),
    "avg_pool3d padding": lambda M, T: M.functional.avg_pool3d(T.ones(1, 4, 4, 4), 3, padding=2),
    "adaptive_avg_pool3d int64": lambda M, T: M.functional.adaptive_avg_pool3d(T.ones(1, 3, 3, 3, dtype=T.int64), 2),
    "adaptive_avg_pool3d negative": lambda M, T: M.functional.adaptive_avg_pool3d(T.ones(1, 3, 3, 3), (2, -1, 2)),
    "adaptive_max_pool3d int64": lambda M, T: M.functional.adaptive_max_pool3d(T.ones(1, 3, 3, 3, dtype=T.int64), 2),
    "adaptive_max_pool3d 3-D input": lambda M, T: M.functional.adaptive_max_pool3d(T.ones(1, 3, 3), 2),
    "adaptive_max_pool3d empty": lambda M, T: M.functional.adaptive_max_pool3d(T.ones(1, 3, 0, 3), 2),
    # transposed convolution
    "conv_transpose2d output_padding": lambda M, T: M.functional.conv_transpose2d(
        T.ones(1, 2, 3, 3), T.ones(2, 3, 2, 2), stride=2, output_padding=2),
    "conv_transpose2d output_padding stride 1": lambda M, T: M.functional.conv_transpose2d(
        T.ones(1, 2, 3, 3), T.ones(2, 3, 2, 2), output_padding=(0, 1)),
    "conv_transpose2d output_padding negative": lambda M, T: M.functional.conv_transpose2d(
        T.ones(1, 2, 3, 3), T.ones(2, 3, 2, 2), stride=2, output_padding=-1),
    "conv_transpose2d output_padding length": lambda M, T: M.functional.conv_transpose2d(
        T.ones(1, 2, 3, 3), T.ones(2, 3, 2, 2), stride=2, output_padding=(1, 1, 1)),
    "conv_transpose2d output_padding float": lambda M, T: M.functional.conv_transpose2d(
        T.ones(1, 2, 3, 3), T.ones(2, 3, 2, 2), stride=2, output_padding=1.0),
    "conv_transpose2d weight dims": lambda M, T: M.functional.conv_transpose2d(T.ones(1, 2, 3, 3), T.ones(2, 3, 2)),
    "conv_transpose2d channels": lambda M, T: M.functional.conv_transpose2d(T.ones(1, 3, 3, 3), T.ones(2, 3, 2, 2)),
    "conv_transpose2d groups weight": lambda M, T: M.functional.conv_transpose2d(T.ones(1, 3, 3, 3),
                                                                                  T.ones(3, 3, 2, 2), groups=2),
    "conv_transpose2d bias size": lambda M, T: M.functional.conv_transpose2d(T.ones(1, 4, 3, 3), T.ones(4, 3, 2, 2),
                                                                              T.ones(3), groups=2),
    "conv_transpose2d output too small": lambda M, T: M.functional.conv_transpose2d(T.ones(1, 2, 1, 1),
                                                                                     T.ones(2, 3, 2, 2), padding=1),
    "conv_transpose2d padding negative": lambda M, T: M.functional.conv_transpose2d(T.ones(1, 2, 3, 3),
                                                                                     T.ones(2, 3, 2, 2), padding=-1),
    "conv_transpose2d padding string": lambda M, T: M.functional.conv_transpose2d(T.ones(1, 2, 3, 3),
                                                                                   T.ones(2, 3, 2, 2), padding="same"),
    "conv_transpose2d stride 0": lambda M, T: M.functional.conv_transpose2d(T.ones(1, 2, 3, 3), T.ones(2, 3, 2, 2),
                                                                             stride=0),
    "conv_transpose2d dilation 0": lambda M, T: M.functional.conv_transpose2d(T.ones(1, 2, 3, 3), T.ones(2, 3, 2, 2),
                                                                               dilation=0),
    "conv_transpose2d groups 0": lambda M, T: M.functional.conv_transpose2d(T.ones(1, 2, 3, 3), T.ones(2, 3, 2, 2),
                                                                             groups=0),
    "conv_transpose2d 2-D input": lambda M, T: M.functional.conv_transpose2d(T.ones(2, 3), T.ones(2, 3, 2, 2)),
    "conv_transpose2d dtypes": lambda M, T: M.functional.conv_transpose2d(T.ones(1, 2, 3, 3, dtype=T.float64),
                                                                           T.ones(2, 3, 2, 2)),
    "conv_transpose2d int32": lambda M, T: M.functional.conv_transpose2d(T.ones(1, 2, 3, 3, dtype=T.int32),
                                                                          T.ones(2, 3, 2, 2, dtype=T.int32)),
    "conv_transpose2d bool": lambda M, T: M.functional.conv_transpose2d(T.ones(1, 2, 3, 3, dtype=T.bool),
                                                                         T.ones(2, 3, 2, 2, dtype=T.bool)),
    "conv_transpose2d zero spatial": lambda M, T: M.functional.conv_transpose2d(T.ones(1, 2, 0, 3),
                                                                                 T.ones(2, 3, 2, 2)),
    "conv_transpose2d empty weight": lambda M, T: M.functional.conv_transpose2d(T.ones(1, 2, 3, 3),
                                                                                 T.ones(2, 0, 2, 2)),
    "conv_transpose2d weight list": lambda M, T: M.functional.conv_transpose2d(T.ones(1, 2, 3, 3), [1.0]),
    "conv_transpose1d 4-D input": lambda M, T: M.functional.conv_transpose1d(T.ones(1, 2, 3, 3), T.ones(2, 3, 2)),
    "conv_transpose1d output_padding": lambda M, T: M.functional.conv_transpose1d(T.ones(1, 2, 3), T.ones(2, 3, 2),
                                                                                   stride=2, dilation=2,
                                                                                   output_padding=2),
    "conv_transpose3d channels": lambda M, T: M.functional.conv_transpose3d(T.ones(1, 3, 2, 2, 2),
                                                                             T.ones(2, 3, 2, 2, 2)),
    "conv_transpose3d int32": lambda M, T: M.functional.conv_transpose3d(T.ones(1, 2, 2, 2, 2, dtype=T.int32),
                                                                          T.ones(2, 3, 2, 2, 2, dtype=T.int32)),
    # max unpooling
    "max_unpool2d indices shape": lambda M, T: M.functional.max_unpool2d(T.ones(1, 1, 2, 2),
                                                                          T.zeros(1, 1, 2, 1, dtype=T.int64), 2),
    "max_unpool2d indices int32": lambda M, T: M.functional.max_unpool2d(T.ones(1, 1, 2, 2),
                                                                          T.zeros(1, 1, 2, 2, dtype=T.int32), 2),
    "max_unpool2d indices float": lambda M, T: M.functional.max_unpool2d(T.ones(1, 1, 2, 2), T.zeros(1, 1, 2, 2), 2),
    "max_unpool2d index too large": lambda M, T: M.functional.max_unpool2d(
        T.ones(1, 1, 2, 2), T.full((1, 1, 2, 2), 16, dtype=T.int64), 2),
    "max_unpool2d index negative": lambda M, T: M.functional.max_unpool2d(
        T.ones(1, 1, 2, 2), T.full((1, 1, 2, 2), -1, dtype=T.int64), 2),
    "max_unpool2d 2-D input": lambda M, T: M.functional.max_unpool2d(T.ones(2, 2), T.zeros(2, 2, dtype=T.int64), 2),
    "max_unpool2d int64 input": lambda M, T: M.functional.max_unpool2d(T.ones(1, 2, 2, dtype=T.int64),
                                                                        T.zeros(1, 2, 2, dtype=T.int64), 2),
    "max_unpool2d output_size range": lambda M, T: M.functional.max_unpool2d(
        T.ones(1, 2, 2), T.zeros(1, 2, 2, dtype=T.int64), 2, output_size=(6, 4)),
    "max_unpool2d output_size length": lambda M, T: M.functional.max_unpool2d(
        T.ones(1, 2, 2), T.zeros(1, 2, 2, dtype=T.int64), 2, output_size=(4,)),
    "max_unpool2d empty channels": lambda M, T: M.functional.max_unpool2d(T.ones(1, 0, 2, 2),
                                                                           T.zeros(1, 0, 2, 2, dtype=T.int64), 2),
    "max_unpool2d indices list": lambda M, T: M.functional.max_unpool2d(T.ones(1, 2, 2), [0], 2),
    "max_unpool1d 4-D input": lambda M, T: M.functional.max_unpool1d(T.ones(1, 1, 1, 2),
                                                                      T.zeros(1, 1, 1, 2, dtype=T.int64), 2),
    "max_unpool1d index too large": lambda M, T: M.functional.max_unpool1d(
        T.ones(1, 2), T.full((1, 2), 4, dtype=T.int64), 2),
    "max_unpool3d 3-D input": lambda M, T: M.functional.max_unpool3d(T.ones(2, 2, 2), T.zeros(2, 2, 2, dtype=T.int64),
                                                                      2),
    "max_unpool3d index too large": lambda M, T: M.functional.max_unpool3d(
        T.ones(1, 1, 1, 2), T.full((1, 1, 1, 2), 16, dtype=T.int64), 2),
    # power-average pooling
    "lp_pool1d tuple kernel": lambda M, T: M.functional.lp_pool1d(T.ones(1, 2, 5), 2, (2,)),
    "lp_pool2d norm string": lambda M, T: M.functional.lp_pool2d(T.ones(1, 4, 4), "a", 2),
    "lp_pool2d 2-D input": lambda M, T: M.functional.lp_pool2d(T.ones(4, 4), 2, 2),
    "avg_pool2d 2-D input": lambda M, T: M.functional.avg_pool2d(T.ones(4, 4), 2),
    "lp_pool2d int32": lambda M, T: M.functional.lp_pool2d(T.ones(1, 4, 4, dtype=T.int32), 2, 2),
    "lp_pool3d 3-D input": lambda M, T: M.functional.lp_pool3d(T.ones(3, 3, 3), 2, 2),
    "lp_pool2d too small": lambda M, T: M.functional.lp_pool2d(T.ones(1, 1, 4), 2, 2),
    # modules
    "ConvTranspose2d padding_mode": lambda M, T: M.ConvTranspose2d(2, 4, 3, padding_mode="reflect"),
    "ConvTranspose2d groups": lambda M, T: M.ConvTranspose2d(3, 4, 3, groups=2),
    "ConvTranspose2d output_size": lambda M, T: M.ConvTranspose2d(2, 4, 3, stride=2)(T.ones(1, 2, 3, 3),
                                                                                     output_size=(9, 8)),
    "ConvTranspose2d output_size length": lambda M, T: M.ConvTranspose2d(2, 4, 3, stride=2)(T.ones(1, 2, 3, 3),
                                                                                            output_size=(8,)),
    "ConvTranspose1d channels": lambda M, T: M.ConvTranspose1d(2, 4, 3)(T.ones(1, 3, 5)),
    "Conv3d channels": lambda M, T: M.Conv3d(2, 4, 3)(T.ones(1, 3, 5, 5, 5)),
    "MaxUnpool2d indices": lambda M, T: M.MaxUnpool2d(2)(T.ones(1, 2, 2), T.zeros(1, 2, 2, dtype=T.int32)),
}


def _raised(fn):
    try:
        fn()
    except Exception as e:          # noqa: BLE001 - the exception type is what is compared
        return e
    return None


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_raises_like_pytorch(torch, name):
    ours, theirs = _raised(lambda: BAD[name](nn, ag)), _raised(lambda: BAD[name](torch.nn, torch))
    assert theirs is not None and type(ours) is type(theirs), f"{name}: ours {ours!r}, PyTorch's {theirs!r}"
    who = name.split()[0]
    if who[0].islower():            # (a module's constructor speaks of its arguments, as PyTorch's)
        assert who + "()" in str(ours), str(ours)


def test_failed_module_call_changes_nothing(device):
    conv = nn.Conv2d(3, 4, 3).to(device)
    before = {k: _np(v).copy() for k, v in conv.state_dict().items()}
    x = ag.ones(1, 5, 6, 6, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="conv2d"):
        conv(x)
    assert x.grad is None and x._version == 0
    for k, v in conv.state_dict().items():
        np.testing.assert_array_equal(_np(v), before[k])


@pytest.mark.parametrize("call", [lambda M, T: M.functional.lp_pool2d(T.ones(1, 4, 4), 0, 2),
                                  lambda M, T: M.functional.lp_pool1d(T.ones(1, 4), 0.0, 2),
                                  lambda M, T: M.LPPool3d(0, 2)(T.ones(1, 2, 2, 2))])
def test_lp_pool_norm_zero_divergence(torch, call):
    """Kept divergence: norm_type 0 is a ValueError naming the function (the
    contract's bad value); PyTorch's 1.0 / norm_type raises ZeroDivisionError."""
    with pytest.raises(ZeroDivisionError):
        call(torch.nn, torch)
    with pytest.raises(ValueError, match="lp_pool"):
        call(nn, ag)


def test_conv_transpose_padding_string_divergence(torch):
    """Kept divergence: a string padding makes PyTorch's ConvTranspose2d
    padding ('s', 'a', 'm', 'e'), a module whose forward raises TypeError;
    ours raises the TypeError in the constructor."""
    theirs = torch.nn.ConvTranspose2d(2, 4, 3, padding="same")
    with pytest.raises(TypeError):
        theirs(torch.ones(1, 2, 3, 3))
    with pytest.raises(TypeError, match="ConvTranspose2d"):
        nn.ConvTranspose2d(2, 4, 3, padding="same")


@pytest.mark.parametrize("call", [
    lambda x, i, m: m(x, output_size=(20, 20)), lambda x, i, m: F.conv_transpose2d(x, m.weight, output_padding=1),
    lambda x, i, m: F.max_unpool2d(x, i + 100, 2), lambda x, i, m: F.max_unpool2d(x, i[..., :1], 2),
    lambda x, i, m: F.lp_pool2d(x, 0, 2)])
def test_failed_transposed_unpool_lp_call_changes_nothing(device, call):
    m = nn.ConvTranspose2d(2, 3, 3, stride=2).to(device)
    before = {k: _np(v).copy() for k, v in m.state_dict().items()}
    x = ag.ones(1, 2, 3, 3, device=device, requires_grad=True)
    i = ag.zeros(1, 2, 3, 3, dtype=ag.int64, device=device)
    with pytest.raises((RuntimeError, ValueError)):
        call(x, i, m)
    assert x.grad is None and x._version == 0 and i._version == 0 and np.all(_np(i) == 0)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(_np(v), before[k])
    assert all(p.grad is None for p in m.parameters())


def test_device_mismatch(device):
    if device == "cpu":
        return                      # (the cuda run checks cpu against cuda)
    for x, w in ((ag.ones(1, 3, 4, 4), ag.ones(2, 3, 2, 2, device=device)),
                 (ag.ones(1, 3, 4, 4, device=device), ag.ones(2, 3, 2, 2))):
        with pytest.raises(RuntimeError, match="conv2d"):
            F.conv2d(x, w)


# ---- modules ---------------------------------------------------------------------------

REPRS = [lambda M: M.Conv2d(3, 8, 3), lambda M: M.Conv2d(4, 8, (3, 2), stride=2, padding=1, dilation=2, groups=2,
                                                        bias=False),
         lambda M: M.Conv2d(2, 2, 2, padding="same", padding_mode="reflect"), lambda M: M.Conv1d(3, 6, 3),
         lambda M: M.Conv1d(2, 4, 5, padding="valid", padding_mode="circular"),
         lambda M: M.MaxPool2d(2), lambda M: M.MaxPool2d((3, 2), 1, 1, 2, True, True), lambda M: M.MaxPool1d(3),
         lambda M: M.AvgPool2d(3, 1, 1, True, False, 2), lambda M: M.AvgPool1d(3, 2, 1),
         lambda M: M.AdaptiveAvgPool2d((2, None)), lambda M: M.AdaptiveAvgPool1d(3),
         lambda M: M.AdaptiveMaxPool2d(3, True), lambda M: M.AdaptiveMaxPool1d(2),
         lambda M: M.Conv3d(2, 4, (1, 2, 3), stride=(1, 2, 1), padding=1, dilation=2, groups=2, bias=False),
         lambda M: M.Conv3d(2, 2, 2, padding="same", padding_mode="replicate"), lambda M: M.ConvTranspose1d(2, 3, 2),
         lambda M: M.ConvTranspose2d(2, 4, 3, stride=2, output_padding=1, groups=2, bias=False),
         lambda M: M.ConvTranspose3d(2, 3, (1, 2, 3), dilation=2, padding=(0, 1, 0)),
         lambda M: M.MaxPool3d(2), lambda M: M.MaxPool3d((3, 2, 2), 1, 1, 2, True, True),
         lambda M: M.AvgPool3d(2, 1, 1, True, False, 3), lambda M: M.AdaptiveAvgPool3d((2, None, 3)),
         lambda M: M.AdaptiveMaxPool3d(2, True), lambda M: M.MaxUnpool1d(3, 2, 1), lambda M: M.MaxUnpool2d(2),
         lambda M: M.MaxUnpool3d((2, 1, 2), 1, 0), lambda M: M.LPPool1d(1.5, 2, 1, True), lambda M: M.LPPool2d(2, 3),
         lambda M: M.LPPool3d(3, (2, 1, 2), 2), lambda M: M.Fold((4, 5), 2),
         lambda M: M.Fold(4, (2, 3), dilation=2, padding=1, stride=2), lambda M: M.Unfold(2, padding=1)]


@pytest.mark.parametrize("make", REPRS)
def test_reprs_match_pytorch(torch, make):
    assert repr(make(nn)) == repr(make(torch.nn))


@pytest.mark.parametrize("make,shape", [
    (lambda M: M.Conv2d(4, 6, (3, 2), stride=2, padding=1, dilation=2, groups=2), (2, 4, 7, 6)),
    (lambda M: M.Conv2d(2, 3, 3, padding="same", padding_mode="replicate"), (2, 2, 5, 5)),
    (lambda M: M.Conv2d(2, 3, 2, padding=1, padding_mode="circular", bias=False), (2, 4, 4)),
    (lambda M: M.Conv1d(3, 6, 3, padding=2, padding_mode="reflect", groups=3), (2, 3, 7)),
    (lambda M: M.Conv1d(3, 2, 4, padding="same"), (3, 6)),
    (lambda M: M.Conv3d(4, 2, (2, 1, 2), stride=(1, 2, 1), padding=1, dilation=(2, 1, 1), groups=2), (1, 4, 4, 3, 3)),
    (lambda M: M.Conv3d(2, 2, 2, padding="same", padding_mode="replicate"), (2, 3, 2, 3)),
    (lambda M: M.Conv3d(2, 2, 2, padding=1, padding_mode="circular", bias=False), (1, 2, 2, 3, 2)),
    (lambda M: M.ConvTranspose1d(3, 6, 3, stride=2, padding=1, output_padding=1, groups=3), (2, 3, 4)),
    (lambda M: M.ConvTranspose2d(4, 2, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2),
     (1, 4, 3, 3)),
    (lambda M: M.ConvTranspose2d(2, 3, 2, bias=False), (2, 3, 3)),
    (lambda M: M.ConvTranspose3d(2, 2, 2, stride=2, output_padding=(1, 0, 0)), (1, 2, 2, 2, 2))])
def test_conv_modules_match_pytorch(torch, device, make, shape):
    theirs, ours = make(torch.nn).double(), make(nn)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(OrderedDict((k, ag.tensor(v.detach().numpy().copy())) for k, v in
                                     theirs.state_dict().items()))
    ours.to(device).double()
    assert all(p.device == ag.device(device) and p.dtype == ag.float64 for p in ours.parameters())
    ox, tx = _pair(torch, _rng().normal(size=shape), device)
    o, t = ours(ox), theirs(tx)
    _close(o, t)
    g = _rng(1).normal(size=t.shape)
    o.backward(ag.tensor(g, device=device)), t.backward(torch.tensor(g))
    _close(ox.grad, tx.grad)
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        _close(p.grad, q.grad)


@pytest.mark.parametrize("cls,args", [("Conv2d", (4, 6, (3, 2))), ("Conv1d", (6, 4, 5))])
def test_conv_init_bounds(cls, args):
    ag.manual_seed(0)
    m = getattr(nn, cls)(*args, groups=2)
    bound = 1 / np.sqrt(args[0] // 2 * np.prod(args[2]))      # kaiming_uniform(a=sqrt(5)) and the bias's
    for p in (m.weight, m.bias):
        v = _np(p)
        assert np.all(np.abs(v) <= bound) and np.abs(v).max() > 0.5 * bound
    assert tuple(m.weight.shape) == (args[1], args[0] // 2) + tuple(np.broadcast_to(args[2], int(cls[-2])))


@pytest.mark.parametrize("make,shape,size", [
    (lambda M: M.ConvTranspose2d(2, 3, 3, stride=2, padding=1), (1, 2, 3, 4), (6, 8)),
    (lambda M: M.ConvTranspose2d(2, 3, 3, stride=(3, 2)), (2, 3, 4), [3, 9, 9]),    # unbatched: C, H, W
    (lambda M: M.ConvTranspose1d(2, 2, 2, stride=3, dilation=2), (1, 2, 3), (1, 2, 11)),
    (lambda M: M.ConvTranspose3d(2, 2, 2, stride=2, groups=2), (1, 2, 2, 1, 2), (5, 3, 4))])
def test_conv_transpose_output_size_and_state_dict_to_pytorch(torch, device, make, shape, size):
    """Our state dict loads into PyTorch's module; forward(output_size=) picks
    the same output_padding; values and every gradient agree."""
    ours, theirs = make(nn), make(torch.nn).double()
    theirs.load_state_dict(OrderedDict((k, torch.tensor(_np(v).astype(np.float64))) for k, v in
                                       ours.state_dict().items()))
    ours.to(device).double()
    ox, tx = _pair(torch, _rng().normal(size=shape), device)
    o, t = ours(ox, output_size=size), theirs(tx, output_size=size)
    _close(o, t)
    g = _rng(1).normal(size=t.shape)
    o.backward(ag.tensor(g, device=device)), t.backward(torch.tensor(g))
    _close(ox.grad, tx.grad)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        _close(p.grad, q.grad)


@pytest.mark.parametrize("cls,args,kw", [("ConvTranspose2d", (4, 6, (3, 2)), {"groups": 2}),
                                         ("ConvTranspose1d", (2, 3, 4), {}), ("ConvTranspose3d", (2, 4, 2), {}),
                                         ("Conv3d", (4, 2, (1, 2, 3)), {"groups": 2})])
def test_conv_transpose_and_3d_weight_layout_and_init(torch, cls, args, kw):
    """Weight (in, out / groups, *k) for the transposed convs, as PyTorch's;
    weight and bias U(-b, b) with b = 1 / sqrt(weight.shape[1] * prod(k))."""
    ag.manual_seed(0)
    ours, theirs = getattr(nn, cls)(*args, **kw), getattr(torch.nn, cls)(*args, **kw)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    bound = 1 / math.sqrt(math.prod(theirs.weight.shape[1:]))
    for p in (ours.weight, ours.bias):
        v = _np(p)
        assert np.all(np.abs(v) <= bound) and np.abs(v).max() > 0.5 * bound


@pytest.mark.parametrize("make,shape", [
    (lambda M: M.MaxPool3d(2, 1, 1, ceil_mode=True, return_indices=True), (1, 2, 3, 3, 3)),
    (lambda M: M.AvgPool3d(2, 1, 1, True, False), (2, 3, 3, 2)), (lambda M: M.AvgPool3d(2, divisor_override=3),
                                                                 (1, 1, 2, 4, 4)),
    (lambda M: M.AdaptiveAvgPool3d((2, None, 1)), (1, 2, 3, 2, 3)),
    (lambda M: M.AdaptiveMaxPool3d(2, return_indices=True), (2, 3, 3, 3)),
    (lambda M: M.LPPool1d(2, 3, 2, True), (2, 7)), (lambda M: M.LPPool2d(2, (2, 3)), (1, 2, 4, 6)),
    (lambda M: M.LPPool3d(1, 2), (1, 2, 2, 4)), (lambda M: M.Fold((4, 5), 2), (1, 8, 12)),
    (lambda M: M.Unfold(2, padding=1), (1, 2, 3, 3)),
    (lambda M: M.MaxPool2d(3, 2, 1, ceil_mode=True, return_indices=True), (2, 3, 6, 7)),
    (lambda M: M.MaxPool1d(2, dilation=2), (3, 7)), (lambda M: M.AvgPool2d(3, 2, 1, True, False), (2, 5, 6)),
    (lambda M: M.AvgPool2d(2, divisor_override=3), (1, 2, 4, 4)), (lambda M: M.AvgPool1d(3, 1, 1), (2, 2, 5)),
    (lambda M: M.AdaptiveAvgPool2d((2, None)), (2, 5, 3)), (lambda M: M.AdaptiveAvgPool1d(3), (2, 7)),
    (lambda M: M.AdaptiveMaxPool2d(3, return_indices=True), (1, 2, 7, 5)),
    (lambda M: M.AdaptiveMaxPool1d(2), (2, 5))])
def test_pool_modules_match_pytorch(torch, device, make, shape):
    ours, theirs = make(nn), make(torch.nn)
    assert list(ours.parameters()) == [] and list(ours.state_dict()) == []
    ox, tx = _pair(torch, _rng().normal(size=shape), device)
    o, t = ours.to(device)(ox), theirs(tx)
    if isinstance(t, tuple):
        np.testing.assert_array_equal(_np(o[1]), t[1].numpy())
        o, t = o[0], t[0]
    _close(o, t)
    o.sum().backward(), t.sum().backward()
    _close(ox.grad, tx.grad)


@pytest.mark.parametrize("nd,shape,size", [(1, (2, 3, 7), None), (2, (1, 2, 5, 5), (5, 5)),
                                           (3, (1, 1, 4, 2, 5), (1, 1, 4, 2, 5))])
def test_max_unpool_modules_match_pytorch(torch, device, nd, shape, size):
    pool, unpool = f"MaxPool{nd}d", f"MaxUnpool{nd}d"
    ox, tx = _pair(torch, _rng().normal(size=shape), device)
    outs = []
    for lib, x in ((nn, ox), (torch.nn, tx)):
        v, i = getattr(lib, pool)(2, return_indices=True)(x)
        m = getattr(lib, unpool)(2)
        assert list(m.parameters()) == [] and list(m.state_dict()) == []
        outs.append(m(v, i, output_size=size) if size else m(v, i))
    _close(*outs)
    outs[0].sum().backward(), outs[1].sum().backward()
    _close(ox.grad, tx.grad)


def test_exports_and_signatures_match_pytorch(torch):
    """Every module of conv.py / pooling.py is ag.nn's, with PyTorch's
    constructor and forward arguments; every F name of functional_conv.py is
    F's, with PyTorch's arguments where PyTorch's has a Python signature."""
    from autograd_gpu.nn import conv, functional_conv, pooling

    def params(f):
        return [(p.name, p.default) for p in inspect.signature(f).parameters.values()]
    for name in conv.__all__ + pooling.__all__:
        assert name in nn.__all__ and getattr(nn, name) is getattr(conv if name in conv.__all__ else pooling, name)
        for part in (lambda c: c, lambda c: c.forward):
            assert params(part(getattr(nn, name))) == params(part(getattr(torch.nn, name))), name
    for name in functional_conv.__all__:
        assert getattr(F, name) is getattr(functional_conv, name)
        try:
            theirs = params(getattr(torch.nn.functional, name))
        except ValueError:
            continue                                    # a builtin: no signature to read
        if [n for n, _ in theirs] != ["args", "kwargs"]:     # (not a boolean_dispatch wrapper)
            assert params(getattr(F, name)) == theirs, name


def test_small_cnn_trains_like_pytorch(torch, device):
    """conv, relu, max pool, conv, avg pool, linear: five SGD steps side by side."""
    def net(M):
        return M.Sequential(M.Conv2d(1, 4, 3, padding=1), M.ReLU(), M.MaxPool2d(2), M.Conv2d(4, 6, 3, stride=1),
                            M.ReLU(), M.AdaptiveAvgPool2d(2), M.Flatten(), M.Linear(24, 3))
    theirs, ours = net(torch.nn), net(nn)
    ours.load_state_dict(OrderedDict((k, ag.tensor(v.detach().numpy().copy())) for k, v in
                                     theirs.state_dict().items()))
    ours.to(device)
    opt_o = ag.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    rng = _rng(3)
    for step in range(5):
        x, y = rng.normal(size=(8, 1, 8, 8)).astype(np.float32), rng.integers(0, 3, 8)
        lo = nn.CrossEntropyLoss()(ours(ag.tensor(x, device=device)), ag.tensor(y, device=device))
        lt = torch.nn.CrossEntropyLoss()(theirs(torch.tensor(x)), torch.tensor(y))
        np.testing.assert_allclose(lo.item(), lt.item(), rtol=1e-4, atol=1e-5)
        for opt, loss in ((opt_o, lo), (opt_t, lt)):
            opt.zero_grad()
            loss.backward()
            opt.step()
    for (k, p), (_, q) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        _close(p, q, rtol=1e-4, atol=1e-5)


def test_grad_fn_names_are_pytorchs(torch):
    """Convolution, pooling and unfold results come out of one node named as
    PyTorch's (composed inside)."""
    def both(fn):
        return [fn(FN(L), L.ones(1, 1, 4, 4, requires_grad=True), L.ones(1, 1, 2, 2)).grad_fn.name()
                for L in (ag, torch)]
    for fn in (lambda F_, x, w: F_.conv2d(x, w), lambda F_, x, w: F_.conv_transpose2d(x, w),
               lambda F_, x, w: F_.max_pool2d(x, 2), lambda F_, x, w: F_.avg_pool2d(x, 2),
               lambda F_, x, w: F_.unfold(x, 2), lambda F_, x, w: F_.fold(F_.unfold(x, 2), 4, 2)):
        ours, theirs = both(fn)
        assert ours == theirs, (ours, theirs)
