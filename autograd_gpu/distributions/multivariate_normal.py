"""MultivariateNormal(loc, covariance_matrix=None, precision_matrix=None, scale_tril=None):
the Gaussian over vectors, held by the lower Cholesky factor L of its covariance
(L L^T = covariance), reparametrized (loc + L eps)."""
import math

import autograd_gpu as _ag
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution
from .utils import lazy_property, standard_normal

__all__ = ["MultivariateNormal"]


def _lower_solve(L, b):
    """L^{-1} b for lower triangular L (broadcast over batch dims)."""
    return _ag.linalg.solve_triangular(L, b, upper=False)


def _mahalanobis(L, x):
    """x^T (L L^T)^{-1} x over the last dim, broadcast over batch dims."""
    return _lower_solve(L, x.unsqueeze(-1)).squeeze(-1).pow(2).sum(-1)


def _precision_to_scale_tril(P):
    """The lower Cholesky factor of P^{-1}, from the Cholesky factor of P with its rows and columns reversed."""
    Lf = _ag.linalg.cholesky(_ag.flip(P, (-2, -1)))
    L_inv = _ag.flip(Lf, (-2, -1)).mT
    eye = _ag.eye(P.shape[-1], dtype=P.dtype, device=P.device)
    return _lower_solve(L_inv, eye)


def _half_log_det(L):
    return _ag.diagonal(L, dim1=-2, dim2=-1).log().sum(-1)


_MATRIX_ARGS = ("covariance_matrix", "precision_matrix", "scale_tril")
_MATRIX_WORDS = {"scale_tril": "scale_tril matrix", "covariance_matrix": "covariance_matrix",
                 "precision_matrix": "precision_matrix"}


class MultivariateNormal(Distribution):
    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True
    _expand_names = ("loc",) + _MATRIX_ARGS

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        if not isinstance(loc, Tensor):
            raise TypeError(f"MultivariateNormal(): argument 'loc' must be Tensor, not {type(loc).__name__}")
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = {k: v for k, v in zip(_MATRIX_ARGS, (covariance_matrix, precision_matrix, scale_tril))
                 if v is not None}
        if len(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        (name, matrix), = given.items()
        if not isinstance(matrix, Tensor):
            raise TypeError(f"MultivariateNormal(): argument '{name}' must be Tensor, not {type(matrix).__name__}")
        if matrix.dim() < 2:
            raise ValueError(f"{_MATRIX_WORDS[name]} must be at least two-dimensional, with optional leading batch "
                             f"dimensions")
        try:
            batch_shape = tuple(_ag.broadcast_shapes(tuple(matrix.shape[:-2]), tuple(loc.shape[:-1])))
        except (RuntimeError, ValueError):
            raise RuntimeError(f"MultivariateNormal(): the batch shapes of {name} {list(matrix.shape[:-2])} and loc "
                               f"{list(loc.shape[:-1])} do not broadcast") from None
        self.__dict__[name] = matrix.expand(batch_shape + (-1, -1))
        self.loc = loc.expand(batch_shape + (-1,))
        Distribution.__init__(self, batch_shape, tuple(self.loc.shape[-1:]), validate_args=validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = _ag.linalg.cholesky(matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(matrix)

    def _full_matrix_shape(self):
        return self._batch_shape + self._event_shape + self._event_shape

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(self._full_matrix_shape())

    @lazy_property
    def covariance_matrix(self):
        L = self._unbroadcasted_scale_tril
        return (L @ L.mT).expand(self._full_matrix_shape())

    @lazy_property
    def precision_matrix(self):
        L_inv = _lower_solve(self._unbroadcasted_scale_tril, _ag.eye(self._event_shape[0], dtype=self.loc.dtype,
                                                                     device=self.loc.device))
        return (L_inv.mT @ L_inv).expand(self._full_matrix_shape())

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(self._batch_shape + self._event_shape)

    def rsample(self, sample_shape=()):
        eps = standard_normal(self._extended_shape(sample_shape), self.loc.dtype, self.loc.device)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        L = self._unbroadcasted_scale_tril
        M = _mahalanobis(L, value - self.loc)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + M) - _half_log_det(L)

    def entropy(self):
        H = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + _half_log_det(self._unbroadcasted_scale_tril)
        return H if len(self._batch_shape) == 0 else H.expand(self._batch_shape)
