r"""Recurrent graph layers."""
from .tree_lstm import ChildSumTreeLSTM, NAryTreeLSTM

__all__ = ['ChildSumTreeLSTM', 'NAryTreeLSTM']
