"""The torch.* names of nn.functional's ops (torch.conv2d, torch.layer_norm, ...) and torch's dtype and mode utilities.

The aliases take torch's top-level signatures (which differ from F's: torch.dropout(input, p, train) has no
defaults, the losses take reduction as an int 0/1/2, batch_norm's running stats come after weight and bias) and
call nn.functional, which is imported at the first call: ops is imported before nn, which builds on it."""
import functools
import numbers
import os

import numpy as np

from .. import _dtype
from .. import backend as B
from ..backend.device import default_device
from ..autograd import grad_mode
from ..autograd.grad_mode import inference_mode, is_inference_mode_enabled  # noqa: F401  (published here)
from ..tensor import Tensor
from ._util import check_fits, int_arg, check_generator, generator_engine, drawing_from


def _F():
    from ..nn import functional
    return functional


def _tensor(x, op_name, arg="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op_name}(): argument '{arg}' must be Tensor, not {type(x).__name__}")
    return x


def _bool(v, op_name, arg):
    if type(v) is not bool and not isinstance(v, np.bool_):
        raise TypeError(f"{op_name}(): argument '{arg}' must be bool, not {type(v).__name__}")
    return bool(v)


def _real(v, op_name, arg):
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{op_name}(): argument '{arg}' must be float, not {type(v).__name__}")
    return float(v)


def _reduction(v, op_name):
    """torch's int reduction as F's string: 1 mean, 2 sum, any other int none (torch checks no range)."""
    r = int_arg(v, op_name, "reduction")
    return {1: "mean", 2: "sum"}.get(r, "none")


def _args(op_name, tensors=(), floats=(), optional=()):
    """torch's parser checks the argument types before anything else: (name, value) pairs that must be
    Tensors (or None, for those named in `optional`) and real numbers."""
    for arg, v in tensors:
        if not (isinstance(v, Tensor) or (v is None and arg in optional)):
            raise TypeError(f"{op_name}(): argument '{arg}' must be Tensor, not {type(v).__name__}")
    for arg, v in floats:
        _real(v, op_name, arg)


def _torch_errors(alias):
    """An alias whose errors name it (nn.functional's messages name F's function, or the op it is built on) and
    are of PyTorch's four kinds."""
    name = alias.__name__

    @functools.wraps(alias)
    def call(*args, **kwargs):
        try:
            return alias(*args, **kwargs)
        except (ZeroDivisionError, AssertionError, OverflowError) as e:      # (F's, on arguments torch refuses)
            raise RuntimeError(f"{name}: {e}") from None
        except (TypeError, ValueError, RuntimeError, IndexError) as e:
            if name.rstrip("_") in str(e) or type(e) not in _RENAMABLE:
                raise
            raise type(e)(f"{name}: {e}") from None
    return call


_RENAMABLE = (TypeError, ValueError, RuntimeError, IndexError, NotImplementedError)


def _default_stride(stride):
    """torch's pooling takes stride=[] (its default) for 'the kernel size', as F's None."""
    return None if isinstance(stride, (list, tuple)) and len(stride) == 0 else stride


# ---- convolutions --------------------------------------------------------------------

def _conv(n):
    def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        return getattr(_F(), f"conv{n}d")(input, weight, bias, stride, padding, dilation, groups)
    conv.__name__ = conv.__qualname__ = f"conv{n}d"
    conv.__doc__ = f"torch.conv{n}d: nn.functional.conv{n}d."
    return conv


