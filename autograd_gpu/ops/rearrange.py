"""Ops that rearrange elements: stacking (hstack, vstack, dstack,
column_stack), splitting (tensor_split, hsplit, vsplit, dsplit), broadcast_to,
broadcast_tensors, tile, roll, rot90, fliplr, flipud, take_along_dim, take."""

# Tensor methods this module adds (attached by ops/methods.py)
METHODS = {}
# ag.<name> functions this module adds (exported by autograd_gpu/__init__.py); those
# whose first operand must be a Tensor go through functions.tensor_function
FUNCTIONS = {}
