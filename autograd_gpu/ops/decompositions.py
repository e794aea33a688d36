"""Linear algebra beyond products: inverse, det, slogdet, solve, cholesky, qr,
svd, eigh, pinv, matrix_power, norms (ag.linalg and their top-level forms).

Each decomposition is one node (PyTorch's grad_fn name) whose forward is
NumPy's np.linalg (CuPy's through NEP 18 on CUDA arrays) and whose backward is
derivatives.yaml's formula written once in Tensor ops (`_Lin.grad`), so
create_graph and higher-order gradients follow. The rest (matrix_power, norms,
multi_dot, logdet, ...) is composed of those and of the other ops."""
import collections
import contextlib
import math
import numbers

import numpy as np

from ..autograd.op import Op, device_mismatch
from ..tensor import Tensor
from . import prims as P
from . import products, reduction as R
from ._util import wrap_dim
from .pointwise import where
from .shape import cat
from .tied import as_one_node
from .linalg import Svd, eye_like, matmul as _matmul
from .functions import tensor_function
from .arith import NoDerivative
from ..amp import cast_at_entry

# the result types' names are PyTorch's (torch.return_types.*)
SlogdetResult = collections.namedtuple("linalg_slogdet", ["sign", "logabsdet"])
SlogdetTop = collections.namedtuple("slogdet", ["sign", "logabsdet"])
EighResult = collections.namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])
SvdResult = collections.namedtuple("linalg_svd", ["U", "S", "Vh"])
SvdTop = collections.namedtuple("svd", ["U", "S", "V"])
QrResult = collections.namedtuple("linalg_qr", ["Q", "R"])
QrTop = collections.namedtuple("qr", ["Q", "R"])
LstsqResult = collections.namedtuple("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])


class LinAlgError(RuntimeError):
    """A matrix a linear algebra routine cannot handle (singular, not positive-definite) or an iteration that
    did not converge: torch.linalg.LinAlgError, a RuntimeError, so `except RuntimeError` still catches it."""


LinAlgError.__module__ = "autograd_gpu.linalg"


@contextlib.contextmanager
def _renamed(op_name):
    """Re-raise a LinAlgError of an op we call under our op's name (PyTorch's _ex forms and aliases name
    themselves in the message of the error they share)."""
    try:
        yield
    except LinAlgError as e:
        msg = str(e)
        raise LinAlgError(f"{op_name}{msg[msg.index(':'):]}") from None


_SVD_NAN = "linalg.svd: The algorithm failed to converge because the input matrix contained non-finite values."
_SVD_ILL = ("linalg.svd: The algorithm failed to converge because the input matrix is ill-conditioned or has too "
            "many repeated singular values")


@contextlib.contextmanager
def _svd_errors():
    """Svd (ops/linalg.py) raises a plain RuntimeError for NaN input and NumPy's LinAlgError (which Op turns
    into a RuntimeError "svd: SVD did not converge") where gesdd fails: both are PyTorch's LinAlgError."""
    try:
        yield
    except np.linalg.LinAlgError as e:
        if "converge" not in str(e):
            raise
        raise LinAlgError(_SVD_ILL + ".") from None
    except RuntimeError as e:
        if isinstance(e, LinAlgError):
            raise
        if str(e).startswith(_SVD_NAN):
            raise LinAlgError(_SVD_NAN) from None
        if "did not converge" in str(e):
            raise LinAlgError(_SVD_ILL + ".") from None
        raise


def _svd_input(a):
    """PyTorch's error for an SVD of input with NaN, checked up front (NumPy raises, CuPy returns NaN)."""
    if bool(np.isnan(a).any()):
        raise LinAlgError(_SVD_NAN)


# ---- argument checks ------------------------------------------------------------

def _tensor(op_name, v, name="A", pos=1):
    if not isinstance(v, Tensor):
        raise TypeError(f"{op_name.replace('.', '_')}(): argument '{name}' (position {pos}) must be Tensor, "
                        f"not {type(v).__name__}")


def _matrices(A, op_name, name="A", square=True, floating=True):
    """A batch of matrices (..., m, n): floating (float32/64) and square unless told."""
    _tensor(op_name, A, name)
    if A.ndim < 2:
        raise RuntimeError(f"{op_name}: The input tensor {name} must have at least 2 dimensions.")
    dt = A._data.dtype
    if floating and dt.kind not in "fc":
        raise RuntimeError(f"{op_name}: Expected a floating point or complex tensor as input. Got {A.dtype.libtorch}")
    if floating and dt.itemsize < 4:
        raise RuntimeError(f"{op_name}: Low precision dtypes not supported. Got {A.dtype.libtorch}")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{op_name}: {name} must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")


def _flag(fn, name, v, kind=bool):
    """PyTorch's parser: a bool (or str) argument must be one."""
    if not isinstance(v, kind) or (kind is not bool and isinstance(v, bool)):
        raise TypeError(f"{fn}(): argument '{name}' must be {kind.__name__}, not {type(v).__name__}")
    return v


def _host(a):
    return a.get() if hasattr(a, "get") else np.asarray(a)


def _batch_prefix(a, i):
    """PyTorch's message prefix naming batch element i of a batch of matrices (none for one matrix)."""
    return f"(Batch element {i}): " if a.ndim > 2 else ""


def _first_failure(a, fails):
    """(batch prefix, fails(matrix)) of the first matrix of a (host) where fails() is nonzero."""
    mats = _host(a).reshape((-1,) + a.shape[-2:]).astype(np.float64)
    for i, m in enumerate(mats):
        k = fails(m)
        if k:
            return _batch_prefix(a, i), k
    return "", a.shape[-1]          # (only rounding failed: name the last)


def _first_info(A, info):
    """(batch prefix, code) of the first nonzero LAPACK info of a factorization of A, or None."""
    codes = _host(info._data).reshape(-1)
    if not codes.any():
        return None
    i = int(np.flatnonzero(codes)[0])
    return _batch_prefix(A, i), codes[i]


def _zero_pivot(m):
    """LAPACK getrf's info: the first exactly zero pivot of LU with partial pivoting (1-based)."""
    m = m.copy()
    for j in range(m.shape[0]):
        p = j + int(np.argmax(np.abs(m[j:, j])))
        if m[p, j] == 0:
            return j + 1
        m[[j, p]] = m[[p, j]]
        m[j + 1:, j:] -= np.outer(m[j + 1:, j] / m[j, j], m[j, j:])
    return 0


def _not_pd_minor(m):
    """The order of the first leading minor that is not positive-definite (0: none)."""
    for k in range(1, m.shape[0] + 1):
        try:
            np.linalg.cholesky(m[:k, :k])
        except np.linalg.LinAlgError:
            return k
    return 0


def _lapack(fn, a, failed, error):
    """fn(), raising error(a) where LAPACK fails: NumPy raises LinAlgError, CuPy
    returns garbage (failed(result) tells)."""
    try:
        r = fn()
    except np.linalg.LinAlgError:
        raise error(a) from None
    if not isinstance(a, np.ndarray) and bool(failed(r)):
        raise error(a)
    return r


def _inv_error(a):
    prefix, k = _first_failure(a, _zero_pivot)
    return LinAlgError(f"linalg.inv: {prefix}The diagonal element {k} is zero, the inversion could not be "
                        f"completed because the input matrix is singular.")


def _solve_error(a):
    prefix, _ = _first_failure(a, _zero_pivot)
    return LinAlgError(f"torch.linalg.solve: {prefix}The solver failed because the input matrix is singular.")


def _cholesky_error(a, op_name="linalg.cholesky"):
    prefix, k = _first_failure(a, _not_pd_minor)
    return LinAlgError(f"{op_name}: {prefix}The factorization could not be completed because the input is "
                        f"not positive-definite (the leading minor of order {k} is not positive-definite).")


def _eigh_arrays(a, uplo="L", vectors=True):
    """np.linalg.eigh (eigvalsh without vectors), with PyTorch's LinAlgError where syevd does not converge
    (NumPy raises its own, without syevd's info: the message has no error code; CuPy reports nothing)."""
    fn = np.linalg.eigh if vectors else np.linalg.eigvalsh
    try:
        return fn(a, UPLO=uplo)
    except np.linalg.LinAlgError as e:
        if "converge" not in str(e):              # (NumPy's LinAlgError also says "must be square")
            raise
        prefix = ""
        for i, m in enumerate(_host(a).reshape((-1,) + a.shape[-2:]) if a.ndim > 2 else ()):
            try:
                fn(m, UPLO=uplo)
            except np.linalg.LinAlgError:
                prefix = _batch_prefix(a, i)
                break
        raise LinAlgError(f"linalg.eigh: {prefix}The algorithm failed to converge because the input matrix is "
                          f"ill-conditioned or has too many repeated eigenvalues.") from None


def _nonfinite_where_finite(a):
    return lambda r: bool(np.isfinite(a).all()) and not bool(np.isfinite(r).all())


# ---- the nodes ------------------------------------------------------------------

class _Lin(Op):
    """A node whose backward is `grad`, written in Tensor ops: on arrays (no
    create_graph, grad mode off) they are wrapped, so nothing records."""

    def backward(self, g, *saved):
        gs = list(g) if self.n_outputs != 1 else [g]
        arrays = not any(isinstance(x, Tensor) for x in gs + list(saved))
        self._graph = not arrays                 # (create_graph: a few formulas differ there, as PyTorch's)
        if arrays:
            bk = self._backend
            gs = [None if x is None else Tensor._make(x, bk) for x in gs]
            saved = [None if x is None else Tensor._make(x, bk) for x in saved]
        r = self.grad(*gs, *saved)
        r = r if type(r) is tuple else (r,)
        if arrays:
            r = tuple(None if x is None else x._data for x in r)
        return r if len(r) > 1 else r[0]


def _sym_diag(x, scale):
    """x with its diagonal multiplied by scale."""
    return x + (scale - 1) * x.diagonal(0, -2, -1).diag_embed()


class Inv(_Lin):
    _name, op_name = "LinalgInvExBackward0", "linalg.inv"
    save_result = True

    def forward(self, a):
        r = _lapack(lambda: np.linalg.inv(a), a, _nonfinite_where_finite(a), _inv_error)
        nan = np.isnan(a).any((-2, -1))[..., None, None]
        return np.where(nan, np.nan, r).astype(a.dtype, copy=False) if bool(nan.any()) else r    # (all NaN, as PyTorch's)

    def grad(self, g, ainv):
        t = ainv.mT
        return -(t @ g @ t)


class Det(_Lin):
    _name, op_name = "LinalgDetBackward0", "linalg.det"
    save_inputs = (0,)
    save_result = True

    def forward(self, a):
        with np.errstate(all="ignore"):           # (NaN input: NumPy warns, PyTorch does not)
            return np.linalg.det(a)

    def grad(self, g, a, d):
        gd = (g * d)[..., None, None]
        sing = (d == 0)[..., None, None]
        if not bool(sing.any()):
            return gd * inv(a).mT
        # An exactly singular matrix: PyTorch's gradient is 0 (g det A^-T, with det A = 0), but under
        # create_graph the cofactor matrix det(U) det(Vh) U adj(S) Vh (its SVD formula): both as PyTorch's
        eye = eye_like(d, a.shape[-1])
        ga = gd * inv(where(sing, where(eye, 1.0, 0.0).to(a.dtype), a)).mT
        if not self._graph:
            return ga
        u, s, vh = svd(a)
        others = where(eye, 1, s[..., None, :].expand(s.shape + s.shape[-1:])).prod(-1)
        cof = (det(u) * det(vh)).detach()[..., None, None] * ((u * others[..., None, :]) @ vh)
        return where(sing, g[..., None, None] * cof, ga)


class Slogdet(_Lin):
    _name, op_name = "LinalgSlogdetBackward0", "linalg.slogdet"
    save_inputs = (0,)

    def forward(self, a):
        with np.errstate(all="ignore"):
            return tuple(np.linalg.slogdet(a))

    def grad(self, g_sign, g_log, a):
        return None if g_log is None else g_log[..., None, None] * inv(a).mT     # (sign: no gradient)


class Solve(_Lin):
    """X with A X = B (B a batch of matrices; the batch dims broadcast)."""
    _name, op_name = "LinalgSolveExBackward0", "linalg.solve"
    save_inputs = (0,)
    save_result = True

    def forward(self, a, b):
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        a2, b2 = np.broadcast_to(a, batch + a.shape[-2:]), np.broadcast_to(b, batch + b.shape[-2:])
        return _lapack(lambda: np.linalg.solve(a2, b2), a2, _nonfinite_where_finite(a2), _solve_error)

    def grad(self, g, a, x):
        gb = solve(a.mT, g)
        return (-(gb @ x.mT) if self.needs(0) else None), gb


class Cholesky(_Lin):
    _name, op_name = "LinalgCholeskyExBackward0", "linalg.cholesky"
    save_result = True

    def forward(self, a, upper):
        self.upper = upper
        d = lambda r: not bool((np.diagonal(r, 0, -2, -1) > 0).all())  # noqa: E731  (potrf stops at a pivot <= 0)
        if upper:                    # (U^T U = A from A's upper triangle: the lower factor of A^T)
            a = np.swapaxes(a, -1, -2)
        low = _lapack(lambda: np.linalg.cholesky(a), a, d, lambda a: _cholesky_error(a, self.op_name))
        return np.swapaxes(low, -1, -2).copy() if upper else low

    def grad(self, g, low):
        if self.upper:
            low, g = low.mT, g.mT
        ga = (low.mT @ g).tril()
        ga = 0.5 * (ga + ga.tril(-1).mT)            # Phi(L^T gL), symmetrized
        li = inv(low)
        return li.mT @ ga @ li


class CholeskyTop(Cholesky):
    _name, op_name = "CholeskyBackward0", "cholesky"


class Qr(_Lin):
    _name, op_name = "LinalgQrBackward0", "linalg.qr"
    save_result = True

    def forward(self, a, mode):
        self.mode = mode
        if mode == "r":
            return np.zeros_like(a, shape=(0,)), np.linalg.qr(a, mode="r")
        return tuple(np.linalg.qr(a, mode=mode))

    def grad(self, gq, gr, q, r):
        if self.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "Please use linalg.qr(A, mode='reduced') if you are going to differentiate "
                               "through linalg.qr.")
        m, n = q.shape[-2], r.shape[-1]
        if self.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and "
                               "nrows > ncols.")
        if m >= n:
            return self._tall(gq, gr, q, r)
        # A = [X | Y] with X = Q R1, Y = Q R2: Y reaches Q through R2 = Q^T Y
        r1, r2 = r[..., :m], r[..., m:]
        g1 = g2 = None
        if gr is not None:
            g1, g2 = gr[..., :m], gr[..., m:]
            gy = (q @ r2) @ g2.mT
            gq = gy if gq is None else gq + gy
        gx = self._tall(gq, g1, q, r1)
        return cat([gx, q @ g2 if g2 is not None else P.zeros_like(r2)], -1)

    @staticmethod
    def _tall(gq, gr, q, r):
        """m >= n: gA = (gQ + Q copyltu(M)) R^-T, M = R gR^T - gQ^T Q."""
        if gq is None:
            x = gr @ r.mT
        else:
            x = -(q.mT @ gq) if gr is None else gr @ r.mT - q.mT @ gq
        t = x.triu()
        ga = q @ _sym_diag(t + t.mT, 0.5)
        if gq is not None:
            ga = ga + gq
        return solve(r, ga.mT).mT                 # ga R^-T


