import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from tgr.datasets import NTURGBD, from_stgcn_array
from tgr.datasets.ntu_rgbd import (
    missing_skeletons,
    parse_ntu_name,
    read_ntu_skeleton,
    select_bodies,
)
from tgr.datasets.skeleton import (
    MSR_LAYOUT,
    NTU_LAYOUT,
    PART_NAMES,
    bone_lengths,
    pad,
    resample,
)

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


def reference_read(path):
    r"""Independent reader: a list over frames of {body ID: (25, 3) array}."""
    lines = Path(path).read_bytes().decode().replace('\r\n', '\n')
    lines = lines.split('\n')
    i, frames = 1, []
    for _ in range(int(lines[0])):
        bodies = {}
        num_bodies = int(lines[i])
        i += 1
        for _ in range(num_bodies):
            body_id = lines[i].split()[0]
            num_joints = int(lines[i + 1])
            rows = [lines[i + 2 + j].split()[:3] for j in range(num_joints)]
            bodies[body_id] = np.array(rows, dtype=np.float64)
            i += 2 + num_joints
        frames.append(bodies)
    return frames


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


def skeleton_text(frames, num_frames=None, newline='\n'):
    r"""A .skeleton file: `frames` is a list over frames of lists of (body
    ID, (25, 3) joints)."""
    out = [str(len(frames) if num_frames is None else num_frames)]
    for bodies in frames:
        out.append(str(len(bodies)))
        for body_id, joints in bodies:
            out.append(f'{body_id} 0 1 1 1 1 0 -0.1 0.1 2')
            out.append(str(len(joints)))
            for x, y, z in joints.tolist():
                out.append(f'{x} {y} {z} 276.1 190.1 1032.3 514.1 -0.17 '
                           f'0.04 0.97 -0.16 2')
    return newline.join(out) + newline


def rand_joints(gen, n=25, scale=0.1):
    return (torch.randn(n, 3, generator=gen, dtype=torch.float64) *
            scale).numpy().round(6)


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


# Layout #####################################################################
def test_ntu_layout():
    layout = NTU_LAYOUT
    assert layout.num_joints == 25 and len(layout.bones) == 24
    assert layout.joints[layout.center] == 'spine_shoulder'
    assert layout.joints[:4] == ('spine_base', 'spine_mid', 'neck', 'head')
    assert layout.index('right_thumb') == 24
    # A tree: every joint but the root has one parent, all reach the root.
    parent = layout.parent
    assert parent.count(-1) == 1 and parent[layout.root] == -1
    for j in range(layout.num_joints):
        seen = 0
        while parent[j] >= 0:
            j, seen = parent[j], seen + 1
            assert seen <= 25
    # Parts: torso 5, arms 6 each, legs 4 each; the sides are named so.
    part = layout.part()
    assert torch.bincount(part).tolist() == [5, 6, 6, 4, 4]
    for j, name in enumerate(layout.joints):
        p = PART_NAMES[int(part[j])]
        if p != 'torso':
            assert name.startswith(p.split('_')[0])
    # Kinect v2 SDK: thumb on the wrist, hand tip on the hand.
    bones = {(layout.joints[c], layout.joints[p]) for c, p in layout.bones}
    assert ('left_thumb', 'left_wrist') in bones
    assert ('right_hand_tip', 'right_hand') in bones


