"""Optimizers (`ag.optim`), after `torch.optim`: `SGD`, `Adam`, `AdamW`,
`RMSprop` and `Adagrad` with PyTorch's update rules, parameter groups and
state dicts, and learning-rate schedulers in `ag.optim.lr_scheduler`.
Updates run in place, without recording a graph; on the GPU each is one
fused kernel per parameter."""
from .optimizer import Optimizer
from .sgd import SGD
from .adam import Adam
from .adamw import AdamW
from .rmsprop import RMSprop
from .adagrad import Adagrad
from .adamax import Adamax
from .nadam import NAdam
from .radam import RAdam
from .adadelta import Adadelta
from .asgd import ASGD
from .rprop import Rprop
from .lbfgs import LBFGS
from . import lr_scheduler, swa_utils
from . import adafactor, muon

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam", "Adadelta",
           "ASGD", "Rprop", "LBFGS", "lr_scheduler", "swa_utils"]
for _module in (adafactor, muon):                 # each lists its optimizer in __all__
    globals().update({_name: getattr(_module, _name) for _name in _module.__all__})
    __all__ += _module.__all__
