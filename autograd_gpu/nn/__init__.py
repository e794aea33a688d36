"""Neural-network building blocks (`ag.nn`), after `torch.nn`: the `Module`
base class, `Parameter`, layers, activations, containers and losses, with
their stateless forms in `ag.nn.functional`."""
from .parameter import Parameter
from .module import Module
from .linear import Linear
from .activation import ReLU, Tanh, Sigmoid, GELU
from .container import Sequential
from .loss import MSELoss, NLLLoss, CrossEntropyLoss
from . import functional, init

__all__ = ["Parameter", "Module", "Linear", "ReLU", "Tanh", "Sigmoid", "GELU", "Sequential", "MSELoss", "NLLLoss",
           "CrossEntropyLoss", "functional", "init"]
