"""LKJCholesky(dim, concentration=1.0): the lower Cholesky factor L of a dim x dim correlation
matrix L L^T with density proportional to det(L L^T)^(concentration - 1) (Lewandowski, Kurowicka
and Joe, 2009). Draws: their onion method (row i: a Beta radius times a uniform direction), no rsample."""
import math

import autograd_gpu as _ag
from . import constraints
from .beta import Beta
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim, concentration=1.0, validate_args=None):
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        # row i's squared off-diagonal norm is Beta(i / 2, concentration + (dim - 1 - i) / 2)
        # (the first row's parameters are placeholders: its draw is not used)
        offset = _ag.arange(dim - 1, dtype=self.concentration.dtype, device=self.concentration.device)
        offset = _ag.cat([_ag.zeros(1, dtype=offset.dtype, device=offset.device), offset])
        marginal = self.concentration + 0.5 * (dim - 2)
        self._beta = Beta(offset + 0.5, marginal.unsqueeze(-1) - 0.5 * offset)
        Distribution.__init__(self, tuple(self.concentration.shape), (dim, dim), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = tuple(batch_shape)
        new.dim = self.dim
        new.concentration = self.concentration.expand(batch_shape)
        new._beta = self._beta.expand(batch_shape + (self.dim,))
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape=()):
        with _ag.no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            normal = _ag.randn(self._extended_shape(sample_shape), dtype=y.dtype, device=y.device).tril(-1)
            first_row = (_ag.arange(self.dim, device=y.device) == 0).unsqueeze(-1)
            direction = _ag.where(first_row, 0.0, normal / normal.norm(dim=-1, keepdim=True))  # (row 0 is 0 / 0)
            w = y.sqrt() * direction
            diagonal = (1 - w.pow(2).sum(-1)).clamp(min=_ag.finfo(w.dtype).tiny).sqrt()
            return w + _ag.diag_embed(diagonal)

    def log_prob(self, value):
        """sum_{i >= 1} (2 (concentration - 1) + dim - 1 - i) log L_ii minus the log normalizer."""
        if self._validate_args:
            self._validate_sample(value)
        diagonal = _ag.diagonal(value, dim1=-1, dim2=-2)[..., 1:]
        order = _ag.arange(2, self.dim + 1, device=self.concentration.device)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized = (order * diagonal.log()).sum(-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        normalize_term = 0.5 * dm1 * math.log(math.pi) + _ag.mvlgamma(alpha - 0.5, dm1) - _ag.lgamma(alpha) * dm1
        return unnormalized - normalize_term
