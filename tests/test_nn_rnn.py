"""ag.nn recurrent layers (RNN, LSTM, GRU and their cells) against PyTorch
CPU: PyTorch's state dict loaded into ours (and ours into PyTorch's), then
outputs, final states and every parameter's gradient compared, over the
layer options, padded and packed (PackedSequence) input, and LSTM
projections (proj_size); second order by create_graph; reprs, state-dict
keys, initialisation bounds, exception types."""
import copy
import warnings

import numpy as np
import pytest

import autograd_gpu as ag
from autograd_gpu import nn
from autograd_gpu.nn.utils import rnn as R
from oracle import backward_outcome, graph_node_names

TOL = {"float64": dict(rtol=1e-9, atol=1e-11), "float32": dict(rtol=1e-4, atol=1e-5),
       "float16": dict(rtol=2e-2, atol=2e-2)}
KINDS = ["RNN", "RNN_relu", "LSTM", "GRU"]


def _np(t):
    return t.detach().cpu().numpy()


def _close(ours, theirs, dtype, what):
    assert ours is not None and theirs is not None, what
    a, b = _np(ours), theirs.detach().numpy()
    assert a.shape == b.shape, f"{what}: {a.shape} != {b.shape}"
    np.testing.assert_allclose(a, b, err_msg=what, **TOL[dtype])


def _layers(torch, kind, *args, **kw):
    """(ours, PyTorch's) of the same kind and options, PyTorch's weights copied into ours."""
    name, extra = (kind, {}) if kind != "RNN_relu" else ("RNN", {"nonlinearity": "relu"})
    dtype = kw.pop("dtype", "float64")
    device = kw.pop("device", "cpu")
    theirs = getattr(torch.nn, name)(*args, **kw, **extra, dtype=getattr(torch, dtype))
    ours = getattr(nn, name)(*args, **kw, **extra, dtype=getattr(ag, dtype)).to(device)
    result = ours.load_state_dict({k: ag.tensor(v.numpy(), device=device) for k, v in theirs.state_dict().items()})
    assert not result.missing_keys and not result.unexpected_keys
    return ours, theirs


def _data(torch, shape, dtype, device, seed):
    a = np.random.default_rng(seed).standard_normal(shape)
    return (ag.tensor(a, dtype=getattr(ag, dtype), device=device, requires_grad=True),
            torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True))


def _flat(out):
    """Output then states, as a flat list."""
    o, h = out
    return [o] + (list(h) if isinstance(h, tuple) else [h])


def _compare(torch, ours, theirs, args_ours, args_theirs, dtype, what):
    """Forward values, then the gradients of every parameter and input for a random cotangent."""
    _compare_results(torch, ours, theirs, _flat(ours(*args_ours)), _flat(theirs(*args_theirs)), args_ours,
                     args_theirs, dtype, what)


