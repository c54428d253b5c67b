import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from tgr.datasets import NTURGBD, from_stgcn_array
from tgr.datasets.ntu_rgbd import missing_skeletons, select_bodies
from tgr.datasets.skeleton import NTU_LAYOUT, bone_lengths, resample
from tgr.io.ntu_skeleton import parse_ntu_name, read_ntu_skeleton

DATA = (Path(__file__).resolve().parents[2] / '..' / 'shared' / 'data' /
        'ntu_rgbd').resolve()
SKELETONS = DATA / 'skeletons'

FRAMES = {  # From the issue; the files' first lines.
    'S001C001P001R001A011': 82,
    'S001C003P008R002A058': 70,
    'S002C001P003R001A003': 100,
    'S003C001P015R001A034': 71,
    'S004C002P003R001A017': 124,
}

TWO_BODIES = 'S001C003P008R002A058'

# None of the five is on a missing-skeleton list; the split of each:
SPLITS = {
    'xsub': {'train': ['S001C001P001R001A011', 'S001C003P008R002A058',
                       'S003C001P015R001A034'],
             'test': ['S002C001P003R001A003', 'S004C002P003R001A017']},
    'xview': {'train': ['S001C003P008R002A058', 'S004C002P003R001A017'],
              'test': ['S001C001P001R001A011', 'S002C001P003R001A003',
                       'S003C001P015R001A034']},
    'xsub120': {'train': ['S001C001P001R001A011', 'S001C003P008R002A058',
                          'S003C001P015R001A034'],
                'test': ['S002C001P003R001A003', 'S004C002P003R001A017']},
    'xset120': {'train': ['S002C001P003R001A003', 'S004C002P003R001A017'],
                'test': ['S001C001P001R001A011', 'S001C003P008R002A058',
                         'S003C001P015R001A034']},
}


def reference_tracks(frames, max_bodies=2):
    # Body IDs by decreasing variance of the joints over time (none of the
    # five files has a body ID that changes), each as a (T, 25, 3) array.
    ids = {}
    for bodies in frames:
        for body_id in bodies:
            ids.setdefault(body_id, None)
    motion = {}
    for body_id in ids:
        joints = np.stack([f[body_id] for f in frames if body_id in f])
        motion[body_id] = joints.var(axis=0).sum()
    out = np.zeros((max_bodies, len(frames), 25, 3))
    for m, body_id in enumerate(sorted(ids, key=lambda b: -motion[b])):
        if m < max_bodies:
            for t, f in enumerate(frames):
                if body_id in f:
                    out[m, t] = f[body_id]
    return out


@pytest.fixture(scope='module')
def root(linked_root):
    return linked_root('NTU RGB+D skeletons', SKELETONS)


@pytest.fixture(scope='module')
def ntu(root):
    return {(b, s): NTURGBD(str(root), b, s, log=False)
            for b in NTURGBD.benchmarks for s in NTURGBD.splits}


@pytest.fixture(scope='module')
def padded(root):
    # All frames of the xsub train files, zero-padded to 300 (as ST-GCN).
    return NTURGBD(str(root), 'xsub', 'train', num_frames=300,
                   resample=False, log=False)


def test_none_of_the_five_is_missing():
    for name in FRAMES:
        assert name not in missing_skeletons('xsub120')


@pytest.mark.parametrize('bench', NTURGBD.benchmarks)
@pytest.mark.parametrize('split', NTURGBD.splits)
def test_ntu_counts_and_splits(ntu, bench, split):
    dataset = ntu[bench, split]
    expected = SPLITS[bench][split]
    assert len(dataset) == len(expected)
    assert [dataset[i].name for i in range(len(dataset))] == expected
    assert str(dataset) == (f"NTURGBD({len(expected)}, "
                            f"benchmark='{bench}', split='{split}')")
    assert dataset.num_classes == (120 if bench.endswith('120') else 60)
    for data in dataset:
        name = parse_ntu_name(data.name)
        assert int(data.y) == name.action - 1
        assert int(data.subject) == name.subject
        assert int(data.length) == FRAMES[data.name]


