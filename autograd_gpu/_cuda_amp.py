"""ag.cuda.amp: torch.cuda.amp's deprecated forms of ag.amp's names (each warns FutureWarning)."""
import functools
import warnings

from . import amp as _amp
from ._dtype import float16

__all__ = ["autocast", "GradScaler", "custom_fwd", "custom_bwd"]


def _deprecated(old, new):
    warnings.warn(f"`ag.cuda.amp.{old}(args...)` is deprecated. Please use `{new}` instead.",
                  FutureWarning, stacklevel=3)


class autocast(_amp.autocast):
    """ag.amp.autocast("cuda", ...)."""

    def __init__(self, enabled=True, dtype=float16, cache_enabled=True):
        _deprecated("autocast", "ag.amp.autocast('cuda', args...)")
        super().__init__("cuda", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


class GradScaler(_amp.GradScaler):
    """ag.amp.GradScaler("cuda", ...)."""

    def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                 enabled=True):
        _deprecated("GradScaler", "ag.amp.GradScaler('cuda', args...)")
        super().__init__("cuda", init_scale=init_scale, growth_factor=growth_factor,
                         backoff_factor=backoff_factor, growth_interval=growth_interval, enabled=enabled)


def custom_fwd(fwd=None, *, cast_inputs=None):
    """ag.amp.custom_fwd(device_type="cuda", ...)."""
    _deprecated("custom_fwd", "ag.amp.custom_fwd(args..., device_type='cuda')")
    if fwd is None:
        return functools.partial(_amp.custom_fwd, device_type="cuda", cast_inputs=cast_inputs)
    return _amp.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


def custom_bwd(bwd):
    """ag.amp.custom_bwd(device_type="cuda")."""
    _deprecated("custom_bwd", "ag.amp.custom_bwd(args..., device_type='cuda')")
    return _amp.custom_bwd(bwd, device_type="cuda")
