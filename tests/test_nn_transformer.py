"""Attention and Transformer layers (F.scaled_dot_product_attention,
F.multi_head_attention_forward, nn.MultiheadAttention, the Transformer
encoder/decoder layers and stacks, nn.Transformer) against PyTorch CPU:
PyTorch's state dict loaded into ours (and ours into PyTorch's), then outputs,
attention weights and the gradients of every input and parameter compared;
masks of each kind, batch_first, unbatched input, dropout in train and eval,
second order, bad input, and a tiny Transformer trained side by side."""
import warnings

import numpy as np
import pytest

import autograd_gpu as ag
import autograd_gpu.nn.functional as F
from autograd_gpu import nn
from oracle import case_tests

NO_NAME = {"name": False}               # composites: grad_fn names are not PyTorch's
NO_FD = {"name": False, "fd": False}    # (finite differences on a representative subset only: they are slow)
TOL = {"float64": dict(rtol=1e-9, atol=1e-11), "float32": dict(rtol=2e-4, atol=2e-5),
       "float16": dict(rtol=1e-2, atol=1e-2)}
pytestmark = [pytest.mark.filterwarnings("ignore:enable_nested_tensor is True"),
              pytest.mark.filterwarnings("ignore:Support for mismatched"),          # (both libraries warn)
              pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")]


def SDPA(L):
    return L.nn.functional.scaled_dot_product_attention


def _tril(shape, k=0):
    return np.tril(np.ones(shape, dtype=bool), k)


_ROW_MASK = np.ones((3, 5), dtype=bool)
_ROW_MASK[1] = False                    # query 1 attends to nothing
_HEAD_MASK = np.random.default_rng(3).random((2, 1, 3, 5)) > 0.4
_HEAD_MASK[..., 0] = True

CASES = [
    ("4d", lambda L, q, k, v: SDPA(L)(q, k, v), [(1, 2, 2, 3), (1, 2, 3, 3), (1, 2, 3, 2)], NO_NAME),
    ("3d", lambda L, q, k, v: SDPA(L)(q, k, v), [(2, 3, 4), (2, 5, 4), (2, 5, 6)], NO_FD),
    ("2d unbatched", lambda L, q, k, v: SDPA(L)(q, k, v), [(3, 4), (5, 4), (5, 2)], NO_NAME),
    ("5d", lambda L, q, k, v: SDPA(L)(q, k, v), [(2, 1, 2, 3, 4), (2, 1, 2, 2, 4), (2, 1, 2, 2, 3)], NO_FD),
    ("batch broadcast", lambda L, q, k, v: SDPA(L)(q, k, v), [(2, 3, 4), (1, 5, 4), (1, 5, 3)], NO_FD),
    ("scale", lambda L, q, k, v: SDPA(L)(q, k, v, scale=0.3), [(2, 3, 4), (2, 5, 4), (2, 5, 3)], NO_FD),
    ("causal", lambda L, q, k, v: SDPA(L)(q, k, v, is_causal=True), [(2, 4, 3), (2, 4, 3), (2, 4, 2)], NO_FD),
    ("causal more keys", lambda L, q, k, v: SDPA(L)(q, k, v, is_causal=True), [(1, 3, 3), (1, 5, 3), (1, 5, 2)],
     NO_NAME),
    ("causal more queries", lambda L, q, k, v: SDPA(L)(q, k, v, is_causal=True), [(1, 5, 3), (1, 3, 3), (1, 3, 2)],
     NO_FD),
    ("bool mask broadcast", lambda L, q, k, v, m: SDPA(L)(q, k, v, attn_mask=m),
     [(2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3), _tril((3, 5), 1)], NO_FD),
    ("bool mask per batch", lambda L, q, k, v, m: SDPA(L)(q, k, v, attn_mask=m),
     [(2, 2, 3, 2), (2, 2, 5, 2), (2, 2, 5, 2), _HEAD_MASK], NO_NAME),
    ("fully masked row", lambda L, q, k, v, m: SDPA(L)(q, k, v, attn_mask=m),
     [(2, 3, 2), (2, 5, 2), (2, 5, 2), _ROW_MASK], NO_NAME),
    ("float mask", lambda L, q, k, v, m: SDPA(L)(q, k, v, attn_mask=m), [(2, 3, 2), (2, 5, 2), (2, 5, 2), (3, 5)],
     NO_NAME),
    ("float mask per head", lambda L, q, k, v, m: SDPA(L)(q, k, v, attn_mask=m),
     [(1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 3), (2, 1, 5)], NO_FD),
    ("gqa", lambda L, q, k, v: SDPA(L)(q, k, v, enable_gqa=True), [(1, 4, 3, 4), (1, 2, 5, 4), (1, 1, 5, 3)],
     NO_FD),
    ("gqa 3d masked", lambda L, q, k, v, m: SDPA(L)(q, k, v, attn_mask=m, enable_gqa=True),
     [(4, 3, 2), (2, 5, 2), (2, 5, 2), _tril((3, 5), 2)], NO_NAME),
]

test_sdpa_against_pytorch, test_sdpa_gradcheck, test_sdpa_second_order = case_tests(CASES)


# ---- helpers ---------------------------------------------------------------------------

def _np(t):
    return t.detach().cpu().numpy()


def _close(ours, theirs, dtype, what):
    assert ours is not None and theirs is not None, what
    a, b = _np(ours), theirs.detach().numpy()
    assert a.shape == b.shape, f"{what}: {a.shape} != {b.shape}"
    np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), err_msg=what, equal_nan=True,
                               **TOL[dtype])


def _data(torch, shape, dtype="float64", device="cpu", seed=0, requires_grad=True):
    a = np.random.default_rng(seed).standard_normal(shape)
    return (ag.tensor(a, dtype=getattr(ag, dtype), device=device, requires_grad=requires_grad),
            torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=requires_grad))


def _mask(torch, a, device, dtype="float64"):
    """A numpy mask as (ours, PyTorch's); float masks in `dtype`."""
    if a is None:
        return None, None
    if a.dtype == bool:
        return ag.tensor(a, device=device), torch.tensor(a)
    return ag.tensor(a, dtype=getattr(ag, dtype), device=device), torch.tensor(a, dtype=getattr(torch, dtype))


def _load(ours, theirs, device):
    """PyTorch's weights into ours."""
    result = ours.load_state_dict({k: ag.tensor(v.detach().numpy(), device=device)
                                   for k, v in theirs.state_dict().items()})
    assert not result.missing_keys and not result.unexpected_keys
    return ours


def _pair(torch, name, *args, dtype="float64", device="cpu", act=None, **kw):
    """(ours, PyTorch's) module `name` with PyTorch's weights copied into ours; act: an activation
    given per library as lib -> activation."""
    ours_kw, theirs_kw = dict(kw), dict(kw)
    if act is not None:
        ours_kw["activation"], theirs_kw["activation"] = act(ag), act(torch)
    theirs = getattr(torch.nn, name)(*args, **theirs_kw, dtype=getattr(torch, dtype))
    ours = getattr(nn, name)(*args, **ours_kw, dtype=getattr(ag, dtype), device=device)
    return _load(ours, theirs, device), theirs


def _as_list(out):
    return list(out) if isinstance(out, tuple) else [out]


