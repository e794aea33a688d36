"""LowRankMultivariateNormal(loc, cov_factor, cov_diag): the Gaussian over vectors whose covariance
is W W^T + diag(D) (W = cov_factor, n x m; D = cov_diag), reparametrized (loc + W eps_m + sqrt(D) eps_n).
Determinant and inverse go through the m x m capacitance C = I + W^T D^-1 W (the matrix determinant
lemma and the Woodbury identity), so nothing n x n is factorized."""
import math

import autograd_gpu as _ag
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution
from .kl import register_kl
from .multivariate_normal import MultivariateNormal, _half_log_det, _mahalanobis
from .utils import lazy_property, standard_normal

__all__ = ["LowRankMultivariateNormal"]


def _capacitance_tril(W, D):
    """The Cholesky factor of I + W^T D^-1 W."""
    m = W.shape[-1]
    K = (W.mT / D.unsqueeze(-2)) @ W
    return _ag.linalg.cholesky(K + _ag.eye(m, dtype=W.dtype, device=W.device))


def _lowrank_logdet(W, D, capacitance_tril):
    """log |W W^T + D| = log |C| + log |D|."""
    return 2 * _half_log_det(capacitance_tril) + D.log().sum(-1)


def _lowrank_mahalanobis(W, D, x, capacitance_tril):
    """x^T (W W^T + D)^-1 x = x^T D^-1 x - |C^-1/2 W^T D^-1 x|^2 (Woodbury)."""
    Wt_Dinv_x = ((W.mT / D.unsqueeze(-2)) @ x.unsqueeze(-1)).squeeze(-1)
    return (x.pow(2) / D).sum(-1) - _mahalanobis(capacitance_tril, Wt_Dinv_x)


def _trace_XXT(X):
    return X.pow(2).sum((-2, -1))


def _require_tensor(name, value):
    if not isinstance(value, Tensor):
        raise TypeError(f"LowRankMultivariateNormal(): argument '{name}' must be Tensor, not {type(value).__name__}")