def test_ntu_processed_files(ntu, root):
    files = sorted(os.listdir(root / 'processed'))
    for benchmark in NTURGBD.benchmarks:
        for split in NTURGBD.splits:
            assert f'{benchmark}_{split}_resample100_bodies2.pt' in files
    assert not [f for f in files if f.endswith('.tmp')]
    path = root / 'processed' / 'xview_test_resample100_bodies2.pt'
    mtime = path.stat().st_mtime_ns
    assert len(NTURGBD(str(root), 'xview', 'test', log=False)) == 3
    assert path.stat().st_mtime_ns == mtime  # loaded, not processed again


def test_malformed_file_in_the_dataset(tmp_path, ntu_files):
    raw = tmp_path / 'raw'
    raw.mkdir()
    good = ntu_files.text(ntu_files.good_frames())
    (raw / 'S001C001P001R001A001.skeleton').write_text(good)
    bad = good.split('\n')
    bad[9] = '1 2 3'
    (raw / 'S001C001P003R001A002.skeleton').write_text('\n'.join(bad))
    # The bad file is in the test split of xsub (P003 does not train):
    with pytest.raises(ValueError, match=r"S001C001P003R001A002\.skeleton', "
                                         r"line 10: expected a joint line"):
        NTURGBD(str(tmp_path), 'xsub', 'test', log=False)
    processed = tmp_path / 'processed'
    assert not processed.exists() or os.listdir(processed) == []
    # The training split does not read it:
    assert len(NTURGBD(str(tmp_path), 'xsub', 'train', log=False)) == 1
    # No file of camera 2 or 3: an empty split, cached and loaded again.
    for _ in range(2):
        empty = NTURGBD(str(tmp_path), 'xview', 'train', log=False)
        assert len(empty) == 0 and list(empty) == []
        assert empty.num_classes == 60
    # A file with no frames:
    (raw / 'S001C001P001R001A003.skeleton').write_text('0\n')
    with pytest.raises(ValueError, match=r"A003\.skeleton', line 1: the file "
                                         r"has no frames"):
        NTURGBD(str(tmp_path), 'xview', 'test', log=False)


def test_no_half_written_cache(tmp_path, monkeypatch, ntu_files):
    raw = tmp_path / 'raw'
    raw.mkdir()
    (raw / 'S001C001P001R001A001.skeleton').write_text(
        ntu_files.text(ntu_files.good_frames()))

    def broken_save(obj, f, *args, **kwargs):
        f.write(b'partial')
        raise KeyboardInterrupt  # e.g. Ctrl-C in the middle of the write

    with monkeypatch.context() as patch:
        patch.setattr(torch, 'save', broken_save)
        with pytest.raises(KeyboardInterrupt):
            NTURGBD(str(tmp_path), log=False)
    assert os.listdir(tmp_path / 'processed') == []
    dataset = NTURGBD(str(tmp_path), log=False)  # processes again
    assert len(dataset) == 1 and int(dataset[0].num_bodies) == 2
    assert not [f for f in os.listdir(tmp_path / 'processed')
                if f.endswith('.tmp')]


# Bodies ######################################################################
def test_two_body_file(padded, ntu_files):
    data = padded[1]
    assert data.name == TWO_BODIES
    assert data.x.shape == (50, 300, 3) and data.x.dtype == torch.float32
    assert int(data.num_bodies) == 2 and int(data.length) == 70
    frames = ntu_files.reference_read(SKELETONS / f'{TWO_BODIES}.skeleton')
    ref = torch.from_numpy(reference_tracks(frames)).float()
    # Node m * 25 + j is joint j of body m; body 0 moves most.
    expected = ref.permute(0, 2, 1, 3).reshape(50, 70, 3)
    assert torch.equal(data.x[:, :70], expected)
    assert (data.x[:, 70:] == 0).all()
    motion = data.x[:, :70].var(dim=1, correction=0).sum(dim=1)
    assert motion[:25].sum() > motion[25:].sum() > 0
    # Both bodies, in every frame:
    assert (data.x[:25, :70].abs().sum(dim=(0, 2)) > 0).all()
    assert (data.x[25:, :70].abs().sum(dim=(0, 2)) > 0).all()


def test_one_body_file(root, padded):
    data = padded[0]
    assert data.name == 'S001C001P001R001A011'
    assert int(data.num_bodies) == 1
    assert (data.x[25:] == 0).all()  # The second body slot is zeros.
    assert (data.x[:25, :82].abs().sum(dim=(0, 2)) > 0).all()
    single = NTURGBD(str(root), 'xsub', 'train', num_frames=300,
                     resample=False, max_bodies=1, log=False)
    for a, b in zip(single, padded):
        assert a.x.shape == (25, 300, 3)
        assert torch.equal(a.x, b.x[:25])
        assert a.edge_index.shape == (2, 48)
        assert torch.equal(a.part, b.part[:25])
        assert int(a.num_bodies) == 1
    # Two bodies, one slot: the one that moves most.
    assert torch.equal(single[1].x, padded[1].x[:25])


