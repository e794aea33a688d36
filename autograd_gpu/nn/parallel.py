"""ag.nn.parallel: torch.nn.parallel's import path. DataParallel (one device,
nn/compat.py), its functional form data_parallel, and DistributedDataParallel,
which cannot be built: there is no distributed training here."""
import itertools

from .compat import DataParallel, _device_index, _moved
from .module import Module

__all__ = ["data_parallel", "DataParallel", "DistributedDataParallel"]


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0, module_kwargs=None):
    """module(*inputs, **module_kwargs) on device_ids[0], where the module's
    parameters and buffers must be, with the inputs moved there; the output
    goes to output_device when several device_ids are given (the batch is not
    split: DataParallel's one-device rule). As PyTorch's, a RuntimeError
    without an accelerator."""
    import autograd_gpu as ag
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    if not ag.cuda.is_available():
        raise RuntimeError("data_parallel: device type could not be determined (no CUDA device is available)")
    if device_ids is None:
        device_ids = list(range(ag.cuda.device_count()))
    device_ids = [_device_index(d) for d in device_ids]
    if not device_ids:
        raise RuntimeError("data_parallel: no available devices were found (device_ids is empty)")
    output_device = _device_index(device_ids[0] if output_device is None else output_device)
    source = ag.device(f"cuda:{device_ids[0]}")
    for t in itertools.chain(module.parameters(), module.buffers()):
        if t.device != source:
            raise RuntimeError(f"data_parallel: module must have its parameters and buffers on device {source} "
                               f"(device_ids[0]) but found one of them on device: {t.device}")
    out = module(*_moved(inputs, source), **_moved(module_kwargs or {}, source))
    return out if len(device_ids) == 1 else _moved(out, f"cuda:{output_device}")


class DistributedDataParallel(Module):
    """Importable, so that `isinstance(model, DistributedDataParallel)` in
    ported code is False; building one raises NotImplementedError."""

    def __init__(self, module, *args, **kwargs):
        raise NotImplementedError("DistributedDataParallel: distributed training (torch.distributed process groups) "
                                  "is not supported by autograd_gpu; use the module itself or DataParallel")
