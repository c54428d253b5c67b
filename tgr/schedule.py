r"""The level-wise recurrence engine: the only place that knows how a DAG is
peeled.

A recurrence over a graph defines a node's state from the states of the nodes
it depends on. Draw an edge :math:`u \to v` whenever :math:`v` needs the new
state of :math:`u` (PyG's message direction: :obj:`edge_index[0]` is needed by
:obj:`edge_index[1]`). If that graph is acyclic, give every node its level

.. math::
    \ell(v) = \begin{cases} 0 & \text{if } v \text{ has no incoming edge} \\
    1 + \max_{u \to v} \ell(u) & \text{otherwise,} \end{cases}

i.e. the length of the longest path that ends in :math:`v`. Every edge climbs
at least one level, so two nodes on one level never depend on each other, and
computing a whole level in one batched step gives exactly the result of the
one-node-at-a-time definition, in any order of the nodes within a level.

This module provides

- :func:`topological_levels`: the levels, by frontier peeling with in-degree
  counts on the tensor's own device, :math:`O(|V| + |E|)` work in total;
- :class:`LevelSchedule` / :func:`build_schedule`: nodes grouped by level and
  edges grouped by the level of their target, built once per graph and
  reusable across layers and epochs (a batch's schedule is rebuilt cheaply
  from the per-graph levels stored by :class:`tgr.transforms.AddLevels`);
- :func:`propagate_levels`: runs a per-level step over the schedule inside one
  :class:`torch.autograd.Function` that owns a single state buffer, so the
  forward and the backward pass cost time proportional to each level's size
  (a chain of :math:`T` nodes costs :math:`O(T)`), with no host-device
  synchronisation inside the level loop;
- orders and structure computed once per graph: :func:`sibling_order`,
  :func:`parent_sibling_dependencies`, :func:`hop_distance` and
  :func:`skeleton_partition` (ST-GCN's subsets of a skeleton's bones);
- validation shared by every layer: index ranges, self loops, cycles, nodes
  with two parents.
"""
from typing import Callable, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

__all__ = [
    'check_edge_index',
    'check_single_parent',
    'topological_levels',
    'LevelSchedule',
    'build_schedule',
    'LevelStep',
    'propagate_levels',
    'layer_schedule',
    'sibling_order',
    'first_children',
    'parent_sibling_dependencies',
    'hop_distance',
    'skeleton_partition',
    'SUBSETS',
    'check_node_features',
    'check_batch',
    'check_state',
    'check_labels',
]


# Validation ##################################################################
def check_edge_index(edge_index: Tensor, num_nodes: int,
                     who: str = 'tgr') -> None:
    r"""Checks that :obj:`edge_index` is an integer tensor of shape
    :math:`(2, |E|)` whose entries lie in :math:`[0, \textit{num_nodes})`.

    Raises:
        TypeError: if :obj:`edge_index` is not an integer tensor.
        ValueError: if its shape or an entry is out of range.
    """
    if not isinstance(edge_index, Tensor):
        raise TypeError(f"'{who}' expects 'edge_index' to be a torch.Tensor "
                        f"(got {type(edge_index).__name__})")
    if edge_index.dtype not in (torch.long, torch.int):
        raise TypeError(f"'{who}' expects 'edge_index' to hold integers "
                        f"(torch.long) (got {edge_index.dtype})")
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"'{who}' expects 'edge_index' of shape (2, E) "
                         f"(got {tuple(edge_index.shape)})")
    if edge_index.numel() > 0:
        lo, hi = int(edge_index.min()), int(edge_index.max())
        if lo < 0 or hi >= num_nodes:
            bad = lo if lo < 0 else hi
            raise ValueError(f"'{who}' found node index {bad} in "
                             f"'edge_index', which is out of range for "
                             f"{num_nodes} nodes (expected indices in "
                             f"[0, {num_nodes - 1}])")