def _conv_transpose(n):
    def conv_transpose(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
        return getattr(_F(), f"conv_transpose{n}d")(input, weight, bias, stride, padding, output_padding, groups,
                                                    dilation)
    conv_transpose.__name__ = conv_transpose.__qualname__ = f"conv_transpose{n}d"
    conv_transpose.__doc__ = f"torch.conv_transpose{n}d: nn.functional.conv_transpose{n}d."
    return conv_transpose


conv1d, conv2d, conv3d = (_conv(n) for n in (1, 2, 3))
conv_transpose1d, conv_transpose2d, conv_transpose3d = (_conv_transpose(n) for n in (1, 2, 3))


def conv_tbc(input, weight, bias, pad=0):
    """torch.conv_tbc: nn.functional.conv_tbc (a 1-d convolution over (time, batch, channels))."""
    return _F().conv_tbc(input, weight, bias, pad)


# ---- pooling -------------------------------------------------------------------------------

def avg_pool1d(input, kernel_size, stride=(), padding=0, ceil_mode=False, count_include_pad=True):
    """torch.avg_pool1d: nn.functional.avg_pool1d (stride () is the kernel size)."""
    return _F().avg_pool1d(input, kernel_size, _default_stride(stride), padding, ceil_mode, count_include_pad)


def _max_pool(n):
    def max_pool(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
        return getattr(_F(), f"max_pool{n}d")(input, kernel_size, _default_stride(stride), padding, dilation,
                                              ceil_mode)
    max_pool.__name__ = max_pool.__qualname__ = f"max_pool{n}d"
    max_pool.__doc__ = f"torch.max_pool{n}d: nn.functional.max_pool{n}d without return_indices."
    return max_pool


max_pool1d, max_pool2d, max_pool3d = (_max_pool(n) for n in (1, 2, 3))


def max_pool1d_with_indices(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    """(values, indices) of nn.functional.max_pool1d."""
    return _F().max_pool1d(input, kernel_size, _default_stride(stride), padding, dilation, ceil_mode,
                           return_indices=True)


def _output_size(v, op_name):
    """torch's int[1] output_size: an int or a sequence of ints (F also takes None for 'keep the size')."""
    items = v if isinstance(v, (tuple, list)) else (v,)
    for s in items:
        int_arg(s, op_name, "output_size", "tuple of ints")
    return v


def adaptive_avg_pool1d(input, output_size):
    return _F().adaptive_avg_pool1d(input, _output_size(output_size, "adaptive_avg_pool1d"))


def adaptive_max_pool1d(input, output_size):
    """torch.adaptive_max_pool1d: (values, indices), always."""
    return _F().adaptive_max_pool1d(input, _output_size(output_size, "adaptive_max_pool1d"), return_indices=True)


# ---- normalization (torch's argument order: weight and bias before the running stats) ---------------

def _norm_args(op_name, input, eps, *momentum):
    """torch's checks before nn.functional's: float eps (and momentum), an (N, C, ...) input."""
    _tensor(input, op_name)
    for m in momentum:
        _real(m, op_name, "momentum")
    _real(eps, op_name, "eps")
    if input.dim() < 2:
        raise IndexError(f"{op_name}: Dimension out of range (expected to be in range of [-1, 0], but got 1): "
                         f"input of shape {list(input.shape)} has no channel dim")


def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled):
    """torch.batch_norm: nn.functional.batch_norm (cudnn_enabled is ignored)."""
    _norm_args("batch_norm", input, eps, momentum)
    for arg, stat in (("running_mean", running_mean), ("running_var", running_var)):
        if isinstance(stat, Tensor) and stat.numel() != input.shape[1]:
            raise RuntimeError(f"batch_norm: {arg} should contain {input.shape[1]} elements not {stat.numel()}")
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm: running_mean and running_var must either both be None or neither be None")
    return _F().batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, cudnn_enabled):
    """torch.instance_norm: nn.functional.instance_norm (cudnn_enabled is ignored)."""
    _norm_args("instance_norm", input, eps, momentum)
    return _F().instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5, cudnn_enable=True):
    """torch.layer_norm: nn.functional.layer_norm (cudnn_enable is ignored)."""
    return _F().layer_norm(input, normalized_shape, weight, bias, _real(eps, "layer_norm", "eps"))


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5, cudnn_enabled=True):
    """torch.group_norm: nn.functional.group_norm (cudnn_enabled is ignored)."""
    _norm_args("group_norm", input, eps)
    if int_arg(num_groups, "group_norm", "num_groups") <= 0:
        raise RuntimeError(f"group_norm: Expected num groups to be greater than 0, got {num_groups}")
    return _F().group_norm(input, num_groups, weight, bias, eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    return _F().rms_norm(input, normalized_shape, weight, None if eps is None else _real(eps, "rms_norm", "eps"))


# ---- dropout: torch's (input, p, train), no defaults; the *_ forms write input ------------------------

def _dropout_alias(name, call):
    def drop(input, p, train):
        _check_p(name, p)
        return call(input, p, train, False)

    def drop_(input, p, train):
        _check_p(name + "_", p)
        if train is True and isinstance(input, Tensor) and input.is_leaf and input.requires_grad and \
                grad_mode.is_grad_enabled():
            raise RuntimeError(f"{name}_: a leaf Variable that requires grad is being used in an in-place "
                               f"operation.")
        return call(input, p, train, True)
    drop.__name__ = drop.__qualname__ = name
    drop_.__name__ = drop_.__qualname__ = name + "_"
    drop.__doc__ = f"torch.{name}(input, p, train)."
    drop_.__doc__ = f"torch.{name}_(input, p, train): {name} written into input."
    return drop, drop_


def _check_p(op_name, p):
    """torch.dropout's check (a RuntimeError; F.dropout's is a ValueError)."""
    if not isinstance(p, numbers.Real):
        raise TypeError(f"{op_name}(): argument 'p' (position 2) must be float, not {type(p).__name__}")
    if not 0 <= p <= 1:
        raise RuntimeError(f"{op_name}: dropout probability has to be between 0 and 1, but got {p}")


def _feature_dropout(input, p, train, inplace):
    from ..nn.functional_layers import _dropout_impl
    return _dropout_impl("feature_dropout", input, p, train, inplace, True, False)


dropout, dropout_ = _dropout_alias("dropout", lambda x, p, t, i: _F().dropout(x, p, t, i))
alpha_dropout, alpha_dropout_ = _dropout_alias("alpha_dropout", lambda x, p, t, i: _F().alpha_dropout(x, p, t, i))
feature_dropout, feature_dropout_ = _dropout_alias("feature_dropout", _feature_dropout)
feature_alpha_dropout, feature_alpha_dropout_ = _dropout_alias(
    "feature_alpha_dropout", lambda x, p, t, i: _F().feature_alpha_dropout(x, p, t, i))


# ---- embedding, bilinear, distances, shuffles ----------------------------------------------

def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    """torch.embedding (weight first): rows of weight; a padding_idx that is no row index (aten's default -1)
    means none."""
    padding_idx = int_arg(padding_idx, "embedding", "padding_idx")
    rows = weight.shape[0] if isinstance(weight, Tensor) and weight.dim() else None
    if rows == 0 and isinstance(indices, Tensor) and indices.numel():       # (torch's kind: not IndexError)
        raise RuntimeError("embedding: index_select(): self indexing axis dim should be positive (weight has no "
                           "rows)")
    return _F().embedding(indices, weight, padding_idx if 0 <= padding_idx < (rows or 0) else None,
                          scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


def bilinear(input1, input2, weight, bias=None):
    return _F().bilinear(input1, input2, weight, bias)


def pdist(input, p=2.0):
    return _F().pdist(input, p)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    return _F().pairwise_distance(x1, x2, p, eps, keepdim)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    if _real(eps, "cosine_similarity", "eps") < 0:
        raise RuntimeError(f"cosine_similarity: eps must be non-negative, got: {eps}")
    return _F().cosine_similarity(x1, x2, dim, eps)


def pixel_shuffle(input, upscale_factor):
    return _F().pixel_shuffle(input, upscale_factor)


def pixel_unshuffle(input, downscale_factor):
    return _F().pixel_unshuffle(input, downscale_factor)


def channel_shuffle(input, groups):
    return _F().channel_shuffle(input, groups)


def native_channel_shuffle(input, groups):
    return _F().native_channel_shuffle(input, groups)


# ---- activations ----------------------------------------------------------------------------

def prelu(input, weight):
    return _F().prelu(input, weight)


def _rrelu(op_name, input, lower, upper, training, generator, inplace):
    # F.rrelu draws its slopes from input's device's default generator: swapped for generator's here
    check_generator(op_name, generator)
    if generator is None or not isinstance(input, Tensor):
        engine = None                              # (F.rrelu refuses a non-tensor input itself)
    else:
        engine = generator_engine(op_name, generator, input._backend)
    with drawing_from(getattr(input, "_backend", None), engine):
        return _F().rrelu(input, lower, upper, training, inplace)


def rrelu(input, lower=0.125, upper=1.0 / 3, training=False, generator=None):
    return _rrelu("rrelu", input, lower, upper, training, generator, False)


def rrelu_(input, lower=0.125, upper=1.0 / 3, training=False, generator=None):
    return _rrelu("rrelu_", input, lower, upper, training, generator, True)


def selu(input):
    return _F().selu(input)


def selu_(input):
    return _F().selu_(input)


def celu(input, alpha=1.0):
    return _F().celu(input, alpha)


def celu_(input, alpha=1.0):
    return _F().celu_(input, alpha)


def _threshold_args(op_name, input, threshold, value):
    """An integer input takes threshold and value in its type: NaN, inf or out of range is refused, as torch."""
    if isinstance(input, Tensor) and input.dtype.kind == 1:
        for v in (threshold, value):
            if _dtype.scalar_kind(v) in (1, 2):
                check_fits(v, input.dtype.np, op_name)


def threshold(input, threshold, value):
    _threshold_args("threshold", input, threshold, value)
    return _F().threshold(input, threshold, value)


def threshold_(input, threshold, value):
    _threshold_args("threshold_", input, threshold, value)
    return _F().threshold_(input, threshold, value)


def hardshrink(input, lambd=0.5):
    return _F().hardshrink(input, lambd)


# ---- losses: reduction is torch's int (0 none, 1 mean, 2 sum). Its default is 0: the schema says Mean, but
# torch's Python argument parser reads that default as 0, so torch.kl_div(x, t) is unreduced (as here)

def kl_div(input, target, reduction=0, *, log_target=False):
    _args("kl_div", (("input", input), ("target", target)))
    return _F().kl_div(input, target, reduction=_reduction(reduction, "kl_div"), log_target=log_target)


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=0):
    fn = "margin_ranking_loss"
    _args(fn, (("input1", input1), ("input2", input2), ("target", target)), (("margin", margin),))
    return _F().margin_ranking_loss(input1, input2, target, margin, reduction=_reduction(reduction, fn))


def hinge_embedding_loss(input, target, margin=1.0, reduction=0):
    fn = "hinge_embedding_loss"
    _args(fn, (("input", input), ("target", target)), (("margin", margin),))
    return _F().hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction, fn))


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=0):
    fn = "cosine_embedding_loss"
    _args(fn, (("input1", input1), ("input2", input2), ("target", target)), (("margin", margin),))
    return _F().cosine_embedding_loss(input1, input2, target, margin, reduction=_reduction(reduction, fn))


