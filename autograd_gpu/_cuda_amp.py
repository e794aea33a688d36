"""ag.cuda.amp: torch.cuda.amp's deprecated forms of ag.amp's names."""
__all__ = []
