"""NaN-aware and paired reductions: nansum, nanmean, nanmedian, quantile,
nanquantile, var_mean, std_mean, aminmax, count_nonzero; and the scans
cumprod, logcumsumexp, cummax, cummin and diff."""

# Tensor methods this module adds (attached by ops/methods.py)
METHODS = {}
# ag.<name> functions this module adds (exported by autograd_gpu/__init__.py); those
# whose first operand must be a Tensor go through functions.tensor_function
FUNCTIONS = {}
