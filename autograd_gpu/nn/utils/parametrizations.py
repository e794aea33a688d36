"""torch.nn.utils.parametrizations: orthogonal, weight_norm and spectral_norm as parametrizations
(nn.utils.parametrize), with PyTorch's state-dict keys: parametrizations.weight.original (orthogonal,
spectral_norm; plus .0.base, or .0._u and .0._v), parametrizations.weight.original0 / original1
(weight_norm's g and v)."""
from enum import Enum, auto

from ... import creation
from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from .. import functional as F
from ..module import Module
from . import parametrize
from .weight_norm import _weight_norm, norm_except_dim

__all__ = ["orthogonal", "weight_norm", "spectral_norm"]

# the names ag.nn.utils itself exports from this module (as torch.nn.utils does: none)
EXPORTS = {}


def _tensor_attribute(module, name, who):
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"{who}: Module '{module}' has no parameter or buffer with name '{name}'")
    return weight


# ---- orthogonal -------------------------------------------------------------------------------------

class _OrthMaps(Enum):
    matrix_exp = auto()
    cayley = auto()
    householder = auto()


def _is_orthogonal(Q):
    import autograd_gpu as ag
    n, k = Q.shape[-2], Q.shape[-1]
    eye = creation.eye(k, dtype=Q.dtype, device=Q.device)
    return bool(ag.allclose(Q.mH @ Q, eye.expand_as(Q.mH @ Q), atol=10.0 * n * ag.finfo(Q.dtype).eps))


def _make_orthogonal(A):
    """The Q of A = QR (A tall) with R's diagonal made non-negative."""
    import autograd_gpu as ag
    X, tau = ag.geqrf(A)
    Q = ag.linalg.householder_product(X, tau)
    return Q * X.diagonal(dim1=-2, dim2=-1).sgn().unsqueeze(-2)


def _skew(X, n, k):
    """A - A^H with A the lower triangle of the tall X (n x k), zero-padded to n x n."""
    import autograd_gpu as ag
    X = X.tril()
    if n != k:
        X = ag.cat([X, X.new_zeros(n, n - k).expand(*X.shape[:-2], -1, -1)], dim=-1)
    return X - X.mH


