"""ag.amp: automatic mixed precision (autocast, GradScaler), as torch.amp."""
__all__ = []
TOP_LEVEL = []      # names also published as ag.<name> (torch.autocast)
