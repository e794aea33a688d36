"""The later indexed writes of autograd_gpu/ops/scatter.py (index_fill,
index_copy, index_put, masked_scatter, scatter_reduce, index_reduce, put and
their in-place forms) against PyTorch CPU: values, grad_fn names, gradients
(float64 and float32), finite-difference gradchecks to second order, repeated
and negative indices, empty indices, broadcasting, and bad input."""
import warnings

import numpy as np
import pytest

import autograd_gpu as ag
from oracle import case_tests, check, to_numpy

warnings.filterwarnings("ignore", "index_reduce\\(\\) is in beta")
# (pytest resets the filters for each test: PyTorch warns once per process, in whichever test runs it first)
pytestmark = pytest.mark.filterwarnings("ignore:index_reduce\\(\\) is in beta:UserWarning")


_DEVICE = {"now": "cpu"}


@pytest.fixture(autouse=True)
def _index_device(request):
    """The device of the test at hand, for the index tensors the case lambdas make."""
    _DEVICE["now"] = request.getfixturevalue("device") if "device" in request.fixturenames else "cpu"


def I(L, values):          # noqa: E743
    """An index (or mask) tensor on the test's device (PyTorch: on the CPU)."""
    return L.tensor(values, device=_DEVICE["now"]) if L is ag else L.tensor(values)


def ix(*values):
    return np.array(values, dtype=np.int64)


def ixs(rows):
    return np.array(rows, dtype=np.int64)


SR_INDEX = ixs([[0, 1, 0, 2], [1, 1, 0, 0]])              # repeats along dim 0
SR_INDEX_D1 = ixs([[3, 0, 3], [1, 1, 1], [2, 0, 0]])      # along dim 1, into a (3, 4) input
# ties (amax/amin split evenly) and zeros (prod), as fixed data
TIES_X = np.array([[1.0, 5.0, 2.0, 0.0], [3.0, 5.0, 2.0, 4.0], [0.0, 1.0, 2.0, 4.0]])
TIES_SRC = np.array([[3.0, 5.0, 2.0, 4.0], [3.0, 5.0, 1.0, 4.0]])
ZEROS_X = np.array([[0.0, 2.0, 1.5, -1.0], [1.0, 0.0, 3.0, 2.0], [2.0, 1.0, 0.5, 0.0]])
ZEROS_SRC = np.array([[0.0, 1.5, 2.0, 0.0], [2.0, 0.0, -1.0, 0.0]])
ZEROS_INDEX = ixs([[0, 1, 0, 2], [1, 0, 0, 2]])           # col 3: two zeros into row 2 (+ self's zero)

# a 0-d input is written as one of one element, then viewed back: grad_fn is ViewBackward0 (kept divergence)
ZERO_D = {"name": False}
REDUCTIONS = ["sum", "prod", "mean", "amax", "amin"]

