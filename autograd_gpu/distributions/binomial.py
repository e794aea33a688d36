"""Binomial(total_count=1, probs=None, logits=None): successes in total_count Bernoulli trials."""
import autograd_gpu as _ag
from . import constraints
from .bernoulli import BinaryParameters, one_of_probs_logits
from .distribution import Distribution
from .gamma import _marsaglia_tsang
from .utils import broadcast_all

__all__ = ["Binomial"]

_TRIALS_PER_STEP = 64          # counts up to this are drawn as Bernoulli sums when sampling


def _clamp_by_zero(x):
    """max(x, 0) whose gradient at 0 is 1/2 (torch's choice)."""
    return (x.clamp(min=0) + x - x.clamp(max=0)) / 2


class Binomial(BinaryParameters, Distribution):
    arg_constraints = {"total_count": constraints.nonnegative_integer, "probs": constraints.unit_interval,
                       "logits": constraints.real}
    has_enumerate_support = True
    _expand_names = ("total_count", "probs", "logits")

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        self._given, value = one_of_probs_logits(probs, logits)
        total, param = broadcast_all(total_count, value)
        self.__dict__[self._given] = param
        self.total_count = total.to(param.dtype)
        Distribution.__init__(self, tuple(param.shape), validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def mode(self):
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        """Exact draws: counts above _TRIALS_PER_STEP shrink by the order-statistic recursion
        (the k-th smallest of n uniforms is Beta(k, n + 1 - k); the uniforms on p's side of it
        form a smaller binomial), then the rest are summed Bernoulli trials."""
        shape = self._extended_shape(sample_shape)
        with _ag.no_grad():
            n = self.total_count.expand(shape).to(_ag.float64)
            p = self.probs.expand(shape).to(_ag.float64)
            count = _ag.zeros(shape, dtype=_ag.float64, device=p.device)
            while n.numel() and bool((n > _TRIALS_PER_STEP).any().item()):
                big = n > _TRIALS_PER_STEP
                k = _ag.where(big, ((n + 1) / 2).floor(), 1.0)
                g1, g2 = _marsaglia_tsang(k), _marsaglia_tsang(_ag.where(big, n + 1 - k, 1.0))
                x = g1 / (g1 + g2)
                below = big & (x < p)
                count = count + _ag.where(below, k, 0.0)
                n, p = (_ag.where(below, n - k, _ag.where(big, k - 1, n)),
                        _ag.where(below, (p - x) / (1 - x), _ag.where(big, p / x, p)))
            trials = _ag.arange(_TRIALS_PER_STEP, dtype=_ag.float64, device=p.device)
            success = _ag.rand(shape + (_TRIALS_PER_STEP,), dtype=_ag.float64, device=p.device) < p.unsqueeze(-1)
            count = count + (success & (trials < n.unsqueeze(-1))).to(_ag.float64).sum(-1)
            return count.to(self.probs.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        n = self.total_count
        log_factorial_n = _ag.lgamma(n + 1)
        log_factorial_k = _ag.lgamma(value + 1)
        log_factorial_nmk = _ag.lgamma(n - value + 1)
        # n * log(1 + exp(logits)), written to stay finite for large |logits|
        normalize_term = n * _clamp_by_zero(self.logits) + n * _ag.log1p(_ag.exp(-_ag.abs(self.logits))) \
            - log_factorial_n
        return value * self.logits - log_factorial_k - log_factorial_nmk - normalize_term

    def _homogeneous_count(self, op_name):
        top = int(self.total_count.max().item())
        if not self.total_count.min().item() == top:
            raise NotImplementedError(f"Inhomogeneous total count not supported by `{op_name}`.")
        return top

    def entropy(self):
        self._homogeneous_count("entropy")
        log_prob = self.log_prob(self.enumerate_support(False))
        return -(_ag.exp(log_prob) * log_prob).sum(0)

    def enumerate_support(self, expand=True):
        top = self._homogeneous_count("enumerate_support")
        values = _ag.arange(1 + top, dtype=self._param.dtype, device=self._param.device)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + self._batch_shape) if expand else values
