"""torch.nn.utils.fusion: folding batch norm into the preceding conv or linear layer for inference.

Also the small torch.nn.utils functions that have no module of their own
here: skip_init (torch.nn.utils.init), get_total_norm and
clip_grads_with_norm_ (torch.nn.utils.clip_grad)."""
import copy
import inspect

from ...autograd.grad_mode import no_grad
from ..parameter import Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights",
           "skip_init", "get_total_norm", "clip_grads_with_norm_"]


def fuse_conv_bn_eval(conv, bn, transpose=False):
    """A copy of `conv` (in eval mode) computing conv followed by `bn` (in eval
    mode, with running statistics); transpose for a ConvTranspose."""
    if conv.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("bn.running_mean and bn.running_var must not be None")
    weight, bias = fuse_conv_bn_weights(conv.weight, conv.bias, bn.running_mean, bn.running_var, bn.eps,
                                        bn.weight, bn.bias, transpose)
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = weight, bias
    return fused


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, transpose=False):
    """(weight, bias) Parameters of the conv that equals conv then batch norm:
    w * gamma / sqrt(var + eps) per output channel (dim 0, or dim 1 for a
    transposed conv's weight), (b - mean) * gamma / sqrt(var + eps) + beta."""
    import autograd_gpu as ag
    w_dtype = conv_w.dtype
    b_dtype = conv_b.dtype if conv_b is not None else w_dtype
    b_requires_grad = conv_b.requires_grad if conv_b is not None else False
    if conv_b is None:
        conv_b = ag.zeros_like(bn_rm)
    if bn_w is None:
        bn_w = ag.ones_like(bn_rm)
    if bn_b is None:
        bn_b = ag.zeros_like(bn_rm)
    rsqrt = (bn_rv + bn_eps).rsqrt()
    shape = ([1, -1] if transpose else [-1, 1]) + [1] * (conv_w.dim() - 2)
    fused_w = (conv_w * (bn_w * rsqrt).reshape(shape)).to(dtype=w_dtype)
    fused_b = ((conv_b - bn_rm) * rsqrt * bn_w + bn_b).to(dtype=b_dtype)
    return Parameter(fused_w.detach(), conv_w.requires_grad), Parameter(fused_b.detach(), b_requires_grad)


def fuse_linear_bn_eval(linear, bn):
    """A copy of `linear` (eval mode) computing linear followed by `bn` (eval mode)."""
    if linear.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError("To fuse, linear.out_features == bn.num_features or bn.num_features == 1, got "
                             f"linear.out_features={linear.out_features} and bn.num_features={bn.num_features}")
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("bn.running_mean and bn.running_var must not be None")
    weight, bias = fuse_linear_bn_weights(linear.weight, linear.bias, bn.running_mean, bn.running_var, bn.eps,
                                          bn.weight, bn.bias)
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = weight, bias
    return fused


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b):
    """(weight, bias) Parameters of the linear layer that equals linear then batch norm."""
    import autograd_gpu as ag
    w_dtype = linear_w.dtype
    b_dtype = linear_b.dtype if linear_b is not None else w_dtype
    b_requires_grad = linear_b.requires_grad if linear_b is not None else False
    if linear_b is None:
        linear_b = ag.zeros_like(bn_rm)
    scale = bn_w * (bn_rv + bn_eps).rsqrt()
    fused_w = linear_w * scale.unsqueeze(-1).to(dtype=w_dtype)
    fused_b = ((linear_b - bn_rm) * scale + bn_b).to(dtype=b_dtype)
    return Parameter(fused_w.detach(), linear_w.requires_grad), Parameter(fused_b.detach(), b_requires_grad)


def skip_init(module_cls, *args, **kwargs):
    """module_cls(*args, **kwargs) without drawing its initial values: the
    parameters hold whatever the constructor left (here: its usual values,
    made with the random generators' states put back afterwards, so that no
    draw is consumed)."""
    import autograd_gpu as ag
    from ..module import Module
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    kwargs.setdefault("device", "cpu")
    states = [(None, ag.get_rng_state())]
    if ag.device(kwargs["device"]).type == "cuda":
        states.append((kwargs["device"], ag.cuda.get_rng_state(kwargs["device"])))
    try:
        return module_cls(*args, **kwargs)
    finally:
        for device, state in states:
            if device is None:
                ag.set_rng_state(state)
            else:
                ag.cuda.set_rng_state(state, device)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The norm of the norms of `tensors` (a tensor or an iterable of them), a
    0-d tensor on the first one's device; `foreach` is accepted and ignored."""
    import autograd_gpu as ag
    from . import _tensor_list, _total_norm
    tensors = _tensor_list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return ag.tensor(0.0)
    with no_grad():
        total = _total_norm(tensors, norm_type)
    if error_if_nonfinite and not bool(total.isfinite()):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so "
                           "it cannot be clipped. To disable this error and scale the gradients by the non-finite "
                           "norm anyway, set `error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the gradients of `parameters` in place by min(1, max_norm / (total_norm + 1e-6))."""
    from . import _tensor_list
    grads = [p.grad for p in _tensor_list(parameters) if p.grad is not None]
    max_norm = float(max_norm)
    if not grads:
        return
    with no_grad():
        coef = (max_norm / (total_norm + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.to(g.device))


# the names ag.nn.utils itself exports from this module (as torch.nn.utils does)
EXPORTS = {name: globals()[name] for name in __all__}