def poisson_nll_loss(input, target, log_input, full, eps, reduction):
    """torch.poisson_nll_loss: every argument required, as torch's."""
    fn = "poisson_nll_loss"
    _args(fn, (("input", input), ("target", target)), (("eps", eps),))
    return _F().poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=_reduction(reduction, fn))


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction=0):
    fn = "triplet_margin_loss"
    _args(fn, (("anchor", anchor), ("positive", positive), ("negative", negative)),
          (("margin", margin), ("p", p), ("eps", eps)))
    return _F().triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                    reduction=_reduction(reduction, fn))


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=0, zero_infinity=False):
    """torch.ctc_loss: the lengths both Tensors or both sequences of ints (its two overloads)."""
    fn = "ctc_loss"
    _args(fn, (("log_probs", log_probs), ("targets", targets)))
    blank, zero_infinity = int_arg(blank, fn, "blank"), _bool(zero_infinity, fn, "zero_infinity")
    if isinstance(input_lengths, Tensor) != isinstance(target_lengths, Tensor):
        raise TypeError(f"{fn}(): input_lengths and target_lengths must be both Tensors or both tuples of ints, "
                        f"got {type(input_lengths).__name__} and {type(target_lengths).__name__}")
    return _F().ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, _reduction(reduction, fn),
                         zero_infinity)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=0):
    """As torch's: input broadcasts to target's shape without pos_weight (F's form wants them equal)."""
    fn = "binary_cross_entropy_with_logits"
    _args(fn, (("input", input), ("target", target), ("weight", weight), ("pos_weight", pos_weight)),
          optional=("weight", "pos_weight"))
    reduction = _reduction(reduction, fn)
    if isinstance(input, Tensor) and isinstance(target, Tensor) and input.shape != target.shape:
        try:
            shape = np.broadcast_shapes(input.shape, target.shape)
        except ValueError:
            shape = None
        if shape != target.shape:
            raise RuntimeError(f"{fn}: input of shape {list(input.shape)} does not broadcast to target's shape "
                               f"{list(target.shape)}")
        if pos_weight is not None:
            raise RuntimeError(f"{fn}: with pos_weight, input's shape {list(input.shape)} must be target's "
                               f"{list(target.shape)}")
        input = input.expand(*shape)
    return _F().binary_cross_entropy_with_logits(input, target, weight, reduction=reduction, pos_weight=pos_weight)


