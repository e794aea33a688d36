"""Anomaly detection (torch.autograd.detect_anomaly / set_detect_anomaly).

While it is on, every node recorded keeps the stack of the forward call that
made it; when a backward step fails, the engine warns with that stack and the
node's name, and (with check_nan) refuses a node whose gradients hold NaN.

Off, it costs nothing on the hot path: the stack is taken by a descriptor that
sits on Node's `_seq` (set once per recorded node) only while the mode is on,
and the engine reads the mode once per backward pass."""
import os
import traceback
import warnings

from .graph import Node


class state:
    """The process-wide mode (global, as PyTorch's: not per thread)."""
    enabled = False
    check_nan = True


class _SeqTakingStack:
    """Node._seq while the mode is on: setting a node's sequence number (done
    once, when the node is recorded) also keeps the forward stack."""

    def __get__(self, node, owner=None):
        if node is None:
            return self
        try:
            return node.__dict__["_seq"]
        except KeyError:
            raise AttributeError("_seq") from None

    def __set__(self, node, seq):
        node.__dict__["_seq"] = seq
        node.__dict__["_forward_stack"] = _user_stack()


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _user_stack():
    """The calling stack up to the last frame outside this package (the op's
    own frames say nothing to the user; PyTorch's are C++ and not shown)."""
    frames = traceback.extract_stack()
    while frames and frames[-1].filename.startswith(_PACKAGE_DIR):
        frames.pop()
    return traceback.format_list(frames)


def _set(enabled, check_nan):
    state.enabled, state.check_nan = enabled, check_nan
    if enabled:
        Node._seq = _SeqTakingStack()
    elif isinstance(Node.__dict__.get("_seq"), _SeqTakingStack):
        del Node._seq


def _bool_arg(fn, name, position, v):
    if not isinstance(v, bool):
        raise TypeError(f"{fn}(): argument '{name}' (position {position}) must be bool, not {type(v).__name__}")


def set_anomaly_enabled(enabled, check_nan=True):
    """torch.set_anomaly_enabled: turn the mode on or off."""
    _bool_arg("set_anomaly_enabled", "enabled", 1, enabled)
    _bool_arg("set_anomaly_enabled", "check_nan", 2, check_nan)
    _set(enabled, check_nan)


def is_anomaly_enabled():
    return state.enabled


def is_anomaly_check_nan_enabled():
    return state.check_nan


class detect_anomaly:
    """Context manager: anomaly detection on inside the block (warns that it
    slows things down, as PyTorch does), the previous mode restored after."""

    def __init__(self, check_nan=True):
        _bool_arg("detect_anomaly", "check_nan", 1, check_nan)
        self.check_nan = check_nan
        self._prev = None
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should only "
                      "be enabled for debugging.", stacklevel=2)

    def __enter__(self):
        self._prev = (state.enabled, state.check_nan)
        _set(True, self.check_nan)

    def __exit__(self, *exc):
        _set(*self._prev)
        return False


class set_detect_anomaly:
    """Sets the mode on construction (so it works as a plain call), and as a
    context manager restores the previous mode on exit."""

    def __init__(self, mode, check_nan=True):
        _bool_arg("set_detect_anomaly", "mode", 1, mode)
        _bool_arg("set_detect_anomaly", "check_nan", 2, check_nan)
        self._prev = (state.enabled, state.check_nan)
        _set(mode, check_nan)

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        _set(*self._prev)
        return False


def check_nan_outputs(node, grads):
    """The engine's check after a node ran, with check_nan: PyTorch's words."""
    for i, g in enumerate(grads):
        if g is None:
            continue
        arr = getattr(g, "_data", g)
        if arr.dtype.kind in "fc" and bool(arr.size) and bool((arr != arr).any()):
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")


def warn_failed_node(node):
    """Before a failure in `node`'s backward propagates: where its forward was called."""
    if node is None:
        return
    stack = node.__dict__.get("_forward_stack")
    if stack is None:                     # (recorded with the mode off)
        warnings.warn(f"Error detected in {node.name()}. No forward pass information available. Enable detect "
                      "anomaly during forward pass for more information.", stacklevel=2)
    else:
        warnings.warn(f"Error detected in {node.name()}. Traceback of forward call that caused the error:\n"
                      + "".join(stack), stacklevel=2)
