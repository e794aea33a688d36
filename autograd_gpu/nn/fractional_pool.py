"""Fractional max pooling (torch.nn.FractionalMaxPool2d, FractionalMaxPool3d): pseudo-random pooling regions."""

__all__ = []
