"""ag.utils: data loading (ag.utils.data)."""
from . import data, checkpoint

__all__ = ["data", "checkpoint"]
