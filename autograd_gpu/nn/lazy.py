"""Lazy modules (torch.nn.LazyLinear and friends): parameters whose shapes come from the first input."""

__all__ = []
