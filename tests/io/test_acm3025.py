from pathlib import Path

import numpy as np
import pytest
import torch

from tgr.io.acm3025 import read_acm3025

MAT = (Path(__file__).resolve().parents[2] / '..' / 'shared' / 'data' /
       'acm_han' / 'ACM3025.mat').resolve()


@pytest.fixture(scope='module')
def acm():
    if not MAT.is_file():
        pytest.skip(f'ACM3025 file {MAT} is absent')
    return read_acm3025(str(MAT), metapaths=('PAP', 'PLP', 'PMP'))


def test_real_file(acm):
    assert acm['x'].shape == (3025, 1870) and acm['x'].dtype == torch.float
    assert set(acm['x'].unique().tolist()) == {0.0, 1.0}
    assert acm['y'].bincount().tolist() == [1061, 965, 999]
    split = acm['split']
    assert [len(split[s]) for s in ('train', 'val', 'test')] == [600, 300,
                                                                  2125]
    every = torch.cat([split[s] for s in ('train', 'val', 'test')])
    assert every.sort().values.tolist() == list(range(3025))  # a partition
    assert int(split['train'][0]) == 0  # 0-based indices in the file
    counts = {m: e.size(1) for m, e in acm['edge_index'].items()}
    assert counts == {'PAP': 29281, 'PLP': 2210761, 'PMP': 2221699}
    edge_index = acm['edge_index']['PAP']
    loops = edge_index[:, edge_index[0] == edge_index[1]]
    assert loops[0].tolist() == list(range(3025))  # self loops, as released
    flipped = set(map(tuple, edge_index.flip(0).t().tolist()))
    assert flipped == set(map(tuple, edge_index.t().tolist()))  # symmetric


def _write(path, **overrides):
    from scipy.io import savemat
    rng = np.random.default_rng(0)
    n = 10
    adj = (rng.random((n, n)) < 0.3).astype(np.uint8)
    adj = np.maximum(adj, adj.T)
    np.fill_diagonal(adj, 1)
    label = np.eye(3, dtype=np.uint8)[rng.integers(0, 3, n)]
    mat = dict(PAP=adj, PLP=np.eye(n, dtype=np.uint8), PMP=adj, PTP=adj,
               feature=(rng.random((n, 4)) < 0.5).astype(np.uint8),
               label=label, train_idx=np.array([[0, 1, 2]]),
               val_idx=np.array([[3, 4]]), test_idx=np.array([[5, 6, 7, 8]]))
    for key, value in overrides.items():
        if value is None:
            del mat[key]
        else:
            mat[key] = value
    savemat(str(path), mat)
    return mat


def test_small_file(tmp_path):
    mat = _write(tmp_path / 'a.mat')
    out = read_acm3025(str(tmp_path / 'a.mat'), split_sizes=None)
    src, dst = np.nonzero(mat['PAP'])
    assert out['edge_index']['PAP'].tolist() == [src.tolist(), dst.tolist()]
    assert out['edge_index']['PLP'].tolist() == [list(range(10))] * 2
    assert list(out['edge_index']) == ['PAP', 'PLP']
    assert out['y'].tolist() == mat['label'].argmax(1).tolist()
    assert torch.equal(out['x'], torch.from_numpy(mat['feature']).float())
    assert {k: v.tolist() for k, v in out['split'].items()} == {
        'train': [0, 1, 2], 'val': [3, 4], 'test': [5, 6, 7, 8]}


@pytest.mark.parametrize('overrides,message', [
    (dict(PLP=None), r"has no variable\(s\) \['PLP'\]"),
    (dict(PAP=np.ones((10, 9))), r"'PAP' has shape \(10, 9\), expected "
                                 r"\(10, 10\)"),
    (dict(label=np.ones((10, 3))), r"'label' is not one-hot \(row 0\)"),
    (dict(label=np.ones((9, 3))), r"'label' has shape \(9, 3\)"),
    (dict(test_idx=np.array([[5, 6, 7, 10]])), "'test_idx' holds index 10, "
                                               "out of range for 10 papers"),
    (dict(val_idx=np.array([[2, 4]])), "'val_idx' repeats a paper or shares "
                                       "one with an earlier split"),
    (dict(train_idx=np.ones((2, 2))), r"'train_idx' has shape \(2, 2\)"),
])
def test_malformed_file_names_file_and_variable(tmp_path, overrides,
                                                message):
    _write(tmp_path / 'bad.mat', **overrides)
    with pytest.raises(ValueError, match=r"ACM3025 file '.*bad\.mat': " +
                       message):
        read_acm3025(str(tmp_path / 'bad.mat'), split_sizes=None)


def test_split_sizes_and_arguments(tmp_path):
    _write(tmp_path / 'a.mat')
    with pytest.raises(ValueError, match="'train_idx' holds 3 indices, "
                       "expected 600"):
        read_acm3025(str(tmp_path / 'a.mat'))
    with pytest.raises(ValueError, match="'read_acm3025' expects "
                       "'metapaths' out of"):
        read_acm3025(str(tmp_path / 'a.mat'), metapaths=('PVP', ))
    (tmp_path / 'text.mat').write_text('not a MATLAB file\n')
    with pytest.raises(ValueError, match="text.mat': not a readable MATLAB "
                       "file"):
        read_acm3025(str(tmp_path / 'text.mat'))
