"""Pareto(scale, alpha): scale * exp(E) for E ~ Exponential(alpha) (torch's TransformedDistribution
by ExpTransform then AffineTransform(0, scale)), reparametrized; support [scale, inf)."""
import math

import autograd_gpu as _ag
from . import constraints
from .beta import Beta
from .exponential import Exponential
from .gamma import Gamma
from .gumbel import Gumbel
from .kl import _x_log_x, register_kl
from .laplace import Laplace
from .normal import Normal
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, ExpTransform
from .uniform import Uniform
from .utils import broadcast_all

__all__ = ["Pareto"]


class Pareto(TransformedDistribution):
    arg_constraints = {"alpha": constraints.positive, "scale": constraints.positive}

    def __init__(self, scale, alpha, validate_args=None):
        self.scale, self.alpha = broadcast_all(scale, alpha)
        super().__init__(Exponential(self.alpha, validate_args=validate_args),
                         [ExpTransform(), AffineTransform(loc=0, scale=self.scale)], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Pareto, _instance)
        new.scale, new.alpha = self.scale.expand(tuple(batch_shape)), self.alpha.expand(tuple(batch_shape))
        return super().expand(batch_shape, _instance=new)

    @property
    def mean(self):
        alpha = self.alpha.clamp(min=1)                 # (inf for alpha <= 1)
        return alpha * self.scale / (alpha - 1)

    @property
    def mode(self):
        return self.scale

    @property
    def variance(self):
        alpha = self.alpha.clamp(min=2)                 # (inf for alpha <= 2)
        return self.scale.pow(2) * alpha / ((alpha - 1).pow(2) * (alpha - 2))

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.greater_than_eq(self.scale)

    def entropy(self):
        return (self.scale / self.alpha).log() + (1 + self.alpha.reciprocal())


def _infinite_where(result, mask):
    return _ag.where(mask, _ag.full_like(result, math.inf), result)


@register_kl(Pareto, Pareto)
def _kl_pareto_pareto(p, q):
    alpha_ratio = q.alpha / p.alpha
    result = q.alpha * (p.scale / q.scale).log() - alpha_ratio.log() + alpha_ratio - 1
    return _infinite_where(result, p.support.lower_bound < q.support.lower_bound)


@register_kl(Pareto, Exponential)
def _kl_pareto_exponential(p, q):
    scale_rate = p.scale * q.rate
    result = (p.alpha / scale_rate).log() - p.alpha.reciprocal() + p.alpha * scale_rate / (p.alpha - 1) - 1
    return _infinite_where(result, p.alpha <= 1)


@register_kl(Pareto, Gamma)
def _kl_pareto_gamma(p, q):
    common = p.scale.log() + p.alpha.reciprocal()
    result = (p.alpha.log() - common + q.concentration.lgamma() - q.concentration * q.rate.log()
              + (1 - q.concentration) * common + q.rate * p.alpha * p.scale / (p.alpha - 1) - 1)
    return _infinite_where(result, p.alpha <= 1)


@register_kl(Pareto, Normal)
def _kl_pareto_normal(p, q):
    common = p.scale / (p.alpha - 1)
    t1 = (math.sqrt(2 * math.pi) * q.scale * p.alpha / p.scale).log()
    t3 = p.alpha * common.pow(2) / (p.alpha - 2)
    t4 = (p.alpha * common - q.loc).pow(2)
    result = t1 - p.alpha.reciprocal() + (t3 + t4) / (2 * q.scale.pow(2)) - 1
    return _infinite_where(result, p.alpha <= 2)


def _infinite_like(t):
    return _ag.full_like(t, math.inf)


# (q's support is bounded where p's is not, or the reverse: KL is infinite)
register_kl(Pareto, Beta)(lambda p, q: _infinite_like(p.scale))
register_kl(Pareto, Uniform)(lambda p, q: _infinite_like(p.scale))
register_kl(Beta, Pareto)(lambda p, q: _infinite_like(p.concentration1))
register_kl(Exponential, Pareto)(lambda p, q: _infinite_like(p.rate))
register_kl(Gamma, Pareto)(lambda p, q: _infinite_like(p.concentration))
register_kl(Gumbel, Pareto)(lambda p, q: _infinite_like(p.loc))
register_kl(Laplace, Pareto)(lambda p, q: _infinite_like(p.loc))
register_kl(Normal, Pareto)(lambda p, q: _infinite_like(p.loc))


@register_kl(Uniform, Pareto)
def _kl_uniform_pareto(p, q):
    width = p.high - p.low
    t1 = (q.alpha * q.scale.pow(q.alpha) * width).log()
    t2 = (_x_log_x(p.high) - _x_log_x(p.low) - width) / width
    return _infinite_where(t2 * (q.alpha + 1) - t1, p.low < q.support.lower_bound)
