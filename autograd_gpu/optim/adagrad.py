"""Adagrad (torch.optim.Adagrad), with learning-rate decay."""
from ..creation import full_like, tensor
from ._updates import advance_step, check_flags, fused_update, params_with_grad
from .optimizer import Optimizer, check_number


class Adagrad(Optimizer):
    """For each parameter p with gradient g, at step t:

        d = -g if maximize else g;   d += weight_decay * p   (if weight_decay)
        sum += d * d
        p -= lr / (1 + (t - 1) * lr_decay) * d / (sqrt(sum) + eps)

    State per parameter, created with the optimizer as PyTorch's: "step"
    (float32 CPU scalar) and "sum" (filled with the constructor's
    initial_accumulator_value; as in PyTorch, a group's own value is unused).
    `foreach` is accepted and ignored (one fused kernel launch per parameter
    on the GPU)."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False):
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p)

    def _init_state(self, p):
        # PyTorch fills every sum from the constructor's value, whatever a group says
        self.state[p].update(step=tensor(0.0), sum=full_like(p, float(self.defaults["initial_accumulator_value"])))

    def _check_hyperparameters(self, group):
        check_number("lr", group["lr"], message=f"Invalid learning rate: {group['lr']}")
        for name in ("lr_decay", "weight_decay", "initial_accumulator_value"):
            check_number(name, group[name])
        check_number("eps", group["eps"], message=f"Invalid epsilon value: {group['eps']}")
        check_flags(group, "maximize")

    def _update(self, group):
        lr, lr_decay, eps, wd = (float(group[k]) for k in ("lr", "lr_decay", "eps", "weight_decay"))
        for p in params_with_grad(group):
            state = self.state[p]
            if not state:                   # a group added after construction
                self._init_state(p)
            step = advance_step(state)
            clr = lr / (1 + (step - 1) * lr_decay)
            fused_update("adagrad", p, [state["sum"]], (-clr, eps, wd, group["maximize"]))
