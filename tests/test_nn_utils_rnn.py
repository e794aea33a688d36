"""ag.nn.utils.rnn (PackedSequence, pack_padded_sequence, pad_packed_sequence,
pad_sequence, pack_sequence, unpack_sequence, unpad_sequence) against
PyTorch CPU: packed data, batch_sizes and both index tensors equal to
PyTorch's, values and gradients through packing and padding (and their
finite-difference checks, second order too), float16, zero-length
sequences, NaN, PackedSequence's conversions, and PyTorch's exception types.
The recurrent layers fed packed sequences are in test_nn_rnn.py."""
import numpy as np
import pytest

import autograd_gpu as ag
from autograd_gpu.nn.utils import rnn as R
from oracle import case_tests

NO_NAME = {"name": False}               # composites: grad_fn names are not PyTorch's


def U(L):
    return L.nn.utils.rnn


CASES = [
    ("pack_padded sorted", lambda L, x: U(L).pack_padded_sequence(x, [4, 3, 3, 1]).data, [(4, 4, 2)], {}),
    ("pack_padded unsorted batch_first",
     lambda L, x: U(L).pack_padded_sequence(x, [2, 5, 1, 3], batch_first=True, enforce_sorted=False).data,
     [(4, 5, 2)], {}),
    ("pack_padded no feature dims", lambda L, x: U(L).pack_padded_sequence(x, [3, 3, 1]).data, [(3, 3)], {}),
    ("pack_padded trailing dims lengths tensor",
     lambda L, x: U(L).pack_padded_sequence(x, L.tensor([1, 3]), enforce_sorted=False).data, [(3, 2, 2, 3)], {}),
    ("pad_packed round trip",
     lambda L, x: U(L).pad_packed_sequence(U(L).pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False),
                                           batch_first=True, padding_value=-1.5, total_length=6)[0],
     [(4, 3, 2)], NO_NAME),
    ("pad_sequence", lambda L, a, b, c: U(L).pad_sequence([a, b, c]), [(3, 2), (5, 2), (1, 2)], NO_NAME),
    ("pad_sequence left batch_first",
     lambda L, a, b, c: U(L).pad_sequence((a, b, c), batch_first=True, padding_value=2.0, padding_side="left"),
     [(3, 2, 2), (1, 2, 2), (4, 2, 2)], NO_NAME),
    ("pad_sequence broadcast rows", lambda L, a, b: U(L).pad_sequence([a, b]), [(3, 2), (2,)], NO_NAME),
    ("pack_sequence unsorted", lambda L, a, b, c: U(L).pack_sequence([a, b, c], enforce_sorted=False).data,
     [(2, 3), (4, 3), (3, 3)], {}),
    ("unpack_sequence", lambda L, x: L.cat(U(L).unpack_sequence(U(L).pack_padded_sequence(
        x, [3, 1, 4], enforce_sorted=False))), [(4, 3, 2)], NO_NAME),
    ("unpad_sequence", lambda L, x: L.cat(U(L).unpad_sequence(x * 1, L.tensor([3, 1, 2]))), [(3, 3, 2)], NO_NAME),
    ("unpad_sequence batch_first",
     lambda L, x: L.cat(U(L).unpad_sequence(x, L.tensor([2, 4]), batch_first=True)), [(2, 4)], NO_NAME),
]

test_against_pytorch, test_gradcheck, test_second_order = case_tests(CASES)


def _np(t):
    return t.detach().cpu().numpy()


def _pair(torch, a, device, dtype="float64", requires_grad=False):
    return (ag.tensor(a, dtype=getattr(ag, dtype), device=device, requires_grad=requires_grad),
            torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=requires_grad))


def _same_packed(ours, theirs, device):
    """Every field equal to PyTorch's, batch_sizes on the CPU and the indices on data's device."""
    assert type(ours) is R.PackedSequence
    np.testing.assert_array_equal(_np(ours.data), theirs.data.detach().numpy())
    assert ours.batch_sizes.tolist() == theirs.batch_sizes.tolist()
    assert ours.batch_sizes.dtype == ag.int64 and ours.batch_sizes.device == ag.device("cpu")
    for name in ("sorted_indices", "unsorted_indices"):
        a, b = getattr(ours, name), getattr(theirs, name)
        assert (a is None) == (b is None), name
        if a is not None:
            assert a.tolist() == b.tolist() and a.dtype == ag.int64 and a.device == ag.device(device), name


