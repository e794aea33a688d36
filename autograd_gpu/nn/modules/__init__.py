"""ag.nn.modules: torch.nn.modules' import paths, aliasing ag.nn's classes."""
__all__ = []
