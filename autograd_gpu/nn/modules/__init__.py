"""ag.nn.modules: torch.nn.modules' import paths, aliasing ag.nn's classes
(the same objects: `ag.nn.modules.conv.Conv2d is ag.nn.Conv2d`), with the
private bases ported code subclasses (loss._Loss, batchnorm._BatchNorm,
conv._ConvNd, dropout._DropoutNd, pooling._MaxPoolNd, utils._pair, ...)."""
from . import (activation, adaptive, batchnorm, channelshuffle, container, conv, distance, dropout, flatten, fold,
               instancenorm, lazy, linear, loss, module, normalization, padding, pixelshuffle, pooling, rnn, sparse,
               transformer, upsampling, utils)
from .loss import LinearCrossEntropyOptions

__all__ = ["LinearCrossEntropyOptions"]
# torch.nn.modules exports the classes of its submodules (not module's global hook functions nor utils' helper)
for _sub in (module, container, linear, conv, activation, loss, batchnorm, instancenorm, normalization, pooling,
             dropout, rnn, sparse, transformer, padding, pixelshuffle, upsampling, flatten, distance, channelshuffle,
             fold, adaptive):
    _classes = [_name for _name in _sub.__all__ if isinstance(getattr(_sub, _name), type)]
    globals().update({_name: getattr(_sub, _name) for _name in _classes})
    __all__ += _classes
