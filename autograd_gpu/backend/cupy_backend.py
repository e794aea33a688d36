"""The CUDA backend: CuPy arrays on GPU N, a counter-based random generator.

CuPy is imported when a CUDA device is first used, never at package import.
Where CUDA cannot work, constructing the backend raises RuntimeError saying
which piece is missing (CuPy, a usable driver, a device) and how to fix it.
"""
import re

import threading

import numpy as np

from .device import device as _device
from .numpy_backend import DEFAULT_SEED

INSTALL_HINT = ("pip install 'autograd_gpu[cuda13]' (NVIDIA driver for CUDA 13, R580 or newer) "
                "or 'autograd_gpu[cuda12]' (driver for CUDA 12)")

# the latest seeds set through ag.cuda.manual_seed[_all], which a device's default
# generator starts from when it is made: device index -> seed, and the seed of
# every device (manual_seed_all, ag.manual_seed)
pending_seeds = {}
pending_seed_all = [None]
default_engines = {}        # device index -> its default generator's PhiloxEngine


def default_engine(index):
    """The random stream of cuda:index's default generator, created (from the
    pending seed) without CuPy: seeding a device never needs it."""
    engine = default_engines.get(index)
    if engine is None:
        seed = pending_seeds.pop(index, None)
        if seed is None:
            seed = pending_seed_all[0]
        engine = default_engines[index] = PhiloxEngine(DEFAULT_SEED if seed is None else seed)
    return engine


def import_cupy():
    """The cupy module, or RuntimeError when it is not installed."""
    try:
        import cupy
    except ImportError as e:
        raise RuntimeError(f"CUDA is not available: CuPy is not installed ({e}). "
                           f"Install it with {INSTALL_HINT}.") from None
    return cupy


def device_count():
    """Number of CUDA devices; RuntimeError saying why CUDA cannot work."""
    cupy = import_cupy()
    try:
        return cupy.cuda.runtime.getDeviceCount()
    except Exception as e:             # CUDARuntimeError, or CuPy failing to load CUDA libraries
        raise RuntimeError(explain_cuda_error(e)) from None


def explain_cuda_error(e):
    """A user-facing reason for an error CuPy raised while starting CUDA."""
    msg = str(e)
    lib_missing = "failed to load" in msg or "cannot open shared object" in msg
    if ("InsufficientDriver" in msg or "NoDriver" in msg
            or (lib_missing and re.search(r"libcuda\.so|nvcuda\.dll", msg))):
        return ("CUDA is not available: no usable NVIDIA driver (the driver is missing, or older "
                "than the CUDA version of the installed CuPy). Install or update the NVIDIA driver, "
                f"or install the CuPy matching the driver's CUDA version: {INSTALL_HINT}. "
                f"(CuPy said: {msg})")
    if "NoDevice" in msg or "no CUDA-capable device" in msg:
        return ("CUDA is not available: no CUDA device was found (check the GPU, the driver and "
                f"CUDA_VISIBLE_DEVICES). (CuPy said: {msg})")
    if lib_missing:
        return ("CUDA is not available: CuPy is installed but cannot load a CUDA library "
                f"({msg}). Install the CUDA libraries with {INSTALL_HINT}.")
    return f"CUDA is not available: {type(e).__name__}: {msg}"


_UINT8 = np.dtype(np.uint8)
_INT64 = np.dtype(np.int64)


def astype(a, np_dtype):
    """A copy of CuPy array `a` cast to `np_dtype`, floats to uint8 as PyTorch
    casts them on both devices: through int64 (c10/util/TypeCast.h,
    static_cast_with_inter_type<uint8_t>), so that -1.5 gives 255 and 300.0
    gives 44, as NumPy gives on the CPU. CuPy's own cast is the C conversion,
    through a saturated uint32 whose low byte it keeps (CuPy 14.2 on an H200:
    -1.5 -> 0, 300.0 -> 44, 1000.0 -> 232)."""
    if a.dtype.kind == "f" and np_dtype == _UINT8:
        a = a.astype(_INT64)
    return a.astype(np_dtype)


def array_device_index(a):
    """The index N of the GPU a CuPy array lives on."""
    return a.data.device_id


def _mix(seed, counter):
    # splitmix64 of (seed, draw number): independent cuRAND seeds per draw
    z = (seed * 0x9E3779B97F4A7C15 + counter + 1) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return (z ^ (z >> 31)) & 0x7FFFFFFFFFFFFFFF


class PhiloxEngine:
    """The random stream of a CUDA generator: its state is (seed, number of
    draws so far); draw k uses a cuRAND Philox generator seeded from both, so
    a state is saved and restored exactly, and CuPy is needed only to draw."""
    device_type = "cuda"

    def __init__(self, seed):
        self.manual_seed(seed)

    def manual_seed(self, seed):
        self.seed, self.draws = int(seed), 0

    def get_state(self):
        return (self.seed, self.draws)

    def set_state(self, state):
        seed, draws = int(state[0]), int(state[1])
        if draws < 0:
            raise ValueError(f"negative draw count {draws}")
        self.seed, self.draws = seed, draws

    def next_stream(self, cp):
        """A CuPy RandomState for the next draw (the state advances by one)."""
        philox = cp.cuda.curand.CURAND_RNG_PSEUDO_PHILOX4_32_10
        rs = cp.random.RandomState(seed=_mix(self.seed, self.draws), method=philox)
        self.draws += 1
        return rs


