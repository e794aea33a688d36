"""Pointwise ops composed of the primitive ones (no kernels of their own):
addcmul, addcdiv, xlogy, logaddexp, hypot, logit, nan_to_num, ..."""

# Tensor methods this module adds (attached by ops/methods.py)
METHODS = {}
# ag.<name> functions this module adds (exported by autograd_gpu/__init__.py); those
# whose first operand must be a Tensor go through functions.tensor_function
FUNCTIONS = {}
