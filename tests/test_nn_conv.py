"""Convolution and pooling (ag.nn.functional's conv1d/2d, max/avg/adaptive
pools, unfold/fold; the Conv and Pool modules) against PyTorch CPU: values,
indices, gradients (second order too), edge cases, bad input, module
behaviour, and a small CNN trained side by side."""
from collections import OrderedDict

import numpy as np
import pytest

import autograd_gpu as ag
import autograd_gpu.nn.functional as F
from autograd_gpu import nn
from oracle import case_tests

FN = lambda lib: lib.nn.functional      # noqa: E731
NO_NAME = {"name": False}               # composites: grad_fn names are not PyTorch's

CASES = [
    ("conv2d", lambda L, x, w, b: FN(L).conv2d(x, w, b), [(2, 3, 5, 4), (4, 3, 3, 2), (4,)], NO_NAME),
    ("conv2d stride pad dilation groups",
     lambda L, x, w, b: FN(L).conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2),
     [(1, 4, 6, 5), (4, 2, 2, 2), (4,)], NO_NAME),
    ("conv2d same even kernel", lambda L, x, w: FN(L).conv2d(x, w, padding="same", dilation=(1, 2)),
     [(1, 2, 4, 5), (3, 2, 2, 3)], NO_NAME),
    ("conv2d valid unbatched", lambda L, x, w: FN(L).conv2d(x, w, padding="valid"), [(2, 4, 4), (3, 2, 2, 2)],
     NO_NAME),
    ("conv1d", lambda L, x, w, b: FN(L).conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=3),
     [(2, 3, 9), (6, 1, 3), (6,)], NO_NAME),
    ("conv1d same unbatched", lambda L, x, w: FN(L).conv1d(x, w, padding="same"), [(2, 6), (3, 2, 4)], NO_NAME),
    ("max_pool2d", lambda L, x: FN(L).max_pool2d(x, 2), [(2, 3, 4, 5)], NO_NAME),
    ("max_pool2d indices ceil",
     lambda L, x: FN(L).max_pool2d(x, (3, 2), (2, 1), (1, 1), ceil_mode=True, return_indices=True),
     [(1, 2, 6, 5)], NO_NAME),
    ("max_pool2d dilation unbatched", lambda L, x: FN(L).max_pool2d(x, 2, 1, 1, dilation=2, return_indices=True),
     [(2, 5, 6)], NO_NAME),
    ("max_pool1d", lambda L, x: FN(L).max_pool1d(x, 3, 2, 1, ceil_mode=True, return_indices=True), [(2, 3, 8)],
     NO_NAME),
    ("max_pool1d unbatched", lambda L, x: FN(L).max_pool1d(x, 2, dilation=2), [(3, 7)], NO_NAME),
    ("avg_pool2d", lambda L, x: FN(L).avg_pool2d(x, 2), [(2, 2, 4, 5)], NO_NAME),
    ("avg_pool2d pad ceil", lambda L, x: FN(L).avg_pool2d(x, 3, 2, 1, ceil_mode=True), [(1, 2, 6, 5)], NO_NAME),
    ("avg_pool2d exclude pad",
     lambda L, x: FN(L).avg_pool2d(x, (3, 2), (2, 2), (1, 1), ceil_mode=True, count_include_pad=False),
     [(1, 2, 6, 5)], NO_NAME),
    ("avg_pool2d divisor_override", lambda L, x: FN(L).avg_pool2d(x, 2, 1, 1, divisor_override=3), [(2, 4, 4)],
     NO_NAME),
    ("avg_pool1d", lambda L, x: FN(L).avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
     [(2, 3, 8)], NO_NAME),
    ("adaptive_avg_pool2d", lambda L, x: FN(L).adaptive_avg_pool2d(x, (3, None)), [(2, 2, 7, 5)], NO_NAME),
    ("adaptive_avg_pool2d grow", lambda L, x: FN(L).adaptive_avg_pool2d(x, 4), [(2, 3, 3)], NO_NAME),
    ("adaptive_avg_pool1d", lambda L, x: FN(L).adaptive_avg_pool1d(x, 3), [(2, 3, 7)], NO_NAME),
    ("adaptive_max_pool2d", lambda L, x: FN(L).adaptive_max_pool2d(x, (3, 2), return_indices=True),
     [(2, 2, 7, 5)], NO_NAME),
    ("adaptive_max_pool1d", lambda L, x: FN(L).adaptive_max_pool1d(x, 4, return_indices=True), [(3, 10)],
     NO_NAME),
    ("unfold", lambda L, x: FN(L).unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)), [(2, 2, 5, 6)],
     NO_NAME),
    ("unfold unbatched", lambda L, x: FN(L).unfold(x, 2), [(2, 3, 3)], NO_NAME),
    ("fold", lambda L, x: FN(L).fold(x, (5, 6), (2, 3), padding=(0, 1), stride=1), [(2, 12, 24)], NO_NAME),
    ("fold strided unbatched", lambda L, x: FN(L).fold(x, (5, 5), 2, dilation=2, stride=2), [(8, 4)], NO_NAME),
]

test_against_pytorch, test_gradcheck = case_tests(CASES)
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")


def _np(t):
    return t.detach().cpu().numpy()


def _rng(seed=0):
    return np.random.default_rng(seed)


def _pair(torch, a, device, dtype="float64", requires_grad=True):
    return (ag.tensor(a, dtype=dtype, device=device, requires_grad=requires_grad),
            torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=requires_grad))


def _close(ours, theirs, **tol):
    np.testing.assert_allclose(_np(ours).astype(np.float64), theirs.detach().numpy().astype(np.float64),
                               equal_nan=True, **(tol or dict(rtol=1e-10, atol=1e-12)))


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
         lambda M: M.AdaptiveMaxPool2d(3, True), lambda M: M.AdaptiveMaxPool1d(2)]


@pytest.mark.parametrize("make", REPRS)
def test_reprs_match_pytorch(torch, make):
    assert repr(make(nn)) == repr(make(torch.nn))


@pytest.mark.parametrize("make,shape", [
    (lambda M: M.Conv2d(4, 6, (3, 2), stride=2, padding=1, dilation=2, groups=2), (2, 4, 7, 6)),
    (lambda M: M.Conv2d(2, 3, 3, padding="same", padding_mode="replicate"), (2, 2, 5, 5)),
    (lambda M: M.Conv2d(2, 3, 2, padding=1, padding_mode="circular", bias=False), (2, 4, 4)),
    (lambda M: M.Conv1d(3, 6, 3, padding=2, padding_mode="reflect", groups=3), (2, 3, 7)),
    (lambda M: M.Conv1d(3, 2, 4, padding="same"), (3, 6))])
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


@pytest.mark.parametrize("make,shape", [
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


def test_grad_fn_names_are_the_last_ops(torch):
    """Known divergence: the results are composites, so grad_fn names the
    last op applied, not PyTorch's ConvolutionBackward0 / MaxPool2DWithIndicesBackward0."""
    x, w = ag.ones(1, 1, 4, 4, requires_grad=True), ag.ones(1, 1, 2, 2)
    assert F.conv2d(x, w).grad_fn.name() != "ConvolutionBackward0"
    assert F.max_pool2d(x, 2).grad_fn.name() != "MaxPool2DWithIndicesBackward0"
    assert F.unfold(x, 2).grad_fn.name() != torch.nn.functional.unfold(torch.ones(1, 1, 4, 4, requires_grad=True),
                                                                       2).grad_fn.name()