def test_select_bodies_tracks_ids(tmp_path, ntu_files):
    # Body '1' (main actor, large motion) has ID '1' in frames 0-3 and '4'
    # in frames 4-7 (the tracker lost and found it); body '2' (second
    # actor, less motion) is in every frame; '3' is a short, still
    # detection overlapping both.
    gen = torch.Generator().manual_seed(1)
    base = [ntu_files.rand_joints(gen) for _ in range(3)]
    frames = []
    for t in range(8):
        bodies = [('1' if t < 4 else '4', base[0] + 0.3 * t),
                  ('2', base[1] + 0.05 * (t % 2))]
        if t in (2, 3, 4):
            bodies.append(('3', base[2]))
        frames.append(bodies)
    path = tmp_path / 'S001C001P001R001A050.skeleton'
    path.write_text(ntu_files.text(frames))
    skeleton = read_ntu_skeleton(str(path))
    assert list(skeleton.bodies) == ['1', '2', '3', '4']
    assert skeleton.bodies['3'][0].tolist() == [2, 3, 4]

    joints, num_bodies = select_bodies(skeleton, max_bodies=2)
    assert joints.shape == (2, 8, 25, 3) and num_bodies == 2
    main = torch.from_numpy(np.stack([base[0] + 0.3 * t for t in range(8)]))
    second = torch.from_numpy(np.stack([base[1] + 0.05 * (t % 2)
                                        for t in range(8)]))
    assert torch.allclose(joints[0], main.float())  # '1' and '4' merged
    assert torch.allclose(joints[1], second.float())  # '3' dropped
    joints, num_bodies = select_bodies(skeleton, max_bodies=3)
    assert num_bodies == 3
    assert (joints[2, [2, 3, 4]] != 0).all() and \
        (joints[2, [0, 1, 5, 6, 7]] == 0).all()
    joints, num_bodies = select_bodies(skeleton, max_bodies=1)
    assert num_bodies == 1 and torch.allclose(joints[0], main.float())
    with pytest.raises(ValueError, match="'max_bodies' >= 1"):
        select_bodies(skeleton, max_bodies=0)


def test_frames_without_bodies(tmp_path, ntu_files):
    gen = torch.Generator().manual_seed(2)
    frames = [[], [('5', ntu_files.rand_joints(gen))], [],
              [('5', ntu_files.rand_joints(gen))]]
    path = tmp_path / 'S001C001P001R001A001.skeleton'
    path.write_text(ntu_files.text(frames))
    joints, num_bodies = select_bodies(read_ntu_skeleton(str(path)))
    assert num_bodies == 1
    assert (joints[0, [0, 2]] == 0).all() and (joints[0, [1, 3]] != 0).all()
    assert (joints[1] == 0).all()
    path.write_text(ntu_files.text([[], []]))
    joints, num_bodies = select_bodies(read_ntu_skeleton(str(path)))
    assert num_bodies == 0 and joints.shape == (2, 2, 25, 3)


# Samples #####################################################################
def test_sample_fields(ntu):
    data = ntu['xsub', 'train'][0]
    assert data.x.shape == (50, 100, 3) and data.x.dtype == torch.float32
    assert torch.equal(data.edge_index, NTU_LAYOUT.edge_index(2))
    assert torch.equal(data.part, NTU_LAYOUT.part(2))
    assert torch.equal(data.body, NTU_LAYOUT.body(2))
    for key in ('y', 'length', 'num_bodies', 'subject'):
        assert data[key].shape == (1,) and data[key].dtype == torch.long
    assert data.num_nodes == 50
    assert int(data.y) == 10 and int(data.subject) == 1


@pytest.mark.parametrize('num_frames', [20, 100, 150])
def test_resampling_keeps_length(root, padded, num_frames):
    dataset = NTURGBD(str(root), 'xsub', 'train', num_frames=num_frames,
                      log=False)
    for data, full in zip(dataset, padded):
        length = int(full.length)
        assert int(data.length) == length == FRAMES[data.name]
        assert data.x.shape == (50, num_frames, 3)
        assert torch.allclose(data.x, resample(full.x[:, :length],
                                               num_frames))
        assert torch.equal(data.x[:, 0], full.x[:, 0])
        assert torch.equal(data.x[:, -1], full.x[:, length - 1])


