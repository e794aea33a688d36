"""ContinuousBernoulli(probs=None, logits=None, lims=(0.499, 0.501)): the density on [0, 1]
proportional to probs^x (1 - probs)^(1 - x) (Loaiza-Ganem and Cunningham, 2019),
reparametrized through its closed-form icdf. Near probs = 1/2 the closed forms divide
0 by 0, so inside lims they are replaced by Taylor expansions around 1/2 (torch's)."""
import math

import autograd_gpu as _ag
import autograd_gpu.nn.functional as _F
from . import constraints
from .bernoulli import one_of_probs_logits
from .beta import Beta
from .distribution import Distribution
from .exponential import Exponential
from .exponential_family import ExponentialFamily
from .gamma import Gamma
from .gumbel import Gumbel
from .kl import register_kl
from .laplace import Laplace
from .normal import Normal
from .uniform import Uniform
from .utils import all_numbers, broadcast_all, clamp_probs, is_all_true, lazy_property, logits_to_probs, \
    probs_to_logits, uniform_draws

__all__ = ["ContinuousBernoulli"]


class ContinuousBernoulli(ExponentialFamily):
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    _expand_names = ("probs", "logits")
    has_rsample = True

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args=None):
        self._given, value = one_of_probs_logits(probs, logits)
        (param,) = broadcast_all(value)
        if probs is not None:
            # (checked before clamping, which would hide values outside [0, 1]; only when
            # validate_args is given, as torch)
            if validate_args is not None and not is_all_true(constraints.unit_interval.check(param)):
                raise ValueError("The parameter probs has invalid values")
            param = clamp_probs(param)
        self.__dict__[self._given] = param
        self._lims = lims
        batch_shape = () if all_numbers(value) else tuple(param.shape)
        Distribution.__init__(self, batch_shape, validate_args=validate_args)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return clamp_probs(logits_to_probs(self.logits, is_binary=True))

    @property
    def _param(self):
        return self.__dict__[self._given]

    @property
    def param_shape(self):
        return tuple(self._param.shape)

    # ---- the closed forms, with probs moved off the unstable region around 1/2 ---------------
    def _outside_unstable_region(self):
        return (self.probs <= self._lims[0]) | (self.probs > self._lims[1])

    def _cut_probs(self):
        return _ag.where(self._outside_unstable_region(), self.probs, self._lims[0])

    def _cont_bern_log_norm(self):
        """log C(probs), C the normalizing constant: log(|logit(p)| / |1 - 2p|), or its Taylor series."""
        cut = self._cut_probs()
        below_half = _ag.where(cut <= 0.5, cut, 0.0)          # (each log's argument kept valid on the other side)
        above_half = _ag.where(cut >= 0.5, cut, 1.0)
        log_norm = _ag.log(_ag.abs(_ag.log1p(-cut) - _ag.log(cut))) \
            - _ag.where(cut <= 0.5, _ag.log1p(-2.0 * below_half), _ag.log(2.0 * above_half - 1.0))
        x = (self.probs - 0.5).pow(2)
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return _ag.where(self._outside_unstable_region(), log_norm, taylor)

    @property
    def mean(self):
        cut = self._cut_probs()
        mus = cut / (2.0 * cut - 1.0) + 1.0 / (_ag.log1p(-cut) - _ag.log(cut))
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x.pow(2)) * x
        return _ag.where(self._outside_unstable_region(), mus, taylor)

    @property
    def stddev(self):
        return self.variance.sqrt()

    @property
    def variance(self):
        cut = self._cut_probs()
        variances = cut * (cut - 1.0) / (1.0 - 2.0 * cut).pow(2) + 1.0 / (_ag.log1p(-cut) - _ag.log(cut)).pow(2)
        x = (self.probs - 0.5).pow(2)
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return _ag.where(self._outside_unstable_region(), variances, taylor)

    def sample(self, sample_shape=()):
        u = uniform_draws(self._extended_shape(sample_shape), self.probs)
        with _ag.no_grad():
            return self.icdf(u)

    def rsample(self, sample_shape=()):
        return self.icdf(uniform_draws(self._extended_shape(sample_shape), self.probs))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -_F.binary_cross_entropy_with_logits(logits, value, reduction="none") + self._cont_bern_log_norm()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        cut = self._cut_probs()
        cdfs = (cut.pow(value) * (1.0 - cut).pow(1.0 - value) + cut - 1.0) / (2.0 * cut - 1.0)
        unbounded = _ag.where(self._outside_unstable_region(), cdfs, value)
        return _ag.where(value <= 0.0, _ag.zeros_like(value), _ag.where(value >= 1.0, _ag.ones_like(value), unbounded))

    def icdf(self, value):
        cut = self._cut_probs()
        closed_form = (_ag.log1p(-cut + value * (2.0 * cut - 1.0)) - _ag.log1p(-cut)) \
            / (_ag.log(cut) - _ag.log1p(-cut))
        return _ag.where(self._outside_unstable_region(), closed_form, value)

    def entropy(self):
        log_probs0, log_probs1 = _ag.log1p(-self.probs), _ag.log(self.probs)
        return self.mean * (log_probs0 - log_probs1) - self._cont_bern_log_norm() - log_probs0

    # ---- natural parameters (ExponentialFamily) -----------------------------------------------
    _mean_carrier_measure = 0

    @property
    def _natural_params(self):
        return (self.logits,)

    def _log_normalizer(self, x):
        """log((e^x - 1) / x), by its Taylor series where x is near 0 (the lims around probs 1/2)."""
        outside = (x <= self._lims[0] - 0.5) | (x > self._lims[1] - 0.5)
        cut = _ag.where(outside, x, self._lims[0] - 0.5)
        log_norm = _ag.log(_ag.abs(_ag.expm1(cut))) - _ag.log(_ag.abs(cut))
        taylor = 0.5 * x + x.pow(2) / 24.0 - x.pow(4) / 2880.0
        return _ag.where(outside, log_norm, taylor)


