"""ag.special, after torch.special: the special functions under the names torch.special gives them."""
from .ops import bessel as _bessel, gamma as _gamma, polynomials as _polynomials

__all__ = []

# the families that give torch.special names to their functions
for _family in (_bessel, _gamma, _polynomials):
    globals().update(_family.SPECIAL)
    __all__ += list(_family.SPECIAL)
