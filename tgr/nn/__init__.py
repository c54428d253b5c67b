r"""Recurrent graph layers."""
from .tree_lstm import ChildSumTreeLSTM, NAryTreeLSTM
from .graph_structured_lstm import GraphStructuredLSTM

__all__ = ['ChildSumTreeLSTM', 'NAryTreeLSTM', 'GraphStructuredLSTM']
