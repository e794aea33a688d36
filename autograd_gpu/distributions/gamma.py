"""Gamma(concentration, rate) and Chi2(df), reparametrized: standard gamma draws
(Marsaglia and Tsang's squeeze-rejection method, in array code on either device)
whose gradient in the concentration is the implicit one, dx/da = -(dF/da) / f(x)
(F the gamma cdf at fixed draw x, f its density), as torch's _standard_gamma."""
import autograd_gpu as _ag
from ..autograd.function import Function, once_differentiable
from . import constraints
from .distribution import init_broadcast
from .exponential_family import ExponentialFamily

__all__ = ["Gamma", "Chi2", "standard_gamma"]


def _marsaglia_tsang(alpha):
    """Standard gamma draws for float64 shapes alpha > 0 (no gradient). Below 1 the
    draw for alpha + 1 is scaled by u ** (1 / alpha) (Marsaglia and Tsang's boost)."""
    boost = alpha < 1
    a = _ag.where(boost, alpha + 1, alpha)
    d = a - 1.0 / 3
    c = (9 * d).rsqrt()
    out, todo = _ag.zeros_like(a), _ag.ones(a.shape, dtype=_ag.bool, device=a.device)
    while bool(todo.any().item()) if todo.numel() else False:
        x = _ag.randn(a.shape, dtype=a.dtype, device=a.device)
        v = (1 + c * x) ** 3
        log_u = _ag.rand(a.shape, dtype=a.dtype, device=a.device).log()
        accept = (v > 0) & (log_u < 0.5 * x * x + d - d * v + d * _ag.where(v > 0, v, 1.0).log())
        take = todo & accept
        out = _ag.where(take, d * v, out)
        todo = todo & ~take
    u = _ag.rand(a.shape, dtype=a.dtype, device=a.device)
    return _ag.where(boost, out * u ** (1 / alpha), out)


def _cdf_concentration_derivative(a, x):
    """dF(x; a)/da by central differences of the regularized incomplete gamma, on the
    smaller of P and Q (Q = 1 - P) so the tails keep their relative accuracy."""
    h = 1e-5 * a
    lower = _ag.special.gammainc(a, x) < 0.5
    dP = (_ag.special.gammainc(a + h, x) - _ag.special.gammainc(a - h, x)) / (2 * h)
    dQ = (_ag.special.gammaincc(a + h, x) - _ag.special.gammaincc(a - h, x)) / (2 * h)
    return _ag.where(lower, dP, -dQ)


def _draw_concentration_derivative(a, x):
    """dx/da at fixed cdf value: -(dF/da) / f(x), f the standard gamma density."""
    log_density = (a - 1) * x.log() - x - _ag.lgamma(a)
    return -_cdf_concentration_derivative(a, x) / log_density.exp()


class _StandardGamma(Function):
    @staticmethod
    def forward(ctx, alpha):
        a = alpha.to(_ag.float64)
        x = _marsaglia_tsang(a).clamp(min=_ag.finfo(alpha.dtype).tiny)
        ctx.save_for_backward(a, x)
        return x.to(alpha.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        return grad * _draw_concentration_derivative(a, x).to(grad.dtype)


def standard_gamma(alpha):
    """Gamma(alpha, 1) draws of alpha's shape, differentiable in alpha (implicit reparametrization)."""
    return _StandardGamma.apply(alpha)


class Gamma(ExponentialFamily):
    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _expand_names = ("concentration", "rate")

    def __init__(self, concentration, rate, validate_args=None):
        init_broadcast(self, ("concentration", "rate"), (concentration, rate), validate_args)

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        value = standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
        floor = value.detach().clamp(min=_ag.finfo(value.dtype).tiny) - value.detach()
        return value + floor                # (kept off 0; the gradient passes unchanged, as torch's)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return _ag.xlogy(self.concentration, self.rate) + _ag.xlogy(self.concentration - 1, value) \
            - self.rate * value - _ag.lgamma(self.concentration)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return _ag.special.gammainc(self.concentration, self.rate * value)

    def entropy(self):
        return self.concentration - _ag.log(self.rate) + _ag.lgamma(self.concentration) \
            + (1.0 - self.concentration) * _ag.digamma(self.concentration)

    # ---- natural parameters (ExponentialFamily) -----------------------------------------------
    _mean_carrier_measure = 0

    @property
    def _natural_params(self):
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x, y):
        return _ag.lgamma(x + 1) + (x + 1) * _ag.log(-y.reciprocal())


class Chi2(Gamma):
    """Gamma(df / 2, 1 / 2)."""
    arg_constraints = {"df": constraints.positive}
    _expand_names = ("concentration", "rate")

    def __init__(self, df, validate_args=None):
        init_broadcast(self, ("concentration", "rate"), (0.5 * df, 0.5), validate_args)

    @property
    def df(self):
        return self.concentration * 2
