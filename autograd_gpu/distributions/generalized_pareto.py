"""GeneralizedPareto(loc, scale, concentration): the law of loc + scale * ((1 - U)^(-c) - 1) / c
for U uniform on [0, 1) (loc - scale * log(1 - U) at c = 0), reparametrized through its icdf.
Its support is [loc, inf) for c >= 0 and [loc, loc - scale / c] for c < 0. Exponential
(loc 0, c 0), Pareto (c > 0, loc = scale / c) and Uniform (c = -1) are special cases.
A concentration within isclose's tolerance of 0 takes the c = 0 forms (torch's rule)."""
import math

import autograd_gpu as _ag
from . import constraints
from .distribution import Distribution, init_broadcast
from .utils import uniform_draws

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive, "concentration": constraints.real}
    has_rsample = True
    _expand_names = ("loc", "scale", "concentration")

    def __init__(self, loc, scale, concentration, validate_args=None):
        init_broadcast(self, ("loc", "scale", "concentration"), (loc, scale, concentration), validate_args)

    def _zero_and_safe_concentration(self):
        """Where c counts as 0, and c with those entries set to 1 (so the c != 0 forms stay finite there)."""
        c = self.concentration
        # (compared in c's own dtype: torch compares to a float32 0 and fails for float64 and float16)
        is_zero = _ag.isclose(c, _ag.zeros_like(c))
        return is_zero, _ag.where(is_zero, _ag.ones_like(c), c)

    def _z(self, value):
        return (value - self.loc) / self.scale

    def rsample(self, sample_shape=()):
        return self.icdf(uniform_draws(self._extended_shape(sample_shape), self.loc))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        is_zero, c = self._zero_and_safe_concentration()
        y = 1 / c + _ag.ones_like(z)
        nonzero = _ag.where(y == 0, y, y * _ag.log1p(c * z))        # (c = -1, the uniform: a flat density)
        return -self.scale.log() - _ag.where(is_zero, z, nonzero)

    def log_survival_function(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        is_zero, c = self._zero_and_safe_concentration()
        return _ag.where(is_zero, -z, -_ag.log1p(c * z) / c)

    def log_cdf(self, value):
        return _ag.log1p(-_ag.exp(self.log_survival_function(value)))

    def cdf(self, value):
        return _ag.exp(self.log_cdf(value))

    def icdf(self, value):
        is_zero, c = self._zero_and_safe_concentration()
        log_u = _ag.log1p(-value)
        nonzero = self.loc + self.scale / c * _ag.expm1(-c * log_u)
        return _ag.where(is_zero, self.loc - self.scale * log_u, nonzero)

    @property
    def mean(self):
        finite = self.concentration < 1
        c = _ag.where(finite, self.concentration, 0.5)
        return _ag.where(finite, self.loc + self.scale / (1 - c), math.nan)

    @property
    def variance(self):
        finite = self.concentration < 0.5
        c = _ag.where(finite, self.concentration, 0.25)
        return _ag.where(finite, self.scale.pow(2) / ((1 - c).pow(2) * (1 - 2 * c)), math.nan)

    @property
    def mode(self):
        return self.loc

    def entropy(self):
        return _ag.broadcast_to(self.scale.log() + self.concentration + 1, self._batch_shape)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        upper = _ag.where(self.concentration < 0, self.loc - self.scale / self.concentration, math.inf)
        return constraints.interval(self.loc, upper)
