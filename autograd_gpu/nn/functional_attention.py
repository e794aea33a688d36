"""Stateless attention: scaled_dot_product_attention and multi_head_attention_forward (torch.nn.functional's)."""

__all__ = []