# ---- padding and sampling -------------------------------------------------------------------

def constant_pad_nd(input, pad, value=0):
    """input padded with `value` (pads as nn.functional.pad's: last dim first; negative ones crop)."""
    fn = "constant_pad_nd"
    _tensor(input, fn)
    if isinstance(value, Tensor) or _dtype.scalar_kind(value) is None:
        raise TypeError(f"{fn}(): argument 'value' must be Number, not {type(value).__name__}")
    if not isinstance(pad, (tuple, list)):
        raise TypeError(f"{fn}(): argument 'pad' must be tuple of ints, not {type(pad).__name__}")
    pad = [int_arg(v, fn, "pad", "tuple of ints") for v in pad]
    if len(pad) % 2:
        raise RuntimeError(f"{fn}: Length of pad must be even but instead it equals {len(pad)}")
    if len(pad) // 2 > input.dim():
        raise RuntimeError(f"{fn}: Length of pad should be no more than twice the number of dimensions of the "
                           f"input. Pad length is {len(pad)} while the input has {input.dim()} dimensions.")
    return _F().pad(input, pad, "constant", value)


_INTERPOLATIONS = ("bilinear", "nearest", "bicubic")       # at::GridSamplerInterpolation
_PADDINGS = ("zeros", "border", "reflection")             # at::GridSamplerPadding


def _grid_mode(v, names, op_name, arg):
    k = int_arg(v, op_name, arg)
    if not 0 <= k < len(names):
        raise RuntimeError(f"{op_name}(): {arg} {k} is not one of 0..{len(names) - 1} "
                           f"({', '.join(names)})")
    return names[k]


def _grid_sampler(op_name, dims):
    def sampler(input, grid, interpolation_mode, padding_mode, align_corners):
        _tensor(input, op_name)
        mode = _grid_mode(interpolation_mode, _INTERPOLATIONS, op_name, "interpolation_mode")
        padding = _grid_mode(padding_mode, _PADDINGS, op_name, "padding_mode")
        align_corners = _bool(align_corners, op_name, "align_corners")
        if dims and input.dim() not in dims:
            raise RuntimeError(f"{op_name}(): expected {dims[0]}-D input, but got input with sizes "
                               f"{list(input.shape)}")
        return _F().grid_sample(input, grid, mode, padding, align_corners)
    sampler.__name__ = sampler.__qualname__ = op_name
    sampler.__doc__ = (f"torch.{op_name}: nn.functional.grid_sample with the modes as ints "
                       f"(interpolation 0 bilinear, 1 nearest, 2 bicubic; padding 0 zeros, 1 border, 2 reflection).")
    return sampler


grid_sampler = _grid_sampler("grid_sampler", ())
grid_sampler_2d = _grid_sampler("grid_sampler_2d", (4,))
grid_sampler_3d = _grid_sampler("grid_sampler_3d", (5,))


