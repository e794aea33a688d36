"""Adafactor (torch.optim.Adafactor): an Adam-like update without first
moment whose second moment of a >= 2-d parameter is kept factored, as a
row and a column average over the last two dims."""
import math

import numpy as np

from ..creation import tensor, zeros, zeros_like
from ..tensor import Tensor
from . import _fused
from ._updates import advance_step, params_with_grad
from .adamax import ArrayOptimizer, run_array_update
from .optimizer import Optimizer, check_number

__all__ = ["Adafactor"]


def _factor_shapes(shape):
    """The shapes of row_var (last dim 1) and col_var (second-to-last dim 1)."""
    return shape[:-1] + (1,), shape[:-2] + (1,) + shape[-1:]


def _mean_square(g, axis):
    """(g * g).mean(axis) as PyTorch's: the squared 2-norm along axis over its length."""
    n = np.sqrt(np.sum(np.multiply(g, g), axis=axis, keepdims=True))
    np.multiply(n, n, out=n)
    n /= g.shape[axis]
    return n


def _norm(a):
    return float(np.sqrt(np.sum(np.multiply(a, a))))


class Adafactor(ArrayOptimizer):
    """For each parameter p with gradient g, at step t (eps = (eps1, eps2)):

        g = -g if maximize
        beta2_hat = t^beta2_decay (the weight of the new square);  rho = min(lr, 1 / sqrt(t))
        alpha = max(eps2, rms(p)) * rho;   p *= 1 - lr * weight_decay
        >= 2-d:  R = lerp(R, mean(g^2, -1), beta2_hat);  C = lerp(C, mean(g^2, -2), beta2_hat)
                 V = R @ C / max(mean(R, -2), eps1)
        else:    V = lerp(V, g^2, beta2_hat)
        u = g / sqrt(max(V, eps1^2));   p -= alpha / max(1, rms(u) / d) * u

    eps1 None is the machine epsilon of the group's first parameter with a
    gradient (PyTorch's: that one is kept for the rest of the group).
    State per parameter: "step" (float32 CPU scalar), and "row_var" and
    "col_var" (>= 2-d: the parameter's shape with the last, resp. the
    second-to-last, dim 1) or "variance" (0-d and 1-d)."""

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *,
                 foreach=None, maximize=False):
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        lr, decay, eps, d, wd = (group[k] for k in ("lr", "beta2_decay", "eps", "d", "weight_decay"))
        check_number("lr", lr, message=f"Learning rate should be >= 0 but is: {lr}")
        check_number("beta2_decay", decay, low=-math.inf, high=0.0, high_open=False,
                     message=f"beta2_decay should be <= 0 but is: {decay}")
        if not isinstance(eps, (tuple, list)) or len(eps) != 2:
            raise TypeError(f"Adafactor: eps must be a pair (eps1 or None, eps2), got {eps!r}")
        if eps[0] is not None:
            check_number("eps1", eps[0], message=f"epsilon1 should be >= 0 but is: {eps[0]}")
        check_number("eps2", eps[1], message=f"epsilon2 should be >= 0 but is: {eps[1]}")
        check_number("d", d, low=1.0, message=f"Clipping threshold d should be >= 1 but is: {d}")
        check_number("weight_decay", wd, message=f"weight_decay should be >= 0 but is: {wd}")
        self._check_flags(group)

    def _new_state(self, p, group):
        state = dict(step=tensor(0.0))
        if p.dim() > 1:
            row, col = _factor_shapes(tuple(p.shape))
            state["row_var"] = zeros(row, dtype=p.dtype, device=p.device)
            state["col_var"] = zeros(col, dtype=p.dtype, device=p.device)
        else:
            state["variance"] = zeros_like(p)
        return state

    @staticmethod
    def _restore(param, name, value, key):
        if name in ("row_var", "col_var") and isinstance(value, Tensor):
            want = _factor_shapes(tuple(param.shape))[name == "col_var"] if param.dim() > 1 else None
            if tuple(value.shape) != want:
                raise ValueError(f"loaded optimizer state {name!r} of parameter {key} has shape "
                                 f"{list(value.shape)}, but the parameter of shape {list(param.shape)} needs "
                                 f"{list(want) if want else 'none'}")
            out = value.to(device=param.device, dtype=param.dtype)
            return out.clone() if out is value else out.detach()
        return Optimizer._restore(param, name, value, key)

    def _update(self, group):
        eps1, eps2 = group["eps"]
        for p in params_with_grad(group):
            if eps1 is None:
                eps1 = float(np.finfo(p._data.dtype).eps)
            state = self.state[p]
            if not state:
                state.update(self._new_state(p, group))
            step = advance_step(state)
            names = ("row_var", "col_var") if "row_var" in state else ("variance",)
            run_array_update(p, [state[k] for k in names],
                             lambda p_, *arrays: self._update_arrays(group, step, float(eps1), p_, *arrays))

    def _update_arrays(self, group, step, eps1, p, *arrays):
        *moments, g = arrays
        lr, wd = float(group["lr"]), float(group["weight_decay"])
        if group["maximize"]:
            g = np.negative(g, out=np.empty_like(g))        # (out=: a 0-d array stays an array)
        weight = step ** float(group["beta2_decay"])
        # a Python division, so an empty parameter raises ZeroDivisionError as in PyTorch
        alpha = max(float(group["eps"][1]), _norm(p) / (p.size ** 0.5)) * min(lr, 1 / step ** 0.5)
        if wd != 0:
            p *= 1 - lr * wd
        if len(moments) == 2:
            row_var, col_var = moments
            for var, axis in ((row_var, -1), (col_var, -2)):
                _fused._lerp(var, _mean_square(g, axis), weight, np.empty_like(var))
            var_estimate = np.matmul(row_var, col_var)
            var_estimate /= np.maximum(np.mean(row_var, axis=-2, keepdims=True), eps1)
        else:
            (variance,) = moments
            _fused._lerp(variance, np.multiply(g, g, out=np.empty_like(g)), weight, np.empty_like(g))
            var_estimate = variance.copy()
        np.maximum(var_estimate, eps1 * eps1, out=var_estimate)
        update = np.sqrt(var_estimate, out=var_estimate)
        np.divide(1, update, out=update)            # rsqrt
        update *= g
        denom = max(1.0, _norm(update) / ((update.size ** 0.5) * float(group["d"])))
        update *= -alpha / denom
        p += update
