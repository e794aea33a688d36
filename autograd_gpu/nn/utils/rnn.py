"""Sequence utilities for recurrent layers (torch.nn.utils.rnn): PackedSequence and padding/packing helpers."""

__all__ = []
