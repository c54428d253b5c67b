r"""Orders that define a dependency DAG, computed once per graph.

- :func:`sibling_order` links every child of a forest to its next sibling;
  :func:`parent_sibling_dependencies` turns parent and sibling links into the
  dependency edges of a parent + sibling recurrence (the Graph-Structured
  LSTM), in either direction.
"""
from typing import Optional

import torch
from torch import Tensor

from .levels import check_edge_index, check_single_parent

__all__ = ['sibling_order', 'check_siblings', 'first_children',
           'parent_sibling_dependencies']


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
