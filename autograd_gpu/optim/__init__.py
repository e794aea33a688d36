"""Optimizers (`ag.optim`), after `torch.optim`: `SGD` and `Adam` with PyTorch's
update rules, parameter groups and state dicts. Updates run in place, without
recording a graph; on the GPU each is one fused kernel per parameter."""
from .optimizer import Optimizer
from .sgd import SGD
from .adam import Adam

__all__ = ["Optimizer", "SGD", "Adam"]
