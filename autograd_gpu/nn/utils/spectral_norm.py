"""The old-style spectral_norm / remove_spectral_norm (torch.nn.utils.spectral_norm): power iteration in a forward pre-hook."""

# the names ag.nn.utils itself exports from this module (as torch.nn.utils does)
EXPORTS = {}
