"""PyTorch's legacy tensor types: ag.FloatTensor(2, 3) constructs in a fixed
dtype (Tensor.new's rules: sizes, data, or an alias of a tensor of that
type), isinstance(t, ag.FloatTensor) tests a tensor's dtype and device kind,
and t.type(ag.DoubleTensor) casts. ag.cuda.FloatTensor and the rest live on
the current GPU."""
from . import _dtype
from .tensor import Tensor


class LegacyTensorType(type):
    """The metaclass of the legacy types: calling one constructs a Tensor."""

    def __call__(cls, *args, device=None):
        from .creation import empty
        kind = "cuda" if cls.is_cuda else "cpu"
        if device is not None:
            from .backend import device as as_device
            if as_device(device).type != kind:
                raise RuntimeError(f"legacy constructor expects device type: {kind} but device type: "
                                   f"{as_device(device).type} was passed")
        try:
            prototype = empty(0, dtype=cls.dtype, device=device if device is not None else kind)
        except RuntimeError as e:
            raise TypeError(f"type {cls.type_string} not available: {e}") from None
        return prototype.new(*args)

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype and obj.is_cuda == cls.is_cuda

    def __repr__(cls):
        return f"<class '{cls.type_string.replace('torch.', 'autograd_gpu.', 1)}'>"


def _make(dt, cuda):
    name = dt.libtorch + "Tensor"
    type_string = ("torch.cuda." if cuda else "torch.") + name        # (what Tensor.type accepts)
    return LegacyTensorType(name, (), {"dtype": dt, "is_cuda": cuda, "is_sparse": False,
                                       "type_string": type_string, "__module__": __name__})


CPU_TYPES = {dt.libtorch + "Tensor": _make(dt, False) for dt in _dtype.ALL}
CUDA_TYPES = {dt.libtorch + "Tensor": _make(dt, True) for dt in _dtype.ALL}
__all__ = sorted(CPU_TYPES)
globals().update(CPU_TYPES)
