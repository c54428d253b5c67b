r"""The one place where tgr chooses its scatter kernels.

PyTorch's native kernels (:meth:`torch.Tensor.index_add_`,
:meth:`torch.Tensor.scatter_reduce_`, :func:`torch.segment_reduce`) are always
available. The optional ``torch-scatter`` package is used only where a
benchmark (``benchmarks/scatter.py``) shows it helps: sorted segment reductions
with ``max``/``min``/``mean`` (about 3x faster than the native scatter with its
backward on 2 CPU cores). Sums always take :meth:`~torch.Tensor.index_add_`,
which ``torch-scatter`` does not beat.

``torch-scatter`` is source-only on PyPI; install it, if you want it, with::

    pip install wheel && pip install --no-build-isolation torch-scatter

No other module of tgr imports ``torch_scatter``.
"""
from contextlib import contextmanager
from typing import Iterator

import torch
from torch import Tensor
from torch_geometric import is_compiling

try:  # the only optional import of torch_scatter in tgr
    import torch_scatter as _torch_scatter
except Exception:  # pragma: no cover - depends on the environment
    _torch_scatter = None

_ENABLED = _torch_scatter is not None
_REDUCES = ('sum', 'mean', 'max', 'min')


def torch_scatter_available() -> bool:
    r"""Returns :obj:`True` if ``torch-scatter`` is installed and enabled."""
    return _torch_scatter is not None and _ENABLED


@contextmanager
def use_torch_scatter(enabled: bool) -> Iterator[None]:
    r"""Context manager that enables or disables ``torch-scatter`` within its
    scope (it has no effect when the package is not installed).

    .. code-block:: python

        with tgr.utils.use_torch_scatter(False):
            out = layer(x, edge_index)  # native PyTorch kernels only
    """
    global _ENABLED
    previous = _ENABLED
    _ENABLED = bool(enabled)
    try:
        yield
    finally:
        _ENABLED = previous


def _use_torch_scatter() -> bool:
    # torch-scatter's ops have no fake-tensor kernels, so torch.compile
    # cannot trace them: under compilation the native kernels are used.
    return torch_scatter_available() and not is_compiling()


def _check_reduce(reduce: str) -> None:
    if reduce not in _REDUCES:
        raise ValueError(f"'scatter' expects 'reduce' to be one of {_REDUCES} "
                         f"(got '{reduce}')")


def scatter(src: Tensor, index: Tensor, dim_size: int,
            reduce: str = 'sum') -> Tensor:
    r"""Reduces the rows of :obj:`src` into :obj:`dim_size` rows along
    dimension 0 by :obj:`index`. Rows that receive nothing are zero.

    Args:
        src (torch.Tensor): The values, shape :math:`(E, *)`.
        index (torch.Tensor): The target row of every value, shape :math:`(E,)`.
        dim_size (int): The number of output rows.
        reduce (str, optional): ``"sum"``, ``"mean"``, ``"max"`` or ``"min"``.
            (default: :obj:`"sum"`)
    """
    _check_reduce(reduce)
    shape = (dim_size, ) + tuple(src.shape[1:])
    if reduce == 'sum':
        return src.new_zeros(shape).index_add_(0, index, src)
    if _use_torch_scatter():
        return _torch_scatter.scatter(src, index, dim=0, dim_size=dim_size,
                                      reduce=reduce)
    idx = index.view((-1, ) + (1, ) * (src.dim() - 1)).expand_as(src)
    native = {'mean': 'mean', 'max': 'amax', 'min': 'amin'}[reduce]
    return src.new_zeros(shape).scatter_reduce_(0, idx, src, native,
                                                include_self=False)


def segment(src: Tensor, ptr: Tensor, reduce: str = 'sum') -> Tensor:
    r"""Reduces contiguous segments of rows of :obj:`src`, where segment
    :math:`i` holds the rows :obj:`ptr[i]:ptr[i + 1]`. Empty segments give
    zeros.

    Args:
        src (torch.Tensor): The values, shape :math:`(E, *)`, sorted by
            segment.
        ptr (torch.Tensor): Segment boundaries, shape :math:`(S + 1,)`.
        reduce (str, optional): ``"sum"``, ``"mean"``, ``"max"`` or ``"min"``.
            (default: :obj:`"sum"`)
    """
    _check_reduce(reduce)
    if _use_torch_scatter():
        return _torch_scatter.segment_csr(src, ptr, reduce=reduce)
    counts = ptr[1:] - ptr[:-1]
    if reduce == 'sum':
        index = torch.repeat_interleave(
            torch.arange(counts.numel(), device=src.device), counts,
            output_size=src.size(0))
        return scatter(src, index, counts.numel(), 'sum')
    out = torch.segment_reduce(src, reduce, lengths=counts, axis=0,
                               unsafe=True)
    # Native segment_reduce fills empty segments with the reduction's identity
    # (-inf for max); torch-scatter gives zeros, and so do we.
    return out.masked_fill((counts == 0).view((-1, ) + (1, ) *
                                              (src.dim() - 1)), 0.)
