"""AdaptiveLogSoftmaxWithLoss (torch.nn): a head over frequent classes and clusters of the rare ones."""

__all__ = []
