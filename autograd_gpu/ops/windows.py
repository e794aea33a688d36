"""Sliding windows over the last dims (unfold) and their adjoint, summing
windows back (fold): what convolution and pooling are made of."""

# Tensor methods this module adds (attached by ops/methods.py)
METHODS = {}
# ag.<name> functions this module adds (exported by autograd_gpu/__init__.py)
FUNCTIONS = {}
