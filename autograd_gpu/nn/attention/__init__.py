"""ag.nn.attention: attention backends and flex_attention, as torch.nn.attention.

autograd_gpu has one implementation of scaled_dot_product_attention, torch's math one. The
backend flags (sdpa_kernel) decide only whether a call is refused: a call is computed when
torch's backend selection on the same device would find a kernel for it, and raises torch's
error (after torch's warnings) where torch's would find none."""
import contextlib
import enum

from ..._warn import warn_at_caller

__all__ = ["SDPBackend", "sdpa_kernel", "WARN_FOR_UNFUSED_KERNELS", "SDPAParams"]

# Set to True to be warned, when a CausalBias falls back to a materialized mask, that the fused
# kernels were not used (torch's flag, read by bias.CausalBias).
WARN_FOR_UNFUSED_KERNELS = False


class SDPBackend(enum.Enum):
    """The backends of scaled_dot_product_attention, for sdpa_kernel. torch's members and values."""
    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4

    def __int__(self):
        return self.value

    __index__ = __int__


_SWITCHABLE = (SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION,
               SDPBackend.MATH, SDPBackend.OVERRIDEABLE)
_FUSED = (SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.CUDNN_ATTENTION)
# process-wide, as torch's global context flags
_enabled = set(_SWITCHABLE)
_priority = [1, 2, 0, 3, 4]


def _current(with_priority):
    backends = [b for b in _SWITCHABLE if b in _enabled]
    if with_priority:
        backends.sort(key=lambda b: _priority.index(int(b)))
    return backends


def _set(backends, set_priority):
    _enabled.clear()
    _enabled.update(b for b in _SWITCHABLE if b in backends)
    if set_priority:
        order = [int(b) for b in backends]
        _priority[:] = order + [p for p in _priority if p not in order]


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority=False):
    """Enable only `backends` (an SDPBackend or a list of them) for scaled_dot_product_attention
    while the context is open (or the decorated function runs); the previous flags come back on
    exit. set_priority: the list's order is also the backends' priority order."""
    if not isinstance(backends, (list, SDPBackend)):
        raise AssertionError("Backend must be an instance of SDPBackend or a list of SDPBackend instances, got "
                             f"{type(backends).__name__}")
    if isinstance(backends, SDPBackend):
        backends = [backends]
    backends = list(dict.fromkeys(backends))
    previous = _current(set_priority)
    try:
        _set(backends, set_priority)
        yield {}
    finally:
        _set(previous, set_priority)


class SDPAParams:
    """The arguments of one scaled_dot_product_attention call, as torch.backends.cuda.SDPAParams."""

    def __init__(self, query, key, value, attn_mask, dropout, is_causal, enable_gqa):
        self.query, self.key, self.value, self.attn_mask = query, key, value, attn_mask
        self.dropout, self.is_causal, self.enable_gqa = float(dropout), bool(is_causal), bool(enable_gqa)


# ---- the outcome of torch's backend selection ---------------------------------------------

_NO_VIABLE = ("No viable backend for scaled_dot_product_attention was found. This is likely due to turning off "
              "both the math kernel and the fused kernels.")
_NO_KERNEL = "No available kernel.  Aborting execution."
_BROADCAST_HINT = " To broadcast dense inputs, try using unsqueeze and expand_to before passing them into the kernel."
_MASK_SHAPES = ("Please use the following attn mask shapes: 2d - ({Q_seq_len, 1}  x {KV_seq_len, 1}); 4d - "
                "({Batch, 1} x {Num_heads, 1} x {Q_seq_len, 1}  x {KV_seq_len, 1})")


def _sizes(t):
    return list(t.shape)


def _gqa_refusal(query, key, value):
    hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
    if hk != hv:
        return (f"Both fused kernels require key and value to have the same num_heads and batch_size but got: Key "
                f"sizes: {_sizes(key)}, Value sizes: {_sizes(value)}, Query sizes: {_sizes(query)} instead.")
    if hk == 0 or hq % hk:
        return (f"The number of heads in key/value must divide number of heads in query.Got input Key sizes(): {hk}, "
                f"Value sizes(): {hv}, Query sizes(): {hq} instead.")
    return None


