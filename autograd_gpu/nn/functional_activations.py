"""ag.nn.functional's activations beyond relu/tanh/sigmoid/gelu (re-exported by
functional.py).

The ones PyTorch records as one node saving the input are one node here too
(ops/pointwise.py: the ELU family and the piecewise-linear ones, whose
gradient under create_graph is a node taking the input, as PyTorch's). The
others are composed of public Tensor ops (mostly `where`), so gradients,
create_graph and the CUDA path come with them. Two rules keep the gradients
PyTorch's: the branch conditions are PyTorch's own comparisons (which side a
kink or a NaN falls on), and a branch that is not taken never sees an input
that would overflow (its zero gradient times an infinite local derivative
would be NaN), hence the `where(cond, x, 0)` operands."""
import numbers

import numpy as np

from .. import _dtype
from ..ops.tied import as_one_node
from ..ops.inplace import apply_in_place
from ..ops.pointwise import (Celu, CeluInPlace, Elu, EluInPlace, Hardshrink, Hardsigmoid, Hardswish, Hardtanh,
                             LeakyRelu, LeakyReluInPlace, LogSigmoid, Mish, RreluWithNoise, RreluWithNoiseInPlace,
                             RreluWithNoiseTrainingInPlace, Silu, Softplus, Softshrink, Threshold, ThresholdInPlace,
                             where)
from .functional import _same_device, _softmax_dim, _tensor_arg, relu
from ..amp import cast_at_entry

