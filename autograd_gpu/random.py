"""ag.random: generators and the global random state, as torch.random.

A Generator owns a random stream of one device kind: on the CPU NumPy's PCG64
from a seed, on a GPU the (seed, draws) Philox scheme of the CUDA backend
(CuPy is needed only when it draws). The per-device default generators are
Generator objects over the backends' own streams: ag.default_generator (CPU)
and ag.cuda.default_generators (one per GPU); ag.manual_seed and the
get_rng_state / set_rng_state functions act on them."""
import contextlib
import secrets
import warnings

from .backend import cpu_backend, device as _device
from .backend import cupy_backend as _cupy_backend
from .backend.numpy_backend import DEFAULT_SEED, CpuEngine
from .creation import get_rng_state, initial_seed, manual_seed, seed, set_rng_state

__all__ = ["Generator", "default_generator", "manual_seed", "seed", "initial_seed", "get_rng_state",
           "set_rng_state", "fork_rng", "thread_safe_generator"]
TOP_LEVEL = ["Generator", "default_generator"]      # names also published as ag.<name>

_SEED_RANGE = (-(1 << 63), 1 << 64)


def seed_value(value, op_name, strict):
    """A seed as the 64-bit unsigned value PyTorch keeps (a negative one wraps,
    -1 -> 2**64 - 1). strict (Generator.manual_seed): only ints, as PyTorch's;
    else anything int() takes (ag.manual_seed: 1.7 -> 1)."""
    if strict and (isinstance(value, bool) or not isinstance(value, int)):
        raise RuntimeError(f"{op_name} expected a long, but got {type(value).__name__}")
    value = int(value)
    if not _SEED_RANGE[0] <= value < _SEED_RANGE[1]:
        raise ValueError(f"{op_name}: seed {value} is outside [-2**63, 2**64) (Overflow when unpacking long long)")
    return value % (1 << 64)


def _new_seed():
    # 63 bits: ag.seed()'s values fit an int64 (a documented difference from PyTorch's 64)
    return secrets.randbits(63)


def _engine_for(dev):
    return CpuEngine(DEFAULT_SEED) if dev.type == "cpu" else _cupy_backend.PhiloxEngine(DEFAULT_SEED)


def _generator_device(device):
    """The device a new Generator is for: the CPU, or an existing CUDA device
    (PyTorch cannot make a CUDA generator without CUDA: neither can we)."""
    kind = device.partition(":")[0].strip() if isinstance(device, str) else None
    if kind is not None and kind not in ("cpu", "cuda"):      # (meta, mps, ...: PyTorch's words)
        raise RuntimeError(f"Generator(): {kind.upper()} device type not an accelerator.")
    dev = _device("cpu" if device is None else device)
    if dev.type == "cpu":
        return dev
    from . import cuda
    count = cuda.device_count()
    if count == 0:
        _cupy_backend.device_count()            # raises with the reason CUDA cannot work
        raise RuntimeError("Generator(): CUDA is not available: no CUDA device was found.")
    if dev.index >= count:
        raise RuntimeError(f"Generator(): CUDA device {dev} is out of range: this machine has {count} CUDA "
                           f"device(s), cuda:0 to cuda:{count - 1}.")
    return dev


