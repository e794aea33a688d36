"""RAdam (torch.optim.RAdam): Adam with the variance of its adaptive
learning rate rectified, and L2 or decoupled weight decay."""
import numpy as np

from ..creation import tensor, zeros_like
from . import _fused
from .adamax import ArrayOptimizer, decayed_grad, ema_square


class RAdam(ArrayOptimizer):
    """For each parameter p with gradient g, at step t:

        d = -g if maximize else g
        p *= 1 - lr * weight_decay  (decoupled)  or  d += weight_decay * p
        m = lerp(m, d, 1 - beta1);   v = beta2 * v + (1 - beta2) * d * d
        rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        rho_t > 5:  p -= m / (1 - beta1^t) * lr * sqrt(1 - beta2^t) / (sqrt(v) + eps) * r_t
                    r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
        otherwise:  p -= m / (1 - beta1^t) * lr

    State per parameter: "step" (float32 CPU scalar), "exp_avg" (m), "exp_avg_sq" (v)."""

    _array_state = ("exp_avg", "exp_avg_sq")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
                 *, foreach=None, maximize=False, capturable=False, differentiable=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        self._check_adam_like(group)

    def _new_state(self, p, group):
        return dict(step=tensor(0.0), exp_avg=zeros_like(p), exp_avg_sq=zeros_like(p))

    def _update_arrays(self, group, state, step, p, m, v, g):
        lr, wd, eps = float(group["lr"]), float(group["weight_decay"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        d = decayed_grad(p, g, 0.0 if group["decoupled_weight_decay"] else wd, group["maximize"])
        if wd != 0 and group["decoupled_weight_decay"]:
            p *= 1 - lr * wd
        _fused._lerp(m, d, 1 - beta1, np.empty_like(m))
        ema_square(v, d, beta2)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        upd = np.divide(m, bias_correction1)
        upd *= lr
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive = np.sqrt(v)
            adaptive += eps
            np.reciprocal(adaptive, out=adaptive)       # PyTorch's number / tensor is reciprocal * number
            adaptive *= bias_correction2 ** 0.5
            upd *= adaptive
            upd *= rect
        p -= upd
