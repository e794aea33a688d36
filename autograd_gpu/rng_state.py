"""Random-generator state as PyTorch hands it out: a uint8 CPU tensor that
set_rng_state takes back (ag.get_rng_state, ag.cuda.get_rng_state,
Generator.get_state). Its bytes are a generator's stream state in JSON,
tagged with the kind of device it came from: the seed and NumPy's PCG64 state
for the CPU, (seed, draws) for a GPU. The stream is a Generator's engine, or
a backend's (its default generator's)."""
import json

import numpy as np


def _engine(stream):
    return getattr(stream, "engine", stream)          # a backend: its default generator's engine


def state_tensor(stream):
    from .backend import cpu_backend
    from .tensor import Tensor
    engine = _engine(stream)
    kind = engine.device_type
    raw = json.dumps({"device": kind, "state": engine.get_state()}, sort_keys=True).encode()
    return Tensor._make(np.frombuffer(raw, dtype=np.uint8).copy(), cpu_backend)


def restore(stream, new_state, op_name):
    """Set a stream's state from a tensor of state_tensor's; a bad one raises and changes nothing."""
    from .tensor import Tensor
    engine = _engine(stream)
    if not isinstance(new_state, Tensor):
        raise TypeError(f"{op_name}: expected a uint8 tensor from get_rng_state(), got {type(new_state).__name__}")
    if new_state._data.dtype != np.uint8 or new_state.is_cuda:
        raise TypeError(f"{op_name}: the RNG state must be a CPU uint8 tensor (CPUByteType), got "
                        f"{new_state.type()}")
    kind = engine.device_type
    try:
        record = json.loads(bytes(np.ascontiguousarray(new_state._data).ravel()))
        ok = isinstance(record, dict) and record.get("device") == kind and "state" in record
    except (ValueError, UnicodeDecodeError):
        ok = False
    if not ok:
        raise RuntimeError(f"{op_name}: the tensor is not a {kind} RNG state from get_rng_state() "
                           f"({new_state.numel()} bytes)")
    old = engine.get_state()
    try:
        engine.set_state(record["state"])
    except (ValueError, TypeError, KeyError, IndexError) as e:
        engine.set_state(old)
        raise RuntimeError(f"{op_name}: the {kind} RNG state is malformed ({e})") from None
