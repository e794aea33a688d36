"""`ag.cuda`: the CUDA device namespace, after torch.cuda.

`is_available()` and `device_count()` never raise: without CuPy, a driver or
a GPU they answer False / 0. The others raise RuntimeError saying what is
missing, except the seeding functions, which (as in PyTorch) remember the
seed for when a device is first used.
"""
from .backend import cupy_backend as _cb


def device_count():
    """Number of usable CUDA devices (0 when CuPy, the driver or a GPU is missing)."""
    try:
        return _cb.device_count()
    except Exception:
        return 0


def is_available():
    """True when at least one CUDA device can be used."""
    return device_count() > 0


def _backend(dev=None):
    from . import backend
    from .backend.device import device
    if dev is None:
        dev = current_device()
    elif isinstance(dev, int):
        dev = device("cuda", dev)
    return backend.get(device(dev))


def _cuda_backend(dev, op_name):
    b = _backend(dev)
    if not b.is_cuda:
        raise ValueError(f"{op_name}: expected a CUDA device, got {b.device}")
    return b


def current_device():
    """Index of the current CUDA device (CuPy's current device)."""
    cupy = _cb.import_cupy()
    _cb.device_count()                       # raises with the reason when CUDA cannot work
    return cupy.cuda.runtime.getDevice()


def synchronize(device=None):
    """Wait for all work queued on `device` (default: the current one)."""
    _backend(device).synchronize()


def _seed(seed):
    from .random import seed_value
    return seed_value(seed, "cuda.manual_seed", strict=False)


def manual_seed(seed):
    """Seed the default generator of the current CUDA device (remembered until
    the generator is first used if it has not been)."""
    seed = _seed(seed)
    index = 0
    if is_available():
        index = current_device()
    engine = _cb.default_engines.get(index)
    if engine is not None:
        engine.manual_seed(seed)
    _cb.pending_seeds[index] = seed          # (the seed its generator starts from if made anew)


def manual_seed_all(seed):
    """Seed the default generator of every CUDA device, now and when first used."""
    seed = _seed(seed)
    _cb.pending_seeds.clear()
    _cb.pending_seed_all[0] = seed
    for engine in _cb.default_engines.values():
        engine.manual_seed(seed)


def __getattr__(name):
    # ag.cuda.default_generators: one Generator per CUDA device (() without one), as torch's
    if name == "default_generators":
        from .random import cuda_default_generator
        return tuple(cuda_default_generator(i) for i in range(device_count()))
    raise AttributeError(f"module 'autograd_gpu.cuda' has no attribute '{name}'")


def get_rng_state(device="cuda"):
    """The generator state of a CUDA device, as a uint8 CPU tensor for set_rng_state()."""
    from . import rng_state
    return rng_state.state_tensor(_cuda_backend(device, "cuda.get_rng_state"))


def set_rng_state(new_state, device="cuda"):
    """Restore a CUDA device's generator to a state get_rng_state() returned."""
    from . import rng_state
    rng_state.restore(_cuda_backend(device, "cuda.set_rng_state"), new_state, "cuda.set_rng_state")


def get_rng_state_all():
    return [get_rng_state(i) for i in range(device_count())]


def set_rng_state_all(new_states):
    for i, state in enumerate(new_states):
        set_rng_state(state, i)


def warmup(progress=True):
    """Compile every GPU kernel for every supported dtype on the current
    device, printing a progress bar; binaries are kept in CuPy's on-disk cache
    ($CUPY_CACHE_DIR, default ~/.cupy/kernel_cache) for later processes."""
    if _cb.device_count() == 0:             # raises with the reason when CUDA cannot work
        raise RuntimeError("CUDA is not available: no CUDA device was found.")
    from .backend import cupy_kernels
    return cupy_kernels.warmup(progress=progress)


__all__ = ["is_available", "device_count", "current_device", "synchronize", "manual_seed",
           "manual_seed_all", "get_rng_state", "set_rng_state", "get_rng_state_all", "set_rng_state_all",
           "warmup", "amp", "default_generators"]
from . import _cuda_amp as amp  # noqa: E402  (ag.cuda.amp: deprecated forms of ag.amp)
from .legacy_types import CUDA_TYPES as _LEGACY_TYPES  # noqa: E402  (ag.cuda.FloatTensor, ...)
globals().update(_LEGACY_TYPES)
__all__ += sorted(_LEGACY_TYPES)
