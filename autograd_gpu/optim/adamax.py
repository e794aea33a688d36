"""Adamax (torch.optim.Adamax), and the base that Adamax, NAdam, RAdam,
Adadelta, ASGD and Rprop share: their updates are array code (NumPy
ufuncs with `out=`, which CuPy arrays take over through NumPy's dispatch),
a few whole-array operations per parameter, not a fused kernel."""
import functools

import numpy as np

from ..creation import tensor, zeros_like
from ..tensor import Tensor
from . import _fused
from ._updates import advance_step, params_with_grad
from .optimizer import Optimizer, bump_version, check_number


class ArrayOptimizer(Optimizer):
    """An optimizer whose group carries PyTorch's flags foreach (accepted,
    ignored), maximize, capturable and differentiable (both refused when
    True: we neither capture CUDA graphs nor differentiate through a step),
    and whose update of one parameter is `_update_arrays(group, state, step,
    p, *state arrays, g)` over the arrays of p, of its state entries named in
    `_array_state` and of its gradient."""

    def _check_flags(self, group):
        name = type(self).__name__
        for flag in ("capturable", "differentiable"):
            if group.get(flag, False) is not False:
                raise ValueError(f"{name}: {flag}={group[flag]!r} is not supported")
        if group.get("foreach") is not None and not isinstance(group["foreach"], bool):
            raise TypeError(f"foreach must be a bool or None, got {type(group['foreach']).__name__}")
        for flag in ("maximize", "decoupled_weight_decay"):
            if flag in group and not isinstance(group[flag], bool):
                raise TypeError(f"{flag} must be a bool, got {type(group[flag]).__name__}")

    def _check_adam_like(self, group, *more):
        """The checks of the Adam-like optimizers (lr, eps, betas, weight_decay,
        then `more` numbers, then the flags), in PyTorch's order."""
        check_number("lr", group["lr"], message=f"Invalid learning rate: {group['lr']}")
        check_number("eps", group["eps"], message=f"Invalid epsilon value: {group['eps']}")
        self._check_betas(group)
        for name in ("weight_decay",) + more:
            check_number(name, group[name])
        self._check_flags(group)

    def _check_betas(self, group):
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be a pair of numbers, got {betas!r}")
        for i, b in enumerate(betas):
            check_number(f"beta{i + 1}", b, high=1.0, message=f"Invalid beta parameter at index {i}: {b}")

    def _new_state(self, p, group):
        """The state of a parameter's first step (an ordered dict as PyTorch's)."""
        raise NotImplementedError

    def _update(self, group):
        for p in params_with_grad(group):
            state = self.state[p]
            if not state:
                state.update(self._new_state(p, group))
            step = advance_step(state)
            arrays = [state[k] for k in self._array_state]
            run_array_update(p, arrays, functools.partial(self._update_arrays, group, state, step))


def restore_scalar(param, value):
    """A 0-d state entry (NAdam's mu_product, ASGD's eta and mu) loaded from a
    state dict: as PyTorch's load_state_dict, it takes the parameter's
    floating dtype and device (so a loaded mu_product multiplies in that dtype)."""
    if isinstance(value, Tensor):
        value = value.item()
    return tensor(value, dtype=param.dtype, device=param.device)


def run_array_update(p, state_tensors, fn):
    """fn(p, *state, g) on the arrays of p, its state tensors and its gradient,
    in place. float16 data is updated in float32 copies and rounded once on
    store (PyTorch's opmath)."""
    arrays = [p._data] + [t._data for t in state_tensors]
    g = p.grad._data
    if p._data.dtype == np.float16:
        work = [a.astype(np.float32) for a in arrays]
        fn(*work, g.astype(np.float32))
        for dst, src in zip(arrays, work):
            dst[...] = src
    else:
        fn(*arrays, g)
    bump_version(p)
    for t in state_tensors:
        bump_version(t)


def decayed_grad(p, g, weight_decay, maximize):
    """-g if maximize else g, plus weight_decay * p: a new array (g is never written)."""
    d = np.negative(g) if maximize else g.copy()
    if weight_decay != 0:
        d += p * weight_decay
    return d


def addcdiv(p, x, denom, value):
    """p += value * (x / denom), in PyTorch's order of operations."""
    q = np.divide(x, denom)
    q *= value
    p += q


def ema_square(v, d, beta):
    """v = beta * v + (1 - beta) * d * d (PyTorch's mul_ then addcmul_)."""
    v *= beta
    sq = np.multiply(d, d)
    sq *= 1 - beta
    v += sq


class Adamax(ArrayOptimizer):
    """Adam with the infinity norm. For each parameter p with gradient g, at step t:

        d = -g if maximize else g;   d += weight_decay * p   (if weight_decay)
        m = lerp(m, d, 1 - beta1);   u = max(beta2 * u, |d| + eps)
        p -= lr / (1 - beta1^t) * m / u

    State per parameter: "step" (float32 CPU scalar), "exp_avg" (m),
    "exp_inf" (u)."""

    _array_state = ("exp_avg", "exp_inf")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        self._check_adam_like(group)

    def _new_state(self, p, group):
        return dict(step=tensor(0.0), exp_avg=zeros_like(p), exp_inf=zeros_like(p))

    def _update_arrays(self, group, state, step, p, m, u, g):
        beta1, beta2 = (float(b) for b in group["betas"])
        d = decayed_grad(p, g, float(group["weight_decay"]), group["maximize"])
        _fused._lerp(m, d, 1 - beta1, np.empty_like(m))
        u *= beta2
        np.absolute(d, out=d)
        d += float(group["eps"])
        np.maximum(u, d, out=u)
        addcdiv(p, m, u, -float(group["lr"]) / (1 - beta1 ** step))
