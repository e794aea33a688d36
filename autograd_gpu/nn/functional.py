"""`ag.nn.functional` (`import autograd_gpu.nn.functional as F`): the
stateless forms of layers, activations and losses, as in PyTorch.

Built from public Tensor ops only, so every function is differentiable on
either device and under `create_graph`. Arguments are checked before any
computation, and errors name the function and the offending shapes/dtypes."""
import math
import warnings

import numpy as np

from .. import _dtype
from ..autograd.grad_mode import is_grad_enabled
from ..ops.linalg import Addmm
from ..ops._util import broadcastable
from ..ops.loss import MseLoss, NllLoss
from ..ops.pointwise import Gelu
from ..ops.tied import as_one_node
from ..tensor import Tensor
from .parameter import Parameter
from ..amp import cast_at_entry, casts_at_entry
from .._warn import warn_at_caller

_REDUCTIONS = ("none", "mean", "sum")


# ---- argument checks ------------------------------------------------------------------

def _tensor_arg(x, fn, arg):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' must be Tensor, not {type(x).__name__}")
    return x


def _legacy_reduction(size_average, reduce, reduction):
    """PyTorch's deprecated size_average / reduce pair, turned into a reduction."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = "none" if not reduce else ("mean" if size_average else "sum")
    warn_at_caller(f"size_average and reduce args will be deprecated, please use reduction='{ret}' instead.",
                   UserWarning)
    return ret


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction (expected 'none', 'mean' or 'sum')")


def _same_device(fn, a, b, what_a, what_b):
    if a.device != b.device:
        raise RuntimeError(f"{fn}: expected all tensors to be on the same device, but {what_a} is on "
                           f"{a.device} and {what_b} on {b.device}")


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


# ---- activations ----------------------------------------------------------------------

def relu(input, inplace=False):
    _tensor_arg(input, "relu", "input")
    return input.relu_() if inplace else input.relu()


def tanh(input):
    return _tensor_arg(input, "tanh", "input").tanh()


def sigmoid(input):
    return _tensor_arg(input, "sigmoid", "input").sigmoid()


def gelu(input, approximate="none"):
    """x * Phi(x), Phi the standard normal CDF; approximate="tanh": PyTorch's
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    _tensor_arg(input, "gelu", "input")
    if not isinstance(approximate, str):
        raise TypeError(f"gelu(): argument 'approximate' must be str, not {type(approximate).__name__}")
    if approximate not in ("none", "tanh"):
        raise RuntimeError("gelu: approximate argument must be either none or tanh.")
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"gelu: \"GeluKernelImpl\" not implemented for '{input.dtype.libtorch}'")
    return Gelu.apply1(input, approximate == "tanh")


def _softmax_dim(fn, ndim, dim):
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {fn} has been deprecated. Change the call to include "
                      "dim=X as an argument.", UserWarning, stacklevel=4)
        return 0 if ndim in (0, 1, 3) else 1
    return dim


def _softmax_like(fn, input, dim, dtype):
    _tensor_arg(input, fn, "input")
    dim = _softmax_dim(fn, input.dim(), dim)
    if dtype is not None:
        input = input.to(dtype)
    return getattr(input, fn)(dim)


