import pytest
import torch

from torch_geometric.utils import to_undirected

from tgr.schedule import (confidence_order, confidence_rank, first_children,
                          parent_sibling_dependencies, sibling_order,
                          topological_levels)


def test_sibling_order():
    edge_index = torch.tensor([[0, 0, 0, 1, 1, 5], [1, 2, 3, 4, 5, 6]])
    time = torch.tensor([0., 5, 3, 4, 1, 1, 0])
    assert sibling_order(edge_index, 7, time).tolist() == [[2, 3, 4],
                                                           [3, 1, 5]]
    assert sibling_order(edge_index, 7).tolist() == [[1, 2, 4], [2, 3, 5]]
    # Roots are not siblings of one another:
    assert sibling_order(torch.tensor([[0], [1]]), 4).numel() == 0


def test_sibling_order_errors():
    with pytest.raises(ValueError, match='node 1 has 2 parents'):
        sibling_order(torch.tensor([[0, 2], [1, 1]]), 3)
    with pytest.raises(ValueError, match=r"'time' of shape \(3,\)"):
        sibling_order(torch.tensor([[0], [1]]), 3, torch.zeros(2))


def test_parent_sibling_dependencies_both_directions():
    # 0 -> {1, 2, 3}, 1 -> {4}; siblings 1 -> 2 -> 3.
    edge_index = torch.tensor([[0, 0, 0, 1], [1, 2, 3, 4]])
    sib = sibling_order(edge_index, 5)
    assert sib.tolist() == [[1, 2], [2, 3]]
    assert first_children(edge_index, sib, 5).tolist() == [[0, 1], [1, 4]]
    dep, rel = parent_sibling_dependencies(edge_index, sib, 5)
    assert dep.tolist() == [[0, 0, 0, 1, 1, 2], [1, 2, 3, 4, 2, 3]]
    assert rel.tolist() == [0, 0, 0, 0, 1, 1]
    # Backward: first child -> parent, next -> previous sibling.
    dep, rel = parent_sibling_dependencies(edge_index, sib, 5, reverse=True)
    assert dep.tolist() == [[1, 4, 2, 3], [0, 1, 1, 2]]
    assert rel.tolist() == [0, 0, 1, 1]


# Confidence order (Graph LSTM) ##############################################
def _brute_force_order(edge_index, confidence):
    # Every undirected edge once, from the node earlier in the order
    # (highest confidence first, ties by index) to the later one.
    conf = confidence if confidence.dim() == 1 else confidence.max(1)[0]
    key = {i: (-float(conf[i]), i) for i in range(conf.numel())}
    edges = {(u, v) if key[u] < key[v] else (v, u)
             for u, v in edge_index.t().tolist() if u != v}
    return [list(e) for e in sorted(edges)]


@pytest.mark.parametrize('seed', range(4))
@pytest.mark.parametrize('labels', [False, True])
def test_confidence_order_against_brute_force(seed, labels):
    g = torch.Generator().manual_seed(seed)
    n = 30
    ei = to_undirected(torch.randint(n, (2, 50), generator=g), num_nodes=n)
    ei = torch.cat([ei, torch.tensor([[3, 3], [3, 3]])], dim=1)  # self loops
    conf = torch.randint(4, (n, 3) if labels else (n, ),
                         generator=g).float()  # many ties
    dep = confidence_order(ei, conf)
    assert dep.t().tolist() == _brute_force_order(ei, conf)
    # Coalesced (sorted) input, or the same edges in any order and repeated:
    coalesced = to_undirected(ei[:, ei[0] != ei[1]], num_nodes=n)
    assert torch.equal(confidence_order(coalesced, conf), dep)
    shuffled = ei[:, torch.randperm(ei.size(1), generator=g)]
    assert torch.equal(confidence_order(torch.cat([shuffled, ei], 1), conf),
                       dep)
    # Nodes on one level of the DAG are never adjacent:
    level = topological_levels(dep, n)
    assert bool((level[ei[0]] != level[ei[1]])[ei[0] != ei[1]].all())


def test_confidence_rank_ties_and_labels():
    assert confidence_rank(torch.tensor([0.5, 0.9, 0.5, 0.1])).tolist() == \
        [1, 0, 2, 3]
    conf = torch.tensor([[0.1, 0.8], [0.7, 0.2], [0.9, 0.0]])
    assert confidence_rank(conf).tolist() == [1, 2, 0]
    assert confidence_rank(torch.tensor([3, 1, 3])).tolist() == [0, 2, 1]


def test_confidence_order_on_a_batch_is_each_graph_alone():
    a = to_undirected(torch.tensor([[0, 1, 2], [1, 2, 0]]))
    b = to_undirected(torch.tensor([[0, 1], [1, 2]]))
    ca, cb = torch.tensor([0.2, 0.9, 0.5]), torch.tensor([0.1, 0.3, 0.2])
    dep = confidence_order(torch.cat([a, b + 3], dim=1), torch.cat([ca, cb]))
    alone = torch.cat([confidence_order(a, ca), confidence_order(b, cb) + 3],
                      dim=1)
    assert sorted(dep.t().tolist()) == sorted(alone.t().tolist())


def test_confidence_order_errors():
    ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    with pytest.raises(ValueError, match="expects an undirected 'edge_index'"
                       ".*edge 1 -> 2 has no reverse 2 -> 1.*to_undirected"):
        confidence_order(ei[:, :3], torch.rand(3))
    with pytest.raises(ValueError, match="finite 'confidence' \\(node 1"):
        confidence_order(ei, torch.tensor([0., float('-inf'), 1.]))
    with pytest.raises(ValueError, match="out of range for 3 nodes"):
        confidence_order(torch.tensor([[0, 3], [3, 0]]), torch.rand(3))
    with pytest.raises(ValueError, match=r"'confidence' of shape "
                       r"\(num_nodes,\) or \(num_nodes, num_labels\)"):
        confidence_order(ei, torch.rand(3, 0))
    with pytest.raises(TypeError, match="real-valued"):
        confidence_order(ei, [0.1, 0.2, 0.3])
    assert confidence_order(torch.empty(2, 0, dtype=torch.long),
                            torch.rand(4)).shape == (2, 0)