class Eigh(_Lin):
    _name, op_name = "LinalgEighBackward0", "linalg.eigh"
    save_result = True

    def forward(self, a, uplo):
        w, v = _eigh_arrays(a, uplo)
        return w, v

    def grad(self, gl, gv, lam, v):
        if gv is None:
            return (v * gl[..., None, :]) @ v.mT
        eye = eye_like(lam, lam.shape[-1])
        e = lam[..., None, :] - lam[..., :, None]
        x = v.mT @ gv
        inner = P.where(eye, 0, (x - x.mT) / P.where(eye, 1, 2 * e))      # (its symmetric part, as PyTorch's)
        if gl is not None:
            inner = inner + gl.diag_embed()
        return v @ inner @ v.mT


class SvdFull(Svd):
    """full_matrices=True: the backward is the reduced one on the first k columns of U and rows of Vh."""

    def forward(self, a):
        if not bool(np.isfinite(a).all()):
            Svd.forward(self, a)                      # raises for NaN
            k = min(a.shape[-2:])
            return tuple(np.full_like(a, np.nan, shape=s) for s in
                         (a.shape[:-1] + a.shape[-2:-1], a.shape[:-2] + (k,), a.shape[:-2] + a.shape[-1:] * 2))
        return tuple(np.linalg.svd(a, full_matrices=True))

    def backward(self, grads, u, s, vh):
        k = s.shape[-1]
        g_u, g_s, g_vh = grads
        return Svd.backward(self, (None if g_u is None else g_u[..., :k], g_s,
                                   None if g_vh is None else g_vh[..., :k, :]), u[..., :k], s, vh[..., :k, :])


class Pinv(_Lin):
    _name, op_name = "LinalgPinvBackward0", "linalg.pinv"
    save_inputs = (0,)
    save_result = True

    def forward(self, a, atol, rtol, hermitian):
        m, n = a.shape[-2:]
        if min(m, n) == 0:
            return np.zeros_like(a, shape=a.shape[:-2] + (n, m))
        if hermitian:
            w, v = _eigh_arrays(a)
            s, u, vt = np.abs(w), v, np.swapaxes(v, -1, -2)
        else:
            _svd_input(a)
            with _svd_errors():
                u, s, vt = np.linalg.svd(a, full_matrices=False)
            w = s
        tol = np.maximum(atol, rtol * s.max(-1, keepdims=True))
        keep = s > tol
        winv = np.where(keep, 1 / np.where(keep, w, 1), 0).astype(a.dtype)
        return np.matmul(np.swapaxes(vt, -1, -2) * winv[..., None, :], np.swapaxes(u, -1, -2))

    def grad(self, g, a, p):
        # dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P, transposed onto dA
        pt = p.mT
        ga = -(pt @ g @ pt)
        ga = ga + (g.mT - a @ (p @ g.mT)) @ (p @ pt)
        return ga + (pt @ p) @ (g.mT - (g.mT @ p) @ a)


class _Identity(Op):
    """matrix_power(A, 0): identity matrices of A's shape, with a zero gradient."""
    _name, op_name = "torch::autograd::CopyBackwards", "linalg.matrix_power"

    def forward(self, a):
        n = a.shape[-1]
        return np.broadcast_to(np.eye(n, dtype=a.dtype) if isinstance(a, np.ndarray) else
                               eye_like(a, n).astype(a.dtype), a.shape).copy()

    def backward(self, g):
        return P.zeros_like(g)


# ---- ag.linalg --------------------------------------------------------------------

def inv(A):
    """The inverse of each square matrix; singular ones raise RuntimeError."""
    _matrices(A, "linalg.inv")
    return Inv.apply1(A)


def det(A):
    """The determinant of each square matrix."""
    _matrices(A, "linalg.det")
    return Det.apply1(A)



def slogdet(A):
    """(sign, logabsdet) of each square matrix's determinant."""
    _matrices(A, "linalg.slogdet")
    return SlogdetResult(*Slogdet.applyN((A,)))


def _same_device_dtype(op_name, A, B):
    if A._backend is not B._backend:
        raise device_mismatch(op_name, A, B)
    if A.dtype is not B.dtype:
        raise RuntimeError(f"{op_name}: Expected A and B to have the same dtype, but found A of type "
                           f"{A.dtype.libtorch} and B of type {B.dtype.libtorch} instead")


def solve(A, B, *, left=True):
    """X with A X = B (left) or X A = B; B may be a vector (or a batch of them)."""
    _matrices(A, "linalg.solve")
    _flag("linalg_solve", "left", left)
    _tensor("linalg.solve", B, "B", 2)
    _same_device_dtype("linalg.solve", A, B)
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    Bm = B.unsqueeze(-1) if vector else B
    n = A.shape[-1]
    if Bm.shape[-2 if left else -1] != n:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({n}x{n} and {Bm.shape[-2]}x{Bm.shape[-1]})")
    try:
        np.broadcast_shapes(A.shape[:-2], Bm.shape[:-2])
    except ValueError:
        raise RuntimeError(f"linalg.solve: the batch dimensions of A {list(A.shape)} and B {list(B.shape)} "
                           f"do not broadcast") from None
    if not left:                     # X A = B: A^T X^T = B^T
        return _solve_node(Solve.applyN((A.mT, Bm.mT)).mT)
    x = Solve.applyN((A, Bm))
    return _solve_node(x.squeeze(-1)) if vector else x


def _solve_node(x):
    """A solution read through a view, out of PyTorch's one node (its solve_ex solves these directly)."""
    return as_one_node(x, "LinalgSolveExBackward0", "linalg_solve_ex")


def cholesky(A, *, upper=False):
    """L (lower, L L^T = A) of each symmetric positive-definite matrix, or L^T with upper=True."""
    _matrices(A, "linalg.cholesky")
    return Cholesky.apply1(A, _flag("linalg_cholesky", "upper", upper))


def qr(A, mode="reduced"):
    """(Q, R) with A = Q R; mode "reduced", "complete" or "r" (Q empty)."""
    _matrices(A, "linalg.qr", square=False)
    _flag("linalg_qr", "mode", mode, str)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                           f"'r', or 'complete'")
    return QrResult(*Qr.applyN((A,), mode))


def _uplo(UPLO):
    _flag("linalg_eigh", "UPLO", UPLO, str)
    if UPLO not in ("L", "U", "l", "u"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return UPLO.upper()


def eigh(A, UPLO="L"):
    """(eigenvalues ascending, eigenvectors) of each symmetric matrix (its UPLO triangle)."""
    _matrices(A, "linalg.eigh")
    return EighResult(*Eigh.applyN((A,), _uplo(UPLO)))


def eigvalsh(A, UPLO="L"):
    """The eigenvalues (ascending) of each symmetric matrix."""
    _matrices(A, "linalg.eigvalsh")
    return Eigh.applyN((A,), _uplo(UPLO))[0]


def svd(A, full_matrices=True, *, driver=None):
    """(U, S, Vh) with A = U diag(S) Vh, S descending."""
    _matrices(A, "linalg.svd", square=False)
    _flag("linalg_svd", "full_matrices", full_matrices)
    _no_driver(A, driver)
    with _svd_errors():
        return SvdResult(*(SvdFull if full_matrices else Svd).applyN((A,)))


def _no_driver(A, driver):
    if driver is not None and not A.is_cuda:
        raise RuntimeError("torch.linalg.svd: keyword argument `driver=` is only supported on CUDA inputs with "
                           "cuSOLVER backend.")


def svdvals(A, *, driver=None):
    """The singular values of each matrix, descending."""
    _matrices(A, "linalg.svdvals", square=False)
    _no_driver(A, driver)
    with _svd_errors():
        return Svd.applyN((A,))[1]


def _tolerances(op_name, A, atol, rtol):
    for name, v in (("atol", atol), ("rtol", rtol)):
        if v is not None and (not isinstance(v, numbers.Real) or isinstance(v, bool)):
            raise TypeError(f"{op_name}(): argument '{name}' must be float, not {type(v).__name__}")
    if rtol is None:
        rtol = np.finfo(A._data.dtype).eps * max(A.shape[-2:]) if atol is None or atol <= 0 else 0.0
    return float(atol or 0.0), float(rtol)


def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """The Moore-Penrose pseudo-inverse (singular values <= max(atol, rtol * s_max) dropped)."""
    _tensor("linalg.pinv", A)
    if A.ndim < 2 or A._data.dtype.kind != "f" or A._data.dtype.itemsize < 4:
        raise RuntimeError(f"linalg.pinv({A.dtype.libtorch}{{{list(A.shape)}}}): expected a tensor with 2 or more "
                           f"dimensions of float, double, cfloat or cdouble types")
    _flag("linalg_pinv", "hermitian", hermitian)
    atol, rtol = _tolerances("linalg_pinv", A, atol, rtol)
    return Pinv.apply1(A, atol, rtol, bool(hermitian))


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False):
    """The number of singular values above max(atol, rtol * s_max) (int64, no gradient)."""
    _tensor("linalg.matrix_rank", A, "input")
    if A.ndim < 2:
        raise RuntimeError("torch.linalg.matrix_rank: The input tensor input must have at least 2 dimensions.")
    _matrices(A, "torch.linalg.matrix_rank", "input", square=_flag("linalg_matrix_rank", "hermitian", hermitian))
    atol, rtol = _tolerances("linalg_matrix_rank", A, atol, rtol)
    a = A._data
    if hermitian:
        s = np.abs(_eigh_arrays(a, vectors=False))
    else:
        _svd_input(a)
        with _svd_errors():
            s = np.linalg.svd(a, compute_uv=False)
    if s.shape[-1] == 0:
        return Tensor._make(np.zeros_like(a, shape=a.shape[:-2], dtype=np.int64), A._backend)
    tol = np.maximum(atol, rtol * s.max(-1, keepdims=True))
    return Tensor._make((s > tol).sum(-1).astype(np.int64), A._backend)


