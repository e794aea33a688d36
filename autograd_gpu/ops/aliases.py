"""PyTorch's other names for existing ops (absolute, arccos, divide, greater, swapaxes, ...) and small Tensor attributes and utilities (type_as, sum_to_size, itemsize, ...)."""

# the Tensor methods, ag functions and in-place forms (x.<name>_) this family adds
METHODS = {}
FUNCTIONS = {}
INPLACE = {}
