"""The array backend: a device maps to an object owning the array module
(NumPy or CuPy), conversions, random draws and the kernel launcher.

This is the only place that knows CuPy exists; it is imported on the first use
of a CUDA device, so CPU-only machines never need it."""
import numpy as np

from .device import device, CPU
from .numpy_backend import NumpyBackend

cpu_backend = NumpyBackend()
_backends = {CPU: cpu_backend}


def get(dev):
    """The backend of a device (a `device`, or anything `device()` accepts)."""
    b = _backends.get(dev)
    if b is None:
        dev = device(dev)
        b = _backends.get(dev)
        if b is None:
            from . import cupy_backend
            b = _backends[dev] = cupy_backend.CupyBackend(dev)
    return b


_seed = [None]          # the last manual_seed, for GPU backends created later


def manual_seed(seed):
    _seed[0] = seed
    for b in _backends.values():
        b.manual_seed(seed)
    # CUDA devices not used yet start from this seed too (a later ag.cuda.manual_seed wins)
    from . import cupy_backend
    cupy_backend.pending_seeds.clear()
    cupy_backend.pending_seed_all[0] = seed


def initial_seed():
    """The seed a newly created backend starts from (None: its default)."""
    return _seed[0]


def of_array(a):
    """The backend an array lives on (NumPy arrays and scalars -> cpu)."""
    if type(a) is np.ndarray or isinstance(a, (np.ndarray, np.generic)):
        return cpu_backend
    from . import cupy_backend
    return get(device("cuda", cupy_backend.array_device_index(a)))


def is_cuda_array(a):
    """True for a CuPy array, without importing CuPy when it was never loaded."""
    import sys
    cp = sys.modules.get("cupy")
    return cp is not None and isinstance(a, cp.ndarray)


__all__ = ["device", "get", "of_array", "is_cuda_array", "cpu_backend", "CPU", "manual_seed",
           "initial_seed"]