@pytest.mark.parametrize("lengths,batch_first,enforce_sorted", [
    ([5, 3, 3, 2, 1], False, True), ([5, 5, 5, 5, 5], True, True), ([2, 5, 2, 1, 5], False, False),
    ([3, 1, 3, 4, 1], True, False), ([1], False, True)])
def test_round_trips_against_pytorch(torch, device, lengths, batch_first, enforce_sorted):
    T, B = max(lengths) + 1, len(lengths)
    a = np.random.default_rng(0).standard_normal((B, T, 3) if batch_first else (T, B, 3))
    x, xt = _pair(torch, a, device)
    ours = R.pack_padded_sequence(x, lengths, batch_first, enforce_sorted)
    theirs = torch.nn.utils.rnn.pack_padded_sequence(xt, lengths, batch_first, enforce_sorted)
    _same_packed(ours, theirs, device)
    for first in (False, True):
        for total in (None, T + 2):
            p, n = R.pad_packed_sequence(ours, first, 7.0, total)
            pt, nt = torch.nn.utils.rnn.pad_packed_sequence(theirs, first, 7.0, total)
            np.testing.assert_array_equal(_np(p), pt.numpy())
            assert n.tolist() == nt.tolist() and n.dtype == ag.int64 and n.device == ag.device("cpu")
            assert p.device == ag.device(device)
    seqs = [x[:n, b] if not batch_first else x[b, :n] for b, n in enumerate(lengths)]
    seqs_t = [xt[:n, b] if not batch_first else xt[b, :n] for b, n in enumerate(lengths)]
    _same_packed(R.pack_sequence(seqs, enforce_sorted), torch.nn.utils.rnn.pack_sequence(seqs_t, enforce_sorted),
                 device)
    for got, want in zip(R.unpack_sequence(ours), torch.nn.utils.rnn.unpack_sequence(theirs)):
        np.testing.assert_array_equal(_np(got), want.numpy())


