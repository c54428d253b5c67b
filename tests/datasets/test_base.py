import os
import os.path as osp

import pytest
import torch
from torch_geometric.data import Data

from tgr.datasets.base import TGRDataset, atomic_torch_save


class _Toy(TGRDataset):
    url = 'https://example.org/toy'

    def __init__(self, root, sizes=(2, 3), **kwargs):
        self.sizes = sizes
        super().__init__(root, **kwargs)
        self.extra = self.load(self.processed_paths[0])

    @property
    def raw_file_names(self):
        return ['toy.txt']

    @property
    def processed_file_names(self):
        return ['toy.pt']

    def process(self):
        with open(self.raw_paths[0]) as f:
            word = f.read().strip()
        data_list = [Data(x=torch.full((n, 1), float(n))) for n in self.sizes]
        self.save(data_list, self.processed_paths[0], word=word)


def _raw(tmp_path, text='hello'):
    os.makedirs(tmp_path / 'raw', exist_ok=True)
    (tmp_path / 'raw' / 'toy.txt').write_text(text)


def test_process_save_load_extra(tmp_path):
    _raw(tmp_path)
    ds = _Toy(str(tmp_path), log=False)
    assert len(ds) == 2 and ds[1].x.tolist() == [[3.0]] * 3
    assert ds.extra == {'word': 'hello'}
    # Loaded again from the processed file, without the raw file:
    os.remove(tmp_path / 'raw' / 'toy.txt')
    ds = _Toy(str(tmp_path), log=False)
    assert len(ds) == 2 and ds.extra == {'word': 'hello'}
    assert not [f for f in os.listdir(tmp_path / 'processed')
                if f.endswith('.tmp')]


def test_empty_dataset(tmp_path):
    _raw(tmp_path)
    ds = _Toy(str(tmp_path), sizes=(), log=False)
    assert len(ds) == 0


def test_missing_raw_file_names_file_and_source(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"'_Toy' needs 'toy.txt'.*"
                       r"cannot be downloaded.*example.org/toy"):
        _Toy(str(tmp_path), log=False)


def test_dangling_raw_link(tmp_path):
    os.symlink(tmp_path / 'nowhere', tmp_path / 'raw')
    with pytest.raises(FileNotFoundError, match='example.org/toy'):
        _Toy(str(tmp_path), log=False)
    assert not osp.exists(tmp_path / 'nowhere')


def test_file_from_another_version(tmp_path):
    _raw(tmp_path)
    os.makedirs(tmp_path / 'processed')
    atomic_torch_save(({}, {}, Data), str(tmp_path / 'processed' / 'toy.pt'))
    # PyG writes pre_transform.pt / pre_filter.pt; absent, it processes only
    # if the processed file is missing, so the old file is read and refused:
    with pytest.raises(ValueError, match="another version.*force_reload"):
        _Toy(str(tmp_path), log=False)
    ds = _Toy(str(tmp_path), log=False, force_reload=True)
    assert len(ds) == 2


def test_interrupted_save_leaves_nothing(tmp_path, monkeypatch):
    _raw(tmp_path)

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, 'save', boom)
    with pytest.raises(KeyboardInterrupt):
        _Toy(str(tmp_path), log=False)
    assert os.listdir(tmp_path / 'processed') == [] or all(
        f in ('pre_transform.pt', 'pre_filter.pt')
        for f in os.listdir(tmp_path / 'processed'))
