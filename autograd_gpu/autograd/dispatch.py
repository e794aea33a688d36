"""Modes that see every op application: forward AD, the profiler, autocast.

Recording pays one global test for all of them (`op._intercept`, true while
any mode is on); the rest is here. A mode says which applications it wants
(`wants(cls, tensors)`, cls the op's class) and runs them (`run(apply, cls,
tensors, attrs)`), calling `apply` again with its own inputs: cast, stripped of
tangents, or the same ones. That call passes the modes again, so a mode must
not want its own re-entry (forward AD strips the tangents it wants; autocast's
cast inputs need no cast; the profiler keeps a per-thread depth)."""


class Mode:
    """Base of the modes; `order` places it: lower runs outside higher."""
    order = 0

    def wants(self, cls, tensors):
        raise NotImplementedError

    def run(self, apply, cls, tensors, attrs):
        raise NotImplementedError


_modes = ()          # the modes on, outermost first (a tuple: replaced whole, so threads read a stable one)


def push(mode):
    """Turn `mode` on (a mode already on stays where it is)."""
    global _modes
    if mode not in _modes:
        _modes = tuple(sorted(_modes + (mode,), key=lambda m: m.order))
    _publish()


def remove(mode):
    """Turn `mode` off (a mode not on: nothing)."""
    global _modes
    _modes = tuple(m for m in _modes if m is not mode)
    _publish()


def active():
    return _modes


def _publish():
    from . import op
    op._intercept = bool(_modes)


def mode_for(cls, tensors):
    """The outermost mode that wants this application, or None."""
    for m in _modes:
        if m.wants(cls, tensors):
            return m
    return None
