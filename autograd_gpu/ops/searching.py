"""Searching and counting, mostly without gradients: argsort, msort,
nonzero, argwhere, searchsorted, bucketize, bincount, histc, kthvalue,
tril_indices, triu_indices."""

# Tensor methods this module adds (attached by ops/methods.py)
METHODS = {}
# ag.<name> functions this module adds (exported by autograd_gpu/__init__.py); those
# whose first operand must be a Tensor go through functions.tensor_function
FUNCTIONS = {}
