r"""Random graphs for tests and benchmarks (as :mod:`torch_geometric.testing`
does for PyG)."""
import random

import torch

__all__ = ['random_forest', 'random_dag', 'chain']


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
