"""The ops of autograd_gpu/ops/searching.py against PyTorch CPU: forward values,
gradients (float64 and float32), finite-difference gradchecks to second order
where differentiable, and edge cases (result dtypes, 0-d and empty inputs,
NaN and inf, ties, bad input)."""
import math

import numpy as np
import pytest

import autograd_gpu as ag
from oracle import check, gradcheck, to_numpy

NAN, INF = math.nan, math.inf
DTYPES = ["float16", "float32", "float64", "int32", "int64", "bool"]


def ints(*values):
    return np.array(values, dtype=np.int64)


def sample(dtype, shape, seed=0, low=-3, high=4):
    """Small integers (ties included) as `dtype`; bool: their sign."""
    a = np.random.default_rng(seed).integers(low, high, shape)
    return (a > 0) if dtype == "bool" else a.astype(dtype)


def tensors(torch, a, device):
    """The same array (or number) as our tensor on device and as PyTorch's."""
    if not isinstance(a, np.ndarray):
        return a, a
    return ag.tensor(a, device=device), torch.tensor(a)


def same(torch, device, fn, *arrays, torch_fn=None):
    """fn(lib, *inputs) on both libraries: results equal in shape, dtype,
    values (NaN where NaN) and device."""
    pairs = [tensors(torch, a, device) for a in arrays]
    out = fn(ag, *[p[0] for p in pairs])
    ref = (torch_fn or fn)(torch, *[p[1] for p in pairs])
    outs, refs = (out, ref) if isinstance(ref, tuple) else ((out,), (ref,))
    assert len(outs) == len(refs)
    for o, r in zip(outs, refs):
        assert str(o.dtype).split(".")[-1] == str(r.dtype).split(".")[-1], (o.dtype, r.dtype)
        assert o.shape == tuple(r.shape), (o.shape, r.shape)
        assert o.device == ag.device(device)
        np.testing.assert_array_equal(to_numpy(o), to_numpy(r))
    return out


TIES = np.array([[1.0, 2.0, 1.0, 2.0, 3.0], [0.5, 0.5, 0.5, -1.0, 0.5], [4.0, 3.0, 3.0, 4.0, 0.0]])
REPEATS = np.array([[2.0, 1.0, 1.0], [2.0, 1.0, 3.0], [0.0, 5.0, 3.0], [2.0, 5.0, 1.0]])

# ---- differentiable: values, grad_fn names and gradients against PyTorch -------------------

