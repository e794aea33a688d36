"""Poisson(rate): counts of events of mean `rate` (no rsample)."""
import autograd_gpu as _ag
from . import constraints
from .distribution import init_broadcast
from .exponential_family import ExponentialFamily
from .utils import broadcast_all

__all__ = ["Poisson"]


class Poisson(ExponentialFamily):
    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer
    _expand_names = ("rate",)

    def __init__(self, rate, validate_args=None):
        init_broadcast(self, ("rate",), (rate,), validate_args)

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return self.rate.floor()

    @property
    def variance(self):
        return self.rate

    def sample(self, sample_shape=()):
        with _ag.no_grad():
            return _ag.poisson(self.rate.expand(self._extended_shape(sample_shape)))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return _ag.xlogy(value, rate) - rate - (value + 1).lgamma()

    # ---- natural parameters (ExponentialFamily; no carrier measure, as torch) -------------------
    @property
    def _natural_params(self):
        return (_ag.log(self.rate),)

    def _log_normalizer(self, x):
        return _ag.exp(x)
