"""VonMises(loc, concentration): the circular normal on angles (any real value, read modulo 2 pi).
log I0 and log I1 come from Abramowitz and Stegun's polynomial fits (9.8.1 to 9.8.4, relative
error about 1e-7), as torch's, so values and gradients agree with torch's. Draws: Best and
Fisher's rejection sampler (1979), in float64 array code from the library's generator."""
import math

import autograd_gpu as _ag
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all, lazy_property

__all__ = ["VonMises"]

# coefficients in y = (x / 3.75)^2 below x = 3.75 (I0, then I1 / x), and in y = 3.75 / x above
# (x^(1/2) e^(-x) I0 and I1): A&S 9.8.1, 9.8.3, 9.8.2, 9.8.4
_SMALL = {0: (1.0, 3.5156229, 3.0899424, 1.2067492, 0.2659732, 0.360768e-1, 0.45813e-2),
          1: (0.5, 0.87890594, 0.51498869, 0.15084934, 0.2658733e-1, 0.301532e-2, 0.32411e-3)}
_LARGE = {0: (0.39894228, 0.1328592e-1, 0.225319e-2, -0.157565e-2, 0.916281e-2, -0.2057706e-1, 0.2635537e-1,
              -0.1647633e-1, 0.392377e-2),
          1: (0.39894228, -0.3988024e-1, -0.362018e-2, 0.163801e-2, -0.1031555e-1, 0.2282967e-1, -0.2895312e-1,
              0.1787654e-1, -0.420059e-2)}


def _polynomial(y, coefficients):
    """sum_k c_k y^k by Horner's rule."""
    result = coefficients[-1]
    for c in reversed(coefficients[:-1]):
        result = c + y * result
    return result


def _log_modified_bessel(x, order):
    """log I_order(x) for x > 0, order 0 or 1."""
    small = _polynomial((x / 3.75).pow(2), _SMALL[order])
    if order == 1:
        small = x.abs() * small
    large = x - 0.5 * x.log() + _polynomial(3.75 / x, _LARGE[order]).log()
    return _ag.where(x < 3.75, small.log(), large)


def _rejection_sample(loc, concentration, proposal_r, shape):
    """Best and Fisher's wrapped-Cauchy envelope: accepted angles f = acos(...) with a random sign,
    shifted by loc and wrapped into [-pi, pi). float64 arrays; loops until every element is accepted."""
    x = _ag.zeros(shape, dtype=loc.dtype, device=loc.device)
    done = _ag.zeros(shape, dtype=_ag.bool, device=loc.device)
    while x.numel() and not bool(done.all().item()):
        u1, u2, u3 = _ag.rand((3,) + tuple(shape), dtype=loc.dtype, device=loc.device).unbind(0)
        z = _ag.cos(math.pi * u1)
        f = (1 + proposal_r * z) / (proposal_r + z)
        c = concentration * (proposal_r - f)
        accept = ((c * (2 - c) - u2) > 0) | ((c / u2).log() + 1 - c >= 0)
        take = accept & ~done
        x = _ag.where(take, (u3 - 0.5).sign() * f.acos(), x)
        done = done | accept
    return (x + math.pi + loc) % (2 * math.pi) - math.pi


class VonMises(Distribution):
    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = broadcast_all(loc, concentration)
        Distribution.__init__(self, tuple(self.loc.shape), (), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        """A new VonMises of the expanded parameters (torch's: its cached float64 copies are not expanded)."""
        batch_shape = tuple(batch_shape)
        return type(self)(self.loc.expand(batch_shape), self.concentration.expand(batch_shape),
                          validate_args=self.__dict__.get("_validate_args"))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        log_prob = self.concentration * _ag.cos(value - self.loc)
        return log_prob - math.log(2 * math.pi) - _log_modified_bessel(self.concentration, order=0)

    @lazy_property
    def _loc(self):
        return self.loc.to(_ag.float64)

    @lazy_property
    def _concentration(self):
        return self.concentration.to(_ag.float64)

    @lazy_property
    def _proposal_r(self):
        """The envelope's r = (1 + rho^2) / (2 rho); 1 / kappa + kappa below kappa = 1e-5 (where rho underflows)."""
        kappa = self._concentration
        tau = 1 + (1 + 4 * kappa.pow(2)).sqrt()
        rho = (tau - (2 * tau).sqrt()) / (2 * kappa)
        return _ag.where(kappa < 1e-5, 1 / kappa + kappa, (1 + rho.pow(2)) / (2 * rho))

    def sample(self, sample_shape=()):
        """Draws in float64 (in float32 the envelope test stalls for kappa near 1e-4), returned in loc's dtype."""
        with _ag.no_grad():
            shape = self._extended_shape(sample_shape)
            x = _rejection_sample(self._loc.detach(), self._concentration.detach(), self._proposal_r.detach(), shape)
            return x.to(self.loc.dtype)

    @property
    def mean(self):
        """The circular mean."""
        return self.loc

    @property
    def mode(self):
        return self.loc

    @lazy_property
    def variance(self):
        """The circular variance, 1 - I1(kappa) / I0(kappa)."""
        return 1 - (_log_modified_bessel(self.concentration, order=1)
                    - _log_modified_bessel(self.concentration, order=0)).exp()
