r"""Transforms that precompute schedules and orders once, in the dataset."""
from .add_levels import AddLevels

__all__ = ['AddLevels']
