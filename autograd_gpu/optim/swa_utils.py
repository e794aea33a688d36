"""Stochastic weight averaging and EMA (`ag.optim.swa_utils`), after
`torch.optim.swa_utils`: `AveragedModel` (a copy of a model whose
parameters, and optionally buffers, are a running average of the model's),
`SWALR` (anneals each group's lr to its swa_lr), `update_bn` (recomputes
BatchNorm running statistics over a loader) and the averaging functions."""
import copy
import itertools
import math

from .. import _dtype
from ..autograd.grad_mode import no_grad
from ..creation import tensor
from ..nn.layers import _BatchNorm
from ..nn.module import Module
from ..nn.normalization import _InstanceNorm
from ..tensor import Tensor
from .lr_scheduler import LRScheduler, _check_optimizer, _per_group

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn",
           "get_ema_avg_fn", "get_swa_avg_fn"]


def _check_decay(decay):
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")


def _swa_weight(num_averaged):
    """1 / (n + 1): with n a (long) Tensor, in its true-division dtype (float32), as PyTorch's."""
    if isinstance(num_averaged, Tensor):
        return (1 / (num_averaged + 1)).item()
    return 1 / (num_averaged + 1)


def get_ema_multi_avg_fn(decay=0.999):
    """fn(ema_params, current_params, num_averaged): each ema = lerp(ema, current, 1 - decay), in place."""
    _check_decay(decay)

    def ema_update(ema_param_list, current_param_list, _):
        with no_grad():
            if ema_param_list[0].is_floating_point():
                for p_ema, p_model in zip(ema_param_list, current_param_list):
                    p_ema.lerp_(p_model, 1 - decay)
            else:
                for p_ema, p_model in zip(ema_param_list, current_param_list, strict=True):
                    p_ema.copy_(p_ema * decay + p_model * (1 - decay))
    return ema_update


def get_swa_multi_avg_fn():
    """fn(averaged_params, current_params, num_averaged): each average moves 1 / (n + 1) of the
    way to the current value, in place (a lerp for floating tensors)."""
    def swa_update(averaged_param_list, current_param_list, num_averaged):
        with no_grad():
            if averaged_param_list[0].is_floating_point():
                weight = _swa_weight(num_averaged)
                for p_avg, p_model in zip(averaged_param_list, current_param_list):
                    p_avg.lerp_(p_model, weight)
            else:
                for p_avg, p_model in zip(averaged_param_list, current_param_list):
                    p_avg.add_((p_model - p_avg) / (num_averaged + 1))
    return swa_update


def get_ema_avg_fn(decay=0.999):
    """fn(ema, current, num_averaged) -> decay * ema + (1 - decay) * current."""
    _check_decay(decay)

    def ema_update(ema_param, current_param, num_averaged):
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn():
    """fn(averaged, current, num_averaged) -> averaged + (current - averaged) / (num_averaged + 1)."""
    def swa_update(averaged_param, current_param, num_averaged):
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


def _device_arg(device):
    return f"cuda:{device}" if isinstance(device, int) and not isinstance(device, bool) else device


def _by_device_and_dtype(averaged, current):
    """{(device, dtype): ([averaged], [current])}, in first-seen order."""
    groups = {}
    for a, c in zip(averaged, current):
        pair = groups.setdefault((str(a.device), a.dtype), ([], []))
        pair[0].append(a)
        pair[1].append(c)
    return groups


