"""Grad mode: whether ops record the graph. Thread-local, as in PyTorch."""
import functools
import threading


class _State(threading.local):
    enabled = True          # class attribute: every new thread starts enabled


state = _State()


def is_grad_enabled():
    return state.enabled


class _GradModeContext:
    """Base of no_grad / enable_grad / set_grad_enabled: a context manager that
    is also a decorator."""
    _mode = True

    def __enter__(self):
        self._prev = state.enabled
        state.enabled = self._mode

    def __exit__(self, *exc):
        state.enabled = self._prev
        return False

    def __call__(self, fn):
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = state.enabled
            state.enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                state.enabled = prev
        return wrapper


class no_grad(_GradModeContext):
    """Disable graph recording: `with ag.no_grad():` or `@ag.no_grad()`."""
    _mode = False


class enable_grad(_GradModeContext):
    """Enable graph recording inside a no_grad region."""
    _mode = True


class set_grad_enabled(_GradModeContext):
    """Set grad mode to `mode`: immediately when called (like PyTorch), and
    restored on leaving the `with` block."""

    def __init__(self, mode):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled(): mode must be a bool, got {type(mode).__name__}")
        self._prev = state.enabled
        self._mode = mode
        state.enabled = mode

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        state.enabled = self._prev
        return False

    def __call__(self, fn):
        state.enabled = self._prev   # as decorator: don't leave the mode changed
        return _GradModeContext.__call__(self, fn)
