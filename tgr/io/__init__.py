r"""Readers of the raw published formats that :mod:`tgr.datasets` builds on:
one module per format, each testable alone. A reader parses; it returns
plain Python or tensor structures and raises a :class:`ValueError` that
names the file and the line; the datasets do the bookkeeping (splits,
vocabularies, features, processed files)."""
from .msr_skeleton import read_msr_skeleton
from .ntu_skeleton import NTUSkeleton, parse_ntu_name, read_ntu_skeleton
from .ptb import parse_ptb_tree, read_ptb_trees
from .pushshift import parse_comment, read_pushshift
from .python_ast import read_python_functions
from .acm3025 import read_acm3025
from .bbc import read_bbc, read_bbc_article

__all__ = [
    'parse_ptb_tree',
    'read_ptb_trees',
    'read_ntu_skeleton',
    'NTUSkeleton',
    'parse_ntu_name',
    'read_msr_skeleton',
    'read_pushshift',
    'parse_comment',
    'read_python_functions',
    'read_acm3025',
    'read_bbc',
    'read_bbc_article',
]
