"""LogNormal(loc, scale): exp of Normal(loc, scale), reparametrized (torch's
TransformedDistribution(Normal, ExpTransform), built directly here)."""
import autograd_gpu as _ag
from . import constraints
from .distribution import Distribution, init_broadcast
from .normal import Normal

__all__ = ["LogNormal"]


class LogNormal(Distribution):
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    has_rsample = True
    _expand_names = ("loc", "scale")

    def __init__(self, loc, scale, validate_args=None):
        init_broadcast(self, ("loc", "scale"), (loc, scale), validate_args)

    @property
    def base_dist(self):
        """The Normal whose draws this distribution exponentiates."""
        return Normal(self.loc, self.scale, validate_args=False)

    @property
    def mean(self):
        return (self.loc + self.scale.pow(2) / 2).exp()

    @property
    def mode(self):
        return (self.loc - self.scale.square()).exp()

    @property
    def variance(self):
        scale2 = self.scale.pow(2)
        return scale2.expm1() * (2 * self.loc + scale2).exp()

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape).exp()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        log_value = _ag.log(value)
        return -log_value + self.base_dist.log_prob(log_value)

    def cdf(self, value):
        log_value = _ag.log(value)
        if self._validate_args:                 # (torch checks the Normal's value: 0 passes, negatives fail)
            Normal(self.loc, self.scale, validate_args=True)._validate_sample(log_value)
        return self.base_dist.cdf(log_value)

    def icdf(self, value):
        return self.base_dist.icdf(value).exp()

    def entropy(self):
        return self.base_dist.entropy() + self.loc
