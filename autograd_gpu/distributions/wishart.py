"""Wishart(df, covariance_matrix=None, precision_matrix=None, scale_tril=None): distributions
of p x p positive definite matrices, held by the lower Cholesky factor L of the scale matrix.
Draws: Bartlett's decomposition, X = (L A)(L A)^T with A lower triangular, A_ii^2 ~ chi2(df - i)
(reparametrized through the gamma draws) and A_ij ~ N(0, 1) below the diagonal."""
import math
import warnings
from numbers import Number

import autograd_gpu as _ag
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution
from .exponential_family import ExponentialFamily
from .gamma import Chi2
from .multivariate_normal import _precision_to_scale_tril
from .utils import lazy_property

__all__ = ["Wishart"]

_LOG_2 = math.log(2)
_MATRIX_ARGS = ("covariance_matrix", "precision_matrix", "scale_tril")


def _mvdigamma(x, p):
    """The multivariate digamma: sum_{i < p} digamma(x - i / 2), defined for x > (p - 1) / 2."""
    if not bool((x > (p - 1) / 2).all().item()):
        raise AssertionError("Wrong domain for multivariate digamma function.")
    return _ag.digamma(x.unsqueeze(-1) - _ag.arange(p, dtype=x.dtype, device=x.device) / 2).sum(-1)


def _bartlett_chi2(df, p, batch_shape):
    """chi2(df - i), i = 0 .. p - 1: the squared diagonal of Bartlett's factor."""
    offsets = _ag.arange(p, dtype=df.dtype, device=df.device).expand(tuple(batch_shape) + (p,))
    return Chi2(df=df.unsqueeze(-1) - offsets)


