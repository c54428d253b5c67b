r"""The level-wise recurrence engine: the only place that knows how a DAG is
peeled.

A recurrence over a graph defines a node's state from the states of the nodes
it depends on. Draw an edge :math:`u \to v` whenever :math:`v` needs the new
state of :math:`u`; give every node its topological level (0 without incoming
edges, else one more than the largest level it depends on). Two nodes on one
level never depend on each other, so computing a whole level in one batched
step gives exactly the one-node-at-a-time result, in any order within the
level.

- :mod:`tgr.schedule.levels`: :func:`topological_levels` and the structural
  checks of a dependency graph (index ranges, self loops, cycles, two
  parents);
- :mod:`tgr.schedule.level_schedule`: :class:`LevelSchedule`,
  :func:`build_schedule` and :func:`layer_schedule` (nodes grouped by level,
  edges by their target's level, built once per graph);
- :mod:`tgr.schedule.engine`: :func:`propagate_levels` and
  :class:`LevelStep` (one batched step per level, linear time and memory);
- :mod:`tgr.schedule.orders`: orders that define a DAG (sibling order).

The input checks of layers (:func:`check_node_features`, ...) live in
:mod:`tgr.nn._checks` and the skeleton helpers (:func:`hop_distance`,
:func:`skeleton_partition`) in :mod:`tgr.utils.skeleton`; both stay
importable from here.
"""
from .levels import check_edge_index, check_single_parent, topological_levels
from .level_schedule import LevelSchedule, build_schedule, layer_schedule
from .engine import LevelStep, propagate_levels
from .orders import (check_siblings, confidence_order, confidence_rank,
                     first_children, parent_sibling_dependencies,
                     sibling_order)
from ..utils.skeleton import SUBSETS, hop_distance, skeleton_partition

__all__ = [
    'check_edge_index',
    'check_single_parent',
    'topological_levels',
    'LevelSchedule',
    'build_schedule',
    'LevelStep',
    'propagate_levels',
    'layer_schedule',
    'sibling_order',
    'check_siblings',
    'first_children',
    'parent_sibling_dependencies',
    'confidence_order',
    'confidence_rank',
    'hop_distance',
    'skeleton_partition',
    'SUBSETS',
    'check_node_features',
    'check_batch',
    'check_state',
    'check_labels',
]

# The layers' input checks moved next to the layers (tgr.nn._checks); they are
# resolved on first use so that importing the engine does not import the
# layers (which import the engine).
_MOVED_TO_NN = ('check_node_features', 'check_batch', 'check_state',
                'check_labels')


def __getattr__(name: str):
    if name in _MOVED_TO_NN:
        from ..nn import _checks
        return getattr(_checks, name)
    raise AttributeError(f"module 'tgr.schedule' has no attribute '{name}'")
