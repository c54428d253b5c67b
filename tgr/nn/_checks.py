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
    if x.dim() not in dims:
        raise ValueError(f"'{who}' expects 'x' of shape {shape} (got "
                         f"{tuple(x.shape)})")
    if channels is not None and x.size(-1) != channels:
        raise ValueError(f"'{who}' expects 'x' of shape {shape} with "
                         f"{channels} input channels in its last dimension, "
                         f"as the layer was built or first called with (got "
                         f"{tuple(x.shape)})")


@torch.compiler.disable
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


@torch.compiler.disable
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


def check_channels(who: str, lazy: Sequence[str] = ('in_channels', ),
                   low: Optional[dict] = None, **sizes) -> None:
    r"""Checks constructor sizes: each must be a positive :obj:`int` (at
    least :obj:`low[name]` where given), or :obj:`-1` (derive it from the
    first input) for the names in :obj:`lazy`."""
    for name, value in sizes.items():
        least = (low or {}).get(name, 1)
        ok = isinstance(value, int) and not isinstance(value, bool) and (
            value >= least or (value == -1 and name in lazy))
        if not ok:
            also = ' or -1 (lazy)' if name in lazy else ''
            what = 'a positive integer' if least == 1 else \
                f'an integer >= {least}'
            raise ValueError(f"'{who}' expects '{name}' to be {what}{also} "
                             f"(got {value!r})")


def input_channels(lin) -> Optional[int]:
    r"""The input size of a :class:`torch_geometric.nn.Linear`, or
    :obj:`None` while it is lazy and not yet materialised."""
    from torch_geometric.nn.dense.linear import is_uninitialized_parameter
    if is_uninitialized_parameter(lin.weight):
        return None
    return lin.weight.size(1)


_PYG_DEFAULTS = dict(aggr_kwargs=None, node_dim=-2, decomposed_layers=1)


def message_passing_kwargs(who: str, kwargs: dict,
                           aggr: Sequence[str] = ('add', ),
                           flow: bool = True, node_dim: int = -2) -> dict:
    r"""Checks the :class:`~torch_geometric.nn.conv.MessagePassing`
    arguments a layer inherits and returns them for :obj:`super().__init__`:
    :obj:`aggr` must be one of the strings in :obj:`aggr` (``"sum"`` is
    accepted as PyG's alias of ``"add"``), :obj:`flow` must be valid (and
    the default if the layer does not honour it, :obj:`flow=False`), and
    the arguments the layer does not use (:obj:`aggr_kwargs`,
    :obj:`node_dim`, :obj:`decomposed_layers`) must keep their defaults.
    Unknown names raise a :class:`TypeError`, as Python would."""
    kwargs = dict(kwargs)
    value = kwargs.get('aggr', aggr[0])
    if isinstance(value, str) and value == 'sum' and 'add' in aggr:
        value = 'add'
    if not isinstance(value, str) or value not in aggr:
        raise ValueError(f"'{who}' supports aggr in {tuple(aggr)} (got "
                         f"{value!r})")
    kwargs['aggr'] = value
    value = kwargs.setdefault('flow', 'source_to_target')
    valid = ('source_to_target', 'target_to_source') if flow else \
        ('source_to_target', )
    if value not in valid:
        extra = '' if flow else (' (it does not use flow; orient '
                                 'edge_index instead, e.g. with '
                                 'edge_index.flip(0))')
        raise ValueError(f"'{who}' expects 'flow' to be "
                         f"{' or '.join(repr(v) for v in valid)}{extra} "
                         f"(got {value!r})")
    defaults = dict(_PYG_DEFAULTS, node_dim=node_dim)
    for name, default in defaults.items():
        if name in kwargs and kwargs[name] != default:
            raise ValueError(f"'{who}' does not use '{name}'; it must keep "
                             f"its default {default!r} (got "
                             f"{kwargs[name]!r})")
    unknown = set(kwargs) - {'aggr', 'flow'} - set(defaults)
    if unknown:
        raise TypeError(f"'{who}' got unexpected keyword argument(s) "
                        f"{sorted(unknown)}")
    kwargs.setdefault('node_dim', node_dim)
    return kwargs


def reject_renamed(who: str, kwargs: dict, renamed: dict) -> None:
    r"""Raises a :class:`TypeError` for keyword arguments a :obj:`forward`
    does not take, naming the new name of a renamed one."""
    for name in kwargs:
        if name in renamed:
            raise TypeError(f"'{who}' got '{name}', which is now called "
                            f"'{renamed[name]}'")
    if kwargs:
        raise TypeError(f"'{who}' got unexpected keyword argument(s) "
                        f"{sorted(kwargs)}")
