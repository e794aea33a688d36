"""Normalization layers beyond LayerNorm and BatchNorm1d/2d: GroupNorm, InstanceNorm, BatchNorm3d, RMSNorm, LocalResponseNorm (after torch.nn)."""

__all__ = []
