"""torch.nn.modules.channelshuffle's names."""
from ..resampling import ChannelShuffle

__all__ = ["ChannelShuffle"]
