"""Benchmark suite: autograd_gpu against hand-written NumPy and PyTorch.

Run `python -m benchmarks.run` from the repository root (see README.md)."""
