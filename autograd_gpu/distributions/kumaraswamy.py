"""Kumaraswamy(concentration1, concentration0): (1 - U ** (1 / c0)) ** (1 / c1) for U ~ Uniform(0, 1)
(torch's TransformedDistribution by PowerTransform, AffineTransform(1, -1), PowerTransform),
reparametrized; a Beta-like law on [0, 1] with a closed-form cdf."""
import math

import autograd_gpu as _ag
from . import constraints
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, PowerTransform
from .uniform import Uniform
from .utils import EULER_GAMMA, broadcast_all

__all__ = ["Kumaraswamy"]


def _moment(a, b, n):
    """E[x ** n] = b * B(1 + n / a, b)."""
    arg = 1 + n / a
    return b * (_ag.lgamma(arg) + _ag.lgamma(b) - _ag.lgamma(arg + b)).exp()


class Kumaraswamy(TransformedDistribution):
    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        base = Uniform(_ag.full_like(self.concentration0, 0), _ag.full_like(self.concentration0, 1),
                       validate_args=validate_args)
        transforms = [PowerTransform(exponent=self.concentration0.reciprocal()), AffineTransform(loc=1.0, scale=-1.0),
                      PowerTransform(exponent=self.concentration1.reciprocal())]
        super().__init__(base, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Kumaraswamy, _instance)
        batch_shape = tuple(batch_shape)
        new.concentration1 = self.concentration1.expand(batch_shape)
        new.concentration0 = self.concentration0.expand(batch_shape)
        return super().expand(batch_shape, _instance=new)

    @property
    def mean(self):
        return _moment(self.concentration1, self.concentration0, 1)

    @property
    def mode(self):
        # (torch's formula, in log space; nan where either concentration is below 1)
        c1, c0 = self.concentration1, self.concentration0
        log_mode = c0.reciprocal() * (-c0).log1p() - (-c0 * c1).log1p()
        return _ag.where((c0 < 1) | (c1 < 1), _ag.full_like(log_mode, math.nan), log_mode).exp()

    @property
    def variance(self):
        return _moment(self.concentration1, self.concentration0, 2) - self.mean.pow(2)

    def entropy(self):
        t1 = 1 - self.concentration1.reciprocal()
        t0 = 1 - self.concentration0.reciprocal()
        harmonic = _ag.digamma(self.concentration0 + 1) + EULER_GAMMA
        return t0 + t1 * harmonic - self.concentration1.log() - self.concentration0.log()
