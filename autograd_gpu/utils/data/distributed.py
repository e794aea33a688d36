"""torch.utils.data.distributed's DistributedSampler (one process: num_replicas and rank given)."""
from . import DistributedSampler

__all__ = ["DistributedSampler"]
