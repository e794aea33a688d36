"""torch.nn.utils.stateless: functional_call (a module run with parameters and buffers given for the call)."""

# the names ag.nn.utils itself exports from this module (as torch.nn.utils does)
EXPORTS = {}