def _batch_heads_refusal(query, key, value, enable_gqa):
    q, k, v = query.shape, key.shape, value.shape
    if not q[0] == k[0] == v[0]:
        return (f"For dense inputs, both fused kernels require query, key and value to have the same batch_size. "
                f"Query.sizes(): {_sizes(query)}, Key.sizes(): {_sizes(key)}, Value.sizes(): {_sizes(value)} "
                "instead." + _BROADCAST_HINT)
    if enable_gqa:
        return _gqa_refusal(query, key, value)
    if not q[1] == k[1] == v[1]:
        return (f"For dense input, both fused kernels require query, key and value to have the same num_heads. "
                f"Query.sizes(): {_sizes(query)}, Key sizes(): {_sizes(key)}, Value sizes(): {_sizes(value)} "
                "instead." + _BROADCAST_HINT)
    return None


def _mask_refusal(attn_mask, query, key):
    """'' for the silent refusals (a mask that requires grad, or of other lengths), as torch's."""
    if attn_mask.requires_grad:
        return ""
    d = attn_mask.dim()
    if d == 0:           # (torch reads size(-2) unchecked)
        raise IndexError("Dimension specified as -2 but tensor has no dimensions")
    if d == 1:
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got -2)")
    m = attn_mask.shape
    if m[-2] not in (query.shape[2], 1) or m[-1] not in (key.shape[2], 1):
        return ""
    if d == 2 or (d == 4 and m[0] in (1, query.shape[0]) and m[1] in (1, query.shape[1])):
        return None
    return _MASK_SHAPES


def _cpu_flash_refusal(query, key, value, attn_mask, dropout_p, enable_gqa):
    """Why torch's CPU flash kernel would not take this call (None: it would), in torch's order."""
    if dropout_p > 0:
        return "Both fused kernels do not support non-zero dropout."
    if not query.dim() == key.dim() == value.dim() == 4:
        return (f"All fused kernels requires query, key and value to be 4 dimensional, but got Query dim: "
                f"{query.dim()}, Key dim: {key.dim()}, Value dim: {value.dim()} instead.")
    reason = _batch_heads_refusal(query, key, value, enable_gqa)
    if reason is None and attn_mask is not None:
        reason = _mask_refusal(attn_mask, query, key)
    if reason is not None:
        return reason
    e = (query.shape[-1], key.shape[-1], value.shape[-1])
    if not e[0] == e[1] == e[2]:
        return (f"Flash attention requires q,k,v to have the same last dimension. Got Query.size(-1): {e[0]}, "
                f"Key.size(-1): {e[1]}, Value.size(-1): {e[2]} instead.")
    strides = [x.stride()[-1] for x in (query, key, value)]
    if strides != [1, 1, 1]:
        return (f"All fused kernels require the last dimension of the input to have stride 1. Got Query.stride(-1): "
                f"{strides[0]}, Key.stride(-1): {strides[1]}, Value.stride(-1): {strides[2]}")
    return None


def _select_backend(query, key, value, attn_mask, dropout_p, enable_gqa):
    """Whether torch's backend selection takes its fused kernel for this call (True) or the math one
    (False); raises where it finds none. The choice shows in what backward saves: the fused kernel
    saves query, key and value themselves, the math one scaled copies of query and key (an in-place
    write to those before backward is no error there). On CPU torch tries its flash kernel, then the
    math one; on CUDA any enabled fused backend is taken to accept the call where the CPU's would
    (torch's CUDA gating by dtype, architecture and head size is not reproduced)."""
    if SDPBackend.FLASH_ATTENTION in _enabled:
        reason = _cpu_flash_refusal(query, key, value, attn_mask, dropout_p, enable_gqa)
        if reason is None:
            return query.shape[-2] > 0 and key.shape[-2] > 0       # (empty sequences: torch's own path)
    else:
        reason = None
    if SDPBackend.MATH in _enabled:
        return False
    if query.is_cuda:
        if not _enabled.intersection(_FUSED):
            raise RuntimeError(_NO_VIABLE)
        return True
    if SDPBackend.FLASH_ATTENTION not in _enabled:
        raise RuntimeError(_NO_VIABLE)
    warn_at_caller("Flash attention kernel not used because:", UserWarning)
    if reason:
        warn_at_caller(reason, UserWarning)
    raise RuntimeError(_NO_KERNEL)


from . import bias, flex_attention  # noqa: E402  (the submodules, as ag.nn.attention.bias / .flex_attention)
