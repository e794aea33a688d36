"""RMSprop (torch.optim.RMSprop): plain, centered, with momentum."""
from ..creation import tensor, zeros_like
from ._updates import advance_step, check_flags, fused_update, params_with_grad
from .optimizer import Optimizer, check_number


class RMSprop(Optimizer):
    """For each parameter p with gradient g (per step):

        d = -g if maximize else g;   d += weight_decay * p   (if weight_decay)
        square_avg = alpha * square_avg + (1 - alpha) * d * d
        grad_avg = lerp(grad_avg, d, 1 - alpha)                      (if centered)
        avg = sqrt(square_avg - grad_avg^2 if centered else square_avg) + eps
        buf = momentum * buf + d / avg;  p -= lr * buf               (if momentum > 0)
        p -= lr * d / avg                                            (otherwise)

    State per parameter: "step" (float32 CPU scalar), "square_avg", and
    "momentum_buffer" / "grad_avg" when used. `foreach` is accepted and
    ignored (each parameter is one fused kernel launch on the GPU);
    `capturable=True` (CUDA graph capture) and `differentiable=True` are not supported."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        if capturable:
            raise ValueError("RMSprop: capturable=True (CUDA graph capture) is not supported")
        if differentiable:
            raise ValueError("RMSprop: differentiable=True (a graph through the update) is not supported")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        check_number("lr", group["lr"], message=f"Invalid learning rate: {group['lr']}")
        check_number("eps", group["eps"], message=f"Invalid epsilon value: {group['eps']}")
        for name in ("momentum", "weight_decay", "alpha"):
            check_number(name, group[name])
        check_flags(group, "centered", "maximize")

    def _update(self, group):
        lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
        wd, momentum, centered = float(group["weight_decay"]), float(group["momentum"]), group["centered"]
        extra = (["grad_avg"] if centered else []) + (["momentum_buffer"] if momentum > 0 else [])
        name = "rmsprop" + ("_centered" if centered else "") + ("_momentum" if momentum > 0 else "")
        scalars = (-lr, alpha, 1 - alpha, eps, wd) + ((momentum,) if momentum > 0 else ()) + (group["maximize"],)
        for p in params_with_grad(group):
            state = self.state[p]
            if not state:
                state.update(step=tensor(0.0), square_avg=zeros_like(p))
            for key in extra:               # also when momentum / centered were switched on later
                if key not in state:
                    state[key] = zeros_like(p)
            advance_step(state)
            fused_update(name, p, [state["square_avg"]] + [state[k] for k in extra], scalars)
