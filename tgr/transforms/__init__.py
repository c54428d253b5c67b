r"""Transforms that precompute schedules and orders once, in the dataset."""
from .add_levels import AddLevels
from .add_sibling_order import AddSiblingOrder

__all__ = ['AddLevels', 'AddSiblingOrder']
