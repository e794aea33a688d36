"""ag.nn.attention: attention backends and flex_attention, as torch.nn.attention."""
__all__ = []
