"""Activation modules: stateless wrappers of the functional forms (PReLU
holds its slopes as a Parameter). The ones whose only state is an option
shared with others are made by `_activation` from a base and a function."""
import warnings

from ..creation import empty
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["ReLU", "Tanh", "Sigmoid", "GELU", "Threshold", "ReLU6", "Hardtanh", "LeakyReLU", "PReLU", "ELU",
           "SELU", "CELU", "SiLU", "Mish", "Softplus", "Softsign", "Hardsigmoid", "Hardswish", "LogSigmoid",
           "Tanhshrink", "Softshrink", "Hardshrink", "GLU", "Softmax", "LogSoftmax", "Softmin", "RReLU", "Softmax2d"]


def _activation(name, base, fn, doc):
    """A module class `name` applying the functional form `fn` with `base`'s options."""
    return type(name, (base,), {"__doc__": doc, "_fn": staticmethod(fn)})


def _inplace_suffix(inplace):
    return ", inplace=True" if inplace else ""


class _Elementwise(Module):
    """An activation with no option."""

    def forward(self, input):
        return self._fn(input)


class _InplaceElementwise(Module):
    """An activation whose one option is `inplace`."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return self._fn(input, inplace=self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class _InplaceUnprinted(_InplaceElementwise):
    def extra_repr(self):
        return ""                           # (PyTorch prints no inplace flag for Hardsigmoid, Hardswish)


class _AlphaElementwise(Module):
    """ELU and CELU: `alpha` and `inplace`."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return self._fn(input, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}{_inplace_suffix(self.inplace)}"


class _Shrink(Module):
    """Softshrink and Hardshrink: `lambd`."""

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input):
        return self._fn(input, self.lambd)

    def extra_repr(self):
        return str(self.lambd)


class _AlongDim(Module):
    """An activation along one dimension, `dim`."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return self._fn(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


ReLU = _activation("ReLU", _InplaceElementwise, F.relu, "max(x, 0), elementwise.")
Tanh = _activation("Tanh", _Elementwise, F.tanh, "tanh(x), elementwise.")
Sigmoid = _activation("Sigmoid", _Elementwise, F.sigmoid, "1 / (1 + exp(-x)), elementwise.")
ELU = _activation("ELU", _AlphaElementwise, F.elu, "x where x > 0, else alpha * (exp(x) - 1).")
CELU = _activation("CELU", _AlphaElementwise, F.celu, "x where x > 0, else alpha * (exp(x / alpha) - 1).")
SELU = _activation("SELU", _InplaceElementwise, F.selu, "scale * elu(x, alpha), the self-normalising constants.")
SiLU = _activation("SiLU", _InplaceElementwise, F.silu, "x * sigmoid(x).")
Mish = _activation("Mish", _InplaceElementwise, F.mish, "x * tanh(softplus(x)).")
Hardsigmoid = _activation("Hardsigmoid", _InplaceUnprinted, F.hardsigmoid, "relu6(x + 3) / 6.")
Hardswish = _activation("Hardswish", _InplaceUnprinted, F.hardswish, "x * relu6(x + 3) / 6.")
Softsign = _activation("Softsign", _Elementwise, F.softsign, "x / (1 + |x|).")
LogSigmoid = _activation("LogSigmoid", _Elementwise, F.logsigmoid, "log(sigmoid(x)).")
Tanhshrink = _activation("Tanhshrink", _Elementwise, F.tanhshrink, "x - tanh(x).")
Softshrink = _activation("Softshrink", _Shrink, F.softshrink,
                         "x - lambd above lambd, x + lambd below -lambd, 0 between.")
Hardshrink = _activation("Hardshrink", _Shrink, F.hardshrink, "0 where |x| <= lambd, else x.")
Softmax = _activation("Softmax", _AlongDim, F.softmax, "exp(x) / sum(exp(x)) along dim.")
LogSoftmax = _activation("LogSoftmax", _AlongDim, F.log_softmax, "log(softmax(x)) along dim.")
Softmin = _activation("Softmin", _AlongDim, F.softmin, "softmax(-x) along dim.")


class GLU(_AlongDim):
    """a * sigmoid(b), a and b the halves of the input along dim."""
    _fn = staticmethod(F.glu)

    def __init__(self, dim=-1):
        super().__init__(dim)


class GELU(Module):
    """x * Phi(x) (approximate="tanh": PyTorch's tanh form), elementwise."""

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Threshold(Module):
    """value where x <= threshold, else x."""

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input):
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}{_inplace_suffix(self.inplace)}"


class Hardtanh(Module):
    """x clamped to [min_val, max_val] (zero gradient at the bounds).
    min_value / max_value: deprecated spellings, as PyTorch's."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False, min_value=None, max_value=None):
        super().__init__()
        for old, new in (("min_value", min_value), ("max_value", max_value)):
            if new is not None:
                warnings.warn(f"keyword argument `{old}` is deprecated and renamed to `{old[:3]}_val`",
                              FutureWarning, stacklevel=2)
        min_val = min_val if min_value is None else min_value
        max_val = max_val if max_value is None else max_value
        if not max_val > min_val:
            raise AssertionError(f"{type(self).__name__}: max_val ({max_val}) must be greater than min_val "
                                 f"({min_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace_suffix(self.inplace)}"


class ReLU6(Hardtanh):
    """min(max(x, 0), 6)."""

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def forward(self, input):
        return F.relu6(input, self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x where x > 0, else negative_slope * x."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}{_inplace_suffix(self.inplace)}"


class PReLU(Module):
    """x where x > 0, else weight * x; weight: one learnt slope, or one per
    channel (dim 1 of the input), starting at `init`."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(empty(num_parameters, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        init.constant_(self.weight, self.init)

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, linear where beta x > threshold."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class RReLU(Module):
    """x where x > 0, else a x, a ~ U(lower, upper) per element in training
    and (lower + upper) / 2 in eval."""

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input):
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}{_inplace_suffix(self.inplace)}"


class Softmax2d(Module):
    """Softmax over the channels (dim -3) of (N, C, H, W) or (C, H, W) input."""

    def forward(self, input):
        if input.dim() not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.dim()}D instead")
        return F.softmax(input, -3)
