"""The rest of torch.nn.utils' public names: the deprecated `clip_grad_norm`
(torch.nn.utils.clip_grad) and torch.nn.utils.memory_format's
`convert_conv2d_weight_memory_format` / `convert_conv3d_weight_memory_format`.

Memory formats are not objects of this library: those functions take
PyTorch's (`torch.channels_last`, ...) or their names (`"channels_last"`),
and lay the weights' arrays out with the strides PyTorch gives them (values
unchanged; every layer computes the same either way)."""
import warnings

from ...autograd.grad_mode import no_grad

__all__ = ["clip_grad_norm", "convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Deprecated alias of clip_grad_norm_ (same arguments, same result)."""
    from . import clip_grad_norm_
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of `torch.nn.utils.clip_grad_norm_`.",
                  FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


# name -> (rank it needs, the permutation putting channels last); contiguous_format: C order
_FORMATS = {"channels_last": (4, (0, 2, 3, 1)), "channels_last_3d": (5, (0, 2, 3, 4, 1)),
            "contiguous_format": (None, None), "preserve_format": (None, None)}


def _format_name(fn, memory_format):
    """The name of a torch.memory_format object or of one given as a string."""
    if isinstance(memory_format, str):
        name = memory_format
    elif type(memory_format).__name__ == "memory_format":      # PyTorch's (torch.channels_last, ...)
        name = str(memory_format).rpartition(".")[2]
    else:
        raise TypeError(f"{fn}(): argument 'memory_format' must be torch.memory_format (or its name), not "
                        f"{type(memory_format).__name__}")
    if name not in _FORMATS:
        raise ValueError(f"{fn}(): unknown memory format {memory_format!r} (expected one of "
                         f"{', '.join(_FORMATS)})")
    return name


def _laid_out(fn, weight, name):
    """A copy of the weight's values with the strides of memory format `name`."""
    if name == "preserve_format":
        raise RuntimeError(f"{fn}: Unsupported memory formatPreserve")
    rank, order = _FORMATS[name]
    copy = weight.detach().clone()
    if order is None:
        return copy.contiguous()
    if weight.dim() != rank:
        raise RuntimeError(f"{fn}: required rank {rank} tensor to use {name} format (weight of shape "
                           f"{list(weight.shape)})")
    back = [order.index(d) for d in range(rank)]
    return copy.permute(*order).contiguous().permute(*back)


def _convert_weights(fn, module, memory_format, classes):
    name = _format_name(fn, memory_format)
    layers = [m for m in module.modules() if isinstance(m, classes)]
    new = [_laid_out(fn, m.weight, name) for m in layers]       # every check before any weight changes
    with no_grad():
        for m, w in zip(layers, new):
            m.weight.data = w
    return module


def convert_conv2d_weight_memory_format(module, memory_format):
    """Lay out the weight of every Conv2d / ConvTranspose2d in `module` (itself
    included) in `memory_format`; returns `module` (the same object)."""
    from ..conv import Conv2d, ConvTranspose2d
    return _convert_weights("convert_conv2d_weight_memory_format", module, memory_format,
                            (Conv2d, ConvTranspose2d))


def convert_conv3d_weight_memory_format(module, memory_format):
    """As convert_conv2d_weight_memory_format, for Conv3d / ConvTranspose3d."""
    from ..conv import Conv3d, ConvTranspose3d
    return _convert_weights("convert_conv3d_weight_memory_format", module, memory_format,
                            (Conv3d, ConvTranspose3d))


EXPORTS = {name: globals()[name] for name in __all__}
