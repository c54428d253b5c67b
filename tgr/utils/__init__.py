r"""Utilities shared by every layer: the scatter dispatch point
(:mod:`tgr.utils.dispatch`), and graph helpers that are not the engine:
skeleton hop distances and ST-GCN partitions (:mod:`tgr.utils.skeleton`)."""
from .dispatch import (scatter, segment, torch_scatter_available,
                      use_torch_scatter)

__all__ = ['scatter', 'segment', 'torch_scatter_available',
           'use_torch_scatter']
