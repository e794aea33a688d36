"""PyTorch's remaining top-level functions: low-level and legacy forms."""
METHODS = {}
FUNCTIONS = {}