def check_single_parent(edge_index: Tensor, num_nodes: int,
                        who: str = 'tgr', parent_row: int = 1) -> None:
    r"""Checks that every node has at most one parent, where the parent of an
    edge is :obj:`edge_index[parent_row]`.

    Raises:
        ValueError: naming a node with two or more parents.
    """
    child = edge_index[1 - parent_row]
    if child.numel() == 0:
        return
    count = torch.bincount(child, minlength=num_nodes)
    if bool((count > 1).any()):
        node = int((count > 1).nonzero()[0, 0])
        raise ValueError(f"'{who}' expects a forest, but node {node} has "
                         f"{int(count[node])} parents")


def _find_cycle_node(edge_index: Tensor, unresolved: Tensor) -> int:
    # Error path only: walk backwards along unresolved predecessors, which
    # every unresolved node has, until a node repeats: that node is on a cycle.
    src, dst = edge_index.cpu().tolist()
    bad = set(unresolved.cpu().tolist())
    pred = {}
    for u, v in zip(src, dst):
        if u in bad and v in bad and v not in pred:
            pred[v] = u
    node, seen = next(iter(sorted(bad))), set()
    while node not in seen:
        seen.add(node)
        node = pred[node]
    return node


# Levels ######################################################################
def topological_levels(edge_index: Tensor, num_nodes: Optional[int] = None,
                       who: str = 'topological_levels') -> Tensor:
    r"""Returns the topological level of every node of the directed graph
    :obj:`edge_index` (edges point from the node whose state is needed to the
    node that needs it): :math:`0` for nodes without incoming edges, otherwise
    :math:`1` plus the largest level among its sources.

    Computed by frontier peeling with in-degree counts, with tensor operations
    on :obj:`edge_index`'s device, in :math:`O(|V| + |E|)` total work.

    Args:
        edge_index (torch.Tensor): Edge indices, shape :math:`(2, |E|)`.
        num_nodes (int, optional): The number of nodes.
            (default: :obj:`edge_index.max() + 1`)
        who (str, optional): The name used in error messages.

    Raises:
        ValueError: if the graph has a self loop or a cycle; the message says
            how many nodes lie on or behind cycles and names one on a cycle.

    :rtype: :class:`torch.Tensor` of shape :math:`(|V|,)`, dtype
        :obj:`torch.long`.
    """
    if num_nodes is None:
        num_nodes = int(edge_index.max()) + 1 if edge_index.numel() > 0 else 0
    check_edge_index(edge_index, num_nodes, who)
    edge_index = edge_index.long()
    device = edge_index.device
    level = torch.full((num_nodes, ), -1, dtype=torch.long, device=device)
    if num_nodes == 0:
        return level
    src, dst = edge_index[0], edge_index[1]
    loop = src == dst
    if bool(loop.any()):
        node = int(src[loop][0])
        raise ValueError(f"'{who}' expects an acyclic graph, but node {node} "
                         f"has a self loop")

    if device.type == 'cpu' and num_nodes + src.numel() <= SMALL_GRAPH:
        level = _levels_small(src.tolist(), dst.tolist(), num_nodes)
    else:
        _peel(src, dst, num_nodes, level)

    unresolved = (level < 0).nonzero().view(-1)
    if unresolved.numel() > 0:
        node = _find_cycle_node(edge_index, unresolved)
        raise ValueError(f"'{who}' expects an acyclic graph, but "
                         f"{unresolved.numel()} node(s) lie on or behind "
                         f"cycles (node {node} is on a cycle)")
    return level


#: Graphs on the CPU with at most this many nodes plus edges are peeled with
#: Python lists: per round, a handful of tensor operations cost more than the
#: whole small graph (a 37-node tree: ~30 us instead of ~1 ms).
SMALL_GRAPH = 4096


