"""The last of torch.nn's public classes: the deprecated `NLLLoss2d` and
`Container`, `SyncBatchNorm` (one process: batch norm over (N, C, *)),
`DataParallel` (one device), and PyTorch 2.13's `LinearCrossEntropyLoss`
with its `LinearCrossEntropyOptions`."""
import dataclasses
import math
import warnings

from .. import _dtype
from . import functional_layers as FL
from .functional_compat import linear_cross_entropy
from .layers import _BatchNorm
from .linear import Linear
from .loss import NLLLoss, _WeightedLoss
from .functional_losses import _legacy_reduction
from .module import Module
from .normalization import _InstanceNorm

__all__ = ["NLLLoss2d", "Container", "SyncBatchNorm", "DataParallel", "LinearCrossEntropyLoss",
           "LinearCrossEntropyOptions"]


# ---- deprecated classes --------------------------------------------------------------------------

class _Deprecated:
    """As PyTorch's @deprecated classes: a FutureWarning when the class itself
    is instantiated and when it is subclassed (not when a subclass is)."""
    _deprecation = ""

    def __init_subclass__(cls, **kwargs):
        if _Deprecated not in cls.__bases__:
            warnings.warn(cls._deprecation, FutureWarning, stacklevel=2)
        super().__init_subclass__(**kwargs)

    def _warn_if_exact(self, cls):
        if type(self) is cls:
            warnings.warn(cls._deprecation, FutureWarning, stacklevel=3)


class NLLLoss2d(_Deprecated, NLLLoss):
    """Deprecated: NLLLoss (which takes (N, C, H, W) input as it is)."""
    _deprecation = ("`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a drop-in replacement and see "
                    "https://pytorch.org/docs/main/nn.html#torch.nn.NLLLoss for more details.")

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
        self._warn_if_exact(NLLLoss2d)
        super().__init__(weight=weight, ignore_index=ignore_index,
                         reduction=_legacy_reduction(size_average, reduce, reduction))


class Container(_Deprecated, Module):
    """Deprecated: a Module holding the submodules given as keyword arguments."""
    _deprecation = ("`nn.Container` is deprecated. All of its functionality is now implemented in `nn.Module`. "
                    "Subclass that instead.")

    def __init__(self, **kwargs):
        self._warn_if_exact(Container)
        super().__init__()
        for name, module in kwargs.items():
            self.add_module(name, module)


# ---- SyncBatchNorm -----------------------------------------------------------------------------------

class _AtLeast2:
    """The input ranks SyncBatchNorm takes: 2 and up."""

    def __contains__(self, ndim):
        return ndim >= 2


class SyncBatchNorm(_BatchNorm):
    """Batch norm over (N, C, *) input. With one process there is nothing to
    synchronise: the statistics are those of this batch, as PyTorch's
    SyncBatchNorm gives without an initialised process group.
    `process_group` is kept and not used."""
    _dims = _AtLeast2()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 process_group=None, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        self.process_group = process_group

    def forward(self, input):
        FL._tensor_arg(input, "SyncBatchNorm", "input")
        if input.dim() < 2:
            raise ValueError(f"SyncBatchNorm: expected at least 2D input (got {input.dim()}D input)")
        if input.shape[1] == 0:
            raise ValueError(f"SyncBatchNorm number of input channels should be non-zero (input shape "
                             f"{list(input.shape)})")
        return super().forward(input)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """`module` with every BatchNorm*d in it replaced by a SyncBatchNorm that
        shares its parameters and buffers (a new module if `module` is one)."""
        converted = module
        if isinstance(module, _BatchNorm) and not isinstance(module, _InstanceNorm):
            converted = cls(module.num_features, module.eps, module.momentum, module.affine,
                            module.track_running_stats, process_group, bias=module.bias is not None)
            if module.affine:
                converted.weight, converted.bias = module.weight, module.bias
            converted.running_mean = module.running_mean
            converted.running_var = module.running_var
            converted.num_batches_tracked = module.num_batches_tracked
            converted.training = module.training
            if hasattr(module, "qconfig"):
                converted.qconfig = module.qconfig
        for name, child in module.named_children():
            converted.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return converted


# ---- DataParallel ----------------------------------------------------------------------------------

def _device_index(x):
    """A CUDA device id given as an int, "cuda:N" or a device."""
    import autograd_gpu as ag
    if isinstance(x, int) and not isinstance(x, bool):
        return x
    if isinstance(x, (str, ag.device)):
        d = ag.device(x)
        if d.type == "cuda":
            return 0 if d.index is None else d.index
    raise ValueError(f"DataParallel: expected a cuda device or its index, got {x!r}")


def _moved(obj, device):
    """obj with every tensor in it (through tuples, lists and dicts) on `device` (differentiably)."""
    from ..tensor import Tensor
    if isinstance(obj, Tensor):
        return obj.to(device)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_moved(o, device) for o in obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(_moved(o, device) for o in obj)
    if isinstance(obj, dict):
        return type(obj)((k, _moved(v, device)) for k, v in obj.items())
    return obj


