"""Exponential(rate): waiting times of rate `rate`, reparametrized (E / rate, E standard exponential)."""
import autograd_gpu as _ag
from . import constraints
from .distribution import init_broadcast
from .exponential_family import ExponentialFamily

__all__ = ["Exponential"]


class Exponential(ExponentialFamily):
    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _expand_names = ("rate",)

    def __init__(self, rate, validate_args=None):
        init_broadcast(self, ("rate",), (rate,), validate_args)

    @property
    def mean(self):
        return self.rate.reciprocal()

    @property
    def mode(self):
        return _ag.zeros_like(self.rate)

    @property
    def stddev(self):
        return self.rate.reciprocal()

    @property
    def variance(self):
        return self.rate.pow(-2)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        draws = _ag.empty(shape, dtype=self.rate.dtype, device=self.rate.device).exponential_()
        return draws / self.rate

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 1 - _ag.exp(-self.rate * value)

    def icdf(self, value):
        return -_ag.log1p(-value) / self.rate

    def entropy(self):
        return 1.0 - _ag.log(self.rate)

    # ---- natural parameters (ExponentialFamily) -----------------------------------------------
    _mean_carrier_measure = 0

    @property
    def _natural_params(self):
        return (-self.rate,)

    def _log_normalizer(self, x):
        return -_ag.log(-x)
