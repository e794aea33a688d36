"""ag.nn.functional's losses beyond mse_loss, nll_loss and cross_entropy
(re-exported by functional.py)."""

__all__ = []
