"""ag.nn.functional's convolution and pooling forms, and unfold / fold
(re-exported by functional.py)."""

__all__ = []
