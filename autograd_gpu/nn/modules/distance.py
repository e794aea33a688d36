"""torch.nn.modules.distance's names."""
from ..loss import CosineSimilarity, PairwiseDistance

__all__ = ["PairwiseDistance", "CosineSimilarity"]