__all__ = ["threshold", "threshold_", "relu_", "hardtanh", "hardtanh_", "relu6", "elu", "elu_", "selu",
           "selu_", "celu", "celu_", "leaky_relu", "leaky_relu_", "prelu", "glu", "logsigmoid", "hardshrink",
           "tanhshrink", "softsign", "softplus", "softmin", "softshrink", "hardsigmoid", "silu", "mish",
           "hardswish", "rrelu", "rrelu_", "gumbel_softmax"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_C_TYPES = {"uint8": "uint8_t", "int8": "int8_t", "int16": "int16_t", "int32": "int", "int64": "int64_t"}


# ---- argument checks -------------------------------------------------------------------

def _number(fn, name, pos, v):
    if not isinstance(v, numbers.Real):
        raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be Number, not {type(v).__name__}")
    return v


def _floating(fn, kernel, input):
    """PyTorch's kernels for these functions exist for floating dtypes only."""
    if not input.dtype.is_floating_point:
        dev = "cuda" if input.is_cuda else "cpu"
        raise NotImplementedError(f"{fn}: \"{kernel}_{dev}\" not implemented for '{input.dtype.libtorch}'")


def _pointwise(fn, input, inplace, f, f_=None):
    """f(input), or with `inplace` written into `input` as PyTorch records the
    in-place form: by f_, the op whose node keeps the result (EluBackward1), or
    else by f, whose node then keeps the input's old values (ThresholdBackward0's
    copy, as PyTorch's); the version counter, history and in-place errors as for
    any in-place op."""
    if not inplace:
        return f(input)
    return apply_in_place(input, fn + "_", f_ or f)


# ---- threshold, relu-likes, hardtanh ------------------------------------------------------

def threshold(input, threshold, value, inplace=False):
    """value where input <= threshold, else input."""
    return _threshold(input, threshold, value, inplace)


def threshold_(input, threshold, value):
    return _threshold(input, threshold, value, True)


def _threshold(input, threshold, value, inplace):
    _tensor_arg(input, "threshold", "input")
    _number("threshold", "threshold", 2, threshold)
    _number("threshold", "value", 3, value)
    if input.dtype is _dtype.bool_:
        _floating("threshold", "threshold", input)
    if not input.dtype.is_floating_point:
        value = int(value)                  # cast to the tensor's type, as PyTorch's Scalar
        info = np.iinfo(input.dtype.np)
        if not info.min <= value <= info.max:
            raise RuntimeError(f"threshold: value cannot be converted to type {_C_TYPES[input.dtype.name]} "
                               f"without overflow (value {value})")
    return _pointwise("threshold", input, inplace, lambda x: Threshold.apply1(x, threshold, value),
                      lambda x: ThresholdInPlace.apply1(x, threshold, value))


def relu_(input):
    return relu(input, inplace=True)


def _hardtanh(fn, input, min_val, max_val, inplace):
    _tensor_arg(input, fn, "input")
    _number(fn, "min_val", 2, min_val)
    _number(fn, "max_val", 3, max_val)
    if min_val > max_val:
        raise ValueError(f"{fn}: min_val cannot be greater than max_val (min_val={min_val}, max_val={max_val})")
    if input.dtype is _dtype.bool_:
        raise RuntimeError(f"{fn}: Bool inputs not supported for hardtanh")
    if not input.dtype.is_floating_point:
        if input.dtype is _dtype.uint8 and (min_val < 0 or max_val < 0):
            raise RuntimeError(f"{fn}: cannot do hardtanh on an unsigned type with negative limits "
                               f"(min_val={min_val}, max_val={max_val})")
        lo, hi = int(min_val), int(max_val)
        return _pointwise(fn, input, inplace, lambda x: x.clamp(lo, hi))

    # (no gradient at either bound, where clamp's passes; NaN passes through)
    return _pointwise(fn, input, inplace, lambda x: Hardtanh.apply1(x, min_val, max_val))


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """input clamped to [min_val, max_val]; zero gradient at the bounds."""
    return _hardtanh("hardtanh", input, min_val, max_val, inplace)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return _hardtanh("hardtanh", input, min_val, max_val, True)


def relu6(input, inplace=False):
    """min(max(input, 0), 6): hardtanh(input, 0, 6)."""
    return _hardtanh("relu6", input, 0.0, 6.0, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """input where input > 0, else negative_slope * input."""
    _tensor_arg(input, "leaky_relu", "input")
    _number("leaky_relu", "negative_slope", 2, negative_slope)
    _floating("leaky_relu", "leaky_relu", input)
    return _pointwise("leaky_relu", input, inplace, lambda x: LeakyRelu.apply1(x, negative_slope),
                      lambda x: LeakyReluInPlace.apply1(x, negative_slope))


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


# ---- the ELU family ------------------------------------------------------------------------

def _elu(fn, input, alpha, scale, input_scale, inplace):
    """scale * (x if x > 0 else alpha * (exp(x * input_scale) - 1)): elu, selu, celu."""
    _tensor_arg(input, fn, "input")
    _floating(fn, "elu", input)
    op, op_ = (Celu, CeluInPlace) if fn == "celu" else (Elu, EluInPlace)
    return _pointwise(fn, input, inplace, lambda x: op.apply1(x, alpha, scale, input_scale),
                      lambda x: op_.apply1(x, alpha * scale, scale, input_scale))


def elu(input, alpha=1.0, inplace=False):
    """input where input > 0, else alpha * (exp(input) - 1)."""
    _number("elu", "alpha", 2, alpha)
    return _elu("elu", input, alpha, 1, 1, inplace)


def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


def selu(input, inplace=False):
    """scale * elu(input, alpha) with the self-normalising constants."""
    return _elu("selu", input, _SELU_ALPHA, _SELU_SCALE, 1, inplace)


def selu_(input):
    return selu(input, inplace=True)


def celu(input, alpha=1.0, inplace=False):
    """input where input > 0, else alpha * (exp(input / alpha) - 1)."""
    _number("celu", "alpha", 2, alpha)
    if alpha == 0:
        raise RuntimeError("celu: ZeroDivisionError: alpha cannot be 0 for CELU")
    return _elu("celu", input, alpha, 1, 1.0 / alpha, inplace)


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


# ---- smooth ones -----------------------------------------------------------------------------

@cast_at_entry
def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta * input)) / beta; linear where beta * input > threshold."""
    _tensor_arg(input, "softplus", "input")
    _number("softplus", "beta", 2, beta)
    _number("softplus", "threshold", 3, threshold)
    _floating("softplus", "softplus", input)
    return Softplus.apply1(input, beta, threshold)


def silu(input, inplace=False):
    """input * sigmoid(input)."""
    _tensor_arg(input, "silu", "input")
    _floating("silu", "silu", input)
    return _pointwise("silu", input, inplace, Silu.apply1)


def mish(input, inplace=False):
    """input * tanh(softplus(input))."""
    _tensor_arg(input, "mish", "input")
    _floating("mish", "mish", input)
    return _pointwise("mish", input, inplace, Mish.apply1)


def logsigmoid(input):
    """log(sigmoid(input)), as min(x, 0) - log1p(exp(-|x|)): no overflow."""
    _tensor_arg(input, "logsigmoid", "input")
    _floating("logsigmoid", "log_sigmoid", input)
    return LogSigmoid.apply1(input)


def softsign(input):
    """input / (1 + |input|)."""
    _tensor_arg(input, "softsign", "input")
    if input.dtype is _dtype.bool_:
        _floating("softsign", "abs", input)
    return input / (input.abs() + 1)


def tanhshrink(input):
    """input - tanh(input)."""
    _tensor_arg(input, "tanhshrink", "input")
    if input.dtype is _dtype.bool_:
        raise RuntimeError("tanhshrink: Subtraction, the `-` operator, with a bool tensor is not supported. If you "
                           "are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
    return input - input.tanh()


# ---- shrinkage -------------------------------------------------------------------------------

def softshrink(input, lambd=0.5):
    """input - lambd above lambd, input + lambd below -lambd, 0 between (inclusive)."""
    _tensor_arg(input, "softshrink", "input")
    _number("softshrink", "lambd", 2, lambd)
    _floating("softshrink", "softshrink", input)
    top = float(np.finfo(input.dtype.np).max)
    if not 0 <= lambd <= top:
        raise RuntimeError(f"softshrink: lambda must be in range [0, {top:g}] for input dtype "
                           f"{input.dtype.libtorch}, but found {lambd}")
    return Softshrink.apply1(input, lambd)


def hardshrink(input, lambd=0.5):
    """0 where -lambd <= input <= lambd, else input."""
    _tensor_arg(input, "hardshrink", "input")
    _number("hardshrink", "lambd", 2, lambd)
    _floating("hardshrink", "hardshrink", input)
    return Hardshrink.apply1(input, lambd)


# ---- piecewise-linear sigmoid and swish ----------------------------------------------------

def hardsigmoid(input, inplace=False):
    """relu6(input + 3) / 6."""
    _tensor_arg(input, "hardsigmoid", "input")
    _floating("hardsigmoid", "hardsigmoid", input)
    return _pointwise("hardsigmoid", input, inplace, Hardsigmoid.apply1)


def hardswish(input, inplace=False):
    """input * relu6(input + 3) / 6."""
    _tensor_arg(input, "hardswish", "input")
    _floating("hardswish", "hardswish", input)
    return _pointwise("hardswish", input, inplace, Hardswish.apply1)


# ---- with a weight, along a dim ----------------------------------------------------------------

@cast_at_entry
def prelu(input, weight):
    """input where input > 0, else weight * input; weight has one value, or
    one per channel (dim 1 of the input)."""
    _tensor_arg(input, "prelu", "input")
    _tensor_arg(weight, "prelu", "weight")
    if weight.dim() > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.dim()}")
    if input.dtype is not weight.dtype:
        raise RuntimeError(f"prelu: Type promoting not supported. Got {input.dtype.libtorch} and "
                           f"{weight.dtype.libtorch}")
    _same_device("prelu", input, weight, "input", "weight")
    n = weight.numel()
    if n == 1:
        w = weight.reshape(())
    else:
        if input.dim() == 0:
            raise RuntimeError(f"prelu: Not allow zero-dim input tensor (weight has {n} parameters).")
        channels = input.shape[1] if input.dim() > 1 else 1
        if channels != n:
            raise RuntimeError(f"prelu: Mismatch of parameter numbers and input channel size. Found parameter "
                               f"numbers = {n} and channel size = {channels} (input shape {list(input.shape)}).")
        w = weight.reshape((n,) + (1,) * (input.dim() - 2))
    _floating("prelu", "prelu", input)
    pos = input > 0
    # the negative part alone meets the weight: an infinite positive input gives it no NaN gradient.
    # At 0 the weight is a constant: PyTorch's d2y/dw dx is 0 there (while dy/dx is the weight)
    y = where(pos, input, where(input == 0, w.detach() * input, w * where(pos, 0.0, input)))
    return as_one_node(y, "PreluKernelBackward0", "_prelu_kernel", (input, w))


def glu(input, dim=-1):
    """a * sigmoid(b), a and b the halves of input along dim."""
    _tensor_arg(input, "glu", "input")
    if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
        raise TypeError(f"glu(): argument 'dim' (position 2) must be int, not {type(dim).__name__}")
    nd = input.dim()
    if nd == 0:
        raise RuntimeError("glu: glu does not support scalars because halving size must be even")
    if not -nd <= dim < nd:
        raise IndexError(f"glu: Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {dim})")
    size = input.shape[dim]
    if size % 2:
        raise RuntimeError(f"glu: Halving dimension must be even, but dimension {dim % nd} is size {size}")
    _floating("glu", "glu", input)
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-input, dim)."""
    _tensor_arg(input, "softmin", "input")
    dim = _softmax_dim("softmin", input.dim(), dim)
    nd = max(input.dim(), 1)
    if not -nd <= dim < nd:
        raise IndexError(f"softmin: Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got "
                         f"{dim})")
    if dtype is not None:
        input = input.to(dtype)
    if input.dtype is _dtype.bool_:
        raise RuntimeError("softmin: Negation, the `-` operator, on a bool tensor is not supported. If you are "
                           "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"softmin: \"softmax_lastdim_kernel_impl\" not implemented for "
                                  f"'{input.dtype.libtorch}'")
    return (-input).softmax(dim)



