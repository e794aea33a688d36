"""ag.utils.data, after torch.utils.data: Dataset, TensorDataset, DataLoader,
random_split, Subset."""

__all__ = []
