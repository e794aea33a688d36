"""NAdam (torch.optim.NAdam): Adam with Nesterov momentum and a momentum
schedule, with L2 or decoupled (AdamW-style) weight decay."""
import numpy as np

from ..creation import tensor, zeros_like
from . import _fused
from .adamax import ArrayOptimizer, addcdiv, decayed_grad, ema_square, restore_scalar
from .optimizer import Optimizer, bump_version


class NAdam(ArrayOptimizer):
    """For each parameter p with gradient g, at step t:

        d = -g if maximize else g
        p *= 1 - lr * weight_decay  (decoupled)  or  d += weight_decay * p
        mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay));  mu_product *= mu_t
        m = lerp(m, d, 1 - beta1);   v = beta2 * v + (1 - beta2) * d * d
        denom = sqrt(v / (1 - beta2^t)) + eps
        p -= lr * (1 - mu_t) / (1 - mu_product) * d / denom
        p -= lr * mu_{t+1} / (1 - mu_product * mu_{t+1}) * m / denom

    State per parameter: "step" and "mu_product" (float32 CPU scalars, as
    PyTorch's: mu_product is multiplied in float32; loaded from a state dict
    it takes the parameter's dtype and device, as in PyTorch), "exp_avg" (m),
    "exp_avg_sq" (v)."""

    _array_state = ("exp_avg", "exp_avg_sq")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        self._check_adam_like(group, "momentum_decay")

    def _new_state(self, p, group):
        return dict(step=tensor(0.0), mu_product=tensor(1.0), exp_avg=zeros_like(p), exp_avg_sq=zeros_like(p))

    @staticmethod
    def _restore(param, name, value, key):
        if name == "mu_product":
            return restore_scalar(param, value)
        return Optimizer._restore(param, name, value, key)

    def _update_arrays(self, group, state, step, p, m, v, g):
        lr, wd, eps = float(group["lr"]), float(group["weight_decay"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        psi = float(group["momentum_decay"])
        d = decayed_grad(p, g, 0.0 if group["decoupled_weight_decay"] else wd, group["maximize"])
        if wd != 0 and group["decoupled_weight_decay"]:
            p *= 1 - lr * wd
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
        mp_t = state["mu_product"]
        mp_t._data[...] = mp_t._data * mp_t._data.dtype.type(mu)       # in its own dtype, as PyTorch's
        bump_version(mp_t)
        mu_product = float(mp_t.item())
        _fused._lerp(m, d, 1 - beta1, np.empty_like(m))
        ema_square(v, d, beta2)
        denom = np.divide(v, 1 - beta2 ** step)
        np.sqrt(denom, out=denom)
        denom += eps
        addcdiv(p, d, denom, -lr * (1.0 - mu) / (1.0 - mu_product))
        addcdiv(p, m, denom, (-lr * mu_next) / (1.0 - mu_product * mu_next))