# ---- randomised ---------------------------------------------------------------------------------

def _check_bounds(fn, lower, upper):
    _number(fn, "lower", 2, lower)
    _number(fn, "upper", 3, upper)
    if lower > upper:
        raise RuntimeError(f"{fn}: Lower bound should be less than or equal to the upper bound (lower={lower}, "
                           f"upper={upper})")


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """x where x > 0, else a x: in training a ~ U(lower, upper) drawn per
    element (from the library's generator), otherwise a = (lower + upper) / 2."""
    _tensor_arg(input, "rrelu", "input")
    _check_bounds("rrelu", lower, upper)
    _floating("rrelu", "rrelu_with_noise", input)
    if training:
        from ..creation import rand
        slope = (rand(tuple(input.shape), device=input.device, dtype=input.dtype) * (upper - lower) + lower)
        if not inplace:
            return as_one_node(where(input > 0, input, input * slope), "RreluWithNoiseBackward0", "rrelu_with_noise",
                               (input,))
        noise = where(input.detach() > 0, 1.0, slope)._data        # (PyTorch's noise: 1 where x > 0)
        return apply_in_place(input, "rrelu_", RreluWithNoiseTrainingInPlace.apply1, noise)
    mean = (lower + upper) / 2
    return _pointwise("rrelu", input, inplace, lambda x: RreluWithNoise.apply1(x, mean),
                      lambda x: RreluWithNoiseInPlace.apply1(x, mean))


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, True)


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """softmax((logits + g) / tau) along dim, g Gumbel(0, 1) noise from the
    library's generator; hard=True returns the one-hot of its argmax whose
    gradient is the soft sample's (straight-through)."""
    _tensor_arg(logits, "gumbel_softmax", "logits")
    if not logits.is_floating_point():
        raise RuntimeError(f"gumbel_softmax: expected floating point logits, got {logits.dtype.libtorch}")
    from ..creation import rand, zeros_like
    u = rand(tuple(logits.shape), device=logits.device, dtype=logits.dtype)
    gumbels = -(-(-u).log1p()).log()               # -log(E), E = -log(1 - u) ~ Exp(1)
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.detach().argmax(dim, keepdim=True)
    y_hard = zeros_like(logits).scatter(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft
