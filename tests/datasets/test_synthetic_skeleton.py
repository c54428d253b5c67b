import pytest
import torch
from torch_geometric.data import Batch

from tgr.datasets import SyntheticSkeletonActions
from tgr.datasets.skeleton import NTU_LAYOUT, bone_lengths


@pytest.fixture(scope='module')
def train():
    return SyntheticSkeletonActions(num_samples=120, num_classes=6,
                                    num_frames=24, seed=3)


def features(dataset):
    # Joint positions relative to the spine base, frames flattened.
    x = torch.stack([data.x - data.x[:1] for data in dataset]).flatten(1)
    y = torch.cat([data.y for data in dataset])
    return x, y


def test_fields(train):
    assert len(train) == 120 and train.num_classes == 6
    assert str(train) == ("SyntheticSkeletonActions(120, num_classes=6, "
                          "num_frames=24, split='train')")
    data = train[0]
    assert data.x.shape == (25, 24, 3) and data.x.dtype == torch.float32
    assert torch.equal(data.edge_index, NTU_LAYOUT.edge_index())
    assert torch.equal(data.part, NTU_LAYOUT.part())
    assert torch.equal(data.body, torch.zeros(25, dtype=torch.long))
    for key in ('y', 'length', 'num_bodies'):
        assert data[key].shape == (1,) and data[key].dtype == torch.long
    assert int(data.num_bodies) == 1
    # Balanced labels; true lengths from 0.75 to 1.5 times num_frames:
    assert torch.bincount(train.y).tolist() == [20] * 6
    assert train.y[:7].tolist() == [0, 1, 2, 3, 4, 5, 0]
    assert int(train.length.min()) >= 18 and int(train.length.max()) <= 36
    assert train.length.unique().numel() > 5
    assert torch.isfinite(train.x).all()


def test_deterministic_per_seed(train):
    again = SyntheticSkeletonActions(num_samples=120, num_classes=6,
                                     num_frames=24, seed=3)
    for a, b in zip(train, again):
        for key in ('x', 'y', 'length'):
            assert torch.equal(a[key], b[key])
    other = SyntheticSkeletonActions(num_samples=120, num_classes=6,
                                     num_frames=24, seed=4)
    assert not torch.equal(other[0].x, train[0].x)
    test = SyntheticSkeletonActions(num_samples=120, num_classes=6,
                                    num_frames=24, seed=3, split='test')
    assert not torch.equal(test[0].x, train[0].x)
    # Fewer samples: a prefix of the same draw.
    first = SyntheticSkeletonActions(num_samples=10, num_classes=6,
                                     num_frames=24, seed=3)
    for a, b in zip(first, train):
        assert torch.equal(a.x, b.x)


def test_bones_keep_their_length():
    dataset = SyntheticSkeletonActions(num_samples=12, num_classes=4,
                                       num_frames=40, noise=0.0, seed=1)
    for data in dataset:
        lengths = bone_lengths(data.x.double(), NTU_LAYOUT)
        assert lengths.shape == (24, 40)
        assert torch.allclose(lengths, lengths[:, :1].expand(-1, 40),
                              atol=1e-5)
        assert (lengths > 0.03).all() and (lengths < 0.45).all()
    noisy = SyntheticSkeletonActions(num_samples=12, num_classes=4,
                                     num_frames=40, noise=0.01, seed=1)
    for clean, data in zip(dataset, noisy):
        diff = data.x - clean.x
        assert 0.005 < float(diff.std()) < 0.015


def test_classes_move_different_joints(train):
    # Every class moves some joints relative to the spine base over time, and
    # classes differ; a nearest-centroid classifier trained on 'train'
    # classifies 'val' well above chance (1/6).
    x, y = features(train)
    val = SyntheticSkeletonActions(num_samples=60, num_classes=6,
                                   num_frames=24, seed=3, split='val')
    xv, yv = features(val)
    centroids = torch.stack([x[y == c].mean(0) for c in range(6)])
    accuracy = (torch.cdist(xv, centroids).argmin(1) == yv).float().mean()
    assert accuracy > 0.8
    for data in train[:6]:
        rel = data.x - data.x[:1]
        assert float(rel.std(dim=1).max()) > 0.05  # something moves


def test_periodic_motion():
    # With no noise, a class's driven joint angles are sines: the motion of
    # a sample is smooth (second differences small against the motion).
    data = SyntheticSkeletonActions(num_samples=1, num_classes=1,
                                    num_frames=64, noise=0.0, seed=0)[0]
    rel = (data.x - data.x[:1]).double()
    first = rel.diff(dim=1).abs().max()
    second = rel.diff(n=2, dim=1).abs().max()
    assert first > 0 and second < 0.5 * first


def test_batch(train):
    data_list = [train[i] for i in range(4)]
    batch = Batch.from_data_list(data_list)
    assert batch.x.shape == (100, 24, 3)
    offsets = torch.arange(4).repeat_interleave(48) * 25
    assert torch.equal(batch.edge_index,
                       torch.cat([d.edge_index for d in data_list], 1) +
                       offsets)
    assert torch.equal(batch.part, NTU_LAYOUT.part().repeat(4))
    assert batch.y.tolist() == [0, 1, 2, 3]


def test_transform():
    def shift(data):
        data.x = data.x + 1
        return data
    plain = SyntheticSkeletonActions(num_samples=3, seed=5)
    shifted = SyntheticSkeletonActions(num_samples=3, seed=5, transform=shift)
    assert torch.allclose(shifted[1].x, plain[1].x + 1)


@pytest.mark.parametrize('kwargs,match', [
    (dict(split='dev'), "expects 'split'"),
    (dict(num_samples=0), "'num_samples' >= 1"),
    (dict(num_classes=0), "'num_classes' >= 1"),
    (dict(num_frames=1), "'num_frames' >= 2"),
    (dict(noise=-1.0), "'noise' >= 0"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match="'SyntheticSkeletonActions' " +
                       '.*' + match):
        SyntheticSkeletonActions(**kwargs)


def test_survives_batch(train, survives_batch):
    survives_batch([train[i] for i in range(5)])
