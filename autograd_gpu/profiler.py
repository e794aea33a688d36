"""ag.profiler: the op-level profiler, as torch.profiler."""
__all__ = []
