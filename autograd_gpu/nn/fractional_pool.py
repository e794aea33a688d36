"""Fractional max pooling (torch.nn.FractionalMaxPool2d, FractionalMaxPool3d): pseudo-random pooling regions."""
import numbers

from . import functional as F
from .module import Module

__all__ = ["FractionalMaxPool2d", "FractionalMaxPool3d"]


def _ntuple(v, n):
    """PyTorch's _pair / _triple: an iterable as a tuple, anything else repeated n times."""
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


class _FractionalMaxPoolNd(Module):
    """Max pooling over kernel_size windows at pseudo-random starts. The
    buffer `_random_samples` (None unless given) fixes the windows; without
    it each call draws new samples from the library's generator."""
    _nd, _fn = 0, None

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                 _random_samples=None):
        super().__init__()
        name, nd = type(self).__name__, self._nd
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError(f"{name}: only one of output_size and output_ratio may be specified")
        ratio = _ntuple(output_ratio, nd) if output_ratio is not None else None
        if ratio is not None and not all(isinstance(r, numbers.Real) and 0 < r < 1 for r in ratio):
            raise ValueError(f"{name}: output_ratio must be between 0 and 1 (got {output_ratio})")
        self._check_kernel(kernel_size)
        self.kernel_size = _ntuple(kernel_size, nd)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = _ntuple(output_size, nd) if output_size is not None else None
        self.output_ratio = ratio

    def _check_kernel(self, kernel_size):
        pass

    def forward(self, input):
        return type(self)._fn(input, self.kernel_size, self.output_size, self.output_ratio, self.return_indices,
                              _random_samples=self._random_samples)


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """Fractional max pooling over the last two dims of (N, C, H, W) or (C, H, W)."""
    _nd, _fn = 2, F.fractional_max_pool2d


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """Fractional max pooling over the last three dims of (N, C, T, H, W) or (C, T, H, W)."""
    _nd, _fn = 3, F.fractional_max_pool3d

    def _check_kernel(self, kernel_size):
        # (PyTorch checks this for the 3-d module only; the functional form raises for both)
        ks = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size,)
        if any(isinstance(k, numbers.Real) and k <= 0 for k in ks):
            raise ValueError(f"FractionalMaxPool3d: kernel_size must be greater than 0, but got {kernel_size}")
