r"""Skeleton structure that is not the engine: hop distances to a centre
joint, ST-GCN's spatial configuration partitioning of the bones, and the
graph of body parts that joints are pooled into."""
from typing import Optional

import torch
from torch import Tensor

from ..schedule.levels import check_edge_index

__all__ = ['SUBSETS', 'hop_distance', 'skeleton_partition', 'part_graph']


#: The three subsets of ST-GCN's spatial configuration partitioning, in the
#: order of the labels returned by :func:`skeleton_partition` (and of the
#: weight blocks of :class:`tgr.nn.SpatialGraphConv`).
SUBSETS = ('root', 'centripetal', 'centrifugal')


def hop_distance(edge_index: Tensor, center: Tensor,
                 num_nodes: Optional[int] = None) -> Tensor:
    r"""The number of bones between every joint and the nearest centre joint
    (a multi-source breadth-first search over :obj:`edge_index`, taken as
    undirected), or :obj:`-1` for a joint that no centre reaches.

    Args:
        edge_index (torch.Tensor): The bones, shape :math:`(2, |\mathcal{E}|)`.
        center (torch.Tensor): The centre joints, as a :obj:`bool` mask of
            shape :math:`(|\mathcal{V}|,)` or as a :obj:`long` tensor of node
            indices. In a :class:`~torch_geometric.data.Batch` mark the centre
            of every skeleton (one per sample, or one per body when a sample
            holds several unconnected bodies).
        num_nodes (int, optional): The number of joints :math:`|\mathcal{V}|`
            (default: the size of a mask :obj:`center`, else
            :obj:`edge_index.max() + 1`).

    Returns:
        A :obj:`long` tensor of shape :math:`(|\mathcal{V}|,)`.
    """
    who = 'hop_distance'
    center = _center_mask(who, center, edge_index, num_nodes)
    num_nodes = center.numel()
    check_edge_index(edge_index, num_nodes, who)
    edge_index = edge_index.long()
    src = torch.cat([edge_index[0], edge_index[1]])
    dst = torch.cat([edge_index[1], edge_index[0]])
    dist = torch.full((num_nodes, ), -1, dtype=torch.long,
                      device=center.device)
    dist[center] = 0
    frontier = center
    for d in range(1, num_nodes + 1):
        reached = torch.zeros_like(frontier)
        reached[dst[frontier[src]]] = True
        reached &= dist < 0
        if not bool(reached.any()):
            break
        dist[reached] = d
        frontier = reached
    return dist


def skeleton_partition(edge_index: Tensor, center: Tensor,
                       num_nodes: Optional[int] = None) -> Tensor:
    r"""Labels every bone :math:`j \to i` with the subset of ST-GCN's spatial
    configuration partitioning (`"Spatial Temporal Graph Convolutional
    Networks for Skeleton-Based Action Recognition"
    <https://arxiv.org/abs/1801.07455>`_, Yan et al., AAAI 2018) that the
    sender :math:`j` belongs to in the neighbourhood of the receiver
    :math:`i`, from the hop distances :math:`r` to the centre joint
    (:func:`hop_distance`):

    - :obj:`0` (root): :math:`r_j = r_i` (the joint itself always belongs
      here; :class:`SpatialGraphConv` adds it, so :obj:`edge_index` holds no
      self-loops),
    - :obj:`1` (centripetal): :math:`r_j < r_i`, the neighbour nearer to the
      centre,
    - :obj:`2` (centrifugal): :math:`r_j > r_i`, the neighbour farther from
      it.

    The labels depend on the skeleton only, so compute them once per sample
    (:class:`tgr.transforms.AddSkeletonPartition` does, in a dataset's
    transform): as an edge-level attribute they
    concatenate correctly in a :class:`~torch_geometric.data.Batch`. For a
    batch of skeletons numbered :math:`0, \dots, J - 1` within each sample,
    the centre mask is

    .. code-block:: python

        joint = torch.arange(batch.num_nodes) - batch.ptr[batch.batch]
        center = joint % J == layout.center  # one centre per body
        partition = skeleton_partition(batch.edge_index, center)

    (ST-GCN takes joint 21 of NTU RGB+D, the spine at the shoulders, i.e.
    index 20, as the centre).

    Args:
        edge_index (torch.Tensor): The bones in both directions, shape
            :math:`(2, |\mathcal{E}|)`, without self-loops.
        center (torch.Tensor): The centre joints, a :obj:`bool` mask over the
            nodes or a :obj:`long` tensor of node indices.
        num_nodes (int, optional): The number of joints.

    Returns:
        A :obj:`long` tensor of shape :math:`(|\mathcal{E}|,)` with values in
        :math:`\{0, 1, 2\}`.

    Raises:
        ValueError: if a bone joins joints that no centre reaches (a skeleton
            without a centre joint) or :obj:`edge_index` has a self-loop.
    """
    who = 'skeleton_partition'
    dist = hop_distance(edge_index, center, num_nodes)
    edge_index = edge_index.long()
    src, dst = edge_index[0], edge_index[1]
    loop = src == dst
    if bool(loop.any()):
        node = int(src[loop][0])
        raise ValueError(f"'{who}' expects 'edge_index' without self-loops "
                         f"(found one at node {node}; the root subset "
                         f"always holds the joint itself)")
    d_src, d_dst = dist[src], dist[dst]
    lost = (d_src < 0) | (d_dst < 0)
    if bool(lost.any()):
        e = int(lost.nonzero()[0, 0])
        node = int(src[e]) if d_src[e] < 0 else int(dst[e])
        raise ValueError(f"'{who}' found joint {node}, which no centre joint "
                         f"reaches (every skeleton needs its centre marked "
                         f"in 'center')")
    return torch.where(d_src < d_dst, 1, torch.where(d_src > d_dst, 2, 0))


