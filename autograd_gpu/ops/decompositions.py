"""Linear algebra beyond products: inverse, det, slogdet, solve, cholesky, qr,
svd, eigh, pinv, matrix_power, norms (ag.linalg and their top-level forms)."""

# Tensor methods this module adds (attached by ops/methods.py)
METHODS = {}
# ag.<name> functions this module adds (exported by autograd_gpu/__init__.py)
FUNCTIONS = {}
# the methods that have an in-place form (none yet)
INPLACE = {}