def lstsq(input, b, rcond=None, *, driver=None):
    """(solution, residuals, rank, singular_values) of min ||A X - B||: the solution is
    pinv(A) @ B (so its gradient is pinv's); what else is filled depends on driver, as PyTorch's."""
    A, B = input, b
    _matrices(A, "torch.linalg.lstsq", "input", square=False)
    _tensor("linalg.lstsq", B, "b", 2)
    _same_device_dtype("torch.linalg.lstsq", A, B)
    driver = driver or ("gels" if A.is_cuda else "gelsy")
    if driver not in ("gels", "gelsy", "gelsd", "gelss"):
        raise RuntimeError("torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)")
    vector = B.ndim == A.ndim - 1
    Bm = B.unsqueeze(-1) if vector else B
    m, n = A.shape[-2:]
    if Bm.ndim < 2 or Bm.shape[-2] != m:
        raise RuntimeError(f"torch.linalg.lstsq: input.size(-2) should match other.size(-2) (got shapes "
                           f"{list(A.shape)} and {list(B.shape)})")
    rtol = np.finfo(A._data.dtype).eps * max(m, n) if rcond is None or rcond < 0 else float(rcond)
    x = pinv(A, rtol=rtol) @ Bm
    solution = as_one_node(x.squeeze(-1) if vector else x, "LinalgLstsqBackward0", "linalg_lstsq")
    empty = x.reshape(-1)[:0]           # (on the graph, as PyTorch's empty outputs of its node)
    rank = empty.detach().long() if driver == "gels" else matrix_rank(A, rtol=rtol)
    sv = (svdvals(A) if driver in ("gelsd", "gelss") else empty).detach()     # (no gradient, as PyTorch's)
    res = empty
    if driver != "gelsy" and m > n and bool((matrix_rank(A, rtol=rtol) == n).all()):
        res = ((A @ x - Bm) ** 2).sum(-2)
    return LstsqResult(solution, res.squeeze(-1) if vector and res.ndim else res, rank, sv)


def matrix_power(A, n):
    """A @ A @ ... (n times; n < 0: of A's inverse; n == 0: identity)."""
    _matrices(A, "linalg.matrix_power", floating=False)
    if not isinstance(n, numbers.Integral) or isinstance(n, bool):
        raise TypeError(f"linalg_matrix_power(): argument 'n' (position 2) must be int, not {type(n).__name__}")
    if n == 0:
        return _Identity.apply1(A)
    if n == 1:                     # (a copy, as PyTorch's: writing the result must not write A)
        return A.clone()
    if n < 0:
        A, n = inv(A), -n
    out, base = None, A
    while n:                       # binary powering: the product of A^(2^i) for n's set bits
        if n & 1:
            out = base if out is None else out @ base
        n >>= 1
        if n:
            base = base @ base
    return out


class _Named:
    """Re-raise an error of an op we call under our op's name (same kind)."""

    def __init__(self, op_name):
        self.op_name = op_name

    def __enter__(self):
        return self

    def __exit__(self, kind, e, tb):
        # (a LinAlgError keeps the name of the op that failed, as PyTorch's composites)
        if e is not None and kind in (IndexError, RuntimeError, TypeError, ValueError) and \
                not str(e).startswith(self.op_name):
            raise kind(f"{self.op_name}: {e}") from None
        return False


def _float_input(op_name, A, dtype):
    if dtype is not None:
        A = A.to(dtype)
    if A._data.dtype.kind not in "fc":
        raise RuntimeError(f"{op_name}: Expected a floating point or complex tensor as input. Got {A.dtype.libtorch}")
    return A


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The ord-norm of x over dim (all of it by default) as a vector."""
    _tensor("linalg.vector_norm", x, "input")
    if not isinstance(ord, numbers.Real):             # (a bool is a number: True is 1, as PyTorch's)
        raise TypeError(f"linalg_vector_norm(): argument 'ord' (position 2) must be Number, not {type(ord).__name__}")
    x = _float_input("linalg.vector_norm", x, dtype)
    with _Named("linalg.vector_norm"):
        return R.norm(x, float(ord), dim, keepdim)


def _matrix_dims(A, dim, op_name):
    if not isinstance(dim, (tuple, list)) or not all(isinstance(d, int) and not isinstance(d, bool) for d in dim):
        raise TypeError(f"{op_name.replace('.', '_')}(): argument 'dim' must be tuple of ints, not "
                        f"{type(dim).__name__}")
    if len(dim) != 2:
        raise RuntimeError(f"{op_name}: dim must be a 2-tuple. Got {' '.join(map(str, dim))}")
    dims = tuple(wrap_dim(d, A.ndim, op_name) for d in dim)      # (in order: ord 1 / inf tell them apart)
    if dims[0] == dims[1]:
        raise RuntimeError(f"{op_name}: dims must be different. Got ({dims[0]}, {dims[1]})")
    return dims


@cast_at_entry
def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """The ord-norm of the matrices over dim: 'fro', 'nuc', inf, -inf, 1, -1, 2, -2."""
    op = "linalg.matrix_norm"
    _tensor(op, A)
    if A.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    if not isinstance(ord, (str, numbers.Real)):
        raise TypeError(f"linalg_matrix_norm(): argument 'ord' must be Number or str, not {type(ord).__name__}")
    A = _float_input(op, A, dtype)
    if ord not in ("fro", "nuc", math.inf, -math.inf, 1, -1, 2, -2):
        raise RuntimeError(f"{op}: Order {ord} not supported.")
    d0, d1 = _matrix_dims(A, dim, op)
    with _Named(op):
        return _matrix_norm(A, ord, d0, d1, keepdim)


def _matrix_norm(A, ord, d0, d1, keepdim):
    if ord == "fro":
        return R.norm(A, 2.0, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        rest = [d for d in range(A.ndim) if d not in (d0, d1)]
        s = svdvals(A.permute(*rest, d0, d1))
        out = s.sum(-1) if ord == "nuc" else (_largest(s, -1, False) if ord == 2 else s.amin(-1))
        if keepdim:
            out = out.unsqueeze(min(d0, d1)).unsqueeze(max(d0, d1))
        return out
    # 1 / inf: the largest (smallest for -1 / -inf) absolute column / row sum
    summed, other = (d0, d1) if abs(ord) == 1 else (d1, d0)
    s = A.abs().sum(summed, keepdim=True)
    out = _largest(s, other, True) if ord > 0 else s.amin(other, keepdim=True)
    return out if keepdim else out.squeeze(max(d0, d1)).squeeze(min(d0, d1))


def _largest(s, dim, keepdim):
    """amax, but 0 over an empty dim (the norm of an empty matrix, as PyTorch's)."""
    return s.sum(dim, keepdim=keepdim) if s.shape[dim] == 0 else s.amax(dim, keepdim=keepdim)


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """vector_norm or matrix_norm, as dim (an int or a 2-tuple) and ord (a string: a matrix) say."""
    _tensor("linalg.norm", A)
    if isinstance(dim, int) and not isinstance(dim, bool):
        dim = (dim,)
    if dim is not None:
        if not isinstance(dim, (tuple, list)) or not all(isinstance(d, int) and not isinstance(d, bool) for d in dim):
            raise TypeError(f"linalg_norm(): argument 'dim' must be tuple of ints, not {type(dim).__name__}")
        if len(dim) not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dim)}")
    if ord is None:
        for d in dim or ():
            wrap_dim(d, A.ndim, "linalg.norm")
        if dim is not None and len(dim) == 2:
            return matrix_norm(A, "fro", dim, keepdim, dtype=dtype)
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if dim is None:
        if A.ndim not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                               f"Got {A.ndim}D.")
        dim = tuple(range(A.ndim))
    if len(dim) == 2:
        return matrix_norm(A, ord, dim, keepdim, dtype=dtype)
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: Order {ord} not supported.")
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


@cast_at_entry
def multi_dot(tensors):
    """The chain product of the matrices (the first and last may be vectors)."""
    ts = list(tensors)
    if len(ts) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(ts)}")
    for i, t in enumerate(ts):
        _tensor("linalg.multi_dot", t, "tensors", 1)
        where = "first" if i == 0 else ("last" if i == len(ts) - 1 else None)
        if where and t.ndim not in (1, 2):
            raise RuntimeError(f"multi_dot(): the {where} tensor must be 1D or 2D but got {t.ndim}D")
        if not where and t.ndim != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D")
        if t.dtype is not ts[0].dtype:
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                               f"{ts[0].dtype.libtorch} and tensor {i} {t.dtype.libtorch}")
        if t._backend is not ts[0]._backend:
            raise device_mismatch("multi_dot", ts[0], t)
    first, last = ts[0].ndim == 1, ts[-1].ndim == 1
    mats = [ts[0].unsqueeze(0) if first else ts[0]] + ts[1:-1] + [ts[-1].unsqueeze(-1) if last else ts[-1]]
    for i in range(len(mats) - 1):
        if mats[i].shape[1] != mats[i + 1].shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes {list(ts[i].shape)} and "
                               f"{list(ts[i + 1].shape)} cannot be multiplied")
    out = mats[0]
    for m in mats[1:]:
        out = out @ m
    if first:
        out = out.squeeze(0)
    return out.squeeze(-1) if last else out


def cross(input, other, *, dim=-1):
    """The cross product along dim (default the last); input and other broadcast."""
    _tensor("linalg.cross", input, "input")
    _tensor("linalg.cross", other, "other", 2)
    return products.cross(input, other, dim)     # (which broadcasts all dims but `dim`, as PyTorch's)


# ---- LU, triangular solves, matrix_exp (array kernels, then the nodes, then the functions) -------------

LuFactorResult = collections.namedtuple("linalg_lu_factor", ["LU", "pivots"])
LuFactorExResult = collections.namedtuple("linalg_lu_factor_ex", ["LU", "pivots", "info"])
LuResult = collections.namedtuple("linalg_lu", ["P", "L", "U"])
LuUnpackResult = collections.namedtuple("lu_unpack", ["P", "L", "U"])
TriangularSolveResult = collections.namedtuple("triangular_solve", ["solution", "cloned_coefficient"])
InvExResult = collections.namedtuple("linalg_inv_ex", ["inverse", "info"])
CholeskyExResult = collections.namedtuple("linalg_cholesky_ex", ["L", "info"])
SolveExResult = collections.namedtuple("linalg_solve_ex", ["result", "info"])


def _xp(a):
    from ..backend import of_array
    return of_array(a).xp


def _swap_rows(x, rows, i, p):
    """x[b, i] <-> x[b, p[b]] for every batch element b (x: (batch, m, ...))."""
    top = x[rows, i].copy()
    x[rows, i] = x[rows, p]
    x[rows, p] = top


def _lu_arrays(a, pivot=True):
    """(LU, pivots, info) of each matrix of a (..., m, n), as LAPACK's getrf: Doolittle with partial
    pivoting (the first largest |entry| of the column), vectorised over the batch; pivots 1-based int32,
    info the first exactly zero pivot (1-based, 0: none), where the column is left unscaled."""
    xp = _xp(a)
    m, n = a.shape[-2:]
    k = min(m, n)
    batch = a.shape[:-2]
    nb = math.prod(batch)
    lu = a.reshape((nb, m, n)).copy()
    rows = xp.arange(nb)
    piv = xp.zeros((nb, k), dtype=np.int32)
    info = xp.zeros(nb, dtype=np.int32)
    with np.errstate(all="ignore"):
        for j in range(k):
            if pivot:
                p = j + xp.argmax(xp.abs(lu[:, j:, j]), axis=1)
                _swap_rows(lu, rows, j, p)
                piv[:, j] = p + 1
            else:
                piv[:, j] = j + 1
            d = lu[:, j, j]
            zero = d == 0
            info = xp.where((info == 0) & zero, j + 1, info).astype(np.int32)
            col = xp.where(zero[:, None], lu[:, j + 1:, j], lu[:, j + 1:, j] / xp.where(zero, 1, d)[:, None])
            lu[:, j + 1:, j] = col
            lu[:, j + 1:, j + 1:] -= col[:, :, None] * lu[:, j, None, j + 1:]
    return lu.reshape(a.shape), piv.reshape(batch + (k,)), info.reshape(batch)


