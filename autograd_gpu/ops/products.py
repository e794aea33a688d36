"""Products beyond matmul: the BLAS-style fused forms (addmm, addmv, addr,
baddbmm, addbmm), outer/inner/vdot, tensordot, kron and cross."""

# Tensor methods this module adds (attached by ops/methods.py)
METHODS = {}
# ag.<name> functions this module adds (exported by autograd_gpu/__init__.py); those
# whose first operand must be a Tensor go through functions.tensor_function
FUNCTIONS = {}
