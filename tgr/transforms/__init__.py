r"""Transforms that precompute schedules, orders and structure once, in the
dataset."""
from .add_levels import AddLevels
from .add_sibling_order import AddSiblingOrder
from .add_skeleton_partition import AddSkeletonPartition
from .add_metapath_graphs import AddMetaPathGraphs

__all__ = ['AddLevels', 'AddSiblingOrder', 'AddSkeletonPartition',
           'AddMetaPathGraphs']