def test_gradients_through_pack_and_pad(torch, device):
    """pack -> pad -> unpad chains: every input's gradient as PyTorch's, and create_graph works through them."""
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((n, 2)) for n in (2, 4, 3)]
    results = []
    for lib, dev in ((ag, device), (torch, None)):
        seqs = [lib.tensor(a, requires_grad=True, **({"device": dev} if dev else {})) for a in arrays]
        packed = lib.nn.utils.rnn.pack_sequence(seqs, enforce_sorted=False)
        padded, lengths = lib.nn.utils.rnn.pad_packed_sequence(packed, batch_first=True, total_length=5)
        loss = (padded ** 3).sum() + sum((s ** 2).sum() for s in lib.nn.utils.rnn.unpad_sequence(padded, lengths, True))
        grads = lib.autograd.grad(loss, seqs, create_graph=True)
        second = lib.autograd.grad(sum((g ** 2).sum() for g in grads), seqs)
        results.append(grads + second)
    for a, b in zip(*results):
        np.testing.assert_allclose(_np(a), b.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_float16_integers_and_nan(torch, device):
    a = np.random.default_rng(2).standard_normal((4, 3, 2))
    a[3, 2] = np.nan                            # in a padded position: packing drops it
    a[0, 1, 0] = np.nan
    for dtype in ("float16", "float32", "int64"):
        x, xt = (ag.tensor(a, device=device).to(getattr(ag, dtype)), torch.tensor(a).to(getattr(torch, dtype))) \
            if dtype != "int64" else _pair(torch, np.nan_to_num(a) * 10, device, dtype)
        ours = R.pack_padded_sequence(x, [3, 4, 2], enforce_sorted=False)
        theirs = torch.nn.utils.rnn.pack_padded_sequence(xt, [3, 4, 2], enforce_sorted=False)
        _same_packed(ours, theirs, device)
        assert ours.data.dtype == getattr(ag, dtype)
        p, pt = R.pad_packed_sequence(ours, padding_value=1.5)[0], \
            torch.nn.utils.rnn.pad_packed_sequence(theirs, padding_value=1.5)[0]
        np.testing.assert_array_equal(_np(p), pt.numpy())       # an int64 padding of 1.5 is 1, as PyTorch's
        seqs = [x[:2, 0], x[:, 1]]
        theirs = torch.nn.utils.rnn.pad_sequence([xt[:2, 0], xt[:, 1]], padding_value=-2.0)
        np.testing.assert_array_equal(_np(R.pad_sequence(seqs, padding_value=-2.0)), theirs.numpy())
    assert np.isnan(_np(R.pack_padded_sequence(ag.tensor(a, device=device), [3, 4, 2], enforce_sorted=False)
                        .data)).sum() == 1


def test_zero_length_and_mixed_dtypes(torch, device):
    cases = [lambda L: [L.zeros(0, 2), L.zeros(0, 2)], lambda L: [L.ones(2, 2), L.zeros(0, 2), L.ones(1, 2)],
             lambda L: [L.ones(3), L.arange(2)], lambda L: [L.arange(3), L.ones(2, dtype=L.float64)]]
    for make in cases:
        for side in ("left", "right"):
            ours = R.pad_sequence([s.to(device) for s in make(ag)], padding_value=5, padding_side=side)
            theirs = torch.nn.utils.rnn.pad_sequence(make(torch), padding_value=5, padding_side=side)
            assert ours.dtype == getattr(ag, str(theirs.dtype).split(".")[1])
            np.testing.assert_array_equal(_np(ours), theirs.numpy())
    x, xt = _pair(torch, np.arange(12.0).reshape(3, 2, 2), device)
    for n in ([0, 5], [3, -1]):
        ours = R.unpad_sequence(x, ag.tensor(n), batch_first=False)
        theirs = torch.nn.utils.rnn.unpad_sequence(xt.clone(), torch.tensor(n))
        assert [tuple(s.shape) for s in ours] == [tuple(s.shape) for s in theirs]


def test_packed_sequence_api(torch, device):
    x = ag.tensor(np.random.default_rng(3).standard_normal((3, 2, 2)), device=device)
    p = R.pack_padded_sequence(x, [2, 3], enforce_sorted=False)
    data, batch_sizes, sorted_indices, unsorted_indices = p            # a namedtuple, as PyTorch's
    assert isinstance(p, tuple) and len(p) == 4 and p._fields == torch.nn.utils.rnn.PackedSequence._fields
    assert data is p.data and batch_sizes is p.batch_sizes and p[2] is sorted_indices
    assert repr(p).startswith("PackedSequence(data=torch_tensor")
    assert p.is_cuda == (device == "cuda") and p.double() is p and p.to(ag.float64) is p and p.to(device) is p
    f = p.float()           # a copy: data converted, the index tensors as they were
    assert f.data.dtype == ag.float32 and f.sorted_indices.dtype == ag.int64 and f.batch_sizes is p.batch_sizes
    assert p.half().data.dtype == ag.float16 and p.long().data.dtype == ag.int64 and p.int().data.dtype == ag.int32
    assert p.short().data.dtype == ag.int16 and p.char().data.dtype == ag.int8 and p.byte().data.dtype == ag.uint8
    c = p.cpu()
    assert (c is p) == (device == "cpu")
    assert c.data.device == c.sorted_indices.device == c.unsorted_indices.device == ag.device("cpu")
    assert c.batch_sizes.device == ag.device("cpu")
    if device == "cuda":
        back = c.to("cuda")
        assert back.sorted_indices.device == back.data.device == ag.device("cuda:0") and back.is_cuda
        assert c.cuda().is_cuda
        with pytest.raises(ValueError, match="PackedSequence: batch_sizes should always be on CPU"):
            R.PackedSequence(p.data, p.batch_sizes.to(device))
    again = R.PackedSequence((p.data, p.batch_sizes), sorted_indices=p.sorted_indices)
    assert again.unsorted_indices.tolist() == p.unsorted_indices.tolist()
    assert R.PackedSequence(p.data, p.batch_sizes).unsorted_indices is None
    with pytest.raises(AssertionError, match="PackedSequence: expected data"):
        R.PackedSequence(p.data)
    perm = [3, 0, 4, 1, 2]
    assert R.invert_permutation(ag.tensor(perm, device=device)).tolist() == \
        torch.nn.utils.rnn.invert_permutation(torch.tensor(perm)).tolist()
    assert R.invert_permutation(None) is None
    assert set(R.__all__) == set(torch.nn.utils.rnn.__all__)
    assert ag.nn.utils.rnn.pad_sequence is R.pad_sequence


def _bad_table(L, **on):
    """(function name, call) pairs that PyTorch refuses, and the tensors they take; `on` places ours."""
    r = L.nn.utils.rnn
    x = L.zeros(3, 4, 2, **on)
    seqs = [L.ones(2, 2, **on), L.ones(3, 2, **on)]
    packed = r.pack_padded_sequence(x, [3, 2, 2, 1])
    return [
        ("pack_padded_sequence", lambda: r.pack_padded_sequence(x, [3, 1, 2, 1])),
        ("pack_padded_sequence", lambda: r.pack_padded_sequence(x, [3, 2, 2, 0])),
        ("pack_padded_sequence", lambda: r.pack_padded_sequence(x, [3, 2, 0, 1], enforce_sorted=False)),
        ("pack_padded_sequence", lambda: r.pack_padded_sequence(x, [3, 2, 2])),
        ("pack_padded_sequence", lambda: r.pack_padded_sequence(x, [3, 3, 2, 1, 1], enforce_sorted=False)),
        ("pack_padded_sequence", lambda: r.pack_padded_sequence(x, L.tensor([[3, 2, 2, 1]]))),
        ("pack_padded_sequence", lambda: r.pack_padded_sequence(x, 3)),
        ("pack_padded_sequence", lambda: r.pack_padded_sequence(x, "abcd")),
        ("pack_padded_sequence", lambda: r.pack_padded_sequence(x, None)),
        ("pack_padded_sequence", lambda: r.pack_padded_sequence(L.zeros(3, **on), [3])),
        ("pack_padded_sequence", lambda: r.pack_padded_sequence(L.zeros(3, 4, 0, **on), [3, 2, 2, 1])),
        ("pack_padded_sequence", lambda: r.pack_padded_sequence(L.zeros(0, 4, 2, **on), [3, 2, 2, 1])),
        ("pad_packed_sequence", lambda: r.pad_packed_sequence(packed, total_length=2)),
        ("pad_packed_sequence", lambda: r.pad_packed_sequence(r.PackedSequence(packed.data, packed.batch_sizes.int()))),
        ("pad_sequence", lambda: r.pad_sequence([])),
        ("pad_sequence", lambda: r.pad_sequence(3)),
        ("pad_sequence", lambda: r.pad_sequence([seqs[0], 5])),
        ("pad_sequence", lambda: r.pad_sequence([seqs[0], L.ones(2, 3, **on)])),
        ("pad_sequence", lambda: r.pad_sequence([seqs[0], L.ones(2, 3, 2, **on)])),
        ("pad_sequence", lambda: r.pad_sequence([L.ones((), **on), L.ones(3, **on)])),
        ("pad_sequence", lambda: r.pad_sequence([L.ones(3, **on), L.ones((), **on)])),
        ("pad_sequence", lambda: r.pad_sequence(seqs, padding_side="middle")),
        ("pad_sequence", lambda: r.pad_sequence(seqs, padding_side=None)),
        ("pad_sequence", lambda: r.pad_sequence(seqs, padding_value=None)),
        ("pack_sequence", lambda: r.pack_sequence([])),
        ("pack_sequence", lambda: r.pack_sequence(seqs)),
        ("pack_sequence", lambda: r.pack_sequence([seqs[1], L.ones(0, 2, **on)], enforce_sorted=False)),
        ("unpad_sequence", lambda: r.unpad_sequence(L.zeros(3, 2, **on), L.tensor([3]), batch_first=True)),
        ("unpad_sequence", lambda: r.unpad_sequence(x, L.tensor([3, 1]))),     # (PyTorch's transposes x first)
    ], [x] + seqs + [packed.data]


def test_bad_input(torch, device):
    """PyTorch's exception type, a message naming the function, and every input left as it was."""
    ours, kept = _bad_table(ag, device=device)
    theirs, _ = _bad_table(torch)
    before = [(_np(t).copy(), t._version, tuple(t.shape)) for t in kept]
    for i, ((name, call), (_, ref)) in enumerate(zip(ours, theirs)):
        with pytest.raises(Exception) as want:
            ref()
        with pytest.raises(type(want.value), match=name) as got:
            call()
        assert type(got.value) is type(want.value), (i, got.value, want.value)
    for t, (values, version, shape) in zip(kept, before):
        assert np.array_equal(_np(t), values) and t._version == version and tuple(t.shape) == shape
    if device == "cuda":        # lengths must be on the CPU (PyTorch's RuntimeError); no silent copies
        for lengths in (ag.tensor([3, 2, 2, 1], device=device), ag.tensor([2, 3, 1, 2], device=device)):
            with pytest.raises(RuntimeError, match="pack_padded_sequence: 'lengths' argument should be a 1D CPU"):
                R.pack_padded_sequence(kept[0], lengths, enforce_sorted=False)
        with pytest.raises(RuntimeError, match="pad_sequence: sequence 1 is on cpu but sequence 0 is on cuda:0"):
            R.pad_sequence([kept[1], ag.ones(3, 2)])


def test_divergences(torch):
    """Kept on purpose, each against what PyTorch does."""
    tr = torch.nn.utils.rnn
    # lengths past the input's time steps: PyTorch packs fewer rows than its batch_sizes describe
    bad = tr.pack_padded_sequence(torch.zeros(3, 4, 2), [4, 3, 2, 1])
    assert bad.data.shape[0] == 9 and int(bad.batch_sizes.sum()) == 10
    with pytest.raises(RuntimeError, match="pack_padded_sequence: a length \\(4\\) is larger than the 3 time steps"):
        R.pack_padded_sequence(ag.zeros(3, 4, 2), [4, 3, 2, 1])
    # fewer lengths than sequences with enforce_sorted=False: PyTorch silently packs a subset of the batch
    assert tr.pack_padded_sequence(torch.zeros(3, 4, 2), [3, 2], enforce_sorted=False).batch_sizes.tolist() == [2, 2, 1]
    with pytest.raises(RuntimeError, match="pack_padded_sequence: Expected `len\\(lengths\\)`"):
        R.pack_padded_sequence(ag.zeros(3, 4, 2), [3, 2], enforce_sorted=False)
    # PyTorch's unpad_sequence transposes its argument in place (so refuses a leaf that requires grad) and
    # needs lengths as a tensor; ours leaves the argument alone and also takes a list
    t = torch.zeros(3, 2, 4)
    tr.unpad_sequence(t, torch.tensor([3, 1]))
    assert tuple(t.shape) == (2, 3, 4)
    with pytest.raises(RuntimeError):
        tr.unpad_sequence(torch.zeros(3, 2, 4, requires_grad=True), torch.tensor([3, 1]))
    with pytest.raises(AttributeError):
        tr.unpad_sequence(torch.zeros(3, 2, 4), [3, 1])
    x = ag.zeros(3, 2, 4, requires_grad=True)
    assert [tuple(s.shape) for s in R.unpad_sequence(x, [3, 1])] == [(3, 4), (1, 4)] and tuple(x.shape) == (3, 2, 4)
    # a Tensor where a PackedSequence belongs: PyTorch's AttributeError, our TypeError
    for fn, ref in ((R.pad_packed_sequence, tr.pad_packed_sequence), (R.unpack_sequence, tr.unpack_sequence)):
        with pytest.raises(AttributeError):
            ref(torch.zeros(3, 2))
        with pytest.raises(TypeError, match=f"{fn.__name__}: expected a PackedSequence, got Tensor"):
            fn(ag.zeros(3, 2))


# Bug: pack_padded_sequence sliced the input once per distinct length and joined the pieces: each slice's
# backward a zero-filled copy of the whole input (200 steps of 128 sequences of 128, all lengths distinct:
# 218 ms, PyTorch 4 ms). Now one gather, PyTorch's one node; the gradient lands where the rows came from.
def test_pack_padded_sequence_is_one_gather_node(torch, device):
    from oracle import graph_node_names
    lengths = [9, 7, 6, 6, 4, 2, 1]
    x_np = np.random.default_rng(2).standard_normal((9, 7, 3))
    x = ag.tensor(x_np, device=device, requires_grad=True)
    data = R.pack_padded_sequence(x, lengths).data
    names = graph_node_names(data)
    assert names[0] == "PackPaddedSequenceBackward0" and "SliceBackward0" not in names and "CatBackward0" not in names
    xt = torch.tensor(x_np, requires_grad=True)
    ref = torch.nn.utils.rnn.pack_padded_sequence(xt, lengths).data
    w = np.random.default_rng(3).standard_normal(tuple(ref.shape))
    (data * ag.tensor(w, device=device)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(_np(data), ref.detach().numpy())
    np.testing.assert_array_equal(_np(x.grad), xt.grad.numpy())
