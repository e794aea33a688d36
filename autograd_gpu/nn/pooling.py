"""Pooling layers: MaxPool1d/2d/3d, AvgPool1d/2d/3d, AdaptiveAvgPool1d/2d/3d,
AdaptiveMaxPool1d/2d/3d, MaxUnpool1d/2d/3d, LPPool1d/2d/3d."""
from . import functional as F
from .functional_conv import _ntuple
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
           "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d",
           "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
           "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "LPPool1d", "LPPool2d", "LPPool3d"]


class _MaxPoolNd(Module):
    """Maxima over windows; stride defaults to kernel_size."""
    _fn = None

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input):
        return type(self)._fn(input, self.kernel_size, self.stride, self.padding, self.dilation,
                              ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """Maxima over windows of the last dim of (N, C, L) or (C, L)."""
    _fn = F.max_pool1d


class MaxPool2d(_MaxPoolNd):
    """Maxima over windows of the last two dims."""
    _fn = F.max_pool2d


class MaxPool3d(_MaxPoolNd):
    """Maxima over windows of the last three dims."""
    _fn = F.max_pool3d


class AvgPool1d(Module):
    """Means over windows of the last dim (sizes kept as 1-tuples, as PyTorch's)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        self.kernel_size = _ntuple(kernel_size, 1, "AvgPool1d", "kernel_size")
        self.stride = _ntuple(stride if stride is not None else kernel_size, 1, "AvgPool1d", "stride")
        self.padding = _ntuple(padding, 1, "AvgPool1d", "padding")
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input):
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """Means over windows of the last two dims (or sums / divisor_override)."""
    _fn = F.avg_pool2d

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input):
        return type(self)._fn(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                              self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool3d(AvgPool2d):
    """Means over windows of the last three dims (or sums / divisor_override)."""
    _fn = F.avg_pool3d


class _AdaptivePool(Module):
    """Pools to a fixed output_size whatever the input's size."""
    _fn = None

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return type(self)._fn(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class _AdaptiveMaxPool(_AdaptivePool):
    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input):
        return type(self)._fn(input, self.output_size, self.return_indices)


class AdaptiveAvgPool1d(_AdaptivePool):
    """Means over output_size even windows of the last dim."""
    _fn = F.adaptive_avg_pool1d


class AdaptiveAvgPool2d(_AdaptivePool):
    """Means over output_size even windows of the last two dims."""
    _fn = F.adaptive_avg_pool2d


class AdaptiveAvgPool3d(_AdaptivePool):
    """Means over output_size even windows of the last three dims."""
    _fn = F.adaptive_avg_pool3d


class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    """Maxima over output_size even windows of the last dim."""
    _fn = F.adaptive_max_pool1d


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    """Maxima over output_size even windows of the last two dims."""
    _fn = F.adaptive_max_pool2d


class AdaptiveMaxPool3d(_AdaptiveMaxPool):
    """Maxima over output_size even windows of the last three dims."""
    _fn = F.adaptive_max_pool3d


class _MaxUnpoolNd(Module):
    """The partial inverse of MaxPool: forward(input, indices, output_size=None)
    writes each value at its index into zeros. Sizes kept as tuples, as PyTorch's."""
    _nd, _fn = 0, None

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        name, nd = type(self).__name__, self._nd
        self.kernel_size = _ntuple(kernel_size, nd, name, "kernel_size")
        self.stride = _ntuple(stride if stride is not None else kernel_size, nd, name, "stride")
        self.padding = _ntuple(padding, nd, name, "padding")

    def forward(self, input, indices, output_size=None):
        return type(self)._fn(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """MaxPool1d's partial inverse."""
    _nd, _fn = 1, F.max_unpool1d


class MaxUnpool2d(_MaxUnpoolNd):
    """MaxPool2d's partial inverse."""
    _nd, _fn = 2, F.max_unpool2d


class MaxUnpool3d(_MaxUnpoolNd):
    """MaxPool3d's partial inverse."""
    _nd, _fn = 3, F.max_unpool3d


class _LPPoolNd(Module):
    """The p-norm of each window: (sum x^p)^(1/p); norm_type is passed on as a float, as PyTorch's."""
    _fn = None

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type, self.kernel_size, self.stride, self.ceil_mode = norm_type, kernel_size, stride, ceil_mode

    def forward(self, input):
        return type(self)._fn(input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    """p-norms over windows of the last dim."""
    _fn = F.lp_pool1d


class LPPool2d(_LPPoolNd):
    """p-norms over windows of the last two dims."""
    _fn = F.lp_pool2d


class LPPool3d(_LPPoolNd):
    """p-norms over windows of the last three dims."""
    _fn = F.lp_pool3d