def _compare(torch, ours, theirs, args, kwargs=((), ()), dtype="float64", what=""):
    """Run both, compare every result (None where PyTorch's is None), then the gradients of
    every parameter and every input that requires grad, for random cotangents."""
    outs = _as_list(ours(*args[0], **dict(kwargs[0])))
    refs = _as_list(theirs(*args[1], **dict(kwargs[1])))
    assert len(outs) == len(refs)
    loss_o, loss_t = 0, 0
    for i, (o, r) in enumerate(zip(outs, refs)):
        if r is None:
            assert o is None, f"{what}: result {i} should be None"
            continue
        _close(o, r, dtype, f"{what}: result {i}")
        g = np.random.default_rng(10 + i).standard_normal(tuple(r.shape))
        loss_o = loss_o + (o * ag.tensor(g, dtype=o.dtype, device=o.device)).sum()
        loss_t = loss_t + (r * torch.tensor(g, dtype=r.dtype)).sum()
    loss_o.backward()
    loss_t.backward()
    named_o, named_t = dict(ours.named_parameters()), dict(theirs.named_parameters())
    assert list(named_o) == list(named_t)
    for n, q in named_t.items():
        if q.grad is None:
            assert named_o[n].grad is None or not np.any(_np(named_o[n].grad)), f"{what}: {n} got a gradient"
        else:
            _close(named_o[n].grad, q.grad, dtype, f"{what}: grad of {n}")
    for i, (a, b) in enumerate(zip(args[0], args[1])):
        if isinstance(b, torch.Tensor) and b.requires_grad:
            _close(a.grad, b.grad, dtype, f"{what}: grad of argument {i}")
    return outs, refs


# ---- scaled_dot_product_attention: beyond the table -----------------------------------

def test_sdpa_fully_masked_float_row_gives_zeros(torch, device):
    """A row that attends to nothing (float -inf everywhere) gives zeros and no gradient, as PyTorch's."""
    m = np.zeros((3, 5))
    m[1] = -np.inf
    m[2, 1:] = -np.inf
    (q, tq), (k, tk), (v, tv) = (_data(torch, s, device=device, seed=i) for i, s in
                                 enumerate([(2, 3, 4), (2, 5, 4), (2, 5, 3)]))
    om, tm = _mask(torch, m, device)
    o = F.scaled_dot_product_attention(q, k, v, om)
    t = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, tm)
    _close(o, t, "float64", "output")
    assert not _np(o)[:, 1].any()
    o.sum().backward()
    t.sum().backward()
    for a, b in ((q, tq), (k, tk), (v, tv)):
        _close(a.grad, b.grad, "float64", "grad")
    assert np.isfinite(_np(q.grad)).all() and not _np(q.grad)[:, 1].any()


@pytest.mark.parametrize("shapes", [[(0, 3, 4), (0, 5, 4), (0, 5, 3)], [(2, 0, 4), (2, 5, 4), (2, 5, 3)],
                                    [(2, 3, 4), (2, 0, 4), (2, 0, 3)], [(2, 3, 0), (2, 5, 0), (2, 5, 3)]],
                         ids=["empty batch", "no queries", "no keys", "no features"])
def test_sdpa_zero_sizes(torch, device, shapes):
    """Empty batches and sequences, as PyTorch's: no keys gives zeros; no features weighs the values evenly."""
    (q, tq), (k, tk), (v, tv) = (_data(torch, s, device=device, seed=i) for i, s in enumerate(shapes))
    o, t = F.scaled_dot_product_attention(q, k, v), torch.nn.functional.scaled_dot_product_attention(tq, tk, tv)
    _close(o, t, "float64", "output")
    o.sum().backward()
    t.sum().backward()
    for a, b in ((q, tq), (k, tk), (v, tv)):
        _close(a.grad, b.grad, "float64", "grad")


def test_sdpa_nan_and_inf_inputs(torch, device):
    """A NaN or inf in a query makes its row NaN (as PyTorch's); the other rows are unaffected."""
    (k, tk), (v, tv) = _data(torch, (2, 5, 4), device=device, seed=1), _data(torch, (2, 5, 3), device=device, seed=2)
    for bad in (np.nan, np.inf):
        a = np.random.default_rng(0).standard_normal((2, 3, 4))
        a[0, 1, 2] = bad
        o = F.scaled_dot_product_attention(ag.tensor(a, device=device), k, v)
        t = torch.nn.functional.scaled_dot_product_attention(torch.tensor(a), tk, tv)
        _close(o, t, "float64", f"query with {bad}")
        assert np.isnan(_np(o)[0, 1]).all() and np.isfinite(_np(o)[1]).all()


def test_sdpa_float16(torch, device):
    (q, tq), (k, tk), (v, tv) = (_data(torch, s, "float16", device, i) for i, s in
                                 enumerate([(2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3)]))
    for mask in (None, _tril((3, 5), 1)):
        om, tm = _mask(torch, mask, device)
        o = F.scaled_dot_product_attention(q, k, v, om)
        t = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, tm)
        assert o.dtype == ag.float16
        _close(o, t, "float16", "output")
    g = np.random.default_rng(5).standard_normal(t.shape)
    o.backward(ag.tensor(g, dtype=ag.float16, device=device))
    t.backward(torch.tensor(g, dtype=torch.float16))
    for a, b in ((q, tq), (k, tk), (v, tv)):
        _close(a.grad, b.grad, "float16", "grad")


def test_sdpa_float32_mask_with_float64_query(torch, device):
    """PyTorch takes a float32 mask with any query dtype (and no other float mask of another dtype)."""
    (q, tq), (k, tk), (v, tv) = (_data(torch, s, device=device, seed=i) for i, s in
                                 enumerate([(2, 3, 4), (2, 5, 4), (2, 5, 3)]))
    om, tm = _mask(torch, np.random.default_rng(7).standard_normal((3, 5)), device, "float32")
    o = F.scaled_dot_product_attention(q, k, v, om)
    assert o.dtype == ag.float64
    _close(o, torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, tm), "float64", "output")


def test_sdpa_dropout(device):
    """Training dropout on the weights: kept weights scaled by 1/(1-p), repeatable with manual_seed,
    p=1 gives zeros, p=0 is deterministic."""
    q, k = ag.randn(4, 8, 16, 4, device=device), ag.randn(4, 8, 16, 4, device=device)
    v = ag.ones(4, 8, 16, 1, device=device)
    # with v all ones each output is the sum of a row of dropped-out weights: mean 1
    ag.manual_seed(0)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    ag.manual_seed(0)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    np.testing.assert_array_equal(_np(a), _np(b))
    assert abs(_np(a).mean() - 1) < 0.1 and _np(a).std() > 0.1
    assert not _np(F.scaled_dot_product_attention(q, k, v, dropout_p=1.0)).any()
    np.testing.assert_allclose(_np(F.scaled_dot_product_attention(q, k, v)), 1, rtol=1e-6)
    # zero scores: weights 1/100 each, shown by identity values; kept ones become 1/100/0.75
    w = _np(F.scaled_dot_product_attention(ag.zeros(1, 500, 1, device=device), ag.zeros(1, 100, 1, device=device),
                                           ag.eye(100, device=device).unsqueeze(0), dropout_p=0.25))
    assert set(np.unique(np.round(w * 100 * 0.75, 5))) <= {0.0, 1.0}
    assert abs((w == 0).mean() - 0.25) < 0.01


# ---- MultiheadAttention against PyTorch -------------------------------------------------

E, H = 4, 2
MHA_CONFIGS = {
    "self": ({}, "self"),
    "self batch_first": ({"batch_first": True}, "self"),
    "cross": ({}, "cross"),
    "kdim vdim": ({"kdim": 3, "vdim": 5}, "separate"),
    "bias_kv zero_attn": ({"add_bias_kv": True, "add_zero_attn": True}, "separate"),
    "no bias batch_first": ({"bias": False, "batch_first": True}, "cross"),
}
L_, S_, N_ = 3, 5, 2


