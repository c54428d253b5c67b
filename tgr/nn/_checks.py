r"""Input checks that every layer shares: node features, batch vectors,
integer labels and recurrent states. Errors name the layer and the argument.
"""
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor

__all__ = ['check_node_features', 'check_batch', 'check_labels',
           'check_state']


def check_node_features(who: str, x: Tensor,
                        shape: str = '(num_nodes, in_channels)',
                        dims: Sequence[int] = (2, ),
                        channels: Optional[int] = None) -> None:
    r"""Checks that :obj:`x` is a floating-point tensor with one of the
    numbers of dimensions :obj:`dims` (default: :math:`(|V|, F)`) and, if
    :obj:`channels` is given, that many channels in its last dimension;
    :obj:`shape` is what the error message calls the expected shape."""
    if not isinstance(x, Tensor):
        raise TypeError(f"'{who}' expects 'x' to be a torch.Tensor "
                        f"(got {type(x).__name__})")
    if not x.is_floating_point():
        raise TypeError(f"'{who}' expects floating-point node features 'x' "
                        f"(got {x.dtype})")
    if x.dim() not in dims or (channels is not None
                               and x.size(-1) != channels):
        raise ValueError(f"'{who}' expects 'x' of shape {shape} (got "
                         f"{tuple(x.shape)})")


def check_batch(who: str, batch: Optional[Tensor], num_nodes: int) -> int:
    r"""Checks a batch vector (the sample of every node) and returns the
    number of samples (:obj:`1` for :obj:`batch=None`). Takes the sample
    count to the host once, before any loop."""
    if batch is None:
        return 1
    if not isinstance(batch, Tensor) or batch.is_floating_point() or \
            batch.dtype == torch.bool:
        raise TypeError(f"'{who}' expects 'batch' to be an integer tensor")
    if batch.shape != (num_nodes, ):
        raise ValueError(f"'{who}' expects 'batch' of shape ({num_nodes},), "
                         f"one sample index per node (got "
                         f"{tuple(batch.shape)})")
    if num_nodes == 0:
        return 0
    if int(batch.min()) < 0:
        raise ValueError(f"'{who}' expects non-negative sample indices in "
                         f"'batch'")
    return int(batch.max()) + 1


def check_labels(who: str, name: str, labels: Tensor, length: int,
                 bound: int, per: str = 'node', meaning: str = '',
                 hint: str = '') -> Tensor:
    r"""Checks an integer label vector (a child position per edge, a subset
    per bone, a body part per joint): shape :obj:`(length,)`, values in
    :math:`[0, \text{bound})`; returns it as :obj:`long`. :obj:`meaning`
    names the values in the error message, :obj:`hint` is appended to a
    range error."""
    if not isinstance(labels, Tensor) or labels.is_floating_point() or \
            labels.is_complex() or labels.dtype == torch.bool:
        raise TypeError(f"'{who}' expects '{name}' to be an integer tensor")
    if labels.shape != (length, ):
        raise ValueError(f"'{who}' expects '{name}' of shape ({length},), "
                         f"one value per {per} (got {tuple(labels.shape)})")
    if length > 0:
        lo, hi = int(labels.min()), int(labels.max())
        if lo < 0 or hi >= bound:
            raise ValueError(f"'{who}' expects '{name}' values in "
                             f"[0, {bound - 1}]{meaning} (got "
                             f"{lo if lo < 0 else hi}){hint}")
    return labels.long()


def check_state(who: str, state, shape: Tuple[int, int], hint: str = ''):
    r"""Checks an optional recurrent state :obj:`(h, c)`, two tensors of
    shape :obj:`shape`, and returns it as a tuple (or :obj:`None`)."""
    if state is None:
        return None
    if not isinstance(state, (tuple, list)) or len(state) != 2:
        raise TypeError(f"'{who}' expects 'state' to be a pair (h, c)")
    for s in state:
        if not isinstance(s, Tensor) or tuple(s.shape) != tuple(shape):
            got = tuple(s.shape) if isinstance(s, Tensor) else type(s)
            raise ValueError(f"'{who}' expects 'state' tensors of shape "
                             f"{tuple(shape)}{hint} (got {got})")
    return tuple(state)
