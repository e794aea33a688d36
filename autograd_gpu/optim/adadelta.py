"""Adadelta (torch.optim.Adadelta)."""
import numpy as np

from ..creation import tensor, zeros_like
from .adamax import ArrayOptimizer, decayed_grad, ema_square
from .optimizer import check_number


class Adadelta(ArrayOptimizer):
    """For each parameter p with gradient g (per step):

        d = -g if maximize else g;   d += weight_decay * p   (if weight_decay)
        v = rho * v + (1 - rho) * d * d
        delta = sqrt(u + eps) / sqrt(v + eps) * d
        u = rho * u + (1 - rho) * delta * delta
        p -= lr * delta

    State per parameter: "step" (float32 CPU scalar), "square_avg" (v),
    "acc_delta" (u)."""

    _array_state = ("square_avg", "acc_delta")

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        check_number("lr", group["lr"], message=f"Invalid learning rate: {group['lr']}")
        check_number("rho", group["rho"], high=1.0, high_open=False)
        check_number("eps", group["eps"], message=f"Invalid epsilon value: {group['eps']}")
        check_number("weight_decay", group["weight_decay"])
        self._check_flags(group)

    def _new_state(self, p, group):
        return dict(step=tensor(0.0), square_avg=zeros_like(p), acc_delta=zeros_like(p))

    def _update_arrays(self, group, state, step, p, v, u, g):
        rho, eps = float(group["rho"]), float(group["eps"])
        d = decayed_grad(p, g, float(group["weight_decay"]), group["maximize"])
        ema_square(v, d, rho)
        std = np.add(v, eps)
        np.sqrt(std, out=std)
        delta = np.add(u, eps)
        np.sqrt(delta, out=delta)
        delta /= std
        delta *= d
        ema_square(u, delta, rho)
        delta *= -float(group["lr"])
        p += delta