class AveragedModel(Module):
    """A deep copy of `model` (in `.module`, moved to `device` if given) whose
    parameters (and buffers, with use_buffers=True) `update_parameters(model)`
    averages with the model's: the first call copies them, later ones apply
    `avg_fn(averaged, current, n)` (-> new value) or `multi_avg_fn(averaged_list,
    current_list, n)` (in place), by default the running mean. `n_averaged` is
    a long buffer counting the updates. Without use_buffers the buffers are
    copied from the model at every update. forward runs `.module`.

    The default average, as PyTorch's: on the CPU a + (c - a) / (n + 1);
    on CUDA a lerp with weight 1 / (n + 1) in float32 (PyTorch's foreach path)."""

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        device = _device_arg(device)
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=_dtype.int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _averaged_and_current(self, model):
        if self.use_buffers:
            return (list(itertools.chain(self.module.parameters(), self.module.buffers())),
                    list(itertools.chain(model.parameters(), model.buffers())))
        return list(self.parameters()), list(model.parameters())

    def update_parameters(self, model):
        """Average `model`'s parameters (and buffers, with use_buffers) into this copy."""
        averaged, current = self._averaged_and_current(model)
        if not self.use_buffers:        # checked before anything is written
            if len(list(self.module.buffers())) != len(list(model.buffers())):
                raise ValueError("AveragedModel.update_parameters: the model has "
                                 f"{len(list(model.buffers()))} buffers, the averaged copy "
                                 f"{len(list(self.module.buffers()))}")
        with no_grad():
            pairs = [(a.detach(), c.detach().to(a.device)) for a, c in zip(averaged, current)]
            if int(self.n_averaged) == 0:
                for a, c in pairs:
                    a.copy_(c)
            else:
                self._average([a for a, _ in pairs], [c for _, c in pairs])
            if not self.use_buffers:
                for b_avg, b_model in zip(self.module.buffers(), model.buffers()):
                    b_avg.detach().copy_(b_model.detach().to(b_avg.device))
            self.n_averaged.add_(1)

    def _average(self, averaged, current):
        if self.avg_fn is not None:
            for a, c in zip(averaged, current):
                a.copy_(self.avg_fn(a, c, self.n_averaged.to(a.device)))
            return
        for (device, _), (avg_list, cur_list) in _by_device_and_dtype(averaged, current).items():
            n = self.n_averaged.to(device)
            if self.multi_avg_fn is not None:
                self.multi_avg_fn(avg_list, cur_list, n)
            elif device.startswith("cuda") and avg_list[0].is_floating_point():
                get_swa_multi_avg_fn()(avg_list, cur_list, n)
            else:
                avg_fn = get_swa_avg_fn()
                for a, c in zip(avg_list, cur_list):
                    a.copy_(avg_fn(a, c, n))


def _is_batch_norm(module):
    # PyTorch's _BatchNorm; our InstanceNorm derives from _BatchNorm, PyTorch's does not
    return isinstance(module, _BatchNorm) and not isinstance(module, _InstanceNorm)


def update_bn(loader, model, device=None):
    """Recompute the running statistics of every BatchNorm of `model`: reset
    them, then run the model in training mode over `loader` (a batch that is
    a list or tuple gives its first element; `device`: where to move it) with
    momentum None (a cumulative average). The momenta and the training mode
    are restored, also when the loader or the model raises."""
    momenta = {m: m.momentum for m in model.modules() if _is_batch_norm(m)}
    if not momenta:
        return
    device = _device_arg(device)
    was_training = model.training
    with no_grad():
        for module in momenta:
            module.reset_running_stats()
        model.train()
        try:
            for module in momenta:
                module.momentum = None
            for batch in loader:
                if isinstance(batch, (list, tuple)):
                    batch = batch[0]
                if device is not None:
                    batch = batch.to(device)
                model(batch)
        finally:
            for module, momentum in momenta.items():
                module.momentum = momentum
            model.train(was_training)


class SWALR(LRScheduler):
    """Anneals each group's lr from its value to its swa_lr (one for all
    groups, or a list) over anneal_epochs steps ("cos" or "linear"), then
    holds it; sets group["swa_lr"]."""

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos", last_epoch=-1):
        _check_optimizer(optimizer, "SWALR")
        swa_lrs = _per_group("swa_lr", optimizer, swa_lr, "SWALR")
        # (checked before any group changes; PyTorch sets swa_lr first)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        if isinstance(anneal_epochs, bool) or not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        for value, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = value.clone() if isinstance(value, Tensor) else value
        self._set_anneal_func(anneal_strategy)
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def _set_anneal_func(self, anneal_strategy):
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal

    def get_lr(self):
        # PyTorch's recursive form: recover the lr before annealing from the current one
        self._warn_outside_step()
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        prev_lrs = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
                    for group in self.optimizer.param_groups]
        alpha = self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [group["swa_lr"] * alpha + lr * (1 - alpha) for group, lr in zip(self.optimizer.param_groups,
                                                                                  prev_lrs)]

    def state_dict(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
