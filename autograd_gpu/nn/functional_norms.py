"""Stateless normalization: group_norm, instance_norm, rms_norm, local_response_norm (torch.nn.functional's)."""

__all__ = []
