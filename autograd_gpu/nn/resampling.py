"""Padding, pixel and channel shuffles, and upsampling layers (after torch.nn).

The padding layers hold their amounts as PyTorch's do (a number repeated to
2, 4 or 6 values, a sequence kept as given) and call F.pad; the others call
their functional forms. None has parameters or buffers."""
from collections.abc import Iterable

from . import functional as F
from .module import Module

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
           "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
           "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d", "PixelShuffle", "PixelUnshuffle",
           "ChannelShuffle", "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]


# ---- padding --------------------------------------------------------------------------------------

class _PadNd(Module):
    """F.pad over the last _nd dims in mode _mode; repr: the amounts."""
    _nd, _mode = 0, None

    def __init__(self, padding):
        super().__init__()
        # (as torch.nn.modules.utils._ntuple: a sequence is kept whatever its length; F.pad checks it)
        self.padding = tuple(padding) if isinstance(padding, Iterable) else (padding,) * (2 * self._nd)

    def forward(self, input):
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    _mode = "constant"

    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pads the last dim with `value`: padding (left, right), or one int for both."""
    _nd = 1


class ConstantPad2d(_ConstantPadNd):
    """Pads the last two dims with `value`: padding (left, right, top, bottom), or one int."""
    _nd = 2


class ConstantPad3d(_ConstantPadNd):
    """Pads the last three dims with `value`: (left, right, top, bottom, front, back), or one int."""
    _nd = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd, ConstantPad1d):
    """ConstantPad1d with zeros."""


class ZeroPad2d(_ZeroPadNd, ConstantPad2d):
    """ConstantPad2d with zeros."""


class ZeroPad3d(_ZeroPadNd, ConstantPad3d):
    """ConstantPad3d with zeros."""


class ReflectionPad1d(_PadNd):
    """Mirrors the last dim at its ends (the edge not repeated)."""
    _nd, _mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    """Mirrors the last two dims at their ends."""
    _nd, _mode = 2, "reflect"


class ReflectionPad3d(_PadNd):
    """Mirrors the last three dims at their ends."""
    _nd, _mode = 3, "reflect"


class ReplicationPad1d(_PadNd):
    """Repeats the last dim's edge values."""
    _nd, _mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    """Repeats the last two dims' edge values."""
    _nd, _mode = 2, "replicate"


class ReplicationPad3d(_PadNd):
    """Repeats the last three dims' edge values."""
    _nd, _mode = 3, "replicate"


class _CircularPadNd(_PadNd):
    """Wraps around; the input must be (un)batched for exactly _nd padded dims (ValueError otherwise)."""
    _mode = "circular"

    def forward(self, input):
        if input.dim() not in (self._nd + 1, self._nd + 2):
            raise ValueError(f"{type(self).__name__}: expected {self._nd + 1}D or {self._nd + 2}D input (got "
                             f"{input.dim()}D input)")
        return super().forward(input)


class CircularPad1d(_CircularPadNd):
    """Wraps the last dim around: (C, W) or (N, C, W)."""
    _nd = 1


class CircularPad2d(_CircularPadNd):
    """Wraps the last two dims around: (C, H, W) or (N, C, H, W)."""
    _nd = 2


class CircularPad3d(_CircularPadNd):
    """Wraps the last three dims around: (C, D, H, W) or (N, C, D, H, W)."""
    _nd = 3


# ---- shuffles -------------------------------------------------------------------------------------

class PixelShuffle(Module):
    """(*, C r^2, H, W) -> (*, C, H r, W r)."""

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input):
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H r, W r) -> (*, C r^2, H, W)."""

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input):
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    """Interleaves `groups` groups of channels (dim 1)."""

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, input):
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"


# ---- upsampling -----------------------------------------------------------------------------------

class Upsample(Module):
    """F.interpolate with fixed arguments; scale factors are kept as floats (a falsy one as None, as
    PyTorch's)."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        info = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return f"{info}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """Upsample(mode="nearest") for (N, C, H, W)."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Upsample(mode="bilinear", align_corners=True) for (N, C, H, W)."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