# ---- KL pairs torch registers --------------------------------------------------------------

def _minus_cross_entropy_term(p, q):
    """-E_p[log q(x)] - H(p) for q continuous Bernoulli: log q(x) = x logit(q) + log(1 - q) + log C(q)."""
    return -p.entropy() - p.mean * q.logits - _ag.log1p(-q.probs) - q._cont_bern_log_norm()


@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def _kl_continuous_bernoulli_continuous_bernoulli(p, q):
    t1 = p.mean * (p.logits - q.logits)
    t2 = p._cont_bern_log_norm() + _ag.log1p(-p.probs)
    t3 = -q._cont_bern_log_norm() - _ag.log1p(-q.probs)
    return t1 + t2 + t3


@register_kl(Beta, ContinuousBernoulli)
def _kl_beta_continuous_bernoulli(p, q):
    return _minus_cross_entropy_term(p, q)


@register_kl(Uniform, ContinuousBernoulli)
def _kl_uniform_continuous_bernoulli(p, q):
    result = _minus_cross_entropy_term(p, q)
    # (torch's test, boundaries included: a Uniform touching 0 or 1 gives inf)
    outside = (p.high >= q.support.upper_bound) | (p.low <= q.support.lower_bound)
    return _ag.where(outside, math.inf, result)


@register_kl(ContinuousBernoulli, Exponential)
def _kl_continuous_bernoulli_exponential(p, q):
    return -p.entropy() - _ag.log(q.rate) + q.rate * p.mean


@register_kl(ContinuousBernoulli, Normal)
def _kl_continuous_bernoulli_normal(p, q):
    t1 = -p.entropy()
    t2 = 0.5 * (math.log(2.0 * math.pi) + (q.loc / q.scale).square()) + _ag.log(q.scale)
    t3 = (p.variance + p.mean.square() - 2.0 * q.loc * p.mean) / (2.0 * q.scale.square())
    return t1 + t2 + t3


@register_kl(ContinuousBernoulli, Uniform)
def _kl_continuous_bernoulli_uniform(p, q):
    result = -p.entropy() + (q.high - q.low).log()
    # (torch's test, boundaries included: a Uniform with low >= 0 or high <= 1 gives inf)
    outside = (q.low >= p.support.lower_bound) | (q.high <= p.support.upper_bound)
    return _ag.where(outside, math.inf, result)


def _register_infinite(pairs):
    """q puts no mass on part of p's support: KL is inf, shaped as p's `parameter`."""
    for type_p, type_q, parameter in pairs:
        register_kl(type_p, type_q)(lambda p, q, parameter=parameter: _ag.full_like(getattr(p, parameter), math.inf))


_register_infinite([(Exponential, ContinuousBernoulli, "rate"), (Gamma, ContinuousBernoulli, "concentration"),
                    (Gumbel, ContinuousBernoulli, "loc"), (Laplace, ContinuousBernoulli, "loc"),
                    (Normal, ContinuousBernoulli, "loc")])
try:                                        # (Pareto lives in another module, written separately)
    from .pareto import Pareto
    _register_infinite([(ContinuousBernoulli, Pareto, "probs"), (Pareto, ContinuousBernoulli, "scale")])
except ImportError:
    pass