# (_stacklevel: PyTorch's third parameter, for its implicit-dim warning; kept so that a
# positional dtype lands where it does in PyTorch)
def softmax(input, dim=None, _stacklevel=3, dtype=None):
    return _softmax_like("softmax", input, dim, dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    return _softmax_like("log_softmax", input, dim, dtype)


# ---- linear ----------------------------------------------------------------------------

def _check_linear(input, weight, bias, who):
    """Shapes, dtypes and devices of a linear layer's operands, checked up
    front (the matmul's own error would not say which layer failed). `who`
    names the layer: a string, or a function making it (only for an error)."""
    if type(input) is Tensor and type(weight) in _TENSOR_TYPES:
        # the common case in one expression; anything else gets the checks below, which explain
        d, w = input._data, weight._data
        if (w.ndim == 2 and d.ndim and d.shape[-1] == w.shape[1] and d.dtype == w.dtype
                and input._backend is weight._backend
                and (bias is None or type(bias) in _TENSOR_TYPES and bias._backend is weight._backend
                     and bias._data.dtype == w.dtype and bias._data.shape in ((w.shape[0],), ()))):
            return
    if not isinstance(who, str):
        who = who()
    _tensor_arg(input, who, "input")
    _tensor_arg(weight, who, "weight")
    if weight.dim() != 2:
        raise RuntimeError(f"{who}: weight must be 2-D (out_features, in_features), got shape "
                           f"{list(weight.shape)}")
    if input.dim() == 0:
        raise RuntimeError(f"{who}: input must have at least 1 dimension, got a 0-d tensor")
    in_features = weight.shape[1]
    if input.shape[-1] != in_features:
        raise RuntimeError(f"{who}: expected input with {in_features} features in its last dimension, "
                           f"got input of shape {list(input.shape)} (weight shape {list(weight.shape)})")
    if input.dtype is not weight.dtype and not casts_at_entry((input, weight)):      # (autocast: cast next)
        raise RuntimeError(f"{who}: input dtype {input.dtype.libtorch} does not match the weight dtype "
                           f"{weight.dtype.libtorch}; convert one of them, e.g. input.to({weight.dtype})")
    _same_device(who, input, weight, "input", "weight")
    if bias is not None:
        _tensor_arg(bias, who, "bias")
        if tuple(bias.shape) not in ((weight.shape[0],), ()):
            raise RuntimeError(f"{who}: bias must have shape [{weight.shape[0]}] (out_features), got "
                               f"{list(bias.shape)}")
        if bias.dtype is not weight.dtype and not casts_at_entry((bias, weight)):
            raise RuntimeError(f"{who}: bias dtype {bias.dtype.libtorch} does not match the weight dtype "
                               f"{weight.dtype.libtorch}")
        _same_device(who, bias, weight, "bias", "weight")


_TENSOR_TYPES = (Tensor, Parameter)


@cast_at_entry
def linear(input, weight, bias=None):
    """y = input @ weight.T + bias; input (*, in_features), weight (out_features, in_features)."""
    _check_linear(input, weight, bias, "linear")
    return _linear(input, weight, bias)


@cast_at_entry
def _linear(input, weight, bias):
    if bias is not None:
        if input.dim() == 2:
            return Addmm.applyN((bias, input, weight.t()))     # one node, as PyTorch's F.linear
        if input.is_contiguous():
            # as PyTorch: the other dims viewed as rows around one addmm (ViewBackward0 either side)
            batch = tuple(input.shape[:-1])
            rows = Addmm.applyN((bias, input.view(math.prod(batch), input.shape[-1]), weight.t()))
            return rows.view(*batch, weight.shape[0])
    out = input.matmul(weight.t())
    # bias first: a Parameter as the left operand works on every core version
    return out if bias is None else bias + out


# ---- losses ------------------------------------------------------------------------------

def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error: ((input - target) ** 2), reduced by `reduction`; with `weight` (input's
    shape), weight * (input - target) ** 2, whose mean is divided by the weights' sum (PyTorch's)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _tensor_arg(input, "mse_loss", "input")
    _tensor_arg(target, "mse_loss", "target")
    _check_reduction(reduction)
    if input.shape != target.shape:
        if not broadcastable(input.shape, target.shape):
            raise RuntimeError(f"mse_loss: the size of input {list(input.shape)} and target "
                               f"{list(target.shape)} do not match and cannot be broadcast")
        warn_at_caller(f"Using a target size ({list(target.shape)}) that is different to the input size "
                       f"({list(input.shape)}). This will likely lead to incorrect results due to broadcasting. "
                       "Please ensure they have the same size.", UserWarning)
    if not input.is_floating_point():
        raise RuntimeError(f"mse_loss: expected a floating point input, got {input.dtype.libtorch}")
    _same_device("mse_loss", input, target, "input", "target")
    if weight is not None:
        if tuple(weight.shape) != tuple(input.shape):
            raise ValueError("Weights and input must have the same size.")
        weighted = (input - target).pow(2) * weight
        if reduction == "none":
            return weighted
        return weighted.sum() if reduction == "sum" else weighted.sum() / weight.sum()
    return MseLoss.apply2(input, target, reduction)


def _class_layout(fn, input):
    """(class dim, number of classes) of a loss input: (C,) or (N, C, d1, ...)."""
    _tensor_arg(input, fn, "input")
    if not input.is_floating_point():
        raise RuntimeError(f"{fn}: expected a floating point input (scores per class), got "
                           f"{input.dtype.libtorch}")
    if input.dim() == 0:
        raise RuntimeError(f"{fn}: input must have a class dimension: shape (C,) or (N, C, ...), got a 0-d "
                           "tensor")
    c_dim = 0 if input.dim() == 1 else 1
    return c_dim, input.shape[c_dim]