def _levels_small(src: List[int], dst: List[int], num_nodes: int) -> Tensor:
    # Kahn's algorithm by rounds on Python lists; -1 marks nodes on or
    # behind a cycle.
    out: List[List[int]] = [[] for _ in range(num_nodes)]
    in_deg = [0] * num_nodes
    for u, v in zip(src, dst):
        out[u].append(v)
        in_deg[v] += 1
    level = [-1] * num_nodes
    frontier = [v for v in range(num_nodes) if in_deg[v] == 0]
    depth = 0
    while frontier:
        nxt = []
        for u in frontier:
            level[u] = depth
            for v in out[u]:
                in_deg[v] -= 1
                if in_deg[v] == 0:
                    nxt.append(v)
        frontier = nxt
        depth += 1
    return torch.tensor(level, dtype=torch.long)


def _peel(src: Tensor, dst: Tensor, num_nodes: int, level: Tensor) -> None:
    # Frontier peeling with tensor operations on the tensors' device; fills
    # `level` in place, leaving -1 on nodes on or behind a cycle. Each round
    # costs O(frontier + its out-edges), O(N + E) in total.
    device = src.device
    # Out-edges in CSR form (sorted by source):
    order = torch.argsort(src, stable=True)
    out_dst = dst[order]
    out_deg = torch.bincount(src, minlength=num_nodes)
    out_ptr = torch.zeros(num_nodes + 1, dtype=torch.long, device=device)
    torch.cumsum(out_deg, 0, out=out_ptr[1:])
    in_deg = torch.bincount(dst, minlength=num_nodes)
    claim = torch.empty(num_nodes, dtype=torch.long, device=device)

    frontier = (in_deg == 0).nonzero().view(-1)
    depth = 0
    while frontier.numel() > 0:
        level[frontier] = depth
        count = out_deg[frontier]
        total = int(count.sum())
        if total == 0:
            break
        # Ids of the out-edges of the frontier, O(size of the frontier's
        # out-edges): start of each node's range, plus offsets within it.
        offset = torch.cumsum(count, 0) - count
        base = torch.repeat_interleave(out_ptr[frontier] - offset, count,
                                       output_size=total)
        eid = base + torch.arange(total, device=device)
        target = out_dst[eid]
        in_deg.index_add_(0, target, torch.full_like(target, -1))
        cand = target[in_deg[target] == 0]
        # Deduplicate without sorting: one claimant per node wins.
        pos = torch.arange(cand.numel(), device=device)
        claim[cand] = pos
        frontier = cand[claim[cand] == pos]
        depth += 1


# Orders ######################################################################
def sibling_order(edge_index: Tensor, num_nodes: int,
                  time: Optional[Tensor] = None,
                  who: str = 'sibling_order') -> Tensor:
    r"""Links every child to its next sibling.

    Siblings are the children of one parent in :obj:`edge_index` (edges
    parent :math:`\to` child), ordered by :obj:`time` with ties broken by node
    index (by node index alone when :obj:`time` is :obj:`None`). Roots are
    not siblings of one another.

    Returns:
        :class:`torch.Tensor` of shape :math:`(2, S)`: edges from each child
        to its next sibling (previous :math:`\to` next), one per pair of
        consecutive siblings.

    Raises:
        ValueError: if a node has two parents, or :obj:`time` has the wrong
            shape.
    """
    check_edge_index(edge_index, num_nodes, who)
    check_single_parent(edge_index, num_nodes, who, parent_row=0)
    parent, child = edge_index[0].long(), edge_index[1].long()
    if child.numel() == 0:
        return edge_index.new_empty(2, 0).long()
    # Lexicographic sort by (parent, time, child): stable sorts, last key
    # first.
    order = torch.argsort(child, stable=True)
    if time is not None:
        if not isinstance(time, Tensor) or time.shape != (num_nodes, ):
            raise ValueError(f"'{who}' expects 'time' of shape ({num_nodes},)"
                             f" (got {tuple(getattr(time, 'shape', ()))})")
        t = time.to(edge_index.device)[child[order]]
        order = order[torch.argsort(t, stable=True)]
    order = order[torch.argsort(parent[order], stable=True)]
    p, c = parent[order], child[order]
    same = p[1:] == p[:-1]
    return torch.stack([c[:-1][same], c[1:][same]])


