r"""Loaders for the published formats of the datasets the examples use."""
from .sst import SST
from .code_trees import OGBCode2, PythonCodeTrees, from_ogb_code2
from .reddit import RedditThreads, SyntheticRedditThreads
from .ntu_rgbd import NTURGBD, from_stgcn_array
from .msr_action3d import MSRAction3D
from .synthetic_skeleton import SyntheticSkeletonActions

__all__ = ['SST', 'PythonCodeTrees', 'OGBCode2', 'from_ogb_code2',
           'RedditThreads', 'SyntheticRedditThreads',
           'NTURGBD', 'from_stgcn_array', 'MSRAction3D',
           'SyntheticSkeletonActions']
from .bbc_news import BBCNews, DocumentData  # noqa: E402
__all__ += ['BBCNews', 'DocumentData']
from .acm3025 import ACM3025  # noqa: E402
__all__ += ['ACM3025']
