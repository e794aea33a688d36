"""Stateless attention: scaled_dot_product_attention and multi_head_attention_forward (torch.nn.functional's).

Composed of public Tensor ops (matmul, softmax, where, dropout), so gradients of
any order and the CUDA path come with them. Every argument is checked before
anything is computed or drawn from the generator."""
import math
import numbers

import numpy as np

from .. import _dtype
from ..autograd.op import Op
from ..creation import ones, zeros, zeros_like
from ..ops import prims as P
from ..ops.pointwise import where
from ..ops.linalg import saving_operands
from ..ops.products import baddbmm
from ..ops.tied import composite_gradients
from ..ops.shape import cat
from ..tensor import Tensor
# functional.py imports this module after defining these
from .functional import _linear, _same_device, _tensor_arg
from .functional_layers import dropout, pad
from ..amp import cast_at_entry
from .attention import _select_backend
from .attention.bias import CausalBias
from .._warn import warn_at_caller

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]

_NEG_INF = float("-inf")


# ---- scaled_dot_product_attention -------------------------------------------------------

def _sdpa_tensor(fn, x, name, pos):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be Tensor, not {type(x).__name__}")


def _check_dropout_p(fn, p):
    # (PyTorch's SDPA lets a negative p through unchecked; a probability below 0 is refused here)
    if not isinstance(p, numbers.Real) or isinstance(p, bool) or not 0 <= p <= 1:
        raise RuntimeError(f"{fn}: dropout probability has to be between 0 and 1, but got {p}")


def _gqa_heads(fn, query, key, value):
    """How many times key's and value's heads (dim -3) repeat to match query's (enable_gqa)."""
    if query.dim() < 3:
        return 1, 1
    hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
    if hk == 0 or hv == 0 or hq % hk or hq % hv:
        raise RuntimeError(f"{fn}: with enable_gqa, the number of heads in key ({hk}) and value ({hv}) must "
                           f"divide the number of heads in query ({hq})")
    return hq // hk, hq // hv


def _check_attn_mask(fn, attn_mask, query, scores_shape):
    """A bool mask, or a float mask of float32 or query's dtype, that broadcasts to the scores' shape."""
    _sdpa_tensor(fn, attn_mask, "attn_mask", 4)
    if attn_mask.dtype not in (_dtype.bool_, _dtype.float32, query.dtype):
        raise RuntimeError(f"{fn}: Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                           f"attn_mask.dtype: {attn_mask.dtype.libtorch} and query.dtype: {query.dtype.libtorch}")
    _same_device(fn, query, attn_mask, "query", "attn_mask")
    try:
        full = np.broadcast_shapes(scores_shape, tuple(attn_mask.shape))
    except ValueError:
        full = None
    if full != scores_shape:
        raise RuntimeError(f"{fn}: attn_mask of shape {list(attn_mask.shape)} does not broadcast to the attention "
                           f"scores' shape {list(scores_shape)} (query {list(query.shape)})")


def _check_qkv(fn, query, key, value):
    """Tensors of at least 2 dims, one floating dtype, one device; E and S agreeing."""
    for pos, (name, x) in enumerate((("query", query), ("key", key), ("value", value)), 1):
        _sdpa_tensor(fn, x, name, pos)
    if min(query.dim(), key.dim(), value.dim()) < 2:
        raise RuntimeError(f"{fn}: Expected query, key, and value to all be at least 2 dimensional, but got "
                           f"query.dim: {query.dim()} key.dim: {key.dim()} and value.dim: {value.dim()} instead.")
    if not query.dtype is key.dtype is value.dtype:
        raise RuntimeError(f"{fn}: Expected query, key, and value to have the same dtype, but got query.dtype: "
                           f"{query.dtype.libtorch} key.dtype: {key.dtype.libtorch} and value.dtype: "
                           f"{value.dtype.libtorch} instead.")
    if not query.is_floating_point():
        raise RuntimeError(f"{fn}: expected floating point query, key and value, got {query.dtype.libtorch}")
    _same_device(fn, query, key, "query", "key")
    _same_device(fn, query, value, "query", "value")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"{fn}: query and key must have the same embedding size (last dim), got query "
                           f"{list(query.shape)} and key {list(key.shape)}")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"{fn}: key and value must have the same sequence length (dim -2), got key "
                           f"{list(key.shape)} and value {list(value.shape)}")


