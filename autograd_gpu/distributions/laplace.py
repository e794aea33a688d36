"""Laplace(loc, scale): the double exponential, reparametrized by inverting its cdf."""
import autograd_gpu as _ag
from .distribution import LocationScale
from .utils import uniform_draws, finfo

__all__ = ["Laplace"]


class Laplace(LocationScale):

    @property
    def mean(self):
        return self.loc

    @property
    def variance(self):
        return 2 * self.scale.pow(2)

    @property
    def stddev(self):
        return (2 ** 0.5) * self.scale

    def rsample(self, sample_shape=()):
        # u in (-1, 1): eps - 1 keeps log1p(-|u|) finite
        u = uniform_draws(self._extended_shape(sample_shape), self.loc, finfo(self.loc).eps - 1, 1)
        return self.loc - self.scale * u.sign() * _ag.log1p(-u.abs())

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -_ag.log(2 * self.scale) - _ag.abs(value - self.loc) / self.scale

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 - 0.5 * (value - self.loc).sign() * _ag.expm1(-(value - self.loc).abs() / self.scale)

    def icdf(self, value):
        term = value - 0.5
        return self.loc - self.scale * term.sign() * _ag.log1p(-2 * term.abs())

    def entropy(self):
        return 1 + _ag.log(2 * self.scale)
