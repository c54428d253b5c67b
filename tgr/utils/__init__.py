r"""Utilities shared by every layer: the scatter dispatch point."""
from .dispatch import (scatter, segment, torch_scatter_available,
                      use_torch_scatter)
from .metapath import metapath_edge_index, metapath_edge_type

__all__ = ['scatter', 'segment', 'torch_scatter_available',
           'use_torch_scatter', 'metapath_edge_index', 'metapath_edge_type']
