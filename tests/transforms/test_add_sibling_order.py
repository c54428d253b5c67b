import torch
from torch_geometric.data import Batch, Data

from tgr.schedule import (parent_sibling_dependencies, sibling_order,
                          topological_levels)
from tgr.transforms import AddSiblingOrder


def test_add_sibling_order():
    # 0 -> {1, 2, 3}, 1 -> {4}; by time the children of 0 are 2, 3, 1.
    edge_index = torch.tensor([[0, 0, 0, 1], [1, 2, 3, 4]])
    time = torch.tensor([0., 5, 3, 4, 6])
    data = AddSiblingOrder()(Data(edge_index=edge_index, time=time,
                                  num_nodes=5))
    assert data.sibling_index.tolist() == [[2, 3], [3, 1]]
    # Forward: parent and previous sibling first.
    assert data.level.tolist() == [0, 3, 1, 2, 4]
    # Backward: first child (2 for node 0, 4 for node 1) and next sibling.
    # Dependencies 4 -> 1 -> 3 -> 2 -> 0.
    assert data.rev_level.tolist() == [4, 1, 3, 2, 0]
    data = AddSiblingOrder(time_attr=None)(Data(edge_index=edge_index,
                                                time=time, num_nodes=5))
    assert data.sibling_index.tolist() == [[1, 2], [2, 3]]
    assert str(AddSiblingOrder()) == "AddSiblingOrder(time_attr='time')"


def test_batch_keeps_everything_valid():
    t = AddSiblingOrder()
    graphs = [t(Data(edge_index=torch.tensor([[0, 0, 1], [1, 2, 3]]),
                     time=torch.tensor([0., 2, 1, 3]), num_nodes=4))
              for _ in range(3)]
    batch = Batch.from_data_list(graphs)
    n = batch.num_nodes
    assert torch.equal(batch.sibling_index,
                       sibling_order(batch.edge_index, n, batch.time))
    for attr, reverse in (('level', False), ('rev_level', True)):
        dep, _ = parent_sibling_dependencies(batch.edge_index,
                                             batch.sibling_index, n, reverse)
        assert torch.equal(batch[attr], topological_levels(dep, n))