def _kpm(kind):
    rng = np.random.default_rng(4)
    if kind == "bool":
        m = rng.random((N_, S_)) > 0.6
        m[:, 0] = False                 # every query keeps a key
        return m
    return rng.standard_normal((N_, S_))


def _attn_mask(kind):
    if kind == "2d bool":
        return ~_tril((L_, S_), 1)      # True: not attended (MultiheadAttention's convention)
    return np.random.default_rng(5).standard_normal((N_ * H, L_, S_))


MASKS = {"none": (None, None), "kpm bool": ("bool", None), "kpm float": ("float", None),
         "attn 2d bool": (None, "2d bool"), "attn 3d float": (None, "3d float"),
         "kpm bool attn 2d bool": ("bool", "2d bool"), "kpm float attn 3d float": ("float", "3d float")}


def _mha_inputs(torch, config, device, dtype="float64", batch_first=False):
    """(ours, PyTorch's) argument lists query, key, value, sharing tensors as the config says."""
    kdim, vdim = config[0].get("kdim", E), config[0].get("vdim", E)
    shape = (lambda s, e: (N_, s, e)) if batch_first else (lambda s, e: (s, N_, e))
    q = _data(torch, shape(L_ if config[1] != "self" else S_, E), dtype, device, 0)
    if config[1] == "self":
        return [q[0]] * 3, [q[1]] * 3
    k = _data(torch, shape(S_, kdim), dtype, device, 1)
    if config[1] == "cross":
        return [q[0], k[0], k[0]], [q[1], k[1], k[1]]
    v = _data(torch, shape(S_, vdim), dtype, device, 2)
    return [q[0], k[0], v[0]], [q[1], k[1], v[1]]


MHA_CASES = [("self", m) for m in MASKS] + [
    ("self batch_first", "none"), ("self batch_first", "kpm bool attn 2d bool"),
    ("cross", "kpm float"), ("cross", "attn 3d float"), ("cross", "kpm float attn 3d float"),
    ("kdim vdim", "kpm bool"), ("kdim vdim", "attn 2d bool"), ("kdim vdim", "kpm bool attn 2d bool"),
    ("bias_kv zero_attn", "none"), ("bias_kv zero_attn", "kpm bool"), ("bias_kv zero_attn", "kpm float"),
    ("bias_kv zero_attn", "attn 2d bool"), ("bias_kv zero_attn", "kpm float attn 3d float"),
    ("no bias batch_first", "none"), ("no bias batch_first", "kpm bool attn 2d bool")]


@pytest.mark.parametrize("config,mask", MHA_CASES)
def test_multihead_attention_against_pytorch(torch, device, config, mask):
    kw, kind = MHA_CONFIGS[config]
    kpm_kind, attn_kind = MASKS[mask]
    for need_weights, average in ((True, True), (True, False), (False, True)):
        ours, theirs = _pair(torch, "MultiheadAttention", E, H, device=device, **kw)
        args = _mha_inputs(torch, MHA_CONFIGS[config], device, batch_first=kw.get("batch_first", False))
        kpm = _mask(torch, _kpm(kpm_kind) if kpm_kind else None, device)
        # (self-attention: L = S)
        am = _mask(torch, None if attn_kind is None else _square(attn_kind) if kind == "self" else
                   _attn_mask(attn_kind), device)
        kwargs = [dict(need_weights=need_weights, average_attn_weights=average, key_padding_mask=kpm[i],
                       attn_mask=am[i]) for i in range(2)]
        _compare(torch, ours, theirs, args, kwargs, what=f"{config} {mask} {need_weights} {average}")


def _square(kind):
    """Self-attention's masks: (S, S) or (N*H, S, S)."""
    if kind == "2d bool":
        return ~_tril((S_, S_))
    return np.random.default_rng(5).standard_normal((N_ * H, S_, S_))


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")
@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_unbatched(torch, device, need_weights):
    ours, theirs = _pair(torch, "MultiheadAttention", E, H, kdim=3, vdim=3, device=device)
    (q, tq), (k, tk) = _data(torch, (L_, E), device=device), _data(torch, (S_, 3), device=device, seed=1)
    kpm = _mask(torch, np.array([False, True, False, False, True]), device)
    am = _mask(torch, np.random.default_rng(2).standard_normal((H, L_, S_)), device)
    kwargs = [dict(key_padding_mask=kpm[i], attn_mask=am[i], need_weights=need_weights, average_attn_weights=False)
              for i in range(2)]
    outs, _ = _compare(torch, ours, theirs, ([q, k, k], [tq, tk, tk]), kwargs, what="unbatched")
    assert tuple(outs[0].shape) == (L_, E)


def test_multihead_attention_float32(torch, device):
    ours, theirs = _pair(torch, "MultiheadAttention", E, H, dtype="float32", device=device, batch_first=True)
    args = _mha_inputs(torch, ({}, "self"), device, "float32", batch_first=True)
    kpm, am = _mask(torch, _kpm("bool"), device), _mask(torch, _square("2d bool"), device)
    kwargs = [dict(key_padding_mask=kpm[i], attn_mask=am[i]) for i in range(2)]
    _compare(torch, ours, theirs, args, kwargs, dtype="float32", what="float32")


def test_multihead_attention_float16(torch, device):
    ours, theirs = _pair(torch, "MultiheadAttention", E, H, dtype="float16", device=device)
    (x, tx) = _data(torch, (L_, N_, E), "float16", device, requires_grad=False)
    for need_weights in (True, False):
        o, t = ours(x, x, x, need_weights=need_weights), theirs(tx, tx, tx, need_weights=need_weights)
        assert o[0].dtype == ag.float16
        _close(o[0], t[0], "float16", "output")


def test_multihead_attention_empty_batch(torch, device):
    ours, theirs = _pair(torch, "MultiheadAttention", E, H, device=device)
    x, tx = _data(torch, (L_, 0, E), device=device)
    for need_weights in (True, False):
        o, t = ours(x, x, x, need_weights=need_weights), theirs(tx, tx, tx, need_weights=need_weights)
        assert tuple(o[0].shape) == tuple(t[0].shape)
        assert (o[1] is None) == (t[1] is None) and (o[1] is None or tuple(o[1].shape) == tuple(t[1].shape))
        o[0].sum().backward()
        assert tuple(x.grad.shape) == tuple(x.shape)


def test_multihead_attention_fully_masked_rows(torch, device):
    """As PyTorch: with need_weights the row of a query that sees no key is NaN (a plain softmax);
    without, scaled_dot_product_attention gives zeros there."""
    ours, theirs = _pair(torch, "MultiheadAttention", E, H, device=device)
    (x, tx) = _data(torch, (S_, N_, E), device=device, requires_grad=False)
    am = np.zeros((S_, S_), dtype=bool)
    am[2] = True
    om, tm = _mask(torch, am, device)
    o, t = ours(x, x, x, attn_mask=om), theirs(tx, tx, tx, attn_mask=tm)
    _close(o[0], t[0], "float64", "output")
    _close(o[1], t[1], "float64", "weights")
    assert np.isnan(_np(o[0])[2]).all()
    o, t = ours(x, x, x, attn_mask=om, need_weights=False), theirs(tx, tx, tx, attn_mask=tm, need_weights=False)
    _close(o[0], t[0], "float64", "output without weights")
    assert np.isfinite(_np(o[0])).all()


