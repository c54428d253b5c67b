import os
import os.path as osp

import pytest
import torch
from torch_geometric.loader import DataLoader

from tgr.datasets import OGBCode2, PythonCodeTrees, from_ogb_code2
from tgr.datasets.code_trees import (MASK_TOKEN, decode_subtokens,
                                     encode_subtokens, load_ogb_code2,
                                     module_split, split_subtokens,
                                     subtoken_vocab)
from tgr.datasets.ogb_code2 import OGBCode2 as _OGBCode2
from tgr.nn import ChildSumTreeLSTM

# The source modules are in conftest.py (fixtures 'source' and 'datasets').
NAMES = {
    'train': [['add', 'one'], ['fetch', 'remote', 'data'], ['use', 'it'],
              ['get', 'http', 'response'], ['close', 'all'],
              ['inner', 'helper'], ['compute', 'total']],
    'valid': [['parse', 'config'], ['add', 'one']],
    'test': [['read', 'long']],
}


@pytest.mark.parametrize('name, tokens', [
    ('get_vocab_mapping', ['get', 'vocab', 'mapping']),
    ('getHTTPResponse', ['get', 'http', 'response']),
    ('HTMLParser', ['html', 'parser']),
    ('__init__', ['init']),
    ('_private', ['private']),
    ('md5_hex2Str', ['md5', 'hex2', 'str']),
    ('parseXML2Dict', ['parse', 'xml2', 'dict']),
    ('URL', ['url']),
    ('test_2', ['test', '2']),
    ('_', []),
])
def test_split_subtokens(name, tokens):
    assert split_subtokens(name) == tokens


def test_module_split():
    assert module_split('os.py') == module_split('os.py')
    counts = {'train': 0, 'valid': 0, 'test': 0}
    for i in range(2000):
        counts[module_split(f'pkg/mod{i}.py')] += 1
    assert 1500 < counts['train'] < 1700
    assert 120 < counts['valid'] < 280 and 120 < counts['test'] < 280


def test_counts_and_info(datasets):
    for split, names in NAMES.items():
        ds = datasets[split]
        assert len(ds) == len(names)
        assert sorted(d.y for d in ds) == sorted(names)
    info = datasets['train'].info
    assert info['num_files'] == 5  # tests/ and _vendor/ are not read
    assert info['num_parsed'] == 4
    assert info['num_failed'] == 1
    assert datasets['train'].meta['failed_files'] == ['broken.py: '
                                                      'SyntaxError']
    assert info['num_files_per_split'] == {'train': 2, 'valid': 1,
                                           'test': 1}
    assert info['num_graphs'] == {s: len(n) for s, n in NAMES.items()}
    assert info['num_unnamed'] == 1  # def _(value)
    assert info['python_version'].count('.') == 2
    assert 'node_attributes' not in info
    assert str(datasets['valid']) == 'PythonCodeTrees(2, split=valid)'


def _graph(ds, tokens):
    (graph, ) = [d for d in ds if d.y == tokens]
    return graph


def test_tree_of_one_function(datasets):
    ds = datasets['train']
    g = _graph(ds, ['add', 'one'])  # def add_one(x): return x + 1
    types = [ds.node_types[i] for i in g.x[:, 0].tolist()]
    attrs = [ds.node_attributes[i] for i in g.x[:, 1].tolist()]
    assert types == ['Module', 'FunctionDef', 'arguments', 'arg', 'Return',
                     'BinOp', 'Name', 'Load', 'Add', 'Constant']
    assert attrs == ['__NONE__', MASK_TOKEN, '__NONE__', 'x', '__NONE__',
                     '__NONE__', 'x', '__NONE__', '__NONE__', '1']
    assert g.edge_index.tolist() == [[0, 1, 1, 2, 4, 5, 5, 5, 6],
                                     [1, 2, 4, 3, 5, 6, 8, 9, 7]]
    assert g.node_depth.view(-1).tolist() == [0, 1, 2, 3, 2, 3, 4, 5, 4, 4]
    assert g.node_is_attributed.view(-1).tolist() == [
        0, 1, 0, 1, 0, 0, 1, 0, 0, 1]
    assert g.node_dfs_order.view(-1).tolist() == list(range(10))
    assert g.level.tolist() == [5, 4, 1, 0, 3, 2, 1, 0, 0, 0]


def test_structure(datasets):
    for ds in datasets.values():
        for g in ds:
            n = g.num_nodes
            assert g.x.shape == (n, 2) and g.x.dtype == torch.long
            parent, child = g.edge_index
            # A tree, parent -> child, nodes in depth-first pre-order:
            assert sorted(child.tolist()) == list(range(1, n))
            assert bool((parent < child).all())
            depth = g.node_depth.view(-1)
            assert bool((depth[child] == depth[parent] + 1).all())
            assert int(depth[0]) == 0
            assert ds.node_types[int(g.x[0, 0])] == 'Module'
            # level: 0 at leaves, else 1 + the largest level of a child.
            level = torch.zeros(n, dtype=torch.long).scatter_reduce(
                0, parent, g.level[child] + 1, 'amax')
            assert torch.equal(level, g.level)
            attributed = (g.x[:, 1] != 0).long().view(n, 1)
            assert torch.equal(attributed, g.node_is_attributed)


