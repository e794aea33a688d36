"""The functional forms of fractional max pooling (F.fractional_max_pool2d, fractional_max_pool3d, _with_indices)."""

__all__ = []