@pytest.mark.parametrize("with_kpm", [False, True])
def test_is_causal_hint(torch, device, with_kpm):
    """PyTorch trusts is_causal: without weights and padding mask it applies the causal mask
    instead of attn_mask; otherwise attn_mask is used."""
    ours, theirs = _pair(torch, "MultiheadAttention", E, H, device=device)
    args = _mha_inputs(torch, ({}, "self"), device)
    om, tm = _mask(torch, np.random.default_rng(1).standard_normal((S_, S_)), device)
    kpm = _mask(torch, _kpm("bool") if with_kpm else None, device)
    kwargs = [dict(attn_mask=m, is_causal=True, need_weights=False, key_padding_mask=p)
              for m, p in ((om, kpm[0]), (tm, kpm[1]))]
    _compare(torch, ours, theirs, args, kwargs, what="is_causal")


def test_mismatched_mask_types_warn(device):
    m = nn.MultiheadAttention(E, H, device=device)
    x = ag.randn(S_, N_, E, device=device)
    with pytest.warns(UserWarning, match="Support for mismatched key_padding_mask and attn_mask is deprecated"):
        m(x, x, x, key_padding_mask=ag.zeros(N_, S_, dtype=ag.bool, device=device),
          attn_mask=ag.zeros(S_, S_, device=device))


def test_functional_multi_head_attention_forward(torch, device):
    """F.multi_head_attention_forward called directly, static_k/static_v included."""
    (q, tq), (k, tk) = _data(torch, (L_, N_, E), device=device), _data(torch, (S_, N_, E), device=device, seed=1)
    (w, tw), (b, tb) = _data(torch, (3 * E, E), device=device, seed=2), _data(torch, (3 * E,), device=device, seed=3)
    (ow, tow), (ob, tob) = _data(torch, (E, E), device=device, seed=4), _data(torch, (E,), device=device, seed=5)
    (sk, tsk), (sv, tsv) = (_data(torch, (N_ * H, 6, E // H), device=device, seed=s) for s in (6, 7))
    for lib, a in ((F, (q, k, w, b, ow, ob, sk, sv)), (torch.nn.functional, (tq, tk, tw, tb, tow, tob, tsk, tsv))):
        out, weights = lib.multi_head_attention_forward(a[0], a[1], a[1], E, H, a[2], a[3], None, None, True, 0.0,
                                                        a[4], a[5], static_k=a[6], static_v=a[7],
                                                        average_attn_weights=False)
        (out.sum() + (weights * weights).sum()).backward()
        if lib is F:
            ours = out, weights
    _close(ours[0], out, "float64", "output")
    _close(ours[1], weights, "float64", "weights")
    for x, t in ((q, tq), (w, tw), (b, tb), (ow, tow), (ob, tob), (sk, tsk), (sv, tsv)):
        _close(x.grad, t.grad, "float64", "grad")
    assert k.grad is None or not _np(k.grad).any()


def test_multihead_attention_gradgradcheck(device):
    """Second order through multi_head_attention_forward (both attention paths), by finite differences."""
    g = lambda *shape, rg=True: ag.randn(*shape, dtype=ag.float64, device=device, requires_grad=rg)  # noqa: E731
    q, kv, w, bias_k = g(2, 1, 2), g(2, 1, 2), g(6, 2), g(1, 1, 2)
    b, bias_v, ow, ob = g(6, rg=False), g(1, 1, 2, rg=False), g(2, 2, rg=False), g(2, rg=False)
    mask = ag.tensor([[False, True], [False, False]], device=device)
    for need_weights in (True, False):
        def f(q, kv, w, bias_k, need_weights=need_weights):
            return F.multi_head_attention_forward(q, kv, kv, 2, 2, w, b, bias_k, bias_v, False, 0.0, ow, ob,
                                                  attn_mask=mask, need_weights=need_weights)[0]
        inputs = (q, kv, w, bias_k)
        assert ag.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)
        assert ag.autograd.gradgradcheck(f, inputs, eps=1e-6, atol=1e-4, rtol=1e-3)


def test_multihead_attention_matches_pytorch_inference_path(torch, device):
    """In eval under no_grad PyTorch takes its fused kernel; the values agree with ours."""
    ours, theirs = _pair(torch, "MultiheadAttention", E, H, batch_first=True, device=device)
    ours.eval(), theirs.eval()
    x, tx = _data(torch, (N_, S_, E), device=device, requires_grad=False)
    kpm = _mask(torch, _kpm("bool"), device)
    with ag.no_grad(), torch.no_grad():
        o, t = ours(x, x, x, key_padding_mask=kpm[0]), theirs(tx, tx, tx, key_padding_mask=kpm[1])
    _close(o[0], t[0], "float64", "output")
    _close(o[1], t[1], "float64", "weights")


def test_multihead_attention_dropout_train_and_eval(torch, device):
    m = nn.MultiheadAttention(E, H, dropout=0.5, dtype=ag.float64, device=device)
    ref = torch.nn.MultiheadAttention(E, H, dtype=torch.float64)
    _load(m, ref, device)
    x, tx = _data(torch, (6, 3, E), device=device, requires_grad=False)
    # eval: deterministic, and PyTorch's output (dropout is off)
    m.eval(), ref.eval()
    a, b = m(x, x, x), m(x, x, x)
    np.testing.assert_array_equal(_np(a[0]), _np(b[0]))
    tx.requires_grad_()         # (keeps PyTorch off its fused inference kernel)
    _close(a[0], ref(tx, tx, tx)[0], "float64", "eval output")
    # train: the returned weights are the dropped-out ones: 0 or 2x the eval weights
    m.train()
    ag.manual_seed(3)
    c = m(x, x, x)
    ag.manual_seed(3)
    d = m(x, x, x)
    np.testing.assert_array_equal(_np(c[1]), _np(d[1]))
    per_head = m(x, x, x, average_attn_weights=False)[1]
    m.eval()
    full = _np(m(x, x, x, average_attn_weights=False)[1])
    w = _np(per_head)
    kept = w != 0
    np.testing.assert_allclose(w[kept], 2 * full[kept], rtol=1e-12)
    assert 0.3 < kept.mean() < 0.7
    assert not np.allclose(_np(c[0]), _np(a[0]))


def test_sdpa_negative_dropout_divergence(torch):
    """Known divergence: PyTorch's SDPA lets a negative dropout_p through (it checks only p > 1);
    ours refuses any probability outside [0, 1]."""
    q = np.ones((1, 3, 4))
    torch.nn.functional.scaled_dot_product_attention(*[torch.tensor(q)] * 3, dropout_p=-0.5)
    with pytest.raises(RuntimeError, match="scaled_dot_product_attention: dropout probability"):
        F.scaled_dot_product_attention(*[ag.tensor(q)] * 3, dropout_p=-0.5)


def test_multihead_dropout_range_divergence(torch):
    """Known divergence: a MultiheadAttention dropout outside [0, 1] raises ValueError here on
    both attention paths; PyTorch's raises ValueError with need_weights (F.dropout) and
    RuntimeError without (scaled_dot_product_attention)."""
    x = np.ones((3, 2, 4), dtype=np.float32)
    with pytest.raises(RuntimeError, match="dropout probability"):
        torch.nn.MultiheadAttention(4, 2, dropout=1.5)(*[torch.tensor(x)] * 3, need_weights=False)
    with pytest.raises(ValueError, match="multi_head_attention_forward"):
        nn.MultiheadAttention(4, 2, dropout=1.5)(*[ag.tensor(x)] * 3, need_weights=False)
    nn.MultiheadAttention(4, 2, dropout=1.5).eval()(*[ag.tensor(x)] * 3)     # (unused in eval, as PyTorch)


# ---- MultiheadAttention as a module ----------------------------------------------------

def test_parameter_names_and_state_dict_both_ways(torch, device):
    for kw in ({}, {"kdim": 3, "vdim": 5, "add_bias_kv": True}, {"bias": False}):
        ours, theirs = nn.MultiheadAttention(E, H, **kw, device=device), torch.nn.MultiheadAttention(E, H, **kw)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
        theirs.load_state_dict({k: torch.tensor(_np(v)) for k, v in ours.state_dict().items()})
        for k, v in ours.state_dict().items():
            np.testing.assert_array_equal(_np(v), theirs.state_dict()[k].numpy())
    assert nn.MultiheadAttention(E, H).bias_k is None


def test_transformer_state_dict_both_ways(torch, device):
    """Our weights into PyTorch's Transformer: the same keys, and the same outputs."""
    ours = nn.Transformer(D, H, 1, 2, FF, dropout=0.0, dtype=ag.float64, device=device)
    theirs = torch.nn.Transformer(D, H, 1, 2, FF, dropout=0.0, dtype=torch.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.tensor(_np(v)) for k, v in ours.state_dict().items()})
    src, tgt = _seq(torch, S_, False, device, 0), _seq(torch, L_, False, device, 1)
    _close(ours(src[0], tgt[0]), theirs(src[1], tgt[1]), "float64", "output")


def test_exported_names():
    from autograd_gpu.nn import functional_attention, transformer
    assert set(transformer.__all__) == {"MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder",
                                        "TransformerDecoderLayer", "TransformerDecoder", "Transformer"}
    for name in transformer.__all__:
        assert name in nn.__all__ and getattr(nn, name) is getattr(transformer, name)
    for name in functional_attention.__all__:
        assert getattr(F, name) is getattr(functional_attention, name)
    assert set(functional_attention.__all__) == {"scaled_dot_product_attention", "multi_head_attention_forward"}


def test_no_nested_tensor_warning(torch):
    """Known divergence: PyTorch warns that enable_nested_tensor cannot be used (here: not
    batch_first); ours has no nested tensors, accepts the argument and says nothing."""
    with pytest.warns(UserWarning, match="enable_nested_tensor is True"):
        torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(4, 2, 8), 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, 8), 1)
    assert enc.enable_nested_tensor is True and enc.use_nested_tensor is False


