"""Multinomial(total_count=1, probs=None, logits=None): counts of total_count draws of a
Categorical over the last dim (event_shape (K,)); total_count is one Python int."""
import math

import autograd_gpu as _ag
from . import constraints
from .binomial import Binomial
from .categorical import OverCategorical
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Multinomial"]


class Multinomial(OverCategorical):
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._init_categorical(probs, logits, validate_args)
        self._binomial = Binomial(total_count=total_count, probs=self.probs)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Multinomial, _instance)
        new.total_count = self.total_count
        new._categorical = self._categorical.expand(batch_shape)
        new._binomial = Binomial(total_count=self.total_count, probs=new.probs)   # (torch leaves it out)
        Distribution.__init__(new, tuple(batch_shape), self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return constraints.multinomial(self.total_count)




    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        """total_count category draws per event, counted into their categories."""
        sample_shape = tuple(sample_shape)
        with _ag.no_grad():
            draws = self._categorical.sample((self.total_count,) + sample_shape)
            draws = draws.permute(tuple(range(1, draws.dim())) + (0,))        # (the draws last)
            counts = _ag.zeros(self._extended_shape(sample_shape), dtype=draws.dtype, device=draws.device)
            counts = counts.scatter_add(-1, draws, _ag.ones_like(draws))
            return counts.to(self.probs.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        logits = _ag.where((value == 0) & (logits == -math.inf), 0.0, logits)   # (0 * -inf counts as 0)
        log_factorial_n = _ag.lgamma(value.sum(-1) + 1)
        log_factorial_xs = _ag.lgamma(value + 1).sum(-1)
        return log_factorial_n - log_factorial_xs + (logits * value).sum(-1)

    def entropy(self):
        """n H(categorical) - log n! + sum_k E[log x_k!], each x_k ~ Binomial(n, p_k)."""
        n = self.total_count
        term1 = n * self._categorical.entropy() - math.lgamma(n + 1)
        counts = self._binomial.enumerate_support(expand=False)[1:]
        weights = _ag.lgamma(counts + 1)
        term2 = (self._binomial.log_prob(counts).exp() * weights).sum((0, -1))
        return term1 + term2