class Generator:
    """A random stream of its own for the random functions' generator=
    argument (torch.Generator): seeded, saved and restored independently of
    the global one (ag.manual_seed) and of every other Generator."""

    def __init__(self, device="cpu"):
        dev = _generator_device(device)
        self._device, self._engine = dev, _engine_for(dev)

    @classmethod
    def _over(cls, dev, engine):
        """A Generator object over an existing stream (the default generators)."""
        g = cls.__new__(cls)
        g._device, g._engine = dev, engine
        return g

    @property
    def device(self):
        return self._device

    def manual_seed(self, seed):
        """Restart the stream from `seed`; returns this generator."""
        self._engine.manual_seed(seed_value(seed, "manual_seed", strict=True))
        return self

    def seed(self):
        """Restart the stream from a seed drawn from the operating system's entropy; returns the seed."""
        s = _new_seed()
        self._engine.manual_seed(s)
        return s

    def initial_seed(self):
        """The seed the stream was last started from."""
        return self._engine.seed

    def get_state(self):
        """The stream's state, a uint8 CPU tensor for set_state() (ag.get_rng_state's format)."""
        from . import rng_state
        return rng_state.state_tensor(self._engine)

    def set_state(self, new_state):
        """Restore a state get_state() returned (from a generator of the same device type); returns this generator."""
        from . import rng_state
        rng_state.restore(self._engine, new_state, "Generator.set_state")
        return self

    def clone_state(self):
        """A new Generator on the same device in this one's state (the two then draw alike, independently)."""
        twin = Generator._over(self._device, _engine_for(self._device))
        twin._engine.set_state(self._engine.get_state())
        return twin

    def _offset_stream(self, op_name):
        if self._device.type == "cpu":
            raise RuntimeError(f"{op_name}(): CPU Generator does not use offset")
        return self._engine

    def get_offset(self):
        """CUDA only: the stream's position, the number of draws made since it was seeded."""
        return self._offset_stream("get_offset").draws

    def set_offset(self, offset):
        """CUDA only: move the stream to position `offset` (a draw count, as get_offset's)."""
        engine = self._offset_stream("set_offset")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise RuntimeError(f"set_offset(): offset must be a non-negative int, got {offset!r}")
        engine.draws = offset
        return self

    def __reduce__(self):
        # pickle / deepcopy: a new generator in this one's state (as torch's)
        return _rebuild, (str(self._device), self._engine.get_state())


def _rebuild(device, state):
    g = Generator(device)
    g._engine.set_state(state)
    return g


default_generator = Generator._over(cpu_backend.device, cpu_backend.engine)
_cuda_defaults = {}          # device index -> the Generator over cuda:index's default stream


def cuda_default_generator(index):
    """cuda:index's default generator (ag.cuda.default_generators[index]); needs no CuPy."""
    engine = _cupy_backend.default_engine(index)
    g = _cuda_defaults.get(index)
    if g is None or g._engine is not engine:
        g = _cuda_defaults[index] = Generator._over(_device("cuda", index), engine)
    return g


_fork_rng_warned_already = [False]


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices", device_type=None):
    """Save the CPU's and the given CUDA devices' default generator states
    (devices=None: every CUDA device, with a warning once where there are
    several), run the block, and restore them however it exits."""
    if device_type == "meta" or not enabled:
        yield
        return
    device_type = device_type or "cuda"      # (the CPU's state is always forked)
    if device_type != "cuda":
        raise RuntimeError(f"{_caller}: ag has no module of `{device_type}`: its only accelerator is cuda")
    from . import cuda
    if devices is None:
        count = cuda.device_count()
        if count > 1 and not _fork_rng_warned_already[0]:
            warnings.warn(
                f"CUDA reports that you have {count} available devices, and you have used {_caller} without "
                f"explicitly specifying which devices are being used. For safety, we initialize *every* CUDA "
                f"device by default, which can be quite slow if you have a lot of CUDAs. If you know that you "
                f"are only making use of a few CUDA devices, set the environment variable CUDA_VISIBLE_DEVICES "
                f"or the '{_devices_kw}' keyword argument of {_caller} with the set of devices you are actually "
                f"using. For example, if you are using CPU only, set CUDA_VISIBLE_DEVICES= or devices=[]; if you "
                f"are using device 0 only, set CUDA_VISIBLE_DEVICES=0 or devices=[0].  To initialize all devices "
                f"and suppress this warning, set the '{_devices_kw}' keyword argument to "
                f"`range(ag.cuda.device_count())`.", stacklevel=3)
            _fork_rng_warned_already[0] = True
        devices = range(count)
    devices = list(devices)                  # (an iterator is walked twice)
    cpu_state = get_rng_state()
    device_states = [cuda.get_rng_state(d) for d in devices]
    try:
        yield
    finally:
        set_rng_state(cpu_state)
        for d, state in zip(devices, device_states):
            cuda.set_rng_state(state, d)


def thread_safe_generator():
    """torch's: a DataLoader thread worker's own Generator, else None (the
    global one). The library's DataLoader workers are processes: always None."""
    return None