#      id                    fn(lib, *inputs)                                          inputs     options
CASES = [
    ("msort",                lambda m, x: m.msort(x),                                  [(4, 3)],  {}),
    ("msort_method_1d",      lambda m, x: x.msort(),                                   [(5,)],    {}),
    ("msort_3d",             lambda m, x: m.msort(x),                                  [(3, 2, 2)], {}),
    ("kthvalue",             lambda m, x: m.kthvalue(x, 2).values,                     [(3, 5)],  {}),
    ("kthvalue_tuple_keep",  lambda m, x: tuple(x.kthvalue(3, dim=0, keepdim=True)),   [(4, 3)],  {}),
    ("kthvalue_kw",          lambda m, x: m.kthvalue(x, k=4, dim=-1, keepdim=False)[0], [(2, 3, 4)], {}),
    ("kthvalue_last",        lambda m, x: x.kthvalue(5, 1).values,                     [(2, 5)],  {}),
    ("kthvalue_0d",          lambda m, x: tuple(m.kthvalue(x, 1)),                     [()],      {}),
    ("mode",                 lambda m, x: m.mode(x).values,                            [(3, 5)],  {}),
    ("mode_tuple_dim0",      lambda m, x: tuple(x.mode(0, keepdim=True)),              [(4, 3)],  {}),
    ("mode_kw",              lambda m, x: m.mode(x, dim=1, keepdim=False)[0],          [(2, 3, 4)], {}),
    ("mode_0d",              lambda m, x: tuple(x.mode()),                             [()],      {}),
    # ties: the smallest most frequent value at its last occurrence (PyTorch's, up to 16 elements)
    ("mode_ties",            lambda m, x: tuple(m.mode(x, 1)),                         [], dict(arrays=[TIES], fd=False)),
    ("mode_ties_dim0",       lambda m, x: tuple(x.mode(0, True)),                      [], dict(arrays=[REPEATS], fd=False)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_against_pytorch(torch, case, dtype, device):
    _, fn, shapes, opts = case
    check(torch, fn, *shapes, dtype=dtype, device=device, arrays=opts.get("arrays"))


@pytest.mark.parametrize("case", [c for c in CASES if c[3].get("fd", True)],
                         ids=[c[0] for c in CASES if c[3].get("fd", True)])
def test_gradcheck(case, device):
    _, fn, shapes, _ = case
    gradcheck(lambda m, x: (lambda r: r[0] if isinstance(r, tuple) else r)(fn(m, x)), *shapes, device=device)


def test_create_graph_through_kthvalue_and_mode(torch, device):
    """A gradient of a gradient through the selections (second order by hand)."""
    a = np.random.default_rng(3).standard_normal((3, 4))
    for name in ("kthvalue", "mode"):
        args = (2,) if name == "kthvalue" else ()
        grads = []
        for lib, x in ((ag, ag.tensor(a, device=device, requires_grad=True)),
                       (torch, torch.tensor(a, requires_grad=True))):
            y = getattr(x, name)(*args, dim=1).values
            g, = lib.autograd.grad((y ** 3).sum(), x, create_graph=True)
            gg, = lib.autograd.grad((g * g).sum(), x)
            grads.append((to_numpy(g), to_numpy(gg)))
        np.testing.assert_allclose(grads[0][0], grads[1][0])
        np.testing.assert_allclose(grads[0][1], grads[1][1])


# ---- argsort, nonzero, argwhere ------------------------------------------------------

SPECIAL = np.array([[NAN, 1.0, -INF, 0.0], [INF, -0.0, NAN, 2.0], [1.0, 1.0, 1.0, -1.0]])


@pytest.mark.parametrize("dtype", DTYPES)
def test_argsort_dtypes(torch, device, dtype):
    a = sample(dtype, (4, 6))
    same(torch, device, lambda m, x: m.argsort(x), a)
    same(torch, device, lambda m, x: x.argsort(0, descending=True), a)
    same(torch, device, lambda m, x: m.argsort(x, dim=1, descending=True, stable=True), a)
    same(torch, device, lambda m, x: x.argsort(dim=-1, stable=True), a)


def test_argsort_edge_cases(torch, device):
    same(torch, device, lambda m, x: m.argsort(x), SPECIAL)                    # NaN sorts last
    same(torch, device, lambda m, x: m.argsort(x, descending=True), SPECIAL)   # ... and first, descending
    same(torch, device, lambda m, x: m.argsort(x), np.array(2.5))              # 0-d
    same(torch, device, lambda m, x: x.argsort(0), np.zeros((0, 3)))
    same(torch, device, lambda m, x: x.argsort(1), np.zeros((2, 0)))
    x = ag.tensor([3.0, 1.0], requires_grad=True, device=device)
    assert not ag.argsort(x).requires_grad


@pytest.mark.parametrize("dtype", DTYPES)
def test_nonzero_argwhere_dtypes(torch, device, dtype):
    a = sample(dtype, (3, 4), low=-1, high=2)
    same(torch, device, lambda m, x: m.nonzero(x), a)
    same(torch, device, lambda m, x: x.nonzero(as_tuple=True), a)
    same(torch, device, lambda m, x: m.argwhere(x), a)
    same(torch, device, lambda m, x: x.argwhere(), a)


def test_nonzero_edge_cases(torch, device):
    for a in (SPECIAL, np.array(0.0), np.array(-2.0), np.zeros((2, 0)), np.zeros((0,)), np.ones((2, 1, 3))):
        same(torch, device, lambda m, x: m.nonzero(x), a)                      # NaN is nonzero
        same(torch, device, lambda m, x: m.nonzero(x, as_tuple=True), a)       # 0-d: as 1-d
        same(torch, device, lambda m, x: m.argwhere(x), a)


# ---- searchsorted, bucketize ---------------------------------------------------------

SEQ = np.array([1.0, 2.0, 2.0, 3.0, 5.0, 8.0])
VALS = np.array([[0.0, 2.0, 3.5, 8.0, 9.0], [-1.0, 1.0, 2.5, 5.0, NAN]])


@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_and_bucketize(torch, device, right):
    side = "right" if right else "left"
    same(torch, device, lambda m, s, v: m.searchsorted(s, v, right=right), SEQ, VALS)
    same(torch, device, lambda m, s, v: m.searchsorted(s, v, side=side), SEQ, VALS)
    same(torch, device, lambda m, s, v: m.searchsorted(s, v, out_int32=True, right=right, side=side), SEQ, VALS)
    same(torch, device, lambda m, v, s: m.bucketize(v, s, right=right), VALS, SEQ)
    same(torch, device, lambda m, v, s: m.bucketize(v, s, out_int32=True, right=right), VALS, SEQ)
    same(torch, device, lambda m, v, s: m.bucketize(input=v, boundaries=s, right=right), VALS, SEQ)
    # rows: the first N-1 dims of sequence and values match
    rows = np.sort(np.random.default_rng(1).integers(0, 6, (2, 3, 7)).astype(float), -1)
    vals = np.random.default_rng(2).integers(-1, 7, (2, 3, 4)).astype(float)
    same(torch, device, lambda m, s, v: m.searchsorted(s, v, right=right), rows, vals)
    same(torch, device, lambda m, s, v: m.searchsorted(sorted_sequence=s, input=v, side=side), rows, vals)
    # a Python number: a 0-d result
    for n in (2, 2.5, -1, 9.0, True, NAN):
        same(torch, device, lambda m, s: m.searchsorted(s, n, right=right), SEQ)
        same(torch, device, lambda m, s: m.bucketize(n, s, right=right), SEQ)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_searchsorted_of_many_values_in_a_sorted_sequence(torch, device, dtype):
    """Many values against a sorted 1-d sequence without NaN take NumPy's own search: PyTorch's places
    for ties (runs of equal boundaries), values equal to boundaries, -0.0 against 0.0, infinities and
    NaN (last), both sides; an unsorted or NaN-holding sequence keeps the lane-by-lane search."""
    rng = np.random.default_rng(8)
    seq = np.sort(np.concatenate([rng.integers(-5, 6, 20), [0, 0, 0, 3, 3]])).astype(dtype)
    vals = np.concatenate([rng.uniform(-7, 7, 400), seq.astype(float), [-0.0, 0.0, np.inf, -np.inf, np.nan]])
    if dtype == "int64":
        vals = np.round(vals[np.isfinite(vals)])
    vals = vals.astype(dtype)
    unsorted = seq[::-1].copy()
    for right in (False, True):
        for sequence in (seq, unsorted):
            same(torch, device, lambda m, s, v: m.searchsorted(s, v, right=right), sequence, vals)
            same(torch, device, lambda m, v, s: m.bucketize(v, s, right=right), vals, sequence)


def test_searchsorted_of_unsorted_and_nan_sequences(torch, device):
    """Not sorted, or NaN inside: the places PyTorch's binary search finds."""
    rng = np.random.default_rng(5)
    for n in (1, 2, 3, 7, 16, 33):
        seq = rng.standard_normal((4, n))
        seq[rng.random(seq.shape) < 0.2] = NAN
        vals = np.concatenate([rng.standard_normal((4, 6)), seq[:, :2], np.full((4, 1), NAN)], axis=1)
        for right in (False, True):
            same(torch, device, lambda m, s, v: m.searchsorted(s, v, right=right), seq, vals)


def test_searchsorted_sorter(torch, device):
    seq = np.array([[3.0, 1.0, 2.0, 2.0], [0.0, 9.0, 4.0, -1.0]])
    sorter = np.argsort(seq, axis=1, kind="stable").astype(np.int64)
    vals = np.array([[2.0, 0.0, 5.0], [4.0, -2.0, 9.0]])
    for right in (False, True):
        same(torch, device, lambda m, s, v, o: m.searchsorted(s, v, right=right, sorter=o), seq, vals, sorter)
    same(torch, device, lambda m, s, o: m.searchsorted(s, 2.0, sorter=o), seq[0], sorter[0])


@pytest.mark.parametrize("seq_dtype", DTYPES[:5])
@pytest.mark.parametrize("val_dtype", DTYPES)
def test_searchsorted_promotes(torch, device, seq_dtype, val_dtype):
    """Compared in the operands' common dtype; indices are int64 (int32 asked)."""
    seq = np.sort(sample(seq_dtype, (7,), 3))
    vals = sample(val_dtype, (2, 3), 4) if val_dtype == "bool" else \
        (np.random.default_rng(4).uniform(-4, 5, (2, 3))).astype(val_dtype)
    same(torch, device, lambda m, s, v: m.searchsorted(s, v), seq, vals)
    same(torch, device, lambda m, v, s: m.bucketize(v, s, right=True, out_int32=True), vals, seq)


def test_searchsorted_empty_and_0d(torch, device):
    same(torch, device, lambda m, s, v: m.searchsorted(s, v), np.zeros(0), VALS)
    same(torch, device, lambda m, s, v: m.searchsorted(s, v), SEQ, np.zeros((2, 0)))
    same(torch, device, lambda m, s, v: m.searchsorted(s, v), np.zeros((2, 0)), np.ones((2, 3)))
    same(torch, device, lambda m, s, v: m.searchsorted(s, v), np.zeros((0, 2)), np.ones((0, 3)))
    same(torch, device, lambda m, s, v: m.searchsorted(s, v), SEQ, np.array(2.5))
    same(torch, device, lambda m, v, s: m.bucketize(v, s), np.array(2.5), SEQ)
    x = ag.tensor(VALS, requires_grad=True, device=device)
    assert not ag.searchsorted(ag.tensor(SEQ, device=device), x).requires_grad


# ---- bincount, histc ---------------------------------------------------------------------

@pytest.mark.parametrize("wdtype", [None] + DTYPES)
def test_bincount(torch, device, wdtype):
    """Weighted counts: float32 weights count in float32, any other in float64."""
    idx = np.array([0, 3, 3, 1, 7, 3])
    w = None if wdtype is None else sample(wdtype, (6,), 6)
    for ml in (0, 3, 12):
        if w is None:
            same(torch, device, lambda m, i: m.bincount(i, minlength=ml), idx)
            same(torch, device, lambda m, i: i.bincount(None, ml), idx.astype(np.int32))
        else:
            same(torch, device, lambda m, i, ww: m.bincount(i, ww, minlength=ml), idx, w)
            same(torch, device, lambda m, i, ww: i.bincount(weights=ww), idx.astype(np.int32), w)


def test_bincount_empty_and_gradients(torch, device):
    same(torch, device, lambda m, i: m.bincount(i), np.zeros(0, np.int64))
    same(torch, device, lambda m, i: m.bincount(i, minlength=4), np.zeros(0, np.int64))
    # (an empty input gives int64 zeros, whatever the weights, as PyTorch's)
    same(torch, device, lambda m, i, w: m.bincount(i, w, 3), np.zeros(0, np.int64), np.ones(4))
    # weights that require grad: a result without a formula, as PyTorch's (backward raises)
    for lib, w in ((ag, ag.ones(3, requires_grad=True, device=device)), (torch, torch.ones(3, requires_grad=True))):
        r = lib.bincount(lib.tensor([0, 2, 2], device=device) if lib is ag else lib.tensor([0, 2, 2]), w)
        assert r.requires_grad and r.grad_fn.name() == "torch::autograd::NotImplemented"
        with pytest.raises(RuntimeError, match="derivative for aten::bincount is not implemented"):
            r.sum().backward()


HIST_DATA = np.array([[0.1, 0.2, 0.3, 1.0], [2.0, -1.0, 0.5, 0.25], [0.75, 0.5, 1.5, 1.0]])


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_histc(torch, device, dtype):
    a = HIST_DATA.astype(dtype)
    for args in [(), (4,), (3, 0.1, 1.0), (5, 0, 0), (4, 0.5, 0.5), (7, -2, 2.5), (1,), (10, -0.5, 0.25)]:
        same(torch, device, lambda m, x: m.histc(x, *args), a)
    same(torch, device, lambda m, x: x.histc(bins=6, min=0.2, max=1), a)
    same(torch, device, lambda m, x: x.histc(max=1.5), a)
    # edges are counted: the left edge in its bin, the right edge in the last one
    same(torch, device, lambda m, x: m.histc(x, 4, 0, 1), np.array([0.0, 0.25, 0.5, 0.75, 1.0]).astype(dtype))


def test_histc_edge_cases(torch, device):
    same(torch, device, lambda m, x: m.histc(x, 3), np.zeros(0))                  # no data: [-1, 1]
    same(torch, device, lambda m, x: m.histc(x, 4), np.array([2.0, 2.0]))         # one value: [v-1, v+1]
    same(torch, device, lambda m, x: m.histc(x, 3), np.array(1.5))                # 0-d
    same(torch, device, lambda m, x: m.histc(x, 4, 0, 3), np.array([1.0, NAN, INF, -INF, 2.0]))  # not counted
    x = ag.tensor(HIST_DATA, requires_grad=True, device=device)
    assert not ag.histc(x).requires_grad
    for data, args, match in [(np.array([1.0, NAN]), (4,), "not finite"), (np.array([1.0, INF]), (4,), "not finite"),
                              (HIST_DATA, (4, 3, 1), "max must be larger than min"),
                              (HIST_DATA, (4, 0, NAN), "not finite"), (HIST_DATA, (0,), "bins must be > 0")]:
        with pytest.raises(RuntimeError, match="hist"):          # (PyTorch's bins message says histogram)
            torch.histc(torch.tensor(data), *args)
        with pytest.raises(RuntimeError, match=f"histc.*{match}"):
            ag.histc(ag.tensor(data, device=device), *args)
    with pytest.raises(NotImplementedError, match="histc"):
        ag.histc(ag.tensor([1, 2], device=device))


# ---- kthvalue, mode: dtypes, ties, NaN, empty ------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_kthvalue_and_mode_dtypes(torch, device, dtype):
    """Values (and indices, where only one element holds the value) as PyTorch's."""
    a = np.random.default_rng(7).permutation(24).reshape(4, 6) - 10
    a = (a > 0) if dtype == "bool" else a.astype(dtype)
    if dtype != "bool":           # (PyTorch has no bool kthvalue: NotImplementedError, as ours)
        same(torch, device, lambda m, x: tuple(m.kthvalue(x, 3, 1)), a)
        same(torch, device, lambda m, x: tuple(x.kthvalue(2, 0, True)), a)
    else:
        for lib, x in ((ag, ag.tensor(a, device=device)), (torch, torch.tensor(a))):
            with pytest.raises(NotImplementedError, match="kthvalue"):
                lib.kthvalue(x, 1)
    b = sample(dtype, (3, 9), 8)          # repeats: the last occurrence (9 elements: PyTorch's too)
    same(torch, device, lambda m, x: tuple(m.mode(x, 1)), b)
    same(torch, device, lambda m, x: tuple(x.mode(0, keepdim=True)), b)


def test_kthvalue_nan_and_inf(torch, device):
    a = np.array([[1.0, NAN, -INF, 2.0], [INF, 0.5, -1.0, 3.0]])
    for k in (1, 2, 3, 4):                  # NaN is the largest
        same(torch, device, lambda m, x: tuple(m.kthvalue(x, k)), a)


def test_kthvalue_and_mode_empty(torch, device):
    same(torch, device, lambda m, x: tuple(m.kthvalue(x, 1, 0)), np.zeros((2, 0)))
    same(torch, device, lambda m, x: tuple(m.mode(x, 0)), np.zeros((2, 0)))
    same(torch, device, lambda m, x: tuple(x.kthvalue(2, 1, True)), np.zeros((0, 3)))
    for lib, x in ((ag, ag.zeros(2, 0, device=device)), (torch, torch.zeros(2, 0))):
        with pytest.raises(IndexError, match="kthvalue.*non-zero size"):
            lib.kthvalue(x, 1, 1)
        with pytest.raises(IndexError, match="mode.*non-zero size"):
            lib.mode(x)
        with pytest.raises(RuntimeError, match="kthvalue.*k out of range"):
            lib.kthvalue(x, 3, 0)


def test_kthvalue_ties_pick_a_stable_index(torch, device):
    """Of equal values PyTorch's quickselect returns one index or another (it
    depends on its partitioning); ours is the k-th of a stable sort. The values
    are PyTorch's; the index points at one of them; the gradient goes there."""
    a = np.random.default_rng(9).integers(0, 4, (5, 40)).astype(float)
    x = ag.tensor(a, requires_grad=True, device=device)
    v, i = x.kthvalue(17, 1)
    np.testing.assert_array_equal(to_numpy(v), torch.tensor(a).kthvalue(17, 1).values.numpy())
    stable = np.argsort(a, 1, kind="stable")[:, 16]
    np.testing.assert_array_equal(to_numpy(i), stable)
    v.sum().backward()
    expected = np.zeros_like(a)
    expected[np.arange(5), stable] = 1
    np.testing.assert_array_equal(to_numpy(x.grad), expected)


def test_mode_of_long_rows_takes_the_last_occurrence(torch, device):
    """Past 16 elements PyTorch's CPU mode sorts unstably: its index is any
    occurrence of the mode. Ours stays the last one; the values are PyTorch's."""
    a = np.random.default_rng(11).integers(0, 4, (6, 50)).astype(float)
    v, i = ag.tensor(a, device=device).mode(1)
    np.testing.assert_array_equal(to_numpy(v), torch.tensor(a).mode(1).values.numpy())
    last = [np.flatnonzero(row == val)[-1] for row, val in zip(a, to_numpy(v))]
    np.testing.assert_array_equal(to_numpy(i), last)


# ---- isin ---------------------------------------------------------------------------------

@pytest.mark.parametrize("edtype", DTYPES[:5])
@pytest.mark.parametrize("tdtype", DTYPES[:5])
def test_isin_promotes(torch, device, edtype, tdtype):
    e = (np.arange(-6, 6).reshape(3, 4) * 0.5).astype(edtype)
    t = np.array([0.5, 1.0, -2.0, 3.0, 2.5]).astype(tdtype)
    same(torch, device, lambda m, a, b: m.isin(a, b), e, t)
    same(torch, device, lambda m, a, b: m.isin(a, b, invert=True), e, t)
    same(torch, device, lambda m, a, b: m.isin(elements=a, test_elements=b, assume_unique=True), e, t)


def test_isin_numbers_nan_and_empty(torch, device):
    e = np.array([[1.0, NAN, INF], [-0.0, 2.0, 3.0]])
    for t in (np.array([NAN, 0.0, INF, 2.0]), 2.0, 2, INF, NAN, np.zeros(0), np.array(3.0)):
        same(torch, device, lambda m, a, b: m.isin(a, b), e, t)
        same(torch, device, lambda m, a, b: m.isin(a, b, invert=True), e.astype(np.float32), t)
    for n in (2.0, 2, 5, NAN):
        same(torch, device, lambda m, b: m.isin(n, b), e)
    same(torch, device, lambda m, a, b: m.isin(a, b), np.zeros((0, 3)), e)
    same(torch, device, lambda m, a, b: m.isin(a, b), np.arange(4), 2.5)          # int vs 2.5: compared as floats
    for lib, x in ((ag, ag.tensor([True, False], device=device)), (torch, torch.tensor([True, False]))):
        with pytest.raises(RuntimeError, match="isin"):
            lib.isin(x, x)
    with pytest.raises(TypeError, match="isin"):
        ag.isin(2, 3)


# ---- tril_indices, triu_indices -------------------------------------------------------------

@pytest.mark.parametrize("name", ["tril_indices", "triu_indices"])
def test_tri_indices(torch, device, name):
    for row, col in ((3, 3), (3, 5), (5, 2), (0, 4), (4, 0), (1, 1)):
        for offset in (0, 1, -1, 2, -3, 10, -10):
            ours = getattr(ag, name)(row, col, offset, device=device)
            ref = getattr(torch, name)(row, col, offset)
            assert ours.dtype is ag.int64 and ours.device == ag.device(device)
            np.testing.assert_array_equal(to_numpy(ours), ref.numpy())
    ours = getattr(ag, name)(4, 3, dtype=ag.int32, device=device)
    assert ours.dtype is ag.int32
    np.testing.assert_array_equal(to_numpy(ours), getattr(torch, name)(4, 3, dtype=torch.int32).numpy())
    for bad in (ag.float32, ag.bool):
        with pytest.raises(NotImplementedError, match=name):
            getattr(ag, name)(3, 3, dtype=bad)
    with pytest.raises(RuntimeError, match=f"{name}.*row must be non-negative"):
        getattr(ag, name)(-1, 3)


# ---- unique_consecutive ----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_unique_consecutive(torch, device, dtype):
    a = sample(dtype, (3, 8), 12, 0, 2)
    for kw in ({}, dict(return_inverse=True), dict(return_counts=True),
               dict(return_inverse=True, return_counts=True)):
        same(torch, device, lambda m, x: m.unique_consecutive(x, **kw), a)
        same(torch, device, lambda m, x: x.unique_consecutive(**kw, dim=None), a)
        same(torch, device, lambda m, x: m.unique_consecutive(x, **kw, dim=0), np.repeat(a, 2, axis=0))
        same(torch, device, lambda m, x: x.unique_consecutive(**kw, dim=-1), np.repeat(a, [1, 2, 1, 1, 3, 1, 1, 2], 1))


def test_unique_consecutive_edge_cases(torch, device):
    kw = dict(return_inverse=True, return_counts=True)
    for a in (np.array([NAN, NAN, 1.0, 1.0, -0.0, 0.0]), np.array(3.0), np.zeros(0), np.zeros((0, 2)),
              np.array([[NAN], [NAN], [1.0]])):
        same(torch, device, lambda m, x: m.unique_consecutive(x, **kw), a)      # each NaN its own run
    same(torch, device, lambda m, x: m.unique_consecutive(x, **kw, dim=0), np.array([[NAN], [NAN], [1.0]]))
    same(torch, device, lambda m, x: m.unique_consecutive(x, **kw, dim=0), np.zeros((0, 2)))
    same(torch, device, lambda m, x: m.unique_consecutive(x, **kw, dim=1), np.zeros((2, 0, 2)))
    for lib, x in ((ag, ag.zeros(2, 0, device=device)), (torch, torch.zeros(2, 0))):
        with pytest.raises(RuntimeError, match="0 sized dimensions"):
            lib.unique_consecutive(x, dim=0)
    for lib, x in ((ag, ag.tensor(3.0, device=device)), (torch, torch.tensor(3.0))):
        with pytest.raises(IndexError, match="no dimensions"):
            lib.unique_consecutive(x, dim=0)
    # recorded, and backward raises (PyTorch's UniqueConsecutiveBackward0)
    for lib, x in ((ag, ag.tensor([1.0, 1.0, 2.0], requires_grad=True, device=device)),
                   (torch, torch.tensor([1.0, 1.0, 2.0], requires_grad=True))):
        u = lib.unique_consecutive(x)
        assert u.requires_grad and u.grad_fn.name() == "UniqueConsecutiveBackward0"
        with pytest.raises(NotImplementedError, match="the derivative for 'unique_consecutive' is not implemented"):
            u.sum().backward()


# ---- bad input: a few messages (the fuzz specs cover the rest) ------------------------------------

@pytest.mark.parametrize("call, kind, match", [
    (lambda x: ag.searchsorted(x, x.t()), RuntimeError, "searchsorted.*first N-1 dimensions"),
    (lambda x: ag.searchsorted(x[0, 0], x), RuntimeError, "searchsorted.*positive dimension"),
    (lambda x: ag.searchsorted(x, x, side="middle"), RuntimeError, "searchsorted.*'left' or 'right'"),
    (lambda x: ag.searchsorted(x, x, side="left", right=True), RuntimeError, "searchsorted.*opposites"),
    (lambda x: ag.searchsorted(x[0], x, sorter=ag.tensor([0, 1, 5], device=x.device)), RuntimeError,
     "searchsorted.*sorter index out of range"),
    (lambda x: ag.searchsorted(x[0], x, sorter=x[0]), RuntimeError, "searchsorted.*long dtype"),
    (lambda x: ag.searchsorted(x, "a"), TypeError, "searchsorted"),
    (lambda x: ag.bucketize(x, x), RuntimeError, "bucketize.*1 dimension"),
    (lambda x: ag.bincount(x), NotImplementedError, "bincount.*Float"),
    (lambda x: ag.bincount(ag.tensor([1, -1], device=x.device)), RuntimeError, "bincount.*non-negative"),
    (lambda x: ag.bincount(ag.tensor([1, 1], device=x.device), x), RuntimeError, "bincount.*same length"),
    (lambda x: ag.bincount(ag.tensor([1, 1], device=x.device), minlength=-1), RuntimeError, "bincount.*minlength"),
    (lambda x: x.kthvalue(4), RuntimeError, "kthvalue.*k out of range"),
    (lambda x: x.kthvalue(1.5), TypeError, "kthvalue.*'k'"),
    (lambda x: x.mode(2), IndexError, "mode.*Dimension out of range"),
    (lambda x: x.argsort(descending=1), TypeError, "argsort.*descending"),
    (lambda x: x.nonzero(as_tuple=None), TypeError, "nonzero.*as_tuple"),
    (lambda x: x.unique_consecutive(return_counts=1), TypeError, "unique_consecutive.*return_counts"),
    (lambda x: ag.msort([1, 2]), TypeError, "msort.*Tensor"),
    (lambda x: ag.argsort(2.0), TypeError, "argsort.*Tensor"),
])
def test_bad_input(device, call, kind, match):
    x = ag.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device)
    with pytest.raises(kind, match=match):
        call(x)


def test_mixed_devices_raise_naming_both(fake_cuda):
    x, y = ag.tensor([1.0, 2.0]), ag.tensor([1.0, 2.0], device="cuda")
    for call in (lambda: ag.searchsorted(x, y), lambda: ag.bucketize(y, x), lambda: ag.isin(x, y),
                 lambda: ag.bincount(ag.tensor([0, 1]), y)):
        with pytest.raises(RuntimeError, match=r"cpu.*cuda:0|cuda:0.*cpu"):
            call()


# topk of k up to a quarter of the dim (NumPy, no NaN) selects with one partition, not a full sort
# (1000 x 1000, k = 10, forward and backward: 52 -> 10 ms), or, where the dim has 16 k elements or
# more, among the elements reaching the k-th best of 4 k groups' best (10 -> 3.2 ms); a row with many
# candidates (heavy ties) partitions. Its choice among equal values stays the full stable sort's: the
# first k of NumPy's stable argsort (of -x for the largest), by index among ties.
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int8", "uint8"])
def test_topk_is_the_first_k_of_a_stable_sort(torch, dtype):
    rng = np.random.default_rng(11)
    for trial in range(200):
        shape = tuple(int(n) for n in rng.integers(1, 6, 2)) + (int(rng.integers(8, 40 if trial < 100 else 400)),)
        axis = int(rng.integers(-3, 3))
        n = shape[axis]
        k = int(rng.integers(1, max(n // (4 if trial % 3 else 16), 1) + 1))   # (a short dim: the full sort)
        x = rng.integers(-3, 4, shape) if trial % 2 else rng.standard_normal(shape) * 50
        if trial % 4 == 1:                                   # (few ties: candidates, not a partition)
            x = rng.integers(-10 ** 6, 10 ** 6, shape) if dtype in ("int64", "float64", "float32") else x
        x = x.astype(dtype) if dtype != "uint8" else np.abs(x).astype(dtype)
        if dtype.startswith("float") and trial % 5 == 0:
            x.reshape(-1)[rng.integers(0, x.size, 3)] = [np.inf, -np.inf, np.inf]
        for largest in (True, False):
            key = x.astype(np.float64)
            order = np.argsort(-key if largest else key, axis=axis, kind="stable")
            want = np.take(order, np.arange(k), axis=axis)
            values, indices = ag.tensor(x).topk(k, axis, largest)
            np.testing.assert_array_equal(indices.numpy(), want)
            theirs = torch.from_numpy(x).topk(k, axis, largest)
            np.testing.assert_array_equal(values.numpy(), theirs.values.numpy())
    a = ag.tensor(rng.standard_normal((30, 40)), requires_grad=True)        # the gradient goes to the picks
    a.topk(5, 1).values.sum().backward()
    t = torch.tensor(a.detach().numpy(), requires_grad=True)
    t.topk(5, 1).values.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), t.grad.numpy())


def test_kth_of_a_stable_sort_without_sorting_is_numpys_stable_argsort():
    """kthvalue's and median's index: entry k of the stable argsort along an axis, found by a partition
    and, among the elements equal to the k-th value, the one the stable order puts at k: bit for bit
    np.argsort(kind="stable")'s entry, for heavy ties, NaNs (the largest; rows of NaN only), signed
    zeros and infinities, integers, every axis, k at either end."""
    from autograd_gpu.ops.sorting import kth_of_stable_argsort
    rng = np.random.default_rng(11)
    for trial in range(300):
        shape = tuple(int(n) for n in rng.integers(1, 7, rng.integers(1, 4)))
        if trial % 3 == 0:
            a = rng.integers(-2, 3, shape).astype(rng.choice([np.int64, np.int32, np.float32]))
        else:
            a = rng.choice([-np.inf, -1.5, -0.0, 0.0, 0.5, 2.0, np.inf, np.nan], shape) if trial % 3 == 1 \
                else rng.standard_normal(shape)
        axis = int(rng.integers(0, a.ndim))
        k = int(rng.integers(0, a.shape[axis]))
        expected = np.take(np.argsort(a, axis, kind="stable"), [k], axis)
        np.testing.assert_array_equal(kth_of_stable_argsort(a, k, axis), expected, err_msg=f"{a!r} {k} {axis}")


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8", "bool"])
def test_unique_of_many_integers_in_a_narrow_range_matches_pytorch(torch, device, dtype):
    """unique of 4096 integers or more whose range is at most twice their number counts per value
    (no sort): values, inverse (the input's shape) and counts are PyTorch's and np.unique's, negative
    values included; a wider range (the sort) too."""
    rng = np.random.default_rng(4)
    wide = np.iinfo(dtype).max if dtype != "bool" else 1
    for lo, hi in ((0 if dtype in ("uint8", "bool") else -50, 2 if dtype == "bool" else 100), (0, wide)):
        a = rng.integers(lo, hi, (64, 90), endpoint=hi == wide).astype(dtype)
        values, inverse, counts = ag.unique(ag.tensor(a, device=device), return_inverse=True, return_counts=True)
        t = torch.unique(torch.tensor(a), return_inverse=True, return_counts=True)
        for ours, theirs in zip((values, inverse, counts), t):
            assert ours.shape == tuple(theirs.shape) and str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
            np.testing.assert_array_equal(to_numpy(ours), theirs.numpy())
        expected = np.unique(a, return_inverse=True, return_counts=True)
        np.testing.assert_array_equal(to_numpy(inverse).reshape(-1), expected[1].reshape(-1))
