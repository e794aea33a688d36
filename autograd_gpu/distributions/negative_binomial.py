"""NegativeBinomial(total_count, probs=None, logits=None): successes before total_count
failures (total_count may be real), each trial a success with probability probs.
Drawn as a Poisson whose rate is a Gamma(total_count, exp(-logits)) draw (no rsample)."""
import autograd_gpu as _ag
import autograd_gpu.nn.functional as _F
from . import constraints
from .bernoulli import BinaryParameters, one_of_probs_logits
from .distribution import Distribution
from .gamma import Gamma
from .utils import broadcast_all

__all__ = ["NegativeBinomial"]


class NegativeBinomial(BinaryParameters, Distribution):
    arg_constraints = {"total_count": constraints.greater_than_eq(0),
                       "probs": constraints.half_open_interval(0.0, 1.0), "logits": constraints.real}
    support = constraints.nonnegative_integer
    _expand_names = ("total_count", "probs", "logits")

    def __init__(self, total_count, probs=None, logits=None, validate_args=None):
        self._given, value = one_of_probs_logits(probs, logits)
        total, param = broadcast_all(total_count, value)
        self.__dict__[self._given] = param
        self.total_count = total.to(param.dtype)
        Distribution.__init__(self, tuple(param.shape), validate_args=validate_args)

    @property
    def mean(self):
        return self.total_count * _ag.exp(self.logits)

    @property
    def mode(self):
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self):
        return self.mean / _ag.sigmoid(-self.logits)

    def _gamma(self):
        """The Poisson rate's distribution (odds exp(logits) as the Gamma's scale)."""
        return Gamma(concentration=self.total_count, rate=_ag.exp(-self.logits), validate_args=False)

    def sample(self, sample_shape=()):
        with _ag.no_grad():
            return _ag.poisson(self._gamma().sample(sample_shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        log_unnormalized = self.total_count * _F.logsigmoid(-self.logits) + value * _F.logsigmoid(self.logits)
        log_normalization = -_ag.lgamma(self.total_count + value) + _ag.lgamma(1.0 + value) \
            + _ag.lgamma(self.total_count)
        # (no successes and no failures to wait for: probability 1, not lgamma(0) terms)
        log_normalization = _ag.where(self.total_count + value == 0.0, 0.0, log_normalization)
        return log_unnormalized - log_normalization
