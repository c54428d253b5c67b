from pathlib import Path

import numpy as np
import pytest
import torch

from tgr.io.ntu_skeleton import parse_ntu_name, read_ntu_skeleton

SKELETONS = (Path(__file__).resolve().parents[2] / '..' / 'shared' / 'data' /
             'ntu_rgbd' / 'skeletons').resolve()
TWO_BODIES = 'S001C003P008R002A058'
NUM_FRAMES = [  # The five files' first lines.
    ('S001C001P001R001A011', 82), ('S001C003P008R002A058', 70),
    ('S002C001P003R001A003', 100), ('S003C001P015R001A034', 71),
    ('S004C002P003R001A017', 124),
]


# Names, lists, splits ########################################################
def test_parse_ntu_name():
    name = parse_ntu_name('S017C002P040R001A060.skeleton')
    assert name == (17, 2, 40, 1, 60)
    assert name.subject == 40 and name.action == 60
    with pytest.raises(ValueError, match='SsssCcccPpppRrrrAaaa'):
        parse_ntu_name('S017C002P040A060')


# Parsing #####################################################################
@pytest.mark.parametrize('name,num_frames', NUM_FRAMES)
def test_read_ntu_skeleton_matches_reference(name, num_frames, ntu_files):
    if not SKELETONS.is_dir():
        pytest.skip(f'NTU RGB+D skeleton folder {SKELETONS} is absent')
    path = SKELETONS / f'{name}.skeleton'
    assert path.read_bytes().count(b'\r\n') == \
        path.read_bytes().count(b'\n')  # CRLF throughout
    skeleton = read_ntu_skeleton(str(path))
    frames = ntu_files.reference_read(path)
    assert skeleton.num_frames == len(frames) == num_frames
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


# Line numbers in the file of ntu_files.good_frames(): 1 frame count, 2 body
# count, 3 body line, 4 joint count, 5-29 joints, 30 body count, 31 body
# line, 32 joint count, 33-57 joints, 58 body line, 59 joint count, 60-84
# joints.
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
def test_malformed_skeleton_file(tmp_path, mutation, match, ntu_files):
    good = ntu_files.text(ntu_files.good_frames(), newline='\r\n')
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


def test_first_bad_line_is_reported(tmp_path, ntu_files):
    # Two bad lines in two bodies: the earlier line is reported, although
    # its body appears second. Lines: 1-2 counts, 3-29 body '11', 30-56 body
    # '12', 57 count, 58-84 body '12', 85-111 body '11'.
    gen = torch.Generator().manual_seed(3)
    a, b = ntu_files.rand_joints(gen), ntu_files.rand_joints(gen)
    lines = ntu_files.text([[('11', a), ('12', b)],
                           [('12', b), ('11', a)]]).split('\n')
    lines[89] = lines[89] + ' 7'  # line 90 (body '11'): 13 values
    lines[39] = 'x' + lines[39]  # line 40 (body '12'): not a number
    path = tmp_path / 'S001C001P001R001A001.skeleton'
    path.write_text('\n'.join(lines))
    with pytest.raises(ValueError, match=r"line 40: expected 12 numbers"):
        read_ntu_skeleton(str(path))
