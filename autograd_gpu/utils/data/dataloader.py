"""torch.utils.data.dataloader's names (the objects ag.utils.data has)."""
from . import DataLoader, default_collate, default_convert, get_worker_info

__all__ = ["DataLoader", "get_worker_info", "default_collate", "default_convert"]
