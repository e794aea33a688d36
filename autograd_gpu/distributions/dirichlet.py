"""Dirichlet(concentration): distributions on the simplex, reparametrized as
independent standard gammas normalized to sum 1 (each gamma with its implicit
gradient, so the draw's gradient is the normalization's chain rule)."""
import autograd_gpu as _ag
import autograd_gpu.nn.functional as _F
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution
from .exponential_family import ExponentialFamily
from .gamma import standard_gamma

__all__ = ["Dirichlet"]


class Dirichlet(ExponentialFamily):
    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True
    _expand_names = ("concentration",)

    def __init__(self, concentration, validate_args=None):
        if not isinstance(concentration, Tensor):
            raise TypeError(f"Dirichlet(): argument 'concentration' must be Tensor, not "
                            f"{type(concentration).__name__}")
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        Distribution.__init__(self, tuple(concentration.shape[:-1]), tuple(concentration.shape[-1:]),
                              validate_args=validate_args)

    def rsample(self, sample_shape=()):
        gammas = standard_gamma(self.concentration.expand(self._extended_shape(sample_shape)))
        return gammas / gammas.sum(-1, keepdim=True)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        c = self.concentration
        return _ag.xlogy(c - 1.0, value).sum(-1) + _ag.lgamma(c.sum(-1)) - _ag.lgamma(c).sum(-1)

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, True)

    @property
    def mode(self):
        """(c - 1)+ normalized; where every c < 1, the corner of the largest such value (torch's rule)."""
        cm1 = (self.concentration - 1).clamp(min=0.0)
        mode = cm1 / cm1.sum(-1, True)
        corner = _F.one_hot(mode.argmax(dim=-1), cm1.shape[-1]).to(mode.dtype)
        return _ag.where((self.concentration < 1).all(dim=-1, keepdim=True), corner, mode)

    @property
    def variance(self):
        c0 = self.concentration.sum(-1, True)
        return self.concentration * (c0 - self.concentration) / (c0.pow(2) * (c0 + 1))

    def entropy(self):
        c = self.concentration
        k, a0 = c.shape[-1], c.sum(-1)
        return _ag.lgamma(c).sum(-1) - _ag.lgamma(a0) - (k - a0) * _ag.digamma(a0) \
            - ((c - 1.0) * _ag.digamma(c)).sum(-1)

    # ---- natural parameters (ExponentialFamily; no carrier measure, as torch) -------------------
    @property
    def _natural_params(self):
        return (self.concentration,)

    def _log_normalizer(self, x):
        return x.lgamma().sum(-1) - _ag.lgamma(x.sum(-1))
