"""Neural-network building blocks (`ag.nn`), after `torch.nn`: the `Module`
base class, `Parameter`, layers, activations, containers and losses, with
their stateless forms in `ag.nn.functional`."""
from .parameter import Buffer, Parameter
from .module import Module
from .linear import Linear
from .container import Sequential
from . import activation, layers, loss, conv, pooling, rnn, normalization, resampling, transformer
from . import lazy, fractional_pool, adaptive_softmax, compat
from . import functional, init, utils, grad, attention, modules, parallel

__all__ = ["Parameter", "Buffer", "Module", "Linear", "Sequential", "functional", "init", "utils", "grad", "attention",
           "modules", "parallel"]
for _family in (activation, layers, loss, conv, pooling, rnn, normalization, resampling, transformer, lazy,
                fractional_pool, adaptive_softmax, compat):          # each lists its classes in __all__
    globals().update({_name: getattr(_family, _name) for _name in _family.__all__})
    __all__ += _family.__all__
