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


def manual_seed(seed):
    """Seed the default generator of the CPU and of every CUDA device (those
    whose generator does not exist yet start from this seed when created)."""
    cpu_backend.engine.manual_seed(seed)
    from . import cupy_backend
    for engine in cupy_backend.default_engines.values():
        engine.manual_seed(seed)
    cupy_backend.pending_seeds.clear()        # (a later ag.cuda.manual_seed wins)
    cupy_backend.pending_seed_all[0] = seed


def initial_seed():
    """The seed of the CPU's default generator (the last manual_seed, else the default one)."""
    return cpu_backend.engine.seed


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
