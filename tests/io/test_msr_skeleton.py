from pathlib import Path

import pytest
import torch

from tgr.io.msr_skeleton import read_msr_skeleton

RAW = (Path(__file__).resolve().parents[2] / '..' / 'shared' / 'data' /
       'msr_action3d' / 'real_world_coordinates').resolve()

GOOD = ''.join(f'{0.01 * i:.6f} {0.02 * i:.6f} 2.5 1.0\n' for i in range(40))


# Parsing #####################################################################
def test_read_first_file():
    if not RAW.is_dir():
        pytest.skip(f'MSR Action3D folder {RAW} is absent')
    path = RAW / 'a01_s01_e01_skeleton3D.txt'
    values = read_msr_skeleton(str(path))
    lines = path.read_text().split('\n')
    assert len([line for line in lines if line]) == 1080
    assert values.shape == (54, 20, 4) and values.dtype == torch.float64
    assert values[0, 0].tolist() == [-0.371736, 0.371031, 2.674849, 1.0]
    assert values[1, 0].tolist() == [float(v) for v in lines[20].split()]
    assert torch.equal(values.view(-1, 4), torch.tensor(
        [[float(v) for v in line.split()] for line in lines if line],
        dtype=torch.float64))


def test_crlf(tmp_path):
    if not RAW.is_dir():
        pytest.skip(f'MSR Action3D folder {RAW} is absent')
    src = RAW / 'a01_s01_e01_skeleton3D.txt'
    (tmp_path / 'crlf.txt').write_bytes(src.read_bytes().replace(b'\n',
                                                                 b'\r\n'))
    assert torch.equal(read_msr_skeleton(str(tmp_path / 'crlf.txt')),
                       read_msr_skeleton(str(src)))


@pytest.mark.parametrize('text,match', [
    (GOOD.replace('0.020000 0.040000 2.5 1.0', '0.02 0.04 2.5'),
     r'line 3: expected 4 values \(x y z confidence\), got 3'),
    (GOOD.replace('0.050000 0.100000 2.5 1.0', '0.05 0.1 z 1'),
     r"line 6: expected 4 numbers, got '0.05 0.1 z 1'"),
    (GOOD.replace('0.100000 0.200000 2.5 1.0', '0.1 inf 2.5 1'),
     r'line 11: non-finite value'),
    (GOOD + '0 0 0 0\n', r'line 42: unexpected end of file: 41 joint lines'),
    (GOOD[:GOOD.index('0.390000')], r'line 40: unexpected end of file'),
    (GOOD.replace('0.200000 0.400000 2.5 1.0\n', '\n'),
     r'line 21: expected 4 values'),
    ('\n\n', r'line 1: the file has no frames'),
])
def test_malformed_file(tmp_path, text, match):
    path = tmp_path / 'a01_s01_e01_skeleton3D.txt'
    path.write_text(GOOD)
    assert read_msr_skeleton(str(path)).shape == (2, 20, 4)
    path.write_text(text)
    with pytest.raises(ValueError, match=r"MSR Action3D file '.*a01_s01_e01_"
                                         r"skeleton3D\.txt', " + match):
        read_msr_skeleton(str(path))