def _scores_shape(fn, query, key, value, repeats, enable_gqa):
    """(batch..., L, S): the batch dims of query, key and value (heads repeated) broadcast together."""
    batch = [tuple(x.shape[:-2]) for x in (query, key, value)]
    for i, r in ((1, repeats[0]), (2, repeats[1])):
        if r > 1:
            batch[i] = batch[i][:-1] + (batch[i][-1] * r,)
    try:
        return np.broadcast_shapes(*batch) + (query.shape[-2], key.shape[-2])
    except ValueError:
        raise RuntimeError(f"{fn}: the batch dims of query {list(query.shape)}, key {list(key.shape)} and value "
                           f"{list(value.shape)} do not broadcast" + ("" if enable_gqa else
                           " (different numbers of heads need enable_gqa=True)")) from None


def _check_sdpa(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa):
    """PyTorch's checks, before any computation. Returns the repeats of key's and value's heads, and
    whether PyTorch's fused kernel takes the call."""
    fn = "scaled_dot_product_attention"
    _check_qkv(fn, query, key, value)
    repeats = _gqa_heads(fn, query, key, value) if enable_gqa else (1, 1)
    scores_shape = _scores_shape(fn, query, key, value, repeats, enable_gqa)
    _check_dropout_p(fn, dropout_p)
    if not isinstance(is_causal, (bool, np.bool_)):
        raise TypeError(f"{fn}(): argument 'is_causal' must be bool, not {type(is_causal).__name__}")
    if attn_mask is not None:
        _sdpa_tensor(fn, attn_mask, "attn_mask", 4)
    # (torch chooses the backend after checking q, k and v, before checking the mask against them)
    fused = _select_backend(query, key, value, attn_mask, dropout_p, enable_gqa)
    if attn_mask is not None:
        if is_causal:
            raise RuntimeError(f"{fn}: Explicit attn_mask should not be set when is_causal=True")
        _check_attn_mask(fn, attn_mask, query, scores_shape)
    if scale is not None and (not isinstance(scale, numbers.Real) or isinstance(scale, bool)):
        raise TypeError(f"{fn}(): argument 'scale' must be float, not {type(scale).__name__}")
    return repeats, fused


def _mask_bias(attn_mask, is_causal, length, source, dtype, device):
    """The additive form of the mask (0 where attended, -inf where not), or None."""
    if is_causal:          # upper-left aligned, as PyTorch's: row i attends to keys 0..i
        attn_mask = ones(length, source, dtype=_dtype.bool_, device=device).tril()
    if attn_mask is None:
        return None
    if attn_mask.dtype is _dtype.bool_:
        return zeros(tuple(attn_mask.shape), dtype=dtype, device=device).masked_fill(attn_mask.logical_not(),
                                                                                     _NEG_INF)
    return attn_mask if attn_mask.dtype is not _dtype.float16 else attn_mask.float()


def _safe_softmax(scores):
    """softmax over the last dim, except that a row of -inf only (nothing to
    attend to) gives zeros, and no gradient, where the plain softmax gives NaN
    (PyTorch's CPU kernels give zeros for such rows)."""
    dead = (scores == _NEG_INF).all(-1, keepdim=True)
    # the dead rows' scores are replaced before the softmax, so that no NaN reaches the backward pass either
    return where(dead, 0.0, where(dead, 0.0, scores).softmax(-1))


def _weighted(weights, bias, dropout_p):
    if bias is not None:
        weights = weights + bias
    weights = _safe_softmax(weights)
    return dropout(weights, dropout_p) if dropout_p > 0 else weights


def _math_attention(query, key, value, bias, dropout_p, scale):
    """softmax(query @ key^T * scale + bias) @ value as PyTorch's math kernel: its backward saves
    copies of query and key scaled by sqrt(scale) (scale's sign on query's), and value."""
    root = math.sqrt(abs(scale))
    weights = (query * math.copysign(root, scale)).matmul(key.transpose(-2, -1) * root)
    return _weighted(weights, bias, dropout_p).matmul(value)


