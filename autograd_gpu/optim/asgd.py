"""ASGD (torch.optim.ASGD): averaged stochastic gradient descent."""
import numpy as np

from ..creation import tensor, zeros_like
from ..tensor import Tensor
from .adamax import ArrayOptimizer, decayed_grad, restore_scalar
from .optimizer import Optimizer, bump_version, check_number

class ASGD(ArrayOptimizer):
    """For each parameter p with gradient g, at step t:

        d = -g if maximize else g;   d += weight_decay * p   (if weight_decay)
        p *= 1 - lambd * eta;   p -= eta * d
        ax = p  if mu == 1  else  ax + mu * (p - ax)
        eta = lr / (1 + lambd * lr * t)^alpha;   mu = 1 / max(1, t - t0)

    State per parameter: "step", "eta", "mu" (float32 scalars on the
    parameter's device, as PyTorch's; loaded from a state dict, eta and mu
    take the parameter's dtype, as in PyTorch) and "ax" (the average)."""

    _array_state = ("ax",)

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False, differentiable=False, capturable=False):
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        check_number("lr", group["lr"], message=f"Invalid learning rate: {group['lr']}")
        check_number("weight_decay", group["weight_decay"])
        for name in ("lambd", "alpha", "t0"):          # PyTorch does not bound them
            check_number(name, group[name], low=float("-inf"))
        self._check_flags(group)

    def _new_state(self, p, group):
        scalar = lambda v: tensor(float(v), dtype="float32", device=p.device)  # noqa: E731
        return dict(step=scalar(0.0), eta=scalar(group["lr"]), mu=scalar(1.0), ax=zeros_like(p))

    @staticmethod
    def _restore(param, name, value, key):
        if name == "step":              # a float32 scalar on the parameter's device
            return tensor(float(value.item() if isinstance(value, Tensor) else value), dtype="float32",
                          device=param.device)
        if name in ("eta", "mu"):
            return restore_scalar(param, value)
        return Optimizer._restore(param, name, value, key)

    def _update_arrays(self, group, state, step, p, ax, g):
        lr, lambd, alpha, t0 = (float(group[k]) for k in ("lr", "lambd", "alpha", "t0"))
        eta_t, mu_t = state["eta"], state["mu"]
        eta, mu = float(eta_t.item()), float(mu_t.item())
        d = decayed_grad(p, g, float(group["weight_decay"]), group["maximize"])
        p *= 1 - lambd * eta
        d *= -eta
        p += d
        if mu != 1:
            diff = np.subtract(p, ax)
            diff *= mu
            ax += diff
        else:
            np.copyto(ax, p)
        # PyTorch makes the new values float32 tensors (torch.as_tensor of a float), then copies them in
        eta_t._data[...] = np.float32(lr / ((1 + lambd * lr * step) ** alpha))
        mu_t._data[...] = np.float32(1 / max(1, step - t0))
        bump_version(eta_t)
        bump_version(mu_t)
