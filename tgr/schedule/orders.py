r"""Orders that define a dependency DAG, computed once per graph.

- :func:`sibling_order` links every child of a forest to its next sibling;
  :func:`parent_sibling_dependencies` turns parent and sibling links into the
  dependency edges of a parent + sibling recurrence (the Graph-Structured
  LSTM), in either direction.
- :func:`confidence_order` orients every edge of an undirected graph from the
  node updated earlier to the one updated later, in order of decreasing
  confidence (the Graph LSTM).
"""
from typing import Optional

import torch
from torch import Tensor

from .levels import check_edge_index, check_single_parent

__all__ = ['sibling_order', 'check_siblings', 'first_children',
           'parent_sibling_dependencies', 'confidence_rank',
           'confidence_order']


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


def check_siblings(edge_index: Tensor, sibling_index: Tensor,
                   num_nodes: int, who: str = 'check_siblings') -> None:
    r"""Checks sibling links given by a user (previous :math:`\to` next
    sibling) against the forest :obj:`edge_index` (parent :math:`\to`
    child): both ends of every link have the same parent (or are both
    roots), no node links to itself, and no node has two next or two
    previous siblings. Cycles among siblings are left to
    :func:`~tgr.schedule.topological_levels`.

    Raises:
        ValueError: naming the first offending link or node.
    """
    if sibling_index.numel() == 0:
        return
    prev, nxt = sibling_index[0].long(), sibling_index[1].long()
    loop = prev == nxt
    if bool(loop.any()):
        node = int(prev[loop][0])
        raise ValueError(f"'{who}' found a sibling link from node {node} to "
                         f"itself in 'sibling_index'")
    parent = torch.full((num_nodes, ), -1, dtype=torch.long,
                        device=edge_index.device)
    parent[edge_index[1].long()] = edge_index[0].long()
    bad = parent[prev] != parent[nxt]
    if bool(bad.any()):
        e = int(bad.nonzero()[0, 0])
        u, v = int(prev[e]), int(nxt[e])

        def name(p):
            return 'a root' if p < 0 else f'node {p}'
        raise ValueError(f"'{who}' expects 'sibling_index' to link siblings"
                         f" (children of one parent, or roots), but link {e}"
                         f" goes from node {u} (parent: "
                         f"{name(int(parent[u]))}) to node {v} (parent: "
                         f"{name(int(parent[v]))})")
    for row, what in ((prev, 'next'), (nxt, 'previous')):
        count = torch.bincount(row, minlength=num_nodes)
        if bool((count > 1).any()):
            node = int((count > 1).nonzero()[0, 0])
            raise ValueError(f"'{who}' found node {node} with "
                             f"{int(count[node])} {what} siblings in "
                             f"'sibling_index' (at most one)")


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


def confidence_rank(confidence: Tensor,
                    who: str = 'confidence_rank') -> Tensor:
    r"""The position of every node in the order of decreasing confidence:
    :math:`0` for the most confident node, ties broken by node index (the
    lower index first). A :math:`(|V|, C)` confidence (per-label scores) is
    reduced to its maximum over :math:`C`. No gradient flows through it.

    Raises:
        TypeError: if :obj:`confidence` is not a real-valued tensor.
        ValueError: if its shape is not :math:`(|V|,)` or :math:`(|V|, C)`,
            or an entry is not finite.

    :rtype: :class:`torch.Tensor` of shape :math:`(|V|,)`, dtype
        :obj:`torch.long`.
    """
    if not isinstance(confidence, Tensor) or confidence.is_complex() or \
            confidence.dtype == torch.bool:
        got = confidence.dtype if isinstance(confidence, Tensor) else \
            type(confidence).__name__
        raise TypeError(f"'{who}' expects 'confidence' to be a real-valued "
                        f"torch.Tensor (got {got})")
    if confidence.dim() not in (1, 2) or (confidence.dim() == 2 and
                                          confidence.size(1) == 0):
        raise ValueError(f"'{who}' expects 'confidence' of shape "
                         f"(num_nodes,) or (num_nodes, num_labels) (got "
                         f"{tuple(confidence.shape)})")
    confidence = confidence.detach()
    if confidence.is_floating_point() and \
            not bool(torch.isfinite(confidence).all()):
        bad = int((~torch.isfinite(confidence)).nonzero()[0, 0])
        raise ValueError(f"'{who}' expects finite 'confidence' (node {bad} "
                         f"has a NaN or infinite value)")
    if confidence.dim() == 2:
        confidence = confidence.amax(dim=1)
    order = torch.sort(confidence, descending=True, stable=True).indices
    rank = torch.empty_like(order)
    rank[order] = torch.arange(order.numel(), device=order.device)
    return rank


def confidence_order(edge_index: Tensor, confidence: Tensor,
                     who: str = 'confidence_order') -> Tensor:
    r"""The dependency DAG of a recurrence that updates the nodes of an
    undirected graph one at a time, in order of decreasing confidence (the
    Graph LSTM): every undirected edge :math:`\{u, v\}` becomes the edge
    from the node updated earlier to the node updated later, which reads
    the earlier one's new state.

    The order is :func:`confidence_rank`: highest confidence first, ties
    broken by node index; a :math:`(|V|, C)` confidence counts by its
    maximum over :math:`C`. Self loops are ignored (a node is not its own
    neighbour) and repeated edges count once.

    Args:
        edge_index (torch.Tensor): Undirected edges as PyG stores them (both
            directions present), shape :math:`(2, |E|)`.
        confidence (torch.Tensor): Per-node confidence, :math:`(|V|,)` or
            :math:`(|V|, C)`; it also gives the number of nodes.
        who (str, optional): The name used in error messages.

    Returns:
        :class:`torch.Tensor` of shape :math:`(2, |E'|)`: one edge per
        undirected edge, earlier :math:`\to` later, sorted by source then
        target.

    Raises:
        ValueError: if an edge appears in one direction only (make the graph
            undirected with :func:`torch_geometric.utils.to_undirected`), an
            index is out of range, or the confidence is malformed or not
            finite.
    """
    rank = confidence_rank(confidence, who)
    num_nodes = rank.numel()
    check_edge_index(edge_index, num_nodes, who)
    edge_index = edge_index.long().to(rank.device)
    src, dst = edge_index[0], edge_index[1]
    keep = src != dst
    src, dst = src[keep], dst[keep]
    key = src * num_nodes + dst
    if key.numel() > 1 and not bool((key[1:] > key[:-1]).all()):
        key = torch.unique(key)  # sorted, without repeats
    # (PyG's coalesced edge_index is sorted already: no sort needed.)
    src, dst = key // num_nodes, key % num_nodes
    if key.numel() > 0:
        rev = dst * num_nodes + src
        pos = torch.searchsorted(key, rev).clamp_(max=key.numel() - 1)
        missing = key[pos] != rev
        if bool(missing.any()):
            e = int(missing.nonzero()[0, 0])
            u, v = int(src[e]), int(dst[e])
            raise ValueError(
                f"'{who}' expects an undirected 'edge_index' (both "
                f"directions of every edge), but the edge {u} -> {v} has no "
                f"reverse {v} -> {u} (make it undirected with "
                f"torch_geometric.utils.to_undirected)")
    forward = rank[src] < rank[dst]
    return torch.stack([src[forward], dst[forward]])