def affine_grid_generator(theta, size, align_corners):
    """torch.affine_grid_generator: nn.functional.affine_grid, with torch's exception kinds for a theta that
    does not fit size."""
    fn = "affine_grid_generator"
    _tensor(theta, fn, "theta")
    if isinstance(size, (tuple, list)) and all(isinstance(v, int) for v in size):
        if len(size) not in (4, 5):
            raise RuntimeError(f"{fn}: needs 4d (spatial) or 5d (volumetric) sizes, got {list(size)}")
        k = len(size) - 2
        if theta.dim() < 3:
            raise IndexError(f"{fn}: Dimension out of range: theta of shape {list(theta.shape)} must be "
                             f"(N, {k}, {k + 1})")
        if tuple(theta.shape) != (size[0], k, k + 1):
            raise RuntimeError(f"{fn}: theta of shape {list(theta.shape)} does not fit size {list(size)}: "
                               f"expected ({size[0]}, {k}, {k + 1})")
    return _F().affine_grid(theta, size, _bool(align_corners, "affine_grid_generator", "align_corners"))


# ---- dtypes ------------------------------------------------------------------------------------

def default_float():
    """The default floating dtype (ag.set_default_dtype)."""
    return _dtype.get_default_float() if _DEFAULT_HONOURED else _dtype.float32


# torch takes Python's types as dtypes: float is float64 (not the default dtype), int int64, bool bool
_PY_TYPES = {float: _dtype.float64, int: _dtype.int64, bool: _dtype.bool_}


def _dtype_arg(d, op_name, arg):
    if type(d) is _dtype.dtype:
        return d
    if isinstance(d, type) and d in _PY_TYPES:
        return _PY_TYPES[d]
    raise TypeError(f"{op_name}(): argument '{arg}' must be autograd_gpu.dtype, not {type(d).__name__}")


def _creation_dtype(d, op_name):
    """A dtype argument: ag's (or a name), or Python's float / int / bool as torch reads them."""
    if isinstance(d, type) and d in _PY_TYPES:
        return _PY_TYPES[d]
    return _dtype.as_dtype(d, op_name)


def _operand_dtype(x, op_name, arg):
    """(category list it falls in: 0 dims, 1 0-d tensor, 2 Python number; its dtype or scalar kind)."""
    if isinstance(x, Tensor):
        return (0 if x.ndim else 1), x.dtype
    k = _dtype.scalar_kind(x)
    if k is None or isinstance(x, np.ndarray):
        raise TypeError(f"{op_name}(): argument '{arg}' must be Tensor or Number, not {type(x).__name__}")
    return 2, k


def result_type(tensor, other):
    """The dtype PyTorch's type promotion gives an op on `tensor` and `other` (Tensors or numbers)."""
    groups = ([], [], [])
    for x, arg in ((tensor, "tensor"), (other, "other")):
        g, d = _operand_dtype(x, "result_type", arg)
        groups[g].append(d)
    return _dtype.result_type(*groups, default_float=default_float())


def promote_types(type1, type2):
    """The smallest dtype both type1 and type2 convert to without losing their category."""
    return _dtype.promote_pair(_dtype_arg(type1, "promote_types", "type1"),
                               _dtype_arg(type2, "promote_types", "type2"))


def can_cast(from_, to):
    """Whether casting from_ to `to` is allowed by PyTorch's casting rules: never down a category
    (floating to integral, non-bool to bool); within one any size goes."""
    return _dtype_arg(from_, "can_cast", "from_").kind <= _dtype_arg(to, "can_cast", "to").kind


def _info_dtype(d, cls, wanted, other):
    if not isinstance(d, (_dtype.dtype, type)):
        raise TypeError(f"{cls}(): argument 'type' (position 1) must be autograd_gpu.dtype, not {type(d).__name__}")
    d = _dtype_arg(d, cls, "type")
    if d.kind != wanted:
        if cls == "iinfo" and d.kind == 0:
            raise TypeError(f"{d!r} is not supported by autograd_gpu.iinfo")
        raise TypeError(f"autograd_gpu.{cls}() requires {'a floating point' if wanted == 2 else 'an integer'} "
                        f"input type. Use autograd_gpu.{other} to handle 'autograd_gpu.{cls}'")
    return d


