"""ag.nn.grad: the gradients of a convolution with respect to its input and
its weight, as torch.nn.grad. Each is the backward of the convolution, taken
through the graph (so the result is differentiable in the weight or input and
in grad_output, to any order)."""
from ..autograd import grad as _grad
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ..creation import zeros
from . import functional_conv as _conv

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input", "conv3d_weight"]


def _size(size, op_name, what):
    try:
        size = tuple(int(s) for s in size)
    except TypeError:
        raise TypeError(f"{op_name}(): {what} must be a sequence of ints, got {type(size).__name__}") from None
    return size


def _backward_of(op_name, conv, x, w, grad_output, wrt, args):
    """d/d(wrt) of <conv(x, w, *args), grad_output>, recorded when grad mode is on and an operand requires grad."""
    keep = is_grad_enabled() and any(t.requires_grad for t in (x, w, grad_output) if t is not wrt)
    try:
        with enable_grad():
            out = conv(x, w, None, *args)
            return _grad(out, wrt, grad_output, create_graph=keep)[0]
    except RuntimeError as e:
        raise RuntimeError(f"{op_name}(): {e}") from None


def _input_fn(op_name, conv):
    def fn(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
        x = zeros(_size(input_size, op_name, "input_size"), dtype=weight.dtype, device=weight.device,
                  requires_grad=True)
        return _backward_of(op_name, conv, x, weight, grad_output, x, (stride, padding, dilation, groups))
    fn.__name__ = fn.__qualname__ = op_name
    fn.__doc__ = f"The gradient of {conv.__name__} with respect to an input of size input_size."
    return fn


def _weight_fn(op_name, conv):
    def fn(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
        w = zeros(_size(weight_size, op_name, "weight_size"), dtype=input.dtype, device=input.device,
                  requires_grad=True)
        return _backward_of(op_name, conv, input, w, grad_output, w, (stride, padding, dilation, groups))
    fn.__name__ = fn.__qualname__ = op_name
    fn.__doc__ = f"The gradient of {conv.__name__} with respect to a weight of size weight_size."
    return fn


conv1d_input, conv1d_weight = _input_fn("conv1d_input", _conv.conv1d), _weight_fn("conv1d_weight", _conv.conv1d)
conv2d_input, conv2d_weight = _input_fn("conv2d_input", _conv.conv2d), _weight_fn("conv2d_weight", _conv.conv2d)
conv3d_input, conv3d_weight = _input_fn("conv3d_input", _conv.conv3d), _weight_fn("conv3d_weight", _conv.conv3d)
