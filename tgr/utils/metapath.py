r"""Meta-paths over heterogeneous graphs: naming, resolving and building
their adjacency, shared by :class:`tgr.nn.HAN` and
:class:`tgr.transforms.AddMetaPathGraphs`.

A meta-path :math:`\Phi = T_0 \to T_1 \to \dots \to T_L` is given as a
sequence of edge types, each either a full triple
:obj:`(src, rel, dst)` or a pair :obj:`(src, dst)` that names the one edge
type of the graph between those node types; consecutive steps must chain
(the destination type of a step is the source type of the next). Its
adjacency joins :math:`u \in T_0` to :math:`v \in T_L` when at least one
path instance leads from :math:`u` to :math:`v`; it is the product of the
steps' sparse adjacencies with every nonzero set to one, so a pair of nodes
joined by many path instances gets a single edge.
"""
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

__all__ = [
    'EdgeTypeLike',
    'MetaPathLike',
    'is_edge_type',
    'check_metapath',
    'metapath_edge_type',
    'resolve_edge_type',
    'metapath_edge_index',
    'metapath_graph',
]

EdgeType = Tuple[str, str, str]
#: An edge type as a triple :obj:`(src, rel, dst)` or a pair :obj:`(src, dst)`.
EdgeTypeLike = Union[Tuple[str, str, str], Tuple[str, str]]
#: An edge type, or a sequence of edge types that chain.
MetaPathLike = Union[EdgeTypeLike, Sequence[EdgeTypeLike]]


def is_edge_type(obj) -> bool:
    r"""Returns :obj:`True` if :obj:`obj` is one edge type, a tuple of two
    or three strings (as opposed to a sequence of edge types)."""
    return (isinstance(obj, (tuple, list)) and len(obj) in (2, 3)
            and all(isinstance(part, str) for part in obj))


def check_metapath(who: str, metapath: MetaPathLike,
                   node_types: Optional[Sequence[str]] = None
                   ) -> List[Tuple[str, ...]]:
    r"""Checks :obj:`metapath` (one edge type or a sequence of edge types)
    and returns it as a list of edge-type tuples.

    Raises:
        TypeError: if it is neither an edge type nor a sequence of them.
        ValueError: if it is empty, if its steps do not chain, or if it
            starts or ends at a node type not in :obj:`node_types` (when
            given).
    """
    if is_edge_type(metapath):
        steps = [tuple(metapath)]
    elif isinstance(metapath, (tuple, list)) and all(
            is_edge_type(step) for step in metapath):
        steps = [tuple(step) for step in metapath]
    else:
        raise TypeError(f"'{who}' expects a meta-path to be an edge type "
                        f"(src, rel, dst) or (src, dst), or a sequence of "
                        f"them (got {metapath!r})")
    if not steps:
        raise ValueError(f"'{who}' expects a meta-path with at least one "
                         f"edge type (got an empty sequence)")
    for k, (a, b) in enumerate(zip(steps[:-1], steps[1:])):
        if a[-1] != b[0]:
            raise ValueError(f"'{who}' expects the edge types of meta-path "
                             f"{metapath!r} to chain, but step {k} ends at "
                             f"'{a[-1]}' and step {k + 1} starts at "
                             f"'{b[0]}'")
    if node_types is not None:
        for node_type in (steps[0][0], steps[-1][-1]):
            if node_type not in node_types:
                raise ValueError(f"'{who}' found node type '{node_type}' at "
                                 f"an end of meta-path {metapath!r}, which "
                                 f"is not one of the node types "
                                 f"{list(node_types)}")
    return steps


def metapath_edge_type(metapath: MetaPathLike) -> EdgeType:
    r"""The edge type under which a meta-path's adjacency is stored:
    :obj:`(T_0, rel, T_L)` with :obj:`rel` the meta-path's parts joined by
    :obj:`"_"` (consecutive repeats of a node type written once), e.g.
    :obj:`('movie', 'movie_director_movie', 'movie')` for
    :obj:`[('movie', 'director'), ('director', 'movie')]`. A single edge
    type given as a triple is returned unchanged."""
    steps = check_metapath('metapath_edge_type', metapath)
    if is_edge_type(metapath) and len(metapath) == 3:
        return tuple(metapath)
    parts: List[str] = []
    for step in steps:
        for part in step:
            if not parts or part != parts[-1]:
                parts.append(part)
    return (steps[0][0], '_'.join(parts), steps[-1][-1])


def resolve_edge_type(who: str, edge_type: EdgeTypeLike,
                      edge_types: Sequence[EdgeType]) -> EdgeType:
    r"""Returns the edge type of :obj:`edge_types` that :obj:`edge_type`
    names: itself if it is a triple in the list, else the one triple whose
    source and destination types are the pair's.

    Raises:
        ValueError: if it names none, or a pair names several.
    """
    edge_type = tuple(edge_type)
    if len(edge_type) == 3:
        if edge_type in edge_types:
            return edge_type
        raise ValueError(f"'{who}' found no edge type {edge_type} in the "
                         f"graph (it has {sorted(edge_types)})")
    matches = [t for t in edge_types if (t[0], t[-1]) == edge_type]
    if len(matches) != 1:
        what = 'no' if not matches else 'more than one'
        raise ValueError(f"'{who}' found {what} edge type from "
                         f"'{edge_type[0]}' to '{edge_type[1]}' in the graph "
                         f"(it has {sorted(edge_types)}); name it as a "
                         f"triple (src, rel, dst)")
    return matches[0]


