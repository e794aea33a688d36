"""Stateless resampling: interpolate/upsample, pixel and channel shuffles, grid_sample and affine_grid (torch.nn.functional's)."""

__all__ = []
