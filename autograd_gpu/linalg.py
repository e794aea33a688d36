"""ag.linalg, after torch.linalg (the functions and LinAlgError live in ops/decompositions.py)."""
from .ops.decompositions import (inv, det, slogdet, solve, cholesky, qr, eigh, eigvalsh, svd, svdvals,  # noqa: F401
                                 pinv, matrix_power, matrix_rank, matrix_norm, vector_norm, norm, multi_dot,
                                 cross, lstsq)

__all__ = ["inv", "det", "slogdet", "solve", "cholesky", "qr", "eigh", "eigvalsh", "svd", "svdvals", "pinv",
           "matrix_power", "matrix_rank", "matrix_norm", "vector_norm", "norm", "multi_dot", "cross",
           "lstsq"]

# the later additions, listed by decompositions.py itself (LU, solve_triangular, matrix_exp, the _ex forms, ...)
from .ops.decompositions import LINALG as _LINALG  # noqa: E402
globals().update(_LINALG)
__all__ += list(_LINALG)
