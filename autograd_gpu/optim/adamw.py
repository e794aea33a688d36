"""AdamW: Adam with decoupled weight decay (torch.optim.AdamW)."""
from ..creation import tensor, zeros_like
from ._updates import advance_step, fused_update, params_with_grad
from .adam import Adam


class AdamW(Adam):
    """Adam whose weight decay shrinks the parameter directly instead of
    entering the moments:

        p *= 1 - lr * weight_decay
        then Adam's step (see `Adam`) with weight_decay = 0

    State per parameter as Adam's. One fused kernel launch per parameter on
    the GPU."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize)

    def _update(self, group):
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        amsgrad = group["amsgrad"]
        for p in params_with_grad(group):
            state = self.state[p]
            if not state:
                state.update(step=tensor(0.0), exp_avg=zeros_like(p), exp_avg_sq=zeros_like(p))
            if amsgrad and "max_exp_avg_sq" not in state:
                state["max_exp_avg_sq"] = zeros_like(p)
            step = advance_step(state)
            # host-side arithmetic in Python doubles, as PyTorch's
            scalars = (1 - lr * wd, -lr / (1 - beta1 ** step), 1 - beta1, beta2, 1 - beta2, eps,
                       (1 - beta2 ** step) ** 0.5, group["maximize"])
            moments = [state["exp_avg"], state["exp_avg_sq"]] + ([state["max_exp_avg_sq"]] if amsgrad else [])
            fused_update("adamw_amsgrad" if amsgrad else "adamw", p, moments, scalars)
