"""Diagonals, as PyTorch's: `diagonal` (a view), `diag_embed`, `diag` and
`trace`. A diagonal's gradient is its embedding in zeros, an embedding's is its
diagonal (prims.diagonal / prims.embed_diagonal)."""
import numpy as np

from ..autograd.op import Op
from . import prims as P
from ._util import int_arg, wrap_dim


class Diagonal(Op):
    """The diagonal over dims a1, a2 (the other dims first, the diagonal last)."""
    _name, op_name = "DiagonalBackward0", "diagonal"
    exact_grads = True
    is_view = True

    def forward(self, x, offset, a1, a2):
        self.args = (x.shape, offset, a1, a2)
        return P.diagonal(x, offset, a1, a2)

    def backward(self, g):
        return P.embed_diagonal(g, *self.args)


class DiagonalCopy(Diagonal):
    """diag of a matrix: the diagonal as a new tensor."""
    _name = "DiagonalBackward0_copy"
    is_view = False

    def forward(self, x, offset, a1, a2):
        return Diagonal.forward(self, x, offset, a1, a2).copy()


class EmbedDiagonal(Op):
    """Zeros of `shape` with the input on the diagonal over a1, a2."""
    _name, op_name = "DiagEmbedBackward0", "diag_embed"

    def forward(self, x, shape, offset, a1, a2):
        self.args = (offset, a1, a2)
        return P.embed_diagonal(x, shape, offset, a1, a2)

    def backward(self, g):
        return P.diagonal(g, *self.args)


class Trace(Op):
    """The sum of a matrix's main diagonal (integers in int64, as PyTorch's)."""
    _name, op_name = "TraceBackward0", "trace"

    def forward(self, x):
        if x.dtype.kind == "b":
            raise NotImplementedError("trace: \"trace\" not implemented for 'Bool'")
        self.shape = x.shape
        d = P.diagonal(x, 0, 0, 1)
        return d.sum(dtype=np.int64) if x.dtype.kind in "iu" else d.sum()

    def backward(self, g):
        return P.embed_diagonal(g, self.shape, 0, 0, 1)


def _dims(dim1, dim2, ndim, op_name):
    a1, a2 = wrap_dim(dim1, ndim, op_name), wrap_dim(dim2, ndim, op_name)
    if a1 == a2:
        raise RuntimeError(f"{op_name}(): diagonal dimensions cannot be identical {dim1}, {dim2}")
    return a1, a2


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The entries (i, i + offset) over dims dim1, dim2, as a view: the other
    dims first, the diagonal last. Writing to it writes to input."""
    offset = int_arg(offset, "diagonal", "offset")
    a1, a2 = _dims(dim1, dim2, input.ndim, "diagonal")
    return Diagonal.apply1(input, offset, a1, a2)


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Zeros with input's last dim on the diagonal (offset) over the new dims
    dim1, dim2; input's other dims fill the rest, in order."""
    offset = int_arg(offset, "diag_embed", "offset")
    ndim = input.ndim + 1
    a1, a2 = _dims(dim1, dim2, ndim, "diag_embed")
    n = (input.shape[-1] if input.ndim else 1) + abs(offset)
    rest = iter(input.shape[:-1])
    shape = tuple(n if d in (a1, a2) else next(rest) for d in range(ndim))
    return EmbedDiagonal.apply1(input, shape, offset, a1, a2)


def diag(input, diagonal=0):
    """A vector's square matrix (the vector on diagonal `diagonal`), or a
    matrix's diagonal `diagonal` as a vector (a copy)."""
    k = int_arg(diagonal, "diag", "diagonal")
    if input.ndim == 1:
        n = input.shape[0] + abs(k)
        return EmbedDiagonal.apply1(input, (n, n), k, 0, 1)
    if input.ndim == 2:
        return DiagonalCopy.apply1(input, k, 0, 1)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


def trace(input):
    """The sum of a matrix's main diagonal."""
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return Trace.apply1(input)