CASES = [
    # index_fill: a number (IndexFillBackward0) or a 0-d tensor (IndexFillBackward1); repeats and negatives
    ("index_fill", lambda L, x: x.index_fill(0, I(L, [0, -1, 0]), 2.5), [(3, 4)], {}),
    ("index_fill dim1 fn", lambda L, x: L.index_fill(x, 1, I(L, [1, 3]), -1.0), [(2, 4)], {}),
    ("index_fill 0-d index", lambda L, x, i: x.index_fill(-1, i, 0.0), [(2, 3), np.array(2)], {}),
    ("index_fill tensor value", lambda L, x, v: x.index_fill(1, I(L, [2, 0, 2]), v), [(2, 3), ()], {}),
    ("index_fill 0-d", lambda L, x: x.index_fill(0, I(L, [0]), 1.5), [()], ZERO_D),
    # index_copy
    ("index_copy", lambda L, x, s: x.index_copy(0, I(L, [2, 0]), s), [(3, 4), (2, 4)], {}),
    ("index_copy dim -1 fn", lambda L, x, s: L.index_copy(x, -1, I(L, [1, 3, 0]), s), [(2, 4), (2, 3)], {}),
    ("index_copy 0-d index", lambda L, x, s: x.index_copy(0, I(L, 1), s), [(3,), (1,)], {}),
    ("index_copy 0-d", lambda L, x, s: x.index_copy(0, I(L, [0]), s), [(), ()], ZERO_D),
    # index_put: int, bool, broadcast values, accumulate with repeats, negative indices
    ("index_put", lambda L, x, v: x.index_put((I(L, [0, 2]),), v), [(3, 4), (2, 4)], {}),
    ("index_put broadcast", lambda L, x, v: L.index_put(x, (I(L, [2, -3]), I(L, [1, 3])), v),
     [(3, 4), ()], {}),
    ("index_put row broadcast", lambda L, x, v: x.index_put((I(L, [1]),), v), [(3, 4), (4,)], {}),
    ("index_put mask", lambda L, x, v: x.index_put((I(L, [True, False, True]),), v), [(3, 2), (2,)], {}),
    ("index_put accumulate", lambda L, x, v: x.index_put((I(L, [0, 0, 2]),), v, accumulate=True),
     [(3, 4), (3, 4)], {}),
    ("index_put accumulate pairs", lambda L, x, v: L.index_put(x, (I(L, [1, 1, -1]), I(L, [0, 0, 2])), v,
                                                               True), [(2, 3), (3,)], {}),
    ("index_put accumulate mask", lambda L, x, v: x.index_put((I(L, [[True, False], [False, True]]),), v, True),
     [(2, 2), ()], {}),
    # masked_scatter: mask broadcast over input, input broadcast by the mask, source larger than needed
    ("masked_scatter", lambda L, x, s: x.masked_scatter(I(L, [[True, False, True], [False, False, True]]), s),
     [(2, 3), (7,)], {}),
    ("masked_scatter bcast mask", lambda L, x, s: x.masked_scatter(I(L, [True, False, True]), s),
     [(2, 3), (2, 3)], {}),
    ("masked_scatter bcast self", lambda L, x, s: L.masked_scatter(x, I(L, [[True], [False]]), s),
     [(3,), (2, 2)], {}),
    # put: flat positions, negatives, accumulate with repeats
    ("put", lambda L, x, s: x.put(I(L, [0, -1, 3]), s), [(2, 3), (3,)], {}),
    ("put 2-d index fn", lambda L, x, s: L.put(x, I(L, [[1, 2], [7, -2]]), s), [(2, 4), (2, 2)], {}),
    ("put accumulate", lambda L, x, s: x.put(I(L, [0, 0, 3, 0]), s, accumulate=True), [(2, 2), (2, 2)], {}),
    ("put 0-d", lambda L, x, s: x.put(I(L, [-1]), s), [(), (1,)], ZERO_D),
]
for _r in REDUCTIONS:
    for _inc in (True, False):
        _tag = f"{_r} include_self={_inc}"
        CASES += [
            (f"scatter_reduce {_tag}", lambda L, x, i, s, r=_r, inc=_inc: x.scatter_reduce(0, i, s, r, include_self=inc),
             [(3, 4), SR_INDEX, (2, 4)], {}),
            (f"scatter_reduce dim1 {_tag}", lambda L, x, i, s, r=_r, inc=_inc: L.scatter_reduce(x, 1, i, s, reduce=r,
                                                                                             include_self=inc),
             [(3, 4), SR_INDEX_D1, (3, 3)], {}),
        ]
        if _r != "sum":
            CASES += [
                (f"index_reduce {_tag}", lambda L, x, s, r=_r, inc=_inc: x.index_reduce(0, I(L, [2, 0, 2]), s, r,
                                                                                         include_self=inc),
                 [(3, 4), (3, 4)], {}),
                (f"index_reduce dim1 {_tag}", lambda L, x, s, r=_r, inc=_inc: L.index_reduce(
                    x, 1, I(L, [1, 1]), s, r, include_self=inc), [(2, 3), (2, 2)], {}),
            ]

test_against_pytorch, test_gradcheck, test_second_order = case_tests(CASES)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_ties_and_zeros(torch, device, dtype, reduce, include_self):
    """amax/amin: tied extremes share the gradient evenly; prod: zeros among
    the factors (one, and several, at a place), as PyTorch's formulas."""
    x, i, s = (ZEROS_X, ZEROS_INDEX, ZEROS_SRC) if reduce == "prod" else (TIES_X, SR_INDEX, TIES_SRC)
    check(torch, lambda L, x, i, s: x.scatter_reduce(0, i, s, reduce, include_self=include_self), dtype=dtype,
          device=device, arrays=[x, i, s])
    if reduce != "sum":
        check(torch, lambda L, x, s: x.index_reduce(0, I(L, [1, 1]), s, reduce, include_self=include_self),
              dtype=dtype, device=device, arrays=[x, s])


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce_int32_index_has_the_int64_gradients(torch, device, reduce, include_self):
    """PyTorch's index_reduce takes an int32 index forward and then refuses it in backward
    ("index_fill_(): Expected dtype int64 for index", an internal check of its formula); ours
    differentiates, and its gradients are PyTorch's for the same index as int64."""
    rng = np.random.default_rng(7)
    x, s, g = rng.normal(size=(4, 3)), rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    index = [2, 0, 2, 3, 2]
    grads = []
    for L, dtype in ((ag, ag.int32), (torch, torch.int64)):
        kw = dict(device=device) if L is ag else {}
        a, b = L.tensor(x, requires_grad=True, **kw), L.tensor(s, requires_grad=True, **kw)
        y = a.index_reduce(0, L.tensor(index, dtype=dtype, **kw), b, reduce, include_self=include_self)
        y.backward(L.tensor(g, **kw))
        grads.append((a.grad, b.grad))
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(to_numpy(ours), to_numpy(theirs), rtol=1e-12, atol=1e-12)


