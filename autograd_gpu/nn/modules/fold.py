"""torch.nn.modules.fold's names."""
from ..conv import Fold, Unfold

__all__ = ["Fold", "Unfold"]