def _check_step(who: str, edge_index: Tensor, sizes: Tuple[int, int],
                step) -> None:
    if not isinstance(edge_index, Tensor) or edge_index.is_floating_point() \
            or edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"'{who}' expects the edge_index of {step} to be an "
                         f"integer tensor of shape (2, E)")
    if edge_index.numel() > 0:
        for row, size, role in ((0, sizes[0], 'source'),
                                (1, sizes[1], 'destination')):
            lo, hi = int(edge_index[row].min()), int(edge_index[row].max())
            if lo < 0 or hi >= size:
                raise ValueError(f"'{who}' found {role} index "
                                 f"{lo if lo < 0 else hi} in the edge_index "
                                 f"of {step}, out of range for {size} nodes")


def metapath_edge_index(edge_indices: Sequence[Tensor],
                        num_nodes: Sequence[Optional[int]],
                        who: str = 'metapath_edge_index',
                        steps: Optional[Sequence] = None) -> Tensor:
    r"""The adjacency of a meta-path: the product of the sparse adjacencies
    of its steps, each nonzero set to one (duplicate paths dropped).

    Args:
        edge_indices (list of torch.Tensor): The :obj:`edge_index` of each
            step, shape :math:`(2, |\mathcal{E}_k|)`, from type :math:`T_k`
            (row 0) to :math:`T_{k+1}` (row 1).
        num_nodes (list of int): The number of nodes of
            :math:`T_0, \dots, T_L` (:math:`L + 1` entries); :obj:`None` for
            an intermediate type takes the largest index used plus one.
        who (str, optional): The name that error messages start with.
        steps (list, optional): Names of the steps for error messages.

    Returns:
        :obj:`edge_index` of shape :math:`(2, |\mathcal{E}_\Phi|)` from
        :math:`T_0` to :math:`T_L`, without duplicates, sorted by source then
        destination.
    """
    if len(num_nodes) != len(edge_indices) + 1 or not edge_indices:
        raise ValueError(f"'{who}' expects one more number of nodes than "
                         f"steps (got {len(edge_indices)} steps and "
                         f"{len(num_nodes)} numbers)")
    steps = list(steps) if steps is not None else [
        f'step {k}' for k in range(len(edge_indices))]
    sizes = list(num_nodes)
    for k in (0, len(sizes) - 1):
        if sizes[k] is None:
            raise ValueError(f"'{who}' needs the number of nodes of the "
                             f"meta-path's end types")
    for k in range(1, len(sizes) - 1):
        if sizes[k] is None:
            used = [int(edge_indices[k - 1][1].max()) + 1
                    if edge_indices[k - 1].numel() else 0,
                    int(edge_indices[k][0].max()) + 1
                    if edge_indices[k].numel() else 0]
            sizes[k] = max(used)
    device = edge_indices[0].device
    out = None
    for k, edge_index in enumerate(edge_indices):
        _check_step(who, edge_index, (sizes[k], sizes[k + 1]), steps[k])
        adj = _binary_coo(edge_index.long().to(device),
                          (sizes[k], sizes[k + 1]))
        if out is None:
            out = adj
            continue
        with warnings.catch_warnings():  # "Sparse CSR support is in beta"
            warnings.simplefilter('ignore')
            product = torch.sparse.mm(out, adj).coalesce()
        out = _binary_coo(product.indices(), (sizes[0], sizes[k + 1]))
    return out.indices()


def _binary_coo(edge_index: Tensor, size: Tuple[int, int]) -> Tensor:
    # The 0/1 adjacency of `edge_index` as a coalesced COO tensor.
    ones = torch.ones(edge_index.size(1), device=edge_index.device)
    adj = torch.sparse_coo_tensor(edge_index, ones, size,
                                  check_invariants=False).coalesce()
    return torch.sparse_coo_tensor(adj.indices(),
                                   torch.ones_like(adj.values()), size,
                                   is_coalesced=True, check_invariants=False)


def metapath_graph(who: str, metapath: MetaPathLike,
                   edge_index_dict: Dict[EdgeType, Tensor],
                   num_nodes_dict: Dict[str, int]) -> Tensor:
    r"""Resolves :obj:`metapath` against :obj:`edge_index_dict` and returns
    its adjacency (see :func:`metapath_edge_index`)."""
    steps = check_metapath(who, metapath)
    edge_types = [resolve_edge_type(who, step, list(edge_index_dict))
                  for step in steps]
    sizes = [num_nodes_dict.get(steps[0][0])] + [
        num_nodes_dict.get(step[-1]) for step in steps]
    return metapath_edge_index([edge_index_dict[t] for t in edge_types],
                               sizes, who=who, steps=edge_types)
