"""Causal biases for scaled_dot_product_attention (torch.nn.attention.bias).

A CausalBias stands for a triangular bool mask without holding one: passed as attn_mask to
ag.nn.functional.scaled_dot_product_attention, the upper-left variant (and any square one) runs
as is_causal=True, the lower-right one with the mask materialized on the query's device."""
import enum

from ... import _dtype
from ...creation import ones
from ..._warn import warn_at_caller

__all__ = ["causal_upper_left", "causal_lower_right", "CausalVariant", "CausalBias"]


class CausalVariant(enum.IntEnum):
    """UPPER_LEFT: row i attends to keys 0..i (tril of the (L, S) ones). LOWER_RIGHT: the
    triangle aligned to the lower right corner (tril with diagonal S - L)."""
    UPPER_LEFT = 1
    LOWER_RIGHT = 2


class CausalBias:
    """A causal attention pattern for sequence lengths (seq_len_q, seq_len_kv). Its repr is
    that of the bool mask it stands for."""

    def __init__(self, variant, seq_len_q, seq_len_kv):
        if not isinstance(variant, CausalVariant):
            raise AssertionError(f"variant must be a CausalVariant, got {type(variant).__name__}")
        self.variant = variant
        self.seq_len_q = seq_len_q
        self.seq_len_kv = seq_len_kv
        if seq_len_q > seq_len_kv and variant == CausalVariant.LOWER_RIGHT:
            warn_at_caller("Lower right causal bias will produce NaNs in the output when seq_len_q > seq_len_kv!",
                           UserWarning)

    def _upper_left(self, device):
        return ones(self.seq_len_q, self.seq_len_kv, dtype=_dtype.bool_, device=device).tril()

    def _lower_right(self, device):
        return ones(self.seq_len_q, self.seq_len_kv, dtype=_dtype.bool_, device=device).tril(
            self.seq_len_kv - self.seq_len_q)

    def _materialize(self, device=None):
        """The bool mask (True: attended) of shape (seq_len_q, seq_len_kv), on device (cpu by default)."""
        device = "cpu" if device is None else device
        if self.variant == CausalVariant.UPPER_LEFT:
            return self._upper_left(device)
        return self._lower_right(device)

    @staticmethod
    def _dispatch(query, key, value, attn_mask, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False):
        """scaled_dot_product_attention with this bias as attn_mask, as torch's CausalBias computes it."""
        from ..functional_attention import scaled_dot_product_attention as sdpa
        if is_causal:
            raise ValueError("CausalBias should not be used with causal=True")
        if attn_mask.seq_len_q == attn_mask.seq_len_kv or attn_mask.variant == CausalVariant.UPPER_LEFT:
            return sdpa(query, key, value, attn_mask=None, dropout_p=dropout_p, is_causal=True, scale=scale,
                        enable_gqa=enable_gqa)
        if attn_mask.variant != CausalVariant.LOWER_RIGHT:
            raise ValueError(f"CausalBias.variant must be a CausalVariant type, but found: {attn_mask.variant}")
        _validate_sdpa_input(query, key, value)
        from . import WARN_FOR_UNFUSED_KERNELS
        if WARN_FOR_UNFUSED_KERNELS:     # (torch's fused kernels for this variant are CUDA ones: never taken)
            warn_at_caller("Efficient attention can't be used because:", UserWarning)
            warn_at_caller("Flash attention can't be used because:", UserWarning)
        return sdpa(query, key, value, attn_mask=attn_mask._materialize(query.device), dropout_p=dropout_p,
                    is_causal=False, scale=scale, enable_gqa=enable_gqa)

    def __repr__(self):
        return repr(self._materialize())


def check_same_device_and_2d(query, key, value):
    """PyTorch's checks of q, k, v shared by the causal bias and flex_attention (its messages, ValueError)."""
    if not query.device == key.device == value.device:
        raise ValueError(f"Expected query, key, and value to have the same device type, but got query.device: "
                         f"{query.device}, key.device: {key.device}, and value.device: {value.device} instead.")
    if min(query.dim(), key.dim(), value.dim()) < 2:
        raise ValueError(f"Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
                         f"{query.dim()}, key.dim: {key.dim()} and value.dim: {value.dim()} instead.")


def _validate_sdpa_input(query, key, value):
    """torch's checks before the lower-right path (ValueError, unlike scaled_dot_product_attention's)."""
    from ...tensor import Tensor
    for name, x in (("query", query), ("key", key), ("value", value)):
        if not isinstance(x, Tensor):
            raise TypeError(f"scaled_dot_product_attention(): argument '{name}' must be Tensor, not "
                            f"{type(x).__name__}")
    if not query.dtype is key.dtype is value.dtype:
        raise ValueError(f"Expected query, key, and value to have the same dtype, but got query.dtype: {query.dtype}, "
                         f"key.dtype: {key.dtype}, and value.dtype: {value.dtype} instead.")
    check_same_device_and_2d(query, key, value)


def causal_upper_left(*size):
    """CausalBias(UPPER_LEFT, L, S) for size (L, S): what is_causal=True applies."""
    if len(size) != 2:
        raise AssertionError("causal_upper_left only supports 2D tensors")
    return CausalBias(CausalVariant.UPPER_LEFT, *size)


def causal_lower_right(*size):
    """CausalBias(LOWER_RIGHT, L, S) for size (L, S): the triangle aligned to the lower right corner."""
    if len(size) != 2:
        raise AssertionError("causal_lower_right only supports 2D tensors")
    return CausalBias(CausalVariant.LOWER_RIGHT, *size)