def _pair(torch, a, device, rg=False):
    ours = ag.tensor(a, device=device, requires_grad=rg)
    theirs = torch.tensor(a, requires_grad=rg)
    return ours, theirs


def _same(ours, theirs):
    if theirs is None:
        assert ours is None
        return
    assert ours.dtype.libtorch == {"torch.float32": "Float", "torch.float64": "Double", "torch.int64": "Long",
                                   "torch.int32": "Int", "torch.bool": "Bool",
                                   "torch.float16": "Half"}[str(theirs.dtype)]
    np.testing.assert_allclose(to_numpy(ours).astype(np.float64), to_numpy(theirs).astype(np.float64),
                               rtol=1e-3, atol=1e-3)


# ---- integer, bool and float16 data ----------------------------------------------------------

@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_integers_floor_mean(torch, device, reduce, include_self):
    x = np.array([[1, -2, 3, 4], [5, 6, -7, 8], [0, 2, 2, 1]], dtype=np.int64)
    s = np.array([[-3, 2, 2, 9], [4, -1, 0, 3]], dtype=np.int64)
    (a, ta), (b, tb), (i, ti) = _pair(torch, x, device), _pair(torch, s, device), _pair(torch, SR_INDEX, device)
    _same(a.scatter_reduce(0, i, b, reduce, include_self=include_self),
          ta.scatter_reduce(0, ti, tb, reduce, include_self=include_self))
    if reduce != "sum":
        k = ag.tensor([2, 2], device=device)
        _same(a.index_reduce(0, k, b, reduce, include_self=include_self),
              ta.index_reduce(0, torch.tensor([2, 2]), tb, reduce, include_self=include_self))


@pytest.mark.parametrize("op", ["index_fill", "index_copy", "index_put", "masked_scatter", "put",
                                "scatter_reduce"])
@pytest.mark.parametrize("dtype", ["float16", "int32", "bool"])
def test_other_dtypes(torch, device, op, dtype):
    x = (np.arange(6).reshape(2, 3) % 3).astype(dtype)
    s = (np.arange(6).reshape(2, 3) % 2 + 1).astype(dtype)
    a, ta = _pair(torch, x, device)
    b, tb = _pair(torch, s, device)
    calls = {
        "index_fill": lambda L, a, b: a.index_fill(1, I(L, [0, 2]), True if dtype == "bool" else 2),
        "index_copy": lambda L, a, b: a.index_copy(0, I(L, [1, 0]), b),
        "index_put": lambda L, a, b: a.index_put((I(L, [1, 1]), I(L, [0, 0])), b[0, :2], accumulate=True),
        "masked_scatter": lambda L, a, b: a.masked_scatter(I(L, [True, False, True]), b),
        "put": lambda L, a, b: a.put(I(L, [5, 0, 5]), b[0], accumulate=True),
        "scatter_reduce": lambda L, a, b: a.scatter_reduce(1, I(L, [[0, 0], [2, 2]]), b, "amax"),
    }
    _same(calls[op](ag, a, b), calls[op](torch, ta, tb))


def test_index_fill_value_cast_and_tensor_value_dtype(torch, device):
    a, ta = _pair(torch, np.zeros((2, 3), np.int64), device)
    _same(a.index_fill(1, ag.tensor([1], device=device), 2.7), ta.index_fill(1, torch.tensor([1]), 2.7))
    x, tx = _pair(torch, np.ones((2, 3), np.float32), device, rg=True)
    v, tv = _pair(torch, np.array(3.0), device, rg=True)         # a float64 value into float32
    out, tout = x.index_fill(1, ag.tensor([0, 0, 2], device=device), v), tx.index_fill(1, torch.tensor([0, 0, 2]), tv)
    _same(out, tout)
    out.sum().backward()
    tout.sum().backward()
    _same(v.grad, tv.grad)                  # each filled place counted once: 4, not 6
    _same(x.grad, tx.grad)


def test_nan_gradient_not_leaking_through_overwritten_places(torch, device):
    x, tx = _pair(torch, np.ones((2, 3)), device, rg=True)
    g = np.array([[np.nan, 1.0, np.inf], [2.0, np.nan, 1.0]])
    out, tout = x.index_fill(1, ag.tensor([0, 2], device=device), 0.0), tx.index_fill(1, torch.tensor([0, 2]), 0.0)
    out.backward(ag.tensor(g, device=device))
    tout.backward(torch.tensor(g))
    np.testing.assert_array_equal(to_numpy(x.grad), to_numpy(tx.grad))