def test_initialisation():
    m = nn.MultiheadAttention(64, 4, add_bias_kv=True)
    w = _np(m.in_proj_weight)
    bound = np.sqrt(6 / (64 + 3 * 64))             # xavier-uniform of (3E, E)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound and abs(w.mean()) < 0.01
    assert not _np(m.in_proj_bias).any() and not _np(m.out_proj.bias).any()
    assert np.abs(_np(m.out_proj.weight)).max() <= 1 / 8           # Linear's bound 1/sqrt(E)
    assert 0.05 < _np(m.bias_k).std() < 0.35                         # xavier-normal of (1, 1, E): std ~ 0.17
    s = nn.MultiheadAttention(6, 2, kdim=3, vdim=5)
    assert s.in_proj_weight is None and tuple(s.k_proj_weight.shape) == (6, 3)
    assert np.abs(_np(s.v_proj_weight)).max() <= np.sqrt(6 / (6 + 5))
    t = nn.Transformer(8, 2, 1, 1, 16)
    for name, p in t.named_parameters():
        if p.dim() > 1:
            fan_out, fan_in = p.shape
            assert np.abs(_np(p)).max() <= np.sqrt(6 / (fan_in + fan_out)), name


def test_dtype_and_device_arguments(device):
    m = nn.MultiheadAttention(E, H, kdim=3, dtype=ag.float64, device=device)
    assert all(p.dtype == ag.float64 and p.device == ag.device(device) for p in m.parameters())
    layer = nn.TransformerDecoderLayer(E, H, 8, dtype=ag.float64, device=device)
    assert all(p.dtype == ag.float64 and p.device == ag.device(device) for p in layer.parameters())


REPRS = [lambda M: M.MultiheadAttention(4, 2), lambda M: M.MultiheadAttention(4, 2, bias=False, kdim=3),
         lambda M: M.TransformerEncoderLayer(4, 2, 8, activation=M.GELU()),
         lambda M: M.TransformerEncoder(M.TransformerEncoderLayer(4, 2, 8), 2, M.LayerNorm(4)),
         lambda M: M.TransformerDecoderLayer(4, 2, 8, bias=False), lambda M: M.Transformer(4, 2, 1, 2, 8)]


@pytest.mark.parametrize("make", REPRS)
def test_repr_matches_pytorch(torch, make):
    assert str(make(nn)) == str(make(torch.nn))


# ---- Transformer layers against PyTorch ------------------------------------------------

D, FF = 4, 6
ACTS = {"relu": "relu", "gelu": "gelu", "callable": lambda lib: lib.tanh, "module": lambda lib: lib.nn.GELU()}


def _layer_kwargs(act, **kw):
    """Constructor options with the activation given as PyTorch takes it."""
    a = ACTS[act]
    return (dict(kw, activation=a), None) if isinstance(a, str) else (kw, a)


def _seq(torch, s, batch_first, device, seed, dtype="float64"):
    return _data(torch, (N_, s, D) if batch_first else (s, N_, D), dtype, device, seed)


ENCODER_LAYER_CASES = [("relu", False, False, True), ("gelu", True, False, True), ("callable", False, True, True),
                       ("module", True, True, False), ("relu", True, True, True)]


@pytest.mark.parametrize("act,norm_first,batch_first,bias", ENCODER_LAYER_CASES)
def test_encoder_layer_against_pytorch(torch, device, act, norm_first, batch_first, bias):
    kw, a = _layer_kwargs(act, norm_first=norm_first, batch_first=batch_first, bias=bias, dropout=0.0)
    ours, theirs = _pair(torch, "TransformerEncoderLayer", D, H, FF, device=device, act=a, **kw)
    x = _seq(torch, S_, batch_first, device, 0)
    mask = _mask(torch, np.asarray(nn.Transformer.generate_square_subsequent_mask(S_, dtype=ag.float64)), device)
    kpm = _mask(torch, _kpm("bool"), device)
    for with_masks in (False, True):
        kwargs = [dict(src_mask=mask[i], src_key_padding_mask=kpm[i]) if with_masks else {} for i in range(2)]
        ours.zero_grad(), theirs.zero_grad()
        x[0].grad, x[1].grad = None, None
        _compare(torch, ours, theirs, ([x[0]], [x[1]]), kwargs, what=f"encoder layer masks={with_masks}")


DECODER_LAYER_CASES = [("relu", False, False, True), ("gelu", True, True, True), ("callable", True, False, False)]


@pytest.mark.parametrize("act,norm_first,batch_first,bias", DECODER_LAYER_CASES)
def test_decoder_layer_against_pytorch(torch, device, act, norm_first, batch_first, bias):
    kw, a = _layer_kwargs(act, norm_first=norm_first, batch_first=batch_first, bias=bias, dropout=0.0)
    ours, theirs = _pair(torch, "TransformerDecoderLayer", D, H, FF, device=device, act=a, **kw)
    tgt, mem = _seq(torch, L_, batch_first, device, 0), _seq(torch, S_, batch_first, device, 1)
    tgt_mask = _mask(torch, ~_tril((L_, L_)), device)
    mem_mask = _mask(torch, np.random.default_rng(2).standard_normal((L_, S_)), device)
    mem_kpm = _mask(torch, _kpm("float"), device)
    kwargs = [dict(tgt_mask=tgt_mask[i], memory_mask=mem_mask[i], memory_key_padding_mask=mem_kpm[i])
              for i in range(2)]
    _compare(torch, ours, theirs, ([tgt[0], mem[0]], [tgt[1], mem[1]]), kwargs, what="decoder layer")


