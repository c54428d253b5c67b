import pytest
import torch
from torch_geometric.data import Batch, Data

from tgr.datasets.skeleton import NTU_LAYOUT
from tgr.schedule import skeleton_partition
from tgr.transforms import AddSkeletonPartition

# 0 pelvis, 1 chest (the centre), 2 head, 3 hand, bones both ways, and an
# extra link head - hand between two joints at the same hop distance.
BONES = torch.tensor([[0, 1, 1, 1, 2, 3, 2, 3], [1, 0, 2, 3, 1, 1, 3, 2]])


def test_labels_by_hand():
    # Hops to the chest: pelvis 1, chest 0, head 1, hand 1. A bone j -> i
    # is centripetal (1) if j is nearer the centre than i, centrifugal (2)
    # if farther, root (0) if as far.
    data = AddSkeletonPartition(center=1)(Data(edge_index=BONES,
                                               num_nodes=4))
    assert data.partition.tolist() == [2, 1, 1, 1, 2, 2, 0, 0]


def test_two_bodies_of_ntu_and_batch():
    J = NTU_LAYOUT.num_joints
    transform = AddSkeletonPartition(NTU_LAYOUT.center, num_joints=J)
    two = Data(edge_index=NTU_LAYOUT.edge_index(2), num_nodes=2 * J)
    one = Data(edge_index=NTU_LAYOUT.edge_index(1), num_nodes=J)
    two, one = transform(two), transform(one)
    center = torch.arange(2 * J) % J == NTU_LAYOUT.center
    assert torch.equal(two.partition,
                       skeleton_partition(two.edge_index, center))
    # Each body is labelled as if alone.
    e = one.edge_index.size(1)
    assert torch.equal(two.partition[:e], one.partition)
    assert torch.equal(two.partition[e:], one.partition)
    assert set(one.partition.tolist()) == {1, 2}  # no equal-hop bones
    batch = Batch.from_data_list([one, two, one])
    whole = torch.arange(batch.num_nodes) - batch.ptr[batch.batch]
    assert torch.equal(batch.partition, skeleton_partition(
        batch.edge_index, whole % J == NTU_LAYOUT.center))
    assert len(transform._cache) == 2  # one per distinct skeleton
    assert str(transform) == 'AddSkeletonPartition(center=20, num_joints=25)'


def test_errors():
    with pytest.raises(ValueError, match="'AddSkeletonPartition' expects "
                       "'center'"):
        AddSkeletonPartition(-1)
    with pytest.raises(ValueError, match="'num_joints' to be an integer"):
        AddSkeletonPartition(3, num_joints=3)
    with pytest.raises(ValueError, match="without 'index'"):
        AddSkeletonPartition(1, attr='part_index')
    with pytest.raises(ValueError, match="multiple of num_joints=3"):
        AddSkeletonPartition(1, num_joints=3)(Data(edge_index=BONES,
                                                   num_nodes=4))
    with pytest.raises(ValueError, match="centre joint 7 to exist"):
        AddSkeletonPartition(7)(Data(edge_index=BONES, num_nodes=4))
    # A body that the centre does not reach: the partition's own error.
    loose = torch.tensor([[0, 1, 2, 3], [1, 0, 3, 2]])  # 2 - 3 unreached
    with pytest.raises(ValueError, match="which no centre joint reaches"):
        AddSkeletonPartition(0)(Data(edge_index=loose, num_nodes=4))
