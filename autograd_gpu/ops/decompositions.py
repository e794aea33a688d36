"""Linear algebra beyond products: inverse, det, slogdet, solve, cholesky, qr,
svd, eigh, pinv, matrix_power, norms (ag.linalg and their top-level forms).

Each decomposition is one node (PyTorch's grad_fn name) whose forward is
NumPy's np.linalg (CuPy's through NEP 18 on CUDA arrays) and whose backward is
derivatives.yaml's formula written once in Tensor ops (`_Lin.grad`), so
create_graph and higher-order gradients follow. The rest (matrix_power, norms,
multi_dot, logdet, ...) is composed of those and of the other ops."""
import collections
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
from .linalg import Svd, _eye_like
from .functions import tensor_function

# the result types' names are PyTorch's (torch.return_types.*)
SlogdetResult = collections.namedtuple("linalg_slogdet", ["sign", "logabsdet"])
SlogdetTop = collections.namedtuple("slogdet", ["sign", "logabsdet"])
EighResult = collections.namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])
SvdResult = collections.namedtuple("linalg_svd", ["U", "S", "Vh"])
SvdTop = collections.namedtuple("svd", ["U", "S", "V"])
QrResult = collections.namedtuple("linalg_qr", ["Q", "R"])
QrTop = collections.namedtuple("qr", ["Q", "R"])
LstsqResult = collections.namedtuple("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])


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


def _first_failure(a, fails):
    """(batch prefix, fails(matrix)) of the first matrix of a (host) where fails() is nonzero."""
    mats = _host(a).reshape((-1,) + a.shape[-2:]).astype(np.float64)
    for i, m in enumerate(mats):
        k = fails(m)
        if k:
            return (f"(Batch element {i}): " if a.ndim > 2 else ""), k
    return "", a.shape[-1]          # (only rounding failed: name the last)


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
    return RuntimeError(f"linalg.inv: {prefix}The diagonal element {k} is zero, the inversion could not be "
                        f"completed because the input matrix is singular.")


def _solve_error(a):
    prefix, _ = _first_failure(a, _zero_pivot)
    return RuntimeError(f"torch.linalg.solve: {prefix}The solver failed because the input matrix is singular.")


def _cholesky_error(a):
    prefix, k = _first_failure(a, _not_pd_minor)
    return RuntimeError(f"linalg.cholesky: {prefix}The factorization could not be completed because the input is "
                        f"not positive-definite (the leading minor of order {k} is not positive-definite).")


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
        eye = _eye_like(d, a.shape[-1])
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
        low = _lapack(lambda: np.linalg.cholesky(a), a, d, _cholesky_error)
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
        w, v = np.linalg.eigh(a, UPLO=uplo)
        return w, v

    def grad(self, gl, gv, lam, v):
        if gv is None:
            return (v * gl[..., None, :]) @ v.mT
        eye = _eye_like(lam, lam.shape[-1])
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
            w, v = np.linalg.eigh(a)
            s, u, vt = np.abs(w), v, np.swapaxes(v, -1, -2)
        else:
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
    _name, op_name = "CopyBackwards", "linalg.matrix_power"

    def forward(self, a):
        n = a.shape[-1]
        return np.broadcast_to(np.eye(n, dtype=a.dtype) if isinstance(a, np.ndarray) else
                               _eye_like(a, n).astype(a.dtype), a.shape).copy()

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
        return Solve.applyN((A.mT, Bm.mT)).mT
    x = Solve.applyN((A, Bm))
    return x.squeeze(-1) if vector else x


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
    return SvdResult(*(SvdFull if full_matrices else Svd).applyN((A,)))


def _no_driver(A, driver):
    if driver is not None and not A.is_cuda:
        raise RuntimeError("torch.linalg.svd: keyword argument `driver=` is only supported on CUDA inputs with "
                           "cuSOLVER backend.")


def svdvals(A, *, driver=None):
    """The singular values of each matrix, descending."""
    _matrices(A, "linalg.svdvals", square=False)
    _no_driver(A, driver)
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
    s = np.abs(np.linalg.eigvalsh(a)) if hermitian else np.linalg.svd(a, compute_uv=False)
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
    empty = x.reshape(-1)[:0]           # (on the graph, as PyTorch's empty outputs of its node)
    rank = empty.detach().long() if driver == "gels" else matrix_rank(A, rtol=rtol)
    sv = (svdvals(A) if driver in ("gelsd", "gelss") else empty).detach()     # (no gradient, as PyTorch's)
    res = empty
    if driver != "gelsy" and m > n and bool((matrix_rank(A, rtol=rtol) == n).all()):
        res = ((A @ x - Bm) ** 2).sum(-2)
    return LstsqResult(x.squeeze(-1) if vector else x, res.squeeze(-1) if vector and res.ndim else res, rank, sv)


def matrix_power(A, n):
    """A @ A @ ... (n times; n < 0: of A's inverse; n == 0: identity)."""
    _matrices(A, "linalg.matrix_power", floating=False)
    if not isinstance(n, numbers.Integral) or isinstance(n, bool):
        raise TypeError(f"linalg_matrix_power(): argument 'n' (position 2) must be int, not {type(n).__name__}")
    if n == 0:
        return _Identity.apply1(A)
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
}
# ag.<name> functions this module adds (exported by autograd_gpu/__init__.py)
FUNCTIONS = {name: tensor_function(name, fn) for name, fn in METHODS.items()}
# the methods that have an in-place form (none yet)
INPLACE = {}
