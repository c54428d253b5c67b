r"""Random graphs and reference levels for tests and benchmarks (as
:mod:`torch_geometric.testing` does for PyG)."""
import random

import torch

__all__ = ['random_forest', 'random_dag', 'chain', 'longest_path_levels',
           'STICK_BONES', 'STICK_CENTER', 'both_ways', 'stick_figure',
           'random_skeleton', 'bfs_hops', 'dense_subsets', 'dense_conv']


def random_forest(num_nodes: int, num_trees: int = 1, seed: int = 0,
                  max_children: int = None) -> torch.Tensor:
    r"""Child -> parent edges of a random forest with :obj:`num_trees` roots
    (node labels shuffled). With :obj:`max_children`, no node gets more."""
    rng = random.Random(seed)
    labels = list(range(num_nodes))
    rng.shuffle(labels)
    num_children = [0] * num_nodes
    src, dst = [], []
    for i in range(num_trees, num_nodes):
        while True:
            parent = rng.randrange(i)
            if max_children is None or num_children[parent] < max_children:
                break
        num_children[parent] += 1
        src.append(labels[i])
        dst.append(labels[parent])
    return torch.tensor([src, dst], dtype=torch.long).view(2, -1)


def random_dag(num_nodes: int, num_edges: int, seed: int = 0) -> torch.Tensor:
    r"""Edges of a random DAG (u -> v only if u precedes v in a hidden random
    order), without duplicates."""
    rng = random.Random(seed)
    order = list(range(num_nodes))
    rng.shuffle(order)
    edges = set()
    while len(edges) < num_edges:
        a, b = rng.randrange(num_nodes), rng.randrange(num_nodes)
        if a != b:
            a, b = min(a, b), max(a, b)
            edges.add((order[a], order[b]))
    edges = sorted(edges, key=lambda _: rng.random())
    return torch.tensor(edges, dtype=torch.long).view(-1, 2).t().contiguous()


def chain(num_nodes: int) -> torch.Tensor:
    r"""Edges t -> t + 1 of a chain."""
    idx = torch.arange(num_nodes - 1)
    return torch.stack([idx, idx + 1])


def longest_path_levels(edge_index: torch.Tensor,
                        num_nodes: int) -> torch.Tensor:
    r"""The topological levels of a DAG by the definition alone (the length
    of the longest path into every node), relaxing edges until nothing
    changes: an independent reference for
    :func:`tgr.schedule.topological_levels`, :math:`O(|V| |E|)`."""
    level = [0] * num_nodes
    edges = edge_index.t().tolist()
    changed = True
    while changed:
        changed = False
        for u, v in edges:
            if level[v] < level[u] + 1:
                level[v] = level[u] + 1
                changed = True
    return torch.tensor(level, dtype=torch.long)


# Skeletons ###################################################################
#: A 7-joint stick figure: 0 pelvis, 1 chest (the centre), 2 head, 3 left
#: hand, 4 right hand, 5 left foot, 6 right foot.
STICK_BONES = [(0, 1), (1, 2), (1, 3), (1, 4), (0, 5), (0, 6)]
STICK_CENTER = 1


def both_ways(bones) -> torch.Tensor:
    r"""The bones :obj:`[(u, v), ...]` as edges in both directions."""
    bones = torch.tensor(bones, dtype=torch.long).t()
    return torch.cat([bones, bones.flip(0)], dim=1)


def stick_figure(x=None, T: int = 5, C: int = 3, seed: int = 0):
    r"""The stick figure as a :class:`~torch_geometric.data.Data` with random
    :obj:`x` of shape :math:`(7, T, C)` (float64), both-way bones and a
    :obj:`center` mask."""
    from torch_geometric.data import Data
    gen = torch.Generator().manual_seed(seed)
    if x is None:
        x = torch.randn(7, T, C, generator=gen, dtype=torch.double)
    center = torch.zeros(7, dtype=torch.bool)
    center[STICK_CENTER] = True
    return Data(x=x, edge_index=both_ways(STICK_BONES), center=center)


def random_skeleton(n: int, T: int = 5, C: int = 3, seed: int = 0):
    r"""A random tree of :obj:`n` joints with both-way bones, random
    :obj:`x` of shape :math:`(n, T, C)` (float64) and a random centre."""
    from torch_geometric.data import Data
    edge_index = random_forest(n, seed=seed)
    edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    gen = torch.Generator().manual_seed(seed)
    center = torch.zeros(n, dtype=torch.bool)
    center[int(torch.randint(n, (1, ), generator=gen))] = True
    x = torch.randn(n, T, C, generator=gen, dtype=torch.double)
    return Data(x=x, edge_index=edge_index, center=center)


def bfs_hops(edge_index: torch.Tensor, center: torch.Tensor, n: int):
    r"""Hop distances to the nearest centre by a plain breadth-first search
    over Python lists (-1 where no centre reaches): a reference for
    :func:`tgr.utils.skeleton.hop_distance`."""
    from collections import deque
    nbrs = [[] for _ in range(n)]
    for u, v in edge_index.t().tolist():
        nbrs[u].append(v)
        nbrs[v].append(u)
    dist = [-1] * n
    queue = deque()
    for c in center.nonzero().view(-1).tolist():
        dist[c] = 0
        queue.append(c)
    while queue:
        u = queue.popleft()
        for v in nbrs[u]:
            if dist[v] < 0:
                dist[v] = dist[u] + 1
                queue.append(v)
    return dist


def dense_subsets(edge_index: torch.Tensor, center: torch.Tensor, n: int,
                  dtype=torch.double) -> torch.Tensor:
    r"""The dense :math:`(3, n, n)` matrices :math:`A_{\text{root}},
    A_{\text{centripetal}}, A_{\text{centrifugal}}` of ST-GCN's spatial
    partitioning, each row :math:`i` normalised by the size of :math:`i`'s
    whole neighbourhood (itself and its bone neighbours): a reference for
    :class:`tgr.nn.SpatialGraphConv`."""
    dist = bfs_hops(edge_index, center, n)
    nbrs = [[] for _ in range(n)]
    for j, i in edge_index.t().tolist():  # message j -> i
        nbrs[i].append(j)
    A = torch.zeros(3, n, n, dtype=dtype)
    for i in range(n):
        deg = 1 + len(nbrs[i])
        A[0, i, i] += 1 / deg
        for j in nbrs[i]:
            k = 0 if dist[j] == dist[i] else (1 if dist[j] < dist[i] else 2)
            A[k, i, j] += 1 / deg
    return A


def dense_conv(A: torch.Tensor, x: torch.Tensor, lin) -> torch.Tensor:
    r""":math:`\sum_k A_k X W_k^{\top} + b` over the node dimension 0 of
    :obj:`x` :math:`(N, *, C)`, with :math:`W_k` the :math:`k`-th block of
    columns of :obj:`lin.weight`."""
    C = x.size(-1)
    out = 0
    for k in range(3):
        W_k = lin.weight[:, k * C:(k + 1) * C]
        out = out + torch.einsum('ij,j...c,oc->i...o', A[k], x, W_k)
    return out + (lin.bias if lin.bias is not None else 0)