@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_and_decoder_stacks(torch, device, batch_first):
    kw = dict(dropout=0.0, batch_first=batch_first)
    layer_o, layer_t = nn.TransformerEncoderLayer(D, H, FF, **kw), torch.nn.TransformerEncoderLayer(D, H, FF, **kw)
    ours = nn.TransformerEncoder(layer_o, 2, nn.LayerNorm(D), enable_nested_tensor=False).double().to(device)
    theirs = torch.nn.TransformerEncoder(layer_t, 2, torch.nn.LayerNorm(D), enable_nested_tensor=False).double()
    _load(ours, theirs, device)
    x = _seq(torch, S_, batch_first, device, 0)
    mask = _mask(torch, np.asarray(nn.Transformer.generate_square_subsequent_mask(S_, dtype=ag.float64)), device)
    kpm = _mask(torch, _kpm("bool"), device)
    kwargs = [dict(mask=mask[i], src_key_padding_mask=kpm[i]) for i in range(2)]
    _compare(torch, ours, theirs, ([x[0]], [x[1]]), kwargs, what="encoder")
    dec_o = nn.TransformerDecoder(nn.TransformerDecoderLayer(D, H, FF, **kw), 2).double().to(device)
    dec_t = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(D, H, FF, **kw), 2).double()
    _load(dec_o, dec_t, device)
    tgt, mem = _seq(torch, L_, batch_first, device, 1), _seq(torch, S_, batch_first, device, 2)
    causal = _mask(torch, np.asarray(nn.Transformer.generate_square_subsequent_mask(L_, dtype=ag.float64)), device)
    kwargs = [dict(tgt_mask=causal[i], memory_key_padding_mask=kpm[i]) for i in range(2)]
    _compare(torch, dec_o, dec_t, ([tgt[0], mem[0]], [tgt[1], mem[1]]), kwargs, what="decoder")


@pytest.mark.parametrize("batch_first,norm_first", [(False, False), (True, True)])
def test_transformer_against_pytorch(torch, device, batch_first, norm_first):
    ours, theirs = _pair(torch, "Transformer", D, H, 2, 1, FF, dropout=0.0, batch_first=batch_first,
                         norm_first=norm_first, device=device)
    src, tgt = _seq(torch, S_, batch_first, device, 0), _seq(torch, L_, batch_first, device, 1)
    tgt_mask = _mask(torch, np.asarray(nn.Transformer.generate_square_subsequent_mask(L_, dtype=ag.float64)), device)
    src_kpm = _mask(torch, _kpm("bool"), device)
    tgt_kpm = _mask(torch, np.array([[0, 0, 1], [0, 0, 0]], bool), device)
    kwargs = [dict(tgt_mask=tgt_mask[i], src_key_padding_mask=src_kpm[i], tgt_key_padding_mask=tgt_kpm[i],
                   memory_key_padding_mask=src_kpm[i]) for i in range(2)]
    _compare(torch, ours, theirs, ([src[0], tgt[0]], [src[1], tgt[1]]), kwargs, what="transformer")


def test_transformer_unbatched_and_float32(torch, device):
    ours, theirs = _pair(torch, "Transformer", D, H, 1, 1, FF, dropout=0.0, dtype="float32", device=device)
    src, tgt = _data(torch, (S_, D), "float32", device, 0), _data(torch, (L_, D), "float32", device, 1)
    tgt_mask = _mask(torch, ~_tril((L_, L_)), device)
    kwargs = [dict(tgt_mask=tgt_mask[i], tgt_is_causal=True) for i in range(2)]
    outs, _ = _compare(torch, ours, theirs, ([src[0], tgt[0]], [src[1], tgt[1]]), kwargs, dtype="float32",
                       what="unbatched")
    assert tuple(outs[0].shape) == (L_, D)


def test_generate_square_subsequent_mask(torch, device):
    for sz, dtype in ((4, None), (1, "float64"), (0, None)):
        o = nn.Transformer.generate_square_subsequent_mask(sz, device=device,
                                                          dtype=getattr(ag, dtype) if dtype else None)
        t = torch.nn.Transformer.generate_square_subsequent_mask(sz, dtype=getattr(torch, dtype) if dtype else None)
        assert o.dtype == getattr(ag, dtype or "float32") and o.device == ag.device(device)
        np.testing.assert_array_equal(_np(o), t.numpy())


def test_nested_tensor_inference_divergence(torch, device):
    """Known divergence: in eval under no_grad, PyTorch's encoder packs a batch_first batch
    with a padding mask into a nested tensor and returns zeros at the padded positions; ours
    computes those positions like the others. The unpadded positions agree."""
    kw = dict(dropout=0.0, batch_first=True)
    layer_o, layer_t = nn.TransformerEncoderLayer(D, H, FF, **kw), torch.nn.TransformerEncoderLayer(D, H, FF, **kw)
    ours = nn.TransformerEncoder(layer_o, 1).double().to(device).eval()
    theirs = torch.nn.TransformerEncoder(layer_t, 1).double().eval()
    _load(ours, theirs, device)
    x, tx = _data(torch, (N_, S_, D), device=device, requires_grad=False)
    pad = np.zeros((N_, S_), dtype=bool)
    pad[0, 3:] = True
    kpm = _mask(torch, pad, device)
    with ag.no_grad(), torch.no_grad():
        o, t = _np(ours(x, src_key_padding_mask=kpm[0])), theirs(tx, src_key_padding_mask=kpm[1]).numpy()
    np.testing.assert_allclose(o[~pad], t[~pad], rtol=1e-9, atol=1e-11)
    assert not t[pad].any() and np.abs(o[pad]).min() > 0


def test_train_and_eval_with_dropout(torch, device):
    """dropout > 0: train mode draws (repeatably under manual_seed), eval is deterministic
    and equals PyTorch's eval output."""
    ours, theirs = _pair(torch, "Transformer", D, H, 1, 1, FF, dropout=0.5, device=device)
    src, tgt = _seq(torch, S_, False, device, 0), _seq(torch, L_, False, device, 1)
    ours.eval(), theirs.eval()
    a = ours(src[0], tgt[0])
    np.testing.assert_array_equal(_np(a), _np(ours(src[0], tgt[0])))
    _close(a, theirs(src[1], tgt[1]), "float64", "eval")
    ours.train()
    ag.manual_seed(1)
    b = ours(src[0], tgt[0])
    ag.manual_seed(1)
    np.testing.assert_array_equal(_np(b), _np(ours(src[0], tgt[0])))
    assert tuple(b.shape) == tuple(a.shape) and not np.allclose(_np(b), _np(a))
    b.sum().backward()
    assert all(p.grad is not None for p in ours.parameters())


def test_encoder_detects_causal_mask(torch, device):
    """A mask equal to generate_square_subsequent_mask is taken as causal (PyTorch's hint): the
    result is the same either way, and the hint given explicitly wins."""
    ours, theirs = _pair(torch, "TransformerEncoderLayer", D, H, FF, dropout=0.0, device=device)
    enc_o, enc_t = nn.TransformerEncoder(ours, 1), torch.nn.TransformerEncoder(theirs, 1, enable_nested_tensor=False)
    x = _seq(torch, S_, False, device, 0)
    causal = _mask(torch, np.asarray(nn.Transformer.generate_square_subsequent_mask(S_, dtype=ag.float64)), device)
    other = _mask(torch, np.random.default_rng(1).standard_normal((S_, S_)), device)
    for m, hint in ((causal, None), (other, True), (other, None)):
        o, t = enc_o(x[0], mask=m[0], is_causal=hint), enc_t(x[1], mask=m[1], is_causal=hint)
        _close(o, t, "float64", f"hint {hint}")


