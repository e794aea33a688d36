"""torch.nn.modules.lazy's names."""
from ..lazy import LazyModuleMixin

__all__ = ["LazyModuleMixin"]