class DataParallel(Module):
    """Wraps `module` (registered as `.module`, so state_dict keys are
    "module.*"). Without CUDA, forward calls the module as it is (device_ids is
    []), as PyTorch does without an accelerator. With CUDA, the module is run on
    device_ids[0] (where its parameters must be) with the inputs moved there;
    several device_ids are accepted, but the batch is not split across them:
    the whole batch runs on device_ids[0] and the output goes to output_device."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        import autograd_gpu as ag
        super().__init__()
        if not ag.cuda.is_available():
            self.module = module
            self.device_ids = []
            return
        if device_ids is None:
            device_ids = list(range(ag.cuda.device_count()))
        device_ids = [_device_index(d) for d in device_ids]
        if not device_ids:
            raise RuntimeError("DataParallel: no available devices were found (device_ids is empty)")
        self.dim = dim
        self.module = module
        self.device_ids = device_ids
        self.output_device = _device_index(device_ids[0] if output_device is None else output_device)
        self.src_device_obj = ag.device(f"cuda:{device_ids[0]}")
        if len(device_ids) == 1:
            self.module.to(self.src_device_obj)

    def forward(self, *inputs, **kwargs):
        if not self.device_ids:
            return self.module(*inputs, **kwargs)
        for t in (*self.module.parameters(), *self.module.buffers()):
            if t.device != self.src_device_obj:
                raise RuntimeError(f"DataParallel: module must have its parameters and buffers on device "
                                   f"{self.src_device_obj} (device_ids[0]) but found one of them on device: "
                                   f"{t.device}")
        out = self.module(*_moved(inputs, self.src_device_obj), **_moved(kwargs, self.src_device_obj))
        if len(self.device_ids) == 1:
            return out
        return _moved(out, f"cuda:{self.output_device}")


# ---- LinearCrossEntropyLoss --------------------------------------------------------------------------

_ACC_POLICIES = ("auto", "accurate", "balanced", "compact")


@dataclasses.dataclass(slots=True, frozen=True)
class LinearCrossEntropyOptions:
    """PyTorch's configuration of its chunked linear_cross_entropy, checked as
    PyTorch checks it. Here every call takes the reference path: the options
    are accepted and change nothing (the values are the same)."""
    allow_retain_graph: bool = False
    batch_chunk_size: int = None
    chunking_method: str = "auto"
    acc_policy: str = "auto"
    acc_dtype: object = None

    def __post_init__(self):
        if self.acc_policy not in _ACC_POLICIES:
            raise ValueError(f"invalid acc_policy: {self.acc_policy!r}")
        if self.chunking_method is not None and self.chunking_method != "auto":
            name, sep, factor = str(self.chunking_method).partition(":")
            factor = factor if sep else "1"
            if not (name == "aspect_ratio" and factor.isdigit() and int(factor) > 0):
                raise ValueError(f"invalid chunking_method: {self.chunking_method!r}")
        size = self.batch_chunk_size
        if not (size is None or (isinstance(size, int) and size > 0)):
            raise ValueError(f"batch_chunk_size must be positive int or None, got {size!r}")
        if self.acc_dtype is not None and not _is_acc_dtype(self.acc_dtype):
            raise ValueError(f"acc_dtype must be one of {{None, torch.float16, torch.bfloat16, torch.float32, "
                             f"torch.float64}}, got {self.acc_dtype!r}. Pass acc_dtype=None to let the op pick "
                             "automatically.")


def _is_acc_dtype(dtype):
    """Ours (float16/32/64) or PyTorch's (those and bfloat16)."""
    if dtype in (_dtype.float16, _dtype.float32, _dtype.float64):
        return True
    return str(dtype) in ("torch.float16", "torch.bfloat16", "torch.float32", "torch.float64")


class LinearCrossEntropyLoss(_WeightedLoss):
    """A Linear(in_features, num_classes * prod(out_features), bias) into cross
    entropy, as PyTorch 2.13's: the logits of input (in,) or (N, in) are laid out
    (N, C, *out_features); the linear layer is the submodule `linear` (its
    weight stored flat) and the class weights the buffer `weight`."""

    def __init__(self, in_features, num_classes, *, out_features=(), bias=False, device=None, dtype=None,
                 reduction="mean", weight=None, ignore_index=None, label_smoothing=0.0, options=None):
        if weight is not None and tuple(weight.shape) != (num_classes,):
            raise RuntimeError(f"LinearCrossEntropyLoss: expected weight shape to be {(num_classes,)}, got "
                               f"{tuple(weight.shape)}")
        if label_smoothing < 0 or label_smoothing > 1.0:
            raise RuntimeError(f"LinearCrossEntropyLoss: expected label_smoothing to be in range [0, 1], got "
                               f"{label_smoothing}")
        super().__init__(weight=weight, reduction=reduction)
        self.num_classes = num_classes
        self.out_features = out_features
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        self.linear = Linear(in_features, math.prod(out_features, start=num_classes), bias=bias, device=device,
                             dtype=dtype)
        self.options = options

    def forward(self, input, target):
        linear_weight = self.linear.weight.reshape(self.num_classes, *self.out_features, self.linear.in_features)
        bias = self.linear.bias
        linear_bias = None if bias is None else bias.reshape(self.num_classes, *self.out_features)
        return linear_cross_entropy(input, linear_weight, target, linear_bias=linear_bias, weight=self.weight,
                                    reduction=self.reduction, ignore_index=self.ignore_index,
                                    label_smoothing=self.label_smoothing, options=self.options)

    def extra_repr(self):
        return (f"in_features={self.linear.in_features}, num_classes={self.num_classes}, "
                f"out_features={self.out_features}, bias={self.linear.bias is not None}, "
                f"reduction={self.reduction}, ignore_index={self.ignore_index}, "
                f"label_smoothing={self.label_smoothing}, options={self.options}")
