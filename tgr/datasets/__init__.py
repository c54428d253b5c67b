r"""Loaders for the published formats of the datasets the examples use."""
from .sst import SST
from .code_trees import OGBCode2, PythonCodeTrees, from_ogb_code2

__all__ = ['SST', 'PythonCodeTrees', 'OGBCode2', 'from_ogb_code2']
