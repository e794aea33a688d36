"""torch.nn.modules.flatten's names."""
from ..layers import Flatten, Unflatten

__all__ = ["Flatten", "Unflatten"]
