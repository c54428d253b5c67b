r"""Fixtures of the dataset tests: the check that samples survive PyG's
Batch, and a small folder of Python modules and the
:class:`~tgr.datasets.PythonCodeTrees` built from it (shared by the tests of
:mod:`tgr.datasets.code_trees` and :mod:`tgr.datasets.ogb_code2`)."""
import os
import os.path as osp
import textwrap

import pytest
import torch
from torch_geometric.data import Batch

from tgr.datasets import PythonCodeTrees
from tgr.datasets.code_trees import module_split


def _equal(a, b):
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and \
            torch.equal(a, b)
    return a == b


def _survives_batch(data_list):
    # PyG's Batch shifts every attribute whose name holds 'index' (or is
    # 'face') by the number of nodes and takes 'batch' for the batch vector:
    # every attribute must come out as the graphs' own values, concatenated
    # along the first dimension, edge_index shifted, lists as lists.
    batch = Batch.from_data_list(data_list)
    sizes = torch.tensor([d.num_nodes for d in data_list])
    ptr = torch.cat([sizes.new_zeros(1), sizes.cumsum(0)])
    assert torch.equal(batch.batch,
                       torch.arange(len(data_list)).repeat_interleave(sizes))
    keys = set(data_list[0].keys()) - {'num_nodes'}
    assert set(batch.keys()) - {'batch', 'ptr', 'num_nodes'} == keys
    for key in keys:
        values = [d[key] for d in data_list]
        if key == 'edge_index':
            expected = torch.cat([v + ptr[i] for i, v in enumerate(values)],
                                 dim=1)
        elif isinstance(values[0], torch.Tensor):
            expected = torch.cat(values, dim=0)
        else:
            expected = values
        assert _equal(batch[key], expected), key
    for data, back in zip(data_list, batch.to_data_list()):
        for key in keys:
            assert _equal(back[key], data[key]), key


@pytest.fixture(scope='session')
def survives_batch():
    r"""Asserts that a list of samples survives
    :meth:`~torch_geometric.data.Batch.from_data_list` (and back)."""
    return _survives_batch


MODULE_A = '''
def add_one(x):
    return x + 1


def fetch_remote_data(url, retries=3):
    if retries == 0:
        return None
    return fetch_remote_data(url, retries - 1)


def use_it(url):
    return fetch_remote_data(url)


class HTTPClient:
    def getHTTPResponse(self, path):
        return self.fetch_remote_data(path)

    async def close_all(self):
        def _inner_helper(item):
            return item
        return [_inner_helper(i) for i in self.items]


def _(value):
    return value
'''
MODULE_B = '''
def compute_total(values):
    total = 0
    for v in values:
        total += v
    return total
'''
MODULE_VALID = '''
def parse_config(text):
    return text.split()


def add_one(y):
    return y + 2
'''
MODULE_TEST = '''
def read_long(f):
    return int.from_bytes(f.read(8), 'little')
'''


def _module_name(split, prefix):
    # The first '<prefix><i>.py' that module_split sends to `split`.
    i = 0
    while module_split(f'{prefix}{i}.py') != split:
        i += 1
    return f'{prefix}{i}.py'


def _write(path, text):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(textwrap.dedent(text))


@pytest.fixture(scope='module')
def source(tmp_path_factory):
    src = str(tmp_path_factory.mktemp('src'))
    _write(osp.join(src, _module_name('train', 'a')), MODULE_A)
    _write(osp.join(src, _module_name('train', 'b')), MODULE_B)
    _write(osp.join(src, _module_name('valid', 'v')), MODULE_VALID)
    _write(osp.join(src, _module_name('test', 't')), MODULE_TEST)
    _write(osp.join(src, 'broken.py'), 'def broken(:\n    pass\n')
    # Never read: tests and vendored code.
    _write(osp.join(src, 'tests', 'test_x.py'), 'def test_x():\n    pass\n')
    _write(osp.join(src, 'pkg', '_vendor', 'lib.py'), 'def lib():\n    pass\n')
    return src


@pytest.fixture(scope='module')
def datasets(source, tmp_path_factory):
    root = str(tmp_path_factory.mktemp('root'))
    return {split: PythonCodeTrees(root, split, source=source, log=False)
            for split in ('train', 'valid', 'test')}