class finfo:
    """Machine limits of a floating dtype (the default dtype if none), as torch.finfo:
    bits, eps, max, min, tiny (= smallest_normal), resolution, dtype (its name)."""
    __slots__ = ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype")

    def __init__(self, type=None):
        d = _info_dtype(default_float() if type is None else type, "finfo", 2, "iinfo")
        info = np.finfo(d.np)
        self.bits = int(info.bits)
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)     # (NumPy gives it rounded to the dtype)
        self.dtype = d.name

    def __eq__(self, other):
        return isinstance(other, finfo) and self.dtype == other.dtype

    def __hash__(self):
        return hash(("finfo", self.dtype))

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Machine limits of an integer dtype, as torch.iinfo: bits, max, min, dtype (its name)."""
    __slots__ = ("bits", "max", "min", "dtype")

    def __init__(self, type):
        d = _info_dtype(type, "iinfo", 1, "finfo")
        info = np.iinfo(d.np)
        self.bits, self.max, self.min, self.dtype = int(info.bits), int(info.max), int(info.min), d.name

    def __eq__(self, other):
        return isinstance(other, iinfo) and self.dtype == other.dtype

    def __hash__(self):
        return hash(("iinfo", self.dtype))

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"


def set_default_dtype(d):
    """Make `d` (float32, float64 or float16, as torch allows) the dtype of floating data created without a
    dtype: Python floats in tensor(), the factories (zeros, rand, ...), Python floats next to integer tensors."""
    if type(d) is not _dtype.dtype or not d.is_floating_point:
        raise TypeError(f"set_default_dtype(): only floating-point types are supported as the default type "
                        f"(got {d!r})")
    if d is not _dtype.float32 and not _DEFAULT_HONOURED:
        raise NotImplementedError(f"set_default_dtype(): {d!r} is not supported yet: the creation functions "
                                  f"do not read the default dtype")
    if _DEFAULT_HONOURED:
        _dtype.set_default_float(d)


# whether creation.py and type promotion read the default (_dtype declares set_default_float when they do)
_DEFAULT_HONOURED = hasattr(_dtype, "set_default_float")


def is_floating_point(input):
    return _tensor(input, "is_floating_point").dtype.kind == 2


def is_complex(input):
    """False: the library has no complex dtypes."""
    _tensor(input, "is_complex")
    return False


def is_signed(input):
    return _tensor(input, "is_signed").dtype.np.kind in "if"


def is_nonzero(input):
    """Whether the one-element tensor `input` is not zero (NaN is nonzero)."""
    n = _tensor(input, "is_nonzero").numel()
    if n != 1:
        what = "no values" if n == 0 else "more than one value"
        raise RuntimeError(f"is_nonzero(): Boolean value of Tensor with {what} is ambiguous (shape "
                           f"{list(input.shape)})")
    return bool(input._backend.to_host(input._data).reshape(()) != 0)


def is_same_size(input, other):
    return _tensor(input, "is_same_size").shape == _tensor(other, "is_same_size", "other").shape


def typename(obj):
    """torch.typename: 'torch.FloatTensor' ('torch.cuda.FloatTensor') for a tensor (torch's names, for code
    that compares them), else obj's module-qualified name (its class's for an instance)."""
    if isinstance(obj, Tensor):
        return f"torch.{'cuda.' if obj.is_cuda else ''}{obj.dtype.libtorch}Tensor"
    module = getattr(obj, "__module__", "") or ""
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if qualname is None:
        module, qualname = type(obj).__module__, type(obj).__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


def is_storage(obj):
    """False: the library has no storage objects."""
    return False


# ---- threads and modes -------------------------------------------------------------------------

_threads = {"intra": None, "interop": None}


def _positive_int(n, op_name):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise RuntimeError(f"{op_name} expects an int, but got {type(n).__name__}")
    if n <= 0:
        raise RuntimeError(f"{op_name} expects a positive integer, got {n}")
    return int(n)


def get_num_threads():
    """The number of threads set by set_num_threads, else the CPU count. NumPy's BLAS keeps its own pool:
    the number is recorded (and handed to threadpoolctl where it is installed), nothing else reads it."""
    return _threads["intra"] or os.cpu_count() or 1


def set_num_threads(n):
    """Record the intra-op thread count (get_num_threads); with threadpoolctl installed, also limit BLAS."""
    n = _positive_int(n, "set_num_threads")
    try:
        import threadpoolctl
    except ImportError:
        pass
    else:
        threadpoolctl.threadpool_limits(n)
    _threads["intra"] = n


def get_num_interop_threads():
    """The recorded inter-op thread count (the library runs ops one at a time: nothing uses it)."""
    return _threads["interop"] or os.cpu_count() or 1


def set_num_interop_threads(n):
    _threads["interop"] = _positive_int(n, "set_num_interop_threads")


_deterministic = {"mode": False, "warn_only": False}


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Record the flags (are_deterministic_algorithms_enabled); no op here reads them."""
    mode = _bool(mode, "use_deterministic_algorithms", "mode")
    _deterministic.update(mode=mode, warn_only=_bool(warn_only, "use_deterministic_algorithms", "warn_only"))


def are_deterministic_algorithms_enabled():
    return _deterministic["mode"]


def is_deterministic_algorithms_warn_only_enabled():
    return _deterministic["warn_only"]


# (inference_mode lives in autograd/grad_mode.py, beside no_grad: ag.autograd has it too)


# ---- creation -------------------------------------------------------------------------------------

def _backend(device):
    from ..creation import backend_for
    return backend_for(device)


