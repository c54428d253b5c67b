import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

import tgr.datasets.msr_action3d as msr_module
from tgr.datasets import MSRAction3D
from tgr.datasets.msr_action3d import (fill_missing_frames,
                                       msr_action3d_file_names)
from tgr.datasets.skeleton import MSR_LAYOUT, bone_lengths, resample
from tgr.io.msr_skeleton import read_msr_skeleton

RAW = (Path(__file__).resolve().parents[2] / '..' / 'shared' / 'data' /
       'msr_action3d' / 'real_world_coordinates').resolve()

# Sequences with runs of all-zero frames (the tracker lost the body):
WITH_ZERO_FRAMES = {
    'a13_s02_e02', 'a13_s02_e03', 'a13_s06_e01', 'a13_s06_e02', 'a13_s06_e03',
    'a13_s08_e02', 'a13_s10_e02', 'a20_s02_e01', 'a20_s02_e02', 'a20_s02_e03',
    'a20_s06_e01', 'a20_s08_e02', 'a20_s08_e03',
}


def joint(name):
    return MSR_LAYOUT.index(name)


@pytest.fixture(scope='module')
def root(linked_root):
    return linked_root('MSR Action3D', RAW)


@pytest.fixture(scope='module')
def msr(root):
    return {split: MSRAction3D(str(root), split, log=False)
            for split in MSRAction3D.splits}


@pytest.fixture(scope='module')
def sequences():
    # Every used file, read once: {name: (T, 20, 4) float64}.
    if not RAW.is_dir():
        pytest.skip(f'MSR Action3D folder {RAW} is absent')
    return {name: read_msr_skeleton(str(RAW / f'{name}_skeleton3D.txt'))
            for name in msr_action3d_file_names()}


def valid_frames(values):
    xyz = values[..., :3]
    return xyz[(xyz != 0).flatten(1).any(dim=1)]


# Files and splits ############################################################
def test_file_list_matches_the_paper_list():
    if not RAW.is_dir():
        pytest.skip(f'MSR Action3D folder {RAW} is absent')
    listed = (RAW / 'files_used_in_cvpr12_paper.txt').read_text().split()
    assert len(listed) == 557
    assert msr_action3d_file_names() == listed
    released = sorted(f[:-len('_skeleton3D.txt')] for f in os.listdir(RAW)
                      if f.endswith('_skeleton3D.txt'))
    assert len(released) == 567
    assert set(listed) <= set(released)


def test_counts(msr):
    train, test = msr['train'], msr['test']
    assert len(train) == 284 and len(test) == 273
    assert str(train) == "MSRAction3D(284, split='train')"
    assert set(train.subject.tolist()) == {1, 3, 5, 7, 9}
    assert set(test.subject.tolist()) == {2, 4, 6, 8, 10}
    assert torch.bincount(train.y, minlength=20).tolist() == [
        15, 14, 15, 13, 15, 15, 14, 15, 15, 15, 15, 15, 12, 14, 9, 15, 15, 15,
        15, 13]
    assert torch.bincount(test.y, minlength=20).tolist() == [
        12, 12, 12, 12, 11, 11, 13, 15, 15, 15, 15, 15, 15, 15, 11, 15, 15, 15,
        15, 14]
    assert train.num_classes == test.num_classes == 20
    names = [d.name for d in train] + [d.name for d in test]
    assert sorted(names) == sorted(msr_action3d_file_names())
    for data in train:
        assert int(data.y) == int(data.name[1:3]) - 1
        assert int(data.subject) == int(data.name[5:7])


def test_sample_fields(msr):
    data = msr['train'][0]
    assert data.name == 'a01_s01_e01'
    assert data.x.shape == (20, 32, 3) and data.x.dtype == torch.float32
    assert data.edge_index.shape == (2, 38)
    assert torch.equal(data.edge_index, MSR_LAYOUT.edge_index())
    assert torch.equal(data.part, MSR_LAYOUT.part())
    for key in ('y', 'length', 'subject'):
        assert data[key].shape == (1,) and data[key].dtype == torch.long
    assert int(data.y) == 0 and int(data.length) == 54


def test_processed_files(msr, root):
    files = sorted(os.listdir(root / 'processed'))
    assert 'train_resample32.pt' in files and 'test_resample32.pt' in files
    assert not [f for f in files if f.endswith('.tmp')]
    path = root / 'processed' / 'test_resample32.pt'
    mtime = path.stat().st_mtime_ns
    assert len(MSRAction3D(str(root), 'test', log=False)) == 273
    assert path.stat().st_mtime_ns == mtime