class LowRankMultivariateNormal(Distribution):
    arg_constraints = {"loc": constraints.real_vector, "cov_factor": constraints.independent(constraints.real, 2),
                       "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None):
        for name, value in (("loc", loc), ("cov_factor", cov_factor), ("cov_diag", cov_diag)):
            _require_tensor(name, value)
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        event_shape = tuple(loc.shape[-1:])
        if cov_factor.dim() < 2:
            raise ValueError("cov_factor must be at least two-dimensional, with optional leading batch dimensions")
        if tuple(cov_factor.shape[-2:-1]) != event_shape:
            raise ValueError(f"cov_factor must be a batch of matrices with shape {event_shape[0]} x m")
        if tuple(cov_diag.shape[-1:]) != event_shape:
            raise ValueError(f"cov_diag must be a batch of vectors with shape {event_shape}")
        try:
            loc_, self.cov_factor, cov_diag_ = _ag.broadcast_tensors(loc.unsqueeze(-1), cov_factor,
                                                                     cov_diag.unsqueeze(-1))
        except (RuntimeError, ValueError):
            raise ValueError(f"Incompatible batch shapes: loc {tuple(loc.shape)}, cov_factor "
                             f"{tuple(cov_factor.shape)}, cov_diag {tuple(cov_diag.shape)}") from None
        self.loc, self.cov_diag = loc_[..., 0], cov_diag_[..., 0]
        self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag = cov_factor, cov_diag
        self._capacitance_tril = _capacitance_tril(cov_factor, cov_diag)
        Distribution.__init__(self, tuple(self.loc.shape[:-1]), event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LowRankMultivariateNormal, _instance)
        loc_shape = tuple(batch_shape) + self._event_shape
        new.loc, new.cov_diag = self.loc.expand(loc_shape), self.cov_diag.expand(loc_shape)
        new.cov_factor = self.cov_factor.expand(loc_shape + tuple(self.cov_factor.shape[-1:]))
        new._unbroadcasted_cov_factor = self._unbroadcasted_cov_factor
        new._unbroadcasted_cov_diag = self._unbroadcasted_cov_diag
        new._capacitance_tril = self._capacitance_tril
        Distribution.__init__(new, tuple(batch_shape), self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _full_matrix_shape(self):
        return self._batch_shape + self._event_shape + self._event_shape

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @lazy_property
    def variance(self):
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        return (W.pow(2).sum(-1) + D).expand(self._batch_shape + self._event_shape)

    @lazy_property
    def scale_tril(self):
        """sqrt(D) chol(I + D^-1/2 W W^T D^-1/2): the Cholesky factor of the covariance."""
        n = self._event_shape[0]
        sqrt_D = self._unbroadcasted_cov_diag.sqrt().unsqueeze(-1)
        Dinvsqrt_W = self._unbroadcasted_cov_factor / sqrt_D
        K = Dinvsqrt_W @ Dinvsqrt_W.mT + _ag.eye(n, dtype=sqrt_D.dtype, device=sqrt_D.device)
        return (sqrt_D * _ag.linalg.cholesky(K)).expand(self._full_matrix_shape())

    @lazy_property
    def covariance_matrix(self):
        W = self._unbroadcasted_cov_factor
        return (W @ W.mT + _ag.diag_embed(self._unbroadcasted_cov_diag)).expand(self._full_matrix_shape())

    @lazy_property
    def precision_matrix(self):
        """D^-1 - A^T A, A = C^-1/2 W^T D^-1 (Woodbury)."""
        D = self._unbroadcasted_cov_diag
        Wt_Dinv = self._unbroadcasted_cov_factor.mT / D.unsqueeze(-2)
        A = _ag.linalg.solve_triangular(self._capacitance_tril, Wt_Dinv, upper=False)
        return (_ag.diag_embed(D.reciprocal()) - A.mT @ A).expand(self._full_matrix_shape())

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps_W = standard_normal(shape[:-1] + tuple(self.cov_factor.shape[-1:]), self.loc.dtype, self.loc.device)
        eps_D = standard_normal(shape, self.loc.dtype, self.loc.device)
        return self.loc + (self._unbroadcasted_cov_factor @ eps_W.unsqueeze(-1)).squeeze(-1) \
            + self._unbroadcasted_cov_diag.sqrt() * eps_D

    def _logdet(self):
        return _lowrank_logdet(self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag, self._capacitance_tril)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        M = _lowrank_mahalanobis(self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag, value - self.loc,
                                 self._capacitance_tril)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + self._logdet() + M)

    def entropy(self):
        H = 0.5 * (self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + self._logdet())
        return H if len(self._batch_shape) == 0 else H.expand(self._batch_shape)


# ---- KL pairs torch registers: 0.5 (log|S_q| - log|S_p| + tr(S_q^-1 S_p) + M_q(mu_q - mu_p) - n) ----

def _check_event_shapes(p, q, words):
    if p.event_shape != q.event_shape:
        raise ValueError(f"KL-divergence between two {words} with different event shapes cannot be computed")


def _woodbury_factor(q):
    """A = C_q^-1/2 W_q^T D_q^-1, so that S_q^-1 = D_q^-1 - A^T A."""
    Wt_Dinv = q._unbroadcasted_cov_factor.mT / q._unbroadcasted_cov_diag.unsqueeze(-2)
    return _ag.linalg.solve_triangular(q._capacitance_tril, Wt_Dinv, upper=False)


def _lowrank_q_terms(q, p_loc):
    """log|S_q| and the Mahalanobis term of q at its loc - p's."""
    Wq, Dq, Cq = q._unbroadcasted_cov_factor, q._unbroadcasted_cov_diag, q._capacitance_tril
    return _lowrank_logdet(Wq, Dq, Cq), _lowrank_mahalanobis(Wq, Dq, q.loc - p_loc, Cq)


@register_kl(LowRankMultivariateNormal, LowRankMultivariateNormal)
def _kl_lowrankmultivariatenormal_lowrankmultivariatenormal(p, q):
    _check_event_shapes(p, q, "Low Rank Multivariate Normals")
    logdet_q, term3 = _lowrank_q_terms(q, p.loc)
    A = _woodbury_factor(q)
    Wp, Dp, Dq = p._unbroadcasted_cov_factor, p._unbroadcasted_cov_diag, q._unbroadcasted_cov_diag
    term2 = (Dp / Dq).sum(-1) + _trace_XXT(Wp * Dq.rsqrt().unsqueeze(-1)) \
        - _trace_XXT(A * Dp.sqrt().unsqueeze(-2)) - _trace_XXT(A @ Wp)
    return 0.5 * (logdet_q - p._logdet() + term2 + term3 - p.event_shape[0])


@register_kl(MultivariateNormal, LowRankMultivariateNormal)
def _kl_multivariatenormal_lowrankmultivariatenormal(p, q):
    _check_event_shapes(p, q, "(Low Rank) Multivariate Normals")
    logdet_q, term3 = _lowrank_q_terms(q, p.loc)
    A = _woodbury_factor(q)
    Lp = p._unbroadcasted_scale_tril
    term2 = _trace_XXT(Lp * q._unbroadcasted_cov_diag.rsqrt().unsqueeze(-1)) - _trace_XXT(A @ Lp)
    return 0.5 * (logdet_q - 2 * _half_log_det(Lp) + term2 + term3 - p.event_shape[0])


@register_kl(LowRankMultivariateNormal, MultivariateNormal)
def _kl_lowrankmultivariatenormal_multivariatenormal(p, q):
    _check_event_shapes(p, q, "(Low Rank) Multivariate Normals")
    Lq = q._unbroadcasted_scale_tril
    term3 = _mahalanobis(Lq, q.loc - p.loc)
    n, m = p.event_shape[0], p.cov_factor.shape[-1]
    batch = tuple(_ag.broadcast_shapes(tuple(Lq.shape[:-2]), tuple(p._unbroadcasted_cov_factor.shape[:-2])))
    Lq = Lq.expand(batch + (n, n))
    Wp = p._unbroadcasted_cov_factor.expand(batch + (n, m))
    sqrt_Dp = _ag.diag_embed(p._unbroadcasted_cov_diag.sqrt()).expand(batch + (n, n))
    term2 = _trace_XXT(_ag.linalg.solve_triangular(Lq, Wp, upper=False)) \
        + _trace_XXT(_ag.linalg.solve_triangular(Lq, sqrt_Dp, upper=False))
    return 0.5 * (2 * _half_log_det(Lq) - p._logdet() + term2 + term3 - n)
