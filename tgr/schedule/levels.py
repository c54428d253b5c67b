r"""Topological levels of a dependency graph and its structural checks.

A recurrence over a graph defines a node's state from the states of the nodes
it depends on. Draw an edge :math:`u \to v` whenever :math:`v` needs the new
state of :math:`u` (PyG's message direction: :obj:`edge_index[0]` is needed by
:obj:`edge_index[1]`). If that graph is acyclic, give every node its level

.. math::
    \ell(v) = \begin{cases} 0 & \text{if } v \text{ has no incoming edge} \\
    1 + \max_{u \to v} \ell(u) & \text{otherwise,} \end{cases}

i.e. the length of the longest path that ends in :math:`v`. Every edge climbs
at least one level, so two nodes on one level never depend on each other.

:func:`topological_levels` peels frontiers with in-degree counts on the
tensor's own device, :math:`O(|V| + |E|)` work in total;
:func:`check_edge_index` and :func:`check_single_parent` are the structural
checks every layer shares (index ranges, nodes with two parents); cycles and
self loops are reported by :func:`topological_levels`.
"""
from typing import List, Optional

import torch
from torch import Tensor

__all__ = ['check_edge_index', 'check_single_parent', 'topological_levels',
           'SMALL_GRAPH']


# Validation ##################################################################
@torch.compiler.disable
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


@torch.compiler.disable
def check_single_parent(edge_index: Tensor, num_nodes: int,
                        who: str = 'tgr', parent_row: int = 1) -> None:
    r"""Checks that every node has at most one parent, where the parent of an
    edge is :obj:`edge_index[parent_row]`.

    Raises:
        ValueError: naming a node with a self loop or with two or more
            parents.
    """
    child = edge_index[1 - parent_row]
    if child.numel() == 0:
        return
    loop = edge_index[0] == edge_index[1]
    if bool(loop.any()):
        node = int(child[loop][0])
        raise ValueError(f"'{who}' expects a forest, but node {node} has a "
                         f"self loop (an edge to itself)")
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
@torch.compiler.disable
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
