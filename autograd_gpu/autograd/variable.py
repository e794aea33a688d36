"""torch.autograd's legacy and process-wide names: `Variable` (the pre-0.4
constructor, which now returns a plain tensor), `inference_mode` (the same
object as `ag.inference_mode`), and the engine switches
`set_multithreading_enabled` / `is_multithreading_enabled` and
`_force_original_view_tracking` / `is_view_replay_enabled`.

The two switches are thread-local flags, kept so that code written for
PyTorch runs and reads back what it set. They change nothing here: the
engine always runs the backward pass on the calling thread, and a view
whose node must be regenerated after an in-place write always replays its
chain of view ops (PyTorch's behaviour with view replay on: `SelectBackward0`
where PyTorch's default gives `AsStridedBackward0`)."""
import functools
import threading
import warnings

from .grad_mode import inference_mode

__all__ = ["Variable", "inference_mode", "set_multithreading_enabled", "is_multithreading_enabled",
           "is_view_replay_enabled", "_force_original_view_tracking"]


# ---- Variable ------------------------------------------------------------------------------------

class _VariableMeta(type):
    """isinstance(t, Variable) holds for every tensor, as in PyTorch."""

    def __instancecheck__(cls, other):
        from ..tensor import Tensor
        return isinstance(other, Tensor)


def _flag(value):
    """PyTorch parses the legacy flags as integers (1 is True, None is an error)."""
    if isinstance(value, bool):
        return value
    if hasattr(value, "__index__"):
        return bool(value.__index__())
    raise TypeError(f"'{type(value).__name__}' object cannot be interpreted as an integer")


class Variable(metaclass=_VariableMeta):
    """Variable(data=None, requires_grad=False, volatile=False, _grad_fn=None, name=None):
    the legacy constructor. It returns a Tensor, not a Variable: `data` detached
    (sharing its memory and version counter), a leaf requiring grad when asked."""

    def __new__(cls, data=None, requires_grad=False, volatile=False, _grad_fn=None, name=None):
        from ..creation import empty
        from ..tensor import Tensor
        requires_grad, volatile = _flag(requires_grad), _flag(volatile)
        if _grad_fn is not None:
            # PyTorch wants a legacy (pre-0.4) Function object there, which no longer exists
            raise TypeError(f"_grad_fn has to be a Function object or None, but got {type(_grad_fn).__name__}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"argument 5 must be str or None, not {type(name).__name__}")
        if data is not None and not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        if volatile:
            warnings.warn("volatile was removed and now has no effect. Use `with torch.no_grad():` instead.",
                          UserWarning, stacklevel=2)
            if requires_grad:
                raise ValueError("Variable can't be volatile and require_grad at the same time!")
        if requires_grad and data is not None and not data.is_floating_point() and not data.is_complex():
            raise RuntimeError(f"Variable: Only Tensors of floating point and complex dtype can require "
                               f"gradients (got {data.dtype.libtorch})")
        out = empty(0) if data is None else data.detach()
        return out.requires_grad_(True) if requires_grad else out


# ---- engine switches (thread-local flags) -----------------------------------------------------------

class _Switches(threading.local):
    multithreading = True          # class attributes: each new thread starts with PyTorch's defaults
    view_replay = False


_switches = _Switches()


def is_multithreading_enabled():
    """Whether multithreaded backward is on (the flag only: our engine runs on the calling thread)."""
    return _switches.multithreading


def is_view_replay_enabled():
    """Whether view replay is forced on (the flag only: regenerated views here always replay their chain)."""
    return _switches.view_replay


class _SwitchContext:
    """Sets its flag when made (as PyTorch's: usable as a plain call), restores
    it on leaving a `with` block; as a decorator, holds it during each call."""
    _attr = _fn = None

    def __init__(self, mode):
        if not isinstance(mode, bool):
            raise TypeError(f"{self._fn}(): argument 'enabled' (position 1) must be bool, not "
                            f"{type(mode).__name__}")
        self.prev = getattr(_switches, self._attr)
        self.mode = mode
        setattr(_switches, self._attr, mode)

    def __enter__(self):
        setattr(_switches, self._attr, self.mode)

    def __exit__(self, *exc):
        setattr(_switches, self._attr, self.prev)
        return False

    def __call__(self, fn):
        setattr(_switches, self._attr, self.prev)     # as a decorator: the mode only inside calls

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.clone():
                return fn(*args, **kwargs)
        return wrapper

    def clone(self):
        return type(self)(self.mode)                 # (switches, as making any of them does)


class set_multithreading_enabled(_SwitchContext):
    """set_multithreading_enabled(mode): context manager or function setting the
    multithreaded-backward flag (thread-local; no effect on our engine)."""
    _attr, _fn = "multithreading", "set_multithreading_enabled"

    def __enter__(self):
        pass                           # (PyTorch's: the switch happened when it was made)


class _force_original_view_tracking(_SwitchContext):
    """_force_original_view_tracking(mode): context manager or function setting
    the view-replay flag (thread-local; regenerated views here always replay)."""
    _attr, _fn = "view_replay", "set_view_replay_enabled"


