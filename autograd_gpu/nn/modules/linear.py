"""torch.nn.modules.linear's names."""
from ..layers import Bilinear, Identity
from ..lazy import LazyLinear
from ..linear import Linear

__all__ = ["Bilinear", "Identity", "LazyLinear", "Linear"]
