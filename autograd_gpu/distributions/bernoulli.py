"""Bernoulli(probs=None, logits=None): 0/1 draws, 1 with probability probs = sigmoid(logits)."""
import autograd_gpu as _ag
import autograd_gpu.nn.functional as _F
from . import constraints
from .distribution import Distribution
from .exponential_family import ExponentialFamily
from .utils import broadcast_all, all_numbers, lazy_property, probs_to_logits, logits_to_probs

__all__ = ["Bernoulli"]


def one_of_probs_logits(probs, logits):
    """The parameter given, as ("probs" or "logits", value); exactly one must be."""
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")
    return ("probs", probs) if probs is not None else ("logits", logits)


class BinaryParameters:
    """probs and logits of a two-outcome family, each derived from the other on demand."""

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def _param(self):
        return self.__dict__[self._given]          # (the parameter the distribution was built from)

    @property
    def param_shape(self):
        return tuple(self._param.shape)


class Bernoulli(BinaryParameters, ExponentialFamily):
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True
    _expand_names = ("probs", "logits")

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._given, value = one_of_probs_logits(probs, logits)
        (self.__dict__[self._given],) = broadcast_all(value)
        batch_shape = () if all_numbers(value) else tuple(self._param.shape)
        Distribution.__init__(self, batch_shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        mode = (self.probs >= 0.5).to(self.probs.dtype)
        return _ag.where(self.probs == 0.5, float("nan"), mode)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        with _ag.no_grad():
            return _ag.bernoulli(self.probs.expand(self._extended_shape(sample_shape)))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -_F.binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self):
        return _F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def enumerate_support(self, expand=True):
        values = _ag.arange(2, dtype=self._param.dtype, device=self._param.device)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + self._batch_shape) if expand else values

    # ---- natural parameters (ExponentialFamily) -----------------------------------------------
    _mean_carrier_measure = 0

    @property
    def _natural_params(self):
        return (_ag.logit(self.probs),)

    def _log_normalizer(self, x):
        return _ag.log1p(_ag.exp(x))
