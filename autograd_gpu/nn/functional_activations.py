"""ag.nn.functional's activations beyond relu/tanh/sigmoid/gelu (re-exported by
functional.py)."""

__all__ = []
