"""StudentT(df, loc=0.0, scale=1.0): Student's t, reparametrized as loc + scale * X / sqrt(Z / df),
X standard normal and Z a Chi2(df) draw."""
import math

import autograd_gpu as _ag
from . import constraints
from .distribution import Distribution
from .gamma import Chi2
from .utils import broadcast_all, standard_normal

__all__ = ["StudentT"]


class StudentT(Distribution):
    arg_constraints = {"df": constraints.positive, "loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True
    _expand_names = ("df", "loc", "scale")

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        Distribution.__init__(self, tuple(self.df.shape), validate_args=validate_args)

    @property
    def _chi2(self):
        return Chi2(self.df, validate_args=False)

    @property
    def mean(self):
        return _ag.where(self.df <= 1, math.nan, self.loc)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        finite = self.scale.pow(2) * self.df / (self.df - 2)
        return _ag.where(self.df > 2, finite, _ag.where(self.df > 1, math.inf, math.nan))

    def rsample(self, sample_shape=()):
        X = standard_normal(self._extended_shape(sample_shape), self.df.dtype, self.df.device)
        Z = self._chi2.rsample(sample_shape)
        return self.loc + self.scale * (X * _ag.rsqrt(Z / self.df))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        y = (value - self.loc) / self.scale
        Z = self.scale.log() + 0.5 * self.df.log() + 0.5 * math.log(math.pi) + _ag.lgamma(0.5 * self.df) \
            - _ag.lgamma(0.5 * (self.df + 1.0))
        return -0.5 * (self.df + 1.0) * _ag.log1p(y ** 2.0 / self.df) - Z

    def entropy(self):
        lbeta = _ag.lgamma(0.5 * self.df) + math.lgamma(0.5) - _ag.lgamma(0.5 * (self.df + 1))
        return self.scale.log() + 0.5 * (self.df + 1) * (_ag.digamma(0.5 * (self.df + 1))
                                                         - _ag.digamma(0.5 * self.df)) \
            + 0.5 * self.df.log() + lbeta
