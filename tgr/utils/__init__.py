r"""Utilities shared by every layer: the scatter dispatch point
(:mod:`tgr.utils.dispatch`), and graph helpers that are not the engine:
skeleton hop distances and ST-GCN partitions (:mod:`tgr.utils.skeleton`),
meta-path graphs (:mod:`tgr.utils.metapath`)."""
from .dispatch import (scatter, segment, torch_scatter_available,
                      use_torch_scatter)
from .metapath import metapath_edge_index, metapath_edge_type

__all__ = ['scatter', 'segment', 'torch_scatter_available',
           'use_torch_scatter', 'metapath_edge_index', 'metapath_edge_type']
