"""torch.nn.modules.dropout's names. Our Dropout is the base of the other
dropouts, the role of PyTorch's _DropoutNd, so _DropoutNd names it."""
from ..layers import AlphaDropout, Dropout, Dropout1d, Dropout2d, Dropout3d, FeatureAlphaDropout

_DropoutNd = Dropout

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"]