def first_children(edge_index: Tensor, sibling_index: Tensor,
                   num_nodes: int) -> Tensor:
    r"""Returns the edges (parent :math:`\to` child) of :obj:`edge_index`
    whose child has no previous sibling in :obj:`sibling_index`, i.e. the
    link from every parent to its first child."""
    has_prev = torch.zeros(num_nodes, dtype=torch.bool,
                           device=edge_index.device)
    has_prev[sibling_index[1]] = True
    return edge_index[:, ~has_prev[edge_index[1]]]


def parent_sibling_dependencies(edge_index: Tensor, sibling_index: Tensor,
                                num_nodes: int, reverse: bool = False):
    r"""The dependency edges of a parent + sibling recurrence (the
    Graph-Structured LSTM) and the relation of each.

    Forward (:obj:`reverse=False`): parent :math:`\to` child (relation 0) and
    previous :math:`\to` next sibling (relation 1). Backward: first child
    :math:`\to` parent (relation 0) and next :math:`\to` previous sibling
    (relation 1).

    Returns:
        :obj:`(dependency_edge_index, relation)`.
    """
    if reverse:
        hier = first_children(edge_index, sibling_index, num_nodes).flip(0)
        temp = sibling_index.flip(0)
    else:
        hier, temp = edge_index, sibling_index
    dep = torch.cat([hier, temp], dim=1).long()
    rel = torch.cat([hier.new_zeros(hier.size(1)),
                     temp.new_ones(temp.size(1))]).long()
    return dep, rel


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


# Schedule ####################################################################
class LevelSchedule:
    r"""Nodes grouped by topological level and edges grouped by the level of
    their target, ready for :func:`propagate_levels`.

    Positions: nodes are sorted by level (stably), so level :math:`l` is the
    contiguous slice :obj:`node_ptr[l]:node_ptr[l + 1]` of positions; edges
    are sorted by the position of their target, so the edges into level
    :math:`l` are the slice :obj:`edge_ptr[l]:edge_ptr[l + 1]`.

    Attributes:
        num_nodes (int): :math:`|V|`.
        num_levels (int): :math:`L`, one more than the largest level.
        level (Tensor): The level of every node, :math:`(|V|,)`.
        perm (Tensor): Position :math:`\to` node id, :math:`(|V|,)`.
        rank (Tensor): Node id :math:`\to` position, :math:`(|V|,)`.
        edge_perm (Tensor): Sorted edge :math:`\to` original edge id.
        src (Tensor): Source position of every sorted edge.
        dst (Tensor): Target position of every sorted edge.
        dst_local (Tensor): Target position relative to the start of its
            level (the row of the target within the level's slice).
        node_ptr (List[int]): Level boundaries over positions, :math:`L + 1`.
        edge_ptr (List[int]): Level boundaries over sorted edges, :math:`L+1`.
    """
    __slots__ = ('num_nodes', 'num_levels', 'level', 'perm', 'rank',
                 'edge_perm', 'src', 'dst', 'dst_local', 'node_ptr',
                 'edge_ptr', '_edges')

    def __init__(self, **kwargs):
        for key in self.__slots__[:-1]:
            setattr(self, key, kwargs[key])
        self._edges = None

    def level_edges(self) -> List[tuple]:
        r"""Per level, the views :obj:`(src, dst_local)` of the edges into
        it (made once and cached, so the level loop does not slice)."""
        if self._edges is None:
            p = self.edge_ptr
            self._edges = [(self.src[p[i]:p[i + 1]],
                            self.dst_local[p[i]:p[i + 1]])
                           for i in range(self.num_levels)]
        return self._edges

    @property
    def num_edges(self) -> int:
        return self.src.numel()

    @property
    def device(self) -> torch.device:
        return self.level.device

    def to(self, device) -> 'LevelSchedule':
        r"""Returns a copy of the schedule on :obj:`device`."""
        kwargs = {}
        for key in self.__slots__[:-1]:
            value = getattr(self, key)
            kwargs[key] = value.to(device) if isinstance(value,
                                                         Tensor) else value
        return LevelSchedule(**kwargs)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_nodes={self.num_nodes}, '
                f'num_edges={self.num_edges}, num_levels={self.num_levels})')


