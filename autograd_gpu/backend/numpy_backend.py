"""The CPU backend: NumPy arrays, NumPy's random generator."""
import numpy as np

from .device import CPU

DEFAULT_SEED = 67280421310721      # libtorch's default_rng_seed_val: unseeded runs repeat


class NumpyBackend:
    device = CPU
    type_prefix = "CPU"            # CPUFloatType
    xp = np
    array_type = np.ndarray        # what a tensor's _data is
    is_cuda = False

    def __init__(self):
        self.rng = np.random.Generator(np.random.PCG64(DEFAULT_SEED))

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
    def manual_seed(self, seed):
        self.rng = np.random.Generator(np.random.PCG64(seed))

    def get_rng_state(self):
        return self.rng.bit_generator.state

    def set_rng_state(self, state):
        self.rng.bit_generator.state = state

    def randn(self, shape, np_dtype):
        if np_dtype in (np.float32, np.float64):
            return self.rng.standard_normal(shape, dtype=np_dtype)
        return self.rng.standard_normal(shape, dtype=np.float32).astype(np_dtype)

    def rand(self, shape, np_dtype):
        if np_dtype in (np.float32, np.float64):
            return self.rng.random(shape, dtype=np_dtype)
        # float16: on its 2^-11 grid below 1 (a float32 draw just below 1 would round up to 1.0)
        return (np.floor(self.rng.random(shape, dtype=np.float32) * 2048) / 2048).astype(np_dtype)

    def randint(self, low, high, shape, np_dtype):
        return self.rng.integers(low, high, size=shape, dtype=np_dtype)

    def randperm(self, n, np_dtype):
        return self.rng.permutation(n).astype(np_dtype, copy=False)

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
