"""ag.nn.parallel: torch.nn.parallel's import path."""
__all__ = []