def build_schedule(edge_index: Tensor, num_nodes: int,
                   level: Optional[Tensor] = None,
                   who: str = 'build_schedule') -> LevelSchedule:
    r"""Builds the :class:`LevelSchedule` of a dependency graph.

    Args:
        edge_index (torch.Tensor): Dependency edges, shape :math:`(2, |E|)`,
            from the node whose state is needed to the node that needs it.
        num_nodes (int): The number of nodes.
        level (torch.Tensor, optional): Precomputed levels, for instance from
            :class:`tgr.transforms.AddLevels` on every graph of a
            :class:`~torch_geometric.data.Batch`. Any assignment in which
            every edge climbs at least one level is exact; it is checked.
            (default: :obj:`None`, computed with :func:`topological_levels`)
        who (str, optional): The name used in error messages.
    """
    check_edge_index(edge_index, num_nodes, who)
    edge_index = edge_index.long()
    device = edge_index.device
    if level is None:
        level = topological_levels(edge_index, num_nodes, who=who)
    else:
        if not isinstance(level, Tensor) or level.dtype not in (torch.long,
                                                                torch.int):
            raise TypeError(f"'{who}' expects 'level' to be an integer "
                            f"tensor")
        if level.shape != (num_nodes, ):
            raise ValueError(f"'{who}' expects 'level' of shape "
                             f"({num_nodes},) (got {tuple(level.shape)})")
        level = level.to(device=device, dtype=torch.long)
        if num_nodes > 0 and int(level.min()) < 0:
            raise ValueError(f"'{who}' expects non-negative levels")
        if edge_index.numel() > 0:
            bad = level[edge_index[0]] >= level[edge_index[1]]
            if bool(bad.any()):
                e = int(bad.nonzero()[0, 0])
                u, v = int(edge_index[0, e]), int(edge_index[1, e])
                raise ValueError(
                    f"'{who}' got levels that do not fit 'edge_index': edge "
                    f"{u} -> {v} goes from level {int(level[u])} to level "
                    f"{int(level[v])} (levels must increase along every edge;"
                    f" were they computed for another graph or 'flow'?)")

    num_levels = int(level.max()) + 1 if num_nodes > 0 else 0
    level_sorted, perm = torch.sort(level, stable=True)
    rank = torch.empty_like(perm)
    rank[perm] = torch.arange(num_nodes, device=device)
    counts = torch.bincount(level, minlength=num_levels)
    node_ptr_t = torch.zeros(num_levels + 1, dtype=torch.long, device=device)
    torch.cumsum(counts, 0, out=node_ptr_t[1:])

    dst_pos = rank[edge_index[1]]
    dst, edge_perm = torch.sort(dst_pos, stable=True)
    src = rank[edge_index[0]][edge_perm]
    edge_ptr_t = torch.searchsorted(dst, node_ptr_t)
    dst_local = dst - node_ptr_t[level_sorted[dst]] if dst.numel() > 0 \
        else dst

    # One host synchronisation for all level boundaries, before any loop:
    node_ptr, edge_ptr = torch.stack([node_ptr_t, edge_ptr_t]).tolist()
    return LevelSchedule(num_nodes=num_nodes, num_levels=num_levels,
                         level=level, perm=perm, rank=rank,
                         edge_perm=edge_perm, src=src, dst=dst,
                         dst_local=dst_local, node_ptr=node_ptr,
                         edge_ptr=edge_ptr)


# Propagation #################################################################
Step = Callable[..., Tensor]