def _check_class_targets(fn, input, target, c_dim, n_classes, ignore_index):
    """Class-index targets: int64 (or uint8), shaped as input without the class
    dim, in [0, C) or ignore_index. Returns the ignore_index the loss must
    mask, None when no target can be it (the default -100 with valid targets)."""
    if target.dtype not in (_dtype.int64, _dtype.uint8):
        raise RuntimeError(f"{fn}: expected target dtype to be Long or Byte (class indices), but got "
                           f"{target.dtype.libtorch}")
    if target.dtype is _dtype.uint8 and input.dim() > 2:      # (libtorch's nll_loss2d takes Long only)
        raise RuntimeError(f"{fn}: expected scalar type Long but found Byte (the target of a loss over "
                           f"{input.dim()}-d scores)")
    expected = tuple(input.shape[:c_dim]) + tuple(input.shape[c_dim + 1:])
    if tuple(target.shape) != expected:
        if input.dim() == 2 and target.dim() == 1:
            raise ValueError(f"{fn}: Expected input batch_size ({input.shape[0]}) to match target batch_size "
                             f"({target.shape[0]}).")
        if input.dim() <= 2 and target.dim() > 1:
            raise RuntimeError(f"{fn}: 0D or 1D target tensor expected, multi-target not supported (input "
                               f"shape {list(input.shape)}, target shape {list(target.shape)})")
        raise RuntimeError(f"{fn}: Expected target size {list(expected)}, got {list(target.shape)} (input "
                           f"shape {list(input.shape)})")
    _same_device(fn, input, target, "input", "target")
    t = target._data
    if not t.size:
        return None
    # the range first, on the arrays (on cuda: one device sync, as the check needs the answer)
    if target._backend.is_cuda:
        lo, hi = (int(v) for v in target._backend.to_host(target._backend.xp.stack((t.min(), t.max()))))
    else:
        lo, hi = int(t.min()), int(t.max())
    if 0 <= lo and hi < n_classes:
        return ignore_index if ignore_index is not None and lo <= ignore_index <= hi else None
    t = t.astype(np.int64, copy=False)
    out = (t < 0) | (t >= n_classes)
    if ignore_index is not None:
        out &= t != ignore_index
    if out.any():
        bad = t[out]
        lo = int(bad.min())
        raise IndexError(f"{fn}: Target {lo if lo < 0 else int(bad.max())} is out of bounds (expected class "
                         f"indices in [0, {n_classes}) or ignore_index={ignore_index})")
    return ignore_index


def _check_weight(fn, weight, input, n_classes):
    if weight is None:
        return
    _tensor_arg(weight, fn, "weight")
    if tuple(weight.shape) != (n_classes,):
        raise RuntimeError(f"{fn}: weight tensor should be defined either for all {n_classes} classes or no "
                           f"classes but got weight tensor of shape: {list(weight.shape)}")
    if weight.dtype is not input.dtype:
        raise RuntimeError(f"{fn}: weight dtype {weight.dtype.libtorch} does not match the input dtype "
                           f"{input.dtype.libtorch}")
    _same_device(fn, input, weight, "input", "weight")


def _check_weight_needs_no_grad(fn, weight):
    """Class-index losses do not differentiate the class weights (libtorch's
    nll_loss_forward refuses a weight that requires grad, rather than drop
    its gradient)."""
    if weight is not None and weight.requires_grad and is_grad_enabled():
        raise RuntimeError(f"{fn}: The function 'nll_loss_forward' is not differentiable with respect to "
                           "argument 'weight'. This input cannot have requires_grad True.")


def _flatten_classes(input, target, c_dim, n_classes):
    """(M, C) scores and (M,) targets: the class dim last, everything else flattened."""
    if c_dim == 0:
        return input.reshape(1, n_classes), target.reshape(1)
    if input.dim() > 2:
        input = input.movedim(1, -1)
    return input.reshape(-1, n_classes), target.reshape(-1)


def _nll(logp, target, weight, ignore_index, reduction, c_dim, n_classes):
    """Negative log-likelihood of class indices given log-probabilities, one
    NllLossBackward0 node on (C,) or (N, C) scores (other layouts are moved
    to (M, C) first). ignore_index: as _check_class_targets returns it."""
    w = None if weight is None else weight._data
    xp = logp._backend.xp
    if logp.dim() <= 2:
        return NllLoss.apply1(logp, target._data, w, ignore_index, reduction, xp)
    lp2, t = _flatten_classes(logp, target, c_dim, n_classes)
    out = NllLoss.apply1(lp2, t._data, w, ignore_index, reduction, xp)
    # PyTorch's: one nll_loss2d node, of (N, C, H, W) or (N, C, 1, rest) viewed back when unreduced
    saved = (logp, target, weight)
    if reduction != "none":
        return as_one_node(out, "NllLoss2DBackward0", "nll_loss2d", saved)
    if logp.dim() == 4:
        return as_one_node(out.reshape(target.shape), "NllLoss2DBackward0", "nll_loss2d", saved)
    rest = math.prod(target.shape[1:])
    return as_one_node(out.reshape(target.shape[0], 1, rest), "NllLoss2DBackward0", "nll_loss2d",
                       saved).view(target.shape)