def _make(host_or_array, backend, requires_grad, op_name):
    from ..creation import _finish
    return _finish(host_or_array, backend, requires_grad, op_name)


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    """An uninitialised tensor of shape `size` laid out with strides `stride` (in elements)."""
    fn = "empty_strided"
    shape, strides = (_int_tuple(v, fn, arg) for v, arg in ((size, "size"), (stride, "stride")))
    if len(shape) != len(strides):
        raise RuntimeError(f"{fn}: dimensionality of sizes ({len(shape)}) must match dimensionality of strides "
                           f"({len(strides)})")
    if any(s < 0 for s in shape):
        raise RuntimeError(f"{fn}: Trying to create tensor with negative dimension {min(shape)}: {list(shape)}")
    if any(s < 0 for s in strides):
        raise RuntimeError(f"{fn}: Storage size calculation overflowed with sizes={list(shape)} and "
                           f"strides={list(strides)}")
    dt = _creation_dtype(dtype, fn) or default_float()
    bk = _backend(device)
    storage = 0 if 0 in shape else 1 + sum((n - 1) * s for n, s in zip(shape, strides))
    from ..creation import _alloc
    buf = _alloc(fn, (storage,), lambda: bk.xp.empty(storage, dtype=dt.np))
    if storage:
        itemsize = dt.np.itemsize
        data = bk.xp.lib.stride_tricks.as_strided(buf, shape, tuple(s * itemsize for s in strides))
    else:
        data = bk.xp.empty(shape, dtype=dt.np)
    return _make(data, bk, requires_grad, fn)


def _int_tuple(v, op_name, arg):
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        raise TypeError(f"{op_name}(): argument '{arg}' must be tuple of ints, not int")
    if not isinstance(v, (tuple, list)):
        raise TypeError(f"{op_name}(): argument '{arg}' must be tuple of ints, not {type(v).__name__}")
    return tuple(int_arg(s, op_name, arg, "tuple of ints") for s in v)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=None):
    """obj as a tensor, sharing memory with a Tensor or NumPy array when dtype and device allow and copy is
    not True (copy=False refuses to copy). requires_grad None keeps a tensor's; True or False is set on the
    result: for an alias of a leaf that is the leaf itself, as torch's."""
    fn = "asarray"
    dt = _creation_dtype(dtype, fn)
    if copy is not None:
        copy = _bool(copy, fn, "copy")
    if requires_grad is not None:
        requires_grad = _bool(requires_grad, fn, "requires_grad")
    if device is None:
        device = default_device()
    if isinstance(obj, Tensor):
        return _asarray_tensor(obj, dt, device, copy, requires_grad)
    if isinstance(obj, np.ndarray) or B.is_cuda_array(obj):
        out = _asarray_array(obj, dt, device, copy)
    else:
        if copy is False:
            raise ValueError(f"{fn}(): can't alias arbitrary sequence into a tensor.")
        out = _asarray_data(obj, dt, device)
    if requires_grad:
        if not out.is_floating_point():
            raise RuntimeError(f"asarray(): Only Tensors of floating point and complex dtype can require gradients "
                               f"(got {out.dtype.libtorch})")
        out.requires_grad_(True)
    return out


def _asarray_data(obj, dt, device):
    """A new tensor of Python data (numbers, sequences); errors name asarray."""
    from ..creation import tensor
    if isinstance(obj, str) or _dtype.scalar_kind(obj) is None and not isinstance(obj, (list, tuple, np.generic)):
        kind = TypeError if isinstance(obj, (str, bytes)) else RuntimeError
        raise kind(f"asarray(): Could not infer dtype of {type(obj).__name__}")
    try:
        return tensor(obj, dtype=dt, device=device)
    except (TypeError, ValueError, RuntimeError) as e:
        raise type(e)(f"asarray(): {e}") from None


def _asarray_tensor(obj, dt, device, copy, requires_grad):
    target = B.device(device) if device is not None else obj.device
    converts = (dt is not None and dt is not obj.dtype) or target != obj.device
    if converts and copy is False:
        what = (f"with dtype '{obj.dtype.libtorch}' into dtype '{dt.libtorch}'" if dt is not None and
                dt is not obj.dtype else f"on device '{obj.device}' to '{target}'")
        raise ValueError(f"asarray(): can't alias tensor {what}.")
    wants_grad = obj.requires_grad if requires_grad is None else requires_grad
    if wants_grad and not (dt or obj.dtype).is_floating_point:
        raise RuntimeError(f"asarray(): Only Tensors of floating point and complex dtype can require gradients "
                           f"(got {(dt or obj.dtype).libtorch})")
    out = obj
    if converts:
        out = obj.to(device=target, dtype=dt or obj.dtype)
    elif copy:
        out = obj.clone()
    if requires_grad is None or requires_grad == out.requires_grad:
        return out
    if out.grad_fn is None:              # a leaf (obj itself when aliased): set in place, as torch
        return out.requires_grad_(requires_grad)
    return out if requires_grad else out.detach()