def _compare_results(torch, ours, theirs, outs, refs, args_ours, args_theirs, dtype, what):
    """Results equal, then the gradients of every parameter and argument (tensors or tuples of them)."""
    assert len(outs) == len(refs)
    loss_o, loss_t = 0, 0
    for i, (o, r) in enumerate(zip(outs, refs)):
        _close(o, r, dtype, f"{what}: result {i}")
        g = np.random.default_rng(10 + i).standard_normal(tuple(r.shape))
        loss_o = loss_o + (o * ag.tensor(g, dtype=o.dtype, device=o.device)).sum()
        loss_t = loss_t + (r * torch.tensor(g, dtype=r.dtype)).sum()
    loss_o.backward()
    loss_t.backward()
    for (n, p), (n2, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert n == n2
        _close(p.grad, q.grad, dtype, f"{what}: grad of {n}")
    for i, (a, b) in enumerate(zip(args_ours, args_theirs)):
        for x, y in (zip(a, b) if isinstance(a, tuple) else [(a, b)]):
            _close(x.grad, y.grad, dtype, f"{what}: grad of argument {i}")


def _states(torch, kind, shape, dtype, device, seed):
    """Initial states as (ours, PyTorch's): h0, or (h0, c0) for an LSTM."""
    h = _data(torch, shape, dtype, device, seed)
    if kind != "LSTM":
        return h
    c = _data(torch, shape, dtype, device, seed + 1)
    return (h[0], c[0]), (h[1], c[1])


def _arguments(torch, x, kind, h_shape, device):
    """([x], [x]) for (ours, PyTorch's), with initial states of h_shape appended unless it is None."""
    args = [[x[0]], [x[1]]]
    if h_shape is not None:
        h = _states(torch, kind, h_shape, "float64", device, 1)
        args[0].append(h[0])
        args[1].append(h[1])
    return args


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("layers,bidirectional,batch_first,with_h0", [
    (1, False, False, False), (1, False, True, True), (2, True, False, True), (2, False, True, False),
    (1, True, True, False), (2, True, True, True)])
def test_layers_against_pytorch(torch, device, kind, layers, bidirectional, batch_first, with_h0):
    T, B, I, H = 4, 3, 5, 6
    ours, theirs = _layers(torch, kind, I, H, num_layers=layers, bidirectional=bidirectional,
                           batch_first=batch_first, device=device)
    x = _data(torch, (B, T, I) if batch_first else (T, B, I), "float64", device, 0)
    args = _arguments(torch, x, kind, (layers * (2 if bidirectional else 1), B, H) if with_h0 else None, device)
    _compare(torch, ours, theirs, args[0], args[1], "float64", f"{kind} {layers} {bidirectional} {batch_first}")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("with_h0,batch_first", [(False, False), (True, True)])
def test_unbatched_input(torch, device, kind, with_h0, batch_first):
    ours, theirs = _layers(torch, kind, 3, 4, num_layers=2, bidirectional=True, batch_first=batch_first,
                           device=device)
    x = _data(torch, (5, 3), "float64", device, 0)
    args = _arguments(torch, x, kind, (4, 4) if with_h0 else None, device)
    _compare(torch, ours, theirs, args[0], args[1], "float64", f"unbatched {kind}")


@pytest.mark.parametrize("kind", KINDS)
def test_float32_no_bias(torch, device, kind):
    ours, theirs = _layers(torch, kind, 3, 4, num_layers=2, bias=False, dtype="float32", device=device)
    assert [n for n, _ in ours.named_parameters()] == ["weight_ih_l0", "weight_hh_l0", "weight_ih_l1", "weight_hh_l1"]
    x = _data(torch, (6, 2, 3), "float32", device, 0)
    _compare(torch, ours, theirs, [x[0]], [x[1]], "float32", f"float32 {kind}")
    assert ours(x[0])[0].dtype == ag.float32


@pytest.mark.parametrize("kind", KINDS)
def test_ours_loaded_into_pytorch(torch, kind):
    ag.manual_seed(3)
    name, extra = (kind, {}) if kind != "RNN_relu" else ("RNN", {"nonlinearity": "relu"})
    ours = getattr(nn, name)(3, 4, num_layers=2, bidirectional=True, dtype=ag.float64, **extra)
    theirs = getattr(torch.nn, name)(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64, **extra)
    theirs.load_state_dict({k: torch.tensor(_np(v)) for k, v in ours.state_dict().items()})
    x = _data(torch, (3, 2, 3), "float64", "cpu", 0)
    _compare(torch, ours, theirs, [x[0]], [x[1]], "float64", f"ours into PyTorch {kind}")


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_second_order(torch, device, kind):
    ours, theirs = _layers(torch, kind, 2, 3, device=device)
    x = _data(torch, (3, 2, 2), "float64", device, 0)
    results = []
    for lib, layer, xin in ((ag, ours, x[0]), (torch, theirs, x[1])):
        out = layer(xin)[0]
        w = layer.weight_hh_l0
        (g,) = lib.autograd.grad((out ** 2).sum(), [w], create_graph=True)
        results.append(lib.autograd.grad((g * g).sum(), [xin, w]))
    for a, b in zip(*results):
        _close(a, b, "float64", f"{kind} second order")


def test_empty_sequence_zero_batch_and_nan(torch):
    for kind in ("GRU", "LSTM"):
        ours, theirs = _layers(torch, kind, 3, 4)
        o = _flat(ours(ag.zeros(2, 0, 3, dtype=ag.float64)))
        t = _flat(theirs(torch.zeros(2, 0, 3, dtype=torch.float64)))
        assert [tuple(a.shape) for a in o] == [tuple(b.shape) for b in t]
        _raises(torch, lambda: ours(ag.zeros(0, 2, 3, dtype=ag.float64)),
                lambda: theirs(torch.zeros(0, 2, 3, dtype=torch.float64)), "sequence length")
        x = np.zeros((3, 2, 3))
        x[1, 0, 2] = np.nan
        o = _flat(ours(ag.tensor(x)))
        t = _flat(theirs(torch.tensor(x)))
        for a, b in zip(o, t):
            np.testing.assert_array_equal(np.isnan(_np(a)), np.isnan(b.detach().numpy()))


def test_dropout_between_layers(device):
    layer = nn.GRU(3, 8, num_layers=2, dropout=0.5, dtype=ag.float64).to(device)
    x = ag.randn(5, 2, 3, dtype=ag.float64, device=device)
    packed = R.pack_padded_sequence(x, [3, 5], enforce_sorted=False)
    for inp, data in ((x, lambda o: o), (packed, lambda o: o.data)):
        layer.train()
        a, b = data(layer(inp)[0]), data(layer(inp)[0])
        assert not np.allclose(_np(a), _np(b))           # training: fresh masks
        layer.eval()
        np.testing.assert_array_equal(_np(data(layer(inp)[0])), _np(data(layer(inp)[0])))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        nn.LSTM(3, 4, dropout=0.5)
    assert w and issubclass(w[0].category, UserWarning) and "num_layers greater than 1" in str(w[0].message)


CELLS = ["RNNCell", "RNNCell_relu", "LSTMCell", "GRUCell"]


def _cells(torch, kind, *args, dtype="float64", device="cpu", **kw):
    name, extra = (kind, {}) if kind != "RNNCell_relu" else ("RNNCell", {"nonlinearity": "relu"})
    theirs = getattr(torch.nn, name)(*args, **kw, **extra, dtype=getattr(torch, dtype))
    ours = getattr(nn, name)(*args, **kw, **extra, dtype=getattr(ag, dtype)).to(device)
    ours.load_state_dict({k: ag.tensor(v.numpy(), device=device) for k, v in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize("batched,with_h0,bias", [(True, True, True), (True, False, True), (False, True, False),
                                                   (False, False, True)])
def test_cells_against_pytorch(torch, device, kind, batched, with_h0, bias):
    ours, theirs = _cells(torch, kind, 3, 4, bias=bias, device=device)
    x = _data(torch, (2, 3) if batched else (3,), "float64", device, 0)
    args = _arguments(torch, x, "LSTM" if kind == "LSTMCell" else kind,
                      ((2, 4) if batched else (4,)) if with_h0 else None, device)
    outs, refs = ours(*args[0]), theirs(*args[1])
    outs, refs = (outs, refs) if isinstance(outs, tuple) else ((outs,), (refs,))
    loss_o = sum((o * (k + 1)).sum() for k, o in enumerate(outs))
    loss_t = sum((o * (k + 1)).sum() for k, o in enumerate(refs))
    for o, r in zip(outs, refs):
        _close(o, r, "float64", f"{kind} forward")
    loss_o.backward()
    loss_t.backward()
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        _close(p.grad, q.grad, "float64", f"{kind} grad of {n}")
    _close(x[0].grad, x[1].grad, "float64", f"{kind} grad of input")


def test_module_behaviour(torch, device):
    cases = [(nn.RNN(3, 4, num_layers=2, nonlinearity="relu", bias=False, batch_first=True, dropout=0.5,
                     bidirectional=True), torch.nn.RNN(3, 4, num_layers=2, nonlinearity="relu", bias=False,
                                                       batch_first=True, dropout=0.5, bidirectional=True)),
             (nn.LSTM(3, 4), torch.nn.LSTM(3, 4)), (nn.GRU(3, 4, 2), torch.nn.GRU(3, 4, 2)),
             (nn.RNNCell(3, 4, bias=False, nonlinearity="relu"), torch.nn.RNNCell(3, 4, bias=False, nonlinearity="relu")),
             (nn.LSTMCell(3, 4), torch.nn.LSTMCell(3, 4)), (nn.GRUCell(3, 4, bias=False), torch.nn.GRUCell(3, 4, False))]
    for ours, theirs in cases:
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
        bound = 1 / np.sqrt(4)
        for p in ours.parameters():
            assert np.abs(_np(p)).max() <= bound and p.dtype == ag.float32
        moved = ours.to(device)
        assert all(p.device == ag.device(device) for p in moved.parameters())
    lstm = nn.LSTM(3, 4, 2, bidirectional=True)
    assert [len(w) for w in lstm.all_weights] == [4, 4, 4, 4] and lstm.all_weights[3][0] is lstm.weight_ih_l1_reverse
    assert lstm.flatten_parameters() is None


def _raises(torch, ours_fn, theirs_fn, match):
    with pytest.raises(Exception) as ref:
        theirs_fn()
    with pytest.raises(type(ref.value), match=match):
        ours_fn()


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_bad_construction(torch, name):
    bad = [((3, 0), {}), ((3, 4), {"num_layers": 0}), ((3, 4.0), {}), ((3, 4), {"dropout": 2}),
           ((3, 4), {"dropout": -0.1}), ((0, 4), {}), ((3, 4), {"bias": 1}), ((3, 4), {"batch_first": 1}),
           ((3, 4), {"foo": 1})]
    bad += [((3, 4), {"proj_size": p}) for p in (4, 5, -1, 2.0, True)] if name == "LSTM" else \
        [((3, 4), {"proj_size": 1}), ((3, 4), {"proj_size": 0})]
    for args, kw in bad:
        _raises(torch, lambda: getattr(nn, name)(*args, **kw), lambda: getattr(torch.nn, name)(*args, **kw), name)
    _raises(torch, lambda: nn.RNN(3, 4, nonlinearity="x"), lambda: torch.nn.RNN(3, 4, nonlinearity="x"),
            "RNN.*nonlinearity")
    _raises(torch, lambda: nn.RNNCell(3, 4, nonlinearity="x")(ag.zeros(2, 3)),
            lambda: torch.nn.RNNCell(3, 4, nonlinearity="x")(torch.zeros(2, 3)), "RNNCell: Unknown nonlinearity")


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_bad_input(torch, name):
    ag.manual_seed(0)
    ours, theirs = getattr(nn, name)(3, 4), getattr(torch.nn, name)(3, 4)
    lstm = name == "LSTM"

    def hid(lib, *shape):
        return (lib.zeros(*shape), lib.zeros(*shape)) if lstm else lib.zeros(*shape)
    before = [_np(p).copy() for p in ours.parameters()]
    bad = [lambda lib: (lib.zeros(1, 2, 3, 3),), lambda lib: (lib.zeros(2, 5),),
           lambda lib: (lib.zeros(2, 3), hid(lib, 1, 2, 4)), lambda lib: (lib.zeros(2, 2, 3), hid(lib, 2, 4)),
           lambda lib: (lib.zeros(2, 2, 3), hid(lib, 2, 2, 4)), lambda lib: (lib.zeros(2, 2, 3, dtype=lib.float64),)]
    for make in bad:
        _raises(torch, lambda: ours(*make(ag)), lambda: theirs(*make(torch)), name)
    assert all(np.array_equal(a, _np(p)) for a, p in zip(before, ours.parameters()))


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_bad_input(torch, name):
    ours, theirs = getattr(nn, name)(3, 4), getattr(torch.nn, name)(3, 4)
    lstm = name == "LSTMCell"

    def hid(lib, *shape, c=None):
        return (lib.zeros(*shape), lib.zeros(*(c or shape))) if lstm else lib.zeros(*shape)
    bad = [lambda lib: (lib.zeros(1, 2, 3),), lambda lib: (lib.zeros(2, 5),),
           lambda lib: (lib.zeros(2, 3), hid(lib, 1, 2, 4)), lambda lib: (lib.zeros(2, 3), hid(lib, 3, 4)),
           lambda lib: (lib.zeros(2, 3), hid(lib, 2, 5))]
    if lstm:
        bad.append(lambda lib: (lib.zeros(2, 3), hid(lib, 2, 4, c=(2, 5))))
    for make in bad:
        _raises(torch, lambda: ours(*make(ag)), lambda: theirs(*make(torch)), name)


def test_dtype_mismatch_divergence(torch):
    """PyTorch's cells raise RuntimeError from their matmul on a float64 input
    to float32 weights; ours raise the ValueError its full layers raise."""
    with pytest.raises(RuntimeError):
        torch.nn.GRUCell(3, 4)(torch.zeros(2, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="GRUCell: input dtype"):
        nn.GRUCell(3, 4)(ag.zeros(2, 3, dtype=ag.float64))


# ---- packed sequences ------------------------------------------------------------------

def _run_packed(lib, layer, x, hx, lengths, batch_first, enforce_sorted):
    """[packed output data, its padded form, h_n (, c_n)] for x packed with lengths."""
    r = lib.nn.utils.rnn
    packed = r.pack_padded_sequence(x, lengths, batch_first, enforce_sorted)
    out, h = layer(packed, *hx)
    assert isinstance(out, r.PackedSequence) and out.batch_sizes is packed.batch_sizes
    assert out.sorted_indices is packed.sorted_indices and out.unsorted_indices is packed.unsorted_indices
    padded, _ = r.pad_packed_sequence(out, batch_first, total_length=x.shape[1 if batch_first else 0])
    return [out.data, padded] + (list(h) if isinstance(h, tuple) else [h])


def _packed_check(torch, ours, theirs, x, hx, lengths, batch_first, enforce_sorted, what, dtype="float64"):
    """hx: ([state args], [PyTorch's]), each [] or [h] or [(h, c)]."""
    outs = _run_packed(ag, ours, x[0], hx[0], lengths, batch_first, enforce_sorted)
    refs = _run_packed(torch, theirs, x[1], hx[1], lengths, batch_first, enforce_sorted)
    _compare_results(torch, ours, theirs, outs, refs, [x[0]] + hx[0], [x[1]] + hx[1], dtype, what)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("layers,bidirectional,batch_first,with_h0,enforce_sorted", [
    (1, False, False, False, True), (2, True, True, True, False), (2, False, False, True, False),
    (1, True, True, False, True)])
def test_packed_against_pytorch(torch, device, kind, layers, bidirectional, batch_first, with_h0, enforce_sorted):
    """h_n (and c_n) at each sequence's own last step, in the original batch order; gradients to x and h0."""
    T, B, I, H = 5, 4, 3, 4
    lengths = [5, 3, 3, 1] if enforce_sorted else [2, 5, 1, 3]
    ours, theirs = _layers(torch, kind, I, H, num_layers=layers, bidirectional=bidirectional,
                           batch_first=batch_first, device=device)
    x = _data(torch, (B, T, I) if batch_first else (T, B, I), "float64", device, 0)
    args = _arguments(torch, x, kind, (layers * (2 if bidirectional else 1), B, H) if with_h0 else None, device)
    _packed_check(torch, ours, theirs, x, (args[0][1:], args[1][1:]), lengths, batch_first, enforce_sorted,
                  f"packed {kind} {layers} {bidirectional} {batch_first} {with_h0} {enforce_sorted}")


def test_packed_float32_and_nan_in_padding(torch, device):
    """Padding never enters the recurrence: NaN there leaves every result finite, as in PyTorch."""
    for kind in ("LSTM", "GRU"):
        ours, theirs = _layers(torch, kind, 3, 4, bidirectional=True, dtype="float32", device=device)
        a = np.random.default_rng(5).standard_normal((4, 3, 3))
        a[3:, 1], a[1:, 2] = np.nan, np.inf
        x = (ag.tensor(a, dtype=ag.float32, device=device, requires_grad=True),
             torch.tensor(a, dtype=torch.float32, requires_grad=True))
        outs = _run_packed(ag, ours, x[0], [], [4, 3, 1], False, True)
        assert all(np.isfinite(_np(o)).all() for o in outs[:1] + outs[2:])
        _packed_check(torch, ours, theirs, x, ([], []), [4, 3, 1], False, True, f"nan {kind}", "float32")
        assert np.isfinite(_np(x[0].grad)).all() and not _np(x[0].grad)[3:, 1].any()


@pytest.mark.parametrize("kind", ["RNN", "LSTM_proj", "GRU"])
def test_packed_float16(torch, device, kind):
    name, extra = ("LSTM", {"proj_size": 2}) if kind == "LSTM_proj" else (kind, {})
    ours, theirs = _layers(torch, name, 3, 4, bidirectional=True, dtype="float16", device=device, **extra)
    x = _data(torch, (4, 3, 3), "float16", device, 0)
    _packed_check(torch, ours, theirs, x, ([], []), [2, 4, 3], False, False, f"float16 {kind}", "float16")
    assert ours(R.pack_sequence([x[0][:, 0]]))[0].data.dtype == ag.float16


@pytest.mark.parametrize("kind", ["GRU", "LSTM_proj"])
def test_packed_second_order(torch, device, kind):
    ours, theirs = _layers(torch, "LSTM" if kind == "LSTM_proj" else kind, 2, 3, bidirectional=True,
                           **({"proj_size": 2} if kind == "LSTM_proj" else {}), device=device)
    x = _data(torch, (3, 2, 2), "float64", device, 0)
    results = []
    for lib, layer, xin in ((ag, ours, x[0]), (torch, theirs, x[1])):
        out = layer(lib.nn.utils.rnn.pack_padded_sequence(xin, [1, 3], enforce_sorted=False))[0].data
        w = layer.weight_hh_l0_reverse
        (g,) = lib.autograd.grad((out ** 2).sum(), [w], create_graph=True)
        results.append(lib.autograd.grad((g * g).sum(), [xin, w]))
    for a, b in zip(*results):
        _close(a, b, "float64", f"{kind} packed second order")


# ---- LSTM projections (proj_size) ---------------------------------------------------------

@pytest.mark.parametrize("layers,bidirectional,batch_first,form", [
    (1, False, False, "padded"), (2, True, True, "padded"), (2, True, False, "packed"), (1, False, True, "packed"),
    (2, True, False, "unbatched")])
def test_lstm_projection_against_pytorch(torch, device, layers, bidirectional, batch_first, form):
    T, B, I, H, P = 4, 3, 3, 5, 2
    ours, theirs = _layers(torch, "LSTM", I, H, num_layers=layers, bidirectional=bidirectional,
                           batch_first=batch_first, proj_size=P, device=device)
    D = layers * (2 if bidirectional else 1)
    batch = () if form == "unbatched" else (B,)
    x = _data(torch, ((T,) if form == "unbatched" else (B, T) if batch_first else (T, B)) + (I,), "float64", device, 0)
    h, c = (_data(torch, (D,) + batch + (n,), "float64", device, seed) for n, seed in ((P, 1), (H, 2)))
    states = ([(h[0], c[0])], [(h[1], c[1])])
    what = f"proj {layers} {bidirectional} {batch_first} {form}"
    if form == "packed":
        _packed_check(torch, ours, theirs, x, states, [4, 2, 3], batch_first, False, what)
    else:
        _compare(torch, ours, theirs, [x[0]] + states[0], [x[1]] + states[1], "float64", what)
    assert ours(x[0])[1][0].shape[-1] == P and ours(x[0])[1][1].shape[-1] == H


@pytest.mark.parametrize("bias", [True, False])
def test_lstm_projection_module(torch, device, bias):
    """Names, shapes, order, init bounds, repr and all_weights as PyTorch's; state dicts load both ways."""
    ag.manual_seed(4)
    ours = nn.LSTM(3, 5, num_layers=2, bias=bias, bidirectional=True, proj_size=2)
    theirs = torch.nn.LSTM(3, 5, num_layers=2, bias=bias, bidirectional=True, proj_size=2)
    assert repr(ours) == repr(theirs) == f"LSTM(3, 5, proj_size=2, num_layers=2{'' if bias else ', bias=False'}, " \
                                         "bidirectional=True)"
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    assert [[tuple(w.shape) for w in ws] for ws in ours.all_weights] == \
        [[tuple(w.shape) for w in ws] for ws in theirs.all_weights]
    assert ours.all_weights[1][-1] is ours.weight_hr_l0_reverse
    assert all(np.abs(_np(p)).max() <= 1 / np.sqrt(5) for p in ours.parameters())
    theirs.load_state_dict({k: torch.tensor(_np(v)) for k, v in ours.state_dict().items()})   # ours into PyTorch's
    ours.double().to(device)
    theirs.double()
    x = _data(torch, (3, 2, 3), "float64", device, 0)
    _compare(torch, ours, theirs, [x[0]], [x[1]], "float64", "proj ours into PyTorch")
    back = nn.LSTM(3, 5, num_layers=2, bias=bias, bidirectional=True, proj_size=2, dtype=ag.float64)
    back.load_state_dict({k: ag.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    assert all(np.array_equal(_np(a), _np(b)) for a, b in zip(back.parameters(), ours.parameters()))


def test_lstm_projection_bad_states(torch):
    """h_0 is proj_size wide, c_0 hidden_size wide: each checked against its own shape."""
    ours, theirs = nn.LSTM(3, 5, proj_size=2), torch.nn.LSTM(3, 5, proj_size=2)
    for h, c in (((1, 2, 5), (1, 2, 5)), ((1, 2, 2), (1, 2, 2))):
        _raises(torch, lambda: ours(ag.zeros(4, 2, 3), (ag.zeros(*h), ag.zeros(*c))),
                lambda: theirs(torch.zeros(4, 2, 3), (torch.zeros(*h), torch.zeros(*c))), "LSTM: Expected hidden")


def _packed_bad_table(L, lstm, common):
    r = L.nn.utils.rnn
    x = L.zeros(3, 4, 2)
    p, pu = r.pack_padded_sequence(x, [3, 2, 2, 1]), r.pack_padded_sequence(x, [2, 3, 1, 2], enforce_sorted=False)

    def hid(*shape):
        return (L.zeros(*shape), L.zeros(*shape)) if lstm else L.zeros(*shape)
    calls = [(p, hid(1, 3, 3)), (p, hid(1, 4, 4)), (r.PackedSequence(L.zeros(8, 3), p.batch_sizes),),
             (pu, hid(1, 3, 3)), (r.PackedSequence(L.zeros(8, 2, 1), p.batch_sizes),)]
    rest = [(p.double(),), (p, hid(4, 3))]         # PyTorch's LSTM checks neither (test_packed_divergences)
    return calls if common else rest


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_packed_bad_input(torch, name):
    ag.manual_seed(0)
    ours, theirs = getattr(nn, name)(2, 3), getattr(torch.nn, name)(2, 3)
    lstm = name == "LSTM"
    before = [_np(p).copy() for p in ours.parameters()]
    for common in (True, False) if not lstm else (True,):
        for a, b in zip(_packed_bad_table(ag, lstm, common), _packed_bad_table(torch, lstm, common)):
            _raises(torch, lambda: ours(*a), lambda: theirs(*b), name)
    assert all(np.array_equal(a, _np(p)) for a, p in zip(before, ours.parameters()))


def test_packed_divergences(torch):
    """PyTorch's LSTM does not check a packed input's dtype or hx's dims (its kernels fail: RuntimeError,
    IndexError); ours raises what its RNN and GRU raise. With an unsorted batch, PyTorch's permutation of hx
    silently drops the rows of a larger hx batch; ours refuses it."""
    ours, theirs = nn.LSTM(2, 3), torch.nn.LSTM(2, 3)
    p = R.pack_padded_sequence(ag.zeros(3, 4, 2), [3, 2, 2, 1])
    pt = torch.nn.utils.rnn.pack_padded_sequence(torch.zeros(3, 4, 2), [3, 2, 2, 1])
    with pytest.raises(RuntimeError):
        theirs(pt.double())
    with pytest.raises(ValueError, match="LSTM: input dtype"):
        ours(p.double())
    with pytest.raises(IndexError):
        theirs(pt, (torch.zeros(4, 3), torch.zeros(4, 3)))
    with pytest.raises(RuntimeError, match="LSTM: For batched 3-D input"):
        ours(p, (ag.zeros(4, 3), ag.zeros(4, 3)))
    for name in ("RNN", "GRU", "LSTM"):
        a, b = getattr(nn, name)(2, 3), getattr(torch.nn, name)(2, 3)
        pu = R.pack_padded_sequence(ag.zeros(3, 4, 2), [2, 3, 1, 2], enforce_sorted=False)
        put = torch.nn.utils.rnn.pack_padded_sequence(torch.zeros(3, 4, 2), [2, 3, 1, 2], enforce_sorted=False)
        big = (lambda L: (L.zeros(1, 5, 3), L.zeros(1, 5, 3))) if name == "LSTM" else (lambda L: L.zeros(1, 5, 3))
        assert tuple(_flat(b(put, big(torch)))[1].shape) == (1, 4, 3)
        with pytest.raises(RuntimeError, match=f"{name}: Expected hidden.* size \\(1, 4, 3\\), got \\[1, 5, 3\\]"):
            a(pu, big(ag))


def test_device_mismatch(fake_cuda):
    layer = nn.LSTM(3, 4)
    with pytest.raises(RuntimeError, match="LSTM: input is on cuda:0 but the weights are on cpu"):
        layer(ag.zeros(2, 2, 3, device="cuda"))


# ---- ag.nn.init: the initialisers beyond the uniform ones -------------------------------

def _stats(t):
    a = _np(t).astype(np.float64)
    return a.mean(), a.std()


@pytest.mark.parametrize("name,kw,shape", [
    ("xavier_normal_", {"gain": 2.0}, (300, 200)), ("kaiming_normal_", {}, (400, 50, 3)),
    ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}, (200, 300)),
    ("kaiming_normal_", {"a": 0.2}, (300, 300)), ("trunc_normal_", {"mean": 1.0, "std": 2.0, "a": -1, "b": 2}, (300, 300)),
    ("trunc_normal_", {}, (300, 300)), ("sparse_", {"sparsity": 0.3, "std": 0.5}, (100, 400))])
def test_init_statistics_as_pytorch(torch, device, name, kw, shape):
    ours = getattr(nn.init, name)(ag.empty(*shape, device=device), **kw)
    theirs = getattr(torch.nn.init, name)(torch.empty(*shape), **kw)
    assert tuple(ours.shape) == shape and ours.device == ag.device(device) and ours.dtype == ag.float32
    (m1, s1), (m2, s2) = _stats(ours), (theirs.double().mean().item(), theirs.double().std().item())
    assert abs(m1 - m2) < 0.02 * max(s2, 1e-3) + 0.01 * s2 and abs(s1 - s2) < 0.02 * s2, (m1, m2, s1, s2)
    a = _np(ours)
    if name == "trunc_normal_":
        assert a.min() >= kw.get("a", -2) and a.max() <= kw.get("b", 2)
    if name == "sparse_":                 # exactly ceil(sparsity * rows) zeros in every column
        assert ((a == 0).sum(0) == int(np.ceil(0.3 * shape[0]))).all()


@pytest.mark.parametrize("shape,gain", [((6, 4), 1), ((3, 8), 2.0), ((4, 2, 3), 0.5), ((5, 5), 1)])
def test_orthogonal(torch, device, shape, gain):
    ours = nn.init.orthogonal_(ag.empty(*shape, dtype=ag.float64, device=device), gain=gain)
    flat = _np(ours).reshape(shape[0], -1)
    small = flat.T @ flat if shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(small, gain ** 2 * np.eye(small.shape[0]), atol=1e-10)
    theirs = torch.nn.init.orthogonal_(torch.empty(*shape, dtype=torch.float64), gain=gain)
    assert tuple(ours.shape) == tuple(theirs.shape)


def test_eye_and_dirac(torch, device):
    for shape in ((3, 5), (4, 2)):
        np.testing.assert_array_equal(_np(nn.init.eye_(ag.empty(*shape, device=device))),
                                      torch.nn.init.eye_(torch.empty(*shape)).numpy())
    for shape, groups in (((4, 2, 3), 2), ((2, 3, 3, 3), 1), ((6, 2, 3, 2, 5), 3), ((3, 3, 4), 1)):
        np.testing.assert_array_equal(_np(nn.init.dirac_(ag.empty(*shape, device=device), groups)),
                                      torch.nn.init.dirac_(torch.empty(*shape), groups).numpy())


def test_init_leaves_no_graph_and_keeps_identity():
    p = nn.Parameter(ag.empty(3, 4))
    for fn in (nn.init.xavier_normal_, nn.init.kaiming_normal_, nn.init.orthogonal_, nn.init.trunc_normal_,
               nn.init.eye_, lambda t: nn.init.sparse_(t, 0.5)):
        assert fn(p) is p and p.is_leaf and p.grad_fn is None


def test_init_zero_element_and_errors(torch):
    with pytest.warns(UserWarning, match="zero-element"):
        assert nn.init.kaiming_normal_(ag.empty(0, 2)).shape == (0, 2)
    assert nn.init.orthogonal_(ag.empty(0, 3)).shape == (0, 3)
    with pytest.warns(UserWarning, match="more than 2 std"):
        nn.init.trunc_normal_(ag.empty(3), mean=10)
    bad = [("xavier_normal_", (3,), {}), ("kaiming_normal_", (3,), {}), ("kaiming_normal_", (3, 2), {"mode": "x"}),
           ("kaiming_normal_", (3, 2), {"nonlinearity": "nope"}),
           ("orthogonal_", (3,), {}), ("eye_", (3,), {}), ("eye_", (2, 2, 2), {}), ("dirac_", (3, 3), {}),
           ("dirac_", (3, 3, 3), {"groups": 2}), ("sparse_", (3,), {"sparsity": 0.1})]
    for name, shape, kw in bad:
        with pytest.raises(Exception) as ref:
            getattr(torch.nn.init, name)(torch.empty(*shape), **kw)
        t = ag.zeros(*shape)
        with pytest.raises(type(ref.value)):
            getattr(nn.init, name)(t, **kw)
        assert not _np(t).any() and t._version == 0, name           # a failed call changes nothing
    with pytest.raises(TypeError, match=r"normal_\(\): argument 'generator' must be .*Generator, not object"):
        torch.nn.init.xavier_normal_(torch.empty(2, 2), generator=object())
    with pytest.raises(TypeError, match=r"normal_\(\): argument 'generator' must be Generator, not object"):
        nn.init.xavier_normal_(ag.empty(2, 2), generator=object())


# Bug: the layers took each time step of their input projection as proj[t], a SelectBackward0 per step
# whose backward fills a zero copy of the whole projection: backward cost T copies of (T, B, G) for T
# steps (an LSTM over 200 steps: 267 ms, after the fix 53 ms). The steps now come from one unbind.
@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
def test_time_steps_are_one_node_per_layer_and_direction(mode):
    m = getattr(nn, mode)(3, 4, num_layers=2, bidirectional=True).double()    # (float32 LSTM: one layer node)
    out, _ = m(ag.randn(7, 2, 3, dtype=ag.float64))
    names = graph_node_names(out.sum())
    assert "SelectBackward0" not in names
    assert names.count("UnbindBackward0") == 4


# The LSTM layer runs each step's pointwise part as one node (LstmCell: eleven nodes before, 25-30%
# of a small layer's time); LSTMCell stays PyTorch's CPU composite, whose outputs are a MulBackward0
# (h') and an AddBackward0 (c'). The layer's values and gradients are checked against PyTorch above.
def test_lstm_layer_steps_are_one_cell_node_and_the_cell_keeps_pytorchs_names(torch):
    m = nn.LSTM(3, 4, num_layers=2).double()             # (float32: one node per layer, below)
    out, (h, c) = m(ag.randn(6, 2, 3, dtype=ag.float64))
    names = graph_node_names(out.sum() + c.sum())
    assert names.count("LstmCellBackward0") == 12 and "SigmoidBackward0" not in names
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    ours, theirs = nn.LSTMCell(3, 4)(ag.tensor(x)), torch.nn.LSTMCell(3, 4)(torch.tensor(x))
    assert [t.grad_fn.name() for t in ours] == [t.grad_fn.name() for t in theirs] == ["MulBackward0", "AddBackward0"]
    # the one node computes what the composite does, bit for bit, its gradients too (c' alone used: h'
    # gets none), and its own gradient differentiates again
    from autograd_gpu.nn import rnn
    rng = np.random.default_rng(1)
    g_np, c_np, w = rng.standard_normal((2, 16)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    results = []
    for cell in (rnn._lstm_cell, rnn.LstmCell.apply2):
        gates, c0 = ag.tensor(g_np, requires_grad=True), ag.tensor(c_np, requires_grad=True)
        h1, c1 = cell(gates, c0)
        both = ag.autograd.grad((h1 * ag.tensor(w)).sum() + c1.sum(), (gates, c0), retain_graph=True)
        c_only = ag.autograd.grad((c1 * ag.tensor(w)).sum(), (gates, c0))
        results.append([t.detach().numpy() for t in (h1, c1, *both, *c_only)])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    gates, c0 = ag.tensor(g_np, requires_grad=True), ag.tensor(c_np, requires_grad=True)
    assert ag.autograd.gradgradcheck(lambda a, b: rnn.LstmCell.apply2(a, b), (gates, c0))


def test_gru_layer_steps_are_one_cell_node_and_the_cell_keeps_pytorchs_name(torch):
    """The same for the GRU (GruCell: twelve nodes before); its inputs include hh = h W_hh^T and h
    itself, so its create_graph gradient is each input's partial derivative (the layer's second
    order against PyTorch's, in test_second_order, caught the total one)."""
    m = nn.GRU(3, 4, num_layers=2)
    out, h = m(ag.randn(6, 2, 3))
    names = graph_node_names(out.sum() + h.sum())
    assert names.count("GruCellBackward0") == 12 and "SigmoidBackward0" not in names
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    assert nn.GRUCell(3, 4)(ag.tensor(x)).grad_fn.name() == torch.nn.GRUCell(3, 4)(torch.tensor(x)).grad_fn.name()
    from autograd_gpu.nn import rnn
    rng = np.random.default_rng(2)
    arrays, w = [rng.standard_normal(s) for s in ((2, 12), (2, 12), (2, 4))], rng.standard_normal((2, 4))
    results = []
    for cell in (rnn._gru_cell, lambda *t: rnn.GruCell.applyN(t)):
        inputs = [ag.tensor(a, requires_grad=True) for a in arrays]
        y = cell(*inputs)
        results.append([t.detach().numpy() for t in (y, *ag.autograd.grad((y * ag.tensor(w)).sum(), inputs))])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    inputs = [ag.tensor(a, requires_grad=True) for a in arrays]
    assert ag.autograd.gradgradcheck(lambda *t: rnn.GruCell.applyN(t), inputs)


def _lstm_pair(torch, **kw):
    """An LSTM of ours and PyTorch's with the same float32 weights."""
    theirs = torch.nn.LSTM(3, 4, **kw)
    ours = nn.LSTM(3, 4, **kw)
    ours.load_state_dict({k: ag.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    return ours, theirs


# A float32 LSTM layer over a padded sequence is one node per layer and direction, as PyTorch's CPU
# layer (MkldnnRnnLayerBackward0): its steps' cells (LstmCell) were 200 nodes and matmuls for 200
# steps, 23.7 ms forward and backward for LSTM(32, 64) over (200, 8, 32), now 12.3 (PyTorch 4.2).
@pytest.mark.parametrize("kw", [{}, dict(bidirectional=True, num_layers=2), dict(bias=False), dict(batch_first=True)])
def test_float32_lstm_layer_is_one_node_as_pytorchs(torch, kw):
    ours, theirs = _lstm_pair(torch, **kw)
    rng = np.random.default_rng(4)
    layers = ours.num_layers * (2 if ours.bidirectional else 1)
    x_shape = (2, 5, 3) if kw.get("batch_first") else (5, 2, 3)
    x, h0, c0 = (rng.standard_normal(s).astype(np.float32) for s in (x_shape, (layers, 2, 4), (layers, 2, 4)))
    results = []
    for L, m in ((ag, ours), (torch, theirs)):
        xs = [L.tensor(a, requires_grad=True) for a in (x, h0, c0)]
        out, (h, c) = m(xs[0], (xs[1], xs[2]))
        (out.sin().sum() + (h * h).sum() + (c * 3).sum()).backward()
        names = [out.grad_fn.name()] + sorted(n.name() for n, _ in out.grad_fn.next_functions if n is not None)
        results.append([names] + [t.detach().numpy() for t in (out, h, c)] + [t.grad.numpy() for t in xs]
                       + [p.grad.numpy() for p in m.parameters()])
    assert results[0][0] == results[1][0], (results[0][0], results[1][0])
    for i, (a, b) in enumerate(zip(results[0][1:], results[1][1:])):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5, err_msg=f"{kw}: result {i}")


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")     # (PyTorch's forward AD)
def test_float32_lstm_layer_node_versions_second_order_and_forward_ad(torch, monkeypatch):
    """The layer node computes the steps' composite's values bit for bit; writing its output before
    backward is PyTorch's version error; its create_graph gradient differentiates again, and its
    forward-mode derivative is PyTorch's (float32 against float32)."""
    from autograd_gpu.nn import rnn
    ours, theirs = _lstm_pair(torch)
    x = np.random.default_rng(5).standard_normal((6, 2, 3)).astype(np.float32)
    out, (h, c) = ours(ag.tensor(x))
    with monkeypatch.context() as patch:
        patch.setattr(rnn.RNNBase, "_one_layer_node", lambda *a: False)      # (the steps' LstmCell nodes)
        steps_out, (steps_h, steps_c) = ours(ag.tensor(x))
    for a, b in ((out, steps_out), (h, steps_h), (c, steps_c)):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    outcomes = []
    for L, m in ((ag, ours), (torch, theirs)):
        out, _ = m(L.tensor(x, requires_grad=True))
        with L.no_grad():
            out.add_(1)
        outcomes.append(backward_outcome(out.sum()))
    assert outcomes[0] == outcomes[1] == "version error"
    seconds = []
    for L, m in ((ag, ours), (torch, theirs)):
        xt = L.tensor(x, requires_grad=True)
        g, = L.autograd.grad(m(xt)[0].tanh().sum(), xt, create_graph=True)
        seconds.append(L.autograd.grad((g * g).sum(), xt)[0].numpy())
    np.testing.assert_allclose(seconds[0], seconds[1], rtol=1e-4, atol=1e-5)
    # (PyTorch's float32 layer has no forward AD, "not been implemented yet": ours has, checked against
    # PyTorch's float64 layer, a composite of steps)
    v = np.random.default_rng(6).standard_normal(x.shape)
    tangents = [ag.func.jvp(lambda a: ours(a)[0], (ag.tensor(x),), (ag.tensor(v, dtype=ag.float32),))[1]
                .detach().numpy()]
    fa = torch.autograd.forward_ad           # (torch.func.jvp of an nn.LSTM crashes PyTorch 2.13: dual tensors)
    with fa.dual_level():
        out = copy.deepcopy(theirs).double()(fa.make_dual(torch.tensor(x, dtype=torch.float64), torch.tensor(v)))[0]
        tangents.append(fa.unpack_dual(out).tangent.detach().numpy())
    np.testing.assert_allclose(tangents[0], tangents[1], rtol=1e-4, atol=1e-5)