def _fused_attention(query, key, value, bias, scale, groups):
    """The same as PyTorch's fused CPU kernel: its backward saves query, key and value themselves.
    With grouped heads (enable_gqa), each head of key and value serves `groups` consecutive heads of
    query without being repeated."""
    (b, h, n, e), m, ev = query.shape, key.shape[-2], value.shape[-1]
    if groups > 1:
        query = query.reshape(b, h // groups, groups, n, e)
        key, value = key.unsqueeze(2), value.unsqueeze(2)
    weights = saving_operands(query, key.transpose(-2, -1))
    weights = _weighted((weights * scale if e else weights).reshape(b, h, n, m), bias, 0)
    if groups > 1:
        return saving_operands(weights.reshape(b, h // groups, groups, n, m), value).reshape(b, h, n, ev)
    return saving_operands(weights, value)


class FlashAttentionCpu(Op):
    """_fused_attention on NumPy as one node, PyTorch's CPU flash kernel's
    (ScaledDotProductFlashAttentionForCpuBackward0), saving query, key, value and the output: the
    composite's products, scale, mask and safe softmax in its order (the same values), and the
    attention weights kept for backward, which is the flash kernel's: dv = P^T g, dS = P (g v^T -
    rowsum(g out)), dq = dS k scale, dk = dS^T q scale (grouped heads summed). Under create_graph
    the composite is recomputed in Tensor ops and differentiated."""
    _name, op_name = "ScaledDotProductFlashAttentionForCpuBackward0", "_scaled_dot_product_flash_attention_for_cpu"
    save_inputs = (0, 1, 2)
    save_result = True

    def forward(self, q, k, v, bias, scale, groups):
        self.bias, self.scale, self.groups = bias, scale, groups
        (b, h, n, _), m, ev = q.shape, k.shape[-2], v.shape[-1]
        qg, kg, vg = self._grouped(q, k, v)
        weights = np.matmul(qg, np.swapaxes(kg, -1, -2)).reshape(b, h, n, m)
        weights *= scale
        if bias is not None:
            weights = weights + bias._data
        dead = (weights == _NEG_INF).all(-1, keepdims=True)     # (_safe_softmax: such a row gives zeros)
        weights = P.softmax(np.where(dead, 0.0, weights).astype(weights.dtype, copy=False), -1)
        if dead.any():
            weights = np.where(dead, weights.dtype.type(0), weights)
        self._aux = weights
        return np.matmul(weights.reshape(qg.shape[:-1] + (m,)), vg).reshape(b, h, n, ev)

    def _grouped(self, q, k, v):
        """q as (b, h / groups, groups, n, e) and k, v with a groups axis of 1 (grouped heads), or all as they are."""
        if self.groups == 1:
            return q, k, v
        b, h, n, e = q.shape
        return q.reshape(b, h // self.groups, self.groups, n, e), k[:, :, None], v[:, :, None]

    def backward(self, g, q, k, v, out):
        if type(g) is Tensor:
            return composite_gradients(self, [q, k, v],
                                       lambda *qkv: _fused_attention(*qkv, self.bias, self.scale, self.groups), (g,))
        weights = self._aux
        qg, kg, vg = self._grouped(q, k, v)
        gg = g.reshape(qg.shape[:-1] + (g.shape[-1],))
        pg = weights.reshape(qg.shape[:-1] + (k.shape[-2],))
        grouped = self.groups > 1
        dv = np.matmul(np.swapaxes(pg, -1, -2), gg) if self.needs(2) else None
        if dv is not None and grouped:
            dv = dv.sum(2)
        if not (self.needs(0) or self.needs(1)):
            return None, None, dv
        d_scores = np.matmul(gg, np.swapaxes(vg, -1, -2))
        d_scores -= np.add.reduce(g * out, -1, keepdims=True).reshape(gg.shape[:-1] + (1,))
        d_scores *= pg
        d_scores *= self.scale
        dq = np.matmul(d_scores, kg).reshape(q.shape) if self.needs(0) else None
        dk = None
        if self.needs(1):
            dk = np.matmul(np.swapaxes(d_scores, -1, -2), qg)
            dk = dk.sum(2) if grouped else dk
        return dq, dk, dv


def _sdpa(query, key, value, attn_mask, dropout_p, is_causal, scale, repeats, fused):
    """scaled_dot_product_attention on checked arguments. float16 is computed in float32 and rounded once."""
    out_dtype = query.dtype
    if out_dtype is _dtype.float16:
        query, key, value = query.float(), key.float(), value.float()
    e = query.shape[-1]
    if scale is None:
        scale = 1 / math.sqrt(e) if e else math.inf     # (an empty product is 0 whatever the scale)
    bias = _mask_bias(attn_mask, is_causal, query.shape[-2], key.shape[-2], query.dtype, query.device)
    if fused and e and type(query._data) is np.ndarray:   # (PyTorch's CPU flash kernel: one node)
        out = FlashAttentionCpu.applyN((query, key, value), bias, scale, repeats[0])
    elif fused:                                         # (4-d, no dropout, key and value heads alike)
        out = _fused_attention(query, key, value, bias, scale, repeats[0])
    else:
        if repeats[0] > 1:
            key = key.repeat_interleave(repeats[0], dim=-3)
        if repeats[1] > 1:
            value = value.repeat_interleave(repeats[1], dim=-3)
        out = _math_attention(query, key, value, bias, dropout_p, scale)
    return out if out.dtype is out_dtype else out.to(out_dtype)


@cast_at_entry
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """softmax(query @ key^T * scale + mask) @ value over the last two dims, batch dims broadcasting.

    query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev). attn_mask: bool (True
    attends) or float (added to the scores), broadcasting to (..., L, S); is_causal: the lower
    triangle (no attn_mask then); scale: 1/sqrt(E) by default; enable_gqa: key's and value's
    heads (dim -3) repeated to query's. dropout_p applies always (pass 0 in eval). A query row
    that can attend to nothing gives zeros, as PyTorch's CPU kernels. attn_mask may be an
    ag.nn.attention.bias.CausalBias; ag.nn.attention.sdpa_kernel's flags refuse calls as torch's."""
    if isinstance(attn_mask, CausalBias):
        return attn_mask._dispatch(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)
    repeats, fused = _check_sdpa(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)
    return _sdpa(query, key, value, attn_mask, dropout_p, bool(is_causal), scale, repeats, fused)


# ---- multi_head_attention_forward: argument checks ---------------------------------------

_MHA = "multi_head_attention_forward"


def _canonical_mask(who, mask, mask_name, other_type, other_name, target_type, check_other=True):
    """A bool mask (True: masked out) as a float one of target_type (-inf where masked); a float
    mask as it is. Warns, as PyTorch, when the two masks of a call have different dtypes."""
    if mask is None:
        return None
    _tensor_arg(mask, who, mask_name)
    if mask.dtype is not _dtype.bool_ and not mask.is_floating_point():
        raise AssertionError(f"{who}: only bool and floating types of {mask_name} are supported, got "
                             f"{mask.dtype.libtorch}")
    if check_other and other_type is not None and mask.dtype is not other_type:
        warn_at_caller(f"Support for mismatched {mask_name} and {other_name} is deprecated. Use same type for both "
                       "instead.", UserWarning)
    if mask.dtype is _dtype.bool_:
        return zeros_like(mask, dtype=target_type).masked_fill(mask, _NEG_INF)
    return mask


def _dtype_of(t):
    return None if t is None else t.dtype


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads):
    """Whether the input is batched (3-D query) or not (2-D); PyTorch's AssertionErrors otherwise."""
    for name, x in (("query", query), ("key", key), ("value", value)):
        _tensor_arg(x, _MHA, name)
    for name, x in (("key_padding_mask", key_padding_mask), ("attn_mask", attn_mask)):
        if x is not None:
            _tensor_arg(x, _MHA, name)
    d = query.dim()
    if d not in (2, 3):
        raise AssertionError(f"{_MHA}: query should be unbatched 2D or batched 3D tensor but received {d}-D "
                             "query tensor")
    kind = "batched (3-D)" if d == 3 else "unbatched (2-D)"
    if key.dim() != d or value.dim() != d:
        raise AssertionError(f"{_MHA}: For {kind} `query`, expected `key` and `value` to be {d}-D but found "
                             f"{key.dim()}-D and {value.dim()}-D tensors respectively")
    if key_padding_mask is not None and key_padding_mask.dim() != d - 1:
        raise AssertionError(f"{_MHA}: For {kind} `query`, expected `key_padding_mask` to be `None` or {d - 1}-D "
                             f"but found {key_padding_mask.dim()}-D tensor instead")
    if attn_mask is not None:
        if attn_mask.dim() not in (2, 3):
            raise AssertionError(f"{_MHA}: For {kind} `query`, expected `attn_mask` to be `None`, 2-D or 3-D but "
                                 f"found {attn_mask.dim()}-D tensor instead")
        expected = (num_heads, query.shape[0], key.shape[0])
        if d == 2 and attn_mask.dim() == 3 and tuple(attn_mask.shape) != expected:
            raise AssertionError(f"{_MHA}: Expected `attn_mask` shape to be {expected} but got "
                                 f"{tuple(attn_mask.shape)}")
    return d == 3


def _check_heads(embed_dim, embed_dim_to_check, num_heads):
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"{_MHA}: was expecting embedding dimension of {embed_dim_to_check}, but got "
                             f"{embed_dim}")
    if not isinstance(num_heads, numbers.Integral) or num_heads <= 0 or embed_dim % num_heads:
        raise AssertionError(f"{_MHA}: embed_dim {embed_dim} not divisible by num_heads {num_heads}")


def _check_operand(t, name, shape, query):
    """A weight or bias: its shape, query's dtype and device."""
    if t is None:
        return
    _tensor_arg(t, _MHA, name)
    if tuple(t.shape) != tuple(shape):
        raise AssertionError(f"{_MHA}: expecting {name} shape of {tuple(shape)}, but got {tuple(t.shape)}")
    if t.dtype is not query.dtype:
        raise RuntimeError(f"{_MHA}: {name} dtype {t.dtype.libtorch} does not match the query dtype "
                           f"{query.dtype.libtorch}")
    _same_device(_MHA, query, t, "query", name)


def _check_separate(query, key, value, separate):
    """q_proj_weight (E, E), k_proj_weight (E, Ek), v_proj_weight (E, Ev); key and value of one (S, N)."""
    if key.shape[:2] != value.shape[:2]:
        raise AssertionError(f"{_MHA}: key's sequence and batch dims {tuple(key.shape[:2])} do not match "
                             f"value's {tuple(value.shape[:2])}")
    e = query.shape[-1]
    for name, w, shape in zip(("q_proj_weight", "k_proj_weight", "v_proj_weight"), separate,
                              ((e, e), (e, key.shape[-1]), (e, value.shape[-1]))):
        if w is None:
            raise AssertionError(f"{_MHA}: use_separate_proj_weight is True but {name} is None")
        _check_operand(w, name, shape, query)


def _check_packed(query, key, value, in_proj_weight):
    """in_proj_weight (3E, E); key and value of one shape, with query's embedding size."""
    if key.shape != value.shape:
        raise AssertionError(f"{_MHA}: key shape {tuple(key.shape)} does not match value shape "
                             f"{tuple(value.shape)}")
    if in_proj_weight is None:
        raise AssertionError(f"{_MHA}: use_separate_proj_weight is False but in_proj_weight is None")
    e = query.shape[-1]
    if key.shape[-1] != e:
        raise RuntimeError(f"{_MHA}: key and value of embedding size {key.shape[-1]} need separate projection "
                           f"weights (the packed in_proj_weight projects size {e})")
    _check_operand(in_proj_weight, "in_proj_weight", (3 * e, e), query)


def _check_projections(query, key, value, in_proj_weight, in_proj_bias, separate, out_proj_weight, out_proj_bias):
    for name, x in (("key", key), ("value", value)):
        if x.dtype is not query.dtype:
            raise RuntimeError(f"{_MHA}: query dtype {query.dtype.libtorch} and {name} dtype {x.dtype.libtorch} "
                               "differ")
        _same_device(_MHA, query, x, "query", name)
    if separate is not None:
        _check_separate(query, key, value, separate)
    else:
        _check_packed(query, key, value, in_proj_weight)
    e = query.shape[-1]
    _check_operand(in_proj_bias, "in_proj_bias", (3 * e,), query)
    _tensor_arg(out_proj_weight, _MHA, "out_proj_weight")
    _check_operand(out_proj_weight, "out_proj_weight", (e, e), query)
    _check_operand(out_proj_bias, "out_proj_bias", (e,), query)


def _check_static(static, name, bsz_heads, head_dim, query):
    if static is None:
        return
    _tensor_arg(static, _MHA, name)
    if static.dim() != 3 or static.shape[0] != bsz_heads or static.shape[2] != head_dim:
        raise AssertionError(f"{_MHA}: expecting {name} of shape ({bsz_heads}, *, {head_dim}), but got "
                             f"{tuple(static.shape)}")
    if static.dtype is not query.dtype:
        raise RuntimeError(f"{_MHA}: {name} dtype {static.dtype.libtorch} does not match the query dtype "
                           f"{query.dtype.libtorch}")
    _same_device(_MHA, query, static, "query", name)


def _check_kv_bias(bias_k, bias_v, static_k, static_v, query):
    if (bias_k is None) != (bias_v is None):
        raise AssertionError(f"{_MHA}: bias_{'k' if bias_k is not None else 'v'} is set but "
                             f"bias_{'v' if bias_k is not None else 'k'} is None")
    if bias_k is None:
        return
    if static_k is not None or static_v is not None:
        raise AssertionError(f"{_MHA}: bias cannot be added to static {'key' if static_k is not None else 'value'}.")
    e = query.shape[-1]
    _check_operand(bias_k, "bias_k", (1, 1, e), query)
    _check_operand(bias_v, "bias_v", (1, 1, e), query)


def _check_masks(attn_mask, key_padding_mask, query, tgt_len, src_len, bsz, num_heads, need_weights):
    """Shapes of the (canonical, float) masks, and the dtype of their sum as PyTorch's kernels take it:
    query's when the weights are computed, float32 or query's otherwise (scaled_dot_product_attention)."""
    if attn_mask is not None:
        _same_device(_MHA, query, attn_mask, "query", "attn_mask")
        want = (tgt_len, src_len) if attn_mask.dim() == 2 else (bsz * num_heads, tgt_len, src_len)
        if tuple(attn_mask.shape) != want:
            raise RuntimeError(f"{_MHA}: The shape of the {attn_mask.dim()}D attn_mask is {tuple(attn_mask.shape)}, "
                               f"but should be {want}.")
    if key_padding_mask is not None:
        _same_device(_MHA, query, key_padding_mask, "query", "key_padding_mask")
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(f"{_MHA}: Expected key_padding_mask of shape {(bsz, src_len)} (batch, source "
                                 f"length), got {tuple(key_padding_mask.shape)}")
    dtypes = [m.dtype for m in (attn_mask, key_padding_mask) if m is not None]
    if not dtypes:
        return
    merged = dtypes[0] if len(dtypes) == 1 else _dtype.promote_pair(*dtypes)
    allowed = (query.dtype,) if need_weights else (query.dtype, _dtype.float32)
    if merged not in allowed:
        raise RuntimeError(f"{_MHA}: a float mask of dtype {merged.libtorch} does not go with a query of dtype "
                           f"{query.dtype.libtorch}" + ("" if need_weights else " (float32 or the query's dtype)"))


# ---- multi_head_attention_forward ---------------------------------------------------------

def _in_projection(query, key, value, in_proj_weight, in_proj_bias, separate):
    """q, k, v projected to the embedding size; the shared matrix products taken once when
    query, key and value are the same tensor (self-attention) or key and value are (cross)."""
    e = query.shape[-1]
    biases = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
    if separate is not None:
        return tuple(_linear(x, w, b) for x, w, b in zip((query, key, value), separate, biases))
    if key is value and query is key:
        return _linear(query, in_proj_weight, in_proj_bias).chunk(3, -1)
    w_q, w_kv = in_proj_weight.split([e, 2 * e])
    b_q, b_kv = (None, None) if in_proj_bias is None else in_proj_bias.split([e, 2 * e])
    if key is value:
        return (_linear(query, w_q, b_q),) + _linear(key, w_kv, b_kv).chunk(2, -1)
    w_k, w_v = w_kv.chunk(2)
    return _linear(query, w_q, b_q), _linear(key, w_k, biases[1]), _linear(value, w_v, biases[2])


def _heads(x, length, bsz, num_heads, head_dim):
    """(length, bsz, E) -> (bsz * num_heads, length, head_dim)."""
    return x.reshape(length, bsz * num_heads, head_dim).transpose(0, 1)


def _pad_masks(masks):
    """The (float) masks with a column of 0 for one more source position."""
    return [None if m is None else pad(m, (0, 1)) for m in masks]


def _append_bias_kv(k, v, bias_k, bias_v, bsz):
    """bias_k and bias_v as one more key and value of every batch entry, on (S, B, E) projections."""
    return cat([k, bias_k.repeat(1, bsz, 1)]), cat([v, bias_v.repeat(1, bsz, 1)])


def _append_zero_attn(x):
    """A zero key (or value) appended to (B*H, S, hd) heads."""
    return cat([x, zeros((x.shape[0], 1, x.shape[2]), dtype=x.dtype, device=x.device)], dim=1)


def _merge_masks(attn_mask, key_padding_mask, bsz, num_heads, src_len):
    """One additive mask of shape (1 or B*H, L or 1, S), or None."""
    if key_padding_mask is None:
        return attn_mask
    kpm = key_padding_mask.view(bsz, 1, 1, src_len).expand(-1, num_heads, -1, -1).reshape(bsz * num_heads, 1,
                                                                                          src_len)
    return kpm if attn_mask is None else attn_mask + kpm


def _project(query, key, value, num_heads, in_proj_weight, in_proj_bias, separate, bias_k, bias_v, static_k,
             static_v, add_zero_attn, attn_mask, key_padding_mask):
    """q (B*H, L, hd), k and v (B*H, S, hd) (bias_k/bias_v or the zero attention appended; static_k and
    static_v used as they are) and the merged additive mask (1 or B*H, L or 1, S), or None."""
    tgt_len, bsz, embed_dim = query.shape
    head_dim = embed_dim // num_heads
    q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias, separate)
    masks = [attn_mask if attn_mask is None or attn_mask.dim() == 3 else attn_mask.unsqueeze(0), key_padding_mask]
    if bias_k is not None:
        k, v = _append_bias_kv(k, v, bias_k, bias_v, bsz)
        masks = _pad_masks(masks)
    q = _heads(q, tgt_len, bsz, num_heads, head_dim)
    k = _heads(k, k.shape[0], bsz, num_heads, head_dim) if static_k is None else static_k
    v = _heads(v, v.shape[0], bsz, num_heads, head_dim) if static_v is None else static_v
    if add_zero_attn:
        k, v = _append_zero_attn(k), _append_zero_attn(v)
        masks = _pad_masks(masks)
    return q, k, v, _merge_masks(*masks, bsz, num_heads, k.shape[1])


def _attend_with_weights(q, k, v, attn_mask, dropout_p, bsz, num_heads):
    """Attention keeping the weights: (B*H, L, hd) and (B, H, L, S). A plain softmax, so a row
    with nothing to attend to is NaN, as in PyTorch's (which computes this path so)."""
    q_scaled = q * math.sqrt(1.0 / q.shape[-1])
    kt = k.transpose(-2, -1)
    weights = q_scaled.bmm(kt) if attn_mask is None else baddbmm(attn_mask, q_scaled, kt)
    weights = weights.softmax(-1)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p)
    return weights.bmm(v), weights.view(bsz, num_heads, q.shape[1], k.shape[1])