class LevelStep:
    r"""Base class for a per-level step with a hand-written backward pass.

    A plain function given to :func:`propagate_levels` is differentiated by
    autograd, one small graph per level. A :class:`LevelStep` skips autograd
    inside the level loop, which removes most of the per-level overhead on
    long chains: :meth:`forward` returns the level's states and whatever its
    :meth:`backward` needs, and :meth:`backward` returns the gradients.

    The gradient of a parameter may be returned as a pair :obj:`(A, B)`,
    meaning :math:`\mathbf{A}^{\top} \mathbf{B}`: the engine concatenates
    the pairs of all levels and does one matrix product at the end instead of
    one per level.
    """
    def forward(self, node_in: Tensor, src_state: Tensor, dst_local: Tensor,
                edge_in: Optional[Tensor], aux: tuple, params: list):
        r"""Returns :obj:`(state, saved)` for one level."""
        raise NotImplementedError

    def backward(self, saved, grad_state: Tensor, node_in: Tensor,
                 src_state: Tensor, dst_local: Tensor,
                 edge_in: Optional[Tensor], aux: tuple, params: list):
        r"""Returns :obj:`(grad_node_in, grad_src_state, grad_edge_in,
        grad_params)` for one level; any of them may be :obj:`None`."""
        raise NotImplementedError

    def __call__(self, node_in, src_state, dst_local, edge_in, aux, params):
        return self.forward(node_in, src_state, dst_local, edge_in, aux,
                            params)[0]