def test_name_is_masked(datasets):
    ds = datasets['train']
    name_id = ds.node_attributes.index('fetch_remote_data')  # in use_it
    mask_id = ds.node_attributes.index(MASK_TOKEN)
    own = _graph(ds, ['fetch', 'remote', 'data'])
    assert name_id not in own.x[:, 1].tolist()
    assert own.x[:, 1].tolist().count(mask_id) == 2  # def + recursive call
    for tokens in (['use', 'it'], ['get', 'http', 'response']):
        assert name_id in _graph(ds, tokens).x[:, 1].tolist()


def test_vocabularies_from_train(datasets):
    ds = datasets['train']
    assert ds.node_attributes[:2] == ['__NONE__', '__UNK__']
    assert ds.node_types[0] == '__UNK__'
    assert 'parse_config' not in ds.node_attributes  # valid only
    assert ds.target_subtokens[:1] == ['add']
    assert 'parse' not in ds.target_subtokens
    # 'text' and 'split' appear only in valid: unknown there.
    assert 1 in _graph(datasets['valid'], ['parse', 'config']).x[:, 1]
    assert ds.num_node_types == len(ds.node_types)
    assert ds.num_node_attributes == len(ds.node_attributes)


def test_determinism_and_files(source, datasets, tmp_path):
    again = PythonCodeTrees(str(tmp_path), 'train', source=source, log=False)
    first = datasets['train']
    assert len(again) == len(first)
    for a, b in zip(again, first):
        assert a.y == b.y
        for key in ('x', 'edge_index', 'node_depth', 'level'):
            assert torch.equal(a[key], b[key])
    assert again.meta == first.meta

    small = PythonCodeTrees(str(tmp_path), 'train', source=source,
                            max_files=2, log=False)
    assert small.info['num_files'] == 2
    names = os.listdir(osp.join(str(tmp_path), 'processed'))
    assert len([n for n in names if n.startswith('train_')]) == 2
    assert not [n for n in names if '.tmp' in n]


def test_bad_arguments(source, tmp_path):
    with pytest.raises(ValueError, match="'split'"):
        PythonCodeTrees(str(tmp_path), 'dev', source=source)
    with pytest.raises(ValueError, match="'source'"):
        PythonCodeTrees(str(tmp_path), source=osp.join(source, 'missing'))
    with pytest.raises(ValueError, match="'max_files'"):
        PythonCodeTrees(str(tmp_path), source=source, max_files=0)


def test_batch_runs_bottom_up_and_top_down(datasets):
    batch = next(iter(DataLoader(datasets['train'], batch_size=4)))
    assert batch.y == [d.y for d in datasets['train'][:4]]
    x = torch.randn(batch.num_nodes, 8)
    up = ChildSumTreeLSTM(8, 4, flow='target_to_source')
    h, _ = up(x, batch.edge_index, level=batch.level)
    down = ChildSumTreeLSTM(8, 4)
    h, _ = down(x, batch.edge_index, level=batch.node_depth.view(-1))
    assert h.shape == (batch.num_nodes, 4)


# Targets and OGB's evaluator #################################################
def test_subtoken_vocab_encode_decode():
    seqs = [['get', 'value'], ['get', 'name'], ['set', 'name', 'x']]
    vocab2idx, idx2vocab = subtoken_vocab(seqs, num_vocab=3)
    assert idx2vocab == ['get', 'name', 'value', '__UNK__', '__EOS__']
    arr = encode_subtokens([['get', 'set', 'a', 'b', 'c', 'd'], ['name']],
                           vocab2idx, max_len=5)
    assert arr.tolist() == [[0, 3, 3, 3, 3], [1, 4, 4, 4, 4]]
    assert decode_subtokens(arr, idx2vocab) == [
        ['get', '__UNK__', '__UNK__', '__UNK__', '__UNK__'], ['name']]


def test_evaluator_f1():
    pytest.importorskip('ogb')
    from ogb.graphproppred import Evaluator
    seqs = [['get', 'value'], ['set', 'name', 'x'], ['init'], ['close']]
    vocab2idx, idx2vocab = subtoken_vocab(seqs)
    eos = vocab2idx['__EOS__']
    pred = [['get', 'name'], ['set', 'name', 'x'], ['close'], []]
    logits = torch.zeros(5, len(pred), len(idx2vocab))
    for i, seq in enumerate(pred):
        ids = [vocab2idx[w] for w in seq] + [eos] * (5 - len(seq))
        ids[-1] = vocab2idx['get']  # after the first EOS: ignored
        logits[torch.arange(5), i, torch.tensor(ids)] = 1.0
    arr = torch.stack([lg.argmax(dim=-1) for lg in logits], dim=1)
    seq_pred = decode_subtokens(arr, idx2vocab)
    assert seq_pred == pred
    # By hand: F1 = 2PR / (P + R) per function, then the mean:
    # 1/2 (P = R = 1/2), 1, 0, 0 (nothing predicted).
    out = Evaluator('ogbg-code2').eval({'seq_ref': seqs,
                                        'seq_pred': seq_pred})
    assert float(out['F1']) == pytest.approx((0.5 + 1 + 0 + 0) / 4)
    assert float(out['precision']) == pytest.approx((0.5 + 1) / 4)


def test_ogb_names_stay_importable_from_code_trees():
    # OGBCode2 moved to its own module; the old import path still works.
    assert OGBCode2 is _OGBCode2
    assert from_ogb_code2.__module__ == load_ogb_code2.__module__ == \
        'tgr.datasets.ogb_code2'


def test_survives_batch(datasets, survives_batch):
    survives_batch(list(datasets['train']))
