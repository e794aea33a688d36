"""Helpers shared by modules and optimizers, and torch.nn.utils' gradient
clipping and parameter-vector conversions."""
import math

from ...autograd.grad_mode import no_grad


def zero_grads(params, set_to_none=True):
    """Reset the gradients of `params`: to None (default), or to zeros in place
    (detached from any graph a create_graph backward gave them)."""
    for p in params:
        g = p.grad
        if g is None:
            continue
        if set_to_none:
            p.grad = None
        else:
            if g.grad_fn is not None:
                g.detach_()
            else:
                g.requires_grad_(False)
            with no_grad():
                g.zero_()


# ---- gradient clipping and flat parameter vectors (torch.nn.utils) ------------------------------

def _tensor_list(parameters):
    from ...tensor import Tensor
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale the gradients of `parameters` in place so that their total norm
    (the norm of the per-gradient norms) is at most max_norm; returns the total
    norm before clipping, a 0-d tensor on the first gradient's device.
    `foreach` is accepted and ignored."""
    import types
    import warnings
    from ...creation import tensor
    is_generator = isinstance(parameters, types.GeneratorType)
    params = _tensor_list(parameters)
    if is_generator and not params:
        warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=2)
    max_norm, norm_type = float(max_norm), float(norm_type)
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return tensor(0.0)
    with no_grad():
        total = _total_norm(grads, norm_type)
        if error_if_nonfinite and not bool(total.isfinite()):
            raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} for gradients from "
                               "`parameters` is non-finite, so it cannot be clipped. To disable this error and "
                               "scale the gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
        coef = (max_norm / (total + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.to(g.device))
    return total


def _total_norm(grads, norm_type):
    import autograd_gpu as ag
    norms = []
    for g in grads:
        if g.numel() == 0 and math.isinf(norm_type):
            raise RuntimeError(f"clip_grad_norm_: cannot compute the {norm_type} norm of an empty gradient "
                               f"(shape {list(g.shape)}): the operation has no identity")
        norms.append(g.norm(p=norm_type))
    first = grads[0].device
    return ag.stack([n.to(first) for n in norms]).norm(p=norm_type)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp the gradients of `parameters` in place to [-clip_value, clip_value].
    `foreach` is accepted and ignored."""
    clip_value = float(clip_value)
    with no_grad():
        for p in _tensor_list(parameters):
            if p.grad is not None:
                p.grad.clamp_(min=-clip_value, max=clip_value)


def _check_same_device(params, who):
    devices = {str(p.device) for p in params}
    if len(devices) > 1:
        raise TypeError(f"{who}: Found two parameters on different devices ({', '.join(sorted(devices))}), "
                        "this is currently not supported.")


def parameters_to_vector(parameters):
    """One 1-d tensor holding every parameter, flattened, in order (differentiable)."""
    import autograd_gpu as ag
    params = _tensor_list(parameters)
    _check_same_device(params, "parameters_to_vector")
    return ag.cat([p.view(-1) for p in params])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-d tensor `vec` into the parameters'
    data (as PyTorch, `p.data` is replaced; extra elements are ignored). Every
    slice is checked before any parameter changes."""
    from ...tensor import Tensor
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected Tensor, but got: {type(vec).__name__}")
    params = _tensor_list(parameters)
    _check_same_device(params, "vector_to_parameters")
    need = sum(p.numel() for p in params)
    if vec.dim() != 1 or vec.numel() < need:
        raise RuntimeError(f"vector_to_parameters: expected a 1-d tensor of at least {need} elements for the "
                           f"parameters, got shape {list(vec.shape)}")
    if params and vec.device != params[0].device:
        raise TypeError(f"vector_to_parameters: Found two parameters on different devices ({vec.device}, "
                        f"{params[0].device}), this is currently not supported.")
    pieces, start = [], 0
    for p in params:
        pieces.append(vec[start:start + p.numel()].view_as(p).data)
        start += p.numel()
    for p, piece in zip(params, pieces):
        p.data = piece


from . import rnn  # noqa: E402  (ag.nn.utils.rnn, as torch.nn.utils.rnn)
from . import parametrize, parametrizations, weight_norm as _weight_norm, spectral_norm as _spectral_norm  # noqa: E402
from . import prune, stateless, fusion, compat as _compat  # noqa: E402

# the functions torch.nn.utils exports from its submodules (weight_norm, spectral_norm, fuse_conv_bn_eval, ...)
for _module in (parametrize, parametrizations, _weight_norm, _spectral_norm, prune, stateless, fusion, _compat):
    globals().update(_module.EXPORTS)

# torch.nn.utils' submodule paths (aliases of the functions above)
from . import clip_grad, convert_parameters, init, memory_format  # noqa: E402