def test_frame_counts(sequences):
    lengths = torch.tensor([v.size(0) for v in sequences.values()])
    assert len(lengths) == 557
    assert int(lengths.min()) == 13 and int(lengths.max()) == 76
    assert abs(float(lengths.double().mean()) - 39.64) < 0.01


GOOD = ''.join(f'{0.01 * i:.6f} {0.02 * i:.6f} 2.5 1.0\n' for i in range(40))


def _small_raw(tmp_path, monkeypatch):
    # A stand-in for the 557 files: three short sequences (subjects 1, 2, 3).
    names = ['a01_s01_e01', 'a01_s02_e01', 'a02_s03_e01']
    monkeypatch.setattr(msr_module, 'msr_action3d_file_names',
                        lambda: list(names))
    raw = tmp_path / 'raw'
    raw.mkdir()
    for name in names:
        (raw / f'{name}_skeleton3D.txt').write_text(GOOD)
    return raw


def test_malformed_file_in_the_dataset(tmp_path, monkeypatch):
    raw = _small_raw(tmp_path, monkeypatch)
    bad = raw / 'a02_s03_e01_skeleton3D.txt'  # subject 3: train
    lines = bad.read_text().split('\n')
    lines[24] = '0.1 0.2'
    bad.write_text('\n'.join(lines))
    with pytest.raises(ValueError, match=r"a02_s03_e01_skeleton3D\.txt', "
                                         r"line 25: expected 4 values"):
        MSRAction3D(str(tmp_path), 'train', log=False)
    processed = tmp_path / 'processed'
    assert not processed.exists() or os.listdir(processed) == []
    test = MSRAction3D(str(tmp_path), 'test', log=False)
    assert [d.name for d in test] == ['a01_s02_e01']
    assert int(test[0].length) == 2


def test_no_half_written_cache(tmp_path, monkeypatch):
    _small_raw(tmp_path, monkeypatch)

    def broken_save(obj, f, *args, **kwargs):
        f.write(b'partial')
        raise KeyboardInterrupt  # e.g. Ctrl-C in the middle of the write

    with monkeypatch.context() as patch:
        patch.setattr(torch, 'save', broken_save)
        with pytest.raises(KeyboardInterrupt):
            MSRAction3D(str(tmp_path), 'train', log=False)
    assert os.listdir(tmp_path / 'processed') == []
    train = MSRAction3D(str(tmp_path), 'train', log=False)
    assert [d.name for d in train] == ['a01_s01_e01', 'a02_s03_e01']
    assert not [f for f in os.listdir(tmp_path / 'processed')
                if f.endswith('.tmp')]


# Joint order and bones #######################################################
def test_bones_keep_their_length(sequences):
    # Per sequence, the coefficient of variation over its (tracked) frames
    # of every bone's length; the median over the 557 sequences.
    cvs, others = [], []
    non_bones = [('left_hand', 'right_hand'), ('left_wrist', 'right_wrist'),
                 ('left_elbow', 'right_elbow'), ('left_elbow', 'left_hip'),
                 ('right_elbow', 'right_hip'), ('right_hand', 'right_foot'),
                 ('right_hand', 'head'), ('right_hand', 'hip_center')]
    a = torch.tensor([joint(p) for p, _ in non_bones])
    b = torch.tensor([joint(q) for _, q in non_bones])
    for values in sequences.values():
        xyz = valid_frames(values).transpose(0, 1)  # (20, T, 3)
        lengths = bone_lengths(xyz, MSR_LAYOUT)
        cvs.append(lengths.std(1) / lengths.mean(1))
        d = (xyz[a] - xyz[b]).norm(dim=-1)
        others.append(d.std(1) / d.mean(1))
    cv = torch.stack(cvs).median(dim=0).values
    names = [(MSR_LAYOUT.joints[c], MSR_LAYOUT.joints[p])
             for c, p in MSR_LAYOUT.bones]
    flexible = {('spine', 'hip_center'), ('head', 'shoulder_center')}
    for (c, p), value in zip(names, cv.tolist()):
        assert value < (0.07 if (c, p) in flexible else 0.02), (c, p, value)
    assert (torch.stack(others).median(dim=0).values > 0.13).all()


