"""Padding, pixel and channel shuffles, and upsampling layers (after torch.nn)."""

__all__ = []
