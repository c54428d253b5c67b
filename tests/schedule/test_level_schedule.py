import pytest
import torch

from tgr.schedule import (LevelSchedule, build_schedule, layer_schedule,
                          topological_levels)
from tgr.testing import chain, random_forest


def test_schedule_structure():
    edge_index = random_forest(50, num_trees=4, seed=1)
    sched = build_schedule(edge_index, 50)
    assert isinstance(sched, LevelSchedule)
    assert str(sched) == (f'LevelSchedule(num_nodes=50, num_edges=46, '
                          f'num_levels={sched.num_levels})')
    level = topological_levels(edge_index, 50)
    assert torch.equal(sched.level, level)
    assert sched.num_levels == int(level.max()) + 1
    assert torch.equal(sched.perm[sched.rank], torch.arange(50))
    for lvl in range(sched.num_levels):
        a, b = sched.node_ptr[lvl], sched.node_ptr[lvl + 1]
        assert bool((level[sched.perm[a:b]] == lvl).all())
        ea, eb = sched.edge_ptr[lvl], sched.edge_ptr[lvl + 1]
        assert bool((sched.dst[ea:eb] >= a).all())
        assert bool((sched.dst[ea:eb] < b).all())
        assert bool((sched.src[ea:eb] < a).all())  # sources come earlier
        assert torch.equal(sched.dst_local[ea:eb], sched.dst[ea:eb] - a)
    # Sorted edges map back to the original ones:
    orig = edge_index[:, sched.edge_perm]
    assert torch.equal(sched.perm[sched.src], orig[0])
    assert torch.equal(sched.perm[sched.dst], orig[1])


def test_schedule_from_given_levels():
    edge_index = chain(4)
    # Any levels that climb along every edge are exact; gaps are allowed.
    sched = build_schedule(edge_index, 4, level=torch.tensor([0, 2, 5, 6]))
    assert sched.num_levels == 7
    with pytest.raises(ValueError, match=r'edge 1 -> 2 goes from level 3 to '
                       r'level 1'):
        build_schedule(edge_index, 4, level=torch.tensor([0, 3, 1, 4]))
    with pytest.raises(ValueError, match=r"'level' of shape \(4,\)"):
        build_schedule(edge_index, 4, level=torch.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="'level' to be an integer"):
        build_schedule(edge_index, 4, level=torch.tensor([0., 1, 2, 3]))


def test_layer_schedule_checks():
    x, ei = torch.randn(3, 2), chain(3)
    sched = layer_schedule('L', x, ei)
    assert layer_schedule('L', x, ei, schedule=sched) is sched
    with pytest.raises(ValueError, match='schedule for 3 nodes'):
        layer_schedule('L', torch.randn(4, 2), chain(4), schedule=sched)
    with pytest.raises(TypeError, match="'L' expects 'schedule'"):
        layer_schedule('L', x, ei, schedule='nope')
    with pytest.raises(ValueError, match="'flow'"):
        layer_schedule('L', x, ei, flow='sideways')
    # The features of x are the layer's to check (tgr.nn._checks); the
    # schedule takes only the number of nodes and the device from it:
    with pytest.raises(TypeError, match=r"'L' expects 'x' to be a "
                       r"torch.Tensor of shape \(num_nodes, ...\)"):
        layer_schedule('L', torch.tensor(1.), ei)
    moved = sched.to('meta')
    assert moved.device.type == 'meta' and moved.node_ptr == sched.node_ptr
    with pytest.raises(ValueError, match=r"schedule on meta .* "
                       r"'schedule.to\(x.device\)'"):
        layer_schedule('L', x, ei, schedule=moved)
    rev = layer_schedule('L', x, ei, flow='target_to_source')
    assert rev.level.tolist() == [2, 1, 0]


def test_runs_of_one_to_one_levels():
    assert build_schedule(chain(6), 6).runs() == [(1, 5)]
    # Two chains side by side: one run of width 2.
    two = torch.cat([chain(5), chain(5) + 5], dim=1)
    sched = build_schedule(two, 10)
    assert sched.runs() == [(1, 4)]
    assert sched.node_ptr == [0, 2, 4, 6, 8, 10]
    # A second parent ends the run; a star has none.
    skip = torch.tensor([[0, 1, 2, 3, 0], [1, 2, 3, 4, 4]])
    assert build_schedule(skip, 5).runs() == [(1, 3)]
    star = torch.tensor([[1, 2, 3], [0, 0, 0]])
    assert build_schedule(star, 4).runs() == []
    # Leaves, then a node with three children, then a chain of two.
    ei = torch.tensor([[1, 2, 3, 0, 4], [0, 0, 0, 4, 5]])
    assert build_schedule(ei, 6).runs() == [(2, 3)]
    # Node r of a level must read node r of the level before, in order:
    crossed = torch.tensor([[0, 1], [3, 2]])  # 0 -> 3, 1 -> 2
    assert build_schedule(crossed, 4).runs() == []
    assert build_schedule(torch.empty(2, 0, dtype=torch.long), 3).runs() == []
