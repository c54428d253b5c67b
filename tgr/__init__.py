r"""tgr: recurrent graph layers for PyTorch Geometric.

Every recurrence over a graph is a computation over a DAG of dependencies; tgr
runs it exactly, with the papers' sequential semantics, in one batched step per
topological level (see :mod:`tgr.schedule`).
"""
__version__ = '0.1.0'

from . import schedule  # noqa: E402
from . import utils  # noqa: E402
from . import nn  # noqa: E402
from . import transforms  # noqa: E402
from . import datasets  # noqa: E402

__all__ = ['__version__', 'schedule', 'utils', 'nn', 'transforms', 'datasets']