class _LevelRecurrence(torch.autograd.Function):
    r"""Runs :obj:`step` level by level over one state buffer.

    Forward: for each level, the sources' states are gathered from the buffer
    (:math:`O(|E_l|)`), the step computes the level's new states and they are
    written into the level's slice (:math:`O(|V_l|)`). When gradients are
    needed, a plain step is recorded on detached leaves, one independent
    small graph per level; a :class:`LevelStep` keeps what its backward needs.

    Backward: levels in reverse order; the gradient of level :math:`l`'s
    states is complete once every later level is done (all its consumers lie
    there). The gradients of the gathered source states are added into the
    gradient buffer at the sources' positions (:math:`O(|E_l|)`).
    """
    @staticmethod
    def forward(ctx, step, sched, state_size, aux, node_in, edge_in, *params):
        record = any(ctx.needs_input_grad)
        manual = isinstance(step, LevelStep)
        num_nodes = node_in.size(0)
        states = node_in.new_empty(num_nodes, state_size)
        if record and not manual:
            leaves = [p.detach().requires_grad_() for p in params]
        else:
            leaves = [p.detach() for p in params]
        node_ptr, edge_ptr = sched.node_ptr, sched.edge_ptr
        level_edges = sched.level_edges()
        node_in_d = node_in.detach()
        graphs = []
        for lvl in range(sched.num_levels):
            a, b = node_ptr[lvl], node_ptr[lvl + 1]
            if a == b:
                graphs.append(None)
                continue
            ea, eb = edge_ptr[lvl], edge_ptr[lvl + 1]
            src_l, dst_l = level_edges[lvl]
            src_state = states.index_select(0, src_l)
            ni = node_in_d[a:b]
            ei = edge_in[ea:eb].detach() if edge_in is not None else None
            aux_l = tuple(t[ea:eb] for t in aux) if aux else ()
            if manual:
                out, saved = step.forward(ni, src_state, dst_l, ei, aux_l,
                                          leaves)
                graphs.append(saved if record else None)
            elif record:
                src_state.requires_grad_()
                ni = ni.detach().requires_grad_()
                if ei is not None:
                    ei.requires_grad_()
                with torch.enable_grad():
                    out = step(ni, src_state, dst_l, ei, aux_l, leaves)
                graphs.append((out, ni, src_state, ei))
            else:
                out = step(ni, src_state, dst_l, ei, aux_l, leaves)
            states[a:b] = out
        if record:
            ctx.graphs = graphs
            ctx.leaves = leaves
            ctx.sched = sched
            ctx.step = step
            ctx.aux = aux
            ctx.save_for_backward(node_in, edge_in, states)
        return states

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_states):
        sched, leaves, step = ctx.sched, ctx.leaves, ctx.step
        node_in, edge_in, states = ctx.saved_tensors
        manual = isinstance(step, LevelStep)
        node_ptr, edge_ptr = sched.node_ptr, sched.edge_ptr
        level_edges = sched.level_edges()
        grad = grad_states.clone()
        grad_node = torch.zeros_like(node_in)
        grad_edge = torch.zeros_like(edge_in) if edge_in is not None else None
        grad_params: List[Optional[Tensor]] = [None] * len(leaves)
        deferred: List[List[tuple]] = [[] for _ in leaves]
        want = [i for i, p in enumerate(leaves) if p.requires_grad]
        for lvl in range(sched.num_levels - 1, -1, -1):
            record = ctx.graphs[lvl]
            if record is None:
                continue
            a, b = node_ptr[lvl], node_ptr[lvl + 1]
            ea, eb = edge_ptr[lvl], edge_ptr[lvl + 1]
            src_l, dst_l = level_edges[lvl]
            if manual:
                g_node, g_src, g_edge, g_par = step.backward(
                    record, grad[a:b], node_in[a:b],
                    states.index_select(0, src_l), dst_l,
                    edge_in[ea:eb] if edge_in is not None else None,
                    tuple(t[ea:eb] for t in ctx.aux) if ctx.aux else (),
                    leaves)
            else:
                out, ni, src_state, ei = record
                inputs = [ni, src_state] + ([ei] if ei is not None else []) \
                    + [leaves[i] for i in want]
                # retain_graph: the outer graph may be run backward again
                # (retain_graph=True, gradcheck); the level graphs are freed
                # with this node.
                grads = torch.autograd.grad(out, inputs, grad[a:b],
                                            retain_graph=True,
                                            allow_unused=True)
                g_node, g_src = grads[0], grads[1]
                g_edge = grads[2] if ei is not None else None
                g_par = [None] * len(leaves)
                for i, g in zip(want, grads[3 if ei is not None else 2:]):
                    g_par[i] = g
            if g_node is not None:
                grad_node[a:b] = g_node
            if g_src is not None and eb > ea:
                grad.index_add_(0, src_l, g_src)
            if g_edge is not None:
                grad_edge[ea:eb] = g_edge
            for i, g in enumerate(g_par):
                if g is None:
                    continue
                if isinstance(g, tuple):
                    deferred[i].append(g)
                elif grad_params[i] is None:
                    grad_params[i] = g.clone()
                else:
                    grad_params[i].add_(g)
        for i, p in enumerate(leaves):
            if deferred[i]:
                A = torch.cat([pair[0] for pair in deferred[i]])
                B = torch.cat([pair[1] for pair in deferred[i]])
                g = A.t() @ B
                grad_params[i] = g if grad_params[i] is None else \
                    grad_params[i] + g
            if grad_params[i] is None and ctx.needs_input_grad[6 + i]:
                grad_params[i] = torch.zeros_like(p)
        return (None, None, None, None, grad_node, grad_edge, *grad_params)