def test_joint_heights_and_sides(sequences):
    # A standing pose (first frame): the levels of the skeleton, head on top.
    y = torch.stack([v[0, :, 1] for v in sequences.values()]).median(0).values
    order = ['head', 'shoulder_center', 'spine', 'hip_center', 'left_knee',
             'left_ankle', 'left_foot']
    heights = [float(y[joint(name)]) for name in order]
    assert heights == sorted(heights, reverse=True)
    for side in ('left', 'right'):
        assert y[joint(f'{side}_shoulder')] > y[joint(f'{side}_elbow')] > \
            y[joint(f'{side}_wrist')] > y[joint(f'{side}_hand')]
        assert y[joint(f'{side}_hip')] > y[joint(f'{side}_knee')] > \
            y[joint(f'{side}_ankle')]

    # One-arm actions (high arm wave to draw circle) and kicks move the
    # right hand and the right ankle: the subjects used their right side.
    def motion(names, j):
        out = []
        for name in names:
            xyz = valid_frames(sequences[name])
            xyz = xyz - xyz[:, joint('hip_center'):joint('hip_center') + 1]
            out.append(float(xyz[:, j].var(dim=0).sum()))
        return float(np.mean(out))
    for action in range(1, 10):
        names = [n for n in sequences if n.startswith(f'a{action:02d}_')]
        assert motion(names, joint('right_hand')) > \
            3 * motion(names, joint('left_hand')), action
    for action in (14, 15):
        names = [n for n in sequences if n.startswith(f'a{action:02d}_')]
        assert motion(names, joint('right_ankle')) > \
            3 * motion(names, joint('left_ankle')), action


# Frames ######################################################################
def test_missing_frames(root, sequences):
    with_zeros = {name for name, values in sequences.items()
                  if ((values[..., :3] == 0).flatten(1).all(dim=1)).any()}
    assert with_zeros == WITH_ZERO_FRAMES
    # No sequence has only some joints at zero:
    for values in sequences.values():
        zero = (values[..., :3] == 0).all(dim=2)
        assert torch.equal(zero.any(dim=1), zero.all(dim=1))

    raw = MSRAction3D(str(root), 'test', num_frames=76, resample=False,
                      fill_missing=False, log=False)
    assert len(raw) == 273
    for data in raw:
        length = int(data.length)
        values = sequences[data.name][..., :3].float().transpose(0, 1)
        assert torch.equal(data.x[:, :length], values)  # as in the file
        assert (data.x[:, length:] == 0).all()  # padded
        zero = (values == 0).all(dim=2).all(dim=0)
        filled = fill_missing_frames(values)
        assert not (filled == 0).all(dim=2).all(dim=0).any()
        assert torch.equal(filled[:, ~zero], values[:, ~zero])


def test_fill_missing_frames():
    x = torch.tensor([0., 0., 1., 0., 0., 4., 0.]).view(1, 7, 1)
    x = x.expand(2, 7, 3).clone()
    out = fill_missing_frames(x)
    assert out[0, :, 0].tolist() == [1, 1, 1, 2, 3, 4, 4]
    assert torch.equal(out[1], out[0])
    assert torch.equal(fill_missing_frames(x, dim=1), out)
    assert torch.equal(fill_missing_frames(x.transpose(0, 1), dim=0),
                       out.transpose(0, 1))
    assert torch.equal(fill_missing_frames(torch.zeros(2, 3, 3)),
                       torch.zeros(2, 3, 3))
    y = torch.randn(2, 5, 3)
    assert torch.equal(fill_missing_frames(y), y)


def test_resampling_keeps_length(root, msr, sequences):
    for dataset in (msr['train'], msr['test']):
        num_frames = dataset.num_frames
        for data in dataset:
            values = sequences[data.name][..., :3].float().transpose(0, 1)
            assert int(data.length) == values.size(1)
            assert data.x.shape == (20, num_frames, 3)
            full = fill_missing_frames(values)  # missing frames filled
            assert torch.allclose(data.x, resample(full, num_frames))
            assert torch.equal(data.x[:, 0], full[:, 0])
            assert torch.equal(data.x[:, -1], full[:, -1])


def test_batch(msr):
    data_list = [msr['test'][i] for i in (0, 5, 9)]
    batch = Batch.from_data_list(data_list)
    assert batch.x.shape == (60, 32, 3) and batch.num_graphs == 3
    offsets = torch.arange(3).repeat_interleave(38) * 20
    assert torch.equal(batch.edge_index,
                       torch.cat([d.edge_index for d in data_list], 1) +
                       offsets)
    assert torch.equal(batch.part, MSR_LAYOUT.part().repeat(3))  # unshifted
    assert batch.length.tolist() == [int(d.length) for d in data_list]
    assert batch.y.tolist() == [int(d.y) for d in data_list]


