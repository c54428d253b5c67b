from typing import Sequence, Union

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.data.datapipes import functional_transform
from torch_geometric.transforms import BaseTransform

from ._checks import check_attr_name
from ..schedule import topological_levels

__all__ = ['AddLevels', 'union_levels']


@functional_transform('add_levels')
class AddLevels(BaseTransform):
    r"""Stores the topological level of every node (see
    :func:`tgr.schedule.topological_levels`) in :obj:`data[attr]`, so that a
    recurrent layer given :obj:`level=data.level` does not recompute it
    (functional name: :obj:`add_levels`).

    The level of a node is :math:`0` if it depends on no other node, else
    :math:`1` plus the largest level among the nodes it depends on. Levels are
    per graph: a :class:`~torch_geometric.data.Batch` concatenates them
    without shifting (the attribute name must not contain ``"index"``, which
    PyG's :meth:`~torch_geometric.data.Data.__inc__` would shift), and the
    levels of a batch are still valid for the batch's :obj:`edge_index`.
    Doing this in a dataset's :obj:`pre_transform` or :obj:`transform` lets
    :class:`~torch_geometric.loader.DataLoader` workers compute it in
    parallel.

    Args:
        flow (str, optional): :obj:`"source_to_target"` if a node depends on
            the sources of its incoming edges (children to parent, as the
            Tree-LSTMs' default), :obj:`"target_to_source"` if it depends on
            the targets of its outgoing edges. (default:
            :obj:`"source_to_target"`)
        attr (str, optional): The attribute to store the levels in.
            (default: :obj:`"level"`)
        edge_attr (str, optional): The attribute holding the dependency
            edges. (default: :obj:`"edge_index"`)
    """
    def __init__(self, flow: str = 'source_to_target', attr: str = 'level',
                 edge_attr: str = 'edge_index'):
        if flow not in ('source_to_target', 'target_to_source'):
            raise ValueError(f"'{self.__class__.__name__}' expects 'flow' to "
                             f"be 'source_to_target' or 'target_to_source' "
                             f"(got '{flow}')")
        check_attr_name(self.__class__.__name__, attr)
        self.flow = flow
        self.attr = attr
        self.edge_attr = edge_attr

    def forward(self, data: Data) -> Data:
        if self.edge_attr not in data:
            raise ValueError(f"'{self.__class__.__name__}' expects data with "
                             f"an '{self.edge_attr}' attribute (the "
                             f"dependency edges; see 'edge_attr')")
        edge_index = data[self.edge_attr]
        if self.flow == 'target_to_source':
            edge_index = edge_index.flip(0)
        data[self.attr] = topological_levels(edge_index, data.num_nodes,
                                             who=self.__class__.__name__)
        return data

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(flow={self.flow!r})'


def union_levels(edge_index: Tensor, num_nodes: Union[Sequence[int], Tensor],
                 num_edges: Union[Sequence[int], Tensor],
                 flow: str = 'source_to_target') -> Tensor:
    r"""The levels that :class:`AddLevels` gives every graph of a list, all
    computed at once on the disjoint union of the graphs (the levels of a
    disjoint union are those of each graph alone), so that a dataset pays
    as many peeling rounds as its tallest graph rather than a few dozen
    tensor operations per graph.

    Args:
        edge_index (torch.Tensor): The edges of graph :obj:`0`, then of graph
            :obj:`1`, ..., each graph's numbered from :obj:`0` (the form
            :meth:`~torch_geometric.data.InMemoryDataset.collate` stores),
            :math:`(2, \sum_i |\mathcal{E}_i|)`.
        num_nodes (List[int] or torch.Tensor): The number of nodes of every
            graph.
        num_edges (List[int] or torch.Tensor): The number of edges of every
            graph.
        flow (str, optional): As in :class:`AddLevels`.
            (default: :obj:`"source_to_target"`)

    Returns:
        The levels of the nodes of every graph, concatenated
        (:obj:`long`, :math:`(\sum_i |\mathcal{V}_i|,)`).
    """
    num_nodes = torch.as_tensor(num_nodes, dtype=torch.long).view(-1)
    num_edges = torch.as_tensor(num_edges, dtype=torch.long).view(-1)
    if num_nodes.numel() != num_edges.numel():
        raise ValueError(f"'union_levels' expects one number of nodes and one "
                         f"number of edges per graph (got {num_nodes.numel()} "
                         f"and {num_edges.numel()})")
    if int(num_edges.sum()) != edge_index.size(1):
        raise ValueError(f"'union_levels' expects 'edge_index' to hold "
                         f"{int(num_edges.sum())} edges, the sum of "
                         f"'num_edges' (got {edge_index.size(1)})")
    ptr = torch.cat([num_nodes.new_zeros(1), num_nodes.cumsum(0)])
    offset = ptr[:-1].repeat_interleave(num_edges).to(edge_index.device)
    union = Data(edge_index=edge_index + offset, num_nodes=int(ptr[-1]))
    return AddLevels(flow=flow)(union).level
