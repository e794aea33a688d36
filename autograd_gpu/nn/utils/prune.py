"""torch.nn.utils.prune: pruning methods that mask a parameter through a forward pre-hook."""

# the names ag.nn.utils itself exports from this module (as torch.nn.utils does)
EXPORTS = {}
