import os
import os.path as osp
from pathlib import Path

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


def test_atomic_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / 'train.pt'
    path.write_bytes(b'old')

    def broken_save(obj, f):
        f.write(b'partial')
        raise KeyboardInterrupt  # e.g. Ctrl-C in the middle of a write

    monkeypatch.setattr(torch, 'save', broken_save)
    with pytest.raises(KeyboardInterrupt):
        atomic_torch_save({'a': 1}, str(path))
    assert os.listdir(tmp_path) == ['train.pt']
    assert path.read_bytes() == b'old'


class _Splits(TGRDataset):
    # One processed file per split, with shared metadata; the raw files are
    # any '*.num' files (not a fixed list).
    url = 'https://example.org/splits'
    splits = ('train', 'test')

    def __init__(self, root, split='train', **kwargs):
        self.split = split
        super().__init__(root, **kwargs)
        self.extra = self.load(self.processed_paths[self.splits.index(split)])

    @property
    def raw_file_names(self):
        return []

    @property
    def processed_file_names(self):
        return [f'{split}.pt' for split in self.splits]

    def describe_raw_files(self, missing):
        return "the '*.num' files"

    def missing_raw_files(self):
        found = [f for f in os.listdir(self.raw_dir) if f.endswith('.num')]
        return [] if found else ['*.num']

    def process(self):
        sizes = sorted(int(Path(self.raw_dir, f).read_text())
                       for f in os.listdir(self.raw_dir) if f.endswith('.num'))
        lists = [[Data(x=torch.zeros(n, 1)) for n in sizes[:1]],
                 [Data(x=torch.zeros(n, 1)) for n in sizes[1:]]]
        self.save_many(lists, self.processed_paths, sizes=sizes)


def test_save_many_one_file_per_split(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"'_Splits' needs the "
                       r"'\*\.num' files in .*example\.org/splits"):
        _Splits(str(tmp_path), log=False)
    for i, n in enumerate((4, 2, 3)):
        (tmp_path / 'raw' / f'{i}.num').write_text(str(n))
    train = _Splits(str(tmp_path), log=False)
    test = _Splits(str(tmp_path), 'test', log=False)
    assert [d.num_nodes for d in train] == [2]
    assert [d.num_nodes for d in test] == [3, 4]
    assert train.extra == test.extra == {'sizes': [2, 3, 4]}
    with pytest.raises(ValueError, match='one path per list'):
        _Splits.save_many([[]], [])


def test_save_many_writes_nothing_when_collating_fails(tmp_path):
    bad = [Data(x=torch.zeros(2, 1)), Data(x=torch.zeros(2, 1, 1))]
    with pytest.raises(RuntimeError):
        _Splits.save_many([[Data(x=torch.zeros(1, 1))], bad],
                          [str(tmp_path / 'a.pt'), str(tmp_path / 'b.pt')])
    assert os.listdir(tmp_path) == []


def test_save_collated_equals_save(tmp_path):
    data_list = [Data(x=torch.randn(n, 2), edge_index=torch.tensor([[0], [1]]),
                      num_nodes=n) for n in (2, 5, 3)]
    _Toy.save(data_list, str(tmp_path / 'a.pt'), word='a')
    data, slices = _Toy.collate(data_list)
    _Toy.save_collated(data, slices, str(tmp_path / 'b.pt'), word='a')
    a, b = (torch.load(tmp_path / f, weights_only=False)
            for f in ('a.pt', 'b.pt'))
    assert a.keys() == b.keys() and a['extra'] == b['extra']
    for key in a['slices']:
        assert torch.equal(a['slices'][key], b['slices'][key])
    assert a['data'].keys() == b['data'].keys()


class _InMemory(TGRDataset):
    def __init__(self):
        super().__init__(None)
        self.data, self.slices = self.collate([Data(x=torch.zeros(3, 1))])

    def download(self):  # pragma: no cover - must not be called
        raise AssertionError

    def process(self):  # pragma: no cover - must not be called
        raise AssertionError


def test_in_memory_dataset_reads_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ds = _InMemory()
    assert len(ds) == 1 and ds[0].num_nodes == 3
    assert os.listdir(tmp_path) == []
