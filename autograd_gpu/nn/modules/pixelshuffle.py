"""torch.nn.modules.pixelshuffle's names."""
from ..resampling import PixelShuffle, PixelUnshuffle

__all__ = ["PixelShuffle", "PixelUnshuffle"]