def _attend(q, k, v, attn_mask, dropout_p, is_causal, bsz, num_heads):
    """Attention without the weights (scaled_dot_product_attention, per head): (L, B, H, hd)."""
    if attn_mask is not None:
        attn_mask = attn_mask.unsqueeze(0) if attn_mask.shape[0] == 1 else attn_mask.view(bsz, num_heads, -1,
                                                                                        k.shape[1])
    heads = [x.reshape(bsz, num_heads, x.shape[1], x.shape[2]) for x in (q, k, v)]
    fused = _select_backend(*heads, attn_mask, dropout_p, False)
    return _sdpa(*heads, attn_mask, dropout_p, is_causal, None, (1, 1), fused).permute(2, 0, 1, 3)


def _check_mha(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias, bias_k, bias_v,
               training, dropout_p, out_proj_weight, out_proj_bias, key_padding_mask, attn_mask, separate,
               static_k, static_v, need_weights):
    """What PyTorch checks, on the batched arguments with canonical masks, before any computation."""
    tgt_len, bsz, embed_dim = query.shape
    _check_heads(embed_dim, embed_dim_to_check, num_heads)
    _check_projections(query, key, value, in_proj_weight, in_proj_bias, separate, out_proj_weight, out_proj_bias)
    _check_kv_bias(bias_k, bias_v, static_k, static_v, query)
    head_dim = embed_dim // num_heads
    _check_static(static_k, "static_k", bsz * num_heads, head_dim, query)
    _check_static(static_v, "static_v", bsz * num_heads, head_dim, query)
    src_len = key.shape[0] if static_k is None else static_k.shape[1]
    if static_v is not None and static_v.shape[1] != src_len:
        raise AssertionError(f"{_MHA}: static_v has {static_v.shape[1]} source positions, the keys {src_len}")
    _check_masks(attn_mask, key_padding_mask, query, tgt_len, src_len, bsz, num_heads, need_weights)
    if training:
        # (as F.dropout, which PyTorch's applies to the weights; in eval the probability is not used)
        if not isinstance(dropout_p, numbers.Real) or isinstance(dropout_p, bool) or not 0 <= dropout_p <= 1:
            raise ValueError(f"{_MHA}: dropout probability has to be between 0 and 1, but got {dropout_p}")


