import pytest
import torch
from torch_geometric.data import Batch

from tgr.utils.skeleton import hop_distance, skeleton_partition
from tgr.testing import STICK_BONES, bfs_hops, both_ways, random_skeleton
from tgr.testing import stick_figure as stick


@pytest.mark.parametrize('seed', range(4))
def test_hop_distance_and_partition_match_bfs(seed):
    data_list = [stick(), random_skeleton(15, seed=seed),
                 random_skeleton(6, seed=seed + 10)]
    batch = Batch.from_data_list(data_list)
    n = batch.num_nodes
    dist = hop_distance(batch.edge_index, batch.center)
    assert dist.tolist() == bfs_hops(batch.edge_index, batch.center, n)
    # Centre given as indices instead of a mask:
    idx = batch.center.nonzero().view(-1)
    assert torch.equal(hop_distance(batch.edge_index, idx, n), dist)
    part = skeleton_partition(batch.edge_index, batch.center)
    for (j, i), k in zip(batch.edge_index.t().tolist(), part.tolist()):
        want = 0 if dist[j] == dist[i] else (1 if dist[j] < dist[i] else 2)
        assert k == want
    # In a tree every bone joins two distances: no root edges.
    assert int((part == 0).sum()) == 0
    assert int((part == 1).sum()) == int((part == 2).sum())


def test_partition_of_stick_figure():
    data = stick()
    part = skeleton_partition(data.edge_index, data.center)
    # Bone (pelvis 0, chest 1): 0 -> 1 comes from farther (centrifugal for
    # the chest), 1 -> 0 from nearer (centripetal for the pelvis).
    lookup = {tuple(e): k for e, k in zip(data.edge_index.t().tolist(),
                                          part.tolist())}
    assert lookup[(0, 1)] == 2 and lookup[(1, 0)] == 1
    assert lookup[(5, 0)] == 2 and lookup[(0, 5)] == 1
    assert lookup[(2, 1)] == 2 and lookup[(1, 2)] == 1


def test_two_bodies_in_one_sample_and_equal_hops():
    # Two stick figures in one sample, one centre each; a cycle gives a bone
    # between two joints at the same distance (root subset, as ST-GCN).
    ei = torch.cat([both_ways(STICK_BONES), both_ways(STICK_BONES) + 7,
                    both_ways([(3, 4)])], dim=1)
    center = torch.zeros(14, dtype=torch.bool)
    center[[1, 8]] = True
    part = skeleton_partition(ei, center)
    assert part[-2:].tolist() == [0, 0]
    assert torch.equal(part[:12], part[12:24])


def test_partition_errors():
    ei = both_ways(STICK_BONES)
    with pytest.raises(ValueError, match="'skeleton_partition' found joint "
                       r"\d, which no centre joint reaches"):
        skeleton_partition(torch.cat([ei, both_ways([(7, 8)])], 1),
                           torch.tensor([1]), num_nodes=9)
    with pytest.raises(ValueError, match="'skeleton_partition' expects "
                       "'edge_index' without self-loops"):
        skeleton_partition(torch.cat([ei, torch.tensor([[3], [3]])], 1),
                           torch.tensor([1]))
    with pytest.raises(ValueError, match=r"'hop_distance' expects a mask "
                       r"'center' of shape \(9,\)"):
        hop_distance(ei, torch.zeros(7, dtype=torch.bool), num_nodes=9)
    with pytest.raises(ValueError, match="centre index out of range"):
        hop_distance(ei, torch.tensor([7]), num_nodes=7)
    with pytest.raises(TypeError, match="bool mask or an integer tensor"):
        hop_distance(ei, torch.tensor([1.]))


# Part graphs ################################################################
def dense_part_graph(edge_index, part, num_parts):
    # [C A C^T > 0] without the diagonal, from dense matrices.
    n = part.numel()
    A = torch.zeros(n, n)
    A[edge_index[0], edge_index[1]] = 1
    C = torch.zeros(num_parts, n)
    C[part, torch.arange(n)] = 1
    M = (C @ A @ C.t() > 0) & ~torch.eye(num_parts, dtype=torch.bool)
    return M


@pytest.mark.parametrize('seed', range(4))
def test_part_graph_matches_dense_contraction(seed):
    from tgr.utils.skeleton import part_graph
    gen = torch.Generator().manual_seed(seed)
    data = random_skeleton(17, seed=seed)
    num_parts = 6
    part = torch.randint(num_parts, (17, ), generator=gen)
    # One direction only is enough: the result is both ways.
    bones = data.edge_index[:, :data.edge_index.size(1) // 2]
    for ei in (data.edge_index, bones):
        out = part_graph(ei, part, num_parts)
        dense = dense_part_graph(data.edge_index, part, num_parts)
        got = torch.zeros(num_parts, num_parts, dtype=torch.bool)
        got[out[0], out[1]] = True
        assert torch.equal(got, dense)
        assert out.size(1) == int(dense.sum())  # no duplicates
        keys = (out[0] * num_parts + out[1]).tolist()
        assert keys == sorted(keys)


def test_part_graph_of_the_layouts_is_the_limb_tree():
    from tgr.datasets.skeleton import MSR_LAYOUT, NTU_LAYOUT, PART_NAMES
    from tgr.utils.skeleton import part_graph
    for layout in (MSR_LAYOUT, NTU_LAYOUT):
        # Five parts: the torso joined to every limb, nothing else.
        ei = part_graph(layout.edge_index(), layout.part())
        assert sorted(map(tuple, ei.t().tolist())) == sorted(
            [(0, p) for p in range(1, 5)] + [(p, 0) for p in range(1, 5)])
        assert len(PART_NAMES) == 5
        # Ten parts: torso - head, torso - upper limb - lower limb.
        ei = part_graph(layout.edge_index(), layout.fine_part())
        pairs = {tuple(sorted(e)) for e in ei.t().tolist()}
        assert pairs == {(0, 1), (0, 2), (2, 3), (0, 4), (4, 5), (0, 6),
                         (6, 7), (0, 8), (8, 9)}
        # Two bodies: two copies, nothing between them.
        part = layout.fine_part(2) + layout.body(2) * 10
        two = part_graph(layout.edge_index(2), part, 20)
        assert torch.equal(two, torch.cat([ei, ei + 10], dim=1))


def test_part_graph_errors():
    from tgr.utils.skeleton import part_graph
    ei = both_ways(STICK_BONES)
    with pytest.raises(TypeError, match="'part_graph' expects 'part' to be"):
        part_graph(ei, torch.zeros(7))
    with pytest.raises(ValueError, match=r"'part' values in \[0, 1\]"):
        part_graph(ei, torch.arange(7), 2)
    with pytest.raises(ValueError, match='part_graph'):
        part_graph(ei, torch.zeros(5, dtype=torch.long))  # 7 nodes in ei
