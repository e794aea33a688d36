"""torch.nn.modules.conv's names, with the bases _ConvNd and _ConvTransposeNd.
Our _ConvNd.__init__ takes Conv2d's arguments (not PyTorch's 11 positional
ones, transposed and output_padding included): subclass Conv1d/2d/3d instead."""
from ..conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from ..conv import _ConvNd, _ConvTransposeNd  # noqa: F401
from ..lazy import (LazyConv1d, LazyConv2d, LazyConv3d, LazyConvTranspose1d, LazyConvTranspose2d,
                    LazyConvTranspose3d)

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "LazyConv1d",
           "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d"]
