"""ag.nn.functional's forms of the layers: dropout, layer_norm, batch_norm,
embedding, one_hot, normalize, pad (re-exported by functional.py)."""

__all__ = []
