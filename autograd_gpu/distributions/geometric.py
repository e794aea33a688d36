"""Geometric(probs=None, logits=None): the number of failures before the first success (0, 1, ...)."""
import autograd_gpu as _ag
import autograd_gpu.nn.functional as _F
from . import constraints
from .bernoulli import BinaryParameters, one_of_probs_logits
from .distribution import Distribution
from .utils import broadcast_all, finfo, is_all_true, uniform_draws

__all__ = ["Geometric"]


class Geometric(BinaryParameters, Distribution):
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer
    _expand_names = ("probs", "logits")

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._given, value = one_of_probs_logits(probs, logits)
        (self.__dict__[self._given],) = broadcast_all(value)
        Distribution.__init__(self, tuple(self._param.shape), validate_args=validate_args)
        if self._validate_args and probs is not None:
            positive = self.probs > 0                 # (probs 0: no success ever)
            if not is_all_true(positive):
                raise ValueError(f"Expected parameter probs ({type(self.probs).__name__} of shape "
                                 f"{tuple(self.probs.shape)}) of distribution {self!r} to be positive but found "
                                 f"invalid values:\n{self.probs.detach()[~positive]}")

    @property
    def mean(self):
        return 1.0 / self.probs - 1.0

    @property
    def mode(self):
        return _ag.zeros_like(self.probs)

    @property
    def variance(self):
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape=()):
        # inverse cdf of u in [tiny, 1): floor(log u / log(1 - p))
        with _ag.no_grad():
            u = uniform_draws(self._extended_shape(sample_shape), self.probs, finfo(self.probs).tiny, 1)
            return (u.log() / (-self.probs).log1p()).floor()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        probs = _ag.where((probs == 1) & (value == 0), 0.0, probs)    # (0 * log(0) is 0 here)
        return value * (-probs).log1p() + self.probs.log()

    def entropy(self):
        return _F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none") / self.probs
