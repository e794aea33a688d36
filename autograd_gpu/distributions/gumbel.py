"""Gumbel(loc, scale): the type-I extreme value distribution, reparametrized as
loc - scale * log(-log(u)) with u uniform on [tiny, 1 - eps] (torch builds it as a
TransformedDistribution of that Uniform; its cdf and icdf go through the same u)."""
import math

import autograd_gpu as _ag
from .distribution import LocationScale
from .utils import EULER_GAMMA, finfo, uniform_draws

__all__ = ["Gumbel"]


class Gumbel(LocationScale):

    def _uniform_bounds(self):
        info = finfo(self.loc)
        return info.tiny, 1 - info.eps

    @property
    def mean(self):
        return self.loc + self.scale * EULER_GAMMA

    @property
    def stddev(self):
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self):
        return self.stddev.pow(2)

    def rsample(self, sample_shape=()):
        low, high = self._uniform_bounds()
        u = low + uniform_draws(self._extended_shape(sample_shape), self.loc) * (high - low)
        return self.loc - self.scale * _ag.log(-_ag.log(u))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        y = (self.loc - value) / self.scale
        return (y - y.exp()) - self.scale.log()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        low, high = self._uniform_bounds()
        u = _ag.exp(-_ag.exp((value - self.loc) / -self.scale))
        return ((u - low) / (high - low)).clamp(min=0, max=1)

    def icdf(self, value):
        low, high = self._uniform_bounds()
        u = value * (high - low) + low
        return self.loc - self.scale * _ag.log(-_ag.log(u))

    def entropy(self):
        return self.scale.log() + (1 + EULER_GAMMA)
