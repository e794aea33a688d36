"""ag.special, after torch.special: the special functions under the names torch.special gives them.

The families (ops/bessel.py, ops/gamma.py, ops/polynomials.py) list theirs in their
SPECIAL dicts. The names below are torch.special's for functions that exist at the
top level: the same functions, or wrappers where torch.special's signature differs
(dim required by softmax, log_softmax and logsumexp; log_softmax's dtype keyword-only)."""
from . import erf, erfc, erfinv, expm1, log1p, logsumexp as _logsumexp, round, softmax as _softmax, \
    log_softmax as _log_softmax, exp2, logit, sinc, xlogy
from .ops import bessel as _bessel, gamma as _gamma, polynomials as _polynomials
from .ops._util import int_arg as _int_arg


def _dim(dim, op_name):
    """torch.special's softmax, log_softmax take an int dim (no None, no tuple)."""
    return _int_arg(dim, op_name, "dim")


def softmax(input, dim, dtype=None):
    """torch.special.softmax(input, dim, dtype=None): dim is required (an int)."""
    return _softmax(input, _dim(dim, "special_softmax"), dtype=dtype)


def log_softmax(input, dim, *, dtype=None):
    """torch.special.log_softmax(input, dim, *, dtype=None): dim is required (an int), dtype keyword-only."""
    return _log_softmax(input, _dim(dim, "special_log_softmax"), dtype=dtype)


def logsumexp(input, dim, keepdim=False):
    """torch.special.logsumexp(input, dim, keepdim=False): dim is required (an int or a tuple of ints)."""
    if dim is None:
        raise TypeError("special_logsumexp(): argument 'dim' must be tuple of ints, not NoneType")
    return _logsumexp(input, dim, keepdim)


_ALIASES = {"erf": erf, "erfc": erfc, "erfinv": erfinv, "exp2": exp2, "expm1": expm1, "log1p": log1p,
            "round": round, "logit": logit, "sinc": sinc, "xlogy": xlogy, "softmax": softmax,
            "log_softmax": log_softmax, "logsumexp": logsumexp}

__all__ = list(_ALIASES)

# the families that give torch.special names to their functions (their own win over the aliases)
for _family in (_bessel, _gamma, _polynomials):
    globals().update(_family.SPECIAL)
    __all__ += [name for name in _family.SPECIAL if name not in __all__]
