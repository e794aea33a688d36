"""Categorical(probs=None, logits=None): one of K categories (0 .. K-1) drawn with
probabilities along the last dim (normalized: probs / sum, logits - logsumexp)."""
import math

import autograd_gpu as _ag
from ..tensor import Tensor
from . import constraints
from .bernoulli import one_of_probs_logits
from .distribution import Distribution
from .utils import finfo, lazy_property, probs_to_logits, logits_to_probs

__all__ = ["Categorical"]   # (OverCategorical: a base for the families drawn through one)


class Categorical(Distribution):
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}
    has_enumerate_support = True
    _expand_names = ("probs", "logits")

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._given, value = one_of_probs_logits(probs, logits)
        if not isinstance(value, Tensor):
            raise TypeError(f"Categorical(): argument '{self._given}' must be Tensor, not {type(value).__name__}")
        if value.dim() < 1:
            raise ValueError(f"`{self._given}` parameter must be at least one-dimensional.")
        if probs is not None:
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
        self._num_events = value.shape[-1]
        batch_shape = tuple(value.shape[:-1]) if value.dim() > 1 else ()
        Distribution.__init__(self, batch_shape, validate_args=validate_args)

    @property
    def _param(self):
        return self.__dict__[self._given]

    @property
    def param_shape(self):
        return tuple(self._param.shape)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    def _filled(self, value):
        return _ag.full(self._extended_shape(), value, dtype=self.probs.dtype, device=self.probs.device)

    @property
    def mean(self):
        return self._filled(math.nan)

    @property
    def mode(self):
        return self.probs.argmax(-1)

    @property
    def variance(self):
        return self._filled(math.nan)

    def sample(self, sample_shape=()):
        sample_shape = tuple(sample_shape)
        probs_2d = self.probs.detach().reshape(-1, self._num_events)
        count = math.prod(sample_shape)
        if probs_2d.shape[0] == 0 or count == 0:
            return _ag.zeros(self._extended_shape(sample_shape), dtype=_ag.int64, device=self.probs.device)
        samples_2d = _ag.multinomial(probs_2d, count, True).T
        return samples_2d.reshape(self._extended_shape(sample_shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        value, log_pmf = _ag.broadcast_tensors(value, self.logits)
        return log_pmf.gather(-1, value[..., :1]).squeeze(-1)

    def entropy(self):
        logits = self.logits.clamp(min=finfo(self.logits).min)     # (-inf logits: 0 * min, not 0 * -inf)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        values = _ag.arange(self._num_events, dtype=_ag.int64, device=self._param.device)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + self._batch_shape) if expand else values


class OverCategorical(Distribution):
    """A family drawn through a Categorical over the last dim (self._categorical), made in
    __init__ from probs or logits; its parameters are that Categorical's."""

    def _init_categorical(self, probs, logits, validate_args):
        self._categorical = Categorical(probs, logits)
        Distribution.__init__(self, self._categorical.batch_shape, self._categorical.param_shape[-1:],
                              validate_args=validate_args)

    @property
    def param_shape(self):
        return self._categorical.param_shape

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits
