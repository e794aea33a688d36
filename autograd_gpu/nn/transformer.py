"""Attention and Transformer layers: MultiheadAttention and the Transformer encoder/decoder stacks (after torch.nn)."""

__all__ = []