def _causal_hint(attn_mask, key_padding_mask, need_weights, is_causal):
    """(attn_mask, is_causal) as the computation uses them: with no padding mask and no weights
    wanted, PyTorch trusts the hint and applies the causal mask instead of attn_mask; otherwise
    attn_mask is used (merged with the padding mask, it is no longer causal)."""
    if is_causal and attn_mask is None:
        raise RuntimeError(f"{_MHA}: Need attn_mask if specifying the is_causal hint. You may use the Transformer "
                           "module method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        return None, True
    return attn_mask, False


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False):
    """The computation behind nn.MultiheadAttention, PyTorch's argument for argument.

    query (L, N, E) or (L, E), key (S, N, Ek), value (S, N, Ev): returns (output (L, N, E),
    weights (N, L, S), averaged over heads unless average_attn_weights=False: (N, H, L, S); None
    without need_weights). key_padding_mask (N, S), attn_mask (L, S) or (N*H, L, S): bool (True is
    masked out) or float (added to the scores). With need_weights the weights are a plain softmax
    (a row masked everywhere is NaN, as PyTorch's); without, scaled_dot_product_attention computes
    the output (such a row gives zeros, as PyTorch's)."""
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    key_padding_mask = _canonical_mask(_MHA, key_padding_mask, "key_padding_mask", _dtype_of(attn_mask),
                                       "attn_mask", query.dtype)
    attn_mask = _canonical_mask(_MHA, attn_mask, "attn_mask", None, "", query.dtype, check_other=False)
    attn_mask, is_causal = _causal_hint(attn_mask, key_padding_mask, need_weights, is_causal)
    separate = (q_proj_weight, k_proj_weight, v_proj_weight) if use_separate_proj_weight else None
    _check_mha(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias, bias_k, bias_v,
               training, dropout_p, out_proj_weight, out_proj_bias, key_padding_mask, attn_mask, separate,
               static_k, static_v, need_weights)
    tgt_len, bsz, embed_dim = query.shape
    q, k, v, attn_mask = _project(query, key, value, num_heads, in_proj_weight, in_proj_bias, separate, bias_k,
                                  bias_v, static_k, static_v, add_zero_attn, attn_mask, key_padding_mask)
    dropout_p = dropout_p if training else 0.0
    if need_weights:
        out, weights = _attend_with_weights(q, k, v, attn_mask, dropout_p, bsz, num_heads)
        out = out.transpose(0, 1)
        if average_attn_weights:
            weights = weights.mean(dim=1)
    else:
        out, weights = _attend(q, k, v, attn_mask, dropout_p, is_causal, bsz, num_heads), None
    out = _linear(out.reshape(tgt_len * bsz, embed_dim), out_proj_weight, out_proj_bias)
    out = out.view(tgt_len, bsz, embed_dim)
    if not is_batched:
        out = out.squeeze(1)
        weights = None if weights is None else weights.squeeze(0)
    return out, weights