def part_graph(edge_index: Tensor, part: Tensor,
               num_parts: Optional[int] = None) -> Tensor:
    r"""The graph of the body parts of a skeleton: parts :math:`p \neq q`
    are joined (in both directions) when a bone joins a joint of :math:`p`
    to a joint of :math:`q`. This is the contracted graph
    :math:`\mathbf{A}_{\text{part}} = [\mathbf{C} \mathbf{A}
    \mathbf{C}^{\top} > 0]` without its diagonal, for the assignment
    :math:`\mathbf{C}_{pj} = [\text{part}_j = p]` of the joints to the
    parts: the part-based graph of AGC-LSTM (Joint & Part), see
    :class:`tgr.nn.models.AGCLSTMJointPartNet`.

    Args:
        edge_index (torch.Tensor): The bones, shape :math:`(2, |\mathcal{E}|)`
            (either or both directions).
        part (torch.Tensor): The part of every joint, a :obj:`long` tensor of
            shape :math:`(|\mathcal{V}|,)` with values in
            :math:`[0, P)`; several bodies need distinct part numbers.
        num_parts (int, optional): The number of parts :math:`P`
            (default: :obj:`part.max() + 1`).

    Returns:
        A :obj:`long` tensor of shape :math:`(2, |\mathcal{E}_{\text{part}}|)`:
        every pair of joined parts in both directions, sorted by source, then
        target, without self-loops.
    """
    who = 'part_graph'
    if not isinstance(part, Tensor) or part.is_floating_point() or \
            part.dtype == torch.bool or part.dim() != 1:
        raise TypeError(f"'{who}' expects 'part' to be a 1-dimensional "
                        f"integer tensor, one part per joint")
    check_edge_index(edge_index, part.numel(), who)
    part = part.long()
    if num_parts is None:
        num_parts = int(part.max()) + 1 if part.numel() else 0
    if part.numel() and (int(part.min()) < 0 or
                         int(part.max()) >= num_parts):
        raise ValueError(f"'{who}' expects 'part' values in [0, "
                         f"{num_parts - 1}]")
    src, dst = part[edge_index[0].long()], part[edge_index[1].long()]
    keep = src != dst
    src, dst = src[keep], dst[keep]
    key = torch.cat([src * num_parts + dst, dst * num_parts + src]).unique()
    return torch.stack([key // num_parts, key % num_parts])


def _center_mask(who: str, center: Tensor, edge_index: Tensor,
                 num_nodes: Optional[int]) -> Tensor:
    if not isinstance(center, Tensor):
        raise TypeError(f"'{who}' expects 'center' to be a torch.Tensor "
                        f"(got {type(center).__name__})")
    if center.dtype == torch.bool:
        if center.dim() != 1 or (num_nodes is not None
                                 and center.numel() != num_nodes):
            raise ValueError(f"'{who}' expects a mask 'center' of shape "
                             f"({num_nodes if num_nodes is not None else 'N'}"
                             f",) (got {tuple(center.shape)})")
        return center
    if center.is_floating_point() or center.is_complex():
        raise TypeError(f"'{who}' expects 'center' to be a bool mask or an "
                        f"integer tensor of node indices (got {center.dtype})")
    center = center.view(-1).long()
    if num_nodes is None:
        num_nodes = max(int(edge_index.max()) + 1 if edge_index.numel() else
                        0, int(center.max()) + 1 if center.numel() else 0)
    if center.numel() and (int(center.min()) < 0 or
                           int(center.max()) >= num_nodes):
        raise ValueError(f"'{who}' found a centre index out of range for "
                         f"{num_nodes} nodes")
    mask = torch.zeros(num_nodes, dtype=torch.bool, device=center.device)
    mask[center] = True
    return mask
