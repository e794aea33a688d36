"""Cauchy(loc, scale): the Lorentz distribution (no mean or variance), reparametrized."""
import math

import autograd_gpu as _ag
from .distribution import LocationScale

__all__ = ["Cauchy"]


class Cauchy(LocationScale):

    @property
    def mean(self):
        return _ag.full(self._extended_shape(), math.nan, dtype=self.loc.dtype, device=self.loc.device)

    @property
    def variance(self):
        return _ag.full(self._extended_shape(), math.inf, dtype=self.loc.dtype, device=self.loc.device)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = _ag.empty(shape, dtype=self.loc.dtype, device=self.loc.device).cauchy_()
        return self.loc + eps * self.scale

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -math.log(math.pi) - self.scale.log() - (((value - self.loc) / self.scale) ** 2).log1p()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return _ag.atan((value - self.loc) / self.scale) / math.pi + 0.5

    def icdf(self, value):
        return _ag.tan(math.pi * (value - 0.5)) * self.scale + self.loc

    def entropy(self):
        return math.log(4 * math.pi) + self.scale.log()