def _permutation_arrays(piv, m, dtype):
    """P (..., m, m) with A = P L U, from LAPACK's 1-based row swaps piv (..., k)."""
    xp = _xp(piv)
    batch, k = piv.shape[:-1], piv.shape[-1]
    nb = math.prod(batch)
    flat = piv.reshape((nb, k)).astype(np.int64) - 1
    perm = xp.broadcast_to(xp.arange(m), (nb, m)).copy()   # row i of P^T A is row perm[i] of A
    rows = xp.arange(nb)
    for j in range(k):
        _swap_rows(perm, rows, j, flat[:, j])
    pt = xp.eye(m, dtype=dtype)[perm]
    return xp.swapaxes(pt, -1, -2).reshape(batch + (m, m))


def _unpack_arrays(lu):
    m, n = lu.shape[-2:]
    k = min(m, n)
    xp = _xp(lu)
    low = xp.tril(lu[..., :, :k], -1) + xp.eye(m, k, dtype=lu.dtype)
    return low, xp.triu(lu[..., :k, :])


def _substitute(a, b, upper, unit):
    """X with A X = B for triangular A (its other triangle ignored), by substitution as BLAS trsm
    (a zero diagonal gives inf / NaN, no error)."""
    xp = _xp(a)
    n = a.shape[-1]
    off = xp.triu(a, 1) if upper else xp.tril(a, -1)
    x = xp.zeros(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:], dtype=b.dtype)
    with np.errstate(all="ignore"):
        for i in (range(n - 1, -1, -1) if upper else range(n)):
            r = b[..., i, :] - xp.matmul(off[..., i:i + 1, :], x)[..., 0, :]
            x[..., i, :] = r if unit else r / a[..., i, i:i + 1]
    return x


_PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
           129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0, 40840800.0,
           960960.0, 16380.0, 182.0, 1.0)


def _expm_arrays(a):
    """exp of each square matrix: Pade 13 with scaling and squaring (Higham 2005), each matrix scaled
    by its own 2^-s, s from its 1-norm."""
    xp = _xp(a)
    if a.size == 0:
        return a.copy()
    b = _PADE13
    with np.errstate(all="ignore"):
        norm1 = xp.abs(a).sum(-2).max(-1)
        s = xp.ceil(xp.log2(norm1 / 5.371920351148152))
        s = xp.clip(xp.where(xp.isfinite(s), s, 0), 0, 1100)        # (NaN / inf input: NaN / inf out)
        x = a * xp.exp2(-s)[..., None, None].astype(a.dtype)
        eye = xp.eye(a.shape[-1], dtype=a.dtype)
        x2 = x @ x
        x4 = x2 @ x2
        x6 = x4 @ x2
        u = x @ (x6 @ (b[13] * x6 + b[11] * x4 + b[9] * x2) + b[7] * x6 + b[5] * x4 + b[3] * x2 + b[1] * eye)
        v = x6 @ (b[12] * x6 + b[10] * x4 + b[8] * x2) + b[6] * x6 + b[4] * x4 + b[2] * x2 + b[0] * eye
        try:
            r = np.linalg.solve(v - u, v + u)
        except np.linalg.LinAlgError:      # (only for non-finite input)
            return xp.full_like(a, np.nan)
        for i in range(int(s.max())):
            r = xp.where((i < s)[..., None, None], r @ r, r)
    return r.astype(a.dtype, copy=False)


def _lu_backward(gl, gu, p, low, up):
    """PyTorch's linalg_lu_backward: the gradient of A = P L U from those of L (m x k) and U (k x n)."""
    m, n = low.shape[-2], up.shape[-1]
    k = min(m, n)
    if m == n:
        ga = (low.mT @ gl).tril(-1) if gl is not None else None
        if gu is not None:
            gu_term = (gu @ up.mT).triu()
            ga = gu_term if ga is None else ga + gu_term
        ga = solve_triangular(up.mT, ga, upper=False, left=False)
        ga = solve_triangular(low.mT, ga, upper=True, unitriangular=True)
        return p @ ga
    if m < n:                          # wide: U = [U1 U2], U1 k x k
        u1 = up[..., :k]
        ga = low.mT @ gl if gl is not None else None
        if gu is not None:
            gu_term = gu.triu() @ up.mT
            ga = -gu_term if ga is None else ga - gu_term
        ga = solve_triangular(u1.mT, ga.tril(-1), upper=False, left=False)
        if gu is not None:
            ga = cat([ga + gu[..., :k].triu(), gu[..., k:]], -1)
        ga = solve_triangular(low.mT, ga, upper=True, unitriangular=True)
        if gu is None:
            ga = cat([ga, P.zeros_like(up[..., k:])], -1)
        return p @ ga
    l1 = low[..., :k, :]               # tall: L = [L1; L2], L1 k x k
    ga = gu @ up.mT if gu is not None else None
    if gl is not None:
        gl_term = low.mT @ gl.tril(-1)
        ga = -gl_term if ga is None else ga - gl_term
    ga = solve_triangular(l1.mT, ga.triu(), upper=True, unitriangular=True)
    if gl is not None:
        ga = cat([ga + gl[..., :k, :].tril(-1), gl[..., k:, :]], -2)
    ga = solve_triangular(up.mT, ga, upper=False, left=False)
    if gl is None:
        ga = cat([ga, P.zeros_like(low[..., k:, :])], -2)
    return p @ ga


def _unpack_tensors(lu, piv):
    """(P, L, U) of a factor as Tensors: L and U differentiable in lu, P constant."""
    m, n = lu.shape[-2:]
    k = min(m, n)
    eye = Tensor._make(lu._backend.xp.eye(m, k, dtype=lu._data.dtype), lu._backend)
    pm = Tensor._make(_permutation_arrays(piv._data, m, lu._data.dtype), lu._backend)
    return pm, lu[..., :, :k].tril(-1) + eye, lu[..., :k, :].triu()


class LuFactor(_Lin):
    _name, op_name = "LinalgLuFactorExBackward0", "linalg.lu_factor_ex"
    save_result = True
    nondiff_outputs = (1, 2)

    def forward(self, a, pivot):
        return _lu_arrays(a, pivot)

    def grad(self, g, g_piv, g_info, lu, piv, info):
        if g is None:
            return None
        k = min(lu.shape[-2:])
        pm, low, up = _unpack_tensors(lu, piv)
        return _lu_backward(g[..., :, :k], g[..., :k, :], pm, low, up)


class Lu(_Lin):
    _name, op_name = "LinalgLuBackward0", "linalg.lu"
    save_result = True
    nondiff_outputs = (0,)

    def forward(self, a, pivot):
        lu, piv, _ = _lu_arrays(a, pivot)
        return (_permutation_arrays(piv, a.shape[-2], a.dtype),) + _unpack_arrays(lu)

    def grad(self, g_p, g_l, g_u, pm, low, up):
        if g_l is None and g_u is None:
            return None
        return _lu_backward(g_l, g_u, pm, low, up)


class SolveTriangular(_Lin):
    """X with A X = B (left) or X A = B, A triangular; A and B already of one batch shape."""
    _name, op_name = "LinalgSolveTriangularBackward0", "linalg.solve_triangular"
    save_inputs = (0,)
    save_result = True

    def forward(self, a, b, upper, left, unit):
        self.upper, self.left, self.unit = upper, left, unit
        if left:
            return _substitute(a, b, upper, unit)
        t = lambda x: np.swapaxes(x, -1, -2)        # noqa: E731  (X A = B: A^T X^T = B^T)
        return t(_substitute(t(a), t(b), not upper, unit)).copy()

    def grad(self, g, a, x):
        gb = solve_triangular(a.mT, g, upper=not self.upper, left=self.left, unitriangular=self.unit)
        if not self.needs(0):
            return None, gb
        ga = -(gb @ x.mT) if self.left else -(x.mT @ gb)
        ga = ga.triu(int(self.unit)) if self.upper else ga.tril(-int(self.unit))
        return ga, gb


class MatrixExp(_Lin):
    _name, op_name = "LinalgMatrixExpBackward0", "linalg.matrix_exp"
    save_inputs = (0,)

    def forward(self, a):
        return _expm_arrays(a)

    def grad(self, g, a):
        # exp([[A^T, G], [0, A^T]]) has the gradient in its top-right block
        n = a.shape[-1]
        at = a.mT
        top = cat([at, g], -1)
        bottom = cat([P.zeros_like(g), at], -1)
        return matrix_exp(cat([top, bottom], -2))[..., :n, n:]


def _pivot_flag(op_name, fn, A, pivot):
    if not _flag(fn, "pivot", pivot) and not A.is_cuda:
        raise RuntimeError(f"{op_name}: LU without pivoting is not implemented on the CPU")
    return pivot


def _lu_input(A, op_name, name="A"):
    _tensor(op_name, A, name)
    if A.ndim < 2:
        raise RuntimeError(f"{op_name}: Expected tensor with 2 or more dimensions. Got size: {list(A.shape)} instead")
    if A._data.dtype.kind != "f" or A._data.dtype.itemsize < 4:
        raise NotImplementedError(f"{op_name}: \"lu\" not implemented for '{A.dtype.libtorch}'")


def lu_factor_ex(A, *, pivot=True, check_errors=False):
    """(LU, pivots, info): the LU factorization with partial pivoting of each matrix (any m x n);
    pivots are LAPACK's 1-based int32 row swaps, info the first zero pivot (0: none)."""
    _lu_input(A, "linalg.lu_factor_ex")
    _pivot_flag("linalg.lu_factor", "linalg_lu_factor_ex", A, pivot)
    _flag("linalg_lu_factor_ex", "check_errors", check_errors)
    out = LuFactorExResult(*LuFactor.applyN((A,), bool(pivot)))
    if check_errors:
        _check_lu_info("torch.linalg.lu_factor_ex", A, out.info)
    return out


def _check_lu_info(op_name, A, info):
    """PyTorch's error for an exactly zero U diagonal entry: a plain RuntimeError there, not a LinAlgError."""
    failed = _first_info(A, info)
    if failed:
        prefix, k = failed
        raise RuntimeError(f"{op_name}: {prefix}U[{k},{k}] is zero and using it on lu_solve "
                           f"would result in a division by zero. If you still want to perform the factorization, "
                           f"consider calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")


def lu_factor(A, *, pivot=True):
    """(LU, pivots): lu_factor_ex, raising where a U diagonal entry is exactly zero."""
    _lu_input(A, "torch.lu_factor")
    _pivot_flag("linalg.lu_factor", "linalg_lu_factor", A, pivot)
    lu, piv, info = LuFactor.applyN((A,), bool(pivot))
    _check_lu_info("torch.linalg.lu_factor", A, info)
    return LuFactorResult(lu, piv)


def lu(A, *, pivot=True):
    """(P, L, U) with A = P L U: P a permutation, L unit lower (m x k), U upper (k x n)."""
    _lu_input(A, "linalg.lu")
    _pivot_flag("linalg.lu_factor", "linalg_lu", A, pivot)
    return LuResult(*Lu.applyN((A,), bool(pivot)))


def _check_pivots(op_name, LU, pivots, check_range):
    _tensor(op_name, pivots, "pivots", 2)
    if pivots.dtype.np != np.int32:
        raise RuntimeError(f"{op_name}: pivots should be a Tensor of scalar type torch.int32")
    if LU._backend is not pivots._backend:
        raise device_mismatch(op_name, LU, pivots)
    if tuple(pivots.shape) != tuple(LU.shape[:-2]) + (min(LU.shape[-2:]),):
        raise RuntimeError(f"{op_name}: Number of pivots per batch should be same as the dimension of the matrix "
                           f"(LU {list(LU.shape)}, pivots {list(pivots.shape)})")
    if check_range and pivots.numel() and not bool(((pivots._data >= 1) & (pivots._data <= LU.shape[-2])).all()):
        raise RuntimeError(f"{op_name}: pivots passed to lu_unpack must be between 1 and LU.size(-2) inclusive. "
                           f"Did you properly pass the result of lu_factor?")


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):
    """(P, L, U) of lu_factor's output; an empty tensor for what is not unpacked."""
    op = "torch.lu_unpack"
    _tensor(op, LU_data, "LU_data")
    if LU_data.ndim < 2:
        raise RuntimeError(f"{op}: Expected tensor with 2 or more dimensions. Got size: {list(LU_data.shape)} instead")
    _flag("lu_unpack", "unpack_data", unpack_data)
    _flag("lu_unpack", "unpack_pivots", unpack_pivots)
    if not isinstance(LU_pivots, Tensor) or LU_pivots.dtype.np != np.int32:
        _tensor("lu_unpack", LU_pivots, "LU_pivots", 2)
        raise RuntimeError(f"{op}: LU_pivots is expected to be a contiguous tensor of torch.int32 dtype. "
                           f"Note: this function is intended to be used with the output produced by "
                           f"torch.linalg.lu_factor")
    _check_pivots(op, LU_data, LU_pivots, unpack_pivots)
    empty = Tensor._make(np.zeros_like(LU_data._data, shape=(0,)), LU_data._backend)
    pm, low, up = _unpack_tensors(LU_data, LU_pivots) if unpack_pivots else (empty, None, None)
    if not unpack_data:
        return LuUnpackResult(pm, empty, empty)
    if low is None:
        _, low, up = _unpack_tensors(LU_data, LU_pivots[..., :0].expand(LU_pivots.shape[:-1] + (0,)))
    return LuUnpackResult(pm, low, up)


