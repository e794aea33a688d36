"""torch.nn.modules.normalization's names."""
from ..layers import LayerNorm
from ..normalization import CrossMapLRN2d, GroupNorm, LocalResponseNorm, RMSNorm

__all__ = ["LocalResponseNorm", "CrossMapLRN2d", "LayerNorm", "GroupNorm", "RMSNorm"]