def _asarray_array(obj, dt, device, copy):
    from ..creation import as_tensor, tensor
    src_cuda = not isinstance(obj, np.ndarray)
    target = B.device(device) if device is not None else None
    same_device = target is None or (target.type == "cuda") == src_cuda
    same_dtype = dt is None or dt.np == obj.dtype
    if copy is False and not (same_device and same_dtype):
        raise ValueError(f"asarray(): can't alias array of dtype {obj.dtype} into "
                         f"{dt!r}{'' if same_device else ' on ' + str(target)}.")
    if copy:
        return tensor(obj, dtype=dt, device=device)
    return as_tensor(obj, dtype=dt, device=device)


# ---- windows (computed in float64 on the host, then cast) ------------------------------------------

def _window(op_name, values):
    """The window function `op_name`: values(n) gives the symmetric window of n >= 2 points."""

    def window(window_length, periodic=True, *args, dtype=None, layout=None, device=None, requires_grad=False,
               pin_memory=False):
        n = int_arg(window_length, op_name, "window_length")
        periodic = _bool(periodic, op_name, "periodic")
        names = values.__code__.co_varnames[1:values.__code__.co_argcount]
        if len(args) > len(names):
            raise TypeError(f"{op_name}() takes at most {len(names) + 2} positional arguments ({len(args) + 2} "
                            f"given)")
        params = [_real(a, op_name, name) for a, name in zip(args, names)]
        dt = _creation_dtype(dtype, op_name) or default_float()
        if n < 0:
            raise RuntimeError(f"{op_name} requires non-negative window_length, got window_length={n}")
        if not dt.is_floating_point:
            raise RuntimeError(f"{op_name} expects floating point dtypes, got: {dt!r}")
        bk = _backend(device)
        if n <= 1:
            host = np.ones(n)
        else:
            host = values(n + 1, *params)[:-1] if periodic else values(n, *params)
        from ..creation import _alloc
        data = _alloc(op_name, (n,), lambda: bk.from_host(host.astype(dt.np)))
        return _make(data, bk, requires_grad, op_name)
    window.__name__ = window.__qualname__ = op_name
    return window


def _phase(n):
    return 2 * np.pi * np.arange(n) / (n - 1)


def _hamming(n, alpha=0.54, beta=0.46):
    return alpha - beta * np.cos(_phase(n))


def _hann(n):
    return 0.5 - 0.5 * np.cos(_phase(n))


def _blackman(n):
    w = _phase(n)
    return 0.42 - 0.5 * np.cos(w) + 0.08 * np.cos(2 * w)


def _bartlett(n):
    return 1 - np.abs(2 * np.arange(n) / (n - 1) - 1)


def _kaiser(n, beta=12.0):
    r = 2 * np.arange(n) / (n - 1) - 1
    return np.i0(beta * np.sqrt(np.clip(1 - r * r, 0, None))) / np.i0(beta)


hann_window = _window("hann_window", _hann)
hamming_window = _window("hamming_window", _hamming)
blackman_window = _window("blackman_window", _blackman)
bartlett_window = _window("bartlett_window", _bartlett)
kaiser_window = _window("kaiser_window", _kaiser)
for _w in (hann_window, hamming_window, blackman_window, bartlett_window, kaiser_window):
    _w.__doc__ = (f"torch.{_w.__name__}(window_length, periodic=True, ...): periodic windows are the first "
                  f"window_length points of the symmetric window of window_length + 1.")


_NN_ALIASES = (
    conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d, conv_tbc, avg_pool1d,
    max_pool1d, max_pool2d, max_pool3d, max_pool1d_with_indices, adaptive_avg_pool1d, adaptive_max_pool1d,
    batch_norm, instance_norm, layer_norm, group_norm, rms_norm, dropout, dropout_, alpha_dropout, alpha_dropout_,
    feature_dropout, feature_dropout_, feature_alpha_dropout, feature_alpha_dropout_, embedding, bilinear, pdist,
    pairwise_distance, cosine_similarity, pixel_shuffle, pixel_unshuffle, channel_shuffle, native_channel_shuffle,
    prelu, rrelu, rrelu_, selu, selu_, celu, celu_, threshold, threshold_, hardshrink, kl_div, margin_ranking_loss,
    hinge_embedding_loss, cosine_embedding_loss, poisson_nll_loss, triplet_margin_loss, ctc_loss,
    binary_cross_entropy_with_logits, constant_pad_nd, grid_sampler, grid_sampler_2d, grid_sampler_3d,
    affine_grid_generator)
globals().update({f.__name__: _torch_errors(f) for f in _NN_ALIASES})

METHODS = {}
FUNCTIONS = {name: globals()[name] for name in (f.__name__ for f in _NN_ALIASES)}
FUNCTIONS.update({f.__name__: f for f in (
    result_type, promote_types, can_cast, finfo, iinfo, set_default_dtype, is_floating_point, is_complex,
    is_signed, is_nonzero, is_same_size, typename, is_storage, get_num_threads, set_num_threads,
    get_num_interop_threads, set_num_interop_threads, use_deterministic_algorithms,
    are_deterministic_algorithms_enabled, is_deterministic_algorithms_warn_only_enabled, inference_mode,
    is_inference_mode_enabled, empty_strided, asarray,
    hann_window, hamming_window, blackman_window, bartlett_window, kaiser_window)})
INPLACE = {}
