"""torch.nn.modules.batchnorm's names, with the bases _BatchNorm and _NormBase.
Our _BatchNorm is also the base of the instance norms (PyTorch's _NormBase
role), so _NormBase names it too. A subclass states the input ranks it takes
in the class attribute `_dims` (PyTorch's subclasses define _check_input_dim,
which our forward does not call)."""
from ..compat import SyncBatchNorm
from ..layers import BatchNorm1d, BatchNorm2d, _BatchNorm
from ..lazy import LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d
from ..normalization import BatchNorm3d

_NormBase = _BatchNorm

__all__ = ["BatchNorm1d", "LazyBatchNorm1d", "BatchNorm2d", "LazyBatchNorm2d", "BatchNorm3d", "LazyBatchNorm3d",
           "SyncBatchNorm"]
