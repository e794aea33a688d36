"""Adam (and AMSGrad), with L2 weight decay and maximize: PyTorch's update
rule (torch/optim/adam.py, the single-tensor path)."""
from ..creation import tensor, zeros_like
from . import _fused
from .optimizer import Optimizer, bump_version, check_number


class Adam(Optimizer):
    """For each parameter p with gradient g, at step t:

        d = -g if maximize else g;   d += weight_decay * p   (if weight_decay)
        m = lerp(m, d, 1 - beta1);   v = beta2 * v + (1 - beta2) * d * d
        v_hat = max(v_max, v) if amsgrad else v
        p -= lr / (1 - beta1^t) * m / (sqrt(v_hat) / sqrt(1 - beta2^t) + eps)

    State per parameter: "step" (float32 CPU scalar), "exp_avg" (m),
    "exp_avg_sq" (v) and, with amsgrad, "max_exp_avg_sq". One fused kernel
    launch per parameter on the GPU."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 maximize=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        check_number("lr", group["lr"], message=f"Invalid learning rate: {group['lr']}")
        check_number("eps", group["eps"], message=f"Invalid epsilon value: {group['eps']}")
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be a pair of numbers, got {betas!r}")
        for i, b in enumerate(betas):
            check_number(f"beta{i + 1}", b, high=1.0, message=f"Invalid beta parameter at index {i}: {b}")
        check_number("weight_decay", group["weight_decay"])
        for flag in ("amsgrad", "maximize"):
            if not isinstance(group[flag], bool):
                raise TypeError(f"{flag} must be a bool, got {type(group[flag]).__name__}")

    def _update(self, group):
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        amsgrad, maximize = group["amsgrad"], group["maximize"]
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            state = self.state.get(p)
            if not state:
                state = self.state[p] = {"step": tensor(0.0), "exp_avg": zeros_like(p),
                                         "exp_avg_sq": zeros_like(p)}
            if amsgrad and "max_exp_avg_sq" not in state:
                state["max_exp_avg_sq"] = zeros_like(p)
            step_t = state["step"]
            step_t._data += 1                 # a float32 CPU counter, as PyTorch's
            bump_version(step_t)
            step = float(step_t.item())
            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            step_size = lr / bias_correction1
            scalars = (-step_size, 1 - beta1, beta2, 1 - beta2, eps, bias_correction2 ** 0.5, wd, maximize)
            moments = [state["exp_avg"], state["exp_avg_sq"]]
            if amsgrad:
                moments.append(state["max_exp_avg_sq"])
            _fused.update("adam_amsgrad" if amsgrad else "adam", (p._data,) + tuple(t._data for t in moments),
                          (g._data,), scalars, p.is_cuda)
            bump_version(p)
            for t in moments:
                bump_version(t)
