"""Helpers the distributions share (torch.distributions.utils' roles): parameter
broadcasting, lazily derived parameters, probs <-> logits, sums over event dims."""
import functools
import math
from numbers import Number

from ..tensor import Tensor

EULER_GAMMA = 0.57721566490153286060


def broadcast_all(*values):
    """Numbers become tensors of the first tensor's dtype and device (the default
    dtype when all are numbers); then all broadcast to one shape."""
    import autograd_gpu as ag
    if not all(isinstance(v, (Tensor, Number)) for v in values):
        raise ValueError("Input arguments must all be instances of numbers.Number, torch.Tensor or objects "
                         "implementing __torch_function__.")
    first = next((v for v in values if isinstance(v, Tensor)), None)
    options = dict(dtype=first.dtype, device=first.device) if first is not None else dict(dtype=ag.float32)
    tensors = [v if isinstance(v, Tensor) else ag.tensor(float(v), **options) for v in values]
    return ag.broadcast_tensors(*tensors)


def all_numbers(*values):
    return all(isinstance(v, Number) for v in values)


def is_all_true(t):
    """A constraint's check result holds everywhere (an empty check holds)."""
    return t.numel() == 0 or bool(t.all().item())


class lazy_property:
    """A parameter derived on first use and then cached in the instance's __dict__
    (so it shows in repr and validation only once it exists, as torch's)."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        functools.update_wrapper(self, wrapped)

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        import autograd_gpu as ag
        with ag.enable_grad():
            value = self.wrapped(instance)
        instance.__dict__[self.wrapped.__name__] = value
        return value


def clamp_probs(probs):
    """Keep probabilities off 0 and 1 by the dtype's eps (finite logits)."""
    import autograd_gpu as ag
    eps = ag.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary=False):
    clamped = clamp_probs(probs)
    return (clamped.log() - (-clamped).log1p()) if is_binary else clamped.log()


def logits_to_probs(logits, is_binary=False):
    import autograd_gpu as ag
    return logits.sigmoid() if is_binary else ag.softmax(logits, dim=-1)


def sum_rightmost(value, dims):
    """Sum the last `dims` dimensions (torch's _sum_rightmost)."""
    if dims == 0:
        return value
    kept = tuple(value.shape[:value.dim() - dims])
    return value.reshape(kept + (math.prod(value.shape[len(kept):]),)).sum(-1)


def standard_normal(shape, dtype, device):
    import autograd_gpu as ag
    return ag.randn(tuple(shape), dtype=dtype, device=device)


def uniform_draws(shape, like, low=0.0, high=1.0):
    """Uniform draws in [low, high), in like's dtype and on its device."""
    import autograd_gpu as ag
    return ag.empty(tuple(shape), dtype=like.dtype, device=like.device).uniform_(low, high)


def finfo(t):
    import autograd_gpu as ag
    return ag.finfo(t.dtype)


def half_log_two_pi():
    return 0.5 * math.log(2 * math.pi)
