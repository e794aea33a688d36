"""Functions that build tensors from others: meshgrid, cartesian_prod, combinations, block_diag, diagflat, cov, corrcoef, trapezoid, logspace, range, unravel_index, renorm, histogram, Tensor.unfold, ... (torch's)."""

# the Tensor methods, ag functions and in-place forms (x.<name>_) this family adds
METHODS = {}
FUNCTIONS = {}
INPLACE = {}
