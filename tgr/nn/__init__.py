r"""Recurrent graph layers."""
from .tree_lstm import ChildSumTreeLSTM, NAryTreeLSTM
from .graph_structured_lstm import GraphStructuredLSTM
from .spatial_graph_conv import SpatialGraphConv
from .agc_lstm import AGCLSTMCell, AGCLSTM
from .part_aware_lstm import PartAwareLSTM
from .graph_lstm import GraphLSTM
# Skeleton structure (tgr.utils.skeleton), importable from here as before:
from ..utils.skeleton import hop_distance, skeleton_partition
from .han import HAN
from . import aggr
# The fused CPU kernels' switch (tgr.nn._fused):
from ._fused import fused_cpu_available, set_fused_cpu

__all__ = ['ChildSumTreeLSTM', 'NAryTreeLSTM', 'GraphStructuredLSTM',
           'SpatialGraphConv', 'AGCLSTMCell', 'AGCLSTM', 'hop_distance',
           'skeleton_partition', 'PartAwareLSTM', 'HAN', 'GraphLSTM',
           'fused_cpu_available', 'set_fused_cpu']