def test_padding_cuts_long_sequences(root, padded):
    dataset = NTURGBD(str(root), 'xsub', 'train', num_frames=75,
                      resample=False, log=False)
    for data, full in zip(dataset, padded):
        assert torch.equal(data.x, full.x[:, :75])
        assert int(data.length) == int(full.length)


def test_batch(ntu):
    dataset = ntu['xsub', 'train']
    data_list = [dataset[i] for i in range(len(dataset))]
    batch = Batch.from_data_list(data_list)
    assert batch.x.shape == (150, 100, 3) and batch.num_graphs == 3
    offsets = torch.arange(3).repeat_interleave(96) * 50
    assert torch.equal(batch.edge_index,
                       torch.cat([d.edge_index for d in data_list], 1) +
                       offsets)
    for key in ('part', 'body'):  # not shifted
        assert torch.equal(batch[key], torch.cat([d[key] for d in data_list]))
    assert batch.length.tolist() == [82, 70, 71]
    assert batch.num_bodies.tolist() == [1, 2, 1]
    assert batch.y.tolist() == [10, 57, 33]
    assert batch.name == [d.name for d in data_list]
    assert torch.equal(batch.batch, torch.arange(3).repeat_interleave(50))


def test_bone_lengths_are_nearly_constant(root, padded):
    # Kinect v2 bones are not rigid, and its hands, hand tips and thumbs
    # are noisy; the other 18 bones keep their length to about 10 % (median
    # over the six bodies of the five files), while the distance between
    # the two wrists or the two hands changes.
    hand = {'left_hand', 'right_hand', 'left_hand_tip', 'right_hand_tip',
            'left_thumb', 'right_thumb'}
    names = NTU_LAYOUT.joints
    body = [i for i, (c, p) in enumerate(NTU_LAYOUT.bones)
            if names[c] not in hand and names[p] not in hand]
    assert len(body) == 18
    test = NTURGBD(str(root), 'xsub', 'test', num_frames=300,
                   resample=False, log=False)
    cvs, pairs = [], []
    for data in list(padded) + list(test):
        for m in range(int(data.num_bodies)):
            x = data.x[25 * m:25 * (m + 1), :int(data.length)].double()
            lengths = bone_lengths(x, NTU_LAYOUT)  # (24, T)
            assert lengths.shape == (24, int(data.length))
            cvs.append(lengths.std(1) / lengths.mean(1))
            d = torch.stack([(x[a] - x[b]).norm(dim=-1) for a, b in
                             [(6, 10), (7, 11)]])
            pairs.append(d.std(1) / d.mean(1))
            assert (lengths.mean(1)[body] < 0.55).all()  # metres
    assert len(cvs) == 6
    cv = torch.stack(cvs).median(dim=0).values
    assert (cv[body] < 0.11).all(), cv
    assert (cv[body] < 0.05).sum() >= 10
    assert (torch.stack(pairs).median(dim=0).values > 0.15).all()


# ST-GCN arrays ###############################################################
def test_from_stgcn_array_real_file():
    path = DATA / 'derived_npy' / 'example_NTU-RGB-D_sketeton.npy'
    if not path.is_file():
        pytest.skip(f'{path} is absent')
    arr = np.load(path)
    assert arr.shape == (3, 300, 25, 2) and arr.dtype == np.float32
    data = from_stgcn_array(arr)
    assert data.x.shape == (50, 300, 3)
    assert int(data.length) == 72 and int(data.num_bodies) == 1
    assert torch.equal(data.x[:25, :, 0], torch.from_numpy(arr[0, :, :, 0].T))
    assert torch.equal(data.x[3, 5], torch.from_numpy(arr[:, 5, 3, 0]))
    assert (data.x[25:] == 0).all() and (data.x[:, 72:] == 0).all()
    assert torch.equal(data.edge_index, NTU_LAYOUT.edge_index(2))
    assert 'y' not in data
    # It is none of the five files (72 true frames; no frame matches):
    assert 72 not in FRAMES.values()
    short = from_stgcn_array(torch.from_numpy(arr), num_frames=64, y=3)
    assert short.x.shape == (50, 64, 3) and int(short.length) == 72
    assert torch.allclose(short.x, resample(data.x[:, :72], 64))
    assert short.y.tolist() == [3]
    with pytest.raises(ValueError, match=r'\(3, T, 25, M\)'):
        from_stgcn_array(arr[:, :, :20])