# ---- training side by side ---------------------------------------------------------------

def test_tiny_transformer_trains_like_pytorch(torch, device):
    """Five SGD steps (with momentum) of a tiny Transformer on the same data and weights: equal
    losses. PyTorch's side updates by hand (torch.optim's first use costs seconds of imports)."""
    ours, theirs = _pair(torch, "Transformer", D, H, 1, 1, FF, dropout=0.0, batch_first=True, device=device)
    src, tgt = _data(torch, (3, 5, D), device=device, requires_grad=False), \
        _data(torch, (3, 4, D), device=device, seed=1, requires_grad=False)
    target = _data(torch, (3, 4, D), device=device, seed=2, requires_grad=False)
    mask = nn.Transformer.generate_square_subsequent_mask(4, device=device, dtype=ag.float64)
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    opt = ag.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    velocity = {}
    losses = []
    for _ in range(5):
        opt.zero_grad()
        theirs.zero_grad()
        lo = F.mse_loss(ours(src[0], tgt[0], tgt_mask=mask), target[0])
        lt = torch.nn.functional.mse_loss(theirs(src[1], tgt[1], tgt_mask=tmask), target[1])
        lo.backward(), lt.backward()
        opt.step()
        with torch.no_grad():
            for p in theirs.parameters():        # PyTorch's SGD: v = 0.9 v + g (v = g at first); p -= 0.1 v
                v = velocity[p] = p.grad.clone() if p not in velocity else velocity[p].mul_(0.9).add_(p.grad)
                p.sub_(0.1 * v)
        losses.append((lo.item(), lt.item()))
    for lo, lt in losses:
        assert abs(lo - lt) <= 1e-10, losses
    assert losses[-1][0] < losses[0][0]


# ---- bad input -------------------------------------------------------------------------

def _mha(M, T, **kw):
    return M.MultiheadAttention(4, 2, **kw)


BAD = {
    "scaled_dot_product_attention 1-D": lambda M, T: M.functional.scaled_dot_product_attention(
        T.ones(4), T.ones(4), T.ones(4)),
    "scaled_dot_product_attention dtypes": lambda M, T: M.functional.scaled_dot_product_attention(
        T.ones(1, 3, 4), T.ones(1, 5, 4, dtype=T.float64), T.ones(1, 5, 4)),
    "scaled_dot_product_attention integer": lambda M, T: M.functional.scaled_dot_product_attention(
        T.ones(1, 3, 4, dtype=T.int64), T.ones(1, 5, 4, dtype=T.int64), T.ones(1, 5, 4, dtype=T.int64)),
    "scaled_dot_product_attention embed": lambda M, T: M.functional.scaled_dot_product_attention(
        T.ones(1, 3, 4), T.ones(1, 5, 3), T.ones(1, 5, 4)),
    "scaled_dot_product_attention lengths": lambda M, T: M.functional.scaled_dot_product_attention(
        T.ones(1, 3, 4), T.ones(1, 5, 4), T.ones(1, 6, 4)),
    "scaled_dot_product_attention batch": lambda M, T: M.functional.scaled_dot_product_attention(
        T.ones(2, 3, 4), T.ones(3, 5, 4), T.ones(3, 5, 4)),
    "scaled_dot_product_attention heads without gqa": lambda M, T: M.functional.scaled_dot_product_attention(
        T.ones(1, 4, 3, 4), T.ones(1, 2, 5, 4), T.ones(1, 2, 5, 4)),
    "scaled_dot_product_attention gqa heads": lambda M, T: M.functional.scaled_dot_product_attention(
        T.ones(1, 3, 3, 4), T.ones(1, 2, 5, 4), T.ones(1, 2, 5, 4), enable_gqa=True),
    "scaled_dot_product_attention causal and mask": lambda M, T: M.functional.scaled_dot_product_attention(
        T.ones(1, 3, 4), T.ones(1, 5, 4), T.ones(1, 5, 4), attn_mask=T.ones(3, 5, dtype=T.bool), is_causal=True),
    "scaled_dot_product_attention mask shape": lambda M, T: M.functional.scaled_dot_product_attention(
        T.ones(1, 3, 4), T.ones(1, 5, 4), T.ones(1, 5, 4), attn_mask=T.ones(3, 4, dtype=T.bool)),
    "scaled_dot_product_attention mask grows": lambda M, T: M.functional.scaled_dot_product_attention(
        T.ones(3, 4), T.ones(5, 4), T.ones(5, 4), attn_mask=T.ones(2, 3, 5, dtype=T.bool)),
    "scaled_dot_product_attention mask dtype": lambda M, T: M.functional.scaled_dot_product_attention(
        T.ones(1, 3, 4), T.ones(1, 5, 4), T.ones(1, 5, 4), attn_mask=T.zeros(3, 5, dtype=T.float64)),
    "scaled_dot_product_attention int mask": lambda M, T: M.functional.scaled_dot_product_attention(
        T.ones(1, 3, 4), T.ones(1, 5, 4), T.ones(1, 5, 4), attn_mask=T.zeros(3, 5, dtype=T.int64)),
    "scaled_dot_product_attention dropout": lambda M, T: M.functional.scaled_dot_product_attention(
        T.ones(1, 3, 4), T.ones(1, 5, 4), T.ones(1, 5, 4), dropout_p=1.5),
    "scaled_dot_product_attention query type": lambda M, T: M.functional.scaled_dot_product_attention(
        [1.0], T.ones(1, 5, 4), T.ones(1, 5, 4)),
    "MultiheadAttention embed_dim 0": lambda M, T: M.MultiheadAttention(0, 1),
    "MultiheadAttention num_heads -1": lambda M, T: M.MultiheadAttention(4, -1),
    "MultiheadAttention not divisible": lambda M, T: M.MultiheadAttention(5, 2),
    "MultiheadAttention float embed_dim": lambda M, T: M.MultiheadAttention(4.0, 2),
    "MultiheadAttention wrong embed": lambda M, T: _mha(M, T)(T.ones(3, 2, 5), T.ones(3, 2, 5), T.ones(3, 2, 5)),
    "MultiheadAttention key value shapes": lambda M, T: _mha(M, T)(T.ones(3, 2, 4), T.ones(5, 2, 4),
                                                                   T.ones(6, 2, 4)),
    "MultiheadAttention kdim": lambda M, T: _mha(M, T, kdim=3)(T.ones(3, 2, 4), T.ones(5, 2, 4), T.ones(5, 2, 4)),
    "MultiheadAttention 4-D query": lambda M, T: _mha(M, T)(T.ones(1, 3, 2, 4), T.ones(1, 3, 2, 4),
                                                            T.ones(1, 3, 2, 4)),
    "MultiheadAttention 2-D key": lambda M, T: _mha(M, T)(T.ones(3, 2, 4), T.ones(3, 4), T.ones(3, 4)),
    "MultiheadAttention kpm 3-D": lambda M, T: _mha(M, T)(T.ones(3, 2, 4), T.ones(5, 2, 4), T.ones(5, 2, 4),
                                                          key_padding_mask=T.zeros(2, 5, 1, dtype=T.bool)),
    "MultiheadAttention kpm length": lambda M, T: _mha(M, T)(T.ones(3, 2, 4), T.ones(5, 2, 4), T.ones(5, 2, 4),
                                                             key_padding_mask=T.zeros(2, 4, dtype=T.bool)),
    "MultiheadAttention kpm batch": lambda M, T: _mha(M, T)(T.ones(3, 2, 4), T.ones(5, 2, 4), T.ones(5, 2, 4),
                                                            key_padding_mask=T.zeros(3, 5, dtype=T.bool)),
    "MultiheadAttention kpm int": lambda M, T: _mha(M, T)(T.ones(3, 2, 4), T.ones(5, 2, 4), T.ones(5, 2, 4),
                                                          key_padding_mask=T.zeros(2, 5, dtype=T.int64)),
    "MultiheadAttention attn_mask 2-D": lambda M, T: _mha(M, T)(T.ones(3, 2, 4), T.ones(5, 2, 4), T.ones(5, 2, 4),
                                                                attn_mask=T.zeros(3, 4)),
    "MultiheadAttention attn_mask 3-D": lambda M, T: _mha(M, T)(T.ones(3, 2, 4), T.ones(5, 2, 4), T.ones(5, 2, 4),
                                                                attn_mask=T.zeros(2, 3, 5)),
    "MultiheadAttention attn_mask 4-D": lambda M, T: _mha(M, T)(T.ones(3, 2, 4), T.ones(5, 2, 4), T.ones(5, 2, 4),
                                                                attn_mask=T.zeros(1, 2, 3, 5)),
    "MultiheadAttention unbatched attn_mask": lambda M, T: _mha(M, T)(T.ones(3, 4), T.ones(5, 4), T.ones(5, 4),
                                                                      attn_mask=T.zeros(3, 3, 5)),
    "MultiheadAttention unbatched kpm": lambda M, T: _mha(M, T)(T.ones(3, 4), T.ones(5, 4), T.ones(5, 4),
                                                                key_padding_mask=T.zeros(1, 5, dtype=T.bool)),
    "MultiheadAttention attn_mask int": lambda M, T: _mha(M, T)(T.ones(3, 2, 4), T.ones(5, 2, 4), T.ones(5, 2, 4),
                                                                attn_mask=T.zeros(3, 5, dtype=T.int64)),
    "MultiheadAttention float64 mask with weights": lambda M, T: _mha(M, T)(
        T.ones(3, 2, 4), T.ones(5, 2, 4), T.ones(5, 2, 4), attn_mask=T.zeros(3, 5, dtype=T.float64)),
    "MultiheadAttention float64 mask without weights": lambda M, T: _mha(M, T)(
        T.ones(3, 2, 4), T.ones(5, 2, 4), T.ones(5, 2, 4), attn_mask=T.zeros(3, 5, dtype=T.float64),
        need_weights=False),
    "MultiheadAttention query dtype": lambda M, T: _mha(M, T)(T.ones(3, 2, 4, dtype=T.float64),
                                                              T.ones(5, 2, 4, dtype=T.float64),
                                                              T.ones(5, 2, 4, dtype=T.float64)),
    "MultiheadAttention key dtype": lambda M, T: _mha(M, T)(T.ones(3, 2, 4, dtype=T.float64), T.ones(5, 2, 4),
                                                            T.ones(5, 2, 4)),
    "MultiheadAttention causal without mask": lambda M, T: _mha(M, T)(T.ones(3, 2, 4), T.ones(3, 2, 4),
                                                                      T.ones(3, 2, 4), is_causal=True),
    "MultiheadAttention dropout": lambda M, T: _mha(M, T, dropout=1.5)(T.ones(3, 2, 4), T.ones(3, 2, 4),
                                                                       T.ones(3, 2, 4)),
    "TransformerEncoderLayer activation": lambda M, T: M.TransformerEncoderLayer(4, 2, 8, activation="tanh"),
    "TransformerDecoderLayer activation": lambda M, T: M.TransformerDecoderLayer(4, 2, 8, activation="tanh"),
    "TransformerEncoderLayer nhead": lambda M, T: M.TransformerEncoderLayer(5, 2),
    "TransformerEncoderLayer 4-D": lambda M, T: M.TransformerEncoderLayer(4, 2, 8)(T.ones(3, 2, 2, 4)),
    "TransformerEncoderLayer causal without mask": lambda M, T: M.TransformerEncoderLayer(4, 2, 8)(
        T.ones(3, 2, 4), is_causal=True),
    "TransformerEncoder kpm length": lambda M, T: M.TransformerEncoder(M.TransformerEncoderLayer(4, 2, 8), 1)(
        T.ones(3, 2, 4), src_key_padding_mask=T.zeros(2, 4, dtype=T.bool)),
    "TransformerEncoder no layers": lambda M, T: M.TransformerEncoder(M.TransformerEncoderLayer(4, 2, 8), 0)(
        T.ones(3, 2, 4)),
    "TransformerDecoder memory dims": lambda M, T: M.TransformerDecoder(M.TransformerDecoderLayer(4, 2, 8), 1)(
        T.ones(3, 2, 4), T.ones(5, 2, 3)),
    "Transformer batch": lambda M, T: M.Transformer(4, 2, 1, 1, 8)(T.ones(3, 2, 4), T.ones(5, 3, 4)),
    "Transformer features": lambda M, T: M.Transformer(4, 2, 1, 1, 8)(T.ones(3, 2, 5), T.ones(5, 2, 5)),
    "Transformer tgt_mask": lambda M, T: M.Transformer(4, 2, 1, 1, 8)(T.ones(3, 2, 4), T.ones(5, 2, 4),
                                                                      tgt_mask=T.zeros(4, 4)),
}


