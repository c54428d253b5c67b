import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader

from tgr.schedule import build_schedule, topological_levels
from tgr.testing import random_forest
from tgr.transforms import AddLevels
from tgr.transforms.add_levels import union_levels


def test_add_levels():
    edge_index = torch.tensor([[1, 2, 3], [0, 0, 1]])
    data = AddLevels()(Data(edge_index=edge_index, num_nodes=5))
    assert data.level.tolist() == [2, 1, 0, 0, 0]
    data = AddLevels(flow='target_to_source', attr='down')(
        Data(edge_index=edge_index, num_nodes=5))
    assert data.down.tolist() == [0, 1, 1, 2, 0]
    assert str(AddLevels()) == "AddLevels(flow='source_to_target')"


def test_levels_survive_batching():
    data_list = [AddLevels()(Data(edge_index=random_forest(n, seed=n),
                                  num_nodes=n)) for n in (5, 9, 1, 14)]
    for batch in DataLoader(data_list, batch_size=4):
        # Levels are not shifted, and they are valid for the batch:
        expected = torch.cat([d.level for d in data_list])
        assert torch.equal(batch.level, expected)
        assert torch.equal(
            batch.level, topological_levels(batch.edge_index,
                                            batch.num_nodes))
        build_schedule(batch.edge_index, batch.num_nodes, level=batch.level)


def test_errors():
    with pytest.raises(ValueError, match="'AddLevels' expects 'flow'"):
        AddLevels(flow='up')
    with pytest.raises(ValueError, match="without 'index'"):
        AddLevels(attr='level_index')
    with pytest.raises(ValueError, match="'AddLevels' expects an acyclic"):
        AddLevels()(Data(edge_index=torch.tensor([[0, 1], [1, 0]]),
                         num_nodes=2))


@pytest.mark.parametrize('flow', ['source_to_target', 'target_to_source'])
def test_union_levels_equal_per_graph_levels(flow):
    sizes = [5, 1, 9, 14, 2]
    graphs = [random_forest(n, seed=n) for n in sizes]
    level = union_levels(torch.cat(graphs, dim=1), sizes,
                         [g.size(1) for g in graphs], flow=flow)
    expected = torch.cat([
        AddLevels(flow=flow)(Data(edge_index=g, num_nodes=n)).level
        for g, n in zip(graphs, sizes)])
    assert torch.equal(level, expected)
    assert union_levels(torch.zeros(2, 0, dtype=torch.long), [],
                        []).numel() == 0
    with pytest.raises(ValueError, match='one number of nodes and one'):
        union_levels(graphs[0], [5], [4, 0])
    with pytest.raises(ValueError, match="hold 3 edges"):
        union_levels(graphs[0], [5], [3])


def test_missing_edge_attribute():
    with pytest.raises(ValueError, match=r"'AddLevels' expects data with an "
                       r"'edge_index' attribute"):
        AddLevels()(Data(x=torch.zeros(3, 1)))
    with pytest.raises(ValueError, match="'deps' attribute"):
        AddLevels(edge_attr='deps')(Data(edge_index=torch.zeros(2, 0),
                                         num_nodes=2))
