"""torch.nn.utils.parametrizations: orthogonal, weight_norm and spectral_norm as parametrizations."""

# the names ag.nn.utils itself exports from this module (as torch.nn.utils does)
EXPORTS = {}
