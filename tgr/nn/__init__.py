r"""Recurrent graph layers."""
from .tree_lstm import ChildSumTreeLSTM, NAryTreeLSTM
from .graph_structured_lstm import GraphStructuredLSTM
from .agc_lstm import SpatialGraphConv, AGCLSTMCell, AGCLSTM
# The skeleton's structure lives with the other per-graph orders, in the
# engine (tgr.schedule), so that transforms and datasets can use it too.
from ..schedule import hop_distance, skeleton_partition
from .part_aware_lstm import PartAwareLSTM
from . import aggr

__all__ = ['ChildSumTreeLSTM', 'NAryTreeLSTM', 'GraphStructuredLSTM',
           'SpatialGraphConv', 'AGCLSTMCell', 'AGCLSTM', 'hop_distance',
           'skeleton_partition', 'PartAwareLSTM']
