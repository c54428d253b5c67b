r"""Attention poolings over segments, as PyG aggregations
(:class:`torch_geometric.nn.aggr.Aggregation` subclasses)."""
from .attention_pooling import AttentionPooling

__all__ = ['AttentionPooling']
