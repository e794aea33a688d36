"""Devices: `cpu` and `cuda:N`. Instances are interned, so `is` compares them.

A device is also the thread's default device for the factories within a
`with device(...)` block, and ag.set_default_device sets one for the thread
(both thread-local, as PyTorch's)."""
import threading


class DeviceError(RuntimeError, ValueError):
    """A malformed device: PyTorch's RuntimeError, and the ValueError this library raised before (code
    that parses a device or else a dtype catches that)."""


class device:
    __slots__ = ("type", "index", "_str")
    _cache = {}

    def __new__(cls, spec, index=None):
        if type(spec) is device:
            return spec
        if not isinstance(spec, str):
            if isinstance(spec, int) and not isinstance(spec, bool):
                spec, index = "cuda", spec          # torch: device(0) means cuda:0
            else:
                raise TypeError(f"device must be a string like 'cpu' or 'cuda:0', got {spec!r}")
        key = (spec, index)
        d = cls._cache.get(key)
        if d is not None:
            return d
        kind, _, idx = spec.partition(":")
        kind = kind.strip()
        if idx:
            if index is not None:
                raise DeviceError(f"device(): index given twice in {spec!r} and index={index}")
            if not idx.isdigit():
                raise DeviceError(f"device(): invalid device string {spec!r}")
            index = int(idx)
        if kind not in ("cpu", "cuda"):
            raise DeviceError(f"device(): expected 'cpu' or 'cuda[:N]', got {spec!r}")
        if kind == "cpu":
            if index not in (None, 0):
                raise DeviceError(f"device(): cpu has no index {index}")
            index = None
        elif index is None:
            index = 0
        if index is not None and index < 0:
            raise DeviceError(f"device(): negative index {index}")
        canon = cls._cache.get((kind, index))
        if canon is None:
            canon = object.__new__(cls)
            canon.type = kind
            canon.index = index
            canon._str = kind if index is None else f"{kind}:{index}"
            cls._cache[(kind, index)] = canon
        cls._cache[key] = canon
        return canon

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self._str

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except (ValueError, TypeError):
                return False
        return self is other

    def __hash__(self):
        return hash(self._str)

    def __reduce__(self):
        return (device, (self._str,))

    def __enter__(self):
        _blocks().append(self)
        return self

    def __exit__(self, *exc):
        _blocks().pop()
        return False


CPU = device("cpu")


_local = threading.local()      # this thread's defaults: .blocks (`with device` blocks), .set (set_default_device)


def _blocks():
    blocks = getattr(_local, "blocks", None)
    if blocks is None:
        blocks = _local.blocks = []
    return blocks


def default_device():
    """The thread's default device for the factories, or None: none set (cpu)."""
    blocks = getattr(_local, "blocks", None)
    if blocks:
        return blocks[-1]
    return getattr(_local, "set", None)


def set_default_device(dev):
    """ag.set_default_device: the factories' device in this thread when they are given none (None: cpu).
    A `with device(...)` block open in the thread still wins inside it."""
    _local.set = None if dev is None else device(dev)


def get_default_device():
    return default_device() or CPU
