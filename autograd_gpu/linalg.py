"""ag.linalg, after torch.linalg (the functions live in ops/decompositions.py)."""

__all__ = []
