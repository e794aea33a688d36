"""Layers beyond Linear: Dropout, LayerNorm, BatchNorm1d/2d, Embedding, Flatten,
Unflatten, Identity; and the containers ModuleList and ModuleDict."""

__all__ = []
