"""Pieces shared by the AdamW, RMSprop and Adagrad updates."""
from . import _fused
from .optimizer import bump_version


def advance_step(state):
    """Add one to the parameter's step counter (a float32 CPU scalar, as
    PyTorch's) and return the new count."""
    step_t = state["step"]
    step_t._data += 1
    bump_version(step_t)
    return float(step_t.item())


def fused_update(name, p, state_tensors, scalars):
    """Run fused update `name` on p and its state tensors (in place) from p.grad."""
    _fused.update(name, (p._data,) + tuple(t._data for t in state_tensors), (p.grad._data,), scalars,
                  p.is_cuda)
    bump_version(p)
    for t in state_tensors:
        bump_version(t)


def check_flags(group, *flags):
    for flag in flags:
        if not isinstance(group[flag], bool):
            raise TypeError(f"{flag} must be a bool, got {type(group[flag]).__name__}")


def params_with_grad(group):
    return [p for p in group["params"] if p.grad is not None]