def test_amax_nan_propagates(torch, device):
    x = np.array([1.0, np.nan, 3.0])
    s = np.array([np.nan, 2.0, 5.0])
    (a, ta), (b, tb) = _pair(torch, x, device), _pair(torch, s, device)
    i, ti = _pair(torch, ix(0, 0, 2), device)
    for r in ("amax", "amin", "sum", "prod", "mean"):
        np.testing.assert_array_equal(to_numpy(a.scatter_reduce(0, i, b, r)), to_numpy(ta.scatter_reduce(0, ti, tb, r)))


# ---- empty indices, zero-size dims ------------------------------------------------------------

def test_empty_indices(torch, device):
    e = ag.tensor(np.zeros(0, np.int64), device=device)
    te = torch.zeros(0, dtype=torch.long)
    x, tx = _pair(torch, np.arange(6.0).reshape(2, 3), device, rg=True)
    outs = [
        (x.index_fill(0, e, 1.0), tx.index_fill(0, te, 1.0)),
        (x.index_copy(1, e, ag.zeros(2, 0, dtype=ag.float64, device=device)),
         tx.index_copy(1, te, torch.zeros(2, 0, dtype=torch.float64))),
        (x.index_put((e,), ag.zeros(3, dtype=ag.float64, device=device)),
         tx.index_put((te,), torch.zeros(3, dtype=torch.float64))),
        (x.index_put((e,), ag.zeros(3, dtype=ag.float64, device=device), accumulate=True),
         tx.index_put((te,), torch.zeros(3, dtype=torch.float64), accumulate=True)),
        (x.put(e, ag.zeros(0, dtype=ag.float64, device=device)), tx.put(te, torch.zeros(0, dtype=torch.float64))),
        (x.scatter_reduce(0, e.reshape(0, 1), x[:0], "prod"), tx.scatter_reduce(0, te.reshape(0, 1), tx[:0], "prod")),
        (x.index_reduce(0, e, x[:0], "amax"), tx.index_reduce(0, te, tx[:0], "amax")),
        (x.masked_scatter(ag.zeros(3, dtype=ag.bool, device=device), ag.zeros(0, dtype=ag.float64, device=device)),
         tx.masked_scatter(torch.zeros(3, dtype=torch.bool), torch.zeros(0, dtype=torch.float64))),
    ]
    for out, tout in outs:
        _same(out, tout)
        out.sum().backward()
        tout.sum().backward()
    _same(x.grad, tx.grad)


def test_zero_size_input(torch, device):
    x, tx = _pair(torch, np.zeros((0, 3)), device, rg=True)
    _same(x.index_fill(1, ag.tensor([1], device=device), 2.0), tx.index_fill(1, torch.tensor([1]), 2.0))
    _same(x.index_copy(1, ag.tensor([2], device=device), ag.zeros(0, 1, dtype=ag.float64, device=device)),
          tx.index_copy(1, torch.tensor([2]), torch.zeros(0, 1, dtype=torch.float64)))
    _same(x.masked_scatter(ag.tensor([True, False, True], device=device), ag.zeros(1, dtype=ag.float64, device=device)),
          tx.masked_scatter(torch.tensor([True, False, True]), torch.zeros(1, dtype=torch.float64)))


# ---- in place: results, version bumps, leaves, graphs ---------------------------------------

IN_PLACE = {
    "index_fill_": lambda L, t, s: t.index_fill_(1, I(L, [0, 2]), -1.0),
    "index_copy_": lambda L, t, s: t.index_copy_(0, I(L, [1]), s[:1]),
    "index_put_": lambda L, t, s: t.index_put_((I(L, [0, 1]), I(L, [2, 2])), s[0, :2], accumulate=True),
    "masked_scatter_": lambda L, t, s: t.masked_scatter_(I(L, [False, True, True]), s),
    "scatter_reduce_": lambda L, t, s: t.scatter_reduce_(1, I(L, [[0, 0, 1], [2, 2, 2]]), s, "mean",
                                                        include_self=False),
    "index_reduce_": lambda L, t, s: t.index_reduce_(1, I(L, [2, 2, 0]), s, "prod"),
    "put_": lambda L, t, s: t.put_(I(L, [-1, 0]), s[1, :2]),
}