def lu_solve(LU, pivots, B, *, left=True, adjoint=False):
    """X with A X = B (A^T X = B with adjoint; X A = B with left=False) from A's lu_factor. Written as
    triangular solves of LU's triangles, so its gradient reaches LU (and B) through them."""
    op = "linalg.lu_solve"
    _tensor(op, LU, "LU")
    _matrices(LU, "torch.linalg.lu_solve", "A")
    _tensor(op, B, "B", 3)
    _flag("linalg_lu_solve", "left", left)
    _flag("linalg_lu_solve", "adjoint", adjoint)
    if B.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor B must have at least 2 dimensions.")
    _same_device_dtype(op, LU, B)
    _check_pivots(op, LU, pivots, True)
    n = LU.shape[-1]
    if B.shape[-2 if left else -1] != n:
        raise RuntimeError(f"{op}: Incompatible shapes of A and B for the equation {'AX = B' if left else 'XA = B'} "
                           f"({n}x{n} and {B.shape[-2]}x{B.shape[-1]})")
    _broadcast_batch(op, LU, B)
    pm, low, up = _unpack_tensors(LU, pivots)
    tri = lambda a, b, upper, unit, on_left: solve_triangular(a, b, upper=upper, left=on_left,  # noqa: E731
                                                               unitriangular=unit)
    if left and not adjoint:           # P L U X = B
        x = tri(up, tri(low, pm.mT @ B, False, True, True), True, False, True)
    elif left:                         # U^T L^T P^T X = B
        x = pm @ tri(low.mT, tri(up.mT, B, False, False, True), True, True, True)
    elif not adjoint:                  # X P L U = B
        x = tri(low, tri(up, B, True, False, False), False, True, False) @ pm.mT
    else:                              # X U^T L^T P^T = B
        x = tri(up.mT, tri(low.mT, B @ pm, True, True, False), False, False, False)
    return as_one_node(x, "LinalgLuSolveBackward0", "linalg_lu_solve")


def _broadcast_batch(op_name, A, B):
    try:
        return np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
    except ValueError:
        raise RuntimeError(f"{op_name}: the batch dimensions of A {list(A.shape)} and B {list(B.shape)} "
                           f"do not broadcast") from None


def _triangular_dtype(op_name, A):
    if A._data.dtype.kind != "f" or A._data.dtype.itemsize < 4:
        raise NotImplementedError(f"{op_name}: \"triangular_solve\" not implemented for '{A.dtype.libtorch}'")


def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """X with A X = B (left) or X A = B, A upper or lower triangular (the other triangle is not read;
    with unitriangular, neither is the diagonal: taken as ones). Batch dims broadcast."""
    op = "linalg.solve_triangular"
    _tensor("linalg_solve_triangular", A, "input")
    _tensor("linalg_solve_triangular", B, "B", 2)
    for name, v in (("upper", upper), ("left", left), ("unitriangular", unitriangular)):
        _flag("linalg_solve_triangular", name, v)
    for name, t in (("A", A), ("B", B)):
        if t.ndim < 2:
            raise RuntimeError(f"{op}: The input tensor {name} must have at least 2 dimensions.")
    if A._backend is not B._backend:
        raise device_mismatch(op, A, B)
    _triangular_dtype(op, A)
    if A.dtype is not B.dtype:             # (PyTorch casts B to A's dtype here)
        B = B.to(A.dtype)
    _matrices(A, op)
    n = A.shape[-1]
    if B.shape[-2 if left else -1] != n:
        raise RuntimeError(f"{op}: Incompatible shapes of A and B for the equation {'AX = B' if left else 'XA = B'} "
                           f"({n}x{n} and {B.shape[-2]}x{B.shape[-1]})")
    batch = _broadcast_batch(op, A, B)
    A = A if tuple(A.shape[:-2]) == batch else A.expand(batch + tuple(A.shape[-2:]))
    B = B if tuple(B.shape[:-2]) == batch else B.expand(batch + tuple(B.shape[-2:]))
    return SolveTriangular.applyN((A, B), bool(upper), bool(left), bool(unitriangular))


def triangular_solve(input, A, upper=True, transpose=False, unitriangular=False):
    """torch.triangular_solve: (X with op(A) X = input, A's copy); op(A) = A^T with transpose."""
    op = "triangular_solve"
    _tensor(op, input, "input")
    _tensor(op, A, "A", 2)
    for name, v in (("upper", upper), ("transpose", transpose), ("unitriangular", unitriangular)):
        _flag(op, name, v)
    for t in (input, A):
        if t.ndim < 2:
            raise RuntimeError(f"{op}: The input tensor must have at least 2 dimensions (got {list(t.shape)})")
    if A._backend is not input._backend:
        raise device_mismatch(op, input, A)
    if A.dtype is not input.dtype:
        raise RuntimeError(f"{op}: Expected b and A to have the same dtype, but found b of type "
                           f"{input.dtype.libtorch} and A of type {A.dtype.libtorch} instead.")
    _triangular_dtype(op, A)
    if A.shape[-1] != A.shape[-2] or input.shape[-2] != A.shape[-1]:
        raise RuntimeError(f"Incompatible matrix sizes for {op}: each A matrix is {A.shape[-2]} by {A.shape[-1]} "
                           f"but each b matrix is {input.shape[-2]} by {input.shape[-1]}")
    coef = A.mT if transpose else A
    x = solve_triangular(coef, input, upper=bool(upper) != bool(transpose), unitriangular=unitriangular)
    return TriangularSolveResult(as_one_node(x, "TriangularSolveBackward0", op), A.clone())


def matrix_exp(A):
    """The matrix exponential of each square matrix (Pade 13, scaling and squaring)."""
    op = "linalg.matrix_exp"
    _tensor("linalg_matrix_exp", A)
    _matrices(A, op)
    return MatrixExp.apply1(A)


# ---- the _ex forms: an info tensor (int32) instead of an error, unless check_errors -----------------------

def _info(A):
    """The first zero pivot of each matrix's LU (int32 Tensor, 0: invertible)."""
    return Tensor._make(_lu_arrays(A._data)[2], A._backend)


def _where_info(info, singular_fill, regular):
    """regular where info == 0, singular_fill (NaN) elsewhere."""
    bad = (info != 0)[(...,) + (None,) * (regular.ndim - info.ndim)]
    return where(bad, singular_fill, regular)


def _identity_where_singular(A, info):
    eye = Tensor._make(eye_like(A._data, A.shape[-1]), A._backend)
    return where((info != 0)[..., None, None] | P.zeros_like(A).bool(), eye.to(A.dtype), A)


def inv_ex(A, *, check_errors=False):
    """(inverse, info): info > 0 marks a singular matrix (its inverse is NaN here) instead of raising."""
    _matrices(A, "linalg.inv_ex")
    _flag("linalg_inv_ex", "check_errors", check_errors)
    info = _info(A)
    if not bool(info._data.any()):
        return InvExResult(inv(A), info)
    if check_errors:
        with _renamed("linalg.inv_ex"):
            inv(A)
    return InvExResult(_where_info(info, math.nan, inv(_identity_where_singular(A, info))), info)


def solve_ex(A, B, *, left=True, check_errors=False):
    """(result, info): linalg.solve with info > 0 (result NaN) for singular A instead of raising."""
    _matrices(A, "linalg.solve_ex")
    _flag("linalg_solve_ex", "check_errors", check_errors)
    info = _info(A)
    if not bool(info._data.any()):
        return SolveExResult(solve(A, B, left=left), info)
    if check_errors:
        with _renamed("torch.linalg.solve_ex"):
            solve(A, B, left=left)
    x = solve(_identity_where_singular(A, info), B, left=left)
    return SolveExResult(_where_info(info.expand(x.shape[:info.ndim]) if x.ndim > info.ndim else info,
                                     math.nan, x), info)


def cholesky_ex(A, *, upper=False, check_errors=False):
    """(L, info): info > 0 is the order of the first leading minor that is not positive-definite
    (L NaN there) instead of raising."""
    _matrices(A, "linalg.cholesky_ex")
    _flag("linalg_cholesky_ex", "upper", upper)
    _flag("linalg_cholesky_ex", "check_errors", check_errors)
    try:
        return CholeskyExResult(cholesky(A, upper=upper), Tensor._make(
            np.zeros_like(A._data, shape=A.shape[:-2], dtype=np.int32), A._backend))
    except RuntimeError:
        if check_errors:
            with _renamed("linalg.cholesky_ex"):
                cholesky(A, upper=upper)
    mats = _host(A._data).reshape((-1,) + A.shape[-2:]).astype(np.float64)
    host_info = np.array([_not_pd_minor(m) for m in mats], dtype=np.int32).reshape(A.shape[:-2])
    info = Tensor._make(host_info if A._backend.xp is np else A._backend.xp.asarray(host_info), A._backend)
    return CholeskyExResult(_where_info(info, math.nan, cholesky(_identity_where_singular(A, info), upper=upper)),
                            info)


# ---- composed ones --------------------------------------------------------------------------------------

def vander(x, *, N=None):
    """x's Vandermonde matrix: columns x^0, x^1, ..., x^(N-1) (N = x.shape[-1] by default)."""
    _tensor("linalg_vander", x, "x")
    if x.dtype.np == np.bool_:
        raise RuntimeError("linalg.vander supports floating point, complex, and integer tensors, but got Bool")
    if x.ndim < 1:
        raise RuntimeError("linalg.vander: x must have at least one dimension")
    if N is not None and (not isinstance(N, numbers.Integral) or isinstance(N, bool)):
        raise TypeError(f"linalg_vander(): argument 'N' must be int, not {type(N).__name__}")
    n = x.shape[-1] if N is None else int(N)
    if n <= 1:
        raise RuntimeError(f"linalg.vander: N must be greater than 1 (got {n}).")
    ones = P.zeros_like(x.unsqueeze(-1)) + 1
    return cat([ones, x.unsqueeze(-1).expand(tuple(x.shape) + (n - 1,))], -1).cumprod(-1)


@cast_at_entry
def vecdot(x, y, *, dim=-1):
    """sum(x * y, dim) (real: no conjugate); x and y broadcast."""
    op = "linalg.vecdot"
    _tensor("linalg_vecdot", x, "x")
    _tensor("linalg_vecdot", y, "y", 2)
    if x.dtype is not y.dtype:
        raise RuntimeError(f"{op}: Expected x and y to have the same dtype, but found x of type {x.dtype.libtorch} "
                           f"and y of type {y.dtype.libtorch} instead")
    if x.dtype.np.kind != "f":
        raise RuntimeError(f"{op}: Expected a floating point or complex tensor as input. Got {x.dtype.libtorch}")
    with _Named(op):
        return (x * y).sum(dim)


def _positive_int(op_name, name, v):
    if not isinstance(v, numbers.Integral) or isinstance(v, bool):
        raise TypeError(f"{op_name}(): argument '{name}' must be int, not {type(v).__name__}")
    return int(v)