def _counted_weight(target, weight, ignore_index, dtype):
    """Per target element: its class weight (1 unweighted), 0 where ignored."""
    valid = target != ignore_index
    if weight is None:
        return valid.to(dtype)
    return _where(valid, weight[_where(valid, target, 0)], 0.0)


def _where(cond, a, b):
    from ..ops.pointwise import where
    return where(cond, a, b)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood of class-index targets; `input` holds
    log-probabilities, shape (C,) or (N, C, d1, ...)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    c_dim, n_classes = _class_layout("nll_loss", input)
    _tensor_arg(target, "nll_loss", "target")
    _check_reduction(reduction)
    _check_weight("nll_loss", weight, input, n_classes)
    masked = _check_class_targets("nll_loss", input, target, c_dim, n_classes, ignore_index)
    _check_weight_needs_no_grad("nll_loss", weight)
    return _nll(input, target, weight, masked, reduction, c_dim, n_classes)


@cast_at_entry
def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                  label_smoothing=0.0):
    """Cross-entropy of unnormalised scores `input` (C,) or (N, C, d1, ...)
    against class indices (int64, shaped as input without the class dim) or
    class probabilities (floating, shaped as input). log_softmax then NLL, so
    large scores do not overflow."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    c_dim, n_classes = _class_layout("cross_entropy", input)
    _tensor_arg(target, "cross_entropy", "target")
    _check_reduction(reduction)
    if not isinstance(label_smoothing, (int, float)) or isinstance(label_smoothing, bool) or \
            not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    _check_weight("cross_entropy", weight, input, n_classes)
    probabilities = target.is_floating_point()
    if probabilities:
        if target.shape != input.shape:
            raise RuntimeError(f"cross_entropy: a floating target holds class probabilities and must have the "
                               f"input's shape {list(input.shape)}, got {list(target.shape)}; class-index "
                               "targets must be int64")
        if target.dtype is not input.dtype:
            raise RuntimeError(f"cross_entropy: target dtype {target.dtype.libtorch} does not match the input "
                               f"dtype {input.dtype.libtorch}")
        _same_device("cross_entropy", input, target, "input", "target")
    else:
        masked = _check_class_targets("cross_entropy", input, target, c_dim, n_classes, ignore_index)
        _check_weight_needs_no_grad("cross_entropy", weight)

    logp = input.log_softmax(c_dim)
    if probabilities or label_smoothing > 0:
        w_b = None
        if weight is not None:          # class weights broadcast along the class dim
            w_b = weight.reshape((n_classes,) + (1,) * (input.dim() - c_dim - 1))
    if probabilities:
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / n_classes
        prod = logp * target
        if w_b is not None:
            prod = prod * w_b
        losses = -prod.sum(c_dim)
        if reduction == "mean":
            return losses.sum() / (input.numel() // n_classes if input.numel() else 0)
        return _reduce(losses, reduction)

    nll = _nll(logp, target, weight, masked, reduction, c_dim, n_classes)
    if label_smoothing == 0:
        return nll
    valid = (target != ignore_index)
    smooth = -(logp * w_b).sum(c_dim) if w_b is not None else -logp.sum(c_dim)
    smooth = _where(valid, smooth, 0.0)
    if reduction == "mean":
        smooth = smooth.sum() / _counted_weight(target, weight, ignore_index, input.dtype).sum()
    else:
        smooth = _reduce(smooth, reduction)
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / n_classes)


# the later families of functional forms, each in its own module listing them in __all__
from . import functional_activations, functional_layers, functional_losses, functional_conv  # noqa: E402
from . import functional_norms, functional_resampling, functional_attention, functional_fractional_pool  # noqa: E402
from . import functional_compat  # noqa: E402
for _family in (functional_activations, functional_layers, functional_losses, functional_conv, functional_norms,
                functional_resampling, functional_attention, functional_fractional_pool, functional_compat):
    globals().update({_name: getattr(_family, _name) for _name in _family.__all__})