# Action subsets ##############################################################
# Li et al. (2010), Table 1 (1-based action numbers), and the resulting
# sizes (train, test) and per-class counts of the 557 used sequences.
LI_2010 = {
    'AS1': [2, 3, 5, 6, 10, 13, 18, 20],
    'AS2': [1, 4, 7, 8, 9, 11, 12, 14],
    'AS3': [6, 14, 15, 16, 17, 18, 19, 20],
}
SUBSET_COUNTS = {
    ('AS1', 'train'): [14, 15, 15, 15, 15, 12, 15, 13],
    ('AS1', 'test'): [12, 12, 11, 11, 15, 15, 15, 14],
    ('AS2', 'train'): [15, 13, 14, 15, 15, 15, 15, 14],
    ('AS2', 'test'): [12, 12, 13, 15, 15, 15, 15, 15],
    ('AS3', 'train'): [15, 14, 9, 15, 15, 15, 15, 13],
    ('AS3', 'test'): [11, 15, 11, 15, 15, 15, 15, 14],
}


@pytest.fixture(scope='module')
def subsets(root):
    return {(subset, split): MSRAction3D(str(root), split, subset=subset,
                                         log=False)
            for subset in LI_2010 for split in MSRAction3D.splits}


def test_subset_lists():
    assert {k: list(v) for k, v in MSRAction3D.subsets.items()} == LI_2010
    # AS1 and AS2 are disjoint, and the three together cover all actions.
    assert not set(LI_2010['AS1']) & set(LI_2010['AS2'])
    assert set().union(*LI_2010.values()) == set(range(1, 21))


def test_subsets_filter_and_relabel(msr, subsets, root):
    for (subset, split), dataset in subsets.items():
        actions = LI_2010[subset]
        full = msr[split]
        counts = SUBSET_COUNTS[subset, split]
        assert len(dataset) == sum(counts)
        assert torch.bincount(dataset.y, minlength=8).tolist() == counts
        assert dataset.num_classes == 8
        assert list(dataset.action_numbers) == actions
        assert dataset.classes == tuple(MSRAction3D.actions[a - 1]
                                        for a in actions)
        assert str(dataset) == (f"MSRAction3D({sum(counts)}, "
                                f"split={split!r}, subset={subset!r})")
        # Exactly the split's sequences of these actions, in the same order
        # and with the same frames; y is the position in the list, action
        # the 0-based action number:
        same = [i for i, d in enumerate(full) if int(d.y) + 1 in actions]
        assert [d.name for d in dataset] == [full[i].name for i in same]
        for data, i in zip(dataset, same):
            number = int(data.name[1:3])
            assert actions[int(data.y)] == number
            assert int(data.action) == number - 1 == int(full[i].y)
            assert torch.equal(data.x, full[i].x)
            assert int(data.subject) in ({1, 3, 5, 7, 9} if split == 'train'
                                         else {2, 4, 6, 8, 10})
    # The full set keeps y == action:
    assert torch.equal(msr['train'].y, msr['train'].action)
    assert msr['train'].num_classes == 20
    assert msr['train'].classes == MSRAction3D.actions
    # One processed file per subset and split:
    files = set(os.listdir(root / 'processed'))
    assert {f'{split}_{subset}_resample32.pt' for subset in LI_2010
            for split in ('train', 'test')} <= files


# Errors ######################################################################
def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="'MSRAction3D' expects 'split'"):
        MSRAction3D(str(tmp_path), split='val')
    with pytest.raises(ValueError, match="'MSRAction3D' expects 'subset'"):
        MSRAction3D(str(tmp_path), subset='AS4')
    with pytest.raises(ValueError, match="'num_frames' >= 1"):
        MSRAction3D(str(tmp_path), num_frames=0)


def test_missing_raw_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"557 missing, e\.g\. "
                                                r"'a01_s01_e01_skeleton3D"):
        MSRAction3D(str(tmp_path / 'a'))
    (tmp_path / 'b').mkdir()
    (tmp_path / 'b' / 'raw').symlink_to(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError, match='wanqingli'):
        MSRAction3D(str(tmp_path / 'b'))


def test_reader_stays_importable_from_the_dataset_module():
    assert msr_module.read_msr_skeleton is read_msr_skeleton


def test_survives_batch(msr, survives_batch):
    survives_batch([msr['train'][i] for i in (0, 7, 100)])
