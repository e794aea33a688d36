"""`Linear`: y = x @ W.T + b, initialised as PyTorch does."""
import math

from ..creation import empty
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


def make_weight_and_bias(module, weight_shape, bias, device, dtype):
    """module.weight of weight_shape and module.bias of weight_shape[0] (or None),
    not yet initialised (Linear's and Conv's)."""
    module.weight = Parameter(empty(*weight_shape, device=device, dtype=dtype))
    if bias:
        module.bias = Parameter(empty(weight_shape[0], device=device, dtype=dtype))
    else:
        module.register_parameter("bias", None)


def reset_weight_and_bias(weight, bias, fan_in):
    """PyTorch's default for Linear and Conv: the weight kaiming-uniform with
    a = sqrt(5), the bias U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


class Linear(Module):
    """Affine map from `in_features` to `out_features` over the last dimension.

    weight (out_features, in_features) and bias (out_features,) start as
    PyTorch's: kaiming_uniform(a=sqrt(5)) for the weight, i.e.
    U(-1/sqrt(in_features), 1/sqrt(in_features)), and the same bound for the bias."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, int) or isinstance(n, bool):
                raise TypeError(f"Linear(): {name} must be an int, got {type(n).__name__}")
            if n < 0:
                raise ValueError(f"Linear(): {name} must be >= 0, got {n}")
        self.in_features = in_features
        self.out_features = out_features
        make_weight_and_bias(self, (out_features, in_features), bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        reset_weight_and_bias(self.weight, self.bias, self.in_features)

    def forward(self, input):
        weight, bias = self.weight, self.bias
        F._check_linear(input, weight, bias, self._describe)
        return F._linear(input, weight, bias)

    def _describe(self):
        return f"Linear(in_features={self.in_features}, out_features={self.out_features})"

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
