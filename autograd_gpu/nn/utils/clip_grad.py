"""torch.nn.utils.clip_grad's names (the functions ag.nn.utils has)."""
from . import clip_grad_norm_, clip_grad_value_
from .compat import clip_grad_norm

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_"]