def test_layout_edge_index_two_bodies():
    ei = NTU_LAYOUT.edge_index(2)
    assert ei.shape == (2, 96) and ei.dtype == torch.long
    one = NTU_LAYOUT.edge_index(1)
    assert torch.equal(ei[:, :48], one) and torch.equal(ei[:, 48:], one + 25)
    # Both directions, no self-loops, no edge between the bodies:
    pairs = set(map(tuple, ei.t().tolist()))
    assert all((b, a) in pairs for a, b in pairs)
    assert (ei[0] != ei[1]).all()
    assert torch.equal(ei[0] // 25, ei[1] // 25)
    assert NTU_LAYOUT.body(2).tolist() == [0] * 25 + [1] * 25
    assert torch.equal(NTU_LAYOUT.part(2), NTU_LAYOUT.part().repeat(2))


def test_layout_rejects_non_trees():
    from tgr.datasets.skeleton import SkeletonLayout
    with pytest.raises(ValueError, match='tree of 2 bones'):
        SkeletonLayout('a', ('a', 'b', 'c'), ((1, 0),), (0, 0, 0), 0, 0)
    with pytest.raises(ValueError, match='top-down order'):
        SkeletonLayout('a', ('a', 'b', 'c'), ((2, 1), (1, 0)), (0, 0, 0), 0,
                       0)
    with pytest.raises(ValueError, match='one part per joint'):
        SkeletonLayout('a', ('a', 'b'), ((1, 0),), (0,), 0, 0)


# Resampling ##################################################################
def test_resample_linear_and_endpoints():
    x = torch.randn(4, 7, 3, dtype=torch.float64)
    assert torch.equal(resample(x, 7), x)
    for num_frames in (1, 2, 5, 13, 40):
        y = resample(x, num_frames)
        assert y.shape == (4, num_frames, 3)
        assert torch.equal(y[:, 0], x[:, 0])
        if num_frames > 1:
            assert torch.equal(y[:, -1], x[:, -1])
    # Linear motion is resampled exactly; 7 -> 13 frames halves the step:
    t = torch.arange(7, dtype=torch.float64)
    line = t.view(1, 7, 1) * torch.tensor([1.0, -2.0, 0.5]).view(1, 1, 3)
    y = resample(line, 13)
    expected = (torch.arange(13, dtype=torch.float64) / 2).view(1, 13, 1) * \
        torch.tensor([1.0, -2.0, 0.5]).view(1, 1, 3)
    assert torch.allclose(y, expected, atol=1e-12)
    # Up and down again returns the input at the kept frames:
    assert torch.allclose(resample(resample(x, 13), 7), x, atol=1e-12)
    # Another time dimension and a single frame:
    assert torch.equal(resample(x, 3, dim=0), resample(x.transpose(0, 1), 3,
                                                       dim=1).transpose(0, 1))
    assert torch.equal(resample(x[:, :1], 4), x[:, :1].expand(4, 4, 3))


def test_resample_and_pad_errors():
    with pytest.raises(ValueError, match="'num_frames' >= 1"):
        resample(torch.zeros(2, 3, 3), 0)
    with pytest.raises(ValueError, match='floating point'):
        resample(torch.zeros(2, 3, 3, dtype=torch.long), 4)
    with pytest.raises(ValueError, match='empty'):
        resample(torch.zeros(2, 0, 3), 4)
    x = torch.randn(2, 5, 3)
    assert torch.equal(pad(x, 8)[:, :5], x) and (pad(x, 8)[:, 5:] == 0).all()
    assert torch.equal(pad(x, 3), x[:, :3])


# Names, lists, splits ########################################################
def test_parse_ntu_name():
    name = parse_ntu_name('S017C002P040R001A060.skeleton')
    assert name == (17, 2, 40, 1, 60)
    assert name.subject == 40 and name.action == 60
    with pytest.raises(ValueError, match='SsssCcccPpppRrrrAaaa'):
        parse_ntu_name('S017C002P040A060')


def test_missing_lists_match_the_official_files():
    if not DATA.is_dir():
        pytest.skip(f'NTU RGB+D folder {DATA} is absent')
    for bench, file, count in [
            ('xsub', 'NTU_RGBD_samples_with_missing_skeletons.txt', 302),
            ('xsub120', 'NTU_RGBD120_samples_with_missing_skeletons.txt',
             535)]:
        lines = (DATA / file).read_text().split('\n')
        assert lines[0].startswith(f'{count} of the captured samples')
        ids = [line.strip() for line in lines[3:] if line.strip()]
        assert len(ids) == len(set(ids)) == count
        assert missing_skeletons(bench) == set(ids)
    assert missing_skeletons('xview') == missing_skeletons('xsub')
    assert missing_skeletons('xset120') == missing_skeletons('xsub120')
    assert missing_skeletons('xsub') < missing_skeletons('xsub120')


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


# Parsing #####################################################################
@pytest.mark.parametrize('name', sorted(FRAMES))
def test_read_ntu_skeleton_matches_reference(name):
    if not SKELETONS.is_dir():
        pytest.skip(f'NTU RGB+D skeleton folder {SKELETONS} is absent')
    path = SKELETONS / f'{name}.skeleton'
    assert path.read_bytes().count(b'\r\n') == \
        path.read_bytes().count(b'\n')  # CRLF throughout
    skeleton = read_ntu_skeleton(str(path))
    frames = reference_read(path)
    assert skeleton.num_frames == len(frames) == FRAMES[name]
    assert len(skeleton.bodies) == (2 if name == TWO_BODIES else 1)
    for body_id, (t, joints) in skeleton.bodies.items():
        expected = [k for k, f in enumerate(frames) if body_id in f]
        assert t.tolist() == expected
        assert joints.dtype == torch.float64
        ref = np.stack([frames[k][body_id] for k in expected])
        assert np.array_equal(joints.numpy(), ref)


def test_first_joint_of_the_first_file():
    if not SKELETONS.is_dir():
        pytest.skip(f'NTU RGB+D skeleton folder {SKELETONS} is absent')
    # Line 5 of S001C001P001R001A011.skeleton:
    # 0.2058097 0.1920515 3.810989 276.0976 190.0662 ...
    skeleton = read_ntu_skeleton(str(SKELETONS /
                                     'S001C001P001R001A011.skeleton'))
    (_, joints), = skeleton.bodies.values()
    assert joints[0, 0].tolist() == [0.2058097, 0.1920515, 3.810989]
    assert list(skeleton.bodies) == ['72057594037931648']


def test_crlf_and_lf_read_the_same(tmp_path):
    if not SKELETONS.is_dir():
        pytest.skip(f'NTU RGB+D skeleton folder {SKELETONS} is absent')
    src = SKELETONS / f'{TWO_BODIES}.skeleton'
    raw = src.read_bytes()
    assert b'\r\n' in raw
    (tmp_path / 'lf.skeleton').write_bytes(raw.replace(b'\r\n', b'\n'))
    (tmp_path / 'noend.skeleton').write_bytes(raw.rstrip(b'\r\n'))
    a = read_ntu_skeleton(str(src))
    for other in ('lf', 'noend'):
        b = read_ntu_skeleton(str(tmp_path / f'{other}.skeleton'))
        assert a.num_frames == b.num_frames
        assert list(a.bodies) == list(b.bodies)
        for key in a.bodies:
            assert torch.equal(a.bodies[key][0], b.bodies[key][0])
            assert torch.equal(a.bodies[key][1], b.bodies[key][1])


def _good_frames():
    gen = torch.Generator().manual_seed(0)
    return [[('11', rand_joints(gen))], [('11', rand_joints(gen)),
                                         ('12', rand_joints(gen))]]


# Line numbers in the file of _good_frames(): 1 frame count, 2 body count,
# 3 body line, 4 joint count, 5-29 joints, 30 body count, 31 body line,
# 32 joint count, 33-57 joints, 58 body line, 59 joint count, 60-84 joints.
def _mutate(lines, lineno, text):
    lines = list(lines)
    lines[lineno - 1] = text
    return lines


@pytest.mark.parametrize('mutation,match', [
    (lambda ls: ls[:40], r'line 41: unexpected end of file \(expected 25 '
                         r'joint lines from line 33\)'),
    (lambda ls: ls[:29], r'line 30: unexpected end of file \(expected the '
                         r'number of bodies of frame 2\)'),
    (lambda ls: ls[:30], r'line 31: unexpected end of file \(expected the '
                         r'body line'),
    (lambda ls: _mutate(ls, 7, '0.1 0.2 0.3 1 2 3 4 5 6 7 2'),
     r'line 7: expected a joint line of 12 values, got 11'),
    (lambda ls: _mutate(ls, 61, '0.1 0.2 abc 1 2 3 4 5 6 7 8 2'),
     r"line 61: expected 12 numbers, got '0.1 0.2 abc"),
    (lambda ls: _mutate(ls, 35, 'nan 0.2 0.3 1 2 3 4 5 6 7 8 2'),
     r'line 35: non-finite joint position'),
    (lambda ls: _mutate(ls, 32, '24'), r'line 32: expected 25 joints, got 24'),
    (lambda ls: _mutate(ls, 30, 'two'),
     r"line 30: expected the number of bodies of frame 2 \(an integer\), "
     r"got 'two'"),
    (lambda ls: _mutate(ls, 1, '-2'), r'line 1: expected the number of '
                                      r'frames >= 0, got -2'),
    (lambda ls: _mutate(ls, 58, '11 0 1 1 1 1 0 -0.1 0.1 2'),
     r'line 58: body ID 11 appears twice in frame 2'),
    (lambda ls: _mutate(ls, 3, '11 0 1 1 1 1 0 -0.1 0.1'),
     r'line 3: expected a body line of 10 values'),
    (lambda ls: ls + ['1'], r'line 85: unexpected content after the last '
                            r'of the 2 frames'),
])
def test_malformed_skeleton_file(tmp_path, mutation, match):
    good = skeleton_text(_good_frames(), newline='\r\n')
    lines = good.split('\r\n')[:-1]
    assert len(lines) == 84
    path = tmp_path / 'S001C001P001R001A001.skeleton'
    path.write_text('\r\n'.join(lines) + '\r\n', newline='')
    skeleton = read_ntu_skeleton(str(path))  # The good file reads.
    assert skeleton.num_frames == 2 and list(skeleton.bodies) == ['11', '12']
    path.write_text('\r\n'.join(mutation(lines)) + '\r\n', newline='')
    with pytest.raises(ValueError, match=r"NTU RGB\+D file '.*S001C001P001"
                                         r"R001A001\.skeleton', " + match):
        read_ntu_skeleton(str(path))


def test_first_bad_line_is_reported(tmp_path):
    # Two bad lines in two bodies: the earlier line is reported, although
    # its body appears second. Lines: 1-2 counts, 3-29 body '11', 30-56 body
    # '12', 57 count, 58-84 body '12', 85-111 body '11'.
    gen = torch.Generator().manual_seed(3)
    a, b = rand_joints(gen), rand_joints(gen)
    lines = skeleton_text([[('11', a), ('12', b)],
                           [('12', b), ('11', a)]]).split('\n')
    lines[89] = lines[89] + ' 7'  # line 90 (body '11'): 13 values
    lines[39] = 'x' + lines[39]  # line 40 (body '12'): not a number
    path = tmp_path / 'S001C001P001R001A001.skeleton'
    path.write_text('\n'.join(lines))
    with pytest.raises(ValueError, match=r"line 40: expected 12 numbers"):
        read_ntu_skeleton(str(path))


def test_malformed_file_in_the_dataset(tmp_path):
    raw = tmp_path / 'raw'
    raw.mkdir()
    good = skeleton_text(_good_frames())
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


def test_no_half_written_cache(tmp_path, monkeypatch):
    raw = tmp_path / 'raw'
    raw.mkdir()
    (raw / 'S001C001P001R001A001.skeleton').write_text(
        skeleton_text(_good_frames()))

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
def test_two_body_file(padded):
    data = padded[1]
    assert data.name == TWO_BODIES
    assert data.x.shape == (50, 300, 3) and data.x.dtype == torch.float32
    assert int(data.num_bodies) == 2 and int(data.length) == 70
    frames = reference_read(SKELETONS / f'{TWO_BODIES}.skeleton')
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


def test_select_bodies_tracks_ids(tmp_path):
    # Body '1' (main actor, large motion) has ID '1' in frames 0-3 and '4'
    # in frames 4-7 (the tracker lost and found it); body '2' (second
    # actor, less motion) is in every frame; '3' is a short, still
    # detection overlapping both.
    gen = torch.Generator().manual_seed(1)
    base = [rand_joints(gen) for _ in range(3)]
    frames = []
    for t in range(8):
        bodies = [('1' if t < 4 else '4', base[0] + 0.3 * t),
                  ('2', base[1] + 0.05 * (t % 2))]
        if t in (2, 3, 4):
            bodies.append(('3', base[2]))
        frames.append(bodies)
    path = tmp_path / 'S001C001P001R001A050.skeleton'
    path.write_text(skeleton_text(frames))
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


def test_frames_without_bodies(tmp_path):
    gen = torch.Generator().manual_seed(2)
    frames = [[], [('5', rand_joints(gen))], [], [('5', rand_joints(gen))]]
    path = tmp_path / 'S001C001P001R001A001.skeleton'
    path.write_text(skeleton_text(frames))
    joints, num_bodies = select_bodies(read_ntu_skeleton(str(path)))
    assert num_bodies == 1
    assert (joints[0, [0, 2]] == 0).all() and (joints[0, [1, 3]] != 0).all()
    assert (joints[1] == 0).all()
    path.write_text(skeleton_text([[], []]))
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


def test_msr_layout_is_a_tree_with_five_parts():
    layout = MSR_LAYOUT
    assert layout.num_joints == 20 and len(layout.bones) == 19
    assert torch.bincount(layout.part()).tolist() == [4, 4, 4, 4, 4]
    assert layout.joints[layout.root] == 'hip_center'
