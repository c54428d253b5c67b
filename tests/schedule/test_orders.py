import pytest
import torch

from tgr.schedule import (first_children, parent_sibling_dependencies,
                          sibling_order)


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