def test_from_stgcn_array_matches_parsing(root, padded):
    # The two-body file, exported as ST-GCN does ((C, T, V, M), padded to 300
    # frames), reads back as the dataset's own sample.
    for data in padded:
        arr = data.x.view(2, 25, 300, 3).permute(3, 2, 1, 0).numpy()
        assert arr.shape == (3, 300, 25, 2)
        out = from_stgcn_array(arr)
        assert torch.equal(out.x, data.x)
        for key in ('length', 'num_bodies', 'edge_index', 'part', 'body'):
            assert torch.equal(out[key], data[key]), key
    resampled = NTURGBD(str(root), 'xsub', 'train', num_frames=100,
                        log=False)
    for data, full in zip(resampled, padded):
        arr = full.x.view(2, 25, 300, 3).permute(3, 2, 1, 0)
        assert torch.equal(from_stgcn_array(arr, num_frames=100).x, data.x)


# Errors ######################################################################
def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="'NTURGBD' expects 'benchmark'"):
        NTURGBD(str(tmp_path), benchmark='cross_subject')
    with pytest.raises(ValueError, match="'NTURGBD' expects 'split'"):
        NTURGBD(str(tmp_path), split='val')
    with pytest.raises(ValueError, match="'num_frames' >= 1"):
        NTURGBD(str(tmp_path), num_frames=0)
    with pytest.raises(ValueError, match="'max_bodies' >= 1"):
        NTURGBD(str(tmp_path), max_bodies=0)
    with pytest.raises(ValueError, match="expects 'benchmark'"):
        missing_skeletons('ntu60')


def test_missing_raw_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='rose1.ntu.edu.sg'):
        NTURGBD(str(tmp_path / 'a'))
    (tmp_path / 'b').mkdir()
    (tmp_path / 'b' / 'raw').symlink_to(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError, match='skeleton'):
        NTURGBD(str(tmp_path / 'b'))


def test_missing_lists_drop_samples(tmp_path):
    if not SKELETONS.is_dir():
        pytest.skip(f'NTU RGB+D skeleton folder {SKELETONS} is absent')
    src = SKELETONS / 'S003C001P015R001A034.skeleton'
    only120 = sorted(missing_skeletons('xsub120') -
                     missing_skeletons('xsub'))[0]
    names = ['S001C002P005R002A008',  # on both lists; P005 trains in xsub
             only120,                 # setup >= 19: not in NTU RGB+D 60
             'S001C002P005R002A007',  # on no list
             'S018C001P001R001A061']  # NTU RGB+D 120 only
    raw = tmp_path / 'raw'
    raw.mkdir()
    for name in names:
        (raw / f'{name}.skeleton').symlink_to(src)
    xsub = NTURGBD(str(tmp_path), 'xsub', 'train', log=False)
    assert [d.name for d in xsub] == ['S001C002P005R002A007']
    xsub120 = [d.name for d in NTURGBD(str(tmp_path), 'xsub120', 'train',
                                       log=False)]
    xsub120 += [d.name for d in NTURGBD(str(tmp_path), 'xsub120', 'test',
                                        log=False)]
    assert sorted(xsub120) == ['S001C002P005R002A007', 'S018C001P001R001A061']
    # A file whose name is not a sample name:
    (raw / 'notes.skeleton').symlink_to(src)
    with pytest.raises(ValueError, match="'notes.skeleton' does not have"):
        NTURGBD(str(tmp_path), 'xview', 'train', log=False)


def test_moved_names_stay_importable():
    import tgr.datasets.ntu_rgbd as ntu_module
    import tgr.datasets.ntu_rgbd_missing as missing_module
    assert ntu_module.read_ntu_skeleton is read_ntu_skeleton
    assert ntu_module.parse_ntu_name is parse_ntu_name
    assert ntu_module.missing_skeletons is missing_module.missing_skeletons


def test_survives_batch(ntu, survives_batch):
    survives_batch(list(ntu['xsub', 'train']) + list(ntu['xsub', 'test']))
