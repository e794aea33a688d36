"""torch.nn.modules.sparse's names."""
from ..layers import Embedding, EmbeddingBag

__all__ = ["Embedding", "EmbeddingBag"]
