"""Rprop (torch.optim.Rprop): resilient backpropagation."""
import numpy as np

from ..creation import full_like, tensor, zeros_like
from .adamax import ArrayOptimizer
from .optimizer import check_number


def _sign(x):
    """PyTorch's sign, in place: 0 for NaN (NumPy's is NaN)."""
    np.sign(x, out=x)
    x[np.isnan(x)] = 0
    return x


class Rprop(ArrayOptimizer):
    """For each parameter p with gradient g (per step), elementwise:

        d = -g if maximize else g
        f = etaplus if d * prev > 0,  etaminus if < 0,  1 if == 0
        step_size = clamp(step_size * f, step_size_min, step_size_max)
        d = 0 where f == etaminus (a sign change: no move, and no sign memory)
        p -= sign(d) * step_size;   prev = d

    State per parameter: "step" (float32 CPU scalar), "prev", "step_size"
    (starting at lr everywhere)."""

    _array_state = ("prev", "step_size")

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False, foreach=None,
                 maximize=False, differentiable=False):
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        check_number("lr", group["lr"], message=f"Invalid learning rate: {group['lr']}")
        for key in ("etas", "step_sizes"):
            pair = group[key]
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"{key} must be a pair of numbers, got {pair!r}")
            for v in pair:
                check_number(key, v, low=float("-inf"))
        etaminus, etaplus = group["etas"]
        if not 0.0 < etaminus < 1.0 < etaplus:
            raise ValueError(f"Invalid eta values: {etaminus}, {etaplus}")
        self._check_flags(group)

    def _new_state(self, p, group):
        return dict(step=tensor(0.0), prev=zeros_like(p), step_size=full_like(p, float(group["lr"])))

    def _update_arrays(self, group, state, step, p, prev, step_size, g):
        etaminus, etaplus = (float(e) for e in group["etas"])
        lo, hi = (float(s) for s in group["step_sizes"])
        d = np.negative(g) if group["maximize"] else g.copy()
        factor = _sign(np.multiply(d, prev))
        # three masked writes in PyTorch's order (etaminus > 0, so no write undoes another)
        factor[factor > 0] = etaplus
        factor[factor < 0] = etaminus
        factor[factor == 0] = 1
        step_size *= factor
        np.clip(step_size, lo, hi, out=step_size)
        d[factor == factor.dtype.type(etaminus)] = 0
        move = _sign(d.copy())
        move *= step_size
        p -= move
        np.copyto(prev, d)
