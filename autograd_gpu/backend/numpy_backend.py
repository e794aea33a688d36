"""The CPU backend: NumPy arrays, NumPy's random generator."""
import threading

import numpy as np

from .device import CPU

DEFAULT_SEED = 67280421310721      # libtorch's default_rng_seed_val: unseeded runs repeat


class CpuEngine:
    """The random stream of a CPU generator: NumPy's PCG64 from a seed. Its
    state (get_state) is the seed and PCG64's state, plain data (JSON-able)."""
    device_type = "cpu"

    def __init__(self, seed):
        self.manual_seed(seed)

    def manual_seed(self, seed):
        self.seed = int(seed)
        self.rng = np.random.Generator(np.random.PCG64(self.seed))

    def get_state(self):
        return {"seed": self.seed, "pcg64": self.rng.bit_generator.state}

    def set_state(self, state):
        """Take a get_state() record; a malformed one raises (KeyError, TypeError, ValueError) and changes nothing."""
        if "pcg64" not in state:           # a state saved before it held the seed: PCG64's alone
            state = {"seed": self.seed, "pcg64": state}
        seed = int(state["seed"])
        bits = np.random.PCG64()
        bits.state = state["pcg64"]
        self.seed, self.rng = seed, np.random.Generator(bits)


class NumpyBackend:
    device = CPU
    type_prefix = "CPU"            # CPUFloatType
    xp = np
    array_type = np.ndarray        # what a tensor's _data is
    is_cuda = False

    def __init__(self):
        self.engine = CpuEngine(DEFAULT_SEED)      # the default generator's (ag.default_generator)
        self.drawing = threading.local()            # .engine: a drawing_from block's in this thread (ops/_util.py)

    @property
    def rng(self):
        """The default generator's NumPy Generator."""
        return self.engine.rng

    # --- conversions --------------------------------------------------------
    def asarray(self, data, np_dtype=None, copy=False):
        if copy:
            return np.array(data, dtype=np_dtype, copy=True)
        return np.asarray(data, dtype=np_dtype)

    def to_host(self, a):
        return a

    def from_host(self, a):
        return a

    def synchronize(self):
        pass

    # --- random draws -------------------------------------------------------
    # Each draw comes from `engine` (an ag.Generator's), else the default generator's.
    def _pick(self, engine):
        return engine or getattr(self.drawing, "engine", None) or self.engine

    def manual_seed(self, seed):
        self.engine.manual_seed(seed)

    def get_rng_state(self):
        return self.engine.get_state()

    def set_rng_state(self, state):
        self.engine.set_state(state)

    def randn(self, shape, np_dtype, engine=None):
        rng = self._pick(engine).rng
        if np_dtype in (np.float32, np.float64):
            return rng.standard_normal(shape, dtype=np_dtype)
        return rng.standard_normal(shape, dtype=np.float32).astype(np_dtype)

    def rand(self, shape, np_dtype, engine=None):
        rng = self._pick(engine).rng
        if np_dtype in (np.float32, np.float64):
            return rng.random(shape, dtype=np_dtype)
        # float16: on its 2^-11 grid below 1 (a float32 draw just below 1 would round up to 1.0)
        return (np.floor(rng.random(shape, dtype=np.float32) * 2048) / 2048).astype(np_dtype)

    def randint(self, low, high, shape, np_dtype, engine=None):
        return self._pick(engine).rng.integers(low, high, size=shape, dtype=np_dtype)

    def randperm(self, n, np_dtype, engine=None):
        return self._pick(engine).rng.permutation(n).astype(np_dtype, copy=False)

    # --- memory ---------------------------------------------------------------
    @staticmethod
    def is_writable(a):
        """False for arrays NumPy marks read-only (from_numpy of such an array)."""
        return a.flags.writeable

    @staticmethod
    def is_contiguous(a):
        return a.flags.c_contiguous

    @staticmethod
    def can_view(a, shape):
        """Whether `a` can be reshaped to `shape` without a copy."""
        try:
            a.reshape(shape, copy=False)
            return True
        except ValueError:
            return False