def tensorinv(A, ind=2):
    """The inverse of A seen as a square matrix prod(shape[:ind]) x prod(shape[ind:]); the result has
    shape shape[ind:] + shape[:ind]."""
    op = "linalg.tensorinv"
    _tensor("linalg_tensorinv", A, "input")
    ind = _positive_int("linalg_tensorinv", "ind", ind)
    if ind <= 0:
        raise RuntimeError(f"{op}: Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = math.prod(A.shape[:ind]), math.prod(A.shape[ind:])
    if rows != cols:
        raise RuntimeError(f"{op}: Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {cols} != {rows}")
    with _Named(op), _renamed("inv"):                # (PyTorch's message names "inv" there)
        return inv(A.reshape(rows, cols)).reshape(tuple(A.shape[ind:]) + tuple(A.shape[:ind]))


def tensorsolve(A, other, dims=None):
    """X with tensordot(A, X, X.ndim) = other: X of shape A.shape[other.ndim:] (dims of A first moved to
    the end)."""
    op, B = "linalg.tensorsolve", other
    _tensor("linalg_tensorsolve", A)
    _tensor("linalg_tensorsolve", B, "other", 2)
    if dims is not None:
        if not isinstance(dims, (tuple, list)) or not all(isinstance(d, int) and not isinstance(d, bool)
                                                          for d in dims):
            raise TypeError(f"linalg_tensorsolve(): argument 'dims' must be tuple of ints, not {type(dims).__name__}")
        moved = [wrap_dim(d, A.ndim, op) for d in dims]
        A = A.permute(*[d for d in range(A.ndim) if d not in moved], *moved)
    rows, cols = B.numel(), math.prod(A.shape[B.ndim:])
    if math.prod(A.shape[:B.ndim]) != rows or rows != cols:
        raise RuntimeError(f"{op}: Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
                           f"prod(self.shape[:other.ndim]), but got {cols} != {math.prod(A.shape[:B.ndim])} "
                           f"(A {list(A.shape)}, B {list(B.shape)})")
    with _Named(op):
        return solve(A.reshape(rows, cols), B.reshape(rows)).reshape(A.shape[B.ndim:])


def cond(A, p=None):
    """The condition number in the p-norm: s_max / s_min for None / 2 (-2: its inverse), else
    norm(A, p) * norm(inv(A), p) (square A; inf where A is singular)."""
    op = "linalg.cond"
    _tensor("linalg_cond", A)
    if p is not None and not isinstance(p, (str, numbers.Real)):
        raise TypeError(f"linalg_cond(): argument 'p' must be Number or str, not {type(p).__name__}")
    if p not in (None, 2, -2, "fro", "nuc", math.inf, -math.inf, 1, -1):
        raise RuntimeError(f"{op} got an invalid norm type: {p}")
    if A.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor must have at least 2 dimensions.")
    if p in (None, 2, -2):
        _matrices(A, "linalg.svd", square=False)
        if A.numel() == 0:
            return Tensor._make(np.zeros_like(A._data, shape=A.shape[:-2]), A._backend)
        s = svdvals(A)
        big, small = s[..., 0], s[..., -1]
        return big / small if p != -2 else small / big
    _matrices(A, f"{op}(ord={p})")
    if A.numel() == 0:
        return Tensor._make(np.zeros_like(A._data, shape=A.shape[:-2]), A._backend)
    inverse_, info = inv_ex(A)
    c = matrix_norm(A, p) * matrix_norm(inverse_, p)
    return where(info != 0, math.inf, c)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """The diagonal (offset) of A over dim1 and dim2 (a view)."""
    _tensor("linalg_diagonal", A)
    return A.diagonal(offset, dim1, dim2)


def matmul(input, other):
    """input @ other (ag.matmul)."""
    _tensor("linalg_matmul", input, "input")
    _tensor("linalg_matmul", other, "other", 2)
    with _Named("linalg.matmul"):
        return _matmul(input, other)


# ---- Householder reflectors (geqrf, householder_product / orgqr, ormqr), cholesky_solve / inverse -----------

GeqrfResult = collections.namedtuple("geqrf", ["a", "tau"])


def _mT(x):
    return x.mT if isinstance(x, Tensor) else np.swapaxes(x, -1, -2)


def _householder_vectors(a, k):
    """v_1 .. v_k as the columns of an m x k matrix: a's strictly lower part with ones on the diagonal
    (LAPACK's convention: what geqrf leaves on and above the diagonal is not read)."""
    m = a.shape[-2]
    if isinstance(a, Tensor):
        return a[..., :, :k].tril(-1) + Tensor._make(a._backend.xp.eye(m, k, dtype=a._data.dtype), a._backend)
    xp = _xp(a)
    return xp.tril(a[..., :, :k], -1) + xp.eye(m, k, dtype=a.dtype)


def _reflect(v, tau, i, c):
    """H_i c = c - tau_i v_i (v_i^T c): one reflector applied without forming it."""
    vi = v[..., :, i:i + 1]
    return c - tau[..., i, None, None] * (vi @ (_mT(vi) @ c))


def _apply_reflectors(v, tau, c, order, trailing=False):
    """H_order[0] ... H_order[-1] c on arrays (a new array). As LAPACK's orm2r / org2r, H_i touches only
    rows i: (v_i is zero above), and with `trailing` (c the identity's first columns, reflectors in
    increasing order) only columns i: too (the columns before are still e_j there): no work, and no NaN
    of v_i spread through those zeros."""
    c = c.copy()
    for i in reversed(order):
        vi, t = v[..., i:, i:i + 1], tau[..., i, None, None]
        cols = slice(i + 1 if trailing else 0, None)
        block = c[..., i:, cols]
        c[..., i:, cols] = block - t * (vi @ (_mT(vi) @ block))
        if trailing:                         # column i is e_i there: H_i e_i = e_i - tau_i v_i
            c[..., i:, i:i + 1] = -t * vi
            c[..., i, i] += 1
    return c


def _reflectors_grad(g, a, tau, c, order):
    """The gradients in a, tau and c of out = H_order[0] ... H_order[-1] c from out's gradient g, in Tensor
    ops (so they differentiate again). Walking down the product, g becomes the gradient of what the next
    reflector is applied to; that operand (the product of the later reflectors with c) is recomputed."""
    k = tau.shape[-1]
    if k == 0 or not order:
        return P.zeros_like(a), P.zeros_like(tau), g
    v = _householder_vectors(a, k)
    operands = [c]
    for i in reversed(order[1:]):
        operands.append(_reflect(v, tau, i, operands[-1]))
    operands.reverse()
    gv, gtau = [None] * k, [None] * k
    for i, s in zip(order, operands):
        vi, t = v[..., :, i:i + 1], tau[..., i, None, None]
        vg, vs = vi.mT @ g, vi.mT @ s
        gtau[i] = -(vg * vs).sum((-2, -1))
        gv[i] = -t * (g @ vs.mT + s @ vg.mT)
        g = g - t * (vi @ vg)
    ga = cat(gv, -1).tril(-1)
    if a.shape[-1] > k:                      # (columns past tau's length are not read)
        ga = cat([ga, P.zeros_like(a[..., k:])], -1)
    return ga, cat([x.unsqueeze(-1) for x in gtau], -1), g


class HouseholderProduct(_Lin):
    """The first n columns of H_1 ... H_k (m x n, k = tau's length)."""
    _name, op_name = "LinalgHouseholderProductBackward0", "linalg.householder_product"
    save_inputs = (0, 1)

    def forward(self, a, tau):
        xp = _xp(a)
        eye = xp.broadcast_to(xp.eye(*a.shape[-2:], dtype=a.dtype), a.shape)
        k = tau.shape[-1]
        return _apply_reflectors(_householder_vectors(a, k), tau, eye, range(k), trailing=True)

    def grad(self, g, a, tau):
        m, n = a.shape[-2:]
        eye = Tensor._make(a._backend.xp.eye(m, n, dtype=a._data.dtype), a._backend)
        ga, gtau, _ = _reflectors_grad(g, a, tau, eye, list(range(tau.shape[-1])))
        return ga, gtau


class Ormqr(_Lin):
    """op(Q) C (left) or C op(Q), Q = H_1 ... H_k (m x m), op transposing with `transpose`."""
    _name, op_name = "OrmqrBackward0", "ormqr"
    save_inputs = (0, 1, 2)

    def forward(self, a, tau, c, left, transpose):
        self.left = left
        # Q^T = H_k ... H_1; C Q = (Q^T C^T)^T: the reflectors run backwards when left == transpose
        self.order = list(range(tau.shape[-1]))[::-1 if left == transpose else 1]
        out = _apply_reflectors(_householder_vectors(a, tau.shape[-1]), tau, c if left else _mT(c), self.order)
        return out if left else _mT(out).copy()

    def grad(self, g, a, tau, c):
        if not self.left:
            g, c = g.mT, c.mT
        ga, gtau, gc = _reflectors_grad(g, a, tau, c, self.order)
        return ga, gtau, (gc if self.left else gc.mT)


class Geqrf(Op):
    """LAPACK's geqrf: R on and above the diagonal, the reflectors' vectors below, and their tau."""
    _name, op_name = "GeqrfBackward0", "geqrf"

    def forward(self, a):
        h, tau = np.linalg.qr(a, mode="raw")         # (h is the factor transposed: LAPACK's column order)
        return np.swapaxes(h, -1, -2).astype(a.dtype, order="C"), tau.astype(a.dtype)

    def backward(self, grads):
        raise NotImplementedError("the derivative for 'geqrf' is not implemented.")


def _cholesky_solve_arrays(low, b, upper):
    """X with A X = B, A = L L^T (or U^T U): two substitutions reading only the factor's triangle."""
    first, second = (_mT(low), low) if upper else (low, _mT(low))
    return _substitute(second, _substitute(first, b, False, False), True, False)


class CholeskySolve(_Lin):
    _name, op_name = "CholeskySolveBackward0", "cholesky_solve"
    save_inputs = (1,)
    save_result = True

    def forward(self, b, low, upper):
        self.upper = upper
        return _cholesky_solve_arrays(low, b, upper)

    def grad(self, g, low, x):
        # derivatives.yaml's: the factor's gradient is a full matrix, its other triangle included
        gb = cholesky_solve(g, low, self.upper)
        if not self.needs(1):
            return gb, None
        common = gb @ x.mT
        common = common + common.mT
        return gb, -(low @ common) if self.upper else -(common @ low)


def _cholesky_inverse_error(low):
    zero = _host(np.diagonal(low, 0, -2, -1) == 0).reshape(-1, low.shape[-1])
    i = int(np.flatnonzero(zero.any(-1))[0])
    prefix = _batch_prefix(low, i)
    return LinAlgError(f"cholesky_inverse: {prefix}The diagonal element {int(np.argmax(zero[i])) + 1} is zero, "
                        f"the inversion could not be completed because the input matrix is singular.")


class CholeskyInverse(_Lin):
    _name, op_name = "CholeskyInverseBackward0", "cholesky_inverse"
    save_inputs = (0,)
    save_result = True

    def forward(self, low, upper):
        self.upper = upper
        if bool((np.diagonal(low, 0, -2, -1) == 0).any()):     # (potri's check: an exactly zero pivot)
            raise _cholesky_inverse_error(low)
        xp = _xp(low)
        eye = xp.broadcast_to(xp.eye(low.shape[-1], dtype=low.dtype), low.shape)
        t = _substitute(low, eye, upper, False)                 # L^-1 (U^-1)
        return t @ _mT(t) if upper else _mT(t) @ t

    def grad(self, g, low, inverse):
        common = inverse @ (g + g.mT) @ inverse
        return -(low @ common) if self.upper else -(common @ low)

    @staticmethod
    def jvp(inverse, inputs, tangents, upper):
        # the derivative of the function, which reads the factor's triangle only (the transposed backward, as
        # PyTorch's backward, reads the other half too; PyTorch's forward formula reads it from the factor)
        (low,), (t,) = inputs, tangents
        factor, dfactor = (low.mT.tril(), t.mT.tril()) if upper else (low.tril(), t.tril())
        partial = -(inverse @ factor @ dfactor.mT @ inverse)
        return partial + partial.mT


def _lapack_dtype(op_name, kernel, t):
    if t._data.dtype.kind != "f" or t._data.dtype.itemsize < 4:
        raise NotImplementedError(f"{op_name}: \"{kernel}\" not implemented for '{t.dtype.libtorch}'")


def _last_dim(op_name, t):
    if t.ndim == 0:
        raise IndexError(f"{op_name}: Dimension specified as -1 but tensor has no dimensions")
    return t.shape[-1]


def _tau_batch(op_name, A, tau):
    if tau.ndim != A.ndim - 1:
        raise RuntimeError(f"{op_name}: Expected tau to have one dimension less than input, but got tau.ndim equal "
                           f"to {tau.ndim} and input.ndim is equal to {A.ndim}")
    if A.ndim > 2 and tuple(tau.shape[:-1]) != tuple(A.shape[:-2]):
        raise RuntimeError(f"{op_name}: Expected batch dimensions of tau to be equal to input.shape[:-2], but got "
                           f"{list(tau.shape[:-1])}")


def householder_product(input, tau):
    """The first n columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^T with v_i input's column i below the
    diagonal (1 on it): Q of linalg.qr from geqrf's output. input (*, m, n), m >= n >= k = tau's length."""
    op, A = "torch.linalg.householder_product", input
    _tensor("linalg_householder_product", A, "input")
    _tensor("linalg_householder_product", tau, "tau", 2)
    if A.ndim < 2:
        raise RuntimeError(f"{op}: input must have at least 2 dimensions.")
    if A.shape[-2] < A.shape[-1]:
        raise RuntimeError(f"{op}: input.shape[-2] must be greater than or equal to input.shape[-1]")
    if A.shape[-1] < _last_dim(op, tau):
        raise RuntimeError(f"{op}: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    _tau_batch(op, A, tau)
    if tau.dtype is not A.dtype:
        raise RuntimeError(f"{op}: tau dtype {tau.dtype.libtorch} does not match input dtype {A.dtype.libtorch}")
    if A._backend is not tau._backend:
        raise device_mismatch(op, A, tau)
    _lapack_dtype(op, "orgqr", A)
    return HouseholderProduct.applyN((A, tau))


def orgqr(input, input2):
    """torch.orgqr: linalg.householder_product(input, input2)."""
    _tensor("orgqr", input, "input")
    _tensor("orgqr", input2, "input2", 2)
    return householder_product(input, input2)


def geqrf(input):
    """(a, tau) as LAPACK's geqrf: R on and above a's diagonal, the Householder vectors below it, tau
    their scalars (householder_product(a, tau) is Q). No derivative, as PyTorch's."""
    _tensor("geqrf", input, "input")
    if input.ndim < 2:
        raise RuntimeError("torch.geqrf: input must have at least 2 dimensions.")
    _lapack_dtype("torch.geqrf", "geqrf", input)
    return GeqrfResult(*Geqrf.applyN((input,)))


def ormqr(input, input2, input3, left=True, transpose=False):
    """Q C (left) or C Q, Q^T with transpose, Q = H_1 ... H_k (m x m) given as geqrf's (input, tau = input2);
    C = input3. No broadcasting: the batch dims are input's."""
    op, A, tau, C = "torch.ormqr", input, input2, input3
    for pos, (name, t) in enumerate((("input", A), ("input2", tau), ("input3", C)), 1):
        _tensor("ormqr", t, name, pos)
    _flag("ormqr", "left", left)
    _flag("ormqr", "transpose", transpose)
    for name, t in (("input", A), ("other", C)):
        if t.ndim < 2:
            raise RuntimeError(f"{op}: {name} must have at least 2 dimensions.")
    side = -2 if left else -1
    if C.shape[side] != A.shape[-2]:
        raise RuntimeError(f"{op}: other.shape[{side}] must be equal to input.shape[-2]")
    if min(C.shape[side], A.shape[-1]) != _last_dim(op, tau):
        raise RuntimeError(f"{op}: tau.shape[-1] must be equal to min(other.shape[{side}], input.shape[-1])")
    _tau_batch(op, A, tau)
    if C.ndim != A.ndim:
        raise RuntimeError(f"{op}: Expected other to have the same number of dimensions as input, but got "
                           f"other.ndim equal to {C.ndim} and input.ndim is equal to {A.ndim}")
    if tuple(C.shape[:-2]) != tuple(A.shape[:-2]):
        raise RuntimeError(f"{op}: Expected batch dimensions of other to be equal to input.shape[:-2], but got "
                           f"{list(C.shape[:-2])}")
    for name, t in (("tau", tau), ("other", C)):       # (PyTorch's text, its missing space included)
        if t.dtype is not A.dtype:
            raise RuntimeError(f"{op}: Expected input and {name} to have the same dtype, but input has dtype"
                               f"{A.dtype.libtorch} and {name} has dtype {t.dtype.libtorch}")
        if t._backend is not A._backend:
            raise device_mismatch(op, A, t)
    _lapack_dtype(op, "ormqr", A)
    return Ormqr.applyN((A, tau, C), bool(left), bool(transpose))


def _broadcast_error(op_name, a, b):
    """PyTorch's infer_size message for two batch shapes that do not broadcast (None when they do)."""
    ndim = max(len(a), len(b))
    for i in range(ndim - 1, -1, -1):
        off = ndim - 1 - i
        sa = a[len(a) - 1 - off] if len(a) - 1 - off >= 0 else 1
        sb = b[len(b) - 1 - off] if len(b) - 1 - off >= 0 else 1
        if sa != sb and 1 not in (sa, sb):
            return RuntimeError(f"{op_name}: The size of tensor a ({sa}) must match the size of tensor b ({sb}) "
                                f"at non-singleton dimension {i}")
    return None


def cholesky_solve(input, input2, upper=False):
    """X with A X = B for B = input and A = L L^T, L = input2 lower triangular (A = U^T U, U upper, with
    upper=True); only that triangle is read. Batch dims broadcast."""
    op, B, L = "cholesky_solve", input, input2
    _tensor(op, B, "input")
    _tensor(op, L, "input2", 2)
    _flag(op, "upper", upper)
    for name, t in (("b", B), ("u", L)):
        if t.ndim < 2:
            raise RuntimeError(f"{op}: {name} should have at least 2 dimensions, but has {t.ndim} dimensions instead")
    if B._backend is not L._backend:
        raise RuntimeError(f"{op}: Expected b and A to be on the same device, but found b on {B.device} and A on "
                           f"{L.device} instead.")
    if B.dtype is not L.dtype:
        raise RuntimeError(f"{op}: Expected b and A to have the same dtype, but found b of type {B.dtype.libtorch} "
                           f"and A of type {L.dtype.libtorch} instead.")
    n = L.shape[-1]
    if L.shape[-2] != n:
        raise RuntimeError(f"{op}: A must be batches of square matrices, but they are {L.shape[-2]} by {n} matrices")
    if B.shape[-2] != n:
        raise RuntimeError(f"Incompatible matrix sizes for {op}: each A matrix is {n} by {n} but each b matrix is "
                           f"{B.shape[-2]} by {B.shape[-1]}")
    bad = _broadcast_error(op, tuple(B.shape[:-2]), tuple(L.shape[:-2]))
    if bad is not None:
        raise bad
    _lapack_dtype(op, "cholesky_solve", B)
    return CholeskySolve.applyN((B, L), bool(upper))


def cholesky_inverse(input, upper=False):
    """(L L^T)^-1 (or (U^T U)^-1 with upper=True) from the Cholesky factor: only its triangle is read; an
    exactly zero diagonal entry raises, as LAPACK's potri."""
    op, L = "cholesky_inverse", input
    _tensor(op, L, "input")
    _flag(op, "upper", upper)
    if L.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    if L.shape[-1] != L.shape[-2]:
        raise RuntimeError(f"{op}: A must be batches of square matrices, but they are {L.shape[-2]} by "
                           f"{L.shape[-1]} matrices")
    _lapack_dtype(op, "cholesky_inverse", L)
    return CholeskyInverse.apply1(L, bool(upper))


# ---- LDL^T with Bunch-Kaufman pivoting (ldl_factor, ldl_factor_ex, ldl_solve) -------------------------------
# LAPACK's sytrf / sytrs with uplo='L', as PyTorch calls them: a host loop over the matrices of the batch
# (on CUDA too: the arrays go to the host and back). LD holds L's strictly lower part and D's blocks on and
# below the diagonal, zeros above; pivots are sytrf's ipiv (1-based; a 2x2 block k, k+1 has both negative).

LdlFactorResult = collections.namedtuple("linalg_ldl_factor", ["LD", "pivots"])
LdlFactorExResult = collections.namedtuple("linalg_ldl_factor_ex", ["LD", "pivots", "info"])

_BK_ALPHA = (1 + math.sqrt(17)) / 8       # Bunch-Kaufman's threshold: bounds the growth of L's entries


def _amax_lapack(v):
    """(index, |v[index]|) of BLAS idamax's choice: the first largest |v_i| (a NaN only in first place)."""
    a = np.abs(v)
    if a.size == 0:
        return 0, 0.0
    i = 0 if np.isnan(a[0]) else int(np.argmax(np.where(np.isnan(a), -1, a)))
    return i, a[i]


def _larger(x, y):
    """max as x86's maxsd (and so MKL's sytrf): y where either is NaN."""
    return x if x > y else y


def _sym_update(w, lo, rows_a, cols_a, rows_b=None, cols_b=None):
    """w[lo:, lo:] -= rows_a cols_a^T (+ rows_b cols_b^T), computed as sytf2's lower triangle (entry (i, j)
    from row i and column j) and mirrored, so the working copy stays exactly symmetric."""
    upd = w[lo:, lo:] - rows_a[:, None] * cols_a[None, :]
    if rows_b is not None:
        upd = upd - rows_b[:, None] * cols_b[None, :]
    low = np.tril(upd)
    w[lo:, lo:] = low + np.tril(upd, -1).T


def _bunch_kaufman_step(w, k):
    """(kp, kstep) of sytf2 at column k (0-based) of the symmetric working copy w; kp < 0: a zero column."""
    n = w.shape[0]
    absakk = abs(w[k, k])
    i, colmax = _amax_lapack(w[k + 1:, k])        # (the last column has nothing below: colmax 0)
    imax = k + 1 + i
    if _larger(absakk, colmax) == 0:
        return -1, 1
    if absakk >= _BK_ALPHA * colmax:
        return k, 1
    rowmax = _amax_lapack(w[imax, k:imax])[1]
    if imax < n - 1:
        rowmax = _larger(rowmax, _amax_lapack(w[imax + 1:, imax])[1])
    if absakk >= _BK_ALPHA * colmax * (colmax / rowmax):
        return k, 1
    if abs(w[imax, imax]) >= _BK_ALPHA * rowmax:
        return imax, 1
    return imax, 2


def _sytrf_lower(a):
    """(LD, ipiv, info) of one matrix (its lower triangle read), as LAPACK's sytf2 with uplo='L' in MKL's
    variant (a NaN diagonal is no zero pivot; a zero column is left as it is and sets info)."""
    n = a.shape[0]
    w = np.tril(a) + np.tril(a, -1).T             # the symmetric matrix, updated in full
    ld = np.zeros_like(a)
    ipiv = np.zeros(n, np.int32)
    info, k = 0, 0
    while k < n:
        kp, kstep = _bunch_kaufman_step(w, k)
        if kp < 0:
            info = info or k + 1
            ld[k:, k] = w[k:, k]
            ipiv[k] = k + 1
            k += 1
            continue
        kk = k + kstep - 1
        if kp != kk:                               # symmetric interchange of kk and kp in the trailing block
            w[[kk, kp], k:] = w[[kp, kk], k:]
            w[k:, [kk, kp]] = w[k:, [kp, kk]]
        if kstep == 1:
            x = w[k + 1:, k]
            r = 1 / w[k, k]
            _sym_update(w, k + 1, x, np.where(x != 0, r * x, 0))     # (dsyr skips zero columns)
            ld[k, k], ld[k + 1:, k] = w[k, k], x * r
            ipiv[k] = kp + 1
        else:
            d21 = w[k + 1, k]
            d11, d22 = w[k + 1, k + 1] / d21, w[k, k] / d21
            d21 = (1 / (d11 * d22 - 1)) / d21
            ak, ak1 = w[k + 2:, k], w[k + 2:, k + 1]
            wk, wkp1 = d21 * (d11 * ak - ak1), d21 * (d22 * ak1 - ak)
            _sym_update(w, k + 2, ak, wk, ak1, wkp1)
            ld[k:k + 2, k:k + 2] = np.tril(w[k:k + 2, k:k + 2])
            ld[k + 2:, k], ld[k + 2:, k + 1] = wk, wkp1
            ipiv[k] = ipiv[k + 1] = -(kp + 1)
        k += kstep
    return ld, ipiv, info


def _ldl_factor_arrays(a):
    """sytrf over the batch of a (host arrays in, host arrays out)."""
    n = a.shape[-1]
    mats = a.reshape((math.prod(a.shape[:-2]), n, n))
    ld, piv = np.zeros_like(mats), np.zeros(mats.shape[:2], np.int32)
    info = np.zeros(len(mats), np.int32)
    with np.errstate(all="ignore"):
        for i, m in enumerate(mats):
            ld[i], piv[i], info[i] = _sytrf_lower(m)
    return ld.reshape(a.shape), piv.reshape(a.shape[:-1]), info.reshape(a.shape[:-2])


def _swap(x, i, j):
    if i != j:
        x[[i, j]] = x[[j, i]]


def _sytrs_lower(ld, ipiv, b):
    """X with A X = B from sytrf's (LD, ipiv) of A, as LAPACK's sytrs with uplo='L' (only LD's lower
    triangle is read; a zero pivot gives inf / NaN, no error)."""
    n, x, k = ld.shape[0], b.copy(), 0
    while k < n:                                   # L D Y = P^T B
        if ipiv[k] > 0:
            _swap(x, k, ipiv[k] - 1)
            x[k + 1:] -= ld[k + 1:, k, None] * x[k]
            x[k] /= ld[k, k]
            k += 1
            continue
        _swap(x, k + 1, -ipiv[k + 1] - 1)
        x[k + 2:] -= ld[k + 2:, k, None] * x[k]
        x[k + 2:] -= ld[k + 2:, k + 1, None] * x[k + 1]
        akm1k = ld[k + 1, k]
        akm1, ak = ld[k, k] / akm1k, ld[k + 1, k + 1] / akm1k
        denom = akm1 * ak - 1
        bkm1, bk = x[k] / akm1k, x[k + 1] / akm1k
        x[k], x[k + 1] = (ak * bkm1 - bk) / denom, (akm1 * bk - bkm1) / denom
        k += 2
    k = n - 1
    while k >= 0:                                  # L^T P^T X = Y
        x[k] -= ld[k + 1:, k] @ x[k + 1:]
        if ipiv[k] > 0:
            _swap(x, k, ipiv[k] - 1)
            k -= 1
            continue
        x[k - 1] -= ld[k + 1:, k - 1] @ x[k + 1:]
        _swap(x, k, -ipiv[k] - 1)
        k -= 2
    return x


def _ldl_solve_arrays(ld, piv, b):
    batch = np.broadcast_shapes(ld.shape[:-2], b.shape[:-2])
    n = ld.shape[-1]
    ld = np.broadcast_to(ld, batch + ld.shape[-2:])
    piv = np.broadcast_to(piv, batch + piv.shape[-1:])
    b = np.broadcast_to(b, batch + b.shape[-2:])
    x = np.empty(batch + b.shape[-2:], b.dtype)
    with np.errstate(all="ignore"):
        for i in np.ndindex(*batch):
            x[i] = _sytrs_lower(ld[i], piv[i].astype(np.int64), b[i]) if n else b[i]
    return x


class LdlFactor(NoDerivative):
    """PyTorch records ldl_factor_ex without a derivative: LD requires grad, its backward raises."""
    op_name, aten = "linalg.ldl_factor_ex", "linalg_ldl_factor_ex"
    nondiff_outputs = (1, 2)

    def forward(self, a):
        xp = _xp(a)
        return tuple(xp.asarray(r) for r in _ldl_factor_arrays(_host(a)))


class LdlSolve(NoDerivative):
    op_name, aten = "linalg.ldl_solve", "linalg_ldl_solve"

    def forward(self, ld, b, piv):
        return _xp(b).asarray(_ldl_solve_arrays(_host(ld), _host(piv), _host(b)))


def _ldl_kernel_dtype(kernel, t):
    if t._data.dtype.itemsize < 4:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{t.dtype.libtorch}'")


def _floating(op_name, t):
    if t._data.dtype.kind not in "fc":
        raise RuntimeError(f"{op_name}: Expected a floating point or complex tensor as input. Got {t.dtype.libtorch}")


def ldl_factor_ex(A, *, hermitian=False, check_errors=False):
    """(LD, pivots, info): the LDL^T factorization with Bunch-Kaufman pivoting of each symmetric matrix (its
    lower triangle read), as LAPACK's sytrf; info > 0 is the first exactly zero diagonal entry of D (1-based).
    Real input: hermitian changes nothing. Not differentiable (as PyTorch's: backward raises)."""
    return _ldl_factor("linalg_ldl_factor_ex", A, hermitian, check_errors, "torch.linalg.ldl_factor_ex")


def ldl_factor(A, *, hermitian=False):
    """(LD, pivots) of ldl_factor_ex, raising (RuntimeError, as PyTorch) where D is exactly singular."""
    LD, piv, _ = _ldl_factor("linalg_ldl_factor", A, hermitian, True, "torch.linalg.ldl_factor")
    return LdlFactorResult(LD, piv)


def _ldl_factor(fn, A, hermitian, check_errors, error_name):
    op = "torch.linalg.ldl_factor_ex"
    _tensor(fn, A, "input")
    _flag(fn, "hermitian", hermitian)
    _flag(fn, "check_errors", check_errors)
    _matrices(A, op, floating=False)
    _floating(op, A)
    _ldl_kernel_dtype("ldl_factor_kernel_cpu", A)
    out = LdlFactorExResult(*LdlFactor.applyN((A,)))
    if check_errors:
        _check_ldl_info(error_name, A, out.info)
    return out


def _check_ldl_info(op_name, A, info):
    # (PyTorch raises an internal assert, "Unknown error code", here: ours says what sytrf's info means)
    failed = _first_info(A, info)
    if failed:
        prefix, k = failed
        raise RuntimeError(f"{op_name}: {prefix}D[{k},{k}] is exactly zero: the factorization was "
                           f"completed, but D is singular and using it on ldl_solve would result in a division "
                           f"by zero (error code: {k}).")


def _check_ldl_pivots(op_name, n, piv):
    """PyTorch's range check of ldl_solve's pivots, and (where PyTorch reads out of bounds) that each
    negative one opens a 2x2 block whose second pivot equals it."""
    p = _host(piv).reshape(math.prod(piv.shape[:-1]), n).astype(np.int64)
    if p.size and not bool((np.abs(p) >= 1).all()):
        raise RuntimeError("Pivots given to ldl_solve must all satisfy |pivot| >= 1. Did you properly pass the "
                           "result of ldl_factor?")
    if p.size and not bool((np.abs(p) <= n).all()):
        raise RuntimeError("Pivots given to ldl_solve must all satisfy |pivot| <= LD.size(-2). Did you properly "
                           "pass the result of ldl_factor?")
    for row in p:
        k = 0
        while k < n:
            if row[k] < 0 and (k + 1 == n or row[k + 1] != row[k]):
                raise RuntimeError(f"{op_name}: pivots[{k}] = {row[k]} opens a 2x2 block of D, so pivots[{k + 1}] "
                                   f"must equal it. Did you properly pass the result of ldl_factor?")
            k += 2 if row[k] < 0 else 1


def ldl_solve(LD, pivots, B, *, hermitian=False):
    """X with A X = B from ldl_factor's (LD, pivots) of A (only LD's lower triangle is read; batch dims of
    LD and B broadcast). Not differentiable (as PyTorch's: backward raises)."""
    op, fn = "torch.linalg.ldl_solve", "linalg_ldl_solve"
    for pos, (name, t) in enumerate((("LD", LD), ("pivots", pivots), ("B", B)), 1):
        _tensor(fn, t, name, pos)
    _flag(fn, "hermitian", hermitian)
    _matrices(LD, op, floating=False)
    if tuple(pivots.shape) != tuple(LD.shape[:-1]):
        raise RuntimeError(f"{op}: Expected LD.shape[:-1] and pivots.shape to be the same, but got pivots with "
                           f"shape {list(pivots.shape)} instead")
    if pivots._data.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: Expected pivots to be integers. Got {pivots.dtype.libtorch}")
    _floating(op, LD)
    for t in (pivots, B):
        if t._backend is not LD._backend:
            raise device_mismatch(op, LD, t)
    if B.dtype is not LD.dtype:
        raise RuntimeError(f"{op}: Expected b and A to have the same dtype, but found b of type {B.dtype.libtorch} "
                           f"and A of type {LD.dtype.libtorch} instead.")
    if B.ndim < 2:
        raise IndexError(f"{op}: Dimension out of range (expected to be in range of [{-max(B.ndim, 1)}, "
                         f"{max(B.ndim, 1) - 1}], but got -2)")
    n = LD.shape[-1]
    if B.shape[-2] != n:
        raise RuntimeError(f"Incompatible matrix sizes for {op}: each A matrix is {n} by {n} but each b matrix is "
                           f"{B.shape[-2]} by {B.shape[-1]}")
    bad = _broadcast_error(op, tuple(B.shape[:-2]), tuple(LD.shape[:-2]))
    if bad is not None:
        raise bad
    _ldl_kernel_dtype("ldl_solve_kernel_cpu", LD)
    _check_ldl_pivots(op, n, pivots._data)
    return LdlSolve.applyN((LD, B), pivots._data)


# the ag.linalg names this module adds beyond autograd_gpu/linalg.py's import list (which should merge it)
LINALG = {
    "lu_factor": lu_factor, "lu_factor_ex": lu_factor_ex, "lu": lu, "lu_solve": lu_solve,
    "solve_triangular": solve_triangular, "matrix_exp": matrix_exp, "inv_ex": inv_ex, "cholesky_ex": cholesky_ex,
    "solve_ex": solve_ex, "vander": vander, "vecdot": vecdot, "tensorinv": tensorinv, "tensorsolve": tensorsolve,
    "cond": cond, "diagonal": diagonal, "matmul": matmul, "householder_product": householder_product,
    "LinAlgError": LinAlgError, "ldl_factor": ldl_factor, "ldl_factor_ex": ldl_factor_ex, "ldl_solve": ldl_solve,
}


# ---- the top-level forms (torch.*) and Tensor methods -----------------------------------

def inverse(input):
    """The inverse of each square matrix (linalg.inv)."""
    return inv(input)


def logdet(input):
    """log det of each square matrix: NaN for a negative determinant."""
    _matrices(input, "logdet")
    sign, logabs = slogdet(input)
    return where(sign < 0, math.nan, logabs)


def slogdet_top(input):
    """(sign, logabsdet) of each square matrix's determinant."""
    return SlogdetTop(*slogdet(input))


def cholesky_top(input, upper=False):
    """torch.cholesky: L, or U = L^T with upper=True."""
    _matrices(input, "cholesky")
    return CholeskyTop.apply1(input, _flag("cholesky", "upper", upper))


def pinverse(input, rcond=1e-15):
    """The pseudo-inverse, singular values <= rcond * s_max dropped."""
    _tensor("linalg.pinv", input)
    if not isinstance(rcond, numbers.Real) or isinstance(rcond, bool):
        raise TypeError(f"pinverse(): argument 'rcond' must be float, not {type(rcond).__name__}")
    return pinv(input, rtol=rcond)


def svd_top(input, some=True, compute_uv=True):
    """torch.svd: (U, S, V) with input = U diag(S) V^T (reduced with some=True);
    without compute_uv, U and V are zeros (full size)."""
    _matrices(input, "linalg.svd", square=False)
    _flag("svd", "some", some)
    if not _flag("svd", "compute_uv", compute_uv):
        s = svdvals(input)
        m, n = input.shape[-2:]
        zeros = lambda k: Tensor._make(np.zeros_like(input._data, shape=input.shape[:-2] + (k, k)),  # noqa: E731
                                       input._backend)
        return SvdTop(zeros(m), s, zeros(n))
    u, s, vh = svd(input, full_matrices=not some)
    return SvdTop(u, s, vh.mT)


def qr_top(input, some=True):
    """torch.qr: (Q, R), reduced with some=True."""
    _tensor("qr", input)
    _flag("qr", "some", some)
    return QrTop(*qr(input, "reduced" if some else "complete"))


# Tensor methods this module adds (attached by ops/methods.py)
METHODS = {
    "inverse": inverse, "det": det, "logdet": logdet, "slogdet": slogdet_top, "cholesky": cholesky_top,
    "matrix_power": matrix_power, "pinverse": pinverse, "svd": svd_top, "qr": qr_top,
    "triangular_solve": triangular_solve, "matrix_exp": matrix_exp, "geqrf": geqrf, "orgqr": orgqr,
    "ormqr": ormqr, "cholesky_solve": cholesky_solve, "cholesky_inverse": cholesky_inverse,
}
# ag.<name> functions this module adds (exported by autograd_gpu/__init__.py)
FUNCTIONS = {name: tensor_function(name, fn) for name, fn in METHODS.items()}
FUNCTIONS["lu_unpack"] = tensor_function("lu_unpack", lu_unpack)
# the methods that have an in-place form (none yet)
INPLACE = {}
