from contextlib import contextmanager

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tgr.schedule.levels
from tgr.schedule import check_edge_index, topological_levels
from tgr.testing import chain, longest_path_levels, random_dag


@contextmanager
def peeling(path):
    # 'lists': CPU graphs below the threshold take the Python-list path;
    # 'tensors': every graph takes the tensor peeling used on GPUs and for
    # large graphs.
    old = tgr.schedule.levels.SMALL_GRAPH
    tgr.schedule.levels.SMALL_GRAPH = old if path == 'lists' else -1
    try:
        yield
    finally:
        tgr.schedule.levels.SMALL_GRAPH = old


PATHS = ['lists', 'tensors']


@st.composite
def forests(draw):
    num_nodes = draw(st.integers(0, 40))
    parents = []
    for i in range(num_nodes):
        # -1 makes a root; otherwise any earlier node is the parent.
        parents.append(draw(st.integers(-1, i - 1)) if i > 0 else -1)
    perm = draw(st.permutations(list(range(num_nodes))))
    src = [perm[i] for i, p in enumerate(parents) if p >= 0]
    dst = [perm[p] for p in parents if p >= 0]
    return torch.tensor([src, dst], dtype=torch.long).view(2, -1), num_nodes


@pytest.mark.parametrize('path', PATHS)
@settings(max_examples=60, deadline=None)
@given(forest=forests())
def test_levels_on_random_forests(path, forest):
    edge_index, num_nodes = forest
    with peeling(path):
        level = topological_levels(edge_index, num_nodes)
    assert level.shape == (num_nodes, )
    if edge_index.numel() > 0:
        assert bool((level[edge_index[0]] < level[edge_index[1]]).all())
    assert torch.equal(level, longest_path_levels(edge_index, num_nodes))


@pytest.mark.parametrize('path', PATHS)
@settings(max_examples=40, deadline=None)
@given(num_nodes=st.integers(1, 30), num_edges=st.integers(0, 80),
       seed=st.integers(0, 10**6))
def test_levels_on_random_dags(path, num_nodes, num_edges, seed):
    num_edges = min(num_edges, num_nodes * (num_nodes - 1) // 2)
    edge_index = random_dag(num_nodes, num_edges, seed)
    with peeling(path):
        level = topological_levels(edge_index, num_nodes)
    assert torch.equal(level, longest_path_levels(edge_index, num_nodes))


@pytest.mark.parametrize('path', PATHS)
def test_levels_of_known_graphs(path):
    with peeling(path):
        _known_graphs()


def _known_graphs():
    assert topological_levels(chain(5), 5).tolist() == [0, 1, 2, 3, 4]
    star = torch.tensor([[1, 2, 3, 4], [0, 0, 0, 0]])
    assert topological_levels(star, 5).tolist() == [1, 0, 0, 0, 0]
    # Longest path, not shortest: 0 -> 3 directly and 0 -> 1 -> 2 -> 3.
    ei = torch.tensor([[0, 0, 1, 2], [3, 1, 2, 3]])
    assert topological_levels(ei, 4).tolist() == [0, 1, 2, 3]
    assert topological_levels(torch.empty(2, 0, dtype=torch.long),
                              3).tolist() == [0, 0, 0]
    assert topological_levels(torch.empty(2, 0, dtype=torch.long),
                              0).numel() == 0
    # Duplicate edges are fine.
    ei = torch.tensor([[0, 0], [1, 1]])
    assert topological_levels(ei, 2).tolist() == [0, 1]


@pytest.mark.parametrize('path', PATHS)
def test_cycle_errors(path):
    with peeling(path):
        _cycle_errors()


def _cycle_errors():
    ei = torch.tensor([[0, 1, 2, 2], [1, 2, 0, 3]])  # 0->1->2->0, 3 behind
    with pytest.raises(ValueError, match=r'4 node\(s\) lie on or behind '
                       r'cycles \(node [012] is on a cycle\)'):
        topological_levels(ei, 5)
    with pytest.raises(ValueError, match='node 2 has a self loop'):
        topological_levels(torch.tensor([[0, 2], [1, 2]]), 3)
    with pytest.raises(ValueError, match='MyLayer'):
        topological_levels(torch.tensor([[0, 1], [1, 0]]), 2, who='MyLayer')


def test_edge_index_errors():
    with pytest.raises(ValueError, match=r'node index 5 .* out of range for '
                       r'3 nodes'):
        check_edge_index(torch.tensor([[0, 5], [1, 2]]), 3, 'L')
    with pytest.raises(ValueError, match='node index -1'):
        check_edge_index(torch.tensor([[0, -1], [1, 2]]), 3, 'L')
    with pytest.raises(ValueError, match=r'shape \(2, E\)'):
        check_edge_index(torch.tensor([[0, 1, 2]]), 3, 'L')
    with pytest.raises(TypeError, match='integers'):
        check_edge_index(torch.tensor([[0., 1.], [1., 2.]]), 3, 'L')
    with pytest.raises(TypeError, match='torch.Tensor'):
        check_edge_index([[0, 1], [1, 2]], 3, 'L')
