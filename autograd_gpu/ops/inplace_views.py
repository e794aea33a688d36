"""In-place changes of a tensor's view metadata (transpose_, t_, squeeze_, unsqueeze_, swapaxes_, as_strided_) and as_strided, as torch's."""

METHODS = {}
FUNCTIONS = {}
INPLACE = {}
