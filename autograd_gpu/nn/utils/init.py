"""torch.nn.utils.init's skip_init (not to be confused with ag.nn.init)."""
from .fusion import skip_init

__all__ = ["skip_init"]