class Wishart(ExponentialFamily):
    support = constraints.positive_definite
    has_rsample = True

    @property
    def arg_constraints(self):
        return {"covariance_matrix": constraints.positive_definite, "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky, "df": constraints.greater_than(self.event_shape[-1] - 1)}

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        given = [(k, v) for k, v in zip(_MATRIX_ARGS, (covariance_matrix, precision_matrix, scale_tril))
                 if v is not None]
        if len(given) != 1:
            raise AssertionError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        (name, param), = given
        if not isinstance(param, Tensor):
            raise TypeError(f"Wishart(): argument '{name}' must be Tensor, not {type(param).__name__}")
        if param.dim() < 2:
            raise ValueError("scale_tril must be at least two-dimensional, with optional leading batch dimensions")
        if isinstance(df, Number):
            batch_shape = tuple(param.shape[:-2])
            df_tensor = _ag.tensor(float(df), dtype=param.dtype, device=param.device)
        else:
            if not isinstance(df, Tensor):
                raise TypeError(f"Wishart(): argument 'df' must be Tensor or a number, not {type(df).__name__}")
            batch_shape = tuple(_ag.broadcast_shapes(tuple(param.shape[:-2]), tuple(df.shape)))
            df_tensor = df.expand(batch_shape)
        event_shape = tuple(param.shape[-2:])
        p = event_shape[-1]
        if bool((df_tensor <= p - 1).any().item()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        self.df = df_tensor
        self.__dict__[name] = param.expand(batch_shape + (-1, -1))
        if bool((df_tensor < p).any().item()):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur for "
                          "ndim - 1 < df < ndim.", stacklevel=2)
        Distribution.__init__(self, batch_shape, event_shape, validate_args=validate_args)
        self._batch_dims = [-(i + 1) for i in range(len(batch_shape))]
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = param
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = _ag.linalg.cholesky(param)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(param)
        self._dist_chi2 = _bartlett_chi2(self.df, p, batch_shape)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Wishart, _instance)
        batch_shape = tuple(batch_shape)
        matrix_shape = batch_shape + self._event_shape
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(matrix_shape)
        new.df = self.df.expand(batch_shape)
        new._batch_dims = [-(i + 1) for i in range(len(batch_shape))]
        for name in _MATRIX_ARGS:
            if name in self.__dict__:
                new.__dict__[name] = self.__dict__[name].expand(matrix_shape)
        new._dist_chi2 = _bartlett_chi2(new.df, self._event_shape[-1], batch_shape)
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(self._batch_shape + self._event_shape)

    @lazy_property
    def covariance_matrix(self):
        L = self._unbroadcasted_scale_tril
        return (L @ L.mT).expand(self._batch_shape + self._event_shape)

    @lazy_property
    def precision_matrix(self):
        L = self._unbroadcasted_scale_tril
        identity = _ag.eye(self._event_shape[-1], dtype=L.dtype, device=L.device)
        return _ag.cholesky_solve(identity, L).expand(self._batch_shape + self._event_shape)

    @staticmethod
    def _df_matrix(df):
        """df (batch_shape, or 0-d when given as a number) against the matrices' last two dims."""
        return df.unsqueeze(-1).unsqueeze(-1)

    @property
    def mean(self):
        return self._df_matrix(self.df) * self.covariance_matrix

    @property
    def mode(self):
        factor = self.df - self.covariance_matrix.shape[-1] - 1
        factor = _ag.where(factor <= 0, math.nan, factor)          # (no mode for df <= p + 1)
        return self._df_matrix(factor) * self.covariance_matrix

    @property
    def variance(self):
        V = self.covariance_matrix
        diag_V = _ag.diagonal(V, dim1=-2, dim2=-1)
        return self._df_matrix(self.df) * (V.pow(2) + diag_V.unsqueeze(-1) * diag_V.unsqueeze(-2))

    def _bartlett_sampling(self, sample_shape):
        sample_shape = tuple(sample_shape)
        L = self._unbroadcasted_scale_tril
        diagonal = self._dist_chi2.rsample(sample_shape).sqrt().clamp(min=_ag.finfo(L.dtype).eps)
        below = _ag.randn(sample_shape + self._batch_shape + self._event_shape, dtype=L.dtype, device=L.device)
        factor = L @ (_ag.diag_embed(diagonal) + below.tril(-1))
        return factor @ factor.mT

    def _singular(self, sample):
        """Per draw (batch dims reduced): some matrix of the batch is not positive definite."""
        singular = ~self.support.check(sample)
        if 0 in self._batch_shape:                  # (an empty batch has no singular matrix)
            return _ag.zeros(tuple(singular.shape[:len(singular.shape) - len(self._batch_shape)]), dtype=_ag.bool,
                             device=singular.device)
        return singular.amax(tuple(self._batch_dims)) if self._batch_shape else singular

    def rsample(self, sample_shape=(), max_try_correction=None):
        """Draws that come out singular (possible for df near p - 1) are drawn again, up to
        max_try_correction (default 10) times, with a warning; some may stay singular."""
        max_try_correction = 10 if max_try_correction is None else max_try_correction
        sample_shape = tuple(sample_shape)
        sample = self._bartlett_sampling(sample_shape)
        singular = self._singular(sample)
        if singular.numel() and bool(singular.any().item()):
            warnings.warn("Singular sample detected.", stacklevel=2)
            for _ in range(max_try_correction):
                redraw = self._bartlett_sampling(sample_shape)
                keep = singular.reshape(tuple(singular.shape) + (1,) * (len(self._batch_shape) + 2))
                sample = _ag.where(keep, redraw, sample)
                singular = singular & self._singular(redraw)
                if not bool(singular.any().item()):
                    break
        return sample

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        nu, p = self.df, self._event_shape[-1]
        L = self._unbroadcasted_scale_tril
        log_det_L = _ag.diagonal(L, dim1=-2, dim2=-1).log().sum(-1)
        trace = _ag.diagonal(_ag.cholesky_solve(value, L), dim1=-2, dim2=-1).sum(-1)
        return -nu * (p * _LOG_2 / 2 + log_det_L) - _ag.mvlgamma(nu / 2, p) \
            + (nu - p - 1) / 2 * _ag.linalg.slogdet(value).logabsdet - trace / 2

    def entropy(self):
        nu, p = self.df, self._event_shape[-1]
        log_det_L = _ag.diagonal(self._unbroadcasted_scale_tril, dim1=-2, dim2=-1).log().sum(-1)
        return (p + 1) * (p * _LOG_2 / 2 + log_det_L) + _ag.mvlgamma(nu / 2, p) \
            - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p) + nu * p / 2

    # ---- natural parameters (ExponentialFamily) -----------------------------------------------
    _mean_carrier_measure = 0

    @property
    def _natural_params(self):
        return -self.precision_matrix / 2, (self.df - self._event_shape[-1] - 1) / 2

    def _log_normalizer(self, x, y):
        p = self._event_shape[-1]
        return (y + (p + 1) / 2) * (-_ag.linalg.slogdet(-2 * x).logabsdet + _LOG_2 * p) \
            + _ag.mvlgamma(y + (p + 1) / 2, p=p)
