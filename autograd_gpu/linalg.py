"""ag.linalg, after torch.linalg (the functions live in ops/decompositions.py)."""
from .ops.decompositions import (inv, det, slogdet, solve, cholesky, qr, eigh, eigvalsh, svd, svdvals,  # noqa: F401
                                 pinv, matrix_power, matrix_rank, matrix_norm, vector_norm, norm, multi_dot,
                                 cross, lstsq)

__all__ = ["inv", "det", "slogdet", "solve", "cholesky", "qr", "eigh", "eigvalsh", "svd", "svdvals", "pinv",
           "matrix_power", "matrix_rank", "matrix_norm", "vector_norm", "norm", "multi_dot", "cross",
           "lstsq"]
