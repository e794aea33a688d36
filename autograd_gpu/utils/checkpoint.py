"""torch.utils.checkpoint: activation checkpointing (recompute a segment's forward during backward instead of keeping its activations)."""