def propagate_levels(step: Step, schedule: LevelSchedule, node_in: Tensor,
                     state_size: int, params: Sequence[Tensor] = (),
                     edge_in: Optional[Tensor] = None,
                     aux: Sequence[Tensor] = ()) -> Tensor:
    r"""Runs a recurrence over a DAG, one batched step per level, and returns
    the state of every node (in node order).

    For each level :math:`l` (in increasing order), :obj:`step` is called as

    .. code-block:: python

        state_l = step(node_in_l, src_state_l, dst_local_l, edge_in_l,
                       aux_l, params)

    with the level's node inputs :obj:`node_in_l` (:math:`(|V_l|, *)`), the
    states of the sources of the edges into the level :obj:`src_state_l`
    (:math:`(|E_l|, S)`), the row of each edge's target within the level
    :obj:`dst_local_l` (:math:`(|E_l|,)`), the edges' inputs :obj:`edge_in_l`
    (or :obj:`None`), the tuple of per-edge non-differentiable tensors
    :obj:`aux_l`, and the list :obj:`params`. It must return the level's new
    states, :math:`(|V_l|, S)`, and depend on nothing but its arguments.

    Gradients flow to :obj:`node_in`, :obj:`edge_in` and :obj:`params`
    (first-order only). Time and memory are linear in the graph's size.

    Args:
        step (callable): The per-level step.
        schedule (LevelSchedule): From :func:`build_schedule`.
        node_in (torch.Tensor): Per-node inputs, :math:`(|V|, *)`, in node
            order (typically the hoisted input projection :math:`Wx + b`).
        state_size (int): :math:`S`, the width of a node's state.
        params (sequence of torch.Tensor): Tensors used inside :obj:`step`.
        edge_in (torch.Tensor, optional): Per-edge inputs in the order of the
            edges given to :func:`build_schedule`.
        aux (sequence of torch.Tensor): Per-edge tensors without gradient
            (e.g. child positions), in the original edge order.

    :rtype: :class:`torch.Tensor` of shape :math:`(|V|, S)`.
    """
    sched = schedule
    if node_in.size(0) != sched.num_nodes:
        raise ValueError(f"'propagate_levels' expects 'node_in' with "
                         f"{sched.num_nodes} rows (got {node_in.size(0)})")
    node_pos = node_in.index_select(0, sched.perm)
    edge_pos = edge_in.index_select(0, sched.edge_perm) \
        if edge_in is not None else None
    aux_pos = tuple(t.index_select(0, sched.edge_perm) for t in aux)
    states = _LevelRecurrence.apply(step, sched, state_size, aux_pos,
                                    node_pos, edge_pos, *params)
    return states.index_select(0, sched.rank)



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


def layer_schedule(who: str, x: Tensor, edge_index: Tensor,
                   flow: str = 'source_to_target',
                   level: Optional[Tensor] = None,
                   schedule: Optional[LevelSchedule] = None) -> LevelSchedule:
    r"""The schedule a layer runs on, from its :obj:`forward` arguments.

    Validates :obj:`x` and :obj:`edge_index`, orients the edges as
    dependencies (:obj:`flow="source_to_target"` keeps them,
    :obj:`"target_to_source"` flips them), and returns :obj:`schedule` if one
    is given (after checking it fits), else builds one from :obj:`level` (if
    given) or from scratch.
    """
    check_node_features(who, x)
    num_nodes = x.size(0)
    check_edge_index(edge_index, num_nodes, who)
    if schedule is not None:
        if not isinstance(schedule, LevelSchedule):
            raise TypeError(f"'{who}' expects 'schedule' to be a "
                            f"LevelSchedule (got {type(schedule).__name__})")
        if (schedule.num_nodes != num_nodes
                or schedule.num_edges != edge_index.size(1)):
            raise ValueError(
                f"'{who}' got a schedule for {schedule.num_nodes} nodes and "
                f"{schedule.num_edges} edges, but the input has {num_nodes} "
                f"nodes and {edge_index.size(1)} edges")
        if schedule.device != x.device:
            raise ValueError(
                f"'{who}' got a schedule on {schedule.device} for input on "
                f"{x.device} (move it with 'schedule.to(x.device)')")
        return schedule
    if flow not in ('source_to_target', 'target_to_source'):
        raise ValueError(f"'{who}' expects 'flow' to be 'source_to_target' "
                         f"or 'target_to_source' (got '{flow}')")
    dep = edge_index if flow == 'source_to_target' else edge_index.flip(0)
    return build_schedule(dep, num_nodes, level=level, who=who)
