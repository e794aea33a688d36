"""The gamma family and Bessel i0: lgamma, digamma, polygamma, mvlgamma, i0 (torch's), with NumPy twins of our own (NumPy has none)."""

# the Tensor methods, ag functions and in-place forms (x.<name>_) this family adds
METHODS = {}
FUNCTIONS = {}
INPLACE = {}