class _Orthogonal(Module):
    """weight = Q orthogonal (unitary), from an unconstrained tensor by the matrix exponential or
    Cayley map of a skew matrix, or by Householder reflectors; with use_trivialization, Q is
    base @ map(X) and assigning sets `base`."""

    def __init__(self, weight, orthogonal_map, *, use_trivialization=True):
        super().__init__()
        if weight.is_complex() and orthogonal_map == _OrthMaps.householder:
            raise ValueError("The householder parametrization does not support complex tensors.")
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X):
        import autograd_gpu as ag
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X, n, k = X.mT, k, n
        if self.orthogonal_map == _OrthMaps.householder:
            A = X.tril(diagonal=-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = ag.linalg.householder_product(A, tau)
            # X's diagonal (+-1, not learned) flips the columns' signs
            Q = Q * X.diagonal(dim1=-2, dim2=-1).detach().int().unsqueeze(-2)
        else:
            A = _skew(X, n, k)
            if self.orthogonal_map == _OrthMaps.matrix_exp:
                Q = ag.linalg.matrix_exp(A)
            else:       # Cayley: (I - A/2)^{-1} (I + A/2)
                eye = creation.eye(n, dtype=A.dtype, device=A.device)
                Q = ag.linalg.solve(eye - 0.5 * A, eye + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        if hasattr(self, "base"):
            Q = self.base @ Q
        return Q.mT if transposed else Q

    def right_inverse(self, Q):
        with no_grad():
            return self._right_inverse(Q)

    def _right_inverse(self, Q):
        import autograd_gpu as ag
        if Q.shape != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                             f"Got a tensor of shape {Q.shape}.")
        Q_init = Q
        n, k = Q.shape[-2], Q.shape[-1]
        transpose = n < k
        if transpose:
            Q, n, k = Q.mT, k, n
        if not hasattr(self, "base"):
            if self.orthogonal_map != _OrthMaps.householder:
                raise NotImplementedError("It is not possible to assign to the matrix exponential or the Cayley "
                                          "parametrizations when use_trivialization=False.")
            return self._householder_reflectors(Q, transpose)
        if n == k:
            Q = Q.clone() if _is_orthogonal(Q) else _make_orthogonal(Q)
        else:       # complete Q to an n x n orthogonal matrix
            N = ag.randn(*Q.shape[:-2], n, n - k, dtype=Q.dtype, device=Q.device)
            Q = _make_orthogonal(ag.cat([Q, N], dim=-1))
        self.base = Q
        # -I: householder of zeros is then I (the Householder map reads the diagonal's signs)
        neg_eye = ag.zeros_like(Q_init)
        neg_eye.diagonal(dim1=-2, dim2=-1).fill_(-1.0)
        return neg_eye

    @staticmethod
    def _householder_reflectors(Q, transpose):
        """geqrf's reflectors of Q, the diagonal replaced by the signs of R's diagonal (-1 where
        LAPACK skipped a reflection: tau == 0)."""
        import autograd_gpu as ag
        A, tau = ag.geqrf(Q)
        diag = A.diagonal(dim1=-2, dim2=-1)
        signs = diag.sign()
        diag.copy_(ag.where(tau == 0.0, -signs, signs))
        return A.mT if transpose else A


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    """Constrain module.<name> (a matrix or batch of matrices) to be orthogonal (unitary):
    orthogonal_map "matrix_exp" (default for square or complex), "cayley" or "householder"
    (default otherwise). Returns the module."""
    weight = _tensor_attribute(module, name, "orthogonal")
    if weight.ndim < 2:
        raise ValueError(f"orthogonal: Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} "
                         "dimensions.")
    if orthogonal_map is None:
        square = weight.shape[-2] == weight.shape[-1]
        orthogonal_map = "matrix_exp" if square or weight.is_complex() else "householder"
    orth_enum = getattr(_OrthMaps, orthogonal_map, None) if isinstance(orthogonal_map, str) else None
    if orth_enum is None:
        raise ValueError('orthogonal: orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                         f"Got: {orthogonal_map}")
    orth = _Orthogonal(weight, orth_enum, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module


# ---- weight_norm ------------------------------------------------------------------------------------

class _WeightNorm(Module):
    """weight = g * v / ||v|| (norm over every dimension but `dim`; dim -1: over all): original0 is
    g, original1 is v."""

    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight):
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """Reparametrize module.<name> as g * v / ||v|| with g and v the parametrization's original0 and
    original1. Loading a state dict of the old nn.utils.weight_norm (weight_g, weight_v) works too.
    Returns the module."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def load_old_keys(module, state_dict, prefix, local_metadata, strict, missing, unexpected, errors):
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)

    module.register_load_state_dict_pre_hook(load_old_keys)
    return module


# ---- spectral_norm ----------------------------------------------------------------------------------

class _SpectralNorm(Module):
    """weight / sigma, sigma the largest singular value of weight (as a matrix, `dim` first),
    estimated by power iteration on the buffers _u and _v: n_power_iterations steps per call in
    training mode, 15 at registration. A 1-d weight is normalized exactly."""

    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"spectral_norm: Dimension out of range (expected to be in range of [-{ndim}, "
                             f"{ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("spectral_norm: Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            weight_mat = self._reshape_weight_to_matrix(weight)
            h, w = weight_mat.shape
            with no_grad():
                u = weight_mat.new_empty(h).normal_(0, 1)
                v = weight_mat.new_empty(w).normal_(0, 1)
                self.register_buffer("_u", F.normalize(u, dim=0, eps=self.eps))
                self.register_buffer("_v", F.normalize(v, dim=0, eps=self.eps))
            self._power_method(weight_mat, 15)

    def _reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.dim()) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, weight_mat, n_power_iterations):
        """u <- W v / |W v|, v <- W^H u / |W^H u|, in place in the buffers."""
        with no_grad():
            for _ in range(n_power_iterations):
                self._u.copy_(F.normalize(weight_mat.mv(self._v), dim=0, eps=self.eps))
                self._v.copy_(F.normalize(weight_mat.mH.mv(self._u), dim=0, eps=self.eps))

    def forward(self, weight):
        import autograd_gpu as ag
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        # copies: the next call's power iteration writes the buffers in place, and backward needs these
        u, v = self._u.clone(), self._v.clone()
        sigma = ag.vdot(u, weight_mat.mv(v))
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Reparametrize module.<name> as weight / sigma, sigma its spectral norm estimated by power
    iteration (buffers parametrizations.<name>.0._u and _v, started random and refined by 15
    steps). dim (default 0, 1 for ConvTranspose) is the output dimension. Returns the module."""
    weight = _tensor_attribute(module, name, "spectral_norm")
    if dim is None:
        from ..conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
