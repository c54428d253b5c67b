r"""Utilities shared by every layer: the scatter dispatch point."""
from .dispatch import (scatter, segment, torch_scatter_available,
                      use_torch_scatter)

__all__ = ['scatter', 'segment', 'torch_scatter_available',
           'use_torch_scatter']
