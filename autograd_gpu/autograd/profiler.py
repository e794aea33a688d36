"""ag.autograd.profiler: the legacy profiler API, as torch.autograd.profiler."""
__all__ = []
