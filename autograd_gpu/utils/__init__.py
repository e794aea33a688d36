"""ag.utils: data loading (ag.utils.data)."""
from . import data

__all__ = ["data"]
