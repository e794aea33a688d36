"""The old-style weight_norm / remove_weight_norm (torch.nn.utils.weight_norm): a forward pre-hook recomputes the weight."""

# the names ag.nn.utils itself exports from this module (as torch.nn.utils does)
EXPORTS = {}
