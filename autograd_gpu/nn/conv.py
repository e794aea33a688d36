"""Convolution layers: Conv1d, Conv2d (sliding windows, ops/windows.py, then a matrix product)."""

__all__ = []
