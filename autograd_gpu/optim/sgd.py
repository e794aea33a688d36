"""Stochastic gradient descent, with momentum, dampening, Nesterov momentum,
L2 weight decay and maximize: PyTorch's update rule (torch/optim/sgd.py)."""
from ..creation import zeros_like
from . import _fused
from .optimizer import Optimizer, bump_version, check_number


class SGD(Optimizer):
    """For each parameter p with gradient g (per step):

        d = -g if maximize else g;   d += weight_decay * p   (if weight_decay)
        buf = d (first step) or momentum * buf + (1 - dampening) * d   (if momentum)
        d = d + momentum * buf if nesterov else buf                        (if momentum)
        p -= lr * d

    One fused kernel launch per parameter on the GPU."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        check_number("lr", group["lr"], message=f"Invalid learning rate: {group['lr']}")
        check_number("momentum", group["momentum"])
        check_number("dampening", group["dampening"], low=float("-inf"))
        check_number("weight_decay", group["weight_decay"])
        for flag in ("nesterov", "maximize"):
            if not isinstance(group[flag], bool):
                raise TypeError(f"{flag} must be a bool, got {type(group[flag]).__name__}")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _update(self, group):
        lr, wd, momentum = float(group["lr"]), float(group["weight_decay"]), float(group["momentum"])
        keep = 1.0 - float(group["dampening"])
        nesterov, maximize = group["nesterov"], group["maximize"]
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            cuda = p.is_cuda
            if momentum != 0:
                state = self.state.setdefault(p, {})
                buf = state.get("momentum_buffer")
                first = buf is None
                if first:
                    buf = state["momentum_buffer"] = zeros_like(p)
                _fused.update("sgd_momentum", (p._data, buf._data), (g._data,),
                              (lr, wd, momentum, keep, nesterov, maximize, first), cuda)
                bump_version(buf)
            else:
                _fused.update("sgd", (p._data,), (g._data,), (lr, wd, maximize), cuda)
            bump_version(p)