@pytest.mark.parametrize("name", list(IN_PLACE))
def test_in_place(torch, device, name):
    a = np.arange(6.0).reshape(2, 3)
    s = np.arange(6.0).reshape(2, 3) * 10 + 1
    x, tx = _pair(torch, a, device, rg=True)
    src, tsrc = _pair(torch, s, device, rg=True)
    t, tt = x * 2, tx * 2
    version = t._version
    out = IN_PLACE[name](ag, t, src)
    IN_PLACE[name](torch, tt, tsrc)
    assert out is t and t._version == version + 1
    assert t.grad_fn.name() == tt.grad_fn.name()
    _same(t, tt)
    g = np.random.default_rng(1).standard_normal((2, 3))
    t.backward(ag.tensor(g, device=device))
    tt.backward(torch.tensor(g))
    _same(x.grad, tx.grad)
    _same(src.grad, tsrc.grad)
    leaf = ag.tensor(a, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        IN_PLACE[name](ag, leaf, src)
    assert leaf._version == 0 and np.array_equal(to_numpy(leaf), a)
    with ag.no_grad():
        IN_PLACE[name](ag, leaf, src)           # (allowed without a graph)
    assert leaf._version == 1


def test_saved_index_written_in_place_is_a_version_error(device):
    x = ag.ones(3, 2, requires_grad=True, device=device)
    i = ag.tensor([0, 2], device=device)
    out = x.index_copy(0, i, ag.ones(2, 2, device=device))
    i.add_(0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_masked_scatter_in_place_refuses_a_mask_that_broadcasts_self(torch, device):
    t = ag.ones(3, device=device)
    with pytest.raises(RuntimeError):
        t.masked_scatter_(ag.ones(2, 3, dtype=ag.bool, device=device), ag.zeros(6, device=device))
    assert t.tolist() == [1.0, 1.0, 1.0] and t._version == 0
    with pytest.raises(RuntimeError):
        torch.ones(3).masked_scatter_(torch.ones(2, 3, dtype=torch.bool), torch.zeros(6))


def test_double_backward_through_create_graph(torch, device):
    # gradient of a gradient of prod (one zero per place) and of mean, as PyTorch's
    for reduce in ("prod", "mean", "amax"):
        x, tx = _pair(torch, np.array([2.0, 0.0, 3.0]), device, rg=True)
        s, ts = _pair(torch, np.array([1.5, 0.0, -2.0, 4.0]), device, rg=True)
        i, ti = _pair(torch, ix(0, 1, 0, 2), device)
        out = (x.scatter_reduce(0, i, s, reduce) ** 2).sum()
        tout = (tx.scatter_reduce(0, ti, ts, reduce) ** 2).sum()
        gx, gs = ag.autograd.grad(out, (x, s), create_graph=True)
        tgx, tgs = torch.autograd.grad(tout, (tx, ts), create_graph=True)
        _same(gx, tgx)
        _same(gs, tgs)
        (gx.sum() + gs.sum()).backward()
        (tgx.sum() + tgs.sum()).backward()
        _same(x.grad, tx.grad)
        _same(s.grad, ts.grad)


# ---- bad input: PyTorch's exception kinds, messages naming the op, nothing changed ---------------

def _bad_calls(L, x, f32):
    i = L.tensor
    return {
        "index_fill int32 index": lambda: x.index_fill(0, i([0], dtype=L.int32), 1.0),
        "index_fill out of range": lambda: x.index_fill(0, i([3]), 1.0),
        "index_fill below range": lambda: x.index_fill(0, i([-4]), 1.0),
        "index_fill 2-d index": lambda: x.index_fill(0, i([[0]]), 1.0),
        "index_fill 1-d value": lambda: x.index_fill(0, i([0]), i([1.0])),
        "index_fill bad dim": lambda: x.index_fill(2, i([0]), 1.0),
        "index_fill float index": lambda: x.index_fill(0, i([0.0]), 1.0),
        "index_copy negative": lambda: x.index_copy(0, i([-1]), L.ones(1, 2, dtype=L.float64)),
        "index_copy out of range": lambda: x.index_copy(0, i([3]), L.ones(1, 2, dtype=L.float64)),
        "index_copy int32": lambda: x.index_copy(0, i([0], dtype=L.int32), L.ones(1, 2, dtype=L.float64)),
        "index_copy dtype": lambda: x.index_copy(0, i([0]), L.ones(1, 2)),
        "index_copy count": lambda: x.index_copy(0, i([0]), L.ones(2, 2, dtype=L.float64)),
        "index_copy slice": lambda: x.index_copy(0, i([0]), L.ones(1, 3, dtype=L.float64)),
        "index_copy dims": lambda: x.index_copy(0, i([0]), L.ones(2, dtype=L.float64)),
        "index_copy 2-d index": lambda: x.index_copy(0, i([[0]]), L.ones(1, 2, dtype=L.float64)),
        "index_put out of range": lambda: x.index_put((i([3]),), L.ones(2, dtype=L.float64)),
        "index_put dtype": lambda: x.index_put((i([0]),), L.ones(2)),
        "index_put leading ones": lambda: x.index_put((i([0]),), L.ones(1, 1, 2, dtype=L.float64)),
        "index_put shape": lambda: x.index_put((i([0]),), L.ones(3, dtype=L.float64)),
        "index_put too many": lambda: x.index_put((i([0]), i([0]), i([0])), L.ones((), dtype=L.float64)),
        "index_put float index": lambda: x.index_put((i([0.0]),), L.ones((), dtype=L.float64)),
        "index_put mask shape": lambda: x.index_put((i([True]),), L.ones((), dtype=L.float64)),
        "index_put number": lambda: x.index_put((i([0]),), 2.0),
        "index_put not tuple": lambda: x.index_put(i([0]), L.ones((), dtype=L.float64)),
        "index_put None": lambda: x.index_put((None, i([0])), L.ones((), dtype=L.float64)),
        "masked_scatter int mask": lambda: x.masked_scatter(i([1, 0], dtype=L.int32), L.ones(6, dtype=L.float64)),
        "masked_scatter short": lambda: x.masked_scatter(i([True, True]), L.ones(5, dtype=L.float64)),
        "masked_scatter dtype": lambda: x.masked_scatter(i([True, True]), L.ones(6)),
        "masked_scatter mask shape": lambda: x.masked_scatter(i([True, True, False]), L.ones(6, dtype=L.float64)),
        "put out of range": lambda: x.put(i([6]), L.ones(1, dtype=L.float64)),
        "put below range": lambda: x.put(i([-7]), L.ones(1, dtype=L.float64)),
        "put int32": lambda: x.put(i([0], dtype=L.int32), L.ones(1, dtype=L.float64)),
        "put count": lambda: x.put(i([0, 1]), L.ones(3, dtype=L.float64)),
        "put dtype": lambda: x.put(i([0]), L.ones(1)),
        "put empty self": lambda: L.zeros(0).put(i([0]), L.ones(1)),
        "scatter_reduce bad reduce": lambda: x.scatter_reduce(0, i([[0]]), x, "add"),
        "scatter_reduce negative": lambda: x.scatter_reduce(0, i([[-1]]), x, "sum"),
        "scatter_reduce dtype": lambda: x.scatter_reduce(0, i([[0]]), f32, "sum"),
        "scatter_reduce index dims": lambda: x.scatter_reduce(0, i([0]), x, "sum"),
        "scatter_reduce bool mean": lambda: L.zeros(2, dtype=L.bool).scatter_reduce(0, i([0]), L.ones(1, dtype=L.bool),
                                                                                   "mean"),
        "index_reduce sum": lambda: x.index_reduce(0, i([0]), x[:1], "sum"),
        "index_reduce out of range": lambda: x.index_reduce(0, i([3]), x[:1], "prod"),
        "index_reduce negative": lambda: x.index_reduce(0, i([-1]), x[:1], "prod"),
        "index_reduce count": lambda: x.index_reduce(0, i([0]), x, "prod"),
        "index_reduce dtype": lambda: x.index_reduce(0, i([0]), f32, "prod"),
        "index_reduce 2-d index": lambda: x.index_reduce(0, i([[0, 1]]), x[:2], "prod"),
        "index_reduce slice": lambda: x.index_reduce(0, i([0]), L.ones(1, 3, dtype=L.float64), "prod"),
        # a 0-d input takes a 0-d source only, as index_add's (found by the fuzz: a (2,) source was taken)
        "index_reduce 0-d input 1-d source": lambda: x[0, 0].index_reduce(0, i([0, 0]), L.ones(2, dtype=L.float64),
                                                                          "mean"),
        "index_reduce 0-d input (1,) source": lambda: x[0, 0].index_reduce(0, i([0]), L.ones(1, dtype=L.float64),
                                                                           "amax"),
        "index_reduce 0-d source, two indices": lambda: x[0, 0].index_reduce(0, i([0, 0]), x[0, 1], "mean"),
        "index_reduce 0-d source": lambda: x[0].index_reduce(0, i([0]), x[0, 1], "prod"),
    }


BAD = list(_bad_calls(ag, None, None))


@pytest.mark.parametrize("case", BAD)
def test_bad_input(torch, device, case):
    a = np.arange(6.0).reshape(3, 2)
    x = ag.tensor(a, device=device, requires_grad=True) * 1
    tx = torch.tensor(a, requires_grad=True) * 1
    ours = _bad_calls(_On(ag, device), x, ag.ones(1, 2, device=device))[case]
    theirs = _bad_calls(torch, tx, torch.ones(1, 2))[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as te:
            theirs()
    version = x._version
    with pytest.raises(te.type) as e:
        ours()
    op = case.split()[0]
    assert op in str(e.value), str(e.value)
    assert x._version == version and np.array_equal(to_numpy(x), a)


class _On:
    """`ag` with tensor/ones/zeros making tensors on `device`."""

    def __init__(self, lib, device):
        self.lib, self.device = lib, device

    def __getattr__(self, name):
        f = getattr(self.lib, name)
        if name in ("tensor", "ones", "zeros"):
            return lambda *a, **k: f(*a, device=self.device, **k)
        return f


def test_devices_mixed(fake_cuda):
    x = ag.ones(2, 3, device="cuda")
    cpu = ag.ones(2, 3)
    calls = [
        lambda: x.index_copy(0, ag.tensor([0, 1], device="cuda"), cpu),
        lambda: x.index_put((ag.tensor([0], device="cuda"),), cpu[0]),
        lambda: x.masked_scatter(ag.tensor([True, False, True], device="cuda"), cpu),
        lambda: x.put(ag.tensor([0], device="cuda"), cpu[0, :1]),
        lambda: x.scatter_reduce(0, ag.tensor([[0]], device="cuda"), cpu, "sum"),
        lambda: x.index_reduce(0, ag.tensor([0], device="cuda"), cpu[:1], "prod"),
        lambda: x.index_fill(0, ag.tensor([0], device="cuda"), ag.tensor(1.0)),
        lambda: cpu.index_fill(0, ag.tensor([0], device="cuda"), 1.0),
    ]
    for call in calls:
        with pytest.raises(RuntimeError, match=r"(cpu.*cuda:0|cuda:0.*cpu)"):
            call()
    assert x.tolist() == [[1.0] * 3] * 2


def test_add_at_is_numpys_add_at():
    """The backward of indexing and the scatter ops add with prims.add_at, which turns integer index
    arrays on consecutive axes after full slices into one flat 1-d np.add.at (NumPy's fast loop): the
    same sums in the same order as np.add.at itself, bit for bit, negative and repeated indices
    included; distinct places (a permutation's part) a plain indexed add; other indices go to
    np.add.at."""
    from autograd_gpu.ops import prims
    rng = np.random.default_rng(1)
    for trial in range(3000):
        shape = tuple(int(n) for n in rng.integers(1, 5, rng.integers(1, 4)))
        s = int(rng.integers(0, len(shape)))                        # full slices first
        k = int(rng.integers(1, len(shape) - s + 1))
        ishape = tuple(int(n) for n in rng.integers(0, 4, rng.integers(0, 3)))
        unsigned = rng.random() < 0.2
        idx = (slice(None),) * s + tuple(
            rng.integers(0 if unsigned else -n, n, ishape).astype(np.uint8 if unsigned else
                                                                  rng.choice([np.int64, np.int32]))
            for n in shape[s:s + k])
        if trial % 7 == 0:      # (a last dim of 0 after the indexed ones: the plain indexed add's reshape failed there)
            shape += (0,)
        vshape = tuple(1 if rng.random() < 0.2 else n for n in shape[:s] + ishape + shape[s + k:])
        if k > 1 and rng.random() < 0.2:
            idx, vshape = idx[:-1] + (slice(None),), ()             # (a slice after: np.add.at's own path)
        if rng.random() < 0.3 and not unsigned and idx[-1] is not None and type(idx[-1]) is not slice:
            # distinct places (a permutation's part, some negative): the plain indexed add's path
            n = shape[s + k - 1]
            picks = rng.permutation(n)[:int(rng.integers(0, n + 1))]
            idx = idx[:s + k - 1] + (np.where(rng.random(picks.size) < 0.3, picks - n, picks),)
            idx = idx[:s] + tuple(np.zeros_like(idx[-1]) if i < s + k - 1 else a
                                  for i, a in enumerate(idx[s:], s))
            vshape = shape[:s] + idx[-1].shape + shape[s + k:]
        dtype = rng.choice([np.float32, np.float64])
        v = rng.standard_normal(vshape).astype(dtype)
        base = rng.standard_normal(shape).astype(dtype)
        ours, theirs = base.copy(), base.copy()
        prims.add_at(ours, idx, v)
        np.add.at(theirs, idx, v)
        np.testing.assert_array_equal(ours, theirs)
    # an even run per place adds as complex pairs: also into a buffer one element off its allocation's
    # alignment, with NaN, infinities and signed zeros among the values, and a float16 (no pairs)
    for dtype in (np.float32, np.float64, np.float16):
        v = rng.standard_normal((7, 3, 4)).astype(dtype)
        v.reshape(-1)[:6] = [np.nan, np.inf, -np.inf, -0.0, 0.0, -0.0]
        idx = (rng.integers(-5, 5, (7,)),)
        ours = np.zeros(5 * 3 * 4 + 1, dtype)[1:].reshape(5, 3, 4)
        ours[...] = -0.0
        theirs = ours.copy()
        prims.add_at(ours, idx, v)
        np.add.at(theirs, idx, v)
        np.testing.assert_array_equal(ours, theirs)
        assert np.array_equal(np.signbit(ours), np.signbit(theirs))
    for k in (1, 2):                                   # out of range: NumPy's own IndexError
        for bad in (5, -6):
            idx = (np.array([bad]),) * k
            with pytest.raises(IndexError, match=f"index {bad} is out of bounds for axis 0 with size 5"):
                prims.add_at(np.zeros((5, 5)), idx, np.ones(1))


def test_getitem_of_an_index_array_per_dim_is_numpys():
    """prims.getitem with an integer array for every dim and 4096 indices or more (a gather's grid, the
    gradient of scatter_add, x[rows, cols]) takes by flat positions from the memory the array spans:
    bit for bit NumPy's fancy index, its shape and dtype, a fresh writable array, for contiguous,
    transposed, sliced and expanded sources (an expanded scalar: one value), int64/int32/int8/uint8 and
    negative indices, index arrays broadcast together; out of range: NumPy's own IndexError."""
    from autograd_gpu.ops import prims
    rng = np.random.default_rng(5)
    for trial in range(60):
        ndim = int(rng.integers(2, 4))
        full = tuple(int(n) for n in rng.integers(1, 9, ndim))
        base = rng.standard_normal(full).astype(rng.choice([np.float32, np.float64, np.float16]))
        layout = trial % 4
        a = (base if layout == 0 else base.transpose(*range(ndim)[::-1]) if layout == 1
             else base[..., ::2] if layout == 2 else np.broadcast_to(base[..., :1] * 0 + 3.5, full))
        ishape = (64, 70) if trial % 3 else (4100,)
        idx = []
        for d, n in enumerate(a.shape):
            kind = rng.choice([np.int64, np.int32, np.int8, np.uint8])
            lo = 0 if kind == np.uint8 else -n
            shape = ishape if d % 2 == 0 or len(ishape) == 1 else (ishape[0], 1)     # (some broadcast)
            idx.append(rng.integers(lo, n, shape).astype(kind))
        idx = tuple(idx)
        ours, theirs = prims.getitem(a, idx), a[idx]
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)
        assert ours.flags.writeable and not np.shares_memory(ours, a)
    a = rng.standard_normal((200, 30))              # (int8 indices into a dim of 200: -100 + 200 overflows int8)
    idx = (rng.integers(-128, 128, 5000).astype(np.int8), rng.integers(0, 30, 5000))
    np.testing.assert_array_equal(prims.getitem(a, idx), a[idx])
    a = np.zeros((70, 70))
    for bad in (70, -71):
        idx = (np.zeros(5000, np.int64), np.full(5000, bad))
        with pytest.raises(IndexError, match=f"index {bad} is out of bounds for axis 1 with size 70"):
            prims.getitem(a, idx)


def test_where_prim_on_large_arrays_is_numpys_where():
    """prims.where on a large boolean condition picks float bits by a mask (no branch per element):
    bit for bit np.where's result, dtype and shape, for float16/32/64 operands as arrays of the
    condition's shape or broadcast from smaller ones, and numbers (-0.0, NaN, ints); other operand
    kinds (mixed dtypes, integers, larger operands) go to np.where itself."""
    from autograd_gpu.ops import prims
    rng = np.random.default_rng(3)
    shape = (70, 97)
    c = rng.random(shape) < 0.5
    for dtype in (np.float16, np.float32, np.float64):
        x = rng.standard_normal(shape).astype(dtype)
        x.reshape(-1)[:5] = [np.nan, -0.0, np.inf, -np.inf, 0.0]
        nan_payload = np.array([0x7FC12345 if dtype == np.float32 else 0], np.int64).astype(
            {2: np.int16, 4: np.int32, 8: np.int64}[np.dtype(dtype).itemsize]).view(dtype)
        y = rng.standard_normal((1, 97)).astype(dtype)
        x.reshape(-1)[5] = nan_payload[0]
        for a, b in ((x, y), (y, x), (x, 0), (-0.0, x), (x, np.nan), (2, x), (x, x[::-1]), (x.T.copy().T, 1.5)):
            ours, theirs = prims.where(c, a, b), np.where(c, a, b)
            assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
            np.testing.assert_array_equal(ours.view(np.uint8), theirs.view(np.uint8))
    for a, b in ((rng.standard_normal(shape), rng.standard_normal(shape).astype(np.float32)),
                 (rng.integers(0, 5, shape), 1), (rng.standard_normal((2,) + shape), 0.0)):
        ours, theirs = prims.where(c, a, b), np.where(c, a, b)
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)
