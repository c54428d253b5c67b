r"""Recurrent graph layers."""
from .tree_lstm import ChildSumTreeLSTM, NAryTreeLSTM
from .graph_structured_lstm import GraphStructuredLSTM
from .agc_lstm import (SpatialGraphConv, AGCLSTMCell, AGCLSTM, hop_distance,
                       skeleton_partition)
from .part_aware_lstm import PartAwareLSTM

__all__ = ['ChildSumTreeLSTM', 'NAryTreeLSTM', 'GraphStructuredLSTM',
           'SpatialGraphConv', 'AGCLSTMCell', 'AGCLSTM', 'hop_distance',
           'skeleton_partition', 'PartAwareLSTM']
