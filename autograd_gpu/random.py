"""ag.random: generators and the global random state, as torch.random."""
__all__ = []
TOP_LEVEL = []      # names also published as ag.<name> (torch.Generator, torch.default_generator)