class CupyBackend:
    type_prefix = "CUDA"           # CUDAFloatType
    is_cuda = True

    def __init__(self, dev):
        dev = _device(dev)
        if dev.type != "cuda":
            raise ValueError(f"CupyBackend needs a cuda device, got {dev}")
        cupy = import_cupy()
        n = device_count()
        if n == 0:
            raise RuntimeError("CUDA is not available: no CUDA device was found (check the GPU, "
                               "the driver and CUDA_VISIBLE_DEVICES).")
        if dev.index >= n:
            raise RuntimeError(f"CUDA device {dev} is out of range: this machine has {n} CUDA "
                               f"device(s), cuda:0 to cuda:{n - 1}.")
        self.device = dev
        self.index = dev.index
        self.xp = cupy
        self.array_type = cupy.ndarray
        self._dev = cupy.cuda.Device(dev.index)
        self.engine = default_engine(dev.index)
        self.drawing = threading.local()            # .engine: a drawing_from block's in this thread (ops/_util.py)

    # --- conversions --------------------------------------------------------
    def asarray(self, data, np_dtype=None, copy=False):
        cp = self.xp
        with self._dev:
            if copy or (isinstance(data, cp.ndarray) and data.data.device_id != self.index):
                return cp.array(data, dtype=np_dtype, copy=True)     # copies onto this GPU
            return cp.asarray(data, dtype=np_dtype)

    def to_host(self, a):
        return self.xp.asnumpy(a)

    def from_host(self, a):
        with self._dev:
            return self.xp.asarray(a)

    def synchronize(self):
        self._dev.synchronize()

    # --- random draws -------------------------------------------------------
    # Each draw comes from `engine` (an ag.Generator's), else the device's default generator's.
    def manual_seed(self, seed):
        self.engine.manual_seed(seed)

    def get_rng_state(self):
        return self.engine.get_state()

    def set_rng_state(self, state):
        self.engine.set_state(state)

    def _generator(self, engine=None):
        engine = engine or getattr(self.drawing, "engine", None) or self.engine
        return engine.next_stream(self.xp)

    def randn(self, shape, np_dtype, engine=None):
        with self._dev:
            if np_dtype in (np.float32, np.float64):
                return self._generator(engine).standard_normal(shape, dtype=np_dtype)
            return self._generator(engine).standard_normal(shape, dtype=np.float32).astype(np_dtype)

    def rand(self, shape, np_dtype, engine=None):
        with self._dev:
            if np_dtype in (np.float32, np.float64):
                return self._generator(engine).random_sample(shape, dtype=np_dtype)
            # float16: on its 2^-11 grid below 1 (a float32 draw just below 1 would round up to 1.0)
            u = self._generator(engine).random_sample(shape, dtype=np.float32)
            return (self.xp.floor(u * 2048) / 2048).astype(np_dtype)

    def randint(self, low, high, shape, np_dtype, engine=None):
        with self._dev:
            return self._generator(engine).randint(low, high, size=shape, dtype=np_dtype)

    def randperm(self, n, np_dtype, engine=None):
        with self._dev:
            return self._generator(engine).permutation(n).astype(np_dtype, copy=False)

    # --- memory ---------------------------------------------------------------
    @staticmethod
    def is_writable(a):
        """Always: CuPy has no read-only arrays."""
        return True

    @staticmethod
    def is_contiguous(a):
        return a.flags.c_contiguous

    @staticmethod
    def can_view(a, shape):
        """Whether `a` can be reshaped to `shape` without a copy (CuPy's reshape
        copies silently where it cannot, so this is decided from the strides)."""
        return a.flags.c_contiguous or strides_allow_view(a.shape, a.strides, tuple(shape))


def strides_allow_view(old_shape, old_strides, new_shape):
    """Whether an array of `old_shape` / `old_strides` can be seen with
    `new_shape` without copying: each group of old axes merged into new ones
    must be laid out contiguously (NumPy's no-copy reshape rule, C order)."""
    if 0 in old_shape:
        return True
    dims = [(n, s) for n, s in zip(old_shape, old_strides) if n != 1]
    new = [n for n in new_shape if n != 1]           # axes of length 1 take any stride
    oi = ni = 0
    while oi < len(dims) and ni < len(new):
        oj, nj = oi + 1, ni + 1
        o, n = dims[oi][0], new[ni]
        while o != n:
            if n < o:
                n *= new[nj]
                nj += 1
            else:
                o *= dims[oj][0]
                oj += 1
        for k in range(oi, oj - 1):                   # the old axes merged here: contiguous?
            if dims[k][1] != dims[k + 1][0] * dims[k + 1][1]:
                return False
        oi, ni = oj, nj
    return True