def _raised(fn):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn()
    except Exception as e:          # noqa: BLE001 - the exception type is what is compared
        return e
    return None


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_raises_like_pytorch(torch, name):
    ours, theirs = _raised(lambda: BAD[name](nn, ag)), _raised(lambda: BAD[name](torch.nn, torch))
    assert theirs is not None and type(ours) is type(theirs), f"{name}: ours {ours!r}, PyTorch's {theirs!r}"
    # the message names the function or layer (or the attention layer or container inside it)
    names = (name.split()[0], "multi_head_attention_forward", "MultiheadAttention", "ModuleList")
    assert any(n in str(ours) for n in names), str(ours)


def test_failed_call_changes_nothing(device):
    m = nn.MultiheadAttention(E, H, dropout=0.5, device=device)
    before = {k: _np(v).copy() for k, v in m.state_dict().items()}
    versions = [p._version for p in m.parameters()]
    x = ag.ones(3, 2, E, device=device, requires_grad=True)
    ag.manual_seed(5)
    with pytest.raises(RuntimeError, match="multi_head_attention_forward"):
        m(x, x, x, attn_mask=ag.zeros(2, 2, device=device))
    after = _np(ag.rand(3, device=device))
    ag.manual_seed(5)
    np.testing.assert_array_equal(after, _np(ag.rand(3, device=device)))     # no dropout was drawn
    assert x.grad is None and x._version == 0
    assert [p._version for p in m.parameters()] == versions and all(p.grad is None for p in m.parameters())
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(_np(v), before[k])


def test_device_mismatch(device):
    if device == "cpu":
        return                      # (the cuda run checks cpu against cuda)
    q = ag.ones(1, 3, 4, device=device)
    with pytest.raises(RuntimeError, match="scaled_dot_product_attention"):
        F.scaled_dot_product_attention(q, ag.ones(1, 5, 4), ag.ones(1, 5, 4, device=device))
    with pytest.raises(RuntimeError, match="scaled_dot_product_attention"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=ag.ones(3, 3, dtype=ag.bool))
    m = nn.MultiheadAttention(E, H)
    with pytest.raises(RuntimeError, match="multi_head_attention_forward"):
        m(q.transpose(0, 1), q.transpose(0, 1), q.transpose(0, 1))
