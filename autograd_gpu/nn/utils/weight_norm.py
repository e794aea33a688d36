"""torch.nn.utils.weight_norm (the old, hook-based form, deprecated in PyTorch for
nn.utils.parametrizations.weight_norm): weight = g * v / ||v||, with g and v the parameters
`weight_g` and `weight_v` and the weight recomputed by a forward pre-hook before each call."""
import warnings
from contextlib import contextmanager

from ...autograd.grad_mode import no_grad
from ...ops.lowlevel import flat_norm_except_dim as norm_except_dim
from ..parameter import Parameter

# the names ag.nn.utils itself exports from this module (as torch.nn.utils does)
EXPORTS = {}


def _weight_norm(v, g, dim=0):
    """torch._weight_norm: v scaled so that its norm over every dimension but `dim` is g."""
    if v.device != g.device:
        raise RuntimeError(f"_weight_norm: expected v and g on the same device, got v on {v.device} and g on "
                           f"{g.device}")
    return v * (g / norm_except_dim(v, 2, dim))


class WeightNorm:
    """The forward pre-hook that recomputes module.<name> from <name>_g and <name>_v."""

    def __init__(self, name, dim):
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module):
        return _weight_norm(getattr(module, self.name + "_v"), getattr(module, self.name + "_g"), self.dim)

    @staticmethod
    def apply(module, name, dim):
        warnings.warn("`torch.nn.utils.weight_norm` is deprecated in favor of "
                      "`torch.nn.utils.parametrizations.weight_norm`.", FutureWarning, stacklevel=3)
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
        fn = WeightNorm(name, dim)
        weight = getattr(module, name)
        _refuse_uninitialized(weight, "WeightNorm", "weight")
        if name not in module._parameters:
            raise KeyError(f"weight_norm: '{name}' is not a parameter of {type(module).__name__}")
        with no_grad(), _named_errors("weight_norm"):
            g = norm_except_dim(weight, 2, fn.dim)      # (raises for a bad dim before anything changes)
        del module._parameters[name]
        module.register_parameter(name + "_g", Parameter(g.data))
        module.register_parameter(name + "_v", Parameter(weight.data))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module):
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.data))

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module))


@contextmanager
def _named_errors(who):
    """Re-raise an IndexError / RuntimeError of the ops inside with `who` named in front."""
    try:
        yield
    except (IndexError, RuntimeError) as e:
        raise type(e)(f"{who}: {e}") from None


def _refuse_uninitialized(weight, who, what):
    from ..lazy import UninitializedParameter
    if isinstance(weight, UninitializedParameter):
        raise ValueError(f"The module passed to `{who}` can't have uninitialized parameters. Make sure to run the "
                         f"dummy forward before applying {what} normalization")


def weight_norm(module, name="weight", dim=0):
    """Reparametrize module.<name> as g * v / ||v|| (norm over every dimension but `dim`; dim=None:
    over the whole tensor), g = <name>_g and v = <name>_v new parameters, the weight recomputed
    before every forward call. Deprecated (FutureWarning), as in PyTorch. Returns the module."""
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module, name="weight"):
    """Undo weight_norm: <name> becomes a parameter again, holding the current g * v / ||v||."""
    hooks = module._forward_pre_hooks
    for key, hook in hooks.items():
        if isinstance(hook, WeightNorm) and hook.name == name:
            hook.remove(module)
            del hooks[key]
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")


EXPORTS.update(weight_norm=weight_norm, remove_weight_norm=remove_weight_norm)
