"""torch.nn.utils.parametrize: register_parametrization and its kin (parameters computed from others)."""

# the names ag.nn.utils itself exports from this module (as torch.nn.utils does)
EXPORTS = {}
