"""torch.nn.utils.fusion: folding batch norm into the preceding conv or linear layer for inference."""

# the names ag.nn.utils itself exports from this module (as torch.nn.utils does)
EXPORTS = {}
